//! Neighbours: who is up, on which channel, and which artifacts each is known to hold.
//!
//! "Up" means worth sending to, not "a physical link exists now" (the link layer makes those on
//! demand). What a neighbour is known to hold (it sent it, listed it in a DETAIL, heard it
//! broadcast, or it is queued to it) is remembered by short digest, a bounded number per
//! neighbour, so an artifact is not offered twice; what is forgotten is found again by the
//! next SUMMARY.

use heapless::Vec;

use super::message::ShortDigest;
use super::outbox::Payload;
use super::{Node, Storage, TooManyNeighbours};
use crate::policy::{Digest, Trust};
use crate::time::Instant;
use crate::wire::Address;

#[derive(Clone, Debug)]
pub(super) struct Neighbour<const KNOWN: usize> {
    pub(super) address: Address,
    pub(super) up: bool,
    /// The channel (the station's link) it is reached on, if the driver said.
    pub(super) channel: Option<u8>,
    pub(super) next_summary: Instant,
    pub(super) known: Vec<ShortDigest, KNOWN>,
}

impl<const KNOWN: usize> Neighbour<KNOWN> {
    pub(super) fn knows(&self, digest: &Digest) -> bool {
        self.known.contains(&ShortDigest::from(digest))
    }

    pub(super) fn learn(&mut self, digest: ShortDigest) {
        if self.known.contains(&digest) {
            return;
        }
        if self.known.is_full() {
            // Forget the oldest: at worst it is offered once more after the next SUMMARY.
            self.known.remove(0);
        }
        let _ = self.known.push(digest);
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
    /// Records that `address` is reachable and queues a SUMMARY to it. "Up" means worth sending
    /// to, not "a physical link exists now" (the link layer makes those on demand): call it for
    /// configured neighbours at start and whenever a neighbour is heard again after an outage.
    pub fn neighbour_up(
        &mut self,
        now: Instant,
        address: Address,
    ) -> Result<(), TooManyNeighbours> {
        self.neighbour_up_via(now, address, None)
    }

    /// [`Node::neighbour_up`] for a neighbour reached on `channel` (the driver's number for
    /// the link, one HF channel): neighbours on one channel hear the same transmissions, so
    /// the node may send them an artifact as one broadcast ([`Fanout`]) and takes a broadcast
    /// heard from one of them as heard by all. [`crate::station::Station`] calls this.
    pub fn neighbour_up_on(
        &mut self,
        now: Instant,
        address: Address,
        channel: u8,
    ) -> Result<(), TooManyNeighbours> {
        self.neighbour_up_via(now, address, Some(channel))
    }

    pub(super) fn neighbour_up_via(
        &mut self,
        now: Instant,
        address: Address,
        channel: Option<u8>,
    ) -> Result<(), TooManyNeighbours> {
        let index = match self.neighbours.iter().position(|n| n.address == address) {
            Some(i) => i,
            None => {
                self.neighbours
                    .push(Neighbour {
                        address,
                        up: false,
                        channel,
                        next_summary: now,
                        known: Vec::new(),
                    })
                    .map_err(|_| TooManyNeighbours)?;
                self.neighbours.len() - 1
            }
        };
        if let Some(n) = self.neighbours.get_mut(index) {
            n.up = true;
            n.channel = channel.or(n.channel);
        }
        let next = now + self.next_interval();
        if let Some(n) = self.neighbours.get_mut(index) {
            n.next_summary = next;
        }
        self.queue(address, Payload::Summary, now);
        Ok(())
    }

    /// Records that `address` is out of reach (an outage, radio silence): nothing new is queued
    /// to it and no summaries go to it until it is up again, when the SUMMARY exchange sends it
    /// exactly what it missed. What it is known to hold is kept.
    pub fn neighbour_down(&mut self, address: Address) {
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.address == address) {
            n.up = false;
        }
    }

    /// The channel `address` is reached on.
    pub(super) fn channel_of(&self, address: Address) -> Option<u8> {
        self.neighbours
            .iter()
            .find(|n| n.address == address)
            .and_then(|n| n.channel)
    }
}
