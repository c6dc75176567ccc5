//! Who may issue what, end to end with the real binary: the accreditation authority named at
//! ledger creation and its accreditations (CLI), and an appraisal committee whose members
//! approve each credential with their own key (CLI) or their own token (HTTP); refusals change
//! nothing, and the audit checks every accreditation and threshold.

use dossier_tests::{appraisal, holder, ok, ok_json, run, Server};
use serde_json::{json, Value};
use std::path::Path;

fn fails_with(home: &Path, args: &[&str], needle: &str) {
    let out = run(home, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "dossier {args:?} succeeded");
    assert!(err.contains(needle), "dossier {args:?}: {err}");
}

fn write(path: &Path, v: &Value) -> String {
    std::fs::write(path, v.to_string()).expect("write");
    path.to_str().expect("utf-8").to_string()
}

/// A home whose ledger has an authority that accredited `hr.example` for appraisals, and an
/// appraisal committee of five members needing three.
fn accredited_committee(home: &Path) {
    ok(home, &["ledger", "init", "--origin", "ledger.example"]);
    ok(home, &["accreditor", "init", "accreditation.gov"]);
    ok(home, &["issuer", "init", "hr.example"]);
    for m in ["m0", "m1", "m2", "m3", "m4", "outsider"] {
        ok(home, &["committee", "member", m]);
    }
    let mut set = vec![
        "committee",
        "set",
        "--issuer",
        "hr.example",
        "--schema",
        "appraisal",
        "--threshold",
        "3",
    ];
    for m in ["m0", "m1", "m2", "m3", "m4"] {
        set.extend_from_slice(&["--member", m]);
    }
    ok(home, &set);
}

#[test]
fn accreditation_and_a_committee_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ok(&home, &["ledger", "init", "--origin", "ledger.example"]);
    ok(&home, &["accreditor", "init", "accreditation.gov"]);
    ok(&home, &["issuer", "init", "hr.example"]);
    fails_with(
        &home,
        &["accreditor", "init", "second.gov"],
        "accreditation authority",
    );
    let claim = write(&dir.path().join("claim.json"), &appraisal(&holder(1), 2025));
    let issue = ["issue", "--issuer", "hr.example", "--claim", &claim];
    let size = ok_json(&home, &["ledger", "info"])["size"].clone();
    fails_with(&home, &issue, "not accredited for schema `appraisal`");
    assert_eq!(
        ok_json(&home, &["ledger", "info"])["size"],
        size,
        "nothing written"
    );
    ok(
        &home,
        &[
            "accreditor",
            "grant",
            "--issuer",
            "hr.example",
            "--schema",
            "appraisal",
        ],
    );
    ok(&home, &issue);
    let list = ok_json(&home, &["accreditor", "list"]);
    assert_eq!(list["accreditations"][0]["schema"], "appraisal");
    // A request for "any accredited issuer" names the accredited ones.
    let query = write(
        &dir.path().join("query.json"),
        &json!({"credentials": [{"schema": "appraisal", "accredited": true,
            "where": {"grade": {"$gte": "competent"}}}]}),
    );
    let req = dir.path().join("request.json");
    let request = [
        "request",
        "--query",
        &query,
        "--scope",
        "s",
        "--out",
        req.to_str().expect("p"),
    ];
    ok(&home, &request);
    let made: Value = serde_json::from_slice(&std::fs::read(&req).expect("read")).expect("json");
    assert_eq!(
        made["query"]["credentials"][0]["issuers"],
        json!(["hr.example"])
    );
    assert!(made["query"]["credentials"][0].get("accredited").is_none());

    // A committee: direct issuance stops; a proposal needs three distinct members.
    for m in ["m0", "m1", "m2", "outsider"] {
        ok(&home, &["committee", "member", m]);
    }
    ok(
        &home,
        &[
            "committee",
            "set",
            "--issuer",
            "hr.example",
            "--schema",
            "appraisal",
            "--threshold",
            "3",
            "--member",
            "m0",
            "--member",
            "m1",
            "--member",
            "m2",
        ],
    );
    fails_with(&home, &issue, "needs its committee's approvals");
    let p = ok_json(
        &home,
        &[
            "committee",
            "propose",
            "--issuer",
            "hr.example",
            "--claim",
            &claim,
        ],
    );
    let id = p["proposal"].to_string();
    let approve =
        |m: &str| ["committee", "approve", "--proposal", &id, "--member", m].map(String::from);
    let finalize = [
        "committee",
        "finalize",
        "--issuer",
        "hr.example",
        "--proposal",
        &id,
    ];
    ok(&home, &strs(&approve("m0")));
    ok(&home, &strs(&approve("m1")));
    fails_with(&home, &finalize, "2 of the 3 approvals");
    fails_with(&home, &strs(&approve("m1")), "already approved");
    fails_with(&home, &strs(&approve("outsider")), "not a member");
    let listed = ok_json(&home, &["committee", "proposals", "--issuer", "hr.example"]);
    assert_eq!(listed[0]["approvals"].as_array().expect("list").len(), 2);
    assert_eq!(
        listed[0]["fields"]["grade"], "competent",
        "members see what they approve"
    );
    let r = ok_json(&home, &strs(&approve("m2")));
    assert_eq!(r["threshold_met"], true);
    let opening: Value =
        serde_json::from_str(ok(&home, &finalize).trim()).expect("the opening on stdout");
    assert_eq!(opening["commitment"], p["commitment"]);

    // Withdrawn: refused again; the audit lists the grant, the withdrawal and the committee.
    ok(
        &home,
        &[
            "accreditor",
            "withdraw",
            "--issuer",
            "hr.example",
            "--schema",
            "appraisal",
        ],
    );
    fails_with(
        &home,
        &[
            "committee",
            "propose",
            "--issuer",
            "hr.example",
            "--claim",
            &claim,
        ],
        "not accredited",
    );
    fails_with(&home, &request, "names 1 to 16 accepted issuers");
    ok(&home, &["checkpoint"]);
    let audit = ok_json(&home, &["audit"]);
    let report = &audit["report"];
    let events: Vec<&str> = report["accreditations"]
        .as_array()
        .expect("accreditations")
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect();
    assert_eq!(events, ["granted", "withdrawn"]);
    assert_eq!(report["committees"][0]["issued"], 1);
    assert_eq!(report["committees"][0]["threshold"], 3);
}

#[test]
fn committee_members_approve_over_http_with_their_own_tokens() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let params = dir.path().join("params");
    accredited_committee(&home);
    ok(
        &home,
        &[
            "accreditor",
            "grant",
            "--issuer",
            "hr.example",
            "--schema",
            "appraisal",
        ],
    );
    let tokens = dir.path().join("tokens.json");
    let token = |name: &str, role: &[&str]| {
        let mut args = vec![
            "token",
            "add",
            "--name",
            name,
            "--tokens",
            tokens.to_str().expect("p"),
        ];
        args.extend_from_slice(role);
        ok_json(&home, &args)["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let hr = token("hr", &["--role", "issuer", "--issuer", "hr.example"]);
    let member = |m: &str| token(m, &["--role", "member", "--member", m]);
    let (m0, m1, m3) = (member("m0"), member("m1"), member("m3"));
    let (outsider, ghost) = (member("outsider"), member("ghost"));
    let verifier = token("recruiter", &["--role", "verifier"]);
    let server = Server::start(&home, &params, &tokens, &[]);

    // A verifier's request for "any accredited issuer" names them.
    let (s, r) = server.call(
        "POST",
        "/v1/requests",
        Some(&verifier),
        Some(
            &json!({"query": {"credentials": [{"schema": "appraisal", "accredited": true}]},
            "scope": "promotion-2026", "backend": "halo2"}),
        ),
    );
    assert_eq!(s, 201, "{r}");
    assert_eq!(
        r["request"]["query"]["credentials"][0]["issuers"],
        json!(["hr.example"])
    );
    let (s, r) = server.call(
        "POST",
        "/v1/requests",
        Some(&verifier),
        Some(
            &json!({"query": {"credentials": [{"schema": "training", "accredited": true}]},
            "scope": "training-2026", "backend": "halo2"}),
        ),
    );
    assert_eq!(s, 400, "nobody is accredited for training: {r}");

    let claim = appraisal(&holder(7), 2025);
    let (s, b) = server.call(
        "POST",
        "/v1/issuers/hr.example/credentials",
        Some(&hr),
        Some(&json!({"claims": [claim]})),
    );
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (409, Some("committee_required"))
    );
    let (s, p) = server.call(
        "POST",
        "/v1/issuers/hr.example/proposals",
        Some(&hr),
        Some(&json!({"claim": claim})),
    );
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["threshold"], 3);
    let id = p["proposal"].as_u64().expect("id");
    let approvals = format!("/v1/issuers/hr.example/proposals/{id}/approvals");

    // Reading: the office and members; not a verifier, not without a token.
    let list = "/v1/issuers/hr.example/proposals";
    let (s, l) = server.call("GET", list, Some(&m0), None);
    assert_eq!(s, 200);
    assert_eq!(l["proposals"][0]["fields"]["grade"], "competent");
    assert!(l["proposals"][0].get("salt").is_none(), "never the salt");
    assert_eq!(server.call("GET", list, Some(&verifier), None).0, 403);
    assert_eq!(server.call("GET", list, None, None).0, 401);

    // Two approvals, a repeat, an outsider, a member without a key, the issuer's own token.
    let (s, a) = server.call("POST", &approvals, Some(&m0), None);
    assert_eq!(
        (s, a["approvals"].as_u64(), a["issued"].is_null()),
        (200, Some(1), true)
    );
    assert_eq!(server.call("POST", &approvals, Some(&m0), None).0, 409);
    assert_eq!(
        server.call("POST", &approvals, Some(&outsider), None).0,
        403
    );
    assert_eq!(server.call("POST", &approvals, Some(&ghost), None).0, 403);
    assert_eq!(server.call("POST", &approvals, Some(&hr), None).0, 403);
    assert_eq!(
        server
            .call(
                "POST",
                "/v1/issuers/hr.example/proposals/01/approvals",
                Some(&m1),
                None
            )
            .0,
        400,
        "a non-canonical id"
    );
    assert_eq!(
        server
            .call(
                "POST",
                "/v1/issuers/hr.example/proposals/99/approvals",
                Some(&m1),
                None
            )
            .0,
        404
    );
    let size_before = server.call("GET", "/v1/ledger", None, None).1["size"].clone();
    let (s, a) = server.call("POST", &approvals, Some(&m1), None);
    assert_eq!((s, a["approvals"].as_u64()), (200, Some(2)));
    assert_eq!(
        server.call("GET", "/v1/ledger", None, None).1["size"],
        size_before,
        "below the threshold nothing reaches the ledger"
    );
    // The third approval issues it before the answer.
    let (s, a) = server.call("POST", &approvals, Some(&m3), None);
    assert_eq!(s, 200, "{a}");
    assert_eq!(a["issued"]["commitment"], p["commitment"]);
    assert_eq!(
        server.call("POST", &approvals, Some(&m3), None).0,
        404,
        "issued, gone"
    );
    let (_, entries) = server.call("GET", "/v1/ledger/entries?start=0&limit=100", None, None);
    let last = entries["entries"]
        .as_array()
        .expect("entries")
        .last()
        .cloned();
    assert_eq!(last.expect("an entry")["kind"], "issue");
    drop(server);

    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["report"]["committees"][0]["issued"], 1);
}

fn strs(a: &[String; 6]) -> Vec<&str> {
    a.iter().map(String::as_str).collect()
}

dossier_tests::also_on_postgres!(
    accreditation_and_a_committee_from_the_command_line,
    committee_members_approve_over_http_with_their_own_tokens,
);
