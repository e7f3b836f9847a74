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
//! - [`Link::poll_event`] after any call, until `None`, for deliveries and reports.
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
pub mod pdu;
pub mod timing;

use core::fmt;

use crate::time::{Duration, Instant};
use crate::wire::reassembly::{ArqReassembly, NonArqKey, NonArqReassembly};
use crate::wire::{
    self, Address, ArqData, ArqFlags, Body, Dpdu, Eow, ExpeditedData, Frame, MAX_SEGMENT_LEN,
    NonArqData, Reset, SelectiveAck,
};
use arq::{FrameState, TxFrame, TxWindow, build_ack};
pub use pdu::{Cpdu, DataSpdu, MAX_CPDU_LEN, MAX_UPDU_LEN, Spdu, SpduHeader};
pub use timing::Modem;

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
/// Queue slots clients cannot fill: room for the link's own C_PDUs (CAS-1, confirmations).
const CONTROL_SLOTS: usize = 3;
/// The priority of CAS-1 C_PDUs and client confirmations.
const CONTROL_PRIORITY: u8 = 15;

/// Why the link refused a call or an input.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// The bytes are not a sound D_PDU (or a D_PDU could not be written).
    Wire(wire::Error),
    /// A C_PDU or S_PDU is shorter than its header says.
    Malformed,
    /// A C_PDU type this node does not know (6..=15).
    UnknownCpdu(u8),
    /// An S_PDU type this node does not implement (3..=15: hard links, management).
    UnknownSpdu(u8),
    /// A priority above 15.
    Priority,
    /// A SAP ID above 15.
    Sap,
    /// A C_PDU does not fit this link's C_PDU buffers.
    TooLarge,
    /// Every queue slot is taken.
    QueueFull,
    /// The configuration cannot work with these capacities.
    Config(ConfigError),
}

/// What is wrong with a [`Config`] for a given [`Link`] type.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ConfigError {
    /// `max_segment` is 0, above 1023 or above the link's segment buffers.
    SegmentSize,
    /// `arq_window` plus the segments of one C_PDU exceeds 128 or the receive slots, so a
    /// receiver could run out of room while holding an unfinished C_PDU.
    Window,
    /// One maximal D_PDU does not fit a transmission with the modem's overhead, or the
    /// maximum transmission exceeds what EOT can express (127.5 s), or the bit rate is 0.
    Transmission,
    /// `ack_copies` is 0.
    AckCopies,
}

impl From<wire::Error> for Error {
    fn from(e: wire::Error) -> Self {
        Error::Wire(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Wire(e) => write!(f, "D_PDU: {e}"),
            Error::Malformed => f.write_str("C_PDU or S_PDU truncated"),
            Error::UnknownCpdu(t) => write!(f, "unknown C_PDU type {t}"),
            Error::UnknownSpdu(t) => write!(f, "unsupported S_PDU type {t}"),
            Error::Priority => f.write_str("priority above 15"),
            Error::Sap => f.write_str("SAP ID above 15"),
            Error::TooLarge => f.write_str("too large for this link"),
            Error::QueueFull => f.write_str("send queue full"),
            Error::Config(c) => write!(f, "configuration: {c:?}"),
        }
    }
}

impl core::error::Error for Error {}

/// Why [`Link::submit`] refused a U_PDU. Nothing was queued; the link is unchanged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum SubmitError {
    /// The priority is above 15.
    Priority,
    /// A SAP ID is above 15.
    Sap,
    /// The U_PDU is longer than [`MAX_UPDU_LEN`], does not fit this link's C_PDU buffers, or
    /// (expedited ARQ) needs more segments than the expedited window holds.
    TooLarge,
    /// Non-ARQ data asked for 0 transmissions.
    NoRepeats,
    /// Every queue place a client may use is taken; submit again after events report
    /// progress (a delivery, a failure, a message sent).
    QueueFull,
    /// The time-to-die had already passed when it was submitted.
    Expired,
}

impl fmt::Display for SubmitError {
    // The reasons both errors share are worded once (a board's flash holds each string once).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Priority => Error::Priority.fmt(f),
            SubmitError::Sap => Error::Sap.fmt(f),
            SubmitError::TooLarge => Error::TooLarge.fmt(f),
            SubmitError::QueueFull => Error::QueueFull.fmt(f),
            SubmitError::NoRepeats => f.write_str("no repeats"),
            SubmitError::Expired => f.write_str("time-to-die passed"),
        }
    }
}

impl core::error::Error for SubmitError {}

impl From<Error> for SubmitError {
    /// What queueing a client's C_PDU can fail with: the header checks, a full queue, or a
    /// C_PDU that does not fit (every other error is about input, and reads as too large).
    fn from(e: Error) -> Self {
        match e {
            Error::Priority => SubmitError::Priority,
            Error::Sap => SubmitError::Sap,
            Error::QueueFull => SubmitError::QueueFull,
            _ => SubmitError::TooLarge,
        }
    }
}

/// A link's tunable parameters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Config {
    /// This node's address.
    pub address: Address,
    /// The modem and radio timing.
    pub modem: Modem,
    /// The largest data segment per D_PDU (1..=1023); smaller costs less to resend on a lossy
    /// channel, larger wastes less on headers on a clean one.
    pub max_segment: u16,
    /// The most unacknowledged frames in flight per direction.
    pub arq_window: u8,
    /// How many times the acknowledgement goes out in one transmission.
    pub ack_copies: u8,
    /// How long a non-ARQ receiver keeps collecting a C_PDU's repeats (sent in the header).
    pub reception_window: Duration,
    /// A physical link with nothing to carry for this long is broken.
    pub idle_break: Duration,
    /// Time-to-die of the delivery confirmations this node sends for its clients.
    pub confirm_ttd: Duration,
    /// The first C_PDU ID of this link's non-ARQ C_PDUs (mod 4096). A receiver takes a C_PDU
    /// ID it heard from this node within its reception window as a repeat of that C_PDU, so a
    /// node restarted within the window must not start counting where its previous life did:
    /// drivers pass a value that differs from start to start (a clock, a random number).
    pub first_cpdu_id: u16,
}

impl Config {
    /// Defaults for `address` over `modem`: full-size segments, a 64-frame window, two
    /// acknowledgement copies, a 2-minute reception window, links broken after 2 idle minutes.
    pub const fn new(address: Address, modem: Modem) -> Self {
        Config {
            address,
            modem,
            max_segment: MAX_SEGMENT_LEN as u16,
            arq_window: 64,
            ack_copies: 2,
            reception_window: Duration::from_secs(120),
            idle_break: Duration::from_secs(120),
            confirm_ttd: Duration::from_secs(600),
            first_cpdu_id: 0,
        }
    }
}

/// How a U_PDU is to be carried.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// Acknowledged, over a physical link made on demand; `in_order` asks the receiver to
    /// deliver it only after every earlier ARQ C_PDU.
    Arq {
        /// Deliver after every earlier C_PDU.
        in_order: bool,
    },
    /// Acknowledged, in the expedited sequence space, ahead of all normal data.
    ExpeditedArq,
    /// Unacknowledged, each segment sent `repeats` times; to [`Address::BROADCAST`] for all.
    NonArq {
        /// Transmissions of every segment (at least 1).
        repeats: u8,
    },
    /// Like `NonArq`, ahead of all normal data.
    ExpeditedNonArq {
        /// Transmissions of every segment (at least 1).
        repeats: u8,
    },
}

/// A U_PDU handed to [`Link::submit`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Message<'a> {
    /// The destination node, or [`Address::BROADCAST`] (non-ARQ only).
    pub dest: Address,
    /// Priority and SAP IDs.
    pub header: SpduHeader,
    /// The delivery service.
    pub mode: Mode,
    /// Ask the destination client to confirm receipt (ARQ only).
    pub confirm: bool,
    /// When the message stops being worth sending.
    pub ttd: Instant,
    /// The U_PDU (at most [`MAX_UPDU_LEN`] bytes).
    pub data: &'a [u8],
}

/// The handle [`Link::submit`] returns; events name messages by it.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, serde::Serialize, serde::Deserialize,
)]
pub struct MessageId(pub u32);

/// How a received U_PDU came.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Service {
    /// Normal ARQ.
    Arq,
    /// Expedited ARQ.
    ExpeditedArq,
    /// Non-ARQ.
    NonArq,
    /// Expedited non-ARQ.
    ExpeditedNonArq,
}

/// Why a message was not delivered.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Failure {
    /// Its time-to-die passed first.
    Expired,
}

/// A U_PDU received for one of this node's clients.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Received<'a> {
    /// The sending node.
    pub src: Address,
    /// The service it came by.
    pub service: Service,
    /// Priority and SAP IDs.
    pub header: SpduHeader,
    /// The U_PDU.
    pub data: &'a [u8],
}

/// What [`Link::poll_event`] reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Event<'a> {
    /// A U_PDU for a client.
    Received(Received<'a>),
    /// Every segment of an ARQ message was acknowledged by the destination node.
    Delivered(MessageId),
    /// A non-ARQ message went out its configured number of times.
    Sent(MessageId),
    /// A message will not be delivered (and none of its data will be sent again).
    Failed(MessageId, Failure),
    /// A destination client confirmed receipt of the U_PDU starting with `echo`.
    Confirmed {
        /// The confirming node.
        from: Address,
        /// SAPs and priority of the confirmed U_PDU.
        header: SpduHeader,
        /// The first bytes of the confirmed U_PDU.
        echo: &'a [u8],
    },
    /// A physical link with this node was made.
    LinkUp(Address),
    /// The physical link with this node was broken (by either side).
    LinkDown(Address),
    /// The ARQ state with the peer was reset (RESET/WIN-RESYNC); unacknowledged data is resent.
    Reset(Address),
}

/// A report without borrowed data, queued until [`Link::poll_event`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Note {
    Delivered(MessageId),
    Sent(MessageId),
    Failed(MessageId, Failure),
    LinkUp(Address),
    LinkDown(Address),
    Reset(Address),
}

/// Counters since the link was created.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Stats {
    /// Transmissions (key-ups).
    pub transmissions: u64,
    /// D_PDUs sent.
    pub frames_sent: u64,
    /// ARQ data frames sent more than once.
    pub retransmissions: u64,
    /// D_PDUs received with good CRCs.
    pub frames_received: u64,
    /// Inputs that were not a sound D_PDU.
    pub bad_frames: u64,
    /// Sound D_PDUs or C_PDUs that were not for us or made no sense in our state.
    pub ignored: u64,
    /// Reports dropped because the driver did not poll events.
    pub events_dropped: u64,
    /// Replies that did not come in time.
    pub timeouts: u64,
}

/// One D_PDU the driver must put on the air, written into the buffer given to
/// [`Link::poll_transmit`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// Bytes written.
    pub len: usize,
    /// The first D_PDU of a transmission: the modem keys up and sends its preamble first.
    pub first: bool,
    /// The last D_PDU of the transmission: the modem keys down after it and its interleaver.
    pub last: bool,
    /// When this D_PDU's first bit goes on the air, by this link's modem model.
    pub on_air: Instant,
    /// When the whole transmission ends (key down).
    pub end: Instant,
}

/// The delivery service of a queued C_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Carriage {
    Arq { in_order: bool, expedited: bool },
    NonArq { expedited: bool, repeats: u8 },
}

/// A queued C_PDU and how far it has got.
#[derive(Clone, Debug)]
struct Outgoing<const CPDU: usize> {
    /// `None` for the link's own C_PDUs (CAS-1, confirmations), which raise no events.
    id: Option<MessageId>,
    dest: Address,
    carriage: Carriage,
    priority: u8,
    ttd: Instant,
    /// Submission order, for first-come first-served within a priority.
    order: u32,
    /// Non-ARQ C_PDU ID (12 bits) or expedited C_PDU ID (4 bits).
    cpdu_id: u16,
    /// After sending, the sender waits for an answer (a link request).
    expects_reply: bool,
    len: usize,
    bytes: [u8; CPDU],
    /// ARQ: bytes given sequence numbers. Non-ARQ: offset within the current repeat.
    offset: usize,
    /// ARQ: numbered frames not yet acknowledged.
    unacked: u16,
    /// Non-ARQ: repeats fully planned.
    repeat: u8,
    /// Time-to-die passed and was reported; only DROP frames remain to be acknowledged.
    expired: bool,
}

impl<const CPDU: usize> Outgoing<CPDU> {
    fn data(&self, offset: usize, len: usize) -> &[u8] {
        self.bytes.get(offset..offset + len).unwrap_or(&[])
    }

    fn is_arq(&self, expedited: bool) -> bool {
        matches!(self.carriage, Carriage::Arq { expedited: e, .. } if e == expedited)
    }
}

/// One ARQ sequence space: both directions.
#[derive(Clone, Debug)]
struct Space<const RX: usize, const SEG: usize> {
    tx: TxWindow,
    rx: ArqReassembly<RX, SEG>,
    ack_owed: bool,
    /// The queue slot whose segments are being numbered: a C_PDU's segments take consecutive
    /// sequence numbers, so no other C_PDU starts until it is done.
    current: Option<u8>,
}

impl<const RX: usize, const SEG: usize> Space<RX, SEG> {
    const fn new(window: u8) -> Self {
        Space {
            tx: TxWindow::new(window),
            rx: ArqReassembly::new(),
            ack_owed: false,
            current: None,
        }
    }

    fn reset(&mut self) {
        self.tx.reset();
        self.rx.reset(0);
        self.ack_owed = false;
        self.current = None;
    }
}

/// A complete non-ARQ C_PDU waiting for [`Link::poll_event`].
#[derive(Clone, Debug)]
struct Inbound<const CPDU: usize> {
    src: Address,
    service: Service,
    len: usize,
    bytes: [u8; CPDU],
}

/// Who has the channel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Channel {
    /// Nobody, as far as we know.
    Idle,
    /// We are transmitting until `end`.
    Sending { end: Instant, expect_reply: bool },
    /// We have transmitted and wait for the peer to start answering by `deadline`.
    Awaiting { deadline: Instant },
    /// Someone else transmits until about `end`.
    Receiving { end: Instant },
}

/// CAS-1 physical link state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cas {
    Down,
    Requesting { peer: Address, attempts: u8 },
    Up { peer: Address, caller: bool },
}

/// A RESET/WIN-RESYNC exchange in progress.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ResetState {
    Normal,
    /// We must send (or resend) FULL RESET with this frame ID and wait for its acknowledgement.
    Requesting(u8),
}

/// One D_PDU planned for the current transmission.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Planned {
    Reset(Reset),
    Ack {
        expedited: bool,
    },
    Arq {
        expedited: bool,
        seq: u8,
        piggyback: bool,
    },
    NonArq {
        slot: u8,
        offset: u16,
        len: u16,
        last: bool,
    },
}

/// The transmission being handed to the driver.
#[derive(Clone, Debug)]
struct Burst {
    frames: heapless::Vec<Planned, MAX_BURST_FRAMES>,
    next: usize,
    start: Instant,
    end: Instant,
    /// Airtime of the frames already handed out.
    air_before: Duration,
}

/// One node's STANAG 5066 data transfer sublayer on one channel, in fixed memory.
///
/// - `QUEUE`: C_PDUs queued for sending (each `CPDU` bytes).
/// - `CPDU`: the largest C_PDU ([`MAX_CPDU_LEN`] for full-size U_PDUs).
/// - `RX`: ARQ receive slots (at least `arq_window` plus the segments of one C_PDU).
/// - `SEG`: bytes per receive slot (at least `max_segment`).
/// - `XRX`: expedited ARQ receive slots ([`EXPEDITED_SLOTS`]); the expedited send window is half.
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
    queue: [Option<Outgoing<CPDU>>; QUEUE],
    next_id: u32,
    next_order: u32,
    next_cpdu_id: [u16; 3],
    normal: Space<RX, SEG>,
    expedited: Space<XRX, SEG>,
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
    next_reset_id: u8,
    now: Instant,
    stats: Stats,
}

/// A link sized for full-size U_PDUs on a host: [`HOST_QUEUE`] queued C_PDUs, a 128-frame
/// receive window of 1023-byte segments (about 250 kB).
pub type HostLink = Link<HOST_QUEUE, MAX_CPDU_LEN, 128, MAX_SEGMENT_LEN>;

/// The C_PDUs a [`HostLink`] queues.
pub const HOST_QUEUE: usize = 32;

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
            queue: [const { None }; QUEUE],
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

    /// Queues a client's U_PDU. Call whenever a client submits data; then call
    /// [`Link::poll_transmit`], since the link may want to transmit at once.
    pub fn submit(
        &mut self,
        now: Instant,
        message: &Message<'_>,
    ) -> Result<MessageId, SubmitError> {
        self.now = self.now.max(now);
        if message.ttd <= now {
            return Err(SubmitError::Expired);
        }
        let (carriage, expedited) = match message.mode {
            Mode::Arq { in_order } => (
                Carriage::Arq {
                    in_order,
                    expedited: false,
                },
                false,
            ),
            Mode::ExpeditedArq => (
                Carriage::Arq {
                    in_order: true,
                    expedited: true,
                },
                true,
            ),
            Mode::NonArq { repeats } | Mode::ExpeditedNonArq { repeats } => {
                if repeats == 0 {
                    return Err(SubmitError::NoRepeats);
                }
                let expedited = matches!(message.mode, Mode::ExpeditedNonArq { .. });
                (Carriage::NonArq { expedited, repeats }, expedited)
            }
        };
        if message.data.len() > MAX_UPDU_LEN {
            return Err(SubmitError::TooLarge);
        }
        // The last slots are the link's own, so a full queue never stops CAS-1 or RESET.
        let free = self.queue.iter().filter(|m| m.is_none()).count();
        if free <= CONTROL_SLOTS {
            return Err(SubmitError::QueueFull);
        }
        let spdu = Spdu::Data(DataSpdu {
            header: message.header,
            confirm: message.confirm && matches!(carriage, Carriage::Arq { .. }),
            ttd: None,
            updu: message.data,
        });
        let id = MessageId(self.next_id);
        let slot = self.enqueue(
            Some(id),
            message.dest,
            carriage,
            message.header.priority,
            message.ttd,
            &Cpdu::Data(spdu),
        )?;
        if expedited && matches!(carriage, Carriage::Arq { .. }) {
            let segs = self
                .queue
                .get(slot)
                .and_then(Option::as_ref)
                .map_or(0, |m| m.len.div_ceil(usize::from(self.config.max_segment)));
            if segs > usize::from(expedited_window(XRX)) {
                self.free(slot);
                return Err(SubmitError::TooLarge);
            }
        }
        self.next_id = self.next_id.wrapping_add(1);
        self.update_cas(now);
        Ok(id)
    }

    /// Puts a C_PDU in a free queue slot; returns the slot.
    fn enqueue(
        &mut self,
        id: Option<MessageId>,
        dest: Address,
        carriage: Carriage,
        priority: u8,
        ttd: Instant,
        cpdu: &Cpdu<'_>,
    ) -> Result<usize, Error> {
        if priority > 15 {
            return Err(Error::Priority);
        }
        let index = self
            .queue
            .iter()
            .position(Option::is_none)
            .ok_or(Error::QueueFull)?;
        let space = match carriage {
            Carriage::NonArq {
                expedited: false, ..
            } => 0,
            Carriage::NonArq {
                expedited: true, ..
            } => 1,
            Carriage::Arq { .. } => 2,
        };
        let modulus = if space == 2 { 16 } else { 4096 };
        let counter = self.next_cpdu_id.get_mut(space).ok_or(Error::QueueFull)?;
        let cpdu_id = *counter;
        let mut out = Outgoing {
            id,
            dest,
            carriage,
            priority,
            ttd,
            order: self.next_order,
            cpdu_id,
            expects_reply: matches!(cpdu, Cpdu::LinkRequest),
            len: 0,
            bytes: [0; CPDU],
            offset: 0,
            unacked: 0,
            repeat: 0,
            expired: false,
        };
        out.len = cpdu.emit(&mut out.bytes).map_err(|e| match e {
            Error::Wire(wire::Error::BufferTooSmall) => Error::TooLarge,
            e => e,
        })?;
        *counter = (cpdu_id + 1) % modulus;
        self.next_order = self.next_order.wrapping_add(1);
        if let Some(entry) = self.queue.get_mut(index) {
            *entry = Some(out);
        }
        Ok(index)
    }

    fn free(&mut self, slot: usize) {
        if let Some(entry) = self.queue.get_mut(slot) {
            *entry = None;
        }
    }

    fn note(&mut self, note: Note) {
        if self.notes.is_full() {
            self.notes.pop_front();
            self.stats.events_dropped += 1;
        }
        // Cannot fail: room was just made.
        let _ = self.notes.push_back(note);
    }

    /// Queues one of the link's own C_PDUs (CAS-1 or a confirmation); dropped if the queue is
    /// full, which the peer's retries cover.
    fn enqueue_control(&mut self, dest: Address, cpdu: &Cpdu<'_>, carriage: Carriage) {
        let ttd = self.now + self.config.confirm_ttd;
        if self
            .enqueue(None, dest, carriage, CONTROL_PRIORITY, ttd, cpdu)
            .is_err()
        {
            self.stats.ignored += 1;
        }
    }

    fn enqueue_cas(&mut self, dest: Address, cpdu: Cpdu<'_>) {
        let carriage = Carriage::NonArq {
            expedited: true,
            repeats: CAS_REPEATS,
        };
        self.enqueue_control(dest, &cpdu, carriage);
    }

    // ----------------------------------------------------------------------------------------
    // Input

    /// Takes one D_PDU as the modem delivered it (from the sync word through the last CRC),
    /// received at `now`. Call for every frame the deframer yields, good or damaged; then call
    /// [`Link::poll_transmit`] and [`Link::poll_event`]. A frame with a sound header but damaged
    /// data still tells us the channel is busy, and its acknowledgement (for DATA-ACK) still
    /// counts; the error says what was wrong.
    pub fn handle_input(&mut self, now: Instant, bytes: &[u8]) -> Result<(), Error> {
        self.now = self.now.max(now);
        let frame = Frame::new_checked(bytes).inspect_err(|_| self.stats.bad_frames += 1)?;
        let (dpdu, data_ok) = match Dpdu::parse(&frame) {
            Ok(d) => (d, true),
            Err(wire::Error::DataCrc) => match Dpdu::parse_ignoring_data_crc(&frame) {
                Ok(d) => (d, false),
                Err(e) => {
                    self.stats.bad_frames += 1;
                    return Err(e.into());
                }
            },
            Err(e) => {
                self.stats.bad_frames += 1;
                return Err(e.into());
            }
        };
        self.hear(now, &dpdu, frame.frame_len());
        if data_ok {
            self.stats.frames_received += 1;
        } else {
            self.stats.bad_frames += 1;
        }
        let me = self.config.address;
        let from_peer = self.peer() == Some(dpdu.src) && dpdu.dest == me;
        if from_peer {
            self.last_activity = now;
            self.silent_timeouts = 0;
        }
        let arq_type = matches!(
            dpdu.body,
            Body::DataOnly(_)
                | Body::DataAck(..)
                | Body::AckOnly(_)
                | Body::ExpeditedDataOnly(_)
                | Body::ExpeditedAckOnly(_)
                | Body::ResetWinResync(_)
        );
        let calling = matches!(self.cas, Cas::Requesting { peer, .. } if peer == dpdu.src);
        if arq_type && !from_peer && !calling && dpdu.dest == me {
            // ARQ traffic from a node we have no link with: it missed our BREAK (or never
            // got our acceptance). Tell it, once, so it asks for the link again.
            self.stats.ignored += 1;
            if !self.control_queued(dpdu.src) {
                self.enqueue_cas(dpdu.src, Cpdu::LinkBreak(pdu::reason::UNKNOWN));
            }
            self.update_cas(now);
            return Ok(());
        }
        // While a FULL RESET of ours is unanswered, the peer's ARQ frames are numbered the old
        // way: ignore them (it resends after resetting).
        let live = from_peer && self.reset == ResetState::Normal;
        let result = match dpdu.body {
            Body::DataOnly(d) if live && data_ok => self.arq_data(false, d),
            Body::DataAck(d, ack) if live => {
                self.apply_ack(false, &ack);
                if data_ok {
                    self.arq_data(false, d)
                } else {
                    Ok(())
                }
            }
            Body::AckOnly(ack) if live => {
                self.apply_ack(false, &ack);
                Ok(())
            }
            Body::ExpeditedDataOnly(d) if live && data_ok => {
                let flags = ArqFlags {
                    cpdu_start: d.cpdu_start,
                    cpdu_end: d.cpdu_end,
                    deliver_in_order: true,
                    ..ArqFlags::default()
                };
                let data = ArqData {
                    flags,
                    tx_seq: d.tx_seq,
                    segment: d.segment,
                };
                self.arq_data(true, data)
            }
            Body::ExpeditedAckOnly(ack) if live => {
                self.apply_ack(true, &ack);
                Ok(())
            }
            Body::ResetWinResync(r) if from_peer => {
                self.handle_reset(r);
                Ok(())
            }
            Body::NonArqData(d) if data_ok && self.for_me(&dpdu, d.group) => {
                self.non_arq_data(now, dpdu.src, false, &d)
            }
            Body::ExpeditedNonArqData(d) if data_ok && self.for_me(&dpdu, d.group) => {
                self.non_arq_data(now, dpdu.src, true, &d)
            }
            _ => {
                self.stats.ignored += 1;
                Ok(())
            }
        };
        self.update_cas(now);
        result
    }

    fn for_me(&self, dpdu: &Dpdu<'_>, group: bool) -> bool {
        dpdu.dest == self.config.address || (group && dpdu.dest == Address::BROADCAST)
    }

    /// Someone is transmitting: work out from EOT when they stop.
    fn hear(&mut self, now: Instant, dpdu: &Dpdu<'_>, len: usize) {
        if matches!(self.channel, Channel::Sending { .. }) {
            return;
        }
        let modem = &self.config.modem;
        // The frame started `airtime + interleaver` before now; EOT counts from its start.
        let started = Instant::from_millis(
            now.millis()
                .saturating_sub(modem.airtime(len).millis() + modem.interleaver.millis()),
        );
        let eot = Duration::from_millis(u64::from(dpdu.eot) * timing::EOT_UNIT.millis());
        // Every frame's estimate is at or after the true end (EOT rounds up, by up to half a
        // second, differently for each frame): the earliest is the tightest.
        let mut end = (started + eot).max(now);
        if let Channel::Receiving { end: known } = self.channel {
            end = end.min(known).max(now);
        }
        self.channel = Channel::Receiving { end };
    }

    fn arq_data(&mut self, expedited: bool, d: ArqData<'_>) -> Result<(), Error> {
        // Only frames within our receive slots of the lower edge are taken; the rest go
        // unacknowledged and come again. A peer's window may be wider than our slots (a host
        // sending to a small board), and frames above a lost one would otherwise take every
        // slot, leaving none for the lost one when it is resent: the window would never move.
        let (slots, lwe) = if expedited {
            (XRX, self.expedited.rx.next_seq())
        } else {
            (RX, self.normal.rx.next_seq())
        };
        let ahead = d.tx_seq.wrapping_sub(lwe);
        if usize::from(ahead) >= slots && ahead < wire::reassembly::ARQ_WINDOW {
            if expedited {
                self.expedited.ack_owed = true;
            } else {
                self.normal.ack_owed = true;
            }
            return Err(Error::Wire(wire::Error::CapacityFull));
        }
        let inserted = if expedited {
            self.expedited.ack_owed = true;
            self.expedited.rx.insert(d.tx_seq, d.flags, d.segment)
        } else {
            self.normal.ack_owed = true;
            self.normal.rx.insert(d.tx_seq, d.flags, d.segment)
        };
        inserted.map(|_| ()).map_err(Error::from)
    }

    fn apply_ack(&mut self, expedited: bool, ack: &SelectiveAck) {
        let mut acked: heapless::Vec<u8, 256> = heapless::Vec::new();
        let tx = if expedited {
            &mut self.expedited.tx
        } else {
            &mut self.normal.tx
        };
        let result = tx.apply_ack(ack, |f| {
            let _ = acked.push(f.slot);
        });
        if result.is_err() {
            self.stats.ignored += 1;
            if self.reset == ResetState::Normal {
                self.begin_reset();
            }
            return;
        }
        for slot in acked {
            self.frame_acked(usize::from(slot));
        }
    }

    /// One more frame of the C_PDU in `slot` was acknowledged.
    fn frame_acked(&mut self, slot: usize) {
        let Some(Some(m)) = self.queue.get_mut(slot) else {
            return;
        };
        m.unacked = m.unacked.saturating_sub(1);
        // An expired C_PDU numbered part-way still owes its closing DROP frame.
        if m.unacked > 0 || m.offset < m.len {
            return;
        }
        let note = (!m.expired).then_some(m.id).flatten().map(Note::Delivered);
        self.free(slot);
        if let Some(n) = note {
            self.note(n);
        }
    }

    fn handle_reset(&mut self, r: Reset) {
        let peer = self.peer();
        if r.reset_ack {
            if self.reset == ResetState::Requesting(r.reset_frame_id) {
                self.reset = ResetState::Normal;
                if let Some(p) = peer {
                    self.note(Note::Reset(p));
                }
            }
            return;
        }
        if r.full_reset {
            self.full_reset(peer);
        } else if r.rx_win_command {
            self.normal.rx.reset(r.new_rx_lwe);
        }
        self.reset_ack_owed = Some(r.reset_frame_id);
    }

    /// Where RESET/WIN-RESYNC frames go: the linked peer, or the peer being called when our
    /// state was reset for it (the FULL RESET then rides with the link request).
    fn reset_dest(&self) -> Option<Address> {
        match self.cas {
            Cas::Up { peer, .. } => Some(peer),
            Cas::Requesting { peer, .. } if self.arq_peer == Some(peer) => Some(peer),
            _ => None,
        }
    }

    /// Starts both sequence spaces afresh here and asks the peer, by FULL RESET, to do the
    /// same; ARQ data waits (and the peer's is ignored) until the peer acknowledges.
    fn begin_reset(&mut self) {
        self.full_reset(None);
        self.reset = ResetState::Requesting(self.next_reset_id);
        self.next_reset_id = self.next_reset_id.wrapping_add(1);
    }

    /// Both ARQ spaces start again from 0; every unacknowledged C_PDU is resent whole.
    fn full_reset(&mut self, peer: Option<Address>) {
        self.normal.reset();
        self.expedited.reset();
        for slot in 0..QUEUE {
            let Some(Some(m)) = self.queue.get_mut(slot) else {
                continue;
            };
            if matches!(m.carriage, Carriage::Arq { .. }) {
                if m.expired {
                    self.free(slot);
                } else {
                    m.offset = 0;
                    m.unacked = 0;
                }
            }
        }
        if let Some(p) = peer {
            self.note(Note::Reset(p));
        }
    }

    fn non_arq_data(
        &mut self,
        now: Instant,
        src: Address,
        expedited: bool,
        d: &NonArqData<'_>,
    ) -> Result<(), Error> {
        let key = NonArqKey {
            source: src,
            expedited,
            cpdu_id: d.cpdu_id,
        };
        let Some(cpdu) = self.non_arq.insert(now, key, d)? else {
            return Ok(());
        };
        match Cpdu::parse(cpdu)? {
            Cpdu::Data(_) => {
                let service = if expedited {
                    Service::ExpeditedNonArq
                } else {
                    Service::NonArq
                };
                let mut item = Inbound {
                    src,
                    service,
                    len: cpdu.len(),
                    bytes: [0; CPDU],
                };
                if let Some(dst) = item.bytes.get_mut(..cpdu.len()) {
                    dst.copy_from_slice(cpdu);
                }
                if self.inbox.push_back(item).is_err() {
                    self.stats.ignored += 1;
                }
                Ok(())
            }
            other => {
                let cas: Cpdu<'static> = match other {
                    Cpdu::LinkRequest => Cpdu::LinkRequest,
                    Cpdu::LinkAccepted => Cpdu::LinkAccepted,
                    Cpdu::LinkRejected(r) => Cpdu::LinkRejected(r),
                    Cpdu::LinkBreak(r) => Cpdu::LinkBreak(r),
                    _ => Cpdu::LinkBreakConfirm,
                };
                self.handle_cas(now, src, cas);
                Ok(())
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // CAS-1

    fn handle_cas(&mut self, now: Instant, from: Address, cpdu: Cpdu<'_>) {
        match (cpdu, self.cas) {
            (Cpdu::LinkRequest, Cas::Up { peer, .. }) if peer == from => {
                // Our acceptance was lost: accept again (the ARQ state carries on).
                self.enqueue_cas(from, Cpdu::LinkAccepted);
            }
            (Cpdu::LinkRequest, Cas::Up { .. }) => {
                self.enqueue_cas(from, Cpdu::LinkRejected(pdu::reason::UNKNOWN));
            }
            (Cpdu::LinkRequest, Cas::Requesting { peer, .. })
                if peer == from && self.config.address < from =>
            {
                // Both asked at once: the lower address calls. The peer evidently missed our
                // request, so it goes again at our next turn.
                self.retry_link_request();
            }
            (Cpdu::LinkRequest, _) => {
                self.link_up(now, from, false);
                self.enqueue_cas(from, Cpdu::LinkAccepted);
            }
            (Cpdu::LinkAccepted, Cas::Requesting { peer, .. }) if peer == from => {
                self.link_up(now, from, true);
            }
            (Cpdu::LinkRejected(_), Cas::Requesting { peer, .. }) if peer == from => {
                // The peer is linked with another node. It releases that link when idle, so
                // ask again later; the C_PDUs wait (until their time-to-die).
                self.cas = Cas::Down;
                self.request_after = now + self.config.idle_break;
            }
            (Cpdu::LinkBreak(_), Cas::Up { peer, .. }) if peer == from => {
                self.link_down(peer);
                self.enqueue_cas(from, Cpdu::LinkBreakConfirm);
            }
            _ => self.stats.ignored += 1,
        }
    }

    /// Whether one of the link's own C_PDUs to `dest` is already queued.
    fn control_queued(&self, dest: Address) -> bool {
        self.queue
            .iter()
            .flatten()
            .any(|m| m.id.is_none() && m.dest == dest)
    }

    fn drop_own_requests(&mut self) {
        for slot in 0..QUEUE {
            if let Some(Some(m)) = self.queue.get(slot)
                && m.expects_reply
            {
                self.free(slot);
            }
        }
    }

    /// The physical link is made. The ARQ state is kept if it belongs to this peer: a link
    /// broken while the peer still had unacknowledged data (its acknowledgements lost) then
    /// resumes where it stopped instead of resending, and so delivering twice, C_PDUs the
    /// receiver already has. If our state belongs to another peer we start afresh and send
    /// FULL RESET, so the two sides never disagree about which state they continue.
    fn link_up(&mut self, now: Instant, peer: Address, caller: bool) {
        self.drop_own_requests();
        self.cas = Cas::Up { peer, caller };
        self.last_activity = now;
        self.silent_timeouts = 0;
        if self.arq_peer != Some(peer) {
            self.arq_peer = Some(peer);
            self.begin_reset();
        }
        self.note(Note::LinkUp(peer));
    }

    fn link_down(&mut self, peer: Address) {
        self.cas = Cas::Down;
        self.note(Note::LinkDown(peer));
    }

    /// Makes, keeps or breaks the physical link according to what is queued.
    fn update_cas(&mut self, now: Instant) {
        let wanted = self
            .queue
            .iter()
            .flatten()
            // Expired C_PDUs count while their DROP frames are unacknowledged: the receiver may
            // hold later in-order C_PDUs that wait for them.
            .filter(|m| matches!(m.carriage, Carriage::Arq { .. }))
            .max_by_key(|m| (m.priority, core::cmp::Reverse(m.order)))
            .map(|m| m.dest);
        match self.cas {
            Cas::Down if now < self.request_after => {}
            Cas::Down => {
                if let Some(dest) = wanted {
                    if self.arq_peer != Some(dest) {
                        // Our state is for another peer (or none): start afresh, and say so
                        // with a FULL RESET right behind the request.
                        self.arq_peer = Some(dest);
                        self.begin_reset();
                    }
                    self.cas = Cas::Requesting {
                        peer: dest,
                        attempts: 1,
                    };
                    self.enqueue_cas(dest, Cpdu::LinkRequest);
                }
            }
            Cas::Up { peer, .. } => {
                let Some(at) = self.idle_break_at() else {
                    return;
                };
                let others_wait = wanted.is_some_and(|d| d != peer);
                if now >= at || others_wait {
                    self.enqueue_cas(peer, Cpdu::LinkBreak(pdu::reason::BREAK_NO_MORE_DATA));
                    self.link_down(peer);
                }
            }
            Cas::Requesting { peer, .. } => {
                let still_wanted = self
                    .queue
                    .iter()
                    .flatten()
                    .any(|m| m.dest == peer && matches!(m.carriage, Carriage::Arq { .. }));
                if !still_wanted {
                    // Everything that wanted this peer died unanswered: stop calling it (its
                    // queued requests go too), so what waits for other nodes can have the
                    // channel.
                    for slot in &mut self.queue {
                        if slot
                            .as_ref()
                            .is_some_and(|m| m.dest == peer && m.expects_reply)
                        {
                            *slot = None;
                        }
                    }
                    self.cas = Cas::Down;
                    self.update_cas(now);
                }
            }
        }
    }

    /// When the physical link will be broken for want of traffic, if nothing else happens:
    /// `None` while it carries (or owes) anything or the channel is busy.
    fn idle_break_at(&self) -> Option<Instant> {
        let Cas::Up { peer, .. } = self.cas else {
            return None;
        };
        let busy = self
            .queue
            .iter()
            .flatten()
            .any(|m| m.dest == peer && matches!(m.carriage, Carriage::Arq { .. }))
            || self.normal.ack_owed
            || self.expedited.ack_owed
            || self.reset_ack_owed.is_some()
            || self.reset != ResetState::Normal
            || self.channel != Channel::Idle
            // Received segments waiting for the rest of their C_PDU (or for earlier ones) were
            // acknowledged: releasing the link would lose them.
            || !self.normal.rx.is_drained()
            || !self.expedited.rx.is_drained();
        (!busy).then(|| self.last_activity + self.config.idle_break)
    }

    // ----------------------------------------------------------------------------------------
    // Time

    /// The next instant at which [`Link::handle_timeout`] has work to do (a transmission ends,
    /// a reply is overdue, a peer's transmission ends, a time-to-die passes, the link may key
    /// up). Call after every other method and arm a timer for it; `None` means nothing will
    /// happen until input or a submission arrives.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut consider = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        match self.channel {
            Channel::Sending { end, .. } => consider(end),
            Channel::Awaiting { deadline } => consider(deadline),
            Channel::Receiving { end } => consider(end),
            Channel::Idle => {
                if self.wants_to_send() {
                    consider(self.ready_time());
                }
            }
        }
        for m in self.queue.iter().flatten() {
            if !m.expired {
                consider(m.ttd);
            }
        }
        if let Some(t) = self.non_arq.next_expiry() {
            consider(t);
        }
        if let Some(t) = self.idle_break_at() {
            consider(t);
        }
        if self.cas == Cas::Down
            && self.request_after > self.now
            && self
                .queue
                .iter()
                .flatten()
                .any(|m| m.is_arq(false) || m.is_arq(true))
        {
            consider(self.request_after);
        }
        next
    }

    /// Advances the state machine to `now`: ends our transmission, gives up waiting for a
    /// reply (everything unacknowledged will be resent), hands the turn over when the peer's
    /// transmission ends, drops what passed its time-to-die. Call when the instant from
    /// [`Link::poll_timeout`] is reached (calling early or often is harmless); then call
    /// [`Link::poll_transmit`] and [`Link::poll_event`].
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        match self.channel {
            Channel::Sending { end, expect_reply } if now >= end => {
                self.burst = None;
                if expect_reply {
                    self.channel = Channel::Awaiting {
                        deadline: end + self.reply_window(),
                    };
                } else {
                    self.channel = Channel::Idle;
                    self.ready_at = end + self.config.modem.turnaround;
                }
            }
            Channel::Awaiting { deadline } if now >= deadline => {
                self.stats.timeouts += 1;
                self.silent_timeouts = self.silent_timeouts.saturating_add(1);
                if let Cas::Up { peer, .. } = self.cas
                    && self.silent_timeouts >= LINK_LOST_AFTER
                {
                    // Nothing at all from the peer for several turns: the link is gone. Ask
                    // for it again (the ARQ state is kept for when it comes back).
                    self.link_down(peer);
                    self.silent_timeouts = 0;
                }
                self.normal.tx.probe();
                self.expedited.tx.probe();
                self.channel = Channel::Idle;
                self.ready_at = now + self.backoff();
                self.solicited = false;
                self.retry_link_request();
            }
            Channel::Receiving { end } if now >= end => {
                // The peer's turn is over. If it carried no acknowledgement of what we sent,
                // probe for one.
                self.normal.tx.probe();
                self.expedited.tx.probe();
                self.channel = Channel::Idle;
                self.ready_at = end + self.config.modem.turnaround;
                self.solicited = true;
                self.retry_link_request();
            }
            _ => {}
        }
        self.expire(now);
        self.non_arq.expire(now);
        self.update_cas(now);
    }

    /// Asks again for the physical link if the last request went unanswered. Requests go on
    /// until the C_PDUs that want the link reach their time-to-die.
    fn retry_link_request(&mut self) {
        let Cas::Requesting { peer, attempts } = self.cas else {
            return;
        };
        let queued = self.queue.iter().flatten().any(|m| m.expects_reply);
        if !queued {
            self.cas = Cas::Requesting {
                peer,
                attempts: attempts.saturating_add(1),
            };
            self.enqueue_cas(peer, Cpdu::LinkRequest);
        }
    }

    /// How long after the peer's transmission should have begun we give up on it: turnaround,
    /// preamble and interleaver, two maximal frames (one may be lost) and a turnaround of slack.
    fn reply_window(&self) -> Duration {
        let m = &self.config.modem;
        let frame = self.dpdu_len(Address::BROADCAST, non_arq_body(0, false))
            + usize::from(self.config.max_segment);
        let ms = 2 * m.turnaround.millis() + m.overhead().millis() + 2 * m.airtime(frame).millis();
        Duration::from_millis(ms)
    }

    /// Extra wait before an unsolicited retry: different per address, so two nodes that keyed
    /// up together do not do so again, and growing with unanswered link requests (up to 8
    /// reply windows), so a node out of reach is not called back to back.
    fn backoff(&self) -> Duration {
        let window = self.reply_window().millis();
        match self.cas {
            Cas::Up { caller: true, .. } => Duration::ZERO,
            Cas::Requesting { attempts, .. } => Duration::from_millis(
                window * (u64::from(self.config.address.value() % 4) + u64::from(attempts.min(8))),
            ),
            _ => Duration::from_millis(window * u64::from(self.config.address.value() % 4)),
        }
    }

    /// When the link may key up for what it wants to send.
    fn ready_time(&self) -> Instant {
        let unsolicited_wait = match self.cas {
            Cas::Up { caller: false, .. } if !self.solicited => self.reply_window(),
            _ => Duration::ZERO,
        };
        self.ready_at + unsolicited_wait
    }

    /// Drops C_PDUs whose time-to-die has passed.
    fn expire(&mut self, now: Instant) {
        for slot in 0..QUEUE {
            let Some(Some(m)) = self.queue.get_mut(slot) else {
                continue;
            };
            if m.expired || m.ttd > now {
                continue;
            }
            let id = m.id;
            let started = matches!(m.carriage, Carriage::Arq { .. }) && m.offset > 0;
            if started {
                // Numbered frames stay in the window as empty DROP frames; a partly numbered
                // C_PDU gets one more DROP frame (see `plan_arq`).
                m.expired = true;
                let tx = if m.is_arq(true) {
                    &mut self.expedited.tx
                } else {
                    &mut self.normal.tx
                };
                let before = tx
                    .seqs()
                    .filter(|&s| {
                        tx.frame(s)
                            .is_some_and(|f| f.slot as usize == slot && f.state != FrameState::Free)
                    })
                    .count();
                tx.drop_slot(slot as u8);
                m.unacked = before as u16;
                if m.unacked == 0 && m.offset >= m.len {
                    self.free(slot);
                }
            } else {
                self.free(slot);
                for space in [&mut self.normal.current, &mut self.expedited.current] {
                    if *space == Some(slot as u8) {
                        *space = None;
                    }
                }
            }
            if let Some(id) = id {
                self.note(Note::Failed(id, Failure::Expired));
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // Output

    /// Whether planning a transmission now would produce at least one frame.
    fn wants_to_send(&self) -> bool {
        if self.reset_dest().is_some()
            && (self.reset_ack_owed.is_some() || matches!(self.reset, ResetState::Requesting(_)))
        {
            return true;
        }
        let linked = self.peer();
        let arq_ready = linked.is_some() && self.reset == ResetState::Normal;
        if arq_ready
            && (self.normal.ack_owed
                || self.expedited.ack_owed
                || self.normal.tx.has_pending()
                || self.expedited.tx.has_pending())
        {
            return true;
        }
        self.queue.iter().enumerate().any(|(slot, m)| {
            let Some(m) = m else { return false };
            match m.carriage {
                Carriage::NonArq { repeats, .. } => m.repeat < repeats && !m.expired,
                Carriage::Arq { expedited, .. } => {
                    let space = if expedited {
                        (&self.expedited.tx, self.expedited.current)
                    } else {
                        (&self.normal.tx, self.normal.current)
                    };
                    arq_ready
                        && Some(m.dest) == linked
                        && m.offset < m.len
                        && space.0.can_assign()
                        && space.1.is_none_or(|c| usize::from(c) == slot)
                }
            }
        })
    }

    /// Data airtime one transmission may hold.
    fn budget(&self) -> Duration {
        budget(&self.config.modem)
    }

    fn dpdu_len(&self, dest: Address, body: Body<'_>) -> usize {
        dpdu_len(self.config.address, dest, body)
    }

    /// Writes the next D_PDU to put on the air into `buf` (at least
    /// [`wire::MAX_DPDU_LEN`] bytes), or returns `None` when there is nothing to send now.
    /// Call after every other method, until it returns `None`: the frames of one transmission
    /// come out back to back at the same `now`, the first marked [`Transmit::first`], and the
    /// driver keys the modem for them in order. A buffer too small for a frame ends the
    /// transmission early; what was not sent is sent later.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut [u8]) -> Option<Transmit> {
        self.now = self.now.max(now);
        if self.burst.is_none() {
            if self.channel != Channel::Idle || now < self.ready_time() {
                return None;
            }
            self.expire(now);
            if !self.wants_to_send() {
                self.solicited = false;
                return None;
            }
            self.plan(now);
            self.burst.as_ref()?;
        }
        let transmit = self.emit_next(buf);
        if transmit.is_none()
            && let Some(b) = self.burst.as_mut()
        {
            // The frame could not be written: end this transmission here.
            b.next = b.frames.len();
        }
        transmit
    }

    /// Plans one transmission: what goes in it, in order, within the airtime budget.
    fn plan(&mut self, now: Instant) {
        let mut planner = Planner {
            frames: heapless::Vec::new(),
            used: Duration::ZERO,
            budget: self.budget(),
            expect_reply: false,
        };
        let peer = self.peer();
        let dest = peer.unwrap_or(Address::BROADCAST);
        // CAS-1 first: a FULL RESET that travels with a link request must follow it.
        self.plan_non_arq(&mut planner, true, 0);
        let reset_dest = self.reset_dest().unwrap_or(Address::BROADCAST);
        let acks = self.reset_ack_owed.map(|id| Reset {
            reset_ack: true,
            reset_frame_id: id,
            ..Reset::default()
        });
        let requests = match self.reset {
            ResetState::Requesting(id) => Some(Reset {
                full_reset: true,
                reset_frame_id: id,
                ..Reset::default()
            }),
            ResetState::Normal => None,
        };
        if self.reset_dest().is_some() {
            // In `ack_copies` copies: a lost RESET costs the peer's whole next transmission.
            for r in acks.into_iter().chain(requests) {
                let len = self.dpdu_len(reset_dest, Body::ResetWinResync(r));
                for _ in 0..self.config.ack_copies {
                    planner.add(&self.config.modem, len, Planned::Reset(r));
                }
                planner.expect_reply |= r.full_reset;
            }
        }
        let arq_ready = peer.is_some() && self.reset == ResetState::Normal;
        if arq_ready {
            self.plan_space(&mut planner, dest, true);
            self.plan_non_arq(&mut planner, true, 0);
        }
        if arq_ready {
            // Non-ARQ C_PDUs above every queued ARQ C_PDU's priority go before ARQ data.
            let top_arq = self
                .queue
                .iter()
                .flatten()
                .filter(|m| m.is_arq(false) && m.dest == dest)
                .map(|m| m.priority)
                .max();
            if let Some(p) = top_arq {
                self.plan_non_arq(&mut planner, false, p.saturating_add(1));
            }
            self.plan_space(&mut planner, dest, false);
            self.last_activity = now;
        }
        self.plan_non_arq(&mut planner, false, 0);
        if planner.frames.is_empty() {
            return;
        }
        let modem = self.config.modem;
        let total = add(modem.overhead(), planner.used);
        self.burst = Some(Burst {
            frames: planner.frames,
            next: 0,
            start: now,
            end: now + total,
            air_before: Duration::ZERO,
        });
        self.channel = Channel::Sending {
            end: now + total,
            expect_reply: planner.expect_reply,
        };
        self.solicited = false;
        self.stats.transmissions += 1;
    }

    /// Plans one ARQ space: its acknowledgement, retransmissions, then new segments in
    /// priority order.
    fn plan_space(&mut self, planner: &mut Planner, dest: Address, expedited: bool) {
        let modem = self.config.modem;
        let copies = self.config.ack_copies;
        let (ack_owed, ack_len) = {
            let space_ack = if expedited {
                (self.expedited.ack_owed, build_ack(&self.expedited.rx))
            } else {
                (self.normal.ack_owed, build_ack(&self.normal.rx))
            };
            let body = if expedited {
                Body::ExpeditedAckOnly(space_ack.1)
            } else {
                Body::AckOnly(space_ack.1)
            };
            (space_ack.0, self.dpdu_len(dest, body))
        };
        let mut piggyback = ack_owed && !expedited;
        let mut data_frames = 0usize;
        // Retransmissions first: they hold the window's lower edge.
        let pending: heapless::Vec<u8, 256> = {
            let tx = if expedited {
                &self.expedited.tx
            } else {
                &self.normal.tx
            };
            // DROP frames lead, so the peer discards an expired C_PDU before a retransmission
            // in the same transmission could complete what it was waiting for.
            let pending = |drop: bool| {
                tx.seqs().filter(move |&s| {
                    tx.frame(s).is_some_and(|f| {
                        f.state == FrameState::Pending && f.flags.drop_cpdu == drop
                    })
                })
            };
            pending(true).chain(pending(false)).collect()
        };
        let mut acks_planned = 0u8;
        if ack_owed && expedited {
            // Expedited acknowledgements have no DATA-ACK form: they lead.
            for _ in 0..copies {
                planner.add(&modem, ack_len, Planned::Ack { expedited });
            }
            acks_planned = copies;
        }
        // Data must leave room for the closing acknowledgement copies.
        let reserve = if ack_owed && acks_planned == 0 {
            modem.airtime(ack_len.saturating_mul(usize::from(copies)))
        } else {
            Duration::ZERO
        };
        let budget = planner.budget;
        planner.budget = Duration::from_millis(budget.millis().saturating_sub(reserve.millis()));
        let mut full = false;
        for seq in pending {
            if !self.plan_arq_frame(planner, dest, expedited, seq, &mut piggyback) {
                full = true;
                break;
            }
            data_frames += 1;
        }
        // New segments, the C_PDU being numbered first, then by priority.
        while let Some(slot) = self.next_arq_slot(dest, expedited).filter(|_| !full) {
            let Some(seq) = self.number_segment(slot, expedited) else {
                break;
            };
            if !self.plan_arq_frame(planner, dest, expedited, seq, &mut piggyback) {
                break;
            }
            data_frames += 1;
        }
        planner.budget = budget;
        if ack_owed && acks_planned == 0 {
            if data_frames == 0 {
                for _ in 0..copies {
                    planner.add(&modem, ack_len, Planned::Ack { expedited });
                }
            } else {
                for _ in 1..copies {
                    planner.add(&modem, ack_len, Planned::Ack { expedited });
                }
            }
        }
    }

    /// Adds one ARQ data frame to the plan; false when it does not fit.
    fn plan_arq_frame(
        &self,
        planner: &mut Planner,
        dest: Address,
        expedited: bool,
        seq: u8,
        piggyback: &mut bool,
    ) -> bool {
        let tx = if expedited {
            &self.expedited.tx
        } else {
            &self.normal.tx
        };
        let Some(f) = tx.frame(seq) else {
            return false;
        };
        // Sized before the data is copied: an empty segment, its length added below.
        let seg: &[u8] = &[];
        let body = if expedited {
            Body::ExpeditedDataOnly(ExpeditedData {
                cpdu_start: f.flags.cpdu_start,
                cpdu_end: f.flags.cpdu_end,
                cpdu_id: 0,
                tx_seq: seq,
                segment: seg,
            })
        } else {
            let data = ArqData {
                flags: f.flags,
                tx_seq: seq,
                segment: seg,
            };
            if *piggyback {
                Body::DataAck(data, build_ack(&self.normal.rx))
            } else {
                Body::DataOnly(data)
            }
        };
        let len = self.dpdu_len(dest, body) + usize::from(f.len);
        let planned = Planned::Arq {
            expedited,
            seq,
            piggyback: *piggyback,
        };
        if !planner.add(&self.config.modem, len, planned) {
            return false;
        }
        *piggyback = false;
        planner.expect_reply = true;
        true
    }

    /// The queue slot whose next segment should be numbered in this space.
    fn next_arq_slot(&self, dest: Address, expedited: bool) -> Option<usize> {
        let current = if expedited {
            self.expedited.current
        } else {
            self.normal.current
        };
        if let Some(c) = current {
            return Some(usize::from(c));
        }
        self.queue
            .iter()
            .enumerate()
            .filter_map(|(i, m)| m.as_ref().map(|m| (i, m)))
            .filter(|(_, m)| m.is_arq(expedited) && m.dest == dest && !m.expired && m.offset == 0)
            .max_by_key(|(_, m)| (m.priority, core::cmp::Reverse(m.order)))
            .map(|(i, _)| i)
    }

    /// Gives the next segment of the C_PDU in `slot` a sequence number (an empty DROP frame if
    /// the C_PDU expired part-way).
    fn number_segment(&mut self, slot: usize, expedited: bool) -> Option<u8> {
        let max_seg = usize::from(self.config.max_segment);
        let m = self.queue.get_mut(slot)?.as_mut()?;
        let (tx, current) = if expedited {
            (&mut self.expedited.tx, &mut self.expedited.current)
        } else {
            (&mut self.normal.tx, &mut self.normal.current)
        };
        let (offset, len, flags) = if m.expired {
            let flags = ArqFlags {
                cpdu_end: true,
                drop_cpdu: true,
                ..ArqFlags::default()
            };
            (m.offset, 0, flags)
        } else {
            let len = max_seg.min(m.len - m.offset);
            let in_order = matches!(m.carriage, Carriage::Arq { in_order: true, .. });
            let flags = ArqFlags {
                cpdu_start: m.offset == 0,
                cpdu_end: m.offset + len >= m.len,
                deliver_in_order: in_order,
                ..ArqFlags::default()
            };
            (m.offset, len, flags)
        };
        let seq = tx.assign(slot as u8, offset as u16, len as u16, flags)?;
        m.unacked += 1;
        m.offset = if flags.cpdu_end { m.len } else { offset + len };
        *current = (!flags.cpdu_end).then_some(slot as u8);
        Some(seq)
    }

    /// Plans non-ARQ frames (expedited or not) of queued C_PDUs at or above `min_priority`.
    fn plan_non_arq(&mut self, planner: &mut Planner, expedited: bool, min_priority: u8) {
        let max_seg = usize::from(self.config.max_segment);
        let modem = self.config.modem;
        let mut order: heapless::Vec<(u8, u32, usize), QUEUE> = heapless::Vec::new();
        for (i, m) in self.queue.iter().enumerate() {
            if let Some(m) = m
                && matches!(m.carriage, Carriage::NonArq { expedited: e, repeats } if e == expedited && m.repeat < repeats)
                && m.priority >= min_priority
            {
                // Highest priority first, then oldest, sorted as it is built: a queue holds a
                // handful, and the generic sort would cost the firmware 1.5 KiB of flash.
                let key = (core::cmp::Reverse(m.priority), m.order);
                let at = order
                    .iter()
                    .position(|&(p, o, _)| (core::cmp::Reverse(p), o) > key)
                    .unwrap_or(order.len());
                let _ = order.insert(at, (m.priority, m.order, i));
            }
        }
        for (_, _, slot) in order {
            while let Some(Some(m)) = self.queue.get(slot) {
                let Carriage::NonArq { repeats, .. } = m.carriage else {
                    break;
                };
                if m.repeat >= repeats {
                    break;
                }
                let len = max_seg.min(m.len - m.offset);
                let last_of_copy = m.offset + len >= m.len;
                let last = last_of_copy && m.repeat + 1 >= repeats;
                let body = non_arq_body(m.offset, expedited);
                let frame_len = self.dpdu_len(m.dest, body) + len;
                let planned = Planned::NonArq {
                    slot: slot as u8,
                    offset: m.offset as u16,
                    len: len as u16,
                    last,
                };
                if !planner.add(&modem, frame_len, planned) {
                    return;
                }
                if m.expects_reply {
                    planner.expect_reply = true;
                }
                if let Some(Some(m)) = self.queue.get_mut(slot) {
                    if last_of_copy {
                        m.repeat += 1;
                        m.offset = 0;
                    } else {
                        m.offset += len;
                    }
                }
            }
        }
    }

    /// Writes the next planned frame of the current transmission.
    fn emit_next(&mut self, buf: &mut [u8]) -> Option<Transmit> {
        let burst = self.burst.as_ref()?;
        let planned = *burst.frames.get(burst.next)?;
        let first = burst.next == 0;
        let last = burst.next + 1 == burst.frames.len();
        let (start, end, air_before) = (burst.start, burst.end, burst.air_before);
        let modem = self.config.modem;
        let on_air = start + modem.preamble + air_before;
        let eot = timing::eot_for(end - on_air);
        let peer = self.peer().unwrap_or(Address::BROADCAST);
        let src = self.config.address;
        let mut after: Option<(usize, bool)> = None;
        let (dest, body) = match planned {
            Planned::Reset(r) => {
                if r.reset_ack {
                    self.reset_ack_owed = None;
                }
                let dest = self.reset_dest().unwrap_or(Address::BROADCAST);
                (dest, Body::ResetWinResync(r))
            }
            Planned::Ack { expedited } => {
                if expedited {
                    self.expedited.ack_owed = false;
                    (peer, Body::ExpeditedAckOnly(build_ack(&self.expedited.rx)))
                } else {
                    self.normal.ack_owed = false;
                    (peer, Body::AckOnly(build_ack(&self.normal.rx)))
                }
            }
            Planned::Arq {
                expedited,
                seq,
                piggyback,
            } => {
                let space = if expedited {
                    &mut self.expedited.tx
                } else {
                    &mut self.normal.tx
                };
                let uwe = space.uwe();
                let lwe = space.lwe();
                let f = space.frame_mut(seq)?;
                if f.state == FrameState::Pending {
                    f.state = FrameState::Sent;
                }
                if f.tries > 0 {
                    self.stats.retransmissions += 1;
                }
                f.tries = f.tries.saturating_add(1);
                let TxFrame {
                    slot,
                    offset,
                    len,
                    mut flags,
                    ..
                } = *f;
                flags.tx_win_lwe = seq == lwe;
                flags.tx_win_uwe = Some(seq) == uwe;
                let m = self.queue.get(usize::from(slot))?.as_ref()?;
                let segment = m.data(usize::from(offset), usize::from(len));
                if expedited {
                    let cpdu_id = (m.cpdu_id & 0x0F) as u8;
                    (
                        peer,
                        Body::ExpeditedDataOnly(ExpeditedData {
                            cpdu_start: flags.cpdu_start,
                            cpdu_end: flags.cpdu_end,
                            cpdu_id,
                            tx_seq: seq,
                            segment,
                        }),
                    )
                } else {
                    let data = ArqData {
                        flags,
                        tx_seq: seq,
                        segment,
                    };
                    if piggyback {
                        (peer, Body::DataAck(data, build_ack(&self.normal.rx)))
                    } else {
                        (peer, Body::DataOnly(data))
                    }
                }
            }
            Planned::NonArq {
                slot,
                offset,
                len,
                last,
            } => {
                let m = self.queue.get(usize::from(slot))?.as_ref()?;
                let expedited = matches!(
                    m.carriage,
                    Carriage::NonArq {
                        expedited: true,
                        ..
                    }
                );
                let window_units =
                    self.config.reception_window.millis() / timing::EOT_UNIT.millis();
                let d = NonArqData {
                    cpdu_id: m.cpdu_id,
                    deliver_in_order: false,
                    group: m.dest == Address::BROADCAST,
                    cpdu_size: m.len as u16,
                    segment_offset: offset,
                    reception_window: window_units.min(u64::from(u16::MAX)) as u16,
                    segment: m.data(usize::from(offset), usize::from(len)),
                };
                if last {
                    after = Some((usize::from(slot), true));
                }
                let body = if expedited {
                    Body::ExpeditedNonArqData(d)
                } else {
                    Body::NonArqData(d)
                };
                (m.dest, body)
            }
        };
        let dpdu = Dpdu {
            eow: Eow::NONE,
            eot,
            dest,
            src,
            body,
        };
        let len = dpdu.emit(buf).ok()?;
        self.stats.frames_sent += 1;
        if let Some(b) = self.burst.as_mut() {
            b.next += 1;
            b.air_before = add(b.air_before, modem.airtime(len));
        }
        if let Some((slot, true)) = after {
            let id = self
                .queue
                .get(slot)
                .and_then(Option::as_ref)
                .and_then(|m| m.id);
            self.free(slot);
            if let Some(id) = id {
                self.note(Note::Sent(id));
            }
        }
        Some(Transmit {
            len,
            first,
            last,
            on_air,
            end,
        })
    }

    // ----------------------------------------------------------------------------------------
    // Events

    /// The next report or received U_PDU, or `None`. Call after every other method until it
    /// returns `None`; received data borrows the link until the next call. Delivering a U_PDU
    /// whose sender asked for confirmation queues that confirmation.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        if let Some(note) = self.notes.pop_front() {
            return Some(match note {
                Note::Delivered(id) => Event::Delivered(id),
                Note::Sent(id) => Event::Sent(id),
                Note::Failed(id, f) => Event::Failed(id, f),
                Note::LinkUp(a) => Event::LinkUp(a),
                Note::LinkDown(a) => Event::LinkDown(a),
                Note::Reset(a) => Event::Reset(a),
            });
        }
        // Skip C_PDUs that carry nothing for a client (unknown or unsupported S_PDUs).
        let (src, service, len) = loop {
            let (src, service, len) = self.next_cpdu()?;
            let cpdu = self.rx_buf.get(..len).unwrap_or(&[]);
            if matches!(
                Cpdu::parse(cpdu),
                Ok(Cpdu::Data(Spdu::Data(_) | Spdu::DeliveryConfirm { .. }))
            ) {
                break (src, service, len);
            }
            self.stats.ignored += 1;
        };
        let cpdu = self.rx_buf.get(..len).unwrap_or(&[]);
        let confirm = match Cpdu::parse(cpdu) {
            Ok(Cpdu::Data(Spdu::Data(d))) if d.confirm => {
                let mut echo = [0u8; pdu::ECHO_LEN];
                let n = d.updu.len().min(pdu::ECHO_LEN);
                if let (Some(dst), Some(src)) = (echo.get_mut(..n), d.updu.get(..n)) {
                    dst.copy_from_slice(src);
                }
                Some((d.header, echo, n))
            }
            _ => None,
        };
        if let Some((header, echo, n)) = confirm {
            // Annex A: the confirm's SAP byte is the DATA S_PDU's, unchanged.
            let spdu = Spdu::DeliveryConfirm {
                header,
                echo: echo.get(..n).unwrap_or(&[]),
            };
            let carriage = Carriage::Arq {
                in_order: false,
                expedited: false,
            };
            self.enqueue_control(src, &Cpdu::Data(spdu), carriage);
        }
        let cpdu = self.rx_buf.get(..len).unwrap_or(&[]);
        match Cpdu::parse(cpdu) {
            Ok(Cpdu::Data(Spdu::Data(d))) => Some(Event::Received(Received {
                src,
                service,
                header: d.header,
                data: d.updu,
            })),
            Ok(Cpdu::Data(Spdu::DeliveryConfirm { header, echo })) => Some(Event::Confirmed {
                from: src,
                header,
                echo,
            }),
            _ => {
                self.stats.ignored += 1;
                None
            }
        }
    }

    /// Moves the next complete received C_PDU into `rx_buf`: non-ARQ first, then expedited,
    /// then normal ARQ.
    fn next_cpdu(&mut self) -> Option<(Address, Service, usize)> {
        if let Some(item) = self.inbox.pop_front() {
            let n = item.len.min(CPDU);
            if let (Some(dst), Some(src)) = (self.rx_buf.get_mut(..n), item.bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
            return Some((item.src, item.service, n));
        }
        let peer = self.peer()?;
        if matches!(self.channel, Channel::Receiving { .. }) {
            // ARQ C_PDUs are handed out between the peer's transmissions, so a DROP anywhere in
            // a transmission takes effect before anything it cancels could be delivered.
            return None;
        }
        for expedited in [true, false] {
            let popped = if expedited {
                self.expedited.rx.pop(&mut self.rx_buf)
            } else {
                self.normal.rx.pop(&mut self.rx_buf)
            };
            match popped {
                Ok(Some(d)) => {
                    let service = if expedited {
                        Service::ExpeditedArq
                    } else {
                        Service::Arq
                    };
                    return Some((peer, service, d.len));
                }
                Ok(None) => {}
                Err(_) => {
                    // A C_PDU larger than this node's buffers: the peer broke the rules.
                    // Discard what is held so the window can move (counted, not delivered).
                    self.stats.ignored += 1;
                    if expedited {
                        let n = self.expedited.rx.next_seq();
                        self.expedited.rx.reset(n);
                    } else {
                        let n = self.normal.rx.next_seq();
                        self.normal.rx.reset(n);
                    }
                }
            }
        }
        None
    }
}

/// The airtime one transmission may use for D_PDUs: the modem's longest less its overhead.
fn budget(m: &Modem) -> Duration {
    Duration::from_millis(
        m.max_transmission
            .millis()
            .saturating_sub(m.overhead().millis()),
    )
}

/// The length on the air of a D_PDU from `src` to `dest` carrying `body`.
fn dpdu_len(src: Address, dest: Address, body: Body<'_>) -> usize {
    Dpdu {
        eow: Eow::NONE,
        eot: 0,
        dest,
        src,
        body,
    }
    .buffer_len()
}

/// A non-ARQ body with an empty segment, for sizing frames: a D_PDU's length is its header's
/// plus its segment's (add the segment's length to [`dpdu_len`] of this), and a borrowed
/// segment of zeros would cost a 1 KiB constant in the firmware's flash.
fn non_arq_body(offset: usize, expedited: bool) -> Body<'static> {
    let d = NonArqData {
        cpdu_id: 0,
        deliver_in_order: false,
        group: false,
        cpdu_size: 0,
        segment_offset: offset as u16,
        reception_window: 0,
        segment: &[],
    };
    if expedited {
        Body::ExpeditedNonArqData(d)
    } else {
        Body::NonArqData(d)
    }
}

/// The sum of two durations (saturating).
fn add(a: Duration, b: Duration) -> Duration {
    Duration::from_millis(a.millis().saturating_add(b.millis()))
}

/// Accumulates the frames of one transmission within its airtime budget.
struct Planner {
    frames: heapless::Vec<Planned, MAX_BURST_FRAMES>,
    used: Duration,
    budget: Duration,
    expect_reply: bool,
}

impl Planner {
    /// Adds a frame of `len` bytes if it fits; false otherwise.
    fn add(&mut self, modem: &Modem, len: usize, planned: Planned) -> bool {
        let air = modem.airtime(len);
        if add(self.used, air) > self.budget || self.frames.push(planned).is_err() {
            return false;
        }
        self.used = add(self.used, air);
        true
    }
}
