//! Protocol time, passed in by the driver.
//!
//! The core never reads a clock: the simulator passes virtual time, the host agent a monotonic
//! clock, the firmware its SysTick count. All three use this millisecond [`Instant`], whose epoch is
//! whatever the driver chose (boot, simulation start). Wall-clock time, which an HF node may not
//! have, is a separate and optional concept used only where a check needs it.

use core::fmt;
use core::ops::{Add, Sub};

/// A point in protocol time: milliseconds since an epoch chosen by the driver.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Instant {
    millis: u64,
}

impl Instant {
    /// The driver's epoch.
    pub const ZERO: Instant = Instant { millis: 0 };

    /// The instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant { millis }
    }

    /// Milliseconds since the epoch.
    pub const fn millis(self) -> u64 {
        self.millis
    }
}

/// A span of protocol time in milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Duration {
    millis: u64,
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration { millis: 0 };

    /// A duration of `millis` milliseconds.
    pub const fn from_millis(millis: u64) -> Self {
        Duration { millis }
    }

    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration {
            millis: secs.saturating_mul(1000),
        }
    }

    /// The duration in milliseconds.
    pub const fn millis(self) -> u64 {
        self.millis
    }
}

/// Saturates at the end of time rather than wrapping: a deadline that far away never fires.
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        Instant::from_millis(self.millis.saturating_add(rhs.millis))
    }
}

/// Saturates at zero: "how long since" an instant in the future is no time at all.
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        Duration::from_millis(self.millis.saturating_sub(rhs.millis))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.millis / 1000, self.millis % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_wrapping() {
        let late = Instant::from_millis(u64::MAX - 1);
        assert_eq!((late + Duration::from_secs(5)).millis(), u64::MAX);
        assert_eq!(Instant::ZERO - late, Duration::ZERO);
        assert_eq!(
            Instant::from_millis(2500) - Instant::from_millis(1000),
            Duration::from_millis(1500)
        );
    }
}
