//! What can go wrong with the store, as a typed error the agent can act on.

use std::fmt;

use rusqlite::ErrorCode;
use skywave_protocol::policy::EncodeError;
use skywave_protocol::wire::Address;

/// Why the store could not do what was asked. Nothing is half-done after any of these: the
/// write that failed was rolled back as a whole, and what was stored before is still there.
#[derive(Debug)]
pub enum StoreError {
    /// The disk is full, or the store reached the size limit it was opened with
    /// ([`super::StoreOptions::max_bytes`]; SQLite's `SQLITE_FULL`). The agent should refuse new
    /// work until space is freed; everything stored so far stays readable.
    DiskFull,
    /// The file is damaged or is not a Skywave store: SQLite found a malformed page, or a
    /// record does not hold what its columns say (an artifact whose bytes do not hash to its
    /// digest, a delivery state that does not exist). The text says what and where.
    Corrupt(String),
    /// Another connection (an operator's `sqlite3` shell in a write transaction, or a second
    /// agent) held the database lock longer than the busy timeout.
    Busy,
    /// The operating system refused to open, read or write the file (permissions, an I/O
    /// error, a read-only mount).
    Io(rusqlite::Error),
    /// The store was written by a newer Skywave whose schema this one does not know.
    NewerSchema {
        /// The schema version in the file (`PRAGMA user_version`).
        found: u32,
        /// The newest version this build knows.
        supported: u32,
    },
    /// The store belongs to another node address: two agents must never share a store.
    WrongNode {
        /// The address recorded when the store was created.
        stored: Address,
        /// The address this agent was configured with.
        configured: Address,
    },
    /// The filesystem cannot give the store the journal it needs (WAL mode was refused; some
    /// network filesystems do this). The text is the mode SQLite fell back to.
    NoWal(String),
    /// A decision could not be written as a log entry (its encoding did not fit the entry
    /// buffer, which is sized for the largest decision the protocol can produce).
    Encode(EncodeError),
    /// There is no store at this path (or an empty database no agent initialised); commands
    /// that only read a store do not create one.
    Missing(std::path::PathBuf),
    /// SQLite reported something not covered above (most likely a bug in this module).
    Sqlite(rusqlite::Error),
}

impl StoreError {
    /// A [`StoreError::Corrupt`] for a record that does not hold what its columns say.
    pub(crate) fn corrupt(what: impl fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::DiskFull => f.write_str(
                "the store is full (disk full or its size limit reached): new work is refused, \
                 everything stored so far is kept",
            ),
            StoreError::Corrupt(what) => write!(f, "the store is damaged: {what}"),
            StoreError::Busy => f.write_str("the store is locked by another connection"),
            StoreError::Io(e) => write!(f, "the store's file could not be used: {e}"),
            StoreError::NewerSchema { found, supported } => write!(
                f,
                "the store has schema version {found}, this skywave knows up to {supported}: \
                 use a newer skywave"
            ),
            StoreError::WrongNode { stored, configured } => write!(
                f,
                "the store belongs to node {}, not to this node {}",
                stored.value(),
                configured.value()
            ),
            StoreError::NoWal(mode) => write!(
                f,
                "the filesystem refused SQLite's WAL journal (got {mode:?}): put the store on a \
                 local disk"
            ),
            StoreError::Encode(e) => write!(f, "a decision could not be encoded: {e:?}"),
            StoreError::Missing(path) => write!(
                f,
                "no store at {} (has the agent run with this configuration?)",
                path.display()
            ),
            StoreError::Sqlite(e) => write!(f, "sqlite: {e}"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Io(e) | StoreError::Sqlite(e) => Some(e),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                StoreError::Corrupt(e.to_string())
            }
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
            Some(
                ErrorCode::SystemIoFailure
                | ErrorCode::CannotOpen
                | ErrorCode::ReadOnly
                | ErrorCode::PermissionDenied,
            ) => StoreError::Io(e),
            _ => StoreError::Sqlite(e),
        }
    }
}
