//! The agent's core: one task that drives the node's [`Station`], as the simulator and the
//! firmware drive theirs (docs/drivers.md).
//!
//! Every protocol decision is made by `skywave-protocol`: the station's [`Node`] (admission,
//! inventory sync, forwarding, the fan-out rule), its links (ARQ, turns, CAS) and the glue
//! between them. This task owns what the station does not: the bearers, the clock, the SQLite
//! store, the operator's control socket and the SIS server's clients. It feeds the station
//! what those bring (a frame, a bearer up or down, an operator's artifact, a client's U_PDU,
//! the armed instant) and then makes the station's polls in the one order every driver uses:
//! `poll_transmit` for every link until `None` (frames to the bearers), `poll_event` until
//! `None` (logs, the SIS clients' indications and answers, evidence to the store), then
//! `poll_timeout` to arm its one timer. Keeping all protocol state in one task (the bearers'
//! I/O runs in their own tasks) means no locks around it.
//!
//! What the host adds on the Skywave SAP (compressed batches, CAPS) lives in its link type,
//! [`AgentLink`], and a link through another 5066 node has a SIS [`Carrier`] where an HF link
//! has its `HostLink`: the station drives both alike.

mod clients;
mod guarded;
mod messages;
mod operator;
mod persist;
mod reload;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::time::SystemTime;

use bytes::Bytes;
use skywave_protocol::label::binding::OriginState;
use skywave_protocol::label::sequence::SeqReservation;
use skywave_protocol::link::pdu::fail;
use skywave_protocol::link::{Answer, Event as LinkEvent};
use skywave_protocol::node::{MAX_NEIGHBOURS, Node, NodeEvent};
use skywave_protocol::policy::UnixTime;
use skywave_protocol::station::{End, GuardConfig, LinkId, Station, StationEvent};
use skywave_protocol::time::Instant;
use skywave_protocol::wire::{Address, MAX_DPDU_LEN};
use tokio::sync::mpsc;

use super::config::{AgentConfig, GuardSettings};
use super::control::Request;
use super::link::{AgentLink, carrier, first_cpdu_id};
use crate::bearer::{BearerEvent, BearerSender};
use crate::sis::server::ToCore;
use crate::store::guard::SEQ_BLOCK;
use crate::store::{ArtifactStore, Store};
use clients::Sis;
pub use messages::InboxStatus;
use messages::Messages;

/// Links one agent drives at most.
pub const MAX_LINKS: usize = 8;

/// The agent's station: its node on the heap (it holds the store's index), and its links.
type AgentStation = Station<Box<Node<ArtifactStore>>, AgentLink, MAX_LINKS>;

/// What the core keeps of one link beside the station: its bearer and what the operator sees.
struct Port {
    name: String,
    bearer: BearerSender,
    bearer_up: bool,
    bearer_state: String,
    frames_in: u64,
    frames_damaged: u64,
    noise_bytes: u64,
    bad_headers: u64,
    frames_out: u64,
    bytes_in: u64,
    bytes_out: u64,
    capture: Option<operator::Capture>,
}

/// The agent's station and the handles it drives.
pub struct Core {
    address: Address,
    sap: u8,
    station: Box<AgentStation>,
    store: Store,
    ports: Vec<Port>,
    epoch: tokio::time::Instant,
    /// Artifacts refused since start, by the refusal's kind.
    refused: BTreeMap<String, u64>,
    /// The SIS server's state, when the agent serves 5066 client applications.
    sis: Option<Sis>,
    /// Big enough for a D_PDU, or for an S_UNIDATA_REQUEST on a link through a 5066 node.
    frame: Vec<u8>,
    /// The guard's persisted state, when `[guard]` is configured.
    guard: Option<GuardStore>,
    /// The operator's labelled messages: sender verdicts for `send`, arrivals for `receive`.
    messages: Messages,
    /// Sees every event the station reports, in order, before the core acts on it.
    observer: Option<EventObserver>,
    /// The guarded SAPs' SIS clients: labels, held requests.
    guarded: guarded::Guarded,
}

/// What [`Core::with_observer`] takes: called with each event the station reports, in the
/// order `poll_event` returned them (the drivers' test compares them with the other drivers',
/// docs/drivers.md).
pub type EventObserver = Box<dyn FnMut(&StationEvent<'_>) + Send>;

/// What of the guard's state is in the store (store/guard.rs says why numbers are reserved).
struct GuardStore {
    /// The binding sequence numbers reserved in the store.
    seq: SeqReservation,
    /// The replay windows as last written.
    saved_replay: Vec<OriginState>,
    /// The node key the guard seals with, kept to turn the guard on again with other SAPs
    /// (SIGHUP) without reading a key file that may have changed since.
    key: p256::ecdsa::SigningKey,
}

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
        if config.links.len() > MAX_LINKS {
            anyhow::bail!("more than {MAX_LINKS} links configured");
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
        let mut station = Box::new(Station::new(node, config.sap));
        // Whether a client (or the operator's inbox) kept a U_PDU is known only once the core
        // has written it, so the core answers every client confirmation request itself.
        station.answer_for(u16::MAX);
        let guard = match &config.guard {
            Some(settings) => Some(enable_guard(
                &mut station,
                config.address,
                settings,
                &store,
            )?),
            None => None,
        };
        // Default labels are compacted once, here, against what the node has admitted.
        let rules = match &config.guard {
            Some(settings) => super::sap_label::rules(settings, Some(station.node().trust()))
                .map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        let mut ports = Vec::new();
        for (index, (cfg, bearer)) in config.links.iter().zip(bearers).enumerate() {
            let first_id = first_cpdu_id(config.cpdu_id_seed, index);
            let carrier = carrier(config.address, config.sap, cfg, first_id)?;
            let link = AgentLink::new(carrier, config.sap, &cfg.neighbours);
            station
                .add_link(link, &cfg.neighbours)
                .map_err(|e| anyhow::anyhow!("link {}: {e}", cfg.name))?;
            ports.push(Port {
                name: cfg.name.clone(),
                bearer,
                bearer_up: false,
                bearer_state: "opening".into(),
                frames_in: 0,
                frames_damaged: 0,
                noise_bytes: 0,
                bad_headers: 0,
                frames_out: 0,
                bytes_in: 0,
                bytes_out: 0,
                capture: None,
            });
        }
        let mut core = Core {
            address: config.address,
            sap: config.sap,
            station,
            store,
            ports,
            epoch: tokio::time::Instant::now(),
            refused: BTreeMap::new(),
            sis: None,
            frame: vec![0u8; MAX_DPDU_LEN.max(crate::sis::MAX_FRAME)],
            guard,
            messages: Messages::new(
                config.guard.as_ref().map_or(&[][..], |g| &g.saps),
                config.inbox_max,
            ),
            observer: None,
            guarded: guarded::Guarded::new(rules),
        };
        core.tell_links_bound_saps(1 << config.sap);
        Ok(core)
    }

    /// Shows `observer` every event the station reports, before the core acts on it.
    pub fn with_observer(mut self, observer: EventObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Writes what the guard must not forget before anything leaves the station: binding
    /// sequence numbers are reserved before a frame sealed with one goes to a bearer, and
    /// replay windows are written before the data they let through goes to a client.
    /// Returns whether every sequence number the station has used is reserved.
    fn persist_guard(&mut self) -> bool {
        let Some(g) = &mut self.guard else {
            return true;
        };
        let next = self.station.next_binding_seq();
        if let Some(until) = g.seq.due(next) {
            match self.store.reserve_guard_seq(until) {
                Ok(()) => g.seq.stored(until),
                Err(e) => tracing::error!(%e, "binding sequence numbers not reserved"),
            }
        }
        let origins = self.station.replay_origins();
        if origins != g.saved_replay.as_slice() {
            match self.store.save_replay(origins) {
                Ok(()) => g.saved_replay = origins.to_vec(),
                Err(e) => tracing::error!(%e, "replay windows not saved"),
            }
        }
        g.seq.covers(next)
    }

    /// Protocol time: milliseconds since the agent started.
    fn now(&self) -> Instant {
        Instant::from_millis(self.epoch.elapsed().as_millis() as u64)
    }

    /// When the station next needs [`Station::handle_timeout`], or a capture ends.
    fn next_deadline(&self) -> Option<tokio::time::Instant> {
        let station = self
            .station
            .poll_timeout()
            .map(|t| self.epoch + std::time::Duration::from_millis(t.millis()));
        let captures = self
            .ports
            .iter()
            .filter_map(|p| p.capture.as_ref().map(|c| c.until));
        let resend = self
            .sis
            .as_ref()
            .and_then(|s| s.queue.next_resend())
            .map(|t| self.epoch + std::time::Duration::from_millis(t.millis()));
        station.into_iter().chain(captures).chain(resend).min()
    }

    /// The armed instant came: captures due end, and the station acts on the time.
    fn handle_timeout(&mut self) {
        let wall_now = tokio::time::Instant::now();
        for p in &mut self.ports {
            if p.capture.as_ref().is_some_and(|c| wall_now >= c.until) {
                p.stop_capture();
            }
        }
        let now = self.now();
        self.station.handle_timeout(now, wall_time());
        self.poll();
    }

    /// Feeds what bearer `index` reported.
    fn handle_bearer(&mut self, index: usize, event: BearerEvent) {
        let now = self.now();
        let id = LinkId(index as u8);
        let Some(p) = self.ports.get_mut(index) else {
            return;
        };
        match event {
            BearerEvent::Frame(frame) => {
                p.frames_in += 1;
                p.bytes_in += frame.len() as u64;
                p.capture(&frame);
                if let Err(e) = self.station.handle_input(now, wall_time(), id, &frame) {
                    tracing::debug!(link = %p.name, %e, "frame not used");
                }
            }
            BearerEvent::Damaged(frame) => {
                p.frames_damaged += 1;
                p.capture(&frame);
                // The header is sound: the link may still use it (acknowledgements, EOT).
                let _ = self.station.handle_input(now, wall_time(), id, &frame);
            }
            BearerEvent::Noise { bytes, bad_headers } => {
                p.noise_bytes += bytes;
                p.bad_headers += bad_headers;
            }
            BearerEvent::Up => {
                tracing::info!(link = %p.name, "bearer up");
                p.bearer_up = true;
                p.bearer_state = "up".into();
                if let Some(link) = self.station.link_mut(id) {
                    link.bearer_up(now);
                }
                if let Err(e) = self.station.link_up(now, wall_time(), id) {
                    tracing::error!(link = %p.name, %e, "link not up");
                }
                self.sis_availability();
            }
            BearerEvent::Down { reason, retry_in } => {
                tracing::warn!(link = %p.name, %reason, ?retry_in, "bearer down");
                p.bearer_up = false;
                p.bearer_state = format!("down: {reason}");
                if let Some(link) = self.station.link_mut(id) {
                    link.connection_lost();
                }
                let _ = self.station.link_down(now, id);
                self.sis_availability();
            }
        }
        self.poll();
    }

    /// The polls that follow every feed: frames to the bearers, then events, then whatever
    /// the SIS clients have waiting for room (a feed of its own, so the polls repeat).
    ///
    /// Events are also taken *before* the frames: the station refuses what its guard refuses
    /// (FAIL) during the feed, and holds everything behind a released client U_PDU whose
    /// sender asked for confirmation until the core has stored it and answered
    /// ([`Station::answer`]: CONFIRM, or FAIL when nobody could keep it), so taking that
    /// event first lets the answer go out in the same transmission (persist.rs, messages.rs).
    fn poll(&mut self) {
        loop {
            self.persist_guard();
            let now = self.now();
            self.take_events();
            self.settle();
            self.persist_guard();
            self.transmit(now);
            self.take_events();
            self.settle();
            if !self.submit_clients(now) {
                return;
            }
        }
    }

    /// `poll_transmit` for every link until `None`, each frame to its bearer.
    fn transmit(&mut self, now: Instant) {
        for index in 0..self.ports.len() {
            let id = LinkId(index as u8);
            while let Some(tx) = self.station.poll_transmit(now, id, &mut self.frame) {
                // A frame may carry a message sealed just now: its number must be reserved
                // before it leaves. If the store cannot reserve it, the frame is lost like one
                // lost on the air, and ARQ sends it again.
                if !self.persist_guard() {
                    continue;
                }
                let Some(p) = self.ports.get_mut(index) else {
                    break;
                };
                p.frames_out += 1;
                p.bytes_out += tx.len as u64;
                let frame = Bytes::copy_from_slice(self.frame.get(..tx.len).unwrap_or_default());
                p.capture(&frame);
                // Never wait on a bearer (a modem holding CTS low would freeze every link): a
                // frame it cannot take is lost like one lost on the air, and ARQ sends it again.
                if let Err(e) = p.bearer.try_send(frame) {
                    tracing::warn!(link = %p.name, %e, "D_PDU dropped");
                }
            }
        }
    }

    /// `poll_event` until `None`: the node's reports are logged, client data and the outcomes
    /// of client messages go to the SIS clients, and conflicts the node kept go to the store.
    fn take_events(&mut self) {
        let now = self.now();
        let Core {
            station,
            ports,
            refused,
            sis,
            store,
            messages,
            observer,
            guarded,
            ..
        } = self;
        while let Some(event) = station.poll_event() {
            if let Some(observe) = observer {
                observe(&event);
            }
            let name = |link: LinkId| {
                ports
                    .get(usize::from(link.0))
                    .map_or("?", |p| p.name.as_str())
            };
            let outcome = match event {
                StationEvent::Node(NodeEvent::Admitted { artifact, from }) => {
                    tracing::info!(kind = ?artifact.kind, domain = %artifact.domain, id = artifact.id, version = artifact.version, from = ?from.map(|a| a.to_string()), "admitted");
                    None
                }
                StationEvent::Node(NodeEvent::Refused { refusal, from }) => {
                    tracing::warn!(%refusal, from = ?from.map(|a| a.to_string()), "refused");
                    *refused.entry(refusal.kind().to_owned()).or_default() += 1;
                    None
                }
                StationEvent::Guard(report) => {
                    // Every guard decision goes to the decision log, release or refusal, with
                    // or without a policy decision behind it, as an operator's does.
                    tracing::info!(end = ?report.end, link = name(report.link), seq = report.seq, refusal = ?report.refusal, "guard");
                    let log_index =
                        match store.append_guard_report(report, std::time::SystemTime::now()) {
                            Ok(anchor) => Some(anchor.count - 1),
                            Err(e) => {
                                tracing::error!(%e, "guard decision not logged");
                                None
                            }
                        };
                    let bound = sis.as_ref().map_or(0, |s| s.hub.bound_saps());
                    match report.end {
                        End::Sender => messages.sent(report, log_index),
                        End::Receiver => messages.arrived(store, report, log_index, bound),
                    }
                    guarded.report(report, sis.as_mut(), now);
                    None
                }
                StationEvent::Node(other) => {
                    tracing::warn!(?other, "node");
                    None
                }
                StationEvent::Received {
                    src,
                    header,
                    service,
                    confirm,
                    payload,
                    ..
                } => {
                    let sap = header.dest_sap;
                    let wrapped;
                    let data = match guarded.for_client(sap, payload) {
                        guarded::Handed::Plain => Some(payload),
                        guarded::Handed::Enveloped(envelope) => {
                            wrapped = envelope;
                            Some(&wrapped[..])
                        }
                        guarded::Handed::Withheld => None,
                    };
                    // A SIS client's (or held for one: persist.rs); else, if the guard released
                    // it for the operator, the inbox's, for `skywave receive`. Its sender, if
                    // it asked, is confirmed only if one of them kept it.
                    let answer = match data {
                        Some(data) => {
                            let taken = persist::receive(
                                store,
                                sis.as_ref(),
                                src,
                                header,
                                service,
                                confirm,
                                data,
                            );
                            let delivery = messages.deliver(store, src, sap, payload, taken);
                            match delivery.answer() {
                                Some(answer) => answer,
                                None if taken => Answer::Confirm,
                                None => {
                                    tracing::debug!(%src, sap, "U_PDU for an unbound SAP dropped");
                                    Answer::Fail(fail::SAP_NOT_BOUND)
                                }
                            }
                        }
                        None => {
                            tracing::error!(%src, sap, "labelled data with no released label withheld");
                            Answer::Fail(fail::REFUSED)
                        }
                    };
                    if confirm {
                        station.answer(answer);
                    }
                    None
                }
                StationEvent::PhysicalLink { link, peer, up } => {
                    let state = if up { "up" } else { "down" };
                    tracing::info!(link = name(link), %peer, state, "physical link");
                    None
                }
                StationEvent::Reset { link, peer } => {
                    tracing::debug!(link = name(link), %peer, "ARQ state reset");
                    None
                }
                StationEvent::Expired { link, dest } => {
                    // The next inventory exchange finds the difference again.
                    tracing::debug!(link = name(link), %dest, "node message expired in the link");
                    None
                }
                StationEvent::NotQueued { link, dest, error } => {
                    tracing::warn!(link = name(link), %dest, %error, "U_PDU not queued");
                    None
                }
                StationEvent::Delivered { link, id } => Some((link, LinkEvent::Delivered(id))),
                StationEvent::Sent { link, id } => Some((link, LinkEvent::Sent(id))),
                StationEvent::Failed { link, id, failure } => {
                    Some((link, LinkEvent::Failed(id, failure)))
                }
                StationEvent::Confirmed {
                    link,
                    from,
                    header,
                    echo,
                } => Some((link, LinkEvent::Confirmed { from, header, echo })),
                StationEvent::NotDelivered {
                    link,
                    from,
                    header,
                    reason,
                    echo,
                } => Some((
                    link,
                    LinkEvent::NotDelivered {
                        from,
                        header,
                        reason,
                        echo,
                    },
                )),
            };
            if let (Some((link, event)), Some(s)) = (outcome, sis.as_mut()) {
                s.queue.outcome(&s.hub, usize::from(link.0), &event, now);
            }
        }
        // Only when there is some: the node's state does not change otherwise, and taking it
        // mutably tells the station work is due.
        if station.node().trust().evidence().next().is_some() {
            crate::evidence::persist(station.node_mut(), &self.store);
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
        self.poll();
        loop {
            let deadline = self.next_deadline().unwrap_or_else(|| {
                tokio::time::Instant::now() + std::time::Duration::from_secs(3600)
            });
            tokio::select! {
                Some((index, event)) = bearers.recv() => self.handle_bearer(index, event),
                Some(request) = control.recv() => self.handle_request(request),
                Some(event) = next_sis_event(&mut sis_events) => self.handle_sis(event),
                () = tokio::time::sleep_until(deadline) => self.handle_timeout(),
                () = &mut shutdown => {
                    tracing::info!("shutting down");
                    // Requests already taken from operators are answered before the store
                    // closes; new ones find the channel closed.
                    control.close();
                    while let Ok(request) = control.try_recv() {
                        self.handle_request(request);
                    }
                    for p in &mut self.ports {
                        p.stop_capture();
                    }
                    return;
                }
            }
        }
    }
}

/// Turns the station's guard on with the node key of `settings`, the first sequence number not
/// reserved before and the replay windows from `store`, and reserves a first block.
fn enable_guard(
    station: &mut AgentStation,
    address: Address,
    settings: &GuardSettings,
    store: &Store,
) -> anyhow::Result<GuardStore> {
    let key = settings.load_key().map_err(anyhow::Error::msg)?;
    let next_seq = store.guard_seq_reserved()?;
    let reserved = next_seq.saturating_add(SEQ_BLOCK);
    store.reserve_guard_seq(reserved)?;
    let saved_replay = store.replay_origins()?;
    for origin in &saved_replay {
        station
            .restore_replay(*origin)
            .map_err(|e| anyhow::anyhow!("replay window of {}: {e}", origin.address))?;
    }
    station.enable_guard(
        GuardConfig {
            address,
            key: key.clone(),
            next_seq,
        },
        &settings.sap_ids(),
    );
    Ok(GuardStore {
        seq: SeqReservation::new(SEQ_BLOCK, reserved),
        saved_replay,
        key,
    })
}

/// The next event from the SIS server's connections; never, without a server.
async fn next_sis_event(events: &mut Option<mpsc::Receiver<ToCore>>) -> Option<ToCore> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}
