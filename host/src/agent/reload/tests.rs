//! Each setting SIGHUP may meet: applied live, or named for a restart, or refused whole.

use std::path::{Path, PathBuf};

use skywave_protocol::policy::sample::{self, AUS, Coalition};
use skywave_protocol::policy::{Artifact, Scope};

use super::*;

const BASE: &str = "[node]\naddress = 1\ntrust = \"trust\"\n\n[[link]]\nname = \"hf0\"\nneighbours = [2]\nmodem = { bit_rate = 2400 }\nudp = { bind = \"127.0.0.1:0\", peer = \"127.0.0.1:9\" }\n";

/// A node directory with the coalition's roots but AUS's (`root-0`, `root-1`), its
/// configuration `text`, and what an agent started from them runs with.
struct Node {
    dir: tempfile::TempDir,
    running: Running,
}

impl Node {
    fn new(text: &str) -> Node {
        let dir = tempfile::tempdir().unwrap();
        let trust = dir.path().join("trust");
        std::fs::create_dir(&trust).unwrap();
        for (i, root) in Coalition::new().roots().iter().take(2).enumerate() {
            std::fs::write(trust.join(format!("root-{i}.cred")), root).unwrap();
        }
        let config = AgentConfig::parse_full(text, dir.path()).unwrap();
        let roots = trust_files(&trust);
        Node {
            dir,
            running: Running { config, roots },
        }
    }

    fn trust(&self) -> PathBuf {
        self.dir.path().join("trust")
    }

    /// The plan for the file reading `text` and the trust directory as it is.
    fn plan(&self, text: &str) -> Result<Plan, ReloadError> {
        let now = AgentConfig::parse_full(text, self.dir.path()).unwrap();
        plan(&self.running, &now, &trust_files(&self.trust()))
    }
}

fn aus_root() -> Vec<u8> {
    Coalition::new().roots()[2].clone()
}

/// A second, different AUS root (another key).
fn other_aus_root() -> Vec<u8> {
    let key = sample::key(40);
    let cred = sample::credential(&key, &key, AUS, Scope::ALL, 3);
    sample::sign(&key, &Artifact::Credential(cred))
}

#[test]
fn an_unchanged_file_and_directory_plan_nothing() {
    let node = Node::new(BASE);
    let plan = node.plan(BASE).unwrap();
    assert!(plan.live.is_empty() && plan.restart.is_empty() && plan.group_access.is_none());
}

#[test]
fn a_new_root_is_installed_live() {
    let node = Node::new(BASE);
    let file = node.trust().join("root-2.cred");
    std::fs::write(&file, aus_root()).unwrap();
    let plan = node.plan(BASE).unwrap();
    assert_eq!(plan.live.roots, [(file, aus_root())]);
    assert!(plan.restart.is_empty(), "{:?}", plan.restart);
}

/// What SIGHUP says of a root file no longer in the directory as it was installed.
fn stays_trusted(file: &Path) -> String {
    format!(
        "root {} removed or changed: it stays trusted",
        file.display()
    )
}

#[test]
fn a_removed_root_stays_trusted_until_a_restart() {
    let node = Node::new(BASE);
    let file = node.trust().join("root-1.cred");
    std::fs::remove_file(&file).unwrap();
    let plan = node.plan(BASE).unwrap();
    assert!(plan.live.is_empty());
    assert_eq!(plan.restart, [stays_trusted(&file)]);
}

#[test]
fn a_changed_root_installs_the_new_and_keeps_the_old_until_a_restart() {
    let mut node = Node::new(BASE);
    let file = node.trust().join("root-2.cred");
    std::fs::write(&file, aus_root()).unwrap();
    node.running.roots = trust_files(&node.trust());
    std::fs::write(&file, other_aus_root()).unwrap();
    let plan = node.plan(BASE).unwrap();
    assert_eq!(plan.live.roots, [(file.clone(), other_aus_root())]);
    assert_eq!(plan.restart, [stays_trusted(&file)]);
}

#[test]
fn a_trust_directory_that_no_longer_loads_changes_nothing() {
    let node = Node::new(BASE);
    std::fs::write(node.trust().join("root-2.cred"), b"not a root").unwrap();
    let Err(ReloadError::Trust(e)) = node.plan(BASE) else {
        panic!("a bad root file was planned");
    };
    assert!(
        e.to_string().contains("root-2.cred: not a usable root"),
        "{e}"
    );
}

#[test]
fn rooms_are_set_live_and_a_removed_room_waits_for_a_restart() {
    let gbr = "\n[[room]]\ndomain = \"GBR\"\npolicies = 60\n";
    let usa = "\n[[room]]\ndomain = \"USA\"\nrevoked = 8\n";
    let node = Node::new(&format!("{BASE}{gbr}{usa}"));
    let plan = node.plan(&format!("{BASE}{gbr}")).unwrap();
    let rooms = plan.live.rooms.unwrap();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].policies, Some(60));
    assert_eq!(plan.restart, ["room USA removed: its limits stay"]);

    let bigger = gbr.replace("60", "70");
    let plan = node.plan(&format!("{BASE}{bigger}{usa}")).unwrap();
    assert_eq!(plan.live.rooms.unwrap()[0].policies, Some(70));
    assert!(plan.restart.is_empty());

    // A room for a domain with no root here would stop a restart too: nothing is applied.
    let aus = "\n[[room]]\ndomain = \"AUS\"\n";
    let Err(ReloadError::Rooms(e)) = node.plan(&format!("{BASE}{gbr}{usa}{aus}")) else {
        panic!("a room without its root was planned");
    };
    assert!(e.contains("no root of AUS"), "{e}");
}

#[test]
fn guarded_saps_change_live_and_the_key_waits_for_a_restart() {
    let guard = "\n[guard]\nkey = \"node.pem\"\n[[guard.sap]]\nsap = 5\nenvelope = true\n";
    let node = Node::new(&format!("{BASE}{guard}"));
    let more = format!("{guard}[[guard.sap]]\nsap = 6\nenvelope = true\n");
    let plan = node.plan(&format!("{BASE}{more}")).unwrap();
    assert_eq!(plan.live.guard_saps, Some(vec![5, 6]));
    assert!(plan.restart.is_empty());

    let rekeyed = guard.replace("node.pem", "other.pem");
    let plan = node.plan(&format!("{BASE}{rekeyed}")).unwrap();
    assert_eq!(plan.live.guard_saps, None);
    assert_eq!(plan.restart, ["guard.key changed"]);

    let plan = node.plan(BASE).unwrap();
    assert_eq!(plan.restart, ["[guard] removed"]);
    let plan = Node::new(BASE).plan(&format!("{BASE}{guard}")).unwrap();
    assert_eq!(plan.restart, ["[guard] added"]);
}

#[test]
fn the_inbox_bound_changes_live() {
    let node = Node::new(BASE);
    let plan = node
        .plan(&format!("{BASE}\n[inbox]\nmax_messages = 50\n"))
        .unwrap();
    assert_eq!(plan.live.inbox_max, Some(50));
    assert!(plan.restart.is_empty());
    // Written out at its default, it is no change.
    let default = format!("{BASE}\n[inbox]\nmax_messages = 10000\n");
    assert!(node.plan(&default).unwrap().live.is_empty());
}

#[test]
fn group_access_is_applied_to_the_socket_and_store() {
    use std::os::unix::fs::PermissionsExt as _;
    let node = Node::new(BASE);
    let plan = node
        .plan(&format!("[control]\ngroup_access = true\n\n{BASE}"))
        .unwrap();
    assert_eq!(plan.group_access, Some(true));
    assert!(plan.restart.is_empty());

    let mut config = node.running.config.agent.clone();
    // Stand-ins for the agent's socket and store, as it leaves them without the group.
    let lock = PathBuf::from(format!("{}.lock", config.store.display()));
    for file in [&config.socket, &config.store, &lock] {
        std::fs::write(file, b"").unwrap();
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    config.group_access = true;
    apply_modes(&config).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        (mode(&config.socket), mode(&config.store), mode(&lock)),
        (0o660, 0o640, 0o640)
    );
}

#[test]
fn links_and_the_rest_wait_for_a_restart() {
    let node = Node::new(BASE);
    let moved = BASE.replace("127.0.0.1:9", "127.0.0.1:10");
    assert_eq!(node.plan(&moved).unwrap().restart, ["link hf0 changed"]);
    let renamed = BASE
        .replace("hf0", "hf1")
        .replace("address = 1", "address = 3");
    assert_eq!(
        node.plan(&renamed).unwrap().restart,
        ["node.address changed", "link hf0 removed", "link hf1 added"]
    );
    let elsewhere = BASE.replace(
        "trust = \"trust\"",
        "trust = \"trust\"\nstore = \"other.db\"\nsap = 12\n",
    );
    assert_eq!(
        node.plan(&elsewhere).unwrap().restart,
        ["node.sap changed", "node.store changed"]
    );
    let socket = format!("[control]\nsocket = \"other.sock\"\n\n{BASE}\n[sis]\nmax_clients = 2\n");
    assert_eq!(
        node.plan(&socket).unwrap().restart,
        ["control.socket changed", "the [sis] section changed"]
    );
}

/// A core stand-in that answers every reload with `answer`, recording what it was sent.
fn fake_core(answer: Applied) -> (mpsc::Sender<Request>, tokio::task::JoinHandle<Vec<Live>>) {
    let (tx, mut rx) = mpsc::channel::<Request>(4);
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(request) = rx.recv().await {
            if let Command::Reload(live) = request.command {
                seen.push(live);
            }
            let _ = request.reply.send(Reply::Reloaded(answer.clone()));
        }
        seen
    });
    (tx, task)
}

#[tokio::test]
async fn a_file_that_no_longer_parses_changes_nothing_and_sends_nothing() {
    let mut node = Node::new(BASE);
    let path = node.dir.path().join("node.toml");
    std::fs::write(&path, "[node\n").unwrap();
    std::fs::write(node.trust().join("root-2.cred"), aus_root()).unwrap();
    let before = node.running.clone();
    let (core, task) = fake_core(Applied::default());
    let Err(ReloadError::Config(_)) = reload(&path, &mut node.running, &core).await else {
        panic!("a broken file reloaded");
    };
    assert_eq!(node.running.config, before.config);
    assert_eq!(node.running.roots, before.roots);
    drop(core);
    assert!(task.await.unwrap().is_empty(), "nothing went to the core");
}

#[tokio::test]
async fn what_the_core_installed_is_what_runs_and_is_not_sent_again() {
    let mut node = Node::new(BASE);
    let path = node.dir.path().join("node.toml");
    std::fs::write(&path, BASE).unwrap();
    let file = node.trust().join("root-2.cred");
    std::fs::write(&file, aus_root()).unwrap();
    let done = Applied {
        done: vec![format!("root {} installed (domain AUS)", file.display())],
        failed: Vec::new(),
    };
    let (core, task) = fake_core(done.clone());
    assert_eq!(reload(&path, &mut node.running, &core).await.unwrap(), done);
    assert!(node.running.roots.contains(&(file.clone(), aus_root())));
    // Again: the root is held now, so nothing goes to the core.
    let again = reload(&path, &mut node.running, &core).await.unwrap();
    assert_eq!(again, Applied::default());
    drop(core);
    let sent = task.await.unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].roots, [(file, aus_root())]);
}

#[test]
fn the_log_level_is_applied_live() {
    let node = Node::new(BASE);
    let plan = node
        .plan(&BASE.replace("[node]", "[log]\nlevel = \"debug\"\n\n[node]"))
        .unwrap();
    assert_eq!(plan.log_level, Some(Some("debug".to_owned())));
    assert!(plan.restart.is_empty() && plan.live.is_empty());
    let bad = AgentConfig::parse_full(
        &BASE.replace("[node]", "[log]\nlevel = \"=bad[\"\n\n[node]"),
        node.dir.path(),
    )
    .unwrap_err();
    assert!(
        bad.starts_with("log.level: \"=bad[\" is not a log filter"),
        "{bad}"
    );
}
