//! Every operator of the query language with a real Groth16 proof: a satisfying witness proves
//! and verifies (against the INSECURE development keys, generated here), and the proof does not
//! verify under another challenge.

mod common;

use ark_bn254::Fr;
use dossier_circuits::statement::StatementWitness;
use dossier_core::presentation::PresentationRequest;
use dossier_core::query::Query;
use dossier_core::schema::SchemaSet;
use dossier_prover::ShapeProver;

#[test]
fn each_operator_proves_and_verifies() {
    let dir = tempfile::tempdir().expect("tmp");
    let shape = dossier_core::query::SHAPES[0];
    dossier_prover::setup_dev(dir.path(), &[shape], |_, _| {}).expect("setup");
    let prover = ShapeProver::load(dir.path(), shape).expect("pk");
    let keys = dossier_verifier::VerifierKeys::load(dir.path()).expect("vk");
    let key = &keys.keys[&shape.name()];
    let schemas = SchemaSet::builtin();
    let (secret, offered) = common::degree(&schemas, "u");
    for (field, op, value) in [
        ("award_year", "$eq", serde_json::json!(2015)),
        ("award_year", "$ne", serde_json::json!(2016)),
        ("award_year", "$lt", serde_json::json!(2016)),
        ("award_year", "$lte", serde_json::json!(2015)),
        ("award_year", "$gt", serde_json::json!(2014)),
        ("degree_level", "$gte", serde_json::json!("master")),
        ("field", "$in", serde_json::json!(["economics", "law"])),
        (
            "institution",
            "$nin",
            serde_json::json!(["UL-002", "UL-003"]),
        ),
        ("award_year", "$between", serde_json::json!([2015, 2015])),
    ] {
        let q = Query::from_json(
            &serde_json::json!({"credentials": [{"schema": "qualification", "issuers": ["u"],
            "where": {field: {op: value}}}]})
            .to_string(),
        )
        .expect("query");
        let request = PresentationRequest::new(q, "ops", "2026-06-30", 60).expect("request");
        let encoded = request.query.encode(&schemas, shape).expect("encode");
        let w = StatementWitness::build(
            &encoded,
            &secret,
            std::slice::from_ref(&offered),
            request.challenge,
            request.scope_field().expect("s"),
            request.today_days().expect("t"),
        )
        .expect("satisfiable");
        let inputs = w.public.to_field_elements();
        let p = prover.prove(&request, w, "").expect("prove");
        let proof = dossier_verifier::decode_proof(&p.proof).expect("decodes");
        dossier_verifier::verify_proof(key, &proof, &inputs)
            .unwrap_or_else(|e| panic!("{op}: {e}"));
        let mut other = inputs.clone();
        other[shape.credentials + 1] += Fr::from(1u64); // another challenge
        assert!(
            dossier_verifier::verify_proof(key, &proof, &other).is_err(),
            "{op}"
        );
    }
}
