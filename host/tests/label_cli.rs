//! `skywave label check / show / compact` as an operator runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use skywave_host::spif::Spif;
use skywave_host::spif::import::{ClearanceSource, Imported};
use skywave_protocol::policy::Artifact;
use skywave_protocol::policy::sample::{self, Coalition, GBR};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tools/tests/data")
        .join(name)
}

fn skywave(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skywave"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn check_against_the_spif_prints_one_verdict_per_label_and_fails_if_any_is_invalid() {
    let spif = data("nato-kind-spif.xml");
    let good = [
        data("spiffing/nato-4774-17-1.nato"),
        data("nato-kind-table17-4.xml"),
    ];
    let bad = data("nato-kind-atomal-unclassified.xml");
    let out = skywave(&[
        "label",
        "check",
        "--spif",
        s(&spif),
        s(&good[0]),
        s(&good[1]),
    ]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        said.lines().filter(|l| l.ends_with(": valid")).count(),
        2,
        "{said}"
    );
    let out = skywave(&["label", "check", "--spif", s(&spif), s(&good[0]), s(&bad)]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("invalid: ATOMAL is excluded at UNCLASSIFIED"),
        "{said}"
    );
}

#[test]
fn check_against_the_signed_policy_gives_the_guards_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let spif = Spif::load(&data("nato-kind-spif.xml")).unwrap();
    let cleared = ClearanceSource::load(&data("nato-kind-clearances.toml"))
        .unwrap()
        .resolve(&spif)
        .unwrap();
    let c = Coalition::new();
    let imported = Imported::new(&spif, &cleared, GBR, 40, 1, 1).unwrap();
    let policy = imported
        .policy(sample::public(&c.gbr_signer).key_id())
        .unwrap();
    let path = dir.path().join("nato.policy");
    std::fs::write(
        &path,
        sample::sign(&c.gbr_signer, &Artifact::Policy(policy)),
    )
    .unwrap();
    let bad = data("nato-kind-atomal-unclassified.xml");
    let good = data("nato-kind-table17-4.xml");
    let spif_path = data("nato-kind-spif.xml");
    let out = skywave(&[
        "label",
        "check",
        "--policy",
        s(&path),
        "--spif",
        s(&spif_path),
        s(&good),
        s(&bad),
    ]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("table17-4.xml: valid"), "{said}");
    assert!(
        said.contains("invalid: classification excluded (because of ATOMAL in Additional Sensitivity (RESTRICTIVE)"),
        "{said}"
    );
}

#[test]
fn show_prints_the_marking_and_compact_the_air_form() {
    let out = skywave(&["label", "show", s(&data("spiffing/nato-4774-17-1.nato"))]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NATO UNCLASSIFIED Context: NATO, Releasable Releasable To: NATO, ISAF, KFOR, RESOLUTE SUPPORT\n"
    );
    let spif = data("nato-kind-spif.xml");
    let table17 = data("nato-kind-table17-4.xml");
    let out = skywave(&["label", "show", "--spif", s(&spif), s(&table17)]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "NATO SECRET ATOMAL RELEASABLE TO AUS, NZL, USA NATO, Releasable\n"
    );
    let out = skywave(&[
        "label",
        "compact",
        "--spif",
        s(&spif),
        "--domain",
        "GBR",
        "--id",
        "40",
        s(&table17),
    ]);
    assert!(out.status.success());
    // 19 bytes: format, GBR, id 40, SECRET, 6 values.
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim().len(), 38);
}
