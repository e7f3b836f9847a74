//! The trust store: roots, admitted artifacts and revocation state, in fixed memory, and the
//! admission rules that guard it.
//!
//! A node seeds the store with its roots ([`TrustStore::add_root`]), then offers it every
//! artifact that arrives ([`TrustStore::admit`]). Admission checks, in this order:
//!
//! 1. the bytes decode (format version, kind, body) — [`Refusal::Malformed`],
//!    [`Refusal::UnknownFormatVersion`];
//! 2. the signer is a key the store holds a credential for, in the artifact's domain (for a
//!    translator, in both of its domains), and the signature verifies under it —
//!    [`Refusal::UnknownSigner`], [`Refusal::TranslatorNotInBothDomains`],
//!    [`Refusal::BadSignature`];
//! 3. the signer's credential chain reaches a root of that domain, no key on it is revoked, each
//!    link is valid at the time given, and the signer's scope covers the artifact's kind —
//!    [`Refusal::ChainBroken`], [`Refusal::RevokedSigner`], [`Refusal::NotYetValid`],
//!    [`Refusal::Expired`], [`Refusal::ScopeNotAllowed`], [`Refusal::DelegationTooDeep`];
//! 4. the artifact itself is not revoked, is newer than what the store holds, and is not a
//!    second, different artifact under the same id and version — [`Refusal::RevokedArtifact`],
//!    [`Refusal::Rollback`], [`Refusal::Equivocation`];
//! 5. kind-specific checks (delta base and result, revocation sequence) and room to keep it —
//!    [`Refusal::DeltaBaseMismatch`], [`Refusal::DeltaResultMismatch`],
//!    [`Refusal::RevocationGap`], [`Refusal::CapacityFull`].
//!
//! Every check runs before anything is written, so a refusal changes nothing that was admitted.
//! The one thing a refusal may record is evidence of an equivocation or a rollback (the offered
//! bytes, next to the held ones' digest, in a slot of the artifact's domain), which is what makes
//! them provable later ([`super::evidence`]).
//!
//! **Without time** (`now` is `None`) validity windows are not checked at all: a credential is
//! neither "not yet valid" nor "expired", and trust rests on signatures, chains and revocation
//! alone. Revocation is therefore the only way to withdraw a key from a node without a clock,
//! and decisions record that they were made without time.
//!
//! Here: the [`TrustStore`] itself, its entries and its public surface. Beside it: `admit` (the
//! rules above, per kind), `chain` (credential chains and what is revoked), `outcome`
//! ([`Admitted`], [`Refusal`]), `room` (per-domain rooms) and `tables` (placing entries in the
//! fixed tables).

use heapless::Vec;

use super::decide::{Decision, Label};
use super::encoding::{Artifact, DecodeError, Kind, SIGNATURE_LEN, Signed};
use super::evidence::{Conflict, Evidence};
use super::model::{
    ArtifactRef, Checkpoint, Credential, DeltaOp, Digest, Domain, KeyId, Policy, PolicyDelta,
    Revocation, Revoked, Scope, Translator, UnixTime, Validity,
};
use super::verifier::VerifyingKey;
use super::{
    MAX_ARTIFACT_LEN, MAX_CHAIN, MAX_CHECKPOINT_ENTRIES, MAX_CREDENTIAL_LEN, MAX_CREDENTIALS,
    MAX_DOMAINS, MAX_EVIDENCE, MAX_POLICIES, MAX_REVOCATION_ENTRIES, MAX_REVOKED, MAX_TRANSLATORS,
};

mod admit;
mod chain;
mod outcome;
mod room;
mod tables;

pub use outcome::{Admitted, Refusal, Table};
pub use room::{Room, RoomError};
use tables::{check_time, held_bytes, place, slot_bytes};

/// An admitted credential, with its key decoded once so verifications do not repeat the point
/// decompression.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Cred {
    pub(super) key_id: KeyId,
    pub(super) key: VerifyingKey,
    pub(super) domain: Domain,
    pub(super) issuer: KeyId,
    pub(super) root: bool,
    pub(super) scope: Scope,
    pub(super) validity: Validity,
    pub(super) depth: u8,
    pub(super) version: u32,
    pub(super) digest: Digest,
    pub(super) bytes: Vec<u8, MAX_CREDENTIAL_LEN>,
}

/// An admitted policy or translator: its identity and its bytes (up to `N`), decoded again
/// when used.
#[derive(Clone, PartialEq, Eq, Debug)]
pub(super) struct Held<const N: usize> {
    /// The policy's domain; a translator's source domain.
    pub(super) domain: Domain,
    /// The policy's domain again; a translator's target domain.
    pub(super) peer: Domain,
    /// The policy's spiral; a translator's source spiral (what decisions look it up by).
    pub(super) spiral: u8,
    pub(super) id: u32,
    pub(super) version: u32,
    /// Who signed it: a newer version must come from this key or one of its ancestors.
    pub(super) signer: KeyId,
    pub(super) digest: Digest,
    pub(super) bytes: Vec<u8, N>,
}

/// A domain's revocation state and room.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct DomainState {
    pub(super) domain: Domain,
    /// The last sequence number admitted (0: none yet).
    pub(super) seq: u32,
    /// The digest of that delta, to tell a duplicate from an equivocation.
    pub(super) digest: Digest,
    /// The latest checkpoint admitted (its sequence number and digest): deltas up to it are
    /// covered by it.
    pub(super) checkpoint: Option<(u32, Digest)>,
    /// The room set for the domain at provisioning ([`TrustStore::set_room`]); `None` shares
    /// what explicit rooms leave equally among such domains.
    pub(super) room: Option<Room>,
}

/// A revocation entry in force, with the key that revoked it: a key revocation counts only
/// against credentials that key stands above (see [`TrustStore::admit`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct InForce {
    pub(super) domain: Domain,
    pub(super) entry: Revoked,
    pub(super) revoker: KeyId,
}

/// A node's trust anchors and admitted artifacts, in fixed memory (see docs/policy.md for its
/// size).
///
/// The capacities are const generics so a small board can hold a smaller store; the defaults
/// are the host's ([`super::MAX_CREDENTIALS`] and its neighbours), and plain `TrustStore` names
/// that size. Each table refuses with [`Refusal::CapacityFull`] when full:
///
/// - `CREDS`: credentials, roots included;
/// - `POLICIES`: policies (the latest version of each domain and id);
/// - `TRANSLATORS`: translators (the latest version of each);
/// - `REVOKED`: revocation entries, over all domains;
/// - `EVIDENCE`: conflicts kept as evidence, per domain ([`super::evidence`]): one domain's
///   conflicts cannot take another's slots;
/// - `HELD`: bytes a policy or translator slot holds; [`MAX_ARTIFACT_LEN`] (the default) so an
///   artifact that crosses the air in one frame always fits. A board with little RAM holds
///   less and refuses a longer policy or translator with [`Refusal::SlotTooSmall`].
///
/// Every evidence slot holds up to [`MAX_ARTIFACT_LEN`] bytes. Build the host size
/// with [`TrustStore::new`], any size with [`TrustStore::empty`]; both are `const` so firmware
/// can keep a store in a static.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct TrustStore<
    const CREDS: usize = MAX_CREDENTIALS,
    const POLICIES: usize = MAX_POLICIES,
    const TRANSLATORS: usize = MAX_TRANSLATORS,
    const REVOKED: usize = MAX_REVOKED,
    const EVIDENCE: usize = MAX_EVIDENCE,
    const HELD: usize = MAX_ARTIFACT_LEN,
> {
    pub(super) credentials: Vec<Cred, CREDS>,
    pub(super) policies: Vec<Held<HELD>, POLICIES>,
    pub(super) translators: Vec<Held<HELD>, TRANSLATORS>,
    pub(super) domains: Vec<DomainState, MAX_DOMAINS>,
    pub(super) revoked: Vec<InForce, REVOKED>,
    /// Per domain, the conflicts not yet taken by the driver.
    evidence: Vec<(Domain, Vec<Evidence, EVIDENCE>), MAX_DOMAINS>,
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
> Default for TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>
{
    fn default() -> Self {
        Self::empty()
    }
}

impl TrustStore {
    /// An empty store of the host's size: no roots, nothing admitted. (Defined for the default
    /// capacities only, so `TrustStore::new()` needs no type annotation.)
    pub const fn new() -> Self {
        Self::empty()
    }
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
    /// An empty store of these capacities: no roots, nothing admitted.
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub const fn empty() -> Self {
        TrustStore {
            credentials: Vec::new(),
            policies: Vec::new(),
            translators: Vec::new(),
            domains: Vec::new(),
            revoked: Vec::new(),
            evidence: Vec::new(),
        }
    }

    /// Installs a trust anchor: a root's self-signed credential, which the operator vouches for
    /// by putting it here (it can never arrive over the air). Its self-signature must verify and,
    /// when time is known, it must not have expired.
    pub fn add_root(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal> {
        let signed = Signed::decode(bytes)?;
        let Artifact::Credential(cred) = &signed.artifact else {
            return Err(Refusal::Malformed(DecodeError::UnknownKind(
                signed.artifact.kind() as u8,
            )));
        };
        if cred.signer != cred.subject.key_id() {
            return Err(Refusal::ChainBroken {
                key: cred.subject.key_id(),
                domain: cred.domain,
            });
        }
        let entry = Self::cred_entry(&signed, cred, true)?;
        if !signed.verify(&entry.key) {
            return Err(Refusal::BadSignature);
        }
        check_time(entry.key_id, &cred.validity, now)?;
        let new_domain = !self.domains.iter().any(|d| d.domain == cred.domain);
        if new_domain && self.domains.is_full() {
            return Err(Refusal::CapacityFull(Table::Domains));
        }
        // A root is the operator's: it is charged to its domain's room but never refused for it.
        let duplicate = place(&mut self.credentials, Table::Credentials, entry, None)?;
        if new_domain {
            self.domains
                .push(DomainState {
                    domain: cred.domain,
                    seq: 0,
                    digest: Digest::default(),
                    checkpoint: None,
                    room: None,
                })
                .map_err(|_| Refusal::CapacityFull(Table::Domains))?;
        }
        Ok(Admitted {
            artifact: credential_ref(&signed, cred),
            duplicate,
        })
    }

    /// Sets how much of each table `domain` may fill (its room), at provisioning, after its
    /// root is installed. Domains without a room set share what the set rooms leave, equally;
    /// the set rooms may not add up to more than a table holds. A room smaller than what the
    /// domain already holds keeps what it holds and admits nothing more of that kind.
    pub fn set_room(&mut self, domain: Domain, room: Room) -> Result<(), RoomError> {
        let index = self
            .domains
            .iter()
            .position(|d| d.domain == domain)
            .ok_or(RoomError::UnknownDomain(domain))?;
        for table in [
            Table::Credentials,
            Table::Policies,
            Table::Translators,
            Table::Revoked,
        ] {
            let others: usize = self
                .domains
                .iter()
                .filter(|d| d.domain != domain)
                .filter_map(|d| d.room.map(|r| r.of(table)))
                .sum();
            if others.saturating_add(room.of(table)) > self.capacity(table) {
                return Err(RoomError::Exceeds(table));
            }
        }
        if let Some(state) = self.domains.get_mut(index) {
            state.room = Some(room);
        }
        Ok(())
    }

    /// The room `domain` has: the one set at provisioning, or an equal share of what the set
    /// rooms leave.
    pub fn room(&self, domain: Domain) -> Room {
        if let Some(room) = self
            .domains
            .iter()
            .find(|d| d.domain == domain)
            .and_then(|d| d.room)
        {
            return room;
        }
        let sharing = self.domains.iter().filter(|d| d.room.is_none()).count();
        let share = |table: Table| {
            let set: usize = self
                .domains
                .iter()
                .filter_map(|d| d.room.map(|r| r.of(table)))
                .sum();
            self.capacity(table).saturating_sub(set) / sharing.max(1)
        };
        Room {
            credentials: share(Table::Credentials),
            policies: share(Table::Policies),
            translators: share(Table::Translators),
            revoked: share(Table::Revoked),
        }
    }

    /// How many entries of `table` are charged to `domain`.
    pub fn used(&self, domain: Domain, table: Table) -> usize {
        match table {
            Table::Credentials => self
                .credentials
                .iter()
                .filter(|c| c.domain == domain)
                .count(),
            Table::Policies => self.policies.iter().filter(|h| h.domain == domain).count(),
            Table::Translators => self
                .translators
                .iter()
                .filter(|h| h.domain == domain)
                .count(),
            Table::Revoked => self.revoked.iter().filter(|r| r.domain == domain).count(),
            Table::Domains => 0,
        }
    }

    /// How many entries `table` holds in all.
    pub const fn capacity(&self, table: Table) -> usize {
        match table {
            Table::Credentials => CREDS,
            Table::Policies => POLICIES,
            Table::Translators => TRANSLATORS,
            Table::Revoked => REVOKED,
            Table::Domains => MAX_DOMAINS,
        }
    }

    /// `Some(domain)` when `domain` has no room left for one more entry of `table`.
    fn room_full(&self, domain: Domain, table: Table) -> Option<Domain> {
        (self.used(domain, table) >= self.room(domain).of(table)).then_some(domain)
    }

    /// The keys above `key` in `domain`, nearest first: its issuer, that issuer's issuer, and
    /// so on up to the root (at most [`MAX_CHAIN`]).
    fn ancestors(&self, key: KeyId, domain: Domain) -> Vec<KeyId, MAX_CHAIN> {
        let mut above = Vec::new();
        let mut at = key;
        while let Some(cred) = self.creds_of(at, domain).next() {
            if cred.root || above.push(cred.issuer).is_err() {
                break;
            }
            at = cred.issuer;
        }
        above
    }

    /// Whether `signer` may replace what `held_signer` signed in `domain`: it is that key or
    /// one of its ancestors.
    fn may_supersede(
        &self,
        domain: Domain,
        held_signer: KeyId,
        signer: KeyId,
    ) -> Result<(), Refusal> {
        if signer == held_signer || self.ancestors(held_signer, domain).contains(&signer) {
            Ok(())
        } else {
            Err(Refusal::SupersessionDenied {
                signer,
                held_signer,
            })
        }
    }

    /// Checks `bytes` against everything the store holds and, if every check passes, keeps it.
    /// `now` is the wall-clock time if the node knows it (see the module docs for what changes
    /// without it).
    // Out of line: the decoded artifact (3 KB with a policy) is on the stack only while it is
    // admitted, not in the caller's frame under whatever the caller does next (a node storing
    // it, the journal recording it).
    #[inline(never)]
    pub fn admit(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal> {
        // Admitted where it was decoded: `?` would move the decoded artifact (3 KB with a
        // policy) out of the `Result` into a second copy on the stack.
        match &Signed::decode(bytes) {
            Ok(signed) => self.admit_signed(signed, now),
            Err(e) => Err((*e).into()),
        }
    }

    /// The conflicts this store has seen and still keeps, every domain's (the held artifacts
    /// are still admitted).
    pub fn evidence(&self) -> impl Iterator<Item = &Evidence> {
        self.evidence.iter().flat_map(|(_, kept)| kept.iter())
    }

    /// Removes and returns one kept conflict, freeing its domain's slot. Call it after an
    /// admission (until it returns `None`) when the driver persists evidence itself; a driver
    /// that does not leaves the slots to fill, after which later conflicts of that domain are
    /// not kept.
    pub fn take_evidence(&mut self) -> Option<Evidence> {
        // A domain's entry goes with its last piece, so a store whose evidence was all taken
        // is the store it was before the conflicts.
        while let Some((_, kept)) = self.evidence.last_mut() {
            if let Some(piece) = kept.pop() {
                if kept.is_empty() {
                    self.evidence.pop();
                }
                return Some(piece);
            }
            self.evidence.pop();
        }
        None
    }

    /// The last revocation sequence number admitted for each domain with a root.
    pub fn revocation_seqs(&self) -> impl Iterator<Item = (Domain, u32)> + '_ {
        self.domains.iter().map(|d| (d.domain, d.seq))
    }

    /// The bytes of every admitted artifact (credentials, policies, translators), for forwarding
    /// to neighbours.
    pub fn artifacts(&self) -> impl Iterator<Item = &[u8]> {
        let creds = self.credentials.iter().map(|c| c.bytes.as_slice());
        let held = self.policies.iter().chain(&self.translators);
        creds.chain(held.map(|h| h.bytes.as_slice()))
    }
}

/// What a node asks of its trust store, whatever the store's capacities: a
/// [`crate::node::Node`] is generic over it so the firmware can run one with a small
/// [`TrustStore`] and the host with the default one. Each method is the [`TrustStore`] method of
/// the same name.
pub trait Trust {
    /// [`TrustStore::admit`].
    fn admit(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal>;
    /// [`TrustStore::decide`].
    fn decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision;
    /// [`TrustStore::revocation_seqs`].
    fn revocation_seqs(&self) -> impl Iterator<Item = (Domain, u32)> + '_;
    /// [`TrustStore::artifacts`].
    fn artifacts(&self) -> impl Iterator<Item = &[u8]>;
    /// [`TrustStore::is_withdrawn`].
    fn is_withdrawn(&self, artifact: &ArtifactRef) -> bool;
    /// [`TrustStore::take_evidence`].
    fn take_evidence(&mut self) -> Option<Evidence>;
    /// [`crate::label::decide`]: the guard's decision (label validity, then release), which a
    /// [`crate::station::Station`] makes for every labelled message at both ends.
    fn guard_decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision;
    /// [`TrustStore::node_identities`]: whose key speaks for a node address, for the
    /// binding's signature and the destination's domain.
    fn node_identities(
        &self,
        address: u32,
        now: Option<UnixTime>,
    ) -> impl Iterator<Item = crate::policy::NodeIdentity> + '_;
}

impl<
    const CREDS: usize,
    const POLICIES: usize,
    const TRANSLATORS: usize,
    const REVOKED: usize,
    const EVIDENCE: usize,
    const HELD: usize,
> Trust for TrustStore<CREDS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>
{
    fn admit(&mut self, bytes: &[u8], now: Option<UnixTime>) -> Result<Admitted, Refusal> {
        TrustStore::admit(self, bytes, now)
    }

    fn decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision {
        TrustStore::decide(self, label, audience, now)
    }

    fn revocation_seqs(&self) -> impl Iterator<Item = (Domain, u32)> + '_ {
        TrustStore::revocation_seqs(self)
    }

    fn artifacts(&self) -> impl Iterator<Item = &[u8]> {
        TrustStore::artifacts(self)
    }

    fn is_withdrawn(&self, artifact: &ArtifactRef) -> bool {
        TrustStore::is_withdrawn(self, artifact)
    }

    fn take_evidence(&mut self) -> Option<Evidence> {
        TrustStore::take_evidence(self)
    }

    fn guard_decide(&self, label: &Label<'_>, audience: Domain, now: Option<UnixTime>) -> Decision {
        crate::label::decide(self, label, audience, now)
    }

    fn node_identities(
        &self,
        address: u32,
        now: Option<UnixTime>,
    ) -> impl Iterator<Item = crate::policy::NodeIdentity> + '_ {
        TrustStore::node_identities(self, address, now)
    }
}

fn revoked(artifact: &ArtifactRef) -> Refusal {
    Refusal::RevokedArtifact {
        kind: artifact.kind,
        domain: artifact.domain,
        id: artifact.id,
        version: artifact.version,
    }
}

pub(super) fn credential_ref(signed: &Signed<'_>, cred: &Credential) -> ArtifactRef {
    ArtifactRef {
        kind: Kind::Credential,
        domain: cred.domain,
        id: 0,
        version: cred.version.into(),
        digest: Digest::of(signed.bytes),
    }
}

pub(super) fn held_ref<const N: usize>(kind: Kind, held: &Held<N>) -> ArtifactRef {
    ArtifactRef {
        kind,
        domain: held.domain,
        id: held.id,
        version: held.version.into(),
        digest: held.digest,
    }
}
