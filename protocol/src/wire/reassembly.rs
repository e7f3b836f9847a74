//! Putting C_PDUs back together from D_PDU segments, in fixed memory.
//!
//! Two receivers, because the two delivery services name their segments differently:
//!
//! - [`ArqReassembly`]: ARQ segments are named by TX frame sequence number (mod 256) and carry
//!   START/END flags; a C_PDU is the run of consecutive sequence numbers from a START to an END.
//!   Segments arrive out of order and more than once (retransmissions); a C_PDU flagged
//!   DELIVER-IN-ORDER waits until everything before it has been delivered.
//! - [`NonArqReassembly`]: non-ARQ segments are named by (source, C_PDU ID) and carry their byte
//!   offset and the whole C_PDU's size, so a receiver can assemble a C_PDU from any mix of the
//!   sender's repeated transmissions. A finished C_PDU is remembered until its reception window
//!   closes, so later repeats are recognised as duplicates instead of delivered twice.
//!
//! Both are plain arrays sized by const generics, with `const fn new` so they can live in a
//! `static` on the firmware; when full they refuse with [`Error::CapacityFull`] (ARQ: the frame
//! goes unacknowledged and is resent later) or evict the oldest entry (non-ARQ: repeats are
//! best-effort by nature).

use super::{Address, ArqFlags, Error, NonArqData};
use crate::time::{Duration, Instant};

/// How far ahead of the lowest undelivered sequence number an ARQ segment may be: the Annex C
/// window limit. Anything further behind is an old duplicate.
pub const ARQ_WINDOW: u8 = 128;

/// The outcome of offering a segment to a reassembler.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Accepted {
    /// The segment was new and is stored.
    New,
    /// The segment was already stored or delivered; nothing changed.
    Duplicate,
}

/// A C_PDU handed out by [`ArqReassembly::pop`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Delivered {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// Sequence number of the C_PDU's first segment.
    pub first_seq: u8,
    /// Sequence number of the C_PDU's last segment.
    pub last_seq: u8,
    /// Whether the sender asked for in-order delivery.
    pub deliver_in_order: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum SlotState {
    Free,
    Held,
    /// Delivered or dropped, kept only until the lower edge passes it.
    Consumed,
}

#[derive(Clone, Debug)]
struct Slot<const SEGMENT: usize> {
    state: SlotState,
    seq: u8,
    flags: ArqFlags,
    len: usize,
    data: [u8; SEGMENT],
}

impl<const SEGMENT: usize> Slot<SEGMENT> {
    const FREE: Self = Slot {
        state: SlotState::Free,
        seq: 0,
        flags: ArqFlags {
            cpdu_start: false,
            cpdu_end: false,
            deliver_in_order: false,
            drop_cpdu: false,
            tx_win_uwe: false,
            tx_win_lwe: false,
        },
        len: 0,
        data: [0; SEGMENT],
    };

    fn bytes(&self) -> &[u8] {
        self.data.get(..self.len).unwrap_or(&[])
    }
}

/// Reassembles ARQ C_PDUs from segments held in `SLOTS` slots of `SEGMENT` bytes each.
///
/// Offer each good ARQ data segment with [`ArqReassembly::insert`], then call
/// [`ArqReassembly::pop`] until it returns `None`.
#[derive(Clone, Debug)]
pub struct ArqReassembly<const SLOTS: usize, const SEGMENT: usize> {
    slots: [Slot<SEGMENT>; SLOTS],
    /// The lowest sequence number not yet delivered or dropped.
    next: u8,
}

impl<const SLOTS: usize, const SEGMENT: usize> Default for ArqReassembly<SLOTS, SEGMENT> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SLOTS: usize, const SEGMENT: usize> ArqReassembly<SLOTS, SEGMENT> {
    /// An empty reassembler expecting sequence number 0 first.
    pub const fn new() -> Self {
        ArqReassembly {
            slots: [const { Slot::FREE }; SLOTS],
            next: 0,
        }
    }

    /// The lowest sequence number not yet delivered or dropped.
    pub const fn next_seq(&self) -> u8 {
        self.next
    }

    /// Forgets everything and expects `next` as the next sequence number (after an ARQ reset).
    pub fn reset(&mut self, next: u8) {
        for slot in &mut self.slots {
            slot.state = SlotState::Free;
        }
        self.next = next;
    }

    /// The sequence numbers received (held, or consumed but not yet passed by the lower edge),
    /// in slot order: one pass over the slots, for building an acknowledgement.
    pub fn received(&self) -> impl Iterator<Item = u8> + '_ {
        self.slots
            .iter()
            .filter(|s| s.state != SlotState::Free)
            .map(|s| s.seq)
    }

    /// Whether no segment is held undelivered (a link may be released without losing data).
    pub fn is_drained(&self) -> bool {
        self.slots.iter().all(|s| s.state != SlotState::Held)
    }

    /// Whether `seq` has been received (held, delivered or dropped) within the window.
    pub fn has(&self, seq: u8) -> bool {
        seq.wrapping_sub(self.next) >= ARQ_WINDOW || self.find(seq).is_some()
    }

    fn find(&self, seq: u8) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.state != SlotState::Free && s.seq == seq)
    }

    fn state_of(&self, seq: u8) -> Option<&Slot<SEGMENT>> {
        self.find(seq).and_then(|i| self.slots.get(i))
    }

    /// Offers one ARQ segment. Old and repeated sequence numbers are [`Accepted::Duplicate`].
    /// A segment flagged DROP discards its C_PDU's segments held so far, even when it repeats
    /// a sequence number already held (the sender dropped a C_PDU whose acknowledgement it
    /// never saw).
    pub fn insert(&mut self, seq: u8, flags: ArqFlags, data: &[u8]) -> Result<Accepted, Error> {
        if seq.wrapping_sub(self.next) >= ARQ_WINDOW {
            return Ok(Accepted::Duplicate);
        }
        if let Some(i) = self.find(seq) {
            let Some(slot) = self.slots.get_mut(i) else {
                return Ok(Accepted::Duplicate);
            };
            if !flags.drop_cpdu || slot.state != SlotState::Held {
                return Ok(Accepted::Duplicate);
            }
            slot.state = SlotState::Consumed;
            let held = slot.flags;
            self.drop_around(seq, held);
            self.advance();
            return Ok(Accepted::New);
        }
        if data.len() > SEGMENT {
            return Err(Error::SegmentOutOfBounds);
        }
        let free = self
            .slots
            .iter_mut()
            .find(|s| s.state == SlotState::Free)
            .ok_or(Error::CapacityFull)?;
        free.seq = seq;
        free.flags = flags;
        free.len = data.len();
        if let Some(dst) = free.data.get_mut(..data.len()) {
            dst.copy_from_slice(data);
        }
        free.state = if flags.drop_cpdu {
            SlotState::Consumed
        } else {
            SlotState::Held
        };
        if flags.drop_cpdu {
            self.drop_around(seq, flags);
        }
        self.advance();
        Ok(Accepted::New)
    }

    /// Discards the held segments of the C_PDU to which the segment `seq` with `flags` belongs:
    /// back to its START and forward to its END (a sender drops what is unacknowledged, which
    /// may lie on either side of segments already received).
    fn drop_around(&mut self, seq: u8, flags: ArqFlags) {
        if !flags.cpdu_start {
            self.drop_walk(seq.wrapping_sub(1), false);
        }
        if !flags.cpdu_end {
            self.drop_walk(seq.wrapping_add(1), true);
        }
    }

    /// Marks held segments consumed from `seq`, one way, until the C_PDU's edge in that
    /// direction (START going back, END going forward) or anything not held.
    fn drop_walk(&mut self, mut seq: u8, forward: bool) {
        while let Some(i) = self.find(seq) {
            let Some(slot) = self.slots.get_mut(i) else {
                break;
            };
            let (other_cpdu, edge) = if forward {
                (slot.flags.cpdu_start, slot.flags.cpdu_end)
            } else {
                (slot.flags.cpdu_end, slot.flags.cpdu_start)
            };
            if slot.state != SlotState::Held || other_cpdu {
                break;
            }
            slot.state = SlotState::Consumed;
            if edge {
                break;
            }
            seq = if forward {
                seq.wrapping_add(1)
            } else {
                seq.wrapping_sub(1)
            };
        }
    }

    /// Frees consumed slots at the lower edge and moves the edge past them.
    fn advance(&mut self) {
        while let Some(i) = self.find(self.next) {
            match self.slots.get_mut(i) {
                Some(slot) if slot.state == SlotState::Consumed => {
                    slot.state = SlotState::Free;
                    self.next = self.next.wrapping_add(1);
                }
                _ => break,
            }
        }
    }

    /// If the C_PDU starting at `start` is complete, its last sequence number and length.
    fn complete_from(&self, start: u8) -> Option<(u8, usize)> {
        let mut seq = start;
        let mut len = 0usize;
        for _ in 0..ARQ_WINDOW {
            let slot = self.state_of(seq)?;
            if slot.state != SlotState::Held || (seq != start && slot.flags.cpdu_start) {
                return None;
            }
            len += slot.len;
            if slot.flags.cpdu_end {
                return Some((seq, len));
            }
            seq = seq.wrapping_add(1);
        }
        None
    }

    /// Copies the next deliverable C_PDU into `out`: the earliest complete one that either does
    /// not ask for in-order delivery or has nothing undelivered before it. Returns
    /// [`Error::BufferTooSmall`] (and keeps the C_PDU) if `out` is too short.
    pub fn pop(&mut self, out: &mut [u8]) -> Result<Option<Delivered>, Error> {
        let next = self.next;
        let candidate = self
            .slots
            .iter()
            .filter(|s| s.state == SlotState::Held && s.flags.cpdu_start)
            .filter(|s| !s.flags.deliver_in_order || s.seq == next)
            .map(|s| (s.seq, s.flags.deliver_in_order))
            .filter_map(|(seq, in_order)| {
                self.complete_from(seq)
                    .map(|(last, len)| (seq, last, len, in_order))
            })
            .min_by_key(|(seq, ..)| seq.wrapping_sub(next));
        let Some((first_seq, last_seq, len, deliver_in_order)) = candidate else {
            return Ok(None);
        };
        if out.len() < len {
            return Err(Error::BufferTooSmall);
        }
        let mut at = 0;
        let mut seq = first_seq;
        loop {
            if let Some(i) = self.find(seq)
                && let Some(slot) = self.slots.get_mut(i)
            {
                let n = slot.len;
                if let (Some(dst), Some(src)) = (out.get_mut(at..at + n), slot.data.get(..n)) {
                    dst.copy_from_slice(src);
                }
                at += n;
                slot.state = SlotState::Consumed;
            }
            if seq == last_seq {
                break;
            }
            seq = seq.wrapping_add(1);
        }
        self.advance();
        Ok(Some(Delivered {
            len,
            first_seq,
            last_seq,
            deliver_in_order,
        }))
    }

    /// The bytes held for `seq`, if it is stored and undelivered (for diagnostics and tests).
    pub fn held(&self, seq: u8) -> Option<&[u8]> {
        self.state_of(seq)
            .filter(|s| s.state == SlotState::Held)
            .map(Slot::bytes)
    }
}

/// What names a non-ARQ C_PDU: who sent it, in which ID space, under which ID.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct NonArqKey {
    /// The sending node.
    pub source: Address,
    /// Expedited non-ARQ (type 8) has its own ID space.
    pub expedited: bool,
    /// The 12-bit C_PDU ID.
    pub cpdu_id: u16,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum EntryState {
    Free,
    Partial,
    Complete,
}

#[derive(Clone, Debug)]
struct Entry<const CPDU_MAX: usize, const RANGES: usize> {
    state: EntryState,
    key: NonArqKey,
    size: usize,
    expires: Instant,
    /// Received byte ranges `[start, end)`, sorted and disjoint.
    ranges: heapless::Vec<(usize, usize), RANGES>,
    buf: [u8; CPDU_MAX],
}

impl<const CPDU_MAX: usize, const RANGES: usize> Entry<CPDU_MAX, RANGES> {
    const FREE: Self = Entry {
        state: EntryState::Free,
        key: NonArqKey {
            source: Address::BROADCAST,
            expedited: false,
            cpdu_id: 0,
        },
        size: 0,
        expires: Instant::ZERO,
        ranges: heapless::Vec::new(),
        buf: [0; CPDU_MAX],
    };

    fn start(&mut self, key: NonArqKey, size: usize, expires: Instant) {
        self.state = EntryState::Partial;
        self.key = key;
        self.size = size;
        self.expires = expires;
        self.ranges.clear();
    }

    /// Records `[start, end)` as received, merging with touching ranges. Fails without change
    /// if the range list is full.
    fn add_range(&mut self, start: usize, end: usize) -> Result<(), Error> {
        let mut merged = (start, end);
        let mut kept: heapless::Vec<(usize, usize), RANGES> = heapless::Vec::new();
        for &(s, e) in &self.ranges {
            if e < merged.0 || s > merged.1 {
                kept.push((s, e)).map_err(|_| Error::CapacityFull)?;
            } else {
                merged = (merged.0.min(s), merged.1.max(e));
            }
        }
        let at = kept
            .iter()
            .position(|&(s, _)| s > merged.0)
            .unwrap_or(kept.len());
        kept.insert(at, merged).map_err(|_| Error::CapacityFull)?;
        self.ranges = kept;
        Ok(())
    }

    fn is_complete(&self) -> bool {
        self.size == 0 || self.ranges.as_slice() == [(0, self.size)]
    }
}

/// Reassembles non-ARQ C_PDUs of up to `CPDU_MAX` bytes, up to `ENTRIES` at a time, each
/// tracking up to `RANGES` disjoint received byte ranges.
///
/// Offer each good non-ARQ segment with [`NonArqReassembly::insert`]; call
/// [`NonArqReassembly::expire`] when time passes to drop C_PDUs whose reception window closed.
#[derive(Clone, Debug)]
pub struct NonArqReassembly<const ENTRIES: usize, const CPDU_MAX: usize, const RANGES: usize = 16> {
    entries: [Entry<CPDU_MAX, RANGES>; ENTRIES],
}

impl<const ENTRIES: usize, const CPDU_MAX: usize, const RANGES: usize> Default
    for NonArqReassembly<ENTRIES, CPDU_MAX, RANGES>
{
    fn default() -> Self {
        Self::new()
    }
}

/// The reception window's unit: 0.5 s.
const RECEPTION_WINDOW_UNIT: Duration = Duration::from_millis(500);

impl<const ENTRIES: usize, const CPDU_MAX: usize, const RANGES: usize>
    NonArqReassembly<ENTRIES, CPDU_MAX, RANGES>
{
    /// An empty reassembler.
    pub const fn new() -> Self {
        NonArqReassembly {
            entries: [const { Entry::FREE }; ENTRIES],
        }
    }

    /// C_PDUs being assembled or remembered as complete.
    pub fn in_use(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.state != EntryState::Free)
            .count()
    }

    /// Offers one non-ARQ segment from `key.source`, received at `now`. Returns the whole C_PDU
    /// when this segment completes it; `None` while it is incomplete or if it was already
    /// delivered (a repeat). When every entry is busy, the one closest to expiry is evicted.
    pub fn insert(
        &mut self,
        now: Instant,
        key: NonArqKey,
        segment: &NonArqData<'_>,
    ) -> Result<Option<&[u8]>, Error> {
        let size = usize::from(segment.cpdu_size);
        let start = usize::from(segment.segment_offset);
        let end = start + segment.segment.len();
        if end > size || size > CPDU_MAX {
            return Err(Error::SegmentOutOfBounds);
        }
        let window = Duration::from_millis(
            RECEPTION_WINDOW_UNIT.millis() * u64::from(segment.reception_window),
        );
        let (index, known) = match self.position(key) {
            Some(i) => (i, true),
            None => (self.claim().ok_or(Error::CapacityFull)?, false),
        };
        let entry = self.entries.get_mut(index).ok_or(Error::CapacityFull)?;
        // An entry claimed for this key (free, or evicted from another C_PDU) starts afresh:
        // what it held belongs to another C_PDU, however alike their sizes. (Taking a claimed
        // complete entry as this C_PDU's made every new C_PDU the size of an evicted one a
        // "repeat" while all entries were busy: a station back from an outage got only four
        // of the equally sized revocation deltas broadcast to it per reception window.)
        let reused_id = known && entry.size != size;
        if !known || reused_id {
            entry.start(key, size, now + window);
        } else if entry.state == EntryState::Complete {
            return Ok(None);
        }
        entry.add_range(start, end)?;
        if let Some(dst) = entry.buf.get_mut(start..end) {
            dst.copy_from_slice(segment.segment);
        }
        if !entry.is_complete() {
            return Ok(None);
        }
        entry.state = EntryState::Complete;
        Ok(Some(entry.buf.get(..size).unwrap_or(&[])))
    }

    fn position(&self, key: NonArqKey) -> Option<usize> {
        self.entries
            .iter()
            .position(|e| e.state != EntryState::Free && e.key == key)
    }

    /// A free entry, or else the one to evict: complete ones first, then the earliest expiry.
    fn claim(&mut self) -> Option<usize> {
        if let Some(i) = self
            .entries
            .iter()
            .position(|e| e.state == EntryState::Free)
        {
            return Some(i);
        }
        self.entries
            .iter()
            .enumerate()
            .min_by_key(|(_, e)| (e.state == EntryState::Partial, e.expires))
            .map(|(i, _)| i)
    }

    /// Drops every C_PDU whose reception window closed at or before `now`. Returns how many of
    /// them were incomplete (lost to the receiver).
    pub fn expire(&mut self, now: Instant) -> usize {
        let mut lost = 0;
        for entry in &mut self.entries {
            if entry.state != EntryState::Free && entry.expires <= now {
                lost += usize::from(entry.state == EntryState::Partial);
                entry.state = EntryState::Free;
            }
        }
        lost
    }

    /// The earliest time [`NonArqReassembly::expire`] has work to do.
    pub fn next_expiry(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| e.state != EntryState::Free)
            .map(|e| e.expires)
            .min()
    }
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

    fn non_arq(id: u16, data: &[u8]) -> (NonArqKey, NonArqData<'_>) {
        let key = NonArqKey {
            source: Address::new(7).unwrap(),
            expedited: true,
            cpdu_id: id,
        };
        let segment = NonArqData {
            cpdu_id: id,
            deliver_in_order: false,
            group: true,
            cpdu_size: data.len() as u16,
            segment_offset: 0,
            reception_window: 240,
            segment: data,
        };
        (key, segment)
    }

    #[test]
    fn non_arq_c_pdus_of_one_size_beyond_the_entries_are_all_delivered_once() {
        // Ten C_PDUs of the same size, each sent three times in a row (as the link repeats
        // them), through two entries: each is delivered exactly once.
        let mut r: NonArqReassembly<2, 64> = NonArqReassembly::new();
        let now = Instant::from_millis(1000);
        let mut delivered = std::vec::Vec::new();
        for id in 0..10u16 {
            let data = [id as u8; 20];
            for _ in 0..3 {
                let (key, segment) = non_arq(id, &data);
                if let Some(c) = r.insert(now, key, &segment).unwrap() {
                    delivered.push(c.to_vec());
                }
            }
        }
        let expected: std::vec::Vec<std::vec::Vec<u8>> =
            (0..10u8).map(|id| std::vec![id; 20]).collect();
        assert_eq!(delivered, expected);
    }

    #[test]
    fn arq_out_of_order_and_duplicates() {
        let mut r: ArqReassembly<8, 4> = ArqReassembly::new();
        let mut out = [0u8; 32];
        assert_eq!(r.insert(2, flags(false, true), b"ef"), Ok(Accepted::New));
        assert_eq!(r.insert(0, flags(true, false), b"ab"), Ok(Accepted::New));
        assert_eq!(r.pop(&mut out), Ok(None));
        assert_eq!(
            r.insert(2, flags(false, true), b"ef"),
            Ok(Accepted::Duplicate)
        );
        assert_eq!(r.insert(1, flags(false, false), b"cd"), Ok(Accepted::New));
        let got = r.pop(&mut out).unwrap().unwrap();
        assert_eq!(&out[..got.len], b"abcdef");
        assert_eq!((got.first_seq, got.last_seq), (0, 2));
        assert_eq!(r.next_seq(), 3);
        assert_eq!(
            r.insert(1, flags(false, false), b"cd"),
            Ok(Accepted::Duplicate)
        );
        assert_eq!(r.pop(&mut out), Ok(None));
    }

    #[test]
    fn arq_in_order_cpdus_wait_for_earlier_ones() {
        let mut r: ArqReassembly<8, 4> = ArqReassembly::new();
        let mut out = [0u8; 8];
        let in_order = ArqFlags {
            deliver_in_order: true,
            ..flags(true, true)
        };
        r.insert(1, in_order, b"late").unwrap();
        r.insert(2, flags(true, true), b"free").unwrap();
        // Seq 2 does not ask for order: it goes first. Seq 1 waits for seq 0.
        let got = r.pop(&mut out).unwrap().unwrap();
        assert_eq!(&out[..got.len], b"free");
        assert_eq!(r.pop(&mut out), Ok(None));
        r.insert(0, flags(true, true), b"one").unwrap();
        let got = r.pop(&mut out).unwrap().unwrap();
        assert_eq!(&out[..got.len], b"one");
        let got = r.pop(&mut out).unwrap().unwrap();
        assert_eq!(&out[..got.len], b"late");
        assert_eq!(r.next_seq(), 3);
    }

    #[test]
    fn arq_drop_discards_the_partial_cpdu_and_frees_the_window() {
        let mut r: ArqReassembly<4, 4> = ArqReassembly::new();
        let mut out = [0u8; 8];
        r.insert(0, flags(true, false), b"ab").unwrap();
        let drop = ArqFlags {
            drop_cpdu: true,
            ..flags(false, true)
        };
        r.insert(1, drop, b"").unwrap();
        assert_eq!(r.pop(&mut out), Ok(None));
        assert_eq!(r.next_seq(), 2);
        r.insert(2, flags(true, true), b"ok").unwrap();
        assert_eq!(r.pop(&mut out).unwrap().unwrap().len, 2);
    }

    #[test]
    fn arq_drop_reaches_segments_already_held_on_both_sides() {
        let mut r: ArqReassembly<8, 4> = ArqReassembly::new();
        let mut out = [0u8; 16];
        let in_order = |start, end| ArqFlags {
            deliver_in_order: true,
            ..flags(start, end)
        };
        // seq 0 is missing, so the in-order C_PDU 1..=3 is held complete but undelivered.
        r.insert(1, in_order(true, false), b"ab").unwrap();
        r.insert(2, in_order(false, false), b"cd").unwrap();
        r.insert(3, in_order(false, true), b"ef").unwrap();
        // The sender, not having seen 2 acknowledged, drops the C_PDU by resending 2 as DROP.
        let drop = ArqFlags {
            drop_cpdu: true,
            ..in_order(false, false)
        };
        assert_eq!(r.insert(2, drop, b""), Ok(Accepted::New));
        r.insert(0, flags(true, true), b"z").unwrap();
        assert_eq!(r.pop(&mut out).unwrap().unwrap().len, 1);
        assert_eq!(
            r.pop(&mut out),
            Ok(None),
            "the dropped C_PDU is never delivered"
        );
        assert_eq!(r.next_seq(), 4);
    }

    #[test]
    fn arq_capacity_and_sequence_wrap() {
        let mut r: ArqReassembly<2, 4> = ArqReassembly::new();
        r.reset(254);
        let mut out = [0u8; 16];
        r.insert(255, flags(false, true), b"b").unwrap();
        r.insert(0, flags(true, true), b"c").unwrap();
        assert_eq!(
            r.insert(1, flags(true, true), b"d"),
            Err(Error::CapacityFull)
        );
        assert_eq!(
            r.insert(200, flags(true, true), b"x"),
            Ok(Accepted::Duplicate)
        );
        assert_eq!(r.pop(&mut out).unwrap().unwrap().first_seq, 0);
        // Still full: 255 is held and 0, though consumed, waits for the lower edge to pass it.
        assert_eq!(
            r.insert(254, flags(true, false), b"a"),
            Err(Error::CapacityFull)
        );
        assert_eq!(
            r.insert(5, flags(true, true), b"toolong"),
            Err(Error::SegmentOutOfBounds)
        );
    }

    fn seg(id: u16, size: u16, offset: u16, data: &[u8]) -> NonArqData<'_> {
        NonArqData {
            cpdu_id: id,
            deliver_in_order: false,
            group: true,
            cpdu_size: size,
            segment_offset: offset,
            reception_window: 10,
            segment: data,
        }
    }

    fn key(id: u16) -> NonArqKey {
        NonArqKey {
            source: Address::new(7).unwrap(),
            expedited: false,
            cpdu_id: id,
        }
    }

    #[test]
    fn non_arq_assembles_from_any_order_and_ignores_repeats() {
        let mut r: NonArqReassembly<2, 16> = NonArqReassembly::new();
        let now = Instant::from_millis(1000);
        let cpdu = b"hello, coalition";
        assert_eq!(r.insert(now, key(1), &seg(1, 16, 8, &cpdu[8..])), Ok(None));
        assert_eq!(
            r.insert(now, key(1), &seg(1, 16, 4, &cpdu[4..10])),
            Ok(None)
        );
        let done = r.insert(now, key(1), &seg(1, 16, 0, &cpdu[..5])).unwrap();
        assert_eq!(done, Some(&cpdu[..]));
        // A repeat of the whole transmission is a duplicate while the window is open.
        assert_eq!(r.insert(now, key(1), &seg(1, 16, 0, &cpdu[..8])), Ok(None));
        assert_eq!(r.next_expiry(), Some(now + Duration::from_secs(5)));
        assert_eq!(r.expire(now + Duration::from_secs(5)), 0);
        assert_eq!(r.in_use(), 0);
    }

    #[test]
    fn non_arq_bounds_eviction_and_expiry() {
        let mut r: NonArqReassembly<2, 8, 2> = NonArqReassembly::new();
        let t0 = Instant::ZERO;
        assert_eq!(
            r.insert(t0, key(1), &seg(1, 9, 0, b"x")),
            Err(Error::SegmentOutOfBounds)
        );
        assert_eq!(
            r.insert(t0, key(1), &seg(1, 4, 3, b"xy")),
            Err(Error::SegmentOutOfBounds)
        );
        // Two disjoint ranges fill the range list; a third disjoint one is refused.
        r.insert(t0, key(1), &seg(1, 8, 0, b"a")).unwrap();
        r.insert(t0, key(1), &seg(1, 8, 3, b"d")).unwrap();
        assert_eq!(
            r.insert(t0, key(1), &seg(1, 8, 6, b"g")),
            Err(Error::CapacityFull)
        );
        // A third C_PDU evicts the earliest-expiring partial one.
        let later = Instant::from_millis(100);
        r.insert(later, key(2), &seg(2, 8, 0, b"b")).unwrap();
        r.insert(later, key(3), &seg(3, 8, 0, b"c")).unwrap();
        assert_eq!(r.in_use(), 2);
        assert_eq!(r.expire(Instant::from_millis(60_000)), 2);
    }
}
