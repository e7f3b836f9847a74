//! Measuring code on the target: a stopwatch on the SysTick clock.
//!
//! On real hardware it measures time. Under QEMU with `-icount shift=0`, virtual time advances
//! exactly 1 ns per guest instruction and SysTick runs on virtual time, so a stretch of
//! [`Stopwatch::nanos`] is the number of instructions executed in it (to SysTick's resolution,
//! one core clock, and including the SysTick interrupt's few instructions each millisecond). The
//! self-test reports its figures that way; docs/firmware.md converts them to milliseconds at
//! 64 MHz.

use crate::board::clock::precise_nanos;

/// A running stopwatch.
#[derive(Clone, Copy, Debug)]
pub struct Stopwatch {
    start: u64,
}

impl Stopwatch {
    /// Starts now.
    pub fn start() -> Self {
        Stopwatch {
            start: precise_nanos(),
        }
    }

    /// Nanoseconds (under `-icount shift=0`: instructions) since the start.
    pub fn nanos(&self) -> u64 {
        precise_nanos().saturating_sub(self.start)
    }
}
