//! Phase 2: one shape's Groth16 key, made by many contributors, checked by anyone.
//!
//! [`Transcript::init`] computes the key with `gamma = delta = 1` from the shape's matrices and
//! phase 1's Lagrange basis. Each [`Transcript::contribute`] multiplies `delta` by a fresh
//! secret `x` (and divides the `L` and `H` queries by it) and appends a [`Contribution`]: the
//! new `[delta]`, and a proof of knowledge of `x` challenged by the transcript so far. A
//! [`Transcript::beacon`] is a contribution whose secret is derived from a public random value
//! by iterated hashing, so nobody could have chosen it. [`Transcript::verify`] re-checks all of
//! it against the circuit and phase 1 and names the step and check that failed.

use crate::phase1::{Dealer, Lagrange, Powers, Verified};
use crate::pok::{generators, msm1, msm2, mul1, same_ratio, weights, Knowledge};
use crate::{CeremonyError, Circuit};
use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{Field, One, UniformRand, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use rand::SeedableRng;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::fmt;

/// The file form's first bytes.
pub const MAGIC: &[u8] = b"dossier-ceremony/phase2/v1\n";
/// The most beacon hash iterations accepted, as a power of two: 2^24 SHA-256 rounds are a few
/// seconds, so a transcript from outside cannot make `verify` hash for an hour.
pub const MAX_BEACON_LOG: u8 = 24;

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
    /// The transcript was made for another circuit.
    #[error("the transcript is for another circuit")]
    Circuit,
    /// The transcript was made from other powers of tau.
    #[error("the transcript was made from another phase 1")]
    PhaseOne,
    /// A query has the wrong number of points.
    #[error("a query has the wrong length")]
    Sizes,
    /// A point that phase 2 never changes differs from phase 1's (alpha, beta or gamma).
    #[error("{0} differs from phase 1")]
    Fixed(&'static str),
    /// A query is not the circuit's, evaluated at phase 1's tau.
    #[error("the {0} query is not the circuit's")]
    Query(&'static str),
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

/// A public random value that closes a ceremony, hashed `2^iterations_log` times.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Beacon {
    /// The value (for instance a future block hash, announced before the ceremony ends).
    pub value: Vec<u8>,
    /// log2 of the number of SHA-256 iterations.
    pub iterations_log: u8,
}

impl Beacon {
    fn rng(&self) -> rand_chacha::ChaCha20Rng {
        let mut h: [u8; 32] = Sha256::new()
            .chain_update(b"dossier-ceremony/beacon/v1")
            .chain_update(&self.value)
            .finalize()
            .into();
        for _ in 0..(1u64 << self.iterations_log) {
            h = Sha256::digest(h).into();
        }
        rand_chacha::ChaCha20Rng::from_seed(h)
    }
}

/// One contribution.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Contribution {
    /// Who contributed (as they named themselves).
    pub name: String,
    /// Set when the secret came from a public beacon.
    pub beacon: Option<Beacon>,
    /// `[delta]G1` after it.
    pub delta_g1: G1Affine,
    /// `[delta]G2` after it.
    pub delta_g2: G2Affine,
    /// Knowledge of the secret that multiplied delta.
    pub knowledge: Knowledge,
}

/// A phase 2 transcript: the circuit and phase 1 it was made for, the current key and the
/// contributions that made it.
#[derive(Clone, Debug, PartialEq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Transcript {
    /// The circuit's hash.
    pub circuit: [u8; 32],
    /// Phase 1's hash ([`Powers::hash`]).
    pub phase1: [u8; 32],
    /// The key as it stands.
    pub key: ProvingKey<Bn254>,
    /// The contributions, in order.
    pub contributions: Vec<Contribution>,
}

/// What a verification found: who contributed, and the hashes to publish and pin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Each contribution's name, hash and whether it was a beacon.
    pub contributions: Vec<(String, [u8; 32], bool)>,
    /// The whole transcript's hash (the last contribution's).
    pub transcript: [u8; 32],
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

fn column_msm1(bases: &[G1Affine], col: &[(usize, Fr)]) -> G1Projective {
    let (points, scalars): (Vec<G1Affine>, Vec<Fr>) =
        col.iter().map(|(row, c)| (bases[*row], *c)).unzip();
    G1Projective::msm_unchecked(&points, &scalars)
}

fn column_msm2(bases: &[G2Affine], col: &[(usize, Fr)]) -> G2Projective {
    let (points, scalars): (Vec<G2Affine>, Vec<Fr>) =
        col.iter().map(|(row, c)| (bases[*row], *c)).unzip();
    G2Projective::msm_unchecked(&points, &scalars)
}

fn check_sizes(circuit: &Circuit<'_>, powers_log: u32) -> Result<usize, CeremonyError> {
    circuit.check()?;
    let log = circuit.domain_log();
    if log > powers_log {
        return Err(CeremonyError::PhaseOneTooSmall {
            needed: log,
            have: powers_log,
        });
    }
    Ok(1usize << log)
}

/// `[tau^i Z(tau)]G1 = [tau^(m+i)] - [tau^i]` for `i < m - 1`: the H query before delta.
fn h_from_powers(powers: &Powers, m: usize) -> Vec<G1Affine> {
    let h: Vec<G1Projective> = (0..m - 1)
        .into_par_iter()
        .map(|i| powers.tau_g1[m + i].into_group() - powers.tau_g1[i])
        .collect();
    G1Projective::normalize_batch(&h)
}

fn key(
    circuit: &Circuit<'_>,
    powers: &Powers,
    queries: [Vec<G1Affine>; 2],
    b_g2_query: Vec<G2Affine>,
    abc: Vec<G1Affine>,
    h_query: Vec<G1Affine>,
) -> ProvingKey<Bn254> {
    let (g1, g2) = generators();
    let [a_query, b_g1_query] = queries;
    let (gamma_abc_g1, l_query) = {
        let mut abc = abc;
        let l = abc.split_off(circuit.num_instance);
        (abc, l)
    };
    ProvingKey {
        vk: VerifyingKey {
            alpha_g1: powers.alpha_tau_g1[0],
            beta_g2: powers.beta_g2,
            gamma_g2: g2,
            delta_g2: g2,
            gamma_abc_g1,
        },
        beta_g1: powers.beta_tau_g1[0],
        delta_g1: g1,
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query,
    }
}

fn chain_start(circuit: &[u8; 32], phase1: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"dossier-ceremony/phase2/init/v1")
        .chain_update(circuit)
        .chain_update(phase1)
        .finalize()
        .into()
}

fn chain_next(previous: &[u8; 32], c: &Contribution) -> [u8; 32] {
    let mut bytes = Vec::new();
    c.serialize_uncompressed(&mut bytes)
        .expect("serialising to a vector cannot fail");
    Sha256::new()
        .chain_update(b"dossier-ceremony/phase2/contribution/v1")
        .chain_update(previous)
        .chain_update(bytes)
        .finalize()
        .into()
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
    /// The initial key for a circuit, from verified powers and their Lagrange basis for the
    /// circuit's domain. Cost: one small multi-scalar multiplication per variable and matrix.
    pub fn init(
        circuit: &Circuit<'_>,
        powers: Verified<'_>,
        lagrange: &Lagrange,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Transcript, CeremonyError> {
        let m = check_sizes(circuit, powers.power)?;
        if lagrange.log != circuit.domain_log() {
            return Err(CeremonyError::Format {
                field: "lagrange",
                reason: "the Lagrange basis is for another domain",
            });
        }
        powers.check_lagrange(lagrange)?;
        let cols = Columns::of(circuit);
        let n = circuit.num_variables;
        let done = std::sync::atomic::AtomicUsize::new(0);
        let tick = || {
            let k = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if k.is_multiple_of(256) {
                progress(k as f64 / n as f64);
            }
        };
        let per_variable: Vec<(G1Projective, G1Projective, G2Projective, G1Projective)> = (0..n)
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
        let a: Vec<G1Projective> = per_variable.iter().map(|v| v.0).collect();
        let b1: Vec<G1Projective> = per_variable.iter().map(|v| v.1).collect();
        let b2: Vec<G2Projective> = per_variable.iter().map(|v| v.2).collect();
        let abc: Vec<G1Projective> = per_variable.iter().map(|v| v.3).collect();
        progress(1.0);
        let pk = key(
            circuit,
            &powers,
            [
                G1Projective::normalize_batch(&a),
                G1Projective::normalize_batch(&b1),
            ],
            G2Projective::normalize_batch(&b2),
            G1Projective::normalize_batch(&abc),
            h_from_powers(&powers, m),
        );
        Ok(Transcript {
            circuit: circuit.hash,
            phase1: powers.hash(),
            key: pk,
            contributions: Vec::new(),
        })
    }

    /// The same initial key, computed by a phase 1 dealer from the secrets it still holds:
    /// field arithmetic and fixed-base multiplications, seconds for the largest shape.
    pub fn init_dealt(circuit: &Circuit<'_>, dealer: &Dealer) -> Result<Transcript, CeremonyError> {
        let powers = dealer.powers();
        let m = check_sizes(circuit, powers.power)?;
        let s = &dealer.secrets;
        let domain = Radix2EvaluationDomain::<Fr>::new(m).expect("power of two within 2-adicity");
        let u = domain.evaluate_all_lagrange_coefficients(s.tau);
        let cols = Columns::of(circuit);
        let eval = |col: &[(usize, Fr)]| col.iter().map(|(row, c)| u[*row] * c).sum::<Fr>();
        let n = circuit.num_variables;
        let (a, (b, c)): (Vec<Fr>, (Vec<Fr>, Vec<Fr>)) = (0..n)
            .into_par_iter()
            .map(|i| (eval(&cols.a[i]), (eval(&cols.b[i]), eval(&cols.c[i]))))
            .unzip();
        let abc: Vec<Fr> = (0..n)
            .map(|i| s.beta * a[i] + s.alpha * b[i] + c[i])
            .collect();
        let zt = domain.evaluate_vanishing_polynomial(s.tau);
        let mut h = Vec::with_capacity(m - 1);
        let mut t = zt;
        for _ in 0..m - 1 {
            h.push(t);
            t *= s.tau;
        }
        let g1 = BatchMulPreprocessing::new(G1Projective::generator(), 3 * n + m);
        let g2 = BatchMulPreprocessing::new(G2Projective::generator(), n);
        let pk = key(
            circuit,
            &powers,
            [g1.batch_mul(&a), g1.batch_mul(&b)],
            g2.batch_mul(&b),
            g1.batch_mul(&abc),
            g1.batch_mul(&h),
        );
        Ok(Transcript {
            circuit: circuit.hash,
            phase1: powers.hash(),
            key: pk,
            contributions: Vec::new(),
        })
    }

    /// The hash of the transcript so far (what the next contribution's proof is bound to).
    pub fn hash(&self) -> [u8; 32] {
        self.contributions
            .iter()
            .fold(chain_start(&self.circuit, &self.phase1), |h, c| {
                chain_next(&h, c)
            })
    }

    /// Adds a contribution from fresh randomness; returns its hash for the contributor to
    /// publish. `progress` is told the fraction done. Refused once the beacon has closed the
    /// transcript.
    pub fn contribute<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        rng: &mut R,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<[u8; 32], CeremonyError> {
        self.open_for_more()?;
        let mut x = nontrivial(rng);
        let hash = self.apply(name, None, &x, rng, progress);
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

    /// Closes the ceremony with a public random beacon: the secret is derived from `value`
    /// hashed `2^iterations_log` times, so anyone can recompute it and nobody could choose it.
    pub fn beacon(
        &mut self,
        name: &str,
        value: &[u8],
        iterations_log: u8,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<[u8; 32], CeremonyError> {
        if iterations_log > MAX_BEACON_LOG {
            return Err(CeremonyError::TooLarge {
                field: "beacon iterations (log2)",
                found: iterations_log.into(),
                max: MAX_BEACON_LOG.into(),
            });
        }
        self.open_for_more()?;
        let beacon = Beacon {
            value: value.to_vec(),
            iterations_log,
        };
        let mut rng = beacon.rng();
        let x = nontrivial(&mut rng);
        Ok(self.apply(name, Some(beacon), &x, &mut rng, progress))
    }

    fn apply<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        beacon: Option<Beacon>,
        x: &Fr,
        rng: &mut R,
        progress: &(dyn Fn(f64) + Sync),
    ) -> [u8; 32] {
        let previous = self.hash();
        let (knowledge, _) = Knowledge::prove(x, &previous, rng);
        let inverse = x.inverse().expect("a nontrivial secret is not zero");
        scale_in_place(&mut self.key.l_query, inverse, progress, 0.0);
        scale_in_place(&mut self.key.h_query, inverse, progress, 0.5);
        self.key.delta_g1 = (self.key.delta_g1 * x).into_affine();
        self.key.vk.delta_g2 = (self.key.vk.delta_g2 * x).into_affine();
        let c = Contribution {
            name: name.to_owned(),
            beacon,
            delta_g1: self.key.delta_g1,
            delta_g2: self.key.vk.delta_g2,
            knowledge,
        };
        let hash = chain_next(&previous, &c);
        self.contributions.push(c);
        progress(1.0);
        hash
    }

    /// Re-checks the whole transcript against verified phase 1 powers: the key against the
    /// circuit evaluated at phase 1's tau (every query, by random linear combination), and
    /// every contribution's proof of knowledge and delta update.
    pub fn verify(
        &self,
        circuit: &Circuit<'_>,
        powers: Verified<'_>,
    ) -> Result<Report, CeremonyError> {
        if self.circuit != circuit.hash {
            return Err(refused(At::Initial, Check::Circuit));
        }
        if self.phase1 != powers.hash() {
            return Err(refused(At::Initial, Check::PhaseOne));
        }
        let powers: &Powers = &powers;
        let m = check_sizes(circuit, powers.power)?;
        self.check_fixed(circuit, m, powers)?;
        let report = self.check_contributions()?;
        self.check_queries(circuit, m, powers)?;
        Ok(report)
    }

    fn check_fixed(
        &self,
        circuit: &Circuit<'_>,
        m: usize,
        powers: &Powers,
    ) -> Result<(), CeremonyError> {
        let k = &self.key;
        let (n, ni) = (circuit.num_variables, circuit.num_instance);
        let sized = k.a_query.len() == n
            && k.b_g1_query.len() == n
            && k.b_g2_query.len() == n
            && k.vk.gamma_abc_g1.len() == ni
            && k.l_query.len() == n - ni
            && k.h_query.len() == m - 1;
        if !sized {
            return Err(refused(At::Final, Check::Sizes));
        }
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
        let mut delta = (g1, g2);
        let mut seen = vec![g1];
        let mut hash = chain_start(&self.circuit, &self.phase1);
        let mut report = Vec::new();
        for (i, c) in self.contributions.iter().enumerate() {
            let at = At::Contribution(i + 1);
            if i > 0 && self.contributions[i - 1].beacon.is_some() {
                return Err(refused(at, Check::AfterBeacon));
            }
            let r = c
                .knowledge
                .verify(&hash)
                .ok_or(refused(at, Check::Knowledge))?;
            if !same_ratio((delta.0, c.delta_g1), (r, c.knowledge.rx)) {
                return Err(refused(at, Check::Update));
            }
            if !same_ratio((g1, c.delta_g1), (g2, c.delta_g2)) {
                return Err(refused(at, Check::DeltaG2));
            }
            if seen.contains(&c.delta_g1) {
                return Err(refused(at, Check::Reused));
            }
            if let Some(b) = &c.beacon {
                if b.iterations_log > MAX_BEACON_LOG
                    || (delta.0 * nontrivial(&mut b.rng())).into_affine() != c.delta_g1
                {
                    return Err(refused(at, Check::Beacon));
                }
            }
            seen.push(c.delta_g1);
            delta = (c.delta_g1, c.delta_g2);
            hash = chain_next(&hash, c);
            report.push((c.name.clone(), hash, c.beacon.is_some()));
        }
        if self.key.delta_g1 != delta.0 || self.key.vk.delta_g2 != delta.1 {
            return Err(refused(At::Final, Check::Delta));
        }
        Ok(Report {
            contributions: report,
            transcript: hash,
        })
    }

    /// Every query against phase 1's monomial powers: for random weights `w` over the
    /// variables, `sum_i w_i [M_i(tau)] = sum_k c_k [tau^k]` where `c` is the inverse FFT of
    /// the rows' weighted sums `s_j = sum_i w_i M[j][i]` (field work plus MSMs). All equations
    /// are first checked at once under random multipliers; only when that fails is each checked
    /// alone, to name the query at fault.
    fn check_queries(
        &self,
        circuit: &Circuit<'_>,
        m: usize,
        powers: &Powers,
    ) -> Result<(), CeremonyError> {
        let q = Queries::new(&self.key, circuit, m, powers);
        if q.all_at_once() {
            return Ok(());
        }
        Err(refused(At::Final, Check::Query(q.first_failing())))
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

    /// The file form: [`MAGIC`], then the transcript (arkworks, uncompressed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        self.serialize_uncompressed(&mut out)
            .expect("serialising to a vector cannot fail");
        out
    }

    /// Reads the file form, checking every point (curve and subgroup).
    pub fn from_bytes(bytes: &[u8]) -> Result<Transcript, CeremonyError> {
        let body = bytes.strip_prefix(MAGIC).ok_or(CeremonyError::Format {
            field: "transcript",
            reason: "not a dossier phase 2 transcript",
        })?;
        let mut reader = body;
        let t = Transcript::deserialize_with_mode(&mut reader, Compress::No, Validate::Yes)
            .map_err(|source| CeremonyError::Serialization {
                field: "transcript",
                source,
            })?;
        if !reader.is_empty() {
            return Err(CeremonyError::Format {
                field: "transcript",
                reason: "trailing bytes",
            });
        }
        Ok(t)
    }
}

/// The random linear combinations [`Transcript::verify`] checks the key's queries with.
struct Queries<'a> {
    key: &'a ProvingKey<Bn254>,
    powers: &'a Powers,
    m: usize,
    ni: usize,
    /// Weights over the variables, and over the H query.
    w: Vec<Fr>,
    hw: Vec<Fr>,
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
        let (n, ni) = (circuit.num_variables, circuit.num_instance);
        let w = weights(n);
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
        Queries {
            key,
            powers,
            m,
            ni,
            w,
            hw: weights(m - 1),
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
        let delta_side = msm1(&k.l_query, w_wit) + msm1(&k.h_query, &scaled(&self.hw, gh));
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
            return "public input (gamma_abc)";
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
    use crate::toy;
    use ark_groth16::Groth16;
    use ark_snark::SNARK;

    fn noop(_: f64) {}

    struct Setup {
        dealer: Dealer,
        toy: toy::Matrices,
    }

    fn setup() -> Setup {
        let mut rng = rand::thread_rng();
        Setup {
            dealer: Dealer::new(5, "dealer", &mut rng).expect("dealer"),
            toy: toy::matrices(6),
        }
    }

    fn ceremony(s: &Setup) -> Transcript {
        let mut rng = rand::thread_rng();
        let mut t = Transcript::init_dealt(&s.toy.circuit(1), &s.dealer).expect("init");
        for name in ["tax bureau", "civil service commission", "audit office"] {
            t.contribute(name, &mut rng, &noop).expect("contribute");
        }
        t.beacon("beacon", b"block 21000000", 4, &noop)
            .expect("beacon");
        t
    }

    #[test]
    fn both_initial_keys_agree_and_a_finished_ceremony_proves_and_verifies() {
        let s = setup();
        let circuit = s.toy.circuit(1);
        let powers = s.dealer.powers();
        let lagrange = powers.lagrange(circuit.domain_log()).expect("lagrange");
        let slow = Transcript::init(&circuit, powers, &lagrange, &noop).expect("init");
        let mut bent = lagrange.clone();
        bent.tau_g1.swap(0, 1);
        assert!(Transcript::init(&circuit, powers, &bent, &noop).is_err());
        let fast = Transcript::init_dealt(&circuit, &s.dealer).expect("init");
        assert_eq!(
            slow, fast,
            "init from Lagrange points == init from the dealer's secrets"
        );
        assert!(matches!(
            fast.clone().finalize(&circuit, powers),
            Err(CeremonyError::PhaseTwo {
                check: Check::NoContribution,
                ..
            })
        ));
        let t = ceremony(&s);
        let report = t.verify(&circuit, powers).expect("verify");
        assert_eq!(report.contributions.len(), 4);
        assert_eq!(report.transcript, t.hash());
        assert!(report.contributions[3].2, "the last is the beacon");
        let (pk, _) = t.finalize(&circuit, powers).expect("finalize");
        let mut rng = rand::thread_rng();
        let statement = toy::Squares {
            x: Fr::from(3u64),
            k: Fr::from(11u64),
            rounds: 6,
        };
        let inputs = statement.outputs();
        let proof = Groth16::<Bn254>::prove(&pk, statement, &mut rng).expect("prove");
        let pvk = Groth16::<Bn254>::process_vk(&pk.vk).expect("pvk");
        assert!(Groth16::<Bn254>::verify_with_processed_vk(&pvk, &inputs, &proof).expect("v"));
        let wrong = [inputs[0] + Fr::one(), inputs[1]];
        assert!(!Groth16::<Bn254>::verify_with_processed_vk(&pvk, &wrong, &proof).expect("v"));
    }

    fn refusal(t: &Transcript, s: &Setup) -> (At, Check) {
        match t.verify(&s.toy.circuit(1), s.dealer.powers()) {
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
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Knowledge));

        // A contribution that puts back the previous delta (secret one): no proof can hold.
        let mut t = Transcript::init_dealt(&s.toy.circuit(1), &s.dealer).expect("init");
        t.contribute("a", &mut rng, &noop).expect("contribute");
        let mut copy = t.contributions[0].clone();
        copy.name = "lazy".into();
        t.contributions.push(copy);
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Knowledge));

        // A contribution that brings back an earlier delta by a real secret: x then 1/x.
        let mut t = Transcript::init_dealt(&s.toy.circuit(1), &s.dealer).expect("init");
        let x = Fr::from(1234567u64);
        t.apply("a", None, &x, &mut rng, &noop);
        t.apply("b", None, &x.inverse().expect("x"), &mut rng, &noop);
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Reused));

        // Delta moved without the proven secret.
        let mut t = good.clone();
        t.contributions[2].delta_g1 = (t.contributions[2].delta_g1 * Fr::from(2u64)).into();
        assert_eq!(refusal(&t, &s), (At::Contribution(3), Check::Update));

        // A missing and a reordered contribution break the chain the proofs are bound to.
        let mut t = good.clone();
        t.contributions.remove(1);
        assert_eq!(refusal(&t, &s), (At::Contribution(2), Check::Knowledge));
        let mut t = good.clone();
        t.contributions.swap(0, 1);
        assert_eq!(refusal(&t, &s), (At::Contribution(1), Check::Knowledge));

        // A changed query point, in each query.
        for (what, change) in [
            ("A", 0usize),
            ("B in G1", 1),
            ("B in G2", 2),
            ("L", 3),
            ("H", 4),
            ("public input (gamma_abc)", 5),
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
        t.key.vk.alpha_g1 = g1;
        assert_eq!(refusal(&t, &s), (At::Final, Check::Fixed("alpha")));
        let mut t = good.clone();
        t.key.delta_g1 = g1;
        assert_eq!(refusal(&t, &s), (At::Final, Check::Delta));
        let mut t = good.clone();
        t.key.h_query.pop();
        assert_eq!(refusal(&t, &s), (At::Final, Check::Sizes));

        // A beacon whose secret is not its value's, and a contribution after the beacon.
        let mut t = good.clone();
        if let Some(b) = t.contributions[3].beacon.as_mut() {
            b.value = b"another block".to_vec();
        }
        let (at, _) = refusal(&t, &s);
        assert_eq!(at, At::Contribution(4));
        let mut t = good.clone();
        assert!(
            t.contribute("late", &mut rng, &noop).is_err(),
            "closed by the beacon"
        );
        t.apply("late", None, &Fr::from(7u64), &mut rng, &noop);
        assert_eq!(refusal(&t, &s), (At::Contribution(5), Check::AfterBeacon));
    }

    #[test]
    fn a_transcript_is_bound_to_its_circuit_and_phase_1() {
        let s = setup();
        let good = ceremony(&s);
        // Another circuit (one more squaring) with this transcript.
        let other = toy::matrices(7);
        assert!(matches!(
            good.verify(&other.circuit(1), s.dealer.powers()),
            Err(CeremonyError::PhaseTwo {
                check: Check::Query(_) | Check::Sizes,
                ..
            })
        ));
        assert!(matches!(
            good.verify(&s.toy.circuit(2), s.dealer.powers()),
            Err(CeremonyError::PhaseTwo {
                check: Check::Circuit,
                ..
            })
        ));
        let mut rng = rand::thread_rng();
        let another = Dealer::new(5, "other", &mut rng).expect("dealer");
        assert!(matches!(
            good.verify(&s.toy.circuit(1), another.powers()),
            Err(CeremonyError::PhaseTwo {
                check: Check::PhaseOne,
                ..
            })
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
}
