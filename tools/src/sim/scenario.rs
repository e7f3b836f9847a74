//! Scenario files: nodes, the nets (HF channels) they share, channel models, outages and
//! traffic, in TOML. tools/scenarios/ has commented examples; docs/simulator.md the reference.
//!
//! The coalition format ([`super::coalition`]) has the same modem, link, net and outage parts;
//! they, their checks and the way a file is read ([`ScenarioFile`]) are defined here once for
//! both.

use super::channel::Model;
use anyhow::{bail, ensure};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use skywave_protocol::link::{self, Modem};
use skywave_protocol::time::Duration;
use skywave_protocol::wire::Address;

/// A whole scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A name for reports.
    pub name: String,
    /// Simulated time to run, seconds.
    pub duration_s: f64,
    /// The modem every node uses.
    #[serde(default)]
    pub modem: ModemSpec,
    /// Link-layer settings every node uses.
    #[serde(default)]
    pub link: LinkSpec,
    /// The nodes.
    #[serde(rename = "node")]
    pub nodes: Vec<NodeSpec>,
    /// The nets: one HF channel each, shared half-duplex by its members.
    #[serde(rename = "net")]
    pub nets: Vec<NetSpec>,
    /// Scheduled outages.
    #[serde(default, rename = "outage")]
    pub outages: Vec<OutageSpec>,
    /// Random outages.
    #[serde(default, rename = "random_outage")]
    pub random_outages: Vec<RandomOutageSpec>,
    /// Traffic sources.
    #[serde(default, rename = "traffic")]
    pub traffic: Vec<TrafficSpec>,
}

/// Modem timing (MIL-STD-188-110 style).
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModemSpec {
    /// 75..=9600 bit/s.
    pub bit_rate: u32,
    /// Preamble, ms.
    pub preamble_ms: u64,
    /// Interleaver span, ms.
    pub interleaver_ms: u64,
    /// Turnaround, ms.
    pub turnaround_ms: u64,
    /// Longest transmission, ms (at most 127500).
    pub max_transmission_ms: u64,
}

impl Default for ModemSpec {
    fn default() -> Self {
        ModemSpec::from_modem(Modem::hf_2400_short())
    }
}

impl ModemSpec {
    /// The spec of a protocol modem model.
    pub fn from_modem(m: Modem) -> Self {
        ModemSpec {
            bit_rate: m.bit_rate,
            preamble_ms: m.preamble.millis(),
            interleaver_ms: m.interleaver.millis(),
            turnaround_ms: m.turnaround.millis(),
            max_transmission_ms: m.max_transmission.millis(),
        }
    }

    /// Ranges serde cannot check.
    pub fn check(&self) -> anyhow::Result<()> {
        ensure!(
            (75..=9600).contains(&self.bit_rate),
            "modem.bit_rate must be 75..=9600"
        );
        Ok(())
    }

    /// The protocol's modem model.
    pub fn modem(&self) -> Modem {
        Modem {
            bit_rate: self.bit_rate,
            preamble: Duration::from_millis(self.preamble_ms),
            interleaver: Duration::from_millis(self.interleaver_ms),
            turnaround: Duration::from_millis(self.turnaround_ms),
            max_transmission: Duration::from_millis(self.max_transmission_ms),
        }
    }
}

/// Link-layer settings.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkSpec {
    /// Largest D_PDU segment, bytes (1..=1023).
    pub max_segment: u16,
    /// ARQ window, frames.
    pub arq_window: u8,
    /// Acknowledgement copies per transmission.
    pub ack_copies: u8,
    /// Idle time before a physical link is broken, s.
    pub idle_break_s: u64,
    /// FULL RESET only once the link is made (the annex order; `link::Config::reset_after_link`).
    pub reset_after_link: bool,
}

impl LinkSpec {
    /// The link configuration of a radio at `address` with `modem` and these settings.
    pub fn config(&self, address: Address, modem: Modem) -> link::Config {
        let mut config = link::Config::new(address, modem);
        config.max_segment = self.max_segment;
        config.arq_window = self.arq_window;
        config.ack_copies = self.ack_copies;
        config.idle_break = Duration::from_secs(self.idle_break_s);
        config.reset_after_link = self.reset_after_link;
        config
    }
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec {
            max_segment: 1023,
            arq_window: 64,
            ack_copies: 2,
            idle_break_s: 120,
            reset_after_link: false,
        }
    }
}

/// One node.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSpec {
    /// A unique name.
    pub name: String,
    /// Its STANAG 5066 address (28 bits).
    pub address: u32,
    /// The net its radio is on.
    pub net: String,
}

/// One HF channel.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetSpec {
    /// A unique name.
    pub name: String,
    /// The loss model of every transmitter-to-receiver path on it.
    pub channel: Model,
}

/// A scheduled outage of a net (nothing gets through) or of a node (off the air).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageSpec {
    /// The net, or
    pub net: Option<String>,
    /// the node.
    pub node: Option<String>,
    /// Start, s.
    pub start_s: f64,
    /// End, s.
    pub end_s: f64,
}

/// A net that goes down at random: up and down times exponentially distributed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomOutageSpec {
    /// The net.
    pub net: String,
    /// Mean time between outages, s.
    pub mean_up_s: f64,
    /// Mean outage length, s.
    pub mean_down_s: f64,
}

/// How a traffic source's messages travel.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrafficMode {
    /// ARQ, delivered as complete.
    Arq,
    /// ARQ, delivered in order.
    ArqInOrder,
    /// Expedited ARQ.
    Expedited,
    /// Non-ARQ with repeats (to "broadcast" or one node).
    NonArq,
    /// Expedited non-ARQ with repeats.
    ExpeditedNonArq,
}

/// A traffic source.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficSpec {
    /// Sending node.
    pub from: String,
    /// Receiving node, or "broadcast".
    pub to: String,
    /// Delivery service.
    pub mode: TrafficMode,
    /// U_PDU size, bytes (8..=2048).
    pub size: usize,
    /// Number of messages.
    pub count: u32,
    /// First message, s.
    #[serde(default)]
    pub start_s: f64,
    /// Between messages, s (0: all at once, sent as fast as the queue takes them).
    #[serde(default)]
    pub interval_s: f64,
    /// Priority 0..=15.
    #[serde(default)]
    pub priority: u8,
    /// Time-to-die after submission, s.
    #[serde(default = "default_ttd")]
    pub ttd_s: f64,
    /// Non-ARQ transmissions of each segment.
    #[serde(default = "default_repeats")]
    pub repeats: u8,
}

fn default_ttd() -> f64 {
    3600.0
}

fn default_repeats() -> u8 {
    3
}

/// A scenario file format: this link-layer one, or the store-and-forward
/// [`CoalitionScenario`](super::coalition::CoalitionScenario). Both are TOML that serde reads,
/// then checked for what serde cannot check.
pub trait ScenarioFile: DeserializeOwned {
    /// Cross-references and ranges that serde cannot check.
    fn check(&self) -> anyhow::Result<()>;

    /// Reads a scenario from TOML text and checks it.
    fn from_toml(text: &str) -> anyhow::Result<Self> {
        let scenario: Self = toml::from_str(text)?;
        scenario.check()?;
        Ok(scenario)
    }
}

/// Checks that every scheduled outage names exactly one of a net or a station that exists, and
/// every random outage a net that exists. `station_word` is what the format calls a station
/// ("node", "station"), for the error.
pub fn check_outages(
    outages: &[OutageSpec],
    random_outages: &[RandomOutageSpec],
    net: impl Fn(&str) -> bool,
    station: impl Fn(&str) -> bool,
    station_word: &str,
) -> anyhow::Result<()> {
    for o in outages {
        match (&o.net, &o.node) {
            (Some(n), None) => ensure!(net(n), "outage of unknown net {n}"),
            (None, Some(n)) => ensure!(station(n), "outage of unknown {station_word} {n}"),
            _ => bail!("an outage names exactly one of net or node"),
        }
    }
    for o in random_outages {
        ensure!(net(&o.net), "random outage of unknown net {}", o.net);
    }
    Ok(())
}

impl ScenarioFile for Scenario {
    fn check(&self) -> anyhow::Result<()> {
        ensure!(self.duration_s > 0.0, "duration_s must be positive");
        self.modem.check()?;
        let node = |name: &str| self.nodes.iter().any(|n| n.name == name);
        let net = |name: &str| self.nets.iter().any(|n| n.name == name);
        for n in &self.nodes {
            ensure!(net(&n.net), "node {} is on unknown net {}", n.name, n.net);
        }
        for t in &self.traffic {
            ensure!(node(&t.from), "traffic from unknown node {}", t.from);
            ensure!(
                t.to == "broadcast" || node(&t.to),
                "traffic to unknown node {}",
                t.to
            );
            ensure!(
                (8..=2048).contains(&t.size),
                "traffic size must be 8..=2048"
            );
            if t.to == "broadcast"
                && !matches!(t.mode, TrafficMode::NonArq | TrafficMode::ExpeditedNonArq)
            {
                bail!("broadcast traffic must be non_arq or expedited_non_arq");
            }
        }
        check_outages(&self.outages, &self.random_outages, net, node, "node")
    }
}
