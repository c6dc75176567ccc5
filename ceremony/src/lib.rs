//! dossier's Groth16 setup ceremony: no single department knows the toxic waste.
//!
//! A Groth16 key is only as sound as the secrets it was made from: whoever knows them can forge
//! every proof. This crate replaces the development setup by the two-phase multi-party
//! computation of Bowe, Gabizon and Miers (eprint 2017/1050), the protocol snarkjs and the
//! Zcash, Tornado and Semaphore ceremonies run:
//!
//! - **Phase 1** ([`phase1`]): powers of tau in the snarkjs `.ptau` format. A deployment imports
//!   one of the public multi-party files (the perpetual powers of tau); participants can also
//!   extend one ([`phase1::Powers::contribute`], recorded as snarkjs records it).
//!   [`phase1::Powers::verify`] checks every power (same-ratio pairing checks, batched with
//!   random weights) and every contribution's record (proofs of knowledge, updates, beacon,
//!   challenge chain) before a file is used.
//! - **Phase 2** ([`phase2`]): per shape, a transcript that starts from the shape's constraint
//!   matrices and a verified phase 1 ([`phase2::Transcript::init`]); each department
//!   contributes a fresh secret with a proof of knowledge ([`phase2::Transcript::contribute`]),
//!   a public random beacon closes it ([`phase2::Transcript::beacon`]), and anyone re-checks the
//!   whole of it against the circuit and phase 1 ([`phase2::Transcript::verify`]) before its
//!   key is used ([`phase2::Transcript::finalize`]).
//!
//! The key is in arkworks' form (the libsnark reduction: `h_i = tau^i Z(tau) / delta`), so the
//! prover and verifier are unchanged. Verification never trusts the coordinator who computed the
//! initial key: every query is checked against phase 1's powers by a random linear combination.

mod blake2b;
pub mod phase1;
pub mod phase2;
mod pok;
pub mod ptau;
pub mod qap;
pub mod zkey;

use ark_bn254::Fr;
use ark_relations::gr1cs::Matrix;

/// Why a ceremony file was refused or a step could not run. Messages name the field or step at
/// fault, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CeremonyError {
    /// A file is not of the expected format.
    #[error("{field}: {reason}")]
    Format {
        /// The section or field at fault.
        field: &'static str,
        /// Why.
        reason: &'static str,
    },
    /// A coordinate is not a canonical field element (>= the modulus).
    #[error("{field}: a coordinate is not a canonical field element")]
    NonCanonical {
        /// The section at fault.
        field: &'static str,
    },
    /// A point is not on the curve.
    #[error("{field}: a point is not on the curve")]
    NotOnCurve {
        /// The section at fault.
        field: &'static str,
    },
    /// A point is on the curve but not in the prime-order subgroup.
    #[error("{field}: a point is not in the prime-order subgroup")]
    NotInSubgroup {
        /// The section at fault.
        field: &'static str,
    },
    /// A size is beyond what this implementation accepts.
    #[error("{field}: {found} exceeds the limit {max}")]
    TooLarge {
        /// What was too large.
        field: &'static str,
        /// Its value.
        found: u64,
        /// The limit.
        max: u64,
    },
    /// Phase 1 is too small for a circuit.
    #[error("the circuit needs 2^{needed} powers of tau; phase 1 has 2^{have}")]
    PhaseOneTooSmall {
        /// log2 of the circuit's domain.
        needed: u32,
        /// log2 of phase 1's powers.
        have: u32,
    },
    /// A phase 1 file failed verification at a step.
    #[error("phase 1 refused: {0}")]
    PhaseOne(phase1::Check),
    /// A phase 2 transcript failed verification at a step.
    #[error("phase 2 refused at {at}: {check}")]
    PhaseTwo {
        /// Where: `initial key` or `contribution N` (1-based).
        at: phase2::At,
        /// The check that failed.
        check: phase2::Check,
    },
    /// A key could not be serialised or read.
    #[error("{field}: {source}")]
    Serialization {
        /// The object.
        field: &'static str,
        /// What arkworks said.
        source: ark_serialize::SerializationError,
    },
}

/// A shape's constraint system as phase 2 needs it: the R1CS matrices (rows are constraints,
/// entries `(coefficient, variable)`, variable 0 the constant one, then the instance, then the
/// witness variables). The transcript is bound to it by the circuit hash of its initial key.
#[derive(Clone, Copy)]
pub struct Circuit<'a> {
    /// A, B and C.
    pub matrices: &'a [Matrix<Fr>],
    /// Instance variables, the constant one included.
    pub num_instance: usize,
    /// All variables (instance and witness).
    pub num_variables: usize,
}

impl Circuit<'_> {
    /// Constraints (rows).
    pub fn num_constraints(&self) -> usize {
        self.matrices.first().map_or(0, Vec::len)
    }

    /// log2 of the QAP domain: the smallest power of two holding every constraint and one
    /// row per instance variable (arkworks' and snarkjs's convention).
    pub fn domain_log(&self) -> u32 {
        (self.num_constraints() + self.num_instance)
            .next_power_of_two()
            .trailing_zeros()
    }

    /// Checks the matrices are well formed: three of one height, every variable in range.
    pub fn check(&self) -> Result<(), CeremonyError> {
        let rows = self.num_constraints();
        if self.matrices.len() != 3 || self.matrices.iter().any(|m| m.len() != rows) {
            return Err(CeremonyError::Format {
                field: "circuit",
                reason: "the three matrices differ in height",
            });
        }
        if self.num_instance == 0 || self.num_instance > self.num_variables {
            return Err(CeremonyError::Format {
                field: "circuit",
                reason: "instance count out of range",
            });
        }
        let in_range = self
            .matrices
            .iter()
            .flatten()
            .flatten()
            .all(|(_, v)| *v < self.num_variables);
        if !in_range {
            return Err(CeremonyError::Format {
                field: "circuit",
                reason: "a matrix entry names a variable out of range",
            });
        }
        Ok(())
    }
}

#[cfg(any(test, feature = "toy"))]
#[doc(hidden)]
pub mod toy {
    //! A small circuit for the ceremony's tests (and, with the `toy` feature, the end-to-end
    //! snarkjs checks): x * k = prod with prod public, plus a chain of squarings so the domain
    //! is a few rows.
    use super::*;
    use ark_ff::{Field, One};
    use ark_relations::gr1cs::{
        ConstraintSynthesizer, ConstraintSystem, ConstraintSystemRef, OptimizationGoal,
        SynthesisError, SynthesisMode, Variable, R1CS_PREDICATE_LABEL,
    };
    use ark_relations::lc;

    /// Proves knowledge of x with x^(2^rounds) = out and x * k = prod (out and prod public).
    #[derive(Clone)]
    pub struct Squares {
        pub x: Fr,
        pub k: Fr,
        pub rounds: usize,
    }

    impl Squares {
        pub fn outputs(&self) -> Vec<Fr> {
            let mut v = self.x;
            for _ in 0..self.rounds {
                v = v.square();
            }
            vec![v, self.x * self.k]
        }
    }

    impl ConstraintSynthesizer<Fr> for Squares {
        fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
            let outs = self.outputs();
            let out = cs.new_input_variable(|| Ok(outs[0]))?;
            let prod = cs.new_input_variable(|| Ok(outs[1]))?;
            let x = cs.new_witness_variable(|| Ok(self.x))?;
            let k = cs.new_witness_variable(|| Ok(self.k))?;
            let mut v = x;
            let mut value = self.x;
            for i in 0..self.rounds {
                value = value.square();
                let next = if i + 1 == self.rounds {
                    out
                } else {
                    cs.new_witness_variable(|| Ok(value))?
                };
                cs.enforce_r1cs_constraint(|| lc!() + v, || lc!() + v, || lc!() + next)?;
                v = next;
            }
            cs.enforce_r1cs_constraint(
                || lc!() + x + (Fr::from(3u64), x),
                || lc!() + k,
                || lc!() + (Fr::from(4u64), prod),
            )?;
            // Keep an unused-looking constant row so the ONE variable appears in B.
            cs.enforce_r1cs_constraint(
                || lc!() + (Fr::one(), Variable::One),
                || lc!() + (Fr::one(), Variable::One),
                || lc!() + (Fr::one(), Variable::One),
            )?;
            Ok(())
        }
    }

    /// The toy's matrices as key generation sees them.
    pub struct Matrices {
        pub m: [Matrix<Fr>; 3],
        pub num_instance: usize,
        pub num_variables: usize,
    }

    pub fn matrices(rounds: usize) -> Matrices {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        Squares {
            x: Fr::one(),
            k: Fr::one(),
            rounds,
        }
        .generate_constraints(cs.clone())
        .expect("synthesis");
        cs.finalize();
        let mut all = cs.to_matrices().expect("matrices");
        let m = all.remove(R1CS_PREDICATE_LABEL).expect("r1cs");
        let [a, b, c]: [Matrix<Fr>; 3] = m.try_into().expect("three matrices");
        Matrices {
            m: [a, b, c],
            num_instance: cs.num_instance_variables(),
            num_variables: cs.num_instance_variables() + cs.num_witness_variables(),
        }
    }

    impl Matrices {
        pub fn circuit(&self) -> Circuit<'_> {
            Circuit {
                matrices: &self.m,
                num_instance: self.num_instance,
                num_variables: self.num_variables,
            }
        }
    }
}
