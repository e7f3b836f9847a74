//! Revocation propagation in real time over a relay chain of agents and link emulators, next
//! to the simulator's prediction for the same chain and seeds (issue 7's measurement).
//!
//! ```text
//! cargo build --release --workspace
//! cargo bench -p skywave-hil-tests --bench revocation_realtime -- [--seeds 10] [--first-seed 1]
//!     [--hops 3] [--capture DIR]
//! ```
//!
//! Every node starts holding the coalition (published locally at each, as a rehearsal would
//! provision them); once the nodes have exchanged inventories, their physical links have
//! broken for idleness and no frame has crossed for 10 s (as in the simulator's chain, where
//! the revocation goes out at 300 s), the first node publishes GBR's revocation of the GBR-USA translator and every node's status
//! is polled until it has admitted it. The times are taken from the agents' own logs: from the
//! line where the first node admitted the revocation (as the simulator's publication is its
//! admission at the origin) to the line where each other node admitted it, so neither the
//! `publish` command's own time nor the polling is counted. The same chain (2400 bit/s, 600 ms preamble
//! and interleaver, 200 ms turnaround, 10 % Bernoulli D_PDU loss) runs in `skywave-sim chain`
//! with the same seeds and the node's default fan-out rule, which the agent applies as the
//! simulator's stations do (each link one channel: a revocation every neighbour on it lacks
//! goes as one expedited non-ARQ broadcast with three repeats, no physical link first), so
//! that is the protocol behaviour to predict. It prints one row per seed and the medians.

use std::time::{Duration, Instant};

use skywave_hil_tests::{
    Agent, Emulator, agents_built, binary, chain_with_modem, eventually, test_dir,
    translator_revocation,
};
use skywave_protocol::policy::sample::Coalition;

/// The agents' modem: MIL-STD-188-110 at 2400 bit/s, short interleaver, 200 ms turnaround
/// (the simulator's `Modem::hf_2400_short`).
const MODEM: &str =
    "{ bit_rate = 2400, preamble_ms = 600, interleaver_ms = 600, turnaround_ms = 200 }";

struct Args {
    first_seed: u64,
    seeds: u64,
    hops: usize,
    /// Where every agent captures each of its links (`seed{S}-n{I}-hf{L}.pcap`) from just
    /// before the revocation until two minutes after.
    capture: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut args = Args {
        first_seed: 1,
        seeds: 10,
        hops: 3,
        capture: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().and_then(|v| v.parse().ok());
        match a.as_str() {
            "--seeds" => args.seeds = value().unwrap_or(args.seeds as usize) as u64,
            "--hops" => args.hops = value().unwrap_or(args.hops),
            "--first-seed" => args.first_seed = value().unwrap_or(args.first_seed as usize) as u64,
            "--capture" => args.capture = it.next().map(Into::into),
            // cargo bench passes --bench; anything else is a mistake worth saying.
            "--bench" => {}
            other => eprintln!("ignored argument {other:?}"),
        }
    }
    args
}

/// Seconds from the revocation's admission at the first node until each other node admitted it.
fn real_time(seed: u64, hops: usize, capture: Option<&std::path::Path>) -> Vec<f64> {
    let dir = test_dir(&format!("rt-revocation-{seed}"));
    let seeds: Vec<String> = (0..hops as u64)
        .map(|h| (seed * 100 + h).to_string())
        .collect();
    let emulators: Vec<Emulator> = seeds
        .iter()
        .map(|s| {
            Emulator::start_with_modem(600, 600, 200, &["--channel", "bernoulli:0.1", "--seed", s])
        })
        .collect();
    let hops_ref: Vec<&Emulator> = emulators.iter().collect();
    let c = Coalition::new();
    let agents = chain_with_modem(&dir, &c, &hops_ref, MODEM);
    let artifacts = c.artifacts();
    for agent in &agents {
        agent.publish_all(&artifacts, &dir);
    }
    // Inventories exchanged, nothing queued anywhere, every physical link broken for idleness,
    // and no frame on any link for 10 s: a link counts as broken at the side that breaks it
    // while the break and its confirmation are still on the air, and a revocation sent then
    // would share its first hop's turns with them (the simulator's revocation goes out long
    // after the last break).
    let mut last_frames = (u64::MAX, Instant::now());
    eventually(Duration::from_secs(600), "the chain goes quiet", || {
        let statuses: Vec<_> = agents.iter().map(Agent::status).collect();
        let idle = statuses.iter().all(|s| {
            s["queued_messages"] == 0
                && s["links"].as_array().is_some_and(|l| {
                    l.iter()
                        .all(|l| l["queued"] == 0 && l["physical_link"].is_null())
                })
        });
        let frames: u64 = statuses
            .iter()
            .flat_map(|s| s["links"].as_array().cloned().unwrap_or_default())
            .map(|l| l["frames_in"].as_u64().unwrap_or(0) + l["frames_out"].as_u64().unwrap_or(0))
            .sum();
        if frames != last_frames.0 {
            last_frames = (frames, Instant::now());
        }
        idle && last_frames.1.elapsed() >= Duration::from_secs(10)
    });
    if let Some(dir) = capture {
        for (i, agent) in agents.iter().enumerate() {
            let links = if i == 0 || i == hops { 1 } else { 2 };
            for l in 0..links {
                let out = dir.join(format!("seed{seed}-n{i}-hf{l}.pcap"));
                let out = out.to_string_lossy();
                let link = format!("hf{l}");
                agent.ask(
                    "capture",
                    &["--link", &link, "--out", &out, "--seconds", "120"],
                );
            }
        }
    }
    let revoked = |a: &Agent| a.status()["revocation"]["GBR"].as_u64() == Some(1);
    let published = Instant::now();
    agents[0].publish(&translator_revocation(&c), &dir.join("revocation.sky"));
    let deadline = Duration::from_secs(600);
    while !agents[1..].iter().all(revoked) && published.elapsed() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let admitted: Vec<Option<f64>> = agents.iter().map(revocation_admitted).collect();
    let origin = admitted.first().copied().flatten();
    admitted
        .iter()
        .skip(1)
        .map(|t| match (origin, t) {
            // Seconds of the day; a run that crosses midnight wraps.
            (Some(o), Some(t)) => (t - o).rem_euclid(86_400.0),
            _ => f64::NAN,
        })
        .collect()
}

/// When `agent` admitted a revocation, as seconds of the (UTC) day, from the `admitted` line in
/// its log (`2026-11-26T13:20:01.123456Z  INFO ...: admitted kind=Revocation ...`).
fn revocation_admitted(agent: &Agent) -> Option<f64> {
    let log = std::fs::read_to_string(agent.config.with_extension("log")).ok()?;
    let line = log
        .lines()
        .find(|l| l.contains("admitted") && l.contains("kind=Revocation"))?;
    let clock = line.split_once('T')?.1.split_once('Z')?.0;
    let mut parts = clock.split(':');
    let mut next = || parts.next().and_then(|p| p.parse::<f64>().ok());
    let (h, m, s) = (next()?, next()?, next()?);
    Some(h * 3600.0 + m * 60.0 + s)
}

/// The simulator's arrival time at the last node for the same chain and seed, if it ran:
/// `skywave-sim chain` prints `revocation across H hops (seed S): T s (limit ...)`.
fn simulated(seed: u64, hops: usize) -> Option<f64> {
    let out = std::process::Command::new(binary("skywave-sim"))
        .args([
            "chain",
            "--hops",
            &hops.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args([
            "--bit-rate",
            "2400",
            "--loss",
            "0.1",
            "--turnaround-ms",
            "200",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().find(|l| l.starts_with("revocation across"))?;
    let (_, rest) = line.split_once("): ")?;
    rest.split_once(" s")?.0.parse().ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() {
    let args = args();
    if !agents_built() {
        eprintln!("build the workspace in release first: cargo build --release --workspace");
        return;
    }
    println!(
        "revocation over {} hops, 2400 bit/s, 10 % loss, 0.2 s turnaround",
        args.hops
    );
    println!("| seed | real time per node (s) | real time, last node (s) | simulator (s) |");
    println!("|---|---|---|---|");
    let (mut real, mut sim) = (Vec::new(), Vec::new());
    for seed in args.first_seed..args.first_seed + args.seeds {
        let times = real_time(seed, args.hops, args.capture.as_deref());
        let last = times.last().copied().unwrap_or(f64::NAN);
        let predicted = simulated(seed, args.hops).unwrap_or(f64::NAN);
        let per_node: Vec<String> = times.iter().map(|t| format!("{t:.1}")).collect();
        println!(
            "| {seed} | {} | {last:.1} | {predicted:.1} |",
            per_node.join(", ")
        );
        real.push(last);
        sim.push(predicted);
    }
    let (real, sim) = (median(real), median(sim));
    println!(
        "median: real time {real:.1} s, simulator {sim:.1} s, real/simulator {:.2}",
        real / sim
    );
}
