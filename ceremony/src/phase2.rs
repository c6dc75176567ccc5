//! Phase 2: one shape's Groth16 key, made by many contributors, checked by anyone — by
//! snarkjs's protocol and in its `.zkey` file, so a department may contribute with dossier or
//! with `snarkjs zkey contribute`, and `snarkjs zkey verify` re-checks our ceremonies.
//!
//! [`Transcript::init`] computes the key with `gamma = delta = 1` from the shape's matrices and
//! phase 1's Lagrange basis (the H query in snarkjs's basis, [`crate::qap`]), and the
//! *circuit hash* (BLAKE2b-512 over that initial key, as snarkjs computes it). Each
//! [`Transcript::contribute`] multiplies `delta` by a fresh secret `x` (and divides the `L` and
//! `H` queries by it) and appends a [`Contribution`]: the new `[delta]G1` and a proof of
//! knowledge of `x` whose challenge point is hashed from the circuit hash and every
//! contribution before. A [`Transcript::beacon`] is a contribution whose secret is drawn from
//! a public random value hashed `2^n` times, so nobody could have chosen it.
//! [`Transcript::verify`] recomputes the initial key from the circuit and verified phase 1 (the
//! coordinator who made it is not trusted), checks every contribution, and checks the final
//! `L` and `H` queries by random linear combination; it names the step and check that failed.

use crate::phase1::{Dealer, Lagrange, Powers, Verified};
use crate::pok::{
    generators, hash_to_g2, msm1, msm2, mul1, mul2, random_g1, same_ratio, uncompressed_g1,
    uncompressed_g2, weights, Knowledge, Words,
};
use crate::{qap, zkey, CeremonyError, Circuit};
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{Field, One, PrimeField, UniformRand, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;
use sha2::Sha256;
use std::fmt;

/// A BLAKE2b-512 hash, as snarkjs names circuits, contributions and transcripts.
pub type Hash = [u8; 64];
/// The most beacon hash iterations accepted, as a power of two: 2^24 SHA-256 rounds are a few
/// seconds, so a transcript from outside cannot make `verify` hash for an hour (snarkjs
/// allows up to 2^63).
pub const MAX_BEACON_LOG: u8 = 24;
/// The longest contributor name, in bytes (snarkjs keeps 64 characters).
pub const MAX_NAME: usize = 64;
/// snarkjs hashes the monomial H query in chunks of this many points (see
/// [`monomial_h_count`]).
const H_HASH_CHUNK: usize = 1 << 14;

/// Where in a transcript a check failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum At {
    /// The initial key (before any contribution).
    Initial,
    /// A contribution, 1-based.
    Contribution(usize),
    /// The final key.
    Final,
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Initial => f.write_str("the initial key"),
            At::Contribution(n) => write!(f, "contribution {n}"),
            At::Final => f.write_str("the final key"),
        }
    }
}

/// The check a transcript failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Check {
    /// The circuit hash is not the one the circuit and phase 1 give.
    #[error("the transcript is for another circuit (its circuit hash differs)")]
    Circuit,
    /// A query has the wrong number of points.
    #[error("a query has the wrong length")]
    Sizes,
    /// A point that phase 2 never changes differs from phase 1's (alpha, beta or gamma).
    #[error("{0} differs from phase 1")]
    Fixed(&'static str),
    /// A query is not the circuit's, evaluated at phase 1's tau.
    #[error("the {0} query is not the circuit's")]
    Query(&'static str),
    /// The contribution's challenge is not the hash of the transcript before it (a missing,
    /// reordered or copied contribution).
    #[error("the contribution is not bound to the transcript before it")]
    Chain,
    /// The proof of knowledge of the contribution's secret does not hold (or is for the
    /// secret one, which contributes nothing).
    #[error("the proof of knowledge does not hold")]
    Knowledge,
    /// The new delta is not the previous one times the proven secret.
    #[error("delta is not the previous delta times the proven secret")]
    Update,
    /// `[delta]G1` and `[delta]G2` disagree.
    #[error("delta in G1 and G2 disagree")]
    DeltaG2,
    /// The contribution brings back an earlier delta.
    #[error("the contribution reuses an earlier delta")]
    Reused,
    /// A beacon's secret is not the one its public value derives.
    #[error("the beacon's secret is not derived from its value")]
    Beacon,
    /// A beacon is followed by another contribution.
    #[error("a contribution follows the beacon")]
    AfterBeacon,
    /// The key's delta is not the last contribution's.
    #[error("the key's delta is not the last contribution's")]
    Delta,
    /// No contributor added a secret: the key is phase 1's alone.
    #[error("no contribution")]
    NoContribution,
}

/// A public random value that closes a ceremony: its SHA-256 iterated `2^iterations_log` times
/// seeds snarkjs's [`Words`], which draw the secret and then the proof's G1 point.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beacon {
    /// The value (for instance a future block hash, announced before the ceremony ends), 1 to
    /// 255 bytes.
    pub value: Vec<u8>,
    /// log2 of the number of SHA-256 iterations.
    pub iterations_log: u8,
}

impl Beacon {
    pub(crate) fn words(&self) -> Words {
        let mut h: [u8; 32] = Sha256::digest(&self.value).into();
        for _ in 1..(1u64 << self.iterations_log) {
            h = Sha256::digest(h).into();
        }
        Words::from_hash(&h)
    }

    /// The secret and the proof's G1 point the beacon derives.
    fn key(&self) -> (Fr, G1Affine) {
        let mut words = self.words();
        let x: Fr = words.field();
        (x, words.g1())
    }
}

/// One contribution, as section 10 of a `.zkey` holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    /// Who contributed (as they named themselves; may be empty).
    pub name: String,
    /// Set when the secret came from a public beacon.
    pub beacon: Option<Beacon>,
    /// `[delta]G1` after it.
    pub delta_after: G1Affine,
    /// Knowledge of the secret that multiplied delta: `s`, `s·x` and `r·x` with `r` hashed to
    /// G2 from [`Contribution::transcript`].
    pub knowledge: Knowledge,
    /// BLAKE2b-512 of the transcript before it and its `s, s·x`: what `r` is hashed from.
    pub transcript: Hash,
}

impl Contribution {
    /// The bytes a contribution adds to the running transcript (snarkjs's `hashPubKey`).
    fn public(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(3 * 64 + 128 + 64);
        out.extend(uncompressed_g1(&self.delta_after));
        out.extend(uncompressed_g1(&self.knowledge.s));
        out.extend(uncompressed_g1(&self.knowledge.sx));
        out.extend(uncompressed_g2(&self.knowledge.rx));
        out.extend(self.transcript);
        out
    }

    /// The contribution's hash, as snarkjs prints it for the contributor to publish.
    pub fn hash(&self) -> Hash {
        Blake2b512::digest(self.public()).into()
    }
}

/// A phase 2 transcript: the circuit hash it starts from, the prover's coefficients, the key
/// as it stands and the contributions that made it.
#[derive(Clone, Debug, PartialEq)]
pub struct Transcript {
    /// The circuit hash (snarkjs's `csHash`): BLAKE2b-512 of the initial key.
    pub cs_hash: Hash,
    /// Section 4: the A and B coefficients (checked against the circuit by `verify`).
    pub coefficients: Vec<u8>,
    /// The key as it stands (its H query in snarkjs's basis, [`crate::qap`]).
    pub key: ProvingKey<Bn254>,
    /// The contributions, in order.
    pub contributions: Vec<Contribution>,
}

/// What a verification found: the circuit hash, who contributed, and the hashes to publish
/// and pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The circuit hash.
    pub circuit: Hash,
    /// Each contribution's name, hash and whether it was a beacon.
    pub contributions: Vec<(String, Hash, bool)>,
    /// The whole transcript's hash (what a next contribution would be bound to).
    pub transcript: Hash,
}

impl Report {
    /// Refuses a transcript no contributor added a secret to (a beacon alone does not count):
    /// its key would be phase 1's alone.
    pub fn contributed(&self) -> Result<(), CeremonyError> {
        if self.contributions.iter().any(|(_, _, beacon)| !beacon) {
            Ok(())
        } else {
            Err(refused(At::Final, Check::NoContribution))
        }
    }
}

fn refused(at: At, check: Check) -> CeremonyError {
    CeremonyError::PhaseTwo { at, check }
}

/// The circuit's matrices by variable: for A (with one extra row per instance variable, as
/// the QAP reduction adds), B and C, each variable's `(row, coefficient)` entries.
struct Columns {
    a: Vec<Vec<(usize, Fr)>>,
    b: Vec<Vec<(usize, Fr)>>,
    c: Vec<Vec<(usize, Fr)>>,
}

impl Columns {
    fn of(circuit: &Circuit<'_>) -> Columns {
        let transpose = |m: &ark_relations::gr1cs::Matrix<Fr>| {
            let mut cols = vec![Vec::new(); circuit.num_variables];
            for (row, entries) in m.iter().enumerate() {
                for (coeff, var) in entries {
                    cols[*var].push((row, *coeff));
                }
            }
            cols
        };
        let mut a = transpose(&circuit.matrices[0]);
        for (i, col) in a.iter_mut().enumerate().take(circuit.num_instance) {
            col.push((circuit.num_constraints() + i, Fr::one()));
        }
        Columns {
            a,
            b: transpose(&circuit.matrices[1]),
            c: transpose(&circuit.matrices[2]),
        }
    }
}

/// How a column's coefficient multiplies: most are one or small (the constraint system's
/// constants, bit weights below 2^64), the rest full-size.
enum Coefficient {
    One(bool),
    Small(bool, u64),
    Large(Fr),
}

impl Coefficient {
    fn of(c: &Fr) -> Coefficient {
        let small = |x: Fr| {
            let b = x.into_bigint();
            (b.0[1] == 0 && b.0[2] == 0 && b.0[3] == 0).then_some(b.0[0])
        };
        match (small(*c), small(-*c)) {
            (Some(1), _) => Coefficient::One(false),
            (_, Some(1)) => Coefficient::One(true),
            (Some(k), _) => Coefficient::Small(false, k),
            (_, Some(k)) => Coefficient::Small(true, k),
            _ => Coefficient::Large(*c),
        }
    }
}

/// `sum c [bases[row]]` over a column's entries. Columns are short and this runs inside a
/// parallel loop over variables (where arkworks' general MSM would build a thread pool per
/// call): additions for the ones, arkworks' serial small-scalar MSM for the small ones, and
/// `mul` (GLV) for the rest.
fn column_sum<P, M>(
    bases: &[ark_ec::short_weierstrass::Affine<P>],
    col: &[(usize, Fr)],
    mul: M,
) -> ark_ec::short_weierstrass::Projective<P>
where
    P: ark_ec::short_weierstrass::SWCurveConfig<ScalarField = Fr>,
    M: Fn(&ark_ec::short_weierstrass::Affine<P>, Fr) -> ark_ec::short_weierstrass::Projective<P>,
{
    use ark_ec::VariableBaseMSM;
    let mut sum = ark_ec::short_weierstrass::Projective::<P>::zero();
    for (row, c) in col {
        let p = bases[*row];
        let term = match Coefficient::of(c) {
            Coefficient::One(negative) => (p.into_group(), negative),
            Coefficient::Small(negative, k) => (
                <ark_ec::short_weierstrass::Projective<P>>::msm_u64(&[p], &[k]),
                negative,
            ),
            Coefficient::Large(c) => (mul(&p, c), false),
        };
        match term {
            (t, false) => sum += t,
            (t, true) => sum -= t,
        }
    }
    sum
}

fn column_msm1(bases: &[G1Affine], col: &[(usize, Fr)]) -> G1Projective {
    column_sum(bases, col, mul1)
}

fn column_msm2(bases: &[G2Affine], col: &[(usize, Fr)]) -> G2Projective {
    column_sum(bases, col, mul2)
}

/// The domain size for a circuit, refusing a phase 1 too small. The H query lives on the
/// domain twice the circuit's, whose basis phase 1 only holds below its own top power (and
/// snarkjs hashes one power past the circuit's domain for domains above 2^14): the powers
/// must exceed the circuit's domain.
fn domain_size(circuit: &Circuit<'_>, powers_log: u32) -> Result<usize, CeremonyError> {
    circuit.check()?;
    let log = circuit.domain_log();
    if log + 1 > powers_log {
        return Err(CeremonyError::PhaseOneTooSmall {
            needed: log + 1,
            have: powers_log,
        });
    }
    Ok(1usize << log)
}

/// How many monomial H points snarkjs's circuit hash covers for a domain of `n`: it hashes
/// chunks of `min(n - 1, 2^14)` points while fewer than `n - 1` are done, so `n - 1` up to
/// 2^14 and `n` above.
fn monomial_h_count(n: usize) -> usize {
    let chunk = (n - 1).min(H_HASH_CHUNK);
    (n - 1).div_ceil(chunk) * chunk
}

/// The queries phase 2 never changes, and `L` before any delta, from the Lagrange basis.
struct Initial {
    a: Vec<G1Affine>,
    b1: Vec<G1Affine>,
    b2: Vec<G2Affine>,
    /// `beta A_i + alpha B_i + C_i` for every variable: IC for the instance, L for the rest.
    abc: Vec<G1Affine>,
}

impl Initial {
    /// One small multi-scalar multiplication per variable and matrix.
    fn of(circuit: &Circuit<'_>, lagrange: &Lagrange, progress: &(dyn Fn(f64) + Sync)) -> Initial {
        let cols = Columns::of(circuit);
        let n = circuit.num_variables;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let tick = || {
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k.is_multiple_of(256) {
                progress(k as f64 / n as f64);
            }
        };
        type PerVariable = (G1Projective, G1Projective, G2Projective, G1Projective);
        let per_variable: Vec<PerVariable> = (0..n)
            .into_par_iter()
            .map(|i| {
                tick();
                let a = column_msm1(&lagrange.tau_g1, &cols.a[i]);
                let b1 = column_msm1(&lagrange.tau_g1, &cols.b[i]);
                let b2 = column_msm2(&lagrange.tau_g2, &cols.b[i]);
                let abc = column_msm1(&lagrange.beta_tau_g1, &cols.a[i])
                    + column_msm1(&lagrange.alpha_tau_g1, &cols.b[i])
                    + column_msm1(&lagrange.tau_g1, &cols.c[i]);
                (a, b1, b2, abc)
            })
            .collect();
        progress(1.0);
        let g1 = |f: fn(&PerVariable) -> G1Projective| {
            G1Projective::normalize_batch(&per_variable.iter().map(f).collect::<Vec<_>>())
        };
        Initial {
            a: g1(|v| v.0),
            b1: g1(|v| v.1),
            b2: G2Projective::normalize_batch(
                &per_variable.iter().map(|v| v.2).collect::<Vec<_>>(),
            ),
            abc: g1(|v| v.3),
        }
    }

    /// snarkjs's circuit hash: BLAKE2b-512 over the initial key's fixed points, then each
    /// query (a big-endian `u32` count, then its points): IC, the monomial H query
    /// `[tau^(n+i) - tau^i]`, C (L before delta), A, B1, B2 — all "uncompressed".
    fn circuit_hash(&self, circuit: &Circuit<'_>, powers: &Powers, n: usize) -> Hash {
        let (g1, g2) = generators();
        let mut h = Blake2b512::new();
        h.update(uncompressed_g1(&powers.alpha_tau_g1[0]));
        h.update(uncompressed_g1(&powers.beta_tau_g1[0]));
        h.update(uncompressed_g2(&powers.beta_g2));
        h.update(uncompressed_g2(&g2));
        h.update(uncompressed_g1(&g1));
        h.update(uncompressed_g2(&g2));
        let g1s = |h: &mut Blake2b512, declared: usize, points: &[G1Affine]| {
            h.update((declared as u32).to_be_bytes());
            let bytes: Vec<u8> = points.par_iter().flat_map_iter(uncompressed_g1).collect();
            h.update(bytes);
        };
        let ni = circuit.num_instance;
        g1s(&mut h, ni, &self.abc[..ni]);
        let mono: Vec<G1Projective> = (0..monomial_h_count(n))
            .into_par_iter()
            .map(|i| powers.tau_g1[n + i].into_group() - powers.tau_g1[i])
            .collect();
        g1s(&mut h, n - 1, &G1Projective::normalize_batch(&mono));
        g1s(&mut h, self.abc.len() - ni, &self.abc[ni..]);
        g1s(&mut h, self.a.len(), &self.a);
        g1s(&mut h, self.b1.len(), &self.b1);
        h.update((self.b2.len() as u32).to_be_bytes());
        let bytes: Vec<u8> = self.b2.par_iter().flat_map_iter(uncompressed_g2).collect();
        h.update(bytes);
        h.finalize().into()
    }
}

fn nontrivial<R: rand::RngCore>(rng: &mut R) -> Fr {
    loop {
        let x = Fr::rand(rng);
        if !x.is_zero() && !x.is_one() {
            break x;
        }
    }
}

fn scale_in_place(points: &mut [G1Affine], by: Fr, progress: &(dyn Fn(f64) + Sync), done: f64) {
    const CHUNK: usize = 4096;
    let total = points.len().max(1) as f64;
    let finished = std::sync::atomic::AtomicUsize::new(0);
    points.par_chunks_mut(CHUNK).for_each(|chunk| {
        let scaled: Vec<G1Projective> = chunk.iter().map(|p| mul1(p, by)).collect();
        chunk.copy_from_slice(&G1Projective::normalize_batch(&scaled));
        let n = finished.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
        progress(done + 0.5 * (n + chunk.len()) as f64 / total);
    });
}

impl Transcript {
    /// The initial key for a circuit, from verified powers, their Lagrange basis for the
    /// circuit's domain and the H basis ([`crate::phase1::Prepared::h_basis`]).
    pub fn init(
        circuit: &Circuit<'_>,
        powers: Verified<'_>,
        lagrange: &Lagrange,
        h_basis: Vec<G1Affine>,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Transcript, CeremonyError> {
        let n = domain_size(circuit, powers.power)?;
        if lagrange.log != circuit.domain_log() || h_basis.len() != n {
            return Err(CeremonyError::Format {
                field: "lagrange",
                reason: "the Lagrange basis is for another domain",
            });
        }
        powers.check_lagrange(lagrange)?;
        let initial = Initial::of(circuit, lagrange, progress);
        Ok(initial.transcript(circuit, &powers, h_basis, n))
    }

    /// The same initial key, computed by a phase 1 dealer from the secrets it still holds:
    /// field arithmetic and fixed-base multiplications, seconds for the largest shape where
    /// [`Transcript::init`]'s group sums take minutes. Tested equal to it.
    pub fn init_dealt(circuit: &Circuit<'_>, dealer: &Dealer) -> Result<Transcript, CeremonyError> {
        let powers = dealer.powers();
        let n = domain_size(circuit, powers.power)?;
        let s = &dealer.secrets;
        let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("power of two within 2-adicity");
        let u = domain.evaluate_all_lagrange_coefficients(s.tau);
        let cols = Columns::of(circuit);
        let eval = |col: &[(usize, Fr)]| col.iter().map(|(row, c)| u[*row] * c).sum::<Fr>();
        let nv = circuit.num_variables;
        let (a, (b, c)): (Vec<Fr>, (Vec<Fr>, Vec<Fr>)) = (0..nv)
            .into_par_iter()
            .map(|i| (eval(&cols.a[i]), (eval(&cols.b[i]), eval(&cols.c[i]))))
            .unzip();
        let abc: Vec<Fr> = (0..nv)
            .map(|i| s.beta * a[i] + s.alpha * b[i] + c[i])
            .collect();
        let h = qap::h_basis::<Fr, Radix2EvaluationDomain<Fr>>(n, s.tau)
            .expect("a power-of-two domain within 2-adicity");
        let g1 = BatchMulPreprocessing::new(G1Projective::generator(), 3 * nv + n);
        let g2 = BatchMulPreprocessing::new(G2Projective::generator(), nv);
        let initial = Initial {
            a: g1.batch_mul(&a),
            b1: g1.batch_mul(&b),
            b2: g2.batch_mul(&b),
            abc: g1.batch_mul(&abc),
        };
        Ok(initial.transcript(circuit, &powers, g1.batch_mul(&h), n))
    }
}

impl Initial {
    /// The transcript that starts from this initial key.
    fn transcript(
        self,
        circuit: &Circuit<'_>,
        powers: &Powers,
        h_basis: Vec<G1Affine>,
        n: usize,
    ) -> Transcript {
        let cs_hash = self.circuit_hash(circuit, powers, n);
        let (g1, g2) = generators();
        let Initial { a, b1, b2, mut abc } = self;
        let l_query = abc.split_off(circuit.num_instance);
        let key = ProvingKey {
            vk: VerifyingKey {
                alpha_g1: powers.alpha_tau_g1[0],
                beta_g2: powers.beta_g2,
                gamma_g2: g2,
                delta_g2: g2,
                gamma_abc_g1: abc,
            },
            beta_g1: powers.beta_tau_g1[0],
            delta_g1: g1,
            a_query: a,
            b_g1_query: b1,
            b_g2_query: b2,
            h_query: h_basis,
            l_query,
        };
        Transcript {
            cs_hash,
            coefficients: zkey::coefficients(circuit),
            key,
            contributions: Vec::new(),
        }
    }
}

impl Transcript {
    /// The running transcript hasher: the circuit hash, then each contribution's public part.
    fn running(&self) -> Blake2b512 {
        let mut h = Blake2b512::new();
        h.update(self.cs_hash);
        for c in &self.contributions {
            h.update(c.public());
        }
        h
    }

    /// The hash of the transcript so far (what the next contribution is bound to).
    pub fn hash(&self) -> Hash {
        self.running().finalize().into()
    }

    /// Adds a contribution from fresh randomness; returns its hash for the contributor to
    /// publish. `progress` is told the fraction done. Refused once the beacon has closed the
    /// transcript.
    pub fn contribute<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        rng: &mut R,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Hash, CeremonyError> {
        zkey::check_name(name)?;
        self.open_for_more()?;
        let mut x = nontrivial(rng);
        let s = random_g1(rng);
        let hash = self.apply(name, None, &x, s, progress);
        zeroize::Zeroize::zeroize(&mut x);
        Ok(hash)
    }

    fn open_for_more(&self) -> Result<(), CeremonyError> {
        match self.contributions.last() {
            Some(c) if c.beacon.is_some() => Err(refused(
                At::Contribution(self.contributions.len() + 1),
                Check::AfterBeacon,
            )),
            _ => Ok(()),
        }
    }

    /// Closes the ceremony with a public random beacon: the secret is drawn from `value`
    /// hashed `2^iterations_log` times, so anyone can recompute it and nobody could choose it.
    pub fn beacon(
        &mut self,
        name: &str,
        value: &[u8],
        iterations_log: u8,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Hash, CeremonyError> {
        zkey::check_name(name)?;
        if iterations_log > MAX_BEACON_LOG {
            return Err(CeremonyError::TooLarge {
                field: "beacon iterations (log2)",
                found: iterations_log.into(),
                max: MAX_BEACON_LOG.into(),
            });
        }
        if value.is_empty() || value.len() > 255 {
            return Err(CeremonyError::Format {
                field: "beacon",
                reason: "the value must be 1 to 255 bytes",
            });
        }
        self.open_for_more()?;
        let beacon = Beacon {
            value: value.to_vec(),
            iterations_log,
        };
        let (x, s) = beacon.key();
        Ok(self.apply(name, Some(beacon), &x, s, progress))
    }

    fn apply(
        &mut self,
        name: &str,
        beacon: Option<Beacon>,
        x: &Fr,
        s: G1Affine,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Hash {
        let sx = (s * x).into_affine();
        let transcript: Hash = self
            .running()
            .chain_update(uncompressed_g1(&s))
            .chain_update(uncompressed_g1(&sx))
            .finalize()
            .into();
        let rx = (hash_to_g2(&transcript) * x).into_affine();
        let inverse = x.inverse().expect("a nontrivial secret is not zero");
        scale_in_place(&mut self.key.l_query, inverse, progress, 0.0);
        scale_in_place(&mut self.key.h_query, inverse, progress, 0.5);
        self.key.delta_g1 = (self.key.delta_g1 * x).into_affine();
        self.key.vk.delta_g2 = (self.key.vk.delta_g2 * x).into_affine();
        let c = Contribution {
            name: name.to_owned(),
            beacon,
            delta_after: self.key.delta_g1,
            knowledge: Knowledge { s, sx, rx },
            transcript,
        };
        let hash = c.hash();
        self.contributions.push(c);
        progress(1.0);
        hash
    }

    /// Re-checks the whole transcript against the circuit and verified phase 1 powers: the
    /// coefficients exactly, every query against phase 1's *monomial* powers by random linear
    /// combination (so the coordinator who computed the initial key is not trusted, and no
    /// Lagrange basis is needed), and every contribution's proof of knowledge and delta update.
    ///
    /// The circuit hash is the transcript's label: contributions are bound to it, but it is not
    /// recomputed here, because the key it would vouch for is itself checked against the
    /// circuit (a wrong label cannot hide a wrong key). snarkjs's `zkey verify` recomputes it
    /// from the same files; CI checks the two agree.
    pub fn verify(
        &self,
        circuit: &Circuit<'_>,
        powers: Verified<'_>,
    ) -> Result<Report, CeremonyError> {
        let n = domain_size(circuit, powers.power)?;
        let powers: &Powers = &powers;
        self.check_sizes(circuit, n)?;
        self.check_fixed(powers)?;
        if self.coefficients != zkey::coefficients(circuit) {
            return Err(refused(At::Final, Check::Query("coefficients")));
        }
        let report = self.check_contributions()?;
        let q = Queries::new(&self.key, circuit, n, powers);
        if !q.all_at_once() {
            return Err(refused(At::Final, Check::Query(q.first_failing())));
        }
        Ok(report)
    }

    fn check_sizes(&self, circuit: &Circuit<'_>, n: usize) -> Result<(), CeremonyError> {
        let k = &self.key;
        let (nv, ni) = (circuit.num_variables, circuit.num_instance);
        let sized = k.a_query.len() == nv
            && k.b_g1_query.len() == nv
            && k.b_g2_query.len() == nv
            && k.vk.gamma_abc_g1.len() == ni
            && k.l_query.len() == nv - ni
            && k.h_query.len() == n;
        if sized {
            Ok(())
        } else {
            Err(refused(At::Final, Check::Sizes))
        }
    }

    fn check_fixed(&self, powers: &Powers) -> Result<(), CeremonyError> {
        let k = &self.key;
        let (_, g2) = generators();
        for (ok, what) in [
            (k.vk.alpha_g1 == powers.alpha_tau_g1[0], "alpha"),
            (k.beta_g1 == powers.beta_tau_g1[0], "beta in G1"),
            (k.vk.beta_g2 == powers.beta_g2, "beta in G2"),
            (k.vk.gamma_g2 == g2, "gamma"),
        ] {
            if !ok {
                return Err(refused(At::Final, Check::Fixed(what)));
            }
        }
        Ok(())
    }

    fn check_contributions(&self) -> Result<Report, CeremonyError> {
        let (g1, g2) = generators();
        let mut delta = g1;
        let mut seen = vec![g1];
        let mut running = Blake2b512::new().chain_update(self.cs_hash);
        let mut report = Vec::new();
        for (i, c) in self.contributions.iter().enumerate() {
            let at = At::Contribution(i + 1);
            if i > 0 && self.contributions[i - 1].beacon.is_some() {
                return Err(refused(at, Check::AfterBeacon));
            }
            let k = &c.knowledge;
            let expected: Hash = running
                .clone()
                .chain_update(uncompressed_g1(&k.s))
                .chain_update(uncompressed_g1(&k.sx))
                .finalize()
                .into();
            if expected != c.transcript {
                return Err(refused(at, Check::Chain));
            }
            let r = hash_to_g2(&c.transcript);
            if k.s == k.sx || !same_ratio((k.s, k.sx), (r, k.rx)) {
                return Err(refused(at, Check::Knowledge));
            }
            if !same_ratio((delta, c.delta_after), (r, k.rx)) {
                return Err(refused(at, Check::Update));
            }
            if seen.contains(&c.delta_after) {
                return Err(refused(at, Check::Reused));
            }
            if let Some(b) = &c.beacon {
                if b.iterations_log > MAX_BEACON_LOG {
                    return Err(CeremonyError::TooLarge {
                        field: "beacon iterations (log2)",
                        found: b.iterations_log.into(),
                        max: MAX_BEACON_LOG.into(),
                    });
                }
                let (x, s) = b.key();
                if s != k.s || (s * x).into_affine() != k.sx {
                    return Err(refused(at, Check::Beacon));
                }
            }
            seen.push(c.delta_after);
            delta = c.delta_after;
            running.update(c.public());
            report.push((c.name.clone(), c.hash(), c.beacon.is_some()));
        }
        if self.key.delta_g1 != delta {
            return Err(refused(At::Final, Check::Delta));
        }
        if !same_ratio((g1, delta), (g2, self.key.vk.delta_g2)) {
            return Err(refused(At::Final, Check::DeltaG2));
        }
        Ok(Report {
            circuit: self.cs_hash,
            contributions: report,
            transcript: running.finalize().into(),
        })
    }

    /// The key of a verified transcript with at least one contribution ([`Report::contributed`]).
    pub fn finalize(
        self,
        circuit: &Circuit<'_>,
        powers: Verified<'_>,
    ) -> Result<(ProvingKey<Bn254>, Report), CeremonyError> {
        let report = self.verify(circuit, powers)?;
        report.contributed()?;
        Ok((self.key, report))
    }

    /// The file form: snarkjs's `.zkey`.
    pub fn to_bytes(&self) -> Vec<u8> {
        zkey::encode(self)
    }

    /// Reads a `.zkey` (ours or snarkjs's), checking every point (curve and subgroup).
    pub fn from_bytes(bytes: &[u8]) -> Result<Transcript, CeremonyError> {
        zkey::decode(bytes)
    }
}

/// The random linear combinations [`Transcript::verify`] checks the key's queries with: for
/// random weights `w` over the variables, `sum_i w_i [M_i(tau)] = sum_k c_k [tau^k]` where `c`
/// is the inverse FFT of the rows' weighted sums `s_j = sum_i w_i M[j][i]` (field work plus
/// MSMs); for H, `sum_j hc_j H_j = sum_i hw_i [tau^(m+i) - tau^i]` (both over delta).
struct Queries<'a> {
    key: &'a ProvingKey<Bn254>,
    powers: &'a Powers,
    m: usize,
    ni: usize,
    /// Weights over the variables; over the monomial H query (`hw`), and the same moved onto
    /// the key's H basis (`hc`, [`qap::h_weights`]).
    w: Vec<Fr>,
    hw: Vec<Fr>,
    hc: Vec<Fr>,
    /// Monomial coefficients of the weighted A, B, C columns, instance and witness parts.
    a: (Vec<Fr>, Vec<Fr>),
    b: (Vec<Fr>, Vec<Fr>),
    c: (Vec<Fr>, Vec<Fr>),
}

fn lin(terms: &[(&[Fr], Fr)], len: usize) -> Vec<Fr> {
    (0..len)
        .map(|k| {
            terms
                .iter()
                .map(|(v, g)| v.get(k).map_or(Fr::zero(), |x| *x * g))
                .sum()
        })
        .collect()
}

impl<'a> Queries<'a> {
    fn new(
        key: &'a ProvingKey<Bn254>,
        circuit: &Circuit<'_>,
        m: usize,
        powers: &'a Powers,
    ) -> Queries<'a> {
        let (nv, ni) = (circuit.num_variables, circuit.num_instance);
        let w = weights(nv);
        let domain = Radix2EvaluationDomain::<Fr>::new(m).expect("power of two within 2-adicity");
        let sums = |mat: usize, instance_rows: bool| -> (Vec<Fr>, Vec<Fr>) {
            let (mut inst, mut wit) = (vec![Fr::zero(); m], vec![Fr::zero(); m]);
            for (row, entries) in circuit.matrices[mat].iter().enumerate() {
                for (coeff, var) in entries {
                    let target = if *var < ni { &mut inst } else { &mut wit };
                    target[row] += w[*var] * coeff;
                }
            }
            if instance_rows {
                for (i, wi) in w.iter().enumerate().take(ni) {
                    inst[circuit.num_constraints() + i] += wi;
                }
            }
            domain.ifft_in_place(&mut inst);
            domain.ifft_in_place(&mut wit);
            (inst, wit)
        };
        let (a, (b, c)) = rayon::join(
            || sums(0, true),
            || rayon::join(|| sums(1, false), || sums(2, false)),
        );
        let hw = weights(m - 1);
        Queries {
            key,
            powers,
            m,
            ni,
            w,
            hc: qap::h_weights::<Fr, Radix2EvaluationDomain<Fr>>(&hw)
                .expect("a power-of-two domain within 2-adicity"),
            hw,
            a,
            b,
            c,
        }
    }

    /// The H query's right-hand side as coefficients over `[tau^k]`, `k < 2m - 1`:
    /// `sum_i hw_i (tau^(m+i) - tau^i)`.
    fn h_coefficients(&self) -> Vec<Fr> {
        let m = self.m;
        let mut v = vec![Fr::zero(); 2 * m - 1];
        for (i, x) in self.hw.iter().enumerate() {
            v[i] -= x;
            v[m + i] += x;
        }
        v
    }

    /// Every equation at once. G1 equalities `lhs_k = rhs_k` and the delta-paired ones
    /// `e(L, delta) = e(R_L, g2)`, `e(H, delta) = e(R_H, g2)` combine under random multipliers
    /// `g` into `e(L + g_h H, delta) = e(R_L + g_h R_H - sum g_k (lhs_k - rhs_k), g2)`; each
    /// base then appears in one MSM. The G2 query is checked on its own.
    fn all_at_once(&self) -> bool {
        let (k, m, ni) = (self.key, self.m, self.ni);
        let g = weights(4);
        let (ga, gb, gabc, gh) = (g[0], g[1], g[2], g[3]);
        let p = self.powers;
        let w_inst = &self.w[..ni];
        let w_wit = &self.w[ni..];
        // Left sides, each scaled by its multiplier.
        let scaled = |v: &[Fr], by: Fr| v.iter().map(|x| *x * by).collect::<Vec<_>>();
        let lhs_g1 = msm1(&k.a_query, &scaled(&self.w, ga))
            + msm1(&k.b_g1_query, &scaled(&self.w, gb))
            + msm1(&k.vk.gamma_abc_g1, &scaled(w_inst, gabc));
        let delta_side = msm1(&k.l_query, w_wit) + msm1(&k.h_query, &scaled(&self.hc, gh));
        // Right sides over phase 1's bases.
        let h = self.h_coefficients();
        let tau = lin(
            &[
                (&self.a.0, ga),
                (&self.a.1, ga),
                (&self.b.0, gb),
                (&self.b.1, gb),
                (&self.c.0, gabc),
                (&self.c.1, Fr::one()),
                (&h, gh),
            ],
            2 * m - 1,
        );
        let beta = lin(&[(&self.a.0, gabc), (&self.a.1, Fr::one())], m);
        let alpha = lin(&[(&self.b.0, gabc), (&self.b.1, Fr::one())], m);
        let rhs = msm1(&p.tau_g1[..2 * m - 1], &tau)
            + msm1(&p.beta_tau_g1[..m], &beta)
            + msm1(&p.alpha_tau_g1[..m], &alpha);
        // rhs = sum g_k rhs_k + R_L + g_h R_H; so R_L + g_h R_H = rhs - sum g_k rhs_k, and the
        // G1 equalities hold when rhs - lhs_g1 = R_L + g_h R_H.
        let (_, g2) = generators();
        let b2 = add(&self.b.0, &self.b.1);
        pairs(
            delta_side.into_affine(),
            k.vk.delta_g2,
            (rhs - lhs_g1).into_affine(),
            g2,
        ) && msm2(&k.b_g2_query, &self.w) == msm2(&p.tau_g2[..m], &b2)
    }

    /// The first query whose own equation fails.
    fn first_failing(&self) -> &'static str {
        let (k, m, ni) = (self.key, self.m, self.ni);
        let p = self.powers;
        let (tau1, tau2) = (&p.tau_g1[..m], &p.tau_g2[..m]);
        let (alpha, beta) = (&p.alpha_tau_g1[..m], &p.beta_tau_g1[..m]);
        if msm1(&k.a_query, &self.w) != msm1(tau1, &add(&self.a.0, &self.a.1)) {
            return "A";
        }
        let b = add(&self.b.0, &self.b.1);
        if msm1(&k.b_g1_query, &self.w) != msm1(tau1, &b) {
            return "B in G1";
        }
        if msm2(&k.b_g2_query, &self.w) != msm2(tau2, &b) {
            return "B in G2";
        }
        let abc = |a: &[Fr], b: &[Fr], c: &[Fr]| msm1(beta, a) + msm1(alpha, b) + msm1(tau1, c);
        if msm1(&k.vk.gamma_abc_g1, &self.w[..ni]) != abc(&self.a.0, &self.b.0, &self.c.0) {
            return "public input (IC)";
        }
        let (_, g2) = generators();
        let l = msm1(&k.l_query, &self.w[ni..]).into_affine();
        let l_init = abc(&self.a.1, &self.b.1, &self.c.1).into_affine();
        if !pairs(l, k.vk.delta_g2, l_init, g2) {
            return "L";
        }
        "H"
    }
}

fn add(x: &[Fr], y: &[Fr]) -> Vec<Fr> {
    x.iter().zip(y).map(|(a, b)| *a + b).collect()
}

/// `e(a, b) == e(c, d)`.
fn pairs(a: G1Affine, b: G2Affine, c: G1Affine, d: G2Affine) -> bool {
    use ark_ec::pairing::Pairing;
    Bn254::multi_pairing([a.into_group(), -c.into_group()], [b, d]).is_zero()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phase1::Dealer;
    use crate::toy;
    use ark_groth16::Groth16;
    use ark_snark::SNARK;

    type Prover = Groth16<Bn254, qap::Reduction>;

    fn noop(_: f64) {}

    struct Setup {
        dealer: Dealer,
        prepared: crate::phase1::Prepared,
        toy: toy::Matrices,
    }

    impl Setup {
        fn lagrange(&self) -> &Lagrange {
            let log = self.toy.circuit().domain_log();
            self.prepared.domain(log).expect("domain")
        }

        fn init(&self) -> Transcript {
            let circuit = self.toy.circuit();
            let h = self
                .prepared
                .h_basis(circuit.domain_log())
                .expect("h basis");
            Transcript::init(&circuit, self.dealer.powers(), self.lagrange(), h, &noop)
                .expect("init")
        }

        fn verify(&self, t: &Transcript) -> Result<Report, CeremonyError> {
            t.verify(&self.toy.circuit(), self.dealer.powers())
        }
    }

    fn setup() -> Setup {
        let mut rng = rand::thread_rng();
        let dealer = Dealer::new(5, "dealer", &mut rng).expect("dealer");
        Setup {
            prepared: dealer.prepare(),
            dealer,
            toy: toy::matrices(6),
        }
    }

    fn ceremony(s: &Setup) -> Transcript {
        let mut rng = rand::thread_rng();
        let mut t = s.init();
        for name in ["tax bureau", "civil service commission", "audit office"] {
            t.contribute(name, &mut rng, &noop).expect("contribute");
        }
        t.beacon("beacon", b"block 21000000", 4, &noop)
            .expect("beacon");
        t
    }

    #[test]
    fn both_bases_give_one_initial_key_and_a_finished_ceremony_proves_and_verifies() {
        let s = setup();
        let circuit = s.toy.circuit();
        let powers = s.dealer.powers();
        let log = circuit.domain_log();
        // The group FFT of the powers and the dealer's field arithmetic agree.
        let slow = powers.prepare(&|_| {});
        assert_eq!(slow.domain(log), s.prepared.domain(log));
        assert_eq!(slow.h_basis(log), s.prepared.h_basis(log));
        assert_eq!(slow.h_basis(powers.power), s.prepared.h_basis(powers.power));
        let mut bent = s.lagrange().clone();
        bent.tau_g1.swap(0, 1);
        let h = s.prepared.h_basis(log).expect("h");
        assert!(Transcript::init(&circuit, powers, &bent, h, &noop).is_err());
        let fresh = s.init();
        assert_eq!(
            Transcript::init_dealt(&circuit, &s.dealer).expect("dealt"),
            fresh,
            "the dealer's field arithmetic gives the Lagrange path's key, point for point"
        );
        assert!(matches!(
            fresh.clone().finalize(&circuit, powers),
            Err(CeremonyError::PhaseTwo {
                check: Check::NoContribution,
                ..
            })
        ));
        let t = ceremony(&s);
        let report = s.verify(&t).expect("verify");
        assert_eq!(report.contributions.len(), 4);
        assert_eq!(report.transcript, t.hash());
        assert_eq!(report.circuit, fresh.cs_hash);
        assert!(report.contributions[3].2, "the last is the beacon");
        let (pk, _) = t.finalize(&circuit, powers).expect("finalize");
        let mut rng = rand::thread_rng();
        let statement = toy::Squares {
            x: Fr::from(3u64),
            k: Fr::from(11u64),
            rounds: 6,
        };
        let inputs = statement.outputs();
        let proof = Prover::prove(&pk, statement, &mut rng).expect("prove");
        let pvk = Prover::process_vk(&pk.vk).expect("pvk");
        assert!(Prover::verify_with_processed_vk(&pvk, &inputs, &proof).expect("v"));
        let wrong = [inputs[0] + Fr::one(), inputs[1]];
        assert!(!Prover::verify_with_processed_vk(&pvk, &wrong, &proof).expect("v"));
    }

    fn refusal(t: &Transcript, s: &Setup) -> (At, Check) {
        match s.verify(t) {
            Err(CeremonyError::PhaseTwo { at, check }) => (at, check),
            other => panic!("expected a phase 2 refusal, got {other:?}"),
        }
    }

    #[test]
    fn each_forgery_is_refused_with_the_step_that_failed() {
        let s = setup();
        let good = ceremony(&s);
        let (g1, g2) = generators();
        let mut rng = rand::thread_rng();

        // A contribution that skips the proof of knowledge (a proof from another one).
        let mut t = good.clone();
        t.contributions[1].knowledge = t.contributions[0].knowledge.clone();
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Chain));
        let mut t = good.clone();
        t.contributions[1].knowledge.rx = t.contributions[0].knowledge.rx;
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Knowledge));

        // A contribution that puts back the previous delta (secret one): no proof can hold.
        let mut t = s.init();
        t.contribute("a", &mut rng, &noop).expect("contribute");
        let mut copy = t.contributions[0].clone();
        copy.name = "lazy".into();
        t.contributions.push(copy);
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Chain));

        // A contribution that brings back an earlier delta by a real secret: x then 1/x.
        let mut t = s.init();
        let x = Fr::from(1234567u64);
        t.apply("a", None, &x, random_g1(&mut rng), &noop);
        t.apply(
            "b",
            None,
            &x.inverse().expect("x"),
            random_g1(&mut rng),
            &noop,
        );
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Reused));

        // Delta moved without the proven secret.
        let mut t = good.clone();
        t.contributions[2].delta_after = (t.contributions[2].delta_after * Fr::from(2u64)).into();
        assert_eq!(refusal(&t, &s), (At::Contribution(3), Check::Update));

        // A missing and a reordered contribution break the chain the proofs are bound to.
        let mut t = good.clone();
        t.contributions.remove(1);
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Chain));
        let mut t = good.clone();
        t.contributions.swap(0, 1);
        assert_eq!(refusal(&t, &s), (At::Contribution(1), Check::Chain));

        // A changed query point, in each query.
        for (what, change) in [
            ("A", 0usize),
            ("B in G1", 1),
            ("B in G2", 2),
            ("L", 3),
            ("H", 4),
            ("public input (IC)", 5),
        ] {
            let mut t = good.clone();
            match change {
                0 => t.key.a_query[3] = (t.key.a_query[3] + g1).into(),
                1 => t.key.b_g1_query[2] = (t.key.b_g1_query[2] + g1).into(),
                2 => t.key.b_g2_query[2] = (t.key.b_g2_query[2] + g2).into(),
                3 => t.key.l_query[0] = (t.key.l_query[0] + g1).into(),
                4 => t.key.h_query[5] = (t.key.h_query[5] + g1).into(),
                _ => t.key.vk.gamma_abc_g1[1] = (t.key.vk.gamma_abc_g1[1] + g1).into(),
            }
            assert_eq!(refusal(&t, &s), (At::Final, Check::Query(what)), "{what}");
        }
        let mut t = good.clone();
        t.coefficients[40] ^= 1;
        assert_eq!(refusal(&t, &s), (At::Final, Check::Query("coefficients")));
        let mut t = good.clone();
        t.key.vk.alpha_g1 = g1;
        assert_eq!(refusal(&t, &s), (At::Final, Check::Fixed("alpha")));
        let mut t = good.clone();
        t.key.delta_g1 = g1;
        assert_eq!(refusal(&t, &s), (At::Final, Check::Delta));
        let mut t = good.clone();
        t.key.vk.delta_g2 = g2;
        assert_eq!(refusal(&t, &s), (At::Final, Check::DeltaG2));
        let mut t = good.clone();
        t.key.h_query.pop();
        assert_eq!(refusal(&t, &s), (At::Final, Check::Sizes));

        // A beacon whose secret is not its value's, and a contribution after the beacon.
        let mut t = good.clone();
        if let Some(b) = t.contributions[3].beacon.as_mut() {
            b.value = b"another block".to_vec();
        }
        assert_eq!(refusal(&t, &s), (At::Contribution(4), Check::Beacon));
        let mut t = good.clone();
        assert!(
            t.contribute("late", &mut rng, &noop).is_err(),
            "closed by the beacon"
        );
        t.apply("late", None, &Fr::from(7u64), random_g1(&mut rng), &noop);
        assert_eq!(refusal(&t, &s), (At::Contribution(5), Check::AfterBeacon));
    }

    #[test]
    fn a_transcript_is_bound_to_its_circuit_and_phase_1() {
        let s = setup();
        let good = ceremony(&s);
        // Another circuit (one more squaring) with this transcript.
        let other = toy::matrices(7);
        assert!(matches!(
            good.verify(&other.circuit(), s.dealer.powers()),
            Err(CeremonyError::PhaseTwo {
                check: Check::Circuit | Check::Sizes,
                ..
            })
        ));
        let mut rng = rand::thread_rng();
        let another = Dealer::new(5, "other", &mut rng).expect("dealer");
        let log = s.toy.circuit().domain_log();
        assert!(matches!(
            good.verify(&s.toy.circuit(), another.powers()),
            Err(CeremonyError::PhaseTwo {
                check: Check::Fixed("alpha"),
                ..
            })
        ));
        // A phase 1 too small for the H basis.
        let small = Dealer::new(log, "small", &mut rng).expect("dealer");
        assert!(matches!(
            s.init().verify(&s.toy.circuit(), small.powers()),
            Err(CeremonyError::PhaseOneTooSmall { .. })
        ));
        // The file form round-trips; a flipped byte or trailing bytes are refused.
        let bytes = good.to_bytes();
        assert_eq!(Transcript::from_bytes(&bytes).expect("read"), good);
        let mut bad = bytes.clone();
        let at = bad.len() / 2;
        bad[at] ^= 0x40;
        assert!(
            Transcript::from_bytes(&bad).is_err()
                || Transcript::from_bytes(&bad).ok() != Some(good.clone())
        );
        let mut long = bytes.clone();
        long.push(0);
        assert!(Transcript::from_bytes(&long).is_err());
        assert!(Transcript::from_bytes(b"nonsense").is_err());
    }

    #[test]
    fn the_snarkjs_hash_count_of_the_monomial_h_query() {
        assert_eq!(monomial_h_count(16), 15);
        assert_eq!(monomial_h_count(1 << 14), (1 << 14) - 1);
        assert_eq!(monomial_h_count(1 << 15), 1 << 15);
        assert_eq!(monomial_h_count(1 << 16), 1 << 16);
    }

    #[test]
    fn long_names_and_bad_beacons_are_refused_before_anything_changes() {
        let s = setup();
        let mut t = s.init();
        let before = t.clone();
        let mut rng = rand::thread_rng();
        assert!(t.contribute(&"x".repeat(65), &mut rng, &noop).is_err());
        assert!(t.beacon("b", b"", 4, &noop).is_err());
        assert!(t.beacon("b", &[1; 256], 4, &noop).is_err());
        assert!(t.beacon("b", b"v", MAX_BEACON_LOG + 1, &noop).is_err());
        assert_eq!(t, before);
    }
}
