//! Evidence of conflicting signed artifacts on the host: the agent persists what its trust
//! store met ([`persist`]), and `skywave evidence list` / `skywave evidence export` read it back
//! from the store, offline.
//!
//! A piece is written as an evidence file ([`EvidenceFile`], docs/store.md): both signed
//! artifacts and every credential between their signers and the roots, issuers first, so that
//! `skywave-authority verify-evidence FILE --trust DIR` can re-check it anywhere with nothing
//! but the roots.

use std::path::Path;
use std::time::SystemTime;

use skywave_protocol::node::{Node, Storage};
use skywave_protocol::policy::evidence::describe;
use skywave_protocol::policy::{
    Artifact, Digest, Domain, Evidence, EvidenceFile, KeyId, MAX_CHAIN, Signed, TrustStore,
};

use crate::store::{ArtifactStore, EvidenceRecord, Recorded, Store};

/// Room for one evidence file: two artifacts and a few dozen credentials.
const FILE_BUF: usize = 64 * 1024;

/// Takes every conflict `node`'s trust store kept and records it in `store`. Call it after
/// anything that may admit artifacts. A piece that cannot be written is logged and dropped (the
/// trust store's slot must be freed either way, or that domain's next conflicts are lost).
pub fn persist(node: &mut Node<ArtifactStore>, store: &Store) {
    while let Some(piece) = node.take_evidence() {
        let Some(record) = record_for(node.storage(), node.trust(), &piece) else {
            tracing::warn!(domain = %piece.domain, held = %piece.held, "evidence: the held artifact is no longer here; not recorded");
            continue;
        };
        match store.record_evidence(&record, SystemTime::now()) {
            Ok(Recorded::New) => tracing::warn!(
                conflict = piece.conflict.name(),
                domain = %record.domain,
                kind = record.kind.name(),
                id = record.id,
                held_version = record.held_version,
                offered_version = record.offered_version,
                "evidence recorded"
            ),
            Ok(Recorded::Duplicate) => {}
            Ok(Recorded::DomainFull) => {
                tracing::warn!(domain = %record.domain, "evidence: the domain's room is full; not recorded");
            }
            Err(e) => tracing::error!(error = %e, "evidence: not recorded"),
        }
    }
}

/// The row for `piece`: the held bytes from `storage` (or the trust store), the chain of
/// credentials from the trust store.
fn record_for(
    storage: &ArtifactStore,
    trust: &TrustStore,
    piece: &Evidence,
) -> Option<EvidenceRecord> {
    let held = storage
        .position(&piece.held)
        .and_then(|i| storage.get(i))
        .map(|(_, bytes)| bytes)
        .or_else(|| trust.artifacts().find(|a| Digest::of(a) == piece.held))?;
    let held_about = describe(held)?;
    let offered_about = describe(&piece.offered)?;
    let mut chain: Vec<&[u8]> = Vec::new();
    for about in [held_about, offered_about] {
        for domain in [about.artifact.domain, about.peer] {
            for credential in credential_chain(trust, about.signer, domain) {
                if !chain.contains(&credential) {
                    chain.push(credential);
                }
            }
        }
    }
    let mut buf = vec![0u8; FILE_BUF];
    let len = EvidenceFile::write(
        piece.conflict,
        held,
        &piece.offered,
        chain.iter().copied(),
        &mut buf,
    )
    .ok()?;
    buf.truncate(len);
    Some(EvidenceRecord {
        position: 0,
        conflict: piece.conflict,
        domain: piece.domain,
        kind: held_about.artifact.kind,
        id: held_about.artifact.id,
        held_version: held_about.artifact.version,
        offered_version: offered_about.artifact.version,
        held: piece.held,
        offered: offered_about.artifact.digest,
        recorded: SystemTime::now(),
        file: buf,
    })
}

/// The credentials from `key` up to (not including) `domain`'s root, issuers first.
fn credential_chain(trust: &TrustStore, key: KeyId, domain: Domain) -> Vec<&[u8]> {
    let mut chain = Vec::new();
    let mut key = key;
    for _ in 0..MAX_CHAIN {
        let link = trust.artifacts().find_map(|bytes| {
            let signed = Signed::decode(bytes).ok()?;
            match signed.artifact {
                Artifact::Credential(c)
                    if c.subject.key_id() == key && c.domain == domain && c.signer != key =>
                {
                    Some((bytes, c.signer))
                }
                _ => None,
            }
        });
        let Some((bytes, issuer)) = link else { break };
        chain.push(bytes);
        key = issuer;
    }
    chain.reverse();
    chain
}

fn unix_ms(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

/// The JSON form of one piece, as `skywave evidence list --json` prints it.
fn record_json(r: &EvidenceRecord) -> serde_json::Value {
    serde_json::json!({
        "position": r.position,
        "conflict": r.conflict.name(),
        "domain": r.domain.to_string(),
        "kind": r.kind.name(),
        "id": r.id,
        "held_version": r.held_version,
        "offered_version": r.offered_version,
        "held_digest": r.held.to_string(),
        "offered_digest": r.offered.to_string(),
        "recorded_unix_ms": unix_ms(r.recorded),
        "file_bytes": r.file.len(),
    })
}

/// The name of the file `export` writes for `r`.
pub fn file_name(r: &EvidenceRecord) -> String {
    format!(
        "{:06}-{}-{}-{}-{}.evidence",
        r.position,
        r.domain,
        r.conflict.name(),
        r.kind.name(),
        &r.offered.to_string()[..16]
    )
}

/// `skywave evidence list [--json]`: one line (or one JSON array) of every piece in the store.
pub fn list_command(config: &Path, json: bool) -> anyhow::Result<()> {
    let (store, path) = crate::audit::open_store(config)?;
    let records = store.evidence()?;
    if json {
        let all: Vec<_> = records.iter().map(record_json).collect();
        crate::outln!("{}", serde_json::Value::Array(all))?;
        return Ok(());
    }
    if records.is_empty() {
        crate::outln!("no evidence in {}", path.display())?;
    }
    for r in &records {
        crate::outln!(
            "{} {} {} {} id {} held v{} {} offered v{} {}",
            r.position,
            r.domain,
            r.conflict.name(),
            r.kind.name(),
            r.id,
            r.held_version,
            &r.held.to_string()[..16],
            r.offered_version,
            &r.offered.to_string()[..16],
        )?;
    }
    Ok(())
}

/// `skywave evidence export DIR`: one evidence file per piece, named by [`file_name`].
pub fn export_command(config: &Path, dir: &Path) -> anyhow::Result<()> {
    let (store, _) = crate::audit::open_store(config)?;
    let records = store.evidence()?;
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    for r in &records {
        let path = dir.join(file_name(r));
        std::fs::write(&path, &r.file).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        crate::outln!("{}", path.display())?;
    }
    eprintln!(
        "{} pieces of evidence written to {}",
        records.len(),
        dir.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use skywave_protocol::node::Config;
    use skywave_protocol::policy::sample::{self, Coalition, GBR, NOW};
    use skywave_protocol::policy::{Conflict, Kind, Refusal, Revoked};
    use skywave_protocol::time::Instant;
    use skywave_protocol::wire::Address;
    use tempfile::TempDir;

    use super::*;
    use crate::store::StoreOptions;

    fn open_store(dir: &TempDir) -> Store {
        let address = Address::new(7).unwrap();
        Store::open(
            &dir.path().join("store.db"),
            address,
            StoreOptions::default(),
        )
        .unwrap()
    }

    fn roots(c: &Coalition) -> TrustStore {
        let mut trust = TrustStore::new();
        for root in c.roots() {
            trust.add_root(&root, Some(NOW)).unwrap();
        }
        trust
    }

    fn node_on(c: &Coalition, store: &Store) -> Node<ArtifactStore> {
        Node::new(
            Config::new(9),
            roots(c),
            store.artifacts().unwrap(),
            Some(NOW),
        )
    }

    /// What an evidence file proves, checked as `skywave-authority verify-evidence` does:
    /// against the roots and the file's own credentials only.
    fn prove(c: &Coalition, file: &[u8]) -> Conflict {
        let file = EvidenceFile::read(file).unwrap();
        let mut trust = roots(c);
        for credential in file.credentials() {
            trust.admit(credential, None).unwrap();
        }
        trust.prove(file.held, file.offered).unwrap().conflict
    }

    /// GBR's first revocation delta, revoking policy `id`.
    fn revocation(c: &Coalition, id: u32) -> Vec<u8> {
        let entry = Revoked::Policy { id, version: 1 };
        let body = sample::revocation(GBR, &c.gbr_signer, 1, &[entry]);
        sample::sign(&c.gbr_signer, &Artifact::Revocation(body))
    }

    #[test]
    fn conflicts_are_kept_across_a_restart_once_each_and_prove_themselves_offline() {
        let c = Coalition::new();
        let dir = TempDir::new().unwrap();
        let now = Instant::from_millis(0);
        let held = c.gbr_policy(7, &sample::gbr_rules());
        let twin = c.gbr_policy(7, &sample::gbr_rules()[..1]);
        let stale = c.gbr_policy(6, &sample::gbr_rules());
        {
            let store = open_store(&dir);
            let mut node = node_on(&c, &store);
            for artifact in c.artifacts().iter().chain([&held]) {
                node.publish(now, Some(NOW), artifact).unwrap();
            }
            assert!(matches!(
                node.publish(now, Some(NOW), &twin),
                Err(Refusal::Equivocation { .. })
            ));
            persist(&mut node, &store);
            assert!(matches!(
                node.publish(now, Some(NOW), &stale),
                Err(Refusal::Rollback { .. })
            ));
            persist(&mut node, &store);
            // The same conflict again is not a second piece.
            let _ = node.publish(now, Some(NOW), &twin);
            persist(&mut node, &store);
            // Two different revocation deltas with the same sequence number.
            node.publish(now, Some(NOW), &revocation(&c, 100)).unwrap();
            assert!(matches!(
                node.publish(now, Some(NOW), &revocation(&c, 101)),
                Err(Refusal::Equivocation { .. })
            ));
            persist(&mut node, &store);
            assert_eq!(node.trust().evidence().count(), 0, "the slots were freed");
        }
        // The agent restarts.
        let store = open_store(&dir);
        let _node = node_on(&c, &store);
        let records = store.evidence().unwrap();
        let summary: Vec<_> = records
            .iter()
            .map(|r| {
                (
                    r.conflict,
                    r.domain,
                    r.kind,
                    r.id,
                    r.held_version,
                    r.offered_version,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Conflict::Equivocation, GBR, Kind::Policy, 1, 7, 7),
                (Conflict::Rollback, GBR, Kind::Policy, 1, 7, 6),
                (Conflict::Equivocation, GBR, Kind::Revocation, 1, 1, 1),
            ]
        );
        assert_eq!(prove(&c, &records[2].file), Conflict::Equivocation);
        assert_eq!(records[0].held, Digest::of(&held));
        assert_eq!(records[0].offered, Digest::of(&twin));
        assert_eq!(prove(&c, &records[0].file), Conflict::Equivocation);
        assert_eq!(prove(&c, &records[1].file), Conflict::Rollback);
        assert!(file_name(&records[0]).ends_with(".evidence"));
    }
}
