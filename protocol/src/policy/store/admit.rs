//! Admission of each kind of artifact, behind [`TrustStore::admit`]: signature and chain first,
//! then supersession, kind-specific checks and room, every check before anything is written.

use super::tables::Versioned;
use super::{
    Admitted, Artifact, ArtifactRef, Checkpoint, Conflict, Cred, Credential, DeltaOp, Digest,
    Domain, DomainState, Evidence, Held, InForce, KeyId, Kind, MAX_ARTIFACT_LEN,
    MAX_CHECKPOINT_ENTRIES, MAX_REVOCATION_ENTRIES, Policy, PolicyDelta, Refusal, Revocation,
    Revoked, SIGNATURE_LEN, Scope, Signed, Table, Translator, TrustStore, UnixTime, Vec,
    VerifyingKey, credential_ref, held_ref, place, revoked, slot_bytes,
};
use crate::policy::encoding;
use crate::policy::evidence;

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
> TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>
{
    pub(super) fn admit_signed(
        &mut self,
        signed: &Signed<'_>,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let result = match &signed.artifact {
            Artifact::Credential(c) => self.admit_credential(signed, c, now),
            Artifact::Policy(p) => self.admit_policy(signed, p, now),
            Artifact::Translator(t) => self.admit_translator(signed, t, now),
            Artifact::Revocation(r) => self.admit_revocation(signed, r, now),
            Artifact::Checkpoint(c) => self.admit_checkpoint(signed, c, now),
            // The policy it produces goes through this function itself, evidence and all.
            Artifact::PolicyDelta(d) => return self.admit_delta(d, &signed.signature, now),
        };
        let domain = evidence::domain_of(&signed.artifact);
        match result {
            Err(Refusal::Equivocation { held, offered, .. }) => Err(Refusal::Equivocation {
                held,
                offered,
                evidence_kept: self.keep_evidence(
                    Conflict::Equivocation,
                    domain,
                    held,
                    signed.bytes,
                ),
            }),
            Err(refusal @ Refusal::Rollback { .. }) => {
                if let Some(held) = self.held_digest(&signed.artifact) {
                    self.keep_evidence(Conflict::Rollback, domain, held, signed.bytes);
                }
                Err(refusal)
            }
            other => other,
        }
    }

    /// Keeps a conflict in `domain`'s slots, unless the same one is kept already; returns
    /// whether it is kept.
    pub(super) fn keep_evidence(
        &mut self,
        conflict: Conflict,
        domain: Domain,
        held: Digest,
        offered: &[u8],
    ) -> bool {
        // A store built without evidence slots (a board with nowhere to report them) keeps
        // nothing, not even a domain's empty entry.
        if EVIDENCE == 0 {
            return false;
        }
        let Ok(offered) = Vec::from_slice(offered) else {
            return false;
        };
        let piece = Evidence {
            conflict,
            domain,
            held,
            offered,
        };
        let index = match self.evidence.iter().position(|(d, _)| *d == domain) {
            Some(i) => i,
            None if self.evidence.push((domain, Vec::new())).is_ok() => self.evidence.len() - 1,
            None => return false,
        };
        let Some((_, kept)) = self.evidence.get_mut(index) else {
            return false;
        };
        kept.contains(&piece) || kept.push(piece).is_ok()
    }

    /// The digest of the artifact held under the identity of `offered` (for a rollback's
    /// evidence); `None` for a revocation delta (see [`super::evidence`]).
    pub(super) fn held_digest(&self, offered: &Artifact<'_>) -> Option<Digest> {
        match offered {
            Artifact::Credential(c) => {
                let key = VerifyingKey::from_sec1_bytes(&c.subject.0).ok()?;
                self.creds_of(c.subject.key_id(), c.domain)
                    .find(|held| held.key == key)
                    .map(|held| held.digest)
            }
            Artifact::Policy(p) => self
                .policies
                .iter()
                .find(|h| h.domain == p.domain && h.id == p.id)
                .map(|h| h.digest),
            Artifact::Translator(t) => self
                .translators
                .iter()
                .find(|h| h.domain == t.from.domain && h.peer == t.to.domain && h.id == t.id)
                .map(|h| h.digest),
            Artifact::Revocation(_) | Artifact::PolicyDelta(_) | Artifact::Checkpoint(_) => None,
        }
    }

    // Out of line, as is each kind's admission: `admit_signed` only dispatches, so the stack
    // an admission takes is its own kind's, not the sum of every kind's locals (a board's
    // stack is most of its RAM).
    #[inline(never)]
    pub(super) fn admit_credential(
        &mut self,
        signed: &Signed<'_>,
        cred: &Credential,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let subject = cred.subject.key_id();
        // A root's standing is the operator's to set: neither a self-signed credential nor one
        // issued for a root key may arrive over the air (the latter would replace the anchor).
        let is_root = |c: &Cred| c.root && c.key_id == subject && c.domain == cred.domain;
        if cred.signer == subject || self.credentials.iter().any(is_root) {
            return Err(Refusal::ChainBroken {
                key: subject,
                domain: cred.domain,
            });
        }
        let issuer = self.verified(signed, cred.signer, cred.domain)?;
        self.standing(issuer, Scope::ISSUE_CREDENTIAL, now)?;
        if cred.depth >= issuer.depth {
            return Err(Refusal::DelegationTooDeep { key: cred.signer });
        }
        if !issuer.scope.contains(cred.scope) {
            return Err(Refusal::ScopeNotAllowed {
                key: cred.signer,
                needed: cred.scope,
            });
        }
        let domain = cred.domain;
        if self.ancestors(cred.signer, domain).contains(&subject) {
            return Err(Refusal::CredentialLoop { key: subject });
        }
        if let Some(held) = self.creds_of(subject, domain).next()
            && u64::from(cred.version) >= held.version()
            && held.digest != Digest::of(signed.bytes)
        {
            self.may_supersede(domain, held.issuer, cred.signer)?;
        }
        let artifact = credential_ref(signed, cred);
        if self.key_revoked(subject, domain, cred.signer) {
            return Err(revoked(&artifact));
        }
        if let Some(now) = now
            && now > cred.validity.not_after
        {
            return Err(Refusal::Expired {
                key: subject,
                not_after: cred.validity.not_after,
            });
        }
        let entry = Self::cred_entry(signed, cred, false)?;
        let room_full = self.room_full(domain, Table::Credentials);
        let duplicate = place(&mut self.credentials, Table::Credentials, entry, room_full)?;
        Ok(Admitted {
            artifact,
            duplicate,
        })
    }

    #[inline(never)]
    pub(super) fn admit_policy(
        &mut self,
        signed: &Signed<'_>,
        policy: &Policy<'_>,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let signer = self.verified(signed, policy.signer, policy.domain)?;
        self.standing(signer, Scope::POLICY, now)?;
        let held = Held {
            domain: policy.domain,
            peer: policy.domain,
            spiral: policy.spiral,
            id: policy.id,
            version: policy.version,
            signer: policy.signer,
            digest: Digest::of(signed.bytes),
            bytes: slot_bytes(Table::Policies, signed.bytes)?,
        };
        self.check_supersession(&self.policies, &held)?;
        let artifact = held_ref(Kind::Policy, &held);
        let entry = Revoked::Policy {
            id: policy.id,
            version: policy.version,
        };
        if self.is_revoked(policy.domain, &entry) {
            return Err(revoked(&artifact));
        }
        let room_full = self.room_full(held.domain, Table::Policies);
        let duplicate = place(&mut self.policies, Table::Policies, held, room_full)?;
        Ok(Admitted {
            artifact,
            duplicate,
        })
    }

    #[inline(never)]
    pub(super) fn admit_translator(
        &mut self,
        signed: &Signed<'_>,
        translator: &Translator<'_>,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let key = translator.signer;
        let (from, to) = (translator.from.domain, translator.to.domain);
        let in_from = self.creds_of(key, from).next().is_some();
        let in_to = self.creds_of(key, to).next().is_some();
        let known = self.credentials.iter().any(|c| c.key_id == key);
        match (in_from, in_to) {
            (false, false) if !known => return Err(Refusal::UnknownSigner(key)),
            (false, _) => return Err(Refusal::TranslatorNotInBothDomains { key, missing: from }),
            (true, false) => return Err(Refusal::TranslatorNotInBothDomains { key, missing: to }),
            (true, true) => {}
        }
        let signer = self.verified(signed, key, from)?;
        self.standing(signer, Scope::TRANSLATOR, now)?;
        // The same key, not merely the same key id, must be credentialed in the target domain.
        let signing_key = signer.key;
        let peer = self
            .creds_of(key, to)
            .find(|c| c.key == signing_key)
            .ok_or(Refusal::TranslatorNotInBothDomains { key, missing: to })?;
        self.standing(peer, Scope::TRANSLATOR, now)?;
        let held = Held {
            domain: from,
            peer: to,
            spiral: translator.from.spiral,
            id: translator.id,
            version: translator.version,
            signer: key,
            digest: Digest::of(signed.bytes),
            bytes: slot_bytes(Table::Translators, signed.bytes)?,
        };
        self.check_supersession(&self.translators, &held)?;
        let artifact = held_ref(Kind::Translator, &held);
        if self.translator_revoked(&held) {
            return Err(revoked(&artifact));
        }
        let room_full = self.room_full(from, Table::Translators);
        let duplicate = place(&mut self.translators, Table::Translators, held, room_full)?;
        Ok(Admitted {
            artifact,
            duplicate,
        })
    }

    /// A newer (or equal, different) version of a held policy or translator must come from the
    /// held one's signer or an ancestor of it, in the domain it is filed under.
    pub(super) fn check_supersession<const N: usize>(
        &self,
        table: &Vec<Held<HELD>, N>,
        offered: &Held<HELD>,
    ) -> Result<(), Refusal> {
        match table.iter().find(|h| h.same_artifact(offered)) {
            Some(held) if offered.version >= held.version && held.digest != offered.digest => {
                self.may_supersede(held.domain, held.signer, offered.signer)
            }
            _ => Ok(()),
        }
    }

    #[inline(never)]
    pub(super) fn admit_revocation(
        &mut self,
        signed: &Signed<'_>,
        revocation: &Revocation,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let (domain, signer) = (revocation.domain, revocation.signer);
        let cred = self.verified(signed, signer, domain)?;
        self.standing(cred, Scope::REVOCATION, now)?;
        let digest = Digest::of(signed.bytes);
        let artifact = ArtifactRef {
            kind: Kind::Revocation,
            domain,
            id: revocation.seq,
            version: revocation.seq.into(),
            digest,
        };
        let state = self.domain_state(domain, signer)?;
        let (held, seq) = (state.seq, revocation.seq);
        // A checkpoint already says everything the deltas up to it said.
        if state.checkpoint.is_some_and(|(at, _)| seq <= at) {
            return Ok(Admitted {
                artifact,
                duplicate: true,
            });
        }
        if seq == held && digest == state.digest {
            return Ok(Admitted {
                artifact,
                duplicate: true,
            });
        }
        if seq == held {
            return Err(Refusal::Equivocation {
                held: state.digest,
                offered: digest,
                evidence_kept: false,
            });
        }
        if seq < held {
            return Err(Refusal::Rollback {
                held: held.into(),
                offered: seq.into(),
            });
        }
        if seq > held.saturating_add(1) {
            return Err(Refusal::RevocationGap {
                domain,
                first_missing: held.saturating_add(1),
                last_missing: seq - 1,
            });
        }
        for entry in &revocation.entries {
            if let Revoked::Key(key) = entry {
                self.may_revoke(signer, *key, domain)?;
            }
        }
        let mut added: Vec<Revoked, MAX_REVOCATION_ENTRIES> = Vec::new();
        for entry in &revocation.entries {
            let merges = self
                .revoked
                .iter()
                .any(|r| r.domain == domain && r.revoker == signer && r.entry.same_subject(entry));
            if !merges && !added.iter().any(|a| a.same_subject(entry)) {
                let _ = added.push(*entry);
            }
        }
        self.make_room(domain, 0, added.len())?;
        for entry in &revocation.entries {
            let held = self
                .revoked
                .iter_mut()
                .find(|r| r.domain == domain && r.revoker == signer && r.entry.same_subject(entry));
            match held {
                Some(r) => r.entry = r.entry.later_of(*entry),
                // Room was checked above, so this push cannot fail.
                None => {
                    let _ = self.revoked.push(InForce {
                        domain,
                        entry: *entry,
                        revoker: signer,
                    });
                }
            }
        }
        if let Some(state) = self.domains.iter_mut().find(|d| d.domain == domain) {
            state.seq = seq;
            state.digest = digest;
        }
        Ok(Admitted {
            artifact,
            duplicate: false,
        })
    }

    #[inline(never)]
    pub(super) fn admit_checkpoint(
        &mut self,
        signed: &Signed<'_>,
        checkpoint: &Checkpoint,
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let (domain, signer) = (checkpoint.domain, checkpoint.signer);
        let cred = self.verified(signed, signer, domain)?;
        if !cred.root {
            return Err(Refusal::CheckpointNotByRoot { key: signer });
        }
        self.standing(cred, Scope::REVOCATION, now)?;
        let digest = Digest::of(signed.bytes);
        let artifact = ArtifactRef {
            kind: Kind::Checkpoint,
            domain,
            id: checkpoint.seq,
            version: checkpoint.seq.into(),
            digest,
        };
        let state = self.domain_state(domain, signer)?;
        match state.checkpoint {
            Some((at, held)) if at == checkpoint.seq && held == digest => {
                return Ok(Admitted {
                    artifact,
                    duplicate: true,
                });
            }
            Some((at, held)) if at == checkpoint.seq => {
                return Err(Refusal::Equivocation {
                    held,
                    offered: digest,
                    evidence_kept: false,
                });
            }
            _ => {}
        }
        if checkpoint.seq < state.seq {
            return Err(Refusal::Rollback {
                held: state.seq.into(),
                offered: checkpoint.seq.into(),
            });
        }
        for entry in &checkpoint.entries {
            if let Revoked::Key(key) = entry
                && self.creds_of(*key, domain).any(|c| c.root)
            {
                return Err(Refusal::RevocationOutOfScope { signer, key: *key });
            }
        }
        // What a root revoked stays revoked: a checkpoint may drop a delegate's entries (the
        // root's word wins) but never a root's.
        let is_root = |key: KeyId| self.creds_of(key, domain).any(|c| c.root);
        if let Some(missing) = self
            .revoked
            .iter()
            .filter(|r| r.domain == domain && is_root(r.revoker))
            .find(|r| !checkpoint.entries.iter().any(|c| c.covers(&r.entry)))
        {
            return Err(Refusal::CheckpointIncomplete {
                domain,
                missing: missing.entry,
            });
        }
        let mut entries: Vec<Revoked, MAX_CHECKPOINT_ENTRIES> = Vec::new();
        for entry in &checkpoint.entries {
            match entries.iter_mut().find(|e| e.same_subject(entry)) {
                Some(e) => *e = e.later_of(*entry),
                None => {
                    let _ = entries.push(*entry);
                }
            }
        }
        self.make_room(domain, self.used(domain, Table::Revoked), entries.len())?;
        self.revoked.retain(|r| r.domain != domain);
        for entry in entries {
            // Room was checked above, so this push cannot fail.
            let _ = self.revoked.push(InForce {
                domain,
                entry,
                revoker: signer,
            });
        }
        if let Some(state) = self.domains.iter_mut().find(|d| d.domain == domain) {
            state.seq = checkpoint.seq;
            state.checkpoint = Some((checkpoint.seq, digest));
        }
        Ok(Admitted {
            artifact,
            duplicate: false,
        })
    }

    /// The revocation state of `domain` (whose `signer` signed something for it).
    pub(super) fn domain_state(
        &self,
        domain: Domain,
        signer: KeyId,
    ) -> Result<DomainState, Refusal> {
        self.domains
            .iter()
            .find(|d| d.domain == domain)
            .copied()
            .ok_or(Refusal::ChainBroken {
                key: signer,
                domain,
            })
    }

    /// Checks that `domain` may hold `added` more revocation entries once `freed` of its own
    /// are gone: within its room, and within the table.
    pub(super) fn make_room(
        &self,
        domain: Domain,
        freed: usize,
        added: usize,
    ) -> Result<(), Refusal> {
        let used = self.used(domain, Table::Revoked) - freed;
        if used + added > self.room(domain).revoked {
            return Err(Refusal::RoomFull {
                domain,
                table: Table::Revoked,
            });
        }
        if self.revoked.len() - freed + added > REVOKED {
            return Err(Refusal::CapacityFull(Table::Revoked));
        }
        Ok(())
    }

    #[inline(never)]
    pub(super) fn admit_delta(
        &mut self,
        delta: &PolicyDelta<'_>,
        signature: &[u8; SIGNATURE_LEN],
        now: Option<UnixTime>,
    ) -> Result<Admitted, Refusal> {
        let base = self
            .policies
            .iter()
            .find(|h| h.domain == delta.domain && h.id == delta.id);
        let base = match base {
            Some(b) if b.version == delta.base_version && b.digest == delta.base_digest => b,
            other => {
                return Err(Refusal::DeltaBaseMismatch {
                    held: other.map(|b| b.version),
                });
            }
        };
        let base_signed = base
            .bytes
            .len()
            .checked_sub(SIGNATURE_LEN)
            .and_then(|end| base.bytes.get(..end))
            .ok_or(Refusal::DeltaResultMismatch)?;
        let mut out = [0u8; MAX_ARTIFACT_LEN];
        let mut at = 0;
        for op in &delta.ops {
            let piece = match *op {
                DeltaOp::Copy { offset, len } => {
                    let start = usize::from(offset);
                    base_signed.get(start..start + usize::from(len))
                }
                DeltaOp::Insert(bytes) => Some(bytes),
            }
            .ok_or(Refusal::DeltaResultMismatch)?;
            out.get_mut(at..at + piece.len())
                .ok_or(Refusal::DeltaResultMismatch)?
                .copy_from_slice(piece);
            at += piece.len();
        }
        let len =
            encoding::attach(&mut out, at, signature).map_err(|_| Refusal::DeltaResultMismatch)?;
        let result = out.get(..len).ok_or(Refusal::DeltaResultMismatch)?;
        if Digest::of(result) != delta.result_digest {
            return Err(Refusal::DeltaResultMismatch);
        }
        // Matched in place, as in `TrustStore::admit`: no second copy of the decoded policy.
        match &Signed::decode(result) {
            Ok(signed) => match &signed.artifact {
                Artifact::Policy(p)
                    if p.domain == delta.domain
                        && p.id == delta.id
                        && p.version == delta.version =>
                {
                    self.admit_signed(signed, now)
                }
                _ => Err(Refusal::DeltaResultMismatch),
            },
            Err(_) => Err(Refusal::DeltaResultMismatch),
        }
    }
}
