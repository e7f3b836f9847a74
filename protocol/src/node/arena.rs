//! [`Storage`] packed into one byte arena, shared fairly between domains: the adjunct's storage.
//!
//! [`FixedStorage`](super::FixedStorage) gives every record a slot of the longest artifact
//! (1023 bytes); real artifacts are 100 to 600 bytes, so on a board with 64 KiB of RAM this
//! arena keeps them end to end instead: `RECORDS` index entries and `BYTES` bytes shared by all
//! of them. A removal (a policy superseded by its next version) closes the gap at once, so free
//! space is always one run at the end.
//!
//! Why fair: the records and bytes are one pool, and the trust store's rooms bound how many
//! artifacts a domain holds, not how long they are. A partner whose artifacts are long (or
//! whose revocation history is deep) could fill the pool, and then another partner's next
//! revocation would be admitted but never kept, so never forwarded. So when an artifact does
//! not fit, and its domain would stay within an equal share of the pool (records and bytes,
//! split between the domains kept), the oldest artifacts of the domain furthest over its share
//! make way for it. While there is room any domain may use it. An evicted artifact's effect
//! stays in the trust store; only the copy kept for forwarding goes, and neighbours that lack
//! it get it from a node that kept it.

use heapless::Vec;

use super::{Storage, StorageError};
use crate::policy::{ArtifactRef, Digest, Domain, MAX_DOMAINS};

/// One kept artifact: what it is and where its bytes are in the arena.
#[derive(Clone, Copy, Debug)]
struct Record {
    artifact: ArtifactRef,
    start: usize,
    len: usize,
}

/// Up to `RECORDS` artifacts in `BYTES` bytes, in admission order, each domain owed an equal
/// share when full.
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

/// What one domain keeps.
#[derive(Clone, Copy)]
struct Usage {
    domain: Domain,
    records: usize,
    bytes: usize,
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

    /// Records and bytes per domain kept, with `extra` counted as kept (with nothing yet).
    fn usage(&self, extra: Domain) -> Vec<Usage, MAX_DOMAINS> {
        let mut usage: Vec<Usage, MAX_DOMAINS> = Vec::new();
        let domains = core::iter::once(extra).chain(self.records.iter().map(|r| r.artifact.domain));
        for domain in domains {
            if !usage.iter().any(|u| u.domain == domain) {
                let _ = usage.push(Usage {
                    domain,
                    records: 0,
                    bytes: 0,
                });
            }
        }
        for r in &self.records {
            if let Some(u) = usage.iter_mut().find(|u| u.domain == r.artifact.domain) {
                u.records += 1;
                u.bytes += r.len;
            }
        }
        usage
    }

    /// Whether `len` more bytes fit in one more record now.
    fn fits(&self, len: usize) -> bool {
        !self.records.is_full() && self.used.saturating_add(len) <= BYTES
    }

    /// Makes room for `len` bytes of `domain` by evicting the oldest artifacts of the domain
    /// furthest over its equal share, if `domain` stays within its share; `false` if not.
    fn make_room(&mut self, domain: Domain, len: usize) -> bool {
        while !self.fits(len) {
            let usage = self.usage(domain);
            let domains = usage.len().max(1);
            let (share_records, share_bytes) = (RECORDS / domains, BYTES / domains);
            let within = |u: &Usage, more: usize, bytes: usize| {
                u.records + more <= share_records && u.bytes + bytes <= share_bytes
            };
            let own = usage.iter().find(|u| u.domain == domain);
            if !own.is_some_and(|u| within(u, 1, len)) {
                return false;
            }
            // The domain furthest over its share, by the larger of its two overshoots.
            let over = |u: &Usage| {
                let records = u.records.saturating_sub(share_records) * BYTES;
                let bytes = u.bytes.saturating_sub(share_bytes) * RECORDS;
                records.max(bytes)
            };
            let Some(victim) = usage
                .iter()
                .filter(|u| u.domain != domain && !within(u, 0, 0))
                .max_by_key(|u| over(u))
                .map(|u| u.domain)
            else {
                return false;
            };
            let Some(oldest) = self
                .records
                .iter()
                .find(|r| r.artifact.domain == victim)
                .map(|r| r.artifact.digest)
            else {
                return false;
            };
            if self.remove(&oldest).is_err() {
                return false;
            }
        }
        true
    }
}

impl<const RECORDS: usize, const BYTES: usize> Storage for ArenaStorage<RECORDS, BYTES> {
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError> {
        if !self.fits(bytes.len()) && !self.make_room(artifact.domain, bytes.len()) {
            return Err(StorageError::Full);
        }
        let end = self.used + bytes.len();
        self.arena
            .get_mut(self.used..end)
            .ok_or(StorageError::Full)?
            .copy_from_slice(bytes);
        let record = Record {
            artifact: *artifact,
            start: self.used,
            len: bytes.len(),
        };
        // Room was made above.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Kind;

    fn artifact(domain: &[u8; 3], n: u32) -> (ArtifactRef, [u8; 200]) {
        let mut bytes = [0u8; 200];
        bytes[..3].copy_from_slice(domain);
        bytes[3..7].copy_from_slice(&n.to_be_bytes());
        let artifact = ArtifactRef {
            kind: Kind::Revocation,
            domain: Domain(*domain),
            id: n,
            version: 0,
            digest: Digest::of(&bytes),
        };
        (artifact, bytes)
    }

    fn kept(s: &ArenaStorage<12, 2400>, domain: &[u8; 3]) -> usize {
        (0..s.len())
            .filter(|&i| s.get(i).is_some_and(|(a, _)| a.domain == Domain(*domain)))
            .count()
    }

    #[test]
    fn records_pack_and_removal_closes_the_gap() {
        let mut s = ArenaStorage::<12, 2400>::new();
        let (a, ab) = artifact(b"GBR", 1);
        let (b, bb) = artifact(b"GBR", 2);
        s.insert(&a, &ab).unwrap();
        s.insert(&b, &bb).unwrap();
        s.remove(&a.digest).unwrap();
        assert_eq!(s.used_bytes(), 200);
        assert_eq!(s.get(0), Some((b, &bb[..])));
    }

    /// A partner that filled the whole arena while it was free cannot keep another partner's
    /// next revocation out: its oldest make way, down to its share.
    #[test]
    fn a_partner_that_filled_the_arena_makes_way_for_anothers_revocation() {
        let mut s = ArenaStorage::<12, 2400>::new();
        for n in 0..12 {
            let (a, bytes) = artifact(b"AUS", n);
            s.insert(&a, &bytes).unwrap();
        }
        assert_eq!(kept(&s, b"AUS"), 12);
        let (a13, b13) = artifact(b"AUS", 13);
        assert_eq!(
            s.insert(&a13, &b13),
            Err(StorageError::Full),
            "full for its owner"
        );
        for n in 0..6 {
            let (a, bytes) = artifact(b"GBR", n);
            s.insert(&a, &bytes).unwrap();
        }
        assert_eq!((kept(&s, b"AUS"), kept(&s, b"GBR")), (6, 6));
        // GBR at its share now: its next is refused rather than taking AUS's share.
        let (a, bytes) = artifact(b"GBR", 6);
        assert_eq!(s.insert(&a, &bytes), Err(StorageError::Full));
        // The oldest of AUS's went: what it kept is its last six.
        let first = s.get(0).map(|(a, _)| (a.domain, a.id));
        assert_eq!(first, Some((Domain(*b"AUS"), 6)));
    }
}
