//! Two `skywave run` agents, as separate processes, joined by a pseudo-serial cable (socat):
//! an operator publishes the sample coalition at one end; the other end admits it all over
//! STANAG 5066, decides a release through the GBR-USA translator, and degrades to home-only
//! once the translator's revocation has crossed too. Everything goes through the shipped
//! binary: `run`, `publish`, `policies`, `decide`, `status`.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Process, eventually, skywave, udp_node, write_node};

use skywave_hil_tests::tool_available;
use skywave_protocol::policy::sample::{self, Coalition, GBR};
use skywave_protocol::policy::{Artifact, Revoked};

fn json(args: &[&str]) -> serde_json::Value {
    let out = skywave(args);
    assert!(
        out.status.success(),
        "skywave {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON reply")
}

fn start(config: &Path) -> Process {
    skywave_hil_tests::start_agent(Path::new(env!("CARGO_BIN_EXE_skywave")), config)
}

#[test]
fn two_agents_exchange_policy_and_a_revocation_over_a_pty() {
    if !tool_available("socat", "the PTY pair standing in for a cable") {
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (a_dev, b_dev) = (dir.join("tty-a"), dir.join("tty-b"));
    let _cable = skywave_hil_tests::socat_cable(&a_dev, &b_dev);

    let c = Coalition::new();
    let a_config = write_node(&dir, "a", 1, 2, &a_dev, &c);
    let b_config = write_node(&dir, "b", 2, 1, &b_dev, &c);
    let _a = start(&a_config);
    let b = start(&b_config);
    let a_socket = a_config.with_file_name("skywave.sock");
    let b_socket = b_config.with_file_name("skywave.sock");
    let (a_sock, b_sock) = (a_socket.to_str().unwrap(), b_socket.to_str().unwrap());

    let capture = dir.join("b-hf.pcap");
    let out = skywave(&[
        "capture",
        "--socket",
        b_sock,
        "--link",
        "hf0",
        "--seconds",
        "300",
        "--out",
        capture.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "capture: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let artifacts = c.artifacts();
    for (i, artifact) in artifacts.iter().enumerate() {
        let file = dir.join(format!("artifact-{i:02}.sky"));
        std::fs::write(&file, artifact).unwrap();
        let out = skywave(&["publish", "--socket", a_sock, file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "publish {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // A forged artifact is refused with its typed reason and goes nowhere.
    let mut forged = artifacts[7].clone();
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let file = dir.join("forged.sky");
    std::fs::write(&file, &forged).unwrap();
    let out = skywave(&["publish", "--socket", a_sock, file.to_str().unwrap()]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("forged.sky: refused: "), "{said}");

    let held = |socket: &str| {
        json(&["policies", "--socket", socket, "--json"])["policies"]["artifacts"]
            .as_array()
            .map_or(0, Vec::len)
    };
    eventually(
        Duration::from_secs(90),
        "B holds the whole coalition",
        || held(b_sock) == artifacts.len(),
    );

    let decide = |socket: &str| {
        json(&[
            "decide",
            "--socket",
            socket,
            "--json",
            "--domain",
            "GBR",
            "--classification",
            "1",
            "--category",
            "2:10",
            "--audience",
            "USA",
        ])
    };
    let before = decide(b_sock);
    assert_eq!(
        before["decision"]["decision"]["verdict"], "release",
        "{before}"
    );
    assert!(
        before["decision"]["decision"]["translator"].is_object(),
        "{before}"
    );

    // GBR revokes the GBR-USA translator at A; B must degrade to home-only.
    let revocation = sample::revocation(
        GBR,
        &c.gbr_root,
        1,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    let file = dir.join("revocation-1.sky");
    std::fs::write(
        &file,
        sample::sign(&c.gbr_root, &Artifact::Revocation(revocation)),
    )
    .unwrap();
    let out = skywave(&["publish", "--socket", a_sock, file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually(
        Duration::from_secs(60),
        "B's decision degrades to home-only",
        || {
            let d = decide(b_sock);
            d["decision"]["decision"]["basis"]
                .as_str()
                .is_some_and(|b| b == "home_only_translator_revoked")
        },
    );
    let status = json(&["status", "--socket", b_sock, "--json"]);
    assert_eq!(status["status"]["revocation"]["GBR"], 1, "{status}");
    assert!(
        status["status"]["links"][0]["frames_in"].as_u64().unwrap() > 0,
        "{status}"
    );
    assert!(
        status["status"]["decisions_logged"].as_u64().unwrap() >= 2,
        "{status}"
    );

    // B's capture holds both directions of the exchange, every frame sound.
    let decoded = skywave(&["frames", "decode", capture.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&decoded.stdout);
    let summary = text.lines().last().unwrap_or_default();
    let good: u64 = summary
        .strip_prefix("frames: ")
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(good > 10, "{summary}");
    assert!(
        summary.ends_with(" good, 0 bad-header, 0 bad-data, 0 noise-bytes"),
        "{summary}"
    );
    assert!(
        text.contains("0.0.0.1 -> 0.0.0.2") && text.contains("0.0.0.2 -> 0.0.0.1"),
        "{text}"
    );

    // The decision log re-verifies offline; an edited entry is found.
    drop(b);
    let b_conf = b_config.to_str().unwrap();
    let audit = skywave(&["audit", "verify", "--config", b_conf]);
    let said = String::from_utf8_lossy(&audit.stdout);
    assert!(
        audit.status.success() && said.contains("entries verified"),
        "{said}"
    );
    let db = rusqlite::Connection::open(b_config.with_file_name("skywave.db")).unwrap();
    let first: Vec<u8> = db
        .query_row(
            "SELECT entry FROM decisions ORDER BY position LIMIT 1",
            [],
            |row| row.get(0),
        )
        .unwrap();
    let mut edited = first.clone();
    let last = edited.len() - 1;
    edited[last] ^= 0x01;
    db.execute(
        "UPDATE decisions SET entry = ?1 WHERE entry = ?2",
        (&edited, &first),
    )
    .unwrap();
    let audit = skywave(&["audit", "verify", "--config", b_conf]);
    assert!(!audit.status.success());
    let said = String::from_utf8_lossy(&audit.stderr);
    assert!(said.contains("Altered { index: 0 }"), "{said}");
}

#[test]
fn a_full_store_refuses_new_work_and_keeps_what_it_has() {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("full-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let c = Coalition::new();
    // A UDP link to nobody: this test is about the store, not the air.
    let config = udp_node(&dir, &c, "127.0.0.1:0", "127.0.0.1:9");
    let text = std::fs::read_to_string(&config).unwrap();
    // Two 4 KiB pages beyond the empty store's 69,632 bytes (docs/store.md).
    let text = text.replace(
        "trust = \"trust\"",
        "trust = \"trust\"\nstore_max_bytes = 77824",
    );
    std::fs::write(&config, text).unwrap();
    let _agent = start(&config);
    let socket = config.with_file_name("skywave.sock");
    let sock = socket.to_str().unwrap();
    let mut refused = None;
    // Policies, not revocation deltas: a node keeps only the last deltas of a domain
    // (node::Config::revocation_history), so those never fill a store.
    let rules = sample::gbr_rules();
    for seq in 1..=2000u32 {
        let policy = sample::policy(&c.gbr_root, GBR, 1000 + seq, 1, 4, &rules);
        let file = dir.join("policy.sky");
        std::fs::write(&file, sample::sign(&c.gbr_root, &Artifact::Policy(policy))).unwrap();
        let out = skywave(&["publish", "--socket", sock, file.to_str().unwrap()]);
        if !out.status.success() {
            refused = Some((seq, String::from_utf8_lossy(&out.stderr).into_owned()));
            break;
        }
    }
    let (seq, message) = refused.expect("a 76 KiB store fills up");
    assert!(
        message.contains("not stored (the store is full"),
        "{message}"
    );
    let held = json(&["policies", "--socket", sock, "--json"])["policies"]["artifacts"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(held as u32, seq - 1, "everything published before stays");
    let status = json(&["status", "--socket", sock, "--json"]);
    assert_eq!(status["status"]["artifacts"], seq - 1);
}

#[test]
fn a_peer_flooding_junk_is_resynchronised_in_bounded_memory() {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("junk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let agent_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent_addr = format!("127.0.0.1:{agent_port}");
    let c = Coalition::new();
    let config = udp_node(
        &dir,
        &c,
        &agent_addr,
        &peer.local_addr().unwrap().to_string(),
    );
    let agent = start(&config);
    let socket = config.with_file_name("skywave.sock");
    let sock = socket.to_str().unwrap();
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", agent.0.id())).unwrap();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .unwrap()
    };
    let before = rss();
    // 16 MiB of noise, with false sync words, from the configured peer.
    let mut x = 0x9E37_79B9_u32;
    for i in 0..16 * 1024 {
        let datagram: Vec<u8> = (0..1024)
            .map(|j| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                if j % 97 == 0 {
                    0x90
                } else if j % 97 == 1 && i % 2 == 0 {
                    0xEB
                } else {
                    x as u8
                }
            })
            .collect();
        peer.send_to(&datagram, &agent_addr).unwrap();
    }
    // Then real frames: a link request from node 2 makes the agent answer.
    let frames = skywave_host::frames::sample::sample_frames().unwrap();
    for frame in frames.iter().take(40) {
        peer.send_to(frame, &agent_addr).unwrap();
    }
    eventually(
        Duration::from_secs(20),
        "the agent counts the real frames",
        || {
            json(&["status", "--socket", sock, "--json"])["status"]["links"][0]["frames_in"]
                .as_u64()
                .unwrap_or(0)
                >= 40
        },
    );
    let grew = rss().saturating_sub(before);
    assert!(
        grew < 8 * 1024,
        "resident memory grew by {grew} KiB over 16 MiB of junk"
    );
}
