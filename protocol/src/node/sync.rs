//! DETAIL pages: which of a domain's artifacts one DETAIL lists, and which it speaks for.
//!
//! A DETAIL fits one U_PDU, so it lists at most [`MAX_DETAIL_ENTRIES`] artifacts. A domain
//! holding more is walked in pages over the space of 4-byte digest prefixes: the page from
//! `from` lists the artifacts with the smallest prefixes at or above it and covers the range up
//! to just below the first prefix it had no room for. The receiver then knows exactly which of
//! its own artifacts the page speaks for: those in the range and not listed are missing at the
//! sender, those outside it are not judged. Before pages, a DETAIL listed the first 80 artifacts
//! in storage order and the receiver took everything else as missing, so a domain of more than
//! 80 artifacts was re-sent every round and refused every round (F2).
//!
//! The page is chosen in one pass over storage keeping the smallest prefixes in a sorted
//! fixed-capacity vector: O(n x page) comparisons, no allocation, no sorted index to maintain.
//! Prefixes are digests, so they are spread evenly and a walk of n artifacts takes
//! n / [`MAX_DETAIL_ENTRIES`] pages whatever order they arrived in.
//!
//! Two artifacts sharing a 4-byte prefix (at 10,000 artifacts in one domain a pair does with
//! probability about 1 %) land in the same page unless more than a page shares it, so the
//! page boundary never splits them; a receiver holding one of them judges the other held
//! (the DETAIL compares prefixes) and the next SUMMARY's set digest, which is over full
//! digests, still shows the difference.

use heapless::Vec;

use super::MAX_DETAIL_ENTRIES;
use super::message::{DetailEntry, PrefixRange};

fn prefix(e: &DetailEntry) -> u32 {
    u32::from_be_bytes(e.digest.0)
}

/// The page of `held` (one domain's artifacts) that starts at prefix `from`: its entries,
/// ordered by prefix, and the range they speak for.
pub(super) fn page(
    held: impl Iterator<Item = DetailEntry>,
    from: u32,
) -> (Vec<DetailEntry, MAX_DETAIL_ENTRIES>, PrefixRange) {
    // One more than a page, to know where the next page starts.
    let mut smallest: Vec<DetailEntry, { MAX_DETAIL_ENTRIES + 1 }> = Vec::new();
    for e in held.filter(|e| prefix(e) >= from) {
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
    let through = match next {
        None => u32::MAX,
        // More than a page shares the prefix `from`: list a page of them and move on.
        Some(next) if next == from => from,
        Some(next) => next.saturating_sub(1),
    };
    let entries = smallest
        .iter()
        .filter(|e| prefix(e) <= through)
        .take(MAX_DETAIL_ENTRIES)
        .copied()
        .collect();
    (entries, PrefixRange { from, through })
}
