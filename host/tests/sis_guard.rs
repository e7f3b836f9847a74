//! SIS clients on guarded SAPs (`[[guard.sap]]`, issue 17 part 5), through real TCP SIS
//! connections to two agents' cores on a simulated HF net (tokio's paused clock, as
//! `skywave demo` runs them). Node 1 is GBR, node 2 USA, both holding the sample coalition and
//! each other's node credential. On both: SAP 5 carries a default label (SECRET TELIC, which
//! GBR releases to USA through the liaison's translator), SAP 6 labelled envelopes, SAP 7 a
//! default label GBR does not release (SECRET UK EYES ONLY).
//!
//! 1. released with the default label: the sender is confirmed, the receiver gets the data;
//! 2. released with an envelope (compact label, and XML read under the SAP's policy): the
//!    receiver gets an envelope with the compact label;
//! 3. refused (not cleared): rejected at once, nothing reaches the far client;
//! 4. a malformed envelope: rejected at once;
//! 5. node 2 silent: a second message held behind the first is refused when the translator's
//!    revocation arrives, and its client gets the rejection;
//! 6. client delivery confirmation: released at both ends, confirmed; refused by node 2's
//!    guard only (the revocation reached it first), the sending client is rejected, not
//!    confirmed.
//!
//! And the operator's inbox (`skywave send` / `receive` through the control API): messages
//! for node 2's operator outlive a restart of its agent and are taken once; a full inbox
//! refuses a message, and a sender that asked for client confirmation is told so.

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use p256::ecdsa::SigningKey;
use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
use skywave_host::agent::config::{
    AgentConfig, BearerConfig, GuardSap, GuardSettings, LinkConfig, SapLabel,
};
use skywave_host::agent::control::{Command, Reply, Request};
use skywave_host::agent::{open_node, spawn_core_with_sis};
use skywave_host::bearer::Bearer;
use skywave_host::sis::SisServerConfig;
use skywave_host::sis::server::{self as sis_server, Hub};
use skywave_protocol::label::compact;
use skywave_protocol::label::envelope::{Envelope, LabelForm};
use skywave_protocol::link::Modem;
use skywave_protocol::policy::sample::{self, Coalition, GBR, NOW, USA, gbr};
use skywave_protocol::policy::{Artifact, Credential, Label, Revoked, Scope, TrustStore};
use skywave_protocol::sis::{
    HEADER_LEN, Primitive, ServiceType, SisAddress, UnidataRequest, confirm, frame_len, kind,
    rejected,
};
use skywave_protocol::wire::Address;
use skywave_tools::demo::agent_config;
use skywave_tools::demo::radio::RadioNet;
use skywave_tools::sim::channel::{Channel, Model};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

/// The label GBR releases to USA (through the GBR-USA translator).
const TELIC_XML: &str = "SECRET</Classification>\n<Category TagName=\"OPERATION\" \
                         Type=\"PERMISSIVE\"><GenericValue>10</GenericValue></Category>";
/// A label GBR releases to nobody.
const UKEO_XML: &str = "SECRET</Classification>\n<Category TagName=\"EYES ONLY\" \
                        Type=\"RESTRICTIVE\"><GenericValue>1</GenericValue></Category>";

/// A 4774 label in the NATO XML syntax; `inner` runs from the classification's text on.
fn label_xml(inner: &str) -> String {
    format!(
        "<originatorConfidentialityLabel \
         xmlns=\"urn:nato:stanag:4774:confidentialitymetadatalabel:1:0\">\n\
         <ConfidentialityInformation>\n<PolicyIdentifier>national</PolicyIdentifier>\n\
         <Classification>{inner}\n</ConfidentialityInformation>\n\
         </originatorConfidentialityLabel>\n"
    )
}

fn telic_compact() -> Vec<u8> {
    let label = Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &[gbr::OP_TELIC],
    };
    let mut out = [0u8; 64];
    let len = compact::encode(&label, &mut out).unwrap();
    out[..len].to_vec()
}

fn envelope(form: LabelForm, label: &[u8], data: &[u8]) -> Vec<u8> {
    let e = Envelope { form, label, data };
    let mut out = vec![0u8; e.len()];
    e.write(&mut out).unwrap();
    out
}

fn node_key(address: u32) -> SigningKey {
    sample::key(70 + address as u8)
}

/// The roots, the coalition and both nodes' credentials (node 1 GBR, node 2 USA).
fn trust(c: &Coalition) -> TrustStore {
    let mut trust = c.store().unwrap();
    for (root, domain, address) in [(&c.gbr_root, GBR, 1), (&c.usa_root, USA, 2)] {
        let cred = Credential {
            node: Some(address),
            ..sample::credential(root, &node_key(address), domain, Scope::NODE, 0)
        };
        let bytes = sample::sign(root, &Artifact::Credential(cred));
        trust.admit(&bytes, Some(NOW)).unwrap();
    }
    trust
}

/// Node `address`'s configuration: one simulated link to `neighbour`, the three guarded SAPs.
fn config(dir: &Path, address: u32, neighbour: u32) -> AgentConfig {
    let link = LinkConfig {
        name: "hf".into(),
        bearer: BearerConfig::Simulated,
        modem: Modem::hf_2400_short(),
        neighbours: vec![Address::new(neighbour).unwrap()],
        reset_after_link: false,
    };
    let mut config = agent_config(dir, address, vec![link]).unwrap();
    // Non-ARQ C_PDU IDs from 0, as the reference driver's, not from the clock: runs repeat.
    config.cpdu_id_seed = Some(0);
    let key = dir.join(format!("node-{address}.pem"));
    let pem = node_key(address).to_pkcs8_pem(LineEnding::LF).unwrap();
    std::fs::write(&key, pem.as_bytes()).unwrap();
    let (telic, ukeo) = (dir.join("telic.xml"), dir.join("ukeo.xml"));
    std::fs::write(&telic, label_xml(TELIC_XML)).unwrap();
    std::fs::write(&ukeo, label_xml(UKEO_XML)).unwrap();
    let gbr_1 = Some("GBR:1".parse().unwrap());
    let sap = |sap, label, policy| GuardSap {
        sap,
        label,
        policy,
        spif: None,
    };
    config.guard = Some(GuardSettings {
        key,
        saps: vec![
            sap(5, SapLabel::Default(telic), gbr_1),
            sap(6, SapLabel::Envelope, gbr_1),
            sap(7, SapLabel::Default(ukeo), gbr_1),
        ],
    });
    config
}

/// A running agent core with a SIS server; the control channel and the SIS address.
async fn agent(dir: &Path, address: u32, neighbour: u32, bearer: Bearer) -> Agent {
    agent_until(dir, address, neighbour, bearer, std::future::pending()).await
}

/// [`agent`] with `config` changed by `adjust` first.
async fn agent_with(
    dir: &Path,
    address: u32,
    neighbour: u32,
    bearer: Bearer,
    adjust: impl FnOnce(&mut AgentConfig),
) -> Agent {
    let mut config = config(dir, address, neighbour);
    adjust(&mut config);
    start(config, bearer, std::future::pending()).await
}

/// [`agent`], stopping when `shutdown` completes.
async fn agent_until(
    dir: &Path,
    address: u32,
    neighbour: u32,
    bearer: Bearer,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Agent {
    start(config(dir, address, neighbour), bearer, shutdown).await
}

/// A running agent core for `config`, with a SIS server, stopping when `shutdown` completes.
async fn start(
    config: AgentConfig,
    bearer: Bearer,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Agent {
    let (node, store) = open_node(&config, trust(&Coalition::new())).unwrap();
    let sis_config = SisServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..SisServerConfig::default()
    };
    let listener = sis_server::bind(&sis_config).await.unwrap();
    let sis = listener.local_addr().unwrap();
    let (events_tx, events) = mpsc::channel(64);
    tokio::spawn(sis_server::serve(listener, events_tx, 16));
    let hub = Hub::new(config.address, config.sap, &sis_config);
    let (control, task) = spawn_core_with_sis(
        &config,
        node,
        store,
        vec![bearer],
        Some((hub, events)),
        None,
        shutdown,
    )
    .unwrap();
    Agent { control, sis, task }
}

struct Agent {
    control: mpsc::Sender<Request>,
    sis: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

/// A SIS client application: Annex A primitives over TCP.
struct Client {
    tcp: TcpStream,
    read: Vec<u8>,
}

impl Client {
    /// Connects to `agent` and binds `sap` (ARQ, node delivery confirmation).
    async fn bound(agent: &Agent, sap: u8) -> Client {
        let tcp = TcpStream::connect(agent.sis).await.unwrap();
        // Nagle would hold a second request back for an acknowledgement, in real time, while
        // the paused clock runs on.
        tcp.set_nodelay(true).unwrap();
        let mut c = Client {
            tcp,
            read: Vec::new(),
        };
        let service = ServiceType::arq(confirm::NODE, true);
        c.send(&Primitive::BindRequest {
            sap,
            rank: 0,
            service,
        })
        .await;
        assert_eq!(c.next().await[HEADER_LEN], kind::BIND_ACCEPTED);
        c
    }

    async fn send(&mut self, p: &Primitive<'_>) {
        let frame = skywave_host::sis::encode(p).unwrap();
        self.tcp.write_all(&frame).await.unwrap();
    }

    /// Sends `updu` to node `dest`'s `sap`, with the bind's service.
    async fn request(&mut self, dest: u32, sap: u8, updu: &[u8]) {
        self.request_as(dest, sap, updu, ServiceType::default())
            .await;
    }

    /// Sends `updu` to node `dest`'s `sap` with `service`.
    async fn request_as(&mut self, dest: u32, sap: u8, updu: &[u8], service: ServiceType) {
        let request = UnidataRequest {
            priority: 3,
            dest_sap: sap,
            dest: SisAddress::node(Address::new(dest).unwrap()),
            service,
            ttl: 0,
            updu,
        };
        self.send(&Primitive::UnidataRequest {
            expedited: false,
            request,
        })
        .await;
    }

    /// The next primitive (framed), on the paused clock: an hour of simulated time at most.
    async fn next(&mut self) -> Vec<u8> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Ok(Some(len)) = frame_len(&self.read)
                && self.read.len() >= len
            {
                return self.read.drain(..len).collect();
            }
            let read = self.tcp.read(&mut chunk);
            match tokio::time::timeout(Duration::from_secs(3600), read).await {
                Ok(Ok(n)) if n > 0 => self.read.extend_from_slice(&chunk[..n]),
                other => panic!("no primitive from the agent: {other:?}"),
            }
        }
    }

    /// The next data answer or indication, skipping availability and flow reports.
    async fn answer(&mut self) -> Vec<u8> {
        loop {
            let f = self.next().await;
            let k = f[HEADER_LEN];
            if ![
                kind::SUBNET_AVAILABILITY,
                kind::DATAFLOW_ON,
                kind::DATAFLOW_OFF,
            ]
            .contains(&k)
            {
                return f;
            }
        }
    }

    /// The next answer must be S_UNIDATA_REQUEST_CONFIRM.
    async fn confirmed(&mut self) {
        let f = self.answer().await;
        assert_eq!(f[HEADER_LEN], kind::UNIDATA_REQUEST_CONFIRM, "{f:?}");
    }

    /// The next answer must be S_UNIDATA_REQUEST_REJECTED with `reason`, returning `updu`.
    async fn rejected(&mut self, reason: u8, updu: &[u8]) {
        let f = self.answer().await;
        match Primitive::parse(&f[HEADER_LEN..]).unwrap() {
            Primitive::UnidataRejected { report, .. } => {
                assert_eq!((report.reason, report.updu), (reason, updu));
            }
            other => panic!("not rejected: {other:?}"),
        }
    }

    /// The next answer must be S_UNIDATA_INDICATION; its U_PDU.
    async fn indication(&mut self) -> Vec<u8> {
        let f = self.answer().await;
        match Primitive::parse(&f[HEADER_LEN..]).unwrap() {
            Primitive::UnidataIndication { indication, .. } => indication.updu.to_vec(),
            other => panic!("not an indication: {other:?}"),
        }
    }
}

async fn ask(control: &mpsc::Sender<Request>, command: Command) -> Reply {
    let (reply, answer) = oneshot::channel();
    control.send(Request { command, reply }).await.unwrap();
    answer.await.unwrap()
}

fn clean(_: usize) -> Channel {
    Channel::new(Model::Clean, 1)
}

async fn released_and_refused(dir: PathBuf) {
    let net = RadioNet::new(Modem::hf_2400_short());
    let (_, one) = net.join(clean);
    let (_, two) = net.join(clean);
    let one = agent(&dir.join("1"), 1, 2, one).await;
    let two = agent(&dir.join("2"), 2, 1, two).await;
    let (mut a5, mut a6, mut a7) = (
        Client::bound(&one, 5).await,
        Client::bound(&one, 6).await,
        Client::bound(&one, 7).await,
    );
    let (mut b5, mut b6) = (Client::bound(&two, 5).await, Client::bound(&two, 6).await);

    // 1. The default label: released at both ends, the far client gets the data as sent.
    a5.request(2, 5, b"first light").await;
    a5.confirmed().await;
    assert_eq!(b5.indication().await, b"first light");

    // 2. Envelopes, with a compact label and with the XML label read under GBR:1: the far
    // client gets each data with the compact label it was released under.
    let telic = telic_compact();
    // The bytes of docs/sis.md's envelope example.
    assert_eq!(
        telic,
        [0x01, 0x47, 0x42, 0x52, 0x01, 0x03, 0x01, 0x02, 0x0a]
    );
    assert_eq!(
        envelope(LabelForm::Compact, &telic, b"hi")[..4],
        [0x01, 0x00, 0x00, 0x09]
    );
    a6.request(2, 6, &envelope(LabelForm::Compact, &telic, b"second"))
        .await;
    a6.confirmed().await;
    let xml = label_xml(TELIC_XML);
    a6.request(2, 6, &envelope(LabelForm::Xml, xml.as_bytes(), b"third"))
        .await;
    a6.confirmed().await;
    for data in [&b"second"[..], b"third"] {
        assert_eq!(
            b6.indication().await,
            envelope(LabelForm::Compact, &telic, data)
        );
    }

    // 3. Not cleared: rejected at once with Annex A's "unknown", the U_PDU returned.
    a7.request(2, 7, b"eyes only").await;
    a7.rejected(rejected::UNKNOWN, b"eyes only").await;

    // 4. Malformed envelopes: a bad version, and a compact label that does not decode.
    for bad in [
        vec![9, 0, 0, 1, 0],
        envelope(LabelForm::Compact, &[0xff, 1, 2], b"x"),
    ] {
        a6.request(2, 6, &bad).await;
        a6.rejected(rejected::UNKNOWN, &bad).await;
    }

    // Nothing refused reached node 2's clients: the next thing each gets is this.
    a5.request(2, 5, b"last").await;
    a5.confirmed().await;
    assert_eq!(b5.indication().await, b"last");
}

async fn refused_while_held(dir: PathBuf) {
    let c = Coalition::new();
    let net = RadioNet::new(Modem::hf_2400_short());
    let (_, one) = net.join(clean);
    // Node 2 is on the net but silent: nothing node 1 sends to it settles.
    let (_, _silent) = net.join(clean);
    let one = agent(&dir.join("1"), 1, 2, one).await;
    let mut a5 = Client::bound(&one, 5).await;
    // The first goes into the link and waits there for an acknowledgement that never comes;
    // the second is held behind it (one labelled message per destination in a link).
    a5.request(2, 5, b"in the link").await;
    a5.request(2, 5, b"held").await;
    // The connection passes primitives on in order: once the keep-alive is answered, both
    // requests are with the core.
    a5.send(&Primitive::KeepAlive).await;
    while a5.next().await[HEADER_LEN] != kind::KEEP_ALIVE {}
    // Neither is answered while node 2 stays silent: the first is not delivered, the second
    // is released but held (a minute of simulated time, many ARQ retries).
    let quiet = tokio::time::timeout(Duration::from_secs(60), a5.answer()).await;
    assert!(quiet.is_err(), "answered before the revocation: {quiet:?}");
    let entry = Revoked::Translator { id: 1, version: 1 };
    let revocation = sample::revocation(GBR, &c.gbr_signer, 1, &[entry]);
    let artifact = sample::sign(&c.gbr_signer, &Artifact::Revocation(revocation));
    let reply = ask(&one.control, Command::Publish { artifact }).await;
    assert!(matches!(reply, Reply::Admitted { .. }), "{reply:?}");
    // The held one is decided again, refused, and its client told.
    a5.rejected(rejected::UNKNOWN, b"held").await;
}

/// Node 2's operator inbox: `(id, data)` of each message, and how many more there are.
async fn inbox(agent: &Agent, keep: bool) -> (Vec<(u64, Vec<u8>)>, u64) {
    let command = Command::Receive { keep, after: 0 };
    let Reply::Received {
        messages,
        remaining,
    } = ask(&agent.control, command).await
    else {
        panic!("not a receive reply");
    };
    let data = |hex: Option<String>| skywave_host::agent::control::unhex(&hex.unwrap()).unwrap();
    let messages = messages.into_iter().map(|m| (m.id, data(m.data_hex)));
    (messages.collect(), remaining)
}

async fn inbox_across_a_restart(dir: PathBuf) {
    let net = RadioNet::new(Modem::hf_2400_short());
    let (_, one) = net.join(clean);
    let (_, two) = net.join(clean);
    let one = agent(&dir.join("1"), 1, 2, one).await;
    let (stop, stopped) = oneshot::channel::<()>();
    let stopped = async {
        let _ = stopped.await;
    };
    let two = agent_until(&dir.join("2"), 2, 1, two, stopped).await;
    // No client holds SAP 5 at node 2: what node 1's operator sends there is node 2's
    // operator's.
    for data in [&b"first"[..], b"second"] {
        let send = Command::Send {
            to: Address::new(2).unwrap(),
            sap: Some(5),
            label: telic_compact(),
            data: data.to_vec(),
        };
        let Reply::Sent(sent) = ask(&one.control, send).await else {
            panic!("not sent");
        };
        // The second waits behind the first (one labelled message per destination in a link).
        assert_ne!(sent.state, "refused");
    }
    // A look that keeps them, until both are in (the link takes simulated seconds).
    let expected = vec![(1, b"first".to_vec()), (2, b"second".to_vec())];
    while inbox(&two, true).await.0.len() < 2 {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.send(()).unwrap();
    two.task.await.unwrap();

    // Restarted on the same store (another radio on the same net): both are still there,
    // and looking again shows the same, not more.
    let (_, again) = net.join(clean);
    let two = agent(&dir.join("2"), 2, 1, again).await;
    assert_eq!(inbox(&two, true).await, (expected.clone(), 0));
    assert_eq!(inbox(&two, true).await, (expected, 0));
    // An ack removes the first (a second ack of it removes nothing), a take the rest; then
    // nothing is left, and nothing is delivered twice.
    for removed in [1, 0] {
        let ack = Command::Ack { ids: vec![1] };
        let reply = ask(&two.control, ack).await;
        assert!(
            matches!(reply, Reply::Acked { removed: r } if r == removed),
            "{reply:?}"
        );
    }
    assert_eq!(inbox(&two, false).await, (vec![(2, b"second".to_vec())], 0));
    assert_eq!(inbox(&two, false).await, (vec![], 0));
}

async fn refused_by_the_receiver(dir: PathBuf) {
    let c = Coalition::new();
    let net = RadioNet::new(Modem::hf_2400_short());
    let (_, one) = net.join(clean);
    let (two_member, two) = net.join(clean);
    let one = agent(&dir.join("1"), 1, 2, one).await;
    let two = agent(&dir.join("2"), 2, 1, two).await;
    let mut a5 = Client::bound(&one, 5).await;
    let mut b5 = Client::bound(&two, 5).await;
    // Client delivery confirmation, as HMTP-style clients ask for it.
    let client_confirmed = ServiceType::arq(confirm::CLIENT, false);

    // Released at both ends: confirmed once node 2's guard released it to its client.
    a5.request_as(2, 5, b"first light", client_confirmed).await;
    a5.confirmed().await;
    assert_eq!(b5.indication().await, b"first light");

    // Node 2 off the air; the next message is released by node 1 (which holds no revocation)
    // and waits in its link. Once the keep-alive is answered, the request is with the core.
    net.set_down(two_member, true);
    a5.request_as(2, 5, b"after revocation", client_confirmed)
        .await;
    a5.send(&Primitive::KeepAlive).await;
    while a5.next().await[HEADER_LEN] != kind::KEEP_ALIVE {}
    // GBR's revocation of the translator reaches node 2 first (by another path).
    let entry = Revoked::Translator { id: 1, version: 1 };
    let revocation = sample::revocation(GBR, &c.gbr_signer, 1, &[entry]);
    let artifact = sample::sign(&c.gbr_signer, &Artifact::Revocation(revocation));
    let reply = ask(&two.control, Command::Publish { artifact }).await;
    assert!(matches!(reply, Reply::Admitted { .. }), "{reply:?}");
    net.set_down(two_member, false);
    // Node 2's guard refuses it: its link answers DATA DELIVERY FAIL, and the sending client
    // is rejected with Annex A's "unknown", never confirmed.
    a5.rejected(rejected::UNKNOWN, b"after revocation").await;
    // Node 2's client was handed nothing (ten minutes of simulated quiet).
    let quiet = tokio::time::timeout(Duration::from_secs(600), b5.answer()).await;
    assert!(quiet.is_err(), "node 2's client was handed {quiet:?}");
}

async fn full_inbox(dir: PathBuf) {
    let net = RadioNet::new(Modem::hf_2400_short());
    let (_, one) = net.join(clean);
    let (_, two) = net.join(clean);
    let one = agent(&dir.join("1"), 1, 2, one).await;
    // Node 2's operator inbox holds one message; no SIS client holds SAP 5 there, so what
    // arrives for it is the operator's.
    let two = agent_with(&dir.join("2"), 2, 1, two, |c| c.inbox_max = 1).await;
    let mut a5 = Client::bound(&one, 5).await;
    let client_confirmed = ServiceType::arq(confirm::CLIENT, false);

    // The first fits: its sender is confirmed once it is in the inbox.
    a5.request_as(2, 5, b"fits", client_confirmed).await;
    a5.confirmed().await;
    // The second finds the inbox full: refused there, and its sender is rejected (DATA
    // DELIVERY FAIL reason 2 on the air, "unknown" to the client), never confirmed.
    a5.request_as(2, 5, b"no room", client_confirmed).await;
    a5.rejected(rejected::UNKNOWN, b"no room").await;
    // Only the first is in the inbox, and the refusal is counted.
    assert_eq!(inbox(&two, true).await, (vec![(1, b"fits".to_vec())], 0));
    let Reply::Status(status) = ask(&two.control, Command::Status).await else {
        panic!("not a status");
    };
    let inbox_status = status.inbox.unwrap();
    assert_eq!(
        (
            inbox_status.waiting,
            inbox_status.limit,
            inbox_status.refused
        ),
        (1, 1, 1)
    );
    // Once the operator took it there is room: the next is confirmed and kept.
    assert_eq!(inbox(&two, false).await.0.len(), 1);
    a5.request_as(2, 5, b"room again", client_confirmed).await;
    a5.confirmed().await;
    let (kept, _) = inbox(&two, true).await;
    assert_eq!(
        kept.iter().map(|(_, d)| &d[..]).collect::<Vec<_>>(),
        [b"room again"]
    );
}

/// Runs `story` on the paused clock in a fresh directory with one folder per node.
fn run<F: Future<Output = ()> + 'static>(
    name: &str,
    story: impl FnOnce(PathBuf) -> F + Send + 'static,
) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("sis-guard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for node in ["1", "2"] {
        std::fs::create_dir_all(dir.join(node)).unwrap();
    }
    common::on_paused_clock(dir, story);
}

#[test]
fn guarded_sap_clients_are_released_or_rejected_never_silent() {
    run("released", released_and_refused);
}

#[test]
fn the_operators_inbox_outlives_a_restart_and_gives_each_message_once() {
    run("inbox", inbox_across_a_restart);
}

#[test]
fn a_full_inbox_rejects_a_client_confirmed_message_to_its_sender_and_does_not_keep_it() {
    run("full-inbox", full_inbox);
}

#[test]
fn a_held_message_refused_after_a_revocation_is_rejected_to_its_client() {
    run("held", refused_while_held);
}

#[test]
fn a_message_the_receiving_guard_refuses_is_rejected_to_its_sender_not_confirmed() {
    run("receiver", refused_by_the_receiver);
}
