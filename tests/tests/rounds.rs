//! Appraisal rounds from the command line (declare, prove, verify, list, audit) and over HTTP,
//! each step: the HR office declares a round with its token, proves
//! it from its own openings against the service's public ledger (`dossier round prove
//! --service`, the token in $DOSSIER_TOKEN: the grades never reach the service) and the
//! service checks the proof as a regulator does and keeps it; anyone lists the rounds and
//! fetches the proof, and the regulator re-verifies it offline. Refused, changing nothing: no
//! token, another issuer's token, ids not issued, a second round of the unit and year, a
//! malformed or unknown round id, a proof of another round, a proof relabelled with a stricter
//! quota or training rule, a proof with a forged trained count. Then `dossier audit`
//! re-verifies the kept proof, and finds one altered in the store.

use dossier_tests::{dossier, ledger_with_issuer, ok, ok_json, write_lines, Server};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const HR: &str = "hr.example";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn token(home: &Path, tokens: &Path, name: &str, issuer: &str) -> String {
    ok_json(
        home,
        &[
            "token",
            "add",
            "--name",
            name,
            "--tokens",
            s(tokens),
            "--role",
            "issuer",
            "--issuer",
            issuer,
        ],
    )["token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Publishes a checkpoint through the service and waits for its job.
fn checkpoint(server: &Server, token: &str) {
    let (status, job) = server.call("POST", "/v1/checkpoints", Some(token), None);
    assert_eq!(status, 202, "{job}");
    let id = job["id"].as_str().expect("id").to_string();
    let started = Instant::now();
    loop {
        let (_, job) = server.call("GET", &format!("/v1/jobs/{id}"), Some(token), None);
        match job["status"].as_str() {
            Some("done") => return,
            Some("failed") => panic!("checkpoint failed: {job}"),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "checkpoint job stuck"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// 12 appraisals of unit-3 for 2025: 2 excellent (20% of 12 allows 2), training hours 60, 90,
/// 120 in turn (8 of 12 with 90 or more); returns the openings file.
fn issue_unit(home: &Path, dir: &Path) -> std::path::PathBuf {
    let claims: Vec<Value> = (0..12u64)
        .map(|i| {
            json!({"schema": "appraisal", "holder": dossier_tests::holder(i + 1),
                "fields": {"year": 2025, "grade": if i % 6 == 1 { "excellent" } else { "competent" },
                    "score": 80, "unit": "unit-3", "training_hours": 60 + i % 3 * 30}})
        })
        .collect();
    let batch = dir.join("unit-3.jsonl");
    write_lines(&batch, &claims);
    let openings = dir.join("unit-3.openings.jsonl");
    ok(
        home,
        &[
            "issue",
            "--issuer",
            HR,
            "--batch",
            s(&batch),
            "--out",
            s(&openings),
        ],
    );
    openings
}

#[test]
fn a_round_is_declared_proven_verified_listed_and_audited_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let params = dir.path().join("params");
    ok(
        &home,
        &["--params", s(&params), "setup", "--insecure-dev-setup"],
    );
    ledger_with_issuer(&home);
    let openings = issue_unit(&home, dir.path());
    let which = ["--issuer", HR, "--unit", "unit-3", "--year", "2025"];
    let declare = |count: &str| {
        let mut args = vec!["round", "declare"];
        args.extend(which);
        args.extend(["--first", "0", "--count", count]);
        dossier(&home).args(&args).output().expect("runs")
    };
    assert!(!declare("13").status.success(), "ids not issued yet");
    assert!(declare("12").status.success());
    let again = declare("12");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("round refused"));
    ok(&home, &["checkpoint"]);
    let prove = |quota: &str, out: &Path| {
        let mut args = vec!["--params", s(&params), "--json", "round", "prove"];
        args.extend(which);
        args.extend([
            "--openings",
            s(&openings),
            "--quota",
            quota,
            "--training-hours",
            "90",
            "--training-share",
            "60",
            "--disclose",
            "--out",
            s(out),
        ]);
        dossier(&home).args(&args).output().expect("runs")
    };
    let proof = dir.path().join("round.json");
    let made = prove("20", &proof);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(
        !prove("10", &dir.path().join("over.json")).status.success(),
        "2 of 12 is over 10%"
    );
    let verdict = ok_json(
        &home,
        &["--params", s(&params), "round", "verify", s(&proof)],
    );
    assert_eq!(verdict["valid"], true);
    assert_eq!(
        (verdict["bound"].clone(), verdict["trained"].clone()),
        (json!(2), json!(8))
    );
    assert_eq!(verdict["distribution"], json!([0, 0, 10, 2]));
    let listed = ok_json(&home, &["round", "list"]);
    assert_eq!(listed["rounds"][0]["proof"]["quota"]["percent"], 20);
    let audit = ok_json(&home, &["--params", s(&params), "audit"]);
    assert_eq!(
        audit["round_proofs"][0]["proof"]["status"], "valid",
        "{audit}"
    );
    // The proof relabelled: refused, exit 1.
    let mut relabelled: Value =
        serde_json::from_str(&std::fs::read_to_string(&proof).expect("read")).expect("json");
    relabelled["quota"]["percent"] = json!(10);
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, relabelled.to_string()).expect("write");
    let out = dossier(&home)
        .args(["--params", s(&params), "round", "verify", s(&forged)])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_round_is_declared_proven_submitted_and_reverified_over_http() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let params = dir.path().join("params");
    ok(
        &home,
        &["--params", s(&params), "setup", "--insecure-dev-setup"],
    );
    let log_key = ledger_with_issuer(&home);
    ok(&home, &["issuer", "init", "univ.example"]);
    let openings = issue_unit(&home, dir.path());
    let tokens = dir.path().join("tokens.json");
    let hr = token(&home, &tokens, "hr", HR);
    let univ = token(&home, &tokens, "univ", "univ.example");
    let server = Server::start(&home, &params, &tokens, &[]);

    // Declaring: the HR office's token only, issued ids only, one round per unit and year.
    let declare = format!("/v1/issuers/{HR}/rounds");
    let body = |count: u32| json!({"unit": "unit-3", "year": 2025, "first": 0, "count": count});
    assert_eq!(server.call("POST", &declare, None, Some(&body(12))).0, 401);
    assert_eq!(
        server
            .call("POST", &declare, Some(&univ), Some(&body(12)))
            .0,
        403
    );
    let (status, refused) = server.call("POST", &declare, Some(&hr), Some(&body(13)));
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (409, Some("round_refused"))
    );
    assert_eq!(
        server.call("POST", &declare, Some(&hr), Some(&body(0))).0,
        400
    );
    let (status, declared) = server.call("POST", &declare, Some(&hr), Some(&body(12)));
    assert_eq!(status, 201, "{declared}");
    assert_eq!(
        server.call("POST", &declare, Some(&hr), Some(&body(12))).0,
        409
    );
    let id = declared["id"].as_str().expect("id").to_string();
    assert!(declared["proven"].is_null());
    checkpoint(&server, &hr);

    // Proving on the office's machine, from the service's public ledger; submitted with its token.
    let proof_file = dir.path().join("round.json");
    let prove = |token: Option<&str>, share: &str, out: &Path| {
        let mut cmd = dossier(&home);
        cmd.args([
            "--params",
            s(&params),
            "--json",
            "round",
            "prove",
            "--service",
            &server.base,
            "--issuer",
            HR,
            "--unit",
            "unit-3",
            "--year",
            "2025",
            "--openings",
            s(&openings),
            "--quota",
            "20",
            "--training-hours",
            "90",
            "--training-share",
            share,
            "--disclose",
            "--out",
            s(out),
        ]);
        if let Some(t) = token {
            cmd.env("DOSSIER_TOKEN", t);
        }
        cmd.output().expect("runs")
    };
    let unsent = dir.path().join("unsent.json");
    let out = prove(None, "60", &unsent);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (_, listed) = server.call("GET", "/v1/rounds", None, None);
    assert!(
        listed["rounds"][0]["proven"].is_null(),
        "nothing sent without a token"
    );
    let out = prove(Some(&hr), "60", &proof_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(said["submitted"]
        .as_str()
        .expect("sent")
        .ends_with("/proofs"));
    // A training share the round misses (67% of 12 needs 9; 8 met) cannot be proven.
    let out = prove(Some(&hr), "67", &dir.path().join("under.json"));
    assert!(!out.status.success());

    // Anyone lists the rounds and what each proof establishes, and fetches the proof.
    let (status, listed) = server.call("GET", "/v1/rounds", None, None);
    assert_eq!(status, 200);
    let proven = &listed["rounds"][0]["proven"];
    assert_eq!(proven["bound"], 2);
    assert_eq!(proven["training_floor"], 8);
    assert_eq!(proven["trained"], 8);
    assert_eq!(proven["distribution"], json!([0, 0, 10, 2]));
    assert!(
        listed["rounds"][0]["proof"].is_null(),
        "the list carries no proofs"
    );
    let (status, one) = server.call("GET", &format!("/v1/rounds/{id}"), None, None);
    assert_eq!(status, 200);
    let proof = one["proof"].clone();
    assert_eq!(proof["quota"]["percent"], 20);
    // The regulator re-verifies it offline, under the ledger's key.
    let fetched = dir.path().join("fetched.json");
    std::fs::write(&fetched, proof.to_string()).expect("write");
    let verdict = ok_json(
        &dir.path().join("regulator"),
        &[
            "--params",
            s(&params),
            "round",
            "verify",
            s(&fetched),
            "--log-key",
            &log_key,
        ],
    );
    assert_eq!(verdict["valid"], true);
    assert_eq!(verdict["trained"], 8);

    // Refused, changing nothing.
    let submit = format!("/v1/issuers/{HR}/rounds/{id}/proofs");
    let post = |token: Option<&str>, body: &Value| server.call("POST", &submit, token, Some(body));
    assert_eq!(post(None, &proof).0, 401);
    assert_eq!(
        server
            .call(
                "POST",
                &format!("/v1/issuers/univ.example/rounds/{id}/proofs"),
                Some(&univ),
                Some(&proof)
            )
            .0,
        404
    );
    let mut stricter = proof.clone();
    stricter["quota"]["percent"] = json!(10);
    assert_eq!(
        post(Some(&hr), &stricter).0,
        422,
        "a stricter quota than proven"
    );
    let mut trained = proof.clone();
    trained["trained"] = json!(12);
    assert_eq!(post(Some(&hr), &trained).0, 422, "a forged trained count");
    let mut training = proof.clone();
    training["training"]["percent"] = json!(67);
    assert_eq!(
        post(Some(&hr), &training).0,
        422,
        "a stricter training rule"
    );
    let mut other = proof.clone();
    other["round"]["count"] = json!(11);
    let (status, answer) = post(Some(&hr), &other);
    assert_eq!(
        (status, answer["error"]["field"].as_str()),
        (400, Some("round"))
    );
    let mut malformed = proof.clone();
    malformed["windows"][0]["proof"] = json!("not base64!");
    assert_eq!(
        post(Some(&hr), &malformed).0,
        422,
        "proof bytes that are no proof"
    );
    for (bad, status) in [
        ("0x12", 400),
        ("not-hex", 400),
        (
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",
            400,
        ),
        (
            "0x0000000000000000000000000000000000000000000000000000000000000005",
            404,
        ),
    ] {
        assert_eq!(
            server
                .call("GET", &format!("/v1/rounds/{bad}"), None, None)
                .0,
            status,
            "{bad}"
        );
        assert_eq!(
            server
                .call(
                    "POST",
                    &format!("/v1/issuers/{HR}/rounds/{bad}/proofs"),
                    Some(&hr),
                    Some(&proof)
                )
                .0,
            status,
            "{bad}"
        );
    }
    let (_, after) = server.call("GET", &format!("/v1/rounds/{id}"), None, None);
    assert_eq!(after["proof"], proof, "the kept proof did not move");
    drop(server);

    // The audit re-verifies the kept proof; one altered in the store is a finding (exit 1).
    let audit = ok_json(&home, &["--params", s(&params), "audit"]);
    assert_eq!(
        audit["round_proofs"][0]["proof"]["status"], "valid",
        "{audit}"
    );
    assert_eq!(audit["round_proofs"][0]["proof"]["training_floor"], 8);
    let no_keys = dir.path().join("no-params");
    let audit = ok_json(&home, &["--params", s(&no_keys), "audit"]);
    assert_eq!(audit["round_proofs"][0]["proof"]["status"], "unchecked");
    {
        let store = dossier_tests::open_store(&home, Duration::from_secs(5));
        let altered: dossier_core::round::RoundProof =
            serde_json::from_value(stricter).expect("a round proof");
        store.record_round_proof(&altered).expect("kept unchecked");
    }
    let out = dossier(&home)
        .args(["--params", s(&params), "--json", "audit"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let audit: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        audit["round_proofs"][0]["proof"]["status"], "invalid",
        "{audit}"
    );
}

dossier_tests::also_on_postgres!(
    a_round_is_declared_proven_verified_listed_and_audited_from_the_command_line,
    a_round_is_declared_proven_submitted_and_reverified_over_http,
);
