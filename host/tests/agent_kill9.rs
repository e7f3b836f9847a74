//! Crash safety, end to end: two agents over a pseudo-serial cable carry a stream of
//! publications while the test kills the sender or the receiver with SIGKILL 24 times at random
//! moments and restarts it. Every artifact the sender acknowledged (`publish` answered
//! "admitted") must end up at both nodes exactly once: nothing acknowledged is lost, nothing is
//! delivered twice, and both stores pass SQLite's integrity check.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Process, eventually, skywave, write_node};

use skywave_hil_tests::tool_available;
use skywave_protocol::policy::sample::{self, Coalition, GBR};
use skywave_protocol::policy::{Artifact, Revoked};

const KILLS: usize = 24;

/// The socat cable; restarted when one end's agent dies and takes it down.
struct Cable {
    ends: (PathBuf, PathBuf),
    process: Option<Process>,
}

impl Cable {
    fn ensure(&mut self) {
        let alive = self
            .process
            .as_mut()
            .is_some_and(|p| matches!(p.0.try_wait(), Ok(None)));
        if alive {
            return;
        }
        self.process = None;
        let (a, b) = &self.ends;
        self.process = Some(skywave_hil_tests::socat_cable(a, b));
    }
}

/// One agent: its configuration and, while it runs, its process.
struct Agent {
    config: PathBuf,
    process: Option<Process>,
}

impl Agent {
    fn new(dir: &Path, name: &str, address: u32, peer: u32, device: &Path, c: &Coalition) -> Agent {
        Agent {
            config: write_node(dir, name, address, peer, device, c),
            process: None,
        }
    }

    fn socket(&self) -> String {
        self.config
            .with_file_name("skywave.sock")
            .display()
            .to_string()
    }

    fn start(&mut self) {
        let exe = Path::new(env!("CARGO_BIN_EXE_skywave"));
        self.process = Some(skywave_hil_tests::start_agent(exe, &self.config));
    }

    fn kill(&mut self) {
        self.process = None;
    }

    /// The digests of the artifacts the agent holds, and how many entries it listed.
    fn holds(&self) -> Option<(BTreeSet<String>, usize)> {
        let out = skywave(&["policies", "--socket", &self.socket(), "--json"]);
        if !out.status.success() {
            return None;
        }
        let reply: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        let list = reply["policies"]["artifacts"].as_array()?;
        let digests: BTreeSet<String> = list
            .iter()
            .filter_map(|a| a["digest"].as_str().map(str::to_owned))
            .collect();
        Some((digests, list.len()))
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    skywave_protocol::policy::Digest::of(bytes).to_string()
}

#[test]
fn nothing_acknowledged_is_lost_and_nothing_arrives_twice_across_24_kills() {
    if !tool_available("socat", "the PTY pair standing in for a cable") {
        return;
    }
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("kill9-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut cable = Cable {
        ends: (dir.join("tty-a"), dir.join("tty-b")),
        process: None,
    };
    cable.ensure();
    let c = Coalition::new();
    let mut a = Agent::new(&dir, "a", 1, 2, &cable.ends.0, &c);
    let mut b = Agent::new(&dir, "b", 2, 1, &cable.ends.1, &c);
    a.start();
    b.start();

    let mut acknowledged = BTreeSet::new();
    let mut publish = |a: &Agent, name: String, bytes: Vec<u8>| {
        let file = dir.join(name);
        std::fs::write(&file, &bytes).unwrap();
        let out = skywave(&["publish", "--socket", &a.socket(), file.to_str().unwrap()]);
        if out.status.success() {
            acknowledged.insert(sha256_hex(&bytes));
        }
        out.status.success()
    };
    for (i, artifact) in c.artifacts().into_iter().enumerate() {
        assert!(publish(&a, format!("coalition-{i:02}.sky"), artifact));
    }

    // A stream of revocation deltas, with a kill after each, alternating sender and receiver,
    // at a pseudo-random moment (a fixed sequence, so a failure can be replayed).
    let mut jitter = 0x2545_f491_u32;
    for seq in 1..=KILLS as u32 {
        let entry = Revoked::Policy {
            id: 100 + seq,
            version: 1,
        };
        let delta = sample::revocation(GBR, &c.gbr_root, seq, &[entry]);
        let bytes = sample::sign(&c.gbr_root, &Artifact::Revocation(delta));
        // The sender may be down this instant; what it did not acknowledge is not owed.
        if !publish(&a, format!("revocation-{seq:02}.sky"), bytes.clone()) {
            eventually(Duration::from_secs(20), "the sender back", || {
                publish(&a, format!("revocation-{seq:02}.sky"), bytes.clone())
            });
        }
        jitter ^= jitter << 13;
        jitter ^= jitter >> 17;
        jitter ^= jitter << 5;
        std::thread::sleep(Duration::from_millis(u64::from(jitter % 400)));
        let victim = if seq % 2 == 0 { &mut a } else { &mut b };
        victim.kill();
        cable.ensure();
        victim.start();
    }

    cable.ensure();
    eventually(
        Duration::from_secs(180),
        "both nodes hold every acknowledged artifact",
        || {
            cable.ensure();
            let (Some((at_a, _)), Some((at_b, _))) = (a.holds(), b.holds()) else {
                return false;
            };
            acknowledged.is_subset(&at_b) && at_a == at_b
        },
    );
    for (name, agent) in [("sender", &a), ("receiver", &b)] {
        let (held, listed) = agent.holds().unwrap();
        assert_eq!(listed, held.len(), "the {name} holds an artifact twice");
        assert!(
            acknowledged.is_subset(&held),
            "the {name} lost an acknowledged artifact"
        );
    }
    a.kill();
    b.kill();
    for agent in [&a, &b] {
        let audit = skywave(&[
            "audit",
            "verify",
            "--config",
            agent.config.to_str().unwrap(),
        ]);
        // These agents decide nothing, so their logs are empty: `audit verify` says so and
        // fails (an emptied log looks the same), and must not find anything else.
        let said = String::from_utf8_lossy(&audit.stderr);
        assert!(
            audit.status.success() || said.contains("the decision log is empty"),
            "{said}"
        );
        let db = rusqlite::Connection::open(agent.config.with_file_name("skywave.db")).unwrap();
        let check: String = db
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }
}
