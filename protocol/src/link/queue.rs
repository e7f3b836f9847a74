//! The send queue: client U_PDUs and the link's own C_PDUs go in, expired ones come out.

use super::arq::FrameState;
use super::{
    CAS_REPEATS, CONTROL_PRIORITY, CONTROL_SLOTS, Carriage, Cpdu, DataSpdu, Error, Failure, Link,
    MAX_UPDU_LEN, Message, MessageId, Mode, Note, Outgoing, SendQueue, Spdu, SubmitError,
    expedited_window,
};
use crate::time::Instant;
use crate::wire;
use crate::wire::Address;

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
        // Clients leave `CONTROL_SLOTS` places free (the control places, or client places
        // if the link's own C_PDUs spilled into them), so a full queue never stops CAS-1.
        if self.queue.free_places() <= CONTROL_SLOTS {
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
        let index = self.queue.free_slot(id.is_none()).ok_or(Error::QueueFull)?;
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
            offset: 0,
            unacked: 0,
            repeat: 0,
            expired: false,
        };
        let bytes = self.queue.bytes_mut(index).ok_or(Error::QueueFull)?;
        out.len = cpdu.emit(bytes).map_err(|e| match e {
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

    pub(super) fn free(&mut self, slot: usize) {
        if let Some(entry) = self.queue.get_mut(slot) {
            *entry = None;
        }
    }

    pub(super) fn note(&mut self, note: Note) {
        if self.notes.is_full() {
            self.notes.pop_front();
            self.stats.events_dropped += 1;
        }
        // Cannot fail: room was just made.
        let _ = self.notes.push_back(note);
    }

    /// Queues one of the link's own C_PDUs (CAS-1 or a confirmation); dropped if the queue is
    /// full, which the peer's retries cover.
    pub(super) fn enqueue_control(&mut self, dest: Address, cpdu: &Cpdu<'_>, carriage: Carriage) {
        let ttd = self.now + self.config.confirm_ttd;
        if self
            .enqueue(None, dest, carriage, CONTROL_PRIORITY, ttd, cpdu)
            .is_err()
        {
            self.stats.ignored += 1;
        }
    }

    pub(super) fn enqueue_cas(&mut self, dest: Address, cpdu: Cpdu<'_>) {
        let carriage = Carriage::NonArq {
            expedited: true,
            repeats: CAS_REPEATS,
        };
        self.enqueue_control(dest, &cpdu, carriage);
    }

    /// Drops C_PDUs whose time-to-die has passed.
    pub(super) fn expire(&mut self, now: Instant) {
        for slot in 0..SendQueue::<QUEUE, CPDU>::SLOTS {
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
}

#[cfg(test)]
mod tests {
    use super::super::pdu::{ECHO_LEN, fail, reason};
    use super::super::{CONTROL_CPDU, Cpdu, Spdu, SpduHeader};

    /// Every C_PDU the link queues of its own fits a control place: the delivery answers with
    /// the longest echo, and each CAS-1 C_PDU.
    #[test]
    fn the_links_own_cpdus_fit_a_control_place() {
        let header = SpduHeader {
            priority: 15,
            src_sap: 15,
            dest_sap: 15,
        };
        let echo = [0xA5; ECHO_LEN];
        let own = [
            Cpdu::Data(Spdu::DeliveryConfirm {
                header,
                echo: &echo,
            }),
            Cpdu::Data(Spdu::DeliveryFail {
                header,
                reason: fail::REFUSED,
                echo: &echo,
            }),
            Cpdu::LinkRequest,
            Cpdu::LinkAccepted,
            Cpdu::LinkRejected(reason::UNKNOWN),
            Cpdu::LinkBreak(reason::BREAK_NO_MORE_DATA),
            Cpdu::LinkBreakConfirm,
        ];
        let mut longest = 0;
        for cpdu in own {
            let mut place = [0u8; CONTROL_CPDU];
            let len = cpdu.emit(&mut place).expect("fits a control place");
            longest = longest.max(len);
        }
        assert_eq!(
            longest, CONTROL_CPDU,
            "the place is no larger than it must be"
        );
    }
}
