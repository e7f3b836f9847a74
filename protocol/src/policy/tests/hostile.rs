//! What a hostile partner (or a careless delegate) with valid keys tries, and a coalition that
//! runs for a year meets: issue 15's findings F1, F3, F4 and the revocation history part of
//! F2, each as the attack that succeeded before the rules in docs/policy.md ("Sovereign
//! trust").

use std::vec::Vec;

use p256::ecdsa::SigningKey;
use proptest::prelude::*;

use super::super::encoding::Artifact;
use super::super::model::{Checkpoint, Credential, Revoked, Scope, SpiralRef, Validity};
use super::super::sample::{self, AUS, Coalition, GBR, NOW, USA};
use super::super::store::{Refusal, Room, Table, TrustStore};
use super::{coalition, key_id, refuse, revoke};

fn signed_credential(issuer: &SigningKey, cred: Credential) -> Vec<u8> {
    sample::sign(issuer, &Artifact::Credential(cred))
}

/// GBR's root credentials two delegated issuers (siblings, depth 1, every scope).
fn two_issuers(c: &Coalition, store: &mut TrustStore) -> (SigningKey, SigningKey) {
    let (a, b) = (sample::key(70), sample::key(71));
    for issuer in [&a, &b] {
        let cred = sample::credential(&c.gbr_root, issuer, GBR, Scope::ALL, 1);
        store
            .admit(&signed_credential(&c.gbr_root, cred), Some(NOW))
            .unwrap();
    }
    (a, b)
}

fn checkpoint(c: &Coalition, signer: &SigningKey, seq: u32, entries: &[Revoked]) -> Vec<u8> {
    let body = Checkpoint {
        domain: GBR,
        signer: key_id(signer),
        seq,
        entries: heapless::Vec::from_slice(entries).unwrap(),
    };
    let _ = c;
    sample::sign(signer, &Artifact::Checkpoint(body))
}

// ---- F1: credential takeover and loops ------------------------------------------------------

#[test]
fn f1_a_delegate_cannot_take_over_its_siblings_credential() {
    let (c, mut store) = coalition();
    let (a, b) = two_issuers(&c, &mut store);
    let subject = sample::key(72);
    let by_a = sample::credential(&a, &subject, GBR, Scope::POLICY, 0);
    store
        .admit(&signed_credential(&a, by_a), Some(NOW))
        .unwrap();
    // The F1 story: the sibling signs the same key with a later not_after, and now with a
    // higher version too. Both are refused, by name.
    let later = Credential {
        validity: Validity {
            not_after: super::super::model::UnixTime(u64::MAX),
            ..by_a.validity
        },
        ..sample::credential(&b, &subject, GBR, Scope::POLICY, 0)
    };
    let denied = Refusal::SupersessionDenied {
        signer: key_id(&b),
        held_signer: key_id(&a),
    };
    refuse(&mut store, &signed_credential(&b, later), Some(NOW), denied);
    let higher = Credential {
        version: 9,
        ..later
    };
    refuse(
        &mut store,
        &signed_credential(&b, higher),
        Some(NOW),
        denied,
    );
    // The issuer itself, and the root above it, may issue a newer version.
    let renewed = Credential { version: 2, ..by_a };
    store
        .admit(&signed_credential(&a, renewed), Some(NOW))
        .unwrap();
    let by_root = Credential {
        signer: key_id(&c.gbr_root),
        version: 3,
        ..renewed
    };
    store
        .admit(&signed_credential(&c.gbr_root, by_root), Some(NOW))
        .unwrap();
}

#[test]
fn f1_a_credential_may_not_credential_its_own_ancestor() {
    let (c, mut store) = coalition();
    let (x, y) = (sample::key(75), sample::key(76));
    let cred = sample::credential(&c.gbr_root, &x, GBR, Scope::ALL, 2);
    store
        .admit(&signed_credential(&c.gbr_root, cred), Some(NOW))
        .unwrap();
    let cred = sample::credential(&x, &y, GBR, Scope::ALL, 1);
    store
        .admit(&signed_credential(&x, cred), Some(NOW))
        .unwrap();
    let back_up = Credential {
        version: 5,
        ..sample::credential(&y, &x, GBR, Scope::ALL, 0)
    };
    refuse(
        &mut store,
        &signed_credential(&y, back_up),
        Some(NOW),
        Refusal::CredentialLoop { key: key_id(&x) },
    );
}

// ---- F3: revocation scope -------------------------------------------------------------------

fn revocation_by(signer: &SigningKey, seq: u32, entries: &[Revoked]) -> Vec<u8> {
    let body = sample::revocation(GBR, signer, seq, entries);
    sample::sign(signer, &Artifact::Revocation(body))
}

#[test]
fn f3_a_delegate_cannot_revoke_its_root_a_sibling_or_itself() {
    let (c, mut store) = coalition();
    for (key, victim) in [
        (&c.gbr_root, "root"),
        (&c.gbr_usa_liaison, "sibling"),
        (&c.gbr_signer, "itself"),
    ] {
        let out = Refusal::RevocationOutOfScope {
            signer: key_id(&c.gbr_signer),
            key: key_id(key),
        };
        let bytes = revocation_by(&c.gbr_signer, 1, &[Revoked::Key(key_id(key))]);
        assert_eq!(store.clone().admit(&bytes, Some(NOW)), Err(out), "{victim}");
        refuse(&mut store, &bytes, Some(NOW), out);
    }
    // GBR keeps working: its policy still decides, and the root may revoke the delegate.
    assert!(
        store
            .admit(&c.gbr_policy(2, &sample::gbr_rules()), Some(NOW))
            .is_ok()
    );
    let by_root = revocation_by(&c.gbr_root, 1, &[Revoked::Key(key_id(&c.gbr_signer))]);
    assert!(store.admit(&by_root, Some(NOW)).is_ok());
}

#[test]
fn a_revocation_of_a_key_not_yet_known_counts_only_if_its_revoker_stands_above_it() {
    let (c, mut store) = coalition();
    let (a, b) = two_issuers(&c, &mut store);
    let later = sample::key(77);
    // `b` revokes a key the store does not know yet: admitted (sequence numbers must not
    // stall), but it does not touch what `a` credentials.
    store
        .admit(&revocation_by(&c.gbr_signer, 1, &[]), Some(NOW))
        .unwrap();
    let body = sample::revocation(GBR, &b, 2, &[Revoked::Key(key_id(&later))]);
    let delta = sample::sign(&b, &Artifact::Revocation(body));
    // `b` has the revocation scope (Scope::ALL) but not over `later`, which `a` will issue.
    store.admit(&delta, Some(NOW)).unwrap();
    let cred = sample::credential(&a, &later, GBR, Scope::POLICY, 0);
    store
        .admit(&signed_credential(&a, cred), Some(NOW))
        .unwrap();
    let body = sample::policy(&later, GBR, 40, 1, 4, &[]);
    assert!(
        store
            .admit(&sample::sign(&later, &Artifact::Policy(body)), Some(NOW))
            .is_ok()
    );
}

// ---- F4: per-domain room, every table --------------------------------------------------------

/// USA publishes valid artifacts until its room in `table` is full; then GBR's artifact of
/// that table (made by `gbr`) is still admitted.
fn usa_fills_then_gbr_admits(
    table: Table,
    fill: impl Fn(&Coalition, u32) -> Vec<u8>,
    gbr: Vec<u8>,
) {
    let (c, mut store) = coalition();
    let mut i = 0;
    let refusal = loop {
        match store.admit(&fill(&c, i), Some(NOW)) {
            Ok(_) => i += 1,
            Err(refusal) => break refusal,
        }
        assert!(i < 10_000, "USA never filled its room");
    };
    assert_eq!(refusal, Refusal::RoomFull { domain: USA, table });
    assert!(store.used(USA, table) <= store.room(USA).of(table));
    store.admit(&gbr, Some(NOW)).unwrap();
}

#[test]
fn f4_usa_filling_its_credential_room_leaves_gbrs() {
    let c = Coalition::new();
    let gbr = signed_credential(
        &c.gbr_root,
        sample::credential(&c.gbr_root, &sample::key(90), GBR, Scope::POLICY, 0),
    );
    usa_fills_then_gbr_admits(
        Table::Credentials,
        |c, i| {
            let subject = sample::key(100 + i as u8);
            signed_credential(
                &c.usa_root,
                sample::credential(&c.usa_root, &subject, USA, Scope::POLICY, 0),
            )
        },
        gbr,
    );
}

#[test]
fn f4_usa_filling_its_policy_room_leaves_gbrs() {
    let c = Coalition::new();
    usa_fills_then_gbr_admits(
        Table::Policies,
        |c, i| {
            let body = sample::policy(&c.usa_signer, USA, 100 + i, 1, 5, &[]);
            sample::sign(&c.usa_signer, &Artifact::Policy(body))
        },
        c.gbr_policy(2, &sample::gbr_rules()),
    );
}

#[test]
fn f4_usa_filling_its_translator_room_leaves_gbrs() {
    let c = Coalition::new();
    let spiral = |domain, spiral| SpiralRef { domain, spiral };
    // USA 5 -> GBR 4 translators, signed by the GBR-USA liaison (credentialed in both).
    let gbr = sample::translator(&c.gbr_usa_liaison, 50, 1, spiral(GBR, 4), spiral(USA, 5), 7);
    let gbr = sample::sign(&c.gbr_usa_liaison, &Artifact::Translator(gbr));
    usa_fills_then_gbr_admits(
        Table::Translators,
        |c, i| {
            let body = sample::translator(
                &c.gbr_usa_liaison,
                100 + i,
                1,
                spiral(USA, 5),
                spiral(GBR, 4),
                2,
            );
            sample::sign(&c.gbr_usa_liaison, &Artifact::Translator(body))
        },
        gbr,
    );
}

#[test]
fn f4_usa_filling_its_revocation_room_leaves_gbrs() {
    let c = Coalition::new();
    usa_fills_then_gbr_admits(
        Table::Revoked,
        |c, i| {
            let body = sample::revocation(
                USA,
                &c.usa_root,
                i + 1,
                &[Revoked::Policy {
                    id: 100 + i,
                    version: 1,
                }],
            );
            sample::sign(&c.usa_root, &Artifact::Revocation(body))
        },
        revoke(&c, 1, &[Revoked::Translator { id: 1, version: 1 }]),
    );
}

#[test]
fn a_room_set_at_provisioning_is_kept_and_may_not_exceed_the_table() {
    let mut store = TrustStore::new();
    for root in Coalition::new().roots() {
        store.add_root(&root, Some(NOW)).unwrap();
    }
    let big = Room {
        credentials: 4,
        policies: 60,
        translators: 4,
        revoked: 16,
    };
    store.set_room(GBR, big).unwrap();
    assert_eq!(store.room(GBR), big);
    // The others share what is left.
    assert_eq!(
        store.room(AUS).policies,
        (store.capacity(Table::Policies) - 60) / 2
    );
    let too_big = Room {
        policies: store.capacity(Table::Policies) - 60 + 1,
        ..big
    };
    assert!(store.set_room(USA, too_big).is_err());
}

// ---- F2: a year of revocations ---------------------------------------------------------------

#[test]
fn two_thousand_revocations_of_one_policy_hold_one_entry() {
    let (c, mut store) = coalition();
    for seq in 1..=2_000 {
        let bytes = revoke(
            &c,
            seq,
            &[Revoked::Policy {
                id: 9,
                version: seq,
            }],
        );
        store.admit(&bytes, Some(NOW)).unwrap();
    }
    assert_eq!(store.used(GBR, Table::Revoked), 1);
    assert_eq!(
        store.revocation_seqs().find(|(d, _)| *d == GBR),
        Some((GBR, 2_000))
    );
}

#[test]
fn a_node_far_behind_takes_the_checkpoint_instead_of_the_gap() {
    let (c, mut ahead) = coalition();
    let (_, mut behind) = coalition();
    let mut deltas = Vec::new();
    for seq in 1..=40 {
        let entry = Revoked::Policy {
            id: 200 + seq % 5,
            version: seq,
        };
        deltas.push(revoke(&c, seq, &[entry]));
    }
    for d in &deltas {
        ahead.admit(d, Some(NOW)).unwrap();
    }
    let live: Vec<Revoked> = (0..5)
        .map(|k| Revoked::Policy {
            id: 200 + k,
            version: 40 - (5 - k) % 5,
        })
        .collect();
    let cp = checkpoint(&c, &c.gbr_root, 40, &live);
    ahead.admit(&cp, Some(NOW)).unwrap();
    // The node that missed all 40 deltas: delta 40 alone is a gap, the checkpoint is not.
    assert!(matches!(
        behind.admit(&deltas[39], Some(NOW)),
        Err(Refusal::RevocationGap { .. })
    ));
    behind.admit(&cp, Some(NOW)).unwrap();
    assert_eq!(
        behind.revocation_seqs().find(|(d, _)| *d == GBR),
        Some((GBR, 40))
    );
    // Deltas it summarises are covered; the next one follows it.
    assert!(behind.admit(&deltas[10], Some(NOW)).unwrap().duplicate);
    behind
        .admit(
            &revoke(&c, 41, &[Revoked::Key(key_id(&c.gbr_signer))]),
            Some(NOW),
        )
        .unwrap();
    assert_eq!(behind.used(GBR, Table::Revoked), 6);
}

#[test]
fn a_checkpoint_comes_only_from_the_root_and_never_lifts_the_roots_revocations() {
    let (c, mut store) = coalition();
    store
        .admit(
            &revoke(&c, 1, &[Revoked::Translator { id: 1, version: 1 }]),
            Some(NOW),
        )
        .unwrap();
    refuse(
        &mut store,
        &checkpoint(
            &c,
            &c.gbr_signer,
            1,
            &[Revoked::Translator { id: 1, version: 1 }],
        ),
        Some(NOW),
        Refusal::CheckpointNotByRoot {
            key: key_id(&c.gbr_signer),
        },
    );
    refuse(
        &mut store,
        &checkpoint(&c, &c.gbr_root, 2, &[]),
        Some(NOW),
        Refusal::CheckpointIncomplete {
            domain: GBR,
            missing: Revoked::Translator { id: 1, version: 1 },
        },
    );
    refuse(
        &mut store,
        &checkpoint(&c, &c.gbr_root, 2, &[Revoked::Key(key_id(&c.gbr_root))]),
        Some(NOW),
        Refusal::RevocationOutOfScope {
            signer: key_id(&c.gbr_root),
            key: key_id(&c.gbr_root),
        },
    );
    let cp = checkpoint(
        &c,
        &c.gbr_root,
        2,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    store.admit(&cp, Some(NOW)).unwrap();
}

// ---- Property: a hostile partner cannot stop an honest one -----------------------------------

/// One thing AUS does with its own valid keys.
#[derive(Clone, Debug)]
enum Hostile {
    /// A policy (id, version) by its signer.
    Policy(u32, u32),
    /// A credential for a fresh key (seed), by its root, at a version.
    Credential(u8, u32),
    /// Its signer re-credentials a key (seed) with a version.
    Recredential(u8, u32),
    /// A revocation delta by its signer naming a key (seed) or its own root.
    Revoke(u8, bool),
    /// A revocation delta by its root revoking policy id up to a version.
    RevokePolicy(u32, u32),
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        (0..40u32, 1..4u32).prop_map(|(i, v)| Hostile::Policy(i, v)),
        (150..200u8, 1..4u32).prop_map(|(s, v)| Hostile::Credential(s, v)),
        (150..200u8, 1..9u32).prop_map(|(s, v)| Hostile::Recredential(s, v)),
        (150..200u8, any::<bool>()).prop_map(|(s, r)| Hostile::Revoke(s, r)),
        (0..40u32, 1..9u32).prop_map(|(i, v)| Hostile::RevokePolicy(i, v)),
    ]
}

fn act(c: &Coalition, store: &mut TrustStore, seq: &mut u32, action: &Hostile) {
    let bytes = match *action {
        Hostile::Policy(id, v) => {
            let body = sample::policy(&c.aus_signer, AUS, 100 + id, v, 4, &[]);
            sample::sign(&c.aus_signer, &Artifact::Policy(body))
        }
        Hostile::Credential(s, v) => signed_credential(
            &c.aus_root,
            Credential {
                version: v,
                ..sample::credential(&c.aus_root, &sample::key(s), AUS, Scope::POLICY, 0)
            },
        ),
        Hostile::Recredential(s, v) => signed_credential(
            &c.aus_signer,
            Credential {
                version: v,
                ..sample::credential(&c.aus_signer, &sample::key(s), AUS, Scope::POLICY, 0)
            },
        ),
        Hostile::Revoke(s, root) => {
            let key = if root { &c.aus_root } else { &sample::key(s) };
            let body =
                sample::revocation(AUS, &c.aus_signer, *seq + 1, &[Revoked::Key(key_id(key))]);
            sample::sign(&c.aus_signer, &Artifact::Revocation(body))
        }
        Hostile::RevokePolicy(id, v) => {
            let body = sample::revocation(
                AUS,
                &c.aus_root,
                *seq + 1,
                &[Revoked::Policy {
                    id: 100 + id,
                    version: v,
                }],
            );
            sample::sign(&c.aus_root, &Artifact::Revocation(body))
        }
    };
    if let Ok(admitted) = store.admit(&bytes, Some(NOW))
        && admitted.artifact.kind == super::super::encoding::Kind::Revocation
    {
        *seq += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_hostile_partner_with_valid_keys_cannot_stop_an_honest_ones_artifacts(
        actions in proptest::collection::vec(hostile(), 1..80),
    ) {
        let (c, mut store) = coalition();
        let mut seq = 0;
        for action in &actions {
            act(&c, &mut store, &mut seq, action);
        }
        let spiral = |domain, spiral| SpiralRef { domain, spiral };
        let honest = [
            c.gbr_policy(2, &sample::gbr_rules()),
            signed_credential(
                &c.gbr_root,
                sample::credential(&c.gbr_root, &sample::key(91), GBR, Scope::POLICY, 0),
            ),
            sample::sign(
                &c.gbr_usa_liaison,
                &Artifact::Translator(sample::translator(
                    &c.gbr_usa_liaison, 1, 2, spiral(GBR, 4), spiral(USA, 5), 7,
                )),
            ),
            revoke(&c, 1, &[Revoked::Translator { id: 2, version: 1 }]),
        ];
        for bytes in &honest {
            prop_assert!(store.admit(bytes, Some(NOW)).is_ok());
        }
        // And AUS's root still stands.
        prop_assert!(store.in_good_standing(key_id(&c.aus_root), AUS, Scope::ALL, Some(NOW)));
    }
}
