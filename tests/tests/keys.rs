//! Key rotation and revocation from the command line, as the departments would run them: an
//! issuer and the ledger rotate their keys and the regulator's audit follows from the first
//! ledger key; a compromised issuer key is revoked from an entry on with two of three
//! witnesses' approval, the entries it signed from there are listed as void, and an audit
//! whose policy demands more approvals refuses it.

use dossier_tests::*;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn issue(home: &Path, n: u64) {
    let claim = home.join(format!("claim-{n}.json"));
    std::fs::write(&claim, appraisal(&holder(n), 2024).to_string()).expect("claim");
    let out = home.join(format!("openings-{n}.jsonl"));
    ok(
        home,
        &[
            "issue",
            "--issuer",
            "hr.example",
            "--claim",
            s(&claim),
            "--out",
            s(&out),
        ],
    );
}

#[test]
fn keys_rotate_and_the_audit_follows_them_from_the_first_ledger_key() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("ledger");
    let genesis = ledger_with_issuer(&home);
    issue(&home, 1);
    ok(&home, &["checkpoint"]);

    // Routine rotations: the issuer's, then the ledger's.
    let old_key = std::fs::read(home.join("keys/issuers/hr.example.key")).expect("key");
    let r = ok_json(&home, &["issuer", "rotate-key", "hr.example"]);
    assert_eq!(r["entry"], 3);
    assert_ne!(
        std::fs::read(home.join("keys/issuers/hr.example.key")).expect("key"),
        old_key,
        "the home now holds the new key"
    );
    assert!(!home.join("keys/issuers/hr.example.key.next").exists());
    // A crash after the store committed the rotation but before the key file was replaced
    // leaves the old key in force on disk and the new one as `.next`: re-running finishes it.
    let key_file = home.join("keys/issuers/hr.example.key");
    let new_key = std::fs::read(&key_file).expect("key");
    std::fs::write(home.join("keys/issuers/hr.example.key.next"), &new_key).expect("next");
    std::fs::write(&key_file, &old_key).expect("old");
    let again = ok_json(&home, &["issuer", "rotate-key", "hr.example"]);
    assert_eq!(
        again["entry"],
        serde_json::Value::Null,
        "nothing new on the ledger"
    );
    assert_eq!(std::fs::read(&key_file).expect("key"), new_key);
    issue(&home, 2);
    let retired = dir.path().join("retired.key");
    std::fs::write(&retired, &old_key).expect("write");
    let refused = run(
        &home,
        &[
            "issue",
            "--issuer",
            "hr.example",
            "--claim",
            s(&home.join("claim-1.json")),
            "--key",
            s(&retired),
        ],
    );
    assert_ne!(
        refused.status.code(),
        Some(0),
        "the retired key issues nothing"
    );
    ok(&home, &["ledger", "rotate-key"]);
    ok(&home, &["checkpoint"]);
    let audit = ok_json(&home, &["audit", "--log-key", &genesis]);
    let events: Vec<String> = audit["report"]["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| {
            format!(
                "{} {}",
                k["subject"].as_str().expect("s"),
                k["event"].as_str().expect("e")
            )
        })
        .collect();
    assert_eq!(events, ["hr.example rotated", "ledger rotated"]);
}

#[test]
fn a_compromised_key_is_revoked_from_an_entry_on_with_two_of_three_witnesses() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("ledger");
    let log_key = ledger_with_issuer(&home);
    // Three witnesses cosign every checkpoint and will be asked to approve the revocation.
    let mut keys = Vec::new();
    let mut homes = Vec::new();
    let mut running = Vec::new();
    for name in ["w1.audit.example", "w2.court.example", "w3.press.example"] {
        let whome = dir.path().join(name);
        let init = ok_json(&whome, &["cosigner", "init", "--name", name]);
        let key = init["witness_key"].as_str().expect("key").to_string();
        let w = CosignerProcess::start(&whome, &log_key);
        ok(
            &home,
            &["ledger", "add-witness", "--url", &w.base, "--key", &key],
        );
        keys.push(key);
        homes.push(whome);
        running.push(w);
    }
    issue(&home, 1);
    ok(&home, &["checkpoint"]);

    // The issuer's key leaks; a thief issues from entry `from` on.
    let from = ok_json(&home, &["ledger", "info"])["entries"]
        .as_u64()
        .expect("size");
    issue(&home, 3);
    issue(&home, 4);

    ok(&home, &["checkpoint"]);
    let request = dir.path().join("request.json");
    ok(
        &home,
        &[
            "ledger",
            "revocation-request",
            "--issuer",
            "hr.example",
            "--from",
            &from.to_string(),
            "--out",
            s(&request),
        ],
    );
    let approval = |i: usize| {
        let out = dir.path().join(format!("approval-{i}.json"));
        ok(
            &homes[i],
            &[
                "cosigner",
                "approve",
                "--request",
                s(&request),
                "--out",
                s(&out),
            ],
        );
        out
    };
    let (a0, a2) = (approval(0), approval(2));

    // An approval of another request is refused before anything is written.
    let other = dir.path().join("other.json");
    let mut changed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&request).expect("read")).expect("json");
    changed["from_entry"] = serde_json::json!(from + 1);
    std::fs::write(&other, changed.to_string()).expect("write");
    let size_before = ok_json(&home, &["ledger", "info"])["entries"].clone();
    let wrong = run(
        &home,
        &[
            "ledger",
            "revoke-key",
            "--request",
            s(&other),
            "--approval",
            s(&a0),
        ],
    );
    assert_ne!(wrong.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("does not sign this request"));
    assert_eq!(ok_json(&home, &["ledger", "info"])["entries"], size_before);

    let revoked = ok_json(
        &home,
        &[
            "ledger",
            "revoke-key",
            "--request",
            s(&request),
            "--approval",
            s(&a0),
            "--approval",
            s(&a2),
        ],
    );
    assert_eq!(
        revoked["voided"],
        serde_json::json!([from, from + 1]),
        "the thief's two issues"
    );
    issue(&home, 5);
    ok(&home, &["checkpoint"]);

    let policy = |name: &str, threshold: usize| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("threshold {threshold}\n{}\n", keys.join("\n")))
            .expect("policy");
        p
    };
    let two = policy("two.txt", 2);
    let audit = ok_json(
        &home,
        &["audit", "--log-key", &log_key, "--witness-policy", s(&two)],
    );
    let last = &audit["report"]["keys"][0];
    assert_eq!(last["event"], "revoked");
    assert_eq!(last["voided"], serde_json::json!([from, from + 1]));
    let three = policy("three.txt", 3);
    let strict = run(
        &home,
        &[
            "--json",
            "audit",
            "--log-key",
            &log_key,
            "--witness-policy",
            s(&three),
        ],
    );
    assert_eq!(strict.status.code(), Some(1));
    let said: serde_json::Value = serde_json::from_slice(&strict.stdout).expect("json");
    assert_eq!(said["discrepancy"]["kind"], "unapproved_revocation");
}

dossier_tests::also_on_postgres!(
    keys_rotate_and_the_audit_follows_them_from_the_first_ledger_key,
    a_compromised_key_is_revoked_from_an_entry_on_with_two_of_three_witnesses,
);
