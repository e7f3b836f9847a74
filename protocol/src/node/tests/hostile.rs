//! A hostile partner with valid keys against nodes joined directly (issue 15): its floods,
//! histories, root revocations and takeovers never stop an honest partner's artifacts, and a
//! burst longer than the history a node keeps still reaches every node.

use std::vec::Vec;

use proptest::prelude::*;

use super::*;

/// What a hostile partner (AUS, valid keys only) publishes at its node in
/// [`a_hostile_partner_cannot_stop_honest_artifacts_reaching_every_node`].
#[derive(Clone, Debug)]
enum Attack {
    /// Policies of its own, many more than its room.
    Flood { first: u32, count: u32 },
    /// Revocation deltas by its root, one policy revoked over and over.
    History { count: u32 },
    /// Its signer revokes the AUS root.
    RevokeRoot,
    /// Its signer credentials a fresh key at a high version, then re-credentials its sibling.
    Takeover { version: u32 },
}

fn attack() -> impl Strategy<Value = Attack> {
    prop_oneof![
        (0..50u32, 1..60u32).prop_map(|(first, count)| Attack::Flood { first, count }),
        (1..60u32).prop_map(|count| Attack::History { count }),
        Just(Attack::RevokeRoot),
        (2..20u32).prop_map(|version| Attack::Takeover { version }),
    ]
}

/// The artifacts of `attack`, signed with AUS's valid keys; `seq` is AUS's last delta.
fn attack_artifacts(c: &Coalition, attack: &Attack, seq: &mut u32) -> Vec<Vec<u8>> {
    let by_root = |seq: u32, entries: &[Revoked]| {
        let r = sample::revocation(AUS, &c.aus_root, seq, entries);
        sample::sign(&c.aus_root, &Artifact::Revocation(r))
    };
    match *attack {
        Attack::Flood { first, count } => (first..first + count)
            .map(|id| {
                let body = sample::policy(&c.aus_signer, AUS, 1000 + id, 1, 4, &[]);
                sample::sign(&c.aus_signer, &Artifact::Policy(body))
            })
            .collect(),
        Attack::History { count } => (0..count)
            .map(|_| {
                *seq += 1;
                by_root(
                    *seq,
                    &[Revoked::Policy {
                        id: 1000,
                        version: *seq,
                    }],
                )
            })
            .collect(),
        Attack::RevokeRoot => {
            let root = sample::public(&c.aus_root).key_id();
            let r = sample::revocation(AUS, &c.aus_signer, *seq + 1, &[Revoked::Key(root)]);
            std::vec![sample::sign(&c.aus_signer, &Artifact::Revocation(r))]
        }
        Attack::Takeover { version } => {
            let cred = |issuer: &p256::ecdsa::SigningKey, subject, v| {
                let body = crate::policy::Credential {
                    version: v,
                    ..sample::credential(issuer, subject, AUS, crate::policy::Scope::POLICY, 0)
                };
                sample::sign(issuer, &Artifact::Credential(body))
            };
            let rogue = sample::key(77);
            std::vec![
                cred(&c.aus_signer, &rogue, version),
                cred(&rogue, &c.aus_signer, version + 1),
            ]
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Issue 15: random connected nets of 3 to 5 nodes, the coalition published at node 1, and
    /// AUS, with valid keys only, attacking from the last node at random while GBR revokes and
    /// publishes a new policy version from node 1, with losses on the first pass. After a
    /// summary round every node holds every honest artifact and all hold the same set.
    #[test]
    fn a_hostile_partner_cannot_stop_honest_artifacts_reaching_every_node(
        extra_edges in prop::collection::vec((1u32..=5, 1u32..=5), 0..4),
        size in 3u32..=5,
        attacks in prop::collection::vec(attack(), 1..6),
        losses in prop::collection::vec(any::<bool>(), 64),
    ) {
        let c = Coalition::new();
        let mut net = Net::joined(&c, size, &extra_edges);
        let now = net.now;
        let mut honest = c.artifacts();
        for a in &honest {
            net.node(1).publish(now, Some(NOW), a).unwrap();
        }
        net.run(|_| false);
        let mut seq = 0;
        for attack in &attacks {
            for a in attack_artifacts(&c, attack, &mut seq) {
                // Refusals (room full, may not supersede, may not revoke) are the point.
                let _ = net.node(size).publish(now, Some(NOW), &a);
            }
        }
        let gbr = [
            revocation(&c, 1, &[Revoked::Translator { id: 1, version: 1 }]),
            c.gbr_policy(2, &sample::gbr_rules()),
        ];
        for a in &gbr {
            net.node(1).publish(now, Some(NOW), a).unwrap();
        }
        honest.extend(gbr);
        let mut k = 0;
        net.run(|_| { k += 1; losses[k % losses.len()] });
        net.summary_round();
        net.run(|_| false);
        net.summary_round();
        net.run(|_| false);
        // GBR policy v1 is superseded by v2 and translator 1 v1 is revoked: every other honest
        // artifact must be held.
        let gone = |a: &Vec<u8>| {
            matches!(Signed::decode(a).map(|s| s.artifact),
                Ok(Artifact::Policy(p)) if p.domain == GBR && p.version == 1)
                || matches!(Signed::decode(a).map(|s| s.artifact),
                    Ok(Artifact::Translator(t)) if t.id == 1 && t.version == 1)
        };
        // AUS is the hostile partner: its own flood may push its own artifacts out of its own
        // share of storage; GBR's and USA's must be everywhere.
        let of_aus = |a: &Vec<u8>| Signed::decode(a).is_ok_and(|s| s.artifact.domain() == AUS);
        let digests: Vec<Digest> = honest
            .iter()
            .filter(|a| !gone(a) && !of_aus(a))
            .map(|a| Digest::of(a))
            .collect();
        let honest_domains = |d: Domain| d != AUS;
        let reference = net.holds_of(1, honest_domains);
        for n in 1..=size {
            let held = net.holds_of(n, honest_domains);
            for d in &digests {
                prop_assert!(held.contains(d), "node {} lacks an honest artifact", n);
            }
            prop_assert_eq!(&held, &reference, "node {}", n);
        }
    }
}

/// A burst of more revocation deltas than a node keeps for laggards (33 against a history of
/// 32), published faster than the link drains them: the first used to be forgotten before it
/// was ever sent, so every neighbour held the other 32 behind a gap nobody could fill, and the
/// nodes never converged (found by the hostile-partner property test below).
#[test]
fn a_burst_of_more_deltas_than_the_history_reaches_every_node() {
    let c = Coalition::new();
    let mut net = Net::new(&c, 3);
    net.link(1, 2);
    net.link(2, 3);
    let now = net.now;
    for a in &c.artifacts() {
        net.node(1).publish(now, Some(NOW), a).unwrap();
    }
    net.run(|_| false);
    let mut seq = 0;
    for a in attack_artifacts(&c, &Attack::History { count: 33 }, &mut seq) {
        net.node(3).publish(now, Some(NOW), &a).unwrap();
    }
    net.run(|_| false);
    let history = usize::from(Config::new(9).revocation_history);
    for n in 1..=3 {
        let seqs: Vec<(Domain, u32)> = net.node(n).trust().revocation_seqs().collect();
        assert!(seqs.contains(&(AUS, 33)), "node {n}: {seqs:?}");
        assert_eq!(
            net.holds(n).len(),
            c.artifacts().len() + history,
            "node {n}"
        );
    }
    assert_eq!(net.holds(1), net.holds(3));
}

#[test]
fn a_revocation_broadcast_a_listener_missed_is_pulled_at_the_next_summary_it_hears() {
    // hostile-partner, seed 1: usa-relay broadcast GBR's revocation while usa-hq was sending a
    // flooding partner's DETAILs (a half-duplex radio hears nothing while it sends). The relay
    // and usa-ship, which heard it, counted usa-hq as holding it, so the DETAIL round that
    // followed usa-hq hearing the check SUMMARY did not resend it, and usa-hq waited for its
    // own next SUMMARY (997 s in all). Here node 3 is usa-hq: node 1 broadcasts the revocation,
    // node 2 hears it, node 3 does not; node 3 then hears node 1's SUMMARY, which node 2 hears
    // too (node 2, lower, supplies node 1). Every later SUMMARY is lost.
    let c = Coalition::new();
    let mut net = Net::holding_the_coalition(&c, 3);
    let now = net.now;
    net.share_one_channel();
    net.run(|_| false);
    let rev = revocation(&c, 1, &[Revoked::Translator { id: 1, version: 1 }]);
    net.node(1).publish(now, Some(NOW), &rev).unwrap();
    net.node(2)
        .handle_message_heard(now, Some(NOW), addr(1), Heard::Broadcast, &{
            let mut m = [0u8; MAX_UPDU_LEN];
            let len = message::Writer::artifact(&mut m, &rev).unwrap();
            m[..len].to_vec()
        })
        .unwrap();
    // Node 1's copies to nodes 2 and 3 are the broadcast: node 3 was transmitting.
    net.run(|(_, to, bytes)| *to == addr(3) || bytes[0] == message::tag::SUMMARY);
    assert!(!net.node(3).trust().revocation_seqs().any(|s| s == (GBR, 1)));

    net.hear_summary_broadcast(1, 3);
    net.run(|(_, _, bytes)| bytes[0] == message::tag::SUMMARY);
    let seqs: Vec<(Domain, u32)> = net.node(3).trust().revocation_seqs().collect();
    assert!(seqs.contains(&(GBR, 1)), "node 3 pulled it: {seqs:?}");
    assert_eq!(net.holds(3), net.holds(1));
}
