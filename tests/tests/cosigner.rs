//! The witness as another department runs it: `dossier cosigner serve` over HTTP, cosigning the
//! ledger's real checkpoint, refusing a stale old size with 409 and the size it holds, and,
//! killed with SIGKILL while two forked checkpoints of one size race to it, never having
//! cosigned both (the check and the update are one durable transaction).

use dossier_core::checkpoint::{self, CheckpointBody};
use dossier_core::cosignature::WitnessPolicy;
use dossier_core::keys::KeyPair;
use dossier_tests::*;
use std::path::Path;

/// A running `dossier cosigner serve`.
struct Cosigner(CosignerProcess);

impl std::ops::Deref for Cosigner {
    type Target = CosignerProcess;
    fn deref(&self) -> &CosignerProcess {
        &self.0
    }
}

impl Cosigner {
    fn start(home: &Path, log_key: &str) -> Cosigner {
        Cosigner(CosignerProcess::start(home, log_key))
    }

    fn add(&self, body: &str) -> Option<(u16, String)> {
        add(&self.base, body)
    }

    fn kill(self) {
        assert!(send_signal(self.0.child.id(), 9));
    }
}

/// POST /add-checkpoint: (status, body); `None` if the connection failed (killed).
fn add(base: &str, body: &str) -> Option<(u16, String)> {
    let r = ureq::post(&format!("{base}/add-checkpoint"))
        .timeout(std::time::Duration::from_secs(30))
        .send_string(body);
    match r {
        Ok(r) => Some((r.status(), r.into_string().unwrap_or_default())),
        Err(ureq::Error::Status(s, r)) => Some((s, r.into_string().unwrap_or_default())),
        Err(_) => None,
    }
}

/// A ledger with a few entries and a published checkpoint; (home, ledger verifier key, note).
fn ledger(dir: &Path) -> (std::path::PathBuf, String, String) {
    let home = dir.join("ledger");
    ok(&home, &["ledger", "init", "--origin", "ledger.example"]);
    ok(&home, &["issuer", "init", "hr.example"]);
    let note_path = dir.join("cp.note");
    ok(
        &home,
        &["checkpoint", "--out", note_path.to_str().expect("utf8")],
    );
    let info = ok_json(&home, &["ledger", "info"]);
    let key = info["log_key"].as_str().expect("log key").to_string();
    (home, key, std::fs::read_to_string(note_path).expect("note"))
}

#[test]
fn a_witness_cosigns_the_ledgers_checkpoint_over_http() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, log_key, note) = ledger(dir.path());
    let whome = dir.path().join("witness");
    let init = ok_json(&whome, &["cosigner", "init", "--name", "w1.example"]);
    let wkey = init["witness_key"]
        .as_str()
        .expect("witness key")
        .to_string();
    let w = Cosigner::start(&whome, &log_key);
    let (status, line) = w.add(&format!("old 0\n\n{note}")).expect("answer");
    assert_eq!(status, 200, "{line}");
    let policy = WitnessPolicy::parse(&format!("threshold 1\n{wkey}\n")).expect("policy");
    assert_eq!(
        policy
            .check(format!("{note}{line}").as_bytes())
            .expect("cosigned"),
        vec!["w1.example"]
    );
    let size = checkpoint::open(note.as_bytes(), &log_key)
        .expect("note")
        .size;
    let (status, body) = w.add(&format!("old 0\n\n{note}")).expect("answer");
    assert_eq!((status, body), (409, format!("{size}\n")));
    let (status, _) = w.add("not a request").expect("answer");
    assert_eq!(status, 400);
    w.kill();
}

#[test]
fn a_witness_killed_mid_request_never_cosigns_two_forks() {
    let dir = tempfile::tempdir().expect("dir");
    let (home, log_key, _) = ledger(dir.path());
    let key_text = std::fs::read_to_string(home.join("keys").join("ledger.key")).expect("key");
    let key = KeyPair::parse(&key_text).expect("ledger key");
    // Two checkpoints of size 1000 with different roots: a forked history, both signed.
    let fork = |tag: u8| {
        CheckpointBody {
            origin: "ledger.example".into(),
            size: 1000,
            root_hash: [tag; 32],
            time: 1_700_000_000,
            registries: vec![],
        }
        .sign(&key)
        .expect("sign")
    };
    let (a, b) = (fork(1), fork(2));
    let whome = dir.path().join("witness");
    let init = ok_json(&whome, &["cosigner", "init", "--name", "w1.example"]);
    let policy = WitnessPolicy::parse(&format!(
        "threshold 1\n{}\n",
        init["witness_key"].as_str().expect("key")
    ))
    .expect("policy");
    let mut cosigned = std::collections::BTreeSet::new();
    for round in 0..8u64 {
        let w = Cosigner::start(&whome, &log_key);
        let racers: Vec<_> = [(1u8, a.clone()), (2u8, b.clone())]
            .into_iter()
            .map(|(tag, note)| {
                let base = w.base.clone();
                std::thread::spawn(move || (tag, add(&base, &format!("old 0\n\n{note}")), note))
            })
            .collect();
        // SIGKILL while the requests are in flight (after 0-3 ms).
        std::thread::sleep(std::time::Duration::from_millis(round % 4));
        w.kill();
        let answers: Vec<_> = racers
            .into_iter()
            .map(|t| t.join().expect("racer"))
            .collect();
        for (tag, answer, note) in answers {
            if let Some((200, line)) = answer {
                assert!(policy.check(format!("{note}{line}").as_bytes()).is_ok());
                cosigned.insert(tag);
            }
        }
        assert!(cosigned.len() <= 1, "round {round}: both forks cosigned");
    }
    // The fork that won is still the one held: the other is refused after every restart.
    let w = Cosigner::start(&whome, &log_key);
    let held = w.add(&format!("old 1000\n\n{a}")).map(|r| r.0);
    let other = w.add(&format!("old 1000\n\n{b}")).map(|r| r.0);
    assert_eq!(
        [held, other].iter().filter(|s| **s == Some(200)).count(),
        1,
        "exactly one fork is ever cosigned: {held:?} {other:?}"
    );
    w.kill();
}

/// Which configured witnesses cosigned, from `dossier --json checkpoint`.
fn cosigned_by(cp: &serde_json::Value) -> Vec<bool> {
    cp["witnesses"]
        .as_array()
        .expect("witnesses")
        .iter()
        .map(|o| o["cosigned"].as_bool().expect("bool"))
        .collect()
}

/// Writes a witness policy file.
fn policy_file(dir: &Path, name: &str, threshold: usize, keys: &[&str]) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("threshold {threshold}\n{}\n", keys.join("\n")),
    )
    .expect("policy");
    path.to_str().expect("utf-8").to_string()
}

#[test]
fn a_two_witness_ledger_and_a_verifier_with_a_witness_policy() {
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().join("ledger");
    let log_key = ledger_with_issuer(&home);
    // Two departments run a witness each.
    let mut keys = Vec::new();
    let mut running = Vec::new();
    for name in ["w1.audit.example", "w2.court.example"] {
        let whome = dir.path().join(name);
        let init = ok_json(&whome, &["cosigner", "init", "--name", name]);
        let key = init["witness_key"].as_str().expect("key").to_string();
        let w = Cosigner::start(&whome, &log_key);
        ok(
            &home,
            &["ledger", "add-witness", "--url", &w.base, "--key", &key],
        );
        keys.push(key);
        running.push((whome, w));
    }
    // A holder with an appraisal, a checkpoint both witnesses cosign.
    let wallet = dir.path().join("wallet.json");
    let w = wallet.to_str().expect("utf-8");
    let holder = ok_json(&home, &["holder", "init", "--wallet", w]);
    let mut claim = appraisal(holder["holder"].as_str().expect("holder"), 2024);
    claim["holder_halo2"] = holder["holder_halo2"].clone();
    issue_to_wallet(&home, "hr.example", &claim, &wallet);
    let cp = ok_json(&home, &["checkpoint"]);
    assert_eq!(cosigned_by(&cp), vec![true, true], "{cp}");
    // The holder's presentation carries the cosigned checkpoint.
    let query = r#"{"credentials": [{"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2024}}}]}"#;
    let (request, presentation) = (dir.path().join("r.json"), dir.path().join("p.json"));
    request_on(&home, query, "promotion-2026", &request, "halo2");
    let params = dir.path().join("no-params");
    std::fs::create_dir_all(&params).expect("params");
    prove_to(&home, &params, &request, &wallet, &presentation);
    let verify = |policy: &str| {
        run(
            &home,
            &[
                "--params",
                params.to_str().expect("utf-8"),
                "verify",
                "--request",
                request.to_str().expect("utf-8"),
                "--witness-policy",
                policy,
                presentation.to_str().expect("utf-8"),
            ],
        )
    };
    let both = policy_file(dir.path(), "both", 2, &[&keys[0], &keys[1]]);
    let out = verify(&both);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A policy that also needs a witness that never saw this checkpoint: refused (exit 1).
    let w3_key = {
        let whome = dir.path().join("w3");
        ok_json(
            &whome,
            &["cosigner", "init", "--name", "w3.elsewhere.example"],
        )["witness_key"]
            .as_str()
            .expect("key")
            .to_string()
    };
    let strict = policy_file(dir.path(), "strict", 2, &[&keys[0], &w3_key]);
    let out = verify(&strict);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("witness cosignatures"));

    // A witness that is down does not block publishing; `ledger cosign` catches it up later
    // (its 409 names the size it holds; the ledger sends a consistency proof from there).
    let (w2home, w2) = running.pop().expect("w2");
    w2.kill();
    issue_to_wallet(&home, "hr.example", &claim, &wallet);
    let cp = ok_json(&home, &["checkpoint"]);
    assert_eq!(cosigned_by(&cp), vec![true, false], "{cp}");
    let w2 = Cosigner::start(&w2home, &log_key);
    // Its address changed: point the ledger at it again.
    let list = std::fs::read_to_string(home.join("witnesses.txt")).expect("witnesses");
    let moved: String = list
        .lines()
        .map(|l| {
            if l.contains("w2.court.example") {
                format!("{} {}\n", w2.base, keys[1])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(home.join("witnesses.txt"), moved).expect("witnesses");
    let retry = ok_json(&home, &["ledger", "cosign"]);
    assert!(
        retry
            .as_array()
            .expect("outcomes")
            .iter()
            .all(|o| o["cosigned"] == true),
        "{retry}"
    );
    let note = ok_json(&home, &["ledger", "info"])["latest_checkpoint"]
        .as_str()
        .expect("note")
        .to_string();
    let policy =
        WitnessPolicy::parse(&format!("threshold 2\n{}\n{}\n", keys[0], keys[1])).expect("policy");
    assert_eq!(policy.check(note.as_bytes()).expect("2 of 2").len(), 2);
    // The regulator's audit under the same policy passes; under one needing the absent witness,
    // the first checkpoint short of it is the discrepancy (exit 1).
    let audit = run(&home, &["audit", "--witness-policy", &both]);
    assert_eq!(
        audit.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
    let audit = run(&home, &["--json", "audit", "--witness-policy", &strict]);
    assert_eq!(audit.status.code(), Some(1));
    let report: serde_json::Value =
        serde_json::from_slice(&audit.stdout).expect("json discrepancy");
    assert_eq!(report["discrepancy"]["kind"], "unwitnessed", "{report}");
    w2.kill();
    for (_, w) in running {
        w.kill();
    }
}

dossier_tests::also_on_postgres!(
    a_witness_cosigns_the_ledgers_checkpoint_over_http,
    a_witness_killed_mid_request_never_cosigns_two_forks,
);
