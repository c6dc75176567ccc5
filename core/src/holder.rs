//! Holder identity: a random secret and its public commitment `Poseidon(secret)`.
//!
//! Credentials are bound to the commitment, so a proof must show knowledge of the secret: a
//! leaked credential is useless without it. The secret is zeroised on drop and never printed.

use crate::{field, pasta, poseidon, CoreError};
use ark_bn254::Fr;
use ark_ff::{UniformRand, Zero};
use zeroize::Zeroize;

/// A holder's secret. `Debug` does not show it; it is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct HolderSecret(Fr);

impl std::fmt::Debug for HolderSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HolderSecret(<redacted>)")
    }
}

impl Drop for HolderSecret {
    fn drop(&mut self) {
        // Fr has no Zeroize impl of its own: wipe its limbs in place.
        self.0 .0 .0.zeroize();
    }
}

impl HolderSecret {
    /// A fresh secret from a cryptographic RNG.
    pub fn random<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> HolderSecret {
        loop {
            let s = Fr::rand(rng);
            if !s.is_zero() {
                return HolderSecret(s);
            }
        }
    }

    /// Reads a secret from its text form, refusing zero and non-canonical values.
    pub fn parse(s: &str) -> Result<HolderSecret, CoreError> {
        let x = field::parse("holder secret", s)?;
        if x.is_zero() {
            return Err(CoreError::Malformed {
                what: "holder secret".into(),
                reason: "must not be zero".into(),
            });
        }
        Ok(HolderSecret(x))
    }

    /// The text form, for the wallet file only.
    pub fn expose_hex(&self) -> String {
        field::to_hex(&self.0)
    }

    /// The field element, for witness building only.
    pub fn expose(&self) -> Fr {
        self.0
    }

    /// The public commitment `Poseidon(secret)`.
    pub fn commitment(&self) -> Fr {
        poseidon::hash1(self.0)
    }

    /// The public commitment in the halo2 backend's field, `Poseidon_Pasta(secret)`: what an
    /// issuer puts into the credential's halo2 commitment.
    pub fn commitment_halo2(&self) -> pasta::Fp {
        pasta::hash([pasta::from_fr(&self.0)])
    }

    /// The per-scope nullifier of the halo2 backend, `Poseidon_Pasta(secret, scope)`.
    pub fn nullifier_halo2(&self, scope: Fr) -> pasta::Fp {
        pasta::hash([pasta::from_fr(&self.0), pasta::from_fr(&scope)])
    }

    /// The per-scope nullifier `Poseidon(secret, scope)`.
    pub fn nullifier(&self, scope: Fr) -> Fr {
        poseidon::hash2(self.0, scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_secret() {
        let s = HolderSecret::random(&mut rand::thread_rng());
        let shown = format!("{s:?}");
        assert!(!shown.contains(&s.expose_hex()[2..10]));
        assert_eq!(HolderSecret::parse(&s.expose_hex()).expect("parse"), s);
        assert!(HolderSecret::parse(&field::to_hex(&Fr::zero())).is_err());
    }

    #[test]
    fn nullifiers_differ_per_scope() {
        let s = HolderSecret::random(&mut rand::thread_rng());
        assert_ne!(s.nullifier(Fr::from(1u64)), s.nullifier(Fr::from(2u64)));
        assert_ne!(s.commitment(), s.nullifier(Fr::from(0u64)));
    }
}
