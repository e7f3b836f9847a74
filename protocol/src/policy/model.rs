//! The artifact model: what a credential, a policy, a translator and the two kinds of delta say.
//!
//! Every type here is either plain data or a borrowed view of received bytes (`&str`, `&[u8]`),
//! with bounded [`heapless::Vec`]s for lists, so decoding allocates nothing. Field order is the
//! encoding order (postcard writes fields in declaration order), and the first two fields of every
//! signed body are the domain and the signer's key id, so a reader knows whose it is before
//! anything else.

use core::fmt;

use heapless::Vec;
use serde::ser::SerializeTuple;
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use super::encoding::Kind;
use super::{
    MAX_CATEGORIES, MAX_CHECKPOINT_ENTRIES, MAX_CLASSIFICATIONS, MAX_CONSTRAINT_GROUPS,
    MAX_CONSTRAINTS, MAX_DELTA_OPS, MAX_MAPPINGS, MAX_REVOCATION_ENTRIES, MAX_RULE_DOMAINS,
    MAX_RULES,
};
use crate::codec::Hex;

/// Wall-clock time: seconds since 1970-01-01T00:00:00Z. The core never reads a clock; a node
/// that knows the time passes `Some(UnixTime)`, one that does not passes `None`.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize,
)]
pub struct UnixTime(pub u64);

/// A partner domain: its three-letter code (ISO 3166-1 alpha-3, as FMN uses: GBR, USA, AUS).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Domain(pub [u8; 3]);

impl Domain {
    /// The domain for a three-letter upper-case code, or `None` for anything else.
    pub fn new(code: &str) -> Option<Self> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_uppercase)
            .then_some(Domain(bytes))
    }
}

/// Peer bytes need not be letters; anything else shows as `?` rather than failing to print.
impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            let c = if b.is_ascii_uppercase() {
                char::from(b)
            } else {
                '?'
            };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The short name of a public key: the first 8 bytes of SHA-256 over its 33-byte compressed
/// encoding. Artifacts name their signer by key id (8 bytes, not 33, on every artifact); the
/// trust store checks the signature against every admitted key with that id, so a collision can
/// cost a verification but never admit a forgery.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Hex(&self.0), f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A SHA-256 digest: of an artifact's bytes as received, or of a decision-log entry.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Digest(Sha256::digest(bytes).into())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Hex(&self.0), f)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A P-256 public key as 33-byte compressed SEC1. It is checked to be a point on the curve only
/// when a credential carrying it is admitted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(pub [u8; PublicKey::LEN]);

impl PublicKey {
    /// The length of a compressed SEC1 P-256 point.
    pub const LEN: usize = 33;

    /// The key's [`KeyId`].
    pub fn key_id(&self) -> KeyId {
        let digest = Digest::of(&self.0).0;
        let mut id = [0; 8];
        for (out, b) in id.iter_mut().zip(digest) {
            *out = b;
        }
        KeyId(id)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Hex(&self.0), f)
    }
}

/// serde derives stop at 32-element arrays; this writes the 33 bytes as a tuple, which postcard
/// encodes without a length prefix (`policy::body` reads them back).
impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(Self::LEN)?;
        for b in &self.0 {
            tuple.serialize_element(b)?;
        }
        tuple.end()
    }
}

/// What a credential lets its subject key sign: a set of the four scopes, as bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Scope(pub u8);

impl Scope {
    /// May sign policies and policy deltas of the domain.
    pub const POLICY: Scope = Scope(1);
    /// May sign translators from or to the domain.
    pub const TRANSLATOR: Scope = Scope(2);
    /// May sign the domain's revocation deltas.
    pub const REVOCATION: Scope = Scope(4);
    /// May issue credentials in the domain (subject to the delegation depth).
    pub const ISSUE_CREDENTIAL: Scope = Scope(8);
    /// May act as a node: bind the node address its credential names to its key, and sign
    /// label bindings (docs/labels.md) for messages that node originates.
    pub const NODE: Scope = Scope(16);
    /// All five.
    pub const ALL: Scope = Scope(31);

    /// Whether every scope in `other` is also in `self`.
    pub const fn contains(self, other: Scope) -> bool {
        self.0 & other.0 == other.0
    }

    /// The union of two scopes.
    pub const fn with(self, other: Scope) -> Scope {
        Scope(self.0 | other.0)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (Scope::POLICY, "policy"),
            (Scope::TRANSLATOR, "translator"),
            (Scope::REVOCATION, "revocation"),
            (Scope::ISSUE_CREDENTIAL, "issue-credential"),
            (Scope::NODE, "node"),
        ];
        let mut first = true;
        for (scope, name) in names {
            if self.contains(scope) {
                f.write_str(if first { "" } else { "," })?;
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// When a credential may be used, inclusive at both ends.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Validity {
    /// The first second it is valid.
    pub not_before: UnixTime,
    /// The last second it is valid.
    pub not_after: UnixTime,
}

/// A credential: the signer (a root, or a key credentialed to issue credentials) binds a subject
/// key to a domain, a scope, a validity window and a delegation depth. A root's credential is
/// self-signed (`signer` is the subject's own key id) and enters a trust store only as an anchor.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Credential {
    /// The domain the subject is credentialed in.
    pub domain: Domain,
    /// The issuing key.
    pub signer: KeyId,
    /// The credentialed key.
    pub subject: PublicKey,
    /// What the subject may sign.
    pub scope: Scope,
    /// When.
    pub validity: Validity,
    /// How many further levels of credentials may hang below the subject: 0 means the subject may
    /// not issue credentials at all, whatever its scope says. An issued credential's depth must be
    /// below its issuer's.
    pub depth: u8,
    /// The credential's version for this subject in this domain, monotonic: a held credential
    /// is replaced only by a higher version signed by the same issuer or one of its ancestors
    /// (docs/policy.md, "Who may supersede"). Validity dates are not versions: a delegate could
    /// always sign a later `not_after`.
    pub version: u32,
    /// The STANAG 5066 node address a [`Scope::NODE`] credential binds its subject key to;
    /// `None` for every other credential.
    pub node: Option<u32>,
}

/// An FMN spiral (or stream) of a domain: the coordinates a translator maps between.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct SpiralRef {
    /// The domain.
    pub domain: Domain,
    /// The FMN spiral number.
    pub spiral: u8,
}

/// A level of a policy's classification hierarchy.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Classification<'a> {
    /// The numeric code labels carry.
    pub code: u8,
    /// Its marking, for people.
    pub name: &'a str,
}

/// How a category's values combine in a release decision (STANAG 4774 semantics).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum CategoryKind {
    /// Widens release: the audience needs a rule for at least one of the label's values.
    Permissive,
    /// Narrows release: the audience needs a rule for every one of the label's values.
    Restrictive,
    /// Carries information only; no effect on release.
    Informative,
}

/// A set of value codes, as a bitmap: bit `i` (least significant bit first in each byte) of
/// `bits` stands for code `base + i`. A SPIF's tag set of 90 consecutive LACVs costs 12 bytes
/// plus the base, so a whole NATO-kind SPIF fits one artifact (docs/labels.md).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct ValueSet<'a> {
    /// The code of bit 0.
    pub base: u16,
    /// The bitmap.
    pub bits: &'a [u8],
}

impl<'a> ValueSet<'a> {
    /// The empty set.
    pub const EMPTY: ValueSet<'static> = ValueSet { base: 0, bits: &[] };

    /// The set holding `code` alone.
    pub const fn single(code: u16) -> ValueSet<'static> {
        ValueSet {
            base: code,
            bits: &[1],
        }
    }

    /// Whether `code` is in the set.
    pub fn contains(&self, code: u16) -> bool {
        let Some(offset) = code.checked_sub(self.base) else {
            return false;
        };
        let offset = usize::from(offset);
        self.bits
            .get(offset / 8)
            .is_some_and(|byte| byte & (1 << (offset % 8)) != 0)
    }

    /// The codes in the set, lowest first.
    pub fn iter(&self) -> impl Iterator<Item = u16> + use<'a> {
        let base = u32::from(self.base);
        let bits = self.bits;
        (0..bits.len() * 8).filter_map(move |i| {
            let set = bits.get(i / 8).is_some_and(|b| b & (1 << (i % 8)) != 0);
            let code = u16::try_from(base + u32::try_from(i).ok()?).ok()?;
            set.then_some(code)
        })
    }

    /// How many codes the set holds.
    pub fn len(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.bits.iter().all(|b| *b == 0)
    }

    /// Writes the bitmap of `codes` into `out`; returns the set's base and how many bytes of
    /// `out` it uses, or `None` if `out` is too small. The base is the lowest code.
    pub fn build(codes: &[u16], out: &mut [u8]) -> Option<(u16, usize)> {
        let Some(&base) = codes.iter().min() else {
            return Some((0, 0));
        };
        let top = codes.iter().max().copied().unwrap_or(base);
        let len = usize::from(top - base) / 8 + 1;
        let out = out.get_mut(..len)?;
        out.fill(0);
        for code in codes {
            let offset = usize::from(code - base);
            *out.get_mut(offset / 8)? |= 1 << (offset % 8);
        }
        Some((base, len))
    }
}

/// A category (caveat) a policy defines: a tag, its semantics and its allowed value codes, like a
/// SPIF's category with its LACVs.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Category<'a> {
    /// The numeric tag labels carry.
    pub tag: u8,
    /// Its name, for people (a SPIF's tag set name).
    pub name: &'a str,
    /// How its values combine.
    pub kind: CategoryKind,
    /// The value codes it allows.
    pub values: ValueSet<'a>,
    /// A label may carry at most one of its values (a SPIF's `singleSelection`).
    pub single: bool,
}

/// Some values of one category: what a release rule or a label constraint is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct CategorySet<'a> {
    /// The category's tag.
    pub tag: u8,
    /// The values.
    pub values: ValueSet<'a>,
}

impl CategorySet<'_> {
    /// The set holding `value` alone.
    pub const fn single(value: CategoryValue) -> CategorySet<'static> {
        CategorySet {
            tag: value.tag,
            values: ValueSet::single(value.value),
        }
    }

    /// Whether `value` is one of the set's.
    pub fn contains(&self, value: CategoryValue) -> bool {
        value.tag == self.tag && self.values.contains(value.value)
    }
}

/// Values of one category a constraint refers to (a SPIF's `categoryGroup`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct CategoryGroup<'a> {
    /// The category's tag.
    pub tag: u8,
    /// The values named, or `None` for every value the category defines.
    pub values: Option<ValueSet<'a>>,
}

/// What a `requiredCategory` asks of the label's values in its groups.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum RequireOp {
    /// Exactly one value of the groups.
    OnlyOne,
    /// At least one.
    OneOrMore,
    /// Every value of the groups.
    All,
}

/// When a label constraint applies.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum Trigger<'a> {
    /// The label has this classification code.
    Classification(u8),
    /// The label carries any of these values.
    Values(CategorySet<'a>),
}

/// What a label constraint demands once triggered.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum Requirement<'a> {
    /// The label's classification is none of these codes (a SPIF's `excludedClass`).
    ExcludedClass(&'a [u8]),
    /// The label's values in the groups satisfy the operation (`requiredCategory`).
    Required {
        /// How many of the groups' values the label must carry.
        op: RequireOp,
        /// The groups.
        groups: Vec<CategoryGroup<'a>, MAX_CONSTRAINT_GROUPS>,
    },
    /// The label carries no value of the groups (`excludedCategory`).
    Excluded(Vec<CategoryGroup<'a>, MAX_CONSTRAINT_GROUPS>),
}

/// A validity rule for labels, after a SPIF's `excludedClass`, `requiredCategory` and
/// `excludedCategory`: when `when` holds, `require` must hold too.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Constraint<'a> {
    /// When it applies.
    pub when: Trigger<'a>,
    /// What it demands.
    pub require: Requirement<'a>,
}

/// One category value on a label or in a rule.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct CategoryValue {
    /// The category's tag.
    pub tag: u8,
    /// The value code.
    pub value: u16,
}

/// "Classification up to `max_classification` (and, if set, carrying a value of `category`) is
/// releasable to `to`." A rule without a category is the baseline for unmarked data.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct ReleaseRule<'a> {
    /// The highest classification code the rule covers (by the policy's hierarchy).
    pub max_classification: u8,
    /// The category values the rule is about (each of them is released), or `None` for the
    /// baseline.
    pub category: Option<CategorySet<'a>>,
    /// The audience domains.
    pub to: Vec<Domain, MAX_RULE_DOMAINS>,
}

/// A domain's labelling and release policy at one FMN spiral, modelled on STANAG 4774/4778.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Policy<'a> {
    /// The domain whose policy this is.
    pub domain: Domain,
    /// The signing key.
    pub signer: KeyId,
    /// The policy's id within its domain.
    pub id: u32,
    /// Its version: a node admits only newer versions.
    pub version: u32,
    /// The FMN spiral it belongs to.
    pub spiral: u8,
    /// Its name, for people.
    pub name: &'a str,
    /// The hierarchy, lowest first: a code's rank is its position.
    pub classifications: Vec<Classification<'a>, MAX_CLASSIFICATIONS>,
    /// The categories labels may carry.
    pub categories: Vec<Category<'a>, MAX_CATEGORIES>,
    /// The release rules.
    pub rules: Vec<ReleaseRule<'a>, MAX_RULES>,
    /// The label validity constraints (from a SPIF; empty for a hand-written policy).
    pub constraints: Vec<Constraint<'a>, MAX_CONSTRAINTS>,
}

impl Policy<'_> {
    /// The rank of a classification code in the hierarchy (0 = lowest), or `None` if the policy
    /// does not define it.
    pub fn rank(&self, code: u8) -> Option<usize> {
        self.classifications.iter().position(|c| c.code == code)
    }

    /// The category with `tag`.
    pub fn category(&self, tag: u8) -> Option<&Category<'_>> {
        self.categories.iter().find(|c| c.tag == tag)
    }
}

/// A classification level mapping inside a translator.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ClassMap {
    /// The code in the source policy.
    pub from: u8,
    /// The code in the target policy.
    pub to: u8,
}

/// A category/caveat equivalence: one value in the source means one value in the target.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Equivalence {
    /// The source value.
    pub from: CategoryValue,
    /// The target value.
    pub to: CategoryValue,
}

/// A field-level bridge: a whole category moved to another tag between spirals, its value codes
/// unchanged. Equivalences take precedence over bridges for the values they name.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct FieldBridge {
    /// The source tag.
    pub from_tag: u8,
    /// The target tag.
    pub to_tag: u8,
}

/// A signed mapping from (domain A, spiral N) to (domain B, spiral M). Its signer must hold
/// translator-scoped credentials in both domains.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Translator<'a> {
    /// The source side; its domain is the one the translator is filed under.
    pub from: SpiralRef,
    /// The signing key.
    pub signer: KeyId,
    /// The target side.
    pub to: SpiralRef,
    /// The translator's id, unique between its two domains.
    pub id: u32,
    /// Its version: a node admits only newer versions.
    pub version: u32,
    /// Its name, for people.
    pub name: &'a str,
    /// Classification level mappings.
    pub classifications: Vec<ClassMap, MAX_MAPPINGS>,
    /// Category value equivalences.
    pub equivalences: Vec<Equivalence, MAX_MAPPINGS>,
    /// Field-level bridges.
    pub bridges: Vec<FieldBridge, MAX_MAPPINGS>,
}

/// One thing a revocation delta revokes, in the revoking domain.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum Revoked {
    /// Every credential the domain holds for this key (and so everything below it).
    Key(KeyId),
    /// The domain's policy `id`, this version and every older one.
    Policy {
        /// The policy id.
        id: u32,
        /// The newest revoked version.
        version: u32,
    },
    /// Translator `id` from or to the domain, this version and every older one.
    Translator {
        /// The translator id.
        id: u32,
        /// The newest revoked version.
        version: u32,
    },
}

impl Revoked {
    /// Whether both name the same key, policy or translator (whatever the versions).
    pub fn same_subject(&self, other: &Revoked) -> bool {
        match (self, other) {
            (Revoked::Key(x), Revoked::Key(y)) => x == y,
            (Revoked::Policy { id: x, .. }, Revoked::Policy { id: y, .. })
            | (Revoked::Translator { id: x, .. }, Revoked::Translator { id: y, .. }) => x == y,
            _ => false,
        }
    }

    /// Of this entry and `other` (same subject), the one that revokes more: the higher
    /// version; this one when they say the same.
    pub fn later_of(self, other: Revoked) -> Revoked {
        match (self, other) {
            (Revoked::Policy { version: a, .. }, Revoked::Policy { version: b, .. })
            | (Revoked::Translator { version: a, .. }, Revoked::Translator { version: b, .. })
                if b > a =>
            {
                other
            }
            _ => self,
        }
    }

    /// Whether this entry says at least what `entry` says (same subject, version at least).
    pub fn covers(&self, entry: &Revoked) -> bool {
        self.same_subject(entry) && entry.later_of(*self) == *self
    }
}

/// A domain's revocation delta: sequence number `seq` follows `seq - 1`, like a delta CRL. The
/// first delta of a domain has sequence 1.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Revocation {
    /// The revoking domain.
    pub domain: Domain,
    /// The signing key (the root or a revocation-scoped key).
    pub signer: KeyId,
    /// The sequence number.
    pub seq: u32,
    /// What is revoked.
    pub entries: Vec<Revoked, MAX_REVOCATION_ENTRIES>,
}

/// A domain's revocation checkpoint: every revocation entry in force in the domain after
/// sequence number `seq`, signed by the domain's root. A node that admits it forgets the deltas
/// up to `seq` (memory follows the live revocations, not the history), and a node that is
/// further behind than its neighbours remember takes it instead of the missing deltas.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct Checkpoint {
    /// The revoking domain.
    pub domain: Domain,
    /// The signing key: a root of the domain.
    pub signer: KeyId,
    /// The last delta it summarises.
    pub seq: u32,
    /// Every entry in force (it must cover every entry a node holds for the domain).
    pub entries: Vec<Revoked, MAX_CHECKPOINT_ENTRIES>,
}

/// One step of rebuilding a policy's signed bytes from its base's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
pub enum DeltaOp<'a> {
    /// Copy `len` bytes from `offset` in the base's signed bytes.
    Copy {
        /// Where to start in the base.
        offset: u16,
        /// How many bytes.
        len: u16,
    },
    /// Append these bytes.
    Insert(&'a [u8]),
}

/// A policy delta: byte-level edits from a held base version to a new version. The envelope's
/// signature is the new version's own signature, so after applying the ops a node holds exactly
/// the policy artifact the authority signed, and admits it as one. Edits work on bytes rather
/// than on the decoded policy because postcard is not canonical: re-encoding is never trusted.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize)]
pub struct PolicyDelta<'a> {
    /// The policy's domain.
    pub domain: Domain,
    /// The policy id.
    pub id: u32,
    /// The version the ops apply to.
    pub base_version: u32,
    /// The digest of that version's artifact bytes.
    pub base_digest: Digest,
    /// The version the ops produce.
    pub version: u32,
    /// The edits.
    pub ops: Vec<DeltaOp<'a>, MAX_DELTA_OPS>,
    /// The digest of the resulting policy artifact (signed bytes and signature).
    pub result_digest: Digest,
}

/// Which artifact, exactly: what lineage records and admission reports.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// Its kind.
    pub kind: Kind,
    /// The domain it is filed under.
    pub domain: Domain,
    /// Its id (policy and translator ids; a revocation's sequence number; 0 for credentials).
    pub id: u32,
    /// Its version (for credentials, the end of validity).
    pub version: u64,
    /// SHA-256 of its bytes as received.
    pub digest: Digest,
}
