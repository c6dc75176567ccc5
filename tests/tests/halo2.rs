//! The halo2 backend end to end from the CLI: a request naming `--backend halo2`, a real IPA
//! proof from the holder's wallet, the verifier's check against the twin registry root in the
//! signed checkpoint; every public input, the proof and the checkpoint tampered with are refused,
//! a replay in the scope is refused, and a presentation of the other backend does not answer the
//! request.

use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_tests::*;
use serde_json::{json, Value};
use std::path::Path;

const RECRUITMENT: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#;

fn degree() -> Value {
    json!({"schema": "qualification", "expires_at": "2040-01-01", "fields":
        {"degree_level": "master", "field": "law", "institution": "UL-001", "award_year": 2015}})
}

/// Verifies `presentation` (JSON) against the request; returns exit code and all output.
fn verify(p: &Proven, presentation: &Value, extra: &[&str]) -> (Option<i32>, String) {
    let path = p.home.join(format!("p-{}.json", rand::random::<u64>()));
    std::fs::write(&path, presentation.to_string()).expect("write");
    let mut args = vec![
        "--params",
        p.params.to_str().expect("p"),
        "verify",
        "--request",
        p.request.to_str().expect("r"),
        path.to_str().expect("p"),
    ];
    args.extend_from_slice(extra);
    let out = run(&p.home, &args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout),
    )
}

/// A halo2 presentation of the degree for the recruitment query in `scope`.
fn proven_halo2(dir: &Path, scope: &str) -> Proven {
    prove_one_on(
        dir,
        "univ.law-school",
        degree(),
        RECRUITMENT,
        scope,
        "halo2",
    )
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json")
}

#[test]
fn a_halo2_presentation_verifies_and_every_tampering_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = proven_halo2(dir.path(), "recruitment:2026:halo2");
    let request = read(&p.request);
    assert_eq!(request["backend"], "halo2");
    let good = read(&p.presentation);
    assert_eq!(good["backend"], "halo2");
    let proof = STANDARD
        .decode(good["proof"].as_str().expect("proof"))
        .expect("b64");
    assert!(
        proof.len() > 1000,
        "an IPA transcript, {} bytes",
        proof.len()
    );

    let nullifiers = p.home.join("seen.json");
    let seen = nullifiers.to_str().expect("utf-8");
    let (code, text) = verify(&p, &good, &["--nullifiers", seen]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("VALID") && text.contains("award_year = 2015"),
        "{text}"
    );
    assert!(!text.contains("INSECURE"), "halo2 has no setup: {text}");
    let (code, text) = verify(&p, &good, &["--nullifiers", seen]);
    assert_eq!(code, Some(1), "a replay in the scope: {text}");
    assert!(text.contains("already presented"), "{text}");
    // No trusted setup: a verifier without any Groth16 parameters checks it.
    let path = p.home.join("good.json");
    std::fs::write(&path, good.to_string()).expect("write");
    let empty = p.home.join("no-params");
    let out = run(
        &p.home,
        &[
            "--params",
            empty.to_str().expect("p"),
            "verify",
            "--request",
            p.request.to_str().expect("r"),
            path.to_str().expect("p"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!empty.exists(), "nothing written to the params folder");

    // Every public input changed by one is refused, by the native checks or by the proof.
    let inputs = good["public_inputs"].as_array().expect("inputs").clone();
    for i in 0..inputs.len() {
        let mut bad = good.clone();
        let x = dossier_core::pasta::parse("x", inputs[i].as_str().expect("hex")).expect("fp");
        bad["public_inputs"][i] = Value::String(dossier_core::pasta::to_hex(
            &(x + dossier_core::pasta::Fp::one()),
        ));
        let (code, text) = verify(&p, &bad, &[]);
        assert_eq!(code, Some(1), "public input {i}: {text}");
    }
    // A non-canonical input (>= the Pallas modulus) is unusable input, not a verdict.
    let mut bad = good.clone();
    bad["public_inputs"][0] =
        json!("0x40000000000000000000000000000000224698fc094cf91b992d30ed00000001");
    let (code, text) = verify(&p, &bad, &[]);
    assert_eq!(code, Some(2), "{text}");
    // The proof: a flipped byte, truncated, empty, not base64.
    for (what, bytes) in [
        ("flipped", {
            let mut b = proof.clone();
            b[100] ^= 1;
            b
        }),
        ("truncated", proof[..proof.len() - 32].to_vec()),
        ("empty", Vec::new()),
        ("a byte appended", {
            let mut b = proof.clone();
            b.push(0);
            b
        }),
        ("an evaluation changed", last_scalar_changed(&proof)),
    ] {
        let mut bad = good.clone();
        bad["proof"] = Value::String(STANDARD.encode(&bytes));
        let (code, text) = verify(&p, &bad, &[]);
        assert_eq!(code, Some(1), "{what} proof: {text}");
    }
    // Another key name, another checkpoint text, another backend label.
    let mut bad = good.clone();
    bad["vk_sha256"] = json!("00".repeat(32));
    assert_eq!(verify(&p, &bad, &[]).0, Some(2), "another key");
    let mut bad = good.clone();
    let cp = bad["checkpoint"].as_str().expect("cp").to_string();
    bad["checkpoint"] = Value::String(cp.replace("\ntime ", "\ntime 1"));
    assert_eq!(verify(&p, &bad, &[]).0, Some(1), "a tampered checkpoint");
    let mut bad = good.clone();
    bad["backend"] = json!("groth16");
    let (code, text) = verify(&p, &bad, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("backend"), "{text}");
}

/// The proof with its last field element (an evaluation, little-endian) changed in its lowest
/// bit: still a canonical encoding, so the proof reads to the end and only its final check fails.
fn last_scalar_changed(proof: &[u8]) -> Vec<u8> {
    let mut b = proof.to_vec();
    let n = b.len();
    b[n - 32] ^= 1;
    b
}

#[test]
fn halo2_presentations_are_verified_in_batches_with_a_verdict_each() {
    use dossier_core::presentation::{Presentation, PresentationRequest};
    let dir = tempfile::tempdir().expect("tmp");
    let p = proven_halo2(dir.path(), "recruitment:2026:halo2-batch");
    let request: PresentationRequest = serde_json::from_value(read(&p.request)).expect("request");
    let good: Presentation = serde_json::from_value(read(&p.presentation)).expect("presentation");
    let log_key = ok_json(&p.home, &["ledger", "info"])["log_key"]
        .as_str()
        .expect("log key")
        .to_string();
    let schemas = dossier_core::schema::SchemaSet::builtin();
    let keys = dossier_verifier::VerifierKeys::none();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let proof = STANDARD.decode(&good.proof).expect("b64");
    let with_proof = |bytes: Vec<u8>| {
        let mut p = good.clone();
        p.proof = STANDARD.encode(bytes);
        p
    };
    let changed = with_proof(last_scalar_changed(&proof));
    let appended = with_proof([proof.clone(), vec![0]].concat());
    let trust = dossier_verifier::Trust::key_only(&log_key);
    let judge = |ps: &[&Presentation]| {
        let items: Vec<dossier_verifier::BatchItem<'_>> = ps
            .iter()
            .map(|p| dossier_verifier::BatchItem {
                request: &request,
                presentation: p,
                now,
            })
            .collect();
        dossier_verifier::verify_presentations(&items, &keys, &trust, &schemas)
    };
    // A batch of valid proofs passes, each with the verdict a single check gives.
    let single = dossier_verifier::halo2::verify(&request, &good, &trust, &schemas, now)
        .expect("valid alone");
    let all = judge(&[&good, &good, &good]);
    assert_eq!(all.len(), 3);
    for r in &all {
        let c = r.as_ref().expect("valid in a batch");
        assert_eq!(c.nullifier, single.nullifier);
        assert!(c.verdict.valid);
    }
    // One bad proof fails the batch; the fallback gives each its own verdict.
    let mixed = judge(&[&good, &changed, &good, &appended]);
    assert!(mixed[0].is_ok() && mixed[2].is_ok(), "{mixed:?}");
    assert!(
        matches!(mixed[1], Err(dossier_verifier::VerifyError::InvalidProof)),
        "{:?}",
        mixed[1]
    );
    assert!(
        matches!(
            mixed[3],
            Err(dossier_verifier::VerifyError::ProofEncoding(_))
        ),
        "{:?}",
        mixed[3]
    );
    // The batch check itself, below the verifier: the changed evaluation reads to the end, so
    // only the folded MSM can catch it.
    let keys = dossier_halo2::proof::VerifyingKeys::shared(good.shape).expect("keys");
    let bad = last_scalar_changed(&proof);
    let instance = halo2_instance(&request, &good);
    let valid = (proof.as_slice(), instance.as_slice());
    let invalid = (bad.as_slice(), instance.as_slice());
    keys.verify_batch(&[valid, valid]).expect("two valid");
    assert!(keys.verify(&bad, &instance).is_err());
    for batch in [[valid, invalid], [invalid, valid]] {
        assert!(
            keys.verify_batch(&batch).is_err(),
            "a false proof in a batch"
        );
    }
}

/// The instance column the verifier builds: the presentation's public inputs, then the
/// request's encoded query.
fn halo2_instance(
    request: &dossier_core::presentation::PresentationRequest,
    p: &dossier_core::presentation::Presentation,
) -> Vec<dossier_core::pasta::Fp> {
    let schemas = dossier_core::schema::SchemaSet::builtin();
    let encoded = request.query.encode(&schemas, p.shape).expect("encodes");
    let public: Vec<_> = p
        .public_inputs
        .iter()
        .map(|x| dossier_core::pasta::parse("input", x).expect("fp"))
        .collect();
    dossier_halo2::statement::instance(&public, &encoded.to_pasta_elements())
}

#[test]
fn a_groth16_presentation_does_not_answer_a_halo2_request() {
    let dir = tempfile::tempdir().expect("tmp");
    let g = prove_one(
        dir.path(),
        "univ.law-school",
        degree(),
        RECRUITMENT,
        "recruitment:2026:both",
    );
    // The same verifier asks again, for halo2 this time; the Groth16 proof cannot answer it.
    let halo2_request = dir.path().join("r2.json");
    request_on(
        &g.home,
        RECRUITMENT,
        "recruitment:2026:both",
        &halo2_request,
        "halo2",
    );
    let mut asked = read(&halo2_request);
    asked["challenge"] = read(&g.request)["challenge"].clone();
    std::fs::write(&halo2_request, asked.to_string()).expect("write");
    let out = run(
        &g.home,
        &[
            "--params",
            g.params.to_str().expect("p"),
            "verify",
            "--request",
            halo2_request.to_str().expect("r"),
            g.presentation.to_str().expect("p"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("backend"));
}

dossier_tests::also_on_postgres!(a_halo2_presentation_verifies_and_every_tampering_is_refused,);
