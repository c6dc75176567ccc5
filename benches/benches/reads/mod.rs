//! The read side of a store, measured alike by the store and engine benches: a membership path
//! (both trees) and the log's inclusion and consistency proofs.

use criterion::measurement::WallTime;
use criterion::BenchmarkGroup;
use dossier_store::Store;

/// Benches `lookup` (a path of `hr.bench`, walking ids below `credentials`), `inclusion_proof`
/// and `consistency_proof` at the ledger's current size.
pub fn reads(g: &mut BenchmarkGroup<'_, WallTime>, store: &Store, credentials: u32, lookup: &str) {
    let size = store.ledger_size().expect("size");
    g.bench_function(lookup, |b| {
        let mut i = credentials / 2;
        b.iter(|| {
            i = (i + 7919) % credentials;
            store.witness("hr.bench", i).expect("path")
        })
    });
    g.bench_function("inclusion_proof", |b| {
        let mut i = 1u64;
        b.iter(|| {
            i = (i + 7919) % size;
            store.inclusion_proof(i, size).expect("proof")
        })
    });
    g.bench_function("consistency_proof", |b| {
        b.iter(|| store.consistency_proof(size / 3, size).expect("proof"))
    });
}
