//! The core's own state across a restart.

use std::path::Path;

use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
use skywave_protocol::label::binding::OriginState;
use skywave_protocol::node::{self, Node};
use skywave_protocol::policy::TrustStore;
use skywave_protocol::wire::Address;

use super::Core;
use crate::agent::config::{AgentConfig, DEFAULT_SAP, GuardSap, GuardSettings, SapLabel};
use crate::store::guard::SEQ_BLOCK;
use crate::store::{Store, StoreOptions};

fn config(dir: &Path) -> AgentConfig {
    AgentConfig {
        address: Address::new(12).unwrap(),
        sap: DEFAULT_SAP,
        trust: dir.join("trust"),
        store: dir.join("node.db"),
        store_max_bytes: None,
        socket: dir.join("skywave.sock"),
        group_access: false,
        links: Vec::new(),
        rooms: Vec::new(),
        guard: Some(GuardSettings {
            key: dir.join("node.pem"),
            saps: vec![GuardSap {
                sap: 5,
                label: SapLabel::Envelope,
                policy: None,
                spif: None,
            }],
        }),
    }
}

/// A core on the store of `config`, as the agent starts one.
fn try_start(config: &AgentConfig) -> anyhow::Result<Core> {
    let store = Store::open(&config.store, config.address, StoreOptions::default()).unwrap();
    let node = Box::new(Node::new(
        node::Config::new(config.sap),
        TrustStore::new(),
        store.artifacts().unwrap(),
        None,
    ));
    Core::new(config, node, store, Vec::new())
}

fn start(config: &AgentConfig) -> Core {
    try_start(config).unwrap()
}

#[test]
fn a_restart_reuses_no_sequence_number_and_keeps_the_replay_windows() {
    let dir = tempfile::tempdir().unwrap();
    let pem = SigningKey::from_slice(&[7; 32])
        .unwrap()
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(dir.path().join("node.pem"), pem.as_bytes()).unwrap();
    let config = config(dir.path());

    let mut first = start(&config);
    assert_eq!(first.station.next_binding_seq(), 1);
    // What a received labelled message leaves in the station: origin 0.0.0.13 at number 40.
    let seen = OriginState {
        address: 13,
        highest: 40,
        seen: 0b101,
    };
    first.station.restore_replay(seen).unwrap();
    first.poll();
    drop(first);

    let second = start(&config);
    // Whatever the first run sealed was below its reservation: the second starts above it.
    assert_eq!(second.station.next_binding_seq(), 1 + SEQ_BLOCK);
    assert_eq!(second.station.replay_origins(), [seen]);
    drop(second);
    assert_eq!(start(&config).station.next_binding_seq(), 1 + 2 * SEQ_BLOCK);
}

#[test]
fn a_bad_key_file_stops_the_agent_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("node.pem"), "not a key").unwrap();
    let Err(e) = try_start(&config(dir.path())) else {
        panic!("a core with a bad key");
    };
    assert!(e.to_string().starts_with("guard.key: "), "{e}");
}
