//! The two backends side by side on the same statements, in the same run: for each, halo2 (IPA
//! on Vesta, no setup) key generation, proving and verification with its proof size and k, beside
//! the Groth16 proof of the very same request and credentials.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::statements::statement;
use dossier_halo2::proof::Keys;
use dossier_halo2::statement::{k_of, StatementCircuit, StatementWitness};
use dossier_prover::ShapeProver;
use std::time::Duration;

fn halo2(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let params = dir.path();
    dossier_prover::setup_dev(params, &dossier_core::query::SHAPES, |_, _| {}).expect("setup");
    let mut g = c.benchmark_group("backends");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for name in ["recruitment", "appraisals"] {
        let s = statement(name);
        let shape = s.query.shape;
        let sn = shape.name();
        let scope = s.request.scope_field().expect("scope");
        let today = s.request.today_days().expect("today");
        let witness = || {
            StatementWitness::build(
                &s.query,
                &s.secret,
                &s.offered,
                s.request.challenge,
                scope,
                today,
            )
            .expect("witness")
        };
        g.bench_function(format!("{sn}/halo2_keygen"), |b| {
            b.iter(|| Keys::generate(shape).expect("keys"))
        });
        let keys = Keys::generate(shape).expect("keys");
        let public = witness().instance();
        let circuit = StatementCircuit {
            shape,
            witness: Some(witness()),
        };
        g.bench_function(format!("{sn}/halo2_prove"), |b| {
            b.iter(|| keys.prove(&circuit, &public).expect("proves"))
        });
        let proof = keys.prove(&circuit, &public).expect("proves");
        eprintln!(
            "halo2 {sn}: k = {}, proof {} bytes",
            k_of(shape),
            proof.len()
        );
        g.bench_function(format!("{sn}/halo2_verify"), |b| {
            b.iter(|| keys.verify(&proof, &public).expect("verifies"))
        });
        // Groth16 on the same request and credentials, same run.
        let prover = ShapeProver::load(params, shape).expect("pk");
        g.bench_function(format!("{sn}/groth16_prove"), |b| {
            b.iter(|| {
                prover
                    .prove(&s.request, s.witness(), "note")
                    .expect("prove")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, halo2);
criterion_main!(benches);
