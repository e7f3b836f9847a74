//! The compact air form of a STANAG 4774 label.
//!
//! ```text
//! 0      format (1)
//! 1..4   the labelling domain (three letters)
//! ..     policy id (varint), classification code (1 byte), value count (varint), then each
//!        value as tag (1 byte) and code (varint), sorted by (tag, code), no duplicates
//! ```
//!
//! This is postcard's encoding of [`LabelRecord`] behind a format byte. Values must come sorted
//! and unique so one label has one byte string: a sender that signs it and a receiver that
//! checks it agree on the bytes without re-encoding anything. ADatP-4774 Table 17 example 4
//! (three categories, six values) is 18 bytes.

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::policy::{CategoryValue, Label, LabelRecord, MAX_LABEL_CATEGORIES};

/// The compact form this code reads and writes.
pub const LABEL_FORMAT: u8 = 1;

/// The longest compact label: format, domain, a 5-byte policy id, the classification, the
/// count and [`MAX_LABEL_CATEGORIES`] values of at most 4 bytes each.
pub const MAX_COMPACT_LABEL_LEN: usize = 1 + 3 + 5 + 1 + 1 + MAX_LABEL_CATEGORIES * 4;

/// Why bytes are not a compact label, or a label cannot be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum LabelError {
    /// Empty, or a format this code does not read.
    UnknownFormat,
    /// The body does not decode (or carries more than [`MAX_LABEL_CATEGORIES`] values).
    Malformed,
    /// Bytes left over after the label.
    TrailingBytes,
    /// The values are not sorted by (tag, code), or one repeats.
    NotCanonical,
    /// The output buffer is too small.
    BufferTooSmall,
}

impl fmt::Display for LabelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LabelError::UnknownFormat => "unknown compact label format",
            LabelError::Malformed => "compact label does not decode",
            LabelError::TrailingBytes => "bytes after the compact label",
            LabelError::NotCanonical => "label values not sorted or repeated",
            LabelError::BufferTooSmall => "output buffer too small",
        })
    }
}

impl core::error::Error for LabelError {}

fn key(v: &CategoryValue) -> (u8, u16) {
    (v.tag, v.value)
}

/// Writes `label` in compact form into `out` (its values sorted, duplicates dropped); returns
/// the length.
pub fn encode(label: &Label<'_>, out: &mut [u8]) -> Result<usize, LabelError> {
    let mut sorted: heapless::Vec<CategoryValue, MAX_LABEL_CATEGORIES> =
        heapless::Vec::from_slice(label.categories).map_err(|_| LabelError::Malformed)?;
    sorted.sort_unstable_by_key(key);
    let mut record = LabelRecord {
        domain: label.domain,
        policy: label.policy,
        classification: label.classification,
        categories: heapless::Vec::new(),
    };
    for value in sorted {
        if record.categories.last() != Some(&value) {
            record
                .categories
                .push(value)
                .map_err(|_| LabelError::Malformed)?;
        }
    }
    let (format, body) = out.split_first_mut().ok_or(LabelError::BufferTooSmall)?;
    *format = LABEL_FORMAT;
    let len = postcard::to_slice(&record, body)
        .map_err(|_| LabelError::BufferTooSmall)?
        .len();
    Ok(1 + len)
}

/// Reads a compact label. Never panics, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<LabelRecord, LabelError> {
    let Some((&LABEL_FORMAT, body)) = bytes.split_first() else {
        return Err(LabelError::UnknownFormat);
    };
    let (record, rest): (LabelRecord, _) =
        postcard::take_from_bytes(body).map_err(|_| LabelError::Malformed)?;
    if !rest.is_empty() {
        return Err(LabelError::TrailingBytes);
    }
    let sorted = record
        .categories
        .windows(2)
        .all(|w| matches!(w, [a, b] if key(a) < key(b)));
    if !sorted {
        return Err(LabelError::NotCanonical);
    }
    Ok(record)
}

/// The label a record stands for, borrowing its values.
pub fn as_label(record: &LabelRecord) -> Label<'_> {
    Label {
        domain: record.domain,
        policy: record.policy,
        classification: record.classification,
        categories: &record.categories,
    }
}
