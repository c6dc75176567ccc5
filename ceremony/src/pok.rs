//! Proofs of knowledge of a contribution's secret, and the same-ratio check both phases use.
//!
//! A contributor with secret `x` publishes `s` (random in G1), `s·x`, and `r·x` where `r` is a
//! G2 point hashed from the transcript so far and `s, s·x`: nobody knows `r`'s discrete log, so
//! only someone who knows `x` can produce `r·x` (BGM17, section 3). The same `r, r·x` then show
//! that the contribution multiplied the key by exactly that `x`: `e(before, r·x) = e(after, r)`.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{UniformRand, Zero};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rand::SeedableRng;
use sha2::{Digest, Sha256};

/// A proof of knowledge of one secret.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Knowledge {
    /// A random G1 point.
    pub s: G1Affine,
    /// `s · x`.
    pub sx: G1Affine,
    /// `r · x`, with `r` the challenge point.
    pub rx: G2Affine,
}

/// The G2 point a proof of knowledge is challenged with: hashed from the transcript and the
/// proof's G1 points by rejection sampling (a random x-coordinate, then the cofactor cleared),
/// so its discrete logarithm is unknown to everyone.
pub fn challenge_point(transcript: &[u8; 32], s: &G1Affine, sx: &G1Affine) -> G2Affine {
    let mut h = Sha256::new();
    h.update(b"dossier-ceremony/knowledge/v1");
    h.update(transcript);
    let mut points = Vec::with_capacity(128);
    crate::ptau::put_g1(s, &mut points);
    crate::ptau::put_g1(sx, &mut points);
    h.update(&points);
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(h.finalize().into());
    G2Projective::rand(&mut rng).into_affine()
}

impl Knowledge {
    /// Proves knowledge of `x`; returns the proof and its challenge point `r`.
    pub fn prove<R: rand::RngCore + rand::CryptoRng>(
        x: &Fr,
        transcript: &[u8; 32],
        rng: &mut R,
    ) -> (Knowledge, G2Affine) {
        let s = loop {
            let s = G1Projective::rand(rng).into_affine();
            if !s.is_zero() {
                break s;
            }
        };
        let sx = (s * x).into_affine();
        let r = challenge_point(transcript, &s, &sx);
        let rx = (r * x).into_affine();
        (Knowledge { s, sx, rx }, r)
    }

    /// Checks the proof against the transcript; returns its challenge point when it holds. A
    /// proof for the secret one (nothing contributed) is refused.
    pub fn verify(&self, transcript: &[u8; 32]) -> Option<G2Affine> {
        if self.s.is_zero() || self.sx.is_zero() || self.s == self.sx {
            return None;
        }
        let r = challenge_point(transcript, &self.s, &self.sx);
        same_ratio((self.s, self.sx), (r, self.rx)).then_some(r)
    }
}

/// `b1 / a1 == b2 / a2` in the exponent: `e(a1, b2) == e(b1, a2)`. False when any point is zero.
pub fn same_ratio((a1, b1): (G1Affine, G1Affine), (a2, b2): (G2Affine, G2Affine)) -> bool {
    if a1.is_zero() || b1.is_zero() || a2.is_zero() || b2.is_zero() {
        return false;
    }
    Bn254::multi_pairing([a1.into_group(), -b1.into_group()], [b2, a2]).is_zero()
}

/// Random 128-bit weights for a batched check: a wrong point passes with probability 2^-128.
pub fn weights(n: usize) -> Vec<Fr> {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| Fr::from(rand::Rng::gen::<u128>(&mut rng)))
        .collect()
}

/// `p · s` in G1 by the GLV endomorphism (twice as fast as the affine double-and-add).
pub fn mul1(p: &G1Affine, s: Fr) -> G1Projective {
    p.into_group() * s
}

/// `p · s` in G2 by the GLV endomorphism.
pub fn mul2(p: &G2Affine, s: Fr) -> G2Projective {
    <ark_bn254::g2::Config as ark_ec::scalar_mul::glv::GLVConfig>::glv_mul_projective(
        p.into_group(),
        s,
    )
}

/// A multi-scalar multiplication in G1 (bases and scalars of one length).
pub fn msm1(bases: &[G1Affine], scalars: &[Fr]) -> G1Projective {
    <G1Projective as ark_ec::VariableBaseMSM>::msm_unchecked(bases, scalars)
}

/// A multi-scalar multiplication in G2.
pub fn msm2(bases: &[G2Affine], scalars: &[Fr]) -> G2Projective {
    <G2Projective as ark_ec::VariableBaseMSM>::msm_unchecked(bases, scalars)
}

/// The G1 and G2 generators, affine.
pub fn generators() -> (G1Affine, G2Affine) {
    (
        G1Projective::generator().into_affine(),
        G2Projective::generator().into_affine(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_multiplications_agree_with_double_and_add() {
        let mut rng = rand::thread_rng();
        for _ in 0..8 {
            let s = Fr::rand(&mut rng);
            let p1 = G1Projective::rand(&mut rng).into_affine();
            let p2 = G2Projective::rand(&mut rng).into_affine();
            assert_eq!(mul1(&p1, s), p1 * s);
            assert_eq!(mul2(&p2, s), p2 * s);
        }
    }

    #[test]
    fn a_proof_of_knowledge_holds_only_for_its_transcript_and_secret() {
        let mut rng = rand::thread_rng();
        let x = Fr::rand(&mut rng);
        let (k, r) = Knowledge::prove(&x, &[1; 32], &mut rng);
        assert_eq!(k.verify(&[1; 32]), Some(r));
        assert_eq!(k.verify(&[2; 32]), None, "another transcript");
        let mut forged = k.clone();
        forged.rx = (r * (x + Fr::from(1u64))).into_affine();
        assert_eq!(forged.verify(&[1; 32]), None, "r·x for another x");
        let (one, _) = Knowledge::prove(&Fr::from(1u64), &[1; 32], &mut rng);
        assert_eq!(
            one.verify(&[1; 32]),
            None,
            "the secret one contributes nothing"
        );
    }
}
