//! The link state machine driven through its public API by a small virtual-time harness: nodes
//! on one half-duplex channel, frames delivered per the modem model, with scripted loss,
//! duplication, reordering within a transmission and corruption.

use proptest::prelude::*;
use skywave_protocol::link::{
    Answer, CONTROL_SLOTS, Config, Event, Failure, HOST_QUEUE, HostLink, Message, MessageId, Mode,
    Modem, Service, SpduHeader, SubmitError,
};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, MAX_DPDU_LEN};
use std::collections::BTreeMap;

/// What happens to one copy of one frame on its way to one receiver.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Fate {
    Deliver,
    Lose,
    Duplicate,
    Corrupt(usize),
}

/// A deterministic pseudo-random source for fates (SplitMix64).
struct Mix(u64);

impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

#[derive(Debug, Default)]
struct Log {
    /// (time, source, payload) of everything received.
    received: Vec<(Instant, Address, Service, Vec<u8>)>,
    delivered: BTreeMap<MessageId, Instant>,
    sent: BTreeMap<MessageId, Instant>,
    failed: BTreeMap<MessageId, (Instant, Failure)>,
    confirmed: Vec<(Address, Vec<u8>)>,
}

struct Node {
    link: Box<HostLink>,
    log: Log,
    transmitting_until: Instant,
}

struct Net<F: FnMut(usize, usize, usize) -> Fate> {
    nodes: Vec<Node>,
    now: Instant,
    /// (arrival, receiver, bytes)
    in_flight: Vec<(Instant, usize, Vec<u8>)>,
    fate: F,
    reorder: bool,
    frames: usize,
    shuffle: Mix,
}

fn modem() -> Modem {
    Modem::hf_2400_short()
}

fn config(address: u32) -> Config {
    let mut c = Config::new(Address::new(address).unwrap(), modem());
    // Smaller segments make more frames per C_PDU, which is what the schedules should hit.
    c.max_segment = 256;
    c.arq_window = 32;
    c
}

impl<F: FnMut(usize, usize, usize) -> Fate> Net<F> {
    fn new(addresses: &[u32], fate: F, reorder: bool) -> Self {
        let nodes = addresses
            .iter()
            .map(|&a| Node {
                link: Box::new(HostLink::new(config(a)).unwrap()),
                log: Log::default(),
                transmitting_until: Instant::ZERO,
            })
            .collect();
        Net {
            nodes,
            now: Instant::ZERO,
            in_flight: Vec::new(),
            fate,
            reorder,
            frames: 0,
            shuffle: Mix(7),
        }
    }

    fn submit(&mut self, node: usize, message: &Message<'_>) -> MessageId {
        let now = self.now;
        self.nodes[node].link.submit(now, message).unwrap()
    }

    /// Lets every node transmit and report, then delivers what arrives next.
    fn step(&mut self, until: Instant) -> bool {
        let now = self.now;
        let mut buf = vec![0u8; MAX_DPDU_LEN];
        for i in 0..self.nodes.len() {
            let mut burst: Vec<(Instant, Vec<u8>)> = Vec::new();
            while let Some(t) = self.nodes[i].link.poll_transmit(now, &mut buf) {
                assert!(
                    t.on_air >= now && t.on_air <= t.end,
                    "frames lie in their transmission"
                );
                assert!(
                    t.end - now <= modem().max_transmission,
                    "a transmission never exceeds its maximum length"
                );
                self.nodes[i].transmitting_until = t.end;
                let arrival = modem().arrival(t.on_air, t.len);
                burst.push((arrival, buf[..t.len].to_vec()));
            }
            if self.reorder && burst.len() > 1 {
                // Keep the arrival instants, permute which frame comes at which.
                let mut times: Vec<Instant> = burst.iter().map(|b| b.0).collect();
                for k in (1..times.len()).rev() {
                    let j = (self.shuffle.next() % (k as u64 + 1)) as usize;
                    times.swap(k, j);
                }
                for (b, t) in burst.iter_mut().zip(times) {
                    b.0 = t;
                }
            }
            for (arrival, bytes) in burst {
                let index = self.frames;
                self.frames += 1;
                for j in 0..self.nodes.len() {
                    if j == i {
                        continue;
                    }
                    let fate = (self.fate)(index, i, j);
                    if std::env::var_os("LINK_TRACE").is_some() {
                        eprintln!(
                            "{now} {i}->{j} type {} eot {} len {} {fate:?}",
                            bytes[2] >> 4,
                            bytes[4],
                            bytes.len()
                        );
                    }
                    match fate {
                        Fate::Deliver => self.in_flight.push((arrival, j, bytes.clone())),
                        Fate::Lose => {}
                        Fate::Duplicate => {
                            self.in_flight.push((arrival, j, bytes.clone()));
                            self.in_flight.push((arrival, j, bytes.clone()));
                        }
                        Fate::Corrupt(at) => {
                            let mut bad = bytes.clone();
                            let k = at % bad.len();
                            bad[k] ^= 0x5A;
                            self.in_flight.push((arrival, j, bad));
                        }
                    }
                }
            }
            self.drain_events(i);
        }
        let next_arrival = self.in_flight.iter().map(|f| f.0).min();
        let next_timeout = self
            .nodes
            .iter()
            .filter_map(|n| n.link.poll_timeout())
            .min();
        let Some(next) = [next_arrival, next_timeout].into_iter().flatten().min() else {
            return false;
        };
        if next > until {
            return false;
        }
        self.now = next.max(now);
        let now = self.now;
        self.in_flight.sort_by_key(|f| f.0);
        while self.in_flight.first().is_some_and(|f| f.0 <= now) {
            let (_, j, bytes) = self.in_flight.remove(0);
            // Half duplex: a node hears nothing while it transmits or turns around.
            if self.nodes[j].transmitting_until + modem().turnaround > now {
                continue;
            }
            let _ = self.nodes[j].link.handle_input(now, &bytes);
            self.drain_events(j);
        }
        for j in 0..self.nodes.len() {
            if self.nodes[j].link.poll_timeout().is_some_and(|t| t <= now) {
                self.nodes[j].link.handle_timeout(now);
            }
            self.drain_events(j);
        }
        true
    }

    fn run(&mut self, until: Instant) {
        let mut guard = 0u32;
        while self.step(until) {
            guard += 1;
            assert!(guard < 2_000_000, "the link never settles");
        }
    }

    fn drain_events(&mut self, i: usize) {
        let now = self.now;
        let node = &mut self.nodes[i];
        while let Some(e) = node.link.poll_event() {
            match e {
                Event::Received(r) => {
                    node.log
                        .received
                        .push((now, r.src, r.service, r.data.to_vec()));
                    // Every client here takes what it is handed.
                    if let Some(request) = r.confirm {
                        node.link.answer(request, Answer::Confirm);
                    }
                }
                Event::Delivered(id) => {
                    assert!(node.log.delivered.insert(id, now).is_none());
                }
                Event::Sent(id) => {
                    assert!(node.log.sent.insert(id, now).is_none());
                }
                Event::Failed(id, f) => {
                    if std::env::var_os("LINK_TRACE").is_some() {
                        eprintln!("{now} node {i} failed {id:?} {f:?}");
                    }
                    assert!(node.log.failed.insert(id, (now, f)).is_none());
                }
                Event::Confirmed { from, echo, .. } => {
                    node.log.confirmed.push((from, echo.to_vec()))
                }
                other => {
                    if std::env::var_os("LINK_TRACE").is_some() {
                        eprintln!("{now} node {i} {other:?}");
                    }
                }
            }
        }
    }
}

fn addr(v: u32) -> Address {
    Address::new(v).unwrap()
}

/// A payload that names its message, so a delivery can be matched to its submission.
fn payload(tag: u32, len: usize) -> Vec<u8> {
    let mut p = tag.to_be_bytes().to_vec();
    p.extend((0..len.saturating_sub(4)).map(|i| (i as u32 ^ tag) as u8));
    p
}

fn arq(dest: u32, priority: u8, in_order: bool, ttd: Instant, data: &[u8]) -> Message<'_> {
    Message {
        dest: addr(dest),
        header: SpduHeader {
            priority,
            src_sap: 1,
            dest_sap: 2,
        },
        mode: Mode::Arq { in_order },
        confirm: false,
        ttd,
        data,
    }
}

#[test]
fn clean_channel_links_and_delivers_in_one_exchange() {
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Deliver, false);
    let data = payload(1, 1500);
    let ttd = Instant::from_millis(600_000);
    let id = net.submit(0, &arq(2, 5, true, ttd, &data));
    net.run(Instant::from_millis(60_000));
    let b = &net.nodes[1].log;
    assert_eq!(b.received.len(), 1);
    assert_eq!(b.received[0].3, data);
    assert_eq!(b.received[0].1, addr(1));
    assert!(net.nodes[0].log.delivered.contains_key(&id));
    // Request, accept, data, ack: about four turns at 2400 bit/s, far under a minute.
    assert!(net.nodes[0].log.delivered[&id] < Instant::from_millis(30_000));
    assert_eq!(net.nodes[0].link.stats().retransmissions, 0);
}

#[test]
fn expired_messages_are_reported_and_never_sent() {
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Lose, false);
    let data = payload(9, 100);
    let id = net.submit(0, &arq(2, 0, false, Instant::from_millis(5_000), &data));
    net.run(Instant::from_millis(200_000));
    let a = &net.nodes[0].log;
    assert!(matches!(a.failed.get(&id), Some(&(t, _)) if t >= Instant::from_millis(5_000)));
    assert!(net.nodes[1].log.received.is_empty());
    // No link was ever made, so no ARQ data frame went out: only link requests.
    assert_eq!(net.nodes[0].link.stats().retransmissions, 0);
}

#[test]
fn higher_priority_goes_first_and_expedited_before_all() {
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Deliver, false);
    let ttd = Instant::from_millis(900_000);
    let low = payload(1, 200);
    let high = payload(2, 200);
    let urgent = payload(3, 50);
    net.submit(0, &arq(2, 1, false, ttd, &low));
    net.submit(0, &arq(2, 12, false, ttd, &high));
    let mut exp = arq(2, 0, false, ttd, &urgent);
    exp.mode = Mode::ExpeditedArq;
    net.submit(0, &exp);
    net.run(Instant::from_millis(120_000));
    let got: Vec<_> = net.nodes[1]
        .log
        .received
        .iter()
        .map(|r| (r.2, r.3.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Service::ExpeditedArq, urgent),
            (Service::Arq, high),
            (Service::Arq, low)
        ]
    );
}

#[test]
fn broadcast_repeats_reach_every_listener_without_a_link() {
    let receivers: Vec<u32> = (2..12).collect();
    let mut all = vec![1];
    all.extend(&receivers);
    let mut net = Net::new(&all, |_, _, _| Fate::Deliver, false);
    let data = payload(5, 1000);
    let msg = Message {
        dest: Address::BROADCAST,
        header: SpduHeader::default(),
        mode: Mode::NonArq { repeats: 3 },
        confirm: false,
        ttd: Instant::from_millis(300_000),
        data: &data,
    };
    let id = net.submit(0, &msg);
    net.run(Instant::from_millis(300_000));
    assert!(net.nodes[0].log.sent.contains_key(&id));
    for n in &net.nodes[1..] {
        assert_eq!(n.log.received.len(), 1, "each listener delivers once");
        assert_eq!(n.log.received[0].3, data);
        assert_eq!(n.link.stats().frames_sent, 0, "listeners never transmit");
    }
}

/// Submits messages from `node` to `dest` until its link refuses one (or `limit` have been
/// sent in all); returns the refusal, if any.
fn fill<F: FnMut(usize, usize, usize) -> Fate>(
    net: &mut Net<F>,
    node: usize,
    dest: u32,
    sent: &mut Vec<(MessageId, Vec<u8>)>,
    limit: usize,
) -> Option<SubmitError> {
    let ttd = Instant::from_millis(3_600_000);
    while sent.len() < limit {
        let data = payload((node * limit + sent.len()) as u32, 200);
        match net.nodes[node]
            .link
            .submit(net.now, &arq(dest, 4, false, ttd, &data))
        {
            Ok(id) => sent.push((id, data)),
            Err(e) => return Some(e),
        }
    }
    None
}

/// Both ends keep their queues full of messages for each other, from before the link exists
/// until each has sent twice what its queue holds: the link's own C_PDUs (the request, its
/// acceptance) have places of their own, so the link is still made and every message crosses
/// both ways. Were the link's C_PDUs to need a client place, clients would take every place
/// the link's requests free once sent, no acceptance could be queued, and nothing would be
/// delivered.
#[test]
fn full_queues_still_make_the_link_and_deliver_everything() {
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Deliver, false);
    let limit = 2 * HOST_QUEUE;
    let mut sent = [Vec::new(), Vec::new()];
    let ends = [(0, 2), (1, 1)];
    for (node, dest) in ends {
        let refusal = fill(&mut net, node, dest, &mut sent[node], limit);
        assert_eq!(refusal, Some(SubmitError::QueueFull));
        // The places are one pool, as when they were one queue: clients stop with
        // `CONTROL_SLOTS` free, and the link request the first submission queued holds one.
        let link = &net.nodes[node].link;
        assert_eq!(link.capacity(), HOST_QUEUE + CONTROL_SLOTS);
        assert_eq!(
            link.queued() + CONTROL_SLOTS,
            link.capacity(),
            "filled to the reserve"
        );
        assert_eq!(sent[node].len(), HOST_QUEUE - 1, "beside the link request");
    }
    let until = Instant::from_millis(3_000_000);
    let mut steps = 0u32;
    while net.step(until) {
        for (node, dest) in ends {
            fill(&mut net, node, dest, &mut sent[node], limit);
        }
        steps += 1;
        assert!(steps < 2_000_000, "the link never settles");
    }
    for (node, other) in [(0, 1), (1, 0)] {
        assert_eq!(
            sent[node].len(),
            limit,
            "node {node} kept its queue full to the end"
        );
        let log = &net.nodes[node].log;
        for (id, _) in &sent[node] {
            assert!(
                log.delivered.contains_key(id),
                "node {node}: {id:?} delivered"
            );
        }
        let mut received: Vec<&Vec<u8>> =
            net.nodes[other].log.received.iter().map(|r| &r.3).collect();
        received.sort();
        let mut expected: Vec<&Vec<u8>> = sent[node].iter().map(|(_, d)| d).collect();
        expected.sort();
        assert_eq!(
            received, expected,
            "what node {node} queued reached node {other}, once each"
        );
    }
}

#[test]
fn client_confirmation_comes_back() {
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Deliver, false);
    let data = payload(77, 40);
    let mut m = arq(2, 3, false, Instant::from_millis(600_000), &data);
    m.confirm = true;
    net.submit(0, &m);
    net.run(Instant::from_millis(120_000));
    assert_eq!(
        net.nodes[0].log.confirmed,
        vec![(addr(2), data[..16].to_vec())]
    );
}

#[test]
fn misconfiguration_is_a_typed_error() {
    let mut c = config(1);
    c.arq_window = 127;
    assert!(HostLink::new(c).is_err());
    let mut c = config(1);
    c.max_segment = 0;
    assert!(HostLink::new(c).is_err());
    let mut c = config(1);
    c.modem.max_transmission = Duration::from_secs(200);
    assert!(HostLink::new(c).is_err());
}

/// One submission in a property test.
#[derive(Clone, Debug)]
struct Submission {
    from_b: bool,
    len: usize,
    priority: u8,
    in_order: bool,
    ttd_secs: u64,
}

fn submission() -> impl Strategy<Value = Submission> {
    (
        any::<bool>(),
        0usize..2048,
        0u8..3,
        any::<bool>(),
        prop_oneof![5u64..40, 600u64..1800],
    )
        .prop_map(|(from_b, len, priority, in_order, ttd_secs)| Submission {
            from_b,
            len,
            priority,
            in_order,
            ttd_secs,
        })
}

/// The submissions and channel of [`arq_schedule`]: the messages, the channel's seed, the
/// chances of loss, duplication and corruption, and reordering within a transmission.
fn schedule() -> impl Strategy<Value = (Vec<Submission>, u64, f64, f64, f64, bool)> {
    (
        proptest::collection::vec(submission(), 1..8),
        any::<u64>(),
        0.0f64..0.5,
        0.0f64..0.1,
        0.0f64..0.1,
        any::<bool>(),
    )
}

/// [`arq_survives_any_schedule`]'s check: `subs` over a channel that loses, corrupts and
/// duplicates frames with the given chances (and reorders within a transmission).
fn arq_schedule(
    subs: &[Submission],
    seed: u64,
    (loss, dup, corrupt): (f64, f64, f64),
    reorder: bool,
    reset_after_link: bool,
) -> Result<(), TestCaseError> {
    let mut rng = Mix(seed);
    let fate = move |_: usize, _: usize, _: usize| {
        if rng.chance(loss) {
            Fate::Lose
        } else if rng.chance(corrupt) {
            Fate::Corrupt(rng.next() as usize)
        } else if rng.chance(dup) {
            Fate::Duplicate
        } else {
            Fate::Deliver
        }
    };
    let mut net = Net::new(&[1, 2], fate, reorder);
    for node in &mut net.nodes {
        let mut c = *node.link.config();
        c.reset_after_link = reset_after_link;
        *node.link = HostLink::new(c).unwrap();
    }
    let mut sent = Vec::new();
    for (k, s) in subs.iter().enumerate() {
        let data = payload(k as u32, s.len.max(4));
        let (from, to) = if s.from_b { (1, 1) } else { (0, 2) };
        let ttd = Instant::from_millis(s.ttd_secs * 1000);
        let id = net.submit(from, &arq(to, s.priority, s.in_order, ttd, &data));
        sent.push((from, id, data, ttd));
    }
    net.run(Instant::from_millis(3 * 3_600_000));
    for (k, (from, id, data, ttd)) in sent.iter().enumerate() {
        let receiver = &net.nodes[1 - from].log;
        let copies: Vec<_> = receiver.received.iter().filter(|r| &r.3 == data).collect();
        let log = &net.nodes[*from].log;
        let delivered = log.delivered.contains_key(id);
        let failed = log.failed.get(id);
        prop_assert!(
            delivered != failed.is_some(),
            "message {k}: exactly one outcome"
        );
        prop_assert!(
            copies.len() <= 1,
            "message {k} delivered {} times",
            copies.len()
        );
        if delivered {
            prop_assert_eq!(copies.len(), 1, "acknowledged message {} missing", k);
        }
        if let Some(&(at, why)) = failed {
            prop_assert_eq!(why, Failure::Expired);
            prop_assert!(at >= *ttd && at <= *ttd + Duration::from_secs(1));
            // A failed message may still have been delivered once: when every segment
            // reached the receiver but no acknowledgement came back before the time-to-die,
            // and the DROP that follows arrives too late (Annex C has the same window).
        }
    }
    // In order: an in-order message is never delivered before a message of the same
    // sender and priority submitted (so numbered) before it.
    for node in 0..2 {
        let order: Vec<usize> = net.nodes[1 - node]
            .log
            .received
            .iter()
            .filter_map(|r| sent.iter().position(|s| s.0 == node && s.2 == r.3))
            .collect();
        for (i, &a) in order.iter().enumerate() {
            for &b in &order[i + 1..] {
                let (sa, sb) = (&subs[a], &subs[b]);
                if sa.in_order && sa.priority == sb.priority {
                    prop_assert!(b > a, "in-order message {a} overtook {b}");
                }
            }
        }
    }
    Ok(())
}

proptest! {
    // 48 cases keep the suite fast; PROPTEST_CASES=5000 for a deeper hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    /// Whatever the channel does, every ARQ message is delivered exactly once and intact, or
    /// reported failed at its time-to-die (and then delivered at most once); in-order messages
    /// keep their order; the sender never gets both outcomes.
    #[test]
    fn arq_survives_any_schedule(
        (subs, seed, loss, dup, corrupt, reorder) in schedule(),
    ) {
        arq_schedule(&subs, seed, (loss, dup, corrupt), reorder, false)?;
    }

    /// The same with FULL RESET only on a made link (`Config::reset_after_link`).
    #[test]
    fn arq_survives_any_schedule_in_the_annex_order(
        (subs, seed, loss, dup, corrupt, reorder) in schedule(),
    ) {
        arq_schedule(&subs, seed, (loss, dup, corrupt), reorder, true)?;
    }

    /// Ten listeners with independent loss: each completes exactly when every segment reached
    /// it in at least one of the repeats, and the sender sends exactly repeats x segments.
    #[test]
    fn broadcast_completes_with_the_expected_repeats(
        len in 1usize..2000,
        repeats in 1u8..5,
        masks in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 64), 10),
        bias in 0u8..4,
    ) {
        // A mask bit set loses that frame; bias thins the losses so some listeners complete.
        let lost = |frame: usize, rx: usize| masks[rx - 1][frame % 64] && (frame + rx) % 4 >= bias as usize;
        let mut net = Net::new(&(1..=11).collect::<Vec<_>>(), |f, _, rx| if lost(f, rx) { Fate::Lose } else { Fate::Deliver }, false);
        let data = payload(3, len);
        let msg = Message {
            dest: Address::BROADCAST,
            header: SpduHeader::default(),
            mode: Mode::NonArq { repeats },
            confirm: false,
            ttd: Instant::from_millis(3_600_000),
            data: &data,
        };
        net.submit(0, &msg);
        net.run(Instant::from_millis(3_600_000));
        let cpdu_len = data.len() + 4; // C_PDU and DATA S_PDU headers
        let segments = cpdu_len.div_ceil(256);
        prop_assert_eq!(net.nodes[0].link.stats().frames_sent as usize, segments * repeats as usize);
        prop_assert!(net.frames <= 64);
        for rx in 1..=10 {
            let complete = (0..segments).all(|s| (0..repeats as usize).any(|r| !lost(r * segments + s, rx)));
            let got = &net.nodes[rx].log.received;
            prop_assert_eq!(got.len(), usize::from(complete), "listener {}", rx);
            if complete {
                prop_assert_eq!(&got[0].3, &data);
            }
        }
    }
}

/// A sound D_PDU from a peer (address 2) to the node under test (address 1), with arbitrary
/// field values: what a confused or hostile 5066 stack could send.
fn hostile_frame() -> impl Strategy<Value = Vec<u8>> {
    use skywave_protocol::wire::{
        ArqData, ArqFlags, Body, Dpdu, Eow, NonArqData, Reset, SelectiveAck,
    };
    (
        0u8..6,
        any::<[u8; 8]>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(kind, f, data)| {
            let flags = ArqFlags {
                cpdu_start: f[0] & 1 != 0,
                cpdu_end: f[0] & 2 != 0,
                deliver_in_order: f[0] & 4 != 0,
                drop_cpdu: f[0] & 8 != 0,
                ..ArqFlags::default()
            };
            let ack = SelectiveAck::with_bitmap(f[2], &f[3..3 + usize::from(f[4] % 5)]).unwrap();
            let arq = ArqData {
                flags,
                tx_seq: f[1],
                segment: &data,
            };
            let body = match kind {
                0 => Body::DataOnly(arq),
                1 => Body::DataAck(arq, ack),
                2 => Body::AckOnly(ack),
                3 => Body::ResetWinResync(Reset {
                    full_reset: f[5] & 1 != 0,
                    tx_win_request: f[5] & 2 != 0,
                    rx_win_command: f[5] & 4 != 0,
                    reset_ack: f[5] & 8 != 0,
                    new_rx_lwe: f[6],
                    reset_frame_id: f[7],
                }),
                _ => Body::NonArqData(NonArqData {
                    cpdu_id: u16::from(f[1]) & 0xFFF,
                    deliver_in_order: false,
                    group: kind == 5,
                    cpdu_size: u16::from_be_bytes([f[5] & 7, f[6]]),
                    segment_offset: u16::from(f[7]),
                    reception_window: 10,
                    segment: &data,
                }),
            };
            let dest = if kind == 5 {
                Address::BROADCAST
            } else {
                addr(1)
            };
            let dpdu = Dpdu {
                eow: Eow::NONE,
                eot: f[0] >> 4,
                dest,
                src: addr(2),
                body,
            };
            let mut buf = vec![0u8; dpdu.buffer_len()];
            dpdu.emit(&mut buf).unwrap();
            buf
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Sound frames with arbitrary contents, garbage bytes and time jumps, against a node that
    /// has a link and data in flight: no panic, every poll answers, memory stays fixed.
    #[test]
    fn arbitrary_input_never_breaks_the_link(
        inputs in proptest::collection::vec(
            prop_oneof![
                hostile_frame().prop_map(Ok),
                proptest::collection::vec(any::<u8>(), 0..64).prop_map(Ok),
                (0u64..200_000).prop_map(Err),
            ],
            1..60,
        )
    ) {
        let mut link = Box::new(HostLink::new(config(1)).unwrap());
        let mut now = Instant::ZERO;
        let data = payload(1, 900);
        link.submit(now, &arq(2, 3, true, Instant::from_millis(10_000_000), &data)).unwrap();
        let mut buf = vec![0u8; MAX_DPDU_LEN];
        for input in inputs {
            match input {
                Ok(bytes) => { let _ = link.handle_input(now, &bytes); }
                Err(ms) => {
                    now = now + Duration::from_millis(ms);
                    link.handle_timeout(now);
                }
            }
            while link.poll_transmit(now, &mut buf).is_some() {}
            while link.poll_event().is_some() {}
            if let Some(t) = link.poll_timeout() {
                prop_assert!(t >= Instant::ZERO);
            }
            prop_assert!(link.queued() <= 32);
        }
    }
}

#[test]
fn a_lost_link_request_with_its_reset_delivered_still_links() {
    // Frames 0 and 1 are the two copies of the request; frame 2 the FULL RESET behind them.
    let mut net = Net::new(
        &[1, 2],
        |frame, _, _| if frame < 2 { Fate::Lose } else { Fate::Deliver },
        false,
    );
    let data = payload(4, 300);
    let id = net.submit(0, &arq(2, 0, false, Instant::from_millis(600_000), &data));
    net.run(Instant::from_millis(300_000));
    assert!(net.nodes[0].log.delivered.contains_key(&id));
    assert_eq!(net.nodes[1].log.received.len(), 1);
}

#[test]
fn one_physical_link_at_a_time_and_the_busy_peer_is_asked_again() {
    // Nodes 1 and 3 both want node 2: one is rejected (BUSY), retries after the other's link
    // goes idle, and everything arrives once.
    let mut net = Net::new(&[1, 2, 3], |_, _, _| Fate::Deliver, false);
    let ttd = Instant::from_millis(3_600_000);
    let from_1 = payload(1, 700);
    let from_3 = payload(3, 700);
    let a = net.submit(0, &arq(2, 0, false, ttd, &from_1));
    let c = net.submit(2, &arq(2, 0, false, ttd, &from_3));
    net.run(Instant::from_millis(3_600_000));
    assert!(net.nodes[0].log.delivered.contains_key(&a));
    assert!(net.nodes[2].log.delivered.contains_key(&c));
    let mut got: Vec<_> = net.nodes[1]
        .log
        .received
        .iter()
        .map(|r| r.3.clone())
        .collect();
    got.sort();
    let mut want = vec![from_1, from_3];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn a_peer_that_restarts_is_brought_back_by_reset() {
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Deliver, false);
    let ttd = Instant::from_millis(3_600_000);
    let first = payload(1, 500);
    net.submit(0, &arq(2, 0, true, ttd, &first));
    net.run(Instant::from_millis(60_000));
    assert_eq!(net.nodes[1].log.received.len(), 1);
    // Node 2 loses all state (a reboot) while node 1 still holds the link and its numbering.
    *net.nodes[1].link = HostLink::new(config(2)).unwrap();
    let second = payload(2, 500);
    let id = net.submit(0, &arq(2, 0, true, ttd, &second));
    net.run(Instant::from_millis(1_800_000));
    assert!(net.nodes[0].log.delivered.contains_key(&id));
    assert_eq!(
        net.nodes[1].log.received.last().map(|r| &r.3),
        Some(&second)
    );
}

#[test]
fn an_absent_node_stops_being_called_once_nothing_wants_it() {
    // Node 1 calls 0x77, which does not exist, until its messages die; then it must reach node
    // 2, which is right there.
    let mut net = Net::new(&[1, 2], |_, _, _| Fate::Deliver, false);
    for tag in 0..20 {
        let data = payload(tag, 100);
        net.submit(0, &arq(0x77, 0, false, Instant::from_millis(6_000), &data));
    }
    net.run(Instant::from_millis(10_000));
    let data = payload(99, 100);
    let id = net.submit(0, &arq(2, 0, false, Instant::from_millis(100_000), &data));
    net.run(Instant::from_millis(100_000));
    assert!(
        net.nodes[0].log.delivered.contains_key(&id),
        "the message to the present node: {:?}",
        net.nodes[0].log.failed.get(&id)
    );
}
