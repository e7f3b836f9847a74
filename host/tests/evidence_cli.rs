//! `skywave evidence` and `skywave audit` against a real agent's store: evidence the agent met
//! survives a restart and is listed and exported offline; the decision log is anchored and
//! checked against the anchor; a missing store is an error and nothing is created.

use std::path::Path;

use skywave_hil_tests::{Process, SerialLink};
use skywave_protocol::policy::sample::{self, Coalition};
use skywave_protocol::policy::{Conflict, Digest, EvidenceFile};

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_skywave"))
}

fn skywave(args: &[&str]) -> std::process::Output {
    skywave_hil_tests::skywave_at(exe(), args)
}

/// Starts `skywave run` on `config`; dropping it kills the agent (SIGKILL).
fn start(config: &Path) -> Process {
    skywave_hil_tests::start_agent(exe(), config)
}

/// Publishes the file at `path` holding `bytes` to the agent behind `socket`.
fn publish(socket: &str, path: &Path, bytes: &[u8]) -> std::process::Output {
    std::fs::write(path, bytes).unwrap();
    skywave(&["publish", "--socket", socket, path.to_str().unwrap()])
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn evidence_survives_a_restart_and_the_decision_log_is_checked_against_its_anchor() {
    let c = Coalition::new();
    let dir = tempfile::TempDir::new().unwrap();
    // No radio: the serial bearer waits for a device that never appears.
    let missing_device = dir.path().join("no-such-tty");
    let link = SerialLink {
        device: &missing_device,
        neighbours: &[2],
        modem: "{ bit_rate = 2400 }",
    };
    let config = skywave_hil_tests::write_node(dir.path(), "a", 1, &[link], &c);
    let conf = config.to_str().unwrap();
    let db = config.with_file_name("skywave.db");

    // Nothing to audit yet, and auditing creates nothing.
    for args in [
        &["audit", "verify", "--config", conf][..],
        &["audit", "anchor", "--config", conf],
        &["evidence", "list", "--config", conf],
    ] {
        let out = skywave(args);
        assert!(!out.status.success(), "{args:?}: {}", text(&out));
        assert!(text(&out).contains("no store at"), "{}", text(&out));
        assert!(!db.exists(), "{args:?} created the store");
    }

    let held = c.gbr_policy(7, &sample::gbr_rules());
    let twin = c.gbr_policy(7, &sample::gbr_rules()[..1]);
    let stale = c.gbr_policy(6, &sample::gbr_rules());
    {
        let _agent = start(&config);
        let socket = config.with_file_name("skywave.sock");
        let socket = socket.to_str().unwrap();
        for (i, artifact) in c.artifacts().iter().chain([&held]).enumerate() {
            let out = publish(socket, &dir.path().join(format!("{i}.art")), artifact);
            assert!(out.status.success(), "{}", text(&out));
        }
        for (name, bytes, refusal) in [
            ("twin", &twin, "equivocation"),
            ("stale", &stale, "rollback"),
        ] {
            let out = publish(socket, &dir.path().join(name), bytes);
            assert!(!out.status.success());
            assert!(text(&out).contains(refusal), "{}", text(&out));
        }
        for audience in ["USA", "AUS", "GBR"] {
            let out = skywave(&[
                "decide",
                "--socket",
                socket,
                "--domain",
                "GBR",
                "--classification",
                "1",
                "--audience",
                audience,
            ]);
            assert!(out.status.success(), "{}", text(&out));
        }
    }
    // Killed and restarted, the agent still has the evidence, and it can be read while it runs.
    let agent = start(&config);
    let listed = skywave(&["evidence", "list", "--config", conf, "--json"]);
    assert!(listed.status.success(), "{}", text(&listed));
    let json: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let conflicts: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["conflict"].as_str().unwrap())
        .collect();
    assert_eq!(conflicts, ["equivocation", "rollback"]);
    assert_eq!(json[0]["domain"], "GBR");
    assert_eq!(json[0]["offered_digest"], Digest::of(&twin).to_string());
    let out_dir = dir.path().join("evidence");
    let exported = skywave(&[
        "evidence",
        "export",
        "--config",
        conf,
        out_dir.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{}", text(&exported));
    let mut files: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 2);
    let first = std::fs::read(&files[0]).unwrap();
    let file = EvidenceFile::read(&first).unwrap();
    assert_eq!(file.conflict, Conflict::Equivocation);
    assert_eq!(
        (file.held, file.offered),
        (held.as_slice(), twin.as_slice())
    );
    drop(agent);

    // Into a pipe whose reader is gone (`| head -1`): quiet, exit 0, no panic.
    for args in [
        ["audit", "verify"],
        ["audit", "anchor"],
        ["evidence", "list"],
    ] {
        skywave_hil_tests::assert_quiet_into_closed_pipe(
            std::process::Command::new(exe())
                .args(args)
                .args(["--config", conf]),
        );
    }

    // The anchor, then a cut tail: caught with the anchor only.
    let anchored = skywave(&["audit", "anchor", "--config", conf, "--json"]);
    assert!(anchored.status.success(), "{}", text(&anchored));
    let anchor: serde_json::Value = serde_json::from_slice(&anchored.stdout).unwrap();
    assert_eq!(anchor["count"], 3);
    let anchor = anchor["anchor"].as_str().unwrap().to_owned();
    let verified = skywave(&["audit", "verify", "--config", conf, "--anchor", &anchor]);
    assert!(verified.status.success(), "{}", text(&verified));
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "DELETE FROM decisions WHERE position = (SELECT max(position) FROM decisions)",
            [],
        )
        .unwrap();
    let blind = skywave(&["audit", "verify", "--config", conf]);
    assert!(blind.status.success(), "{}", text(&blind));
    assert!(
        text(&blind).contains("without an anchor this cannot detect"),
        "{}",
        text(&blind)
    );
    let caught = skywave(&["audit", "verify", "--config", conf, "--anchor", &anchor]);
    assert!(!caught.status.success());
    assert!(
        text(&caught).contains("Removed { first: 2, last: 2 }"),
        "{}",
        text(&caught)
    );
}
