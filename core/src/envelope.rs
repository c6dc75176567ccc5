//! Standard envelopes: credentials as W3C Verifiable Credentials 2.0 and presentations as W3C
//! Verifiable Presentations, so that wallets and registries of that ecosystem can carry them.
//! The zero-knowledge content is unchanged: a credential's `proof` is its commitment opening
//! (the holder's copy), a presentation's `proof` embeds the dossier presentation. Both map back
//! exactly ([`credential_from_vc`], [`presentation_from_vp`]). See `docs/envelopes.md`.

use crate::credential::CredentialOpening;
use crate::presentation::Presentation;
use crate::{field, CoreError};
use serde_json::{json, Value};

/// The W3C VC 2.0 base context.
pub const VC_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
/// dossier's context for its own terms.
pub const DOSSIER_CONTEXT: &str = "https://dossier.example/contexts/v1";

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

/// A credential opening as a Verifiable Credential.
pub fn credential_to_vc(o: &CredentialOpening) -> Value {
    let mut subject = serde_json::Map::new();
    subject.insert(
        "id".into(),
        json!(format!("urn:dossier:holder:{}", field::to_hex(&o.holder))),
    );
    for (k, v) in &o.fields {
        subject.insert(k.clone(), v.clone());
    }
    let mut vc = json!({
        "@context": [VC_CONTEXT, DOSSIER_CONTEXT],
        "type": ["VerifiableCredential", "DossierCredential"],
        "id": format!("urn:dossier:credential:{}:{}", o.issuer, o.credential_id),
        "issuer": format!("urn:dossier:issuer:{}", o.issuer),
        "validFrom": format!("{}T00:00:00Z", o.issued_at),
        "credentialSubject": Value::Object(subject),
        "credentialSchema": {"id": format!("urn:dossier:schema:{}:{}", o.schema, field::to_hex(&o.schema_id)), "type": "DossierSchema"},
        "credentialStatus": {"id": format!("urn:dossier:registry:{}#{}", o.issuer, o.credential_id), "type": "DossierRegistryEntry",
            "issuerId": field::to_hex(&o.issuer_id), "credentialId": o.credential_id},
        "proof": {"type": "DossierCommitmentOpening", "commitment": field::to_hex(&o.commitment), "salt": field::to_hex(&o.salt)},
    });
    if let Some(h) = &o.holder_halo2 {
        vc["proof"]["holderHalo2"] = json!(crate::pasta::to_hex(h));
    }
    if let Some(e) = &o.expires_at {
        vc["validUntil"] = json!(format!("{e}T00:00:00Z"));
    }
    vc
}

/// The opening inside a Verifiable Credential made by [`credential_to_vc`].
pub fn credential_from_vc(vc: &Value) -> Result<CredentialOpening, CoreError> {
    let types = vc["type"].as_array().ok_or_else(|| bad("missing `type`"))?;
    if !types.iter().any(|t| t == "DossierCredential") {
        return Err(bad("not a DossierCredential"));
    }
    let issuer = str_at(vc, &["issuer"])?
        .strip_prefix("urn:dossier:issuer:")
        .ok_or_else(|| bad("issuer is not a dossier issuer"))?;
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
    let holder = subject
        .get("id")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("urn:dossier:holder:"))
        .ok_or_else(|| bad("missing holder"))?;
    let fields = subject
        .iter()
        .filter(|(k, _)| *k != "id")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
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
        holder_halo2: vc["proof"]
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
        salt: field::parse("salt", str_at(vc, &["proof", "salt"])?)?,
        commitment: field::parse("commitment", str_at(vc, &["proof", "commitment"])?)?,
    })
}

/// A presentation as a Verifiable Presentation: no credential is disclosed; the proof carries the
/// statement, and the holder is known only by its per-scope nullifier.
pub fn presentation_to_vp(p: &Presentation) -> Result<Value, CoreError> {
    let embedded = serde_json::to_value(p).map_err(|e| bad(&e.to_string()))?;
    Ok(json!({
        "@context": [VC_CONTEXT, DOSSIER_CONTEXT],
        "type": ["VerifiablePresentation", "DossierPresentation"],
        "verifiableCredential": [],
        "proof": {"type": "DossierGroth16Proof", "proofPurpose": "authentication",
            "challenge": field::to_hex(&p.request.challenge), "domain": p.request.scope, "presentation": embedded},
    }))
}

/// The dossier presentation inside a Verifiable Presentation made by [`presentation_to_vp`];
/// the envelope's challenge and domain must agree with it.
pub fn presentation_from_vp(vp: &Value) -> Result<Presentation, CoreError> {
    if str_at(vp, &["proof", "type"])? != "DossierGroth16Proof" {
        return Err(bad("not a DossierGroth16Proof"));
    }
    let p: Presentation = serde_json::from_value(vp["proof"]["presentation"].clone())
        .map_err(|e| bad(&e.to_string()))?;
    if str_at(vp, &["proof", "challenge"])? != field::to_hex(&p.request.challenge)
        || str_at(vp, &["proof", "domain"])? != p.request.scope
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

    #[test]
    fn credentials_round_trip_through_vc() {
        let o = opening();
        let vc = credential_to_vc(&o);
        assert_eq!(vc["@context"][0], VC_CONTEXT);
        assert_eq!(vc["credentialSubject"]["grade"], "excellent");
        assert_eq!(credential_from_vc(&vc).expect("parses"), o);
        let mut none = o.clone();
        none.expires_at = None;
        assert_eq!(
            credential_from_vc(&credential_to_vc(&none)).expect("parses"),
            none
        );
        let mut broken = vc.clone();
        broken["proof"]["commitment"] =
            json!("0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001");
        assert!(
            credential_from_vc(&broken).is_err(),
            "non-canonical values are refused"
        );
        let mut other = vc;
        other["type"] = json!(["VerifiableCredential"]);
        assert!(credential_from_vc(&other).is_err());
    }

    #[test]
    fn presentations_round_trip_through_vp() {
        let query = crate::query::Query::from_json(r#"{"credentials": [{"schema": "appraisal", "issuers": ["hr"], "where": {"year": {"$eq": 2024}}}]}"#).expect("q");
        let p = Presentation {
            format: crate::presentation::PRESENTATION_FORMAT.into(),
            backend: crate::presentation::Backend::Groth16,
            shape: crate::query::SHAPES[0],
            vk_sha256: "00".into(),
            request: crate::presentation::PresentationRequest {
                query,
                challenge: Fr::from(5u64),
                scope: "s".into(),
                today: "2026-01-01".into(),
                max_checkpoint_age_seconds: 1,
                backend: crate::presentation::Backend::Groth16,
                purpose: None,
                legal_basis: None,
            },
            public_inputs: vec!["0x01".into()],
            proof: "AA==".into(),
            checkpoint: "note".into(),
        };
        let vp = presentation_to_vp(&p).expect("vp");
        assert_eq!(presentation_from_vp(&vp).expect("parses"), p);
        let mut moved = vp;
        moved["proof"]["domain"] = json!("another scope");
        assert!(presentation_from_vp(&moved).is_err());
    }
}
