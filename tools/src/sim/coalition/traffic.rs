//! Labelled traffic in a coalition run (issue 17): every station with a `domain` gets a node
//! credential from that domain's root and guards [`GUARD_SAP`]; each `[[message]]` is a
//! client's labelled data submitted to its station for a neighbour, and the report gives
//! every message's verdict at both ends, with the reason and the lineage.

use skywave_protocol::label::compact::{self, MAX_COMPACT_LABEL_LEN};
use skywave_protocol::policy::{Credential, Scope};
use skywave_protocol::station::{End, GuardConfig, GuardReport};

use super::{
    Address, Artifact, Basis, CategoryValue, Coalition, Deserialize, Domain, Instant, Label,
    LinkMessage, Mode, Serialize, SimStation, SpduHeader, anyhow, domain, label_of, sample,
};

/// The SAP the simulated clients' labelled data travels on.
pub const GUARD_SAP: u8 = 5;
/// How long a labelled message is worth sending, s.
const MESSAGE_TTD_S: u64 = 1800;

/// A client's message, submitted at `from` for its neighbour `to`: labelled (through both
/// stations' guards), or without a label (plain client data, as a station without a guard
/// carries it).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// When, s.
    pub at_s: f64,
    /// A name for reports (also the message's data, so each must be unique).
    pub name: String,
    /// The sending station.
    pub from: String,
    /// The receiving station: a neighbour of `from` on one of its nets.
    pub to: String,
    /// Its label; none: plain client data, and `from` and `to` need no domain.
    #[serde(default)]
    pub label: Option<LabelSpec>,
}

/// A confidentiality label in a scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelSpec {
    /// The labelling domain.
    pub domain: String,
    /// Its policy id.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// Category values as (tag, value).
    #[serde(default)]
    pub categories: Vec<(u8, u16)>,
}

impl LabelSpec {
    /// The compact air form.
    pub fn compact(&self) -> anyhow::Result<Vec<u8>> {
        let categories: Vec<CategoryValue> = self
            .categories
            .iter()
            .map(|&(tag, value)| CategoryValue { tag, value })
            .collect();
        let label = Label {
            domain: domain(&self.domain)?,
            policy: self.policy,
            classification: self.classification,
            categories: &categories,
        };
        let mut out = [0u8; MAX_COMPACT_LABEL_LEN];
        let len = compact::encode(&label, &mut out).map_err(|e| anyhow!("label: {e}"))?;
        Ok(out.get(..len).unwrap_or_default().to_vec())
    }
}

/// One end's verdict on a message.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VerdictRecord {
    /// When, s.
    pub at_s: f64,
    /// "released" or "refused".
    pub verdict: String,
    /// Why refused (the guard's typed reason).
    pub reason: Option<String>,
    /// same_domain, translated, home_only, home_only_translator_revoked (none when refused
    /// before a policy decision).
    pub basis: Option<String>,
    /// The home policy decided with ("GBR policy 1 v1").
    pub policy: Option<String>,
    /// The translator used, or the revoked one.
    pub translator: Option<String>,
    /// The revocation sequence numbers in force, as "GBR 1".
    pub revocations: Vec<String>,
    /// The binding's sequence number (0: none).
    pub seq: u64,
}

/// A message and its verdicts at both ends.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRecord {
    /// Its name.
    pub name: String,
    /// Sending station.
    pub from: String,
    /// Receiving station.
    pub to: String,
    /// The label, compact form, hex.
    pub label: String,
    /// SHA-256 of the data, hex.
    pub digest: String,
    /// When submitted, s.
    pub submitted_s: f64,
    /// The sender's verdict (none if it never decided: no room, link down).
    pub sender: Option<VerdictRecord>,
    /// The receiver's verdict (none if nothing arrived: refused at the sender, or lost).
    pub receiver: Option<VerdictRecord>,
}

/// A station's node key: fixed per station index, away from the sample coalition's seeds.
fn node_key(station: usize) -> p256::ecdsa::SigningKey {
    sample::key(128u8.wrapping_add(station as u8))
}

fn root(c: &Coalition, code: Domain) -> anyhow::Result<&p256::ecdsa::SigningKey> {
    match &code.0 {
        b"GBR" => Ok(&c.gbr_root),
        b"USA" => Ok(&c.usa_root),
        b"AUS" => Ok(&c.aus_root),
        _ => Err(anyhow!("the sample coalition has no {code} root")),
    }
}

/// The node credential of station `index` at `address` in `code`, signed by its root.
pub fn node_credential(
    c: &Coalition,
    index: usize,
    address: u32,
    code: Domain,
) -> anyhow::Result<Vec<u8>> {
    let root = root(c, code)?;
    let cred = Credential {
        node: Some(address),
        ..sample::credential(root, &node_key(index), code, Scope::NODE, 0)
    };
    Ok(sample::sign(root, &Artifact::Credential(cred)))
}

/// Turns station `index`'s guard on.
pub fn enable(station: &mut SimStation, index: usize, address: Address) {
    let config = GuardConfig {
        address,
        key: node_key(index),
        next_seq: 1,
    };
    station.enable_guard(config, &[GUARD_SAP]);
}

/// The link message for `data` to `dest`, sent at `now`.
pub fn message(dest: Address, data: &[u8], now: Instant) -> LinkMessage<'_> {
    LinkMessage {
        dest,
        header: SpduHeader {
            priority: 5,
            src_sap: GUARD_SAP,
            dest_sap: GUARD_SAP,
        },
        mode: Mode::Arq { in_order: false },
        confirm: false,
        ttd: now + skywave_protocol::time::Duration::from_secs(MESSAGE_TTD_S),
        data,
    }
}

/// A guard report as the scenario's JSON gives it.
pub fn verdict(report: &GuardReport, at_s: f64) -> VerdictRecord {
    let decision = report.decision.as_ref();
    VerdictRecord {
        at_s,
        verdict: if report.released() {
            "released"
        } else {
            "refused"
        }
        .into(),
        reason: report.refusal.map(|r| r.to_string()),
        basis: decision.map(|d| basis(&d.basis).into()),
        policy: decision.and_then(|d| d.lineage.home.as_ref()).map(label_of),
        translator: decision.and_then(|d| match d.basis {
            Basis::HomeOnlyTranslatorRevoked(t) => Some(label_of(&t)),
            _ => d.lineage.translator.as_ref().map(label_of),
        }),
        revocations: decision
            .map(|d| {
                d.lineage
                    .revocation_seqs
                    .iter()
                    .filter(|(_, seq)| *seq > 0)
                    .map(|(dom, seq)| format!("{dom} {seq}"))
                    .collect()
            })
            .unwrap_or_default(),
        seq: report.seq,
    }
}

/// A decision's basis as the reports name it.
pub fn basis(basis: &Basis) -> &'static str {
    match basis {
        Basis::SameDomain => "same_domain",
        Basis::Translated => "translated",
        Basis::HomeOnly => "home_only",
        Basis::HomeOnlyTranslatorRevoked(_) => "home_only_translator_revoked",
    }
}

/// Files `report` against the message whose data it names.
pub fn file(records: &mut [MessageRecord], report: &GuardReport, at_s: f64) {
    let digest = report.digest.to_string();
    let Some(record) = records.iter_mut().find(|r| r.digest == digest) else {
        return;
    };
    let slot = match report.end {
        End::Sender => &mut record.sender,
        End::Receiver => &mut record.receiver,
    };
    if slot.is_none() {
        *slot = Some(verdict(report, at_s));
    }
}
