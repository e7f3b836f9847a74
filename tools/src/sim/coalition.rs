//! `skywave-sim coalition` and `skywave-sim chain`: store-and-forward of signed artifacts across
//! a coalition network, on virtual time.
//!
//! Every station is a real [`Station`]: a [`Node`] (admission, inventory sync, fan-out) and one
//! [`HostLink`] per radio, the code the firmware and the host run. Radios share nets through
//! [`Air`], the same channel and modem model as the link-layer simulator. Artifacts are real:
//! the sample coalition's signed credentials, policies and translators, and revocations and
//! policy versions signed with its keys ([`skywave_protocol::policy::sample`]).
//!
//! A scenario (TOML, `tools/scenarios/coalition/`) names stations, the nets each of their radios
//! is on, outages, what is published where and when, what a hostile neighbour injects, and the
//! release decisions to follow. The report says, per artifact, when each station admitted it;
//! the airtime spent per kind of node message; how each followed decision changed at each
//! station, with its lineage; and, per station outage, how long and how many bytes on the air
//! the catch-up took.
//!
//! The chain (`chain`) is the revocation benchmark's scenario with its parameters exposed: a
//! line of stations, one point-to-point net per hop, every station holding the coalition, and
//! one revocation published at one end.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use anyhow::{Context, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};
use skywave_protocol::link::{
    Config as LinkConfig, HostLink, Message as LinkMessage, Mode, Modem, SpduHeader,
};
use skywave_protocol::node::{self, Fanout, FixedStorage, Node, NodeEvent};
use skywave_protocol::policy::sample::{self, Coalition, NOW};
use skywave_protocol::policy::{
    Artifact, ArtifactRef, Basis, CategoryValue, Domain, Kind, Label, Revoked, Signed, TrustStore,
    UnixTime, Verdict,
};
use skywave_protocol::station::{LinkId, Station, StationEvent};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, Body, Dpdu, Frame, MAX_DPDU_LEN};

use super::air::{Air, Radio};
use super::channel::Model;
use super::events::{EventQueue, Progress};
use super::plot::{Line, Panel};
use super::report::ChannelTotals;
use super::scenario::{
    LinkSpec, ModemSpec, NetSpec, OutageSpec, RandomOutageSpec, ScenarioFile, check_outages,
};
use super::{instant, named, secs};

/// The SAP the simulated stations' node messages travel on.
pub const SAP: u8 = 13;
/// Radios one station may have.
pub const MAX_RADIOS: usize = 4;
/// Artifacts one station keeps: room for everything its trust store can hold and every
/// domain's revocation history (node::storage_slots), so no partner can fill another's.
pub const STORAGE: usize = node::storage_slots(
    skywave_protocol::policy::MAX_CREDENTIALS,
    skywave_protocol::policy::MAX_POLICIES,
    skywave_protocol::policy::MAX_TRANSLATORS,
    node::Config::new(SAP).revocation_history as usize,
);

type SimNode = Node<FixedStorage<STORAGE>>;
type SimStation = Station<Box<SimNode>, Box<HostLink>, MAX_RADIOS>;

// ------------------------------------------------------------------------------------------
// Scenario

/// A coalition scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CoalitionScenario {
    /// A name for reports.
    pub name: String,
    /// Simulated time to run, s.
    pub duration_s: f64,
    /// The modem every radio uses.
    #[serde(default)]
    pub modem: ModemSpec,
    /// Link-layer settings every radio uses.
    #[serde(default)]
    pub link: LinkSpec,
    /// Node settings every station uses.
    #[serde(default)]
    pub node: NodeSpec,
    /// The stations.
    #[serde(rename = "station")]
    pub stations: Vec<StationSpec>,
    /// The nets.
    #[serde(rename = "net")]
    pub nets: Vec<NetSpec>,
    /// Scheduled outages (`node` names a station: it is off the air and knows it).
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "outage")]
    pub outages: Vec<OutageSpec>,
    /// Random net outages.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        rename = "random_outage"
    )]
    pub random_outages: Vec<RandomOutageSpec>,
    /// Artifacts published by a station's operator.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "publish")]
    pub publish: Vec<PublishSpec>,
    /// Artifacts a hostile or broken neighbour hands a station (as if received on the air).
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "inject")]
    pub inject: Vec<InjectSpec>,
    /// Release decisions followed at every station.
    #[serde(default, skip_serializing_if = "Vec::is_empty", rename = "decide")]
    pub decide: Vec<DecideSpec>,
}

/// Node settings.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSpec {
    /// Periodic SUMMARY interval, s.
    pub summary_interval_s: u64,
    /// Lacking neighbours on a channel from which an artifact is broadcast (0: never).
    pub fanout_min_lacking: u8,
    /// The same for revocation deltas.
    pub fanout_revocation_min_lacking: u8,
    /// Transmissions of each broadcast segment.
    pub fanout_repeats: u8,
    /// On channels with two or more neighbours, what goes to one of them by ARQ (else
    /// non-ARQ with the repeats).
    pub fanout_arq_when_shared: bool,
}

impl Default for NodeSpec {
    fn default() -> Self {
        let c = node::Config::new(SAP);
        NodeSpec {
            summary_interval_s: c.summary_interval.millis() / 1000,
            fanout_min_lacking: c.fanout.min_lacking,
            fanout_revocation_min_lacking: c.fanout.revocation_min_lacking,
            fanout_repeats: c.fanout.repeats,
            fanout_arq_when_shared: c.fanout.arq_when_shared,
        }
    }
}

impl NodeSpec {
    /// Every artifact by ARQ to each neighbour (the fan-out rule off).
    pub fn arq_only() -> Self {
        NodeSpec {
            fanout_min_lacking: 0,
            fanout_revocation_min_lacking: 0,
            fanout_arq_when_shared: true,
            ..NodeSpec::default()
        }
    }

    /// The node configuration of the station at `address` (its summary jitter seed).
    fn config(&self, address: u32) -> node::Config {
        let mut c = node::Config::new(SAP);
        c.jitter_seed = address;
        c.address = Address::new(address).ok();
        c.summary_interval = Duration::from_secs(self.summary_interval_s);
        c.fanout = Fanout {
            min_lacking: self.fanout_min_lacking,
            revocation_min_lacking: self.fanout_revocation_min_lacking,
            repeats: self.fanout_repeats,
            arq_when_shared: self.fanout_arq_when_shared,
        };
        c
    }
}

/// One station.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationSpec {
    /// A unique name.
    pub name: String,
    /// Its STANAG 5066 address.
    pub address: u32,
    /// The nets its radios are on, one radio each.
    pub nets: Vec<String>,
    /// Artifacts it holds before the run starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holds: Vec<ArtifactSpec>,
}

/// Which signed artifacts to make, from the sample coalition's keys.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArtifactSpec {
    /// The sample coalition's credentials, policies and translators (those filed under
    /// `domain`, if given), in an order they can be admitted in.
    Coalition {
        /// Only this domain's.
        #[serde(default)]
        domain: Option<String>,
    },
    /// GBR's policy 1 at `version` (the sample rules).
    Policy {
        /// The version.
        version: u32,
    },
    /// A revocation delta of `domain` (signed by its root) with sequence `seq`.
    Revocation {
        /// The revoking domain.
        domain: String,
        /// Its sequence number.
        seq: u32,
        /// Revoke translator `id` version 1 and older.
        #[serde(default)]
        translator: Option<u32>,
        /// Revoke policy `id` version 1 and older.
        #[serde(default)]
        policy: Option<u32>,
        /// Revoke the key of this sample signer: `gbr_signer`, `usa_signer`, `aus_signer`,
        /// `gbr_usa_liaison`, `gbr_aus_liaison`.
        #[serde(default)]
        key: Option<String>,
    },
    /// GBR's policy 1 at `version` with one signature byte flipped.
    Forged {
        /// The version.
        version: u32,
    },
    /// Translator `id` (1: GBR 4 to USA 5, 2: GBR 4 to AUS 4) at `version`, signed by its
    /// liaison office.
    Translator {
        /// 1 or 2.
        id: u32,
        /// The version.
        version: u32,
    },
    /// A hostile partner's valid artifacts, made with `domain`'s own sample keys (see
    /// [`super::hostile`]).
    Hostile {
        /// The hostile domain.
        domain: String,
        /// What it tries.
        attack: super::hostile::Attack,
    },
}

/// An operator publishing at a station.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishSpec {
    /// When, s.
    pub at_s: f64,
    /// Where.
    pub station: String,
    /// What.
    pub artifact: ArtifactSpec,
}

/// A neighbour handing a station artifacts it should refuse.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectSpec {
    /// When, s.
    pub at_s: f64,
    /// The station that receives them.
    pub station: String,
    /// The neighbour they seem to come from.
    pub from: String,
    /// What.
    pub artifact: ArtifactSpec,
}

/// A release decision followed at every station.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideSpec {
    /// A name for reports.
    pub name: String,
    /// The labelling domain.
    pub domain: String,
    /// Its policy id.
    pub policy: u32,
    /// The classification code.
    pub classification: u8,
    /// Category values as (tag, value).
    #[serde(default)]
    pub categories: Vec<(u8, u16)>,
    /// The audience domain.
    pub audience: String,
}

fn domain(code: &str) -> anyhow::Result<Domain> {
    Domain::new(code).ok_or_else(|| anyhow!("{code:?} is not a domain code"))
}

impl ScenarioFile for CoalitionScenario {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.duration_s > 0.0, "duration_s must be positive");
        self.modem.check()?;
        ensure!(
            self.node.fanout_repeats >= 1,
            "node.fanout_repeats must be at least 1"
        );
        let station = |name: &str| self.stations.iter().any(|s| s.name == name);
        let net = |name: &str| self.nets.iter().any(|n| n.name == name);
        for s in &self.stations {
            ensure!(!s.nets.is_empty(), "station {} is on no net", s.name);
            ensure!(
                s.nets.len() <= MAX_RADIOS,
                "station {} has more than {MAX_RADIOS} radios",
                s.name
            );
            for n in &s.nets {
                ensure!(net(n), "station {} is on unknown net {n}", s.name);
            }
            ensure!(
                self.stations.iter().filter(|o| o.name == s.name).count() == 1,
                "two stations are called {}",
                s.name
            );
        }
        for p in &self.publish {
            ensure!(
                station(&p.station),
                "publish at unknown station {}",
                p.station
            );
        }
        for i in &self.inject {
            ensure!(
                station(&i.station),
                "inject at unknown station {}",
                i.station
            );
            ensure!(station(&i.from), "inject from unknown station {}", i.from);
        }
        check_outages(&self.outages, &self.random_outages, net, station, "station")?;
        for d in &self.decide {
            domain(&d.domain)?;
            domain(&d.audience)?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// Artifacts

/// Makes the signed bytes an [`ArtifactSpec`] names.
pub fn artifacts(spec: &ArtifactSpec) -> anyhow::Result<Vec<Vec<u8>>> {
    let c = Coalition::new();
    Ok(match spec {
        ArtifactSpec::Coalition { domain: None } => c.artifacts(),
        ArtifactSpec::Coalition { domain: Some(d) } => {
            let wanted = domain(d)?;
            let mut out = Vec::new();
            for bytes in c.artifacts() {
                if describe(&bytes)?.domain == wanted {
                    out.push(bytes);
                }
            }
            out
        }
        ArtifactSpec::Policy { version } => vec![c.gbr_policy(*version, &sample::gbr_rules())],
        ArtifactSpec::Forged { version } => {
            let mut bytes = c.gbr_policy(*version, &sample::gbr_rules());
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            vec![bytes]
        }
        ArtifactSpec::Revocation {
            domain: d,
            seq,
            translator,
            policy,
            key,
        } => {
            let d = domain(d)?;
            let root = match &d.0 {
                b"GBR" => &c.gbr_root,
                b"USA" => &c.usa_root,
                b"AUS" => &c.aus_root,
                _ => bail!("the sample coalition has no {d} root"),
            };
            let mut entries = Vec::new();
            if let Some(id) = translator {
                entries.push(Revoked::Translator {
                    id: *id,
                    version: 1,
                });
            }
            if let Some(id) = policy {
                entries.push(Revoked::Policy {
                    id: *id,
                    version: 1,
                });
            }
            if let Some(k) = key {
                let signer = match k.as_str() {
                    "gbr_signer" => &c.gbr_signer,
                    "usa_signer" => &c.usa_signer,
                    "aus_signer" => &c.aus_signer,
                    "gbr_usa_liaison" => &c.gbr_usa_liaison,
                    "gbr_aus_liaison" => &c.gbr_aus_liaison,
                    other => bail!("no sample signer {other}"),
                };
                entries.push(Revoked::Key(sample::public(signer).key_id()));
            }
            let r = sample::revocation(d, root, *seq, &entries);
            vec![sample::sign(root, &Artifact::Revocation(r))]
        }
        ArtifactSpec::Hostile { domain: d, attack } => {
            super::hostile::artifacts(domain(d)?, attack)?
        }
        ArtifactSpec::Translator { id, version } => {
            use skywave_protocol::policy::SpiralRef;
            let spiral = |domain, spiral| SpiralRef { domain, spiral };
            let (key, to, tag) = match id {
                1 => (&c.gbr_usa_liaison, spiral(sample::USA, 5), 7),
                2 => (&c.gbr_aus_liaison, spiral(sample::AUS, 4), 2),
                _ => bail!("the sample coalition has translators 1 and 2"),
            };
            let t = sample::translator(key, *id, *version, spiral(sample::GBR, 4), to, tag);
            vec![sample::sign(key, &Artifact::Translator(t))]
        }
    })
}

/// What an artifact is, read by admitting it into a scratch trust store holding the whole
/// sample coalition (revocations and later versions admit there too).
fn describe(bytes: &[u8]) -> anyhow::Result<ArtifactRef> {
    let c = Coalition::new();
    let mut store = TrustStore::new();
    for root in c.roots() {
        store
            .add_root(&root, Some(NOW))
            .map_err(|e| anyhow!("root: {e}"))?;
    }
    for a in c.artifacts() {
        let _ = store.admit(&a, Some(NOW));
    }
    match store.admit(bytes, Some(NOW)) {
        Ok(a) => Ok(a.artifact),
        Err(_) => {
            // Refused there too (a forgery, a revocation after a gap): name it by what it
            // says it is.
            let signed = Signed::decode(bytes).map_err(|e| anyhow!("not an artifact: {e:?}"))?;
            let a = &signed.artifact;
            let (id, version) = match a {
                Artifact::Policy(p) => (p.id, u64::from(p.version)),
                Artifact::Translator(t) => (t.id, u64::from(t.version)),
                Artifact::Revocation(r) => (r.seq, 0),
                _ => (0, 0),
            };
            Ok(ArtifactRef {
                kind: a.kind(),
                domain: a.domain(),
                id,
                version,
                digest: skywave_protocol::policy::Digest::of(bytes),
            })
        }
    }
}

fn label_of(a: &ArtifactRef) -> String {
    let kind = match a.kind {
        Kind::Credential => "credential",
        Kind::Policy => "policy",
        Kind::Translator => "translator",
        Kind::Revocation => "revocation",
        Kind::PolicyDelta => "policy delta",
        Kind::Checkpoint => "checkpoint",
    };
    match a.kind {
        Kind::Credential => format!("{} {kind} {}", a.domain, &a.digest.to_string()[..8]),
        Kind::Revocation | Kind::Checkpoint => format!("{} {kind} {}", a.domain, a.id),
        _ => format!("{} {kind} {} v{}", a.domain, a.id, a.version),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Credential => "credential",
        Kind::Policy | Kind::PolicyDelta => "policy",
        Kind::Translator => "translator",
        Kind::Revocation | Kind::Checkpoint => "revocation",
    }
}

// ------------------------------------------------------------------------------------------
// Report

/// One artifact's journey.
#[derive(Clone, Debug, Serialize)]
pub struct ArtifactRecord {
    /// A readable name ("GBR revocation 1", "GBR policy 1 v2").
    pub label: String,
    /// Its kind.
    pub kind: String,
    /// SHA-256, hex.
    pub digest: String,
    /// Where it was first published or held, and when (s).
    pub origin: String,
    /// When it was published (0 for what stations held at the start).
    pub published_s: f64,
    /// When each station admitted it, by station name (s).
    pub admitted_s: BTreeMap<String, f64>,
    /// Time from publication until the last station admitted it, when all did (s).
    pub everywhere_after_s: Option<f64>,
}

/// A station's refusal.
#[derive(Clone, Debug, Serialize)]
pub struct RefusalRecord {
    /// Where.
    pub station: String,
    /// When, s.
    pub at_s: f64,
    /// From which neighbour (none: its operator).
    pub from: Option<String>,
    /// Why.
    pub refusal: String,
}

/// A followed decision at one station, when it changed.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DecisionRecord {
    /// When, s.
    pub at_s: f64,
    /// "release" or "deny: ..."
    pub verdict: String,
    /// same_domain, translated, home_only, home_only_translator_revoked.
    pub basis: String,
    /// The translator used, if any.
    pub translator: Option<String>,
    /// The spiral gap bridged, as "4 -> 5".
    pub spiral_gap: Option<String>,
    /// The revocation sequence numbers in force, as "GBR 1".
    pub revocations: Vec<String>,
}

/// A station's catch-up after it was off the air.
#[derive(Clone, Debug, Serialize)]
pub struct CatchUp {
    /// The station.
    pub station: String,
    /// Off the air, s.
    pub start_s: f64,
    /// Back, s.
    pub end_s: f64,
    /// Artifacts it lacked when it came back (issued meanwhile).
    pub missed: usize,
    /// From its return until it held everything the others held then, s (none: never).
    pub caught_up_after_s: Option<f64>,
    /// D_PDU bytes on the air on the station's nets from its return until it had caught up.
    pub bytes: u64,
    /// Those bytes by what the D_PDUs carried.
    pub bytes_by_kind: BTreeMap<String, u64>,
    /// D_PDU bytes of sending it everything it holds, each artifact framed by the link as one
    /// non-ARQ ARTIFACT message, with the repeats the catch-up used (the fan-out rule's on a
    /// shared channel, else one) and no acknowledgements, link set-up or inventory messages:
    /// what resending everything the same way would cost at the least.
    pub resend_everything_bytes: u64,
    /// The same with every artifact sent exactly once (no repeats): a floor no scheme that
    /// resends everything can beat.
    pub resend_everything_once_bytes: u64,
}

/// Per-station counters.
#[derive(Clone, Debug, Serialize)]
pub struct StationRecord {
    /// Its name.
    pub name: String,
    /// Artifacts held at the end.
    pub artifacts: usize,
    /// Node messages handed to its links.
    pub submitted: u64,
    /// Node messages its links delivered to it.
    pub received: u64,
    /// Node messages that expired in a link.
    pub expired: u64,
    /// D_PDUs its radios sent.
    pub frames_sent: u64,
}

/// What a coalition run measured.
#[derive(Clone, Debug, Serialize)]
pub struct CoalitionReport {
    /// The scenario's name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Wall-clock seconds of the event loop.
    pub wall_seconds: f64,
    /// Events processed.
    pub events: u64,
    /// Every station holds the same artifacts at the end.
    pub converged: bool,
    /// Per artifact, who admitted it when.
    pub artifacts: Vec<ArtifactRecord>,
    /// Refusals (forgeries, rollbacks, revoked signers, and artifacts waiting for another).
    pub refusals: Vec<RefusalRecord>,
    /// Per followed decision, per station, its changes.
    pub decisions: BTreeMap<String, BTreeMap<String, Vec<DecisionRecord>>>,
    /// Airtime of D_PDUs by what they carried: the artifact kinds, summary, detail, want,
    /// link (CAS-1, acknowledgements, resets), other; s.
    pub airtime_s_by_kind: BTreeMap<String, f64>,
    /// D_PDU bytes by the same classes.
    pub bytes_by_kind: BTreeMap<String, u64>,
    /// Channel totals.
    pub channel: ChannelTotals,
    /// Station outages and the catch-ups after them.
    pub catch_ups: Vec<CatchUp>,
    /// Per station.
    pub stations: Vec<StationRecord>,
    /// Every D_PDU put on the air: when (s) and the channel time it took (airtime, plus the
    /// preamble and interleaver for the first of a transmission), for figures over a window.
    #[serde(skip)]
    pub air_log: Vec<(f64, f64)>,
}

impl CoalitionReport {
    /// Channel time (D_PDU airtime plus preamble and interleaver) spent from `from_s` to
    /// `until_s`, over all nets.
    pub fn channel_time(&self, from_s: f64, until_s: f64) -> f64 {
        self.air_log
            .iter()
            .filter(|(t, _)| *t >= from_s && *t <= until_s)
            .map(|(_, c)| c)
            .sum()
    }
}

// ------------------------------------------------------------------------------------------
// Frame classes: what a D_PDU carried, for airtime by kind

/// Tracks, per radio, which C_PDU each ARQ sequence number and non-ARQ C_PDU ID carries, so
/// every D_PDU is charged to what its C_PDU carried.
#[derive(Default)]
struct Classifier {
    arq: HashMap<(usize, bool, u8), &'static str>,
    non_arq: HashMap<(usize, bool, u16), &'static str>,
}

/// What a C_PDU carries, from its first bytes.
fn class_of_cpdu(start: &[u8]) -> &'static str {
    let Some(&first) = start.first() else {
        return "link";
    };
    if first >> 4 != 0 {
        return "link"; // CAS-1
    }
    // DATA S_PDU: type|priority, SAPs, flags (0x40: 3 bytes of TTD follow), then the U_PDU.
    let Some(&spdu) = start.get(1) else {
        return "link";
    };
    if spdu >> 4 != 0 {
        return "link"; // delivery confirm or fail
    }
    let ttd = start.get(3).is_some_and(|f| f & 0x40 != 0);
    let updu = start.get(if ttd { 7 } else { 4 }..).unwrap_or_default();
    match updu {
        [1, _, kind, ..] => Kind::from_tag(*kind).map_or("other", kind_name),
        [2, ..] => "summary",
        [3, ..] => "detail",
        [4, ..] => "want",
        _ => "other",
    }
}

impl Classifier {
    fn classify(&mut self, radio: usize, frame: &[u8]) -> &'static str {
        let Ok(f) = Frame::new_checked(frame) else {
            return "other";
        };
        let Ok(d) = Dpdu::parse(&f) else {
            return "other";
        };
        match d.body {
            Body::DataOnly(a) | Body::DataAck(a, _) => {
                self.arq_segment(radio, false, a.tx_seq, a.flags.cpdu_start, a.segment)
            }
            Body::ExpeditedDataOnly(e) => {
                self.arq_segment(radio, true, e.tx_seq, e.cpdu_start, e.segment)
            }
            Body::NonArqData(n) => {
                self.non_arq_segment(radio, false, n.cpdu_id, n.segment_offset, n.segment)
            }
            Body::ExpeditedNonArqData(n) => {
                self.non_arq_segment(radio, true, n.cpdu_id, n.segment_offset, n.segment)
            }
            _ => "link",
        }
    }

    fn arq_segment(
        &mut self,
        radio: usize,
        x: bool,
        seq: u8,
        start: bool,
        seg: &[u8],
    ) -> &'static str {
        let class = if start {
            class_of_cpdu(seg)
        } else if let Some(c) = self.arq.get(&(radio, x, seq)) {
            c
        } else {
            self.arq
                .get(&(radio, x, seq.wrapping_sub(1)))
                .copied()
                .unwrap_or("other")
        };
        if seg.is_empty() {
            return "link"; // a DROP frame
        }
        self.arq.insert((radio, x, seq), class);
        class
    }

    fn non_arq_segment(
        &mut self,
        radio: usize,
        x: bool,
        id: u16,
        offset: u16,
        seg: &[u8],
    ) -> &'static str {
        if offset == 0 {
            let class = class_of_cpdu(seg);
            self.non_arq.insert((radio, x, id), class);
            class
        } else {
            self.non_arq
                .get(&(radio, x, id))
                .copied()
                .unwrap_or("other")
        }
    }
}

// ------------------------------------------------------------------------------------------
// The simulation

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Ev {
    Arrival { radio: usize, frame: Rc<[u8]> },
    Wake { station: usize },
    Publish { index: usize },
    Inject { index: usize },
    Off { station: usize },
    On { station: usize },
}

struct Sim<'a> {
    scenario: &'a CoalitionScenario,
    stations: Vec<SimStation>,
    names: Vec<String>,
    /// Radio index to (station, link).
    radios: Vec<(usize, LinkId)>,
    /// Station to its radios.
    station_radios: Vec<Vec<usize>>,
    air: Air,
    queue: EventQueue<Ev>,
    now: Instant,
    wakes: Vec<Option<Instant>>,
    buf: Vec<u8>,
    publish: Vec<Vec<Vec<u8>>>,
    inject: Vec<Vec<Vec<u8>>>,
    labels: Vec<(String, Vec<CategoryValue>, Domain, u32, u8, Domain)>,
    // Measurements.
    records: Vec<ArtifactRecord>,
    by_digest: HashMap<String, usize>,
    refusals: Vec<RefusalRecord>,
    decisions: BTreeMap<String, BTreeMap<String, Vec<DecisionRecord>>>,
    classifier: Classifier,
    airtime: BTreeMap<String, f64>,
    bytes: BTreeMap<String, u64>,
    /// Every frame's start and channel time (see [`CoalitionReport::air_log`]).
    air_log: Vec<(f64, f64)>,
    /// (time s, net, bytes, class) of every frame put on the air.
    frame_log: Vec<(f64, usize, u64, &'static str)>,
}

/// Wall-clock time of the simulated stations: the sample coalition's `NOW` plus simulated
/// time, so credentials are inside their validity.
fn wall(now: Instant) -> Option<UnixTime> {
    Some(UnixTime(NOW.0 + now.millis() / 1000))
}

impl<'a> Sim<'a> {
    fn new(scenario: &'a CoalitionScenario, seed: u64, capture: bool) -> anyhow::Result<Self> {
        scenario.check()?;
        let net_index = |name: &str| named(&scenario.nets, name, "net", |n| &n.name);
        let station_index = |name: &str| named(&scenario.stations, name, "station", |s| &s.name);
        let c = Coalition::new();
        let mut stations = Vec::new();
        let mut radios = Vec::new();
        let mut air_radios = Vec::new();
        let mut station_radios = Vec::new();
        let mut records: Vec<ArtifactRecord> = Vec::new();
        let mut by_digest = HashMap::new();
        for (s, spec) in scenario.stations.iter().enumerate() {
            let address = Address::new(spec.address).map_err(|e| anyhow!("{}: {e}", spec.name))?;
            let mut trust = TrustStore::new();
            for root in c.roots() {
                trust
                    .add_root(&root, Some(NOW))
                    .map_err(|e| anyhow!("root: {e}"))?;
            }
            let node = Box::new(Node::new(
                scenario.node.config(spec.address),
                trust,
                FixedStorage::new(),
                wall(Instant::ZERO),
            ));
            let mut station: SimStation = Station::new(node, SAP);
            for h in &spec.holds {
                for bytes in artifacts(h)? {
                    let admitted = station
                        .publish(Instant::ZERO, wall(Instant::ZERO), &bytes)
                        .map_err(|e| anyhow!("{} cannot hold {h:?}: {e}", spec.name))?;
                    let digest = admitted.artifact.digest.to_string();
                    let index = *by_digest.entry(digest.clone()).or_insert_with(|| {
                        records.push(ArtifactRecord {
                            label: label_of(&admitted.artifact),
                            kind: kind_name(admitted.artifact.kind).to_string(),
                            digest,
                            origin: spec.name.clone(),
                            published_s: 0.0,
                            admitted_s: BTreeMap::new(),
                            everywhere_after_s: None,
                        });
                        records.len() - 1
                    });
                    if let Some(r) = records.get_mut(index) {
                        r.admitted_s.insert(spec.name.clone(), 0.0);
                    }
                }
            }
            let mut mine = Vec::new();
            for net in &spec.nets {
                let others: Vec<Address> = scenario
                    .stations
                    .iter()
                    .filter(|o| o.name != spec.name && o.nets.contains(net))
                    .filter_map(|o| Address::new(o.address).ok())
                    .collect();
                let link = HostLink::new(scenario.link.config(address, scenario.modem.modem()))
                    .map(Box::new)
                    .map_err(|e| anyhow!("{}: {e}", spec.name))?;
                let id = station
                    .add_link(link, &others)
                    .map_err(|e| anyhow!("{}: {e}", spec.name))?;
                mine.push(radios.len());
                radios.push((s, id));
                air_radios.push(Radio {
                    net: net_index(net)?,
                    station: s,
                });
            }
            // Nothing held at the start is news: drain what publishing reported.
            while station.poll_event().is_some() {}
            stations.push(station);
            station_radios.push(mine);
        }
        let models: Vec<Model> = scenario.nets.iter().map(|n| n.channel).collect();
        let air = Air::new(
            scenario.modem.modem(),
            air_radios,
            &models,
            scenario.stations.len(),
            &scenario.outages,
            &scenario.random_outages,
            scenario.duration_s,
            net_index,
            station_index,
            seed,
            capture,
        )?;
        let publish = scenario
            .publish
            .iter()
            .map(|p| artifacts(&p.artifact))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let inject = scenario
            .inject
            .iter()
            .map(|p| artifacts(&p.artifact))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let mut labels = Vec::new();
        for d in &scenario.decide {
            let categories = d
                .categories
                .iter()
                .map(|&(tag, value)| CategoryValue { tag, value })
                .collect();
            labels.push((
                d.name.clone(),
                categories,
                domain(&d.domain)?,
                d.policy,
                d.classification,
                domain(&d.audience)?,
            ));
        }
        let n = stations.len();
        let mut sim = Sim {
            scenario,
            stations,
            names: scenario.stations.iter().map(|s| s.name.clone()).collect(),
            radios,
            station_radios,
            air,
            queue: EventQueue::default(),
            now: Instant::ZERO,
            wakes: vec![None; n],
            buf: vec![0; MAX_DPDU_LEN],
            publish,
            inject,
            labels,
            records,
            by_digest,
            refusals: Vec::new(),
            decisions: BTreeMap::new(),
            classifier: Classifier::default(),
            airtime: BTreeMap::new(),
            bytes: BTreeMap::new(),
            frame_log: Vec::new(),
            air_log: Vec::new(),
        };
        for (index, p) in scenario.publish.iter().enumerate() {
            sim.queue.push(instant(p.at_s), Ev::Publish { index });
        }
        for (index, p) in scenario.inject.iter().enumerate() {
            sim.queue.push(instant(p.at_s), Ev::Inject { index });
        }
        for o in &scenario.outages {
            if let Some(name) = &o.node {
                let station = station_index(name)?;
                sim.queue.push(instant(o.start_s), Ev::Off { station });
                sim.queue.push(instant(o.end_s), Ev::On { station });
            }
        }
        for s in 0..n {
            sim.decide(s);
            let links = sim.stations.get(s).map_or(0, |st| st.links());
            for l in 0..links {
                if let Some(st) = sim.stations.get_mut(s) {
                    st.link_up(Instant::ZERO, wall(Instant::ZERO), LinkId(l as u8))
                        .map_err(|e| anyhow!("{e}"))?;
                }
            }
            sim.service(s);
        }
        Ok(sim)
    }

    fn name(&self, s: usize) -> String {
        self.names.get(s).cloned().unwrap_or_default()
    }

    fn run(mut self, progress: bool) -> anyhow::Result<(CoalitionReport, Vec<u8>)> {
        let end = instant(self.scenario.duration_s);
        let mut progress = Progress::start(progress, end);
        while let Some((at, ev)) = self.queue.pop_until(end) {
            self.now = at;
            progress.event(at);
            match ev {
                Ev::Arrival { radio, frame } => {
                    let Some(&(s, link)) = self.radios.get(radio) else {
                        continue;
                    };
                    if !self.air.hears(radio, at) {
                        continue;
                    }
                    if let Some(st) = self.stations.get_mut(s) {
                        let _ = st.handle_input(at, wall(at), link, &frame);
                    }
                    self.service(s);
                }
                Ev::Wake { station } => {
                    if self.wakes.get(station).copied().flatten() != Some(at) {
                        continue;
                    }
                    if let Some(w) = self.wakes.get_mut(station) {
                        *w = None;
                    }
                    if let Some(st) = self.stations.get_mut(station) {
                        st.handle_timeout(at, wall(at));
                    }
                    self.service(station);
                }
                Ev::Publish { index } => {
                    let spec = self.scenario.publish.get(index).context("publish")?;
                    let s = named(&self.names, &spec.station, "station", |n| n)?;
                    for bytes in self.publish.get(index).cloned().unwrap_or_default() {
                        let digest = skywave_protocol::policy::Digest::of(&bytes).to_string();
                        let what = describe(&bytes).ok();
                        self.record(&digest, what.as_ref(), &spec.station, secs(at));
                        if let Some(st) = self.stations.get_mut(s) {
                            let _ = st.publish(at, wall(at), &bytes);
                        }
                    }
                    self.service(s);
                }
                Ev::Inject { index } => {
                    let spec = self.scenario.inject.get(index).context("inject")?;
                    let s = named(&self.names, &spec.station, "station", |n| n)?;
                    let from = self
                        .scenario
                        .stations
                        .iter()
                        .find(|o| o.name == spec.from)
                        .and_then(|o| Address::new(o.address).ok())
                        .context("from")?;
                    for bytes in self.inject.get(index).cloned().unwrap_or_default() {
                        self.inject_artifact(s, from, &bytes)?;
                    }
                    self.service(s);
                }
                Ev::Off { station } => {
                    for l in 0..self.stations.get(station).map_or(0, |s| s.links()) {
                        if let Some(st) = self.stations.get_mut(station) {
                            let _ = st.link_down(at, LinkId(l as u8));
                        }
                    }
                    self.service(station);
                }
                Ev::On { station } => {
                    for l in 0..self.stations.get(station).map_or(0, |s| s.links()) {
                        if let Some(st) = self.stations.get_mut(station) {
                            let _ = st.link_up(at, wall(at), LinkId(l as u8));
                        }
                    }
                    self.service(station);
                }
            }
        }
        let (events, wall_seconds) = progress.finish();
        Ok(self.finish(events, wall_seconds))
    }

    /// Hands `bytes` to station `s`'s node as an ARTIFACT message from `from`, through a
    /// throwaway link so it arrives exactly as one from the air would.
    fn inject_artifact(&mut self, s: usize, from: Address, bytes: &[u8]) -> anyhow::Result<()> {
        let mut message = vec![1u8];
        message.extend_from_slice(bytes);
        let st = self.stations.get_mut(s).context("station")?;
        // The node's own entry point: what a link delivers on the Skywave SAP.
        let _ = st
            .node_mut()
            .handle_message(self.now, wall(self.now), from, &message);
        Ok(())
    }

    fn record(&mut self, digest: &str, artifact: Option<&ArtifactRef>, origin: &str, at: f64) {
        if self.by_digest.contains_key(digest) {
            return;
        }
        let (label, kind) = match artifact {
            Some(a) => (label_of(a), kind_name(a.kind).to_string()),
            None => (String::new(), String::new()),
        };
        self.records.push(ArtifactRecord {
            label,
            kind,
            digest: digest.to_string(),
            origin: origin.to_string(),
            published_s: at,
            admitted_s: BTreeMap::new(),
            everywhere_after_s: None,
        });
        self.by_digest
            .insert(digest.to_string(), self.records.len() - 1);
    }

    /// Lets station `s` transmit, takes its events, and arms its timer.
    fn service(&mut self, s: usize) {
        let now = self.now;
        let radios = self.station_radios.get(s).cloned().unwrap_or_default();
        for radio in radios {
            let Some(&(_, link)) = self.radios.get(radio) else {
                continue;
            };
            while let Some(t) = self
                .stations
                .get_mut(s)
                .and_then(|st| st.poll_transmit(now, link, &mut self.buf))
            {
                let frame: Rc<[u8]> = Rc::from(self.buf.get(..t.len).unwrap_or(&[]));
                let class = self.classifier.classify(radio, &frame);
                let air = secs(Instant::ZERO + self.scenario.modem.modem().airtime(t.len));
                *self.airtime.entry(class.to_string()).or_default() += air;
                *self.bytes.entry(class.to_string()).or_default() += t.len as u64;
                let net = self.air_net(radio);
                self.frame_log
                    .push((secs(t.on_air), net, t.len as u64, class));
                let modem = self.scenario.modem.modem();
                let mut channel = modem.airtime(t.len).millis();
                if t.first {
                    channel += modem.overhead().millis();
                }
                self.air_log.push((secs(t.on_air), channel as f64 / 1000.0));
                let (arrival, deliveries) = self.air.send(radio, &t, &frame);
                for to in deliveries {
                    self.queue.push(
                        arrival,
                        Ev::Arrival {
                            radio: to,
                            frame: frame.clone(),
                        },
                    );
                }
            }
        }
        self.take_events(s);
        let next = self.stations.get(s).and_then(|st| st.poll_timeout());
        if let Some(t) = next {
            // The station's timer contract: at or before now only when work is due, which
            // serving it clears, so a wake-up at `now` cannot repeat forever.
            let t = t.max(now);
            if self.wakes.get(s).copied().flatten() != Some(t) {
                if let Some(w) = self.wakes.get_mut(s) {
                    *w = Some(t);
                }
                self.queue.push(t, Ev::Wake { station: s });
            }
        }
    }

    fn air_net(&self, radio: usize) -> usize {
        let (s, link) = self.radios.get(radio).copied().unwrap_or((0, LinkId(0)));
        let spec = self.scenario.stations.get(s);
        spec.and_then(|sp| sp.nets.get(usize::from(link.0)))
            .and_then(|n| self.scenario.nets.iter().position(|x| x.name == *n))
            .unwrap_or(0)
    }

    fn take_events(&mut self, s: usize) {
        let at = secs(self.now);
        let name = self.name(s);
        let mut admitted = false;
        // Only the node's events are recorded: they borrow nothing from the station.
        let node_event = |e: StationEvent<'_>| match e {
            StationEvent::Node(n) => Some(n),
            _ => None,
        };
        while let Some(e) = self
            .stations
            .get_mut(s)
            .and_then(|st| st.poll_event().map(node_event))
        {
            match e {
                Some(NodeEvent::Admitted { artifact, from }) => {
                    admitted = true;
                    let digest = artifact.digest.to_string();
                    let origin = from.map_or(name.clone(), |f| f.to_string());
                    self.record(&digest, Some(&artifact), &origin, at);
                    if let Some(r) = self
                        .by_digest
                        .get(&digest)
                        .and_then(|&i| self.records.get_mut(i))
                    {
                        if r.label.is_empty() {
                            r.label = label_of(&artifact);
                            r.kind = kind_name(artifact.kind).to_string();
                        }
                        r.admitted_s.entry(name.clone()).or_insert(at);
                    }
                }
                Some(NodeEvent::Refused { refusal, from }) => {
                    let from = from.map(|f| {
                        self.scenario
                            .stations
                            .iter()
                            .find(|o| o.address == f.value())
                            .map_or(f.to_string(), |o| o.name.clone())
                    });
                    self.refusals.push(RefusalRecord {
                        station: name.clone(),
                        at_s: at,
                        from,
                        refusal: refusal.to_string(),
                    });
                }
                _ => {}
            }
        }
        if admitted {
            self.decide(s);
        }
    }

    /// Evaluates every followed decision at station `s` and records those that changed.
    fn decide(&mut self, s: usize) {
        let name = self.name(s);
        let Some(st) = self.stations.get(s) else {
            return;
        };
        for (label_name, categories, dom, policy, class, audience) in &self.labels {
            let label = Label {
                domain: *dom,
                policy: *policy,
                classification: *class,
                categories,
            };
            let d = st.node().decide(&label, *audience, wall(self.now));
            let record = DecisionRecord {
                at_s: secs(self.now),
                verdict: match d.verdict {
                    Verdict::Release => "release".into(),
                    Verdict::Deny(why) => format!("deny: {why:?}"),
                },
                basis: match d.basis {
                    Basis::SameDomain => "same_domain".into(),
                    Basis::Translated => "translated".into(),
                    Basis::HomeOnly => "home_only".into(),
                    Basis::HomeOnlyTranslatorRevoked(_) => "home_only_translator_revoked".into(),
                },
                translator: d.lineage.translator.as_ref().map(label_of),
                spiral_gap: d
                    .lineage
                    .spiral_gap
                    .map(|g| format!("{} -> {}", g.from, g.to)),
                revocations: d
                    .lineage
                    .revocation_seqs
                    .iter()
                    .filter(|(_, seq)| *seq > 0)
                    .map(|(dom, seq)| format!("{dom} {seq}"))
                    .collect(),
            };
            let history = self
                .decisions
                .entry(label_name.clone())
                .or_default()
                .entry(name.clone())
                .or_default();
            let changed = history.last().is_none_or(|last| {
                (
                    &last.verdict,
                    &last.basis,
                    &last.translator,
                    &last.revocations,
                ) != (
                    &record.verdict,
                    &record.basis,
                    &record.translator,
                    &record.revocations,
                )
            });
            if changed {
                history.push(record);
            }
        }
    }

    fn held(&self, s: usize) -> Vec<String> {
        let Some(st) = self.stations.get(s) else {
            return Vec::new();
        };
        let storage = st.node().storage();
        let mut held: Vec<String> = (0..skywave_protocol::node::Storage::len(storage))
            .filter_map(|i| {
                skywave_protocol::node::Storage::get(storage, i).map(|(a, _)| a.digest.to_string())
            })
            .collect();
        held.sort();
        held
    }

    fn finish(mut self, events: u64, wall_seconds: f64) -> (CoalitionReport, Vec<u8>) {
        let names = self.names.clone();
        for r in &mut self.records {
            if names.iter().all(|n| r.admitted_s.contains_key(n)) {
                let last = r.admitted_s.values().copied().fold(0.0, f64::max);
                r.everywhere_after_s = Some(last - r.published_s);
            }
        }
        let sets: Vec<Vec<String>> = (0..names.len()).map(|s| self.held(s)).collect();
        let converged = sets.windows(2).all(|w| w.first() == w.get(1));
        let mut catch_ups = Vec::new();
        for o in &self.scenario.outages {
            let Some(name) = &o.node else {
                continue;
            };
            let Some(s) = names.iter().position(|n| n == name) else {
                continue;
            };
            let back = o.end_s;
            // What the others held when it came back, by when each was admitted anywhere, and
            // still hold at the end: revocation deltas a checkpoint has replaced since are
            // not missed, the checkpoint is.
            let held_at_end: Vec<String> = sets.iter().flatten().cloned().collect();
            let missed: Vec<&ArtifactRecord> = self
                .records
                .iter()
                .filter(|r| {
                    let elsewhere = r.admitted_s.iter().any(|(n, &t)| n != name && t <= back);
                    let here = r.admitted_s.get(name).is_some_and(|&t| t <= back);
                    let replaced = r.kind == "revocation" && !held_at_end.contains(&r.digest);
                    elsewhere && !here && !replaced
                })
                .collect();
            let caught_up_at = missed
                .iter()
                .map(|r| r.admitted_s.get(name).copied())
                .try_fold(back, |acc, t| t.map(|t| acc.max(t)));
            let nets: Vec<usize> = self
                .station_radios
                .get(s)
                .map(|rs| rs.iter().map(|&r| self.air_net(r)).collect())
                .unwrap_or_default();
            let until = caught_up_at.unwrap_or(self.scenario.duration_s);
            let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
            for (_, _, b, class) in self
                .frame_log
                .iter()
                .filter(|(t, net, _, _)| *t >= back && *t <= until && nets.contains(net))
            {
                *by_kind.entry((*class).to_string()).or_default() += b;
            }
            let bytes = by_kind.values().sum();
            let modem = self.scenario.modem.modem();
            // Sent the way the catch-up sent what was missed: on a channel shared by two or
            // more neighbours, non-ARQ with the rule's repeats.
            let node = &self.scenario.node;
            let shared = self.scenario.stations.get(s).is_some_and(|me| {
                me.nets.iter().any(|net| {
                    self.scenario
                        .stations
                        .iter()
                        .filter(|o| o.nets.contains(net))
                        .count()
                        >= 3
                })
            });
            let repeats = if shared && !node.fanout_arq_when_shared && node.fanout_min_lacking > 0 {
                u64::from(node.fanout_repeats)
            } else {
                1
            };
            let once = self.stations.get(s).map_or(0, |st| {
                let storage = st.node().storage();
                (0..skywave_protocol::node::Storage::len(storage))
                    .filter_map(|i| skywave_protocol::node::Storage::get(storage, i))
                    .filter_map(|(_, b)| frame_lengths(modem, b, false).ok())
                    .flatten()
                    .map(|len| len as u64)
                    .sum()
            });
            let resend = repeats * once;
            catch_ups.push(CatchUp {
                station: name.clone(),
                start_s: o.start_s,
                end_s: back,
                missed: missed.len(),
                caught_up_after_s: caught_up_at.map(|t| t - back),
                bytes,
                bytes_by_kind: by_kind,
                resend_everything_bytes: resend,
                resend_everything_once_bytes: once,
            });
        }
        let stations = self
            .stations
            .iter()
            .enumerate()
            .map(|(s, st)| {
                let stats = st.stats();
                let frames_sent = (0..st.links())
                    .filter_map(|l| st.link(LinkId(l as u8)))
                    .map(|l| l.stats().frames_sent)
                    .sum();
                StationRecord {
                    name: names.get(s).cloned().unwrap_or_default(),
                    artifacts: sets.get(s).map_or(0, Vec::len),
                    submitted: stats.submitted,
                    received: stats.received,
                    expired: stats.expired,
                    frames_sent,
                }
            })
            .collect();
        let mut channel = self.air.totals.clone();
        channel.busy_fraction = (channel.airtime_s + channel.overhead_s)
            / (self.scenario.duration_s * self.scenario.nets.len().max(1) as f64);
        let report = CoalitionReport {
            scenario: self.scenario.name.clone(),
            seed: 0,
            duration_s: self.scenario.duration_s,
            wall_seconds,
            events,
            converged,
            artifacts: self.records,
            refusals: self.refusals,
            decisions: self.decisions,
            airtime_s_by_kind: self.airtime,
            bytes_by_kind: self.bytes,
            channel,
            catch_ups,
            stations,
            air_log: self.air_log,
        };
        (report, self.air.take_capture())
    }
}

/// Runs a coalition scenario: the report and, if asked, the pcap capture.
pub fn run(
    scenario: &CoalitionScenario,
    seed: u64,
    capture: bool,
    progress: bool,
) -> anyhow::Result<(CoalitionReport, Vec<u8>)> {
    let (mut report, pcap) = Sim::new(scenario, seed, capture)?.run(progress)?;
    report.seed = seed;
    Ok((report, pcap))
}

impl CoalitionReport {
    /// The record of the artifact with this label.
    pub fn artifact(&self, label: &str) -> Option<&ArtifactRecord> {
        self.artifacts.iter().find(|a| a.label == label)
    }

    /// The run's figure as SVG ([`super::plot::coalition`]).
    pub fn svg(&self) -> String {
        super::plot::coalition(self)
    }
}

/// The D_PDU lengths of `artifact` sent once as an ARTIFACT message, non-ARQ (expedited if
/// asked), as a station's link frames it: what carrying it costs at the least.
pub fn frame_lengths(modem: Modem, artifact: &[u8], expedited: bool) -> anyhow::Result<Vec<usize>> {
    let mut updu = vec![1u8];
    updu.extend_from_slice(artifact);
    let me = Address::new(1).map_err(|e| anyhow!("{e}"))?;
    let peer = Address::new(2).map_err(|e| anyhow!("{e}"))?;
    let mut link = Box::new(HostLink::new(LinkConfig::new(me, modem)).map_err(|e| anyhow!("{e}"))?);
    let mode = if expedited {
        Mode::ExpeditedNonArq { repeats: 1 }
    } else {
        Mode::NonArq { repeats: 1 }
    };
    link.submit(
        Instant::ZERO,
        &LinkMessage {
            dest: peer,
            header: SpduHeader {
                priority: if expedited { 15 } else { 8 },
                src_sap: SAP,
                dest_sap: SAP,
            },
            mode,
            confirm: false,
            ttd: Instant::ZERO + Duration::from_secs(3600),
            data: &updu,
        },
    )
    .map_err(|e| anyhow!("{e}"))?;
    let mut buf = vec![0u8; MAX_DPDU_LEN];
    let mut lengths = Vec::new();
    while let Some(t) = link.poll_transmit(Instant::ZERO, &mut buf) {
        lengths.push(t.len);
    }
    Ok(lengths)
}

// ------------------------------------------------------------------------------------------
// The chain

/// The chain's parameters: a line of `hops + 1` stations, one point-to-point net per hop.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Chain {
    /// Hops (stations - 1).
    pub hops: usize,
    /// Modem bit rate, bit/s.
    pub bit_rate: u32,
    /// Bernoulli D_PDU loss on every net.
    pub loss: f64,
    /// Turnaround, ms.
    pub turnaround_ms: u64,
    /// When the revocation is published, s (the links have gone idle by then).
    pub publish_s: f64,
    /// How long to simulate, s.
    pub duration_s: f64,
}

impl Chain {
    /// The benchmark's chain: `hops` hops at 2400 bit/s, 10 % loss, 0.2 s turnaround.
    pub fn bench(hops: usize) -> Self {
        Chain {
            hops,
            bit_rate: 2400,
            loss: 0.10,
            turnaround_ms: 200,
            publish_s: 300.0,
            duration_s: 3600.0,
        }
    }

    /// The revocation published at the first station.
    pub fn revocation() -> ArtifactSpec {
        ArtifactSpec::Revocation {
            domain: "GBR".into(),
            seq: 1,
            translator: Some(1),
            policy: None,
            key: None,
        }
    }

    /// The chain as a scenario (every station holds the coalition; the revocation goes out
    /// at `publish_s` from station `s0`).
    pub fn scenario(&self, node: NodeSpec) -> CoalitionScenario {
        let modem = ModemSpec {
            bit_rate: self.bit_rate,
            turnaround_ms: self.turnaround_ms,
            ..ModemSpec::default()
        };
        let net = |k: usize| format!("hop{k}");
        let stations = (0..=self.hops)
            .map(|k| {
                let mut nets = Vec::new();
                if k > 0 {
                    nets.push(net(k - 1));
                }
                if k < self.hops {
                    nets.push(net(k));
                }
                StationSpec {
                    name: format!("s{k}"),
                    address: k as u32 + 1,
                    nets,
                    holds: vec![ArtifactSpec::Coalition { domain: None }],
                }
            })
            .collect();
        CoalitionScenario {
            name: format!(
                "chain-{}-hops-{}bps-loss{}-ta{}ms",
                self.hops, self.bit_rate, self.loss, self.turnaround_ms
            ),
            duration_s: self.duration_s,
            modem,
            link: LinkSpec::default(),
            node,
            stations,
            nets: (0..self.hops)
                .map(|k| NetSpec {
                    name: net(k),
                    channel: if self.loss > 0.0 {
                        Model::Bernoulli { p: self.loss }
                    } else {
                        Model::Clean
                    },
                })
                .collect(),
            outages: Vec::new(),
            random_outages: Vec::new(),
            publish: vec![PublishSpec {
                at_s: self.publish_s,
                station: "s0".into(),
                artifact: Chain::revocation(),
            }],
            inject: Vec::new(),
            decide: Vec::new(),
        }
    }

    /// The lower bound on the revocation's trip with no loss: per hop, the airtime of the
    /// D_PDUs that carry it once (as the first station's link frames it), the modem's preamble
    /// and interleaver, and one turnaround.
    pub fn limit_s(&self) -> anyhow::Result<f64> {
        let modem = ModemSpec {
            bit_rate: self.bit_rate,
            turnaround_ms: self.turnaround_ms,
            ..ModemSpec::default()
        }
        .modem();
        let bytes = artifacts(&Chain::revocation())?
            .into_iter()
            .next()
            .context("revocation")?;
        let airtime_ms: u64 = frame_lengths(modem, &bytes, true)?
            .into_iter()
            .map(|len| modem.airtime(len).millis())
            .sum();
        let hop_ms = airtime_ms + modem.overhead().millis() + modem.turnaround.millis();
        Ok(self.hops as f64 * hop_ms as f64 / 1000.0)
    }

    /// Runs the chain with `seed`: seconds from publication until the last station admitted
    /// the revocation (`None`: it did not within the run), and the report.
    pub fn run(&self, node: NodeSpec, seed: u64) -> anyhow::Result<(Option<f64>, CoalitionReport)> {
        let scenario = self.scenario(node);
        let (report, _) = run(&scenario, seed, false, false)?;
        let bytes = artifacts(&Chain::revocation())?;
        let digest =
            skywave_protocol::policy::Digest::of(bytes.first().context("revocation")?).to_string();
        let t = report
            .artifacts
            .iter()
            .find(|a| a.digest == digest)
            .and_then(|a| a.everywhere_after_s);
        Ok((t, report))
    }
}

impl Chain {
    /// The revocation's trip time for seeds `seed..seed + seeds`, sorted; a revocation that
    /// never arrived counts as the rest of the run.
    pub fn times(&self, node: NodeSpec, seed: u64, seeds: u64) -> anyhow::Result<Vec<f64>> {
        let mut times = Vec::new();
        for s in seed..seed + seeds {
            let (t, _) = self.run(node, s)?;
            times.push(t.unwrap_or(self.duration_s - self.publish_s));
        }
        times.sort_by(f64::total_cmp);
        Ok(times)
    }

    /// An SVG of the distributions (CDF) of trip times `runs` (a name and sorted times each),
    /// with the no-loss `limit` and twice it marked.
    pub fn svg(&self, runs: &[(&str, Vec<f64>)], limit: f64) -> String {
        let xmax = runs
            .iter()
            .flat_map(|(_, t)| t.last().copied())
            .fold(2.2 * limit, f64::max);
        let mut lines: Vec<Line> = runs
            .iter()
            .map(|(name, times)| Line {
                name: format!("{name} (median {:.1} s)", quantile(times, 0.5)),
                points: super::plot::cdf(times),
            })
            .collect();
        lines.push(Line {
            name: format!("limit {limit:.2} s and 2 x limit"),
            points: vec![
                (limit, 0.0),
                (limit, 1.0),
                (2.0 * limit, 1.0),
                (2.0 * limit, 0.0),
            ],
        });
        let title = format!(
            "revocation across {} hops, {} bit/s, {} % loss, {} ms turnaround: time to the far end (CDF)",
            self.hops,
            self.bit_rate,
            self.loss * 100.0,
            self.turnaround_ms
        );
        let panel = Panel {
            x: "seconds from publication".into(),
            y: "share of seeds".into(),
            xmax,
            ymax: 1.0,
            lines,
        };
        super::plot::panels(&title, &[panel])
    }
}

/// The `q` quantile of sorted `v` (nearest rank); NaN when empty.
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v.get(rank - 1).copied().unwrap_or(f64::NAN)
}
