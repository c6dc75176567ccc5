//! Rules that run themselves, from the command line: the HR office checks and adopts the
//! shipped rules, runs its engine day by day (`rules run --as-of`), and every due case is acted
//! on once, even when the engine is killed with SIGKILL mid-run and run again; a regulator's
//! audit replays the rule log (from the store, and from an export with the rule files) and
//! finds nothing wrong. Refused, changing nothing: a rule file with a broken condition, the
//! same file adopted twice, an unknown issuer.

use dossier_tests::{
    adopt_shipped, dossier, employment_with, holder, issue_lines, ledger_with_issuer, ok, ok_json,
    write_lines,
};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

const HR: &str = "hr.example";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn rule_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rules")
        .join(format!("{name}.toml"))
}

fn ledger_size(home: &Path) -> u64 {
    ok_json(home, &["ledger", "info"])["entries"]
        .as_u64()
        .expect("size")
}

/// 60 recruits on probation (hired 2024-03-15), 60 servants hired 1985-09-01 and 3 sanctions.
fn issue(home: &Path, dir: &Path) -> PathBuf {
    let mut claims: Vec<Value> = (0..60)
        .map(|i| employment_with(i, "probation", "2024-03-15"))
        .chain((60..120).map(|i| employment_with(i, "active", "1985-09-01")))
        .collect();
    for i in 0..3 {
        claims.push(json!({"schema": "sanction", "holder": holder(200 + i),
            "fields": {"kind": "warning", "from": "2025-01-01", "until": "2025-06-30"}}));
    }
    let batch = dir.join("staff.jsonl");
    write_lines(&batch, &claims);
    let openings = dir.join("staff.openings.jsonl");
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

fn run(home: &Path, openings: &Path, as_of: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "rules",
        "run",
        "--issuer",
        HR,
        "--openings",
        s(openings),
        "--as-of",
        as_of,
    ];
    args.extend(extra);
    ok_json(home, &args)
}

fn cases(v: &Value) -> Vec<Value> {
    v["evaluation"]["cases"].as_array().expect("cases").clone()
}

#[test]
fn rules_are_adopted_run_once_per_case_and_audited() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    let openings = issue(&home, dir.path());
    let names = ["probation-review", "retirement", "sanction-notice"];

    // Every shipped rule checks; a broken one is refused and adopts nothing.
    let shipped: Vec<PathBuf> = std::fs::read_dir(rule_file("x").parent().expect("dir"))
        .expect("rules folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    let mut args = vec!["rules", "check"];
    args.extend(shipped.iter().map(|p| s(p)));
    assert_eq!(
        ok_json(&home, &args)["rules"].as_array().map(Vec::len),
        Some(shipped.len())
    );
    let broken = dir.path().join("broken.toml");
    std::fs::write(
        &broken,
        std::fs::read_to_string(rule_file("retirement"))
            .expect("read")
            .replace("fields.hire_date", "fields.birthday"),
    )
    .expect("write");
    let before = ledger_size(&home);
    let out = dossier(&home)
        .args(["rules", "adopt", "--issuer", HR, s(&broken)])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("birthday"));
    assert_eq!(ledger_size(&home), before, "nothing written");

    for name in names {
        let adopted = ok_json(
            &home,
            &[
                "rules",
                "adopt",
                "--issuer",
                HR,
                "--from",
                "2020-01-01",
                s(&rule_file(name)),
            ],
        );
        assert_eq!(adopted["rule"]["name"], name);
    }
    let again = dossier(&home)
        .args([
            "rules",
            "adopt",
            "--issuer",
            HR,
            s(&rule_file("retirement")),
        ])
        .output()
        .expect("runs");
    assert!(!again.status.success(), "the same file adopted twice");
    let unknown = dossier(&home)
        .args([
            "rules",
            "adopt",
            "--issuer",
            "nobody.example",
            s(&rule_file("retirement")),
        ])
        .output()
        .expect("runs");
    assert!(!unknown.status.success());
    let listed = ok_json(&home, &["rules", "list", "--as-of", "2025-01-01"]);
    assert_eq!(listed["rules"].as_array().map(Vec::len), Some(3));
    assert!(listed["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .all(|r| r["state"] == "in force"));
    let hash = listed["rules"][0]["rule"]
        .as_str()
        .expect("hash")
        .to_string();
    let shown = ok(&home, &["rules", "show", &hash]);
    assert_eq!(dossier_store::rules::rule_hash(&shown), {
        let mut h = [0u8; 32];
        hex::decode_to_slice(&hash, &mut h).expect("hex");
        h
    });

    // The day before probation ends: nothing is due (the sanctions were issued today, after
    // this simulated day).
    let before = ledger_size(&home);
    assert!(cases(&run(&home, &openings, "2025-03-14", &[])).is_empty());
    // The day: 60 reviews due; a dry run records nothing.
    let dry = run(&home, &openings, "2025-03-15", &["--dry-run"]);
    assert_eq!(cases(&dry).len(), 60);
    assert!(cases(&dry)
        .iter()
        .all(|c| c["rule"] == "probation-review" && c["due"] == "2025-03-15"));
    assert_eq!(ledger_size(&home), before);

    // Today: 60 reviews, 60 retirements (due 2025-09-01) and 3 sanction notices. The engine
    // is killed mid-run, three times, then runs to the end: each case is recorded once.
    for delay_ms in [5u64, 40, 120] {
        let mut child = dossier(&home)
            .args(["rules", "run", "--issuer", HR, "--openings", s(&openings)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        // SIGKILL: no destructor, no flush.
        let _ = child.kill();
        let _ = child.wait();
    }
    // Two engines at once over the same store (a second replica's worker, say): both finish,
    // and between them and the killed runs each case is recorded once.
    let engines: Vec<std::process::Child> = (0..2)
        .map(|_| {
            dossier(&home)
                .args([
                    "--json",
                    "rules",
                    "run",
                    "--issuer",
                    HR,
                    "--openings",
                    s(&openings),
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let mut recorded = 0;
    for e in engines {
        let out = e.wait_with_output().expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(cases(&v).len(), 123, "{v}");
        recorded += v["recorded"].as_u64().expect("recorded");
    }
    assert!(recorded <= 123);
    let rerun = ok_json(
        &home,
        &["rules", "run", "--issuer", HR, "--openings", s(&openings)],
    );
    assert_eq!(rerun["recorded"], 0);
    assert!(cases(&rerun).iter().all(|c| c["taken_before"] == true));

    // The regulator's audit: from the store, and from an export with the rule files.
    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["ok"], true, "{audit}");
    assert_eq!(audit["rule_log"]["actions"], 123, "each case once");
    assert_eq!(audit["rule_log"]["findings"], json!([]));
    let export = dir.path().join("export.json");
    ok(&home, &["ledger", "export", "--out", s(&export)]);
    let rules_dir = rule_file("x").parent().expect("dir").to_path_buf();
    let audit = ok_json(
        &home,
        &["audit", "--ledger", s(&export), "--rules", s(&rules_dir)],
    );
    assert_eq!(audit["rule_log"]["actions"], 123);
    assert_eq!(audit["rule_log"]["findings"], json!([]));
    // Without the rule files, the rule log is not audited, and the report says so.
    let audit = ok(&home, &["audit", "--ledger", s(&export)]);
    assert!(audit.contains("rule log: not audited"), "{audit}");
}

/// Tasks: a probation review approved confirms the servant (the employment credential is
/// updated to active); a retirement approved retires the servant and issues the retirement
/// credential to the same holder; a declined task does nothing; a closed task cannot be closed
/// again, and a task cannot be approved without the case's current opening.
#[test]
fn tasks_are_approved_with_their_credential_actions_or_declined() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    let claims = vec![
        employment_with(1, "probation", "2024-03-15"),
        employment_with(2, "probation", "2024-03-15"),
        employment_with(3, "active", "1985-09-01"),
    ];
    let batch = dir.path().join("staff.jsonl");
    write_lines(&batch, &claims);
    let openings = dir.path().join("staff.openings.jsonl");
    ok(
        &home,
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
    for name in ["probation-review", "retirement"] {
        ok(
            &home,
            &[
                "rules",
                "adopt",
                "--issuer",
                HR,
                "--from",
                "2020-01-01",
                s(&rule_file(name)),
            ],
        );
    }
    run(&home, &openings, "2025-09-01", &[]);
    let tasks = ok_json(
        &home,
        &["tasks", "list", "--issuer", HR, "--party", "hr_office"],
    );
    let tasks = tasks["tasks"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 3, "two reviews and a retirement: {tasks:?}");
    let id_of = |credential: u64| -> String {
        tasks
            .iter()
            .find(|t| t["task"]["credential_id"] == credential)
            .and_then(|t| t["id"].as_str())
            .expect("task")
            .to_string()
    };
    let servant_tasks = ok_json(&home, &["tasks", "list", "--party", "servant"]);
    assert_eq!(servant_tasks["tasks"], json!([]), "notices are not tasks");

    // Approve the first review: credential 0 becomes active.
    let new = dir.path().join("new.openings.jsonl");
    let approved = ok_json(
        &home,
        &[
            "tasks",
            "approve",
            "--issuer",
            HR,
            &id_of(0),
            "--openings",
            s(&openings),
            "--out",
            s(&new),
            "--on",
            "2025-09-02",
        ],
    );
    assert_eq!(approved["task"]["state"], "approved");
    let text = std::fs::read_to_string(&new).expect("openings");
    let updated: Value = serde_json::from_str(text.lines().next().expect("one")).expect("json");
    assert_eq!(updated["credential_id"], 0);
    assert_eq!(updated["fields"]["status"], "active");
    assert_eq!(
        updated["fields"]["hire_date"], "2024-03-15",
        "the other values are kept"
    );
    // Approving it again is refused, changing nothing.
    let size = ledger_size(&home);
    let again = dossier(&home)
        .args([
            "tasks",
            "approve",
            "--issuer",
            HR,
            &id_of(0),
            "--openings",
            s(&openings),
        ])
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(ledger_size(&home), size);

    // Decline the second review: nothing done.
    ok(&home, &["tasks", "decline", "--issuer", HR, &id_of(1)]);
    assert_eq!(ledger_size(&home), size);

    // Approve the retirement: the servant is retired and the retirement credential issued.
    let approved = ok_json(
        &home,
        &[
            "tasks",
            "approve",
            "--issuer",
            HR,
            &id_of(2),
            "--openings",
            s(&openings),
            "--out",
            s(&new),
            "--on",
            "2025-09-05",
        ],
    );
    assert_eq!(
        approved["credentials"].as_array().map(Vec::len),
        Some(2),
        "{approved}"
    );
    let lines: Vec<Value> = std::fs::read_to_string(&new)
        .expect("openings")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let retirement = lines
        .iter()
        .find(|o| o["schema"] == "retirement")
        .expect("retirement");
    assert_eq!(retirement["fields"]["years_of_service"], 40);
    assert_eq!(retirement["fields"]["retired_on"], "2025-09-05");
    assert_eq!(
        retirement["holder"], claims[2]["holder"],
        "issued to the same holder"
    );
    let employment = lines
        .iter()
        .rfind(|o| o["credential_id"] == 2)
        .expect("updated");
    assert_eq!(employment["fields"]["status"], "retired");
    assert_eq!(
        ok_json(&home, &["tasks", "list"])["tasks"],
        json!([]),
        "no open task left"
    );
    assert_eq!(ok_json(&home, &["audit"])["ok"], true);
}

/// A retirement credential under a committee (two of three members): approving the task
/// proposes it, the task staying open; approving again below the threshold is refused, changing
/// nothing; once two members approved, approving the task issues it with their approvals and
/// retires the servant. A second case's proposal finalized through `dossier committee finalize`
/// is found, not issued twice.
#[test]
fn a_credential_under_a_committee_is_proposed_then_issued_once_approved() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    let claims = vec![
        employment_with(1, "active", "1985-09-01"),
        employment_with(2, "active", "1985-09-01"),
    ];
    let openings = issue_lines(&home, dir.path(), HR, "staff", &claims);
    for m in ["p0", "p1", "p2"] {
        ok(&home, &["committee", "member", m]);
    }
    ok(
        &home,
        &[
            "committee",
            "set",
            "--issuer",
            HR,
            "--schema",
            "retirement",
            "--threshold",
            "2",
            "--member",
            "p0",
            "--member",
            "p1",
            "--member",
            "p2",
        ],
    );
    adopt_shipped(&home, HR, "retirement");
    run(&home, &openings, "2025-09-01", &[]);
    let tasks = ok_json(&home, &["tasks", "list", "--issuer", HR]);
    let tasks = tasks["tasks"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let id_of = |credential: u64| -> String {
        tasks
            .iter()
            .find(|t| t["task"]["credential_id"] == credential)
            .and_then(|t| t["id"].as_str())
            .expect("task")
            .to_string()
    };
    let new = dir.path().join("new.openings.jsonl");
    let approve = |task: &str| -> std::process::Output {
        dossier(&home)
            .args([
                "--json",
                "tasks",
                "approve",
                "--issuer",
                HR,
                task,
                "--openings",
                s(&openings),
                "--out",
                s(&new),
                "--on",
                "2025-09-05",
            ])
            .output()
            .expect("runs")
    };
    let json_of = |out: &std::process::Output| -> Value {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json")
    };

    // The first approval proposes; nothing reaches the ledger.
    let size = ledger_size(&home);
    let proposed = json_of(&approve(&id_of(0)));
    assert_eq!(proposed["task"]["state"], "open", "{proposed}");
    assert_eq!(proposed["credentials"], json!([]));
    let proposal = proposed["proposal"].as_u64().expect("a proposal");
    assert_eq!(
        proposed["task"]["proposed"]["proposal"], proposal,
        "the task records it"
    );
    assert_eq!(ledger_size(&home), size);
    let listed = ok_json(&home, &["committee", "proposals", "--issuer", HR]);
    assert_eq!(listed[0]["schema"], "retirement", "{listed}");
    assert_eq!(listed[0]["fields"]["years_of_service"], 40);

    // Below the threshold: refused, nothing written, the task still open.
    let p = proposal.to_string();
    ok(
        &home,
        &["committee", "approve", "--proposal", &p, "--member", "p0"],
    );
    let early = approve(&id_of(0));
    assert!(!early.status.success());
    assert!(
        String::from_utf8_lossy(&early.stderr).contains("1 of the 2 approvals"),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    assert_eq!(ledger_size(&home), size);

    // Approved by a second member: the task issues it and retires the servant.
    ok(
        &home,
        &["committee", "approve", "--proposal", &p, "--member", "p2"],
    );
    let done = json_of(&approve(&id_of(0)));
    assert_eq!(done["task"]["state"], "approved", "{done}");
    let made = done["credentials"].as_array().expect("credentials");
    assert_eq!(made.len(), 2, "{done}");
    assert_eq!(made[0]["schema"], "retirement");
    assert_eq!(made[1]["credential_id"], 0);
    assert_eq!(ledger_size(&home), size + 2, "an issue and an update");
    let again = approve(&id_of(0));
    assert!(
        !again.status.success(),
        "a closed task is not approved twice"
    );
    assert_eq!(ledger_size(&home), size + 2);

    // The second case: proposed, approved, finalized by the committee's own command; the task
    // then finds it issued and only updates the servant.
    let second = json_of(&approve(&id_of(1)));
    let p = second["proposal"].as_u64().expect("proposal").to_string();
    for m in ["p1", "p2"] {
        ok(
            &home,
            &["committee", "approve", "--proposal", &p, "--member", m],
        );
    }
    ok(
        &home,
        &["committee", "finalize", "--issuer", HR, "--proposal", &p],
    );
    let size = ledger_size(&home);
    let done = json_of(&approve(&id_of(1)));
    assert_eq!(done["task"]["state"], "approved", "{done}");
    assert_eq!(
        done["task"]["issued"],
        second["task"]["proposed"]["credential_id"]
    );
    let made = done["credentials"].as_array().expect("credentials");
    assert_eq!(made.len(), 1, "only the update: {done}");
    assert_eq!(made[0]["credential_id"], 1);
    assert_eq!(ledger_size(&home), size + 1);
    assert_eq!(ok_json(&home, &["audit"])["ok"], true);
}

fn in_unit(i: u64, status: &str, unit: &str) -> Value {
    let mut e = employment_with(i, status, "2010-09-01");
    e["fields"]["department"] = json!(unit);
    e
}

/// The appraisal cycle's ballot action: on 1 December the engine opens one ballot per unit for
/// the servants due (their colleagues rate them anonymously), its roll a checkpoint published
/// for it. A run that saw only one unit's openings opens that unit's ballot; a later run with
/// every opening opens the other unit's and not the first again; a third opens nothing. Every
/// case is rated in exactly one ballot, and the audit replays ballots and rule log.
#[test]
fn the_appraisal_cycle_opens_one_ballot_per_unit() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    let claims = vec![
        in_unit(1, "active", "finance"),
        in_unit(2, "active", "finance"),
        in_unit(3, "active", "finance"),
        in_unit(4, "active", "customs/port"),
        in_unit(5, "active", "customs/port"),
        in_unit(6, "probation", "finance"),
    ];
    let openings = issue_lines(&home, dir.path(), HR, "staff", &claims);
    let text = std::fs::read_to_string(&openings).expect("openings");
    let finance_only = dir.path().join("finance.openings.jsonl");
    std::fs::write(
        &finance_only,
        text.lines()
            .filter(|l| l.contains("\"finance\""))
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .expect("write");
    adopt_shipped(&home, HR, "appraisal-cycle");
    let opened = |v: &Value| v["ballots"]["opened"].as_array().expect("opened").clone();

    let before = run(&home, &openings, "2026-11-30", &[]);
    assert!(
        opened(&before).is_empty() && cases(&before).is_empty(),
        "{before}"
    );
    let dry = run(&home, &openings, "2026-12-01", &["--dry-run"]);
    assert_eq!(cases(&dry).len(), 5);
    assert!(opened(&dry).is_empty(), "a dry run opens nothing");

    let first = run(&home, &finance_only, "2026-12-01", &[]);
    let first = opened(&first);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0]["name"], "appraisal-cycle.2026-12-01.finance");
    assert_eq!(first[0]["unit"], "finance");
    assert_eq!(first[0]["appraisees"], 3, "the probationer is not due");

    let second = run(&home, &openings, "2026-12-01", &[]);
    let second = opened(&second);
    assert_eq!(second.len(), 1, "only the other unit: {second:?}");
    assert_eq!(second[0]["unit"], "customs/port");
    let name = second[0]["name"].as_str().expect("name");
    assert!(
        name.starts_with("appraisal-cycle.2026-12-01.u"),
        "a unit with `/` is named by its hash: {name}"
    );
    let size = ledger_size(&home);
    let third = run(&home, &openings, "2026-12-01", &[]);
    assert!(
        opened(&third).is_empty() && third["recorded"] == 0,
        "{third}"
    );
    assert_eq!(ledger_size(&home), size, "nothing written");

    // Every case in exactly one ballot, labelled by its credential id.
    let mut rated: Vec<String> = Vec::new();
    for b in [&first[0], &second[0]] {
        let shown = ok_json(
            &home,
            &["ballot", "show", b["name"].as_str().expect("name")],
        );
        assert_eq!(shown["status"], "open", "{shown}");
        assert_eq!(shown["ballot"]["ballot"]["unit"], b["unit"]);
        for a in shown["ballot"]["ballot"]["appraisees"]
            .as_array()
            .expect("appraisees")
        {
            rated.push(a.as_str().expect("label").to_string());
        }
    }
    rated.sort();
    assert_eq!(
        rated,
        [
            "servant-0",
            "servant-1",
            "servant-2",
            "servant-3",
            "servant-4"
        ]
    );
    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["ok"], true, "{audit}");
}

dossier_tests::also_on_postgres!(
    rules_are_adopted_run_once_per_case_and_audited,
    tasks_are_approved_with_their_credential_actions_or_declined,
    a_credential_under_a_committee_is_proposed_then_issued_once_approved,
    the_appraisal_cycle_opens_one_ballot_per_unit,
);
