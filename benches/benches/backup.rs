//! Backups of the embedded store: `Store::backup` (one read snapshot copied table by table into
//! a new private file, committed and fsynced) of a store of 20,000 credentials. Its floor,
//! measured in the same run: copying the store's file and fsyncing the copy (what a copy of the
//! bytes costs, with none of the consistency a snapshot gives while writers go on).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::store_with_issuer;
use dossier_core::credential::Claim;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};

fn backup(c: &mut Criterion) {
    let schemas = SchemaSet::builtin();
    let n = 20_000u64;
    let dir = tempfile::tempdir().expect("tmp");
    let db = dir.path().join("bench.redb");
    let (store, _log, hr) = store_with_issuer(&db);
    let claims: Vec<_> = (0..n)
        .map(|i| {
            let claim: Claim = serde_json::from_value(serde_json::json!({
                "schema": "employment", "holder": field::to_hex(&Fr::from(i + 1)),
                "fields": {"department": "finance", "position": "auditor",
                    "rank_level": "clerk_1", "rank_since": "2020-01-01",
                    "hire_date": "2020-01-01", "status": "active", "sanction_until": "1970-01-01"}
            }))
            .expect("claim");
            claim.encode(&schemas).expect("valid")
        })
        .collect();
    store.issue(&hr, &claims, 20_000, 2).expect("issue");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("dir");
    let mut k = 0u64;
    let mut next = |what: &str| {
        k += 1;
        let p = out.join(format!("{what}-{k}.redb"));
        let _ = std::fs::remove_file(&p);
        p
    };
    let mut g = c.benchmark_group("backup");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(10));
    g.bench_function(format!("snapshot_{n}_credentials"), |b| {
        b.iter_batched(
            || next("snapshot"),
            |p| {
                let s = store.backup(&p, &[]).expect("backup");
                std::fs::remove_file(&p).expect("remove");
                s.rows
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.bench_function(format!("floor_file_copy_fsync_{n}_credentials"), |b| {
        b.iter_batched(
            || next("copy"),
            |p| {
                std::fs::copy(&db, &p).expect("copy");
                std::fs::File::open(&p)
                    .and_then(|f| f.sync_all())
                    .expect("sync");
                std::fs::remove_file(&p).expect("remove");
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, backup);
criterion_main!(benches);
