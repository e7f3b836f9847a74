//! Admitted artifacts, byte for byte, in admission order: the node's [`Storage`].
//!
//! [`Storage::get`] lends the artifact's bytes, which a SQLite row cannot do, so the
//! [`ArtifactStore`] keeps a mirror of the `artifacts` table in memory, loaded at open (a few
//! hundred artifacts of at most a D_PDU segment each: well under a megabyte). Every change
//! is written through to SQLite first and applied to the mirror only once it committed, so
//! the mirror never holds what the disk does not, and a failed write changes neither.
//!
//! At load every artifact's bytes are hashed and checked against its digest, so a damaged
//! row is reported as [`StoreError::Corrupt`] instead of being replayed into the trust store.

use skywave_protocol::node::{Storage, StorageError};
use skywave_protocol::policy::{ArtifactRef, Digest, Domain, Kind};

use super::{Store, StoreError};

/// One artifact as kept: where its row is, what it is, its bytes.
#[derive(Clone, Debug)]
struct Record {
    /// The row's `position` (its rowid), which orders admission.
    position: i64,
    artifact: ArtifactRef,
    bytes: Vec<u8>,
}

/// The `artifacts` table, mirrored in memory; the [`Storage`] the agent's node runs over.
///
/// Take one per open [`Store`] ([`Store::artifacts`]): its mirror is its own, so a second one
/// would not see the first one's writes.
#[derive(Debug)]
pub struct ArtifactStore {
    store: Store,
    records: Vec<Record>,
    last_error: Option<StoreError>,
}

impl Store {
    /// The artifacts table, loaded into memory and checked.
    pub fn artifacts(&self) -> Result<ArtifactStore, StoreError> {
        let rows = self.with(|inner| {
            let mut stmt = inner.conn.prepare(
                "SELECT position, kind, domain, id, version, digest, bytes
                 FROM artifacts ORDER BY position",
            )?;
            let rows = stmt
                .query_map([], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                        row.get::<_, i64>(3)?,
                        row.get::<_, i64>(4)?,
                        row.get::<_, Vec<u8>>(5)?,
                        row.get::<_, Vec<u8>>(6)?,
                    ))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })?;
        let records = rows
            .into_iter()
            .map(|(position, kind, domain, id, version, digest, bytes)| {
                let bad = |what: &str| StoreError::corrupt(format!("artifact {position}: {what}"));
                let artifact = ArtifactRef {
                    kind: kind_from_name(&kind).ok_or_else(|| bad("unknown kind"))?,
                    domain: Domain(domain.try_into().map_err(|_| bad("domain"))?),
                    id: u32::try_from(id).map_err(|_| bad("id"))?,
                    // Stored as the same 64 bits (SQLite integers are signed).
                    version: version as u64,
                    digest: Digest(digest.try_into().map_err(|_| bad("digest"))?),
                };
                if Digest::of(&bytes) != artifact.digest {
                    return Err(bad("its bytes do not match its digest"));
                }
                Ok(Record {
                    position,
                    artifact,
                    bytes,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(ArtifactStore {
            store: self.clone(),
            records,
            last_error: None,
        })
    }
}

impl ArtifactStore {
    /// The error behind the last [`StorageError`] returned, for the operator: the node only
    /// learns that storage failed, the agent can say why (a full disk, say).
    pub fn last_error(&self) -> Option<&StoreError> {
        self.last_error.as_ref()
    }

    /// Keeps `e` for [`Self::last_error`], logs it, and reduces it to what the node needs.
    fn failed(&mut self, e: StoreError) -> StorageError {
        tracing::error!(error = %e, "artifact store write failed");
        let reduced = match e {
            StoreError::DiskFull => StorageError::Full,
            _ => StorageError::Failed,
        };
        self.last_error = Some(e);
        reduced
    }
}

impl Storage for ArtifactStore {
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError> {
        let written = self.store.with(|inner| {
            inner.conn.execute(
                "INSERT INTO artifacts (kind, domain, id, version, digest, bytes)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                (
                    artifact.kind.name(),
                    &artifact.domain.0[..],
                    artifact.id,
                    artifact.version as i64,
                    &artifact.digest.0[..],
                    bytes,
                ),
            )?;
            Ok(inner.conn.last_insert_rowid())
        });
        match written {
            Ok(position) => {
                self.records.push(Record {
                    position,
                    artifact: *artifact,
                    bytes: bytes.to_vec(),
                });
                Ok(())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    fn remove(&mut self, digest: &Digest) -> Result<(), StorageError> {
        let Some((index, position)) = self
            .records
            .iter()
            .enumerate()
            .find(|(_, r)| r.artifact.digest == *digest)
            .map(|(i, r)| (i, r.position))
        else {
            return Ok(());
        };
        let deleted = self.store.with(|inner| {
            inner
                .conn
                .execute("DELETE FROM artifacts WHERE position = ?1", [position])?;
            Ok(())
        });
        match deleted {
            Ok(()) => {
                self.records.remove(index);
                Ok(())
            }
            Err(e) => Err(self.failed(e)),
        }
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    fn get(&self, index: usize) -> Option<(ArtifactRef, &[u8])> {
        self.records
            .get(index)
            .map(|r| (r.artifact, r.bytes.as_slice()))
    }

    fn position(&self, digest: &Digest) -> Option<usize> {
        self.records
            .iter()
            .position(|r| r.artifact.digest == *digest)
    }
}

/// The kind whose [`Kind::name`] is `name`: the table stores names so an operator reading it
/// sees `policy`, not `2`.
fn kind_from_name(name: &str) -> Option<Kind> {
    (1..=u8::MAX)
        .map_while(Kind::from_tag)
        .find(|k| k.name() == name)
}
