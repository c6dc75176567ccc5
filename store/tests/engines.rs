//! The same store on both engines: the embedded default (redb) and PostgreSQL (a throw-away
//! server per test). Tables read alike (order, ranges from either end, lengths, pages larger
//! than a round trip's), a ledger story audits alike, writers on separate connections never
//! fork the ledger, a server killed mid-load loses no acknowledged write, nor does a failover to
//! a promoted synchronous standby, a database made by a newer dossier is refused, and a PostgreSQL store backs up under load into an embedded
//! snapshot that audits.

mod appraisals;

use appraisals::{claims, key};
use dossier_core::keys::KeyPair;
use dossier_core::{checkpoint, Fr};
use dossier_store::kv::{Readable, Reading, TableDef};
use dossier_store::scratch;
use dossier_store::{audit, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;

/// A ledger with issuer `hr.example` in `store`, issued into `per_call` credentials at a time
/// until `kill` takes its server away (the cap only bounds a test whose kill never came).
/// Returns the ledger key and what was acknowledged before the kill.
fn load_until(store: Store, per_call: usize, kill: impl FnOnce()) -> (KeyPair, Vec<(u32, Fr)>) {
    let log_key = key("test/ledger");
    let hr = key("hr.example");
    store.init_ledger(&log_key).expect("init");
    store.register_issuer(&hr, 1).expect("register");
    let writer = std::thread::spawn(move || {
        let mut acknowledged = Vec::new();
        for _ in 0..1_000_000 {
            match store.issue(&hr, &claims(per_call), 1, 2) {
                Ok(c) => acknowledged.extend(c.iter().map(|c| (c.credential_id, c.commitment()))),
                Err(StoreError::Postgres { .. }) => break,
                Err(e) => panic!("unexpected: {e}"),
            }
        }
        acknowledged
    });
    std::thread::sleep(Duration::from_millis(400));
    kill();
    let acknowledged = writer.join().expect("writer");
    assert!(!acknowledged.is_empty(), "the load ran before the kill");
    (log_key, acknowledged)
}

/// Every acknowledged credential is in `store`, which still takes writes and audits clean.
fn all_there_and_audits(store: &Store, log_key: &KeyPair, acknowledged: &[(u32, Fr)]) {
    for (id, commitment) in acknowledged {
        assert_eq!(
            store.witness("hr.example", *id).expect("witness").leaf,
            *commitment,
            "acknowledged credential {id} is there"
        );
    }
    let hr = key("hr.example");
    assert!(
        matches!(
            store.issue(&hr, &claims(1), 1, 3),
            Err(StoreError::WrongIssuerKey { .. })
        ),
        "the store answers (an impostor's key is refused)"
    );
    store
        .checkpoint(log_key, 4)
        .expect("a checkpoint: the store takes writes");
    audit::audit_store(store, Some(&log_key.verifier_key()))
        .expect("store")
        .expect("audit passes");
}

/// Runs `story` on a redb store and, where PostgreSQL is installed, on a PostgreSQL one.
fn on_both_engines(what: &str, story: impl Fn(&Store, &str)) {
    let dir = tempfile::tempdir().expect("tmp");
    let redb = Store::open(&dir.path().join("d.redb"), Duration::from_secs(5)).expect("redb");
    story(&redb, "redb");
    if let Some(pg) = scratch::for_test(what) {
        let store = Store::open_postgres(&pg.url()).expect("postgres");
        story(&store, "postgres");
    }
}

const ROWS: TableDef<(&str, u32), u64> = TableDef::new("test_rows");

#[test]
fn tables_read_alike_on_both_engines() {
    on_both_engines("tables on PostgreSQL", |store, engine| {
        let db = store.raw();
        {
            let txn = db.begin_write().expect("write");
            {
                let mut t = txn.open_table(ROWS).expect("table");
                // More rows than one page of a PostgreSQL iteration, under keys whose strings
                // hold a zero byte and prefixes of each other.
                for i in 0..1300u32 {
                    let name = ["a", "a\0", "ab", ""][(i % 4) as usize];
                    assert!(t
                        .insert((name, i), u64::from(i) * 3)
                        .expect("insert")
                        .is_none());
                }
                assert_eq!(
                    t.insert(("ab", 2), 7).expect("insert").map(|v| v.value()),
                    Some(6),
                    "{engine}: insert returns the value it replaces"
                );
                assert_eq!(
                    t.remove(("ab", 3)).expect("remove").map(|v| v.value()),
                    None
                );
                assert_eq!(
                    t.len().expect("len"),
                    1300,
                    "{engine}: len inside the write"
                );
            }
            txn.commit().expect("commit");
        }
        // A transaction dropped without commit leaves nothing.
        {
            let txn = db.begin_write().expect("write");
            txn.open_table(ROWS)
                .expect("table")
                .insert(("zz", 0), 1)
                .expect("insert");
        }
        let txn = db.begin_read().expect("read");
        let t = txn.open_table(ROWS).expect("table");
        assert_eq!(t.len().expect("len"), 1300, "{engine}");
        assert!(
            t.get(("zz", 0)).expect("get").is_none(),
            "{engine}: aborted"
        );
        assert_eq!(t.get(("ab", 2)).expect("get").map(|v| v.value()), Some(7));
        let keys: Vec<(String, u32)> = t
            .iter()
            .expect("iter")
            .map(|r| {
                let (k, _) = r.expect("row");
                let (s, i) = k.value();
                (s.to_string(), i)
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort_by(|a, b| (a.0.as_bytes(), a.1).cmp(&(b.0.as_bytes(), b.1)));
        assert_eq!(keys, sorted, "{engine}: key order");
        assert_eq!(keys.len(), 1300);
        assert_eq!(
            keys[0],
            (String::new(), 3),
            "{engine}: the empty string first"
        );
        // Ranges, inclusive and exclusive, from either end.
        let range: Vec<u32> = t
            .range(("a", 100)..("a", 900))
            .expect("range")
            .map(|r| r.expect("row").0.value().1)
            .collect();
        assert_eq!(range, (100..900).step_by(4).collect::<Vec<_>>(), "{engine}");
        let back: Vec<u32> = t
            .range(("a", 0)..=("a", 1296))
            .expect("range")
            .rev()
            .map(|r| r.expect("row").0.value().1)
            .collect();
        assert_eq!(
            back,
            (0..1297u32).step_by(4).rev().collect::<Vec<_>>(),
            "{engine}"
        );
        // Both ends of one iteration meet without a row seen twice.
        let mut both = t.range(("a\0", 0)..).expect("range");
        let (mut front, mut rear) = (Vec::new(), Vec::new());
        loop {
            match both.next() {
                Some(r) => front.push(r.expect("row").0.value().1),
                None => break,
            }
            match both.next_back() {
                Some(r) => rear.push(r.expect("row").0.value().1),
                None => break,
            }
        }
        rear.reverse();
        front.extend(rear);
        assert_eq!(
            front.len(),
            325 + 325,
            "{engine}: a\\0 and ab rows, once each"
        );
        let first = t.first().expect("first").expect("a row");
        let last = t.last().expect("last").expect("a row");
        assert_eq!(first.0.value(), ("", 3));
        assert_eq!(last.0.value(), ("ab", 1298), "{engine}");
        assert!(t.range(("b", 0)..).expect("range").next().is_none());
    });
}

const OTHER_ROWS: TableDef<(&str, u32), u64> = TableDef::new("test_other_rows");

#[test]
fn rows_read_ahead_across_tables_read_as_without() {
    on_both_engines("read-ahead on PostgreSQL", |store, engine| {
        let db = store.raw();
        let txn = db.begin_write().expect("write");
        {
            let mut a = txn.open_table(ROWS).expect("table");
            let mut b = txn.open_table(OTHER_ROWS).expect("table");
            for i in 0..50u32 {
                a.insert(("k", i), u64::from(i)).expect("insert");
                // The same keys, other values, in the other table; every third one absent.
                if i % 3 != 0 {
                    b.insert(("k", i), u64::from(i) + 1000).expect("insert");
                }
            }
        }
        txn.commit().expect("commit");
        let txn = db.begin_read().expect("read");
        // Keys repeated, absent from one table or both, and past the end.
        let wanted = [0u32, 1, 2, 2, 3, 49, 50, 7, 7, 1_000_000];
        txn.prefetch(
            wanted
                .iter()
                .flat_map(|&i| [(ROWS, ("k", i)), (OTHER_ROWS, ("k", i))]),
        )
        .expect("read ahead");
        let (a, b) = (
            txn.open_table(ROWS).expect("table"),
            txn.open_table(OTHER_ROWS).expect("table"),
        );
        for i in wanted {
            let in_a = a.get(("k", i)).expect("get").map(|v| v.value());
            let in_b = b.get(("k", i)).expect("get").map(|v| v.value());
            assert_eq!(in_a, (i < 50).then_some(u64::from(i)), "{engine}: {i}");
            assert_eq!(
                in_b,
                (i < 50 && i % 3 != 0).then_some(u64::from(i) + 1000),
                "{engine}: {i} in the other table"
            );
        }
    });
}

#[test]
fn a_finished_read_holds_no_snapshot_for_long() {
    let Some(pg) = scratch::for_test("idle reads on PostgreSQL") else {
        return;
    };
    let store = Store::open_postgres(&pg.url()).expect("postgres");
    let log_key = key("test/ledger");
    store.init_ledger(&log_key).expect("init");
    let open_transactions = || -> i64 {
        let mut c = postgres::Client::connect(&pg.url(), postgres::NoTls).expect("connect");
        c.query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
            &[],
        )
        .expect("activity")
        .get(0)
    };
    // Reads leave their transaction for the connection's next one to end...
    let size = store.ledger_size().expect("size");
    for _ in 0..3 {
        assert_eq!(store.ledger_size().expect("size"), size);
    }
    // ...which a write on the same connection does in its first message.
    store
        .register_issuer(&key("hr.example"), 1)
        .expect("register");
    assert_eq!(store.ledger_size().expect("size"), size + 1);
    assert!(
        open_transactions() >= 1,
        "the last read's transaction is still open"
    );
    // Idle, it is ended within the sweeper's limit: no snapshot holds vacuum back.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(open_transactions(), 0, "idle reads ended by the sweeper");
    assert_eq!(
        store.ledger_size().expect("size"),
        size + 1,
        "the connection still serves"
    );
}

fn ledger_story(store: &Store, engine: &str) {
    let log_key = key("test/ledger");
    let hr = key("hr.example");
    store.init_ledger(&log_key).expect("init");
    store.register_issuer(&hr, 1).expect("register");
    let issued = store.issue(&hr, &claims(40), 20_000, 2).expect("issue");
    let note1 = store.checkpoint(&log_key, 3).expect("checkpoint");
    let cp1 = checkpoint::open(note1.as_bytes(), &log_key.verifier_key()).expect("signed");
    assert_eq!(cp1.size, 42, "{engine}");
    let w = store.witness("hr.example", 7).expect("witness");
    assert!(w.is_valid(), "{engine}");
    assert_eq!(w.leaf, issued[7].commitment());
    store
        .update(&hr, 7, &claims(1)[0], 20_001, 4)
        .expect("update");
    store.revoke(&hr, 8, 5).expect("revoke");
    assert!(matches!(
        store.revoke(&hr, 8, 5),
        Err(StoreError::CredentialNotFound { .. })
    ));
    assert!(matches!(
        store.issue(&key("hr.example"), &claims(1), 1, 1),
        Err(StoreError::WrongIssuerKey { .. })
    ));
    let size = store.ledger_size().expect("size");
    let note2 = store.checkpoint(&log_key, 6).expect("checkpoint");
    let cp2 = checkpoint::open(note2.as_bytes(), &log_key.verifier_key()).expect("signed");
    assert_eq!(cp2.size, size + 1, "{engine}: the refusal wrote nothing");
    let proof = store.consistency_proof(cp1.size, cp2.size).expect("proof");
    dossier_core::log_proof::verify_consistency(
        &proof,
        cp1.size,
        cp1.root_hash,
        cp2.size,
        cp2.root_hash,
    )
    .expect("consistent");
    let report = audit::audit_store(store, Some(&log_key.verifier_key()))
        .expect("store")
        .expect("audit passes");
    assert_eq!(report.checkpoints, 2, "{engine}");
    assert_eq!(report.registries[0].live, 39, "{engine}");
}

#[test]
fn a_ledger_story_audits_on_both_engines() {
    on_both_engines("the ledger story on PostgreSQL", ledger_story);
}

/// Replicas of a service are separate processes with separate connections to one database:
/// two `Store` handles, each with its own pool, writing at once from several threads.
#[test]
fn writers_on_separate_connections_never_fork_the_ledger() {
    let Some(pg) = scratch::for_test("concurrent PostgreSQL writers") else {
        return;
    };
    let replicas: Vec<Arc<Store>> = (0..2)
        .map(|_| Arc::new(Store::open_postgres(&pg.url()).expect("open")))
        .collect();
    let log_key = Arc::new(key("test/ledger"));
    replicas[0].init_ledger(&log_key).expect("init");
    let issuers: Arc<Vec<KeyPair>> =
        Arc::new((0..3).map(|i| key(&format!("issuer-{i}"))).collect());
    for k in issuers.iter() {
        replicas[0].register_issuer(k, 1).expect("register");
    }
    let handles: Vec<_> = (0..6)
        .map(|t| {
            let store = Arc::clone(&replicas[t % 2]);
            let issuers = Arc::clone(&issuers);
            let log_key = Arc::clone(&log_key);
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                let mut notes = Vec::new();
                for round in 0..6 {
                    let k = &issuers[t % 3];
                    for c in store.issue(k, &claims(2), 1, 2).expect("issue") {
                        acknowledged.push((t % 3, c.credential_id, c.commitment()));
                    }
                    if round % 2 == t % 2 {
                        notes.push(store.checkpoint(&log_key, 3).expect("checkpoint"));
                    }
                }
                (acknowledged, notes)
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    let mut notes = Vec::new();
    for h in handles {
        let (a, n) = h.join().expect("thread");
        acknowledged.extend(a);
        notes.extend(n);
    }
    let store = &replicas[1];
    assert_eq!(acknowledged.len(), 72);
    let mut ids = std::collections::BTreeSet::new();
    for (i, id, commitment) in &acknowledged {
        assert!(ids.insert((*i, *id)), "an id was given twice");
        let w = store.witness(&format!("issuer-{i}"), *id).expect("witness");
        assert_eq!(
            w.leaf, *commitment,
            "every acknowledged credential is present"
        );
    }
    // No two checkpoints of one size differ, and each is consistent with the final log.
    let mut by_size = std::collections::BTreeMap::new();
    for note in &notes {
        let cp = checkpoint::open(note.as_bytes(), &log_key.verifier_key()).expect("signed");
        if let Some(root) = by_size.insert(cp.size, cp.root_hash) {
            assert_eq!(
                root, cp.root_hash,
                "two checkpoints of size {} differ",
                cp.size
            );
        }
        assert_eq!(store.tree_hash(cp.size).expect("hash"), cp.root_hash);
    }
    audit::audit_store(&**store, Some(&log_key.verifier_key()))
        .expect("store")
        .expect("audit passes");
}

/// The server is killed (immediate stop: no shutdown checkpoint) while writers run; after it
/// comes back, every write acknowledged before the kill is there and the ledger audits.
#[test]
fn a_server_killed_mid_load_loses_no_acknowledged_write() {
    let Some(pg) = scratch::for_test("a PostgreSQL crash") else {
        return;
    };
    let store = Store::open_postgres(&pg.url()).expect("open");
    let (log_key, acknowledged) = load_until(store, 1, || pg.crash().expect("crash"));
    pg.restart().expect("restart");
    let store = Store::open_postgres(&pg.url()).expect("reopen");
    all_there_and_audits(&store, &log_key, &acknowledged);
}

#[test]
fn a_database_of_a_newer_schema_is_refused_and_migrations_are_idempotent() {
    let Some(pg) = scratch::for_test("PostgreSQL migrations") else {
        return;
    };
    let url = pg.new_database("migrations").expect("db");
    drop(Store::open_postgres(&url).expect("first start migrates"));
    drop(Store::open_postgres(&url).expect("second start finds it current"));
    let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    client
        .execute("UPDATE dossier_schema SET version = version + 1", &[])
        .expect("bump");
    match Store::open_postgres(&url) {
        Err(StoreError::Refused { reason }) => assert!(reason.contains("newer"), "{reason}"),
        Err(e) => panic!("refused for the wrong reason: {e}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
    assert!(matches!(
        Store::open_postgres("mysql://nope"),
        Err(StoreError::Refused { .. })
    ));
}

#[test]
fn a_postgres_store_backs_up_under_load_into_a_snapshot_that_audits() {
    let Some(pg) = scratch::for_test("PostgreSQL backups") else {
        return;
    };
    let store = Arc::new(Store::open_postgres(&pg.url()).expect("open"));
    let log_key = key("test/ledger");
    let hr = Arc::new(key("hr.example"));
    store.init_ledger(&log_key).expect("init");
    store.register_issuer(&hr, 1).expect("register");
    store.issue(&hr, &claims(12), 20_000, 2).expect("issue");
    store.checkpoint(&log_key, 3).expect("checkpoint");
    // A writer goes on issuing while the backup is taken.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, hr, stop) = (Arc::clone(&store), Arc::clone(&hr), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                store.issue(&hr, &claims(3), 20_000, 2).expect("issue");
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let dir = tempfile::tempdir().expect("tmp");
    let dest = dir.path().join("backup.redb");
    let snapshot = store.backup(&dest, &[]).expect("backup");
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let batches = writer.join().expect("writer");
    assert!(batches > 0, "the writer ran");
    let live = store.ledger_size().expect("size");
    assert!(snapshot.entries > 14, "the snapshot saw some of the load");
    assert!(live > snapshot.entries, "and the load went on after it");
    let copy =
        dossier_store::StoreReader::open_read_only(&dest, Duration::from_secs(5)).expect("copy");
    assert_eq!(copy.ledger_size().expect("size"), snapshot.entries);
    assert_eq!(
        copy.entries(0, snapshot.entries).expect("entries"),
        store.entries(0, snapshot.entries).expect("entries"),
        "the copy's entries are the live ledger's, up to the snapshot"
    );
    assert_eq!(
        copy.tree_hash(snapshot.entries).expect("hash"),
        store.tree_hash(snapshot.entries).expect("hash")
    );
    audit::audit_store(&copy, Some(&log_key.verifier_key()))
        .expect("store")
        .expect("the copy audits");
}

/// Regression: replicas sign checkpoints with their own clocks, and a replica whose clock lags
/// signed a checkpoint older than the one before it, which the audit (rightly) fails. A
/// checkpoint's time now never goes back: a lagging clock signs the previous checkpoint's time.
#[test]
fn a_checkpoint_signed_by_a_lagging_clock_keeps_time_from_going_back() {
    on_both_engines("checkpoint times on PostgreSQL", |store, engine| {
        let log_key = key("test/ledger");
        let hr = key("hr.example");
        store.init_ledger(&log_key).expect("init");
        store.register_issuer(&hr, 1).expect("register");
        store.checkpoint(&log_key, 1_000).expect("checkpoint");
        store.issue(&hr, &claims(2), 20_000, 2).expect("issue");
        let note = store.checkpoint(&log_key, 900).expect("checkpoint");
        let cp = checkpoint::open(note.as_bytes(), &log_key.verifier_key()).expect("signed");
        assert_eq!(cp.time, 1_000, "{engine}");
        audit::audit_store(store, Some(&log_key.verifier_key()))
            .expect("store")
            .expect("audit passes");
    });
}

/// A primary with a synchronous streaming standby: the primary is killed mid-load, the standby
/// promoted, and every write acknowledged before the kill is on the new primary, which audits
/// clean and takes new writes.
#[test]
fn failover_to_a_synchronous_standby_loses_no_acknowledged_write() {
    let Some(primary) = scratch::for_test("PostgreSQL failover") else {
        return;
    };
    let standby = primary.synchronous_standby().expect("standby");
    let store = Store::open_postgres(&primary.url()).expect("open");
    let (log_key, acknowledged) =
        load_until(store, 2, || primary.crash().expect("kill the primary"));
    standby.promote().expect("promote");
    let promoted = Store::open_postgres(&standby.url()).expect("the new primary");
    all_there_and_audits(&promoted, &log_key, &acknowledged);
}

/// A process keeps at most `MAX_CONNECTIONS` connections open: twice as many transactions at
/// once wait their turn instead of exhausting the server's `max_connections`.
#[test]
fn more_transactions_than_connections_wait_their_turn() {
    use dossier_store::kv::MAX_CONNECTIONS;
    let Some(pg) = scratch::for_test("the PostgreSQL connection bound") else {
        return;
    };
    let store = Arc::new(Store::open_postgres(&pg.url()).expect("open"));
    let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let holders: Vec<_> = (0..2 * MAX_CONNECTIONS)
        .map(|_| {
            let (store, done) = (Arc::clone(&store), Arc::clone(&done));
            std::thread::spawn(move || {
                let txn = store.raw().begin_read().expect("read");
                let _ = txn.open_table(ROWS).expect("table").len().expect("len");
                std::thread::sleep(Duration::from_millis(100));
                drop(txn);
                done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        })
        .collect();
    let mut watcher = postgres::Client::connect(&pg.url(), postgres::NoTls).expect("connect");
    let mut most = 0i64;
    while done.load(std::sync::atomic::Ordering::SeqCst) < 2 * MAX_CONNECTIONS {
        let n: i64 = watcher
            .query_one(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()",
                &[],
            )
            .expect("count")
            .get(0);
        most = most.max(n);
        std::thread::sleep(Duration::from_millis(5));
    }
    for h in holders {
        h.join().expect("a transaction waited and ran");
    }
    assert!(most >= 1, "the transactions ran");
    assert!(
        most <= MAX_CONNECTIONS as i64,
        "{most} connections open at once"
    );
}
