//! An appraisal round of 200 (4 windows of the round circuit) proven and verified, each beside
//! its peer measured in the same run: proving beside arkworks' own `Groth16::prove` of the same
//! 4 window circuits (synthesis with matrices, then the proof), verifying beside arkworks' own
//! `verify_with_processed_vk` of the same 4 proofs (the pairings alone, no checkpoint).

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use ark_serialize::CanonicalDeserialize;
use ark_snark::SNARK;
use criterion::{criterion_group, criterion_main, Criterion};
use dossier_circuits::round::{window_witnesses, RoundCircuit};
use dossier_core::credential::{Claim, Credential, EncodedClaim};
use dossier_core::round::{Quota, Round, Rules, Training};
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};
use dossier_prover::round::{setup_dev_round, RoundInputs, RoundProver};
use dossier_prover::Groth16;
use dossier_store::registry;
use std::collections::BTreeMap;

fn claims(n: usize, schemas: &SchemaSet) -> Vec<EncodedClaim> {
    (0..n)
        .map(|i| {
            let c: Claim = serde_json::from_value(serde_json::json!({
                "schema": "appraisal",
                "holder": field::to_hex(&Fr::from(1000 + i as u64)),
                "fields": {"year": 2025, "grade": if i % 7 == 3 { "excellent" } else { "competent" }, "score": 80, "unit": "unit-3", "training_hours": 96}
            }))
            .expect("claim");
            c.encode(schemas).expect("valid")
        })
        .collect()
}

fn round(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tmp");
    let params = dir.path().join("params");
    dossier_prover::setup_dev(&params, &[dossier_core::query::SHAPES[0]], |_, _| {})
        .expect("setup");
    setup_dev_round(&params).expect("round keys");
    let (store, log, hr) = dossier_benches::store_with_issuer(&dir.path().join("d.redb"));
    let schemas = SchemaSet::builtin();
    let issued: Vec<Credential> = store
        .issue(&hr, &claims(200, &schemas), 20_000, 2)
        .expect("issue");
    let round = Round {
        issuer: "hr.bench".into(),
        unit: "unit-3".into(),
        year: 2025,
        first: 0,
        count: 200,
    };
    let declared_entry = store.declare_round(&hr, &round, 3).expect("declare");
    let note = store.checkpoint(&log, 4).expect("checkpoint");
    let body =
        dossier_core::checkpoint::open(note.as_bytes(), &log.verifier_key()).expect("signed");
    let roll = store.roll("hr.bench", body.size).expect("roll");
    let declared = dossier_store::round::DeclaredRound {
        round: round.clone(),
        declared_entry,
    };
    let declaration = store
        .round_declaration(&declared, body.size)
        .expect("included");
    let empty = registry::empty_hashes();
    let node = |l: u8, i: u32| roll.node(l, i).unwrap_or(empty[l as usize]);
    let root = body
        .registry(&round.issuer_id().expect("id"))
        .expect("registry")
        .root;
    let openings: BTreeMap<u32, Credential> =
        issued.into_iter().map(|c| (c.credential_id, c)).collect();
    let schema_id = schemas.get("appraisal").expect("schema").id();
    // The quota and a training rule, as the demo proves them.
    let rules = Rules {
        quota: Quota { percent: 20 },
        training: Some(Training {
            hours: 90,
            percent: 75,
        }),
    };
    let inputs = RoundInputs {
        round: &round,
        declaration: &declaration,
        rules,
        disclose: false,
        checkpoint: &note,
        root,
        schema_id,
        node: &node,
        openings: &openings,
    };
    let prover = RoundProver::load(&params).expect("pk");
    let manifest = dossier_params::Manifest::load(&params).expect("manifest");
    let rk = manifest.round.expect("round keys");
    let pk_bytes = std::fs::read(params.join(&rk.pk_file)).expect("pk");
    let pk = ark_groth16::ProvingKey::<ark_bn254::Bn254>::deserialize_uncompressed_unchecked(
        pk_bytes.as_slice(),
    )
    .expect("pk");
    let mut rng = rand::thread_rng();

    let mut g = c.benchmark_group("round_200");
    g.sample_size(10);
    g.bench_function(
        "dossier: RoundProver::prove (4 windows, witnesses included)",
        |b| {
            b.iter(|| {
                prover
                    .prove(&inputs, &mut rand::thread_rng(), |_, _| {})
                    .expect("prove")
            })
        },
    );
    g.bench_function("peer: arkworks Groth16::prove of the same 4 windows", |b| {
        b.iter(|| {
            let ws = window_witnesses(
                &round,
                rules,
                false,
                root,
                schema_id,
                &node,
                &openings,
                &mut rand::thread_rng(),
            )
            .expect("witnesses");
            for w in ws {
                Groth16::prove(&pk, RoundCircuit { witness: w }, &mut rand::thread_rng())
                    .expect("prove");
            }
        })
    });
    let proof = prover.prove(&inputs, &mut rng, |_, _| {}).expect("prove");
    let keys = dossier_verifier::VerifierKeys::load(&params).expect("vk");
    let trust = dossier_verifier::Trust::key_only(&log.verifier_key());
    g.bench_function("dossier: verify_round (checkpoint, chain, 4 proofs)", |b| {
        b.iter(|| {
            dossier_verifier::round::verify_round(&proof, &keys, &trust, &schemas).expect("valid")
        })
    });
    let publics = proof.window_inputs(root, schema_id).expect("inputs");
    let proofs: Vec<_> = proof
        .windows
        .iter()
        .map(|w| dossier_verifier::decode_proof(&w.proof).expect("proof"))
        .collect();
    let pvk = &keys.round.as_ref().expect("round key").0.pvk;
    g.bench_function(
        "floor: arkworks verify_with_processed_vk of the 4 proofs",
        |b| {
            b.iter(|| {
                for (p, public) in proofs.iter().zip(&publics) {
                    assert!(
                        Groth16::verify_with_processed_vk(pvk, &public.to_inputs(), p)
                            .expect("verify")
                    );
                }
            })
        },
    );
    g.finish();
}

criterion_group!(benches, round);
criterion_main!(benches);
