//! The operator's own labelled messages: `skywave send` feeds one to the guard
//! ([`Station::submit_labelled`](skywave_protocol::station::Station::submit_labelled)) and is
//! told the sender's verdict; `skywave receive` takes what arrived on a guarded SAP that no SIS
//! client has bound (the operator's inbox), with the receiver's verdict.
//!
//! The station reports a message's decision ([`StationEvent::Guard`]) before it hands the
//! released data on ([`StationEvent::Received`], data only), so a receiver's release waits
//! here, by source and data digest, for its data. Refusals at the receiver are in the inbox
//! too, without data: the operator learns that something addressed to them was stopped, and
//! why. The inbox is in the store (store/inbox.rs), written before the link acknowledges the
//! data, so it survives a restart; `receive` reads a batch and the CLI removes what it read
//! once it has written or printed it ([`Core::receive`], [`Core::ack`]). It holds
//! `[inbox] max_messages` at most: past that an arrival is refused (logged, counted in
//! `skywave status`) rather than an unread one dropped (docs/operator.md argues the choice);
//! every arrival, kept or not, is in the decision log as well. A sender that asked for client
//! confirmation learns which: the agent answers those requests itself
//! ([`Station::answer`](skywave_protocol::station::Station::answer)), CONFIRM once the
//! message is in the inbox, DATA DELIVERY FAIL ([`fail::FULL`]) when it was refused.
//!
//! [`StationEvent::Guard`]: skywave_protocol::station::StationEvent::Guard
//! [`StationEvent::Received`]: skywave_protocol::station::StationEvent::Received

use std::collections::VecDeque;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use skywave_protocol::codec::Hex;
use skywave_protocol::link::pdu::fail;
use skywave_protocol::link::{Answer, Message as LinkMessage, Mode, SpduHeader};
use skywave_protocol::policy::Digest;
use skywave_protocol::station::{GuardReport, LinkId, StationError};
use skywave_protocol::time::Duration;
use skywave_protocol::wire::Address;

use super::Core;
use crate::agent::config::GuardSap;
use crate::agent::control::{DecisionJson, InboxJson, Reply, SentJson};
use crate::agent::message::{MessageJson, PolicyNames};
use crate::store::Store;

/// Messages one `receive` request returns at most (one reply line of some 400 KB at most);
/// the CLI asks again for the rest.
pub const RECEIVE_BATCH: usize = 64;
/// Sender reports kept for the `send` that caused them (a poll yields a handful at most).
const SENT_KEPT: usize = 16;
/// Receiver releases waiting for their data (the data follows in the same poll).
const PENDING_KEPT: usize = 16;
/// How long an operator's message is worth sending.
const SEND_TTD: Duration = Duration::from_secs(3600);
/// The priority of an operator's message (5066's default client priority).
const SEND_PRIORITY: u8 = 5;

/// The operator's inbox in `skywave status` (when the agent guards).
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Eq)]
pub struct InboxStatus {
    /// Messages waiting for `skywave receive`.
    pub waiting: u64,
    /// How many it holds at most.
    pub limit: u64,
    /// Arrivals refused since the agent started: the inbox was full or the store failed
    /// (each is logged, and in the decision log).
    pub refused: u64,
}

/// What became of released data at the operator's inbox ([`Messages::deliver`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Delivery {
    /// Not the operator's: no release for it waits here, or a SIS client took it.
    NotTheOperators,
    /// Written to the inbox.
    Kept,
    /// The operator's, but refused: the inbox was full or the store failed (logged,
    /// counted). Nobody else takes it.
    Refused,
}

impl Delivery {
    /// The answer to the sender's request for client confirmation, for data that is the
    /// operator's.
    pub(super) fn answer(self) -> Option<Answer> {
        match self {
            Delivery::NotTheOperators => None,
            Delivery::Kept => Some(Answer::Confirm),
            Delivery::Refused => Some(Answer::Fail(fail::FULL)),
        }
    }
}

/// Sender verdicts, receiver releases waiting for their data, and what the inbox refused.
pub(super) struct Messages {
    /// The guarded SAPs in the order configured (the first is `send`'s default).
    guarded: Vec<u8>,
    sent: VecDeque<(GuardReport, Option<u64>)>,
    pending: VecDeque<(GuardReport, Option<u64>)>,
    /// The inbox's bound (`[inbox] max_messages`).
    limit: u64,
    /// Arrivals the inbox refused since start.
    refused: u64,
}

impl Messages {
    /// For an agent guarding `saps` (none: it does not guard), with an inbox of `limit`
    /// messages.
    pub(super) fn new(saps: &[GuardSap], limit: u64) -> Self {
        Messages {
            guarded: saps.iter().map(|s| s.sap).collect(),
            sent: VecDeque::new(),
            pending: VecDeque::new(),
            limit,
            refused: 0,
        }
    }

    /// The inbox's bound is now `limit` (SIGHUP). Lower than what it holds, nothing is
    /// dropped: arrivals are refused until the operator has taken enough.
    pub(super) fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// The guarded SAPs, a bit per SAP: the operator takes what no SIS client does, so the
    /// links deliver data for them (Annex A drops data for a SAP nobody holds).
    pub(super) fn guarded_saps(&self) -> u16 {
        self.guarded
            .iter()
            .fold(0, |saps, sap| saps | 1 << (sap & 15))
    }

    /// A sender-end report, logged at `log_index`.
    pub(super) fn sent(&mut self, report: &GuardReport, log_index: Option<u64>) {
        if self.sent.len() == SENT_KEPT {
            self.sent.pop_front();
        }
        self.sent.push_back((report.clone(), log_index));
    }

    /// A receiver-end report, logged at `log_index`; `bound` has a bit per SAP a SIS client
    /// holds (those clients get the data, not the operator). A refusal goes to the inbox in
    /// `store` at once.
    pub(super) fn arrived(
        &mut self,
        store: &Store,
        report: &GuardReport,
        log_index: Option<u64>,
        bound: u16,
    ) {
        let sap = report.ends.destination_sap;
        if !self.guarded.contains(&sap) || bound & (1 << (sap & 15)) != 0 {
            return;
        }
        if report.released() {
            if self.pending.len() == PENDING_KEPT {
                self.pending.pop_front();
            }
            self.pending.push_back((report.clone(), log_index));
        } else {
            // A refusal: the station answered its sender (FAIL) already.
            self.keep(store, report, log_index, None);
        }
    }

    /// Released data from `src` for `sap`: kept in the inbox in `store` if its release was
    /// kept here (`handed`: a SIS client took it, so only the waiting release is dropped).
    pub(super) fn deliver(
        &mut self,
        store: &Store,
        src: Address,
        sap: u8,
        data: &[u8],
        handed: bool,
    ) -> Delivery {
        let digest = Digest::of(data);
        let Some(at) = self.pending.iter().position(|(r, _)| {
            r.digest == digest && r.ends.source == src.value() && r.ends.destination_sap == sap
        }) else {
            return Delivery::NotTheOperators;
        };
        let Some((report, log_index)) = self.pending.remove(at) else {
            return Delivery::NotTheOperators;
        };
        if handed {
            return Delivery::NotTheOperators;
        }
        if self.keep(store, &report, log_index, Some(data)) {
            Delivery::Kept
        } else {
            Delivery::Refused
        }
    }

    /// Writes one arrival to the inbox, or refuses it (full, or the store failed): logged
    /// with what identifies it, and counted for `skywave status`. Returns whether it is in.
    fn keep(
        &mut self,
        store: &Store,
        report: &GuardReport,
        log_index: Option<u64>,
        data: Option<&[u8]>,
    ) -> bool {
        let why = match store.inbox_put(report, log_index, data, SystemTime::now(), self.limit) {
            Ok(Some(_)) => return true,
            Ok(None) => format!(
                "the inbox is full ({} messages: `skywave receive` takes them)",
                self.limit
            ),
            Err(e) => format!("the store failed: {e}"),
        };
        self.refused += 1;
        tracing::error!(
            source = report.ends.source,
            seq = report.seq,
            digest = %report.digest,
            log_index,
            "labelled message for the operator refused: {why}; its decision is in the log"
        );
        false
    }

    /// The inbox as `skywave status` shows it.
    pub(super) fn status(&self, store: &Store) -> InboxStatus {
        InboxStatus {
            waiting: store.inbox_count(0).map_or(0, |(all, _)| all),
            limit: self.limit,
            refused: self.refused,
        }
    }
}

/// The policy decision of `report` as the operator reads it.
fn decision_json(report: &GuardReport) -> Option<DecisionJson> {
    report.decision.as_ref().map(DecisionJson::from)
}

impl Core {
    /// `skywave send`: `data` labelled `label` for `sap` of node `to`, through the guard.
    pub(super) fn send(
        &mut self,
        to: Address,
        sap: Option<u8>,
        label: &[u8],
        data: &[u8],
    ) -> Reply {
        let error = |message: String| Reply::Error { message };
        if self.guard.is_none() {
            return error(
                "this agent does not guard: its configuration has no [guard] section".into(),
            );
        }
        let Some(sap) = sap.or_else(|| self.messages.guarded.first().copied()) else {
            return error("no guarded SAP is configured ([[guard.sap]])".into());
        };
        if !self.messages.guarded.contains(&sap) {
            return error(format!(
                "SAP {sap} is not guarded (guarded: {:?}): labelled data goes to a guarded SAP",
                self.messages.guarded
            ));
        }
        if to == self.address {
            return error(format!("{to} is this node"));
        }
        let links = (0..self.station.links()).map(|i| LinkId(i as u8));
        let mut reaches = links
            .clone()
            .filter(|id| self.station.neighbours(*id).contains(&to));
        let Some(id) = reaches.next().or_else(|| links.clone().next()) else {
            return error("no link is configured".into());
        };
        let now = self.now();
        let message = LinkMessage {
            dest: to,
            header: SpduHeader {
                priority: SEND_PRIORITY,
                src_sap: sap,
                dest_sap: sap,
            },
            mode: Mode::Arq { in_order: false },
            confirm: false,
            ttd: now + SEND_TTD,
            data,
        };
        self.messages.sent.clear();
        let submitted = self.station.submit_labelled(now, id, &message, label);
        self.poll();
        let digest = Digest::of(data);
        let ticket = match submitted {
            Ok(ticket) => Some(ticket),
            Err(StationError::Guard(_)) => None,
            Err(StationError::NoRoom(_)) => {
                return error(
                    "the guard is holding as many messages as it can: try again once they have gone"
                        .into(),
                );
            }
            Err(e) => return error(format!("not sent: {e}")),
        };
        // The report naming this message: by ticket once it has one, else the refusal made at
        // submit (it carries the ticket it would have had, and this data's digest).
        let found = self.messages.sent.iter().rev().find(|(r, _)| match ticket {
            Some(t) => r.ticket == Some(t),
            None => r.digest == digest && !r.released(),
        });
        let names = PolicyNames::from_storage(self.station.node().storage());
        let sent = match found {
            Some((report, log_index)) => SentJson {
                digest: digest.to_string(),
                ticket: report.ticket.map(|t| t.0),
                state: if report.released() {
                    "released"
                } else {
                    "refused"
                }
                .to_owned(),
                message: Some(MessageJson::new(report, &names)),
                decision: decision_json(report),
                log_index: *log_index,
            },
            None => SentJson {
                digest: digest.to_string(),
                ticket: ticket.map(|t| t.0),
                state: "held".to_owned(),
                message: None,
                decision: None,
                log_index: None,
            },
        };
        Reply::Sent(Box::new(sent))
    }

    /// `skywave receive`: up to [`RECEIVE_BATCH`] messages of the inbox with an id above
    /// `after`, oldest first, and how many more there are; with `keep` nothing is removed
    /// (the CLI removes what it has written or printed with [`Core::ack`]), without it the
    /// batch is removed as it is returned (the control API's first form, `{"cmd":"receive"}`).
    pub(super) fn receive(&mut self, keep: bool, after: u64) -> Reply {
        let error = |e: crate::store::StoreError| Reply::Error {
            message: format!("the inbox could not be read: {e}"),
        };
        let rows = match self.store.inbox_peek(after, RECEIVE_BATCH) {
            Ok(rows) => rows,
            Err(e) => return error(e),
        };
        let last = rows.last().map_or(after, |r| r.id);
        if !keep {
            let ids: Vec<u64> = rows.iter().map(|r| r.id).collect();
            if let Err(e) = self.store.inbox_remove(&ids) {
                return error(e);
            }
        }
        let remaining = match self.store.inbox_count(last) {
            Ok((_, later)) => later,
            Err(e) => return error(e),
        };
        let names = PolicyNames::from_storage(self.station.node().storage());
        let messages = rows
            .into_iter()
            .map(|r| InboxJson {
                id: r.id,
                message: MessageJson::new(&r.report, &names),
                decision: decision_json(&r.report),
                log_index: r.log_index,
                received_unix: r
                    .received
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                data_hex: r.data.map(|d| Hex(&d).to_string()),
            })
            .collect();
        Reply::Received {
            messages,
            remaining,
        }
    }

    /// Removes the inbox messages `ids` (what a `receive` with `keep` returned, once the
    /// operator has it); ids no longer there are ignored, so an ack repeated is harmless.
    pub(super) fn ack(&mut self, ids: &[u64]) -> Reply {
        match self.store.inbox_remove(ids) {
            Ok(removed) => Reply::Acked { removed },
            Err(e) => Reply::Error {
                message: format!("the inbox could not be changed: {e}"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use skywave_protocol::label::binding::BindingRefusal;
    use skywave_protocol::station::GuardRefusal;

    use super::*;
    use crate::agent::config::SapLabel;

    fn arrival(sap: u8, data: &[u8], refusal: Option<GuardRefusal>) -> GuardReport {
        crate::store::tests::receiver_report(sap, data, refusal, None)
    }

    fn guarding(saps: &[u8]) -> Messages {
        let saps: Vec<GuardSap> = saps
            .iter()
            .map(|&sap| GuardSap {
                sap,
                label: SapLabel::Envelope,
                policy: None,
                spif: None,
            })
            .collect();
        Messages::new(&saps, crate::agent::config::DEFAULT_INBOX_MAX)
    }

    /// A store in a directory that lives as long as it is used.
    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("node.db"),
            Address::new(2).unwrap(),
            crate::store::StoreOptions::default(),
        )
        .unwrap();
        (dir, store)
    }

    /// The inbox in `store`: each message's log index and data.
    fn inbox(store: &Store) -> Vec<(Option<u64>, Option<Vec<u8>>)> {
        let rows = store.inbox_peek(0, 100).unwrap();
        rows.into_iter().map(|r| (r.log_index, r.data)).collect()
    }

    #[test]
    fn a_release_for_the_operator_waits_for_its_data_and_a_refusal_comes_without() {
        let (_dir, store) = store();
        let mut m = guarding(&[5, 6]);
        let from = Address::new(1).unwrap();
        m.arrived(&store, &arrival(5, b"hello", None), Some(7), 0);
        assert!(inbox(&store).is_empty(), "a release waits for its data");
        // Other data, or the same from another node, is not this release's.
        let not_ours = Delivery::NotTheOperators;
        assert_eq!(m.deliver(&store, from, 5, b"other", false), not_ours);
        let elsewhere = Address::new(3).unwrap();
        assert_eq!(m.deliver(&store, elsewhere, 5, b"hello", false), not_ours);
        assert_eq!(m.deliver(&store, from, 5, b"hello", false), Delivery::Kept);
        let refused = GuardRefusal::Binding(BindingRefusal::Replayed { address: 1, seq: 4 });
        m.arrived(&store, &arrival(6, b"again", Some(refused)), Some(8), 0);
        assert_eq!(
            inbox(&store),
            [(Some(7), Some(b"hello".to_vec())), (Some(8), None)]
        );
        // The report comes back whole, for `receive` to show as it would have at once.
        let refusal = &store.inbox_peek(0, 2).unwrap()[1].report;
        assert_eq!(*refusal, arrival(6, b"again", Some(refused)));
    }

    #[test]
    fn a_sap_a_sis_client_holds_or_an_unguarded_one_is_not_the_operators() {
        let (_dir, store) = store();
        let mut m = guarding(&[5]);
        let from = Address::new(1).unwrap();
        // A SIS client is bound to SAP 5: the data is its, not the operator's.
        m.arrived(
            &store,
            &arrival(5, b"for the client", None),
            Some(1),
            1 << 5,
        );
        let not_ours = Delivery::NotTheOperators;
        assert_eq!(
            m.deliver(&store, from, 5, b"for the client", true),
            not_ours
        );
        m.arrived(&store, &arrival(5, b"handed", None), Some(2), 0);
        let handed = m.deliver(&store, from, 5, b"handed", true);
        assert_eq!(handed, not_ours, "a client took it after all");
        m.arrived(&store, &arrival(7, b"unguarded", None), Some(3), 0);
        assert_eq!(m.deliver(&store, from, 7, b"unguarded", false), not_ours);
        assert!(inbox(&store).is_empty() && m.pending.is_empty());
    }

    #[test]
    fn a_full_inbox_refuses_the_newest_counts_it_and_keeps_every_older_one() {
        let (_dir, store) = store();
        let mut m = guarding(&[5]);
        m.limit = 2;
        let from = Address::new(1).unwrap();
        let kept_or_refused = [Delivery::Kept, Delivery::Kept, Delivery::Refused];
        for ((log, data), want) in [(1, &b"first"[..]), (2, b"second"), (3, b"third")]
            .into_iter()
            .zip(kept_or_refused)
        {
            m.arrived(&store, &arrival(5, data, None), Some(log), 0);
            // Refused or kept, the data was the operator's: nobody else takes it.
            assert_eq!(m.deliver(&store, from, 5, data, false), want);
        }
        // Its sender, had it asked for client confirmation, is told.
        assert_eq!(Delivery::Refused.answer(), Some(Answer::Fail(fail::FULL)));
        let refused = GuardRefusal::Binding(BindingRefusal::Replayed { address: 1, seq: 4 });
        m.arrived(&store, &arrival(5, b"fourth", Some(refused)), Some(4), 0);
        let kept = [
            (Some(1), Some(b"first".to_vec())),
            (Some(2), Some(b"second".to_vec())),
        ];
        assert_eq!(inbox(&store), kept, "the oldest are kept, not dropped");
        assert_eq!(
            m.status(&store),
            InboxStatus {
                waiting: 2,
                limit: 2,
                refused: 2
            }
        );
        // Once the operator took one there is room again.
        let first = store.inbox_peek(0, 1).unwrap()[0].id;
        assert_eq!(store.inbox_remove(&[first]).unwrap(), 1);
        m.arrived(&store, &arrival(5, b"fifth", None), Some(5), 0);
        assert_eq!(m.deliver(&store, from, 5, b"fifth", false), Delivery::Kept);
        assert_eq!(inbox(&store)[1], (Some(5), Some(b"fifth".to_vec())));
        assert_eq!(m.status(&store).refused, 2);
    }
}
