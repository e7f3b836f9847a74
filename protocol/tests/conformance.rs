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
    Address, ArqData, ArqFlags, Body, Dpdu, Eow, ExpeditedData, Frame, Management, NonArqData,
    Reset, SelectiveAck, Warning,
};

/// D_PDU bytes from the annex layout: sync `90 EB`, type and EOW type, EOW data, EOT,
/// m (3 bits) and h (5 bits), the address field, the type-specific header, the header CRC
/// (low byte first), then the data and its CRC-32 (low byte first) when there is data.
fn annex_frame(dpdu_type: u8, eot: u8, specific: &[u8], data: Option<&[u8]>) -> Vec<u8> {
    // dest 0x3, src 0x2: one nibble each, so m = 1 byte holding `3 2`.
    annex_frame_with(&[0x32], (0, 0), dpdu_type, eot, specific, data)
}

/// [`annex_frame`] with another address field (`m` = its length) and EOW (type, data).
fn annex_frame_with(
    address: &[u8],
    (eow_type, eow_data): (u8, u8),
    dpdu_type: u8,
    eot: u8,
    specific: &[u8],
    data: Option<&[u8]>,
) -> Vec<u8> {
    let m = address.len() as u8;
    let h = 4 + specific.len() as u8 + 2;
    let mut bytes = vec![
        0x90,
        0xEB,
        dpdu_type << 4 | eow_type,
        eow_data,
        eot,
        m << 5 | h,
    ];
    bytes.extend_from_slice(address);
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
    // The link-type bits in a request's low nibble are read and not honoured (docs/link.md:
    // Annex B's link types are not implemented): any request is one for a plain link.
    for nibble in 1..=0x0F {
        assert_eq!(Cpdu::parse(&[0x10 | nibble]).unwrap(), Cpdu::LinkRequest);
    }
    for (cpdu, bytes) in vectors {
        let n = cpdu.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &bytes[..], "{cpdu:?} encoded");
        assert_eq!(Cpdu::parse(&bytes).unwrap(), cpdu, "{bytes:02X?} decoded");
    }
}

/// MANAGEMENT (type 6): EXTENDED MESSAGE 0x04, VALID MESSAGE 0x02 and ACK 0x01 in the low bits
/// of the first byte, the management frame ID, then the extended message (h = 8 + its length).
/// The shared reference names the type but not its header; this layout is Wireshark's
/// (`tshark -G fields`, `s5066dts.management.*`), and `tshark_reads_every_vector_alike`
/// checks the two agree. The EOW field carries the management message itself.
fn management_vectors() -> Vec<(&'static str, Dpdu<'static>, Vec<u8>)> {
    static LONGEST: [u8; Management::MAX_EXTENDED_LEN] = [0xA5; Management::MAX_EXTENDED_LEN];
    let eow = Eow {
        eow_type: 1,
        data: 0x52,
    };
    [
        ("MANAGEMENT, VALID MESSAGE", 0x02, 7, &[][..]),
        ("MANAGEMENT, ACK", 0x01, 7, &[][..]),
        ("MANAGEMENT, EXTENDED", 0x06, 0x80, b"EXT-MSG"),
        (
            "MANAGEMENT, longest extended message",
            0x04,
            0xFF,
            &LONGEST[..],
        ),
    ]
    .into_iter()
    .map(|(name, bits, frame_id, extended_message)| {
        let body = Body::Management(Management {
            extended: bits & 0x04 != 0,
            valid: bits & 0x02 != 0,
            ack: bits & 0x01 != 0,
            frame_id,
            extended_message,
        });
        let d = Dpdu {
            eow,
            ..dpdu(5, body)
        };
        let mut specific = vec![bits, frame_id];
        specific.extend_from_slice(extended_message);
        let bytes = annex_frame_with(&[0x32], (1, 0x52), 6, 5, &specific, None);
        (name, d, bytes)
    })
    .collect()
}

#[test]
fn management_every_flag_and_an_extended_message() {
    for (name, d, bytes) in management_vectors() {
        check(name, &d, &bytes);
    }
}

/// Address fields of every size the annex allows, m = 1..7 bytes: the first m nibbles the
/// destination, the next m the source, each most significant nibble first, leading zeros
/// kept to m nibbles (so an odd m shares a byte between the two). Carried on WARNING frames,
/// the broadcast on a GROUP non-ARQ frame.
fn address_vectors() -> Vec<(&'static str, Dpdu<'static>, Vec<u8>)> {
    let warning = Body::Warning(Warning {
        received_type: 0,
        reason: Warning::UNRECOGNISED_TYPE,
    });
    let mut vectors: Vec<(&'static str, Dpdu<'static>, Vec<u8>)> = [
        ("m = 1", 0x3, 0x2, &[0x32][..]),
        ("m = 2 (the standard's vector)", 0x05, 0x64, &[0x05, 0x64]),
        ("m = 3", 0x123, 0x456, &[0x12, 0x34, 0x56]),
        (
            "m = 4, short source",
            0x1234,
            0x3,
            &[0x12, 0x34, 0x00, 0x03],
        ),
        ("m = 5", 0x1_2345, 0xA_BCDE, &[0x12, 0x34, 0x5A, 0xBC, 0xDE]),
        (
            "m = 6",
            0x12_3456,
            0x65_4321,
            &[0x12, 0x34, 0x56, 0x65, 0x43, 0x21],
        ),
        (
            "m = 7, two 28-bit addresses",
            0xABC_DEF1,
            0x123_4567,
            &[0xAB, 0xCD, 0xEF, 0x11, 0x23, 0x45, 0x67],
        ),
    ]
    .into_iter()
    .map(|(name, dest, src, field)| {
        let d = Dpdu {
            dest: Address::new(dest).unwrap(),
            src: Address::new(src).unwrap(),
            ..dpdu(0, warning)
        };
        (
            name,
            d,
            annex_frame_with(field, (0, 0), 15, 0, &[0x00], None),
        )
    })
    .collect();
    let broadcast = NonArqData {
        cpdu_id: 1,
        deliver_in_order: false,
        group: true,
        cpdu_size: DATA.len() as u16,
        segment_offset: 0,
        reception_window: 240,
        segment: DATA,
    };
    let d = Dpdu {
        dest: Address::BROADCAST,
        ..dpdu(2, Body::NonArqData(broadcast))
    };
    let specific = [
        0x04,
        DATA.len() as u8,
        0x01,
        0x00,
        DATA.len() as u8,
        0,
        0,
        0,
        240,
    ];
    let field = [0xFF, 0xFF, 0xFF, 0xF0, 0x00, 0x00, 0x02];
    vectors.push((
        "m = 7, broadcast 31.255.255.255 (GROUP)",
        d,
        annex_frame_with(&field, (0, 0), 7, 2, &specific, Some(DATA)),
    ));
    vectors
}

#[test]
fn addresses_of_every_field_size() {
    for (name, d, bytes) in address_vectors() {
        assert_eq!(
            usize::from(d.address_size()),
            bytes[5] as usize >> 5,
            "{name}: m"
        );
        check(name, &d, &bytes);
    }
    // m = 0 leaves no room for either address: refused, not read as node 0.
    let bytes = annex_frame_with(&[], (0, 0), 15, 0, &[0x00], None);
    let parsed = Frame::new_checked(&bytes[..]).and_then(|f| Dpdu::parse(&f));
    assert!(parsed.is_err(), "m = 0 decoded as {parsed:?}");
}

/// The common header's other fields at their extremes: a non-zero EOW (type 4, capability,
/// in byte 2's low nibble; its data in byte 3), EOT 255 (127.5 s), and the longest
/// selective-ACK bitmap (16 bytes, h = 23) on ACK-ONLY and DATA-ACK.
fn header_vectors() -> Vec<(&'static str, Dpdu<'static>, Vec<u8>)> {
    static BITMAP: [u8; 16] = [
        0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0xFF, 0x00, 0x0F, 0xF0, 0x55, 0xAA, 0x3C,
        0xC3,
    ];
    let ack = SelectiveAck::with_bitmap(0xFE, &BITMAP).unwrap();
    let eow = Eow {
        eow_type: 4,
        data: 0x81,
    };
    let mut ack_only = vec![0xFE];
    ack_only.extend_from_slice(&BITMAP);
    let data = ArqData {
        flags: ArqFlags::default(),
        tx_seq: 0xFF,
        segment: DATA,
    };
    let mut data_ack = vec![0x00, DATA.len() as u8, 0xFF, 0xFE];
    data_ack.extend_from_slice(&BITMAP);
    vec![
        (
            "EOW capability, EOT 127.5 s, 16-byte bitmap",
            Dpdu {
                eow,
                ..dpdu(255, Body::AckOnly(ack))
            },
            annex_frame_with(&[0x32], (4, 0x81), 1, 255, &ack_only, None),
        ),
        (
            "DATA-ACK, 16-byte bitmap",
            dpdu(9, Body::DataAck(data, ack)),
            annex_frame(2, 9, &data_ack, Some(DATA)),
        ),
    ]
}

#[test]
fn eow_eot_and_the_longest_bitmap() {
    for (name, d, bytes) in header_vectors() {
        check(name, &d, &bytes);
    }
}

/// Wireshark's `s5066dts` dissector, an implementation written from the annex by others, reads
/// the vectors above as Skywave does: the same type, addresses and MANAGEMENT fields, with
/// correct CRCs and no complaint. Skipped (with a note) where tshark is missing, unless
/// SKYWAVE_REQUIRE_TOOLS=1.
#[test]
fn tshark_reads_every_vector_alike() {
    use skywave_protocol::capture::{Timestamp, file_header, record_header};
    use std::process::Command;
    if !Command::new("tshark")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(
            std::env::var_os("SKYWAVE_REQUIRE_TOOLS").is_none(),
            "tshark is required"
        );
        eprintln!("tshark not installed: vector check skipped");
        return;
    }
    let vectors: Vec<_> = management_vectors()
        .into_iter()
        .chain(address_vectors())
        .chain(header_vectors())
        .collect();
    let mut pcap = file_header().to_vec();
    for (i, (_, _, bytes)) in vectors.iter().enumerate() {
        let ts = Timestamp {
            secs: i as u32,
            micros: 0,
        };
        pcap.extend_from_slice(&record_header(ts, bytes.len() as u32));
        pcap.extend_from_slice(bytes);
    }
    let file = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance.pcap");
    std::fs::write(&file, &pcap).unwrap();
    let out = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .args(["-T", "fields", "-E", "separator=|", "-e", "s5066dts.type"])
        .args(["-e", "s5066dts.dest_addr", "-e", "s5066dts.src_addr"])
        .args(["-e", "s5066dts.eow.type", "-e", "s5066dts.eot"])
        .args(["-e", "s5066dts.management.management_frame_id"])
        .args(["-e", "s5066dts.management.extended_message"])
        .args(["-e", "_ws.expert"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), vectors.len(), "one line per record: {text}");
    // tshark 4.0 dissects D_PDUs of 15 bytes or more only (tools/tests/sim.rs says so too):
    // the MANAGEMENT frames with an extended message, m = 6 and 7, the bitmaps.
    let mut dissected = 0;
    for ((name, d, bytes), line) in vectors.iter().zip(&lines) {
        if bytes.len() < 15 {
            continue;
        }
        dissected += 1;
        let (frame_id, extended) = match d.body {
            Body::Management(m) => (
                m.frame_id.to_string(),
                m.extended_message
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            ),
            _ => (String::new(), String::new()),
        };
        let expected = format!(
            "{}|{}|{}|{}|{}|{frame_id}|{extended}|",
            d.body.dpdu_type() as u8,
            d.dest.value(),
            d.src.value(),
            d.eow.eow_type,
            d.eot,
        );
        assert_eq!(*line, expected, "{name}: tshark reads");
    }
    assert_eq!(dissected, 7, "the long vectors all went through tshark");
    let verbose = Command::new("tshark")
        .arg("-r")
        .arg(&file)
        .arg("-V")
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&verbose.stdout);
    let correct = verbose
        .lines()
        .filter(|l| l.trim().starts_with("CRC on ") && l.ends_with("(Correct)"))
        .count();
    let with_data = vectors
        .iter()
        .filter(|(_, d, b)| b.len() >= 15 && d.body.segment().is_some())
        .count();
    assert_eq!(
        correct,
        dissected + with_data,
        "every CRC correct: {verbose}"
    );
    for line in verbose.lines() {
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.contains("malformed") && !lower.contains("incorrect"),
            "tshark complains: {line}"
        );
    }
}
