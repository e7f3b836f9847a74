//! The PDUs that ride inside D_PDU segments: C_PDUs (Annex B) and S_PDUs (Annex A).
//!
//! A C_PDU's first byte names its type in the high nibble. Type 0 carries an S_PDU; types 1..=5
//! are the CAS-1 physical link protocol (request, accepted, rejected, break, break confirm), whose
//! low nibble holds a reason where one exists. An S_PDU's first byte holds its type (high nibble)
//! and the U_PDU's priority (low nibble); the second the source and destination SAP IDs.
//!
//! DATA S_PDU (type 0), as Annex A lays it out:
//!
//! ```text
//! 0   type 0 | priority (0..15)
//! 1   source SAP | destination SAP
//! 2   0x80 client delivery confirm required | 0x40 VALID TTD | 2 reserved bits | Julian day mod 16
//! 3-4 the GMT second of the day / 2 (big-endian), only when VALID TTD is set
//! ..  the U_PDU
//! ```
//!
//! DATA DELIVERY CONFIRM (type 1): byte 0 type 1 and the DATA S_PDU's priority, byte 1 the DATA
//! S_PDU's SAP byte unchanged (the source SAP stays the originator's: not swapped), then the
//! first bytes of the U_PDU delivered. DATA DELIVERY FAIL (type 2): byte 0 type 2 and the reason
//! in the low nibble ([`fail`]), byte 1 the SAP byte unchanged, then the U_PDU's first bytes.
//! Interoperability with other stacks (issue 20) found Skywave writing a 3-byte TTD, swapping the
//! SAPs of a confirm and giving FAIL a reason byte of its own; the vectors in the tests below
//! are the annex's.

use super::Error;
use crate::wire;

/// The largest U_PDU a general node accepts from a client (the SIS MTU).
pub const MAX_UPDU_LEN: usize = 2048;

/// The most bytes of a U_PDU a delivery confirm or fail S_PDU echoes back.
pub const ECHO_LEN: usize = 16;

/// C_PDU header bytes plus the largest DATA S_PDU header.
pub const MAX_CPDU_OVERHEAD: usize = 1 + 6;

/// The largest C_PDU this crate builds: a full U_PDU with every header.
pub const MAX_CPDU_LEN: usize = MAX_UPDU_LEN + MAX_CPDU_OVERHEAD;

/// Why a CAS-1 physical link request was rejected or a link broken (the C_PDU's low nibble), as
/// Annex B numbers them. A node that is busy with another link has no reject reason of its own
/// (Annex C signals it with a WARNING D_PDU): it rejects with [`reason::UNKNOWN`].
pub mod reason {
    /// No reason given (always valid, for rejects and breaks).
    pub const UNKNOWN: u8 = 0;
    /// Reject: the node is a broadcast-only node.
    pub const REJECT_BROADCAST_ONLY: u8 = 1;
    /// Reject: a higher-priority link request is pending.
    pub const REJECT_HIGHER_PRIORITY_PENDING: u8 = 2;
    /// Reject: the node supports an exclusive link.
    pub const REJECT_EXCLUSIVE_LINK: u8 = 3;
    /// Break: a higher layer asked for it.
    pub const BREAK_HIGHER_LAYER: u8 = 1;
    /// Break: switching to a broadcast data exchange session.
    pub const BREAK_BROADCAST_SESSION: u8 = 2;
    /// Break: a higher-priority link request is pending.
    pub const BREAK_HIGHER_PRIORITY_PENDING: u8 = 3;
    /// Break: no more data (how Skywave releases an idle link).
    pub const BREAK_NO_MORE_DATA: u8 = 4;
}

/// Why a DATA DELIVERY FAIL was sent (its first byte's low nibble, Annex A).
pub mod fail {
    /// Refused for a reason the annex has no code for: Skywave's receiving guard would not
    /// hand the U_PDU to its client (not releasable to this node's domain, a revoked
    /// translator, a binding that does not verify). The annex defines only
    /// [`SAP_NOT_BOUND`] and reserves 0 and 2-15; 0 is the "no reason given" of every other
    /// reason field of Annexes A and B, so a foreign sender takes it as a plain failure
    /// rather than as a SAP nobody holds.
    pub const REFUSED: u8 = 0;
    /// The destination SAP is not bound (the only reason the annex defines; 0 and 2-15 are
    /// reserved).
    pub const SAP_NOT_BOUND: u8 = 1;
    /// Skywave's, in the range the annex reserves: the destination took the U_PDU off the air
    /// but could not keep it for its client (the operator's inbox holds as many as it may, or
    /// the store that keeps it failed). Unlike [`REFUSED`] nothing was decided against the
    /// message, so it is worth sending again later; a sender that does not know the value
    /// takes it as a plain failure, as it does any reserved reason.
    pub const FULL: u8 = 2;
}

/// A C_PDU: an S_PDU, or a CAS-1 physical link message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cpdu<'a> {
    /// Type 0: carries an S_PDU.
    Data(Spdu<'a>),
    /// Type 1: asks the addressed node to make a physical link.
    LinkRequest,
    /// Type 2: accepts a physical link request.
    LinkAccepted,
    /// Type 3: refuses a physical link request, with a [`reason`].
    LinkRejected(u8),
    /// Type 4: breaks the physical link, with a [`reason`].
    LinkBreak(u8),
    /// Type 5: confirms a break.
    LinkBreakConfirm,
}

/// An S_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Spdu<'a> {
    /// Type 0: client data.
    Data(DataSpdu<'a>),
    /// Type 1: the destination client received the U_PDU whose first bytes are `echo`.
    DeliveryConfirm {
        /// SAPs and priority of the confirmed U_PDU, as its DATA S_PDU had them (not swapped).
        header: SpduHeader,
        /// The first bytes of the confirmed U_PDU.
        echo: &'a [u8],
    },
    /// Type 2: the U_PDU whose first bytes are `echo` could not be delivered.
    DeliveryFail {
        /// SAPs of the failed U_PDU, as its DATA S_PDU had them (the priority is not sent: the
        /// reason takes its place, and a parsed FAIL reads 0).
        header: SpduHeader,
        /// Why ([`fail`]; 4 bits).
        reason: u8,
        /// The first bytes of the failed U_PDU.
        echo: &'a [u8],
    },
}

/// The priority and SAP IDs every S_PDU starts with.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct SpduHeader {
    /// 0..=15, higher first.
    pub priority: u8,
    /// The sending client's SAP ID (0..=15).
    pub src_sap: u8,
    /// The receiving client's SAP ID (0..=15).
    pub dest_sap: u8,
}

/// A DATA S_PDU.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct DataSpdu<'a> {
    /// Priority and SAPs.
    pub header: SpduHeader,
    /// The sending client asks to hear that the receiving client got the U_PDU.
    pub confirm: bool,
    /// The time-to-die as sent, when VALID TTD is set: the Julian day mod 16 and the GMT second
    /// of the day divided by two. This link keeps time-to-die on its own clock and never sends
    /// one; a peer's is read so that its data is not taken for TTD bytes.
    pub ttd: Option<(u8, u16)>,
    /// The client's data.
    pub updu: &'a [u8],
}

impl SpduHeader {
    fn check(&self) -> Result<(), Error> {
        if self.priority > 15 {
            return Err(Error::Priority);
        }
        if self.src_sap > 15 || self.dest_sap > 15 {
            return Err(Error::Sap);
        }
        Ok(())
    }

    fn bytes(&self, spdu_type: u8) -> [u8; 2] {
        [
            spdu_type << 4 | self.priority,
            self.src_sap << 4 | self.dest_sap,
        ]
    }

    fn read(bytes: &[u8]) -> Result<(u8, Self, &[u8]), Error> {
        let (&b0, rest) = bytes.split_first().ok_or(Error::Malformed)?;
        let (&b1, rest) = rest.split_first().ok_or(Error::Malformed)?;
        let header = SpduHeader {
            priority: b0 & 0x0F,
            src_sap: b1 >> 4,
            dest_sap: b1 & 0x0F,
        };
        Ok((b0 >> 4, header, rest))
    }
}

impl<'a> Cpdu<'a> {
    /// Reads a C_PDU (and the S_PDU inside a DATA C_PDU).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let (&first, rest) = bytes.split_first().ok_or(Error::Malformed)?;
        let reason = first & 0x0F;
        Ok(match first >> 4 {
            0 => Cpdu::Data(Spdu::parse(rest)?),
            1 => Cpdu::LinkRequest,
            2 => Cpdu::LinkAccepted,
            3 => Cpdu::LinkRejected(reason),
            4 => Cpdu::LinkBreak(reason),
            5 => Cpdu::LinkBreakConfirm,
            t => return Err(Error::UnknownCpdu(t)),
        })
    }

    /// Writes the C_PDU at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let small = |byte: u8, out: &mut [u8]| -> Result<usize, Error> {
            *out.first_mut()
                .ok_or(Error::Wire(wire::Error::BufferTooSmall))? = byte;
            Ok(1)
        };
        match self {
            Cpdu::Data(spdu) => {
                small(0x00, out)?;
                let rest = out
                    .get_mut(1..)
                    .ok_or(Error::Wire(wire::Error::BufferTooSmall))?;
                Ok(1 + spdu.emit(rest)?)
            }
            Cpdu::LinkRequest => small(0x10, out),
            Cpdu::LinkAccepted => small(0x20, out),
            Cpdu::LinkRejected(r) => small(0x30 | (r & 0x0F), out),
            Cpdu::LinkBreak(r) => small(0x40 | (r & 0x0F), out),
            Cpdu::LinkBreakConfirm => small(0x50, out),
        }
    }
}

impl<'a> Spdu<'a> {
    /// Reads an S_PDU.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let (spdu_type, header, rest) = SpduHeader::read(bytes)?;
        match spdu_type {
            0 => {
                let (&flags, mut updu) = rest.split_first().ok_or(Error::Malformed)?;
                let ttd = if flags & 0x40 != 0 {
                    let (t, rest) = updu.split_at_checked(2).ok_or(Error::Malformed)?;
                    updu = rest;
                    let half_seconds = u16::from_be_bytes([
                        t.first().copied().unwrap_or(0),
                        t.get(1).copied().unwrap_or(0),
                    ]);
                    Some((flags & 0x0F, half_seconds))
                } else {
                    None
                };
                Ok(Spdu::Data(DataSpdu {
                    header,
                    confirm: flags & 0x80 != 0,
                    ttd,
                    updu,
                }))
            }
            1 => Ok(Spdu::DeliveryConfirm { header, echo: rest }),
            2 => Ok(Spdu::DeliveryFail {
                header: SpduHeader {
                    priority: 0,
                    ..header
                },
                reason: header.priority,
                echo: rest,
            }),
            t => Err(Error::UnknownSpdu(t)),
        }
    }

    /// The number of bytes [`Spdu::emit`] writes.
    pub fn len(&self) -> usize {
        match self {
            Spdu::Data(d) => 3 + if d.ttd.is_some() { 2 } else { 0 } + d.updu.len(),
            Spdu::DeliveryConfirm { echo, .. } | Spdu::DeliveryFail { echo, .. } => 2 + echo.len(),
        }
    }

    /// Whether the S_PDU is empty; never, every S_PDU has a header.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the S_PDU at the start of `out`; returns its length.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, Error> {
        let len = self.len();
        let out = out
            .get_mut(..len)
            .ok_or(Error::Wire(wire::Error::BufferTooSmall))?;
        let (header, spdu_type, fixed, tail): (SpduHeader, u8, heapless::Vec<u8, 4>, &[u8]) =
            match self {
                Spdu::Data(d) => {
                    let mut fixed = heapless::Vec::new();
                    let ttd_flag = if d.ttd.is_some() { 0x40 } else { 0 };
                    let day = d.ttd.map_or(0, |(day, _)| day & 0x0F);
                    push(&mut fixed, u8::from(d.confirm) << 7 | ttd_flag | day)?;
                    if let Some((_, half_seconds)) = d.ttd {
                        for b in half_seconds.to_be_bytes() {
                            push(&mut fixed, b)?;
                        }
                    }
                    (d.header, 0, fixed, d.updu)
                }
                Spdu::DeliveryConfirm { header, echo } => (*header, 1, heapless::Vec::new(), echo),
                Spdu::DeliveryFail {
                    header,
                    reason,
                    echo,
                } => {
                    if *reason > 0x0F {
                        return Err(Error::Malformed);
                    }
                    let header = SpduHeader {
                        priority: *reason,
                        ..*header
                    };
                    (header, 2, heapless::Vec::new(), echo)
                }
            };
        header.check()?;
        let head = header.bytes(spdu_type);
        let mut at = 0;
        for part in [&head[..], &fixed[..], tail] {
            out.get_mut(at..at + part.len())
                .ok_or(Error::Wire(wire::Error::BufferTooSmall))?
                .copy_from_slice(part);
            at += part.len();
        }
        Ok(at)
    }
}

fn push<const N: usize>(v: &mut heapless::Vec<u8, N>, b: u8) -> Result<(), Error> {
    v.push(b).map_err(|_| Error::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_spdu_round_trips_with_and_without_ttd() {
        let header = SpduHeader {
            priority: 9,
            src_sap: 3,
            dest_sap: 12,
        };
        for ttd in [None, Some((5u8, 43_199u16))] {
            let cpdu = Cpdu::Data(Spdu::Data(DataSpdu {
                header,
                confirm: true,
                ttd,
                updu: b"revocation",
            }));
            let mut buf = [0u8; 64];
            let n = cpdu.emit(&mut buf).unwrap();
            assert_eq!(buf[0], 0x00);
            assert_eq!(buf[1], 0x09, "S_PDU type 0, priority 9");
            assert_eq!(buf[2], 0x3C, "source SAP 3, destination SAP 12");
            assert_eq!(Cpdu::parse(&buf[..n]).unwrap(), cpdu);
        }
    }

    /// The annex's byte layouts (docs/reference: stanag5066.md), each encoded and decoded.
    #[test]
    fn spdus_match_the_annex_byte_for_byte() {
        let header = SpduHeader {
            priority: 5,
            src_sap: 2,
            dest_sap: 13,
        };
        let mut buf = [0u8; 32];
        let vectors: [(Spdu<'_>, &[u8]); 5] = [
            // Priority 5, SAP 2 -> 13, no confirm, no TTD.
            (
                Spdu::Data(DataSpdu {
                    header,
                    confirm: false,
                    ttd: None,
                    updu: b"X",
                }),
                &[0x05, 0x2D, 0x00, b'X'],
            ),
            // Client confirm, VALID TTD on day 9 at 13:00:01 GMT (46,801 s: 23,400 two-second
            // units, 0x5B68): two TTD bytes, and the data untouched after them.
            (
                Spdu::Data(DataSpdu {
                    header,
                    confirm: true,
                    ttd: Some((9, 23_400)),
                    updu: b"TTD-FROM-X",
                }),
                &[
                    0x05, 0x2D, 0xC9, 0x5B, 0x68, b'T', b'T', b'D', b'-', b'F', b'R', b'O', b'M',
                    b'-', b'X',
                ],
            ),
            // A confirm keeps the DATA S_PDU's SAP byte as it was (not swapped).
            (
                Spdu::DeliveryConfirm {
                    header,
                    echo: b"TT",
                },
                &[0x15, 0x2D, b'T', b'T'],
            ),
            // A fail carries its reason in the low nibble of byte 0.
            (
                Spdu::DeliveryFail {
                    header: SpduHeader {
                        priority: 0,
                        ..header
                    },
                    reason: fail::SAP_NOT_BOUND,
                    echo: b"TT",
                },
                &[0x21, 0x2D, b'T', b'T'],
            ),
            (Spdu::DeliveryConfirm { header, echo: &[] }, &[0x15, 0x2D]),
        ];
        for (spdu, bytes) in vectors {
            let n = spdu.emit(&mut buf).unwrap();
            assert_eq!(&buf[..n], bytes, "{spdu:?}");
            assert_eq!(Spdu::parse(bytes).unwrap(), spdu);
        }
        // A TTD flag with one byte after it is malformed, not a short U_PDU.
        assert_eq!(
            Spdu::parse(&[0x05, 0x2D, 0x40, 0x01]),
            Err(Error::Malformed)
        );
        // CAS reasons in the low nibble: REJECTED unknown, BREAK no more data.
        assert_eq!(Cpdu::LinkRejected(reason::UNKNOWN).emit(&mut buf), Ok(1));
        assert_eq!(buf[0], 0x30);
        assert_eq!(
            Cpdu::LinkBreak(reason::BREAK_NO_MORE_DATA).emit(&mut buf),
            Ok(1)
        );
        assert_eq!(buf[0], 0x44);
    }

    #[test]
    fn cas_cpdus_and_refusals() {
        let mut buf = [0u8; 4];
        for cpdu in [
            Cpdu::LinkRequest,
            Cpdu::LinkAccepted,
            Cpdu::LinkRejected(reason::UNKNOWN),
            Cpdu::LinkBreak(reason::BREAK_NO_MORE_DATA),
            Cpdu::LinkBreakConfirm,
        ] {
            let n = cpdu.emit(&mut buf).unwrap();
            assert_eq!(Cpdu::parse(&buf[..n]).unwrap(), cpdu);
        }
        assert_eq!(Cpdu::parse(&[0x90]), Err(Error::UnknownCpdu(9)));
        assert_eq!(Cpdu::parse(&[]), Err(Error::Malformed));
        assert_eq!(Cpdu::parse(&[0x00, 0x70, 0x11]), Err(Error::UnknownSpdu(7)));
        let bad = Spdu::DeliveryConfirm {
            header: SpduHeader {
                priority: 16,
                ..SpduHeader::default()
            },
            echo: &[],
        };
        assert_eq!(bad.emit(&mut buf), Err(Error::Priority));
    }
}
