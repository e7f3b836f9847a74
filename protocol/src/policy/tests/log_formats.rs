//! The decision log's record formats: entries of the first layout (a policy decision alone)
//! read and verify beside message entries (the guard's reports), and the format byte is part
//! of what the chain vouches for.

use std::vec::Vec;

use super::super::Decision;
use super::super::log::{self, DecisionLog, LogAnchor, LogFault};
use super::super::model::Digest;
use super::{coalition, decisions, verify};

/// A guard report on a labelled message, with or without its policy decision.
fn message_report(decision: Option<Decision>) -> crate::station::GuardReport {
    use crate::label::binding::{BindingRefusal, Endpoints};
    use crate::station::{End, GuardRefusal, GuardReport, LinkId};
    GuardReport {
        end: End::Receiver,
        ticket: None,
        link: LinkId(0),
        message: None,
        ends: Endpoints {
            source: 12,
            source_sap: 5,
            destination: 34,
            destination_sap: 5,
        },
        seq: 7,
        digest: Digest([9; 32]),
        label: heapless::Vec::from_slice(&[1, b'G', b'B', b'R', 1, 2, 0]).unwrap(),
        refusal: decision
            .is_none()
            .then_some(GuardRefusal::Binding(BindingRefusal::Replayed {
                address: 1,
                seq: 4,
            })),
        decision,
        head: heapless::Vec::new(),
    }
}

#[test]
fn a_log_of_the_first_layout_still_reads_and_verifies_beside_message_entries() {
    let (_, store) = coalition();
    let decided = decisions(&store);
    // Entries as the first layout wrote them, by hand: index (8 bytes LE), previous hash,
    // postcard decision.
    let mut entries = Vec::new();
    let mut prev = Digest([0; 32]);
    for (index, d) in (0u64..).zip(&decided[..2]) {
        let mut bytes = index.to_le_bytes().to_vec();
        bytes.extend_from_slice(&prev.0);
        let mut record = [0u8; 1024];
        bytes.extend_from_slice(postcard::to_slice(d, &mut record).unwrap());
        prev = log::entry_hash(&bytes);
        entries.push(bytes);
    }
    let mut log = DecisionLog::resume(LogAnchor {
        count: 2,
        head: prev,
    });
    let mut buf = [0u8; 2048];
    let released = message_report(Some(decided[2].clone()));
    let refused = message_report(None);
    entries.push(log.append_message(&released, &mut buf).unwrap().to_vec());
    entries.push(log.append_message(&refused, &mut buf).unwrap().to_vec());
    entries.push(log.append(&decided[3], &mut buf).unwrap().to_vec());
    let anchor = log.anchor();
    assert_eq!(verify(&entries, Some(anchor)), Ok(anchor));
    let read: Vec<log::LogEntry> = entries
        .iter()
        .map(|e| log::LogEntry::read(e).unwrap())
        .collect();
    assert_eq!(
        read.iter().map(|e| e.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(read[0].record, log::Record::Decision(decided[0].clone()));
    assert_eq!(read[2].record, log::Record::Message(released));
    assert_eq!(read[3].record, log::Record::Message(refused));
    assert_eq!(read[3].decision(), None);
    assert_eq!(read[4].decision(), Some(&decided[3]));
    // The format byte is covered by the chain: a message entry passed off as a decision no
    // longer reads, and an unknown format is not an entry.
    let mut changed = entries.clone();
    changed[2][7] = log::FORMAT_DECISION;
    assert!(verify(&changed, Some(anchor)).is_err());
    changed[2][7] = 9;
    assert_eq!(
        verify(&changed, Some(anchor)),
        Err(LogFault::Malformed { position: 2 })
    );
}
