//! `skywave-sim fanout`: the measurement behind the node's fan-out rule ([`Fanout`]).
//!
//! One HF channel (10 % Bernoulli D_PDU loss, 2400 bit/s) shared by a hub and `n` neighbours,
//! everyone holding the sample coalition. At one minute the hub publishes a GBR revocation and
//! GBR policy version 2 (every neighbour lacks them) and the last neighbour publishes version 2
//! of the GBR -> AUS translator (the hub and every other neighbour lack it): artifacts cross
//! both ways. Measured until every station holds all three: the time, and the channel time
//! spent (D_PDU airtime plus preamble and interleaver of every transmission), for three rules:
//!
//! - `arq`: every artifact by ARQ to each neighbour that lacks it (the fan-out rule off);
//! - `broadcast+arq`: a non-ARQ broadcast with repeats for what every neighbour on the channel
//!   lacks, ARQ to one neighbour for the rest;
//! - `broadcast+non-arq` (the node's default): the same, but what goes to one neighbour on a
//!   shared channel goes non-ARQ with repeats too, the SUMMARY after it being the check.
//!
//! [`Fanout`]: skywave_protocol::node::Fanout

use serde::Serialize;

use super::channel::Model;
use super::coalition::{self, ArtifactSpec, CoalitionScenario, NodeSpec, PublishSpec, StationSpec};
use super::plot::{Line, Panel};
use super::scenario::{LinkSpec, ModemSpec, NetSpec};

/// When the artifacts are published, s.
const PUBLISH_S: f64 = 60.0;

/// A rule measured.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Rule {
    /// Its name in tables.
    pub name: &'static str,
    /// The node settings.
    pub node: NodeSpec,
}

/// The three rules.
pub fn rules() -> [Rule; 3] {
    let default = NodeSpec::default();
    [
        Rule {
            name: "arq",
            node: NodeSpec::arq_only(),
        },
        Rule {
            name: "broadcast+arq",
            node: NodeSpec {
                fanout_arq_when_shared: true,
                ..default
            },
        },
        Rule {
            name: "broadcast+non-arq",
            node: default,
        },
    ]
}

/// The hub and `n` neighbours on one channel, with `node` settings.
pub fn scenario(n: usize, node: NodeSpec) -> CoalitionScenario {
    let stations = (0..=n)
        .map(|k| StationSpec {
            name: if k == 0 {
                "hub".into()
            } else {
                format!("n{k}")
            },
            address: k as u32 + 1,
            nets: vec!["hf".into()],
            holds: vec![ArtifactSpec::Coalition { domain: None }],
            domain: None,
        })
        .collect();
    let publish = |station: String, artifact| PublishSpec {
        at_s: PUBLISH_S,
        station,
        artifact,
    };
    CoalitionScenario {
        name: format!("fanout-{n}"),
        duration_s: 4.0 * 3600.0,
        modem: ModemSpec::default(),
        link: LinkSpec::default(),
        node,
        stations,
        nets: vec![NetSpec {
            name: "hf".into(),
            channel: Model::Bernoulli { p: 0.1 },
        }],
        outages: Vec::new(),
        random_outages: Vec::new(),
        publish: vec![
            publish(
                "hub".into(),
                ArtifactSpec::Revocation {
                    domain: "GBR".into(),
                    seq: 1,
                    translator: None,
                    policy: Some(9),
                    key: None,
                },
            ),
            publish("hub".into(), ArtifactSpec::Policy { version: 2 }),
            publish(
                format!("n{n}"),
                ArtifactSpec::Translator { id: 2, version: 2 },
            ),
        ],
        inject: Vec::new(),
        decide: Vec::new(),
        messages: Vec::new(),
    }
}

/// One run's figures.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// Neighbours.
    pub neighbours: usize,
    /// The rule.
    pub rule: &'static str,
    /// The seed.
    pub seed: u64,
    /// Seconds from publication until every station held all three (none: not in 4 hours).
    pub synced_after_s: Option<f64>,
    /// Channel time from publication until all held all (or the end): D_PDU airtime plus
    /// preamble and interleaver of every transmission, over every transmitter, s.
    pub channel_s: f64,
}

/// Means over seeds for one rule and size.
#[derive(Clone, Debug, Serialize)]
pub struct Point {
    /// Neighbours.
    pub neighbours: usize,
    /// The rule.
    pub rule: &'static str,
    /// Runs in which everyone got everything.
    pub synced: usize,
    /// Runs.
    pub runs: usize,
    /// Mean time to sync over the runs that did, s.
    pub mean_synced_after_s: f64,
    /// Mean channel time until all held all, s.
    pub mean_channel_s: f64,
}

/// Runs every rule for 1..=`max_n` neighbours over `seeds` seeds from `seed`: the means, every
/// run, and a table.
pub fn measure(
    max_n: usize,
    seed: u64,
    seeds: u64,
) -> anyhow::Result<(Vec<Point>, Vec<Run>, String)> {
    let mut runs = Vec::new();
    let mut points = Vec::new();
    let mut table = String::from(
        "neighbours  rule                synced  to sync (s)  channel until synced (s)\n",
    );
    for n in 1..=max_n {
        for rule in rules() {
            let scenario = scenario(n, rule.node);
            let mut mine = Vec::new();
            for s in seed..seed + seeds {
                let (report, _) = coalition::run(&scenario, s, false, false)?;
                let published: Vec<_> = report
                    .artifacts
                    .iter()
                    .filter(|a| a.published_s > 0.0)
                    .collect();
                let synced_after_s = published
                    .iter()
                    .map(|a| a.everywhere_after_s)
                    .try_fold(0.0_f64, |acc, t| t.map(|t| acc.max(t)));
                let until = synced_after_s.map_or(scenario.duration_s, |t| PUBLISH_S + t);
                mine.push(Run {
                    neighbours: n,
                    rule: rule.name,
                    seed: s,
                    synced_after_s,
                    channel_s: report.channel_time(PUBLISH_S, until),
                });
            }
            let synced: Vec<f64> = mine.iter().filter_map(|r| r.synced_after_s).collect();
            let count = mine.len().max(1) as f64;
            let point = Point {
                neighbours: n,
                rule: rule.name,
                synced: synced.len(),
                runs: mine.len(),
                mean_synced_after_s: synced.iter().sum::<f64>() / synced.len().max(1) as f64,
                mean_channel_s: mine.iter().map(|r| r.channel_s).sum::<f64>() / count,
            };
            table.push_str(&format!(
                "{:>10}  {:<18}  {:>3}/{:<3}  {:>11.1}  {:>11.1}\n",
                n,
                rule.name,
                point.synced,
                point.runs,
                point.mean_synced_after_s,
                point.mean_channel_s,
            ));
            points.push(point);
            runs.extend(mine);
        }
    }
    Ok((points, runs, table))
}

/// An SVG: channel time and time to sync against the number of neighbours, per rule.
pub fn svg(points: &[Point], seeds: u64) -> String {
    let xmax = points.iter().map(|p| p.neighbours).max().unwrap_or(1) as f64;
    let lines = |f: &dyn Fn(&Point) -> f64| -> Vec<Line> {
        rules()
            .iter()
            .map(|rule| Line {
                name: rule.name.to_string(),
                points: points
                    .iter()
                    .filter(|p| p.rule == rule.name)
                    .map(|p| (p.neighbours as f64, f(p)))
                    .collect(),
            })
            .collect()
    };
    // Scaled to the node's rule: a line above the panel is drawn along its top edge.
    let default = rules()[2].name;
    let scale = |f: &dyn Fn(&Point) -> f64| {
        4.0 * points
            .iter()
            .filter(|p| p.rule == default)
            .map(f)
            .fold(1.0, f64::max)
    };
    let panel = |y: &str, f: &dyn Fn(&Point) -> f64| Panel {
        x: "neighbours on the channel".into(),
        y: y.into(),
        xmax,
        ymax: scale(f),
        lines: lines(f),
    };
    super::plot::panels(
        &format!(
            "fan-out on one shared channel, 10 % loss, 2400 bit/s, mean of {seeds} seeds, artifacts both ways (lines above a panel run along its top)"
        ),
        &[
            panel("channel time until synced (s)", &|p| p.mean_channel_s),
            panel("time until all hold all (s)", &|p| p.mean_synced_after_s),
        ],
    )
}
