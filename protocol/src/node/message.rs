//! The messages Skywave nodes exchange, carried as U_PDUs on the Skywave SAP.
//!
//! Four messages, each a tag byte and a body, written byte by byte here (not with postcard) so
//! their size on the air is exact and documented:
//!
//! ```text
//! ARTIFACT  01 | signed artifact bytes, exactly as admitted
//! SUMMARY   02 | n:u8 | n x ( domain[3] | revocation seq:u32 | items:u16 | set digest[4] )
//! DETAIL    03 | domain[3] | from:u32 | through:u32 | walk:u8 | n:u16
//!                | n x ( kind:u8 | id:varint | version:varint | digest[4] )
//! WANT      04 | domain[3] | first seq:u32 | last seq:u32
//! RANGES    05 | domain[3] | from:u32 | through:u32 | n:u8 | n x ( count:u16 | fingerprint[4] )
//! ```
//!
//! Tags from [`FIRST_DRIVER_TAG`] (0x80) up are reserved for drivers: the host agent uses them
//! for compressed batches between laptops, and a node ignores them.
//!
//! Integers are big-endian; varints are LEB128. A SUMMARY costs 2 + 13 bytes per domain: 41
//! bytes for a three-nation coalition. A DETAIL names each artifact of one domain by kind, id,
//! version and the first four bytes of its SHA-256, so a neighbour can tell what it lacks and
//! what it holds a newer version of. A WANT asks for a range of revocation deltas (a gap).
//! DETAIL and RANGES speak for ranges of sync keys (`node::sync_key`, a mix of kind and id).
//! RANGES splits the range `from..=through` into `n` (1 to [`MAX_RANGE_PARTS`])
//! equal parts ([`RangesView::part`]) and gives, for each, how many of the domain's artifacts the
//! sender holds there and their fingerprint ([`Fingerprint`]): 12 + 6n bytes, 109 for 16 parts.
//!
//! Views parse the whole message up front, so their iterators never fail and never panic.

use crate::codec::{self, BufferTooSmall, Reader, Truncated, VarintError};
use crate::policy::{Digest, Domain};

/// The message tags: the one table every driver and tool reads a node message's kind from.
pub mod tag {
    /// ARTIFACT: one signed artifact.
    pub const ARTIFACT: u8 = 1;
    /// SUMMARY: per domain, revocation sequence and set digest.
    pub const SUMMARY: u8 = 2;
    /// DETAIL: one domain's artifacts by kind, id, version and digest prefix.
    pub const DETAIL: u8 = 3;
    /// WANT: a range of revocation deltas.
    pub const WANT: u8 = 4;
    /// RANGES: one domain's sync-key range split into parts, each with a count and fingerprint.
    pub const RANGES: u8 = 5;
}

/// The first tag reserved for drivers' own messages; the node ignores these.
pub const FIRST_DRIVER_TAG: u8 = 0x80;

/// Bytes of one SUMMARY entry.
pub const SUMMARY_ENTRY_LEN: usize = 3 + 4 + 2 + 4;
/// The most bytes one DETAIL entry takes (kind, two 10-byte varints, digest prefix).
pub const MAX_DETAIL_ENTRY_LEN: usize = 1 + 10 + 10 + 4;
/// Bytes of a WANT message.
pub const WANT_LEN: usize = 1 + 3 + 4 + 4;
/// The most parts one RANGES message splits its range into.
pub const MAX_RANGE_PARTS: usize = 16;
/// Bytes of one RANGES part.
pub const RANGE_PART_LEN: usize = 2 + 4;

/// Why bytes are not a node message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MessageError {
    /// Empty, or shorter than its fields say.
    Truncated,
    /// The first byte is not a known message tag.
    UnknownTag(u8),
    /// Bytes left over after the last field.
    TrailingBytes,
    /// A varint longer than 10 bytes or beyond 64 bits.
    BadVarint,
    /// The output buffer is too small.
    BufferTooSmall,
    /// A DETAIL or RANGES whose range ends before it starts, a DETAIL whose walk flag is
    /// neither 0 nor 1, or a RANGES of no parts, of more than [`MAX_RANGE_PARTS`] or of more
    /// parts than its range has prefixes.
    BadRange,
}

impl core::fmt::Display for MessageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            MessageError::Truncated => f.write_str("truncated node message"),
            MessageError::UnknownTag(t) => write!(f, "unknown node message tag {t}"),
            MessageError::TrailingBytes => f.write_str("bytes after the node message"),
            MessageError::BadVarint => f.write_str("malformed varint"),
            MessageError::BufferTooSmall => f.write_str("buffer too small"),
            MessageError::BadRange => f.write_str("malformed DETAIL range"),
        }
    }
}

impl core::error::Error for MessageError {}

/// The first four bytes of an artifact's SHA-256: enough to tell a handful of artifacts apart
/// (a collision only costs one artifact not being offered to one neighbour in one round).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct ShortDigest(pub [u8; 4]);

impl From<&Digest> for ShortDigest {
    fn from(d: &Digest) -> Self {
        let mut short = [0u8; 4];
        short.copy_from_slice(d.0.get(..4).unwrap_or(&[0; 4]));
        ShortDigest(short)
    }
}

/// One domain's line of a SUMMARY.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DomainSummary {
    /// The domain.
    pub domain: Domain,
    /// The last revocation delta held.
    pub revocation_seq: u32,
    /// How many artifacts of this domain are held.
    pub items: u16,
    /// XOR of the held artifacts' SHA-256 digests, first four bytes: equal sets, equal digests.
    pub set_digest: [u8; 4],
}

/// One artifact's line of a DETAIL.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DetailEntry {
    /// The artifact kind's wire tag.
    pub kind: u8,
    /// The artifact's id.
    pub id: u32,
    /// The artifact's version.
    pub version: u64,
    /// The start of its digest.
    pub digest: ShortDigest,
}

/// A range of sync keys (`node::sync_key`, a mix of an artifact's kind and id: every version
/// of one artifact has the same key), both ends included. DETAIL pages and RANGES parts cover
/// such ranges.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct PrefixRange {
    /// The first prefix of the range.
    pub from: u32,
    /// The last prefix of the range.
    pub through: u32,
}

impl PrefixRange {
    /// The whole space of prefixes.
    pub const ALL: PrefixRange = PrefixRange {
        from: 0,
        through: u32::MAX,
    };

    /// Whether `key` lies in the range.
    pub fn contains(&self, prefix: u32) -> bool {
        (self.from..=self.through).contains(&prefix)
    }

    /// How many prefixes the range holds.
    pub fn width(&self) -> u64 {
        u64::from(self.through) - u64::from(self.from) + 1
    }

    /// Part `i` of the range split into `n` equal parts (the first parts one prefix shorter
    /// when `n` does not divide the width). `n` must be at least 1 and at most the width;
    /// `i` below `n`.
    pub fn part(&self, i: usize, n: usize) -> PrefixRange {
        let (w, i, n) = (self.width(), i as u64, (n as u64).max(1));
        let start = |k: u64| u64::from(self.from) + w * k / n;
        // Both below 2^32 for k <= n: `start(n) - 1` is `through`.
        PrefixRange {
            from: start(i) as u32,
            through: (start(i + 1) - 1) as u32,
        }
    }

    /// The index of the part of the range split into `n` that holds `prefix` (in the range).
    pub fn part_of(&self, prefix: u32, n: usize) -> usize {
        let (w, n) = (self.width(), (n as u64).max(1));
        let offset = u64::from(prefix.saturating_sub(self.from));
        // The largest k with w * k / n <= offset: k = ((offset + 1) * n - 1) / w.
        (((offset + 1) * n - 1) / w).min(n - 1) as usize
    }
}

/// A fingerprint of a set of artifacts: how many, and the sum (mod 2^32) of bytes 4..8 of
/// their SHA-256 digests (the bytes after the prefix they are ranged by). Equal sets have
/// equal fingerprints; a sum can be updated one artifact at a time without sorting, which is
/// what lets a node compute a range's fingerprint in one pass over storage without allocating.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Fingerprint {
    /// Artifacts in the set (saturating).
    pub count: u16,
    /// The sum of their digests' bytes 4..8, big-endian.
    pub sum: [u8; 4],
}

impl Fingerprint {
    /// Adds one artifact.
    pub fn add(&mut self, digest: &Digest) {
        let mut word = [0u8; 4];
        word.copy_from_slice(digest.0.get(4..8).unwrap_or(&[0; 4]));
        let sum = u32::from_be_bytes(self.sum).wrapping_add(u32::from_be_bytes(word));
        self.sum = sum.to_be_bytes();
        self.count = self.count.saturating_add(1);
    }
}

/// A request for revocation deltas `first_seq..=last_seq` of `domain`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Want {
    /// The revoking domain.
    pub domain: Domain,
    /// The first sequence number wanted.
    pub first_seq: u32,
    /// The last sequence number wanted.
    pub last_seq: u32,
}

/// A parsed node message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Message<'a> {
    /// A signed artifact.
    Artifact(&'a [u8]),
    /// What the sender holds, per domain.
    Summary(SummaryView<'a>),
    /// What the sender holds of one domain, artifact by artifact.
    Detail(DetailView<'a>),
    /// Revocation deltas the sender is missing.
    Want(Want),
    /// Fingerprints of the sender's artifacts of one domain, range by range.
    Ranges(RangesView<'a>),
}

/// The parts of a RANGES message, checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RangesView<'a> {
    /// The domain the fingerprints are of.
    pub domain: Domain,
    /// The range split into parts.
    pub range: PrefixRange,
    parts: &'a [u8],
}

impl<'a> RangesView<'a> {
    /// How many parts the range is split into.
    pub fn len(&self) -> usize {
        self.parts.len() / RANGE_PART_LEN
    }

    /// Whether there are no parts (never, for a parsed message).
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// Each part's range and the sender's fingerprint of it.
    pub fn iter(&self) -> impl Iterator<Item = (PrefixRange, Fingerprint)> + 'a {
        let (range, n) = (self.range, self.len());
        self.parts
            .chunks_exact(RANGE_PART_LEN)
            .enumerate()
            .map(move |(i, p)| {
                let mut r = Reader::new(p);
                // Lengths were checked by `parse`; the defaults are unreachable.
                let fp = Fingerprint {
                    count: r.u16().unwrap_or_default(),
                    sum: r.array().unwrap_or_default(),
                };
                (range.part(i, n), fp)
            })
    }
}

/// The entries of a SUMMARY, checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SummaryView<'a> {
    entries: &'a [u8],
}

/// The entries of a DETAIL, checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DetailView<'a> {
    /// The domain the entries belong to.
    pub domain: Domain,
    /// The range of sync keys the entries cover: every artifact the sender holds of `domain`
    /// whose key lies in it is listed, and none outside it.
    pub range: PrefixRange,
    /// Whether the receiver continues the walk with its own DETAIL of the next range.
    pub walk: bool,
    count: u16,
    entries: &'a [u8],
}

impl From<Truncated> for MessageError {
    fn from(_: Truncated) -> Self {
        MessageError::Truncated
    }
}

impl From<VarintError> for MessageError {
    fn from(e: VarintError) -> Self {
        match e {
            VarintError::Truncated => MessageError::Truncated,
            VarintError::Overlong => MessageError::BadVarint,
        }
    }
}

impl From<BufferTooSmall> for MessageError {
    fn from(_: BufferTooSmall) -> Self {
        MessageError::BufferTooSmall
    }
}

/// The whole of `r` read: anything left is [`MessageError::TrailingBytes`].
fn finish(r: &Reader<'_>) -> Result<(), MessageError> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(MessageError::TrailingBytes)
    }
}

fn read_detail_entry(r: &mut Reader<'_>) -> Result<DetailEntry, MessageError> {
    let [kind] = r.array()?;
    let id = u32::try_from(r.varint()?).map_err(|_| MessageError::BadVarint)?;
    let version = r.varint()?;
    Ok(DetailEntry {
        kind,
        id,
        version,
        digest: ShortDigest(r.array()?),
    })
}

impl<'a> Message<'a> {
    /// Parses a whole message.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, MessageError> {
        let (&tag, body) = bytes.split_first().ok_or(MessageError::Truncated)?;
        let mut r = Reader::new(body);
        let message = match tag {
            tag::ARTIFACT => {
                if body.is_empty() {
                    return Err(MessageError::Truncated);
                }
                return Ok(Message::Artifact(body));
            }
            tag::SUMMARY => {
                let [n] = r.array()?;
                let entries = r.take(usize::from(n) * SUMMARY_ENTRY_LEN)?;
                Message::Summary(SummaryView { entries })
            }
            tag::DETAIL => {
                let domain = Domain(r.array()?);
                let range = PrefixRange {
                    from: r.u32()?,
                    through: r.u32()?,
                };
                if range.from > range.through {
                    return Err(MessageError::BadRange);
                }
                let walk = match r.array()? {
                    [0] => false,
                    [1] => true,
                    _ => return Err(MessageError::BadRange),
                };
                let count = r.u16()?;
                let entries = r.rest();
                for _ in 0..count {
                    read_detail_entry(&mut r)?;
                }
                Message::Detail(DetailView {
                    domain,
                    range,
                    walk,
                    count,
                    entries,
                })
            }
            tag::RANGES => {
                let domain = Domain(r.array()?);
                let range = PrefixRange {
                    from: r.u32()?,
                    through: r.u32()?,
                };
                let [n] = r.array()?;
                if range.from > range.through
                    || n == 0
                    || usize::from(n) > MAX_RANGE_PARTS
                    || u64::from(n) > range.width()
                {
                    return Err(MessageError::BadRange);
                }
                let parts = r.take(usize::from(n) * RANGE_PART_LEN)?;
                Message::Ranges(RangesView {
                    domain,
                    range,
                    parts,
                })
            }
            tag::WANT => Message::Want(Want {
                domain: Domain(r.array()?),
                first_seq: r.u32()?,
                last_seq: r.u32()?,
            }),
            other => return Err(MessageError::UnknownTag(other)),
        };
        finish(&r)?;
        Ok(message)
    }
}

impl<'a> SummaryView<'a> {
    /// The domain lines.
    pub fn iter(&self) -> impl Iterator<Item = DomainSummary> + 'a {
        self.entries.chunks_exact(SUMMARY_ENTRY_LEN).map(|e| {
            let mut r = Reader::new(e);
            // Lengths were checked by `parse`; the defaults are unreachable.
            DomainSummary {
                domain: Domain(r.array().unwrap_or_default()),
                revocation_seq: r.u32().unwrap_or_default(),
                items: r.u16().unwrap_or_default(),
                set_digest: r.array().unwrap_or_default(),
            }
        })
    }
}

impl<'a> DetailView<'a> {
    /// The artifact lines.
    pub fn iter(&self) -> impl Iterator<Item = DetailEntry> + 'a {
        let mut r = Reader::new(self.entries);
        (0..self.count).map_while(move |_| read_detail_entry(&mut r).ok())
    }
}

/// Writes messages into a caller's buffer without ever indexing out of it.
pub enum Writer {}

/// A [`codec::Writer`] over `out` with `tag` written.
fn start(out: &mut [u8], tag: u8) -> Result<codec::Writer<'_>, MessageError> {
    let mut w = codec::Writer::new(out);
    w.u8(tag)?;
    Ok(w)
}

impl Writer {
    /// An ARTIFACT message carrying `artifact`.
    pub fn artifact(out: &mut [u8], artifact: &[u8]) -> Result<usize, MessageError> {
        let mut w = start(out, tag::ARTIFACT)?;
        w.put(artifact)?;
        Ok(w.len())
    }

    /// A SUMMARY of up to 255 domains.
    pub fn summary(
        out: &mut [u8],
        entries: impl ExactSizeIterator<Item = DomainSummary>,
    ) -> Result<usize, MessageError> {
        let mut w = start(out, tag::SUMMARY)?;
        let n = u8::try_from(entries.len()).map_err(|_| MessageError::BufferTooSmall)?;
        w.put(&[n])?;
        for e in entries {
            w.put(&e.domain.0)?;
            w.put(&e.revocation_seq.to_be_bytes())?;
            w.put(&e.items.to_be_bytes())?;
            w.put(&e.set_digest)?;
        }
        Ok(w.len())
    }

    /// A DETAIL of `domain` listing `entries`, the sender's artifacts in `range`.
    pub fn detail(
        out: &mut [u8],
        domain: Domain,
        range: PrefixRange,
        walk: bool,
        entries: impl ExactSizeIterator<Item = DetailEntry>,
    ) -> Result<usize, MessageError> {
        let mut w = start(out, tag::DETAIL)?;
        w.put(&domain.0)?;
        w.put(&range.from.to_be_bytes())?;
        w.put(&range.through.to_be_bytes())?;
        w.put(&[u8::from(walk)])?;
        let n = u16::try_from(entries.len()).map_err(|_| MessageError::BufferTooSmall)?;
        w.put(&n.to_be_bytes())?;
        for e in entries {
            w.put(&[e.kind])?;
            w.varint(e.id.into())?;
            w.varint(e.version)?;
            w.put(&e.digest.0)?;
        }
        Ok(w.len())
    }

    /// A RANGES of `domain`: `range` split into as many equal parts as `parts` gives
    /// fingerprints (1 to [`MAX_RANGE_PARTS`], at most the range's width).
    pub fn ranges(
        out: &mut [u8],
        domain: Domain,
        range: PrefixRange,
        parts: &[Fingerprint],
    ) -> Result<usize, MessageError> {
        // Ranges the node writes are never narrower than their parts ([`PrefixRange::part`]);
        // a caller's bad range is refused by the receiver's parser.
        let n = u8::try_from(parts.len()).map_err(|_| MessageError::BadRange)?;
        if n == 0 || usize::from(n) > MAX_RANGE_PARTS {
            return Err(MessageError::BadRange);
        }
        let mut w = start(out, tag::RANGES)?;
        w.put(&domain.0)?;
        w.put(&range.from.to_be_bytes())?;
        w.put(&range.through.to_be_bytes())?;
        w.put(&[n])?;
        for p in parts {
            w.put(&p.count.to_be_bytes())?;
            w.put(&p.sum)?;
        }
        Ok(w.len())
    }

    /// A WANT.
    pub fn want(out: &mut [u8], want: &Want) -> Result<usize, MessageError> {
        let mut w = start(out, tag::WANT)?;
        w.put(&want.domain.0)?;
        w.put(&want.first_seq.to_be_bytes())?;
        w.put(&want.last_seq.to_be_bytes())?;
        Ok(w.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::any;
    use std::vec::Vec;

    const GBR: Domain = Domain(*b"GBR");

    #[test]
    fn summary_round_trip_and_size() {
        let lines = [
            DomainSummary {
                domain: GBR,
                revocation_seq: 7,
                items: 12,
                set_digest: [1, 2, 3, 4],
            },
            DomainSummary {
                domain: Domain(*b"USA"),
                revocation_seq: 0,
                items: 3,
                set_digest: [9; 4],
            },
            DomainSummary {
                domain: Domain(*b"AUS"),
                revocation_seq: 70_000,
                items: 5,
                set_digest: [0; 4],
            },
        ];
        let mut buf = [0u8; 64];
        let n = Writer::summary(&mut buf, lines.iter().copied()).unwrap();
        assert_eq!(n, 41, "a three-nation summary is 41 bytes");
        let Message::Summary(view) = Message::parse(&buf[..n]).unwrap() else {
            panic!("not a summary");
        };
        assert_eq!(view.iter().collect::<Vec<_>>(), lines);
    }

    #[test]
    fn detail_round_trip_with_varints() {
        let entries = [
            DetailEntry {
                kind: 2,
                id: 1,
                version: 3,
                digest: ShortDigest([1, 2, 3, 4]),
            },
            DetailEntry {
                kind: 1,
                id: 0,
                version: 1_893_456_000,
                digest: ShortDigest([5, 6, 7, 8]),
            },
            DetailEntry {
                kind: 3,
                id: u32::MAX,
                version: u64::MAX,
                digest: ShortDigest([0; 4]),
            },
        ];
        let mut buf = [0u8; 128];
        let range = PrefixRange {
            from: 0,
            through: 0x0506_0708,
        };
        let n = Writer::detail(&mut buf, GBR, range, true, entries.iter().copied()).unwrap();
        // tag, domain, range, walk, count, then 1+1+1+4, 1+1+5+4, 1+5+10+4.
        assert_eq!(n, 1 + 3 + 8 + 1 + 2 + 7 + 11 + 20);
        let Message::Detail(view) = Message::parse(&buf[..n]).unwrap() else {
            panic!("not a detail");
        };
        assert_eq!(view.domain, GBR);
        assert_eq!(view.range, range);
        assert!(view.walk);
        assert_eq!(view.iter().collect::<Vec<_>>(), entries);
    }

    #[test]
    fn a_detail_range_that_ends_before_it_starts_is_refused() {
        let range = PrefixRange {
            from: 0,
            through: 1,
        };
        let mut buf = [0u8; 32];
        let n = Writer::detail(&mut buf, GBR, range, false, core::iter::empty()).unwrap();
        buf[4..8].copy_from_slice(&2u32.to_be_bytes());
        assert_eq!(Message::parse(&buf[..n]), Err(MessageError::BadRange));
    }

    #[test]
    fn ranges_round_trip_and_size() {
        let parts: Vec<Fingerprint> = (0..16u16)
            .map(|i| Fingerprint {
                count: i * 7,
                sum: [i as u8; 4],
            })
            .collect();
        let mut buf = [0u8; 128];
        let n = Writer::ranges(&mut buf, GBR, PrefixRange::ALL, &parts).unwrap();
        assert_eq!(n, 109, "16 parts are 109 bytes");
        let Message::Ranges(view) = Message::parse(&buf[..n]).unwrap() else {
            panic!("not ranges");
        };
        assert_eq!(view.domain, GBR);
        let got: Vec<_> = view.iter().collect();
        assert_eq!(got.len(), 16);
        assert_eq!(got[0].0.from, 0);
        assert_eq!(got[15].0.through, u32::MAX);
        for (i, (range, fp)) in got.iter().enumerate() {
            assert_eq!(*fp, parts[i]);
            if let Some(next) = got.get(i + 1) {
                assert_eq!(range.through + 1, next.0.from, "parts are contiguous");
            }
        }
        // No parts are refused, and a range narrower than its parts is refused by the parser.
        let narrow = PrefixRange {
            from: 5,
            through: 6,
        };
        assert_eq!(
            Writer::ranges(&mut buf, GBR, narrow, &[]),
            Err(MessageError::BadRange)
        );
        let n = Writer::ranges(&mut buf, GBR, narrow, &parts[..2]).unwrap();
        buf[12] = 3;
        assert_eq!(Message::parse(&buf[..n]), Err(MessageError::BadRange));
    }

    proptest::proptest! {
        /// Every key of a range lies in exactly the part `part_of` names.
        #[test]
        fn part_of_agrees_with_part(from in any::<u32>(), width in 1u64..1 << 32, n in 1usize..=16, at in any::<u64>()) {
            let through = (u64::from(from) + width - 1).min(u64::from(u32::MAX)) as u32;
            let range = PrefixRange { from, through };
            let n = n.min(range.width() as usize);
            let key = (u64::from(from) + at % range.width()) as u32;
            let i = range.part_of(key, n);
            proptest::prop_assert!(range.part(i, n).contains(key));
        }
    }

    #[test]
    fn want_and_artifact_round_trip() {
        let want = Want {
            domain: GBR,
            first_seq: 4,
            last_seq: 6,
        };
        let mut buf = [0u8; 32];
        let n = Writer::want(&mut buf, &want).unwrap();
        assert_eq!(n, WANT_LEN);
        assert_eq!(Message::parse(&buf[..n]), Ok(Message::Want(want)));
        let n = Writer::artifact(&mut buf, b"signed").unwrap();
        assert_eq!(Message::parse(&buf[..n]), Ok(Message::Artifact(b"signed")));
    }

    #[test]
    fn malformed_messages_are_refused() {
        assert_eq!(Message::parse(&[]), Err(MessageError::Truncated));
        assert_eq!(Message::parse(&[1]), Err(MessageError::Truncated));
        assert_eq!(Message::parse(&[9, 0]), Err(MessageError::UnknownTag(9)));
        assert_eq!(Message::parse(&[2, 1, 0]), Err(MessageError::Truncated));
        assert_eq!(Message::parse(&[2, 0, 0]), Err(MessageError::TrailingBytes));
        // Domain, range 0..=MAX, no walk, one entry whose id varint never ends.
        let mut overlong = std::vec![3, b'G', b'B', b'R', 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF];
        overlong.extend([0, 0, 1, 2, 0x80]);
        overlong.extend([0xFF; 10]);
        assert_eq!(Message::parse(&overlong), Err(MessageError::BadVarint));
        let mut small = [0u8; 4];
        assert_eq!(
            Writer::artifact(&mut small, b"toolong"),
            Err(MessageError::BufferTooSmall)
        );
    }
}
