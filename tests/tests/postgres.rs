//! The command line and the service on PostgreSQL (`--database`, here through
//! `DOSSIER_DATABASE`, which every `dossier` this test starts inherits): a ledger made, issued
//! into and checkpointed from the command line, audited clean; nothing written to the home
//! folder's embedded file; the service started on the same database answering issuance over
//! HTTP with what the command line wrote; a backup of the PostgreSQL store into an embedded
//! snapshot that verifies; and a restore into PostgreSQL refused with directions.

use dossier_store::scratch;
use dossier_tests::{employment, issue_lines, ledger_with_issuer, ok, ok_json, run, token, Server};
use serde_json::{json, Value};
use std::path::Path;

const HR: &str = "hr.example";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

#[test]
fn the_cli_and_the_service_run_on_postgres() {
    let Some(pg) = scratch::for_test("the CLI and the service on PostgreSQL") else {
        return;
    };
    // One test in this file, so setting the environment for the children races nothing.
    std::env::set_var("DOSSIER_DATABASE", pg.url());
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    let claims: Vec<Value> = (0..12).map(employment).collect();
    issue_lines(&home, dir.path(), HR, "batch", &claims);
    ok(&home, &["checkpoint"]);
    let info = ok_json(&home, &["ledger", "info"]);
    assert_eq!(info["entries"], 14, "{info}");
    assert!(
        !home.join("dossier.redb").exists(),
        "the store is on the server, not in the home folder"
    );
    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["ok"], true, "{audit}");

    // The service on the same database sees the command line's ledger and writes to it.
    let tokens = dir.path().join("tokens.json");
    let hr = token(&home, &tokens, "hr", &["issuer", "--issuer", HR]);
    let server = Server::start(
        &home,
        &dir.path().join("params"),
        &tokens,
        &["--rules-every", "0"],
    );
    let (status, v) = server.call(
        "POST",
        &format!("/v1/issuers/{HR}/credentials"),
        Some(&hr),
        Some(&json!({"claims": [employment(100), employment(101)]})),
    );
    assert_eq!(status, 201, "{v}");
    let ids: Vec<u64> = v["issued"]
        .as_array()
        .expect("issued")
        .iter()
        .map(|c| c["credential_id"].as_u64().expect("id"))
        .collect();
    assert_eq!(
        ids,
        vec![12, 13],
        "numbered after the command line's twelve: {v}"
    );
    drop(server);
    assert_eq!(ok_json(&home, &["ledger", "info"])["entries"], 16);

    // A backup of the PostgreSQL store is an embedded snapshot that verifies.
    let backup = dir.path().join("b.redb");
    let made = ok_json(&home, &["backup", "create", "--out", s(&backup)]);
    assert_eq!(made["backup"]["entries"], 16, "{made}");
    let verified = ok_json(&home, &["backup", "verify", s(&backup)]);
    assert_eq!(verified["audit"]["ok"], true, "{verified}");
    assert_eq!(verified["live"]["extends"], true, "{verified}");
    let refused = run(&home, &["backup", "restore", s(&backup)]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("pg_restore"),
        "restoring into PostgreSQL points at PostgreSQL's tools"
    );
}
