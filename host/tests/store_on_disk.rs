//! The store as files on disk: crash safety under SIGKILL, a full disk, and the space the
//! sample coalition takes.
//!
//! - **SIGKILL.** A child process writes to the store as fast as it can and is killed at
//!   random points, again and again. After every kill the store must pass SQLite's integrity
//!   check, hold every write the child reported as committed, and hold nothing half-written.
//!   The child is this test binary run again with [`CHILD_ENV`] set: it runs the ignored test
//!   `child_writer`, which prints one line to stdout after each write returned.
//! - **A full disk** is simulated with a size limit (`StoreOptions::max_bytes`, SQLite's
//!   `max_page_count`), which fails writes with the same `SQLITE_FULL` a full filesystem
//!   does: the store refuses new work with a clear message and keeps what it had.
//! - **Sizes**: the figures in docs/store.md come from `the_sample_coalition_and_...`
//!   (`cargo test -p skywave-host --test store_on_disk -- --nocapture`).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::Connection;
use skywave_host::store::{ArtifactStore, Outbound, Outcome, Store, StoreError, StoreOptions};
use skywave_protocol::link::{Mode, Service, SpduHeader};
use skywave_protocol::node::{Config, Node, Storage, StorageError};
use skywave_protocol::policy::sample::{Coalition, GBR, NOW, USA, gbr};
use skywave_protocol::policy::{ArtifactRef, Decision, Digest, Kind, Label, TrustStore};
use skywave_protocol::time::Instant;
use skywave_protocol::wire::Address;
use tempfile::TempDir;

fn node() -> Address {
    Address::new(7).unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

const HEADER: SpduHeader = SpduHeader {
    priority: 8,
    src_sap: 9,
    dest_sap: 9,
};

/// `trust`'s decision on releasing GBR SECRET TELIC to USA.
fn decision(trust: &TrustStore) -> Decision {
    let label = Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &[gbr::OP_TELIC],
    };
    trust.decide(&label, USA, Some(NOW))
}

/// An ARQ U_PDU on the Skywave SAP.
fn outbound(neighbour: u32, ttd: SystemTime, data: &[u8]) -> Outbound<'_> {
    Outbound {
        neighbour: Address::new(neighbour).unwrap(),
        header: HEADER,
        mode: Mode::Arq { in_order: false },
        confirm: false,
        ttd,
        data,
    }
}

fn held(a: &dyn Storage) -> Vec<(ArtifactRef, Vec<u8>)> {
    (0..a.len())
        .map(|i| a.get(i).map(|(r, b)| (r, b.to_vec())).unwrap())
        .collect()
}

/// Bytes that say whether they are whole: a digest of the rest, then the rest.
fn self_checking(seed: &str, len: usize) -> Vec<u8> {
    let body: Vec<u8> = seed.bytes().cycle().take(len).collect();
    let mut bytes = Digest::of(&body).0.to_vec();
    bytes.extend(body);
    bytes
}

fn is_whole(bytes: &[u8]) -> bool {
    bytes.len() > 32 && Digest::of(&bytes[32..]).0 == bytes[..32]
}

/// A stand-in artifact (the store keeps bytes; it does not verify signatures), its bytes
/// self-checking.
fn artifact(id: u32, len: usize) -> (ArtifactRef, Vec<u8>) {
    let bytes = self_checking(&format!("artifact {id}"), len);
    let r = ArtifactRef {
        kind: Kind::Policy,
        domain: GBR,
        id,
        version: 1,
        digest: Digest::of(&bytes),
    };
    (r, bytes)
}

// ---- SIGKILL ----

/// Set to the store's path in the child; the run number follows in [`RUN_ENV`].
const CHILD_ENV: &str = "SKYWAVE_STORE_CRASH_CHILD";
const RUN_ENV: &str = "SKYWAVE_STORE_CRASH_RUN";
/// Kills, each at a random point.
const KILLS: u32 = 24;
/// Of those, the first kill the child while it starts.
const EARLY_KILLS: u32 = 4;

/// The artifact id for write `n` of `run`.
fn artifact_id(run: u32, n: u32) -> u32 {
    run * 1_000_000 + n
}

#[test]
#[ignore = "the child process of sigkill_at_random_points_loses_nothing_committed"]
fn child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let run: u32 = std::env::var(RUN_ENV).unwrap().parse().unwrap();
    let store = Store::open(Path::new(&path), node(), StoreOptions::default()).unwrap();
    let mut artifacts = store.artifacts().unwrap();
    // An empty trust store decides without verifying anything: the child starts fast.
    let decision = decision(&TrustStore::new());
    let neighbour = Address::new(2).unwrap();
    for n in 0.. {
        let now = SystemTime::now();
        match n % 5 {
            0 => {
                let (r, bytes) = artifact(artifact_id(run, n), 700);
                artifacts.insert(&r, &bytes).unwrap();
                println!("artifact {}", r.id);
            }
            1 => {
                let data = self_checking(&format!("queued {run} {n}"), 300);
                let message = outbound(2, now + Duration::from_secs(3600), &data);
                println!("queued {}", store.enqueue(&message, now).unwrap().0);
            }
            2 => {
                // As the agent does after a start: what is unfinished goes out again, and
                // the far client's confirmation settles it.
                let oldest = store.unfinished().unwrap().into_iter().next();
                if let Some(q) = oldest.filter(|q| q.neighbour == neighbour) {
                    store.finish(q.id, Outcome::Confirmed, true, now).unwrap();
                    println!("delivered {}", q.id.0);
                }
            }
            3 => {
                let data = format!("{run} {n}");
                let source = Address::new(3).unwrap();
                assert!(
                    store
                        .hold(source, HEADER, Service::Arq, data.as_bytes(), now)
                        .unwrap()
                );
                println!("received {run} {n}");
            }
            _ => {
                let anchor = store.append_decision(&decision, now).unwrap();
                println!("decision {}", anchor.count);
            }
        }
    }
}

/// What the children reported committed, over all runs.
#[derive(Default)]
struct Committed {
    artifacts: BTreeSet<u32>,
    queued: BTreeSet<i64>,
    delivered: BTreeSet<i64>,
    received: BTreeSet<(u32, u32)>,
    decisions: u64,
    lines: usize,
}

impl Committed {
    fn note(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let (Some(what), Some(n)) = (words.next(), words.next()) else {
            return;
        };
        match what {
            "artifact" => {
                self.artifacts.insert(n.parse().unwrap());
            }
            "queued" => {
                self.queued.insert(n.parse().unwrap());
            }
            "delivered" => {
                self.delivered.insert(n.parse().unwrap());
            }
            "received" => {
                let m = words.next().unwrap().parse().unwrap();
                self.received.insert((n.parse().unwrap(), m));
            }
            "decision" => self.decisions = self.decisions.max(n.parse().unwrap()),
            _ => return,
        }
        self.lines += 1;
    }
}

/// Checks the store at `path` after a kill against what was reported committed.
fn check(path: &Path, committed: &Committed) {
    let store = Store::open(path, node(), StoreOptions::default()).unwrap();
    store.check_integrity().unwrap();

    // Loading checks every artifact's bytes against its digest.
    let artifacts = store.artifacts().unwrap();
    let held: BTreeSet<u32> = (0..artifacts.len())
        .map(|i| {
            let (r, bytes) = artifacts.get(i).unwrap();
            assert!(is_whole(bytes), "artifact {} half-written", r.id);
            r.id
        })
        .collect();
    assert!(
        committed.artifacts.is_subset(&held),
        "artifacts lost: {:?}",
        committed.artifacts.difference(&held).collect::<Vec<_>>()
    );

    let raw = Connection::open(path).unwrap();
    let mut stmt = raw.prepare("SELECT id, state, data FROM outbound").unwrap();
    let rows: Vec<(i64, String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, _, data) in &rows {
        assert!(is_whole(data), "outbound {id} half-written");
    }
    let ids: BTreeSet<i64> = rows.iter().map(|r| r.0).collect();
    assert!(committed.queued.is_subset(&ids), "queued messages lost");
    let delivered: BTreeSet<i64> = rows
        .iter()
        .filter(|r| r.1 == "delivered")
        .map(|r| r.0)
        .collect();
    assert!(
        committed.delivered.is_subset(&delivered),
        "delivery states lost"
    );

    for &(run, n) in &committed.received {
        let data = format!("{run} {n}");
        let source = Address::new(3).unwrap();
        assert!(
            !store
                .hold(source, HEADER, Service::Arq, data.as_bytes(), at(1))
                .unwrap(),
            "delivery {run} {n} forgotten"
        );
    }

    let anchor = store.decision_anchor().unwrap();
    assert_eq!(store.verify_decisions(Some(anchor)).unwrap(), Ok(anchor));
    assert!(anchor.count >= committed.decisions, "decisions lost");
}

/// xorshift64*: enough randomness for kill times, and the seed reproduces a run.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn sigkill_at_random_points_loses_nothing_committed() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("kill-time seed {seed}");
    let mut rng = seed;
    let mut committed = Committed::default();
    let mut killed_mid_stream = 0;
    for run in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_writer", "--ignored", "--nocapture"])
            .env(CHILD_ENV, &path)
            .env(RUN_ENV, run.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, reported) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    return;
                }
            }
        });
        let before = committed.lines;
        if run < EARLY_KILLS {
            // While the child starts: opening, migrating a new file, loading.
            std::thread::sleep(Duration::from_millis(next(&mut rng) % 20));
        } else {
            // Anywhere in a stream of writes, counted in writes rather than time so a
            // loaded machine still kills mid-stream.
            let writes = 1 + next(&mut rng) % 400;
            while committed.lines - before < writes as usize {
                let line = reported
                    .recv_timeout(Duration::from_secs(30))
                    .expect("the child stopped writing");
                committed.note(&line);
            }
            std::thread::sleep(Duration::from_micros(next(&mut rng) % 2000));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        reader.join().unwrap();
        for line in reported.try_iter() {
            committed.note(&line);
        }
        if committed.lines > before {
            killed_mid_stream += 1;
        }
        check(&path, &committed);
    }
    assert!(killed_mid_stream >= KILLS - EARLY_KILLS);
    assert!(!committed.artifacts.is_empty() && committed.decisions > 0);
    eprintln!(
        "{KILLS} kills ({killed_mid_stream} mid-stream); committed and found: {} artifacts, {} queued ({} delivered), {} \
         receipts, {} decisions",
        committed.artifacts.len(),
        committed.queued.len(),
        committed.delivered.len(),
        committed.received.len(),
        committed.decisions
    );
}

// ---- a full disk ----

const LIMIT: u64 = 96 * 1024;

#[test]
fn a_full_store_refuses_new_work_and_keeps_what_it_had() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let options = StoreOptions {
        max_bytes: Some(LIMIT),
    };
    let store = Store::open(&path, node(), options).unwrap();
    let mut artifacts = store.artifacts().unwrap();
    let decision = decision(&Coalition::new().store().unwrap());
    store.append_decision(&decision, at(1)).unwrap();

    // Fill it.
    let mut kept = Vec::new();
    let refused = loop {
        let (r, bytes) = artifact(kept.len() as u32, 1000);
        match artifacts.insert(&r, &bytes) {
            Ok(()) => kept.push((r, bytes)),
            Err(e) => break e,
        }
        assert!(kept.len() < 1000, "the limit never bit");
    };
    assert_eq!(refused, StorageError::Full);
    assert!(kept.len() > 10, "only {} artifacts fitted", kept.len());
    let err = artifacts.last_error().unwrap();
    assert!(matches!(err, StoreError::DiskFull));
    let message = err.to_string();
    assert!(
        message.contains("full") && message.contains("refused"),
        "{message}"
    );

    // Everything else refuses too, and changes nothing.
    let anchor = store.decision_anchor().unwrap();
    let big = vec![0x55; 8000];
    let queued = outbound(2, at(100), &big);
    assert!(matches!(
        store.enqueue(&queued, at(1)),
        Err(StoreError::DiskFull)
    ));
    for _ in 0..20 {
        if let Err(e) = store.append_decision(&decision, at(2)) {
            assert!(matches!(e, StoreError::DiskFull));
            break;
        }
    }
    let anchor_when_full = store.decision_anchor().unwrap();
    assert!(store.append_decision(&decision, at(2)).is_err());
    assert_eq!(store.decision_anchor().unwrap(), anchor_when_full);
    assert!(anchor_when_full.count >= anchor.count);

    // A received U_PDU the store cannot hold is refused (the agent then hands it over
    // unrecorded rather than lose it: its confirmation is queued already).
    let source = Address::new(3).unwrap();
    let mut i = 0u32;
    let outcome = loop {
        // Receipts are small: keep recording distinct ones until even they do not fit.
        let r = store.hold(source, queued.header, Service::Arq, &i.to_le_bytes(), at(3));
        if r.is_err() || i > 10_000 {
            break r;
        }
        i += 1;
    };
    assert!(matches!(outcome, Err(StoreError::DiskFull)));

    // What it had is all there, now and after reopening without the limit.
    assert_eq!(held(&artifacts), kept);
    store.check_integrity().unwrap();
    drop((artifacts, store));
    let store = Store::open(&path, node(), StoreOptions::default()).unwrap();
    assert_eq!(held(&store.artifacts().unwrap()), kept);
    assert_eq!(
        store.verify_decisions(Some(anchor_when_full)).unwrap(),
        Ok(anchor_when_full)
    );
    // With room again, work resumes.
    let (r, bytes) = artifact(9999, 1000);
    store.artifacts().unwrap().insert(&r, &bytes).unwrap();
    store.enqueue(&queued, at(4)).unwrap();
}

// ---- sizes ----

/// Decisions logged for the measurement.
const DECISIONS: u64 = 1000;

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The size of the closed store: closing the last connection checkpoints the WAL into the
/// file and removes it.
fn closed_size(store: Store, path: &Path) -> u64 {
    drop(store);
    assert_eq!(size(&path.with_extension("db-wal")), 0);
    size(path)
}

#[test]
fn the_sample_coalition_and_a_thousand_decisions_take_a_few_hundred_kilobytes() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("store.db");
    let open = || Store::open(&path, node(), StoreOptions::default()).unwrap();

    let empty = closed_size(open(), &path);

    let c = Coalition::new();
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, Some(NOW)).unwrap();
    }
    let store = open();
    let mut relay: Node<ArtifactStore> =
        Node::new(Config::new(9), trust, store.artifacts().unwrap(), Some(NOW));
    let artifacts = c.artifacts();
    for a in &artifacts {
        relay.publish(Instant::ZERO, Some(NOW), a).unwrap();
    }
    assert_eq!(held(relay.storage()).len(), artifacts.len());
    let artifact_bytes: usize = artifacts.iter().map(Vec::len).sum();
    let decision = decision(&c.store().unwrap());
    drop(relay);
    let with_artifacts = closed_size(store, &path);

    // Every artifact queued to three neighbours, as after a publish with three links up.
    let store = open();
    for n in 2..5 {
        for a in &artifacts {
            store.enqueue(&outbound(n, at(3600), a), at(0)).unwrap();
        }
    }
    let with_queue = closed_size(store, &path);

    let store = open();
    for s in 0..DECISIONS {
        store.append_decision(&decision, at(s)).unwrap();
    }
    let entry_len = store.decision_entries().unwrap()[0].len();
    let wal_open = size(&dir.path().join("store.db-wal"));
    let with_decisions = closed_size(store, &path);

    eprintln!(
        "empty: {empty} B; + sample coalition ({} artifacts, {artifact_bytes} B): \
         {with_artifacts} B; + queued to 3 neighbours: {with_queue} B; + {DECISIONS} \
         decisions ({entry_len} B per entry): {with_decisions} B closed, WAL {wal_open} B \
         while open",
        artifacts.len()
    );
    // 17 pages: schema 5's inbox took the two above 64 KiB (docs/store.md).
    assert!(with_artifacts < 72 * 1024, "{with_artifacts} B");
    assert!(with_decisions < 512 * 1024, "{with_decisions} B");
}
