//! Native primitives: our circom Poseidon per width beside the reference crate (light-poseidon)
//! on the same inputs, our Pasta Poseidon beside halo2_poseidon's, the credential commitment, a string hash, and an Ed25519 entry signature.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use ark_bn254::Fr;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use dossier_core::credential::Credential;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::{encoding, poseidon};
use light_poseidon::{Poseidon, PoseidonHasher};

fn poseidon_widths(c: &mut Criterion) {
    let mut g = c.benchmark_group("poseidon");
    for n in [1usize, 2, 3, 8, 12] {
        let inputs: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i * 7919 + 3)).collect();
        g.bench_function(format!("dossier/{n}"), |b| {
            b.iter(|| poseidon::hash(black_box(&inputs)))
        });
        let mut reference = Poseidon::<Fr>::new_circom(n).expect("width");
        g.bench_function(format!("light-poseidon/{n}"), |b| {
            b.iter(|| reference.hash(black_box(&inputs)))
        });
    }
    g.finish();
}

/// Pasta Poseidon (P128Pow5T3) of 2 and 12 inputs: ours beside the reference crate on the same
/// inputs (the twin tree's node and the twin commitment).
fn pasta_poseidon(c: &mut Criterion) {
    use dossier_core::pasta::{self, Fp};
    use halo2_poseidon::{ConstantLength, Hash, P128Pow5T3};
    let mut g = c.benchmark_group("pasta_poseidon");
    let m: [Fp; 12] = std::array::from_fn(|i| Fp::from(i as u64 * 7919 + 3));
    let pair = [m[0], m[1]];
    g.bench_function("dossier/2", |b| b.iter(|| pasta::hash(black_box(pair))));
    g.bench_function("halo2_poseidon/2", |b| {
        b.iter(|| Hash::<Fp, P128Pow5T3, ConstantLength<2>, 3, 2>::init().hash(black_box(pair)))
    });
    g.bench_function("dossier/12", |b| b.iter(|| pasta::hash(black_box(m))));
    g.bench_function("halo2_poseidon/12", |b| {
        b.iter(|| Hash::<Fp, P128Pow5T3, ConstantLength<12>, 3, 2>::init().hash(black_box(m)))
    });
    g.finish();
}

fn credential(c: &mut Criterion) {
    let claim = &dossier_benches::employment_claims(1)[0];
    let cred = Credential {
        schema_id: claim.schema_id,
        issuer_id: Fr::from(7u64),
        holder: claim.holder,
        holder_halo2: claim.holder_halo2,
        credential_id: 12,
        issued_at: 20_000,
        expires_at: u32::MAX,
        salt: Fr::from(99u64),
        slots: claim.slots,
    };
    c.bench_function("credential/commitment", |b| {
        b.iter(|| black_box(&cred).commitment())
    });
    let mut twin = cred.clone();
    twin.holder_halo2 = dossier_core::pasta::Fp::from(5);
    c.bench_function(
        "credential/commitment_halo2 (Pasta Poseidon, 12 inputs)",
        |b| b.iter(|| black_box(&twin).commitment_halo2()),
    );
    let (l, r) = (
        dossier_core::pasta::Fp::from(1),
        dossier_core::pasta::Fp::from(2),
    );
    c.bench_function("registry/node_halo2 (Pasta Poseidon, 2 inputs)", |b| {
        b.iter(|| dossier_core::pasta::node(black_box(l), black_box(r)))
    });
    c.bench_function("credential/string_hash_21_bytes", |b| {
        b.iter(|| encoding::string_hash(black_box("tax-bureau/collection")))
    });
    let key = KeyPair::generate("hr.bench", &mut rand::thread_rng()).expect("key");
    let body = EntryBody::Issue {
        issuer_id: Fr::from(7u64),
        schema_id: cred.schema_id,
        credential_id: 12,
        commitment: cred.commitment(),
        commitment_halo2: cred.commitment_halo2(),
        approvals: Vec::new(),
    };
    c.bench_function("ledger/sign_entry", |b| {
        b.iter(|| Entry::sign(1, black_box(body.clone()), &key))
    });
    let entry = Entry::sign(1, body, &key);
    c.bench_function("ledger/verify_entry", |b| {
        b.iter(|| black_box(&entry).verify(&key.public()))
    });
}

/// The issuance floor's primitives on fresh inputs, as issuance meets them: every iteration
/// takes the next of 4,096 credentials with random salts (and their pairs of random nodes).
/// Replaying one input lets the CPU's branch predictor learn the field arithmetic's
/// data-dependent branches (the conditional subtractions), which no real batch allows.
fn fresh(c: &mut Criterion) {
    use dossier_core::pasta::{self, Fp};
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let claims = dossier_benches::employment_claims_halo2(4_096);
    let creds: Vec<Credential> = claims
        .iter()
        .enumerate()
        .map(|(i, claim)| Credential {
            schema_id: claim.schema_id,
            issuer_id: Fr::from(7u64),
            holder: claim.holder,
            holder_halo2: claim.holder_halo2,
            credential_id: i as u32,
            issued_at: 20_000,
            expires_at: u32::MAX,
            salt: dossier_core::credential::random_salt(&mut rng),
            slots: claim.slots,
        })
        .collect();
    let nodes: Vec<(Fr, Fr)> = (0..4_096).map(|_| (rng.gen(), rng.gen())).collect();
    let twin_nodes: Vec<(Fp, Fp)> = (0..4_096)
        .map(|_| (pasta::from_fr(&rng.gen()), pasta::from_fr(&rng.gen())))
        .collect();
    let key = KeyPair::generate("hr.bench", &mut rng).expect("key");
    let bodies: Vec<EntryBody> = creds
        .iter()
        .map(|cred| EntryBody::Issue {
            issuer_id: cred.issuer_id,
            schema_id: cred.schema_id,
            credential_id: cred.credential_id,
            commitment: cred.commitment(),
            commitment_halo2: cred.commitment_halo2(),
            approvals: Vec::new(),
        })
        .collect();
    let mut g = c.benchmark_group("fresh");
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % 4_096;
        i
    };
    g.bench_function("credential/commitment", |b| {
        b.iter(|| black_box(&creds[next()]).commitment())
    });
    g.bench_function("credential/commitment_halo2", |b| {
        b.iter(|| black_box(&creds[next()]).commitment_halo2())
    });
    g.bench_function("registry/node", |b| {
        b.iter(|| {
            let (l, r) = nodes[next()];
            poseidon::hash2(black_box(l), black_box(r))
        })
    });
    g.bench_function("registry/node_halo2", |b| {
        b.iter(|| {
            let (l, r) = twin_nodes[next()];
            pasta::node(black_box(l), black_box(r))
        })
    });
    g.bench_function("ledger/sign_entry", |b| {
        b.iter(|| Entry::sign(1, black_box(bodies[next()].clone()), &key))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(3));
    targets = poseidon_widths, pasta_poseidon, credential, fresh
}
criterion_main!(benches);
