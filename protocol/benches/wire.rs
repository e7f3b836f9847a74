//! Wire-layer throughput: D_PDU emit and parse (both CRCs included) and the deframer on a
//! serial stream with noise between frames. Run with `cargo bench -p skywave-protocol --bench
//! wire`; docs/wire.md records the figures.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skywave_protocol::wire::{
    Address, ArqData, ArqFlags, Body, Deframer, Dpdu, Eow, Event, Frame, MAX_DPDU_LEN,
};
use std::hint::black_box;

fn data_dpdu(segment: &[u8]) -> Dpdu<'_> {
    Dpdu {
        eow: Eow::NONE,
        eot: 12,
        dest: Address::new(0x1234).unwrap_or_default(),
        src: Address::new(0x56).unwrap_or_default(),
        body: Body::DataOnly(ArqData {
            flags: ArqFlags {
                cpdu_start: true,
                cpdu_end: true,
                ..ArqFlags::default()
            },
            tx_seq: 7,
            segment,
        }),
    }
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("dpdu");
    for size in [64usize, 1023] {
        let segment: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let dpdu = data_dpdu(&segment);
        let mut buf = [0u8; MAX_DPDU_LEN];
        let len = dpdu.emit(&mut buf).unwrap_or_default();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("emit_{size}"), |b| {
            b.iter(|| black_box(&dpdu).emit(black_box(&mut buf)))
        });
        let bytes = buf[..len].to_vec();
        group.bench_function(format!("parse_{size}"), |b| {
            b.iter(|| {
                Frame::new_checked(black_box(&bytes))
                    .and_then(|frame| Dpdu::parse(&frame).map(|_| ()))
            })
        });
    }
    group.finish();
}

fn deframer(c: &mut Criterion) {
    // 64 frames of mixed sizes with 16 bytes of line noise before each.
    let mut stream = Vec::new();
    for i in 0..64usize {
        stream.extend((0..16).map(|n| (n * 7 + i) as u8 & 0x7F));
        let segment: Vec<u8> = (0..(i * 37) % 1024).map(|n| n as u8).collect();
        let dpdu = data_dpdu(&segment);
        let mut buf = vec![0u8; dpdu.buffer_len()];
        if dpdu.emit(&mut buf).is_ok() {
            stream.extend(buf);
        }
    }
    let mut group = c.benchmark_group("deframer");
    group.throughput(Throughput::Bytes(stream.len() as u64));
    let mut deframer: Box<Deframer> = Box::default();
    group.bench_function("noisy_stream_256B_reads", |b| {
        b.iter(|| {
            let mut good = 0usize;
            for chunk in stream.chunks(256) {
                let mut rest = chunk;
                while !rest.is_empty() {
                    let n = deframer.feed(rest);
                    rest = &rest[n..];
                    while let Some(event) = deframer.poll() {
                        good += usize::from(matches!(event, Event::Good { .. }));
                    }
                }
            }
            black_box(good)
        })
    });
    group.finish();
}

criterion_group!(benches, codec, deframer);
criterion_main!(benches);
