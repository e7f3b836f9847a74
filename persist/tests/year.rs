//! A coalition running for a year: GBR publishes thousands of revocation deltas, with a
//! checkpoint every [`CHECKPOINT_EVERY`], into a node whose storage records into a journal of
//! a few pages. Before the journal removed what a checkpoint covers, every delta stayed in it
//! and it filled after a few dozen (`storage-failed`); now it never fills, and a node restarted
//! from it holds exactly what the live node holds.

mod common;

use std::collections::BTreeSet;

use common::{PAGE, SimFlash};
use skywave_persist::{FlashJournal, Journal, Persisted, Replayed};
use skywave_protocol::node::{Config, HeapStorage, Node, NodeEvent};
use skywave_protocol::policy::sample::{self, Coalition, GBR};
use skywave_protocol::policy::{Artifact, Checkpoint, Digest, Domain, Revoked, Signed, TrustStore};
use skywave_protocol::time::Instant;

type TestNode = Node<Persisted<HeapStorage>>;

/// Deltas published: about five a day for a year.
const DELTAS: u32 = 1_800;
/// A checkpoint after every this many deltas.
const CHECKPOINT_EVERY: u32 = 16;
/// The journal's region: seven 2 KiB pages, so 12 KiB hold records while one page is kept free
/// for compaction, as on the boards (16 KiB in four 4 KiB pages, firmware/memory-*.x); the
/// smaller pages only compact more often.
const PAGES: usize = 7;

fn node(c: &Coalition, journal: &'static dyn Journal) -> Box<TestNode> {
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, None).expect("sample root");
    }
    let storage = Persisted::new(HeapStorage::default(), Some(journal));
    Box::new(Node::new(Config::new(13), trust, storage, None))
}

/// What delta `seq` revokes: a newer version of one of four policies, so a checkpoint holds
/// four entries however long the history.
fn entry(seq: u32) -> Revoked {
    Revoked::Policy {
        id: 100 + seq % 4,
        version: seq,
    }
}

/// GBR's checkpoint at `seq`: the newest entry for each of the four policies.
fn checkpoint(c: &Coalition, seq: u32) -> Vec<u8> {
    let entries = (seq.saturating_sub(3)..=seq).filter(|&s| s > 0).map(entry);
    let body = Checkpoint {
        domain: GBR,
        signer: sample::public(&c.gbr_root).key_id(),
        seq,
        entries: entries.collect(),
    };
    sample::sign(&c.gbr_root, &Artifact::Checkpoint(body))
}

fn held(node: &TestNode) -> (BTreeSet<[u8; 32]>, Vec<(Domain, u32)>) {
    let artifacts = node.trust().artifacts().map(|a| Digest::of(a).0).collect();
    (artifacts, node.trust().revocation_seqs().collect())
}

/// Publishes `bytes`, failing the test if the node refuses it or cannot record it.
fn publish(n: &mut TestNode, bytes: &[u8], what: &str) {
    n.publish(Instant::ZERO, None, bytes)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    while let Some(event) = n.poll_event() {
        assert!(
            !matches!(event, NodeEvent::StorageFailed(_)),
            "{what}: the journal could not record it ({event:?})"
        );
    }
}

#[test]
fn a_year_of_deltas_and_checkpoints_never_fills_the_journal() {
    let c = Coalition::new();
    let flash = SimFlash::new(PAGES, 1);
    let region = 0..flash.bytes.len() as u32;
    let j: &'static FlashJournal<SimFlash> = Box::leak(Box::new(FlashJournal::new(flash, region)));
    let mut live = node(&c, j);
    for a in c.artifacts() {
        publish(&mut live, &a, "sample artifact");
    }
    for seq in 1..=DELTAS {
        let delta = sample::revocation(GBR, &c.gbr_root, seq, &[entry(seq)]);
        let delta = sample::sign(&c.gbr_root, &Artifact::Revocation(delta));
        publish(&mut live, &delta, &format!("delta {seq}"));
        if seq % CHECKPOINT_EVERY == 0 {
            publish(
                &mut live,
                &checkpoint(&c, seq),
                &format!("checkpoint {seq}"),
            );
        }
    }
    assert_eq!(live.trust().revocation_seqs().next(), Some((GBR, DELTAS)));

    // Restart from the journal: the same trust store, from a journal holding the coalition,
    // the last checkpoint and the deltas after it only.
    let flash = j.with_flash(|f| f.power_up(None)).expect("idle");
    let region = 0..flash.bytes.len() as u32;
    let restarted: &'static FlashJournal<SimFlash> =
        Box::leak(Box::new(FlashJournal::new(flash, region)));
    let mut n = node(&c, restarted);
    let mut deltas = Vec::new();
    let stats = restarted
        .replay(&mut |bytes| {
            if let Ok(s) = Signed::decode(bytes)
                && let Artifact::Revocation(r) = s.artifact
            {
                deltas.push(r.seq);
            }
            match n.publish(Instant::ZERO, None, bytes) {
                Ok(a) if a.duplicate => Replayed::Duplicate,
                Ok(_) => Replayed::Admitted,
                Err(_) => Replayed::Refused,
            }
        })
        .expect("replay");
    eprintln!(
        "after {DELTAS} deltas ({} checkpoints) in {} KiB: {} records replayed, {} admitted, {} \
         refused, {} passes",
        DELTAS / CHECKPOINT_EVERY,
        PAGES * PAGE / 1024,
        stats.read,
        stats.admitted,
        stats.refused,
        stats.passes
    );
    // The map may still hand back a superseded checkpoint that compaction has not yet dropped
    // (the same key): the deltas are what would pile up.
    let last_checkpoint = DELTAS - DELTAS % CHECKPOINT_EVERY;
    deltas.sort_unstable();
    assert_eq!(
        deltas,
        (last_checkpoint + 1..=DELTAS).collect::<Vec<_>>(),
        "the journal keeps the deltas after the last checkpoint, and only those"
    );
    assert_eq!(stats.refused, 0);
    assert_eq!(held(&n), held(&live));
}
