//! Recruitment screening from the command line: a recruiting office opens a campaign whose
//! requirement is a presentation request (a master's degree in law or economics); two
//! candidates who meet it are shortlisted by their nullifiers, a tampered presentation is
//! refused and archived as refused, a candidate applying twice is refused without anything
//! written. The regulator's audit re-verifies the archive against the ledger: the shortlist is
//! exactly the applications that meet the requirement; an archive edited afterwards (a refused
//! application swapped for a valid one) is found.

use dossier_tests::{dossier, issue_to_wallet, ok, ok_json, prove_one, prove_to, Proven};
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
    swap_archived_presentation(
        &home.join("dossier.redb"),
        &std::fs::read_to_string(&second).expect("read"),
    );
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
fn swap_archived_presentation(db: &Path, presentation: &str) {
    use dossier_store::campaign::{Application, APPLICATIONS};
    use redb::ReadableTable;
    let store = dossier_store::Store::open(db, std::time::Duration::from_secs(5)).expect("open");
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
