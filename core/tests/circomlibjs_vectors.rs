//! Our encodings and hashes against vectors computed independently by circomlibjs
//! (`fixtures/circomlibjs/gen.js`, which follows `docs/encoding.md`).

use dossier_core::credential::CredentialOpening;
use dossier_core::encoding::string_hash;
use dossier_core::holder::HolderSecret;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, poseidon, Fr};
use serde_json::Value;

fn vectors() -> Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/circomlibjs/vectors.json"
    ))
    .expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn f(v: &Value) -> Fr {
    field::parse("vector", v.as_str().expect("string")).expect("canonical")
}

#[test]
fn poseidon_matches_circomlibjs_for_every_width() {
    let v = vectors();
    let cases = v["poseidon"].as_array().expect("array");
    assert_eq!(cases.len(), 24);
    for case in cases {
        let inputs: Vec<Fr> = case["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .map(f)
            .collect();
        assert_eq!(
            poseidon::hash(&inputs).expect("arity"),
            f(&case["output"]),
            "{} inputs",
            inputs.len()
        );
    }
}

#[test]
fn string_hashes_match() {
    for case in vectors()["strings"].as_array().expect("array") {
        let s = case["input"].as_str().expect("string");
        assert_eq!(string_hash(s).expect("short"), f(&case["output"]), "{s:?}");
    }
}

#[test]
fn schema_ids_match() {
    let set = SchemaSet::builtin();
    let cases = vectors()["schemas"].as_array().expect("array").clone();
    assert_eq!(cases.len(), set.iter().count());
    for case in cases {
        let schema = set
            .get(case["name"].as_str().expect("name"))
            .expect("shipped");
        assert_eq!(
            schema.canonical(),
            case["canonical"].as_str().expect("canonical")
        );
        assert_eq!(schema.id(), f(&case["id"]));
    }
}

#[test]
fn holder_commitment_and_nullifier_match() {
    let v = &vectors()["holder"];
    let secret = HolderSecret::parse(v["secret"].as_str().expect("secret")).expect("valid");
    assert_eq!(secret.commitment(), f(&v["commitment"]));
    let scope = string_hash(v["scope"].as_str().expect("scope")).expect("short");
    assert_eq!(secret.nullifier(scope), f(&v["nullifier"]));
}

#[test]
fn credential_commitment_matches() {
    let v = &vectors()["credential"];
    let set = SchemaSet::builtin();
    let opening = CredentialOpening {
        schema: "appraisal".into(),
        schema_id: set.get("appraisal").expect("shipped").id(),
        issuer: v["issuer"].as_str().expect("issuer").into(),
        issuer_id: dossier_core::issuer_id(v["issuer"].as_str().expect("issuer")).expect("name"),
        credential_id: v["credential_id"].as_u64().expect("id") as u32,
        holder: f(&v["holder"]),
        holder_halo2: None,
        issued_at: v["issued_at"].as_str().expect("date").into(),
        expires_at: Some(v["expires_at"].as_str().expect("date").into()),
        fields: v["fields"].as_object().expect("fields").clone(),
        salt: f(&v["salt"]),
        commitment: f(&v["commitment"]),
    };
    assert_eq!(opening.issuer_id, f(&v["issuer_id"]));
    let credential = opening
        .credential(&set)
        .expect("the circomlibjs commitment opens");
    assert_eq!(credential.validity(), f(&v["validity"]));
}

#[test]
fn query_encodings_and_hashes_match_a_javascript_reading_of_the_docs() {
    // gen.js encodes these queries from docs/queries.md alone ("Computing a query hash"): the
    // shape choice, every element in order, and the chained hash.
    let v = vectors();
    let schemas = SchemaSet::builtin();
    let cases = v["queries"].as_array().expect("queries");
    assert_eq!(cases.len(), 4);
    for case in cases {
        let query: dossier_core::query::Query =
            serde_json::from_value(case["query"].clone()).expect("query");
        let shape = query.shape().expect("fits");
        assert_eq!(shape.name(), case["shape"].as_str().expect("shape"));
        let encoded = query.encode(&schemas, shape).expect("encodes");
        let expected: Vec<Fr> = case["elements"]
            .as_array()
            .expect("elements")
            .iter()
            .map(f)
            .collect();
        assert_eq!(encoded.to_field_elements(), expected, "{}", case["query"]);
        assert_eq!(encoded.hash().expect("hash"), f(&case["hash"]));
    }
}
