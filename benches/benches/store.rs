//! The store on disk: issuance (single and batch, durable), path lookup, revocation (one durable
//! ledger append), checkpoint, and log proofs, on a registry of 100,000 credentials. The 1M-scale
//! numbers come from `benches/benches/scale.rs`.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

mod reads;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dossier_benches::{employment_claims, store_with_issuer};
use dossier_core::Fr;
use dossier_store::registry::{self, MemoryTree};

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let (store, log, issuer) = store_with_issuer(&dir.path().join("bench.redb"));
    let claims = employment_claims(10_000);
    for _ in 0..10 {
        store.issue(&issuer, &claims, 20_000, 2).expect("issue");
    }
    store.checkpoint(&log, 3).expect("checkpoint");

    let mut g = c.benchmark_group("store");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(5));
    g.bench_function("issue_batch_10000_durable", |b| {
        b.iter(|| store.issue(&issuer, &claims, 20_000, 2).expect("issue"))
    });
    let twin_claims = dossier_benches::employment_claims_halo2(10_000);
    g.bench_function("issue_batch_10000_durable_with_halo2_twin", |b| {
        b.iter(|| {
            store
                .issue(&issuer, &twin_claims, 20_000, 2)
                .expect("issue")
        })
    });
    g.bench_function("issue_single_durable", |b| {
        b.iter(|| {
            store
                .issue(&issuer, &claims[..1], 20_000, 2)
                .expect("issue")
        })
    });
    let mut next = 0u32;
    g.bench_function("revoke_single_durable", |b| {
        b.iter(|| {
            store.revoke(&issuer, next, 4).expect("revoke");
            next += 1;
        })
    });
    g.bench_function("checkpoint", |b| {
        b.iter(|| store.checkpoint(&log, 5).expect("checkpoint"))
    });
    reads::reads(&mut g, &store, 100_000, "path_lookup");
    g.finish();

    let mut g = c.benchmark_group("registry_memory");
    g.sample_size(10);
    let leaves: Vec<(u32, Fr)> = (0..10_000u32)
        .map(|i| (i, Fr::from(u64::from(i) + 1)))
        .collect();
    g.bench_function("batch_10000", |b| {
        b.iter_batched(
            MemoryTree::default,
            |mut t| registry::apply(&mut t, &leaves).expect("apply"),
            BatchSize::LargeInput,
        )
    });
    g.bench_function("single_update", |b| {
        let mut t = MemoryTree::default();
        registry::apply(&mut t, &leaves).expect("apply");
        let mut i = 0u32;
        b.iter(|| {
            i = (i + 1) % 10_000;
            registry::apply(&mut t, &[(i, Fr::from(7u64))]).expect("apply")
        })
    });
    g.finish();
}

criterion_group!(benches, store);
criterion_main!(benches);
