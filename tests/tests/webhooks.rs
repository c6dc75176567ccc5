//! Webhooks end to end: a sanction notice reaches payroll's receiver signed in the Standard
//! Webhooks scheme (the receiver checks every signature with its secret); while the receiver
//! is down (connection refused, then 503) nothing is lost: the messages wait in the outbox
//! with backoff and arrive when it is back; a deliverer killed with SIGKILL mid-delivery and
//! started again delivers every message, at least once and by the same id, so the receiver
//! de-duplicates. A subscription to a party the actions do not address receives nothing, and
//! no message carries a credential's value.

use dossier_tests::{
    adopt_shipped, dossier, holder, issue_lines, ledger_with_issuer, ok, ok_json, receiver,
    write_lines,
};
use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HR: &str = "hr.example";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn subscribe(home: &Path, name: &str, url: &str, party: &str) -> String {
    ok_json(
        home,
        &[
            "webhooks", "add", "--name", name, "--issuer", HR, "--url", url, "--party", party,
        ],
    )["secret"]
        .as_str()
        .expect("secret")
        .to_string()
}

fn outbox(home: &Path) -> Vec<Value> {
    ok_json(home, &["webhooks", "outbox"])["messages"]
        .as_array()
        .expect("messages")
        .clone()
}

/// Issues `n` sanctions, adopts the sanction notice and runs the engine: one message per
/// sanction for each subscription to payroll.
fn sanctions(home: &Path, dir: &Path, first: u64, n: u64) {
    let claims: Vec<Value> = (first..first + n)
        .map(|i| {
            json!({"schema": "sanction", "holder": holder(i),
            "fields": {"kind": "demerit", "from": "2025-01-01", "until": "2025-12-31"}})
        })
        .collect();
    let batch = dir.join(format!("sanctions-{first}.jsonl"));
    write_lines(&batch, &claims);
    let openings = dir.join("openings.jsonl");
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
    ok(
        home,
        &["rules", "run", "--issuer", HR, "--openings", s(&openings)],
    );
}

#[test]
fn webhooks_are_signed_survive_an_outage_and_a_killed_deliverer() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    adopt_shipped(&home, HR, "sanction-notice");

    // Payroll's receiver is down: nobody listens on its port.
    let secret = Arc::new(Mutex::new(String::new()));
    let slot = TcpListener::bind("127.0.0.1:0").expect("bind");
    let down_port = slot.local_addr().expect("addr").port();
    drop(slot);
    let url = format!("http://127.0.0.1:{down_port}/hooks");
    *secret.lock().expect("secret") = subscribe(&home, "payroll", &url, "payroll");
    subscribe(&home, "pensions", &url, "pension_office");
    sanctions(&home, dir.path(), 0, 3);
    let messages = outbox(&home);
    assert_eq!(
        messages.len(),
        3,
        "one per sanction, none for the pension office: {messages:?}"
    );
    for m in &messages {
        assert_eq!(m["subscription"], "payroll");
        let body: Value = serde_json::from_str(m["body"].as_str().expect("body")).expect("json");
        assert_eq!(body["type"], "rule.fired");
        assert_eq!(body["id"], m["id"]);
        assert!(
            !m["body"].as_str().expect("body").contains("demerit"),
            "no value in a message"
        );
    }
    let out = dossier(&home)
        .args(["--json", "webhooks", "deliver"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "still pending");
    let after = outbox(&home);
    assert!(
        after
            .iter()
            .all(|m| m["delivery"] == "pending" && m["attempts"] == 1),
        "{after:?}"
    );
    assert!(after.iter().all(|m| m["last_error"]
        .as_str()
        .is_some_and(|e| e.starts_with("not reached"))));

    // It comes back answering 503, then 200: the messages wait out the backoff and arrive.
    let r = receiver(secret.clone(), Duration::ZERO);
    let url = format!("http://127.0.0.1:{}/hooks", r.port);
    *secret.lock().expect("secret") = subscribe(&home, "payroll", &url, "payroll");
    r.status.store(503, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(1100));
    let out = dossier(&home)
        .args(["--json", "webhooks", "deliver"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(outbox(&home)
        .iter()
        .all(|m| m["last_error"] == "answered 503"));
    r.status.store(200, Ordering::SeqCst);
    let done = ok_json(
        &home,
        &[
            "webhooks",
            "deliver",
            "--until-delivered",
            "--timeout",
            "30",
        ],
    );
    assert_eq!(done["pending"], 0);
    let ids: std::collections::BTreeSet<String> = r
        .seen
        .lock()
        .expect("seen")
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(ids.len(), 3);
    assert!(outbox(&home).iter().all(|m| m["delivery"] == "delivered"));

    // A slow receiver, and the deliverer killed mid-delivery, twice: started again, it
    // delivers every message; a message seen twice has the same id.
    let slow = receiver(secret.clone(), Duration::from_millis(150));
    let url = format!("http://127.0.0.1:{}/hooks", slow.port);
    *secret.lock().expect("secret") = subscribe(&home, "payroll", &url, "payroll");
    sanctions(&home, dir.path(), 100, 20);
    for delay in [200u64, 700] {
        let mut child = dossier(&home)
            .args(["webhooks", "deliver", "--until-delivered"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay));
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
    }
    let started = Instant::now();
    let done = ok_json(
        &home,
        &[
            "webhooks",
            "deliver",
            "--until-delivered",
            "--timeout",
            "60",
        ],
    );
    assert_eq!(done["pending"], 0, "{done}");
    assert!(started.elapsed() < Duration::from_secs(60));
    let seen = slow.seen.lock().expect("seen").clone();
    let ids: std::collections::BTreeSet<&String> = seen.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 20, "every message of the second batch arrived");
    assert!(
        seen.len() <= 20 + 2,
        "at most one repeat per kill: {}",
        seen.len()
    );
    for (id, body) in &seen {
        let v: Value = serde_json::from_str(body).expect("json");
        assert_eq!(&v["id"], id, "a repeat carries the same id");
    }
}

/// A subscription configured for a receiver entitled to the data (`--with-values`) gets the
/// case credential's values in its messages; another to the same party gets ids and kinds
/// only. Values are refused for a URL that is neither https nor the loopback.
#[test]
fn only_an_entitled_subscription_receives_the_values() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    adopt_shipped(&home, HR, "sanction-notice");
    let add = |name: &str, url: &str, values: bool| {
        let mut args = vec![
            "webhooks", "add", "--name", name, "--issuer", HR, "--url", url, "--party", "payroll",
        ];
        if values {
            args.push("--with-values");
        }
        dossier(&home).args(&args).output().expect("runs")
    };
    let refused = add("payroll-data", "http://payroll.example/hooks", true);
    assert_eq!(refused.status.code(), Some(2));
    assert!(ok_json(&home, &["webhooks", "list"])["subscriptions"]
        .as_array()
        .expect("list")
        .is_empty());
    assert!(add("payroll-data", "https://payroll.example/hooks", true)
        .status
        .success());
    assert!(add("payroll", "http://127.0.0.1:9/hooks", false)
        .status
        .success());
    sanctions(&home, dir.path(), 0, 1);
    let messages = outbox(&home);
    assert_eq!(messages.len(), 2, "{messages:?}");
    for m in &messages {
        let text = m["body"].as_str().expect("body");
        let body: Value = serde_json::from_str(text).expect("json");
        if m["subscription"] == "payroll-data" {
            assert_eq!(body["data"]["values"]["schema"], "sanction", "{body}");
            assert_eq!(body["data"]["values"]["fields"]["kind"], "demerit");
        } else {
            assert!(body["data"].get("values").is_none(), "{body}");
            assert!(!text.contains("demerit"), "no value: {text}");
        }
    }
}

/// Regression: a message's values come from an opening that opens the commitment on the
/// ledger. An openings file that also lists a doctored copy of the case's opening (same
/// commitment, another value), after the true one, must not put the doctored value in the
/// message.
#[test]
fn the_values_sent_are_the_committed_ones() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    adopt_shipped(&home, HR, "sanction-notice");
    let add = dossier(&home)
        .args([
            "webhooks",
            "add",
            "--name",
            "payroll-data",
            "--issuer",
            HR,
            "--url",
            "https://payroll.example/data",
            "--party",
            "payroll",
            "--with-values",
        ])
        .output()
        .expect("runs");
    assert!(add.status.success());
    let claim = json!({"schema": "sanction", "holder": holder(0),
        "fields": {"kind": "demerit", "from": "2025-01-01", "until": "2025-12-31"}});
    let openings = issue_lines(&home, dir.path(), HR, "sanction", &[claim]);
    let true_line = std::fs::read_to_string(&openings).expect("openings");
    let mut doctored: Value = serde_json::from_str(true_line.trim()).expect("json");
    doctored["fields"]["kind"] = json!("warning");
    std::fs::write(&openings, format!("{true_line}{doctored}\n")).expect("write");
    ok(
        &home,
        &["rules", "run", "--issuer", HR, "--openings", s(&openings)],
    );
    let messages = outbox(&home);
    assert_eq!(messages.len(), 1, "{messages:?}");
    let body: Value =
        serde_json::from_str(messages[0]["body"].as_str().expect("body")).expect("json");
    assert_eq!(
        body["data"]["values"]["fields"]["kind"], "demerit",
        "{body}"
    );
}

dossier_tests::also_on_postgres!(
    webhooks_are_signed_survive_an_outage_and_a_killed_deliverer,
    the_values_sent_are_the_committed_ones,
);
