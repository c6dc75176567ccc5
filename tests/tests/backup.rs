//! Backups of the store: a snapshot from the command line, verified (the full audit on a
//! restored copy, trusting the home's ledger key, the live ledger extending it) and restored
//! into a fresh home and in place of a store (set aside); a backup path in use, a corrupted
//! backup and another ledger's backup are refused or fail verification, changing nothing. Then
//! the service's scheduled backups under load: taken while credentials are being issued over
//! HTTP, pruned to the newest few, each one verifying, and every acknowledged issuance in the
//! live store.

use dossier_tests::{
    dossier, employment, issue_lines, ledger_with_issuer, ok, ok_json, token, Server,
};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const HR: &str = "hr.example";

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn issue(home: &Path, dir: &Path, from: u64, n: u64) {
    let claims: Vec<Value> = (from..from + n).map(employment).collect();
    issue_lines(home, dir, HR, &format!("batch-{from}"), &claims);
}

fn entries(home: &Path) -> u64 {
    ok_json(home, &["ledger", "info"])["entries"]
        .as_u64()
        .expect("entries")
}

/// (exit code, JSON on stdout or Null, stderr).
fn run_json(home: &Path, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = dossier(home)
        .arg("--json")
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_backup_is_verified_and_restored_and_a_bad_one_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    issue(&home, dir.path(), 0, 20);
    ok(&home, &["checkpoint"]);
    let at_backup = entries(&home);

    let b1 = dir.path().join("backups").join("b1.redb");
    let made = ok_json(&home, &["backup", "create", "--out", s(&b1)]);
    assert_eq!(made["backup"]["entries"], at_backup, "{made}");
    assert!(made["backup"]["tables"].as_u64().expect("tables") >= 30);
    let mode = std::fs::metadata(&b1).expect("backup").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "a backup holds openings: owner only");
    let bytes = std::fs::read(&b1).expect("read");
    let (code, _, err) = run_json(&home, &["backup", "create", "--out", s(&b1)]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(std::fs::read(&b1).expect("read"), bytes, "left as it was");

    // The ledger grows; the backup still verifies, and the live ledger extends it.
    issue(&home, dir.path(), 20, 5);
    let (code, v, err) = run_json(&home, &["backup", "verify", s(&b1)]);
    assert_eq!(code, Some(0), "{v} {err}");
    assert_eq!(v["backup"]["entries"], at_backup);
    assert_eq!(v["live"]["extends"], true, "{v}");
    assert_eq!(v["trusted_key"], true);
    assert_eq!(v["audit"]["ok"], true);

    // Restored into a fresh home: the ledger as of the backup, auditing clean.
    let fresh = dir.path().join("fresh");
    ok(&fresh, &["backup", "restore", s(&b1)]);
    assert_eq!(entries(&fresh), at_backup);
    assert_eq!(ok_json(&fresh, &["audit"])["ok"], true);
    // In place of an existing store: only with --force, which sets the old one aside.
    let (code, _, _) = run_json(&home, &["backup", "restore", s(&b1)]);
    assert_eq!(code, Some(2));
    assert_eq!(entries(&home), at_backup + 5, "unchanged");
    let (code, v, err) = run_json(&home, &["backup", "restore", "--force", s(&b1)]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(entries(&home), at_backup);
    let aside = v["set_aside"].as_str().expect("set aside");
    assert!(Path::new(aside).exists(), "{aside}");

    // A corrupted copy: refused with a clear error, no crash.
    let broken = dir.path().join("broken.redb");
    // Bytes flipped throughout (past the file's first page): its tables' pages among them.
    let mut damaged = bytes.clone();
    for p in (4096..damaged.len()).step_by(97) {
        damaged[p] ^= 0x5a;
    }
    std::fs::write(&broken, &damaged).expect("write");
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (code, _, err) = run_json(&home, &["backup", "verify", s(&broken)]);
    assert!(matches!(code, Some(1..=3)), "{code:?} {err}");
    let truncated = dir.path().join("truncated.redb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    std::fs::set_permissions(&truncated, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (code, _, err) = run_json(&home, &["backup", "verify", s(&truncated)]);
    assert!(matches!(code, Some(1..=3)), "{code:?} {err}");
    let (code, _, _) = run_json(
        &home,
        &["backup", "verify", s(&dir.path().join("none.redb"))],
    );
    assert_eq!(code, Some(2));

    // Another ledger's backup does not verify against this home's key.
    let other = dir.path().join("other");
    ledger_with_issuer(&other);
    let b2 = dir.path().join("other.redb");
    ok(&other, &["backup", "create", "--out", s(&b2)]);
    let (code, v, _) = run_json(&home, &["backup", "verify", s(&b2)]);
    assert_ne!(code, Some(0), "{v}");
    assert_ne!(v["ok"], true);
}

#[test]
fn the_service_takes_backups_under_load() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ledger_with_issuer(&home);
    let tokens = dir.path().join("tokens.json");
    let hr = token(&home, &tokens, "hr", &["issuer", "--issuer", HR]);
    let backups = dir.path().join("backups");
    let base = entries(&home);
    let server = Server::start(
        &home,
        &dir.path().join("params"),
        &tokens,
        &[
            "--backup-dir",
            s(&backups),
            "--backup-every",
            "1",
            "--backup-keep",
            "3",
            "--rules-every",
            "0",
            // The load is one client as fast as it can go: a rate limit would refuse it on a
            // fast day (it did: 429 after some hundreds of requests), which is not what this
            // test is about.
            "--rate",
            "10000",
        ],
    );
    let started = Instant::now();
    let mut acknowledged = 0u64;
    let mut i = 0u64;
    while started.elapsed() < Duration::from_secs(5) {
        let claims = json!({"claims": [employment(i), employment(i + 1)]});
        let (status, v) = server.call(
            "POST",
            &format!("/v1/issuers/{HR}/credentials"),
            Some(&hr),
            Some(&claims),
        );
        assert_eq!(status, 201, "{v}");
        acknowledged += 2;
        i += 2;
    }
    let (_, metrics, _) = server.call_raw("GET", "/metrics", None, None);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("dossier_backups_total ")
                && l.trim_end()
                    .rsplit(' ')
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    >= Some(3)),
        "{metrics}"
    );
    drop(server);

    let mut files: Vec<_> = std::fs::read_dir(&backups)
        .expect("backups")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "pruned to the newest three: {files:?}");
    let live = entries(&home);
    let mut sizes = Vec::new();
    for f in &files {
        let (code, v, err) = run_json(&home, &["backup", "verify", s(f)]);
        assert_eq!(code, Some(0), "{} {v} {err}", f.display());
        assert_eq!(v["live"]["extends"], true);
        sizes.push(v["backup"]["entries"].as_u64().expect("entries"));
    }
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]), "{sizes:?}");
    assert!(sizes.iter().all(|n| *n <= live));
    // Every acknowledged issuance is in the store, once: one entry each.
    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["ok"], true);
    assert_eq!(live, base + acknowledged, "{acknowledged} issued");
}

dossier_tests::also_on_postgres!(the_service_takes_backups_under_load,);
