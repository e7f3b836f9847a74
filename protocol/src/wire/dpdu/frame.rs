//! [`Frame`]: a checked, read-only view of one D_PDU's bytes, read without trusting them.

use super::{
    ADDRESS_OFFSET, COMMON_HEADER_LEN, DATA_CRC_LEN, DpduType, Eow, Error, SIZES_OFFSET, SYNC,
    data_crc,
};
use crate::wire::crc::header_crc;

/// A checked, read-only view of one D_PDU's bytes.
///
/// [`Frame::new_checked`] guarantees the slice holds the whole frame its header describes, so
/// the accessors never read out of bounds; they are nonetheless written without indexing, and on
/// an unchecked frame they return zeros and empty slices instead of panicking. The view does not
/// check CRCs: see [`Frame::header_crc_ok`] and [`Frame::data_crc_ok`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Frame<'a> {
    bytes: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Wraps `bytes` without any check.
    pub const fn new_unchecked(bytes: &'a [u8]) -> Self {
        Frame { bytes }
    }

    /// Wraps `bytes` after checking the sync word, the size fields and that the slice is long
    /// enough for the header, the address field and (for data-carrying types) the data and its
    /// CRC. Extra bytes after the frame are allowed; [`Frame::frame_len`] says where it ends.
    pub fn new_checked(bytes: &'a [u8]) -> Result<Self, Error> {
        let frame = Frame { bytes };
        frame.check_len()?;
        Ok(frame)
    }

    /// The checks of [`Frame::new_checked`].
    pub fn check_len(&self) -> Result<(), Error> {
        if self.bytes.len() < ADDRESS_OFFSET {
            return Err(Error::Truncated);
        }
        if self.bytes.get(..2) != Some(&SYNC[..]) {
            return Err(Error::BadSync);
        }
        if self.address_size() == 0 {
            return Err(Error::BadAddressSize);
        }
        if usize::from(self.header_size()) < COMMON_HEADER_LEN {
            return Err(Error::BadHeaderSize {
                dpdu_type: self.type_nibble(),
                declared: self.header_size(),
            });
        }
        if self.bytes.len() < self.header_len() {
            return Err(Error::Truncated);
        }
        if self.carries_data() && self.type_header().len() < 2 {
            return Err(Error::BadHeaderSize {
                dpdu_type: self.type_nibble(),
                declared: self.header_size(),
            });
        }
        if self.bytes.len() < self.frame_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// The underlying bytes, including anything after the frame.
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The frame's own bytes: sync through the last CRC.
    pub fn frame_bytes(&self) -> &'a [u8] {
        self.bytes.get(..self.frame_len()).unwrap_or(self.bytes)
    }

    fn byte(&self, index: usize) -> u8 {
        self.bytes.get(index).copied().unwrap_or(0)
    }

    /// The raw D_PDU type nibble (0..=15, including reserved values).
    pub fn type_nibble(&self) -> u8 {
        self.byte(2) >> 4
    }

    /// The D_PDU type, or `None` for a reserved type.
    pub fn dpdu_type(&self) -> Option<DpduType> {
        DpduType::from_nibble(self.type_nibble())
    }

    /// Whether the frame ends with a data segment and its CRC-32 (reserved types do not).
    pub fn carries_data(&self) -> bool {
        self.dpdu_type().is_some_and(DpduType::carries_data)
    }

    /// The engineering orderwire (EOW) field.
    pub fn eow(&self) -> Eow {
        Eow {
            eow_type: self.byte(2) & 0x0F,
            data: self.byte(3),
        }
    }

    /// The EOT field: time to the end of this transmission in 0.5 s steps.
    pub fn eot(&self) -> u8 {
        self.byte(4)
    }

    /// The address-field size `m` in bytes (1..=7 when valid).
    pub fn address_size(&self) -> u8 {
        self.byte(SIZES_OFFSET) >> 5
    }

    /// The header size `h`: bytes 2..=5, the type-specific header and the header CRC.
    pub fn header_size(&self) -> u8 {
        self.byte(SIZES_OFFSET) & 0x1F
    }

    /// Sync, address field and header: the offset of the data segment.
    pub fn header_len(&self) -> usize {
        2 + usize::from(self.address_size()) + usize::from(self.header_size())
    }

    /// The whole frame's length as its header describes it.
    pub fn frame_len(&self) -> usize {
        match self.segment_len() {
            Some(n) => self.header_len() + n + DATA_CRC_LEN,
            None => self.header_len(),
        }
    }

    /// The address field (`m` bytes).
    pub fn address_field(&self) -> &'a [u8] {
        let end = ADDRESS_OFFSET + usize::from(self.address_size());
        self.bytes.get(ADDRESS_OFFSET..end).unwrap_or(&[])
    }

    /// The type-specific header: the bytes between the address field and the header CRC.
    pub fn type_header(&self) -> &'a [u8] {
        let start = ADDRESS_OFFSET + usize::from(self.address_size());
        let end = self.header_len().saturating_sub(2);
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// The header CRC-16 as received.
    pub fn header_crc(&self) -> u16 {
        let at = self.header_len().saturating_sub(2);
        u16::from_le_bytes([self.byte(at), self.byte(at + 1)])
    }

    /// The header CRC-16 computed over the received header bytes.
    pub fn computed_header_crc(&self) -> u16 {
        let end = self.header_len().saturating_sub(2);
        header_crc(self.bytes.get(2..end).unwrap_or(&[]))
    }

    /// Whether the received header CRC matches the header.
    pub fn header_crc_ok(&self) -> bool {
        self.bytes.len() >= self.header_len() && self.header_crc() == self.computed_header_crc()
    }

    /// For data-carrying types, the segment length from the 10-bit size field, which is the low
    /// 10 bits of the first two type-specific header bytes in every data-carrying type.
    pub fn segment_len(&self) -> Option<usize> {
        if !self.carries_data() {
            return None;
        }
        let at = ADDRESS_OFFSET + usize::from(self.address_size());
        let size = u16::from_be_bytes([self.byte(at), self.byte(at + 1)]) & 0x03FF;
        Some(usize::from(size))
    }

    /// The data segment (empty for types without data, or if the slice is short).
    pub fn data(&self) -> &'a [u8] {
        let Some(n) = self.segment_len() else {
            return &[];
        };
        let start = self.header_len();
        self.bytes.get(start..start + n).unwrap_or(&[])
    }

    /// The data CRC-32 as received, for data-carrying types.
    pub fn data_crc(&self) -> Option<u32> {
        let n = self.segment_len()?;
        let at = self.header_len() + n;
        let crc = self.bytes.get(at..at + DATA_CRC_LEN)?;
        let mut le = [0u8; 4];
        le.copy_from_slice(crc);
        Some(u32::from_le_bytes(le))
    }

    /// The data CRC-32 computed over the received data, for data-carrying types.
    pub fn computed_data_crc(&self) -> Option<u32> {
        self.segment_len().map(|_| data_crc(self.data()))
    }

    /// Whether the data CRC matches; true for types without data.
    pub fn data_crc_ok(&self) -> bool {
        match self.segment_len() {
            None => true,
            Some(_) => self.data_crc().is_some() && self.data_crc() == self.computed_data_crc(),
        }
    }
}
