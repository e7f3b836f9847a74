//! The journal under a real node: the sample coalition and four GBR revocation deltas are
//! published into a node whose storage records into a journal on the simulated NOR part, and
//! the power fails at a word of some record. After power-up a new node (roots only) replays
//! the journal through its own admission; its trust store must be exactly that of a node that
//! admitted the artifacts before the cut, or those and the one being recorded: every
//! revocation reported admitted is still in force, nothing half-admitted, nothing extra.

mod common;

use std::collections::BTreeSet;

use common::SimFlash;
use skywave_persist::{FlashJournal, Journal, Persisted, Replayed};
use skywave_protocol::node::{Config, HeapStorage, Node};
use skywave_protocol::policy::sample::{self, Coalition, GBR};
use skywave_protocol::policy::{Artifact, Digest, Domain, Revoked, Signed, TrustStore};
use skywave_protocol::time::Instant;

type TestNode = Node<Persisted<HeapStorage>>;

/// What a node holds, as decisions see it: the artifacts in force and each domain's
/// revocation sequence.
type Held = (BTreeSet<[u8; 32]>, Vec<(Domain, u32)>);

/// What `node` holds in force. GBR's delta `seq` revokes GBR's translator `seq`: a node that
/// admitted the translator before the delta still holds it, revoked, while the journal drops
/// its record once the delta is recorded (a restarted node never holds it), so a revoked
/// translator is not counted.
fn held(node: &TestNode) -> Held {
    let seqs: Vec<(Domain, u32)> = node.trust().revocation_seqs().collect();
    let gbr_seq = seqs.iter().find(|(d, _)| *d == GBR).map_or(0, |(_, s)| *s);
    let revoked = |bytes: &[u8]| {
        Signed::decode(bytes).is_ok_and(|s| {
            matches!(s.artifact, Artifact::Translator(t) if t.from.domain == GBR && t.id <= gbr_seq)
        })
    };
    let artifacts = node
        .trust()
        .artifacts()
        .filter(|a| !revoked(a))
        .map(|a| Digest::of(a).0)
        .collect();
    (artifacts, seqs)
}

fn node(c: &Coalition, journal: Option<&'static dyn Journal>) -> Box<TestNode> {
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, None).expect("sample root");
    }
    let storage = Persisted::new(HeapStorage::default(), journal);
    Box::new(Node::new(Config::new(13), trust, storage, None))
}

/// The coalition, then GBR's deltas 1 to 4.
fn artifacts(c: &Coalition) -> Vec<Vec<u8>> {
    let mut all = c.artifacts();
    for seq in 1..=4u32 {
        let entries = [Revoked::Translator {
            id: seq,
            version: 1,
        }];
        let delta = sample::revocation(GBR, &c.gbr_root, seq, &entries);
        all.push(sample::sign(&c.gbr_root, &Artifact::Revocation(delta)));
    }
    all
}

fn journal(flash: SimFlash) -> &'static FlashJournal<SimFlash> {
    let range = 0..flash.bytes.len() as u32;
    Box::leak(Box::new(FlashJournal::new(flash, range)))
}

/// Powers up on `flash` and replays its journal into a new node.
fn restart(c: &Coalition, flash: SimFlash) -> Box<TestNode> {
    let j = journal(flash);
    let mut n = node(c, Some(j));
    j.replay(&mut |bytes| match n.publish(Instant::ZERO, None, bytes) {
        Ok(a) if a.duplicate => Replayed::Duplicate,
        Ok(_) => Replayed::Admitted,
        Err(_) => Replayed::Refused,
    })
    .expect("replay after a power cut");
    n
}

#[test]
fn a_restarted_node_holds_what_it_held_before_or_after_the_cut_record() {
    const PAGES: usize = 4;
    let c = Coalition::new();
    let all = artifacts(&c);
    // What a node holds after admitting the first k artifacts, without any journal.
    let mut reference = node(&c, None);
    let mut expected = vec![held(&reference)];
    for a in &all {
        reference
            .publish(Instant::ZERO, None, a)
            .expect("sample artifact");
        expected.push(held(&reference));
    }
    assert_eq!(expected[all.len()].1.first(), Some(&(GBR, 4)));

    // Word operations of the whole sequence with a supply that holds.
    let j = journal(SimFlash::new(PAGES, 7));
    let mut n = node(&c, Some(j));
    for a in &all {
        n.publish(Instant::ZERO, None, a).expect("admitted");
    }
    let total = j.with_flash(|f| f.done).expect("idle");
    assert_eq!(
        held(&restart(
            &c,
            j.with_flash(|f| f.power_up(None)).expect("idle")
        )),
        expected[all.len()]
    );

    // A cut at every third word operation (every one takes minutes; the byte-level test cuts
    // at every word).
    for cut in (0..total).step_by(3) {
        let j = journal(SimFlash::new(PAGES, cut).power_up(Some(cut)));
        let mut n = node(&c, Some(j));
        // Admissions completed (reported) before the power failed.
        let mut reported = 0;
        for a in &all {
            n.publish(Instant::ZERO, None, a).expect("admitted");
            if j.with_flash(|f| f.dead).expect("idle") {
                break;
            }
            reported += 1;
        }
        let flash = j.with_flash(|f| f.power_up(None)).expect("idle");
        let restored = held(&restart(&c, flash));
        assert!(
            restored == expected[reported] || restored == expected[(reported + 1).min(all.len())],
            "cut at word {cut} of {total}: after {reported} admissions the restarted node holds \
             neither that state nor the next"
        );
    }
}
