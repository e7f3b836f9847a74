//! Why a [`Link`] refuses a call, an input or a configuration.

#[cfg(doc)]
use super::{Config, Link};
use crate::wire;
use core::fmt;

/// Why the link refused a call or an input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// The bytes are not a sound D_PDU (or a D_PDU could not be written).
    Wire(wire::Error),
    /// A C_PDU or S_PDU is shorter than its header says.
    Malformed,
    /// A C_PDU type this node does not know (6..=15).
    UnknownCpdu(u8),
    /// An S_PDU type this node does not implement (3..=15: hard links, management).
    UnknownSpdu(u8),
    /// A priority above 15.
    Priority,
    /// A SAP ID above 15.
    Sap,
    /// A C_PDU does not fit this link's C_PDU buffers.
    TooLarge,
    /// Every queue slot is taken.
    QueueFull,
    /// The configuration cannot work with these capacities.
    Config(ConfigError),
}

/// What is wrong with a [`Config`] for a given [`Link`] type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConfigError {
    /// `max_segment` is 0, above 1023 or above the link's segment buffers.
    SegmentSize,
    /// `arq_window` plus the segments of one C_PDU exceeds 128 or the receive slots, so a
    /// receiver could run out of room while holding an unfinished C_PDU.
    Window,
    /// One maximal D_PDU does not fit a transmission with the modem's overhead, or the
    /// maximum transmission exceeds what EOT can express (127.5 s), or the bit rate is 0.
    Transmission,
    /// `ack_copies` is 0.
    AckCopies,
}

impl From<wire::Error> for Error {
    fn from(e: wire::Error) -> Self {
        Error::Wire(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Wire(e) => write!(f, "D_PDU: {e}"),
            Error::Malformed => f.write_str("C_PDU or S_PDU truncated"),
            Error::UnknownCpdu(t) => write!(f, "unknown C_PDU type {t}"),
            Error::UnknownSpdu(t) => write!(f, "unsupported S_PDU type {t}"),
            Error::Priority => f.write_str("priority above 15"),
            Error::Sap => f.write_str("SAP ID above 15"),
            Error::TooLarge => f.write_str("too large for this link"),
            Error::QueueFull => f.write_str("send queue full"),
            Error::Config(c) => write!(f, "configuration: {c:?}"),
        }
    }
}

impl core::error::Error for Error {}

/// Why [`Link::submit`] refused a U_PDU. Nothing was queued; the link is unchanged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SubmitError {
    /// The priority is above 15.
    Priority,
    /// A SAP ID is above 15.
    Sap,
    /// The U_PDU is longer than [`MAX_UPDU_LEN`], does not fit this link's C_PDU buffers, or
    /// (expedited ARQ) needs more segments than the expedited window holds.
    TooLarge,
    /// Non-ARQ data asked for 0 transmissions.
    NoRepeats,
    /// Every queue place a client may use is taken; submit again after events report
    /// progress (a delivery, a failure, a message sent).
    QueueFull,
    /// The time-to-die had already passed when it was submitted.
    Expired,
}

impl fmt::Display for SubmitError {
    // The reasons both errors share are worded once (a board's flash holds each string once).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Priority => Error::Priority.fmt(f),
            SubmitError::Sap => Error::Sap.fmt(f),
            SubmitError::TooLarge => Error::TooLarge.fmt(f),
            SubmitError::QueueFull => Error::QueueFull.fmt(f),
            SubmitError::NoRepeats => f.write_str("no repeats"),
            SubmitError::Expired => f.write_str("time-to-die passed"),
        }
    }
}

impl core::error::Error for SubmitError {}

impl From<Error> for SubmitError {
    /// What queueing a client's C_PDU can fail with: the header checks, a full queue, or a
    /// C_PDU that does not fit (every other error is about input, and reads as too large).
    fn from(e: Error) -> Self {
        match e {
            Error::Priority => SubmitError::Priority,
            Error::Sap => SubmitError::Sap,
            Error::QueueFull => SubmitError::QueueFull,
            _ => SubmitError::TooLarge,
        }
    }
}
