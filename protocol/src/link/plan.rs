//! Output, first half: deciding what one transmission holds, in order, within its airtime.

use super::arq::{FrameState, build_ack};
use super::{Carriage, Channel, Link, MAX_BURST_FRAMES, Modem, ResetState, Transmit};
use crate::time::{Duration, Instant};
use crate::wire::{
    Address, ArqData, ArqFlags, Body, Dpdu, Eow, ExpeditedData, NonArqData, Reset, Warning,
};

/// One D_PDU planned for the current transmission.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Planned {
    Reset(Reset),
    /// A WARNING D_PDU to this node (busy with another link).
    Warning(Address),
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
pub(super) struct Burst {
    pub(super) frames: heapless::Vec<Planned, MAX_BURST_FRAMES>,
    pub(super) next: usize,
    pub(super) start: Instant,
    pub(super) end: Instant,
    /// Airtime of the frames already handed out.
    pub(super) air_before: Duration,
}

/// The airtime one transmission may use for D_PDUs: the modem's longest less its overhead.
pub(super) fn budget(m: &Modem) -> Duration {
    Duration::from_millis(
        m.max_transmission
            .millis()
            .saturating_sub(m.overhead().millis()),
    )
}

/// The length on the air of a D_PDU from `src` to `dest` carrying `body`.
pub(super) fn dpdu_len(src: Address, dest: Address, body: Body<'_>) -> usize {
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
pub(super) fn non_arq_body(offset: usize, expedited: bool) -> Body<'static> {
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

/// The WARNING a node linked elsewhere sends a caller: the LINK REQUEST came in an expedited
/// non-ARQ D_PDU (type 8), which is invalid in the current state.
pub(super) const fn busy_warning() -> Warning {
    Warning {
        received_type: 8,
        reason: Warning::INVALID_FOR_STATE,
    }
}

/// The sum of two durations (saturating).
pub(super) fn add(a: Duration, b: Duration) -> Duration {
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
    /// Whether planning a transmission now would produce at least one frame.
    pub(super) fn wants_to_send(&self) -> bool {
        if self.warning_owed.is_some() {
            return true;
        }
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

    pub(super) fn dpdu_len(&self, dest: Address, body: Body<'_>) -> usize {
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
        let cas_planned = !planner.frames.is_empty();
        if let Some(to) = self.warning_owed {
            let len = self.dpdu_len(to, Body::Warning(busy_warning()));
            planner.add(&self.config.modem, len, Planned::Warning(to));
        }
        let reset_dest = self.reset_dest().unwrap_or(Address::BROADCAST);
        let acks = self.reset_ack_owed.map(|id| Reset {
            reset_ack: true,
            reset_frame_id: id,
            ..Reset::default()
        });
        let requests = match self.reset {
            // In the annex order not beside ACCEPTED: the peer takes that D_PDU before the
            // C_PDU that makes the link, so the RESET would be for no link.
            ResetState::Requesting(_) if cas_planned && self.config.reset_after_link => None,
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
        // Highest priority first, then oldest: each round takes the next by that key among the
        // eligible C_PDUs (a queue holds a handful, and the generic sort would cost the firmware
        // 1.5 KiB of flash; a list of them would need a length of `QUEUE + CONTROL_SLOTS`,
        // which a const generic cannot be given).
        let mut after: Option<(core::cmp::Reverse<u8>, u32)> = None;
        loop {
            let next = self
                .queue
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let m = m.as_ref()?;
                    let eligible = matches!(m.carriage, Carriage::NonArq { expedited: e, repeats } if e == expedited && m.repeat < repeats)
                        && m.priority >= min_priority;
                    let key = (core::cmp::Reverse(m.priority), m.order);
                    (eligible && after.is_none_or(|a| key > a)).then_some((key, i))
                })
                .min_by_key(|&(key, _)| key);
            let Some((key, slot)) = next else {
                return;
            };
            after = Some(key);
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
}
