//! `skywave frames sample`: a capture that exercises every corner of the D_PDU format.
//!
//! The sample is what the test command hands to tshark, so it is built to leave nothing of the
//! wire format unchecked by an independent decoder: every D_PDU type, every address-field size
//! (1..=7 bytes), every segment size from 0 to 1023 bytes, the EOW types in the frames that may
//! carry them (Wireshark flags HDR-DRC and HFTRP EOWs outside MANAGEMENT D_PDUs as malformed, so
//! those appear only there), and one C_PDU split into several segments both over ARQ and non-ARQ.

use skywave_protocol::wire::segment::Segments;
use skywave_protocol::wire::{
    Address, ArqData, ArqFlags, Body, Dpdu, Eow, ExpeditedData, MAX_SEGMENT_LEN, Management,
    NonArqData, Reset, SelectiveAck, Warning,
};

/// The standard's WARNING D_PDU test vector (STANAG 5066 Annex C).
pub const STANDARD_WARNING_VECTOR: [u8; 11] = [
    0x90, 0xEB, 0xF0, 0x00, 0x00, 0x47, 0x05, 0x64, 0x02, 0x5F, 0x1E,
];

/// The size of the multi-segment C_PDU in the sample.
pub const MULTI_SEGMENT_CPDU_LEN: usize = 2600;

/// An address of exactly `nibbles` nibbles (1..=7) whose digits count up from `first`:
/// (1, 3) is 0x123, (9, 2) is 0x9A.
fn address_of_width(nibbles: usize, first: u32) -> Address {
    let value = (0..nibbles as u32).fold(0u32, |acc, i| (acc << 4) | ((first + i) % 16));
    Address::new(value).unwrap_or_default()
}

/// A destination and a different source whose address field is `m` bytes.
fn addresses(m: usize) -> (Address, Address) {
    (address_of_width(m, 1), address_of_width(1 + m / 2, 9))
}

fn payload(len: usize, salt: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + salt) as u8).collect()
}

fn emit(dpdu: &Dpdu<'_>) -> anyhow::Result<Vec<u8>> {
    let mut out = vec![0u8; dpdu.buffer_len()];
    let n = dpdu
        .emit(&mut out)
        .map_err(|e| anyhow::anyhow!("emitting {:?}: {e}", dpdu.body.dpdu_type()))?;
    out.truncate(n);
    Ok(out)
}

/// Every frame of the sample, in order, as emitted bytes.
pub fn sample_frames() -> anyhow::Result<Vec<Vec<u8>>> {
    let mut frames = vec![STANDARD_WARNING_VECTOR.to_vec()];
    for dpdu in control_frames()? {
        frames.push(emit(&dpdu)?);
    }
    let sizes: Vec<Vec<u8>> = (0..=MAX_SEGMENT_LEN).map(|n| payload(n, n)).collect();
    for (n, data) in sizes.iter().enumerate() {
        frames.push(emit(&data_frame(n, data)?)?);
    }
    let cpdu = payload(MULTI_SEGMENT_CPDU_LEN, 7);
    frames.extend(multi_segment(&cpdu)?);
    Ok(frames)
}

/// One of each type without data, plus MANAGEMENT frames carrying the EOWs reserved to it.
fn control_frames() -> anyhow::Result<Vec<Dpdu<'static>>> {
    let mut ack = SelectiveAck::new(10);
    for seq in [11, 13, 20, 34] {
        ack.set(seq)?;
    }
    let hdr_drc: &'static [u8] = &[0x00, 0x00, 0x09, 0x60, 0x00, 0x48];
    let hftrp: &'static [u8] = &[
        0x00, 0x14, 10, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 2, 0, 0, 0, 3, 0, 4,
    ];
    let bodies = [
        (Eow::NONE, Body::AckOnly(ack)),
        (
            Eow {
                eow_type: 4,
                data: 0xA0,
            },
            Body::ResetWinResync(Reset {
                full_reset: true,
                tx_win_request: true,
                rx_win_command: true,
                reset_ack: true,
                new_rx_lwe: 17,
                reset_frame_id: 3,
            }),
        ),
        (
            Eow {
                eow_type: 1,
                data: 0x54,
            },
            Body::ExpeditedAckOnly(SelectiveAck::new(200)),
        ),
        (
            Eow {
                eow_type: 5,
                data: 0x55,
            },
            Body::Management(Management {
                extended: false,
                valid: true,
                ack: false,
                frame_id: 9,
                extended_message: &[],
            }),
        ),
        (
            Eow {
                eow_type: 7,
                data: 0x19,
            },
            Body::Management(Management {
                extended: true,
                valid: true,
                ack: true,
                frame_id: 10,
                extended_message: hdr_drc,
            }),
        ),
        (
            Eow {
                eow_type: 15,
                data: 1,
            },
            Body::Management(Management {
                extended: true,
                valid: true,
                ack: false,
                frame_id: 11,
                extended_message: hftrp,
            }),
        ),
        (
            Eow {
                eow_type: 3,
                data: 0x0B,
            },
            Body::Warning(Warning {
                received_type: 11,
                reason: 1,
            }),
        ),
    ];
    Ok(bodies
        .into_iter()
        .enumerate()
        .map(|(i, (eow, body))| {
            let (dest, src) = addresses(i % 7 + 1);
            Dpdu {
                eow,
                eot: 40 - i as u8,
                dest,
                src,
                body,
            }
        })
        .collect())
}

/// A data-carrying frame with an `n`-byte segment; the type, address size and EOW rotate with
/// `n` so that every combination appears many times.
fn data_frame(n: usize, data: &[u8]) -> anyhow::Result<Dpdu<'_>> {
    let (dest, src) = addresses(n % 7 + 1);
    let seq = (n % 256) as u8;
    let flags = ArqFlags {
        cpdu_start: true,
        cpdu_end: true,
        deliver_in_order: n.is_multiple_of(2),
        tx_win_lwe: n.is_multiple_of(3),
        tx_win_uwe: n.is_multiple_of(5),
        drop_cpdu: false,
    };
    let non_arq = NonArqData {
        cpdu_id: (n * 37 % 4096) as u16,
        deliver_in_order: n % 2 == 1,
        group: n.is_multiple_of(3),
        cpdu_size: n as u16,
        segment_offset: 0,
        reception_window: 120,
        segment: data,
    };
    let body = match n % 5 {
        0 => Body::DataOnly(ArqData {
            flags,
            tx_seq: seq,
            segment: data,
        }),
        1 => {
            let mut ack = SelectiveAck::new(seq.wrapping_sub(5));
            ack.set(seq.wrapping_add(3))?;
            Body::DataAck(
                ArqData {
                    flags,
                    tx_seq: seq,
                    segment: data,
                },
                ack,
            )
        }
        2 => Body::ExpeditedDataOnly(ExpeditedData {
            cpdu_start: true,
            cpdu_end: true,
            cpdu_id: (n % 16) as u8,
            tx_seq: seq,
            segment: data,
        }),
        3 => Body::NonArqData(non_arq),
        _ => Body::ExpeditedNonArqData(non_arq),
    };
    Ok(Dpdu {
        eow: Eow {
            eow_type: (n % 7) as u8,
            data: (n / 7) as u8,
        },
        eot: 255 - (n % 256) as u8,
        dest,
        src,
        body,
    })
}

/// One C_PDU of [`MULTI_SEGMENT_CPDU_LEN`] bytes, segmented for ARQ and then for non-ARQ.
fn multi_segment(cpdu: &[u8]) -> anyhow::Result<Vec<Vec<u8>>> {
    let (dest, src) = addresses(2);
    let mut frames = Vec::new();
    for (i, piece) in Segments::new(cpdu, MAX_SEGMENT_LEN)?.enumerate() {
        let arq = Body::DataOnly(ArqData {
            flags: ArqFlags {
                cpdu_start: piece.first,
                cpdu_end: piece.last,
                deliver_in_order: true,
                ..ArqFlags::default()
            },
            tx_seq: 100 + i as u8,
            segment: piece.data,
        });
        let non_arq = Body::NonArqData(NonArqData {
            cpdu_id: 4000,
            deliver_in_order: true,
            group: true,
            cpdu_size: cpdu.len() as u16,
            segment_offset: piece.offset as u16,
            reception_window: 240,
            segment: piece.data,
        });
        for (body, to) in [(arq, dest), (non_arq, Address::BROADCAST)] {
            frames.push(emit(&Dpdu {
                eow: Eow::NONE,
                eot: 20,
                dest: to,
                src,
                body,
            })?);
        }
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::wire::{DpduType, Frame};
    use std::collections::BTreeSet;

    #[test]
    fn the_sample_covers_the_format() {
        let frames = sample_frames().unwrap();
        let mut types = BTreeSet::new();
        let mut address_sizes = BTreeSet::new();
        let mut segment_sizes = BTreeSet::new();
        for bytes in &frames {
            let frame = Frame::new_checked(bytes).unwrap();
            assert_eq!(frame.frame_len(), bytes.len());
            let dpdu = Dpdu::parse(&frame).unwrap();
            types.insert(dpdu.body.dpdu_type() as u8);
            address_sizes.insert(frame.address_size());
            if let Some(seg) = dpdu.body.segment() {
                segment_sizes.insert(seg.len());
            }
        }
        let all_types = [0, 1, 2, 3, 4, 5, 6, 7, 8, 15];
        assert_eq!(types.into_iter().collect::<Vec<_>>(), all_types);
        assert_eq!(
            address_sizes.into_iter().collect::<Vec<_>>(),
            [1, 2, 3, 4, 5, 6, 7]
        );
        assert_eq!(segment_sizes.len(), MAX_SEGMENT_LEN + 1);
        assert!(DpduType::from_nibble(9).is_none());
    }

    #[test]
    fn the_multi_segment_cpdu_reassembles() {
        let cpdu = payload(MULTI_SEGMENT_CPDU_LEN, 7);
        let frames = multi_segment(&cpdu).unwrap();
        let mut joined = Vec::new();
        for bytes in &frames {
            let dpdu = Dpdu::parse(&Frame::new_checked(bytes).unwrap()).unwrap();
            if let Body::DataOnly(d) = dpdu.body {
                joined.extend_from_slice(d.segment);
            }
        }
        assert_eq!(frames.len(), 6);
        assert_eq!(joined, cpdu);
    }
}
