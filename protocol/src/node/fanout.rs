//! The fan-out rule: how an artifact goes to neighbours that share a channel, where one
//! transmission reaches them all.
//!
//! What every neighbour up on a channel lacks goes once as a non-ARQ broadcast with repeats
//! instead of one ARQ copy each (a revocation even to a single neighbour: a broadcast needs no
//! physical link, which is what makes a revocation hop fast), and on a shared channel what goes
//! to one of them goes non-ARQ too. A non-ARQ artifact is acknowledged by the SUMMARY that
//! follows it once sent (the *check*): a listener that missed it sees the difference and asks.
//! Of the listeners to a SUMMARY broadcast only the lowest address answers it, so a channel's
//! neighbours do not all send the same thing. docs/node.md gives the measurement behind the
//! defaults.

use heapless::Vec;

use super::outbox::Payload;
use super::{Node, Storage};
use crate::policy::{Kind, Trust};
use crate::time::Instant;
use crate::wire::Address;

/// How an artifact goes to neighbours that share a channel (one transmission reaches them
/// all): the fan-out rule.
///
/// When every neighbour that is up on the channel lacks an artifact, and they are at least
/// `min_lacking` (`revocation_min_lacking` for revocation deltas), the artifact goes once as a
/// non-ARQ broadcast, each segment sent `repeats` times, instead of one ARQ copy per neighbour;
/// otherwise each neighbour that lacks it gets its own ARQ copy. A broadcast is followed by a
/// SUMMARY, broadcast the same way after everything queued with it: a listener that missed
/// something finds the difference and asks for it by DETAIL, and gets it by ARQ. docs/node.md
/// gives the measurement behind the defaults.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Fanout {
    /// Lacking neighbours from which a policy, translator or credential is broadcast (0: never).
    pub min_lacking: u8,
    /// Lacking neighbours from which a revocation delta is broadcast (expedited non-ARQ; 0:
    /// never).
    pub revocation_min_lacking: u8,
    /// Transmissions of each segment of a broadcast (at least 1).
    pub repeats: u8,
    /// On a channel with two or more neighbours, send what goes to one of them by ARQ (true)
    /// or non-ARQ with `repeats` (false). Off (ARQ) when broadcasts are off.
    pub arq_when_shared: bool,
}

impl Fanout {
    /// Every artifact by ARQ to each neighbour.
    pub const ARQ_ONLY: Fanout = Fanout {
        min_lacking: 0,
        revocation_min_lacking: 0,
        repeats: 1,
        arq_when_shared: true,
    };

    /// Skywave's rule: broadcast with three repeats what two or more neighbours on a channel
    /// all lack, and every revocation all neighbours on a channel lack, even a single one (a
    /// broadcast needs no physical link, which is what makes a revocation hop fast).
    pub const DEFAULT: Fanout = Fanout {
        min_lacking: 2,
        revocation_min_lacking: 1,
        repeats: 3,
        arq_when_shared: false,
    };

    /// The lacking neighbours from which an artifact of `kind` is broadcast, if ever.
    pub(super) fn threshold(&self, kind: Option<Kind>) -> Option<usize> {
        let min = match kind {
            Some(Kind::Revocation | Kind::Checkpoint) => self.revocation_min_lacking,
            _ => self.min_lacking,
        };
        (min > 0 && self.repeats > 0).then_some(usize::from(min))
    }
}

impl Default for Fanout {
    fn default() -> Self {
        Fanout::DEFAULT
    }
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
    /// Says that a non-ARQ message [`Node::poll_send_on`] gave for `channel` went out (the
    /// link reported it sent, every repeat): after artifacts, the SUMMARY that lets a listener
    /// find what it missed follows after [`Config::check_delay`]. Call for every non-ARQ
    /// message the link reports sent; without it, the periodic SUMMARY is the check.
    pub fn sent_non_arq(&mut self, now: Instant, channel: u8) {
        let at = now + self.config.check_delay;
        if let Some(check) = self
            .checks
            .iter_mut()
            .find(|c| c.0 == channel && c.1.is_none())
        {
            check.1 = Some(at);
        }
    }

    /// If the fan-out rule sends `payload` (an artifact or a SUMMARY), just taken out of the
    /// outbox for `first` on `channel`, as one broadcast: takes the other neighbours' copies
    /// out of the outbox. Returns whether it does. A SUMMARY says the same to every neighbour, so
    /// one broadcast replaces the copies (and the physical links each would need).
    pub(super) fn fan_out(&mut self, channel: u8, first: Address, payload: Payload) -> bool {
        let kind = match payload {
            Payload::Artifact(digest) => self
                .storage
                .position(&digest)
                .and_then(|i| self.storage.get(i))
                .map(|(a, _)| a.kind),
            Payload::Summary => None,
            Payload::Detail { .. } | Payload::Ranges { .. } | Payload::Want(_) => return false,
        };
        let Some(min) = self.config.fanout.threshold(kind) else {
            return false;
        };
        let mut listeners = 0;
        let mut lacking = 0;
        for n in self
            .neighbours
            .iter()
            .filter(|n| n.up && n.channel == Some(channel))
        {
            listeners += 1;
            // A neighbour lacks it while a copy to it is queued (a queued artifact counts as
            // known, so that it is queued once).
            let queued = n.address == first
                || self
                    .outbox
                    .iter()
                    .any(|o| o.to == n.address && o.payload == payload);
            if queued {
                lacking += 1;
            }
        }
        if lacking < min || lacking < listeners {
            return false;
        }
        let on_channel: Vec<Address, NBRS> = self
            .neighbours
            .iter()
            .filter(|n| n.channel == Some(channel))
            .map(|n| n.address)
            .take(NBRS)
            .collect();
        self.outbox
            .retain(|o| !(o.payload == payload && on_channel.contains(&o.to)));
        true
    }

    /// Notes that an artifact went non-ARQ on `channel`: a SUMMARY must follow once it is
    /// sent ([`Node::sent_non_arq`]).
    pub(super) fn expect_check(&mut self, channel: u8) {
        if !self.checks.contains(&(channel, None)) {
            // A check armed for earlier messages gives way to this one's, armed when it is
            // sent, which covers them all.
            self.checks.retain(|c| c.0 != channel);
            let _ = self.checks.push((channel, None));
        }
    }

    /// Whether this node supplies what the sender of a SUMMARY broadcast lacks: every
    /// listener on that channel would send the same DETAIL (or push the same artifacts), so
    /// only the one with the lowest address does. Without [`Config::address`], or with `from`
    /// on no known channel, it always does. If the one that should missed the broadcast, the
    /// next periodic SUMMARY (from either side) finds the difference again.
    pub(super) fn answers(&self, from: Address) -> bool {
        let (Some(me), Some(channel)) = (self.config.address, self.channel_of(from)) else {
            return true;
        };
        !self.neighbours.iter().any(|n| {
            n.up && n.channel == Some(channel)
                && n.address != from
                && n.address.value() < me.value()
        })
    }

    /// How many neighbours are up on `channel`.
    pub(super) fn listeners(&self, channel: u8) -> usize {
        self.neighbours
            .iter()
            .filter(|n| n.up && n.channel == Some(channel))
            .count()
    }
}
