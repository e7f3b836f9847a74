//! CAS-1 (Annex B): making, keeping and breaking the one physical link.

use super::{Carriage, Cas, Channel, Cpdu, Link, Note, ResetState, SendQueue, pdu};
use crate::time::Instant;
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
    pub(super) fn handle_cas(&mut self, now: Instant, from: Address, cpdu: Cpdu<'_>) {
        match (cpdu, self.cas) {
            (Cpdu::LinkRequest, Cas::Up { peer, .. }) if peer == from => {
                // Our acceptance was lost: accept again (the ARQ state carries on).
                self.enqueue_cas(from, Cpdu::LinkAccepted);
            }
            (Cpdu::LinkRequest, Cas::Up { .. }) => {
                // Busy with another link: Annex B has no reject reason for that, Annex C says
                // it with a WARNING D_PDU (invalid for the current state).
                self.warning_owed = Some(from);
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
                self.refused(now);
            }
            (Cpdu::LinkBreak(_), Cas::Up { peer, .. }) if peer == from => {
                self.link_down(peer);
                self.enqueue_cas(from, Cpdu::LinkBreakConfirm);
            }
            _ => self.stats.ignored += 1,
        }
    }

    /// The peer being called refused (REJECTED, or a WARNING because it is linked with another
    /// node). It releases that link when idle, so ask again later; the C_PDUs wait (until
    /// their time-to-die).
    pub(super) fn refused(&mut self, now: Instant) {
        self.cas = Cas::Down;
        self.request_after = now + self.config.idle_break;
    }

    /// Whether one of the link's own C_PDUs to `dest` is already queued.
    pub(super) fn control_queued(&self, dest: Address) -> bool {
        self.queue
            .iter()
            .flatten()
            .any(|m| m.id.is_none() && m.dest == dest)
    }

    fn drop_own_requests(&mut self) {
        for slot in 0..SendQueue::<QUEUE, CPDU>::SLOTS {
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

    pub(super) fn link_down(&mut self, peer: Address) {
        self.cas = Cas::Down;
        self.note(Note::LinkDown(peer));
    }

    /// Makes, keeps or breaks the physical link according to what is queued.
    pub(super) fn update_cas(&mut self, now: Instant) {
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
                    if self.arq_peer != Some(dest) && !self.config.reset_after_link {
                        // Our state is for another peer (or none): start afresh, and say so
                        // with a FULL RESET right behind the request. In the annex order
                        // (`reset_after_link`) `link_up` decides instead.
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
                    for slot in self.queue.iter_mut() {
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
    pub(super) fn idle_break_at(&self) -> Option<Instant> {
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

    /// Asks again for the physical link if the last request went unanswered. Requests go on
    /// until the C_PDUs that want the link reach their time-to-die.
    pub(super) fn retry_link_request(&mut self) {
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
}
