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
//!
//! Here: the stations and the event loop that runs them ([`run`]). Beside it, one concept a
//! file: `scenario` (the TOML), `artifacts` (what is published), `report` (what is measured),
//! `classify` (what each frame on the air carried) and `chain` (the chain scenario).

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use anyhow::{Context, anyhow, bail, ensure};
use serde::{Deserialize, Serialize};
use skywave_protocol::link::{
    Config as LinkConfig, HostLink, Message as LinkMessage, Mode, Modem, SpduHeader,
};
use skywave_protocol::node::message::tag;
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

mod artifacts;
mod chain;
mod classify;
mod report;
mod scenario;
mod traffic;

pub use artifacts::artifacts;
use artifacts::{describe, kind_name, label_of};
pub use chain::{Chain, quantile};
pub(crate) use classify::Classifier;
pub use report::{
    ArtifactRecord, CatchUp, CoalitionReport, DecisionRecord, RefusalRecord, StationRecord,
};
use scenario::domain;
pub use scenario::{
    ArtifactSpec, CoalitionScenario, DecideSpec, InjectSpec, NodeSpec, PublishSpec, StationSpec,
};
pub use traffic::{GUARD_SAP, LabelSpec, MessageRecord, MessageSpec, VerdictRecord};

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
    skywave_protocol::policy::MAX_DOMAINS,
);

type SimNode = Node<FixedStorage<STORAGE>>;
type SimStation = Station<Box<SimNode>, Box<HostLink>, MAX_RADIOS>;

#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Ev {
    Arrival { radio: usize, frame: Rc<[u8]> },
    Wake { station: usize },
    Publish { index: usize },
    Inject { index: usize },
    Off { station: usize },
    On { station: usize },
    Message { index: usize },
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
    /// Per `[[message]]`: its compact label (none: plain client data).
    message_labels: Vec<Option<Vec<u8>>>,
    messages: Vec<MessageRecord>,
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
    /// Sees every station's events as `poll_event` returns them ([`run_observed`]).
    observer: Option<Observer<'a>>,
}

/// What [`run_observed`] calls with each event: the station's index, and the event.
pub type Observer<'a> = &'a mut dyn FnMut(usize, &StationEvent<'_>);

/// Wall-clock time of the simulated stations: the sample coalition's `NOW` plus simulated
/// time, so credentials are inside their validity.
fn wall(now: Instant) -> Option<UnixTime> {
    Some(UnixTime(NOW.0 + now.millis() / 1000))
}

impl<'a> Sim<'a> {
    fn new(
        scenario: &'a CoalitionScenario,
        seed: u64,
        capture: bool,
        observer: Option<Observer<'a>>,
    ) -> anyhow::Result<Self> {
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
        // Every nation's stations hold every guarded station's node credential from the
        // start, as they hold the roots: provisioned, not sent.
        let mut node_credentials = Vec::new();
        for (s, spec) in scenario.stations.iter().enumerate() {
            if let Some(code) = &spec.domain {
                node_credentials.push(traffic::node_credential(
                    &c,
                    s,
                    spec.address,
                    domain(code)?,
                )?);
            }
        }
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
            if spec.domain.is_some() {
                for cred in &node_credentials {
                    station
                        .publish(Instant::ZERO, wall(Instant::ZERO), cred)
                        .map_err(|e| anyhow!("{}: node credential: {e}", spec.name))?;
                }
                traffic::enable(&mut station, s, address);
            }
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
        let message_labels = scenario
            .messages
            .iter()
            .map(|m| m.label.as_ref().map(LabelSpec::compact).transpose())
            .collect::<anyhow::Result<Vec<_>>>()?;
        let messages = scenario
            .messages
            .iter()
            .zip(&message_labels)
            .map(|(m, label)| MessageRecord {
                name: m.name.clone(),
                from: m.from.clone(),
                to: m.to.clone(),
                label: label
                    .as_deref()
                    .map(|l| skywave_protocol::codec::Hex(l).to_string())
                    .unwrap_or_default(),
                digest: skywave_protocol::policy::Digest::of(m.name.as_bytes()).to_string(),
                submitted_s: m.at_s,
                sender: None,
                receiver: None,
            })
            .collect();
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
            message_labels,
            messages,
            records,
            by_digest,
            refusals: Vec::new(),
            decisions: BTreeMap::new(),
            classifier: Classifier::default(),
            airtime: BTreeMap::new(),
            bytes: BTreeMap::new(),
            frame_log: Vec::new(),
            air_log: Vec::new(),
            observer,
        };
        for (index, p) in scenario.publish.iter().enumerate() {
            sim.queue.push(instant(p.at_s), Ev::Publish { index });
        }
        for (index, p) in scenario.inject.iter().enumerate() {
            sim.queue.push(instant(p.at_s), Ev::Inject { index });
        }
        for (index, m) in scenario.messages.iter().enumerate() {
            sim.queue.push(instant(m.at_s), Ev::Message { index });
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
                Ev::Message { index } => self.submit_message(index)?,
            }
        }
        let (events, wall_seconds) = progress.finish();
        Ok(self.finish(events, wall_seconds))
    }

    /// Submits `[[message]]` `index` to its station's guard, on the radio whose net reaches
    /// its destination.
    fn submit_message(&mut self, index: usize) -> anyhow::Result<()> {
        let spec = self.scenario.messages.get(index).context("message")?;
        let s = named(&self.names, &spec.from, "station", |n| n)?;
        let to = named(&self.names, &spec.to, "station", |n| n)?;
        let (from_spec, to_spec) = (&self.scenario.stations[s], &self.scenario.stations[to]);
        let link = from_spec
            .nets
            .iter()
            .position(|n| to_spec.nets.contains(n))
            .with_context(|| format!("message {}: {} is no neighbour", spec.name, spec.to))?;
        let dest = Address::new(to_spec.address).map_err(|e| anyhow!("{e}"))?;
        let label = self.message_labels.get(index).context("label")?;
        let data = spec.name.as_bytes();
        let now = self.now;
        let st = self.stations.get_mut(s).context("station")?;
        let message = traffic::message(dest, data, now);
        let submitted = match label {
            Some(label) => st
                .submit_labelled(now, LinkId(link as u8), &message, label)
                .map(|_| ()),
            None => st.submit(now, LinkId(link as u8), &message).map(|_| ()),
        };
        // A refusal comes as a guard report too (filed in take_events); anything else
        // (no room, link down) never reached the guard's decision.
        if let Err(e) = submitted
            && !matches!(e, skywave_protocol::station::StationError::Guard(_))
            && let Some(record) = self.messages.get_mut(index)
        {
            record.sender = Some(VerdictRecord {
                at_s: secs(now),
                verdict: "not_submitted".into(),
                reason: Some(e.to_string()),
                basis: None,
                policy: None,
                translator: None,
                revocations: Vec::new(),
                seq: 0,
            });
        }
        self.service(s);
        Ok(())
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
        // Only the node's events and the guard's reports are recorded (owned, so they borrow
        // nothing from the station).
        let owned = |e: StationEvent<'_>| match e {
            StationEvent::Node(n) => Some(Ok(n)),
            StationEvent::Guard(r) => Some(Err(Box::new(r.clone()))),
            _ => None,
        };
        while let Some(e) = {
            let Sim {
                stations, observer, ..
            } = &mut *self;
            stations.get_mut(s).and_then(|st| {
                st.poll_event().map(|e| {
                    if let Some(observe) = observer.as_mut() {
                        observe(s, &e);
                    }
                    owned(e)
                })
            })
        } {
            let e = match e {
                Some(Err(report)) => {
                    traffic::file(&mut self.messages, &report, at);
                    continue;
                }
                Some(Ok(n)) => Some(n),
                None => None,
            };
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
                basis: traffic::basis(&d.basis).into(),
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
            messages: self.messages,
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
    let (mut report, pcap) = Sim::new(scenario, seed, capture, None)?.run(progress)?;
    report.seed = seed;
    Ok((report, pcap))
}

/// Runs a coalition scenario as [`run`] does (no capture), showing `observer` every event of
/// every station in the order each station reported them: what the drivers' test
/// (`tools/tests/drivers.rs`) compares with the other drivers'.
pub fn run_observed<'a>(
    scenario: &'a CoalitionScenario,
    seed: u64,
    observer: Observer<'a>,
) -> anyhow::Result<CoalitionReport> {
    let sim = Sim::new(scenario, seed, false, Some(observer))?;
    let (mut report, _) = sim.run(false)?;
    report.seed = seed;
    Ok(report)
}

impl CoalitionReport {
    /// The record of the artifact with this label.
    pub fn artifact(&self, label: &str) -> Option<&ArtifactRecord> {
        self.artifacts.iter().find(|a| a.label == label)
    }

    /// The run's figure as SVG ([`crate::sim::plot::coalition`]).
    pub fn svg(&self) -> String {
        crate::sim::plot::coalition(self)
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
