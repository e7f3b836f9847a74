use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use rusqlite::Connection;
use skywave_protocol::link::{Failure, Mode, SpduHeader};
use skywave_protocol::node::{Config, FixedStorage, Node, Storage};
use skywave_protocol::policy::sample::{AUS, Coalition, GBR, NOW, USA, gbr};
use skywave_protocol::policy::{
    ArtifactRef, Decision, Digest, Kind, Label, LogAnchor, LogEntry, LogFault, TrustStore, Verdict,
};
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
        confirm: false,
        ttd,
        data,
    }
}

#[test]
fn the_queue_gives_the_highest_priority_first_then_first_come() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    let late = at(10_000);
    for (n, p, data) in [
        (1, 8, &b"policy a"[..]),
        (1, 15, b"revocation"),
        (2, 15, b"other neighbour"),
        (1, 8, b"policy b"),
        (1, 10, b"credential"),
    ] {
        store.enqueue(&outbound(n, p, late, data), at(0)).unwrap();
    }
    let mut order = Vec::new();
    while let Some(q) = store.take_next(addr(1), at(1)).unwrap() {
        order.push(q.data);
    }
    assert_eq!(
        order,
        [&b"revocation"[..], b"credential", b"policy a", b"policy b"]
    );
}

#[test]
fn a_queued_message_comes_back_whole_with_its_deadline_on_the_link_clock() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    let message = Outbound {
        neighbour: addr(3),
        header: SpduHeader {
            priority: 12,
            src_sap: 4,
            dest_sap: 5,
        },
        mode: Mode::ExpeditedNonArq { repeats: 3 },
        confirm: true,
        ttd: at(1_000),
        data: b"bytes",
    };
    let id = store.enqueue(&message, at(0)).unwrap();
    let q = store.take_next(addr(3), at(400)).unwrap().unwrap();
    assert_eq!(q.id, id);
    let m = q.message(Instant::from_millis(5_000), at(400));
    assert_eq!(
        (m.dest, m.header, m.mode, m.confirm, m.data),
        (
            message.neighbour,
            message.header,
            message.mode,
            true,
            &b"bytes"[..]
        )
    );
    assert_eq!(m.ttd, Instant::from_millis(5_000 + 600_000));
    // Past its deadline, it is due now.
    assert_eq!(
        q.message(Instant::from_millis(5_000), at(2_000)).ttd,
        Instant::from_millis(5_000)
    );
}

#[test]
fn delivery_states_are_counted_by_priority_and_survive_a_restart() {
    let dir = TempDir::new().unwrap();
    {
        let store = open(&dir);
        let ids: Vec<_> = [(15, 100), (8, 5), (8, 100), (8, 100), (8, 100), (10, 100)]
            .iter()
            .map(|&(p, ttd)| {
                store
                    .enqueue(&outbound(1, p, at(ttd), b"x"), at(0))
                    .unwrap()
            })
            .collect();
        // 15 delivered; 10 and one 8 expired by the link, one 8 sent and in flight at the
        // crash; the 8 with the early deadline expires before it is taken.
        let taken: Vec<_> = (0..4)
            .map(|_| store.take_next(addr(1), at(10)).unwrap().unwrap().id)
            .collect();
        assert_eq!(taken, [ids[0], ids[5], ids[2], ids[3]]);
        assert!(store.mark_delivered(ids[0], at(11)).unwrap());
        assert!(store.mark_failed(ids[5], Failure::Expired, at(11)).unwrap());
        assert!(store.mark_failed(ids[2], Failure::Expired, at(11)).unwrap());
        assert!(!store.mark_delivered(QueueId(999), at(11)).unwrap());
    }
    let store = open(&dir);
    let count = |p, s| {
        store
            .queue_counts()
            .unwrap()
            .iter()
            .find(|c| c.neighbour == addr(1) && c.priority == p && c.state == s)
            .map_or(0, |c| c.count)
    };
    use DeliveryState::*;
    assert_eq!(
        [count(15, Delivered), count(10, Expired), count(8, Expired)],
        [1, 1, 2]
    );
    assert_eq!([count(8, Sent), count(8, Queued)], [1, 1]);

    // After the restart the message in flight goes out again, after the one still queued.
    assert_eq!(store.requeue_sent(at(20)).unwrap(), 1);
    assert_eq!(store.expire(at(20)).unwrap(), 0);
    let again: Vec<_> = std::iter::from_fn(|| store.take_next(addr(1), at(20)).unwrap())
        .map(|q| q.id)
        .collect();
    assert_eq!(again.len(), 2);
    assert_eq!(
        store.expire(at(200)).unwrap(),
        0,
        "sent ones are the link's to expire"
    );

    assert_eq!(store.forget_finished(at(12)).unwrap(), 4);
    assert_eq!(store.forget_finished(at(12)).unwrap(), 0);
    assert_eq!(count(8, Sent), 2);
}

#[test]
fn expire_marks_only_queued_messages_past_their_deadline() {
    let dir = TempDir::new().unwrap();
    let store = open(&dir);
    for ttd in [5, 10, 15] {
        store
            .enqueue(&outbound(2, 8, at(ttd), b"x"), at(0))
            .unwrap();
    }
    assert_eq!(store.expire(at(10)).unwrap(), 2);
    let left = store.take_next(addr(2), at(11)).unwrap().unwrap();
    assert_eq!(left.ttd, at(15));
    assert_eq!(store.take_next(addr(2), at(11)).unwrap(), None);
}

#[test]
fn a_message_is_delivered_once_even_across_a_restart() {
    let dir = TempDir::new().unwrap();
    let header = SpduHeader {
        priority: 8,
        src_sap: 9,
        dest_sap: 9,
    };
    let key = MessageKey::of(&header, b"hello");
    let mut delivered = Vec::new();
    {
        let store = open(&dir);
        // A delivery that fails is not recorded: the U_PDU is delivered when it comes again.
        let failed: Result<Option<()>, StoreError> =
            store.deliver_once(addr(1), &key, at(1), || Err(StoreError::Busy));
        assert!(failed.is_err());
        assert!(!store.already_delivered(addr(1), &key).unwrap());
        for _ in 0..2 {
            let r = store
                .deliver_once(addr(1), &key, at(1), || {
                    delivered.push("from 1");
                    Ok::<_, StoreError>(delivered.len())
                })
                .unwrap();
            assert_eq!(r.is_some(), delivered.len() == 1 && r == Some(1));
        }
    }
    let store = open(&dir);
    assert!(store.already_delivered(addr(1), &key).unwrap());
    let again = store
        .deliver_once(addr(1), &key, at(2), || {
            delivered.push("from 1 again");
            Ok::<_, StoreError>(())
        })
        .unwrap();
    assert_eq!(again, None);
    // The same bytes from another node, or to another SAP, are another message.
    let other_sap = MessageKey::of(
        &SpduHeader {
            dest_sap: 10,
            ..header
        },
        b"hello",
    );
    assert_ne!(other_sap, key);
    assert!(!store.already_delivered(addr(2), &key).unwrap());
    assert_eq!(delivered, ["from 1"]);

    assert_eq!(store.forget_deliveries(at(1)).unwrap(), 0);
    assert_eq!(store.forget_deliveries(at(2)).unwrap(), 1);
    assert!(!store.already_delivered(addr(1), &key).unwrap());
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

/// What a property test does to the store.
#[derive(Clone, Debug)]
enum Op {
    /// Admit artifact `n` (a stand-in: the store keeps bytes, it does not verify them).
    Insert(u8),
    /// Forget the artifact with the digest of artifact `n`, held or not.
    Remove(u8),
    /// Queue a U_PDU for neighbour 1 or 2 at a priority.
    Enqueue(u32, u8),
    /// Take the next U_PDU for neighbour 1 or 2.
    Take(u32),
    /// Close and open the store again.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(|n| Op::Insert(n % 16)),
        2 => any::<u8>().prop_map(|n| Op::Remove(n % 16)),
        4 => (1..3u32, 0..16u8).prop_map(|(n, p)| Op::Enqueue(n, p)),
        3 => (1..3u32).prop_map(Op::Take),
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

    /// The store keeps artifacts exactly as the protocol's in-memory storage does, and hands
    /// out queued U_PDUs highest priority first, first come first within a priority, across
    /// any number of restarts.
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
                Op::Take(n) => {
                    let queue = &mut queues[n as usize];
                    let next = (0..queue.len()).max_by_key(|&k| (queue[k].0, usize::MAX - queue[k].1));
                    let expected = next.map(|k| queue.remove(k).1.to_le_bytes().to_vec());
                    let taken = store.take_next(addr(n), at(1)).unwrap().map(|q| q.data);
                    prop_assert_eq!(taken, expected);
                }
                Op::Reopen => {
                    drop(artifacts);
                    drop(store);
                    store = open(&dir);
                    artifacts = store.artifacts().unwrap();
                }
            }
            prop_assert_eq!(artifacts.len(), model.len());
            for k in 0..model.len() {
                prop_assert_eq!(artifacts.get(k), model.get(k));
            }
        }
    }
}
