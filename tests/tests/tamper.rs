//! A regulator's audit against tampered copies of a ledger: each way of rewriting history is
//! caught, with a non-zero exit and the discrepancy named.

use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_core::checkpoint::{self, CheckpointBody};
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::Fr;
use dossier_tests::{appraisal, holder, ok, ok_json, run, write_lines};
use serde_json::Value;
use std::path::{Path, PathBuf};

struct Ledger {
    _dir: tempfile::TempDir,
    home: PathBuf,
    export: Value,
    log_key: KeyPair,
}

/// Two issuers, 12 credentials, a revocation and three checkpoints, exported.
fn ledger() -> Ledger {
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    ok(&home, &["issuer", "init", "hr.example"]);
    ok(&home, &["issuer", "init", "univ.example"]);
    let batch = dir.path().join("b.jsonl");
    write_lines(
        &batch,
        &(0..8)
            .map(|i| appraisal(&holder(i), 2024))
            .collect::<Vec<_>>(),
    );
    let out = dir.path().join("o.jsonl");
    let issue = |issuer: &str| {
        ok(
            &home,
            &[
                "issue",
                "--issuer",
                issuer,
                "--batch",
                batch.to_str().expect("p"),
                "--out",
                out.to_str().expect("p"),
            ],
        )
    };
    issue("hr.example");
    ok(&home, &["checkpoint"]);
    ok(&home, &["revoke", "--issuer", "hr.example", "--id", "3"]);
    issue("univ.example");
    ok(&home, &["checkpoint"]);
    ok(&home, &["revoke", "--issuer", "univ.example", "--id", "0"]);
    ok(&home, &["checkpoint"]);
    let file = dir.path().join("export.json");
    ok(
        &home,
        &["ledger", "export", "--out", file.to_str().expect("p")],
    );
    let export =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("json");
    let log_key =
        KeyPair::parse(&std::fs::read_to_string(home.join("keys/ledger.key")).expect("key"))
            .expect("parse");
    Ledger {
        _dir: dir,
        home,
        export,
        log_key,
    }
}

impl Ledger {
    fn entry(&self, i: usize) -> Entry {
        Entry::from_bytes(
            &STANDARD
                .decode(self.export["entries"][i].as_str().expect("b64"))
                .expect("b64"),
        )
        .expect("entry")
    }
    fn entries_len(&self) -> usize {
        self.export["entries"].as_array().expect("entries").len()
    }
    fn index_of(&self, pred: impl Fn(&EntryBody) -> bool) -> usize {
        (0..self.entries_len())
            .find(|i| pred(&self.entry(*i).body))
            .expect("an entry of that kind")
    }
    fn checkpoint(&self, i: usize) -> CheckpointBody {
        checkpoint::open(
            self.export["checkpoints"][i]
                .as_str()
                .expect("note")
                .as_bytes(),
            &self.log_key.verifier_key(),
        )
        .expect("valid")
    }
    /// Audits a modified export with the pinned ledger key; returns (exit code, JSON output).
    fn audit(&self, export: &Value) -> (Option<i32>, Value) {
        let path = self.home.join("tampered.json");
        std::fs::write(&path, export.to_string()).expect("write");
        let out = run(
            &self.home,
            &[
                "--json",
                "audit",
                "--ledger",
                path.to_str().expect("p"),
                "--log-key",
                &self.log_key.verifier_key(),
            ],
        );
        let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        (out.status.code(), v)
    }
    fn expect_caught(&self, export: &Value, kind: &str, at: &str) {
        let (code, v) = self.audit(export);
        assert_eq!(code, Some(1), "{v}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["discrepancy"]["kind"], kind, "{v}");
        assert_eq!(v["discrepancy"]["at"], at, "{v}");
    }
}

fn b64(e: &Entry) -> Value {
    Value::String(STANDARD.encode(e.to_bytes()))
}

#[test]
fn the_untampered_ledger_passes() {
    let l = ledger();
    let (code, v) = l.audit(&l.export);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["report"]["checkpoints"], 3);
}

#[test]
fn a_tampered_entry_is_caught() {
    let l = ledger();
    let i = l.index_of(|b| matches!(b, EntryBody::Issue { .. }));
    let mut bytes = STANDARD
        .decode(l.export["entries"][i].as_str().expect("b64"))
        .expect("b64");
    bytes[50] ^= 1; // inside the commitment
    let mut t = l.export.clone();
    t["entries"][i] = Value::String(STANDARD.encode(&bytes));
    let (code, v) = l.audit(&t);
    assert_eq!(code, Some(1));
    assert_eq!(v["discrepancy"]["at"], format!("entry {i}"));
    assert!(
        ["bad_entry_signature", "malformed_entry"]
            .contains(&v["discrepancy"]["kind"].as_str().expect("kind")),
        "{v}"
    );
}

#[test]
fn a_removed_entry_is_caught() {
    let l = ledger();
    let cp = l.checkpoint(0);
    // Drop the last issue before the first checkpoint: its registry_roots entry no longer matches.
    let i = (0..cp.size as usize - 1)
        .rev()
        .find(|i| matches!(l.entry(*i).body, EntryBody::Issue { .. }))
        .expect("issue");
    let mut t = l.export.clone();
    t["entries"].as_array_mut().expect("entries").remove(i);
    l.expect_caught(
        &t,
        "registry_root_mismatch",
        &format!("entry {}", cp.size - 2),
    );
}

#[test]
fn missing_tail_entries_are_caught() {
    let l = ledger();
    let mut t = l.export.clone();
    let n = l.entries_len();
    t["entries"]
        .as_array_mut()
        .expect("entries")
        .truncate(n - 2);
    l.expect_caught(&t, "missing_entries", &format!("checkpoint of size {n}"));
}

#[test]
fn a_replayed_entry_is_caught() {
    let l = ledger();
    let i = l.index_of(|b| matches!(b, EntryBody::Issue { .. }));
    let mut t = l.export.clone();
    let copy = t["entries"][i].clone();
    t["entries"]
        .as_array_mut()
        .expect("entries")
        .insert(i + 1, copy);
    l.expect_caught(&t, "invalid_transition", &format!("entry {}", i + 1));
}

#[test]
fn an_entry_forged_with_another_key_is_caught() {
    let l = ledger();
    let i = l.index_of(|b| matches!(b, EntryBody::Issue { .. }));
    let EntryBody::Issue { issuer_id, .. } = l.entry(i).body else {
        unreachable!()
    };
    let forger = KeyPair::generate("hr.example", &mut rand::thread_rng()).expect("key");
    let forged = Entry::sign(
        1,
        EntryBody::Issue {
            issuer_id,
            schema_id: Fr::from(4u64),
            credential_id: 999,
            commitment: Fr::from(5u64),
            commitment_halo2: dossier_core::pasta::Fp::from(5),
            approvals: Vec::new(),
        },
        &forger,
    );
    let mut t = l.export.clone();
    t["entries"]
        .as_array_mut()
        .expect("entries")
        .insert(i + 1, b64(&forged));
    l.expect_caught(&t, "bad_entry_signature", &format!("entry {}", i + 1));
}

#[test]
fn a_false_registry_root_is_caught_even_when_signed_by_the_ledger() {
    let l = ledger();
    let i = l.index_of(|b| matches!(b, EntryBody::RegistryRoots { .. }));
    let entry = l.entry(i);
    let EntryBody::RegistryRoots { mut roots } = entry.body else {
        unreachable!()
    };
    roots[0].root += Fr::from(1u64);
    let resigned = Entry::sign(entry.time, EntryBody::RegistryRoots { roots }, &l.log_key);
    let mut t = l.export.clone();
    t["entries"][i] = b64(&resigned);
    l.expect_caught(&t, "registry_root_mismatch", &format!("entry {i}"));
}

#[test]
fn a_false_halo2_twin_root_is_caught_in_entries_and_checkpoints() {
    let l = ledger();
    let i = l.index_of(|b| matches!(b, EntryBody::RegistryRoots { .. }));
    let entry = l.entry(i);
    let EntryBody::RegistryRoots { mut roots } = entry.body else {
        unreachable!()
    };
    roots[0].root_halo2 += dossier_core::pasta::Fp::from(1);
    let resigned = Entry::sign(entry.time, EntryBody::RegistryRoots { roots }, &l.log_key);
    let mut t = l.export.clone();
    t["entries"][i] = b64(&resigned);
    l.expect_caught(&t, "registry_root_mismatch", &format!("entry {i}"));

    let mut body = l.checkpoint(2);
    body.registries[1].root_halo2 += dossier_core::pasta::Fp::from(1);
    let mut t = l.export.clone();
    t["checkpoints"][2] = Value::String(body.sign(&l.log_key).expect("signs"));
    l.expect_caught(
        &t,
        "registry_root_mismatch",
        &format!("checkpoint of size {}", body.size),
    );
}

#[test]
fn a_forked_checkpoint_is_caught() {
    let l = ledger();
    let mut body = l.checkpoint(1);
    body.root_hash[0] ^= 0xff;
    let fork = body.sign(&l.log_key).expect("signs");
    let mut t = l.export.clone();
    t["checkpoints"]
        .as_array_mut()
        .expect("cps")
        .push(Value::String(fork));
    l.expect_caught(&t, "fork", &format!("checkpoint of size {}", body.size));
    // Alone (replacing the honest one), the same checkpoint is a mismatch with the log.
    let mut t = l.export.clone();
    t["checkpoints"][1] = Value::String(body.sign(&l.log_key).expect("signs"));
    l.expect_caught(
        &t,
        "checkpoint_mismatch",
        &format!("checkpoint of size {}", body.size),
    );
}

#[test]
fn a_checkpoint_listing_other_roots_is_caught() {
    let l = ledger();
    let mut body = l.checkpoint(2);
    body.registries[1].root += Fr::from(1u64);
    let mut t = l.export.clone();
    t["checkpoints"][2] = Value::String(body.sign(&l.log_key).expect("signs"));
    l.expect_caught(
        &t,
        "registry_root_mismatch",
        &format!("checkpoint of size {}", body.size),
    );
}

#[test]
fn unsigned_and_wrongly_signed_checkpoints_are_caught() {
    let l = ledger();
    let note = l.export["checkpoints"][0]
        .as_str()
        .expect("note")
        .to_string();
    let unsigned = note.split("\n\n").next().expect("text").to_string() + "\n\n";
    let mut t = l.export.clone();
    t["checkpoints"][0] = Value::String(unsigned);
    l.expect_caught(&t, "bad_checkpoint", "checkpoint #0");

    let impostor = KeyPair::generate(l.log_key.name(), &mut rand::thread_rng()).expect("key");
    let mut t = l.export.clone();
    t["checkpoints"][0] = Value::String(l.checkpoint(0).sign(&impostor).expect("signs"));
    l.expect_caught(&t, "bad_checkpoint", "checkpoint #0");

    // Trusting the export's own (replaced) key instead of a pinned one is what --log-key prevents.
    let path = l.home.join("rekeyed.json");
    let mut t = l.export.clone();
    t["log_key"] = Value::String(impostor.verifier_key());
    std::fs::write(&path, t.to_string()).expect("write");
    let out = run(&l.home, &["audit", "--ledger", path.to_str().expect("p")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the honest checkpoints no longer verify under the swapped key"
    );
}

#[test]
fn a_registry_changed_outside_the_log_is_caught() {
    let l = ledger();
    assert_eq!(ok_json(&l.home, &["audit"])["ok"], true);
    tamper_registry(&l.home, true);
    let out = run(&l.home, &["--json", "audit"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["discrepancy"]["kind"], "registry_changed_outside_log",
        "{v}"
    );
    assert_eq!(v["discrepancy"]["at"], "registry hr.example");
}

#[test]
fn a_leaf_changed_without_its_root_is_caught() {
    let l = ledger();
    tamper_registry(&l.home, false);
    let out = run(&l.home, &["--json", "audit"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["discrepancy"]["kind"], "registry_changed_outside_log",
        "{v}"
    );
    assert!(
        v["discrepancy"]["message"]
            .as_str()
            .expect("m")
            .contains("level 0, index 1"),
        "{v}"
    );
}

/// An attacker with write access to the database file replaces a leaf of the first registry
/// without a ledger entry, recomputing its path to the root or not.
fn tamper_registry(home: &Path, whole_path: bool) {
    use dossier_store::db::NODES;
    use dossier_store::kv::Readable;
    use dossier_store::registry::{self, NodeStore};
    use dossier_store::StoreError;
    struct Raw<'a, 't>(&'a mut dossier_store::kv::Table<'t, (u32, u8, u32), [u8; 32]>);
    impl NodeStore for Raw<'_, '_> {
        fn get(&self, level: u8, index: u32) -> Result<Option<Fr>, StoreError> {
            Ok(self
                .0
                .get((0, level, index))
                .expect("get")
                .map(|v| dossier_core::field::from_be_bytes("n", &v.value()).expect("canonical")))
        }
        fn put(&mut self, level: u8, index: u32, node: Option<Fr>) -> Result<(), StoreError> {
            match node {
                Some(n) => self
                    .0
                    .insert((0, level, index), dossier_core::field::to_be_bytes(&n))
                    .expect("insert"),
                None => self.0.remove((0, level, index)).expect("remove"),
            };
            Ok(())
        }
    }
    let store = dossier_tests::open_store(home, std::time::Duration::from_secs(5));
    let txn = store.raw().begin_write().expect("txn");
    {
        let mut t = txn.open_table(NODES).expect("table");
        if whole_path {
            registry::apply(&mut Raw(&mut t), &[(1, Fr::from(424242u64))]).expect("apply");
        } else {
            Raw(&mut t)
                .put(0, 1, Some(Fr::from(424242u64)))
                .expect("put");
        }
    }
    txn.commit().expect("commit");
}

dossier_tests::also_on_postgres!(
    the_untampered_ledger_passes,
    a_tampered_entry_is_caught,
    a_removed_entry_is_caught,
    missing_tail_entries_are_caught,
    a_replayed_entry_is_caught,
    an_entry_forged_with_another_key_is_caught,
    a_false_registry_root_is_caught_even_when_signed_by_the_ledger,
    a_false_halo2_twin_root_is_caught_in_entries_and_checkpoints,
    a_forked_checkpoint_is_caught,
    a_checkpoint_listing_other_roots_is_caught,
    unsigned_and_wrongly_signed_checkpoints_are_caught,
    a_registry_changed_outside_the_log_is_caught,
    a_leaf_changed_without_its_root_is_caught,
);
