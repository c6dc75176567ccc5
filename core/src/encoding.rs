//! How every credential value becomes a BN254 field element (the design notes, section 3).
//!
//! | type     | JSON input                                  | field element                          |
//! |----------|---------------------------------------------|----------------------------------------|
//! | `uint`   | integer 0..=2^64-1, or its decimal string   | the integer                            |
//! | `date`   | `"YYYY-MM-DD"`, 1970-01-01 or later         | days since 1970-01-01                  |
//! | `enum`   | a member name                               | its index in declared (ascending) order|
//! | `bool`   | `true` / `false`                            | 1 / 0                                  |
//! | `string` | UTF-8, at most 1,024 bytes                  | [`string_hash`]                        |
//!
//! Every refusal names the field and the rule, never the value (it may be personal data).

use crate::{poseidon, CoreError};
use ark_bn254::Fr;
use ark_ff::PrimeField;
use serde::{Deserialize, Serialize};

/// The longest string value accepted, in UTF-8 bytes.
pub const MAX_STRING_BYTES: usize = 1024;
/// Bytes per chunk when hashing a string: 31 bytes always fit below the modulus.
pub const STRING_CHUNK: usize = 31;

/// The type of one schema field, and so the rule that encodes its values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum FieldType {
    /// An unsigned integer below 2^64.
    Uint,
    /// A calendar date, encoded as days since 1970-01-01.
    Date,
    /// One of an ordered list of members, encoded by its position (lowest first).
    Enum {
        /// The members, lowest first, so that "at least X" is a comparison.
        members: Vec<String>,
    },
    /// A boolean, encoded as 0 or 1.
    Bool,
    /// A UTF-8 string, encoded as its Poseidon hash.
    String,
}

impl FieldType {
    /// The type's name as written in schema files.
    pub fn name(&self) -> &'static str {
        match self {
            FieldType::Uint => "uint",
            FieldType::Date => "date",
            FieldType::Enum { .. } => "enum",
            FieldType::Bool => "bool",
            FieldType::String => "string",
        }
    }

    /// Encodes a JSON value of this type; `field` names it in errors.
    pub fn encode(&self, field: &str, value: &serde_json::Value) -> Result<Fr, CoreError> {
        use serde_json::Value;
        let err = |reason: &str| CoreError::Value {
            field: field.to_string(),
            reason: reason.to_string(),
        };
        match (self, value) {
            (FieldType::Uint, Value::Number(n)) => {
                if let Some(u) = n.as_u64() {
                    Ok(Fr::from(u))
                } else if n.as_i64().is_some() {
                    Err(err("must not be negative"))
                } else if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() == 0.0 && f > 0.0) {
                    Err(err(
                        "does not fit in 64 bits (at most 18446744073709551615)",
                    ))
                } else {
                    Err(err("must be a whole number"))
                }
            }
            (FieldType::Uint, Value::String(s)) => parse_u64(s).map(Fr::from).map_err(err),
            (FieldType::Uint, _) => Err(err("expected an unsigned integer")),
            (FieldType::Date, Value::String(s)) => {
                date_to_days(s).map(Fr::from).map_err(|r| err(&r))
            }
            (FieldType::Date, _) => Err(err("expected a date string YYYY-MM-DD")),
            (FieldType::Enum { members }, Value::String(s)) => members
                .iter()
                .position(|m| m == s)
                .map(|i| Fr::from(i as u64))
                .ok_or_else(|| {
                    err(&format!(
                        "not a member; expected one of: {}",
                        members.join(", ")
                    ))
                }),
            (FieldType::Enum { .. }, _) => Err(err("expected an enum member name")),
            (FieldType::Bool, Value::Bool(b)) => Ok(Fr::from(u64::from(*b))),
            (FieldType::Bool, _) => Err(err("expected true or false")),
            (FieldType::String, Value::String(s)) => string_hash(s).map_err(|r| err(&r)),
            (FieldType::String, _) => Err(err("expected a string")),
        }
    }
}

/// Parses a decimal unsigned 64-bit integer, strictly (no sign, no spaces, no leading `+`, no
/// leading zeros): a uint written as a string (`"2024"`) is accepted on purpose, for CSV
/// batches and tools that quote large numbers, in this one form only.
fn parse_u64(s: &str) -> Result<u64, &'static str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(if s.starts_with('-') {
            "must not be negative"
        } else {
            "expected an unsigned integer"
        });
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err("a decimal string must not have leading zeros");
    }
    s.parse::<u64>()
        .map_err(|_| "does not fit in 64 bits (at most 18446744073709551615)")
}

const UNIX_EPOCH_JULIAN_DAY: i32 = 2_440_588;

/// Days since 1970-01-01 of a `YYYY-MM-DD` date; refuses malformed, impossible and pre-1970
/// dates.
pub fn date_to_days(s: &str) -> Result<u32, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err("expected a date YYYY-MM-DD".into());
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u16>().unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    let month = time::Month::try_from(m as u8).map_err(|_| "not a valid date".to_string())?;
    let date = time::Date::from_calendar_date(i32::from(y), month, d as u8)
        .map_err(|_| "not a valid date".to_string())?;
    let days = date.to_julian_day() - UNIX_EPOCH_JULIAN_DAY;
    u32::try_from(days).map_err(|_| "dates before 1970-01-01 are not supported".to_string())
}

/// The `YYYY-MM-DD` form of a day count since 1970-01-01.
pub fn days_to_date(days: u32) -> String {
    let jd = i64::from(days) + i64::from(UNIX_EPOCH_JULIAN_DAY);
    match i32::try_from(jd)
        .ok()
        .and_then(|jd| time::Date::from_julian_day(jd).ok())
    {
        Some(d) => format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        None => format!("day {days}"),
    }
}

/// The Poseidon hash of a string: `h = Poseidon(len)`, then for each 31-byte chunk of its UTF-8
/// bytes (the last may be shorter), read big-endian, `h = Poseidon(h, chunk)`. The length
/// prefix keeps `"a"` and `"a\0"` apart. Refuses strings over [`MAX_STRING_BYTES`].
pub fn string_hash(s: &str) -> Result<Fr, String> {
    let bytes = s.as_bytes();
    if bytes.len() > MAX_STRING_BYTES {
        return Err(format!("longer than {MAX_STRING_BYTES} bytes"));
    }
    let mut h = poseidon::hash1(Fr::from(bytes.len() as u64));
    for chunk in bytes.chunks(STRING_CHUNK) {
        h = poseidon::hash2(h, Fr::from_be_bytes_mod_order(chunk));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn uint_boundaries() {
        let t = FieldType::Uint;
        assert_eq!(t.encode("n", &json!(0)).expect("0"), Fr::from(0u64));
        assert_eq!(
            t.encode("n", &json!(u64::MAX)).expect("max"),
            Fr::from(u64::MAX)
        );
        assert_eq!(
            t.encode("n", &json!("18446744073709551615"))
                .expect("max as string"),
            Fr::from(u64::MAX)
        );
        for bad in [
            json!(-1),
            json!("18446744073709551616"),
            json!(18446744073709551616.0),
            json!(1.5),
            json!("-1"),
            json!("+1"),
            json!(" 1"),
            json!(""),
            json!(null),
            json!(true),
        ] {
            let e = t.encode("years_of_service", &bad).expect_err("refused");
            assert!(e.to_string().contains("years_of_service"), "{e}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(date_to_days("1970-01-01"), Ok(0));
        assert_eq!(date_to_days("2000-03-01"), Ok(11_017));
        assert_eq!(date_to_days("2024-02-29"), Ok(19_782));
        for bad in [
            "1969-12-31",
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-1-01",
            "20250101",
            "2025-01-32",
        ] {
            assert!(date_to_days(bad).is_err(), "{bad}");
        }
        assert_eq!(days_to_date(19_782), "2024-02-29");
    }

    #[test]
    fn enums_encode_by_declared_order() {
        let t = FieldType::Enum {
            members: vec![
                "incompetent".into(),
                "basically_competent".into(),
                "competent".into(),
                "excellent".into(),
            ],
        };
        assert_eq!(
            t.encode("grade", &json!("competent")).expect("member"),
            Fr::from(2u64)
        );
        let e = t
            .encode("grade", &json!("outstanding"))
            .expect_err("not a member");
        assert!(e.to_string().contains("grade"));
        assert!(
            !e.to_string().contains("outstanding"),
            "errors do not echo values"
        );
    }

    #[test]
    fn strings_are_length_prefixed() {
        assert_ne!(string_hash("a"), string_hash("a\0"));
        assert_ne!(string_hash(""), string_hash("\0"));
        assert!(string_hash(&"x".repeat(MAX_STRING_BYTES)).is_ok());
        assert!(string_hash(&"x".repeat(MAX_STRING_BYTES + 1)).is_err());
    }

    proptest! {
        #[test]
        fn dates_round_trip(days in 0u32..2_932_896) {
            prop_assert_eq!(date_to_days(&days_to_date(days)), Ok(days));
        }

        #[test]
        fn uints_round_trip(n in any::<u64>()) {
            prop_assert_eq!(FieldType::Uint.encode("n", &json!(n)).expect("fits"), Fr::from(n));
            prop_assert_eq!(FieldType::Uint.encode("n", &json!(n.to_string())).expect("fits"), Fr::from(n));
        }

        #[test]
        fn over_64_bits_is_refused(hi in 1u64.., lo in any::<u64>()) {
            let big = (u128::from(hi) << 64) | u128::from(lo);
            prop_assert!(FieldType::Uint.encode("n", &json!(big.to_string())).is_err());
        }
    }
}
