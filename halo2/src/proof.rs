//! Proving and verifying with IPA commitments on Vesta (whose scalar field is the Pallas base
//! field the circuits use): no trusted setup — the parameters are derived from a fixed string.
//! zcash's halo2 0.4 cannot serialise proving or verifying keys, so [`Keys::generate`] runs once
//! per process and its result is kept (see [`Keys::shared`]).

use crate::membership::Membership;
use halo2_proofs::plonk::{
    create_proof, keygen_pk, keygen_vk, verify_proof, ProvingKey, SingleVerifier,
};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255};
use pasta_curves::pallas::Base as Fp;
use pasta_curves::vesta;
use std::sync::OnceLock;

/// The membership circuit's size: 2^11 rows.
pub const K: u32 = 11;

/// Why a proof could not be made or was refused.
#[derive(Debug, thiserror::Error)]
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
}

fn plonk(what: &'static str) -> impl Fn(halo2_proofs::plonk::Error) -> Halo2Error {
    move |e| Halo2Error::Plonk {
        what,
        reason: format!("{e:?}"),
    }
}

/// Parameters and keys of the membership circuit.
pub struct Keys {
    /// The IPA parameters.
    pub params: Params<vesta::Affine>,
    /// The proving key (its verifying key inside).
    pub pk: ProvingKey<vesta::Affine>,
}

impl Keys {
    /// Derives the parameters and generates the keys.
    pub fn generate() -> Result<Keys, Halo2Error> {
        let params = Params::<vesta::Affine>::new(K);
        let empty = Membership::default();
        let vk = keygen_vk(&params, &empty).map_err(plonk("verifying key"))?;
        let pk = keygen_pk(&params, vk, &empty).map_err(plonk("proving key"))?;
        Ok(Keys { params, pk })
    }

    /// The keys of this process, generated on first use.
    pub fn shared() -> Result<&'static Keys, Halo2Error> {
        static KEYS: OnceLock<Keys> = OnceLock::new();
        if let Some(k) = KEYS.get() {
            return Ok(k);
        }
        let k = Keys::generate()?;
        Ok(KEYS.get_or_init(|| k))
    }

    /// Proves the circuit for these public inputs.
    pub fn prove(&self, circuit: &Membership, instance: &[Fp]) -> Result<Vec<u8>, Halo2Error> {
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

    /// Checks a proof against public inputs.
    pub fn verify(&self, proof: &[u8], instance: &[Fp]) -> Result<(), Halo2Error> {
        let mut transcript = Blake2bRead::<_, vesta::Affine, Challenge255<_>>::init(proof);
        verify_proof(
            &self.params,
            self.pk.get_vk(),
            SingleVerifier::new(&self.params),
            &[&[instance]],
            &mut transcript,
        )
        .map_err(|_| Halo2Error::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::membership::{instance, row, Witness, DEPTH};
    use ff::Field;

    #[test]
    fn a_proof_verifies_and_every_tampering_is_refused() {
        let keys = Keys::shared().expect("keys");
        let w = Witness {
            secret: Fp::from(0xabcdef),
            value: Fp::from(2015),
            salt: Fp::from(42),
            index: 3,
            siblings: [Fp::from(5); DEPTH],
        };
        let scope = Fp::from(1234);
        let public = instance(
            w.root(),
            scope,
            w.nullifier(scope),
            2000,
            2020,
            Fp::from(99),
        );
        let proof = keys
            .prove(&Membership { witness: Some(w) }, &public)
            .expect("proves");
        keys.verify(&proof, &public).expect("verifies");
        // Every public input is bound, the challenge included (it is in no gate, but the
        // instance commitment is in the transcript).
        for r in 0..row::COUNT {
            let mut bad = public.clone();
            bad[r] += Fp::ONE;
            assert!(keys.verify(&proof, &bad).is_err(), "instance row {r}");
        }
        let mut flipped = proof.clone();
        flipped[40] ^= 1;
        assert!(keys.verify(&flipped, &public).is_err(), "a flipped byte");
        assert!(
            keys.verify(&proof[..proof.len() - 1], &public).is_err(),
            "truncated"
        );
        assert!(keys.verify(&[], &public).is_err(), "empty");
    }
}
