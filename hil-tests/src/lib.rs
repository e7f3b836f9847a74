//! Hardware-in-the-loop tests for Skywave.
//!
//! The tests in `tests/` start shipped binaries as separate processes, exactly as an operator
//! or a radio would meet them: agents (`skywave run`) joined by link emulators
//! (`skywave-linkemu`) over pseudo-serial ports, driven with the operator's CLI, and the
//! Cortex-M4 firmware under QEMU (mps2-an386). Every process is killed when the test's handle
//! to it drops, so a failing test leaves nothing running.
//!
//! Tests that need an outside program (QEMU, a built firmware image) skip with a message when
//! it is missing, unless `SKYWAVE_REQUIRE_TOOLS=1` (set by `scripts/test.sh`) makes that a
//! failure.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use std::time::{Duration, Instant};

use skywave_protocol::link::{self, HostLink, Modem, SpduHeader};

pub mod console;
use skywave_protocol::node::message::Writer;
use skywave_protocol::policy::sample::Coalition;
use skywave_protocol::wire::{Address, ArqData, ArqFlags, Body, Dpdu, Eow, MAX_DPDU_LEN};

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

/// A guarding agent's home ([`write_node`]) with its node key (the sample coalition's
/// `node_key(address)`, PKCS#8 PEM) and a `[guard]` section guarding `sap` with envelopes.
pub fn guarded_node(
    dir: &Path,
    name: &str,
    address: u32,
    link: SerialLink<'_>,
    c: &Coalition,
    sap: u8,
) -> PathBuf {
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    let config = write_node(dir, name, address, &[link], c);
    let key = config.with_file_name("node.pem");
    let pem = skywave_protocol::policy::sample::node_key(address)
        .to_pkcs8_pem(LineEnding::LF)
        .expect("PEM of the node key");
    std::fs::write(&key, pem.as_bytes()).expect("node key file");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text +=
        &format!("\n[guard]\nkey = \"node.pem\"\n[[guard.sap]]\nsap = {sap}\nenvelope = true\n");
    std::fs::write(&config, text).expect("config");
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

/// Runs `command` with its standard output a pipe whose reader is already gone (as in
/// `command | head -1` once `head` has its line) and checks it exits 0 with nothing on stderr:
/// a reader that stopped early is not an error, and certainly not a panic.
pub fn assert_quiet_into_closed_pipe(command: &mut Command) {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("the command's exit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{command:?}: {stderr}");
    assert_eq!(out.status.code(), Some(0), "{command:?}");
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

/// The agents' modem in these tests: 2400 bit/s with short preamble and interleaver, so runs
/// stay short. [`Emulator::start`] models the same.
pub const MODEM: &str =
    "{ bit_rate = 2400, preamble_ms = 200, interleaver_ms = 200, turnaround_ms = 200 }";

/// A running `skywave-linkemu` with the PTY pair it made.
pub struct Emulator {
    /// The emulator process.
    pub process: Process,
    /// Port a's device.
    pub a: PathBuf,
    /// Port b's device.
    pub b: PathBuf,
    commands: ChildStdin,
}

impl Emulator {
    /// Starts an emulator at 2400 bit/s with [`MODEM`]'s timing and `args` added (channel,
    /// seed, noise, ...), and reads the device paths it prints.
    pub fn start(args: &[&str]) -> Emulator {
        Emulator::start_with_modem(200, 200, 200, args)
    }

    /// [`Emulator::start`] with another modem timing (2400 bit/s; latency, preamble and
    /// turnaround in ms).
    pub fn start_with_modem(
        latency_ms: u32,
        preamble_ms: u32,
        turnaround_ms: u32,
        args: &[&str],
    ) -> Emulator {
        Emulator::start_at(2400, latency_ms, preamble_ms, turnaround_ms, args)
    }

    /// [`Emulator::start_with_modem`] at `bit_rate` bit/s.
    pub fn start_at(
        bit_rate: u32,
        latency_ms: u32,
        preamble_ms: u32,
        turnaround_ms: u32,
        args: &[&str],
    ) -> Emulator {
        let mut child = Command::new(binary("skywave-linkemu"))
            .args(["--bit-rate", &bit_rate.to_string(), "--stats-secs", "0"])
            .args(["--latency-ms", &latency_ms.to_string()])
            .args(["--preamble-ms", &preamble_ms.to_string()])
            .args(["--turnaround-ms", &turnaround_ms.to_string()])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start skywave-linkemu");
        let commands = child.stdin.take().expect("emulator stdin");
        let mut lines = BufReader::new(child.stdout.take().expect("emulator stdout")).lines();
        let mut port = |name: &str| {
            let line = lines.next().and_then(Result::ok).unwrap_or_default();
            let path = line
                .strip_prefix(&format!("port {name}: "))
                .unwrap_or_default();
            assert!(
                !path.is_empty(),
                "the emulator printed {line:?}, not port {name}"
            );
            PathBuf::from(path)
        };
        let (a, b) = (port("a"), port("b"));
        Emulator {
            process: Process(child),
            a,
            b,
            commands,
        }
    }

    /// Puts the raw D_PDU stream in `file` on the line, heard at port `side` (`a`, `b` or
    /// `both`).
    pub fn inject(&mut self, side: &str, file: &Path) {
        writeln!(self.commands, "inject {side} {}", file.display())
            .and_then(|()| self.commands.flush())
            .expect("command to the emulator");
    }
}

/// A null-modem cable: `socat` joining two new PTYs, linked at `a` and `b` (stale links there
/// are removed first). Waits until both exist; the cable is pulled when the process drops.
pub fn socat_cable(a: &Path, b: &Path) -> Process {
    let _ = (std::fs::remove_file(a), std::fs::remove_file(b));
    let end = |p: &Path| format!("pty,raw,echo=0,link={}", p.display());
    let cable = Process(
        Command::new("socat")
            .args([end(a), end(b)])
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat"),
    );
    eventually(Duration::from_secs(5), "socat's PTYs", || {
        a.exists() && b.exists()
    });
    cable
}

/// Runs the `skywave` CLI built beside the test executable with `args` and waits for it.
pub fn skywave(args: &[&str]) -> Output {
    skywave_at(&binary("skywave"), args)
}

/// Runs the `skywave` CLI at `exe` with `args` and waits for it: for tests that know the
/// binary's path otherwise (`CARGO_BIN_EXE_skywave` in the host package's own tests).
pub fn skywave_at(exe: &Path, args: &[&str]) -> Output {
    Command::new(exe).args(args).output().expect("run skywave")
}

/// An agent under test: its configuration, and its process while it runs.
pub struct Agent {
    /// The configuration file.
    pub config: PathBuf,
    process: Option<Process>,
}

impl Agent {
    /// Starts `skywave run` on `config` and waits for its control socket.
    pub fn start(config: PathBuf) -> Agent {
        let process = Some(start_agent(&binary("skywave"), &config));
        Agent { config, process }
    }

    /// Kills the agent with SIGKILL: no chance to flush or say goodbye.
    pub fn kill(&mut self) {
        self.process = None;
    }

    /// Starts the agent again on the same configuration and store.
    pub fn restart(&mut self) {
        self.process = None;
        self.process = Some(start_agent(&binary("skywave"), &self.config));
    }

    /// The agent's control socket.
    pub fn socket(&self) -> PathBuf {
        self.config.with_file_name("skywave.sock")
    }

    /// Runs the CLI `command` against this agent with `args` and `--json`, and returns the
    /// reply (`Null` if there was none, e.g. while the agent is down).
    pub fn ask(&self, command: &str, args: &[&str]) -> serde_json::Value {
        let socket = self.socket();
        let mut all = vec![
            command,
            "--socket",
            socket.to_str().unwrap_or_default(),
            "--json",
        ];
        all.extend_from_slice(args);
        serde_json::from_slice(&skywave(&all).stdout).unwrap_or_default()
    }

    /// Publishes the signed artifact `bytes` at this agent (written to `file` first), and
    /// fails the test if the agent refuses it.
    pub fn publish(&self, bytes: &[u8], file: &Path) {
        std::fs::write(file, bytes).expect("artifact file");
        let socket = self.socket();
        let out = skywave(&[
            "publish",
            "--socket",
            socket.to_str().unwrap_or_default(),
            file.to_str().unwrap_or_default(),
        ]);
        assert!(
            out.status.success(),
            "publish {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Publishes each of `artifacts` in order (files `artifact-NN.sky` in `dir`).
    pub fn publish_all(&self, artifacts: &[Vec<u8>], dir: &Path) {
        for (i, artifact) in artifacts.iter().enumerate() {
            self.publish(artifact, &dir.join(format!("artifact-{i:02}.sky")));
        }
    }

    /// The decision (outcome, basis, lineage) on releasing data of `domain` at
    /// `classification` with `category` (`tag:value`) to `audience`.
    pub fn decide(
        &self,
        domain: &str,
        classification: u8,
        category: &str,
        audience: &str,
    ) -> serde_json::Value {
        let classification = classification.to_string();
        let reply = self.ask(
            "decide",
            &[
                "--domain",
                domain,
                "--classification",
                &classification,
                "--category",
                category,
                "--audience",
                audience,
            ],
        );
        reply["decision"]["decision"].clone()
    }

    /// How many artifacts the agent holds (`None` if it did not answer).
    pub fn held(&self) -> Option<usize> {
        self.ask("policies", &[])["policies"]["artifacts"]
            .as_array()
            .map(Vec::len)
    }

    /// The agent's status report.
    pub fn status(&self) -> serde_json::Value {
        self.ask("status", &[])["status"].clone()
    }

    /// `skywave send --json` of `data` (written to `file`) to node `to` under the label file
    /// `label`: the exit status and the reply.
    pub fn send_labelled(
        &self,
        to: u32,
        file: &Path,
        data: &str,
        label: &Path,
    ) -> (Option<i32>, serde_json::Value) {
        std::fs::write(file, data).expect("data file");
        let socket = self.socket();
        let to = to.to_string();
        let out = skywave(&[
            "send",
            "--socket",
            socket.to_str().unwrap_or_default(),
            "--json",
            "--to",
            &to,
            "--label",
            label.to_str().unwrap_or_default(),
            file.to_str().unwrap_or_default(),
        ]);
        let reply = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!(
                "send {}: no JSON reply: {}",
                file.display(),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), reply)
    }

    /// What `skywave receive --json` returns, with more arguments (`--keep`, `--out DIR`):
    /// one JSON object a message.
    pub fn receive(&self, more: &[&str]) -> Vec<serde_json::Value> {
        let socket = self.socket();
        let mut args = vec![
            "receive",
            "--socket",
            socket.to_str().unwrap_or_default(),
            "--json",
        ];
        args.extend(more);
        let out = skywave(&args);
        assert!(
            out.status.success(),
            "receive: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect()
    }
}

/// A test's directory of node homes and artifact files: removed when the test passes, kept
/// (and named on stderr) when it fails or when `SKYWAVE_KEEP_TEST_DIRS` is set, for the
/// agents' logs.
pub struct TestDir(PathBuf);

impl std::ops::Deref for TestDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("SKYWAVE_KEEP_TEST_DIRS").is_some() {
            eprintln!("test files and agent logs kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// Two agents on the two ports of `emu`: A (address 1, home `dir/a`) and B (2, `dir/b`), each
/// trusting the sample coalition's roots.
pub fn pair(dir: &Path, c: &Coalition, emu: &Emulator) -> [Agent; 2] {
    [
        write_node(dir, "a", 1, &[serial(&emu.a, &[2])], c),
        write_node(dir, "b", 2, &[serial(&emu.b, &[1])], c),
    ]
    .map(Agent::start)
}

/// Agents in a relay chain over `hops` (one emulator per hop): node `i` has address `i + 1`
/// and home `dir/n{i}`, with [`MODEM`].
pub fn chain(dir: &Path, c: &Coalition, hops: &[&Emulator]) -> Vec<Agent> {
    chain_with_modem(dir, c, hops, MODEM)
}

/// [`chain`] with the agents' modem table `modem` (inline TOML).
pub fn chain_with_modem(dir: &Path, c: &Coalition, hops: &[&Emulator], modem: &str) -> Vec<Agent> {
    let configs: Vec<PathBuf> = (0..=hops.len())
        .map(|i| {
            let address = i as u32 + 1;
            let before = [address - 1];
            let after = [address + 1];
            let mut links = Vec::new();
            if let Some(emu) = i.checked_sub(1).and_then(|h| hops.get(h)) {
                links.push(SerialLink {
                    device: &emu.b,
                    neighbours: &before,
                    modem,
                });
            }
            if let Some(emu) = hops.get(i) {
                links.push(SerialLink {
                    device: &emu.a,
                    neighbours: &after,
                    modem,
                });
            }
            write_node(dir, &format!("n{i}"), address, &links, c)
        })
        .collect();
    configs.into_iter().map(Agent::start).collect()
}

/// A serial link on `device` to `neighbours` with the tests' [`MODEM`].
fn serial<'a>(device: &'a Path, neighbours: &'a [u32]) -> SerialLink<'a> {
    SerialLink {
        device,
        neighbours,
        modem: MODEM,
    }
}

/// GBR's signed revocation delta #1, revoking the GBR-USA translator (id 1 v1): decisions on
/// GBR data for USA fall back to home-only.
pub fn translator_revocation(c: &Coalition) -> Vec<u8> {
    use skywave_protocol::policy::{Artifact, Revoked, sample};
    let revocation = sample::revocation(
        sample::GBR,
        &c.gbr_root,
        1,
        &[Revoked::Translator { id: 1, version: 1 }],
    );
    sample::sign(&c.gbr_root, &Artifact::Revocation(revocation))
}

/// A fresh directory for one test's nodes, removed first if a previous run left it.
pub fn test_dir(name: &str) -> TestDir {
    let dir = std::env::temp_dir().join(format!("skywave-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test directory");
    TestDir(dir)
}

/// Whether the workspace's agent and emulator binaries are built; if not, fails when tools are
/// required, else says the test is skipped.
pub fn agents_built() -> bool {
    let built = binary("skywave").exists() && binary("skywave-linkemu").exists();
    require_or_skip(
        built,
        "the skywave and skywave-linkemu binaries (cargo test --workspace)",
    )
}

/// The D_PDU stream a station at `from` would transmit to broadcast each of `artifacts` on
/// Skywave's SAP `sap` as non-ARQ U_PDUs: what an intruder's radio puts on the air.
pub fn broadcast_artifacts(from: u32, sap: u8, artifacts: &[Vec<u8>]) -> Vec<u8> {
    let from = Address::new(from).expect("station address");
    let config = link::Config::new(from, Modem::hf_2400_short());
    let mut station = Box::new(HostLink::new(config).expect("link config"));
    let mut now = skywave_protocol::time::Instant::ZERO;
    let ttd = now + skywave_protocol::time::Duration::from_secs(3600);
    let mut message = vec![0u8; skywave_protocol::link::MAX_UPDU_LEN];
    for artifact in artifacts {
        let len = Writer::artifact(&mut message, artifact).expect("artifact fits a U_PDU");
        let submitted = station.submit(
            now,
            &link::Message {
                dest: Address::BROADCAST,
                header: SpduHeader {
                    priority: 10,
                    src_sap: sap,
                    dest_sap: sap,
                },
                mode: link::Mode::NonArq { repeats: 1 },
                confirm: false,
                ttd,
                data: message.get(..len).unwrap_or_default(),
            },
        );
        submitted.expect("the station queues the message");
    }
    let mut stream = Vec::new();
    let mut buf = vec![0u8; MAX_DPDU_LEN];
    while station.queued() > 0 {
        while let Some(tx) = station.poll_transmit(now, &mut buf) {
            stream.extend_from_slice(buf.get(..tx.len).unwrap_or_default());
        }
        let next = station.poll_timeout().unwrap_or(now);
        now = next.max(now + skywave_protocol::time::Duration::from_millis(10));
        station.handle_timeout(now);
    }
    stream
}

/// A DATA-ONLY D_PDU from 0x1C5 to 0x2B with ARQ sequence number `seq` carrying `segment`,
/// as the bytes on the line: traffic for tests of what carries or deframes D_PDUs (the link
/// emulator, the firmware), which look only at sequence numbers and CRCs.
pub fn data_frame(seq: u8, segment: &[u8]) -> Vec<u8> {
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 9,
        dest: Address::new(0x2B).expect("destination address"),
        src: Address::new(0x1C5).expect("source address"),
        body: Body::DataOnly(ArqData {
            flags: ArqFlags::default(),
            tx_seq: seq,
            segment,
        }),
    };
    let mut out = vec![0; dpdu.buffer_len()];
    dpdu.emit(&mut out)
        .expect("a segment of at most 1023 bytes");
    out
}

/// A board the firmware is built for (docs/firmware.md, "Boards"), as `scripts/test.sh` builds
/// its images and QEMU boots them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Board {
    /// QEMU's mps2-an386, the reference board: `cargo build --release` in firmware/.
    Mps2An386,
    /// An STM32F405, QEMU's netduinoplus2: `cargo build-stm32f405` in firmware/ (an alias
    /// for the `stm32f405` feature and its own target directory, `firmware/target/stm32f405`).
    Stm32f405,
}

impl Board {
    /// The board's name, as the firmware reports it (`board=` on its banner and the
    /// self-test's first line).
    pub fn name(self) -> &'static str {
        match self {
            Board::Mps2An386 => "mps2-an386",
            Board::Stm32f405 => "stm32f405",
        }
    }

    /// The board's release image `name` (`skywave-firmware`, `selftest`, `difftest`,
    /// `persist`). The reference board's is in firmware/'s own target directory, or under
    /// `CARGO_TARGET_DIR` when that is set, as cargo does; the STM32F405's in the target
    /// directory its alias names.
    pub fn image(self, name: &str) -> PathBuf {
        let target = match self {
            Board::Mps2An386 => std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("firmware/target")),
            Board::Stm32f405 => workspace_root().join("firmware/target/stm32f405"),
        };
        target.join("thumbv7em-none-eabihf/release").join(name)
    }

    /// The board's guarded adjunct (firmware feature `guard`, docs/firmware.md), built into
    /// its own target directory (`firmware/target/guard`, and `stm32f405-guard`) so it does not
    /// replace the default image.
    pub fn guard_image(self) -> PathBuf {
        let dir = match self {
            Board::Mps2An386 => "firmware/target/guard",
            Board::Stm32f405 => "firmware/target/stm32f405-guard",
        };
        workspace_root()
            .join(dir)
            .join("thumbv7em-none-eabihf/release/skywave-firmware")
    }

    /// `qemu-system-arm` as this board, with no display or monitor and semihosting on (so the
    /// firmware can exit QEMU with a status). Add the `-serial` options (the first is the
    /// radio: UART0, USART1; the second the console: UART1, USART2) and `-kernel IMAGE`.
    pub fn qemu(self) -> Command {
        let mut qemu = Command::new("qemu-system-arm");
        match self {
            Board::Mps2An386 => qemu.args(["-cpu", "cortex-m4", "-machine", "mps2-an386"]),
            // The machine fixes its Cortex-M4.
            Board::Stm32f405 => qemu.args(["-machine", "netduinoplus2"]),
        };
        qemu.args(["-display", "none", "-monitor", "none"])
            .args(["-semihosting-config", "enable=on,target=native"]);
        qemu
    }
}

/// The reference board's release image `name` ([`Board::image`]).
pub fn firmware_image(name: &str) -> PathBuf {
    Board::Mps2An386.image(name)
}

/// `qemu-system-arm` as the reference board ([`Board::qemu`]).
pub fn qemu_board() -> Command {
    Board::Mps2An386.qemu()
}
