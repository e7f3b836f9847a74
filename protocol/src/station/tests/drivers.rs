//! One scripted scenario (two stations on one channel, one artifact, one client message)
//! under the driving loops of the firmware, the coalition simulator and the station tests: the
//! stations report the same events in the same order whichever loop drives them. A difference
//! is a station whose behaviour depends on how a driver that keeps the contract schedules its
//! calls.
//!
//! The loops are restated here over [`Net`]'s idealised channel, each with its driver's
//! schedule: the firmware polls everything every millisecond (`Adjunct::poll`), the simulator
//! serves one station per queued arrival or wake-up (`coalition.rs`'s `service`), the station
//! tests serve every station per step (`Net::run`). The host agent's loop is the simulator's
//! (one feed, then the polls) with real time; it is not run here (docs/drivers.md, not done).

use super::*;

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

/// The script, driven by `driver`: what each station reported, in order.
fn scenario(driver: Loop) -> Vec<Vec<String>> {
    let c = Coalition::new();
    let mut net = Net::new(&c, 2, &[&[0, 1]], &[], Fanout::DEFAULT);
    for s in 0..2 {
        net.take_events(s);
    }
    let now = net.now;
    let artifact = &c.artifacts()[0];
    net.publish(0, artifact);
    let message = client(2, b"one client message", now + minutes(10));
    net.stations[0].submit(now, LinkId(0), &message).unwrap();
    match driver {
        Loop::Stepper => net.run(minutes(4), |_, _| false),
        Loop::Firmware => net.run_polled(minutes(4)),
        Loop::Simulator => net.run_queued(minutes(4)),
    }
    assert!(
        net.holds(1).contains(&Digest::of(artifact)),
        "{driver:?}: the artifact crossed"
    );
    net.log
}

#[test]
fn three_driving_loops_see_the_same_events_in_the_same_order() {
    let reference = scenario(Loop::Stepper);
    assert!(
        reference[1]
            .iter()
            .any(|e| e.starts_with("received") && e.ends_with("one client message")),
        "{:?}",
        reference[1]
    );
    assert!(reference[0].iter().any(|e| e.starts_with("Delivered")));
    for driver in [Loop::Firmware, Loop::Simulator] {
        let log = scenario(driver);
        for s in 0..2 {
            assert_eq!(log[s], reference[s], "station {s} under {driver:?}");
        }
    }
}
