//! A request states why it asks and what allows it to (its purpose and legal basis): the
//! holder's `dossier prove` shows them, the presentation carries them, and a verifier refuses a
//! presentation whose stated grounds are not its request's. Malformed grounds (empty, over 500
//! bytes, a control character) are refused. A service started with `--require-grounds` refuses
//! to make or verify against a request without both, naming the missing field.

use dossier_tests::{dossier, ok, ok_json, prove_one, prove_to, Proven, Server};
use serde_json::{json, Value};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

const QUERY: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}}, "reveal": []}]}"#;
const PURPOSE: &str = "Screening for the 2026 customs inspectors' competition";
const BASIS: &str = "Civil Service Law, article 23";

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

#[test]
fn a_request_states_its_grounds_and_a_service_may_require_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let Proven {
        home,
        params,
        wallet,
        ..
    } = prove_one(
        dir.path(),
        "univ.law-school",
        json!({"schema": "qualification", "fields": {"degree_level": "master", "field": "law",
            "institution": "Law School", "award_year": 2015}}),
        QUERY,
        "recruitment:2026:first",
    );
    let query = dir.path().join("q.json");
    std::fs::write(&query, QUERY).expect("write");
    let request_with = |purpose: &str, basis: &str, out: &Path| {
        dossier(&home)
            .args([
                "request",
                "--query",
                s(&query),
                "--scope",
                "recruitment:2026:customs",
                "--purpose",
                purpose,
                "--legal-basis",
                basis,
                "--out",
                s(out),
            ])
            .output()
            .expect("runs")
    };
    let r = dir.path().join("r.json");
    assert!(request_with(PURPOSE, BASIS, &r).status.success());
    let request = read(&r);
    assert_eq!(
        (request["purpose"].as_str(), request["legal_basis"].as_str()),
        (Some(PURPOSE), Some(BASIS))
    );
    // Boundaries: 500 bytes taken; empty, 501 bytes and a control character refused.
    let edge = dir.path().join("edge.json");
    assert!(request_with(&"p".repeat(500), BASIS, &edge)
        .status
        .success());
    for (purpose, basis) in [
        ("", BASIS),
        (" ", BASIS),
        (&*"p".repeat(501), BASIS),
        ("a\nb", BASIS),
        (PURPOSE, ""),
    ] {
        let bad = dir.path().join("bad.json");
        let out = request_with(purpose, basis, &bad);
        assert_eq!(out.status.code(), Some(2), "{purpose:?} {basis:?}");
        assert!(!bad.exists(), "nothing written");
    }

    // The holder proves it, shown the grounds; the presentation carries them.
    let p = dir.path().join("p.json");
    prove_to(&home, &params, &r, &wallet, &p);
    assert_eq!(read(&p)["request"]["purpose"], PURPOSE);
    let shown = dossier(&home)
        .args([
            "--params",
            s(&params),
            "prove",
            "--request",
            s(&r),
            "--wallet",
            s(&wallet),
            "--out",
            s(&dir.path().join("p2.json")),
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains(PURPOSE) && text.contains(BASIS), "{text}");
    // With --json, where the time went: wallet, selection, keys, proof.
    let timed = ok_json(
        &home,
        &[
            "--params",
            s(&params),
            "prove",
            "--request",
            s(&r),
            "--wallet",
            s(&wallet),
            "--out",
            s(&dir.path().join("p3.json")),
        ],
    );
    for phase in ["wallet_ms", "select_ms", "keys_ms", "prove_ms"] {
        assert!(
            timed["timings"][phase].as_f64().is_some_and(|ms| ms >= 0.0),
            "{timed}"
        );
    }
    assert!(timed["timings"]["prove_ms"].as_f64() > Some(0.0));
    let verify = |request: &Path, presentation: &Path| {
        dossier(&home)
            .args([
                "--params",
                s(&params),
                "--json",
                "verify",
                "--request",
                s(request),
                s(presentation),
            ])
            .output()
            .expect("runs")
    };
    assert!(verify(&r, &p).status.success());
    // Grounds edited in the presentation, or a request without them: refused.
    let mut edited = read(&p);
    edited["request"]["purpose"] = json!("Something else");
    let edited_path = dir.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).expect("write");
    let out = verify(&r, &edited_path);
    assert!(!out.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("purpose"), "{said}");
    let mut bare = request.clone();
    bare.as_object_mut().expect("object").remove("legal_basis");
    let bare_path = dir.path().join("bare.json");
    std::fs::write(&bare_path, bare.to_string()).expect("write");
    assert!(!verify(&bare_path, &p).status.success());

    // A service that requires grounds.
    let tokens = dir.path().join("tokens.json");
    let verifier = ok_json(
        &home,
        &[
            "token",
            "add",
            "--name",
            "recruiter",
            "--tokens",
            s(&tokens),
            "--role",
            "verifier",
        ],
    )["token"]
        .as_str()
        .expect("token")
        .to_string();
    let server = Server::start(&home, &params, &tokens, &["--require-grounds"]);
    let q: Value = serde_json::from_str(QUERY).expect("query");
    let make = |body: Value| server.call("POST", "/v1/requests", Some(&verifier), Some(&body));
    let (status, v) = make(json!({"query": q, "scope": "recruitment:2026:s1"}));
    assert_eq!(
        (
            status,
            v["error"]["code"].clone(),
            v["error"]["field"].clone()
        ),
        (400, json!("grounds_required"), json!("purpose")),
        "{v}"
    );
    let (status, v) = make(json!({"query": q, "scope": "recruitment:2026:s1", "purpose": PURPOSE}));
    assert_eq!(
        (status, v["error"]["field"].clone()),
        (400, json!("legal_basis")),
        "{v}"
    );
    let (status, v) = make(
        json!({"query": q, "scope": "recruitment:2026:s1", "purpose": "", "legal_basis": BASIS}),
    );
    assert_eq!(
        (status, v["error"]["field"].clone()),
        (400, json!("purpose")),
        "{v}"
    );
    let (status, v) = make(
        json!({"query": q, "scope": "recruitment:2026:s1", "purpose": PURPOSE, "legal_basis": BASIS}),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["request"]["legal_basis"], BASIS);
    let (status, v) = server.call(
        "POST",
        "/v1/verify",
        None,
        Some(&json!({"request": request, "presentation": read(&p)})),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.call(
        "POST",
        "/v1/verify",
        None,
        Some(&json!({"request": bare, "presentation": read(&p)})),
    );
    assert_eq!(
        (status, v["error"]["code"].clone()),
        (400, json!("grounds_required")),
        "{v}"
    );
    drop(server);
    ok(&home, &["ledger", "info"]);
}
