//! Golden files: the development setup's verifying key and a proof made with seeded randomness,
//! byte for byte (`fixtures/golden/`). A change to the circuit, the encodings or the key format
//! shows here; regenerate deliberately with `DOSSIER_REGENERATE_GOLDEN=1 cargo test -p
//! dossier-prover --test golden`.

mod common;

use ark_bn254::Fr;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_circuits::statement::StatementWitness;
use dossier_core::presentation::PresentationRequest;
use dossier_core::query::Query;
use dossier_core::schema::SchemaSet;
use dossier_prover::msm::MsmBackend;
use dossier_prover::ShapeProver;
use rand::SeedableRng;
use std::path::PathBuf;

fn golden(name: &str, bytes: &[u8]) {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/golden")).join(name);
    if std::env::var_os("DOSSIER_REGENERATE_GOLDEN").is_some() {
        std::fs::write(&path, bytes).expect("write golden file");
    }
    let want = std::fs::read(&path)
        .expect("golden file present (regenerate with DOSSIER_REGENERATE_GOLDEN=1)");
    assert!(
        want == bytes,
        "{} differs from what the code produces now",
        path.display()
    );
}

#[test]
fn verifying_key_and_proof_match_their_golden_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let shape = dossier_core::query::SHAPES[0];
    dossier_prover::setup_dev(dir.path(), &[shape], |_, _| {}).expect("setup");
    golden(
        "m1p4k4r2.vk",
        &std::fs::read(dir.path().join("m1p4k4r2.vk")).expect("vk"),
    );

    let schemas = SchemaSet::builtin();
    let (secret, offered) = common::degree(&schemas, "univ.law-school");
    let query = Query::from_json(r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#)
    .expect("query");
    let request = PresentationRequest {
        query,
        challenge: Fr::from(7u64),
        scope: "golden".into(),
        today: "2026-06-30".into(),
        max_checkpoint_age_seconds: 60,
        backend: dossier_core::presentation::Backend::Groth16,
        purpose: None,
        legal_basis: None,
        audience: None,
    };
    let encoded = request.query.encode(&schemas, shape).expect("encode");
    let w = StatementWitness::build(
        &encoded,
        &secret,
        &[offered],
        request.challenge,
        request.scope_field().expect("s"),
        request.today_days().expect("t"),
    )
    .expect("satisfiable");
    let inputs = w.public.to_field_elements();
    let mut prover = ShapeProver::load(dir.path(), shape).expect("pk");
    // The golden proof came from ark-groth16's own prover: each MSM backend must give it again
    // (the real key and witness beside the random ones of `msm`'s unit tests).
    let mut p = None;
    for backend in [MsmBackend::best(), MsmBackend::Arkworks] {
        prover.set_msm_backend(backend);
        assert_eq!(prover.msm_backend(), backend);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed([7u8; 32]);
        let made = prover
            .prove_with_rng(&request, w.clone(), "", &mut rng)
            .expect("prove");
        let proof = STANDARD.decode(&made.proof).expect("b64");
        assert_eq!(proof.len(), 128, "Groth16 on BN254: 128 bytes compressed");
        golden("m1p4k4r2.proof", &proof);
        p = Some(made);
    }
    let p = p.expect("proven");
    let keys = dossier_verifier::VerifierKeys::load(dir.path()).expect("keys");
    let decoded = dossier_verifier::decode_proof(&p.proof).expect("decodes");
    dossier_verifier::verify_proof(&keys.keys[&shape.name()], &decoded, &inputs)
        .expect("the golden proof verifies");
}
