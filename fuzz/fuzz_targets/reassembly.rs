//! Arbitrary sequences of segments offered to both reassemblers: never a panic, never more
//! than their fixed memory, and every delivered C_PDU is exactly the size it claimed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skywave_protocol::time::Instant;
use skywave_protocol::wire::reassembly::{ArqReassembly, NonArqKey, NonArqReassembly};
use skywave_protocol::wire::{Address, ArqFlags, NonArqData};

fuzz_target!(|data: &[u8]| {
    let mut arq: ArqReassembly<16, 64> = ArqReassembly::new();
    let mut non_arq: NonArqReassembly<4, 256, 4> = NonArqReassembly::new();
    let mut out = [0u8; 16 * 64];
    let mut now = 0u64;
    // Each operation: 8 header bytes, then up to 63 data bytes.
    for op in data.chunks(72) {
        let [kind, a, b, c, d, e, f, g, payload @ ..] = op else {
            break;
        };
        now += u64::from(*g) * 100;
        if kind & 1 == 0 {
            let flags = ArqFlags {
                cpdu_start: a & 1 != 0,
                cpdu_end: a & 2 != 0,
                deliver_in_order: a & 4 != 0,
                drop_cpdu: a & 8 == 8 && a & 0x10 != 0,
                ..ArqFlags::default()
            };
            let _ = arq.insert(*b, flags, payload);
            while let Ok(Some(done)) = arq.pop(&mut out) {
                assert!(done.len <= out.len());
            }
        } else {
            let size = u16::from_be_bytes([*b & 1, *c]);
            let segment = NonArqData {
                cpdu_id: u16::from(*d & 0x0F),
                deliver_in_order: false,
                group: true,
                cpdu_size: size,
                segment_offset: u16::from_be_bytes([*e & 1, *f]),
                reception_window: u16::from(*a),
                segment: payload,
            };
            let key = NonArqKey {
                source: Address::new(u32::from(*d >> 4)).unwrap(),
                expedited: kind & 2 != 0,
                cpdu_id: segment.cpdu_id,
            };
            if let Ok(Some(cpdu)) = non_arq.insert(Instant::from_millis(now), key, &segment) {
                assert_eq!(cpdu.len(), usize::from(size));
            }
            non_arq.expire(Instant::from_millis(now));
            assert!(non_arq.in_use() <= 4);
        }
    }
});
