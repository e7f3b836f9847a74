use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use rusqlite::Connection;
use skywave_protocol::label::binding::BindingRefusal;
use skywave_protocol::link::{Mode, Service, SpduHeader};
use skywave_protocol::node::{Config, FixedStorage, Node, Storage};
use skywave_protocol::policy::sample::{AUS, Coalition, GBR, NOW, USA, gbr};
use skywave_protocol::policy::{
    ArtifactRef, Decision, Digest, Kind, Label, LogAnchor, LogEntry, LogFault, TrustStore, Verdict,
};
use skywave_protocol::station::{End, GuardRefusal, GuardReport, LinkId};
use skywave_protocol::time::Instant;
use tempfile::TempDir;

use super::*;

fn addr(n: u32) -> Address {
    Address::new(n).unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + StdDuration::from_secs(secs)
}

fn open(dir: &TempDir) -> Store {
    Store::open(
        &dir.path().join("store.db"),
        addr(7),
        StoreOptions::default(),
    )
    .unwrap()
}

fn trust(c: &Coalition) -> TrustStore {
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, Some(NOW)).unwrap();
    }
    trust
}

fn node(c: &Coalition, store: &Store) -> Node<ArtifactStore> {
    Node::new(
        Config::new(9),
        trust(c),
        store.artifacts().unwrap(),
        Some(NOW),
    )
}

fn decisions(c: &Coalition) -> Vec<Decision> {
    let trust = c.store().unwrap();
    let label = |classification, categories| Label {
        domain: GBR,
        policy: 1,
        classification,
        categories,
    };
    [
        (label(gbr::SECRET, &[gbr::OP_TELIC][..]), USA),
        (label(gbr::SECRET, &[gbr::OP_HERRICK][..]), AUS),
        (label(gbr::TOP_SECRET, &[][..]), USA),
    ]
    .iter()
    .map(|(l, to)| trust.decide(l, *to, Some(NOW)))
    .collect()
}

#[test]
fn a_store_belongs_to_one_node_and_knows_its_schema() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let before = SystemTime::now() - StdDuration::from_secs(1);
    let store = Store::open(&path, addr(7), StoreOptions::default()).unwrap();
    assert_eq!(store.meta().node, addr(7));
    assert_eq!(store.meta().schema_version, SCHEMA_VERSION);
    assert!(store.meta().created >= before);
    let created = store.meta().created;
    drop(store);

    let again = Store::open(&path, addr(7), StoreOptions::default()).unwrap();
    assert_eq!(again.meta().created, created);
    assert!(matches!(
        Store::open(&path, addr(8), StoreOptions::default()),
        Err(StoreError::WrongNode { stored, configured }) if stored == addr(7) && configured == addr(8)
    ));
    drop(again);

    // What an operator sees with the sqlite3 shell.
    let raw = Connection::open(&path).unwrap();
    let version: u32 = raw
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    let journal: String = raw
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!((version, journal.as_str()), (SCHEMA_VERSION, "wal"));
}

#[test]
fn a_store_from_a_newer_skywave_is_refused() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    drop(open(&dir));
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    assert!(matches!(
        Store::open(&path, addr(7), StoreOptions::default()),
        Err(StoreError::NewerSchema { found, supported })
            if found == SCHEMA_VERSION + 1 && supported == SCHEMA_VERSION
    ));
}

#[test]
fn a_node_restarted_on_the_store_holds_and_decides_exactly_what_it_did() {
    let dir = TempDir::new().unwrap();
    let c = Coalition::new();
    let label = Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &[gbr::OP_TELIC],
    };
    let (held, decided) = {
        let store = open(&dir);
        let mut n = node(&c, &store);
        for artifact in c.artifacts() {
            n.publish(Instant::ZERO, Some(NOW), &artifact).unwrap();
        }
        let held: Vec<(_, Vec<u8>)> = (0..n.storage().len())
            .map(|i| n.storage().get(i).map(|(a, b)| (a, b.to_vec())).unwrap())
            .collect();
        (held, n.decide(&label, USA, Some(NOW)))
    };
    assert_eq!(held.len(), c.artifacts().len());

    let store = open(&dir);
    let n = node(&c, &store);
    let again: Vec<(_, Vec<u8>)> = (0..n.storage().len())
        .map(|i| n.storage().get(i).map(|(a, b)| (a, b.to_vec())).unwrap())
        .collect();
    assert_eq!(again, held);
    assert_eq!(n.decide(&label, USA, Some(NOW)), decided);
    assert_eq!(decided.verdict, Verdict::Release);
}

#[test]
fn removing_an_artifact_keeps_the_order_of_the_rest_across_a_restart() {
    let dir = TempDir::new().unwrap();
    let artifacts = Coalition::new().artifacts();
    let refs: Vec<_> = {
        let store = open(&dir);
        let trust = trust(&Coalition::new());
        let mut check = trust.clone();
        let mut kept = store.artifacts().unwrap();
        let refs: Vec<_> = artifacts
            .iter()
            .take(4)
            .map(|a| {
                let r = check.admit(a, Some(NOW)).unwrap().artifact;
                kept.insert(&r, a).unwrap();
                r
            })
            .collect();
        kept.remove(&refs[1].digest).unwrap();
        // Removing what is not there is not an error.
        kept.remove(&refs[1].digest).unwrap();
        assert_eq!(kept.position(&refs[2].digest), Some(1));
        refs
    };
    let kept = open(&dir).artifacts().unwrap();
    let order: Vec<_> = (0..kept.len()).map(|i| kept.get(i).unwrap().0).collect();
    assert_eq!(order, [refs[0], refs[2], refs[3]]);
    assert_eq!(kept.get(2).unwrap().1, artifacts[3].as_slice());
}

#[test]
fn an_artifact_whose_bytes_changed_on_disk_is_reported_not_replayed() {
    let dir = TempDir::new().unwrap();
    let c = Coalition::new();
    {
        let store = open(&dir);
        let mut n = node(&c, &store);
        for artifact in c.artifacts().iter().take(3) {
            n.publish(Instant::ZERO, Some(NOW), artifact).unwrap();
        }
    }
    Connection::open(dir.path().join("store.db"))
        .unwrap()
        .execute(
            "UPDATE artifacts SET bytes = zeroblob(length(bytes)) WHERE position = 2",
            [],
        )
        .unwrap();
    let err = open(&dir).artifacts().unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(what) if what.contains("artifact 2")),
        "{err}"
    );
}

fn outbound(neighbour: u32, priority: u8, ttd: SystemTime, data: &[u8]) -> Outbound<'_> {
    Outbound {
        neighbour: addr(neighbour),
        header: SpduHeader {
            priority,
            src_sap: 9,
            dest_sap: 9,
        },
        mode: Mode::Arq { in_order: false },
        confirm: true,
        ttd,
        data,
    }
}

#[test]
fn a_stored_message_comes_back_whole_with_its_deadline_on_the_station_clock() {
    let dir = TempDir::new().unwrap();
    let message = Outbound {
        neighbour: addr(3),
        header: SpduHeader {
            priority: 12,
            src_sap: 4,
            dest_sap: 5,
        },
        mode: Mode::ExpeditedArq,
        confirm: true,
        ttd: at(1_000),
        data: b"bytes",
    };
    let id = open(&dir).enqueue(&message, at(0)).unwrap();
    let store = open(&dir);
    let [q] = &store.unfinished().unwrap()[..] else {
        panic!("one message");
    };
    assert_eq!(q.id, id);
    assert_eq!(
        (q.neighbour, q.header, q.mode, q.confirm, &q.data[..]),
        (
            message.neighbour,
            message.header,
            message.mode,
            true,
            &b"bytes"[..]
        )
    );
    assert_eq!(q.state, DeliveryState::Queued);
    let now = Instant::from_millis(5_000);
    assert_eq!(
        q.ttd_at(now, at(400)),
        Instant::from_millis(5_000 + 600_000)
    );
    // Past its deadline, it is due now.
    assert_eq!(q.ttd_at(now, at(2_000)), now);
}

/// Crash point 1, sender: a request accepted (stored) but killed before it was on the air is
/// sent again after the restart, until its outcome, which its client hears exactly once.
#[test]
fn a_message_accepted_before_a_kill_is_sent_again_until_its_outcome_is_told_once() {
    let dir = TempDir::new().unwrap();
    let (a, b, c) = {
        let store = open(&dir);
        let a = store
            .enqueue(&outbound(1, 8, at(100), b"a"), at(0))
            .unwrap();
        let b = store
            .enqueue(&outbound(1, 8, at(100), b"b"), at(0))
            .unwrap();
        let c = store.enqueue(&outbound(1, 8, at(5), b"c"), at(0)).unwrap();
        (a, b, c)
        // Killed: nothing else written.
    };
    let store = open(&dir);
    // The restart expires what passed its time-to-die and resends the rest.
    assert_eq!(store.expire(at(10)).unwrap(), 1);
    let again: Vec<_> = store.unfinished().unwrap().iter().map(|q| q.id).collect();
    assert_eq!(again, [a, b]);
    // A's confirmation arrives while its client is connected: told at once. B's arrives
    // with no client on its SAP: the next client to bind SAP 9 hears it, with C's expiry.
    assert!(store.finish(a, Outcome::Confirmed, true, at(11)).unwrap());
    assert!(store.finish(b, Outcome::Confirmed, false, at(11)).unwrap());
    // A second confirmation (the far node confirming a resend) changes nothing.
    assert!(!store.finish(a, Outcome::Confirmed, false, at(12)).unwrap());
    assert!(store.unfinished().unwrap().is_empty());
    let untold: Vec<_> = store
        .untold(9)
        .unwrap()
        .iter()
        .map(|q| (q.id, q.state))
        .collect();
    assert_eq!(
        untold,
        [(b, DeliveryState::Delivered), (c, DeliveryState::Expired)]
    );
    assert!(store.untold(4).unwrap().is_empty());
    for (id, _) in untold {
        store.mark_told(id, at(13)).unwrap();
    }
    drop(store);
    let store = open(&dir);
    assert!(store.untold(9).unwrap().is_empty(), "told once, not again");
    assert_eq!(store.forget_finished(at(13)).unwrap(), 1);
    assert_eq!(store.forget_finished(at(14)).unwrap(), 2);
    assert!(store.queue_counts().unwrap().is_empty());
}

#[test]
fn a_refused_message_keeps_its_reason_and_counts_show_what_is_left() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    let a = store
        .enqueue(&outbound(1, 8, at(100), b"a"), at(0))
        .unwrap();
    store
        .enqueue(&outbound(2, 15, at(100), b"b"), at(0))
        .unwrap();
    assert!(store.finish(a, Outcome::Failed(2), false, at(1)).unwrap());
    let q = store.untold(9).unwrap().remove(0);
    assert_eq!((q.state, q.reason), (DeliveryState::Failed, Some(2)));
    let counts: Vec<_> = store
        .queue_counts()
        .unwrap()
        .iter()
        .map(|c| (c.neighbour.value(), c.priority, c.state, c.told, c.count))
        .collect();
    assert_eq!(
        counts,
        [
            (1, 8, DeliveryState::Failed, false, 1),
            (2, 15, DeliveryState::Queued, false, 1)
        ]
    );
}

fn header() -> SpduHeader {
    SpduHeader {
        priority: 8,
        src_sap: 9,
        dest_sap: 9,
    }
}

/// Crash point 2, receiver: a U_PDU held (and so confirmable) but killed before a client had
/// it is handed to the next client of its SAP, once.
#[test]
fn a_message_held_before_a_kill_reaches_the_next_client_of_its_sap_once() {
    let dir = TempDir::new().unwrap();
    {
        let store = open(&dir);
        store.set_sap_bound(9, true).unwrap();
        assert!(
            store
                .hold(addr(1), header(), Service::Arq, b"hello", at(1))
                .unwrap()
        );
    }
    let store = open(&dir);
    assert_eq!(store.bound_saps().unwrap(), 1 << 9, "SAP 9 stays answered");
    assert_eq!(store.held_count().unwrap(), 1);
    let held = store.held(9).unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(
        (
            held[0].source,
            held[0].header,
            held[0].service,
            &held[0].data[..]
        ),
        (addr(1), header(), Service::Arq, &b"hello"[..])
    );
    assert!(store.held(8).unwrap().is_empty());
    store.handed(addr(1), &held[0].key).unwrap();
    assert!(store.held(9).unwrap().is_empty());
    // The sender's resend of it is recognised.
    assert!(
        !store
            .hold(addr(1), header(), Service::Arq, b"hello", at(2))
            .unwrap()
    );
    store.set_sap_bound(9, false).unwrap();
    assert_eq!(store.bound_saps().unwrap(), 0);
}

/// Crash point 3, receiver: handed to the client, killed before the confirmation went out:
/// the sender resends, and the resend is recognised (confirmed, not delivered again), until
/// its key is forgotten.
#[test]
fn a_message_handed_before_a_kill_is_not_delivered_again() {
    let dir = TempDir::new().unwrap();
    {
        let store = open(&dir);
        assert!(
            store
                .hold(addr(1), header(), Service::Arq, b"hello", at(1))
                .unwrap()
        );
        store
            .handed(addr(1), &MessageKey::of(&header(), b"hello"))
            .unwrap();
    }
    let store = open(&dir);
    assert!(
        !store
            .hold(addr(1), header(), Service::Arq, b"hello", at(2))
            .unwrap()
    );
    assert_eq!(store.held_count().unwrap(), 0);
    // The same bytes from another node, or to another SAP, are another message.
    assert!(
        store
            .hold(addr(2), header(), Service::Arq, b"hello", at(2))
            .unwrap()
    );
    let other_sap = SpduHeader {
        dest_sap: 10,
        ..header()
    };
    assert!(
        store
            .hold(addr(1), other_sap, Service::Arq, b"hello", at(2))
            .unwrap()
    );
    // Held ones are never forgotten; delivered ones are, after the window.
    assert_eq!(store.forget_deliveries(at(1)).unwrap(), 0);
    assert_eq!(store.forget_deliveries(at(3)).unwrap(), 1);
    assert_eq!(store.held_count().unwrap(), 2);
    assert!(
        store
            .hold(addr(1), header(), Service::Arq, b"hello", at(4))
            .unwrap()
    );
}

#[test]
fn the_decision_log_continues_across_restarts_and_verifies() {
    let dir = TempDir::new().unwrap();
    let decided = decisions(&Coalition::new());
    let first = {
        let store = open(&dir);
        assert_eq!(store.decision_anchor().unwrap(), LogAnchor::default());
        store.append_decision(&decided[0], at(1)).unwrap();
        store.append_decision(&decided[1], at(2)).unwrap()
    };
    let store = open(&dir);
    assert_eq!(store.decision_anchor().unwrap(), first);
    let anchor = store.append_decision(&decided[2], at(3)).unwrap();
    assert_eq!(anchor.count, 3);
    assert_eq!(store.verify_decisions(Some(anchor)).unwrap(), Ok(anchor));
    let read: Vec<Decision> = store
        .decision_entries()
        .unwrap()
        .iter()
        .map(|e| LogEntry::read(e).unwrap().decision().cloned().unwrap())
        .collect();
    assert_eq!(read, decided);
}

#[test]
fn an_edited_decision_row_is_found_by_the_verifier() {
    let dir = TempDir::new().unwrap();
    let decided = decisions(&Coalition::new());
    let store = open(&dir);
    for d in &decided {
        store.append_decision(d, at(1)).unwrap();
    }
    let anchor = store.decision_anchor().unwrap();
    // An operator (or an intruder) rewrites the audience of the second decision.
    let entries = store.decision_entries().unwrap();
    let mut edited = entries[1].clone();
    let at_aus = edited.windows(3).rposition(|w| w == b"AUS").unwrap();
    edited[at_aus..at_aus + 3].copy_from_slice(b"USA");
    Connection::open(dir.path().join("store.db"))
        .unwrap()
        .execute(
            "UPDATE decisions SET entry = ?1 WHERE position = 2",
            [&edited],
        )
        .unwrap();
    assert_eq!(
        store.verify_decisions(Some(anchor)).unwrap(),
        Err(LogFault::Altered { index: 1 })
    );
    // Cutting the tail is found against the anchor.
    Connection::open(dir.path().join("store.db"))
        .unwrap()
        .execute("DELETE FROM decisions WHERE position >= 2", [])
        .unwrap();
    assert_eq!(
        store.verify_decisions(Some(anchor)).unwrap(),
        Err(LogFault::Removed { first: 1, last: 2 })
    );
}

#[test]
fn the_store_passes_sqlites_integrity_check() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    store.enqueue(&outbound(1, 8, at(10), b"x"), at(0)).unwrap();
    store.check_integrity().unwrap();
}

/// The receiving guard's report on `data` from node 1 to node 2's `sap`: released, with
/// `decision` if one was made, or refused.
pub(crate) fn receiver_report(
    sap: u8,
    data: &[u8],
    refusal: Option<GuardRefusal>,
    decision: Option<Decision>,
) -> GuardReport {
    GuardReport {
        end: End::Receiver,
        ticket: None,
        link: LinkId(0),
        message: None,
        ends: skywave_protocol::label::binding::Endpoints {
            source: 1,
            source_sap: sap,
            destination: 2,
            destination_sap: sap,
        },
        seq: 1,
        digest: Digest::of(data),
        label: heapless::Vec::new(),
        refusal,
        decision,
        head: heapless::Vec::new(),
    }
}

#[test]
fn the_inbox_outlives_a_restart_and_what_is_removed_never_comes_back() {
    let dir = TempDir::new().unwrap();
    let decision = decisions(&Coalition::new())[0].clone();
    let released = receiver_report(5, b"hello", None, Some(decision));
    let replayed = BindingRefusal::Replayed { address: 1, seq: 1 };
    let refused = receiver_report(5, b"again", Some(GuardRefusal::Binding(replayed)), None);
    {
        let store = open(&dir);
        let put = |r, log, data, t| store.inbox_put(r, log, data, at(t), 10).unwrap();
        assert_eq!(put(&released, Some(0), Some(&b"hello"[..]), 1), Some(1));
        assert_eq!(put(&refused, None, None, 2), Some(2));
    }
    let store = open(&dir);
    let rows = store.inbox_peek(0, 10).unwrap();
    assert_eq!(
        rows,
        [
            InboxRow {
                id: 1,
                report: released.clone(),
                log_index: Some(0),
                data: Some(b"hello".to_vec()),
                received: at(1),
            },
            InboxRow {
                id: 2,
                report: refused,
                log_index: None,
                data: None,
                received: at(2),
            }
        ]
    );
    // Reading removes nothing; `after` reads past a batch.
    assert_eq!(store.inbox_peek(0, 1).unwrap(), rows[..1]);
    assert_eq!(store.inbox_peek(1, 10).unwrap(), rows[1..]);
    assert_eq!(store.inbox_count(1).unwrap(), (2, 1));
    assert_eq!(store.inbox_remove(&[1]).unwrap(), 1);
    assert_eq!(
        store.inbox_remove(&[1]).unwrap(),
        0,
        "removing twice is harmless"
    );
    drop(store);
    let store = open(&dir);
    assert_eq!(store.inbox_peek(0, 10).unwrap(), rows[1..]);
    // Ids are never reused, even once the inbox is empty: an ack cannot hit a newer message.
    assert_eq!(store.inbox_remove(&[2, 9]).unwrap(), 1);
    let again = store.inbox_put(&released, None, None, at(3), 10).unwrap();
    assert_eq!(again, Some(3));
    // Full: nothing is written.
    assert_eq!(
        store.inbox_put(&released, None, None, at(4), 1).unwrap(),
        None
    );
    assert_eq!(store.inbox_count(0).unwrap(), (1, 1));
}

/// A store written by the schema 4 build (main at 79578b4, `skywave demo`'s USA HQ, node 4:
/// 13 artifacts, 5 decisions; copied with SQLite's backup API while the demo ran).
const STORE_V4: &[u8] = include_bytes!("../../tests/data/store-v4.db");

#[test]
fn a_version_4_store_from_the_last_build_migrates_keeping_everything() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(&path, STORE_V4).unwrap();
    let raw = Connection::open(&path).unwrap();
    let version = |c: &Connection| -> u32 {
        c.pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version(&raw), 4);
    // A SIS message held for a client when the old build stopped.
    raw.execute(
        "INSERT INTO received (source, message, priority, src_sap, dest_sap, service, data,
             received_unix_ms) VALUES (1, zeroblob(32), 3, 9, 9, 'arq', x'6869', 0)",
        [],
    )
    .unwrap();
    drop(raw);

    let store = Store::open(&path, addr(4), StoreOptions::default()).unwrap();
    assert_eq!((store.meta().schema_version, SCHEMA_VERSION), (5, 5));
    assert_eq!(store.artifacts().unwrap().len(), 13);
    assert_eq!(store.verify_decisions(None).unwrap().unwrap().count, 5);
    let [held] = &store.held(9).unwrap()[..] else {
        panic!("the held message");
    };
    assert_eq!((held.source, &held.data[..]), (addr(1), &b"hi"[..]));
    assert_eq!(store.inbox_count(0).unwrap(), (0, 0));
    let report = receiver_report(5, b"hello", None, None);
    let put = store.inbox_put(&report, Some(5), None, at(1), 10);
    assert_eq!(put.unwrap(), Some(1));
    store.check_integrity().unwrap();
    drop(store);
    assert_eq!(version(&Connection::open(&path).unwrap()), 5);
}

/// What a property test does to the store.
#[derive(Clone, Debug)]
enum Op {
    /// Admit artifact `n` (a stand-in: the store keeps bytes, it does not verify them).
    Insert(u8),
    /// Forget the artifact with the digest of artifact `n`, held or not.
    Remove(u8),
    /// Queue a U_PDU for neighbour 1 or 2 at a priority.
    Enqueue(u32, u8),
    /// Settle the oldest unfinished U_PDU for neighbour 1 or 2.
    Finish(u32),
    /// Close and open the store again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(|n| Op::Insert(n % 16)),
        2 => any::<u8>().prop_map(|n| Op::Remove(n % 16)),
        4 => (1..3u32, 0..16u8).prop_map(|(n, p)| Op::Enqueue(n, p)),
        3 => (1..3u32).prop_map(Op::Finish),
        1 => Just(Op::Reopen),
    ]
}

fn stand_in(n: u8) -> (ArtifactRef, Vec<u8>) {
    let bytes = vec![n; 40 + usize::from(n)];
    let r = ArtifactRef {
        kind: Kind::Policy,
        domain: GBR,
        id: u32::from(n),
        version: 1,
        digest: Digest::of(&bytes),
    };
    (r, bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The store keeps artifacts exactly as the protocol's in-memory storage does, and gives
    /// back exactly the unfinished U_PDUs, oldest first, across any number of restarts.
    #[test]
    fn the_store_behaves_like_the_in_memory_models(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = TempDir::new().unwrap();
        let mut store = open(&dir);
        let mut artifacts = store.artifacts().unwrap();
        let mut model = FixedStorage::<64>::new();
        // (priority, order of queueing) of what each neighbour has queued.
        let mut queues: [Vec<(u8, usize)>; 3] = Default::default();
        for (i, op) in ops.iter().enumerate() {
            match *op {
                Op::Insert(n) => {
                    let (r, bytes) = stand_in(n);
                    artifacts.insert(&r, &bytes).unwrap();
                    model.insert(&r, &bytes).unwrap();
                }
                Op::Remove(n) => {
                    let digest = stand_in(n).0.digest;
                    artifacts.remove(&digest).unwrap();
                    model.remove(&digest).unwrap();
                }
                Op::Enqueue(n, p) => {
                    let data = i.to_le_bytes();
                    store.enqueue(&outbound(n, p, at(100), &data), at(0)).unwrap();
                    queues[n as usize].push((p, i));
                }
                Op::Finish(n) => {
                    let oldest = store
                        .unfinished()
                        .unwrap()
                        .into_iter()
                        .find(|q| q.neighbour == addr(n));
                    let expected = queues[n as usize].first().copied();
                    prop_assert_eq!(oldest.as_ref().map(|q| q.data.clone()), expected.map(|(_, i)| i.to_le_bytes().to_vec()));
                    if let Some(q) = oldest {
                        prop_assert!(store.finish(q.id, Outcome::Confirmed, true, at(1)).unwrap());
                        queues[n as usize].remove(0);
                    }
                }
                Op::Reopen => {
                    drop(artifacts);
                    drop(store);
                    store = open(&dir);
                    artifacts = store.artifacts().unwrap();
                }
            }
            let unfinished = store.unfinished().unwrap().len();
            prop_assert_eq!(unfinished, queues.iter().map(Vec::len).sum::<usize>());
            prop_assert_eq!(artifacts.len(), model.len());
            for k in 0..model.len() {
                prop_assert_eq!(artifacts.get(k), model.get(k));
            }
        }
    }
}
