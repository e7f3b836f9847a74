//! The STANAG 5066 Annex C air interface.
//!
//! What goes over the air is a stream of D_PDUs (Data Transfer Sublayer PDUs), each opened by the
//! `90 EB` sync word and protected by a CRC-16 over its header and, when it carries data, a CRC-32
//! over that data. This module is exact to the byte: other 5066 equipment and Wireshark's
//! `s5066dts` dissector agree with what it writes (the test command checks that with tshark).
//!
//! - [`crc`]: the two Annex C CRCs as `crc` crate algorithms.
//! - [`address`]: 28-bit node addresses and their nibble packing.
//! - [`dpdu`]: [`Frame`], a checked view of one D_PDU's bytes, and [`Dpdu`], its parsed
//!   representation, with `parse` and `emit` for every D_PDU type.
//! - [`deframer`]: turns a serial byte stream (noise and all) into D_PDUs, in fixed memory.
//! - [`segment`]: splits a C_PDU into D_PDU-sized segments.
//! - [`reassembly`]: puts C_PDUs back together, for ARQ (by sequence number) and non-ARQ (by
//!   C_PDU ID and offset) delivery, in fixed memory.
//!
//! Nothing in this module panics on any input: every malformed byte sequence is a typed [`Error`].

pub mod address;
pub mod crc;
pub mod deframer;
pub mod dpdu;
pub mod reassembly;
pub mod segment;

pub use address::Address;
pub use deframer::{Deframer, DeframerStats, Event};
pub use dpdu::{
    ArqData, ArqFlags, Body, Dpdu, DpduType, Eow, ExpeditedData, Frame, Management, NonArqData,
    Reset, SelectiveAck, Warning,
};

use core::fmt;

/// The most data one D_PDU carries: the segment size field has 10 bits.
pub const MAX_SEGMENT_LEN: usize = 1023;

/// The longest D_PDU on the air: sync, a 7-byte address field, the largest header the 5-bit size
/// field allows, a full segment and its CRC-32.
pub const MAX_DPDU_LEN: usize = 2 + 7 + 31 + MAX_SEGMENT_LEN + 4;

/// Why bytes could not be read as, or a value could not be written as, STANAG 5066 wire format.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// The bytes end before the field or frame they should hold.
    Truncated,
    /// The frame does not start with the `90 EB` sync word.
    BadSync,
    /// The address-size field is 0; a D_PDU address field holds 1 to 7 bytes.
    BadAddressSize,
    /// The header-size field does not fit the D_PDU type (each type has a fixed size, or a
    /// minimum plus a bounded selective-ACK or management extension).
    BadHeaderSize {
        /// The raw D_PDU type nibble.
        dpdu_type: u8,
        /// The header size the frame declared.
        declared: u8,
    },
    /// The D_PDU type nibble is one of the reserved values 9..=14.
    UnknownType(u8),
    /// The header CRC-16 does not match the header bytes.
    HeaderCrc,
    /// The data CRC-32 does not match the data bytes (the header is still sound).
    DataCrc,
    /// A value does not fit the wire field it must go in.
    FieldOutOfRange(Field),
    /// The output buffer is smaller than what must be written into it.
    BufferTooSmall,
    /// A fixed-capacity structure (reassembly slots, byte ranges) is full.
    CapacityFull,
    /// A segment does not fit the C_PDU it claims to belong to (offset + length beyond the
    /// C_PDU size, or a C_PDU larger than the reassembly buffer).
    SegmentOutOfBounds,
}

/// The wire field named by [`Error::FieldOutOfRange`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Field {
    /// A node address wider than 28 bits.
    Address,
    /// A data segment longer than [`MAX_SEGMENT_LEN`].
    SegmentLen,
    /// A selective-ACK bitmap longer than [`SelectiveAck::MAX_BITMAP_LEN`] bytes, or an
    /// acknowledged sequence number outside the bitmap's reach.
    AckBitmap,
    /// An EOW type above 15.
    EowType,
    /// An expedited C_PDU ID above 15.
    ExpeditedCpduId,
    /// A non-ARQ C_PDU ID above 4095.
    NonArqCpduId,
    /// A WARNING D_PDU field above 15.
    Warning,
    /// A management extended message longer than [`Management::MAX_EXTENDED_LEN`].
    ManagementMessage,
    /// A maximum segment size of 0 or above [`MAX_SEGMENT_LEN`].
    MaxSegmentLen,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("truncated"),
            Error::BadSync => f.write_str("no 90 EB sync word"),
            Error::BadAddressSize => f.write_str("address size 0"),
            Error::BadHeaderSize {
                dpdu_type,
                declared,
            } => write!(
                f,
                "header size {declared} is wrong for D_PDU type {dpdu_type}"
            ),
            Error::UnknownType(t) => write!(f, "reserved D_PDU type {t}"),
            Error::HeaderCrc => f.write_str("header CRC mismatch"),
            Error::DataCrc => f.write_str("data CRC mismatch"),
            Error::FieldOutOfRange(field) => write!(f, "{field:?} out of range"),
            Error::BufferTooSmall => f.write_str("buffer too small"),
            Error::CapacityFull => f.write_str("capacity full"),
            Error::SegmentOutOfBounds => f.write_str("segment outside its C_PDU"),
        }
    }
}

impl core::error::Error for Error {}

impl From<crate::codec::BufferTooSmall> for Error {
    fn from(_: crate::codec::BufferTooSmall) -> Self {
        Error::BufferTooSmall
    }
}
