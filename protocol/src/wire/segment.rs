//! Splitting a C_PDU into D_PDU-sized segments.
//!
//! A D_PDU carries at most [`MAX_SEGMENT_LEN`] (1023) bytes, but at low bit rates a smaller
//! segment is better: a lost frame then costs less airtime to resend. [`Segments`] yields the
//! pieces of one C_PDU, each knowing its offset and whether it is the first or last, which is
//! what both the ARQ (START/END flags) and the non-ARQ (offset and C_PDU size) headers need.

use super::{Error, Field, MAX_SEGMENT_LEN};

/// One piece of a C_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Segment<'a> {
    /// Where the piece starts within the C_PDU.
    pub offset: usize,
    /// The piece's bytes.
    pub data: &'a [u8],
    /// This is the C_PDU's first piece.
    pub first: bool,
    /// This is the C_PDU's last piece.
    pub last: bool,
}

/// An iterator over the segments of one C_PDU, in order. An empty C_PDU yields one empty
/// segment that is both first and last.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    cpdu: &'a [u8],
    max_len: usize,
    offset: usize,
    done: bool,
}

impl<'a> Segments<'a> {
    /// Segments of `cpdu` of at most `max_len` bytes (1..=[`MAX_SEGMENT_LEN`]).
    pub fn new(cpdu: &'a [u8], max_len: usize) -> Result<Self, Error> {
        if max_len == 0 || max_len > MAX_SEGMENT_LEN {
            return Err(Error::FieldOutOfRange(Field::MaxSegmentLen));
        }
        Ok(Segments {
            cpdu,
            max_len,
            offset: 0,
            done: false,
        })
    }

    /// How many segments the C_PDU takes in total.
    pub fn segment_count(cpdu_len: usize, max_len: usize) -> usize {
        cpdu_len.div_ceil(max_len.max(1)).max(1)
    }
}

impl<'a> Iterator for Segments<'a> {
    type Item = Segment<'a>;

    fn next(&mut self) -> Option<Segment<'a>> {
        if self.done {
            return None;
        }
        let start = self.offset;
        let end = (start + self.max_len).min(self.cpdu.len());
        self.offset = end;
        self.done = end >= self.cpdu.len();
        Some(Segment {
            offset: start,
            data: self.cpdu.get(start..end).unwrap_or(&[]),
            first: start == 0,
            last: self.done,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn pieces_cover_the_cpdu_exactly() {
        let cpdu: Vec<u8> = (0..2500u32).map(|i| i as u8).collect();
        let pieces: Vec<_> = Segments::new(&cpdu, 1023).unwrap().collect();
        assert_eq!(pieces.len(), 3);
        assert_eq!(Segments::segment_count(cpdu.len(), 1023), 3);
        assert!(pieces[0].first && !pieces[0].last);
        assert!(!pieces[2].first && pieces[2].last);
        assert_eq!(pieces[2].offset, 2046);
        assert_eq!(pieces[2].data.len(), 454);
        let joined: Vec<u8> = pieces.iter().flat_map(|p| p.data.iter().copied()).collect();
        assert_eq!(joined, cpdu);
    }

    #[test]
    fn empty_and_exact_multiples() {
        let empty: Vec<_> = Segments::new(&[], 10).unwrap().collect();
        assert_eq!(empty.len(), 1);
        assert!(empty[0].first && empty[0].last);
        let exact: Vec<_> = Segments::new(&[0; 20], 10).unwrap().collect();
        assert_eq!(exact.len(), 2);
        assert!(exact[1].last);
    }

    #[test]
    fn maximum_is_checked() {
        assert!(Segments::new(&[1], 0).is_err());
        assert!(Segments::new(&[1], MAX_SEGMENT_LEN + 1).is_err());
    }
}
