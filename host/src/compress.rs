//! zstd compression of node messages between host agents.
//!
//! Catching a neighbour up after an outage means sending many artifacts at once. Between two
//! laptops the agent packs such a run of node messages into one BATCH U_PDU compressed with
//! zstd and a dictionary trained on artifact sets, shipped in the binary. Compression is
//! negotiated per neighbour: an agent announces what it can read in a CAPS message when a link
//! comes up, and compresses only towards neighbours that announced it. Firmware never sends
//! CAPS, so links to adjuncts stay uncompressed and the core they run never sees a BATCH.
//!
//! ```text
//! CAPS   0x81 | flags:u8 (bit 0: BATCH with dictionary 1)
//! BATCH  0x80 | dictionary id:u8 | zstd frame of n x ( length:varint | node message )
//! ```
//!
//! The tags sit above the node message tags (1..=4) so one byte tells them apart. A BATCH is
//! expanded at most to [`MAX_DECOMPRESSED`] (plus one byte, to notice it would go further) and
//! refused past that, so a hostile peer cannot make an agent allocate without bound. docs/operator.md records the measured gain.

use std::io::Read;

use skywave_protocol::codec::{Reader, Varint};
use skywave_protocol::node::message::FIRST_DRIVER_TAG;

/// The BATCH tag.
pub const BATCH: u8 = 0x80;
/// The CAPS tag.
pub const CAPS: u8 = 0x81;
// Both are driver tags, which a node (the firmware's, say) ignores.
const _: () = assert!(BATCH >= FIRST_DRIVER_TAG && CAPS >= FIRST_DRIVER_TAG);
/// CAPS flag: this agent reads BATCH with [`DICTIONARY_ID`].
pub const CAPS_BATCH: u8 = 0x01;
/// The dictionary shipped in this build.
pub const DICTIONARY_ID: u8 = 1;
/// The most bytes a BATCH may expand to.
pub const MAX_DECOMPRESSED: usize = 64 * 1024;
/// zstd level for batches: HF airtime is worth far more than the laptop's CPU.
const LEVEL: i32 = 19;

/// The dictionary, trained on artifact sets (`cargo run -p skywave-host --example
/// train_dictionary` regenerates it).
static DICTIONARY: &[u8] = include_bytes!("compress/artifacts-1.zdict");

/// Why a BATCH could not be unpacked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Not a BATCH, or no dictionary id.
    NotBatch,
    /// A dictionary this build does not have.
    UnknownDictionary(u8),
    /// The zstd frame is damaged, or expands beyond [`MAX_DECOMPRESSED`].
    Corrupt(String),
    /// The expanded bytes are not a sequence of length-prefixed messages.
    Framing,
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::NotBatch => f.write_str("not a BATCH"),
            BatchError::UnknownDictionary(id) => write!(f, "unknown dictionary {id}"),
            BatchError::Corrupt(e) => write!(f, "damaged BATCH: {e}"),
            BatchError::Framing => f.write_str("BATCH content is not length-prefixed messages"),
        }
    }
}

impl std::error::Error for BatchError {}

/// The CAPS message this agent sends.
pub fn caps() -> [u8; 2] {
    [CAPS, CAPS_BATCH]
}

/// Whether a CAPS message announces BATCH support.
pub fn reads_batches(caps: &[u8]) -> bool {
    matches!(caps, [CAPS, flags, ..] if flags & CAPS_BATCH != 0)
}

/// Packs `messages` into one BATCH.
pub fn pack<'m>(messages: impl IntoIterator<Item = &'m [u8]>) -> std::io::Result<Vec<u8>> {
    let mut plain = Vec::new();
    for m in messages {
        plain.extend_from_slice(Varint::new(m.len() as u64).as_bytes());
        plain.extend_from_slice(m);
    }
    let mut compressor = zstd::bulk::Compressor::with_dictionary(LEVEL, DICTIONARY)?;
    let frame = compressor.compress(&plain)?;
    let mut out = Vec::with_capacity(frame.len() + 2);
    out.extend_from_slice(&[BATCH, DICTIONARY_ID]);
    out.extend_from_slice(&frame);
    Ok(out)
}

/// Unpacks a BATCH into its node messages.
pub fn unpack(batch: &[u8]) -> Result<Vec<Vec<u8>>, BatchError> {
    let [BATCH, id, frame @ ..] = batch else {
        return Err(BatchError::NotBatch);
    };
    if *id != DICTIONARY_ID {
        return Err(BatchError::UnknownDictionary(*id));
    }
    let corrupt = |e: std::io::Error| BatchError::Corrupt(e.to_string());
    let mut decoder =
        zstd::stream::read::Decoder::with_dictionary(frame, DICTIONARY).map_err(corrupt)?;
    let mut plain = Vec::new();
    // Read one byte past the limit: getting it means the batch is too big.
    (&mut decoder)
        .take(MAX_DECOMPRESSED as u64 + 1)
        .read_to_end(&mut plain)
        .map_err(corrupt)?;
    if plain.len() > MAX_DECOMPRESSED {
        return Err(BatchError::Corrupt(format!(
            "expands beyond {MAX_DECOMPRESSED} bytes"
        )));
    }
    let mut messages = Vec::new();
    let mut r = Reader::new(&plain);
    while !r.is_empty() {
        let len = r.varint().map_err(|_| BatchError::Framing)?;
        let len = usize::try_from(len).map_err(|_| BatchError::Framing)?;
        messages.push(r.take(len).map_err(|_| BatchError::Framing)?.to_vec());
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use skywave_protocol::policy::sample::Coalition;

    fn artifact_messages() -> Vec<Vec<u8>> {
        Coalition::new()
            .artifacts()
            .into_iter()
            .map(|a| [&[1u8][..], &a].concat())
            .collect()
    }

    #[test]
    fn batches_round_trip() {
        let messages = artifact_messages();
        let batch = pack(messages.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(unpack(&batch).unwrap(), messages);
        assert_eq!(
            unpack(&pack(std::iter::empty()).unwrap()).unwrap(),
            Vec::<Vec<u8>>::new()
        );
    }

    #[test]
    fn the_dictionary_pays_for_itself_on_the_sample_coalition() {
        let messages = artifact_messages();
        let raw: usize = messages.iter().map(Vec::len).sum();
        let batch = pack(messages.iter().map(Vec::as_slice)).unwrap().len();
        let plain = zstd::bulk::compress(&messages.concat(), LEVEL)
            .unwrap()
            .len();
        eprintln!("sample coalition: {raw} B raw, {plain} B zstd, {batch} B zstd with dictionary");
        assert!(
            batch < plain,
            "with dictionary {batch} B, without {plain} B"
        );
        assert!(batch * 10 < raw * 9, "batch {batch} B of {raw} B raw");
    }

    #[test]
    fn hostile_batches_are_refused_without_expanding() {
        assert_eq!(unpack(&[1, 2, 3]), Err(BatchError::NotBatch));
        assert_eq!(
            unpack(&[BATCH, 9, 0]),
            Err(BatchError::UnknownDictionary(9))
        );
        assert!(matches!(
            unpack(&[BATCH, DICTIONARY_ID, 1, 2, 3]),
            Err(BatchError::Corrupt(_))
        ));
        // A megabyte of zeros compresses to a few dozen bytes: refused at the limit.
        let bomb = pack([&vec![0u8; 1 << 20][..]]).unwrap();
        assert!(bomb.len() < 200);
        assert!(matches!(unpack(&bomb), Err(BatchError::Corrupt(_))));
        // Lengths that overrun the content.
        let mut bad = Vec::new();
        bad.extend_from_slice(Varint::new(50).as_bytes());
        bad.extend_from_slice(b"short");
        let frame = zstd::bulk::Compressor::with_dictionary(3, DICTIONARY)
            .unwrap()
            .compress(&bad)
            .unwrap();
        let batch = [&[BATCH, DICTIONARY_ID][..], &frame].concat();
        assert_eq!(unpack(&batch), Err(BatchError::Framing));
    }

    #[test]
    fn caps_are_recognised() {
        assert!(reads_batches(&caps()));
        assert!(!reads_batches(&[CAPS, 0]));
        assert!(!reads_batches(&[CAPS]));
    }
}
