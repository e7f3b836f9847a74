//! `skywave-sim chain`: the revocation benchmark's scenario with its parameters exposed: a line
//! of stations, one point-to-point net per hop, one revocation published at one end.

use super::{
    ArtifactSpec, CoalitionReport, CoalitionScenario, Line, LinkSpec, Model, ModemSpec, NetSpec,
    NodeSpec, Panel, PublishSpec, Serialize, StationSpec, artifacts, frame_lengths, run,
};
use anyhow::Context;

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
                    domain: None,
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
            messages: Vec::new(),
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
                points: crate::sim::plot::cdf(times),
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
        crate::sim::plot::panels(&title, &[panel])
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
