//! The [`ClientQueue`]: accepted client requests waiting for room on their link, and which link
//! message answers which request, so link events become confirmations and rejections.
//!
//! A request the core stored (ARQ with client confirmation: `store::outbound`) is answered
//! by the core, not here: its outcome is written to the store before its sender is told, so
//! this queue hands it over as a [`Settled`] ([`ClientQueue::take_settled`]). Such a request
//! also outlives its client's connection, and is sent again when the far client's
//! confirmation has not come [`ClientQueue::confirm_wait`] after the far node acknowledged it:
//! the far agent may have been killed between acknowledging it on the air and holding it.

use super::{
    ClientId, HashMap, Hub, Instant, LinkEvent, MessageId, Submission, VecDeque, confirm, link,
    rejected,
};
use crate::store::Outcome;
use skywave_protocol::link::pdu::fail;
use skywave_protocol::time::Duration;

/// How long a stored request waits for the far client's confirmation after the far node
/// acknowledged it, when the configuration does not say.
pub const DEFAULT_CONFIRM_WAIT: Duration = Duration::from_millis(60_000);

/// A request handed to a link, waiting for its outcome.
#[derive(Debug)]
struct Tracked {
    submission: Submission,
    /// For a stored request the far node acknowledged: when to send it again.
    resend_at: Option<Instant>,
    /// The first bytes of the U_PDU on the air when they are not the request's own (a
    /// guarded SAP's: the binding goes in front), which the far node's answer echoes.
    head: Option<Vec<u8>>,
}

/// A stored request's outcome, for the core to write and then tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// The request (its `stored` id is set).
    pub submission: Submission,
    /// How it ended.
    pub outcome: Outcome,
}

/// Accepted requests waiting for link room, and those on links waiting for their outcome.
pub struct ClientQueue {
    backlog: VecDeque<Submission>,
    tracked: HashMap<(usize, MessageId), Tracked>,
    settled: Vec<Settled>,
    confirm_wait: Duration,
}

impl Default for ClientQueue {
    fn default() -> Self {
        Self::new(DEFAULT_CONFIRM_WAIT)
    }
}

impl ClientQueue {
    /// A queue that sends a stored request again `confirm_wait` after its acknowledgement
    /// when no confirmation came.
    pub fn new(confirm_wait: Duration) -> Self {
        ClientQueue {
            backlog: VecDeque::new(),
            tracked: HashMap::new(),
            settled: Vec::new(),
            confirm_wait,
        }
    }

    /// How long a stored request waits for its confirmation after its acknowledgement.
    pub fn confirm_wait(&self) -> Duration {
        self.confirm_wait
    }

    /// Queues an accepted request.
    pub fn push(&mut self, s: Submission) {
        self.backlog.push_back(s);
    }

    /// Forgets a departed client's requests: those waiting are not sent (nobody would hear
    /// the outcome, and a 5066 client takes a lost connection as "in doubt"), and those on
    /// links no longer wait for an answer. Stored requests stay: their outcome goes to the
    /// next client of their SAP.
    pub fn forget(&mut self, client: ClientId) {
        self.backlog
            .retain(|s| s.client != Some(client) || s.stored.is_some());
        self.tracked
            .retain(|_, t| t.submission.client != Some(client) || t.submission.stored.is_some());
        let orphan = |s: &mut Submission| {
            if s.client == Some(client) {
                s.client = None;
            }
        };
        self.backlog.iter_mut().for_each(orphan);
        self.tracked
            .values_mut()
            .for_each(|t| orphan(&mut t.submission));
    }

    /// The oldest request waiting for room.
    pub fn front(&self) -> Option<&Submission> {
        self.backlog.front()
    }

    /// Takes the oldest request, to submit it.
    pub fn pop(&mut self, hub: &mut Hub) -> Option<Submission> {
        let s = self.backlog.pop_front()?;
        if let Some(client) = s.client {
            hub.adjust_backlog(client, false);
        }
        Some(s)
    }

    /// Records what link `index` made of `s`: its message to watch, or a rejection.
    pub fn submitted(
        &mut self,
        hub: &Hub,
        index: usize,
        s: Submission,
        result: Result<MessageId, link::SubmitError>,
    ) {
        match result {
            Ok(id) => {
                let tracked = Tracked {
                    submission: s,
                    resend_at: None,
                    head: None,
                };
                self.tracked.insert((index, id), tracked);
            }
            Err(e) => {
                let reason = match e {
                    link::SubmitError::TooLarge => rejected::TOO_LARGE,
                    link::SubmitError::Expired => rejected::TTL_EXPIRED,
                    _ => rejected::UNKNOWN,
                };
                tracing::info!(client = ?s.client, %e, "SIS request refused by the link");
                let outcome = match e {
                    link::SubmitError::Expired => Outcome::Expired,
                    _ => Outcome::Failed(reason),
                };
                self.answer(hub, s, outcome);
            }
        }
    }

    /// Link `index`'s message `id` went on the air starting with `head` rather than with its
    /// request's data (the guard sealed it): the far node's answer echoes that.
    pub fn carried_as(&mut self, index: usize, id: MessageId, head: &[u8]) {
        if let Some(t) = self.tracked.get_mut(&(index, id)) {
            t.head = Some(head.to_vec());
        }
    }

    /// Tells the sender of `s` how it ended, or hands a stored one to the core.
    fn answer(&mut self, hub: &Hub, s: Submission, outcome: Outcome) {
        if s.stored.is_some() {
            self.settled.push(Settled {
                submission: s,
                outcome,
            });
            return;
        }
        let Some(client) = s.client else {
            return;
        };
        let (sap, dest) = (s.header.dest_sap, s.dest);
        match outcome {
            Outcome::Confirmed => hub.confirm(client, s.expedited, sap, dest, &s.data),
            Outcome::Expired => {
                hub.reject(
                    client,
                    s.expedited,
                    rejected::TTL_EXPIRED,
                    sap,
                    dest,
                    &s.data,
                );
            }
            Outcome::Failed(reason) => hub.reject(client, s.expedited, reason, sap, dest, &s.data),
        }
    }

    /// The stored requests whose outcome is known, for the core to write and tell.
    pub fn take_settled(&mut self) -> Vec<Settled> {
        std::mem::take(&mut self.settled)
    }

    /// Moves the stored requests whose confirmation is overdue at `now` back to the front of
    /// the backlog; returns how many.
    pub fn resend_due(&mut self, now: Instant) -> usize {
        let due: Vec<(usize, MessageId)> = self
            .tracked
            .iter()
            .filter(|(_, t)| t.resend_at.is_some_and(|at| at <= now))
            .map(|(k, _)| *k)
            .collect();
        let mut again: Vec<Submission> = due
            .iter()
            .filter_map(|k| self.tracked.remove(k))
            .map(|t| t.submission)
            .collect();
        // Oldest first, ahead of what waits.
        again.sort_by_key(|s| s.stored);
        let n = again.len();
        for s in again.into_iter().rev() {
            tracing::info!(stored = ?s.stored, "no client confirmation yet: sending again");
            self.backlog.push_front(s);
        }
        n
    }

    /// When the next stored request's confirmation becomes overdue.
    pub fn next_resend(&self) -> Option<Instant> {
        self.tracked.values().filter_map(|t| t.resend_at).min()
    }

    /// Requests (waiting or on links) not answered yet.
    pub fn pending(&self) -> usize {
        self.backlog.len() + self.tracked.len()
    }

    /// Turns a link event about a client's message at `now` into its answer. Returns whether
    /// the event was about one.
    pub fn outcome(
        &mut self,
        hub: &Hub,
        index: usize,
        event: &LinkEvent<'_>,
        now: Instant,
    ) -> bool {
        match *event {
            LinkEvent::Delivered(id) => {
                let key = (index, id);
                let wait = self.confirm_wait;
                let Some(t) = self.tracked.get_mut(&key) else {
                    return false;
                };
                match t.submission.confirm {
                    // A client confirmation is still to come.
                    confirm::CLIENT => {
                        if t.submission.stored.is_some() {
                            t.resend_at = Some(now + wait);
                        }
                    }
                    c => {
                        let s = self.tracked.remove(&key).map(|t| t.submission);
                        if let Some(s) = s.filter(|_| c == confirm::NODE) {
                            self.answer(hub, s, Outcome::Confirmed);
                        }
                    }
                }
                true
            }
            LinkEvent::Sent(id) => match self.tracked.remove(&(index, id)) {
                Some(t) => {
                    if t.submission.confirm != confirm::NONE {
                        self.answer(hub, t.submission, Outcome::Confirmed);
                    }
                    true
                }
                None => false,
            },
            LinkEvent::Failed(id, _) => match self.tracked.remove(&(index, id)) {
                Some(t) => {
                    self.answer(hub, t.submission, Outcome::Expired);
                    true
                }
                None => false,
            },
            LinkEvent::Confirmed { from, header, echo }
            | LinkEvent::NotDelivered {
                from, header, echo, ..
            } => {
                // CONFIRM and FAIL carry the request's own SAP byte (Annex A): their
                // destination SAP is the one the request went to.
                let answers = |s: &Submission, head: &[u8]| {
                    s.confirm == confirm::CLIENT
                        && s.dest.address == from
                        && s.header.src_sap == header.src_sap
                        && s.header.dest_sap == header.dest_sap
                        && head.starts_with(echo)
                };
                let key = self
                    .tracked
                    .iter()
                    .filter(|((i, _), t)| {
                        let head = t.head.as_deref().unwrap_or(&t.submission.data);
                        *i == index && answers(&t.submission, head)
                    })
                    .map(|(k, _)| *k)
                    .min();
                let found = match key.and_then(|k| self.tracked.remove(&k)) {
                    Some(t) => Some(t.submission),
                    // A stored request waiting to be sent again: the first copy's answer
                    // came late, and settles it.
                    None => self
                        .backlog
                        .iter()
                        .position(|s| s.stored.is_some() && answers(s, &s.data))
                        .and_then(|i| self.backlog.remove(i)),
                };
                let Some(s) = found else {
                    return false;
                };
                let outcome = match event {
                    LinkEvent::Confirmed { .. } => Outcome::Confirmed,
                    LinkEvent::NotDelivered { reason, .. } => Outcome::Failed(fail_reason(*reason)),
                    _ => return false,
                };
                self.answer(hub, s, outcome);
                true
            }
            _ => false,
        }
    }
}

/// The S_UNIDATA_REQUEST_REJECTED reason for a far node's DATA DELIVERY FAIL reason: no client
/// holds the SAP there (1) is Annex A's *destination SAP not bound*; anything else (0, a far
/// Skywave guard's refusal, or a reserved value) is *unknown*, as a refusal by this node's own
/// guard is (docs/sis.md, "Labelled clients").
fn fail_reason(reason: u8) -> u8 {
    match reason {
        fail::SAP_NOT_BOUND => rejected::SAP_NOT_BOUND,
        _ => rejected::UNKNOWN,
    }
}
