//! What both simulators' event loops (`skywave-sim run` and `skywave-sim coalition`) are made
//! of: the queue of events to come, and the progress of a run through them.
//!
//! The queue orders events by instant and simultaneous ones by the order they were queued, not
//! by what they are, so one seed reproduces a run exactly whatever the events hold.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use skywave_protocol::time::Instant;

/// Events to come, earliest first; simultaneous ones first queued, first out.
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<(Instant, u64, E)>>,
    /// Events queued so far: each event's place among simultaneous ones.
    queued: u64,
}

impl<E: Ord> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            queued: 0,
        }
    }
}

impl<E: Ord> EventQueue<E> {
    /// Queues `event` for `at`.
    pub fn push(&mut self, at: Instant, event: E) {
        self.queued += 1;
        // The sequence number is unique, so `E`'s own order never decides.
        self.heap.push(Reverse((at, self.queued, event)));
    }

    /// Takes the next event and its instant, unless none is due by `end`.
    pub fn pop_until(&mut self, end: Instant) -> Option<(Instant, E)> {
        let Reverse((at, _, event)) = self.heap.pop()?;
        (at <= end).then_some((at, event))
    }
}

/// A run's way through its events: how many it took, how long that took on the wall clock,
/// and, when asked for, a progress bar on stderr in simulated seconds.
pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    events: u64,
    started: std::time::Instant,
}

/// Events between moves of the bar: moving it costs more than a cheap event.
const EVENTS_PER_BAR_MOVE: u64 = 1024;

impl Progress {
    /// Starts the wall clock, and a bar up to `end` if `show`.
    pub fn start(show: bool, end: Instant) -> Self {
        let bar = show.then(|| {
            let bar = indicatif::ProgressBar::new(end.millis() / 1000);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} simulated s  {elapsed} ({eta} left)",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Progress {
            bar,
            events: 0,
            started: std::time::Instant::now(),
        }
    }

    /// Counts an event at `at`.
    pub fn event(&mut self, at: Instant) {
        self.events += 1;
        if let Some(bar) = &self.bar
            && self.events.is_multiple_of(EVENTS_PER_BAR_MOVE)
        {
            bar.set_position(at.millis() / 1000);
        }
    }

    /// Clears the bar; returns the events counted and the wall-clock seconds since the start.
    pub fn finish(self) -> (u64, f64) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
        (self.events, self.started.elapsed().as_secs_f64())
    }
}
