//! Rules over HTTP: an HR office adopts rule files with its token, runs its engine for a day
//! (a dry run records nothing; a second run takes nothing twice), lists its tasks and approves
//! (the credential actions taken, the new openings kept for the holders) or declines them;
//! anyone reads the rules adopted and their texts. Refused, changing nothing: a rule file with
//! a broken expression (the field named), another issuer's token, a repeated adoption, a closed
//! or unknown task, a malformed hash or task id. The service's worker delivers the webhook
//! outbox, signed: through a receiver outage and a SIGKILL of the service, every message
//! arrives. The HR office's page lists and approves tasks in headless Chromium. Then the
//! regulator's audit replays the rule log.

use dossier_tests::{employment_with, holder, ledger_with_issuer, ok, ok_json, receiver, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HR: &str = "hr.example";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn rule_text(name: &str) -> String {
    std::fs::read_to_string(repo().join("rules").join(format!("{name}.toml"))).expect("rule")
}

fn token(home: &Path, tokens: &Path, name: &str, issuer: &str) -> String {
    ok_json(
        home,
        &[
            "token",
            "add",
            "--name",
            name,
            "--tokens",
            s(tokens),
            "--role",
            "issuer",
            "--issuer",
            issuer,
        ],
    )["token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Waits until `done` holds, for at most `limit`.
fn wait_until(limit: Duration, what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn rules_tasks_and_webhooks_over_http() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let params = dir.path().join("params");
    let tokens = dir.path().join("tokens.json");
    ledger_with_issuer(&home);
    ok(&home, &["issuer", "init", "other.example"]);
    let hr = token(&home, &tokens, "hr", HR);
    let other = token(&home, &tokens, "other", "other.example");
    // Payroll and the pension office subscribe; their receiver answers 503 for now.
    let secret = Arc::new(Mutex::new(String::new()));
    let r = receiver(secret.clone(), Duration::ZERO);
    r.status.store(503, Ordering::SeqCst);
    let url = format!("http://127.0.0.1:{}/hooks", r.port);
    *secret.lock().expect("secret") = ok_json(
        &home,
        &[
            "webhooks",
            "add",
            "--name",
            "payroll",
            "--issuer",
            HR,
            "--url",
            &url,
            "--party",
            "payroll",
            "--party",
            "pension_office",
        ],
    )["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    let mut server = Server::start(&home, &params, &tokens, &["--rules-every", "0"]);

    let claims = json!({"claims": [
        employment_with(1, "probation", "2024-03-15"),
        employment_with(2, "probation", "2024-03-15"),
        employment_with(3, "active", "1985-09-01"),
        {"schema": "sanction", "holder": holder(4), "fields": {"kind": "warning", "from": "2026-01-01", "until": "2026-03-31"}},
    ]});
    let (status, issued) = server.call(
        "POST",
        &format!("/v1/issuers/{HR}/credentials"),
        Some(&hr),
        Some(&claims),
    );
    assert_eq!(status, 201, "{issued}");

    // Adoption: refused without changing anything, then accepted.
    let adopt_path = format!("/v1/issuers/{HR}/rules");
    let size = || {
        server.call("GET", "/v1/ledger", None, None).1["size"]
            .as_u64()
            .expect("size")
    };
    let before = size();
    let broken = rule_text("retirement").replace("fields.hire_date", "fields.birthday");
    let (status, e) = server.call(
        "POST",
        &adopt_path,
        Some(&hr),
        Some(&json!({"text": broken})),
    );
    assert_eq!(
        (
            status,
            e["error"]["code"].as_str(),
            e["error"]["field"].as_str()
        ),
        (400, Some("rule_refused"), Some("due")),
        "{e}"
    );
    let (status, _) = server.call(
        "POST",
        &adopt_path,
        Some(&other),
        Some(&json!({"text": rule_text("retirement")})),
    );
    assert_eq!(status, 403, "another issuer's token");
    let (status, _) = server.call(
        "POST",
        &adopt_path,
        Some(&hr),
        Some(&json!({"text": "name = 1", "extra": 2})),
    );
    assert_eq!(status, 400, "an unknown field");
    assert_eq!(size(), before, "nothing written");
    let mut hashes = Vec::new();
    for name in ["probation-review", "retirement", "sanction-notice"] {
        let (status, v) = server.call(
            "POST",
            &adopt_path,
            Some(&hr),
            Some(&json!({"text": rule_text(name), "from": "2020-01-01"})),
        );
        assert_eq!(status, 201, "{v}");
        assert_eq!(v["state"], "in_force");
        hashes.push(v["rule"].as_str().expect("hash").to_string());
    }
    let (status, _) = server.call(
        "POST",
        &adopt_path,
        Some(&hr),
        Some(&json!({"text": rule_text("retirement")})),
    );
    assert_eq!(status, 400, "adopted already");
    let (status, list) = server.call("GET", "/v1/rules", None, None);
    assert_eq!(status, 200);
    assert_eq!(list["rules"].as_array().map(Vec::len), Some(3));
    let (status, text) = server.call("GET", &format!("/v1/rules/{}", hashes[1]), None, None);
    assert_eq!(status, 200);
    assert_eq!(
        text["text"].as_str(),
        Some(rule_text("retirement").as_str())
    );
    assert_eq!(server.call("GET", "/v1/rules/zz", None, None).0, 400);
    assert_eq!(
        server
            .call("GET", &format!("/v1/rules/{}", "0".repeat(64)), None, None)
            .0,
        404
    );

    // Runs: the day before nothing; a dry run records nothing; today acts once.
    let run_path = format!("/v1/issuers/{HR}/rules/run");
    let run = |body: Value| {
        let (status, v) = server.call("POST", &run_path, Some(&hr), Some(&body));
        assert_eq!(status, 200, "{v}");
        v
    };
    assert_eq!(
        run(json!({"as_of": "2025-03-14"}))["evaluation"]["cases"],
        json!([])
    );
    let dry = run(json!({"as_of": "2025-09-01", "dry_run": true}));
    assert_eq!(
        dry["evaluation"]["cases"].as_array().map(Vec::len),
        Some(3),
        "two reviews and a retirement"
    );
    assert_eq!(dry["written"], json!([]));
    let today = run(json!({}));
    assert_eq!(
        today["written"].as_array().map(Vec::len),
        Some(4),
        "and the sanction notice: {today}"
    );
    let again = run(json!({}));
    assert!(again["written"]
        .as_array()
        .is_some_and(|w| w.iter().all(Value::is_null) || w.is_empty()));
    assert_eq!(
        server
            .call("POST", &run_path, Some(&other), Some(&json!({})))
            .0,
        403
    );

    // Tasks: approve a review, decline the other, approve the retirement.
    let (status, tasks) = server.call(
        "GET",
        &format!("/v1/issuers/{HR}/tasks?party=hr_office"),
        Some(&hr),
        None,
    );
    assert_eq!(status, 200);
    let tasks = tasks["tasks"].as_array().expect("tasks").clone();
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/v1/issuers/{HR}/tasks?party=mayor"),
                Some(&hr),
                None
            )
            .0,
        400
    );
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/v1/issuers/{HR}/tasks"),
                Some(&other),
                None
            )
            .0,
        403
    );
    let id_of = |credential: u64| {
        tasks
            .iter()
            .find(|t| t["task"]["credential_id"] == credential)
            .and_then(|t| t["id"].as_str())
            .expect("task")
            .to_string()
    };
    let close = |id: &str, how: &str| {
        server.call(
            "POST",
            &format!("/v1/issuers/{HR}/tasks/{id}/{how}"),
            Some(&hr),
            Some(&json!({})),
        )
    };
    let (status, done) = close(&id_of(0), "approve");
    assert_eq!(
        (status, done["credentials"].clone()),
        (200, json!([0])),
        "{done}"
    );
    assert_eq!(close(&id_of(0), "approve").0, 409, "closed");
    assert_eq!(close(&id_of(1), "decline").0, 200);
    assert_eq!(close(&id_of(1), "decline").0, 409);
    let (status, done) = close(&id_of(2), "approve");
    assert_eq!(status, 200, "{done}");
    assert_eq!(
        done["credentials"].as_array().map(Vec::len),
        Some(2),
        "retired, and the retirement credential issued"
    );
    assert_eq!(close("999.0", "approve").0, 404);
    assert_eq!(close("x", "approve").0, 400);
    // The holder of credential 0 finds its confirmed version among the kept openings.
    let (_, mine) = server.call(
        "GET",
        &format!("/v1/issuers/{HR}/tasks?all=true"),
        Some(&hr),
        None,
    );
    assert_eq!(mine["tasks"].as_array().map(Vec::len), Some(3));

    // Webhooks: two messages (the sanction for payroll, the retirement for the pension office)
    // refused by the receiver; the service is killed; the receiver comes back; the service
    // restarts and delivers both.
    std::thread::sleep(Duration::from_millis(1500));
    server.signal(9);
    let _ = server.child.wait();
    assert!(r.seen.lock().expect("seen").is_empty());
    r.status.store(200, Ordering::SeqCst);
    server = Server::start(&home, &params, &tokens, &["--rules-every", "0"]);
    wait_until(Duration::from_secs(30), "both messages delivered", || {
        r.seen
            .lock()
            .expect("seen")
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == 2
    });
    drop(server);
    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["ok"], true, "{audit}");
    assert_eq!(audit["rule_log"]["actions"], 4);
    assert_eq!(audit["rule_log"]["findings"], json!([]));
    let outbox = ok_json(&home, &["webhooks", "outbox"]);
    assert!(outbox["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .all(|m| m["delivery"] == "delivered"));
}

#[test]
fn the_hr_page_lists_and_approves_tasks_in_the_browser() {
    let Some((driver, chromium)) = dossier_tests::browser("the HR page's browser test") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let params = dir.path().join("params");
    let tokens = dir.path().join("tokens.json");
    ledger_with_issuer(&home);
    let hr = token(&home, &tokens, "hr", HR);
    let server = Server::start(&home, &params, &tokens, &["--rules-every", "0"]);
    let claims = json!({"claims": [employment_with(1, "probation", "2024-03-15"), employment_with(2, "probation", "2024-03-15")]});
    assert_eq!(
        server
            .call(
                "POST",
                &format!("/v1/issuers/{HR}/credentials"),
                Some(&hr),
                Some(&claims)
            )
            .0,
        201
    );
    let (status, _) = server.call(
        "POST",
        &format!("/v1/issuers/{HR}/rules"),
        Some(&hr),
        Some(&json!({"text": rule_text("probation-review"), "from": "2020-01-01"})),
    );
    assert_eq!(status, 201);
    let (status, _) = server.call(
        "POST",
        &format!("/v1/issuers/{HR}/rules/run"),
        Some(&hr),
        Some(&json!({"as_of": "2025-03-15"})),
    );
    assert_eq!(status, 200);
    let (status, html, _) = server.call_raw("GET", "/hr", None, None);
    assert_eq!(status, 200);
    assert!(html.contains("/web/hr.js"));
    let out = std::process::Command::new("node")
        .arg(driver.join("hr.js"))
        .arg(&server.base)
        .arg(HR)
        .arg(&hr)
        .arg(repo().join("target/screenshots"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_str(stdout.trim()).expect("json");
    assert_eq!(shown["tasks"].as_array().map(Vec::len), Some(2), "{shown}");
    assert_eq!(shown["after"].as_array().map(Vec::len), Some(1), "{shown}");
    // The approval the page made is the service's: one task left open, the credential updated.
    let (_, open) = server.call("GET", &format!("/v1/issuers/{HR}/tasks"), Some(&hr), None);
    assert_eq!(open["tasks"].as_array().map(Vec::len), Some(1));
}

dossier_tests::also_on_postgres!(rules_tasks_and_webhooks_over_http,);
