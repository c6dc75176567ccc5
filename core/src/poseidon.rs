//! Circom-compatible Poseidon (x^5, BN254, the constants of circomlib's `Poseidon(n)`), with the
//! optimised partial rounds that issuance needs.
//!
//! Registries hash a credential commitment and two tree nodes per credential, so Poseidon is the
//! issuer's hot path. The textbook permutation spends t^2 multiplications on the MDS layer of
//! every partial round; here the partial rounds are rewritten, once per width, into an
//! equivalent form with a sparse matrix (2t-1 multiplications) and one scalar round constant,
//! following Appendix B of the Poseidon paper:
//!
//! 1. Round constants of a partial round act on positions 1.. only linearly, so all but the
//!    first are pushed through the MDS into the next round (and, from the last partial round,
//!    into the first full round of the second half).
//! 2. The MDS `M = [[m00, w^T], [v, M^]]` factors as `diag(1, A) * [[m00, w'^T], [A^-1 v, I]]`;
//!    the dense `diag(1, A)` commutes with the next partial round (which only touches position 0)
//!    and is carried forward, multiplied into the next MDS, and applied once after the last
//!    partial round.
//!
//! The constants themselves come from `light-poseidon`, the reference crate; tests check that
//! both permutations agree on random inputs for every width, and `fixtures/` holds vectors
//! computed by circomlibjs. Widths 2..=13 (1 to 12 inputs) are supported.

use crate::CoreError;
use ark_bn254::Fr;
use ark_ff::{Field, One, Zero};
use std::sync::OnceLock;

/// The most inputs one Poseidon call takes (circomlib's constants as shipped by light-poseidon).
pub const MAX_INPUTS: usize = 12;
const MAX_WIDTH: usize = MAX_INPUTS + 1;
const FULL_ROUNDS: usize = 8;
const HALF_FULL: usize = FULL_ROUNDS / 2;

/// The precomputed, optimised form of the permutation for one width.
struct Permutation {
    width: usize,
    /// Round constants of the eight full rounds (the fifth adjusted by the folded partial
    /// constants).
    full_constants: Vec<Vec<Fr>>,
    /// The one scalar constant of each partial round.
    partial_constants: Vec<Fr>,
    mds: Vec<Vec<Fr>>,
    /// Per partial round: the sparse matrix's first row beyond `m00`.
    sparse_row: Vec<Vec<Fr>>,
    /// Per partial round: the sparse matrix's first column beyond `m00`.
    sparse_col: Vec<Vec<Fr>>,
    /// The dense block carried out of the partial rounds, applied to positions 1.. once.
    carried: Vec<Vec<Fr>>,
}

fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    let x4 = x2.square();
    x4 * x
}

fn mat_vec(m: &[Vec<Fr>], v: &[Fr]) -> Vec<Fr> {
    m.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| *a * b).sum())
        .collect()
}

fn mat_mul(a: &[Vec<Fr>], b: &[Vec<Fr>]) -> Vec<Vec<Fr>> {
    let n = b.first().map_or(0, Vec::len);
    a.iter()
        .map(|row| {
            (0..n)
                .map(|j| row.iter().zip(b).map(|(x, brow)| *x * brow[j]).sum())
                .collect()
        })
        .collect()
}

/// Gauss-Jordan inversion; `None` if singular (never for circomlib's MDS blocks, which tests
/// confirm by agreeing with the reference permutation).
fn invert(m: &[Vec<Fr>]) -> Option<Vec<Vec<Fr>>> {
    let n = m.len();
    let mut a: Vec<Vec<Fr>> = m.to_vec();
    let mut inv: Vec<Vec<Fr>> = (0..n)
        .map(|i| {
            (0..n)
                .map(|j| if i == j { Fr::one() } else { Fr::zero() })
                .collect()
        })
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|&r| !a[r][col].is_zero())?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let p_inv = a[col][col].inverse()?;
        for j in 0..n {
            a[col][j] *= p_inv;
            inv[col][j] *= p_inv;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let f = a[r][col];
                for j in 0..n {
                    let (ac, ic) = (a[col][j], inv[col][j]);
                    a[r][j] -= f * ac;
                    inv[r][j] -= f * ic;
                }
            }
        }
    }
    Some(inv)
}

impl Permutation {
    fn new(width: usize) -> Option<Self> {
        let params = light_poseidon::parameters::bn254_x5::get_poseidon_parameters::<Fr>(
            u8::try_from(width).ok()?,
        )
        .ok()?;
        let (t, rp) = (width, params.partial_rounds);
        debug_assert_eq!(params.full_rounds, FULL_ROUNDS);
        let round = |r: usize| params.ark[r * t..(r + 1) * t].to_vec();
        let mds = params.mds.clone();

        // 1. Fold the partial rounds' constants forward.
        let mut partial_constants = Vec::with_capacity(rp);
        let mut carry = round(HALF_FULL);
        for i in 0..rp {
            partial_constants.push(carry[0]);
            let mut residual = carry.clone();
            residual[0] = Fr::zero();
            let pushed = mat_vec(&mds, &residual);
            let next = round(HALF_FULL + i + 1);
            carry = next.iter().zip(&pushed).map(|(a, b)| *a + b).collect();
        }
        let mut full_constants: Vec<Vec<Fr>> = (0..HALF_FULL).map(round).collect();
        full_constants.push(carry);
        full_constants.extend((HALF_FULL + rp + 1..FULL_ROUNDS + rp).map(round));

        // 2. Factor each partial round's matrix into a carried dense block and a sparse matrix.
        let w_hat: Vec<Fr> = mds[0][1..].to_vec();
        let v: Vec<Fr> = mds[1..].iter().map(|row| row[0]).collect();
        let m_hat: Vec<Vec<Fr>> = mds[1..].iter().map(|row| row[1..].to_vec()).collect();
        let m_hat_inv = invert(&m_hat)?;
        let n = t - 1;
        let mut carried: Vec<Vec<Fr>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| if i == j { Fr::one() } else { Fr::zero() })
                    .collect()
            })
            .collect();
        let mut carried_inv = carried.clone();
        let (mut sparse_row, mut sparse_col) = (Vec::with_capacity(rp), Vec::with_capacity(rp));
        for _ in 0..rp {
            // Row 0 of M * diag(1, carried) is [m00, w_hat^T carried].
            let row: Vec<Fr> = (0..n)
                .map(|j| (0..n).map(|k| w_hat[k] * carried[k][j]).sum())
                .collect();
            carried = mat_mul(&m_hat, &carried);
            carried_inv = mat_mul(&carried_inv, &m_hat_inv);
            sparse_row.push(row);
            sparse_col.push(mat_vec(&carried_inv, &v));
        }
        Some(Permutation {
            width,
            full_constants,
            partial_constants,
            mds,
            sparse_row,
            sparse_col,
            carried,
        })
    }

    fn full_round(&self, state: &mut [Fr], constants: &[Fr]) {
        for (s, c) in state.iter_mut().zip(constants) {
            *s = sbox(*s + c);
        }
        let mut out = [Fr::zero(); MAX_WIDTH];
        for (o, row) in out.iter_mut().zip(&self.mds) {
            *o = row.iter().zip(state.iter()).map(|(m, s)| *m * s).sum();
        }
        state.copy_from_slice(&out[..self.width]);
    }

    fn permute(&self, state: &mut [Fr]) {
        for c in &self.full_constants[..HALF_FULL] {
            self.full_round(state, c);
        }
        let m00 = self.mds[0][0];
        for ((k, row), col) in self
            .partial_constants
            .iter()
            .zip(&self.sparse_row)
            .zip(&self.sparse_col)
        {
            let z0 = sbox(state[0] + k);
            let mut first = m00 * z0;
            for ((s, r), c) in state[1..].iter_mut().zip(row).zip(col) {
                first += *r * *s;
                *s += *c * z0;
            }
            state[0] = first;
        }
        let rest: Vec<Fr> = mat_vec(&self.carried, &state[1..]);
        state[1..].copy_from_slice(&rest);
        for c in &self.full_constants[HALF_FULL..] {
            self.full_round(state, c);
        }
    }
}

fn permutation(width: usize) -> Option<&'static Permutation> {
    static TABLE: [OnceLock<Option<Permutation>>; MAX_WIDTH + 1] =
        [const { OnceLock::new() }; MAX_WIDTH + 1];
    TABLE
        .get(width)?
        .get_or_init(|| Permutation::new(width))
        .as_ref()
}

/// circomlib's `Poseidon(n)` of `inputs` (1 to 12 of them): the permutation of
/// `[0, inputs...]`, output element 0.
pub fn hash(inputs: &[Fr]) -> Result<Fr, CoreError> {
    if inputs.is_empty() || inputs.len() > MAX_INPUTS {
        return Err(CoreError::PoseidonArity {
            inputs: inputs.len(),
        });
    }
    let perm = permutation(inputs.len() + 1).ok_or(CoreError::PoseidonArity {
        inputs: inputs.len(),
    })?;
    let mut state = [Fr::zero(); MAX_WIDTH];
    state[1..=inputs.len()].copy_from_slice(inputs);
    perm.permute(&mut state[..=inputs.len()]);
    Ok(state[0])
}

/// Poseidon of one input (holder commitments).
pub fn hash1(a: Fr) -> Fr {
    hash_fixed(&[a])
}

/// Poseidon of two inputs (tree nodes, nullifiers, string chunks).
pub fn hash2(a: Fr, b: Fr) -> Fr {
    hash_fixed(&[a, b])
}

/// For arities fixed at compile time within 1..=12, where the arity error cannot happen.
fn hash_fixed(inputs: &[Fr]) -> Fr {
    match hash(inputs) {
        Ok(h) => h,
        // Unreachable: callers pass 1 or 2 inputs, and widths 2 and 3 always build.
        Err(e) => panic!("poseidon arity {}: {e}", inputs.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use light_poseidon::{Poseidon, PoseidonHasher};
    use proptest::prelude::*;

    fn reference(inputs: &[Fr]) -> Fr {
        Poseidon::<Fr>::new_circom(inputs.len())
            .expect("width")
            .hash(inputs)
            .expect("hash")
    }

    #[test]
    fn circomlib_vector_for_1_2() {
        // The test vector in circomlib's own poseidon test: poseidon([1, 2]).
        let expect = crate::field::parse(
            "v",
            "7853200120776062878684798364095072458815029376092732009249414926327459813530",
        )
        .expect("canonical");
        assert_eq!(hash2(Fr::from(1u64), Fr::from(2u64)), expect);
    }

    #[test]
    fn agrees_with_reference_for_every_width() {
        for n in 1..=MAX_INPUTS {
            let inputs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 7919 + 3)).collect();
            assert_eq!(hash(&inputs).expect("arity"), reference(&inputs), "n = {n}");
        }
    }

    #[test]
    fn arity_is_checked() {
        assert!(hash(&[]).is_err());
        assert!(hash(&[Fr::one(); 13]).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn agrees_with_reference_on_random_inputs(
            n in 1..=MAX_INPUTS,
            seed in any::<[u8; 32]>(),
        ) {
            use ark_ff::PrimeField;
            let inputs: Vec<Fr> = (0..n)
                .map(|i| {
                    let mut b = seed;
                    b[0] ^= i as u8;
                    Fr::from_le_bytes_mod_order(&b) - Fr::from(i as u64)
                })
                .collect();
            prop_assert_eq!(hash(&inputs).expect("arity"), reference(&inputs));
        }
    }
}
