//! Admission, decisions and the decision log, on the sample coalition. Each refusal test starts
//! from an artifact the store would admit and tampers with one thing.

use std::vec::Vec;

use p256::ecdsa::SigningKey;
use proptest::prelude::*;

use super::encoding::{self, Artifact, DecodeError, Kind, SIGNATURE_LEN, Signed};
use super::log::{self, DecisionLog, LogAnchor, LogFault};
use super::model::{
    CategoryValue, Credential, DeltaOp, Digest, Domain, PolicyDelta, Revoked, Scope, SpiralRef,
    UnixTime, Validity,
};
use super::sample::{self, AUS, Coalition, GBR, NOW, USA, gbr};
use super::store::{Refusal, Table, TrustStore};
use super::{Basis, Decision, DenyReason, Label, Verdict};
use super::{MAX_ARTIFACT_LEN, MAX_LABEL_CATEGORIES, MAX_POLICIES};

/// The log's record formats (policy decisions and message decisions, old and new layout).
mod log_formats;

/// The sample coalition's keys and a store holding all of it (built once: signing is slow in
/// debug builds, and the proptests need a fresh store per case).
fn coalition() -> (Coalition, TrustStore) {
    static STORE: std::sync::LazyLock<TrustStore> =
        std::sync::LazyLock::new(|| Coalition::new().store().unwrap());
    (Coalition::new(), STORE.clone())
}

/// A store with the sample roots and `artifacts`.
fn store_with(artifacts: &[Vec<u8>]) -> TrustStore {
    let mut store = TrustStore::new();
    for root in Coalition::new().roots() {
        store.add_root(&root, Some(NOW)).unwrap();
    }
    for artifact in artifacts {
        store.admit(artifact, Some(NOW)).unwrap();
    }
    store
}

/// Admits `bytes`, expecting `refusal`, and checks the store did not change (but for the
/// evidence a conflict may leave, which is taken before comparing).
fn refuse(store: &mut TrustStore, bytes: &[u8], now: Option<UnixTime>, refusal: Refusal) {
    let before = store.clone();
    assert_eq!(store.admit(bytes, now), Err(refusal));
    let mut after = store.clone();
    while after.take_evidence().is_some() {}
    assert!(after == before, "a refusal changed the store");
}

fn key_id(key: &SigningKey) -> super::KeyId {
    sample::public(key).key_id()
}

fn delta(base: &[u8], result: &[u8]) -> Vec<u8> {
    let mut out = [0u8; MAX_ARTIFACT_LEN];
    let base = Signed::decode(base).unwrap();
    let result = Signed::decode(result).unwrap();
    let len = encoding::encode_delta(&base, &result, &mut out).unwrap();
    out[..len].to_vec()
}

/// A GBR revocation delta signed by the GBR root (which stands above every GBR key).
fn revoke(c: &Coalition, seq: u32, entries: &[Revoked]) -> Vec<u8> {
    let body = sample::revocation(GBR, &c.gbr_root, seq, entries);
    sample::sign(&c.gbr_root, &Artifact::Revocation(body))
}

#[test]
fn the_sample_coalition_is_admitted_and_duplicates_change_nothing() {
    let (c, mut store) = coalition();
    let before = store.clone();
    for artifact in c.artifacts() {
        assert!(store.admit(&artifact, Some(NOW)).unwrap().duplicate);
    }
    assert!(store == before);
    assert_eq!(store.artifacts().count(), 3 + c.artifacts().len());
}

#[test]
fn refuses_malformed_bytes() {
    let (c, mut store) = coalition();
    let policy = c.gbr_policy(2, &sample::gbr_rules());
    refuse(
        &mut store,
        &policy[..40],
        Some(NOW),
        Refusal::Malformed(DecodeError::Truncated),
    );
    let mut unknown_kind = policy.clone();
    unknown_kind[1] = 9;
    refuse(
        &mut store,
        &unknown_kind,
        Some(NOW),
        Refusal::Malformed(DecodeError::UnknownKind(9)),
    );
    // A policy's bytes relabelled as a translator's do not decode as one (this policy's
    // bytes happen to start like a translator's and leave bytes over).
    let mut as_translator = policy.clone();
    as_translator[1] = Kind::Translator as u8;
    refuse(
        &mut store,
        &as_translator,
        Some(NOW),
        Refusal::Malformed(DecodeError::TrailingBytes),
    );
}

#[test]
fn refuses_an_unknown_format_version() {
    let (c, mut store) = coalition();
    let mut policy = c.gbr_policy(2, &sample::gbr_rules());
    policy[0] = 2;
    refuse(
        &mut store,
        &policy,
        Some(NOW),
        Refusal::UnknownFormatVersion(2),
    );
}

#[test]
fn refuses_a_bad_signature() {
    let (c, mut store) = coalition();
    let policy = c.gbr_policy(2, &sample::gbr_rules());
    // Change a byte of the policy's name ("national"): still decodes, no longer signed.
    let at = policy.windows(8).position(|w| w == b"national").unwrap();
    let mut renamed = policy.clone();
    renamed[at] = b'N';
    refuse(&mut store, &renamed, Some(NOW), Refusal::BadSignature);
    let mut bad_sig = policy.clone();
    *bad_sig.last_mut().unwrap() ^= 1;
    refuse(&mut store, &bad_sig, Some(NOW), Refusal::BadSignature);
}

#[test]
fn refuses_the_high_s_twin_of_a_valid_signature() {
    use p256::ecdsa::Signature;
    let (c, mut store) = coalition();
    let policy = c.gbr_policy(2, &sample::gbr_rules());
    let split = policy.len() - SIGNATURE_LEN;
    let sig = Signature::from_slice(&policy[split..]).unwrap();
    let (r, s) = sig.split_scalars();
    let twin = Signature::from_scalars(r, -*s).unwrap();
    let mut malleated = policy[..split].to_vec();
    malleated.extend_from_slice(&twin.to_bytes());
    refuse(&mut store, &malleated, Some(NOW), Refusal::BadSignature);
    assert!(store.admit(&policy, Some(NOW)).is_ok());
}

#[test]
fn refuses_an_unknown_signer() {
    let (_, mut store) = coalition();
    let stranger = sample::key(99);
    let body = sample::policy(&stranger, GBR, 1, 2, 4, &sample::gbr_rules());
    let policy = sample::sign(&stranger, &Artifact::Policy(body));
    refuse(
        &mut store,
        &policy,
        Some(NOW),
        Refusal::UnknownSigner(key_id(&stranger)),
    );
}

#[test]
fn refuses_a_signer_whose_chain_does_not_reach_the_domain_root() {
    let (c, mut store) = coalition();
    // The USA signer is credentialed, but only in USA.
    let body = sample::policy(&c.usa_signer, GBR, 1, 2, 4, &sample::gbr_rules());
    let policy = sample::sign(&c.usa_signer, &Artifact::Policy(body));
    let chain_broken = Refusal::ChainBroken {
        key: key_id(&c.usa_signer),
        domain: GBR,
    };
    refuse(&mut store, &policy, Some(NOW), chain_broken);
    // A self-signed credential is a root: it never enters over the air.
    let rogue = sample::key(98);
    let cred = sample::credential(&rogue, &rogue, GBR, Scope::ALL, 3);
    let rogue_root = sample::sign(&rogue, &Artifact::Credential(cred));
    let not_a_root = Refusal::ChainBroken {
        key: key_id(&rogue),
        domain: GBR,
    };
    refuse(&mut store, &rogue_root, Some(NOW), not_a_root);
    // Nor may a delegated issuer re-credential a root's key: it would replace the anchor.
    let issuer = sample::key(53);
    let cred = sample::credential(&c.gbr_root, &issuer, GBR, Scope::ALL, 2);
    store
        .admit(
            &sample::sign(&c.gbr_root, &Artifact::Credential(cred)),
            Some(NOW),
        )
        .unwrap();
    let cred = Credential {
        validity: Validity {
            not_before: UnixTime(0),
            not_after: UnixTime(u64::MAX),
        },
        ..sample::credential(&issuer, &c.gbr_root, GBR, Scope::POLICY, 0)
    };
    let over_root = sample::sign(&issuer, &Artifact::Credential(cred));
    let refusal = Refusal::ChainBroken {
        key: key_id(&c.gbr_root),
        domain: GBR,
    };
    refuse(&mut store, &over_root, Some(NOW), refusal);
}

#[test]
fn refuses_an_artifact_outside_the_signers_scope() {
    let (c, mut store) = coalition();
    // The liaison may sign translators, not policies.
    let body = sample::policy(&c.gbr_usa_liaison, GBR, 1, 2, 4, &sample::gbr_rules());
    let policy = sample::sign(&c.gbr_usa_liaison, &Artifact::Policy(body));
    let refusal = Refusal::ScopeNotAllowed {
        key: key_id(&c.gbr_usa_liaison),
        needed: Scope::POLICY,
    };
    refuse(&mut store, &policy, Some(NOW), refusal);
    // The GBR signer may not issue credentials.
    let cred = sample::credential(&c.gbr_signer, &sample::key(50), GBR, Scope::POLICY, 0);
    let cred = sample::sign(&c.gbr_signer, &Artifact::Credential(cred));
    let refusal = Refusal::ScopeNotAllowed {
        key: key_id(&c.gbr_signer),
        needed: Scope::ISSUE_CREDENTIAL,
    };
    refuse(&mut store, &cred, Some(NOW), refusal);
}

#[test]
fn refuses_delegation_beyond_the_issuers_depth() {
    let (c, mut store) = coalition();
    let issuer = sample::key(51);
    let at_depth = |depth| {
        let cred = sample::credential(&c.gbr_root, &issuer, GBR, Scope::ALL, depth);
        sample::sign(&c.gbr_root, &Artifact::Credential(cred))
    };
    // The root has depth 3: a subject may get at most 2.
    let too_deep = Refusal::DelegationTooDeep {
        key: key_id(&c.gbr_root),
    };
    refuse(&mut store, &at_depth(3), Some(NOW), too_deep);
    store.admit(&at_depth(1), Some(NOW)).unwrap();
    let sub = sample::credential(&issuer, &sample::key(52), GBR, Scope::POLICY, 1);
    let sub = sample::sign(&issuer, &Artifact::Credential(sub));
    let refusal = Refusal::DelegationTooDeep {
        key: key_id(&issuer),
    };
    refuse(&mut store, &sub, Some(NOW), refusal);
}

/// A GBR signer whose credential is valid only from 1_850_000_000 to 1_860_000_000, and a
/// policy it signed.
fn short_lived_signer(c: &Coalition, store: &mut TrustStore) -> (SigningKey, Vec<u8>) {
    let signer = sample::key(60);
    let cred = Credential {
        validity: Validity {
            not_before: UnixTime(1_850_000_000),
            not_after: UnixTime(1_860_000_000),
        },
        ..sample::credential(&c.gbr_root, &signer, GBR, Scope::POLICY, 0)
    };
    let cred = sample::sign(&c.gbr_root, &Artifact::Credential(cred));
    store.admit(&cred, None).unwrap();
    let body = sample::policy(&signer, GBR, 7, 1, 4, &sample::gbr_rules());
    let policy = sample::sign(&signer, &Artifact::Policy(body));
    (signer, policy)
}

#[test]
fn refuses_a_signer_not_yet_valid_or_expired_when_time_is_known() {
    let (c, mut store) = coalition();
    let (signer, policy) = short_lived_signer(&c, &mut store);
    let not_yet = Refusal::NotYetValid {
        key: key_id(&signer),
        not_before: UnixTime(1_850_000_000),
    };
    refuse(&mut store, &policy, Some(NOW), not_yet);
    let expired = Refusal::Expired {
        key: key_id(&signer),
        not_after: UnixTime(1_860_000_000),
    };
    refuse(&mut store, &policy, Some(UnixTime(1_870_000_000)), expired);
    assert!(store.admit(&policy, Some(UnixTime(1_855_000_000))).is_ok());
}

#[test]
fn without_time_validity_windows_are_not_checked() {
    let (c, mut store) = coalition();
    let (_, policy) = short_lived_signer(&c, &mut store);
    assert!(store.admit(&policy, None).is_ok());
}

#[test]
fn refuses_artifacts_of_a_revoked_signer() {
    let (c, mut store) = coalition();
    let revocation = revoke(&c, 1, &[Revoked::Key(key_id(&c.gbr_usa_liaison))]);
    store.admit(&revocation, Some(NOW)).unwrap();
    let spiral = |domain, spiral| SpiralRef { domain, spiral };
    let body = sample::translator(&c.gbr_usa_liaison, 1, 2, spiral(GBR, 4), spiral(USA, 5), 7);
    let translator = sample::sign(&c.gbr_usa_liaison, &Artifact::Translator(body));
    let refusal = Refusal::RevokedSigner {
        key: key_id(&c.gbr_usa_liaison),
        domain: GBR,
    };
    refuse(&mut store, &translator, Some(NOW), refusal);
}

#[test]
fn refuses_a_revoked_artifact() {
    let (c, mut store) = coalition();
    let policy = c.gbr_policy(2, &sample::gbr_rules());
    let revocation = revoke(&c, 1, &[Revoked::Policy { id: 1, version: 2 }]);
    store.admit(&revocation, Some(NOW)).unwrap();
    let refusal = Refusal::RevokedArtifact {
        kind: Kind::Policy,
        domain: GBR,
        id: 1,
        version: 2,
    };
    refuse(&mut store, &policy, Some(NOW), refusal);
    assert!(
        store
            .admit(&c.gbr_policy(3, &sample::gbr_rules()), Some(NOW))
            .is_ok()
    );
}

#[test]
fn refuses_a_rollback() {
    let (c, mut store) = coalition();
    store
        .admit(&c.gbr_policy(3, &sample::gbr_rules()), Some(NOW))
        .unwrap();
    let old = c.gbr_policy(2, &sample::gbr_rules());
    refuse(
        &mut store,
        &old,
        Some(NOW),
        Refusal::Rollback {
            held: 3,
            offered: 2,
        },
    );
}

#[test]
fn refuses_an_equivocation_and_keeps_the_evidence() {
    let (c, mut store) = coalition();
    let held = c.gbr_policy(2, &sample::gbr_rules());
    store.admit(&held, Some(NOW)).unwrap();
    let other = c.gbr_policy(2, &sample::gbr_rules()[..1]);
    let refusal = Refusal::Equivocation {
        held: Digest::of(&held),
        offered: Digest::of(&other),
        evidence_kept: true,
    };
    assert_eq!(store.admit(&other, Some(NOW)), Err(refusal));
    let kept: Vec<&[u8]> = store.evidence().map(|e| e.offered.as_slice()).collect();
    assert_eq!(kept, [other.as_slice()]);
    // The held version is still the one in force.
    assert!(store.admit(&held, Some(NOW)).unwrap().duplicate);
}

#[test]
fn admits_a_policy_delta_as_the_policy_it_produces() {
    let (c, mut store) = coalition();
    let base = c.artifacts()[7].clone();
    let mut rules = sample::gbr_rules().to_vec();
    rules.push(sample::rule(gbr::SECRET, Some(gbr::OP_TELIC), &[AUS]));
    let result = c.gbr_policy(2, &rules);
    let admitted = store.admit(&delta(&base, &result), Some(NOW)).unwrap();
    assert_eq!(admitted.artifact.kind, Kind::Policy);
    assert_eq!(admitted.artifact.version, 2);
    assert_eq!(admitted.artifact.digest, Digest::of(&result));
    assert!(store.admit(&result, Some(NOW)).unwrap().duplicate);
}

#[test]
fn refuses_a_delta_whose_base_is_not_held() {
    let (c, mut store) = coalition();
    let v2 = c.gbr_policy(2, &sample::gbr_rules()[..2]);
    let v3 = c.gbr_policy(3, &sample::gbr_rules()[..1]);
    // The store holds version 1, not the delta's base (version 2).
    let refusal = Refusal::DeltaBaseMismatch { held: Some(1) };
    refuse(&mut store, &delta(&v2, &v3), Some(NOW), refusal);
    // Same version, different bytes: the base digest does not match either.
    let other_v1 = c.gbr_policy(1, &sample::gbr_rules()[..2]);
    refuse(&mut store, &delta(&other_v1, &v2), Some(NOW), refusal);
}

#[test]
fn refuses_a_delta_that_does_not_produce_its_result() {
    let (c, mut store) = coalition();
    let base = c.artifacts()[7].clone();
    let result = c.gbr_policy(2, &sample::gbr_rules()[..2]);
    let good = delta(&base, &result);
    let signed = Signed::decode(&good).unwrap();
    let Artifact::PolicyDelta(d) = signed.artifact else {
        unreachable!()
    };
    let rewrite = |d: PolicyDelta<'_>| {
        let mut out = [0u8; MAX_ARTIFACT_LEN];
        let len = encoding::encode_signed_part(&Artifact::PolicyDelta(d), &mut out).unwrap();
        let len = encoding::attach(&mut out, len, &signed.signature).unwrap();
        out[..len].to_vec()
    };
    let wrong_digest = PolicyDelta {
        result_digest: Digest([7; 32]),
        ..d.clone()
    };
    refuse(
        &mut store,
        &rewrite(wrong_digest),
        Some(NOW),
        Refusal::DeltaResultMismatch,
    );
    let mut ops = d.ops.clone();
    ops[0] = DeltaOp::Copy {
        offset: 1000,
        len: 10,
    };
    let outside = PolicyDelta { ops, ..d };
    refuse(
        &mut store,
        &rewrite(outside),
        Some(NOW),
        Refusal::DeltaResultMismatch,
    );
}

#[test]
fn refuses_a_revocation_gap_and_names_the_missing_numbers() {
    let (c, mut store) = coalition();
    store.admit(&revoke(&c, 1, &[]), Some(NOW)).unwrap();
    let fourth = revoke(&c, 4, &[Revoked::Policy { id: 1, version: 1 }]);
    let refusal = Refusal::RevocationGap {
        domain: GBR,
        first_missing: 2,
        last_missing: 3,
    };
    refuse(&mut store, &fourth, Some(NOW), refusal);
    store.admit(&revoke(&c, 2, &[]), Some(NOW)).unwrap();
    store.admit(&revoke(&c, 3, &[]), Some(NOW)).unwrap();
    store.admit(&fourth, Some(NOW)).unwrap();
    let replay = Refusal::Rollback {
        held: 4,
        offered: 2,
    };
    refuse(&mut store, &revoke(&c, 2, &[]), Some(NOW), replay);
}

#[test]
fn refuses_a_translator_whose_signer_is_not_credentialed_in_both_domains() {
    let (c, mut store) = coalition();
    // The GBR-AUS liaison holds no USA credential.
    let spiral = |domain, spiral| SpiralRef { domain, spiral };
    let body = sample::translator(&c.gbr_aus_liaison, 3, 1, spiral(GBR, 4), spiral(USA, 5), 7);
    let translator = sample::sign(&c.gbr_aus_liaison, &Artifact::Translator(body));
    let refusal = Refusal::TranslatorNotInBothDomains {
        key: key_id(&c.gbr_aus_liaison),
        missing: USA,
    };
    refuse(&mut store, &translator, Some(NOW), refusal);
}

#[test]
fn a_domain_that_fills_its_policy_room_is_refused_in_its_own_name_only() {
    let (c, mut store) = coalition();
    let room = store.room(GBR).policies;
    assert!((1..MAX_POLICIES).contains(&room));
    for id in 0..(room - store.used(GBR, Table::Policies)) as u32 {
        let body = sample::policy(&c.gbr_signer, GBR, 100 + id, 1, 4, &[]);
        store
            .admit(
                &sample::sign(&c.gbr_signer, &Artifact::Policy(body)),
                Some(NOW),
            )
            .unwrap();
    }
    let body = sample::policy(&c.gbr_signer, GBR, 1000, 1, 4, &[]);
    let one_more = sample::sign(&c.gbr_signer, &Artifact::Policy(body));
    refuse(
        &mut store,
        &one_more,
        Some(NOW),
        Refusal::RoomFull {
            domain: GBR,
            table: Table::Policies,
        },
    );
    // A newer version of a held policy replaces it in place: no room needed.
    assert!(store.admit(&c.gbr_policy(2, &[]), Some(NOW)).is_ok());
    // USA's room is untouched.
    let body = sample::policy(&c.usa_signer, USA, 2, 1, 5, &[]);
    assert!(
        store
            .admit(
                &sample::sign(&c.usa_signer, &Artifact::Policy(body)),
                Some(NOW)
            )
            .is_ok()
    );
}

fn label(classification: u8, categories: &[CategoryValue]) -> Label<'_> {
    Label {
        domain: GBR,
        policy: 1,
        classification,
        categories,
    }
}

#[test]
fn decisions_follow_the_home_rules_with_4774_semantics() {
    let (_, store) = coalition();
    let verdict = |l: &Label<'_>, to| store.decide(l, to, Some(NOW)).verdict;
    assert_eq!(
        verdict(&label(gbr::OFFICIAL_SENSITIVE, &[]), USA),
        Verdict::Release
    );
    assert_eq!(
        verdict(&label(gbr::SECRET, &[]), USA),
        Verdict::Deny(DenyReason::NoRule)
    );
    assert_eq!(
        verdict(&label(gbr::SECRET, &[gbr::OP_TELIC]), USA),
        Verdict::Release
    );
    assert_eq!(
        verdict(&label(gbr::SECRET, &[gbr::OP_TELIC]), AUS),
        Verdict::Deny(DenyReason::NotPermitted)
    );
    assert_eq!(
        verdict(&label(gbr::SECRET, &[gbr::OP_HERRICK]), AUS),
        Verdict::Release
    );
    assert_eq!(
        verdict(&label(gbr::TOP_SECRET, &[gbr::OP_TELIC]), USA),
        Verdict::Deny(DenyReason::NotPermitted)
    );
    assert_eq!(
        verdict(&label(gbr::OFFICIAL, &[gbr::UKEO]), USA),
        Verdict::Deny(DenyReason::Restricted(gbr::UKEO))
    );
    assert_eq!(
        verdict(&label(gbr::TOP_SECRET, &[gbr::UKEO]), GBR),
        Verdict::Release
    );
    assert_eq!(
        verdict(&label(9, &[]), USA),
        Verdict::Deny(DenyReason::UnknownClassification)
    );
}

#[test]
fn a_translated_decision_bridges_the_spiral_and_records_its_lineage() {
    let (c, store) = coalition();
    let artifacts = c.artifacts();
    let l = label(gbr::SECRET, &[gbr::OP_TELIC, gbr::HANDLING]);
    let decision = store.decide(&l, USA, Some(NOW));
    assert_eq!(decision.verdict, Verdict::Release);
    assert_eq!(decision.basis, Basis::Translated);
    let lineage = &decision.lineage;
    assert_eq!(lineage.home.unwrap().digest, Digest::of(&artifacts[7]));
    assert_eq!(lineage.target.unwrap().digest, Digest::of(&artifacts[8]));
    let translator = lineage.translator.unwrap();
    assert_eq!((translator.id, translator.version), (1, 1));
    assert_eq!(translator.digest, Digest::of(&artifacts[10]));
    assert_eq!(
        lineage.spiral_gap,
        Some(super::SpiralGap { from: 4, to: 5 })
    );
    assert_eq!(lineage.time, Some(NOW));
    assert_eq!(
        lineage.revocation_seqs.as_slice(),
        [(GBR, 0), (USA, 0), (AUS, 0)]
    );
    // TELIC moved to tag 7 at spiral 5; the informative handling note has no USA equivalent.
    let translated = decision.translated.unwrap();
    assert_eq!(
        (translated.domain, translated.classification),
        (USA, gbr::SECRET)
    );
    assert_eq!(
        translated.categories.as_slice(),
        [CategoryValue { tag: 7, value: 10 }]
    );
}

#[test]
fn a_label_with_too_many_categories_is_denied_and_logged_with_the_first_ones() {
    let (_, store) = coalition();
    let many = [gbr::OP_HERRICK; MAX_LABEL_CATEGORIES + 1];
    let decision = store.decide(&label(gbr::SECRET, &many), AUS, Some(NOW));
    assert_eq!(
        decision.verdict,
        Verdict::Deny(DenyReason::TooManyCategories)
    );
    // Issue 18: the log entry used to hold no categories at all.
    assert_eq!(
        decision.label.categories.as_slice(),
        &many[..MAX_LABEL_CATEGORIES]
    );
}

#[test]
fn without_a_translator_the_home_policy_alone_decides() {
    // Everything but the GBR -> AUS translator, the last artifact.
    let artifacts = Coalition::new().artifacts();
    let store = store_with(&artifacts[..artifacts.len() - 1]);
    // Either permissive value suffices: HERRICK is releasable to AUS, TELIC is not.
    let both = [gbr::OP_TELIC, gbr::OP_HERRICK];
    let decision = store.decide(&label(gbr::SECRET, &both), AUS, Some(NOW));
    assert_eq!(decision.basis, Basis::HomeOnly);
    assert_eq!(decision.verdict, Verdict::Release);
    assert_eq!(
        (decision.translated, decision.lineage.translator),
        (None, None)
    );
}

#[test]
fn a_value_the_translator_cannot_express_denies_release() {
    let (_, store) = coalition();
    // AUS's policy has no operation TELIC: both operations are on the label, HERRICK alone
    // would be releasable, but TELIC cannot be carried across.
    let both = [gbr::OP_TELIC, gbr::OP_HERRICK];
    let decision = store.decide(&label(gbr::SECRET, &both), AUS, Some(NOW));
    assert_eq!(decision.basis, Basis::Translated);
    assert_eq!(
        decision.verdict,
        Verdict::Deny(DenyReason::Untranslatable(gbr::OP_TELIC))
    );
}

#[test]
fn revoking_the_translator_degrades_the_decision_to_home_authority_and_says_so() {
    let (c, mut store) = coalition();
    let l = label(gbr::SECRET, &[gbr::OP_TELIC]);
    let before = store.decide(&l, USA, Some(NOW));
    assert_eq!(before.basis, Basis::Translated);
    let translator = before.lineage.translator.unwrap();
    // USA, the target side, revokes it unilaterally.
    let body = sample::revocation(
        USA,
        &c.usa_signer,
        1,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    store
        .admit(
            &sample::sign(&c.usa_signer, &Artifact::Revocation(body)),
            Some(NOW),
        )
        .unwrap();
    let after = store.decide(&l, USA, Some(NOW));
    assert_eq!(after.basis, Basis::HomeOnlyTranslatorRevoked(translator));
    assert_eq!(after.verdict, Verdict::Release);
    assert_eq!(after.translated, None);
    assert_eq!(after.lineage.translator, None);
    assert_eq!(after.lineage.spiral_gap, None);
    assert_eq!(after.lineage.home, before.lineage.home);
    assert_eq!(
        after.lineage.revocation_seqs.as_slice(),
        [(GBR, 0), (USA, 1), (AUS, 0)]
    );
}

#[test]
fn revoking_the_home_policy_or_its_signer_denies() {
    let (c, mut store) = coalition();
    let l = label(gbr::OFFICIAL, &[]);
    store
        .admit(
            &revoke(&c, 1, &[Revoked::Key(key_id(&c.gbr_signer))]),
            Some(NOW),
        )
        .unwrap();
    let decision = store.decide(&l, USA, Some(NOW));
    assert_eq!(decision.verdict, Verdict::Deny(DenyReason::NoHomePolicy));
    assert_eq!(decision.lineage.home, None);
}

fn decisions(store: &TrustStore) -> Vec<Decision> {
    let labels = [
        label(gbr::OFFICIAL, &[]),
        label(gbr::SECRET, &[gbr::OP_TELIC]),
        label(gbr::SECRET, &[gbr::UKEO]),
        label(gbr::OFFICIAL_SENSITIVE, &[gbr::HANDLING]),
        label(gbr::TOP_SECRET, &[]),
    ];
    labels
        .iter()
        .zip([USA, USA, AUS, AUS, GBR])
        .map(|(l, to)| store.decide(l, to, Some(NOW)))
        .collect()
}

fn write_log(decisions: &[Decision]) -> (Vec<Vec<u8>>, LogAnchor) {
    let mut log = DecisionLog::new();
    let mut buf = [0u8; 1024];
    let entries = decisions
        .iter()
        .map(|d| log.append(d, &mut buf).unwrap().to_vec())
        .collect();
    (entries, log.anchor())
}

fn verify(entries: &[Vec<u8>], anchor: Option<LogAnchor>) -> Result<LogAnchor, LogFault> {
    let slices: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    log::verify(&slices, anchor)
}

#[test]
fn the_decision_log_verifies_and_reads_back() {
    let (_, store) = coalition();
    let decided = decisions(&store);
    let (entries, anchor) = write_log(&decided);
    assert_eq!(verify(&entries, Some(anchor)), Ok(anchor));
    assert_eq!(anchor.count, 5);
    let read: Vec<Decision> = entries
        .iter()
        .map(|e| log::LogEntry::read(e).unwrap().decision().cloned().unwrap())
        .collect();
    assert_eq!(read, decided);
}

#[test]
fn the_decision_log_names_the_altered_removed_or_reordered_entry() {
    let (_, store) = coalition();
    let (entries, anchor) = write_log(&decisions(&store));
    // Altered: flip the audience of entry 2 (its bytes no longer match entry 3's link).
    let mut altered = entries.clone();
    let at = altered[2].windows(3).rposition(|w| w == b"AUS").unwrap();
    altered[2][at] = b'U';
    assert_eq!(
        verify(&altered, Some(anchor)),
        Err(LogFault::Altered { index: 2 })
    );
    // The last entry is vouched for only by the anchor.
    let mut last = entries.clone();
    let at = last[4].windows(3).rposition(|w| w == b"AUS").unwrap();
    last[4][at] = b'U';
    assert!(verify(&last, None).is_ok());
    assert_eq!(
        verify(&last, Some(anchor)),
        Err(LogFault::Altered { index: 4 })
    );
    let mut removed = entries.clone();
    removed.remove(2);
    assert_eq!(
        verify(&removed, Some(anchor)),
        Err(LogFault::Removed { first: 2, last: 2 })
    );
    let mut reordered = entries.clone();
    reordered.swap(1, 3);
    assert_eq!(
        verify(&reordered, Some(anchor)),
        Err(LogFault::Reordered {
            index: 1,
            position: 3
        })
    );
    let truncated = &entries[..3];
    assert_eq!(
        verify(truncated, None),
        Ok(LogAnchor {
            count: 3,
            head: log::entry_hash(&entries[2]),
        })
    );
    assert_eq!(
        verify(truncated, Some(anchor)),
        Err(LogFault::Removed { first: 3, last: 4 })
    );
    let mut renumbered = entries.clone();
    renumbered[3][0] = 9;
    assert_eq!(
        verify(&renumbered, Some(anchor)),
        Err(LogFault::Altered { index: 3 })
    );
}

#[test]
fn an_older_anchor_still_catches_a_log_rewritten_and_rechained_since() {
    let (_, store) = coalition();
    let decided = decisions(&store);
    let (entries, _) = write_log(&decided);
    // The reviewer wrote down the anchor after three entries; the log grew to five since.
    let kept = verify(&entries[..3], None).unwrap();
    assert_eq!(verify(&entries, Some(kept)).map(|a| a.count), Ok(5));
    // Someone rewrites entry 1 and recomputes every hash after it: the chain is whole again.
    let mut rewritten = decided.clone();
    rewritten[1] = decided[4].clone();
    let (forged, _) = write_log(&rewritten);
    assert!(verify(&forged, None).is_ok());
    assert_eq!(
        verify(&forged, Some(kept)),
        Err(LogFault::Altered { index: 2 })
    );
}

fn arb_domain() -> impl Strategy<Value = Domain> {
    prop::array::uniform3(b'A'..=b'Z').prop_map(Domain)
}

fn arb_value() -> impl Strategy<Value = CategoryValue> {
    (any::<u8>(), any::<u16>()).prop_map(|(tag, value)| CategoryValue { tag, value })
}

prop_compose! {
    fn arb_rule()(
        max in any::<u8>(),
        category in prop::option::of(arb_value()),
        to in prop::collection::vec(arb_domain(), 0..8),
    ) -> super::ReleaseRule<'static> {
        sample::rule(max, category, &to)
    }
}

proptest! {
    // Each case signs (or admits) at least once, which a debug build does slowly.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn policies_round_trip(
        version in any::<u32>(),
        id in any::<u32>(),
        spiral in any::<u8>(),
        domain in arb_domain(),
        rules in prop::collection::vec(arb_rule(), 0..16),
    ) {
        let signer = sample::key(11);
        let body = sample::policy(&signer, domain, id, version, spiral, &rules);
        let bytes = sample::sign(&signer, &Artifact::Policy(body.clone()));
        let signed = Signed::decode(&bytes).unwrap();
        prop_assert_eq!(&signed.artifact, &Artifact::Policy(body));
        prop_assert!(signed.verify(signer.verifying_key()));
    }

    #[test]
    fn revocations_and_credentials_round_trip(
        seq in any::<u32>(),
        keys in prop::collection::vec(any::<[u8; 8]>(), 0..16),
        scope in 0u8..16,
        depth in any::<u8>(),
        not_before in any::<u64>(),
        not_after in any::<u64>(),
    ) {
        let signer = sample::key(11);
        let entries: Vec<Revoked> = keys.into_iter().map(|k| Revoked::Key(super::KeyId(k))).collect();
        let revocation = Artifact::Revocation(sample::revocation(GBR, &signer, seq, &entries));
        let credential = Artifact::Credential(Credential {
            scope: Scope(scope),
            depth,
            validity: Validity { not_before: UnixTime(not_before), not_after: UnixTime(not_after) },
            ..sample::credential(&signer, &sample::key(12), USA, Scope::ALL, 0)
        });
        for artifact in [revocation, credential] {
            let bytes = sample::sign(&signer, &artifact);
            prop_assert_eq!(Signed::decode(&bytes).unwrap().artifact, artifact);
        }
    }

    #[test]
    fn decoding_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1100)) {
        let _ = Signed::decode(&bytes);
    }

    /// Whatever two rule sets the versions have, the delta between them rebuilds exactly the
    /// new version's bytes on a node holding the old one.
    #[test]
    fn deltas_rebuild_the_new_version(
        old in prop::collection::vec(arb_rule(), 0..16),
        new in prop::collection::vec(arb_rule(), 0..16),
    ) {
        // The roots and the GBR signer's credential, and no GBR policy yet.
        static SIGNER_ONLY: std::sync::LazyLock<TrustStore> =
            std::sync::LazyLock::new(|| store_with(&Coalition::new().artifacts()[..1]));
        let (c, mut store) = (Coalition::new(), SIGNER_ONLY.clone());
        let (base, result) = (c.gbr_policy(1, &old), c.gbr_policy(2, &new));
        store.admit(&base, Some(NOW)).unwrap();
        let mut out = [0u8; MAX_ARTIFACT_LEN];
        let signed = |b| Signed::decode(b).unwrap();
        // A change too scattered for MAX_DELTA_OPS is the tool's to report; skip those.
        if let Ok(len) = encoding::encode_delta(&signed(&base), &signed(&result), &mut out) {
            let admitted = store.admit(&out[..len], Some(NOW)).unwrap();
            prop_assert_eq!(admitted.artifact.digest, Digest::of(&result));
            prop_assert!(store.admit(&result, Some(NOW)).unwrap().duplicate);
        }
    }

    /// Any change to any byte of a logged entry is found, given the anchor.
    #[test]
    fn any_log_tampering_is_found(entry in 0usize..5, at in any::<prop::sample::Index>(), xor in 1u8..) {
        static LOG: std::sync::LazyLock<(Vec<Vec<u8>>, LogAnchor)> =
            std::sync::LazyLock::new(|| write_log(&decisions(&coalition().1)));
        let (entries, anchor) = &*LOG;
        let mut tampered = entries.clone();
        let bytes = &mut tampered[entry];
        let i = at.index(bytes.len());
        bytes[i] ^= xor;
        prop_assert!(verify(&tampered, Some(*anchor)).is_err());
    }

    /// Any single-byte change to an admissible artifact is refused (and changes nothing), or
    /// is the same artifact: no tampering gets anything new admitted.
    #[test]
    fn tampering_with_any_byte_is_refused(at in any::<prop::sample::Index>(), xor in 1u8..) {
        static POLICY: std::sync::LazyLock<Vec<u8>> =
            std::sync::LazyLock::new(|| Coalition::new().gbr_policy(2, &sample::gbr_rules()));
        let (_, mut store) = coalition();
        let policy = &*POLICY;
        let mut tampered = policy.clone();
        tampered[at.index(policy.len())] ^= xor;
        let before = store.clone();
        prop_assert!(store.admit(&tampered, Some(NOW)).is_err());
        prop_assert!(store == before);
    }
}

/// docs/policy.md ("Capacities and memory") states the trust store's size; this keeps the
/// statement true when capacities or layouts change.
#[test]
fn the_trust_store_fits_the_memory_docs_state() {
    let bytes = core::mem::size_of::<TrustStore>();
    std::println!("TrustStore: {bytes} bytes");
    assert!(
        (220 * 1024..=236 * 1024).contains(&bytes),
        "TrustStore is {bytes} bytes"
    );
}

#[test]
fn a_log_entry_stays_small() {
    let (_, store) = coalition();
    let (entries, _) = write_log(&decisions(&store));
    let longest = entries.iter().map(Vec::len).max().unwrap();
    std::println!(
        "decision log entries: {:?} bytes",
        entries.iter().map(Vec::len).collect::<Vec<_>>()
    );
    // Index, link, and a translated decision with full lineage: well under one D_PDU.
    assert!(longest < 300, "{longest}");
}

mod hostile;

/// Policy and translator slots smaller than an artifact (a board's `HELD`).
mod slots;
