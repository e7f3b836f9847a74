//! The SIS server: 5066 client applications bind SAPs on this node over TCP.
//!
//! Three parts, so that every protocol decision is made in one place, in the core's task:
//!
//! - a **connection task** per client ([`serve`]) owns the socket: it frames and parses what
//!   the client sends, answers what needs no node state (S_KEEP_ALIVE, hard-link requests,
//!   which this node refuses), honours the client's S_DATAFLOW_OFF by holding indications, and
//!   closes the connection after an S_UNBIND_INDICATION when the client breaks the framing or
//!   sends too many invalid primitives. Everything else goes to the core as a [`ToCore`];
//! - the [`Hub`], owned by the core, keeps the bindings (one SAP per connection, Skywave's own
//!   SAP never given out), checks each S_UNIDATA_REQUEST and answers it, hands received U_PDUs
//!   to the client bound to their SAP, and turns S_DATAFLOW_ON/OFF on as a client's backlog
//!   fills and drains;
//! - the [`ClientQueue`], also the core's, holds accepted requests until the link they go on
//!   has room (the same room check as Skywave's own traffic) and remembers which link message
//!   answers which request, so the link's DELIVERED, FAILED and CONFIRMED events become
//!   S_UNIDATA_REQUEST_CONFIRM and _REJECTED.
//!
//! **Nothing is persisted.** A request's confirmation goes out only once the link reports the
//! delivery, so a restart never loses anything the node has confirmed; requests in flight die
//! with the TCP connection, which the client sees, exactly as with any 5066 node. Received
//! U_PDUs are handed straight to the bound client, without the store's `received` dedup table:
//! 5066 clients may legitimately send identical U_PDUs (keep-alives, repeated chat lines), and
//! ARQ already drops duplicates within a link session. docs/sis.md says the same for
//! operators.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use skywave_protocol::link::{self, Event as LinkEvent, MAX_UPDU_LEN, MessageId, Mode, SpduHeader};
use skywave_protocol::sis::{
    HEADER_LEN, HardLink, Primitive, ServiceType, SisAddress, UnidataIndication, UnidataReport,
    availability, bind_rejected, confirm, frame_len, kind, rejected, tx_mode, unbind,
};
use skywave_protocol::time::Instant;
use skywave_protocol::wire::Address;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};

use super::{MAX_FRAME, SisServerConfig, encode};

/// A client connection's number, unique for the life of the agent.
pub type ClientId = u64;

/// Invalid primitives a client may send before it is unbound and disconnected.
pub const MAX_INVALID: u32 = 8;
/// Frames waiting to be written to one client.
const TO_CLIENT_CAPACITY: usize = 512;
/// Indications held for a client that sent S_DATAFLOW_OFF; beyond this the oldest is dropped.
const HELD_INDICATIONS: usize = 256;
/// A client's accepted requests waiting for link room at which it is told S_DATAFLOW_OFF...
const BACKLOG_OFF: usize = 16;
/// ...and at which S_DATAFLOW_ON again.
const BACKLOG_ON: usize = 4;
/// A client that keeps sending past S_DATAFLOW_OFF has requests refused beyond this.
const BACKLOG_MAX: usize = 64;
/// The time-to-live used when a request says 0 ("no limit").
pub const UNLIMITED_TTL: Duration = Duration::from_secs(24 * 3600);
/// The time-to-live field counts in units of this.
const TTL_UNIT: Duration = Duration::from_secs(2);

/// What a connection task tells the core.
#[derive(Debug)]
pub enum ToCore {
    /// A client connected; frames for it go to `tx`.
    Connected {
        /// The connection.
        id: ClientId,
        /// Where from.
        peer: SocketAddr,
        /// The connection task's queue.
        tx: mpsc::Sender<ToClient>,
    },
    /// S_BIND_REQUEST.
    Bind {
        /// The connection.
        id: ClientId,
        /// The SAP asked for.
        sap: u8,
        /// The client's rank.
        rank: u8,
        /// Its default service.
        service: ServiceType,
    },
    /// S_UNBIND_REQUEST.
    Unbind {
        /// The connection.
        id: ClientId,
    },
    /// S_UNIDATA_REQUEST or S_EXPEDITED_UNIDATA_REQUEST.
    Unidata {
        /// The connection.
        id: ClientId,
        /// The expedited form.
        expedited: bool,
        /// The request, owned.
        request: Request,
    },
    /// The connection is gone.
    Closed {
        /// The connection.
        id: ClientId,
    },
}

/// An S_UNIDATA_REQUEST's fields, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// Priority 0..=15.
    pub priority: u8,
    /// The destination SAP.
    pub dest_sap: u8,
    /// The destination.
    pub dest: SisAddress,
    /// The service asked for (mode 0: the bind's).
    pub service: ServiceType,
    /// Time-to-live in 2 s units, 0 for no limit.
    pub ttl: u32,
    /// The U_PDU.
    pub data: Vec<u8>,
}

/// What the core gives a connection task.
#[derive(Debug)]
pub enum ToClient {
    /// A framed primitive to write.
    Frame(Vec<u8>),
    /// A framed S_UNIDATA_INDICATION: held while the client has said S_DATAFLOW_OFF.
    Indication(Vec<u8>),
}

/// Binds the server's listening socket.
pub async fn bind(config: &SisServerConfig) -> anyhow::Result<TcpListener> {
    TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("SIS server on {}: {e}", config.listen))
}

/// Accepts clients until the core has gone, one task each, at most `max_connections` at once
/// (more than may bind, so a client can still connect to hear why its bind is refused; a flood
/// of connections costs a closed socket each, not a task).
pub async fn serve(listener: TcpListener, events: mpsc::Sender<ToCore>, max_connections: usize) {
    let permits = Arc::new(Semaphore::new(max_connections));
    let mut next: ClientId = 1;
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(%e, "SIS accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if events.is_closed() {
            return;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            tracing::warn!(%peer, max_connections, "SIS connection refused: too many open");
            continue;
        };
        let id = next;
        next += 1;
        let _ = stream.set_nodelay(true);
        let events = events.clone();
        tokio::spawn(async move {
            connection(id, peer, stream, events).await;
            drop(permit);
        });
    }
}

/// Per-connection state the task keeps.
struct Connection {
    id: ClientId,
    events: mpsc::Sender<ToCore>,
    invalid: u32,
    client_flow_on: bool,
    held: VecDeque<Vec<u8>>,
    replies: Vec<Vec<u8>>,
    /// The node is closing the connection (after an S_UNBIND_INDICATION).
    closing: bool,
}

/// What to do after a primitive from the client.
enum After {
    Continue,
    /// Unbind the client for this reason and close.
    Drop(u8),
    /// The core has gone.
    Stop,
}

async fn connection(
    id: ClientId,
    peer: SocketAddr,
    stream: TcpStream,
    events: mpsc::Sender<ToCore>,
) {
    let (tx, mut rx) = mpsc::channel(TO_CLIENT_CAPACITY);
    if events
        .send(ToCore::Connected { id, peer, tx })
        .await
        .is_err()
    {
        return;
    }
    tracing::info!(client = id, %peer, "SIS client connected");
    let (mut rd, mut wr) = stream.into_split();
    let mut conn = Connection {
        id,
        events: events.clone(),
        invalid: 0,
        client_flow_on: true,
        held: VecDeque::new(),
        replies: Vec::new(),
        closing: false,
    };
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 4096];
    let why = 'conn: loop {
        tokio::select! {
            read = rd.read(&mut chunk) => {
                let n = match read {
                    Ok(0) => break 'conn "closed by the client".to_owned(),
                    Ok(n) => n,
                    Err(e) => break 'conn format!("read: {e}"),
                };
                buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
                loop {
                    let len = match frame_len(&buf) {
                        Ok(None) => break,
                        Ok(Some(len)) if len > MAX_FRAME => {
                            conn.unbind_and_close(&mut wr, unbind::INVALID_PRIMITIVES).await;
                            break 'conn format!("primitive of {len} bytes is over the {MAX_FRAME} limit");
                        }
                        Ok(Some(len)) if buf.len() < len => break,
                        Ok(Some(len)) => len,
                        Err(e) => {
                            // TCP loses nothing: a stream out of step has a broken client.
                            conn.unbind_and_close(&mut wr, unbind::INVALID_PRIMITIVES).await;
                            break 'conn format!("framing: {e}");
                        }
                    };
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    let after = conn.handle(frame.get(HEADER_LEN..).unwrap_or_default()).await;
                    for reply in std::mem::take(&mut conn.replies) {
                        if let Err(e) = wr.write_all(&reply).await {
                            break 'conn format!("write: {e}");
                        }
                    }
                    match after {
                        After::Continue => {}
                        After::Drop(reason) => {
                            conn.unbind_and_close(&mut wr, reason).await;
                            break 'conn "too many invalid primitives".to_owned();
                        }
                        After::Stop => break 'conn "agent stopping".to_owned(),
                    }
                }
            }
            out = rx.recv() => match out {
                Some(ToClient::Frame(f)) => {
                    if let Err(e) = wr.write_all(&f).await {
                        break 'conn format!("write: {e}");
                    }
                }
                Some(ToClient::Indication(f)) if conn.client_flow_on => {
                    if let Err(e) = wr.write_all(&f).await {
                        break 'conn format!("write: {e}");
                    }
                }
                Some(ToClient::Indication(f)) => {
                    if conn.held.len() >= HELD_INDICATIONS {
                        conn.held.pop_front();
                        tracing::warn!(client = id, "indication dropped: the client holds its data flow off");
                    }
                    conn.held.push_back(f);
                }
                None => {
                    let _ = wr.shutdown().await;
                    break 'conn "closed by the node".to_owned();
                }
            },
        }
        if conn.client_flow_on {
            while let Some(f) = conn.held.pop_front() {
                if let Err(e) = wr.write_all(&f).await {
                    break 'conn format!("write: {e}");
                }
            }
        }
    };
    if conn.closing {
        // Read what the client still sends until it closes too (briefly): closing a socket
        // with unread input makes TCP send a reset, which can destroy the S_UNBIND_INDICATION
        // before the client reads it.
        let drain = async { while matches!(rd.read(&mut chunk).await, Ok(n) if n > 0) {} };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    }
    tracing::info!(client = id, %peer, %why, "SIS client gone");
    let _ = events.send(ToCore::Closed { id }).await;
}

impl Connection {
    /// Takes one primitive body from the client.
    async fn handle(&mut self, body: &[u8]) -> After {
        let primitive = match Primitive::parse(body) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(client = self.id, %e, "invalid SIS primitive");
                return self.invalid();
            }
        };
        let to_core = match primitive {
            Primitive::BindRequest { sap, rank, service } => ToCore::Bind {
                id: self.id,
                sap,
                rank,
                service,
            },
            Primitive::UnbindRequest => ToCore::Unbind { id: self.id },
            Primitive::UnidataRequest { expedited, request } => ToCore::Unidata {
                id: self.id,
                expedited,
                request: Request {
                    priority: request.priority,
                    dest_sap: request.dest_sap,
                    dest: request.dest,
                    service: request.service,
                    ttl: request.ttl,
                    data: request.updu.to_vec(),
                },
            },
            Primitive::KeepAlive => {
                self.reply(&Primitive::KeepAlive);
                return After::Continue;
            }
            Primitive::DataflowOn => {
                self.client_flow_on = true;
                return After::Continue;
            }
            Primitive::DataflowOff => {
                self.client_flow_on = false;
                return After::Continue;
            }
            Primitive::HardLink(h) if h.kind == kind::HARD_LINK_ESTABLISH => {
                // Hard links (Annex A's reserved circuits) are not offered: refused at once,
                // naming the link asked for, so the client can fall back to soft links.
                self.reply(&Primitive::HardLink(HardLink {
                    kind: kind::HARD_LINK_REJECTED,
                    code: 0,
                    params: h.params,
                    remote: h.remote,
                }));
                return After::Continue;
            }
            Primitive::Management {
                indication: false,
                message_type,
                ..
            } => {
                tracing::info!(
                    client = self.id,
                    message_type,
                    "SIS management message ignored"
                );
                return After::Continue;
            }
            other => {
                // A node-to-client primitive, or a hard-link answer to a request this node
                // never made.
                tracing::warn!(
                    client = self.id,
                    kind = other.kind(),
                    "SIS primitive out of place"
                );
                return self.invalid();
            }
        };
        if self.events.send(to_core).await.is_err() {
            return After::Stop;
        }
        After::Continue
    }

    fn invalid(&mut self) -> After {
        self.invalid += 1;
        if self.invalid > MAX_INVALID {
            After::Drop(unbind::INVALID_PRIMITIVES)
        } else {
            After::Continue
        }
    }

    fn reply(&mut self, p: &Primitive<'_>) {
        self.replies.extend(encode(p));
    }

    async fn unbind_and_close(&mut self, wr: &mut tokio::net::tcp::OwnedWriteHalf, reason: u8) {
        if let Some(f) = encode(&Primitive::UnbindIndication { reason }) {
            let _ = wr.write_all(&f).await;
        }
        let _ = wr.shutdown().await;
        self.closing = true;
    }
}

/// One connected client, as the hub knows it.
struct Client {
    tx: mpsc::Sender<ToClient>,
    sap: Option<u8>,
    service: ServiceType,
    backlog: usize,
    flow_off: bool,
}

/// An accepted request on its way to a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// Who asked.
    pub client: ClientId,
    /// The expedited form (its answers are expedited too).
    pub expedited: bool,
    /// Priority and SAPs for the S_PDU.
    pub header: SpduHeader,
    /// Where to.
    pub dest: SisAddress,
    /// How.
    pub mode: Mode,
    /// [`confirm`]: none, node or client.
    pub confirm: u8,
    /// When it stops being worth sending, counted from when the request was accepted.
    pub ttd: Instant,
    /// The U_PDU.
    pub data: Vec<u8>,
}

impl Submission {
    /// The link message.
    pub fn message(&self) -> link::Message<'_> {
        link::Message {
            dest: if self.dest.group {
                Address::BROADCAST
            } else {
                self.dest.address
            },
            header: self.header,
            mode: self.mode,
            confirm: self.confirm == confirm::CLIENT,
            ttd: self.ttd,
            data: &self.data,
        }
    }
}

/// The bindings and the answers to clients.
pub struct Hub {
    address: Address,
    node_sap: u8,
    max_clients: usize,
    clients: HashMap<ClientId, Client>,
    available: bool,
}

impl Hub {
    /// A hub for the node at `address`, whose own traffic uses `node_sap`.
    pub fn new(address: Address, node_sap: u8, config: &SisServerConfig) -> Self {
        Hub {
            address,
            node_sap,
            max_clients: config.max_clients,
            clients: HashMap::new(),
            available: false,
        }
    }

    /// The client bound to `sap`, if any.
    pub fn bound(&self, sap: u8) -> Option<ClientId> {
        self.clients
            .iter()
            .find(|(_, c)| c.sap == Some(sap))
            .map(|(id, _)| *id)
    }

    fn send(&self, id: ClientId, out: ToClient) {
        let Some(c) = self.clients.get(&id) else {
            return;
        };
        if let Err(e) = c.tx.try_send(out) {
            // A client that does not read is not allowed to hold up the node.
            tracing::warn!(client = id, %e, "SIS primitive for a client dropped");
        }
    }

    fn send_primitive(&self, id: ClientId, p: &Primitive<'_>) {
        if let Some(f) = encode(p) {
            self.send(id, ToClient::Frame(f));
        }
    }

    /// Takes one event from a connection at `now`; returns a request accepted for a link.
    pub fn handle(&mut self, event: ToCore, now: Instant) -> Option<Submission> {
        match event {
            ToCore::Connected { id, tx, .. } => {
                self.clients.insert(
                    id,
                    Client {
                        tx,
                        sap: None,
                        service: ServiceType::default(),
                        backlog: 0,
                        flow_off: false,
                    },
                );
                None
            }
            ToCore::Closed { id } => {
                self.clients.remove(&id);
                None
            }
            ToCore::Bind {
                id, sap, service, ..
            } => {
                self.bind(id, sap, service);
                None
            }
            ToCore::Unbind { id } => {
                if let Some(c) = self.clients.get_mut(&id) {
                    tracing::info!(client = id, sap = ?c.sap, "SIS client unbound");
                    c.sap = None;
                }
                None
            }
            ToCore::Unidata {
                id,
                expedited,
                request,
            } => self.unidata(id, expedited, request, now),
        }
    }

    fn bind(&mut self, id: ClientId, sap: u8, service: ServiceType) {
        let bound = self.clients.values().filter(|c| c.sap.is_some()).count();
        let reason = match self.clients.get(&id) {
            None => return,
            Some(c) if c.sap == Some(sap) => Some(bind_rejected::SAP_IN_USE),
            // One SAP per connection: a second bind needs an unbind first.
            Some(c) if c.sap.is_some() => Some(bind_rejected::NOT_ENOUGH_RESOURCES),
            Some(_) if sap == self.node_sap => Some(bind_rejected::INVALID_SAP),
            Some(_) if self.bound(sap).is_some() => Some(bind_rejected::SAP_IN_USE),
            Some(_) if bound >= self.max_clients => Some(bind_rejected::NOT_ENOUGH_RESOURCES),
            Some(_) => None,
        };
        if let Some(reason) = reason {
            tracing::info!(client = id, sap, reason, "SIS bind rejected");
            self.send_primitive(id, &Primitive::BindRejected { reason });
            return;
        }
        if let Some(c) = self.clients.get_mut(&id) {
            c.sap = Some(sap);
            c.service = service;
        }
        tracing::info!(client = id, sap, "SIS client bound");
        let mtu = MAX_UPDU_LEN as u16;
        self.send_primitive(id, &Primitive::BindAccepted { sap, mtu });
        self.send_primitive(id, &self.availability());
    }

    fn availability(&self) -> Primitive<'static> {
        Primitive::SubnetAvailability {
            status: if self.available {
                availability::ON
            } else {
                availability::OFF
            },
            reason: availability::REASON_UNKNOWN,
        }
    }

    /// Tells every bound client whether the subnetwork is up (any link's bearer is).
    pub fn set_available(&mut self, up: bool) {
        if up == self.available {
            return;
        }
        self.available = up;
        let p = self.availability();
        let bound: Vec<ClientId> = self
            .clients
            .iter()
            .filter(|(_, c)| c.sap.is_some())
            .map(|(id, _)| *id)
            .collect();
        for id in bound {
            self.send_primitive(id, &p);
        }
    }

    fn unidata(
        &mut self,
        id: ClientId,
        expedited: bool,
        r: Request,
        now: Instant,
    ) -> Option<Submission> {
        let c = self.clients.get(&id)?;
        let refuse = |hub: &Self, reason: u8| {
            hub.reject(id, expedited, reason, r.dest_sap, r.dest, &r.data);
            None
        };
        let Some(src_sap) = c.sap else {
            // Data from a client that holds no SAP has no source to come from.
            return refuse(self, rejected::UNKNOWN);
        };
        if r.data.len() > MAX_UPDU_LEN {
            return refuse(self, rejected::TOO_LARGE);
        }
        let service = if r.service.tx_mode == tx_mode::DEFAULT {
            c.service
        } else {
            r.service
        };
        let repeats = service.min_retransmissions.saturating_add(1);
        let mode = match (service.tx_mode, expedited) {
            (tx_mode::ARQ, false) => Mode::Arq {
                in_order: service.in_order,
            },
            (tx_mode::ARQ, true) => Mode::ExpeditedArq,
            // Non-ARQ with errors is carried as plain non-ARQ: this node delivers only
            // U_PDUs that arrived whole.
            (tx_mode::NON_ARQ | tx_mode::NON_ARQ_WITH_ERRORS, false) => Mode::NonArq { repeats },
            (tx_mode::NON_ARQ | tx_mode::NON_ARQ_WITH_ERRORS, true) => {
                Mode::ExpeditedNonArq { repeats }
            }
            _ => return refuse(self, rejected::MODE_NOT_SPECIFIED),
        };
        let arq = matches!(mode, Mode::Arq { .. } | Mode::ExpeditedArq);
        if arq && r.dest.group {
            // ARQ needs one peer to acknowledge; a group has many.
            return refuse(self, rejected::MODE_NOT_SPECIFIED);
        }
        if c.backlog >= BACKLOG_MAX {
            return refuse(self, rejected::UNKNOWN);
        }
        let header = SpduHeader {
            priority: if expedited { 15 } else { r.priority },
            src_sap,
            dest_sap: r.dest_sap,
        };
        let confirm = if arq { service.confirm } else { confirm::NONE };
        if !r.dest.group && r.dest.address == self.address {
            self.deliver_locally(id, expedited, header, confirm, &r);
            return None;
        }
        let ttl = if r.ttl == 0 {
            UNLIMITED_TTL
        } else {
            TTL_UNIT * r.ttl
        };
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.adjust_backlog(id, true);
        Some(Submission {
            client: id,
            expedited,
            header,
            dest: r.dest,
            mode,
            confirm,
            ttd: now + skywave_protocol::time::Duration::from_millis(ttl_ms),
            data: r.data,
        })
    }

    /// A request addressed to this node: straight to the client bound to its SAP.
    fn deliver_locally(
        &self,
        id: ClientId,
        expedited: bool,
        header: SpduHeader,
        confirm: u8,
        r: &Request,
    ) {
        let service = if expedited {
            link::Service::ExpeditedArq
        } else {
            link::Service::Arq
        };
        if header.dest_sap == self.node_sap
            || !self.indicate(self.address, service, header, &r.data)
        {
            self.reject(
                id,
                expedited,
                rejected::SAP_NOT_BOUND,
                r.dest_sap,
                r.dest,
                &r.data,
            );
        } else if confirm != confirm::NONE {
            self.confirm(id, expedited, r.dest_sap, r.dest, &r.data);
        }
    }

    /// Counts a request into (`up`) or out of a client's backlog, turning its data flow off
    /// and on at the water marks.
    pub fn adjust_backlog(&mut self, id: ClientId, up: bool) {
        let Some(c) = self.clients.get_mut(&id) else {
            return;
        };
        c.backlog = if up {
            c.backlog + 1
        } else {
            c.backlog.saturating_sub(1)
        };
        let change = if !c.flow_off && c.backlog >= BACKLOG_OFF {
            c.flow_off = true;
            Some(Primitive::DataflowOff)
        } else if c.flow_off && c.backlog <= BACKLOG_ON {
            c.flow_off = false;
            Some(Primitive::DataflowOn)
        } else {
            None
        };
        if let Some(p) = change {
            tracing::info!(
                client = id,
                backlog = c.backlog,
                kind = p.kind(),
                "SIS data flow"
            );
            self.send_primitive(id, &p);
        }
    }

    /// S_UNIDATA_REQUEST_CONFIRM (or expedited) to client `id`.
    pub fn confirm(&self, id: ClientId, expedited: bool, sap: u8, dest: SisAddress, data: &[u8]) {
        let report = UnidataReport {
            reason: 0,
            sap,
            dest,
            updu: data,
        };
        self.send_primitive(id, &Primitive::UnidataConfirm { expedited, report });
    }

    /// S_UNIDATA_REQUEST_REJECTED (or expedited) to client `id`, returning the U_PDU.
    pub fn reject(
        &self,
        id: ClientId,
        expedited: bool,
        reason: u8,
        sap: u8,
        dest: SisAddress,
        data: &[u8],
    ) {
        tracing::info!(client = id, reason, sap, "SIS request rejected");
        let report = UnidataReport {
            reason,
            sap,
            dest,
            updu: data,
        };
        self.send_primitive(id, &Primitive::UnidataRejected { expedited, report });
    }

    /// Hands a received U_PDU to the client bound to its destination SAP; false if none is.
    pub fn indicate(
        &self,
        src: Address,
        service: link::Service,
        header: SpduHeader,
        data: &[u8],
    ) -> bool {
        let Some(id) = self.bound(header.dest_sap) else {
            return false;
        };
        let (expedited, mode) = match service {
            link::Service::Arq => (false, tx_mode::ARQ),
            link::Service::ExpeditedArq => (true, tx_mode::ARQ),
            link::Service::NonArq => (false, tx_mode::NON_ARQ),
            link::Service::ExpeditedNonArq => (true, tx_mode::NON_ARQ),
        };
        let indication = UnidataIndication {
            priority: if expedited { 0 } else { header.priority },
            dest_sap: header.dest_sap,
            dest: SisAddress::node(self.address),
            tx_mode: mode,
            src_sap: header.src_sap,
            src: SisAddress::node(src),
            blocks: &[],
            updu: data,
        };
        let p = Primitive::UnidataIndication {
            expedited,
            indication,
        };
        if let Some(f) = encode(&p) {
            self.send(id, ToClient::Indication(f));
        }
        true
    }
}

/// A request handed to a link, waiting for its outcome.
#[derive(Debug)]
struct Tracked {
    client: ClientId,
    expedited: bool,
    confirm: u8,
    sap: u8,
    dest: SisAddress,
    data: Vec<u8>,
}

/// Accepted requests waiting for link room, and those on links waiting for their outcome.
#[derive(Default)]
pub struct ClientQueue {
    backlog: VecDeque<Submission>,
    tracked: HashMap<(usize, MessageId), Tracked>,
}

impl ClientQueue {
    /// Queues an accepted request.
    pub fn push(&mut self, s: Submission) {
        self.backlog.push_back(s);
    }

    /// Forgets a departed client's requests: those waiting are not sent (nobody would hear
    /// the outcome, and a 5066 client takes a lost connection as "in doubt"), and those on
    /// links no longer wait for an answer.
    pub fn forget(&mut self, client: ClientId) {
        self.backlog.retain(|s| s.client != client);
        self.tracked.retain(|_, t| t.client != client);
    }

    /// The oldest request waiting for room.
    pub fn front(&self) -> Option<&Submission> {
        self.backlog.front()
    }

    /// Takes the oldest request, to submit it.
    pub fn pop(&mut self, hub: &mut Hub) -> Option<Submission> {
        let s = self.backlog.pop_front()?;
        hub.adjust_backlog(s.client, false);
        Some(s)
    }

    /// Records what link `index` made of `s`: its message to watch, or a rejection.
    pub fn submitted(
        &mut self,
        hub: &Hub,
        index: usize,
        s: Submission,
        result: Result<MessageId, link::SubmitError>,
    ) {
        match result {
            Ok(id) => {
                self.tracked.insert(
                    (index, id),
                    Tracked {
                        client: s.client,
                        expedited: s.expedited,
                        confirm: s.confirm,
                        sap: s.header.dest_sap,
                        dest: s.dest,
                        data: s.data,
                    },
                );
            }
            Err(e) => {
                let reason = match e {
                    link::SubmitError::TooLarge => rejected::TOO_LARGE,
                    link::SubmitError::Expired => rejected::TTL_EXPIRED,
                    _ => rejected::UNKNOWN,
                };
                tracing::info!(client = s.client, %e, "SIS request refused by the link");
                let sap = s.header.dest_sap;
                hub.reject(s.client, s.expedited, reason, sap, s.dest, &s.data);
            }
        }
    }

    /// Turns a link event about a client's message into its answer. Returns whether the event
    /// was about one.
    pub fn outcome(&mut self, hub: &Hub, index: usize, event: &LinkEvent<'_>) -> bool {
        match *event {
            LinkEvent::Delivered(id) => {
                let key = (index, id);
                match self.tracked.get(&key) {
                    Some(t) if t.confirm == confirm::NODE => {
                        hub.confirm(t.client, t.expedited, t.sap, t.dest, &t.data);
                        self.tracked.remove(&key);
                    }
                    // A client confirmation is still to come.
                    Some(t) if t.confirm == confirm::CLIENT => {}
                    Some(_) => {
                        self.tracked.remove(&key);
                    }
                    None => return false,
                }
                true
            }
            LinkEvent::Sent(id) => self.tracked.remove(&(index, id)).is_some(),
            LinkEvent::Failed(id, _) => match self.tracked.remove(&(index, id)) {
                Some(t) => {
                    let reason = rejected::TTL_EXPIRED;
                    hub.reject(t.client, t.expedited, reason, t.sap, t.dest, &t.data);
                    true
                }
                None => false,
            },
            LinkEvent::Confirmed { from, header, echo } => {
                // The confirming client answers from the SAP the request went to.
                let key = self
                    .tracked
                    .iter()
                    .filter(|((i, _), t)| {
                        *i == index
                            && t.confirm == confirm::CLIENT
                            && t.dest.address == from
                            && t.sap == header.src_sap
                            && t.data.starts_with(echo)
                    })
                    .map(|(k, _)| *k)
                    .min();
                match key.and_then(|k| self.tracked.remove(&k)) {
                    Some(t) => {
                        hub.confirm(t.client, t.expedited, t.sap, t.dest, &t.data);
                        true
                    }
                    None => false,
                }
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
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
}
