//! Any bytes as a TCP stream of SIS primitives, as the agent's SIS server and the SIS bearer
//! read them: framing and parsing never panic, and whatever parses survives emit and parse
//! again unchanged, in exactly the bytes `frame_len` promised.
#![no_main]

use libfuzzer_sys::fuzz_target;
use skywave_protocol::sis::{HEADER_LEN, Packet, Primitive, frame_len};

fuzz_target!(|data: &[u8]| {
    let mut stream = data;
    while let Ok(Some(len)) = frame_len(stream) {
        let view = Packet::new_unchecked(stream);
        let _ = (view.preamble(), view.version(), view.size(), view.body());
        let Ok(packet) = Packet::new_checked(stream) else {
            assert!(stream.len() < len, "a whole frame must make a checked view");
            return;
        };
        assert_eq!(packet.frame_len(), len);
        if let Ok(p) = Primitive::parse_packet(&packet) {
            let mut buf = vec![0u8; p.frame_len()];
            let n = p.emit(&mut buf).expect("a parsed primitive must emit");
            assert_eq!(n, buf.len());
            let again = Packet::new_checked(&buf[..]).expect("emitted frame is well-formed");
            assert_eq!(frame_len(&buf), Ok(Some(n)));
            assert_eq!(
                Primitive::parse_packet(&again).expect("emitted frame parses"),
                p
            );
            assert_eq!(again.body().len() + HEADER_LEN, n);
        }
        stream = &stream[len..];
    }
});
