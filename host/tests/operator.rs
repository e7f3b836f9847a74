//! The operator's command line as a script or a signals officer uses it: decisions that explain
//! themselves, the decision log read back, output into a pipe that closes early, and requests
//! the agent must refuse rather than quietly change.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use common::{Process, skywave, udp_node};
use skywave_protocol::policy::sample::Coalition;

/// One agent with a UDP link to nobody, holding the whole sample coalition.
struct Node {
    config: PathBuf,
    socket: String,
    _agent: Process,
}

impl Node {
    fn start(name: &str) -> Node {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("operator-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let c = Coalition::new();
        let config = udp_node(&dir, &c, "127.0.0.1:0", "127.0.0.1:9");
        let agent =
            skywave_hil_tests::start_agent(Path::new(env!("CARGO_BIN_EXE_skywave")), &config);
        let socket = config.with_file_name("skywave.sock");
        let node = Node {
            socket: socket.to_str().unwrap().to_owned(),
            config,
            _agent: agent,
        };
        for (i, artifact) in c.artifacts().iter().enumerate() {
            let file = dir.join(format!("artifact-{i:02}.sky"));
            std::fs::write(&file, artifact).unwrap();
            node.ok(&["publish", "--socket", &node.socket, file.to_str().unwrap()]);
        }
        node
    }

    fn config(&self) -> &str {
        self.config.to_str().unwrap()
    }

    /// Runs `skywave args`, fails the test unless it succeeds, returns its stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = skywave(args);
        assert!(
            out.status.success(),
            "skywave {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn decide(&self, classification: &str, categories: &[&str], audience: &str) -> Output {
        let mut args = vec![
            "decide",
            "--socket",
            &self.socket,
            "--domain",
            "GBR",
            "--classification",
            classification,
            "--audience",
            audience,
        ];
        for category in categories {
            args.extend(["--category", category]);
        }
        skywave(&args)
    }
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn decide_says_why_and_on_what_in_words() {
    let node = Node::start("decide");
    let released = stdout(&node.decide("1", &["2:10"], "USA"));
    assert!(
        released.starts_with("release GBR policy 1 classification 1"),
        "{released}"
    );
    assert!(
        released.contains("through translator GBR #1 v1"),
        "{released}"
    );
    assert!(released.contains("home policy: GBR #1 v1"), "{released}");
    assert!(
        released.contains("revocation: AUS #0, GBR #0, USA #0"),
        "{released}"
    );

    let denied = stdout(&node.decide("99", &[], "USA"));
    assert!(denied.starts_with("deny "), "{denied}");
    assert!(
        denied.contains("because GBR policy 1 defines no classification 99"),
        "{denied}"
    );
    assert!(denied.contains("home policy: GBR #1 v1"), "{denied}");
}

#[test]
fn audit_reads_the_decision_log_back() {
    let node = Node::start("audit");
    stdout(&node.decide("1", &["2:10"], "USA"));
    stdout(&node.decide("99", &[], "FRA"));

    let list = node.ok(&["audit", "list", "--config", node.config()]);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(lines[0].starts_with("#0 "), "{list}");
    assert!(
        lines[0].contains("release GBR policy 1 classification 1 [2:10] to USA"),
        "{list}"
    );
    assert!(lines[1].starts_with("#1 "), "{list}");
    assert!(
        lines[1].contains("deny GBR policy 1 classification 99 [] to FRA"),
        "{list}"
    );

    let shown = node.ok(&["audit", "show", "1", "--config", node.config()]);
    assert!(shown.contains("decision #1 of 2"), "{shown}");
    assert!(shown.contains("defines no classification 99"), "{shown}");
    assert!(shown.contains("home policy: GBR #1 v1"), "{shown}");
    assert!(shown.contains("previous entry: "), "{shown}");

    let listed: serde_json::Value =
        serde_json::from_str(&node.ok(&["audit", "list", "--json", "--config", node.config()]))
            .unwrap();
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert_eq!(
        listed[1]["decision"]["deny_reason"],
        "UnknownClassification"
    );
    assert_eq!(listed[1]["decision"]["audience"], "FRA");
    assert_eq!(
        listed[0]["decision"]["label"]["categories"][0],
        serde_json::json!([2, 10])
    );

    // The export chains: each entry's `prev` is the one before's `hash`.
    let export: serde_json::Value =
        serde_json::from_str(&node.ok(&["audit", "export", "--json", "--config", node.config()]))
            .unwrap();
    assert_eq!(export["entries"][1]["prev"], export["entries"][0]["hash"]);
    assert_eq!(export["head"], export["entries"][1]["hash"]);
    assert_eq!(export["count"], 2);

    let future = node.ok(&[
        "audit",
        "list",
        "--since",
        "2999-01-01",
        "--config",
        node.config(),
    ]);
    assert_eq!(future, "");
    let past = node.ok(&[
        "audit",
        "list",
        "--since",
        "2000-01-01T00:00:00Z",
        "--config",
        node.config(),
    ]);
    assert_eq!(past, list);
    let missing = skywave(&["audit", "show", "7", "--config", node.config()]);
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no decision #7 (the log holds 2)"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}

#[test]
fn a_label_with_more_than_thirty_two_categories_is_refused_not_emptied() {
    let node = Node::start("categories");
    let many: Vec<String> = (1..=33).map(|v| format!("2:{v}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let out = node.decide("1", &many, "USA");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("33 category values: a label carries at most 32"),
        "{said}"
    );
    let status: serde_json::Value =
        serde_json::from_str(&node.ok(&["status", "--socket", &node.socket, "--json"])).unwrap();
    assert_eq!(status["status"]["decisions_logged"], 0, "nothing logged");
}

#[test]
fn status_into_a_closed_pipe_exits_quietly() {
    // `skywave status | head -1`, with the reader gone before the report is written.
    let node = Node::start("pipe");
    for command in ["status", "policies"] {
        skywave_hil_tests::assert_quiet_into_closed_pipe(
            std::process::Command::new(env!("CARGO_BIN_EXE_skywave")).args([
                command,
                "--socket",
                &node.socket,
            ]),
        );
    }
}

#[test]
fn publish_takes_files_and_directories_and_refuses_oversized_ones() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("operator-publish-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("artifacts")).unwrap();
    let c = Coalition::new();
    let config = udp_node(&dir, &c, "127.0.0.1:0", "127.0.0.1:9");
    let _agent = skywave_hil_tests::start_agent(Path::new(env!("CARGO_BIN_EXE_skywave")), &config);
    let socket = config.with_file_name("skywave.sock");
    let artifacts = c.artifacts();
    let (first, rest) = artifacts.split_first().unwrap();
    let single = dir.join("first.sky");
    std::fs::write(&single, first).unwrap();
    for (i, artifact) in rest.iter().enumerate() {
        std::fs::write(dir.join(format!("artifacts/{i:02}.sky")), artifact).unwrap();
    }
    let out = skywave(&[
        "publish",
        "--socket",
        socket.to_str().unwrap(),
        single.to_str().unwrap(),
        dir.join("artifacts").to_str().unwrap(),
    ]);
    let said = stdout(&out);
    assert_eq!(said.lines().count(), artifacts.len(), "{said}");
    assert!(said.lines().all(|l| l.contains(": admitted ")), "{said}");
    assert!(said.contains("artifacts/00.sky: admitted "), "{said}");

    // 200 KB: refused by the command itself, never "admitted".
    let big = dir.join("big.sky");
    std::fs::write(&big, vec![0x5a; 200 * 1024]).unwrap();
    let out = skywave(&[
        "publish",
        "--socket",
        socket.to_str().unwrap(),
        big.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("big.sky: 204800 bytes, over the artifact limit"),
        "{said}"
    );
    assert!(!said.contains("admitted"), "{said}");
}

#[test]
fn status_watch_refreshes_until_stopped() {
    use std::io::BufRead as _;
    let node = Node::start("watch");
    let mut child = Process(
        std::process::Command::new(env!("CARGO_BIN_EXE_skywave"))
            .args(["status", "--socket", &node.socket, "--json", "--watch", "1"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut lines = std::io::BufReader::new(child.0.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        let report: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(report["status"]["artifacts"], 12, "{line}");
    }
}

#[test]
fn status_reads_with_units_ages_and_domains() {
    let node = Node::start("status");
    let text = node.ok(&["status", "--socket", &node.socket]);
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{text}"))
            .to_owned()
    };
    assert!(line("domain GBR:").contains("policy #1 v"), "{text}");
    assert!(line("domain GBR:").ends_with("revocation seq 0"), "{text}");
    assert!(line("link hf0:").contains("bearer up"), "{text}");
    assert!(line("queue:").contains(" of "), "{text}");
    let out = line("out:");
    assert!(
        out.contains(" frames, ") && out.contains(" B") && out.contains("retransmitted"),
        "{text}"
    );
    assert!(line("neighbour 0.0.0.2:").contains("never heard"), "{text}");

    // The same facts for scripts, under stable keys.
    let json: serde_json::Value =
        serde_json::from_str(&node.ok(&["status", "--socket", &node.socket, "--json"])).unwrap();
    let status = &json["status"];
    assert_eq!(status["domains"]["GBR"]["revocation_seq"], 0, "{json}");
    assert!(status["domains"]["GBR"]["policies"]["1"].is_u64(), "{json}");
    let link = &status["links"][0];
    for key in [
        "name",
        "bearer",
        "physical_link",
        "queued",
        "queue_capacity",
        "queued_by_priority",
        "frames_in",
        "frames_damaged",
        "frames_out",
        "bytes_in",
        "bytes_out",
        "noise_bytes",
        "bad_headers",
        "retransmissions",
        "neighbours",
    ] {
        assert!(link.get(key).is_some(), "links[0].{key} missing: {json}");
    }
}
