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

/// The MPS2 core clock SysTick counts.
pub const CORE_CLOCK_HZ: u32 = 25_000_000;
/// SysTick counts per millisecond.
const TICKS_PER_MS: u32 = CORE_CLOCK_HZ / 1000;

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
        syst.set_reload(TICKS_PER_MS - 1);
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

/// Nanoseconds since boot at SysTick resolution (40 ns): milliseconds from the interrupt count
/// plus the counts elapsed in the current millisecond. For measuring short stretches of code
/// ([`crate::measure`]); wraps after 49 days like the millisecond count.
pub fn precise_nanos() -> u64 {
    loop {
        let before = MILLIS.load(Ordering::Relaxed);
        let counted = TICKS_PER_MS - 1 - SYST::get_current().min(TICKS_PER_MS - 1);
        // A SysTick interrupt between the two reads would pair a new count with an old
        // millisecond: read again.
        if MILLIS.load(Ordering::Relaxed) == before {
            let ns_per_tick = 1_000_000_000 / u64::from(CORE_CLOCK_HZ);
            return u64::from(before) * 1_000_000 + u64::from(counted) * ns_per_tick;
        }
    }
}

#[exception]
fn SysTick() {
    MILLIS.fetch_add(1, Ordering::Relaxed);
}
