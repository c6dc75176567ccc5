//! Nothing acknowledged is lost: a `dossier issue` (or `checkpoint`) process is killed with
//! SIGKILL at random moments; after every kill, every credential whose opening the
//! process had printed (it prints after the commit is on disk) is in the registry, and the
//! audit passes. Rounds go on until at least 20 kills have landed while a process was running. Also: several processes writing at once are serialised, and none is lost.

use dossier_core::credential::CredentialOpening;
use dossier_core::Fr;
use dossier_tests::{appraisal, dossier, holder, ok, ok_json, write_lines};
use rand::{Rng, SeedableRng};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ok(&home, &["issuer", "init", "hr.example"]);
    let batch = dir.path().join("batch.jsonl");
    write_lines(
        &batch,
        &(0..1500)
            .map(|i| appraisal(&holder(i), 2020 + i % 6))
            .collect::<Vec<_>>(),
    );
    let seed: u64 = rand::thread_rng().gen();
    println!("seed {seed}");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acknowledged: Vec<CredentialOpening> = Vec::new();
    let mut killed_mid_write = 0;
    let mut round = 0;
    while killed_mid_write < 20 {
        assert!(
            round < 80,
            "too few kills landed mid-run ({killed_mid_write} in {round} rounds)"
        );
        let mut cmd = dossier(&home);
        if round % 4 == 3 {
            cmd.arg("checkpoint");
        } else {
            cmd.args([
                "issue",
                "--issuer",
                "hr.example",
                "--batch",
                batch.to_str().expect("p"),
                "--chunk",
                "40",
            ]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                sink.lock().expect("lock").push(line);
            }
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(5..250)));
        let finished = child.try_wait().expect("poll").is_some();
        child.kill().ok(); // SIGKILL
        child.wait().expect("reaped");
        reader.join().expect("reader");
        killed_mid_write += usize::from(!finished);
        if round % 4 != 3 {
            // A line is acknowledged only if complete (the reader saw its newline).
            for line in lines.lock().expect("lock").iter() {
                if let Ok(o) = serde_json::from_str::<CredentialOpening>(line) {
                    acknowledged.push(o);
                }
            }
        }
        let store = dossier_tests::open_reader(&home, Duration::from_secs(10));
        let leaves: HashMap<u32, Fr> = store
            .registry_nodes(0)
            .expect("nodes")
            .into_iter()
            .filter(|(level, _, _)| *level == 0)
            .map(|(_, index, node)| (index, node))
            .collect();
        for o in &acknowledged {
            assert_eq!(
                leaves.get(&o.credential_id),
                Some(&o.commitment),
                "round {round}: acknowledged credential {} lost (seed {seed})",
                o.credential_id
            );
        }
        if let Some(last) = acknowledged.last() {
            assert!(store
                .witness("hr.example", last.credential_id)
                .expect("witness")
                .is_valid());
        }
        drop(store);
        let audit = ok_json(&home, &["audit"]);
        assert_eq!(audit["ok"], true, "round {round} (seed {seed})");
        round += 1;
    }
    println!(
        "{killed_mid_write} kills mid-run in {round} rounds; {} credentials acknowledged",
        acknowledged.len()
    );
    assert!(!acknowledged.is_empty());
}

#[test]
fn concurrent_processes_are_serialised_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    for name in ["a.example", "b.example"] {
        ok(&home, &["issuer", "init", name]);
    }
    let batch = dir.path().join("batch.jsonl");
    write_lines(
        &batch,
        &(0..300)
            .map(|i| appraisal(&holder(i), 2024))
            .collect::<Vec<_>>(),
    );
    let children: Vec<_> = (0..6)
        .map(|i| {
            let issuer = if i % 2 == 0 { "a.example" } else { "b.example" };
            let out = dir.path().join(format!("out-{i}.jsonl"));
            dossier(&home)
                .args([
                    "issue",
                    "--issuer",
                    issuer,
                    "--batch",
                    batch.to_str().expect("p"),
                    "--chunk",
                    "50",
                    "--out",
                    out.to_str().expect("p"),
                ])
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let info = ok_json(&home, &["issuer", "list"]);
    for issuer in info.as_array().expect("list") {
        assert_eq!(issuer["live"], 900, "{issuer}");
    }
    ok(&home, &["checkpoint"]);
    assert_eq!(ok_json(&home, &["audit"])["ok"], true);
}

dossier_tests::also_on_postgres!(
    sigkill_at_random_moments_loses_nothing_acknowledged,
    concurrent_processes_are_serialised_and_nothing_is_lost,
);
