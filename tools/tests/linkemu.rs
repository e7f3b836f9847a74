//! `skywave-linkemu` between two PTYs it makes itself: frames written to one port come out of
//! the other paced at the bit rate, thinned by the channel model, and the same seed loses the
//! same frames.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use skywave_protocol::wire::{Address, ArqData, ArqFlags, Body, Deframer, Dpdu, Eow, Event};

const FRAMES: u8 = 100;
const BIT_RATE: u64 = 9600;

struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn frame(seq: u8) -> Vec<u8> {
    let data = [seq; 12];
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 0,
        dest: Address::new(2).unwrap(),
        src: Address::new(1).unwrap(),
        body: Body::DataOnly(ArqData {
            flags: ArqFlags::default(),
            tx_seq: seq,
            segment: &data,
        }),
    };
    let mut out = vec![0; dpdu.buffer_len()];
    dpdu.emit(&mut out).unwrap();
    out
}

/// Sends the frames through an emulator with `channel` and `seed`; returns the sequence
/// numbers that came out, and how long the last took to arrive.
fn run(channel: &str, seed: u64) -> (Vec<u8>, Duration) {
    let mut emu = Process(
        Command::new(env!("CARGO_BIN_EXE_skywave-linkemu"))
            .args(["--bit-rate", &BIT_RATE.to_string(), "--latency-ms", "100"])
            .args([
                "--channel",
                channel,
                "--seed",
                &seed.to_string(),
                "--stats-secs",
                "0",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .expect("start skywave-linkemu"),
    );
    let mut lines = BufReader::new(emu.0.stdout.take().unwrap()).lines();
    let mut port = |name: &str| {
        let line = lines.next().unwrap().unwrap();
        let path = line
            .strip_prefix(&format!("port {name}: "))
            .unwrap()
            .to_owned();
        tokio_serial::new(path, 115_200)
            .timeout(Duration::from_millis(100))
            .open()
            .unwrap()
    };
    let (mut a, mut b) = (port("a"), port("b"));
    let started = Instant::now();
    for seq in 0..FRAMES {
        a.write_all(&frame(seq)).unwrap();
    }
    let mut deframer: Box<Deframer> = Box::default();
    let mut seqs = Vec::new();
    let mut last = Duration::ZERO;
    let mut quiet_since = Instant::now();
    let mut buf = [0u8; 256];
    while quiet_since.elapsed() < Duration::from_secs(2) {
        let n = b.read(&mut buf).unwrap_or(0);
        if n == 0 {
            continue;
        }
        quiet_since = Instant::now();
        deframer.feed(&buf[..n]);
        while let Some(event) = deframer.poll() {
            if let Event::Good { frame, .. } = event
                && let Ok(Dpdu {
                    body: Body::DataOnly(d),
                    ..
                }) = Dpdu::parse(&frame)
            {
                seqs.push(d.tx_seq);
                last = started.elapsed();
            }
        }
    }
    (seqs, last)
}

#[test]
fn frames_cross_paced_thinned_and_reproducibly() {
    let (clean, took) = run("clean", 1);
    assert_eq!(
        clean,
        (0..FRAMES).collect::<Vec<_>>(),
        "a clean channel loses nothing"
    );
    let airtime_ms = u64::from(FRAMES) * frame(0).len() as u64 * 8 * 1000 / BIT_RATE;
    assert!(
        took >= Duration::from_millis(airtime_ms * 9 / 10),
        "{FRAMES} frames arrived in {took:?}, faster than their {airtime_ms} ms of airtime"
    );

    let (lossy, _) = run("bernoulli:0.3", 7);
    assert!(
        (50..=90).contains(&lossy.len()),
        "{} of {FRAMES} crossed",
        lossy.len()
    );
    assert!(
        lossy.windows(2).all(|w| w[0] < w[1]),
        "order kept: {lossy:?}"
    );
    let (again, _) = run("bernoulli:0.3", 7);
    assert_eq!(again, lossy, "the same seed loses the same frames");
    let (other, _) = run("bernoulli:0.3", 8);
    assert_ne!(other, lossy, "another seed loses others");
}
