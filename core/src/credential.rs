//! Credentials and their commitments.
//!
//! A credential's commitment is circomlib's `Poseidon(12)` of
//!
//! | input | value |
//! |---|---|
//! | 0 | schema id |
//! | 1 | issuer id |
//! | 2 | holder commitment `Poseidon(secret)` |
//! | 3 | validity `credential_id + issued_at * 2^32 + expires_at * 2^64` (three 32-bit numbers) |
//! | 4 | salt (uniformly random field element) |
//! | 5..=11 | the schema's 7 slots, unused ones 0 |
//!
//! Packing the three 32-bit header numbers into one input keeps the hash at 12 inputs (the
//! widest circomlib Poseidon the reference crate checks), and costs a circuit nothing: it must
//! decompose the credential id into path bits and the expiry into bits for comparison anyway.
//! Dates in the header are days since 1970-01-01; [`NEVER_EXPIRES`] marks no expiry.

use crate::encoding::{date_to_days, days_to_date};
use crate::pasta::{self, Fp};
use crate::schema::SchemaSet;
use crate::{field, poseidon, CoreError};
use ark_bn254::Fr;
use ark_ff::UniformRand;
use serde::{Deserialize, Serialize};

/// The number of value slots in every credential.
pub const SLOTS: usize = 7;
/// `expires_at` of a credential that does not expire.
pub const NEVER_EXPIRES: u32 = u32::MAX;

/// A credential's membership path in its registry's halo2 twin tree (Pasta Poseidon).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Halo2Path {
    /// The leaf: the credential's Pasta commitment, or 0 if empty.
    #[serde(with = "pasta::serde_hex")]
    pub leaf: Fp,
    /// The siblings, leaf level first.
    #[serde(with = "pasta::serde_hex_vec")]
    pub siblings: Vec<Fp>,
    /// The twin tree's root.
    #[serde(with = "pasta::serde_hex")]
    pub root: Fp,
}

/// A membership path: the leaf at `credential_id` and its 32 siblings, leaf level first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipPath {
    /// The leaf's id (its bits, low first, say left or right at each level).
    pub credential_id: u32,
    /// The leaf: the commitment, or 0 if empty.
    #[serde(with = "field::serde_hex")]
    pub leaf: Fr,
    /// The sibling at each level, from the leaves up.
    #[serde(with = "field::serde_hex_vec")]
    pub siblings: Vec<Fr>,
    /// The root the path leads to.
    #[serde(with = "field::serde_hex")]
    pub root: Fr,
    /// The same position's path in the registry's halo2 twin tree (what a halo2 proof needs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halo2: Option<Halo2Path>,
}

impl MembershipPath {
    /// The root computed from the leaf and siblings (the native twin of the circuit's gadget).
    pub fn computed_root(&self) -> Fr {
        let mut h = self.leaf;
        for (level, s) in self.siblings.iter().enumerate() {
            h = if (self.credential_id >> level) & 1 == 0 {
                poseidon::hash2(h, *s)
            } else {
                poseidon::hash2(*s, h)
            };
        }
        h
    }

    /// Whether the path is well formed and leads to its root.
    pub fn is_valid(&self) -> bool {
        self.siblings.len() == crate::REGISTRY_DEPTH && self.computed_root() == self.root
    }
}

/// A credential offered for one of a query's slots: the credential, its membership path's
/// siblings (leaf level first) and the registry root they lead to — what the holder's selection
/// finds and what a statement's witness is built from.
#[derive(Clone, Debug)]
pub struct Offered {
    /// The credential.
    pub credential: Credential,
    /// Its membership path's siblings, leaf level first.
    pub siblings: Vec<Fr>,
    /// The root of its issuer's registry (anchored by a checkpoint).
    pub root: Fr,
    /// Its path in the registry's halo2 twin tree, when a halo2 proof is to be made.
    pub halo2: Option<Halo2Path>,
}

/// A credential as the circuit sees it: every value already a field element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The schema's id.
    pub schema_id: Fr,
    /// The issuer's id.
    pub issuer_id: Fr,
    /// The holder's commitment, `Poseidon(secret)`.
    pub holder: Fr,
    /// The holder's commitment in the halo2 backend's field, `Poseidon_Pasta(secret)` (zero if
    /// the holder gave none: such a credential can be proven with Groth16 only).
    pub holder_halo2: Fp,
    /// The credential's id, also its leaf index in the issuer's registry.
    pub credential_id: u32,
    /// Issue date, days since 1970-01-01.
    pub issued_at: u32,
    /// Expiry date, days since 1970-01-01, or [`NEVER_EXPIRES`].
    pub expires_at: u32,
    /// The blinding salt.
    pub salt: Fr,
    /// The schema's encoded values.
    pub slots: [Fr; SLOTS],
}

impl Credential {
    /// The packed header input `credential_id + issued_at * 2^32 + expires_at * 2^64`.
    pub fn validity(&self) -> Fr {
        let low = u64::from(self.credential_id) | (u64::from(self.issued_at) << 32);
        Fr::from(low) + Fr::from(self.expires_at) * Fr::from(1u128 << 64)
    }

    /// The 12 inputs of the commitment, in order.
    pub fn commitment_inputs(&self) -> [Fr; 12] {
        let mut inputs = [Fr::from(0u64); 12];
        inputs[0] = self.schema_id;
        inputs[1] = self.issuer_id;
        inputs[2] = self.holder;
        inputs[3] = self.validity();
        inputs[4] = self.salt;
        inputs[5..].copy_from_slice(&self.slots);
        inputs
    }

    /// The commitment in the halo2 backend's twin tree: Pasta Poseidon of the same 12 inputs,
    /// with the holder's halo2 commitment in place of the BN254 one — or zero (an empty twin
    /// leaf) for a credential issued without a halo2 holder commitment, which no halo2 proof
    /// could use anyway: issuers pay for the twin only where a holder asked for it.
    pub fn commitment_halo2(&self) -> Fp {
        if self.holder_halo2 == Fp::zero() {
            return Fp::zero();
        }
        let mut inputs = self.commitment_inputs().map(|x| pasta::from_fr(&x));
        inputs[2] = self.holder_halo2;
        pasta::hash(inputs)
    }

    /// The commitment that the registry stores.
    pub fn commitment(&self) -> Fr {
        match poseidon::hash(&self.commitment_inputs()) {
            Ok(c) => c,
            // Unreachable: twelve inputs is a supported arity.
            Err(e) => panic!("commitment: {e}"),
        }
    }
}

/// A fresh uniformly random salt.
pub fn random_salt<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Fr {
    Fr::rand(rng)
}

/// Refuses an issue day later than tomorrow (one day of slack for clocks and time zones):
/// credentials may be back-dated (a degree of 2015 recorded today), never dated ahead.
pub fn check_issued_at(issued_at: u32, today: u32) -> Result<(), CoreError> {
    if u64::from(issued_at) > u64::from(today) + 1 {
        return Err(CoreError::Value {
            field: "issued_at".into(),
            reason: "later than tomorrow".into(),
        });
    }
    Ok(())
}

/// What an issuer is asked to issue: one line of a batch file, or one request.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The schema's name.
    pub schema: String,
    /// The holder commitment (`0x` + 64 hex digits).
    pub holder: String,
    /// The holder's halo2 commitment (`0x` + 64 hex digits, Pallas field); without it the
    /// credential can be proven with Groth16 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder_halo2: Option<String>,
    /// Optional expiry date `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The schema's field values (a key given twice is refused, not collapsed).
    #[serde(deserialize_with = "unique_fields")]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

/// A JSON object of field values whose every key is given once: serde_json would keep the last
/// of two, so `{"grade": "excellent", "grade": "incompetent"}` would mean whatever a reader's
/// parser keeps.
fn unique_fields<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<serde_json::Map<String, serde_json::Value>, D::Error> {
    struct Unique;
    impl<'de> serde::de::Visitor<'de> for Unique {
        type Value = serde_json::Map<String, serde_json::Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object of field values")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut m: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some((k, v)) = m.next_entry::<String, serde_json::Value>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom("duplicate field in `fields`"));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Unique)
}

/// A claim checked against its schema: every value encoded.
#[derive(Clone, Debug)]
pub struct EncodedClaim {
    /// The schema's name.
    pub schema: String,
    /// The schema's id.
    pub schema_id: Fr,
    /// The holder commitment.
    pub holder: Fr,
    /// The holder's halo2 commitment, zero if none was given.
    pub holder_halo2: Fp,
    /// Expiry, days since 1970-01-01, or [`NEVER_EXPIRES`].
    pub expires_at: u32,
    /// The encoded slots.
    pub slots: [Fr; SLOTS],
    /// The original values, returned to the holder in the opening.
    pub fields: serde_json::Map<String, serde_json::Value>,
}

impl Claim {
    /// Checks and encodes the claim, refusing it with an error that names the field at fault.
    pub fn encode(&self, schemas: &SchemaSet) -> Result<EncodedClaim, CoreError> {
        let schema = schemas.get(&self.schema)?;
        let holder = field::parse("holder", &self.holder)?;
        // Zero is no holder's commitment (Poseidon of a secret is never known to be 0): it would
        // be an unbound credential, or an empty leaf.
        if ark_ff::Zero::is_zero(&holder) {
            return Err(CoreError::Value {
                field: "holder".into(),
                reason: "zero is not a holder commitment".into(),
            });
        }
        let holder_halo2 = match &self.holder_halo2 {
            Some(h) => {
                let c = pasta::parse("holder_halo2", h)?;
                if c == Fp::zero() {
                    return Err(CoreError::Value {
                        field: "holder_halo2".into(),
                        reason: "zero is not a holder commitment".into(),
                    });
                }
                c
            }
            None => Fp::zero(),
        };
        let expires_at = match &self.expires_at {
            None => NEVER_EXPIRES,
            Some(d) => {
                let days = date_to_days(d).map_err(|reason| CoreError::Value {
                    field: "expires_at".into(),
                    reason,
                })?;
                if days == NEVER_EXPIRES {
                    return Err(CoreError::Value {
                        field: "expires_at".into(),
                        reason: "too far in the future".into(),
                    });
                }
                days
            }
        };
        Ok(EncodedClaim {
            schema: schema.name.clone(),
            schema_id: schema.id(),
            holder,
            holder_halo2,
            expires_at,
            slots: schema.encode(&self.fields)?,
            fields: self.fields.clone(),
        })
    }
}

/// Everything a holder needs to prove statements about one credential: the values, the salt and
/// the ids. Kept in the holder's wallet; never sent to the ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialOpening {
    /// The schema's name.
    pub schema: String,
    /// The schema's id.
    #[serde(with = "field::serde_hex")]
    pub schema_id: Fr,
    /// The issuer's name.
    pub issuer: String,
    /// The issuer's id.
    #[serde(with = "field::serde_hex")]
    pub issuer_id: Fr,
    /// The credential's id in the issuer's registry.
    pub credential_id: u32,
    /// The holder commitment.
    #[serde(with = "field::serde_hex")]
    pub holder: Fr,
    /// The holder's halo2 commitment, if one was given at issuance.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "pasta::serde_hex_opt"
    )]
    pub holder_halo2: Option<Fp>,
    /// Issue date `YYYY-MM-DD`.
    pub issued_at: String,
    /// Expiry date `YYYY-MM-DD`, absent for none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The values, as issued.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The salt.
    #[serde(with = "field::serde_hex")]
    pub salt: Fr,
    /// The commitment in the registry.
    #[serde(with = "field::serde_hex")]
    pub commitment: Fr,
}

impl CredentialOpening {
    /// Builds the opening of a credential issued from `claim`.
    pub fn new(claim: &EncodedClaim, issuer: &str, credential: &Credential) -> CredentialOpening {
        CredentialOpening {
            schema: claim.schema.clone(),
            schema_id: credential.schema_id,
            issuer: issuer.to_string(),
            issuer_id: credential.issuer_id,
            credential_id: credential.credential_id,
            holder: credential.holder,
            holder_halo2: (credential.holder_halo2 != Fp::zero())
                .then_some(credential.holder_halo2),
            issued_at: days_to_date(credential.issued_at),
            expires_at: (credential.expires_at != NEVER_EXPIRES)
                .then(|| days_to_date(credential.expires_at)),
            fields: claim.fields.clone(),
            salt: credential.salt,
            commitment: credential.commitment(),
        }
    }

    /// The claim of this credential bound to another holder: what its issuer re-issues when the
    /// holder, having lost their secret, rotates to a new one (same schema, values and expiry).
    /// Checks first that the opening opens its commitment.
    pub fn claim_for(
        &self,
        schemas: &SchemaSet,
        holder: Fr,
        holder_halo2: Option<Fp>,
    ) -> Result<EncodedClaim, CoreError> {
        let c = self.credential(schemas)?;
        Ok(EncodedClaim {
            schema: self.schema.clone(),
            schema_id: c.schema_id,
            holder,
            holder_halo2: holder_halo2.unwrap_or(Fp::zero()),
            expires_at: c.expires_at,
            slots: c.slots,
            fields: self.fields.clone(),
        })
    }

    /// Re-encodes the opening and checks that it opens its commitment.
    pub fn credential(&self, schemas: &SchemaSet) -> Result<Credential, CoreError> {
        let schema = schemas.get(&self.schema)?;
        if schema.id() != self.schema_id {
            return Err(CoreError::Malformed {
                what: "credential".into(),
                reason: format!("schema id does not match schema `{}`", self.schema),
            });
        }
        let day = |what: &str, s: &str| {
            date_to_days(s).map_err(|reason| CoreError::Value {
                field: what.to_string(),
                reason,
            })
        };
        let credential = Credential {
            schema_id: self.schema_id,
            issuer_id: self.issuer_id,
            holder: self.holder,
            holder_halo2: self.holder_halo2.unwrap_or(Fp::zero()),
            credential_id: self.credential_id,
            issued_at: day("issued_at", &self.issued_at)?,
            expires_at: match &self.expires_at {
                Some(d) => day("expires_at", d)?,
                None => NEVER_EXPIRES,
            },
            salt: self.salt,
            slots: schema.encode(&self.fields)?,
        };
        if credential.commitment() != self.commitment {
            return Err(CoreError::Malformed {
                what: "credential".into(),
                reason: "values do not open the commitment".into(),
            });
        }
        Ok(credential)
    }
}

#[cfg(test)]
mod lenient_input_tests {
    use super::*;

    fn claim(text: &str) -> Result<EncodedClaim, String> {
        let c: Claim = serde_json::from_str(text).map_err(|e| e.to_string())?;
        c.encode(&SchemaSet::builtin()).map_err(|e| e.to_string())
    }

    const H: &str = "0x0000000000000000000000000000000000000000000000000000000000000007";

    #[test]
    fn each_lenient_claim_is_refused_by_field() {
        // Regressions: duplicate keys were collapsed, a score of 1000 was issued, an all-zero
        // holder commitment was accepted, and uints as strings took `05`.
        let ok = format!(
            r#"{{"schema": "appraisal", "holder": "{H}", "fields": {{"year": 2024, "grade": "competent", "score": 88, "unit": "tax-audit", "training_hours": 96}}}}"#
        );
        claim(&ok).expect("the honest claim");
        let as_string = ok.replace("2024", "\"2024\"");
        claim(&as_string).expect("a uint as a canonical decimal string is accepted on purpose");
        for (text, field) in [
            (
                ok.replace(
                    r#""score": 88"#,
                    r#""score": 88, "unit": "tax-audit", "training_hours": 96, "score": 12"#,
                ),
                "duplicate field",
            ),
            (ok.replace("88", "101"), "score"),
            (ok.replace(H, &format!("0x{}", "0".repeat(64))), "holder"),
            (ok.replace("2024", "\"02024\""), "year"),
            (ok.replace("2024", "\"+2024\""), "year"),
        ] {
            let e = claim(&text).expect_err(&text);
            assert!(e.contains(field), "{text}: {e}");
            assert!(
                !e.contains("101") && !e.contains("02024"),
                "no value echoed: {e}"
            );
        }
        claim(&ok.replace("88", "100")).expect("the bound itself");
        claim(&ok.replace("88", "0")).expect("the lower bound itself");
    }

    #[test]
    fn decimal_field_elements_have_one_form() {
        assert!(field::parse("x", "0").is_ok());
        assert!(field::parse("x", "7").is_ok());
        for s in ["07", "00", "+7", "-7", " 7", "7 "] {
            assert!(field::parse("x", s).is_err(), "{s}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claim() -> Claim {
        serde_json::from_value(json!({
            "schema": "appraisal",
            "holder": field::to_hex(&Fr::from(42u64)),
            "fields": {"year": 2024, "grade": "excellent", "score": 93, "unit": "tax-audit", "training_hours": 96}
        }))
        .expect("claim")
    }

    #[test]
    fn validity_packs_three_u32() {
        let mut c = Credential {
            schema_id: Fr::from(1u64),
            issuer_id: Fr::from(2u64),
            holder: Fr::from(3u64),
            holder_halo2: Fp::zero(),
            credential_id: u32::MAX,
            issued_at: u32::MAX,
            expires_at: u32::MAX,
            salt: Fr::from(4u64),
            slots: [Fr::from(0u64); SLOTS],
        };
        assert_eq!(c.validity(), Fr::from((1u128 << 96) - 1));
        c.credential_id = 1;
        c.issued_at = 0;
        c.expires_at = 0;
        assert_eq!(c.validity(), Fr::from(1u64));
    }

    #[test]
    fn opening_round_trips_and_binds_every_value() {
        let schemas = SchemaSet::builtin();
        let enc = claim().encode(&schemas).expect("valid claim");
        let cred = Credential {
            schema_id: enc.schema_id,
            issuer_id: Fr::from(9u64),
            holder: enc.holder,
            holder_halo2: pasta::hash([Fp::from(3)]),
            credential_id: 5,
            issued_at: 20_000,
            expires_at: enc.expires_at,
            salt: Fr::from(77u64),
            slots: enc.slots,
        };
        let opening = CredentialOpening::new(&enc, "hr.example", &cred);
        let text = serde_json::to_string(&opening).expect("json");
        let back: CredentialOpening = serde_json::from_str(&text).expect("parse");
        assert_eq!(back.credential(&schemas).expect("opens"), cred);

        let mut tampered = back.clone();
        tampered.fields.insert("grade".into(), json!("competent"));
        assert!(tampered.credential(&schemas).is_err());
        let mut tampered = back.clone();
        tampered.credential_id = 6;
        assert!(tampered.credential(&schemas).is_err());
        let mut tampered = back;
        tampered.salt = Fr::from(78u64);
        assert!(tampered.credential(&schemas).is_err());
    }

    #[test]
    fn bad_claims_name_the_field() {
        let schemas = SchemaSet::builtin();
        let mut c = claim();
        c.fields.insert("score".into(), json!(-3));
        let e = c.encode(&schemas).expect_err("negative");
        assert!(e.to_string().contains("score"), "{e}");
        let mut c = claim();
        c.holder = "0x1234".into();
        assert!(c
            .encode(&schemas)
            .expect_err("holder")
            .to_string()
            .contains("holder"));
        let mut c = claim();
        c.expires_at = Some("2025-02-30".into());
        assert!(c
            .encode(&schemas)
            .expect_err("date")
            .to_string()
            .contains("expires_at"));
        let mut c = claim();
        c.schema = "payroll".into();
        assert!(matches!(
            c.encode(&schemas),
            Err(CoreError::UnknownSchema { .. })
        ));
    }
}
