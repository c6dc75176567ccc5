//! Presentation requests as DIF Presentation Exchange v2 presentation definitions, so that
//! wallets and verifiers of that ecosystem (OpenID4VP and others) can carry a dossier request.
//!
//! One input descriptor per requested credential. Its constraints use the standard vocabulary
//! where it says the same thing: `limit_disclosure: "required"`; the schema as a pattern on
//! `$.credentialSchema.id` and the accepted issuers as an `enum` on `$.issuer` (the paths of the
//! Verifiable Credential mapping in [`crate::envelope`]); each predicate as a field with
//! `predicate: "required"` (the verifier learns that the filter holds, not the value) whose
//! JSON Schema `filter` is `const`/`enum`/`not`, `minimum`/`maximum`/`exclusive*` for numbers and
//! `formatMinimum`/`formatMaximum`/`formatExclusive*` for dates; each disclosed value as a field
//! with no filter. The dossier operators ride along verbatim in the filter's `x-dossier-where`
//! (JSON Schema ignores unknown keywords), which makes the mapping exact — ordered enumerations
//! such as `degree_level >= master` have no JSON Schema keyword. The request's binding
//! (challenge, scope, today, freshness, an optional sum) sits in the definition's
//! `format.dossier_groth16` entry. See `docs/envelopes.md`.

use crate::presentation::PresentationRequest;
use crate::query::{CredentialQuery, Query, SumQuery};
use crate::{field, CoreError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The format designation of a dossier presentation.
pub const FORMAT: &str = "dossier_groth16";
const SCHEMA_PREFIX: &str = "urn:dossier:schema:";
const ISSUER_PREFIX: &str = "urn:dossier:issuer:";
const SUBJECT: &str = "$.credentialSubject.";

fn bad(reason: impl Into<String>) -> CoreError {
    CoreError::Malformed {
        what: "presentation definition".into(),
        reason: reason.into(),
    }
}

fn is_date(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        let b = s.as_bytes();
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    })
}

/// The JSON Schema rendering of one field's operators (the parts that have one).
fn filter_of(ops: &BTreeMap<String, Value>) -> Value {
    let mut f = Map::new();
    let bound = |f: &mut Map<String, Value>, op: &str, v: &Value| {
        let (num, date) = match op {
            "$gte" => ("minimum", "formatMinimum"),
            "$gt" => ("exclusiveMinimum", "formatExclusiveMinimum"),
            "$lte" => ("maximum", "formatMaximum"),
            _ => ("exclusiveMaximum", "formatExclusiveMaximum"),
        };
        if v.is_u64() {
            f.insert("type".into(), json!("integer"));
            f.insert(num.into(), v.clone());
        } else if is_date(v) {
            f.insert("type".into(), json!("string"));
            f.insert("format".into(), json!("date"));
            f.insert(date.into(), v.clone());
        } else {
            // An ordered enumeration: no JSON Schema keyword; x-dossier-where says it.
            f.insert("type".into(), json!("string"));
        }
    };
    for (op, v) in ops {
        match op.as_str() {
            "$eq" => {
                f.insert("const".into(), v.clone());
            }
            "$ne" => {
                f.insert("not".into(), json!({"const": v}));
            }
            "$in" => {
                f.insert("enum".into(), v.clone());
            }
            "$nin" => {
                f.insert("not".into(), json!({"enum": v}));
            }
            "$gte" | "$gt" | "$lte" | "$lt" => bound(&mut f, op, v),
            "$between" => {
                if let Some([lo, hi]) = v.as_array().map(Vec::as_slice) {
                    bound(&mut f, "$gte", lo);
                    bound(&mut f, "$lte", hi);
                }
            }
            _ => {}
        }
    }
    f.insert("x-dossier-where".into(), json!(ops));
    Value::Object(f)
}

/// The operators a standard filter states, for definitions written without `x-dossier-where`.
fn ops_of(filter: &Value) -> Result<BTreeMap<String, Value>, CoreError> {
    if let Some(w) = filter.get("x-dossier-where") {
        return serde_json::from_value(w.clone()).map_err(|e| bad(format!("x-dossier-where: {e}")));
    }
    let mut ops = BTreeMap::new();
    let f = filter
        .as_object()
        .ok_or_else(|| bad("a filter is not an object"))?;
    for (k, v) in f {
        let op = match k.as_str() {
            "const" => "$eq",
            "enum" => "$in",
            "minimum" | "formatMinimum" => "$gte",
            "exclusiveMinimum" | "formatExclusiveMinimum" => "$gt",
            "maximum" | "formatMaximum" => "$lte",
            "exclusiveMaximum" | "formatExclusiveMaximum" => "$lt",
            "not" => {
                if let Some(c) = v.get("const") {
                    ops.insert("$ne".into(), c.clone());
                } else if let Some(e) = v.get("enum") {
                    ops.insert("$nin".into(), e.clone());
                } else {
                    return Err(bad("only `not` of const or enum is understood"));
                }
                continue;
            }
            "type" | "format" => continue,
            other => return Err(bad(format!("filter keyword {other} is not understood"))),
        };
        ops.insert(op.into(), v.clone());
    }
    if ops.is_empty() {
        return Err(bad("a predicate's filter states no condition"));
    }
    Ok(ops)
}

fn descriptor(i: usize, c: &CredentialQuery) -> Value {
    let mut fields = vec![
        json!({"path": ["$.credentialSchema.id"], "purpose": "the credential's schema",
            "filter": {"type": "string", "pattern": format!("^{SCHEMA_PREFIX}{}:", c.schema)}}),
        json!({"path": ["$.issuer"], "purpose": "an accepted issuer",
            "filter": {"type": "string", "enum": c.issuers.iter().map(|i| format!("{ISSUER_PREFIX}{i}")).collect::<Vec<_>>()}}),
    ];
    for (name, ops) in &c.predicates {
        fields.push(
            json!({"path": [format!("{SUBJECT}{name}")], "predicate": "required",
            "filter": filter_of(ops)}),
        );
    }
    for name in &c.reveal {
        fields.push(json!({"path": [format!("{SUBJECT}{name}")], "intent_to_retain": false}));
    }
    json!({
        "id": format!("dossier-credential-{i}"),
        "name": c.schema,
        "purpose": "proven in zero knowledge: only the predicates' truth and the listed values are disclosed",
        "constraints": {"limit_disclosure": "required", "fields": fields},
    })
}

/// A presentation request as a Presentation Exchange v2 presentation definition.
pub fn request_to_definition(r: &PresentationRequest) -> Value {
    let challenge = field::to_hex(&r.challenge);
    let proof_type = if r.backend == crate::presentation::Backend::Halo2 {
        "DossierHalo2Proof"
    } else {
        "DossierGroth16Proof"
    };
    let mut format = json!({"proof_type": [proof_type], "challenge": challenge,
        "domain": r.scope, "today": r.today, "max_checkpoint_age_seconds": r.max_checkpoint_age_seconds});
    if let Some(sum) = &r.query.sum {
        format["sum"] = json!(sum);
    }
    // The stated grounds travel in our format object (read back exactly); the definition's
    // own `purpose` shows the purpose to a standard wallet.
    if let Some(p) = &r.purpose {
        format["purpose"] = json!(p);
    }
    if let Some(l) = &r.legal_basis {
        format["legal_basis"] = json!(l);
    }
    json!({
        "id": format!("urn:dossier:request:{challenge}"),
        "name": "dossier presentation request",
        "purpose": r.purpose.clone().unwrap_or_else(|| format!("A zero-knowledge proof for {}", r.scope)),
        "format": {FORMAT: format},
        "input_descriptors": r.query.credentials.iter().enumerate()
            .map(|(i, c)| descriptor(i, c)).collect::<Vec<_>>(),
    })
}

fn path_of(f: &Value) -> Result<&str, CoreError> {
    f["path"]
        .as_array()
        .and_then(|p| p.first())
        .and_then(Value::as_str)
        .ok_or_else(|| bad("a field without a path"))
}

fn credential_from(d: &Value) -> Result<CredentialQuery, CoreError> {
    let fields = d["constraints"]["fields"]
        .as_array()
        .ok_or_else(|| bad("an input descriptor without constraints.fields"))?;
    let (mut schema, mut issuers) = (None, None);
    let (mut predicates, mut reveal) = (BTreeMap::new(), Vec::new());
    for f in fields {
        let path = path_of(f)?;
        match path {
            "$.credentialSchema.id" => {
                let pattern = f["filter"]["pattern"].as_str().unwrap_or_default();
                let name = pattern
                    .strip_prefix(&format!("^{SCHEMA_PREFIX}"))
                    .and_then(|s| s.strip_suffix(':'))
                    .ok_or_else(|| bad(format!("schema pattern {pattern:?}")))?;
                schema = Some(name.to_string());
            }
            "$.issuer" => {
                let list = f["filter"]["enum"]
                    .as_array()
                    .ok_or_else(|| bad("issuers must be an enum"))?;
                issuers = Some(
                    list.iter()
                        .map(|v| {
                            v.as_str()
                                .and_then(|s| s.strip_prefix(ISSUER_PREFIX))
                                .map(str::to_string)
                                .ok_or_else(|| bad(format!("issuer {v}")))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            p => {
                let name = p
                    .strip_prefix(SUBJECT)
                    .ok_or_else(|| bad(format!("path {p} is not a credentialSubject field")))?
                    .to_string();
                match f.get("filter") {
                    Some(filter) => {
                        if f["predicate"] != "required" {
                            return Err(bad(format!(
                                "{name}: a filtered field must be a predicate (\"predicate\": \"required\"): dossier never discloses a value to filter it"
                            )));
                        }
                        predicates.insert(name, ops_of(filter)?);
                    }
                    None => reveal.push(name),
                }
            }
        }
    }
    Ok(CredentialQuery {
        schema: schema.ok_or_else(|| bad("an input descriptor without a schema"))?,
        issuers: issuers.ok_or_else(|| bad("an input descriptor without issuers"))?,
        accredited: false,
        predicates,
        reveal,
    })
}

/// The presentation request a definition made by [`request_to_definition`] (or written by hand
/// in the same vocabulary) stands for.
pub fn request_from_definition(d: &Value) -> Result<PresentationRequest, CoreError> {
    let f = &d["format"][FORMAT];
    if !f.is_object() {
        return Err(bad(format!("no format.{FORMAT}")));
    }
    let text = |k: &str| {
        f[k].as_str()
            .ok_or_else(|| bad(format!("format.{FORMAT}.{k} missing")))
    };
    let credentials = d["input_descriptors"]
        .as_array()
        .ok_or_else(|| bad("no input_descriptors"))?
        .iter()
        .map(credential_from)
        .collect::<Result<Vec<_>, _>>()?;
    let sum: Option<SumQuery> = match f.get("sum") {
        Some(s) => Some(serde_json::from_value(s.clone()).map_err(|e| bad(format!("sum: {e}")))?),
        None => None,
    };
    let r = PresentationRequest {
        query: Query { credentials, sum },
        challenge: field::parse("challenge", text("challenge")?)?,
        scope: text("domain")?.to_string(),
        today: text("today")?.to_string(),
        max_checkpoint_age_seconds: f["max_checkpoint_age_seconds"].as_u64().ok_or_else(|| {
            bad(format!(
                "format.{FORMAT}.max_checkpoint_age_seconds missing"
            ))
        })?,
        backend: crate::presentation::Backend::Groth16,
        purpose: f["purpose"].as_str().map(str::to_string),
        legal_basis: f["legal_basis"].as_str().map(str::to_string),
    };
    r.scope_field()?;
    r.today_days()?;
    r.check_stated()?;
    let halo2 = f["proof_type"]
        .as_array()
        .is_some_and(|t| t.iter().any(|x| x == "DossierHalo2Proof"));
    if halo2 {
        return Ok(r.with_backend(crate::presentation::Backend::Halo2));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMOTION: &str = r#"{"credentials": [
      {"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
      {"schema": "employment", "issuers": ["hr.tax-bureau", "hr.customs"],
       "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}, "grade": {"$nin": [1, 2]}},
       "reveal": ["rank"]},
      {"schema": "qualification", "issuers": ["univ.law-school"],
       "where": {"field": {"$in": ["law", "economics"]}, "award_year": {"$between": [2000, 2020]}, "degree_level": {"$ne": "bachelor"}}}],
      "sum": {"schema": "training", "field": "hours", "$gte": 40}}"#;

    fn request() -> PresentationRequest {
        PresentationRequest::new(
            serde_json::from_str(PROMOTION).expect("query"),
            "promotion:2026:tax-bureau",
            "2026-11-24",
            3600,
        )
        .expect("request")
    }

    #[test]
    fn requests_round_trip_exactly() {
        let r = request();
        let d = request_to_definition(&r);
        assert_eq!(request_from_definition(&d).expect("back"), r);
        // Through text too, as it travels.
        let text = serde_json::to_string(&d).expect("json");
        let back: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(request_from_definition(&back).expect("back"), r);
    }

    #[test]
    fn stated_grounds_round_trip_and_show_as_the_purpose() {
        let r = request()
            .with_grounds(
                Some("screening for the 2026 competition".into()),
                Some("Civil Service Law, article 23".into()),
            )
            .expect("grounds");
        let d = request_to_definition(&r);
        assert_eq!(d["purpose"], "screening for the 2026 competition");
        assert_eq!(request_from_definition(&d).expect("back"), r);
        // Malformed grounds in a definition are refused, naming the field.
        let mut bad = d.clone();
        bad["format"][FORMAT]["legal_basis"] = json!("");
        let e = request_from_definition(&bad).expect_err("empty");
        assert!(e.to_string().contains("legal_basis"), "{e}");
    }

    #[test]
    fn filters_use_the_standard_vocabulary() {
        let d = request_to_definition(&request());
        let fields = &d["input_descriptors"][1]["constraints"]["fields"];
        let find = |p: &str| {
            fields
                .as_array()
                .expect("fields")
                .iter()
                .find(|f| f["path"][0] == p)
                .expect("field")
                .clone()
        };
        let since = find("$.credentialSubject.rank_since");
        assert_eq!(since["predicate"], "required");
        assert_eq!(since["filter"]["format"], "date");
        assert_eq!(since["filter"]["formatMaximum"], "2024-06-30");
        assert_eq!(
            find("$.credentialSubject.sanction_until")["filter"]["formatExclusiveMaximum"],
            "2026-06-30"
        );
        assert_eq!(
            find("$.credentialSubject.grade")["filter"]["not"]["enum"],
            json!([1, 2])
        );
        let rank = find("$.credentialSubject.rank");
        assert!(rank.get("filter").is_none() && rank.get("predicate").is_none());
        assert_eq!(
            find("$.issuer")["filter"]["enum"],
            json!([
                "urn:dossier:issuer:hr.tax-bureau",
                "urn:dossier:issuer:hr.customs"
            ])
        );
        let q = &d["input_descriptors"][2]["constraints"]["fields"];
        let year = q
            .as_array()
            .expect("f")
            .iter()
            .find(|f| f["path"][0] == "$.credentialSubject.award_year")
            .expect("year");
        assert_eq!(year["filter"]["minimum"], 2000);
        assert_eq!(year["filter"]["maximum"], 2020);
        assert_eq!(
            d["input_descriptors"][0]["constraints"]["limit_disclosure"],
            "required"
        );
    }

    #[test]
    fn standard_filters_alone_are_understood() {
        // A definition written by another tool: no x-dossier-where.
        let d = json!({"id": "x", "format": {"dossier_groth16": {"challenge": "5", "domain": "pension:2026",
            "today": "2026-11-24", "max_checkpoint_age_seconds": 600}},
          "input_descriptors": [{"id": "a", "constraints": {"limit_disclosure": "required", "fields": [
            {"path": ["$.credentialSchema.id"], "filter": {"type": "string", "pattern": "^urn:dossier:schema:retirement:"}},
            {"path": ["$.issuer"], "filter": {"type": "string", "enum": ["urn:dossier:issuer:hr.pensions"]}},
            {"path": ["$.credentialSubject.years_of_service"], "predicate": "required", "filter": {"type": "integer", "minimum": 30}},
            {"path": ["$.credentialSubject.retired_on"], "predicate": "required",
             "filter": {"type": "string", "format": "date", "formatExclusiveMinimum": "2020-01-01"}}]}}]});
        let r = request_from_definition(&d).expect("understood");
        let c = &r.query.credentials[0];
        assert_eq!(c.schema, "retirement");
        assert_eq!(c.issuers, vec!["hr.pensions".to_string()]);
        assert_eq!(c.predicates["years_of_service"]["$gte"], json!(30));
        assert_eq!(c.predicates["retired_on"]["$gt"], json!("2020-01-01"));
        assert_eq!(r.scope, "pension:2026");
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        let good = request_to_definition(&request());
        let mut cases = Vec::new();
        let mut d = good.clone();
        d["format"] = json!({"ldp_vp": {}});
        cases.push((d, "format.dossier_groth16"));
        let mut d = good.clone();
        d["input_descriptors"][0]["constraints"]["fields"][2]
            .as_object_mut()
            .expect("o")
            .remove("predicate");
        cases.push((d, "must be a predicate"));
        let mut d = good.clone();
        d["input_descriptors"][0]["constraints"]["fields"][2]["filter"] =
            json!({"type": "string", "pattern": "^a"});
        cases.push((d, "pattern is not understood"));
        let mut d = good.clone();
        d["input_descriptors"][0]["constraints"]["fields"][2]["path"] = json!(["$.evidence"]);
        cases.push((d, "not a credentialSubject field"));
        let mut d = good.clone();
        d["format"]["dossier_groth16"]["challenge"] =
            json!("0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001");
        cases.push((d, "challenge"));
        let mut d = good.clone();
        d["format"]["dossier_groth16"]["today"] = json!("2026-13-01");
        cases.push((d, "today"));
        let mut d = good;
        d["input_descriptors"][0]["constraints"]["fields"][1]["filter"]["enum"] =
            json!(["did:web:other"]);
        cases.push((d, "issuer"));
        for (d, expected) in cases {
            let e = request_from_definition(&d).expect_err(expected).to_string();
            assert!(e.contains(expected), "{e} should mention {expected}");
        }
    }
}
