//! Candidate MSMs for the Groth16 prover (issue #18), side by side on the recruitment shape's own
//! proving key and a real witness: arkworks' `VariableBaseMSM` and `halo2curves`' `msm_best`
//! (same curve, its `asm` feature). In G1 both run through the prover's own [`G1Queries`] (what
//! a proof uses: `halo2curves` where the CPU has ADX/BMI2); in G2 `halo2curves` is measured here
//! only, to show why the prover keeps arkworks there. Before timing, each candidate's result is
//! checked equal to arkworks' on the same bases and scalars; a candidate that disagrees stops the
//! bench.
//!
//! Measured: the witness MSMs of a proof (`a_query` and `b_g1_query` over the full assignment,
//! `l_query` over the private part, `b_g2_query` in G2), `h_query` over random coefficients (the
//! quotient's are random-looking), and the bases' conversion (once per key load).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use ark_bn254::{Fr, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField, UniformRand};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::statements::statement;
use dossier_circuits::statement::StatementCircuit;
use dossier_prover::msm::{G1Queries, MsmBackend, Query};
use dossier_prover::ShapeProver;
use halo2curves::bn256;
use halo2curves::group::prime::PrimeCurveAffine;
use halo2curves::group::Curve;
use halo2curves::CurveAffine;
use std::time::Duration;

fn fq(x: &ark_bn254::Fq) -> bn256::Fq {
    let bytes: [u8; 32] = x.into_bigint().to_bytes_le().try_into().expect("32 bytes");
    Option::from(bn256::Fq::from_bytes(&bytes)).expect("canonical")
}

fn fr(x: &Fr) -> bn256::Fr {
    let bytes: [u8; 32] = x.into_bigint().to_bytes_le().try_into().expect("32 bytes");
    Option::from(bn256::Fr::from_bytes(&bytes)).expect("canonical")
}

/// A G2 point in `halo2curves`' form; `None` for the identity.
fn g2(p: &G2Affine) -> Option<bn256::G2Affine> {
    let (x, y) = p.xy()?;
    let f2 = |v: &ark_bn254::Fq2| bn256::Fq2::new(fq(&v.c0), fq(&v.c1));
    Some(Option::from(bn256::G2Affine::from_xy(f2(&x), f2(&y))).expect("on curve"))
}

fn back_fq(x: &bn256::Fq) -> ark_bn254::Fq {
    ark_bn254::Fq::from_le_bytes_mod_order(&x.to_bytes())
}

fn back_g2(p: &bn256::G2) -> G2Affine {
    let a = p.to_affine();
    if bool::from(a.is_identity()) {
        return G2Affine::zero();
    }
    let f2 = |v: &bn256::Fq2| ark_bn254::Fq2::new(back_fq(v.c0()), back_fq(v.c1()));
    G2Affine::new_unchecked(f2(&a.x), f2(&a.y))
}

/// The G2 query without its identity points, and where each sits (for `halo2curves`).
struct KeptG2 {
    bases: Vec<bn256::G2Affine>,
    at: Vec<usize>,
}

impl KeptG2 {
    fn new(all: &[G2Affine]) -> KeptG2 {
        let (at, bases) = all
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((i, g2(p)?)))
            .unzip();
        KeptG2 { bases, at }
    }

    fn msm(&self, scalars: &[bn256::Fr]) -> bn256::G2 {
        let picked: Vec<bn256::Fr> = self.at.iter().map(|&i| scalars[i]).collect();
        halo2curves::msm::msm_best(&picked, &self.bases)
    }
}

/// The full assignment (instance then witness) of the recruitment statement, as the prover
/// synthesises it.
fn assignment() -> (Vec<Fr>, usize) {
    let s = statement("recruitment");
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_optimization_goal(OptimizationGoal::Constraints);
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: false,
        generate_lc_assignments: false,
    });
    StatementCircuit {
        shape: s.query.shape,
        witness: s.witness(),
    }
    .generate_constraints(cs.clone())
    .expect("synthesis");
    let mut full = cs.instance_assignment().expect("instance");
    let inputs = full.len();
    full.extend(cs.witness_assignment().expect("witness"));
    (full, inputs)
}

fn msm(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let shape = statement("recruitment").query.shape;
    dossier_prover::setup_dev(dir.path(), &[shape], |_, _| {}).expect("setup");
    let prover = ShapeProver::load(dir.path(), shape).expect("pk");
    let pk = &prover.pk;
    let (full, inputs) = assignment();
    let assigned = &full[1..];
    let private = &full[inputs..];
    let h: Vec<Fr> = (0..pk.h_query.len())
        .map(|_| Fr::rand(&mut rand::thread_rng()))
        .collect();
    let small = full
        .iter()
        .filter(|x| x.into_bigint().num_bits() <= 64)
        .count();
    println!(
        "recruitment: {} variables ({} of at most 64 bits), a_query {}, h_query {}, l_query {}; G1 backend here: {}",
        full.len(),
        small,
        pk.a_query.len(),
        pk.h_query.len(),
        pk.l_query.len(),
        MsmBackend::best().name(),
    );

    let ark = G1Queries::for_backend(pk, MsmBackend::Arkworks);
    let fast = G1Queries::for_backend(pk, MsmBackend::Halo2curvesAsm);
    assert_eq!(
        fast.backend(),
        MsmBackend::Halo2curvesAsm,
        "this CPU lacks ADX/BMI2: nothing to compare"
    );
    let g1_witness = |q: &G1Queries| {
        (
            q.msm(pk, Query::A, assigned, None),
            q.msm(pk, Query::B, assigned, None),
            q.msm(pk, Query::L, private, None),
        )
    };
    // Equal to arkworks before anything is timed.
    assert_eq!(g1_witness(&fast), g1_witness(&ark), "A, B and L in G1");
    assert_eq!(
        fast.msm(pk, Query::H, &h, None),
        ark.msm(pk, Query::H, &h, None),
        "H"
    );
    let b2 = KeptG2::new(&pk.b_g2_query);
    let full_h: Vec<bn256::Fr> = full.iter().map(fr).collect();
    let ark_b2 = G2Projective::msm(&pk.b_g2_query, &full).expect("msm");
    assert_eq!(back_g2(&b2.msm(&full_h)), ark_b2.into_affine(), "B in G2");

    let mut g = c.benchmark_group("msm_recruitment");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    for (name, q) in [("arkworks", &ark), ("halo2curves", &fast)] {
        g.bench_function(format!("{name}/g1_witness (a, b_g1, l)"), |b| {
            b.iter(|| g1_witness(q))
        });
        g.bench_function(format!("{name}/g1_h (random coefficients)"), |b| {
            b.iter(|| q.msm(pk, Query::H, &h, None))
        });
    }
    g.bench_function("arkworks/g2_witness (b_g2)", |b| {
        b.iter(|| G2Projective::msm(&pk.b_g2_query, &full).expect("msm"))
    });
    g.bench_function("halo2curves/g2_witness (b_g2)", |b| {
        b.iter(|| b2.msm(&full_h))
    });
    g.bench_function("halo2curves/g1_base_conversion (per key load)", |b| {
        b.iter(|| G1Queries::for_backend(pk, MsmBackend::Halo2curvesAsm))
    });
    g.finish();
}

criterion_group!(benches, msm);
criterion_main!(benches);
