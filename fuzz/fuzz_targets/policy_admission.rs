//! Any bytes offered to a trust store that holds the sample coalition (so deltas find their
//! base and signers are known): decoding and admission never panic, and a refusal never
//! changes the store. Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run policy_admission`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use skywave_protocol::policy::sample::{Coalition, NOW};
use skywave_protocol::policy::{Signed, TrustStore};

static STORE: LazyLock<TrustStore> = LazyLock::new(|| {
    Coalition::new()
        .store()
        .expect("the sample coalition is admitted")
});

fuzz_target!(|data: &[u8]| {
    let _ = Signed::decode(data);
    for now in [Some(NOW), None] {
        let mut store = STORE.clone();
        if store.admit(data, now).is_err() {
            assert!(store == *STORE, "a refusal changed the store");
        }
    }
});
