//! Field elements of the BN254 scalar field as they cross a boundary: canonical text forms and
//! the checks that refuse non-canonical ones.
//!
//! Text form: `0x` followed by exactly 64 lower- or upper-case hex digits, big-endian, or a
//! decimal string (the form circom and snarkjs use). Either must denote an integer below the
//! field modulus `p`; a value `>= p` is refused rather than reduced, so every element has exactly
//! one meaning. We always write the `0x` form in lower case.

use crate::CoreError;
use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

/// The BN254 scalar field, the field of every commitment, root and encoded value in dossier.
pub type Field = Fr;

/// Writes `x` as `0x` and 64 lower-case hex digits (big-endian).
pub fn to_hex(x: &Fr) -> String {
    format!("0x{}", hex::encode(to_be_bytes(x)))
}

/// The 32-byte big-endian encoding of `x`.
pub fn to_be_bytes(x: &Fr) -> [u8; 32] {
    let bytes = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    out
}

/// Reads a 32-byte big-endian value, refusing one that is not below the modulus.
pub fn from_be_bytes(what: &str, bytes: &[u8; 32]) -> Result<Fr, CoreError> {
    let mut le = *bytes;
    le.reverse();
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&le[i * 8..i * 8 + 8]);
        *limb = u64::from_le_bytes(w);
    }
    Fr::from_bigint(ark_ff::BigInt::new(limbs)).ok_or_else(|| CoreError::NonCanonical {
        what: what.to_string(),
    })
}

/// Parses the text form of a field element (see the module doc). `what` names the value in
/// errors.
pub fn parse(what: &str, s: &str) -> Result<Fr, CoreError> {
    let bad = || CoreError::Malformed {
        what: what.to_string(),
        reason: "expected 0x and 64 hex digits, or a decimal integer".into(),
    };
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(h, &mut bytes).map_err(|_| bad())?;
        return from_be_bytes(what, &bytes);
    }
    // One canonical form: no sign, no leading zeros ("0" itself excepted).
    if s.is_empty()
        || s.len() > 78
        || !s.bytes().all(|b| b.is_ascii_digit())
        || (s.len() > 1 && s.starts_with('0'))
    {
        return Err(bad());
    }
    // Decimal: accumulate in 4x64-bit limbs, refusing anything >= p.
    let mut acc = [0u64; 5];
    for b in s.bytes() {
        let mut carry = u128::from(b - b'0');
        for limb in acc.iter_mut() {
            let v = u128::from(*limb) * 10 + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
        if acc[4] != 0 || carry != 0 {
            return Err(CoreError::NonCanonical {
                what: what.to_string(),
            });
        }
    }
    Fr::from_bigint(ark_ff::BigInt::new([acc[0], acc[1], acc[2], acc[3]])).ok_or_else(|| {
        CoreError::NonCanonical {
            what: what.to_string(),
        }
    })
}

/// Writes `x` as a decimal string (the form circom and snarkjs use).
pub fn to_decimal(x: &Fr) -> String {
    x.into_bigint().to_string()
}

/// An SHA-256 digest mapped into the field by clearing its top three bits (big-endian), so the
/// result is below 2^253 < p: no reduction, and a JS implementation needs one mask.
pub fn from_digest(digest: &[u8; 32]) -> Fr {
    let mut b = *digest;
    b[0] &= 0x1f;
    Fr::from_be_bytes_mod_order(&b)
}

/// Serde support for a field element in its text form; use with `#[serde(with = "...")]`.
pub mod serde_hex {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialises as `0x` + 64 hex digits.
    pub fn serialize<S: Serializer>(x: &Fr, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(x))
    }

    /// Deserialises, refusing non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        let s = String::deserialize(d)?;
        parse("field element", &s).map_err(serde::de::Error::custom)
    }
}

/// Serde of a list of field elements as their text forms.
pub mod serde_hex_vec {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes the text forms.
    pub fn serialize<S: Serializer>(v: &[Fr], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(to_hex))
    }

    /// Reads the text forms, refusing non-canonical values.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fr>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| parse("sibling", s).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{One, Zero};
    use proptest::prelude::*;

    /// The BN254 scalar field modulus in decimal.
    const P_DEC: &str =
        "21888242871839275222246405745257275088548364400416034343698204186575808495617";

    #[test]
    fn modulus_and_above_are_refused() {
        assert!(matches!(
            parse("x", P_DEC),
            Err(CoreError::NonCanonical { .. })
        ));
        let p_hex = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert!(matches!(
            parse("x", p_hex),
            Err(CoreError::NonCanonical { .. })
        ));
        let p_minus_1 = parse(
            "x",
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000",
        )
        .expect("p-1 is canonical");
        assert_eq!(p_minus_1 + Fr::one(), Fr::zero());
        assert!(matches!(
            parse("x", &"9".repeat(78)),
            Err(CoreError::NonCanonical { .. })
        ));
        assert!(parse("x", "0x12").is_err());
        assert!(parse("x", "-1").is_err());
        assert!(parse("x", "").is_err());
        assert!(parse("x", "0xzz").is_err());
    }

    proptest! {
        #[test]
        fn hex_and_decimal_round_trip(limbs in any::<[u64; 4]>()) {
            let x = Fr::from_be_bytes_mod_order(&limbs.iter().flat_map(|l| l.to_be_bytes()).collect::<Vec<_>>());
            prop_assert_eq!(parse("x", &to_hex(&x)).expect("hex"), x);
            prop_assert_eq!(parse("x", &to_decimal(&x)).expect("dec"), x);
            prop_assert_eq!(from_be_bytes("x", &to_be_bytes(&x)).expect("bytes"), x);
        }
    }
}
