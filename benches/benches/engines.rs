//! The store on its two engines in one run: the embedded default (redb, a file) and PostgreSQL
//! (a throw-away server on the loopback, started by the bench), each holding 50,000 credentials
//! of one issuer. Durable batch and single issuance, a revocation, a checkpoint, a membership
//! path (both trees) and log proofs. Only the ratios between the engines compare across days.
//! Without PostgreSQL installed the PostgreSQL half is skipped, saying so.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

mod reads;

use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::{employment_claims, ledger_with_issuer};
use dossier_store::Store;
use std::time::Duration;

const PRELOAD: usize = 50_000;

fn engine(c: &mut Criterion, name: &str, store: Store) {
    let (store, log, issuer) = ledger_with_issuer(store);
    let batch = employment_claims(1_000);
    for _ in 0..PRELOAD / batch.len() {
        store.issue(&issuer, &batch, 20_000, 2).expect("preload");
    }
    store.checkpoint(&log, 3).expect("checkpoint");

    let mut g = c.benchmark_group(format!("engine_{name}"));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("issue_batch_1000_durable", |b| {
        b.iter(|| store.issue(&issuer, &batch, 20_000, 2).expect("issue"))
    });
    g.bench_function("issue_single_durable", |b| {
        b.iter(|| store.issue(&issuer, &batch[..1], 20_000, 2).expect("issue"))
    });
    let mut next = 0u32;
    g.bench_function("revoke_single_durable", |b| {
        b.iter(|| {
            store.revoke(&issuer, next, 4).expect("revoke");
            next += 1;
        })
    });
    g.bench_function("checkpoint", |b| {
        b.iter(|| store.checkpoint(&log, 5).expect("checkpoint"))
    });
    g.sample_size(50);
    reads::reads(&mut g, &store, PRELOAD as u32, "path_lookup_both_trees");
    g.finish();
}

fn engines(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let redb = Store::open(&dir.path().join("bench.redb"), Duration::from_secs(5)).expect("redb");
    engine(c, "redb", redb);
    match dossier_store::scratch::ScratchPostgres::start().expect("scratch PostgreSQL") {
        Some(pg) => {
            let store = Store::open_postgres(&pg.url()).expect("postgres");
            engine(c, "postgres", store);
        }
        None => eprintln!("SKIPPED the PostgreSQL half: PostgreSQL is not installed"),
    }
}

criterion_group!(benches, engines);
criterion_main!(benches);
