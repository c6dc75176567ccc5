//! A rater's witness privacy has a price: instead of asking the service for the one path it
//! needs (which would name the credential), a wallet replays the HR office's registry from the
//! public ledger entries up to the ballot's roll (`dossier_store::ballot::Roll::replay`). Its
//! floor, measured in the same run, is building the same two trees (BN254 and the halo2 twin)
//! from the same leaves without decoding entries; the difference is what reading the public
//! ledger costs. Sizes: 4,000 credentials (the demo's HR registry) and 20,000.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use dossier_benches::{employment_claims_halo2, store_with_issuer};
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::pasta::Fp;
use dossier_core::Fr;
use dossier_store::ballot::Roll;
use dossier_store::registry::{self, MemoryTree};

/// The leaves of both trees, by credential id.
type Leaves = (Vec<(u32, Fr)>, Vec<(u32, Fp)>);

fn leaves(entries: &[Vec<u8>]) -> Leaves {
    let mut bn = Vec::new();
    let mut twin = Vec::new();
    for e in entries {
        if let EntryBody::Issue {
            credential_id,
            commitment,
            commitment_halo2,
            ..
        } = Entry::from_bytes(e).expect("entry").body
        {
            bn.push((credential_id, commitment));
            twin.push((credential_id, commitment_halo2));
        }
    }
    (bn, twin)
}

fn roll(c: &mut Criterion) {
    let mut g = c.benchmark_group("ballot_roll");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(8));
    for n in [4_000usize, 20_000] {
        let dir = tempfile::tempdir().expect("tmp");
        let (store, _log, issuer) = store_with_issuer(&dir.path().join("bench.redb"));
        store
            .issue(&issuer, &employment_claims_halo2(n), 20_000, 2)
            .expect("issue");
        let size = store.ledger_size().expect("size");
        let entries = store.entries(0, size).expect("entries");
        let (bn, twin) = leaves(&entries);
        g.bench_function(format!("replay_from_entries_{n}"), |b| {
            b.iter(|| Roll::replay("hr.bench", entries.iter().map(Vec::as_slice)).expect("replay"))
        });
        g.bench_function(format!("floor_trees_from_leaves_{n}"), |b| {
            b.iter_batched(
                || (MemoryTree::<Fr>::default(), MemoryTree::<Fp>::default()),
                |(mut t, mut w)| {
                    registry::apply(&mut t, &bn).expect("apply");
                    registry::apply(&mut w, &twin).expect("apply");
                    (t, w)
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, roll);
criterion_main!(benches);
