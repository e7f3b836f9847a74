//! The signing seam, the verifier's twin ([`super::verifier`]): the one signature the core
//! makes itself, a node's over a label binding ([`crate::label::binding::seal`]), goes through
//! [`SignatureSigner`], and [`ActiveSigner`] is the one the build uses, chosen by the same
//! feature as the verifier:
//!
//! - [`RustCrypto`]: the `p256` crate's `SigningKey` (portable arithmetic), on every host;
//! - `Cm4` (feature `cm4-verify`, ARM only): `p256-cm4`'s `sign`, the Cortex-M4 assembly the
//!   firmware already links to verify. Without it a board that guards would link RustCrypto's
//!   whole field arithmetic, its scalar inversion and its point multiplication just to sign,
//!   besides computing a public key it never uses when the key is loaded.
//!
//! Both sign deterministically, after RFC 6979 (the nonce is HMAC-SHA256 of the secret and the
//! prehash, [`rfc6979_nonce`], as `p256` derives it), so a board needs no random numbers, and
//! both normalise `s` to the low half ([`low_s`]), as every verifier here insists. Being
//! deterministic, the two give the same bytes for the same key and prehash: the host test
//! below rebuilds the `Cm4` computation from its parts against RustCrypto, and the firmware's
//! differential test checks `Cm4`'s own signature against RustCrypto's on the target.

use super::verifier::{HALF_ORDER, ORDER, RustCrypto};

/// Signs a SHA-256 prehash with ECDSA P-256.
pub trait SignatureSigner {
    /// A secret key ready to sign with.
    type Key: Clone + core::fmt::Debug;

    /// The key whose secret scalar is `secret` (big-endian); `None` unless it is in `1..n`.
    fn key_from_bytes(secret: &[u8; 32]) -> Option<Self::Key>;

    /// The low-S signature (raw `r || s`, big-endian) of `prehash` under `key`, RFC 6979
    /// nonce; `None` in the 2^-128-odd case where that nonce gives `r` or `s` zero.
    fn sign_prehash(key: &Self::Key, prehash: &[u8; 32]) -> Option<[u8; 64]>;
}

impl SignatureSigner for RustCrypto {
    type Key = p256::ecdsa::SigningKey;

    fn key_from_bytes(secret: &[u8; 32]) -> Option<Self::Key> {
        p256::ecdsa::SigningKey::from_bytes(secret.into()).ok()
    }

    fn sign_prehash(key: &Self::Key, prehash: &[u8; 32]) -> Option<[u8; 64]> {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let signature: p256::ecdsa::Signature = key.sign_prehash(prehash).ok()?;
        let signature = signature.normalize_s().unwrap_or(signature);
        Some(signature.to_bytes().into())
    }
}

/// RFC 6979's nonce for P-256 and SHA-256 exactly as `p256` (ecdsa 0.16) derives it: the
/// first candidate of HMAC-DRBG seeded with the secret and the prehash as given (not reduced
/// modulo `n`), with no extra data; big-endian.
pub fn rfc6979_nonce(secret: &[u8; 32], prehash: &[u8; 32]) -> [u8; 32] {
    rfc6979::generate_k::<sha2::Sha256, _>(secret.into(), (&ORDER).into(), prehash.into(), &[])
        .into()
}

/// `s` itself if it is low (at most `(n - 1) / 2`), else `n - s`: the same signature in the
/// form the verifiers accept. `s` is big-endian and below `n`.
pub fn low_s(s: [u8; 32]) -> [u8; 32] {
    // Big-endian bytes compare as the numbers they are.
    if s <= HALF_ORDER {
        return s;
    }
    let mut out = [0u8; 32];
    let mut borrow = 0u16;
    for ((o, &n), &v) in out.iter_mut().zip(&ORDER).zip(&s).rev() {
        let d = u16::from(n).wrapping_sub(u16::from(v)).wrapping_sub(borrow);
        *o = d as u8;
        borrow = (d >> 15) & 1;
    }
    out
}

#[cfg(all(feature = "cm4", target_arch = "arm"))]
pub use cm4::Cm4SigningKey;

/// `p256-cm4`'s signing.
#[cfg(all(feature = "cm4", target_arch = "arm"))]
mod cm4 {
    use super::super::verifier::{Cm4, bytes, words};
    use super::{SignatureSigner, low_s, rfc6979_nonce};

    /// A secret scalar, as the RFC 6979 nonce needs it (big-endian bytes) and as `p256-cm4`
    /// takes it (little-endian words). No public key: signing does not need one.
    #[derive(Clone)]
    pub struct Cm4SigningKey {
        secret: [u8; 32],
        words: [u32; 8],
    }

    impl core::fmt::Debug for Cm4SigningKey {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            // Never the secret.
            f.write_str("Cm4SigningKey")
        }
    }

    impl SignatureSigner for Cm4 {
        type Key = Cm4SigningKey;

        fn key_from_bytes(secret: &[u8; 32]) -> Option<Self::Key> {
            let words = words(secret);
            p256_cm4::check_range_n(&words).then_some(Cm4SigningKey {
                secret: *secret,
                words,
            })
        }

        fn sign_prehash(key: &Self::Key, prehash: &[u8; 32]) -> Option<[u8; 64]> {
            let k = words(&rfc6979_nonce(&key.secret, prehash));
            let (mut r, mut s) = ([0u32; 8], [0u32; 8]);
            if !p256_cm4::sign(&mut r, &mut s, prehash, &key.words, &k) {
                return None;
            }
            let mut out = [0u8; 64];
            let (r_out, s_out) = out.split_at_mut(32);
            r_out.copy_from_slice(&bytes(&r));
            s_out.copy_from_slice(&low_s(bytes(&s)));
            Some(out)
        }
    }
}

/// The signer this build uses: `Cm4` with the `cm4-verify` feature on ARM, else [`RustCrypto`].
#[cfg(all(feature = "cm4-verify", target_arch = "arm"))]
pub type ActiveSigner = super::verifier::Cm4;
/// The signer this build uses: `Cm4` with the `cm4-verify` feature on ARM, else [`RustCrypto`].
#[cfg(not(all(feature = "cm4-verify", target_arch = "arm")))]
pub type ActiveSigner = RustCrypto;

/// A secret key of the [`ActiveSigner`] (`p256::ecdsa::SigningKey` on hosts); a board makes
/// one from its provisioned bytes with [`signing_key`].
pub type SigningKey = <ActiveSigner as SignatureSigner>::Key;

/// The [`ActiveSigner`]'s key for a secret scalar (big-endian); `None` unless it is in `1..n`.
pub fn signing_key(secret: &[u8; 32]) -> Option<SigningKey> {
    ActiveSigner::key_from_bytes(secret)
}

#[cfg(test)]
mod tests {
    use p256::elliptic_curve::ops::Reduce;
    use p256::elliptic_curve::point::AffineCoordinates;
    use p256::{ProjectivePoint, Scalar, U256};
    use proptest::prelude::*;

    use super::super::verifier::{HALF_ORDER, RustCrypto, SignatureVerifier};
    use super::{SignatureSigner, low_s, rfc6979_nonce};

    /// What `Cm4::sign_prehash` computes, step by step, with `p256`'s arithmetic standing in
    /// for `p256-cm4`'s (which runs on ARM only): the RFC 6979 nonce `k`, `r = x(kG) mod n`,
    /// `s = k^-1 (z + r d) mod n`, then [`low_s`].
    fn cm4_style(secret: &[u8; 32], prehash: &[u8; 32]) -> [u8; 64] {
        let k = <Scalar as Reduce<U256>>::reduce_bytes(&rfc6979_nonce(secret, prehash).into());
        let d = <Scalar as Reduce<U256>>::reduce_bytes(secret.into());
        let z = <Scalar as Reduce<U256>>::reduce_bytes(prehash.into());
        let point = (ProjectivePoint::GENERATOR * k).to_affine();
        let r = <Scalar as Reduce<U256>>::reduce_bytes(&point.x());
        let s = Option::<Scalar>::from(k.invert()).expect("k is not zero") * (z + r * d);
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&r.to_bytes());
        out[32..].copy_from_slice(&low_s(s.to_bytes().into()));
        out
    }

    proptest! {
        /// The `Cm4` recipe (nonce, arithmetic, low-S) gives RustCrypto's signature byte for
        /// byte, and both verify under the signer's public key.
        #[test]
        fn the_cm4_recipe_signs_as_rustcrypto_does(
            secret in any::<[u8; 32]>(),
            prehash in any::<[u8; 32]>(),
        ) {
            let Some(key) = RustCrypto::key_from_bytes(&secret) else {
                // Not in 1..n: neither signer takes it.
                return Ok(());
            };
            let rustcrypto = RustCrypto::sign_prehash(&key, &prehash).expect("signs");
            prop_assert_eq!(cm4_style(&secret, &prehash), rustcrypto);
            let sec1 = key.verifying_key().to_encoded_point(true);
            let public = RustCrypto::key_from_sec1(sec1.as_bytes()).expect("a point");
            prop_assert!(RustCrypto::verify_prehash(&public, &prehash, &rustcrypto));
            prop_assert!(rustcrypto[32..] <= HALF_ORDER[..]);
        }
    }

    #[test]
    fn low_s_leaves_a_low_s_and_mirrors_a_high_one() {
        assert_eq!(low_s(HALF_ORDER), HALF_ORDER);
        // n - (HALF_ORDER + 1) = HALF_ORDER, since n = 2 HALF_ORDER + 1.
        let mut above = HALF_ORDER;
        above[31] += 1;
        assert_eq!(low_s(above), HALF_ORDER);
        let mut one = [0u8; 32];
        one[31] = 1;
        let mut n_minus_one = super::ORDER;
        n_minus_one[31] -= 1;
        assert_eq!(low_s(n_minus_one), one);
    }

    #[test]
    fn a_secret_outside_one_to_n_is_no_key() {
        assert!(RustCrypto::key_from_bytes(&[0; 32]).is_none());
        assert!(RustCrypto::key_from_bytes(&super::ORDER).is_none());
    }
}
