//! Input: one D_PDU at a time, into the channel estimate, the ARQ spaces, non-ARQ reassembly
//! and CAS-1.

use super::{Cas, Channel, Cpdu, Error, Inbound, Link, Note, ResetState, Service, pdu, timing};
use crate::time::{Duration, Instant};
use crate::wire;
use crate::wire::reassembly::NonArqKey;
use crate::wire::{
    Address, ArqData, ArqFlags, Body, Dpdu, Frame, NonArqData, SelectiveAck, Warning,
};

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
            Body::Warning(w)
                if calling && dpdu.dest == me && w.reason == Warning::INVALID_FOR_STATE =>
            {
                // The node we call is linked with another (Annex C's way of saying busy).
                self.refused(now);
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
}
