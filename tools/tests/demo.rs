//! `skywave-sim demo` (the README's first command, `skywave demo`, runs it) tells its whole story and ends with its table:
//! the coalition reaches all six stations, the USA ship's decision degrades to home-only after
//! the translator's revocation, and the adjunct catches up after its outage.

use std::process::Command;

#[test]
fn the_demo_tells_the_whole_story() {
    let out = Command::new(env!("CARGO_BIN_EXE_skywave-sim"))
        .arg("demo")
        .output()
        .expect("run skywave-sim demo");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "Every station has verified and admitted all 10",
        "All stations hold both translators",
        "USA ship: may GBR SECRET data for operation HERRICK go to USA? release, through translator GBR #1 v1 (spiral 4 -> 5)",
        "the USA ship decides again: release, on the home authority alone: translator GBR #1 v1 is revoked",
        "Every station on the air holds GBR policy v2",
        "It caught up",
        "GBR SECRET TELIC to USA #1 (gbr-relay -> usa-relay, 1200 s): sender released through GBR translator 1 v1; receiver released through GBR translator 1 v1.",
        "GBR SECRET TELIC to AUS (gbr-relay -> aus-relay, 1600 s): sender refused (denied: NotPermitted); receiver never on the air.",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("0.0.0."))
        .collect();
    assert_eq!(rows.len(), 6, "{text}");
    assert!(rows.iter().all(|r| r.contains("| 13 | #1 |")), "{text}");
}

#[test]
fn the_demo_into_a_closed_pipe_exits_quietly() {
    // `skywave-sim demo | head -1`, with the reader gone before the story starts.
    skywave_hil_tests::assert_quiet_into_closed_pipe(
        Command::new(env!("CARGO_BIN_EXE_skywave-sim")).arg("demo"),
    );
}
