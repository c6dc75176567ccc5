//! Candidate MSMs for the Groth16 prover (issue #18), side by side on the recruitment shape's own
//! proving key and a real witness: arkworks' `VariableBaseMSM` (what the prover uses today) and
//! `halo2curves`' `msm_best` (same curve, its `asm` feature). Before timing, each candidate's
//! result is checked equal to arkworks' on the same bases and scalars; a candidate that
//! disagrees stops the bench.
//!
//! Measured: the witness MSMs of a proof (`a_query` and `b_g1_query` over the full assignment,
//! `l_query` over the private part, `b_g2_query` in G2), and, for halo2curves, the conversion of
//! the scalars (per proof) apart from the bases' (once per key).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, PrimeField};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, OptimizationGoal, SynthesisMode,
};
use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::statements::statement;
use dossier_circuits::statement::StatementCircuit;
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

fn g1(p: &G1Affine) -> bn256::G1Affine {
    match p.xy() {
        None => bn256::G1Affine::identity(),
        Some((x, y)) => Option::from(bn256::G1Affine::from_xy(fq(&x), fq(&y))).expect("on curve"),
    }
}

fn g2(p: &G2Affine) -> bn256::G2Affine {
    match p.xy() {
        None => bn256::G2Affine::identity(),
        Some((x, y)) => {
            let f2 = |v: &ark_bn254::Fq2| bn256::Fq2::new(fq(&v.c0), fq(&v.c1));
            Option::from(bn256::G2Affine::from_xy(f2(&x), f2(&y))).expect("on curve")
        }
    }
}

fn back_fq(x: &bn256::Fq) -> ark_bn254::Fq {
    ark_bn254::Fq::from_le_bytes_mod_order(&x.to_bytes())
}

fn back_g1(p: &bn256::G1) -> G1Affine {
    let a = p.to_affine();
    if bool::from(a.is_identity()) {
        return G1Affine::zero();
    }
    G1Affine::new_unchecked(back_fq(&a.x), back_fq(&a.y))
}

fn back_g2(p: &bn256::G2) -> G2Affine {
    let a = p.to_affine();
    if bool::from(a.is_identity()) {
        return G2Affine::zero();
    }
    let f2 = |v: &bn256::Fq2| ark_bn254::Fq2::new(back_fq(v.c0()), back_fq(v.c1()));
    G2Affine::new_unchecked(f2(&a.x), f2(&a.y))
}

/// A key's bases without its identity points, and where each sits in the full list.
struct Kept<C> {
    bases: Vec<C>,
    at: Vec<usize>,
}

impl<C: CurveAffine> Kept<C> {
    fn new(all: Vec<C>) -> Kept<C> {
        let at: Vec<usize> = (0..all.len())
            .filter(|&i| !bool::from(all[i].is_identity()))
            .collect();
        Kept {
            bases: at.iter().map(|&i| all[i]).collect(),
            at,
        }
    }

    /// The MSM of the scalars at the kept positions (the conversion's selection included).
    fn msm(&self, scalars: &[C::Scalar]) -> C::Curve {
        let picked: Vec<C::Scalar> = self.at.iter().map(|&i| scalars[i]).collect();
        halo2curves::msm::msm_best(&picked, &self.bases)
    }
}

impl Kept<bn256::G1Affine> {
    fn g1(all: &[G1Affine]) -> Self {
        Kept::new(all.iter().map(g1).collect())
    }
}

impl Kept<bn256::G2Affine> {
    fn g2(all: &[G2Affine]) -> Self {
        Kept::new(all.iter().map(g2).collect())
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
    let private = &full[inputs..];
    let small = full
        .iter()
        .filter(|x| x.into_bigint().num_bits() <= 64)
        .count();
    println!(
        "recruitment: {} variables ({} of at most 64 bits), a_query {}, l_query {}",
        full.len(),
        small,
        pk.a_query.len(),
        pk.l_query.len()
    );

    // The bases once per key, without the identity points (halo2curves' batched affine
    // additions do not take them; they add nothing), the scalars per proof, selected alike.
    let a_h = Kept::g1(&pk.a_query);
    let b1_h = Kept::g1(&pk.b_g1_query);
    let l_h = Kept::g1(&pk.l_query);
    let b2_h = Kept::g2(&pk.b_g2_query);
    let full_h: Vec<bn256::Fr> = full.iter().map(fr).collect();
    let private_h = &full_h[inputs..];

    // Equal to arkworks before anything is timed.
    let ark_a = G1Projective::msm(&pk.a_query, &full)
        .expect("msm")
        .into_affine();
    assert_eq!(back_g1(&a_h.msm(&full_h)), ark_a, "a_query");
    let ark_b1 = G1Projective::msm(&pk.b_g1_query, &full)
        .expect("msm")
        .into_affine();
    assert_eq!(back_g1(&b1_h.msm(&full_h)), ark_b1, "b_g1_query");
    let ark_l = G1Projective::msm(&pk.l_query, private)
        .expect("msm")
        .into_affine();
    assert_eq!(back_g1(&l_h.msm(private_h)), ark_l, "l_query");
    let ark_b2 = G2Projective::msm(&pk.b_g2_query, &full)
        .expect("msm")
        .into_affine();
    assert_eq!(back_g2(&b2_h.msm(&full_h)), ark_b2, "b_g2_query");

    let mut g = c.benchmark_group("msm_recruitment");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    g.bench_function("arkworks/g1_witness (a, b_g1, l)", |b| {
        b.iter(|| {
            let a = G1Projective::msm(&pk.a_query, &full).expect("msm");
            let b1 = G1Projective::msm(&pk.b_g1_query, &full).expect("msm");
            let l = G1Projective::msm(&pk.l_query, private).expect("msm");
            (a, b1, l)
        })
    });
    g.bench_function("halo2curves/g1_witness (a, b_g1, l)", |b| {
        b.iter(|| {
            let a = a_h.msm(&full_h);
            let b1 = b1_h.msm(&full_h);
            let l = l_h.msm(private_h);
            (a, b1, l)
        })
    });
    g.bench_function("arkworks/g2_witness (b_g2)", |b| {
        b.iter(|| G2Projective::msm(&pk.b_g2_query, &full).expect("msm"))
    });
    g.bench_function("halo2curves/g2_witness (b_g2)", |b| {
        b.iter(|| b2_h.msm(&full_h))
    });
    g.bench_function("halo2curves/scalar_conversion (per proof)", |b| {
        b.iter(|| full.iter().map(fr).collect::<Vec<_>>())
    });
    g.bench_function("halo2curves/base_conversion (per key)", |b| {
        b.iter(|| pk.a_query.iter().map(g1).collect::<Vec<_>>())
    });
    g.finish();
}

criterion_group!(benches, msm);
criterion_main!(benches);
