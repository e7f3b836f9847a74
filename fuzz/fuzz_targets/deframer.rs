//! Any byte stream, cut into chunks of any size: the deframer never panics, only delivers
//! frames whose CRCs check, and finds the same frames however the stream is chunked.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skywave_protocol::wire::{Deframer, Event};

#[derive(Debug, PartialEq)]
enum Seen {
    Good(u64, Vec<u8>),
    BadData(u64, usize),
    BadHeader(u64),
}

fn run(stream: &[u8], chunk: usize) -> (Vec<Seen>, u64) {
    let mut deframer: Box<Deframer> = Box::default();
    let mut seen = Vec::new();
    let drain = |d: &mut Deframer, seen: &mut Vec<Seen>| {
        while let Some(event) = d.poll() {
            seen.push(match event {
                Event::Good { offset, frame } => {
                    assert!(frame.header_crc_ok() && frame.data_crc_ok());
                    Seen::Good(offset, frame.as_bytes().to_vec())
                }
                Event::BadData { offset, frame } => {
                    assert!(frame.header_crc_ok());
                    Seen::BadData(offset, frame.as_bytes().len())
                }
                Event::BadHeader { offset } => Seen::BadHeader(offset),
            });
        }
    };
    for piece in stream.chunks(chunk) {
        let mut rest = piece;
        while !rest.is_empty() {
            let n = deframer.feed(rest);
            rest = &rest[n..];
            drain(&mut deframer, &mut seen);
        }
    }
    deframer.flush();
    drain(&mut deframer, &mut seen);
    let stats = deframer.stats();
    assert!(stats.noise_bytes <= stream.len() as u64);
    (seen, stats.noise_bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let whole = run(stream, stream.len().max(1));
    let chunked = run(stream, usize::from(chunk).max(1));
    assert_eq!(whole, chunked);
});
