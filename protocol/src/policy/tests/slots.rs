//! A board's trust store with policy and translator slots smaller than the largest artifact
//! (`HELD`, the firmware's RAM): what does not fit is refused by name and changes nothing,
//! and what fits is admitted as on a host.

use std::vec::Vec;

use super::super::encoding::{Kind, Signed};
use super::super::sample::{Coalition, NOW};
use super::super::store::{Refusal, Table, TrustStore};

/// A board-sized store: the host's tables, but slots of `HELD` bytes.
type Board<const HELD: usize> = TrustStore<16, 8, 8, 32, 0, HELD>;

fn with_roots<const HELD: usize>(c: &Coalition) -> Board<HELD> {
    let mut store = Board::<HELD>::empty();
    for root in c.roots() {
        store.add_root(&root, Some(NOW)).unwrap();
    }
    store
}

#[test]
fn a_policy_or_translator_longer_than_a_slot_is_refused_and_changes_nothing() {
    const SLOT: usize = 200;
    let c = Coalition::new();
    let mut store = with_roots::<SLOT>(&c);
    let mut refused = 0;
    for artifact in c.artifacts() {
        let table = match Signed::decode(&artifact).unwrap().artifact.kind() {
            Kind::Policy => Some(Table::Policies),
            Kind::Translator => Some(Table::Translators),
            _ => None,
        };
        match table.filter(|_| artifact.len() > SLOT) {
            Some(table) => {
                let before = store.clone();
                let refusal = Refusal::SlotTooSmall {
                    table,
                    len: artifact.len(),
                    slot: SLOT,
                };
                assert_eq!(store.admit(&artifact, Some(NOW)), Err(refusal));
                assert!(store == before, "a refusal changed the store");
                refused += 1;
            }
            None => assert!(store.admit(&artifact, Some(NOW)).is_ok()),
        }
    }
    // The sample's GBR policy (222 bytes) does not fit; the others (196 and 109) do.
    assert_eq!(refused, 1);
}

#[test]
fn slots_as_long_as_the_longest_artifact_hold_the_whole_coalition() {
    let c = Coalition::new();
    let longest = c.artifacts().iter().map(Vec::len).max().unwrap();
    assert_eq!(
        longest, 222,
        "the sample coalition changed: update the slot below"
    );
    let mut store = with_roots::<222>(&c);
    for artifact in c.artifacts() {
        assert!(
            store
                .admit(&artifact, Some(NOW))
                .is_ok_and(|a| !a.duplicate)
        );
    }
    assert_eq!(store.artifacts().count(), 3 + c.artifacts().len());
}
