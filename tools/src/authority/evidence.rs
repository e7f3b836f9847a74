//! `skywave-authority verify-evidence`: what an evidence file (exported by
//! `skywave evidence export`) proves, checked offline against the coalition's roots alone.
//!
//! The file's credentials are admitted into a store holding only the roots, without time (the
//! evidence is read long after it was made, and a key revoked since still made its earlier
//! signatures); then the protocol's own check ([`TrustStore::prove`]) decides what the two
//! artifacts show. A file proves what it claims only if that check agrees with its claim.

use skywave_protocol::policy::{Conflict, EvidenceFile, Kind, Proof, TrustStore};

/// Checks one evidence file against `roots` (a store holding the roots and nothing else).
/// `Ok` is the sentence saying what it proves; `Err` says why it proves nothing.
pub fn check(roots: &TrustStore, bytes: &[u8]) -> Result<String, String> {
    let file = EvidenceFile::read(bytes).map_err(|e| format!("not proven: {e}"))?;
    let mut trust = roots.clone();
    for credential in file.credentials() {
        // A credential that does not chain shows up below as the signer it fails to vouch for.
        let _ = trust.admit(credential, None);
    }
    let proof = trust
        .prove(file.held, file.offered)
        .map_err(|why| format!("not proven: {why}"))?;
    if proof.conflict != file.conflict {
        return Err(format!(
            "not proven: the file claims {} but the artifacts show {}",
            file.conflict.name(),
            proof.conflict.name()
        ));
    }
    Ok(statement(&proof))
}

/// What a proof says, in one sentence.
fn statement(p: &Proof) -> String {
    let keys = if p.held_signer == p.offered_signer {
        format!("key {}", p.held_signer)
    } else {
        format!("keys {} and {}", p.held_signer, p.offered_signer)
    };
    let plural = match p.kind {
        Kind::Policy | Kind::PolicyDelta => "policies",
        Kind::Credential => "credentials",
        Kind::Translator => "translators",
        Kind::Revocation => "revocations",
        Kind::Checkpoint => "checkpoints",
    };
    match p.conflict {
        Conflict::Equivocation => format!(
            "{} {keys} signed two different {plural} {} v{}: equivocation proven",
            p.domain, p.id, p.held_version
        ),
        Conflict::Rollback => format!(
            "{} {} {} v{} was offered after v{} was held, both signed by {keys}: rollback \
             proven (a stale or replaying relay; the signer did nothing wrong)",
            p.domain,
            p.kind.name(),
            p.id,
            p.offered_version,
            p.held_version
        ),
    }
}
