//! Three agents in a relay chain, A - B - C, joined by two `skywave-linkemu` instances at
//! 2400 bit/s with 10 % frame loss and bursts of line noise, all as separate processes over
//! PTYs. A publishes the coalition (policies and translators) and later a revocation of the
//! GBR-USA translator; every node's decision on releasing GBR data to USA changes accordingly:
//! through the translator first, bridging GBR's spiral 4 and USA's spiral 5 (the lineage says
//! so), on GBR's authority alone after the revocation. The noise is resynchronised and nothing
//! damaged is admitted.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use skywave_hil_tests::{
    Process, SerialLink, binary, eventually, require_or_skip, start_agent, write_node,
};
use skywave_protocol::policy::sample::{self, Coalition, GBR};
use skywave_protocol::policy::{Artifact, Revoked};

const MODEM: &str =
    "{ bit_rate = 2400, preamble_ms = 200, interleaver_ms = 200, turnaround_ms = 200 }";

fn skywave(args: &[&str]) -> Output {
    Command::new(binary("skywave"))
        .args(args)
        .output()
        .expect("run skywave")
}

/// A link emulator making its own PTY pair; returns it with the two device paths.
fn emulator(seed: u64) -> (Process, PathBuf, PathBuf) {
    let mut child = Command::new(binary("skywave-linkemu"))
        .args([
            "--bit-rate",
            "2400",
            "--latency-ms",
            "200",
            "--channel",
            "bernoulli:0.1",
        ])
        .args(["--seed", &seed.to_string(), "--stats-secs", "0"])
        // Bursts of noise, with false sync words among them by chance, early in the transfer.
        .args(["--noise", "2:400", "--noise", "6:400", "--noise", "9:1200"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start skywave-linkemu");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut port = |name: &str| {
        let line = lines.next().and_then(Result::ok).unwrap_or_default();
        PathBuf::from(
            line.strip_prefix(&format!("port {name}: "))
                .unwrap_or_default(),
        )
    };
    let (a, b) = (port("a"), port("b"));
    (Process(child), a, b)
}

fn start(config: &Path) -> Process {
    start_agent(&binary("skywave"), config)
}

/// The basis of a decision on releasing SECRET HERRICK GBR data to USA at `socket`.
/// A decision on releasing SECRET HERRICK GBR data to USA at `socket`.
fn decision(socket: &Path) -> serde_json::Value {
    let out = skywave(&[
        "decide",
        "--socket",
        socket.to_str().unwrap_or_default(),
        "--json",
        "--domain",
        "GBR",
        "--classification",
        "3",
        "--category",
        "2:11",
        "--audience",
        "USA",
    ]);
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    reply["decision"]["decision"].clone()
}

fn basis(socket: &Path) -> String {
    decision(socket)["basis"].as_str().unwrap_or("").to_owned()
}

#[test]
fn a_relay_chain_over_the_link_emulator_carries_policy_translators_and_a_revocation() {
    let built = binary("skywave").exists() && binary("skywave-linkemu").exists();
    if !require_or_skip(
        built,
        "the skywave and skywave-linkemu binaries (cargo test --workspace)",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("skywave-relay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    let (_emu1, a_dev, b1_dev) = emulator(11);
    let (_emu2, b2_dev, c_dev) = emulator(12);
    let c = Coalition::new();
    let link = |device, neighbours| SerialLink {
        device,
        neighbours,
        modem: MODEM,
    };
    let configs = [
        write_node(&dir, "a", 1, &[link(&a_dev, &[2])], &c),
        write_node(
            &dir,
            "b",
            2,
            &[link(&b1_dev, &[1]), link(&b2_dev, &[3])],
            &c,
        ),
        write_node(&dir, "c", 3, &[link(&c_dev, &[2])], &c),
    ];
    let _agents: Vec<Process> = configs.iter().map(|c| start(c)).collect();
    let sockets: Vec<PathBuf> = configs
        .iter()
        .map(|c| c.with_file_name("skywave.sock"))
        .collect();

    let publish = |bytes: &[u8], name: &str| {
        let file = dir.join(name);
        std::fs::write(&file, bytes).expect("artifact file");
        let out = skywave(&[
            "publish",
            "--socket",
            sockets[0].to_str().unwrap_or_default(),
            file.to_str().unwrap_or_default(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    for (i, artifact) in c.artifacts().iter().enumerate() {
        publish(artifact, &format!("artifact-{i:02}.sky"));
    }
    for socket in &sockets {
        eventually(
            Duration::from_secs(240),
            "every node decides through the translator",
            || basis(socket) == "translated",
        );
        // Spiral cohabitation: GBR at spiral 4 and USA at spiral 5, bridged by the translator.
        let d = decision(socket);
        assert_eq!(d["spiral_gap"], "4 -> 5", "{d}");
        assert_eq!(d["translator"]["id"], 1, "{d}");
    }
    let revocation = sample::revocation(
        GBR,
        &c.gbr_root,
        1,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    publish(
        &sample::sign(&c.gbr_root, &Artifact::Revocation(revocation)),
        "revocation.sky",
    );
    for socket in &sockets {
        eventually(
            Duration::from_secs(240),
            "every node falls back to home-only",
            || basis(socket) == "home_only_translator_revoked",
        );
    }
    // Nothing but the coalition and the revocation was admitted anywhere: the noise, and the
    // frames it damaged, never became artifacts.
    for socket in &sockets {
        let out = skywave(&[
            "policies",
            "--socket",
            socket.to_str().unwrap_or_default(),
            "--json",
        ]);
        let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        let held = reply["policies"]["artifacts"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(held, c.artifacts().len() + 1);
    }
}
