//! `skywave-linkemu` between two PTYs it makes itself: frames written to one port come out of
//! the other paced at the bit rate, thinned by the channel model, and the same seed loses the
//! same frames; `--corrupt` damages them so receivers' CRCs fail; `inject` on standard input
//! puts a file's frames on the line.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use skywave_hil_tests::{Process, data_frame};
use skywave_protocol::wire::{Body, Deframer, Dpdu, Event};

const FRAMES: u8 = 100;
const BIT_RATE: u64 = 9600;

/// Frame `seq` of the test: 12 bytes of `seq`.
fn frame(seq: u8) -> Vec<u8> {
    data_frame(seq, &[seq; 12])
}

/// What came out of port b.
struct Received {
    /// The sequence numbers of good frames, in order.
    seqs: Vec<u8>,
    /// When the last good frame arrived.
    last: Duration,
    /// Frames whose header was good but whose data CRC failed, and bad headers.
    damaged: usize,
}

/// Sends the frames through an emulator with `channel`, `seed` and `extra` arguments (or, with
/// `inject`, has the emulator inject them from a file into port b).
fn run(channel: &str, seed: u64, extra: &[&str], inject: bool) -> Received {
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
            .args(extra)
            .stdin(Stdio::piped())
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
    // Kept open until the end: the emulator reads its commands until standard input closes.
    let mut commands = emu.0.stdin.take().unwrap();
    if inject {
        let file = std::env::temp_dir().join(format!("linkemu-inject-{}", std::process::id()));
        let stream: Vec<u8> = (0..FRAMES).flat_map(frame).collect();
        std::fs::write(&file, stream).unwrap();
        writeln!(commands, "inject b {}", file.display()).unwrap();
        commands.flush().unwrap();
    } else {
        for seq in 0..FRAMES {
            a.write_all(&frame(seq)).unwrap();
        }
    }
    let mut deframer: Box<Deframer> = Box::default();
    let mut seqs = Vec::new();
    let mut last = Duration::ZERO;
    let mut damaged = 0;
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
            match event {
                Event::Good { frame, .. } => {
                    if let Ok(Dpdu {
                        body: Body::DataOnly(d),
                        ..
                    }) = Dpdu::parse(&frame)
                    {
                        seqs.push(d.tx_seq);
                        last = started.elapsed();
                    }
                }
                Event::BadData { .. } | Event::BadHeader { .. } => damaged += 1,
            }
        }
    }
    drop(commands);
    Received {
        seqs,
        last,
        damaged,
    }
}

#[test]
fn frames_cross_paced_thinned_and_reproducibly() {
    let Received {
        seqs: clean,
        last: took,
        ..
    } = run("clean", 1, &[], false);
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

    let lossy = run("bernoulli:0.3", 7, &[], false).seqs;
    assert!(
        (50..=90).contains(&lossy.len()),
        "{} of {FRAMES} crossed",
        lossy.len()
    );
    assert!(
        lossy.windows(2).all(|w| w[0] < w[1]),
        "order kept: {lossy:?}"
    );
    let again = run("bernoulli:0.3", 7, &[], false).seqs;
    assert_eq!(again, lossy, "the same seed loses the same frames");
    let other = run("bernoulli:0.3", 8, &[], false).seqs;
    assert_ne!(other, lossy, "another seed loses others");
}

#[test]
fn corrupted_frames_fail_their_crc_at_the_receiver() {
    let r = run("clean", 3, &["--corrupt", "0.5"], false);
    assert!(
        (20..=80).contains(&r.damaged),
        "{} of {FRAMES} damaged",
        r.damaged
    );
    assert!(
        r.seqs.len() + r.damaged <= usize::from(FRAMES),
        "a damaged frame is never also good: {} good, {} damaged",
        r.seqs.len(),
        r.damaged
    );
    assert!(r.seqs.len() >= 20, "{} good", r.seqs.len());
}

#[test]
fn injected_frames_reach_the_port_unchanged() {
    let r = run("bernoulli:0.9", 1, &[], true);
    assert_eq!(
        r.seqs,
        (0..FRAMES).collect::<Vec<_>>(),
        "injection bypasses the channel"
    );
    assert_eq!(r.damaged, 0);
}
