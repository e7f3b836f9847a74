//! The core's own state across a restart, and what a SIGHUP changes in it.

use std::path::Path;

use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
use skywave_protocol::label::binding::OriginState;
use skywave_protocol::node::{self, Node};
use skywave_protocol::policy::sample::{AUS, Coalition, GBR, USA};
use skywave_protocol::policy::{Table, TrustStore};
use skywave_protocol::wire::Address;

use super::Core;
use crate::agent::config::{
    AgentConfig, DEFAULT_INBOX_MAX, DEFAULT_SAP, GuardSap, GuardSettings, RoomConfig, SapLabel,
};
use crate::agent::reload::Live;
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
        log_level: None,
        inbox_max: DEFAULT_INBOX_MAX,
        cpdu_id_seed: None,
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

/// A core whose trust store has the coalition's GBR and USA roots (not AUS's), with the
/// guard on SAP 5, and a key file for it in `dir`.
fn start_with_two_roots(dir: &Path) -> Core {
    let pem = SigningKey::from_slice(&[7; 32])
        .unwrap()
        .to_pkcs8_pem(LineEnding::LF)
        .unwrap();
    std::fs::write(dir.join("node.pem"), pem.as_bytes()).unwrap();
    let mut core = start(&config(dir));
    for root in Coalition::new().roots().iter().take(2) {
        core.station
            .node_mut()
            .trust_mut()
            .add_root(root, None)
            .unwrap();
    }
    core
}

#[test]
fn a_reloaded_root_admits_what_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = start_with_two_roots(dir.path());
    // AUS's signer credential, issued by the AUS root.
    let aus_signer = Coalition::new().artifacts()[2].clone();
    let now = core.now();
    assert!(core.station.publish(now, None, &aus_signer).is_err());

    let root = Coalition::new().roots()[2].clone();
    let live = Live {
        roots: vec![("trust/aus.cred".into(), root)],
        ..Live::default()
    };
    let applied = core.reload(live);
    assert_eq!(applied.done, ["root trust/aus.cred installed (domain AUS)"]);
    assert!(applied.failed.is_empty());
    let admitted = core.station.publish(now, None, &aus_signer).unwrap();
    assert_eq!(admitted.artifact.domain, AUS);

    // A file that is not a root is refused by name; nothing else changes.
    let applied = core.reload(Live {
        roots: vec![("trust/junk".into(), b"junk".to_vec())],
        ..Live::default()
    });
    assert!(applied.done.is_empty());
    assert!(
        applied.failed[0].starts_with("root trust/junk: "),
        "{applied:?}"
    );
}

#[test]
fn reloaded_rooms_are_set_in_the_running_trust_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = start_with_two_roots(dir.path());
    let room = RoomConfig {
        domain: GBR,
        credentials: None,
        policies: Some(60),
        translators: None,
        revoked: None,
    };
    let applied = core.reload(Live {
        rooms: Some(vec![room.clone()]),
        ..Live::default()
    });
    assert_eq!(applied.done, ["rooms set (GBR)"]);
    assert_eq!(core.station.node().trust().room(GBR).policies, 60);

    // A room that does not fit beside the one set is refused, naming it.
    let usa = RoomConfig {
        domain: USA,
        policies: Some(core.station.node().trust().capacity(Table::Policies)),
        ..room
    };
    let applied = core.reload(Live {
        rooms: Some(vec![usa]),
        ..Live::default()
    });
    assert!(
        applied.failed[0].starts_with("room[0] (USA)"),
        "{applied:?}"
    );
    assert_eq!(core.station.node().trust().room(GBR).policies, 60);
}

#[test]
fn reloaded_guarded_saps_keep_the_sequence_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut core = start_with_two_roots(dir.path());
    let seq = core.station.next_binding_seq();
    assert!(core.station.guards_sap(5) && !core.station.guards_sap(6));
    let applied = core.reload(Live {
        guard_saps: Some(vec![6, 7]),
        ..Live::default()
    });
    assert_eq!(applied.done, ["guarded SAPs now [6, 7]"]);
    assert!(!core.station.guards_sap(5));
    assert!(core.station.guards_sap(6) && core.station.guards_sap(7));
    assert_eq!(core.station.next_binding_seq(), seq);
}
