//! `skywave-sim`: run HF network scenarios on virtual time, or the link layer's benchmark.
//!
//! ```text
//! skywave-sim run SCENARIO.toml --seed N --json OUT.json [--capture OUT.pcap] [--plot OUT.svg]
//! skywave-sim bench --json OUT.json [--seed N]
//! ```

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use skywave_tools::sim::{self, Options, scenario::Scenario};

#[derive(Parser)]
#[command(version, about = "Discrete-event simulator of STANAG 5066 HF networks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario and write what it measured.
    Run {
        /// The scenario (TOML).
        scenario: PathBuf,
        /// The seed: one seed reproduces a run exactly.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where to write the JSON report.
        #[arg(long)]
        json: PathBuf,
        /// Also write every D_PDU put on the air as pcap (link type 237).
        #[arg(long)]
        capture: Option<PathBuf>,
        /// Also draw delivery times and goodput as SVG.
        #[arg(long)]
        plot: Option<PathBuf>,
        /// Never show a progress bar.
        #[arg(long)]
        quiet: bool,
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

/// Simulated seconds from which a run is long enough to deserve a progress bar.
const PROGRESS_FROM_S: f64 = 6.0 * 3600.0;

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run {
            scenario,
            seed,
            json,
            capture,
            plot,
            quiet,
        } => {
            let text = std::fs::read_to_string(&scenario)
                .with_context(|| format!("reading {}", scenario.display()))?;
            let s = Scenario::from_toml(&text)
                .with_context(|| format!("parsing {}", scenario.display()))?;
            let opts = Options {
                seed,
                capture: capture.is_some(),
                progress: !quiet
                    && s.duration_s >= PROGRESS_FROM_S
                    && std::io::stderr().is_terminal(),
            };
            let (report, pcap) = sim::run(&s, opts)?;
            std::fs::write(&json, serde_json::to_string_pretty(&report)?)
                .with_context(|| format!("writing {}", json.display()))?;
            if let Some(path) = capture {
                std::fs::write(&path, pcap)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if let Some(path) = plot {
                std::fs::write(&path, report.svg())
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            let o = &report.outcomes;
            println!(
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
            );
        }
        Command::Bench { json, seed } => {
            let (value, table) = sim::bench::bench(seed)?;
            print!("{table}");
            std::fs::write(&json, serde_json::to_string_pretty(&value)?)
                .with_context(|| format!("writing {}", json.display()))?;
        }
    }
    Ok(())
}
