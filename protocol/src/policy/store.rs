//! The trust store: roots, admitted artifacts and revocation state, in fixed memory, and the
//! admission rules that guard it.
//!
//! A node seeds the store with its roots ([`TrustStore::add_root`]), then offers it every
//! artifact that arrives ([`TrustStore::admit`]). Admission checks, in this order:
//!
//! 1. the bytes decode (format version, kind, body) — [`Refusal::Malformed`],
//!    [`Refusal::UnknownFormatVersion`];
//! 2. the signer is a key the store holds a credential for, in the artifact's domain (for a
//!    translator, in both of its domains), and the signature verifies under it —
//!    [`Refusal::UnknownSigner`], [`Refusal::TranslatorNotInBothDomains`],
//!    [`Refusal::BadSignature`];
//! 3. the signer's credential chain reaches a root of that domain, no key on it is revoked, each
//!    link is valid at the time given, and the signer's scope covers the artifact's kind —
//!    [`Refusal::ChainBroken`], [`Refusal::RevokedSigner`], [`Refusal::NotYetValid`],
//!    [`Refusal::Expired`], [`Refusal::ScopeNotAllowed`], [`Refusal::DelegationTooDeep`];
//! 4. the artifact itself is not revoked, is newer than what the store holds, and is not a
//!    second, different artifact under the same id and version — [`Refusal::RevokedArtifact`],
//!    [`Refusal::Rollback`], [`Refusal::Equivocation`];
//! 5. kind-specific checks (delta base and result, revocation sequence) and room to keep it —
//!    [`Refusal::DeltaBaseMismatch`], [`Refusal::DeltaResultMismatch`],
//!    [`Refusal::RevocationGap`], [`Refusal::CapacityFull`].
//!
//! Every check runs before anything is written, so a refusal changes nothing that was admitted.
//! The one thing a refusal may record is evidence of an equivocation or a rollback (the offered
//! bytes, next to the held ones' digest, in a slot of the artifact's domain), which is what makes
//! them provable later ([`super::evidence`]).
//!
//! **Without time** (`now` is `None`) validity windows are not checked at all: a credential is
//! neither "not yet valid" nor "expired", and trust rests on signatures, chains and revocation
//! alone. Revocation is therefore the only way to withdraw a key from a node without a clock,
//! and decisions record that they were made without time.

use core::fmt;

use heapless::Vec;
use p256::ecdsa::VerifyingKey;

use super::decide::{Decision, Label};
use super::encoding::{self, Artifact, DecodeError, Kind, SIGNATURE_LEN, Signed};
use super::evidence::{self, Conflict, Evidence};
use super::model::{
    ArtifactRef, Checkpoint, Credential, DeltaOp, Digest, Domain, KeyId, Policy, PolicyDelta,
    Revocation, Revoked, Scope, Translator, UnixTime, Validity,
};
use super::{
    MAX_ARTIFACT_LEN, MAX_CHAIN, MAX_CHECKPOINT_ENTRIES, MAX_CREDENTIAL_LEN, MAX_CREDENTIALS,
    MAX_DOMAINS, MAX_EVIDENCE, MAX_POLICIES, MAX_REVOCATION_ENTRIES, MAX_REVOKED, MAX_TRANSLATORS,
};

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
            Refusal::RoomFull { .. } => "RoomFull",
            Refusal::SupersessionDenied { .. } => "SupersessionDenied",
            Refusal::CredentialLoop { .. } => "CredentialLoop",
            Refusal::RevocationOutOfScope { .. } => "RevocationOutOfScope",
            Refusal::CheckpointNotByRoot { .. } => "CheckpointNotByRoot",
            Refusal::CheckpointIncomplete { .. } => "CheckpointIncomplete",
        }
    }
}

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

/// An admitted credential, with its key decoded once so verifications do not repeat the point
/// decompression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Cred {
    pub(super) key_id: KeyId,
    pub(super) key: VerifyingKey,
    pub(super) domain: Domain,
    pub(super) issuer: KeyId,
    pub(super) root: bool,
    pub(super) scope: Scope,
    pub(super) validity: Validity,
    pub(super) depth: u8,
    pub(super) version: u32,
    pub(super) digest: Digest,
    pub(super) bytes: Vec<u8, MAX_CREDENTIAL_LEN>,
}

/// An admitted policy or translator: its identity and its bytes, decoded again when used.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Held {
    /// The policy's domain; a translator's source domain.
    pub(super) domain: Domain,
    /// The policy's domain again; a translator's target domain.
    pub(super) peer: Domain,
    /// The policy's spiral; a translator's source spiral (what decisions look it up by).
    pub(super) spiral: u8,
    pub(super) id: u32,
    pub(super) version: u32,
    /// Who signed it: a newer version must come from this key or one of its ancestors.
    pub(super) signer: KeyId,
    pub(super) digest: Digest,
    pub(super) bytes: Vec<u8, MAX_ARTIFACT_LEN>,
}

/// A domain's revocation state and room.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct DomainState {
    pub(super) domain: Domain,
    /// The last sequence number admitted (0: none yet).
    pub(super) seq: u32,
    /// The digest of that delta, to tell a duplicate from an equivocation.
    pub(super) digest: Digest,
    /// The latest checkpoint admitted (its sequence number and digest): deltas up to it are
    /// covered by it.
    pub(super) checkpoint: Option<(u32, Digest)>,
    /// The room set for the domain at provisioning ([`TrustStore::set_room`]); `None` shares
    /// what explicit rooms leave equally among such domains.
    pub(super) room: Option<Room>,
}

/// How many entries of each table one domain may fill: its room, set at provisioning. The
/// rooms of all domains never add up to more than a table holds, so a partner that fills its
/// own room has taken nothing from anyone else's.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Room {
    /// Credentials (the domain's root included).
    pub credentials: usize,
    /// Policies.
    pub policies: usize,
    /// Translators from the domain (a translator is charged to its source domain, whose
    /// credential its signer needs first).
    pub translators: usize,
    /// Revocation entries in force.
    pub revoked: usize,
}

impl Room {
    /// The room in `table`.
    pub fn of(&self, table: Table) -> usize {
        match table {
            Table::Credentials => self.credentials,
            Table::Policies => self.policies,
            Table::Translators => self.translators,
            Table::Revoked => self.revoked,
            Table::Domains => 0,
        }
    }
}

/// Why [`TrustStore::set_room`] refused a room.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RoomError {
    /// The domain has no root in this store: provision its root first.
    UnknownDomain(Domain),
    /// The rooms set would add up to more than this table holds.
    Exceeds(Table),
}

impl fmt::Display for RoomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoomError::UnknownDomain(d) => write!(f, "no root for {d}: provision it first"),
            RoomError::Exceeds(t) => write!(f, "the rooms set exceed the {t:?} table"),
        }
    }
}

impl core::error::Error for RoomError {}

/// A revocation entry in force, with the key that revoked it: a key revocation counts only
/// against credentials that key stands above (see [`TrustStore::admit`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct InForce {
    pub(super) domain: Domain,
    pub(super) entry: Revoked,
    pub(super) revoker: KeyId,
}

/// The bookkeeping [`place`] needs from a table entry.
trait Versioned {
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

impl Versioned for Held {
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
fn place<T: Versioned, const N: usize>(
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

fn check_time(key: KeyId, validity: &Validity, now: Option<UnixTime>) -> Result<(), Refusal> {
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

fn held_bytes<const N: usize>(bytes: &[u8]) -> Result<Vec<u8, N>, Refusal> {
    Vec::from_slice(bytes).map_err(|_| Refusal::Malformed(DecodeError::TooLong))
}

/// A node's trust anchors and admitted artifacts, in fixed memory (see docs/policy.md for its
/// size).
///
/// The capacities are const generics so a small board can hold a smaller store; the defaults
/// are the host's ([`super::MAX_CREDENTIALS`] and its neighbours), and plain `TrustStore` names
/// that size. Each table refuses with [`Refusal::CapacityFull`] when full:
///
/// - `CREDS`: credentials, roots included;
/// - `POLICIES`: policies (the latest version of each domain and id);
/// - `TRANSLATORS`: translators (the latest version of each);
/// - `REVOKED`: revocation entries, over all domains;
/// - `EVIDENCE`: conflicts kept as evidence, per domain ([`super::evidence`]): one domain's
///   conflicts cannot take another's slots.
///
/// Every slot of the policy, translator and evidence tables holds up to [`MAX_ARTIFACT_LEN`]
/// bytes, so an artifact that crosses the air in one frame always fits. Build the host size
/// with [`TrustStore::new`], any size with [`TrustStore::empty`]; both are `const` so firmware
/// can keep a store in a static.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrustStore<
    const CREDS: usize = MAX_CREDENTIALS,
    const POLICIES: usize = MAX_POLICIES,
    const TRANSLATORS: usize = MAX_TRANSLATORS,
    const REVOKED: usize = MAX_REVOKED,
    const EVIDENCE: usize = MAX_EVIDENCE,
> {
    pub(super) credentials: Vec<Cred, CREDS>,
    pub(super) policies: Vec<Held, POLICIES>,
    pub(super) translators: Vec<Held, TRANSLATORS>,
    pub(super) domains: Vec<DomainState, MAX_DOMAINS>,
    pub(super) revoked: Vec<InForce, REVOKED>,
    /// Per domain, the conflicts not yet taken by the driver.
    evidence: Vec<(Domain, Vec<Evidence, EVIDENCE>), MAX_DOMAINS>,
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
> Default for TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE>
{
    fn default() -> Self {
        Self::empty()
    }
}

impl TrustStore {
    /// An empty store of the host's size: no roots, nothing admitted. (Defined for the default
    /// capacities only, so `TrustStore::new()` needs no type annotation.)
    pub const fn new() -> Self {
        Self::empty()
    }
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
> TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE>
{
    /// An empty store of these capacities: no roots, nothing admitted.
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub const fn empty() -> Self {
        TrustStore {
            credentials: Vec::new(),
            policies: Vec::new(),
            translators: Vec::new(),
            domains: Vec::new(),
            revoked: Vec::new(),
            evidence: Vec::new(),
        }
    }

    /// Installs a trust anchor: a root's self-signed credential, which the operator vouches for
    /// by putting it here (it can never arrive over the air). Its self-signature must verify and,
    /// when time is known, it must not have expired.
    pub fn add_root(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal> {
        let signed = Signed::decode(bytes)?;
        let Artifact::Credential(cred) = &signed.artifact else {
            return Err(Refusal::Malformed(DecodeError::UnknownKind(
                signed.artifact.kind() as u8,
            )));
        };
        if cred.signer != cred.subject.key_id() {
            return Err(Refusal::ChainBroken {
                key: cred.subject.key_id(),
                domain: cred.domain,
            });
        }
        let entry = Self::cred_entry(&signed, cred, true)?;
        if !signed.verify(&entry.key) {
            return Err(Refusal::BadSignature);
        }
        check_time(entry.key_id, &cred.validity, now)?;
        let new_domain = !self.domains.iter().any(|d| d.domain == cred.domain);
        if new_domain && self.domains.is_full() {
            return Err(Refusal::CapacityFull(Table::Domains));
        }
        // A root is the operator's: it is charged to its domain's room but never refused for it.
        let duplicate = place(&mut self.credentials, Table::Credentials, entry, None)?;
        if new_domain {
            self.domains
                .push(DomainState {
                    domain: cred.domain,
                    seq: 0,
                    digest: Digest::default(),
                    checkpoint: None,
                    room: None,
                })
                .map_err(|_| Refusal::CapacityFull(Table::Domains))?;
        }
        Ok(Admitted {
            artifact: credential_ref(&signed, cred),
            duplicate,
        })
    }

    /// Sets how much of each table `domain` may fill (its room), at provisioning, after its
    /// root is installed. Domains without a room set share what the set rooms leave, equally;
    /// the set rooms may not add up to more than a table holds. A room smaller than what the
    /// domain already holds keeps what it holds and admits nothing more of that kind.
    pub fn set_room(&mut self, domain: Domain, room: Room) -> Result<(), RoomError> {
        let index = self
            .domains
            .iter()
            .position(|d| d.domain == domain)
            .ok_or(RoomError::UnknownDomain(domain))?;
        for table in [
            Table::Credentials,
            Table::Policies,
            Table::Translators,
            Table::Revoked,
        ] {
            let others: usize = self
                .domains
                .iter()
                .filter(|d| d.domain != domain)
                .filter_map(|d| d.room.map(|r| r.of(table)))
                .sum();
            if others.saturating_add(room.of(table)) > self.capacity(table) {
                return Err(RoomError::Exceeds(table));
            }
        }
        if let Some(state) = self.domains.get_mut(index) {
            state.room = Some(room);
        }
        Ok(())
    }

    /// The room `domain` has: the one set at provisioning, or an equal share of what the set
    /// rooms leave.
    pub fn room(&self, domain: Domain) -> Room {
        if let Some(room) = self
            .domains
            .iter()
            .find(|d| d.domain == domain)
            .and_then(|d| d.room)
        {
            return room;
        }
        let sharing = self.domains.iter().filter(|d| d.room.is_none()).count();
        let share = |table: Table| {
            let set: usize = self
                .domains
                .iter()
                .filter_map(|d| d.room.map(|r| r.of(table)))
                .sum();
            self.capacity(table).saturating_sub(set) / sharing.max(1)
        };
        Room {
            credentials: share(Table::Credentials),
            policies: share(Table::Policies),
            translators: share(Table::Translators),
            revoked: share(Table::Revoked),
        }
    }

    /// How many entries of `table` are charged to `domain`.
    pub fn used(&self, domain: Domain, table: Table) -> usize {
        match table {
            Table::Credentials => self
                .credentials
                .iter()
                .filter(|c| c.domain == domain)
                .count(),
            Table::Policies => self.policies.iter().filter(|h| h.domain == domain).count(),
            Table::Translators => self
                .translators
                .iter()
                .filter(|h| h.domain == domain)
                .count(),
            Table::Revoked => self.revoked.iter().filter(|r| r.domain == domain).count(),
            Table::Domains => 0,
        }
    }

    /// How many entries `table` holds in all.
    pub const fn capacity(&self, table: Table) -> usize {
        match table {
            Table::Credentials => CREDS,
            Table::Policies => POLICIES,
            Table::Translators => TRANSLATORS,
            Table::Revoked => REVOKED,
            Table::Domains => MAX_DOMAINS,
        }
    }

    /// `Some(domain)` when `domain` has no room left for one more entry of `table`.
    fn room_full(&self, domain: Domain, table: Table) -> Option<Domain> {
        (self.used(domain, table) >= self.room(domain).of(table)).then_some(domain)
    }

    /// The keys above `key` in `domain`, nearest first: its issuer, that issuer's issuer, and
    /// so on up to the root (at most [`MAX_CHAIN`]).
    fn ancestors(&self, key: KeyId, domain: Domain) -> Vec<KeyId, MAX_CHAIN> {
        let mut above = Vec::new();
        let mut at = key;
        while let Some(cred) = self.creds_of(at, domain).next() {
            if cred.root || above.push(cred.issuer).is_err() {
                break;
            }
            at = cred.issuer;
        }
        above
    }

    /// Whether `signer` may replace what `held_signer` signed in `domain`: it is that key or
    /// one of its ancestors.
    fn may_supersede(
        &self,
        domain: Domain,
        held_signer: KeyId,
        signer: KeyId,
    ) -> Result<(), Refusal> {
        if signer == held_signer || self.ancestors(held_signer, domain).contains(&signer) {
            Ok(())
        } else {
            Err(Refusal::SupersessionDenied {
                signer,
                held_signer,
            })
        }
    }

    /// Checks `bytes` against everything the store holds and, if every check passes, keeps it.
    /// `now` is the wall-clock time if the node knows it (see the module docs for what changes
    /// without it).
    pub fn admit(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal> {
        let signed = Signed::decode(bytes)?;
        self.admit_signed(&signed, now)
    }

    /// The conflicts this store has seen and still keeps, every domain's (the held artifacts
    /// are still admitted).
    pub fn evidence(&self) -> impl Iterator<Item = &Evidence> {
        self.evidence.iter().flat_map(|(_, kept)| kept.iter())
    }

    /// Removes and returns one kept conflict, freeing its domain's slot. Call it after an
    /// admission (until it returns `None`) when the driver persists evidence itself; a driver
    /// that does not leaves the slots to fill, after which later conflicts of that domain are
    /// not kept.
    pub fn take_evidence(&mut self) -> Option<Evidence> {
        // A domain's entry goes with its last piece, so a store whose evidence was all taken
        // is the store it was before the conflicts.
        while let Some((_, kept)) = self.evidence.last_mut() {
            if let Some(piece) = kept.pop() {
                if kept.is_empty() {
                    self.evidence.pop();
                }
                return Some(piece);
            }
            self.evidence.pop();
        }
        None
    }

    /// The last revocation sequence number admitted for each domain with a root.
    pub fn revocation_seqs(&self) -> impl Iterator<Item = (Domain, u32)> + '_ {
        self.domains.iter().map(|d| (d.domain, d.seq))
    }

    /// The bytes of every admitted artifact (credentials, policies, translators), for forwarding
    /// to neighbours.
    pub fn artifacts(&self) -> impl Iterator<Item = &[u8]> {
        let creds = self.credentials.iter().map(|c| c.bytes.as_slice());
        let held = self.policies.iter().chain(&self.translators);
        creds.chain(held.map(|h| h.bytes.as_slice()))
    }

    fn admit_signed(
        &mut self,
        signed: &Signed<'_>,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let result = match &signed.artifact {
            Artifact::Credential(c) => self.admit_credential(signed, c, now),
            Artifact::Policy(p) => self.admit_policy(signed, p, now),
            Artifact::Translator(t) => self.admit_translator(signed, t, now),
            Artifact::Revocation(r) => self.admit_revocation(signed, r, now),
            Artifact::Checkpoint(c) => self.admit_checkpoint(signed, c, now),
            // The policy it produces goes through this function itself, evidence and all.
            Artifact::PolicyDelta(d) => return self.admit_delta(d, &signed.signature, now),
        };
        let domain = evidence::domain_of(&signed.artifact);
        match result {
            Err(Refusal::Equivocation { held, offered, .. }) => Err(Refusal::Equivocation {
                held,
                offered,
                evidence_kept: self.keep_evidence(
                    Conflict::Equivocation,
                    domain,
                    held,
                    signed.bytes,
                ),
            }),
            Err(refusal @ Refusal::Rollback { .. }) => {
                if let Some(held) = self.held_digest(&signed.artifact) {
                    self.keep_evidence(Conflict::Rollback, domain, held, signed.bytes);
                }
                Err(refusal)
            }
            other => other,
        }
    }

    /// Keeps a conflict in `domain`'s slots, unless the same one is kept already; returns
    /// whether it is kept.
    fn keep_evidence(
        &mut self,
        conflict: Conflict,
        domain: Domain,
        held: Digest,
        offered: &[u8],
    ) -> bool {
        // A store built without evidence slots (a board with nowhere to report them) keeps
        // nothing, not even a domain's empty entry.
        if EVIDENCE == 0 {
            return false;
        }
        let Ok(offered) = Vec::from_slice(offered) else {
            return false;
        };
        let piece = Evidence {
            conflict,
            domain,
            held,
            offered,
        };
        let index = match self.evidence.iter().position(|(d, _)| *d == domain) {
            Some(i) => i,
            None if self.evidence.push((domain, Vec::new())).is_ok() => self.evidence.len() - 1,
            None => return false,
        };
        let Some((_, kept)) = self.evidence.get_mut(index) else {
            return false;
        };
        kept.contains(&piece) || kept.push(piece).is_ok()
    }

    /// The digest of the artifact held under the identity of `offered` (for a rollback's
    /// evidence); `None` for a revocation delta (see [`super::evidence`]).
    fn held_digest(&self, offered: &Artifact<'_>) -> Option<Digest> {
        match offered {
            Artifact::Credential(c) => {
                let key = VerifyingKey::from_sec1_bytes(&c.subject.0).ok()?;
                self.creds_of(c.subject.key_id(), c.domain)
                    .find(|held| held.key == key)
                    .map(|held| held.digest)
            }
            Artifact::Policy(p) => self
                .policies
                .iter()
                .find(|h| h.domain == p.domain && h.id == p.id)
                .map(|h| h.digest),
            Artifact::Translator(t) => self
                .translators
                .iter()
                .find(|h| h.domain == t.from.domain && h.peer == t.to.domain && h.id == t.id)
                .map(|h| h.digest),
            Artifact::Revocation(_) | Artifact::PolicyDelta(_) | Artifact::Checkpoint(_) => None,
        }
    }

    fn cred_entry(signed: &Signed<'_>, cred: &Credential, root: bool) -> Result<Cred, Refusal> {
        let key = VerifyingKey::from_sec1_bytes(&cred.subject.0)
            .map_err(|_| Refusal::Malformed(DecodeError::Body))?;
        Ok(Cred {
            key_id: cred.subject.key_id(),
            key,
            domain: cred.domain,
            issuer: cred.signer,
            root,
            scope: cred.scope,
            validity: cred.validity,
            depth: cred.depth,
            version: cred.version,
            digest: Digest::of(signed.bytes),
            bytes: held_bytes(signed.bytes)?,
        })
    }

    /// The credentials of `key` in `domain`.
    fn creds_of(&self, key: KeyId, domain: Domain) -> impl Iterator<Item = &Cred> {
        self.credentials
            .iter()
            .filter(move |c| c.key_id == key && c.domain == domain)
    }

    /// The credential in `domain` whose key made `signed`'s signature.
    pub(super) fn verified(
        &self,
        signed: &Signed<'_>,
        key: KeyId,
        domain: Domain,
    ) -> Result<&Cred, Refusal> {
        if !self.credentials.iter().any(|c| c.key_id == key) {
            return Err(Refusal::UnknownSigner(key));
        }
        let mut creds = self.creds_of(key, domain).peekable();
        if creds.peek().is_none() {
            return Err(Refusal::ChainBroken { key, domain });
        }
        // More than one candidate only if two keys share a key id: try each.
        creds
            .find(|c| signed.verify(&c.key))
            .ok_or(Refusal::BadSignature)
    }

    /// Whether `cred` may sign `needed` now: its chain reaches a root of its domain with no
    /// revoked key and (when time is known) every link valid. No signature is checked: each link
    /// was verified when it was admitted.
    pub(super) fn standing(
        &self,
        cred: &Cred,
        needed: Scope,
        now: Option<UnixTime>,
    ) -> Result<(), Refusal> {
        if !cred.scope.contains(needed) {
            return Err(Refusal::ScopeNotAllowed {
                key: cred.key_id,
                needed,
            });
        }
        let mut link = cred;
        for _ in 0..MAX_CHAIN {
            if !link.root && self.key_revoked(link.key_id, link.domain, link.issuer) {
                return Err(Refusal::RevokedSigner {
                    key: link.key_id,
                    domain: link.domain,
                });
            }
            check_time(link.key_id, &link.validity, now)?;
            if link.root {
                return Ok(());
            }
            link = self
                .creds_of(link.issuer, link.domain)
                .find(|c| c.scope.contains(Scope::ISSUE_CREDENTIAL))
                .ok_or(Refusal::ChainBroken {
                    key: link.key_id,
                    domain: link.domain,
                })?;
        }
        Err(Refusal::ChainBroken {
            key: cred.key_id,
            domain: cred.domain,
        })
    }

    /// Whether `key` holds, in `domain`, a credential in good standing for `needed`.
    pub(super) fn in_good_standing(
        &self,
        key: KeyId,
        domain: Domain,
        needed: Scope,
        now: Option<UnixTime>,
    ) -> bool {
        self.creds_of(key, domain)
            .any(|c| self.standing(c, needed, now).is_ok())
    }

    /// Whether the policy or translator `artifact` (held from before) has since been revoked by
    /// its domain, so that this store would now refuse it: a node neither offers it to its
    /// neighbours nor counts it in its inventory, or it would send it again every round to a
    /// neighbour that refuses it. (Credentials of a revoked key are not recognised here: an
    /// [`ArtifactRef`] does not name the key.)
    pub fn is_withdrawn(&self, artifact: &ArtifactRef) -> bool {
        let id = artifact.id;
        let Ok(version) = u32::try_from(artifact.version) else {
            return false;
        };
        let entry = match artifact.kind {
            Kind::Policy | Kind::PolicyDelta => Revoked::Policy { id, version },
            Kind::Translator => Revoked::Translator { id, version },
            Kind::Credential | Kind::Revocation | Kind::Checkpoint => return false,
        };
        self.is_revoked(artifact.domain, &entry)
    }

    /// Whether `domain` has revoked exactly `entry` (keys), or a version at or above it
    /// (policies, translators).
    pub(super) fn is_revoked(&self, domain: Domain, entry: &Revoked) -> bool {
        self.revoked.iter().any(
            |InForce {
                 domain: d,
                 entry: r,
                 ..
             }| {
                *d == domain
                    && match (r, entry) {
                        (Revoked::Key(_), Revoked::Key(_)) => false,
                        (
                            Revoked::Policy { id, version },
                            Revoked::Policy { id: i, version: v },
                        )
                        | (
                            Revoked::Translator { id, version },
                            Revoked::Translator { id: i, version: v },
                        ) => id == i && v <= version,
                        _ => false,
                    }
            },
        )
    }

    /// Whether `key`, credentialed in `domain` by `issuer`, is revoked: by an entry whose
    /// revoker stands above it (the issuer or one of its ancestors). An entry by anyone else,
    /// admitted while this store did not yet know the key, revokes nothing of it.
    fn key_revoked(&self, key: KeyId, domain: Domain, issuer: KeyId) -> bool {
        let mut above: Option<Vec<KeyId, MAX_CHAIN>> = None;
        self.revoked.iter().any(|r| {
            r.domain == domain
                && r.entry == Revoked::Key(key)
                && (r.revoker == issuer
                    || above
                        .get_or_insert_with(|| self.ancestors(issuer, domain))
                        .contains(&r.revoker))
        })
    }

    /// Whether `signer` may revoke `key` in `domain`: every credential the store holds for
    /// `key` there hangs strictly below `signer`, and none is a root. (A key this store does not
    /// know yet is taken on trust here and judged when its credential arrives: see
    /// [`TrustStore::key_revoked`].)
    fn may_revoke(&self, signer: KeyId, key: KeyId, domain: Domain) -> Result<(), Refusal> {
        let out_of_scope = Refusal::RevocationOutOfScope { signer, key };
        for cred in self.creds_of(key, domain) {
            if cred.root || !self.ancestors(key, domain).contains(&signer) {
                return Err(out_of_scope);
            }
        }
        if key == signer {
            return Err(out_of_scope);
        }
        Ok(())
    }

    fn admit_credential(
        &mut self,
        signed: &Signed<'_>,
        cred: &Credential,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let subject = cred.subject.key_id();
        // A root's standing is the operator's to set: neither a self-signed credential nor one
        // issued for a root key may arrive over the air (the latter would replace the anchor).
        let is_root = |c: &Cred| c.root && c.key_id == subject && c.domain == cred.domain;
        if cred.signer == subject || self.credentials.iter().any(is_root) {
            return Err(Refusal::ChainBroken {
                key: subject,
                domain: cred.domain,
            });
        }
        let issuer = self.verified(signed, cred.signer, cred.domain)?;
        self.standing(issuer, Scope::ISSUE_CREDENTIAL, now)?;
        if cred.depth >= issuer.depth {
            return Err(Refusal::DelegationTooDeep { key: cred.signer });
        }
        if !issuer.scope.contains(cred.scope) {
            return Err(Refusal::ScopeNotAllowed {
                key: cred.signer,
                needed: cred.scope,
            });
        }
        let domain = cred.domain;
        if self.ancestors(cred.signer, domain).contains(&subject) {
            return Err(Refusal::CredentialLoop { key: subject });
        }
        if let Some(held) = self.creds_of(subject, domain).next()
            && u64::from(cred.version) >= held.version()
            && held.digest != Digest::of(signed.bytes)
        {
            self.may_supersede(domain, held.issuer, cred.signer)?;
        }
        let artifact = credential_ref(signed, cred);
        if self.key_revoked(subject, domain, cred.signer) {
            return Err(revoked(&artifact));
        }
        if let Some(now) = now
            && now > cred.validity.not_after
        {
            return Err(Refusal::Expired {
                key: subject,
                not_after: cred.validity.not_after,
            });
        }
        let entry = Self::cred_entry(signed, cred, false)?;
        let room_full = self.room_full(domain, Table::Credentials);
        let duplicate = place(&mut self.credentials, Table::Credentials, entry, room_full)?;
        Ok(Admitted {
            artifact,
            duplicate,
        })
    }

    fn admit_policy(
        &mut self,
        signed: &Signed<'_>,
        policy: &Policy<'_>,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let signer = self.verified(signed, policy.signer, policy.domain)?;
        self.standing(signer, Scope::POLICY, now)?;
        let held = Held {
            domain: policy.domain,
            peer: policy.domain,
            spiral: policy.spiral,
            id: policy.id,
            version: policy.version,
            signer: policy.signer,
            digest: Digest::of(signed.bytes),
            bytes: held_bytes(signed.bytes)?,
        };
        self.check_supersession(&self.policies, &held)?;
        let artifact = held_ref(Kind::Policy, &held);
        let entry = Revoked::Policy {
            id: policy.id,
            version: policy.version,
        };
        if self.is_revoked(policy.domain, &entry) {
            return Err(revoked(&artifact));
        }
        let room_full = self.room_full(held.domain, Table::Policies);
        let duplicate = place(&mut self.policies, Table::Policies, held, room_full)?;
        Ok(Admitted {
            artifact,
            duplicate,
        })
    }

    fn admit_translator(
        &mut self,
        signed: &Signed<'_>,
        translator: &Translator<'_>,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let key = translator.signer;
        let (from, to) = (translator.from.domain, translator.to.domain);
        let in_from = self.creds_of(key, from).next().is_some();
        let in_to = self.creds_of(key, to).next().is_some();
        let known = self.credentials.iter().any(|c| c.key_id == key);
        match (in_from, in_to) {
            (false, false) if !known => return Err(Refusal::UnknownSigner(key)),
            (false, _) => return Err(Refusal::TranslatorNotInBothDomains { key, missing: from }),
            (true, false) => return Err(Refusal::TranslatorNotInBothDomains { key, missing: to }),
            (true, true) => {}
        }
        let signer = self.verified(signed, key, from)?;
        self.standing(signer, Scope::TRANSLATOR, now)?;
        // The same key, not merely the same key id, must be credentialed in the target domain.
        let signing_key = signer.key;
        let peer = self
            .creds_of(key, to)
            .find(|c| c.key == signing_key)
            .ok_or(Refusal::TranslatorNotInBothDomains { key, missing: to })?;
        self.standing(peer, Scope::TRANSLATOR, now)?;
        let held = Held {
            domain: from,
            peer: to,
            spiral: translator.from.spiral,
            id: translator.id,
            version: translator.version,
            signer: key,
            digest: Digest::of(signed.bytes),
            bytes: held_bytes(signed.bytes)?,
        };
        self.check_supersession(&self.translators, &held)?;
        let artifact = held_ref(Kind::Translator, &held);
        if self.translator_revoked(&held) {
            return Err(revoked(&artifact));
        }
        let room_full = self.room_full(from, Table::Translators);
        let duplicate = place(&mut self.translators, Table::Translators, held, room_full)?;
        Ok(Admitted {
            artifact,
            duplicate,
        })
    }

    /// A newer (or equal, different) version of a held policy or translator must come from the
    /// held one's signer or an ancestor of it, in the domain it is filed under.
    fn check_supersession<const N: usize>(
        &self,
        table: &Vec<Held, N>,
        offered: &Held,
    ) -> Result<(), Refusal> {
        match table.iter().find(|h| h.same_artifact(offered)) {
            Some(held) if offered.version >= held.version && held.digest != offered.digest => {
                self.may_supersede(held.domain, held.signer, offered.signer)
            }
            _ => Ok(()),
        }
    }

    /// Either of a translator's domains may revoke it.
    pub(super) fn translator_revoked(&self, held: &Held) -> bool {
        let entry = Revoked::Translator {
            id: held.id,
            version: held.version,
        };
        self.is_revoked(held.domain, &entry) || self.is_revoked(held.peer, &entry)
    }

    fn admit_revocation(
        &mut self,
        signed: &Signed<'_>,
        revocation: &Revocation,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let (domain, signer) = (revocation.domain, revocation.signer);
        let cred = self.verified(signed, signer, domain)?;
        self.standing(cred, Scope::REVOCATION, now)?;
        let digest = Digest::of(signed.bytes);
        let artifact = ArtifactRef {
            kind: Kind::Revocation,
            domain,
            id: revocation.seq,
            version: revocation.seq.into(),
            digest,
        };
        let state = self.domain_state(domain, signer)?;
        let (held, seq) = (state.seq, revocation.seq);
        // A checkpoint already says everything the deltas up to it said.
        if state.checkpoint.is_some_and(|(at, _)| seq <= at) {
            return Ok(Admitted {
                artifact,
                duplicate: true,
            });
        }
        if seq == held && digest == state.digest {
            return Ok(Admitted {
                artifact,
                duplicate: true,
            });
        }
        if seq == held {
            return Err(Refusal::Equivocation {
                held: state.digest,
                offered: digest,
                evidence_kept: false,
            });
        }
        if seq < held {
            return Err(Refusal::Rollback {
                held: held.into(),
                offered: seq.into(),
            });
        }
        if seq > held.saturating_add(1) {
            return Err(Refusal::RevocationGap {
                domain,
                first_missing: held.saturating_add(1),
                last_missing: seq - 1,
            });
        }
        for entry in &revocation.entries {
            if let Revoked::Key(key) = entry {
                self.may_revoke(signer, *key, domain)?;
            }
        }
        let mut added: Vec<Revoked, MAX_REVOCATION_ENTRIES> = Vec::new();
        for entry in &revocation.entries {
            let merges = self
                .revoked
                .iter()
                .any(|r| r.domain == domain && r.revoker == signer && r.entry.same_subject(entry));
            if !merges && !added.iter().any(|a| a.same_subject(entry)) {
                let _ = added.push(*entry);
            }
        }
        self.make_room(domain, 0, added.len())?;
        for entry in &revocation.entries {
            let held = self
                .revoked
                .iter_mut()
                .find(|r| r.domain == domain && r.revoker == signer && r.entry.same_subject(entry));
            match held {
                Some(r) => r.entry = r.entry.later_of(*entry),
                // Room was checked above, so this push cannot fail.
                None => {
                    let _ = self.revoked.push(InForce {
                        domain,
                        entry: *entry,
                        revoker: signer,
                    });
                }
            }
        }
        if let Some(state) = self.domains.iter_mut().find(|d| d.domain == domain) {
            state.seq = seq;
            state.digest = digest;
        }
        Ok(Admitted {
            artifact,
            duplicate: false,
        })
    }

    fn admit_checkpoint(
        &mut self,
        signed: &Signed<'_>,
        checkpoint: &Checkpoint,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let (domain, signer) = (checkpoint.domain, checkpoint.signer);
        let cred = self.verified(signed, signer, domain)?;
        if !cred.root {
            return Err(Refusal::CheckpointNotByRoot { key: signer });
        }
        self.standing(cred, Scope::REVOCATION, now)?;
        let digest = Digest::of(signed.bytes);
        let artifact = ArtifactRef {
            kind: Kind::Checkpoint,
            domain,
            id: checkpoint.seq,
            version: checkpoint.seq.into(),
            digest,
        };
        let state = self.domain_state(domain, signer)?;
        match state.checkpoint {
            Some((at, held)) if at == checkpoint.seq && held == digest => {
                return Ok(Admitted {
                    artifact,
                    duplicate: true,
                });
            }
            Some((at, held)) if at == checkpoint.seq => {
                return Err(Refusal::Equivocation {
                    held,
                    offered: digest,
                    evidence_kept: false,
                });
            }
            _ => {}
        }
        if checkpoint.seq < state.seq {
            return Err(Refusal::Rollback {
                held: state.seq.into(),
                offered: checkpoint.seq.into(),
            });
        }
        for entry in &checkpoint.entries {
            if let Revoked::Key(key) = entry
                && self.creds_of(*key, domain).any(|c| c.root)
            {
                return Err(Refusal::RevocationOutOfScope { signer, key: *key });
            }
        }
        // What a root revoked stays revoked: a checkpoint may drop a delegate's entries (the
        // root's word wins) but never a root's.
        let is_root = |key: KeyId| self.creds_of(key, domain).any(|c| c.root);
        if let Some(missing) = self
            .revoked
            .iter()
            .filter(|r| r.domain == domain && is_root(r.revoker))
            .find(|r| !checkpoint.entries.iter().any(|c| c.covers(&r.entry)))
        {
            return Err(Refusal::CheckpointIncomplete {
                domain,
                missing: missing.entry,
            });
        }
        let mut entries: Vec<Revoked, MAX_CHECKPOINT_ENTRIES> = Vec::new();
        for entry in &checkpoint.entries {
            match entries.iter_mut().find(|e| e.same_subject(entry)) {
                Some(e) => *e = e.later_of(*entry),
                None => {
                    let _ = entries.push(*entry);
                }
            }
        }
        self.make_room(domain, self.used(domain, Table::Revoked), entries.len())?;
        self.revoked.retain(|r| r.domain != domain);
        for entry in entries {
            // Room was checked above, so this push cannot fail.
            let _ = self.revoked.push(InForce {
                domain,
                entry,
                revoker: signer,
            });
        }
        if let Some(state) = self.domains.iter_mut().find(|d| d.domain == domain) {
            state.seq = checkpoint.seq;
            state.checkpoint = Some((checkpoint.seq, digest));
        }
        Ok(Admitted {
            artifact,
            duplicate: false,
        })
    }

    /// The revocation state of `domain` (whose `signer` signed something for it).
    fn domain_state(&self, domain: Domain, signer: KeyId) -> Result<DomainState, Refusal> {
        self.domains
            .iter()
            .find(|d| d.domain == domain)
            .copied()
            .ok_or(Refusal::ChainBroken {
                key: signer,
                domain,
            })
    }

    /// Checks that `domain` may hold `added` more revocation entries once `freed` of its own
    /// are gone: within its room, and within the table.
    fn make_room(&self, domain: Domain, freed: usize, added: usize) -> Result<(), Refusal> {
        let used = self.used(domain, Table::Revoked) - freed;
        if used + added > self.room(domain).revoked {
            return Err(Refusal::RoomFull {
                domain,
                table: Table::Revoked,
            });
        }
        if self.revoked.len() - freed + added > REVOKED {
            return Err(Refusal::CapacityFull(Table::Revoked));
        }
        Ok(())
    }

    fn admit_delta(
        &mut self,
        delta: &PolicyDelta<'_>,
        signature: &[u8; SIGNATURE_LEN],
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let base = self
            .policies
            .iter()
            .find(|h| h.domain == delta.domain && h.id == delta.id);
        let base = match base {
            Some(b) if b.version == delta.base_version && b.digest == delta.base_digest => b,
            other => {
                return Err(Refusal::DeltaBaseMismatch {
                    held: other.map(|b| b.version),
                });
            }
        };
        let base_signed = base
            .bytes
            .len()
            .checked_sub(SIGNATURE_LEN)
            .and_then(|end| base.bytes.get(..end))
            .ok_or(Refusal::DeltaResultMismatch)?;
        let mut out = [0u8; MAX_ARTIFACT_LEN];
        let mut at = 0;
        for op in &delta.ops {
            let piece = match *op {
                DeltaOp::Copy { offset, len } => {
                    let start = usize::from(offset);
                    base_signed.get(start..start + usize::from(len))
                }
                DeltaOp::Insert(bytes) => Some(bytes),
            }
            .ok_or(Refusal::DeltaResultMismatch)?;
            out.get_mut(at..at + piece.len())
                .ok_or(Refusal::DeltaResultMismatch)?
                .copy_from_slice(piece);
            at += piece.len();
        }
        let len =
            encoding::attach(&mut out, at, signature).map_err(|_| Refusal::DeltaResultMismatch)?;
        let result = out.get(..len).ok_or(Refusal::DeltaResultMismatch)?;
        if Digest::of(result) != delta.result_digest {
            return Err(Refusal::DeltaResultMismatch);
        }
        let signed = Signed::decode(result).map_err(|_| Refusal::DeltaResultMismatch)?;
        match &signed.artifact {
            Artifact::Policy(p)
                if p.domain == delta.domain && p.id == delta.id && p.version == delta.version =>
            {
                self.admit_signed(&signed, now)
            }
            _ => Err(Refusal::DeltaResultMismatch),
        }
    }
}

/// What a node asks of its trust store, whatever the store's capacities: a
/// [`crate::node::Node`] is generic over it so the firmware can run one with a small
/// [`TrustStore`] and the host with the default one. Each method is the [`TrustStore`] method of
/// the same name.
pub trait Trust {
    /// [`TrustStore::admit`].
    fn admit(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal>;
    /// [`TrustStore::decide`].
    fn decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision;
    /// [`TrustStore::revocation_seqs`].
    fn revocation_seqs(&self) -> impl Iterator<Item = (Domain, u32)> + '_;
    /// [`TrustStore::artifacts`].
    fn artifacts(&self) -> impl Iterator<Item = &[u8]>;
    /// [`TrustStore::is_withdrawn`].
    fn is_withdrawn(&self, artifact: &ArtifactRef) -> bool;
    /// [`TrustStore::take_evidence`].
    fn take_evidence(&mut self) -> Option<Evidence>;
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
> Trust for TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE>
{
    fn admit(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal> {
        TrustStore::admit(self, bytes, now)
    }

    fn decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision {
        TrustStore::decide(self, label, audience, now)
    }

    fn revocation_seqs(&self) -> impl Iterator<Item = (Domain, u32)> + '_ {
        TrustStore::revocation_seqs(self)
    }

    fn artifacts(&self) -> impl Iterator<Item = &[u8]> {
        TrustStore::artifacts(self)
    }

    fn is_withdrawn(&self, artifact: &ArtifactRef) -> bool {
        TrustStore::is_withdrawn(self, artifact)
    }

    fn take_evidence(&mut self) -> Option<Evidence> {
        TrustStore::take_evidence(self)
    }
}

fn revoked(artifact: &ArtifactRef) -> Refusal {
    Refusal::RevokedArtifact {
        kind: artifact.kind,
        domain: artifact.domain,
        id: artifact.id,
        version: artifact.version,
    }
}

pub(super) fn credential_ref(signed: &Signed<'_>, cred: &Credential) -> ArtifactRef {
    ArtifactRef {
        kind: Kind::Credential,
        domain: cred.domain,
        id: 0,
        version: cred.version.into(),
        digest: Digest::of(signed.bytes),
    }
}

pub(super) fn held_ref(kind: Kind, held: &Held) -> ArtifactRef {
    ArtifactRef {
        kind,
        domain: held.domain,
        id: held.id,
        version: held.version.into(),
        digest: held.digest,
    }
}
