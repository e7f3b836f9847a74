//! The firmware image on the reference board (QEMU mps2-an386): fed a noisy serial stream on
//! its radio UART, it must find exactly the frames the host's decoder finds.
//!
//! `scripts/test.sh` builds the image with the `exit-when-idle` feature first, so the firmware
//! stops QEMU after its idle flush and summary.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use skywave_hil_tests::{require_or_skip, tool_available, workspace_root};
use skywave_protocol::wire::{Address, ArqData, ArqFlags, Body, Deframer, Dpdu, Eow, Event};

fn firmware_image() -> PathBuf {
    workspace_root().join("firmware/target/thumbv7em-none-eabihf/release/skywave-firmware")
}

fn frame(seq: u8, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i as u8).wrapping_add(seq)).collect();
    let dpdu = Dpdu {
        eow: Eow::NONE,
        eot: 9,
        dest: Address::new(0x2A).unwrap(),
        src: Address::new(0x1C5).unwrap(),
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

/// 30 frames with line noise between them, one with damaged data, one cut short.
fn noisy_stream() -> Vec<u8> {
    let mut stream = Vec::new();
    for seq in 0..30u8 {
        stream.extend((0..usize::from(seq % 5) * 3).map(|i| 0x40 + i as u8));
        let mut bytes = frame(seq, usize::from(seq) * 11);
        match seq {
            10 => {
                let n = bytes.len();
                bytes[n - 7] ^= 0x10;
            }
            20 => bytes.truncate(bytes.len() / 2),
            _ => {}
        }
        stream.extend(bytes);
    }
    stream
}

/// The summary line the host's deframer gives for `stream`.
fn host_summary(stream: &[u8]) -> String {
    let mut deframer: Box<Deframer> = Box::default();
    let mut good = 0;
    let mut drain = |d: &mut Deframer| {
        while let Some(event) = d.poll() {
            good += usize::from(matches!(event, Event::Good { .. }));
        }
    };
    let mut rest = stream;
    while !rest.is_empty() {
        let n = deframer.feed(rest);
        rest = &rest[n..];
        drain(&mut deframer);
    }
    deframer.flush();
    drain(&mut deframer);
    let s = deframer.stats();
    format!(
        "frames: {good} good, {} bad-header, {} bad-data, {} noise-bytes",
        s.bad_header, s.bad_data, s.noise_bytes
    )
}

#[test]
fn firmware_deframes_a_noisy_stream_like_the_host() {
    if !tool_available("qemu-system-arm", "the firmware's reference board") {
        return;
    }
    let image = firmware_image();
    if !require_or_skip(
        image.exists(),
        "the firmware image (built by scripts/test.sh)",
    ) {
        return;
    }
    let stream = noisy_stream();
    let expected = host_summary(&stream);
    assert!(expected.starts_with("frames: 28 good, "), "{expected}");

    let mut qemu = Command::new("qemu-system-arm")
        .args([
            "-cpu",
            "cortex-m4",
            "-machine",
            "mps2-an386",
            "-display",
            "none",
        ])
        .args(["-monitor", "none", "-serial", "stdio"])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(&image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start qemu-system-arm");
    let mut stdin = qemu.stdin.take().expect("qemu stdin");
    stdin.write_all(&stream).expect("feed the radio UART");
    // Stdin stays open: the firmware's idle timer, not the end of input, must end the run. If
    // it never does, closing stdin after a minute lets the test fail instead of hanging.
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        let _ = finished.recv_timeout(Duration::from_secs(60));
        drop(stdin);
    });
    let output = qemu.wait_with_output().expect("wait for qemu");
    let _ = done.send(());
    watchdog.join().expect("watchdog thread");

    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "qemu exited with {:?}:\n{text}",
        output.status
    );
    assert!(text.contains("skywave-firmware"), "no boot banner:\n{text}");
    let summary = text
        .lines()
        .rev()
        .find(|l| l.starts_with("frames:"))
        .unwrap_or_default();
    assert_eq!(summary.trim_end(), expected, "firmware output:\n{text}");
    let good_lines = text
        .lines()
        .filter(|l| l.contains(" GOOD DATA_ONLY"))
        .count();
    assert_eq!(good_lines, 28, "firmware output:\n{text}");
}
