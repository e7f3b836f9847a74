//! Where a node keeps the artifacts it has admitted, byte for byte, so it can forward them and
//! rebuild its trust store after a restart.
//!
//! The [`TrustStore`](crate::policy::TrustStore) decides; the storage remembers. It holds every
//! admitted artifact as received (revocation deltas included, which the trust store reduces to
//! their effect), in admission order, which is always an order they can be admitted in again.
//! The simulator uses [`FixedStorage`], the firmware the packed
//! [`ArenaStorage`](crate::node::ArenaStorage); the host agent keeps the same records in SQLite
//! so they survive power loss.

use heapless::Vec;

use crate::policy::{ArtifactRef, Digest, MAX_ARTIFACT_LEN};

/// The records a node's storage needs so that no domain can take another's room: everything a
/// trust store with these capacities admits (each domain within its room there), and for every
/// domain of the `domains` a node can know its revocation history
/// ([`crate::node::Config::revocation_history`]) and one checkpoint. Size fixed storage at least
/// this big; a smaller one is a table every partner shares.
pub const fn storage_slots(
    credentials: usize,
    policies: usize,
    translators: usize,
    revocation_history: usize,
    domains: usize,
) -> usize {
    credentials + policies + translators + domains * (revocation_history + 1)
}

/// Why an artifact could not be kept.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StorageError {
    /// No room for another artifact (or for its bytes).
    Full,
    /// The medium failed (a write error on the host's database, for instance).
    Failed,
}

impl core::fmt::Display for StorageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StorageError::Full => f.write_str("artifact storage full"),
            StorageError::Failed => f.write_str("artifact storage failed"),
        }
    }
}

impl core::error::Error for StorageError {}

/// A node's record of admitted artifacts, in admission order.
pub trait Storage {
    /// Keeps `bytes`, admitted as `artifact`, after everything kept so far.
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError>;

    /// Forgets the artifact with this digest (superseded by a newer version).
    fn remove(&mut self, digest: &Digest) -> Result<(), StorageError>;

    /// How many artifacts are kept.
    fn len(&self) -> usize;

    /// Whether nothing is kept.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `index`-th artifact in admission order, with its bytes.
    fn get(&self, index: usize) -> Option<(ArtifactRef, &[u8])>;

    /// The position of the artifact with this digest.
    fn position(&self, digest: &Digest) -> Option<usize> {
        (0..self.len()).find(|&i| self.get(i).is_some_and(|(a, _)| a.digest == *digest))
    }
}

/// [`Storage`] in fixed memory: up to `N` artifacts of up to [`MAX_ARTIFACT_LEN`] bytes.
#[derive(Clone, Debug)]
pub struct FixedStorage<const N: usize> {
    records: Vec<(ArtifactRef, Vec<u8, MAX_ARTIFACT_LEN>), N>,
}

impl<const N: usize> Default for FixedStorage<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> FixedStorage<N> {
    /// Empty storage.
    pub const fn new() -> Self {
        FixedStorage {
            records: Vec::new(),
        }
    }
}

impl<const N: usize> Storage for FixedStorage<N> {
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError> {
        let bytes = Vec::from_slice(bytes).map_err(|_| StorageError::Full)?;
        self.records
            .push((*artifact, bytes))
            .map_err(|_| StorageError::Full)
    }

    fn remove(&mut self, digest: &Digest) -> Result<(), StorageError> {
        if let Some(i) = self.position(digest) {
            self.records.remove(i);
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    fn get(&self, index: usize) -> Option<(ArtifactRef, &[u8])> {
        self.records.get(index).map(|(a, b)| (*a, b.as_slice()))
    }
}

/// [`Storage`] in a vector on the heap, for hosts, tests and benches holding thousands of
/// artifacts (no capacity: the allocator is the limit).
#[cfg(any(feature = "std", test))]
#[derive(Default, Debug)]
pub struct HeapStorage(std::vec::Vec<(ArtifactRef, std::vec::Vec<u8>)>);

#[cfg(any(feature = "std", test))]
impl Storage for HeapStorage {
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError> {
        self.0.push((*artifact, bytes.to_vec()));
        Ok(())
    }

    fn remove(&mut self, digest: &Digest) -> Result<(), StorageError> {
        self.0.retain(|(a, _)| a.digest != *digest);
        Ok(())
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn get(&self, index: usize) -> Option<(ArtifactRef, &[u8])> {
        self.0.get(index).map(|(a, b)| (*a, b.as_slice()))
    }
}
