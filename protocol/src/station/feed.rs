//! One link's share of a node's traffic ([`Feed`]): the channel number, the neighbours it
//! reaches, the room rules, and the messages in it whose fate is followed. The station keeps one
//! per link.

use heapless::Vec;

use super::{LINK_RESERVE, MAX_LINK_NEIGHBOURS, PER_NEIGHBOUR, StationNode, TRACKED};
use crate::link::{Message as LinkMessage, MessageId};
use crate::node::TooManyNeighbours;
use crate::time::Instant;
use crate::wire::Address;

/// Whose message a link carries, for what its fate means.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Owner {
    /// The node's: its fate is the node's business (or an [`StationEvent::Expired`](super::StationEvent::Expired)).
    Node,
    /// A client's ([`Station::submit`](super::Station::submit)): its fate is reported to the driver.
    Client,
}

/// One link's share of a node's traffic: its channel number, the neighbours it reaches, and
/// the node messages in it whose fate (sent, delivered, expired) is followed.
///
/// [`Station`](super::Station) keeps one per link and makes these calls:
///
/// - [`Feed::link_up`] / [`Feed::link_down`] when the modem becomes usable / unusable;
/// - while [`Feed::has_room`]: [`Feed::poll_send`], then the link's `submit`, then
///   [`Feed::submitted`] with the id the link gave;
/// - for each link report: `Sent` goes to [`Feed::sent`] (which tells the node, so it arms the
///   SUMMARY that checks a non-ARQ message); `Delivered` and `Failed` go to [`Feed::settle`].
///
/// Without [`Feed::sent`] the node never learns that a broadcast went out, and a listener that
/// missed it waits for the periodic SUMMARY (10 minutes by default) instead of the check.
#[derive(Clone, Debug)]
pub struct Feed {
    channel: u8,
    neighbours: Vec<Address, MAX_LINK_NEIGHBOURS>,
    /// Messages in the link, by the link's id, with their destination and whose they are.
    tracked: Vec<(MessageId, Address, Owner), TRACKED>,
}

impl Feed {
    /// The share of the link that is the node's channel `channel`, reaching `neighbours`.
    pub fn new(channel: u8, neighbours: &[Address]) -> Result<Self, TooManyNeighbours> {
        Ok(Feed {
            channel,
            neighbours: Vec::from_slice(neighbours).map_err(|_| TooManyNeighbours)?,
            tracked: Vec::new(),
        })
    }

    /// The neighbours the link reaches.
    pub fn neighbours(&self) -> &[Address] {
        &self.neighbours
    }

    /// Whether the link reaches `dest`.
    pub fn reaches(&self, dest: Address) -> bool {
        self.neighbours.contains(&dest)
    }

    /// Messages (the node's and clients') to `dest` handed to the link and not yet settled.
    pub fn waiting_for(&self, dest: Address) -> usize {
        self.tracked.iter().filter(|(_, d, _)| *d == dest).count()
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

    /// The node's next message for this link ([`Node::poll_send_on`](crate::node::Node::poll_send_on) on this channel, taking
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

    /// The link took `owner`'s message to `dest` (a neighbour, another node for a client,
    /// or [`Address::BROADCAST`]) as `id`: it is followed until the link settles it.
    pub fn submitted(&mut self, id: MessageId, dest: Address, owner: Owner) {
        // `has_room` was checked, so there is a place.
        let _ = self.tracked.push((id, dest, owner));
    }

    /// The link reported message `id` settled (delivered, sent or failed). Returns where it
    /// was going and whose it was, if it was followed here.
    pub fn settle(&mut self, id: MessageId) -> Option<(Address, Owner)> {
        let i = self.tracked.iter().position(|(m, _, _)| *m == id)?;
        let (_, dest, owner) = self.tracked.swap_remove(i);
        Some((dest, owner))
    }

    /// The link reported message `id` sent (non-ARQ, every repeat): if it was a node
    /// message, tells the node ([`Node::sent_non_arq`](crate::node::Node::sent_non_arq)). Returns whose it was.
    pub fn sent<N: StationNode + ?Sized>(
        &mut self,
        node: &mut N,
        now: Instant,
        id: MessageId,
    ) -> Option<Owner> {
        let (_, owner) = self.settle(id)?;
        if owner == Owner::Node {
            node.sent_non_arq(now, self.channel);
        }
        Some(owner)
    }

    /// The modem became usable: every neighbour it reaches is up for the node on this
    /// channel ([`Node::neighbour_up_on`](crate::node::Node::neighbour_up_on)), which sends each a SUMMARY.
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
