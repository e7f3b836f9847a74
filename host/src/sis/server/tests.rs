//! The hub and queue against scripted clients and link events.

use super::*;
use skywave_protocol::sis::UnidataRequest;

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

/// A SIS server on a loopback port whose core is the test: a real TCP client talks to it.
struct Served {
    client: TcpStream,
    events: mpsc::Receiver<ToCore>,
    hub: Hub,
    queue: ClientQueue,
    read: Vec<u8>,
}

impl Served {
    async fn start() -> Served {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, events) = mpsc::channel(64);
        tokio::spawn(connection::serve(listener, tx, 4));
        let client = TcpStream::connect(addr).await.unwrap();
        let hub = Hub::new(Address::new(1).unwrap(), 13, &SisServerConfig::default());
        let mut s = Served {
            client,
            events,
            hub,
            queue: ClientQueue::default(),
            read: Vec::new(),
        };
        s.core().await;
        s
    }

    /// The core takes one event from the connection; an accepted request is returned.
    async fn core(&mut self) -> Option<Submission> {
        let event = self.events.recv().await.expect("the connection reports");
        self.hub.handle(event, Instant::from_millis(0))
    }

    async fn send(&mut self, p: &Primitive<'_>) {
        use tokio::io::AsyncWriteExt;
        self.client.write_all(&encode(p).unwrap()).await.unwrap();
    }

    /// The next primitive from the server, framed (empty if it closed the connection).
    async fn next(&mut self) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut chunk = [0u8; 4096];
        loop {
            if let Ok(Some(len)) = frame_len(&self.read)
                && self.read.len() >= len
            {
                return self.read.drain(..len).collect();
            }
            let read = self.client.read(&mut chunk);
            match tokio::time::timeout(std::time::Duration::from_secs(5), read).await {
                Ok(Ok(0)) | Ok(Err(_)) => return Vec::new(),
                Ok(Ok(n)) => self.read.extend_from_slice(&chunk[..n]),
                Err(_) => panic!("no answer from the server"),
            }
        }
    }

    /// Binds SAP 5 with `service`.
    async fn bind(&mut self, service: ServiceType) {
        let bind = Primitive::BindRequest {
            sap: 5,
            rank: 0,
            service,
        };
        self.send(&bind).await;
        assert!(self.core().await.is_none());
        assert_eq!(self.next().await[HEADER_LEN], kind::BIND_ACCEPTED);
        assert_eq!(self.next().await[HEADER_LEN], kind::SUBNET_AVAILABILITY);
    }

    /// An S_UNIDATA_REQUEST to node 2's `dest_sap`, through the core.
    async fn request(
        &mut self,
        dest_sap: u8,
        service: ServiceType,
        updu: &[u8],
    ) -> Option<Submission> {
        let request = UnidataRequest {
            priority: 3,
            dest_sap,
            dest: SisAddress::node(Address::new(2).unwrap()),
            service,
            ttl: 30,
            updu,
        };
        self.send(&Primitive::UnidataRequest {
            expedited: false,
            request,
        })
        .await;
        self.core().await
    }

    /// The next primitive must be S_UNIDATA_REQUEST_REJECTED with `reason`.
    async fn rejected(&mut self, reason: u8) {
        let f = self.next().await;
        assert_eq!(
            f.get(HEADER_LEN),
            Some(&kind::UNIDATA_REQUEST_REJECTED),
            "{f:?}"
        );
        assert_eq!(f[HEADER_LEN + 1] >> 4, reason, "rejection reason");
    }
}

#[tokio::test]
async fn a_well_formed_over_long_request_is_rejected_too_large_and_the_connection_kept() {
    let mut s = Served::start().await;
    s.bind(ServiceType::arq(confirm::NONE, true)).await;
    let long = vec![0x55; MAX_UPDU_LEN + 1000];
    assert!(s.request(6, ServiceType::default(), &long).await.is_none());
    s.rejected(rejected::TOO_LARGE).await;
    s.send(&Primitive::KeepAlive).await;
    assert_eq!(
        s.next().await.get(HEADER_LEN),
        Some(&kind::KEEP_ALIVE),
        "still connected"
    );
}

#[tokio::test]
async fn a_request_to_skywave_s_own_sap_is_refused_sap_not_bound() {
    let mut s = Served::start().await;
    s.bind(ServiceType::arq(confirm::NONE, true)).await;
    assert!(
        s.request(13, ServiceType::default(), b"policy?")
            .await
            .is_none()
    );
    s.rejected(rejected::SAP_NOT_BOUND).await;
}

#[tokio::test]
async fn a_non_arq_request_with_node_confirmation_is_confirmed_once_sent() {
    let mut s = Served::start().await;
    s.bind(ServiceType::arq(confirm::NONE, true)).await;
    let service = ServiceType {
        tx_mode: tx_mode::NON_ARQ,
        confirm: confirm::NODE,
        ..ServiceType::default()
    };
    let submission = s
        .request(6, service, b"broadcast-ish")
        .await
        .expect("accepted");
    assert!(matches!(submission.mode, Mode::NonArq { .. }));
    let id = MessageId(7);
    s.queue.submitted(&s.hub, 0, submission, Ok(id));
    assert!(
        s.queue
            .outcome(&s.hub, 0, &LinkEvent::Sent(id), Instant::ZERO)
    );
    let f = s.next().await;
    assert_eq!(
        f.get(HEADER_LEN),
        Some(&kind::UNIDATA_REQUEST_CONFIRM),
        "{f:?}"
    );
}

#[tokio::test]
async fn a_client_confirmation_refused_by_the_far_node_is_rejected_sap_not_bound() {
    let mut s = Served::start().await;
    s.bind(ServiceType::arq(confirm::CLIENT, true)).await;
    let data = b"to-an-unbound-sap";
    let submission = s
        .request(6, ServiceType::default(), data)
        .await
        .expect("accepted");
    let id = MessageId(3);
    s.queue.submitted(&s.hub, 0, submission, Ok(id));
    // The far node has the U_PDU (ARQ delivered), but no client on SAP 6: DATA DELIVERY FAIL.
    assert!(
        s.queue
            .outcome(&s.hub, 0, &LinkEvent::Delivered(id), Instant::ZERO)
    );
    let header = SpduHeader {
        priority: 0,
        src_sap: 5,
        dest_sap: 6,
    };
    let fail = LinkEvent::NotDelivered {
        from: Address::new(2).unwrap(),
        header,
        reason: 1,
        echo: &data[..8],
    };
    assert!(s.queue.outcome(&s.hub, 0, &fail, Instant::ZERO));
    s.rejected(rejected::SAP_NOT_BOUND).await;
}
