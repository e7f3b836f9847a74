//! What a station needs of its node and its links ([`StationNode`], [`StationLink`]), and
//! their implementations for every [`Node`] and [`Link`] (and, with `std`, boxed ones).

use crate::link::{
    self, Answer, ConfirmRequest, Event as LinkEvent, Link, Message as LinkMessage, MessageId,
    SubmitError, Transmit,
};
use crate::node::message::MessageError;
use crate::node::{Heard, Node, NodeEvent, Storage, TooManyNeighbours};
use crate::policy::{Admitted, Refusal, Trust, UnixTime};
use crate::time::Instant;
use crate::wire::Address;

/// What a station needs of a node. It is implemented for every [`Node`], whatever its
/// capacities, so a station works with the host's node as well as a small board's.
pub trait StationNode {
    /// The node's trust store.
    type Store: Trust;
    /// [`Node::trust`]: what the guard decides with (`super::guard`).
    fn trust(&self) -> &Self::Store;
    /// [`Node::neighbour_up_on`].
    fn neighbour_up_on(
        &mut self,
        now: Instant,
        address: Address,
        channel: u8,
    ) -> Result<(), TooManyNeighbours>;
    /// [`Node::neighbour_down`].
    fn neighbour_down(&mut self, address: Address);
    /// [`Node::handle_message_heard`].
    fn handle_message_heard(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Address,
        heard: Heard,
        bytes: &[u8],
    ) -> Result<(), MessageError>;
    /// [`Node::publish`].
    fn publish(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal>;
    /// [`Node::handle_timeout`].
    fn handle_timeout(&mut self, now: Instant);
    /// [`Node::poll_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
    /// [`Node::poll_send_on`].
    fn poll_send_on<'b>(
        &mut self,
        now: Instant,
        channel: u8,
        accept: &mut dyn FnMut(Address) -> bool,
        buf: &'b mut [u8],
    ) -> Option<LinkMessage<'b>>;
    /// [`Node::poll_event`].
    fn poll_event(&mut self) -> Option<NodeEvent>;
    /// [`Node::sent_non_arq`].
    fn sent_non_arq(&mut self, now: Instant, channel: u8);
}

/// The [`StationNode`] methods, each calling the same method on `$($deref)* self`: the node's
/// own (inherent) method for a [`Node`], the boxed node's for a `Box`.
macro_rules! forward_node {
    ($($deref:tt)*) => {
        fn trust(&self) -> &Self::Store {
            ($($deref)* self).trust()
        }

        fn neighbour_up_on(
            &mut self,
            now: Instant,
            address: Address,
            channel: u8,
        ) -> Result<(), TooManyNeighbours> {
            ($($deref)* self).neighbour_up_on(now, address, channel)
        }

        fn neighbour_down(&mut self, address: Address) {
            ($($deref)* self).neighbour_down(address);
        }

        fn handle_message_heard(
            &mut self,
            now: Instant,
            wall: Option<UnixTime>,
            from: Address,
            heard: Heard,
            bytes: &[u8],
        ) -> Result<(), MessageError> {
            ($($deref)* self).handle_message_heard(now, wall, from, heard, bytes)
        }

        fn publish(
            &mut self,
            now: Instant,
            wall: Option<UnixTime>,
            bytes: &[u8],
        ) -> Result<Admitted, Refusal> {
            ($($deref)* self).publish(now, wall, bytes)
        }

        fn handle_timeout(&mut self, now: Instant) {
            ($($deref)* self).handle_timeout(now);
        }

        fn poll_timeout(&self) -> Option<Instant> {
            ($($deref)* self).poll_timeout()
        }

        fn poll_send_on<'b>(
            &mut self,
            now: Instant,
            channel: u8,
            accept: &mut dyn FnMut(Address) -> bool,
            buf: &'b mut [u8],
        ) -> Option<LinkMessage<'b>> {
            ($($deref)* self).poll_send_on(now, channel, accept, buf)
        }

        fn poll_event(&mut self) -> Option<NodeEvent> {
            ($($deref)* self).poll_event()
        }

        fn sent_non_arq(&mut self, now: Instant, channel: u8) {
            ($($deref)* self).sent_non_arq(now, channel);
        }
    };
}

/// The [`StationLink`] methods, forwarded like [`forward_node`]'s.
macro_rules! forward_link {
    ($($deref:tt)*) => {
        fn submit(
            &mut self,
            now: Instant,
            message: &LinkMessage<'_>,
        ) -> Result<MessageId, SubmitError> {
            ($($deref)* self).submit(now, message)
        }

        fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Self::InputError> {
            ($($deref)* self).handle_input(now, bytes)
        }

        fn handle_timeout(&mut self, now: Instant) {
            ($($deref)* self).handle_timeout(now);
        }

        fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
            ($($deref)* self).poll_transmit(now, buf)
        }

        fn poll_timeout(&self) -> Option<Instant> {
            ($($deref)* self).poll_timeout()
        }

        fn poll_event(&mut self) -> Option<LinkEvent<'_>> {
            ($($deref)* self).poll_event()
        }

        fn answer(&mut self, request: ConfirmRequest, answer: Answer) {
            ($($deref)* self).answer(request, answer);
        }

        fn queued(&self) -> usize {
            ($($deref)* self).queued()
        }
    };
}

impl<
    S: Storage,
    T: Trust,
    const OUT: usize,
    const WAIT: usize,
    const NBRS: usize,
    const KNOWN: usize,
    const EVS: usize,
> StationNode for Node<S, T, OUT, WAIT, NBRS, KNOWN, EVS>
{
    type Store = T;

    forward_node!(*);
}

/// What a station needs of a link. It is implemented for every [`Link`], whatever its
/// capacities; the host implements it for its carriers too (an HF link, or another 5066 node
/// reached over SIS), so one station drives both.
pub trait StationLink {
    /// Why [`StationLink::handle_input`] refuses input.
    type InputError: Copy + core::fmt::Debug;
    /// [`Link::submit`].
    fn submit(&mut self, now: Instant, message: &LinkMessage<'_>)
    -> Result<MessageId, SubmitError>;
    /// [`Link::handle_input`].
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Self::InputError>;
    /// [`Link::handle_timeout`].
    fn handle_timeout(&mut self, now: Instant);
    /// [`Link::poll_transmit`].
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit>;
    /// [`Link::poll_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
    /// [`Link::poll_event`].
    fn poll_event(&mut self) -> Option<LinkEvent<'_>>;
    /// [`Link::answer`]: the station answers every [`ConfirmRequest`] its links hand out,
    /// once its guard has decided.
    fn answer(&mut self, request: ConfirmRequest, answer: Answer);
    /// [`Link::queued`].
    fn queued(&self) -> usize;
    /// How many C_PDUs the link's queue holds in all.
    fn capacity(&self) -> usize;
}
impl<
    const QUEUE: usize,
    const CPDU: usize,
    const RX: usize,
    const SEG: usize,
    const XRX: usize,
    const NARQ: usize,
    const INB: usize,
> StationLink for Link<QUEUE, CPDU, RX, SEG, XRX, NARQ, INB>
{
    type InputError = link::Error;

    forward_link!(*);

    fn capacity(&self) -> usize {
        Link::capacity(self)
    }
}

/// A boxed node is driven like the node (the host and the simulator keep large nodes on the
/// heap).
#[cfg(any(feature = "std", test))]
impl<N: StationNode + ?Sized> StationNode for std::boxed::Box<N> {
    type Store = N::Store;

    forward_node!(**);
}

/// A boxed link is driven like the link (a [`crate::link::HostLink`] is about 250 kB).
#[cfg(any(feature = "std", test))]
impl<L: StationLink + ?Sized> StationLink for std::boxed::Box<L> {
    type InputError = L::InputError;

    forward_link!(**);

    fn capacity(&self) -> usize {
        (**self).capacity()
    }
}
