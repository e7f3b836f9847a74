//! The drivers' shared scenario (`crate::testkit`: two stations on one channel, one artifact,
//! one client message) under the driving loops of the firmware, the coalition simulator and
//! the station tests, each restated over [`Net`]'s idealised channel with its driver's
//! schedule: the firmware polls everything every millisecond (`Adjunct::poll`), the simulator
//! serves one station per queued arrival or wake-up (`coalition.rs`'s `service`), the station
//! tests serve every station per step (`Net::run`). Each must give the reference driver's
//! traces (`testkit::reference`): a difference is a station whose behaviour depends on how a
//! driver that keeps the contract schedules its calls.
//!
//! The real drivers run the same scenario against the same reference: the agent's `Core` and
//! the simulator's `Sim` in `tools/tests/drivers.rs`. The firmware's adjunct does not yet; its
//! reference, computed for the B it is (`testkit::reference_for`), is pinned down below
//! (docs/drivers.md, "Not done yet").

use super::*;
use crate::testkit::{self, RUN_FOR, Scenario, Trace};

/// How a driver schedules the station's calls.
#[derive(Clone, Copy, Debug)]
enum Loop {
    /// The station tests' stepper.
    Stepper,
    /// The firmware's main loop: every millisecond, each station in turn: frames in, the timer
    /// if due, transmit, events.
    Firmware,
    /// The simulator's event queue: one arrival or wake-up at a time, then that station's
    /// transmissions, events and next wake-up.
    Simulator,
}

impl Net {
    /// Runs for `span` the firmware's way.
    fn run_polled(&mut self, span: Duration) {
        let end = self.now + span;
        while self.now < end {
            self.now = self.now + Duration::from_millis(1);
            for s in 0..self.stations.len() {
                self.deliver(Some(s));
                let now = self.now;
                if self.stations[s].poll_timeout().is_some_and(|t| t <= now) {
                    self.stations[s].handle_timeout(now, Some(NOW));
                }
                self.transmit_from(s);
                self.take_events(s);
            }
        }
    }

    /// Runs for `span` the simulator's way.
    fn run_queued(&mut self, span: Duration) {
        let end = self.now + span;
        let mut wakes: Vec<Option<Instant>> = std::vec![None; self.stations.len()];
        for s in 0..self.stations.len() {
            self.serve(s, &mut wakes);
        }
        let mut stuck = 0;
        loop {
            let next_frame = self.flights.iter().map(|f| f.0).min();
            let next_wake = wakes.iter().flatten().min().copied();
            let next = next_frame.into_iter().chain(next_wake).min();
            if !self.advance(next, end, &mut stuck) {
                return;
            }
            let next = self.now;
            if next_frame == Some(next) {
                for to in self.deliver(None) {
                    self.serve(to, &mut wakes);
                }
            } else if let Some(s) = wakes.iter().position(|w| *w == Some(next)) {
                wakes[s] = None;
                self.stations[s].handle_timeout(next, Some(NOW));
                self.serve(s, &mut wakes);
            }
        }
    }

    /// The simulator's service of station `s`: transmissions, events, next wake-up.
    fn serve(&mut self, s: usize, wakes: &mut [Option<Instant>]) {
        self.transmit_from(s);
        self.take_events(s);
        let now = self.now;
        wakes[s] = self.stations[s].poll_timeout().map(|t| t.max(now));
    }

    /// Hands the frames that have arrived by now to their stations (only to `only`, if
    /// given), in the order they were sent; returns the stations that took one.
    fn deliver(&mut self, only: Option<usize>) -> Vec<usize> {
        let now = self.now;
        let (due, later): (Vec<Flight>, Vec<Flight>) = self
            .flights
            .drain(..)
            .partition(|f| f.0 <= now && only.is_none_or(|s| f.1 == s));
        self.flights = later;
        let mut took = Vec::new();
        for (_, to, l, frame) in due {
            if self.hears(to, l) {
                let _ = self.stations[to].handle_input(now, Some(NOW), l, &frame);
                took.push(to);
            }
        }
        took
    }
}

/// The scenario, driven by `driver`: each station's trace.
fn scenario(driver: Loop) -> Vec<Trace> {
    let script = Scenario::new();
    let c = script.coalition();
    let mut net = Net::new(c, 2, &[&[0, 1]], &[], Fanout::DEFAULT);
    let now = net.now;
    let artifact = script.artifact();
    net.publish(0, &artifact);
    net.stations[0]
        .submit(now, LinkId(0), &Scenario::client_message(now, testkit::B))
        .unwrap();
    match driver {
        Loop::Stepper => net.run(RUN_FOR, |_, _| false),
        Loop::Firmware => net.run_polled(RUN_FOR),
        Loop::Simulator => net.run_queued(RUN_FOR),
    }
    assert!(
        net.holds(1).contains(&Digest::of(&artifact)),
        "{driver:?}: the artifact crossed"
    );
    net.traces
}

/// What the scenario must show, beside being the same under every driver: node B got the
/// artifact and the message, node A heard its message was delivered.
fn check_reference(traces: &[Trace]) {
    let has = |t: &Trace, prefix: &str| t.lines().iter().any(|l| l.starts_with(prefix));
    assert!(has(&traces[0], "delivered client#0"), "{:?}", traces[0]);
    assert!(
        has(&traces[1], "admitted Revocation GBR"),
        "{:?}",
        traces[1]
    );
    let received = std::format!(
        "received from=A sap={}>{}",
        testkit::CLIENT_SRC_SAP,
        testkit::CLIENT_DEST_SAP
    );
    assert!(has(&traces[1], &received), "{:?}", traces[1]);
}

#[test]
fn three_driving_loops_see_the_same_events_in_the_same_order() {
    let reference = testkit::reference();
    check_reference(&reference);
    for driver in [Loop::Stepper, Loop::Firmware, Loop::Simulator] {
        let traces = scenario(driver);
        for (s, (ours, theirs)) in reference.iter().zip(&traces).enumerate() {
            if let Some(report) = ours.diff("reference", theirs, &std::format!("{driver:?}")) {
                panic!("node {}: {report}", ["A", "B"][s]);
            }
        }
    }
}

/// The adjunct's node B as the example provisioning builds it (`firmware/provision/example.toml`
/// and `firmware/src/adjunct.rs`): address 42, node SAP 13, a 200 ms preamble and interleaver,
/// seeded with its address, `BoardLink`'s shape (window 2 over 4 receive slots), only the node
/// SAP bound (it serves no clients) and no wall clock.
fn adjunct_setup() -> testkit::Setup {
    testkit::Setup {
        b: 42,
        node_sap: 13,
        modem: Modem {
            preamble: Duration::from_millis(200),
            interleaver: Duration::from_millis(200),
            ..Modem::hf_2400_short()
        },
        b_jitter_seed: 42,
        b_arq_window: 2,
        b_bound_saps: 1 << 13,
        b_wall_clock: None,
    }
}

/// The firmware's `BoardLink`: 2 queued client C_PDUs of one full artifact each (and the
/// link's own in its control places), 4 receive slots, full segments, 2 expedited slots, one
/// non-ARQ C_PDU, one inbox entry.
type AdjunctLink = Link<
    2,
    { crate::policy::MAX_ARTIFACT_LEN + 1 + crate::link::pdu::MAX_CPDU_OVERHEAD },
    4,
    { crate::wire::MAX_SEGMENT_LEN },
    2,
    1,
    1,
>;

/// The reference computed for the adjunct's B: what the firmware's own loop must report when
/// it plays node B. The artifact and the message cross as in the script; B, binding no client
/// SAP, reports no `received` line (the link delivers the U_PDU to nobody) while A still hears
/// it delivered; and the script's settings given explicitly are the script's reference.
#[test]
fn the_reference_takes_node_bs_settings() {
    assert_eq!(
        testkit::reference_for::<crate::link::HostLink>(&testkit::Setup::script()),
        testkit::reference()
    );
    let [a, b] = testkit::reference_for::<AdjunctLink>(&adjunct_setup());
    let lines = |t: &Trace| t.lines().join("\n");
    let has = |t: &Trace, prefix: &str| t.lines().iter().any(|l| l.starts_with(prefix));
    assert!(has(&a, "delivered client#0"), "{}", lines(&a));
    assert!(
        has(&b, "admitted Revocation GBR id=1 version=1 from=A"),
        "{}",
        lines(&b)
    );
    assert!(has(&b, "link-up peer=A"), "{}", lines(&b));
    assert!(!has(&b, "received"), "{}", lines(&b));
    let unnamed = |t: &Trace| t.lines().iter().any(|l| l.contains("42"));
    assert!(!unnamed(&a) && !unnamed(&b), "{}\n{}", lines(&a), lines(&b));
}
