//! The decision log: every decision, hash-chained, so a reviewer can re-verify them offline and
//! find exactly which entry was altered, removed or reordered.
//!
//! An entry is
//!
//! ```text
//! 0..8    index, u64 little-endian (0 for the first entry)
//! 8..40   the previous entry's hash (all zeros for the first)
//! 40..    the Decision, postcard-encoded
//! ```
//!
//! and its hash is SHA-256 of [`LOG_CONTEXT`] followed by the entry's bytes. The node keeps only
//! a [`LogAnchor`] (how many entries, and the last one's hash); where the entries go (a file, a
//! SQLite table, flash) is the driver's business. Keeping the anchor somewhere the log's keeper
//! cannot rewrite (or signing it) is what catches an edit to the last entry or a cut tail.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::decide::Decision;
use super::encoding::EncodeError;
use super::model::Digest;

/// Prepended to an entry's bytes before hashing.
pub const LOG_CONTEXT: &[u8] = b"skywave decision log\0";
/// The index and previous-hash fields.
const ENTRY_HEADER_LEN: usize = 8 + 32;

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

/// One entry, read back.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LogEntry {
    /// Its index.
    pub index: u64,
    /// The previous entry's hash.
    pub prev: Digest,
    /// The decision.
    pub decision: Decision,
}

impl LogEntry {
    /// Reads an entry; `None` if the bytes are not one.
    pub fn read(bytes: &[u8]) -> Option<LogEntry> {
        let (header, record) = bytes.split_first_chunk::<ENTRY_HEADER_LEN>()?;
        let (index, prev) = header.split_first_chunk::<8>()?;
        let prev: [u8; 32] = prev.try_into().ok()?;
        let (decision, rest) = postcard::take_from_bytes(record).ok()?;
        rest.is_empty().then_some(LogEntry {
            index: u64::from_le_bytes(*index),
            prev: Digest(prev),
            decision,
        })
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
        let (header, record) = buf
            .split_first_chunk_mut::<ENTRY_HEADER_LEN>()
            .ok_or(EncodeError::BufferTooSmall)?;
        let record_len = postcard::to_slice(decision, record)
            .map_err(|_| EncodeError::BufferTooSmall)?
            .len();
        let (index, prev) = header.split_at_mut(8);
        index.copy_from_slice(&self.anchor.count.to_le_bytes());
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
