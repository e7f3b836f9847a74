//! The operator's own labelled messages: `skywave send` feeds one to the guard
//! ([`Station::submit_labelled`](skywave_protocol::station::Station::submit_labelled)) and is
//! told the sender's verdict; `skywave receive` takes what arrived on a guarded SAP that no SIS
//! client has bound (the operator's inbox), with the receiver's verdict.
//!
//! The station reports a message's decision ([`StationEvent::Guard`]) before it hands the
//! released data on ([`StationEvent::Received`], data only), so a receiver's release waits
//! here, by source and data digest, for its data. Refusals at the receiver are in the inbox
//! too, without data: the operator learns that something addressed to them was stopped, and
//! why. The inbox lives in memory ([`MAX_INBOX`] messages, the oldest dropped first); every
//! entry is in the decision log as well, which survives a restart.
//!
//! [`StationEvent::Guard`]: skywave_protocol::station::StationEvent::Guard
//! [`StationEvent::Received`]: skywave_protocol::station::StationEvent::Received

use std::collections::VecDeque;
use std::time::SystemTime;

use skywave_protocol::codec::Hex;
use skywave_protocol::link::{Message as LinkMessage, Mode, SpduHeader};
use skywave_protocol::policy::Digest;
use skywave_protocol::station::{GuardReport, LinkId, StationError};
use skywave_protocol::time::Duration;
use skywave_protocol::wire::Address;

use super::Core;
use crate::agent::config::GuardSap;
use crate::agent::control::{DecisionJson, InboxJson, Reply, SentJson};
use crate::agent::message::{MessageJson, PolicyNames};

/// Messages kept for `skywave receive` at most; the oldest go first.
pub const MAX_INBOX: usize = 256;
/// Sender reports kept for the `send` that caused them (a poll yields a handful at most).
const SENT_KEPT: usize = 16;
/// Receiver releases waiting for their data (the data follows in the same poll).
const PENDING_KEPT: usize = 16;
/// How long an operator's message is worth sending.
const SEND_TTD: Duration = Duration::from_secs(3600);
/// The priority of an operator's message (5066's default client priority).
const SEND_PRIORITY: u8 = 5;

/// One arrival for the operator.
struct Arrival {
    report: GuardReport,
    log_index: Option<u64>,
    received: SystemTime,
    data: Option<Vec<u8>>,
}

/// Sender verdicts, receiver releases waiting for their data, and the inbox.
pub(super) struct Messages {
    /// The guarded SAPs in the order configured (the first is `send`'s default).
    guarded: Vec<u8>,
    sent: VecDeque<(GuardReport, Option<u64>)>,
    pending: VecDeque<(GuardReport, Option<u64>)>,
    inbox: VecDeque<Arrival>,
}

impl Messages {
    /// For an agent guarding `saps` (none: it does not guard).
    pub(super) fn new(saps: &[GuardSap]) -> Self {
        Messages {
            guarded: saps.iter().map(|s| s.sap).collect(),
            sent: VecDeque::new(),
            pending: VecDeque::new(),
            inbox: VecDeque::new(),
        }
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
    /// holds (those clients get the data, not the operator).
    pub(super) fn arrived(&mut self, report: &GuardReport, log_index: Option<u64>, bound: u16) {
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
            self.keep(Arrival {
                report: report.clone(),
                log_index,
                received: SystemTime::now(),
                data: None,
            });
        }
    }

    /// Released data from `src` for `sap`: kept for the operator if its release was kept
    /// here (`handed`: a SIS client took it, so only the waiting release is dropped).
    /// Returns whether the operator's inbox took it.
    pub(super) fn deliver(&mut self, src: Address, sap: u8, data: &[u8], handed: bool) -> bool {
        let digest = Digest::of(data);
        let Some(at) = self.pending.iter().position(|(r, _)| {
            r.digest == digest && r.ends.source == src.value() && r.ends.destination_sap == sap
        }) else {
            return false;
        };
        let Some((report, log_index)) = self.pending.remove(at) else {
            return false;
        };
        if handed {
            return false;
        }
        self.keep(Arrival {
            report,
            log_index,
            received: SystemTime::now(),
            data: Some(data.to_vec()),
        });
        true
    }

    fn keep(&mut self, arrival: Arrival) {
        if self.inbox.len() == MAX_INBOX {
            tracing::warn!(
                "operator inbox full ({MAX_INBOX}): the oldest message is dropped (its decision is in the log)"
            );
            self.inbox.pop_front();
        }
        self.inbox.push_back(arrival);
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

    /// `skywave receive`: the inbox, taken.
    pub(super) fn receive(&mut self) -> Reply {
        let names = PolicyNames::from_storage(self.station.node().storage());
        let messages = self
            .messages
            .inbox
            .drain(..)
            .map(|a| InboxJson {
                message: MessageJson::new(&a.report, &names),
                decision: decision_json(&a.report),
                log_index: a.log_index,
                received_unix: a
                    .received
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                data_hex: a.data.map(|d| Hex(&d).to_string()),
            })
            .collect();
        Reply::Received { messages }
    }
}

#[cfg(test)]
mod tests {
    use heapless::Vec as HVec;
    use skywave_protocol::label::binding::{BindingRefusal, Endpoints};
    use skywave_protocol::station::{End, GuardRefusal};

    use super::*;
    use crate::agent::config::SapLabel;

    fn arrival(sap: u8, data: &[u8], refusal: Option<GuardRefusal>) -> GuardReport {
        GuardReport {
            end: End::Receiver,
            ticket: None,
            link: LinkId(0),
            message: None,
            ends: Endpoints {
                source: 1,
                source_sap: sap,
                destination: 2,
                destination_sap: sap,
            },
            seq: 1,
            digest: Digest::of(data),
            label: HVec::new(),
            refusal,
            decision: None,
            head: HVec::new(),
        }
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
        Messages::new(&saps)
    }

    #[test]
    fn a_release_for_the_operator_waits_for_its_data_and_a_refusal_comes_without() {
        let mut m = guarding(&[5, 6]);
        let from = Address::new(1).unwrap();
        m.arrived(&arrival(5, b"hello", None), Some(7), 0);
        assert!(m.inbox.is_empty(), "a release waits for its data");
        // Other data, or the same from another node, is not this release's.
        assert!(!m.deliver(from, 5, b"other", false));
        assert!(!m.deliver(Address::new(3).unwrap(), 5, b"hello", false));
        assert!(m.deliver(from, 5, b"hello", false));
        let refused = GuardRefusal::Binding(BindingRefusal::Replayed { address: 1, seq: 4 });
        m.arrived(&arrival(6, b"again", Some(refused)), Some(8), 0);
        let got: Vec<(Option<u64>, Option<&[u8]>)> = m
            .inbox
            .iter()
            .map(|a| (a.log_index, a.data.as_deref()))
            .collect();
        assert_eq!(got, [(Some(7), Some(&b"hello"[..])), (Some(8), None)]);
    }

    #[test]
    fn a_sap_a_sis_client_holds_or_an_unguarded_one_is_not_the_operators() {
        let mut m = guarding(&[5]);
        let from = Address::new(1).unwrap();
        // A SIS client is bound to SAP 5: the data is its, not the operator's.
        m.arrived(&arrival(5, b"for the client", None), Some(1), 1 << 5);
        assert!(!m.deliver(from, 5, b"for the client", true));
        m.arrived(&arrival(5, b"handed", None), Some(2), 0);
        assert!(
            !m.deliver(from, 5, b"handed", true),
            "a client took it after all"
        );
        m.arrived(&arrival(7, b"unguarded", None), Some(3), 0);
        assert!(!m.deliver(from, 7, b"unguarded", false));
        assert!(m.inbox.is_empty() && m.pending.is_empty());
    }
}
