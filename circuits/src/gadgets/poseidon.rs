//! circomlib's `Poseidon(n)` in R1CS, the twin of `dossier_core::poseidon::hash`: the same
//! constants (from light-poseidon), state `[0, inputs...]`, output `state[0]`. Round constants
//! and the MDS layer are linear (free); each S-box `x^5` costs three constraints, and S-boxes
//! on constants (the capacity element in the first round) cost none.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_relations::gr1cs::SynthesisError;
use std::sync::OnceLock;

struct Constants {
    ark: Vec<Fr>,
    mds: Vec<Vec<Fr>>,
    full_rounds: usize,
    partial_rounds: usize,
}

fn constants(width: usize) -> Result<&'static Constants, SynthesisError> {
    static TABLE: [OnceLock<Option<Constants>>; 14] = [const { OnceLock::new() }; 14];
    TABLE
        .get(width)
        .ok_or(SynthesisError::Unsatisfiable)?
        .get_or_init(|| {
            let p = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(
                u8::try_from(width).ok()?,
            )
            .ok()?;
            Some(Constants {
                ark: p.ark,
                mds: p.mds,
                full_rounds: p.full_rounds,
                partial_rounds: p.partial_rounds,
            })
        })
        .as_ref()
        .ok_or(SynthesisError::Unsatisfiable)
}

fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x4 = x2.square()?;
    Ok(x4 * x)
}

/// Poseidon of 1 to 12 inputs.
pub fn hash(inputs: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    let t = inputs.len() + 1;
    if inputs.is_empty() || t > 13 {
        return Err(SynthesisError::Unsatisfiable);
    }
    let c = constants(t)?;
    let mut state: Vec<FpVar<Fr>> = std::iter::once(FpVar::zero())
        .chain(inputs.iter().cloned())
        .collect();
    let half = c.full_rounds / 2;
    for r in 0..c.full_rounds + c.partial_rounds {
        for (i, s) in state.iter_mut().enumerate() {
            *s += c.ark[r * t + i];
        }
        if r < half || r >= half + c.partial_rounds {
            for s in state.iter_mut() {
                *s = sbox(s)?;
            }
        } else {
            state[0] = sbox(&state[0])?;
        }
        state = c
            .mds
            .iter()
            .map(|row| {
                row.iter()
                    .zip(&state)
                    .fold(FpVar::zero(), |acc, (m, s)| acc + s * *m)
            })
            .collect();
    }
    Ok(state.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn agrees_with_native_and_costs_what_it_should() {
        // Constraints per arity: 3 per S-box on a variable.
        let expected = [(1, 213), (2, 240), (12, 504)];
        for (n, constraints) in expected {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let xs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 31 + 7)).collect();
            let vars: Vec<FpVar<Fr>> = xs
                .iter()
                .map(|x| FpVar::new_witness(cs.clone(), || Ok(*x)).expect("alloc"))
                .collect();
            let h = hash(&vars).expect("hash");
            assert_eq!(
                h.value().expect("value"),
                dossier_core::poseidon::hash(&xs).expect("native"),
                "n = {n}"
            );
            assert!(cs.is_satisfied().expect("checks"));
            assert_eq!(cs.num_constraints(), constraints, "n = {n}");
        }
    }
}
