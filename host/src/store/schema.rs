//! The store's schema and its migrations.
//!
//! The schema version is SQLite's `PRAGMA user_version` (0 for a new file). [`MIGRATIONS`]
//! holds, for each version `v`, the SQL that takes a store from `v` to `v + 1`; opening a
//! store runs the missing ones in one transaction, so a crash mid-migration leaves the old
//! version intact. A store newer than this build is refused rather than guessed at.
//! docs/store.md describes every table for operators.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// `MIGRATIONS[v]` takes a store from version `v` to `v + 1`.
///
/// Tables are STRICT so a value of the wrong type (an operator's stray `UPDATE`, a damaged
/// page) is refused by SQLite instead of read back as something else.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    "
    CREATE TABLE meta (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        node_address INTEGER NOT NULL,
        schema_version INTEGER NOT NULL,
        created_unix_ms INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE artifacts (
        position INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        domain BLOB NOT NULL CHECK (length(domain) = 3),
        id INTEGER NOT NULL,
        version INTEGER NOT NULL,
        digest BLOB NOT NULL CHECK (length(digest) = 32),
        bytes BLOB NOT NULL
    ) STRICT;

    CREATE TABLE outbound (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        neighbour INTEGER NOT NULL,
        priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 15),
        src_sap INTEGER NOT NULL CHECK (src_sap BETWEEN 0 AND 15),
        dest_sap INTEGER NOT NULL CHECK (dest_sap BETWEEN 0 AND 15),
        mode TEXT NOT NULL CHECK (mode IN
            ('arq', 'arq-in-order', 'expedited-arq', 'non-arq', 'expedited-non-arq')),
        repeats INTEGER NOT NULL CHECK (repeats BETWEEN 0 AND 255),
        confirm INTEGER NOT NULL CHECK (confirm IN (0, 1)),
        ttd_unix_ms INTEGER NOT NULL,
        data BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN
            ('queued', 'sent', 'delivered', 'expired')),
        enqueued_unix_ms INTEGER NOT NULL,
        updated_unix_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX outbound_next ON outbound (neighbour, state, priority DESC, id);

    CREATE TABLE received (
        source INTEGER NOT NULL,
        message BLOB NOT NULL CHECK (length(message) = 32),
        delivered_unix_ms INTEGER NOT NULL,
        PRIMARY KEY (source, message)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE decisions (
        position INTEGER PRIMARY KEY,
        entry BLOB NOT NULL,
        recorded_unix_ms INTEGER NOT NULL
    ) STRICT;
    ",
    // 1 -> 2: evidence of conflicting signed artifacts, kept across restarts.
    "
    CREATE TABLE evidence (
        position INTEGER PRIMARY KEY,
        conflict TEXT NOT NULL CHECK (conflict IN ('equivocation', 'rollback')),
        domain BLOB NOT NULL CHECK (length(domain) = 3),
        kind TEXT NOT NULL,
        id INTEGER NOT NULL,
        held_version INTEGER NOT NULL,
        offered_version INTEGER NOT NULL,
        held_digest BLOB NOT NULL CHECK (length(held_digest) = 32),
        offered_digest BLOB NOT NULL CHECK (length(offered_digest) = 32),
        file BLOB NOT NULL,
        recorded_unix_ms INTEGER NOT NULL,
        UNIQUE (held_digest, offered_digest)
    ) STRICT;
    CREATE INDEX evidence_domain ON evidence (domain);
    ",
    // 2 -> 3: the guard's binding sequence numbers and replay windows (issue 17 part 5), so a
    // restart never reuses a number nor accepts a replay.
    "
    CREATE TABLE guard_seq (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        reserved INTEGER NOT NULL CHECK (reserved >= 1)
    ) STRICT;

    CREATE TABLE guard_replay (
        origin INTEGER PRIMARY KEY,
        highest INTEGER NOT NULL,
        seen BLOB NOT NULL CHECK (length(seen) = 8)
    ) STRICT;
    ",
    // 3 -> 4: SIS client messages persisted (issue 16 part 3). The first `outbound` and
    // `received` tables were never written by any agent, so they are replaced, not migrated.
    "
    DROP TABLE outbound;
    CREATE TABLE outbound (
        id INTEGER PRIMARY KEY AUTOINCREMENT, neighbour INTEGER NOT NULL,
        priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 15),
        src_sap INTEGER NOT NULL CHECK (src_sap BETWEEN 0 AND 15), dest_sap INTEGER NOT NULL
            CHECK (dest_sap BETWEEN 0 AND 15),
        mode TEXT NOT NULL CHECK (mode IN
            ('arq', 'arq-in-order', 'expedited-arq', 'non-arq', 'expedited-non-arq')),
        repeats INTEGER NOT NULL CHECK (repeats BETWEEN 0 AND 255),
        confirm INTEGER NOT NULL CHECK (confirm IN (0, 1)),
        ttd_unix_ms INTEGER NOT NULL, data BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'delivered', 'expired', 'failed')),
        reason INTEGER CHECK (reason BETWEEN 0 AND 255),
        told INTEGER NOT NULL CHECK (told IN (0, 1)),
        enqueued_unix_ms INTEGER NOT NULL,
        updated_unix_ms INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX outbound_state ON outbound (state, src_sap, told, id);

    DROP TABLE received;
    CREATE TABLE received (
        id INTEGER PRIMARY KEY,
        source INTEGER NOT NULL,
        message BLOB NOT NULL CHECK (length(message) = 32),
        priority INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 15),
        src_sap INTEGER NOT NULL CHECK (src_sap BETWEEN 0 AND 15),
        dest_sap INTEGER NOT NULL CHECK (dest_sap BETWEEN 0 AND 15),
        service TEXT NOT NULL CHECK (service IN
            ('arq', 'expedited-arq', 'non-arq', 'expedited-non-arq')),
        data BLOB,
        received_unix_ms INTEGER NOT NULL,
        UNIQUE (source, message)
    ) STRICT;

    CREATE TABLE sis_saps (
        sap INTEGER PRIMARY KEY CHECK (sap BETWEEN 0 AND 15)
    ) STRICT;
    ",
    // 4 -> 5: the operator's inbox persisted (issue 17): labelled messages for `skywave
    // receive` outlive a restart until the operator has them. Written on one line: SQLite
    // keeps each table's SQL text in the schema page, and every byte there counts towards the
    // empty store's size (docs/store.md).
    "CREATE TABLE inbox (id INTEGER PRIMARY KEY AUTOINCREMENT, report BLOB NOT NULL, \
     log_index INTEGER, data BLOB, received_unix_ms INTEGER NOT NULL) STRICT;",
];

/// Brings the store in `conn` to [`SCHEMA_VERSION`], all at once or not at all.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: u32 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let pending = MIGRATIONS
        .get(found as usize..)
        .ok_or(StoreError::NewerSchema {
            found,
            supported: SCHEMA_VERSION,
        })?;
    if pending.is_empty() {
        return Ok(());
    }
    for sql in pending {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.execute("UPDATE meta SET schema_version = ?1", [SCHEMA_VERSION])?;
    tx.commit()?;
    Ok(())
}
