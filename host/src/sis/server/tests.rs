//! The hub and queue against scripted clients and link events.

use super::*;

fn frames(rx: &mut mpsc::Receiver<ToClient>) -> Vec<u8> {
    let mut kinds = Vec::new();
    while let Ok(ToClient::Frame(f) | ToClient::Indication(f)) = rx.try_recv() {
        kinds.push(f[HEADER_LEN]);
    }
    kinds
}

#[test]
fn a_filling_backlog_turns_the_clients_data_flow_off_and_on() {
    let node = Address::new(1).unwrap();
    let mut hub = Hub::new(node, 13, &SisServerConfig::default());
    let (tx, mut rx) = mpsc::channel(1024);
    let peer = "127.0.0.1:1".parse().unwrap();
    let now = Instant::from_millis(0);
    assert!(
        hub.handle(ToCore::Connected { id: 1, peer, tx }, now)
            .is_none()
    );
    let service = ServiceType::arq(confirm::NODE, true);
    let bind = ToCore::Bind {
        id: 1,
        sap: 5,
        rank: 0,
        service,
    };
    assert!(hub.handle(bind, now).is_none());
    assert_eq!(
        frames(&mut rx),
        [kind::BIND_ACCEPTED, kind::SUBNET_AVAILABILITY]
    );
    let request = |n: u8| ToCore::Unidata {
        id: 1,
        expedited: false,
        request: Request {
            priority: 3,
            dest_sap: 5,
            dest: SisAddress::node(Address::new(2).unwrap()),
            service: ServiceType::default(),
            ttl: 5,
            data: vec![n],
        },
    };
    let mut queue = ClientQueue::default();
    for n in 0..BACKLOG_OFF as u8 {
        let s = hub.handle(request(n), now).expect("accepted");
        assert_eq!(s.ttd, Instant::from_millis(10_000));
        assert_eq!(s.header.src_sap, 5);
        queue.push(s);
    }
    assert_eq!(frames(&mut rx), [kind::DATAFLOW_OFF]);
    while queue
        .front()
        .is_some_and(|_| hub.clients[&1].backlog > BACKLOG_ON)
    {
        queue.pop(&mut hub);
    }
    assert_eq!(frames(&mut rx), [kind::DATAFLOW_ON]);
    queue.forget(1);
    assert!(queue.front().is_none());
}

#[test]
fn skywave_s_sap_and_a_taken_sap_are_refused() {
    let mut hub = Hub::new(Address::new(1).unwrap(), 13, &SisServerConfig::default());
    let now = Instant::from_millis(0);
    let mut rxs = Vec::new();
    for id in 1..=2 {
        let (tx, rx) = mpsc::channel(16);
        rxs.push(rx);
        let peer = "127.0.0.1:1".parse().unwrap();
        hub.handle(ToCore::Connected { id, peer, tx }, now);
    }
    let bind = |id, sap| ToCore::Bind {
        id,
        sap,
        rank: 0,
        service: ServiceType::default(),
    };
    hub.handle(bind(1, 13), now);
    hub.handle(bind(1, 3), now);
    hub.handle(bind(2, 3), now);
    let reasons: Vec<Vec<u8>> = rxs
        .iter_mut()
        .map(|rx| {
            let mut out = Vec::new();
            while let Ok(ToClient::Frame(f)) = rx.try_recv() {
                out.push(f[HEADER_LEN]);
                if f[HEADER_LEN] == kind::BIND_REJECTED {
                    out.push(f[HEADER_LEN + 1]);
                }
            }
            out
        })
        .collect();
    assert_eq!(
        reasons[0],
        [
            kind::BIND_REJECTED,
            bind_rejected::INVALID_SAP,
            kind::BIND_ACCEPTED,
            kind::SUBNET_AVAILABILITY
        ]
    );
    assert_eq!(reasons[1], [kind::BIND_REJECTED, bind_rejected::SAP_IN_USE]);
    assert_eq!(hub.bound(3), Some(1));
}
