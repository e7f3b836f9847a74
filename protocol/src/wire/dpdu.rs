//! D_PDUs: the frames of STANAG 5066 Annex C, as a checked byte view and a parsed representation.
//!
//! Layout of every D_PDU (offsets in bytes):
//!
//! ```text
//! 0..2      sync 90 EB
//! 2         D_PDU type (high nibble) | EOW type (low nibble)
//! 3         EOW data
//! 4         EOT: time left in this transmission, 0.5 s units
//! 5         address size m (high 3 bits) | header size h (low 5 bits)
//! 6..6+m    destination and source addresses, m nibbles each
//! ..        type-specific header (h - 6 bytes)
//! ..        header CRC-16, low byte first, over bytes 2 .. before the CRC
//! ..        data segment (n <= 1023 bytes) and its CRC-32, for types 0, 2, 4, 7, 8
//! ```
//!
//! `h` counts bytes 2..=5, the type-specific header and the header CRC; the sync and the address
//! field are outside it. [`Frame`] reads those fields from a byte slice without trusting it;
//! [`Dpdu`] is the owned meaning of a frame, with [`Dpdu::parse`] and [`Dpdu::emit`]. Unused bits
//! are written as zero and ignored when read, so a frame from equipment that sets them still
//! parses (its CRC covers the bytes as received).

use super::address::{self, Address};
use super::crc::{data_crc, header_crc};
use super::{Error, Field, MAX_SEGMENT_LEN};
use crate::codec::{BufferTooSmall, Writer};

/// The D_PDU sync word as it appears on the air (0xEB90 sent least significant byte first).
pub const SYNC: [u8; 2] = [0x90, 0xEB];

/// Bytes 2..=5 (type/EOW, EOW data, EOT, sizes) plus the header CRC: the part of `h` that every
/// D_PDU type has.
const COMMON_HEADER_LEN: usize = 6;
/// The offset of the address field.
const ADDRESS_OFFSET: usize = 6;
/// The offset of the sizes byte.
const SIZES_OFFSET: usize = 5;
/// The length of the data CRC-32.
const DATA_CRC_LEN: usize = 4;

/// The D_PDU types of Annex C.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(u8)]
pub enum DpduType {
    /// ARQ data, no acknowledgement.
    DataOnly = 0,
    /// Selective acknowledgement alone.
    AckOnly = 1,
    /// ARQ data with a piggybacked acknowledgement.
    DataAck = 2,
    /// ARQ reset and window resynchronisation.
    ResetWinResync = 3,
    /// Expedited ARQ data.
    ExpeditedDataOnly = 4,
    /// Acknowledgement of expedited data.
    ExpeditedAckOnly = 5,
    /// Management messages (EOW exchanges that need acknowledgement).
    Management = 6,
    /// Non-ARQ (broadcast-capable) data.
    NonArqData = 7,
    /// Expedited non-ARQ data.
    ExpeditedNonArqData = 8,
    /// A warning about a received frame.
    Warning = 15,
}

impl DpduType {
    /// The type for a type nibble, or `None` for the reserved values 9..=14 (and above 15).
    pub const fn from_nibble(nibble: u8) -> Option<Self> {
        Some(match nibble {
            0 => DpduType::DataOnly,
            1 => DpduType::AckOnly,
            2 => DpduType::DataAck,
            3 => DpduType::ResetWinResync,
            4 => DpduType::ExpeditedDataOnly,
            5 => DpduType::ExpeditedAckOnly,
            6 => DpduType::Management,
            7 => DpduType::NonArqData,
            8 => DpduType::ExpeditedNonArqData,
            15 => DpduType::Warning,
            _ => return None,
        })
    }

    /// Whether D_PDUs of this type end with a data segment and its CRC-32.
    pub const fn carries_data(self) -> bool {
        matches!(
            self,
            DpduType::DataOnly
                | DpduType::DataAck
                | DpduType::ExpeditedDataOnly
                | DpduType::NonArqData
                | DpduType::ExpeditedNonArqData
        )
    }

    /// The type's name as Wireshark shows it.
    pub const fn name(self) -> &'static str {
        match self {
            DpduType::DataOnly => "DATA_ONLY",
            DpduType::AckOnly => "ACK_ONLY",
            DpduType::DataAck => "DATA_ACK",
            DpduType::ResetWinResync => "RESET_WIN_RESYNC",
            DpduType::ExpeditedDataOnly => "EXP_DATA_ONLY",
            DpduType::ExpeditedAckOnly => "EXP_ACK_ONLY",
            DpduType::Management => "MANAGEMENT",
            DpduType::NonArqData => "NON_ARQ_DATA",
            DpduType::ExpeditedNonArqData => "EXP_NON_ARQ_DATA",
            DpduType::Warning => "WARNING",
        }
    }
}

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

/// The 12-bit engineering orderwire field: a 4-bit type and 8 bits of data.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Eow {
    /// The EOW type (0..=15): 0 none, 1 DRC request, 2 DRC response, 3 unrecognised type,
    /// 4 capability, 5 ALM request, 6 ALM response, 7 HDR DRC request, 15 HFTRP token.
    pub eow_type: u8,
    /// The EOW contents, interpreted according to the type.
    pub data: u8,
}

impl Eow {
    /// No orderwire message.
    pub const NONE: Eow = Eow {
        eow_type: 0,
        data: 0,
    };
}

/// The flags of an ARQ data segment (DATA-ONLY and DATA-ACK).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct ArqFlags {
    /// This segment is the first of its C_PDU.
    pub cpdu_start: bool,
    /// This segment is the last of its C_PDU.
    pub cpdu_end: bool,
    /// The receiver must deliver this C_PDU after every earlier one.
    pub deliver_in_order: bool,
    /// The sender has dropped this C_PDU (its time to die passed): discard its segments.
    pub drop_cpdu: bool,
    /// This frame is at the upper edge of the sender's transmit window.
    pub tx_win_uwe: bool,
    /// This frame is at the lower edge of the sender's transmit window.
    pub tx_win_lwe: bool,
}

impl ArqFlags {
    fn to_bits(self) -> u8 {
        u8::from(self.cpdu_start) << 7
            | u8::from(self.cpdu_end) << 6
            | u8::from(self.deliver_in_order) << 5
            | u8::from(self.drop_cpdu) << 4
            | u8::from(self.tx_win_uwe) << 3
            | u8::from(self.tx_win_lwe) << 2
    }

    fn from_bits(bits: u8) -> Self {
        ArqFlags {
            cpdu_start: bits & 0x80 != 0,
            cpdu_end: bits & 0x40 != 0,
            deliver_in_order: bits & 0x20 != 0,
            drop_cpdu: bits & 0x10 != 0,
            tx_win_uwe: bits & 0x08 != 0,
            tx_win_lwe: bits & 0x04 != 0,
        }
    }
}

/// One segment of an ARQ C_PDU (DATA-ONLY, and the data half of DATA-ACK).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ArqData<'a> {
    /// Segment and window flags.
    pub flags: ArqFlags,
    /// The TX frame sequence number (mod 256).
    pub tx_seq: u8,
    /// The segment's bytes (at most [`MAX_SEGMENT_LEN`]).
    pub segment: &'a [u8],
}

/// A selective acknowledgement: the receive window's lower edge and a bitmap above it.
///
/// Bit 0 (the least significant bit) of the first bitmap byte stands for `rx_lwe + 1`, counting
/// upward; a set bit acknowledges that frame. The bitmap is owned and fixed-size, so an
/// acknowledgement can be built and kept without borrowing a frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct SelectiveAck {
    /// The receiver's lower window edge: the oldest frame it has not received.
    pub rx_lwe: u8,
    bitmap: [u8; SelectiveAck::MAX_BITMAP_LEN],
    bitmap_len: u8,
}

impl SelectiveAck {
    /// The most bitmap bytes a header can hold (the 5-bit header size allows 16 more bytes).
    pub const MAX_BITMAP_LEN: usize = 16;

    /// An acknowledgement of everything below `rx_lwe` and nothing above it.
    pub const fn new(rx_lwe: u8) -> Self {
        SelectiveAck {
            rx_lwe,
            bitmap: [0; Self::MAX_BITMAP_LEN],
            bitmap_len: 0,
        }
    }

    /// An acknowledgement with the given bitmap bytes (at most [`Self::MAX_BITMAP_LEN`]).
    pub fn with_bitmap(rx_lwe: u8, bitmap: &[u8]) -> Result<Self, Error> {
        let mut ack = Self::new(rx_lwe);
        ack.bitmap
            .get_mut(..bitmap.len())
            .ok_or(Error::FieldOutOfRange(Field::AckBitmap))?
            .copy_from_slice(bitmap);
        ack.bitmap_len = bitmap.len() as u8;
        Ok(ack)
    }

    /// The bitmap bytes as sent.
    pub fn bitmap(&self) -> &[u8] {
        self.bitmap
            .get(..usize::from(self.bitmap_len))
            .unwrap_or(&[])
    }

    /// Marks `seq` as received, growing the bitmap as needed. `seq` must lie within the 128
    /// frames above `rx_lwe`.
    pub fn set(&mut self, seq: u8) -> Result<(), Error> {
        let bit = usize::from(seq.wrapping_sub(self.rx_lwe).wrapping_sub(1));
        let byte = self
            .bitmap
            .get_mut(bit / 8)
            .ok_or(Error::FieldOutOfRange(Field::AckBitmap))?;
        *byte |= 1 << (bit % 8);
        self.bitmap_len = self.bitmap_len.max((bit / 8 + 1) as u8);
        Ok(())
    }

    /// Whether this acknowledgement covers `seq`: below `rx_lwe` (within the 128-frame window)
    /// or set in the bitmap.
    pub fn acknowledges(&self, seq: u8) -> bool {
        let behind = self.rx_lwe.wrapping_sub(seq);
        if behind != 0 && usize::from(behind) <= 128 {
            return true;
        }
        let bit = usize::from(seq.wrapping_sub(self.rx_lwe).wrapping_sub(1));
        self.bitmap()
            .get(bit / 8)
            .is_some_and(|byte| byte & (1 << (bit % 8)) != 0)
    }
}

/// The RESET/WIN-RESYNC D_PDU's fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Reset {
    /// Full reset of both ARQ machines.
    pub full_reset: bool,
    /// Request that the peer resets its transmit window.
    pub tx_win_request: bool,
    /// Command the peer to set its receive window lower edge to `new_rx_lwe`.
    pub rx_win_command: bool,
    /// Acknowledges a reset.
    pub reset_ack: bool,
    /// The new receive-window lower edge.
    pub new_rx_lwe: u8,
    /// The reset frame's own identifier, so its acknowledgement can name it.
    pub reset_frame_id: u8,
}

/// One segment of an expedited ARQ C_PDU (EXPEDITED DATA-ONLY).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ExpeditedData<'a> {
    /// This segment is the first of its C_PDU.
    pub cpdu_start: bool,
    /// This segment is the last of its C_PDU.
    pub cpdu_end: bool,
    /// The expedited C_PDU ID (0..=15).
    pub cpdu_id: u8,
    /// The TX frame sequence number in the expedited sequence space.
    pub tx_seq: u8,
    /// The segment's bytes.
    pub segment: &'a [u8],
}

/// The MANAGEMENT D_PDU's fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Management<'a> {
    /// The EXTENDED MESSAGE flag: an extended management message follows.
    pub extended: bool,
    /// The VALID MESSAGE flag: the EOW field holds a management message.
    pub valid: bool,
    /// Acknowledges the management frame named by `frame_id`.
    pub ack: bool,
    /// The management frame ID.
    pub frame_id: u8,
    /// The extended management message bytes (at most [`Management::MAX_EXTENDED_LEN`]).
    pub extended_message: &'a [u8],
}

impl Management<'_> {
    /// The longest extended message the 5-bit header size allows.
    pub const MAX_EXTENDED_LEN: usize = 31 - 8;
}

/// One segment of a non-ARQ C_PDU (NON-ARQ DATA and EXPEDITED NON-ARQ DATA).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct NonArqData<'a> {
    /// The C_PDU ID (12 bits, mod 4096; separate spaces for normal and expedited).
    pub cpdu_id: u16,
    /// The receiver must deliver C_PDUs in ID order.
    pub deliver_in_order: bool,
    /// The destination is a group address (with [`Address::BROADCAST`]: every node).
    pub group: bool,
    /// The whole C_PDU's size in bytes.
    pub cpdu_size: u16,
    /// Where this segment starts within the C_PDU.
    pub segment_offset: u16,
    /// How long the receiver should wait for the rest, in 0.5 s units.
    pub reception_window: u16,
    /// The segment's bytes.
    pub segment: &'a [u8],
}

/// The WARNING D_PDU's fields.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Hash)]
pub struct Warning {
    /// The type of the frame that caused the warning (0..=15).
    pub received_type: u8,
    /// Why the warning was sent (0..=15).
    pub reason: u8,
}

/// The type-specific part of a D_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum Body<'a> {
    /// Type 0.
    DataOnly(ArqData<'a>),
    /// Type 1.
    AckOnly(SelectiveAck),
    /// Type 2.
    DataAck(ArqData<'a>, SelectiveAck),
    /// Type 3.
    ResetWinResync(Reset),
    /// Type 4.
    ExpeditedDataOnly(ExpeditedData<'a>),
    /// Type 5.
    ExpeditedAckOnly(SelectiveAck),
    /// Type 6.
    Management(Management<'a>),
    /// Type 7.
    NonArqData(NonArqData<'a>),
    /// Type 8.
    ExpeditedNonArqData(NonArqData<'a>),
    /// Type 15.
    Warning(Warning),
}

impl<'a> Body<'a> {
    /// The D_PDU type of this body.
    pub const fn dpdu_type(&self) -> DpduType {
        match self {
            Body::DataOnly(_) => DpduType::DataOnly,
            Body::AckOnly(_) => DpduType::AckOnly,
            Body::DataAck(..) => DpduType::DataAck,
            Body::ResetWinResync(_) => DpduType::ResetWinResync,
            Body::ExpeditedDataOnly(_) => DpduType::ExpeditedDataOnly,
            Body::ExpeditedAckOnly(_) => DpduType::ExpeditedAckOnly,
            Body::Management(_) => DpduType::Management,
            Body::NonArqData(_) => DpduType::NonArqData,
            Body::ExpeditedNonArqData(_) => DpduType::ExpeditedNonArqData,
            Body::Warning(_) => DpduType::Warning,
        }
    }

    /// The data segment, for data-carrying types.
    pub fn segment(&self) -> Option<&'a [u8]> {
        match self {
            Body::DataOnly(d) | Body::DataAck(d, _) => Some(d.segment),
            Body::ExpeditedDataOnly(d) => Some(d.segment),
            Body::NonArqData(d) | Body::ExpeditedNonArqData(d) => Some(d.segment),
            _ => None,
        }
    }

    /// The length of the type-specific header this body needs.
    fn type_header_len(&self) -> usize {
        match self {
            Body::DataOnly(_) | Body::ExpeditedDataOnly(_) | Body::ResetWinResync(_) => 3,
            Body::AckOnly(ack) | Body::ExpeditedAckOnly(ack) => 1 + ack.bitmap().len(),
            Body::DataAck(_, ack) => 4 + ack.bitmap().len(),
            Body::Management(m) => 2 + m.extended_message.len(),
            Body::NonArqData(_) | Body::ExpeditedNonArqData(_) => 9,
            Body::Warning(_) => 1,
        }
    }
}

/// A parsed D_PDU: the common header fields and the type-specific body.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Dpdu<'a> {
    /// The engineering orderwire.
    pub eow: Eow,
    /// Time to the end of this transmission, 0.5 s units (0 in full duplex).
    pub eot: u8,
    /// Where the frame goes.
    pub dest: Address,
    /// Where the frame comes from.
    pub src: Address,
    /// The type-specific header and data.
    pub body: Body<'a>,
}

impl<'a> Dpdu<'a> {
    /// Parses a frame, checking both CRCs.
    pub fn parse(frame: &Frame<'a>) -> Result<Self, Error> {
        let dpdu = Self::parse_ignoring_data_crc(frame)?;
        if !frame.data_crc_ok() {
            return Err(Error::DataCrc);
        }
        Ok(dpdu)
    }

    /// Parses a frame whose header CRC is good but whose data may not be: for diagnostics of
    /// frames with damaged data, whose header fields are still trustworthy. Never deliver the
    /// segment of such a frame as data.
    pub fn parse_ignoring_data_crc(frame: &Frame<'a>) -> Result<Self, Error> {
        frame.check_len()?;
        if !frame.header_crc_ok() {
            return Err(Error::HeaderCrc);
        }
        let nibble = frame.type_nibble();
        let dpdu_type = DpduType::from_nibble(nibble).ok_or(Error::UnknownType(nibble))?;
        let (dest, src) = address::decode_pair(frame.address_field())?;
        let th = frame.type_header();
        let bad_size = Error::BadHeaderSize {
            dpdu_type: nibble,
            declared: frame.header_size(),
        };
        let at = |i: usize| th.get(i).copied().ok_or(bad_size);
        let exact = |len: usize| {
            if th.len() == len {
                Ok(())
            } else {
                Err(bad_size)
            }
        };
        let ack_from = |start: usize| {
            let lwe = at(start)?;
            let bitmap = th.get(start + 1..).ok_or(bad_size)?;
            SelectiveAck::with_bitmap(lwe, bitmap).map_err(|_| bad_size)
        };
        let segment = frame.data();
        let arq_data = || -> Result<ArqData<'a>, Error> {
            Ok(ArqData {
                flags: ArqFlags::from_bits(at(0)?),
                tx_seq: at(2)?,
                segment,
            })
        };
        let non_arq = || -> Result<NonArqData<'a>, Error> {
            exact(9)?;
            let word = |i: usize| Ok::<u16, Error>(u16::from_be_bytes([at(i)?, at(i + 1)?]));
            let first = at(0)?;
            Ok(NonArqData {
                cpdu_id: u16::from(first >> 4) << 8 | u16::from(at(2)?),
                deliver_in_order: first & 0x08 != 0,
                group: first & 0x04 != 0,
                cpdu_size: word(3)?,
                segment_offset: word(5)?,
                reception_window: word(7)?,
                segment,
            })
        };
        let body = match dpdu_type {
            DpduType::DataOnly => {
                exact(3)?;
                Body::DataOnly(arq_data()?)
            }
            DpduType::AckOnly => Body::AckOnly(ack_from(0)?),
            DpduType::DataAck => Body::DataAck(arq_data()?, ack_from(3)?),
            DpduType::ResetWinResync => {
                exact(3)?;
                let flags = at(0)?;
                Body::ResetWinResync(Reset {
                    full_reset: flags & 0x08 != 0,
                    tx_win_request: flags & 0x04 != 0,
                    rx_win_command: flags & 0x02 != 0,
                    reset_ack: flags & 0x01 != 0,
                    new_rx_lwe: at(1)?,
                    reset_frame_id: at(2)?,
                })
            }
            DpduType::ExpeditedDataOnly => {
                exact(3)?;
                let flags = at(0)?;
                Body::ExpeditedDataOnly(ExpeditedData {
                    cpdu_start: flags & 0x80 != 0,
                    cpdu_end: flags & 0x40 != 0,
                    cpdu_id: (flags & 0x3C) >> 2,
                    tx_seq: at(2)?,
                    segment,
                })
            }
            DpduType::ExpeditedAckOnly => Body::ExpeditedAckOnly(ack_from(0)?),
            DpduType::Management => {
                let flags = at(0)?;
                Body::Management(Management {
                    extended: flags & 0x04 != 0,
                    valid: flags & 0x02 != 0,
                    ack: flags & 0x01 != 0,
                    frame_id: at(1)?,
                    extended_message: th.get(2..).ok_or(bad_size)?,
                })
            }
            DpduType::NonArqData => Body::NonArqData(non_arq()?),
            DpduType::ExpeditedNonArqData => Body::ExpeditedNonArqData(non_arq()?),
            DpduType::Warning => {
                exact(1)?;
                let b = at(0)?;
                Body::Warning(Warning {
                    received_type: b >> 4,
                    reason: b & 0x0F,
                })
            }
        };
        Ok(Dpdu {
            eow: frame.eow(),
            eot: frame.eot(),
            dest,
            src,
            body,
        })
    }

    /// The address-field size `m` this D_PDU is written with: the fewest bytes that carry both
    /// addresses.
    pub fn address_size(&self) -> u8 {
        address::field_len(self.dest, self.src)
    }

    /// The header size `h` this D_PDU is written with.
    pub fn header_size(&self) -> usize {
        COMMON_HEADER_LEN + self.body.type_header_len()
    }

    /// The number of bytes [`Dpdu::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        let header = 2 + usize::from(self.address_size()) + self.header_size();
        match self.body.segment() {
            Some(seg) => header + seg.len() + DATA_CRC_LEN,
            None => header,
        }
    }

    fn check_ranges(&self) -> Result<(), Error> {
        let out_of_range = |ok: bool, field: Field| {
            if ok {
                Ok(())
            } else {
                Err(Error::FieldOutOfRange(field))
            }
        };
        out_of_range(self.eow.eow_type <= 0x0F, Field::EowType)?;
        if let Some(seg) = self.body.segment() {
            out_of_range(seg.len() <= MAX_SEGMENT_LEN, Field::SegmentLen)?;
        }
        match &self.body {
            Body::ExpeditedDataOnly(d) => out_of_range(d.cpdu_id <= 0x0F, Field::ExpeditedCpduId),
            Body::NonArqData(d) | Body::ExpeditedNonArqData(d) => {
                out_of_range(d.cpdu_id <= 0x0FFF, Field::NonArqCpduId)
            }
            Body::Management(m) => out_of_range(
                m.extended_message.len() <= Management::MAX_EXTENDED_LEN,
                Field::ManagementMessage,
            ),
            Body::Warning(w) => {
                out_of_range(w.received_type <= 0x0F && w.reason <= 0x0F, Field::Warning)
            }
            _ => Ok(()),
        }
    }

    /// Writes the D_PDU, both CRCs included, at the start of `buf`; returns the bytes written
    /// ([`Dpdu::buffer_len`]).
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, Error> {
        self.check_ranges()?;
        let total = self.buffer_len();
        let out = buf.get_mut(..total).ok_or(Error::BufferTooSmall)?;
        let m = usize::from(self.address_size());
        let h = self.header_size();
        let mut w = Writer::new(out);
        w.put(&SYNC)?;
        w.put(&[
            (self.body.dpdu_type() as u8) << 4 | self.eow.eow_type,
            self.eow.data,
            self.eot,
            (m as u8) << 5 | h as u8,
        ])?;
        address::encode_pair(self.dest, self.src, w.take(m)?)?;
        self.emit_type_header(&mut w)?;
        let crc = header_crc(w.written().get(2..).ok_or(Error::BufferTooSmall)?);
        w.put(&crc.to_le_bytes())?;
        if let Some(segment) = self.body.segment() {
            w.put(segment)?;
            w.put(&data_crc(segment).to_le_bytes())?;
        }
        Ok(w.len())
    }

    fn emit_type_header(&self, w: &mut Writer<'_>) -> Result<(), BufferTooSmall> {
        let size_hi = |seg: &[u8]| ((seg.len() >> 8) & 0x03) as u8;
        let size_lo = |seg: &[u8]| (seg.len() & 0xFF) as u8;
        let ack = |w: &mut Writer<'_>, ack: &SelectiveAck| {
            w.put(&[ack.rx_lwe])?;
            w.put(ack.bitmap())
        };
        match &self.body {
            Body::DataOnly(d) => w.put(&[
                d.flags.to_bits() | size_hi(d.segment),
                size_lo(d.segment),
                d.tx_seq,
            ]),
            Body::DataAck(d, a) => {
                w.put(&[
                    d.flags.to_bits() | size_hi(d.segment),
                    size_lo(d.segment),
                    d.tx_seq,
                ])?;
                ack(w, a)
            }
            Body::AckOnly(a) | Body::ExpeditedAckOnly(a) => ack(w, a),
            Body::ResetWinResync(r) => w.put(&[
                u8::from(r.full_reset) << 3
                    | u8::from(r.tx_win_request) << 2
                    | u8::from(r.rx_win_command) << 1
                    | u8::from(r.reset_ack),
                r.new_rx_lwe,
                r.reset_frame_id,
            ]),
            Body::ExpeditedDataOnly(d) => w.put(&[
                u8::from(d.cpdu_start) << 7
                    | u8::from(d.cpdu_end) << 6
                    | d.cpdu_id << 2
                    | size_hi(d.segment),
                size_lo(d.segment),
                d.tx_seq,
            ]),
            Body::Management(m) => {
                w.put(&[
                    u8::from(m.extended) << 2 | u8::from(m.valid) << 1 | u8::from(m.ack),
                    m.frame_id,
                ])?;
                w.put(m.extended_message)
            }
            Body::NonArqData(d) | Body::ExpeditedNonArqData(d) => {
                w.put(&[
                    ((d.cpdu_id >> 8) as u8) << 4
                        | u8::from(d.deliver_in_order) << 3
                        | u8::from(d.group) << 2
                        | size_hi(d.segment),
                    size_lo(d.segment),
                    (d.cpdu_id & 0xFF) as u8,
                ])?;
                w.put(&d.cpdu_size.to_be_bytes())?;
                w.put(&d.segment_offset.to_be_bytes())?;
                w.put(&d.reception_window.to_be_bytes())
            }
            Body::Warning(x) => w.put(&[x.received_type << 4 | x.reason]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    const WARNING_VECTOR: [u8; 11] = [
        0x90, 0xEB, 0xF0, 0x00, 0x00, 0x47, 0x05, 0x64, 0x02, 0x5F, 0x1E,
    ];

    fn addr(v: u32) -> Address {
        Address::new(v).unwrap()
    }

    fn emit(dpdu: &Dpdu<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; dpdu.buffer_len()];
        let n = dpdu.emit(&mut buf).unwrap();
        assert_eq!(n, buf.len());
        buf
    }

    #[test]
    fn standard_vector_warning_parses() {
        let frame = Frame::new_checked(&WARNING_VECTOR).unwrap();
        assert_eq!(frame.address_size(), 2);
        assert_eq!(frame.header_size(), 7);
        assert_eq!(frame.frame_len(), 11);
        assert_eq!(frame.header_crc(), 0x1E5F);
        assert!(frame.header_crc_ok());
        let dpdu = Dpdu::parse(&frame).unwrap();
        assert_eq!(dpdu.dest, addr(5));
        assert_eq!(dpdu.src, addr(0x64));
        assert_eq!(
            dpdu.body,
            Body::Warning(Warning {
                received_type: 0,
                reason: 2
            })
        );
    }

    #[test]
    fn standard_vector_warning_emits_identically() {
        let dpdu = Dpdu {
            eow: Eow::NONE,
            eot: 0,
            dest: addr(5),
            src: addr(0x64),
            body: Body::Warning(Warning {
                received_type: 0,
                reason: 2,
            }),
        };
        assert_eq!(emit(&dpdu), WARNING_VECTOR);
    }

    #[test]
    fn data_only_layout_and_crc32() {
        let payload = [0xAAu8; 300];
        let dpdu = Dpdu {
            eow: Eow::NONE,
            eot: 10,
            dest: addr(0x12),
            src: addr(0x3),
            body: Body::DataOnly(ArqData {
                flags: ArqFlags {
                    cpdu_start: true,
                    cpdu_end: true,
                    deliver_in_order: true,
                    ..ArqFlags::default()
                },
                tx_seq: 200,
                segment: &payload,
            }),
        };
        let bytes = emit(&dpdu);
        // m = 2, h = 9.
        assert_eq!(bytes[5], 2 << 5 | 9);
        // Flags 0xE0 | size high bits 01, size low 0x2C (300 = 0x12C), sequence 200.
        assert_eq!(&bytes[8..11], &[0xE1, 0x2C, 200]);
        assert_eq!(bytes.len(), 2 + 2 + 9 + 300 + 4);
        let crc = data_crc(&payload).to_le_bytes();
        assert_eq!(&bytes[bytes.len() - 4..], &crc);
        let frame = Frame::new_checked(&bytes).unwrap();
        assert_eq!(Dpdu::parse(&frame).unwrap(), dpdu);
    }

    #[test]
    fn selective_ack_bits_count_up_from_lwe_plus_one() {
        let mut ack = SelectiveAck::new(250);
        ack.set(251).unwrap();
        ack.set(4).unwrap(); // 250 + 1 + 9 wraps to 4: bit 9.
        assert_eq!(ack.bitmap(), &[0x01, 0x02]);
        assert!(ack.acknowledges(251));
        assert!(ack.acknowledges(4));
        assert!(!ack.acknowledges(252));
        assert!(!ack.acknowledges(250));
        assert!(ack.acknowledges(249));
        assert_eq!(
            SelectiveAck::new(0).set(130),
            Err(Error::FieldOutOfRange(Field::AckBitmap))
        );
    }

    #[test]
    fn data_crc_damage_is_reported_with_header_intact() {
        let payload = [1u8, 2, 3, 4];
        let dpdu = Dpdu {
            eow: Eow::NONE,
            eot: 0,
            dest: addr(1),
            src: addr(2),
            body: Body::NonArqData(NonArqData {
                cpdu_id: 0xABC,
                deliver_in_order: false,
                group: true,
                cpdu_size: 4,
                segment_offset: 0,
                reception_window: 20,
                segment: &payload,
            }),
        };
        let mut bytes = emit(&dpdu);
        let last_data = bytes.len() - 5;
        bytes[last_data] ^= 0x40;
        let frame = Frame::new_checked(&bytes).unwrap();
        assert!(frame.header_crc_ok());
        assert!(!frame.data_crc_ok());
        assert_eq!(Dpdu::parse(&frame), Err(Error::DataCrc));
        let header_only = Dpdu::parse_ignoring_data_crc(&frame).unwrap();
        assert!(matches!(header_only.body, Body::NonArqData(d) if d.cpdu_id == 0xABC));
    }

    #[test]
    fn wrong_header_sizes_and_reserved_types_are_refused() {
        let mut bytes = WARNING_VECTOR;
        // Claim type 9 (reserved) and fix the CRC so only the type is wrong.
        bytes[2] = 0x90;
        let crc = header_crc(&bytes[2..9]).to_le_bytes();
        bytes[9..11].copy_from_slice(&crc);
        let frame = Frame::new_checked(&bytes).unwrap();
        assert_eq!(Dpdu::parse(&frame), Err(Error::UnknownType(9)));

        // A DATA-ONLY type nibble with the WARNING's 1-byte type header.
        let mut bytes = WARNING_VECTOR.to_vec();
        bytes[2] = 0x00;
        assert!(Frame::new_checked(&bytes).is_err());
    }

    #[test]
    fn emit_refuses_values_that_do_not_fit() {
        let big = [0u8; MAX_SEGMENT_LEN + 1];
        let dpdu = Dpdu {
            eow: Eow::NONE,
            eot: 0,
            dest: addr(1),
            src: addr(2),
            body: Body::DataOnly(ArqData {
                flags: ArqFlags::default(),
                tx_seq: 0,
                segment: &big,
            }),
        };
        let mut buf = vec![0u8; 2000];
        assert_eq!(
            dpdu.emit(&mut buf),
            Err(Error::FieldOutOfRange(Field::SegmentLen))
        );
        let small = Dpdu {
            body: Body::Warning(Warning::default()),
            ..dpdu
        };
        assert_eq!(small.emit(&mut buf[..5]), Err(Error::BufferTooSmall));
    }
}
