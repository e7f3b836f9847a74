//! The operator's inbox (issue 17): labelled messages that arrived for the operator (on a
//! guarded SAP no SIS client holds), released with their data or refused without, kept until
//! the operator has them (`skywave receive`), across restarts.
//!
//! A row is written when the receiving guard's report and (for a release) its data reach the
//! core, in the same poll, before the link acknowledges the data on the air (the core takes
//! events before it transmits), so a message the sender was told is delivered is on disk.
//! Rows leave only when the operator removes them ([`Store::inbox_remove`]): `skywave
//! receive` reads a batch, writes or prints it, and then removes exactly the ids it read.
//!
//! The report is kept whole, postcard-encoded as the decision log keeps it, so `receive`
//! shows after a restart exactly what it would have shown before. The inbox is bounded
//! ([`Store::inbox_put`] refuses past its limit rather than dropping what is already there):
//! docs/operator.md says why.

use std::time::SystemTime;

use skywave_protocol::policy::EncodeError;
use skywave_protocol::station::GuardReport;

use super::{Store, StoreError, from_unix_ms, unix_ms};

/// Room for one encoded report: a compact label (at most 139 bytes), a decision with its
/// lineage (well under 1 KiB) and some 60 bytes of addresses, digest and numbers.
const REPORT_BUF: usize = 2048;

/// One message in the inbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxRow {
    /// Its place in the inbox: arrival order, never reused.
    pub id: u64,
    /// The receiving guard's report.
    pub report: GuardReport,
    /// Where the report is in the decision log (`None`: the log could not take it).
    pub log_index: Option<u64>,
    /// The data, when the guard released it.
    pub data: Option<Vec<u8>>,
    /// When it arrived (wall clock).
    pub received: SystemTime,
}

impl Store {
    /// Puts one arrival in the inbox unless the inbox holds `limit` messages already: returns
    /// its id, or `None` when the inbox is full (nothing was written). It is on disk when this
    /// returns.
    pub fn inbox_put(
        &self,
        report: &GuardReport,
        log_index: Option<u64>,
        data: Option<&[u8]>,
        now: SystemTime,
        limit: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut buf = [0u8; REPORT_BUF];
        let encoded = postcard::to_slice(report, &mut buf)
            .map_err(|_| StoreError::Encode(EncodeError::BufferTooSmall))?;
        let log_index = log_index
            .map(i64::try_from)
            .transpose()
            .map_err(|_| StoreError::corrupt("inbox: a decision log index past i64".to_owned()))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|inner| {
            // One statement: the count and the insert cannot be split by another writer.
            let written = inner.conn.execute(
                "INSERT INTO inbox (report, log_index, data, received_unix_ms)
                 SELECT ?1, ?2, ?3, ?4 WHERE (SELECT count(*) FROM inbox) < ?5",
                (&*encoded, log_index, data, unix_ms(now), limit),
            )?;
            Ok((written == 1).then(|| inner.conn.last_insert_rowid().cast_unsigned()))
        })
    }

    /// Up to `max` messages whose id is above `after`, oldest first. Nothing is removed.
    pub fn inbox_peek(&self, after: u64, max: usize) -> Result<Vec<InboxRow>, StoreError> {
        type Row = (i64, Vec<u8>, Option<i64>, Option<Vec<u8>>, i64);
        let rows: Vec<Row> = self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT id, report, log_index, data, received_unix_ms FROM inbox
                 WHERE id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(
                    (
                        i64::try_from(after).unwrap_or(i64::MAX),
                        i64::try_from(max).unwrap_or(i64::MAX),
                    ),
                    |r| Row::try_from(r),
                )?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(id, report, log_index, data, received)| {
                let bad = || StoreError::corrupt(format!("inbox message {id}: not a guard report"));
                let (report, rest) = postcard::take_from_bytes(&report).map_err(|_| bad())?;
                if !rest.is_empty() {
                    return Err(bad());
                }
                Ok(InboxRow {
                    id: id.cast_unsigned(),
                    report,
                    log_index: log_index.map(i64::cast_unsigned),
                    data,
                    received: from_unix_ms(received),
                })
            })
            .collect()
    }

    /// Removes the messages `ids` (ids not in the inbox are ignored: removing twice is
    /// harmless); returns how many were removed.
    pub fn inbox_remove(&self, ids: &[u64]) -> Result<usize, StoreError> {
        self.with(|inner| {
            let tx = inner.conn.transaction()?;
            let mut removed = 0;
            {
                let mut stmt = tx.prepare("DELETE FROM inbox WHERE id = ?1")?;
                for id in ids {
                    removed += stmt.execute([i64::try_from(*id).unwrap_or(i64::MAX)])?;
                }
            }
            tx.commit()?;
            Ok(removed)
        })
    }

    /// How many messages are in the inbox, and how many of those have an id above `after`.
    pub fn inbox_count(&self, after: u64) -> Result<(u64, u64), StoreError> {
        self.with(|inner| {
            let (all, later): (i64, i64) = inner.conn.query_row(
                "SELECT count(*), count(*) FILTER (WHERE id > ?1) FROM inbox",
                [i64::try_from(after).unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok((all.cast_unsigned(), later.cast_unsigned()))
        })
    }
}
