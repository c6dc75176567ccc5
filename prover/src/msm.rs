//! The G1 multi-scalar multiplications of a Groth16 proof, on the fastest backend this CPU has.
//!
//! Four of a proof's five MSMs are in G1 (A, B in G1, H and L). On x86-64 processors with the
//! ADX and BMI2 instructions they run on `halo2curves`' assembly backend, which measured 1.25x
//! faster than arkworks' on our keys and witnesses (BENCHMARKS.md, issue #18); elsewhere (other
//! CPUs, the browser's module) they stay arkworks'. The choice is made at run time, once per
//! key load, so one binary runs on any x86-64 machine.
//!
//! Both crates keep BN254's field elements in Montgomery form over four 64-bit limbs with the
//! same `R = 2^256`, so crossing between them copies limbs: no multiplication, no reduction.
//! Identity points (a key holds them for variables a query does not use) are left out of the
//! converted bases, with their scalars, because `halo2curves`' batched affine additions do not
//! take them; that changes no sum. Tests hold every result equal to arkworks' MSM, on random
//! and on real inputs, identity bases and the scalars 0, 1 and p - 1 included.

use ark_bn254::{Fr, G1Affine, G1Projective};
use ark_ec::VariableBaseMSM;
use ark_ff::PrimeField;
use ark_groth16::ProvingKey;

/// Which implementation runs the G1 MSMs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MsmBackend {
    /// arkworks' `VariableBaseMSM` (every target).
    Arkworks,
    /// `halo2curves`' MSM with its x86-64 assembly field arithmetic (ADX and BMI2).
    Halo2curvesAsm,
}

impl MsmBackend {
    /// The backend's name, as reports print it.
    pub fn name(self) -> &'static str {
        match self {
            MsmBackend::Arkworks => "arkworks",
            MsmBackend::Halo2curvesAsm => "halo2curves-asm",
        }
    }

    /// The fastest backend this CPU runs, unless the environment variable `DOSSIER_MSM` is
    /// `arkworks` (for comparisons of whole processes; both give the same proofs).
    pub fn best() -> MsmBackend {
        let forced = std::env::var_os("DOSSIER_MSM");
        if dossier_core::assembly_arithmetic()
            && forced.as_deref() != Some(std::ffi::OsStr::new("arkworks"))
        {
            MsmBackend::Halo2curvesAsm
        } else {
            MsmBackend::Arkworks
        }
    }
}

/// One of the proving key's G1 queries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    /// `a_query` without its first base (the constant one's, added apart).
    A,
    /// `b_g1_query` without its first base.
    B,
    /// `h_query`.
    H,
    /// `l_query`.
    L,
}

/// A proving key's G1 queries in the form their backend reads, made once per key load.
pub struct G1Queries {
    backend: MsmBackend,
    #[cfg(target_arch = "x86_64")]
    converted: Option<[asm::Bases; 4]>,
}

impl G1Queries {
    /// The queries of `pk` for the fastest backend this CPU runs.
    pub fn best(pk: &ProvingKey<ark_bn254::Bn254>) -> G1Queries {
        G1Queries::for_backend(pk, MsmBackend::best())
    }

    /// The queries of `pk` for `backend`; arkworks' when this CPU cannot run the one asked for.
    pub fn for_backend(pk: &ProvingKey<ark_bn254::Bn254>, backend: MsmBackend) -> G1Queries {
        // Only x86-64 converts the key's bases.
        #[cfg(not(target_arch = "x86_64"))]
        let _ = pk;
        match backend {
            #[cfg(target_arch = "x86_64")]
            MsmBackend::Halo2curvesAsm if dossier_core::assembly_arithmetic() => {
                let ((a, b), (h, l)) = rayon::join(
                    || {
                        rayon::join(
                            || asm::Bases::new(rest(&pk.a_query)),
                            || asm::Bases::new(rest(&pk.b_g1_query)),
                        )
                    },
                    || {
                        rayon::join(
                            || asm::Bases::new(&pk.h_query),
                            || asm::Bases::new(&pk.l_query),
                        )
                    },
                );
                G1Queries {
                    backend,
                    converted: Some([a, b, h, l]),
                }
            }
            _ => G1Queries {
                backend: MsmBackend::Arkworks,
                #[cfg(target_arch = "x86_64")]
                converted: None,
            },
        }
    }

    /// The backend these queries run on.
    pub fn backend(&self) -> MsmBackend {
        self.backend
    }

    /// `sum(scalars[i] * query[i])` over the first `min(query, scalars)` terms; `big` is
    /// `scalars` as canonical integers when the caller has them (arkworks reads those).
    pub fn msm(
        &self,
        pk: &ProvingKey<ark_bn254::Bn254>,
        query: Query,
        scalars: &[Fr],
        big: Option<&[<Fr as PrimeField>::BigInt]>,
    ) -> G1Projective {
        #[cfg(target_arch = "x86_64")]
        if let Some(converted) = &self.converted {
            let at = match query {
                Query::A => 0,
                Query::B => 1,
                Query::H => 2,
                Query::L => 3,
            };
            return converted[at].msm(scalars);
        }
        let bases = match query {
            Query::A => rest(&pk.a_query),
            Query::B => rest(&pk.b_g1_query),
            Query::H => &pk.h_query[..],
            Query::L => &pk.l_query[..],
        };
        match big {
            Some(big) => arkworks(bases, big),
            None => {
                let big: Vec<_> = scalars.iter().map(|x| x.into_bigint()).collect();
                arkworks(bases, &big)
            }
        }
    }
}

/// A query without its first base.
fn rest(query: &[G1Affine]) -> &[G1Affine] {
    query.get(1..).unwrap_or_default()
}

/// arkworks' MSM over the first `min(bases, scalars)` terms.
pub fn arkworks<G: VariableBaseMSM<ScalarField = Fr>>(
    bases: &[G::MulBase],
    scalars: &[<Fr as PrimeField>::BigInt],
) -> G {
    let n = bases.len().min(scalars.len());
    let (bases, scalars) = (&bases[..n], &scalars[..n]);
    #[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
    {
        use rayon::prelude::*;
        /// Below this, a part's fixed costs (its buckets) outweigh the split.
        const SMALLEST_PART: usize = 1 << 10;
        let parts = rayon::current_num_threads().min(n / SMALLEST_PART);
        if parts > 1 {
            let size = n.div_ceil(parts);
            return bases
                .par_chunks(size)
                .zip(scalars.par_chunks(size))
                .map(|(b, s)| G::msm_bigint(b, s))
                .reduce(G::zero, |x, y| x + y);
        }
    }
    G::msm_bigint(bases, scalars)
}

#[cfg(target_arch = "x86_64")]
mod asm {
    //! `halo2curves`' MSM, its operands crossed over from arkworks' limb for limb.

    use ark_bn254::{Fq, Fr, G1Affine, G1Projective};
    use ark_ec::AffineRepr;
    use halo2curves::bn256;
    use halo2curves::group::prime::PrimeCurveAffine;
    use halo2curves::group::Curve;
    use halo2curves::serde::SerdeObject;
    use rayon::prelude::*;

    /// Four Montgomery limbs as the 32 little-endian bytes `halo2curves` reads them from.
    fn limb_bytes(limbs: &[u64; 4]) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(limbs) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    fn limbs(bytes: &[u8]) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (limb, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            *limb = u64::from_le_bytes(w);
        }
        out
    }

    fn fq(x: &Fq) -> bn256::Fq {
        bn256::Fq::from_raw_bytes_unchecked(&limb_bytes(&x.0 .0))
    }

    pub(super) fn fr(x: &Fr) -> bn256::Fr {
        bn256::Fr::from_raw_bytes_unchecked(&limb_bytes(&x.0 .0))
    }

    /// A point in `halo2curves`' form; `None` for the identity.
    pub(super) fn g1(p: &G1Affine) -> Option<bn256::G1Affine> {
        let (x, y) = p.xy()?;
        Some(bn256::G1Affine {
            x: fq(&x),
            y: fq(&y),
        })
    }

    fn back_fq(x: &bn256::Fq) -> Fq {
        Fq::new_unchecked(ark_ff::BigInt(limbs(&x.to_raw_bytes())))
    }

    /// A point back in arkworks' form.
    pub(super) fn back(p: &bn256::G1) -> G1Projective {
        let a = p.to_affine();
        if bool::from(a.is_identity()) {
            return G1Projective::default();
        }
        G1Affine::new_unchecked(back_fq(&a.x), back_fq(&a.y)).into()
    }

    /// A query's bases without its identity points, and where each sits in the query.
    pub struct Bases {
        bases: Vec<bn256::G1Affine>,
        at: Vec<u32>,
    }

    impl Bases {
        pub fn new(query: &[G1Affine]) -> Bases {
            // A copy of limbs a point: one pass, no parallel collection (whose bookkeeping
            // costs more than the copies).
            let mut bases = Vec::with_capacity(query.len());
            let mut at = Vec::with_capacity(query.len());
            for (i, p) in query.iter().enumerate() {
                if let Some(point) = g1(p) {
                    bases.push(point);
                    at.push(i as u32);
                }
            }
            Bases { bases, at }
        }

        /// The MSM of the scalars at the kept positions below `scalars.len()`.
        pub fn msm(&self, scalars: &[Fr]) -> G1Projective {
            let n = self.at.partition_point(|&i| (i as usize) < scalars.len());
            let picked: Vec<bn256::Fr> = self.at[..n]
                .par_iter()
                .map(|&i| fr(&scalars[i as usize]))
                .collect();
            back(&halo2curves::msm::msm_best(&picked, &self.bases[..n]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Bn254;
    use ark_ec::{AffineRepr, CurveGroup};
    use ark_ff::{UniformRand, Zero};
    use ark_std::rand::SeedableRng;

    /// A key whose G1 queries are `points` (the rest empty): enough for the MSMs.
    fn key(points: Vec<G1Affine>) -> ProvingKey<Bn254> {
        ProvingKey::<Bn254> {
            vk: ark_groth16::VerifyingKey::default(),
            beta_g1: G1Affine::zero(),
            delta_g1: G1Affine::zero(),
            a_query: points.clone(),
            b_g1_query: points.clone(),
            b_g2_query: Vec::new(),
            h_query: points.clone(),
            l_query: points,
        }
    }

    /// Whether this CPU runs halo2curves' assembly; if not, says so where `cargo test` shows it
    /// (what follows is then skipped or compares arkworks with itself) and fails under CI,
    /// whose machines have the instructions.
    fn assembly_or_skipped() -> bool {
        let runs = dossier_core::assembly_arithmetic();
        if !runs {
            eprintln!("SKIPPED: this CPU lacks ADX/BMI2; halo2curves' backend not compared");
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the comparison"
            );
        }
        runs
    }

    fn both(pk: &ProvingKey<Bn254>) -> (G1Queries, G1Queries) {
        assembly_or_skipped();
        (
            G1Queries::for_backend(pk, MsmBackend::Arkworks),
            G1Queries::for_backend(pk, MsmBackend::Halo2curvesAsm),
        )
    }

    fn check(pk: &ProvingKey<Bn254>, scalars: &[Fr]) {
        let (slow, fast) = both(pk);
        for query in [Query::A, Query::B, Query::H, Query::L] {
            let expected = slow.msm(pk, query, scalars, None).into_affine();
            let got = fast.msm(pk, query, scalars, None).into_affine();
            assert_eq!(got, expected, "{query:?} over {} scalars", scalars.len());
        }
    }

    fn random_points(n: usize, rng: &mut impl ark_std::rand::Rng) -> Vec<G1Affine> {
        (0..n)
            .map(|_| G1Projective::rand(rng).into_affine())
            .collect()
    }

    #[test]
    fn random_bases_and_scalars_give_arkworks_sum() {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(18);
        for n in [1usize, 2, 3, 31, 32, 33, 1000, 5000] {
            let pk = key(random_points(n, &mut rng));
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
            check(&pk, &scalars);
        }
    }

    #[test]
    fn bits_small_integers_zero_one_and_p_minus_one_give_arkworks_sum() {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(19);
        let n = 3000;
        let pk = key(random_points(n, &mut rng));
        let p_minus_one = -Fr::from(1u64);
        let scalars: Vec<Fr> = (0..n)
            .map(|i| match i % 6 {
                0 => Fr::zero(),
                1 => Fr::from(1u64),
                2 => p_minus_one,
                3 => Fr::from(u64::MAX),
                4 => Fr::from(u128::MAX) + Fr::from(1u64), // 2^128, past 64 bits
                _ => Fr::from(i as u64 % 256),
            })
            .collect();
        check(&pk, &scalars);
        // All zero: the identity comes back as arkworks' identity.
        check(&pk, &vec![Fr::zero(); n]);
    }

    #[test]
    fn identity_bases_repeated_bases_and_short_scalars_give_arkworks_sum() {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(20);
        let mut points = random_points(400, &mut rng);
        for i in (0..400).step_by(3) {
            points[i] = G1Affine::zero();
        }
        // A base repeated, and one with its negation beside it (aliasing in the buckets).
        points[10] = points[11];
        points[20] = -points[21];
        points[0] = G1Affine::zero();
        let pk = key(points);
        let scalars: Vec<Fr> = (0..400).map(|_| Fr::rand(&mut rng)).collect();
        check(&pk, &scalars);
        // Fewer scalars than bases (H's coefficients against its query): the first terms.
        check(&pk, &scalars[..123]);
        check(&pk, &[]);
        // Every base the identity.
        check(&key(vec![G1Affine::zero(); 50]), &scalars[..50]);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn a_point_crosses_over_and_back_unchanged() {
        use halo2curves::CurveAffine;
        // The arithmetic below is the assembly's.
        if !assembly_or_skipped() {
            return;
        }
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(21);
        for p in random_points(50, &mut rng) {
            let q = asm::g1(&p).expect("not the identity");
            assert!(
                bool::from(q.is_on_curve()),
                "the limbs carry the same point"
            );
            assert_eq!(asm::back(&q.into()).into_affine(), p);
        }
        assert!(asm::g1(&G1Affine::zero()).is_none());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn scalars_cross_over_as_the_same_integers() {
        use halo2curves::ff::PrimeField as _;
        // The arithmetic below is the assembly's.
        if !assembly_or_skipped() {
            return;
        }
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(22);
        let mut xs: Vec<Fr> = (0..50).map(|_| Fr::rand(&mut rng)).collect();
        xs.extend([Fr::zero(), Fr::from(1u64), -Fr::from(1u64)]);
        for x in xs {
            let repr = asm::fr(&x).to_repr();
            let canonical = ark_ff::BigInteger::to_bytes_le(&x.into_bigint());
            assert_eq!(repr.as_ref(), canonical.as_slice());
        }
    }
}
