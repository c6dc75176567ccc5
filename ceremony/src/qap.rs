//! The R1CS-to-QAP reduction our keys are made for: snarkjs's (and circom's), so a key from the
//! ceremony is a snarkjs `.zkey` and back, point for point.
//!
//! Groth16's `H` query only has to let the prover compute `[h(tau) Z(tau) / delta]G1`; the
//! basis it does so in is the reduction's choice. arkworks' default (libsnark's) uses the
//! monomials `tau^i Z(tau)`; snarkjs uses the odd points of the domain of twice the size,
//! `H_i = L^(2n)_(2i+1)(tau)`, and its prover evaluates `A·B - C` on the coset `w_2n · <w_n>`
//! (those odd points), with no division by `Z`: at the even points `A·B - C` vanishes, so the
//! odd-point sum is `(A·B - C)(tau) = h(tau) Z(tau)` exactly. This is also one FFT cheaper
//! than libsnark's (six against seven). Verification does not involve `H` and is unchanged.

use ark_ff::PrimeField;
use ark_groth16::r1cs_to_qap::{evaluate_constraint, LibsnarkReduction, R1CSToQAP};
use ark_poly::EvaluationDomain;
use ark_relations::gr1cs::{ConstraintSystemRef, Matrix, SynthesisError};
use rayon::prelude::*;

/// The reduction (use as `Groth16<Bn254, Reduction>`).
pub struct Reduction;

/// The coset generator: the `2n`-th root of unity, whose powers times `<w_n>` are the odd
/// points of the `2n` domain.
fn coset_generator<F: PrimeField, D: EvaluationDomain<F>>(n: usize) -> Result<F, SynthesisError> {
    D::new(2 * n)
        .filter(|d| d.size() == 2 * n)
        .map(|d| d.group_gen())
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)
}

impl R1CSToQAP for Reduction {
    #[allow(clippy::type_complexity)]
    fn instance_map_with_evaluation<F: PrimeField, D: EvaluationDomain<F>>(
        cs: ConstraintSystemRef<F>,
        t: &F,
    ) -> Result<(Vec<F>, Vec<F>, Vec<F>, F, usize, usize), SynthesisError> {
        // A, B and C at tau are the reduction's common part (with the instance rows in A).
        LibsnarkReduction::instance_map_with_evaluation::<F, D>(cs, t)
    }

    fn witness_map_from_matrices<F: PrimeField, D: EvaluationDomain<F>>(
        matrices: &[Matrix<F>],
        num_inputs: usize,
        num_constraints: usize,
        full_assignment: &[F],
    ) -> Result<Vec<F>, SynthesisError> {
        let domain =
            D::new(num_constraints + num_inputs).ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let n = domain.size();
        let coset = domain
            .get_coset(coset_generator::<F, D>(n)?)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let rows = |m: usize, with_inputs: bool| {
            let mut v = vec![F::zero(); n];
            v[..num_constraints]
                .par_iter_mut()
                .zip(&matrices[m])
                .for_each(|(x, row)| *x = evaluate_constraint(row, full_assignment));
            if with_inputs {
                v[num_constraints..num_constraints + num_inputs]
                    .copy_from_slice(&full_assignment[..num_inputs]);
            }
            domain.ifft_in_place(&mut v);
            coset.fft_in_place(&mut v);
            v
        };
        // The three transforms are independent: side by side (the browser's module runs
        // arkworks' FFTs on one thread each).
        let ((mut ab, b), c) = rayon::join(
            || rayon::join(|| rows(0, true), || rows(1, false)),
            || rows(2, false),
        );
        ab.par_iter_mut()
            .zip(&b)
            .zip(&c)
            .for_each(|((a, b), c)| *a = *a * b - c);
        Ok(ab)
    }

    fn h_query_scalars<F: PrimeField, D: EvaluationDomain<F>>(
        max_power: usize,
        t: F,
        _zt: F,
        delta_inverse: F,
    ) -> Result<Vec<F>, SynthesisError> {
        // arkworks asks for `n - 1` monomials; this basis has `n` points.
        let n = max_power + 1;
        let double = D::new(2 * n)
            .filter(|d| d.size() == 2 * n)
            .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
        let all = double.evaluate_all_lagrange_coefficients(t);
        Ok((0..n)
            .into_par_iter()
            .map(|i| all[2 * i + 1] * delta_inverse)
            .collect())
    }
}

/// `L^(2n)_(2i+1)(tau)` for `i < n`: the H basis before `delta`, by field arithmetic.
pub fn h_basis<F: PrimeField, D: EvaluationDomain<F>>(n: usize, tau: F) -> Option<Vec<F>> {
    let double = D::new(2 * n).filter(|d| d.size() == 2 * n)?;
    let all = double.evaluate_all_lagrange_coefficients(tau);
    Some((0..n).map(|i| all[2 * i + 1]).collect())
}

/// The multipliers that turn weights `r` over the monomial H query `tau^i Z(tau)` (`i < n - 1`)
/// into weights over this basis: `sum r_i tau^i Z(tau) = sum c_j L^(2n)_(2j+1)(tau)` with
/// `c_j = Z(x_j) r(x_j) = -2 r(x_j)` at the odd points `x_j` (where `x^n = -1`).
pub fn h_weights<F: PrimeField, D: EvaluationDomain<F>>(r: &[F]) -> Option<Vec<F>> {
    let n = r.len() + 1;
    let domain = D::new(n).filter(|d| d.size() == n)?;
    let coset = domain.get_coset(coset_generator::<F, D>(n).ok()?)?;
    let mut v = r.to_vec();
    v.push(F::zero());
    coset.fft_in_place(&mut v);
    let minus_two = -F::from(2u64);
    Some(v.into_iter().map(|x| x * minus_two).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use ark_ff::{Field, UniformRand, Zero};
    use ark_poly::Radix2EvaluationDomain as D;

    #[test]
    fn the_h_weights_move_the_monomial_sum_onto_the_odd_points() {
        let mut rng = rand::thread_rng();
        let n = 16;
        let tau = Fr::rand(&mut rng);
        let r: Vec<Fr> = (0..n - 1).map(|_| Fr::rand(&mut rng)).collect();
        let z = tau.pow([n as u64]) - Fr::from(1u64);
        let monomial: Fr = r
            .iter()
            .enumerate()
            .map(|(i, ri)| *ri * tau.pow([i as u64]) * z)
            .sum();
        let basis = h_basis::<Fr, D<Fr>>(n, tau).expect("basis");
        let c = h_weights::<Fr, D<Fr>>(&r).expect("weights");
        let odd: Fr = basis.iter().zip(&c).map(|(l, c)| *l * c).sum();
        assert_eq!(monomial, odd);
        assert_ne!(monomial, Fr::zero());
    }
}
