//! `skywave-sim`: run HF network scenarios on virtual time, or the link layer's benchmark.
//!
//! ```text
//! skywave-sim run SCENARIO.toml --seed N --json OUT.json[.zst] [--summary-only] [--capture OUT.pcap] [--plot OUT.svg]
//! skywave-sim bench --json OUT.json [--seed N]
//! skywave-sim setup [--json OUT.json] [--capture-dir DIR] [--seed N]
//! skywave-sim coalition SCENARIO.toml --seed N --json OUT.json[.zst] [--summary-only] [--capture OUT.pcap] [--plot OUT.svg]
//! skywave-sim chain --hops H --bit-rate B --loss P --turnaround-ms T --seed N [--json OUT.json]
//! skywave-sim fanout --json OUT.json [--plot OUT.svg] [--max-neighbours N] [--seeds K]
//! skywave-sim demo
//! ```

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use skywave_host::cli::output::is_broken_pipe;
use skywave_host::{out, outln};
use skywave_tools::sim::coalition::{self, Chain, CoalitionScenario, NodeSpec};
use skywave_tools::sim::scenario::{Scenario, ScenarioFile};
use skywave_tools::sim::{self, Options};

#[derive(Parser)]
#[command(version, about = "Discrete-event simulator of STANAG 5066 HF networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write what it measured.
    Run(ScenarioArgs),
    /// Run a coalition (store-and-forward) scenario: per artifact, when each station admitted
    /// it; airtime by kind; decisions; catch-ups after outages.
    // The shared arguments' help speaks of the link-layer scenario; these say what differs.
    #[command(
        mut_arg("scenario", |a| a.help("The scenario (TOML, see tools/scenarios/coalition/)")),
        mut_arg("plot", |a| a.help("Also draw admissions over time and airtime by kind as SVG"))
    )]
    Coalition(ScenarioArgs),
    /// Publish a revocation at one end of a chain of stations (one point-to-point net per
    /// hop, every station holding the coalition) and print how long it took to reach the
    /// other end: the revocation bench's scenario with its parameters.
    Chain {
        /// Hops (the chain has hops + 1 stations).
        #[arg(long, default_value_t = 4)]
        hops: usize,
        /// Modem bit rate, bit/s.
        #[arg(long, default_value_t = 2400)]
        bit_rate: u32,
        /// Bernoulli D_PDU loss on every hop, 0..1.
        #[arg(long, default_value_t = 0.1)]
        loss: f64,
        /// Radio turnaround, ms.
        #[arg(long, default_value_t = 200)]
        turnaround_ms: u64,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run seeds seed..seed+N and print the median and 95th percentile.
        #[arg(long, default_value_t = 1)]
        seeds: u64,
        /// Send every artifact by ARQ (the fan-out rule off).
        #[arg(long)]
        arq_only: bool,
        /// Also write the full report as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write the chain as a coalition scenario file (for `coalition`).
        #[arg(long)]
        scenario_out: Option<PathBuf>,
        /// With --seeds: also draw the distribution, with and without the fan-out rule, as SVG.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Six real agents (GBR, USA, AUS) on simulated HF nets and a simulated clock, told as it
    /// happens: the README's `skywave demo`.
    Demo,
    /// Measure the fan-out rules on one shared channel (a hub and 1..=N neighbours, artifacts
    /// both ways): time until all hold all and channel time, per rule; print a table.
    Fanout {
        /// Where to write the JSON results.
        #[arg(long)]
        json: PathBuf,
        /// Also draw them as SVG.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// The most neighbours.
        #[arg(long, default_value_t = 6)]
        max_neighbours: usize,
        /// The first seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Seeds per point.
        #[arg(long, default_value_t = 10)]
        seeds: u64,
    },
    /// Measure link set-up with a new peer (submission to first delivery) with the FULL RESET
    /// beside the link request (the default) and only once the link is made; print a table.
    Setup {
        /// Also write the figures as JSON.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Also write each run's frames as pcap (link type 237) into this directory:
        /// `reset-with-link-request.pcap`, `reset-after-link.pcap`.
        #[arg(long)]
        capture_dir: Option<PathBuf>,
        /// The seed (the channel is clean: it changes nothing but is recorded).
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Measure the link layer's figures of merit; print a table and write JSON.
    Bench {
        /// Where to write the JSON results.
        #[arg(long)]
        json: PathBuf,
        /// The seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// What `run` and `coalition` both take: a scenario file, the seed, and where to write what
/// the run measured.
#[derive(Args)]
struct ScenarioArgs {
    /// The scenario (TOML).
    scenario: PathBuf,
    /// The seed: one seed reproduces a run exactly.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to write the JSON report; a name ending in `.zst` is written zstd-compressed
    /// (a day of a large network is hundreds of megabytes as text, a tenth of that packed).
    #[arg(long)]
    json: PathBuf,
    /// Leave the per-message records out of the JSON report: outcomes, spreads, channel and
    /// per-node totals only.
    #[arg(long)]
    summary_only: bool,
    /// Also write every D_PDU put on the air as pcap (link type 237).
    #[arg(long)]
    capture: Option<PathBuf>,
    /// Also draw delivery times and goodput as SVG.
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Never show a progress bar.
    #[arg(long)]
    quiet: bool,
}

/// Simulated seconds from which a run is long enough to deserve a progress bar.
const PROGRESS_FROM_S: f64 = 6.0 * 3600.0;

impl ScenarioArgs {
    /// Reads the scenario file and parses it with `parse`.
    fn load<S>(&self, parse: impl FnOnce(&str) -> anyhow::Result<S>) -> anyhow::Result<S> {
        let path = &self.scenario;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Whether a run of `duration_s` simulated seconds shows a progress bar: when it is long,
    /// not silenced, and someone is watching stderr.
    fn progress(&self, duration_s: f64) -> bool {
        !self.quiet && duration_s >= PROGRESS_FROM_S && std::io::stderr().is_terminal()
    }

    /// Writes the JSON report, and the capture and the plot where they were asked for.
    fn write_outputs(
        &self,
        report: &impl Serialize,
        pcap: &[u8],
        svg: impl FnOnce() -> String,
    ) -> anyhow::Result<()> {
        write_report(&self.json, report, self.summary_only)?;
        if let Some(path) = &self.capture {
            write(path, pcap)?;
        }
        if let Some(path) = &self.plot {
            write(path, svg())?;
        }
        Ok(())
    }
}

/// The parts of a report that grow with the number of messages: what `--summary-only` leaves
/// out.
const PER_MESSAGE_KEYS: [&str; 1] = ["messages"];

/// Writes `report` as JSON to `path`, streamed (never held whole as text), zstd-compressed
/// when the name ends in `.zst`, without the per-message records when `summary_only`.
fn write_report(path: &Path, report: &impl Serialize, summary_only: bool) -> anyhow::Result<()> {
    let context = || format!("writing {}", path.display());
    let file = std::io::BufWriter::new(std::fs::File::create(path).with_context(context)?);
    let mut out: Box<dyn std::io::Write> = if path.extension().is_some_and(|e| e == "zst") {
        Box::new(zstd::Encoder::new(file, 0)?.auto_finish())
    } else {
        Box::new(file)
    };
    if summary_only {
        let mut value = serde_json::to_value(report)?;
        if let Some(object) = value.as_object_mut() {
            for key in PER_MESSAGE_KEYS {
                object.remove(key);
            }
        }
        serde_json::to_writer_pretty(&mut out, &value).with_context(context)?;
    } else {
        serde_json::to_writer_pretty(&mut out, report).with_context(context)?;
    }
    out.flush().with_context(context)?;
    Ok(())
}

/// Writes `contents` to `path`, saying which file failed.
fn write(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // `skywave-sim ... | head -1`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("skywave-sim: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => {
            let s = args.load(Scenario::from_toml)?;
            let opts = Options {
                seed: args.seed,
                capture: args.capture.is_some(),
                progress: args.progress(s.duration_s),
            };
            let (report, pcap) = sim::run(&s, opts)?;
            args.write_outputs(&report, &pcap, || report.svg())?;
            let o = &report.outcomes;
            outln!(
                "{}: {} messages, {} delivered, {} expired, {} open; median delivery {:.1} s, goodput {:.0} bit/s; {:.0} simulated s in {:.2} s",
                report.scenario,
                o.total,
                o.delivered,
                o.expired,
                o.open,
                report.latency_s.p50,
                report.goodput_bps,
                report.duration_s,
                report.wall_seconds
            )?;
        }
        Command::Coalition(args) => {
            let s = args.load(CoalitionScenario::from_toml)?;
            let progress = args.progress(s.duration_s);
            let (report, pcap) = coalition::run(&s, args.seed, args.capture.is_some(), progress)?;
            args.write_outputs(&report, &pcap, || report.svg())?;
            let everywhere = report
                .artifacts
                .iter()
                .filter(|a| a.everywhere_after_s.is_some())
                .count();
            outln!(
                "{}: {} stations, {} artifacts ({} everywhere), converged: {}; {:.0} s of D_PDUs on the air; {:.0} simulated s in {:.2} s",
                report.scenario,
                report.stations.len(),
                report.artifacts.len(),
                everywhere,
                report.converged,
                report.airtime_s_by_kind.values().sum::<f64>(),
                report.duration_s,
                report.wall_seconds
            )?;
            for a in report.artifacts.iter().filter(|a| a.published_s > 0.0) {
                match a.everywhere_after_s {
                    Some(t) => outln!(
                        "  {} (published {:.0} s at {}): everywhere after {t:.1} s",
                        a.label,
                        a.published_s,
                        a.origin
                    )?,
                    None => outln!(
                        "  {} (published {:.0} s at {}): at {} of {} stations",
                        a.label,
                        a.published_s,
                        a.origin,
                        a.admitted_s.len(),
                        report.stations.len()
                    )?,
                }
            }
            for c in &report.catch_ups {
                outln!(
                    "  {} off {:.0}..{:.0} s, missed {}: caught up after {}, {} B on the air (resending everything: {} B)",
                    c.station,
                    c.start_s,
                    c.end_s,
                    c.missed,
                    c.caught_up_after_s
                        .map_or("never".into(), |t| format!("{t:.1} s")),
                    c.bytes,
                    c.resend_everything_bytes
                )?;
            }
        }
        Command::Chain {
            hops,
            bit_rate,
            loss,
            turnaround_ms,
            seed,
            seeds,
            arq_only,
            json,
            scenario_out,
            plot,
        } => {
            let chain = Chain {
                hops,
                bit_rate,
                loss,
                turnaround_ms,
                ..Chain::bench(hops)
            };
            let node = if arq_only {
                NodeSpec::arq_only()
            } else {
                NodeSpec::default()
            };
            if let Some(path) = scenario_out {
                write(&path, toml::to_string(&chain.scenario(node))?)?;
            }
            let limit = chain.limit_s()?;
            if seeds > 1 {
                let times = chain.times(node, seed, seeds)?;
                let at = |q: f64| coalition::quantile(&times, q);
                if let Some(path) = plot {
                    let mut runs = vec![(
                        "fan-out rule",
                        chain.times(NodeSpec::default(), seed, seeds)?,
                    )];
                    runs.push(("ARQ only", chain.times(NodeSpec::arq_only(), seed, seeds)?));
                    write(&path, chain.svg(&runs, limit))?;
                }
                outln!(
                    "revocation across {hops} hops, seeds {seed}..{}: median {:.3} s, p95 {:.3} s, max {:.3} s (limit {limit:.3} s, median {:.2}x)",
                    seed + seeds - 1,
                    at(0.5),
                    at(0.95),
                    at(1.0),
                    at(0.5) / limit
                )?;
                return Ok(());
            }
            let (time, report) = chain.run(node, seed)?;
            if let Some(path) = json {
                write(&path, serde_json::to_string_pretty(&report)?)?;
            }
            match time {
                Some(t) => outln!(
                    "revocation across {hops} hops (seed {seed}): {t:.3} s (limit {limit:.3} s, {:.2}x)",
                    t / limit
                )?,
                None => outln!(
                    "revocation across {hops} hops (seed {seed}): not everywhere after {:.0} s (limit {limit:.3} s)",
                    chain.duration_s - chain.publish_s
                )?,
            }
        }
        Command::Fanout {
            json,
            plot,
            max_neighbours,
            seed,
            seeds,
        } => {
            let (points, runs, table) = sim::fanout::measure(max_neighbours, seed, seeds)?;
            out!("{table}")?;
            let value = serde_json::json!({
                "points": points,
                "runs": runs,
                "rules": sim::fanout::rules(),
            });
            write(&json, serde_json::to_string_pretty(&value)?)?;
            if let Some(path) = plot {
                write(&path, sim::fanout::svg(&points, seeds))?;
            }
        }
        Command::Demo => skywave_tools::demo::run()?,
        Command::Setup {
            json,
            capture_dir,
            seed,
        } => {
            let runs = sim::setup::measure(seed)?;
            let figures: Vec<_> = runs.iter().map(|(s, _)| s.clone()).collect();
            out!("{}", sim::setup::table(&figures))?;
            if let Some(path) = json {
                write(&path, serde_json::to_string_pretty(&figures)?)?;
            }
            if let Some(dir) = capture_dir {
                std::fs::create_dir_all(&dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                for (figures, pcap) in &runs {
                    write(&dir.join(format!("reset-{}.pcap", figures.placement)), pcap)?;
                }
            }
        }
        Command::Bench { json, seed } => {
            let (value, table) = sim::bench::bench(seed)?;
            out!("{table}")?;
            write(&json, serde_json::to_string_pretty(&value)?)?;
        }
    }
    Ok(())
}
