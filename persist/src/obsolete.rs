//! What a newly recorded revocation makes useless in the journal, and its removal.
//!
//! The map replaces a record only under the same key, so without this a domain's deltas would
//! stay forever (each has its own key, and a restart needs them in sequence) and the journal
//! of a domain that revokes for long enough would fill. Two things become useless once a
//! revocation is recorded:
//!
//! - a checkpoint at `seq` says everything the domain's deltas up to `seq` said (the trust
//!   store refuses a checkpoint that leaves out an entry it holds), so those deltas go;
//! - a policy or translator of the domain that a delta or checkpoint revokes would be refused
//!   on replay anyway, so its record goes. (A translator filed under its other domain, which
//!   this domain may also revoke, stays and is refused on replay: finding it would take a
//!   scan of every record's bytes.)
//!
//! Removal comes after the revocation's own record is on flash, so a power cut anywhere in
//! between leaves the revocation in force after the restart, with some useless records still
//! in place at worst: the next checkpoint removes every delta it covers, left-overs included.

use heapless::Vec;
use skywave_protocol::policy::{Artifact, Domain, Kind, MAX_CHECKPOINT_ENTRIES, Revoked, Signed};

use crate::key::{is_delta_through, subject_key};
use crate::{Journal, JournalError};

/// What a recorded revocation or checkpoint says, copied out of the decoded artifact so that
/// the decoding's stack (about 10 KB with its copies) is gone before the journal is scanned,
/// where each record is decoded again.
struct Revoking {
    domain: Domain,
    /// A checkpoint's sequence number: the domain's deltas up to it go.
    checkpoint: Option<u32>,
    entries: Vec<Revoked, MAX_CHECKPOINT_ENTRIES>,
}

/// `bytes` as a revocation or checkpoint; `None` for anything else (it makes nothing obsolete)
/// and for what does not decode (admitted artifacts do).
#[inline(never)]
fn revoking(bytes: &[u8]) -> Option<Revoking> {
    let Ok(signed) = &Signed::decode(bytes) else {
        return None;
    };
    let (domain, checkpoint, entries) = match &signed.artifact {
        Artifact::Revocation(r) => (r.domain, None, &r.entries[..]),
        Artifact::Checkpoint(c) => (c.domain, Some(c.seq), &c.entries[..]),
        _ => return None,
    };
    Some(Revoking {
        domain,
        checkpoint,
        // A delta's entries are fewer than a checkpoint's, so this always fits.
        entries: Vec::from_slice(entries).ok()?,
    })
}

/// Removes from `journal` what the artifact `bytes`, just recorded, makes useless.
// Out of line, so its locals are not in the frame of the storage that records.
#[inline(never)]
pub(crate) fn forget(journal: &dyn Journal, bytes: &[u8]) -> Result<(), JournalError> {
    let Some(Revoking {
        domain,
        checkpoint,
        entries,
    }) = revoking(bytes)
    else {
        return Ok(());
    };
    if let Some(seq) = checkpoint {
        journal.forget(&|key| is_delta_through(key, domain, seq))?;
    }
    for entry in &entries {
        let (kind, id) = match *entry {
            Revoked::Policy { id, .. } => (Kind::Policy, id),
            Revoked::Translator { id, .. } => (Kind::Translator, id),
            // What a key signed is refused on replay; which records those are is not in
            // their keys.
            Revoked::Key(_) => continue,
        };
        // The record goes if the entry revokes its version, by the model's own rule.
        journal.forget_if(
            &subject_key(kind, domain, id),
            &|value| match &Signed::decode(value) {
                Ok(s) => match &s.artifact {
                    Artifact::Policy(p) => entry.covers(&Revoked::Policy {
                        id: p.id,
                        version: p.version,
                    }),
                    Artifact::Translator(t) => entry.covers(&Revoked::Translator {
                        id: t.id,
                        version: t.version,
                    }),
                    _ => false,
                },
                Err(_) => false,
            },
        )?;
    }
    Ok(())
}
