//! The protocol clock: SysTick counting milliseconds since boot.
//!
//! The protocol core takes time as an argument (`skywave_protocol::time::Instant`); on the board
//! that time is the millisecond count kept here. SysTick runs from the 25 MHz core clock and
//! interrupts once a millisecond; the interrupt only increments a counter.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use skywave_protocol::time::Instant;

const CORE_CLOCK_HZ: u32 = 25_000_000;

static MILLIS: AtomicU32 = AtomicU32::new(0);

/// Milliseconds since boot, extended past the 32-bit counter's 49-day wrap.
pub struct Clock {
    _syst: SYST,
    last: u32,
    high: u64,
}

impl Clock {
    /// Starts SysTick at 1 kHz.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(CORE_CLOCK_HZ / 1000 - 1);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Clock {
            _syst: syst,
            last: 0,
            high: 0,
        }
    }

    /// The current protocol time. Call at least once every 49 days.
    pub fn now(&mut self) -> Instant {
        let ms = MILLIS.load(Ordering::Relaxed);
        if ms < self.last {
            self.high += 1 << 32;
        }
        self.last = ms;
        Instant::from_millis(self.high | u64::from(ms))
    }
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}
