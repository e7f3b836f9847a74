//! `skywave audit`: the decision log checked offline, from the store, against an anchor the
//! operator kept (`audit anchor`, `audit verify`, here), and read back (`audit list / show /
//! export`, in `read`).
//!
//! The log's own chain proves order and links, but the store that holds it also holds its
//! head: whoever can write the file can cut the tail, edit the last entry, delete every row or
//! recompute the whole chain, and the chain still verifies. An **anchor** (entry count and the
//! hash of the last entry, printed by `audit anchor`) written down or signed somewhere the
//! agent cannot rewrite closes that gap: `audit verify --anchor` fails unless the log still
//! holds that many entries and the last of them hashes to that head (entries added since are
//! the log's growth and verify by the chain).
//!
//! An anchor is written `COUNT:HEAD` (the head as 64 hex digits); `--anchor` takes that text,
//! or a file holding it or `audit anchor --json`'s output.

mod read;

pub use read::{AuditEntry, AuditExport, export, list, show};

use std::path::{Path, PathBuf};

use skywave_protocol::policy::{Digest, LogAnchor};

use crate::agent::config::AgentConfig;
use crate::store::Store;

/// What the checks without an anchor cannot see, said every time one is run without.
pub const WITHOUT_ANCHOR: &str = "without an anchor this cannot detect a cut tail, an edited \
     last entry, deleted rows or a recomputed chain: keep the output of `skywave audit anchor` \
     where the agent cannot rewrite it, and verify with --anchor";

/// An anchor as text: `COUNT:HEAD`.
pub fn anchor_text(anchor: &LogAnchor) -> String {
    format!("{}:{}", anchor.count, anchor.head)
}

/// Reads an anchor from `COUNT:HEAD`, or from a file holding that text or the JSON that
/// `audit anchor --json` prints.
pub fn parse_anchor(given: &str) -> anyhow::Result<LogAnchor> {
    if let Some(anchor) = parse_anchor_text(given.trim()) {
        return Ok(anchor);
    }
    let text = std::fs::read_to_string(given).map_err(|e| {
        anyhow::anyhow!("--anchor {given:?}: neither COUNT:HEAD nor a readable file ({e})")
    })?;
    let from_json = || -> Option<LogAnchor> {
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        parse_anchor_text(json["anchor"].as_str()?)
    };
    parse_anchor_text(text.trim())
        .or_else(from_json)
        .ok_or_else(|| {
            anyhow::anyhow!("{given}: holds no anchor (COUNT:HEAD, or audit anchor --json)")
        })
}

fn parse_anchor_text(text: &str) -> Option<LogAnchor> {
    let (count, head) = text.split_once(':')?;
    let head = crate::agent::control::unhex(head).ok()?;
    Some(LogAnchor {
        count: count.parse().ok()?,
        head: Digest(head.try_into().ok()?),
    })
}

/// The store of the node configured in `config`, which must exist (nothing is created), and
/// its path: for the commands that read a store offline.
pub fn open_store(config: &Path) -> anyhow::Result<(Store, PathBuf)> {
    let config = AgentConfig::load(config)?;
    let store = Store::open_existing(&config.store, config.address)
        .map_err(|e| anyhow::anyhow!("store {}: {e}", config.store.display()))?;
    Ok((store, config.store))
}

/// Verifies `store`'s decision log, against `anchor` if given: the anchor the entries lead to,
/// or an error naming the fault. An empty log fails: there is nothing to vouch for, and an
/// emptied one looks the same.
pub fn verify(store: &Store, anchor: Option<LogAnchor>) -> anyhow::Result<LogAnchor> {
    match store.verify_decisions(anchor)? {
        Ok(reached) if reached.count == 0 => {
            anyhow::bail!("the decision log is empty: nothing to verify")
        }
        Ok(reached) => Ok(reached),
        Err(fault) => anyhow::bail!("{fault:?}"),
    }
}

/// `skywave audit anchor [--json]`: the head of a verified log, to write down or sign.
pub fn anchor_command(config: &Path, json: bool) -> anyhow::Result<()> {
    let (store, path) = open_store(config)?;
    let anchor = verify(&store, None)
        .map_err(|e| anyhow::anyhow!("decision log {}: {e}", path.display()))?;
    if json {
        let out = serde_json::json!({
            "store": path.display().to_string(),
            "count": anchor.count,
            "head": anchor.head.to_string(),
            "anchor": anchor_text(&anchor),
        });
        crate::outln!("{out}")?;
    } else {
        crate::outln!("{}", anchor_text(&anchor))?;
        eprintln!(
            "decision log {}: {} entries; keep this anchor where the agent cannot rewrite it, \
             then check with `skywave audit verify --anchor {}`",
            path.display(),
            anchor.count,
            anchor_text(&anchor)
        );
    }
    Ok(())
}

/// `skywave audit verify [--anchor A]`: re-verifies the whole log.
pub fn verify_command(config: &Path, anchor: Option<&str>) -> anyhow::Result<()> {
    let anchor = anchor.map(parse_anchor).transpose()?;
    let (store, path) = open_store(config)?;
    let reached = verify(&store, anchor)
        .map_err(|e| anyhow::anyhow!("decision log {}: {e}", path.display()))?;
    crate::outln!(
        "decision log {}: {} entries verified, head {}",
        path.display(),
        reached.count,
        reached.head
    )?;
    match anchor {
        Some(a) => crate::outln!(
            "matches anchor {} ({} entries since)",
            anchor_text(&a),
            reached.count - a.count
        )?,
        None => crate::outln!("{WITHOUT_ANCHOR}")?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use skywave_protocol::policy::sample::{Coalition, GBR, NOW, USA, gbr};
    use skywave_protocol::policy::{Decision, DecisionLog, Label};
    use skywave_protocol::wire::Address;
    use tempfile::TempDir;

    use super::*;
    use crate::store::{StoreError, StoreOptions};

    fn address() -> Address {
        Address::new(7).unwrap()
    }

    /// `n` decisions; `twist` changes the audience of the second, for a forged log.
    fn decisions(n: usize, twist: bool) -> Vec<Decision> {
        let trust = Coalition::new().store().unwrap();
        let label = Label {
            domain: GBR,
            policy: 1,
            classification: gbr::SECRET,
            categories: &[gbr::OP_TELIC],
        };
        (0..n)
            .map(|i| {
                let audience = if twist && i == 1 { GBR } else { USA };
                trust.decide(&label, audience, Some(NOW))
            })
            .collect()
    }

    /// A store at `dir` with five decisions; returns its path and the anchor taken then.
    fn logged(dir: &TempDir) -> (PathBuf, LogAnchor) {
        let path = dir.path().join("store.db");
        let store = Store::open(&path, address(), StoreOptions::default()).unwrap();
        for d in decisions(5, false) {
            store
                .append_decision(&d, std::time::SystemTime::now())
                .unwrap();
        }
        let anchor = verify(&store, None).unwrap();
        assert_eq!(anchor.count, 5);
        (path, anchor)
    }

    /// Runs `tamper` on the store's file, then verifies it as `audit verify` does, without
    /// and with the anchor.
    fn after(
        tamper: impl FnOnce(&Connection),
    ) -> (anyhow::Result<LogAnchor>, anyhow::Result<LogAnchor>) {
        let dir = TempDir::new().unwrap();
        let (path, anchor) = logged(&dir);
        tamper(&Connection::open(&path).unwrap());
        let store = Store::open_existing(&path, address()).unwrap();
        (verify(&store, None), verify(&store, Some(anchor)))
    }

    #[test]
    fn an_edited_last_row_is_caught_only_with_the_anchor() {
        let (without, with) = after(|db| {
            let last: Vec<u8> = db
                .query_row(
                    "SELECT entry FROM decisions ORDER BY position DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            let mut edited = last.clone();
            *edited.last_mut().unwrap() ^= 1;
            db.execute(
                "UPDATE decisions SET entry = ?1 WHERE entry = ?2",
                (&edited, &last),
            )
            .unwrap();
        });
        assert!(without.is_ok());
        assert_eq!(with.unwrap_err().to_string(), "Altered { index: 4 }");
    }

    #[test]
    fn a_cut_tail_is_caught_only_with_the_anchor() {
        let (without, with) = after(|db| {
            db.execute("DELETE FROM decisions WHERE position > 3", [])
                .unwrap();
        });
        assert_eq!(without.unwrap().count, 3);
        assert_eq!(
            with.unwrap_err().to_string(),
            "Removed { first: 3, last: 4 }"
        );
    }

    #[test]
    fn deleting_every_row_is_caught() {
        let (without, with) = after(|db| {
            db.execute("DELETE FROM decisions", []).unwrap();
        });
        assert!(without.unwrap_err().to_string().contains("empty"));
        assert_eq!(
            with.unwrap_err().to_string(),
            "Removed { first: 0, last: 4 }"
        );
    }

    #[test]
    fn a_recomputed_chain_is_caught_only_with_the_anchor() {
        let (without, with) = after(|db| {
            db.execute("DELETE FROM decisions", []).unwrap();
            let mut log = DecisionLog::new();
            let mut buf = [0u8; 2048];
            for d in decisions(5, true) {
                let entry = log.append(&d, &mut buf).unwrap();
                db.execute(
                    "INSERT INTO decisions (entry, recorded_unix_ms) VALUES (?1, 0)",
                    [entry],
                )
                .unwrap();
            }
        });
        assert_eq!(without.unwrap().count, 5);
        assert_eq!(with.unwrap_err().to_string(), "Altered { index: 4 }");
    }

    #[test]
    fn a_missing_or_never_initialised_store_is_an_error_and_nothing_is_created() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("nowhere.db");
        let opened = Store::open_existing(&path, address());
        assert!(matches!(opened, Err(StoreError::Missing(_))));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        std::fs::write(&path, b"").unwrap();
        let opened = Store::open_existing(&path, address());
        assert!(matches!(opened, Err(StoreError::Missing(_))));
        assert_eq!(std::fs::read(&path).unwrap(), b"");
    }

    #[test]
    fn an_anchor_reads_back_from_text_and_from_audit_anchor_json() {
        let dir = TempDir::new().unwrap();
        let (_, anchor) = logged(&dir);
        let text = anchor_text(&anchor);
        assert_eq!(parse_anchor(&text).unwrap(), anchor);
        let file = dir.path().join("anchor.json");
        let json = serde_json::json!({"count": anchor.count, "anchor": text});
        std::fs::write(&file, json.to_string()).unwrap();
        assert_eq!(parse_anchor(file.to_str().unwrap()).unwrap(), anchor);
        assert!(parse_anchor("5:zz").is_err());
    }
}
