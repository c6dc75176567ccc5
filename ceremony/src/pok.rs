//! Proofs of knowledge of a contribution's secret, and the same-ratio check both phases use.
//!
//! A contributor with secret `x` publishes `s` (random in G1), `s·x`, and `r·x` where `r` is a
//! G2 point hashed from the transcript so far and `s, s·x`: nobody knows `r`'s discrete log, so
//! only someone who knows `x` can produce `r·x` (BGM17, section 3). The same `r, r·x` then show
//! that the contribution multiplied the key by exactly that `x`: `e(before, r·x) = e(after, r)`.

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::short_weierstrass::SWCurveConfig;
use ark_ec::{AffineRepr, CurveConfig, CurveGroup, PrimeGroup};
use ark_ff::{
    BigInt, BigInteger, Field, Fp, MontBackend, MontConfig, PrimeField, UniformRand, Zero,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use blake2::{Blake2b512, Digest};
use rand::{RngCore, SeedableRng};

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

/// snarkjs's random words: ChaCha20 (20 rounds, 64-bit block counter from zero, nonce zero)
/// keyed by eight 32-bit words read big-endian from a hash, as ffjavascript's `ChaCha`. Its
/// 64-bit draws put the first word high; its field elements are drawn as raw Montgomery
/// limbs (first draw lowest), masked to the modulus' bit length and rejected until below it.
/// The same stream seeds snarkjs's challenge points and its beacons, so both must match it
/// bit for bit (checked against snarkjs in `tests/tests/ceremony.rs`).
pub struct Words(rand_chacha::ChaCha20Rng);

impl Words {
    /// Keyed by the first 32 bytes of `hash`.
    pub fn from_hash(hash: &[u8]) -> Words {
        let mut key = [0u8; 32];
        for (k, w) in key.chunks_exact_mut(4).zip(hash.chunks_exact(4)) {
            let word = u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
            k.copy_from_slice(&word.to_le_bytes());
        }
        Words(rand_chacha::ChaCha20Rng::from_seed(key))
    }

    fn u64(&mut self) -> u64 {
        let high = u64::from(self.0.next_u32());
        (high << 32) | u64::from(self.0.next_u32())
    }

    fn bool(&mut self) -> bool {
        self.0.next_u32() & 1 == 1
    }

    /// A field element of a 254-bit prime field, as ffjavascript's `fromRng`.
    pub fn field<P: MontConfig<4>>(&mut self) -> Fp<MontBackend<P, 4>, 4> {
        loop {
            let mut limbs = [0u64; 4];
            for l in &mut limbs {
                *l = self.u64();
            }
            limbs[3] &= (1u64 << (P::MODULUS.num_bits() - 192)) - 1;
            let raw = BigInt(limbs);
            if raw < P::MODULUS {
                // ffjavascript takes the random bytes as the Montgomery form, not the value.
                return Fp::new_unchecked(raw);
            }
        }
    }

    /// A G1 point, as ffjavascript's `G1.fromRng` (G1 has cofactor one).
    pub fn g1(&mut self) -> G1Affine {
        loop {
            let x: Fq = self.field();
            let greatest = self.bool();
            let rhs = x.square() * x + ark_bn254::g1::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if negative(&y) == greatest { y } else { -y };
                return G1Affine::new_unchecked(x, y);
            }
        }
    }

    /// A G2 point, as ffjavascript's `G2.fromRng`: a point of the twist, then multiplied by
    /// the cofactor into the prime-order subgroup.
    pub fn g2(&mut self) -> G2Affine {
        loop {
            let x = Fq2::new(self.field(), self.field());
            let greatest = self.bool();
            let rhs = x.square() * x + ark_bn254::g2::Config::COEFF_B;
            if let Some(y) = rhs.sqrt() {
                let y = if negative2(&y) == greatest { y } else { -y };
                let p = G2Affine::new_unchecked(x, y);
                return p
                    .mul_bigint(<ark_bn254::g2::Config as CurveConfig>::COFACTOR)
                    .into_affine();
            }
        }
    }
}

/// ffjavascript's sign of a base-field element: above `(q - 1) / 2`.
fn negative(x: &Fq) -> bool {
    x.into_bigint() > Fq::MODULUS_MINUS_ONE_DIV_TWO
}

/// ffjavascript's sign in Fq2: the sign of `c1`, or of `c0` when `c1` is zero.
fn negative2(x: &Fq2) -> bool {
    if x.c1.is_zero() {
        negative(&x.c0)
    } else {
        negative(&x.c1)
    }
}

/// snarkjs's `hashToG2`: the G2 point drawn from [`Words`] keyed by `hash`. Nobody knows its
/// discrete logarithm.
pub fn hash_to_g2(hash: &[u8]) -> G2Affine {
    Words::from_hash(hash).g2()
}

/// A point as snarkjs hashes it ("uncompressed"): big-endian coordinates, `x` then `y` (in G2
/// each coordinate `c1` then `c0`); the point at infinity as zeros.
pub fn uncompressed_g1(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    if let Some((x, y)) = p.xy() {
        out[..32].copy_from_slice(&be(&x));
        out[32..].copy_from_slice(&be(&y));
    }
    out
}

/// [`uncompressed_g1`] for G2.
pub fn uncompressed_g2(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    if let Some((x, y)) = p.xy() {
        for (i, c) in [x.c1, x.c0, y.c1, y.c0].iter().enumerate() {
            out[32 * i..32 * (i + 1)].copy_from_slice(&be(c));
        }
    }
    out
}

/// A point as snarkjs's phase 1 response hashes it ("compressed", ffjavascript's `LEMtoC`):
/// big-endian `x` (in G2 `c1` then `c0`), the top bit set when `y` is negative in ffjavascript's
/// sense; the point at infinity as `0x40` then zeros.
pub fn compressed_g1(p: &G1Affine) -> [u8; 32] {
    let mut out = [0u8; 32];
    match p.xy() {
        Some((x, y)) => {
            out.copy_from_slice(&be(&x));
            if negative(&y) {
                out[0] |= 0x80;
            }
        }
        None => out[0] = 0x40,
    }
    out
}

/// [`compressed_g1`] for G2.
pub fn compressed_g2(p: &G2Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    match p.xy() {
        Some((x, y)) => {
            out[..32].copy_from_slice(&be(&x.c1));
            out[32..].copy_from_slice(&be(&x.c0));
            if negative2(&y) {
                out[0] |= 0x80;
            }
        }
        None => out[0] = 0x40,
    }
    out
}

fn be(x: &Fq) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in x.into_bigint().0.iter().rev().enumerate() {
        out[8 * i..8 * (i + 1)].copy_from_slice(&limb.to_be_bytes());
    }
    out
}

/// The G2 point a phase 1 proof of knowledge is challenged with, as snarkjs's `getG2sp`:
/// hashed (BLAKE2b-512) from a personalisation byte (0 tau, 1 alpha, 2 beta), the challenge and
/// the proof's G1 points.
pub fn challenge_point(
    personalization: u8,
    challenge: &[u8],
    s: &G1Affine,
    sx: &G1Affine,
) -> G2Affine {
    let hash = Blake2b512::new()
        .chain_update([personalization])
        .chain_update(challenge)
        .chain_update(uncompressed_g1(s))
        .chain_update(uncompressed_g1(sx))
        .finalize();
    hash_to_g2(&hash)
}

/// A random G1 point other than zero.
pub fn random_g1<R: RngCore>(rng: &mut R) -> G1Affine {
    loop {
        let s = G1Projective::rand(rng).into_affine();
        if !s.is_zero() {
            break s;
        }
    }
}

impl Knowledge {
    /// Proves knowledge of `x` against a [`challenge_point`]; returns the proof and its point.
    pub fn prove<R: rand::RngCore + rand::CryptoRng>(
        x: &Fr,
        personalization: u8,
        challenge: &[u8],
        rng: &mut R,
    ) -> (Knowledge, G2Affine) {
        let s = random_g1(rng);
        let sx = (s * x).into_affine();
        let r = challenge_point(personalization, challenge, &s, &sx);
        let rx = (r * x).into_affine();
        (Knowledge { s, sx, rx }, r)
    }

    /// Checks the proof against its challenge; returns the challenge point when it holds. A
    /// proof for the secret one (nothing contributed) is refused.
    pub fn verify(&self, personalization: u8, challenge: &[u8]) -> Option<G2Affine> {
        if self.s.is_zero() || self.sx.is_zero() || self.s == self.sx {
            return None;
        }
        let r = challenge_point(personalization, challenge, &self.s, &self.sx);
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
        let (k, r) = Knowledge::prove(&x, 0, &[1; 32], &mut rng);
        assert_eq!(k.verify(0, &[1; 32]), Some(r));
        assert_eq!(k.verify(0, &[2; 32]), None, "another transcript");
        assert_eq!(
            k.verify(1, &[1; 32]),
            None,
            "another secret's personalisation"
        );
        let mut forged = k.clone();
        forged.rx = (r * (x + Fr::from(1u64))).into_affine();
        assert_eq!(forged.verify(0, &[1; 32]), None, "r·x for another x");
        let (one, _) = Knowledge::prove(&Fr::from(1u64), 0, &[1; 32], &mut rng);
        assert_eq!(
            one.verify(0, &[1; 32]),
            None,
            "the secret one contributes nothing"
        );
    }
}
