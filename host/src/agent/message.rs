//! Labelled messages as the operator and the reviewer read them: the guard's report on one
//! message ([`GuardReport`]) in JSON and in words, and its label as a marking.
//!
//! One type serves `skywave send` (the sender's verdict), `skywave receive` (what came in) and
//! `skywave audit list / show` (the decision log's message entries), so that what an operator
//! was told and what the log says afterwards read alike, as [`super::explain`] does for
//! release decisions. The policy decision behind a verdict (with its lineage: policy id and
//! version, translator, revocation sequence numbers) stays a [`DecisionJson`] beside it.
//!
//! A policy carries classification and category names but not value names (those are in the
//! SPIF), so a marking names the classification and categories when the policy is held and
//! gives values as their codes (LACVs).

use serde::{Deserialize, Serialize};
use skywave_protocol::codec::Hex;
use skywave_protocol::label::compact;
use skywave_protocol::node::Storage;
use skywave_protocol::policy::{Artifact, Domain, LabelRecord, Signed};
use skywave_protocol::station::{End, GuardRefusal, GuardReport};

use super::control::{DecisionJson, LabelJson};

/// The guard's decision on one labelled message, as the operator reads it. `verdict` and
/// `refusal` are stable keywords for scripts; `reason` says the same in words.
#[derive(Serialize, Deserialize, Debug)]
pub struct MessageJson {
    /// `sender` (before it went on the air) or `receiver` (before it went to a client).
    pub end: String,
    /// `released` or `refused`.
    pub verdict: String,
    /// Why not, as a keyword: `denied`, `translator_revoked`, `unknown_destination`,
    /// `unknown_self`, `label`, `binding`; `null` when released.
    pub refusal: Option<String>,
    /// The outcome in words (`released`, `translator GBR/1 v1 revoked`, `binding: replayed`).
    pub reason: String,
    /// The originating node's address.
    pub source: u32,
    /// The originating client's SAP.
    pub source_sap: u8,
    /// The destination node's address.
    pub destination: u32,
    /// The destination client's SAP.
    pub destination_sap: u8,
    /// The binding's sequence number (0: none, refused before sealing or unparsable).
    pub seq: u64,
    /// SHA-256 of the client's data, hex.
    pub digest: String,
    /// The compact label as it travels, hex (empty when the envelope held none).
    pub label_hex: String,
    /// The label decoded; `null` when the bytes are not a compact label.
    pub label: Option<LabelJson>,
    /// The label's marking: names from the labelling domain's policy when it is held.
    pub marking: String,
    /// The sender's handle for it (sender end only).
    pub ticket: Option<u32>,
}

/// Classification and category names of the policies a node holds, for markings.
#[derive(Debug, Default)]
pub struct PolicyNames {
    /// (domain, policy id) to (classification code, name) and (category tag, name).
    policies: Vec<PolicyNameSet>,
}

#[derive(Debug)]
struct PolicyNameSet {
    domain: Domain,
    id: u32,
    version: u32,
    classifications: Vec<(u8, String)>,
    categories: Vec<(u8, String)>,
}

impl PolicyNames {
    /// The names in every full policy `storage` holds (a delta carries no names), the
    /// highest version of each policy winning.
    pub fn from_storage(storage: &impl Storage) -> Self {
        let mut names = PolicyNames::default();
        for (_, bytes) in (0..storage.len()).filter_map(|i| storage.get(i)) {
            if let Ok(Signed {
                artifact: Artifact::Policy(p),
                ..
            }) = Signed::decode(bytes)
            {
                let set = PolicyNameSet {
                    domain: p.domain,
                    id: p.id,
                    version: p.version,
                    classifications: p
                        .classifications
                        .iter()
                        .map(|c| (c.code, c.name.to_owned()))
                        .collect(),
                    categories: p
                        .categories
                        .iter()
                        .map(|c| (c.tag, c.name.to_owned()))
                        .collect(),
                };
                match names
                    .policies
                    .iter_mut()
                    .find(|s| s.domain == set.domain && s.id == set.id)
                {
                    Some(held) if held.version < set.version => *held = set,
                    Some(_) => {}
                    None => names.policies.push(set),
                }
            }
        }
        names
    }

    /// `GBR policy 1: SECRET; Operation: 10, 11` (codes where no name is known).
    pub fn marking(&self, label: &LabelRecord) -> String {
        let set = self
            .policies
            .iter()
            .find(|s| s.domain == label.domain && s.id == label.policy);
        let class = set
            .and_then(|s| {
                s.classifications
                    .iter()
                    .find(|(c, _)| *c == label.classification)
            })
            .map_or_else(
                || format!("classification {}", label.classification),
                |(_, name)| name.clone(),
            );
        let mut text = format!("{} policy {}: {class}", label.domain, label.policy);
        let mut tags: Vec<u8> = label.categories.iter().map(|c| c.tag).collect();
        tags.dedup();
        for tag in tags {
            let name = set
                .and_then(|s| s.categories.iter().find(|(t, _)| *t == tag))
                .map_or_else(|| format!("tag {tag}"), |(_, name)| name.clone());
            let values: Vec<String> = label
                .categories
                .iter()
                .filter(|c| c.tag == tag)
                .map(|c| c.value.to_string())
                .collect();
            text += &format!("; {name}: {}", values.join(", "));
        }
        text
    }
}

/// The keyword for a refusal's kind.
fn refusal_keyword(refusal: &GuardRefusal) -> &'static str {
    match refusal {
        GuardRefusal::Denied(_) => "denied",
        GuardRefusal::TranslatorRevoked(_) => "translator_revoked",
        GuardRefusal::UnknownDestination { .. } => "unknown_destination",
        GuardRefusal::UnknownSelf => "unknown_self",
        GuardRefusal::Label(_) => "label",
        GuardRefusal::Binding(_) => "binding",
    }
}

impl MessageJson {
    /// The report in the operator's terms, its label marked with `names`.
    pub fn new(report: &GuardReport, names: &PolicyNames) -> Self {
        let record = compact::decode(&report.label).ok();
        MessageJson {
            end: match report.end {
                End::Sender => "sender",
                End::Receiver => "receiver",
            }
            .to_owned(),
            verdict: if report.released() {
                "released"
            } else {
                "refused"
            }
            .to_owned(),
            refusal: report
                .refusal
                .as_ref()
                .map(|r| refusal_keyword(r).to_owned()),
            reason: report
                .refusal
                .as_ref()
                .map_or_else(|| "released".to_owned(), ToString::to_string),
            source: report.ends.source,
            source_sap: report.ends.source_sap,
            destination: report.ends.destination,
            destination_sap: report.ends.destination_sap,
            seq: report.seq,
            digest: report.digest.to_string(),
            label_hex: Hex(&report.label).to_string(),
            label: record.as_ref().map(|r| LabelJson {
                domain: r.domain.to_string(),
                policy: r.policy,
                classification: r.classification,
                categories: r.categories.iter().map(|c| (c.tag, c.value)).collect(),
            }),
            marking: record
                .as_ref()
                .map_or_else(|| "(no readable label)".to_owned(), |r| names.marking(r)),
            ticket: report.ticket.map(|t| t.0),
        }
    }

    /// One line: `sender refused 1:5 -> 2:5 seq 3 [GBR policy 1: SECRET; ...]: reason`.
    pub fn headline(&self) -> String {
        let outcome = match &self.refusal {
            None => "released".to_owned(),
            Some(_) => format!("refused ({})", self.reason),
        };
        format!(
            "message {} {outcome}: {}:{} -> {}:{} seq {} [{}]",
            self.end,
            self.source,
            self.source_sap,
            self.destination,
            self.destination_sap,
            self.seq,
            self.marking
        )
    }

    /// The headline, then the message's particulars and the lineage of `decision` (if one was
    /// made), one per line.
    pub fn in_words(&self, decision: Option<&DecisionJson>) -> Vec<String> {
        let mut lines = vec![self.headline()];
        lines.push(format!("  data sha-256: {}", self.digest));
        lines.push(format!("  label: {} ({})", self.marking, self.label_hex));
        match decision {
            Some(d) => {
                let mut words = d.in_words().into_iter();
                if let Some(first) = words.next() {
                    lines.push(format!("  policy decision: {first}"));
                }
                lines.extend(words);
            }
            None => lines.push("  policy decision: none (refused before one was made)".into()),
        }
        lines
    }
}
