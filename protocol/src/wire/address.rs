//! STANAG 5066 node addresses and how a D_PDU packs two of them into nibbles.
//!
//! A node address has 28 bits, written like Wireshark as four dotted bytes (`0.0.1.44`). On the
//! air a D_PDU carries the destination and the source in one field of `m` bytes (1..=7): the
//! first `m` nibbles are the destination, the next `m` the source, each most significant nibble
//! first, with leading zero nibbles dropped. So a small network spends a single byte on both
//! addresses. The 29th "group" bit of the SIS address format has no room here: D_PDUs carry it as
//! the GROUP flag of the non-ARQ header, and [`Address::BROADCAST`] with that flag set is the
//! broadcast address `31.255.255.255`.

use super::{Error, Field};
use core::fmt;

/// A 28-bit STANAG 5066 node address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Address(u32);

impl Address {
    /// The largest address value (28 bits).
    pub const MAX_VALUE: u32 = 0x0FFF_FFFF;
    /// All 28 bits set: the broadcast address when sent with the non-ARQ GROUP flag.
    pub const BROADCAST: Address = Address(Self::MAX_VALUE);
    /// The most nibbles an address occupies on the air.
    pub const MAX_NIBBLES: u8 = 7;

    /// The address `value`, or [`Error::FieldOutOfRange`] if it needs more than 28 bits.
    pub const fn new(value: u32) -> Result<Self, Error> {
        if value > Self::MAX_VALUE {
            Err(Error::FieldOutOfRange(Field::Address))
        } else {
            Ok(Address(value))
        }
    }

    /// The address as an integer (28 bits).
    pub const fn value(self) -> u32 {
        self.0
    }

    /// How many nibbles the address needs on the air: 1 for 0..=15, up to 7.
    pub const fn nibbles(self) -> u8 {
        let significant_bits = 32 - self.0.leading_zeros();
        let n = significant_bits.div_ceil(4);
        if n == 0 { 1 } else { n as u8 }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        write!(
            f,
            "{}.{}.{}.{}",
            v >> 24,
            (v >> 16) & 0xFF,
            (v >> 8) & 0xFF,
            v & 0xFF
        )
    }
}

/// The address-field size in bytes (`m`) that carries both `dest` and `src`: each address takes
/// `m` nibbles, so `m` is the larger of their nibble counts.
pub fn field_len(dest: Address, src: Address) -> u8 {
    dest.nibbles().max(src.nibbles())
}

/// Writes `dest` and `src` as an `m`-byte address field into `out`, which must be `m` bytes long.
///
/// Returns [`Error::FieldOutOfRange`] if either address needs more than `m` nibbles and
/// [`Error::BufferTooSmall`] if `out` is not `m` bytes.
pub fn encode_pair(dest: Address, src: Address, out: &mut [u8]) -> Result<(), Error> {
    let m = out.len();
    if m == 0 || m > usize::from(Address::MAX_NIBBLES) {
        return Err(Error::BufferTooSmall);
    }
    if usize::from(field_len(dest, src)) > m {
        return Err(Error::FieldOutOfRange(Field::Address));
    }
    out.fill(0);
    for i in 0..m {
        let shift = 4 * (m - 1 - i);
        put_nibble(out, i, ((dest.0 >> shift) & 0xF) as u8);
        put_nibble(out, i + m, ((src.0 >> shift) & 0xF) as u8);
    }
    Ok(())
}

/// Reads the destination and source from an address field of `field.len()` bytes (1..=7).
pub fn decode_pair(field: &[u8]) -> Result<(Address, Address), Error> {
    let m = field.len();
    if m == 0 || m > usize::from(Address::MAX_NIBBLES) {
        return Err(Error::BadAddressSize);
    }
    let mut dest = 0u32;
    let mut src = 0u32;
    for i in 0..m {
        dest = (dest << 4) | u32::from(get_nibble(field, i));
        src = (src << 4) | u32::from(get_nibble(field, i + m));
    }
    Ok((Address(dest), Address(src)))
}

fn get_nibble(bytes: &[u8], index: usize) -> u8 {
    let byte = bytes.get(index / 2).copied().unwrap_or(0);
    if index.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0xF
    }
}

fn put_nibble(bytes: &mut [u8], index: usize, nibble: u8) {
    if let Some(byte) = bytes.get_mut(index / 2) {
        if index.is_multiple_of(2) {
            *byte |= nibble << 4;
        } else {
            *byte |= nibble & 0xF;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(v: u32) -> Address {
        Address::new(v).unwrap()
    }

    #[test]
    fn standard_vector_address_field() {
        // From the WARNING D_PDU vector: m = 2, field 05 64.
        let (dest, src) = decode_pair(&[0x05, 0x64]).unwrap();
        assert_eq!(dest, addr(0x05));
        assert_eq!(src, addr(0x64));
        let mut out = [0u8; 2];
        encode_pair(dest, src, &mut out).unwrap();
        assert_eq!(out, [0x05, 0x64]);
    }

    #[test]
    fn nibble_counts_and_field_sizes() {
        assert_eq!(addr(0).nibbles(), 1);
        assert_eq!(addr(0xF).nibbles(), 1);
        assert_eq!(addr(0x10).nibbles(), 2);
        assert_eq!(Address::BROADCAST.nibbles(), 7);
        assert_eq!(field_len(addr(3), addr(0x1234)), 4);
    }

    #[test]
    fn odd_field_sizes_share_a_byte_between_addresses() {
        // m = 3: dest nibbles 1 2 3, src nibbles 4 5 6 -> 12 34 56.
        let mut out = [0u8; 3];
        encode_pair(addr(0x123), addr(0x456), &mut out).unwrap();
        assert_eq!(out, [0x12, 0x34, 0x56]);
        assert_eq!(decode_pair(&out).unwrap(), (addr(0x123), addr(0x456)));
    }

    #[test]
    fn rejects_what_does_not_fit() {
        assert_eq!(
            Address::new(0x1000_0000),
            Err(Error::FieldOutOfRange(Field::Address))
        );
        let mut out = [0u8; 1];
        assert_eq!(
            encode_pair(addr(0x10), addr(1), &mut out),
            Err(Error::FieldOutOfRange(Field::Address))
        );
        assert_eq!(decode_pair(&[]), Err(Error::BadAddressSize));
    }

    #[test]
    fn dotted_display_matches_wireshark() {
        assert_eq!(std::format!("{}", addr(0x0102_0304)), "1.2.3.4");
        assert_eq!(std::format!("{}", Address::BROADCAST), "15.255.255.255");
    }
}
