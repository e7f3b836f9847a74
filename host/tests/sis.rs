//! STANAG 5066 SIS against the shipped binary, driven by an independent client
//! (`sis_client.py`, Python standard library only, written from Annex A's byte layout):
//!
//! 1. every primitive against agent A's SIS server, including malformed ones: each gets its
//!    rejection or a clean close, and the server keeps serving its other clients;
//! 2. a client's message end to end: client -> node A -> HF (a socat PTY pair) -> node B ->
//!    client, with client delivery confirmation back to the sender;
//! 3. the SIS client bearer against our own server: agent X rides A's 5066 node as an SIS
//!    client (A's own policy SAP is moved to 15 so X can bind 13, as beside an installed stack)
//!    and gets the whole coalition to B through it;
//! 4. a flood to an absent node turns the client's data flow off, every request expires and is
//!    rejected (TTL expired), and the flow comes back on;
//! 5. tshark decodes the SIS conversations the Python client recorded, every primitive, no
//!    malformed packet.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Process, eventually, skywave, write_node};
use skywave_hil_tests::tool_available;
use skywave_protocol::policy::sample::Coalition;

fn client_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sis_client.py")
}

/// Runs the Python client; returns its JSON verdict (and fails the test if it failed).
fn python(args: &[&str]) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(client_script())
        .args(args)
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let verdict: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|_| {
        panic!(
            "sis_client.py {args:?}: no verdict\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(
        out.status.success() && verdict["ok"] == true,
        "sis_client.py {args:?}: {verdict}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    verdict
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(config: &Path) -> Process {
    skywave_hil_tests::start_agent(Path::new(env!("CARGO_BIN_EXE_skywave")), config)
}

/// Adds `extra` to the `[node]` section and `tail` at the end of the config at `path`.
fn amend(path: &Path, extra: &str, tail: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.replacen(
        "trust = \"trust\"\n",
        &format!("trust = \"trust\"\n{extra}"),
        1,
    );
    std::fs::write(path, format!("{text}\n{tail}")).unwrap();
}

/// The primitive types tshark's s5066sis dissector found in `pcap`, in order, and whether it
/// flagged anything.
fn tshark_types(pcap: &Path, port: u16) -> (Vec<u64>, String) {
    let decode = format!("tcp.port=={port},s5066sis");
    let out = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-d", &decode])
        .args(["-T", "fields", "-e", "s5066sis.type"])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let types = String::from_utf8_lossy(&out.stdout)
        .lines()
        .flat_map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().unwrap())
        .collect();
    let verbose = Command::new("tshark")
        .args(["-r", pcap.to_str().unwrap(), "-d", &decode, "-V"])
        .output()
        .expect("run tshark");
    (types, String::from_utf8_lossy(&verbose.stdout).into_owned())
}

fn assert_tshark_decodes(pcap: &Path, port: u16, sent: &serde_json::Value) {
    let expected: Vec<u64> = sent
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert!(!expected.is_empty());
    let (types, verbose) = tshark_types(pcap, port);
    assert_eq!(
        types,
        expected,
        "tshark's s5066sis types for {}",
        pcap.display()
    );
    for bad in ["Malformed", "[Expert Info (Error", "[Expert Info (Warning"] {
        assert!(
            !verbose.contains(bad),
            "{bad} in {}:\n{verbose}",
            pcap.display()
        );
    }
}

#[test]
fn sis_clients_and_the_sis_bearer_over_two_agents() {
    if !tool_available("socat", "the PTY pair standing in for a cable")
        || !tool_available("python3", "the independent SIS client")
    {
        return;
    }
    let tshark = tool_available("tshark", "decoding the recorded SIS traffic");
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("sis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (a_dev, b_dev) = (dir.join("tty-a"), dir.join("tty-b"));
    let _cable = skywave_hil_tests::socat_cable(&a_dev, &b_dev);

    // A serves SIS with its own policy traffic on SAP 15, leaving 13 to X; B keeps 13.
    let c = Coalition::new();
    let (a_port, b_port) = (free_port(), free_port());
    let a_config = write_node(&dir, "a", 1, 2, &a_dev, &c);
    amend(
        &a_config,
        "sap = 15\n",
        &format!("[sis]\nlisten = \"127.0.0.1:{a_port}\"\nmax_clients = 4\n"),
    );
    let b_config = write_node(&dir, "b", 2, 1, &b_dev, &c);
    amend(
        &b_config,
        "",
        &format!("[sis]\nlisten = \"127.0.0.1:{b_port}\"\n"),
    );
    let _a = start(&a_config);
    let _b = start(&b_config);
    let (a_port_s, b_port_s) = (a_port.to_string(), b_port.to_string());

    // 1. Every primitive, and the malformed ones, against A.
    let conformance_pcap = dir.join("conformance.pcap");
    let verdict = python(&[
        "conformance",
        "127.0.0.1",
        &a_port_s,
        "--node",
        "1",
        "--policy-sap",
        "15",
        "--max-clients",
        "4",
        "--pcap",
        conformance_pcap.to_str().unwrap(),
    ]);
    let checks = verdict["checks"].as_array().unwrap();
    assert!(checks.len() >= 25, "{verdict}");

    // 2. Client on A to client on B across the PTY, confirmed by B's client.
    let receiver = Command::new("python3")
        .arg(client_script())
        .args([
            "receive",
            "127.0.0.1",
            &b_port_s,
            "--sap",
            "5",
            "--timeout",
            "90",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the receiving client");
    let receiver = Process(receiver);
    // It is bound once it says so; reading its first line waits for that.
    let mut receiver = receiver;
    let mut stdout = std::io::BufReader::new(receiver.0.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
    assert!(line.contains("bound"), "{line}");
    let send_pcap = dir.join("send.pcap");
    let started = Instant::now();
    let sent = python(&[
        "send",
        "127.0.0.1",
        &a_port_s,
        "--sap",
        "5",
        "--dest",
        "2",
        "--dest-sap",
        "5",
        "--data",
        "HMTP says hello across the HF link",
        "--confirm",
        "client",
        "--timeout",
        "90",
        "--pcap",
        send_pcap.to_str().unwrap(),
    ]);
    eprintln!(
        "client A -> B with client delivery confirm: {:.2} s over 9600 bit/s ({})",
        started.elapsed().as_secs_f64(),
        sent["seconds"]
    );
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let got: serde_json::Value = serde_json::from_str(rest.trim()).unwrap();
    assert_eq!(got["ok"], true, "{got}");
    let ind = &got["received"][0];
    assert_eq!(ind["data"], "HMTP says hello across the HF link", "{got}");
    assert_eq!(
        (ind["src"].as_u64(), ind["src_sap"].as_u64()),
        (Some(1), Some(5))
    );
    assert_eq!(ind["dest"].as_u64(), Some(2));
    assert_eq!(
        sent["confirm"]["data"],
        "HMTP says hello across the HF link"
    );

    // 3. X rides A's 5066 node as an SIS client (its address on the air is A's) and gets the
    // coalition to B through it.
    let x_home = dir.join("x");
    std::fs::create_dir_all(&x_home).unwrap();
    let status = Command::new("cp")
        .args(["-r"])
        .arg(dir.join("a/trust"))
        .arg(&x_home)
        .status()
        .unwrap();
    assert!(status.success());
    let x_config = x_home.join("node.toml");
    std::fs::write(
        &x_config,
        format!(
            "[node]\naddress = 1\ntrust = \"trust\"\n\n[[link]]\nname = \"stack\"\nneighbours = [2]\nsis = {{ server = \"127.0.0.1:{a_port}\", sap = 13 }}\n"
        ),
    )
    .unwrap();
    let _x = start(&x_config);
    let x_sock = x_home.join("skywave.sock");
    let b_sock = b_config.with_file_name("skywave.sock");
    let artifacts = c.artifacts();
    for (i, artifact) in artifacts.iter().enumerate() {
        let file = dir.join(format!("artifact-{i:02}.sky"));
        std::fs::write(&file, artifact).unwrap();
        let out = skywave(&[
            "publish",
            "--socket",
            x_sock.to_str().unwrap(),
            file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "publish {i}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let held = |socket: &Path| {
        let out = skywave(&["policies", "--socket", socket.to_str().unwrap(), "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .ok()
            .and_then(|v| v["policies"]["artifacts"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    let started = Instant::now();
    eventually(
        Duration::from_secs(120),
        "B holds the whole coalition X sent through A's SIS server",
        || held(&b_sock) == artifacts.len(),
    );
    eprintln!(
        "coalition ({} artifacts) X -> A's SIS -> HF -> B: {:.1} s",
        artifacts.len(),
        started.elapsed().as_secs_f64()
    );
    let out = skywave(&["status", "--socket", x_sock.to_str().unwrap(), "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let link = &status["status"]["links"][0];
    assert_eq!(link["bearer"], "up", "{status}");
    assert!(link["frames_in"].as_u64().unwrap() > 0, "{status}");

    // 4. Backpressure: a flood to a node that is not there fills A's link; the client's data
    // flow goes off, every request expires and is rejected, the flow comes back on. Last,
    // because the HF link's ARQ keeps chasing the absent node for a while afterwards.
    let flood = python(&[
        "flood",
        "127.0.0.1",
        &a_port_s,
        "--sap",
        "9",
        "--dest",
        "119",
    ]);
    assert_eq!(flood["rejected"], 48, "{flood}");

    // 5. tshark reads every recorded primitive as SIS, nothing malformed.
    if tshark {
        assert_tshark_decodes(&conformance_pcap, a_port, &verdict["pcap_types"]);
        assert_tshark_decodes(&send_pcap, a_port, &sent["pcap_types"]);
    }
}
