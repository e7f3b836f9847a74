//! `skywave frames decode`: list the D_PDUs in a pcap capture or a raw serial byte stream.
//!
//! Both inputs go through the same [`Deframer`] the agent runs on a live modem, so what this
//! command reports about a capture is what a node would have made of those bytes. A pcap file
//! (link type 237) is decoded record by record; anything else is taken as the raw bytes a
//! serial port delivered, noise and all.

use std::fmt::Write as _;
use std::io::{self, Write};

use skywave_protocol::capture::{CaptureError, LINKTYPE_STANAG_5066_D_PDU, PcapReader};
use skywave_protocol::codec::Hex;
use skywave_protocol::wire::{ArqFlags, Body, Deframer, Dpdu, Event, Frame};

/// What the decode found, as printed in the summary line.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Summary {
    /// Frames whose CRCs are correct and whose header parses.
    pub good: u64,
    /// False syncs, corrupt headers, and headers with correct CRC but impossible contents.
    pub bad_header: u64,
    /// Frames with a correct header and damaged or missing data.
    pub bad_data: u64,
    /// Bytes outside any frame.
    pub noise_bytes: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "frames: {} good, {} bad-header, {} bad-data, {} noise-bytes",
            self.good, self.bad_header, self.bad_data, self.noise_bytes
        )
    }
}

/// Where a frame was found: a pcap record number or a byte offset in a raw stream.
#[derive(Clone, Copy)]
enum Place {
    Record(usize),
    Offset(u64),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Record(n) => write!(f, "rec {n:>5}"),
            Place::Offset(o) => write!(f, "@{o:>8}"),
        }
    }
}

/// Decodes `bytes` (pcap or raw), writing one line per D_PDU and the summary line to `out`.
/// A truncated pcap is decoded up to the damage, summarised, and then reported as an error.
pub fn decode(bytes: &[u8], out: &mut impl Write) -> anyhow::Result<Summary> {
    let mut decoder = Decoder {
        deframer: Box::default(),
        summary: Summary::default(),
    };
    let outcome = match PcapReader::new(bytes) {
        Ok(reader) => decoder.pcap(reader, out),
        Err(CaptureError::NotPcap) => Ok(decoder.feed(bytes, None, out)?),
        Err(e) => Err(e.into()),
    };
    let mut summary = decoder.summary;
    summary.noise_bytes = decoder.deframer.stats().noise_bytes;
    writeln!(out, "{summary}")?;
    outcome.map(|()| summary)
}

struct Decoder {
    deframer: Box<Deframer>,
    summary: Summary,
}

impl Decoder {
    fn pcap(&mut self, reader: PcapReader<'_>, out: &mut impl Write) -> anyhow::Result<()> {
        if reader.link_type() != LINKTYPE_STANAG_5066_D_PDU {
            anyhow::bail!(
                "pcap link type {} is not STANAG 5066 D_PDU ({LINKTYPE_STANAG_5066_D_PDU})",
                reader.link_type()
            );
        }
        for (index, record) in reader.enumerate() {
            let record = record?;
            self.feed(record.data, Some(index + 1), out)?;
        }
        Ok(())
    }

    /// Feeds `data` through the deframer and flushes: a pcap record holds whole frames, and a
    /// raw capture ends with its file, so no frame should wait for bytes that will not come.
    fn feed(&mut self, data: &[u8], record: Option<usize>, out: &mut impl Write) -> io::Result<()> {
        let mut rest = data;
        while !rest.is_empty() {
            let taken = self.deframer.feed(rest);
            rest = rest.get(taken..).unwrap_or_default();
            self.drain(record, out)?;
        }
        self.deframer.flush();
        self.drain(record, out)
    }

    fn drain(&mut self, record: Option<usize>, out: &mut impl Write) -> io::Result<()> {
        while let Some(event) = self.deframer.poll() {
            let place = |offset| record.map_or(Place::Offset(offset), Place::Record);
            let line = match event {
                Event::Good { offset, frame } => match Dpdu::parse(&frame) {
                    Ok(dpdu) => {
                        self.summary.good += 1;
                        format!("{} GOOD     {}", place(offset), describe(&frame, &dpdu))
                    }
                    Err(e) => {
                        self.summary.bad_header += 1;
                        format!(
                            "{} BAD-HDR  {} ({e})",
                            place(offset),
                            header_summary(&frame)
                        )
                    }
                },
                Event::BadData { offset, frame } => {
                    self.summary.bad_data += 1;
                    let what = match Dpdu::parse_ignoring_data_crc(&frame) {
                        Ok(dpdu) => describe(&frame, &dpdu),
                        Err(_) => header_summary(&frame),
                    };
                    let cut = frame.as_bytes().len() < frame.frame_len();
                    let why = if cut {
                        "data cut short"
                    } else {
                        "data CRC wrong"
                    };
                    format!("{} BAD-DATA {what} ({why})", place(offset))
                }
                Event::BadHeader { offset } => {
                    self.summary.bad_header += 1;
                    format!("{} BAD-HDR  sync without a valid header", place(offset))
                }
            };
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

fn header_summary(frame: &Frame<'_>) -> String {
    format!(
        "type={} m={} h={} len={}",
        frame.type_nibble(),
        frame.address_size(),
        frame.header_size(),
        frame.frame_len()
    )
}

fn flag_list(flags: &ArqFlags) -> String {
    let names = [
        (flags.cpdu_start, "START"),
        (flags.cpdu_end, "END"),
        (flags.deliver_in_order, "IN-ORDER"),
        (flags.drop_cpdu, "DROP"),
        (flags.tx_win_uwe, "UWE"),
        (flags.tx_win_lwe, "LWE"),
    ];
    let set: Vec<&str> = names
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| *n)
        .collect();
    if set.is_empty() {
        "-".to_owned()
    } else {
        set.join(",")
    }
}

/// `bytes` as hex, `-` for none.
fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".to_owned();
    }
    Hex(bytes).to_string()
}

/// The destination in SIS dotted notation, where a group destination carries the 29th bit:
/// the non-ARQ broadcast address shows as 31.255.255.255.
fn destination(dpdu: &Dpdu<'_>) -> String {
    let group = matches!(
        dpdu.body,
        Body::NonArqData(d) | Body::ExpeditedNonArqData(d) if d.group
    );
    let value = dpdu.dest.value() | if group { 1 << 28 } else { 0 };
    format!(
        "{}.{}.{}.{}",
        value >> 24,
        (value >> 16) & 0xFF,
        (value >> 8) & 0xFF,
        value & 0xFF
    )
}

/// One line about a parsed D_PDU: type, addresses, sizes, the type's own fields, CRC status.
pub fn describe(frame: &Frame<'_>, dpdu: &Dpdu<'_>) -> String {
    let mut line = format!(
        "{:<16} {} -> {} m={} h={} len={} eot={} eow={}:{:02x}",
        dpdu.body.dpdu_type().name(),
        dpdu.src,
        destination(dpdu),
        frame.address_size(),
        frame.header_size(),
        frame.frame_len(),
        dpdu.eot,
        dpdu.eow.eow_type,
        dpdu.eow.data,
    );
    let fields = match &dpdu.body {
        Body::DataOnly(d) => format!("seq={} flags={}", d.tx_seq, flag_list(&d.flags)),
        Body::DataAck(d, a) => format!(
            "seq={} flags={} rx_lwe={} acks={}",
            d.tx_seq,
            flag_list(&d.flags),
            a.rx_lwe,
            hex(a.bitmap())
        ),
        Body::AckOnly(a) | Body::ExpeditedAckOnly(a) => {
            format!("rx_lwe={} acks={}", a.rx_lwe, hex(a.bitmap()))
        }
        Body::ResetWinResync(r) => format!(
            "full={} tx_win_rqst={} rx_win_cmnd={} ack={} new_rx_lwe={} frame_id={}",
            u8::from(r.full_reset),
            u8::from(r.tx_win_request),
            u8::from(r.rx_win_command),
            u8::from(r.reset_ack),
            r.new_rx_lwe,
            r.reset_frame_id
        ),
        Body::ExpeditedDataOnly(d) => format!(
            "seq={} cpdu_id={} start={} end={}",
            d.tx_seq,
            d.cpdu_id,
            u8::from(d.cpdu_start),
            u8::from(d.cpdu_end)
        ),
        Body::Management(m) => format!(
            "frame_id={} extended={} valid={} ack={} message={}",
            m.frame_id,
            u8::from(m.extended),
            u8::from(m.valid),
            u8::from(m.ack),
            hex(m.extended_message)
        ),
        Body::NonArqData(d) | Body::ExpeditedNonArqData(d) => format!(
            "cpdu_id={} cpdu_size={} offset={} window={} group={} in_order={}",
            d.cpdu_id,
            d.cpdu_size,
            d.segment_offset,
            d.reception_window,
            u8::from(d.group),
            u8::from(d.deliver_in_order)
        ),
        Body::Warning(w) => format!("received_type={} reason={}", w.received_type, w.reason),
    };
    let _ = write!(line, " {fields}");
    if let Some(segment) = dpdu.body.segment() {
        let crc = if frame.data_crc_ok() { "ok" } else { "BAD" };
        let _ = write!(line, " segment={} hdr-crc=ok data-crc={crc}", segment.len());
    } else {
        line.push_str(" hdr-crc=ok");
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::sample::{STANDARD_WARNING_VECTOR, sample_frames};

    fn run(bytes: &[u8]) -> (Summary, String) {
        let mut out = Vec::new();
        let summary = decode(bytes, &mut out).unwrap();
        (summary, String::from_utf8(out).unwrap())
    }

    #[test]
    fn raw_stream_with_noise_and_damage() {
        let mut stream = vec![0x55; 13];
        stream.extend(STANDARD_WARNING_VECTOR);
        let frames = sample_frames().unwrap();
        let mut damaged = frames[200].clone();
        let n = damaged.len();
        damaged[n - 6] ^= 0x01;
        stream.extend(&damaged);
        stream.extend([
            0x90, 0xEB, 0x22, 0x00, 0x00, 0x47, 0x05, 0x64, 0x02, 0x00, 0x00,
        ]);
        stream.extend(&frames[500]);
        let (summary, text) = run(&stream);
        assert_eq!(
            summary,
            Summary {
                good: 2,
                bad_header: 1,
                bad_data: 1,
                // 13 bytes of line noise, then the 11 bytes of the false frame.
                noise_bytes: 13 + 11,
            },
            "{text}"
        );
        assert!(
            text.contains("WARNING          0.0.0.100 -> 0.0.0.5"),
            "{text}"
        );
        assert!(text.ends_with("frames: 2 good, 1 bad-header, 1 bad-data, 24 noise-bytes\n"));
        assert_eq!(text.lines().filter(|l| l.contains("BAD-DATA")).count(), 1);
    }

    #[test]
    fn pcap_records_are_numbered() {
        let mut file = skywave_protocol::capture::file_header().to_vec();
        for frame in sample_frames().unwrap().iter().take(3) {
            let ts = skywave_protocol::capture::Timestamp::default();
            file.extend(skywave_protocol::capture::record_header(
                ts,
                frame.len() as u32,
            ));
            file.extend(frame);
        }
        let (summary, text) = run(&file);
        assert_eq!(summary.good, 3);
        assert!(text.starts_with("rec     1 GOOD     WARNING"), "{text}");
    }

    #[test]
    fn foreign_pcap_link_types_are_refused() {
        let mut file = skywave_protocol::capture::file_header().to_vec();
        file[20] = 1;
        let err = decode(&file, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("link type 1"), "{err}");
    }
}
