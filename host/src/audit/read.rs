//! `skywave audit list / show / export`: the decision log read back, straight from the store.
//!
//! The log's rows are the protocol's binary entries (index, previous entry's hash, postcard
//! decision), which `audit verify` checks but nobody can read. These commands decode each
//! entry into what was decided (verdict, label, audience, reason, lineage) and where it sits in
//! the chain (index, previous hash, own hash), so a reviewer reads the same words the operator
//! was given (`crate::agent::explain`). They open the store the way `audit verify` does: no
//! agent needed, safe while one runs (SQLite's WAL lets a reader in beside the writer).
//!
//! Reading does not verify: a row that is not an entry at all is reported by its position,
//! anything subtler is `audit verify`'s job (and `audit export` carries its result, so a tool
//! reading the export knows whether the chain it holds is sound).

use std::path::Path;
use std::time::UNIX_EPOCH;

use crate::cli::time;
use serde::Serialize;
use skywave_protocol::policy::log::entry_hash;
use skywave_protocol::policy::{Digest, LogEntry, UnixTime};

use crate::agent::control::DecisionJson;
use crate::store::Store;

/// One decision of the log, decoded, with its place in the chain.
#[derive(Serialize, Debug)]
pub struct AuditEntry {
    /// Its index in the log (0 for the first decision).
    pub index: u64,
    /// When the agent recorded it, `YYYY-MM-DDTHH:MM:SSZ`.
    pub recorded: String,
    /// When the agent recorded it, Unix seconds.
    pub recorded_unix: u64,
    /// The previous entry's hash, hex (zeros for the first).
    pub prev: String,
    /// This entry's hash, hex: the next entry's `prev`, or the log's head.
    pub hash: String,
    /// What was decided, and on what.
    pub decision: DecisionJson,
}

/// The whole log for tools: every entry and the verifier's verdict on the chain.
#[derive(Serialize, Debug)]
pub struct AuditExport {
    /// Entries in the log.
    pub count: usize,
    /// The last entry's hash (zeros when empty): what a reviewer records as the anchor.
    pub head: String,
    /// `ok`, or the first fault the verifier found (`Altered { index: 3 }`, ...).
    pub verification: String,
    /// Every entry, in order.
    pub entries: Vec<AuditEntry>,
}

/// Every entry of the log in `store`, decoded.
fn read(store: &Store) -> anyhow::Result<Vec<AuditEntry>> {
    store
        .decision_rows()?
        .into_iter()
        .map(|row| {
            let entry = LogEntry::read(&row.entry).ok_or_else(|| {
                anyhow::anyhow!(
                    "decision log row {} is not a log entry (run `skywave audit verify`)",
                    row.position
                )
            })?;
            let recorded_unix = row
                .recorded
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            Ok(AuditEntry {
                index: entry.index,
                recorded: time::format(UnixTime(recorded_unix)),
                recorded_unix,
                prev: entry.prev.to_string(),
                hash: entry_hash(&row.entry).to_string(),
                decision: (&entry.decision).into(),
            })
        })
        .collect()
}

/// `skywave audit list`: one line per decision recorded at or after `since` (all when
/// `None`), or the same entries as a JSON array.
pub fn list(config: &Path, since: Option<UnixTime>, json: bool) -> anyhow::Result<String> {
    let (store, _) = super::open_store(config)?;
    let entries: Vec<AuditEntry> = read(&store)?
        .into_iter()
        .filter(|e| since.is_none_or(|since| e.recorded_unix >= since.0))
        .collect();
    if json {
        return Ok(serde_json::to_string(&entries)? + "\n");
    }
    Ok(entries
        .iter()
        .map(|e| format!("#{} {} {}\n", e.index, e.recorded, e.decision.headline()))
        .collect())
}

/// `skywave audit show N`: decision `index` in words, with its place in the chain.
pub fn show(config: &Path, index: u64) -> anyhow::Result<String> {
    let (store, _) = super::open_store(config)?;
    let entries = read(&store)?;
    let count = entries.len();
    let entry = entries
        .into_iter()
        .find(|e| e.index == index)
        .ok_or_else(|| anyhow::anyhow!("no decision #{index} (the log holds {count})"))?;
    let mut lines = vec![format!(
        "decision #{index} of {count}, recorded {}",
        entry.recorded
    )];
    lines.extend(entry.decision.in_words());
    lines.push(format!("  previous entry: {}", entry.prev));
    lines.push(format!("  this entry:     {}", entry.hash));
    Ok(lines.join("\n") + "\n")
}

/// `skywave audit export --json`: the whole log, decoded, with the verifier's verdict.
pub fn export(config: &Path) -> anyhow::Result<String> {
    let (store, _) = super::open_store(config)?;
    let entries = read(&store)?;
    let verification = match store.verify_decisions(None)? {
        Ok(_) => "ok".to_owned(),
        Err(fault) => format!("{fault:?}"),
    };
    let export = AuditExport {
        count: entries.len(),
        head: entries
            .last()
            .map_or_else(|| Digest([0; 32]).to_string(), |e| e.hash.clone()),
        verification,
        entries,
    };
    Ok(serde_json::to_string(&export)? + "\n")
}
