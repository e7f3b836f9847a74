//! [`AgentLink`]: one of the agent's links as its station sees it, a [`Carrier`] with what the
//! host adds on the Skywave SAP: compressed BATCH U_PDUs and the CAPS announcement that says
//! this agent reads them.
//!
//! The station drives it like any link (`StationLink`), so the agent has no pump of its own:
//! the station pulls the node's messages while the link has room and submits them one by one;
//! this link holds the ARQ artifacts for a neighbour that reads batches until the station's
//! round is over (the next `poll_transmit` or `handle_timeout`, which the station's driver
//! always makes next) and packs each run into one BATCH U_PDU. The station follows every node
//! message by the id `submit` returned, so a batch's outcome is reported once per message in
//! it. On the way in, a BATCH is unpacked into the messages it carries (each handed to the
//! node as heard), and a neighbour's CAPS is noted and goes no further.

use std::collections::{HashMap, VecDeque};

use skywave_protocol::link::{
    self, Answer, ConfirmRequest, Event as LinkEvent, Failure, HostLink, MAX_UPDU_LEN, Message,
    MessageId, Mode, Received, Service, SpduHeader, SubmitError, Transmit,
};
use skywave_protocol::node::message::tag;
use skywave_protocol::station::StationLink;
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::Address;

use super::config::{BearerConfig, LinkConfig};
use crate::compress;
use crate::sis::carrier::{Carrier, InputError, SisCarrier};

/// How long a CAPS announcement is worth sending.
const CAPS_TTD: Duration = Duration::from_millis(600_000);
/// CAPS goes with the inventory messages.
const CAPS_PRIORITY: u8 = 12;

/// Which neighbours on one link have our CAPS, so it goes to each once per life rather than at
/// every physical link: at 75 bit/s a CAPS and its acknowledgements are seconds of air, and
/// the reply they draw changes how a link's turns go.
#[derive(Default)]
struct CapsAnnouncements {
    /// Announcements queued on the link and not yet acknowledged.
    pending: Vec<(MessageId, Address)>,
    /// Neighbours whose link acknowledged our CAPS since their ARQ state was last reset.
    delivered: Vec<Address>,
}

impl CapsAnnouncements {
    /// Whether `dest` should be sent CAPS now: neither has it nor has one on the way.
    fn wanted(&self, dest: Address) -> bool {
        !self.delivered.contains(&dest) && !self.pending.iter().any(|&(_, d)| d == dest)
    }

    /// Notes the outcome of message `id`; says whether it was a CAPS announcement.
    fn settle(&mut self, id: MessageId, delivered: bool) -> bool {
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

/// A U_PDU in the link's hands, owned: a node message held for a batch, or a report waiting
/// for `poll_event`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    dest: Address,
    header: SpduHeader,
    mode: Mode,
    ttd: Instant,
    data: Vec<u8>,
}

impl Pending {
    fn message(&self) -> Message<'_> {
        Message {
            dest: self.dest,
            header: self.header,
            mode: self.mode,
            confirm: false,
            ttd: self.ttd,
            data: &self.data,
        }
    }
}

/// A link report, owned until `poll_event` lends it.
#[derive(Clone, Debug)]
enum Report {
    Received {
        src: Address,
        service: Service,
        header: SpduHeader,
        confirm: Option<ConfirmRequest>,
        data: Vec<u8>,
    },
    Confirmed {
        from: Address,
        header: SpduHeader,
        echo: Vec<u8>,
    },
    NotDelivered {
        from: Address,
        header: SpduHeader,
        reason: u8,
        echo: Vec<u8>,
    },
    Delivered(MessageId),
    Sent(MessageId),
    Failed(MessageId, Failure),
    LinkUp(Address),
    LinkDown(Address),
    Reset(Address),
}

impl Report {
    fn event(&self) -> LinkEvent<'_> {
        match self {
            Report::Received {
                src,
                service,
                header,
                confirm,
                data,
            } => LinkEvent::Received(Received {
                src: *src,
                service: *service,
                header: *header,
                confirm: *confirm,
                data,
            }),
            Report::Confirmed { from, header, echo } => LinkEvent::Confirmed {
                from: *from,
                header: *header,
                echo,
            },
            Report::NotDelivered {
                from,
                header,
                reason,
                echo,
            } => LinkEvent::NotDelivered {
                from: *from,
                header: *header,
                reason: *reason,
                echo,
            },
            Report::Delivered(id) => LinkEvent::Delivered(*id),
            Report::Sent(id) => LinkEvent::Sent(*id),
            Report::Failed(id, f) => LinkEvent::Failed(*id, *f),
            Report::LinkUp(p) => LinkEvent::LinkUp(*p),
            Report::LinkDown(p) => LinkEvent::LinkDown(*p),
            Report::Reset(p) => LinkEvent::Reset(*p),
        }
    }
}

/// One link of the agent: a [`Carrier`] that batches node messages and announces CAPS. See
/// the [module documentation](self).
pub struct AgentLink {
    carrier: Carrier,
    /// The Skywave SAP: only node messages are batched, and only there CAPS and BATCH mean
    /// anything.
    sap: u8,
    neighbours: Vec<Address>,
    /// Neighbours that announced they read compressed batches.
    readers: Vec<Address>,
    caps: CapsAnnouncements,
    /// Neighbours to send CAPS at the next flush (if [`CapsAnnouncements::wanted`]).
    caps_due: Vec<Address>,
    /// Node messages held for a batch, with the ids `submit` gave them.
    held: Vec<(MessageId, Pending)>,
    /// Since when held messages or due announcements wait: `poll_timeout` asks for then.
    due_since: Option<Instant>,
    /// The carrier's id of each message it holds, with the ids `submit` gave out for it (one,
    /// or one per message in a batch).
    ids: HashMap<MessageId, Vec<MessageId>>,
    next_id: u32,
    reports: VecDeque<Report>,
    /// The report `poll_event` lent last.
    lent: Option<Report>,
    /// The latest instant the driver gave: when received U_PDUs were heard.
    now: Instant,
    last_heard: Vec<(Address, Instant)>,
}

impl AgentLink {
    /// A link over `carrier` for the node on SAP `sap`, reaching `neighbours`. Every neighbour
    /// is sent CAPS at the first flush.
    pub fn new(carrier: Carrier, sap: u8, neighbours: &[Address]) -> Self {
        AgentLink {
            carrier,
            sap,
            neighbours: neighbours.to_vec(),
            readers: Vec::new(),
            caps: CapsAnnouncements::default(),
            caps_due: neighbours.to_vec(),
            held: Vec::new(),
            due_since: Some(Instant::ZERO),
            ids: HashMap::new(),
            next_id: 0,
            reports: VecDeque::new(),
            lent: None,
            now: Instant::ZERO,
            last_heard: Vec::new(),
        }
    }

    /// The carrier.
    pub fn carrier(&self) -> &Carrier {
        &self.carrier
    }

    /// Tells the carrier which SAPs have a client here (a bit per SAP): call it whenever a
    /// SIS client binds or unbinds, so data for the others is delivered to nobody and a
    /// confirmation request for them is answered DATA DELIVERY FAIL (Annex A).
    pub fn set_bound_saps(&mut self, saps: u16) {
        self.carrier.set_bound_saps(saps);
    }

    /// The bearer came up at `now`: every neighbour that lacks our CAPS is sent it (it may
    /// have expired while the bearer was down).
    pub fn bearer_up(&mut self, now: Instant) {
        self.caps_due.extend_from_slice(&self.neighbours);
        self.due_since.get_or_insert(now);
    }

    /// The bearer lost its connection ([`Carrier::connection_lost`]).
    pub fn connection_lost(&mut self) {
        self.carrier.connection_lost();
    }

    /// Whether `neighbour` announced that it reads batches.
    pub fn reads_batches(&self, neighbour: Address) -> bool {
        self.readers.contains(&neighbour)
    }

    /// Whether `neighbour`'s link acknowledged our CAPS.
    pub fn has_our_caps(&self, neighbour: Address) -> bool {
        self.caps.delivered.contains(&neighbour)
    }

    /// When a U_PDU from `neighbour` last arrived.
    pub fn last_heard(&self, neighbour: Address) -> Option<Instant> {
        self.last_heard
            .iter()
            .find(|(a, _)| *a == neighbour)
            .map(|(_, t)| *t)
    }

    fn new_id(&mut self) -> MessageId {
        self.next_id = self.next_id.wrapping_add(1);
        MessageId(self.next_id)
    }

    /// Submits held messages (packed into batches) and due CAPS announcements to the carrier.
    fn flush(&mut self, now: Instant) {
        self.due_since = None;
        for dest in std::mem::take(&mut self.caps_due) {
            if self.caps.wanted(dest) {
                self.announce(now, dest);
            }
        }
        let held = std::mem::take(&mut self.held);
        for (outer, message) in batch(held, &self.readers) {
            match self.carrier.submit(now, &message.message()) {
                Ok(id) => {
                    self.ids.insert(id, outer);
                }
                Err(e) => {
                    // Batches are cut to fit a U_PDU, so this is rare; the station hears each
                    // message failed, and the node's next inventory exchange offers it again.
                    tracing::warn!(%e, dest = %message.dest, "batch not queued");
                    let failed = outer
                        .into_iter()
                        .map(|o| Report::Failed(o, Failure::Expired));
                    self.reports.extend(failed);
                }
            }
        }
    }

    /// Tells `dest` that this agent reads compressed batches.
    fn announce(&mut self, now: Instant, dest: Address) {
        let caps = compress::caps();
        let message = Message {
            dest,
            header: SpduHeader {
                priority: CAPS_PRIORITY,
                src_sap: self.sap,
                dest_sap: self.sap,
            },
            mode: Mode::Arq { in_order: false },
            confirm: false,
            ttd: now + CAPS_TTD,
            data: &caps,
        };
        match self.carrier.submit(now, &message) {
            Ok(id) => self.caps.pending.push((id, dest)),
            Err(e) => tracing::warn!(%dest, %e, "CAPS not queued"),
        }
    }

    /// Turns one of the carrier's reports into the station's: CAPS and BATCH on the Skywave
    /// SAP are the host's, outcomes go back to the ids `submit` gave out.
    fn translate(&mut self, report: Report) {
        match report {
            Report::Received {
                src,
                service,
                header,
                confirm,
                data,
            } => {
                // Only configured neighbours are tracked: a forged source address must not
                // grow the table.
                let known = self.neighbours.contains(&src);
                match self.last_heard.iter_mut().find(|(a, _)| *a == src) {
                    Some(entry) => entry.1 = self.now,
                    None if known => self.last_heard.push((src, self.now)),
                    None => {}
                }
                let node = header.dest_sap == self.sap;
                let own = node && matches!(data.first(), Some(&(compress::CAPS | compress::BATCH)));
                if let (true, Some(request)) = (own, confirm) {
                    // This link takes CAPS and BATCH itself, as the station takes the node's
                    // messages: confirmed (ours never ask; another stack's might).
                    self.carrier.answer(request, Answer::Confirm);
                }
                match data.first() {
                    Some(&compress::CAPS) if node => {
                        if known && compress::reads_batches(&data) && !self.readers.contains(&src) {
                            tracing::info!(neighbour = %src, "neighbour reads compressed batches");
                            self.readers.push(src);
                        }
                    }
                    Some(&compress::BATCH) if node => match compress::unpack(&data) {
                        Ok(messages) => {
                            self.reports
                                .extend(messages.into_iter().map(|data| Report::Received {
                                    src,
                                    service,
                                    header,
                                    confirm: None,
                                    data,
                                }))
                        }
                        Err(e) => tracing::warn!(%src, %e, "batch refused"),
                    },
                    _ => self.reports.push_back(Report::Received {
                        src,
                        service,
                        header,
                        confirm,
                        data,
                    }),
                }
            }
            Report::Delivered(id) if self.caps.settle(id, true) => {}
            Report::Failed(id, _) if self.caps.settle(id, false) => {}
            Report::Delivered(id) => self.settle(id, Report::Delivered),
            Report::Sent(id) => self.settle(id, Report::Sent),
            Report::Failed(id, failure) => self.settle(id, |o| Report::Failed(o, failure)),
            Report::LinkUp(peer) => {
                // Our CAPS may have expired while this neighbour was away.
                self.caps_due_for(peer);
                self.reports.push_back(Report::LinkUp(peer));
            }
            Report::Reset(peer) => {
                self.caps.forget(peer);
                self.caps_due_for(peer);
                self.reports.push_back(Report::Reset(peer));
            }
            other => self.reports.push_back(other),
        }
    }

    fn caps_due_for(&mut self, peer: Address) {
        if self.neighbours.contains(&peer) {
            self.caps_due.push(peer);
            self.due_since.get_or_insert(self.now);
        }
    }

    /// Reports carrier message `id`'s outcome for every id `submit` gave out for it.
    fn settle(&mut self, id: MessageId, report: impl Fn(MessageId) -> Report) {
        for outer in self.ids.remove(&id).unwrap_or_default() {
            self.reports.push_back(report(outer));
        }
    }
}

impl StationLink for AgentLink {
    type InputError = InputError;

    fn submit(&mut self, now: Instant, message: &Message<'_>) -> Result<MessageId, SubmitError> {
        self.now = self.now.max(now);
        let batchable = message.header.dest_sap == self.sap
            && self.readers.contains(&message.dest)
            && message.data.first() == Some(&tag::ARTIFACT)
            && matches!(message.mode, Mode::Arq { .. });
        if batchable {
            let id = self.new_id();
            self.held.push((
                id,
                Pending {
                    dest: message.dest,
                    header: message.header,
                    mode: message.mode,
                    ttd: message.ttd,
                    data: message.data.to_vec(),
                },
            ));
            self.due_since.get_or_insert(now);
            return Ok(id);
        }
        let inner = self.carrier.submit(now, message)?;
        let id = self.new_id();
        self.ids.insert(inner, vec![id]);
        Ok(id)
    }

    fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), InputError> {
        self.now = self.now.max(now);
        self.carrier.handle_input(now, bytes)
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        self.flush(now);
        self.carrier.handle_timeout(now);
    }

    fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.now = self.now.max(now);
        if self.due_since.is_some() {
            self.flush(now);
        }
        self.carrier.poll_transmit(now, buf)
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.carrier
            .poll_timeout()
            .into_iter()
            .chain(self.due_since)
            .min()
    }

    fn poll_event(&mut self) -> Option<LinkEvent<'_>> {
        while self.reports.is_empty() {
            let report = match self.carrier.poll_event()? {
                LinkEvent::Received(r) => Report::Received {
                    src: r.src,
                    service: r.service,
                    header: r.header,
                    confirm: r.confirm,
                    data: r.data.to_vec(),
                },
                LinkEvent::Confirmed { from, header, echo } => Report::Confirmed {
                    from,
                    header,
                    echo: echo.to_vec(),
                },
                LinkEvent::NotDelivered {
                    from,
                    header,
                    reason,
                    echo,
                } => Report::NotDelivered {
                    from,
                    header,
                    reason,
                    echo: echo.to_vec(),
                },
                LinkEvent::Delivered(id) => Report::Delivered(id),
                LinkEvent::Sent(id) => Report::Sent(id),
                LinkEvent::Failed(id, f) => Report::Failed(id, f),
                LinkEvent::LinkUp(p) => Report::LinkUp(p),
                LinkEvent::LinkDown(p) => Report::LinkDown(p),
                LinkEvent::Reset(p) => Report::Reset(p),
            };
            self.translate(report);
        }
        self.lent = self.reports.pop_front();
        self.lent.as_ref().map(Report::event)
    }

    fn answer(&mut self, request: ConfirmRequest, answer: Answer) {
        self.carrier.answer(request, answer);
    }

    fn queued(&self) -> usize {
        self.carrier.queued() + self.held.len()
    }

    fn capacity(&self) -> usize {
        self.carrier.capacity()
    }
}

/// Packs runs of artifacts to the same neighbour, if it reads batches, into compressed
/// BATCH U_PDUs that fit one U_PDU, each with the ids of the messages in it; everything else
/// goes as it is.
fn batch(
    messages: Vec<(MessageId, Pending)>,
    readers: &[Address],
) -> Vec<(Vec<MessageId>, Pending)> {
    let mut out: Vec<(Vec<MessageId>, Pending)> = Vec::new();
    let mut run: Vec<(MessageId, Pending)> = Vec::new();
    let flush =
        |run: &mut Vec<(MessageId, Pending)>, out: &mut Vec<(Vec<MessageId>, Pending)>| match run
            .len()
        {
            0 => {}
            1 => out.extend(run.drain(..).map(|(id, p)| (vec![id], p))),
            _ => match compress::pack(run.iter().map(|(_, p)| p.data.as_slice())) {
                Ok(data) => {
                    let first = &run[0].1;
                    let packed = Pending {
                        dest: first.dest,
                        header: first.header,
                        mode: first.mode,
                        ttd: run.iter().map(|(_, p)| p.ttd).max().unwrap_or(first.ttd),
                        data,
                    };
                    out.push((run.iter().map(|(id, _)| *id).collect(), packed));
                    run.clear();
                }
                Err(_) => out.extend(run.drain(..).map(|(id, p)| (vec![id], p))),
            },
        };
    for (id, m) in messages {
        let batchable = readers.contains(&m.dest)
            && m.data.first() == Some(&tag::ARTIFACT)
            && matches!(m.mode, Mode::Arq { .. });
        let joins = run
            .first()
            .is_some_and(|(_, f)| f.dest == m.dest && f.header == m.header);
        if !batchable || !joins {
            flush(&mut run, &mut out);
        }
        if !batchable {
            out.push((vec![id], m));
            continue;
        }
        run.push((id, m));
        let fits = compress::pack(run.iter().map(|(_, p)| p.data.as_slice()))
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

/// Where the non-ARQ C_PDU IDs of the agent's link number `index` start: `seed` plus `index`
/// when a test fixed it ([`AgentConfig::cpdu_id_seed`]), else, in this life of the agent, from
/// the clock's nanoseconds and the process id, so an agent killed and restarted within a
/// neighbour's reception window does not reuse the IDs its broadcasts just had (they would be
/// taken for repeats and dropped).
///
/// [`AgentConfig::cpdu_id_seed`]: crate::agent::config::AgentConfig::cpdu_id_seed
pub(crate) fn first_cpdu_id(seed: Option<u16>, index: usize) -> u16 {
    if let Some(seed) = seed {
        return seed.wrapping_add(index as u16);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let mixed = (nanos ^ std::process::id().rotate_left(16)).wrapping_mul(0x9E37_79B9);
    (mixed >> 20) as u16
}

/// The link layer's settings for HF link `cfg` of the node at `address`, its non-ARQ C_PDU IDs
/// starting at `first_cpdu_id`.
pub(crate) fn hf_config(address: Address, cfg: &LinkConfig, first_cpdu_id: u16) -> link::Config {
    link::Config {
        first_cpdu_id,
        reset_after_link: cfg.reset_after_link,
        ..link::Config::new(address, cfg.modem)
    }
}

/// The carrier for link `cfg` of the node at `address` on SAP `sap`: an HF link (its non-ARQ
/// C_PDU IDs starting at `first_cpdu_id`), or a SIS carrier for a link through another 5066
/// node.
pub fn carrier(
    address: Address,
    sap: u8,
    cfg: &LinkConfig,
    first_cpdu_id: u16,
) -> anyhow::Result<Carrier> {
    let mut carrier = match cfg.bearer {
        BearerConfig::Sis(_) => Carrier::Sis(Box::new(SisCarrier::new(sap))),
        _ => {
            let config = hf_config(address, cfg, first_cpdu_id);
            let hf =
                HostLink::new(config).map_err(|e| anyhow::anyhow!("link {}: {e}", cfg.name))?;
            Carrier::Hf(Box::new(hf))
        }
    };
    // Only the node's own SAP has a client until SIS clients bind (Annex A: data for the
    // others is delivered to nobody, and a confirmation request is answered FAIL).
    carrier.set_bound_saps(1 << sap);
    Ok(carrier)
}

#[cfg(test)]
mod tests;
