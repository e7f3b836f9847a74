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
//!
//! Here: the constants, [`DpduType`], and [`Dpdu`] with its parsing and sizes. Beside it:
//! `frame` (the checked byte view), `body` (the type-specific fields, one [`Body`] per type)
//! and `emit` (writing a D_PDU back out).

use super::address::{self, Address};
use super::crc::data_crc;
use super::{Error, Field, MAX_SEGMENT_LEN};

mod body;
mod emit;
mod frame;

pub use body::{
    ArqData, ArqFlags, Body, Eow, ExpeditedData, Management, NonArqData, Reset, SelectiveAck,
    Warning,
};
pub use frame::Frame;

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
}

#[cfg(test)]
mod tests;
