//! The agent's core: one task that drives the protocol's state machines.
//!
//! Every protocol decision is made by `skywave-protocol`: a [`HostLink`] per link (ARQ, turns,
//! CAS) and one [`Node`] for the whole agent (admission, inventory sync, forwarding, the
//! fan-out rule). This task only feeds them what the bearers, the clock and the operator bring,
//! and carries out what they ask: D_PDUs to the bearers, U_PDUs from the node to the link that
//! reaches their destination. Keeping all protocol state in one task (the bearers' I/O runs in
//! their own tasks) means no locks around it and the same call order as in the simulator.
//!
//! The node is driven as a `protocol::station::Station` drives it, through one [`Feed`] per
//! link: each link is one of the node's channels, its configured neighbours come up on it when
//! its bearer does, the node's messages for it are pulled while it has room (a broadcast when
//! the fan-out rule says so), what it hears non-ARQ is handed to the node as heard by the whole
//! channel, and its reports that a non-ARQ node message went out arm the node's checking
//! SUMMARY. On top of that the agent packs runs of ARQ artifacts to a neighbour that reads
//! batches (CAPS) into compressed BATCH U_PDUs, and unpacks those it receives.
//!
//! A link through another 5066 node (a `sis` bearer) has a SIS carrier where an HF link has its
//! [`HostLink`] ([`Carrier`]); SIS client applications' requests (when the agent serves SIS)
//! come in from the server's connections and go to the same links, through the same room
//! check, as the node's own messages.

use std::collections::BTreeMap;
use std::time::SystemTime;

use bytes::Bytes;
use skywave_protocol::link::{self, Event as LinkEvent, HostLink, MAX_UPDU_LEN};
use skywave_protocol::node::{Heard, MAX_NEIGHBOURS, Node, NodeEvent, Storage};
use skywave_protocol::policy::{Kind, Label, UnixTime};
use skywave_protocol::station::{Feed, Owner};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{Address, MAX_DPDU_LEN};
use tokio::sync::mpsc;

use super::config::{AgentConfig, BearerConfig, LinkConfig};
use super::control::{
    Command, DomainStatus, LinkStatus, NeighbourStatus, Reply, Request, StatusReport,
};
use crate::bearer::{BearerEvent, BearerSender};
use crate::compress;
use crate::frames::PcapWriter;
use crate::sis::carrier::{Carrier, SisCarrier};
use crate::sis::server::{ClientQueue, Hub, ToCore};
use crate::store::{ArtifactStore, Store};
use skywave_protocol::capture::Timestamp;

/// One link as the core sees it.
struct AgentLink {
    name: String,
    link: Carrier,
    bearer: BearerSender,
    /// The link as one of the node's channels: its neighbours and the node messages in it.
    feed: Feed,
    bearer_up: bool,
    bearer_state: String,
    frames_in: u64,
    frames_damaged: u64,
    noise_bytes: u64,
    bad_headers: u64,
    frames_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    last_heard: Vec<(Address, Instant)>,
    capture: Option<Capture>,
    caps: CapsAnnouncements,
}

/// Which neighbours on one link have our CAPS, so it goes to each once per life rather than at
/// every physical link: at 75 bit/s a CAPS and its acknowledgements are seconds of air, and
/// the reply they draw changes how a link's turns go.
#[derive(Default)]
struct CapsAnnouncements {
    /// Announcements queued on the link and not yet acknowledged.
    pending: Vec<(link::MessageId, Address)>,
    /// Neighbours whose link acknowledged our CAPS since their ARQ state was last reset.
    delivered: Vec<Address>,
}

impl CapsAnnouncements {
    /// Whether `dest` should be sent CAPS now: neither has it nor has one on the way.
    fn wanted(&self, dest: Address) -> bool {
        !self.delivered.contains(&dest) && !self.pending.iter().any(|&(_, d)| d == dest)
    }

    /// Notes the outcome of message `id`; says whether it was a CAPS announcement.
    fn settle(&mut self, id: link::MessageId, delivered: bool) -> bool {
        let Some(at) = self.pending.iter().position(|&(p, _)| p == id) else {
            return false;
        };
        let (_, dest) = self.pending.swap_remove(at);
        if delivered && !self.delivered.contains(&dest) {
            self.delivered.push(dest);
        }
        true
    }

    /// `peer`'s ARQ state was reset: it may have restarted and forgotten what we told it.
    fn forget(&mut self, peer: Address) {
        self.delivered.retain(|&d| d != peer);
    }
}

/// A live capture of one link's D_PDUs, both directions, until a deadline.
struct Capture {
    pcap: PcapWriter,
    until: tokio::time::Instant,
}

/// The capture timestamp for a frame seen now.
fn capture_time() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: since.as_secs() as u32,
        micros: since.subsec_micros(),
    }
}

impl AgentLink {
    /// Writes `frame` to the link's capture, if one is running; stops it at its deadline or on
    /// a write error.
    fn capture(&mut self, frame: &[u8]) {
        let Some(c) = &mut self.capture else {
            return;
        };
        if tokio::time::Instant::now() >= c.until {
            self.stop_capture();
            return;
        }
        // Flushed frame by frame: at HF rates that costs nothing, and a capture is readable
        // while it runs and complete even if the agent is killed.
        if let Err(e) = c
            .pcap
            .write(capture_time(), frame)
            .and_then(|()| c.pcap.flush())
        {
            tracing::error!(link = %self.name, %e, "capture stopped");
            self.capture = None;
        }
    }

    fn stop_capture(&mut self) {
        if let Some(mut c) = self.capture.take() {
            let flushed = c.pcap.flush();
            tracing::info!(link = %self.name, frames = c.pcap.records(), ok = flushed.is_ok(), "capture finished");
        }
    }
}

/// The agent's protocol state and the handles it drives.
pub struct Core {
    address: Address,
    sap: u8,
    node: Box<Node<ArtifactStore>>,
    store: Store,
    links: Vec<AgentLink>,
    epoch: tokio::time::Instant,
    /// Neighbours that announced they read compressed batches (CAPS).
    batch_readers: Vec<Address>,
    /// Artifacts refused since start, by the refusal's kind.
    refused: std::collections::BTreeMap<String, u64>,
    /// The SIS server's state, when the agent serves 5066 client applications.
    sis: Option<Sis>,
}

/// The SIS server as the core holds it: bindings, requests waiting for link room and for
/// their outcome, and the connections' events (taken by [`Core::run`]).
struct Sis {
    hub: Hub,
    queue: ClientQueue,
    events: Option<mpsc::Receiver<ToCore>>,
}

/// A node message on its way to a link, owned so several can be batched.
struct Pending {
    dest: Address,
    header: link::SpduHeader,
    mode: link::Mode,
    ttd: Instant,
    data: Vec<u8>,
}

impl Pending {
    fn message(&self) -> link::Message<'_> {
        link::Message {
            dest: self.dest,
            header: self.header,
            mode: self.mode,
            confirm: false,
            ttd: self.ttd,
            data: &self.data,
        }
    }
}

/// How long a CAPS announcement is worth sending.
const CAPS_TTD: std::time::Duration = std::time::Duration::from_secs(600);

/// Wall-clock time for the policy engine: the laptop has a clock.
pub fn wall_time() -> Option<UnixTime> {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .map(|d| UnixTime(d.as_secs()))
}

impl Core {
    /// A core for `config`, deciding with `node`, sending through `bearers` (one per link, in
    /// the order of `config.links`).
    pub fn new(
        config: &AgentConfig,
        node: Box<Node<ArtifactStore>>,
        store: Store,
        bearers: Vec<BearerSender>,
    ) -> anyhow::Result<Self> {
        let mut links = Vec::new();
        for ((index, cfg), bearer) in (0u8..).zip(&config.links).zip(bearers) {
            links.push(Self::make_link(
                config.address,
                config.sap,
                index,
                cfg,
                bearer,
            )?);
        }
        let mut neighbours: Vec<Address> = config
            .links
            .iter()
            .flat_map(|l| l.neighbours.iter().copied())
            .collect();
        neighbours.sort_unstable_by_key(|a| a.value());
        neighbours.dedup();
        if neighbours.len() > MAX_NEIGHBOURS {
            anyhow::bail!("more than {MAX_NEIGHBOURS} neighbours configured");
        }
        let mut core = Core {
            address: config.address,
            sap: config.sap,
            node,
            store,
            links,
            epoch: tokio::time::Instant::now(),
            batch_readers: Vec::new(),
            refused: Default::default(),
            sis: None,
        };
        // The neighbours come up for the node, each on its link's channel, when the link's
        // bearer does (`BearerEvent::Up`), as a station's do at `link_up`.
        for index in 0..core.links.len() {
            core.announce_caps(index);
        }
        Ok(core)
    }

    fn make_link(
        address: Address,
        sap: u8,
        channel: u8,
        cfg: &LinkConfig,
        bearer: BearerSender,
    ) -> anyhow::Result<AgentLink> {
        let link_config = link::Config {
            first_cpdu_id: first_cpdu_id(),
            ..link::Config::new(address, cfg.modem)
        };
        let mut link = match cfg.bearer {
            BearerConfig::Sis(_) => Carrier::Sis(Box::new(SisCarrier::new(sap))),
            _ => Carrier::Hf(Box::new(
                HostLink::new(link_config)
                    .map_err(|e| anyhow::anyhow!("link {}: {e}", cfg.name))?,
            )),
        };
        // Only the node's own SAP has a client until SIS clients bind (Annex A: data for
        // the others is delivered to nobody, and a confirmation request is answered FAIL).
        link.set_bound_saps(1 << sap);
        Ok(AgentLink {
            name: cfg.name.clone(),
            link,
            bearer,
            feed: Feed::new(channel, &cfg.neighbours)
                .map_err(|_| anyhow::anyhow!("link {}: too many neighbours", cfg.name))?,
            bearer_up: false,
            bearer_state: "opening".into(),
            frames_in: 0,
            frames_damaged: 0,
            noise_bytes: 0,
            bad_headers: 0,
            frames_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            last_heard: Vec::new(),
            capture: None,
            caps: CapsAnnouncements::default(),
        })
    }

    /// Tells the neighbours on link `index` that this agent reads compressed batches.
    fn announce_caps(&mut self, index: usize) {
        let neighbours = self
            .links
            .get(index)
            .map(|l| l.feed.neighbours().to_vec())
            .unwrap_or_default();
        self.announce_caps_to(index, &neighbours);
    }

    /// Tells `dests`, on link `index`, that this agent reads compressed batches.
    fn announce_caps_to(&mut self, index: usize, dests: &[Address]) {
        let now = self.now();
        let ttd = now + Duration::from_millis(CAPS_TTD.as_millis() as u64);
        let sap = self.sap;
        let Some(l) = self.links.get_mut(index) else {
            return;
        };
        let caps = compress::caps();
        for &dest in dests {
            if !l.caps.wanted(dest) {
                continue;
            }
            let message = link::Message {
                dest,
                header: link::SpduHeader {
                    priority: CAPS_PRIORITY,
                    src_sap: sap,
                    dest_sap: sap,
                },
                mode: link::Mode::Arq { in_order: false },
                confirm: false,
                ttd,
                data: &caps,
            };
            match l.link.submit(now, &message) {
                Ok(id) => l.caps.pending.push((id, dest)),
                Err(e) => tracing::warn!(link = %l.name, %dest, %e, "CAPS not queued"),
            }
        }
    }

    /// Protocol time: milliseconds since the agent started.
    pub fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// When the state machines next need [`Core::handle_timeout`].
    pub fn next_deadline(&self) -> Option<tokio::time::Instant> {
        let links = self.links.iter().filter_map(|l| l.link.poll_timeout());
        let protocol = links.chain(self.node.poll_timeout()).min();
        let protocol = protocol.map(|t| self.epoch + std::time::Duration::from_millis(t.millis()));
        let captures = self
            .links
            .iter()
            .filter_map(|l| l.capture.as_ref().map(|c| c.until));
        protocol.into_iter().chain(captures).min()
    }

    /// Lets every state machine act on the passage of time.
    pub async fn handle_timeout(&mut self) {
        let now = self.now();
        let wall_now = tokio::time::Instant::now();
        for l in &mut self.links {
            l.link.handle_timeout(now);
            if l.capture.as_ref().is_some_and(|c| wall_now >= c.until) {
                l.stop_capture();
            }
        }
        self.node.handle_timeout(now);
        self.pump().await;
    }

    /// Feeds what bearer `index` reported.
    pub async fn handle_bearer(&mut self, index: usize, event: BearerEvent) {
        let now = self.now();
        let Some(l) = self.links.get_mut(index) else {
            return;
        };
        match event {
            BearerEvent::Frame(frame) => {
                l.frames_in += 1;
                l.bytes_in += frame.len() as u64;
                l.capture(&frame);
                if let Err(e) = l.link.handle_input(now, &frame) {
                    tracing::debug!(link = %l.name, %e, "frame not used");
                }
            }
            BearerEvent::Damaged(frame) => {
                l.frames_damaged += 1;
                l.capture(&frame);
                // The header is sound: the link may still use it (acknowledgements, EOT).
                let _ = l.link.handle_input(now, &frame);
            }
            BearerEvent::Noise { bytes, bad_headers } => {
                l.noise_bytes += bytes;
                l.bad_headers += bad_headers;
            }
            BearerEvent::Up => {
                tracing::info!(link = %l.name, "bearer up");
                l.bearer_up = true;
                l.bearer_state = "up".into();
                // Checked in `Core::new`: the node tracks every configured neighbour.
                let _ = l.feed.link_up(&mut *self.node, now);
                self.announce_caps(index);
                self.sis_availability();
            }
            BearerEvent::Down { reason, retry_in } => {
                tracing::warn!(link = %l.name, %reason, ?retry_in, "bearer down");
                l.bearer_up = false;
                l.bearer_state = format!("down: {reason}");
                l.link.connection_lost();
                l.feed.link_down(&mut *self.node);
                self.sis_availability();
            }
        }
        self.pump().await;
    }

    /// Answers one operator request.
    pub async fn handle_request(&mut self, request: Request) {
        let reply = match request.command {
            Command::Status => Reply::Status(self.status()),
            Command::Capture {
                link,
                path,
                seconds,
            } => self.start_capture(&link, &path, seconds),
            Command::Publish { artifact } => {
                let now = self.now();
                let published = self.node.publish(now, wall_time(), &artifact);
                crate::evidence::persist(&mut self.node, &self.store);
                match published {
                    // Admitted but not kept (a full disk): the node cannot forward what it
                    // does not store, so the operator must hear it was not taken on.
                    Ok(admitted)
                        if self
                            .node
                            .storage()
                            .position(&admitted.artifact.digest)
                            .is_none() =>
                    {
                        let why = self
                            .node
                            .storage()
                            .last_error()
                            .map_or("storage failed".to_owned(), ToString::to_string);
                        Reply::Error {
                            message: format!(
                                "not stored ({why}): it will not be forwarded and counts for \
                                 this node's decisions only until restart; free space and \
                                 publish again"
                            ),
                        }
                    }
                    Ok(admitted) => Reply::Admitted {
                        artifact: (&admitted.artifact).into(),
                        duplicate: admitted.duplicate,
                    },
                    Err(refusal) => Reply::Refused {
                        refusal: refusal.to_string(),
                    },
                }
            }
            Command::Policies => Reply::Policies {
                artifacts: (0..self.node.storage().len())
                    .filter_map(|i| self.node.storage().get(i).map(|(a, _)| (&a).into()))
                    .collect(),
            },
            Command::Decide {
                label,
                categories,
                audience,
            } => {
                let label = Label {
                    domain: label.domain,
                    policy: label.policy,
                    classification: label.classification,
                    categories: &categories,
                };
                let decision = self.node.decide(&label, audience, wall_time());
                // A decision counts only once it is in the log on disk: an operator never acts
                // on one a reviewer could not find later.
                match self.store.append_decision(&decision, SystemTime::now()) {
                    Ok(anchor) => Reply::Decision {
                        decision: Box::new((&decision).into()),
                        log_index: anchor.count - 1,
                    },
                    Err(e) => Reply::Error {
                        message: format!("decision not logged, so not given: {e}"),
                    },
                }
            }
        };
        let _ = request.reply.send(reply);
        self.pump().await;
    }

    fn start_capture(&mut self, link: &str, path: &std::path::Path, seconds: u64) -> Reply {
        let Some(l) = self.links.iter_mut().find(|l| l.name == link) else {
            let names: Vec<&str> = self.links.iter().map(|l| l.name.as_str()).collect();
            return Reply::Error {
                message: format!("no link named {link:?} (links: {})", names.join(", ")),
            };
        };
        if !l.link.is_hf() {
            // Its frames are SIS primitives on TCP, not D_PDUs: link type 237 would lie.
            return Reply::Error {
                message: format!(
                    "link {link:?} goes through a 5066 node over SIS: capture its TCP port with tshark instead"
                ),
            };
        }
        match PcapWriter::create(path) {
            Ok(pcap) => {
                l.stop_capture();
                let Some(until) = tokio::time::Instant::now().checked_add(
                    std::time::Duration::from_secs(seconds.min(MAX_CAPTURE_SECS)),
                ) else {
                    return Reply::Error {
                        message: format!("capture of {seconds} s is too long"),
                    };
                };
                l.capture = Some(Capture { pcap, until });
                tracing::info!(link, path = %path.display(), seconds, "capture started");
                Reply::Capturing {
                    link: link.to_owned(),
                    path: path.display().to_string(),
                    seconds,
                }
            }
            Err(e) => Reply::Error {
                message: format!("{e:#}"),
            },
        }
    }

    fn status(&self) -> StatusReport {
        let now = self.now();
        StatusReport {
            address: self.address.to_string(),
            sap: self.sap,
            artifacts: self.node.storage().len(),
            revocation: self.node.trust().revocation_seqs().collect(),
            queued_messages: self.node.queued(),
            decisions_logged: self.store.decision_anchor().map_or(0, |a| a.count),
            refused: self.refused.clone(),
            domains: self.domains(),
            links: self
                .links
                .iter()
                .map(|l| LinkStatus {
                    name: l.name.clone(),
                    bearer: l.bearer_state.clone(),
                    physical_link: l.link.peer().map(|p| p.to_string()),
                    queued: l.link.queued(),
                    queue_capacity: l.link.capacity(),
                    retransmissions: match &l.link {
                        Carrier::Hf(link) => Some(link.stats().retransmissions),
                        Carrier::Sis(_) => None,
                    },
                    queued_by_priority: (0u8..)
                        .zip(l.link.queued_by_priority())
                        .filter(|&(_, n)| n > 0)
                        .collect(),
                    frames_in: l.frames_in,
                    frames_damaged: l.frames_damaged,
                    noise_bytes: l.noise_bytes,
                    bad_headers: l.bad_headers,
                    frames_out: l.frames_out,
                    bytes_in: l.bytes_in,
                    bytes_out: l.bytes_out,
                    neighbours: l
                        .feed
                        .neighbours()
                        .iter()
                        .map(|n| NeighbourStatus {
                            address: n.to_string(),
                            last_heard_s: l
                                .last_heard
                                .iter()
                                .find(|(a, _)| a == n)
                                .map(|(_, t)| (now - *t).millis() as f64 / 1000.0),
                            reads_batches: self.batch_readers.contains(n),
                            has_our_caps: l.caps.delivered.contains(n),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// What the node holds, per domain, for `skywave status`.
    fn domains(&self) -> BTreeMap<String, DomainStatus> {
        let mut domains: BTreeMap<String, DomainStatus> = BTreeMap::new();
        let storage = self.node.storage();
        for (artifact, _) in (0..storage.len()).filter_map(|i| storage.get(i)) {
            let domain = domains.entry(artifact.domain.to_string()).or_default();
            let highest = |versions: &mut BTreeMap<u32, u64>| {
                let held = versions.entry(artifact.id).or_default();
                *held = (*held).max(artifact.version);
            };
            match artifact.kind {
                Kind::Credential => domain.credentials += 1,
                Kind::Policy | Kind::PolicyDelta => highest(&mut domain.policies),
                Kind::Translator => highest(&mut domain.translators),
                Kind::Revocation | Kind::Checkpoint => {}
            }
        }
        for (domain, seq) in self.node.trust().revocation_seqs() {
            domains
                .entry(domain.to_string())
                .or_default()
                .revocation_seq = seq;
        }
        domains
    }

    /// Moves everything the state machines have to give until none has more.
    async fn pump(&mut self) {
        // Big enough for a D_PDU, or for an S_UNIDATA_REQUEST on a link through a 5066 node.
        let mut dpdu = vec![0u8; MAX_DPDU_LEN.max(crate::sis::MAX_FRAME)];
        let mut updu = vec![0u8; MAX_UPDU_LEN];
        loop {
            let now = self.now();
            let mut progress = false;
            let mut caps_due = Vec::new();
            for (index, l) in self.links.iter_mut().enumerate() {
                while let Some(event) = l.link.poll_event() {
                    progress = true;
                    match event {
                        LinkEvent::Received(r) => {
                            // Only configured neighbours are tracked: a forged source address
                            // must not grow the tables.
                            let known = l.feed.reaches(r.src);
                            match l.last_heard.iter_mut().find(|(a, _)| *a == r.src) {
                                Some(entry) => entry.1 = now,
                                None if known => l.last_heard.push((r.src, now)),
                                None => {}
                            }
                            let hub = self.sis.as_ref().map(|s| &s.hub);
                            if r.header.dest_sap == self.sap {
                                let readers = known.then_some(&mut self.batch_readers);
                                let heard = Heard::from(r.service);
                                receive(&mut self.node, readers, now, r.src, heard, r.data);
                            } else if hub
                                .is_some_and(|h| h.indicate(r.src, r.service, r.header, r.data))
                            {
                                // Handed to the SIS client bound to that SAP.
                            } else {
                                tracing::debug!(src = %r.src, sap = r.header.dest_sap, "U_PDU for an unbound SAP dropped");
                            }
                        }
                        LinkEvent::LinkUp(peer) => {
                            tracing::info!(link = %l.name, %peer, "physical link up");
                            // Our CAPS may have expired while this neighbour was away.
                            if l.feed.reaches(peer) {
                                caps_due.push((index, peer));
                            }
                        }
                        LinkEvent::Reset(peer) => {
                            tracing::debug!(link = %l.name, %peer, "ARQ state reset");
                            l.caps.forget(peer);
                            if l.feed.reaches(peer) {
                                caps_due.push((index, peer));
                            }
                        }
                        LinkEvent::Delivered(id) if l.caps.settle(id, true) => {}
                        LinkEvent::Failed(id, _) if l.caps.settle(id, false) => {}
                        // A node message went out non-ARQ (every repeat): the node arms the
                        // SUMMARY that lets a listener that missed it ask for it.
                        LinkEvent::Sent(id) if l.feed.sent(&mut *self.node, now, id).is_some() => {}
                        LinkEvent::Delivered(id) if l.feed.settle(id).is_some() => {}
                        LinkEvent::Failed(id, _) if l.feed.settle(id).is_some() => {
                            // The next inventory exchange finds the difference again.
                            tracing::debug!(link = %l.name, "node message expired in the link");
                        }
                        LinkEvent::LinkDown(peer) => {
                            tracing::info!(link = %l.name, %peer, "physical link down")
                        }
                        other => {
                            let answered = self
                                .sis
                                .as_mut()
                                .is_some_and(|s| s.queue.outcome(&s.hub, index, &other));
                            if !answered {
                                tracing::debug!(link = %l.name, ?other, "link event");
                            }
                        }
                    }
                }
            }
            for (index, peer) in caps_due {
                self.announce_caps_to(index, &[peer]);
            }
            while let Some(event) = self.node.poll_event() {
                progress = true;
                match event {
                    NodeEvent::Admitted { artifact, from } => {
                        tracing::info!(kind = ?artifact.kind, domain = %artifact.domain, id = artifact.id, version = artifact.version, from = ?from.map(|a| a.to_string()), "admitted");
                    }
                    NodeEvent::Refused { refusal, from } => {
                        tracing::warn!(%refusal, from = ?from.map(|a| a.to_string()), "refused");
                        *self.refused.entry(refusal.kind().to_owned()).or_default() += 1;
                    }
                    other => tracing::warn!(?other, "node"),
                }
            }
            crate::evidence::persist(&mut self.node, &self.store);
            // SIS clients' requests first: they get room only below `LINK_ROOM`, which the
            // node's messages would otherwise keep every busy link above.
            progress |= self.submit_clients(now);
            for l in &mut self.links {
                if l.bearer_up {
                    progress |= feed_link(&mut self.node, l, &self.batch_readers, now, &mut updu);
                }
            }
            for l in &mut self.links {
                while let Some(tx) = l.link.poll_transmit(now, &mut dpdu) {
                    progress = true;
                    l.frames_out += 1;
                    l.bytes_out += tx.len as u64;
                    let frame = Bytes::copy_from_slice(dpdu.get(..tx.len).unwrap_or_default());
                    l.capture(&frame);
                    // Never wait on a bearer (a modem holding CTS low would freeze every
                    // link): a frame it cannot take is lost like one lost on the air, and
                    // ARQ sends it again.
                    if let Err(e) = l.bearer.try_send(frame) {
                        tracing::warn!(link = %l.name, %e, "D_PDU dropped");
                    }
                }
            }
            if !progress {
                return;
            }
        }
    }

    /// Runs until `shutdown` completes, taking bearer events from `bearers` (tagged with their
    /// link's index) and requests from `control`.
    pub async fn run(
        mut self,
        mut bearers: mpsc::Receiver<(usize, BearerEvent)>,
        mut control: mpsc::Receiver<Request>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let mut sis_events = self.sis.as_mut().and_then(|s| s.events.take());
        self.pump().await;
        loop {
            let deadline = self.next_deadline().unwrap_or_else(|| {
                tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
            });
            tokio::select! {
                Some((index, event)) = bearers.recv() => self.handle_bearer(index, event).await,
                Some(request) = control.recv() => self.handle_request(request).await,
                Some(event) = next_sis_event(&mut sis_events) => self.handle_sis(event).await,
                () = tokio::time::sleep_until(deadline) => self.handle_timeout().await,
                () = &mut shutdown => {
                    tracing::info!("shutting down");
                    // Requests already taken from operators are answered before the store
                    // closes; new ones find the channel closed.
                    control.close();
                    while let Ok(request) = control.try_recv() {
                        self.handle_request(request).await;
                    }
                    for l in &mut self.links {
                        l.stop_capture();
                    }
                    return;
                }
            }
        }
    }
}

/// The next event from the SIS server's connections; never, without a server.
async fn next_sis_event(events: &mut Option<mpsc::Receiver<ToCore>>) -> Option<ToCore> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

impl Core {
    /// Serves SIS: `hub` keeps the bindings, `events` brings the connections' primitives.
    pub fn with_sis(mut self, hub: Hub, events: mpsc::Receiver<ToCore>) -> Self {
        let mut hub = hub;
        hub.set_available(self.links.iter().any(|l| l.bearer_up));
        for l in &mut self.links {
            l.link.set_bound_saps(hub.bound_saps());
        }
        self.sis = Some(Sis {
            hub,
            queue: ClientQueue::default(),
            events: Some(events),
        });
        self
    }

    /// Takes one event from an SIS client connection.
    pub async fn handle_sis(&mut self, event: ToCore) {
        let now = self.now();
        let Some(sis) = &mut self.sis else {
            return;
        };
        if let ToCore::Closed { id } = event {
            sis.queue.forget(id);
        }
        if let Some(submission) = sis.hub.handle(event, now) {
            sis.queue.push(submission);
        }
        let saps = sis.hub.bound_saps();
        for l in &mut self.links {
            l.link.set_bound_saps(saps);
        }
        self.pump().await;
    }

    /// Tells SIS clients whether any link's bearer is up.
    fn sis_availability(&mut self) {
        let up = self.links.iter().any(|l| l.bearer_up);
        if let Some(sis) = &mut self.sis {
            sis.hub.set_available(up);
        }
    }

    /// Moves SIS clients' requests onto their links while those have room (the room Skywave's
    /// own traffic gets): a group address goes out on every link, a node address on the link
    /// that lists it as a neighbour, or the first link (5066 reaches any node on the channel).
    /// Returns whether any moved.
    fn submit_clients(&mut self, now: Instant) -> bool {
        let Some(sis) = &mut self.sis else {
            return false;
        };
        let mut moved = false;
        while let Some(next) = sis.queue.front() {
            let targets: Vec<usize> = if next.dest.group {
                (0..self.links.len()).collect()
            } else {
                let dest = next.dest.address;
                vec![
                    self.links
                        .iter()
                        .position(|l| l.feed.reaches(dest))
                        .unwrap_or(0),
                ]
            };
            let room = targets.iter().all(|&i| {
                self.links
                    .get(i)
                    .is_some_and(|l| l.link.queued() < LINK_ROOM)
            });
            if !room {
                break;
            }
            let Some(submission) = sis.queue.pop(&mut sis.hub) else {
                break;
            };
            moved = true;
            let mut first = None;
            for &i in &targets {
                if let Some(l) = self.links.get_mut(i) {
                    let result = l.link.submit(now, &submission.message());
                    first.get_or_insert((i, result));
                }
            }
            match first {
                Some((i, result)) => sis.queue.submitted(&sis.hub, i, submission, result),
                None => {
                    sis.queue
                        .submitted(&sis.hub, 0, submission, Err(link::SubmitError::QueueFull))
                }
            }
        }
        moved
    }
}

/// Queued C_PDUs a link may hold before SIS clients' requests wait for room. The link's queue
/// has [`link::HOST_QUEUE`] places; the node's own messages may fill it further, up to
/// [`Feed::has_room`]'s limit, which is why clients are served first in each round.
const LINK_ROOM: usize = 24;
/// The longest capture asked for is cut to a week.
const MAX_CAPTURE_SECS: u64 = 7 * 24 * 3600;
/// CAPS goes with the inventory messages.
const CAPS_PRIORITY: u8 = 12;

/// Gives link `l`, while it has room, the node's most urgent messages for its channel, exactly
/// as a station feeds its links ([`Feed`]: a broadcast when the fan-out rule says so, at most
/// [`skywave_protocol::station::PER_NEIGHBOUR`] messages per neighbour waiting in the link),
/// then packs runs of artifacts to a neighbour that reads batches into BATCH U_PDUs. Returns
/// whether anything was taken from the node.
fn feed_link(
    node: &mut Node<ArtifactStore>,
    l: &mut AgentLink,
    batch_readers: &[Address],
    now: Instant,
    updu: &mut [u8],
) -> bool {
    let mut polled: Vec<Pending> = Vec::new();
    let mut dests: Vec<Address> = Vec::new();
    while l
        .feed
        .has_room(l.link.queued() + polled.len(), l.link.capacity())
    {
        let Some(m) = l.feed.poll_send(node, now, &dests, updu) else {
            break;
        };
        dests.push(m.dest);
        polled.push(Pending {
            dest: m.dest,
            header: m.header,
            mode: m.mode,
            ttd: m.ttd,
            data: m.data.to_vec(),
        });
    }
    let progress = !polled.is_empty();
    for message in batch(polled, batch_readers) {
        match l.link.submit(now, &message.message()) {
            Ok(id) => l.feed.submitted(id, message.dest, Owner::Node),
            // Room was checked: only a U_PDU too large for the link gets here. The next
            // inventory exchange offers it again.
            Err(e) => tracing::warn!(link = %l.name, %e, dest = %message.dest, "U_PDU not queued"),
        }
    }
    progress
}

/// Hands a U_PDU that arrived on the Skywave SAP, `heard` as the link delivered it, to the
/// node: unpacking a BATCH, noting a configured neighbour's CAPS (`batch_readers` is `None`
/// for anyone else).
fn receive(
    node: &mut Node<ArtifactStore>,
    batch_readers: Option<&mut Vec<Address>>,
    now: Instant,
    from: Address,
    heard: Heard,
    data: &[u8],
) {
    match data.first() {
        Some(&compress::CAPS) => {
            let Some(batch_readers) = batch_readers else {
                return;
            };
            if compress::reads_batches(data) && !batch_readers.contains(&from) {
                tracing::info!(neighbour = %from, "neighbour reads compressed batches");
                batch_readers.push(from);
            }
        }
        Some(&compress::BATCH) => match compress::unpack(data) {
            Ok(messages) => {
                for m in messages {
                    let _ = node.handle_message_heard(now, wall_time(), from, heard, &m);
                }
            }
            Err(e) => tracing::warn!(%from, %e, "batch refused"),
        },
        _ => {
            let _ = node.handle_message_heard(now, wall_time(), from, heard, data);
        }
    }
}

/// Packs runs of artifacts to the same neighbour, if it reads batches, into compressed
/// BATCH U_PDUs that fit one U_PDU; everything else goes as it is. Revocations are expedited
/// and never wait to be batched.
fn batch(messages: Vec<Pending>, readers: &[Address]) -> Vec<Pending> {
    let mut out: Vec<Pending> = Vec::new();
    let mut run: Vec<Pending> = Vec::new();
    let flush = |run: &mut Vec<Pending>, out: &mut Vec<Pending>| match run.len() {
        0 => {}
        1 => out.append(run),
        _ => match compress::pack(run.iter().map(|p| p.data.as_slice())) {
            Ok(data) => {
                let first = &run[0];
                out.push(Pending {
                    dest: first.dest,
                    header: first.header,
                    mode: first.mode,
                    ttd: run.iter().map(|p| p.ttd).max().unwrap_or(first.ttd),
                    data,
                });
                run.clear();
            }
            Err(_) => out.append(run),
        },
    };
    for m in messages {
        let batchable = readers.contains(&m.dest)
            && m.data.first() == Some(&skywave_protocol::node::message::tag::ARTIFACT)
            && matches!(m.mode, link::Mode::Arq { .. });
        let joins = run
            .first()
            .is_some_and(|f| f.dest == m.dest && f.header == m.header);
        if !batchable || !joins {
            flush(&mut run, &mut out);
        }
        if !batchable {
            out.push(m);
            continue;
        }
        run.push(m);
        let fits = compress::pack(run.iter().map(|p| p.data.as_slice()))
            .is_ok_and(|b| b.len() <= MAX_UPDU_LEN);
        if !fits {
            let last = run.pop();
            flush(&mut run, &mut out);
            run.extend(last);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Where a link's non-ARQ C_PDU IDs start in this life of the agent: from the clock's
/// nanoseconds and the process id, so an agent killed and restarted within a neighbour's
/// reception window does not reuse the IDs its broadcasts just had (they would be taken for
/// repeats and dropped).
fn first_cpdu_id() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mixed = (nanos ^ std::process::id().rotate_left(16)).wrapping_mul(0x9E37_79B9);
    (mixed >> 20) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::policy::sample::Coalition;

    #[test]
    fn caps_goes_once_until_the_neighbours_state_is_reset() {
        let (a, b) = (Address::new(2).unwrap(), Address::new(3).unwrap());
        let mut caps = CapsAnnouncements::default();
        assert!(caps.wanted(a));
        caps.pending.push((link::MessageId(7), a));
        assert!(!caps.wanted(a), "one on the way is enough");
        assert!(caps.wanted(b));
        assert!(!caps.settle(link::MessageId(8), true), "not a CAPS");
        assert!(caps.settle(link::MessageId(7), true));
        assert!(!caps.wanted(a), "acknowledged: not at the next link set-up");
        caps.pending.push((link::MessageId(9), b));
        assert!(caps.settle(link::MessageId(9), false));
        assert!(
            caps.wanted(b),
            "expired undelivered: again at the next link"
        );
        caps.forget(a);
        assert!(caps.wanted(a), "a reset neighbour may have restarted");
    }

    fn pending(dest: u32, priority: u8, mode: link::Mode, data: Vec<u8>) -> Pending {
        Pending {
            dest: Address::new(dest).unwrap(),
            header: link::SpduHeader {
                priority,
                src_sap: 13,
                dest_sap: 13,
            },
            mode,
            ttd: Instant::from_millis(1000),
            data,
        }
    }

    fn artifacts() -> Vec<Vec<u8>> {
        Coalition::new()
            .artifacts()
            .into_iter()
            .map(|a| [&[skywave_protocol::node::message::tag::ARTIFACT][..], &a].concat())
            .collect()
    }

    const ARQ: link::Mode = link::Mode::Arq { in_order: false };

    #[test]
    fn runs_of_artifacts_to_a_reader_become_one_batch() {
        let messages: Vec<Pending> = artifacts()
            .into_iter()
            .map(|a| pending(2, 8, ARQ, a))
            .collect();
        let raw: usize = messages.iter().map(|m| m.data.len()).sum();
        let out = batch(messages, &[Address::new(2).unwrap()]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data[0], compress::BATCH);
        assert!(
            out[0].data.len() < raw * 3 / 4,
            "{} of {raw}",
            out[0].data.len()
        );
        assert_eq!(compress::unpack(&out[0].data).unwrap(), artifacts());
    }

    #[test]
    fn non_readers_revocations_and_other_messages_go_as_they_are() {
        let a = artifacts();
        let messages = vec![
            pending(3, 8, ARQ, a[0].clone()),
            pending(3, 8, ARQ, a[1].clone()),
            pending(2, 15, link::Mode::ExpeditedArq, a[2].clone()),
            pending(2, 12, ARQ, vec![2, 0]),
            pending(2, 8, ARQ, a[3].clone()),
        ];
        let out = batch(messages, &[Address::new(2).unwrap()]);
        let firsts: Vec<u8> = out.iter().map(|m| m.data[0]).collect();
        assert_eq!(
            firsts,
            [
                skywave_protocol::node::message::tag::ARTIFACT,
                skywave_protocol::node::message::tag::ARTIFACT,
                skywave_protocol::node::message::tag::ARTIFACT,
                2,
                skywave_protocol::node::message::tag::ARTIFACT
            ]
        );
    }

    #[test]
    fn batches_never_exceed_a_u_pdu() {
        // Incompressible artifacts: several batches, each within the MTU, nothing lost.
        let noise: Vec<Vec<u8>> = (0..6u32)
            .map(|i| {
                let mut x = i.wrapping_mul(2_654_435_761) | 1;
                let mut v = vec![skywave_protocol::node::message::tag::ARTIFACT];
                v.extend((0..900).map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                }));
                v
            })
            .collect();
        let messages = noise
            .iter()
            .map(|n| pending(2, 8, ARQ, n.clone()))
            .collect();
        let out = batch(messages, &[Address::new(2).unwrap()]);
        assert!(out.len() >= 3);
        assert!(out.iter().all(|m| m.data.len() <= MAX_UPDU_LEN));
        let unpacked: Vec<Vec<u8>> = out
            .iter()
            .flat_map(|m| match m.data[0] {
                compress::BATCH => compress::unpack(&m.data).unwrap(),
                _ => vec![m.data.clone()],
            })
            .collect();
        assert_eq!(unpacked, noise);
    }
}
