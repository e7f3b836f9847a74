//! Stations driven through real links on an idealised shared channel (frames arrive one
//! interleaver span after their last bit; a radio hears nothing while it transmits): the glue
//! between links and node, the fan-out rule, and a listener that missed a broadcast.

use std::vec::Vec;

use super::*;
use crate::link::{Config as LinkConfig, MAX_CPDU_LEN, Modem};
use crate::node::{Config, Fanout, FixedStorage};
use crate::policy::sample::{self, Coalition, NOW};
use crate::policy::{Digest, TrustStore};
use crate::time::Duration;
use crate::wire::MAX_DPDU_LEN;

/// A link sized like a small board's: 8 queued C_PDUs, 256-byte segments, 4-frame window.
type SmallLink = Link<8, MAX_CPDU_LEN, 16, 256>;
type TestNode = Node<FixedStorage<48>>;
type TestStation = Station<TestNode, SmallLink, 2>;

fn addr(n: u32) -> Address {
    Address::new(n).unwrap()
}

fn link(me: u32) -> SmallLink {
    let mut config = LinkConfig::new(addr(me), Modem::hf_2400_short());
    config.max_segment = 256;
    config.arq_window = 4;
    SmallLink::new(config).unwrap()
}

fn station(c: &Coalition, fanout: Fanout) -> TestStation {
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, Some(NOW)).unwrap();
    }
    let mut config = Config::new(9);
    config.fanout = fanout;
    // No periodic SUMMARY within a test: what is counted is what the rules send.
    config.summary_interval = Duration::from_secs(24 * 3600);
    Station::new(Node::new(config, trust, FixedStorage::new(), Some(NOW)), 9)
}

/// A frame on its way: arrival, station, link, bytes.
type Flight = (Instant, usize, LinkId, Vec<u8>);

struct Net {
    stations: Vec<TestStation>,
    /// Per channel, its members (station, link).
    channels: Vec<Vec<(usize, LinkId)>>,
    /// Per station and link, key-down of its last transmission.
    keyed: Vec<[Instant; 2]>,
    flights: Vec<Flight>,
    now: Instant,
    /// Frames each station put on the air.
    frames: Vec<usize>,
}

impl Net {
    /// `count` stations, `channels` listing the stations on each channel; the stations in
    /// `preloaded` hold the whole coalition before their links come up.
    fn new(
        c: &Coalition,
        count: u32,
        channels: &[&[usize]],
        preloaded: &[usize],
        fanout: Fanout,
    ) -> Net {
        let mut stations: Vec<TestStation> = (0..count).map(|_| station(c, fanout)).collect();
        for &s in preloaded {
            for a in c.artifacts() {
                stations[s].publish(Instant::ZERO, Some(NOW), &a).unwrap();
            }
        }
        let mut members = Vec::new();
        for on in channels {
            let mut list = Vec::new();
            for &s in *on {
                let others: Vec<Address> = on
                    .iter()
                    .filter(|&&o| o != s)
                    .map(|&o| addr(o as u32 + 1))
                    .collect();
                let id = stations[s].add_link(link(s as u32 + 1), &others).unwrap();
                list.push((s, id));
            }
            members.push(list);
        }
        let now = Instant::from_millis(1000);
        for s in &mut stations {
            for l in 0..s.links() {
                s.link_up(now, Some(NOW), LinkId(l as u8)).unwrap();
            }
        }
        Net {
            keyed: std::vec![[Instant::ZERO; 2]; stations.len()],
            frames: std::vec![0; stations.len()],
            stations,
            channels: members,
            flights: Vec::new(),
            now,
        }
    }

    fn channel_of(&self, s: usize, l: LinkId) -> usize {
        self.channels
            .iter()
            .position(|m| m.contains(&(s, l)))
            .unwrap()
    }

    /// Lets every station transmit what it has now.
    fn transmit(&mut self) {
        let mut buf = [0u8; MAX_DPDU_LEN];
        let modem = Modem::hf_2400_short();
        for s in 0..self.stations.len() {
            for l in 0..self.stations[s].links() {
                let id = LinkId(l as u8);
                while let Some(t) = self.stations[s].poll_transmit(self.now, id, &mut buf) {
                    self.frames[s] += 1;
                    self.keyed[s][l] = t.end;
                    let channel = self.channel_of(s, id);
                    for &(to, tl) in &self.channels[channel] {
                        if to != s {
                            let at = modem.arrival(t.on_air, t.len);
                            self.flights.push((at, to, tl, buf[..t.len].to_vec()));
                        }
                    }
                }
            }
        }
    }

    /// Runs for `span`, dropping the frames `lose` picks (station from, station to).
    fn run(&mut self, span: Duration, mut lose: impl FnMut(usize, &[u8]) -> bool) {
        let end = self.now + span;
        loop {
            self.transmit();
            let next_frame = self.flights.iter().map(|f| f.0).min();
            let next_timer = self.stations.iter().filter_map(|s| s.poll_timeout()).min();
            let Some(next) = next_frame.into_iter().chain(next_timer).min() else {
                return;
            };
            if next > end {
                self.now = end;
                return;
            }
            self.now = self.now.max(next);
            let now = self.now;
            let (due, later): (Vec<Flight>, Vec<Flight>) =
                self.flights.drain(..).partition(|f| f.0 <= now);
            self.flights = later;
            for (_, to, l, frame) in due {
                let turnaround = Modem::hf_2400_short().turnaround;
                if self.keyed[to][usize::from(l.0)] + turnaround > now || lose(to, &frame) {
                    continue;
                }
                let _ = self.stations[to].handle_input(now, Some(NOW), l, &frame);
            }
            for s in &mut self.stations {
                if s.poll_timeout().is_some_and(|t| t <= now) {
                    s.handle_timeout(now, Some(NOW));
                }
                while s.poll_event().is_some() {}
            }
        }
    }

    fn holds(&self, s: usize) -> Vec<Digest> {
        let storage = self.stations[s].node().storage();
        let mut held: Vec<Digest> = (0..storage.len())
            .filter_map(|i| storage.get(i).map(|(a, _)| a.digest))
            .collect();
        held.sort();
        held
    }

    fn publish(&mut self, s: usize, bytes: &[u8]) {
        let now = self.now;
        self.stations[s].publish(now, Some(NOW), bytes).unwrap();
    }
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

#[test]
fn a_coalition_crosses_a_chain_of_stations() {
    let c = Coalition::new();
    let mut net = Net::new(&c, 3, &[&[0, 1], &[1, 2]], &[], Fanout::DEFAULT);
    for a in c.artifacts() {
        net.publish(0, &a);
    }
    net.run(minutes(30), |_, _| false);
    let origin = net.holds(0);
    assert_eq!(origin.len(), c.artifacts().len());
    assert_eq!(net.holds(1), origin);
    assert_eq!(net.holds(2), origin);
    assert_eq!(net.stations[1].stats().foreign, 0);
}

#[test]
fn listeners_on_one_channel_get_one_broadcast_not_three_copies() {
    let c = Coalition::new();
    let mut net = Net::new(&c, 4, &[&[0, 1, 2, 3]], &[0, 1, 2, 3], Fanout::DEFAULT);
    net.run(minutes(25), |_, _| false);
    let submitted =
        |net: &Net| -> Vec<u64> { net.stations.iter().map(|s| s.stats().submitted).collect() };
    let before = submitted(&net);
    net.publish(0, &c.gbr_policy(2, &sample::gbr_rules()));
    net.run(minutes(4), |_, _| false);
    let reference = net.holds(0);
    for s in 1..4 {
        assert_eq!(net.holds(s), reference, "station {s}");
    }
    let after = submitted(&net);
    // The policy once, as a broadcast, and the SUMMARY that follows it; the listeners took
    // it as heard by their channel mates and sent nothing on.
    assert_eq!(after[0] - before[0], 2, "{before:?} {after:?}");
    assert_eq!(after[1..], before[1..]);
}

#[test]
fn a_listener_that_missed_a_broadcast_gets_it_after_the_check() {
    let c = Coalition::new();
    let mut net = Net::new(&c, 3, &[&[0, 1, 2]], &[0, 1, 2], Fanout::DEFAULT);
    net.run(minutes(30), |_, _| false);
    let v2 = c.gbr_policy(2, &sample::gbr_rules());
    net.publish(0, &v2);
    // Station 2 loses the three copies of the broadcast (NON-ARQ DATA frames longer than a
    // SUMMARY), but hears everything after them.
    let mut lost = 0;
    net.run(minutes(5), |to, frame| {
        let non_arq = frame.get(2).is_some_and(|b| b >> 4 == 7);
        let gone = to == 2 && non_arq && frame.len() > 150 && lost < 3;
        lost += usize::from(gone);
        gone
    });
    assert_eq!(lost, 3);
    // No periodic SUMMARY runs here: the one that follows the broadcast found the gap, and
    // station 2's DETAIL got the policy pushed to it alone.
    assert!(net.holds(2).contains(&Digest::of(&v2)));
    assert!(net.stations[2].stats().submitted > 0, "station 2 asked");
}

/// `count` revocation deltas of GBR, sequence numbers 1 to `count`.
fn revocations(c: &Coalition, count: u32) -> Vec<Vec<u8>> {
    (1..=count)
        .map(|seq| {
            let entry = crate::policy::Revoked::Policy {
                id: 100 + seq,
                version: 1,
            };
            let delta = sample::revocation(sample::GBR, &c.gbr_root, seq, &[entry]);
            sample::sign(&c.gbr_root, &crate::policy::Artifact::Revocation(delta))
        })
        .collect()
}

#[test]
fn a_station_back_from_an_outage_gets_every_revocation_it_missed_at_once() {
    // Two stations on a point-to-point channel. Station 1 is off the air while station 0 takes
    // 24 revocations; back on, it must get them all in the catch-up its SUMMARY starts, not a
    // few per inventory round.
    let c = Coalition::new();
    let mut net = Net::new(&c, 2, &[&[0, 1]], &[0, 1], Fanout::DEFAULT);
    net.run(minutes(5), |_, _| false);
    assert_eq!(net.holds(1), net.holds(0));
    let now = net.now;
    net.stations[0].link_down(now, LinkId(0)).unwrap();
    net.stations[1].link_down(now, LinkId(0)).unwrap();
    let missed = revocations(&c, 24);
    for r in &missed {
        net.publish(0, r);
    }
    net.run(minutes(1), |_, _| false);
    assert!(!net.holds(1).contains(&Digest::of(&missed[0])));
    let back = net.now;
    net.stations[0].link_up(back, Some(NOW), LinkId(0)).unwrap();
    net.stations[1].link_up(back, Some(NOW), LinkId(0)).unwrap();
    // No periodic SUMMARY runs here: 90 s leave room for the exchange the return starts
    // (SUMMARYs, DETAILs, the 24 deltas broadcast four at a time by this small link) and one
    // check, not for further rounds. Before the fix in `NonArqReassembly::insert`, station 1
    // took the first four deltas and dropped the rest as repeats of them.
    net.run(Duration::from_secs(90), |_, _| false);
    let held = net.holds(1);
    let got = missed
        .iter()
        .filter(|r| held.contains(&Digest::of(r)))
        .count();
    assert_eq!(got, missed.len(), "revocations caught up");
    assert_eq!(net.holds(1), net.holds(0));
}
