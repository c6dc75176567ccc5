//! Bit decomposition, range checks and small multiplexers.
//!
//! `to_bits(x, n)` allocates n boolean witnesses (one constraint each) and one constraint that
//! their weighted sum is `x`: `x < 2^n` as an integer, for n well below the field size (no wrap
//! around). Every comparison in dossier's circuits rests on it.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::select::CondSelectGadget;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::SynthesisError;

/// The n low bits of `x`, little-endian, enforcing `x < 2^n` (n + 1 constraints).
pub fn to_bits(x: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    assert!(n < 250, "decompositions stay far below the field size");
    let cs = x.cs();
    let value = x.value().ok().map(|v| v.into_bigint().to_bits_le());
    let bits = (0..n)
        .map(|i| {
            Boolean::new_witness(cs.clone(), || {
                value
                    .as_ref()
                    .map(|b| b[i])
                    .ok_or(SynthesisError::AssignmentMissing)
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(x)?;
    Ok(bits)
}

/// Enforces `x < 2^n`.
pub fn enforce_range(x: &FpVar<Fr>, n: usize) -> Result<(), SynthesisError> {
    to_bits(x, n).map(drop)
}

/// `values[index]` for an index given by its little-endian bits (`values.len() == 2^bits`):
/// a tree of selections, `values.len() - 1` constraints.
pub fn mux(bits: &[Boolean<Fr>], values: &[FpVar<Fr>]) -> Result<FpVar<Fr>, SynthesisError> {
    assert_eq!(values.len(), 1 << bits.len());
    let mut layer = values.to_vec();
    for b in bits {
        layer = layer
            .chunks(2)
            .map(|pair| FpVar::conditionally_select(b, &pair[1], &pair[0]))
            .collect::<Result<_, _>>()?;
    }
    Ok(layer.swap_remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    fn check(x: Fr, n: usize) -> (bool, usize) {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = FpVar::new_witness(cs.clone(), || Ok(x)).expect("alloc");
        // An honest prover cannot even produce bits for an out-of-range value: the n low
        // bits sum to something else, so the constraint system is unsatisfied.
        enforce_range(&v, n).expect("synthesis");
        (cs.is_satisfied().expect("checks"), cs.num_constraints())
    }

    #[test]
    fn range_boundaries() {
        assert_eq!(check(Fr::from(0u64), 64), (true, 65));
        assert!(check(Fr::from(u64::MAX), 64).0);
        assert!(!check(Fr::from(1u128 << 64), 64).0, "2^64 is out of range");
        assert!(!check(-Fr::from(1u64), 64).0, "p-1 is out of range");
        assert!(check(Fr::from((1u64 << 32) - 1), 32).0);
        assert!(!check(Fr::from(1u64 << 32), 32).0);
    }

    #[test]
    fn forged_bits_cannot_wrap() {
        // A malicious prover picks bits whose weighted sum is not x: the sum constraint fails.
        let cs = ConstraintSystem::<Fr>::new_ref();
        let x = FpVar::new_witness(cs.clone(), || Ok(-Fr::from(1u64))).expect("alloc");
        let bits: Vec<Boolean<Fr>> = (0..64)
            .map(|_| Boolean::new_witness(cs.clone(), || Ok(true)).expect("bit"))
            .collect();
        Boolean::le_bits_to_fp(&bits)
            .expect("sum")
            .enforce_equal(&x)
            .expect("eq");
        assert!(!cs.is_satisfied().expect("checks"));
    }

    #[test]
    fn mux_selects() {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let values: Vec<FpVar<Fr>> = (0..8u64)
            .map(|i| FpVar::new_witness(cs.clone(), || Ok(Fr::from(10 + i))).expect("v"))
            .collect();
        for idx in 0..8usize {
            let bits: Vec<Boolean<Fr>> = (0..3)
                .map(|b| Boolean::new_witness(cs.clone(), || Ok((idx >> b) & 1 == 1)).expect("b"))
                .collect();
            let before = cs.num_constraints();
            let out = mux(&bits, &values).expect("mux");
            assert_eq!(cs.num_constraints() - before, 7);
            assert_eq!(out.value().expect("v"), Fr::from(10 + idx as u64));
        }
        assert!(cs.is_satisfied().expect("checks"));
    }
}
