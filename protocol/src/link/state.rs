//! The link's internal state: queued C_PDUs, the ARQ sequence spaces, received non-ARQ C_PDUs,
//! the channel, CAS-1 and RESET/WIN-RESYNC states.

use super::arq::TxWindow;
use super::{CONTROL_CPDU, CONTROL_SLOTS, MessageId, Service};
use crate::time::Instant;
use crate::wire::Address;
use crate::wire::reassembly::ArqReassembly;

/// The delivery service of a queued C_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Carriage {
    Arq { in_order: bool, expedited: bool },
    NonArq { expedited: bool, repeats: u8 },
}

/// A queued C_PDU and how far it has got (its bytes are in [`SendQueue`], beside it).
#[derive(Clone, Debug)]
pub(super) struct Outgoing {
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
    /// ARQ: bytes given sequence numbers. Non-ARQ: offset within the current repeat.
    pub(super) offset: usize,
    /// ARQ: numbered frames not yet acknowledged.
    pub(super) unacked: u16,
    /// Non-ARQ: repeats fully planned.
    pub(super) repeat: u8,
    /// Time-to-die passed and was reported; only DROP frames remain to be acknowledged.
    pub(super) expired: bool,
}

impl Outgoing {
    pub(super) fn is_arq(&self, expedited: bool) -> bool {
        matches!(self.carriage, Carriage::Arq { expedited: e, .. } if e == expedited)
    }
}

/// The send queue: `QUEUE` places of `CPDU` bytes for clients' C_PDUs, then
/// [`CONTROL_SLOTS`] places of [`CONTROL_CPDU`] bytes for the link's own (CAS-1, delivery
/// confirmations), which are never larger. Each place has one index, slot `i < QUEUE` a
/// client place and `QUEUE + j` control place `j`, which is what transmit windows and plans
/// name. Kept apart so a board pays a full C_PDU's bytes only for what a client may queue
/// (the adjunct's control places were 3 of its 5 full ones, 3 KB). The link's own C_PDUs go to
/// a control place first and to a free client place only when all three are taken, so the
/// queue behaves as one pool of `QUEUE + CONTROL_SLOTS` places, as before it was split.
#[derive(Clone, Debug)]
pub(super) struct SendQueue<const QUEUE: usize, const CPDU: usize> {
    clients: [Option<Outgoing>; QUEUE],
    client_bytes: [[u8; CPDU]; QUEUE],
    control: [Option<Outgoing>; CONTROL_SLOTS],
    control_bytes: [[u8; CONTROL_CPDU]; CONTROL_SLOTS],
}

impl<const QUEUE: usize, const CPDU: usize> SendQueue<QUEUE, CPDU> {
    /// Every place: `QUEUE` client places, then the control places.
    pub(super) const SLOTS: usize = QUEUE + CONTROL_SLOTS;

    pub(super) const fn new() -> Self {
        SendQueue {
            clients: [const { None }; QUEUE],
            client_bytes: [[0; CPDU]; QUEUE],
            control: [const { None }; CONTROL_SLOTS],
            control_bytes: [[0; CONTROL_CPDU]; CONTROL_SLOTS],
        }
    }

    /// Every place in slot order (client places first), as `[Option<Outgoing>]::iter` gave.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Option<Outgoing>> {
        self.clients.iter().chain(self.control.iter())
    }

    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Option<Outgoing>> {
        self.clients.iter_mut().chain(self.control.iter_mut())
    }

    pub(super) fn get(&self, slot: usize) -> Option<&Option<Outgoing>> {
        match slot.checked_sub(QUEUE) {
            None => self.clients.get(slot),
            Some(j) => self.control.get(j),
        }
    }

    pub(super) fn get_mut(&mut self, slot: usize) -> Option<&mut Option<Outgoing>> {
        match slot.checked_sub(QUEUE) {
            None => self.clients.get_mut(slot),
            Some(j) => self.control.get_mut(j),
        }
    }

    /// A free place for a client's C_PDU (`control` false) or one of the link's own: a control
    /// place, else a client place.
    pub(super) fn free_slot(&self, control: bool) -> Option<usize> {
        let client = || self.clients.iter().position(Option::is_none);
        if control {
            self.control
                .iter()
                .position(Option::is_none)
                .map(|j| QUEUE + j)
                .or_else(client)
        } else {
            client()
        }
    }

    /// Free places of either kind.
    pub(super) fn free_places(&self) -> usize {
        self.iter().filter(|m| m.is_none()).count()
    }

    /// The bytes of the place `slot`, to write a C_PDU into.
    pub(super) fn bytes_mut(&mut self, slot: usize) -> Option<&mut [u8]> {
        match slot.checked_sub(QUEUE) {
            None => self.client_bytes.get_mut(slot).map(|b| &mut b[..]),
            Some(j) => self.control_bytes.get_mut(j).map(|b| &mut b[..]),
        }
    }

    /// `len` bytes at `offset` of the C_PDU in `slot` (empty if out of range).
    pub(super) fn data(&self, slot: usize, offset: usize, len: usize) -> &[u8] {
        let bytes = match slot.checked_sub(QUEUE) {
            None => self.client_bytes.get(slot).map(|b| &b[..]),
            Some(j) => self.control_bytes.get(j).map(|b| &b[..]),
        };
        bytes
            .and_then(|b| b.get(offset..offset + len))
            .unwrap_or(&[])
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
