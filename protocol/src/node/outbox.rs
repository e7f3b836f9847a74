//! The outbox: what is queued for the link, in what order it goes, and how it is written.
//!
//! Every message the node sends waits here as a [`Payload`] (an artifact by digest, an
//! inventory message by its parameters), not as bytes: it is written only when the link has
//! room for it, from what storage and the trust store hold then, so a queued SUMMARY or RANGES
//! is never stale and the outbox costs a few dozen bytes a place. What goes next is the most
//! urgent by priority, except that a flow over its airtime share yields (share.rs); a full
//! outbox owes each domain an equal share of it, so one partner's flood cannot take every
//! place.

use heapless::Vec;

use super::message::{DetailEntry, PrefixRange, ShortDigest, Want, Writer};
use super::{Node, NodeEvent, Storage, sync};
use crate::link::{Message as LinkMessage, Mode, SpduHeader};
use crate::policy::{Digest, Domain, Kind, MAX_DOMAINS, Trust};
use crate::time::Instant;
use crate::wire::Address;

/// Priorities on the link, 0..=15, higher first.
pub(super) mod priority {
    pub const REVOCATION: u8 = 15;
    pub const WANT: u8 = 14;
    pub const INVENTORY: u8 = 12;
    pub const CREDENTIAL: u8 = 10;
    pub const POLICY: u8 = 8;
    /// The SUMMARY that follows a broadcast, after every artifact queued with it.
    pub const CHECK: u8 = 6;
}

/// What a queued U_PDU carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Payload {
    Artifact(Digest),
    Summary,
    /// A DETAIL page of a domain from a digest prefix, ending at `through` at the latest;
    /// `walk` asks the receiver to answer with the next page.
    Detail {
        domain: Domain,
        from: u32,
        through: u32,
        walk: bool,
    },
    /// Fingerprints of a domain's artifacts in `range` split into `parts` (node/sync.rs).
    Ranges {
        domain: Domain,
        range: PrefixRange,
        parts: u8,
    },
    Want(Want),
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) struct Outgoing {
    /// A neighbour, or [`Address::BROADCAST`] for everyone on `channel`.
    pub(super) to: Address,
    /// For a broadcast, the channel it goes on.
    pub(super) channel: Option<u8>,
    pub(super) payload: Payload,
    pub(super) priority: u8,
    pub(super) ttd: Instant,
    /// The domain it concerns (none for a SUMMARY): the outbox is shared fairly by domain.
    pub(super) domain: Option<Domain>,
}

impl<
    S: Storage,
    T: Trust,
    const OUT: usize,
    const WAIT: usize,
    const NBRS: usize,
    const KNOWN: usize,
    const EVS: usize,
> Node<S, T, OUT, WAIT, NBRS, KNOWN, EVS>
{
    /// Writes the most urgent queued U_PDU into `buf` and returns it as a message for
    /// [`crate::link::Link::submit`]. Call while the link has room for more; `buf` should hold
    /// [`crate::link::MAX_UPDU_LEN`] bytes. Messages past their time-to-die are dropped unsent.
    pub fn poll_send<'b>(&mut self, now: Instant, buf: &'b mut [u8]) -> Option<LinkMessage<'b>> {
        self.next_send(now, None, &mut |_| true, buf)
    }

    /// [`Node::poll_send`] for the link that is channel `channel`: the most urgent U_PDU for a
    /// neighbour on it ([`Node::neighbour_up_on`]) that `accept` takes, or a broadcast to the
    /// whole channel ([`Address::BROADCAST`], non-ARQ) when the [`Fanout`] rule says so. Call
    /// while that link has room; `accept` lets the driver hold back what a neighbour's share
    /// of the link cannot take now (it stays queued here, in order).
    // Out of line: the message it builds (a SUMMARY's entries, the encoding) costs stack only
    // while it builds, not under the driver's admission of what the links received.
    #[inline(never)]
    pub fn poll_send_on<'b>(
        &mut self,
        now: Instant,
        channel: u8,
        accept: &mut dyn FnMut(Address) -> bool,
        buf: &'b mut [u8],
    ) -> Option<LinkMessage<'b>> {
        self.next_send(now, Some(channel), accept, buf)
    }

    /// Whether `out` goes on `channel` (any, when `None`).
    pub(super) fn goes_on(&self, out: &Outgoing, channel: Option<u8>) -> bool {
        match channel {
            None => true,
            Some(_) if out.to == Address::BROADCAST => out.channel == channel,
            Some(_) => self.channel_of(out.to) == channel,
        }
    }

    pub(super) fn next_send<'b>(
        &mut self,
        now: Instant,
        channel: Option<u8>,
        accept: &mut dyn FnMut(Address) -> bool,
        buf: &'b mut [u8],
    ) -> Option<LinkMessage<'b>> {
        self.resume_sync(now);
        loop {
            let mut eligible = |o: &Outgoing| self.goes_on(o, channel) && accept(o.to);
            let mut waiting: Vec<Option<Domain>, { MAX_DOMAINS + 1 }> = Vec::new();
            for o in self.outbox.iter().filter(|o| eligible(o)) {
                if !waiting.contains(&o.domain) {
                    let _ = waiting.push(o.domain);
                }
            }
            // Judged once per flow, not once per queued message.
            let over: Vec<Option<Domain>, { MAX_DOMAINS + 1 }> = waiting
                .iter()
                .copied()
                .filter(|&f| self.shares.over_share(f, &waiting))
                .collect();
            let index = self
                .outbox
                .iter()
                .enumerate()
                .filter(|(_, o)| eligible(o))
                // A flow over its airtime share yields to the others whatever its priority
                // (share.rs: a partner's flood of valid revocations must not hold back other
                // partners' artifacts or the inventory rounds that repair losses); then the
                // highest priority; among equals, the flow served longest ago, then the oldest.
                .max_by_key(|(i, o)| {
                    (
                        !over.contains(&o.domain),
                        o.priority,
                        core::cmp::Reverse(self.shares.last_served(o.domain)),
                        core::cmp::Reverse(*i),
                    )
                })
                .map(|(i, _)| i)?;
            let mut out = self.outbox.remove(index);
            if out.ttd <= now {
                continue;
            }
            if let Some(c) = channel
                && out.to != Address::BROADCAST
                && self.fan_out(c, out.to, out.payload)
            {
                out.to = Address::BROADCAST;
            }
            let Some(len) = self.write_payload(&out.payload, buf) else {
                continue;
            };
            self.shares.record(out.domain, len);
            if let (Payload::Artifact(_), Some(domain)) = (out.payload, out.domain)
                && out.priority == priority::REVOCATION
            {
                // A delta kept past the history while it was queued goes once it is sent. The
                // message is already in `buf`; storage is not what it borrows.
                let history = usize::from(self.config.revocation_history);
                let _ = self.forget_old_deltas(domain, history);
            }
            let repeats = self.config.fanout.repeats.max(1);
            // To one neighbour on a shared channel, non-ARQ unless the rule says ARQ there:
            // ARQ needs a CAS-1 physical link, one at a time, which neighbours contend for.
            let unicast_non_arq = !self.config.fanout.arq_when_shared
                && self.config.fanout.threshold(None).is_some()
                && channel.is_some_and(|c| self.listeners(c) >= 2);
            let non_arq = out.to == Address::BROADCAST || unicast_non_arq;
            let mode = match (non_arq, out.priority) {
                (true, priority::REVOCATION) => Mode::ExpeditedNonArq { repeats },
                (true, _) => Mode::NonArq { repeats },
                (false, priority::REVOCATION) => Mode::ExpeditedArq,
                (false, _) => Mode::Arq { in_order: false },
            };
            if non_arq
                && matches!(out.payload, Payload::Artifact(_))
                && let Some(c) = channel
            {
                self.expect_check(c);
            }
            return Some(LinkMessage {
                dest: out.to,
                header: SpduHeader {
                    priority: out.priority,
                    src_sap: self.config.sap,
                    dest_sap: self.config.sap,
                },
                mode,
                confirm: false,
                ttd: out.ttd,
                data: buf.get(..len).unwrap_or_default(),
            });
        }
    }

    pub(super) fn write_payload(&self, payload: &Payload, buf: &mut [u8]) -> Option<usize> {
        match payload {
            Payload::Artifact(digest) => {
                let index = self.storage.position(digest)?;
                let (_, bytes) = self.storage.get(index)?;
                Writer::artifact(buf, bytes).ok()
            }
            Payload::Summary => {
                let lines = self.summary();
                Writer::summary(buf, lines.iter().copied()).ok()
            }
            Payload::Detail {
                domain,
                from,
                through,
                walk,
            } => {
                // Everything held, withdrawn included, so a neighbour that has not yet heard of
                // the revocation does not send it back.
                let held = self
                    .held()
                    .filter(|a| a.domain == *domain)
                    .map(|a| DetailEntry {
                        kind: a.kind as u8,
                        id: a.id,
                        version: a.version,
                        digest: ShortDigest::from(&a.digest),
                    });
                let (entries, range) = sync::page(held, *from, *through);
                Writer::detail(buf, *domain, range, *walk, entries.iter().copied()).ok()
            }
            Payload::Ranges {
                domain,
                range,
                parts,
            } => {
                let parts = self.fingerprints(*domain, *range, usize::from(*parts));
                Writer::ranges(buf, *domain, *range, &parts).ok()
            }
            Payload::Want(want) => Writer::want(buf, want).ok(),
        }
    }

    /// The priority, time-to-die and domain of `payload` queued now.
    pub(super) fn ttd_for(&self, payload: &Payload, now: Instant) -> (u8, Instant, Option<Domain>) {
        let stored = match payload {
            Payload::Artifact(digest) => self
                .storage
                .position(digest)
                .and_then(|i| self.storage.get(i))
                .map(|(a, _)| a),
            _ => None,
        };
        let kind = stored.map(|a| a.kind);
        let domain = match payload {
            Payload::Artifact(_) => stored.map(|a| a.domain),
            Payload::Detail { domain, .. } | Payload::Ranges { domain, .. } => Some(*domain),
            Payload::Want(w) => Some(w.domain),
            Payload::Summary => None,
        };
        let prio = match (payload, kind) {
            (Payload::Want(_), _) => priority::WANT,
            (Payload::Summary | Payload::Detail { .. } | Payload::Ranges { .. }, _) => {
                priority::INVENTORY
            }
            (_, Some(Kind::Revocation | Kind::Checkpoint)) => priority::REVOCATION,
            (_, Some(Kind::Credential)) => priority::CREDENTIAL,
            _ => priority::POLICY,
        };
        let ttd = if prio == priority::REVOCATION {
            self.config.revocation_ttd
        } else {
            self.config.artifact_ttd
        };
        (prio, now + ttd, domain)
    }

    /// Queues `payload` to `to`, unless the same is already queued.
    pub(super) fn queue(&mut self, to: Address, payload: Payload, now: Instant) {
        if self
            .outbox
            .iter()
            .any(|o| o.to == to && o.payload == payload)
        {
            return;
        }
        let (priority, ttd, domain) = self.ttd_for(&payload, now);
        if self.outbox.is_full() && !self.make_outbox_room(domain) {
            // The next SUMMARY round finds what did not fit.
            self.event(NodeEvent::OutboxFull(to));
            return;
        }
        if let Payload::Artifact(digest) = payload
            && let Some(n) = self.neighbours.iter_mut().find(|n| n.address == to)
        {
            // Counted as held once queued: if the send fails, the next SUMMARY round finds it.
            n.learn(ShortDigest::from(&digest));
        }
        let out = Outgoing {
            to,
            channel: None,
            payload,
            priority,
            ttd,
            domain,
        };
        if self.outbox.push(out).is_err() {
            self.event(NodeEvent::OutboxFull(to));
        }
    }

    /// Makes a place in the full outbox for a message of `domain`: while the outbox has room
    /// any domain may use it, but when it is full each domain with a root is owed an equal
    /// share of it for artifacts. A domain below its share takes the newest artifact place of
    /// a domain over its share (that artifact is found again by the next SUMMARY round); one at
    /// its share, or a message of no domain, finds no place. So one partner's flood never
    /// crowds out another's next artifact.
    pub(super) fn make_outbox_room(&mut self, domain: Option<Domain>) -> bool {
        let Some(domain) = domain else {
            return false;
        };
        let share = OUT / self.trust.revocation_seqs().count().max(1);
        let queued = |d: Domain, outbox: &[Outgoing]| {
            outbox
                .iter()
                .filter(|o| o.domain == Some(d) && matches!(o.payload, Payload::Artifact(_)))
                .count()
        };
        if queued(domain, &self.outbox) >= share {
            return false;
        }
        let over = self.outbox.iter().rposition(|o| {
            matches!(o.payload, Payload::Artifact(_))
                && o.domain.is_some_and(|d| queued(d, &self.outbox) > share)
        });
        match over {
            Some(i) => {
                self.outbox.remove(i);
                true
            }
            None => false,
        }
    }
}
