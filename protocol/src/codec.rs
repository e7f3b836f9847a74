//! The byte-level primitives every encoder in the workspace shares: a [`Reader`] and a
//! [`Writer`] that move front to back through a slice without ever indexing out of it,
//! LEB128 [`Varint`]s, and [`Hex`] for people.
//!
//! D_PDUs, SIS primitives, node messages and the host's BATCH framing each have their own
//! layout and error type, but not their own cursor: they read and write through these, and turn
//! the small errors here ([`Truncated`], [`BufferTooSmall`], [`VarintError`]) into theirs with
//! `From`, so `?` reads naturally and the bounds checks exist once.

use core::fmt;

/// A read went past the end of the input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Truncated;

/// A write went past the end of the caller's buffer.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct BufferTooSmall;

/// Why a varint could not be read.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VarintError {
    /// The input ended inside it.
    Truncated,
    /// Longer than 10 bytes, or beyond 64 bits.
    Overlong,
}

impl From<Truncated> for VarintError {
    fn from(_: Truncated) -> Self {
        VarintError::Truncated
    }
}

/// The most bytes a varint takes: 64 bits, 7 a byte.
pub const MAX_VARINT_LEN: usize = 10;

/// An unsigned LEB128 varint: 7 bits a byte, least significant first, the top bit set on every
/// byte but the last.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Varint {
    bytes: [u8; MAX_VARINT_LEN],
    len: usize,
}

impl Varint {
    /// The encoding of `value`.
    pub fn new(mut value: u64) -> Self {
        let mut bytes = [0u8; MAX_VARINT_LEN];
        let mut len = 0;
        // 10 bytes of 7 bits hold any u64: the loop always ends on `value == 0`.
        for slot in bytes.iter_mut() {
            let byte = (value & 0x7F) as u8;
            value >>= 7;
            len += 1;
            if value == 0 {
                *slot = byte;
                break;
            }
            *slot = byte | 0x80;
        }
        Varint { bytes, len }
    }

    /// The encoded bytes.
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Reads fields front to back from a slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Reader { rest: bytes }
    }

    /// What has not been read yet.
    pub const fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Whether everything has been read.
    pub const fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let (head, rest) = self.rest.split_at_checked(n).ok_or(Truncated)?;
        self.rest = rest;
        Ok(head)
    }

    /// The next `N` bytes, as an array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Truncated> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// The next byte.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        let [b] = self.array()?;
        Ok(b)
    }

    /// The next two bytes, big-endian.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// The next four bytes, big-endian.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// The next [`Varint`].
    pub fn varint(&mut self) -> Result<u64, VarintError> {
        let mut value = 0u64;
        for i in 0..MAX_VARINT_LEN {
            let byte = self.u8()?;
            if i == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(VarintError::Overlong);
            }
            value |= u64::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(VarintError::Overlong)
    }
}

/// Writes fields front to back into a caller's buffer.
#[derive(Debug)]
pub struct Writer<'b> {
    out: &'b mut [u8],
    len: usize,
}

impl<'b> Writer<'b> {
    /// A writer at the start of `out`.
    pub const fn new(out: &'b mut [u8]) -> Self {
        Writer { out, len: 0 }
    }

    /// Bytes written so far.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes written so far (for a checksum over them).
    pub fn written(&self) -> &[u8] {
        self.out.get(..self.len).unwrap_or_default()
    }

    /// The next `n` bytes of the buffer, for the caller to fill.
    pub fn take(&mut self, n: usize) -> Result<&mut [u8], BufferTooSmall> {
        let start = self.len;
        let end = start.checked_add(n).ok_or(BufferTooSmall)?;
        let slot = self.out.get_mut(start..end).ok_or(BufferTooSmall)?;
        self.len = end;
        Ok(slot)
    }

    /// Writes `bytes`.
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), BufferTooSmall> {
        self.take(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    /// Writes one byte.
    pub fn u8(&mut self, v: u8) -> Result<(), BufferTooSmall> {
        self.put(&[v])
    }

    /// Writes two bytes, big-endian.
    pub fn u16(&mut self, v: u16) -> Result<(), BufferTooSmall> {
        self.put(&v.to_be_bytes())
    }

    /// Writes four bytes, big-endian.
    pub fn u32(&mut self, v: u32) -> Result<(), BufferTooSmall> {
        self.put(&v.to_be_bytes())
    }

    /// Writes `value` as a [`Varint`].
    pub fn varint(&mut self, value: u64) -> Result<(), BufferTooSmall> {
        self.put(Varint::new(value).as_bytes())
    }
}

/// Bytes as lowercase hex, two digits a byte: `Hex(&digest).to_string()`, or `{}` in a format
/// string with no allocation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why hex text did not decode: the reader of [`Hex`]'s form, [`unhex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HexError {
    /// An odd number of digits: the last byte is only half there.
    OddLength,
    /// Not a hex digit: the pair that starts at this offset of the text.
    NotHex {
        /// Offset of the pair's first digit.
        offset: usize,
    },
}

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HexError::OddLength => f.write_str("odd number of hex digits"),
            HexError::NotHex { offset } => write!(f, "not hex at offset {offset}"),
        }
    }
}

/// Decodes hex text (two digits a byte, either case) byte by byte, so a caller collects into
/// whatever holds its bytes (a `Vec` on a host, a fixed-capacity vector on the adjunct). An odd
/// length is reported first, before any byte, so nothing is decoded from text that cannot be
/// whole.
pub fn unhex(text: &[u8]) -> impl Iterator<Item = Result<u8, HexError>> + '_ {
    let whole = text.len().is_multiple_of(2);
    let digit = |c: u8| (c as char).to_digit(16);
    let bytes = text.chunks_exact(2).enumerate().map(move |(i, pair)| {
        let digits = pair.first().zip(pair.get(1));
        match digits.map(|(&high, &low)| (digit(high), digit(low))) {
            Some((Some(high), Some(low))) => Ok(((high << 4) | low) as u8),
            _ => Err(HexError::NotHex { offset: 2 * i }),
        }
    });
    let odd = (!whole).then_some(Err(HexError::OddLength));
    odd.into_iter()
        .chain(bytes.take(if whole { usize::MAX } else { 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn varints_round_trip_at_every_length() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX.into(),
            u64::MAX,
        ] {
            let v = Varint::new(value);
            let mut r = Reader::new(v.as_bytes());
            assert_eq!(r.varint(), Ok(value));
            assert!(r.is_empty());
        }
        assert_eq!(Varint::new(300).as_bytes(), [0xAC, 0x02]);
        assert_eq!(Varint::new(u64::MAX).as_bytes().len(), MAX_VARINT_LEN);
    }

    #[test]
    fn bad_varints_are_refused() {
        assert_eq!(Reader::new(&[0x80]).varint(), Err(VarintError::Truncated));
        assert_eq!(
            Reader::new(&[0xFF; 10]).varint(),
            Err(VarintError::Overlong)
        );
        let mut beyond_64 = [0xFF; 10];
        beyond_64[9] = 0x02;
        assert_eq!(Reader::new(&beyond_64).varint(), Err(VarintError::Overlong));
    }

    #[test]
    fn reader_and_writer_stop_at_the_end() {
        let mut buf = [0u8; 7];
        let mut w = Writer::new(&mut buf);
        w.u8(1).unwrap();
        w.u16(0x0203).unwrap();
        w.u32(0x0405_0607).unwrap();
        assert_eq!(w.u8(8), Err(BufferTooSmall));
        assert_eq!(w.len(), 7);
        let mut r = Reader::new(&buf);
        assert_eq!(r.u8(), Ok(1));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.take(5), Err(Truncated));
        assert_eq!(r.u32(), Ok(0x0405_0607));
        assert!(r.is_empty());
    }

    #[test]
    fn unhex_reads_either_case_and_names_what_is_wrong() {
        let bytes: Result<std::vec::Vec<u8>, _> = unhex(b"00017fAbff").collect();
        assert_eq!(bytes.unwrap(), [0, 1, 0x7f, 0xab, 0xff]);
        assert_eq!(unhex(b"").count(), 0);
        let mut odd = unhex(b"abc");
        assert_eq!(odd.next(), Some(Err(HexError::OddLength)));
        assert_eq!(odd.next(), None);
        let bad: std::vec::Vec<_> = unhex(b"00zz").collect();
        assert_eq!(bad, [Ok(0), Err(HexError::NotHex { offset: 2 })]);
        assert_eq!(
            unhex(b"0g").next(),
            Some(Err(HexError::NotHex { offset: 0 }))
        );
        assert_eq!(
            HexError::NotHex { offset: 4 }.to_string(),
            "not hex at offset 4"
        );
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(Hex(&[0, 1, 0xAB, 0xFF]).to_string(), "0001abff");
        assert_eq!(Hex(&[]).to_string(), "");
    }
}
