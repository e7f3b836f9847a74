//! Credential chains and revocation: which admitted credentials stand for a key in a domain,
//! whether a chain reaches a root unrevoked and in scope, and what is withdrawn.

use super::{
    ArtifactRef, Cred, Credential, DecodeError, Digest, Domain, Held, InForce, KeyId, Kind,
    MAX_CHAIN, Refusal, Revoked, Scope, Signed, TrustStore, UnixTime, Vec, VerifyingKey,
    check_time, held_bytes,
};

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
> TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>
{
    pub(super) fn cred_entry(
        signed: &Signed<'_>,
        cred: &Credential,
        root: bool,
    ) -> Result<Cred, Refusal> {
        let key = VerifyingKey::from_sec1_bytes(&cred.subject.0)
            .map_err(|_| Refusal::Malformed(DecodeError::Body))?;
        Ok(Cred {
            key_id: cred.subject.key_id(),
            key,
            domain: cred.domain,
            issuer: cred.signer,
            root,
            scope: cred.scope,
            validity: cred.validity,
            depth: cred.depth,
            version: cred.version,
            digest: Digest::of(signed.bytes),
            bytes: held_bytes(signed.bytes)?,
        })
    }

    /// The credentials of `key` in `domain`.
    pub(super) fn creds_of(&self, key: KeyId, domain: Domain) -> impl Iterator<Item = &Cred> {
        self.credentials
            .iter()
            .filter(move |c| c.key_id == key && c.domain == domain)
    }

    /// The credential in `domain` whose key made `signed`'s signature.
    pub(in crate::policy) fn verified(
        &self,
        signed: &Signed<'_>,
        key: KeyId,
        domain: Domain,
    ) -> Result<&Cred, Refusal> {
        if !self.credentials.iter().any(|c| c.key_id == key) {
            return Err(Refusal::UnknownSigner(key));
        }
        let mut creds = self.creds_of(key, domain).peekable();
        if creds.peek().is_none() {
            return Err(Refusal::ChainBroken { key, domain });
        }
        // More than one candidate only if two keys share a key id: try each.
        creds
            .find(|c| signed.verify(&c.key))
            .ok_or(Refusal::BadSignature)
    }

    /// Whether `cred` may sign `needed` now: its chain reaches a root of its domain with no
    /// revoked key and (when time is known) every link valid. No signature is checked: each link
    /// was verified when it was admitted.
    pub(in crate::policy) fn standing(
        &self,
        cred: &Cred,
        needed: Scope,
        now: Option<UnixTime>,
    ) -> Result<(), Refusal> {
        if !cred.scope.contains(needed) {
            return Err(Refusal::ScopeNotAllowed {
                key: cred.key_id,
                needed,
            });
        }
        let mut link = cred;
        for _ in 0..MAX_CHAIN {
            if !link.root && self.key_revoked(link.key_id, link.domain, link.issuer) {
                return Err(Refusal::RevokedSigner {
                    key: link.key_id,
                    domain: link.domain,
                });
            }
            check_time(link.key_id, &link.validity, now)?;
            if link.root {
                return Ok(());
            }
            link = self
                .creds_of(link.issuer, link.domain)
                .find(|c| c.scope.contains(Scope::ISSUE_CREDENTIAL))
                .ok_or(Refusal::ChainBroken {
                    key: link.key_id,
                    domain: link.domain,
                })?;
        }
        Err(Refusal::ChainBroken {
            key: cred.key_id,
            domain: cred.domain,
        })
    }

    /// Whether `key` holds, in `domain`, a credential in good standing for `needed`.
    pub(in crate::policy) fn in_good_standing(
        &self,
        key: KeyId,
        domain: Domain,
        needed: Scope,
        now: Option<UnixTime>,
    ) -> bool {
        self.creds_of(key, domain)
            .any(|c| self.standing(c, needed, now).is_ok())
    }

    /// Whether the policy or translator `artifact` (held from before) has since been revoked by
    /// its domain, so that this store would now refuse it: a node neither offers it to its
    /// neighbours nor counts it in its inventory, or it would send it again every round to a
    /// neighbour that refuses it. (Credentials of a revoked key are not recognised here: an
    /// [`ArtifactRef`] does not name the key.)
    pub fn is_withdrawn(&self, artifact: &ArtifactRef) -> bool {
        let id = artifact.id;
        let Ok(version) = u32::try_from(artifact.version) else {
            return false;
        };
        let entry = match artifact.kind {
            Kind::Policy | Kind::PolicyDelta => Revoked::Policy { id, version },
            Kind::Translator => Revoked::Translator { id, version },
            Kind::Credential | Kind::Revocation | Kind::Checkpoint => return false,
        };
        self.is_revoked(artifact.domain, &entry)
    }

    /// Whether `domain` has revoked exactly `entry` (keys), or a version at or above it
    /// (policies, translators).
    pub(in crate::policy) fn is_revoked(&self, domain: Domain, entry: &Revoked) -> bool {
        self.revoked.iter().any(
            |InForce {
                 domain: d,
                 entry: r,
                 ..
             }| {
                *d == domain
                    && match (r, entry) {
                        (Revoked::Key(_), Revoked::Key(_)) => false,
                        (
                            Revoked::Policy { id, version },
                            Revoked::Policy { id: i, version: v },
                        )
                        | (
                            Revoked::Translator { id, version },
                            Revoked::Translator { id: i, version: v },
                        ) => id == i && v <= version,
                        _ => false,
                    }
            },
        )
    }

    /// Whether `key`, credentialed in `domain` by `issuer`, is revoked: by an entry whose
    /// revoker stands above it (the issuer or one of its ancestors). An entry by anyone else,
    /// admitted while this store did not yet know the key, revokes nothing of it.
    pub(super) fn key_revoked(&self, key: KeyId, domain: Domain, issuer: KeyId) -> bool {
        let mut above: Option<Vec<KeyId, MAX_CHAIN>> = None;
        self.revoked.iter().any(|r| {
            r.domain == domain
                && r.entry == Revoked::Key(key)
                && (r.revoker == issuer
                    || above
                        .get_or_insert_with(|| self.ancestors(issuer, domain))
                        .contains(&r.revoker))
        })
    }

    /// Whether `signer` may revoke `key` in `domain`: every credential the store holds for
    /// `key` there hangs strictly below `signer`, and none is a root. (A key this store does not
    /// know yet is taken on trust here and judged when its credential arrives: see
    /// [`TrustStore::key_revoked`].)
    pub(super) fn may_revoke(
        &self,
        signer: KeyId,
        key: KeyId,
        domain: Domain,
    ) -> Result<(), Refusal> {
        let out_of_scope = Refusal::RevocationOutOfScope { signer, key };
        for cred in self.creds_of(key, domain) {
            if cred.root || !self.ancestors(key, domain).contains(&signer) {
                return Err(out_of_scope);
            }
        }
        if key == signer {
            return Err(out_of_scope);
        }
        Ok(())
    }

    /// Either of a translator's domains may revoke it.
    pub(in crate::policy) fn translator_revoked(&self, held: &Held<HELD>) -> bool {
        let entry = Revoked::Translator {
            id: held.id,
            version: held.version,
        };
        self.is_revoked(held.domain, &entry) || self.is_revoked(held.peer, &entry)
    }
}
