use super::*;
use proptest::prelude::*;
use std::vec;
use std::vec::Vec;

fn addr(v: u32) -> SisAddress {
    SisAddress::node(Address::new(v).unwrap())
}

fn frame(p: &Primitive<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; p.frame_len()];
    let n = p.emit(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

#[test]
fn bind_request_bytes_follow_annex_a() {
    // SAP 5 rank 0; ARQ, client confirm, in order, 3 retransmissions.
    let p = Primitive::BindRequest {
        sap: 5,
        rank: 0,
        service: ServiceType {
            tx_mode: tx_mode::ARQ,
            confirm: confirm::CLIENT,
            in_order: true,
            extended: false,
            min_retransmissions: 3,
        },
    };
    assert_eq!(
        frame(&p),
        [0x90, 0xEB, 0x00, 0x00, 0x04, 0x01, 0x50, 0x18, 0x30]
    );
}

#[test]
fn unidata_request_bytes_follow_annex_a() {
    let p = Primitive::UnidataRequest {
        expedited: false,
        request: UnidataRequest {
            priority: 7,
            dest_sap: 5,
            dest: addr(0x0000_0102),
            service: ServiceType::arq(confirm::NODE, false),
            ttl: 0x12345,
            updu: b"hi",
        },
    };
    let bytes = frame(&p);
    assert_eq!(
        bytes,
        [
            0x90, 0xEB, 0x00, 0x00, 0x0E, // header: 14 bytes follow, big-endian
            20, 0x75, // type, priority 7 | SAP 5
            0xE0, 0x00, 0x01, 0x02, // 7 nibbles, not a group, 0.0.1.2
            0x16, 0x01, 0x23, 0x45, // ARQ, node confirm, as they arrive | TTL 0x12345
            0x00, 0x02, b'h', b'i',
        ]
    );
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Primitive::parse_packet(&packet).unwrap(), p);
}

/// The node-to-client primitives the reference lays out (shared/reference/stanag5066.md,
/// "SIS over TCP (Annex A)"), byte by byte: S_BIND_ACCEPTED, S_UNIDATA_INDICATION (ARQ; non-ARQ
/// with errors and its block lists; expedited), S_UNIDATA_REQUEST_CONFIRM and _REJECTED and
/// their expedited forms. Each encoded, and its body decoded back.
#[test]
fn node_to_client_primitives_follow_annex_a() {
    let (to, from) = (addr(0x0102), addr(2));
    let indication = |tx_mode, blocks, updu| UnidataIndication {
        priority: 7,
        dest_sap: 5,
        dest: to,
        tx_mode,
        src_sap: 13,
        src: from,
        blocks,
        updu,
    };
    // Mode 3: one error block (pointer 1, size 2), no missing blocks.
    let blocks: &[u8] = &[0x00, 0x01, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00];
    let report = |reason| UnidataReport {
        reason,
        sap: 5,
        dest: to,
        updu: b"hi",
    };
    let to_bytes = [0xE0, 0x00, 0x01, 0x02];
    let from_bytes = [0xE0, 0x00, 0x00, 0x02];
    let body = |head: &[u8], tail: &[&[u8]]| {
        let mut b = head.to_vec();
        for t in tail {
            b.extend_from_slice(t);
        }
        b
    };
    let cases = [
        (
            Primitive::BindAccepted { sap: 5, mtu: 2048 },
            vec![3, 0x50, 0x08, 0x00],
        ),
        (
            Primitive::UnidataIndication {
                expedited: false,
                indication: indication(tx_mode::ARQ, &[], b"ok"),
            },
            body(
                &[21, 0x75],
                &[&to_bytes, &[0x1D], &from_bytes, &[0, 2], b"ok"],
            ),
        ),
        (
            Primitive::UnidataIndication {
                expedited: false,
                indication: indication(tx_mode::NON_ARQ_WITH_ERRORS, blocks, b"ok"),
            },
            body(
                &[21, 0x75],
                &[&to_bytes, &[0x3D], &from_bytes, &[0, 2], blocks, b"ok"],
            ),
        ),
        (
            Primitive::UnidataIndication {
                expedited: true,
                indication: UnidataIndication {
                    priority: 0,
                    ..indication(tx_mode::ARQ, &[], b"ok")
                },
            },
            body(
                &[25, 0x05],
                &[&to_bytes, &[0x1D], &from_bytes, &[0, 2], b"ok"],
            ),
        ),
        (
            Primitive::UnidataConfirm {
                expedited: false,
                report: report(0),
            },
            body(&[22, 0x05], &[&to_bytes, &[0, 2], b"hi"]),
        ),
        (
            Primitive::UnidataRejected {
                expedited: false,
                report: report(rejected::TOO_LARGE),
            },
            body(&[23, 0x45], &[&to_bytes, &[0, 2], b"hi"]),
        ),
        (
            Primitive::UnidataConfirm {
                expedited: true,
                report: report(0),
            },
            body(&[26, 0x05], &[&to_bytes, &[0, 2], b"hi"]),
        ),
        (
            Primitive::UnidataRejected {
                expedited: true,
                report: report(rejected::SAP_NOT_BOUND),
            },
            body(&[27, 0x25], &[&to_bytes, &[0, 2], b"hi"]),
        ),
    ];
    for (p, body) in cases {
        let mut expected = vec![0x90, 0xEB, 0x00];
        expected.extend_from_slice(&(body.len() as u16).to_be_bytes());
        expected.extend_from_slice(&body);
        assert_eq!(frame(&p), expected, "{p:?} encoded");
        assert_eq!(Primitive::parse(&body).unwrap(), p, "{body:02X?} decoded");
    }
}

#[test]
fn broadcast_is_31_255_255_255() {
    assert_eq!(SisAddress::BROADCAST.to_bytes(), [0xFF, 0xFF, 0xFF, 0xFF]);
    assert_eq!(
        SisAddress::from_bytes([0x1F, 0xFF, 0xFF, 0xFF]),
        SisAddress::BROADCAST
    );
}

#[test]
fn framing_errors_are_typed() {
    assert_eq!(frame_len(&[]), Ok(None));
    assert_eq!(frame_len(&[0x90]), Ok(None));
    assert_eq!(frame_len(&[0x91]), Err(Error::BadPreamble));
    assert_eq!(
        frame_len(&[0x90, 0xEB, 0x01, 0, 1]),
        Err(Error::BadVersion(1))
    );
    assert_eq!(frame_len(&[0x90, 0xEB, 0, 0, 0]), Err(Error::Empty));
    assert_eq!(frame_len(&[0x90, 0xEB, 0, 0x01, 0x00]), Ok(Some(261)));
    assert_eq!(
        Packet::new_checked(&[0x90, 0xEB, 0, 0, 2, 17][..]),
        Err(Error::Truncated)
    );
    assert_eq!(Primitive::parse(&[0]), Err(Error::UnknownType(0)));
    assert_eq!(Primitive::parse(&[28]), Err(Error::UnknownType(28)));
    assert_eq!(Primitive::parse(&[17, 0]), Err(Error::Trailing));
    assert_eq!(Primitive::parse(&[1, 0x50]), Err(Error::Truncated));
    assert_eq!(Primitive::parse(&[]), Err(Error::Empty));
}

#[test]
fn old_stacks_padding_after_the_size_is_skipped() {
    let mut body = vec![21, 0x75, 0xE0, 0, 0, 1, 0x1D, 0xE0, 0, 0, 2, 0, 2];
    body.extend([0, 0, 0, 0]);
    body.extend(b"ok");
    let Primitive::UnidataIndication { indication, .. } = Primitive::parse(&body).unwrap() else {
        panic!("not an indication");
    };
    assert_eq!(indication.updu, b"ok");
    assert_eq!(indication.src_sap, 13);
    assert_eq!(indication.src, addr(2));
}

#[test]
fn emit_refuses_values_that_do_not_fit() {
    let mut buf = [0u8; 64];
    let bad_sap = Primitive::BindAccepted { sap: 16, mtu: 2048 };
    assert_eq!(bad_sap.emit(&mut buf), Err(Error::FieldOutOfRange));
    let long_ttl = Primitive::UnidataRequest {
        expedited: false,
        request: UnidataRequest {
            priority: 0,
            dest_sap: 0,
            dest: addr(1),
            service: ServiceType::default(),
            ttl: MAX_TTL + 1,
            updu: &[],
        },
    };
    assert_eq!(long_ttl.emit(&mut buf), Err(Error::FieldOutOfRange));
    assert_eq!(
        Primitive::KeepAlive.emit(&mut buf[..5]),
        Err(Error::BufferTooSmall)
    );
}

/// Owned material for a primitive, so proptest can generate borrowed ones.
#[derive(Clone, Debug)]
struct Material {
    kind: u8,
    a: u8,
    b: u8,
    c: u8,
    d: u8,
    flag: bool,
    x: u32,
    y: u32,
    service: ServiceType,
    ttl: u32,
    blocks: Vec<u8>,
    data: Vec<u8>,
}

fn service() -> impl Strategy<Value = ServiceType> {
    (0u8..16, 0u8..4, any::<bool>(), any::<bool>(), 0u8..16).prop_map(|(m, c, o, e, r)| {
        ServiceType {
            tx_mode: m,
            confirm: c,
            in_order: o,
            extended: e,
            min_retransmissions: r,
        }
    })
}

fn material() -> impl Strategy<Value = Material> {
    let blocks = (0u16..3, 0u16..3).prop_flat_map(|(e, n)| {
        proptest::collection::vec(any::<u8>(), usize::from(e + n) * 4).prop_map(move |pairs| {
            let mut out = vec![];
            out.extend(e.to_be_bytes());
            out.extend(&pairs[..usize::from(e) * 4]);
            out.extend(n.to_be_bytes());
            out.extend(&pairs[usize::from(e) * 4..]);
            out
        })
    });
    (
        (
            1u8..28,
            0u8..16,
            0u8..16,
            any::<u8>(),
            any::<u8>(),
            any::<bool>(),
        ),
        (
            0..=Address::MAX_VALUE,
            0..=Address::MAX_VALUE,
            service(),
            0..=MAX_TTL,
        ),
        blocks,
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(
            |((kind, a, b, c, d, flag), (x, y, service, ttl), blocks, data)| Material {
                kind,
                a,
                b,
                c,
                d,
                flag,
                x,
                y,
                service,
                ttl,
                blocks,
                data,
            },
        )
}

impl Material {
    fn primitive(&self) -> Primitive<'_> {
        let dest = SisAddress {
            address: Address::new(self.x).unwrap(),
            group: self.flag,
        };
        let src = addr(self.y);
        let expedited = self.flag;
        match self.kind {
            1 => Primitive::BindRequest {
                sap: self.a,
                rank: self.b,
                service: self.service,
            },
            2 => Primitive::UnbindRequest,
            3 => Primitive::BindAccepted {
                sap: self.a,
                mtu: u16::from_be_bytes([self.c, self.d]),
            },
            4 => Primitive::BindRejected { reason: self.c },
            5 => Primitive::UnbindIndication { reason: self.c },
            k @ 6..=13 => Primitive::HardLink(HardLink {
                kind: k,
                code: if HardLink::has_code(k) { self.c } else { 0 },
                params: if HardLink::has_params(k) { self.d } else { 0 },
                remote: dest,
            }),
            14 => Primitive::SubnetAvailability {
                status: self.c,
                reason: self.d,
            },
            15 => Primitive::DataflowOn,
            16 => Primitive::DataflowOff,
            17 => Primitive::KeepAlive,
            18 | 19 => Primitive::Management {
                indication: self.kind == 19,
                message_type: self.c,
                body: &self.data,
            },
            20 | 24 => Primitive::UnidataRequest {
                expedited: self.kind == 24,
                request: UnidataRequest {
                    priority: if self.kind == 24 { 0 } else { self.a },
                    dest_sap: self.b,
                    dest,
                    service: self.service,
                    ttl: self.ttl,
                    updu: &self.data,
                },
            },
            21 | 25 => {
                let mode = self.service.tx_mode;
                Primitive::UnidataIndication {
                    expedited: self.kind == 25,
                    indication: UnidataIndication {
                        priority: if self.kind == 25 { 0 } else { self.a },
                        dest_sap: self.b,
                        dest,
                        tx_mode: mode,
                        src_sap: self.a,
                        src,
                        blocks: if mode == tx_mode::NON_ARQ_WITH_ERRORS {
                            &self.blocks
                        } else {
                            &[]
                        },
                        updu: &self.data,
                    },
                }
            }
            22 | 26 => Primitive::UnidataConfirm {
                expedited,
                report: UnidataReport {
                    reason: 0,
                    sap: self.b,
                    dest,
                    updu: &self.data,
                },
            },
            _ => Primitive::UnidataRejected {
                expedited,
                report: UnidataReport {
                    reason: self.a,
                    sap: self.b,
                    dest,
                    updu: &self.data,
                },
            },
        }
    }
}

proptest! {
    #[test]
    fn every_primitive_round_trips(m in material()) {
        let p = m.primitive();
        let bytes = frame(&p);
        prop_assert_eq!(frame_len(&bytes), Ok(Some(bytes.len())));
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        prop_assert_eq!(Primitive::parse_packet(&packet).unwrap(), p);
        // Every cut short body is refused, never misread (a management body has no length
        // of its own: only its type byte is required).
        let fixed = if matches!(p, Primitive::Management { .. }) { 2 } else { packet.body().len() };
        for cut in 0..fixed {
            prop_assert!(Primitive::parse(&packet.body()[..cut]).is_err());
        }
    }

    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = frame_len(&bytes);
        let view = Packet::new_unchecked(&bytes[..]);
        let _ = (view.preamble(), view.version(), view.size(), view.body());
        if let Ok(p) = Primitive::parse(&bytes) {
            let again = frame(&p);
            prop_assert_eq!(Primitive::parse(&again[HEADER_LEN..]).unwrap(), p);
        }
    }
}
