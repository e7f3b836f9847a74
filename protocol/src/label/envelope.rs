//! The labelled envelope a SIS client puts in its U_PDU on a guarded SAP whose
//! `[[guard.sap]]` says `envelope = true`, and what such a client is handed when labelled data
//! arrives for it (docs/sis.md, "Labelled clients").
//!
//! A 5066 client application knows nothing of Skywave's binding; it knows its own data and the
//! STANAG 4774 label its user gave it. The envelope carries exactly those two, so that a
//! labelling client can be written against Annex A and this page alone:
//!
//! ```text
//! byte 0      version: 1
//! byte 1      label form: 0 = compact (crate::label::compact), 1 = STANAG 4774 NATO XML (UTF-8)
//! bytes 2..4  label length L, big-endian
//! L bytes     the label (never empty)
//! ..          the data (what the destination client gets; may be empty)
//! ```
//!
//! This is not the envelope on the air (`crate::station` seals the binding in front of the data
//! there): the node takes this one apart, decides on the label, and submits the data labelled.
//! Parsing borrows and never allocates; the checks are only on the framing, the label itself is
//! checked by whoever reads it ([`crate::label::compact::decode`], or an XML reader on a host).

/// The version this code reads and writes.
pub const VERSION: u8 = 1;
/// The bytes before the label.
pub const HEADER_LEN: usize = 4;

/// How the label in an envelope is written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum LabelForm {
    /// The compact air form ([`crate::label::compact`]).
    Compact,
    /// The ADatP-4774 NATO XML syntax, UTF-8.
    Xml,
}

impl LabelForm {
    /// The form's byte.
    pub const fn byte(self) -> u8 {
        match self {
            LabelForm::Compact => 0,
            LabelForm::Xml => 1,
        }
    }
}

/// Why an envelope could not be read or written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum EnvelopeError {
    /// Shorter than its header.
    Truncated,
    /// A version other than [`VERSION`].
    Version(u8),
    /// A label form byte other than 0 (compact) and 1 (XML).
    Form(u8),
    /// The label length is zero: a labelled envelope without a label.
    NoLabel,
    /// The label length runs past the end of the envelope.
    LabelOverrun,
    /// Writing: the label is longer than a 16-bit length can say.
    LabelTooLong,
    /// Writing: the output buffer is too small.
    BufferTooSmall,
}

impl core::fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EnvelopeError::Truncated => f.write_str("shorter than the 4-byte header"),
            EnvelopeError::Version(v) => write!(f, "version {v}, not {VERSION}"),
            EnvelopeError::Form(b) => write!(f, "label form {b}, not 0 or 1"),
            EnvelopeError::NoLabel => f.write_str("no label"),
            EnvelopeError::LabelOverrun => f.write_str("label length past the end"),
            EnvelopeError::LabelTooLong => f.write_str("label over 65535 bytes"),
            EnvelopeError::BufferTooSmall => f.write_str("buffer too small"),
        }
    }
}

/// A labelled envelope, borrowed from the U_PDU it was read from or to be written.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Envelope<'a> {
    /// How the label is written.
    pub form: LabelForm,
    /// The label's bytes.
    pub label: &'a [u8],
    /// The client's data.
    pub data: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Reads an envelope; any byte string gives an envelope or an error, never a panic.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EnvelopeError> {
        let (header, rest) = bytes
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(EnvelopeError::Truncated)?;
        let [version, form, hi, lo] = *header;
        if version != VERSION {
            return Err(EnvelopeError::Version(version));
        }
        let form = match form {
            0 => LabelForm::Compact,
            1 => LabelForm::Xml,
            other => return Err(EnvelopeError::Form(other)),
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if len == 0 {
            return Err(EnvelopeError::NoLabel);
        }
        let (label, data) = rest
            .split_at_checked(len)
            .ok_or(EnvelopeError::LabelOverrun)?;
        Ok(Envelope { form, label, data })
    }

    /// The bytes [`Envelope::write`] needs.
    pub const fn len(&self) -> usize {
        HEADER_LEN + self.label.len() + self.data.len()
    }

    /// Whether the envelope is empty: never, it has a header.
    pub const fn is_empty(&self) -> bool {
        false
    }

    /// Writes the envelope into `out`; returns the bytes written.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, EnvelopeError> {
        if self.label.is_empty() {
            return Err(EnvelopeError::NoLabel);
        }
        let len = u16::try_from(self.label.len()).map_err(|_| EnvelopeError::LabelTooLong)?;
        let total = self.len();
        let out = out.get_mut(..total).ok_or(EnvelopeError::BufferTooSmall)?;
        let (header, rest) = out
            .split_first_chunk_mut::<HEADER_LEN>()
            .ok_or(EnvelopeError::BufferTooSmall)?;
        let [hi, lo] = len.to_be_bytes();
        *header = [VERSION, self.form.byte(), hi, lo];
        let (label, data) = rest
            .split_at_mut_checked(self.label.len())
            .ok_or(EnvelopeError::BufferTooSmall)?;
        label.copy_from_slice(self.label);
        data.copy_from_slice(self.data);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of docs/sis.md: a compact label of 3 bytes and the data "hi".
    #[test]
    fn the_documented_example_reads_and_writes() {
        let bytes = [1, 0, 0, 3, 0xaa, 0xbb, 0xcc, b'h', b'i'];
        let e = Envelope::parse(&bytes).unwrap();
        assert_eq!(
            e,
            Envelope {
                form: LabelForm::Compact,
                label: &[0xaa, 0xbb, 0xcc],
                data: b"hi"
            }
        );
        let mut out = [0u8; 16];
        assert_eq!(e.write(&mut out), Ok(bytes.len()));
        assert_eq!(&out[..bytes.len()], &bytes);
        assert_eq!(e.write(&mut out[..8]), Err(EnvelopeError::BufferTooSmall));
    }

    #[test]
    fn every_malformed_envelope_is_refused_with_its_reason() {
        for (bytes, want) in [
            (&[][..], EnvelopeError::Truncated),
            (&[1, 0, 0][..], EnvelopeError::Truncated),
            (&[2, 0, 0, 1, 9][..], EnvelopeError::Version(2)),
            (&[1, 2, 0, 1, 9][..], EnvelopeError::Form(2)),
            (&[1, 0, 0, 0, 9][..], EnvelopeError::NoLabel),
            (&[1, 1, 0, 3, 9, 9][..], EnvelopeError::LabelOverrun),
        ] {
            assert_eq!(Envelope::parse(bytes), Err(want), "{bytes:?}");
        }
        // A label that fills the envelope leaves empty data, which is allowed.
        let e = Envelope::parse(&[1, 1, 0, 1, b'<']).unwrap();
        assert_eq!((e.form, e.data), (LabelForm::Xml, &[][..]));
    }
}
