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
use ff::PrimeField;
use halo2_poseidon::{ConstantLength, Hash, P128Pow5T3};

pub use pasta_curves::pallas::Base as Fp;

/// Poseidon of `L` elements (zcash's constant-length domain).
pub fn hash<const L: usize>(message: [Fp; L]) -> Fp {
    Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>::init().hash(message)
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
    use ff::Field;

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
