//! The drivers' shared scenario (`skywave_protocol::testkit`, docs/drivers.md) with the
//! adjunct's own driver as node B: a host build of this library runs [`Adjunct`] as the board
//! does (its `BoardNode` with the board's trust store, arena storage and trust journal, its
//! `BoardLink`, the provisioned settings), fed and polled only through `radio_input` and
//! `poll`, the calls the main loop makes; node A is the reference's station and the channel the
//! reference's. Its `event` lines on the console, mapped to the trace's form, must be the
//! reference's for a node B with the adjunct's settings (`testkit::reference_for`), line for
//! line; so must node A's.
//!
//! Host only (`cargo test --lib --target x86_64-unknown-linux-gnu` in `firmware/`, which
//! scripts/test.sh runs): the image carries none of it.

use std::boxed::Box;
use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use core::mem::MaybeUninit;

use skywave_persist::{FlashJournal, Journal};
use skywave_protocol::policy::Kind;
use skywave_protocol::station::LinkId;
use skywave_protocol::testkit::{self, Driver, OnAir, Setup, Trace};
use skywave_protocol::time::{Duration, Instant};

use crate::adjunct::{Adjunct, BoardLink, Radio};
use crate::board::flash::{self, RamNor};
use crate::provision;

/// The adjunct as node B, driven as the main loop drives it: a frame's bytes go to
/// `radio_input` as they come off the radio UART, and `poll` runs at that instant and every
/// millisecond of SysTick after it.
struct Board {
    adjunct: &'static mut Adjunct,
    /// The main loop's next pass with a new SysTick reading.
    next: Instant,
}

/// The radio UART: what `poll` writes to it, one D_PDU per `send`.
struct Uart(Vec<Vec<u8>>);

impl Radio for Uart {
    fn send(&mut self, bytes: &[u8]) {
        self.0.push(bytes.to_vec());
    }
}

impl Board {
    /// Starts the adjunct at protocol time zero as `main` does: the trust journal (the board's
    /// `RamNor`, over the host's stand-in for its region) erased once, then `Adjunct::start`.
    fn start() -> Self {
        // SAFETY: the only `RamNor` of this process: no other test makes one.
        let flash = unsafe { RamNor::new() };
        let journal = Box::leak(Box::new(FlashJournal::new(flash, 0..flash::SIZE as u32)));
        if journal.with_flash(|f| f.blank()).unwrap_or(false) {
            assert!(journal.format().is_ok(), "the journal formats");
        }
        let slot = Box::leak(Box::new(MaybeUninit::uninit()));
        let journal: &'static dyn Journal = journal;
        let adjunct = Adjunct::start(slot, Instant::ZERO, Some(journal));
        let adjunct = adjunct.unwrap_or_else(|e| panic!("the adjunct starts: {e}"));
        Board {
            adjunct,
            next: Instant::ZERO,
        }
    }

    /// The settings the adjunct runs with, as the reference takes them: the provisioned
    /// address, node SAP and modem; its link's window and bound SAPs, read from the link it
    /// built; seeded with its address; no wall clock.
    fn setup(&self) -> Setup {
        let link = self.adjunct.station().link(LinkId(0));
        let link = link.unwrap_or_else(|| panic!("the adjunct has its radio link"));
        Setup {
            b: provision::ADDRESS,
            node_sap: provision::SAP,
            modem: provision::MODEM,
            b_jitter_seed: provision::ADDRESS,
            b_arq_window: link.config().arq_window,
            b_bound_saps: link.bound_saps(),
            b_wall_clock: None,
        }
    }

    /// One pass of the main loop's `poll` at `now`: the D_PDUs it wrote to the radio UART go
    /// on the air, its console lines into `trace`.
    fn pass(&mut self, now: Instant, air: &mut Vec<OnAir>, trace: &mut Trace) {
        let mut radio = Uart(Vec::new());
        let mut console = String::new();
        self.adjunct.poll(now, &mut radio, &mut console);
        air.extend(radio.0.into_iter().map(|frame| OnAir {
            frame,
            planned: None,
        }));
        for line in console.lines() {
            trace.push_line(&canonical(line));
        }
        self.next = now + Duration::from_millis(1);
    }
}

impl Driver for Board {
    fn hear(&mut self, now: Instant, frame: &[u8], air: &mut Vec<OnAir>, trace: &mut Trace) {
        self.adjunct.radio_input(now, frame);
        self.pass(now, air, trace);
    }

    fn wake_up(&mut self, now: Instant, air: &mut Vec<OnAir>, trace: &mut Trace) {
        self.pass(now, air, trace);
    }

    fn wake(&self) -> Option<Instant> {
        Some(self.next)
    }
}

/// An `event` line of `Adjunct::report` in the trace's form: `event ` dropped, addresses named
/// `A` and `B`, an artifact (`kind/domain/id/vversion/digest`) by kind, domain, id and version.
/// Any other line is kept whole, so it differs from every line of the reference.
fn canonical(line: &str) -> String {
    let Some(event) = line.strip_prefix("event ") else {
        return format!("console: {line}");
    };
    let words: Vec<String> = event.split(' ').map(word).collect();
    words.join(" ")
}

/// One word of an `event` line in the trace's form.
fn word(w: &str) -> String {
    for key in ["peer=", "from=", "to="] {
        if let Some(a) = w.strip_prefix(key).and_then(|a| a.parse::<u32>().ok()) {
            let name = match a {
                testkit::A => "A".to_string(),
                provision::ADDRESS => "B".to_string(),
                other => format!("{other}"),
            };
            return format!("{key}{name}");
        }
    }
    let parts: Vec<&str> = w.split('/').collect();
    if let [kind, domain, id, version, _digest] = parts[..]
        && let Some(kind) = (1..=6)
            .filter_map(Kind::from_tag)
            .find(|k| k.name() == kind)
        && let Some(version) = version.strip_prefix('v')
    {
        return format!("{kind:?} {domain} id={id} version={version}");
    }
    w.to_string()
}

// What this catches, tried by hand on `Adjunct::poll`: leaving out its event polls (or any
// line `report` writes wrong) fails at node B's first line. Reordering its calls does not: with
// the transmit polls before the timer, the events polled only on passes that serve the timer,
// every poll left to the previously armed instant (a driver that sleeps until its timer), the
// timer served 5 s late or only at exactly its instant, the station catches up (the timer
// contract, docs/drivers.md) and in this scenario node B only answers node A, so every node
// reports the same events and the test passes, as the agent's test does with such changes.
#[test]
fn the_adjunct_reports_what_the_reference_driver_reports() {
    let mut board = Board::start();
    let setup = board.setup();
    let reference = testkit::reference_for::<BoardLink>(&setup);
    assert!(
        reference[1]
            .lines()
            .iter()
            .any(|l| l.starts_with("admitted Revocation GBR id=1 version=1 from=A")),
        "the reference carries the artifact to B: {reference:?}"
    );
    let traces = testkit::against_driver(&setup, &mut board);
    let mut report = String::new();
    for (node, (ours, theirs)) in ["A", "B"].iter().zip(reference.iter().zip(&traces)) {
        if let Some(diff) = ours.diff("reference", theirs, "adjunct") {
            report.push_str(&format!("node {node}: {diff}"));
        }
    }
    assert!(report.is_empty(), "the adjunct differs:\n{report}");
}
