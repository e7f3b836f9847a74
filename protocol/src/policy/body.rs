//! The artifact bodies' decoder: postcard's byte format, read by hand.
//!
//! The bodies are written by postcard from the [`model`](super::model) types' `Serialize`
//! derives (fields in declaration order), and postcard stays the definition of the format. They
//! are read here, one function per type, instead of through serde's `Deserialize` derives: on the
//! firmware the derived visitors were monomorphised for every type and moved a 3 KB `Policy`
//! about four times through the stack (docs/firmware.md, "Flash"); one small reader over a
//! [`Reader`] does the same job in a fraction of the flash. `policy::body::tests` checks the two
//! agree on every body the encoder writes (a property test over random artifacts).
//!
//! What postcard writes, and so what is read:
//!
//! - `u8` and byte arrays: the bytes themselves;
//! - `bool` and `Option`'s tag: one byte, 0 or 1, anything else refused;
//! - `u16`, `u32`, `u64`: LEB128 varints of at most 3, 5 and 10 bytes, the last byte holding
//!   no bits beyond the type (postcard's own check); the encoder writes the shortest form, and
//!   longer forms of the same value are accepted as postcard accepts them;
//! - enum variants: their index as a `u32` varint, then the variant's fields;
//! - `&str`, `&[u8]` and lists: a length (a `u32` varint) and then the bytes or elements; a
//!   string must be UTF-8, a list must fit its `heapless::Vec`.
//!
//! A length is read as postcard reads a `usize` on a 32-bit target (5 bytes at most). Postcard on
//! a 64-bit host accepted up to 10; no encoder writes either, and every node now reads lengths
//! the same way whatever its word size.
//!
//! Every read is bounds-checked by the [`Reader`]; nothing here indexes, so no input panics.

use heapless::Vec;

use super::model::{
    Category, CategoryGroup, CategoryKind, CategorySet, CategoryValue, Checkpoint, ClassMap,
    Classification, Constraint, Credential, DeltaOp, Digest, Domain, Equivalence, FieldBridge,
    KeyId, Policy, PolicyDelta, PublicKey, ReleaseRule, RequireOp, Requirement, Revocation,
    Revoked, Scope, SpiralRef, Translator, Trigger, UnixTime, Validity, ValueSet,
};
use super::{Artifact, DecodeError, Kind};
use crate::codec::Reader;

/// A body that does not decode as its kind: the reader ran out, a tag or varint was out of
/// range, a string was not UTF-8 or a list overflowed its capacity. One error, because the
/// envelope reports all of them as [`DecodeError::Body`].
struct Malformed;

type Result<T> = core::result::Result<T, Malformed>;

/// An artifact with nothing in it, for [`decode_into`] to overwrite: a checkpoint, whose
/// list is empty, so making one writes a few words and not an artifact's kilobytes.
pub(super) const fn blank() -> Artifact<'static> {
    Artifact::Checkpoint(Checkpoint {
        domain: Domain([0; 3]),
        signer: KeyId([0; 8]),
        seq: 0,
        entries: Vec::new(),
    })
}

/// Decodes the body of an artifact of `kind` into `out` (which holds [`blank`] or anything
/// else: it is overwritten, and left unspecified on an error). Bytes left after it are
/// [`DecodeError::TrailingBytes`], anything else wrong is [`DecodeError::Body`].
///
/// In place, and each list pushed into the artifact's own `heapless::Vec`, because returning
/// an artifact by value built it in a temporary and copied it into the caller's (a
/// `Policy` is 3.3 KB): that was most of `Signed::decode`'s 7 KB frame, on the stack of every
/// admission and decision on the firmware (docs/firmware-ram.md).
pub(super) fn decode_into<'a>(
    kind: Kind,
    body: &'a [u8],
    out: &mut Artifact<'a>,
) -> core::result::Result<(), DecodeError> {
    let mut r = Reader::new(body);
    artifact_into(kind, &mut r, out).map_err(|Malformed| DecodeError::Body)?;
    if r.is_empty() {
        Ok(())
    } else {
        Err(DecodeError::TrailingBytes)
    }
}

/// Each variant is written with its lists empty and the lists then filled where they lie.
fn artifact_into<'a>(kind: Kind, r: &mut Reader<'a>, out: &mut Artifact<'a>) -> Result<()> {
    match kind {
        Kind::Credential => *out = Artifact::Credential(credential(r)?),
        Kind::Policy => {
            *out = Artifact::Policy(Policy {
                domain: domain(r)?,
                signer: key_id(r)?,
                id: u32(r)?,
                version: u32(r)?,
                spiral: u8(r)?,
                name: str(r)?,
                classifications: Vec::new(),
                categories: Vec::new(),
                rules: Vec::new(),
                constraints: Vec::new(),
            });
            if let Artifact::Policy(p) = out {
                policy_lists(r, p)?;
            }
        }
        Kind::Translator => {
            *out = Artifact::Translator(Translator {
                from: spiral_ref(r)?,
                signer: key_id(r)?,
                to: spiral_ref(r)?,
                id: u32(r)?,
                version: u32(r)?,
                name: str(r)?,
                classifications: Vec::new(),
                equivalences: Vec::new(),
                bridges: Vec::new(),
            });
            if let Artifact::Translator(t) = out {
                translator_lists(r, t)?;
            }
        }
        Kind::Revocation => {
            *out = Artifact::Revocation(Revocation {
                domain: domain(r)?,
                signer: key_id(r)?,
                seq: u32(r)?,
                entries: Vec::new(),
            });
            if let Artifact::Revocation(v) = out {
                list_into(r, &mut v.entries, revoked)?;
            }
        }
        Kind::PolicyDelta => {
            *out = Artifact::PolicyDelta(PolicyDelta {
                domain: domain(r)?,
                id: u32(r)?,
                base_version: u32(r)?,
                base_digest: digest(r)?,
                version: u32(r)?,
                ops: Vec::new(),
                result_digest: Digest([0; 32]),
            });
            if let Artifact::PolicyDelta(d) = out {
                list_into(r, &mut d.ops, delta_op)?;
                d.result_digest = digest(r)?;
            }
        }
        Kind::Checkpoint => {
            *out = Artifact::Checkpoint(Checkpoint {
                domain: domain(r)?,
                signer: key_id(r)?,
                seq: u32(r)?,
                entries: Vec::new(),
            });
            if let Artifact::Checkpoint(c) = out {
                list_into(r, &mut c.entries, revoked)?;
            }
        }
    }
    Ok(())
}

fn u8(r: &mut Reader<'_>) -> Result<u8> {
    r.u8().map_err(|_| Malformed)
}

fn array<const N: usize>(r: &mut Reader<'_>) -> Result<[u8; N]> {
    r.array().map_err(|_| Malformed)
}

/// A byte that must be 0 or 1: a `bool`, or an `Option`'s tag.
fn flag(r: &mut Reader<'_>) -> Result<bool> {
    match u8(r)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(Malformed),
    }
}

/// A LEB128 varint of a `bits`-bit integer, as postcard reads it: at most `ceil(bits / 7)`
/// bytes, and the last of that many may hold no bits above `bits`.
fn varint(r: &mut Reader<'_>, bits: u32) -> Result<u64> {
    let max = bits.div_ceil(7);
    let mut value = 0u64;
    for i in 0..max {
        let byte = u8(r)?;
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            let room = bits - 7 * i;
            return if i == max - 1 && u32::from(byte) >> room != 0 {
                Err(Malformed)
            } else {
                Ok(value)
            };
        }
    }
    Err(Malformed)
}

fn u16(r: &mut Reader<'_>) -> Result<u16> {
    u16::try_from(varint(r, 16)?).map_err(|_| Malformed)
}

fn u32(r: &mut Reader<'_>) -> Result<u32> {
    u32::try_from(varint(r, 32)?).map_err(|_| Malformed)
}

fn u64(r: &mut Reader<'_>) -> Result<u64> {
    varint(r, 64)
}

/// A length prefix, or an enum's variant index: postcard's `usize` on a 32-bit target.
fn len(r: &mut Reader<'_>) -> Result<usize> {
    usize::try_from(u32(r)?).map_err(|_| Malformed)
}

fn bytes<'a>(r: &mut Reader<'a>) -> Result<&'a [u8]> {
    let n = len(r)?;
    r.take(n).map_err(|_| Malformed)
}

fn str<'a>(r: &mut Reader<'a>) -> Result<&'a str> {
    core::str::from_utf8(bytes(r)?).map_err(|_| Malformed)
}

fn option<'a, T>(r: &mut Reader<'a>, item: fn(&mut Reader<'a>) -> Result<T>) -> Result<Option<T>> {
    if flag(r)? {
        item(r).map(Some)
    } else {
        Ok(None)
    }
}

/// A length-prefixed list; more items than `N` is malformed, as the `heapless::Vec` it
/// fills cannot hold them.
fn list<'a, T, const N: usize>(
    r: &mut Reader<'a>,
    item: fn(&mut Reader<'a>) -> Result<T>,
) -> Result<Vec<T, N>> {
    let mut items = Vec::new();
    list_into(r, &mut items, item)?;
    Ok(items)
}

/// [`list`] into a `heapless::Vec` where it lies (emptied first): for an artifact's lists,
/// which are too large to build on the stack and copy.
fn list_into<'a, T, const N: usize>(
    r: &mut Reader<'a>,
    items: &mut Vec<T, N>,
    item: fn(&mut Reader<'a>) -> Result<T>,
) -> Result<()> {
    let n = len(r)?;
    items.clear();
    for _ in 0..n {
        items.push(item(r)?).map_err(|_| Malformed)?;
    }
    Ok(())
}

// Identifiers.

fn domain(r: &mut Reader<'_>) -> Result<Domain> {
    array(r).map(Domain)
}

fn key_id(r: &mut Reader<'_>) -> Result<KeyId> {
    array(r).map(KeyId)
}

fn digest(r: &mut Reader<'_>) -> Result<Digest> {
    array(r).map(Digest)
}

fn time(r: &mut Reader<'_>) -> Result<UnixTime> {
    u64(r).map(UnixTime)
}

fn spiral_ref(r: &mut Reader<'_>) -> Result<SpiralRef> {
    Ok(SpiralRef {
        domain: domain(r)?,
        spiral: u8(r)?,
    })
}

fn category_value(r: &mut Reader<'_>) -> Result<CategoryValue> {
    Ok(CategoryValue {
        tag: u8(r)?,
        value: u16(r)?,
    })
}

// Credentials.

fn credential(r: &mut Reader<'_>) -> Result<Credential> {
    Ok(Credential {
        domain: domain(r)?,
        signer: key_id(r)?,
        subject: PublicKey(array(r)?),
        scope: Scope(u8(r)?),
        validity: Validity {
            not_before: time(r)?,
            not_after: time(r)?,
        },
        depth: u8(r)?,
        version: u32(r)?,
        node: option(r, u32)?,
    })
}

// Policies.

/// A policy's lists, after its scalars (`artifact_into`).
fn policy_lists<'a>(r: &mut Reader<'a>, p: &mut Policy<'a>) -> Result<()> {
    list_into(r, &mut p.classifications, |r| {
        Ok(Classification {
            code: u8(r)?,
            name: str(r)?,
        })
    })?;
    list_into(r, &mut p.categories, category)?;
    list_into(r, &mut p.rules, |r| {
        Ok(ReleaseRule {
            max_classification: u8(r)?,
            category: option(r, category_set)?,
            to: list(r, domain)?,
        })
    })?;
    list_into(r, &mut p.constraints, constraint)
}

fn value_set<'a>(r: &mut Reader<'a>) -> Result<ValueSet<'a>> {
    Ok(ValueSet {
        base: u16(r)?,
        bits: bytes(r)?,
    })
}

fn category<'a>(r: &mut Reader<'a>) -> Result<Category<'a>> {
    Ok(Category {
        tag: u8(r)?,
        name: str(r)?,
        kind: match len(r)? {
            0 => CategoryKind::Permissive,
            1 => CategoryKind::Restrictive,
            2 => CategoryKind::Informative,
            _ => return Err(Malformed),
        },
        values: value_set(r)?,
        single: flag(r)?,
    })
}

fn category_set<'a>(r: &mut Reader<'a>) -> Result<CategorySet<'a>> {
    Ok(CategorySet {
        tag: u8(r)?,
        values: value_set(r)?,
    })
}

fn category_group<'a>(r: &mut Reader<'a>) -> Result<CategoryGroup<'a>> {
    Ok(CategoryGroup {
        tag: u8(r)?,
        values: option(r, value_set)?,
    })
}

fn constraint<'a>(r: &mut Reader<'a>) -> Result<Constraint<'a>> {
    let when = match len(r)? {
        0 => Trigger::Classification(u8(r)?),
        1 => Trigger::Values(category_set(r)?),
        _ => return Err(Malformed),
    };
    let require = match len(r)? {
        0 => Requirement::ExcludedClass(bytes(r)?),
        1 => Requirement::Required {
            op: match len(r)? {
                0 => RequireOp::OnlyOne,
                1 => RequireOp::OneOrMore,
                2 => RequireOp::All,
                _ => return Err(Malformed),
            },
            groups: list(r, category_group)?,
        },
        2 => Requirement::Excluded(list(r, category_group)?),
        _ => return Err(Malformed),
    };
    Ok(Constraint { when, require })
}

fn delta_op<'a>(r: &mut Reader<'a>) -> Result<DeltaOp<'a>> {
    match len(r)? {
        0 => Ok(DeltaOp::Copy {
            offset: u16(r)?,
            len: u16(r)?,
        }),
        1 => Ok(DeltaOp::Insert(bytes(r)?)),
        _ => Err(Malformed),
    }
}

// Translators and revocations.

/// A translator's lists, after its scalars (`artifact_into`).
fn translator_lists(r: &mut Reader<'_>, t: &mut Translator<'_>) -> Result<()> {
    list_into(r, &mut t.classifications, |r| {
        Ok(ClassMap {
            from: u8(r)?,
            to: u8(r)?,
        })
    })?;
    list_into(r, &mut t.equivalences, |r| {
        Ok(Equivalence {
            from: category_value(r)?,
            to: category_value(r)?,
        })
    })?;
    list_into(r, &mut t.bridges, |r| {
        Ok(FieldBridge {
            from_tag: u8(r)?,
            to_tag: u8(r)?,
        })
    })
}

fn revoked(r: &mut Reader<'_>) -> Result<Revoked> {
    Ok(match len(r)? {
        0 => Revoked::Key(key_id(r)?),
        1 => Revoked::Policy {
            id: u32(r)?,
            version: u32(r)?,
        },
        2 => Revoked::Translator {
            id: u32(r)?,
            version: u32(r)?,
        },
        _ => return Err(Malformed),
    })
}

#[cfg(test)]
mod tests {
    //! The decoder against postcard: every body the encoder (postcard's `Serialize`) writes
    //! decodes to the artifact it was written from, and the primitives read arbitrary bytes
    //! exactly as postcard's own deserializer does.

    extern crate std;

    use std::boxed::Box;
    use std::string::String;
    use std::vec::Vec as StdVec;

    use proptest::prelude::*;

    /// [`decode_into`] over a blank artifact, returned.
    fn decode(kind: Kind, body: &[u8]) -> core::result::Result<Artifact<'_>, DecodeError> {
        let mut out = blank();
        decode_into(kind, body, &mut out).map(|()| out)
    }

    use super::*;
    use crate::policy::encoding::encode_signed_part;
    use crate::policy::{MAX_ARTIFACT_LEN, Signed};

    // The model borrows its strings and byte runs from the artifact's bytes; these tests make
    // them with proptest and leak them (a few bytes a case) to get the `'static` borrows.
    fn leaked_str() -> impl Strategy<Value = &'static str> {
        "\\PC{0,10}".prop_map(|s: String| &*Box::leak(s.into_boxed_str()))
    }

    fn leaked_bytes(max: usize) -> impl Strategy<Value = &'static [u8]> {
        prop::collection::vec(any::<u8>(), 0..max).prop_map(|b| &*StdVec::leak(b))
    }

    fn heapless_vec<T: core::fmt::Debug, const N: usize>(
        item: impl Strategy<Value = T>,
        max: usize,
    ) -> impl Strategy<Value = Vec<T, N>> {
        prop::collection::vec(item, 0..=max.min(N)).prop_map(|v| v.into_iter().collect())
    }

    fn domain() -> impl Strategy<Value = Domain> {
        any::<[u8; 3]>().prop_map(Domain)
    }

    fn key_id() -> impl Strategy<Value = KeyId> {
        any::<[u8; 8]>().prop_map(KeyId)
    }

    fn value_set() -> impl Strategy<Value = ValueSet<'static>> {
        (any::<u16>(), leaked_bytes(5)).prop_map(|(base, bits)| ValueSet { base, bits })
    }

    fn category_set() -> impl Strategy<Value = CategorySet<'static>> {
        (any::<u8>(), value_set()).prop_map(|(tag, values)| CategorySet { tag, values })
    }

    fn category_value() -> impl Strategy<Value = CategoryValue> {
        (any::<u8>(), any::<u16>()).prop_map(|(tag, value)| CategoryValue { tag, value })
    }

    fn groups() -> impl Strategy<Value = Vec<CategoryGroup<'static>, 4>> {
        let group = (any::<u8>(), prop::option::of(value_set()))
            .prop_map(|(tag, values)| CategoryGroup { tag, values });
        heapless_vec(group, 4)
    }

    fn constraint() -> impl Strategy<Value = Constraint<'static>> {
        let when = prop_oneof![
            any::<u8>().prop_map(Trigger::Classification),
            category_set().prop_map(Trigger::Values),
        ];
        let op = prop_oneof![
            Just(RequireOp::OnlyOne),
            Just(RequireOp::OneOrMore),
            Just(RequireOp::All)
        ];
        let require = prop_oneof![
            leaked_bytes(4).prop_map(Requirement::ExcludedClass),
            (op, groups()).prop_map(|(op, groups)| Requirement::Required { op, groups }),
            groups().prop_map(Requirement::Excluded),
        ];
        (when, require).prop_map(|(when, require)| Constraint { when, require })
    }

    fn policy() -> impl Strategy<Value = Artifact<'static>> {
        let class =
            (any::<u8>(), leaked_str()).prop_map(|(code, name)| Classification { code, name });
        let kind = prop_oneof![
            Just(CategoryKind::Permissive),
            Just(CategoryKind::Restrictive),
            Just(CategoryKind::Informative)
        ];
        let category = (any::<u8>(), leaked_str(), kind, value_set(), any::<bool>()).prop_map(
            |(tag, name, kind, values, single)| Category {
                tag,
                name,
                kind,
                values,
                single,
            },
        );
        let rule = (
            any::<u8>(),
            prop::option::of(category_set()),
            heapless_vec(domain(), 4),
        )
            .prop_map(|(max_classification, category, to)| ReleaseRule {
                max_classification,
                category,
                to,
            });
        let head = (
            domain(),
            key_id(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            leaked_str(),
        );
        let lists = (
            heapless_vec(class, 4),
            heapless_vec(category, 3),
            heapless_vec(rule, 5),
            heapless_vec(constraint(), 3),
        );
        (head, lists).prop_map(
            |(
                (domain, signer, id, version, spiral, name),
                (classifications, categories, rules, constraints),
            )| {
                Artifact::Policy(Policy {
                    domain,
                    signer,
                    id,
                    version,
                    spiral,
                    name,
                    classifications,
                    categories,
                    rules,
                    constraints,
                })
            },
        )
    }

    fn translator() -> impl Strategy<Value = Artifact<'static>> {
        let side =
            || (domain(), any::<u8>()).prop_map(|(domain, spiral)| SpiralRef { domain, spiral });
        let class = any::<(u8, u8)>().prop_map(|(from, to)| ClassMap { from, to });
        let equivalence =
            (category_value(), category_value()).prop_map(|(from, to)| Equivalence { from, to });
        let bridge =
            any::<(u8, u8)>().prop_map(|(from_tag, to_tag)| FieldBridge { from_tag, to_tag });
        let head = (
            side(),
            key_id(),
            side(),
            any::<u32>(),
            any::<u32>(),
            leaked_str(),
        );
        let lists = (
            heapless_vec(class, 16),
            heapless_vec(equivalence, 16),
            heapless_vec(bridge, 16),
        );
        (head, lists).prop_map(
            |((from, signer, to, id, version, name), (classifications, equivalences, bridges))| {
                Artifact::Translator(Translator {
                    from,
                    signer,
                    to,
                    id,
                    version,
                    name,
                    classifications,
                    equivalences,
                    bridges,
                })
            },
        )
    }

    fn revoked() -> impl Strategy<Value = Revoked> {
        prop_oneof![
            key_id().prop_map(Revoked::Key),
            any::<(u32, u32)>().prop_map(|(id, version)| Revoked::Policy { id, version }),
            any::<(u32, u32)>().prop_map(|(id, version)| Revoked::Translator { id, version }),
        ]
    }

    fn artifact() -> impl Strategy<Value = Artifact<'static>> {
        let credential = (
            (
                domain(),
                key_id(),
                any::<[u8; 32]>(),
                any::<u8>(),
                any::<u8>(),
            ),
            (
                any::<u64>(),
                any::<u64>(),
                any::<u8>(),
                any::<u32>(),
                any::<Option<u32>>(),
            ),
        )
            .prop_map(
                |((domain, signer, key, parity, scope), (from, until, depth, version, node))| {
                    let mut subject = [parity; PublicKey::LEN];
                    subject[1..].copy_from_slice(&key);
                    Artifact::Credential(Credential {
                        domain,
                        signer,
                        subject: PublicKey(subject),
                        scope: Scope(scope),
                        validity: Validity {
                            not_before: UnixTime(from),
                            not_after: UnixTime(until),
                        },
                        depth,
                        version,
                        node,
                    })
                },
            );
        let revocation = (
            domain(),
            key_id(),
            any::<u32>(),
            heapless_vec(revoked(), 16),
        )
            .prop_map(|(domain, signer, seq, entries)| {
                Artifact::Revocation(Revocation {
                    domain,
                    signer,
                    seq,
                    entries,
                })
            });
        let checkpoint = (
            domain(),
            key_id(),
            any::<u32>(),
            heapless_vec(revoked(), 40),
        )
            .prop_map(|(domain, signer, seq, entries)| {
                Artifact::Checkpoint(Checkpoint {
                    domain,
                    signer,
                    seq,
                    entries,
                })
            });
        let op = prop_oneof![
            any::<(u16, u16)>().prop_map(|(offset, len)| DeltaOp::Copy { offset, len }),
            leaked_bytes(20).prop_map(DeltaOp::Insert),
        ];
        let delta = (
            (domain(), any::<u32>(), any::<u32>(), any::<[u8; 32]>()),
            (any::<u32>(), heapless_vec(op, 16), any::<[u8; 32]>()),
        )
            .prop_map(
                |((domain, id, base_version, base), (version, ops, result))| {
                    Artifact::PolicyDelta(PolicyDelta {
                        domain,
                        id,
                        base_version,
                        base_digest: Digest(base),
                        version,
                        ops,
                        result_digest: Digest(result),
                    })
                },
            );
        prop_oneof![
            credential,
            policy(),
            translator(),
            revocation,
            checkpoint,
            delta
        ]
    }

    /// The signed part postcard writes for `artifact`, with a zero signature after it; `None`
    /// when it is longer than an artifact may be.
    fn encoded(artifact: &Artifact<'_>) -> Option<StdVec<u8>> {
        let mut out = std::vec![0u8; 8 * MAX_ARTIFACT_LEN];
        let len = encode_signed_part(artifact, &mut out).ok()?;
        out.truncate(len + crate::policy::encoding::SIGNATURE_LEN);
        Some(out)
    }

    /// A reader's result and how many bytes it took, to compare with postcard's.
    fn read<'a, T>(
        bytes: &'a [u8],
        f: impl Fn(&mut Reader<'a>) -> Result<T>,
    ) -> Option<(T, usize)> {
        let mut r = Reader::new(bytes);
        let value = f(&mut r).ok()?;
        Some((value, bytes.len() - r.rest().len()))
    }

    fn postcard<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Option<(T, usize)> {
        let (value, rest) = postcard::take_from_bytes::<T>(bytes).ok()?;
        Some((value, bytes.len() - rest.len()))
    }

    proptest! {
        /// Byte compatibility: whatever the artifact, the bytes postcard writes for it decode
        /// to it, and one byte more is trailing, one byte fewer malformed.
        #[test]
        fn every_body_postcard_writes_decodes_to_its_artifact(artifact in artifact()) {
            let Some(mut bytes) = encoded(&artifact) else {
                return Ok(()); // longer than MAX_ARTIFACT_LEN: never on the wire
            };
            prop_assert_eq!(&Signed::decode(&bytes).unwrap().artifact, &artifact);
            let end = bytes.len() - crate::policy::encoding::SIGNATURE_LEN;
            let body = &bytes[2..end];
            let kind = artifact.kind();
            prop_assert_eq!(decode(kind, &body[..body.len() - 1]).err(), Some(DecodeError::Body));
            bytes.insert(end, 0);
            let body = &bytes[2..=end];
            prop_assert_eq!(decode(kind, body).err(), Some(DecodeError::TrailingBytes));
        }

        /// The primitives accept and refuse exactly the bytes postcard's deserializer does,
        /// and take as many: varints of every width (overlong forms and a last byte with bits
        /// beyond the type included), bools and option tags, strings.
        #[test]
        fn the_primitives_read_bytes_as_postcard_does(bytes in prop::collection::vec(
            prop_oneof![any::<u8>(), Just(0x80u8), Just(0xFFu8), 0u8..4], 0..12,
        )) {
            prop_assert_eq!(read(&bytes, u16), postcard::<u16>(&bytes));
            prop_assert_eq!(read(&bytes, u32), postcard::<u32>(&bytes));
            prop_assert_eq!(read(&bytes, u64), postcard::<u64>(&bytes));
            prop_assert_eq!(read(&bytes, flag), postcard::<bool>(&bytes));
            prop_assert_eq!(read(&bytes, |r| option(r, u32)), postcard::<Option<u32>>(&bytes));
            // Postcard reads a length as a u64 on this host and a u32 on the target; they differ
            // only for a length written in more than five bytes, which nothing writes.
            if bytes.iter().take(5).any(|b| b & 0x80 == 0) {
                prop_assert_eq!(read(&bytes, str), postcard::<&str>(&bytes));
            }
        }
    }

    /// A list longer than its capacity is malformed, not truncated to fit: 16 revocation
    /// entries decode, 17 do not.
    #[test]
    fn a_list_beyond_its_capacity_is_malformed() {
        let entry = Revoked::Policy { id: 1, version: 2 };
        let full = Artifact::Revocation(Revocation {
            domain: Domain(*b"GBR"),
            signer: KeyId([7; 8]),
            seq: 3,
            entries: core::iter::repeat_n(entry, 16).collect(),
        });
        let bytes = encoded(&full).unwrap();
        assert_eq!(Signed::decode(&bytes).unwrap().artifact, full);
        // The count is the byte after domain, signer and seq; then the entries (3 bytes each).
        let end = bytes.len() - crate::policy::encoding::SIGNATURE_LEN;
        let mut body = bytes[2..end].to_vec();
        assert_eq!(body[12], 16);
        body[12] = 17;
        body.extend_from_slice(&[1, 1, 2]);
        assert_eq!(
            decode(Kind::Revocation, &body).err(),
            Some(DecodeError::Body)
        );
    }

    /// Tags out of range are malformed: an enum variant past the last, a bool of 2.
    #[test]
    fn a_tag_out_of_range_is_malformed() {
        // A revocation with one entry whose variant index is 3 (Key, Policy, Translator: 0..=2).
        let mut body = StdVec::from(*b"GBR");
        body.extend_from_slice(&[0; 8]);
        body.extend_from_slice(&[1, 1, 3, 0, 0]);
        assert_eq!(
            decode(Kind::Revocation, &body).err(),
            Some(DecodeError::Body)
        );
        body[13] = 2;
        assert!(decode(Kind::Revocation, &body).is_ok());
    }
}
