//! A small signed coalition with fixed, public keys, for tests, benchmarks and fuzzing: never
//! for real use (anyone can read these keys).
//!
//! GBR, USA and AUS each have a root. A delegated signer per nation signs its policy (GBR and
//! AUS at FMN spiral 4, USA at spiral 5) and its revocations. A GBR-USA liaison office, holding
//! translator credentials from both roots, signs the translator GBR spiral 4 -> USA spiral 5
//! (which bridges a spiral); a GBR-AUS liaison signs GBR 4 -> AUS 4.

use std::vec::Vec;

use p256::ecdsa::SigningKey;

use super::encoding::{self, Artifact};
use super::model::{
    Category, CategoryKind, CategorySet, CategoryValue, ClassMap, Classification, Credential,
    Domain, Equivalence, FieldBridge, Policy, PublicKey, ReleaseRule, Revocation, Revoked, Scope,
    SpiralRef, Translator, UnixTime, Validity, ValueSet,
};
use super::store::TrustStore;
use super::{MAX_ARTIFACT_LEN, MAX_REVOCATION_ENTRIES};

/// Great Britain.
pub const GBR: Domain = Domain(*b"GBR");
/// The United States.
pub const USA: Domain = Domain(*b"USA");
/// Australia.
pub const AUS: Domain = Domain(*b"AUS");
/// A time inside every sample credential's validity.
pub const NOW: UnixTime = UnixTime(1_800_000_000);
/// The validity of the sample credentials.
pub const VALIDITY: Validity = Validity {
    not_before: UnixTime(1_700_000_000),
    not_after: UnixTime(1_900_000_000),
};

/// The GBR classification codes.
pub mod gbr {
    /// OFFICIAL.
    pub const OFFICIAL: u8 = 1;
    /// OFFICIAL-SENSITIVE.
    pub const OFFICIAL_SENSITIVE: u8 = 2;
    /// SECRET.
    pub const SECRET: u8 = 3;
    /// TOP SECRET.
    pub const TOP_SECRET: u8 = 4;
    /// The UK EYES ONLY caveat (RESTRICTIVE, tag 1, value 1).
    pub const UKEO: super::CategoryValue = super::CategoryValue { tag: 1, value: 1 };
    /// Operation TELIC (PERMISSIVE, tag 2, value 10): releasable to USA up to SECRET.
    pub const OP_TELIC: super::CategoryValue = super::CategoryValue { tag: 2, value: 10 };
    /// Operation HERRICK (PERMISSIVE, tag 2, value 11): releasable to USA and AUS up to SECRET.
    pub const OP_HERRICK: super::CategoryValue = super::CategoryValue { tag: 2, value: 11 };
    /// A handling note (INFORMATIVE, tag 3, value 20).
    pub const HANDLING: super::CategoryValue = super::CategoryValue { tag: 3, value: 20 };
}

/// The key for a seed: the scalar `5a5a..5a<seed>`.
#[allow(
    clippy::expect_used,
    reason = "5a5a..5aXX is nonzero and below the P-256 group order for every seed"
)]
pub fn key(seed: u8) -> SigningKey {
    let mut scalar = [0x5a; 32];
    if let Some(last) = scalar.last_mut() {
        *last = seed;
    }
    SigningKey::from_bytes(&scalar.into()).expect("valid scalar")
}

/// The compressed public key of `key`.
pub fn public(key: &SigningKey) -> PublicKey {
    let point = key.verifying_key().to_encoded_point(true);
    let mut out = [0; PublicKey::LEN];
    for (o, b) in out.iter_mut().zip(point.as_bytes()) {
        *o = *b;
    }
    PublicKey(out)
}

/// Signs `artifact` with `key`.
pub fn sign(key: &SigningKey, artifact: &Artifact<'_>) -> Vec<u8> {
    let mut buf = [0u8; MAX_ARTIFACT_LEN];
    let len = encoding::sign(key, artifact, &mut buf).unwrap_or(0);
    buf.get(..len).unwrap_or_default().to_vec()
}

/// A credential for `subject` in `domain`, signed by `issuer` (self-signed when they are one).
pub fn credential(
    issuer: &SigningKey,
    subject: &SigningKey,
    domain: Domain,
    scope: Scope,
    depth: u8,
) -> Credential {
    Credential {
        domain,
        signer: public(issuer).key_id(),
        subject: public(subject),
        scope,
        validity: VALIDITY,
        depth,
        version: 1,
        node: None,
    }
}

/// A GBR-style policy body signed by `signer`, with the given version and rules.
pub fn policy<'a>(
    signer: &SigningKey,
    domain: Domain,
    id: u32,
    version: u32,
    spiral: u8,
    rules: &[ReleaseRule<'a>],
) -> Policy<'a> {
    let class = |code, name| Classification { code, name };
    let category = |tag, name, kind, base, bits| Category {
        tag,
        name,
        kind,
        values: ValueSet { base, bits },
        single: false,
    };
    Policy {
        domain,
        signer: public(signer).key_id(),
        id,
        version,
        spiral,
        name: "national",
        classifications: heapless::Vec::from_slice(&[
            class(gbr::OFFICIAL, "OFFICIAL"),
            class(gbr::OFFICIAL_SENSITIVE, "OFFICIAL-SENSITIVE"),
            class(gbr::SECRET, "SECRET"),
            class(gbr::TOP_SECRET, "TOP SECRET"),
        ])
        .unwrap_or_default(),
        categories: heapless::Vec::from_slice(&[
            category(1, "EYES ONLY", CategoryKind::Restrictive, 1, &[1]),
            category(2, "OPERATION", CategoryKind::Permissive, 10, &[3]),
            category(3, "HANDLING", CategoryKind::Informative, 20, &[1]),
        ])
        .unwrap_or_default(),
        rules: heapless::Vec::from_slice(rules).unwrap_or_default(),
        constraints: heapless::Vec::new(),
    }
}

/// A release rule.
pub fn rule(max: u8, category: Option<CategoryValue>, to: &[Domain]) -> ReleaseRule<'static> {
    ReleaseRule {
        max_classification: max,
        category: category.map(CategorySet::single),
        to: heapless::Vec::from_slice(to).unwrap_or_default(),
    }
}

/// GBR's rules: OFFICIAL-SENSITIVE to USA and AUS; TELIC to USA and HERRICK to both up to SECRET.
pub fn gbr_rules() -> [ReleaseRule<'static>; 3] {
    [
        rule(gbr::OFFICIAL_SENSITIVE, None, &[USA, AUS]),
        rule(gbr::SECRET, Some(gbr::OP_TELIC), &[USA]),
        rule(gbr::SECRET, Some(gbr::OP_HERRICK), &[USA, AUS]),
    ]
}

/// A translator from `from` to `to` mapping classifications 1..=4 to themselves, with the
/// operation category (tag 2) bridged to `operation_tag` and HERRICK made equivalent to itself.
pub fn translator<'a>(
    signer: &SigningKey,
    id: u32,
    version: u32,
    from: SpiralRef,
    to: SpiralRef,
    operation_tag: u8,
) -> Translator<'a> {
    let classes = [1, 2, 3, 4].map(|c| ClassMap { from: c, to: c });
    Translator {
        from,
        signer: public(signer).key_id(),
        to,
        id,
        version,
        name: "liaison",
        classifications: heapless::Vec::from_slice(&classes).unwrap_or_default(),
        equivalences: heapless::Vec::from_slice(&[Equivalence {
            from: gbr::OP_HERRICK,
            to: CategoryValue {
                tag: operation_tag,
                value: gbr::OP_HERRICK.value,
            },
        }])
        .unwrap_or_default(),
        bridges: heapless::Vec::from_slice(&[FieldBridge {
            from_tag: 2,
            to_tag: operation_tag,
        }])
        .unwrap_or_default(),
    }
}

/// A signed node credential: `root` of `domain` certifies that `key` speaks for node
/// `address` (scope `node`, depth 0).
pub fn node_credential(
    root: &SigningKey,
    key: &SigningKey,
    domain: Domain,
    address: u32,
) -> Vec<u8> {
    let cred = Credential {
        node: Some(address),
        ..credential(root, key, domain, Scope::NODE, 0)
    };
    sign(root, &Artifact::Credential(cred))
}

/// The key of node `address` in the sample: node 1 is GBR's, node 2 USA's
/// ([`Coalition::node_credentials`]).
pub fn node_key(address: u32) -> SigningKey {
    key(69u8.wrapping_add(address as u8))
}

impl Coalition {
    /// The node credentials of node 1 (GBR) and node 2 (USA), each issued by its nation's root
    /// for its [`node_key`].
    pub fn node_credentials(&self) -> Vec<Vec<u8>> {
        [(&self.gbr_root, GBR, 1), (&self.usa_root, USA, 2)]
            .into_iter()
            .map(|(root, domain, address)| {
                node_credential(root, &node_key(address), domain, address)
            })
            .collect()
    }
}

/// A revocation delta.
pub fn revocation(
    domain: Domain,
    signer: &SigningKey,
    seq: u32,
    entries: &[Revoked],
) -> Revocation {
    let entries = entries.get(..entries.len().min(MAX_REVOCATION_ENTRIES));
    Revocation {
        domain,
        signer: public(signer).key_id(),
        seq,
        entries: heapless::Vec::from_slice(entries.unwrap_or_default()).unwrap_or_default(),
    }
}

/// SECRET, operation TELIC, in compact form: GBR releases it to USA through the GBR-USA
/// translator (the guard tests' and the labelled hil test's label).
pub fn telic_label() -> Vec<u8> {
    let label = super::Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &[gbr::OP_TELIC],
    };
    let mut out = [0u8; crate::label::compact::MAX_COMPACT_LABEL_LEN];
    let len = crate::label::compact::encode(&label, &mut out).unwrap_or(0);
    out.get(..len).unwrap_or_default().to_vec()
}

/// The sample coalition's keys.
pub struct Coalition {
    /// The GBR root.
    pub gbr_root: SigningKey,
    /// The USA root.
    pub usa_root: SigningKey,
    /// The AUS root.
    pub aus_root: SigningKey,
    /// GBR's policy and revocation signer.
    pub gbr_signer: SigningKey,
    /// USA's policy and revocation signer.
    pub usa_signer: SigningKey,
    /// AUS's policy and revocation signer.
    pub aus_signer: SigningKey,
    /// The GBR-USA liaison office (translator credentials from both roots).
    pub gbr_usa_liaison: SigningKey,
    /// The GBR-AUS liaison office.
    pub gbr_aus_liaison: SigningKey,
}

impl Default for Coalition {
    fn default() -> Self {
        Self::new()
    }
}

impl Coalition {
    /// The fixed keys.
    pub fn new() -> Self {
        Coalition {
            gbr_root: key(1),
            usa_root: key(2),
            aus_root: key(3),
            gbr_signer: key(11),
            usa_signer: key(12),
            aus_signer: key(13),
            gbr_usa_liaison: key(21),
            gbr_aus_liaison: key(22),
        }
    }

    /// The three roots' self-signed credentials.
    pub fn roots(&self) -> [Vec<u8>; 3] {
        [
            (&self.gbr_root, GBR),
            (&self.usa_root, USA),
            (&self.aus_root, AUS),
        ]
        .map(|(root, domain)| {
            let cred = credential(root, root, domain, Scope::ALL, 3);
            sign(root, &Artifact::Credential(cred))
        })
    }

    /// The GBR policy at `version`, with `rules`.
    pub fn gbr_policy(&self, version: u32, rules: &[ReleaseRule<'_>]) -> Vec<u8> {
        let body = policy(&self.gbr_signer, GBR, 1, version, 4, rules);
        sign(&self.gbr_signer, &Artifact::Policy(body))
    }

    /// Every artifact of the coalition, in an order they can be admitted in.
    pub fn artifacts(&self) -> Vec<Vec<u8>> {
        let signer_scope = Scope::POLICY.with(Scope::REVOCATION);
        let mut out = Vec::new();
        let mut cred = |issuer: &SigningKey, subject: &SigningKey, domain, scope| {
            out.push(sign(
                issuer,
                &Artifact::Credential(credential(issuer, subject, domain, scope, 0)),
            ));
        };
        cred(&self.gbr_root, &self.gbr_signer, GBR, signer_scope);
        cred(&self.usa_root, &self.usa_signer, USA, signer_scope);
        cred(&self.aus_root, &self.aus_signer, AUS, signer_scope);
        cred(
            &self.gbr_root,
            &self.gbr_usa_liaison,
            GBR,
            Scope::TRANSLATOR,
        );
        cred(
            &self.usa_root,
            &self.gbr_usa_liaison,
            USA,
            Scope::TRANSLATOR,
        );
        cred(
            &self.gbr_root,
            &self.gbr_aus_liaison,
            GBR,
            Scope::TRANSLATOR,
        );
        cred(
            &self.aus_root,
            &self.gbr_aus_liaison,
            AUS,
            Scope::TRANSLATOR,
        );
        out.push(self.gbr_policy(1, &gbr_rules()));
        let usa = policy(&self.usa_signer, USA, 1, 1, 5, &[rule(2, None, &[GBR])]);
        let usa = Policy {
            categories: usa
                .categories
                .iter()
                .map(|c| Category {
                    // USA's spiral 5 moved the operation category to tag 7.
                    tag: if c.tag == 2 { 7 } else { c.tag },
                    ..c.clone()
                })
                .collect(),
            ..usa
        };
        out.push(sign(&self.usa_signer, &Artifact::Policy(usa)));
        let aus = policy(&self.aus_signer, AUS, 1, 1, 4, &[rule(2, None, &[GBR])]);
        let aus = Policy {
            categories: aus
                .categories
                .iter()
                .map(|c| Category {
                    // AUS knows operation HERRICK only.
                    values: if c.tag == 2 {
                        ValueSet::single(11)
                    } else {
                        c.values
                    },
                    ..c.clone()
                })
                .collect(),
            ..aus
        };
        out.push(sign(&self.aus_signer, &Artifact::Policy(aus)));
        let spiral = |domain, spiral| SpiralRef { domain, spiral };
        let to_usa = translator(
            &self.gbr_usa_liaison,
            1,
            1,
            spiral(GBR, 4),
            spiral(USA, 5),
            7,
        );
        out.push(sign(&self.gbr_usa_liaison, &Artifact::Translator(to_usa)));
        let to_aus = translator(
            &self.gbr_aus_liaison,
            2,
            1,
            spiral(GBR, 4),
            spiral(AUS, 4),
            2,
        );
        out.push(sign(&self.gbr_aus_liaison, &Artifact::Translator(to_aus)));
        out
    }

    /// A trust store holding the roots and every artifact, or the first refusal.
    pub fn store(&self) -> Result<TrustStore, super::Refusal> {
        let mut store = TrustStore::new();
        for root in self.roots() {
            store.add_root(&root, Some(NOW))?;
        }
        for artifact in self.artifacts() {
            store.admit(&artifact, Some(NOW))?;
        }
        Ok(store)
    }
}
