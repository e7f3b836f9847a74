//! One Skywave station: a [`Node`] and the links that reach its neighbours, driven as one
//! sans-IO state machine.
//!
//! The node decides *what* goes to *which* neighbour; each link (one HF channel, one modem)
//! decides *when* and *how* it goes on the air. Something has to carry U_PDUs between the two:
//! what a link received on the Skywave SAP goes to the node, what the node wants sent goes to
//! the link that reaches its destination, a modem that comes or goes makes its neighbours up
//! or down for the node, and one timer serves everything. That glue is the same for every
//! driver, so it lives here once: the simulator and the firmware drive a `Station` and only
//! move bytes and time. The host agent (host/src/agent/core.rs) stands between node and link
//! itself, because it batches and compresses node messages and shares its links with 5066
//! client applications; it keeps a [`Feed`] per link, the part of a station that makes these
//! calls, so it drives its node exactly as a station does.
//!
//! The driver calls, in quinn-proto's shape:
//!
//! - [`Station::add_link`] once per modem at start, naming the neighbours it reaches;
//! - [`Station::link_up`] / [`Station::link_down`] when a modem becomes usable or unusable
//!   (opened, failed, radio silence);
//! - [`Station::handle_input`] for every D_PDU a modem delivers;
//! - [`Station::publish`] when the operator injects an artifact;
//! - [`Station::handle_timeout`] when the instant from [`Station::poll_timeout`] comes;
//! - after any of those, [`Station::poll_transmit`] for every link until `None` (the frames of
//!   one transmission come back to back), then [`Station::poll_event`] until `None`, then
//!   [`Station::poll_timeout`] to re-arm its single timer.
//!
//! Why it works the way it does:
//!
//! - **Pull, don't push.** The node keeps its own prioritised outbox; a U_PDU leaves it only
//!   when the link that reaches its destination has room ([`LINK_RESERVE`] queue places stay
//!   free for the link's own C_PDUs) and that neighbour has fewer than [`PER_NEIGHBOUR`] U_PDUs
//!   queued there. So nothing the node hands over is dropped for lack of room, a neighbour out
//!   of reach (whose messages wait in the link for a physical link) cannot take every place of
//!   a link it shares with others, and a revocation published later still overtakes what waits
//!   in the node.
//! - **A link is a channel.** Each link's index is the node's channel number
//!   ([`Node::neighbour_up_on`]), so the node knows which neighbours hear one transmission and
//!   can apply its fan-out rule (one non-ARQ broadcast instead of one ARQ copy per neighbour,
//!   see [`crate::node::Fanout`]).
//! - **The link says what went out.** When a link reports a non-ARQ message sent (every
//!   repeat), the node is told ([`Node::sent_non_arq`]) and arms the SUMMARY that lets a
//!   listener that missed it ask for it. Give the node its own address and a jitter seed
//!   ([`crate::node::Config::address`], [`crate::node::Config::jitter_seed`]) so that of a
//!   channel's listeners one answers a SUMMARY broadcast and neighbours do not key up in step.
//! - **Nothing a peer sends can stop us.** A U_PDU for another SAP is counted and dropped; a
//!   malformed node message is the node's event; a link error on input is returned and changes
//!   nothing else.
//!
//! Memory is fixed: `LINKS` links, up to [`MAX_LINK_NEIGHBOURS`] neighbours each, one U_PDU
//! buffer ([`MAX_UPDU_LEN`]) and [`STATION_EVENTS`] pending events. A board with one modem uses
//! `Station<Node<..>, Link<..>, 1>`.

use heapless::{Deque, Vec};

use crate::link::{
    self, Event as LinkEvent, Link, MAX_UPDU_LEN, Message as LinkMessage, MessageId, Transmit,
};
use crate::node::message::MessageError;
use crate::node::{Heard, Node, NodeEvent, Storage, TooManyNeighbours};
use crate::policy::{Admitted, Refusal, Trust, UnixTime};
use crate::time::Instant;
use crate::wire::Address;

/// Neighbours one link may reach.
pub const MAX_LINK_NEIGHBOURS: usize = 8;
/// Queue places of a link the station never fills with node messages: room for the link's own
/// C_PDUs (CAS-1, confirmations), so a full link still makes and breaks physical links.
pub const LINK_RESERVE: usize = 4;
/// U_PDUs one neighbour may have waiting in its link at once. An absent neighbour's messages
/// wait there for a physical link until their time-to-die; this bound keeps the rest of the
/// link for the other neighbours on the channel. Later ones wait in the node, in priority
/// order.
pub const PER_NEIGHBOUR: usize = 8;
/// Messages in flight per link whose fate (delivered, sent, expired) the station follows.
pub const TRACKED: usize = 32;
/// Station events waiting for [`Station::poll_event`]; the oldest is dropped when full.
pub const STATION_EVENTS: usize = 16;

/// A link's index in its station: also the node's channel number for it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LinkId(pub u8);

/// Why the station refused a call.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StationError {
    /// Every link place (`LINKS`) is taken, or more than 256 links were asked for.
    TooManyLinks,
    /// More neighbours than a link ([`MAX_LINK_NEIGHBOURS`]) or the node can track.
    TooManyNeighbours,
    /// No link has this id.
    NoSuchLink(LinkId),
    /// The link refused the D_PDU (it is not a sound frame, or made no sense in its state).
    Link(link::Error),
}

impl core::fmt::Display for StationError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StationError::TooManyLinks => f.write_str("no room for another link"),
            StationError::TooManyNeighbours => f.write_str("too many neighbours"),
            StationError::NoSuchLink(id) => write!(f, "no link {}", id.0),
            StationError::Link(e) => write!(f, "link: {e}"),
        }
    }
}

impl core::error::Error for StationError {}

impl From<TooManyNeighbours> for StationError {
    fn from(_: TooManyNeighbours) -> Self {
        StationError::TooManyNeighbours
    }
}

/// What [`Station::poll_event`] reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StationEvent {
    /// What the node reported (admissions, refusals, storage trouble).
    Node(NodeEvent),
    /// A physical link (CAS-1) with `peer` was made (`up`) or broken on `link`.
    PhysicalLink {
        /// The link.
        link: LinkId,
        /// The other node.
        peer: Address,
        /// Made or broken.
        up: bool,
    },
    /// The ARQ state with `peer` on `link` was reset; unacknowledged data is resent.
    Reset {
        /// The link.
        link: LinkId,
        /// The other node.
        peer: Address,
    },
    /// A node message to `dest` reached its time-to-die in `link` before it was delivered;
    /// the next inventory exchange with `dest` finds the difference again.
    Expired {
        /// The link.
        link: LinkId,
        /// Where it was going.
        dest: Address,
    },
    /// `link` refused a node message to `dest` (it did not fit the link's buffers).
    NotQueued {
        /// The link.
        link: LinkId,
        /// Where it was going.
        dest: Address,
        /// Why.
        error: link::Error,
    },
    /// A U_PDU for a SAP no client here is bound to was dropped.
    ForeignSap {
        /// The link.
        link: LinkId,
        /// The sending node.
        src: Address,
        /// The SAP it was for.
        sap: u8,
    },
}

/// What a station needs of a node. It is implemented for every [`Node`], whatever its
/// capacities, so a station works with the host's node as well as a small board's.
pub trait StationNode {
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
        ) -> Result<MessageId, link::Error> {
            ($($deref)* self).submit(now, message)
        }

        fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), link::Error> {
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
    forward_node!(*);
}

/// What a station needs of a link. It is implemented for every [`Link`], whatever its
/// capacities.
pub trait StationLink {
    /// [`Link::submit`].
    fn submit(&mut self, now: Instant, message: &LinkMessage<'_>)
    -> Result<MessageId, link::Error>;
    /// [`Link::handle_input`].
    fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), link::Error>;
    /// [`Link::handle_timeout`].
    fn handle_timeout(&mut self, now: Instant);
    /// [`Link::poll_transmit`].
    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit>;
    /// [`Link::poll_timeout`].
    fn poll_timeout(&self) -> Option<Instant>;
    /// [`Link::poll_event`].
    fn poll_event(&mut self) -> Option<LinkEvent<'_>>;
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
    forward_link!(*);

    fn capacity(&self) -> usize {
        QUEUE
    }
}

/// A boxed node is driven like the node (the host and the simulator keep large nodes on the
/// heap).
#[cfg(any(feature = "std", test))]
impl<N: StationNode + ?Sized> StationNode for std::boxed::Box<N> {
    forward_node!(**);
}

/// A boxed link is driven like the link (a [`crate::link::HostLink`] is about 250 kB).
#[cfg(any(feature = "std", test))]
impl<L: StationLink + ?Sized> StationLink for std::boxed::Box<L> {
    forward_link!(**);

    fn capacity(&self) -> usize {
        (**self).capacity()
    }
}

/// Counters since the station was made.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct StationStats {
    /// U_PDUs the links delivered on the Skywave SAP (handed to the node).
    pub received: u64,
    /// Node messages handed to a link.
    pub submitted: u64,
    /// Node messages a link refused.
    pub not_queued: u64,
    /// Node messages that reached their time-to-die in a link.
    pub expired: u64,
    /// U_PDUs for other SAPs, dropped.
    pub foreign: u64,
    /// Station events dropped because the driver did not poll them.
    pub events_dropped: u64,
}

/// One link's share of a node's traffic: its channel number, the neighbours it reaches, and
/// the node messages in it whose fate (sent, delivered, expired) is followed.
///
/// [`Station`] keeps one per link. A driver that must stand between the node and its links
/// itself (the host agent batches and compresses node messages, and shares its links with
/// 5066 client applications) keeps one per link too, and so makes exactly the station's calls:
///
/// - [`Feed::link_up`] / [`Feed::link_down`] when the modem becomes usable / unusable;
/// - while [`Feed::has_room`]: [`Feed::poll_send`], then the link's `submit`, then
///   [`Feed::submitted`] with the id the link gave;
/// - for each link report: a U_PDU received on the node's SAP goes to
///   [`Node::handle_message_heard`] with the [`Heard`] of its service (`Heard::from`);
///   `Sent` goes to [`Feed::sent`] (which tells the node, so it arms the SUMMARY that checks
///   a non-ARQ message); `Delivered` and `Failed` go to [`Feed::settle`].
///
/// Without [`Feed::sent`] the node never learns that a broadcast went out, and a listener that
/// missed it waits for the periodic SUMMARY (10 minutes by default) instead of the check.
#[derive(Clone, Debug)]
pub struct Feed {
    channel: u8,
    neighbours: Vec<Address, MAX_LINK_NEIGHBOURS>,
    /// Node messages in the link, by the link's id, with their destination.
    tracked: Vec<(MessageId, Address), TRACKED>,
}

impl Feed {
    /// The share of the link that is the node's channel `channel`, reaching `neighbours`.
    pub fn new(channel: u8, neighbours: &[Address]) -> Result<Self, StationError> {
        Ok(Feed {
            channel,
            neighbours: Vec::from_slice(neighbours).map_err(|_| StationError::TooManyNeighbours)?,
            tracked: Vec::new(),
        })
    }

    /// The node's channel number for this link.
    pub const fn channel(&self) -> u8 {
        self.channel
    }

    /// The neighbours the link reaches.
    pub fn neighbours(&self) -> &[Address] {
        &self.neighbours
    }

    /// Whether the link reaches `dest`.
    pub fn reaches(&self, dest: Address) -> bool {
        self.neighbours.contains(&dest)
    }

    /// Node messages to `dest` handed to the link and not yet settled.
    pub fn waiting_for(&self, dest: Address) -> usize {
        self.tracked.iter().filter(|(_, d)| *d == dest).count()
    }

    /// Whether a link holding `queued` C_PDUs of `capacity` may take another node message:
    /// [`LINK_RESERVE`] places stay free for its own C_PDUs, and at most [`TRACKED`] node
    /// messages are followed at once. The driver checks that the modem is usable.
    pub fn has_room(&self, queued: usize, capacity: usize) -> bool {
        !self.tracked.is_full() && queued + LINK_RESERVE < capacity
    }

    /// Whether a node message to `dest` may go to the link now: a broadcast always, a
    /// neighbour's only while it has fewer than [`PER_NEIGHBOUR`] messages waiting there
    /// (counting `polled`, the destinations of messages taken from the node and not yet
    /// submitted).
    pub fn accepts(&self, dest: Address, polled: &[Address]) -> bool {
        dest == Address::BROADCAST
            || (self.reaches(dest)
                && self.waiting_for(dest) + polled.iter().filter(|&&d| d == dest).count()
                    < PER_NEIGHBOUR)
    }

    /// The node's next message for this link ([`Node::poll_send_on`] on this channel, taking
    /// what [`Feed::accepts`]), written into `buf`. `polled` are the destinations of messages
    /// taken earlier and not yet submitted (a driver that batches them); usually empty.
    pub fn poll_send<'b, N: StationNode + ?Sized>(
        &self,
        node: &mut N,
        now: Instant,
        polled: &[Address],
        buf: &'b mut [u8],
    ) -> Option<LinkMessage<'b>> {
        node.poll_send_on(
            now,
            self.channel,
            &mut |dest| self.accepts(dest, polled),
            buf,
        )
    }

    /// The link took a node message to `dest` (a neighbour or [`Address::BROADCAST`]) as
    /// `id`: it is followed until the link settles it.
    pub fn submitted(&mut self, id: MessageId, dest: Address) {
        // `has_room` was checked, so there is a place.
        let _ = self.tracked.push((id, dest));
    }

    /// The link reported message `id` settled (delivered or failed). Returns where it was
    /// going, if it was a node message.
    pub fn settle(&mut self, id: MessageId) -> Option<Address> {
        let i = self.tracked.iter().position(|(m, _)| *m == id)?;
        Some(self.tracked.swap_remove(i).1)
    }

    /// The link reported message `id` sent (non-ARQ, every repeat): if it was a node
    /// message, tells the node ([`Node::sent_non_arq`]). Returns whether it was one.
    pub fn sent<N: StationNode + ?Sized>(
        &mut self,
        node: &mut N,
        now: Instant,
        id: MessageId,
    ) -> bool {
        let ours = self.settle(id).is_some();
        if ours {
            node.sent_non_arq(now, self.channel);
        }
        ours
    }

    /// The modem became usable: every neighbour it reaches is up for the node on this
    /// channel ([`Node::neighbour_up_on`]), which sends each a SUMMARY.
    pub fn link_up<N: StationNode + ?Sized>(
        &self,
        node: &mut N,
        now: Instant,
    ) -> Result<(), TooManyNeighbours> {
        for &n in &self.neighbours {
            node.neighbour_up_on(now, n, self.channel)?;
        }
        Ok(())
    }

    /// The modem became unusable: every neighbour it reaches is down for the node.
    pub fn link_down<N: StationNode + ?Sized>(&self, node: &mut N) {
        for &n in &self.neighbours {
            node.neighbour_down(n);
        }
    }
}

/// One link with its share of the node's traffic.
#[derive(Clone, Debug)]
struct Port<L> {
    link: L,
    feed: Feed,
    /// The modem is usable (the driver said so).
    up: bool,
}

impl<L: StationLink> Port<L> {
    fn has_room(&self) -> bool {
        self.up && self.feed.has_room(self.link.queued(), self.link.capacity())
    }
}

/// A node and its links: see the [module documentation](self).
pub struct Station<N, L, const LINKS: usize> {
    node: N,
    sap: u8,
    ports: Vec<Port<L>, LINKS>,
    events: Deque<StationEvent, STATION_EVENTS>,
    /// The last wall-clock time the driver gave (for messages handled outside an input).
    wall: Option<UnixTime>,
    updu: [u8; MAX_UPDU_LEN],
    stats: StationStats,
}

impl<N: StationNode, L: StationLink, const LINKS: usize> Station<N, L, LINKS> {
    /// A station around `node`, whose messages travel on SAP `sap` (the node's
    /// [`crate::node::Config::sap`]), with no links yet.
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub const fn new(node: N, sap: u8) -> Self {
        Station {
            node,
            sap,
            ports: Vec::new(),
            events: Deque::new(),
            wall: None,
            updu: [0; MAX_UPDU_LEN],
            stats: StationStats {
                received: 0,
                submitted: 0,
                not_queued: 0,
                expired: 0,
                foreign: 0,
                events_dropped: 0,
            },
        }
    }

    /// Adds a link (one modem and channel) reaching `neighbours`. Call once per modem before
    /// anything else; the link stays down (nothing is sent on it) until [`Station::link_up`].
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn add_link(&mut self, link: L, neighbours: &[Address]) -> Result<LinkId, StationError> {
        let id = u8::try_from(self.ports.len()).map_err(|_| StationError::TooManyLinks)?;
        let feed = Feed::new(id, neighbours)?;
        self.ports
            .push(Port {
                link,
                feed,
                up: false,
            })
            .map_err(|_| StationError::TooManyLinks)?;
        Ok(LinkId(id))
    }

    /// The node.
    pub const fn node(&self) -> &N {
        &self.node
    }

    /// The node, to ask it things the station does not (decisions, storage). Changing its
    /// state here is fine; call [`Station::handle_timeout`] afterwards so what it queued moves.
    pub fn node_mut(&mut self) -> &mut N {
        &mut self.node
    }

    /// Link `id`.
    pub fn link(&self, id: LinkId) -> Option<&L> {
        self.ports.get(usize::from(id.0)).map(|p| &p.link)
    }

    /// The neighbours link `id` reaches.
    pub fn neighbours(&self, id: LinkId) -> &[Address] {
        self.ports
            .get(usize::from(id.0))
            .map_or(&[], |p| p.feed.neighbours())
    }

    /// How many links there are.
    pub fn links(&self) -> usize {
        self.ports.len()
    }

    /// Counters.
    pub const fn stats(&self) -> StationStats {
        self.stats
    }

    /// The modem of link `id` is usable: its neighbours are up for the node, which sends each
    /// a SUMMARY (so whatever they missed while it was down follows). Call when the modem is
    /// opened at start and whenever it comes back (a serial port reopened, radio silence
    /// lifted, a station back on the air).
    pub fn link_up(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        id: LinkId,
    ) -> Result<(), StationError> {
        let port = self
            .ports
            .get_mut(usize::from(id.0))
            .ok_or(StationError::NoSuchLink(id))?;
        port.up = true;
        port.feed.link_up(&mut self.node, now)?;
        self.wall = wall.or(self.wall);
        self.pump(now);
        Ok(())
    }

    /// The modem of link `id` is not usable: its neighbours are down for the node, which
    /// queues nothing new to them (they catch up through the SUMMARY exchange after
    /// [`Station::link_up`]). Call when the modem fails or goes silent.
    pub fn link_down(&mut self, now: Instant, id: LinkId) -> Result<(), StationError> {
        let port = self
            .ports
            .get_mut(usize::from(id.0))
            .ok_or(StationError::NoSuchLink(id))?;
        port.up = false;
        port.feed.link_down(&mut self.node);
        self.pump(now);
        Ok(())
    }

    /// Admits an artifact the operator publishes here and queues it to every neighbour. Call
    /// when the operator injects an artifact; then poll as after any input.
    pub fn publish(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal> {
        self.wall = wall.or(self.wall);
        let result = self.node.publish(now, wall, bytes);
        self.pump(now);
        result
    }

    /// Takes one D_PDU that link `id`'s modem delivered at `now` (good or with damaged data:
    /// the link still uses a sound header). Call for every frame the deframer yields; `wall`
    /// is the wall-clock time if the station has one. A frame the link refuses changes nothing
    /// else and its error is returned.
    pub fn handle_input(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        id: LinkId,
        frame: &[u8],
    ) -> Result<(), StationError> {
        self.wall = wall.or(self.wall);
        let port = self
            .ports
            .get_mut(usize::from(id.0))
            .ok_or(StationError::NoSuchLink(id))?;
        let result = port.link.handle_input(now, frame);
        self.pump(now);
        result.map_err(StationError::Link)
    }

    /// The next instant at which [`Station::handle_timeout`] has work, over every link and the
    /// node. Call after every other method and arm one timer for it; `None` means nothing
    /// happens until input arrives.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ports
            .iter()
            .filter_map(|p| p.link.poll_timeout())
            .chain(self.node.poll_timeout())
            .min()
    }

    /// Lets every link and the node act on the passage of time. Call when the instant from
    /// [`Station::poll_timeout`] comes (early or often is harmless); then poll.
    pub fn handle_timeout(&mut self, now: Instant, wall: Option<UnixTime>) {
        self.wall = wall.or(self.wall);
        for port in &mut self.ports {
            port.link.handle_timeout(now);
        }
        self.node.handle_timeout(now);
        self.pump(now);
    }

    /// Writes the next D_PDU link `id` puts on the air into `buf` (at least
    /// [`crate::wire::MAX_DPDU_LEN`] bytes), or `None`. Call for every link after every other
    /// method, until `None`; the frames of one transmission come out back to back at the same
    /// `now`, and the driver keys that link's modem for them in order.
    pub fn poll_transmit(&mut self, now: Instant, id: LinkId, buf: &mut [u8]) -> Option<Transmit> {
        let port = self.ports.get_mut(usize::from(id.0))?;
        let transmit = port.link.poll_transmit(now, buf);
        if transmit.is_none() {
            // The burst is planned: what it finished (non-ARQ messages sent their repeats)
            // frees room for the node's next messages.
            self.pump(now);
        }
        transmit
    }

    /// The next thing that happened, or `None`. Call after every other method until `None`.
    pub fn poll_event(&mut self) -> Option<StationEvent> {
        self.events
            .pop_front()
            .or_else(|| self.node.poll_event().map(StationEvent::Node))
    }

    /// Moves U_PDUs between the links and the node until neither has more to give.
    fn pump(&mut self, now: Instant) {
        loop {
            let mut progress = self.take_link_events(now);
            progress |= self.feed_links(now);
            if !progress {
                return;
            }
        }
    }

    /// Hands what the links received to the node and settles what they finished.
    fn take_link_events(&mut self, now: Instant) -> bool {
        let mut progress = false;
        let Station {
            node,
            sap,
            ports,
            events,
            wall,
            stats,
            ..
        } = self;
        for (index, port) in (0u8..).zip(ports.iter_mut()) {
            let link = LinkId(index);
            while let Some(event) = port.link.poll_event() {
                progress = true;
                let report = match event {
                    LinkEvent::Received(r) if r.header.dest_sap == *sap => {
                        stats.received += 1;
                        let heard = Heard::from(r.service);
                        // A malformed message is the node's event; nothing else to do here.
                        let _ = node.handle_message_heard(now, *wall, r.src, heard, r.data);
                        None
                    }
                    LinkEvent::Received(r) => {
                        stats.foreign += 1;
                        Some(StationEvent::ForeignSap {
                            link,
                            src: r.src,
                            sap: r.header.dest_sap,
                        })
                    }
                    LinkEvent::Sent(id) => {
                        // Only non-ARQ messages are reported sent.
                        port.feed.sent(node, now, id);
                        None
                    }
                    LinkEvent::Delivered(id) => {
                        port.feed.settle(id);
                        None
                    }
                    LinkEvent::Failed(id, _) => port.feed.settle(id).map(|dest| {
                        stats.expired += 1;
                        StationEvent::Expired { link, dest }
                    }),
                    LinkEvent::LinkUp(peer) => Some(StationEvent::PhysicalLink {
                        link,
                        peer,
                        up: true,
                    }),
                    LinkEvent::LinkDown(peer) => Some(StationEvent::PhysicalLink {
                        link,
                        peer,
                        up: false,
                    }),
                    LinkEvent::Reset(peer) => Some(StationEvent::Reset { link, peer }),
                    LinkEvent::Confirmed { .. } => None,
                };
                if let Some(r) = report {
                    push_event(events, stats, r);
                }
            }
        }
        progress
    }

    /// Gives each link, while it has room, the node's most urgent messages for the neighbours
    /// it reaches.
    fn feed_links(&mut self, now: Instant) -> bool {
        let mut progress = false;
        let Station {
            node,
            ports,
            events,
            updu,
            stats,
            ..
        } = self;
        for (index, port) in (0u8..).zip(ports.iter_mut()) {
            while port.has_room() {
                let Some(message) = port.feed.poll_send(node, now, &[], updu) else {
                    break;
                };
                progress = true;
                match port.link.submit(now, &message) {
                    Ok(id) => {
                        stats.submitted += 1;
                        port.feed.submitted(id, message.dest);
                    }
                    Err(error) => {
                        // Only a U_PDU too large for this link's buffers gets here (room was
                        // checked): the node's next inventory exchange offers it again.
                        stats.not_queued += 1;
                        let refused = StationEvent::NotQueued {
                            link: LinkId(index),
                            dest: message.dest,
                            error,
                        };
                        push_event(events, stats, refused);
                    }
                }
            }
        }
        progress
    }
}

/// Queues a station event, dropping (and counting) the oldest when the queue is full.
fn push_event(
    events: &mut Deque<StationEvent, STATION_EVENTS>,
    stats: &mut StationStats,
    event: StationEvent,
) {
    if events.is_full() {
        events.pop_front();
        stats.events_dropped += 1;
    }
    let _ = events.push_back(event);
}

#[cfg(test)]
mod tests;
