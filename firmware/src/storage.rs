//! The adjunct's artifact storage: admitted artifacts packed end to end in one byte arena.
//!
//! The node keeps every admitted artifact as received so it can forward it and answer
//! inventory requests ([`Storage`]). The protocol's `FixedStorage` gives every record a slot of
//! the longest artifact (1023 bytes); real artifacts are 100 to 250 bytes, so on a board with
//! 64 KiB of RAM this arena keeps them packed instead: `RECORDS` index entries and `BYTES`
//! bytes shared by all of them. A removal (a policy superseded by its next version) closes the
//! gap at once, so free space is always one run at the end.
//!
//! It lives in RAM: a reboot loses it (docs/firmware.md says how the node catches up).

use heapless::Vec;
use skywave_protocol::node::{Storage, StorageError};
use skywave_protocol::policy::{ArtifactRef, Digest};

/// One kept artifact: what it is and where its bytes are in the arena.
#[derive(Clone, Copy, Debug)]
struct Record {
    artifact: ArtifactRef,
    start: usize,
    len: usize,
}

/// Up to `RECORDS` artifacts in `BYTES` bytes, in admission order.
pub struct ArenaStorage<const RECORDS: usize, const BYTES: usize> {
    records: Vec<Record, RECORDS>,
    arena: [u8; BYTES],
    /// Bytes in use, from the start of the arena.
    used: usize,
}

impl<const RECORDS: usize, const BYTES: usize> Default for ArenaStorage<RECORDS, BYTES> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const RECORDS: usize, const BYTES: usize> ArenaStorage<RECORDS, BYTES> {
    /// Empty storage (`const`, so it can be a static's initialiser).
    #[inline(always)]
    pub const fn new() -> Self {
        ArenaStorage {
            records: Vec::new(),
            arena: [0; BYTES],
            used: 0,
        }
    }

    /// Bytes of artifacts kept.
    pub const fn used_bytes(&self) -> usize {
        self.used
    }

    /// The arena's size.
    pub const fn capacity_bytes(&self) -> usize {
        BYTES
    }
}

impl<const RECORDS: usize, const BYTES: usize> Storage for ArenaStorage<RECORDS, BYTES> {
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError> {
        let end = self
            .used
            .checked_add(bytes.len())
            .filter(|end| *end <= BYTES)
            .ok_or(StorageError::Full)?;
        if self.records.is_full() {
            return Err(StorageError::Full);
        }
        self.arena
            .get_mut(self.used..end)
            .ok_or(StorageError::Full)?
            .copy_from_slice(bytes);
        let record = Record {
            artifact: *artifact,
            start: self.used,
            len: bytes.len(),
        };
        // Room was checked above.
        self.records.push(record).map_err(|_| StorageError::Full)?;
        self.used = end;
        Ok(())
    }

    fn remove(&mut self, digest: &Digest) -> Result<(), StorageError> {
        let Some(i) = self
            .records
            .iter()
            .position(|r| r.artifact.digest == *digest)
        else {
            return Ok(());
        };
        let gone = self.records.remove(i);
        let tail = gone.start + gone.len;
        // Close the gap: everything after the removed bytes moves down by its length.
        self.arena.copy_within(tail..self.used, gone.start);
        self.used -= gone.len;
        for r in self.records.iter_mut().filter(|r| r.start >= tail) {
            r.start -= gone.len;
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.records.len()
    }

    fn get(&self, index: usize) -> Option<(ArtifactRef, &[u8])> {
        let r = self.records.get(index)?;
        let bytes = self.arena.get(r.start..r.start + r.len)?;
        Some((r.artifact, bytes))
    }
}
