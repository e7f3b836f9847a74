//! What admission answers: [`Admitted`], or a [`Refusal`] saying which rule the artifact broke
//! (and, for a full table, which [`Table`]).

use super::{ArtifactRef, DecodeError, Digest, Domain, KeyId, Kind, Revoked, Scope, UnixTime};
use core::fmt;

/// The fixed-capacity tables of a [`TrustStore`], as named by [`Refusal::CapacityFull`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Table {
    /// [`super::MAX_DOMAINS`] domains (roots and revocation sequences).
    Domains,
    /// Credentials (`CREDS` of the [`TrustStore`]; [`super::MAX_CREDENTIALS`] on a host).
    Credentials,
    /// Policies (`POLICIES`; [`super::MAX_POLICIES`] on a host).
    Policies,
    /// Translators (`TRANSLATORS`; [`super::MAX_TRANSLATORS`] on a host).
    Translators,
    /// Revocation entries (`REVOKED`; [`super::MAX_REVOKED`] on a host).
    Revoked,
}

/// Why an artifact was not admitted. Nothing admitted before changes when one is refused.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Refusal {
    /// The bytes are not an artifact: truncated, too long, an unknown kind, a body that does not
    /// decode, bytes after the body, or (found at admission) a credential's key that is not a
    /// P-256 point.
    Malformed(DecodeError),
    /// The format version byte is one this node does not read.
    UnknownFormatVersion(u8),
    /// The signature does not verify under the signer's credentialed key (or is high-S, the
    /// malleated form of a valid one).
    BadSignature,
    /// No credential in the store names this key.
    UnknownSigner(KeyId),
    /// The signer has no credential chain from this domain's root: it is credentialed only in
    /// other domains, or an issuer on its chain is missing. Also: a self-signed credential, or a
    /// credential for a root's key, arrived as an ordinary artifact (roots enter and change only
    /// through [`TrustStore::add_root`]).
    ChainBroken {
        /// The key whose chain breaks.
        key: KeyId,
        /// The domain it should reach the root of.
        domain: Domain,
    },
    /// The signer's credential does not allow this kind of artifact (or a credential's issuer
    /// tried to grant a scope it does not hold itself).
    ScopeNotAllowed {
        /// The signer.
        key: KeyId,
        /// The scope the artifact needed.
        needed: Scope,
    },
    /// A credential's delegation depth is not below its issuer's, or the issuer's is 0.
    DelegationTooDeep {
        /// The issuer.
        key: KeyId,
    },
    /// A credential on the signer's chain is not valid yet (checked only when time is known).
    NotYetValid {
        /// The credentialed key.
        key: KeyId,
        /// When it becomes valid.
        not_before: UnixTime,
    },
    /// A credential on the signer's chain, or the credential offered, has expired (checked only
    /// when time is known).
    Expired {
        /// The credentialed key.
        key: KeyId,
        /// When it expired.
        not_after: UnixTime,
    },
    /// A key on the signer's chain has been revoked by its domain.
    RevokedSigner {
        /// The revoked key.
        key: KeyId,
        /// The domain that revoked it.
        domain: Domain,
    },
    /// The artifact itself (this key's credential, this policy version, this translator
    /// version) has been revoked.
    RevokedArtifact {
        /// Its kind.
        kind: Kind,
        /// The domain it is filed under.
        domain: Domain,
        /// Its id (0 for a credential).
        id: u32,
        /// Its version.
        version: u64,
    },
    /// The store holds a newer version (a credential's version is the end of its validity; a
    /// revocation delta's is its sequence number).
    Rollback {
        /// The version held.
        held: u64,
        /// The version offered.
        offered: u64,
    },
    /// The same authority signed two different artifacts with the same id and version. The held
    /// one stays; the offered one is kept as evidence if its domain has an evidence slot free.
    Equivocation {
        /// The digest of the held artifact.
        held: Digest,
        /// The digest of the offered one.
        offered: Digest,
        /// Whether the offered bytes were kept ([`TrustStore::evidence`]).
        evidence_kept: bool,
    },
    /// A policy delta's base is not the version (and digest) the store holds.
    DeltaBaseMismatch {
        /// The version held, if any.
        held: Option<u32>,
    },
    /// Applying a policy delta did not produce the artifact it promised (digest, kind, id or
    /// version), or the edits reach outside the base.
    DeltaResultMismatch,
    /// A revocation delta skips sequence numbers: ask a neighbour for the missing ones.
    RevocationGap {
        /// The revoking domain.
        domain: Domain,
        /// The first missing sequence number.
        first_missing: u32,
        /// The last missing sequence number.
        last_missing: u32,
    },
    /// A translator's signer is not credentialed in one of the translator's two domains.
    TranslatorNotInBothDomains {
        /// The signer.
        key: KeyId,
        /// The domain it lacks a credential in.
        missing: Domain,
    },
    /// A table is full.
    CapacityFull(Table),
    /// The artifact is longer than a slot of its table holds: a board sizes its policy and
    /// translator slots (the store's `HELD`) below the largest artifact to save RAM, and
    /// refuses what does not fit instead of truncating it. A host's slots hold any artifact.
    SlotTooSmall {
        /// The table (policies or translators).
        table: Table,
        /// The artifact's length in bytes.
        len: usize,
        /// The most bytes a slot holds.
        slot: usize,
    },
    /// The artifact's domain has used all of its room in this table (its quota, set at
    /// provisioning): one partner can exhaust only its own room, never another's.
    RoomFull {
        /// The domain whose room is full (the artifact's own).
        domain: Domain,
        /// The table.
        table: Table,
    },
    /// A newer version of a held credential, policy or translator is signed by a key that is
    /// neither the held version's signer nor one of its ancestors in the domain: a sibling
    /// cannot take over what another issued, and the root's word wins over any delegate's.
    SupersessionDenied {
        /// The offered version's signer.
        signer: KeyId,
        /// The held version's signer.
        held_signer: KeyId,
    },
    /// A credential names a key that is its issuer's own ancestor: credentials may not loop.
    CredentialLoop {
        /// The subject key.
        key: KeyId,
    },
    /// A revocation names a key that is not strictly below its signer in the domain's chain (a
    /// root, the signer itself, a sibling or an ancestor). Roots change only by provisioning.
    RevocationOutOfScope {
        /// The revocation's signer.
        signer: KeyId,
        /// The key it may not revoke.
        key: KeyId,
    },
    /// A revocation checkpoint is signed by a key that is not a root of its domain.
    CheckpointNotByRoot {
        /// The signer.
        key: KeyId,
    },
    /// A revocation checkpoint leaves out an entry the store holds for its domain: a
    /// checkpoint never lifts a revocation (only provisioning does).
    CheckpointIncomplete {
        /// The domain.
        domain: Domain,
        /// The first entry held that it does not cover.
        missing: Revoked,
    },
}

impl From<DecodeError> for Refusal {
    fn from(e: DecodeError) -> Self {
        match e {
            DecodeError::UnknownFormatVersion(v) => Refusal::UnknownFormatVersion(v),
            other => Refusal::Malformed(other),
        }
    }
}

impl Refusal {
    /// The refusal's kind as a stable keyword (its variant's name), for counting refusals by
    /// kind in status reports and logs that scripts read.
    pub const fn kind(&self) -> &'static str {
        match self {
            Refusal::Malformed { .. } => "Malformed",
            Refusal::UnknownFormatVersion { .. } => "UnknownFormatVersion",
            Refusal::BadSignature => "BadSignature",
            Refusal::UnknownSigner { .. } => "UnknownSigner",
            Refusal::ChainBroken { .. } => "ChainBroken",
            Refusal::ScopeNotAllowed { .. } => "ScopeNotAllowed",
            Refusal::DelegationTooDeep { .. } => "DelegationTooDeep",
            Refusal::NotYetValid { .. } => "NotYetValid",
            Refusal::Expired { .. } => "Expired",
            Refusal::RevokedSigner { .. } => "RevokedSigner",
            Refusal::RevokedArtifact { .. } => "RevokedArtifact",
            Refusal::Rollback { .. } => "Rollback",
            Refusal::Equivocation { .. } => "Equivocation",
            Refusal::DeltaBaseMismatch { .. } => "DeltaBaseMismatch",
            Refusal::DeltaResultMismatch => "DeltaResultMismatch",
            Refusal::RevocationGap { .. } => "RevocationGap",
            Refusal::TranslatorNotInBothDomains { .. } => "TranslatorNotInBothDomains",
            Refusal::CapacityFull { .. } => "CapacityFull",
            Refusal::SlotTooSmall { .. } => "SlotTooSmall",
            Refusal::RoomFull { .. } => "RoomFull",
            Refusal::SupersessionDenied { .. } => "SupersessionDenied",
            Refusal::CredentialLoop { .. } => "CredentialLoop",
            Refusal::RevocationOutOfScope { .. } => "RevocationOutOfScope",
            Refusal::CheckpointNotByRoot { .. } => "CheckpointNotByRoot",
            Refusal::CheckpointIncomplete { .. } => "CheckpointIncomplete",
        }
    }
}

/// With the `small-flash` feature (a board's), a refusal reads as its [`kind`](Refusal::kind)
/// and nothing more: the sentences below, with the keys, domains, tables and revocation entries
/// they format, are 3.4 KB of a board's flash (docs/firmware-flash.md).
#[cfg(feature = "small-flash")]
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(not(feature = "small-flash"))]
impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Malformed(e) => write!(f, "malformed: {e}"),
            Refusal::UnknownFormatVersion(v) => write!(f, "unknown format version {v}"),
            Refusal::BadSignature => f.write_str("bad signature"),
            Refusal::UnknownSigner(k) => write!(f, "unknown signer {k}"),
            Refusal::ChainBroken { key, domain } => {
                write!(
                    f,
                    "credential chain of {key} does not reach the {domain} root"
                )
            }
            Refusal::ScopeNotAllowed { key, needed } => {
                write!(f, "scope of {key} does not allow {needed:?}")
            }
            Refusal::DelegationTooDeep { key } => {
                write!(f, "delegation depth of issuer {key} exhausted")
            }
            Refusal::NotYetValid { key, not_before } => {
                write!(f, "credential of {key} not valid before {}", not_before.0)
            }
            Refusal::Expired { key, not_after } => {
                write!(f, "credential of {key} expired at {}", not_after.0)
            }
            Refusal::RevokedSigner { key, domain } => {
                write!(f, "signer {key} revoked by {domain}")
            }
            Refusal::RevokedArtifact {
                kind,
                domain,
                id,
                version,
            } => write!(f, "{} {domain}/{id} v{version} revoked", kind.name()),
            Refusal::Rollback { held, offered } => {
                write!(f, "rollback: holds version {held}, offered {offered}")
            }
            Refusal::Equivocation {
                held,
                offered,
                evidence_kept,
            } => write!(
                f,
                "equivocation: holds {held}, offered {offered} (evidence {})",
                if *evidence_kept { "kept" } else { "not kept" }
            ),
            Refusal::DeltaBaseMismatch { held: Some(v) } => {
                write!(f, "delta base mismatch: holds version {v}")
            }
            Refusal::DeltaBaseMismatch { held: None } => {
                f.write_str("delta base mismatch: holds no version")
            }
            Refusal::DeltaResultMismatch => f.write_str("delta result mismatch"),
            Refusal::RevocationGap {
                domain,
                first_missing,
                last_missing,
            } => write!(
                f,
                "revocation gap: {domain} sequence {first_missing}..={last_missing} missing"
            ),
            Refusal::TranslatorNotInBothDomains { key, missing } => {
                write!(f, "translator signer {key} not credentialed in {missing}")
            }
            Refusal::CapacityFull(table) => write!(f, "capacity full: {table:?}"),
            Refusal::SlotTooSmall { table, len, slot } => {
                write!(f, "{len} bytes do not fit a {table:?} slot of {slot}")
            }
            Refusal::RoomFull { domain, table } => write!(f, "{domain} room full: {table:?}"),
            Refusal::SupersessionDenied {
                signer,
                held_signer,
            } => write!(
                f,
                "{signer} may not supersede what {held_signer} signed (not it or its ancestor)"
            ),
            Refusal::CredentialLoop { key } => {
                write!(f, "credential loop: {key} is its issuer's ancestor")
            }
            Refusal::RevocationOutOfScope { signer, key } => {
                write!(f, "{signer} may not revoke {key} (not strictly below it)")
            }
            Refusal::CheckpointNotByRoot { key } => {
                write!(f, "checkpoint signer {key} is not a root of its domain")
            }
            Refusal::CheckpointIncomplete { domain, missing } => {
                write!(f, "{domain} checkpoint leaves out {missing:?}")
            }
        }
    }
}

impl core::error::Error for Refusal {}

/// What an admission did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Admitted {
    /// The artifact now held (for a policy delta, the policy it produced).
    pub artifact: ArtifactRef,
    /// The store already held exactly these bytes; nothing changed.
    pub duplicate: bool,
}
