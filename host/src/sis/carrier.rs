//! What carries a link's U_PDUs: Skywave's own data transfer sublayer over an HF modem, or
//! another 5066 node reached as an SIS client.
//!
//! The core drives every link through the same calls (quinn-proto's shape, as
//! [`HostLink`] has them): `submit`, `handle_input`, `poll_transmit`, `poll_event`,
//! `poll_timeout`, `handle_timeout`. [`Carrier`] forwards them to a [`HostLink`] for an HF
//! link, or to a [`SisCarrier`] for a link through someone else's 5066 node. The SIS carrier
//! has no ARQ of its own (the other node does that): `poll_transmit` hands out framed
//! S_UNIDATA_REQUESTs for the bearer to write to the node's SIS port, and `handle_input` takes
//! the framed primitives the bearer read back: indications become received U_PDUs,
//! confirmations delivered messages, rejections failed ones. Its queue is ordered by priority
//! like the link's, and it keeps time-to-die the same way, so Skywave's traffic behaves alike
//! on both kinds of link.

use std::collections::VecDeque;
use std::fmt;

use skywave_protocol::link::{
    self, Answer, ConfirmRequest, Event as LinkEvent, Failure, HostLink, MAX_UPDU_LEN, Message,
    MessageId, Mode, Received, Service, SpduHeader, SubmitError, Transmit,
};
use skywave_protocol::sis::{
    self, Packet, Primitive, ServiceType, SisAddress, UnidataRequest, confirm, tx_mode,
};
use skywave_protocol::station::StationLink;
use skywave_protocol::time::Instant;
use skywave_protocol::wire::Address;

/// Messages a SIS carrier queues before [`SubmitError::QueueFull`], as many as a host link.
const QUEUE: usize = 32;
/// Requests written to the node and not yet confirmed before the carrier waits.
const OUTSTANDING: usize = 16;
/// The time-to-live field counts in units of this (milliseconds).
const TTL_UNIT_MS: u64 = 2000;

/// Why an input was not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputError {
    /// An HF link refused a D_PDU.
    Link(link::Error),
    /// The bytes are not a SIS primitive.
    Sis(sis::Error),
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Link(e) => e.fmt(f),
            InputError::Sis(e) => write!(f, "SIS: {e}"),
        }
    }
}

/// A link's carrier.
pub enum Carrier {
    /// Skywave's own data transfer sublayer, over an HF modem.
    Hf(Box<HostLink>),
    /// Another 5066 node, as its SIS client.
    Sis(Box<SisCarrier>),
}

impl Carrier {
    /// Queues a U_PDU.
    pub fn submit(&mut self, now: Instant, m: &Message<'_>) -> Result<MessageId, SubmitError> {
        match self {
            Carrier::Hf(l) => l.submit(now, m),
            Carrier::Sis(s) => s.submit(now, m),
        }
    }

    /// Takes what the bearer read: a D_PDU, or a framed SIS primitive.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), InputError> {
        match self {
            Carrier::Hf(l) => l.handle_input(now, bytes).map_err(InputError::Link),
            Carrier::Sis(s) => s.handle_input(bytes).map_err(InputError::Sis),
        }
    }

    /// When [`Carrier::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Carrier::Hf(l) => l.poll_timeout(),
            Carrier::Sis(s) => s.poll_timeout(),
        }
    }

    /// Acts on the passage of time.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self {
            Carrier::Hf(l) => l.handle_timeout(now),
            Carrier::Sis(s) => s.handle_timeout(now),
        }
    }

    /// The next frame for the bearer, written into `buf`.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        match self {
            Carrier::Hf(l) => l.poll_transmit(now, buf),
            Carrier::Sis(s) => s.poll_transmit(now, buf),
        }
    }

    /// The next report or received U_PDU.
    pub fn poll_event(&mut self) -> Option<LinkEvent<'_>> {
        match self {
            Carrier::Hf(l) => l.poll_event(),
            Carrier::Sis(s) => s.poll_event(),
        }
    }

    /// Answers a received U_PDU's client confirmation request ([`HostLink::answer`]). Over a
    /// 5066 node there are none: that node answers for its own clients.
    pub fn answer(&mut self, request: ConfirmRequest, answer: Answer) {
        if let Carrier::Hf(l) = self {
            l.answer(request, answer);
        }
    }

    /// Which SAPs have a client on this node (bit n for SAP n), so an HF link answers client
    /// confirmation requests for the others with DATA DELIVERY FAIL. Over a 5066 node the node
    /// answers for its own SAPs: nothing to do.
    pub fn set_bound_saps(&mut self, saps: u16) {
        if let Carrier::Hf(l) = self {
            l.set_bound_saps(saps);
        }
    }

    /// The node a physical link is made with (HF only).
    pub fn peer(&self) -> Option<Address> {
        match self {
            Carrier::Hf(l) => l.peer(),
            Carrier::Sis(_) => None,
        }
    }

    /// Messages queued (for a SIS carrier: queued or waiting for the node's confirmation).
    pub fn queued(&self) -> usize {
        match self {
            Carrier::Hf(l) => l.queued(),
            Carrier::Sis(s) => s.queue.len() + s.outstanding.len(),
        }
    }

    /// Messages the carrier's queue holds in all (a SIS carrier's queue has no fixed size; it
    /// is given a link's, so the node's and the clients' traffic are paced alike).
    pub fn capacity(&self) -> usize {
        match self {
            Carrier::Hf(l) => StationLink::capacity(&**l),
            Carrier::Sis(_) => SIS_CAPACITY,
        }
    }

    /// Queued messages by priority.
    pub fn queued_by_priority(&self) -> [usize; 16] {
        match self {
            Carrier::Hf(l) => l.queued_by_priority(),
            Carrier::Sis(s) => {
                let mut counts = [0; 16];
                for q in s.queue.iter().chain(s.outstanding.iter()) {
                    if let Some(c) = counts.get_mut(usize::from(q.header.priority)) {
                        *c += 1;
                    }
                }
                counts
            }
        }
    }

    /// The bearer lost its connection: what the node had not confirmed is sent again.
    pub fn connection_lost(&mut self) {
        if let Carrier::Sis(s) = self {
            s.connection_lost();
        }
    }

    /// Whether frames are D_PDUs (which a capture may record as link type 237).
    pub fn is_hf(&self) -> bool {
        matches!(self, Carrier::Hf(_))
    }
}

/// A carrier is a station's link like any [`HostLink`]: the station drives HF links and links
/// through another 5066 node alike.
impl StationLink for Carrier {
    type InputError = InputError;

    fn submit(&mut self, now: Instant, message: &Message<'_>) -> Result<MessageId, SubmitError> {
        Carrier::submit(self, now, message)
    }

    fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), InputError> {
        Carrier::handle_input(self, now, bytes)
    }

    fn handle_timeout(&mut self, now: Instant) {
        Carrier::handle_timeout(self, now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        Carrier::poll_transmit(self, now, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Carrier::poll_timeout(self)
    }

    fn poll_event(&mut self) -> Option<LinkEvent<'_>> {
        Carrier::poll_event(self)
    }

    fn answer(&mut self, request: ConfirmRequest, answer: Answer) {
        Carrier::answer(self, request, answer);
    }

    fn queued(&self) -> usize {
        Carrier::queued(self)
    }

    fn capacity(&self) -> usize {
        Carrier::capacity(self)
    }
}

/// [`Carrier::capacity`] of a SIS carrier: a [`HostLink`]'s.
const SIS_CAPACITY: usize = link::HOST_QUEUE + link::CONTROL_SLOTS;

/// A message in the SIS carrier's hands.
#[derive(Clone, Debug)]
struct Queued {
    id: MessageId,
    dest: Address,
    header: SpduHeader,
    mode: Mode,
    ttd: Instant,
    data: Vec<u8>,
}

/// A report waiting for `poll_event`.
#[derive(Clone, Copy, Debug)]
enum Note {
    Delivered(MessageId),
    Sent(MessageId),
    Failed(MessageId),
}

/// A U_PDU from the node waiting for `poll_event`.
struct Inbound {
    src: Address,
    service: Service,
    header: SpduHeader,
    data: Vec<u8>,
}

/// Skywave's traffic as an SIS client of another 5066 node.
pub struct SisCarrier {
    node_sap: u8,
    next_id: u32,
    queue: Vec<Queued>,
    outstanding: VecDeque<Queued>,
    flow_on: bool,
    notes: VecDeque<Note>,
    inbox: VecDeque<Inbound>,
    current: Vec<u8>,
}

impl SisCarrier {
    /// A carrier whose received U_PDUs go to Skywave's SAP `node_sap` (whatever SAP the
    /// bearer bound on the other node: everything that arrives there is Skywave's).
    pub fn new(node_sap: u8) -> Self {
        SisCarrier {
            node_sap,
            next_id: 0,
            queue: Vec::new(),
            outstanding: VecDeque::new(),
            flow_on: true,
            notes: VecDeque::new(),
            inbox: VecDeque::new(),
            current: Vec::new(),
        }
    }

    fn submit(&mut self, now: Instant, m: &Message<'_>) -> Result<MessageId, SubmitError> {
        if m.ttd <= now {
            return Err(SubmitError::Expired);
        }
        if m.data.len() > MAX_UPDU_LEN {
            return Err(SubmitError::TooLarge);
        }
        if m.header.priority > 15 {
            return Err(SubmitError::Priority);
        }
        if m.header.dest_sap > 15 || m.header.src_sap > 15 {
            return Err(SubmitError::Sap);
        }
        if self.queue.len() >= QUEUE {
            return Err(SubmitError::QueueFull);
        }
        let id = MessageId(self.next_id);
        self.next_id = self.next_id.wrapping_add(1);
        self.queue.push(Queued {
            id,
            dest: m.dest,
            header: m.header,
            mode: m.mode,
            ttd: m.ttd,
            data: m.data.to_vec(),
        });
        Ok(id)
    }

    fn handle_input(&mut self, bytes: &[u8]) -> Result<(), sis::Error> {
        let packet = Packet::new_checked(bytes)?;
        match Primitive::parse_packet(&packet)? {
            Primitive::UnidataIndication {
                expedited,
                indication: i,
            } => {
                let service = match (i.tx_mode, expedited) {
                    (tx_mode::ARQ, false) => Service::Arq,
                    (tx_mode::ARQ, true) => Service::ExpeditedArq,
                    (_, false) => Service::NonArq,
                    (_, true) => Service::ExpeditedNonArq,
                };
                self.inbox.push_back(Inbound {
                    src: i.src.address,
                    service,
                    header: SpduHeader {
                        priority: i.priority,
                        src_sap: i.src_sap,
                        dest_sap: self.node_sap,
                    },
                    data: i.updu.to_vec(),
                });
            }
            Primitive::UnidataConfirm { report, .. } => {
                if let Some(q) = self.answered(report.dest, report.sap, report.updu) {
                    self.notes.push_back(Note::Delivered(q.id));
                }
            }
            Primitive::UnidataRejected { report, .. } => {
                tracing::warn!(reason = report.reason, dest = %report.dest.address, "the 5066 node rejected a U_PDU");
                if let Some(q) = self.answered(report.dest, report.sap, report.updu) {
                    self.notes.push_back(Note::Failed(q.id));
                }
            }
            Primitive::DataflowOff => self.flow_on = false,
            Primitive::DataflowOn => self.flow_on = true,
            Primitive::SubnetAvailability { status, reason } => {
                tracing::info!(status, reason, "5066 node subnetwork availability");
            }
            other => tracing::debug!(kind = other.kind(), "SIS primitive not used"),
        }
        Ok(())
    }

    /// Removes and returns the oldest outstanding request a confirmation or rejection names
    /// (the node may echo only the first bytes of the U_PDU).
    fn answered(&mut self, dest: SisAddress, sap: u8, echo: &[u8]) -> Option<Queued> {
        let at = self.outstanding.iter().position(|q| {
            (dest.group || q.dest == dest.address)
                && q.header.dest_sap == sap
                && q.data.starts_with(echo)
        })?;
        self.outstanding.remove(at)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.queue
            .iter()
            .chain(self.outstanding.iter())
            .map(|q| q.ttd)
            .min()
    }

    fn handle_timeout(&mut self, now: Instant) {
        let notes = &mut self.notes;
        self.queue.retain(|q| {
            let alive = q.ttd > now;
            if !alive {
                notes.push_back(Note::Failed(q.id));
            }
            alive
        });
        self.outstanding.retain(|q| {
            let alive = q.ttd > now;
            if !alive {
                notes.push_back(Note::Failed(q.id));
            }
            alive
        });
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        if !self.flow_on || self.outstanding.len() >= OUTSTANDING {
            return None;
        }
        self.handle_timeout(now);
        // Highest priority first, first come first served within one.
        let best = (0..self.queue.len()).max_by_key(|&i| {
            let q = self.queue.get(i);
            (q.map_or(0, |q| q.header.priority), std::cmp::Reverse(i))
        })?;
        let q = self.queue.remove(best);
        let (expedited, tx, in_order, repeats) = match q.mode {
            Mode::Arq { in_order } => (false, tx_mode::ARQ, in_order, 1),
            Mode::ExpeditedArq => (true, tx_mode::ARQ, true, 1),
            Mode::NonArq { repeats } => (false, tx_mode::NON_ARQ, false, repeats),
            Mode::ExpeditedNonArq { repeats } => (true, tx_mode::NON_ARQ, false, repeats),
        };
        let arq = tx == tx_mode::ARQ;
        let left = (q.ttd - now).millis();
        let ttl = left.div_ceil(TTL_UNIT_MS).clamp(1, u64::from(sis::MAX_TTL)) as u32;
        let dest = if q.dest == Address::BROADCAST {
            SisAddress::BROADCAST
        } else {
            SisAddress::node(q.dest)
        };
        let request = Primitive::UnidataRequest {
            expedited,
            request: UnidataRequest {
                priority: q.header.priority,
                dest_sap: q.header.dest_sap,
                dest,
                service: ServiceType {
                    tx_mode: tx,
                    // Node confirmation is what tells the carrier an ARQ message arrived.
                    confirm: if arq { confirm::NODE } else { confirm::NONE },
                    in_order,
                    extended: false,
                    min_retransmissions: repeats.saturating_sub(1).min(15),
                },
                ttl,
                updu: &q.data,
            },
        };
        let len = match request.emit(buf) {
            Ok(len) => len,
            Err(e) => {
                tracing::error!(%e, "U_PDU not encodable as S_UNIDATA_REQUEST");
                self.notes.push_back(Note::Failed(q.id));
                return None;
            }
        };
        if arq {
            self.outstanding.push_back(q);
        } else {
            self.notes.push_back(Note::Sent(q.id));
        }
        Some(Transmit {
            len,
            first: true,
            last: true,
            on_air: now,
            end: now,
        })
    }

    fn poll_event(&mut self) -> Option<LinkEvent<'_>> {
        if let Some(note) = self.notes.pop_front() {
            return Some(match note {
                Note::Delivered(id) => LinkEvent::Delivered(id),
                Note::Sent(id) => LinkEvent::Sent(id),
                Note::Failed(id) => LinkEvent::Failed(id, Failure::Expired),
            });
        }
        let inbound = self.inbox.pop_front()?;
        self.current = inbound.data;
        Some(LinkEvent::Received(Received {
            src: inbound.src,
            service: inbound.service,
            header: inbound.header,
            // An S_UNIDATA_INDICATION does not say whether its sender asked for confirmation:
            // the 5066 node this carrier talks to answered for it.
            confirm: None,
            data: &self.current,
        }))
    }

    fn connection_lost(&mut self) {
        self.flow_on = true;
        while let Some(q) = self.outstanding.pop_back() {
            self.queue.insert(0, q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::sis::{UnidataIndication, UnidataReport};
    use skywave_protocol::time::Duration;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn message(data: &[u8], priority: u8, mode: Mode) -> Message<'_> {
        Message {
            dest: Address::new(2).unwrap(),
            header: SpduHeader {
                priority,
                src_sap: 13,
                dest_sap: 13,
            },
            mode,
            confirm: false,
            ttd: Instant::from_millis(0) + secs(60),
            data,
        }
    }

    fn frame(p: &Primitive<'_>) -> Vec<u8> {
        let mut buf = vec![0u8; p.frame_len()];
        p.emit(&mut buf).unwrap();
        buf
    }

    #[test]
    fn requests_go_by_priority_and_confirmations_deliver_them() {
        let now = Instant::from_millis(0);
        let mut c = Carrier::Sis(Box::new(SisCarrier::new(13)));
        let arq = Mode::Arq { in_order: false };
        let low = c.submit(now, &message(b"low", 2, arq)).unwrap();
        let high = c.submit(now, &message(b"high", 9, arq)).unwrap();
        let mut buf = vec![0u8; crate::sis::MAX_FRAME];
        let tx = c.poll_transmit(now, &mut buf).unwrap();
        let packet = Packet::new_checked(&buf[..tx.len]).unwrap();
        let Primitive::UnidataRequest { request, .. } = Primitive::parse_packet(&packet).unwrap()
        else {
            panic!("not a request");
        };
        assert_eq!(request.updu, b"high");
        assert_eq!(request.service.confirm, confirm::NODE);
        assert_eq!(request.ttl, 30);
        assert!(c.poll_transmit(now, &mut buf).is_some());
        assert_eq!(c.queued(), 2);
        let confirm = frame(&Primitive::UnidataConfirm {
            expedited: false,
            report: UnidataReport {
                reason: 0,
                sap: 13,
                dest: SisAddress::node(Address::new(2).unwrap()),
                updu: b"lo",
            },
        });
        c.handle_input(now, &confirm).unwrap();
        assert_eq!(c.poll_event(), Some(LinkEvent::Delivered(low)));
        assert_eq!(c.poll_event(), None);
        c.handle_timeout(now + secs(61));
        assert_eq!(
            c.poll_event(),
            Some(LinkEvent::Failed(high, Failure::Expired))
        );
        assert_eq!(c.queued(), 0);
    }

    #[test]
    fn indications_arrive_for_skywave_and_dataflow_off_holds_requests() {
        let now = Instant::from_millis(0);
        let mut c = Carrier::Sis(Box::new(SisCarrier::new(13)));
        let ind = frame(&Primitive::UnidataIndication {
            expedited: false,
            indication: UnidataIndication {
                priority: 4,
                dest_sap: 14,
                dest: SisAddress::node(Address::new(1).unwrap()),
                tx_mode: tx_mode::ARQ,
                src_sap: 13,
                src: SisAddress::node(Address::new(3).unwrap()),
                blocks: &[],
                updu: b"artifact",
            },
        });
        c.handle_input(now, &ind).unwrap();
        let Some(LinkEvent::Received(r)) = c.poll_event() else {
            panic!("nothing received");
        };
        assert_eq!(
            (r.src.value(), r.header.dest_sap, r.data),
            (3, 13, &b"artifact"[..])
        );
        c.handle_input(now, &frame(&Primitive::DataflowOff))
            .unwrap();
        c.submit(now, &message(b"x", 1, Mode::NonArq { repeats: 2 }))
            .unwrap();
        let mut buf = vec![0u8; crate::sis::MAX_FRAME];
        assert!(c.poll_transmit(now, &mut buf).is_none());
        c.handle_input(now, &frame(&Primitive::DataflowOn)).unwrap();
        assert!(c.poll_transmit(now, &mut buf).is_some());
        assert!(matches!(c.poll_event(), Some(LinkEvent::Sent(_))));
        assert!(c.handle_input(now, b"\x90\xEB\x00\x00\x01\x63").is_err());
    }
}
