//! The data transfer sublayer (STANAG 5066 Annex C), with enough of Annexes A and B around it
//! to exchange data with another 5066 node, as one sans-IO state machine: [`Link`].
//!
//! One `Link` is one node's end of one HF channel. It owns the send queue, the two ARQ sequence
//! spaces (normal and expedited), non-ARQ reassembly, the CAS-1 physical link state and the
//! half-duplex turn. It does no I/O and reads no clock. Its driver (the simulator, the host agent,
//! the firmware) calls, in quinn-proto's shape:
//!
//! - [`Link::submit`] when a client hands over a U_PDU;
//! - [`Link::handle_input`] for every D_PDU the modem delivers (the deframer's output);
//! - [`Link::poll_transmit`] after any of the calls here, until it returns `None`, and keys the
//!   modem for the frames it returns: one transmission, written back to back;
//! - [`Link::poll_timeout`] to learn when to call [`Link::handle_timeout`] next;
//! - [`Link::poll_event`] after any call, until `None`, for deliveries and reports, and
//!   [`Link::answer`] for each received U_PDU whose sender asked for client delivery
//!   confirmation, once the driver knows whether its client takes it.
//!
//! What happens inside:
//!
//! - **Half-duplex turn-taking.** A node transmits a burst of D_PDUs filling at most
//!   [`Modem::max_transmission`], each carrying EOT (time left in the transmission, counting
//!   down). The peer computes from EOT when the burst ends and answers after the turnaround.
//!   If the peer does not answer within one reply window, the newest unacknowledged frame is
//!   sent again as a probe, so a lost acknowledgement costs one frame, not a transmission.
//!   The node that asked for the physical link (the caller) may start a transmission whenever
//!   the channel is quiet; the other waits one reply window longer, so the two do not key up
//!   together more than once. ARQ C_PDUs are delivered between the peer's transmissions.
//! - **Selective-repeat ARQ** (the `arq` module): window up to 128 frames, sequence numbers mod 256,
//!   selective ACK bitmaps, DATA-ACK piggybacking on the first data frame of a burst (and
//!   `ack_copies - 1` ACK-ONLY copies at its end, so one lost frame does not cost a whole turn).
//!   Exactly the unacknowledged frames are resent. In-order delivery when the C_PDU asks for it.
//! - **Non-ARQ** (broadcast or to one node): every segment is sent `repeats` times, whole C_PDU
//!   after whole C_PDU, and receivers reassemble from any mix of copies by C_PDU ID and offset.
//! - **Expedited data** goes first in every burst, in its own ARQ sequence space (types 4, 5)
//!   or as expedited non-ARQ (type 8).
//! - **Priorities 0..=15**, higher first, first-come first-served within a priority.
//! - **Time-to-die** on every queued C_PDU: when it passes, the C_PDU is reported
//!   [`Failure::Expired`] and none of its data is sent again; ARQ frames already numbered are
//!   replaced by empty DROP frames so the receiver discards what it holds and its window moves.
//! - **CAS-1** (Annex B): ARQ data needs a physical link, made with PHYSICAL LINK REQUEST /
//!   ACCEPTED / REJECTED and released with BREAK / BREAK CONFIRM, sent as expedited non-ARQ
//!   C_PDUs. One physical link at a time; a node that is asked while linked answers REJECTED.
//! - **RESET/WIN-RESYNC**: an acknowledgement that names frames never sent means the peer's state
//!   and ours disagree (it restarted); we send FULL RESET, both sides renumber from 0 and resend
//!   every C_PDU not yet acknowledged.
//!
//! Memory is fixed by the const generics of [`Link`]; nothing allocates, nothing panics on any
//! input. docs/link.md says what of Annexes A, B and C is implemented and what is not.

mod arq;
mod cas;
mod emit;
mod error;
mod events;
pub mod pdu;
mod plan;
mod queue;
mod receive;
mod reset;
mod state;
mod timers;
pub mod timing;
mod types;

use crate::time::Instant;
use crate::wire::reassembly::NonArqReassembly;
use crate::wire::{Address, MAX_SEGMENT_LEN};
pub use error::{ConfigError, Error, SubmitError};
pub use pdu::{Cpdu, DataSpdu, MAX_CPDU_LEN, MAX_UPDU_LEN, Spdu, SpduHeader};
use plan::{Burst, Planned, add, budget, busy_warning, dpdu_len, non_arq_body};
use state::{Carriage, Cas, Channel, Inbound, Outgoing, ResetState, SendQueue, Space};
pub use timing::Modem;
use types::Note;
pub use types::{
    Answer, Config, ConfirmRequest, Event, Failure, Message, MessageId, Mode, Received, Service,
    Stats, Transmit,
};

/// Receive slots of the expedited ARQ space (expedited data is short and rare).
pub const EXPEDITED_SLOTS: usize = 16;

/// Non-ARQ C_PDUs reassembled at once.
pub const NON_ARQ_ENTRIES: usize = 4;

/// Complete non-ARQ C_PDUs waiting for [`Link::poll_event`].
pub const INBOX: usize = 4;

/// Reports waiting for [`Link::poll_event`]; beyond this the oldest is dropped and counted.
pub const EVENT_QUEUE: usize = 64;

/// The most D_PDUs in one transmission.
pub const MAX_BURST_FRAMES: usize = 192;

/// Copies of each CAS-1 C_PDU in one transmission.
const CAS_REPEATS: u8 = 2;

/// Unanswered transmissions to a linked peer after which the link is taken as lost.
const LINK_LOST_AFTER: u8 = 4;

/// Queue places of the link's own C_PDUs (CAS-1, delivery confirmations), beside the `QUEUE`
/// places of clients' C_PDUs: [`Link::capacity`] is `QUEUE` + this.
pub const CONTROL_SLOTS: usize = 3;

/// Bytes of a control place: the largest of the link's own C_PDUs, a DATA DELIVERY CONFIRM or
/// FAIL (the C_PDU's byte, the S_PDU's two and the echoed [`pdu::ECHO_LEN`]); CAS-1 C_PDUs are
/// one byte. (`queue::tests` emits the largest of each into a place this size.)
const CONTROL_CPDU: usize = 1 + 2 + pdu::ECHO_LEN;

/// The priority of CAS-1 C_PDUs and client confirmations.
const CONTROL_PRIORITY: u8 = 15;

/// One node's STANAG 5066 data transfer sublayer on one channel, in fixed memory.
///
/// - `QUEUE`: clients' C_PDUs queued for sending (each `CPDU` bytes); the link's own go in
///   [`CONTROL_SLOTS`] small places beside them.
/// - `CPDU`: the largest C_PDU ([`MAX_CPDU_LEN`] for full-size U_PDUs).
/// - `RX`: ARQ receive slots (at least `arq_window` plus the segments of one C_PDU), and the
///   entries of each transmit window (which never holds more than `arq_window` frames, or the
///   expedited window), so a small board keeps a few entries, not the 256 sequence numbers.
/// - `SEG`: bytes per receive slot (at least `max_segment`).
/// - `XRX`: expedited ARQ receive slots ([`EXPEDITED_SLOTS`]); the expedited send window is half
///   (at most `RX`, the entries of its transmit window).
/// - `NARQ`: non-ARQ C_PDUs reassembled at once ([`NON_ARQ_ENTRIES`]).
/// - `INB`: complete non-ARQ C_PDUs waiting for [`Link::poll_event`] ([`INBOX`]).
///
/// The last three default to the host's sizes; a small board shrinks them (each holds a
/// segment or a C_PDU per slot).
#[derive(Clone, Debug)]
pub struct Link<
    const QUEUE: usize,
    const CPDU: usize,
    const RX: usize,
    const SEG: usize,
    const XRX: usize = EXPEDITED_SLOTS,
    const NARQ: usize = NON_ARQ_ENTRIES,
    const INB: usize = INBOX,
> {
    config: Config,
    queue: SendQueue<QUEUE, CPDU>,
    next_id: u32,
    next_order: u32,
    next_cpdu_id: [u16; 3],
    // Both transmit windows hold `RX` entries: the normal window is always smaller (`check`),
    // and the two must be one type, as the link serves either through the same code.
    normal: Space<RX, SEG, RX>,
    expedited: Space<XRX, SEG, RX>,
    non_arq: NonArqReassembly<NARQ, CPDU>,
    inbox: heapless::Deque<Inbound<CPDU>, INB>,
    rx_buf: [u8; CPDU],
    notes: heapless::Deque<Note, EVENT_QUEUE>,
    burst: Option<Burst>,
    channel: Channel,
    /// Earliest key-up once the channel is idle.
    ready_at: Instant,
    /// The peer just handed us the turn.
    solicited: bool,
    cas: Cas,
    last_activity: Instant,
    /// No physical link request before this (after a rejection).
    request_after: Instant,
    /// Replies missed in a row while linked.
    silent_timeouts: u8,
    /// The peer whose ARQ state the sequence spaces hold.
    arq_peer: Option<Address>,
    reset: ResetState,
    reset_ack_owed: Option<u8>,
    /// A node that asked for a link while we are linked elsewhere, owed a WARNING.
    warning_owed: Option<Address>,
    /// The SAPs (bit n for SAP n) with a client to deliver to: a DATA S_PDU for another SAP
    /// is not reported, and is answered with DATA DELIVERY FAIL if it asks for confirmation.
    bound_saps: u16,
    next_reset_id: u8,
    now: Instant,
    stats: Stats,
}

/// A link sized for full-size U_PDUs on a host: [`HOST_QUEUE`] queued client C_PDUs (and the
/// link's own in [`CONTROL_SLOTS`] more), a 128-frame receive window of 1023-byte segments
/// (about 250 kB).
pub type HostLink = Link<HOST_QUEUE, MAX_CPDU_LEN, 128, MAX_SEGMENT_LEN>;

/// The client C_PDUs a [`HostLink`] queues: with the control places, 32 in all, as when the
/// link's own C_PDUs took places of the client queue.
pub const HOST_QUEUE: usize = 29;

/// The expedited send window for `slots` expedited receive slots: half of them (at least one),
/// so the peer's window fits our slots with room for a C_PDU's segments.
const fn expedited_window(slots: usize) -> u8 {
    let half = slots / 2;
    if half == 0 {
        1
    } else if half > 127 {
        127
    } else {
        half as u8
    }
}

impl<
    const QUEUE: usize,
    const CPDU: usize,
    const RX: usize,
    const SEG: usize,
    const XRX: usize,
    const NARQ: usize,
    const INB: usize,
> Link<QUEUE, CPDU, RX, SEG, XRX, NARQ, INB>
{
    /// A link with nothing queued and no physical link, after checking `config` against the
    /// capacities.
    // Inlined in optimised builds so that a board writes the value straight into its static
    // (no stack the size of it); debug builds keep it out of line, where inlining only grows
    // the caller's frame.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn new(config: Config) -> Result<Self, Error> {
        // Checked before the link is made, so the link is built straight into the caller's
        // slot: a board builds it once, in place, and needs no stack the size of a link.
        Self::check_config(&config)?;
        Ok(Link {
            config,
            queue: SendQueue::new(),
            next_id: 0,
            next_order: 0,
            next_cpdu_id: [config.first_cpdu_id % 4096, config.first_cpdu_id % 4096, 0],
            normal: Space::new(config.arq_window),
            expedited: Space::new(expedited_window(XRX)),
            non_arq: NonArqReassembly::new(),
            inbox: heapless::Deque::new(),
            rx_buf: [0; CPDU],
            notes: heapless::Deque::new(),
            burst: None,
            channel: Channel::Idle,
            ready_at: Instant::ZERO,
            solicited: false,
            cas: Cas::Down,
            last_activity: Instant::ZERO,
            request_after: Instant::ZERO,
            silent_timeouts: 0,
            arq_peer: None,
            reset: ResetState::Normal,
            reset_ack_owed: None,
            warning_owed: None,
            bound_saps: u16::MAX,
            next_reset_id: 0,
            now: Instant::ZERO,
            stats: Stats::default(),
        })
    }

    fn check_config(c: &Config) -> Result<(), Error> {
        let seg = usize::from(c.max_segment);
        let bad = |e| Err(Error::Config(e));
        if seg == 0 || seg > MAX_SEGMENT_LEN || seg > SEG {
            return bad(ConfigError::SegmentSize);
        }
        let per_cpdu = CPDU.div_ceil(seg);
        if c.arq_window == 0 || usize::from(c.arq_window) + per_cpdu > RX.min(128) {
            return bad(ConfigError::Window);
        }
        let longest = dpdu_len(c.address, Address::BROADCAST, non_arq_body(0, false)) + seg;
        let budget = budget(&c.modem);
        if c.modem.bit_rate == 0
            || c.modem.max_transmission > timing::MAX_TRANSMISSION
            || c.modem.airtime(longest) > budget
        {
            return bad(ConfigError::Transmission);
        }
        if c.ack_copies == 0 {
            return bad(ConfigError::AckCopies);
        }
        Ok(())
    }

    /// The configuration in force.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// Counters since creation.
    pub const fn stats(&self) -> Stats {
        self.stats
    }

    /// The node with which a physical link is made, if any.
    pub const fn peer(&self) -> Option<Address> {
        match self.cas {
            Cas::Up { peer, .. } => Some(peer),
            _ => None,
        }
    }

    /// Says which SAPs have a client (bit n for SAP n; all, until this is called). Annex A:
    /// a U_PDU for a SAP nobody holds is delivered to nobody, and a sender that asked for
    /// client confirmation gets DATA DELIVERY FAIL ("destination SAP not bound") instead.
    /// Drivers with a SIS server call this whenever a client binds or unbinds.
    pub fn set_bound_saps(&mut self, saps: u16) {
        self.bound_saps = saps;
    }

    /// The SAPs [`Link::set_bound_saps`] last said have a client (bit n for SAP n).
    pub const fn bound_saps(&self) -> u16 {
        self.bound_saps
    }

    /// How many C_PDUs the link queues in all: `QUEUE` of clients, [`CONTROL_SLOTS`] of its own.
    pub const fn capacity(&self) -> usize {
        SendQueue::<QUEUE, CPDU>::SLOTS
    }

    /// Queued C_PDUs, including the link's own and expired ones still being dropped.
    pub fn queued(&self) -> usize {
        self.queue.iter().flatten().count()
    }

    /// Queued C_PDUs by priority (index 0..=15), as [`Link::queued`] counts them: what an
    /// operator's status shows.
    pub fn queued_by_priority(&self) -> [usize; 16] {
        let mut counts = [0; 16];
        for q in self.queue.iter().flatten() {
            if let Some(c) = counts.get_mut(usize::from(q.priority)) {
                *c += 1;
            }
        }
        counts
    }
}
