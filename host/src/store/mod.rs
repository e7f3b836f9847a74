//! The agent's persistent store: one SQLite file that survives crashes and power loss.
//!
//! It holds what the agent must not lose or repeat:
//!
//! - [`ArtifactStore`] ([`artifacts`]): every admitted artifact byte for byte, in admission
//!   order; it is the [`Storage`](skywave_protocol::node::Storage) the protocol's node forwards
//!   from and rebuilds its trust store from at start.
//! - SIS client messages sent with client confirmation ([`outbound`]), from before the
//!   agent takes one until its sender is told the outcome, so a restart resends what the far
//!   client has not confirmed;
//! - SIS client messages received with client confirmation ([`received`]), held until a
//!   client has them and remembered after, so none is lost or delivered twice across a
//!   restart, and the SAPs clients held;
//! - the operator's inbox ([`inbox`]): labelled messages for `skywave receive`, kept until the
//!   operator has them;
//! - the hash-chained decision log ([`decisions`]), in the protocol's entry format;
//! - the guard's binding sequence reservation and replay windows ([`guard`]);
//! - evidence of equivocations and rollbacks ([`evidence`]), as self-contained evidence files;
//! - `meta`: the node address, schema version and creation time.
//!
//! **Durability.** The database runs in WAL mode with `synchronous=FULL`: every commit
//! fsyncs the write-ahead log before it returns, so a write this module reports as done is on
//! disk and survives SIGKILL and power loss. (`NORMAL`, SQLite's usual choice for WAL, keeps
//! the file consistent but may lose the last commits on power loss, which would let the agent
//! acknowledge a U_PDU it then forgets.) WAL also lets an operator read the file with the
//! `sqlite3` shell while the agent writes. Each write is one transaction, so it happens whole
//! or not at all.
//!
//! **Failure.** Every write returns a [`StoreError`]; a full disk (or the configured size
//! limit) is [`StoreError::DiskFull`], after which the store refuses new writes but everything
//! already stored stays readable.
//!
//! The schema is versioned (`PRAGMA user_version`) and migrated in code (`schema.rs`);
//! docs/store.md documents it for operators.
//!
//! One [`Store`] is shared by everything in the agent (it is `Send + Sync`); its calls block
//! on SQLite and, for writes, on an fsync, so async code runs them where blocking is allowed.

pub mod artifacts;
pub mod decisions;
mod error;
pub mod evidence;
pub mod guard;
pub mod inbox;
pub mod outbound;
pub mod received;
mod schema;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use skywave_protocol::policy::DecisionLog;
use skywave_protocol::wire::Address;

pub use artifacts::ArtifactStore;
pub use error::StoreError;
pub use evidence::{EvidenceRecord, Recorded};
pub use inbox::InboxRow;
pub use outbound::{DeliveryState, Outbound, Outcome, QueueCount, QueueId, Queued};
pub use received::{Held, MessageKey};
pub use schema::SCHEMA_VERSION;

/// How long a write waits for another connection's lock (an operator's `sqlite3` shell)
/// before giving up with [`StoreError::Busy`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How a store is opened.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// The most bytes the database file may grow to (rounded down to whole pages); writes that
    /// would pass it fail with [`StoreError::DiskFull`]. `None`: only the disk limits it.
    pub max_bytes: Option<u64>,
}

/// What the `meta` table says about the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The node the store belongs to.
    pub node: Address,
    /// The schema version of the file.
    pub schema_version: u32,
    /// When the store was created (wall clock).
    pub created: SystemTime,
}

/// The agent's store. Cloning it gives another handle on the same connection.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    meta: Meta,
}

/// The connection and what the store keeps in memory beside it.
#[derive(Debug)]
struct Inner {
    conn: Connection,
    /// The decision log's anchor, resumed from the last entry at open.
    log: DecisionLog,
}

impl Store {
    /// Opens the store at `path` for `node`, creating it if it does not exist and migrating
    /// an older schema, with the journal and sync settings described above. A store created
    /// for another node address is refused.
    pub fn open(path: &Path, node: Address, options: StoreOptions) -> Result<Store, StoreError> {
        Self::open_connection(Connection::open(path)?, node, options)
    }

    /// Opens an existing store at `path` for a command that reads it (an audit): unlike
    /// [`Store::open`] it creates nothing, and a missing file, or a database no Skywave agent
    /// ever initialised, is [`StoreError::Missing`].
    pub fn open_existing(path: &Path, node: Address) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let missing = || StoreError::Missing(path.to_owned());
        let conn =
            Connection::open_with_flags(path, flags).map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::CannotOpen) => missing(),
                _ => StoreError::from(e),
            })?;
        let version: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version == 0 {
            return Err(missing());
        }
        Self::open_connection(conn, node, StoreOptions::default())
    }

    fn open_connection(
        mut conn: Connection,
        node: Address,
        options: StoreOptions,
    ) -> Result<Store, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NoWal(mode));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        if let Some(max_bytes) = options.max_bytes {
            let page_size: u32 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
            let pages = (max_bytes / u64::from(page_size.max(1))).max(1);
            conn.pragma_update(
                None,
                "max_page_count",
                u32::try_from(pages).unwrap_or(u32::MAX),
            )?;
        }
        schema::migrate(&mut conn)?;
        let meta = init_meta(&conn, node)?;
        let log = decisions::resume(&conn)?;
        Ok(Store {
            inner: Arc::new(Mutex::new(Inner { conn, log })),
            meta,
        })
    }

    /// What the `meta` table says.
    pub fn meta(&self) -> Meta {
        self.meta
    }

    /// Runs SQLite's `PRAGMA integrity_check` over the whole file: `Ok` if it found nothing,
    /// [`StoreError::Corrupt`] with SQLite's findings otherwise.
    pub fn check_integrity(&self) -> Result<(), StoreError> {
        self.with(|inner| {
            let mut stmt = inner.conn.prepare("PRAGMA integrity_check")?;
            let findings = stmt
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            if findings == ["ok"] {
                Ok(())
            } else {
                Err(StoreError::Corrupt(findings.join("; ")))
            }
        })
    }

    /// Runs `f` with the connection locked. A panic elsewhere while it was locked cannot have
    /// left a transaction half-applied (an unfinished transaction rolls back when dropped), so
    /// a poisoned lock is simply taken.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Inner) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut inner)
    }
}

/// Records `node` in a new store, or checks an existing store belongs to it.
fn init_meta(conn: &Connection, node: Address) -> Result<Meta, StoreError> {
    let row: Option<(i64, i64, i64)> = conn
        .query_row(
            "SELECT node_address, schema_version, created_unix_ms FROM meta",
            [],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((stored, schema_version, created)) = row else {
        let created = SystemTime::now();
        conn.execute(
            "INSERT INTO meta (id, node_address, schema_version, created_unix_ms)
             VALUES (1, ?1, ?2, ?3)",
            (node.value(), SCHEMA_VERSION, unix_ms(created)),
        )?;
        return Ok(Meta {
            node,
            schema_version: SCHEMA_VERSION,
            created: from_unix_ms(unix_ms(created)),
        });
    };
    let stored = address_column(stored, "meta")?;
    if stored != node {
        return Err(StoreError::WrongNode {
            stored,
            configured: node,
        });
    }
    Ok(Meta {
        node,
        schema_version: u32::try_from(schema_version)
            .map_err(|_| StoreError::corrupt(format!("meta: schema version {schema_version}")))?,
        created: from_unix_ms(created),
    })
}

/// Wall-clock time as the store keeps it: milliseconds since the Unix epoch (times before it
/// count as the epoch itself).
fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The inverse of [`unix_ms`].
fn from_unix_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// A node address read back from a column.
fn address_column(value: i64, what: &str) -> Result<Address, StoreError> {
    u32::try_from(value)
        .ok()
        .and_then(|a| Address::new(a).ok())
        .ok_or_else(|| StoreError::corrupt(format!("{what}: node address {value}")))
}

#[cfg(test)]
pub(crate) mod tests;
