//! Store-and-forward of signed artifacts between Skywave nodes.
//!
//! A [`Node`] holds the trust store a node decides with and the [`Storage`] it forwards from,
//! and knows what each neighbour holds. It is sans-IO like the link layer: the driver hands it
//! what arrived on the Skywave SAP ([`Node::handle_message`]), what the operator publishes
//! ([`Node::publish`]) and which neighbours came and went ([`Node::neighbour_up`]), and takes
//! from it the U_PDUs to submit to the link ([`Node::poll_send`]) and what happened
//! ([`Node::poll_event`]). Time comes in as arguments; wall-clock time is optional.
//!
//! This file holds the node's state and its driver-facing calls; each concept behind them has
//! its own file: admission and holding back (admit.rs), neighbours (neighbour.rs), the outbox
//! and what goes next (outbox.rs, with the airtime shares of share.rs), the fan-out rule for
//! shared channels (fanout.rs), the SUMMARY, DETAIL and WANT exchange (inventory.rs) and range
//! reconciliation of large domains (sync.rs).
//!
//! The rules, and why:
//!
//! - **A relay never forwards what it would refuse.** Everything is admitted by this node's own
//!   trust store before it is stored or sent on; a refused artifact goes nowhere.
//! - **Send only what the neighbour lacks.** Neighbours exchange a SUMMARY (per domain: the
//!   revocation sequence, an artifact count and a 4-byte set digest; 41 bytes for three
//!   nations) when a link comes up and then periodically. Where a domain's digests differ, each
//!   side sends a DETAIL of that domain and the other pushes exactly the artifacts missing from
//!   it (skipping those the neighbour holds a newer version of). A domain the neighbour holds
//!   nothing of is pushed whole without the DETAIL round.
//! - **Duplicates are suppressed** by artifact id, version and digest: an artifact already held
//!   is neither stored again nor forwarded again, and whoever sent it is known to hold it.
//! - **Revocations first.** Revocation deltas go expedited at the highest priority; credentials
//!   go before the policies and translators they sign.
//! - **Gaps are pulled.** A revocation delta that skips sequence numbers is refused by the trust
//!   store; the node asks the sender for the missing ones (WANT) and keeps the early delta to
//!   admit once the gap is filled. Artifacts whose signer's credential has not arrived yet are
//!   kept the same way, so reordering on the air costs nothing.
//!
//! - **One transmission for a channel.** Neighbours on one channel (the driver's link, see
//!   [`Node::neighbour_up_on`] and [`crate::station`]) hear the same transmission: what they
//!   all lack goes once as a non-ARQ broadcast with repeats, revocations even to a single
//!   neighbour (no physical link to set up first); on a shared channel what goes to one of
//!   them goes non-ARQ too ([`Fanout`]). Every non-ARQ artifact is followed, once sent, by a
//!   SUMMARY that lets a listener that missed it ask for it: that is its acknowledgement.
//!   docs/node.md gives the measurement behind the rule.
//!
//! Policy deltas are admitted as deltas but stored and forwarded as the full policy they
//! produce (the delta's signature covers that policy), so a neighbour never needs a base it may
//! not have.

mod admit;
mod arena;
mod fanout;
mod inventory;
pub mod message;
mod neighbour;
mod outbox;
mod share;
pub mod storage;
mod sync;

use heapless::Vec;

use crate::policy::{
    Admitted, ArtifactRef, Decision, Domain, Label, MAX_DOMAINS, Refusal, Trust, TrustStore,
    UnixTime,
};
use crate::time::{Duration, Instant};
use crate::wire::Address;

use admit::Pending;
pub use arena::ArenaStorage;
pub use fanout::Fanout;
use message::{Message, MessageError, PrefixRange};
use neighbour::Neighbour;
use outbox::{Outgoing, Payload, priority};
#[cfg(any(feature = "std", test))]
pub use storage::HeapStorage;
pub use storage::{FixedStorage, Storage, StorageError, storage_slots};
pub use sync::{LIST_AT_MOST, MAX_RESUMES, sync_key};

/// Neighbours a node keeps track of (the default of [`Node`]'s `NBRS`).
pub const MAX_NEIGHBOURS: usize = 8;
/// U_PDUs waiting for [`Node::poll_send`] (the default of [`Node`]'s `OUT`).
pub const OUTBOX: usize = 128;
/// Artifacts held back until what they depend on arrives (a signer's credential, a revocation
/// gap); the default of [`Node`]'s `WAIT`.
pub const PENDING: usize = 8;
/// Events waiting for [`Node::poll_event`]; older ones are dropped first when it overflows
/// (the default of [`Node`]'s `EVS`).
pub const EVENTS: usize = 32;
/// Artifacts per neighbour the node remembers it holds (the default of [`Node`]'s `KNOWN`).
pub const MAX_KNOWN: usize = 256;
// Artifacts queued to one neighbour in one step (a SUMMARY, DETAIL or WANT answered) are no
// more than the outbox holds (`OUT`). (Every collection into a fixed-capacity vector here is
// bounded with `take` first: heapless panics when `collect` overflows.) What does not fit goes
// in a later round, when the next SUMMARY finds the difference again.
/// Artifacts one DETAIL lists: as many as fit a U_PDU even with the longest varints.
pub const MAX_DETAIL_ENTRIES: usize = 80;

/// How a message reached this node, as the link reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Heard {
    /// Addressed to this node (ARQ).
    Unicast,
    /// Non-ARQ: a broadcast that every neighbour on the sender's channel may have heard too.
    Broadcast,
}

impl From<crate::link::Service> for Heard {
    /// How a U_PDU the link delivered with `service` was heard: ARQ was addressed to this node,
    /// non-ARQ may have been heard by every neighbour on the sender's channel.
    fn from(service: crate::link::Service) -> Self {
        use crate::link::Service;
        match service {
            Service::NonArq | Service::ExpeditedNonArq => Heard::Broadcast,
            Service::Arq | Service::ExpeditedArq => Heard::Unicast,
        }
    }
}

/// A node's parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Config {
    /// The SAP ID Skywave's messages travel on (both ends).
    pub sap: u8,
    /// How often a SUMMARY goes to each neighbour that is up.
    pub summary_interval: Duration,
    /// How long a revocation delta stays worth sending.
    pub revocation_ttd: Duration,
    /// How long any other artifact or inventory message stays worth sending.
    pub artifact_ttd: Duration,
    /// The fan-out rule for neighbours sharing a channel (it applies only to neighbours made
    /// up with [`Node::neighbour_up_on`]).
    pub fanout: Fanout,
    /// How long after an artifact went out non-ARQ ([`Node::sent_non_arq`]) the SUMMARY
    /// that checks it follows: a later transmission than the broadcast's, so a listener that
    /// was transmitting over it (HF radios cannot hear while they send) hears the check.
    pub check_delay: Duration,
    /// Spreads the periodic SUMMARYs: each comes after `summary_interval` less up to a quarter
    /// of it, drawn from this seed. Give each node its own (its address): nodes that came up
    /// together would otherwise key up together every interval for ever, and on a shared HF
    /// channel, where a radio cannot hear while it transmits, never hear each other's.
    pub jitter_seed: u32,
    /// This node's own address, if the driver gives it: of the neighbours that hear a SUMMARY
    /// broadcast, only the one with the lowest address supplies what its sender lacks.
    pub address: Option<Address>,
    /// Revocation deltas kept per domain for neighbours that are behind: a domain's oldest
    /// delta is forgotten when it has more (its effect stays in the trust store). A neighbour
    /// further behind gets the domain's checkpoint instead, once its root has signed one. This
    /// is each domain's room in storage for revocation history: one partner's long history
    /// cannot push out another's.
    pub revocation_history: u16,
}

impl Config {
    /// Skywave's defaults on `sap`: summaries every 10 minutes, revocations worth sending for
    /// 24 hours and everything else for 6.
    pub const fn new(sap: u8) -> Self {
        Config {
            sap,
            summary_interval: Duration::from_secs(600),
            revocation_ttd: Duration::from_secs(24 * 3600),
            artifact_ttd: Duration::from_secs(6 * 3600),
            fanout: Fanout::DEFAULT,
            check_delay: Duration::from_secs(15),
            jitter_seed: 0,
            address: None,
            revocation_history: 32,
        }
    }
}

/// What [`Node::poll_event`] reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NodeEvent {
    /// An artifact was admitted (from a neighbour, or published here when `from` is `None`).
    Admitted {
        /// What was admitted.
        artifact: ArtifactRef,
        /// Who sent it.
        from: Option<Address>,
    },
    /// An artifact was refused; it is not stored and not forwarded.
    Refused {
        /// Why.
        refusal: Refusal,
        /// Who sent it.
        from: Option<Address>,
    },
    /// A neighbour sent something that is not a node message.
    Malformed {
        /// Who sent it.
        from: Address,
        /// What was wrong.
        error: MessageError,
    },
    /// An admitted artifact could not be kept in storage: it counts for decisions but will not
    /// be forwarded or survive a restart.
    StorageFailed(StorageError),
    /// The outbox was full and a message to this neighbour was not queued; the next SUMMARY
    /// exchange will find the difference again.
    OutboxFull(Address),
}

/// One node's store-and-forward state over storage `S`, deciding with trust store `T`.
///
/// The capacities are const generics with the host's sizes as defaults, so `Node<S>` is the
/// host's node and a small board names smaller ones:
///
/// - `OUT`: U_PDUs queued for [`Node::poll_send`] ([`OUTBOX`]); also the most artifacts queued
///   to one neighbour in one step;
/// - `WAIT`: artifacts held back until what they depend on arrives ([`PENDING`]);
/// - `NBRS`: neighbours tracked ([`MAX_NEIGHBOURS`]);
/// - `KNOWN`: artifacts remembered as held, per neighbour ([`MAX_KNOWN`]);
/// - `EVS`: events waiting for [`Node::poll_event`] ([`EVENTS`]).
#[derive(Clone)]
pub struct Node<
    S: Storage,
    T: Trust = TrustStore,
    const OUT: usize = OUTBOX,
    const WAIT: usize = PENDING,
    const NBRS: usize = MAX_NEIGHBOURS,
    const KNOWN: usize = MAX_KNOWN,
    const EVS: usize = EVENTS,
> {
    config: Config,
    trust: T,
    storage: S,
    neighbours: Vec<Neighbour<KNOWN>, NBRS>,
    outbox: Vec<Outgoing, OUT>,
    pending: Vec<Pending, WAIT>,
    /// Channels with an artifact broadcast handed to the link (`None`) or sent, and when the
    /// SUMMARY that checks it is due.
    checks: Vec<(u8, Option<Instant>), NBRS>,
    /// The summary jitter's generator state.
    jitter: u32,
    /// When this node last asked a neighbour for a domain with its own DETAIL.
    asked: Vec<(Domain, u32, Instant), MAX_DOMAINS>,
    /// Per flow (domain, or the domain-free inventory), the airtime recently used: who yields.
    shares: share::Shares,
    /// Ranges to reconcile again with a neighbour once the outbox has drained (sync.rs).
    resume: Vec<(Address, Domain, PrefixRange), { sync::MAX_RESUMES }>,
    /// When this node last started reconciling a domain with a neighbour (sync.rs).
    /// (By address value: the element type of `asked`, one instance less in the firmware.)
    started: Vec<(Domain, u32, Instant), MAX_DOMAINS>,
    /// When this node last asked for a domain's deltas because a SUMMARY showed it behind
    /// (inventory.rs).
    wanted: Vec<(Domain, Instant), MAX_DOMAINS>,
    events: heapless::Deque<NodeEvent, EVS>,
}

/// Why [`Node::neighbour_up`] could not track a neighbour.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct TooManyNeighbours;

impl<
    S: Storage,
    T: Trust,
    const OUT: usize,
    const WAIT: usize,
    const NBRS: usize,
    const KNOWN: usize,
    const EVS: usize,
> Node<S, T, OUT, WAIT, NBRS, KNOWN, EVS>
{
    /// A node deciding with `trust` (its roots installed) and forwarding from `storage`. What
    /// `storage` already holds is admitted into `trust` again, in order, so a node restarted
    /// from persistent storage is where it was; what no longer admits (revoked since, expired at
    /// `now`) is reported as refused and dropped from storage.
    pub fn new(config: Config, trust: T, storage: S, now: Option<UnixTime>) -> Self {
        let mut node = Self::empty(config, trust, storage);
        node.replay_storage(now);
        node
    }

    /// A node deciding with `trust` and forwarding from `storage`, as they are: nothing in
    /// `storage` is replayed into `trust` ([`Node::new`] does that). `const`, so a board can
    /// make its node a compile-time static and need no stack to build it; its storage starts
    /// empty, so there is nothing to replay.
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub const fn empty(config: Config, trust: T, storage: S) -> Self {
        Node {
            config,
            trust,
            storage,
            neighbours: Vec::new(),
            outbox: Vec::new(),
            pending: Vec::new(),
            checks: Vec::new(),
            jitter: config.jitter_seed ^ 0x9E37_79B9,
            asked: Vec::new(),
            shares: share::Shares::new(),
            resume: Vec::new(),
            started: Vec::new(),
            wanted: Vec::new(),
            events: heapless::Deque::new(),
        }
    }

    /// The trust store this node decides with.
    pub const fn trust(&self) -> &T {
        &self.trust
    }

    /// Removes and returns one conflict the trust store kept as evidence
    /// ([`TrustStore::take_evidence`]). A driver that persists evidence calls it after each
    /// call that may admit artifacts, until it returns `None`, so its domain's slot is free for
    /// the next conflict.
    pub fn take_evidence(&mut self) -> Option<crate::policy::Evidence> {
        self.trust.take_evidence()
    }

    /// The trust store, to install roots into a node made with [`Node::empty`] before it
    /// runs (a board whose node is a static gets its roots this way).
    pub fn trust_mut(&mut self) -> &mut T {
        &mut self.trust
    }

    /// The artifacts this node keeps and forwards.
    pub const fn storage(&self) -> &S {
        &self.storage
    }

    /// Decides a release from what this node holds now (see [`TrustStore::decide`]).
    pub fn decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision {
        self.trust.decide(label, audience, now)
    }

    /// U_PDUs waiting to be sent.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// Admits an artifact made here (by the operator's `publish`) and queues it to every
    /// neighbour. Call when the operator injects an artifact.
    pub fn publish(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal> {
        self.receive_artifact(now, wall, None, None, bytes)
    }

    /// Handles a U_PDU that arrived on the Skywave SAP from `from`. Call for every such U_PDU
    /// the link delivers; `wall` is the wall-clock time if the node has one.
    pub fn handle_message(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Address,
        bytes: &[u8],
    ) -> Result<(), MessageError> {
        self.handle_message_heard(now, wall, from, Heard::Unicast, bytes)
    }

    /// [`Node::handle_message`], saying how the U_PDU came. An artifact heard as a
    /// [`Heard::Broadcast`] is taken as held by every neighbour on the sender's channel, so it
    /// is not sent to them again: the sender follows every broadcast with a SUMMARY, which
    /// catches a listener that missed it.
    // Out of line: each message kind's handling runs in its own frames, not the driver's.
    #[inline(never)]
    pub fn handle_message_heard(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Address,
        heard: Heard,
        bytes: &[u8],
    ) -> Result<(), MessageError> {
        let message = match Message::parse(bytes) {
            Ok(m) => m,
            // Tags from 0x80 up belong to the driver (the host agent's compression); a node
            // that is handed one, like the firmware's, ignores it.
            Err(MessageError::UnknownTag(tag)) if tag >= message::FIRST_DRIVER_TAG => return Ok(()),
            Err(error) => {
                self.event(NodeEvent::Malformed { from, error });
                return Err(error);
            }
        };
        match message {
            Message::Artifact(artifact) => {
                let heard_on = match heard {
                    Heard::Broadcast => self.channel_of(from),
                    Heard::Unicast => None,
                };
                let _ = self.receive_artifact(now, wall, Some(from), heard_on, artifact);
            }
            Message::Summary(view) => {
                // Of the neighbours that heard a SUMMARY broadcast, one supplies what the
                // sender lacks (see `answers`); each asks for what it lacks itself.
                let supplies = heard == Heard::Unicast || self.answers(from);
                self.compare_summary(now, from, view.iter(), supplies, heard == Heard::Broadcast);
            }
            Message::Detail(view) => self.compare_detail(now, from, view),
            Message::Want(want) => self.serve_want(now, from, want),
            Message::Ranges(view) => self.compare_ranges(now, from, view),
        }
        Ok(())
    }

    /// The next time [`Node::handle_timeout`] has work: a periodic SUMMARY or an expiry.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let summaries = self
            .neighbours
            .iter()
            .filter(|n| n.up)
            .map(|n| n.next_summary);
        let checks = self.checks.iter().filter_map(|c| c.1);
        summaries
            .chain(checks)
            .chain(self.outbox.iter().map(|o| o.ttd))
            .min()
    }

    /// Queues due summaries and drops queued messages past their time-to-die. Call when the
    /// time from [`Node::poll_timeout`] has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.outbox.retain(|o| o.ttd > now);
        let next = now + self.next_interval();
        let mut due: Vec<Address, NBRS> = Vec::new();
        for n in self
            .neighbours
            .iter_mut()
            .filter(|n| n.up && n.next_summary <= now)
        {
            n.next_summary = next;
            let _ = due.push(n.address);
        }
        for address in due {
            self.queue(address, Payload::Summary, now);
        }
        let mut due_checks: Vec<u8, NBRS> = Vec::new();
        self.checks.retain(|&(channel, at)| match at {
            Some(at) if at <= now => {
                let _ = due_checks.push(channel);
                false
            }
            _ => true,
        });
        for channel in due_checks {
            let (_, ttd, _) = self.ttd_for(&Payload::Summary, now);
            let check = Outgoing {
                to: Address::BROADCAST,
                channel: Some(channel),
                payload: Payload::Summary,
                priority: priority::CHECK,
                ttd,
                domain: None,
            };
            if !self.outbox.contains(&check) && self.outbox.push(check).is_err() {
                self.event(NodeEvent::OutboxFull(Address::BROADCAST));
            }
        }
    }

    /// The time to the next periodic SUMMARY: the interval less a pseudo-random part of its
    /// last quarter (xorshift over [`Config::jitter_seed`]).
    fn next_interval(&mut self) -> Duration {
        let mut x = self.jitter.max(1);
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.jitter = x;
        let quarter = self.config.summary_interval.millis() / 4;
        let less = u64::from(x) % quarter.max(1);
        Duration::from_millis(self.config.summary_interval.millis() - less)
    }

    /// The next thing that happened. Call after each `handle_*` and `publish` until `None`.
    pub fn poll_event(&mut self) -> Option<NodeEvent> {
        self.events.pop_front()
    }

    fn event(&mut self, event: NodeEvent) {
        if self.events.is_full() {
            self.events.pop_front();
        }
        let _ = self.events.push_back(event);
    }
}

#[cfg(test)]
mod tests;
