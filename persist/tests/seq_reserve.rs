//! The label binding's sequence reservation in the journal (`Journal::reserve_seq`): a node
//! reserves a block of numbers ahead before it sends a message sealed with one, and restarts
//! from the first number not reserved, so a power cut can skip numbers but never reuse one
//! (a receiver refuses a number it saw as a replay). The reservation lives beside the
//! artifact records, so it must survive their compaction and removals and never be offered
//! to admission.

mod common;

use common::{PAGE, SimFlash, WORD};
use skywave_persist::{FlashJournal, Journal, Replayed};
use skywave_protocol::policy::{ArtifactRef, Digest, Domain, Kind};

/// Numbers reserved at a time (the adjunct's block).
const BLOCK: u64 = 64;

fn journal(flash: SimFlash) -> &'static FlashJournal<SimFlash> {
    let range = 0..flash.bytes.len() as u32;
    Box::leak(Box::new(FlashJournal::new(flash, range)))
}

/// A policy record of `len` bytes, id `id` (records of one id replace one another).
fn policy(id: u32, len: usize) -> (ArtifactRef, Vec<u8>) {
    let mut bytes = vec![Kind::Policy as u8];
    bytes.extend_from_slice(&id.to_le_bytes());
    bytes.extend((0..len).map(|b| (b as u8) ^ (id as u8)));
    let artifact = ArtifactRef {
        kind: Kind::Policy,
        domain: Domain(*b"GBR"),
        id,
        version: 1,
        digest: Digest::of(&bytes),
    };
    (artifact, bytes)
}

/// What a replay offers: every record's bytes.
fn offered(j: &FlashJournal<SimFlash>) -> Vec<Vec<u8>> {
    let mut seen = Vec::new();
    j.replay(&mut |bytes| {
        seen.push(bytes.to_vec());
        Replayed::Admitted
    })
    .expect("replays");
    seen
}

#[test]
fn the_reservation_survives_a_restart_and_is_no_record() {
    let j = journal(SimFlash::new(3, 7));
    assert_eq!(j.seq_reserved(), Ok(1), "a new journal: from 1");
    j.reserve_seq(1 + BLOCK).expect("reserved");
    let (a, a_bytes) = policy(1, 100);
    let (b, b_bytes) = policy(2, 100);
    j.record(&a, &a_bytes).expect("recorded");
    j.record(&b, &b_bytes).expect("recorded");
    j.reserve_seq(1 + 2 * BLOCK).expect("reserved");

    let j = journal(j.with_flash(|f| f.power_up(None)).expect("idle"));
    assert_eq!(
        j.seq_reserved(),
        Ok(1 + 2 * BLOCK),
        "the newest reservation"
    );
    assert_eq!(offered(j), [a_bytes, b_bytes], "only artifacts are offered");
    // A removal that picks every key removes the records, not the reservation.
    assert_eq!(j.forget(&|_| true), Ok(2));
    assert_eq!(j.seq_reserved(), Ok(1 + 2 * BLOCK));
    assert!(offered(j).is_empty());
}

/// Records (enough to compact a 3-page region several times) with a reservation after each:
/// the last reservation that returned `Ok` (1: none) when the power fails or the sequence
/// ends.
fn fill(j: &FlashJournal<SimFlash>) -> u64 {
    let mut confirmed = 1;
    for i in 0..40u32 {
        let (artifact, bytes) = policy(i % 5, 200 + 53 * (i as usize % 7));
        if j.record(&artifact, &bytes).is_err() {
            break;
        }
        let until = 1 + u64::from(i + 1) * BLOCK;
        if j.reserve_seq(until).is_err() {
            break;
        }
        confirmed = until;
    }
    confirmed
}

/// [`fill`], the power cut at every word operation in turn. After each cut the journal holds
/// the last reservation that returned `Ok`, or the one being written when the power failed:
/// never less, so no number handed out before the cut is handed out again.
#[test]
fn a_cut_at_every_word_never_takes_a_reservation_back() {
    const SMALL: usize = 3;
    let j = journal(SimFlash::new(SMALL, 1));
    assert_eq!(
        fill(j),
        1 + 40 * BLOCK,
        "every reservation kept without a cut"
    );
    let total = j.with_flash(|f| f.done).expect("idle");
    let region = (SMALL * PAGE / WORD) as u64;
    assert!(total > region, "compaction ran: {total} word operations");
    for cut in 0..total {
        let j = journal(SimFlash::new(SMALL, cut).power_up(Some(cut)));
        let confirmed = fill(j);
        let mut j = journal(j.with_flash(|f| f.power_up(None)).expect("idle"));
        // A cut inside a compaction is repaired by the next search; if the first read after
        // power-up meets one, a second power-up reads the repaired map.
        let reserved = j.seq_reserved().unwrap_or_else(|_| {
            j = journal(j.with_flash(|f| f.power_up(None)).expect("idle"));
            j.seq_reserved().expect("readable after repair")
        });
        assert!(
            reserved == confirmed || reserved == confirmed + BLOCK,
            "cut at word {cut}: reserved {reserved}, confirmed {confirmed}"
        );
        assert!(
            offered(j).iter().all(|r| r[0] == Kind::Policy as u8),
            "cut at word {cut}: only records offered"
        );
    }
}
