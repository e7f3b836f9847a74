//! Annex C conformance: one vector per D_PDU type and field variant, its bytes written out by
//! hand from the annex layout (shared/reference/stanag5066.md, "D_PDU (Annex C)"), each both
//! encoded (Skywave writes exactly these bytes) and decoded (Skywave reads them back into the
//! same fields). Only the two CRCs are computed, with the functions the standard's own
//! vectors check (`wire::crc` tests and `standard_vector_*` in `wire::dpdu`).
//!
//! Every vector goes from node 2 to node 3: m = 1 byte of address field, its first nibble the
//! destination and its second the source (`0x32`).

use skywave_protocol::link::pdu::reason;
use skywave_protocol::link::{Cpdu, DataSpdu, Spdu, SpduHeader};
use skywave_protocol::wire::crc::{data_crc, header_crc};
use skywave_protocol::wire::{
    Address, ArqData, ArqFlags, Body, Dpdu, Eow, ExpeditedData, Frame, NonArqData, Reset,
    SelectiveAck, Warning,
};

/// D_PDU bytes from the annex layout: sync `90 EB`, type and EOW type, EOW data, EOT,
/// m (3 bits) and h (5 bits), the address field, the type-specific header, the header CRC
/// (low byte first), then the data and its CRC-32 (low byte first) when there is data.
fn annex_frame(dpdu_type: u8, eot: u8, specific: &[u8], data: Option<&[u8]>) -> Vec<u8> {
    // dest 0x3, src 0x2: one nibble each, so m = 1 byte holding `3 2`.
    let address = [0x32];
    let m = address.len() as u8;
    let h = 4 + specific.len() as u8 + 2;
    let mut bytes = vec![0x90, 0xEB, dpdu_type << 4, 0x00, eot, m << 5 | h];
    bytes.extend_from_slice(&address);
    bytes.extend_from_slice(specific);
    let crc = header_crc(&bytes[2..]);
    bytes.extend_from_slice(&crc.to_le_bytes());
    if let Some(data) = data {
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(&data_crc(data).to_le_bytes());
    }
    bytes
}

fn dpdu(eot: u8, body: Body<'_>) -> Dpdu<'_> {
    Dpdu {
        eow: Eow::NONE,
        eot,
        dest: Address::new(3).unwrap(),
        src: Address::new(2).unwrap(),
        body,
    }
}

/// Skywave writes `expected` for `d`, and reads `expected` back as `d`.
fn check(name: &str, d: &Dpdu<'_>, expected: &[u8]) {
    let mut buf = vec![0u8; d.buffer_len()];
    let n = d
        .emit(&mut buf)
        .unwrap_or_else(|e| panic!("{name}: emit {e:?}"));
    assert_eq!(&buf[..n], expected, "{name}: encoded");
    let frame = Frame::new_checked(expected).unwrap_or_else(|e| panic!("{name}: frame {e:?}"));
    let parsed = Dpdu::parse(&frame).unwrap_or_else(|e| panic!("{name}: parse {e:?}"));
    assert_eq!(&parsed, d, "{name}: decoded");
}

const DATA: &[u8] = b"ANNEX-C";

#[test]
fn data_only_every_flag_and_a_ten_bit_size() {
    for (flag, bits) in [
        ("C_PDU START", 0x80),
        ("C_PDU END", 0x40),
        ("DELIVER IN ORDER", 0x20),
        ("DROP", 0x10),
        ("TX-WIN-UWE", 0x08),
        ("TX-WIN-LWE", 0x04),
    ] {
        let flags = ArqFlags {
            cpdu_start: bits == 0x80,
            cpdu_end: bits == 0x40,
            deliver_in_order: bits == 0x20,
            drop_cpdu: bits == 0x10,
            tx_win_uwe: bits == 0x08,
            tx_win_lwe: bits == 0x04,
        };
        let d = dpdu(
            9,
            Body::DataOnly(ArqData {
                flags,
                tx_seq: 0xA5,
                segment: DATA,
            }),
        );
        let specific = [bits, DATA.len() as u8, 0xA5];
        check(flag, &d, &annex_frame(0, 9, &specific, Some(DATA)));
    }
    // A 1023-byte segment: the size's top two bits sit in the flags byte.
    let long = [0x5A; 1023];
    let d = dpdu(
        0,
        Body::DataOnly(ArqData {
            flags: ArqFlags::default(),
            tx_seq: 0,
            segment: &long,
        }),
    );
    check(
        "1023-byte segment",
        &d,
        &annex_frame(0, 0, &[0x03, 0xFF, 0x00], Some(&long)),
    );
}

#[test]
fn ack_only_without_and_with_a_bitmap() {
    let d = dpdu(4, Body::AckOnly(SelectiveAck::new(0x10)));
    check("ACK-ONLY, no bitmap", &d, &annex_frame(1, 4, &[0x10], None));
    // Bit 0 of the first byte is RX LWE + 1: frames 0x11 and 0x18 received.
    let ack = SelectiveAck::with_bitmap(0x10, &[0x01, 0x80]).unwrap();
    let d = dpdu(4, Body::AckOnly(ack));
    check(
        "ACK-ONLY, 2-byte bitmap",
        &d,
        &annex_frame(1, 4, &[0x10, 0x01, 0x80], None),
    );
}

#[test]
fn data_ack_carries_the_data_fields_then_the_acknowledgement() {
    let ack = SelectiveAck::with_bitmap(0x40, &[0x03]).unwrap();
    let data = ArqData {
        flags: ArqFlags {
            cpdu_start: true,
            cpdu_end: true,
            ..ArqFlags::default()
        },
        tx_seq: 7,
        segment: DATA,
    };
    let d = dpdu(2, Body::DataAck(data, ack));
    let specific = [0xC0, DATA.len() as u8, 7, 0x40, 0x03];
    check("DATA-ACK", &d, &annex_frame(2, 2, &specific, Some(DATA)));
}

#[test]
fn reset_win_resync_each_flag_in_the_low_nibble() {
    for (name, bits) in [
        ("FULL RESET CMND", 0x08),
        ("RESET TX WIN RQST", 0x04),
        ("RESET RX WIN CMND", 0x02),
        ("RESET ACK", 0x01),
    ] {
        let r = Reset {
            full_reset: bits == 0x08,
            tx_win_request: bits == 0x04,
            rx_win_command: bits == 0x02,
            reset_ack: bits == 0x01,
            new_rx_lwe: 0x21,
            reset_frame_id: 0x9C,
        };
        let d = dpdu(1, Body::ResetWinResync(r));
        check(name, &d, &annex_frame(3, 1, &[bits, 0x21, 0x9C], None));
    }
}

#[test]
fn expedited_data_only_and_ack_only() {
    let d = dpdu(
        3,
        Body::ExpeditedDataOnly(ExpeditedData {
            cpdu_start: true,
            cpdu_end: false,
            cpdu_id: 0x0B,
            tx_seq: 0x33,
            segment: DATA,
        }),
    );
    // START 0x80, C_PDU ID 11 in mask 0x3C, then the size and the sequence number.
    let specific = [0x80 | 0x0B << 2, DATA.len() as u8, 0x33];
    check(
        "EXPEDITED DATA-ONLY",
        &d,
        &annex_frame(4, 3, &specific, Some(DATA)),
    );
    let ack = SelectiveAck::with_bitmap(0x05, &[0x02]).unwrap();
    let d = dpdu(3, Body::ExpeditedAckOnly(ack));
    check(
        "EXPEDITED ACK-ONLY",
        &d,
        &annex_frame(5, 3, &[0x05, 0x02], None),
    );
}

#[test]
fn non_arq_and_expedited_non_arq_every_field() {
    for (name, dpdu_type, group, in_order) in [
        ("NON-ARQ", 7u8, false, false),
        ("NON-ARQ, GROUP", 7, true, false),
        ("NON-ARQ, DELIVER IN ORDER", 7, false, true),
        ("EXPEDITED NON-ARQ", 8, false, false),
    ] {
        let d = NonArqData {
            cpdu_id: 0xABC,
            deliver_in_order: in_order,
            group,
            cpdu_size: 0x0456,
            segment_offset: 0x0123,
            reception_window: 0x00F0,
            segment: DATA,
        };
        let body = if dpdu_type == 7 {
            Body::NonArqData(d)
        } else {
            Body::ExpeditedNonArqData(d)
        };
        let first = 0xA0 | u8::from(in_order) << 3 | u8::from(group) << 2;
        let specific = [
            first,
            DATA.len() as u8,
            0xBC,
            0x04,
            0x56,
            0x01,
            0x23,
            0x00,
            0xF0,
        ];
        check(
            name,
            &dpdu(6, body),
            &annex_frame(dpdu_type, 6, &specific, Some(DATA)),
        );
    }
}

#[test]
fn warning_received_type_and_reason() {
    let w = Warning {
        received_type: 8,
        reason: Warning::INVALID_FOR_STATE,
    };
    check(
        "WARNING",
        &dpdu(0, Body::Warning(w)),
        &annex_frame(15, 0, &[0x83], None),
    );
}

/// Annex B: the C_PDU's type in byte 0's high nibble, CAS reasons in its low nibble, and a
/// DATA C_PDU's S_PDU right after its type byte.
#[test]
fn cpdus_every_type_and_reason() {
    let mut vectors: Vec<(Cpdu<'_>, Vec<u8>)> = vec![
        (Cpdu::LinkRequest, vec![0x10]),
        (Cpdu::LinkAccepted, vec![0x20]),
        (Cpdu::LinkBreakConfirm, vec![0x50]),
    ];
    for r in [
        reason::UNKNOWN,
        reason::REJECT_BROADCAST_ONLY,
        reason::REJECT_HIGHER_PRIORITY_PENDING,
        reason::REJECT_EXCLUSIVE_LINK,
    ] {
        vectors.push((Cpdu::LinkRejected(r), vec![0x30 | r]));
    }
    for r in [
        reason::UNKNOWN,
        reason::BREAK_HIGHER_LAYER,
        reason::BREAK_BROADCAST_SESSION,
        reason::BREAK_HIGHER_PRIORITY_PENDING,
        reason::BREAK_NO_MORE_DATA,
    ] {
        vectors.push((Cpdu::LinkBreak(r), vec![0x40 | r]));
    }
    let header = SpduHeader {
        priority: 5,
        src_sap: 2,
        dest_sap: 13,
    };
    let data = Spdu::Data(DataSpdu {
        header,
        confirm: false,
        ttd: None,
        updu: b"X",
    });
    vectors.push((Cpdu::Data(data), vec![0x00, 0x05, 0x2D, 0x00, b'X']));
    let mut buf = [0u8; 16];
    for (cpdu, bytes) in vectors {
        let n = cpdu.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &bytes[..], "{cpdu:?} encoded");
        assert_eq!(Cpdu::parse(&bytes).unwrap(), cpdu, "{bytes:02X?} decoded");
    }
}
