//! Proving and verification, each beside the floor measured in the same run: the MSMs (G1 and
//! G2, over the proving key's own bases, random scalars) and FFTs that a Groth16 proof of that
//! circuit's size must do, and one pairing.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{CurveGroup, VariableBaseMSM};
use ark_ff::UniformRand;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::statements::statement;
use dossier_core::checkpoint::CheckpointBody;
use dossier_core::entry::RegistryRoot;
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_prover::ShapeProver;
use dossier_verifier::VerifierKeys;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The decoded proof and its inputs.
struct Groth16Checked {
    proof: ark_groth16::Proof<Bn254>,
    inputs: Vec<Fr>,
}

fn proving(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let params = dir.path();
    dossier_prover::setup_dev(params, &dossier_core::query::SHAPES, |_, _| {}).expect("setup");
    let keys = VerifierKeys::load(params).expect("keys");
    let schemas = SchemaSet::builtin();
    let log = KeyPair::generate("bench/ledger", &mut rand::thread_rng()).expect("key");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let mut rng = rand::thread_rng();

    let mut g = c.benchmark_group("groth16");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("pairing", |b| {
        let (p, q) = (
            ark_bn254::G1Affine::rand(&mut rng),
            ark_bn254::G2Affine::rand(&mut rng),
        );
        b.iter(|| Bn254::pairing(p, q))
    });
    for name in ["recruitment", "appraisals", "promotion"] {
        let s = statement(name);
        let shape = s.query.shape;
        let root = s.offered[0].root;
        let cp = CheckpointBody {
            origin: "bench/ledger".into(),
            size: 1,
            root_hash: [0; 32],
            time: now,
            registries: vec![RegistryRoot {
                issuer_id: dossier_core::issuer_id("hr.example").expect("id"),
                root,
                root_halo2: dossier_core::pasta::Fp::zero(),
                live: 1,
            }],
        };
        let note = cp.sign(&log).expect("sign");
        let sn = shape.name();
        g.bench_function(format!("{sn}/key_load"), |b| {
            b.iter(|| ShapeProver::load(params, shape).expect("pk"))
        });
        let prover = ShapeProver::load(params, shape).expect("pk");
        g.bench_function(format!("{sn}/witness"), |b| b.iter(|| s.witness()));
        g.bench_function(format!("{sn}/prove"), |b| {
            b.iter(|| prover.prove(&s.request, s.witness(), &note).expect("prove"))
        });
        let p = prover.prove(&s.request, s.witness(), &note).expect("prove");
        let trust = dossier_verifier::Trust::key_only(&log.verifier_key());
        g.bench_function(format!("{sn}/verify_presentation"), |b| {
            b.iter(|| {
                dossier_verifier::verify(&s.request, &p, &keys, &trust, &schemas, now)
                    .expect("valid")
            })
        });
        let checked =
            dossier_verifier::verify(&s.request, &p, &keys, &trust, &schemas, now).expect("valid");
        let key = &keys.keys[&sn];
        let checked = {
            let (proof, inputs) = checked.groth16.clone().expect("a groth16 proof");
            Groth16Checked { proof, inputs }
        };
        g.bench_function(format!("{sn}/verify_groth16"), |b| {
            b.iter(|| {
                dossier_verifier::verify_proof(key, &checked.proof, &checked.inputs).expect("ok")
            })
        });
        if sn == "m1p4k4r2" {
            // Where single verification spends its time.
            let bases = &key.pvk.vk.gamma_abc_g1;
            g.bench_function(format!("{sn}/verify_part_inputs_msm"), |b| {
                b.iter(|| G1Projective::msm(&bases[1..], &checked.inputs).expect("msm"))
            });
            g.bench_function(format!("{sn}/verify_part_inputs_glv"), |b| {
                b.iter(|| dossier_verifier::input_combination(bases, &checked.inputs))
            });
            g.bench_function(format!("{sn}/verify_part_prepare_b"), |b| {
                b.iter(|| <Bn254 as Pairing>::G2Prepared::from(checked.proof.b))
            });
            let ic = (G1Projective::msm(&bases[1..], &checked.inputs).expect("msm") + bases[0])
                .into_affine();
            g.bench_function(format!("{sn}/verify_part_miller_loop_x3"), |b| {
                b.iter(|| {
                    Bn254::multi_miller_loop(
                        [checked.proof.a, ic, checked.proof.c],
                        [
                            <Bn254 as Pairing>::G2Prepared::from(checked.proof.b),
                            key.pvk.gamma_g2_neg_pc.clone(),
                            key.pvk.delta_g2_neg_pc.clone(),
                        ],
                    )
                })
            });
            let ml = Bn254::multi_miller_loop([checked.proof.a], [checked.proof.b]);
            g.bench_function(format!("{sn}/verify_part_final_exp"), |b| {
                b.iter(|| Bn254::final_exponentiation(ml))
            });
        }
        key.precompute();
        g.bench_function(format!("{sn}/verify_groth16_tables"), |b| {
            b.iter(|| {
                dossier_verifier::verify_proof(key, &checked.proof, &checked.inputs).expect("ok")
            })
        });
        g.bench_function(format!("{sn}/precompute_tables"), |b| {
            b.iter(|| dossier_verifier::keys::InputTables::new(&key.pvk.vk.gamma_abc_g1[1..]))
        });
        let batch: Vec<_> = (0..32)
            .map(|_| (checked.proof.clone(), checked.inputs.clone()))
            .collect();
        g.bench_function(format!("{sn}/verify_batch_32"), |b| {
            b.iter(|| dossier_verifier::verify_batch(key, &batch).expect("ok"))
        });

        // The floor: the prover's MSMs over its own key's bases with random scalars, and its FFTs.
        let pk = &prover.pk;
        let rand_scalars = |n: usize| {
            (0..n)
                .map(|_| Fr::rand(&mut rand::thread_rng()))
                .collect::<Vec<_>>()
        };
        let (sa, sb, sh, sl) = (
            rand_scalars(pk.a_query.len()),
            rand_scalars(pk.b_g2_query.len()),
            rand_scalars(pk.h_query.len()),
            rand_scalars(pk.l_query.len()),
        );
        // G1 on each backend the prover can take: the floor is the fastest this CPU runs
        // (`floor_msm_g1`), arkworks' kept beside it (`floor_msm_g1_arkworks`, the old floor).
        for (name, backend) in [
            ("floor_msm_g1", dossier_prover::msm::MsmBackend::best()),
            (
                "floor_msm_g1_arkworks",
                dossier_prover::msm::MsmBackend::Arkworks,
            ),
        ] {
            use dossier_prover::msm::{G1Queries, Query};
            let q = G1Queries::for_backend(pk, backend);
            g.bench_function(format!("{sn}/{name}"), |b| {
                b.iter(|| {
                    let a = q.msm(pk, Query::A, &sa[1..], None);
                    let b1 = q.msm(pk, Query::B, &sb[1..], None);
                    let h = q.msm(pk, Query::H, &sh, None);
                    let l = q.msm(pk, Query::L, &sl, None);
                    (a + b1 + h + l).into_affine()
                })
            });
        }
        g.bench_function(format!("{sn}/floor_msm_g2"), |b| {
            b.iter(|| {
                G2Projective::msm(&pk.b_g2_query, &sb)
                    .expect("msm")
                    .into_affine()
            })
        });
        let domain = Radix2EvaluationDomain::<Fr>::new(pk.h_query.len() + 1).expect("domain");
        let coeffs = rand_scalars(domain.size());
        g.bench_function(format!("{sn}/floor_fft_x7"), |b| {
            b.iter(|| {
                let mut v = coeffs.clone();
                for _ in 0..7 {
                    domain.fft_in_place(&mut v);
                }
                v
            })
        });
        println!(
            "{sn}: {} constraints, domain 2^{}, a_query {}, h_query {}, l_query {}",
            dossier_prover::constraints(shape).expect("n"),
            domain.log_size_of_group(),
            pk.a_query.len(),
            pk.h_query.len(),
            pk.l_query.len()
        );
    }
    g.finish();
}

criterion_group!(benches, proving);
criterion_main!(benches);
