//! The link's internal state: queued C_PDUs, the ARQ sequence spaces, received non-ARQ C_PDUs,
//! the channel, CAS-1 and RESET/WIN-RESYNC states.

use super::arq::TxWindow;
use super::{MessageId, Service};
use crate::time::Instant;
use crate::wire::Address;
use crate::wire::reassembly::ArqReassembly;

/// The delivery service of a queued C_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Carriage {
    Arq { in_order: bool, expedited: bool },
    NonArq { expedited: bool, repeats: u8 },
}

/// A queued C_PDU and how far it has got.
#[derive(Clone, Debug)]
pub(super) struct Outgoing<const CPDU: usize> {
    /// `None` for the link's own C_PDUs (CAS-1, confirmations), which raise no events.
    pub(super) id: Option<MessageId>,
    pub(super) dest: Address,
    pub(super) carriage: Carriage,
    pub(super) priority: u8,
    pub(super) ttd: Instant,
    /// Submission order, for first-come first-served within a priority.
    pub(super) order: u32,
    /// Non-ARQ C_PDU ID (12 bits) or expedited C_PDU ID (4 bits).
    pub(super) cpdu_id: u16,
    /// After sending, the sender waits for an answer (a link request).
    pub(super) expects_reply: bool,
    pub(super) len: usize,
    pub(super) bytes: [u8; CPDU],
    /// ARQ: bytes given sequence numbers. Non-ARQ: offset within the current repeat.
    pub(super) offset: usize,
    /// ARQ: numbered frames not yet acknowledged.
    pub(super) unacked: u16,
    /// Non-ARQ: repeats fully planned.
    pub(super) repeat: u8,
    /// Time-to-die passed and was reported; only DROP frames remain to be acknowledged.
    pub(super) expired: bool,
}

impl<const CPDU: usize> Outgoing<CPDU> {
    pub(super) fn data(&self, offset: usize, len: usize) -> &[u8] {
        self.bytes.get(offset..offset + len).unwrap_or(&[])
    }

    pub(super) fn is_arq(&self, expedited: bool) -> bool {
        matches!(self.carriage, Carriage::Arq { expedited: e, .. } if e == expedited)
    }
}

/// One ARQ sequence space: both directions.
#[derive(Clone, Debug)]
pub(super) struct Space<const RX: usize, const SEG: usize, const TXW: usize> {
    pub(super) tx: TxWindow<TXW>,
    pub(super) rx: ArqReassembly<RX, SEG>,
    pub(super) ack_owed: bool,
    /// The queue slot whose segments are being numbered: a C_PDU's segments take consecutive
    /// sequence numbers, so no other C_PDU starts until it is done.
    pub(super) current: Option<u8>,
}

impl<const RX: usize, const SEG: usize, const TXW: usize> Space<RX, SEG, TXW> {
    pub(super) const fn new(window: u8) -> Self {
        Space {
            tx: TxWindow::new(window),
            rx: ArqReassembly::new(),
            ack_owed: false,
            current: None,
        }
    }

    pub(super) fn reset(&mut self) {
        self.tx.reset();
        self.rx.reset(0);
        self.ack_owed = false;
        self.current = None;
    }
}

/// A complete non-ARQ C_PDU waiting for [`Link::poll_event`].
#[derive(Clone, Debug)]
pub(super) struct Inbound<const CPDU: usize> {
    pub(super) src: Address,
    pub(super) service: Service,
    pub(super) len: usize,
    pub(super) bytes: [u8; CPDU],
}

/// Who has the channel.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Channel {
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
pub(super) enum Cas {
    Down,
    Requesting { peer: Address, attempts: u8 },
    Up { peer: Address, caller: bool },
}

/// A RESET/WIN-RESYNC exchange in progress.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum ResetState {
    Normal,
    /// We must send (or resend) FULL RESET with this frame ID and wait for its acknowledgement.
    Requesting(u8),
}
