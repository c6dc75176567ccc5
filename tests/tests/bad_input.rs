//! Bad input gets a clear error naming what is wrong, exit code 2, and changes nothing: the
//! database file is byte-for-byte the same afterwards.

use dossier_tests::{appraisal, digest, holder, ok, ok_json, run, write_lines};
use serde_json::json;
use std::path::Path;

fn setup(dir: &Path) -> std::path::PathBuf {
    let home = dir.join("home");
    ok(&home, &["issuer", "init", "hr.example"]);
    let batch = dir.join("ok.jsonl");
    write_lines(
        &batch,
        &[appraisal(&holder(1), 2024), appraisal(&holder(2), 2024)],
    );
    ok(
        &home,
        &[
            "issue",
            "--issuer",
            "hr.example",
            "--batch",
            batch.to_str().expect("p"),
            "--out",
            dir.join("o.jsonl").to_str().expect("p"),
        ],
    );
    ok(&home, &["checkpoint"]);
    home
}

/// Runs a command that must be refused; checks exit code 2, the message, and the file.
fn refused(home: &Path, args: &[&str], expect_in_message: &str) {
    let db = home.join("dossier.redb");
    let before = digest(&db);
    let out = run(home, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(
        stderr.contains(expect_in_message),
        "{args:?}: expected {expect_in_message:?} in {stderr:?}"
    );
    assert_eq!(digest(&db), before, "{args:?} changed the store");
}

#[test]
fn each_bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = setup(dir.path());
    let h = home.as_path();
    let file = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.to_str().expect("utf-8").to_string()
    };
    let claim = |fields: serde_json::Value| {
        json!({"schema": "appraisal", "holder": holder(1), "fields": fields}).to_string()
    };

    let cases: Vec<(String, &str)> = vec![
        (file("malformed.json", "{\"schema\": \"appraisal\", "), "malformed.json"),
        (file("unknown.json", &json!({"schema": "payroll", "holder": holder(1), "fields": {}}).to_string()), "unknown schema `payroll`"),
        (file("negative.json", &claim(json!({"year": 2024, "grade": "competent", "score": -1, "unit": "tax-audit", "training_hours": 96}))), "field `score`: must not be negative"),
        (file("big.json", &claim(json!({"year": "18446744073709551616", "grade": "competent", "score": 1, "unit": "tax-audit", "training_hours": 96}))), "field `year`: does not fit in 64 bits"),
        (file("grade.json", &claim(json!({"year": 2024, "grade": "outstanding", "score": 1, "unit": "tax-audit", "training_hours": 96}))), "field `grade`: not a member"),
        (file("missing.json", &claim(json!({"year": 2024, "grade": "competent"}))), "field `score` is required"),
        (file("extra.json", &claim(json!({"year": 2024, "grade": "competent", "score": 1, "unit": "tax-audit", "training_hours": 96, "name": "Zhang San"}))), "field `name` is not declared"),
        (file("holder.json", &json!({"schema": "appraisal", "holder": "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",
            "fields": {"year": 2024, "grade": "competent", "score": 1, "unit": "tax-audit", "training_hours": 96}}).to_string()), "holder: not a canonical field element"),
        (file("date.json", &json!({"schema": "appraisal", "holder": holder(1), "expires_at": "2025-02-30",
            "fields": {"year": 2024, "grade": "competent", "score": 1, "unit": "tax-audit", "training_hours": 96}}).to_string()), "field `expires_at`: not a valid date"),
    ];
    for (path, message) in &cases {
        refused(
            h,
            &["issue", "--issuer", "hr.example", "--claim", path],
            message,
        );
    }
    // A batch with one bad line is refused whole, naming the line.
    let batch = dir.path().join("mixed.jsonl");
    write_lines(
        &batch,
        &[
            appraisal(&holder(3), 2024),
            json!({"schema": "appraisal", "holder": holder(4), "fields": {"year": -5, "grade": "competent", "score": 1, "unit": "tax-audit", "training_hours": 96}}),
        ],
    );
    refused(
        h,
        &[
            "issue",
            "--issuer",
            "hr.example",
            "--batch",
            batch.to_str().expect("p"),
        ],
        "mixed.jsonl:2: field `year`",
    );

    // A wrong issuer key: a key of the same name that was never registered.
    let other = dir.path().join("other");
    ok(&other, &["issuer", "init", "hr.example"]);
    let wrong_key = other.join("keys/issuers/hr.example.key");
    let good = file("good.json", &appraisal(&holder(5), 2025).to_string());
    refused(
        h,
        &[
            "issue",
            "--issuer",
            "hr.example",
            "--claim",
            &good,
            "--key",
            wrong_key.to_str().expect("p"),
        ],
        "not issuer `hr.example`'s registered key",
    );
    refused(
        h,
        &[
            "revoke",
            "--issuer",
            "hr.example",
            "--id",
            "0",
            "--key",
            wrong_key.to_str().expect("p"),
        ],
        "registered key",
    );
    refused(
        h,
        &["issue", "--issuer", "hr.nobody", "--claim", &good],
        "no key for issuer `hr.nobody`",
    );
    refused(
        h,
        &["revoke", "--issuer", "hr.example", "--id", "99"],
        "no live credential 99",
    );
    refused(
        h,
        &[
            "update",
            "--issuer",
            "hr.example",
            "--id",
            "99",
            "--claim",
            &good,
        ],
        "no live credential 99",
    );

    // Errors in --json mode are JSON too, with a stable code.
    let out = run(
        h,
        &["--json", "revoke", "--issuer", "hr.example", "--id", "99"],
    );
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).expect("JSON error");
    assert_eq!(err["error"]["code"], "credential_not_found");

    // And the store still audits.
    assert_eq!(ok_json(h, &["audit"])["ok"], true);
}

#[test]
fn errors_never_echo_personal_values() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = setup(dir.path());
    let p = dir.path().join("leak.json");
    std::fs::write(&p, json!({"schema": "employment", "holder": holder(1), "fields": {"department": "MARKER-DEPT",
        "position": "MARKER-POS", "rank_level": "MARKER-RANK", "rank_since": "2020-01-01", "hire_date": "2000-01-01",
        "status": "active", "sanction_until": "1970-01-01"}}).to_string()).expect("write");
    let out = run(
        &home,
        &[
            "issue",
            "--issuer",
            "hr.example",
            "--claim",
            p.to_str().expect("p"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("rank_level"));
    assert!(!stderr.contains("MARKER"), "{stderr}");
}
