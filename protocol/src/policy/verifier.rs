//! The signature-verification seam: every artifact signature the core checks goes through
//! [`SignatureVerifier`], and [`Active`] is the one the build uses.
//!
//! - [`RustCrypto`]: the `p256` crate's portable arithmetic, on every host.
//! - `Cm4` (feature `cm4` compiles it, `cm4-verify` makes it [`Active`]; ARM targets only): the `p256-cm4` crate's Cortex-M4 assembly
//!   field arithmetic, about ten times fewer instructions per verification and a fraction of the
//!   flash; the firmware enables it.
//!
//! Both take a key exactly as a credential carries it ([`PublicKey`](super::model::PublicKey):
//! 33 bytes of SEC1) and a signature as the envelope carries it (raw `r || s`, big-endian), and
//! apply the same rules: the key must be a point on the curve (compressed, or SEC1's compact
//! form, which `p256` also takes), `r` and `s` must lie in `1..n`, and `s` must be low (at most
//! `(n - 1) / 2`; see [`super::encoding`]). The firmware's differential test runs the sample
//! coalition and a thousand mutants of it ([`mutants`]) through both on the target and checks
//! their verdicts are identical, and equal to the host's.

use core::fmt;

use p256::ecdsa::Signature;
use p256::ecdsa::signature::hazmat::PrehashVerifier;

/// Verifies ECDSA P-256 signatures over a SHA-256 prehash.
pub trait SignatureVerifier {
    /// A public key decoded once (point decompression) for many verifications.
    type Key: Copy + PartialEq + Eq + fmt::Debug;

    /// Decodes a SEC1-encoded point; `None` unless it is a point on the curve.
    fn key_from_sec1(sec1: &[u8]) -> Option<Self::Key>;

    /// Whether `signature` (raw `r || s`, big-endian, `s` low) signs `prehash` under `key`.
    fn verify_prehash(key: &Self::Key, prehash: &[u8; 32], signature: &[u8; 64]) -> bool;
}

/// RustCrypto's `p256`: portable field arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct RustCrypto;

impl SignatureVerifier for RustCrypto {
    type Key = p256::ecdsa::VerifyingKey;

    fn key_from_sec1(sec1: &[u8]) -> Option<Self::Key> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1).ok()
    }

    fn verify_prehash(key: &Self::Key, prehash: &[u8; 32], signature: &[u8; 64]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        // normalize_s returns Some only for a high S: the malleated twin of a valid signature.
        signature.normalize_s().is_none() && key.verify_prehash(prehash, &signature).is_ok()
    }
}

/// `(n - 1) / 2` for P-256's group order `n`, big-endian: the largest low `s`.
pub const HALF_ORDER: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// P-256's group order `n`, big-endian.
pub const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

#[cfg(all(feature = "cm4", target_arch = "arm"))]
pub use cm4::{Cm4, Cm4Key, InvalidKey};
#[cfg(all(feature = "cm4", target_arch = "arm"))]
pub(super) use cm4::{bytes, words};

/// The Cortex-M4 verifier (`p256-cm4`).
#[cfg(all(feature = "cm4", target_arch = "arm"))]
mod cm4 {
    use super::{HALF_ORDER, SignatureVerifier};

    /// `p256-cm4`: Cortex-M4 assembly field arithmetic.
    #[derive(Clone, Copy, Debug)]
    pub struct Cm4;

    /// An affine point, as little-endian 32-bit words, as `p256-cm4` takes it.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Cm4Key {
        x: [u32; 8],
        y: [u32; 8],
    }

    /// The field prime `p`, little-endian words.
    const P: [u32; 8] = [
        0xffff_ffff,
        0xffff_ffff,
        0xffff_ffff,
        0,
        0,
        0,
        1,
        0xffff_ffff,
    ];

    /// Big-endian bytes to little-endian words, as `p256-cm4` takes scalars.
    pub(in crate::policy) fn words(bytes: &[u8; 32]) -> [u32; 8] {
        let mut out = [0u32; 8];
        for (i, word) in out.iter_mut().enumerate() {
            let at = 28 - 4 * i;
            *word = u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
        }
        out
    }

    /// Little-endian words back to big-endian bytes.
    pub(in crate::policy) fn bytes(words: &[u32; 8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(words.iter().rev()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// `a > b` for little-endian words.
    fn greater(a: &[u32; 8], b: &[u32; 8]) -> bool {
        for i in (0..8).rev() {
            if a[i] != b[i] {
                return a[i] > b[i];
            }
        }
        false
    }

    /// `p - y` for `y < p`.
    fn negate(y: &[u32; 8]) -> [u32; 8] {
        let mut out = [0u32; 8];
        let mut borrow = 0u64;
        for i in 0..8 {
            let d = u64::from(P[i])
                .wrapping_sub(u64::from(y[i]))
                .wrapping_sub(borrow);
            out[i] = d as u32;
            borrow = (d >> 63) & 1;
        }
        out
    }

    impl Cm4Key {
        /// As [`p256::ecdsa::VerifyingKey::from_sec1_bytes`] for the encodings a credential can
        /// carry in its 33 bytes: compressed (`02`/`03`) and compact (`05`, the `y` that is the
        /// smaller of `y` and `p - y`); anything else is refused.
        pub fn from_sec1_bytes(sec1: &[u8]) -> Result<Self, InvalidKey> {
            let (&tag, x_bytes) = sec1.split_first().ok_or(InvalidKey)?;
            let x_bytes: &[u8; 32] = x_bytes.try_into().map_err(|_| InvalidKey)?;
            let (mut x, mut y) = ([0u32; 8], [0u32; 8]);
            match tag {
                2 | 3 => {
                    if !p256_cm4::octet_string_to_point(&mut x, &mut y, sec1) {
                        return Err(InvalidKey);
                    }
                }
                5 => {
                    let mut even = [0u8; 33];
                    even[0] = 2;
                    even[1..].copy_from_slice(x_bytes);
                    if !p256_cm4::octet_string_to_point(&mut x, &mut y, &even) {
                        return Err(InvalidKey);
                    }
                    let negated = negate(&y);
                    if greater(&y, &negated) {
                        y = negated;
                    }
                }
                _ => return Err(InvalidKey),
            }
            Ok(Self { x, y })
        }
    }

    /// A SEC1 string that is no point on the curve.
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct InvalidKey;

    impl SignatureVerifier for Cm4 {
        type Key = Cm4Key;

        fn key_from_sec1(sec1: &[u8]) -> Option<Self::Key> {
            Cm4Key::from_sec1_bytes(sec1).ok()
        }

        fn verify_prehash(key: &Self::Key, prehash: &[u8; 32], signature: &[u8; 64]) -> bool {
            let (r, s) = signature.split_at(32);
            let (Ok(r), Ok(s)) = (<&[u8; 32]>::try_from(r), <&[u8; 32]>::try_from(s)) else {
                return false;
            };
            // Low S (big-endian bytes compare as the numbers); p256-cm4 checks 1 <= r, s < n.
            s <= &HALF_ORDER && p256_cm4::verify(&key.x, &key.y, prehash, &words(r), &words(s))
        }
    }
}

/// The verifier this build uses: `Cm4` with the `cm4-verify` feature on ARM, else [`RustCrypto`].
#[cfg(all(feature = "cm4-verify", target_arch = "arm"))]
pub type Active = Cm4;
/// The verifier this build uses: `Cm4` with the `cm4-verify` feature on ARM, else [`RustCrypto`].
#[cfg(not(all(feature = "cm4-verify", target_arch = "arm")))]
pub type Active = RustCrypto;

/// A decoded public key of the [`Active`] verifier (`p256::ecdsa::VerifyingKey` on hosts); it
/// has `from_sec1_bytes` either way.
pub type VerifyingKey = <Active as SignatureVerifier>::Key;

/// The build-time mutants of the differential test: deterministic, so the firmware's build
/// script and the host's test derive the same ones.
#[allow(
    clippy::indexing_slicing,
    reason = "test-vector generation: every index is reduced modulo a length checked first, and \
              the core never calls it"
)]
pub mod mutants {
    use super::{ORDER, SignatureVerifier};
    use crate::policy::encoding::message_hash;

    /// One signed message with its signer's key, as the sample coalition provides them.
    #[derive(Clone, Copy, Debug)]
    pub struct Base<'a> {
        /// The signer's key, as a credential carries it.
        pub key: &'a [u8; 33],
        /// The whole artifact: the signed part, then the 64-byte signature.
        pub artifact: &'a [u8],
    }

    /// What a mutant changes in its base (`at` and `mask` where they apply).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    #[repr(u8)]
    pub enum Change {
        /// Nothing: the base itself.
        None = 0,
        /// XOR `mask` into signed byte `at` (modulo the signed part's length).
        Message = 1,
        /// XOR `mask` into byte `at` of `r`.
        R = 2,
        /// XOR `mask` into byte `at` of `s`.
        S = 3,
        /// XOR `mask` into byte `at` of the key.
        Key = 4,
        /// The key of base `at` (modulo the bases).
        OtherKey = 5,
        /// The signature of base `at` (modulo the bases).
        OtherSignature = 6,
        /// `s` replaced by `n - s`: the high-S twin.
        HighS = 7,
        /// `r` and `s` swapped.
        SwapRS = 8,
        /// `r` set to 0, `n`, or all ones (`at` % 3).
        REdge = 9,
        /// `s` set to 0, `n`, or all ones (`at` % 3).
        SEdge = 10,
    }

    impl Change {
        const ALL: [Change; 11] = [
            Change::None,
            Change::Message,
            Change::R,
            Change::S,
            Change::Key,
            Change::OtherKey,
            Change::OtherSignature,
            Change::HighS,
            Change::SwapRS,
            Change::REdge,
            Change::SEdge,
        ];

        /// The change with this tag.
        pub fn from_tag(tag: u8) -> Option<Self> {
            Self::ALL.get(usize::from(tag)).copied()
        }
    }

    /// One mutant: base index, change, position, mask (4 bytes on the target).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct Mutant {
        /// The base it mutates.
        pub base: u8,
        /// What it changes.
        pub change: Change,
        /// Where.
        pub at: u8,
        /// The bits flipped (never 0).
        pub mask: u8,
    }

    /// A case ready to verify: key, signed bytes (in `message[..len]`) and signature.
    pub struct Case {
        /// The key as SEC1 bytes.
        pub key: [u8; 33],
        /// The signed bytes (first `len`).
        pub message: [u8; crate::policy::MAX_ARTIFACT_LEN],
        /// How many of `message` are signed.
        pub len: usize,
        /// `r || s`.
        pub signature: [u8; 64],
    }

    impl Case {
        /// An all-zero case, for [`Mutant::apply`] to fill.
        pub const fn empty() -> Self {
            Self {
                key: [0; 33],
                message: [0; crate::policy::MAX_ARTIFACT_LEN],
                len: 0,
                signature: [0; 64],
            }
        }
    }

    fn n_minus(s: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut borrow = 0i16;
        for i in (0..32).rev() {
            let d = i16::from(ORDER[i]) - i16::from(s[i]) - borrow;
            borrow = i16::from(d < 0);
            out[i] = d.rem_euclid(256) as u8;
        }
        out
    }

    impl Mutant {
        /// The case this mutant makes of `bases`; `None` if its base does not exist or is
        /// shorter than a signature.
        pub fn apply(&self, bases: &[Base<'_>], case: &mut Case) -> Option<()> {
            let base = bases.get(usize::from(self.base))?;
            let other = &bases[usize::from(self.at) % bases.len()];
            let signed_len = base.artifact.len().checked_sub(64)?;
            case.key = *base.key;
            case.message
                .get_mut(..signed_len)?
                .copy_from_slice(&base.artifact[..signed_len]);
            case.len = signed_len;
            case.signature.copy_from_slice(&base.artifact[signed_len..]);
            let at = usize::from(self.at);
            let edge = |at: usize| match at % 3 {
                0 => [0u8; 32],
                1 => ORDER,
                _ => [0xff; 32],
            };
            match self.change {
                Change::None => {}
                Change::Message => case.message[at % signed_len] ^= self.mask,
                Change::R => case.signature[at % 32] ^= self.mask,
                Change::S => case.signature[32 + at % 32] ^= self.mask,
                Change::Key => case.key[at % 33] ^= self.mask,
                Change::OtherKey => case.key = *other.key,
                Change::OtherSignature => case
                    .signature
                    .copy_from_slice(&other.artifact[other.artifact.len().checked_sub(64)?..]),
                Change::HighS => {
                    let high = n_minus(&case.signature[32..]);
                    case.signature[32..].copy_from_slice(&high);
                }
                Change::SwapRS => {
                    let (r, s) = case.signature.split_at_mut(32);
                    r.swap_with_slice(s);
                }
                Change::REdge => case.signature[..32].copy_from_slice(&edge(at)),
                Change::SEdge => case.signature[32..].copy_from_slice(&edge(at)),
            }
            Some(())
        }
    }

    /// The verdict of `V` on a case, as the core reaches it: decode the key, then verify.
    pub fn verdict<V: SignatureVerifier>(case: &Case) -> bool {
        V::key_from_sec1(&case.key).is_some_and(|key| {
            V::verify_prehash(
                &key,
                &message_hash(&case.message[..case.len]),
                &case.signature,
            )
        })
    }

    /// The differential test's bases: every artifact of the sample coalition (roots included)
    /// with its signer's key.
    #[cfg(any(test, feature = "std"))]
    pub fn sample_bases() -> std::vec::Vec<([u8; 33], std::vec::Vec<u8>)> {
        use crate::policy::encoding::{Artifact, Signed};
        use std::vec::Vec;
        let c = crate::policy::sample::Coalition::new();
        let all: Vec<Vec<u8>> = c.roots().into_iter().chain(c.artifacts()).collect();
        let keys: Vec<_> = all
            .iter()
            .filter_map(|a| match Signed::decode(a).ok()?.artifact {
                Artifact::Credential(cred) => Some((cred.subject.key_id(), cred.subject.0)),
                _ => None,
            })
            .collect();
        all.iter()
            .filter_map(|a| {
                let signer = Signed::decode(a).ok()?.artifact.signer()?;
                let (_, key) = keys.iter().find(|(id, _)| *id == signer)?;
                Some((*key, a.clone()))
            })
            .collect()
    }

    /// `count` mutants of `bases` (which must be at most 256): each base unchanged first, then
    /// changes drawn from a fixed xorshift sequence, so every build and test makes the same ones.
    pub fn generate(bases: usize, count: usize) -> impl Iterator<Item = Mutant> {
        let mut state: u32 = 0x5eed_5066;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state
        };
        let bases = bases.clamp(1, 256);
        (0..count).map(move |i| {
            if i < bases {
                return Mutant {
                    base: i as u8,
                    change: Change::None,
                    at: 0,
                    mask: 1,
                };
            }
            let word = next();
            let [b, c, at, mask] = word.to_le_bytes();
            // Flipped key bytes past the tag mostly make no point at all: weight the changes
            // that reach the arithmetic.
            let change = Change::ALL[1 + usize::from(c) % (Change::ALL.len() - 1)];
            Mutant {
                base: (usize::from(b) % bases) as u8,
                change,
                at,
                mask: if mask == 0 { 0x80 } else { mask },
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::RustCrypto;
    use super::mutants::{Base, Case, Change, generate, sample_bases, verdict};

    #[test]
    fn high_s_is_exactly_above_half_the_order() {
        // n = 2 * HALF_ORDER + 1.
        let mut doubled = [0u8; 32];
        let mut carry = 1u16;
        for i in (0..32).rev() {
            let v = u16::from(super::HALF_ORDER[i]) * 2 + carry;
            doubled[i] = v as u8;
            carry = v >> 8;
        }
        assert_eq!(doubled, super::ORDER);
    }

    /// The same vectors the firmware's differential test runs on the target (build.rs makes
    /// them from the sample coalition with the same generator), through RustCrypto on the host:
    /// the originals verify, and each mutant's verdict is the one its kind of change implies.
    #[test]
    fn the_differential_vectors_through_rustcrypto_on_the_host() {
        let vectors = sample_bases();
        let bases: Vec<Base<'_>> = vectors
            .iter()
            .map(|(key, artifact)| Base { key, artifact })
            .collect();
        let mut case = Case::empty();
        let (mut valid, mut by_change) = (0, [0usize; 11]);
        for mutant in generate(bases.len(), 1000) {
            mutant.apply(&bases, &mut case).expect("a base");
            let ok = verdict::<RustCrypto>(&case);
            by_change[mutant.change as usize] += 1;
            let base = &bases[usize::from(mutant.base)];
            let other = &bases[usize::from(mutant.at) % bases.len()];
            match mutant.change {
                Change::None => assert!(ok, "base {} verifies", mutant.base),
                Change::OtherKey if other.key == base.key => assert!(ok),
                Change::OtherSignature if other.artifact == base.artifact => assert!(ok),
                _ => assert!(!ok, "{mutant:?} verifies"),
            }
            valid += usize::from(ok);
        }
        assert!(by_change.iter().all(|&n| n > 0), "{by_change:?}");
        assert!(valid >= bases.len());
    }
}
