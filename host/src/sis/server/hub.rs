//! The [`Hub`]: the core's view of the SIS clients: bindings, the checks on each
//! S_UNIDATA_REQUEST and its answer, received U_PDUs handed to the client bound to their SAP,
//! and flow control as a client's backlog fills and drains.

use super::{
    Address, BACKLOG_MAX, BACKLOG_OFF, BACKLOG_ON, ClientId, HashMap, Instant, MAX_UPDU_LEN, Mode,
    Primitive, Request, ServiceType, SisAddress, SisServerConfig, SpduHeader, TTL_UNIT, ToClient,
    ToCore, UNLIMITED_TTL, UnidataIndication, UnidataReport, availability, bind_rejected, confirm,
    encode, link, mpsc, rejected, tx_mode,
};
use crate::store::QueueId;

/// One connected client, as the hub knows it.
pub(super) struct Client {
    tx: mpsc::Sender<ToClient>,
    sap: Option<u8>,
    service: ServiceType,
    pub(super) backlog: usize,
    flow_off: bool,
}

/// An accepted request on its way to a link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    /// Who asked: `None` once that client left (a stored request's outcome then goes to the
    /// next client of its SAP).
    pub client: Option<ClientId>,
    /// Its row in the store's `outbound` table, for a request kept across restarts (ARQ
    /// with client confirmation).
    pub stored: Option<QueueId>,
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
    confirm_wait: std::time::Duration,
    pub(super) clients: HashMap<ClientId, Client>,
    available: bool,
}

impl Hub {
    /// A hub for the node at `address`, whose own traffic uses `node_sap`.
    pub fn new(address: Address, node_sap: u8, config: &SisServerConfig) -> Self {
        Hub {
            address,
            node_sap,
            max_clients: config.max_clients,
            confirm_wait: std::time::Duration::from_secs(config.confirm_wait_s),
            clients: HashMap::new(),
            available: false,
        }
    }

    /// The SAPs held by clients, and the node's own, as a bit set (bit n for SAP n): what the
    /// links deliver to and confirm for.
    pub fn bound_saps(&self) -> u16 {
        self.clients
            .values()
            .filter_map(|c| c.sap)
            .fold(1 << self.node_sap, |saps, sap| saps | 1 << sap)
    }

    /// The SAP client `id` holds, if any.
    pub fn sap_of(&self, id: ClientId) -> Option<u8> {
        self.clients.get(&id).and_then(|c| c.sap)
    }

    /// How long a stored request waits for the far client's confirmation after the far node
    /// acknowledged it ([`ClientQueue`](super::ClientQueue)).
    pub fn confirm_wait(&self) -> std::time::Duration {
        self.confirm_wait
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
        if r.dest_sap == self.node_sap {
            // Skywave's own SAP takes node messages only, on every Skywave node: a client's
            // U_PDU there would reach the far node's message parser. Nobody may bind it, so
            // to a client it is a SAP with no client bound.
            return refuse(self, rejected::SAP_NOT_BOUND);
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
        // Non-ARQ cannot learn whether anything arrived: a request asking for confirmation is
        // confirmed once every repeat has been sent (the most this node can say), so the
        // client is never left without an answer.
        let confirm = service.confirm;
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
            client: Some(id),
            stored: None,
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
