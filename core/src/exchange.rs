//! Presentation requests as DIF Presentation Exchange v2 presentation definitions, so that
//! wallets and verifiers of that ecosystem (OpenID4VP and others) can carry a dossier request,
//! and standard tools (`@sphereon/pex`, tested in CI) validate the definition and, evaluating
//! it against our Verifiable Credentials ([`crate::envelope`]), pick the credentials the proof
//! will accept and no others.
//!
//! The definition is pure PE v2. Its format is the registered `di_vp` designation with the
//! `DataIntegrityProof` proof type and the backend's cryptosuite (what our Verifiable
//! Presentations carry). One input descriptor per requested credential, with
//! `limit_disclosure: "required"`: the schema as a pattern on `$.credentialSchema.id`, the
//! accepted issuers as an `enum` on `$.issuer.name`; each predicate as a field with
//! `predicate: "required"` (the verifier learns that the filter holds, not the value) whose
//! filter says the same thing in standard JSON Schema — `const`/`enum`/`not`,
//! `minimum`/`maximum`/`exclusive*` for numbers, `format: date` with `formatMinimum`/… for
//! dates, and for an ordered enumeration (`degree_level >= master`) the `enum` of the members
//! that satisfy every condition; each disclosed value as a field with no filter.
//!
//! What PE has no words for travels beside the definition, as OpenID4VP carries a nonce beside
//! it: the exchange document ([`request_to_exchange`]) is `{"presentation_definition": …,
//! "dossier_request": …}`, the second being the request itself (challenge, scope, day,
//! freshness, an optional sum, its exact operators, purpose and legal basis). Reading it back
//! ([`request_from_exchange`]) rebuilds the definition from the request and refuses a document
//! whose definition differs, so what a wallet shows is what the proof proves. A definition
//! written by another tool alone is read from its standard keywords
//! ([`query_from_definition`]) into a new request. See `docs/envelopes.md`.

use crate::encoding::FieldType;
use crate::envelope::cryptosuite;
use crate::presentation::PresentationRequest;
use crate::query::{CredentialQuery, Query};
use crate::schema::SchemaSet;
use crate::CoreError;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The PE format designation of a dossier presentation (a Data Integrity secured VP).
pub const FORMAT: &str = "di_vp";
const SCHEMA_PREFIX: &str = "urn:dossier:schema:";
const SUBJECT: &str = "$.credentialSubject.";
const ISSUER_PATH: &str = "$.issuer.name";

fn bad(reason: impl Into<String>) -> CoreError {
    CoreError::Malformed {
        what: "presentation definition".into(),
        reason: reason.into(),
    }
}

/// Whether an ordered enumeration's member satisfies one dossier operator.
fn member_satisfies(members: &[String], index: usize, op: &str, v: &Value) -> bool {
    let position = |v: &Value| v.as_str().and_then(|s| members.iter().position(|m| m == s));
    let listed = |v: &Value| {
        v.as_array().is_some_and(|l| {
            l.iter()
                .any(|x| x.as_str() == Some(members[index].as_str()))
        })
    };
    match (op, position(v)) {
        ("$eq", Some(p)) => index == p,
        ("$ne", Some(p)) => index != p,
        ("$gte", Some(p)) => index >= p,
        ("$gt", Some(p)) => index > p,
        ("$lte", Some(p)) => index <= p,
        ("$lt", Some(p)) => index < p,
        ("$in", _) => listed(v),
        ("$nin", _) => !listed(v),
        ("$between", _) => match v.as_array().map(Vec::as_slice) {
            Some([lo, hi]) => match (position(lo), position(hi)) {
                (Some(lo), Some(hi)) => lo <= index && index <= hi,
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

/// The members of an ordered enumeration that meet every one of a field's conditions.
pub(crate) fn qualifying_members<'a>(
    members: &'a [String],
    ops: &BTreeMap<String, Value>,
) -> Vec<&'a String> {
    members
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            ops.iter()
                .all(|(op, v)| member_satisfies(members, *i, op, v))
        })
        .map(|(_, m)| m)
        .collect()
}

/// An ordered enumeration's conditions as the one `enum` of the members that meet them all.
fn enum_filter(members: &[String], ops: &BTreeMap<String, Value>) -> Value {
    let allowed = qualifying_members(members, ops);
    if allowed.is_empty() {
        // No member qualifies: a filter nothing satisfies.
        return json!({"type": "string", "not": {}});
    }
    json!({"type": "string", "enum": allowed})
}

/// Inserts a bound, keeping the tighter of two of the same kind.
fn tighten(f: &mut Map<String, Value>, key: &str, v: &Value) {
    let lower = key.contains("inimum");
    let replace = match f.get(key) {
        None => true,
        Some(old) => match (old.as_u64(), v.as_u64(), old.as_str(), v.as_str()) {
            (Some(a), Some(b), _, _) => (b > a) == lower,
            (_, _, Some(a), Some(b)) => (b > a) == lower,
            _ => false,
        },
    };
    if replace {
        f.insert(key.into(), v.clone());
    }
}

/// The JSON Schema filter of one field's operators, for a number, a date, a boolean or a
/// hashed string.
fn scalar_filter(ty: &FieldType, ops: &BTreeMap<String, Value>) -> Value {
    let mut f = Map::new();
    let date = matches!(ty, FieldType::Date);
    match ty {
        FieldType::Uint => {
            f.insert("type".into(), json!("integer"));
        }
        FieldType::Bool => {
            f.insert("type".into(), json!("boolean"));
        }
        FieldType::Date => {
            f.insert("type".into(), json!("string"));
            f.insert("format".into(), json!("date"));
        }
        _ => {
            f.insert("type".into(), json!("string"));
        }
    }
    let bound = |f: &mut Map<String, Value>, op: &str, v: &Value| {
        let (num, day) = match op {
            "$gte" => ("minimum", "formatMinimum"),
            "$gt" => ("exclusiveMinimum", "formatExclusiveMinimum"),
            "$lte" => ("maximum", "formatMaximum"),
            _ => ("exclusiveMaximum", "formatExclusiveMaximum"),
        };
        tighten(f, if date { day } else { num }, v);
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
    Value::Object(f)
}

/// The operators a standard filter states (a definition another tool wrote).
fn ops_of(filter: &Value) -> Result<BTreeMap<String, Value>, CoreError> {
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

fn descriptor(i: usize, c: &CredentialQuery, schemas: &SchemaSet) -> Result<Value, CoreError> {
    let schema = schemas.get(&c.schema)?;
    let mut fields = vec![
        json!({"path": ["$.credentialSchema.id"], "purpose": "the credential's schema",
            "filter": {"type": "string", "pattern": format!("^{SCHEMA_PREFIX}{}:", c.schema)}}),
        json!({"path": [ISSUER_PATH], "purpose": "an accepted issuer",
            "filter": {"type": "string", "enum": c.issuers}}),
    ];
    for (name, ops) in &c.predicates {
        let field = schema.field(name)?;
        let filter = match &field.ty {
            FieldType::Enum { members } => enum_filter(members, ops),
            other => scalar_filter(other, ops),
        };
        fields.push(
            json!({"path": [format!("{SUBJECT}{name}")], "predicate": "required",
            "filter": filter}),
        );
    }
    for name in &c.reveal {
        fields.push(json!({"path": [format!("{SUBJECT}{name}")], "intent_to_retain": false}));
    }
    Ok(json!({
        "id": format!("dossier-credential-{i}"),
        "name": c.schema,
        "purpose": "proven in zero knowledge: only the predicates' truth and the listed values are disclosed",
        "constraints": {"limit_disclosure": "required", "fields": fields},
    }))
}

/// A presentation request as a Presentation Exchange v2 presentation definition (pure PE: what
/// it cannot say is in [`request_to_exchange`]'s companion).
pub fn request_to_definition(
    r: &PresentationRequest,
    schemas: &SchemaSet,
) -> Result<Value, CoreError> {
    let challenge = crate::field::to_hex(&r.challenge);
    Ok(json!({
        "id": format!("urn:dossier:request:{challenge}"),
        "name": "dossier presentation request",
        "purpose": r.purpose.clone().unwrap_or_else(|| format!("A zero-knowledge proof for {}", r.scope)),
        "format": {FORMAT: {"proof_type": [crate::integrity::PROOF_TYPE], "cryptosuite": [cryptosuite(r.backend)]}},
        "input_descriptors": r.query.credentials.iter().enumerate()
            .map(|(i, c)| descriptor(i, c, schemas)).collect::<Result<Vec<_>, _>>()?,
    }))
}

/// The exchange document: the definition, and beside it the request it stands for.
pub fn request_to_exchange(
    r: &PresentationRequest,
    schemas: &SchemaSet,
) -> Result<Value, CoreError> {
    Ok(json!({
        "presentation_definition": request_to_definition(r, schemas)?,
        "dossier_request": r,
    }))
}

/// The request an exchange document carries, after checking that its definition is the one the
/// request makes (so a wallet shows what the proof will prove).
pub fn request_from_exchange(
    doc: &Value,
    schemas: &SchemaSet,
) -> Result<PresentationRequest, CoreError> {
    let r: PresentationRequest = serde_json::from_value(doc["dossier_request"].clone())
        .map_err(|_| bad("dossier_request is missing or not a dossier presentation request"))?;
    r.scope_field()?;
    r.today_days()?;
    r.check_stated()?;
    if request_to_definition(&r, schemas)? != doc["presentation_definition"] {
        return Err(bad(
            "presentation_definition differs from the one dossier_request makes",
        ));
    }
    Ok(r)
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
            ISSUER_PATH => {
                let list = f["filter"]["enum"]
                    .as_array()
                    .ok_or_else(|| bad("issuers must be an enum"))?;
                issuers = Some(
                    list.iter()
                        .map(|v| {
                            v.as_str()
                                .filter(|s| crate::keys::valid_key_name(s))
                                .map(str::to_string)
                                .ok_or_else(|| bad("an issuer is not an issuer's name"))
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

/// The query a definition written by another tool stands for, read from its standard keywords
/// alone (an `enum` on an ordered enumeration becomes `$in`); the caller makes a request of it.
pub fn query_from_definition(d: &Value) -> Result<Query, CoreError> {
    let credentials = d["input_descriptors"]
        .as_array()
        .ok_or_else(|| bad("no input_descriptors"))?
        .iter()
        .map(credential_from)
        .collect::<Result<Vec<_>, _>>()?;
    if credentials.is_empty() {
        return Err(bad("no input_descriptors"));
    }
    Ok(Query {
        credentials,
        sum: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROMOTION: &str = r#"{"credentials": [
      {"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
      {"schema": "employment", "issuers": ["hr.tax-bureau", "hr.customs"],
       "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}, "department": {"$nin": ["a", "b"]}},
       "reveal": ["rank_level"]},
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

    fn schemas() -> SchemaSet {
        SchemaSet::builtin()
    }

    fn field<'a>(d: &'a Value, descriptor: usize, path: &str) -> &'a Value {
        d["input_descriptors"][descriptor]["constraints"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .find(|f| f["path"][0] == path)
            .expect("field")
    }

    #[test]
    fn requests_round_trip_exactly_through_the_exchange_document() {
        let r = request()
            .with_grounds(
                Some("screening for the 2026 competition".into()),
                Some("Civil Service Law, article 23".into()),
            )
            .expect("grounds");
        let doc = request_to_exchange(&r, &schemas()).expect("doc");
        assert_eq!(request_from_exchange(&doc, &schemas()).expect("back"), r);
        let text = serde_json::to_string(&doc).expect("json");
        let back: Value = serde_json::from_str(&text).expect("parse");
        assert_eq!(request_from_exchange(&back, &schemas()).expect("back"), r);
        assert_eq!(
            doc["presentation_definition"]["purpose"],
            "screening for the 2026 competition"
        );
        for backend in crate::presentation::Backend::ALL {
            let d = request_to_definition(&r.clone().with_backend(backend), &schemas()).expect("d");
            assert_eq!(
                d["format"][FORMAT]["proof_type"],
                json!(["DataIntegrityProof"])
            );
            assert_eq!(
                d["format"][FORMAT]["cryptosuite"],
                json!([cryptosuite(backend)])
            );
        }
    }

    #[test]
    fn a_definition_that_differs_from_its_request_is_refused() {
        let doc = request_to_exchange(&request(), &schemas()).expect("doc");
        let refused = |f: &dyn Fn(&mut Value)| {
            let mut d = doc.clone();
            f(&mut d);
            request_from_exchange(&d, &schemas()).is_err()
        };
        // A wallet would show a looser condition than the proof's, or another issuer.
        assert!(refused(&|d| {
            d["presentation_definition"]["input_descriptors"][0]["constraints"]["fields"][3]
                ["filter"]["enum"] = json!(["competent", "excellent", "incompetent"])
        }));
        assert!(refused(&|d| {
            d["presentation_definition"]["input_descriptors"][0]["constraints"]["fields"][1]
                ["filter"]["enum"] = json!(["hr.other"])
        }));
        assert!(refused(
            &|d| d["dossier_request"]["scope"] = json!("promotion:2027")
        ));
        assert!(refused(
            &|d| d["dossier_request"]["today"] = json!("2026-13-01")
        ));
        assert!(refused(&|d| {
            d["dossier_request"]["challenge"] =
                json!("0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
        }));
        assert!(refused(&|d| d["dossier_request"]["legal_basis"] = json!("")));
        assert!(refused(&|d| {
            d.as_object_mut().expect("o").remove("dossier_request");
        }));
        assert!(refused(&|d| {
            d.as_object_mut()
                .expect("o")
                .remove("presentation_definition");
        }));
    }

    #[test]
    fn filters_say_in_standard_json_schema_what_the_circuit_checks() {
        let d = request_to_definition(&request(), &schemas()).expect("d");
        let since = field(&d, 1, "$.credentialSubject.rank_since");
        assert_eq!(since["predicate"], "required");
        assert_eq!(since["filter"]["format"], "date");
        assert_eq!(since["filter"]["formatMaximum"], "2024-06-30");
        assert_eq!(
            field(&d, 1, "$.credentialSubject.sanction_until")["filter"]["formatExclusiveMaximum"],
            "2026-06-30"
        );
        assert_eq!(
            field(&d, 1, "$.credentialSubject.department")["filter"]["not"]["enum"],
            json!(["a", "b"])
        );
        let rank = field(&d, 1, "$.credentialSubject.rank_level");
        assert!(rank.get("filter").is_none() && rank.get("predicate").is_none());
        assert_eq!(
            field(&d, 1, ISSUER_PATH)["filter"]["enum"],
            json!(["hr.tax-bureau", "hr.customs"])
        );
        let year = field(&d, 2, "$.credentialSubject.award_year");
        assert_eq!(
            (&year["filter"]["minimum"], &year["filter"]["maximum"]),
            (&json!(2000), &json!(2020))
        );
        // Ordered enumerations: the members that meet every condition.
        assert_eq!(
            field(&d, 0, "$.credentialSubject.grade")["filter"],
            json!({"type": "string", "enum": ["competent", "excellent"]})
        );
        assert_eq!(
            field(&d, 2, "$.credentialSubject.degree_level")["filter"]["enum"],
            json!(["associate", "master", "doctorate"])
        );
        assert_eq!(
            d["input_descriptors"][0]["constraints"]["limit_disclosure"],
            "required"
        );
        // Every filter uses only keywords PE v2's filter schema allows.
        let allowed = [
            "const",
            "enum",
            "exclusiveMaximum",
            "exclusiveMinimum",
            "format",
            "formatExclusiveMaximum",
            "formatExclusiveMinimum",
            "formatMaximum",
            "formatMinimum",
            "maximum",
            "minimum",
            "not",
            "pattern",
            "type",
        ];
        for desc in d["input_descriptors"].as_array().expect("descriptors") {
            for f in desc["constraints"]["fields"].as_array().expect("fields") {
                for k in f["filter"]
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>())
                    .unwrap_or_default()
                {
                    assert!(allowed.contains(&k.as_str()), "{k}");
                }
            }
        }
    }

    #[test]
    fn ordered_enumerations_at_their_boundaries() {
        let members: Vec<String> = ["associate", "bachelor", "master", "doctorate"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let f = |ops: Value| enum_filter(&members, &serde_json::from_value(ops).expect("ops"));
        assert_eq!(
            f(json!({"$gte": "associate"}))["enum"]
                .as_array()
                .expect("e")
                .len(),
            4
        );
        assert_eq!(
            f(json!({"$gt": "doctorate"})),
            json!({"type": "string", "not": {}})
        );
        assert_eq!(
            f(json!({"$lt": "associate"})),
            json!({"type": "string", "not": {}})
        );
        assert_eq!(
            f(json!({"$lte": "associate"}))["enum"],
            json!(["associate"])
        );
        assert_eq!(
            f(json!({"$between": ["bachelor", "master"]}))["enum"],
            json!(["bachelor", "master"])
        );
        assert_eq!(
            f(json!({"$gte": "master", "$ne": "doctorate"}))["enum"],
            json!(["master"])
        );
        assert_eq!(
            f(json!({"$in": ["master", "unknown"]}))["enum"],
            json!(["master"])
        );
        assert_eq!(
            f(json!({"$nin": ["master"]}))["enum"],
            json!(["associate", "bachelor", "doctorate"])
        );
    }

    #[test]
    fn standard_filters_alone_are_understood() {
        // A definition written by another tool.
        let d = json!({"id": "x", "input_descriptors": [{"id": "a", "constraints": {"limit_disclosure": "required", "fields": [
            {"path": ["$.credentialSchema.id"], "filter": {"type": "string", "pattern": "^urn:dossier:schema:retirement:"}},
            {"path": ["$.issuer.name"], "filter": {"type": "string", "enum": ["hr.pensions"]}},
            {"path": ["$.credentialSubject.years_of_service"], "predicate": "required", "filter": {"type": "integer", "minimum": 30}},
            {"path": ["$.credentialSubject.retired_on"], "predicate": "required",
             "filter": {"type": "string", "format": "date", "formatExclusiveMinimum": "2020-01-01"}}]}}]});
        let q = query_from_definition(&d).expect("understood");
        let c = &q.credentials[0];
        assert_eq!(c.schema, "retirement");
        assert_eq!(c.issuers, vec!["hr.pensions".to_string()]);
        assert_eq!(c.predicates["years_of_service"]["$gte"], json!(30));
        assert_eq!(c.predicates["retired_on"]["$gt"], json!("2020-01-01"));
    }

    #[test]
    fn what_cannot_be_honoured_is_refused_by_name() {
        let good = request_to_definition(&request(), &schemas()).expect("d");
        let mut cases = Vec::new();
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
        d["input_descriptors"][0]["constraints"]["fields"][1]["filter"]["enum"] =
            json!(["hr+other"]);
        cases.push((d, "issuer"));
        let mut d = good;
        d["input_descriptors"] = json!([]);
        cases.push((d, "input_descriptors"));
        for (d, expected) in cases {
            let e = query_from_definition(&d).expect_err(expected).to_string();
            assert!(e.contains(expected), "{e} should mention {expected}");
        }
    }
}
