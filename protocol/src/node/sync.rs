//! Inventory sync of one domain: range fingerprints over the space of digest prefixes, and
//! DETAIL pages for the small ranges that differ.
//!
//! **Range fingerprints.** Where two neighbours' SUMMARY lines of a domain differ, the one that
//! noticed sends a RANGES message: the whole space of 4-byte digest prefixes split into 16
//! equal parts, and for each the count and fingerprint ([`Fingerprint`]) of what it holds
//! there. The receiver compares each part with its own: an equal part is done; a part where one
//! side holds nothing is pushed whole (or asked for with an empty DETAIL); a part where the side
//! holding fewer holds at most [`LIST_AT_MOST`] is listed by that side with a DETAIL of exactly
//! that part (consecutive such parts with one DETAIL, which halved a late joiner's inventory
//! bytes), and the other pushes what it lacks; any other part is split into 16 again and sent
//! back as RANGES. Each exchange divides the differing ranges by 16, so a difference of d
//! artifacts in a domain of n costs about d x log16(n / 16) RANGES of 109 bytes, one DETAIL
//! of a few entries and the artifacts themselves, in O(log n) round trips, instead of a walk
//! listing all n (Negentropy's range-based set reconciliation, with fixed splits of the prefix
//! space instead of splits by rank, so that no side ever needs a sorted index).
//!
//! **Alloc-free.** A part's fingerprint is a count and a sum of digest bytes, so all the
//! fingerprints of one message are computed in one pass over storage into a fixed array;
//! nothing is sorted and nothing is kept between messages but the resume list below.
//!
//! **Pacing.** What is pushed in answer to one message is bounded by the room left in the
//! outbox (less a quarter kept for inventory messages), pushed in prefix order. Where a
//! range's pushes do not fit, the node remembers the rest of the range (one range per
//! neighbour and domain, [`MAX_RESUMES`] in all) and, once its outbox has drained to a
//! quarter, reconciles that rest with a fresh RANGES: it goes ahead of the pushes still
//! queued (inventory outranks policies), so the next exchange overlaps the end of the
//! current batch. A late joiner to 10,000 artifacts is thus fed batch by batch at line rate,
//! with a fixed outbox, instead of one outbox per SUMMARY interval.
//!
//! **DETAIL pages.** A DETAIL fits one U_PDU, so it lists at most [`MAX_DETAIL_ENTRIES`]
//! artifacts: the page from `from` lists the artifacts with the smallest prefixes at or above
//! it (up to a bound, the part asked about) and covers the range up to just below the first
//! prefix it had no room for. The receiver knows exactly which of its own artifacts the page
//! speaks for: those in the range and not listed are missing at the sender, those outside it
//! are not judged. A page is chosen in one pass over storage keeping the smallest prefixes in a
//! sorted fixed-capacity vector. (Pages with `walk` set, which ask for the next page back, are
//! still answered: a walk covers a domain in n / 80 pages.)
//!
//! Two artifacts sharing a 4-byte prefix (at 10,000 artifacts in one domain a pair does with
//! probability about 1 %) land in the same part and the same page; a receiver holding one of
//! them judges the other held (a DETAIL compares prefixes), so the fingerprints of their part
//! stay different and the difference is found again every SUMMARY round without being
//! resolved.

use heapless::Vec;

use super::message::{
    DetailEntry, Fingerprint, MAX_RANGE_PARTS, PrefixRange, RangesView, ShortDigest,
};
use super::{MAX_DETAIL_ENTRIES, Node, Payload, Storage};
use crate::policy::{ArtifactRef, Digest, Domain, Kind, Trust};
use crate::time::{Duration, Instant};
use crate::wire::Address;

/// A differing part is listed (DETAIL) rather than split once the side holding fewer there
/// holds at most this many: a DETAIL entry costs about 8 bytes and a RANGES of 16 parts 109
/// bytes and a round trip.
pub const LIST_AT_MOST: u16 = 16;

/// Artifacts (by our fingerprints' counts) one DETAIL that lists several consecutive parts
/// may name: half a page, so that the withdrawn artifacts a DETAIL also lists, which the
/// counts leave out, still fit the page and the DETAIL speaks for every part it joins.
const LIST_JOINED_AT_MOST: u16 = (MAX_DETAIL_ENTRIES / 2) as u16;

/// Ranges a node remembers to reconcile again once its outbox has drained (one per neighbour
/// and domain); when full, the oldest is forgotten and found again by the next SUMMARY.
pub const MAX_RESUMES: usize = 8;

/// Where an artifact of this kind and id lies in the space that RANGES split and DETAIL pages
/// cover: a bijective mix of the id (lowbias32) offset by the kind. Every version of one
/// artifact has the same key, so a DETAIL of a part names the version the sender holds of
/// everything there and the receiver never pushes a version older than the sender's. Within a
/// kind, distinct ids never share a key, so a part can always be split down to one artifact.
pub fn sync_key(kind: u8, id: u32) -> u32 {
    let mut x = id ^ u32::from(kind).wrapping_mul(0x9E37_79B9);
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    x
}

fn prefix_of(a: &ArtifactRef) -> u32 {
    sync_key(a.kind as u8, a.id)
}

fn prefix(e: &DetailEntry) -> u32 {
    sync_key(e.kind, e.id)
}

/// The parts `range` is split into by a RANGES message: 16, or its width if smaller.
pub(super) fn parts_for(range: PrefixRange) -> u8 {
    range.width().min(MAX_RANGE_PARTS as u64) as u8
}

/// The page of `held` (one domain's artifacts) that starts at prefix `from` and ends at
/// `through` at the latest: its entries, ordered by prefix, and the range they speak for.
pub(super) fn page(
    held: impl Iterator<Item = DetailEntry>,
    from: u32,
    through: u32,
) -> (Vec<DetailEntry, MAX_DETAIL_ENTRIES>, PrefixRange) {
    let bound = PrefixRange { from, through };
    // One more than a page, to know where the next page starts.
    let mut smallest: Vec<DetailEntry, { MAX_DETAIL_ENTRIES + 1 }> = Vec::new();
    for e in held.filter(|e| bound.contains(prefix(e))) {
        if smallest.is_full() && smallest.last().is_some_and(|l| prefix(l) <= prefix(&e)) {
            continue;
        }
        if smallest.is_full() {
            smallest.pop();
        }
        let at = smallest.partition_point(|s| prefix(s) <= prefix(&e));
        let _ = smallest.insert(at, e);
    }
    let next = if smallest.is_full() {
        smallest.last().map(prefix)
    } else {
        None
    };
    let end = match next {
        None => through,
        // More than a page shares the prefix `from`: list a page of them and move on.
        Some(next) if next == from => from,
        Some(next) => next.saturating_sub(1),
    };
    let entries = smallest
        .iter()
        .filter(|e| prefix(e) <= end)
        .take(MAX_DETAIL_ENTRIES)
        .copied()
        .collect();
    (entries, PrefixRange { from, through: end })
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
    /// The fingerprints of what we hold of `domain` (withdrawn artifacts left out) in each of
    /// the `n` parts of `range`.
    pub(super) fn fingerprints(
        &self,
        domain: Domain,
        range: PrefixRange,
        n: usize,
    ) -> Vec<Fingerprint, MAX_RANGE_PARTS> {
        let n = n.clamp(1, MAX_RANGE_PARTS);
        let mut parts: Vec<Fingerprint, MAX_RANGE_PARTS> = Vec::new();
        let _ = parts.resize(n, Fingerprint::default());
        for a in self.stored().filter(|a| a.domain == domain) {
            let p = prefix_of(&a);
            if range.contains(p)
                && let Some(part) = parts.get_mut(range.part_of(p, n))
            {
                part.add(&a.digest);
            }
        }
        parts
    }

    /// Places in the outbox one message may still fill with its answers: a quarter stays free
    /// for inventory messages and the ranges resumed later.
    pub(super) fn room(&self) -> usize {
        OUT.saturating_sub(self.outbox.len() + OUT / 4)
    }

    /// Starts reconciling `range` of `domain` with `to`: our RANGES of it.
    pub(super) fn reconcile(
        &mut self,
        now: Instant,
        to: Address,
        domain: Domain,
        range: PrefixRange,
    ) {
        if range == PrefixRange::ALL {
            self.started.retain(|s| s.0 != domain || s.1 != to.value());
            if self.started.is_full() {
                self.started.remove(0);
            }
            let _ = self.started.push((domain, to.value(), now));
        }
        let parts = parts_for(range);
        self.queue(
            to,
            Payload::Ranges {
                domain,
                range,
                parts,
            },
            now,
        );
    }

    /// Starts reconciling `domain`, of which we hold `items`, with `to`: a domain small enough
    /// is listed whole with one DETAIL page (cheaper than 16 fingerprints), any other by
    /// RANGES.
    pub(super) fn start_sync(&mut self, now: Instant, to: Address, domain: Domain, items: u16) {
        if items <= LIST_AT_MOST {
            self.ask(now, to, domain, PrefixRange::ALL, true);
        } else {
            self.reconcile(now, to, domain, PrefixRange::ALL);
        }
    }

    /// Whether a reconciliation of `domain` with `to` is under way: artifacts or a DETAIL
    /// queued to it, or a range to resume. A SUMMARY or a full RANGES that arrives
    /// meanwhile starts nothing: a second reconciliation would push the same artifacts again.
    pub(super) fn syncing(&self, to: Address, domain: Domain) -> bool {
        self.resume.iter().any(|r| r.0 == to && r.1 == domain)
            || self.outbox.iter().any(|o| {
                o.to == to
                    && o.domain == Some(domain)
                    && matches!(o.payload, Payload::Artifact(_) | Payload::Detail { .. })
            })
    }

    /// Answers a neighbour's RANGES part by part (see the module's documentation).
    // Out of line: its tables of entries must not sit under an artifact's admission (docs/firmware.md).
    #[inline(never)]
    pub(super) fn compare_ranges(&mut self, now: Instant, from: Address, view: RangesView<'_>) {
        let domain = view.domain;
        let mine = self.fingerprints(domain, view.range, view.len());
        // Both sides noticed the difference (each had the other's SUMMARY) and started: one
        // reconciliation is enough, so only the side with the lower address answers the other's (without `Config::address`, both do).
        // (Not by fingerprints: each side's may have changed since it sent them.)
        if view.range == PrefixRange::ALL {
            if self.syncing(from, domain) {
                return;
            }
            let window = Duration::from_millis(4 * self.config.check_delay.millis());
            let ours_sent = self
                .started
                .iter()
                .any(|s| s.0 == domain && s.1 == from.value() && s.2 + window > now);
            let we_answer = self
                .config
                .address
                .is_none_or(|me| me.value() < from.value());
            if ours_sent && !we_answer {
                return;
            }
        }
        // Consecutive parts we list go as one DETAIL: a late joiner holds nothing in most
        // parts of every RANGES it is sent, and 16 DETAILs of one empty part each cost 16
        // U_PDUs with their headers and acknowledgements where one does.
        let mut listing: Option<(PrefixRange, u16)> = None;
        for (i, (part, theirs)) in view.iter().enumerate() {
            let ours = mine.get(i).copied().unwrap_or_default();
            if ours == theirs {
                self.list(now, from, domain, listing.take());
                continue;
            }
            let rest = PrefixRange {
                from: part.from,
                through: view.range.through,
            };
            if self.room() == 0 {
                self.list(now, from, domain, listing.take());
                self.resume_later(from, domain, rest);
                break;
            }
            let fewest = ours.count.min(theirs.count);
            if theirs.count == 0 && ours.count > LIST_AT_MOST {
                self.list(now, from, domain, listing.take());
                // They hold nothing there and we hold many: push them, without the DETAIL
                // round (a few may be versions they hold newer elsewhere and refuse).
                if let Some(cut) = self.push_lacking(now, from, domain, part, &[]) {
                    let rest = PrefixRange {
                        from: cut,
                        through: view.range.through,
                    };
                    self.resume_later(from, domain, rest);
                    break;
                }
            } else if ours.count == 0
                || theirs.count == 0
                || part.from == part.through
                || (fewest <= LIST_AT_MOST && ours.count <= theirs.count)
            {
                // Our list of the part: they push what it lacks and, where it names versions
                // older than theirs or artifacts they hold withdrawn, know not to want them.
                listing = match listing {
                    Some((run, listed))
                        if run.through.checked_add(1) == Some(part.from)
                            && listed + ours.count <= LIST_JOINED_AT_MOST =>
                    {
                        let run = PrefixRange {
                            from: run.from,
                            through: part.through,
                        };
                        Some((run, listed + ours.count))
                    }
                    other => {
                        self.list(now, from, domain, other);
                        Some((part, ours.count))
                    }
                };
            } else {
                self.list(now, from, domain, listing.take());
                // They hold few there: one part back, so they list theirs. Otherwise split.
                let parts = if fewest <= LIST_AT_MOST {
                    1
                } else {
                    parts_for(part)
                };
                let ranges = Payload::Ranges {
                    domain,
                    range: part,
                    parts,
                };
                self.queue(from, ranges, now);
            }
        }
        self.list(now, from, domain, listing);
    }

    /// Queues to `to` our DETAIL of `domain` over `range`, if any.
    fn list(
        &mut self,
        now: Instant,
        to: Address,
        domain: Domain,
        range: Option<(PrefixRange, u16)>,
    ) {
        if let Some((range, _)) = range {
            let detail = Payload::Detail {
                domain,
                from: range.from,
                through: range.through,
                walk: false,
            };
            self.queue(to, detail, now);
        }
    }

    /// Queues to `to` the artifacts of `domain` in `range` that it lacks, judged from its
    /// DETAIL entries `theirs` (none: it holds nothing there), in prefix order and no more
    /// than [`Node::room`]. Returns the prefix from which the rest did not fit.
    pub(super) fn push_lacking(
        &mut self,
        now: Instant,
        to: Address,
        domain: Domain,
        range: PrefixRange,
        theirs: &[DetailEntry],
    ) -> Option<u32> {
        let room = self.room().min(OUT);
        let neighbour = self.neighbours.iter().find(|n| n.address == to);
        let lacks = |a: &ArtifactRef| {
            let short = ShortDigest::from(&a.digest);
            let held = theirs.iter().any(|e| e.digest == short);
            let newer = a.kind != Kind::Credential
                && theirs
                    .iter()
                    .any(|e| e.kind == a.kind as u8 && e.id == a.id && e.version >= a.version);
            // Revocation deltas go by sequence (inventory.rs: a SUMMARY that shows the
            // neighbour behind sends them, a WANT pulls a gap), which also repairs a lost one;
            // one already sent that way is not pushed again in key order. A checkpoint is: no
            // later delta reveals it missing, and skipping it left a station back from an
            // outage without the checkpoint (its non-ARQ copies lost in a fade) until the next
            // SUMMARY round, 560 s later in hostile-partner.
            let sent = a.kind == Kind::Revocation && neighbour.is_some_and(|n| n.knows(&a.digest));
            !held && !newer && !sent
        };
        // The `room` lacking artifacts with the smallest prefixes, and the smallest prefix
        // left out.
        let mut batch: Vec<(u32, Digest), OUT> = Vec::new();
        let mut cut: Option<u32> = None;
        let left_out = |cut: &mut Option<u32>, p: u32| *cut = Some(cut.map_or(p, |c| c.min(p)));
        for a in self
            .stored()
            .filter(|a| a.domain == domain && range.contains(prefix_of(a)))
            .filter(|a| lacks(a))
        {
            let p = prefix_of(&a);
            if batch.len() >= room {
                match batch.last() {
                    Some(&(last, _)) if last > p => {
                        left_out(&mut cut, last);
                        batch.pop();
                    }
                    _ => {
                        left_out(&mut cut, p);
                        continue;
                    }
                }
            }
            let at = batch.partition_point(|&(q, _)| q <= p);
            let _ = batch.insert(at, (p, a.digest));
        }
        // (Artifacts sharing the cut's key, which only a key shared across kinds allows, may go
        // in this batch and be reconciled again with the rest.)
        for (_, digest) in batch {
            self.queue(to, Payload::Artifact(digest), now);
        }
        cut
    }

    /// Remembers to reconcile `range` of `domain` with `to` once the outbox has drained,
    /// joined with what is already remembered for them.
    pub(super) fn resume_later(&mut self, to: Address, domain: Domain, range: PrefixRange) {
        if let Some(r) = self.resume.iter_mut().find(|r| r.0 == to && r.1 == domain) {
            r.2 = PrefixRange {
                from: r.2.from.min(range.from),
                through: r.2.through.max(range.through),
            };
            return;
        }
        if self.resume.is_full() {
            self.resume.remove(0);
        }
        let _ = self.resume.push((to, domain, range));
    }

    /// Once the outbox has drained to a quarter, starts reconciling the oldest remembered
    /// range with a neighbour that is up.
    pub(super) fn resume_sync(&mut self, now: Instant) {
        if self.resume.is_empty() || self.outbox.len() > OUT / 4 {
            return;
        }
        let (to, domain, range) = self.resume.remove(0);
        if self.neighbours.iter().any(|n| n.address == to && n.up) {
            self.reconcile(now, to, domain, range);
        }
    }
}
