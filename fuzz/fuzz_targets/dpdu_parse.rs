//! Any bytes given to the D_PDU view and parser: never a panic, and whatever parses must
//! survive emit and parse again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skywave_protocol::wire::{Dpdu, Frame, MAX_DPDU_LEN};

fuzz_target!(|data: &[u8]| {
    let frame = Frame::new_unchecked(data);
    // Every accessor must be safe on an unchecked view of arbitrary bytes.
    let _ = (
        frame.data(),
        frame.type_header(),
        frame.data_crc(),
        frame.header_crc_ok(),
    );
    let _ = Dpdu::parse_ignoring_data_crc(&frame);
    let Ok(frame) = Frame::new_checked(data) else {
        return;
    };
    let Ok(dpdu) = Dpdu::parse(&frame) else {
        return;
    };
    let mut buf = [0u8; MAX_DPDU_LEN];
    let len = dpdu.emit(&mut buf).expect("a parsed D_PDU must emit");
    let again = Frame::new_checked(&buf[..len]).expect("emitted frame is well-formed");
    assert_eq!(again.frame_len(), len);
    assert_eq!(Dpdu::parse(&again).expect("emitted frame parses"), dpdu);
});
