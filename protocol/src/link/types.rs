//! What a driver hands a [`Link`] (configuration, messages) and what it gets back (events,
//! frames to transmit, counters).

#[cfg(doc)]
use super::Link;
use super::{Modem, SpduHeader, pdu::ECHO_LEN};
use crate::time::{Duration, Instant};
use crate::wire::{Address, MAX_SEGMENT_LEN};

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
    /// Send FULL RESET only once the physical link is made, never in a transmission that
    /// carries a CAS-1 C_PDU: the order Annexes B and C imply, which other stacks expect (they
    /// take a RESET that rides with LINK REQUEST or ACCEPTED before the CAS C_PDU, as meant
    /// for no link, and answer with a WARNING). Off by default because it costs one turn at
    /// every link with a new peer; docs/link.md has the measured set-up times
    /// (`skywave-sim setup`).
    pub reset_after_link: bool,
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
            reset_after_link: false,
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
    /// Its sender asked for client delivery confirmation (the DATA S_PDU's flag): the request
    /// the driver answers with [`Link::answer`] once it knows whether the client takes the
    /// U_PDU (a [`crate::station::Station`] answers after its guard decided), so a refusal
    /// goes back as DATA DELIVERY FAIL, never as a confirm. `None`: nothing to answer. A
    /// driver that must deliver such U_PDUs exactly once across restarts recognises the
    /// sender's resends by it (docs/sis.md).
    pub confirm: Option<ConfirmRequest>,
    /// The U_PDU.
    pub data: &'a [u8],
}

/// A received U_PDU's request for client delivery confirmation: who asked, for which SAPs,
/// and the first bytes of the U_PDU that the answer echoes (Annex A). The link hands it out
/// with the U_PDU ([`Received::confirm`]) and sends nothing until the driver answers it with
/// [`Link::answer`]: the destination's decision (its guard, its store) comes before the
/// answer, not after. A request never answered is never confirmed; the sender's
/// time-to-live settles it.
#[must_use = "the sender waits for the answer: give it to Link::answer"]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ConfirmRequest {
    pub(super) to: Address,
    pub(super) header: SpduHeader,
    pub(super) echo: [u8; ECHO_LEN],
    pub(super) echo_len: u8,
}

impl ConfirmRequest {
    /// The node that asked (the U_PDU's source).
    pub const fn to(&self) -> Address {
        self.to
    }

    /// The SAPs and priority of the U_PDU, as its DATA S_PDU had them.
    pub const fn header(&self) -> SpduHeader {
        self.header
    }

    /// The first bytes of the U_PDU (at most [`ECHO_LEN`]), which the answer echoes.
    pub fn echo(&self) -> &[u8] {
        self.echo.get(..usize::from(self.echo_len)).unwrap_or(&[])
    }
}

/// How a driver answers a [`ConfirmRequest`] ([`Link::answer`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Answer {
    /// DATA DELIVERY CONFIRM: the destination client has the U_PDU.
    Confirm,
    /// DATA DELIVERY FAIL with a reason from [`super::pdu::fail`] (4 bits; a larger value
    /// is sent as [`super::pdu::fail::REFUSED`]): the U_PDU will not reach the client.
    Fail(u8),
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
    /// A destination node could not deliver the U_PDU starting with `echo` (DATA DELIVERY
    /// FAIL, Annex A): the answer to a client confirmation request when no client holds the
    /// destination SAP.
    NotDelivered {
        /// The refusing node.
        from: Address,
        /// The SAPs of the refused U_PDU (its priority is not sent, and reads 0).
        header: SpduHeader,
        /// Why ([`super::pdu::fail`]).
        reason: u8,
        /// The first bytes of the refused U_PDU.
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
pub(super) enum Note {
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
