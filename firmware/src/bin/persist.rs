//! The trust journal across a reset, on the target: admit, reset, restore, refuse again.
//!
//! First boot (QEMU has just zeroed the journal's region): the sample coalition's credentials
//! and policies are admitted through the adjunct, then GBR's revocation of translator 1 and
//! three later deltas, then the translators: translator 1 is refused (revoked). Everything
//! admitted is in the journal. The image then asks for a system reset (SYSRESETREQ), which
//! QEMU carries out as a board reset: the image is reloaded, RAM outside it is kept, so the
//! journal is where a real part's flash would be.
//!
//! Second boot: the adjunct replays the journal through admission, and the image checks that
//! the revocation state came back (GBR at seq 4), that translator 1 is refused again while
//! the other is held, and that the release decision is the one before the reset; it reports
//! the restore's cost in instructions (`-icount shift=0`) and exits QEMU with its verdict.
//! Without the journal the second boot would hold nothing and admit translator 1 again.

#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::ptr::{addr_of, addr_of_mut};

use cortex_m_semihosting::hprintln;
use panic_semihosting as _;

use skywave_firmware::adjunct::Adjunct;
use skywave_firmware::board::flash::{self, RamNor};
use skywave_firmware::console;
use skywave_firmware::measure::Stopwatch;
use skywave_firmware::{board, stack};
use skywave_persist::{FlashJournal, Journal, ReplayStats};
use skywave_protocol::policy::{CategoryValue, Domain, Kind, Label, Refusal, Signed, Verdict};
use skywave_protocol::time::Instant;

/// The sample coalition, GBR's revocation deltas 1 to 4 and the home policy of the decision
/// after them (written by build.rs).
mod vectors {
    include!(concat!(env!("OUT_DIR"), "/persist_vectors.rs"));
}

static mut ADJUNCT: MaybeUninit<Adjunct> = MaybeUninit::uninit();
// SAFETY (of `RamNor::new`): this is the only `RamNor`, and nothing else uses the region.
static mut JOURNAL: FlashJournal<RamNor> =
    FlashJournal::new(unsafe { RamNor::new() }, 0..flash::SIZE as u32);

/// GBR SECRET data of operation HERRICK (2:11), for USA: the self-test's question.
const HERRICK: [CategoryValue; 1] = [CategoryValue { tag: 2, value: 11 }];

skywave_firmware::entry!(run);

fn run() -> ! {
    let mut clock = board::start_clock();
    // SAFETY: `run` runs once and is the only code that names these statics.
    let (slot, journal) = unsafe {
        (
            &mut *addr_of_mut!(ADJUNCT),
            &*addr_of!(JOURNAL) as &FlashJournal<RamNor>,
        )
    };
    let fresh = journal.with_flash(|f| f.blank()).unwrap_or(false);
    if fresh && journal.format().is_err() {
        fail("cannot erase the journal's region");
    }
    let watch = Stopwatch::start();
    let Ok(adjunct) = Adjunct::start(slot, clock.now(), Some(journal as &dyn Journal)) else {
        fail("start")
    };
    let restore_insns = watch.nanos();
    let restored = match adjunct.restored() {
        Some(Ok(r)) => r,
        Some(Err(e)) => {
            hprintln!("persist: restore failed: {}", e);
            fail("restore")
        }
        None => fail("no journal"),
    };
    let now = clock.now();
    match (fresh, restored.read) {
        (true, 0) => first_boot(adjunct, now),
        (false, n) if n > 0 => second_boot(adjunct, now, restored, restore_insns),
        // A journal that was formatted but holds nothing after a reset lost everything (and
        // a first boot again would reset forever).
        _ => fail("the journal came back empty after the reset"),
    }
}

fn is_translator(bytes: &[u8]) -> bool {
    Signed::decode(bytes).is_ok_and(|s| s.artifact.kind() == Kind::Translator)
}

/// Admits the coalition, the revocations, then the translators; resets.
fn first_boot(adjunct: &mut Adjunct, now: Instant) -> ! {
    hprintln!("persist: first boot, journal empty");
    let before = vectors::ARTIFACTS.iter().filter(|a| !is_translator(a));
    for bytes in before.chain(vectors::REVOCATIONS) {
        if adjunct.publish(now, bytes).is_err() {
            fail("an artifact of the sample coalition was refused");
        }
    }
    let refused = translators(adjunct, now);
    if refused != 1 {
        fail("translator 1 was not refused after its revocation");
    }
    report_state(adjunct, "before reset");
    hprintln!("persist: resetting (SYSRESETREQ)");
    cortex_m::peripheral::SCB::sys_reset()
}

/// Offers every translator of the coalition; how many were refused as revoked (any other
/// refusal fails the test).
fn translators(adjunct: &mut Adjunct, now: Instant) -> u32 {
    let mut revoked = 0;
    for bytes in vectors::ARTIFACTS.iter().filter(|a| is_translator(a)) {
        match adjunct.publish(now, bytes) {
            Ok(_) => {}
            Err(Refusal::RevokedArtifact { .. }) => revoked += 1,
            Err(_) => fail("a translator was refused for another reason"),
        }
    }
    revoked
}

/// Prints the revocation state and the release decision, and checks the decision is the
/// host's: release on GBR's home policy (the translator is revoked and never held, so the
/// basis is home_only).
fn report_state(adjunct: &Adjunct, when: &str) {
    let node = adjunct.station().node();
    let label = Label {
        domain: Domain(*b"GBR"),
        policy: 1,
        classification: 3,
        categories: &HERRICK,
    };
    let d = node.decide(&label, Domain(*b"USA"), None);
    let home = d.lineage.home.as_ref().map(|r| r.digest.0);
    if !matches!(d.verdict, Verdict::Release) || home != vectors::REVOKED_HOME {
        fail("the release decision is not the host's");
    }
    hprintln!(
        "persist: {} decision=release basis={}",
        when,
        console::basis_keyword(&d.basis)
    );
    for (domain, seq) in node.trust().revocation_seqs() {
        hprintln!("persist: {} revocation {} seq={}", when, domain, seq);
    }
}

fn second_boot(adjunct: &mut Adjunct, now: Instant, r: ReplayStats, insns: u64) -> ! {
    hprintln!("persist: second boot, journal restored");
    let gbr = adjunct
        .station()
        .node()
        .trust()
        .revocation_seqs()
        .find(|(d, _)| *d == Domain(*b"GBR"))
        .map(|(_, seq)| seq);
    let expected_seq = vectors::REVOCATIONS.len() as u32;
    if gbr != Some(expected_seq) {
        fail("GBR's revocation sequence did not survive the reset");
    }
    if translators(adjunct, now) != 1 {
        fail("translator 1 was not refused after the reset");
    }
    report_state(adjunct, "after reset");
    hprintln!(
        "measure restore_insns={} records={} admitted={} refused={} passes={} revocations={} per_record_insns={} stack_peak={}",
        insns,
        r.read,
        r.admitted,
        r.refused,
        r.passes,
        expected_seq,
        insns / u64::from(r.read.max(1)),
        stack::peak()
    );
    hprintln!("persist: PASS");
    board::halt(true)
}

fn fail(what: &str) -> ! {
    hprintln!("persist: FAIL {}", what);
    board::halt(false)
}
