//! Helpers shared by the tests that run `skywave` as separate processes.

#![allow(dead_code, reason = "each test binary uses the helpers it needs")]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use skywave_protocol::policy::sample::Coalition;

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing running.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the `skywave` binary under test with `args`.
pub fn skywave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skywave"))
        .args(args)
        .output()
        .expect("run skywave")
}

/// Polls `check` every 100 ms for up to `limit`; panics naming `what` if it never holds.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("not within {limit:?}: {what}");
}

/// Writes a node's home under `dir/name`: the sample coalition's roots as its trust anchors
/// and a configuration with one fast serial link on `device` to `peer`. Returns the
/// configuration's path.
pub fn write_node(
    dir: &Path,
    name: &str,
    address: u32,
    peer: u32,
    device: &Path,
    c: &Coalition,
) -> PathBuf {
    let home = dir.join(name);
    let trust = home.join("trust");
    std::fs::create_dir_all(&trust).unwrap();
    for (i, root) in c.roots().iter().enumerate() {
        std::fs::write(trust.join(format!("root-{i}.cred")), root).unwrap();
    }
    let config = home.join("node.toml");
    std::fs::write(
        &config,
        format!(
            r#"[node]
address = {address}
trust = "trust"

[[link]]
name = "hf"
neighbours = [{peer}]
modem = {{ bit_rate = 9600, preamble_ms = 50, interleaver_ms = 50, turnaround_ms = 50, max_transmission_ms = 10000 }}
serial = {{ device = "{}", baud = 115200 }}
"#,
            device.display()
        ),
    )
    .unwrap();
    config
}
