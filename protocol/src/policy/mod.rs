//! Signed coalition policy: the artifacts, their admission into a bounded trust store, and release
//! decisions with lineage.
//!
//! This is what Skywave exists to carry. Each partner signs its own policies under its own root;
//! partners recognise each other only through translators signed by a key credentialed in both
//! domains; revocation is unilateral and sequence-numbered per domain. Everything here is
//! `no_std` with no allocator and no clock: artifacts are borrowed views of the bytes as received,
//! the trust store holds admitted bytes in fixed slots, and wall-clock time is an optional argument
//! because an HF node may have none.
//!
//! - [`model`]: the artifact types (credentials, policies, translators, revocation and policy
//!   deltas) and the identifiers they share.
//! - [`encoding`]: the envelope (format version, kind tag, postcard body, raw r||s signature),
//!   decoding, digests, verification, and (with `std`) signing.
//! - [`store`]: [`TrustStore`] and admission, with a typed [`Refusal`] for every reason to say no.
//! - [`decide`]: [`Decision`]s that compose home policy, translators and revocation state, and
//!   carry the lineage a reviewer needs.
//! - [`evidence`]: conflicting signed artifacts (equivocation, rollback) kept per domain, and
//!   the offline check of what a pair proves.
//! - [`log`]: the hash-chained decision log and its verifier.
//! - [`node`]: node identities (node-scoped credentials binding a node address to a key).
//! - [`verifier`] and [`signer`]: the seams every signature check and the node's own signing
//!   go through (RustCrypto on hosts, p256-cm4 on the firmware).
//! - `sample` (with `std`): a small signed coalition with fixed public keys, for tests,
//!   benchmarks and fuzzing.
//!
//! docs/policy.md explains the model, the encoding, the admission rules and the sizes.

mod body;
pub mod decide;
pub mod encoding;
pub mod evidence;
pub mod log;
pub mod model;
pub mod node;
#[cfg(any(test, feature = "std"))]
pub mod sample;
pub mod signer;
pub mod store;
pub mod verifier;

#[cfg(test)]
mod tests;

pub use decide::{Basis, Decision, DenyReason, Label, LabelRecord, Lineage, SpiralGap, Verdict};
pub use encoding::{Artifact, DecodeError, EncodeError, Kind, Signed};
pub use evidence::{Conflict, Evidence, EvidenceFile, FileError, NotProven, Proof, Side};
pub use log::{DecisionLog, LogAnchor, LogEntry, LogFault, Record};
pub use model::{
    ArtifactRef, Category, CategoryGroup, CategoryKind, CategorySet, CategoryValue, Checkpoint,
    ClassMap, Classification, Constraint, Credential, DeltaOp, Digest, Domain, Equivalence,
    FieldBridge, KeyId, Policy, PolicyDelta, PublicKey, ReleaseRule, RequireOp, Requirement,
    Revocation, Revoked, Scope, SpiralRef, Translator, Trigger, UnixTime, Validity, ValueSet,
};
pub use node::NodeIdentity;
pub use store::{Admitted, Refusal, Room, RoomError, Table, Trust, TrustStore};

/// The classifications one policy may define.
pub const MAX_CLASSIFICATIONS: usize = 8;
/// The categories one policy may define.
pub const MAX_CATEGORIES: usize = 8;
/// The release rules one policy may hold.
pub const MAX_RULES: usize = 32;
/// The label validity constraints one policy may hold.
pub const MAX_CONSTRAINTS: usize = 16;
/// The category groups one constraint may name.
pub const MAX_CONSTRAINT_GROUPS: usize = 4;
/// The audience domains one release rule may name.
pub const MAX_RULE_DOMAINS: usize = 8;
/// The entries in each of a translator's three mapping tables.
pub const MAX_MAPPINGS: usize = 16;
/// The entries one revocation delta may carry.
pub const MAX_REVOCATION_ENTRIES: usize = 16;
/// The entries one revocation checkpoint may carry: as many as fit one artifact (9 bytes each).
pub const MAX_CHECKPOINT_ENTRIES: usize = 96;
/// The operations one policy delta may carry.
pub const MAX_DELTA_OPS: usize = 16;
/// The category values one label may carry.
pub const MAX_LABEL_CATEGORIES: usize = 32;

/// The domains (partners) a trust store knows, each with its root and revocation sequence.
pub const MAX_DOMAINS: usize = 8;
/// Credentials a trust store holds, roots included.
pub const MAX_CREDENTIALS: usize = 32;
/// Policies a trust store holds (the latest version of each domain and id).
pub const MAX_POLICIES: usize = 128;
/// Translators a trust store holds (the latest version of each).
pub const MAX_TRANSLATORS: usize = 64;
/// Revocation entries a trust store remembers, over all domains.
pub const MAX_REVOKED: usize = 128;
/// Conflicts (equivocations, rollbacks) a trust store keeps as evidence, per domain, until its
/// driver takes them.
///
/// One per domain: the agent takes each conflict into its own store after every admission, so
/// a slot only has to hold the one conflict an admission can meet.
pub const MAX_EVIDENCE: usize = 1;
/// Credential chain length a trust store will walk from a signer to its root.
pub const MAX_CHAIN: usize = 8;

/// The longest artifact: one D_PDU segment ([`crate::wire::MAX_SEGMENT_LEN`]), so any artifact
/// crosses the air in a single frame.
pub const MAX_ARTIFACT_LEN: usize = crate::wire::MAX_SEGMENT_LEN;
/// The longest credential: the largest encoding [`Credential`] has, with room to spare.
pub const MAX_CREDENTIAL_LEN: usize = 160;
