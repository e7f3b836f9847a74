//! The protocol clock: SysTick counting milliseconds since boot.
//!
//! The protocol core takes time as an argument (`skywave_protocol::time::Instant`); on the board
//! that time is the millisecond count kept here. SysTick runs from the core clock (25 MHz on
//! the mps2-an386, 168 MHz on the STM32F405: [`super::start_clock`] says which) and interrupts
//! once a millisecond; the interrupt only increments a counter.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;
use skywave_protocol::time::Instant;

static MILLIS: AtomicU32 = AtomicU32::new(0);
/// SysTick counts per millisecond: the core clock's kHz, set once by [`Clock::start`].
static TICKS_PER_MS: AtomicU32 = AtomicU32::new(1);

/// Milliseconds since boot, extended past the 32-bit counter's 49-day wrap.
pub struct Clock {
    _syst: SYST,
    last: u32,
    high: u64,
}

impl Clock {
    /// Starts SysTick at 1 kHz from a core clock of `core_hz` (SysTick's 24-bit reload holds
    /// a millisecond of any clock up to 16 GHz).
    pub fn start(mut syst: SYST, core_hz: u32) -> Self {
        let ticks = (core_hz / 1000).max(1);
        TICKS_PER_MS.store(ticks, Ordering::Relaxed);
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(ticks - 1);
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

/// Nanoseconds since boot at SysTick resolution (one core clock: 40 ns on the mps2-an386, 6 ns
/// on the STM32F405): milliseconds from the interrupt count plus the counts elapsed in the
/// current millisecond. For measuring short stretches of code ([`crate::measure`]); wraps
/// after 49 days like the millisecond count.
pub fn precise_nanos() -> u64 {
    let ticks = TICKS_PER_MS.load(Ordering::Relaxed);
    loop {
        let before = MILLIS.load(Ordering::Relaxed);
        let counted = ticks - 1 - SYST::get_current().min(ticks - 1);
        // A SysTick interrupt between the two reads would pair a new count with an old
        // millisecond: read again.
        if MILLIS.load(Ordering::Relaxed) == before {
            return u64::from(before) * 1_000_000
                + u64::from(counted) * 1_000_000 / u64::from(ticks);
        }
    }
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}
