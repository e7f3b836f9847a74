//! docs/operator.md's offline install, checked without a network: the guide's `cargo vendor`
//! line run as written in a copy of the workspace, then cargo on "the other machine" (a fresh,
//! empty `CARGO_HOME`, `--offline`) resolving every package of `Cargo.lock` from `vendor/` and
//! compiling one of them from there.
//!
//! The vendoring reads the local registry cache (`CARGO_NET_OFFLINE=true` stands for the
//! connected machine, so the test never fetches). A whole offline `cargo install` of the agent
//! is a full release build, minutes on a CI machine, so the test stops at what can go wrong in
//! the path itself: a vendored tree that lacks a package, a configuration that does not replace
//! crates.io, a vendored crate whose checksums fail. It takes about 20 s, most of it copying
//! some 370 MB of sources.

use std::path::Path;
use std::process::Command;

use skywave_hil_tests::{test_dir, workspace_root};

/// The first fenced block after the guide's "**Offline" paragraph begins.
fn offline_block(guide: &str) -> Vec<String> {
    let after = guide
        .split_once("**Offline")
        .expect("docs/operator.md has an offline install paragraph")
        .1;
    let fenced = after.split("```").nth(1).expect("a fenced block follows");
    fenced
        .lines()
        .skip(1)
        .map(str::to_owned)
        .filter(|l| !l.trim().is_empty())
        .collect()
}

/// The workspace members named on the manifest's `members = [...]` line.
fn members(manifest: &str) -> Vec<&str> {
    let line = manifest
        .lines()
        .find(|l| l.trim_start().starts_with("members"))
        .expect("the workspace manifest lists its members on one line");
    line.split('"').skip(1).step_by(2).collect()
}

/// Copies `from` into `to`, leaving out build output.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Runs `command`, fails the test if it fails, and returns its stdout and stderr.
fn run(command: &mut Command) -> (String, String) {
    let out = command.output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "{command:?} failed:\n{stderr}");
    (stdout, stderr)
}

#[test]
fn the_guide_offline_install_resolves_and_builds_from_vendored_sources() {
    let root = workspace_root();
    let guide = std::fs::read_to_string(root.join("docs/operator.md")).unwrap();
    let block = offline_block(&guide);
    let vendor_line = block
        .iter()
        .find(|l| l.contains("cargo vendor"))
        .expect("the block vendors");
    assert!(
        vendor_line.contains("--locked") && vendor_line.contains(">> .cargo/config.toml"),
        "the vendoring must be locked and must add to the tree's cargo configuration, not \
         replace it: {vendor_line}"
    );
    assert!(
        guide.contains("cargo install --locked --offline --path host"),
        "the guide installs offline and locked"
    );

    let dir = test_dir("offline-install");
    let tree = dir.join("skywave");
    for file in ["Cargo.toml", "Cargo.lock", "rust-toolchain.toml"] {
        std::fs::create_dir_all(&tree).unwrap();
        std::fs::copy(root.join(file), tree.join(file)).unwrap();
    }
    // Every workspace member, as the manifest lists them (a new member missing from a
    // hand-kept list made the copy's manifest unreadable).
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for member in std::iter::once(".cargo").chain(members(&manifest)) {
        copy_tree(&root.join(member), &tree.join(member));
    }

    // The connected machine: the guide's line, as written, from the top of the tree.
    run(Command::new("bash")
        .args(["-euo", "pipefail", "-c", vendor_line])
        .current_dir(&tree)
        .env("CARGO_NET_OFFLINE", "true"));
    let config = std::fs::read_to_string(tree.join(".cargo/config.toml")).unwrap();
    assert!(
        config.contains("RUST_MIN_STACK"),
        "the tree's own settings are kept"
    );
    assert!(
        config.contains("replace-with = \"vendored-sources\""),
        "{config}"
    );

    // The machine with no network: nothing in CARGO_HOME, and cargo told not to fetch.
    let home = dir.join("empty-cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    let offline = |args: &[&str]| {
        let mut command = cargo();
        command
            .args(args)
            .args(["--offline", "--locked"])
            .current_dir(&tree)
            .env("CARGO_HOME", &home)
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TARGET_DIR", dir.join("target"))
            .env_remove("RUSTC_WRAPPER");
        command
    };
    let (metadata, _) = run(&mut offline(&["metadata", "--format-version", "1"]));
    let metadata: serde_json::Value = serde_json::from_str(&metadata).unwrap();
    let resolved = metadata["packages"].as_array().unwrap();
    let lock = std::fs::read_to_string(tree.join("Cargo.lock")).unwrap();
    assert!(resolved.len() > 200, "{} packages resolved", resolved.len());
    for package in resolved {
        let name = package["name"].as_str().unwrap();
        assert!(
            lock.contains(&format!("name = \"{name}\"")),
            "{name} is not locked"
        );
    }
    // What the host's build leaves out (optional dependencies of features it does not
    // enable, such as p256-cm4) is vendored too, so the firmware's features resolve as well.
    for package in lock.split("[[package]]").skip(1) {
        let name = package
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .unwrap()
            .trim_matches('"');
        let from_registry = package.contains("source = \"registry+");
        let vendored = std::fs::read_dir(tree.join("vendor")).unwrap().any(|e| {
            let dir = e.unwrap().file_name().to_string_lossy().into_owned();
            dir == name || dir.starts_with(&format!("{name}-"))
        });
        assert!(!from_registry || vendored, "{name} is not vendored");
    }
    // One vendored crate compiled: its checksums match what the lock file pins.
    let (_, built) = run(&mut offline(&["check", "-p", "crc"]));
    assert!(built.contains("Checking crc"), "{built}");
    assert!(
        !home.join("registry").exists(),
        "nothing was fetched into the empty CARGO_HOME"
    );
}
