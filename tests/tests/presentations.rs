//! Presentations end to end with real Groth16 proofs: a recruiter's request, the holder's local
//! proof, and the verifier's check — and every way a presentation must be refused: a tampered
//! proof, public input or checkpoint, points off the curve or outside the subgroup, non-canonical
//! field elements, a replay, another challenge, another query, an unanchored or stale root,
//! revoked and expired credentials, someone else's credential, and keys that do not match
//! their pins.

use ark_bn254::{Fq, Fq2, G1Affine, G2Affine};
use ark_serialize::CanonicalSerialize;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_tests::{dossier, issue_to_wallet, ok, ok_json, run};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

struct Fixture {
    _dir: tempfile::TempDir,
    home: PathBuf,
    params: PathBuf,
    wallet: PathBuf,
    request: PathBuf,
    presentation: Value,
    early_checkpoint: String,
}

fn fixture() -> &'static Fixture {
    static F: dossier_tests::PerEngine<Fixture> = dossier_tests::PerEngine::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tmp");
        let home = dir.path().join("home");
        let params = dir.path().join("params");
        let p = params.to_str().expect("p").to_string();
        ok(&home, &["--params", &p, "setup", "--insecure-dev-setup"]);
        ok(&home, &["issuer", "init", "univ.law-school"]);
        let early = ok_json(&home, &["checkpoint"])["note"].as_str().expect("note").to_string();
        let wallet = dir.path().join("wallet.json");
        let w = wallet.to_str().expect("w").to_string();
        let holder = ok_json(&home, &["holder", "init", "--wallet", &w])["holder"].as_str().expect("h").to_string();
        let claim = dir.path().join("degree.json");
        std::fs::write(&claim, json!({"schema": "qualification", "holder": holder,
            "fields": {"degree_level": "master", "field": "law", "institution": "UL-001", "award_year": 2015}}).to_string()).expect("w");
        let out = dir.path().join("o.jsonl");
        ok(&home, &["issue", "--issuer", "univ.law-school", "--claim", claim.to_str().expect("c"), "--out", out.to_str().expect("o")]);
        ok(&home, &["holder", "import", out.to_str().expect("o"), "--wallet", &w]);
        ok(&home, &["checkpoint"]);
        let query = dir.path().join("q.json");
        std::fs::write(&query, RECRUITMENT).expect("w");
        let request = dir.path().join("req.json");
        ok(&home, &["request", "--query", query.to_str().expect("q"), "--scope", "recruitment:2026:tax", "--max-age", "3600", "--out", request.to_str().expect("r")]);
        let pres = dir.path().join("p.json");
        ok(&home, &["--params", &p, "prove", "--request", request.to_str().expect("r"), "--wallet", &w, "--out", pres.to_str().expect("p")]);
        let presentation = serde_json::from_str(&std::fs::read_to_string(&pres).expect("read")).expect("json");
        Fixture { _dir: dir, home, params, wallet, request, presentation, early_checkpoint: early }
    })
}

const RECRUITMENT: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#;

/// Verifies a (possibly modified) presentation; returns the exit code and stderr.
fn verify(
    f: &Fixture,
    presentation: &Value,
    request: &Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let path = f.home.join(format!("p-{}.json", rand::random::<u64>()));
    std::fs::write(&path, presentation.to_string()).expect("write");
    let mut args = vec![
        "--params",
        f.params.to_str().expect("p"),
        "verify",
        "--request",
        request.to_str().expect("r"),
        path.to_str().expect("p"),
    ];
    args.extend_from_slice(extra);
    let out = run(&f.home, &args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout),
    )
}

fn refused(f: &Fixture, p: &Value, expect: &str) {
    let (code, text) = verify(f, p, &f.request, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains(expect), "expected {expect:?} in {text}");
}

fn proof_bytes(p: &Value) -> Vec<u8> {
    STANDARD
        .decode(p["proof"].as_str().expect("proof"))
        .expect("b64")
}

fn with_proof(p: &Value, bytes: &[u8]) -> Value {
    let mut q = p.clone();
    q["proof"] = Value::String(STANDARD.encode(bytes));
    q
}

#[test]
fn a_valid_presentation_verifies_and_says_what_it_proves() {
    let f = fixture();
    let (code, text) = verify(f, &f.presentation, &f.request, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("degree_level >= master and field in {law, economics}"),
        "{text}"
    );
    assert!(text.contains("qualification.award_year = 2015"), "{text}");
    assert!(
        text.contains("INSECURE"),
        "the development setup is labelled: {text}"
    );
    assert_eq!(proof_bytes(&f.presentation).len(), 128);
}

#[test]
fn a_replay_in_the_same_scope_is_refused() {
    let f = fixture();
    let seen = f.home.join(format!("seen-{}.json", rand::random::<u64>()));
    let s = seen.to_str().expect("s");
    assert_eq!(
        verify(f, &f.presentation, &f.request, &["--nullifiers", s]).0,
        Some(0)
    );
    let (code, text) = verify(f, &f.presentation, &f.request, &["--nullifiers", s]);
    assert_eq!(code, Some(1));
    assert!(text.contains("already presented"), "{text}");
}

#[test]
fn another_challenge_or_query_is_refused() {
    let f = fixture();
    let other = f.home.join("other-request.json");
    let query = f.home.join("q2.json");
    std::fs::write(&query, RECRUITMENT).expect("w");
    ok(
        &f.home,
        &[
            "request",
            "--query",
            query.to_str().expect("q"),
            "--scope",
            "recruitment:2026:tax",
            "--max-age",
            "3600",
            "--out",
            other.to_str().expect("o"),
        ],
    );
    let (code, text) = verify(f, &f.presentation, &other, &[]);
    assert_eq!(code, Some(1));
    assert!(text.contains("challenge differs"), "{text}");

    // A proof for query A shown for query B: the holder edits the embedded request to match B.
    let mut req: Value =
        serde_json::from_str(&std::fs::read_to_string(&f.request).expect("r")).expect("j");
    req["query"]["credentials"][0]["where"]["degree_level"]["$gte"] = json!("doctorate");
    let b = f.home.join("query-b.json");
    std::fs::write(&b, req.to_string()).expect("w");
    let mut p = f.presentation.clone();
    p["request"] = req;
    let (code, text) = verify(f, &p, &b, &[]);
    assert_eq!(code, Some(1));
    assert!(text.contains("query_hash"), "{text}");
}

#[test]
fn a_tampered_proof_is_refused() {
    let f = fixture();
    for i in [0usize, 40, 100, 127] {
        let mut b = proof_bytes(&f.presentation);
        b[i] ^= 0x01;
        let (code, text) = verify(f, &with_proof(&f.presentation, &b), &f.request, &[]);
        assert_eq!(code, Some(1), "byte {i}: {text}");
    }
    let b = proof_bytes(&f.presentation);
    let (code, _) = verify(f, &with_proof(&f.presentation, &b[..127]), &f.request, &[]);
    assert_eq!(code, Some(1), "a short proof");
}

#[test]
fn points_off_the_curve_or_outside_the_subgroup_are_refused() {
    let f = fixture();
    let b = proof_bytes(&f.presentation);
    // A: an x with no point on the curve.
    let off_curve = (1u64..)
        .map(Fq::from)
        .find(|x| G1Affine::get_point_from_x_unchecked(*x, false).is_none())
        .expect("x");
    let mut a = Vec::new();
    off_curve.serialize_compressed(&mut a).expect("ser");
    let mut bad = b.clone();
    bad[..32].copy_from_slice(&a);
    let (code, text) = verify(f, &with_proof(&f.presentation, &bad), &f.request, &[]);
    assert_eq!(code, Some(1));
    assert!(text.contains("invalid point encoding"), "{text}");
    // B: a point on the G2 twist but outside the prime-order subgroup.
    let outside = (1u64..)
        .filter_map(|i| {
            G2Affine::get_point_from_x_unchecked(Fq2::new(Fq::from(i), Fq::from(1u64)), false)
        })
        .find(|p| !p.is_in_correct_subgroup_assuming_on_curve())
        .expect("point");
    let mut g2 = Vec::new();
    outside.serialize_compressed(&mut g2).expect("ser");
    let mut bad = b.clone();
    bad[32..96].copy_from_slice(&g2);
    let (code, text) = verify(f, &with_proof(&f.presentation, &bad), &f.request, &[]);
    assert_eq!(code, Some(1));
    assert!(text.contains("invalid point encoding"), "{text}");
}

#[test]
fn tampered_and_non_canonical_public_inputs_are_refused() {
    let f = fixture();
    let n = f.presentation["public_inputs"]
        .as_array()
        .expect("inputs")
        .len();
    // Changing the nullifier (index M+4 = 5) or a revealed value breaks the proof.
    for (i, expect) in [
        (5usize, "does not verify"),
        (n - 2, "does not verify"),
        (0, "not the checkpoint's root"),
    ] {
        let mut p = f.presentation.clone();
        p["public_inputs"][i] = json!(dossier_core::field::to_hex(&dossier_core::Fr::from(
            2016u64
        )));
        refused(f, &p, expect);
    }
    // The challenge input differs from the request's.
    let mut p = f.presentation.clone();
    p["public_inputs"][2] = json!(dossier_core::field::to_hex(&dossier_core::Fr::from(7u64)));
    refused(f, &p, "challenge");
    // p + x instead of x: refused as non-canonical, never reduced.
    let mut p = f.presentation.clone();
    p["public_inputs"][n - 2] =
        json!("0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f00007e0");
    let (code, text) = verify(f, &p, &f.request, &[]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not a canonical field element"), "{text}");
    // One input too few.
    let mut p = f.presentation.clone();
    p["public_inputs"].as_array_mut().expect("a").pop();
    assert_eq!(verify(f, &p, &f.request, &[]).0, Some(2));
}

#[test]
fn tampered_unanchored_and_stale_checkpoints_are_refused() {
    let f = fixture();
    let note = f.presentation["checkpoint"]
        .as_str()
        .expect("note")
        .to_string();
    let mut p = f.presentation.clone();
    let lines: Vec<&str> = note.lines().collect();
    let size: u64 = lines[1].parse().expect("size");
    p["checkpoint"] = json!(note.replacen(&format!("\n{size}\n"), &format!("\n{}\n", size + 1), 1));
    refused(f, &p, "checkpoint");
    // A checkpoint from before the credential existed does not anchor its root.
    let mut p = f.presentation.clone();
    p["checkpoint"] = json!(f.early_checkpoint);
    refused(f, &p, "not the checkpoint's root of an accepted issuer");
    // Stale: a request allowing 0 seconds, verified a second later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut req: Value =
        serde_json::from_str(&std::fs::read_to_string(&f.request).expect("r")).expect("j");
    req["max_checkpoint_age_seconds"] = json!(0);
    let strict = f.home.join("strict.json");
    std::fs::write(&strict, req.to_string()).expect("w");
    let mut p = f.presentation.clone();
    p["request"] = req;
    let (code, text) = verify(f, &p, &strict, &[]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("checkpoint is") && text.contains("old"),
        "{text}"
    );
    // A checkpoint signed by a key the verifier does not trust.
    let stranger =
        dossier_core::keys::KeyPair::generate("dossier.local/ledger", &mut rand::thread_rng())
            .expect("key");
    let (code, _) = verify(
        f,
        &f.presentation,
        &f.request,
        &["--log-key", &stranger.verifier_key()],
    );
    assert_eq!(code, Some(1));
}

#[test]
fn keys_that_do_not_match_their_pins_are_refused() {
    let f = fixture();
    let copy = f.home.join("params-copy");
    std::fs::create_dir_all(&copy).expect("dir");
    for e in std::fs::read_dir(&f.params).expect("params") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), copy.join(e.file_name())).expect("copy");
    }
    let vk = copy.join("m1p4k4r2.vk");
    let mut bytes = std::fs::read(&vk).expect("vk");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&vk, bytes).expect("w");
    let path = f.home.join("pin.json");
    std::fs::write(&path, f.presentation.to_string()).expect("w");
    let out = run(
        &f.home,
        &[
            "--params",
            copy.to_str().expect("c"),
            "verify",
            "--request",
            f.request.to_str().expect("r"),
            path.to_str().expect("p"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match the manifest"));
}

#[test]
fn revoked_expired_and_foreign_credentials_cannot_be_proven() {
    let dir = tempfile::tempdir().expect("tmp");
    let f = fixture();
    let home = dir.path().join("home");
    let p = f.params.to_str().expect("p");
    ok(&home, &["issuer", "init", "univ.law-school"]);
    let wallet = dir.path().join("w.json");
    let w = wallet.to_str().expect("w");
    let holder = ok_json(&home, &["holder", "init", "--wallet", w])["holder"]
        .as_str()
        .expect("h")
        .to_string();
    let claim = |expires: &str| {
        json!({"schema": "qualification", "holder": holder, "expires_at": expires,
        "fields": {"degree_level": "master", "field": "law", "institution": "UL-001", "award_year": 2015}})
    };
    issue_to_wallet(&home, "univ.law-school", &claim("2020-01-01"), &wallet);
    ok(&home, &["checkpoint"]);
    let q = dir.path().join("q.json");
    std::fs::write(&q, RECRUITMENT).expect("w");
    let req = dir.path().join("r.json");
    ok(
        &home,
        &[
            "request",
            "--query",
            q.to_str().expect("q"),
            "--scope",
            "s",
            "--out",
            req.to_str().expect("r"),
        ],
    );
    let prove = |wallet: &str| {
        run(
            &home,
            &[
                "--params",
                p,
                "prove",
                "--request",
                req.to_str().expect("r"),
                "--wallet",
                wallet,
                "--out",
                dir.path().join("p.json").to_str().expect("p"),
            ],
        )
    };
    let expired = prove(w);
    assert_eq!(expired.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&expired.stderr).contains("expired"));

    // A valid degree, then revoked.
    let out2 = issue_to_wallet(&home, "univ.law-school", &claim("2040-01-01"), &wallet);
    ok(&home, &["checkpoint"]);
    assert!(prove(w).status.success());
    ok(
        &home,
        &["revoke", "--issuer", "univ.law-school", "--id", "1"],
    );
    ok(&home, &["checkpoint"]);
    let revoked = prove(w);
    assert_eq!(revoked.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&revoked.stderr).contains("revoked"),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );

    // Someone else cannot import or use the holder's credential.
    let thief = dir.path().join("thief.json");
    let t = thief.to_str().expect("t");
    ok(&home, &["holder", "init", "--wallet", t]);
    let stolen = run(
        &home,
        &["holder", "import", out2.to_str().expect("o"), "--wallet", t],
    );
    assert!(stolen.status.success(), "other holders' lines are skipped");
    assert_eq!(
        ok_json(&home, &["holder", "show", "--wallet", t])["credentials"]
            .as_array()
            .expect("c")
            .len(),
        0
    );
    assert_eq!(prove(t).status.code(), Some(2));
    let _ = dossier(&home);
}

#[test]
fn batch_verification_accepts_valid_batches_and_catches_one_bad_proof() {
    let f = fixture();
    let keys = dossier_verifier::VerifierKeys::load(&f.params).expect("keys");
    let key = &keys.keys["m1p4k4r2"];
    let schemas = dossier_core::schema::SchemaSet::builtin();
    let log_key = ok_json(&f.home, &["ledger", "info"])["log_key"]
        .as_str()
        .expect("k")
        .to_string();
    let trust = dossier_verifier::Trust::key_only(&log_key);
    let mut items = Vec::new();
    for i in 0..3 {
        let req = f.home.join(format!("batch-req-{i}.json"));
        let q = f.home.join("batch-q.json");
        std::fs::write(&q, RECRUITMENT).expect("w");
        ok(
            &f.home,
            &[
                "request",
                "--query",
                q.to_str().expect("q"),
                "--scope",
                &format!("batch:{i}"),
                "--max-age",
                "3600",
                "--out",
                req.to_str().expect("r"),
            ],
        );
        let out = f.home.join(format!("batch-p-{i}.json"));
        ok(
            &f.home,
            &[
                "--params",
                f.params.to_str().expect("p"),
                "prove",
                "--request",
                req.to_str().expect("r"),
                "--wallet",
                f.wallet.to_str().expect("w"),
                "--out",
                out.to_str().expect("o"),
            ],
        );
        let request: dossier_core::presentation::PresentationRequest =
            serde_json::from_str(&std::fs::read_to_string(&req).expect("r")).expect("j");
        let p: dossier_core::presentation::Presentation =
            serde_json::from_str(&std::fs::read_to_string(&out).expect("r")).expect("j");
        let checked =
            dossier_verifier::verify(&request, &p, &keys, &trust, &schemas, u64::MAX / 2).err();
        assert!(
            checked.is_some(),
            "a checkpoint from long ago is stale at a far-future now"
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("t")
            .as_secs();
        let checked =
            dossier_verifier::verify(&request, &p, &keys, &trust, &schemas, now).expect("valid");
        items.push(checked.groth16.expect("a groth16 proof"));
    }
    dossier_verifier::verify_batch(key, &items).expect("a valid batch passes");
    // A long-lived verifier's fixed-base tables give the same verdicts.
    key.precompute();
    for (proof, inputs) in &items {
        dossier_verifier::verify_proof(key, proof, inputs).expect("valid with tables");
        let mut tampered = inputs.clone();
        tampered[0] += dossier_core::Fr::from(1u64);
        assert!(dossier_verifier::verify_proof(key, proof, &tampered).is_err());
    }
    let mut bad = items.clone();
    bad[1].1[5] += dossier_core::Fr::from(1u64); // one nullifier changed
    assert!(dossier_verifier::verify_batch(key, &bad).is_err());
    let mut swapped = items.clone();
    swapped[0].0 = items[1].0.clone(); // a valid proof under another proof's inputs
    assert!(dossier_verifier::verify_batch(key, &swapped).is_err());
    let mut short = items;
    short[2].1.pop();
    assert!(dossier_verifier::verify_batch(key, &short).is_err());
}

dossier_tests::also_on_postgres!(
    a_valid_presentation_verifies_and_says_what_it_proves,
    a_replay_in_the_same_scope_is_refused,
    tampered_unanchored_and_stale_checkpoints_are_refused,
    revoked_expired_and_foreign_credentials_cannot_be_proven,
);
