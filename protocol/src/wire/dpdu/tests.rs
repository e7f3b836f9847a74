//! D_PDU layouts against the standard's vectors, CRCs, and refusals of what does not fit.

use super::*;
use crate::wire::crc::header_crc;
use std::vec;
use std::vec::Vec;

const WARNING_VECTOR: [u8; 11] = [
    0x90, 0xEB, 0xF0, 0x00, 0x00, 0x47, 0x05, 0x64, 0x02, 0x5F, 0x1E,
];

fn addr(v: u32) -> Address {
    Address::new(v).unwrap()
}

fn emit(dpdu: &Dpdu<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; dpdu.buffer_len()];
    let n = dpdu.emit(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    buf
}

#[test]
fn standard_vector_warning_parses() {
    let frame = Frame::new_checked(&WARNING_VECTOR).unwrap();
    assert_eq!(frame.address_size(), 2);
    assert_eq!(frame.header_size(), 7);
    assert_eq!(frame.frame_len(), 11);
    assert_eq!(frame.header_crc(), 0x1E5F);
    assert!(frame.header_crc_ok());
    let dpdu = Dpdu::parse(&frame).unwrap();
    assert_eq!(dpdu.dest, addr(5));
    assert_eq!(dpdu.src, addr(0x64));
    assert_eq!(
        dpdu.body,
        Body::Warning(Warning {
            received_type: 0,
            reason: 2
        })
    );
}

#[test]
fn standard_vector_warning_emits_identically() {
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 0,
        dest: addr(5),
        src: addr(0x64),
        body: Body::Warning(Warning {
            received_type: 0,
            reason: 2,
        }),
    };
    assert_eq!(emit(&dpdu), WARNING_VECTOR);
}

#[test]
fn data_only_layout_and_crc32() {
    let payload = [0xAAu8; 300];
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 10,
        dest: addr(0x12),
        src: addr(0x3),
        body: Body::DataOnly(ArqData {
            flags: ArqFlags {
                cpdu_start: true,
                cpdu_end: true,
                deliver_in_order: true,
                ..ArqFlags::default()
            },
            tx_seq: 200,
            segment: &payload,
        }),
    };
    let bytes = emit(&dpdu);
    // m = 2, h = 9.
    assert_eq!(bytes[5], 2 << 5 | 9);
    // Flags 0xE0 | size high bits 01, size low 0x2C (300 = 0x12C), sequence 200.
    assert_eq!(&bytes[8..11], &[0xE1, 0x2C, 200]);
    assert_eq!(bytes.len(), 2 + 2 + 9 + 300 + 4);
    let crc = data_crc(&payload).to_le_bytes();
    assert_eq!(&bytes[bytes.len() - 4..], &crc);
    let frame = Frame::new_checked(&bytes).unwrap();
    assert_eq!(Dpdu::parse(&frame).unwrap(), dpdu);
}

#[test]
fn selective_ack_bits_count_up_from_lwe_plus_one() {
    let mut ack = SelectiveAck::new(250);
    ack.set(251).unwrap();
    ack.set(4).unwrap(); // 250 + 1 + 9 wraps to 4: bit 9.
    assert_eq!(ack.bitmap(), &[0x01, 0x02]);
    assert!(ack.acknowledges(251));
    assert!(ack.acknowledges(4));
    assert!(!ack.acknowledges(252));
    assert!(!ack.acknowledges(250));
    assert!(ack.acknowledges(249));
    assert_eq!(
        SelectiveAck::new(0).set(130),
        Err(Error::FieldOutOfRange(Field::AckBitmap))
    );
}

#[test]
fn data_crc_damage_is_reported_with_header_intact() {
    let payload = [1u8, 2, 3, 4];
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 0,
        dest: addr(1),
        src: addr(2),
        body: Body::NonArqData(NonArqData {
            cpdu_id: 0xABC,
            deliver_in_order: false,
            group: true,
            cpdu_size: 4,
            segment_offset: 0,
            reception_window: 20,
            segment: &payload,
        }),
    };
    let mut bytes = emit(&dpdu);
    let last_data = bytes.len() - 5;
    bytes[last_data] ^= 0x40;
    let frame = Frame::new_checked(&bytes).unwrap();
    assert!(frame.header_crc_ok());
    assert!(!frame.data_crc_ok());
    assert_eq!(Dpdu::parse(&frame), Err(Error::DataCrc));
    let header_only = Dpdu::parse_ignoring_data_crc(&frame).unwrap();
    assert!(matches!(header_only.body, Body::NonArqData(d) if d.cpdu_id == 0xABC));
}

#[test]
fn wrong_header_sizes_and_reserved_types_are_refused() {
    let mut bytes = WARNING_VECTOR;
    // Claim type 9 (reserved) and fix the CRC so only the type is wrong.
    bytes[2] = 0x90;
    let crc = header_crc(&bytes[2..9]).to_le_bytes();
    bytes[9..11].copy_from_slice(&crc);
    let frame = Frame::new_checked(&bytes).unwrap();
    assert_eq!(Dpdu::parse(&frame), Err(Error::UnknownType(9)));

    // A DATA-ONLY type nibble with the WARNING's 1-byte type header.
    let mut bytes = WARNING_VECTOR.to_vec();
    bytes[2] = 0x00;
    assert!(Frame::new_checked(&bytes).is_err());
}

#[test]
fn emit_refuses_values_that_do_not_fit() {
    let big = [0u8; MAX_SEGMENT_LEN + 1];
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 0,
        dest: addr(1),
        src: addr(2),
        body: Body::DataOnly(ArqData {
            flags: ArqFlags::default(),
            tx_seq: 0,
            segment: &big,
        }),
    };
    let mut buf = vec![0u8; 2000];
    assert_eq!(
        dpdu.emit(&mut buf),
        Err(Error::FieldOutOfRange(Field::SegmentLen))
    );
    let small = Dpdu {
        body: Body::Warning(Warning::default()),
        ..dpdu
    };
    assert_eq!(small.emit(&mut buf[..5]), Err(Error::BufferTooSmall));
}
