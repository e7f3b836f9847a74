//! Evidence of conflicting signed artifacts, and the offline check of what it proves.
//!
//! When admission refuses an artifact because the store holds a different artifact under the
//! same identity, the two together are evidence about their signers:
//!
//! - **equivocation**: two different artifacts with the same id and version, both validly
//!   signed in the same domain. Nobody but a key of that domain can make the second one, so
//!   the pair proves the domain's authority (or a key it delegated to) signed two conflicting
//!   statements. This is misconduct, or a stolen key.
//! - **rollback**: an older version offered after a newer one was admitted. Both are genuine;
//!   the pair proves only that a neighbour relayed the older one late (stale, or steering nodes
//!   back to a superseded policy). It says nothing against the signer.
//!
//! The trust store keeps the offered bytes of each conflict in a slot of the artifact's domain
//! (the `EVIDENCE` slots of [`super::TrustStore`] are per domain, so one partner's conflicts
//! cannot push out another's); the driver takes them ([`super::TrustStore::take_evidence`]) and
//! persists them with the held artifact's bytes and the signers' credentials, which is what
//! [`super::TrustStore::prove`] needs to re-check a piece offline, anywhere, against the roots.
//!
//! A rollback of a revocation delta is not kept: an older delta is history a neighbour resends,
//! and the store holds only the latest delta's digest to compare with, so it could not tell a
//! replayed delta from a conflicting one.

use core::fmt;

use heapless::Vec;

use super::MAX_ARTIFACT_LEN;
use super::encoding::{Artifact, DecodeError, Kind, Signed};
use super::model::{ArtifactRef, Digest, Domain, KeyId, Scope};
use super::store::{Refusal, TrustStore};

/// What two conflicting artifacts show.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Conflict {
    /// Two different artifacts with the same id and version.
    Equivocation,
    /// An older version offered after a newer one was admitted.
    Rollback,
}

impl Conflict {
    /// The conflict as a stable keyword (`equivocation`, `rollback`), for files and JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Conflict::Equivocation => "equivocation",
            Conflict::Rollback => "rollback",
        }
    }

    /// The inverse of [`Conflict::name`].
    pub fn from_name(name: &str) -> Option<Conflict> {
        [Conflict::Equivocation, Conflict::Rollback]
            .into_iter()
            .find(|c| c.name() == name)
    }
}

/// One conflict a trust store saw: the offered artifact's bytes and the digest of the one it
/// held (whose bytes the driver has in its artifact storage).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Evidence {
    /// What the pair shows.
    pub conflict: Conflict,
    /// The domain the artifacts are filed under (a translator's source domain), whose slots the
    /// evidence takes.
    pub domain: Domain,
    /// The digest of the artifact the store held (and still holds).
    pub held: Digest,
    /// The offered artifact's bytes (for a policy delta, the policy it produced).
    pub offered: Vec<u8, MAX_ARTIFACT_LEN>,
}

/// The domain an artifact is filed under: the one whose evidence slots a conflict over it takes.
pub(super) fn domain_of(artifact: &Artifact<'_>) -> Domain {
    match artifact {
        Artifact::Credential(c) => c.domain,
        Artifact::Policy(p) => p.domain,
        Artifact::Translator(t) => t.from.domain,
        Artifact::Revocation(r) => r.domain,
        Artifact::PolicyDelta(d) => d.domain,
        Artifact::Checkpoint(c) => c.domain,
    }
}

/// Which of the two artifacts of a piece of evidence.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
    /// The one the node held.
    Held,
    /// The one it was offered.
    Offered,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Held => "held",
            Side::Offered => "offered",
        })
    }
}

/// What a piece of evidence proves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Proof {
    /// The conflict shown.
    pub conflict: Conflict,
    /// The artifacts' kind.
    pub kind: Kind,
    /// Their domain.
    pub domain: Domain,
    /// Their id (0 for credentials, the sequence number for revocations).
    pub id: u32,
    /// The key that signed the held artifact.
    pub held_signer: KeyId,
    /// The held artifact's version.
    pub held_version: u64,
    /// The key that signed the offered artifact.
    pub offered_signer: KeyId,
    /// The offered artifact's version.
    pub offered_version: u64,
}

/// Why a piece of evidence proves nothing.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NotProven {
    /// One side's bytes are not an artifact.
    Malformed(Side, DecodeError),
    /// One side is a policy delta: evidence holds full artifacts only.
    Delta(Side),
    /// One side is not validly signed by a key in good standing in its domain, as far as the
    /// roots and credentials given show (validity windows are not checked).
    NotSigned(Side, Refusal),
    /// The two are not the same artifact (kind, domain, id, or credentialed key differ).
    DifferentArtifacts,
    /// The two are the same bytes.
    Identical,
    /// The offered version is newer than the held one: no conflict at all.
    OfferedIsNewer,
}

impl fmt::Display for NotProven {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotProven::Malformed(side, e) => write!(f, "the {side} artifact is malformed: {e}"),
            NotProven::Delta(side) => write!(f, "the {side} artifact is a policy delta"),
            NotProven::NotSigned(side, refusal) => {
                write!(
                    f,
                    "the {side} artifact's signature does not stand: {refusal}"
                )
            }
            NotProven::DifferentArtifacts => f.write_str("the two are different artifacts"),
            NotProven::Identical => f.write_str("the two are the same bytes"),
            NotProven::OfferedIsNewer => {
                f.write_str("the offered version is newer than the held one")
            }
        }
    }
}

/// An artifact's identity, version and signer, as evidence compares them.
struct Identity {
    kind: Kind,
    domain: Domain,
    /// A translator's target domain; the domain again otherwise.
    peer: Domain,
    id: u32,
    /// A credential's subject key id (what makes two credentials the same artifact).
    subject: Option<KeyId>,
    version: u64,
    signer: KeyId,
    scope: Scope,
}

fn identity(signed: &Signed<'_>, side: Side) -> Result<Identity, NotProven> {
    Ok(match &signed.artifact {
        Artifact::Credential(c) => Identity {
            kind: Kind::Credential,
            domain: c.domain,
            peer: c.domain,
            id: 0,
            subject: Some(c.subject.key_id()),
            version: super::store::credential_ref(signed, c).version,
            signer: c.signer,
            scope: Scope::ISSUE_CREDENTIAL,
        },
        Artifact::Policy(p) => Identity {
            kind: Kind::Policy,
            domain: p.domain,
            peer: p.domain,
            id: p.id,
            subject: None,
            version: p.version.into(),
            signer: p.signer,
            scope: Scope::POLICY,
        },
        Artifact::Translator(t) => Identity {
            kind: Kind::Translator,
            domain: t.from.domain,
            peer: t.to.domain,
            id: t.id,
            subject: None,
            version: t.version.into(),
            signer: t.signer,
            scope: Scope::TRANSLATOR,
        },
        Artifact::Revocation(r) => Identity {
            kind: Kind::Revocation,
            domain: r.domain,
            peer: r.domain,
            id: r.seq,
            subject: None,
            version: r.seq.into(),
            signer: r.signer,
            scope: Scope::REVOCATION,
        },
        Artifact::Checkpoint(c) => Identity {
            kind: Kind::Checkpoint,
            domain: c.domain,
            peer: c.domain,
            id: c.seq,
            subject: None,
            version: c.seq.into(),
            signer: c.signer,
            scope: Scope::REVOCATION,
        },
        Artifact::PolicyDelta(_) => return Err(NotProven::Delta(side)),
    })
}

/// What one side of a piece of evidence is, read from its bytes alone (nothing verified): for
/// listing evidence and for finding the credentials that go with it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Described {
    /// Its kind, domain, id (0 for a credential), version and digest.
    pub artifact: ArtifactRef,
    /// The key that signed it.
    pub signer: KeyId,
    /// A translator's target domain (the signer is credentialed there too); the domain again
    /// otherwise.
    pub peer: Domain,
}

/// Describes an artifact's bytes; `None` if they do not decode or are a policy delta.
pub fn describe(bytes: &[u8]) -> Option<Described> {
    let signed = Signed::decode(bytes).ok()?;
    let id = identity(&signed, Side::Held).ok()?;
    Some(Described {
        artifact: ArtifactRef {
            kind: id.kind,
            domain: id.domain,
            id: id.id,
            version: id.version,
            digest: Digest::of(bytes),
        },
        signer: id.signer,
        peer: id.peer,
    })
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
> TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>
{
    /// Checks offline what the pair `held`, `offered` proves, against this store's roots and
    /// the credentials admitted into it (call it on a store seeded with the roots and the
    /// evidence's credentials, nothing else). Each side must be signed by a key whose chain
    /// reaches its domain's root with the scope its kind needs; validity windows are not
    /// checked (evidence is read long after it was made), nor is revocation (a key revoked
    /// later still made its earlier signatures).
    pub fn prove(&self, held: &[u8], offered: &[u8]) -> Result<Proof, NotProven> {
        let check = |bytes: &[u8], side: Side| -> Result<Identity, NotProven> {
            let signed = Signed::decode(bytes).map_err(|e| NotProven::Malformed(side, e))?;
            let id = identity(&signed, side)?;
            self.verified(&signed, id.signer, id.domain)
                .and_then(|cred| self.standing(cred, id.scope, None))
                .map_err(|refusal| NotProven::NotSigned(side, refusal))?;
            Ok(id)
        };
        let h = check(held, Side::Held)?;
        let o = check(offered, Side::Offered)?;
        let same = (h.kind, h.domain, h.peer, h.id, h.subject)
            == (o.kind, o.domain, o.peer, o.id, o.subject);
        if !same {
            return Err(NotProven::DifferentArtifacts);
        }
        if held == offered {
            return Err(NotProven::Identical);
        }
        let conflict = match o.version.cmp(&h.version) {
            core::cmp::Ordering::Equal => Conflict::Equivocation,
            core::cmp::Ordering::Less => Conflict::Rollback,
            core::cmp::Ordering::Greater => return Err(NotProven::OfferedIsNewer),
        };
        Ok(Proof {
            conflict,
            kind: h.kind,
            domain: h.domain,
            id: h.id,
            held_signer: h.signer,
            held_version: h.version,
            offered_signer: o.signer,
            offered_version: o.version,
        })
    }
}

/// The first bytes of an evidence file.
pub const FILE_MAGIC: &[u8; 17] = b"skywave evidence\0";
/// The evidence file format this build writes and reads.
pub const FILE_VERSION: u8 = 1;

/// One piece of evidence as a self-contained file: the claimed conflict, both artifacts and the
/// credentials that chain their signers to the roots, so that anyone holding the roots can
/// re-check it offline ([`TrustStore::prove`]).
///
/// ```text
/// 0..17   "skywave evidence\0"
/// 17      format version (1)
/// 18      conflict claimed: 1 equivocation, 2 rollback
/// then    held artifact:    length u16 little-endian, bytes
/// then    offered artifact: length u16 little-endian, bytes
/// then    credential count, u8; each credential: length u16 little-endian, bytes
///         (issuers before the keys they credential; roots are not included)
/// ```
///
/// Nothing may follow the last credential. Every length is checked, so reading any bytes
/// returns an error rather than panicking.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct EvidenceFile<'a> {
    /// The conflict the file claims.
    pub conflict: Conflict,
    /// The held artifact's bytes.
    pub held: &'a [u8],
    /// The offered artifact's bytes.
    pub offered: &'a [u8],
    /// The credentials' region (count byte excluded), checked whole by [`EvidenceFile::read`].
    credentials: &'a [u8],
}

/// Why bytes are not an evidence file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FileError {
    /// The bytes do not start with [`FILE_MAGIC`].
    NotEvidence,
    /// A format version this build does not read.
    UnknownVersion(u8),
    /// A conflict code other than 1 or 2.
    UnknownConflict(u8),
    /// A length runs past the end of the bytes.
    Truncated,
    /// Bytes follow the last credential.
    TrailingBytes,
    /// (Writing) more than 255 credentials, an artifact longer than 65,535 bytes, or an output
    /// buffer too small.
    TooLarge,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::NotEvidence => f.write_str("not a skywave evidence file"),
            FileError::UnknownVersion(v) => write!(f, "evidence file format {v} is not known"),
            FileError::UnknownConflict(c) => write!(f, "unknown conflict code {c}"),
            FileError::Truncated => f.write_str("truncated"),
            FileError::TrailingBytes => f.write_str("bytes after the last credential"),
            FileError::TooLarge => f.write_str("too large for the evidence file format"),
        }
    }
}

impl core::error::Error for FileError {}

/// Splits a u16-length-prefixed field off the front of `bytes`.
fn take_field(bytes: &[u8]) -> Result<(&[u8], &[u8]), FileError> {
    let (len, rest) = bytes.split_first_chunk::<2>().ok_or(FileError::Truncated)?;
    let len = usize::from(u16::from_le_bytes(*len));
    if rest.len() < len {
        return Err(FileError::Truncated);
    }
    Ok(rest.split_at(len))
}

/// Writes `field` with its u16 length at `out[*at..]`, advancing `at`.
fn put_field(out: &mut [u8], at: &mut usize, field: &[u8]) -> Result<(), FileError> {
    let len = u16::try_from(field.len()).map_err(|_| FileError::TooLarge)?;
    let end = *at + 2 + field.len();
    let dest = out.get_mut(*at..end).ok_or(FileError::TooLarge)?;
    let (prefix, body) = dest.split_at_mut(2);
    prefix.copy_from_slice(&len.to_le_bytes());
    body.copy_from_slice(field);
    *at = end;
    Ok(())
}

impl<'a> EvidenceFile<'a> {
    /// Reads an evidence file, checking its whole layout.
    pub fn read(bytes: &'a [u8]) -> Result<EvidenceFile<'a>, FileError> {
        let rest = bytes
            .strip_prefix(FILE_MAGIC.as_slice())
            .ok_or(FileError::NotEvidence)?;
        let (&[version, conflict], rest) =
            rest.split_first_chunk::<2>().ok_or(FileError::Truncated)?;
        if version != FILE_VERSION {
            return Err(FileError::UnknownVersion(version));
        }
        let conflict = match conflict {
            1 => Conflict::Equivocation,
            2 => Conflict::Rollback,
            other => return Err(FileError::UnknownConflict(other)),
        };
        let (held, rest) = take_field(rest)?;
        let (offered, rest) = take_field(rest)?;
        let (&count, credentials) = rest.split_first().ok_or(FileError::Truncated)?;
        let mut remaining = credentials;
        for _ in 0..count {
            remaining = take_field(remaining)?.1;
        }
        if !remaining.is_empty() {
            return Err(FileError::TrailingBytes);
        }
        Ok(EvidenceFile {
            conflict,
            held,
            offered,
            credentials,
        })
    }

    /// The credentials, in the order written (issuers first).
    pub fn credentials(&self) -> impl Iterator<Item = &'a [u8]> {
        let mut rest = self.credentials;
        core::iter::from_fn(move || {
            let (field, after) = take_field(rest).ok()?;
            rest = after;
            Some(field)
        })
    }

    /// Writes a file for `conflict` between `held` and `offered`, with `credentials` (issuers
    /// first), into `out`; returns its length.
    pub fn write<'c>(
        conflict: Conflict,
        held: &[u8],
        offered: &[u8],
        credentials: impl ExactSizeIterator<Item = &'c [u8]>,
        out: &mut [u8],
    ) -> Result<usize, FileError> {
        let count = u8::try_from(credentials.len()).map_err(|_| FileError::TooLarge)?;
        let header = out
            .get_mut(..FILE_MAGIC.len() + 2)
            .ok_or(FileError::TooLarge)?;
        let (magic, codes) = header.split_at_mut(FILE_MAGIC.len());
        magic.copy_from_slice(FILE_MAGIC);
        let code = match conflict {
            Conflict::Equivocation => 1,
            Conflict::Rollback => 2,
        };
        codes.copy_from_slice(&[FILE_VERSION, code]);
        let mut at = FILE_MAGIC.len() + 2;
        put_field(out, &mut at, held)?;
        put_field(out, &mut at, offered)?;
        *out.get_mut(at).ok_or(FileError::TooLarge)? = count;
        at += 1;
        for credential in credentials {
            put_field(out, &mut at, credential)?;
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use std::vec::Vec;

    use super::super::MAX_EVIDENCE;
    use super::super::sample::{self, Coalition, GBR, NOW, USA};
    use super::*;

    fn coalition() -> (Coalition, TrustStore) {
        let c = Coalition::new();
        let store = c.store().unwrap();
        (c, store)
    }

    /// A USA policy `id` at `version`; `variant` changes its rules, so two variants of the
    /// same id and version equivocate.
    fn usa_policy(c: &Coalition, id: u32, version: u32, variant: usize) -> Vec<u8> {
        let rules = sample::gbr_rules();
        let body = sample::policy(&c.usa_signer, USA, id, version, 4, &rules[variant..]);
        sample::sign(&c.usa_signer, &Artifact::Policy(body))
    }

    fn kept(store: &TrustStore) -> Vec<(Conflict, Domain, Digest, Vec<u8>)> {
        store
            .evidence()
            .map(|e| (e.conflict, e.domain, e.held, e.offered.to_vec()))
            .collect()
    }

    #[test]
    fn one_partners_conflicts_cannot_take_anothers_evidence_slots() {
        let (c, mut store) = coalition();
        // USA equivocates more often than its slots hold.
        for id in 100..100 + MAX_EVIDENCE as u32 + 1 {
            store.admit(&usa_policy(&c, id, 1, 0), Some(NOW)).unwrap();
            let _ = store.admit(&usa_policy(&c, id, 1, 1), Some(NOW));
        }
        let usa_kept = store.evidence().filter(|e| e.domain == USA).count();
        assert_eq!(usa_kept, MAX_EVIDENCE);
        // GBR's equivocation is still kept.
        let held = c.gbr_policy(2, &sample::gbr_rules());
        store.admit(&held, Some(NOW)).unwrap();
        let other = c.gbr_policy(2, &sample::gbr_rules()[..1]);
        let refusal = store.admit(&other, Some(NOW)).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::Equivocation {
                held: Digest::of(&held),
                offered: Digest::of(&other),
                evidence_kept: true,
            }
        );
        assert!(kept(&store).contains(&(
            Conflict::Equivocation,
            GBR,
            Digest::of(&held),
            other.clone()
        )));
    }

    #[test]
    fn a_rollback_is_kept_with_the_held_artifacts_digest() {
        let (c, mut store) = coalition();
        let newer = c.gbr_policy(3, &sample::gbr_rules());
        store.admit(&newer, Some(NOW)).unwrap();
        let older = c.gbr_policy(2, &sample::gbr_rules());
        assert!(matches!(
            store.admit(&older, Some(NOW)),
            Err(Refusal::Rollback {
                held: 3,
                offered: 2
            })
        ));
        assert_eq!(
            kept(&store),
            [(Conflict::Rollback, GBR, Digest::of(&newer), older.clone())]
        );
        // The same rollback again is not kept twice.
        let _ = store.admit(&older, Some(NOW));
        assert_eq!(store.evidence().count(), 1);
    }

    #[test]
    fn taking_evidence_frees_the_domains_slot() {
        let (c, mut store) = coalition();
        for id in 100..100 + MAX_EVIDENCE as u32 {
            store.admit(&usa_policy(&c, id, 1, 0), Some(NOW)).unwrap();
            let _ = store.admit(&usa_policy(&c, id, 1, 1), Some(NOW));
        }
        let id = 100 + MAX_EVIDENCE as u32;
        store.admit(&usa_policy(&c, id, 1, 0), Some(NOW)).unwrap();
        let late = usa_policy(&c, id, 1, 1);
        let full = store.admit(&late, Some(NOW));
        assert!(matches!(
            full,
            Err(Refusal::Equivocation {
                evidence_kept: false,
                ..
            })
        ));
        let mut taken = Vec::new();
        while let Some(e) = store.take_evidence() {
            taken.push(e);
        }
        assert_eq!(taken.len(), MAX_EVIDENCE);
        assert_eq!(store.evidence().count(), 0);
        let again = store.admit(&late, Some(NOW));
        assert!(matches!(
            again,
            Err(Refusal::Equivocation {
                evidence_kept: true,
                ..
            })
        ));
    }

    #[test]
    fn a_store_without_evidence_slots_keeps_nothing() {
        let c = Coalition::new();
        let mut store: TrustStore<16, 4, 4, 32, 0> = TrustStore::empty();
        for root in c.roots() {
            store.add_root(&root, Some(NOW)).unwrap();
        }
        for artifact in c.artifacts().iter().take(3) {
            store.admit(artifact, Some(NOW)).unwrap();
        }
        let held = c.gbr_policy(2, &sample::gbr_rules());
        store.admit(&held, Some(NOW)).unwrap();
        let before = store.clone();
        let twin = c.gbr_policy(2, &sample::gbr_rules()[..1]);
        assert!(matches!(
            store.admit(&twin, Some(NOW)),
            Err(Refusal::Equivocation {
                evidence_kept: false,
                ..
            })
        ));
        assert!(store == before);
    }

    #[test]
    fn proves_an_equivocation_and_a_rollback_offline() {
        let (c, store) = coalition();
        let held = c.gbr_policy(2, &sample::gbr_rules());
        let other = c.gbr_policy(2, &sample::gbr_rules()[..1]);
        let signer = sample::public(&c.gbr_signer).key_id();
        let proof = store.prove(&held, &other).unwrap();
        assert_eq!(proof.conflict, Conflict::Equivocation);
        assert_eq!((proof.kind, proof.domain, proof.id), (Kind::Policy, GBR, 1));
        assert_eq!((proof.held_signer, proof.offered_signer), (signer, signer));
        assert_eq!((proof.held_version, proof.offered_version), (2, 2));
        let older = c.gbr_policy(1, &sample::gbr_rules());
        assert_eq!(
            store.prove(&held, &older).unwrap().conflict,
            Conflict::Rollback
        );
        assert_eq!(store.prove(&older, &held), Err(NotProven::OfferedIsNewer));
        assert_eq!(store.prove(&held, &held), Err(NotProven::Identical));
        let usa = usa_policy(&c, 1, 2, 0);
        assert_eq!(store.prove(&held, &usa), Err(NotProven::DifferentArtifacts));
    }

    #[test]
    fn proves_nothing_from_a_forged_or_unchained_signature() {
        let (c, store) = coalition();
        let held = c.gbr_policy(2, &sample::gbr_rules());
        let mut forged = c.gbr_policy(2, &sample::gbr_rules()[..1]);
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            store.prove(&held, &forged),
            Err(NotProven::NotSigned(Side::Offered, Refusal::BadSignature))
        );
        // Without the signer's credential the signature stands for nothing.
        let mut roots_only = TrustStore::new();
        for root in c.roots() {
            roots_only.add_root(&root, Some(NOW)).unwrap();
        }
        let signer = sample::public(&c.gbr_signer).key_id();
        assert_eq!(
            roots_only.prove(&held, &c.gbr_policy(2, &sample::gbr_rules()[..1])),
            Err(NotProven::NotSigned(
                Side::Held,
                Refusal::UnknownSigner(signer)
            ))
        );
    }

    #[test]
    fn an_evidence_file_reads_back_what_was_written() {
        let (c, _) = coalition();
        let held = c.gbr_policy(2, &sample::gbr_rules());
        let offered = c.gbr_policy(2, &sample::gbr_rules()[..1]);
        let creds = c.artifacts();
        let chain = [creds[0].as_slice()];
        let mut out = [0u8; 4096];
        let len = EvidenceFile::write(
            Conflict::Equivocation,
            &held,
            &offered,
            chain.iter().copied(),
            &mut out,
        )
        .unwrap();
        let file = EvidenceFile::read(&out[..len]).unwrap();
        assert_eq!(file.conflict, Conflict::Equivocation);
        assert_eq!(
            (file.held, file.offered),
            (held.as_slice(), offered.as_slice())
        );
        assert_eq!(file.credentials().collect::<Vec<_>>(), chain);
        // Every truncation is an error, never a panic; so is a byte too many.
        for cut in 0..len {
            assert!(EvidenceFile::read(&out[..cut]).is_err(), "cut at {cut}");
        }
        assert_eq!(
            EvidenceFile::read(&out[..len + 1]),
            Err(FileError::TrailingBytes)
        );
    }

    proptest::proptest! {
        /// Any bytes read as an evidence file give a file or an error, never a panic; a file
        /// read back writes back to the same bytes.
        #[test]
        fn any_bytes_read_as_evidence_round_trip_or_are_refused(
            mut bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            prefix in proptest::prelude::any::<bool>(),
        ) {
            if prefix {
                let mut framed = FILE_MAGIC.to_vec();
                framed.push(FILE_VERSION);
                framed.extend(&bytes);
                bytes = framed;
            }
            if let Ok(file) = EvidenceFile::read(&bytes) {
                let mut out = [0u8; 512];
                let len = EvidenceFile::write(
                    file.conflict,
                    file.held,
                    file.offered,
                    file.credentials().collect::<Vec<_>>().into_iter(),
                    &mut out,
                )
                .unwrap();
                proptest::prop_assert_eq!(&out[..len], bytes.as_slice());
            }
        }
    }
}
