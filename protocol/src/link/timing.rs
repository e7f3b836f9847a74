//! How long things take on a half-duplex HF modem.
//!
//! The link needs this to fill a transmission up to its maximum length, to write the EOT field
//! (time left in the transmission) and to know when a peer's reply is overdue. The simulator uses
//! the very same model to decide when frames reach a receiver, so the two cannot disagree.
//!
//! A transmission is modelled as: key up, `preamble`, the frames back to back at `bit_rate`, then
//! `interleaver` (the transmit side flushes its interleaver, the receive side must fill its own
//! before data comes out). A frame reaches the receiver's link `interleaver` after its last bit
//! went on the air, so the last frame arrives exactly when the transmitter keys down.

use crate::time::{Duration, Instant};

/// The EOT field's unit: half a second.
pub const EOT_UNIT: Duration = Duration::from_millis(500);

/// The longest transmission the 8-bit EOT field can describe (127.5 s).
pub const MAX_TRANSMISSION: Duration = Duration::from_millis(255 * 500);

/// The timing parameters of one modem (and radio).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Modem {
    /// User bit rate after coding, 75..=9600 bit/s for MIL-STD-188-110 serial tone.
    pub bit_rate: u32,
    /// Synchronisation preamble sent at the start of every transmission.
    pub preamble: Duration,
    /// Interleaver span: the extra latency of every transmission.
    pub interleaver: Duration,
    /// Time between the end of one station's transmission and the start of the next one's
    /// (the radio's TX-to-RX switch and the other side's RX-to-TX switch together).
    pub turnaround: Duration,
    /// The longest transmission this node makes, preamble and interleaver included
    /// (at most [`MAX_TRANSMISSION`]).
    pub max_transmission: Duration,
}

impl Modem {
    /// MIL-STD-188-110 at 2400 bit/s with the short interleaver (0.6 s), three 0.2 s preamble
    /// segments and a 200 ms turnaround (the fast end of what a 5066 vendor reports).
    pub const fn hf_2400_short() -> Self {
        Modem {
            bit_rate: 2400,
            preamble: Duration::from_millis(600),
            interleaver: Duration::from_millis(600),
            turnaround: Duration::from_millis(200),
            max_transmission: Duration::from_millis(127_000),
        }
    }

    /// Time on the air for `bytes` bytes, rounded up to the millisecond.
    pub const fn airtime(&self, bytes: usize) -> Duration {
        let rate = if self.bit_rate == 0 { 1 } else { self.bit_rate };
        let bits = (bytes as u64).saturating_mul(8_000);
        Duration::from_millis(bits.div_ceil(rate as u64))
    }

    /// The fixed cost of every transmission: preamble plus interleaver.
    pub const fn overhead(&self) -> Duration {
        Duration::from_millis(self.preamble.millis() + self.interleaver.millis())
    }

    /// When a frame whose first bit goes on the air at `on_air` reaches the receiving link.
    pub fn arrival(&self, on_air: Instant, bytes: usize) -> Instant {
        on_air + self.airtime(bytes) + self.interleaver
    }
}

/// The EOT value for `remaining` time left in a transmission: half-seconds, rounded up so a
/// receiver never starts talking early, saturating at 255.
pub const fn eot_for(remaining: Duration) -> u8 {
    let units = remaining.millis().div_ceil(EOT_UNIT.millis());
    if units > 255 { 255 } else { units as u8 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn airtime_and_eot_round_up() {
        let m = Modem::hf_2400_short();
        // 300 bytes = 2400 bits = exactly one second.
        assert_eq!(m.airtime(300), Duration::from_secs(1));
        assert_eq!(m.airtime(1), Duration::from_millis(4));
        assert_eq!(eot_for(Duration::from_millis(1)), 1);
        assert_eq!(eot_for(Duration::from_millis(1000)), 2);
        assert_eq!(eot_for(Duration::from_secs(1000)), 255);
        assert_eq!(
            m.arrival(Instant::ZERO, 300),
            Instant::from_millis(1600),
            "a frame arrives one interleaver span after its last bit"
        );
    }
}
