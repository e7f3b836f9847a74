//! RESET/WIN-RESYNC (Annex C): starting both ARQ sequence spaces afresh with the peer.

use super::{Carriage, Cas, Link, Note, ResetState, SendQueue};
use crate::wire::{Address, Reset};

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
    pub(super) fn handle_reset(&mut self, r: Reset) {
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
    /// state was reset for it (the FULL RESET then rides with the link request), except in
    /// the annex order (`Config::reset_after_link`): the linked peer only.
    pub(super) fn reset_dest(&self) -> Option<Address> {
        match self.cas {
            Cas::Up { peer, .. } => Some(peer),
            Cas::Requesting { peer, .. }
                if self.arq_peer == Some(peer) && !self.config.reset_after_link =>
            {
                Some(peer)
            }
            _ => None,
        }
    }

    /// Starts both sequence spaces afresh here and asks the peer, by FULL RESET, to do the
    /// same; ARQ data waits (and the peer's is ignored) until the peer acknowledges.
    pub(super) fn begin_reset(&mut self) {
        self.full_reset(None);
        self.reset = ResetState::Requesting(self.next_reset_id);
        self.next_reset_id = self.next_reset_id.wrapping_add(1);
    }

    /// Both ARQ spaces start again from 0; every unacknowledged C_PDU is resent whole.
    fn full_reset(&mut self, peer: Option<Address>) {
        self.normal.reset();
        self.expedited.reset();
        for slot in 0..SendQueue::<QUEUE, CPDU>::SLOTS {
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
}
