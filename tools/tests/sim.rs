//! The simulator end to end: every shipped scenario runs through the real binary and writes a
//! sound report, capture and plot; one seed reproduces a run exactly; tshark agrees with every
//! frame of a capture.

use std::path::{Path, PathBuf};
use std::process::Command;

use skywave_protocol::capture::{LINKTYPE_STANAG_5066_D_PDU, PcapReader};
use skywave_protocol::wire::{Dpdu, Frame};
use skywave_tools::sim::scenario::{Scenario, ScenarioFile};
use skywave_tools::sim::{self, Options};

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 3,
        "scenarios are shipped in {}",
        dir.display()
    );
    files
}

fn out(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

/// Every record is one whole D_PDU whose CRCs our own decoder accepts.
fn check_capture(pcap: &[u8]) -> usize {
    let reader = PcapReader::new(pcap).unwrap();
    assert_eq!(reader.link_type(), LINKTYPE_STANAG_5066_D_PDU);
    let mut frames = 0;
    for record in reader {
        let record = record.unwrap();
        let frame = Frame::new_checked(record.data).unwrap();
        assert_eq!(frame.frame_len(), record.data.len(), "one D_PDU per record");
        Dpdu::parse(&frame).unwrap();
        frames += 1;
    }
    frames
}

#[test]
fn every_shipped_scenario_runs_through_the_binary() {
    for path in scenarios() {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let (json, pcap, svg) = (
            out(&format!("{stem}.json")),
            out(&format!("{stem}.pcap")),
            out(&format!("{stem}.svg")),
        );
        let status = Command::new(env!("CARGO_BIN_EXE_skywave-sim"))
            .arg("run")
            .arg(&path)
            .args(["--seed", "3", "--quiet", "--json"])
            .arg(&json)
            .arg("--capture")
            .arg(&pcap)
            .arg("--plot")
            .arg(&svg)
            .status()
            .unwrap();
        assert!(status.success(), "{stem}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(
            report["outcomes"]["duplicates"], 0,
            "{stem}: no U_PDU twice"
        );
        assert!(
            report["outcomes"]["delivered"].as_u64().unwrap() > 0,
            "{stem} delivers something"
        );
        let frames = check_capture(&std::fs::read(&pcap).unwrap());
        assert_eq!(
            frames as u64,
            report["channel"]["frames_sent"].as_u64().unwrap(),
            "{stem}: the capture holds every frame sent"
        );
        assert!(std::fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    }
}

#[test]
fn one_seed_reproduces_a_run_exactly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/contested-network.toml");
    let scenario = Scenario::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let run = |seed| {
        let opts = Options {
            seed,
            capture: true,
            progress: false,
        };
        let (mut report, pcap) = sim::run(&scenario, opts).unwrap();
        report.wall_seconds = 0.0;
        (serde_json::to_string(&report).unwrap(), pcap)
    };
    let (a, pcap_a) = run(11);
    let (b, pcap_b) = run(11);
    assert!(a == b, "same seed, same report");
    assert!(
        pcap_a == pcap_b,
        "same seed, same frames at the same instants"
    );
    let (c, _) = run(12);
    assert!(a != c, "another seed, another run");
}

/// Whether tshark can be run; where it cannot, the caller skips its check (with a note),
/// unless SKYWAVE_REQUIRE_TOOLS=1.
fn tshark_available() -> bool {
    let available = Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var_os("SKYWAVE_REQUIRE_TOOLS").is_none(),
            "tshark is required"
        );
        eprintln!("tshark not installed: capture check skipped");
    }
    available
}

/// tshark 4.0 dissects frames of 15 bytes or more; each of those in the capture at `file`
/// must show a correct header CRC, and nothing may be malformed. Returns tshark's text.
fn tshark_check(file: &Path) -> String {
    let pcap = std::fs::read(file).unwrap();
    let long_frames = PcapReader::new(&pcap)
        .unwrap()
        .filter(|r| r.as_ref().is_ok_and(|r| r.data.len() >= 15))
        .count();
    let text = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .arg("-V")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    let correct = text
        .lines()
        .filter(|l| l.trim().starts_with("CRC on header:") && l.ends_with("(Correct)"))
        .count();
    assert_eq!(
        correct, long_frames,
        "every dissected header CRC is correct"
    );
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.contains("malformed")
                && !lower.contains("expert info")
                && !lower.contains("incorrect"),
            "tshark complains: {line}"
        );
    }
    text
}

#[test]
fn tshark_agrees_with_a_simulated_capture() {
    if !tshark_available() {
        return;
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two-node-arq.toml");
    let scenario = Scenario::from_toml(&std::fs::read_to_string(path).unwrap()).unwrap();
    let opts = Options {
        seed: 5,
        capture: true,
        progress: false,
    };
    let (_, pcap) = sim::run(&scenario, opts).unwrap();
    let file = out("tshark-check.pcap");
    std::fs::write(&file, &pcap).unwrap();
    tshark_check(&file);
}

/// `skywave-sim setup`: the two FULL RESET placements, their figures and captures. With the
/// default placement the caller's first transmission is LINK REQUEST (type 8, two copies) and
/// FULL RESET (type 3, two copies) together; in the annex order the RESET waits until the
/// link request and its acceptance have both gone, and the first delivery takes longer.
#[test]
fn setup_measures_both_full_reset_placements_and_captures_them() {
    let (json, dir) = (out("setup.json"), out("setup-captures"));
    let status = Command::new(env!("CARGO_BIN_EXE_skywave-sim"))
        .args(["setup", "--json"])
        .arg(&json)
        .arg("--capture-dir")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let figures: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let delivery = |i: usize| figures[i]["first_delivery_s"].as_f64().unwrap();
    assert_eq!(figures[0]["placement"], "with-link-request");
    assert_eq!(figures[1]["placement"], "after-link");
    assert!(
        delivery(1) > delivery(0),
        "the annex order costs turns: {figures}"
    );
    let types = |name: &str| -> Vec<u8> {
        let pcap = std::fs::read(dir.join(name)).unwrap();
        PcapReader::new(&pcap)
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                Dpdu::parse(&Frame::new_checked(r.data).unwrap())
                    .unwrap()
                    .body
                    .dpdu_type() as u8
            })
            .collect()
    };
    assert_eq!(types("reset-with-link-request.pcap")[..4], [8, 8, 3, 3]);
    assert_eq!(types("reset-after-link.pcap")[..6], [8, 8, 8, 8, 3, 3]);
    if tshark_available() {
        for name in ["reset-with-link-request.pcap", "reset-after-link.pcap"] {
            tshark_check(&dir.join(name));
        }
    }
}

#[test]
fn summary_only_and_compressed_reports_for_long_runs() {
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two-node-arq.toml");
    let run = |json: &Path, extra: &[&str]| {
        let status = Command::new(env!("CARGO_BIN_EXE_skywave-sim"))
            .arg("run")
            .arg(&scenario)
            .args(["--seed", "2", "--quiet", "--json"])
            .arg(json)
            .args(extra)
            .status()
            .unwrap();
        assert!(status.success());
    };
    let (full, summary, packed) = (
        out("long-full.json"),
        out("long-summary.json"),
        out("long-full.json.zst"),
    );
    run(&full, &[]);
    run(&summary, &["--summary-only"]);
    run(&packed, &[]);
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let (full_json, summary_json) = (read(&full), read(&summary));
    assert!(
        full_json["messages"]
            .as_array()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(
        summary_json.get("messages").is_none(),
        "no per-message records"
    );
    assert_eq!(summary_json["outcomes"], full_json["outcomes"]);
    assert_eq!(summary_json["channel"], full_json["channel"]);
    // Wall-clock time aside, the compressed report is the full one.
    let mut unpacked: serde_json::Value =
        serde_json::from_slice(&zstd::decode_all(&std::fs::read(&packed).unwrap()[..]).unwrap())
            .unwrap();
    let mut expected = full_json.clone();
    unpacked["wall_seconds"] = 0.into();
    expected["wall_seconds"] = 0.into();
    assert_eq!(unpacked, expected);
    assert!(
        std::fs::metadata(&packed).unwrap().len() < std::fs::metadata(&full).unwrap().len() / 3
    );
}

#[test]
fn a_run_into_a_closed_pipe_exits_quietly() {
    // `skywave-sim run ... | head -1`, with the reader gone before the summary is written.
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/two-node-arq.toml");
    skywave_hil_tests::assert_quiet_into_closed_pipe(
        Command::new(env!("CARGO_BIN_EXE_skywave-sim"))
            .arg("run")
            .arg(&scenario)
            .args(["--quiet", "--json"])
            .arg(out("pipe.json")),
    );
}
