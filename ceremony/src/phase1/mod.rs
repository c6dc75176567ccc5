//! Phase 1: powers of tau, in the snarkjs `.ptau` format.
//!
//! A file holds `[tau^i]G1` for `i < 2^(p+1) - 1`, `[tau^i]G2`, `[alpha tau^i]G1` and
//! `[beta tau^i]G1` for `i < 2^p`, and `[beta]G2` (sections 2-6); section 7 every
//! contribution's record, snarkjs's own ([`record`]: contributions made with snarkjs or with this
//! crate are one chain, and `snarkjs powersoftau verify` checks ours); sections 12-15, when
//! present, the powers in the Lagrange basis of every domain (snarkjs's `prepare phase2`
//! layout), which [`crate::phase2::Transcript::init`] needs.
//!
//! [`Powers::verify`] checks every power against its neighbour with one pairing equation per
//! section (random weights make the batched check as strong as one per point), and every
//! contribution as snarkjs does: its proofs of knowledge against the challenge the previous
//! record left, its update of the first points by exactly the proven secrets, a beacon's
//! secrets derived from the beacon, and that the last record's next challenge hashes the powers
//! in the file.

pub mod record;

use crate::phase2::Beacon;
use crate::pok::{
    challenge_point, generators, msm1, msm2, mul1, mul2, same_ratio, weights, Knowledge,
};
use crate::ptau::{self, Sections};
use crate::zkey;
use crate::CeremonyError;
/// The G1 points bases are made of (re-exported for callers without arkworks).
pub use ark_bn254::G1Affine;
use ark_bn254::{Fr, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{Field, One, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rayon::prelude::*;
pub use record::{Anchor, Contribution, Hash};
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The largest power accepted: BN254's scalar field has 2-adicity 28.
pub const MAX_POWER: u32 = 28;

/// The check a phase 1 file failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Check {
    /// The first powers are not the generators.
    #[error("the first powers are not the generators")]
    Generators,
    /// tau, alpha or beta is zero or one.
    #[error("a secret is trivial (zero or one)")]
    Trivial,
    /// The `[tau^i]G1` are not successive powers of one tau.
    #[error("tauG1 powers are inconsistent")]
    TauG1,
    /// The `[tau^i]G2` are not successive powers of the same tau.
    #[error("tauG2 powers are inconsistent")]
    TauG2,
    /// The `[alpha tau^i]G1` are inconsistent.
    #[error("alphaTauG1 powers are inconsistent")]
    AlphaTauG1,
    /// The `[beta tau^i]G1` are inconsistent.
    #[error("betaTauG1 powers are inconsistent")]
    BetaTauG1,
    /// `[beta]G2` differs from `[beta]G1`'s beta.
    #[error("betaG2 does not match betaTauG1")]
    BetaG2,
    /// A contribution's proof of knowledge does not hold against the challenge the previous
    /// record left (a record is missing, reordered or forged).
    #[error("contribution {contribution}: the proof of knowledge of {secret} does not hold")]
    Knowledge {
        /// 1-based.
        contribution: usize,
        /// `tau`, `alpha` or `beta`.
        secret: &'static str,
    },
    /// A beacon contribution's secrets are not the ones its beacon derives.
    #[error("contribution {contribution}: its secrets are not its beacon's")]
    Beacon {
        /// 1-based.
        contribution: usize,
    },
    /// A contribution's result is not the previous one's times its proven secret.
    #[error(
        "contribution {contribution}: its {point} is not the previous one times the proven secret"
    )]
    Update {
        /// 1-based.
        contribution: usize,
        /// The point: `tauG1`, `tauG2`, `alphaG1`, `betaG1` or `betaG2`.
        point: &'static str,
    },
    /// The powers are not the last contribution's result (or there is none).
    #[error("the powers are not the result of the last contribution")]
    Result,
    /// The last record's next challenge is not the hash of the powers in the file.
    #[error("the last record's next challenge does not hash these powers")]
    Challenge,
    /// The Lagrange sections are not the powers in the Lagrange basis.
    #[error("the Lagrange-basis sections do not match the powers")]
    Lagrange,
}

/// Powers of tau.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Powers {
    /// log2 of the number of G2 powers.
    pub power: u32,
    /// The power of the ceremony that made them (above `power` when snarkjs reduced the file).
    pub ceremony_power: u32,
    /// `[tau^i]G1`, `2^(power+1) - 1` of them.
    pub tau_g1: Vec<G1Affine>,
    /// `[tau^i]G2`, `2^power`.
    pub tau_g2: Vec<G2Affine>,
    /// `[alpha tau^i]G1`, `2^power`.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// `[beta tau^i]G1`, `2^power`.
    pub beta_tau_g1: Vec<G1Affine>,
    /// `[beta]G2`.
    pub beta_g2: G2Affine,
    /// Every contribution's record, in order.
    pub contributions: Vec<Contribution>,
}

/// Powers that passed [`Powers::verify`].
#[derive(Clone, Copy, Debug)]
pub struct Verified<'a> {
    powers: &'a Powers,
}

impl std::ops::Deref for Verified<'_> {
    type Target = Powers;
    fn deref(&self) -> &Powers {
        self.powers
    }
}

/// One domain's powers in the Lagrange basis: `[L_j(tau)]` for `j < 2^log`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lagrange {
    /// log2 of the domain.
    pub log: u32,
    /// `[L_j(tau)]G1`.
    pub tau_g1: Vec<G1Affine>,
    /// `[L_j(tau)]G2`.
    pub tau_g2: Vec<G2Affine>,
    /// `[alpha L_j(tau)]G1`.
    pub alpha_tau_g1: Vec<G1Affine>,
    /// `[beta L_j(tau)]G1`.
    pub beta_tau_g1: Vec<G1Affine>,
}

/// The three secrets of a phase 1 contribution, each with its own proof of knowledge.
#[derive(Clone, Copy)]
enum Secret {
    Tau,
    Alpha,
    Beta,
}

impl Secret {
    /// Its name, as the transcript hashes it and refusals name it.
    fn name(self) -> &'static str {
        match self {
            Secret::Tau => "tau",
            Secret::Alpha => "alpha",
            Secret::Beta => "beta",
        }
    }

    /// snarkjs's personalisation byte of its proof of knowledge (`getG2sp`).
    fn personalization(self) -> u8 {
        match self {
            Secret::Tau => 0,
            Secret::Alpha => 1,
            Secret::Beta => 2,
        }
    }
}

fn too_large(field: &'static str, found: u64, max: u64) -> CeremonyError {
    CeremonyError::TooLarge { field, found, max }
}

fn exact(bytes: &[u8], n: usize, each: usize, field: &'static str) -> Result<(), CeremonyError> {
    if bytes.len() != n * each {
        return Err(CeremonyError::Format {
            field,
            reason: "section length does not match the header's power",
        });
    }
    Ok(())
}

/// Whether `seq[i+1] / seq[i]` is the ratio `g2_ratio.1 / g2_ratio.0` for every i.
fn successive_g1(seq: &[G1Affine], ratio: (G2Affine, G2Affine)) -> bool {
    if seq.len() < 2 {
        return true;
    }
    let rho = weights(seq.len() - 1);
    let (a, b) = rayon::join(
        || msm1(&seq[..seq.len() - 1], &rho),
        || msm1(&seq[1..], &rho),
    );
    same_ratio((a.into_affine(), b.into_affine()), ratio)
}

impl Powers {
    /// The number of G1 powers for a power.
    pub fn g1_count(power: u32) -> usize {
        (1usize << (power + 1)) - 1
    }

    /// Reads a `.ptau` file (snarkjs's or ours), checking every point is on the curve and in
    /// the subgroup. [`Powers::verify`] then checks the powers themselves.
    pub fn from_ptau(bytes: &[u8]) -> Result<Powers, CeremonyError> {
        let s = Sections::parse(bytes, b"ptau")?;
        let (power, ceremony_power) = read_header(&s)?;
        let n = 1usize << power;
        let g1 = Self::g1_count(power);
        let (tau_g1, alpha, beta) = (
            s.require(2, "tauG1")?,
            s.require(4, "alphaTauG1")?,
            s.require(5, "betaTauG1")?,
        );
        let (tau_g2, beta_g2) = (s.require(3, "tauG2")?, s.require(6, "betaG2")?);
        exact(tau_g1, g1, ptau::G1_BYTES, "tauG1")?;
        exact(tau_g2, n, ptau::G2_BYTES, "tauG2")?;
        exact(alpha, n, ptau::G1_BYTES, "alphaTauG1")?;
        exact(beta, n, ptau::G1_BYTES, "betaTauG1")?;
        exact(beta_g2, 1, ptau::G2_BYTES, "betaG2")?;
        let contributions = match s.get(7) {
            Some(b) => record::decode(b)?,
            None => Vec::new(),
        };
        Ok(Powers {
            power,
            ceremony_power,
            tau_g1: ptau::g1s(tau_g1, g1, "tauG1")?,
            tau_g2: ptau::g2s(tau_g2, n, "tauG2")?,
            alpha_tau_g1: ptau::g1s(alpha, n, "alphaTauG1")?,
            beta_tau_g1: ptau::g1s(beta, n, "betaTauG1")?,
            beta_g2: ptau::g2(beta_g2, "betaG2")?,
            contributions,
        })
    }

    /// Writes the `.ptau` file, with the Lagrange sections when `prepared` is given.
    pub fn to_ptau(&self, prepared: Option<&Prepared>) -> Vec<u8> {
        let mut header = Vec::with_capacity(44);
        header.extend(32u32.to_le_bytes());
        header.extend(ptau::modulus_le());
        header.extend(self.power.to_le_bytes());
        header.extend(self.ceremony_power.to_le_bytes());
        let mut sections = vec![
            (1, header),
            (2, ptau::put_g1s(&self.tau_g1)),
            (3, ptau::put_g2s(&self.tau_g2)),
            (4, ptau::put_g1s(&self.alpha_tau_g1)),
            (5, ptau::put_g1s(&self.beta_tau_g1)),
            (6, ptau::put_g2s(&[self.beta_g2])),
            (7, record::encode(&self.contributions)),
        ];
        if let Some(p) = prepared {
            sections.extend(p.sections());
        }
        ptau::write_container(b"ptau", &sections)
    }

    /// The hash that names these powers in phase 2 transcripts (SHA-256 over the five point
    /// sections, as encoded in the file).
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"dossier-ceremony/phase1/powers/v1");
        h.update(self.power.to_le_bytes());
        h.update(ptau::put_g1s(&self.tau_g1));
        h.update(ptau::put_g2s(&self.tau_g2));
        h.update(ptau::put_g1s(&self.alpha_tau_g1));
        h.update(ptau::put_g1s(&self.beta_tau_g1));
        h.update(ptau::put_g2s(&[self.beta_g2]));
        h.finalize().into()
    }

    fn anchor(&self) -> Anchor {
        Anchor {
            tau_g1: self.tau_g1[1],
            tau_g2: self.tau_g2[1],
            alpha_g1: self.alpha_tau_g1[0],
            beta_g1: self.beta_tau_g1[0],
            beta_g2: self.beta_g2,
        }
    }

    /// The blank file's first points (all generators) and the first challenge.
    fn blank(&self) -> (Anchor, Hash) {
        let (g1, g2) = generators();
        let anchor = Anchor {
            tau_g1: g1,
            tau_g2: g2,
            alpha_g1: g1,
            beta_g1: g1,
            beta_g2: g2,
        };
        (anchor, record::first_challenge(self.ceremony_power))
    }

    /// The challenge the next contribution answers.
    fn challenge(&self) -> Hash {
        match self.contributions.last() {
            Some(c) => c.next_challenge,
            None => self.blank().1,
        }
    }

    fn sizes_hold(&self) -> bool {
        let n = 1usize << self.power;
        self.power >= 1
            && self.power <= MAX_POWER
            && self.tau_g1.len() == Self::g1_count(self.power)
            && self.tau_g2.len() == n
            && self.alpha_tau_g1.len() == n
            && self.beta_tau_g1.len() == n
    }

    /// Checks the powers (one batched pairing equation per section) and the chain of this
    /// crate's contributions. Fails with the first check that does not hold; what it returns
    /// is the only way to hand powers to phase 2.
    pub fn verify(&self) -> Result<Verified<'_>, CeremonyError> {
        let fail = |c| Err(CeremonyError::PhaseOne(c));
        if !self.sizes_hold() {
            return Err(CeremonyError::Format {
                field: "powers",
                reason: "section sizes do not match the power",
            });
        }
        let (g1, g2) = generators();
        if self.tau_g1[0] != g1 || self.tau_g2[0] != g2 {
            return fail(Check::Generators);
        }
        let trivial = |p: &G1Affine| p.is_zero() || *p == g1;
        if trivial(&self.tau_g1[1])
            || trivial(&self.alpha_tau_g1[0])
            || trivial(&self.beta_tau_g1[0])
        {
            return fail(Check::Trivial);
        }
        let tau = (g2, self.tau_g2[1]);
        if !successive_g1(&self.tau_g1, tau) {
            return fail(Check::TauG1);
        }
        let n = self.tau_g2.len();
        let rho = weights(n - 1);
        let (a, b) = rayon::join(
            || msm2(&self.tau_g2[..n - 1], &rho),
            || msm2(&self.tau_g2[1..], &rho),
        );
        if !same_ratio((g1, self.tau_g1[1]), (a.into_affine(), b.into_affine())) {
            return fail(Check::TauG2);
        }
        if !successive_g1(&self.alpha_tau_g1, tau) {
            return fail(Check::AlphaTauG1);
        }
        if !successive_g1(&self.beta_tau_g1, tau) {
            return fail(Check::BetaTauG1);
        }
        if !same_ratio((g1, self.beta_tau_g1[0]), (g2, self.beta_g2)) {
            return fail(Check::BetaG2);
        }
        self.verify_contributions()?;
        Ok(Verified { powers: self })
    }

    fn verify_contributions(&self) -> Result<(), CeremonyError> {
        let fail = |c| Err(CeremonyError::PhaseOne(c));
        let Some(last) = self.contributions.last() else {
            return fail(Check::Result);
        };
        let (mut before, mut challenge) = self.blank();
        for (i, c) in self.contributions.iter().enumerate() {
            check_contribution(i + 1, c, &before, &challenge)?;
            before = c.after.clone();
            challenge = c.next_challenge;
        }
        if last.after != self.anchor() {
            return fail(Check::Result);
        }
        // A reduced file (snarkjs's `truncate`) no longer holds what the challenge hashed.
        if self.power == self.ceremony_power
            && record::next_challenge(&last.hash(), self) != last.next_challenge
        {
            return fail(Check::Challenge);
        }
        Ok(())
    }

    /// Multiplies in fresh secrets from `rng` (tau, alpha and beta) and records the
    /// contribution as snarkjs does, with its proofs of knowledge; returns its response hash
    /// (for the contributor to publish). `progress` is told the fraction done. A file snarkjs
    /// reduced cannot be extended (its challenge hashed powers it no longer holds).
    pub fn contribute<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        rng: &mut R,
        progress: &(dyn Fn(f64) + Sync),
    ) -> Result<Hash, CeremonyError> {
        zkey::check_name(name)?;
        if self.power != self.ceremony_power {
            return Err(CeremonyError::Format {
                field: "header",
                reason: "a reduced file cannot be extended",
            });
        }
        let mut secrets = Secrets::random(rng);
        let powers = secrets.tau_powers(self.tau_g1.len());
        progress(0.05);
        scale_g1(&mut self.tau_g1, &powers, Fr::one());
        progress(0.45);
        scale_g2(&mut self.tau_g2, &powers);
        progress(0.75);
        scale_g1(&mut self.alpha_tau_g1, &powers, secrets.alpha);
        scale_g1(&mut self.beta_tau_g1, &powers, secrets.beta);
        self.beta_g2 = (self.beta_g2 * secrets.beta).into_affine();
        progress(0.9);
        let hash = self.record(name, &secrets, rng);
        secrets.zeroize();
        progress(1.0);
        Ok(hash)
    }

    /// Records the contribution that just multiplied in `secrets`.
    fn record<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        secrets: &Secrets,
        rng: &mut R,
    ) -> Hash {
        let challenge = self.challenge();
        let prove = |x: &Fr, secret: Secret, rng: &mut R| {
            Knowledge::prove(x, secret.personalization(), &challenge, rng).0
        };
        let mut c = Contribution {
            name: name.to_owned(),
            after: self.anchor(),
            tau: prove(&secrets.tau, Secret::Tau, rng),
            alpha: prove(&secrets.alpha, Secret::Alpha, rng),
            beta: prove(&secrets.beta, Secret::Beta, rng),
            response: record::response_state(&challenge, self),
            next_challenge: [0; 64],
            beacon: None,
        };
        let hash = c.hash();
        c.next_challenge = record::next_challenge(&hash, self);
        self.contributions.push(c);
        hash
    }

    /// The powers in the Lagrange basis of the domain `2^log`, by an inverse FFT in the
    /// group: `O(n log n)` scalar multiplications, minutes for `2^16` on two cores.
    pub fn lagrange(&self, log: u32) -> Result<Lagrange, CeremonyError> {
        if log > self.power {
            return Err(CeremonyError::PhaseOneTooSmall {
                needed: log,
                have: self.power,
            });
        }
        let n = 1usize << log;
        Ok(Lagrange {
            log,
            tau_g1: ifft_g1(&self.tau_g1[..n]),
            tau_g2: ifft_g2(&self.tau_g2[..n]),
            alpha_tau_g1: ifft_g1(&self.alpha_tau_g1[..n]),
            beta_tau_g1: ifft_g1(&self.beta_tau_g1[..n]),
        })
    }

    /// The H query's basis for a domain `2^log` (the odd points of the G1 Lagrange basis of
    /// the domain twice its size), by an inverse FFT in the group: slow, like [`Powers::lagrange`].
    pub fn h_basis(&self, log: u32) -> Result<Vec<G1Affine>, CeremonyError> {
        if log + 1 > self.power {
            return Err(CeremonyError::PhaseOneTooSmall {
                needed: log + 1,
                have: self.power,
            });
        }
        Ok(odd(&ifft_g1(&self.tau_g1[..2usize << log])))
    }

    /// Every domain's Lagrange basis, as snarkjs's `powersoftau prepare phase2` writes it.
    pub fn prepare(&self, progress: &(dyn Fn(u32) + Sync)) -> Prepared {
        let mut domains = Vec::new();
        for log in 0..=self.power {
            progress(log);
            domains.push(self.lagrange(log).expect("log is within the power"));
        }
        // snarkjs adds one more G1 domain (2^(power+1)), its last power taken as zero.
        let mut padded = self.tau_g1.clone();
        padded.push(G1Affine::zero());
        Prepared {
            domains,
            top_tau_g1: ifft_g1(&padded),
        }
    }

    /// Checks a Lagrange basis against these powers: for random weights `w`,
    /// `sum w_j [L_j] = sum c_k [tau^k]` with `c` the inverse FFT of `w` (field work only).
    pub fn check_lagrange(&self, l: &Lagrange) -> Result<(), CeremonyError> {
        let n = 1usize << l.log;
        let sized = l.tau_g1.len() == n
            && l.tau_g2.len() == n
            && l.alpha_tau_g1.len() == n
            && l.beta_tau_g1.len() == n
            && l.log <= self.power;
        if !sized {
            return Err(CeremonyError::PhaseOne(Check::Lagrange));
        }
        let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("power of two within 2-adicity");
        let w = weights(n);
        let c = domain.ifft(&w);
        let ok = msm1(&l.tau_g1, &w) == msm1(&self.tau_g1[..n], &c)
            && msm2(&l.tau_g2, &w) == msm2(&self.tau_g2[..n], &c)
            && msm1(&l.alpha_tau_g1, &w) == msm1(&self.alpha_tau_g1[..n], &c)
            && msm1(&l.beta_tau_g1, &w) == msm1(&self.beta_tau_g1[..n], &c);
        if ok {
            Ok(())
        } else {
            Err(CeremonyError::PhaseOne(Check::Lagrange))
        }
    }
}

/// The header's power and the ceremony's (snarkjs writes both; a reduced file's is larger).
fn read_header(s: &Sections<'_>) -> Result<(u32, u32), CeremonyError> {
    let mut h = s.require(1, "header")?;
    let n8 = ptau::read_u32(&mut h, "header")?;
    if n8 != 32 {
        return Err(CeremonyError::Format {
            field: "header",
            reason: "not a BN254 file (field size)",
        });
    }
    if ptau::read_bytes(&mut h, 32, "header")? != ptau::modulus_le().as_slice() {
        return Err(CeremonyError::Format {
            field: "header",
            reason: "not a BN254 file (prime)",
        });
    }
    let power = ptau::read_u32(&mut h, "header")?;
    let ceremony_power = ptau::read_u32(&mut h, "header")?;
    if power == 0 {
        return Err(CeremonyError::Format {
            field: "header",
            reason: "power is zero",
        });
    }
    if power > MAX_POWER || ceremony_power > MAX_POWER {
        return Err(too_large(
            "power",
            power.max(ceremony_power).into(),
            MAX_POWER.into(),
        ));
    }
    if ceremony_power < power {
        return Err(CeremonyError::Format {
            field: "header",
            reason: "the ceremony's power is below the file's",
        });
    }
    Ok((power, ceremony_power))
}

/// Checks one record as `snarkjs powersoftau verify` does, against the first points and the
/// challenge the previous record left: a beacon's secrets, the three proofs of knowledge, and
/// that each first point moved by exactly the proven secret.
fn check_contribution(
    number: usize,
    c: &Contribution,
    before: &Anchor,
    challenge: &Hash,
) -> Result<(), CeremonyError> {
    let fail = |c| Err(CeremonyError::PhaseOne(c));
    if let Some(b) = &c.beacon {
        if beacon_key(b, challenge) != [c.tau.clone(), c.alpha.clone(), c.beta.clone()] {
            return fail(Check::Beacon {
                contribution: number,
            });
        }
    }
    let mut points = Vec::with_capacity(3);
    for (secret, k) in [
        (Secret::Tau, &c.tau),
        (Secret::Alpha, &c.alpha),
        (Secret::Beta, &c.beta),
    ] {
        let Some(r) = k.verify(secret.personalization(), challenge) else {
            return fail(Check::Knowledge {
                contribution: number,
                secret: secret.name(),
            });
        };
        points.push((r, k.rx));
    }
    let (tau, alpha, beta) = (points[0], points[1], points[2]);
    let a = &c.after;
    for (point, holds) in [
        ("tauG1", same_ratio((before.tau_g1, a.tau_g1), tau)),
        (
            "tauG2",
            same_ratio((c.tau.s, c.tau.sx), (before.tau_g2, a.tau_g2)),
        ),
        ("alphaG1", same_ratio((before.alpha_g1, a.alpha_g1), alpha)),
        ("betaG1", same_ratio((before.beta_g1, a.beta_g1), beta)),
        (
            "betaG2",
            same_ratio((c.beta.s, c.beta.sx), (before.beta_g2, a.beta_g2)),
        ),
    ] {
        if !holds {
            return fail(Check::Update {
                contribution: number,
                point,
            });
        }
    }
    Ok(())
}

/// The key a beacon derives against a challenge (snarkjs's `keyFromBeacon`): the three secrets
/// drawn first, then each proof's G1 point.
fn beacon_key(b: &Beacon, challenge: &Hash) -> [Knowledge; 3] {
    let mut words = b.words();
    let secrets: [Fr; 3] = [words.field(), words.field(), words.field()];
    let kinds = [Secret::Tau, Secret::Alpha, Secret::Beta];
    // In order: each proof's G1 point is the next draw.
    std::array::from_fn(|i| {
        let (secret, x) = (kinds[i], secrets[i]);
        let s = words.g1();
        let sx = (s * x).into_affine();
        let r = challenge_point(secret.personalization(), challenge, &s, &sx);
        Knowledge {
            s,
            sx,
            rx: (r * x).into_affine(),
        }
    })
}

/// A `.ptau`'s sections, refusing a domain `2^log` beyond its power.
fn sections_for(bytes: &[u8], log: u32) -> Result<Sections<'_>, CeremonyError> {
    let s = Sections::parse(bytes, b"ptau")?;
    let (power, _) = read_header(&s)?;
    if log > power {
        return Err(CeremonyError::PhaseOneTooSmall {
            needed: log,
            have: power,
        });
    }
    Ok(s)
}

/// A point-list decoder of [`ptau`] (`g1s`, `g2s`).
type Decode<T> = fn(&[u8], usize, &'static str) -> Result<Vec<T>, CeremonyError>;

/// Domain `2^log`'s points in a Lagrange section (12-15), decoded: it starts after the
/// `2^log - 1` points of the smaller domains.
fn domain_points<T: Send>(
    section: &[u8],
    log: u32,
    each: usize,
    field: &'static str,
    decode: Decode<T>,
) -> Result<Vec<T>, CeremonyError> {
    let n = 1usize << log;
    let bytes = section
        .get((n - 1) * each..(2 * n - 1) * each)
        .ok_or(CeremonyError::Format {
            field,
            reason: "truncated",
        })?;
    decode(bytes, n, field)
}

/// Reads one domain's Lagrange basis from a prepared `.ptau` (sections 12-15), if present.
pub fn lagrange_from_ptau(bytes: &[u8], log: u32) -> Result<Option<Lagrange>, CeremonyError> {
    let s = sections_for(bytes, log)?;
    let (Some(t1), Some(t2), Some(a1), Some(b1)) = (s.get(12), s.get(13), s.get(14), s.get(15))
    else {
        return Ok(None);
    };
    let g1 = |section, field| domain_points(section, log, ptau::G1_BYTES, field, ptau::g1s);
    Ok(Some(Lagrange {
        log,
        tau_g1: g1(t1, "lagrange tauG1")?,
        tau_g2: domain_points(t2, log, ptau::G2_BYTES, "lagrange tauG2", ptau::g2s)?,
        alpha_tau_g1: g1(a1, "lagrange alphaTauG1")?,
        beta_tau_g1: g1(b1, "lagrange betaTauG1")?,
    }))
}

/// The H query's basis for a domain `2^log` (before delta) from a prepared `.ptau`, if
/// present: the odd points of section 12's domain `2^(log+1)` (snarkjs's `zkey new`).
pub fn h_basis_from_ptau(bytes: &[u8], log: u32) -> Result<Option<Vec<G1Affine>>, CeremonyError> {
    let s = sections_for(bytes, log)?;
    let Some(t1) = s.get(12) else {
        return Ok(None);
    };
    let all = domain_points(t1, log + 1, ptau::G1_BYTES, "lagrange tauG1", ptau::g1s)?;
    Ok(Some(odd(&all)))
}

fn odd(points: &[G1Affine]) -> Vec<G1Affine> {
    points.iter().skip(1).step_by(2).copied().collect()
}

/// Checks a prepared file's Lagrange sections (if it has them) against verified powers, every
/// domain; returns whether there were any.
pub fn check_prepared(bytes: &[u8], powers: Verified<'_>) -> Result<bool, CeremonyError> {
    for log in 0..=powers.power {
        match lagrange_from_ptau(bytes, log)? {
            Some(l) => powers.check_lagrange(&l)?,
            None => return Ok(false),
        }
    }
    Ok(true)
}

/// Every domain's Lagrange basis (snarkjs's sections 12-15).
pub struct Prepared {
    domains: Vec<Lagrange>,
    top_tau_g1: Vec<G1Affine>,
}

impl Prepared {
    fn sections(&self) -> Vec<(u32, Vec<u8>)> {
        let mut t1: Vec<G1Affine> = self.domains.iter().flat_map(|d| d.tau_g1.clone()).collect();
        t1.extend(&self.top_tau_g1);
        let t2: Vec<G2Affine> = self.domains.iter().flat_map(|d| d.tau_g2.clone()).collect();
        let a1: Vec<G1Affine> = self
            .domains
            .iter()
            .flat_map(|d| d.alpha_tau_g1.clone())
            .collect();
        let b1: Vec<G1Affine> = self
            .domains
            .iter()
            .flat_map(|d| d.beta_tau_g1.clone())
            .collect();
        vec![
            (12, ptau::put_g1s(&t1)),
            (13, ptau::put_g2s(&t2)),
            (14, ptau::put_g1s(&a1)),
            (15, ptau::put_g1s(&b1)),
        ]
    }

    /// One domain.
    pub fn domain(&self, log: u32) -> Option<&Lagrange> {
        self.domains.get(log as usize)
    }

    /// The H query's basis for a domain `2^log` (before delta): the odd points of the G1
    /// domain twice its size (for the largest domain, snarkjs's padded top domain).
    pub fn h_basis(&self, log: u32) -> Option<Vec<G1Affine>> {
        let double = log as usize + 1;
        if double < self.domains.len() {
            Some(odd(&self.domains[double].tau_g1))
        } else if double == self.domains.len() {
            Some(odd(&self.top_tau_g1))
        } else {
            None
        }
    }
}

fn ifft_g1(points: &[G1Affine]) -> Vec<G1Affine> {
    let domain =
        Radix2EvaluationDomain::<Fr>::new(points.len()).expect("power of two within 2-adicity");
    let mut v: Vec<G1Projective> = points.iter().map(|p| (*p).into()).collect();
    domain.ifft_in_place(&mut v);
    G1Projective::normalize_batch(&v)
}

fn ifft_g2(points: &[G2Affine]) -> Vec<G2Affine> {
    let domain =
        Radix2EvaluationDomain::<Fr>::new(points.len()).expect("power of two within 2-adicity");
    let mut v: Vec<G2Projective> = points.iter().map(|p| (*p).into()).collect();
    domain.ifft_in_place(&mut v);
    G2Projective::normalize_batch(&v)
}

fn scale_g1(points: &mut [G1Affine], powers: &[Fr], factor: Fr) {
    let scaled: Vec<G1Projective> = points
        .par_iter()
        .zip(powers)
        .map(|(p, s)| mul1(p, *s * factor))
        .collect();
    points.copy_from_slice(&G1Projective::normalize_batch(&scaled));
}

fn scale_g2(points: &mut [G2Affine], powers: &[Fr]) {
    let scaled: Vec<G2Projective> = points
        .par_iter()
        .zip(powers)
        .map(|(p, s)| mul2(p, *s))
        .collect();
    points.copy_from_slice(&G2Projective::normalize_batch(&scaled));
}

/// A contribution's secrets, wiped when dropped.
pub(crate) struct Secrets {
    pub(crate) tau: Fr,
    pub(crate) alpha: Fr,
    pub(crate) beta: Fr,
}

impl Zeroize for Secrets {
    fn zeroize(&mut self) {
        self.tau.zeroize();
        self.alpha.zeroize();
        self.beta.zeroize();
    }
}

impl Drop for Secrets {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl Secrets {
    fn random<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Secrets {
        let nontrivial = |rng: &mut R| loop {
            let x = Fr::rand(rng);
            if !x.is_zero() && !x.is_one() {
                break x;
            }
        };
        Secrets {
            tau: nontrivial(rng),
            alpha: nontrivial(rng),
            beta: nontrivial(rng),
        }
    }

    fn tau_powers(&self, n: usize) -> Vec<Fr> {
        let mut v = Vec::with_capacity(n);
        let mut acc = Fr::one();
        for _ in 0..n {
            v.push(acc);
            acc *= self.tau;
        }
        v
    }
}

/// A single party who makes phase 1 alone from fresh secrets, and while it still holds them
/// can compute phase 2's initial keys by field arithmetic (seconds instead of minutes).
///
/// Whoever runs a dealer knows tau until it is dropped, and tau alone is enough to forge
/// proofs: a dealer's phase 1 is for demonstrations and tests. A deployment imports a public
/// multi-party phase 1 (or extends one with [`Powers::contribute`]).
pub struct Dealer {
    pub(crate) secrets: Secrets,
    powers: Powers,
}

impl Dealer {
    /// Makes powers of tau for `power` from fresh secrets.
    pub fn new<R: rand::RngCore + rand::CryptoRng>(
        power: u32,
        name: &str,
        rng: &mut R,
    ) -> Result<Dealer, CeremonyError> {
        if power == 0 || power > MAX_POWER {
            return Err(too_large("power", power.into(), MAX_POWER.into()));
        }
        zkey::check_name(name)?;
        let secrets = Secrets::random(rng);
        let n = 1usize << power;
        let tau = secrets.tau_powers(Powers::g1_count(power));
        let g1 = BatchMulPreprocessing::new(G1Projective::generator(), tau.len() + 2 * n);
        let g2 = BatchMulPreprocessing::new(G2Projective::generator(), n);
        let scaled = |x: Fr| tau[..n].iter().map(|t| *t * x).collect::<Vec<_>>();
        let mut powers = Powers {
            power,
            ceremony_power: power,
            tau_g1: g1.batch_mul(&tau),
            tau_g2: g2.batch_mul(&tau[..n]),
            alpha_tau_g1: g1.batch_mul(&scaled(secrets.alpha)),
            beta_tau_g1: g1.batch_mul(&scaled(secrets.beta)),
            beta_g2: (G2Projective::generator() * secrets.beta).into_affine(),
            contributions: Vec::new(),
        };
        powers.record(name, &secrets, rng);
        Ok(Dealer { secrets, powers })
    }

    /// Every domain's Lagrange basis, as [`Powers::prepare`] computes it in the group, but by
    /// field arithmetic from the secrets: seconds instead of minutes. snarkjs's padded top
    /// domain drops the missing power `tau^(M-1)` (`M = 2^(power+1)`), whose coefficient in
    /// `L_k` is `w^k / M`.
    pub fn prepare(&self) -> Prepared {
        let s = &self.secrets;
        let power = self.powers.power;
        let total = (1usize << (power + 1)) - 1;
        let g1 = BatchMulPreprocessing::new(G1Projective::generator(), 4 * total + 1);
        let g2 = BatchMulPreprocessing::new(G2Projective::generator(), total);
        let times = |v: &[Fr], x: Fr| v.iter().map(|u| *u * x).collect::<Vec<_>>();
        let domains = (0..=power)
            .map(|log| {
                let domain = Radix2EvaluationDomain::<Fr>::new(1 << log)
                    .expect("power of two within 2-adicity");
                let u = domain.evaluate_all_lagrange_coefficients(s.tau);
                Lagrange {
                    log,
                    tau_g1: g1.batch_mul(&u),
                    tau_g2: g2.batch_mul(&u),
                    alpha_tau_g1: g1.batch_mul(&times(&u, s.alpha)),
                    beta_tau_g1: g1.batch_mul(&times(&u, s.beta)),
                }
            })
            .collect();
        let m = 2usize << power;
        let top = Radix2EvaluationDomain::<Fr>::new(m).expect("power of two within 2-adicity");
        let last = s.tau.pow([(m - 1) as u64]) * Fr::from(m as u64).inverse().expect("m > 0");
        let u: Vec<Fr> = top
            .evaluate_all_lagrange_coefficients(s.tau)
            .into_iter()
            .zip(top.elements())
            .map(|(l, w)| l - w * last)
            .collect();
        Prepared {
            domains,
            top_tau_g1: g1.batch_mul(&u),
        }
    }

    /// The powers made (verified: the dealer made them).
    pub fn powers(&self) -> Verified<'_> {
        Verified {
            powers: &self.powers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::Field;

    fn noop(_: f64) {}

    #[test]
    fn a_dealer_and_two_contributions_verify_and_round_trip_through_ptau() {
        let mut rng = rand::thread_rng();
        let dealer = Dealer::new(4, "dealer", &mut rng).expect("dealer");
        let mut p = Powers::clone(&dealer.powers());
        p.verify().expect("dealer's powers");
        p.contribute("a", &mut rng, &noop).expect("a");
        p.contribute("b", &mut rng, &noop).expect("b");
        p.verify().expect("after two contributions");
        assert_eq!(p.contributions.len(), 3);
        let back = Powers::from_ptau(&p.to_ptau(None)).expect("read back");
        assert_eq!(back, p);
        assert_eq!(back.hash(), p.hash());
    }

    #[test]
    fn broken_powers_and_contributions_are_refused_with_the_failing_check() {
        let mut rng = rand::thread_rng();
        let dealer = Dealer::new(3, "dealer", &mut rng).expect("dealer");
        let mut good = Powers::clone(&dealer.powers());
        good.contribute("a", &mut rng, &noop).expect("a");
        let refused = |p: &Powers| match p.verify() {
            Err(CeremonyError::PhaseOne(c)) => c,
            other => panic!("expected a phase 1 refusal, got {other:?}"),
        };
        let (g1, g2) = generators();
        let twice = |p: &G1Affine| (*p + *p).into_affine();
        let mut p = good.clone();
        p.tau_g1[5] = twice(&p.tau_g1[5]);
        assert_eq!(refused(&p), Check::TauG1, "a broken tauG1 power");
        let mut p = good.clone();
        let last = p.tau_g1.len() - 1;
        p.tau_g1[last] = g1;
        assert_eq!(refused(&p), Check::TauG1, "the last tauG1 power");
        let mut p = good.clone();
        p.tau_g2[3] = (p.tau_g2[3] + p.tau_g2[3]).into_affine();
        assert_eq!(refused(&p), Check::TauG2);
        let mut p = good.clone();
        p.alpha_tau_g1[2] = twice(&p.alpha_tau_g1[2]);
        assert_eq!(refused(&p), Check::AlphaTauG1);
        let mut p = good.clone();
        p.beta_tau_g1[7] = twice(&p.beta_tau_g1[7]);
        assert_eq!(refused(&p), Check::BetaTauG1);
        let mut p = good.clone();
        p.beta_g2 = g2;
        assert_eq!(refused(&p), Check::BetaG2);
        let mut p = good.clone();
        p.tau_g1[0] = twice(&g1);
        assert_eq!(refused(&p), Check::Generators);
        let mut p = good.clone();
        p.contributions[1].tau = p.contributions[0].tau.clone();
        assert!(matches!(
            refused(&p),
            Check::Knowledge {
                contribution: 2,
                secret: "tau"
            }
        ));
        let mut p = good.clone();
        p.contributions.swap(0, 1);
        assert!(
            matches!(
                refused(&p),
                Check::Knowledge {
                    contribution: 1,
                    ..
                }
            ),
            "reordered"
        );
        let mut p = good.clone();
        p.contributions.remove(0);
        assert!(
            matches!(
                refused(&p),
                Check::Knowledge {
                    contribution: 1,
                    ..
                }
            ),
            "missing"
        );
        // A record whose point does not follow from the previous one by its proven secret.
        let mut p = good.clone();
        p.contributions[0].after.beta_g2 = g2;
        assert!(matches!(
            refused(&p),
            Check::Update {
                contribution: 1,
                point: "betaG2"
            }
        ));
        // The last record's next challenge must hash the file's powers.
        let mut p = good.clone();
        p.contributions[1].next_challenge[0] ^= 1;
        assert_eq!(refused(&p), Check::Challenge);
        let mut p = good.clone();
        p.contributions.clear();
        assert_eq!(refused(&p), Check::Result, "no record at all");
        // A reduced file cannot be extended.
        let mut p = good.clone();
        p.ceremony_power += 1;
        assert!(p.contribute("c", &mut rng, &noop).is_err());
        // Powers scaled consistently by a secret nobody proved knowledge of.
        let mut p = good.clone();
        let x = Fr::from(5u64);
        let xs: Vec<Fr> = (0..p.tau_g1.len() as u64).map(|i| x.pow([i])).collect();
        scale_g1(&mut p.tau_g1, &xs, Fr::one());
        scale_g2(&mut p.tau_g2, &xs);
        scale_g1(&mut p.alpha_tau_g1, &xs, Fr::one());
        scale_g1(&mut p.beta_tau_g1, &xs, Fr::one());
        assert_eq!(refused(&p), Check::Result, "an unrecorded contribution");
    }

    #[test]
    fn the_lagrange_basis_is_checked_against_the_powers() {
        let mut rng = rand::thread_rng();
        let dealer = Dealer::new(3, "dealer", &mut rng).expect("dealer");
        let p = dealer.powers();
        let mut l = p.lagrange(3).expect("lagrange");
        p.check_lagrange(&l).expect("computed basis");
        // L_j(tau) in the field, for the dealer who knows tau.
        let domain = Radix2EvaluationDomain::<Fr>::new(8).expect("domain");
        let u = domain.evaluate_all_lagrange_coefficients(dealer.secrets.tau);
        let expected: Vec<G1Affine> = u
            .iter()
            .map(|x| (G1Projective::generator() * x).into_affine())
            .collect();
        assert_eq!(l.tau_g1, expected);
        l.tau_g1.swap(1, 2);
        assert!(p.check_lagrange(&l).is_err());
        let prepared = p.prepare(&|_| {});
        let file = p.to_ptau(Some(&prepared));
        assert_eq!(
            lagrange_from_ptau(&file, 2).expect("read"),
            prepared.domain(2).cloned()
        );
        assert_eq!(lagrange_from_ptau(&p.to_ptau(None), 2).expect("read"), None);
    }

    #[test]
    fn malformed_headers_are_refused() {
        let mut rng = rand::thread_rng();
        let dealer = Dealer::new(2, "d", &mut rng).expect("dealer");
        let p = Powers::clone(&dealer.powers());
        let file = p.to_ptau(None);
        // The header's power sits after magic, version, count, section id and length, n8 and q.
        let at = 12 + 12 + 4 + 32;
        let mut big = file.clone();
        big[at..at + 4].copy_from_slice(&29u32.to_le_bytes());
        assert!(matches!(
            Powers::from_ptau(&big),
            Err(CeremonyError::TooLarge { .. })
        ));
        let mut other = file.clone();
        other[at..at + 4].copy_from_slice(&3u32.to_le_bytes());
        assert!(matches!(
            Powers::from_ptau(&other),
            Err(CeremonyError::Format { .. })
        ));
    }
}
