//! The key a journal record is filed under: which records replace one another.
//!
//! The layout keeps one value per key, so the key decides what compaction may drop. A newer
//! version of a policy or translator replaces the older one, as the trust store holds only the
//! latest; a domain's newer checkpoint replaces its older one. Credentials (all id 0) are
//! told apart by their digest, and revocation deltas by their sequence number: every admitted
//! delta is kept, because the trust store admits a domain's deltas only in sequence.

use skywave_protocol::policy::{ArtifactRef, Digest, Domain, Kind};

/// Bytes in a key: kind, domain, id, and a digest prefix for credentials.
pub const KEY_LEN: usize = 16;

/// The key the binding sequence reservation is filed under ([`crate::Journal::reserve_seq`]):
/// a first byte no artifact kind has, so no artifact's key and no removal's pick (each
/// matches a kind) is ever this one.
pub const SEQ_KEY: [u8; KEY_LEN] = {
    let mut key = [0u8; KEY_LEN];
    key[0] = 0xFE;
    key
};

/// The key `artifact` is recorded under.
pub fn key_of(artifact: &ArtifactRef) -> [u8; KEY_LEN] {
    match artifact.kind {
        Kind::Credential => key(Kind::Credential, artifact.domain, 0, Some(&artifact.digest)),
        // A policy delta is kept as the policy it produced (the node stores that), under the
        // policy's key.
        Kind::PolicyDelta => key(Kind::Policy, artifact.domain, artifact.id, None),
        Kind::Policy | Kind::Translator | Kind::Revocation => {
            key(artifact.kind, artifact.domain, artifact.id, None)
        }
        Kind::Checkpoint => key(Kind::Checkpoint, artifact.domain, 0, None),
    }
}

/// The key of `domain`'s policy or translator `id` (whatever its version).
pub(crate) fn subject_key(kind: Kind, domain: Domain, id: u32) -> [u8; KEY_LEN] {
    key(kind, domain, id, None)
}

/// Whether `key` files one of `domain`'s revocation deltas numbered `seq` or below: those a
/// checkpoint at `seq` covers.
pub(crate) fn is_delta_through(key: &[u8; KEY_LEN], domain: Domain, seq: u32) -> bool {
    let [kind, d0, d1, d2, i0, i1, i2, i3, ..] = *key;
    kind == Kind::Revocation as u8
        && [d0, d1, d2] == domain.0
        && u32::from_le_bytes([i0, i1, i2, i3]) <= seq
}

fn key(kind: Kind, domain: Domain, id: u32, digest: Option<&Digest>) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    let [k0, d0, d1, d2, i0, i1, i2, i3, rest @ ..] = &mut key;
    *k0 = kind as u8;
    [*d0, *d1, *d2] = domain.0;
    [*i0, *i1, *i2, *i3] = id.to_le_bytes();
    if let Some(digest) = digest {
        for (to, from) in rest.iter_mut().zip(digest.0) {
            *to = from;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art(kind: Kind, id: u32, version: u64, digest: u8) -> ArtifactRef {
        ArtifactRef {
            kind,
            domain: Domain(*b"GBR"),
            id,
            version,
            digest: Digest([digest; 32]),
        }
    }

    #[test]
    fn versions_share_a_key_and_credentials_and_deltas_do_not() {
        let p1 = key_of(&art(Kind::Policy, 1, 1, 1));
        assert_eq!(p1, key_of(&art(Kind::Policy, 1, 2, 2)));
        assert_ne!(p1, key_of(&art(Kind::Policy, 2, 1, 1)));
        assert_ne!(p1, key_of(&art(Kind::Translator, 1, 1, 1)));
        assert_ne!(
            key_of(&art(Kind::Credential, 0, 9, 1)),
            key_of(&art(Kind::Credential, 0, 9, 2))
        );
        assert_ne!(
            key_of(&art(Kind::Revocation, 1, 1, 1)),
            key_of(&art(Kind::Revocation, 2, 1, 1))
        );
        assert_eq!(
            key_of(&art(Kind::Checkpoint, 3, 1, 1)),
            key_of(&art(Kind::Checkpoint, 5, 1, 2))
        );
        assert_eq!(
            key_of(&art(Kind::Translator, 4, 2, 3)),
            subject_key(Kind::Translator, Domain(*b"GBR"), 4)
        );
    }

    #[test]
    fn a_checkpoint_covers_its_domains_deltas_up_to_its_sequence_number() {
        let gbr = Domain(*b"GBR");
        let delta = |id| key_of(&art(Kind::Revocation, id, 1, 1));
        assert!(is_delta_through(&delta(7), gbr, 7));
        assert!(is_delta_through(&delta(1), gbr, 7));
        assert!(!is_delta_through(&delta(8), gbr, 7));
        assert!(!is_delta_through(&delta(7), Domain(*b"USA"), 7));
        assert!(!is_delta_through(
            &key_of(&art(Kind::Policy, 1, 1, 1)),
            gbr,
            7
        ));
        assert!(!is_delta_through(
            &key_of(&art(Kind::Checkpoint, 5, 1, 1)),
            gbr,
            7
        ));
    }
}
