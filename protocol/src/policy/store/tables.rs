//! Placing entries in the store's fixed tables: a newer version replaces the one it supersedes,
//! a duplicate changes nothing; and the validity and size checks every entry passes first.

use super::{
    Cred, DecodeError, Digest, Domain, Held, KeyId, Refusal, Table, UnixTime, Validity, Vec,
};

/// The bookkeeping [`place`] needs from a table entry.
pub(super) trait Versioned {
    fn same_artifact(&self, other: &Self) -> bool;
    fn version(&self) -> u64;
    fn digest(&self) -> Digest;
}

impl Versioned for Cred {
    fn same_artifact(&self, other: &Self) -> bool {
        self.key == other.key && self.domain == other.domain
    }
    fn version(&self) -> u64 {
        self.version.into()
    }
    fn digest(&self) -> Digest {
        self.digest
    }
}

impl<const N: usize> Versioned for Held<N> {
    fn same_artifact(&self, other: &Self) -> bool {
        self.domain == other.domain && self.peer == other.peer && self.id == other.id
    }
    fn version(&self) -> u64 {
        self.version.into()
    }
    fn digest(&self) -> Digest {
        self.digest
    }
}

/// Puts `offered` into `table`: replacing an older version of the same artifact, or appending.
/// Returns whether it was a duplicate (already held, byte for byte).
pub(super) fn place<T: Versioned, const N: usize>(
    table: &mut Vec<T, N>,
    which: Table,
    offered: T,
    room_full: Option<Domain>,
) -> Result<bool, Refusal> {
    match table.iter().position(|t| t.same_artifact(&offered)) {
        Some(i) => {
            let slot = table.get_mut(i).ok_or(Refusal::CapacityFull(which))?;
            let (held, version) = (slot.version(), offered.version());
            if version < held {
                Err(Refusal::Rollback {
                    held,
                    offered: version,
                })
            } else if version > held {
                *slot = offered;
                Ok(false)
            } else if slot.digest() == offered.digest() {
                Ok(true)
            } else {
                Err(Refusal::Equivocation {
                    held: slot.digest(),
                    offered: offered.digest(),
                    evidence_kept: false,
                })
            }
        }
        None => match room_full {
            Some(domain) => Err(Refusal::RoomFull {
                domain,
                table: which,
            }),
            None => table
                .push(offered)
                .map(|()| false)
                .map_err(|_| Refusal::CapacityFull(which)),
        },
    }
}

pub(super) fn check_time(
    key: KeyId,
    validity: &Validity,
    now: Option<UnixTime>,
) -> Result<(), Refusal> {
    match now {
        Some(now) if now < validity.not_before => Err(Refusal::NotYetValid {
            key,
            not_before: validity.not_before,
        }),
        Some(now) if now > validity.not_after => Err(Refusal::Expired {
            key,
            not_after: validity.not_after,
        }),
        _ => Ok(()),
    }
}

pub(super) fn held_bytes<const N: usize>(bytes: &[u8]) -> Result<Vec<u8, N>, Refusal> {
    Vec::from_slice(bytes).map_err(|_| Refusal::Malformed(DecodeError::TooLong))
}

/// A policy's or translator's bytes for a slot of `table` holding up to `N`
/// ([`Refusal::SlotTooSmall`] if they do not fit).
pub(super) fn slot_bytes<const N: usize>(
    table: Table,
    bytes: &[u8],
) -> Result<Vec<u8, N>, Refusal> {
    Vec::from_slice(bytes).map_err(|_| Refusal::SlotTooSmall {
        table,
        len: bytes.len(),
        slot: N,
    })
}
