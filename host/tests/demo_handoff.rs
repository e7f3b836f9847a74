//! `skywave demo` hands the demo to `skywave-sim`; an installed `skywave` without the tools
//! beside it, not run by cargo, must say how to get it instead of failing obscurely.

use std::process::Command;

#[test]
fn demo_without_the_simulator_says_how_to_get_it() {
    // A copy of the binary alone in a directory: no skywave-sim beside it.
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("skywave");
    std::fs::copy(env!("CARGO_BIN_EXE_skywave"), &alone).unwrap();
    let out = Command::new(&alone)
        .arg("demo")
        .env_remove("CARGO")
        .output()
        .expect("run skywave demo");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("skywave-sim is not installed next to")
            && err.contains("cargo run --release -p skywave-host -- demo")
            && err.contains("cargo install --path tools"),
        "{err}"
    );
}
