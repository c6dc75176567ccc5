//! Recruitment screening from the command line: a recruiting office opens a campaign whose
//! requirement is a presentation request (a master's degree in law or economics); two
//! candidates who meet it are shortlisted by their nullifiers, a tampered presentation is
//! refused and archived as refused, a candidate applying twice is refused without anything
//! written. The regulator's audit re-verifies the archive against the ledger: the shortlist is
//! exactly the applications that meet the requirement; an archive edited afterwards (a refused
//! application swapped for a valid one) is found.
//!
//! Over HTTP, the same story: the office opens the campaign with its token, candidates fetch
//! the request and apply with no token; a presentation of another request, a malformed body, a
//! second application of a shortlisted candidate and an unknown campaign are turned away with
//! nothing written; anyone reads the shortlist, a regulator's token the archive, and the audit
//! of the service's store finds it exact.

use dossier_tests::{dossier, issue_to_wallet, ok, ok_json, prove_one, prove_to, Proven, Server};
use serde_json::{json, Value};
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

const QUERY: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#;

fn qualification(level: &str) -> Value {
    json!({"schema": "qualification", "fields": {"degree_level": level, "field": "law",
        "institution": "Law School", "award_year": 2015}})
}

#[test]
fn a_campaign_shortlists_exactly_the_candidates_who_meet_its_requirement() {
    let dir = tempfile::tempdir().expect("tmp");
    let Proven {
        home,
        params,
        request,
        presentation: first,
        ..
    } = prove_one(
        dir.path(),
        "univ.law-school",
        qualification("master"),
        QUERY,
        "recruitment:2026:customs-inspectors",
    );
    // A second candidate answers the same request.
    let wallet = dir.path().join("w2.json");
    let mut claim = qualification("doctorate");
    let h = ok_json(&home, &["holder", "init", "--wallet", s(&wallet)]);
    claim["holder"] = h["holder"].clone();
    claim["holder_halo2"] = h["holder_halo2"].clone();
    issue_to_wallet(&home, "univ.law-school", &claim, &wallet);
    ok(&home, &["checkpoint"]);
    let second = dir.path().join("p2.json");
    prove_to(&home, &params, &request, &wallet, &second);
    // A tampered copy of the first: the revealed award year changed in its public inputs.
    let mut bad: Value =
        serde_json::from_str(&std::fs::read_to_string(&first).expect("read")).expect("json");
    let n = bad["public_inputs"].as_array().expect("inputs").len();
    bad["public_inputs"][n - 2] = json!(format!("0x{:064x}", 2016));
    let tampered = dir.path().join("tampered.json");
    std::fs::write(&tampered, bad.to_string()).expect("write");

    ok(&home, &["issuer", "init", "hr.customs"]);
    let closes = dossier_core::encoding::days_to_date(dossier_core::clock::today() + 30);
    let opened = ok_json(
        &home,
        &[
            "campaign",
            "open",
            "--issuer",
            "hr.customs",
            "--name",
            "inspectors-2026",
            "--request",
            s(&request),
            "--closes",
            &closes,
        ],
    );
    assert_eq!(opened["scope"], "recruitment:2026:customs-inspectors");
    let p = params.to_str().expect("p");
    let apply = |file: &Path| {
        let out = dossier(&home)
            .args([
                "--params",
                p,
                "--json",
                "campaign",
                "apply",
                "--name",
                "inspectors-2026",
                s(file),
            ])
            .output()
            .expect("runs");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v)
    };
    let (code, v) = apply(&first);
    assert_eq!(
        (code, v["shortlisted"].clone()),
        (Some(0), json!(true)),
        "{v}"
    );
    let (code, v) = apply(&tampered);
    assert_eq!(
        (code, v["shortlisted"].clone()),
        (Some(1), json!(false)),
        "{v}"
    );
    assert!(v["refused"].as_str().is_some_and(|r| !r.is_empty()));
    let (code, _) = apply(&second);
    assert_eq!(code, Some(0));
    let size = ok_json(&home, &["ledger", "info"])["entries"].clone();
    let (code, _) = apply(&first);
    assert_eq!(code, Some(2), "one application per candidate");
    assert_eq!(
        ok_json(&home, &["ledger", "info"])["entries"],
        size,
        "nothing written"
    );

    let list = ok_json(
        &home,
        &["campaign", "shortlist", "--name", "inspectors-2026"],
    );
    assert_eq!(list["applications"], 3);
    assert_eq!(list["shortlisted"].as_array().map(Vec::len), Some(2));

    let audit = ok_json(&home, &["--params", p, "audit"]);
    assert_eq!(audit["ok"], true, "{audit}");
    let c = &audit["campaigns"][0];
    assert_eq!(
        (c["applications"].clone(), c["shortlisted"].clone()),
        (json!(3), json!(2))
    );
    assert_eq!(c["findings"], json!([]));

    // The archive edited afterwards: the refused application replaced by a valid presentation.
    swap_archived_presentation(&home, &std::fs::read_to_string(&second).expect("read"));
    let out = dossier(&home)
        .args(["--params", p, "--json", "audit"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let audit: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = audit["campaigns"][0]["findings"].to_string();
    assert!(findings.contains("not the one recorded"), "{findings}");
}

/// Replaces the presentation of the campaign's refused application in the archive, as an
/// insider with the database file could.
fn swap_archived_presentation(home: &Path, presentation: &str) {
    use dossier_store::campaign::{Application, APPLICATIONS};
    use dossier_store::kv::Readable;
    let store = dossier_tests::open_store(home, std::time::Duration::from_secs(5));
    let txn = store.raw().begin_write().expect("txn");
    {
        let mut t = txn.open_table(APPLICATIONS).expect("table");
        let rows: Vec<(([u8; 32], u64), String)> = t
            .iter()
            .expect("iter")
            .map(|r| {
                let (k, v) = r.expect("row");
                (k.value(), v.value().to_string())
            })
            .collect();
        for (k, v) in rows {
            let mut a: Application = serde_json::from_str(&v).expect("json");
            if !a.shortlisted {
                a.presentation = presentation.to_string();
                t.insert(k, serde_json::to_string(&a).expect("json").as_str())
                    .expect("insert");
            }
        }
    }
    txn.commit().expect("commit");
}

/// Two candidates' presentations and a tampered copy of the first, all answering one request.
struct Applications {
    proven: Proven,
    second: std::path::PathBuf,
    tampered: std::path::PathBuf,
}

fn applications(dir: &Path) -> Applications {
    let proven = prove_one(
        dir,
        "univ.law-school",
        qualification("master"),
        QUERY,
        "recruitment:2026:customs-inspectors",
    );
    let home = &proven.home;
    let wallet = dir.join("w2.json");
    let mut claim = qualification("doctorate");
    let h = ok_json(home, &["holder", "init", "--wallet", s(&wallet)]);
    claim["holder"] = h["holder"].clone();
    claim["holder_halo2"] = h["holder_halo2"].clone();
    issue_to_wallet(home, "univ.law-school", &claim, &wallet);
    ok(home, &["checkpoint"]);
    let second = dir.join("p2.json");
    prove_to(home, &proven.params, &proven.request, &wallet, &second);
    let mut bad: Value =
        serde_json::from_str(&std::fs::read_to_string(&proven.presentation).expect("read"))
            .expect("json");
    let n = bad["public_inputs"].as_array().expect("inputs").len();
    bad["public_inputs"][n - 2] = json!(format!("0x{:064x}", 2016));
    let tampered = dir.join("tampered.json");
    std::fs::write(&tampered, bad.to_string()).expect("write");
    Applications {
        proven,
        second,
        tampered,
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

fn token(home: &Path, tokens: &Path, name: &str, role: &[&str]) -> String {
    let mut args = vec!["token", "add", "--name", name, "--tokens", s(tokens)];
    args.extend_from_slice(role);
    ok_json(home, &args)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

#[test]
fn a_campaign_over_http_takes_anonymous_applications_and_shortlists_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let Applications {
        proven,
        second,
        tampered,
    } = applications(dir.path());
    let home = &proven.home;
    ok(home, &["issuer", "init", "hr.customs"]);
    let tokens = dir.path().join("tokens.json");
    let hr = token(
        home,
        &tokens,
        "hr",
        &["--role", "issuer", "--issuer", "hr.customs"],
    );
    let regulator = token(home, &tokens, "audit-office", &["--role", "regulator"]);
    let server = Server::start(home, &proven.params, &tokens, &[]);
    let size = || server.call("GET", "/v1/ledger", None, None).1["size"].clone();

    // Opened with the office's token; refused without one, with a bad day or a name in use.
    let request = read_json(&proven.request);
    let closes = dossier_core::encoding::days_to_date(dossier_core::clock::today() + 30);
    let body = json!({"name": "inspectors-2026", "request": request, "closes": closes});
    let path = "/v1/issuers/hr.customs/campaigns";
    assert_eq!(server.call("POST", path, None, Some(&body)).0, 401);
    let mut bad_day = body.clone();
    bad_day["closes"] = json!("2026-02-30");
    let (status, v) = server.call("POST", path, Some(&hr), Some(&bad_day));
    assert_eq!(
        (status, v["error"]["field"].clone()),
        (400, json!("closes")),
        "{v}"
    );
    let (status, opened) = server.call("POST", path, Some(&hr), Some(&body));
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["open"], true);
    assert_eq!(opened["request"], request, "the request as published");
    let before = size();
    assert!(before.is_u64(), "{before}");
    assert_eq!(
        server.call("POST", path, Some(&hr), Some(&body)).0,
        400,
        "a name in use"
    );
    assert_eq!(size(), before, "nothing written");
    let (status, got) = server.call("GET", "/v1/campaigns/inspectors-2026", None, None);
    assert_eq!((status, got["request"].clone()), (200, request.clone()));
    assert_eq!(
        server.call("GET", "/v1/campaigns/nobody", None, None).0,
        404
    );

    // Applications, with no token.
    let apply_path = "/v1/campaigns/inspectors-2026/applications";
    let apply = |p: &Value| server.call("POST", apply_path, None, Some(p));
    let first = read_json(&proven.presentation);
    let (status, r) = apply(&first);
    assert_eq!(
        (status, r["shortlisted"].clone()),
        (201, json!(true)),
        "{r}"
    );
    let (status, r) = apply(&read_json(&tampered));
    assert_eq!(
        (status, r["shortlisted"].clone()),
        (201, json!(false)),
        "{r}"
    );
    assert!(r["refused"].as_str().is_some_and(|w| !w.is_empty()), "{r}");
    let (status, r) = apply(&read_json(&second));
    assert_eq!(status, 201, "{r}");

    // Turned away, nothing written.
    let before = size();
    let (status, r) = apply(&first);
    assert_eq!(
        (status, r["error"]["code"].clone()),
        (409, json!("application_refused"))
    );
    let mut elsewhere = first.clone();
    elsewhere["request"]["scope"] = json!("recruitment:2026:elsewhere");
    let (status, r) = apply(&elsewhere);
    assert_eq!(
        (status, r["error"]["field"].clone()),
        (400, json!("request")),
        "{r}"
    );
    let (status, _, _) = server.call_raw("POST", apply_path, None, Some("{\"format\":".into()));
    assert_eq!(status, 400);
    assert_eq!(
        server
            .call(
                "POST",
                "/v1/campaigns/nobody/applications",
                None,
                Some(&first)
            )
            .0,
        404
    );
    assert_eq!(size(), before, "nothing written");

    // Anyone reads the shortlist; the archive needs a regulator's token.
    let (_, list) = server.call("GET", "/v1/campaigns/inspectors-2026/shortlist", None, None);
    assert_eq!(list["applications"], 3, "{list}");
    assert_eq!(list["shortlisted"].as_array().map(Vec::len), Some(2));
    assert_eq!(server.call("GET", apply_path, None, None).0, 401);
    assert_eq!(server.call("GET", apply_path, Some(&hr), None).0, 403);
    let (status, page) = server.call(
        "GET",
        &format!("{apply_path}?limit=2"),
        Some(&regulator),
        None,
    );
    assert_eq!(status, 200);
    assert_eq!(page["applications"].as_array().map(Vec::len), Some(2));
    let (_, all) = server.call("GET", "/v1/campaigns", None, None);
    assert_eq!(all[0]["shortlisted"], 2, "{all}");
    drop(server);

    let p = proven.params.to_str().expect("p");
    let audit = ok_json(home, &["--params", p, "audit"]);
    assert_eq!(audit["ok"], true, "{audit}");
    assert_eq!(audit["campaigns"][0]["applications"], 3);
    assert_eq!(audit["campaigns"][0]["findings"], json!([]));
}

dossier_tests::also_on_postgres!(
    a_campaign_shortlists_exactly_the_candidates_who_meet_its_requirement,
    a_campaign_over_http_takes_anonymous_applications_and_shortlists_them,
);
