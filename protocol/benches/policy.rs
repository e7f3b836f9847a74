//! Policy costs: signature verifications per second, whole admissions, and decide() latency
//! with 64 policies and 64 translators admitted (decide() verifies no signatures). Run with
//! `cargo bench -p skywave-protocol --features std --bench policy`; docs/policy.md records the
//! figures next to `openssl speed ecdsap256` on the same machine.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use skywave_protocol::policy::sample::{self, Coalition, GBR, NOW, USA, gbr};
use skywave_protocol::policy::{
    Artifact, Label, MAX_POLICIES, MAX_TRANSLATORS, Signed, SpiralRef, TrustStore,
};
use std::hint::black_box;

/// The sample coalition, topped up to full policy and translator tables. All the extra
/// translators go from GBR spiral 4 to USA spiral 5, so decide() has 64 candidates to weigh.
fn full_store(c: &Coalition) -> TrustStore {
    let mut store = c.store().unwrap_or_default();
    let spiral = |domain, spiral| SpiralRef { domain, spiral };
    for id in 0..MAX_POLICIES as u32 - 3 {
        let body = sample::policy(&c.gbr_signer, GBR, 100 + id, 1, 4, &sample::gbr_rules());
        let _ = store.admit(
            &sample::sign(&c.gbr_signer, &Artifact::Policy(body)),
            Some(NOW),
        );
    }
    for id in 0..MAX_TRANSLATORS as u32 - 2 {
        let (from, to) = (spiral(GBR, 4), spiral(USA, 5));
        let body = sample::translator(&c.gbr_usa_liaison, 100 + id, 1, from, to, 7);
        let bytes = sample::sign(&c.gbr_usa_liaison, &Artifact::Translator(body));
        let _ = store.admit(&bytes, Some(NOW));
    }
    store
}

fn verification(c: &mut Criterion) {
    let coalition = Coalition::new();
    let policy = coalition.gbr_policy(2, &sample::gbr_rules());
    let key = *coalition.gbr_signer.verifying_key();
    let store = coalition.store().unwrap_or_default();
    let mut group = c.benchmark_group("policy");
    group.throughput(Throughput::Elements(1));
    group.bench_function("verify", |b| {
        b.iter(|| Signed::decode(black_box(&policy)).map(|signed| signed.verify(black_box(&key))))
    });
    group.bench_function("admit", |b| {
        b.iter_batched_ref(
            || store.clone(),
            |store| store.admit(black_box(&policy), Some(NOW)),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

fn decision(c: &mut Criterion) {
    let coalition = Coalition::new();
    let store = full_store(&coalition);
    let categories = [gbr::OP_TELIC];
    let label = Label {
        domain: GBR,
        policy: 1,
        classification: gbr::SECRET,
        categories: &categories,
    };
    let mut group = c.benchmark_group("policy");
    group.throughput(Throughput::Elements(1));
    group.bench_function("decide_64", |b| {
        b.iter(|| store.decide(black_box(&label), black_box(USA), Some(NOW)))
    });
    // guard_decide_us: the guard's call (validity under the home policy, then the decision)
    // for the same label through the GBR -> USA translator, on the sample coalition alone.
    let sample_store = coalition.store().expect("the sample coalition is admitted");
    group.bench_function("guard_decide", |b| {
        b.iter(|| {
            skywave_protocol::label::decide(
                &sample_store,
                black_box(&label),
                black_box(USA),
                Some(NOW),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, verification, decision);
criterion_main!(benches);
