//! docs/operator.md, run as written: every block fenced as `sh`, in order, in one bash
//! session with `set -euo pipefail`, in a scratch directory laid out like the source tree
//! (`examples`, `host`, `tools`, `packaging` linked in), with the workspace's binaries on the
//! PATH. The emulated radio is `skywave-linkemu`, as the guide has it.
//!
//! Only `cargo install` is stood in for: a `cargo` on the PATH that refuses an install without
//! `--locked` or of a path that is no crate, and otherwise records the call (the binaries it
//! would install are the ones this test suite built). Blocks fenced otherwise (`text`, `toml`)
//! are reference, not steps: the service installation, which changes the machine, is checked
//! by `host/tests/service_layout.rs` instead.

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skywave_hil_tests::{agents_built, binary, require_or_skip, test_dir, workspace_root};

/// The guide's `sh` blocks, in order.
fn sh_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_end() == "```sh" => current = Some(String::new()),
            Some(block) if line.starts_with("```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    blocks
}

/// The stand-in `cargo` (see the module docs).
const CARGO: &str = r#"#!/bin/sh
case " $* " in *" install "*) ;; *) echo "guide: cargo $* is not an install" >&2; exit 1 ;; esac
case " $* " in *" --locked "*) ;; *) echo "guide: cargo install without --locked" >&2; exit 1 ;; esac
path=$(echo "$*" | sed -n 's/.*--path \([^ ]*\).*/\1/p')
[ -f "$path/Cargo.toml" ] || { echo "guide: no crate at --path $path" >&2; exit 1; }
echo "$*" >> cargo-installs.txt
"#;

/// How long the whole walkthrough may take.
const LIMIT: Duration = Duration::from_secs(300);

#[test]
fn the_operator_guide_runs_as_written() {
    if !agents_built()
        || !require_or_skip(
            binary("skywave-authority").exists(),
            "the skywave-authority binary (cargo test --workspace)",
        )
    {
        return;
    }
    let root = workspace_root();
    let guide = std::fs::read_to_string(root.join("docs/operator.md")).unwrap();
    let blocks = sh_blocks(&guide);
    assert!(blocks.len() >= 10, "the guide's walkthrough: {blocks:?}");

    let dir = test_dir("guide");
    for name in ["examples", "host", "tools", "packaging"] {
        std::os::unix::fs::symlink(root.join(name), dir.join(name)).unwrap();
    }
    let shim = dir.join("shim");
    std::fs::create_dir(&shim).unwrap();
    std::fs::write(shim.join("cargo"), CARGO).unwrap();
    std::fs::set_permissions(shim.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = binary("skywave");
    let path = format!(
        "{}:{}:{}",
        shim.display(),
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Whatever happens, nothing the guide started in the background outlives the session.
    let script = format!(
        "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        blocks.join("\n")
    );
    let transcript = dir.join("transcript.txt");
    let mut session = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&*dir)
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&transcript).unwrap())
        .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
        .process_group(0)
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = session.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // The session's process group: bash and anything it left behind.
    let _ = Command::new("kill")
        .args(["-TERM", "--", &format!("-{}", session.id())])
        .status();
    let _ = session.wait();
    let said = std::fs::read_to_string(&transcript).unwrap_or_default();
    let errors = std::fs::read_to_string(dir.join("stderr.txt")).unwrap_or_default();
    let status =
        status.unwrap_or_else(|| panic!("the guide took over {LIMIT:?}:\n{said}\n{errors}"));
    assert!(status.success(), "the guide failed:\n{said}\n{errors}");

    let installs = std::fs::read_to_string(dir.join("cargo-installs.txt")).unwrap();
    assert_eq!(installs.lines().count(), 2, "{installs}");
    let expect = |text: &str| assert!(said.contains(text), "{text:?} not in:\n{said}");
    expect("lab/a/node.toml: ok");
    expect("lab/coalition/artifacts/01-gbr-signer.cred: admitted credential");
    expect("lab/coalition/artifacts/40-usa-revocation-1.rev: admitted revocation");
    expect("to USA, on the home authority alone");
    expect("refused since start: ");
    expect("because GBR policy 1 defines no classification 9");
    expect("decision #1 of 2");
    expect("entries verified");
    assert!(Path::new(&dir.join("lab/b/decisions.json")).exists());
}
