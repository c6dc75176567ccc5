//! The data plane from the command line, as its users run it: a ledger, issuers, a holder's
//! wallet, single, JSON Lines and CSV issuance, a checkpoint, an anchored witness, a promotion
//! (update), a revocation, an export and an audit.

use dossier_tests::{appraisal, ok, ok_json, run, write_lines};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[test]
fn issuers_holders_checkpoints_and_audit() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let h = home.as_path();

    ok(h, &["ledger", "init", "--origin", "dossier.test/ledger"]);
    let hr = ok_json(h, &["issuer", "init", "hr.tax-bureau"]);
    assert_eq!(hr["issuer"], "hr.tax-bureau");
    ok(h, &["issuer", "init", "univ.law-school"]);
    let key = home.join("keys/issuers/hr.tax-bureau.key");
    assert_eq!(
        std::fs::metadata(&key).expect("key").permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        run(h, &["issuer", "init", "hr.tax-bureau"]).status.code(),
        Some(2),
        "registered twice"
    );

    let wallet = dir.path().join("wallet.json");
    let w = wallet.to_str().expect("utf-8");
    let created = ok_json(h, &["holder", "init", "--wallet", w]);
    let holder = created["holder"].as_str().expect("holder").to_string();
    assert_eq!(
        std::fs::metadata(&wallet)
            .expect("wallet")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        run(h, &["holder", "init", "--wallet", w]).status.code(),
        Some(2),
        "never overwritten"
    );

    // One credential from JSON.
    let claim = dir.path().join("degree.json");
    std::fs::write(&claim, json!({"schema": "qualification", "holder": holder, "expires_at": "2040-01-01",
        "fields": {"degree_level": "master", "field": "law", "institution": "UL-001", "award_year": 2015}}).to_string()).expect("write");
    let openings = dir.path().join("openings.jsonl");
    let o = openings.to_str().expect("utf-8");
    ok(
        h,
        &[
            "issue",
            "--issuer",
            "univ.law-school",
            "--claim",
            claim.to_str().expect("p"),
            "--out",
            o,
            "--issued-at",
            "2025-06-30",
        ],
    );

    // A batch in JSON Lines, and one in CSV.
    let batch = dir.path().join("appraisals.jsonl");
    write_lines(
        &batch,
        &[
            appraisal(&holder, 2023),
            appraisal(&holder, 2024),
            appraisal(&holder, 2025),
        ],
    );
    ok(
        h,
        &[
            "issue",
            "--issuer",
            "hr.tax-bureau",
            "--batch",
            batch.to_str().expect("p"),
            "--out",
            o,
            "--chunk",
            "2",
        ],
    );
    let csv = dir.path().join("staff.csv");
    std::fs::write(&csv, format!(
        "schema,holder,expires_at,department,position,rank_level,rank_since,hire_date,status,sanction_until,hours,course,completed_on,passed\n\
         employment,{holder},,tax-bureau,officer,section_member_1,2021-07-01,1996-09-01,active,1970-01-01,,,,\n")).expect("csv");
    ok(
        h,
        &[
            "issue",
            "--issuer",
            "hr.tax-bureau",
            "--batch",
            csv.to_str().expect("p"),
            "--out",
            o,
        ],
    );

    // The holder imports everything issued to them.
    let imported = ok_json(h, &["holder", "import", o, "--wallet", w]);
    assert_eq!(imported["imported"], 5);
    let shown = ok_json(h, &["holder", "show", "--wallet", w]);
    assert_eq!(shown["credentials"].as_array().expect("list").len(), 5);
    assert!(!std::fs::read_to_string(&wallet).expect("w").is_empty());

    // Not anchored until a checkpoint lists the registry.
    let before = ok_json(h, &["witness", "--issuer", "hr.tax-bureau", "--id", "3"]);
    assert_eq!(before["anchored"], false);
    let cp = ok_json(h, &["checkpoint"]);
    assert!(cp["note"]
        .as_str()
        .expect("note")
        .starts_with("dossier.test/ledger\n"));
    let w3 = ok_json(h, &["witness", "--issuer", "hr.tax-bureau", "--id", "3"]);
    assert_eq!(w3["anchored"], true);
    assert_eq!(
        w3["path"]["siblings"].as_array().expect("siblings").len(),
        32
    );

    // A promotion replaces the status credential; a revocation empties a leaf.
    let promoted = dir.path().join("promoted.json");
    std::fs::write(&promoted, json!({"schema": "employment", "holder": holder, "fields": {"department": "tax-bureau",
        "position": "section chief", "rank_level": "principal_staff_member_4", "rank_since": "2026-07-01",
        "hire_date": "1996-09-01", "status": "active", "sanction_until": "1970-01-01"}}).to_string()).expect("write");
    ok(
        h,
        &[
            "update",
            "--issuer",
            "hr.tax-bureau",
            "--id",
            "3",
            "--claim",
            promoted.to_str().expect("p"),
            "--out",
            o,
        ],
    );
    ok(h, &["revoke", "--issuer", "hr.tax-bureau", "--id", "0"]);
    assert_eq!(
        run(h, &["witness", "--issuer", "hr.tax-bureau", "--id", "0"])
            .status
            .code(),
        Some(2)
    );
    let stale = ok_json(h, &["witness", "--issuer", "hr.tax-bureau", "--id", "3"]);
    assert_eq!(
        stale["anchored"], false,
        "the registry changed since the checkpoint"
    );
    ok(h, &["checkpoint"]);

    // The regulator's view.
    let info = ok_json(h, &["ledger", "info"]);
    assert_eq!(info["entries"], 2 + 1 + 3 + 1 + 1 + 1 + 1 + 1);
    let audit = ok_json(h, &["audit"]);
    assert_eq!(audit["ok"], true);
    assert_eq!(audit["report"]["checkpoints"], 2);
    let export = dir.path().join("ledger.json");
    ok(
        h,
        &["ledger", "export", "--out", export.to_str().expect("p")],
    );
    let key_text = info["log_key"].as_str().expect("key").to_string();
    let pinned = ok_json(
        h,
        &[
            "audit",
            "--ledger",
            export.to_str().expect("p"),
            "--log-key",
            &key_text,
        ],
    );
    assert_eq!(pinned["ok"], true);
    assert_eq!(pinned["trusted_key"], true);

    // Nothing personal reaches the ledger: no field value, no salt, no secret.
    let ledger_text = std::fs::read_to_string(&export).expect("export");
    let wallet_text = std::fs::read_to_string(&wallet).expect("wallet");
    let secret = serde_json::from_str::<serde_json::Value>(&wallet_text).expect("json")["secret"]
        .as_str()
        .expect("s")
        .to_string();
    let decoded: Vec<u8> = serde_json::from_str::<serde_json::Value>(&ledger_text).expect("json")
        ["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .flat_map(|e| base64_decode(e.as_str().expect("b64")))
        .collect();
    for marker in [
        "UL-001",
        "section chief",
        "tax-bureau,officer",
        &secret[2..],
    ] {
        assert!(
            !ledger_text.contains(marker),
            "{marker} leaked into the export"
        );
        assert!(
            !decoded
                .windows(marker.len())
                .any(|w| w == marker.as_bytes()),
            "{marker} leaked into an entry"
        );
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

#[test]
fn schemas_are_listed_with_ids() {
    let dir = tempfile::tempdir().expect("tmp");
    let list = ok_json(dir.path(), &["schemas"]);
    let names: Vec<&str> = list
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["name"].as_str().expect("name"))
        .collect();
    for n in [
        "employment",
        "qualification",
        "appraisal",
        "training",
        "reward",
        "sanction",
        "transfer",
        "retirement",
    ] {
        assert!(names.contains(&n), "{n}");
    }
}

#[test]
fn the_demo_runs_end_to_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let params = dir.path().join("params");
    let v = ok_json(
        dir.path(),
        &[
            "--params",
            params.to_str().expect("p"),
            "demo",
            "--people",
            "50",
        ],
    );
    assert_eq!(v["credentials"], 50 * 7);
    assert_eq!(v["audit"], "passed");
    // Two departments' witnesses cosign both checkpoints and refuse a forked one.
    let steps: Vec<&str> = v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["step"].as_str())
        .collect();
    for step in [
        "two departments' witnesses cosign checkpoint 1",
        "the witnesses cosign checkpoint 2 (consistent with 1)",
        "a forked checkpoint 2 (another history, the ledger's key) is refused by both witnesses",
        // Three departments' ceremony made the keys, and the ledger anchors it.
        "ceremony: the tax bureau contributes to every circuit (fresh randomness, proof of knowledge)",
        "ceremony: the national audit office contributes to every circuit (fresh randomness, proof of knowledge)",
        "ceremony: anyone re-checks phase 1 and every transcript against its circuit",
        "verifier: each pinned key's ceremony is on the ledger (inclusion proof in checkpoint 2)",
        // The unit's appraisal round, proven within its quota; forged rounds refused.
        "appraisal round: the HR office declares it on the ledger (unit, year, ids)",
        "regulator: verifies the round (learns unit, year, size and that the rule holds)",
        "a round over a 10% quota or under 90% trained cannot be proven; the proof relabelled 10% or 90% is refused",
        "an excellent issued outside the round: a second round of the unit's year is refused, the audit lists it",
    ] {
        assert!(steps.contains(&step), "{step}");
    }
    assert_eq!(v["appraisals_outside_rounds"][0]["count"], 1);
    // The round's keys come from the same ceremony; its training share is proven and shown.
    let round = &v["round"];
    assert_eq!(round["insecure_setup"], false, "{round}");
    assert_eq!(round["round"]["count"], 50);
    assert_eq!(round["training"]["percent"], 75);
    assert_eq!(round["training_floor"], 38);
    assert_eq!(round["trained"], 40, "4 in 5 of 50");
    assert!(!steps.iter().any(|s| s.contains("INSECURE")), "{steps:?}");
    // A career under the rules: every automated step recorded once, every task closed, the
    // rule log audited clean, the messages for payroll and the pension office kept.
    // A backup of the demo's store, taken with the store open, audits clean on its own.
    assert_eq!(
        v["backup"]["entries"], v["ledger_entries"],
        "{}",
        v["backup"]
    );
    assert!(v["backup"]["tables"].as_u64().is_some_and(|t| t >= 25));
    let career = &v["career"];
    assert_eq!(career["findings"], 0, "{career}");
    assert_eq!(career["rules"], 7);
    assert_eq!(career["actions"], 9, "{career}");
    assert_eq!(career["tasks"], 5);
    assert_eq!(career["open_tasks"], 0);
    assert_eq!(career["outbox"], 2);
    let events: Vec<&str> = career["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .collect();
    for (at, what) in [
        ("1987-08-31", "rules run: nothing due"),
        ("1987-09-01", "rules run: `probation-review` acts"),
        ("1987-12-01", "rules run: `appraisal-cycle` acts"),
        (
            "1987-12-01",
            "rules run: ballot `appraisal-cycle.1987-12-01.u",
        ),
        (
            "1987-12-15",
            "HR office closes ballot `appraisal-cycle.1987-12-01.u",
        ),
        (
            "1992-10-01",
            "rules run: nothing due (three years in rank, but the sanction bars promotion)",
        ),
        ("1993-01-01", "rules run: `sanction-expiry` acts"),
        ("2026-09-01", "rules run: `retirement` acts"),
        ("2026-09-05", "retirement credential"),
    ] {
        assert!(
            career["timeline"]
                .as_array()
                .expect("timeline")
                .iter()
                .any(|e| e["day"] == at && e["event"].as_str().is_some_and(|t| t.contains(what))),
            "{at} {what}: {events:?}"
        );
    }
}

#[test]
fn requests_travel_as_presentation_exchange_definitions_and_back() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let path = |n: &str| dir.path().join(n).to_str().expect("utf-8").to_string();
    let (r, d, r2) = (path("r.json"), path("d.json"), path("r2.json"));
    dossier_tests::request(
        &home,
        r#"{"credentials": [{"schema": "employment", "issuers": ["hr.tax-bureau"],
            "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}}, "reveal": ["rank_level"]}]}"#,
        "promotion:2026",
        std::path::Path::new(&r),
    );
    ok(&home, &["export", "pex", "--request", &r, "--out", &d]);
    let exchange: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&d).expect("read")).expect("json");
    assert_eq!(
        exchange["presentation_definition"]["input_descriptors"][0]["constraints"]
            ["limit_disclosure"],
        "required"
    );
    ok(&home, &["import", "pex", "--definition", &d, "--out", &r2]);
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
    };
    assert_eq!(read(&r), read(&r2), "the request comes back unchanged");
    // A request asking for something no shipped schema has is unusable input, and writes
    // nothing.
    let mut wrong = exchange.clone();
    wrong["dossier_request"]["query"]["credentials"][0]["where"]["salary"] = json!({"$gte": 1});
    let bad = path("bad.json");
    std::fs::write(&bad, wrong.to_string()).expect("w");
    let r3 = path("r3.json");
    let out = run(
        &home,
        &["import", "pex", "--definition", &bad, "--out", &r3],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("salary"));
    assert!(!std::path::Path::new(&r3).exists());
}

dossier_tests::also_on_postgres!(
    issuers_holders_checkpoints_and_audit,
    requests_travel_as_presentation_exchange_definitions_and_back,
);
