//! The hash-chained decision log, one entry per row of the `decisions` table.
//!
//! Entries are the protocol's own ([`DecisionLog::append`] and
//! [`DecisionLog::append_message`] write them, [`log::verify`] checks them): index and record
//! format, previous entry's hash, and a postcard-encoded [`Decision`] (an operator's `decide`)
//! or [`GuardReport`] (the guard's decision on a labelled message, release or refusal, at
//! either end). The store keeps
//! the log's anchor in memory, resumed from the last row at open, and advances it only when
//! a row committed. Rows are read back in the order they were written (`position`), not
//! sorted by the index inside them, so a reordered or renumbered row shows up as a fault.
//!
//! The anchor ([`Store::decision_anchor`]) is what a reviewer should record somewhere the
//! agent cannot rewrite: checked against it, a cut tail or an edited last entry is found too.

use std::time::SystemTime;

use rusqlite::{Connection, OptionalExtension};
use skywave_protocol::policy::log::{self, entry_hash};
use skywave_protocol::policy::{Decision, DecisionLog, LogAnchor, LogEntry, LogFault};
use skywave_protocol::station::GuardReport;

use super::{Store, StoreError, from_unix_ms, unix_ms};

/// One row of the `decisions` table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionRow {
    /// Where it sits in the table (SQLite's rowid: 1 for the first row written).
    pub position: i64,
    /// The log entry's bytes: index, previous entry's hash, decision.
    pub entry: Vec<u8>,
    /// When the agent wrote it (its wall clock).
    pub recorded: SystemTime,
}

/// Room for one entry: the 40-byte header and the largest decision (two labels of at most
/// `MAX_LABEL_CATEGORIES` values, three artifact references, `MAX_DOMAINS` revocation
/// sequence numbers) take well under 1 KiB; a guard report adds its compact label (at most
/// 139 bytes) and some 60 bytes of addresses, digest and numbers.
const ENTRY_BUF: usize = 2048;

/// The log's anchor after the last row in `conn`.
pub(super) fn resume(conn: &Connection) -> Result<DecisionLog, StoreError> {
    let last: Option<(i64, Vec<u8>)> = conn
        .query_row(
            "SELECT position, entry FROM decisions ORDER BY position DESC LIMIT 1",
            [],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    let Some((position, entry)) = last else {
        return Ok(DecisionLog::new());
    };
    let read = LogEntry::read(&entry).ok_or_else(|| {
        StoreError::corrupt(format!("decision log row {position} is not a log entry"))
    })?;
    Ok(DecisionLog::resume(LogAnchor {
        count: read.index + 1,
        head: entry_hash(&entry),
    }))
}

impl Store {
    /// Appends `decision` to the log; returns the anchor after it. On an error nothing was
    /// written and the anchor is unchanged.
    pub fn append_decision(
        &self,
        decision: &Decision,
        now: SystemTime,
    ) -> Result<LogAnchor, StoreError> {
        self.append_entry(now, |log, buf| log.append(decision, buf))
    }

    /// Appends the guard's decision on one labelled message (its whole report: a refusal
    /// without a policy decision is logged too); returns the anchor after it. On an error
    /// nothing was written and the anchor is unchanged.
    pub fn append_guard_report(
        &self,
        report: &GuardReport,
        now: SystemTime,
    ) -> Result<LogAnchor, StoreError> {
        self.append_entry(now, |log, buf| log.append_message(report, buf))
    }

    fn append_entry(
        &self,
        now: SystemTime,
        write: impl for<'b> FnOnce(
            &mut DecisionLog,
            &'b mut [u8],
        ) -> Result<&'b [u8], skywave_protocol::policy::EncodeError>,
    ) -> Result<LogAnchor, StoreError> {
        self.with(|inner| {
            let mut log = inner.log;
            let mut buf = [0u8; ENTRY_BUF];
            let entry = write(&mut log, &mut buf).map_err(StoreError::Encode)?;
            inner.conn.execute(
                "INSERT INTO decisions (entry, recorded_unix_ms) VALUES (?1, ?2)",
                (entry, unix_ms(now)),
            )?;
            inner.log = log;
            Ok(log.anchor())
        })
    }

    /// How far the log goes: its entry count and the last entry's hash.
    pub fn decision_anchor(&self) -> Result<LogAnchor, StoreError> {
        self.with(|inner| Ok(inner.log.anchor()))
    }

    /// Every entry's bytes, in the order written.
    pub fn decision_entries(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .decision_rows()?
            .into_iter()
            .map(|row| row.entry)
            .collect())
    }

    /// Every row of the log, in the order written: for reading the log back
    /// (`skywave audit list`), where the time each was recorded matters too.
    pub fn decision_rows(&self) -> Result<Vec<DecisionRow>, StoreError> {
        self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT position, entry, recorded_unix_ms FROM decisions ORDER BY position",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    Ok(DecisionRow {
                        position: row.get(0)?,
                        entry: row.get(1)?,
                        recorded: from_unix_ms(row.get(2)?),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Re-verifies the whole log with the protocol's verifier, against `anchor` if the
    /// reviewer kept one. The outer error is the store failing to read; the inner result is
    /// the verifier's: the anchor the entries lead to, or the first altered, removed or
    /// reordered entry.
    pub fn verify_decisions(
        &self,
        anchor: Option<LogAnchor>,
    ) -> Result<Result<LogAnchor, LogFault>, StoreError> {
        let entries = self.decision_entries()?;
        let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        Ok(log::verify(&slices, anchor))
    }
}
