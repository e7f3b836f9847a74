//! The inventory exchange: SUMMARY, DETAIL and WANT.
//!
//! Neighbours exchange a SUMMARY (per domain: the revocation sequence, an artifact count and a
//! 4-byte set digest) when a link comes up and then periodically. Where a domain differs, the
//! node starts reconciling it (sync.rs: RANGES for a large domain, one DETAIL for a small one);
//! a domain the neighbour holds nothing of is pushed whole. A DETAIL lists what its sender holds
//! in a range: the receiver pushes what it lacks there and asks back for what it lacks itself.
//! A WANT asks for revocation deltas by sequence number and is answered with them (or with the
//! checkpoint that stands for them).

use heapless::Vec;

use super::message::{DetailEntry, DetailView, DomainSummary, PrefixRange, ShortDigest, Want};
use super::outbox::Payload;
use super::{MAX_DETAIL_ENTRIES, Node, Storage};
use crate::policy::{ArtifactRef, Digest, Domain, Kind, MAX_DOMAINS, Trust};
use crate::time::{Duration, Instant};
use crate::wire::Address;

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
    /// What this node holds and stands behind: everything stored except what has been revoked
    /// since it was admitted. That stays in storage (a restarted node's decisions must still
    /// name the revoked translator in their lineage) but is neither offered nor counted in
    /// summaries: offered, it would go every inventory round to neighbours that refuse it.
    pub(super) fn stored(&self) -> impl Iterator<Item = ArtifactRef> + '_ {
        self.held().filter(|a| !self.trust.is_withdrawn(a))
    }

    /// Everything in storage, withdrawn or not.
    pub(super) fn held(&self) -> impl Iterator<Item = ArtifactRef> + '_ {
        (0..self.storage.len()).filter_map(|i| self.storage.get(i).map(|(a, _)| a))
    }

    /// This node's SUMMARY lines: every domain with a root, and any other domain it stores.
    pub(super) fn summary(&self) -> Vec<DomainSummary, MAX_DOMAINS> {
        let mut lines: Vec<DomainSummary, MAX_DOMAINS> = self
            .trust
            .revocation_seqs()
            .map(|(domain, revocation_seq)| DomainSummary {
                domain,
                revocation_seq,
                items: 0,
                set_digest: [0; 4],
            })
            .take(MAX_DOMAINS)
            .collect();
        for artifact in self.stored() {
            let line = match lines.iter().position(|l| l.domain == artifact.domain) {
                Some(i) => lines.get_mut(i),
                None => {
                    let _ = lines.push(DomainSummary {
                        domain: artifact.domain,
                        revocation_seq: 0,
                        items: 0,
                        set_digest: [0; 4],
                    });
                    lines.last_mut()
                }
            };
            if let Some(line) = line {
                line.items = line.items.saturating_add(1);
                for (d, s) in line.set_digest.iter_mut().zip(artifact.digest.0) {
                    *d ^= s;
                }
            }
        }
        lines
    }

    /// Answers a neighbour's SUMMARY: for each domain that differs, a DETAIL (so it pushes
    /// what we lack, and we push what it lacks once its DETAIL comes back); a domain it holds
    /// nothing of is pushed whole. When `supplies` is false (another listener of the same
    /// broadcast supplies it), only domains where it may hold what we lack are answered.
    // Out of line: its tables of entries must not sit under an artifact's admission (docs/firmware.md).
    #[inline(never)]
    pub(super) fn compare_summary(
        &mut self,
        now: Instant,
        from: Address,
        theirs: impl Iterator<Item = DomainSummary>,
        supplies: bool,
        broadcast: bool,
    ) {
        let theirs: Vec<DomainSummary, MAX_DOMAINS> = theirs.take(MAX_DOMAINS).collect();
        for mine in self.summary() {
            let their_line = theirs.iter().find(|t| t.domain == mine.domain);
            let syncing = self.syncing(from, mine.domain);
            // They are behind on this domain's revocations: their line says exactly which
            // deltas they lack, so those go first, in sequence order, and each is admitted as
            // it arrives. Left to the range reconciliation they went in sync-key order: they
            // arrived out of sequence, waited for each other in the few held-back places, were
            // evicted from them and pulled again by WANTs, and a station back from an outage
            // got the last of 24 only at the next SUMMARY round.
            if let Some(t) = their_line
                && supplies
                && t.revocation_seq < mine.revocation_seq
            {
                let want = Want {
                    domain: mine.domain,
                    first_seq: t.revocation_seq.saturating_add(1),
                    last_seq: mine.revocation_seq,
                };
                self.serve_want(now, from, want);
            }
            // A SUMMARY broadcast ahead of us on this domain's revocations: ask its sender for
            // the deltas we lack, whoever else heard it. A revocation broadcast that we missed
            // (we were transmitting: hostile-partner, usa-hq sending a flooding partner's
            // DETAILs while the relay broadcast GBR's) was otherwise repaired only when our
            // own next SUMMARY reached a neighbour that supplies us, up to a summary interval
            // later (the DETAIL round below does not resend it: we were counted as having
            // heard it); the check SUMMARY that follows the broadcast is our first chance.
            // Not for a SUMMARY sent to us alone: its sender has ours too and supplies us
            // itself (above), and asking as well sent each delta twice.
            if let Some(t) = their_line
                && broadcast
                && t.revocation_seq > mine.revocation_seq
            {
                self.pull_revocations(
                    now,
                    from,
                    mine.domain,
                    mine.revocation_seq,
                    t.revocation_seq,
                );
            }
            match their_line {
                Some(t) if t.items == mine.items && t.set_digest == mine.set_digest => {}
                // They hold fewer, or as many but fewer revocations: they are behind, and
                // another listener supplies them. Not if they are ahead on revocations: what
                // those revoke drops out of their count, so a neighbour holding a checkpoint
                // we lack may count fewer (hostile-partner: 30 AUS artifacts against the USA
                // adjunct's 45), and taking it for behind left the adjunct, whose own
                // reconciliation had been lost, without the checkpoint for a summary round.
                Some(t)
                    if !supplies
                        && t.items > 0
                        && t.revocation_seq <= mine.revocation_seq
                        && (t.items < mine.items
                            || (t.items == mine.items
                                && t.revocation_seq < mine.revocation_seq)) => {}
                // Already reconciling with them (pushes queued, a range to resume): that goes on.
                _ if syncing => {}
                Some(t) if t.items > 0 => self.start_sync(now, from, mine.domain, mine.items),
                _ if !supplies => {}
                // They hold nothing of this domain: push it all (as much as the outbox takes
                // now, the rest once it has drained), no reconciliation needed.
                _ => {
                    if let Some(cut) =
                        self.push_lacking(now, from, mine.domain, PrefixRange::ALL, &[])
                    {
                        let rest = PrefixRange {
                            from: cut,
                            through: u32::MAX,
                        };
                        self.resume_later(from, mine.domain, rest);
                    }
                }
            }
        }
    }

    /// Answers a neighbour's DETAIL page: pushes what it lacks in the page's range, asks for
    /// what we lack there, and, on a walk, sends our page of the next range.
    // Out of line: its tables of entries must not sit under an artifact's admission (docs/firmware.md).
    #[inline(never)]
    pub(super) fn compare_detail(&mut self, now: Instant, from: Address, view: DetailView<'_>) {
        let (domain, range) = (view.domain, view.range);
        let theirs: Vec<DetailEntry, MAX_DETAIL_ENTRIES> =
            view.iter().take(MAX_DETAIL_ENTRIES).collect();
        if let Some(n) = self.neighbours.iter_mut().find(|n| n.address == from) {
            for e in &theirs {
                n.learn(e.digest);
            }
        }
        // The walk goes on before the pushes take the outbox: a full outbox drops what comes
        // after, and a dropped page would end the walk until the next SUMMARY.
        if view.walk && range.through < u32::MAX {
            let next = Payload::Detail {
                domain,
                from: range.through.saturating_add(1),
                through: u32::MAX,
                walk: true,
            };
            self.queue(from, next, now);
        }
        // What does not fit the outbox now goes once it has drained (sync.rs).
        if let Some(cut) = self.push_lacking(now, from, domain, range, &theirs) {
            let rest = PrefixRange {
                from: cut,
                through: range.through,
            };
            self.resume_later(from, domain, rest);
        }
        // They hold what we lack: ask them with our own DETAIL. This is how a node that was
        // away catches up when its neighbours do not know it was (its SUMMARY on return made
        // them send their DETAIL). One ask per domain per `2 x check_delay`, so the DETAILs of
        // several neighbours on one channel do not each bring the same artifacts.
        let we_lack = theirs.iter().any(|e| {
            !self.held().any(|a| {
                a.domain == domain
                    && (ShortDigest::from(&a.digest) == e.digest
                        || (a.kind != Kind::Credential
                            && a.kind as u8 == e.kind
                            && a.id == e.id
                            && a.version >= e.version))
            })
        });
        let quiet = Duration::from_millis(2 * self.config.check_delay.millis());
        let asked_lately = self
            .asked
            .iter()
            .any(|&(d, f, at)| d == domain && f == range.from && at + quiet > now);
        if we_lack && !asked_lately {
            self.ask(now, from, domain, range, false);
        }
    }

    /// Sends `to` our DETAIL page of `domain` over `range` (so it pushes what we lack there),
    /// noting when; `walk` asks it to go on with the next page.
    pub(super) fn ask(
        &mut self,
        now: Instant,
        to: Address,
        domain: Domain,
        range: PrefixRange,
        walk: bool,
    ) {
        let from = range.from;
        self.asked.retain(|&(d, f, _)| d != domain || f != from);
        if self.asked.is_full() {
            self.asked.remove(0);
        }
        let _ = self.asked.push((domain, from, now));
        let detail = Payload::Detail {
            domain,
            from,
            through: range.through,
            walk,
        };
        self.queue(to, detail, now);
    }

    /// Asks `from` with a WANT for `domain`'s deltas after `ours` up to `theirs`, at most once
    /// per domain per `2 x check_delay`: every neighbour's SUMMARY shows the same gap, and
    /// one answer fills it (a flooding partner's gap must not draw a WANT per SUMMARY heard).
    fn pull_revocations(
        &mut self,
        now: Instant,
        from: Address,
        domain: Domain,
        ours: u32,
        theirs: u32,
    ) {
        let quiet = Duration::from_millis(2 * self.config.check_delay.millis());
        if self
            .wanted
            .iter()
            .any(|&(d, at)| d == domain && at + quiet > now)
        {
            return;
        }
        self.wanted.retain(|&(d, _)| d != domain);
        if self.wanted.is_full() {
            self.wanted.remove(0);
        }
        let _ = self.wanted.push((domain, now));
        let want = Want {
            domain,
            first_seq: ours.saturating_add(1),
            last_seq: theirs,
        };
        self.queue(from, Payload::Want(want), now);
    }

    /// Answers a WANT with the deltas asked for; those forgotten since a checkpoint are
    /// answered by the checkpoint itself, which stands for them.
    pub(super) fn serve_want(&mut self, now: Instant, from: Address, want: Want) {
        // In sequence order (a checkpoint's id is the sequence it stands at), so each is
        // admitted as it arrives instead of waiting for the ones before it. (Sorted by
        // insertion: a general sort cost the firmware 3.5 KB of flash.)
        let mut deltas: Vec<(u32, Digest), OUT> = Vec::new();
        for a in self.stored().filter(|a| {
            a.domain == want.domain
                && match a.kind {
                    Kind::Revocation => (want.first_seq..=want.last_seq).contains(&a.id),
                    Kind::Checkpoint => a.id >= want.first_seq,
                    _ => false,
                }
        }) {
            let at = deltas.partition_point(|d| d.0 <= a.id);
            if deltas.insert(at, (a.id, a.digest)).is_err() {
                break;
            }
        }
        // Only the run the asker can admit: from the first it asked for (or a checkpoint,
        // which stands for every delta up to its sequence), without a hole. Past a hole we
        // cannot fill, every delta would be refused as a gap, wait in a held-back place or be
        // dropped, and draw another WANT: a flooding partner's history, of which nodes keep
        // only the last deltas, kept a net on the air that way (hostile-partner).
        let mut next = want.first_seq;
        for (seq, digest) in deltas {
            let checkpoint = self
                .storage
                .position(&digest)
                .and_then(|i| self.storage.get(i))
                .is_some_and(|(a, _)| a.kind == Kind::Checkpoint);
            if !checkpoint && seq != next {
                break;
            }
            next = seq.saturating_add(1);
            self.queue(from, Payload::Artifact(digest), now);
        }
    }
}
