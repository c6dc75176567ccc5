//! Phase 1: powers of tau, in the snarkjs `.ptau` format.
//!
//! A file holds `[tau^i]G1` for `i < 2^(p+1) - 1`, `[tau^i]G2`, `[alpha tau^i]G1` and
//! `[beta tau^i]G1` for `i < 2^p`, and `[beta]G2`. Sections 1-7 are snarkjs's (header, the five
//! point sections, snarkjs's own contribution records, kept as they were); section
//! [`DOSSIER_CONTRIBUTIONS`] holds contributions made with this crate, each with proofs of
//! knowledge; sections 12-15, when present, the powers in the Lagrange basis of every domain
//! (snarkjs's `prepare phase2` layout), which [`crate::phase2::Transcript::init`] needs.
//!
//! [`Powers::verify`] checks every power against its neighbour with one pairing equation per
//! section (random weights make the batched check as strong as one per point), and our
//! contributions' proofs of knowledge and their chain. snarkjs's own records are counted, not
//! re-checked: their proofs use snarkjs's hash-to-curve (`snarkjs powersoftau verify` checks
//! them); what the keys rely on, that the powers are powers of one tau, is checked here.

use crate::pok::{generators, msm1, msm2, mul1, mul2, same_ratio, weights, Knowledge};
use crate::ptau::{self, Sections};
use crate::CeremonyError;
/// The G1 points bases are made of (re-exported for callers without arkworks).
pub use ark_bn254::G1Affine;
use ark_bn254::{Fr, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{Field, One, UniformRand, Zero};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// The largest power accepted: BN254's scalar field has 2-adicity 28.
pub const MAX_POWER: u32 = 28;
/// The section holding contributions made with this crate.
pub const DOSSIER_CONTRIBUTIONS: u32 = 100;

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
    /// A contribution's proof of knowledge does not hold.
    #[error("contribution {contribution}: the proof of knowledge of {secret} does not hold")]
    Knowledge {
        /// 1-based, among this crate's contributions.
        contribution: usize,
        /// `tau`, `alpha` or `beta`.
        secret: &'static str,
    },
    /// A contribution does not start where the previous one ended.
    #[error("contribution {contribution} does not start from the previous state")]
    Chain {
        /// 1-based.
        contribution: usize,
    },
    /// A contribution's result is not its start times its proven secret.
    #[error("contribution {contribution}: its {secret} update is not the proven secret")]
    Update {
        /// 1-based.
        contribution: usize,
        /// `tau`, `alpha` or `beta`.
        secret: &'static str,
    },
    /// The powers are not the last contribution's result.
    #[error("the powers are not the result of the last contribution")]
    Result,
    /// The Lagrange sections are not the powers in the Lagrange basis.
    #[error("the Lagrange-basis sections do not match the powers")]
    Lagrange,
}

/// The three points a contribution moves: `[tau]G1`, `[alpha]G1`, `[beta]G1`.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Anchor {
    /// `[tau]G1`.
    pub tau_g1: G1Affine,
    /// `[alpha]G1`.
    pub alpha_g1: G1Affine,
    /// `[beta]G1`.
    pub beta_g1: G1Affine,
}

/// One contribution made with this crate.
#[derive(Clone, Debug, PartialEq, Eq, CanonicalSerialize, CanonicalDeserialize)]
pub struct Contribution {
    /// Who contributed (as they named themselves).
    pub name: String,
    /// The state before.
    pub before: Anchor,
    /// The state after.
    pub after: Anchor,
    /// Proofs of knowledge of the three secrets.
    pub tau: Knowledge,
    /// Of alpha.
    pub alpha: Knowledge,
    /// Of beta.
    pub beta: Knowledge,
}

impl Contribution {
    /// The contribution's hash, for its contributor to publish.
    pub fn hash(&self) -> [u8; 32] {
        let mut bytes = Vec::new();
        self.serialize_uncompressed(&mut bytes)
            .expect("serialising to a vector cannot fail");
        Sha256::new()
            .chain_update(b"dossier-ceremony/phase1/contribution/v1")
            .chain_update(bytes)
            .finalize()
            .into()
    }

    fn transcript(previous: &[u8; 32], before: &Anchor, secret: Secret) -> [u8; 32] {
        let mut bytes = Vec::new();
        before
            .serialize_uncompressed(&mut bytes)
            .expect("serialising to a vector cannot fail");
        Sha256::new()
            .chain_update(b"dossier-ceremony/phase1/transcript/v1")
            .chain_update(previous)
            .chain_update(bytes)
            .chain_update(secret.name().as_bytes())
            .finalize()
            .into()
    }
}

/// Powers of tau.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Powers {
    /// log2 of the number of G2 powers.
    pub power: u32,
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
    /// snarkjs's contribution section (7), byte for byte.
    pub snarkjs_history: Vec<u8>,
    /// Contributions made with this crate.
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
        let power = read_header(&s)?;
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
        let contributions = match s.get(DOSSIER_CONTRIBUTIONS) {
            Some(mut b) => {
                Vec::<Contribution>::deserialize_uncompressed(&mut b).map_err(|source| {
                    CeremonyError::Serialization {
                        field: "dossier contributions",
                        source,
                    }
                })?
            }
            None => Vec::new(),
        };
        Ok(Powers {
            power,
            tau_g1: ptau::g1s(tau_g1, g1, "tauG1")?,
            tau_g2: ptau::g2s(tau_g2, n, "tauG2")?,
            alpha_tau_g1: ptau::g1s(alpha, n, "alphaTauG1")?,
            beta_tau_g1: ptau::g1s(beta, n, "betaTauG1")?,
            beta_g2: ptau::g2(beta_g2, "betaG2")?,
            snarkjs_history: s.get(7).unwrap_or(&[0, 0, 0, 0]).to_vec(),
            contributions,
        })
    }

    /// Writes the `.ptau` file, with the Lagrange sections when `prepared` is given.
    pub fn to_ptau(&self, prepared: Option<&Prepared>) -> Vec<u8> {
        let mut header = Vec::with_capacity(44);
        header.extend(32u32.to_le_bytes());
        header.extend(ptau::modulus_le());
        header.extend(self.power.to_le_bytes());
        header.extend(self.power.to_le_bytes());
        let mut ours = Vec::new();
        self.contributions
            .serialize_uncompressed(&mut ours)
            .expect("serialising to a vector cannot fail");
        let mut sections = vec![
            (1, header),
            (2, ptau::put_g1s(&self.tau_g1)),
            (3, ptau::put_g2s(&self.tau_g2)),
            (4, ptau::put_g1s(&self.alpha_tau_g1)),
            (5, ptau::put_g1s(&self.beta_tau_g1)),
            (6, ptau::put_g2s(&[self.beta_g2])),
            (7, self.snarkjs_history.clone()),
        ];
        if let Some(p) = prepared {
            sections.extend(p.sections());
        }
        sections.push((DOSSIER_CONTRIBUTIONS, ours));
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

    /// Contributions recorded by snarkjs in section 7.
    pub fn snarkjs_contributions(&self) -> u32 {
        let mut b = &self.snarkjs_history[..];
        ptau::read_u32(&mut b, "contributions").unwrap_or(0)
    }

    fn anchor(&self) -> Anchor {
        Anchor {
            tau_g1: self.tau_g1[1],
            alpha_g1: self.alpha_tau_g1[0],
            beta_g1: self.beta_tau_g1[0],
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
        let (g1, _) = generators();
        let fresh = Anchor {
            tau_g1: g1,
            alpha_g1: g1,
            beta_g1: g1,
        };
        let mut previous = [0u8; 32];
        for (i, c) in self.contributions.iter().enumerate() {
            let number = i + 1;
            let start_ok = match i {
                0 if self.snarkjs_contributions() == 0 => c.before == fresh,
                0 => true,
                _ => c.before == self.contributions[i - 1].after,
            };
            if !start_ok {
                return fail(Check::Chain {
                    contribution: number,
                });
            }
            for (secret, k, before, after) in [
                (Secret::Tau, &c.tau, c.before.tau_g1, c.after.tau_g1),
                (Secret::Alpha, &c.alpha, c.before.alpha_g1, c.after.alpha_g1),
                (Secret::Beta, &c.beta, c.before.beta_g1, c.after.beta_g1),
            ] {
                let t = Contribution::transcript(&previous, &c.before, secret);
                let Some(r) = k.verify(secret.personalization(), &t) else {
                    return fail(Check::Knowledge {
                        contribution: number,
                        secret: secret.name(),
                    });
                };
                if !same_ratio((before, after), (r, k.rx)) {
                    return fail(Check::Update {
                        contribution: number,
                        secret: secret.name(),
                    });
                }
            }
            previous = c.hash();
        }
        match self.contributions.last() {
            Some(last) if last.after != self.anchor() => fail(Check::Result),
            _ => Ok(()),
        }
    }

    /// Multiplies in fresh secrets from `rng` (tau, alpha and beta), recording the
    /// contribution with its proofs of knowledge. `progress` is told the fraction done.
    pub fn contribute<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        rng: &mut R,
        progress: &(dyn Fn(f64) + Sync),
    ) -> [u8; 32] {
        let mut secrets = Secrets::random(rng);
        let before = self.anchor();
        let powers = secrets.tau_powers(self.tau_g1.len());
        progress(0.05);
        scale_g1(&mut self.tau_g1, &powers, Fr::one());
        progress(0.45);
        scale_g2(&mut self.tau_g2, &powers);
        progress(0.8);
        scale_g1(&mut self.alpha_tau_g1, &powers, secrets.alpha);
        scale_g1(&mut self.beta_tau_g1, &powers, secrets.beta);
        self.beta_g2 = (self.beta_g2 * secrets.beta).into_affine();
        let c = self.record(name, before, &secrets, rng);
        secrets.zeroize();
        progress(1.0);
        c
    }

    fn record<R: rand::RngCore + rand::CryptoRng>(
        &mut self,
        name: &str,
        before: Anchor,
        secrets: &Secrets,
        rng: &mut R,
    ) -> [u8; 32] {
        let previous = self
            .contributions
            .last()
            .map(Contribution::hash)
            .unwrap_or([0; 32]);
        let prove = |x: &Fr, secret: Secret, rng: &mut R| {
            Knowledge::prove(
                x,
                secret.personalization(),
                &Contribution::transcript(&previous, &before, secret),
                rng,
            )
            .0
        };
        let c = Contribution {
            name: name.to_owned(),
            after: self.anchor(),
            tau: prove(&secrets.tau, Secret::Tau, rng),
            alpha: prove(&secrets.alpha, Secret::Alpha, rng),
            beta: prove(&secrets.beta, Secret::Beta, rng),
            before,
        };
        let hash = c.hash();
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

fn read_header(s: &Sections<'_>) -> Result<u32, CeremonyError> {
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
    if power == 0 {
        return Err(CeremonyError::Format {
            field: "header",
            reason: "power is zero",
        });
    }
    if power > MAX_POWER {
        return Err(too_large("power", power.into(), MAX_POWER.into()));
    }
    Ok(power)
}

/// A `.ptau`'s sections, refusing a domain `2^log` beyond its power.
fn sections_for(bytes: &[u8], log: u32) -> Result<Sections<'_>, CeremonyError> {
    let s = Sections::parse(bytes, b"ptau")?;
    let power = read_header(&s)?;
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
        let secrets = Secrets::random(rng);
        let n = 1usize << power;
        let tau = secrets.tau_powers(Powers::g1_count(power));
        let g1 = BatchMulPreprocessing::new(G1Projective::generator(), tau.len() + 2 * n);
        let g2 = BatchMulPreprocessing::new(G2Projective::generator(), n);
        let scaled = |x: Fr| tau[..n].iter().map(|t| *t * x).collect::<Vec<_>>();
        let (g1_gen, _) = generators();
        let mut powers = Powers {
            power,
            tau_g1: g1.batch_mul(&tau),
            tau_g2: g2.batch_mul(&tau[..n]),
            alpha_tau_g1: g1.batch_mul(&scaled(secrets.alpha)),
            beta_tau_g1: g1.batch_mul(&scaled(secrets.beta)),
            beta_g2: (G2Projective::generator() * secrets.beta).into_affine(),
            snarkjs_history: 0u32.to_le_bytes().to_vec(),
            contributions: Vec::new(),
        };
        let fresh = Anchor {
            tau_g1: g1_gen,
            alpha_g1: g1_gen,
            beta_g1: g1_gen,
        };
        powers.record(name, fresh, &secrets, rng);
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
        p.contribute("a", &mut rng, &noop);
        p.contribute("b", &mut rng, &noop);
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
        good.contribute("a", &mut rng, &noop);
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
        assert!(matches!(refused(&p), Check::Chain { contribution: 1 }));
        let mut p = good.clone();
        p.contributions.remove(0);
        assert!(matches!(refused(&p), Check::Chain { contribution: 1 }));
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
