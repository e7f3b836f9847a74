//! Output, second half: writing the planned D_PDUs of a transmission, one per call.

use super::arq::{FrameState, TxFrame, build_ack};
use super::{Carriage, Link, Note, Planned, Transmit, add, busy_warning, timing};
use crate::wire::{Address, ArqData, Body, Dpdu, Eow, ExpeditedData, NonArqData};

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
    /// Writes the next planned frame of the current transmission.
    pub(super) fn emit_next(&mut self, buf: &mut [u8]) -> Option<Transmit> {
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
            Planned::Warning(to) => {
                self.warning_owed = None;
                (to, Body::Warning(busy_warning()))
            }
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
                let segment =
                    self.queue
                        .data(usize::from(slot), usize::from(offset), usize::from(len));
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
                    segment: self.queue.data(
                        usize::from(slot),
                        usize::from(offset),
                        usize::from(len),
                    ),
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
}
