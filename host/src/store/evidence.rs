//! Evidence of conflicting signed artifacts (equivocations, rollbacks), kept across restarts.
//!
//! Each row is one piece as an evidence file ([`EvidenceFile`]: both artifacts and the
//! credentials chaining their signers to the roots), with columns describing it so it can be
//! listed without decoding. Rows are unique by the pair of digests, so a conflict met again (a
//! neighbour offering the same stale version every round) is one row; and each domain may hold
//! at most [`EVIDENCE_PER_DOMAIN`] rows, so a hostile partner's own conflicts cannot fill the
//! disk or push out another partner's.

use std::time::SystemTime;

use skywave_protocol::policy::evidence::describe;
use skywave_protocol::policy::{Conflict, Digest, Domain, EvidenceFile, Kind};

use super::{Store, StoreError, from_unix_ms, unix_ms};

/// The most pieces of evidence kept per domain; later ones are counted, not kept.
pub const EVIDENCE_PER_DOMAIN: i64 = 1024;

/// What a piece of evidence is about, as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRecord {
    /// The row's position (its order of recording).
    pub position: i64,
    /// What the pair shows.
    pub conflict: Conflict,
    /// The domain the artifacts are filed under.
    pub domain: Domain,
    /// Their kind.
    pub kind: Kind,
    /// Their id (0 for credentials, the sequence number for revocations).
    pub id: u32,
    /// The held artifact's version.
    pub held_version: u64,
    /// The offered artifact's version.
    pub offered_version: u64,
    /// The held artifact's digest.
    pub held: Digest,
    /// The offered artifact's digest.
    pub offered: Digest,
    /// When it was recorded.
    pub recorded: SystemTime,
    /// The evidence file.
    pub file: Vec<u8>,
}

/// What [`Store::record_evidence`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A new row.
    New,
    /// The same pair was recorded before.
    Duplicate,
    /// The domain already holds [`EVIDENCE_PER_DOMAIN`] pieces.
    DomainFull,
}

impl Store {
    /// Records one piece of evidence (`record.position` and `record.recorded` are ignored:
    /// the row's own are used).
    pub fn record_evidence(
        &self,
        record: &EvidenceRecord,
        now: SystemTime,
    ) -> Result<Recorded, StoreError> {
        self.with(|inner| {
            let tx = inner.conn.transaction()?;
            let seen: i64 = tx.query_row(
                "SELECT count(*) FROM evidence WHERE held_digest = ?1 AND offered_digest = ?2",
                (&record.held.0[..], &record.offered.0[..]),
                |row| row.get(0),
            )?;
            if seen > 0 {
                return Ok(Recorded::Duplicate);
            }
            let in_domain: i64 = tx.query_row(
                "SELECT count(*) FROM evidence WHERE domain = ?1",
                [&record.domain.0[..]],
                |row| row.get(0),
            )?;
            if in_domain >= EVIDENCE_PER_DOMAIN {
                return Ok(Recorded::DomainFull);
            }
            tx.execute(
                "INSERT INTO evidence (conflict, domain, kind, id, held_version, offered_version,
                     held_digest, offered_digest, file, recorded_unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                rusqlite::params![
                    record.conflict.name(),
                    &record.domain.0[..],
                    record.kind.name(),
                    record.id,
                    record.held_version as i64,
                    record.offered_version as i64,
                    &record.held.0[..],
                    &record.offered.0[..],
                    &record.file,
                    unix_ms(now),
                ],
            )?;
            tx.commit()?;
            Ok(Recorded::New)
        })
    }

    /// Every piece of evidence, in the order recorded. What each piece is about is read from
    /// its file (the columns beside it are for operators reading the table), so a row whose
    /// file does not hold what it should is reported as damaged.
    pub fn evidence(&self) -> Result<Vec<EvidenceRecord>, StoreError> {
        let rows: Vec<(i64, i64, Vec<u8>)> = self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT position, recorded_unix_ms, file FROM evidence ORDER BY position",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        rows.into_iter()
            .map(|(position, ms, file)| {
                let bad =
                    || StoreError::corrupt(format!("evidence {position}: not an evidence file"));
                let read = EvidenceFile::read(&file).map_err(|_| bad())?;
                let held = describe(read.held).ok_or_else(bad)?.artifact;
                let offered = describe(read.offered).ok_or_else(bad)?.artifact;
                Ok(EvidenceRecord {
                    position,
                    conflict: read.conflict,
                    domain: held.domain,
                    kind: held.kind,
                    id: held.id,
                    held_version: held.version,
                    offered_version: offered.version,
                    held: held.digest,
                    offered: offered.digest,
                    recorded: from_unix_ms(ms),
                    file,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use skywave_protocol::policy::sample::{GBR, USA};
    use skywave_protocol::wire::Address;
    use tempfile::TempDir;

    use super::*;
    use crate::store::StoreOptions;

    /// A record of `domain` whose digests are made from `n` (the file is not read here).
    fn record(domain: Domain, n: u32) -> EvidenceRecord {
        let digest = |side: u8| {
            let mut d = [side; 32];
            d[..4].copy_from_slice(&n.to_le_bytes());
            Digest(d)
        };
        EvidenceRecord {
            position: 0,
            conflict: Conflict::Rollback,
            domain,
            kind: Kind::Policy,
            id: 1,
            held_version: 2,
            offered_version: 1,
            held: digest(0),
            offered: digest(1),
            recorded: SystemTime::UNIX_EPOCH,
            file: Vec::new(),
        }
    }

    #[test]
    fn a_domain_fills_only_its_own_room_and_a_conflict_is_one_row() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("store.db");
        let store = Store::open(&path, Address::new(7).unwrap(), StoreOptions::default()).unwrap();
        let now = SystemTime::now();
        assert_eq!(
            store.record_evidence(&record(USA, 0), now).unwrap(),
            Recorded::New
        );
        assert_eq!(
            store.record_evidence(&record(USA, 0), now).unwrap(),
            Recorded::Duplicate
        );
        // Fill USA's room in one go (a row at a time would be an fsync each).
        store
            .with(|inner| {
                let tx = inner.conn.transaction()?;
                for n in 1..EVIDENCE_PER_DOMAIN as u32 {
                    let r = record(USA, n);
                    tx.execute(
                        "INSERT INTO evidence (conflict, domain, kind, id, held_version,
                             offered_version, held_digest, offered_digest, file, recorded_unix_ms)
                         VALUES ('rollback', ?1, 'policy', 1, 2, 1, ?2, ?3, x'', 0)",
                        (&r.domain.0[..], &r.held.0[..], &r.offered.0[..]),
                    )?;
                }
                tx.commit()?;
                Ok(())
            })
            .unwrap();
        let full = EVIDENCE_PER_DOMAIN as u32;
        assert_eq!(
            store.record_evidence(&record(USA, full), now).unwrap(),
            Recorded::DomainFull
        );
        assert_eq!(
            store.record_evidence(&record(GBR, full), now).unwrap(),
            Recorded::New
        );
    }
}
