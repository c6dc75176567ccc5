//! Verify anywhere, part one: a dossier presentation exported in snarkjs's formats is accepted by
//! snarkjs itself (npm, pinned in `fixtures/snarkjs/`, installed by `.ci/run`), and a tampered
//! proof or public input is rejected by it; the formats import back into the Rust verifier.

use dossier_tests::{ok, prove_one, snarkjs_dir, Proven};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

fn snarkjs_verify(dir: &Path, vk: &Path, public: &Path, proof: &Path) -> i32 {
    Command::new("node")
        .arg(dir.join("verify.js"))
        .args([vk, public, proof])
        .output()
        .expect("node runs")
        .status
        .code()
        .unwrap_or(-1)
}

#[test]
fn snarkjs_accepts_our_proofs_and_rejects_tampered_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let Proven {
        home,
        params,
        presentation: pres,
        ..
    } = prove_one(
        dir.path(),
        "univ.law-school",
        json!({"schema": "retirement", "fields": {"years_of_service": 31, "retired_on": "2026-01-31"}}),
        r#"{"credentials": [{"schema": "retirement", "issuers": ["univ.law-school"], "where": {"years_of_service": {"$gte": 30}}}]}"#,
        "pension:2026",
    );
    let p = params.to_str().expect("p");
    let sj = dir.path().join("sj");
    ok(
        &home,
        &[
            "--params",
            p,
            "export",
            "snarkjs",
            "--presentation",
            pres.to_str().expect("p"),
            "--out",
            sj.to_str().expect("s"),
        ],
    );
    let (vk, public, proof) = (
        sj.join("verification_key.json"),
        sj.join("public.json"),
        sj.join("proof.json"),
    );
    let read = |f: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("json")
    };

    // The formats import back, validated, and verify with the Rust verifier.
    let vk_back = dossier_verifier::snarkjs::verifying_key_from(&read(&vk)).expect("vk imports");
    let proof_back = dossier_verifier::snarkjs::proof_from(&read(&proof)).expect("proof imports");
    let inputs = dossier_verifier::snarkjs::public_from(&read(&public)).expect("inputs import");
    let key = dossier_verifier::keys::ShapeKey {
        pvk: ark_groth16::prepare_verifying_key(&vk_back),
        vk_sha256: String::new(),
        tables: Default::default(),
    };
    dossier_verifier::verify_proof(&key, &proof_back, &inputs)
        .expect("round-tripped proof verifies");
    let mut off = read(&proof);
    off["pi_a"][1] = json!("5");
    assert!(
        dossier_verifier::snarkjs::proof_from(&off).is_err(),
        "a point off the curve is refused on import"
    );

    // `dossier import snarkjs` checks the triple against the pinned key it matches.
    let import = |vk: &Path, public: &Path| {
        dossier_tests::run(
            &home,
            &[
                "--params",
                p,
                "--json",
                "import",
                "snarkjs",
                "--vk",
                vk.to_str().expect("v"),
                "--proof",
                proof.to_str().expect("p"),
                "--public",
                public.to_str().expect("u"),
            ],
        )
    };
    let r = import(&vk, &public);
    let imported: Value = serde_json::from_slice(&r.stdout).expect("json");
    assert_eq!(r.status.code(), Some(0), "{imported}");
    assert_eq!(imported["valid"], true, "{imported}");
    assert_eq!(imported["today"].as_u64().map(|d| d > 20_000), Some(true));
    let mut tampered = read(&public);
    tampered[5] = json!("12345");
    let tp = sj.join("public-tampered.json");
    std::fs::write(&tp, tampered.to_string()).expect("w");
    let r = import(&vk, &tp);
    assert_eq!(r.status.code(), Some(1), "a tampered input is invalid");
    let mut foreign = read(&vk);
    foreign["vk_alpha_1"] = foreign["IC"][0].clone();
    let fv = sj.join("vk-foreign.json");
    std::fs::write(&fv, foreign.to_string()).expect("w");
    let r = import(&fv, &public);
    assert_eq!(
        r.status.code(),
        Some(2),
        "a key that is not pinned is unusable"
    );
    assert!(String::from_utf8_lossy(&r.stderr).contains("not one of the pinned verifying keys"));

    let Some(sdir) = snarkjs_dir() else { return };
    assert_eq!(
        snarkjs_verify(&sdir, &vk, &public, &proof),
        0,
        "snarkjs accepts the proof"
    );
    let mut bad_public = read(&public);
    bad_public[5] = json!("12345");
    let bp = sj.join("public-bad.json");
    std::fs::write(&bp, bad_public.to_string()).expect("w");
    assert_eq!(
        snarkjs_verify(&sdir, &vk, &bp, &proof),
        1,
        "snarkjs rejects a tampered public input"
    );
    let mut bad_proof = read(&proof);
    let a = bad_proof["pi_a"].clone();
    bad_proof["pi_a"] = bad_proof["pi_c"].clone();
    bad_proof["pi_c"] = a;
    let bpr = sj.join("proof-bad.json");
    std::fs::write(&bpr, bad_proof.to_string()).expect("w");
    assert_eq!(
        snarkjs_verify(&sdir, &vk, &public, &bpr),
        1,
        "snarkjs rejects a tampered proof"
    );
}
