//! The guard at both ends of labelled client data (issue 17): what a [`Station`] releases to
//! the air, and what it hands to its client, is decided by the admitted policy of the label's
//! domain, for the domain of the node at the other end.
//!
//! - **Sending.** [`Station::submit_labelled`] takes a client's data with its compact label
//!   ([`crate::label::compact`]). The destination node's domain is the one its node credential
//!   names ([`Scope::NODE`](crate::policy::Scope::NODE)); the guard decides
//!   ([`Trust::guard_decide`]: label validity, release rules, translators, revocations) and
//!   refuses at once, or holds the message. A held message goes to its link when the link has
//!   room and no other labelled message of ours to that node is still unsettled there; it is
//!   decided again then, sealed with the binding ([`crate::label::binding`], the node key and a
//!   per-origin sequence number) and submitted. Held messages are also decided again whenever
//!   the node may have admitted something (a node message, a publish, a timer, the driver
//!   touching the node), so a refusal is reported as soon as a revocation is in, even while
//!   the link is down. One labelled message per destination in a link at a time is what makes
//!   "a revocation stops the very next message" true: what waits in a link can no longer be
//!   called back, what waits here can.
//! - **Receiving.** A U_PDU for a guarded SAP must be a labelled envelope. The binding is
//!   verified (signature by the source node's credentialed key over label, data digest,
//!   addresses and SAPs, sequence number new in the replay window) and the label decided
//!   again with this node's own view, for this node's domain; only then is the data (without
//!   the envelope) reported as [`StationEvent::Received`]. Anything else is refused.
//! - **Every decision is an event.** Release or refusal, at either end, is one
//!   [`StationEvent::Guard`] carrying a [`GuardReport`]: the message (digest, label, ends,
//!   sequence number), the typed [`GuardRefusal`] if refused, and the policy [`Decision`]
//!   with its lineage (policy id and version, translator, revocation sequence numbers). A
//!   driver appends `decision` to its [`crate::policy::DecisionLog`].
//!
//! The envelope on the air, on the client's SAP:
//!
//! ```text
//! 1 byte   binding length n
//! n bytes  the binding (crate::label::binding: label, digest prefix, sequence, signature)
//! ..       the client's data
//! ```
//!
//! Memory is fixed: [`HELD`] messages of up to [`MAX_GUARDED_LEN`] bytes, [`GUARD_REPORTS`]
//! reports waiting for the driver, [`REPLAY_ORIGINS`] origins' replay windows. No allocation,
//! no XML: the compact label is all a board sees.

use heapless::{Deque, Vec};
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};

use super::{LinkId, Port, STATION_EVENTS, StationStats};
use super::{
    Note, Owner, Station, StationError, StationEvent, StationLink, StationNode, push_event,
};
use crate::label::binding::{self, BindingRefusal, Endpoints, MAX_BINDING_LEN, ReplayWindow};
use crate::label::compact::{self, LabelError, MAX_COMPACT_LABEL_LEN};
use crate::link::{MAX_UPDU_LEN, Message as LinkMessage, MessageId, Mode, SpduHeader};
use crate::policy::{
    ArtifactRef, Basis, Decision, DenyReason, Digest, Domain, Trust, UnixTime, Verdict,
};
use crate::time::Instant;
use crate::wire::Address;

/// Labelled messages a station holds before they go to a link.
pub const HELD: usize = 4;
/// Guard reports waiting for [`Station::poll_event`]. While they are all taken, nothing
/// labelled moves (no decision goes unreported).
pub const GUARD_REPORTS: usize = 4;
/// Origins whose sequence numbers a receiving station remembers.
pub const REPLAY_ORIGINS: usize = 16;
/// The most data one labelled message carries: a U_PDU less the envelope.
pub const MAX_GUARDED_LEN: usize = MAX_UPDU_LEN - 1 - MAX_BINDING_LEN;

/// What a station needs to guard: its node address (the binding's source, and whose node
/// credential names its own domain), its node key, and the first sequence number to use.
#[derive(Clone, Debug)]
pub struct GuardConfig {
    /// This node's address, as its node credential names it.
    pub address: Address,
    /// This node's key (the one its node credential certifies).
    pub key: SigningKey,
    /// The next binding sequence number (from 1). A driver persists
    /// [`Station::next_binding_seq`] and gives it back after a restart: receivers refuse a
    /// number they saw.
    pub next_seq: u64,
}

/// The handle [`Station::submit_labelled`] returns; [`GuardReport`]s name messages by it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct Ticket(pub u32);

/// Which end decided.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum End {
    /// The originating station, before the message goes on the air.
    Sender,
    /// The destination station, before the data goes to its client.
    Receiver,
}

/// Why the guard refused a labelled message.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum GuardRefusal {
    /// The policy decision denies release: the decision's own reason (an invalid label, no
    /// rule, a restricted value, an untranslatable one, no usable home policy).
    Denied(DenyReason),
    /// The translator into the audience's policy is revoked (or its signer is). The policy
    /// decision would fall back to the home authority alone; the guard does not, because the
    /// revocation is the label domain saying that mapping must no longer be used, and the
    /// audience could not mark the data in its own terms.
    TranslatorRevoked(ArtifactRef),
    /// No node credential in good standing names the destination node: the domain the
    /// sender decides for is unknown.
    UnknownDestination {
        /// The destination address.
        address: u32,
    },
    /// No node credential in good standing names this station: it has no domain of its own
    /// to decide for.
    UnknownSelf,
    /// The label is not a compact label.
    Label(LabelError),
    /// The envelope or its binding does not verify: malformed, forged, replayed, or the data
    /// changed.
    Binding(BindingRefusal),
}

impl core::fmt::Display for GuardRefusal {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            GuardRefusal::Denied(reason) => write!(f, "denied: {reason:?}"),
            GuardRefusal::TranslatorRevoked(t) => {
                write!(f, "translator {}/{} v{} revoked", t.domain, t.id, t.version)
            }
            GuardRefusal::UnknownDestination { address } => {
                write!(f, "no node credential for destination {address}")
            }
            GuardRefusal::UnknownSelf => f.write_str("no node credential for this node"),
            GuardRefusal::Label(e) => write!(f, "label: {e}"),
            GuardRefusal::Binding(e) => write!(f, "binding: {e}"),
        }
    }
}

/// One guard decision on one labelled message.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GuardReport {
    /// Which end decided.
    pub end: End,
    /// The sender's handle ([`Station::submit_labelled`]); `None` at the receiver.
    pub ticket: Option<Ticket>,
    /// The link it went to or came from.
    pub link: LinkId,
    /// The sender's link id once released and queued (its fate follows as
    /// [`StationEvent::Delivered`], [`StationEvent::Sent`] or [`StationEvent::Failed`]).
    /// `None` when refused, at the receiver, or when the link refused it after release (a
    /// [`StationEvent::NotQueued`] follows).
    pub message: Option<MessageId>,
    /// Source and destination nodes and SAPs.
    pub ends: Endpoints,
    /// The binding's sequence number (0 when there is none: refused before sealing, or a
    /// binding that did not parse).
    pub seq: u64,
    /// SHA-256 of the client's data.
    pub digest: Digest,
    /// The compact label (empty when the envelope held none).
    pub label: Vec<u8, MAX_COMPACT_LABEL_LEN>,
    /// Why it was refused; `None`: released.
    pub refusal: Option<GuardRefusal>,
    /// The policy decision and its lineage; `None` when refused before one could be made
    /// (unknown destination or self, a label or binding that does not verify).
    pub decision: Option<Decision>,
}

impl GuardReport {
    /// Whether the message was released (to the air, or to the client).
    pub const fn released(&self) -> bool {
        self.refusal.is_none()
    }
}

/// What a queued [`StationEvent::Guard`] points at until it is polled: the real report is
/// lent from the guard's queue then.
pub(super) static NO_REPORT: GuardReport = GuardReport {
    end: End::Sender,
    ticket: None,
    link: LinkId(0),
    message: None,
    ends: Endpoints {
        source: 0,
        source_sap: 0,
        destination: 0,
        destination_sap: 0,
    },
    seq: 0,
    digest: Digest([0; 32]),
    label: Vec::new(),
    refusal: None,
    decision: None,
};

/// A labelled message waiting to go to its link.
#[derive(Clone, Debug)]
struct Held {
    ticket: Ticket,
    link: LinkId,
    dest: Address,
    header: SpduHeader,
    mode: Mode,
    confirm: bool,
    ttd: Instant,
    label: Vec<u8, MAX_COMPACT_LABEL_LEN>,
    data: Vec<u8, MAX_GUARDED_LEN>,
}

/// A station's guard state (module docs). Off until [`Station::enable_guard`].
pub(super) struct Guard {
    config: Option<GuardConfig>,
    /// Guarded SAPs, one bit each.
    saps: [u32; 8],
    held: Vec<Held, HELD>,
    /// Labelled messages handed to a link and not yet settled: one per destination.
    in_link: Vec<(LinkId, MessageId, Address), HELD>,
    reports: Deque<GuardReport, GUARD_REPORTS>,
    /// The front report is lent to the driver: drop it at the next poll.
    lent: bool,
    replay: ReplayWindow<REPLAY_ORIGINS>,
    next_ticket: u32,
    /// The node may have admitted something since held messages were last decided.
    pub(super) touched: bool,
}

impl Guard {
    pub(super) const fn new() -> Self {
        Guard {
            config: None,
            saps: [0; 8],
            held: Vec::new(),
            in_link: Vec::new(),
            reports: Deque::new(),
            lent: false,
            replay: ReplayWindow::new(),
            next_ticket: 0,
            touched: false,
        }
    }

    /// Whether data on `sap` must be labelled.
    pub(super) fn guards(&self, sap: u8) -> bool {
        let bit = 1u32 << (sap % 32);
        self.saps
            .get(usize::from(sap / 32))
            .is_some_and(|w| w & bit != 0)
    }

    /// Room for a report: while there is none, nothing labelled moves.
    pub(super) fn has_report_room(&self) -> bool {
        !self.reports.is_full()
    }

    /// A message link `link` settled: the next one to its destination may go.
    pub(super) fn settled(&mut self, link: LinkId, id: MessageId) {
        self.in_link.retain(|(l, m, _)| (*l, *m) != (link, id));
    }

    /// Drops the report lent at the last poll.
    pub(super) fn return_lent(&mut self) {
        if core::mem::take(&mut self.lent) {
            self.reports.pop_front();
        }
    }

    /// Lends the oldest report (the one a polled [`StationEvent::Guard`] stands for).
    pub(super) fn lend(&mut self) -> &GuardReport {
        self.lent = true;
        self.reports.front().unwrap_or(&NO_REPORT)
    }

    fn report(
        &mut self,
        events: &mut Deque<Note, STATION_EVENTS>,
        stats: &mut StationStats,
        report: GuardReport,
    ) {
        if report.released() {
            stats.guard_released += 1;
        } else {
            stats.guard_refused += 1;
        }
        // Room was checked before deciding; were it not, the report would be lost, not us.
        let _ = self.reports.push_back(report);
        push_event(events, stats, StationEvent::Guard(&NO_REPORT));
    }

    /// Checks a labelled U_PDU received on a guarded SAP from `src` on `link` and decides
    /// on it; returns the client's data when released. `updu` is the envelope.
    #[allow(
        clippy::too_many_arguments,
        reason = "the pieces of the station it needs"
    )]
    pub(super) fn receive<'u, T: Trust>(
        &mut self,
        trust: &T,
        events: &mut Deque<Note, STATION_EVENTS>,
        stats: &mut StationStats,
        link: LinkId,
        src: Address,
        header: SpduHeader,
        updu: &'u [u8],
        wall: Option<UnixTime>,
    ) -> Option<&'u [u8]> {
        let address = self.config.as_ref().map_or(0, |c| c.address.value());
        let ends = Endpoints {
            source: src.value(),
            source_sap: header.src_sap,
            destination: address,
            destination_sap: header.dest_sap,
        };
        let (envelope, data) = split_envelope(updu);
        let parsed = envelope.and_then(|b| binding::Binding::parse(b).ok());
        let mut report = GuardReport {
            end: End::Receiver,
            ticket: None,
            link,
            message: None,
            ends,
            seq: parsed.map_or(0, |b| b.seq),
            digest: Digest::of(data),
            label: parsed
                .and_then(|b| Vec::from_slice(b.label).ok())
                .unwrap_or_default(),
            refusal: None,
            decision: None,
        };
        let verified = envelope
            .ok_or(BindingRefusal::Malformed)
            .and_then(|b| binding::verify(trust, &mut self.replay, b, data, &ends, wall));
        match verified {
            Err(refusal) => report.refusal = Some(GuardRefusal::Binding(refusal)),
            Ok(v) => match own_domain(trust, address, wall) {
                None => report.refusal = Some(GuardRefusal::UnknownSelf),
                Some(audience) => {
                    let decision = trust.guard_decide(&compact::as_label(&v.label), audience, wall);
                    report.refusal = refusal_of(&decision);
                    report.decision = Some(decision);
                }
            },
        }
        let released = report.released();
        self.report(events, stats, report);
        released.then_some(data)
    }
}

/// The envelope's binding and the data after it; no binding when the length byte runs past
/// the end.
fn split_envelope(updu: &[u8]) -> (Option<&[u8]>, &[u8]) {
    let Some((&len, rest)) = updu.split_first() else {
        return (None, updu);
    };
    match rest.split_at_checked(usize::from(len)) {
        Some((binding, data)) => (Some(binding), data),
        None => (None, rest),
    }
}

fn own_domain<T: Trust>(trust: &T, address: u32, now: Option<UnixTime>) -> Option<Domain> {
    trust.node_identities(address, now).next().map(|n| n.domain)
}

/// The guard's refusal for a policy decision, if any (see [`GuardRefusal::TranslatorRevoked`]
/// for why a revoked translator refuses).
fn refusal_of(decision: &Decision) -> Option<GuardRefusal> {
    match (decision.verdict, decision.basis) {
        (Verdict::Deny(reason), _) => Some(GuardRefusal::Denied(reason)),
        (Verdict::Release, Basis::HomeOnlyTranslatorRevoked(t)) => {
            Some(GuardRefusal::TranslatorRevoked(t))
        }
        (Verdict::Release, _) => None,
    }
}

/// The sender's decision on `label` for node `dest`: the refusal if any, and the policy
/// decision when one was made.
fn decide_send<T: Trust>(
    trust: &T,
    label: &[u8],
    dest: Address,
    now: Option<UnixTime>,
) -> (Option<GuardRefusal>, Option<Decision>) {
    let Some(audience) = own_domain(trust, dest.value(), now) else {
        let refusal = GuardRefusal::UnknownDestination {
            address: dest.value(),
        };
        return (Some(refusal), None);
    };
    match compact::decode(label) {
        Err(e) => (Some(GuardRefusal::Label(e)), None),
        Ok(record) => {
            let decision = trust.guard_decide(&compact::as_label(&record), audience, now);
            (refusal_of(&decision), Some(decision))
        }
    }
}

impl<N: StationNode, L: StationLink, const LINKS: usize> Station<N, L, LINKS> {
    /// Turns the guard on: labelled messages are sealed with `config`'s key, and data for
    /// the SAPs in `saps` must come labelled (anything else on them is refused). Call before
    /// any labelled traffic; calling again replaces the key and SAPs and keeps the replay
    /// windows.
    pub fn enable_guard(&mut self, config: GuardConfig, saps: &[u8]) {
        self.guard.config = Some(config);
        self.guard.saps = [0; 8];
        for &sap in saps {
            if let Some(word) = self.guard.saps.get_mut(usize::from(sap / 32)) {
                *word |= 1 << (sap % 32);
            }
        }
    }

    /// The next binding sequence number this station will use: persist it, and give it back
    /// in [`GuardConfig::next_seq`] after a restart.
    pub fn next_binding_seq(&self) -> u64 {
        self.guard.config.as_ref().map_or(1, |c| c.next_seq)
    }

    /// Restores an origin's persisted replay state ([`Station::replay_origins`]).
    pub fn restore_replay(&mut self, state: binding::OriginState) -> Result<(), BindingRefusal> {
        self.guard.replay.restore(state)
    }

    /// Every origin's replay state, to persist.
    pub fn replay_origins(&self) -> &[binding::OriginState] {
        self.guard.replay.origins()
    }

    /// Submits a client's labelled data (`message.data`, at most [`MAX_GUARDED_LEN`] bytes)
    /// with its compact `label`, for node `message.dest` on link `id` (module docs). The
    /// guard decides at once: a refusal is returned as [`StationError::Guard`] and reported
    /// as a [`StationEvent::Guard`] to log; a release holds the message, and its final
    /// decision (taken when it goes to the link) comes as a [`StationEvent::Guard`] naming
    /// the returned ticket. Then poll.
    pub fn submit_labelled(
        &mut self,
        now: Instant,
        id: LinkId,
        message: &LinkMessage<'_>,
        label: &[u8],
    ) -> Result<Ticket, StationError<L::InputError>> {
        self.tick(now, None);
        let Some(config) = self.guard.config.as_ref() else {
            return Err(StationError::GuardOff);
        };
        if message.header.dest_sap == self.sap {
            return Err(StationError::NodeSap);
        }
        if message.dest == Address::BROADCAST {
            // A guard decides for one destination's domain; a broadcast has none.
            return Err(StationError::GuardBroadcast);
        }
        if self.ports.get(usize::from(id.0)).is_none() {
            return Err(StationError::NoSuchLink(id));
        }
        let (data, label_bytes) = match (Vec::from_slice(message.data), Vec::from_slice(label)) {
            (Ok(d), Ok(l)) => (d, l),
            _ => return Err(StationError::Submit(crate::link::SubmitError::TooLarge)),
        };
        if self.guard.held.is_full() || !self.guard.has_report_room() {
            return Err(StationError::NoRoom(id));
        }
        let ticket = Ticket(self.guard.next_ticket);
        let ends = Endpoints {
            source: config.address.value(),
            source_sap: message.header.src_sap,
            destination: message.dest.value(),
            destination_sap: message.header.dest_sap,
        };
        let (refusal, decision) = decide_send(self.node.trust(), label, message.dest, self.wall);
        if let Some(refusal) = refusal {
            let report = GuardReport {
                end: End::Sender,
                ticket: Some(ticket),
                link: id,
                message: None,
                ends,
                seq: 0,
                digest: Digest::of(message.data),
                label: label_bytes,
                refusal: Some(refusal),
                decision,
            };
            self.guard.next_ticket = self.guard.next_ticket.wrapping_add(1);
            self.guard.report(&mut self.events, &mut self.stats, report);
            return Err(StationError::Guard(refusal));
        }
        self.guard.next_ticket = self.guard.next_ticket.wrapping_add(1);
        let held = Held {
            ticket,
            link: id,
            dest: message.dest,
            header: message.header,
            mode: message.mode,
            confirm: message.confirm,
            ttd: message.ttd,
            label: label_bytes,
            data,
        };
        // Not full: checked above.
        let _ = self.guard.held.push(held);
        self.pump(now);
        Ok(ticket)
    }

    /// Decides the held messages again after the node may have admitted something, and
    /// reports (and drops) those now refused. Waits while the reports are all taken.
    pub(super) fn recheck_held(&mut self) -> bool {
        if !self.guard.touched || self.guard.held.is_empty() {
            self.guard.touched = false;
            return false;
        }
        let mut progress = false;
        let mut i = 0;
        while let Some(held) = self.guard.held.get(i) {
            if !self.guard.has_report_room() {
                // Decide the rest once the driver has taken a report.
                return progress;
            }
            let (refusal, decision) =
                decide_send(self.node.trust(), &held.label, held.dest, self.wall);
            let Some(refusal) = refusal else {
                i += 1;
                continue;
            };
            let held = self.guard.held.remove(i);
            let report = self.sender_report(&held, None, 0, Some(refusal), decision);
            self.guard.report(&mut self.events, &mut self.stats, report);
            progress = true;
        }
        self.guard.touched = false;
        progress
    }

    fn sender_report(
        &self,
        held: &Held,
        message: Option<MessageId>,
        seq: u64,
        refusal: Option<GuardRefusal>,
        decision: Option<Decision>,
    ) -> GuardReport {
        GuardReport {
            end: End::Sender,
            ticket: Some(held.ticket),
            link: held.link,
            message,
            ends: Endpoints {
                source: self.guard.config.as_ref().map_or(0, |c| c.address.value()),
                source_sap: held.header.src_sap,
                destination: held.dest.value(),
                destination_sap: held.header.dest_sap,
            },
            seq,
            digest: Digest::of(&held.data),
            label: held.label.clone(),
            refusal,
            decision,
        }
    }

    /// Hands held messages to their links (module docs): decided again, sealed, submitted,
    /// reported. Returns whether any moved.
    pub(super) fn feed_guarded(&mut self, now: Instant) -> bool {
        let mut progress = false;
        let mut i = 0;
        while let Some(held) = self.guard.held.get(i) {
            let ready = self.waiting.is_none()
                && self.guard.has_report_room()
                && !self.guard.in_link.is_full()
                && !self.guard.in_link.iter().any(|(_, _, d)| *d == held.dest)
                && self
                    .ports
                    .get(usize::from(held.link.0))
                    .is_some_and(|p| client_room(p, held.dest));
            if !ready {
                i += 1;
                continue;
            }
            progress = true;
            let held = self.guard.held.remove(i);
            let (refusal, decision) =
                decide_send(self.node.trust(), &held.label, held.dest, self.wall);
            if refusal.is_some() {
                let report = self.sender_report(&held, None, 0, refusal, decision);
                self.guard.report(&mut self.events, &mut self.stats, report);
                continue;
            }
            let (message, seq) = self.seal_and_submit(now, &held);
            let report = self.sender_report(&held, message, seq, None, decision);
            self.guard.report(&mut self.events, &mut self.stats, report);
        }
        progress
    }

    /// Seals `held` into the U_PDU buffer and submits it to its link; the link's id (or
    /// `None`, with a [`StationEvent::NotQueued`]) and the sequence number used.
    fn seal_and_submit(&mut self, now: Instant, held: &Held) -> (Option<MessageId>, u64) {
        let Some(config) = self.guard.config.as_mut() else {
            return (None, 0);
        };
        let seq = config.next_seq.max(1);
        let ends = Endpoints {
            source: config.address.value(),
            source_sap: held.header.src_sap,
            destination: held.dest.value(),
            destination_sap: held.header.dest_sap,
        };
        let Some((len_byte, rest)) = self.updu.split_first_mut() else {
            return (None, 0);
        };
        let Ok(len) = binding::seal(&config.key, seq, &held.label, &held.data, &ends, rest) else {
            // The label decoded when it was decided: sealing it cannot fail.
            return (None, 0);
        };
        config.next_seq = seq + 1;
        // MAX_BINDING_LEN is under 256.
        *len_byte = len as u8;
        let total = 1 + len + held.data.len();
        if let Some(to) = self.updu.get_mut(1 + len..total) {
            to.copy_from_slice(&held.data);
        }
        let Some(port) = self.ports.get_mut(usize::from(held.link.0)) else {
            return (None, seq);
        };
        let message = LinkMessage {
            dest: held.dest,
            header: held.header,
            mode: held.mode,
            confirm: held.confirm,
            ttd: held.ttd,
            data: self.updu.get(..total).unwrap_or_default(),
        };
        match port.link.submit(now, &message) {
            Ok(mid) => {
                port.feed.submitted(mid, held.dest, Owner::Client);
                let _ = self.guard.in_link.push((held.link, mid, held.dest));
                (Some(mid), seq)
            }
            Err(error) => {
                let refused = StationEvent::NotQueued {
                    link: held.link,
                    dest: held.dest,
                    error,
                };
                push_event(&mut self.events, &mut self.stats, refused);
                (None, seq)
            }
        }
    }
}

/// Whether a client message to `dest` may go to `port` now: the room rules of
/// [`Station::submit`]. A node the link does not list may still hear it (5066 reaches any
/// node on the channel); only a listed neighbour's share is bounded.
pub(super) fn client_room<L: StationLink>(port: &Port<L>, dest: Address) -> bool {
    port.has_room() && (!port.feed.reaches(dest) || port.feed.accepts(dest, &[]))
}
