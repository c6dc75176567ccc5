//! A phase 1 contribution as snarkjs records it (section 7 of a `.ptau`), and the hash chain
//! that links the records, so `snarkjs powersoftau verify` checks our contributions and we check
//! snarkjs's.
//!
//! ```text
//! section 7 = count:u32 | count * record
//! record    = tauG1 tauG2 alphaG1 betaG1 betaG2        the first points after it
//!           | tau.s tau.sx alpha.s alpha.sx beta.s beta.sx tau.rx alpha.rx beta.rx   its key
//!           | partialHash:[216] | nextChallenge:[64] | type:u32 (0 random, 1 beacon)
//!           | paramsLength:u32 | params: 1 name (len:u8, utf8), 2 beacon iterations log (u8),
//!             3 beacon value (len:u8, bytes), in that order, each at most once
//! ```
//! Points are in the container's encoding ([`crate::ptau`]). A contribution's **challenge** is
//! the previous record's `nextChallenge` (the first one hashes an empty BLAKE2b-512 digest and
//! the generators at every power of the ceremony's size); its proofs of knowledge are hashed to
//! G2 from it (snarkjs's `getG2sp`). Its **response hash** is BLAKE2b-512 of the challenge, the
//! new powers compressed and its key uncompressed (`partialHash` is that hasher's state before
//! the key, [`crate::blake2b`]); `nextChallenge` is BLAKE2b-512 of the response hash and the new
//! powers uncompressed. The response hash is what a contributor publishes.

use super::Powers;
use crate::blake2b::{Blake2b, PARTIAL_BYTES};
use crate::phase2::Beacon;
use crate::pok::{compressed_g1, compressed_g2, uncompressed_g1, uncompressed_g2, Knowledge};
use crate::{ptau, zkey, CeremonyError};
use ark_bn254::{G1Affine, G2Affine};
use rayon::prelude::*;

/// A 64-byte BLAKE2b digest.
pub type Hash = [u8; 64];

/// The first points of the powers after a contribution, as its record keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    /// `[tau]G1`.
    pub tau_g1: G1Affine,
    /// `[tau]G2`.
    pub tau_g2: G2Affine,
    /// `[alpha]G1`.
    pub alpha_g1: G1Affine,
    /// `[beta]G1`.
    pub beta_g1: G1Affine,
    /// `[beta]G2`.
    pub beta_g2: G2Affine,
}

/// One phase 1 contribution, snarkjs's record of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// Who contributed (as they named themselves; may be empty).
    pub name: String,
    /// Where it left the powers.
    pub after: Anchor,
    /// Knowledge of tau (`s`, `s·tau`, `r·tau` with `r` hashed from the challenge).
    pub tau: Knowledge,
    /// Of alpha.
    pub alpha: Knowledge,
    /// Of beta.
    pub beta: Knowledge,
    /// The response hasher's state before the key.
    pub(crate) response: Blake2b,
    /// The next contribution's challenge.
    pub next_challenge: Hash,
    /// Set when the secrets came from a public beacon.
    pub beacon: Option<Beacon>,
}

const RECORD_POINTS: usize = 3 * ptau::G1_BYTES + 2 * ptau::G2_BYTES;
const KEY_BYTES: usize = 6 * ptau::G1_BYTES + 3 * ptau::G2_BYTES;
/// The smallest record: points, key, hashes, type and an empty parameter list.
const MIN_RECORD: usize = RECORD_POINTS + KEY_BYTES + PARTIAL_BYTES + 64 + 4 + 4;

impl Contribution {
    /// Its key, uncompressed, as the response hash ends.
    fn key_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(KEY_BYTES);
        for k in [&self.tau, &self.alpha, &self.beta] {
            out.extend(uncompressed_g1(&k.s));
            out.extend(uncompressed_g1(&k.sx));
        }
        for k in [&self.tau, &self.alpha, &self.beta] {
            out.extend(uncompressed_g2(&k.rx));
        }
        out
    }

    /// The response hash: what its contributor publishes and snarkjs prints.
    pub fn hash(&self) -> Hash {
        let mut h = self.response.clone();
        h.update(&self.key_bytes());
        h.finalize()
    }
}

/// Hashes points with `encode`, in parallel chunks, in order.
fn hash_points<T: Sync, const N: usize>(h: &mut Blake2b, points: &[T], encode: fn(&T) -> [u8; N]) {
    for chunk in points.chunks(1 << 14) {
        let bytes: Vec<[u8; N]> = chunk.par_iter().map(encode).collect();
        h.update(bytes.as_flattened());
    }
}

/// The five point sections in snarkjs's order, each with its own encoding.
fn hash_powers(h: &mut Blake2b, p: &Powers, compressed: bool) {
    if compressed {
        hash_points(h, &p.tau_g1, compressed_g1);
        hash_points(h, &p.tau_g2, compressed_g2);
        hash_points(h, &p.alpha_tau_g1, compressed_g1);
        hash_points(h, &p.beta_tau_g1, compressed_g1);
        h.update(&compressed_g2(&p.beta_g2));
    } else {
        hash_points(h, &p.tau_g1, uncompressed_g1);
        hash_points(h, &p.tau_g2, uncompressed_g2);
        hash_points(h, &p.alpha_tau_g1, uncompressed_g1);
        hash_points(h, &p.beta_tau_g1, uncompressed_g1);
        h.update(&uncompressed_g2(&p.beta_g2));
    }
}

/// The response hasher after `challenge` and the powers (compressed): a record's partial hash.
pub(crate) fn response_state(challenge: &Hash, p: &Powers) -> Blake2b {
    let mut h = Blake2b::new();
    h.update(challenge);
    hash_powers(&mut h, p, true);
    h
}

/// The challenge after a contribution with this response hash left these powers.
pub(crate) fn next_challenge(response: &Hash, p: &Powers) -> Hash {
    let mut h = Blake2b::new();
    h.update(response);
    hash_powers(&mut h, p, false);
    h.finalize()
}

/// The first contribution's challenge for a ceremony of `2^power` (snarkjs's
/// `calculateFirstChallengeHash`): the blank file's points are all generators.
pub(crate) fn first_challenge(power: u32) -> Hash {
    let (g1, g2) = crate::pok::generators();
    let (u1, u2) = (uncompressed_g1(&g1), uncompressed_g2(&g2));
    let mut h = Blake2b::new();
    h.update(&Blake2b::new().finalize());
    let block = |h: &mut Blake2b, unit: &[u8], n: usize| {
        let run = unit.repeat(4096);
        for start in (0..n).step_by(4096) {
            let count = (n - start).min(4096);
            h.update(&run[..count * unit.len()]);
        }
    };
    let n = 1usize << power;
    block(&mut h, &u1, 2 * n - 1);
    block(&mut h, &u2, n);
    block(&mut h, &u1, n);
    block(&mut h, &u1, n);
    h.update(&u2);
    h.finalize()
}

fn format(reason: &'static str) -> CeremonyError {
    CeremonyError::Format {
        field: "contributions",
        reason,
    }
}

/// Encodes section 7.
pub(crate) fn encode(records: &[Contribution]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + records.len() * (MIN_RECORD + 80));
    out.extend((records.len() as u32).to_le_bytes());
    for c in records {
        let a = &c.after;
        ptau::put_g1(&a.tau_g1, &mut out);
        ptau::put_g2(&a.tau_g2, &mut out);
        ptau::put_g1(&a.alpha_g1, &mut out);
        ptau::put_g1(&a.beta_g1, &mut out);
        ptau::put_g2(&a.beta_g2, &mut out);
        for k in [&c.tau, &c.alpha, &c.beta] {
            ptau::put_g1(&k.s, &mut out);
            ptau::put_g1(&k.sx, &mut out);
        }
        for k in [&c.tau, &c.alpha, &c.beta] {
            ptau::put_g2(&k.rx, &mut out);
        }
        out.extend(c.response.save());
        out.extend(c.next_challenge);
        zkey::put_params(&mut out, &c.name, c.beacon.as_ref());
    }
    out
}

/// Decodes section 7, every point checked, the count bounded by the bytes present.
pub(crate) fn decode(mut b: &[u8]) -> Result<Vec<Contribution>, CeremonyError> {
    let field = "contributions";
    let count = ptau::read_u32(&mut b, field)? as usize;
    if count > b.len() / MIN_RECORD {
        return Err(format("more records than the section holds"));
    }
    let mut records = Vec::with_capacity(count);
    for _ in 0..count {
        records.push(decode_one(&mut b)?);
    }
    if !b.is_empty() {
        return Err(format("trailing bytes"));
    }
    Ok(records)
}

fn decode_one(b: &mut &[u8]) -> Result<Contribution, CeremonyError> {
    let field = "contribution record";
    let g1 = |b: &mut &[u8]| ptau::g1(ptau::read_bytes(b, ptau::G1_BYTES, field)?, field);
    let g2 = |b: &mut &[u8]| ptau::g2(ptau::read_bytes(b, ptau::G2_BYTES, field)?, field);
    let after = Anchor {
        tau_g1: g1(b)?,
        tau_g2: g2(b)?,
        alpha_g1: g1(b)?,
        beta_g1: g1(b)?,
        beta_g2: g2(b)?,
    };
    let mut halves = Vec::with_capacity(3);
    for _ in 0..3 {
        halves.push((g1(b)?, g1(b)?));
    }
    let mut keys = Vec::with_capacity(3);
    for (s, sx) in halves {
        keys.push(Knowledge { s, sx, rx: g2(b)? });
    }
    let mut partial = [0u8; PARTIAL_BYTES];
    partial.copy_from_slice(ptau::read_bytes(b, PARTIAL_BYTES, field)?);
    let response =
        Blake2b::resume(&partial).ok_or(format("a partial hash is not a BLAKE2b state"))?;
    let mut next_challenge = [0u8; 64];
    next_challenge.copy_from_slice(ptau::read_bytes(b, 64, field)?);
    let (name, beacon) = zkey::read_params(b)?;
    let [tau, alpha, beta]: [Knowledge; 3] =
        keys.try_into().map_err(|_| format("a key is incomplete"))?;
    Ok(Contribution {
        name,
        after,
        tau,
        alpha,
        beta,
        response,
        next_challenge,
        beacon,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_challenge_hashes_the_blank_file() {
        // The blank file of 2^1: three G1 generators, two G2, two and two G1, one G2.
        let (g1, g2) = crate::pok::generators();
        let mut h = Blake2b::new();
        h.update(&Blake2b::new().finalize());
        for _ in 0..3 {
            h.update(&uncompressed_g1(&g1));
        }
        for _ in 0..2 {
            h.update(&uncompressed_g2(&g2));
        }
        for _ in 0..4 {
            h.update(&uncompressed_g1(&g1));
        }
        h.update(&uncompressed_g2(&g2));
        assert_eq!(first_challenge(1), h.finalize());
    }
}
