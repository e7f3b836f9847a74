//! Store-and-forward of signed artifacts between Skywave nodes.
//!
//! A [`Node`] holds the trust store a node decides with and the [`Storage`] it forwards from,
//! and knows what each neighbour holds. It is sans-IO like the link layer: the driver hands it
//! what arrived on the Skywave SAP ([`Node::handle_message`]), what the operator publishes
//! ([`Node::publish`]) and which neighbours came and went ([`Node::neighbour_up`]), and takes
//! from it the U_PDUs to submit to the link ([`Node::poll_send`]) and what happened
//! ([`Node::poll_event`]). Time comes in as arguments; wall-clock time is optional.
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

mod arena;
pub mod message;
mod share;
pub mod storage;
mod sync;

use heapless::Vec;

use crate::link::{Message as LinkMessage, Mode, SpduHeader};
use crate::policy::{
    Admitted, ArtifactRef, Decision, Digest, Domain, Kind, Label, MAX_ARTIFACT_LEN, MAX_DOMAINS,
    Refusal, Signed, Trust, TrustStore, UnixTime,
};
use crate::time::{Duration, Instant};
use crate::wire::Address;

pub use arena::ArenaStorage;
use message::{
    DetailEntry, DetailView, DomainSummary, Message, MessageError, PrefixRange, ShortDigest, Want,
    Writer,
};
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

/// Priorities on the link, 0..=15, higher first.
mod priority {
    pub const REVOCATION: u8 = 15;
    pub const WANT: u8 = 14;
    pub const INVENTORY: u8 = 12;
    pub const CREDENTIAL: u8 = 10;
    pub const POLICY: u8 = 8;
    /// The SUMMARY that follows a broadcast, after every artifact queued with it.
    pub const CHECK: u8 = 6;
}

/// How an artifact goes to neighbours that share a channel (one transmission reaches them
/// all): the fan-out rule.
///
/// When every neighbour that is up on the channel lacks an artifact, and they are at least
/// `min_lacking` (`revocation_min_lacking` for revocation deltas), the artifact goes once as a
/// non-ARQ broadcast, each segment sent `repeats` times, instead of one ARQ copy per neighbour;
/// otherwise each neighbour that lacks it gets its own ARQ copy. A broadcast is followed by a
/// SUMMARY, broadcast the same way after everything queued with it: a listener that missed
/// something finds the difference and asks for it by DETAIL, and gets it by ARQ. docs/node.md
/// gives the measurement behind the defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fanout {
    /// Lacking neighbours from which a policy, translator or credential is broadcast (0: never).
    pub min_lacking: u8,
    /// Lacking neighbours from which a revocation delta is broadcast (expedited non-ARQ; 0:
    /// never).
    pub revocation_min_lacking: u8,
    /// Transmissions of each segment of a broadcast (at least 1).
    pub repeats: u8,
    /// On a channel with two or more neighbours, send what goes to one of them by ARQ (true)
    /// or non-ARQ with `repeats` (false). Off (ARQ) when broadcasts are off.
    pub arq_when_shared: bool,
}

impl Fanout {
    /// Every artifact by ARQ to each neighbour.
    pub const ARQ_ONLY: Fanout = Fanout {
        min_lacking: 0,
        revocation_min_lacking: 0,
        repeats: 1,
        arq_when_shared: true,
    };

    /// Skywave's rule: broadcast with three repeats what two or more neighbours on a channel
    /// all lack, and every revocation all neighbours on a channel lack, even a single one (a
    /// broadcast needs no physical link, which is what makes a revocation hop fast).
    pub const DEFAULT: Fanout = Fanout {
        min_lacking: 2,
        revocation_min_lacking: 1,
        repeats: 3,
        arq_when_shared: false,
    };

    /// The lacking neighbours from which an artifact of `kind` is broadcast, if ever.
    fn threshold(&self, kind: Option<Kind>) -> Option<usize> {
        let min = match kind {
            Some(Kind::Revocation | Kind::Checkpoint) => self.revocation_min_lacking,
            _ => self.min_lacking,
        };
        (min > 0 && self.repeats > 0).then_some(usize::from(min))
    }
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout::DEFAULT
    }
}

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

/// What a queued U_PDU carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Payload {
    Artifact(Digest),
    Summary,
    /// A DETAIL page of a domain from a digest prefix, ending at `through` at the latest;
    /// `walk` asks the receiver to answer with the next page.
    Detail {
        domain: Domain,
        from: u32,
        through: u32,
        walk: bool,
    },
    /// Fingerprints of a domain's artifacts in `range` split into `parts` (node/sync.rs).
    Ranges {
        domain: Domain,
        range: PrefixRange,
        parts: u8,
    },
    Want(Want),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Outgoing {
    /// A neighbour, or [`Address::BROADCAST`] for everyone on `channel`.
    to: Address,
    /// For a broadcast, the channel it goes on.
    channel: Option<u8>,
    payload: Payload,
    priority: u8,
    ttd: Instant,
    /// The domain it concerns (none for a SUMMARY): the outbox is shared fairly by domain.
    domain: Option<Domain>,
}

#[derive(Clone, Debug)]
struct Neighbour<const KNOWN: usize> {
    address: Address,
    up: bool,
    /// The channel (the station's link) it is reached on, if the driver said.
    channel: Option<u8>,
    next_summary: Instant,
    known: Vec<ShortDigest, KNOWN>,
}

impl<const KNOWN: usize> Neighbour<KNOWN> {
    fn knows(&self, digest: &Digest) -> bool {
        self.known.contains(&ShortDigest::from(digest))
    }

    fn learn(&mut self, digest: ShortDigest) {
        if self.known.contains(&digest) {
            return;
        }
        if self.known.is_full() {
            // Forget the oldest: at worst it is offered once more after the next SUMMARY.
            self.known.remove(0);
        }
        let _ = self.known.push(digest);
    }
}

/// An artifact waiting for what it depends on, with who sent it.
#[derive(Clone, Debug)]
struct Pending {
    from: Option<Address>,
    /// The domain it is filed under: each domain waits in its own share of the places.
    domain: Domain,
    bytes: Vec<u8, MAX_ARTIFACT_LEN>,
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
            events: heapless::Deque::new(),
        }
    }

    fn replay_storage(&mut self, now: Option<UnixTime>) {
        let mut i = 0;
        let mut bytes: Vec<u8, MAX_ARTIFACT_LEN> = Vec::new();
        while let Some((artifact, stored)) = self.storage.get(i) {
            bytes.clear();
            let _ = bytes.extend_from_slice(stored);
            match self.trust.admit(&bytes, now) {
                Ok(_) => i += 1,
                Err(refusal) => {
                    self.event(NodeEvent::Refused {
                        refusal,
                        from: None,
                    });
                    if self.storage.remove(&artifact.digest).is_err() {
                        i += 1;
                    }
                }
            }
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

    /// Records that `address` is reachable and queues a SUMMARY to it. "Up" means worth sending
    /// to, not "a physical link exists now" (the link layer makes those on demand): call it for
    /// configured neighbours at start and whenever a neighbour is heard again after an outage.
    pub fn neighbour_up(
        &mut self,
        now: Instant,
        address: Address,
    ) -> Result<(), TooManyNeighbours> {
        self.neighbour_up_via(now, address, None)
    }

    /// [`Node::neighbour_up`] for a neighbour reached on `channel` (the driver's number for
    /// the link, one HF channel): neighbours on one channel hear the same transmissions, so
    /// the node may send them an artifact as one broadcast ([`Fanout`]) and takes a broadcast
    /// heard from one of them as heard by all. [`crate::station::Station`] calls this.
    pub fn neighbour_up_on(
        &mut self,
        now: Instant,
        address: Address,
        channel: u8,
    ) -> Result<(), TooManyNeighbours> {
        self.neighbour_up_via(now, address, Some(channel))
    }

    fn neighbour_up_via(
        &mut self,
        now: Instant,
        address: Address,
        channel: Option<u8>,
    ) -> Result<(), TooManyNeighbours> {
        let index = match self.neighbours.iter().position(|n| n.address == address) {
            Some(i) => i,
            None => {
                self.neighbours
                    .push(Neighbour {
                        address,
                        up: false,
                        channel,
                        next_summary: now,
                        known: Vec::new(),
                    })
                    .map_err(|_| TooManyNeighbours)?;
                self.neighbours.len() - 1
            }
        };
        if let Some(n) = self.neighbours.get_mut(index) {
            n.up = true;
            n.channel = channel.or(n.channel);
        }
        let next = now + self.next_interval();
        if let Some(n) = self.neighbours.get_mut(index) {
            n.next_summary = next;
        }
        self.queue(address, Payload::Summary, now);
        Ok(())
    }

    /// Records that `address` is out of reach (an outage, radio silence): nothing new is queued
    /// to it and no summaries go to it until it is up again, when the SUMMARY exchange sends it
    /// exactly what it missed. What it is known to hold is kept.
    pub fn neighbour_down(&mut self, address: Address) {
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.address == address) {
            n.up = false;
        }
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
                self.compare_summary(now, from, view.iter(), supplies);
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

    /// Says that a non-ARQ message [`Node::poll_send_on`] gave for `channel` went out (the
    /// link reported it sent, every repeat): after artifacts, the SUMMARY that lets a listener
    /// find what it missed follows after [`Config::check_delay`]. Call for every non-ARQ
    /// message the link reports sent; without it, the periodic SUMMARY is the check.
    pub fn sent_non_arq(&mut self, now: Instant, channel: u8) {
        let at = now + self.config.check_delay;
        if let Some(check) = self
            .checks
            .iter_mut()
            .find(|c| c.0 == channel && c.1.is_none())
        {
            check.1 = Some(at);
        }
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

    /// Writes the most urgent queued U_PDU into `buf` and returns it as a message for
    /// [`crate::link::Link::submit`]. Call while the link has room for more; `buf` should hold
    /// [`crate::link::MAX_UPDU_LEN`] bytes. Messages past their time-to-die are dropped unsent.
    pub fn poll_send<'b>(&mut self, now: Instant, buf: &'b mut [u8]) -> Option<LinkMessage<'b>> {
        self.next_send(now, None, &mut |_| true, buf)
    }

    /// [`Node::poll_send`] for the link that is channel `channel`: the most urgent U_PDU for a
    /// neighbour on it ([`Node::neighbour_up_on`]) that `accept` takes, or a broadcast to the
    /// whole channel ([`Address::BROADCAST`], non-ARQ) when the [`Fanout`] rule says so. Call
    /// while that link has room; `accept` lets the driver hold back what a neighbour's share
    /// of the link cannot take now (it stays queued here, in order).
    pub fn poll_send_on<'b>(
        &mut self,
        now: Instant,
        channel: u8,
        accept: &mut dyn FnMut(Address) -> bool,
        buf: &'b mut [u8],
    ) -> Option<LinkMessage<'b>> {
        self.next_send(now, Some(channel), accept, buf)
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

    /// The channel `address` is reached on.
    fn channel_of(&self, address: Address) -> Option<u8> {
        self.neighbours
            .iter()
            .find(|n| n.address == address)
            .and_then(|n| n.channel)
    }

    /// Whether `out` goes on `channel` (any, when `None`).
    fn goes_on(&self, out: &Outgoing, channel: Option<u8>) -> bool {
        match channel {
            None => true,
            Some(_) if out.to == Address::BROADCAST => out.channel == channel,
            Some(_) => self.channel_of(out.to) == channel,
        }
    }

    /// If the fan-out rule sends `payload` (an artifact or a SUMMARY), just taken out of the
    /// outbox for `first` on `channel`, as one broadcast: takes the other neighbours' copies
    /// out of the outbox. Returns whether it does. A SUMMARY says the same to every neighbour, so
    /// one broadcast replaces the copies (and the physical links each would need).
    fn fan_out(&mut self, channel: u8, first: Address, payload: Payload) -> bool {
        let kind = match payload {
            Payload::Artifact(digest) => self
                .storage
                .position(&digest)
                .and_then(|i| self.storage.get(i))
                .map(|(a, _)| a.kind),
            Payload::Summary => None,
            Payload::Detail { .. } | Payload::Ranges { .. } | Payload::Want(_) => return false,
        };
        let Some(min) = self.config.fanout.threshold(kind) else {
            return false;
        };
        let mut listeners = 0;
        let mut lacking = 0;
        for n in self
            .neighbours
            .iter()
            .filter(|n| n.up && n.channel == Some(channel))
        {
            listeners += 1;
            // A neighbour lacks it while a copy to it is queued (a queued artifact counts as
            // known, so that it is queued once).
            let queued = n.address == first
                || self
                    .outbox
                    .iter()
                    .any(|o| o.to == n.address && o.payload == payload);
            if queued {
                lacking += 1;
            }
        }
        if lacking < min || lacking < listeners {
            return false;
        }
        let on_channel: Vec<Address, NBRS> = self
            .neighbours
            .iter()
            .filter(|n| n.channel == Some(channel))
            .map(|n| n.address)
            .take(NBRS)
            .collect();
        self.outbox
            .retain(|o| !(o.payload == payload && on_channel.contains(&o.to)));
        true
    }

    /// Notes that an artifact went non-ARQ on `channel`: a SUMMARY must follow once it is
    /// sent ([`Node::sent_non_arq`]).
    fn expect_check(&mut self, channel: u8) {
        if !self.checks.contains(&(channel, None)) {
            // A check armed for earlier messages gives way to this one's, armed when it is
            // sent, which covers them all.
            self.checks.retain(|c| c.0 != channel);
            let _ = self.checks.push((channel, None));
        }
    }

    /// Whether this node supplies what the sender of a SUMMARY broadcast lacks: every
    /// listener on that channel would send the same DETAIL (or push the same artifacts), so
    /// only the one with the lowest address does. Without [`Config::address`], or with `from`
    /// on no known channel, it always does. If the one that should missed the broadcast, the
    /// next periodic SUMMARY (from either side) finds the difference again.
    fn answers(&self, from: Address) -> bool {
        let (Some(me), Some(channel)) = (self.config.address, self.channel_of(from)) else {
            return true;
        };
        !self.neighbours.iter().any(|n| {
            n.up && n.channel == Some(channel)
                && n.address != from
                && n.address.value() < me.value()
        })
    }

    /// How many neighbours are up on `channel`.
    fn listeners(&self, channel: u8) -> usize {
        self.neighbours
            .iter()
            .filter(|n| n.up && n.channel == Some(channel))
            .count()
    }

    fn next_send<'b>(
        &mut self,
        now: Instant,
        channel: Option<u8>,
        accept: &mut dyn FnMut(Address) -> bool,
        buf: &'b mut [u8],
    ) -> Option<LinkMessage<'b>> {
        self.resume_sync(now);
        loop {
            let mut eligible = |o: &Outgoing| self.goes_on(o, channel) && accept(o.to);
            let mut waiting: Vec<Option<Domain>, { MAX_DOMAINS + 1 }> = Vec::new();
            for o in self.outbox.iter().filter(|o| eligible(o)) {
                if !waiting.contains(&o.domain) {
                    let _ = waiting.push(o.domain);
                }
            }
            // Judged once per flow, not once per queued message.
            let over: Vec<Option<Domain>, { MAX_DOMAINS + 1 }> = waiting
                .iter()
                .copied()
                .filter(|&f| self.shares.over_share(f, &waiting))
                .collect();
            let index = self
                .outbox
                .iter()
                .enumerate()
                .filter(|(_, o)| eligible(o))
                // A flow over its airtime share yields to the others whatever its priority
                // (share.rs: a partner's flood of valid revocations must not hold back other
                // partners' artifacts or the inventory rounds that repair losses); then the
                // highest priority; among equals, the flow served longest ago, then the oldest.
                .max_by_key(|(i, o)| {
                    (
                        !over.contains(&o.domain),
                        o.priority,
                        core::cmp::Reverse(self.shares.last_served(o.domain)),
                        core::cmp::Reverse(*i),
                    )
                })
                .map(|(i, _)| i)?;
            let mut out = self.outbox.remove(index);
            if out.ttd <= now {
                continue;
            }
            if let Some(c) = channel
                && out.to != Address::BROADCAST
                && self.fan_out(c, out.to, out.payload)
            {
                out.to = Address::BROADCAST;
            }
            let Some(len) = self.write_payload(&out.payload, buf) else {
                continue;
            };
            self.shares.record(out.domain, len);
            if let (Payload::Artifact(_), Some(domain)) = (out.payload, out.domain)
                && out.priority == priority::REVOCATION
            {
                // A delta kept past the history while it was queued goes once it is sent. The
                // message is already in `buf`; storage is not what it borrows.
                let history = usize::from(self.config.revocation_history);
                let _ = self.forget_old_deltas(domain, history);
            }
            let repeats = self.config.fanout.repeats.max(1);
            // To one neighbour on a shared channel, non-ARQ unless the rule says ARQ there:
            // ARQ needs a CAS-1 physical link, one at a time, which neighbours contend for.
            let unicast_non_arq = !self.config.fanout.arq_when_shared
                && self.config.fanout.threshold(None).is_some()
                && channel.is_some_and(|c| self.listeners(c) >= 2);
            let non_arq = out.to == Address::BROADCAST || unicast_non_arq;
            let mode = match (non_arq, out.priority) {
                (true, priority::REVOCATION) => Mode::ExpeditedNonArq { repeats },
                (true, _) => Mode::NonArq { repeats },
                (false, priority::REVOCATION) => Mode::ExpeditedArq,
                (false, _) => Mode::Arq { in_order: false },
            };
            if non_arq
                && matches!(out.payload, Payload::Artifact(_))
                && let Some(c) = channel
            {
                self.expect_check(c);
            }
            return Some(LinkMessage {
                dest: out.to,
                header: SpduHeader {
                    priority: out.priority,
                    src_sap: self.config.sap,
                    dest_sap: self.config.sap,
                },
                mode,
                confirm: false,
                ttd: out.ttd,
                data: buf.get(..len).unwrap_or_default(),
            });
        }
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

    fn write_payload(&self, payload: &Payload, buf: &mut [u8]) -> Option<usize> {
        match payload {
            Payload::Artifact(digest) => {
                let index = self.storage.position(digest)?;
                let (_, bytes) = self.storage.get(index)?;
                Writer::artifact(buf, bytes).ok()
            }
            Payload::Summary => {
                let lines = self.summary();
                Writer::summary(buf, lines.iter().copied()).ok()
            }
            Payload::Detail {
                domain,
                from,
                through,
                walk,
            } => {
                // Everything held, withdrawn included, so a neighbour that has not yet heard of
                // the revocation does not send it back.
                let held = self
                    .held()
                    .filter(|a| a.domain == *domain)
                    .map(|a| DetailEntry {
                        kind: a.kind as u8,
                        id: a.id,
                        version: a.version,
                        digest: ShortDigest::from(&a.digest),
                    });
                let (entries, range) = sync::page(held, *from, *through);
                Writer::detail(buf, *domain, range, *walk, entries.iter().copied()).ok()
            }
            Payload::Ranges {
                domain,
                range,
                parts,
            } => {
                let parts = self.fingerprints(*domain, *range, usize::from(*parts));
                Writer::ranges(buf, *domain, *range, &parts).ok()
            }
            Payload::Want(want) => Writer::want(buf, want).ok(),
        }
    }

    /// What this node holds and stands behind: everything stored except what has been revoked
    /// since it was admitted. That stays in storage (a restarted node's decisions must still
    /// name the revoked translator in their lineage) but is neither offered nor counted in
    /// summaries: offered, it would go every inventory round to neighbours that refuse it.
    fn stored(&self) -> impl Iterator<Item = ArtifactRef> + '_ {
        self.held().filter(|a| !self.trust.is_withdrawn(a))
    }

    /// Everything in storage, withdrawn or not.
    fn held(&self) -> impl Iterator<Item = ArtifactRef> + '_ {
        (0..self.storage.len()).filter_map(|i| self.storage.get(i).map(|(a, _)| a))
    }

    /// This node's SUMMARY lines: every domain with a root, and any other domain it stores.
    fn summary(&self) -> Vec<DomainSummary, MAX_DOMAINS> {
        let mut lines: Vec<DomainSummary, MAX_DOMAINS> = self
            .trust
            .revocation_seqs()
            .map(|(domain, revocation_seq)| DomainSummary {
                domain,
                revocation_seq,
                items: 0,
                set_digest: [0; 4],
            })
            .take(MAX_DOMAINS)
            .collect();
        for artifact in self.stored() {
            let line = match lines.iter().position(|l| l.domain == artifact.domain) {
                Some(i) => lines.get_mut(i),
                None => {
                    let _ = lines.push(DomainSummary {
                        domain: artifact.domain,
                        revocation_seq: 0,
                        items: 0,
                        set_digest: [0; 4],
                    });
                    lines.last_mut()
                }
            };
            if let Some(line) = line {
                line.items = line.items.saturating_add(1);
                for (d, s) in line.set_digest.iter_mut().zip(artifact.digest.0) {
                    *d ^= s;
                }
            }
        }
        lines
    }

    /// The priority, time-to-die and domain of `payload` queued now.
    fn ttd_for(&self, payload: &Payload, now: Instant) -> (u8, Instant, Option<Domain>) {
        let stored = match payload {
            Payload::Artifact(digest) => self
                .storage
                .position(digest)
                .and_then(|i| self.storage.get(i))
                .map(|(a, _)| a),
            _ => None,
        };
        let kind = stored.map(|a| a.kind);
        let domain = match payload {
            Payload::Artifact(_) => stored.map(|a| a.domain),
            Payload::Detail { domain, .. } | Payload::Ranges { domain, .. } => Some(*domain),
            Payload::Want(w) => Some(w.domain),
            Payload::Summary => None,
        };
        let prio = match (payload, kind) {
            (Payload::Want(_), _) => priority::WANT,
            (Payload::Summary | Payload::Detail { .. } | Payload::Ranges { .. }, _) => {
                priority::INVENTORY
            }
            (_, Some(Kind::Revocation | Kind::Checkpoint)) => priority::REVOCATION,
            (_, Some(Kind::Credential)) => priority::CREDENTIAL,
            _ => priority::POLICY,
        };
        let ttd = if prio == priority::REVOCATION {
            self.config.revocation_ttd
        } else {
            self.config.artifact_ttd
        };
        (prio, now + ttd, domain)
    }

    /// Queues `payload` to `to`, unless the same is already queued.
    fn queue(&mut self, to: Address, payload: Payload, now: Instant) {
        if self
            .outbox
            .iter()
            .any(|o| o.to == to && o.payload == payload)
        {
            return;
        }
        let (priority, ttd, domain) = self.ttd_for(&payload, now);
        if self.outbox.is_full() && !self.make_outbox_room(domain) {
            // The next SUMMARY round finds what did not fit.
            self.event(NodeEvent::OutboxFull(to));
            return;
        }
        if let Payload::Artifact(digest) = payload
            && let Some(n) = self.neighbours.iter_mut().find(|n| n.address == to)
        {
            // Counted as held once queued: if the send fails, the next SUMMARY round finds it.
            n.learn(ShortDigest::from(&digest));
        }
        let out = Outgoing {
            to,
            channel: None,
            payload,
            priority,
            ttd,
            domain,
        };
        if self.outbox.push(out).is_err() {
            self.event(NodeEvent::OutboxFull(to));
        }
    }

    /// Makes a place in the full outbox for a message of `domain`: while the outbox has room
    /// any domain may use it, but when it is full each domain with a root is owed an equal
    /// share of it for artifacts. A domain below its share takes the newest artifact place of
    /// a domain over its share (that artifact is found again by the next SUMMARY round); one at
    /// its share, or a message of no domain, finds no place. So one partner's flood never
    /// crowds out another's next artifact.
    fn make_outbox_room(&mut self, domain: Option<Domain>) -> bool {
        let Some(domain) = domain else {
            return false;
        };
        let share = OUT / self.trust.revocation_seqs().count().max(1);
        let queued = |d: Domain, outbox: &[Outgoing]| {
            outbox
                .iter()
                .filter(|o| o.domain == Some(d) && matches!(o.payload, Payload::Artifact(_)))
                .count()
        };
        if queued(domain, &self.outbox) >= share {
            return false;
        }
        let over = self.outbox.iter().rposition(|o| {
            matches!(o.payload, Payload::Artifact(_))
                && o.domain.is_some_and(|d| queued(d, &self.outbox) > share)
        });
        match over {
            Some(i) => {
                self.outbox.remove(i);
                true
            }
            None => false,
        }
    }

    fn receive_artifact(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Option<Address>,
        heard_on: Option<u8>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal> {
        let result = self.admit_and_keep(now, wall, from, heard_on, bytes);
        match result {
            Ok(admitted) if !admitted.duplicate => self.retry_pending(now, wall),
            Ok(_) => {}
            Err(refusal) => {
                self.event(NodeEvent::Refused { refusal, from });
                if waits_for_another_artifact(&refusal) {
                    self.hold(from, bytes);
                }
                if let (
                    Some(from),
                    Refusal::RevocationGap {
                        domain,
                        first_missing,
                        last_missing,
                    },
                ) = (from, refusal)
                {
                    let want = Want {
                        domain,
                        first_seq: first_missing,
                        last_seq: last_missing,
                    };
                    self.queue(from, Payload::Want(want), now);
                }
            }
        }
        result
    }

    /// Admits, stores and fans out one artifact, reporting it if admitted. Refusals are left
    /// to the caller to report. `heard_on` is the channel a broadcast of it was heard on:
    /// every neighbour there heard it too.
    fn admit_and_keep(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Option<Address>,
        heard_on: Option<u8>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal> {
        let admitted = self.trust.admit(bytes, wall)?;
        let artifact = admitted.artifact;
        let short = ShortDigest::from(&artifact.digest);
        for n in self
            .neighbours
            .iter_mut()
            .filter(|n| Some(n.address) == from || (heard_on.is_some() && n.channel == heard_on))
        {
            n.learn(short);
        }
        if admitted.duplicate {
            return Ok(admitted);
        }
        if let Err(e) = self.keep(&artifact, bytes) {
            self.event(NodeEvent::StorageFailed(e));
        }
        self.event(NodeEvent::Admitted { artifact, from });
        let lacking: Vec<Address, NBRS> = self
            .neighbours
            .iter()
            .filter(|n| n.up && Some(n.address) != from && !n.knows(&artifact.digest))
            .map(|n| n.address)
            .take(NBRS)
            .collect();
        for to in lacking {
            self.queue(to, Payload::Artifact(artifact.digest), now);
        }
        Ok(admitted)
    }

    /// Stores an admitted artifact, replacing older versions of it. A policy delta is stored as
    /// the policy it produced, which the trust store holds under `artifact.digest`.
    fn keep(&mut self, artifact: &ArtifactRef, received: &[u8]) -> Result<(), StorageError> {
        let produced = (Digest::of(received) != artifact.digest)
            .then(|| {
                self.trust
                    .artifacts()
                    .find(|held| Digest::of(held) == artifact.digest)
            })
            .flatten();
        let mut bytes: Vec<u8, MAX_ARTIFACT_LEN> = Vec::new();
        bytes
            .extend_from_slice(produced.unwrap_or(received))
            .map_err(|_| StorageError::Full)?;
        // What the new artifact makes obsolete: older versions of a policy or translator, and
        // for a checkpoint the domain's deltas and checkpoints up to it (memory follows the
        // revocations in force, not their history).
        let obsolete = |a: &ArtifactRef| {
            a.domain == artifact.domain
                && match artifact.kind {
                    Kind::Policy | Kind::Translator => {
                        a.kind == artifact.kind
                            && a.id == artifact.id
                            && a.version < artifact.version
                    }
                    Kind::Checkpoint => {
                        matches!(a.kind, Kind::Revocation | Kind::Checkpoint) && a.id <= artifact.id
                    }
                    _ => false,
                }
        };
        loop {
            let digest = self.held().find(|a| obsolete(a)).map(|a| a.digest);
            match digest {
                Some(digest) => self.storage.remove(&digest)?,
                None => break,
            }
        }
        if artifact.kind == Kind::Revocation {
            let room = usize::from(self.config.revocation_history).saturating_sub(1);
            self.forget_old_deltas(artifact.domain, room)?;
        }
        self.storage.insert(artifact, &bytes)
    }

    /// Keeps at most `keep` deltas of `domain` (within [`Config::revocation_history`]),
    /// forgetting the oldest that is not still queued for a neighbour; those queued are
    /// forgotten once sent. (A burst of more deltas than the history, published or received
    /// faster than the link drains them, used to forget the first before it was ever sent:
    /// every neighbour then held the rest behind a gap nobody could fill, and the nodes never
    /// converged.)
    fn forget_old_deltas(&mut self, domain: Domain, keep: usize) -> Result<(), StorageError> {
        let deltas = |a: &ArtifactRef| a.kind == Kind::Revocation && a.domain == domain;
        let queued = |digest: &Digest| {
            self.outbox
                .iter()
                .any(|o| matches!(o.payload, Payload::Artifact(d) if d == *digest))
        };
        while self.held().filter(deltas).count() > keep {
            let oldest = self
                .held()
                .filter(deltas)
                .filter(|a| !queued(&a.digest))
                .min_by_key(|a| a.id)
                .map(|a| a.digest);
            match oldest {
                Some(digest) => self.storage.remove(&digest)?,
                None => break,
            }
        }
        Ok(())
    }

    /// Holds `bytes` back until what it depends on arrives. While there are free places any
    /// domain may use them; when the table is full, each domain with a root is owed an equal
    /// share: a domain at its share gives up its own oldest, one below it takes the oldest
    /// place of a domain over its share. So a partner's junk never evicts another partner's
    /// held revocation.
    fn hold(&mut self, from: Option<Address>, bytes: &[u8]) {
        if self.pending.iter().any(|p| p.bytes.as_slice() == bytes) {
            return;
        }
        let Ok(signed) = Signed::decode(bytes) else {
            return;
        };
        let domain = signed.artifact.domain();
        let Ok(bytes) = Vec::from_slice(bytes) else {
            return;
        };
        let share = (WAIT / self.trust.revocation_seqs().count().max(1)).max(1);
        let held_by =
            |d: Domain, pending: &[Pending]| pending.iter().filter(|p| p.domain == d).count();
        let evict = if !self.pending.is_full() {
            None
        } else if held_by(domain, &self.pending) >= share {
            Some(domain)
        } else {
            self.pending
                .iter()
                .map(|p| p.domain)
                .find(|&d| held_by(d, &self.pending) > share)
        };
        if let Some(d) = evict
            && let Some(oldest) = self.pending.iter().position(|p| p.domain == d)
        {
            self.pending.remove(oldest);
        }
        let _ = self.pending.push(Pending {
            from,
            domain,
            bytes,
        });
    }

    /// Offers every held-back artifact again, for as long as that admits more of them. Those
    /// still missing a dependency stay quietly; those now refused for good are reported.
    fn retry_pending(&mut self, now: Instant, wall: Option<UnixTime>) {
        let mut progress = true;
        while progress {
            progress = false;
            let mut i = 0;
            while let Some(p) = self.pending.get(i) {
                let (from, bytes) = (p.from, p.bytes.clone());
                match self.admit_and_keep(now, wall, from, None, &bytes) {
                    Err(refusal) if waits_for_another_artifact(&refusal) => i += 1,
                    outcome => {
                        self.pending.remove(i);
                        match outcome {
                            Ok(_) => progress = true,
                            Err(refusal) => self.event(NodeEvent::Refused { refusal, from }),
                        }
                    }
                }
            }
        }
    }

    /// Answers a neighbour's SUMMARY: for each domain that differs, a DETAIL (so it pushes
    /// what we lack, and we push what it lacks once its DETAIL comes back); a domain it holds
    /// nothing of is pushed whole. When `supplies` is false (another listener of the same
    /// broadcast supplies it), only domains where it may hold what we lack are answered.
    fn compare_summary(
        &mut self,
        now: Instant,
        from: Address,
        theirs: impl Iterator<Item = DomainSummary>,
        supplies: bool,
    ) {
        let theirs: Vec<DomainSummary, MAX_DOMAINS> = theirs.take(MAX_DOMAINS).collect();
        for mine in self.summary() {
            let their_line = theirs.iter().find(|t| t.domain == mine.domain);
            match their_line {
                Some(t) if t.items == mine.items && t.set_digest == mine.set_digest => {}
                // They hold fewer, or as many but fewer revocations: they are behind, and
                // another listener supplies them.
                Some(t)
                    if !supplies
                        && t.items > 0
                        && (t.items < mine.items
                            || (t.items == mine.items
                                && t.revocation_seq < mine.revocation_seq)) => {}
                // Already reconciling with them (pushes queued, a range to resume): that goes on.
                _ if self.syncing(from, mine.domain) => {}
                Some(t) if t.items > 0 => self.start_sync(now, from, mine.domain, mine.items),
                _ if !supplies => {}
                // They hold nothing of this domain: push it all (as much as the outbox takes
                // now, the rest once it has drained), no reconciliation needed.
                _ => {
                    if let Some(cut) =
                        self.push_lacking(now, from, mine.domain, PrefixRange::ALL, &[])
                    {
                        let rest = PrefixRange {
                            from: cut,
                            through: u32::MAX,
                        };
                        self.resume_later(from, mine.domain, rest);
                    }
                }
            }
        }
    }

    /// Answers a neighbour's DETAIL page: pushes what it lacks in the page's range, asks for
    /// what we lack there, and, on a walk, sends our page of the next range.
    fn compare_detail(&mut self, now: Instant, from: Address, view: DetailView<'_>) {
        let (domain, range) = (view.domain, view.range);
        let theirs: Vec<DetailEntry, MAX_DETAIL_ENTRIES> =
            view.iter().take(MAX_DETAIL_ENTRIES).collect();
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.address == from) {
            for e in &theirs {
                n.learn(e.digest);
            }
        }
        // The walk goes on before the pushes take the outbox: a full outbox drops what comes
        // after, and a dropped page would end the walk until the next SUMMARY.
        if view.walk && range.through < u32::MAX {
            let next = Payload::Detail {
                domain,
                from: range.through.saturating_add(1),
                through: u32::MAX,
                walk: true,
            };
            self.queue(from, next, now);
        }
        // What does not fit the outbox now goes once it has drained (sync.rs).
        if let Some(cut) = self.push_lacking(now, from, domain, range, &theirs) {
            let rest = PrefixRange {
                from: cut,
                through: range.through,
            };
            self.resume_later(from, domain, rest);
        }
        // They hold what we lack: ask them with our own DETAIL. This is how a node that was
        // away catches up when its neighbours do not know it was (its SUMMARY on return made
        // them send their DETAIL). One ask per domain per `2 x check_delay`, so the DETAILs of
        // several neighbours on one channel do not each bring the same artifacts.
        let we_lack = theirs.iter().any(|e| {
            !self.held().any(|a| {
                a.domain == domain
                    && (ShortDigest::from(&a.digest) == e.digest
                        || (a.kind != Kind::Credential
                            && a.kind as u8 == e.kind
                            && a.id == e.id
                            && a.version >= e.version))
            })
        });
        let quiet = Duration::from_millis(2 * self.config.check_delay.millis());
        let asked_lately = self
            .asked
            .iter()
            .any(|&(d, f, at)| d == domain && f == range.from && at + quiet > now);
        if we_lack && !asked_lately {
            self.ask(now, from, domain, range, false);
        }
    }

    /// Sends `to` our DETAIL page of `domain` over `range` (so it pushes what we lack there),
    /// noting when; `walk` asks it to go on with the next page.
    fn ask(&mut self, now: Instant, to: Address, domain: Domain, range: PrefixRange, walk: bool) {
        let from = range.from;
        self.asked.retain(|&(d, f, _)| d != domain || f != from);
        if self.asked.is_full() {
            self.asked.remove(0);
        }
        let _ = self.asked.push((domain, from, now));
        let detail = Payload::Detail {
            domain,
            from,
            through: range.through,
            walk,
        };
        self.queue(to, detail, now);
    }

    /// Answers a WANT with the deltas asked for; those forgotten since a checkpoint are
    /// answered by the checkpoint itself, which stands for them.
    fn serve_want(&mut self, now: Instant, from: Address, want: Want) {
        let deltas: Vec<Digest, OUT> = self
            .stored()
            .filter(|a| {
                a.domain == want.domain
                    && match a.kind {
                        Kind::Revocation => (want.first_seq..=want.last_seq).contains(&a.id),
                        Kind::Checkpoint => a.id >= want.first_seq,
                        _ => false,
                    }
            })
            .map(|a| a.digest)
            .take(OUT)
            .collect();
        for digest in deltas {
            self.queue(from, Payload::Artifact(digest), now);
        }
    }
}

/// Whether an artifact refused for this reason may be admitted once another artifact arrives:
/// the credential of its signer (for a translator, in its second domain too), or the
/// revocation deltas before it.
fn waits_for_another_artifact(refusal: &Refusal) -> bool {
    matches!(
        refusal,
        Refusal::RevocationGap { .. }
            | Refusal::UnknownSigner(_)
            | Refusal::ChainBroken { .. }
            | Refusal::TranslatorNotInBothDomains { .. }
    )
}

#[cfg(test)]
mod tests;
