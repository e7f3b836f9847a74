//! The adjunct: one Skywave station (node, trust store, storage, one radio link) in fixed
//! memory, and the glue between it, the radio's byte stream and the local console.
//!
//! The protocol core is sans-IO; this module is its driver on the board, in the same shape as
//! the host agent and the simulator: bytes from the radio go through the [`Deframer`] into
//! [`Station::handle_input`], the station's timer is served from the SysTick clock, every
//! D_PDU it wants on the air is written to the radio UART, and what it reports becomes
//! `event` lines on the console. The protocol's `station` module does the node/link glue; the
//! only thing added here is the hardware and the console.
//!
//! Sizes (docs/firmware.md has the table and the measured totals) are chosen for a board with
//! 64 KiB of RAM and one radio: a trust store for a coalition of a few nations (12
//! credentials, 4 policies and 6 translators in 512-byte slots, 16 revocation entries), the
//! artifacts kept for forwarding in 6 KiB, and a link that still takes full 1023-byte segments
//! from a host (whose window is larger than ours: frames beyond our receive slots go
//! unacknowledged and are sent again).
//!
//! The adjunct has no trusted wall clock: every admission and decision runs with time `None`,
//! so validity windows are not checked and revocation is what withdraws a key (see the trust
//! store's documentation).

use core::fmt::Write;
use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

use skywave_persist::{Journal, JournalError, Persisted, ReplayStats, Replayed};
use skywave_protocol::link::{self, Link};
use skywave_protocol::node::{self, ArenaStorage, Node, NodeEvent};
use skywave_protocol::policy::{Label, Refusal, TrustStore};
use skywave_protocol::station::{LinkId, Station, StationError, StationEvent};
use skywave_protocol::time::{Duration, Instant};
use skywave_protocol::wire::{
    Address, Deframer, Event as FrameEvent, MAX_DPDU_LEN, MAX_SEGMENT_LEN,
};

use crate::console::{self, LineBuffer, Request, RequestError};
use crate::provision;

// The guarded adjunct: its identity, the `send` request and the guard's console lines.
#[cfg(feature = "guard")]
mod guarded;

/// Credentials the trust store holds, roots included.
#[cfg(not(feature = "guard"))]
pub const CREDENTIALS: usize = 12;
/// Credentials the trust store holds, roots included: the guarded adjunct also holds node
/// credentials (its own and its peers', which name their domains), a few per domain, and each
/// domain's share of the table is a third of it.
#[cfg(feature = "guard")]
pub const CREDENTIALS: usize = 15;
/// Policies (the latest version of each).
pub const POLICIES: usize = 4;
/// Translators (the latest version of each).
pub const TRANSLATORS: usize = 6;
/// Revocation entries over all domains.
pub const REVOKED: usize = 16;
/// Bytes a policy or translator slot of the trust store holds: the sample coalition's largest
/// is 222 (GBR's policy), so 512 leaves room for a policy of twice as many rules, and the ten
/// slots take 5 KB less RAM than full 1023-byte ones. A longer policy or translator is
/// refused (`SlotTooSmall`) and not kept.
pub const HELD: usize = 512;
/// Conflicts kept as evidence, per domain: none. The board has nowhere to persist or report
/// them (the host agent does, docs/store.md), and each slot would cost a 1023-byte artifact per
/// domain; conflicting artifacts are refused all the same.
pub const EVIDENCE: usize = 0;
/// Revocation deltas of each domain kept for neighbours that are behind (more behind take the
/// checkpoint or the next SUMMARY round): the adjunct is a leaf, and every record costs RAM.
pub const REVOCATION_HISTORY: u16 = 1;
/// Artifacts kept for forwarding: everything the trust store admits, and each provisioned
/// domain's history and checkpoint (`node::storage_slots`, for the domains provisioned rather
/// than the most a node can know), so each domain's equal share holds what its room admits.
pub const STORED: usize = node::storage_slots(
    CREDENTIALS,
    POLICIES,
    TRANSLATORS,
    REVOCATION_HISTORY as usize,
    provision::DOMAINS,
);
/// Bytes of artifacts kept for forwarding: 2 KiB for each of three domains, which holds a
/// domain's credentials, policy, translators and latest delta at their real sizes.
pub const STORED_BYTES: usize = 6 * 1024;
/// The largest C_PDU: one full artifact in a node message, with S_PDU and C_PDU headers.
pub const CPDU: usize =
    skywave_protocol::policy::MAX_ARTIFACT_LEN + 1 + link::pdu::MAX_CPDU_OVERHEAD;
/// Client C_PDUs queued in the link; the link's own (CAS-1, confirmations) have 3 small places
/// beside them (`link::CONTROL_SLOTS`), so the link holds 5 in all, as when they shared one
/// queue of full places (1,080 B each: 3 KB less), and the station's reserve of 4
/// (`station::LINK_RESERVE`) leaves one to the node's messages, as before.
pub const LINK_QUEUE: usize = 2;
/// ARQ receive slots; the send window is this less the segments of one C_PDU.
pub const RX_SLOTS: usize = 4;
/// Our ARQ send window.
const ARQ_WINDOW: u8 = (RX_SLOTS - CPDU.div_ceil(MAX_SEGMENT_LEN)) as u8;

/// The trust store, sized for the board.
pub type BoardTrust = TrustStore<CREDENTIALS, POLICIES, TRANSLATORS, REVOKED, EVIDENCE, HELD>;
/// Artifact storage, packed, and every artifact recorded in the trust journal before it is
/// kept (when the board has one: the self-test runs without).
pub type BoardStorage = Persisted<ArenaStorage<STORED, STORED_BYTES>>;
/// The node: 8 queued messages, 2 artifacts waiting for a dependency, 4 neighbours, 32
/// artifacts remembered per neighbour, 8 events.
pub type BoardNode = Node<BoardStorage, BoardTrust, 8, 2, 4, 32, 8>;
/// The radio link: full segments, 4 receive slots (window 2), 2 expedited slots, one non-ARQ
/// C_PDU at a time.
pub type BoardLink = Link<LINK_QUEUE, CPDU, RX_SLOTS, MAX_SEGMENT_LEN, 2, 1, 1>;
/// Labelled data a held message carries: what one console line can submit (160 bytes of line,
/// the label and the data in hex).
pub const GUARDED_LEN: usize = 64;
/// The station: the node and its one radio link; the guard's tables (feature `guard`; nothing
/// without it): one labelled message held of up to [`GUARDED_LEN`] bytes, one report waiting
/// for the console, replay windows for 4 origins (the radio's neighbours).
pub type BoardStation = Station<BoardNode, BoardLink, 1, 1, GUARDED_LEN, 1, 4>;

/// How long the radio line must be quiet before a partial frame is given up on (the end of a
/// transmission).
const IDLE_FLUSH: Duration = Duration::from_millis(200);

/// Why the adjunct could not start. Each means the image was built wrong: build.rs checks the
/// provisioning file, so none should happen with an image it accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StartError {
    /// The provisioned address is not a valid 5066 address.
    Address,
    /// The trust store refused root number `index`.
    Root {
        /// Its position in the provisioning file's `trust.roots`.
        index: usize,
        /// Why.
        refusal: Refusal,
    },
    /// The link refused its configuration.
    Link(link::Error),
    /// The station refused the link or its neighbours.
    Station(StationError),
    /// The provisioned node key is no P-256 secret.
    #[cfg(feature = "guard")]
    NodeKey,
    /// The trust store refused the provisioned node credential.
    #[cfg(feature = "guard")]
    NodeCredential(Refusal),
    /// The trust journal could not say where its binding sequence reservations end: guarding
    /// without that could sign a number used before the reset, which peers refuse.
    #[cfg(feature = "guard")]
    Sequence(JournalError),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            StartError::Address => f.write_str("provisioned address invalid"),
            StartError::Root { index, refusal } => write!(f, "root {index} refused: {refusal}"),
            StartError::Link(e) => write!(f, "link: {e}"),
            StartError::Station(e) => write!(f, "station: {e}"),
            #[cfg(feature = "guard")]
            StartError::NodeKey => f.write_str("node key"),
            #[cfg(feature = "guard")]
            StartError::NodeCredential(r) => write!(f, "node credential: {r}"),
            #[cfg(feature = "guard")]
            StartError::Sequence(e) => write!(f, "binding sequence: {e}"),
        }
    }
}

/// Counters the console reports, beyond the link's and the station's own.
#[derive(Clone, Copy, Default, Debug)]
pub struct Counters {
    /// Bytes read from the radio UART.
    pub radio_bytes: u64,
    /// Frames the station's link refused (unsound, or senseless in its state).
    pub link_refused: u64,
    /// Why the last one was refused.
    pub last_link_error: Option<link::Error>,
    /// Artifacts admitted.
    pub admitted: u64,
    /// Artifacts refused.
    pub refused: u64,
    /// Node messages that did not parse.
    pub malformed: u64,
    /// Admitted artifacts that did not fit storage.
    pub storage_failed: u64,
    /// Node messages dropped because the outbox was full.
    pub outbox_full: u64,
}

/// Somewhere to write D_PDUs for the air.
pub trait Radio {
    /// Sends `bytes` (one D_PDU) to the modem.
    fn send(&mut self, bytes: &[u8]);
}

/// The running adjunct.
pub struct Adjunct {
    station: BoardStation,
    link: LinkId,
    deframer: Deframer,
    /// When radio bytes last arrived while a frame was incomplete.
    last_rx: Option<Instant>,
    frames_good: u64,
    tx: [u8; MAX_DPDU_LEN],
    line: LineBuffer,
    counters: Counters,
    booted: Instant,
    restored: Option<Result<ReplayStats, JournalError>>,
    /// The binding sequence numbers reserved in the trust journal (to `u64::MAX` without a
    /// journal: nothing to reserve in).
    #[cfg(feature = "guard")]
    seq: skywave_protocol::label::sequence::SeqReservation,
}

impl Adjunct {
    /// Builds the adjunct in `slot` (a static, so its ~53 KiB count as static RAM and not as
    /// stack) from the provisioned roots, address and neighbours, and brings its link up: the
    /// node queues a SUMMARY to each neighbour, which is how a rebooted adjunct asks to be
    /// caught up.
    ///
    /// With a `journal`, everything it holds is admitted again before the link comes up, through
    /// the node's own admission (verified as if it had come over the air; what no longer admits,
    /// such as a translator revoked since, is refused), and every artifact admitted from then on
    /// is recorded in it before the node reports it admitted. [`Adjunct::restored`] says what
    /// the replay did.
    ///
    /// The station is written in place from `const fn` constructors (the node, its trust store
    /// and storage start empty; the roots go in afterwards), so it needs no stack of its size.
    /// The link is the one part still built on the stack and then moved into the station (an
    /// 18.6 KB frame in `install_link`, the boot peak): `Link::new` validates its
    /// configuration, so it is not `const`, and a move into the station's link table is not
    /// elided.
    // Out of line (as are the other entry points below) so that the main loop's frame holds
    // none of their locals: each runs in a frame of its own, one at a time, instead of every
    // path's locals adding up in `run`.
    #[inline(never)]
    pub fn start(
        slot: &'static mut MaybeUninit<Adjunct>,
        now: Instant,
        journal: Option<&'static dyn Journal>,
    ) -> Result<&'static mut Adjunct, StartError> {
        let address = Address::new(provision::ADDRESS).map_err(|_| StartError::Address)?;
        let p = slot.as_mut_ptr();
        // SAFETY: every field is written exactly once here through pointers into `slot`, before
        // `assume_init_mut` below; nothing reads them before that.
        unsafe {
            install_station(addr_of_mut!((*p).station), address, journal)?;
            addr_of_mut!((*p).link).write(LinkId(0));
            addr_of_mut!((*p).deframer).write(Deframer::new());
            addr_of_mut!((*p).last_rx).write(None);
            addr_of_mut!((*p).frames_good).write(0);
            addr_of_mut!((*p).tx).write([0; MAX_DPDU_LEN]);
            addr_of_mut!((*p).line).write(LineBuffer::new());
            addr_of_mut!((*p).counters).write(Counters::default());
            addr_of_mut!((*p).booted).write(now);
            addr_of_mut!((*p).restored).write(None);
            #[cfg(feature = "guard")]
            addr_of_mut!((*p).seq).write(guarded::unbounded_seq());
        }
        // SAFETY: all fields were written just above.
        let adjunct = unsafe { slot.assume_init_mut() };
        adjunct.link = install_link(&mut adjunct.station, address)?;
        if let Some(journal) = journal {
            adjunct.restored = Some(adjunct.restore(now, journal));
        }
        #[cfg(feature = "guard")]
        adjunct.enable_guard(now)?;
        adjunct
            .station
            .link_up(now, None, adjunct.link)
            .map_err(StartError::Station)?;
        Ok(adjunct)
    }

    /// Admits everything `journal` holds, before any neighbour is up (so nothing is queued to
    /// one: the SUMMARY after link-up tells them what we hold). The node's events of the
    /// replay are dropped, not reported: they are the boot's, and the journal's stats say it.
    #[inline(never)]
    fn restore(
        &mut self,
        now: Instant,
        journal: &'static dyn Journal,
    ) -> Result<ReplayStats, JournalError> {
        let station = &mut self.station;
        journal.replay(&mut |bytes| {
            let outcome = match station.publish(now, None, bytes) {
                Ok(a) if a.duplicate => Replayed::Duplicate,
                Ok(_) => Replayed::Admitted,
                Err(_) => Replayed::Refused,
            };
            while station.poll_event().is_some() {}
            outcome
        })
    }

    /// What restoring the trust journal at boot did: `None` without a journal.
    pub const fn restored(&self) -> Option<Result<ReplayStats, JournalError>> {
        self.restored
    }

    /// Admits an artifact made on the board itself (as an operator's `publish` on a host):
    /// recorded in the journal and queued to every neighbour that is up. The persistence test
    /// admits the sample coalition this way.
    pub fn publish(
        &mut self,
        now: Instant,
        bytes: &[u8],
    ) -> Result<skywave_protocol::policy::Admitted, Refusal> {
        let result = self.station.publish(now, None, bytes);
        while self.station.poll_event().is_some() {}
        result
    }

    /// The station (for the self-test and status).
    pub const fn station(&self) -> &BoardStation {
        &self.station
    }

    /// The counters.
    pub const fn counters(&self) -> Counters {
        self.counters
    }

    /// Takes bytes read from the radio UART at `now`.
    #[inline(never)]
    pub fn radio_input(&mut self, now: Instant, mut bytes: &[u8]) {
        self.counters.radio_bytes += bytes.len() as u64;
        while !bytes.is_empty() {
            let taken = self.deframer.feed(bytes);
            bytes = bytes.get(taken..).unwrap_or_default();
            self.drain_frames(now);
        }
        self.last_rx = (self.deframer.pending() > 0).then_some(now);
    }

    /// Hands every frame the deframer has found to the station: good ones, and those whose
    /// data is damaged (the link still uses their sound header, as the host does).
    fn drain_frames(&mut self, now: Instant) {
        while let Some(event) = self.deframer.poll() {
            let frame = match event {
                FrameEvent::Good { frame, .. } => {
                    self.frames_good += 1;
                    frame
                }
                FrameEvent::BadData { frame, .. } => frame,
                FrameEvent::BadHeader { .. } => continue,
            };
            if let Err(e) = self
                .station
                .handle_input(now, None, self.link, frame.as_bytes())
            {
                self.counters.link_refused += 1;
                if let StationError::Link(e) = e {
                    self.counters.last_link_error = Some(e);
                }
            }
        }
    }

    /// Does everything due at `now`: gives up on a partial frame after a quiet line, serves
    /// the station's timer, sends what it wants on the air, and reports its events on the
    /// console. Call every time round the main loop.
    #[inline(never)]
    pub fn poll(&mut self, now: Instant, radio: &mut impl Radio, console: &mut impl Write) {
        if let Some(at) = self.last_rx
            && now - at >= IDLE_FLUSH
        {
            self.deframer.flush();
            self.drain_frames(now);
            self.last_rx = None;
        }
        if self.station.poll_timeout().is_some_and(|t| t <= now) {
            self.station.handle_timeout(now, None);
        }
        while let Some(tx) = self.station.poll_transmit(now, self.link, &mut self.tx) {
            // A frame may carry a message sealed just now: its sequence number is reserved
            // before it leaves. If the journal cannot reserve it, the frame is lost as on the
            // air, and ARQ sends it again.
            #[cfg(feature = "guard")]
            if !self.reserve_seq() {
                continue;
            }
            radio.send(self.tx.get(..tx.len).unwrap_or_default());
        }
        while let Some(event) = self.station.poll_event() {
            Self::report(&mut self.counters, console, &event);
        }
    }

    /// Counts an event and writes it as an `event` line (the event borrows the station, so
    /// this takes only the counters).
    fn report(c: &mut Counters, out: &mut impl Write, event: &StationEvent<'_>) {
        let _ = match event {
            StationEvent::Node(NodeEvent::Admitted { artifact, from }) => {
                c.admitted += 1;
                let _ = out.write_str("event admitted ");
                let _ = console::write_ref(out, artifact);
                match from {
                    Some(from) => writeln!(out, " from={}", from.value()),
                    None => writeln!(out, " from=local"),
                }
            }
            StationEvent::Node(NodeEvent::Refused { refusal, from }) => {
                c.refused += 1;
                let from = from.map_or(0, Address::value);
                writeln!(out, "event refused from={from} reason={refusal}")
            }
            StationEvent::Node(NodeEvent::Malformed { from, error }) => {
                c.malformed += 1;
                writeln!(out, "event malformed from={} error={error}", from.value())
            }
            StationEvent::Node(NodeEvent::StorageFailed(e)) => {
                c.storage_failed += 1;
                writeln!(out, "event storage-failed error={e}")
            }
            StationEvent::Node(NodeEvent::OutboxFull(to)) => {
                c.outbox_full += 1;
                writeln!(out, "event outbox-full to={}", to.value())
            }
            StationEvent::PhysicalLink { peer, up, .. } => {
                let state = if *up { "up" } else { "down" };
                writeln!(out, "event link-{state} peer={}", peer.value())
            }
            StationEvent::Reset { peer, .. } => {
                writeln!(out, "event reset peer={}", peer.value())
            }
            StationEvent::Expired { dest, .. } => {
                writeln!(out, "event expired to={}", dest.value())
            }
            StationEvent::NotQueued { dest, error, .. } => {
                writeln!(out, "event not-queued to={} error={error}", dest.value())
            }
            // The guarded adjunct's client: every guard decision, and the data released to it.
            #[cfg(feature = "guard")]
            StationEvent::Guard(report) => guarded::write_report(out, report),
            #[cfg(feature = "guard")]
            StationEvent::Received {
                src,
                header,
                payload,
                ..
            } => guarded::write_received(out, *src, header.dest_sap, payload),
            // Without the guard the board serves no clients: client data is dropped (counted
            // as `foreign` in the station's status line), and it submits none, so no client
            // message's fate comes back. No line per U_PDU: the self-test image has no flash
            // to spare. With no client it enables no guard (`Station::enable_guard`), so no
            // guard decision is reported either. The guarded adjunct's client learns its
            // message's fate from its `event guard` line.
            #[cfg(not(feature = "guard"))]
            StationEvent::Received { .. } | StationEvent::Guard(_) => Ok(()),
            StationEvent::Delivered { .. }
            | StationEvent::Sent { .. }
            | StationEvent::Failed { .. }
            | StationEvent::Confirmed { .. }
            | StationEvent::NotDelivered { .. } => Ok(()),
        };
    }

    /// Takes bytes read from the console UART; answers each complete request line.
    #[inline(never)]
    pub fn console_input(&mut self, now: Instant, bytes: &[u8], out: &mut impl Write) {
        for &byte in bytes {
            let Some(line) = self.line.push(byte) else {
                continue;
            };
            let request = line.and_then(console::parse);
            let _ = self.answer(now, request, out);
        }
    }

    /// Answers one request.
    pub fn answer(
        &mut self,
        now: Instant,
        request: Result<Request, RequestError>,
        out: &mut impl Write,
    ) -> core::fmt::Result {
        let request = match request {
            Ok(r) => r,
            Err(e) => return writeln!(out, "error {e}"),
        };
        match request {
            Request::Empty => return Ok(()),
            Request::Help => out.write_str(console::HELP)?,
            // Answered with its own `ok` or `error` line.
            #[cfg(feature = "guard")]
            Request::Send(send) => return self.send(now, &send, out),
            Request::Decide(q) => self.write_decide(&q, out)?,
            Request::Frames => {
                let s = self.deframer.stats();
                writeln!(
                    out,
                    "frames: {} good, {} bad-header, {} bad-data, {} noise-bytes",
                    self.frames_good, s.bad_header, s.bad_data, s.noise_bytes
                )?;
            }
            Request::Status => self.write_status(now, out)?,
        }
        writeln!(out, "ok")
    }

    /// Answers `decide`: the policy decision and its lineage.
    // Out of line, as `write_status` and the guarded image's `send` are: each answer's locals
    // in a frame of its own, so none of them is on the stack under `send`'s station pump
    // (which goes as deep as admission: docs/firmware-guard.md).
    #[inline(never)]
    fn write_decide(&self, q: &console::DecideRequest, out: &mut impl Write) -> core::fmt::Result {
        let label = Label {
            domain: q.domain,
            policy: q.policy,
            classification: q.classification,
            categories: &q.categories,
        };
        let decision = self.station.node().decide(&label, q.audience, None);
        console::write_decision(out, &decision)
    }

    #[inline(never)]
    fn write_status(&self, now: Instant, out: &mut impl Write) -> core::fmt::Result {
        use skywave_protocol::node::Storage;
        use skywave_protocol::policy::Kind;

        let node = self.station.node();
        writeln!(
            out,
            "status address={} roots={} uptime_ms={} stack_peak={} boot_stack_peak={}",
            provision::ADDRESS,
            provision::ROOTS.len(),
            (now - self.booted).millis(),
            crate::stack::peak(),
            crate::stack::boot_peak()
        )?;
        let storage = node.storage();
        let mut counts = [0usize; 5];
        for i in 0..storage.len() {
            if let Some((a, _)) = storage.get(i) {
                let k = match a.kind {
                    Kind::Credential => 0,
                    Kind::Policy | Kind::PolicyDelta => 1,
                    Kind::Translator => 2,
                    Kind::Revocation | Kind::Checkpoint => 3,
                };
                if let Some(n) = counts.get_mut(k) {
                    *n += 1;
                }
            }
        }
        writeln!(
            out,
            "held credentials={} policies={} translators={} revocations={} bytes={}/{}",
            counts[0],
            counts[1],
            counts[2],
            counts[3],
            storage.inner().used_bytes(),
            storage.inner().capacity_bytes()
        )?;
        for i in 0..storage.len() {
            if let Some((a, _)) = storage.get(i) {
                out.write_str("artifact ")?;
                console::write_ref(out, &a)?;
                writeln!(out)?;
            }
        }
        for (domain, seq) in node.trust().revocation_seqs() {
            writeln!(out, "revocation {domain} seq={seq}")?;
        }
        if let Some(link) = self.station.link(self.link) {
            let s = link.stats();
            writeln!(
                out,
                "link frames_rx={} frames_tx={} bad_frames={} ignored={} retransmissions={} \
                 transmissions={} timeouts={} queued={}",
                s.frames_received,
                s.frames_sent,
                s.bad_frames,
                s.ignored,
                s.retransmissions,
                s.transmissions,
                s.timeouts,
                link.queued()
            )?;
        }
        let d = self.deframer.stats();
        let c = &self.counters;
        writeln!(
            out,
            "radio bytes={} good={} bad_header={} bad_data={} noise_bytes={} refused_by_link={}",
            c.radio_bytes,
            self.frames_good,
            d.bad_header,
            d.bad_data,
            d.noise_bytes,
            c.link_refused
        )?;
        if let Some(e) = c.last_link_error {
            writeln!(out, "radio last_refusal={e}")?;
        }
        writeln!(
            out,
            "node admitted={} refused={} malformed={} storage_failed={} outbox_full={} queued={}",
            c.admitted,
            c.refused,
            c.malformed,
            c.storage_failed,
            c.outbox_full,
            node.queued()
        )?;
        let s = self.station.stats();
        writeln!(
            out,
            "station received={} submitted={} not_queued={} expired={} foreign={}",
            s.received, s.submitted, s.not_queued, s.expired, s.foreign
        )
    }
}

/// Writes the station (trust store with the provisioned roots, empty storage recording into
/// `journal`, node) to `dst`. The node knows its own `address`, which also seeds its SUMMARY
/// jitter, so adjuncts that boot together do not key up together every interval.
///
/// # Safety
/// `dst` must be valid for writes of a [`BoardStation`]; what it held is overwritten, not
/// dropped.
#[inline(never)]
unsafe fn install_station(
    dst: *mut BoardStation,
    address: Address,
    journal: Option<&'static dyn Journal>,
) -> Result<(), StartError> {
    let mut config = node::Config::new(provision::SAP);
    config.address = Some(address);
    config.jitter_seed = address.value();
    config.revocation_history = REVOCATION_HISTORY;
    let storage = BoardStorage::new(ArenaStorage::new(), journal);
    let node = Node::empty(config, BoardTrust::empty(), storage);
    // SAFETY: the caller's promise. Every constructor here is a `const fn` struct literal, so
    // the compiler writes the station straight into `dst` instead of assembling it on the stack.
    let station = unsafe {
        dst.write(Station::new(node, provision::SAP));
        &mut *dst
    };
    let trust = station.node_mut().trust_mut();
    for (index, root) in provision::ROOTS.iter().enumerate() {
        trust
            .add_root(root, None)
            .map_err(|refusal| StartError::Root { index, refusal })?;
    }
    Ok(())
}

/// Makes the radio link and adds it to `station` with the provisioned neighbours.
#[inline(never)]
fn install_link(station: &mut BoardStation, address: Address) -> Result<LinkId, StartError> {
    let mut config = link::Config::new(address, provision::MODEM);
    config.arq_window = ARQ_WINDOW;
    let mut neighbours: heapless::Vec<Address, 4> = heapless::Vec::new();
    for &n in provision::NEIGHBOURS {
        let n = Address::new(n).map_err(|_| StartError::Address)?;
        neighbours.push(n).map_err(|_| StartError::Address)?;
    }
    let mut link = BoardLink::new(config).map_err(StartError::Link)?;
    // The adjunct serves no clients: only the node's own SAP is held, so a U_PDU for any other
    // is delivered to nobody and a client confirmation request for it is answered DATA
    // DELIVERY FAIL (Annex A), not confirmed. The guarded adjunct holds its client's SAP too.
    #[cfg(not(feature = "guard"))]
    link.set_bound_saps(1 << provision::SAP);
    #[cfg(feature = "guard")]
    link.set_bound_saps(1 << provision::SAP | 1 << provision::GUARD_SAP);
    station
        .add_link(link, &neighbours)
        .map_err(StartError::Station)
}
