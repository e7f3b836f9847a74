//! `skywave-sim`: a discrete-event simulator of HF networks running the real link code.
//!
//! Every node is a [`skywave_protocol::link::HostLink`], the same state machine the host agent
//! and the firmware drive. Time is virtual: the simulator keeps one queue of events (frame
//! arrivals, link timeouts, message submissions) and jumps from one to the next, so idle
//! airtime costs nothing and a day of a 50-node network runs in seconds. Everything random
//! comes from ChaCha8 streams derived from one seed (SplitMix64 per channel and per outage
//! process), and ties between simultaneous events are broken by insertion order, so one seed
//! reproduces a run exactly.
//!
//! - [`channel`]: frame loss models and the CCIR-derived fading presets.
//! - [`events`]: the event queue and a run's progress, shared with [`coalition`].
//! - [`scenario`]: the TOML scenario format.
//! - [`report`]: what a run measured, as JSON, and its SVG plot.
//! - [`plot`]: the coalition run's figure, drawn with plotters.
//! - [`bench`](mod@bench): the fixed benchmark behind `skywave-sim bench`.
//! - [`setup`]: link set-up time with each FULL RESET placement (`skywave-sim setup`).

pub mod air;
pub mod bench;
pub mod channel;
pub mod coalition;
pub mod events;
pub mod fanout;
pub mod hostile;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod setup;
pub mod sync_bench;

use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use anyhow::{Context, anyhow};
use skywave_protocol::link::{Event, HostLink, Message, Mode, SpduHeader};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, MAX_DPDU_LEN};

use air::{Air, Radio};
use events::{EventQueue, Progress};
use report::{MessageRecord, Report};
use scenario::{Scenario, ScenarioFile, TrafficMode};

/// How to run a scenario.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// The seed every random stream derives from.
    pub seed: u64,
    /// Record every D_PDU put on the air as a pcap capture.
    pub capture: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// SplitMix64: derives independent sub-seeds from the run's seed.
pub fn split_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed
        .wrapping_add(a.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(b.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What happens at an instant.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Ev {
    /// A frame reaches a node's link.
    Arrival { node: usize, frame: Rc<[u8]> },
    /// A node's link asked to be woken.
    Wake { node: usize },
    /// A node has a message due.
    Submit { node: usize },
}

/// A message waiting to be handed to its sender's link.
#[derive(Clone, Debug)]
struct Pending {
    at: Instant,
    number: u64,
    traffic: usize,
}

struct Node {
    link: Box<HostLink>,
    net: usize,
    /// Messages due, in time order.
    pending: VecDeque<Pending>,
    /// The link's message ids, mapped to our message numbers.
    ids: HashMap<u32, u64>,
    /// The wake-up already queued.
    wake: Option<Instant>,
    /// The submission event already queued.
    submit_at: Option<Instant>,
}

/// A simulation in progress.
pub struct Sim<'a> {
    scenario: &'a Scenario,
    opts: Options,
    nodes: Vec<Node>,
    air: Air,
    queue: EventQueue<Ev>,
    now: Instant,
    report: Report,
    buf: Vec<u8>,
}

/// Seconds as protocol time.
pub fn instant(secs: f64) -> Instant {
    Instant::from_millis((secs * 1000.0).round().max(0.0) as u64)
}

/// Protocol time as seconds.
pub fn secs(t: Instant) -> f64 {
    t.millis() as f64 / 1000.0
}

/// The index of the item called `name`.
pub(crate) fn named<T>(
    items: &[T],
    name: &str,
    what: &str,
    name_of: impl Fn(&T) -> &String,
) -> anyhow::Result<usize> {
    items
        .iter()
        .position(|i| name_of(i) == name)
        .ok_or_else(|| anyhow!("unknown {what} {name}"))
}

/// The SAP every simulated client sends from and to (the only one a simulated node holds).
pub const CLIENT_SAP: u8 = 2;

/// The first 8 bytes of every simulated U_PDU carry its message number.
fn payload(number: u64, size: usize) -> Vec<u8> {
    let mut p = number.to_be_bytes().to_vec();
    p.extend((8..size).map(|i| (i as u64 ^ number) as u8));
    p
}

impl<'a> Sim<'a> {
    /// Sets up every node, channel and traffic source of `scenario`.
    pub fn new(scenario: &'a Scenario, opts: Options) -> anyhow::Result<Self> {
        scenario.check()?;
        let net_index = |name: &str| named(&scenario.nets, name, "net", |n| &n.name);
        let node_index = |name: &str| named(&scenario.nodes, name, "node", |n| &n.name);
        let mut nodes = Vec::new();
        for spec in &scenario.nodes {
            let address =
                Address::new(spec.address).map_err(|e| anyhow!("node {}: {e}", spec.name))?;
            let mut link = HostLink::new(scenario.link.config(address, scenario.modem.modem()))
                .map(Box::new)
                .map_err(|e| anyhow!("node {}: {e}", spec.name))?;
            // As the agent and the adjunct do: a node holds the SAPs its clients bound, here
            // the simulated clients' one, not all sixteen.
            link.set_bound_saps(1 << CLIENT_SAP);
            nodes.push(Node {
                link,
                net: net_index(&spec.net)?,
                pending: VecDeque::new(),
                ids: HashMap::new(),
                wake: None,
                submit_at: None,
            });
        }
        let radios = nodes
            .iter()
            .enumerate()
            .map(|(station, n)| Radio {
                net: n.net,
                station,
            })
            .collect();
        let models: Vec<_> = scenario.nets.iter().map(|n| n.channel).collect();
        let air = Air::new(
            scenario.modem.modem(),
            radios,
            &models,
            scenario.nodes.len(),
            &scenario.outages,
            &scenario.random_outages,
            scenario.duration_s,
            net_index,
            node_index,
            opts.seed,
            opts.capture,
        )?;
        let mut report = Report::new(scenario, opts.seed);
        let mut number = 0u64;
        for (k, t) in scenario.traffic.iter().enumerate() {
            let from = node_index(&t.from)?;
            for c in 0..t.count {
                let at = instant(t.start_s + t.interval_s * f64::from(c));
                let node = nodes.get_mut(from).context("node index")?;
                node.pending.push_back(Pending {
                    at,
                    number,
                    traffic: k,
                });
                report
                    .messages
                    .push(MessageRecord::new(number, k, t, secs(at)));
                number += 1;
            }
        }
        for n in &mut nodes {
            n.pending
                .make_contiguous()
                .sort_by_key(|p| (p.at, p.number));
        }
        let mut sim = Sim {
            scenario,
            opts,
            nodes,
            air,
            queue: EventQueue::default(),
            now: Instant::ZERO,
            report,
            buf: vec![0u8; MAX_DPDU_LEN],
        };
        for i in 0..sim.nodes.len() {
            if let Some(at) = sim
                .nodes
                .get(i)
                .and_then(|n| n.pending.front())
                .map(|p| p.at)
            {
                sim.queue.push(at, Ev::Submit { node: i });
            }
        }
        Ok(sim)
    }

    /// Runs to the scenario's end and returns what was measured (and the capture, if asked).
    pub fn run(mut self) -> anyhow::Result<(Report, Vec<u8>)> {
        let end = instant(self.scenario.duration_s);
        let mut progress = Progress::start(self.opts.progress, end);
        while let Some((at, ev)) = self.queue.pop_until(end) {
            self.now = at;
            progress.event(at);
            match ev {
                Ev::Arrival { node, frame } => self.arrive(node, &frame),
                Ev::Wake { node } => {
                    let n = self.nodes.get_mut(node).context("node")?;
                    if n.wake != Some(at) {
                        continue;
                    }
                    n.wake = None;
                    n.link.handle_timeout(at);
                    self.service(node);
                }
                Ev::Submit { node } => self.service(node),
            }
        }
        let (events, wall_seconds) = progress.finish();
        self.report.events = events;
        self.report.channel = self.air.totals.clone();
        self.report.wall_seconds = wall_seconds;
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(spec) = self.scenario.nodes.get(i) {
                self.report.add_node(&spec.name, n.link.stats());
            }
        }
        self.report.finish(self.scenario);
        Ok((self.report, self.air.take_capture()))
    }

    /// A frame reaches `node`, unless its radio is transmitting or turning around.
    fn arrive(&mut self, node: usize, frame: &[u8]) {
        let now = self.now;
        if !self.air.hears(node, now) {
            return;
        }
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        let _ = n.link.handle_input(now, frame);
        self.service(node);
    }

    /// Lets `node` submit what is due, transmit, report; then queues its next wake-up.
    fn service(&mut self, node: usize) {
        let now = self.now;
        self.submit_due(node);
        self.transmit(node);
        self.collect_events(node);
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        // The link's timer contract: an instant at or before now means work is due now, and
        // serving it moves the timer on, so a wake-up at `now` cannot repeat forever.
        let next = n.link.poll_timeout().map(|t| t.max(now));
        if let Some(t) = next
            && n.wake != Some(t)
        {
            n.wake = Some(t);
            self.queue.push(t, Ev::Wake { node });
        }
        if let Some(n) = self.nodes.get_mut(node)
            && let Some(at) = n.pending.front().map(|p| p.at)
            && at > now
            && n.submit_at != Some(at)
        {
            n.submit_at = Some(at);
            self.queue.push(at, Ev::Submit { node });
        }
    }

    fn submit_due(&mut self, node: usize) {
        let now = self.now;
        let nodes_spec = &self.scenario.nodes;
        loop {
            let Some(n) = self.nodes.get_mut(node) else {
                return;
            };
            let Some(p) = n.pending.front().cloned() else {
                return;
            };
            if p.at > now {
                return;
            }
            let Some(t) = self.scenario.traffic.get(p.traffic) else {
                n.pending.pop_front();
                continue;
            };
            let dest = if t.to == "broadcast" {
                Address::BROADCAST
            } else {
                nodes_spec
                    .iter()
                    .find(|s| s.name == t.to)
                    .and_then(|s| Address::new(s.address).ok())
                    .unwrap_or(Address::BROADCAST)
            };
            let mode = match t.mode {
                TrafficMode::Arq => Mode::Arq { in_order: false },
                TrafficMode::ArqInOrder => Mode::Arq { in_order: true },
                TrafficMode::Expedited => Mode::ExpeditedArq,
                TrafficMode::NonArq => Mode::NonArq { repeats: t.repeats },
                TrafficMode::ExpeditedNonArq => Mode::ExpeditedNonArq { repeats: t.repeats },
            };
            let data = payload(p.number, t.size);
            let message = Message {
                dest,
                header: SpduHeader {
                    priority: t.priority,
                    src_sap: CLIENT_SAP,
                    dest_sap: CLIENT_SAP,
                },
                mode,
                confirm: false,
                ttd: p.at + Duration::from_millis((t.ttd_s * 1000.0) as u64),
                data: &data,
            };
            match n.link.submit(now, &message) {
                Ok(id) => {
                    n.ids.insert(id.0, p.number);
                    n.pending.pop_front();
                    if let Some(r) = self.report.messages.get_mut(p.number as usize) {
                        r.accepted_s = Some(secs(now));
                    }
                }
                Err(skywave_protocol::link::SubmitError::QueueFull) => return,
                Err(_) => {
                    n.pending.pop_front();
                    if let Some(r) = self.report.messages.get_mut(p.number as usize) {
                        r.refused = true;
                    }
                }
            }
        }
    }

    fn transmit(&mut self, node: usize) {
        let now = self.now;
        loop {
            let Some(n) = self.nodes.get_mut(node) else {
                return;
            };
            let Some(t) = n.link.poll_transmit(now, &mut self.buf) else {
                return;
            };
            let bytes: Rc<[u8]> = Rc::from(self.buf.get(..t.len).unwrap_or(&[]));
            let (arrival, deliveries) = self.air.send(node, &t, &bytes);
            for j in deliveries {
                self.queue.push(
                    arrival,
                    Ev::Arrival {
                        node: j,
                        frame: bytes.clone(),
                    },
                );
            }
        }
    }

    fn collect_events(&mut self, node: usize) {
        let now = secs(self.now);
        let Some(n) = self.nodes.get_mut(node) else {
            return;
        };
        while let Some(e) = n.link.poll_event() {
            match e {
                Event::Received(r) => {
                    let mut tag = [0u8; 8];
                    if let Some(head) = r.data.get(..8) {
                        tag.copy_from_slice(head);
                    }
                    let number = u64::from_be_bytes(tag);
                    self.report.received(number, node, now);
                }
                Event::Delivered(id) => {
                    if let Some(&number) = n.ids.get(&id.0) {
                        self.report.acknowledged(number, now);
                    }
                }
                Event::Sent(id) => {
                    if let Some(&number) = n.ids.get(&id.0) {
                        self.report.sent(number, now);
                    }
                }
                Event::Failed(id, why) => {
                    if let Some(&number) = n.ids.get(&id.0) {
                        self.report.failed(number, now, why);
                    }
                }
                Event::LinkUp(_) => self.report.links_made += 1,
                Event::LinkDown(_) => self.report.links_broken += 1,
                Event::Reset(_) => self.report.resets += 1,
                // Simulated nodes hold every SAP, so no confirmation is refused.
                Event::Confirmed { .. } | Event::NotDelivered { .. } => {}
            }
        }
    }
}

/// Runs `scenario` with `opts`: the report and, if asked, the pcap capture.
pub fn run(scenario: &Scenario, opts: Options) -> anyhow::Result<(Report, Vec<u8>)> {
    Sim::new(scenario, opts)?.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_node_holds_only_its_clients_sap() {
        // As the agent and the adjunct: a U_PDU for any other SAP is delivered to nobody, and a
        // confirmation request for one is answered DATA DELIVERY FAIL (Annex A).
        let scenario = setup::scenario(false);
        let sim = Sim::new(&scenario, Options::default()).unwrap();
        for node in &sim.nodes {
            assert_eq!(node.link.bound_saps(), 1 << CLIENT_SAP);
        }
    }
}
