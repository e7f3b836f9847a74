//! SIS clients on guarded SAPs (`[[guard.sap]]`): their data goes through the guard
//! ([`Station::submit_labelled`](skywave_protocol::station::Station::submit_labelled)) with the
//! SAP's default label or the label of the client's envelope, and every way the guard or the
//! link refuses it becomes an S_UNIDATA_REQUEST_REJECTED with a reason: never silence.
//!
//! The order of answers: a request the guard refuses at once, or whose envelope does not read,
//! is rejected at once; one the guard holds is answered when its final decision is reported
//! (released: it is tracked like any other client message, whose delivery or failure answers
//! it; refused, after a revocation admitted while it was held: rejected then). On the receiving
//! side a client on an envelope SAP is handed an envelope with the compact label the data was
//! released under, so it can show the marking; a client on a default-label SAP gets the data
//! alone, as it sent it. Annex A has no reason code for a security refusal: its 0 ("unknown",
//! always valid) is used, and the guard's own reason goes to the agent's log and decision
//! log. docs/sis.md has the mapping.

use std::collections::{BTreeMap, HashMap};

use skywave_protocol::link::Message as LinkMessage;
use skywave_protocol::policy::Digest;
use skywave_protocol::sis::rejected;
use skywave_protocol::station::{
    End, GuardRefusal, GuardReport, LinkId, MAX_GUARDED_LEN, StationError, Ticket,
};
use skywave_protocol::time::Instant;

use super::{AgentStation, Sis};
use crate::agent::sap_label::{self, SapRule};
use crate::sis::server::Submission;

/// The guarded SAPs' rules and the client messages the guard holds.
#[derive(Default)]
pub(super) struct Guarded {
    rules: BTreeMap<u8, SapRule>,
    /// Messages the guard holds, by ticket: the link they wait for and the request to answer.
    held: HashMap<Ticket, Submission>,
    /// The digest and compact label of the last message the receiving guard released: its
    /// data is the next [`StationEvent::Received`](skywave_protocol::station::StationEvent)
    /// on a guarded SAP (the station reports a release before the data).
    released: Option<(Digest, Vec<u8>)>,
}

/// The SIS reason for a guard refusal (docs/sis.md, "Labelled clients").
pub fn sis_reason(refusal: &GuardRefusal) -> u8 {
    match refusal {
        // Annex A's reasons are about delivery; none says "not releasable". 0 is "unknown",
        // which every client takes; the log says which refusal it was.
        GuardRefusal::Denied(_)
        | GuardRefusal::TranslatorRevoked(_)
        | GuardRefusal::UnknownDestination { .. }
        | GuardRefusal::UnknownSelf
        | GuardRefusal::Label(_)
        | GuardRefusal::Binding(_) => rejected::UNKNOWN,
    }
}

/// What a client on a guarded SAP is handed for received data.
pub(super) enum Handed {
    /// The data as it came (not a guarded SAP, or a default-label one).
    Plain,
    /// An envelope: the label, then the data.
    Enveloped(Vec<u8>),
    /// Nothing: no released label matches the data (which the station never does).
    Withheld,
}

impl Guarded {
    /// The rules of `rules`' SAPs.
    pub(super) fn new(rules: Vec<(u8, SapRule)>) -> Self {
        Guarded {
            rules: rules.into_iter().collect(),
            ..Guarded::default()
        }
    }

    /// Feeds the oldest client request if a guarded SAP is concerned: `None` when it is not
    /// (the caller submits it plainly), `Some(true)` when it was taken (held or answered),
    /// `Some(false)` when the guard has no room (it waits).
    pub(super) fn submit_front(
        &mut self,
        now: Instant,
        station: &mut AgentStation,
        sis: &mut Sis,
    ) -> Option<bool> {
        let next = sis.queue.front()?;
        let (src_sap, dest_sap) = (next.header.src_sap, next.header.dest_sap);
        let rule = match (self.rules.get(&dest_sap), self.rules.contains_key(&src_sap)) {
            (Some(rule), _) => rule,
            (None, false) => return None,
            (None, true) => {
                // Data from a guarded SAP's client is labelled data; to an unguarded SAP it
                // would leave unlabelled and undecided.
                let why = "from a guarded SAP to an unguarded one";
                return Some(reject(sis, rejected::UNKNOWN, why));
            }
        };
        if next.dest.group {
            // The guard decides for one destination node's domain; a group has none.
            return Some(reject(sis, rejected::UNKNOWN, "labelled data to a group"));
        }
        let (label, data) = match rule.label(&next.data, station.node().trust()) {
            Ok(labelled) => labelled,
            Err(e) => return Some(reject(sis, rejected::UNKNOWN, &e.to_string())),
        };
        if data.len() > MAX_GUARDED_LEN {
            return Some(reject(sis, rejected::TOO_LARGE, "over MAX_GUARDED_LEN"));
        }
        let message = LinkMessage {
            data,
            ..next.message()
        };
        let reaches = |id: &LinkId| station.neighbours(*id).contains(&message.dest);
        let link = (0..station.links())
            .map(|i| LinkId(i as u8))
            .find(reaches)
            .unwrap_or(LinkId(0));
        match station.submit_labelled(now, link, &message, &label) {
            Err(StationError::NoRoom(_)) => Some(false),
            Ok(ticket) => {
                let submission = sis.queue.pop(&mut sis.hub)?;
                self.held.insert(ticket, submission);
                Some(true)
            }
            Err(StationError::Guard(refusal)) => {
                Some(reject(sis, sis_reason(&refusal), &refusal.to_string()))
            }
            Err(other) => Some(reject(sis, rejected::UNKNOWN, &other.to_string())),
        }
    }

    /// Takes a guard report at `now`: the final decision on a client's held message answers it
    /// (or has its link answer it), a release at the receiving end is remembered for the data
    /// that follows.
    pub(super) fn report(&mut self, report: &GuardReport, sis: Option<&mut Sis>, now: Instant) {
        if report.end == End::Receiver {
            self.released = report
                .released()
                .then(|| (report.digest, report.label.to_vec()));
            return;
        }
        let Some(submission) = report.ticket.and_then(|t| self.held.remove(&t)) else {
            return;
        };
        let Some(sis) = sis else {
            return;
        };
        let reason = match (&report.refusal, report.message) {
            (None, Some(id)) => {
                let link = usize::from(report.link.0);
                sis.queue.submitted(&sis.hub, link, submission, Ok(id));
                // The far node's client confirmation (or its guard's DATA DELIVERY FAIL)
                // echoes the envelope the station sealed, not the client's data.
                sis.queue.carried_as(link, id, &report.head);
                return;
            }
            // Released, and then the link would not take it: held past its time-to-live, or
            // something the station reports as NotQueued.
            (None, None) if now >= submission.ttd => rejected::TTL_EXPIRED,
            (None, None) => rejected::UNKNOWN,
            (Some(refusal), _) => {
                tracing::info!(client = ?submission.client, %refusal, "held SIS request refused by the guard");
                sis_reason(refusal)
            }
        };
        answer(sis, &submission, reason);
    }

    /// What the client bound to `sap` is handed for received `data`.
    pub(super) fn for_client(&mut self, sap: u8, data: &[u8]) -> Handed {
        match self.rules.get(&sap) {
            None | Some(SapRule::Default(_)) => Handed::Plain,
            Some(SapRule::Envelope { .. }) => match self.released.take() {
                Some((digest, label)) if digest == Digest::of(data) => {
                    sap_label::wrap(&label, data).map_or(Handed::Withheld, Handed::Enveloped)
                }
                _ => Handed::Withheld,
            },
        }
    }
}

/// Takes the oldest request and rejects it with `reason`; `why` goes to the log. Returns true:
/// the request was taken.
fn reject(sis: &mut Sis, reason: u8, why: &str) -> bool {
    if let Some(s) = sis.queue.pop(&mut sis.hub) {
        tracing::info!(
            client = ?s.client,
            sap = s.header.dest_sap,
            why,
            "SIS request on a guarded SAP refused"
        );
        answer(sis, &s, reason);
    }
    true
}

/// S_UNIDATA_REQUEST_REJECTED with `reason` to the client of `s`, its U_PDU returned.
fn answer(sis: &Sis, s: &Submission, reason: u8) {
    // A client that has left is told nothing: its request was never stored (only released
    // requests are, persist.rs), so nothing is owed to the next client of its SAP.
    if let Some(client) = s.client {
        let (sap, data) = (s.header.dest_sap, &s.data);
        sis.hub
            .reject(client, s.expedited, reason, sap, s.dest, data);
    }
}
