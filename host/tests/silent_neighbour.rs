//! A neighbour that stays silent on one link must not hold back the others: node 1 reaches
//! node 3 (which never answers) on one simulated net and node 2 on another; everything node 1
//! publishes must reach node 2 in good time. Runs two agents' cores on tokio's paused clock over
//! the simulated radio bearer, as `skywave demo` does.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use skywave_host::agent::config::{AgentConfig, BearerConfig, LinkConfig};
use skywave_host::agent::control::{Command, Reply, Request};
use skywave_host::agent::{open_node, spawn_core};
use skywave_protocol::link::Modem;
use skywave_protocol::policy::sample::{self, Coalition, GBR, NOW};
use skywave_protocol::policy::{Artifact, TrustStore};
use skywave_protocol::wire::Address;
use skywave_tools::demo::agent_config;
use skywave_tools::demo::radio::RadioNet;
use skywave_tools::sim::channel::{Channel, Model};
use tokio::sync::{mpsc, oneshot};

fn link(name: &str, neighbour: u32) -> LinkConfig {
    LinkConfig {
        name: name.to_owned(),
        bearer: BearerConfig::Simulated,
        modem: Modem::hf_2400_short(),
        neighbours: vec![Address::new(neighbour).unwrap()],
        reset_after_link: false,
    }
}

fn config(dir: &Path, address: u32, links: Vec<LinkConfig>) -> AgentConfig {
    agent_config(dir, address, links).unwrap()
}

fn trust(c: &Coalition) -> TrustStore {
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, Some(NOW)).unwrap();
    }
    trust
}

async fn ask(control: &mpsc::Sender<Request>, command: Command) -> Reply {
    let (reply, answer) = oneshot::channel();
    control.send(Request { command, reply }).await.unwrap();
    answer.await.unwrap()
}

async fn story(dir: PathBuf) {
    let c = Coalition::new();
    let clean = |_| Channel::new(Model::Clean, 1);
    let (net_a, net_b) = (
        RadioNet::new(Modem::hf_2400_short()),
        RadioNet::new(Modem::hf_2400_short()),
    );
    // Node 1: link "a" to node 3 (present on the net, never answering), link "b" to node 2.
    let (_, one_a) = net_a.join(clean);
    let (_, _silent) = net_a.join(clean);
    let (_, one_b) = net_b.join(clean);
    let (_, two_b) = net_b.join(clean);
    let one = config(&dir, 1, vec![link("a", 3), link("b", 2)]);
    let two = config(&dir, 2, vec![link("b", 1)]);
    let (node, store) = open_node(&one, trust(&c)).unwrap();
    let (one, _t1) = spawn_core(
        &one,
        node,
        store,
        vec![one_a, one_b],
        std::future::pending(),
    )
    .unwrap();
    let (node, store) = open_node(&two, trust(&c)).unwrap();
    let (two, _t2) = spawn_core(&two, node, store, vec![two_b], std::future::pending()).unwrap();

    let rules = sample::gbr_rules();
    let mut published = 0;
    let extra = (10..40).map(|id| {
        sample::sign(
            &c.gbr_signer,
            &Artifact::Policy(sample::policy(&c.gbr_signer, GBR, id, 1, 4, &rules)),
        )
    });
    for artifact in c.artifacts().into_iter().chain(extra) {
        let reply = ask(&one, Command::Publish { artifact }).await;
        assert!(matches!(reply, Reply::Admitted { .. }), "{reply:?}");
        published += 1;
    }
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    let Reply::Status(status) = ask(&two, Command::Status).await else {
        panic!("no status");
    };
    assert_eq!(
        status.artifacts, published,
        "node 2 got everything within 30 minutes"
    );
}

#[test]
fn a_silent_neighbour_does_not_hold_back_the_other_links() {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("silent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    common::on_paused_clock(dir, story);
}
