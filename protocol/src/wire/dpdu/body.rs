//! The type-specific parts of a D_PDU: the orderwire, ARQ flags and acknowledgements, and one
//! [`Body`] per D_PDU type, with the sizes each takes on the air.

use super::{DpduType, Error, Field};

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
    pub(super) fn to_bits(self) -> u8 {
        u8::from(self.cpdu_start) << 7
            | u8::from(self.cpdu_end) << 6
            | u8::from(self.deliver_in_order) << 5
            | u8::from(self.drop_cpdu) << 4
            | u8::from(self.tx_win_uwe) << 3
            | u8::from(self.tx_win_lwe) << 2
    }

    pub(super) fn from_bits(bits: u8) -> Self {
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

impl Warning {
    /// Reason 0: the received D_PDU's type is not one this node knows.
    pub const UNRECOGNISED_TYPE: u8 = 0;
    /// Reason 1: a connection-related D_PDU came while no link was made.
    pub const NOT_CONNECTED: u8 = 1;
    /// Reason 2: the received D_PDU is invalid.
    pub const INVALID: u8 = 2;
    /// Reason 3: the received D_PDU is invalid in the receiver's current state (how a node
    /// linked elsewhere answers a PHYSICAL LINK REQUEST: Annex B has no "busy" reject reason).
    pub const INVALID_FOR_STATE: u8 = 3;
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
    pub(super) fn type_header_len(&self) -> usize {
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
