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

use skywave_protocol::policy::{Artifact, Kind, Revoked, Signed};

use crate::key::{is_delta_through, subject_key};
use crate::{Journal, JournalError};

/// Removes from `journal` what the artifact `bytes`, just recorded, makes useless.
pub(crate) fn forget(journal: &dyn Journal, bytes: &[u8]) -> Result<(), JournalError> {
    // Admitted artifacts decode: anything else makes nothing obsolete.
    let Ok(signed) = Signed::decode(bytes) else {
        return Ok(());
    };
    let (domain, entries) = match &signed.artifact {
        Artifact::Revocation(r) => (r.domain, &r.entries[..]),
        Artifact::Checkpoint(c) => {
            let seq = c.seq;
            journal.forget(&|key| is_delta_through(key, c.domain, seq))?;
            (c.domain, &c.entries[..])
        }
        _ => return Ok(()),
    };
    for entry in entries {
        let (kind, id) = match *entry {
            Revoked::Policy { id, .. } => (Kind::Policy, id),
            Revoked::Translator { id, .. } => (Kind::Translator, id),
            // What a key signed is refused on replay; which records those are is not in
            // their keys.
            Revoked::Key(_) => continue,
        };
        // The record goes if the entry revokes its version, by the model's own rule.
        journal.forget_if(&subject_key(kind, domain, id), &|value| {
            Signed::decode(value).is_ok_and(|s| match s.artifact {
                Artifact::Policy(p) => entry.covers(&Revoked::Policy {
                    id: p.id,
                    version: p.version,
                }),
                Artifact::Translator(t) => entry.covers(&Revoked::Translator {
                    id: t.id,
                    version: t.version,
                }),
                _ => false,
            })
        })?;
    }
    Ok(())
}
