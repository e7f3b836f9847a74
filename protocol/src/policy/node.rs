//! Node identity: which key speaks for a STANAG 5066 node address, and in which domain.
//!
//! A node credential is an ordinary credential with [`Scope::NODE`] and a node address
//! ([`Credential::node`]), issued and revoked like any other. It lets a receiver check that a
//! label binding (`crate::label::binding`) really comes from the node address it names, and
//! tells a sender which domain a destination node belongs to, whose policy view decides.

use super::encoding::{Artifact, Signed};
use super::model::{ArtifactRef, Domain, Scope, UnixTime};
use super::store::{Cred, TrustStore, credential_ref};
use super::verifier::VerifyingKey;

/// A node's identity, as its admitted credential says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NodeIdentity {
    /// The node address.
    pub address: u32,
    /// The domain that credentialed it.
    pub domain: Domain,
    /// Its key.
    pub key: VerifyingKey,
    /// The credential, for lineage.
    pub credential: ArtifactRef,
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
    /// The identities credentialed for node `address` and in good standing at `now` (chain to
    /// the root present, nothing on it revoked, valid when time is known). Usually one; more
    /// while a node's key is being replaced.
    pub fn node_identities(
        &self,
        address: u32,
        now: Option<UnixTime>,
    ) -> impl Iterator<Item = NodeIdentity> + '_ {
        self.credentials
            .iter()
            .filter_map(move |cred| self.node_identity(cred, address, now))
    }

    /// `cred`'s identity if it is a node credential for `address` in good standing at `now`.
    /// Out of line, and the decoded artifact matched by reference where it was decoded: moved
    /// out of its `Result` first, it was a second 3 KB copy in the iterator's frame, on the
    /// stack of every guarded message (the guarded adjunct's receive path).
    #[inline(never)]
    fn node_identity(
        &self,
        cred: &Cred,
        address: u32,
        now: Option<UnixTime>,
    ) -> Option<NodeIdentity> {
        let decoded = Signed::decode(&cred.bytes);
        let Ok(
            signed @ Signed {
                artifact: Artifact::Credential(body),
                ..
            },
        ) = &decoded
        else {
            return None;
        };
        let usable = body.node == Some(address)
            && body.scope.contains(Scope::NODE)
            && !cred.root
            && self.standing(cred, Scope::NODE, now).is_ok();
        usable.then(|| NodeIdentity {
            address,
            domain: cred.domain,
            key: cred.key,
            credential: credential_ref(signed, body),
        })
    }

    /// The domain of node `address`: that of its first identity in good standing.
    pub fn node_domain(&self, address: u32, now: Option<UnixTime>) -> Option<Domain> {
        self.node_identities(address, now).next().map(|n| n.domain)
    }
}
