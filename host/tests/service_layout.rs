//! The agent installed as packaging/skywave.service lays it out, run from examples/node.toml as
//! an unprivileged user, driven by an operator in its group through the CLI.
//!
//! The layout is the unit's, under a scratch root: `etc/skywave` (configuration and trust,
//! root-owned, readable by the group), `var/lib/skywave` (StateDirectory) and `run/skywave`
//! (RuntimeDirectory), both the agent user's, 0750. Users are numeric ids switched to with
//! `setpriv` (util-linux), so the test adds no accounts to the machine: uid/gid 64000 is the
//! `skywave` user and group, 64001 an operator in that group, 64002 a local user outside it.
//! It needs root to switch ids and to own files for them; without root or setpriv it says so
//! and passes without running.

mod common;

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{Process, eventually};
use skywave_hil_tests::tool_available;
use skywave_protocol::policy::sample::Coalition;

const AGENT: u32 = 64_000;
const OPERATOR: u32 = 64_001;
const OUTSIDER: u32 = 64_002;

/// `setpriv` arguments that make the command run as `uid`, in group `gid`, with `groups`.
fn as_user(uid: u32, groups: &[u32]) -> Command {
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={uid}"));
    if groups.is_empty() {
        command.arg("--clear-groups");
    } else {
        let list: Vec<String> = groups.iter().map(u32::to_string).collect();
        command.arg(format!("--groups={}", list.join(",")));
    }
    command.arg(env!("CARGO_BIN_EXE_skywave"));
    command
}

fn run_as(uid: u32, groups: &[u32], args: &[&str]) -> Output {
    as_user(uid, groups).args(args).output().unwrap()
}

fn own(path: &Path, uid: u32, gid: u32, mode: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

/// The unit's directories under `root`, with examples/node.toml installed in them (its
/// absolute paths moved under `root`, its SIS port and serial device made harmless here).
fn install(root: &Path) -> PathBuf {
    let etc = root.join("etc/skywave");
    let trust = etc.join("trust");
    let (state, runtime) = (root.join("var/lib/skywave"), root.join("run/skywave"));
    for dir in [&trust, &state, &runtime] {
        std::fs::create_dir_all(dir).unwrap();
    }
    for (i, anchor) in Coalition::new().roots().iter().enumerate() {
        let file = trust.join(format!("root-{i}.cred"));
        std::fs::write(&file, anchor).unwrap();
        own(&file, 0, AGENT, 0o640);
    }
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/node.toml");
    let text = std::fs::read_to_string(example)
        .unwrap()
        .replace("/etc/skywave", etc.to_str().unwrap())
        .replace("/var/lib/skywave", state.to_str().unwrap())
        .replace("/run/skywave", runtime.to_str().unwrap())
        .replace("/dev/ttyUSB0", root.join("no-modem").to_str().unwrap())
        .replace("listen = \"127.0.0.1:5066\"", "listen = \"127.0.0.1:0\"");
    let config = etc.join("node.toml");
    std::fs::write(&config, text).unwrap();
    own(&config, 0, AGENT, 0o640);
    own(&trust, 0, AGENT, 0o750);
    own(&etc, 0, AGENT, 0o750);
    own(&state, AGENT, AGENT, 0o750);
    own(&runtime, AGENT, AGENT, 0o750);
    config
}

#[test]
fn the_example_runs_as_the_unit_lays_it_out_for_an_operator_in_the_group() {
    if !is_root() || !tool_available("setpriv", "switching to unprivileged users") {
        eprintln!("skipped: needs root and setpriv to run the agent as another user");
        return;
    }
    let root =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("layout-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = install(&root);
    let conf = config.to_str().unwrap();
    let socket = root.join("run/skywave/skywave.sock");
    let sock = socket.to_str().unwrap();
    let store = root.join("var/lib/skywave/skywave.db");

    let checked = run_as(AGENT, &[], &["check-config", conf]);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert_eq!(checked.status.code(), Some(0), "{said}");
    assert!(said.contains("warning: link hf1: serial.device"), "{said}");

    let log_path = root.join("agent.log");
    let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
    let agent = Process(
        as_user(AGENT, &[])
            .args(["run", "--config", conf])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    eventually(Duration::from_secs(20), "the agent's socket", || {
        socket.exists()
    });
    let meta = std::fs::metadata(&socket).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.gid()), (0o660, AGENT));
    let meta = std::fs::metadata(&store).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o640, AGENT));

    // An operator in the group drives it; a local user outside the group cannot.
    let status = run_as(OPERATOR, &[AGENT], &["status", "--socket", sock, "--json"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let artifacts = root.join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    for (i, artifact) in Coalition::new().artifacts().iter().enumerate() {
        std::fs::write(artifacts.join(format!("{i:02}.sky")), artifact).unwrap();
    }
    let published = run_as(
        OPERATOR,
        &[AGENT],
        &["publish", "--socket", sock, artifacts.to_str().unwrap()],
    );
    assert!(
        published.status.success(),
        "{}",
        String::from_utf8_lossy(&published.stderr)
    );
    let outsider = run_as(OUTSIDER, &[], &["status", "--socket", sock]);
    assert!(!outsider.status.success());
    assert!(
        String::from_utf8_lossy(&outsider.stderr).contains("ermission denied"),
        "{}",
        String::from_utf8_lossy(&outsider.stderr)
    );

    // A second agent on the same store refuses to start, naming the first.
    let second = run_as(AGENT, &[], &["run", "--config", conf]);
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains(&format!("in use by another agent (pid {})", agent.0.id())),
        "{said}"
    );

    // SIGHUP re-reads; the agent keeps serving.
    let hup = Command::new("kill")
        .args(["-HUP", &agent.0.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    eventually(Duration::from_secs(10), "the reload's report", || {
        log().contains("configuration re-read: nothing changed")
    });
    let status = run_as(OPERATOR, &[AGENT], &["status", "--socket", sock, "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(report["status"]["artifacts"], 12, "{report}");
}
