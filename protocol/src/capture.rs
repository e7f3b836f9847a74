//! pcap captures of D_PDUs, sans-IO.
//!
//! Wireshark and tshark decode STANAG 5066 D_PDUs from classic pcap files with link type 237
//! (`LINKTYPE_STANAG_5066_D_PDU`), one D_PDU per record, sync word through the last CRC. This
//! module makes the header bytes for such files and reads them back from a byte slice, without
//! touching a file: the host agent writes captures with it, the simulator writes its virtual
//! link traffic with it, and the firmware could stream records out of a debug port.
//!
//! Only the classic format is written (microsecond timestamps, little-endian); reading also
//! accepts big-endian and nanosecond files, since those are what other tools produce.

/// The pcap link type for STANAG 5066 D_PDUs.
pub const LINKTYPE_STANAG_5066_D_PDU: u32 = 237;
/// Length of the pcap file header.
pub const FILE_HEADER_LEN: usize = 24;
/// Length of a pcap record header.
pub const RECORD_HEADER_LEN: usize = 16;
/// The snapshot length written: a D_PDU is never longer than this.
pub const SNAPLEN: u32 = 65_535;

const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
const MAGIC_NANOS: u32 = 0xA1B2_3C4D;

/// A record's timestamp: seconds since the Unix epoch and microseconds within the second.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: u32,
    /// Microseconds within the second (0..1_000_000).
    pub micros: u32,
}

/// Why bytes could not be read as a pcap capture.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CaptureError {
    /// The file does not start with a pcap magic number (it may be a raw byte stream).
    NotPcap,
    /// The file ends inside a header or record that starts at this byte offset.
    Truncated {
        /// Offset of the incomplete header or record.
        offset: usize,
    },
}

impl core::fmt::Display for CaptureError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CaptureError::NotPcap => f.write_str("not a pcap file"),
            CaptureError::Truncated { offset } => {
                write!(f, "pcap truncated in the record at byte {offset}")
            }
        }
    }
}

impl core::error::Error for CaptureError {}

/// The 24-byte file header of a capture with link type 237.
pub fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    let fields: [&[u8]; 7] = [
        &MAGIC_MICROS.to_le_bytes(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
        &0i32.to_le_bytes(),
        &0u32.to_le_bytes(),
        &SNAPLEN.to_le_bytes(),
        &LINKTYPE_STANAG_5066_D_PDU.to_le_bytes(),
    ];
    let mut at = 0;
    for field in fields {
        if let Some(dst) = h.get_mut(at..at + field.len()) {
            dst.copy_from_slice(field);
        }
        at += field.len();
    }
    h
}

/// The 16-byte header of a record holding `len` bytes captured at `ts`.
pub fn record_header(ts: Timestamp, len: u32) -> [u8; RECORD_HEADER_LEN] {
    let mut h = [0u8; RECORD_HEADER_LEN];
    for (i, word) in [ts.secs, ts.micros, len, len].into_iter().enumerate() {
        if let Some(dst) = h.get_mut(4 * i..4 * i + 4) {
            dst.copy_from_slice(&word.to_le_bytes());
        }
    }
    h
}

/// One record read back from a capture.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Record<'a> {
    /// When it was captured (sub-second part converted to microseconds).
    pub ts: Timestamp,
    /// Its length on the wire, which may exceed the bytes captured.
    pub orig_len: u32,
    /// The bytes captured.
    pub data: &'a [u8],
}

/// Reads the records of a classic pcap file held in memory.
#[derive(Clone, Debug)]
pub struct PcapReader<'a> {
    bytes: &'a [u8],
    at: usize,
    big_endian: bool,
    nanos: bool,
    link_type: u32,
    failed: bool,
}

impl<'a> PcapReader<'a> {
    /// Checks the file header of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Result<Self, CaptureError> {
        let magic = word(bytes, 0, false).ok_or(CaptureError::NotPcap)?;
        let (big_endian, nanos) = match magic {
            MAGIC_MICROS => (false, false),
            MAGIC_NANOS => (false, true),
            m if m.swap_bytes() == MAGIC_MICROS => (true, false),
            m if m.swap_bytes() == MAGIC_NANOS => (true, true),
            _ => return Err(CaptureError::NotPcap),
        };
        let link_type = word(bytes, 20, big_endian).ok_or(CaptureError::Truncated { offset: 0 })?;
        Ok(PcapReader {
            bytes,
            at: FILE_HEADER_LEN,
            big_endian,
            nanos,
            link_type,
            failed: false,
        })
    }

    /// The capture's link type (237 for D_PDUs).
    pub const fn link_type(&self) -> u32 {
        self.link_type
    }
}

fn word(bytes: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

impl<'a> Iterator for PcapReader<'a> {
    type Item = Result<Record<'a>, CaptureError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        let start = self.at;
        let field = |i: usize| word(self.bytes, start + 4 * i, self.big_endian);
        let record = (|| {
            let (secs, frac, incl, orig) = (field(0)?, field(1)?, field(2)?, field(3)?);
            let data_start = start + RECORD_HEADER_LEN;
            let data = self.bytes.get(data_start..data_start + incl as usize)?;
            let micros = if self.nanos { frac / 1000 } else { frac };
            Some(Record {
                ts: Timestamp { secs, micros },
                orig_len: orig,
                data,
            })
        })();
        match record {
            Some(r) => {
                self.at = start + RECORD_HEADER_LEN + r.data.len();
                Some(Ok(r))
            }
            None => {
                self.failed = true;
                Some(Err(CaptureError::Truncated { offset: start }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    #[test]
    fn written_headers_read_back() {
        let mut file = file_header().to_vec();
        for (i, payload) in [&b"one"[..], &b"second"[..]].iter().enumerate() {
            let ts = Timestamp {
                secs: 1_700_000_000 + i as u32,
                micros: 250,
            };
            file.extend(record_header(ts, payload.len() as u32));
            file.extend_from_slice(payload);
        }
        let reader = PcapReader::new(&file).unwrap();
        assert_eq!(reader.link_type(), 237);
        let records: Vec<_> = reader.map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].data, b"second");
        assert_eq!(records[1].ts.secs, 1_700_000_001);
        assert_eq!(records[0].ts.micros, 250);
    }

    #[test]
    fn big_endian_nanosecond_files_are_read() {
        let mut file = Vec::new();
        for w in [MAGIC_NANOS, 0x0002_0004, 0, 0, 65535, 237] {
            file.extend(u32::to_be_bytes(w));
        }
        for w in [10, 5_000, 2, 2] {
            file.extend(u32::to_be_bytes(w));
        }
        file.extend([0x90, 0xEB]);
        let mut reader = PcapReader::new(&file).unwrap();
        let r = reader.next().unwrap().unwrap();
        assert_eq!((r.ts.secs, r.ts.micros, r.data), (10, 5, &[0x90, 0xEB][..]));
        assert!(reader.next().is_none());
    }

    #[test]
    fn truncation_and_foreign_files_are_errors() {
        assert_eq!(PcapReader::new(b"90EB").unwrap_err(), CaptureError::NotPcap);
        let mut file = file_header().to_vec();
        file.extend(record_header(Timestamp::default(), 100));
        file.extend([0u8; 10]);
        let mut reader = PcapReader::new(&file).unwrap();
        assert_eq!(
            reader.next(),
            Some(Err(CaptureError::Truncated { offset: 24 }))
        );
        assert_eq!(reader.next(), None);
    }
}
