//! Binding sequence numbers reserved ahead in a driver's persistent store, so that a restart
//! never seals two messages with one number (a receiver would refuse the second as a replay).
//!
//! The station seals a message and the frame carrying it leaves in the same poll, so a record
//! written after each use could be lost to a crash. Instead a driver writes, before a frame
//! leaves, the end of a block of numbers it may use; after a restart it starts from that end.
//! A restart skips at most a block, which receivers accept (only a number at or below one
//! already seen is a replay). The drivers choose the block: the agent's store is cheap to write,
//! the adjunct's is flash with erase cycles. The persistence is theirs; when to reserve and
//! whether a frame may leave is this one rule.

/// A block of binding sequence numbers reserved in a driver's store: the numbers below
/// [`SeqReservation::end`] may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqReservation {
    block: u64,
    end: u64,
}

impl SeqReservation {
    /// Numbers below `end` are reserved; later reservations reach `block` past the next number.
    pub const fn new(block: u64, end: u64) -> Self {
        SeqReservation { block, end }
    }

    /// The first number not reserved.
    pub const fn end(&self) -> u64 {
        self.end
    }

    /// Call before a frame may leave, with [`crate::station::Station::next_binding_seq`]: the
    /// end to write to the store once half the block is used (so most polls write nothing),
    /// or `None`.
    pub fn due(&self, next: u64) -> Option<u64> {
        (next.saturating_add(self.block / 2) > self.end).then(|| next.saturating_add(self.block))
    }

    /// Call once the store holds `end` (what [`SeqReservation::due`] returned).
    pub fn stored(&mut self, end: u64) {
        self.end = end;
    }

    /// Whether every number below `next` is reserved: a frame that may carry a message sealed
    /// with one of them may leave.
    pub const fn covers(&self, next: u64) -> bool {
        next <= self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_reserved_again_at_its_half_and_a_failed_write_holds_frames() {
        let mut r = SeqReservation::new(64, 65);
        assert_eq!(r.due(1), None);
        assert_eq!(r.due(33), None);
        assert_eq!(r.due(34), Some(98));
        // The write failed: numbers up to the old end still go, the next one does not.
        assert!(r.covers(65));
        assert!(!r.covers(66));
        r.stored(98);
        assert!(r.covers(66));
        assert_eq!(r.end(), 98);
        // Nowhere to store (the end at the top): nothing is ever due, everything is covered.
        let unbounded = SeqReservation::new(64, u64::MAX);
        assert_eq!(unbounded.due(u64::MAX - 1), None);
        assert!(unbounded.covers(u64::MAX));
    }
}
