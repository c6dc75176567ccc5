//! Presentation requests (made by a verifier) and presentations (made by a holder), as JSON.
//!
//! A request fixes what a proof must be bound to: the query, a random challenge (no replay to
//! another request), a scope (the nullifier's domain: one proof per holder and scope), today's
//! date (expiry is judged against it) and how fresh the anchoring checkpoint must be.
//! A presentation carries the proof, its public inputs, the request it answers and the
//! checkpoint that anchors each registry root.

use crate::query::{Query, Shape};
use crate::{encoding, field, CoreError, Fr};
use serde::{Deserialize, Serialize};

/// The format tag of presentations.
pub const PRESENTATION_FORMAT: &str = "dossier-presentation/v1";

/// What a verifier asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresentationRequest {
    /// The statement asked for.
    pub query: Query,
    /// A fresh random field element chosen by the verifier.
    #[serde(with = "field::serde_hex")]
    pub challenge: Fr,
    /// The nullifier's scope, e.g. `recruitment:2026:tax-bureau`.
    pub scope: String,
    /// The date expiry is judged against, `YYYY-MM-DD`.
    pub today: String,
    /// The anchoring checkpoint may be at most this old when the presentation is verified.
    pub max_checkpoint_age_seconds: u64,
    /// The proof system asked for: `groth16` (the default, omitted from the JSON) or `halo2`
    /// (no trusted setup). The backends' nullifiers differ, so a scope belongs to one backend:
    /// verifiers refuse a second backend in a scope (`NullifierStore`, the service).
    #[serde(default, skip_serializing_if = "Backend::is_groth16")]
    pub backend: Backend,
    /// Why the verifier asks, in words the holder is shown before consenting (e.g. "screening
    /// for the 2026 customs inspectors' competition"); kept with the request in the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// What allows the verifier to ask (e.g. the article of the civil-service law).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// The verifier's OpenID4VP client identifier, when the request travels by OpenID4VP
    /// ([`crate::openid4vp`]): a Verifiable Presentation's `domain` names it instead of the
    /// scope, and every verifier compares it as part of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

/// The longest purpose or legal basis a request states, in bytes.
pub const MAX_STATED: usize = 500;

/// A proof system. Written `groth16` / `halo2` in requests, presentations and on the command
/// line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Groth16 on BN254 (arkworks): 128-byte proofs, a trusted setup per shape.
    #[default]
    Groth16,
    /// halo2 (IPA over the Pasta curves): no trusted setup.
    Halo2,
}

impl Backend {
    /// Every backend.
    pub const ALL: [Backend; 2] = [Backend::Groth16, Backend::Halo2];

    /// Its name in JSON and on the command line.
    pub const fn name(self) -> &'static str {
        match self {
            Backend::Groth16 => "groth16",
            Backend::Halo2 => "halo2",
        }
    }

    /// Whether this is the default, Groth16 (which requests omit).
    pub fn is_groth16(&self) -> bool {
        *self == Backend::Groth16
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Backend {
    type Err = CoreError;

    /// Parses a backend's name, refusing others without echoing them.
    fn from_str(s: &str) -> Result<Backend, CoreError> {
        Backend::ALL
            .into_iter()
            .find(|b| b.name() == s)
            .ok_or_else(|| CoreError::Value {
                field: "backend".into(),
                reason: "unknown proof system (groth16 or halo2)".into(),
            })
    }
}

impl<'de> Deserialize<'de> for Backend {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Backend, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl PresentationRequest {
    /// The scope as a field element (its string hash). A scope is 1 to 256 bytes of printable
    /// text: an empty one would be every verifier's scope.
    pub fn scope_field(&self) -> Result<Fr, CoreError> {
        let s = &self.scope;
        if s.is_empty() || s.len() > 256 || s.chars().any(char::is_control) {
            return Err(CoreError::Value {
                field: "scope".into(),
                reason: "must be 1 to 256 bytes of printable text".into(),
            });
        }
        encoding::string_hash(&self.scope).map_err(|reason| CoreError::Value {
            field: "scope".into(),
            reason,
        })
    }

    /// Today as a day number.
    pub fn today_days(&self) -> Result<u32, CoreError> {
        encoding::date_to_days(&self.today).map_err(|reason| CoreError::Value {
            field: "today".into(),
            reason,
        })
    }

    /// Refuses a purpose or legal basis that is empty, longer than [`MAX_STATED`] bytes or
    /// holds control characters (the field is named, its text not echoed), and an audience
    /// that [`PresentationRequest::check_audience`] refuses.
    pub fn check_stated(&self) -> Result<(), CoreError> {
        self.check_audience()?;
        for (field, text) in [
            ("purpose", &self.purpose),
            ("legal_basis", &self.legal_basis),
        ] {
            if let Some(t) = text {
                if t.trim().is_empty() || t.len() > MAX_STATED || t.chars().any(char::is_control) {
                    return Err(CoreError::Value {
                        field: field.into(),
                        reason: format!("must be 1 to {MAX_STATED} bytes of printable text"),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether it states both why it asks and what allows it to.
    pub fn states_grounds(&self) -> bool {
        self.purpose.is_some() && self.legal_basis.is_some()
    }

    /// The same request stating its purpose and legal basis.
    pub fn with_grounds(
        mut self,
        purpose: Option<String>,
        legal_basis: Option<String>,
    ) -> Result<PresentationRequest, CoreError> {
        self.purpose = purpose;
        self.legal_basis = legal_basis;
        self.check_stated()?;
        Ok(self)
    }

    /// The same request addressed to an OpenID4VP client identifier (1 to 512 bytes of
    /// printable text).
    pub fn with_audience(mut self, audience: String) -> Result<PresentationRequest, CoreError> {
        self.audience = Some(audience);
        self.check_audience()?;
        Ok(self)
    }

    /// Refuses an audience that is empty, longer than 512 bytes or holds control characters.
    pub fn check_audience(&self) -> Result<(), CoreError> {
        match &self.audience {
            Some(a) if a.is_empty() || a.len() > 512 || a.chars().any(char::is_control) => {
                Err(CoreError::Value {
                    field: "audience".into(),
                    reason: "must be 1 to 512 bytes of printable text".into(),
                })
            }
            _ => Ok(()),
        }
    }

    /// What a Verifiable Presentation of an answer names as its `domain`: the audience when
    /// there is one, else the scope.
    pub fn domain(&self) -> &str {
        self.audience.as_deref().unwrap_or(&self.scope)
    }

    /// The same request for another backend.
    pub fn with_backend(mut self, backend: Backend) -> PresentationRequest {
        self.backend = backend;
        self
    }

    /// A request with a fresh challenge from the OS's RNG.
    pub fn new(
        query: Query,
        scope: &str,
        today: &str,
        max_checkpoint_age_seconds: u64,
    ) -> Result<PresentationRequest, CoreError> {
        let r = PresentationRequest {
            query,
            challenge: ark_ff::UniformRand::rand(&mut rand::rngs::OsRng),
            scope: scope.to_string(),
            today: today.to_string(),
            max_checkpoint_age_seconds,
            backend: Backend::Groth16,
            purpose: None,
            legal_basis: None,
            audience: None,
        };
        r.scope_field()?;
        r.today_days()?;
        Ok(r)
    }
}

/// What a holder sends back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Presentation {
    /// Always [`PRESENTATION_FORMAT`].
    pub format: String,
    /// The proof system.
    pub backend: Backend,
    /// The circuit shape proven.
    pub shape: Shape,
    /// SHA-256 of the verifying key the proof was made for (hex).
    pub vk_sha256: String,
    /// The request answered.
    pub request: PresentationRequest,
    /// The public inputs, in `statement::Layout` order (`0x` hex; BN254 scalars for Groth16,
    /// Pallas base field elements for halo2).
    pub public_inputs: Vec<String>,
    /// The proof, base64 (128 compressed bytes for Groth16 on BN254; a halo2 IPA transcript).
    pub proof: String,
    /// The signed checkpoint anchoring every registry root used.
    pub checkpoint: String,
}

impl Presentation {
    /// The public inputs as field elements, refusing non-canonical ones.
    pub fn inputs(&self) -> Result<Vec<Fr>, CoreError> {
        self.public_inputs
            .iter()
            .enumerate()
            .map(|(i, s)| field::parse(&format!("public input {i}"), s))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_is_printable_text_of_1_to_256_bytes() {
        // Regression: an empty scope was accepted (every verifier's scope at once).
        let q =
            Query::from_json(r#"{"credentials": [{"schema": "qualification", "issuers": ["u"]}]}"#)
                .expect("query");
        for bad in ["", "a\u{0}b", "line\nbreak", &"x".repeat(257)] {
            let e = PresentationRequest::new(q.clone(), bad, "2026-01-01", 60).expect_err(bad);
            assert!(e.to_string().contains("scope"), "{e}");
        }
        PresentationRequest::new(q, &"x".repeat(256), "2026-01-01", 60).expect("256 bytes");
    }

    #[test]
    fn stated_grounds_are_printable_text_of_1_to_500_bytes() {
        let q =
            Query::from_json(r#"{"credentials": [{"schema": "qualification", "issuers": ["u"]}]}"#)
                .expect("query");
        let r = PresentationRequest::new(q, "s", "2026-01-01", 60).expect("request");
        assert!(!r.states_grounds());
        let edge = "é".repeat(250); // 500 bytes
        let both = r
            .clone()
            .with_grounds(Some(edge.clone()), Some(edge))
            .expect("500 bytes");
        assert!(both.states_grounds());
        for (purpose, basis, field) in [
            (Some(String::new()), None, "purpose"),
            (Some("  ".into()), None, "purpose"),
            (Some("x".repeat(501)), None, "purpose"),
            (None, Some("a\u{7}b".into()), "legal_basis"),
            (None, Some("line\nbreak".into()), "legal_basis"),
        ] {
            let e = r.clone().with_grounds(purpose, basis).expect_err(field);
            assert!(e.to_string().contains(field), "{e}");
        }
        // Absent grounds are not written, so a request without them reads as before.
        let text = serde_json::to_string(&r).expect("json");
        assert!(!text.contains("purpose") && !text.contains("legal_basis"));
    }

    #[test]
    fn backends_parse_by_name_without_echo() {
        assert_eq!("halo2".parse::<Backend>().expect("halo2"), Backend::Halo2);
        let e = serde_json::from_str::<Backend>("\"SECRET-plonky9\"").expect_err("unknown");
        assert!(!e.to_string().contains("SECRET"), "{e}");
        assert_eq!(
            serde_json::to_string(&Backend::Groth16).expect("json"),
            "\"groth16\""
        );
    }
}
