//! One Skywave station: a [`Node`] and the links that reach its neighbours, driven as one
//! sans-IO state machine.
//!
//! The node decides *what* goes to *which* neighbour; each link (one HF channel, one modem)
//! decides *when* and *how* it goes on the air. Something has to carry U_PDUs between the two:
//! what a link received on the Skywave SAP goes to the node, what the node wants sent goes to
//! the link that reaches its destination, a modem that comes or goes makes its neighbours up
//! or down for the node, client data (U_PDUs for other SAPs) goes between the links and the
//! driver's clients, and one timer serves everything. That glue is the same for every driver,
//! so it lives here once: the simulator and the firmware drive a `Station` and only move bytes
//! and time, and the host agent drives one too (what it adds on the Skywave SAP, compressed
//! batches, lives in its link type).
//!
//! The driver calls, in quinn-proto's shape (docs/drivers.md has each driver's loop):
//!
//! - [`Station::add_link`] once per modem at start, naming the neighbours it reaches;
//! - [`Station::link_up`] / [`Station::link_down`] when a modem becomes usable or unusable
//!   (opened, failed, radio silence);
//! - [`Station::handle_input`] for every D_PDU a modem delivers;
//! - [`Station::publish`] when the operator injects an artifact;
//! - [`Station::submit`] when a client submits a U_PDU for another node;
//! - [`Station::handle_timeout`] when the instant from [`Station::poll_timeout`] comes;
//! - after any of those, [`Station::poll_transmit`] for every link until `None` (the frames of
//!   one transmission come back to back), then [`Station::poll_event`] until `None`, then
//!   [`Station::poll_timeout`] to re-arm its single timer.
//!
//! The timer contract is quinn-proto's: [`Station::handle_timeout`] at an instant before the
//! one asked for does nothing, and [`Station::poll_timeout`] asks for an instant at or before
//! the latest `now` only when work is due then, so serving it always makes progress and a
//! driver never needs to clamp it.
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
//! - **Client data shares the links' room.** A U_PDU for another SAP is reported as
//!   [`StationEvent::Received`]; [`Station::submit`] queues a client's U_PDU under the node's
//!   room rules and its fate is reported by the id it returned. The payload of a received
//!   U_PDU is lent from the station's one U_PDU buffer (no allocation, one buffer on a board):
//!   while it waits to be polled, nothing else moves and later events wait in the links.
//! - **Decided, then confirmed.** A link hands out a received U_PDU whose sender asked for
//!   client delivery confirmation with a request to answer ([`crate::link::ConfirmRequest`]);
//!   the station answers it as soon as it has decided on the U_PDU, before anything else
//!   moves: confirmed when it goes to the node or the driver, DATA DELIVERY FAIL
//!   ([`fail::REFUSED`]) when the guard refuses it. The answer is queued in the link, so a
//!   driver that stores what it is handed does so before the answer can be transmitted (it
//!   takes events before it polls for frames). A driver that may fail to keep what it is
//!   handed answers for its SAPs itself ([`Station::answer_for`], [`Station::answer`]).
//! - **Nothing a peer sends can stop us.** A U_PDU for a SAP nobody serves is the driver's to
//!   drop; a malformed node message is the node's event; a link error on input is returned and
//!   changes nothing else.
//!
//! Memory is fixed: `LINKS` links, up to [`MAX_LINK_NEIGHBOURS`] neighbours each, one U_PDU
//! buffer ([`MAX_UPDU_LEN`]) and [`STATION_EVENTS`] pending events. A board with one modem uses
//! `Station<Node<..>, Link<..>, 1>`. The guard's tables (with feature `guard`) are the last
//! four const generics, defaulted to the host's sizes: `HELD_MSGS` labelled messages held
//! ([`HELD`]) of up to `HELD_BYTES` bytes of data each ([`MAX_GUARDED_LEN`]), `REPORTS` guard
//! reports waiting for the driver ([`GUARD_REPORTS`]), `ORIGINS` origins' replay windows
//! ([`REPLAY_ORIGINS`]); a board that guards picks its own.

use heapless::{Deque, Vec};

mod answer;
mod feed;
mod guard;
mod traits;

use feed::{Feed, Owner};
pub use guard::{
    End, GUARD_REPORTS, GuardConfig, GuardRefusal, GuardReport, HELD, MAX_GUARDED_LEN,
    REPLAY_ORIGINS, Ticket,
};
pub use traits::{StationLink, StationNode};

#[cfg(doc)]
use crate::link::Link;
use crate::link::pdu::fail;
use crate::link::{
    self, Answer, Event as LinkEvent, Failure, MAX_UPDU_LEN, Message as LinkMessage, MessageId,
    Service, SpduHeader, SubmitError, Transmit,
};
#[cfg(doc)]
use crate::node::Node;
use crate::node::{Heard, NodeEvent, TooManyNeighbours};
use crate::policy::{Admitted, Refusal, UnixTime};
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
/// Station events waiting for [`Station::poll_event`]. While they are this many, the links'
/// reports wait in the links (a burst of expiries must not push out the outcome of a client's
/// message); only the station's own reports drop the oldest.
pub const STATION_EVENTS: usize = 16;

/// A link's index in its station: also the node's channel number for it.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct LinkId(pub u8);

/// Why the station refused a call. `E` is what its links refuse input with
/// ([`StationLink::InputError`]): a [`Link`]'s [`link::Error`] unless a driver plugs its own.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StationError<E = link::Error> {
    /// Every link place (`LINKS`) is taken, or more than 256 links were asked for.
    TooManyLinks,
    /// More neighbours than a link ([`MAX_LINK_NEIGHBOURS`]) or the node can track.
    TooManyNeighbours,
    /// No link has this id.
    NoSuchLink(LinkId),
    /// The link refused the input (for a [`Link`]: not a sound D_PDU, or one that made no
    /// sense in its state).
    Link(E),
    /// [`Station::submit`]: the link's modem is not usable ([`Station::link_down`], or never
    /// [`Station::link_up`]); nothing was queued.
    LinkDown(LinkId),
    /// [`Station::submit`]: the link has no room a client may use (its last [`LINK_RESERVE`]
    /// places, [`TRACKED`] messages followed, or [`PER_NEIGHBOUR`] waiting for the
    /// destination). Submit again after the events report a message settled.
    NoRoom(LinkId),
    /// [`Station::submit`]: the U_PDU is for the node's own SAP, which only the node speaks.
    NodeSap,
    /// [`Station::submit`]: the link refused the U_PDU.
    Submit(SubmitError),
    /// [`Station::submit_labelled`]: the guard refused it (also reported as a
    /// [`StationEvent::Guard`], to log).
    Guard(GuardRefusal),
    /// [`Station::submit`]: the SAP is guarded; its data goes through
    /// [`Station::submit_labelled`].
    Unlabelled,
    /// [`Station::submit_labelled`]: the guard is off ([`Station::enable_guard`]).
    GuardOff,
    /// [`Station::submit_labelled`]: a labelled message goes to one node, not to
    /// [`Address::BROADCAST`] (the guard decides for the destination's domain).
    GuardBroadcast,
}

impl<E: core::fmt::Display> core::fmt::Display for StationError<E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StationError::TooManyLinks => f.write_str("no room for another link"),
            StationError::TooManyNeighbours => f.write_str("too many neighbours"),
            StationError::NoSuchLink(id) => write!(f, "no link {}", id.0),
            StationError::Link(e) => write!(f, "link: {e}"),
            // The link is the caller's own argument: not repeated (a board's flash is short).
            StationError::LinkDown(_) => f.write_str("link down"),
            StationError::NoRoom(_) => f.write_str("no room"),
            StationError::NodeSap => f.write_str("node's SAP"),
            StationError::Submit(e) => e.fmt(f),
            // The reason is the event's to tell (a board's flash is short).
            StationError::Guard(_) => f.write_str("refused by the guard"),
            StationError::Unlabelled => f.write_str("guarded SAP: label it"),
            StationError::GuardOff => f.write_str("guard off"),
            StationError::GuardBroadcast => f.write_str("labelled broadcast"),
        }
    }
}

impl<E: core::fmt::Debug + core::fmt::Display> core::error::Error for StationError<E> {}

impl<E> From<TooManyNeighbours> for StationError<E> {
    fn from(_: TooManyNeighbours) -> Self {
        StationError::TooManyNeighbours
    }
}

/// What [`Station::poll_event`] reports. A payload is borrowed from the station until the next
/// call to it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StationEvent<'a> {
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
        error: SubmitError,
    },
    /// Client data: a U_PDU for a SAP other than the node's arrived on `link`. A driver with
    /// no client bound to `header.dest_sap` drops it.
    Received {
        /// The link.
        link: LinkId,
        /// The sending node.
        src: Address,
        /// Priority and SAPs (the sending client's and the one it is for).
        header: SpduHeader,
        /// How it came (ARQ or not, expedited or not).
        service: Service,
        /// Its sender asked for client delivery confirmation. The station has answered it
        /// (confirmed: it is handed to the driver) before reporting it, unless the driver
        /// answers for `header.dest_sap` ([`Station::answer_for`]): then it waits for
        /// [`Station::answer`].
        confirm: bool,
        /// The U_PDU.
        payload: &'a [u8],
    },
    /// Every segment of client message `id` ([`Station::submit`]) on `link` was acknowledged
    /// by its destination node (ARQ).
    Delivered {
        /// The link.
        link: LinkId,
        /// What [`Station::submit`] returned.
        id: MessageId,
    },
    /// Client message `id` on `link` went out as often as asked (non-ARQ).
    Sent {
        /// The link.
        link: LinkId,
        /// What [`Station::submit`] returned.
        id: MessageId,
    },
    /// Client message `id` on `link` will not be delivered (its time-to-die passed).
    Failed {
        /// The link.
        link: LinkId,
        /// What [`Station::submit`] returned.
        id: MessageId,
        /// Why.
        failure: Failure,
    },
    /// The destination client confirmed a client message submitted with `confirm` (the one
    /// from `from` on `header`'s SAPs whose U_PDU starts with `echo`).
    Confirmed {
        /// The link.
        link: LinkId,
        /// The confirming node.
        from: Address,
        /// Priority and SAPs of the confirmed U_PDU.
        header: SpduHeader,
        /// Its first bytes.
        echo: &'a [u8],
    },
    /// The destination node refused a client message submitted with `confirm` (DATA DELIVERY
    /// FAIL: no client holds the destination SAP there, [`fail::SAP_NOT_BOUND`], or its guard
    /// refused the message, [`fail::REFUSED`]), so no [`StationEvent::Confirmed`] will come
    /// for the U_PDU from `header`'s SAPs that starts with `echo`.
    NotDelivered {
        /// The link.
        link: LinkId,
        /// The refusing node.
        from: Address,
        /// The SAPs of the refused U_PDU (its priority is not sent, and reads 0).
        header: SpduHeader,
        /// Why ([`crate::link::pdu::fail`]).
        reason: u8,
        /// Its first bytes.
        echo: &'a [u8],
    },
    /// The guard decided on a labelled message, at this end (released or refused, with the
    /// reason and the decision's lineage): append `decision` to the decision log. A released
    /// received message follows as [`StationEvent::Received`] with the client's data.
    Guard(&'a GuardReport),
}

/// An event as queued. [`StationEvent::Received`], [`StationEvent::Confirmed`] and
/// [`StationEvent::NotDelivered`] wait with an
/// empty payload: theirs is in the station's U_PDU buffer and is lent when they are polled, so
/// the queue holds no borrowed data. Guard reports wait in the guard's own queue.
type Note = StationEvent<'static>;

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
    /// U_PDUs for other SAPs (client data), reported as [`StationEvent::Received`].
    pub foreign: u64,
    /// Station events dropped because the driver did not poll them.
    pub events_dropped: u64,
    /// Labelled messages the guard released (both ends).
    pub guard_released: u64,
    /// Labelled messages the guard refused (both ends).
    pub guard_refused: u64,
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

/// A node and its links: see the [module documentation](self) (and there for the guard's
/// sizes).
pub struct Station<
    N,
    L,
    const LINKS: usize,
    const HELD_MSGS: usize = HELD,
    const HELD_BYTES: usize = MAX_GUARDED_LEN,
    const REPORTS: usize = GUARD_REPORTS,
    const ORIGINS: usize = REPLAY_ORIGINS,
> {
    node: N,
    sap: u8,
    ports: Vec<Port<L>, LINKS>,
    events: Deque<Note, STATION_EVENTS>,
    /// The last wall-clock time the driver gave (for messages handled outside an input).
    wall: Option<UnixTime>,
    /// The latest instant the driver gave: [`Station::poll_timeout`] answers at or before it
    /// only when work is due.
    now: Instant,
    /// Work is due now that no timer shows: the node was changed through
    /// [`Station::node_mut`], or U_PDUs moved after the driver's last transmit poll (when a
    /// burst ended, or [`Station::poll_event`] lent a payload and freed the buffer).
    dirty: bool,
    /// The node's next message on its way to a link, or a client payload for the driver: one
    /// buffer, so a board pays for one.
    updu: [u8; MAX_UPDU_LEN],
    /// The length of the payload in `updu` that a queued event waits to lend. While it waits,
    /// nothing moves between links and node (their events wait in the links). Lending it frees
    /// the buffer: the borrow ends before any other call can overwrite it.
    waiting: Option<usize>,
    stats: StationStats,
    guard: guard::Guard<HELD_MSGS, HELD_BYTES, REPORTS, ORIGINS>,
    /// The client SAPs the driver answers confirmations for, and the request waiting for it
    /// (answer.rs; nothing without the `driver-answers` feature).
    answers: answer::Answers,
}

impl<
    N: StationNode,
    L: StationLink,
    const LINKS: usize,
    const HELD_MSGS: usize,
    const HELD_BYTES: usize,
    const REPORTS: usize,
    const ORIGINS: usize,
> Station<N, L, LINKS, HELD_MSGS, HELD_BYTES, REPORTS, ORIGINS>
{
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
            now: Instant::ZERO,
            dirty: false,
            updu: [0; MAX_UPDU_LEN],
            waiting: None,
            stats: StationStats {
                received: 0,
                submitted: 0,
                not_queued: 0,
                expired: 0,
                foreign: 0,
                events_dropped: 0,
                guard_released: 0,
                guard_refused: 0,
            },
            guard: guard::Guard::new(),
            answers: answer::Answers::new(),
        }
    }

    /// Adds a link (one modem and channel) reaching `neighbours`. Call once per modem before
    /// anything else; the link stays down (nothing is sent on it) until [`Station::link_up`].
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn add_link(
        &mut self,
        link: L,
        neighbours: &[Address],
    ) -> Result<LinkId, StationError<L::InputError>> {
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
    /// state here is fine: [`Station::poll_timeout`] then says work is due, so what it queued
    /// moves at the driver's next [`Station::handle_timeout`].
    pub fn node_mut(&mut self) -> &mut N {
        self.dirty = true;
        self.guard.touch();
        &mut self.node
    }

    /// Link `id`.
    pub fn link(&self, id: LinkId) -> Option<&L> {
        self.ports.get(usize::from(id.0)).map(|p| &p.link)
    }

    /// Link `id`, to tell it things the station does not (the host's carrier lost its
    /// bearer's connection, a bearer came back and the host's CAPS is due). As with
    /// [`Station::node_mut`], [`Station::poll_timeout`] then says work is due, so what it
    /// queued moves at the driver's next [`Station::handle_timeout`].
    pub fn link_mut(&mut self, id: LinkId) -> Option<&mut L> {
        let port = self.ports.get_mut(usize::from(id.0))?;
        self.dirty = true;
        Some(&mut port.link)
    }

    /// The neighbours link `id` reaches.
    pub fn neighbours(&self, id: LinkId) -> &[Address] {
        self.ports
            .get(usize::from(id.0))
            .map_or(&[], |p| p.feed.neighbours())
    }

    /// Whether data for `sap` must come labelled (the guard's SAPs, [`Station::enable_guard`]):
    /// a driver that changes them while running checks what it set.
    pub fn guards_sap(&self, sap: u8) -> bool {
        self.guard.guards(sap)
    }

    /// How many links there are.
    pub fn links(&self) -> usize {
        self.ports.len()
    }

    /// Counters.
    pub const fn stats(&self) -> StationStats {
        self.stats
    }

    /// Takes the driver's clock (time never runs backwards for the station) and, if it has
    /// one, its wall-clock time.
    fn tick(&mut self, now: Instant, wall: Option<UnixTime>) {
        self.now = self.now.max(now);
        if wall.is_some() {
            self.wall = wall;
        }
    }

    /// The modem of link `id` is usable: its neighbours are up for the node, which sends each
    /// a SUMMARY (so whatever they missed while it was down follows). Call when the modem is
    /// opened at start and whenever it comes back (a serial port reopened, radio silence
    /// lifted, a station back on the air); then poll as after any input.
    pub fn link_up(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        id: LinkId,
    ) -> Result<(), StationError<L::InputError>> {
        self.tick(now, wall);
        let port = self
            .ports
            .get_mut(usize::from(id.0))
            .ok_or(StationError::NoSuchLink(id))?;
        port.up = true;
        port.feed.link_up(&mut self.node, now)?;
        self.pump(now);
        Ok(())
    }

    /// The modem of link `id` is not usable: its neighbours are down for the node, which
    /// queues nothing new to them (they catch up through the SUMMARY exchange after
    /// [`Station::link_up`]). Call when the modem fails or goes silent; then poll.
    pub fn link_down(
        &mut self,
        now: Instant,
        id: LinkId,
    ) -> Result<(), StationError<L::InputError>> {
        self.tick(now, None);
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
        self.tick(now, wall);
        let result = self.node.publish(now, wall, bytes);
        self.guard.touch();
        self.pump(now);
        result
    }

    /// Queues a client's U_PDU (`message`: destination node or [`Address::BROADCAST`],
    /// priority and SAPs, ARQ or not, confirmation asked or not, time-to-die) on link `id`,
    /// with the room rules of the node's own messages: only while the modem is usable, never
    /// into the link's last [`LINK_RESERVE`] places, and at most [`PER_NEIGHBOUR`] messages
    /// waiting for one neighbour. Call when a client submits data; then poll. Its fate comes
    /// as [`StationEvent::Delivered`], [`StationEvent::Sent`] or [`StationEvent::Failed`]
    /// naming the returned id (and [`StationEvent::Confirmed`] if confirmation was asked).
    pub fn submit(
        &mut self,
        now: Instant,
        id: LinkId,
        message: &LinkMessage<'_>,
    ) -> Result<MessageId, StationError<L::InputError>> {
        self.tick(now, None);
        if message.header.dest_sap == self.sap {
            return Err(StationError::NodeSap);
        }
        if self.guard.guards(message.header.dest_sap) {
            return Err(StationError::Unlabelled);
        }
        let port = self
            .ports
            .get_mut(usize::from(id.0))
            .ok_or(StationError::NoSuchLink(id))?;
        if !port.up {
            return Err(StationError::LinkDown(id));
        }
        let dest = message.dest;
        if !guard::client_room(port, dest) {
            return Err(StationError::NoRoom(id));
        }
        let mid = port
            .link
            .submit(now, message)
            .map_err(StationError::Submit)?;
        port.feed.submitted(mid, dest, Owner::Client);
        self.pump(now);
        Ok(mid)
    }

    /// Takes one D_PDU that link `id`'s modem delivered at `now` (good or with damaged data:
    /// the link still uses a sound header). Call for every frame the deframer yields; `wall`
    /// is the wall-clock time if the station has one. A frame the link refuses changes nothing
    /// else and its error is returned. Then poll.
    pub fn handle_input(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        id: LinkId,
        frame: &[u8],
    ) -> Result<(), StationError<L::InputError>> {
        self.tick(now, wall);
        let port = self
            .ports
            .get_mut(usize::from(id.0))
            .ok_or(StationError::NoSuchLink(id))?;
        let result = port.link.handle_input(now, frame);
        self.pump(now);
        result.map_err(StationError::Link)
    }

    /// The instant at which [`Station::handle_timeout`] next has work, over every link and
    /// the node. Call after the polls that follow every other method, and arm one timer for
    /// it; `None` means nothing happens until input arrives. It is at or before the latest
    /// `now` the driver gave only when work is due now (a timer that passed while the driver
    /// was busy, or work [`Station::node_mut`] or [`Station::poll_event`] left), so serving it
    /// at once always makes progress.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.dirty {
            return Some(self.now);
        }
        self.ports
            .iter()
            .filter_map(|p| p.link.poll_timeout())
            .chain(self.node.poll_timeout())
            .min()
    }

    /// Lets every link and the node act on the passage of time. Call when the instant from
    /// [`Station::poll_timeout`] comes; then poll. At an instant before that (a timer that
    /// fired early, or one the driver did not cancel) it does nothing at all: a link or the
    /// node may act on a deadline it keeps internally (the property test found one), so the
    /// station, not each of them, keeps the contract.
    pub fn handle_timeout(&mut self, now: Instant, wall: Option<UnixTime>) {
        if self.poll_timeout().is_none_or(|t| t > now) {
            return;
        }
        self.tick(now, wall);
        self.dirty = false;
        for port in &mut self.ports {
            port.link.handle_timeout(now);
        }
        self.node.handle_timeout(now);
        self.guard.touch();
        self.pump(now);
    }

    /// Writes the next D_PDU link `id` puts on the air into `buf` (at least
    /// [`crate::wire::MAX_DPDU_LEN`] bytes), or `None`. Call for every link after every other
    /// method, until `None`; the frames of one transmission come out back to back at the same
    /// `now`, and the driver keys that link's modem for them in order.
    pub fn poll_transmit(&mut self, now: Instant, id: LinkId, buf: &mut [u8]) -> Option<Transmit> {
        let port = self.ports.get_mut(usize::from(id.0))?;
        let transmit = port.link.poll_transmit(now, buf);
        if transmit.is_none() && self.pump(now) {
            // The burst is planned: what it finished (non-ARQ messages sent their repeats)
            // freed room for the node's next messages, which the links may send at once.
            self.dirty = true;
        }
        transmit
    }

    /// The next thing that happened, or `None`. Call after [`Station::poll_transmit`] until
    /// `None`, then [`Station::poll_timeout`]. A payload it lends is the station's until the
    /// next call.
    pub fn poll_event(&mut self) -> Option<StationEvent<'_>> {
        self.guard.return_lent();
        #[cfg(any(test, feature = "driver-answers"))]
        self.settle_unanswered();
        // Guard reports first: a received message's report comes before its data.
        if let Some(report) = self.guard.lend_next() {
            // A held message may have waited for room to report its decision.
            self.dirty = true;
            return Some(StationEvent::Guard(report));
        }
        let full = self.events.is_full();
        let Some(mut event) = self.events.pop_front() else {
            return self.node.poll_event().map(StationEvent::Node);
        };
        if full {
            // Link reports waited for this room; they move at the next handle_timeout, which
            // poll_timeout now asks for at once.
            self.dirty = true;
        }
        #[cfg(any(test, feature = "driver-answers"))]
        if matches!(event, StationEvent::Received { .. }) {
            self.answers.mark_lent();
        }
        if let StationEvent::Received { payload, .. }
        | StationEvent::Confirmed { echo: payload, .. }
        | StationEvent::NotDelivered { echo: payload, .. } = &mut event
        {
            let len = self.waiting.take().unwrap_or(0);
            *payload = self.updu.get(..len).unwrap_or_default();
            // What waited in the links for the buffer moves at the next handle_timeout, which
            // poll_timeout now asks for at once.
            self.dirty = true;
        }
        Some(event)
    }

    /// Moves U_PDUs between the links and the node until neither has more to give (or a
    /// client payload waits for the driver). Returns whether anything moved.
    fn pump(&mut self, now: Instant) -> bool {
        let mut moved = false;
        loop {
            let mut progress = self.take_link_events(now);
            progress |= self.recheck_held();
            progress |= self.feed_guarded(now);
            progress |= self.feed_links(now);
            if !progress {
                return moved;
            }
            moved = true;
        }
    }

    /// Hands what the links received to the node and settles what they finished. Stops while
    /// the buffer holds a client payload for the driver, or the event queue is full: what
    /// follows waits in the link.
    fn take_link_events(&mut self, now: Instant) -> bool {
        let mut progress = false;
        let Station {
            node,
            sap,
            ports,
            events,
            wall,
            updu,
            waiting,
            stats,
            guard,
            answers,
            ..
        } = self;
        for (index, port) in (0u8..).zip(ports.iter_mut()) {
            let link = LinkId(index);
            // A request the driver has yet to answer holds everything behind it, as a lent
            // payload does.
            while waiting.is_none()
                && !answers.waiting()
                && !events.is_full()
                && guard.has_report_room()
            {
                let Some(event) = port.link.poll_event() else {
                    break;
                };
                progress = true;
                // A U_PDU whose sender asked for client confirmation is answered once it is
                // decided, before anything else moves: a release confirmed, a refusal failed.
                let mut answer = None;
                let report = match event {
                    LinkEvent::Received(r) if r.header.dest_sap == *sap => {
                        stats.received += 1;
                        let heard = Heard::from(r.service);
                        // A malformed message is the node's event; nothing else to do here.
                        let _ = node.handle_message_heard(now, *wall, r.src, heard, r.data);
                        guard.touch();
                        answer = r.confirm.map(|c| (c, Answer::Confirm));
                        None
                    }
                    LinkEvent::Received(r) if guard.guards(r.header.dest_sap) => {
                        stats.foreign += 1;
                        let trust = node.trust();
                        let (src, header) = (r.src, r.header);
                        let data = guard.receive(trust, stats, link, src, header, r.data, *wall);
                        let verdict = match data {
                            Some(_) => Answer::Confirm,
                            None => Answer::Fail(fail::REFUSED),
                        };
                        answer = r.confirm.map(|c| (c, verdict));
                        data.map(|data| {
                            *waiting = Some(lend(updu, data));
                            StationEvent::Received {
                                link,
                                src,
                                header,
                                service: r.service,
                                confirm: r.confirm.is_some(),
                                payload: &[],
                            }
                        })
                    }
                    LinkEvent::Received(r) => {
                        stats.foreign += 1;
                        *waiting = Some(lend(updu, r.data));
                        answer = r.confirm.map(|c| (c, Answer::Confirm));
                        Some(StationEvent::Received {
                            link,
                            src: r.src,
                            header: r.header,
                            service: r.service,
                            confirm: r.confirm.is_some(),
                            payload: &[],
                        })
                    }
                    LinkEvent::Confirmed { from, header, echo } => {
                        *waiting = Some(lend(updu, echo));
                        Some(StationEvent::Confirmed {
                            link,
                            from,
                            header,
                            echo: &[],
                        })
                    }
                    // Only non-ARQ messages are reported sent.
                    LinkEvent::Sent(id) => match port.feed.sent(node, now, id) {
                        Some(Owner::Client) => {
                            guard.settled(link, id);
                            Some(StationEvent::Sent { link, id })
                        }
                        _ => None,
                    },
                    LinkEvent::Delivered(id) => match port.feed.settle(id) {
                        Some((_, Owner::Client)) => {
                            guard.settled(link, id);
                            Some(StationEvent::Delivered { link, id })
                        }
                        _ => None,
                    },
                    LinkEvent::Failed(id, failure) => match port.feed.settle(id) {
                        Some((dest, Owner::Node)) => {
                            stats.expired += 1;
                            Some(StationEvent::Expired { link, dest })
                        }
                        Some((_, Owner::Client)) => {
                            guard.settled(link, id);
                            Some(StationEvent::Failed { link, id, failure })
                        }
                        None => None,
                    },
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
                    LinkEvent::NotDelivered {
                        from,
                        header,
                        reason,
                        echo,
                    } => {
                        *waiting = Some(lend(updu, echo));
                        Some(StationEvent::NotDelivered {
                            link,
                            from,
                            header,
                            reason,
                            echo: &[],
                        })
                    }
                };
                // A confirm the driver gives itself waits for it (answer.rs).
                #[cfg(any(test, feature = "driver-answers"))]
                let answer = answer.and_then(|(r, v)| answers.give_or_keep(link, r, v));
                if let Some((request, verdict)) = answer {
                    port.link.answer(request, verdict);
                }
                if let Some(r) = report {
                    push_event(events, stats, r);
                }
            }
        }
        progress
    }

    /// Gives each link, while it has room, the node's most urgent messages for the neighbours
    /// it reaches. Waits while the buffer holds a client payload for the driver.
    fn feed_links(&mut self, now: Instant) -> bool {
        let mut progress = false;
        let Station {
            node,
            ports,
            events,
            updu,
            waiting,
            stats,
            ..
        } = self;
        for (index, port) in (0u8..).zip(ports.iter_mut()) {
            while waiting.is_none() && port.has_room() {
                let Some(message) = port.feed.poll_send(node, now, &[], updu) else {
                    break;
                };
                progress = true;
                match port.link.submit(now, &message) {
                    Ok(id) => {
                        stats.submitted += 1;
                        port.feed.submitted(id, message.dest, Owner::Node);
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

/// Copies a payload for the driver into the buffer; returns its length there.
fn lend(updu: &mut [u8; MAX_UPDU_LEN], payload: &[u8]) -> usize {
    // A link never delivers more than MAX_UPDU_LEN bytes; were it to, the payload is cut
    // rather than the station stopped.
    let len = payload.len().min(MAX_UPDU_LEN);
    if let (Some(to), Some(from)) = (updu.get_mut(..len), payload.get(..len)) {
        to.copy_from_slice(from);
    }
    len
}

/// Queues a station event, dropping (and counting) the oldest when the queue is full. The
/// oldest is never one waiting for the buffer: while one waits, nothing moves and nothing is
/// queued, and when one is queued the buffer was free, so none waited before it.
fn push_event(events: &mut Deque<Note, STATION_EVENTS>, stats: &mut StationStats, event: Note) {
    if events.is_full() {
        events.pop_front();
        stats.events_dropped += 1;
    }
    let _ = events.push_back(event);
}

#[cfg(test)]
mod tests;
