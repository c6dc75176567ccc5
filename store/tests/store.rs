//! The embedded store end to end: registries and ledger together, reopening, proofs, refusals
//! that change nothing, and concurrent writers.

mod appraisals;

use appraisals::{claims, key};
use dossier_core::keys::KeyPair;
use dossier_core::{checkpoint, log_proof, Fr};
use dossier_store::ledger::MemoryLog;
use dossier_store::{audit, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

fn open(path: &std::path::Path) -> Store {
    Store::open(path, Duration::from_secs(5)).expect("open")
}

#[test]
fn a_ledger_story_survives_reopening_and_audits() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("d.redb");
    let log_key = key("test/ledger");
    let hr = key("hr.example");
    let (first_note, witness) = {
        let store = open(&db);
        store.init_ledger(&log_key).expect("init");
        store.register_issuer(&hr, 1).expect("register");
        let issued = store.issue(&hr, &claims(50), 20_000, 2).expect("issue");
        assert_eq!(
            issued.iter().map(|c| c.credential_id).collect::<Vec<_>>(),
            (0..50).collect::<Vec<_>>()
        );
        let note = store.checkpoint(&log_key, 3).expect("checkpoint");
        let w = store.witness("hr.example", 7).expect("witness");
        assert!(w.is_valid());
        assert_eq!(w.leaf, issued[7].commitment());
        (note, w)
    };
    let store = open(&db);
    let cp1 = checkpoint::open(first_note.as_bytes(), &log_key.verifier_key()).expect("signed");
    assert_eq!(cp1.size, 52, "registration + 50 issues + roots");
    assert_eq!(
        store.witness("hr.example", 7).expect("witness"),
        witness,
        "reopened without rebuilding"
    );
    assert_eq!(cp1.registries[0].root, witness.root);

    store
        .update(&hr, 7, &claims(1)[0], 20_001, 4)
        .expect("update");
    store.revoke(&hr, 8, 5).expect("revoke");
    assert!(matches!(
        store.revoke(&hr, 8, 5),
        Err(StoreError::CredentialNotFound { .. })
    ));
    assert!(matches!(
        store.update(&hr, 99, &claims(1)[0], 1, 1),
        Err(StoreError::CredentialNotFound { .. })
    ));
    let cp2 = checkpoint::open(
        store.checkpoint(&log_key, 6).expect("cp").as_bytes(),
        &log_key.verifier_key(),
    )
    .expect("signed");
    assert_ne!(cp2.registries[0].root, cp1.registries[0].root);
    assert_eq!(cp2.registries[0].live, 49);
    assert!(!store
        .witness("hr.example", 7)
        .expect("w")
        .root
        .eq(&witness.root));
    assert_eq!(
        store.witness("hr.example", 8).expect("w").leaf,
        Fr::from(0u64)
    );

    // The database's proofs equal an in-memory replay's, and verify.
    let export = store.export().expect("export");
    let mut mem = MemoryLog::default();
    for e in &export.entries {
        mem.append(e).expect("append");
    }
    assert_eq!(store.tree_hash(cp2.size).expect("root"), cp2.root_hash);
    let proof = store.consistency_proof(cp1.size, cp2.size).expect("proof");
    assert_eq!(
        proof,
        mem.consistency_proof(cp1.size, cp2.size).expect("mem")
    );
    log_proof::verify_consistency(&proof, cp1.size, cp1.root_hash, cp2.size, cp2.root_hash)
        .expect("consistent");
    let inc = store.inclusion_proof(10, cp2.size).expect("inclusion");
    log_proof::verify_inclusion(
        &inc,
        cp2.size,
        cp2.root_hash,
        10,
        log_proof::leaf_hash(&export.entries[10]),
    )
    .expect("included");
    assert!(store.inclusion_proof(10, cp2.size + 5).is_err());

    let report = audit::audit_store(&store, Some(&log_key.verifier_key()))
        .expect("store")
        .expect("audit passes");
    assert_eq!(report.checkpoints, 2);
    assert_eq!(report.registries[0].live, 49);
}

/// The file's SHA-256, so a failing comparison prints 64 characters, not the file.
fn file_digest(p: &std::path::Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(p).expect("read")))
}

#[test]
fn refusals_change_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("d.redb");
    let log_key = key("test/ledger");
    let hr = key("hr.example");
    {
        let store = open(&db);
        store.init_ledger(&log_key).expect("init");
        store.register_issuer(&hr, 1).expect("register");
        store.issue(&hr, &claims(3), 20_000, 2).expect("issue");
    }
    let before = file_digest(&db);
    {
        // Refusals found through a reader never touch the file.
        let reader = dossier_store::StoreReader::open_read_only(&db, Duration::from_secs(5))
            .expect("reader");
        let impostor = key("hr.example");
        assert!(matches!(
            reader.authorize(&impostor),
            Err(StoreError::WrongIssuerKey { .. })
        ));
        assert!(matches!(
            reader.authorize(&key("nobody")),
            Err(StoreError::UnknownIssuer { .. })
        ));
        assert!(reader.authorize(&hr).is_ok());
        assert!(!reader.is_live("hr.example", 77).expect("lookup"));
        assert!(reader.is_live("hr.example", 2).expect("lookup"));
    }
    assert_eq!(file_digest(&db), before);
    // The writer refuses the same things itself (its handle's header update aside, nothing
    // changes: same log, same roots).
    let store = open(&db);
    let (size, roots) = (
        store.ledger_size().expect("size"),
        store.registry_roots().expect("roots"),
    );
    let impostor = key("hr.example");
    assert!(matches!(
        store.issue(&impostor, &claims(2), 1, 1),
        Err(StoreError::WrongIssuerKey { .. })
    ));
    assert!(matches!(
        store.revoke(&impostor, 0, 1),
        Err(StoreError::WrongIssuerKey { .. })
    ));
    assert!(matches!(
        store.issue(&key("nobody"), &claims(1), 1, 1),
        Err(StoreError::UnknownIssuer { .. })
    ));
    assert!(matches!(
        store.register_issuer(&hr, 1),
        Err(StoreError::IssuerExists { .. })
    ));
    assert!(matches!(
        store.checkpoint(&key("test/ledger"), 1),
        Err(StoreError::LedgerKey { .. })
    ));
    assert!(matches!(
        store.init_ledger(&key("other")),
        Err(StoreError::LedgerKey { .. })
    ));
    assert!(matches!(
        store.revoke(&hr, 77, 1),
        Err(StoreError::CredentialNotFound { .. })
    ));
    assert_eq!(store.ledger_size().expect("size"), size);
    assert_eq!(store.registry_roots().expect("roots"), roots);
}

#[test]
fn concurrent_writers_in_one_process() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(open(&dir.path().join("d.redb")));
    let log_key = key("test/ledger");
    store.init_ledger(&log_key).expect("init");
    let issuers: Vec<KeyPair> = (0..4).map(|i| key(&format!("issuer-{i}"))).collect();
    for k in &issuers {
        store.register_issuer(k, 1).expect("register");
    }
    let issuers = Arc::new(issuers);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            let issuers = Arc::clone(&issuers);
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for _ in 0..10 {
                    let k = &issuers[t % 4];
                    for c in store.issue(k, &claims(3), 1, 2).expect("issue") {
                        ids.push((t % 4, c.credential_id, c.commitment()));
                    }
                }
                ids
            })
        })
        .collect();
    let all: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().expect("thread"))
        .collect();
    assert_eq!(all.len(), 240);
    for (i, id, commitment) in &all {
        let w = store.witness(&format!("issuer-{i}"), *id).expect("witness");
        assert_eq!(
            w.leaf, *commitment,
            "every acknowledged credential is present"
        );
    }
    store.checkpoint(&log_key, 3).expect("checkpoint");
    audit::audit_store(&*store, None)
        .expect("store")
        .expect("audit passes");
}

#[test]
fn the_database_is_private_to_its_owner() {
    // Regression: `dossier.redb` was created 0644 under umask 022 although it holds credential
    // openings (field values and salts), while wallets and keys were 0600.
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tmp");
    let home = dossier_store::home::Home {
        dir: dir.path().join("home"),
        lock_wait: Duration::from_secs(1),
        location: dossier_store::home::StoreLocation::Embedded,
    };
    drop(home.store().expect("created"));
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&home.db_path()), 0o600);
    assert_eq!(mode(&home.dir), 0o700);
    // One readable by others is refused, for reading and for writing, and left as it was.
    std::fs::set_permissions(home.db_path(), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let before = std::fs::read(home.db_path()).expect("bytes");
    for e in [home.store().err(), home.reader().err()] {
        match e {
            Some(StoreError::Refused { reason }) => {
                assert!(reason.contains("chmod 600"), "{reason}")
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(std::fs::read(home.db_path()).expect("bytes"), before);
    std::fs::set_permissions(home.db_path(), std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    drop(home.reader().expect("private again"));
}

#[test]
fn cosignatures_are_checked_before_they_are_kept() {
    use dossier_core::cosignature::Cosigner;
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir.path().join("d.redb"));
    let log_key = key("test/ledger");
    store.init_ledger(&log_key).expect("init");
    let note = store.checkpoint(&log_key, 3).expect("checkpoint");
    let size = checkpoint::open(note.as_bytes(), &log_key.verifier_key())
        .expect("signed")
        .size;
    let w1 = Cosigner::new(key("w1.example"));
    let w2 = Cosigner::new(key("w2.example"));
    let text = note.split_once("\n\n").expect("note").0.to_string() + "\n";
    let line = w1.cosign(text.as_bytes(), 10).expect("cosign");
    // Another witness's key, another checkpoint's text, two lines: refused, nothing kept.
    for (witness, bad) in [
        (w2.witness_key(), line.clone()),
        (
            w1.witness_key(),
            w1.cosign(b"other\n1\nAAAA\n", 10).expect("cosign"),
        ),
        (w1.witness_key(), format!("{line}{line}")),
    ] {
        assert!(store.add_cosignature(size, &witness, &bad).is_err());
        assert_eq!(store.latest_checkpoint().expect("read"), Some(note.clone()));
    }
    // A valid one is kept; a later one by the same witness replaces it; the ledger's own
    // signature stays and the note still opens.
    let kept = store
        .add_cosignature(size, &w1.witness_key(), &line)
        .expect("kept");
    assert_eq!(kept, format!("{note}{line}"));
    let later = w1.cosign(text.as_bytes(), 11).expect("cosign");
    let kept = store
        .add_cosignature(size, &w1.witness_key(), &later)
        .expect("replaced");
    assert_eq!(kept, format!("{note}{later}"));
    checkpoint::open(kept.as_bytes(), &log_key.verifier_key()).expect("still the ledger's");
    // A witness may not take the ledger's name (its lines would replace the ledger's).
    let impostor = Cosigner::new(key("test/ledger"));
    let line = impostor.cosign(text.as_bytes(), 12).expect("cosign");
    assert!(store
        .add_cosignature(size, &impostor.witness_key(), &line)
        .is_err());
    assert!(store
        .add_cosignature(size + 1, &w1.witness_key(), &later)
        .is_err());
}

/// A ballot's roll is the registry replayed from the public entries: at every checkpoint it
/// gives the very paths (both trees) the store gave then, through issues, an update and a
/// revocation; and a roll of another issuer's entries shares none of them.
#[test]
fn a_roll_replayed_from_entries_is_the_registry_at_its_checkpoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir.path().join("d.redb"));
    let log_key = key("test/ledger");
    store.init_ledger(&log_key).expect("init");
    let hr = key("hr.example");
    let other = key("other.example");
    store.register_issuer(&hr, 1).expect("register");
    store.register_issuer(&other, 1).expect("register");
    store.issue(&hr, &claims(40), 20_000, 2).expect("issue");
    store.issue(&other, &claims(5), 20_000, 2).expect("issue");
    store.checkpoint(&log_key, 3).expect("checkpoint");
    let first = store.ledger_size().expect("size");
    let then: Vec<_> = (0..40)
        .map(|id| store.witness("hr.example", id).expect("path"))
        .collect();
    // The registry moves on: an update, a revocation, more issues.
    store
        .update(&hr, 3, &claims(41)[40], 20_000, 4)
        .expect("update");
    store.revoke(&hr, 7, 5).expect("revoke");
    store.issue(&hr, &claims(3), 20_000, 6).expect("issue");
    store.checkpoint(&log_key, 7).expect("checkpoint");

    let early = store.roll("hr.example", first).expect("roll");
    for (id, path) in then.iter().enumerate() {
        assert_eq!(
            &early.path(id as u32).expect("path"),
            path,
            "credential {id}"
        );
    }
    let now = store
        .roll("hr.example", store.ledger_size().expect("size"))
        .expect("roll");
    for id in [0u32, 3, 7, 39, 41, 42, 43] {
        assert_eq!(
            now.path(id).expect("path"),
            store.witness("hr.example", id).expect("path"),
            "credential {id}"
        );
    }
    assert_ne!(
        early.path(3).expect("path").leaf,
        now.path(3).expect("path").leaf
    );
    assert!(now.path(7).expect("path").leaf == Fr::from(0u64), "revoked");
    let elsewhere = store.roll("other.example", first).expect("roll");
    assert_ne!(elsewhere.path(0).expect("path").root, then[0].root);
    assert!(
        store.roll("hr.example", first + 10_000).is_err(),
        "past the ledger"
    );
}

#[test]
fn a_batch_of_replacements_is_all_or_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("d.redb");
    let (log_key, hr) = (key("test/ledger"), key("hr.example"));
    let store = open(&db);
    store.init_ledger(&log_key).expect("init");
    store.register_issuer(&hr, 1).expect("register");
    let issued = store.issue(&hr, &claims(4), 20_000, 2).expect("issue");
    let replacement = |id: u32, replaces: Option<Fr>| dossier_store::Replacement {
        credential_id: id,
        claim: claims(5)[4].clone(),
        issued_at: 20_001,
        replaces,
    };
    let unchanged = |store: &Store| {
        (
            store.ledger_size().expect("size"),
            store.registry_roots().expect("roots"),
        )
    };
    let before = unchanged(&store);
    let keep_nothing =
        |_: &dossier_store::kv::WriteTxn, _: &[dossier_core::credential::Credential]| Ok(());
    // A stale version (the last one's), a repeated id, a revoked or unknown id, a refusal by the
    // caller's own tables: each refuses the whole batch.
    let stale = [
        replacement(0, Some(issued[0].commitment())),
        replacement(1, Some(issued[0].commitment())),
    ];
    assert!(matches!(
        store.update_many_with(&hr, &stale, 3, keep_nothing),
        Err(StoreError::Refused { .. })
    ));
    let repeated = [replacement(2, None), replacement(2, None)];
    assert!(store
        .update_many_with(&hr, &repeated, 3, keep_nothing)
        .is_err());
    let unknown = [replacement(3, None), replacement(99, None)];
    assert!(matches!(
        store.update_many_with(&hr, &unknown, 3, keep_nothing),
        Err(StoreError::CredentialNotFound { .. })
    ));
    let refused_by_keep = [replacement(3, None)];
    assert!(store
        .update_many_with(&hr, &refused_by_keep, 3, |_, _| Err(StoreError::Refused {
            reason: "the caller's table".into()
        }))
        .is_err());
    assert_eq!(unchanged(&store), before, "nothing written");
    // The current versions: both replaced, one entry each.
    let good = [
        replacement(0, Some(issued[0].commitment())),
        replacement(1, Some(issued[1].commitment())),
    ];
    let done = store
        .update_many_with(&hr, &good, 3, keep_nothing)
        .expect("replaced");
    assert_eq!(done.len(), 2);
    assert_eq!(store.ledger_size().expect("size"), before.0 + 2);
    assert_eq!(
        store.witness("hr.example", 1).expect("w").leaf,
        done[1].commitment()
    );
    // The old version no longer replaces anything.
    assert!(store
        .update_many_with(
            &hr,
            &[replacement(0, Some(issued[0].commitment()))],
            4,
            keep_nothing
        )
        .is_err());
}

/// A batch of 2,500, every third holder with a halo2 commitment: the others' empty twin leaves
/// are left out of the twin tree (a position never held is empty already), and the registry is
/// what its entries replay, in both trees, with the entries in id order and every path valid.
#[test]
fn a_large_mixed_batch_is_the_registry_its_entries_replay() {
    use dossier_core::entry::{Entry, EntryBody};
    use dossier_core::pasta::Fp;
    use dossier_store::registry::{self, MemoryTree};

    let dir = tempfile::tempdir().expect("tmp");
    let store = open(&dir.path().join("d.redb"));
    let log_key = key("test/ledger");
    store.init_ledger(&log_key).expect("init");
    let hr = key("hr.example");
    store.register_issuer(&hr, 1).expect("register");
    store.issue(&hr, &claims(5), 20_000, 2).expect("issue");
    let before = store.ledger_size().expect("size");
    let mut batch = claims(2_500);
    for (i, c) in batch.iter_mut().enumerate() {
        if i % 3 == 0 {
            c.holder_halo2 = Fp::from(7 + i as u64);
        }
    }
    let issued = store.issue(&hr, &batch, 20_000, 3).expect("issue");
    assert_eq!(
        issued.iter().map(|c| c.credential_id).collect::<Vec<_>>(),
        (5..2_505).collect::<Vec<_>>()
    );

    let entries = store.entries(before, before + 2_500).expect("entries");
    assert_eq!(entries.len(), 2_500);
    for (e, c) in entries.iter().zip(&issued) {
        match Entry::from_bytes(e).expect("entry").body {
            EntryBody::Issue {
                credential_id,
                commitment,
                commitment_halo2,
                ..
            } => {
                assert_eq!(credential_id, c.credential_id);
                assert_eq!(commitment, c.commitment());
                assert_eq!(commitment_halo2, c.commitment_halo2());
            }
            _ => panic!("entry of credential {} is not its issue", c.credential_id),
        }
    }

    // The first five were issued without halo2 commitments: their twin leaves stay empty.
    let first = claims(5);
    let mut bn = MemoryTree::<Fr>::default();
    let mut twin = MemoryTree::<Fp>::default();
    let mut bn_leaves: Vec<(u32, Fr)> = Vec::new();
    for id in 0..5u32 {
        let w = store.witness("hr.example", id).expect("path");
        assert_eq!(first[id as usize].holder_halo2, Fp::from(0u64));
        bn_leaves.push((id, w.leaf));
    }
    bn_leaves.extend(issued.iter().map(|c| (c.credential_id, c.commitment())));
    let twin_leaves: Vec<(u32, Fp)> = issued
        .iter()
        .map(|c| (c.credential_id, c.commitment_halo2()))
        .collect();
    assert_eq!(
        twin_leaves
            .iter()
            .filter(|(_, t)| *t != Fp::from(0u64))
            .count(),
        834
    );
    let root = registry::apply(&mut bn, &bn_leaves).expect("apply");
    let root_halo2 = registry::apply(&mut twin, &twin_leaves).expect("apply");
    let roots = store.registry_roots().expect("roots");
    assert_eq!(roots[0].root, root);
    assert_eq!(roots[0].root_halo2, root_halo2);
    assert_eq!(roots[0].live, 2_505);

    let now = store
        .roll("hr.example", store.ledger_size().expect("size"))
        .expect("roll");
    for id in [0u32, 4, 5, 1_028, 1_029, 2_052, 2_053, 2_504] {
        let w = store.witness("hr.example", id).expect("path");
        assert!(w.is_valid(), "credential {id}");
        assert_eq!(now.path(id).expect("path"), w, "credential {id}");
        let h = w.halo2.expect("twin path");
        let twin_root = h.siblings.iter().enumerate().fold(h.leaf, |n, (level, s)| {
            if (id >> level) & 1 == 0 {
                dossier_core::pasta::node(n, *s)
            } else {
                dossier_core::pasta::node(*s, n)
            }
        });
        assert_eq!(twin_root, h.root, "credential {id}'s twin path");
        assert_eq!(h.root, root_halo2);
        let holder_has_twin = id >= 5 && (id - 5) % 3 == 0;
        assert_eq!(h.leaf != Fp::from(0u64), holder_has_twin, "credential {id}");
    }
}
