//! `skywave audit list / show / export`: the decision log read back, straight from the store.
//!
//! The log's rows are the protocol's binary entries (index and format, previous entry's hash,
//! postcard record), which `audit verify` checks but nobody can read. These commands decode
//! each entry into what was decided (verdict, label, audience, reason, lineage) and where it
//! sits in the chain (index, previous hash, own hash), so a reviewer reads the same words the
//! operator was given (`crate::agent::explain`, `crate::agent::message`). An entry is a policy
//! decision (`kind` `decision`: an operator's `decide`) or the guard's decision on a labelled
//! message (`kind` `message`: end, source and destination, data digest, label and marking,
//! verdict and reason, and the policy decision with its lineage when one was made). They open the store the way `audit verify` does: no
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
use skywave_protocol::policy::{Digest, LogEntry, Record, UnixTime};

use crate::agent::control::DecisionJson;
use crate::agent::message::{MessageJson, PolicyNames};
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
    /// `decision` (a policy decision on its own) or `message` (the guard's decision on a
    /// labelled message).
    pub kind: String,
    /// What was decided, and on what, with its lineage; `null` for a message refused before
    /// a policy decision was made (a bad binding, a replay, an unknown destination).
    pub decision: Option<DecisionJson>,
    /// The labelled message and the guard's verdict on it (`kind` `message` only).
    pub message: Option<MessageJson>,
}

impl AuditEntry {
    /// The entry on one line, as `audit list` prints it.
    pub fn headline(&self) -> String {
        match (&self.message, &self.decision) {
            (Some(m), Some(d)) => format!("{}; {}", m.headline(), lineage(d)),
            (Some(m), None) => format!("{}; no policy decision", m.headline()),
            (None, Some(d)) => d.headline(),
            (None, None) => "(empty entry)".to_owned(),
        }
    }
}

/// A policy decision and its lineage on one line: `policy decision: release, through
/// translator GBR #1 v1 (spiral 4 -> 5), home policy GBR #1 v1, translator GBR #1 v1,
/// revocation GBR #0`. For a message it is what the guard's verdict rests on, not the verdict:
/// the guard refuses what the policy would release on the home authority alone once the
/// translator is revoked.
fn lineage(d: &DecisionJson) -> String {
    let artifact = |what: &str, a: &Option<crate::agent::control::ArtifactJson>| {
        a.as_ref()
            .map(|a| format!(", {what} {} #{} v{}", a.domain, a.id, a.version))
            .unwrap_or_default()
    };
    let revocation: Vec<String> = d
        .revocation
        .iter()
        .map(|(domain, seq)| format!("{domain} #{seq}"))
        .collect();
    let policy = artifact("home policy", &d.home);
    format!(
        "policy decision: {}{policy}{}{}, revocation {}",
        d.describe(),
        artifact("translator", &d.translator),
        artifact("revoked translator", &d.revoked_translator),
        if revocation.is_empty() {
            "none".to_owned()
        } else {
            revocation.join(", ")
        }
    )
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
    let names = PolicyNames::from_storage(&store.artifacts()?);
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
                kind: match entry.record {
                    Record::Decision(_) => "decision",
                    Record::Message(_) => "message",
                }
                .to_owned(),
                decision: entry.decision().map(DecisionJson::from),
                message: match &entry.record {
                    Record::Message(report) => Some(MessageJson::new(report, &names)),
                    Record::Decision(_) => None,
                },
            })
        })
        .collect()
}

/// `skywave audit list`: one line per decision recorded at or after `since` (all when
/// `None`), or the same entries as a JSON array.
pub fn list(config: &Path, since: Option<UnixTime>, json: bool) -> anyhow::Result<String> {
    let (store, _) = super::open_store(config)?;
    list_store(&store, since, json)
}

/// [`list`] on an open store.
fn list_store(store: &Store, since: Option<UnixTime>, json: bool) -> anyhow::Result<String> {
    let entries: Vec<AuditEntry> = read(store)?
        .into_iter()
        .filter(|e| since.is_none_or(|since| e.recorded_unix >= since.0))
        .collect();
    if json {
        return Ok(serde_json::to_string(&entries)? + "\n");
    }
    Ok(entries
        .iter()
        .map(|e| format!("#{} {} {}\n", e.index, e.recorded, e.headline()))
        .collect())
}

/// `skywave audit show N`: decision `index` in words, with its place in the chain.
pub fn show(config: &Path, index: u64) -> anyhow::Result<String> {
    let (store, _) = super::open_store(config)?;
    show_store(&store, index)
}

/// [`show`] on an open store.
fn show_store(store: &Store, index: u64) -> anyhow::Result<String> {
    let entries = read(store)?;
    let count = entries.len();
    let entry = entries
        .into_iter()
        .find(|e| e.index == index)
        .ok_or_else(|| anyhow::anyhow!("no decision #{index} (the log holds {count})"))?;
    let mut lines = vec![format!(
        "decision #{index} of {count}, recorded {}",
        entry.recorded
    )];
    match (&entry.message, &entry.decision) {
        (Some(m), d) => lines.extend(m.in_words(d.as_ref())),
        (None, Some(d)) => lines.extend(d.in_words()),
        (None, None) => {}
    }
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

#[cfg(test)]
mod tests {
    use heapless::Vec as HVec;
    use skywave_protocol::label::binding::{BindingRefusal, Endpoints};
    use skywave_protocol::label::{MAX_COMPACT_LABEL_LEN, compact};
    use skywave_protocol::policy::sample::{Coalition, GBR, NOW, USA, gbr};
    use skywave_protocol::policy::{Label, LogEntry};
    use skywave_protocol::station::{End, GuardRefusal, GuardReport, LinkId, Ticket};
    use skywave_protocol::wire::Address;

    use super::*;
    use crate::store::StoreOptions;

    const TELIC: Label<'static> = Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &[gbr::OP_TELIC],
    };

    fn report(
        end: End,
        data: &[u8],
        refusal: Option<GuardRefusal>,
        with_decision: bool,
    ) -> GuardReport {
        let trust = Coalition::new().store().unwrap();
        let mut label = [0u8; MAX_COMPACT_LABEL_LEN];
        let len = compact::encode(&TELIC, &mut label).unwrap();
        GuardReport {
            end,
            ticket: (end == End::Sender).then_some(Ticket(3)),
            link: LinkId(0),
            message: None,
            ends: Endpoints {
                source: 1,
                source_sap: 5,
                destination: 2,
                destination_sap: 5,
            },
            seq: 4,
            digest: Digest::of(data),
            label: HVec::from_slice(&label[..len]).unwrap(),
            refusal,
            decision: with_decision.then(|| trust.decide(&TELIC, USA, Some(NOW))),
            head: HVec::new(),
        }
    }

    #[test]
    fn message_decisions_read_back_beside_policy_decisions_and_the_log_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("node.db"),
            Address::new(1).unwrap(),
            StoreOptions::default(),
        )
        .unwrap();
        let now = std::time::SystemTime::now();
        let trust = Coalition::new().store().unwrap();
        store
            .append_decision(&trust.decide(&TELIC, USA, Some(NOW)), now)
            .unwrap();
        let released = report(End::Sender, b"one", None, true);
        store.append_guard_report(&released, now).unwrap();
        let replayed = GuardRefusal::Binding(BindingRefusal::Replayed { address: 1, seq: 4 });
        let refused = report(End::Receiver, b"two", Some(replayed), false);
        store.append_guard_report(&refused, now).unwrap();
        assert!(store.verify_decisions(None).unwrap().is_ok());
        let entries = store.decision_entries().unwrap();
        assert_eq!(
            LogEntry::read(&entries[2]).unwrap().record,
            Record::Message(refused.clone())
        );

        let json: serde_json::Value =
            serde_json::from_str(&list_store(&store, None, true).unwrap()).unwrap();
        // The first layout's keys are all still there; `kind` and `message` are new.
        assert_eq!(json[0]["kind"], "decision");
        assert_eq!(json[0]["decision"]["verdict"], "release");
        assert_eq!(json[0]["message"], serde_json::Value::Null);
        assert_eq!(json[1]["kind"], "message");
        assert_eq!(json[1]["message"]["end"], "sender");
        assert_eq!(json[1]["message"]["verdict"], "released");
        assert_eq!(json[1]["message"]["digest"], Digest::of(b"one").to_string());
        assert_eq!(json[1]["message"]["ticket"], 3);
        assert_eq!(json[1]["decision"]["basis"], "translated");
        assert_eq!(json[1]["decision"]["revocation"]["GBR"], 0);
        // A refusal with no policy decision behind it is logged too, with its reason.
        assert_eq!(json[2]["message"]["end"], "receiver");
        assert_eq!(json[2]["message"]["verdict"], "refused");
        assert_eq!(json[2]["message"]["refusal"], "binding");
        assert_eq!(
            json[2]["message"]["reason"],
            "binding: replayed sequence number 4 from 1"
        );
        assert_eq!(json[2]["decision"], serde_json::Value::Null);
        // No policy artifact is in this store: the marking gives codes.
        assert_eq!(
            json[2]["message"]["marking"],
            "GBR policy 1: classification 3; tag 2: 10"
        );

        let text = list_store(&store, None, false).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(
            lines[1].contains("message sender released: 1:5 -> 2:5 seq 4")
                && lines[1].contains("translator GBR #1 v1"),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("refused (binding: replayed sequence number 4 from 1)")
                && lines[2].ends_with("no policy decision"),
            "{}",
            lines[2]
        );
        let shown = show_store(&store, 2).unwrap();
        assert!(shown.contains("policy decision: none"), "{shown}");
        assert!(shown.contains(&Digest::of(b"two").to_string()), "{shown}");
    }
}
