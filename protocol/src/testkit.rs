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

use crate::link::{self, Config as LinkConfig, HostLink, MessageId, Modem, SpduHeader};
use crate::node::{self, FixedStorage, Node, NodeEvent};
use crate::policy::TrustStore;
use crate::policy::sample::NOW;
use crate::policy::sample::{self, Coalition};
use crate::policy::{Artifact, Revoked};
use crate::station::StationEvent;
use crate::station::{LinkId, Station};
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

    /// A trust store holding [`Scenario::roots`], as both nodes start.
    pub fn trust(&self) -> TrustStore {
        let mut trust = TrustStore::new();
        for root in self.roots() {
            let _ = trust.add_root(&root, Some(NOW));
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

    /// The client message node A submits at `now`: ARQ, from SAP 5 to SAP 5 of node B, no
    /// delivery confirmation.
    pub fn client_message(now: Instant) -> link::Message<'static> {
        link::Message {
            dest: address(B),
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

/// The scenario under the reference driver: two stations with the host's link type on an
/// idealised channel (every frame arrives, one modem latency after its last bit, unless its
/// receiver is transmitting), driven in the simulator's shape: one arrival or wake-up at a
/// time, then that station's transmissions, events and next wake-up. Returns the traces of
/// nodes A and B, which every real driver's must equal.
pub fn reference() -> [Trace; 2] {
    let script = Scenario::new();
    let mut net = RefNet {
        stations: Vec::new(),
        traces: [Trace::new(), Trace::new()],
        flights: Vec::new(),
        wakes: [None, None],
        keyed: [Instant::ZERO; 2],
        modem: Modem::hf_2400_short(),
    };
    for me in [A, B] {
        let trust = script.trust();
        let config = node::Config {
            address: Some(address(me)),
            jitter_seed: me,
            ..node::Config::new(NODE_SAP)
        };
        let node = Box::new(Node::new(config, trust, FixedStorage::new(), Some(NOW)));
        let mut station = Station::new(node, NODE_SAP);
        let other = if me == A { B } else { A };
        if let Ok(link) = HostLink::new(LinkConfig::new(address(me), net.modem)) {
            let _ = station.add_link(Box::new(link), &[address(other)]);
        }
        let _ = station.link_up(Instant::ZERO, Some(NOW), LinkId(0));
        net.stations.push(station);
    }
    let now = Instant::ZERO;
    if let Some(a) = net.stations.first_mut() {
        let _ = a.publish(now, Some(NOW), &script.artifact());
        let _ = a.submit(now, LinkId(0), &Scenario::client_message(now));
    }
    net.serve(0, now);
    net.serve(1, now);
    let end = now + RUN_FOR;
    loop {
        let next_frame = net.flights.iter().map(|f| f.0).min();
        let next_wake = net.wakes.iter().flatten().min().copied();
        let Some(now) = next_frame.into_iter().chain(next_wake).min() else {
            break;
        };
        if now > end {
            break;
        }
        let s = if next_frame == Some(now) {
            let i = net.flights.iter().position(|f| f.0 == now);
            let (_, to, frame) = net.flights.remove(i.unwrap_or_default());
            let hears = net
                .keyed
                .get(to)
                .is_some_and(|&k| k + net.modem.turnaround <= now);
            if let (true, Some(st)) = (hears, net.stations.get_mut(to)) {
                let _ = st.handle_input(now, Some(NOW), LinkId(0), &frame);
            }
            to
        } else {
            let s = net.wakes.iter().position(|w| *w == Some(now));
            let s = s.unwrap_or_default();
            if let Some(st) = net.stations.get_mut(s) {
                st.handle_timeout(now, Some(NOW));
            }
            s
        };
        net.serve(s, now);
    }
    net.traces
}

/// The reference driver's two stations and their channel.
struct RefNet {
    stations: Vec<RefStation>,
    traces: [Trace; 2],
    /// Frames on their way: arrival, receiving station, bytes.
    flights: Vec<(Instant, usize, Vec<u8>)>,
    /// Per station, when its timer is armed.
    wakes: [Option<Instant>; 2],
    /// Per station, when its radio keys down after its last transmission.
    keyed: [Instant; 2],
    modem: Modem,
}

impl RefNet {
    /// Station `s`'s transmissions (onto the channel), events (into its trace) and timer.
    fn serve(&mut self, s: usize, now: Instant) {
        let Some(st) = self.stations.get_mut(s) else {
            return;
        };
        let mut buf = [0u8; MAX_DPDU_LEN];
        while let Some(t) = st.poll_transmit(now, LinkId(0), &mut buf) {
            if let Some(k) = self.keyed.get_mut(s) {
                *k = t.end;
            }
            let frame = buf.get(..t.len).unwrap_or_default().to_vec();
            let arrival = self.modem.arrival(t.on_air, t.len);
            self.flights.push((arrival, 1 - s, frame));
        }
        if let Some(trace) = self.traces.get_mut(s) {
            while let Some(e) = st.poll_event() {
                trace.record(&e);
            }
        }
        if let Some(w) = self.wakes.get_mut(s) {
            *w = st.poll_timeout().map(|t| t.max(now));
        }
    }
}

/// The reference driver's station: the host's node and link types.
type RefStation = Station<Box<Node<FixedStorage<64>>>, Box<HostLink>, 1>;

/// A scenario address (A or B) as the 5066 address it is.
pub fn address(node: u32) -> Address {
    Address::new(node).unwrap_or(Address::BROADCAST)
}

/// What one station reported, in order and in canonical form.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Trace {
    lines: Vec<String>,
    /// The client messages seen, in the order of their first event: each is named by its place
    /// here (the ids themselves are each link's own numbering).
    clients: Vec<MessageId>,
}

impl Trace {
    /// An empty trace.
    pub fn new() -> Self {
        Self::default()
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
        match *event {
            StationEvent::Node(ref e) => node_event(e),
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

/// A node event in canonical form: artifacts by kind, domain, id and version (their digests are
/// the same everywhere, but say less to a reader).
fn node_event(e: &NodeEvent) -> String {
    match e {
        NodeEvent::Admitted { artifact, from } => format!(
            "admitted {:?} {} id={} version={} from={}",
            artifact.kind,
            artifact.domain,
            artifact.id,
            artifact.version,
            from.map_or_else(|| "local".to_string(), name)
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

/// A scenario node by its letter; any other address as itself.
fn name(a: Address) -> String {
    match a.value() {
        A => "A".to_string(),
        B => "B".to_string(),
        other => format!("{other}"),
    }
}

fn saps(h: SpduHeader) -> String {
    format!("sap={}>{} priority={}", h.src_sap, h.dest_sap, h.priority)
}
