//! The Groth16 proof assembled from its multi-scalar multiplications, so that the prover
//! decides how they run. Natively the four G1 MSMs run on the fastest backend the CPU has
//! ([`crate::msm`]: `halo2curves`' assembly where it runs, else arkworks') and the G2 MSM is
//! arkworks' own (parallel; `halo2curves`' measured slower there). In the browser's
//! threaded module arkworks' MSM cannot run in parallel (for full-size scalars it builds a
//! thread pool of its own, which a browser cannot start), so there each MSM is split across
//! rayon's pool (whose threads are the page's Web Workers) and arkworks' serial MSM runs on
//! every part. The formulae are Groth16's, with `r` and `s` drawn in ark-groth16's order; a
//! test holds the proofs equal to ark-groth16's, byte for byte.

use crate::msm::{self, G1Queries, Query};
use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, Zero};
use ark_groth16::{Proof, ProvingKey};

/// The proof of the full assignment `full` (the constant one, the `num_inputs - 1` public
/// inputs, then the witness) with the QAP quotient's coefficients `h`, blinded by `r` and `s`;
/// the G1 MSMs on `g1`'s backend (made from `pk`).
pub fn prove(
    pk: &ProvingKey<Bn254>,
    g1: &G1Queries,
    r: Fr,
    s: Fr,
    h: &[Fr],
    full: &[Fr],
    num_inputs: usize,
) -> Proof<Bn254> {
    // The assignment without the constant one: the queries' first base is the one's.
    let assignment = &full[1..];
    let witness = &assignment[num_inputs - 1..];
    // As canonical integers, which arkworks' MSM reads: B in G2 always, G1 on arkworks only.
    let big: Vec<_> = assignment.iter().map(|x| x.into_bigint()).collect();
    let g1_big = (g1.backend() == msm::MsmBackend::Arkworks).then_some(big.as_slice());
    let g1_witness_big = g1_big.map(|b| &b[num_inputs - 1..]);
    let first = |query: &[ark_bn254::G1Affine]| query.first().copied().unwrap_or_default();

    // Five MSMs, independent of each other: rayon runs them side by side (and `msm` splits
    // the large ones in the browser's module), so every thread has work until the last ends.
    let h_acc = || g1.msm(pk, Query::H, h, None);
    let l_acc = || g1.msm(pk, Query::L, witness, g1_witness_big);
    let a = || {
        pk.delta_g1 * r
            + first(&pk.a_query)
            + g1.msm(pk, Query::A, assignment, g1_big)
            + pk.vk.alpha_g1
    };
    // As ark-groth16: with r = 0, B in G1 is not needed (C takes r times it).
    let b_g1 = || {
        if r.is_zero() {
            G1Projective::zero()
        } else {
            pk.delta_g1 * s
                + first(&pk.b_g1_query)
                + g1.msm(pk, Query::B, assignment, g1_big)
                + pk.beta_g1
        }
    };
    let b = || {
        let rest = pk.b_g2_query.get(1..).unwrap_or_default();
        pk.vk.delta_g2 * s
            + pk.b_g2_query.first().copied().unwrap_or_default()
            + msm::arkworks::<G2Projective>(rest, &big)
            + pk.vk.beta_g2
    };
    let ((h_acc, l_acc), (a, (b_g1, b))): ((G1Projective, _), (_, (_, G2Projective))) = rayon::join(
        || rayon::join(h_acc, l_acc),
        || rayon::join(a, || rayon::join(b_g1, b)),
    );
    let c = a * s + b_g1 * r - pk.delta_g1 * (r * s) + l_acc + h_acc;
    Proof {
        a: a.into_affine(),
        b: b.into_affine(),
        c: c.into_affine(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Groth16;
    use ark_ff::UniformRand;
    use ark_groth16::r1cs_to_qap::R1CSToQAP;
    use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem, SynthesisMode};
    use ark_std::rand::SeedableRng;

    /// A small circuit: x * y = z with z public, and a chain of squares of x to give the
    /// queries some length.
    #[derive(Clone)]
    struct Chain {
        x: Fr,
        y: Fr,
    }

    impl ConstraintSynthesizer<Fr> for Chain {
        fn generate_constraints(
            self,
            cs: ark_relations::gr1cs::ConstraintSystemRef<Fr>,
        ) -> ark_relations::gr1cs::Result<()> {
            use ark_relations::gr1cs::{LinearCombination, Variable};
            let z = cs.new_input_variable(|| Ok(self.x * self.y))?;
            let x = cs.new_witness_variable(|| Ok(self.x))?;
            let y = cs.new_witness_variable(|| Ok(self.y))?;
            cs.enforce_r1cs_constraint(
                || LinearCombination::from(x),
                || LinearCombination::from(y),
                || LinearCombination::from(z),
            )?;
            let mut v = self.x;
            let mut prev: Variable = x;
            for _ in 0..40 {
                let next_value = v * v;
                let next = cs.new_witness_variable(|| Ok(next_value))?;
                cs.enforce_r1cs_constraint(
                    || LinearCombination::from(prev),
                    || LinearCombination::from(prev),
                    || LinearCombination::from(next),
                )?;
                v = next_value;
                prev = next;
            }
            Ok(())
        }
    }

    #[test]
    fn the_assembled_proof_is_ark_groth16s_byte_for_byte() {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(7);
        let circuit = Chain {
            x: Fr::rand(&mut rng),
            y: Fr::rand(&mut rng),
        };
        let pk = Groth16::generate_random_parameters_with_reduction(circuit.clone(), &mut rng)
            .expect("setup");
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: true,
            generate_lc_assignments: false,
        });
        circuit
            .clone()
            .generate_constraints(cs.clone())
            .expect("synthesis");
        cs.finalize();
        let matrices =
            &cs.to_matrices().expect("matrices")[ark_relations::gr1cs::R1CS_PREDICATE_LABEL];
        let mut full = cs.instance_assignment().expect("instance");
        full.extend(cs.witness_assignment().expect("witness"));
        let (inputs, constraints) = (cs.num_instance_variables(), cs.num_constraints());
        for (r, s) in [
            (Fr::rand(&mut rng), Fr::rand(&mut rng)),
            (Fr::from(0u64), Fr::rand(&mut rng)),
            (Fr::rand(&mut rng), Fr::from(0u64)),
            (-Fr::from(1u64), -Fr::from(1u64)),
        ] {
            let theirs = Groth16::create_proof_with_reduction_and_matrices(
                &pk,
                r,
                s,
                matrices,
                inputs,
                constraints,
                &full,
            )
            .expect("ark-groth16 proves");
            let h = dossier_ceremony::qap::Reduction::witness_map_from_matrices::<
                Fr,
                ark_poly::GeneralEvaluationDomain<Fr>,
            >(matrices, inputs, constraints, &full)
            .expect("h");
            for backend in [msm::MsmBackend::Arkworks, msm::MsmBackend::Halo2curvesAsm] {
                let g1 = G1Queries::for_backend(&pk, backend);
                let ours = prove(&pk, &g1, r, s, &h, &full, inputs);
                assert_eq!(ours, theirs, "r = {r}, s = {s}, {backend:?}");
            }
        }
    }
}
