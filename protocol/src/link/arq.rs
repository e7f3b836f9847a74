//! One selective-repeat ARQ sequence space: the transmit window and the receive side.
//!
//! The link has two of these, one for normal ARQ data (D_PDU types 0, 1, 2) and one for expedited
//! data (types 4, 5), because Annex C gives expedited data its own sequence numbers.
//!
//! Transmit side: every frame in the window `[lwe, next)` is `Pending` (to be sent at the next
//! opportunity), `Sent` (on the air, its fate unknown) or `Acked`. An acknowledgement marks what
//! it covers `Acked` and, because on a half-duplex link it always comes after our whole
//! transmission, turns every `Sent` frame it does not cover back to `Pending`: exactly the
//! unacknowledged frames are sent again, nothing more.
//!
//! Receive side: [`ArqReassembly`] holds segments; the acknowledgement names as RX LWE the
//! oldest frame *not received* (not the oldest undelivered), so frames of a C_PDU still waiting
//! for its last segment are not resent.

use crate::wire::reassembly::ArqReassembly;
use crate::wire::{ArqFlags, SelectiveAck};

/// Where a frame in the transmit window stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FrameState {
    /// Not in the window.
    Free,
    /// To be sent (first time or again).
    Pending,
    /// Sent; no acknowledgement has covered it yet.
    Sent,
    /// Acknowledged; waiting for the lower edge to pass it.
    Acked,
}

/// One frame of the transmit window: which queued C_PDU it carries and which bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct TxFrame {
    pub state: FrameState,
    /// Index of the queued C_PDU in the link's queue.
    pub slot: u8,
    /// Byte offset of the segment within the C_PDU.
    pub offset: u16,
    /// Segment length (0 for a DROP frame).
    pub len: u16,
    pub flags: ArqFlags,
    /// Times sent so far.
    pub tries: u8,
}

impl TxFrame {
    const FREE: TxFrame = TxFrame {
        state: FrameState::Free,
        slot: 0,
        offset: 0,
        len: 0,
        flags: ArqFlags {
            cpdu_start: false,
            cpdu_end: false,
            deliver_in_order: false,
            drop_cpdu: false,
            tx_win_uwe: false,
            tx_win_lwe: false,
        },
        tries: 0,
    };
}

/// A transmit window of at most `limit` outstanding frames, kept in a ring of `W` entries.
///
/// Only the frames in `[lwe, next)` carry state; every other sequence number is free. So the
/// window needs room for `limit` frames, not for the whole 256-number sequence space: a link
/// sizes `W` as its receive slots (`Link`'s `RX`, which its window never reaches), so a board
/// with a window of 2 keeps 4 entries instead of 256 (3.5 KB per space).
#[derive(Clone, Debug)]
pub(crate) struct TxWindow<const W: usize> {
    frames: [TxFrame; W],
    /// The ring index of the frame `lwe`.
    head: usize,
    lwe: u8,
    next: u8,
    limit: u8,
    /// What [`TxWindow::frame_mut`] lends for a sequence number outside the window: a free
    /// frame, as the number's state is, whose changes are discarded.
    spare: TxFrame,
}

/// Why an acknowledgement could not be applied.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct AckOutOfWindow;

impl<const W: usize> TxWindow<W> {
    pub const fn new(limit: u8) -> Self {
        TxWindow {
            frames: [TxFrame::FREE; W],
            head: 0,
            lwe: 0,
            next: 0,
            limit,
            spare: TxFrame::FREE,
        }
    }

    /// Empties the window and restarts numbering at 0 (link made or reset).
    pub fn reset(&mut self) {
        self.frames = [TxFrame::FREE; W];
        self.head = 0;
        self.lwe = 0;
        self.next = 0;
    }

    /// The ring index of `seq`, if it is in the window `[lwe, next)`.
    fn index(&self, seq: u8) -> Option<usize> {
        let offset = seq.wrapping_sub(self.lwe);
        if offset >= self.next.wrapping_sub(self.lwe) {
            return None;
        }
        (self.head + usize::from(offset)).checked_rem(W)
    }

    pub fn lwe(&self) -> u8 {
        self.lwe
    }

    /// The highest sequence number in use (the upper window edge), if any.
    pub fn uwe(&self) -> Option<u8> {
        (self.next != self.lwe).then(|| self.next.wrapping_sub(1))
    }

    pub fn can_assign(&self) -> bool {
        let used = self.next.wrapping_sub(self.lwe);
        used < self.limit && usize::from(used) < W
    }

    /// Puts a new frame at the upper edge as `Pending`; returns its sequence number.
    pub fn assign(&mut self, slot: u8, offset: u16, len: u16, flags: ArqFlags) -> Option<u8> {
        if !self.can_assign() {
            return None;
        }
        let seq = self.next;
        let at = (self.head + usize::from(seq.wrapping_sub(self.lwe))).checked_rem(W)?;
        *self.frames.get_mut(at)? = TxFrame {
            state: FrameState::Pending,
            slot,
            offset,
            len,
            flags,
            tries: 0,
        };
        self.next = seq.wrapping_add(1);
        Some(seq)
    }

    /// The frame `seq`: free unless it is in the window.
    pub fn frame(&self, seq: u8) -> Option<&TxFrame> {
        match self.index(seq) {
            Some(at) => self.frames.get(at),
            None => Some(&TxFrame::FREE),
        }
    }

    /// The frame `seq`, to change; outside the window, a free frame whose changes are lost
    /// (no state is kept for a number outside the window).
    pub fn frame_mut(&mut self, seq: u8) -> Option<&mut TxFrame> {
        match self.index(seq) {
            Some(at) => self.frames.get_mut(at),
            None => {
                self.spare = TxFrame::FREE;
                Some(&mut self.spare)
            }
        }
    }

    /// The sequence numbers in the window, oldest first.
    pub fn seqs(&self) -> impl Iterator<Item = u8> + use<W> {
        let (lwe, n) = (self.lwe, self.next.wrapping_sub(self.lwe));
        (0..n).map(move |i| lwe.wrapping_add(i))
    }

    /// Turns every frame of the C_PDU in `slot` still in the window, acknowledged or not, into
    /// an empty DROP frame to be sent: the C_PDU expired and the peer must discard whatever of
    /// it holds.
    pub fn drop_slot(&mut self, slot: u8) {
        for seq in self.seqs() {
            if let Some(f) = self.index(seq).and_then(|at| self.frames.get_mut(at))
                && f.slot == slot
                && f.state != FrameState::Free
            {
                f.len = 0;
                f.flags.drop_cpdu = true;
                f.tries = 0;
                f.state = FrameState::Pending;
            }
        }
    }

    /// Whether any frame is waiting to be sent.
    pub fn has_pending(&self) -> bool {
        self.seqs().any(|s| {
            self.frame(s)
                .is_some_and(|f| f.state == FrameState::Pending)
        })
    }

    /// No acknowledgement came for what was sent. Rather than resend a whole transmission the
    /// peer may well have received (only its acknowledgement was lost), resend the newest
    /// frame as a probe: whatever the peer answers acknowledges everything, and the next
    /// acknowledgement turns exactly the missing frames back to `Pending`.
    pub fn probe(&mut self) {
        let newest = self
            .seqs()
            .filter(|&s| self.frame(s).is_some_and(|f| f.state == FrameState::Sent))
            .last();
        if let Some(f) = newest
            .and_then(|s| self.index(s))
            .and_then(|at| self.frames.get_mut(at))
        {
            f.state = FrameState::Pending;
        }
    }

    /// Applies an acknowledgement; `acked` is called with each newly acknowledged frame.
    /// An RX LWE outside `[lwe, next]` means the peer's state does not match ours.
    pub fn apply_ack(
        &mut self,
        ack: &SelectiveAck,
        mut acked: impl FnMut(&TxFrame),
    ) -> Result<(), AckOutOfWindow> {
        if ack.rx_lwe.wrapping_sub(self.lwe) > self.next.wrapping_sub(self.lwe) {
            return Err(AckOutOfWindow);
        }
        for seq in self.seqs() {
            let Some(f) = self.index(seq).and_then(|at| self.frames.get_mut(at)) else {
                continue;
            };
            if !matches!(f.state, FrameState::Pending | FrameState::Sent) {
                continue;
            }
            // A DROP frame replaces data the peer may hold: it counts as acknowledged only once
            // it has itself been sent.
            let unsent_drop = f.flags.drop_cpdu && f.tries == 0;
            if ack.acknowledges(seq) && !unsent_drop {
                f.state = FrameState::Acked;
                acked(f);
            } else if f.state == FrameState::Sent {
                f.state = FrameState::Pending;
            }
        }
        while self.lwe != self.next {
            match self.frames.get_mut(self.head) {
                Some(f) if f.state == FrameState::Acked => *f = TxFrame::FREE,
                _ => break,
            }
            self.lwe = self.lwe.wrapping_add(1);
            self.head = (self.head + 1).checked_rem(W).unwrap_or(0);
        }
        Ok(())
    }
}

/// The acknowledgement describing what `rx` holds: RX LWE is the oldest frame not received,
/// and the bitmap marks every frame received above it within the 128-frame window.
pub(crate) fn build_ack<const SLOTS: usize, const SEGMENT: usize>(
    rx: &ArqReassembly<SLOTS, SEGMENT>,
) -> SelectiveAck {
    const WINDOW: u8 = 128;
    let next = rx.next_seq();
    // One pass over the slots: which of the 128 frames from `next` are in.
    let mut have = [false; WINDOW as usize];
    for seq in rx.received() {
        if let Some(h) = have.get_mut(usize::from(seq.wrapping_sub(next))) {
            *h = true;
        }
    }
    let held = |offset: u8| have.get(usize::from(offset)).copied().unwrap_or(false);
    let mut lwe_offset = 0u8;
    while lwe_offset < WINDOW && held(lwe_offset) {
        lwe_offset += 1;
    }
    let lwe = next.wrapping_add(lwe_offset);
    let mut ack = SelectiveAck::new(lwe);
    for offset in lwe_offset.saturating_add(1)..WINDOW {
        if held(offset) {
            // Cannot fail: the offset is within 127 frames of the lower edge.
            let _ = ack.set(next.wrapping_add(offset));
        }
    }
    ack
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(start: bool, end: bool) -> ArqFlags {
        ArqFlags {
            cpdu_start: start,
            cpdu_end: end,
            ..ArqFlags::default()
        }
    }

    #[test]
    fn selective_ack_resends_exactly_the_gaps() {
        let mut w = TxWindow::<8>::new(8);
        for i in 0..4 {
            w.assign(0, i * 10, 10, flags(i == 0, i == 3)).unwrap();
        }
        for s in 0..4 {
            w.frame_mut(s).unwrap().state = FrameState::Sent;
        }
        // The peer got 0 and 2: RX LWE 1, bit for 2.
        let mut ack = SelectiveAck::new(1);
        ack.set(2).unwrap();
        let mut got = std::vec::Vec::new();
        w.apply_ack(&ack, |f| got.push(f.offset)).unwrap();
        assert_eq!(got, [0, 20]);
        assert_eq!(w.lwe(), 1);
        let states: std::vec::Vec<_> = w.seqs().map(|s| w.frame(s).unwrap().state).collect();
        assert_eq!(
            states,
            [FrameState::Pending, FrameState::Acked, FrameState::Pending]
        );
        assert_eq!(
            w.apply_ack(&SelectiveAck::new(9), |_| ()),
            Err(AckOutOfWindow)
        );
    }

    #[test]
    fn window_limit_and_wrap() {
        let mut w = TxWindow::<2>::new(2);
        assert!(w.assign(0, 0, 1, flags(true, true)).is_some());
        assert!(w.assign(0, 0, 1, flags(true, true)).is_some());
        assert!(w.assign(0, 0, 1, flags(true, true)).is_none());
        w.apply_ack(&SelectiveAck::new(2), |_| ()).unwrap();
        assert_eq!(w.uwe(), None);
        for _ in 0..300 {
            let s = w.assign(0, 0, 1, flags(true, true)).unwrap();
            w.apply_ack(&SelectiveAck::new(s.wrapping_add(1)), |_| ())
                .unwrap();
        }
        assert_eq!(w.lwe(), (302 % 256) as u8);
    }

    #[test]
    fn a_ring_smaller_than_the_sequence_space_keeps_holes_across_the_wrap() {
        // 3 entries (not a divisor of 256): the ring follows the lower edge, not seq mod 3.
        let mut w = TxWindow::<3>::new(3);
        for _ in 0..254 {
            let s = w.assign(0, 0, 1, flags(true, true)).unwrap();
            w.apply_ack(&SelectiveAck::new(s.wrapping_add(1)), |_| ())
                .unwrap();
        }
        assert_eq!(w.lwe(), 254);
        for i in 0..3 {
            let s = w.assign(0, i * 10, 10, flags(i == 0, i == 2)).unwrap();
            w.frame_mut(s).unwrap().state = FrameState::Sent;
        }
        assert_eq!(w.seqs().collect::<std::vec::Vec<_>>(), [254, 255, 0]);
        assert!(!w.can_assign(), "three frames fill three entries");
        // The peer got 254 and 0: 255 is resent, 0 waits for the lower edge.
        let mut ack = SelectiveAck::new(255);
        ack.set(0).unwrap();
        let mut got = std::vec::Vec::new();
        w.apply_ack(&ack, |f| got.push(f.offset)).unwrap();
        assert_eq!(got, [0, 20]);
        assert_eq!(w.lwe(), 255);
        assert_eq!(w.frame(255).unwrap().state, FrameState::Pending);
        assert_eq!(w.frame(0).unwrap().state, FrameState::Acked);
        assert_eq!(w.frame(0).unwrap().offset, 20);
        assert_eq!(w.frame(1).unwrap().state, FrameState::Free);
        let s = w.assign(1, 30, 10, flags(true, true)).unwrap();
        assert_eq!(s, 1);
        assert_eq!(w.frame(1).unwrap().offset, 30);
        assert_eq!(
            w.frame(255).unwrap().offset,
            10,
            "255 keeps its entry beside the new frame"
        );
        w.apply_ack(&SelectiveAck::new(2), |_| ()).unwrap();
        assert_eq!(w.uwe(), None);
        assert!(
            core::mem::size_of::<TxWindow<4>>() < 128,
            "no 256-entry table"
        );
    }

    #[test]
    fn ack_names_the_oldest_missing_frame() {
        let mut rx: ArqReassembly<8, 4> = ArqReassembly::new();
        rx.insert(0, flags(true, false), b"a").unwrap();
        rx.insert(1, flags(false, false), b"b").unwrap();
        rx.insert(3, flags(false, true), b"d").unwrap();
        let ack = build_ack(&rx);
        assert_eq!(rx.next_seq(), 0, "nothing delivered yet");
        assert_eq!(
            ack.rx_lwe, 2,
            "0 and 1 are held, so 2 is the oldest missing"
        );
        assert_eq!(ack.bitmap(), &[0x01]);
    }
}
