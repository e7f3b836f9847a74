//! The outbound queue: U_PDUs per neighbour, with priority, time-to-die and delivery state.
//!
//! A U_PDU is written here before it is handed to the link, so a crash never loses one the
//! agent accepted. Its life:
//!
//! ```text
//! queued --take_next--> sent --mark_delivered--> delivered
//!    |                    |---mark_failed------> failed / expired
//!    '--expire----------------------------------> expired
//! sent --requeue_sent (at start: the link that held it died with the process)--> queued
//! ```
//!
//! **Time-to-die is wall-clock** (Unix milliseconds), unlike the link's [`Instant`], whose
//! epoch is the agent's start: a deadline must mean the same moment after a restart, and only
//! the wall clock outlives the process. [`Queued::message`] turns it back into an `Instant`
//! on the running link's clock. If the laptop's clock jumps, deadlines move with it; that
//! costs at most an early or late expiry, never a lost or repeated delivery.

use std::time::SystemTime;

use rusqlite::{OptionalExtension, TransactionBehavior};
use skywave_protocol::link::{Failure, Message, Mode, SpduHeader};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::Address;

use super::{Store, StoreError, address_column, from_unix_ms, unix_ms};

/// A U_PDU to queue for a neighbour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outbound<'a> {
    /// The neighbour it goes to (or [`Address::BROADCAST`] for non-ARQ).
    pub neighbour: Address,
    /// Priority and SAP IDs.
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

/// A queued U_PDU's row id; ids only grow, so one is never reused for another message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueId(pub i64);

/// A U_PDU taken from the queue to hand to the link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// Its row id, to report the outcome with.
    pub id: QueueId,
    /// The neighbour it goes to.
    pub neighbour: Address,
    /// Priority and SAP IDs.
    pub header: SpduHeader,
    /// The delivery service.
    pub mode: Mode,
    /// Ask the destination client to confirm receipt.
    pub confirm: bool,
    /// When it stops being worth sending (wall clock).
    pub ttd: SystemTime,
    /// The U_PDU.
    pub data: Vec<u8>,
}

impl Queued {
    /// The message to submit to the link, its time-to-die moved onto the link's clock: `now`
    /// on the link's clock is `wall` on the wall clock. A deadline already past maps to `now`.
    pub fn message(&self, now: Instant, wall: SystemTime) -> Message<'_> {
        let left = self.ttd.duration_since(wall).unwrap_or_default();
        let left = Duration::from_millis(u64::try_from(left.as_millis()).unwrap_or(u64::MAX));
        Message {
            dest: self.neighbour,
            header: self.header,
            mode: self.mode,
            confirm: self.confirm,
            ttd: now + left,
            data: &self.data,
        }
    }

    /// A row read back, checked.
    fn from_row(row: Row) -> Result<Queued, StoreError> {
        let (id, neighbour, priority, src_sap, dest_sap, mode, repeats, confirm, ttd, data) = row;
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
            data,
        })
    }
}

/// Where a queued U_PDU is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryState {
    /// Waiting for its turn.
    Queued,
    /// Handed to the link, outcome not known yet.
    Sent,
    /// Acknowledged by the neighbour (ARQ) or sent its configured number of times (non-ARQ).
    Delivered,
    /// Its time-to-die passed first.
    Expired,
}

impl DeliveryState {
    const ALL: [DeliveryState; 4] = [
        DeliveryState::Queued,
        DeliveryState::Sent,
        DeliveryState::Delivered,
        DeliveryState::Expired,
    ];

    /// The name in the `state` column.
    pub const fn name(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Expired => "expired",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
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

/// A queued row as SQLite returns it: id, neighbour, priority, SAPs, mode, repeats, confirm,
/// time-to-die, data.
type Row = (i64, i64, i64, i64, i64, String, i64, bool, i64, Vec<u8>);

impl Store {
    /// Queues `message`; it is on disk when this returns.
    pub fn enqueue(&self, message: &Outbound<'_>, now: SystemTime) -> Result<QueueId, StoreError> {
        let (mode, repeats) = mode_columns(message.mode);
        self.with(|inner| {
            inner.conn.execute(
                "INSERT INTO outbound (neighbour, priority, src_sap, dest_sap, mode, repeats,
                     confirm, ttd_unix_ms, data, state, enqueued_unix_ms, updated_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'queued', ?10, ?10)",
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

    /// The next U_PDU for `neighbour`: highest priority first, first queued first within a
    /// priority. It is marked sent in the same transaction; those whose time-to-die has passed
    /// by `now` are marked expired on the way.
    pub fn take_next(
        &self,
        neighbour: Address,
        now: SystemTime,
    ) -> Result<Option<Queued>, StoreError> {
        let now = unix_ms(now);
        self.with(|inner| {
            let tx = inner
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE outbound SET state = 'expired', updated_unix_ms = ?2
                 WHERE neighbour = ?1 AND state = 'queued' AND ttd_unix_ms <= ?2",
                (neighbour.value(), now),
            )?;
            let row: Option<Row> = tx
                .query_row(
                    "SELECT id, neighbour, priority, src_sap, dest_sap, mode, repeats, confirm,
                         ttd_unix_ms, data
                     FROM outbound WHERE neighbour = ?1 AND state = 'queued'
                     ORDER BY priority DESC, id LIMIT 1",
                    [neighbour.value()],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get(4)?,
                            r.get(5)?,
                            r.get(6)?,
                            r.get(7)?,
                            r.get(8)?,
                            r.get(9)?,
                        ))
                    },
                )
                .optional()?;
            let Some(row) = row else {
                tx.commit()?;
                return Ok(None);
            };
            let queued = Queued::from_row(row)?;
            tx.execute(
                "UPDATE outbound SET state = 'sent', updated_unix_ms = ?2 WHERE id = ?1",
                (queued.id.0, now),
            )?;
            tx.commit()?;
            Ok(Some(queued))
        })
    }

    /// Records that the link delivered message `id`. Returns whether there was such a message.
    pub fn mark_delivered(&self, id: QueueId, now: SystemTime) -> Result<bool, StoreError> {
        self.set_state(id, DeliveryState::Delivered, now)
    }

    /// Records that the link gave up on message `id` (today the link's only failure is an
    /// expired time-to-die: it retries a refused physical link until then). Returns whether
    /// there was such a message.
    pub fn mark_failed(
        &self,
        id: QueueId,
        failure: Failure,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let state = match failure {
            Failure::Expired => DeliveryState::Expired,
        };
        self.set_state(id, state, now)
    }

    fn set_state(
        &self,
        id: QueueId,
        state: DeliveryState,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.with(|inner| {
            let changed = inner.conn.execute(
                "UPDATE outbound SET state = ?2, updated_unix_ms = ?3 WHERE id = ?1",
                (id.0, state.name(), unix_ms(now)),
            )?;
            Ok(changed == 1)
        })
    }

    /// Marks every queued U_PDU whose time-to-die has passed by `now` as expired; returns how
    /// many. (Those already sent are the link's to expire: it reports them failed.)
    pub fn expire(&self, now: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "UPDATE outbound SET state = 'expired', updated_unix_ms = ?1
                 WHERE state = 'queued' AND ttd_unix_ms <= ?1",
                [unix_ms(now)],
            )?)
        })
    }

    /// Puts every U_PDU marked sent back in the queue; returns how many. For the agent's
    /// start: the link that held them died with the previous process, so their outcome will
    /// never be reported. Sending one again is safe: the receiver drops duplicates
    /// ([`Store::deliver_once`]).
    pub fn requeue_sent(&self, now: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "UPDATE outbound SET state = 'queued', updated_unix_ms = ?1 WHERE state = 'sent'",
                [unix_ms(now)],
            )?)
        })
    }

    /// Deletes delivered, failed and expired U_PDUs whose state last changed before `before`;
    /// returns how many. Queued and sent ones are never deleted.
    pub fn forget_finished(&self, before: SystemTime) -> Result<usize, StoreError> {
        self.with(|inner| {
            Ok(inner.conn.execute(
                "DELETE FROM outbound
                 WHERE state IN ('delivered', 'failed', 'expired') AND updated_unix_ms < ?1",
                [unix_ms(before)],
            )?)
        })
    }

    /// How many U_PDUs each neighbour has, by priority (highest first) and state.
    pub fn queue_counts(&self) -> Result<Vec<QueueCount>, StoreError> {
        let rows = self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT neighbour, priority, state, count(*) FROM outbound
                 GROUP BY neighbour, priority, state
                 ORDER BY neighbour, priority DESC, state",
            )?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(neighbour, priority, state, count)| {
                let bad = |what: &str| StoreError::corrupt(format!("outbound: {what}"));
                Ok(QueueCount {
                    neighbour: address_column(neighbour, "outbound")?,
                    priority: u8::try_from(priority).map_err(|_| bad("priority"))?,
                    state: DeliveryState::from_name(&state).ok_or_else(|| bad("state"))?,
                    count: u64::try_from(count).map_err(|_| bad("count"))?,
                })
            })
            .collect()
    }
}
