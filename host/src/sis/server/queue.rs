//! The [`ClientQueue`]: accepted client requests waiting for room on their link, and which link
//! message answers which request, so link events become confirmations and rejections.

use super::{
    ClientId, HashMap, Hub, LinkEvent, MessageId, SisAddress, Submission, VecDeque, confirm, link,
    rejected,
};

/// A request handed to a link, waiting for its outcome.
#[derive(Debug)]
struct Tracked {
    client: ClientId,
    expedited: bool,
    confirm: u8,
    sap: u8,
    dest: SisAddress,
    data: Vec<u8>,
}

/// Accepted requests waiting for link room, and those on links waiting for their outcome.
#[derive(Default)]
pub struct ClientQueue {
    backlog: VecDeque<Submission>,
    tracked: HashMap<(usize, MessageId), Tracked>,
}

impl ClientQueue {
    /// Queues an accepted request.
    pub fn push(&mut self, s: Submission) {
        self.backlog.push_back(s);
    }

    /// Forgets a departed client's requests: those waiting are not sent (nobody would hear
    /// the outcome, and a 5066 client takes a lost connection as "in doubt"), and those on
    /// links no longer wait for an answer.
    pub fn forget(&mut self, client: ClientId) {
        self.backlog.retain(|s| s.client != client);
        self.tracked.retain(|_, t| t.client != client);
    }

    /// The oldest request waiting for room.
    pub fn front(&self) -> Option<&Submission> {
        self.backlog.front()
    }

    /// Takes the oldest request, to submit it.
    pub fn pop(&mut self, hub: &mut Hub) -> Option<Submission> {
        let s = self.backlog.pop_front()?;
        hub.adjust_backlog(s.client, false);
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
                self.tracked.insert(
                    (index, id),
                    Tracked {
                        client: s.client,
                        expedited: s.expedited,
                        confirm: s.confirm,
                        sap: s.header.dest_sap,
                        dest: s.dest,
                        data: s.data,
                    },
                );
            }
            Err(e) => {
                let reason = match e {
                    link::SubmitError::TooLarge => rejected::TOO_LARGE,
                    link::SubmitError::Expired => rejected::TTL_EXPIRED,
                    _ => rejected::UNKNOWN,
                };
                tracing::info!(client = s.client, %e, "SIS request refused by the link");
                let sap = s.header.dest_sap;
                hub.reject(s.client, s.expedited, reason, sap, s.dest, &s.data);
            }
        }
    }

    /// Turns a link event about a client's message into its answer. Returns whether the event
    /// was about one.
    pub fn outcome(&mut self, hub: &Hub, index: usize, event: &LinkEvent<'_>) -> bool {
        match *event {
            LinkEvent::Delivered(id) => {
                let key = (index, id);
                match self.tracked.get(&key) {
                    Some(t) if t.confirm == confirm::NODE => {
                        hub.confirm(t.client, t.expedited, t.sap, t.dest, &t.data);
                        self.tracked.remove(&key);
                    }
                    // A client confirmation is still to come.
                    Some(t) if t.confirm == confirm::CLIENT => {}
                    Some(_) => {
                        self.tracked.remove(&key);
                    }
                    None => return false,
                }
                true
            }
            LinkEvent::Sent(id) => match self.tracked.remove(&(index, id)) {
                Some(t) => {
                    if t.confirm != confirm::NONE {
                        hub.confirm(t.client, t.expedited, t.sap, t.dest, &t.data);
                    }
                    true
                }
                None => false,
            },
            LinkEvent::Failed(id, _) => match self.tracked.remove(&(index, id)) {
                Some(t) => {
                    let reason = rejected::TTL_EXPIRED;
                    hub.reject(t.client, t.expedited, reason, t.sap, t.dest, &t.data);
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
                let key = self
                    .tracked
                    .iter()
                    .filter(|((i, _), t)| {
                        *i == index
                            && t.confirm == confirm::CLIENT
                            && t.dest.address == from
                            && t.sap == header.dest_sap
                            && t.data.starts_with(echo)
                    })
                    .map(|(k, _)| *k)
                    .min();
                match key.and_then(|k| self.tracked.remove(&k)) {
                    Some(t) if matches!(event, LinkEvent::Confirmed { .. }) => {
                        hub.confirm(t.client, t.expedited, t.sap, t.dest, &t.data);
                        true
                    }
                    Some(t) => {
                        let reason = rejected::SAP_NOT_BOUND;
                        hub.reject(t.client, t.expedited, reason, t.sap, t.dest, &t.data);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
}
