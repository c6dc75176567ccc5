//! One run at the issue's scale, too long for criterion's repeated samples: build a registry of
//! 1,000,000 credentials through the durable store (batches of 10,000), then measure path
//! lookups, log proofs and a checkpoint at that size, reopening, and a full audit.
//! `cargo bench -p dossier-benches --bench scale` (about two minutes here); `SCALE_N` overrides
//! the size, `SCALE_ENGINE=postgres` runs it on a throw-away PostgreSQL server instead of redb,
//! and `SCALE_AUDIT=0` leaves out the full audit. Prints a table for BENCHMARKS.md.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use dossier_benches::{employment_claims, ledger_with_issuer};
use dossier_core::log_proof;
use dossier_store::{audit, Store};
use std::time::{Duration, Instant};

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p) as usize]
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let t = Instant::now();
    let v = f();
    (v, t.elapsed().as_secs_f64())
}

/// Median and p99 of `samples` path lookups (both trees) spread over the registry, in µs.
fn path_lookups<D: dossier_store::kv::Reading>(
    store: &Store<D>,
    n: usize,
    samples: usize,
) -> (f64, f64) {
    let lookups: Vec<f64> = (0..samples)
        .map(|i| {
            timed(|| {
                store
                    .witness("hr.bench", (i * 7919 % n) as u32)
                    .expect("path")
            })
            .1 * 1e6
        })
        .collect();
    (percentile(lookups.clone(), 0.5), percentile(lookups, 0.99))
}

/// The same lookups after the server is restarted with its buffer cache sized for the data
/// (`shared_buffers`, as a deployment sets it) and the table's index loaded into it with
/// `pg_prewarm` (which a deployment runs at start-up, or lets `autoprewarm` do).
fn sized_server(
    pg: &dossier_store::scratch::ScratchPostgres,
    store: Store,
    n: usize,
    samples: usize,
) {
    drop(store);
    let settings = ["shared_buffers=6GB", "effective_cache_size=16GB"];
    pg.restart_with(&settings).expect("restart");
    let mut c = postgres::Client::connect(&pg.url(), postgres::NoTls).expect("connect");
    let (_, warm) = timed(|| {
        c.batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_prewarm;
             SELECT pg_prewarm('dossier_kv_pkey');",
        )
        .expect("pg_prewarm")
    });
    let store = Store::open_postgres(&pg.url()).expect("postgres");
    let (p50, p99) = path_lookups(&store, n, samples);
    println!(
        "| path lookup at {n}, server restarted with {} and its index prewarmed ({warm:.0} s) | {p50:.0} us / {p99:.0} us | |",
        settings.join(", ")
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("scale: bench");
        return;
    }
    let n: usize = std::env::var("SCALE_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("scale.redb");
    let postgres = match std::env::var("SCALE_ENGINE").as_deref() {
        Ok("postgres") => Some(
            dossier_store::scratch::ScratchPostgres::start()
                .expect("scratch PostgreSQL")
                .expect("PostgreSQL is installed"),
        ),
        _ => None,
    };
    let open = || match &postgres {
        Some(pg) => Store::open_postgres(&pg.url()).expect("postgres"),
        None => Store::open(&path, Duration::from_secs(5)).expect("open"),
    };
    println!(
        "| engine | {} | |",
        if postgres.is_some() {
            "PostgreSQL"
        } else {
            "redb"
        }
    );
    let (store, log, issuer) = ledger_with_issuer(open());
    let batch = 10_000.min(n);
    let claims = employment_claims(batch);
    let (_, build) = timed(|| {
        for _ in 0..n / batch {
            store.issue(&issuer, &claims, 20_000, 2).expect("issue");
        }
    });
    println!("| build {n}-credential registry (durable batches of {batch}) | {build:.1} s | {:.0} credentials/s |", n as f64 / build);
    let (_, cp) = timed(|| store.checkpoint(&log, 3).expect("checkpoint"));
    println!(
        "| checkpoint at {} entries | {:.2} ms | |",
        store.ledger_size().expect("size"),
        cp * 1e3
    );
    let size = store.ledger_size().expect("size");
    let root = store.tree_hash(size).expect("root");
    let samples = 2000;
    let (p50, p99) = path_lookups(&store, n, samples);
    println!("| path lookup at {n} (median / p99 of {samples}) | {p50:.0} us / {p99:.0} us | |");
    let incl: Vec<f64> = (0..samples as u64)
        .map(|i| {
            let idx = i * 7919 % size;
            let (proof, t) = timed(|| store.inclusion_proof(idx, size).expect("proof"));
            let entry = store.entries(idx, idx + 1).expect("entry").remove(0);
            log_proof::verify_inclusion(&proof, size, root, idx, log_proof::leaf_hash(&entry))
                .expect("valid");
            t * 1e6
        })
        .collect();
    println!(
        "| inclusion proof at {size} entries (median / p99) | {:.0} us / {:.0} us | |",
        percentile(incl.clone(), 0.5),
        percentile(incl, 0.99)
    );
    let cons: Vec<f64> = (1..=200u64)
        .map(|i| {
            let old = size * i / 201;
            let old_root = store.tree_hash(old).expect("root");
            let (proof, t) = timed(|| store.consistency_proof(old, size).expect("proof"));
            log_proof::verify_consistency(&proof, old, old_root, size, root).expect("valid");
            t * 1e6
        })
        .collect();
    println!(
        "| consistency proof at {size} entries (median / p99 of 200) | {:.0} us / {:.0} us | |",
        percentile(cons.clone(), 0.5),
        percentile(cons, 0.99)
    );
    drop(store);
    let (store, reopen) = timed(open);
    let (w, first) = timed(|| store.witness("hr.bench", 123_456 % n as u32).expect("path"));
    assert!(w.is_valid());
    println!(
        "| reopen the store and serve a path (no rebuild) | {:.1} ms + {:.0} us | |",
        reopen * 1e3,
        first * 1e6
    );
    if std::env::var("SCALE_AUDIT").as_deref() != Ok("0") {
        let (report, secs) = timed(|| {
            audit::audit_store(&store, None)
                .expect("store")
                .expect("audit passes")
        });
        println!(
            "| full audit: replay {} entries, every node compared | {secs:.1} s | {:.0} entries/s |",
            report.entries,
            report.entries as f64 / secs
        );
    }
    if let Some(pg) = &postgres {
        sized_server(pg, store, n, samples);
    }
    let bytes = match &postgres {
        Some(pg) => {
            let mut c = postgres::Client::connect(&pg.url(), postgres::NoTls).expect("connect");
            let size: i64 = c
                .query_one("SELECT pg_database_size(current_database())", &[])
                .expect("size")
                .get(0);
            size as u64
        }
        None => std::fs::metadata(&path).expect("file").len(),
    };
    println!(
        "| database size | {:.0} MB | {:.0} bytes/credential |",
        bytes as f64 / 1e6,
        bytes as f64 / n as f64
    );
}
