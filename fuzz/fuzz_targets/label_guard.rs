//! Any bytes as a compact label, a label binding, or a policy a label is checked against: the
//! label module never panics. The first byte picks what the rest is; the guard decides on a
//! store holding the sample coalition. Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run label_guard`.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use skywave_protocol::label::{self, Endpoints, ReplayWindow, binding, compact};
use skywave_protocol::policy::sample::{AUS, Coalition, GBR, NOW, USA};
use skywave_protocol::policy::{Artifact, Signed, TrustStore};

static STORE: LazyLock<TrustStore> = LazyLock::new(|| {
    Coalition::new()
        .store()
        .expect("the sample coalition is admitted")
});

const ENDS: Endpoints = Endpoints {
    source: 0x101,
    source_sap: 17,
    destination: 0x202,
    destination_sap: 17,
};

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(record) = compact::decode(rest) {
                for audience in [GBR, USA, AUS] {
                    let _ =
                        label::decide(&*STORE, &compact::as_label(&record), audience, Some(NOW));
                }
            }
        }
        1 => {
            let mut window = ReplayWindow::<4>::new();
            let (binding_bytes, payload) = rest.split_at(rest.len() / 2);
            let _ = binding::verify(&*STORE, &mut window, binding_bytes, payload, &ENDS, None);
        }
        _ => {
            // A compact label (length-prefixed), then a policy (its signature not checked).
            let Some((&len, rest)) = rest.split_first() else {
                return;
            };
            let (label_bytes, policy_bytes) = rest.split_at(usize::from(len).min(rest.len()));
            if let (
                Ok(Signed {
                    artifact: Artifact::Policy(p),
                    ..
                }),
                Ok(record),
            ) = (Signed::decode(policy_bytes), compact::decode(label_bytes))
            {
                let _ = label::validate(&p, &compact::as_label(&record));
            }
        }
    }
});
