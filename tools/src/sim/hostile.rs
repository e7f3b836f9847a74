//! What a hostile coalition partner publishes with its own valid keys, for scenarios that
//! check no partner can hurt another (docs/policy.md, "Sovereign trust"; the scenario
//! `tools/scenarios/coalition/hostile-partner.toml`).
//!
//! Every artifact here is correctly signed by a key the partner really holds (its sample root
//! or signer): nothing is forged. What makes them hostile is what they try: filling tables,
//! taking over a credential, revoking the partner's own root, and a revocation history
//! thousands of deltas long.

use anyhow::bail;
use p256::ecdsa::SigningKey;
use serde::{Deserialize, Serialize};
use skywave_protocol::policy::sample::{self, Coalition};
use skywave_protocol::policy::{Artifact, Checkpoint, Credential, Domain, Revoked, Scope};

/// Policy ids the hostile partner's own artifacts use (above any the sample coalition has).
const FIRST_ID: u32 = 1000;
/// Distinct policies its revocation history revokes, over and over with rising versions.
const HISTORY_POLICIES: u32 = 16;

/// One attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "try", rename_all = "snake_case", deny_unknown_fields)]
pub enum Attack {
    /// `count` policies (ids 1000 and up) signed by its policy signer: more than its room.
    Flood {
        /// How many.
        count: u32,
    },
    /// F1: its root credentials a second issuer (depth 1), which then re-credentials the
    /// policy signer's key at version 9 to take it over.
    Takeover,
    /// F3: its depth-0 signer revokes its own root, as delta `seq`.
    RevokeRoot {
        /// The sequence number.
        seq: u32,
    },
    /// Revocation deltas `first_seq..first_seq + count` by its root, each revoking one of 16
    /// policies up to the delta's sequence number: a long history of few live revocations.
    History {
        /// The first sequence number.
        first_seq: u32,
        /// How many deltas.
        count: u32,
    },
    /// Its root's checkpoint of that history after delta `seq`.
    Checkpoint {
        /// The last delta it summarises.
        seq: u32,
    },
}

/// The sample root and policy signer of `domain`.
fn keys(c: &Coalition, domain: Domain) -> anyhow::Result<(&SigningKey, &SigningKey)> {
    Ok(match &domain.0 {
        b"GBR" => (&c.gbr_root, &c.gbr_signer),
        b"USA" => (&c.usa_root, &c.usa_signer),
        b"AUS" => (&c.aus_root, &c.aus_signer),
        _ => bail!("the sample coalition has no {domain} keys"),
    })
}

/// The history's entry for delta `seq`.
fn history_entry(seq: u32) -> Revoked {
    Revoked::Policy {
        id: FIRST_ID + seq % HISTORY_POLICIES,
        version: seq,
    }
}

/// The signed artifacts of `attack` by `domain`, in the order it publishes them.
pub fn artifacts(domain: Domain, attack: &Attack) -> anyhow::Result<Vec<Vec<u8>>> {
    let c = Coalition::new();
    let (root, signer) = keys(&c, domain)?;
    let spiral = 4;
    Ok(match *attack {
        Attack::Flood { count } => (0..count)
            .map(|i| {
                let body = sample::policy(signer, domain, FIRST_ID + i, 1, spiral, &[]);
                sample::sign(signer, &Artifact::Policy(body))
            })
            .collect(),
        Attack::Takeover => {
            let rogue = sample::key(99);
            let issuer = sample::credential(root, &rogue, domain, Scope::ALL, 1);
            let takeover = Credential {
                version: 9,
                ..sample::credential(&rogue, signer, domain, Scope::ALL, 0)
            };
            vec![
                sample::sign(root, &Artifact::Credential(issuer)),
                sample::sign(&rogue, &Artifact::Credential(takeover)),
            ]
        }
        Attack::RevokeRoot { seq } => {
            let entry = Revoked::Key(sample::public(root).key_id());
            let body = sample::revocation(domain, signer, seq, &[entry]);
            vec![sample::sign(signer, &Artifact::Revocation(body))]
        }
        Attack::History { first_seq, count } => (first_seq..first_seq.saturating_add(count))
            .map(|seq| {
                let body = sample::revocation(domain, root, seq, &[history_entry(seq)]);
                sample::sign(root, &Artifact::Revocation(body))
            })
            .collect(),
        Attack::Checkpoint { seq } => {
            let first = seq.saturating_sub(HISTORY_POLICIES - 1).max(1);
            let body = Checkpoint {
                domain,
                signer: sample::public(root).key_id(),
                seq,
                entries: (first..=seq).map(history_entry).collect(),
            };
            vec![sample::sign(root, &Artifact::Checkpoint(body))]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::policy::sample::{AUS, NOW};
    use skywave_protocol::policy::{Refusal, Table};

    fn store() -> skywave_protocol::policy::TrustStore {
        Coalition::new().store().unwrap()
    }

    #[test]
    fn every_attack_is_validly_signed_and_refused_for_what_it_tries() {
        let mut store = store();
        let flood = artifacts(AUS, &Attack::Flood { count: 64 }).unwrap();
        let refused: Vec<Refusal> = flood
            .iter()
            .filter_map(|a| store.admit(a, Some(NOW)).err())
            .collect();
        assert!(!refused.is_empty());
        assert!(refused.iter().all(|r| *r
            == Refusal::RoomFull {
                domain: AUS,
                table: Table::Policies
            }));
        let takeover = artifacts(AUS, &Attack::Takeover).unwrap();
        store.admit(&takeover[0], Some(NOW)).unwrap();
        assert!(matches!(
            store.admit(&takeover[1], Some(NOW)),
            Err(Refusal::SupersessionDenied { .. })
        ));
        let revoke_root = artifacts(AUS, &Attack::RevokeRoot { seq: 1 }).unwrap();
        assert!(matches!(
            store.admit(&revoke_root[0], Some(NOW)),
            Err(Refusal::RevocationOutOfScope { .. })
        ));
        for delta in artifacts(
            AUS,
            &Attack::History {
                first_seq: 1,
                count: 100,
            },
        )
        .unwrap()
        {
            store.admit(&delta, Some(NOW)).unwrap();
        }
        let checkpoint = artifacts(AUS, &Attack::Checkpoint { seq: 100 }).unwrap();
        store.admit(&checkpoint[0], Some(NOW)).unwrap();
        assert_eq!(store.used(AUS, Table::Revoked), HISTORY_POLICIES as usize);
    }
}
