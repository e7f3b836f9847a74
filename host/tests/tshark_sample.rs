//! Wireshark must agree with every byte we put on the air: this test writes the sample capture
//! with the shipped binary and has tshark's own STANAG 5066 dissector check every frame.
//!
//! tshark 4.0 only dissects frames of 15 bytes or more; shorter ones are counted and skipped.
//! Where tshark is not installed the test says so and passes, unless `SKYWAVE_REQUIRE_TOOLS=1`
//! (set by the project's test command, which installs it) makes a missing tshark a failure.

use std::path::PathBuf;
use std::process::Command;

use skywave_hil_tests::tool_available;

const DATA_TYPES: [u8; 5] = [0, 2, 4, 7, 8];
const TSHARK_MIN_FRAME: usize = 15;

/// One frame of `tshark -V` output, reduced to what the check needs.
#[derive(Debug, Default)]
struct Dissected {
    number: usize,
    length: usize,
    dpdu_type: Option<u8>,
    header_crc_correct: bool,
    data_crc_correct: bool,
    complaints: Vec<String>,
}

fn dissect(text: &str) -> Vec<Dissected> {
    let mut frames: Vec<Dissected> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = line.strip_prefix("Frame ") {
            let number = rest.split(':').next().and_then(|n| n.parse().ok());
            if let Some(number) = number {
                frames.push(Dissected {
                    number,
                    ..Dissected::default()
                });
                continue;
            }
        }
        let Some(frame) = frames.last_mut() else {
            continue;
        };
        if let Some(rest) = trimmed.strip_prefix("Frame Length: ") {
            frame.length = rest
                .split(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        } else if trimmed.contains("= D_PDU type: ") {
            let code = trimmed
                .rsplit('(')
                .next()
                .and_then(|c| c.trim_end_matches(')').parse().ok());
            frame.dpdu_type = code;
        } else if trimmed.starts_with("CRC on header:") {
            frame.header_crc_correct = trimmed.ends_with("(Correct)");
        } else if trimmed.starts_with("CRC on C_PDU segment:") {
            frame.data_crc_correct = trimmed.ends_with("(Correct)");
        }
        let lower = trimmed.to_ascii_lowercase();
        if lower.contains("malformed")
            || lower.contains("expert info")
            || lower.contains("incorrect")
        {
            frame.complaints.push(trimmed.to_owned());
        }
    }
    frames
}

#[test]
fn tshark_says_correct_on_every_crc_of_the_sample() {
    if !tool_available("tshark", "Wireshark's STANAG 5066 dissector") {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let pcap = dir.join("tshark-sample.pcap");
    let sample = Command::new(env!("CARGO_BIN_EXE_skywave"))
        .args(["frames", "sample", "--out"])
        .arg(&pcap)
        .output()
        .expect("run skywave frames sample");
    assert!(sample.status.success(), "{sample:?}");
    let said = String::from_utf8_lossy(&sample.stdout);
    let written: usize = said
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("frame count in the sample's output");

    let tshark = Command::new("tshark")
        .arg("-r")
        .arg(&pcap)
        .arg("-V")
        .output()
        .expect("run tshark");
    assert!(tshark.status.success(), "tshark failed: {tshark:?}");
    let frames = dissect(&String::from_utf8_lossy(&tshark.stdout));
    assert_eq!(
        frames.len(),
        written,
        "tshark saw a different number of frames"
    );

    let mut checked = 0;
    for frame in &frames {
        assert!(
            frame.complaints.is_empty(),
            "frame {}: {:?}",
            frame.number,
            frame.complaints
        );
        if frame.length < TSHARK_MIN_FRAME {
            continue;
        }
        checked += 1;
        assert!(
            frame.header_crc_correct,
            "frame {}: header CRC not Correct",
            frame.number
        );
        let dpdu_type = frame.dpdu_type.expect("tshark names the D_PDU type");
        if DATA_TYPES.contains(&dpdu_type) {
            assert!(
                frame.data_crc_correct,
                "frame {}: C_PDU CRC not Correct",
                frame.number
            );
        }
    }
    assert!(
        checked > 1000,
        "only {checked} frames were long enough to check"
    );
    eprintln!(
        "tshark: {checked} of {} frames checked, every CRC Correct",
        frames.len()
    );
}
