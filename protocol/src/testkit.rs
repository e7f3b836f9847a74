//! The drivers' shared scenario and event trace (feature `testkit`, for tests only).
//!
//! Every driver of a [`Station`](crate::station::Station) (the host agent's core, the coalition
//! simulator, the firmware's adjunct, the station tests' stepper) makes the same calls in the
//! same shape (docs/drivers.md). Whether they really do is tested by running one script under
//! each of them and comparing what the stations reported: this module is that script and that
//! comparison, in one place, so no driver's test can drift from the others'.
//!
//! The script ([`Scenario`]): two nodes, [`A`] and [`B`], on one channel; node A publishes one
//! signed artifact (a GBR revocation delta, [`Scenario::artifact`]) and submits one client
//! message to node B ([`Scenario::client_message`]). A driver feeds each station's events in
//! the order `poll_event` returned them to a [`Trace`], which keeps them in canonical form:
//! their kinds and key fields, with addresses named `A` and `B`, client messages named by the
//! order they first appear, and nothing about time (instants, link numbers, message ids
//! differ between drivers and say nothing about behaviour). [`Trace::diff`] compares two and
//! says where they part, with both traces in full.
//!
//! Not compiled into any installed binary: the feature pulls in `std`, and only test code (the
//! protocol's own tests, `skywave-hil-tests`, which the other crates take as a dev-dependency)
//! turns it on.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use std::boxed::Box;

use crate::link::{self, Config as LinkConfig, HostLink, MessageId, Modem, SpduHeader, Transmit};
use crate::node::{self, FixedStorage, Node, NodeEvent};
use crate::policy::TrustStore;
use crate::policy::UnixTime;
use crate::policy::sample::NOW;
use crate::policy::sample::{self, Coalition};
use crate::policy::{Artifact, Revoked};
use crate::station::{LinkId, Station, StationEvent, StationLink};
use crate::time::{Duration, Instant};
use crate::wire::Address;
use crate::wire::MAX_DPDU_LEN;

/// Node A's address: it publishes the artifact and sends the client message.
pub const A: u32 = 1;
/// Node B's address: it receives both.
pub const B: u32 = 2;
/// The SAP both nodes' node messages travel on.
pub const NODE_SAP: u8 = 9;
/// The sending client's SAP at node A (the SAP the simulator's clients use).
pub const CLIENT_SRC_SAP: u8 = 5;
/// The receiving client's SAP at node B.
pub const CLIENT_DEST_SAP: u8 = 5;
/// The client message's U_PDU.
pub const CLIENT_PAYLOAD: &[u8] = b"one client message";
/// The client message's priority.
pub const CLIENT_PRIORITY: u8 = 5;
/// The client message's time-to-die, from its submission (the simulator's): long enough that
/// it never passes in the scenario.
pub const CLIENT_TTL: Duration = Duration::from_secs(1800);
/// How long a driver runs the scenario after both links are up: the artifact and the message
/// cross in well under a minute on any of the drivers' modems; the rest lets a driver that
/// does something extra (a second delivery, a spurious reset) show it.
pub const RUN_FOR: Duration = Duration::from_secs(240);

/// The script every driver runs. The nodes hold the sample coalition's roots and nothing
/// else; both links come up at the start, then node A publishes [`Scenario::artifact`] and
/// submits [`Scenario::client_message`], in that order, at the same instant.
pub struct Scenario {
    coalition: Coalition,
}

impl Scenario {
    /// The script, with the sample coalition's keys.
    pub fn new() -> Self {
        Scenario {
            coalition: Coalition::new(),
        }
    }

    /// The coalition whose roots both nodes trust.
    pub fn coalition(&self) -> &Coalition {
        &self.coalition
    }

    /// The trust roots both nodes hold.
    pub fn roots(&self) -> [Vec<u8>; 3] {
        self.coalition.roots()
    }

    /// A trust store holding [`Scenario::roots`], as both nodes start, added at wall-clock
    /// time `wall` ([`NOW`] in the script; `None` for a node with no wall clock).
    pub fn trust(&self, wall: Option<UnixTime>) -> TrustStore {
        let mut trust = TrustStore::new();
        for root in self.roots() {
            let _ = trust.add_root(&root, wall);
        }
        trust
    }

    /// The artifact node A publishes: GBR's first revocation delta (sequence 1, revoking
    /// translator 1 version 1), signed by the GBR root, so the roots alone admit it. Signing is
    /// deterministic (RFC 6979): every driver, the simulator's scenario files included, makes
    /// the same bytes.
    pub fn artifact(&self) -> Vec<u8> {
        let c = &self.coalition;
        let entry = Revoked::Translator { id: 1, version: 1 };
        let delta = sample::revocation(sample::GBR, &c.gbr_root, 1, &[entry]);
        sample::sign(&c.gbr_root, &Artifact::Revocation(delta))
    }

    /// The client message node A submits at `now` to node B at address `b` ([`B`] in the
    /// script): ARQ, from SAP 5 to SAP 5, no delivery confirmation.
    pub fn client_message(now: Instant, b: u32) -> link::Message<'static> {
        link::Message {
            dest: address(b),
            header: SpduHeader {
                priority: CLIENT_PRIORITY,
                src_sap: CLIENT_SRC_SAP,
                dest_sap: CLIENT_DEST_SAP,
            },
            mode: link::Mode::Arq { in_order: false },
            confirm: false,
            ttd: now + CLIENT_TTL,
            data: CLIENT_PAYLOAD,
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Self::new()
    }
}

/// The settings the scenario's nodes run with: the script's ([`Setup::script`]), or those of a
/// driver whose node B is built differently, so that the reference is computed for the B that
/// driver really runs (the firmware's adjunct has its own address, node SAP, modem, window and
/// bound SAPs, and no wall clock: docs/drivers.md). Node A is always the script's, with the
/// host's link type; what both nodes share (the node SAP, the channel's modem) is set once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Setup {
    /// Node B's address ([`B`] in the script). Traces still name it `B`.
    pub b: u32,
    /// The SAP node messages travel on, at both nodes: a node takes a U_PDU on any other SAP
    /// as client data, so the two must agree for the artifact to cross.
    pub node_sap: u8,
    /// The channel's modem, at both nodes.
    pub modem: Modem,
    /// Node B's jitter seed (the script's nodes seed with their addresses).
    pub b_jitter_seed: u32,
    /// Node B's ARQ send window.
    pub b_arq_window: u8,
    /// The SAPs with a client at node B (bit n for SAP n): a U_PDU for any other is delivered
    /// to nobody, so it makes no `received` event.
    pub b_bound_saps: u16,
    /// Node B's wall clock ([`NOW`] in the script; `None` for a node that has none, which then
    /// checks no validity window).
    pub b_wall_clock: Option<UnixTime>,
}

impl Setup {
    /// The script's settings: B at address [`B`] on SAP [`NODE_SAP`] over
    /// `Modem::hf_2400_short`, seeded with its address, the link's default window, every SAP
    /// bound and the sample's wall clock.
    pub fn script() -> Self {
        Setup {
            b: B,
            node_sap: NODE_SAP,
            modem: Modem::hf_2400_short(),
            b_jitter_seed: B,
            b_arq_window: LinkConfig::new(address(B), Modem::hf_2400_short()).arq_window,
            b_bound_saps: u16::MAX,
            b_wall_clock: Some(NOW),
        }
    }
}

/// A link type the reference can give node B: every [`link::Link`] shape (the host's
/// `HostLink`, a board's smaller one).
pub trait RefLink: StationLink + Sized {
    /// The link for `config`, with `bound` as its bound SAPs.
    fn build(config: LinkConfig, bound: u16) -> Result<Self, link::Error>;
}

impl<
    const QUEUE: usize,
    const CPDU: usize,
    const RX: usize,
    const SEG: usize,
    const XRX: usize,
    const NARQ: usize,
    const INB: usize,
> RefLink for link::Link<QUEUE, CPDU, RX, SEG, XRX, NARQ, INB>
{
    fn build(config: LinkConfig, bound: u16) -> Result<Self, link::Error> {
        let mut link = Self::new(config)?;
        link.set_bound_saps(bound);
        Ok(link)
    }
}

/// The scenario under the reference driver with the script's settings: the traces of nodes A
/// and B that every real driver's must equal.
pub fn reference() -> [Trace; 2] {
    reference_for::<HostLink>(&Setup::script())
}

/// The scenario under the reference driver, node B with `setup`'s settings and link type `L`:
/// two stations on an idealised channel (every frame arrives, one modem latency after its last
/// bit, unless its receiver is transmitting), driven in the simulator's shape: one arrival or
/// wake-up at a time, then that station's transmissions, events and next wake-up. Returns the
/// traces of nodes A and B.
pub fn reference_for<L: RefLink>(setup: &Setup) -> [Trace; 2] {
    let script = Scenario::new();
    let config = LinkConfig {
        arq_window: setup.b_arq_window,
        ..LinkConfig::new(address(setup.b), setup.modem)
    };
    let mut b = StationDriver::new(
        ref_node(
            &script,
            setup,
            setup.b,
            setup.b_jitter_seed,
            setup.b_wall_clock,
        ),
        setup.node_sap,
        L::build(config, setup.b_bound_saps),
        A,
        setup.b_wall_clock,
    );
    against(setup, &script, &mut b)
}

/// The scenario with node B played by `b`, a driver of its own (the firmware's adjunct, run by
/// its own `radio_input` and `poll`), node A by the reference's station, over the reference's
/// channel and in its loop: a driver whose trace for B equals [`reference_for`]'s makes the
/// station's calls as the reference does. `b` is built with `setup`'s settings and started,
/// its link up, at [`Instant::ZERO`]; it reports its events into the trace it is handed (in
/// canonical form, [`Trace::push_line`]). Returns the traces of nodes A and B.
pub fn against_driver(setup: &Setup, b: &mut impl Driver) -> [Trace; 2] {
    against(setup, &Scenario::new(), b)
}

/// Node B as a driver of its own, which the reference's channel runs in place of a station
/// ([`against_driver`]): it is handed frames and wake-ups, and hands back what it put on the
/// air and what it reported.
pub trait Driver {
    /// `frame` reaches the node's radio at `now` (which is not transmitting then): the driver
    /// takes it and does what it does after any radio input, putting D_PDUs on `air` and
    /// events in `trace`.
    fn hear(&mut self, now: Instant, frame: &[u8], air: &mut Vec<OnAir>, trace: &mut Trace);
    /// The instant [`Driver::wake`] asked for has come: the driver does what is due.
    fn wake_up(&mut self, now: Instant, air: &mut Vec<OnAir>, trace: &mut Trace);
    /// When the driver next wants [`Driver::wake_up`].
    fn wake(&self) -> Option<Instant>;
}

/// One D_PDU a driver put on the air.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct OnAir {
    /// Its bytes.
    pub frame: Vec<u8>,
    /// Its timing as its link planned it (`Station::poll_transmit`'s), or `None` for a driver
    /// that hands its modem bytes only (the firmware's `Radio`): then the radio starts a
    /// transmission one preamble after it is handed a frame and sends the frames it is handed
    /// before it keys down back to back, as the link plans them (a link plans its next
    /// transmission only once the last has ended).
    pub planned: Option<Transmit>,
}

/// Runs the script with node A the reference's station and node B `b`: both links are up at
/// [`Instant::ZERO`], when node A publishes the artifact and submits the client message.
fn against(setup: &Setup, script: &Scenario, b: &mut dyn Driver) -> [Trace; 2] {
    let a_link = HostLink::build(LinkConfig::new(address(A), setup.modem), u16::MAX);
    let a_node = ref_node(script, setup, A, A, Some(NOW));
    let mut a = StationDriver::new(a_node, setup.node_sap, a_link, setup.b, Some(NOW));
    let now = Instant::ZERO;
    let _ = a.station.publish(now, Some(NOW), &script.artifact());
    let message = Scenario::client_message(now, setup.b);
    let _ = a.station.submit(now, LinkId(0), &message);
    let mut net = RefNet {
        traces: [Trace::naming(setup.b), Trace::naming(setup.b)],
        flights: Vec::new(),
        keyed: [Instant::ZERO; 2],
        next_on_air: [Instant::ZERO; 2],
        modem: setup.modem,
    };
    // The start: each node serves what its link's coming up (and node A's script) made.
    net.step(&mut a, 0, now, None);
    net.step(b, 1, now, None);
    let end = now + RUN_FOR;
    loop {
        let next_frame = net.flights.iter().map(|f| f.0).min();
        let wakes = [a.wake(), b.wake()];
        let next_wake = wakes.iter().flatten().min().copied();
        let Some(now) = next_frame.into_iter().chain(next_wake).min() else {
            break;
        };
        if now > end {
            break;
        }
        let (s, frame) = if next_frame == Some(now) {
            let i = net.flights.iter().position(|f| f.0 == now);
            let (_, to, frame) = net.flights.remove(i.unwrap_or_default());
            (to, Some(frame))
        } else {
            let s = wakes.iter().position(|w| *w == Some(now));
            (s.unwrap_or_default(), None)
        };
        match s {
            0 => net.step(&mut a, 0, now, frame),
            _ => net.step(b, 1, now, frame),
        }
    }
    net.traces
}

/// A scenario node of the host's node type: address `me`, jitter `seed`, wall clock `wall`,
/// holding the script's roots.
fn ref_node(
    script: &Scenario,
    setup: &Setup,
    me: u32,
    seed: u32,
    wall: Option<UnixTime>,
) -> Box<Node<FixedStorage<64>>> {
    let config = node::Config {
        address: Some(address(me)),
        jitter_seed: seed,
        ..node::Config::new(setup.node_sap)
    };
    Box::new(Node::new(
        config,
        script.trust(wall),
        FixedStorage::new(),
        wall,
    ))
}

/// The reference driver's channel and traces (the drivers are the caller's: they are of two
/// types when node B's is not the reference's station).
struct RefNet {
    traces: [Trace; 2],
    /// Frames on their way: arrival, receiving node, bytes.
    flights: Vec<(Instant, usize, Vec<u8>)>,
    /// Per node, when its radio keys down after its last transmission.
    keyed: [Instant; 2],
    /// Per node, when the next frame of the transmission under way would go on the air.
    next_on_air: [Instant; 2],
    modem: Modem,
}

impl RefNet {
    /// Node `s` (driven by `driver`) hears `frame` if its radio is not keyed or turning
    /// around, or is woken without one; what it puts on the air goes onto the channel.
    fn step(&mut self, driver: &mut dyn Driver, s: usize, now: Instant, frame: Option<Vec<u8>>) {
        let mut air = Vec::new();
        let Some(trace) = self.traces.get_mut(s) else {
            return;
        };
        match frame {
            Some(frame) => {
                let hears = self
                    .keyed
                    .get(s)
                    .is_some_and(|&k| k + self.modem.turnaround <= now);
                if hears {
                    driver.hear(now, &frame, &mut air, trace);
                }
            }
            None => driver.wake_up(now, &mut air, trace),
        }
        for sent in air {
            self.key(s, now, sent);
        }
    }

    /// Node `s` put `sent` on the air at `now`: its radio keys (or stays keyed) for it, and it
    /// reaches the other node one interleaver span after its last bit.
    fn key(&mut self, s: usize, now: Instant, sent: OnAir) {
        let (Some(keyed), Some(next)) = (self.keyed.get_mut(s), self.next_on_air.get_mut(s)) else {
            return;
        };
        let len = sent.frame.len();
        let (on_air, end) = match sent.planned {
            Some(t) => (t.on_air, t.end),
            None => {
                let on_air = if now < *keyed {
                    *next
                } else {
                    now + self.modem.preamble
                };
                (on_air, self.modem.arrival(on_air, len))
            }
        };
        *keyed = end;
        *next = on_air + self.modem.airtime(len);
        let arrival = self.modem.arrival(on_air, len);
        self.flights.push((arrival, 1 - s, sent.frame));
    }
}

/// The reference's station as a [`Driver`]: a frame is fed with `handle_input`, a wake-up
/// with `handle_timeout`, and after either come its transmissions, its events and its timer.
struct StationDriver<L: StationLink> {
    station: RefStation<L>,
    wall: Option<UnixTime>,
    wake: Option<Instant>,
}

impl<L: StationLink> StationDriver<L> {
    /// A station of `node` with `link` to `neighbour` (if the link could be built), its link
    /// up at [`Instant::ZERO`].
    fn new(
        node: Box<Node<FixedStorage<64>>>,
        node_sap: u8,
        link: Result<L, link::Error>,
        neighbour: u32,
        wall: Option<UnixTime>,
    ) -> Self {
        let mut station: RefStation<L> = Station::new(node, node_sap);
        if let Ok(link) = link {
            let _ = station.add_link(Box::new(link), &[address(neighbour)]);
        }
        let _ = station.link_up(Instant::ZERO, wall, LinkId(0));
        StationDriver {
            station,
            wall,
            wake: None,
        }
    }

    /// The station's transmissions, events and timer.
    fn serve(&mut self, now: Instant, air: &mut Vec<OnAir>, trace: &mut Trace) {
        let mut buf = [0u8; MAX_DPDU_LEN];
        while let Some(t) = self.station.poll_transmit(now, LinkId(0), &mut buf) {
            air.push(OnAir {
                frame: buf.get(..t.len).unwrap_or_default().to_vec(),
                planned: Some(t),
            });
        }
        while let Some(e) = self.station.poll_event() {
            trace.record(&e);
        }
        self.wake = self.station.poll_timeout().map(|t| t.max(now));
    }
}

impl<L: StationLink> Driver for StationDriver<L> {
    fn hear(&mut self, now: Instant, frame: &[u8], air: &mut Vec<OnAir>, trace: &mut Trace) {
        let _ = self.station.handle_input(now, self.wall, LinkId(0), frame);
        self.serve(now, air, trace);
    }

    /// The first wake-up, the start, only serves (what `link_up` and node A's publication and
    /// submission made); every later one is the armed instant.
    fn wake_up(&mut self, now: Instant, air: &mut Vec<OnAir>, trace: &mut Trace) {
        if self.wake.is_some() {
            self.station.handle_timeout(now, self.wall);
        }
        self.serve(now, air, trace);
    }

    fn wake(&self) -> Option<Instant> {
        self.wake
    }
}

/// The reference driver's station: the host's node type and link type `L`.
type RefStation<L> = Station<Box<Node<FixedStorage<64>>>, Box<L>, 1>;

/// A scenario address (A or B) as the 5066 address it is.
pub fn address(node: u32) -> Address {
    Address::new(node).unwrap_or(Address::BROADCAST)
}

/// What one station reported, in order and in canonical form.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Trace {
    lines: Vec<String>,
    /// The client messages seen, in the order of their first event: each is named by its place
    /// here (the ids themselves are each link's own numbering).
    clients: Vec<MessageId>,
    /// Node B's address, which lines name `B` (a driver's B may have its own address).
    b: u32,
}

impl Trace {
    /// An empty trace, node B at the script's address [`B`].
    pub fn new() -> Self {
        Self::naming(B)
    }

    /// An empty trace whose lines name address `b` as node `B`.
    pub fn naming(b: u32) -> Self {
        Trace {
            lines: Vec::new(),
            clients: Vec::new(),
            b,
        }
    }

    /// Appends `event` in canonical form.
    pub fn record(&mut self, event: &StationEvent<'_>) {
        let line = self.canonical(event);
        self.lines.push(line);
    }

    /// Appends a line a driver reported in its own words (the firmware's console), already in
    /// canonical form.
    pub fn push_line(&mut self, line: &str) {
        self.lines.push(line.to_string());
    }

    /// The lines so far.
    pub fn lines(&self) -> &[String] {
        &self.lines
    }

    /// `None` if `self` and `other` are the same; otherwise a report that names `ours` and
    /// `theirs`, the first line where they differ, and both traces in full.
    pub fn diff(&self, ours: &str, other: &Trace, theirs: &str) -> Option<String> {
        if self.lines == other.lines {
            return None;
        }
        let at = self
            .lines
            .iter()
            .zip(&other.lines)
            .position(|(a, b)| a != b)
            .unwrap_or(self.lines.len().min(other.lines.len()));
        let mut report = format!("the traces differ at line {at}\n");
        for (name, trace) in [(ours, self), (theirs, other)] {
            report.push_str(&format!("--- {name} ({} lines)\n", trace.lines.len()));
            for (i, line) in trace.lines.iter().enumerate() {
                let mark = if i == at { ">" } else { " " };
                report.push_str(&format!("{mark}{i:3} {line}\n"));
            }
        }
        Some(report)
    }

    fn client(&mut self, id: MessageId) -> String {
        let n = match self.clients.iter().position(|s| *s == id) {
            Some(n) => n,
            None => {
                self.clients.push(id);
                self.clients.len() - 1
            }
        };
        format!("client#{n}")
    }

    fn canonical(&mut self, event: &StationEvent<'_>) -> String {
        let b = self.b;
        let name = move |a: Address| name(a, b);
        match *event {
            StationEvent::Node(ref e) => node_event(e, name),
            StationEvent::PhysicalLink { peer, up, .. } => {
                let state = if up { "up" } else { "down" };
                format!("link-{state} peer={}", name(peer))
            }
            StationEvent::Reset { peer, .. } => format!("reset peer={}", name(peer)),
            StationEvent::Expired { dest, .. } => format!("expired to={}", name(dest)),
            StationEvent::NotQueued { dest, error, .. } => {
                format!("not-queued to={} error={error:?}", name(dest))
            }
            StationEvent::Received {
                src,
                header,
                service,
                payload,
                ..
            } => format!(
                "received from={} {} {service:?} {}",
                name(src),
                saps(header),
                String::from_utf8_lossy(payload)
            ),
            StationEvent::Delivered { id, .. } => format!("delivered {}", self.client(id)),
            StationEvent::Sent { id, .. } => format!("sent {}", self.client(id)),
            StationEvent::Failed { id, failure, .. } => {
                format!("failed {} {failure:?}", self.client(id))
            }
            StationEvent::Confirmed {
                from, header, echo, ..
            } => format!(
                "confirmed from={} {} {}",
                name(from),
                saps(header),
                String::from_utf8_lossy(echo)
            ),
            StationEvent::NotDelivered {
                from,
                header,
                reason,
                echo,
                ..
            } => format!(
                "not-delivered from={} {} {reason:?} {}",
                name(from),
                saps(header),
                String::from_utf8_lossy(echo)
            ),
            StationEvent::Guard(r) => {
                format!("guard {:?} seq={} refusal={:?}", r.end, r.seq, r.refusal)
            }
        }
    }
}

impl Default for Trace {
    fn default() -> Self {
        Self::new()
    }
}

/// A node event in canonical form: artifacts by kind, domain, id and version (their digests are
/// the same everywhere, but say less to a reader).
fn node_event(e: &NodeEvent, name: impl Fn(Address) -> String) -> String {
    match e {
        NodeEvent::Admitted { artifact, from } => format!(
            "admitted {:?} {} id={} version={} from={}",
            artifact.kind,
            artifact.domain,
            artifact.id,
            artifact.version,
            from.map_or_else(|| "local".to_string(), &name)
        ),
        NodeEvent::Refused { refusal, from } => format!(
            "refused {} from={}",
            refusal.kind(),
            from.map_or_else(|| "local".to_string(), name)
        ),
        NodeEvent::Malformed { from, error } => {
            format!("malformed from={} {error:?}", name(*from))
        }
        NodeEvent::StorageFailed(e) => format!("storage-failed {e:?}"),
        NodeEvent::OutboxFull(to) => format!("outbox-full to={}", name(*to)),
    }
}

/// A scenario node by its letter (`b` is node B's address); any other address as itself.
fn name(a: Address, b: u32) -> String {
    match a.value() {
        A => "A".to_string(),
        v if v == b => "B".to_string(),
        other => format!("{other}"),
    }
}

fn saps(h: SpduHeader) -> String {
    format!("sap={}>{} priority={}", h.src_sap, h.dest_sap, h.priority)
}
