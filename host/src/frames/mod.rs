//! The `skywave frames` commands: make and read D_PDU captures.
//!
//! These are the operator's first tools for the air interface: `sample` writes a capture that
//! exercises every part of the D_PDU format (the test command checks it with tshark), and
//! `decode` reads a pcap or a raw serial capture the way a node's deframer would.

pub mod decode;
pub mod sample;

use crate::outln;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use skywave_protocol::capture::{Timestamp, file_header, record_header};

/// 2026-01-01T00:00:00Z: the sample's records start here, one per 100 ms, so the file is the
/// same on every run.
const SAMPLE_EPOCH_SECS: u32 = 1_767_225_600;

/// A pcap file (link type 237) being written, one D_PDU per record.
pub struct PcapWriter {
    out: BufWriter<fs::File>,
    path: std::path::PathBuf,
    records: u64,
}

impl PcapWriter {
    /// Creates (or truncates) `path` and writes the file header.
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        let file =
            fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        let mut out = BufWriter::new(file);
        out.write_all(&file_header())
            .with_context(|| format!("writing {}", path.display()))?;
        Ok(PcapWriter {
            out,
            path: path.to_path_buf(),
            records: 0,
        })
    }

    /// Appends one D_PDU captured at `ts`.
    pub fn write(&mut self, ts: Timestamp, frame: &[u8]) -> anyhow::Result<()> {
        let len = u32::try_from(frame.len()).context("frame longer than 4 GiB")?;
        self.out.write_all(&record_header(ts, len))?;
        self.out.write_all(frame)?;
        self.records += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Flushes what is buffered to the file.
    pub fn flush(&mut self) -> anyhow::Result<()> {
        self.out
            .flush()
            .with_context(|| format!("writing {}", self.path.display()))
    }
}

/// Writes `frames` to `path` as a pcap with link type 237, one D_PDU per record.
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> anyhow::Result<()> {
    let mut pcap = PcapWriter::create(path)?;
    for (i, frame) in frames.iter().enumerate() {
        let tenths = i as u32;
        let ts = Timestamp {
            secs: SAMPLE_EPOCH_SECS + tenths / 10,
            micros: (tenths % 10) * 100_000,
        };
        pcap.write(ts, frame)?;
    }
    pcap.flush()
}

/// `skywave frames sample --out FILE`.
pub fn sample_command(out: &Path) -> anyhow::Result<()> {
    let frames = sample::sample_frames()?;
    write_pcap(out, &frames)?;
    let bytes: usize = frames.iter().map(Vec::len).sum();
    outln!(
        "wrote {} D_PDUs ({bytes} bytes) to {}",
        frames.len(),
        out.display()
    )?;
    Ok(())
}

/// `skywave frames decode FILE`.
pub fn decode_command(path: &Path) -> anyhow::Result<()> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let result = decode::decode(&bytes, &mut out);
    out.flush()?;
    result
        .map(|_| ())
        .with_context(|| format!("decoding {}", path.display()))
}
