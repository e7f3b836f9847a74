//! The agent as a system service: who may read its files and use its socket, one agent per
//! store, a socket path that must never clobber a file, SIGHUP and SIGTERM, and readiness for
//! systemd (`Type=notify`).

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Process, eventually, skywave, udp_node};
use skywave_protocol::policy::sample::Coalition;

fn home(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("service-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    udp_node(&dir, &Coalition::new(), "127.0.0.1:0", "127.0.0.1:9")
}

/// Adds `lines` to the `[control]` section of the configuration at `config`.
fn with_control(config: &Path, lines: &str) {
    let text = std::fs::read_to_string(config).unwrap();
    std::fs::write(config, format!("[control]\n{lines}\n\n{text}")).unwrap();
}

fn spawn(config: &Path, notify: Option<&Path>) -> Child {
    let log = std::fs::File::create(config.with_extension("log")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_skywave"));
    command
        .args(["run", "--config"])
        .arg(config)
        .stdout(Stdio::null())
        .stderr(log)
        // The file's `[log] level` applies only without RUST_LOG.
        .env_remove("RUST_LOG");
    if let Some(socket) = notify {
        command.env("NOTIFY_SOCKET", socket);
    }
    command.spawn().unwrap()
}

fn log(config: &Path) -> String {
    std::fs::read_to_string(config.with_extension("log")).unwrap_or_default()
}

/// Waits up to 20 s for `child` to exit; fails the test if it does not.
fn exit_of(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("the agent did not exit");
}

fn signal(child: &Child, name: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn status_ok(socket: &Path) -> bool {
    skywave(&["status", "--socket", socket.to_str().unwrap()])
        .status
        .success()
}

#[test]
fn store_and_socket_are_owner_only_unless_the_group_is_given() {
    let config = home("modes");
    let _agent = Process(spawn(&config, None));
    let socket = config.with_file_name("skywave.sock");
    eventually(Duration::from_secs(20), "the socket", || socket.exists());
    let store = config.with_file_name("skywave.db");
    assert_eq!(mode(&socket), 0o600);
    assert_eq!(mode(&store), 0o600);
    assert_eq!(mode(&config.with_file_name("skywave.db-wal")), 0o600);

    let config = home("group-modes");
    with_control(&config, "group_access = true");
    let _agent = Process(spawn(&config, None));
    let socket = config.with_file_name("skywave.sock");
    eventually(Duration::from_secs(20), "the socket", || socket.exists());
    assert_eq!(mode(&socket), 0o660);
    assert_eq!(mode(&config.with_file_name("skywave.db")), 0o640);
}

#[test]
fn a_socket_path_naming_a_file_is_refused_and_the_file_kept() {
    for (name, target) in [("socket-file", "notes.txt"), ("socket-store", "skywave.db")] {
        let config = home(name);
        let file = config.with_file_name(target);
        std::fs::write(&file, b"precious").unwrap();
        with_control(&config, &format!("socket = \"{target}\""));
        let status = exit_of(&mut spawn(&config, None));
        assert!(!status.success());
        let said = log(&config);
        assert!(
            said.contains("is not a socket") || said.contains("is the store (node.store)"),
            "{said}"
        );
        assert!(file.exists(), "{name}: the file is still there");
        if target == "notes.txt" {
            assert_eq!(std::fs::read(&file).unwrap(), b"precious");
        }
    }
}

#[test]
fn a_second_agent_on_the_same_store_refuses_to_start() {
    let first = home("lock-a");
    let _agent = Process(spawn(&first, None));
    eventually(Duration::from_secs(20), "the first agent", || {
        first.with_file_name("skywave.sock").exists()
    });
    let second = home("lock-b");
    let store = first.with_file_name("skywave.db");
    let text = std::fs::read_to_string(&second).unwrap().replace(
        "trust = \"trust\"",
        &format!("trust = \"trust\"\nstore = \"{}\"", store.display()),
    );
    std::fs::write(&second, text).unwrap();
    let status = exit_of(&mut spawn(&second, None));
    assert!(!status.success());
    let said = log(&second);
    assert!(said.contains("is in use by another agent (pid "), "{said}");
    assert!(status_ok(&first.with_file_name("skywave.sock")));
}

#[test]
fn sighup_rereads_and_reports_and_sigterm_stops_cleanly() {
    let config = home("signals");
    let notify_path = config.with_file_name("notify.sock");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut agent = spawn(&config, Some(&notify_path));
    let mut buf = [0u8; 256];
    let n = notify.recv(&mut buf).expect("a readiness notification");
    let said = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(said.lines().any(|l| l == "READY=1"), "{said}");
    let socket = config.with_file_name("skywave.sock");
    assert!(status_ok(&socket), "ready means the socket answers");

    // An unchanged file: nothing to do.
    signal(&agent, "HUP");
    eventually(Duration::from_secs(10), "the reload's report", || {
        log(&config).contains("configuration re-read: nothing changed")
    });
    // A changed link: reported as needing a restart, and the agent keeps running.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("127.0.0.1:9\"", "127.0.0.1:10\"");
    std::fs::write(&config, text).unwrap();
    signal(&agent, "HUP");
    eventually(Duration::from_secs(10), "the reload's report", || {
        log(&config).contains("link hf0 changed: takes effect after a restart")
    });
    assert!(
        agent.try_wait().unwrap().is_none(),
        "SIGHUP must not stop it"
    );
    assert!(status_ok(&socket));

    signal(&agent, "TERM");
    let n = notify.recv(&mut buf).expect("a stopping notification");
    assert!(String::from_utf8_lossy(&buf[..n]).contains("STOPPING=1"));
    assert!(exit_of(&mut agent).success());
    assert!(!socket.exists(), "the socket is removed");
    assert!(log(&config).contains("stopped"));
    // The store's lock went with it.
    let _again = Process(spawn(&config, None));
    eventually(Duration::from_secs(20), "a new agent on the store", || {
        status_ok(&socket)
    });
}

#[test]
fn check_config_exit_status_says_ok_errors_or_unreadable() {
    let config = home("check");
    let check = |config: &Path| skywave(&["check-config", config.to_str().unwrap()]);
    let out = check(&config);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.ends_with("node.toml: ok\n"), "{said}");

    // The example stack's old mistake: a link through "the 5066 node" that is our own SIS port.
    let text = std::fs::read_to_string(&config).unwrap()
        + "\n[[link]]\nname = \"stack\"\nneighbours = [3]\nsis = { server = \"127.0.0.1:15066\", sap = 13 }\n\n[sis]\nlisten = \"127.0.0.1:15066\"\n";
    std::fs::write(&config, text).unwrap();
    let out = check(&config);
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(
            "error: link stack: sis.server 127.0.0.1:15066 is this agent's own SIS server"
        ),
        "{said}"
    );
    assert!(said.ends_with("node.toml: 1 errors\n"), "{said}");

    std::fs::write(&config, "[node\n").unwrap();
    assert_eq!(check(&config).status.code(), Some(2));
    assert_eq!(
        check(&config.with_file_name("missing.toml")).status.code(),
        Some(2)
    );
}

#[test]
fn the_log_can_be_json_lines() {
    let config = home("json-log");
    let log_file = std::fs::File::create(config.with_extension("log")).unwrap();
    let _agent = Process(
        Command::new(env!("CARGO_BIN_EXE_skywave"))
            .args(["run", "--log-format", "json", "--config"])
            .arg(&config)
            .stderr(log_file)
            .spawn()
            .unwrap(),
    );
    eventually(
        Duration::from_secs(20),
        "the agent's start in the log",
        || log(&config).contains("skywave agent running"),
    );
    for line in log(&config).lines() {
        let entry: serde_json::Value = serde_json::from_str(line).expect(line);
        assert!(
            entry["level"].is_string() && entry["message"].is_string(),
            "{line}"
        );
    }
}

/// SIGHUP installs a root added to the trust directory: an artifact signed under it, refused
/// before, is admitted after. A configuration that no longer parses changes nothing, and the
/// agent carries on with what it applied.
#[test]
fn sighup_installs_a_new_root_and_a_broken_file_changes_nothing() {
    let config = home("reload-root");
    let aus_root = config.with_file_name("trust").join("root-2.cred");
    let root = std::fs::read(&aus_root).unwrap();
    std::fs::remove_file(&aus_root).unwrap();
    let agent = Process(spawn(&config, None));
    let socket = config.with_file_name("skywave.sock");
    eventually(Duration::from_secs(20), "the agent", || status_ok(&socket));
    // AUS's policy signer, certified by the AUS root.
    let signer = config.with_file_name("aus-signer.sky");
    std::fs::write(&signer, &Coalition::new().artifacts()[2]).unwrap();
    let publish = || {
        skywave(&[
            "publish",
            "--socket",
            socket.to_str().unwrap(),
            signer.to_str().unwrap(),
        ])
    };
    let before = publish();
    assert!(!before.status.success(), "admitted without its root");
    assert!(
        String::from_utf8_lossy(&before.stderr).contains("refused"),
        "{}",
        String::from_utf8_lossy(&before.stderr)
    );

    std::fs::write(&aus_root, &root).unwrap();
    signal(&agent.0, "HUP");
    eventually(Duration::from_secs(10), "the root installed", || {
        log(&config).contains(&format!(
            "SIGHUP: root {} installed (domain AUS): applied",
            aus_root.display()
        ))
    });
    let after = publish();
    assert!(
        after.status.success(),
        "{}",
        String::from_utf8_lossy(&after.stderr)
    );
    assert!(String::from_utf8_lossy(&after.stdout).contains("admitted"));

    let good = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, good.replace("[node]", "[node")).unwrap();
    signal(&agent.0, "HUP");
    eventually(Duration::from_secs(10), "the refusal", || {
        log(&config).contains("SIGHUP: the configuration no longer loads")
    });
    assert!(log(&config).contains("still running as before"));
    assert!(status_ok(&socket), "the agent carries on");
    // Mended: nothing changed from what runs (the root stays installed, so nothing to do).
    std::fs::write(&config, &good).unwrap();
    signal(&agent.0, "HUP");
    eventually(Duration::from_secs(10), "the second report", || {
        log(&config).contains("configuration re-read: nothing changed")
    });

    // The log's filter, replaced in the running process.
    std::fs::write(&config, format!("[log]\nlevel = \"debug\"\n\n{good}")).unwrap();
    signal(&agent.0, "HUP");
    eventually(Duration::from_secs(10), "the new filter", || {
        log(&config).contains("SIGHUP: log.level = \"debug\": applied")
    });
}
