//! A civil servant loses their secret. They make a new wallet; each issuer, after its own
//! identity check, re-binds every live credential it gave them to the new holder commitment in
//! one transaction that replaces the old versions (`dossier holder rotate`, and
//! `POST /v1/issuers/{issuer}/holders/rotate`). Once a checkpoint anchors the new versions, the
//! old secret cannot prove; the new one can, under other nullifiers. A stale record, the same
//! holder twice, another issuer's token and a holder with nothing to rotate are refused, and
//! change nothing.

use dossier_tests::{ok, ok_json, prove_one, prove_to, request, run, Proven, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

const ISSUER: &str = "hr.tax-bureau";
const QUERY: &str = r#"{"credentials": [{"schema": "appraisal", "issuers": ["hr.tax-bureau"],
    "where": {"grade": {"$gte": "competent"}}, "reveal": ["year"]}]}"#;

fn appraisal(holder: &Value, year: u64, grade: &str) -> Value {
    json!({"schema": "appraisal", "holder": holder["holder"], "holder_halo2": holder["holder_halo2"],
        "fields": {"year": year, "grade": grade, "score": 90, "unit": "tax-audit", "training_hours": 40}})
}

fn ledger_size(home: &Path) -> u64 {
    ok_json(home, &["ledger", "info"])["entries"]
        .as_u64()
        .expect("entries")
}

#[test]
fn a_lost_secret_is_replaced_and_the_old_one_stops_proving() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let Proven {
        home,
        params,
        wallet: old_wallet,
        presentation: before,
        request: r1,
    } = prove_one(
        d,
        ISSUER,
        json!({"schema": "appraisal", "fields": {"year": 2024, "grade": "excellent", "score": 93,
            "unit": "tax-audit", "training_hours": 96}}),
        QUERY,
        "promotion:2026:rotation-1",
    );
    // The issuer's records: every openings file it wrote for this servant.
    let records: Vec<PathBuf> = std::fs::read_dir(&home)
        .expect("home")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("openings-"))
        })
        .collect();
    assert_eq!(records.len(), 1);
    let old = ok_json(&home, &["holder", "show", "--wallet", s(&old_wallet)]);
    // A second credential of the same servant, then updated: the first record of it is stale.
    let claim = d.join("second.json");
    std::fs::write(&claim, appraisal(&old, 2023, "competent").to_string()).expect("write");
    let second = d.join("second.jsonl");
    ok(
        &home,
        &[
            "issue",
            "--issuer",
            ISSUER,
            "--claim",
            s(&claim),
            "--out",
            s(&second),
        ],
    );
    let second_id = read_line(&second)["credential_id"].as_u64().expect("id");
    let updated = d.join("updated.jsonl");
    std::fs::write(&claim, appraisal(&old, 2023, "excellent").to_string()).expect("write");
    ok(
        &home,
        &[
            "update",
            "--issuer",
            ISSUER,
            "--id",
            &second_id.to_string(),
            "--claim",
            s(&claim),
            "--out",
            s(&updated),
        ],
    );

    // The servant's new wallet.
    let new_wallet = d.join("new-wallet.json");
    let new = ok_json(&home, &["holder", "init", "--wallet", s(&new_wallet)]);
    let fresh = d.join("rotated.jsonl");
    let rotate = |records: &[&Path], to: &Value| {
        let mut args = vec![
            "holder".to_string(),
            "rotate".into(),
            "--issuer".into(),
            ISSUER.into(),
            "--from".into(),
            old["holder"].as_str().expect("holder").into(),
            "--to".into(),
            to["holder"].as_str().expect("holder").into(),
            "--to-halo2".into(),
            to["holder_halo2"].as_str().expect("halo2").into(),
            "--out".into(),
            s(&fresh).into(),
            "--json".into(),
        ];
        for r in records {
            args.push("--openings".into());
            args.push(s(r).into());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&home, &args)
    };
    // Refused, nothing written: the same holder, and records holding only a stale version.
    let size = ledger_size(&home);
    let o = rotate(&[&records[0]], &old);
    assert_eq!(o.status.code(), Some(2), "the same holder twice");
    let o = rotate(&[&second], &new);
    assert_eq!(
        o.status.code(),
        Some(2),
        "only a stale record of the credential"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no live credential"));
    assert_eq!(ledger_size(&home), size, "nothing written");
    assert!(!fresh.exists() || std::fs::read_to_string(&fresh).expect("r").is_empty());

    // With every record (the stale one is passed over for the current version): both
    // credentials move, in one transaction.
    let o = rotate(&[&records[0], &second, &updated], &new);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(
        report["rotated"].as_array().expect("ids").len(),
        2,
        "{report}"
    );
    assert_eq!(ledger_size(&home), size + 2, "one update entry each");
    let lines = std::fs::read_to_string(&fresh).expect("openings");
    assert_eq!(lines.lines().count(), 2);
    assert!(
        lines.contains("\"excellent\""),
        "the updated version's values"
    );
    ok(
        &home,
        &["holder", "import", s(&fresh), "--wallet", s(&new_wallet)],
    );
    ok(&home, &["checkpoint"]);
    // A second rotation from the old holder finds nothing live.
    let o = rotate(&[&records[0], &second, &updated], &new);
    assert_eq!(o.status.code(), Some(2));

    // The old secret cannot prove any more; the new one can, under another nullifier.
    let r2 = d.join("r2.json");
    request(&home, QUERY, "promotion:2026:rotation-2", &r2);
    let stale = d.join("stale.json");
    let o = run(
        &home,
        &[
            "--params",
            s(&params),
            "prove",
            "--request",
            s(&r2),
            "--wallet",
            s(&old_wallet),
            "--out",
            s(&stale),
        ],
    );
    assert!(!o.status.success(), "the old secret still proves");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("revoked or replaced"), "{err}");
    let p2 = d.join("p2.json");
    prove_to(&home, &params, &r2, &new_wallet, &p2);
    let v = ok_json(
        &home,
        &[
            "--params",
            s(&params),
            "verify",
            "--request",
            s(&r2),
            s(&p2),
        ],
    );
    assert_eq!(v["valid"], true, "{v}");
    // The presentation made before the rotation still names its (older) checkpoint: its
    // request's freshness is what bounds it, as for any revocation.
    let v1 = ok_json(
        &home,
        &[
            "--params",
            s(&params),
            "verify",
            "--request",
            s(&r1),
            s(&before),
        ],
    );
    assert_ne!(v1["verdict"]["nullifier"], v["verdict"]["nullifier"]);
    ok(&home, &["audit"]);
}

fn read_line(p: &Path) -> Value {
    let text = std::fs::read_to_string(p).expect("read");
    serde_json::from_str(text.lines().next().expect("a line")).expect("json")
}

#[test]
fn the_service_rotates_a_holder_for_its_issuer_only() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let home = d.join("home");
    ok(&home, &["issuer", "init", ISSUER]);
    ok(&home, &["issuer", "init", "hr.customs"]);
    let tokens = d.join("tokens.json");
    let token = |name: &str, role: &[&str]| {
        let mut args = vec!["token", "add", "--name", name, "--tokens", s(&tokens)];
        args.extend_from_slice(role);
        ok_json(&home, &args)["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let old = ok_json(
        &home,
        &["holder", "init", "--wallet", s(&d.join("old.json"))],
    );
    let new = ok_json(
        &home,
        &["holder", "init", "--wallet", s(&d.join("new.json"))],
    );
    let hr = token("hr", &["--role", "issuer", "--issuer", ISSUER]);
    let customs = token("customs", &["--role", "issuer", "--issuer", "hr.customs"]);
    let holder_token = |name: &str, h: &Value| {
        token(
            name,
            &[
                "--role",
                "holder",
                "--holder",
                h["holder"].as_str().expect("holder"),
            ],
        )
    };
    let (old_token, new_token) = (holder_token("old", &old), holder_token("new", &new));
    let server = Server::start(&home, &d.join("no-params"), &tokens, &[]);
    let issue = |token: &str, issuer: &str, claims: Vec<Value>| {
        let (status, body) = server.call(
            "POST",
            &format!("/v1/issuers/{issuer}/credentials"),
            Some(token),
            Some(&json!({"claims": claims})),
        );
        assert_eq!(status, 201, "{body}");
    };
    issue(
        &hr,
        ISSUER,
        vec![
            appraisal(&old, 2023, "competent"),
            appraisal(&old, 2024, "excellent"),
        ],
    );
    issue(
        &customs,
        "hr.customs",
        vec![appraisal(&old, 2022, "competent")],
    );
    let held = |token: &str| {
        let (status, body) = server.call("GET", "/v1/holder/credentials", Some(token), None);
        assert_eq!(status, 200, "{body}");
        body["credentials"].as_array().expect("list").len()
    };
    assert_eq!((held(&old_token), held(&new_token)), (3, 0));
    let path = format!("/v1/issuers/{ISSUER}/holders/rotate");
    let body = json!({"from": old["holder"], "to": new["holder"], "to_halo2": new["holder_halo2"]});
    assert_eq!(server.call("POST", &path, None, Some(&body)).0, 401);
    assert_eq!(
        server.call("POST", &path, Some(&customs), Some(&body)).0,
        403
    );
    let same = json!({"from": old["holder"], "to": old["holder"]});
    assert_eq!(server.call("POST", &path, Some(&hr), Some(&same)).0, 400);
    let non_canonical = json!({"from": old["holder"],
        "to": "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"});
    assert_eq!(
        server
            .call("POST", &path, Some(&hr), Some(&non_canonical))
            .0,
        400
    );
    assert_eq!(
        (held(&old_token), held(&new_token)),
        (3, 0),
        "nothing changed"
    );
    let (status, rotated) = server.call("POST", &path, Some(&hr), Some(&body));
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["rotated"].as_array().expect("ids").len(), 2);
    // Only this issuer's credentials moved: the customs office rotates its own.
    assert_eq!((held(&old_token), held(&new_token)), (1, 2));
    assert_eq!(server.call("POST", &path, Some(&hr), Some(&body)).0, 404);
    let customs_path = "/v1/issuers/hr.customs/holders/rotate";
    assert_eq!(
        server
            .call("POST", customs_path, Some(&customs), Some(&body))
            .0,
        200
    );
    assert_eq!((held(&old_token), held(&new_token)), (0, 3));
    drop(server);
    ok(&home, &["audit"]);
}

dossier_tests::also_on_postgres!(
    a_lost_secret_is_replaced_and_the_old_one_stops_proving,
    the_service_rotates_a_holder_for_its_issuer_only,
);
