//! SIS client messages on their way out: every U_PDU a SIS client asked to have confirmed by
//! the far client (ARQ, client confirmation) is written here before the agent takes it, and
//! stays until its sender has been told the outcome.
//!
//! A row's life:
//!
//! ```text
//! queued --finish(Confirmed)--> delivered --mark_told--> (told; forget_finished deletes it)
//!    |----finish(Expired)-----> expired   --mark_told--> ...
//!    '----finish(Failed(r))---> failed    --mark_told--> ...
//! ```
//!
//! A queued row is submitted to the station after every start ([`Store::unfinished`]) until
//! the far node's DATA DELIVERY CONFIRM (or FAIL) arrives or its time-to-die passes: the
//! receiver recognises the resends of what it already delivered (`received`). An outcome is
//! written before the client is told, and marked told in the same write when a client holds
//! the SAP then; otherwise the next client to bind the sending SAP is told
//! ([`Store::untold`]). So a client hears each outcome at most once, and a kill between the
//! write and the client's socket loses that one answer rather than repeating it.
//!
//! **Time-to-die is wall-clock** (Unix milliseconds), unlike the station's [`Instant`], whose
//! epoch is the agent's start: a deadline must mean the same moment after a restart, and only
//! the wall clock outlives the process. [`Queued::ttd_at`] turns it back into an `Instant` on
//! the running station's clock. If the laptop's clock jumps, deadlines move with it; that
//! costs at most an early or late expiry, never a lost or repeated delivery.

use std::time::SystemTime;

use skywave_protocol::link::{Mode, SpduHeader};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::Address;

use super::{Store, StoreError, address_column, from_unix_ms, unix_ms};

/// A client's U_PDU to keep until its outcome is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outbound<'a> {
    /// The node it goes to.
    pub neighbour: Address,
    /// Priority and SAP IDs (the source SAP is the sending client's).
    pub header: SpduHeader,
    /// The delivery service.
    pub mode: Mode,
    /// Ask the destination client to confirm receipt.
    pub confirm: bool,
    /// When it stops being worth sending (wall clock).
    pub ttd: SystemTime,
    /// The U_PDU.
    pub data: &'a [u8],
}

/// A stored U_PDU's row id; ids only grow, so one is never reused for another message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub i64);

/// A U_PDU read back from the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Its row id, to record the outcome with.
    pub id: QueueId,
    /// The node it goes to.
    pub neighbour: Address,
    /// Priority and SAP IDs.
    pub header: SpduHeader,
    /// The delivery service.
    pub mode: Mode,
    /// Ask the destination client to confirm receipt.
    pub confirm: bool,
    /// When it stops being worth sending (wall clock).
    pub ttd: SystemTime,
    /// Where it is in its life.
    pub state: DeliveryState,
    /// The SIS rejection reason of a [`DeliveryState::Failed`] one.
    pub reason: Option<u8>,
    /// The U_PDU.
    pub data: Vec<u8>,
}

impl Queued {
    /// Its time-to-die on the station's clock, where `now` is `wall` on the wall clock. A
    /// deadline already past maps to `now`.
    pub fn ttd_at(&self, now: Instant, wall: SystemTime) -> Instant {
        let left = self.ttd.duration_since(wall).unwrap_or_default();
        now + Duration::from_millis(u64::try_from(left.as_millis()).unwrap_or(u64::MAX))
    }

    /// A row read back, checked.
    fn from_row(row: Row) -> Result<Queued, StoreError> {
        let (
            id,
            neighbour,
            priority,
            src_sap,
            dest_sap,
            mode,
            repeats,
            confirm,
            ttd,
            data,
            state,
            reason,
        ) = row;
        let bad = |what: &str| StoreError::corrupt(format!("outbound {id}: {what}"));
        let small = |v: i64, what: &str| u8::try_from(v).map_err(|_| bad(what));
        Ok(Queued {
            id: QueueId(id),
            neighbour: address_column(neighbour, "outbound")?,
            header: SpduHeader {
                priority: small(priority, "priority")?,
                src_sap: small(src_sap, "source SAP")?,
                dest_sap: small(dest_sap, "destination SAP")?,
            },
            mode: mode_from_columns(&mode, small(repeats, "repeats")?)
                .ok_or_else(|| bad("mode"))?,
            confirm,
            ttd: from_unix_ms(ttd),
            state: DeliveryState::from_name(&state).ok_or_else(|| bad("state"))?,
            reason: reason.map(|r| small(r, "reason")).transpose()?,
            data,
        })
    }
}

/// Where a stored U_PDU is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryState {
    /// Waiting for the far client's confirmation: submitted to the station after every start.
    Queued,
    /// The far node's DATA DELIVERY CONFIRM arrived.
    Delivered,
    /// Its time-to-die passed first.
    Expired,
    /// The far node answered DATA DELIVERY FAIL.
    Failed,
}

impl DeliveryState {
    const ALL: [DeliveryState; 4] = [
        DeliveryState::Queued,
        DeliveryState::Delivered,
        DeliveryState::Expired,
        DeliveryState::Failed,
    ];

    /// The name in the `state` column.
    pub const fn name(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Expired => "expired",
            DeliveryState::Failed => "failed",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// How a stored U_PDU ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The far client confirmed it.
    Confirmed,
    /// Its time-to-die passed.
    Expired,
    /// The far node refused it, with this SIS rejection reason.
    Failed(u8),
}

/// How many U_PDUs one neighbour has at one priority in one state (for `skywave status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueueCount {
    /// The neighbour.
    pub neighbour: Address,
    /// The priority.
    pub priority: u8,
    /// The state.
    pub state: DeliveryState,
    /// Whether the sending client was told the outcome.
    pub told: bool,
    /// How many.
    pub count: u64,
}

/// The `mode` and `repeats` columns for a mode.
fn mode_columns(mode: Mode) -> (&'static str, u8) {
    match mode {
        Mode::Arq { in_order: false } => ("arq", 0),
        Mode::Arq { in_order: true } => ("arq-in-order", 0),
        Mode::ExpeditedArq => ("expedited-arq", 0),
        Mode::NonArq { repeats } => ("non-arq", repeats),
        Mode::ExpeditedNonArq { repeats } => ("expedited-non-arq", repeats),
    }
}

/// The mode for its columns.
fn mode_from_columns(name: &str, repeats: u8) -> Option<Mode> {
    Some(match name {
        "arq" => Mode::Arq { in_order: false },
        "arq-in-order" => Mode::Arq { in_order: true },
        "expedited-arq" => Mode::ExpeditedArq,
        "non-arq" => Mode::NonArq { repeats },
        "expedited-non-arq" => Mode::ExpeditedNonArq { repeats },
        _ => return None,
    })
}

/// A row as SQLite returns it: id, neighbour, priority, SAPs, mode, repeats, confirm,
/// time-to-die, data, state and reason.
type Row = (
    i64,
    i64,
    i64,
    i64,
    i64,
    String,
    i64,
    bool,
    i64,
    Vec<u8>,
    String,
    Option<i64>,
);

/// The columns [`Row`] reads.
const COLUMNS: &str = "id, neighbour, priority, src_sap, dest_sap, mode, repeats, confirm,
    ttd_unix_ms, data, state, reason";

impl Store {
    /// Stores `message` as queued; it is on disk when this returns.
    pub fn enqueue(&self, message: &Outbound<'_>, now: SystemTime) -> Result<QueueId, StoreError> {
        let (mode, repeats) = mode_columns(message.mode);
        self.with(|inner| {
            inner.conn.execute(
                "INSERT INTO outbound (neighbour, priority, src_sap, dest_sap, mode, repeats,
                     confirm, ttd_unix_ms, data, state, told, enqueued_unix_ms, updated_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', 0, ?10, ?10)",
                (
                    message.neighbour.value(),
                    message.header.priority,
                    message.header.src_sap,
                    message.header.dest_sap,
                    mode,
                    repeats,
                    message.confirm,
                    unix_ms(message.ttd),
                    message.data,
                    unix_ms(now),
                ),
            )?;
            Ok(QueueId(inner.conn.last_insert_rowid()))
        })
    }

    /// Every queued U_PDU, oldest first: what a starting agent submits again.
    pub fn unfinished(&self) -> Result<Vec<Queued>, StoreError> {
        self.select(&format!(
            "SELECT {COLUMNS} FROM outbound WHERE state = 'queued' ORDER BY id"
        ))
    }

    /// The finished U_PDUs from SAP `src_sap` whose sender was not told yet, oldest first:
    /// what the next client to bind that SAP is told.
    pub fn untold(&self, src_sap: u8) -> Result<Vec<Queued>, StoreError> {
        self.select(&format!(
            "SELECT {COLUMNS} FROM outbound
             WHERE state != 'queued' AND told = 0 AND src_sap = {src_sap} ORDER BY id"
        ))
    }

    fn select(&self, sql: &str) -> Result<Vec<Queued>, StoreError> {
        let rows = self.with(|inner| {
            let mut stmt = inner.conn.prepare(sql)?;
            let rows = stmt
                .query_map([], |r| Row::try_from(r))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter().map(Queued::from_row).collect()
    }

    /// Records how queued message `id` ended, and whether its client is told now (the caller
    /// tells it after this returns). Returns whether `id` was still queued: an outcome for a
    /// finished one (a late second confirmation) changes nothing.
    pub fn finish(
        &self,
        id: QueueId,
        outcome: Outcome,
        told: bool,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let (state, reason) = match outcome {
            Outcome::Confirmed => (DeliveryState::Delivered, None),
            Outcome::Expired => (DeliveryState::Expired, None),
            Outcome::Failed(r) => (DeliveryState::Failed, Some(r)),
        };
        self.with(|inner| {
            let changed = inner.conn.execute(
                "UPDATE outbound SET state = ?2, reason = ?3, told = ?4, updated_unix_ms = ?5
                 WHERE id = ?1 AND state = 'queued'",
                (id.0, state.name(), reason, told, unix_ms(now)),
            )?;
            Ok(changed == 1)
        })
    }

    /// Records that the sender of finished message `id` was told its outcome.
    pub fn mark_told(&self, id: QueueId, now: SystemTime) -> Result<(), StoreError> {
        self.with(|inner| {
            inner.conn.execute(
                "UPDATE outbound SET told = 1, updated_unix_ms = ?2
                 WHERE id = ?1 AND state != 'queued'",
                (id.0, unix_ms(now)),
            )?;
            Ok(())
        })
    }

    /// Marks every queued U_PDU whose time-to-die has passed by `now` as expired (not told);
    /// returns how many. For the agent's start: the station expires the others.
    pub fn expire(&self, now: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "UPDATE outbound SET state = 'expired', updated_unix_ms = ?1
                 WHERE state = 'queued' AND ttd_unix_ms <= ?1",
                [unix_ms(now)],
            )?)
        })
    }

    /// Deletes finished U_PDUs whose sender was told and whose state last changed before
    /// `before`; returns how many. Queued and untold ones are never deleted.
    pub fn forget_finished(&self, before: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "DELETE FROM outbound
                 WHERE state != 'queued' AND told = 1 AND updated_unix_ms < ?1",
                [unix_ms(before)],
            )?)
        })
    }

    /// How many U_PDUs each neighbour has, by priority (highest first), state and told.
    pub fn queue_counts(&self) -> Result<Vec<QueueCount>, StoreError> {
        let rows = self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT neighbour, priority, state, told, count(*) FROM outbound
                 GROUP BY neighbour, priority, state, told
                 ORDER BY neighbour, priority DESC, state, told",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, bool>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(neighbour, priority, state, told, count)| {
                let bad = |what: &str| StoreError::corrupt(format!("outbound: {what}"));
                Ok(QueueCount {
                    neighbour: address_column(neighbour, "outbound")?,
                    priority: u8::try_from(priority).map_err(|_| bad("priority"))?,
                    state: DeliveryState::from_name(&state).ok_or_else(|| bad("state"))?,
                    told,
                    count: u64::try_from(count).map_err(|_| bad("count"))?,
                })
            })
            .collect()
    }
}
