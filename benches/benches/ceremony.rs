//! The setup ceremony per shape: one department's contribution and a full verification of the
//! transcript, beside the single-party key generation of the same circuit (arkworks'
//! `circuit_specific_setup`, the development setup) measured in the same run.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dossier_ceremony::phase1::Dealer;
use dossier_ceremony::phase2::Transcript;
use dossier_ceremony::Circuit;
use dossier_circuits::statement::{StatementCircuit, StatementWitness};
use dossier_prover::{Groth16, R1cs};
use std::time::Duration;

fn ceremony(c: &mut Criterion) {
    let mut rng = rand::thread_rng();
    let dealer = Dealer::new(17, "bench coordinator", &mut rng).expect("phase 1");
    for shape in dossier_core::query::SHAPES {
        let r1cs = R1cs::of(shape).expect("matrices");
        let circuit = Circuit {
            matrices: r1cs.matrices(),
            num_instance: r1cs.num_inputs(),
            num_variables: r1cs.num_variables(),
        };
        let mut t = Transcript::init_dealt(&circuit, &dealer).expect("init");
        t.contribute("tax bureau", &mut rng, &|_| {})
            .expect("contribute");
        let mut g = c.benchmark_group(format!("ceremony/{}", shape.name()));
        g.sample_size(10);
        g.measurement_time(Duration::from_secs(20));
        g.bench_function("contribute (one department)", |b| {
            b.iter_batched(
                || t.clone(),
                |mut t| t.contribute("bench", &mut rand::thread_rng(), &|_| {}),
                BatchSize::LargeInput,
            )
        });
        g.bench_function("verify (transcript against phase 1 and circuit)", |b| {
            b.iter(|| t.verify(&circuit, dealer.powers()).expect("verifies"))
        });
        g.bench_function("peer: single-party keygen (arkworks)", |b| {
            b.iter(|| {
                Groth16::generate_random_parameters_with_reduction::<_>(
                    StatementCircuit {
                        shape,
                        witness: StatementWitness::blank(shape),
                    },
                    &mut rand::thread_rng(),
                )
                .expect("keygen")
            })
        });
        g.finish();
    }
}

criterion_group!(benches, ceremony);
criterion_main!(benches);
