//! Admission: every artifact, from a neighbour or published here, is admitted by this node's
//! own trust store before it is stored or sent on, so a relay never forwards what it would
//! refuse.
//!
//! An admitted artifact replaces what it makes obsolete in storage (older versions, deltas a
//! checkpoint covers) and is queued to every neighbour not known to hold it. One refused only
//! for want of another artifact (its signer's credential, the revocation deltas before it) is
//! held back and admitted once that arrives, so reordering on the air costs nothing; a
//! revocation gap is also asked for (WANT). Held-back places are shared fairly by domain.

use heapless::Vec;

use super::message::{ShortDigest, Want};
use super::outbox::Payload;
use super::{Node, NodeEvent, Storage, StorageError};
use crate::policy::{
    Admitted, ArtifactRef, Digest, Domain, Kind, MAX_ARTIFACT_LEN, Refusal, Signed, Trust, UnixTime,
};
use crate::time::Instant;
use crate::wire::Address;

/// An artifact waiting for what it depends on, with who sent it.
#[derive(Clone, Debug)]
pub(super) struct Pending {
    pub(super) from: Option<Address>,
    /// The domain it is filed under: each domain waits in its own share of the places.
    pub(super) domain: Domain,
    pub(super) bytes: Vec<u8, MAX_ARTIFACT_LEN>,
}

impl<
    S: Storage,
    T: Trust,
    const OUT: usize,
    const WAIT: usize,
    const NBRS: usize,
    const KNOWN: usize,
    const EVS: usize,
> Node<S, T, OUT, WAIT, NBRS, KNOWN, EVS>
{
    pub(super) fn replay_storage(&mut self, now: Option<UnixTime>) {
        let mut i = 0;
        let mut bytes: Vec<u8, MAX_ARTIFACT_LEN> = Vec::new();
        while let Some((artifact, stored)) = self.storage.get(i) {
            bytes.clear();
            let _ = bytes.extend_from_slice(stored);
            match self.trust.admit(&bytes, now) {
                Ok(_) => i += 1,
                Err(refusal) => {
                    self.event(NodeEvent::Refused {
                        refusal,
                        from: None,
                    });
                    if self.storage.remove(&artifact.digest).is_err() {
                        i += 1;
                    }
                }
            }
        }
    }

    pub(super) fn receive_artifact(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Option<Address>,
        heard_on: Option<u8>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal> {
        let result = self.admit_and_keep(now, wall, from, heard_on, bytes);
        match result {
            Ok(admitted) if !admitted.duplicate => self.retry_pending(now, wall),
            Ok(_) => {}
            Err(refusal) => {
                self.event(NodeEvent::Refused { refusal, from });
                if waits_for_another_artifact(&refusal) {
                    self.hold(from, bytes);
                }
                if let (
                    Some(from),
                    Refusal::RevocationGap {
                        domain,
                        first_missing,
                        last_missing,
                    },
                ) = (from, refusal)
                {
                    let want = Want {
                        domain,
                        first_seq: first_missing,
                        last_seq: last_missing,
                    };
                    self.queue(from, Payload::Want(want), now);
                }
            }
        }
        result
    }

    /// Admits, stores and fans out one artifact, reporting it if admitted. Refusals are left
    /// to the caller to report. `heard_on` is the channel a broadcast of it was heard on:
    /// every neighbour there heard it too.
    pub(super) fn admit_and_keep(
        &mut self,
        now: Instant,
        wall: Option<UnixTime>,
        from: Option<Address>,
        heard_on: Option<u8>,
        bytes: &[u8],
    ) -> Result<Admitted, Refusal> {
        let admitted = self.trust.admit(bytes, wall)?;
        let artifact = admitted.artifact;
        let short = ShortDigest::from(&artifact.digest);
        for n in self
            .neighbours
            .iter_mut()
            // A neighbour that is down heard no broadcast, whatever channel it is on.
            .filter(|n| {
                Some(n.address) == from || (n.up && heard_on.is_some() && n.channel == heard_on)
            })
        {
            n.learn(short);
        }
        if admitted.duplicate {
            return Ok(admitted);
        }
        if let Err(e) = self.keep(&artifact, bytes) {
            self.event(NodeEvent::StorageFailed(e));
        }
        self.event(NodeEvent::Admitted { artifact, from });
        let lacking: Vec<Address, NBRS> = self
            .neighbours
            .iter()
            .filter(|n| n.up && Some(n.address) != from && !n.knows(&artifact.digest))
            .map(|n| n.address)
            .take(NBRS)
            .collect();
        for to in lacking {
            self.queue(to, Payload::Artifact(artifact.digest), now);
        }
        Ok(admitted)
    }

    /// Stores an admitted artifact, replacing older versions of it. A policy delta is stored as
    /// the policy it produced, which the trust store holds under `artifact.digest`.
    // Out of line: its copy of the artifact must not sit in the caller's frame under the admission.
    #[inline(never)]
    pub(super) fn keep(
        &mut self,
        artifact: &ArtifactRef,
        received: &[u8],
    ) -> Result<(), StorageError> {
        let produced = (Digest::of(received) != artifact.digest)
            .then(|| {
                self.trust
                    .artifacts()
                    .find(|held| Digest::of(held) == artifact.digest)
            })
            .flatten();
        let mut bytes: Vec<u8, MAX_ARTIFACT_LEN> = Vec::new();
        bytes
            .extend_from_slice(produced.unwrap_or(received))
            .map_err(|_| StorageError::Full)?;
        // What the new artifact makes obsolete: older versions of a policy or translator, and
        // for a checkpoint the domain's deltas and checkpoints up to it (memory follows the
        // revocations in force, not their history).
        let obsolete = |a: &ArtifactRef| {
            a.domain == artifact.domain
                && match artifact.kind {
                    Kind::Policy | Kind::Translator => {
                        a.kind == artifact.kind
                            && a.id == artifact.id
                            && a.version < artifact.version
                    }
                    Kind::Checkpoint => {
                        matches!(a.kind, Kind::Revocation | Kind::Checkpoint) && a.id <= artifact.id
                    }
                    _ => false,
                }
        };
        loop {
            let digest = self.held().find(|a| obsolete(a)).map(|a| a.digest);
            match digest {
                Some(digest) => self.storage.remove(&digest)?,
                None => break,
            }
        }
        if artifact.kind == Kind::Revocation {
            let room = usize::from(self.config.revocation_history).saturating_sub(1);
            self.forget_old_deltas(artifact.domain, room)?;
        }
        self.storage.insert(artifact, &bytes)
    }

    /// Keeps at most `keep` deltas of `domain` (within [`Config::revocation_history`]),
    /// forgetting the oldest that is not still queued for a neighbour; those queued are
    /// forgotten once sent. (A burst of more deltas than the history, published or received
    /// faster than the link drains them, used to forget the first before it was ever sent:
    /// every neighbour then held the rest behind a gap nobody could fill, and the nodes never
    /// converged.)
    pub(super) fn forget_old_deltas(
        &mut self,
        domain: Domain,
        keep: usize,
    ) -> Result<(), StorageError> {
        let deltas = |a: &ArtifactRef| a.kind == Kind::Revocation && a.domain == domain;
        let queued = |digest: &Digest| {
            self.outbox
                .iter()
                .any(|o| matches!(o.payload, Payload::Artifact(d) if d == *digest))
        };
        while self.held().filter(deltas).count() > keep {
            let oldest = self
                .held()
                .filter(deltas)
                .filter(|a| !queued(&a.digest))
                .min_by_key(|a| a.id)
                .map(|a| a.digest);
            match oldest {
                Some(digest) => self.storage.remove(&digest)?,
                None => break,
            }
        }
        Ok(())
    }

    /// Holds `bytes` back until what it depends on arrives. While there are free places any
    /// domain may use them; when the table is full, each domain with a root is owed an equal
    /// share: a domain at its share gives up its own oldest, one below it takes the oldest
    /// place of a domain over its share. So a partner's junk never evicts another partner's
    /// held revocation.
    // Out of line: its decoded artifact must not sit in the caller's frame under the admission.
    #[inline(never)]
    pub(super) fn hold(&mut self, from: Option<Address>, bytes: &[u8]) {
        if self.pending.iter().any(|p| p.bytes.as_slice() == bytes) {
            return;
        }
        let Ok(signed) = &Signed::decode(bytes) else {
            return;
        };
        let domain = signed.artifact.domain();
        let Ok(bytes) = Vec::from_slice(bytes) else {
            return;
        };
        let share = (WAIT / self.trust.revocation_seqs().count().max(1)).max(1);
        let held_by =
            |d: Domain, pending: &[Pending]| pending.iter().filter(|p| p.domain == d).count();
        let evict = if !self.pending.is_full() {
            None
        } else if held_by(domain, &self.pending) >= share {
            Some(domain)
        } else {
            self.pending
                .iter()
                .map(|p| p.domain)
                .find(|&d| held_by(d, &self.pending) > share)
        };
        if let Some(d) = evict
            && let Some(oldest) = self.pending.iter().position(|p| p.domain == d)
        {
            self.pending.remove(oldest);
        }
        let _ = self.pending.push(Pending {
            from,
            domain,
            bytes,
        });
    }

    /// Offers every held-back artifact again, for as long as that admits more of them. Those
    /// still missing a dependency stay quietly; those now refused for good are reported.
    // Out of line: its copy of a held artifact costs stack only while it retries.
    #[inline(never)]
    pub(super) fn retry_pending(&mut self, now: Instant, wall: Option<UnixTime>) {
        let mut progress = true;
        while progress {
            progress = false;
            let mut i = 0;
            while let Some(p) = self.pending.get(i) {
                let (from, bytes) = (p.from, p.bytes.clone());
                match self.admit_and_keep(now, wall, from, None, &bytes) {
                    Err(refusal) if waits_for_another_artifact(&refusal) => i += 1,
                    outcome => {
                        self.pending.remove(i);
                        match outcome {
                            Ok(_) => progress = true,
                            Err(refusal) => self.event(NodeEvent::Refused { refusal, from }),
                        }
                    }
                }
            }
        }
    }
}

/// Whether an artifact refused for this reason may be admitted once another artifact arrives:
/// the credential of its signer (for a translator, in its second domain too), or the
/// revocation deltas before it.
pub(super) fn waits_for_another_artifact(refusal: &Refusal) -> bool {
    matches!(
        refusal,
        Refusal::RevocationGap { .. }
            | Refusal::UnknownSigner(_)
            | Refusal::ChainBroken { .. }
            | Refusal::TranslatorNotInBothDomains { .. }
    )
}
