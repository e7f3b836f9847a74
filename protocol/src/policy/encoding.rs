//! The artifact envelope: how a signed artifact looks on the wire, and how it is checked.
//!
//! ```text
//! 0        format version (FORMAT_VERSION)
//! 1        kind tag (Kind)
//! 2..n-64  the body, postcard-encoded (model types, fields in declaration order; read back by
//!          `policy::body`'s hand-written decoder)
//! n-64..n  ECDSA P-256 signature, raw r || s, 32 bytes each, low-S
//! ```
//!
//! The signature covers SHA-256 of [`SIGNING_CONTEXT`] followed by bytes `0..n-64` as received:
//! the context keeps these signatures from meaning anything to another protocol that shares a
//! key, and the kind tag inside the signed bytes keeps a policy's signature from passing for a
//! translator's. Signatures must be low-S: (r, n-s) would verify too, and a relay could otherwise
//! mint a second byte string for the same artifact and frame its authority for equivocation.
//!
//! A policy delta's envelope carries the signature of the policy it produces, not its own (see
//! [`PolicyDelta`]).
//!
//! Bytes are never re-encoded to be compared or hashed: postcard is not canonical, so digests and
//! signatures are over the bytes exactly as they arrived.

use core::fmt;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::model::{
    Checkpoint, Credential, DeltaOp, Digest, Domain, KeyId, Policy, PolicyDelta, Revocation,
    Translator,
};
pub use super::verifier::VerifyingKey;
use super::verifier::{Active, SignatureVerifier as _};
use super::{MAX_ARTIFACT_LEN, MAX_DELTA_OPS};

/// The envelope format this code reads and writes.
pub const FORMAT_VERSION: u8 = 1;
/// The length of a raw r || s signature.
pub const SIGNATURE_LEN: usize = 64;
/// Prepended to the signed bytes before hashing; never sent.
pub const SIGNING_CONTEXT: &[u8] = b"skywave artifact\0";
/// Format version and kind tag.
const HEADER_LEN: usize = 2;

/// The kinds of artifact, with their wire tags.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[repr(u8)]
pub enum Kind {
    /// A [`Credential`].
    Credential = 1,
    /// A [`Policy`].
    Policy = 2,
    /// A [`Translator`].
    Translator = 3,
    /// A [`Revocation`] delta.
    Revocation = 4,
    /// A [`PolicyDelta`].
    PolicyDelta = 5,
    /// A revocation [`Checkpoint`].
    Checkpoint = 6,
}

impl Kind {
    /// The kind for a wire tag.
    pub const fn from_tag(tag: u8) -> Option<Kind> {
        Some(match tag {
            1 => Kind::Credential,
            2 => Kind::Policy,
            3 => Kind::Translator,
            4 => Kind::Revocation,
            5 => Kind::PolicyDelta,
            6 => Kind::Checkpoint,
            _ => return None,
        })
    }

    /// The kind's name, for people.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Credential => "credential",
            Kind::Policy => "policy",
            Kind::Translator => "translator",
            Kind::Revocation => "revocation",
            Kind::PolicyDelta => "policy-delta",
            Kind::Checkpoint => "checkpoint",
        }
    }
}

/// A decoded artifact body.
#[derive(Clone, PartialEq, Eq, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box with; an artifact is decoded on the stack, one at a time"
)]
pub enum Artifact<'a> {
    /// A credential.
    Credential(Credential),
    /// A policy.
    Policy(Policy<'a>),
    /// A translator.
    Translator(Translator<'a>),
    /// A revocation delta.
    Revocation(Revocation),
    /// A policy delta.
    PolicyDelta(PolicyDelta<'a>),
    /// A revocation checkpoint.
    Checkpoint(Checkpoint),
}

impl Artifact<'_> {
    /// The artifact's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Artifact::Credential(_) => Kind::Credential,
            Artifact::Policy(_) => Kind::Policy,
            Artifact::Translator(_) => Kind::Translator,
            Artifact::Revocation(_) => Kind::Revocation,
            Artifact::PolicyDelta(_) => Kind::PolicyDelta,
            Artifact::Checkpoint(_) => Kind::Checkpoint,
        }
    }

    /// The domain the artifact is filed under (a translator's source domain).
    pub fn domain(&self) -> Domain {
        match self {
            Artifact::Credential(c) => c.domain,
            Artifact::Policy(p) => p.domain,
            Artifact::Translator(t) => t.from.domain,
            Artifact::Revocation(r) => r.domain,
            Artifact::PolicyDelta(d) => d.domain,
            Artifact::Checkpoint(c) => c.domain,
        }
    }

    /// The signing key's id; `None` for a policy delta, whose signature belongs to the policy it
    /// produces.
    pub fn signer(&self) -> Option<KeyId> {
        match self {
            Artifact::Credential(c) => Some(c.signer),
            Artifact::Policy(p) => Some(p.signer),
            Artifact::Translator(t) => Some(t.signer),
            Artifact::Revocation(r) => Some(r.signer),
            Artifact::PolicyDelta(_) => None,
            Artifact::Checkpoint(c) => Some(c.signer),
        }
    }
}

/// Why bytes are not an artifact.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DecodeError {
    /// Fewer bytes than a header and a signature.
    Truncated,
    /// More than [`MAX_ARTIFACT_LEN`] bytes.
    TooLong,
    /// A format version this code does not read.
    UnknownFormatVersion(u8),
    /// A kind tag that names no artifact kind.
    UnknownKind(u8),
    /// The body does not decode as its kind (or a list overflows its capacity).
    Body,
    /// The body decodes but bytes are left over before the signature.
    TrailingBytes,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("truncated"),
            DecodeError::TooLong => write!(f, "longer than {MAX_ARTIFACT_LEN} bytes"),
            DecodeError::UnknownFormatVersion(v) => write!(f, "unknown format version {v}"),
            DecodeError::UnknownKind(k) => write!(f, "unknown artifact kind {k}"),
            DecodeError::Body => f.write_str("body does not decode"),
            DecodeError::TrailingBytes => f.write_str("trailing bytes after the body"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why an artifact could not be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall,
    /// The artifact would be longer than [`MAX_ARTIFACT_LEN`].
    TooLong,
    /// A policy delta's base and result are not two versions of one policy, oldest first.
    NotPolicyVersions,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferTooSmall => f.write_str("output buffer too small"),
            EncodeError::TooLong => write!(f, "artifact longer than {MAX_ARTIFACT_LEN} bytes"),
            EncodeError::NotPolicyVersions => {
                f.write_str("delta base and result are not two versions of one policy")
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// An artifact as received: its bytes, the part the signature covers, the signature, and the
/// decoded body (borrowing from the bytes).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Signed<'a> {
    /// The whole artifact.
    pub bytes: &'a [u8],
    /// Format version, kind tag and body: what the signature covers.
    pub signed: &'a [u8],
    /// The raw r || s signature.
    pub signature: [u8; SIGNATURE_LEN],
    /// The decoded body.
    pub artifact: Artifact<'a>,
}

impl<'a> Signed<'a> {
    /// Splits and decodes an artifact. Never panics, whatever the bytes.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_ARTIFACT_LEN {
            return Err(DecodeError::TooLong);
        }
        let (signed, signature) = bytes
            .len()
            .checked_sub(SIGNATURE_LEN)
            .and_then(|at| bytes.split_at_checked(at))
            .ok_or(DecodeError::Truncated)?;
        let signature: [u8; SIGNATURE_LEN] =
            signature.try_into().map_err(|_| DecodeError::Truncated)?;
        let (&[version, tag], body) = signed
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(DecodeError::Truncated)?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnknownFormatVersion(version));
        }
        let kind = Kind::from_tag(tag).ok_or(DecodeError::UnknownKind(tag))?;
        // The body is decoded where it will be returned from, not built and then moved in
        // (`body::decode_into`): one artifact in this frame instead of two.
        let mut artifact = super::body::blank();
        super::body::decode_into(kind, body, &mut artifact)?;
        Ok(Signed {
            bytes,
            signed,
            signature,
            artifact,
        })
    }

    /// Whether `key` made this artifact's signature (for a policy delta: the resulting policy's,
    /// so check that after applying it).
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        verify(key, self.signed, &self.signature)
    }
}

/// The prehash the signature is over: SHA-256 of the context and the signed bytes.
pub fn message_hash(signed: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(SIGNING_CONTEXT);
    hasher.update(signed);
    hasher.finalize().into()
}

/// Whether `signature` (raw r || s, low-S) over `signed` verifies under `key`, through the
/// build's verifier ([`super::verifier::Active`]: RustCrypto on hosts, p256-cm4 on the
/// Cortex-M4 firmware).
pub fn verify(key: &VerifyingKey, signed: &[u8], signature: &[u8; SIGNATURE_LEN]) -> bool {
    Active::verify_prehash(key, &message_hash(signed), signature)
}

/// Writes the signed part of an artifact (format version, kind tag, body) at the start of
/// `out`; returns its length. Append a signature with [`attach`].
pub fn encode_signed_part(artifact: &Artifact<'_>, out: &mut [u8]) -> Result<usize, EncodeError> {
    let (header, body) = out
        .split_first_chunk_mut::<HEADER_LEN>()
        .ok_or(EncodeError::BufferTooSmall)?;
    *header = [FORMAT_VERSION, artifact.kind() as u8];
    let written = match artifact {
        Artifact::Credential(c) => postcard::to_slice(c, body),
        Artifact::Policy(p) => postcard::to_slice(p, body),
        Artifact::Translator(t) => postcard::to_slice(t, body),
        Artifact::Revocation(r) => postcard::to_slice(r, body),
        Artifact::PolicyDelta(d) => postcard::to_slice(d, body),
        Artifact::Checkpoint(c) => postcard::to_slice(c, body),
    }
    .map_err(|_| EncodeError::BufferTooSmall)?
    .len();
    let len = HEADER_LEN + written;
    if len + SIGNATURE_LEN > MAX_ARTIFACT_LEN {
        return Err(EncodeError::TooLong);
    }
    Ok(len)
}

/// Appends `signature` after the `len` signed bytes at the start of `out`; returns the artifact's
/// length.
pub fn attach(
    out: &mut [u8],
    len: usize,
    signature: &[u8; SIGNATURE_LEN],
) -> Result<usize, EncodeError> {
    let end = len + SIGNATURE_LEN;
    out.get_mut(len..end)
        .ok_or(EncodeError::BufferTooSmall)?
        .copy_from_slice(signature);
    Ok(end)
}

/// The RFC 6979 (deterministic) low-S signature of `key` over `signed`. Deterministic signing
/// means re-signing the same source gives the same bytes, which is what lets the authority tool
/// rebuild a delta's base from its source.
#[cfg(any(feature = "std", test))]
pub fn signature_over(key: &p256::ecdsa::SigningKey, signed: &[u8]) -> [u8; SIGNATURE_LEN] {
    use p256::ecdsa::signature::hazmat::PrehashSigner;
    // A 32-byte prehash is always accepted for P-256, so the error arm cannot occur; it yields
    // an all-zero signature that no verifier accepts rather than a panic.
    let signature: p256::ecdsa::Signature = match key.sign_prehash(&message_hash(signed)) {
        Ok(sig) => sig,
        Err(_) => return [0; SIGNATURE_LEN],
    };
    let signature = signature.normalize_s().unwrap_or(signature);
    signature.to_bytes().into()
}

/// Encodes and signs `artifact` with `key` into `out`; returns the artifact's length. Not for
/// policy deltas, which carry the resulting policy's signature (see [`attach`]).
#[cfg(any(feature = "std", test))]
pub fn sign(
    key: &p256::ecdsa::SigningKey,
    artifact: &Artifact<'_>,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let len = encode_signed_part(artifact, out)?;
    let signature = signature_over(key, out.get(..len).ok_or(EncodeError::BufferTooSmall)?);
    attach(out, len, &signature)
}

/// The shortest run of base bytes worth a `Copy` op: a copy costs 3 to 5 bytes to encode.
const MIN_COPY: usize = 6;

/// Writes the policy delta that turns `base` into `result` (two signed versions of one policy)
/// into `out`; returns its length. The edits copy every run of at least 6 bytes (`MIN_COPY`) that
/// the result shares with the base and insert the rest, found greedily (longest match first, in
/// O(base x result) time: fine for an authority tool and artifacts of at most 1023 bytes). A
/// changed version number and one added rule cost a few bytes more than the rule itself.
pub fn encode_delta(
    base: &Signed<'_>,
    result: &Signed<'_>,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let (Artifact::Policy(old), Artifact::Policy(new)) = (&base.artifact, &result.artifact) else {
        return Err(EncodeError::NotPolicyVersions);
    };
    if old.domain != new.domain || old.id != new.id || old.version >= new.version {
        return Err(EncodeError::NotPolicyVersions);
    }
    let (from, to) = (base.signed, result.signed);
    let common = |a: &[u8], b: &[u8]| a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let narrow = |at: usize| u16::try_from(at).map_err(|_| EncodeError::TooLong);
    let mut ops = heapless::Vec::<DeltaOp<'_>, MAX_DELTA_OPS>::new();
    let mut push = |op| ops.push(op).map_err(|_| EncodeError::TooLong);
    let (mut at, mut pending) = (0, 0);
    while let Some(rest) = to.get(at..).filter(|r| !r.is_empty()) {
        let (offset, len) = (0..from.len())
            .map(|o| (o, common(from.get(o..).unwrap_or_default(), rest)))
            .max_by_key(|&(o, len)| (len, core::cmp::Reverse(o)))
            .unwrap_or((0, 0));
        if len < MIN_COPY {
            at += 1;
            continue;
        }
        if let Some(inserted) = to.get(pending..at).filter(|i| !i.is_empty()) {
            push(DeltaOp::Insert(inserted))?;
        }
        push(DeltaOp::Copy {
            offset: narrow(offset)?,
            len: narrow(len)?,
        })?;
        at += len;
        pending = at;
    }
    if let Some(inserted) = to.get(pending..).filter(|i| !i.is_empty()) {
        push(DeltaOp::Insert(inserted))?;
    }
    let delta = PolicyDelta {
        domain: new.domain,
        id: new.id,
        base_version: old.version,
        base_digest: Digest::of(base.bytes),
        version: new.version,
        ops,
        result_digest: Digest::of(result.bytes),
    };
    let len = encode_signed_part(&Artifact::PolicyDelta(delta), out)?;
    attach(out, len, &result.signature)
}
