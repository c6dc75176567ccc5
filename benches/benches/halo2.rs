//! The two backends side by side on the same statements, in the same run: for each, halo2 (IPA
//! on Vesta, no setup) key generation, proving and verification with its proof size and k, beside
//! the Groth16 proof of the very same request and credentials; and halo2 batch verification
//! (16 proofs, one final MSM) beside halo2's own single-proof verifier and the floor of any IPA
//! check, one MSM over the 2^k bases, all measured in the same run.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::statements::statement;
use dossier_halo2::proof::Keys;
use dossier_halo2::statement::{k_of, StatementCircuit, StatementWitness};
use dossier_prover::ShapeProver;
use halo2_proofs::plonk::{verify_proof, SingleVerifier};
use halo2_proofs::transcript::{Blake2bRead, Challenge255};
use pasta_curves::vesta;
use std::time::Duration;

/// Proofs per batch in the batch-verification benchmark.
const BATCH: usize = 16;

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
        let public = dossier_halo2::statement::instance_of(&witness());
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
        // The same check through halo2's own single-proof verifier, as a reference for ours
        // (which also refuses trailing bytes and shares its MSM-reading step with batches).
        g.bench_function(format!("{sn}/halo2_verify_reference"), |b| {
            b.iter(|| {
                let mut transcript =
                    Blake2bRead::<_, vesta::Affine, Challenge255<_>>::init(proof.as_slice());
                verify_proof(
                    &keys.verifying.params,
                    &keys.verifying.vk,
                    SingleVerifier::new(&keys.verifying.params),
                    &[&[&public]],
                    &mut transcript,
                )
                .expect("verifies")
            })
        });
        // The floor of a verification: one MSM over the parameters' 2^k bases, which every
        // IPA check ends in (and a batch pays once).
        let bases = keys.verifying.params.get_g();
        let scalars: Vec<dossier_core::pasta::Fp> = (0..bases.len() as u64)
            .map(|i| {
                // Full-width scalars, as a verifier's are.
                let x = dossier_core::pasta::Fp::from(i * 0x9e37_79b9 + 1);
                let x2 = x * x;
                let x4 = x2 * x2;
                x4 * x4
            })
            .collect();
        g.bench_function(format!("{sn}/floor_msm_2^{}", k_of(shape)), |b| {
            b.iter(|| halo2_proofs::arithmetic::best_multiexp(&scalars, &bases))
        });
        // A regulator's re-check of archived proofs: 16 at once, one final MSM for all.
        let batch: Vec<(&[u8], &[dossier_core::pasta::Fp])> =
            vec![(proof.as_slice(), public.as_slice()); BATCH];
        g.bench_function(format!("{sn}/halo2_verify_batch{BATCH}"), |b| {
            b.iter(|| keys.verifying.verify_batch(&batch).expect("verifies"))
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
