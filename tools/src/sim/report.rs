//! What a simulation measured: per-message outcomes, latency, goodput, channel use; written
//! as JSON and drawn as an SVG a planner can read at a glance (delivery-time distribution and
//! goodput over time).

use serde::Serialize;
use skywave_protocol::link::{Failure, Stats};

use super::plot::{Line, Panel};
use super::scenario::{Scenario, TrafficSpec};

/// One message's fate.
#[derive(Clone, Debug, Serialize)]
pub struct MessageRecord {
    /// Its number (the first 8 bytes of its payload).
    pub number: u64,
    /// Which traffic source made it.
    pub traffic: usize,
    /// U_PDU size.
    pub size: usize,
    /// When it became due, s.
    pub created_s: f64,
    /// When the link accepted it (it may wait for queue room), s.
    pub accepted_s: Option<f64>,
    /// The link refused it outright.
    pub refused: bool,
    /// (receiving node, time) of every delivery.
    pub received: Vec<(usize, f64)>,
    /// ARQ: when every segment was acknowledged, s.
    pub acknowledged_s: Option<f64>,
    /// Non-ARQ: when the last repeat went out, s.
    pub sent_s: Option<f64>,
    /// When and why it was given up.
    pub failed: Option<(f64, String)>,
}

impl MessageRecord {
    /// A message due at `created_s`.
    pub fn new(number: u64, traffic: usize, spec: &TrafficSpec, created_s: f64) -> Self {
        MessageRecord {
            number,
            traffic,
            size: spec.size,
            created_s,
            accepted_s: None,
            refused: false,
            received: Vec::new(),
            acknowledged_s: None,
            sent_s: None,
            failed: None,
        }
    }
}

/// Channel totals over all nets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ChannelTotals {
    /// D_PDUs put on the air.
    pub frames_sent: u64,
    /// Frame copies a receiver lost to the channel or an outage.
    pub frames_lost: u64,
    /// Frame copies a receiver missed because it was transmitting or turning around.
    pub frames_unheard: u64,
    /// Transmissions (key-ups).
    pub transmissions: u64,
    /// Airtime of the D_PDUs, s.
    pub airtime_s: f64,
    /// Preamble and interleaver time of the transmissions, s.
    pub overhead_s: f64,
    /// (airtime + overhead) / (duration x nets).
    pub busy_fraction: f64,
}

/// Summary statistics of a sample.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spread {
    /// Samples.
    pub count: usize,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Self {
        if v.is_empty() {
            return Spread::default();
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            v.get(((v.len() - 1) as f64 * q).round() as usize)
                .copied()
                .unwrap_or(0.0)
        };
        Spread {
            count: v.len(),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Message outcome counts.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcomes {
    /// Messages generated.
    pub total: usize,
    /// Unicast: received by the destination. Broadcast: received by every listener.
    pub delivered: usize,
    /// Broadcast received by some but not all listeners.
    pub partly_delivered: usize,
    /// ARQ messages acknowledged.
    pub acknowledged: usize,
    /// Given up at their time-to-die.
    pub expired: usize,
    /// Given up for a reason other than time-to-die (the link has none today).
    pub failed_other: usize,
    /// Refused by the link on submission.
    pub refused: usize,
    /// Still in flight when the run ended.
    pub open: usize,
    /// Receptions of a message a node had already received (must be 0).
    pub duplicates: usize,
}

/// A node's link counters.
#[derive(Clone, Debug, Serialize)]
pub struct NodeStats {
    /// Node name.
    pub name: String,
    /// Transmissions.
    pub transmissions: u64,
    /// D_PDUs sent.
    pub frames_sent: u64,
    /// ARQ frames sent again.
    pub retransmissions: u64,
    /// Good D_PDUs received.
    pub frames_received: u64,
    /// Damaged inputs.
    pub bad_frames: u64,
    /// Replies that did not come.
    pub timeouts: u64,
}

/// Everything a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// Simulated seconds.
    pub duration_s: f64,
    /// Events processed.
    pub events: u64,
    /// Wall-clock seconds the run took (not part of the reproducible result).
    pub wall_seconds: f64,
    /// Message outcomes.
    pub outcomes: Outcomes,
    /// Delivery time (creation to reception), s, over every intended reception.
    pub latency_s: Spread,
    /// U_PDU bits delivered to intended receivers per simulated second.
    pub goodput_bps: f64,
    /// Goodput per time bin: (bin start s, bit/s).
    pub goodput_timeline: Vec<(f64, f64)>,
    /// Channel use.
    pub channel: ChannelTotals,
    /// Physical links made.
    pub links_made: u64,
    /// Physical links broken.
    pub links_broken: u64,
    /// ARQ resets.
    pub resets: u64,
    /// Per node.
    pub nodes: Vec<NodeStats>,
    /// Per message.
    pub messages: Vec<MessageRecord>,
    #[serde(skip)]
    intended: Vec<Vec<usize>>,
}

impl Report {
    /// An empty report for `scenario`.
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let index = |name: &str| scenario.nodes.iter().position(|n| n.name == name);
        let intended = scenario
            .traffic
            .iter()
            .map(|t| {
                let from = index(&t.from);
                if t.to == "broadcast" {
                    let net = from.and_then(|f| scenario.nodes.get(f)).map(|n| &n.net);
                    (0..scenario.nodes.len())
                        .filter(|&j| {
                            Some(j) != from && scenario.nodes.get(j).map(|n| &n.net) == net
                        })
                        .collect()
                } else {
                    index(&t.to).into_iter().collect()
                }
            })
            .collect();
        Report {
            scenario: scenario.name.clone(),
            seed,
            duration_s: scenario.duration_s,
            events: 0,
            wall_seconds: 0.0,
            outcomes: Outcomes::default(),
            latency_s: Spread::default(),
            goodput_bps: 0.0,
            goodput_timeline: Vec::new(),
            channel: ChannelTotals::default(),
            links_made: 0,
            links_broken: 0,
            resets: 0,
            nodes: Vec::new(),
            messages: Vec::new(),
            intended,
        }
    }

    pub(super) fn received(&mut self, number: u64, node: usize, t: f64) {
        if let Some(m) = self.messages.get_mut(number as usize) {
            if m.received.iter().any(|&(n, _)| n == node) {
                self.outcomes.duplicates += 1;
            } else {
                m.received.push((node, t));
            }
        }
    }

    pub(super) fn acknowledged(&mut self, number: u64, t: f64) {
        if let Some(m) = self.messages.get_mut(number as usize) {
            m.acknowledged_s = Some(t);
        }
    }

    pub(super) fn sent(&mut self, number: u64, t: f64) {
        if let Some(m) = self.messages.get_mut(number as usize) {
            m.sent_s = Some(t);
        }
    }

    pub(super) fn failed(&mut self, number: u64, t: f64, why: Failure) {
        if let Some(m) = self.messages.get_mut(number as usize) {
            m.failed = Some((t, format!("{why:?}")));
        }
    }

    pub(super) fn add_node(&mut self, name: &str, s: Stats) {
        self.nodes.push(NodeStats {
            name: name.to_string(),
            transmissions: s.transmissions,
            frames_sent: s.frames_sent,
            retransmissions: s.retransmissions,
            frames_received: s.frames_received,
            bad_frames: s.bad_frames,
            timeouts: s.timeouts,
        });
    }

    /// Computes the summaries once the run is over.
    pub(super) fn finish(&mut self, scenario: &Scenario) {
        let mut latencies = Vec::new();
        let bins = 100usize;
        let bin = (self.duration_s / bins as f64).max(1.0);
        let mut timeline = vec![0.0f64; (self.duration_s / bin).ceil() as usize + 1];
        let mut bits = 0.0;
        let o = &mut self.outcomes;
        o.total = self.messages.len();
        for m in &self.messages {
            let intended = self.intended.get(m.traffic).cloned().unwrap_or_default();
            let got: Vec<_> = m
                .received
                .iter()
                .filter(|(n, _)| intended.contains(n))
                .collect();
            for &&(_, t) in &got {
                latencies.push(t - m.created_s);
                bits += 8.0 * m.size as f64;
                if let Some(b) = timeline.get_mut((t / bin) as usize) {
                    *b += 8.0 * m.size as f64;
                }
            }
            let is_broadcast = scenario
                .traffic
                .get(m.traffic)
                .is_some_and(|t| t.to == "broadcast");
            if !intended.is_empty() && got.len() == intended.len() {
                o.delivered += 1;
            } else if is_broadcast && !got.is_empty() {
                o.partly_delivered += 1;
            }
            o.acknowledged += usize::from(m.acknowledged_s.is_some());
            match &m.failed {
                Some((_, why)) if why == "Expired" => o.expired += 1,
                Some(_) => o.failed_other += 1,
                None => {}
            }
            o.refused += usize::from(m.refused);
            let settled = m.failed.is_some()
                || m.refused
                || m.acknowledged_s.is_some()
                || (is_broadcast && m.sent_s.is_some());
            o.open += usize::from(!settled);
        }
        self.latency_s = Spread::of(latencies);
        self.goodput_bps = bits / self.duration_s;
        self.goodput_timeline = timeline
            .iter()
            .enumerate()
            .map(|(i, b)| (i as f64 * bin, b / bin))
            .collect();
        let nets = scenario.nets.len().max(1) as f64;
        self.channel.busy_fraction =
            (self.channel.airtime_s + self.channel.overhead_s) / (self.duration_s * nets);
    }

    /// Delivery times, sorted, for plotting.
    fn latencies(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .messages
            .iter()
            .flat_map(|m| {
                let intended = self.intended.get(m.traffic).cloned().unwrap_or_default();
                m.received
                    .iter()
                    .filter(move |(n, _)| intended.contains(n))
                    .map(move |&(_, t)| t - m.created_s)
                    .collect::<Vec<_>>()
            })
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    /// An SVG with two panels: the delivery-time distribution (CDF) and goodput over time.
    pub fn svg(&self) -> String {
        let title = format!(
            "{} (seed {}): {} of {} delivered, {} expired, goodput {:.0} bit/s",
            self.scenario,
            self.seed,
            self.outcomes.delivered,
            self.outcomes.total,
            self.outcomes.expired,
            self.goodput_bps
        );
        let latencies = self.latencies();
        let delivery = Panel {
            x: "delivery time (s)".into(),
            y: "share delivered".into(),
            xmax: latencies.last().copied().unwrap_or(1.0).max(1.0),
            ymax: 1.0,
            lines: vec![Line {
                name: String::new(),
                points: super::plot::cdf(&latencies),
            }],
        };
        let goodput = Panel {
            x: "simulated time (s)".into(),
            y: "goodput (bit/s)".into(),
            xmax: self.duration_s,
            ymax: self
                .goodput_timeline
                .iter()
                .map(|p| p.1)
                .fold(1.0, f64::max),
            lines: vec![Line {
                name: String::new(),
                points: self.goodput_timeline.clone(),
            }],
        };
        super::plot::panels(&title, &[delivery, goodput])
    }
}
