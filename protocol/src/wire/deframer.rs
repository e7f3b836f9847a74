//! Finding D_PDUs in a serial byte stream.
//!
//! A modem hands us bytes in chunks of any size, with noise between transmissions, frames cut
//! short by fades and false `90 EB` pairs inside noise. The [`Deframer`] hunts the sync word,
//! checks the header CRC, waits for the rest of a frame only once its header is proven, and
//! reports each frame as [`Event::Good`] (both CRCs correct) or [`Event::BadData`] (header
//! correct, data damaged: its header can still drive ARQ, its data must never be delivered).
//!
//! Resynchronisation never loses a true frame that follows damage:
//! - after a bad header CRC it resumes hunting one byte after the false sync;
//! - after a bad data CRC it resumes hunting just past the damaged frame's sync word, because a
//!   frame cut short makes the next frame's bytes look like its data, and a frame cut inside its
//!   header CRC can even borrow the next frame's sync byte to complete its header. Bytes inside
//!   a damaged frame's claimed extent are not counted as noise.
//!
//! A frame whose header promised more bytes than have arrived is held until they do. When the
//! driver knows no more are coming (end of a capture file, or the modem reports the end of a
//! transmission), it calls [`Deframer::flush`], and the held candidate is given up so anything
//! complete behind it is still found. Memory is one fixed buffer of `N` bytes, at least
//! [`MAX_DPDU_LEN`].

use super::MAX_DPDU_LEN;
use super::dpdu::{Frame, SYNC};

/// Counters of what the deframer has seen since it was created.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DeframerStats {
    /// Frames with a correct header CRC and, where they carry data, a correct data CRC.
    pub good: u64,
    /// Sync words whose header was impossible or failed its CRC.
    pub bad_header: u64,
    /// Frames with a correct header whose data failed its CRC or was cut short.
    pub bad_data: u64,
    /// Bytes that belonged to no frame: noise, false syncs, cut-off headers.
    pub noise_bytes: u64,
}

/// What [`Deframer::poll`] found.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event<'a> {
    /// A whole frame with correct CRCs.
    Good {
        /// Stream offset of the frame's first byte.
        offset: u64,
        /// The frame.
        frame: Frame<'a>,
    },
    /// A frame whose header CRC is correct but whose data CRC is not, or whose data was cut
    /// short (then `frame` holds only the bytes that arrived).
    BadData {
        /// Stream offset of the frame's first byte.
        offset: u64,
        /// The frame as received.
        frame: Frame<'a>,
    },
    /// A sync word followed by an impossible or corrupt header.
    BadHeader {
        /// Stream offset of the false sync word.
        offset: u64,
    },
}

/// Turns a byte stream into D_PDUs in `N` bytes of fixed memory.
///
/// Call [`Deframer::feed`] with incoming bytes, then [`Deframer::poll`] until it returns `None`;
/// repeat. `feed` takes only what fits, so loop until your chunk is consumed.
#[derive(Clone, Debug)]
pub struct Deframer<const N: usize = MAX_DPDU_LEN> {
    buf: [u8; N],
    /// First byte not yet consumed.
    start: usize,
    /// One past the last byte held.
    end: usize,
    /// Bytes below this index belong to a damaged frame already reported: not noise.
    shadow_end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    flushing: bool,
    stats: DeframerStats,
}

/// What [`Deframer::poll`] decided about the candidate at the current position.
enum Step {
    /// Not a frame: skip one byte and hunt again.
    BadHeader,
    /// A frame of this many bytes with correct CRCs.
    Good(usize),
    /// A frame of this many bytes whose data CRC failed.
    BadData(usize),
    /// Not enough bytes yet to decide.
    Wait,
}

impl<const N: usize> Default for Deframer<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Deframer<N> {
    const ENOUGH_FOR_ANY_FRAME: () = assert!(N >= MAX_DPDU_LEN, "buffer below MAX_DPDU_LEN");

    /// A deframer with an empty buffer.
    pub const fn new() -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::ENOUGH_FOR_ANY_FRAME;
        Deframer {
            buf: [0; N],
            start: 0,
            end: 0,
            shadow_end: 0,
            base: 0,
            flushing: false,
            stats: DeframerStats {
                good: 0,
                bad_header: 0,
                bad_data: 0,
                noise_bytes: 0,
            },
        }
    }

    /// The counters so far.
    pub const fn stats(&self) -> DeframerStats {
        self.stats
    }

    /// Bytes held but not yet resolved into frames or noise.
    pub const fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Copies as much of `input` as fits into the buffer and returns how many bytes it took.
    /// Call [`Deframer::poll`] until it returns `None` before feeding more; a return of 0 means
    /// the buffer is full and `poll` has work to do.
    pub fn feed(&mut self, input: &[u8]) -> usize {
        self.compact();
        let room = self.buf.get_mut(self.end..).unwrap_or(&mut []);
        let n = room.len().min(input.len());
        if let (Some(dst), Some(src)) = (room.get_mut(..n), input.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.end += n;
        self.flushing = false;
        n
    }

    /// Declares that no more bytes follow for now (end of file, end of a transmission): frames
    /// still waiting for bytes are given up, and the next polls report everything behind them.
    pub fn flush(&mut self) {
        self.flushing = true;
    }

    /// The next frame or damaged header in the buffered bytes, or `None` when more input is
    /// needed. The returned frame borrows the buffer until the next call.
    pub fn poll(&mut self) -> Option<Event<'_>> {
        if !self.hunt_sync() {
            return None;
        }
        let step = match self.examine() {
            Step::Wait if self.flushing => self.abandon(),
            step => step,
        };
        self.emit(step)
    }

    /// Discards bytes up to the next sync word. Returns false if none is buffered (keeping a
    /// trailing `90` that may be the first half of one, unless flushing).
    fn hunt_sync(&mut self) -> bool {
        let held = self.held();
        match held.windows(2).position(|w| w == SYNC) {
            Some(i) => {
                self.discard_noise(i);
                true
            }
            None => {
                let keep = usize::from(held.last() == Some(&SYNC[0]) && !self.flushing);
                self.discard_noise(held.len() - keep);
                false
            }
        }
    }

    /// Decides what the sync word at `start` begins.
    fn examine(&self) -> Step {
        let held = self.held();
        let frame = Frame::new_unchecked(held);
        if held.len() < 6 {
            return Step::Wait;
        }
        if frame.address_size() == 0 || frame.header_size() < 7 {
            return Step::BadHeader;
        }
        if held.len() < frame.header_len() {
            return Step::Wait;
        }
        if !frame.header_crc_ok() || (frame.carries_data() && frame.type_header().len() < 2) {
            return Step::BadHeader;
        }
        if held.len() < frame.frame_len() {
            return Step::Wait;
        }
        if frame.data_crc_ok() {
            Step::Good(frame.frame_len())
        } else {
            Step::BadData(frame.frame_len())
        }
    }

    /// When flushing, decides the fate of a candidate that can never complete: a proven header
    /// makes it a frame cut short (damaged data), anything else a bad header.
    fn abandon(&self) -> Step {
        let held = self.held();
        let frame = Frame::new_unchecked(held);
        let header_proven = frame.address_size() != 0
            && frame.header_size() >= 7
            && held.len() >= frame.header_len()
            && frame.header_crc_ok();
        if header_proven {
            Step::BadData(held.len())
        } else {
            Step::BadHeader
        }
    }

    /// Reports the candidate at `start` as `step` decided, moving the cursor past it.
    fn emit(&mut self, step: Step) -> Option<Event<'_>> {
        let at = self.start;
        let offset = self.base + at as u64;
        match step {
            Step::Wait => None,
            Step::BadHeader => {
                self.stats.bad_header += 1;
                self.discard_noise(1);
                Some(Event::BadHeader { offset })
            }
            Step::Good(len) => {
                self.stats.good += 1;
                self.start += len;
                self.shadow_end = self.shadow_end.max(self.start);
                let frame = Frame::new_unchecked(self.buf.get(at..at + len).unwrap_or(&[]));
                Some(Event::Good { offset, frame })
            }
            Step::BadData(len) => {
                self.stats.bad_data += 1;
                let frame = Frame::new_unchecked(self.buf.get(at..at + len).unwrap_or(&[]));
                self.shadow_end = self.shadow_end.max(at + len);
                self.start += SYNC.len();
                Some(Event::BadData { offset, frame })
            }
        }
    }

    fn held(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    /// Skips `n` bytes, counting as noise those outside a reported damaged frame.
    fn discard_noise(&mut self, n: usize) {
        let shadowed = self.shadow_end.saturating_sub(self.start).min(n);
        self.stats.noise_bytes += (n - shadowed) as u64;
        self.start += n;
    }

    /// Moves the held bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.start == 0 {
            return;
        }
        self.buf.copy_within(self.start..self.end, 0);
        self.base += self.start as u64;
        self.shadow_end = self.shadow_end.saturating_sub(self.start);
        self.end -= self.start;
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Address, ArqData, ArqFlags, Body, Dpdu, Eow, Warning};
    use std::vec::Vec;

    fn frame(seq: u8, len: usize) -> Vec<u8> {
        let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_mul(seq)).collect();
        let dpdu = Dpdu {
            eow: Eow::NONE,
            eot: 3,
            dest: Address::new(0x21).unwrap(),
            src: Address::new(0x7).unwrap(),
            body: Body::DataOnly(ArqData {
                flags: ArqFlags::default(),
                tx_seq: seq,
                segment: &data,
            }),
        };
        let mut out = std::vec![0; dpdu.buffer_len()];
        dpdu.emit(&mut out).unwrap();
        out
    }

    /// Runs `stream` through a deframer in chunks of `chunk` bytes, flushing at the end, and
    /// returns (good frames' sequence numbers, stats).
    fn run(stream: &[u8], chunk: usize) -> (Vec<u8>, DeframerStats) {
        let mut d: Deframer = Deframer::new();
        let mut seqs = Vec::new();
        let mut collect = |d: &mut Deframer| {
            while let Some(ev) = d.poll() {
                if let Event::Good { frame, .. } = ev {
                    let dpdu = Dpdu::parse(&frame).unwrap();
                    if let Body::DataOnly(a) = dpdu.body {
                        seqs.push(a.tx_seq);
                    }
                }
            }
        };
        for piece in stream.chunks(chunk.max(1)) {
            let mut rest = piece;
            while !rest.is_empty() {
                let n = d.feed(rest);
                rest = &rest[n..];
                collect(&mut d);
            }
        }
        d.flush();
        collect(&mut d);
        (seqs, d.stats())
    }

    #[test]
    fn frames_arrive_whole_whatever_the_chunking() {
        let mut stream = Vec::new();
        for seq in 0..5 {
            stream.extend(frame(seq, 40 * usize::from(seq)));
        }
        for chunk in [1, 2, 7, 64, 5000] {
            let (seqs, stats) = run(&stream, chunk);
            assert_eq!(seqs, [0, 1, 2, 3, 4], "chunk {chunk}");
            assert_eq!(stats.noise_bytes, 0);
            assert_eq!(stats.bad_header + stats.bad_data, 0);
        }
    }

    #[test]
    fn noise_and_false_syncs_are_skipped_and_counted() {
        let mut stream = std::vec![0x90, 0xEB, 0x00, 0x11, 0x90, 0x90, 0xEB, 0x05, 0x22];
        let noise = stream.len() as u64;
        stream.extend(frame(9, 10));
        stream.extend([0x90]);
        let (seqs, stats) = run(&stream, 3);
        assert_eq!(seqs, [9]);
        assert_eq!(stats.noise_bytes, noise + 1);
        assert!(stats.bad_header >= 1);
    }

    #[test]
    fn a_frame_cut_in_half_does_not_cost_the_next_one() {
        let first = frame(1, 200);
        let mut stream = first[..first.len() / 2].to_vec();
        stream.extend(frame(2, 30));
        stream.extend(frame(3, 30));
        let (seqs, stats) = run(&stream, 16);
        assert_eq!(seqs, [2, 3]);
        assert_eq!(stats.bad_data, 1);
        assert_eq!(stats.noise_bytes, 0);
    }

    #[test]
    fn a_cut_header_is_a_bad_header_and_the_next_frame_survives() {
        let first = frame(1, 200);
        let mut stream = first[..8].to_vec();
        stream.extend(frame(2, 30));
        let (seqs, stats) = run(&stream, 5);
        assert_eq!(seqs, [2]);
        assert_eq!(stats.bad_header, 1);
    }

    #[test]
    fn the_last_frame_is_delivered_on_flush_even_behind_a_cut_frame() {
        let first = frame(1, 500);
        let mut stream = first[..300].to_vec();
        stream.extend(frame(2, 10));
        let (seqs, stats) = run(&stream, 4096);
        assert_eq!(seqs, [2]);
        assert_eq!(stats.bad_data, 1);
    }

    #[test]
    fn damaged_data_is_reported_never_delivered() {
        let mut bad = frame(4, 50);
        let n = bad.len();
        bad[n - 10] ^= 0xFF;
        let mut d: Deframer = Deframer::new();
        d.feed(&bad);
        match d.poll() {
            Some(Event::BadData { frame, offset }) => {
                assert_eq!(offset, 0);
                assert!(frame.header_crc_ok());
                assert!(!frame.data_crc_ok());
            }
            other => panic!("expected BadData, got {other:?}"),
        }
        assert_eq!(d.poll(), None);
        assert_eq!(d.stats().bad_data, 1);
    }

    #[test]
    fn offsets_count_from_the_start_of_the_stream() {
        let warning = Dpdu {
            eow: Eow::NONE,
            eot: 0,
            dest: Address::new(5).unwrap(),
            src: Address::new(0x64).unwrap(),
            body: Body::Warning(Warning::default()),
        };
        let mut one = [0u8; 11];
        warning.emit(&mut one).unwrap();
        let mut d: Deframer = Deframer::new();
        let mut offsets = Vec::new();
        for _ in 0..300 {
            d.feed(&[0x00, 0x00, 0x00]);
            d.feed(&one);
            while let Some(ev) = d.poll() {
                if let Event::Good { offset, .. } = ev {
                    offsets.push(offset);
                }
            }
        }
        assert_eq!(offsets.len(), 300);
        assert!(
            offsets
                .iter()
                .enumerate()
                .all(|(i, &o)| o == i as u64 * 14 + 3)
        );
    }
}
