//! Any bytes offered to a trust store that holds the sample coalition (so deltas find their
//! base and signers are known): decoding and admission never panic, and a refusal never
//! changes the store. Whatever the hand-written body decoder (`policy::body`) accepts, postcard
//! writes again as bytes that decode to the same artifact: the decoder reads nothing the
//! encoder cannot say. Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run policy_admission`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use skywave_protocol::policy::encoding::encode_signed_part;
use skywave_protocol::policy::sample::{Coalition, NOW};
use skywave_protocol::policy::{Signed, TrustStore};

static STORE: LazyLock<TrustStore> = LazyLock::new(|| {
    Coalition::new()
        .store()
        .expect("the sample coalition is admitted")
});

fuzz_target!(|data: &[u8]| {
    if let Ok(signed) = Signed::decode(data) {
        // Postcard is not canonical (a varint may be written longer), so the bytes may differ;
        // the artifact may not.
        let mut out = [0u8; 2 * skywave_protocol::policy::MAX_ARTIFACT_LEN];
        let len = encode_signed_part(&signed.artifact, &mut out).expect("re-encodes");
        let bytes = [&out[..len], &signed.signature[..]].concat();
        let again = Signed::decode(&bytes)
            .expect("re-encoded bytes decode")
            .artifact;
        assert_eq!(again, signed.artifact, "decoded, encoded, decoded differs");
    }
    for now in [Some(NOW), None] {
        let mut store = STORE.clone();
        if store.admit(data, now).is_err() {
            assert!(store == *STORE, "a refusal changed the store");
        }
    }
});
