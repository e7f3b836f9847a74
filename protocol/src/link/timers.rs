//! Time: when the link next has work, and what happens when that instant comes (the
//! half-duplex turn, reply windows, back-off).

use super::{Cas, Channel, LINK_LOST_AFTER, Link, non_arq_body};
use crate::time::{Duration, Instant};
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
    pub(super) fn ready_time(&self) -> Instant {
        let unsolicited_wait = match self.cas {
            Cas::Up { caller: false, .. } if !self.solicited => self.reply_window(),
            _ => Duration::ZERO,
        };
        self.ready_at + unsolicited_wait
    }
}
