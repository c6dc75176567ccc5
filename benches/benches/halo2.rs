//! The halo2 backend's membership core (registry membership at depth 32, holder binding, a
//! 64-bit range predicate, the nullifier; IPA on Vesta, no setup): parameter derivation with key
//! generation, proving and verification, and the proof's size.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use dossier_halo2::membership::{instance, Membership, Witness};
use dossier_halo2::proof::{Keys, K};
use pasta_curves::pallas::Base as Fp;
use std::time::Duration;

fn halo2(c: &mut Criterion) {
    let w = Witness {
        secret: Fp::from(0xabcdef),
        value: Fp::from(2015),
        salt: Fp::from(42),
        index: 977,
        siblings: core::array::from_fn(|i| Fp::from(7 * i as u64 + 1)),
    };
    let scope = Fp::from(1234);
    let public = instance(
        w.root(),
        scope,
        w.nullifier(scope),
        2000,
        2020,
        Fp::from(99),
    );
    let circuit = Membership { witness: Some(w) };
    let mut g = c.benchmark_group("halo2");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function(format!("params + keygen, k = {K}"), |b| {
        b.iter(|| Keys::generate().expect("keys"))
    });
    let keys = Keys::generate().expect("keys");
    g.bench_function("prove membership core", |b| {
        b.iter(|| keys.prove(&circuit, &public).expect("proves"))
    });
    let proof = keys.prove(&circuit, &public).expect("proves");
    eprintln!(
        "halo2 membership core: k = {K}, proof {} bytes",
        proof.len()
    );
    g.bench_function("verify membership core", |b| {
        b.iter(|| keys.verify(&proof, &public).expect("verifies"))
    });
    g.finish();
}

criterion_group!(benches, halo2);
criterion_main!(benches);
