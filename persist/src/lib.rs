//! Skywave's persistent trust state: every artifact a node admits is kept in NOR flash, and
//! replayed through the node's ordinary admission at boot.
//!
//! A radio adjunct keeps its trust store in RAM. Without this crate a power cycle forgets
//! every revocation it admitted, and until a neighbour re-syncs it (hours over HF) it would
//! admit a revoked translator's artifacts again. What is kept is deliberately the *signed
//! artifacts as admitted*, not the trust store's state: at boot each is admitted again through
//! the same path as one arriving over the air (signature, signer, revocations, versions), so
//! nothing read from flash is trusted without verification, and a journal that somebody
//! tampered with can only lose state, never add any.
//!
//! - [`Journal`]: where admitted artifacts are recorded and replayed from;
//! - [`FlashJournal`]: the journal on any `embedded-storage` NOR flash, laid out by the
//!   `sequential-storage` crate's map (power-loss safe, wear levelling, its own compaction);
//! - [`Persisted`]: a node [`Storage`] that records every artifact in a journal before
//!   keeping it, so a node reports an artifact admitted only once it is on flash, and then
//!   removes the records a recorded revocation makes useless (the deltas a checkpoint covers,
//!   what it revokes), so the journal holds what is in force rather than its history.
//!
//! The crate is `no_std` and allocation-free; the host runs its power-cut property test
//! (`tests/power_cut.rs`) against a simulated NOR flash.

#![no_std]

mod blocking;
mod flash;
mod key;
mod obsolete;

pub use blocking::Blocking;
pub use flash::{FlashJournal, RECORD_BUFFER};
pub use key::{KEY_LEN, SEQ_KEY, key_of};

use skywave_protocol::node::{Storage, StorageError};
use skywave_protocol::policy::{ArtifactRef, Digest};

/// Why a journal could not record or replay.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum JournalError {
    /// The flash driver reported an error (a failed erase or program).
    Flash,
    /// The region holds no room for this record, even after compaction: the artifacts in force
    /// outgrow it. The record is not kept.
    Full,
    /// The region's contents are damaged beyond what the layout's own repair recovers (never
    /// from a power cut: from a bad part or a foreign image in the region).
    Corrupt,
    /// The artifact is larger than a record can be (never for an admitted artifact).
    TooLarge,
    /// Recorded into while it was being read or written (a driver that records from inside
    /// a replay's callback without going through it); nothing was written.
    Busy,
}

impl core::fmt::Display for JournalError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            JournalError::Flash => "flash error",
            JournalError::Full => "trust journal full",
            JournalError::Corrupt => "trust journal corrupt",
            JournalError::TooLarge => "artifact too large for the journal",
            JournalError::Busy => "trust journal busy",
        })
    }
}

impl core::error::Error for JournalError {}

/// What replaying one record did, as the caller's admission reports it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Replayed {
    /// Admitted now.
    Admitted,
    /// Already held (admitted in an earlier pass, or while admitting another).
    Duplicate,
    /// Refused: it may admit in a later pass (its signer came later in the journal), or never
    /// (revoked since it was recorded, superseded).
    Refused,
}

/// What a replay did.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct ReplayStats {
    /// Records read from the journal (all passes).
    pub read: u32,
    /// Records admitted.
    pub admitted: u32,
    /// Records still refused after the last pass.
    pub refused: u32,
    /// Passes over the journal.
    pub passes: u32,
}

/// Where a node's admitted artifacts are kept across power loss.
///
/// `&self`, so the node's storage and the boot code can share one journal in a static: a
/// record made while replaying is already on the medium and is not written again.
pub trait Journal {
    /// Records `bytes`, admitted as `artifact`. Returns only once the record is on the medium:
    /// from then on a restart replays it whatever happens to the power.
    fn record(&self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), JournalError>;

    /// Removes every record whose key `obsolete` picks, all versions of it. Each removal is
    /// whole or not at all across a power cut; a cut between two leaves some picked records
    /// in place. Returns how many keys were removed. Does nothing while replaying.
    fn forget(&self, obsolete: &dyn Fn(&[u8; KEY_LEN]) -> bool) -> Result<u32, JournalError>;

    /// Removes the record filed under `key` if its current bytes are `obsolete`; whether it
    /// did. Does nothing while replaying.
    fn forget_if(
        &self,
        key: &[u8; KEY_LEN],
        obsolete: &dyn Fn(&[u8]) -> bool,
    ) -> Result<bool, JournalError>;

    /// Hands every recorded artifact to `admit` until no pass admits anything new (a record
    /// whose signer comes later in the journal admits in the next pass). Records made by
    /// `admit` while replaying are not written again.
    fn replay(&self, admit: &mut dyn FnMut(&[u8]) -> Replayed)
    -> Result<ReplayStats, JournalError>;

    /// The first label-binding sequence number not reserved by [`Journal::reserve_seq`]
    /// (`skywave_protocol::label::binding`; 1 if none ever was): where a restarted node's
    /// guard starts, so it never signs a number it may have used before the restart.
    fn seq_reserved(&self) -> Result<u64, JournalError>;

    /// Reserves every binding sequence number below `until`: returns only once that is on
    /// the medium. A node reserves a block ahead before it sends a message sealed with one
    /// of them, so a power cut can only skip numbers (receivers accept a jump), never reuse
    /// one (receivers refuse a replay). Not a record: [`Journal::replay`] does not offer it.
    fn reserve_seq(&self, until: u64) -> Result<(), JournalError>;
}

/// A node's [`Storage`] that records every artifact in a [`Journal`] before keeping it in
/// `S`. If the journal cannot record it, the artifact is not kept either and `insert` fails
/// (the node reports `storage-failed` for it), so storage never holds what a restart would
/// not bring back. Once a revocation is recorded, the records it makes useless are removed
/// from the journal (`obsolete.rs`), so a domain that checkpoints never fills it.
pub struct Persisted<S> {
    inner: S,
    journal: Option<&'static dyn Journal>,
}

impl<S> Persisted<S> {
    /// `inner`, recording into `journal` (`None`: nothing is recorded, as in the self-test).
    /// `const`, so a board's node stays a compile-time constructor.
    pub const fn new(inner: S, journal: Option<&'static dyn Journal>) -> Self {
        Persisted { inner, journal }
    }

    /// The storage the records are kept in.
    pub const fn inner(&self) -> &S {
        &self.inner
    }

    /// The journal, if any.
    pub fn journal(&self) -> Option<&'static dyn Journal> {
        self.journal
    }
}

impl<S: Storage> Storage for Persisted<S> {
    fn insert(&mut self, artifact: &ArtifactRef, bytes: &[u8]) -> Result<(), StorageError> {
        if let Some(journal) = self.journal {
            journal.record(artifact, bytes).map_err(|e| match e {
                JournalError::Full | JournalError::TooLarge => StorageError::Full,
                JournalError::Flash | JournalError::Corrupt | JournalError::Busy => {
                    StorageError::Failed
                }
            })?;
            // The artifact is recorded whatever happens here: what is not removed now (a
            // flash error, a power cut) is only room, and the domain's next checkpoint picks
            // up every delta it covers, these included.
            let _ = obsolete::forget(journal, bytes);
        }
        self.inner.insert(artifact, bytes)
    }

    // Removal is the node forgetting a superseded version or an old delta for forwarding. The
    // journal keeps its own: a newer version under the same key replaces the older one there,
    // and a delta goes only once a recorded checkpoint covers it (`insert`), never before: the
    // node forgets the oldest deltas beyond its history too, which a restart needs to admit
    // the later ones in sequence.
    fn remove(&mut self, digest: &Digest) -> Result<(), StorageError> {
        self.inner.remove(digest)
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn get(&self, index: usize) -> Option<(ArtifactRef, &[u8])> {
        self.inner.get(index)
    }

    fn position(&self, digest: &Digest) -> Option<usize> {
        self.inner.position(digest)
    }
}
