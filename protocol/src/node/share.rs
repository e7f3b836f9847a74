//! Airtime shares: which partner's message goes next when several wait for the same channel.
//!
//! Priority alone lets one partner starve the others: a nation that publishes thousands of
//! revocation deltas (all at the highest priority, all valid) would hold every other nation's
//! policies, and the SUMMARY, DETAIL and WANT rounds that repair losses, behind its own until
//! the last is sent. A node therefore counts, per flow, the bytes it recently put on the air: a
//! flow is a domain (its artifacts and the DETAILs and WANTs about it), or the domain-free
//! inventory (SUMMARYs). A flow that has used more than an equal share of the recent bytes,
//! while other flows wait, yields to them whatever its priority; among flows within their
//! share, priority decides as before. With one flow waiting, or flows using equal airtime,
//! nothing changes, so the measured priority behaviour (revocations first) holds whenever no
//! partner hogs the channel.
//!
//! "Recent" decays: when the bytes counted reach [`WINDOW`], every count is halved, so a flow
//! that was busy an hour ago is not held back now. Counting is by payload bytes handed to the
//! link, the share of the node's own transmissions; a node cannot ration what others send, but
//! every relay rations what it forwards, so a flood is thinned at each hop.

use heapless::Vec;

use crate::policy::{Domain, MAX_DOMAINS};

/// Bytes counted before every flow's count is halved: about a minute of air at 2400 bit/s.
pub const WINDOW: u32 = 16 * 1024;

/// Bytes a flow may have sent before its share is judged at all: below this, priority alone
/// decides (a single message is never "over its share").
const FLOOR: u32 = 1024;

/// One flow's account.
#[derive(Clone, Copy, Debug)]
struct Account {
    flow: Option<Domain>,
    /// The send counter when a message of this flow last went out.
    last: u32,
    /// Bytes sent recently (decayed).
    bytes: u32,
}

/// The airtime accounts of a node's flows.
#[derive(Clone, Debug)]
pub struct Shares {
    accounts: Vec<Account, { MAX_DOMAINS + 1 }>,
    /// Messages sent, for `last`.
    sends: u32,
    /// Bytes counted since the last halving.
    counted: u32,
}

impl Shares {
    /// No flow has sent anything.
    pub const fn new() -> Self {
        Shares {
            accounts: Vec::new(),
            sends: 0,
            counted: 0,
        }
    }

    fn account(&self, flow: Option<Domain>) -> Option<&Account> {
        self.accounts.iter().find(|a| a.flow == flow)
    }

    /// When `flow` last had a message sent, by the send counter (0: never).
    pub fn last_served(&self, flow: Option<Domain>) -> u32 {
        self.account(flow).map_or(0, |a| a.last)
    }

    /// Whether `flow` has used more than an equal share of the recent bytes of the flows in
    /// `waiting` (the flows with a message for the channel now, `flow` among them).
    pub fn over_share(&self, flow: Option<Domain>, waiting: &[Option<Domain>]) -> bool {
        if waiting.len() < 2 {
            return false;
        }
        let bytes = |f: Option<Domain>| u64::from(self.account(f).map_or(0, |a| a.bytes));
        let own = bytes(flow);
        let total: u64 = waiting.iter().map(|&f| bytes(f)).sum();
        own >= u64::from(FLOOR) && own * waiting.len() as u64 > total
    }

    /// Notes that `len` bytes of `flow` were just handed to the link.
    pub fn record(&mut self, flow: Option<Domain>, len: usize) {
        self.sends = self.sends.wrapping_add(1);
        let len = u32::try_from(len).unwrap_or(u32::MAX);
        let at = self.sends;
        if let Some(a) = self.accounts.iter_mut().find(|a| a.flow == flow) {
            a.last = at;
            a.bytes = a.bytes.saturating_add(len);
        } else {
            if self.accounts.is_full() {
                // The flow served longest ago gives its place: MAX_DOMAINS + 1 flows exist
                // only when a domain left and another came.
                if let Some(oldest) = self
                    .accounts
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, a)| a.last)
                    .map(|(i, _)| i)
                {
                    self.accounts.swap_remove(oldest);
                }
            }
            let _ = self.accounts.push(Account {
                flow,
                last: at,
                bytes: len,
            });
        }
        self.counted = self.counted.saturating_add(len);
        if self.counted >= WINDOW {
            self.counted /= 2;
            for a in &mut self.accounts {
                a.bytes /= 2;
            }
        }
    }
}

impl Default for Shares {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GBR: Option<Domain> = Some(Domain(*b"GBR"));
    const AUS: Option<Domain> = Some(Domain(*b"AUS"));

    #[test]
    fn a_flow_alone_or_below_the_floor_is_never_over_its_share() {
        let mut shares = Shares::new();
        shares.record(AUS, 900);
        assert!(!shares.over_share(AUS, &[AUS, GBR]), "below the floor");
        shares.record(AUS, 900);
        assert!(!shares.over_share(AUS, &[AUS]), "alone");
        assert!(shares.over_share(AUS, &[AUS, GBR]));
        assert!(!shares.over_share(GBR, &[AUS, GBR]));
    }

    #[test]
    fn flows_using_equal_airtime_are_both_within_their_share() {
        let mut shares = Shares::new();
        for _ in 0..10 {
            shares.record(AUS, 300);
            shares.record(GBR, 300);
        }
        assert!(!shares.over_share(AUS, &[AUS, GBR]));
        assert!(!shares.over_share(GBR, &[AUS, GBR]));
        assert!(!shares.over_share(None, &[AUS, GBR, None]));
    }

    #[test]
    fn an_old_flood_decays() {
        let mut shares = Shares::new();
        shares.record(AUS, 8 * 1024);
        assert!(shares.over_share(AUS, &[AUS, GBR]));
        // GBR alone then uses the channel for a few windows: AUS's hour-old flood is forgotten.
        for _ in 0..200 {
            shares.record(GBR, 512);
        }
        assert!(!shares.over_share(AUS, &[AUS, GBR]));
        assert!(shares.over_share(GBR, &[AUS, GBR]));
    }

    #[test]
    fn more_flows_than_domains_replace_the_one_served_longest_ago() {
        let mut shares = Shares::new();
        for i in 0..=MAX_DOMAINS as u8 + 2 {
            shares.record(Some(Domain([b'A', b'A', b'A' + i])), 10);
        }
        assert_eq!(shares.last_served(Some(Domain(*b"AAA"))), 0);
        assert_ne!(shares.last_served(Some(Domain([b'A', b'A', b'A' + 2]))), 0);
    }
}
