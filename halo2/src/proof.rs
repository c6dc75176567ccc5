//! Proving and verifying with IPA commitments on Vesta (whose scalar field is the Pallas base
//! field the circuits use): no trusted setup — the parameters are derived from a fixed string.
//! zcash's halo2 0.4 cannot serialise proving or verifying keys, so [`Keys::shared`] generates a
//! shape's keys once per process and keeps them. A verifying key is named by
//! [`Keys::vk_sha256`], the SHA-256 of its pinned description (domain, constraint system,
//! fixed commitments), so a presentation can say which circuit it was proven for.

use crate::statement::{k_of, StatementCircuit};
use dossier_core::pasta::Fp;
use dossier_core::query::{Shape, SHAPES};
use ff::Field;
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, ProvingKey, VerificationStrategy,
};
use halo2_proofs::poly::commitment::{Guard, Params, MSM};
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255, EncodedChallenge};
use pasta_curves::vesta;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Why a proof could not be made or was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Halo2Error {
    /// Key generation or proving failed (a bug or a witness that does not satisfy the circuit).
    #[error("halo2 {what}: {reason}")]
    Plonk {
        /// Which step.
        what: &'static str,
        /// halo2's words.
        reason: String,
    },
    /// The proof does not verify for these public inputs.
    #[error("the halo2 proof does not verify")]
    Invalid,
    /// Bytes follow the proof: one proof would have many encodings.
    #[error("{extra} bytes follow the halo2 proof")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
    /// The shape is not one the backend knows.
    #[error("no halo2 circuit for shape {shape}")]
    UnknownShape {
        /// The shape's name.
        shape: String,
    },
    /// The number of credentials does not match the query.
    #[error("the query asks for {expected} credentials, {given} given")]
    CredentialCount {
        /// Asked for.
        expected: usize,
        /// Given.
        given: usize,
    },
    /// A credential does not satisfy something the query asks.
    #[error("credential {index} does not satisfy the query: {reason}")]
    Unsatisfied {
        /// Which credential of the query.
        index: usize,
        /// What fails.
        reason: String,
    },
}

impl From<dossier_core::query::Unsatisfied> for Halo2Error {
    fn from(u: dossier_core::query::Unsatisfied) -> Halo2Error {
        match u {
            dossier_core::query::Unsatisfied::Count { expected, given } => {
                Halo2Error::CredentialCount { expected, given }
            }
            dossier_core::query::Unsatisfied::Credential { index, reason } => {
                Halo2Error::Unsatisfied { index, reason }
            }
        }
    }
}

fn plonk(what: &'static str) -> impl Fn(halo2_proofs::plonk::Error) -> Halo2Error {
    move |e| Halo2Error::Plonk {
        what,
        reason: format!("{e:?}"),
    }
}

/// Parameters and keys of one shape's circuit.
pub struct Keys {
    /// The shape.
    pub shape: Shape,
    /// The IPA parameters.
    pub params: Params<vesta::Affine>,
    /// The proving key (its verifying key inside).
    pub pk: ProvingKey<vesta::Affine>,
    /// SHA-256 of the verifying key's pinned description, hex.
    pub vk_sha256: String,
}

impl Keys {
    /// Derives the parameters and generates the keys of a shape.
    pub fn generate(shape: Shape) -> Result<Keys, Halo2Error> {
        let params = Params::<vesta::Affine>::new(k_of(shape));
        let empty = StatementCircuit {
            shape,
            witness: None,
        };
        let vk = keygen_vk(&params, &empty).map_err(plonk("verifying key"))?;
        let vk_sha256 = hex::encode(Sha256::digest(format!("{:?}", vk.pinned()).as_bytes()));
        let pk = keygen_pk(&params, vk, &empty).map_err(plonk("proving key"))?;
        Ok(Keys {
            shape,
            params,
            pk,
            vk_sha256,
        })
    }

    /// The keys of a shape for this process, generated on first use.
    pub fn shared(shape: Shape) -> Result<&'static Keys, Halo2Error> {
        static KEYS: [OnceLock<Keys>; SHAPES.len()] = [const { OnceLock::new() }; SHAPES.len()];
        let i =
            SHAPES
                .iter()
                .position(|s| *s == shape)
                .ok_or_else(|| Halo2Error::UnknownShape {
                    shape: shape.name(),
                })?;
        if let Some(k) = KEYS[i].get() {
            return Ok(k);
        }
        let k = Keys::generate(shape)?;
        Ok(KEYS[i].get_or_init(|| k))
    }

    /// Proves the circuit for these public inputs.
    pub fn prove(
        &self,
        circuit: &StatementCircuit,
        instance: &[Fp],
    ) -> Result<Vec<u8>, Halo2Error> {
        let mut transcript = Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
        create_proof(
            &self.params,
            &self.pk,
            std::slice::from_ref(circuit),
            &[&[instance]],
            rand10::rand_core::UnwrapErr(rand10::rngs::SysRng),
            &mut transcript,
        )
        .map_err(plonk("proving"))?;
        Ok(transcript.finalize())
    }

    /// Reads a proof against public inputs up to its final multi-scalar multiplication, which
    /// it returns unevaluated: the proof is valid exactly when that MSM is zero. The proof must
    /// be exactly what the transcript reads (bytes left over would give one proof many
    /// encodings, and archived presentations would no longer be canonical).
    fn deferred(
        &self,
        proof: &[u8],
        instance: &[Fp],
    ) -> Result<MSM<'_, vesta::Affine>, Halo2Error> {
        let mut rest = proof;
        let mut transcript = Blake2bRead::<_, vesta::Affine, Challenge255<_>>::init(&mut rest);
        let msm = verify_proof(
            &self.params,
            self.pk.get_vk(),
            Deferred {
                msm: self.params.empty_msm(),
            },
            &[&[instance]],
            &mut transcript,
        )
        .map_err(|_| Halo2Error::Invalid)?;
        // (The transcript's borrow of `rest` ends with its last use above.)
        if !rest.is_empty() {
            return Err(Halo2Error::TrailingBytes { extra: rest.len() });
        }
        Ok(msm)
    }

    /// Checks a proof against public inputs.
    pub fn verify(&self, proof: &[u8], instance: &[Fp]) -> Result<(), Halo2Error> {
        if self.deferred(proof, instance)?.eval() {
            Ok(())
        } else {
            Err(Halo2Error::Invalid)
        }
    }

    /// Checks many `(proof, public inputs)` pairs for this circuit at once: each proof is read
    /// up to its final MSM, the MSMs are folded with fresh random weights, and one MSM over the
    /// parameters' bases is evaluated for the whole batch instead of one per proof. `Ok` only if
    /// every proof verifies (a false one slips through with probability at most about n/2^254 for
    /// n proofs); on `Err`, check them one by one with [`Keys::verify`] to find which.
    pub fn verify_batch(&self, items: &[(&[u8], &[Fp])]) -> Result<(), Halo2Error> {
        let mut rng = rand10::rand_core::UnwrapErr(rand10::rngs::SysRng);
        let mut acc = self.params.empty_msm();
        for (proof, instance) in items {
            let msm = self.deferred(proof, instance)?;
            // Scale what came before by a fresh random factor, so that no proof's MSM can be
            // chosen to cancel another's.
            acc.scale(Fp::random(&mut rng));
            acc.add_msm(&msm);
        }
        if acc.eval() {
            Ok(())
        } else {
            Err(Halo2Error::Invalid)
        }
    }
}

/// A verification strategy that hands back a proof's final MSM unevaluated, so that a single
/// check evaluates it and a batch folds many into one.
struct Deferred<'p> {
    msm: MSM<'p, vesta::Affine>,
}

impl<'p> VerificationStrategy<'p, vesta::Affine> for Deferred<'p> {
    type Output = MSM<'p, vesta::Affine>;

    fn process<E: EncodedChallenge<vesta::Affine>>(
        self,
        f: impl FnOnce(
            MSM<'p, vesta::Affine>,
        ) -> Result<Guard<'p, vesta::Affine, E>, halo2_proofs::plonk::Error>,
    ) -> Result<Self::Output, halo2_proofs::plonk::Error> {
        Ok(f(self.msm)?.use_challenges())
    }
}
