//! What the agent costs a laptop while it carries traffic: a hub agent with four links (UDP
//! bearers on loopback, each modelled as a 9600 bit/s HF modem) to four neighbour agents, fed a
//! stream of new policy versions that it must forward on all four links. Prints a table of the
//! hub's CPU use and resident memory and of what each link carried.
//!
//! Run: `cargo bench -p skywave-host --bench agent_load` (add `-- SECONDS` to change the
//! 30-second measurement). docs/operator.md records the figures.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skywave_protocol::policy::sample::{self, Coalition, GBR};
use skywave_protocol::policy::{Artifact, Revoked};

const LINKS: usize = 4;
const BIT_RATE: u64 = 9600;
/// New artifacts to publish: within the trust store's 64 policies and 128 revocation entries.
const MAX_NEW: u32 = 100;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

fn write_config(home: &Path, address: u32, links: &[(u32, u16, u16)], c: &Coalition) -> PathBuf {
    let trust = home.join("trust");
    std::fs::create_dir_all(&trust).expect("node directory");
    for (i, root) in c.roots().iter().enumerate() {
        std::fs::write(trust.join(format!("root-{i}.cred")), root).expect("root file");
    }
    let mut text = format!("[node]\naddress = {address}\ntrust = \"trust\"\n");
    for (i, (peer, bind, to)) in links.iter().enumerate() {
        text += &format!(
            "\n[[link]]\nname = \"hf{i}\"\nneighbours = [{peer}]\n\
             modem = {{ bit_rate = {BIT_RATE}, preamble_ms = 100, interleaver_ms = 100, turnaround_ms = 200 }}\n\
             udp = {{ bind = \"127.0.0.1:{bind}\", peer = \"127.0.0.1:{to}\" }}\n"
        );
    }
    let config = home.join("node.toml");
    std::fs::write(&config, text).expect("config file");
    config
}

fn start(config: &Path) -> Process {
    let child = Command::new(env!("CARGO_BIN_EXE_skywave"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start skywave run");
    let socket = config.with_file_name("skywave.sock");
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
    Process(child)
}

fn skywave(args: &[&str]) -> Option<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_skywave"))
        .args(args)
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// User + system CPU seconds and peak resident kilobytes of `pid`, from /proc.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (cpu, hwm)
}

fn main() {
    let seconds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let dir = std::env::temp_dir().join(format!("skywave-load-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let c = Coalition::new();
    let ports: Vec<(u16, u16)> = (0..LINKS)
        .map(|_| (free_udp_port(), free_udp_port()))
        .collect();
    let hub_links: Vec<(u32, u16, u16)> = ports
        .iter()
        .enumerate()
        .map(|(i, (hub, leaf))| (i as u32 + 2, *hub, *leaf))
        .collect();
    let hub_config = write_config(&dir.join("hub"), 1, &hub_links, &c);
    let mut leaves = Vec::new();
    for (i, (hub, leaf)) in ports.iter().enumerate() {
        let config = write_config(
            &dir.join(format!("leaf{i}")),
            i as u32 + 2,
            &[(1, *leaf, *hub)],
            &c,
        );
        leaves.push(start(&config));
    }
    let hub = start(&hub_config);
    let socket = hub_config.with_file_name("skywave.sock");
    let sock = socket.to_str().unwrap_or_default();

    // The coalition first, then new artifacts as fast as the links take them: GBR policies
    // under new ids and GBR revocation deltas, alternately (new versions of one policy would
    // replace each other in the queue and leave the links idle).
    let publish = |bytes: &[u8], name: &str| {
        let file = dir.join(name);
        let _ = std::fs::write(&file, bytes);
        skywave(&[
            "publish",
            "--socket",
            sock,
            "--json",
            file.to_str().unwrap_or_default(),
        ]);
    };
    for (i, a) in c.artifacts().iter().enumerate() {
        publish(a, &format!("c{i}.sky"));
    }
    let (cpu0, _) = usage(hub.0.id());
    let started = Instant::now();
    let rules = sample::gbr_rules();
    let artifacts = (0..MAX_NEW).map(|i| {
        if i % 2 == 0 {
            let body = sample::policy(&c.gbr_signer, GBR, 10 + i, 1, 4, &rules);
            sample::sign(&c.gbr_signer, &Artifact::Policy(body))
        } else {
            let entry = Revoked::Policy {
                id: 1000 + i,
                version: 1,
            };
            let delta = sample::revocation(GBR, &c.gbr_root, i.div_ceil(2), &[entry]);
            sample::sign(&c.gbr_root, &Artifact::Revocation(delta))
        }
    });
    let mut artifacts = artifacts.peekable();
    let mut published = 0;
    while started.elapsed() < Duration::from_secs(seconds) && artifacts.peek().is_some() {
        let queued = skywave(&["status", "--socket", sock, "--json"])
            .and_then(|s| {
                s["status"]["links"].as_array().map(|l| {
                    l.iter()
                        .map(|x| x["queued"].as_u64().unwrap_or(0))
                        .max()
                        .unwrap_or(0)
                })
            })
            .unwrap_or(0);
        // Keep a few C_PDUs waiting on every link, so they are never idle for lack of data.
        if queued < 4 {
            for artifact in artifacts.by_ref().take(4) {
                publish(&artifact, "new.sky");
                published += 1;
            }
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (cpu1, hwm) = usage(hub.0.id());
    let status = skywave(&["status", "--socket", sock, "--json"]).unwrap_or_default();

    println!(
        "agent load: hub with {LINKS} links at {BIT_RATE} bit/s, {elapsed:.0} s, {published} artifacts published"
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!(
        "| hub CPU (user+system) | {:.2} % of one core |",
        100.0 * (cpu1 - cpu0) / elapsed
    );
    println!(
        "| hub peak resident memory | {:.1} MiB |",
        hwm as f64 / 1024.0
    );
    for l in status["status"]["links"].as_array().into_iter().flatten() {
        let bytes_out = l["bytes_out"].as_u64().unwrap_or(0);
        println!(
            "| link {}: D_PDUs out / in, airtime used sending | {} / {}, {:.0} % |",
            l["name"].as_str().unwrap_or("?"),
            l["frames_out"],
            l["frames_in"],
            100.0 * (bytes_out * 8) as f64 / (BIT_RATE as f64 * elapsed)
        );
    }
    drop(hub);
    drop(leaves);
    let _ = std::fs::remove_dir_all(&dir);
}
