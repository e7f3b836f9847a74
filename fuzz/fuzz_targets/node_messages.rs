//! Any bytes arriving on the Skywave SAP of a node that holds the sample coalition: parsing,
//! admission, inventory comparison (SUMMARY, DETAIL pages, RANGES fingerprints) and the replies
//! never panic, whatever the node sends in answer is itself a well-formed node message, and a
//! RANGES that parses encodes back to the same bytes.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use skywave_protocol::link::MAX_UPDU_LEN;
use skywave_protocol::node::message::{Fingerprint, Message, Writer};
use skywave_protocol::node::{Config, FixedStorage, Node};
use skywave_protocol::policy::TrustStore;
use skywave_protocol::policy::sample::{Coalition, NOW};
use skywave_protocol::time::Instant;
use skywave_protocol::wire::Address;

const PEER: u32 = 7;

/// A node holding the whole sample coalition with one neighbour up, built once: signing and
/// verifying the coalition per input would leave no time for fuzzing.
static NODE: LazyLock<Node<FixedStorage<32>>> = LazyLock::new(|| {
    let c = Coalition::new();
    let mut trust = TrustStore::new();
    for root in c.roots() {
        trust.add_root(&root, Some(NOW)).expect("sample roots");
    }
    let mut node = Node::new(Config::new(9), trust, FixedStorage::new(), Some(NOW));
    for artifact in c.artifacts() {
        node.publish(Instant::ZERO, Some(NOW), &artifact)
            .expect("sample artifacts");
    }
    let peer = Address::new(PEER).expect("address");
    node.neighbour_up(Instant::ZERO, peer)
        .expect("one neighbour");
    node
});

fuzz_target!(|data: &[u8]| {
    let mut node = NODE.clone();
    let now = Instant::from_millis(1);
    let peer = Address::new(PEER).expect("address");
    // Each input is a sequence of messages: a length byte, then that many bytes.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (message, after) = tail.split_at(usize::from(len).min(tail.len()));
        // A RANGES that parses is written back byte for byte by the encoder.
        if let Ok(Message::Ranges(view)) = Message::parse(message) {
            let parts: Vec<Fingerprint> = view.iter().map(|(_, f)| f).collect();
            let mut out = [0u8; MAX_UPDU_LEN];
            let n = Writer::ranges(&mut out, view.domain, view.range, &parts)
                .expect("a parsed RANGES encodes");
            assert_eq!(&out[..n], message, "RANGES did not round-trip");
        }
        let _ = node.handle_message(now, Some(NOW), peer, message);
        rest = after;
    }
    let mut buf = [0u8; MAX_UPDU_LEN];
    while let Some(sent) = node.poll_send(now, &mut buf) {
        assert!(
            Message::parse(sent.data).is_ok(),
            "the node sent a malformed message"
        );
    }
    while node.poll_event().is_some() {}
});
