//! The guard's persistent state (issue 17 part 5): the binding sequence numbers this node
//! may use, and the replay window of every origin it received labelled data from.
//!
//! Sequence numbers are reserved in blocks ([`SEQ_BLOCK`]) before they are used, rather than
//! recorded after each use: the station seals a message and the frame leaves in the same
//! poll, so a record written after it could be lost to a crash, and the restarted node would
//! use the number again (its receivers would refuse every message until it passed the old
//! one). A restart skips what was left of the block; receivers accept gaps.

use rusqlite::{OptionalExtension, TransactionBehavior};
use skywave_protocol::label::binding::OriginState;

use super::{Store, StoreError};

/// Sequence numbers reserved at a time.
pub const SEQ_BLOCK: u64 = 1024;

impl Store {
    /// The first binding sequence number not reserved yet (1 in a new store): where a
    /// restarted guard starts.
    pub fn guard_seq_reserved(&self) -> Result<u64, StoreError> {
        self.with(|inner| {
            let reserved: Option<i64> = inner
                .conn
                .query_row("SELECT reserved FROM guard_seq", [], |row| row.get(0))
                .optional()?;
            reserved.map_or(Ok(1), |r| {
                u64::try_from(r).map_err(|_| StoreError::Corrupt(format!("guard_seq {r}")))
            })
        })
    }

    /// Reserves every sequence number below `until`: none of them is used again after a
    /// restart. Never lowers the reservation.
    pub fn reserve_guard_seq(&self, until: u64) -> Result<(), StoreError> {
        let until = i64::try_from(until)
            .map_err(|_| StoreError::Corrupt(format!("guard sequence {until} past i64")))?;
        self.with(|inner| {
            inner.conn.execute(
                "INSERT INTO guard_seq (id, reserved) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET reserved = max(reserved, excluded.reserved)",
                [until],
            )?;
            Ok(())
        })
    }

    /// Replaces the stored replay windows with `origins`, in one transaction.
    pub fn save_replay(&self, origins: &[OriginState]) -> Result<(), StoreError> {
        self.with(|inner| {
            let tx = inner
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM guard_replay", [])?;
            for o in origins {
                // SQLite integers are signed: the highest number is stored as its bit pattern.
                tx.execute(
                    "INSERT INTO guard_replay (origin, highest, seen) VALUES (?1, ?2, ?3)",
                    (
                        o.address,
                        o.highest.cast_signed(),
                        &o.seen.to_be_bytes()[..],
                    ),
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The stored replay windows.
    pub fn replay_origins(&self) -> Result<Vec<OriginState>, StoreError> {
        self.with(|inner| {
            let mut stmt = inner
                .conn
                .prepare("SELECT origin, highest, seen FROM guard_replay ORDER BY origin")?;
            let rows = stmt.query_map([], |row| {
                Ok((
                    row.get::<_, u32>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Vec<u8>>(2)?,
                ))
            })?;
            rows.map(|row| {
                let (address, highest, seen) = row?;
                let seen: [u8; 8] = seen.try_into().map_err(|_| {
                    StoreError::Corrupt(format!("guard_replay {address}: seen is not 8 bytes"))
                })?;
                Ok(OriginState {
                    address,
                    highest: highest.cast_unsigned(),
                    seen: u64::from_be_bytes(seen),
                })
            })
            .collect()
        })
    }
}
