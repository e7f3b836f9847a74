//! Property tests of the wire layer: round-trips of arbitrary valid D_PDUs, arbitrary bytes
//! never panicking, the deframer finding every frame through noise and cut frames, and both
//! reassemblers rebuilding C_PDUs from lost, repeated and reordered segments.

use proptest::prelude::*;
use skywave_protocol::time::Instant;
use skywave_protocol::wire::reassembly::{ArqReassembly, NonArqKey, NonArqReassembly};
use skywave_protocol::wire::segment::Segments;
use skywave_protocol::wire::{
    Address, ArqData, ArqFlags, Body, Deframer, Dpdu, Eow, Event, ExpeditedData, Frame,
    MAX_SEGMENT_LEN, Management, NonArqData, Reset, SelectiveAck, Warning,
};

/// Everything a D_PDU holds, owned, so a strategy can produce it and a `Dpdu` can borrow it.
#[derive(Clone, Debug)]
struct Spec {
    eow: Eow,
    eot: u8,
    dest: Address,
    src: Address,
    kind: u8,
    bits: [bool; 6],
    numbers: [u8; 3],
    wide: [u16; 4],
    ack: SelectiveAck,
    bytes: Vec<u8>,
}

impl Spec {
    fn dpdu(&self) -> Dpdu<'_> {
        let [b0, b1, b2, b3, b4, b5] = self.bits;
        let [n0, n1, n2] = self.numbers;
        let [w0, w1, w2, w3] = self.wide;
        let arq = ArqData {
            flags: ArqFlags {
                cpdu_start: b0,
                cpdu_end: b1,
                deliver_in_order: b2,
                drop_cpdu: b3,
                tx_win_uwe: b4,
                tx_win_lwe: b5,
            },
            tx_seq: n0,
            segment: &self.bytes,
        };
        let non_arq = NonArqData {
            cpdu_id: w0 & 0x0FFF,
            deliver_in_order: b0,
            group: b1,
            cpdu_size: w1,
            segment_offset: w2,
            reception_window: w3,
            segment: &self.bytes,
        };
        let body = match self.kind % 10 {
            0 => Body::DataOnly(arq),
            1 => Body::AckOnly(self.ack),
            2 => Body::DataAck(arq, self.ack),
            3 => Body::ResetWinResync(Reset {
                full_reset: b0,
                tx_win_request: b1,
                rx_win_command: b2,
                reset_ack: b3,
                new_rx_lwe: n0,
                reset_frame_id: n1,
            }),
            4 => Body::ExpeditedDataOnly(ExpeditedData {
                cpdu_start: b0,
                cpdu_end: b1,
                cpdu_id: n2 & 0x0F,
                tx_seq: n0,
                segment: &self.bytes,
            }),
            5 => Body::ExpeditedAckOnly(self.ack),
            6 => Body::Management(Management {
                extended: b0,
                valid: b1,
                ack: b2,
                frame_id: n0,
                extended_message: &self.bytes[..self.bytes.len().min(Management::MAX_EXTENDED_LEN)],
            }),
            7 => Body::NonArqData(non_arq),
            8 => Body::ExpeditedNonArqData(non_arq),
            _ => Body::Warning(Warning {
                received_type: n0 & 0x0F,
                reason: n1 & 0x0F,
            }),
        };
        Dpdu {
            eow: self.eow,
            eot: self.eot,
            dest: self.dest,
            src: self.src,
            body,
        }
    }
}

fn address() -> impl Strategy<Value = Address> {
    (0u32..=Address::MAX_VALUE, 0u32..8).prop_map(|(v, shift)| {
        // Favour short addresses too, so every address-field size is exercised.
        Address::new(v >> (4 * shift)).unwrap()
    })
}

fn selective_ack() -> impl Strategy<Value = SelectiveAck> {
    (
        any::<u8>(),
        prop::collection::vec(any::<u8>(), 0..=SelectiveAck::MAX_BITMAP_LEN),
    )
        .prop_map(|(lwe, bitmap)| SelectiveAck::with_bitmap(lwe, &bitmap).unwrap())
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        (0u8..16, any::<u8>(), any::<u8>(), address(), address()),
        (
            any::<u8>(),
            any::<[bool; 6]>(),
            any::<[u8; 3]>(),
            any::<[u16; 4]>(),
        ),
        selective_ack(),
        prop::collection::vec(any::<u8>(), 0..=MAX_SEGMENT_LEN),
    )
        .prop_map(
            |((eow_type, eow_data, eot, dest, src), (kind, bits, numbers, wide), ack, bytes)| {
                Spec {
                    eow: Eow {
                        eow_type,
                        data: eow_data,
                    },
                    eot,
                    dest,
                    src,
                    kind,
                    bits,
                    numbers,
                    wide,
                    ack,
                    bytes,
                }
            },
        )
}

fn emit(dpdu: &Dpdu<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; dpdu.buffer_len()];
    assert_eq!(dpdu.emit(&mut buf).unwrap(), buf.len());
    buf
}

fn data_frame(seq: u8, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i as u8) ^ seq).collect();
    emit(&Dpdu {
        eow: Eow::NONE,
        eot: 0,
        dest: Address::new(0x42).unwrap(),
        src: Address::new(0x17).unwrap(),
        body: Body::DataOnly(ArqData {
            flags: ArqFlags::default(),
            tx_seq: seq,
            segment: &data,
        }),
    })
}

/// Feeds `stream` in chunks of `chunk` bytes and returns the sequence numbers of good frames.
fn deframe(stream: &[u8], chunk: usize) -> Vec<u8> {
    let mut deframer: Box<Deframer> = Box::default();
    let mut seqs = Vec::new();
    let mut drain = |d: &mut Deframer| {
        while let Some(event) = d.poll() {
            if let Event::Good { frame, .. } = event
                && let Ok(Dpdu {
                    body: Body::DataOnly(d),
                    ..
                }) = Dpdu::parse(&frame)
            {
                seqs.push(d.tx_seq);
            }
        }
    };
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let n = deframer.feed(rest);
            rest = &rest[n..];
            drain(&mut deframer);
        }
    }
    deframer.flush();
    drain(&mut deframer);
    seqs
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_valid_dpdu_round_trips(spec in spec()) {
        let dpdu = spec.dpdu();
        let bytes = emit(&dpdu);
        let frame = Frame::new_checked(&bytes).unwrap();
        prop_assert_eq!(frame.frame_len(), bytes.len());
        prop_assert_eq!(usize::from(frame.address_size()), usize::from(dpdu.address_size()));
        prop_assert_eq!(Dpdu::parse(&frame).unwrap(), dpdu);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        let frame = Frame::new_unchecked(&bytes);
        let _ = (frame.data(), frame.type_header(), frame.data_crc(), frame.frame_len());
        let _ = Dpdu::parse_ignoring_data_crc(&frame);
        // With a valid sync word in front the parser gets further into the bytes.
        let mut synced = vec![0x90, 0xEB];
        synced.extend(&bytes);
        if let Ok(frame) = Frame::new_checked(&synced) {
            let _ = Dpdu::parse(&frame);
        }
    }

    #[test]
    fn any_flipped_bit_is_caught(spec in spec(), bit in any::<prop::sample::Index>()) {
        let bytes = emit(&spec.dpdu());
        let mut damaged = bytes.clone();
        let at = bit.index(bytes.len() * 8);
        damaged[at / 8] ^= 1 << (at % 8);
        let parsed = Frame::new_checked(&damaged).map_err(|_| ()).and_then(|f| Dpdu::parse(&f).map_err(|_| ()));
        // Every bit is under the sync check or a CRC, and both CRCs catch any single-bit error.
        prop_assert!(parsed.is_err(), "flipped bit {} went unnoticed", at);
    }

    #[test]
    fn deframer_finds_every_frame_through_noise_bursts(
        frames in prop::collection::vec((any::<u8>(), 0usize..300), 1..12),
        noise in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 12),
        chunk in 1usize..600,
    ) {
        let mut stream = Vec::new();
        for (i, &(seq, len)) in frames.iter().enumerate() {
            stream.extend(&noise[i]);
            stream.extend(data_frame(seq, len));
        }
        stream.extend(&noise[11]);
        let expected: Vec<u8> = frames.iter().map(|&(seq, _)| seq).collect();
        prop_assert_eq!(deframe(&stream, chunk), expected);
    }

    #[test]
    fn deframer_survives_frames_cut_short(
        frames in prop::collection::vec((any::<u8>(), 0usize..300, any::<bool>(), any::<prop::sample::Index>()), 1..10),
        chunk in 1usize..600,
    ) {
        let mut stream = Vec::new();
        let mut expected = Vec::new();
        for &(seq, len, cut, at) in &frames {
            let frame = data_frame(seq, len);
            if cut {
                // Cut off at least the CRC-32 and one more byte. (A frame missing only part of
                // its CRC can be completed by the next frame's bytes when they happen to match,
                // which is then a genuine frame and costs the next one its sync byte.)
                stream.extend(&frame[..at.index(frame.len() - 4)]);
            } else {
                stream.extend(&frame);
                expected.push(seq);
            }
        }
        prop_assert_eq!(deframe(&stream, chunk), expected);
    }

    #[test]
    fn arq_reassembly_from_lost_repeated_reordered_segments(
        cpdu in prop::collection::vec(any::<u8>(), 0..2000),
        max_segment in 1usize..300,
        first_seq in any::<u8>(),
        order in any::<prop::sample::Index>(),
        repeats in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        lose in any::<prop::sample::Index>(),
    ) {
        // At most 64 segments: the reassembler below has 64 slots.
        let max_segment = max_segment.max(cpdu.len().div_ceil(64));
        let pieces: Vec<_> = Segments::new(&cpdu, max_segment).unwrap().collect();
        let mut offers: Vec<usize> = (0..pieces.len()).collect();
        offers.rotate_left(order.index(pieces.len()));
        offers.extend(repeats.iter().map(|r| r.index(pieces.len())));
        let lost = lose.index(pieces.len());
        let mut r: ArqReassembly<64, 300> = ArqReassembly::new();
        r.reset(first_seq);
        let mut out = vec![0u8; 2000];
        let offer = |r: &mut ArqReassembly<64, 300>, i: usize| {
            let p = &pieces[i];
            let flags = ArqFlags { cpdu_start: p.first, cpdu_end: p.last, ..ArqFlags::default() };
            r.insert(first_seq.wrapping_add(i as u8), flags, p.data).unwrap();
        };
        for &i in offers.iter().filter(|&&i| i != lost) {
            offer(&mut r, i);
        }
        prop_assert_eq!(r.pop(&mut out).unwrap(), None, "delivered with a segment missing");
        offer(&mut r, lost);
        let done = r.pop(&mut out).unwrap().expect("complete after the lost segment arrives");
        prop_assert_eq!(&out[..done.len], &cpdu[..]);
        prop_assert_eq!(r.pop(&mut out).unwrap(), None, "delivered twice");
        prop_assert_eq!(r.next_seq(), first_seq.wrapping_add(pieces.len() as u8));
    }

    #[test]
    fn non_arq_reassembly_from_lost_repeated_reordered_segments(
        cpdu in prop::collection::vec(any::<u8>(), 1..2000),
        max_segment in 1usize..300,
        order in any::<prop::sample::Index>(),
        repeats in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        lose in any::<prop::sample::Index>(),
    ) {
        // At most 16 segments: the reassembler below tracks 16 disjoint ranges.
        let max_segment = max_segment.max(cpdu.len().div_ceil(16));
        let pieces: Vec<_> = Segments::new(&cpdu, max_segment).unwrap().collect();
        let mut offers: Vec<usize> = (0..pieces.len()).collect();
        offers.rotate_left(order.index(pieces.len()));
        offers.extend(repeats.iter().map(|r| r.index(pieces.len())));
        let lost = lose.index(pieces.len());
        let key = NonArqKey { source: Address::new(3).unwrap(), expedited: false, cpdu_id: 77 };
        let mut r: NonArqReassembly<2, 2000, 16> = NonArqReassembly::new();
        let now = Instant::from_millis(5);
        let segment = |i: usize| NonArqData {
            cpdu_id: 77,
            deliver_in_order: false,
            group: true,
            cpdu_size: cpdu.len() as u16,
            segment_offset: pieces[i].offset as u16,
            reception_window: 60,
            segment: pieces[i].data,
        };
        for &i in offers.iter().filter(|&&i| i != lost) {
            prop_assert_eq!(r.insert(now, key, &segment(i)).unwrap(), None);
        }
        let done = r.insert(now, key, &segment(lost)).unwrap().map(<[u8]>::to_vec);
        prop_assert_eq!(done.as_deref(), Some(&cpdu[..]));
        for &i in &offers {
            prop_assert_eq!(r.insert(now, key, &segment(i)).unwrap(), None, "repeat delivered twice");
        }
    }
}
