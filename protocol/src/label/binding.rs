//! The binding of a label to the data it labels, after ADatP-4778: the originating node signs
//! the compact label, SHA-256 of the data, the source and destination node addresses and SAPs
//! and a per-origin sequence number, with its node key (a [`Scope::NODE`] credential binds the
//! key to the source address).
//!
//! On the air, beside the data:
//!
//! ```text
//! 0        format (1)
//! ..       sequence number (varint, per origin, from 1)
//! 4 bytes  the first 4 bytes of SHA-256(data): tells "data does not match" from a forgery
//! 1 byte   compact label length, then the compact label (super::compact)
//! 64 bytes ECDSA P-256 signature, raw r || s, low-S
//! ```
//!
//! The signature is over SHA-256(`"skywave binding\0"` ‖ format ‖ sequence (8 bytes BE) ‖ the
//! label's length and bytes ‖ SHA-256(data) ‖ source address (4 BE) ‖ source SAP ‖ destination
//! address (4 BE) ‖ destination SAP). The addresses and SAPs are not repeated in the binding:
//! they travel in the S_PDU and D_PDU headers, and the receiver supplies what it saw, so a
//! binding moved to another destination, SAP or claimed origin no longer verifies. For
//! ADatP-4774 Table 17 example 4 (18-byte compact label) a binding is 88 bytes.
//!
//! [`Scope::NODE`]: crate::policy::Scope::NODE

use core::fmt;

use p256::ecdsa::Signature;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::policy::signer::{ActiveSigner, SignatureSigner as _, SigningKey};
use crate::policy::verifier::{Active, SignatureVerifier as _, VerifyingKey};
use crate::policy::{LabelRecord, NodeIdentity, Trust, UnixTime, encoding::SIGNATURE_LEN};

use super::compact::{self, LabelError, MAX_COMPACT_LABEL_LEN};

/// The binding format this code reads and writes.
pub const BINDING_FORMAT: u8 = 1;
/// Prepended to the signed fields before hashing; never sent.
pub const BINDING_CONTEXT: &[u8] = b"skywave binding\0";
/// How much of the data's digest travels in the binding.
pub const DIGEST_PREFIX_LEN: usize = 4;
/// The longest binding.
pub const MAX_BINDING_LEN: usize =
    1 + 10 + DIGEST_PREFIX_LEN + 1 + MAX_COMPACT_LABEL_LEN + SIGNATURE_LEN;
/// How far behind the highest sequence number seen an origin's message may still arrive (out of
/// order, as store-and-forward delivers) and be accepted once.
pub const REPLAY_WINDOW: u64 = 64;

/// The addresses and SAPs a message travels between.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Endpoints {
    /// The originating node's address.
    pub source: u32,
    /// The originating client's SAP.
    pub source_sap: u8,
    /// The destination node's address.
    pub destination: u32,
    /// The destination client's SAP.
    pub destination_sap: u8,
}

/// Why a receiver refuses a binding.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub enum BindingRefusal {
    /// The bytes are not a binding.
    Malformed,
    /// The data's digest does not match the one the binding names.
    DataMismatch,
    /// The label inside does not decode.
    Label(LabelError),
    /// No node credential in good standing names the source address.
    UnknownOrigin {
        /// The source address.
        address: u32,
    },
    /// The signature does not verify under the origin's key for these fields: tampered, or
    /// presented with other addresses or SAPs than it was made for.
    BadSignature,
    /// The origin's sequence number was seen before, or is too old to tell.
    Replayed {
        /// The origin.
        address: u32,
        /// The sequence number offered.
        seq: u64,
    },
    /// The replay table has no room for another origin.
    OriginsFull,
}

impl fmt::Display for BindingRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindingRefusal::Malformed => f.write_str("malformed binding"),
            BindingRefusal::DataMismatch => f.write_str("data does not match the binding"),
            BindingRefusal::Label(e) => write!(f, "label: {e}"),
            BindingRefusal::UnknownOrigin { address } => {
                write!(f, "no node credential for origin {address}")
            }
            BindingRefusal::BadSignature => f.write_str("bad binding signature"),
            BindingRefusal::Replayed { address, seq } => {
                write!(f, "replayed sequence number {seq} from {address}")
            }
            BindingRefusal::OriginsFull => f.write_str("replay table full"),
        }
    }
}

impl core::error::Error for BindingRefusal {}

/// A binding as parsed, not yet verified.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Binding<'a> {
    /// The per-origin sequence number.
    pub seq: u64,
    /// The first bytes of SHA-256(data).
    pub digest_prefix: [u8; DIGEST_PREFIX_LEN],
    /// The compact label.
    pub label: &'a [u8],
    /// The signature.
    pub signature: [u8; SIGNATURE_LEN],
}

fn put_varint(mut v: u64, out: &mut [u8], at: &mut usize) -> Option<()> {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        *out.get_mut(*at)? = if v == 0 { byte } else { byte | 0x80 };
        *at += 1;
        if v == 0 {
            return Some(());
        }
    }
}

fn take_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

impl<'a> Binding<'a> {
    /// Parses a binding. Never panics, whatever the bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BindingRefusal> {
        let bad = BindingRefusal::Malformed;
        if bytes.first() != Some(&BINDING_FORMAT) || bytes.len() > MAX_BINDING_LEN {
            return Err(bad);
        }
        let mut at = 1;
        let seq = take_varint(bytes, &mut at).ok_or(bad)?;
        let digest_prefix = bytes
            .get(at..at + DIGEST_PREFIX_LEN)
            .and_then(|d| d.try_into().ok())
            .ok_or(bad)?;
        at += DIGEST_PREFIX_LEN;
        let label_len = usize::from(*bytes.get(at).ok_or(bad)?);
        at += 1;
        let label = bytes.get(at..at + label_len).ok_or(bad)?;
        at += label_len;
        let signature = bytes
            .get(at..)
            .and_then(|s| <[u8; SIGNATURE_LEN]>::try_from(s).ok())
            .ok_or(bad)?;
        Ok(Binding {
            seq,
            digest_prefix,
            label,
            signature,
        })
    }
}

/// The prehash the origin signs.
pub fn binding_hash(seq: u64, label: &[u8], data_digest: &[u8; 32], ends: &Endpoints) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(BINDING_CONTEXT);
    h.update([BINDING_FORMAT]);
    h.update(seq.to_be_bytes());
    h.update([u8::try_from(label.len()).unwrap_or(u8::MAX)]);
    h.update(label);
    h.update(data_digest);
    h.update(ends.source.to_be_bytes());
    h.update([ends.source_sap]);
    h.update(ends.destination.to_be_bytes());
    h.update([ends.destination_sap]);
    h.finalize().into()
}

/// Writes the binding of `label` (compact form) to `data` between `ends`, with sequence
/// number `seq`, signed by the origin's node `key`, into `out`; returns its length. RFC 6979
/// signing: no random numbers needed, so the adjunct signs too.
pub fn seal(
    key: &SigningKey,
    seq: u64,
    label: &[u8],
    data: &[u8],
    ends: &Endpoints,
    out: &mut [u8],
) -> Result<usize, LabelError> {
    compact::decode(label)?;
    let label_len = u8::try_from(label.len()).map_err(|_| LabelError::Malformed)?;
    let digest: [u8; 32] = Sha256::digest(data).into();
    // Low-S already (policy::signer), through the build's signer.
    let signature = ActiveSigner::sign_prehash(key, &binding_hash(seq, label, &digest, ends))
        .ok_or(LabelError::Malformed)?;
    let small = LabelError::BufferTooSmall;
    *out.first_mut().ok_or(small)? = BINDING_FORMAT;
    let mut at = 1;
    put_varint(seq, out, &mut at).ok_or(small)?;
    let mut put = |bytes: &[u8]| -> Result<(), LabelError> {
        out.get_mut(at..at + bytes.len())
            .ok_or(small)?
            .copy_from_slice(bytes);
        at += bytes.len();
        Ok(())
    };
    put(digest.get(..DIGEST_PREFIX_LEN).unwrap_or_default())?;
    put(&[label_len])?;
    put(label)?;
    put(&signature)?;
    Ok(at)
}

/// What a receiver learns from a binding that verified.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Verified {
    /// The origin's sequence number.
    pub seq: u64,
    /// The label, decoded (decide on it with [`super::guard::decide`]).
    pub label: LabelRecord,
    /// Who signed it: the origin node, its domain and credential.
    pub origin: NodeIdentity,
}

/// The checks a receiver makes, in order: the binding parses; the data matches its digest; the
/// label decodes; a node credential in good standing names the source address; the signature
/// verifies over these fields; the sequence number is new for that origin. Only a binding that
/// passes all of them is recorded in `window`.
#[allow(
    clippy::too_many_arguments,
    reason = "each is one field the signature covers"
)]
pub fn verify<const N: usize>(
    store: &impl Trust,
    window: &mut ReplayWindow<N>,
    binding: &[u8],
    data: &[u8],
    ends: &Endpoints,
    now: Option<UnixTime>,
) -> Result<Verified, BindingRefusal> {
    let parsed = Binding::parse(binding)?;
    let digest: [u8; 32] = Sha256::digest(data).into();
    verify_parsed(store, window, &parsed, &digest, ends, now)
}

/// [`verify`] for a binding already parsed and the data's SHA-256 already taken (a receiver
/// that reports both whatever the verdict: `crate::station`), so neither is done twice.
pub fn verify_parsed<const N: usize>(
    store: &impl Trust,
    window: &mut ReplayWindow<N>,
    parsed: &Binding<'_>,
    digest: &[u8; 32],
    ends: &Endpoints,
    now: Option<UnixTime>,
) -> Result<Verified, BindingRefusal> {
    if digest.get(..DIGEST_PREFIX_LEN) != Some(&parsed.digest_prefix[..]) {
        return Err(BindingRefusal::DataMismatch);
    }
    let label = compact::decode(parsed.label).map_err(BindingRefusal::Label)?;
    let hash = binding_hash(parsed.seq, parsed.label, digest, ends);
    // Malformed or high-S signatures are refused before the origin is looked up; the verifier
    // checks the same again.
    let signature =
        Signature::from_slice(&parsed.signature).map_err(|_| BindingRefusal::BadSignature)?;
    if signature.normalize_s().is_some() {
        return Err(BindingRefusal::BadSignature);
    }
    let signature = &parsed.signature;
    let mut known = false;
    let mut origin = None;
    for identity in store.node_identities(ends.source, now) {
        known = true;
        if verifies(&identity.key, &hash, signature) {
            origin = Some(identity);
            break;
        }
    }
    let origin = match (origin, known) {
        (Some(o), _) => o,
        (None, true) => return Err(BindingRefusal::BadSignature),
        (None, false) => {
            return Err(BindingRefusal::UnknownOrigin {
                address: ends.source,
            });
        }
    };
    window.accept(ends.source, parsed.seq)?;
    Ok(Verified {
        seq: parsed.seq,
        label,
        origin,
    })
}

/// Through the build's verifier (`policy::verifier::Active`), as artifact signatures are.
fn verifies(key: &VerifyingKey, hash: &[u8; 32], signature: &[u8; SIGNATURE_LEN]) -> bool {
    Active::verify_prehash(key, hash, signature)
}

/// One origin's replay state: the highest sequence number accepted and which of the
/// [`REPLAY_WINDOW`] below it were seen (bit `i`: `highest - 1 - i`). Plain data, so a driver
/// persists it and restores it after a restart.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct OriginState {
    /// The origin node's address.
    pub address: u32,
    /// The highest sequence number accepted (0: none).
    pub highest: u64,
    /// The window below it.
    pub seen: u64,
}

/// Per-origin replay protection for up to `N` origins, like IPsec's anti-replay window: a
/// sequence number is accepted once, out of order within [`REPLAY_WINDOW`] of the highest.
#[derive(Clone, Debug, Default)]
pub struct ReplayWindow<const N: usize> {
    origins: heapless::Vec<OriginState, N>,
}

impl<const N: usize> ReplayWindow<N> {
    /// An empty table.
    pub const fn new() -> Self {
        ReplayWindow {
            origins: heapless::Vec::new(),
        }
    }

    /// The state of every origin, to persist.
    pub fn origins(&self) -> &[OriginState] {
        &self.origins
    }

    /// Restores an origin's persisted state (replacing what is held for it).
    pub fn restore(&mut self, state: OriginState) -> Result<(), BindingRefusal> {
        match self.origins.iter_mut().find(|o| o.address == state.address) {
            Some(o) => *o = state,
            None => self
                .origins
                .push(state)
                .map_err(|_| BindingRefusal::OriginsFull)?,
        }
        Ok(())
    }

    /// Whether `seq` from `address` would be accepted, without recording it.
    pub fn check(&self, address: u32, seq: u64) -> Result<(), BindingRefusal> {
        let replayed = BindingRefusal::Replayed { address, seq };
        if seq == 0 {
            return Err(replayed);
        }
        match self.origins.iter().find(|o| o.address == address) {
            None if self.origins.is_full() => Err(BindingRefusal::OriginsFull),
            None => Ok(()),
            Some(o) if seq > o.highest => Ok(()),
            Some(o) => {
                let back = o.highest - seq;
                if back == 0 || back > REPLAY_WINDOW || o.seen & (1 << (back - 1)) != 0 {
                    Err(replayed)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Records `seq` from `address`, or says why it is refused.
    pub fn accept(&mut self, address: u32, seq: u64) -> Result<(), BindingRefusal> {
        self.check(address, seq)?;
        let Some(o) = self.origins.iter_mut().find(|o| o.address == address) else {
            return self
                .origins
                .push(OriginState {
                    address,
                    highest: seq,
                    seen: 0,
                })
                .map_err(|_| BindingRefusal::OriginsFull);
        };
        if seq > o.highest {
            let shift = seq - o.highest;
            let moved = u32::try_from(shift)
                .ok()
                .and_then(|s| o.seen.checked_shl(s))
                .unwrap_or(0);
            let old = u32::try_from(shift - 1)
                .ok()
                .and_then(|s| 1u64.checked_shl(s))
                .unwrap_or(0);
            o.seen = moved | old;
            o.highest = seq;
        } else {
            o.seen |= 1 << (o.highest - seq - 1);
        }
        Ok(())
    }
}
