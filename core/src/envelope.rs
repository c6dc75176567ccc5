//! Standard envelopes: credentials as W3C Verifiable Credentials 2.0 secured by a Data
//! Integrity proof, and presentations as W3C Verifiable Presentations, so that wallets and
//! registries of that ecosystem carry them and its libraries check them.
//!
//! - A credential's envelope is the holder's copy: the claims, the registry entry, the opening
//!   of the commitment (salt included) and the issuer's `eddsa-jcs-2022` signature over all of
//!   it ([`crate::integrity`]), made with the issuer's ledger key named as a `did:key`.
//! - A presentation's envelope discloses no credential; its Data Integrity proof carries the
//!   dossier presentation (cryptosuites `dossier-groth16-2026`, `dossier-halo2-2026`) and binds
//!   the request's challenge and scope as `challenge` and `domain`.
//! - Every term is defined by the W3C context or by dossier's ([`CONTEXT_DOCUMENT`], shipped in
//!   `core/contexts/` and served by `dossier serve`), so both expand under JSON-LD's safe mode.
//!
//! Both map back exactly ([`credential_from_vc`], [`presentation_from_vp`]). See
//! `docs/envelopes.md`.

use crate::credential::CredentialOpening;
use crate::integrity::{self, ProofOptions, Purpose};
use crate::keys::KeyPair;
use crate::presentation::{Backend, Presentation};
use crate::{field, CoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::VerifyingKey;
use serde_json::{json, Value};

/// The W3C VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// The URL dossier's context is known by unless a deployment publishes it elsewhere
/// ([`ContextUrl`]). JSON-LD tools resolve it through a document loader that holds
/// [`CONTEXT_DOCUMENT`], as they hold the W3C contexts.
pub const DEFAULT_CONTEXT_URL: &str = "https://dossier.example/contexts/v1";
/// dossier's JSON-LD context: every term its envelopes use beyond the W3C context.
pub const CONTEXT_DOCUMENT: &str = include_str!("../contexts/dossier-v1.jsonld");
/// The longest context URL accepted.
pub const MAX_CONTEXT_URL: usize = 512;
/// The type a credential subject carries, whose context maps its claims to dossier's vocabulary.
const SUBJECT_TYPE: &str = "DossierHolder";

/// Where a deployment publishes [`CONTEXT_DOCUMENT`]: an absolute `https` (or `http`) URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextUrl(String);

impl Default for ContextUrl {
    fn default() -> Self {
        ContextUrl(DEFAULT_CONTEXT_URL.into())
    }
}

impl ContextUrl {
    /// Checks a context URL: `https://` or `http://`, a host, at most [`MAX_CONTEXT_URL`]
    /// bytes of printable ASCII without spaces.
    pub fn parse(url: &str) -> Result<ContextUrl, CoreError> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        let printable = url.bytes().all(|b| b.is_ascii_graphic());
        match rest {
            Some(r)
                if !r.is_empty()
                    && !r.starts_with('/')
                    && printable
                    && url.len() <= MAX_CONTEXT_URL =>
            {
                Ok(ContextUrl(url.into()))
            }
            _ => Err(CoreError::Malformed {
                what: "context URL".into(),
                reason: format!(
                    "must be an absolute http(s) URL of at most {MAX_CONTEXT_URL} printable bytes"
                ),
            }),
        }
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn contexts(&self) -> Value {
        json!([VC_CONTEXT, self.0])
    }
}

fn bad(reason: &str) -> CoreError {
    CoreError::Malformed {
        what: "verifiable credential envelope".into(),
        reason: reason.into(),
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Result<&'a str, CoreError> {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str()
        .ok_or_else(|| bad(&format!("missing `{}`", path.join("."))))
}

/// The envelope's contexts must be the W3C context then one more (dossier's, wherever the
/// deployment publishes it).
fn check_contexts(doc: &Value) -> Result<(), CoreError> {
    match doc["@context"].as_array().map(Vec::as_slice) {
        Some([first, ours])
            if first == VC_CONTEXT
                && ours.as_str().is_some_and(|u| ContextUrl::parse(u).is_ok()) =>
        {
            Ok(())
        }
        _ => Err(bad(
            "@context must be the W3C VC 2.0 context then dossier's",
        )),
    }
}

fn has_type(doc: &Value, name: &str) -> bool {
    doc["type"]
        .as_array()
        .is_some_and(|types| types.iter().any(|t| t == name))
}

/// A credential opening as a Verifiable Credential, signed by its issuer's key.
pub fn credential_to_vc(
    o: &CredentialOpening,
    context: &ContextUrl,
    issuer_key: &KeyPair,
) -> Result<Value, CoreError> {
    let mut subject = serde_json::Map::new();
    subject.insert(
        "id".into(),
        json!(format!("urn:dossier:holder:{}", field::to_hex(&o.holder))),
    );
    subject.insert("type".into(), json!(SUBJECT_TYPE));
    for (k, v) in &o.fields {
        if k == "id" || k == "type" {
            return Err(CoreError::Value {
                field: k.clone(),
                reason: "`id` and `type` are reserved in a credential subject".into(),
            });
        }
        subject.insert(k.clone(), v.clone());
    }
    let mut vc = json!({
        "@context": context.contexts(),
        "type": ["VerifiableCredential", "DossierCredential"],
        "id": format!("urn:dossier:credential:{}:{}", o.issuer, o.credential_id),
        "issuer": {"id": integrity::did_key(&issuer_key.public()), "name": o.issuer},
        "validFrom": format!("{}T00:00:00Z", o.issued_at),
        "credentialSubject": Value::Object(subject),
        "credentialSchema": {"id": format!("urn:dossier:schema:{}:{}", o.schema, field::to_hex(&o.schema_id)), "type": "DossierSchema"},
        "credentialStatus": {"id": format!("urn:dossier:registry:{}#{}", o.issuer, o.credential_id), "type": "DossierRegistryEntry",
            "issuerId": field::to_hex(&o.issuer_id), "credentialId": o.credential_id},
        "commitmentOpening": {"type": "DossierCommitmentOpening", "commitment": field::to_hex(&o.commitment), "salt": field::to_hex(&o.salt)},
    });
    if let Some(h) = &o.holder_halo2 {
        vc["commitmentOpening"]["holderHalo2"] = json!(crate::pasta::to_hex(h));
    }
    if let Some(e) = &o.expires_at {
        vc["validUntil"] = json!(format!("{e}T00:00:00Z"));
    }
    let options = ProofOptions {
        verification_method: integrity::verification_method(&issuer_key.public()),
        purpose: Purpose::AssertionMethod,
        created: Some(format!("{}T00:00:00Z", o.issued_at)),
    };
    integrity::sign(&vc, issuer_key, &options)
}

/// A credential read from its envelope, with the key that signed it.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedCredential {
    /// The opening.
    pub opening: CredentialOpening,
    /// The issuer key that signed the envelope; whether it was the issuer's key on the ledger
    /// is the reader's check.
    pub signer: VerifyingKey,
}

/// The opening inside a Verifiable Credential made by [`credential_to_vc`], after checking its
/// Data Integrity proof and that the envelope agrees with itself (ids, issuer, signer).
pub fn credential_from_vc(vc: &Value) -> Result<SignedCredential, CoreError> {
    check_contexts(vc)?;
    if !has_type(vc, "DossierCredential") {
        return Err(bad("not a DossierCredential"));
    }
    let verified = integrity::verify(
        vc,
        Purpose::AssertionMethod,
        integrity::public_from_verification_method,
    )?;
    if Some(str_at(vc, &["issuer", "id"])?) != verified.verification_method.split('#').next() {
        return Err(bad(
            "the credential was signed by a key other than its issuer's",
        ));
    }
    let opening = opening_of(vc)?;
    let (issuer, id) = (&opening.issuer, opening.credential_id);
    if str_at(vc, &["id"])? != format!("urn:dossier:credential:{issuer}:{id}")
        || str_at(vc, &["credentialStatus", "id"])? != format!("urn:dossier:registry:{issuer}#{id}")
    {
        return Err(bad(
            "the credential's ids disagree with its issuer and registry entry",
        ));
    }
    Ok(SignedCredential {
        opening,
        signer: verified.key,
    })
}

fn opening_of(vc: &Value) -> Result<CredentialOpening, CoreError> {
    let issuer = str_at(vc, &["issuer", "name"])?;
    let schema_ref = str_at(vc, &["credentialSchema", "id"])?
        .strip_prefix("urn:dossier:schema:")
        .ok_or_else(|| bad("unknown schema reference"))?;
    let (schema, schema_id) = schema_ref
        .rsplit_once(':')
        .ok_or_else(|| bad("unknown schema reference"))?;
    let date = |s: &str| {
        s.strip_suffix("T00:00:00Z")
            .map(str::to_string)
            .ok_or_else(|| bad("dates are whole days in UTC"))
    };
    let subject = vc["credentialSubject"]
        .as_object()
        .ok_or_else(|| bad("missing credentialSubject"))?;
    if subject.get("type").and_then(Value::as_str) != Some(SUBJECT_TYPE) {
        return Err(bad("the credential subject is not a DossierHolder"));
    }
    let holder = subject
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("urn:dossier:holder:"))
        .ok_or_else(|| bad("missing holder"))?;
    let fields = subject
        .iter()
        .filter(|(k, _)| *k != "id" && *k != "type")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let opening = &vc["commitmentOpening"];
    Ok(CredentialOpening {
        schema: schema.to_string(),
        schema_id: field::parse("schema id", schema_id)?,
        issuer: issuer.to_string(),
        issuer_id: field::parse("issuer id", str_at(vc, &["credentialStatus", "issuerId"])?)?,
        credential_id: vc["credentialStatus"]["credentialId"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("missing credentialId"))?,
        holder: field::parse("holder", holder)?,
        holder_halo2: opening
            .get("holderHalo2")
            .map(|h| {
                h.as_str()
                    .ok_or_else(|| bad("holderHalo2 is not a string"))
                    .and_then(|h| crate::pasta::parse("holderHalo2", h))
            })
            .transpose()?,
        issued_at: date(str_at(vc, &["validFrom"])?)?,
        expires_at: vc
            .get("validUntil")
            .and_then(Value::as_str)
            .map(date)
            .transpose()?,
        fields,
        salt: field::parse("salt", str_at(opening, &["salt"])?)?,
        commitment: field::parse("commitment", str_at(opening, &["commitment"])?)?,
    })
}

/// The Data Integrity cryptosuite name of a backend's presentations.
pub fn cryptosuite(backend: Backend) -> &'static str {
    match backend {
        Backend::Groth16 => "dossier-groth16-2026",
        Backend::Halo2 => "dossier-halo2-2026",
    }
}

/// The verification method of a presentation: the verifying key it was proven for.
fn vk_method(p: &Presentation) -> String {
    format!("urn:dossier:vk:{}:{}", p.backend, p.vk_sha256)
}

/// A presentation as a Verifiable Presentation: no credential is disclosed (so no
/// `verifiableCredential`); the Data Integrity proof carries the dossier presentation as its
/// `proofValue` (multibase base64url of its JSON), the request's challenge and scope as
/// `challenge` and `domain`, and the verifying key as its verification method.
pub fn presentation_to_vp(p: &Presentation, context: &ContextUrl) -> Result<Value, CoreError> {
    let embedded = serde_json::to_vec(p).map_err(|_| bad("the presentation cannot be written"))?;
    Ok(json!({
        "@context": context.contexts(),
        "type": ["VerifiablePresentation", "DossierPresentation"],
        "proof": {"type": integrity::PROOF_TYPE, "cryptosuite": cryptosuite(p.backend),
            "proofPurpose": Purpose::Authentication.as_str(), "verificationMethod": vk_method(p),
            "challenge": field::to_hex(&p.request.challenge), "domain": p.request.domain(),
            "proofValue": format!("u{}", URL_SAFE_NO_PAD.encode(embedded))},
    }))
}

/// Reads a presentation in either form, dossier's or a Verifiable Presentation carrying one
/// (for `#[serde(deserialize_with)]` on bodies and files that accept both).
pub fn deserialize_presentation<'de, D>(d: D) -> Result<Presentation, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    use serde::Deserialize as _;
    let v = Value::deserialize(d)?;
    if v.get("@context").is_some() {
        presentation_from_vp(&v).map_err(D::Error::custom)
    } else {
        serde_json::from_value(v).map_err(D::Error::custom)
    }
}

/// A presentation received in either form ([`deserialize_presentation`]).
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(transparent)]
pub struct Received(#[serde(deserialize_with = "deserialize_presentation")] pub Presentation);

/// The largest presentation envelope's `proofValue` read (a presentation is a few kilobytes;
/// a halo2 one about 10 KB).
pub const MAX_PROOF_VALUE: usize = 256 * 1024;

/// The dossier presentation inside a Verifiable Presentation made by [`presentation_to_vp`];
/// the envelope's cryptosuite, verification method, challenge and domain must agree with it.
pub fn presentation_from_vp(vp: &Value) -> Result<Presentation, CoreError> {
    check_contexts(vp)?;
    if !has_type(vp, "VerifiablePresentation") || !has_type(vp, "DossierPresentation") {
        return Err(bad("not a DossierPresentation"));
    }
    if vp.get("verifiableCredential").is_some() {
        return Err(bad("a dossier presentation discloses no credential"));
    }
    if str_at(vp, &["proof", "type"])? != integrity::PROOF_TYPE
        || str_at(vp, &["proof", "proofPurpose"])? != Purpose::Authentication.as_str()
    {
        return Err(bad(
            "the proof is not a DataIntegrityProof for authentication",
        ));
    }
    let value = str_at(vp, &["proof", "proofValue"])?;
    if value.len() > MAX_PROOF_VALUE {
        return Err(bad("proofValue is too long"));
    }
    let bytes = value
        .strip_prefix('u')
        .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
        .ok_or_else(|| bad("proofValue is not multibase base64url"))?;
    let p: Presentation = serde_json::from_slice(&bytes)
        .map_err(|_| bad("proofValue is not a dossier presentation"))?;
    if str_at(vp, &["proof", "cryptosuite"])? != cryptosuite(p.backend)
        || str_at(vp, &["proof", "verificationMethod"])? != vk_method(&p)
    {
        return Err(bad(
            "the envelope's cryptosuite or key differs from the presentation's",
        ));
    }
    if str_at(vp, &["proof", "challenge"])? != field::to_hex(&p.request.challenge)
        || str_at(vp, &["proof", "domain"])? != p.request.domain()
    {
        return Err(bad(
            "the envelope's challenge or domain differs from the presentation's",
        ));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fr;

    fn opening() -> CredentialOpening {
        CredentialOpening {
            schema: "appraisal".into(),
            schema_id: Fr::from(11u64),
            issuer: "hr.tax-bureau".into(),
            issuer_id: Fr::from(12u64),
            credential_id: 41,
            holder: Fr::from(13u64),
            holder_halo2: Some(crate::pasta::hash([crate::pasta::Fp::from(13)])),
            issued_at: "2025-01-10".into(),
            expires_at: Some("2030-01-01".into()),
            fields: serde_json::from_value(
                json!({"year": 2024, "grade": "excellent", "score": 93, "unit": "tax-audit", "training_hours": 96}),
            )
            .expect("map"),
            salt: Fr::from(14u64),
            commitment: Fr::from(15u64),
        }
    }

    fn issuer_key() -> KeyPair {
        KeyPair::from_seed("hr.tax-bureau", [7; 32]).expect("key")
    }

    #[test]
    fn credentials_round_trip_through_signed_vc() {
        let o = opening();
        let key = issuer_key();
        let vc = credential_to_vc(&o, &ContextUrl::default(), &key).expect("vc");
        assert_eq!(vc["@context"][0], VC_CONTEXT);
        assert_eq!(vc["credentialSubject"]["grade"], "excellent");
        assert_eq!(vc["proof"]["cryptosuite"], "eddsa-jcs-2022");
        let read = credential_from_vc(&vc).expect("parses");
        assert_eq!((read.opening, read.signer), (o.clone(), key.public()));
        let mut none = o.clone();
        none.expires_at = None;
        none.holder_halo2 = None;
        let vc2 = credential_to_vc(
            &none,
            &ContextUrl::parse("https://hr.gov.example/ctx/v1").expect("url"),
            &key,
        )
        .expect("vc");
        assert_eq!(credential_from_vc(&vc2).expect("parses").opening, none);
    }

    #[test]
    fn a_changed_or_inconsistent_vc_is_refused() {
        let key = issuer_key();
        let vc = credential_to_vc(&opening(), &ContextUrl::default(), &key).expect("vc");
        let refused = |f: &dyn Fn(&mut Value)| {
            let mut d = vc.clone();
            f(&mut d);
            credential_from_vc(&d).is_err()
        };
        assert!(refused(
            &|d| d["credentialSubject"]["grade"] = json!("competent")
        ));
        assert!(refused(&|d| d["commitmentOpening"]["salt"] = json!("0x0f")));
        assert!(refused(
            &|d| d["@context"][1] = json!("https://elsewhere.example/v1")
        ));
        assert!(refused(&|d| d["@context"] = json!([VC_CONTEXT])));
        assert!(refused(&|d| d["type"] = json!(["VerifiableCredential"])));
        // Re-signed by another key: the signature holds, but the issuer named is not the signer.
        let other = KeyPair::from_seed("other", [9; 32]).expect("key");
        let mut unsigned = vc.clone();
        unsigned.as_object_mut().expect("object").remove("proof");
        let resigned = integrity::sign(
            &unsigned,
            &other,
            &ProofOptions {
                verification_method: integrity::verification_method(&other.public()),
                purpose: Purpose::AssertionMethod,
                created: None,
            },
        )
        .expect("signs");
        assert!(credential_from_vc(&resigned).is_err());
        // Self-consistent forgeries signed by their own key, each refused for its inconsistency
        // or its non-canonical value.
        let forged = |f: &dyn Fn(&mut Value)| {
            let mut d = unsigned.clone();
            f(&mut d);
            let signed = integrity::sign(
                &d,
                &key,
                &ProofOptions {
                    verification_method: integrity::verification_method(&key.public()),
                    purpose: Purpose::AssertionMethod,
                    created: None,
                },
            )
            .expect("signs");
            credential_from_vc(&signed).is_err()
        };
        assert!(forged(
            &|d| d["id"] = json!("urn:dossier:credential:hr.tax-bureau:42")
        ));
        assert!(forged(
            &|d| d["credentialStatus"]["credentialId"] = json!(42)
        ));
        assert!(forged(
            &|d| d["credentialStatus"]["credentialId"] = json!(1u64 << 32)
        ));
        assert!(forged(&|d| d["commitmentOpening"]["commitment"] = json!(
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
        )));
        assert!(forged(&|d| d["credentialSubject"]["type"] = json!("Person")));
        assert!(forged(&|d| d["validFrom"] = json!("2025-01-10T12:00:00Z")));
        let mut reserved = opening();
        reserved.fields.insert("type".into(), json!("x"));
        assert!(credential_to_vc(&reserved, &ContextUrl::default(), &key).is_err());
    }

    #[test]
    fn context_urls_are_absolute_and_bounded() {
        for ok in [
            "https://hr.gov.example/contexts/dossier/v1",
            "http://localhost:8080/contexts/v1",
        ] {
            assert_eq!(ContextUrl::parse(ok).expect("url").as_str(), ok);
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_CONTEXT_URL));
        for bad in [
            "",
            "https://",
            "https:///x",
            "ftp://a.example/v1",
            "/contexts/v1",
            "https://a b/v1",
            long.as_str(),
        ] {
            assert!(ContextUrl::parse(bad).is_err(), "{bad}");
        }
        let doc: Value = serde_json::from_str(CONTEXT_DOCUMENT).expect("the context is JSON");
        assert_eq!(doc["@context"]["@protected"], true);
    }

    fn presentation(backend: crate::presentation::Backend) -> Presentation {
        let query = crate::query::Query::from_json(r#"{"credentials": [{"schema": "appraisal", "issuers": ["hr"], "where": {"year": {"$eq": 2024}}}]}"#).expect("q");
        Presentation {
            format: crate::presentation::PRESENTATION_FORMAT.into(),
            backend,
            shape: crate::query::SHAPES[0],
            vk_sha256: "00".into(),
            request: crate::presentation::PresentationRequest {
                query,
                challenge: Fr::from(5u64),
                scope: "s".into(),
                today: "2026-01-01".into(),
                max_checkpoint_age_seconds: 1,
                backend,
                purpose: Some("recruitment".into()),
                legal_basis: None,
                audience: None,
            },
            public_inputs: vec!["0x01".into()],
            proof: "AA==".into(),
            checkpoint: "note".into(),
        }
    }

    #[test]
    fn presentations_round_trip_through_vp() {
        for backend in crate::presentation::Backend::ALL {
            let p = presentation(backend);
            let vp = presentation_to_vp(&p, &ContextUrl::default()).expect("vp");
            assert!(
                vp.get("verifiableCredential").is_none(),
                "none disclosed, none listed"
            );
            assert_eq!(vp["proof"]["cryptosuite"], cryptosuite(backend));
            assert_eq!(presentation_from_vp(&vp).expect("parses"), p);
            let refused = |f: &dyn Fn(&mut Value)| {
                let mut d = vp.clone();
                f(&mut d);
                presentation_from_vp(&d).is_err()
            };
            assert!(refused(&|d| d["proof"]["domain"] = json!("another scope")));
            assert!(refused(&|d| d["proof"]["challenge"] = json!("0x06")));
            assert!(refused(
                &|d| d["proof"]["verificationMethod"] = json!("urn:dossier:vk:groth16:01")
            ));
            assert!(refused(&|d| d["proof"]["cryptosuite"] =
                json!(cryptosuite(match backend {
                    Backend::Groth16 => Backend::Halo2,
                    Backend::Halo2 => Backend::Groth16,
                }))));
            assert!(refused(
                &|d| d["proof"]["proofPurpose"] = json!("assertionMethod")
            ));
            assert!(refused(&|d| d["proof"]["proofValue"] = json!("zabc")));
            assert!(refused(
                &|d| d["proof"]["proofValue"] = json!(format!("u{}", "A".repeat(MAX_PROOF_VALUE)))
            ));
            assert!(refused(&|d| d["verifiableCredential"] = json!([])));
            assert!(refused(&|d| d["type"] = json!(["VerifiablePresentation"])));
        }
    }
}
