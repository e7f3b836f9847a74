//! The guard's state and work (the module above has what it does and why).

use heapless::{Deque, Vec};

use super::super::{
    Owner, Station, StationError, StationEvent, StationLink, StationNode, StationStats, push_event,
};
use super::{End, GuardConfig, GuardRefusal, GuardReport, LinkId, Ticket, client_room};
use crate::label::binding::{self, BindingRefusal, Endpoints, ReplayWindow};
use crate::label::compact::{self, MAX_COMPACT_LABEL_LEN};
use crate::link::pdu::ECHO_LEN;
use crate::link::{Message as LinkMessage, MessageId, Mode, SpduHeader};
use crate::policy::{Basis, Decision, Digest, Domain, Trust, UnixTime, Verdict};
use crate::time::Instant;
use crate::wire::Address;

/// A labelled message waiting to go to its link, with up to `BYTES` bytes of data.
#[derive(Clone, Debug)]
struct Held<const BYTES: usize> {
    ticket: Ticket,
    link: LinkId,
    dest: Address,
    header: SpduHeader,
    mode: Mode,
    confirm: bool,
    ttd: Instant,
    label: Vec<u8, MAX_COMPACT_LABEL_LEN>,
    data: Vec<u8, BYTES>,
}

/// A station's guard state (module docs), sized by the station's last four const generics.
/// Off until [`Station::enable_guard`].
pub(in crate::station) struct Guard<
    const HELD_MSGS: usize,
    const HELD_BYTES: usize,
    const REPORTS: usize,
    const ORIGINS: usize,
> {
    config: Option<GuardConfig>,
    /// Guarded SAPs, one bit each.
    saps: [u32; 8],
    held: Vec<Held<HELD_BYTES>, HELD_MSGS>,
    /// Labelled messages handed to a link and not yet settled: one per destination.
    in_link: Vec<(LinkId, MessageId, Address), HELD_MSGS>,
    reports: Deque<GuardReport, REPORTS>,
    /// The front report is lent to the driver: drop it at the next poll.
    lent: bool,
    replay: ReplayWindow<ORIGINS>,
    next_ticket: u32,
    /// The node may have admitted something since held messages were last decided.
    touched: bool,
}

impl<const HELD_MSGS: usize, const HELD_BYTES: usize, const REPORTS: usize, const ORIGINS: usize>
    Guard<HELD_MSGS, HELD_BYTES, REPORTS, ORIGINS>
{
    pub(in crate::station) const fn new() -> Self {
        // A board's sizes, checked when it builds: held data must fit one sealed U_PDU, and
        // with no room for a report nothing labelled would ever move.
        const {
            assert!(HELD_BYTES <= super::MAX_GUARDED_LEN && REPORTS > 0 && HELD_MSGS > 0);
        }
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

    /// The node may have admitted something: decide the held messages again.
    pub(in crate::station) fn touch(&mut self) {
        self.touched = true;
    }

    /// Whether data on `sap` must be labelled.
    pub(in crate::station) fn guards(&self, sap: u8) -> bool {
        let bit = 1u32 << (sap % 32);
        self.saps
            .get(usize::from(sap / 32))
            .is_some_and(|w| w & bit != 0)
    }

    /// Room for a report: while there is none, nothing labelled moves.
    pub(in crate::station) fn has_report_room(&self) -> bool {
        !self.reports.is_full()
    }

    /// A message link `link` settled: the next one to its destination may go.
    pub(in crate::station) fn settled(&mut self, link: LinkId, id: MessageId) {
        self.in_link.retain(|(l, m, _)| (*l, *m) != (link, id));
    }

    /// Drops the report lent at the last poll.
    pub(in crate::station) fn return_lent(&mut self) {
        if core::mem::take(&mut self.lent) {
            self.reports.pop_front();
        }
    }

    /// Lends the oldest report, to poll as a [`StationEvent::Guard`].
    pub(in crate::station) fn lend_next(&mut self) -> Option<&GuardReport> {
        self.lent = !self.reports.is_empty();
        self.reports.front()
    }

    /// Queues a report. Reports wait in their own queue, not among the station's events, so
    /// an event queue that overflows never loses one.
    fn report(&mut self, stats: &mut StationStats, report: GuardReport) {
        if report.released() {
            stats.guard_released += 1;
        } else {
            stats.guard_refused += 1;
        }
        // Room was checked before deciding; were it not, the report would be lost, not us.
        let _ = self.reports.push_back(report);
    }

    /// Checks a labelled U_PDU received on a guarded SAP from `src` on `link` and decides
    /// on it; returns the client's data when released. `updu` is the envelope.
    #[allow(
        clippy::too_many_arguments,
        reason = "the pieces of the station it needs"
    )]
    // Out of line: inlined into `Station::pump` it cost a board more flash (docs/firmware.md,
    // "The guard on the adjunct").
    #[inline(never)]
    pub(in crate::station) fn receive<'u, T: Trust>(
        &mut self,
        trust: &T,
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
            head: Vec::new(),
        };
        // Parsed and digested once, for the report and the check (a binding that does not
        // parse is malformed: the only refusal parsing gives).
        let verified = parsed.ok_or(BindingRefusal::Malformed).and_then(|b| {
            binding::verify_parsed(trust, &mut self.replay, &b, &report.digest.0, &ends, wall)
        });
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
        self.report(stats, report);
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
// Out of line: submitting, re-deciding and feeding each call it, and a copy in each cost a board
// flash (docs/firmware.md, "The guard on the adjunct").
#[inline(never)]
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

    /// Submits a client's labelled data (`message.data`, at most `HELD_BYTES` bytes: on hosts
    /// [`MAX_GUARDED_LEN`](super::MAX_GUARDED_LEN))
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
        let ticket = self.hold_labelled(id, message, label)?;
        self.pump(now);
        Ok(ticket)
    }

    /// [`Self::submit_labelled`]'s checks and first decision: the message held, or why not.
    // Out of line, so its locals (the held copy, the decision, a refusal's report: 2 KB on
    // the adjunct) are gone before `pump` runs, which goes as deep as admission.
    #[inline(never)]
    fn hold_labelled(
        &mut self,
        id: LinkId,
        message: &LinkMessage<'_>,
        label: &[u8],
    ) -> Result<Ticket, StationError<L::InputError>> {
        if self.guard.config.is_none() {
            return Err(StationError::GuardOff);
        }
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
        let held = Held {
            ticket: Ticket(self.guard.next_ticket),
            link: id,
            dest: message.dest,
            header: message.header,
            mode: message.mode,
            confirm: message.confirm,
            ttd: message.ttd,
            label: label_bytes,
            data,
        };
        self.guard.next_ticket = self.guard.next_ticket.wrapping_add(1);
        let (refusal, decision) = decide_send(self.node.trust(), label, message.dest, self.wall);
        if let Some(refusal) = refusal {
            let report = self.sender_report(&held, None, 0, Some(refusal), decision);
            self.guard.report(&mut self.stats, report);
            return Err(StationError::Guard(refusal));
        }
        let ticket = held.ticket;
        // Not full: checked above.
        let _ = self.guard.held.push(held);
        Ok(ticket)
    }

    /// Decides the held messages again after the node may have admitted something, and
    /// reports (and drops) those now refused. Waits while the reports are all taken.
    // Out of line: inlined into `Station::pump` it cost a board more flash (docs/firmware.md,
    // "The guard on the adjunct").
    #[inline(never)]
    pub(in crate::station) fn recheck_held(&mut self) -> bool {
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
            self.guard.report(&mut self.stats, report);
            progress = true;
        }
        self.guard.touched = false;
        progress
    }

    // Out of line, like `decide_send`: four callers.
    #[inline(never)]
    fn sender_report(
        &self,
        held: &Held<HELD_BYTES>,
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
            head: Vec::new(),
        }
    }

    /// Hands held messages to their links (module docs): decided again, sealed, submitted,
    /// reported. Returns whether any moved.
    // Out of line: inlined into `Station::pump` it cost a board more flash (docs/firmware.md,
    // "The guard on the adjunct").
    #[inline(never)]
    pub(in crate::station) fn feed_guarded(&mut self, now: Instant) -> bool {
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
                self.guard.report(&mut self.stats, report);
                continue;
            }
            let (message, seq) = self.seal_and_submit(now, &held);
            let mut report = self.sender_report(&held, message, seq, None, decision);
            if message.is_some() {
                // The sealed U_PDU is still in the buffer: its head is what answers echo.
                let sealed = self.updu.get(..ECHO_LEN).unwrap_or_default();
                report.head = Vec::from_slice(sealed).unwrap_or_default();
            }
            self.guard.report(&mut self.stats, report);
        }
        progress
    }

    /// Seals `held` into the U_PDU buffer and submits it to its link; the link's id (or
    /// `None`, with a [`StationEvent::NotQueued`]) and the sequence number used.
    fn seal_and_submit(
        &mut self,
        now: Instant,
        held: &Held<HELD_BYTES>,
    ) -> (Option<MessageId>, u64) {
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
