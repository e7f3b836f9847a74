//! The inventory-sync figures of `skywave-sim bench` (issue 15): two stations on one clean
//! 2400 bit/s net (the bench modem, ARQ, real links and nodes), one holding 10,000 GBR
//! policies more than the other (or one more), really signed and admitted by trust stores whose
//! GBR room is provisioned for them.
//!
//! - `sync_late_join_10k_s`: station b, holding the sample coalition, joins station a, which
//!   also admitted 10,000 further GBR policies: seconds from the link coming up until b holds
//!   all of them.
//! - `sync_late_join_10k_overhead`: D_PDU bytes on the air (both ways, link acknowledgements
//!   included) until then, over the bytes of the artifacts b lacked.
//! - `sync_one_missing_in_10k_bytes`: both hold the 10,000 but b lacks one: D_PDU bytes on the
//!   air until b holds it and the link has been quiet for a minute.
//!
//! Stores of 10,000 artifacts do not fit the simulator's fixed stations: the nodes here keep
//! their artifacts in a vector ([`HeapStorage`]) and their trust stores are built on the heap
//! (in a thread with a large stack, since a trust store of this size is built by value).

use std::collections::BTreeMap;
use std::rc::Rc;

use anyhow::{Context, anyhow};
use serde::Serialize;
use skywave_protocol::link::{HostLink, Modem};
use skywave_protocol::node::{Config, HeapStorage, Node, NodeEvent};
use skywave_protocol::policy::sample::{self, Coalition, GBR, NOW};
use skywave_protocol::policy::{Artifact, Digest, Room, TrustStore, UnixTime};
use skywave_protocol::station::{LinkId, Station, StationEvent};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, Dpdu, Frame, MAX_DPDU_LEN};

use super::air::{Air, Radio};
use super::channel::Model;
use super::coalition::Classifier;
use super::events::EventQueue;
use super::scenario::LinkSpec;
use super::secs;

/// Policies the neighbour holds beyond the sample coalition.
pub const POLICIES: u32 = 10_000;
const SAP: u8 = 13;

type BigTrust = TrustStore<32, { POLICIES as usize + 64 }, 8, 128, 2>;
type BigNode = Node<HeapStorage, BigTrust>;
type BigStation = Station<Box<BigNode>, Box<HostLink>, 1>;

/// One sync run's result.
#[derive(Clone, Debug, Serialize)]
pub struct SyncRun {
    /// Artifacts b lacked.
    pub lacked: usize,
    /// Their bytes.
    pub lacked_bytes: u64,
    /// Seconds from link up until b held them all (`None`: not within the run).
    pub synced_s: Option<f64>,
    /// D_PDU bytes on the air until then (for one missing: and a quiet minute after).
    pub bytes_on_air: u64,
    /// D_PDUs on the air.
    pub frames: u64,
    /// `bytes_on_air` by what the D_PDUs carried (a node message's kind, or "link" for
    /// acknowledgements and link control), D_PDU headers included.
    pub bytes_by_kind: BTreeMap<&'static str, u64>,
    /// `frames` by what the D_PDUs carried.
    pub frames_by_kind: BTreeMap<&'static str, u64>,
    /// The part of `bytes_on_air` that is D_PDU data segments (C_PDUs); the rest is D_PDU
    /// headers, CRCs and the link's own D_PDUs.
    pub segment_bytes: u64,
}

/// The figures, and the runs they come from.
#[derive(Clone, Debug, Serialize)]
pub struct SyncBench {
    /// The late joiner's run.
    pub late_join: SyncRun,
    /// The one-missing run.
    pub one_missing: SyncRun,
}

/// GBR policies 2..2 + [`POLICIES`], signed by the sample coalition's GBR signer.
fn policies(c: &Coalition) -> Vec<Vec<u8>> {
    (2..2 + POLICIES)
        .map(|id| {
            let body = sample::policy(&c.gbr_signer, GBR, id, 1, 4, &sample::gbr_rules());
            sample::sign(&c.gbr_signer, &Artifact::Policy(body))
        })
        .collect()
}

fn wall(now: Instant) -> Option<UnixTime> {
    Some(UnixTime(NOW.0 + now.millis() / 1000))
}

/// A station at `address` holding the coalition and `extra`, GBR's room provisioned for them.
fn station(
    c: &Coalition,
    address: u32,
    extra: &[&[u8]],
    modem: Modem,
    link: LinkSpec,
) -> anyhow::Result<BigStation> {
    let mut trust = Box::new(BigTrust::empty());
    for root in c.roots() {
        trust
            .add_root(&root, Some(NOW))
            .map_err(|e| anyhow!("root: {e}"))?;
    }
    let room = Room {
        credentials: 10,
        policies: POLICIES as usize + 10,
        translators: 4,
        revoked: 42,
    };
    trust
        .set_room(GBR, room)
        .map_err(|e| anyhow!("GBR room: {e:?}"))?;
    let mut config = Config::new(SAP);
    config.address = Some(Address::new(address).map_err(|e| anyhow!("{e}"))?);
    config.jitter_seed = address;
    let node = Box::new(Node::new(
        config,
        *trust,
        HeapStorage::default(),
        wall(Instant::ZERO),
    ));
    let mut st: BigStation = Station::new(node, SAP);
    for bytes in c
        .artifacts()
        .iter()
        .map(Vec::as_slice)
        .chain(extra.iter().copied())
    {
        st.publish(Instant::ZERO, wall(Instant::ZERO), bytes)
            .map_err(|e| anyhow!("station {address} cannot hold an artifact: {e}"))?;
    }
    let me = Address::new(address).map_err(|e| anyhow!("{e}"))?;
    let other = Address::new(3 - address).map_err(|e| anyhow!("{e}"))?;
    let link = HostLink::new(link.config(me, modem))
        .map(Box::new)
        .map_err(|e| anyhow!("{e}"))?;
    st.add_link(link, &[other]).map_err(|e| anyhow!("{e}"))?;
    while st.poll_event().is_some() {}
    Ok(st)
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival { radio: usize, frame: Rc<[u8]> },
    Wake { station: usize },
}

/// What went on the air during a run.
#[derive(Default)]
struct Tally {
    bytes: u64,
    frames: u64,
    by_kind: BTreeMap<&'static str, u64>,
    frames_by_kind: BTreeMap<&'static str, u64>,
    segments: u64,
    classifier: Classifier,
}

impl Tally {
    /// Counts `frame`, sent by station `s`.
    fn count(&mut self, s: usize, frame: &[u8]) {
        self.bytes += frame.len() as u64;
        self.frames += 1;
        let kind = self.classifier.classify(s, frame);
        *self.by_kind.entry(kind).or_default() += frame.len() as u64;
        *self.frames_by_kind.entry(kind).or_default() += 1;
        let segment = Frame::new_checked(frame)
            .ok()
            .and_then(|f| Dpdu::parse(&f).ok().and_then(|d| d.body.segment()))
            .map_or(0, <[u8]>::len);
        self.segments += segment as u64;
    }

    /// The run's figures, `lacked` artifacts of `lacked_bytes` in all.
    fn into_run(self, synced_s: Option<f64>, lacked: usize, lacked_bytes: u64) -> SyncRun {
        SyncRun {
            lacked,
            lacked_bytes,
            synced_s,
            bytes_on_air: self.bytes,
            frames: self.frames,
            bytes_by_kind: self.by_kind,
            frames_by_kind: self.frames_by_kind,
            segment_bytes: self.segments,
        }
    }
}

/// Runs the two stations from link up until b has admitted `lacked` artifacts (then a quiet
/// `tail`), or `limit_s`.
fn run(
    mut stations: [BigStation; 2],
    lacked: &[Digest],
    modem: Modem,
    tail_s: f64,
    limit_s: f64,
    seed: u64,
) -> anyhow::Result<(Option<f64>, Tally)> {
    let radios = vec![Radio { net: 0, station: 0 }, Radio { net: 0, station: 1 }];
    let mut air = Air::new(
        modem,
        radios,
        &[Model::Clean],
        2,
        &[],
        &[],
        limit_s,
        |_| Ok(0),
        |_| Ok(0),
        seed,
        false,
    )?;
    let mut queue: EventQueue<Ev> = EventQueue::default();
    let mut wakes: [Option<Instant>; 2] = [None, None];
    let mut buf = vec![0u8; MAX_DPDU_LEN];
    let mut missing: std::collections::HashSet<Digest> = lacked.iter().copied().collect();
    let (mut synced, mut tally) = (None, Tally::default());
    let mut end = Instant::from_millis((limit_s * 1000.0) as u64);
    for (s, st) in stations.iter_mut().enumerate() {
        st.link_up(Instant::ZERO, wall(Instant::ZERO), LinkId(0))
            .map_err(|e| anyhow!("{e}"))?;
        queue.push(Instant::ZERO, Ev::Wake { station: s });
        wakes[s] = Some(Instant::ZERO);
    }
    while let Some((now, ev)) = queue.pop_until(end) {
        let s = match ev {
            Ev::Arrival { radio, frame } => {
                if !air.hears(radio, now) {
                    continue;
                }
                let st = stations.get_mut(radio).context("station")?;
                let _ = st.handle_input(now, wall(now), LinkId(0), &frame);
                radio
            }
            Ev::Wake { station } => {
                if wakes.get(station).copied().flatten() != Some(now) {
                    continue;
                }
                wakes[station] = None;
                stations
                    .get_mut(station)
                    .context("station")?
                    .handle_timeout(now, wall(now));
                station
            }
        };
        let st = stations.get_mut(s).context("station")?;
        while let Some(t) = st.poll_transmit(now, LinkId(0), &mut buf) {
            let frame: Rc<[u8]> = Rc::from(buf.get(..t.len).unwrap_or(&[]));
            if synced.is_none() || t.on_air < end {
                tally.count(s, &frame);
            }
            let (arrival, to) = air.send(s, &t, &frame);
            for radio in to {
                queue.push(
                    arrival,
                    Ev::Arrival {
                        radio,
                        frame: frame.clone(),
                    },
                );
            }
        }
        while let Some(e) = st.poll_event() {
            if s == 1
                && let StationEvent::Node(NodeEvent::Admitted { artifact, .. }) = e
            {
                missing.remove(&artifact.digest);
                if missing.is_empty() && synced.is_none() {
                    synced = Some(secs(now));
                    end = now + Duration::from_millis((tail_s * 1000.0) as u64);
                }
            }
        }
        if let Some(t) = st.poll_timeout() {
            let t = if t <= now {
                now + Duration::from_millis(1)
            } else {
                t
            };
            if wakes[s] != Some(t) {
                wakes[s] = Some(t);
                queue.push(t, Ev::Wake { station: s });
            }
        }
    }
    Ok((synced, tally))
}

/// Runs both measurements with `modem` and `link` on a clean channel.
pub fn bench(modem: Modem, link: LinkSpec, seed: u64) -> anyhow::Result<SyncBench> {
    // Trust stores of 10,000 policies are built by value: give them room.
    std::thread::Builder::new()
        .stack_size(512 << 20)
        .spawn(move || measure(modem, link, seed))
        .context("sync bench thread")?
        .join()
        .map_err(|_| anyhow!("sync bench panicked"))?
}

fn measure(modem: Modem, link: LinkSpec, seed: u64) -> anyhow::Result<SyncBench> {
    let c = Coalition::new();
    let all = policies(&c);
    let refs: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
    let digests: Vec<Digest> = all.iter().map(|b| Digest::of(b)).collect();

    let a = station(&c, 1, &refs, modem, link)?;
    let b = station(&c, 2, &[], modem, link)?;
    let (synced_s, tally) = run([a, b], &digests, modem, 0.0, 86_400.0, seed)?;
    let lacked_bytes = all.iter().map(|b| b.len() as u64).sum();
    let late_join = tally.into_run(synced_s, all.len(), lacked_bytes);

    let gap = (POLICIES / 2) as usize;
    let mut held = refs.clone();
    let lacked = held.remove(gap);
    let a = station(&c, 1, &refs, modem, link)?;
    let b = station(&c, 2, &held, modem, link)?;
    let (synced_s, tally) = run([a, b], &[Digest::of(lacked)], modem, 60.0, 3_600.0, seed)?;
    let one_missing = tally.into_run(synced_s, 1, lacked.len() as u64);
    Ok(SyncBench {
        late_join,
        one_missing,
    })
}
