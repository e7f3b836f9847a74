//! The key a journal record is filed under: which records replace one another.
//!
//! The layout keeps one value per key, so the key decides what compaction may drop. A newer
//! version of a policy or translator replaces the older one, as the trust store holds only the
//! latest; a domain's newer checkpoint replaces its older one. Credentials (all id 0) are
//! told apart by their digest, and revocation deltas by their sequence number: every admitted
//! delta is kept, because the trust store admits a domain's deltas only in sequence.

use skywave_protocol::policy::{ArtifactRef, Kind};

/// Bytes in a key: kind, domain, id, and a digest prefix for credentials.
pub const KEY_LEN: usize = 16;

/// The key `artifact` is recorded under.
pub fn key_of(artifact: &ArtifactRef) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    let (id, digest) = match artifact.kind {
        Kind::Credential => (0, true),
        // A policy delta is kept as the policy it produced (the node stores that), under the
        // policy's key.
        Kind::Policy | Kind::PolicyDelta | Kind::Translator | Kind::Revocation => {
            (artifact.id, false)
        }
        Kind::Checkpoint => (0, false),
    };
    let kind = match artifact.kind {
        Kind::PolicyDelta => Kind::Policy,
        k => k,
    };
    let [k0, d0, d1, d2, i0, i1, i2, i3, rest @ ..] = &mut key;
    *k0 = kind as u8;
    [*d0, *d1, *d2] = artifact.domain.0;
    [*i0, *i1, *i2, *i3] = id.to_le_bytes();
    if digest {
        for (to, from) in rest.iter_mut().zip(artifact.digest.0) {
            *to = from;
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::policy::{Digest, Domain};

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
    }
}
