//! Proving and verifying with IPA commitments on Vesta (whose scalar field is the Pallas base
//! field the circuits use): no trusted setup — the parameters are derived from a fixed string.
//! zcash's halo2 0.4 cannot serialise proving or verifying keys, so a shape's keys are generated
//! once per process and kept: [`VerifyingKeys::shared`] for verifiers (`keygen_vk` alone) and
//! [`Keys::shared`] for provers (a proving key over the same verifying key). A verifying key is
//! named by [`vk_name`] (SHA-256 of the scalar halo2 binds it into transcripts with), so a
//! presentation can say which circuit it was proven for.

use crate::statement::{k_of, StatementCircuit};
use dossier_core::pasta::Fp;
use dossier_core::query::{Shape, SHAPES};
use ff::Field;
use ff::PrimeField;
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, ProvingKey, VerificationStrategy,
    VerifyingKey,
};
use halo2_proofs::poly::commitment::{Guard, Params, MSM};
use halo2_proofs::transcript::{
    Blake2bRead, Blake2bWrite, Challenge255, EncodedChallenge, Transcript,
};
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
}

fn plonk(what: &'static str) -> impl Fn(halo2_proofs::plonk::Error) -> Halo2Error {
    move |e| Halo2Error::Plonk {
        what,
        reason: format!("{e:?}"),
    }
}

/// The IPA parameters and verifying key of one shape's circuit: everything a verifier needs
/// (`keygen_vk` alone; no proving key is ever built on the verifier's side).
pub struct VerifyingKeys {
    /// The shape.
    pub shape: Shape,
    /// The IPA parameters.
    pub params: Params<vesta::Affine>,
    /// The verifying key.
    pub vk: VerifyingKey<vesta::Affine>,
    /// The key's name in presentations: see [`vk_name`].
    pub vk_sha256: String,
}

/// The name of a verifying key: SHA-256 (hex) of the 32-byte scalar by which halo2 itself binds
/// the key into every proof's transcript (`VerifyingKey::hash_into`), read back through the
/// transcript interface. Two keys with one name accept the same proofs; the value depends on
/// nothing of ours but the circuit.
pub fn vk_name(vk: &VerifyingKey<vesta::Affine>) -> Result<String, Halo2Error> {
    let mut capture = Capture(None);
    vk.hash_into(&mut capture).map_err(|e| Halo2Error::Plonk {
        what: "verifying key name",
        reason: e.to_string(),
    })?;
    let repr = capture.0.ok_or(Halo2Error::Plonk {
        what: "verifying key name",
        reason: "the key wrote nothing into the transcript".into(),
    })?;
    Ok(hex::encode(Sha256::digest(repr.to_repr())))
}

/// A transcript that only records the scalar a verifying key hashes into it.
struct Capture(Option<Fp>);

impl Transcript<vesta::Affine, Challenge255<vesta::Affine>> for Capture {
    fn squeeze_challenge(&mut self) -> Challenge255<vesta::Affine> {
        Challenge255::new(&[0u8; 64])
    }
    fn common_point(&mut self, _: vesta::Affine) -> std::io::Result<()> {
        Ok(())
    }
    fn common_scalar(&mut self, scalar: Fp) -> std::io::Result<()> {
        self.0 = Some(scalar);
        Ok(())
    }
}

fn shape_index(shape: Shape) -> Result<usize, Halo2Error> {
    SHAPES
        .iter()
        .position(|s| *s == shape)
        .ok_or_else(|| Halo2Error::UnknownShape {
            shape: shape.name(),
        })
}

impl VerifyingKeys {
    /// Derives the parameters and generates the verifying key of a shape.
    pub fn generate(shape: Shape) -> Result<VerifyingKeys, Halo2Error> {
        let params = Params::<vesta::Affine>::new(k_of(shape));
        let vk = keygen_vk(&params, &empty(shape)).map_err(plonk("verifying key"))?;
        let vk_sha256 = vk_name(&vk)?;
        Ok(VerifyingKeys {
            shape,
            params,
            vk,
            vk_sha256,
        })
    }

    /// The verifying keys of a shape for this process, generated on first use.
    pub fn shared(shape: Shape) -> Result<&'static VerifyingKeys, Halo2Error> {
        static KEYS: [OnceLock<VerifyingKeys>; SHAPES.len()] =
            [const { OnceLock::new() }; SHAPES.len()];
        let i = shape_index(shape)?;
        if let Some(k) = KEYS[i].get() {
            return Ok(k);
        }
        let k = VerifyingKeys::generate(shape)?;
        Ok(KEYS[i].get_or_init(|| k))
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
            &self.vk,
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
    /// n proofs); on `Err`, check them one by one with [`VerifyingKeys::verify`] to find which.
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

fn empty(shape: Shape) -> StatementCircuit {
    StatementCircuit {
        shape,
        witness: None,
    }
}

/// The proving key of one shape's circuit, over the process's shared verifying keys.
pub struct Keys {
    /// The parameters and verifying key (also what verifiers in this process use).
    pub verifying: &'static VerifyingKeys,
    /// The proving key (a copy of the verifying key inside).
    pub pk: ProvingKey<vesta::Affine>,
    /// The verifying key's name (as [`VerifyingKeys::vk_sha256`]).
    pub vk_sha256: String,
}

impl Keys {
    /// Generates the proving key of a shape (the verifying keys are generated first, once).
    pub fn generate(shape: Shape) -> Result<Keys, Halo2Error> {
        let verifying = VerifyingKeys::shared(shape)?;
        let pk = keygen_pk(&verifying.params, verifying.vk.clone(), &empty(shape))
            .map_err(plonk("proving key"))?;
        Ok(Keys {
            verifying,
            pk,
            vk_sha256: verifying.vk_sha256.clone(),
        })
    }

    /// The proving keys of a shape for this process, generated on first use.
    pub fn shared(shape: Shape) -> Result<&'static Keys, Halo2Error> {
        static KEYS: [OnceLock<Keys>; SHAPES.len()] = [const { OnceLock::new() }; SHAPES.len()];
        let i = shape_index(shape)?;
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
        self.prove_with(
            circuit,
            instance,
            rand10::rand_core::UnwrapErr(rand10::rngs::SysRng),
        )
    }

    /// [`Keys::prove`] with the proof's randomness from a generator seeded with `seed` (32
    /// bytes from the caller's own source: a browser's WebCrypto, which the OS's randomness is
    /// not reachable from).
    pub fn prove_seeded(
        &self,
        circuit: &StatementCircuit,
        instance: &[Fp],
        seed: [u8; 32],
    ) -> Result<Vec<u8>, Halo2Error> {
        use rand10::SeedableRng;
        self.prove_with(circuit, instance, rand10::rngs::StdRng::from_seed(seed))
    }

    fn prove_with(
        &self,
        circuit: &StatementCircuit,
        instance: &[Fp],
        rng: impl rand10::Rng,
    ) -> Result<Vec<u8>, Halo2Error> {
        let mut transcript = Blake2bWrite::<_, vesta::Affine, Challenge255<_>>::init(vec![]);
        create_proof(
            &self.verifying.params,
            &self.pk,
            std::slice::from_ref(circuit),
            &[&[instance]],
            rng,
            &mut transcript,
        )
        .map_err(plonk("proving"))?;
        Ok(transcript.finalize())
    }

    /// Checks a proof (with the shared verifying keys).
    pub fn verify(&self, proof: &[u8], instance: &[Fp]) -> Result<(), Halo2Error> {
        self.verifying.verify(proof, instance)
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

#[cfg(test)]
mod golden {
    use super::*;

    /// The verifying-key name of each shipped shape's circuit. A change here is a change of the
    /// circuit (or of halo2's own key encoding): every halo2 presentation made before it stops
    /// verifying, so update these only with the circuit change that moves them.
    const GOLDEN: [(&str, &str); 3] = [
        (
            "m1p4k4r2",
            "28f015f3543725bc4fdc8e6b455956483339d377cb71efe29fa2e571ddb5cbd0",
        ),
        (
            "m3p2k4r1",
            "df36129bbbfc405dc24f92ac700836a5480329cfa89a9be88fc819d09911ce47",
        ),
        (
            "m4p2k4r1",
            "958b179e5b0a4b260ceecfde6d1793a0af0b710a686f76b971e4059664374b95",
        ),
    ];

    #[test]
    fn verifying_key_names_are_pinned() {
        for (shape, (name, pinned)) in SHAPES.iter().zip(GOLDEN) {
            assert_eq!(shape.name(), name);
            let vk = VerifyingKeys::generate(*shape).expect("keygen_vk");
            assert_eq!(vk.vk_sha256.len(), 64);
            assert_eq!(vk.vk_sha256, pinned, "{name}");
        }
    }
}
