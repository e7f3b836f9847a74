//! STANAG 5066 Annex A: the Subnetwork Interface Sublayer primitives that client applications
//! exchange with a 5066 node over TCP (port 5066), as checked views and owned representations.
//!
//! Every primitive travels in a frame of five header bytes and a body:
//!
//! ```text
//! 0..2  preamble 90 EB
//! 2     version 00
//! 3..5  size: the bytes that follow, big-endian (unlike the D_PDU CRCs, sent low byte first)
//! 5     the primitive's type (1..=27), then its fields
//! ```
//!
//! [`Packet`] is the checked view of one frame (smoltcp's `Packet`); [`frame_len`] tells a
//! stream reader how long the frame at the head of its buffer is; [`Primitive`] is the parsed
//! representation (smoltcp's `Repr`), written back by [`Primitive::emit`]. Parsing never
//! panics and never allocates: variable parts (U_PDUs, management bodies) borrow the input.
//!
//! Field layouts, as checked against Wireshark's `packet-s5066sis.c` dissector:
//!
//! - an **address** is 4 bytes: the size in nibbles (top 3 bits), a group flag (0x10 of the
//!   first byte) and a 28-bit node address; broadcast is `31.255.255.255` (group + all ones);
//! - a **service type** is 12 bits: transmission mode (4 bits: 0 use the bind's, 1 ARQ,
//!   2 non-ARQ, 3 non-ARQ with errors), delivery confirmation (2 bits: none, node, client),
//!   delivery order (1 bit, 0 = in order), extended-field flag (1 bit), minimum number of
//!   retransmissions (4 bits). S_BIND_REQUEST pads it with 4 unused bits to 2 bytes;
//!   S_UNIDATA_REQUEST packs it with the 20-bit time-to-live into 4 bytes;
//! - S_UNIDATA_REQUEST: priority | destination SAP, destination address, service type + TTL,
//!   U_PDU size (16 bits), U_PDU; the expedited form (24) has an unused nibble for the priority;
//! - S_UNIDATA_INDICATION: priority | destination SAP, destination address, transmission mode |
//!   source SAP, source address, U_PDU size, (mode 3 only: the error-block and
//!   not-received-block lists), U_PDU. Some old stacks put 4 zero bytes after the size
//!   (Wireshark's "Rockwell Collins v2.1" case); [`Primitive::parse`] skips them;
//! - S_UNIDATA_REQUEST_CONFIRM and _REJECTED: reason | SAP, address, size, U_PDU bytes.
//!
//! Values of reason and status fields are plain numbers with named constants ([`bind_rejected`],
//! [`unbind`], [`rejected`], [`availability`]) so a value this crate does not name still
//! round-trips unchanged.
//!
//! Here: the constants, code tables, framing and the primitives' types; `encoding` reads and
//! writes them.

use core::fmt;

use crate::wire::Address;

mod encoding;

/// The first two bytes of every framed primitive.
pub const PREAMBLE: [u8; 2] = [0x90, 0xEB];
/// The only protocol version defined (Edition 2 and later).
pub const VERSION: u8 = 0;
/// Preamble, version and size.
pub const HEADER_LEN: usize = 5;
/// The TCP port registered for SIS.
pub const PORT: u16 = 5066;
/// The largest body the 16-bit size field can announce.
pub const MAX_BODY_LEN: usize = u16::MAX as usize;
/// The largest time-to-live (20 bits).
pub const MAX_TTL: u32 = 0x000F_FFFF;

/// Primitive type numbers (the first byte of the body).
pub mod kind {
    /// S_BIND_REQUEST (client to node).
    pub const BIND_REQUEST: u8 = 1;
    /// S_UNBIND_REQUEST (client to node).
    pub const UNBIND_REQUEST: u8 = 2;
    /// S_BIND_ACCEPTED (node to client).
    pub const BIND_ACCEPTED: u8 = 3;
    /// S_BIND_REJECTED (node to client).
    pub const BIND_REJECTED: u8 = 4;
    /// S_UNBIND_INDICATION (node to client).
    pub const UNBIND_INDICATION: u8 = 5;
    /// S_HARD_LINK_ESTABLISH (client to node).
    pub const HARD_LINK_ESTABLISH: u8 = 6;
    /// S_HARD_LINK_TERMINATE (client to node).
    pub const HARD_LINK_TERMINATE: u8 = 7;
    /// S_HARD_LINK_ESTABLISHED (node to client).
    pub const HARD_LINK_ESTABLISHED: u8 = 8;
    /// S_HARD_LINK_REJECTED (node to client).
    pub const HARD_LINK_REJECTED: u8 = 9;
    /// S_HARD_LINK_TERMINATED (node to client).
    pub const HARD_LINK_TERMINATED: u8 = 10;
    /// S_HARD_LINK_INDICATION (node to client).
    pub const HARD_LINK_INDICATION: u8 = 11;
    /// S_HARD_LINK_ACCEPT (client to node).
    pub const HARD_LINK_ACCEPT: u8 = 12;
    /// S_HARD_LINK_REJECT (client to node).
    pub const HARD_LINK_REJECT: u8 = 13;
    /// S_SUBNET_AVAILABILITY (node to client).
    pub const SUBNET_AVAILABILITY: u8 = 14;
    /// S_DATAFLOW_ON (either way).
    pub const DATAFLOW_ON: u8 = 15;
    /// S_DATAFLOW_OFF (either way).
    pub const DATAFLOW_OFF: u8 = 16;
    /// S_KEEP_ALIVE (either way).
    pub const KEEP_ALIVE: u8 = 17;
    /// S_MANAGEMENT_MESSAGE_REQUEST (client to node).
    pub const MANAGEMENT_REQUEST: u8 = 18;
    /// S_MANAGEMENT_MESSAGE_INDICATION (node to client).
    pub const MANAGEMENT_INDICATION: u8 = 19;
    /// S_UNIDATA_REQUEST (client to node).
    pub const UNIDATA_REQUEST: u8 = 20;
    /// S_UNIDATA_INDICATION (node to client).
    pub const UNIDATA_INDICATION: u8 = 21;
    /// S_UNIDATA_REQUEST_CONFIRM (node to client).
    pub const UNIDATA_REQUEST_CONFIRM: u8 = 22;
    /// S_UNIDATA_REQUEST_REJECTED (node to client).
    pub const UNIDATA_REQUEST_REJECTED: u8 = 23;
    /// The expedited forms are the normal ones plus this.
    pub const EXPEDITED_OFFSET: u8 = 4;
}

/// Reasons of S_BIND_REJECTED.
pub mod bind_rejected {
    /// No reason given.
    pub const UNKNOWN: u8 = 0;
    /// The node has no room for another client.
    pub const NOT_ENOUGH_RESOURCES: u8 = 1;
    /// The SAP ID may not be bound.
    pub const INVALID_SAP: u8 = 2;
    /// Another client holds the SAP ID.
    pub const SAP_IN_USE: u8 = 3;
    /// ARQ asked for while the node runs a broadcast-only session.
    pub const ARQ_DURING_BROADCAST: u8 = 4;
}

/// Reasons of S_UNBIND_INDICATION.
pub mod unbind {
    /// No reason given.
    pub const UNKNOWN: u8 = 0;
    /// A client of higher rank took the SAP.
    pub const PREEMPTED: u8 = 1;
    /// The client did not answer S_KEEP_ALIVE.
    pub const INACTIVITY: u8 = 2;
    /// The client sent too many invalid primitives.
    pub const INVALID_PRIMITIVES: u8 = 3;
    /// The client sent too many expedited requests.
    pub const TOO_MANY_EXPEDITED: u8 = 4;
    /// ARQ asked for while the node runs a broadcast-only session.
    pub const ARQ_DURING_BROADCAST: u8 = 5;
}

/// Reasons of S_UNIDATA_REQUEST_REJECTED (4 bits).
pub mod rejected {
    /// No reason given.
    pub const UNKNOWN: u8 = 0;
    /// The time-to-live passed before delivery.
    pub const TTL_EXPIRED: u8 = 1;
    /// No client is bound to the destination SAP.
    pub const SAP_NOT_BOUND: u8 = 2;
    /// The destination node cannot be reached.
    pub const NODE_NOT_RESPONDING: u8 = 3;
    /// The U_PDU is larger than the MTU given in S_BIND_ACCEPTED.
    pub const TOO_LARGE: u8 = 4;
    /// Neither the request nor the bind named a usable transmission mode.
    pub const MODE_NOT_SPECIFIED: u8 = 5;
}

/// Status and reason values of S_SUBNET_AVAILABILITY.
pub mod availability {
    /// The subnetwork is off.
    pub const OFF: u8 = 0;
    /// The subnetwork is on.
    pub const ON: u8 = 1;
    /// Receive only.
    pub const RECEIVE_ONLY: u8 = 2;
    /// Half duplex.
    pub const HALF_DUPLEX: u8 = 3;
    /// Full duplex.
    pub const FULL_DUPLEX: u8 = 4;
    /// Reason: none given.
    pub const REASON_UNKNOWN: u8 = 0;
    /// Reason: the local node is in EMCON.
    pub const REASON_EMCON: u8 = 1;
    /// Reason: a higher-priority link was asked for.
    pub const REASON_HIGHER_PRIORITY: u8 = 2;
}

/// Transmission modes of the service type.
pub mod tx_mode {
    /// Use the service type given at bind time.
    pub const DEFAULT: u8 = 0;
    /// Acknowledged (ARQ).
    pub const ARQ: u8 = 1;
    /// Unacknowledged (non-ARQ, broadcast).
    pub const NON_ARQ: u8 = 2;
    /// Non-ARQ, delivering U_PDUs with errors and gaps marked.
    pub const NON_ARQ_WITH_ERRORS: u8 = 3;
}

/// Delivery confirmation values of the service type.
pub mod confirm {
    /// No confirmation.
    pub const NONE: u8 = 0;
    /// Confirm when the destination node has the U_PDU.
    pub const NODE: u8 = 1;
    /// Confirm when the destination client has the U_PDU.
    pub const CLIENT: u8 = 2;
}

/// Why bytes are not a SIS primitive, or a primitive could not be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// The bytes end before the header, a field, or the size the header announced.
    Truncated,
    /// The frame does not start with `90 EB`: the stream is out of step.
    BadPreamble,
    /// A version other than 0.
    BadVersion(u8),
    /// The size field is 0: there is no type byte.
    Empty,
    /// A primitive type outside 1..=27.
    UnknownType(u8),
    /// Bytes are left after the primitive's last field.
    Trailing,
    /// A value does not fit its field (a SAP or priority above 15, a TTL above 20 bits, a
    /// body longer than the size field can say).
    FieldOutOfRange,
    /// The output buffer is smaller than the frame.
    BufferTooSmall,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated => f.write_str("truncated primitive"),
            Error::BadPreamble => f.write_str("no 90 EB preamble"),
            Error::BadVersion(v) => write!(f, "unknown SIS version {v}"),
            Error::Empty => f.write_str("primitive of size 0"),
            Error::UnknownType(t) => write!(f, "unknown primitive type {t}"),
            Error::Trailing => f.write_str("bytes after the primitive's last field"),
            Error::FieldOutOfRange => f.write_str("value out of range for its field"),
            Error::BufferTooSmall => f.write_str("buffer too small"),
        }
    }
}

impl core::error::Error for Error {}

/// How many bytes the framed primitive at the head of `stream` occupies, once the header is
/// there (`Ok(None)`: read more). A bad preamble or version is an error: TCP does not lose
/// bytes, so a stream out of step has a broken peer and is best closed.
pub fn frame_len(stream: &[u8]) -> Result<Option<usize>, Error> {
    let Some(header) = stream.get(..HEADER_LEN) else {
        // Reject a bad preamble as early as it shows.
        return match stream.get(..2.min(stream.len())) {
            Some(head) if PREAMBLE.starts_with(head) => Ok(None),
            _ => Err(Error::BadPreamble),
        };
    };
    let packet = Packet::new_unchecked(header);
    packet.check_header()?;
    Ok(Some(HEADER_LEN + usize::from(packet.size())))
}

/// A checked view of one framed primitive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// A view without checks; every accessor still returns something safe.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// A view of a buffer that holds at least one whole frame (preamble, version, size and
    /// the body the size announces).
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let packet = Packet { buffer };
        packet.check_header()?;
        if packet.buffer.as_ref().len() < packet.frame_len() {
            return Err(Error::Truncated);
        }
        Ok(packet)
    }

    fn check_header(&self) -> Result<(), Error> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.preamble() != PREAMBLE {
            return Err(Error::BadPreamble);
        }
        if self.version() != VERSION {
            return Err(Error::BadVersion(self.version()));
        }
        if self.size() == 0 {
            return Err(Error::Empty);
        }
        Ok(())
    }

    /// The first two bytes (`90 EB` when sound).
    pub fn preamble(&self) -> [u8; 2] {
        let b = self.buffer.as_ref();
        [
            b.first().copied().unwrap_or(0),
            b.get(1).copied().unwrap_or(0),
        ]
    }

    /// The version byte.
    pub fn version(&self) -> u8 {
        self.buffer.as_ref().get(2).copied().unwrap_or(0xFF)
    }

    /// The size field: the bytes after the header.
    pub fn size(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([
            b.get(3).copied().unwrap_or(0),
            b.get(4).copied().unwrap_or(0),
        ])
    }

    /// Header plus body.
    pub fn frame_len(&self) -> usize {
        HEADER_LEN + usize::from(self.size())
    }

    /// The primitive: type byte and fields (empty if the buffer is short).
    pub fn body(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(HEADER_LEN..self.frame_len())
            .unwrap_or(&[])
    }

    /// The buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// A SIS address: a node address and the group flag.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SisAddress {
    /// The 28-bit node (or group) address.
    pub address: Address,
    /// A group (multicast) address.
    pub group: bool,
}

impl SisAddress {
    /// The broadcast address `31.255.255.255`.
    pub const BROADCAST: SisAddress = SisAddress {
        address: Address::BROADCAST,
        group: true,
    };

    /// The individual node address `address`.
    pub const fn node(address: Address) -> Self {
        SisAddress {
            address,
            group: false,
        }
    }

    fn to_bytes(self) -> [u8; 4] {
        let size = u32::from(Address::MAX_NIBBLES) << 29;
        let group = if self.group { 1 << 28 } else { 0 };
        (size | group | self.address.value()).to_be_bytes()
    }

    fn from_bytes(bytes: [u8; 4]) -> Self {
        let raw = u32::from_be_bytes(bytes);
        // The size nibble count only says how many nibbles an air interface needs; the value
        // is always the low 28 bits. Masked, so `new` cannot fail.
        let address = Address::new(raw & Address::MAX_VALUE).unwrap_or_default();
        SisAddress {
            address,
            group: raw & (1 << 28) != 0,
        }
    }
}

/// The 12-bit service type a client asks for at bind time or per request.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct ServiceType {
    /// The transmission mode ([`tx_mode`]), 4 bits.
    pub tx_mode: u8,
    /// Delivery confirmation ([`confirm`]), 2 bits.
    pub confirm: u8,
    /// Deliver in order (the wire bit is 0 for in-order).
    pub in_order: bool,
    /// An extended field follows (never, in the editions this crate knows).
    pub extended: bool,
    /// Minimum number of retransmissions for non-ARQ, 4 bits.
    pub min_retransmissions: u8,
}

impl ServiceType {
    /// ARQ with delivery confirmation `confirm` ([`confirm`]), in order or as they arrive.
    pub const fn arq(confirm: u8, in_order: bool) -> Self {
        ServiceType {
            tx_mode: tx_mode::ARQ,
            confirm,
            in_order,
            extended: false,
            min_retransmissions: 0,
        }
    }

    fn to_bits(self) -> Result<u16, Error> {
        if self.tx_mode > 15 || self.confirm > 3 || self.min_retransmissions > 15 {
            return Err(Error::FieldOutOfRange);
        }
        Ok(u16::from(self.tx_mode) << 8
            | u16::from(self.confirm) << 6
            | u16::from(!self.in_order) << 5
            | u16::from(self.extended) << 4
            | u16::from(self.min_retransmissions))
    }

    fn from_bits(bits: u16) -> Self {
        ServiceType {
            tx_mode: ((bits >> 8) & 0xF) as u8,
            confirm: ((bits >> 6) & 0x3) as u8,
            in_order: bits & (1 << 5) == 0,
            extended: bits & (1 << 4) != 0,
            min_retransmissions: (bits & 0xF) as u8,
        }
    }
}

/// S_UNIDATA_REQUEST (or its expedited form): a U_PDU for a remote client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UnidataRequest<'a> {
    /// Priority 0..=15 (always 0 in the expedited form, which has no priority field).
    pub priority: u8,
    /// The destination client's SAP ID.
    pub dest_sap: u8,
    /// The destination node or group.
    pub dest: SisAddress,
    /// How to carry it.
    pub service: ServiceType,
    /// Time-to-live (20 bits; 0 is "no limit").
    pub ttl: u32,
    /// The U_PDU.
    pub updu: &'a [u8],
}

/// S_UNIDATA_INDICATION (or its expedited form): a U_PDU for a local client.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UnidataIndication<'a> {
    /// Priority 0..=15 (always 0 in the expedited form).
    pub priority: u8,
    /// The receiving client's SAP ID.
    pub dest_sap: u8,
    /// The address it was sent to (this node, a group, or broadcast).
    pub dest: SisAddress,
    /// How it came ([`tx_mode`]).
    pub tx_mode: u8,
    /// The sending client's SAP ID.
    pub src_sap: u8,
    /// The sending node.
    pub src: SisAddress,
    /// For mode 3 only: the error-block and not-received-block lists as sent (a 16-bit count
    /// and that many pointer/size pairs, twice); empty otherwise.
    pub blocks: &'a [u8],
    /// The U_PDU.
    pub updu: &'a [u8],
}

/// S_UNIDATA_REQUEST_CONFIRM or _REJECTED (or the expedited forms): the outcome of a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct UnidataReport<'a> {
    /// For a rejection, [`rejected`]; 0 for a confirm (the field is unused there).
    pub reason: u8,
    /// The destination SAP ID of the request.
    pub sap: u8,
    /// The destination address of the request.
    pub dest: SisAddress,
    /// The U_PDU, or its first bytes, so the client can tell which request is meant.
    pub updu: &'a [u8],
}

/// The fields shared by the hard-link primitives (6..=13), which this crate parses so a node
/// can refuse them properly.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HardLink {
    /// The primitive type, 6..=13.
    pub kind: u8,
    /// Status (8, 11) or reason (9, 10, 13); 0 where the primitive has no such byte.
    pub code: u8,
    /// Link type (2 bits), link priority (2 bits), remote SAP (4 bits); 0 for 7, which has
    /// none.
    pub params: u8,
    /// The remote node.
    pub remote: SisAddress,
}

impl HardLink {
    fn has_code(kind: u8) -> bool {
        matches!(kind, 8 | 9 | 10 | 11 | 13)
    }

    fn has_params(kind: u8) -> bool {
        kind != kind::HARD_LINK_TERMINATE
    }
}

/// One SIS primitive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Primitive<'a> {
    /// 1: bind `sap` with `rank` (0..=15) and a default service type.
    BindRequest {
        /// The SAP ID asked for.
        sap: u8,
        /// The client's rank (15 highest).
        rank: u8,
        /// The default service for its requests.
        service: ServiceType,
    },
    /// 2: release the bound SAP.
    UnbindRequest,
    /// 3: the SAP is bound; U_PDUs up to `mtu` bytes are taken.
    BindAccepted {
        /// The SAP ID.
        sap: u8,
        /// The largest U_PDU accepted.
        mtu: u16,
    },
    /// 4: the bind was refused ([`bind_rejected`]).
    BindRejected {
        /// Why.
        reason: u8,
    },
    /// 5: the node released the client's SAP ([`unbind`]).
    UnbindIndication {
        /// Why.
        reason: u8,
    },
    /// 6..=13: a hard-link primitive.
    HardLink(HardLink),
    /// 14: whether the subnetwork is available ([`availability`]).
    SubnetAvailability {
        /// Status.
        status: u8,
        /// Reason.
        reason: u8,
    },
    /// 15: the sender may send data again.
    DataflowOn,
    /// 16: the sender must hold its data.
    DataflowOff,
    /// 17: a keep-alive, answered in kind.
    KeepAlive,
    /// 18 (request) or 19 (indication): a management message, kept raw.
    Management {
        /// 19 rather than 18.
        indication: bool,
        /// The management message type byte.
        message_type: u8,
        /// The body.
        body: &'a [u8],
    },
    /// 20 or 24.
    UnidataRequest {
        /// The expedited form.
        expedited: bool,
        /// The request.
        request: UnidataRequest<'a>,
    },
    /// 21 or 25.
    UnidataIndication {
        /// The expedited form.
        expedited: bool,
        /// The indication.
        indication: UnidataIndication<'a>,
    },
    /// 22 or 26.
    UnidataConfirm {
        /// The expedited form.
        expedited: bool,
        /// Which request.
        report: UnidataReport<'a>,
    },
    /// 23 or 27.
    UnidataRejected {
        /// The expedited form.
        expedited: bool,
        /// Which request and why.
        report: UnidataReport<'a>,
    },
}

#[cfg(test)]
mod tests;
