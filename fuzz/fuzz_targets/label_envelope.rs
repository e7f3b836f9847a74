//! Any bytes as the labelled envelope a SIS client sends on a guarded SAP
//! (`skywave_protocol::label::envelope`): parsing never panics, an envelope that parses writes
//! back to the same bytes, and its compact label, if it says it has one, decodes or is refused.
//! Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run label_envelope`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skywave_protocol::label::compact;
use skywave_protocol::label::envelope::{Envelope, LabelForm};

fuzz_target!(|data: &[u8]| {
    let Ok(envelope) = Envelope::parse(data) else {
        return;
    };
    let mut out = vec![0u8; envelope.len()];
    let written = envelope
        .write(&mut out)
        .expect("a parsed envelope writes back");
    assert_eq!(&out[..written], data, "round trip");
    if envelope.form == LabelForm::Compact {
        let _ = compact::decode(envelope.label);
    }
});
