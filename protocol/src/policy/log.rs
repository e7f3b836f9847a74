//! The decision log: every decision, hash-chained, so a reviewer can re-verify them offline and
//! find exactly which entry was altered, removed or reordered.
//!
//! An entry is
//!
//! ```text
//! 0..7    index, 56 bits little-endian (0 for the first entry)
//! 7       the record's format: 0 a Decision, 1 a message decision (GuardReport)
//! 8..40   the previous entry's hash (all zeros for the first)
//! 40..    the record, postcard-encoded
//! ```
//!
//! Format 0 is the log's first layout (an index below 2^56 left byte 7 zero), so logs written
//! before message decisions existed read and verify unchanged. Format 1 holds the guard's whole
//! report on one labelled message ([`GuardReport`]: end, addresses and SAPs, sequence number,
//! data digest, compact label, refusal, and the policy decision with its lineage when one was
//! made), so refusals that have no policy decision (a bad binding, a replay, unlabelled data)
//! are in the log too. A change to either record's encoding takes a new format number, never a
//! new meaning for an old one: the log outlives the code that wrote it.
//!
//! Its hash is SHA-256 of [`LOG_CONTEXT`] followed by the entry's bytes. The node keeps only
//! a [`LogAnchor`] (how many entries, and the last one's hash); where the entries go (a file, a
//! SQLite table, flash) is the driver's business. Keeping the anchor somewhere the log's keeper
//! cannot rewrite (or signing it) is what catches an edit to the last entry or a cut tail.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::decide::Decision;
use super::encoding::EncodeError;
use super::model::Digest;
use crate::station::GuardReport;

/// Prepended to an entry's bytes before hashing.
pub const LOG_CONTEXT: &[u8] = b"skywave decision log\0";
/// The index and previous-hash fields.
const ENTRY_HEADER_LEN: usize = 8 + 32;
/// The record format of a [`Decision`] entry (the log's first layout).
pub const FORMAT_DECISION: u8 = 0;
/// The record format of a message decision entry ([`GuardReport`]).
pub const FORMAT_MESSAGE: u8 = 1;
/// Entry indices stay below this: the index field's top byte is the format.
pub const MAX_ENTRIES: u64 = 1 << 56;

/// How far a log goes: the number of entries and the hash of the last (zeros when empty).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct LogAnchor {
    /// Entries so far.
    pub count: u64,
    /// The hash of the last entry.
    pub head: Digest,
}

/// Where a log fails to verify. Positions count from 0 in the sequence given; indices are the
/// entries' own numbers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LogFault {
    /// The bytes at this position are not a log entry.
    Malformed {
        /// The position.
        position: usize,
    },
    /// Entry `index` is not the entry its successor (or the anchor) vouches for: its bytes were
    /// changed.
    Altered {
        /// The altered entry's index.
        index: u64,
    },
    /// Entries `first..=last` are missing.
    Removed {
        /// The first missing index.
        first: u64,
        /// The last missing index.
        last: u64,
    },
    /// Entry `index` was found out of place, at `position`.
    Reordered {
        /// The entry's index.
        index: u64,
        /// Where it was found.
        position: usize,
    },
}

/// The hash of one entry's bytes.
pub fn entry_hash(entry: &[u8]) -> Digest {
    let mut hasher = Sha256::new();
    hasher.update(LOG_CONTEXT);
    hasher.update(entry);
    Digest(hasher.finalize().into())
}

/// What one entry records.
// No allocation in this crate, so no box: a record read back is one entry on a reader's stack,
// and the two sizes differ by a compact label and a few numbers.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Record {
    /// A policy decision on its own (an operator's `decide`; format 0).
    Decision(Decision),
    /// The guard's decision on one labelled message, release or refusal, at either end
    /// (format 1).
    Message(GuardReport),
}

impl Record {
    /// The policy decision recorded, if any (a message refused before one was made has none).
    pub fn decision(&self) -> Option<&Decision> {
        match self {
            Record::Decision(d) => Some(d),
            Record::Message(report) => report.decision.as_ref(),
        }
    }
}

/// One entry, read back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LogEntry {
    /// Its index.
    pub index: u64,
    /// The previous entry's hash.
    pub prev: Digest,
    /// What it records.
    pub record: Record,
}

impl LogEntry {
    /// Reads an entry; `None` if the bytes are not one (including a format this code does
    /// not know).
    pub fn read(bytes: &[u8]) -> Option<LogEntry> {
        let (header, record) = bytes.split_first_chunk::<ENTRY_HEADER_LEN>()?;
        let (index, prev) = header.split_first_chunk::<8>()?;
        let prev: [u8; 32] = prev.try_into().ok()?;
        let mut index = *index;
        let format = core::mem::take(&mut index[7]);
        let record = match format {
            FORMAT_DECISION => {
                let (decision, rest) = postcard::take_from_bytes(record).ok()?;
                rest.is_empty().then_some(Record::Decision(decision))?
            }
            FORMAT_MESSAGE => {
                let (report, rest) = postcard::take_from_bytes(record).ok()?;
                rest.is_empty().then_some(Record::Message(report))?
            }
            _ => return None,
        };
        Some(LogEntry {
            index: u64::from_le_bytes(index),
            prev: Digest(prev),
            record,
        })
    }

    /// The policy decision recorded, if any.
    pub fn decision(&self) -> Option<&Decision> {
        self.record.decision()
    }
}

/// The writing end of a log: it knows the anchor and writes the next entry.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct DecisionLog {
    anchor: LogAnchor,
}

impl DecisionLog {
    /// A log with no entries.
    pub const fn new() -> Self {
        DecisionLog {
            anchor: LogAnchor {
                count: 0,
                head: Digest([0; 32]),
            },
        }
    }

    /// Continues a log whose anchor was kept.
    pub const fn resume(anchor: LogAnchor) -> Self {
        DecisionLog { anchor }
    }

    /// The log's current anchor.
    pub const fn anchor(&self) -> LogAnchor {
        self.anchor
    }

    /// Writes the entry for `decision` into `buf` and returns it; the log then counts it. On an
    /// error nothing changes.
    pub fn append<'b>(
        &mut self,
        decision: &Decision,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], EncodeError> {
        self.append_record(FORMAT_DECISION, decision, buf)
    }

    /// Writes the entry for the guard's decision on one labelled message into `buf` and
    /// returns it; the log then counts it. On an error nothing changes.
    pub fn append_message<'b>(
        &mut self,
        report: &GuardReport,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], EncodeError> {
        self.append_record(FORMAT_MESSAGE, report, buf)
    }

    fn append_record<'b, T: Serialize>(
        &mut self,
        format: u8,
        record: &T,
        buf: &'b mut [u8],
    ) -> Result<&'b [u8], EncodeError> {
        if self.anchor.count >= MAX_ENTRIES {
            // The index field has no room left beside the format byte.
            return Err(EncodeError::BufferTooSmall);
        }
        let (header, body) = buf
            .split_first_chunk_mut::<ENTRY_HEADER_LEN>()
            .ok_or(EncodeError::BufferTooSmall)?;
        let record_len = postcard::to_slice(record, body)
            .map_err(|_| EncodeError::BufferTooSmall)?
            .len();
        let (index, prev) = header.split_at_mut(8);
        let mut index_bytes = self.anchor.count.to_le_bytes();
        index_bytes[7] = format;
        index.copy_from_slice(&index_bytes);
        prev.copy_from_slice(&self.anchor.head.0);
        let entry = buf
            .get(..ENTRY_HEADER_LEN + record_len)
            .ok_or(EncodeError::BufferTooSmall)?;
        self.anchor = LogAnchor {
            count: self.anchor.count + 1,
            head: entry_hash(entry),
        };
        Ok(entry)
    }
}

/// Verifies a log given as its entries in stored order, and against the anchor if one was kept.
/// Returns the anchor the entries themselves lead to, or the first fault.
///
/// Without an anchor only the chain itself is checked, and a chain is consistent after its
/// tail is cut, its last entry edited, all of it deleted, or all of it recomputed: only an
/// anchor kept out of the log keeper's reach catches those. With one, the log must reach at
/// least `anchor.count` entries and its entry `anchor.count - 1` must hash to `anchor.head`
/// (entries after it are the log's growth since the anchor was taken).
pub fn verify(entries: &[&[u8]], anchor: Option<LogAnchor>) -> Result<LogAnchor, LogFault> {
    let index_at = |position: usize| {
        entries
            .get(position)
            .and_then(|e| LogEntry::read(e))
            .map(|e| e.index)
    };
    let mut expected = 0u64;
    let mut prev = Digest([0; 32]);
    for (position, bytes) in entries.iter().enumerate() {
        let entry = LogEntry::read(bytes).ok_or(LogFault::Malformed { position })?;
        if entry.index < expected {
            return Err(LogFault::Reordered {
                index: entry.index,
                position,
            });
        }
        if entry.index > expected {
            // The missing entry may be further on (moved), or gone.
            let later = (position + 1..entries.len()).find(|&p| index_at(p) == Some(expected));
            return Err(match later {
                Some(position) => LogFault::Reordered {
                    index: expected,
                    position,
                },
                // It links to its true predecessor: only its index field was changed.
                None if entry.prev == prev => LogFault::Altered { index: expected },
                None => LogFault::Removed {
                    first: expected,
                    last: entry.index - 1,
                },
            });
        }
        if entry.prev != prev {
            return Err(LogFault::Altered {
                index: expected.saturating_sub(1),
            });
        }
        prev = entry_hash(bytes);
        expected += 1;
        // An anchor taken earlier vouches for the entry it ended at, however long the log has
        // grown since: a log rewritten and re-chained from before that point is caught here.
        if let Some(a) = anchor
            && a.count == expected
            && a.head != prev
        {
            return Err(LogFault::Altered { index: a.count - 1 });
        }
    }
    let reached = LogAnchor {
        count: expected,
        head: prev,
    };
    match anchor {
        Some(a) if a.count > expected => Err(LogFault::Removed {
            first: expected,
            last: a.count - 1,
        }),
        _ => Ok(reached),
    }
}
