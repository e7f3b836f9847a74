use super::*;
use skywave_protocol::policy::sample::Coalition;

#[test]
fn caps_goes_once_until_the_neighbours_state_is_reset() {
    let (a, b) = (Address::new(2).unwrap(), Address::new(3).unwrap());
    let mut caps = CapsAnnouncements::default();
    assert!(caps.wanted(a));
    caps.pending.push((MessageId(7), a));
    assert!(!caps.wanted(a), "one on the way is enough");
    assert!(caps.wanted(b));
    assert!(!caps.settle(MessageId(8), true), "not a CAPS");
    assert!(caps.settle(MessageId(7), true));
    assert!(!caps.wanted(a), "acknowledged: not at the next link set-up");
    caps.pending.push((MessageId(9), b));
    assert!(caps.settle(MessageId(9), false));
    assert!(
        caps.wanted(b),
        "expired undelivered: again at the next link"
    );
    caps.forget(a);
    assert!(caps.wanted(a), "a reset neighbour may have restarted");
}

fn pending(id: u32, dest: u32, priority: u8, mode: Mode, data: Vec<u8>) -> (MessageId, Pending) {
    let p = Pending {
        dest: Address::new(dest).unwrap(),
        header: SpduHeader {
            priority,
            src_sap: 13,
            dest_sap: 13,
        },
        mode,
        ttd: Instant::from_millis(1000),
        data,
    };
    (MessageId(id), p)
}

fn artifacts() -> Vec<Vec<u8>> {
    Coalition::new()
        .artifacts()
        .into_iter()
        .map(|a| [&[tag::ARTIFACT][..], &a].concat())
        .collect()
}

const ARQ: Mode = Mode::Arq { in_order: false };

#[test]
fn runs_of_artifacts_to_a_reader_become_one_batch() {
    let messages: Vec<_> = (0..)
        .zip(artifacts())
        .map(|(i, a)| pending(i, 2, 8, ARQ, a))
        .collect();
    let ids: Vec<MessageId> = messages.iter().map(|(id, _)| *id).collect();
    let raw: usize = messages.iter().map(|(_, m)| m.data.len()).sum();
    let out = batch(messages, &[Address::new(2).unwrap()]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, ids, "the batch answers for every message in it");
    let data = &out[0].1.data;
    assert_eq!(data[0], compress::BATCH);
    assert!(data.len() < raw * 3 / 4, "{} of {raw}", data.len());
    assert_eq!(compress::unpack(data).unwrap(), artifacts());
}

#[test]
fn non_readers_revocations_and_other_messages_go_as_they_are() {
    let a = artifacts();
    let messages = vec![
        pending(1, 3, 8, ARQ, a[0].clone()),
        pending(2, 3, 8, ARQ, a[1].clone()),
        pending(3, 2, 15, Mode::ExpeditedArq, a[2].clone()),
        pending(4, 2, 12, ARQ, vec![2, 0]),
        pending(5, 2, 8, ARQ, a[3].clone()),
    ];
    let out = batch(messages, &[Address::new(2).unwrap()]);
    let firsts: Vec<u8> = out.iter().map(|(_, m)| m.data[0]).collect();
    let a = tag::ARTIFACT;
    assert_eq!(firsts, [a, a, a, 2, a]);
    let ids: Vec<Vec<MessageId>> = out.into_iter().map(|(ids, _)| ids).collect();
    assert_eq!(ids, (1..=5).map(|i| vec![MessageId(i)]).collect::<Vec<_>>());
}

#[test]
fn batches_never_exceed_a_u_pdu() {
    // Incompressible artifacts: several batches, each within the MTU, nothing lost.
    let noise: Vec<Vec<u8>> = (0..6u32)
        .map(|i| {
            let mut x = i.wrapping_mul(2_654_435_761) | 1;
            let mut v = vec![tag::ARTIFACT];
            v.extend((0..900).map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            }));
            v
        })
        .collect();
    let messages = (0..)
        .zip(&noise)
        .map(|(i, n)| pending(i, 2, 8, ARQ, n.clone()))
        .collect();
    let out = batch(messages, &[Address::new(2).unwrap()]);
    assert!(out.len() >= 3);
    assert!(out.iter().all(|(_, m)| m.data.len() <= MAX_UPDU_LEN));
    let ids: Vec<MessageId> = out.iter().flat_map(|(ids, _)| ids.clone()).collect();
    assert_eq!(ids, (0..6).map(MessageId).collect::<Vec<_>>());
    let unpacked: Vec<Vec<u8>> = out
        .iter()
        .flat_map(|(_, m)| match m.data[0] {
            compress::BATCH => compress::unpack(&m.data).unwrap(),
            _ => vec![m.data.clone()],
        })
        .collect();
    assert_eq!(unpacked, noise);
}

fn hf(address: u32) -> AgentLink {
    let address = Address::new(address).unwrap();
    let config = link::Config::new(address, link::Modem::hf_2400_short());
    let carrier = Carrier::Hf(Box::new(HostLink::new(config).unwrap()));
    AgentLink::new(carrier, 13, &[Address::new(2).unwrap()])
}

/// A client's message to a node that never answers, dying at 6 s.
fn to_nobody() -> Message<'static> {
    Message {
        dest: Address::new(119).unwrap(),
        header: SpduHeader {
            priority: 7,
            src_sap: 9,
            dest_sap: 9,
        },
        mode: ARQ,
        confirm: false,
        ttd: Instant::from_millis(6000),
        data: b"flood",
    }
}

#[test]
fn a_client_message_that_expires_is_reported_failed_by_its_own_id() {
    let mut l = hf(1);
    let mut buf = vec![0u8; 4096];
    let message = to_nobody();
    let ids: Vec<MessageId> = (0..12)
        .map(|_| l.submit(Instant::ZERO, &message).unwrap())
        .collect();
    let mut failed = Vec::new();
    let mut now = Instant::ZERO;
    while now < Instant::from_millis(20_000) {
        while l.poll_transmit(now, &mut buf).is_some() {}
        while let Some(e) = l.poll_event() {
            if let LinkEvent::Failed(id, _) = e {
                failed.push(id);
            }
        }
        let next = l
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(1000));
        now = next.max(now + Duration::from_millis(1));
        l.handle_timeout(now);
    }
    failed.sort();
    assert_eq!(failed, ids);
}

/// More client messages expire at once than the station queues events: each is reported
/// (the station once dropped all but the last 16, and their SIS clients never heard).
#[test]
fn a_station_reports_every_expired_client_message() {
    use skywave_protocol::node::{self, HeapStorage, Node};
    use skywave_protocol::policy::TrustStore;
    use skywave_protocol::station::{LinkId, Station, StationEvent};
    let node: Box<Node<HeapStorage>> = Box::new(Node::new(
        node::Config::new(13),
        TrustStore::new(),
        HeapStorage::default(),
        None,
    ));
    let mut station: Station<_, AgentLink, 1> = Station::new(node, 13);
    let id = station
        .add_link(hf(1), &[Address::new(2).unwrap()])
        .unwrap();
    station.link_up(Instant::ZERO, None, id).unwrap();
    let message = to_nobody();
    let mut buf = vec![0u8; 4096];
    let mut ids = Vec::new();
    let mut failed = Vec::new();
    let mut now = Instant::ZERO;
    while now < Instant::from_millis(20_000) {
        while station.poll_transmit(now, LinkId(0), &mut buf).is_some() {}
        while let Some(e) = station.poll_event() {
            if let StationEvent::Failed { id, .. } = e {
                failed.push(id);
            }
        }
        while now < Instant::from_millis(1000) {
            match station.submit(now, LinkId(0), &message) {
                Ok(id) => ids.push(id),
                Err(_) => break,
            }
        }
        let next = station
            .poll_timeout()
            .unwrap_or(now + Duration::from_millis(1000));
        now = next.max(now);
        station.handle_timeout(now, None);
    }
    failed.sort();
    assert!(ids.len() > 10, "{ids:?}");
    assert_eq!(failed, ids);
}
