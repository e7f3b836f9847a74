//! Hardware-in-the-loop tests for Skywave.
//!
//! The tests in `tests/` start shipped binaries as separate processes, exactly as an operator
//! or a radio would meet them: today the Cortex-M4 firmware under QEMU (mps2-an386), fed a
//! serial byte stream on its radio UART. Tests that join agents and the link emulator over
//! pseudo-serial ports come with those programs.
//!
//! Tests that need an outside program (QEMU, a built firmware image) skip with a message when
//! it is missing, unless `SKYWAVE_REQUIRE_TOOLS=1` (set by `scripts/test.sh`) makes that a
//! failure.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use skywave_protocol::policy::sample::Coalition;

/// A child process killed (SIGKILL) when dropped, so a failing test leaves nothing running.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `check` every 100 ms for up to `limit`; panics naming `what` if it never holds.
pub fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("not within {limit:?}: {what}");
}

/// One serial link of a node written by [`write_node`].
pub struct SerialLink<'a> {
    /// The serial device.
    pub device: &'a Path,
    /// The neighbours reached through it.
    pub neighbours: &'a [u32],
    /// The modem table, inline TOML (`{ bit_rate = 2400, ... }`).
    pub modem: &'a str,
}

/// Writes a node's home under `dir/name`: the sample coalition's roots as its trust anchors
/// and a configuration with `links`. Returns the configuration's path.
pub fn write_node(
    dir: &Path,
    name: &str,
    address: u32,
    links: &[SerialLink<'_>],
    c: &Coalition,
) -> PathBuf {
    let home = dir.join(name);
    let trust = home.join("trust");
    std::fs::create_dir_all(&trust).expect("node directory");
    for (i, root) in c.roots().iter().enumerate() {
        std::fs::write(trust.join(format!("root-{i}.cred")), root).expect("root file");
    }
    let mut text = format!("[node]\naddress = {address}\ntrust = \"trust\"\n");
    for (i, link) in links.iter().enumerate() {
        let neighbours: Vec<String> = link.neighbours.iter().map(u32::to_string).collect();
        text += &format!(
            "\n[[link]]\nname = \"hf{i}\"\nneighbours = [{}]\nmodem = {}\nserial = {{ device = \"{}\", baud = 115200 }}\n",
            neighbours.join(", "),
            link.modem,
            link.device.display()
        );
    }
    let config = home.join("node.toml");
    std::fs::write(&config, text).expect("config file");
    config
}

/// Starts `skywave run --config config` with the agent binary at `exe`, its log appended to
/// the config's `.log` beside it, and waits for its control socket. A socket file left by a
/// killed agent is removed first, so the wait is for the new one.
pub fn start_agent(exe: &Path, config: &Path) -> Process {
    let socket = config.with_file_name("skywave.sock");
    let _ = std::fs::remove_file(&socket);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(config.with_extension("log"))
        .expect("agent log file");
    let child = std::process::Command::new(exe)
        .args(["run", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start skywave run");
    let process = Process(child);
    eventually(
        Duration::from_secs(20),
        "the agent's control socket",
        || socket.exists(),
    );
    process
}

/// A binary of this workspace, built beside the test executable (`cargo test --workspace`
/// builds every package's binaries before it runs any test).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    profile_dir.join(name)
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let crate_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().map(PathBuf::from).unwrap_or(crate_dir)
}

/// Whether `program` can be started; if not, panics when tools are required, else reports the
/// skip on stderr and returns false.
pub fn tool_available(program: &str, why: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    require_or_skip(found, &format!("{program} ({why})"))
}

/// Returns `present`; when it is false, fails if `SKYWAVE_REQUIRE_TOOLS=1`, else says what is
/// skipped.
pub fn require_or_skip(present: bool, what: &str) -> bool {
    if !present {
        assert!(
            std::env::var("SKYWAVE_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "{what} is required (SKYWAVE_REQUIRE_TOOLS=1) but missing"
        );
        eprintln!("{what} missing: skipping");
    }
    present
}
