//! The second field: values and hashes of the halo2 backend, which proves over the Pallas base
//! field `Fp` (IPA commitments on Vesta, no trusted setup).
//!
//! Every BN254 scalar is below Pallas's modulus (r ≈ 0x3064… < p ≈ 0x4000…), so every encoded
//! value, string hash, challenge and scope carries over unchanged ([`from_fr`]). Hashes do not:
//! the halo2 backend uses Poseidon `P128Pow5T3` over `Fp` (width 3, rate 2; zcash's parameters,
//! checked against their test vectors), the permutation `halo2_gadgets` proves cheaply. So the
//! halo2 world has its own holder commitment, credential commitment, registry tree, nullifier and
//! query hash, each defined here once and recomputed inside the circuit.
//!
//! Text form: `0x` and 64 hex digits, big-endian, below the Pallas modulus (a value `>= p` is
//! refused, never reduced).

use crate::{field, CoreError, Fr};
use ff::{Field, PrimeField};
use halo2_poseidon::{P128Pow5T3, Spec};
use std::sync::OnceLock;

pub use pasta_curves::pallas::Base as Fp;

/// The permutation's constants, from zcash's (as `halo2_poseidon` publishes them), rearranged
/// once for the partial rounds' sparse form (see [`sparse_form`]).
struct Constants<F> {
    /// The MDS matrix.
    mds: [[F; 3]; 3],
    /// The first four full rounds' constants.
    first: [[F; 3]; 4],
    /// The partial rounds in their sparse form.
    partial: Vec<PartialRound<F>>,
    /// The 2x2 block the partial rounds leave to apply to the last two words.
    hat: [[F; 2]; 2],
    /// The last four full rounds' constants (the first carrying the partial rounds' folded
    /// constants).
    last: [[F; 3]; 4],
}

/// A partial round: the constant added to the S-box word, then the round's sparse matrix (its
/// top row `a00`, `a01`, and `v` below it in the first column; the identity elsewhere).
struct PartialRound<F> {
    constant: F,
    a00: F,
    a01: [F; 2],
    v: [F; 2],
}

fn constants() -> &'static Constants<Fp> {
    static CONSTANTS: OnceLock<Constants<Fp>> = OnceLock::new();
    CONSTANTS.get_or_init(|| {
        let (rounds, mds, _) = <P128Pow5T3 as Spec<Fp, 3, 2>>::constants();
        sparse_form(&rounds, mds)
    })
}

fn mat2_mul(a: &[[Fp; 2]; 2], b: &[[Fp; 2]; 2]) -> [[Fp; 2]; 2] {
    [
        [
            a[0][0] * b[0][0] + a[0][1] * b[1][0],
            a[0][0] * b[0][1] + a[0][1] * b[1][1],
        ],
        [
            a[1][0] * b[0][0] + a[1][1] * b[1][0],
            a[1][0] * b[0][1] + a[1][1] * b[1][1],
        ],
    ]
}

/// The partial rounds rewritten in the Poseidon paper's optimized form (appendix B), which
/// computes the same permutation with fewer multiplications:
///
/// 1. A partial round's S-box touches word 0 only, so the constants it adds to words 1 and 2
///    pass through linearly: they are carried forward (through the MDS matrix) into the next
///    round's constants, and out of the last partial round into the first of the last full
///    rounds.
/// 2. The MDS matrix `M = [[m00, m01], [m10, M^]]` (blocks of 1 and 2) factors as `M' M''` with
///    `M' = diag(1, M^)` and `M'' = [[m00, m01], [M^⁻¹ m10, I]]`. `M'` leaves word 0 alone and
///    mixes only words 1 and 2, so it commutes with the partial round's S-box and with adding a
///    constant to word 0: it is deferred into the next round's matrix (`M M'`, factored again),
///    and the last partial round's is applied once at the end. Each partial round then costs
///    the sparse `M''` (five multiplications) instead of `M` (nine).
fn sparse_form(rounds: &[[Fp; 3]], m: [[Fp; 3]; 3]) -> Constants<Fp> {
    let half = FULL_ROUNDS / 2;
    let mut first = [[Fp::ZERO; 3]; 4];
    first.copy_from_slice(&rounds[..half]);
    let mut last = [[Fp::ZERO; 3]; 4];
    last.copy_from_slice(&rounds[half + PARTIAL_ROUNDS..]);
    let m_hat = [[m[1][1], m[1][2]], [m[2][1], m[2][2]]];
    let mut carry = [Fp::ZERO; 3];
    let mut hat = [[Fp::ONE, Fp::ZERO], [Fp::ZERO, Fp::ONE]];
    let mut partial = Vec::with_capacity(PARTIAL_ROUNDS);
    for rc in &rounds[half..half + PARTIAL_ROUNDS] {
        let c = [rc[0] + carry[0], rc[1] + carry[1], rc[2] + carry[2]];
        carry = mds(&m, [Fp::ZERO, c[1], c[2]]);
        // This round's matrix is M times the deferred diag(1, hat).
        let a01 = [
            m[0][1] * hat[0][0] + m[0][2] * hat[1][0],
            m[0][1] * hat[0][1] + m[0][2] * hat[1][1],
        ];
        let a_hat = mat2_mul(&m_hat, &hat);
        let det = a_hat[0][0] * a_hat[1][1] - a_hat[0][1] * a_hat[1][0];
        // The blocks of an MDS matrix, and their powers, are invertible (the equality tests
        // against the reference would fail otherwise).
        let inv_det = Option::<Fp>::from(det.invert()).unwrap_or(Fp::ZERO);
        let a10 = [m[1][0], m[2][0]];
        let v = [
            (a_hat[1][1] * a10[0] - a_hat[0][1] * a10[1]) * inv_det,
            (a_hat[0][0] * a10[1] - a_hat[1][0] * a10[0]) * inv_det,
        ];
        partial.push(PartialRound {
            constant: c[0],
            a00: m[0][0],
            a01,
            v,
        });
        hat = a_hat;
    }
    for (l, c) in last[0].iter_mut().zip(carry) {
        *l += c;
    }
    Constants {
        mds: m,
        first,
        partial,
        hat,
        last,
    }
}

const FULL_ROUNDS: usize = 8;
const PARTIAL_ROUNDS: usize = 56;

/// What the permutation needs of a representation of the Pallas base field (two crates give
/// one, on different versions of `ff`).
trait Arithmetic: Copy + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {
    fn squared(self) -> Self;
}

impl Arithmetic for Fp {
    #[inline(always)]
    fn squared(self) -> Self {
        self.square()
    }
}

/// `x^5` with two squarings and a multiplication.
#[inline(always)]
fn sbox<F: Arithmetic>(x: F) -> F {
    let x2 = x.squared();
    x2.squared() * x
}

#[inline(always)]
fn mds<F: Arithmetic>(m: &[[F; 3]; 3], s: [F; 3]) -> [F; 3] {
    [
        m[0][0] * s[0] + m[0][1] * s[1] + m[0][2] * s[2],
        m[1][0] * s[0] + m[1][1] * s[1] + m[1][2] * s[2],
        m[2][0] * s[0] + m[2][1] * s[1] + m[2][2] * s[2],
    ]
}

/// Poseidon `P128Pow5T3` over `Fp`: 4 full rounds, 56 partial, 4 full. The same permutation as
/// `halo2_poseidon`'s (checked against it on random states and against zcash's vectors), with
/// the partial rounds in their sparse form ([`sparse_form`]), the constants read once, and
/// `x^5` by two squarings: issuance hashes every credential's twin commitment and tree nodes.
///
/// On x86-64 processors with ADX and BMI2 the arithmetic runs on `halo2curves`' Pallas base
/// field, the same field with assembly multiplication ([`fast`]); elsewhere on `pasta_curves`'.
pub fn permute(state: &mut [Fp; 3]) {
    #[cfg(target_arch = "x86_64")]
    if crate::assembly_arithmetic() {
        return fast::permute(state);
    }
    permute_with(constants(), state);
}

/// The permutation over any representation of the Pallas base field.
#[inline(always)]
fn permute_with<F: Arithmetic>(c: &Constants<F>, state: &mut [F; 3]) {
    let mut s = *state;
    for rc in &c.first {
        s = mds(
            &c.mds,
            [sbox(s[0] + rc[0]), sbox(s[1] + rc[1]), sbox(s[2] + rc[2])],
        );
    }
    for r in &c.partial {
        let x0 = sbox(s[0] + r.constant);
        s = [
            r.a00 * x0 + r.a01[0] * s[1] + r.a01[1] * s[2],
            r.v[0] * x0 + s[1],
            r.v[1] * x0 + s[2],
        ];
    }
    let h = &c.hat;
    s = [
        s[0],
        h[0][0] * s[1] + h[0][1] * s[2],
        h[1][0] * s[1] + h[1][1] * s[2],
    ];
    for rc in &c.last {
        s = mds(
            &c.mds,
            [sbox(s[0] + rc[0]), sbox(s[1] + rc[1]), sbox(s[2] + rc[2])],
        );
    }
    *state = s;
}

/// The permutation on `halo2curves`' Pallas base field (assembly multiplication). Values cross
/// over by their canonical bytes, both ways; the constants once.
#[cfg(target_arch = "x86_64")]
mod fast {
    use super::{constants, permute_with, Arithmetic, Constants, Fp, PartialRound};
    use halo2curves::pasta::Fp as AsmFp;
    use std::sync::OnceLock;

    impl Arithmetic for AsmFp {
        #[inline(always)]
        fn squared(self) -> Self {
            halo2curves::ff::Field::square(&self)
        }
    }

    pub(super) fn to_asm(x: &Fp) -> AsmFp {
        use halo2curves::ff::PrimeField;
        let mut repr = <AsmFp as PrimeField>::Repr::default();
        repr.as_mut()
            .copy_from_slice(ff::PrimeField::to_repr(x).as_ref());
        // The same modulus: a canonical value of one is canonical in the other.
        Option::from(AsmFp::from_repr(repr)).unwrap_or_default()
    }

    pub(super) fn from_asm(x: &AsmFp) -> Fp {
        use ff::PrimeField;
        let mut repr = <Fp as PrimeField>::Repr::default();
        repr.as_mut()
            .copy_from_slice(halo2curves::ff::PrimeField::to_repr(x).as_ref());
        Option::from(Fp::from_repr(repr)).unwrap_or_default()
    }

    fn constants_asm() -> &'static Constants<AsmFp> {
        static CONSTANTS: OnceLock<Constants<AsmFp>> = OnceLock::new();
        CONSTANTS.get_or_init(|| {
            let c = constants();
            let row = |r: &[Fp; 3]| r.each_ref().map(to_asm);
            let pair = |r: &[Fp; 2]| r.each_ref().map(to_asm);
            Constants {
                mds: c.mds.each_ref().map(row),
                first: c.first.each_ref().map(row),
                partial: c
                    .partial
                    .iter()
                    .map(|p| PartialRound {
                        constant: to_asm(&p.constant),
                        a00: to_asm(&p.a00),
                        a01: pair(&p.a01),
                        v: pair(&p.v),
                    })
                    .collect(),
                hat: c.hat.each_ref().map(pair),
                last: c.last.each_ref().map(row),
            }
        })
    }

    pub fn permute(state: &mut [Fp; 3]) {
        let mut s = state.each_ref().map(to_asm);
        permute_with(constants_asm(), &mut s);
        *state = s.each_ref().map(from_asm);
    }
}

/// Poseidon of `L >= 1` elements in zcash's constant-length domain (`ConstantLength<L>`: the
/// capacity element `L * 2^64`, the message zero-padded to a multiple of the rate 2, the first
/// state word after the last absorption), as `halo2_poseidon::Hash` computes it.
pub fn hash<const L: usize>(message: [Fp; L]) -> Fp {
    const { assert!(L > 0, "Poseidon of no elements is not defined here") };
    let mut state = [Fp::ZERO, Fp::ZERO, Fp::from_u128((L as u128) << 64)];
    for pair in message.chunks(2) {
        state[0] += pair[0];
        if let Some(x) = pair.get(1) {
            state[1] += x;
        }
        permute(&mut state);
    }
    state[0]
}

/// A registry tree node from its two children.
pub fn node(left: Fp, right: Fp) -> Fp {
    hash([left, right])
}

/// How many elements each link of a chained hash absorbs besides the chain value.
pub const CHUNK: usize = 11;

/// Hashes a list the way the query hash is computed: `h = Poseidon₁₂([len, x0..x10])`, then
/// `h = Poseidon₁₂([h, next 11])` until all are absorbed, the last chunk padded with zeros (the
/// length prefix makes the padding unambiguous). The same chaining as the BN254 query hash.
pub fn hash_elements(xs: &[Fp]) -> Fp {
    let mut chunks = xs.chunks(CHUNK);
    let mut h = Fp::from(xs.len() as u64);
    let mut first = true;
    loop {
        let chunk = chunks.next();
        if chunk.is_none() && !first {
            return h;
        }
        let mut block = [Fp::zero(); CHUNK + 1];
        block[0] = h;
        for (b, x) in block[1..].iter_mut().zip(chunk.unwrap_or(&[])) {
            *b = *x;
        }
        h = hash(block);
        first = false;
    }
}

/// A BN254 scalar as a Pallas base field element (always canonical: r < p).
pub fn from_fr(x: &Fr) -> Fp {
    let mut le = field::to_be_bytes(x);
    le.reverse();
    // r < p, so every BN254 scalar is a canonical Pallas element.
    Fp::from_repr(le).unwrap_or(Fp::zero())
}

/// The 32-byte big-endian encoding.
pub fn to_be_bytes(x: &Fp) -> [u8; 32] {
    let mut b = x.to_repr();
    b.reverse();
    b
}

/// Writes `x` as `0x` and 64 lower-case hex digits (big-endian).
pub fn to_hex(x: &Fp) -> String {
    format!("0x{}", hex::encode(to_be_bytes(x)))
}

/// Reads a 32-byte big-endian value, refusing one that is not below the modulus.
pub fn from_be_bytes(what: &str, bytes: &[u8; 32]) -> Result<Fp, CoreError> {
    let mut le = *bytes;
    le.reverse();
    Option::<Fp>::from(Fp::from_repr(le)).ok_or_else(|| CoreError::NonCanonical {
        what: what.to_string(),
    })
}

/// Parses `0x` and 64 hex digits. `what` names the value in errors.
pub fn parse(what: &str, s: &str) -> Result<Fp, CoreError> {
    let h = s
        .strip_prefix("0x")
        .filter(|h| h.len() == 64)
        .ok_or_else(|| CoreError::Malformed {
            what: what.to_string(),
            reason: "expected 0x and 64 hex digits".into(),
        })?;
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(h, &mut bytes).map_err(|_| CoreError::Malformed {
        what: what.to_string(),
        reason: "expected 0x and 64 hex digits".into(),
    })?;
    from_be_bytes(what, &bytes)
}

/// The roots of empty subtrees, level 0 (an empty leaf, zero) up to `depth`.
pub fn empty_roots(depth: usize) -> Vec<Fp> {
    let mut out = vec![Fp::zero()];
    for i in 0..depth {
        out.push(node(out[i], out[i]));
    }
    out
}

/// The root reached from `leaf` at position `index` through `siblings`, lowest level first
/// (bit `i` of `index` set: the node at level `i` is a right child).
pub fn root_from_path(leaf: Fp, index: u32, siblings: &[Fp]) -> Fp {
    siblings.iter().enumerate().fold(leaf, |cur, (level, sib)| {
        if (index >> level) & 1 == 1 {
            node(*sib, cur)
        } else {
            node(cur, *sib)
        }
    })
}

/// Serde as the `0x` text form.
pub mod serde_hex {
    use super::{parse, to_hex, Fp};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the text form.
    pub fn serialize<S: Serializer>(x: &Fp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(x))
    }

    /// Reads the text form, refusing non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fp, D::Error> {
        let s = String::deserialize(d)?;
        parse("field element", &s).map_err(serde::de::Error::custom)
    }
}

/// Serde of a list as `0x` text forms.
pub mod serde_hex_vec {
    use super::{parse, to_hex, Fp};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the text forms.
    pub fn serialize<S: Serializer>(v: &[Fp], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(to_hex))
    }

    /// Reads the text forms, refusing non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fp>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| parse("field element", s).map_err(serde::de::Error::custom))
            .collect()
    }
}

/// Serde of an optional element as the `0x` text form (absent: `None`).
pub mod serde_hex_opt {
    use super::{parse, to_hex, Fp};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the text form.
    pub fn serialize<S: Serializer>(x: &Option<Fp>, s: S) -> Result<S::Ok, S::Error> {
        match x {
            Some(x) => s.serialize_str(&to_hex(x)),
            None => s.serialize_none(),
        }
    }

    /// Reads the text form, refusing non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fp>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| parse("field element", &s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(hex_le: &str) -> Fp {
        let mut repr = [0u8; 32];
        hex::decode_to_slice(hex_le, &mut repr).expect("hex");
        Option::from(Fp::from_repr(repr)).expect("canonical")
    }

    /// zcash's permutation and hash vectors (`fixtures/pasta-poseidon/vectors.json`).
    #[test]
    fn the_permutation_and_hash_match_zcash_vectors() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../fixtures/pasta-poseidon/vectors.json"))
                .expect("json");
        let list = |k: &str| vectors[k].as_array().expect("list").clone();
        let three = |v: &serde_json::Value| -> [Fp; 3] {
            let e: Vec<Fp> = v
                .as_array()
                .expect("state")
                .iter()
                .map(|x| element(x.as_str().expect("hex")))
                .collect();
            [e[0], e[1], e[2]]
        };
        assert_eq!(list("permute").len(), 11);
        for v in list("permute") {
            let mut state = three(&v["initial_state"]);
            permute(&mut state);
            assert_eq!(state, three(&v["final_state"]));
            // The portable arithmetic too, whichever `permute` chose on this CPU.
            let mut portable = three(&v["initial_state"]);
            permute_with(constants(), &mut portable);
            assert_eq!(portable, three(&v["final_state"]));
        }
        assert_eq!(list("hash").len(), 11);
        for v in list("hash") {
            let input = &v["input"];
            let message = [0, 1].map(|i| element(input[i].as_str().expect("hex")));
            assert_eq!(hash(message), element(v["output"].as_str().expect("hex")));
        }
    }

    /// The assembly arithmetic and the portable one give the same permutation, on random states
    /// and on 0, 1 and p - 1 in every word; values cross over unchanged.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_assembly_field_permutes_as_the_portable_one() {
        if !crate::assembly_arithmetic() {
            eprintln!("SKIPPED: this CPU lacks ADX/BMI2; halo2curves' Pallas field not compared");
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must run the comparison"
            );
            return;
        }
        let random = || {
            use ff::FromUniformBytes;
            let wide: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
            Fp::from_uniform_bytes(&wide.try_into().expect("64 bytes"))
        };
        let edges = [Fp::ZERO, Fp::ONE, -Fp::ONE];
        let mut states: Vec<[Fp; 3]> = (0..200).map(|_| [0; 3].map(|_| random())).collect();
        for a in edges {
            for b in edges {
                for c in edges {
                    states.push([a, b, c]);
                }
            }
        }
        for state in states {
            for x in state {
                assert_eq!(fast::from_asm(&fast::to_asm(&x)), x);
            }
            let (mut portable, mut asm) = (state, state);
            permute_with(constants(), &mut portable);
            fast::permute(&mut asm);
            assert_eq!(asm, portable);
        }
    }

    /// The reference crate's hash on random messages of every length dossier hashes.
    #[test]
    fn agrees_with_halo2_poseidon() {
        use halo2_poseidon::{ConstantLength, Hash};
        fn reference<const L: usize>(m: [Fp; L]) -> Fp {
            Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>::init().hash(m)
        }
        let random = || {
            use ff::FromUniformBytes;
            let wide: Vec<u8> = (0..64).map(|_| rand::random::<u8>()).collect();
            Fp::from_uniform_bytes(&wide.try_into().expect("64 bytes"))
        };
        for _ in 0..20 {
            let m: [Fp; 12] = std::array::from_fn(|_| random());
            assert_eq!(hash(m), reference(m));
            assert_eq!(hash([m[0]]), reference([m[0]]));
            assert_eq!(hash([m[0], m[1]]), reference([m[0], m[1]]));
            assert_eq!(hash([m[0], m[1], m[2]]), reference([m[0], m[1], m[2]]));
            let top: [Fp; 12] = [-Fp::ONE; 12];
            assert_eq!(hash(top), reference(top), "p-1 everywhere");
            assert_eq!(hash([Fp::ZERO; 12]), reference([Fp::ZERO; 12]));
        }
    }

    #[test]
    fn matches_the_zcash_test_vector() {
        // zcash-test-vectors orchard_poseidon/hash/fp.py, first vector: hash(0, 1); the
        // little-endian representation.
        let got = hash([Fp::from(0), Fp::from(1)]).to_repr();
        assert_eq!(
            hex::encode(got),
            "8358d711a0329d38becd54fba7c283ed3e089a39c91b6a9d10efb02bc3f12f06"
        );
        assert_eq!(
            to_hex(&hash([Fp::from(0), Fp::from(1)])),
            "0x062ff1c32bb0ef109d6a1bc9399a083eed83c2a7fb54cdbe389d32a011d75883",
            "docs/encoding.md's text form of the vector"
        );
        assert_ne!(
            hash([Fp::from(1), Fp::from(0)]),
            hash([Fp::from(0), Fp::from(1)])
        );
    }

    #[test]
    fn text_form_round_trips_and_refuses_non_canonical() {
        let x = hash([Fp::from(7)]);
        assert_eq!(parse("x", &to_hex(&x)).expect("parses"), x);
        let p_minus_1 = -Fp::ONE;
        assert_eq!(parse("x", &to_hex(&p_minus_1)).expect("p - 1"), p_minus_1);
        // p itself: 0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001.
        let p = "0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001";
        assert!(matches!(parse("x", p), Err(CoreError::NonCanonical { .. })));
        assert!(parse("x", "0x12").is_err());
        assert!(parse("x", "12").is_err());
    }

    #[test]
    fn bn254_values_carry_over() {
        let r_minus_1 = -Fr::from(1u64);
        let x = from_fr(&r_minus_1);
        assert_eq!(to_be_bytes(&x), field::to_be_bytes(&r_minus_1));
        assert_eq!(from_fr(&Fr::from(2015u64)), Fp::from(2015));
    }

    #[test]
    fn chained_hash_binds_length_and_every_element() {
        let xs: Vec<Fp> = (0..32).map(Fp::from).collect();
        let h = hash_elements(&xs);
        assert_ne!(h, hash_elements(&xs[..31]));
        let mut padded = xs.clone();
        padded.push(Fp::zero());
        assert_ne!(h, hash_elements(&padded), "zero padding is not a collision");
        for i in [0, 10, 11, 31] {
            let mut ys = xs.clone();
            ys[i] += Fp::ONE;
            assert_ne!(h, hash_elements(&ys), "element {i}");
        }
        assert_ne!(hash_elements(&[]), hash_elements(&[Fp::zero()]));
    }

    #[test]
    fn a_path_leads_to_the_root_only_from_its_own_position() {
        let siblings: Vec<Fp> = (0..4).map(|i| Fp::from(100 + i)).collect();
        let leaf = Fp::from(7);
        let root = root_from_path(leaf, 5, &siblings);
        assert_ne!(root, root_from_path(leaf, 4, &siblings));
        assert_ne!(root, root_from_path(Fp::from(8), 5, &siblings));
        assert_eq!(empty_roots(3)[1], node(Fp::zero(), Fp::zero()));
    }
}
