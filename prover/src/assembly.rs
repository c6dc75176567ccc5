//! The Groth16 proof assembled from its multi-scalar multiplications, so that the prover
//! decides how they run. Natively each is arkworks' own (parallel) MSM. In the browser's
//! threaded module arkworks' MSM cannot run in parallel (for full-size scalars it builds a
//! thread pool of its own, which a browser cannot start), so there each MSM is split across
//! rayon's pool (whose threads are the page's Web Workers) and arkworks' serial MSM runs on
//! every part. The formulae are Groth16's, with `r` and `s` drawn in ark-groth16's order; a
//! test holds the proofs equal to ark-groth16's, byte for byte.

use ark_bn254::{Bn254, Fr, G1Projective, G2Projective};
use ark_ec::scalar_mul::variable_base::VariableBaseMSM;
use ark_ec::CurveGroup;
use ark_ff::{PrimeField, Zero};
use ark_groth16::{Proof, ProvingKey};

type BigInt = <Fr as PrimeField>::BigInt;

/// The proof of the full assignment `full` (the constant one, the `num_inputs - 1` public
/// inputs, then the witness) with the QAP quotient's coefficients `h`, blinded by `r` and `s`.
pub fn prove(
    pk: &ProvingKey<Bn254>,
    r: Fr,
    s: Fr,
    h: &[Fr],
    full: &[Fr],
    num_inputs: usize,
) -> Proof<Bn254> {
    let h: Vec<BigInt> = h.iter().map(|x| x.into_bigint()).collect();
    // The assignment without the constant one: the queries' first base is the one's.
    let assignment: Vec<BigInt> = full[1..].iter().map(|x| x.into_bigint()).collect();
    let witness = &assignment[num_inputs - 1..];

    // Five MSMs, independent of each other: rayon runs them side by side (and `msm` splits
    // the large ones in the browser's module), so every thread has work until the last ends.
    let h_acc = || msm::<G1Projective>(&pk.h_query, &h);
    let l_acc = || msm::<G1Projective>(&pk.l_query, witness);
    let a = || combination(pk.delta_g1 * r, &pk.a_query, pk.vk.alpha_g1, &assignment);
    // As ark-groth16: with r = 0, B in G1 is not needed (C takes r times it).
    let b_g1 = || {
        if r.is_zero() {
            G1Projective::zero()
        } else {
            combination(pk.delta_g1 * s, &pk.b_g1_query, pk.beta_g1, &assignment)
        }
    };
    let b = || {
        combination(
            pk.vk.delta_g2 * s,
            &pk.b_g2_query,
            pk.vk.beta_g2,
            &assignment,
        )
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

/// `blinding + query[0] + sum(assignment[i] * query[i + 1]) + key_term`: A, and B in either group.
fn combination<G>(blinding: G, query: &[G::Affine], key_term: G::Affine, assignment: &[BigInt]) -> G
where
    G: CurveGroup<ScalarField = Fr> + VariableBaseMSM<MulBase = <G as CurveGroup>::Affine>,
{
    let Some((first, rest)) = query.split_first() else {
        return blinding + key_term;
    };
    blinding + *first + msm::<G>(rest, assignment) + key_term
}

/// One MSM: arkworks' own natively; in the threaded module, split across the pool.
fn msm<G: VariableBaseMSM<ScalarField = Fr>>(bases: &[G::MulBase], scalars: &[BigInt]) -> G {
    let n = bases.len().min(scalars.len());
    let (bases, scalars) = (&bases[..n], &scalars[..n]);
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    {
        use rayon::prelude::*;
        /// Below this, a part's fixed costs (its buckets) outweigh the split.
        const SMALLEST_PART: usize = 1 << 10;
        let parts = rayon::current_num_threads().min(n / SMALLEST_PART);
        if parts > 1 {
            let size = n.div_ceil(parts);
            return bases
                .par_chunks(size)
                .zip(scalars.par_chunks(size))
                .map(|(b, s)| G::msm_bigint(b, s))
                .reduce(G::zero, |x, y| x + y);
        }
    }
    G::msm_bigint(bases, scalars)
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
            let ours = prove(&pk, r, s, &h, &full, inputs);
            assert_eq!(ours, theirs, "r = {r}, s = {s}");
        }
    }
}
