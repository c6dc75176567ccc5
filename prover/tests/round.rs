//! Appraisal rounds with real Groth16 proofs (INSECURE development keys, generated here): a
//! round declared in a real store proves and verifies against its signed checkpoint, and every
//! tampering is refused — windows swapped, repeated or dropped, an accumulator, the quota, the
//! distribution, the training rule and count, the round's fields, the proof bytes, the
//! checkpoint (another key, an older one).
//! Then the store's refusals of declarations and the audit's list of appraisals outside rounds.

use dossier_core::credential::{Claim, Credential, EncodedClaim};
use dossier_core::keys::KeyPair;
use dossier_core::round::{Quota, Round, RoundProof, Rules, Training};
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};
use dossier_prover::round::{setup_dev_round, RoundInputs, RoundProver};
use dossier_store::{audit, registry, Store, StoreError};
use dossier_verifier::round::verify_round;
use dossier_verifier::{Trust, VerifierKeys, VerifyError};
use std::collections::BTreeMap;
use std::time::Duration;

fn claim(i: usize, grade: &str, unit: &str, schemas: &SchemaSet) -> EncodedClaim {
    let c: Claim = serde_json::from_value(serde_json::json!({
        "schema": "appraisal",
        "holder": field::to_hex(&Fr::from(1000 + i as u64)),
        "fields": {"year": 2025, "grade": grade, "score": 80, "unit": unit, "training_hours": 60 + i % 3 * 30}
    }))
    .expect("claim");
    c.encode(schemas).expect("valid")
}

struct World {
    _dir: tempfile::TempDir,
    params: std::path::PathBuf,
    store: Store,
    log_key: KeyPair,
    hr: KeyPair,
    schemas: SchemaSet,
    old_note: String,
    round: Round,
    credentials: BTreeMap<u32, Credential>,
}

/// The quota alone.
fn quota(percent: u8) -> Rules {
    Rules {
        quota: Quota { percent },
        training: None,
    }
}

/// The quota and a training rule.
fn trained(percent: u8, hours: u32, share: u8) -> Rules {
    Rules {
        quota: Quota { percent },
        training: Some(Training {
            hours,
            percent: share,
        }),
    }
}

/// 5 other credentials, then 70 appraisals of `tax-audit` 2025 (7 excellent; training hours
/// 60, 90, 120 in turn, so 46 with 90 or more): ids 5..75.
fn world() -> World {
    let dir = tempfile::tempdir().expect("tmp");
    let params = dir.path().join("params");
    let shape = dossier_core::query::SHAPES[0];
    dossier_prover::setup_dev(&params, &[shape], |_, _| {}).expect("setup");
    setup_dev_round(&params).expect("round keys");
    let store = Store::open(&dir.path().join("d.redb"), Duration::from_secs(5)).expect("open");
    let log_key = KeyPair::generate("test/ledger", &mut rand::thread_rng()).expect("key");
    let hr = KeyPair::generate("hr.example", &mut rand::thread_rng()).expect("key");
    let schemas = SchemaSet::builtin();
    store.init_ledger(&log_key).expect("init");
    store.register_issuer(&hr, 1).expect("register");
    let others: Vec<EncodedClaim> = (0..5)
        .map(|i| claim(i, "competent", "customs", &schemas))
        .collect();
    store.issue(&hr, &others, 20_000, 2).expect("issue");
    let old_note = store.checkpoint(&log_key, 3).expect("checkpoint");
    let round_claims: Vec<EncodedClaim> = (0..70)
        .map(|i| {
            claim(
                i,
                if i % 10 == 3 {
                    "excellent"
                } else {
                    "competent"
                },
                "tax-audit",
                &schemas,
            )
        })
        .collect();
    let issued = store.issue(&hr, &round_claims, 20_000, 4).expect("issue");
    let round = Round {
        issuer: "hr.example".into(),
        unit: "tax-audit".into(),
        year: 2025,
        first: 5,
        count: 70,
    };
    store.declare_round(&hr, &round, 5).expect("declare");
    store.checkpoint(&log_key, 6).expect("checkpoint");
    World {
        _dir: dir,
        params,
        store,
        log_key,
        hr,
        schemas,
        old_note,
        round,
        credentials: issued.into_iter().map(|c| (c.credential_id, c)).collect(),
    }
}

impl World {
    fn prove(
        &self,
        note: &str,
        rules: Rules,
        disclose: bool,
    ) -> Result<RoundProof, dossier_prover::ProverError> {
        let body = dossier_core::checkpoint::open(note.as_bytes(), &self.log_key.verifier_key())
            .expect("signed");
        let roll = self.store.roll("hr.example", body.size).expect("roll");
        let empty = registry::empty_hashes();
        let node = |l: u8, i: u32| roll.node(l, i).unwrap_or(empty[l as usize]);
        let root = body
            .registry(&self.round.issuer_id().expect("id"))
            .expect("registry")
            .root;
        // The declaration of the round in the store (whatever round is being proven), included
        // in the latest checkpoint (an older one may predate it: the prover does not check).
        let declared = self
            .store
            .round("hr.example", "tax-audit", 2025)
            .expect("declared");
        let latest = self.store.latest_checkpoint().expect("read").expect("note");
        let latest =
            dossier_core::checkpoint::open(latest.as_bytes(), &self.log_key.verifier_key())
                .expect("signed");
        let declaration = self
            .store
            .round_declaration(&declared, latest.size)
            .expect("included");
        RoundProver::load(&self.params).expect("pk").prove(
            &RoundInputs {
                round: &self.round,
                declaration: &declaration,
                rules,
                disclose,
                checkpoint: note,
                root,
                schema_id: self.schemas.get("appraisal").expect("schema").id(),
                node: &node,
                openings: &self.credentials,
            },
            &mut rand::thread_rng(),
            |_, _| {},
        )
    }

    fn verify(&self, p: &RoundProof) -> Result<dossier_verifier::round::RoundVerdict, VerifyError> {
        let keys = VerifierKeys::load(&self.params).expect("vk");
        verify_round(
            p,
            &keys,
            &Trust::key_only(&self.log_key.verifier_key()),
            &self.schemas,
        )
    }
}

#[test]
fn a_round_proves_and_verifies_and_every_tampering_is_refused() {
    let w = world();
    let note = w.store.latest_checkpoint().expect("read").expect("note");
    let proof = w
        .prove(&note, trained(10, 90, 60), true)
        .expect("7 of 70 is within 10%, 46 of 70 trained is 60% or more");
    assert_eq!(
        proof.windows.iter().map(|p| p.window).collect::<Vec<_>>(),
        vec![0, 1]
    );
    let verdict = w.verify(&proof).expect("valid");
    assert_eq!(verdict.bound, 7);
    assert_eq!(verdict.distribution, Some([0, 0, 63, 7]));
    assert_eq!(
        (verdict.training_floor, verdict.trained),
        (Some(42), Some(46))
    );
    assert!(verdict.insecure_setup);

    let invalid = |p: &RoundProof, what: &str| match w.verify(p) {
        Err(VerifyError::InvalidProof) | Err(VerifyError::Malformed { .. }) => {}
        other => panic!("{what}: {other:?}"),
    };
    let mut t = proof.clone();
    t.windows.swap(0, 1);
    invalid(&t, "windows swapped");
    let mut t = proof.clone();
    t.windows[1] = t.windows[0].clone();
    invalid(&t, "a window repeated");
    let mut t = proof.clone();
    t.windows.pop();
    invalid(&t, "a window dropped");
    let mut t = proof.clone();
    t.windows[1].proof = t.windows[0].proof.clone();
    t.windows[1].window = 1;
    invalid(&t, "another window's proof");
    let mut t = proof.clone();
    t.windows[0].acc_out += Fr::from(1u64);
    invalid(&t, "an accumulator");
    let mut t = proof.clone();
    t.quota = Quota { percent: 9 };
    invalid(&t, "a stricter quota than proven");
    let mut t = proof.clone();
    t.distribution = Some([0, 0, 64, 6]);
    invalid(&t, "a forged distribution");
    let mut t = proof.clone();
    t.distribution = None;
    invalid(&t, "the disclosed proof read as not disclosing");
    let mut t = proof.clone();
    t.trained = Some(47);
    invalid(&t, "a forged trained count");
    let mut t = proof.clone();
    t.trained = None;
    invalid(&t, "the trained count withheld");
    for training in [
        Some(Training {
            hours: 90,
            percent: 70,
        }),
        Some(Training {
            hours: 91,
            percent: 60,
        }),
        Some(Training {
            hours: 60,
            percent: 60,
        }),
        None,
    ] {
        let mut t = proof.clone();
        t.training = training;
        if training.is_none() {
            t.trained = None;
        }
        invalid(&t, "another training rule than proven");
    }
    for change in [
        |r: &mut Round| r.count = 69,
        |r: &mut Round| r.first = 6,
        |r: &mut Round| r.year = 2024,
        |r: &mut Round| r.unit = "customs".into(),
    ] {
        let mut t = proof.clone();
        change(&mut t.round);
        invalid(&t, "the round's fields");
    }
    let mut t = proof.clone();
    t.windows[0].proof = t.windows[0].proof.chars().rev().collect();
    assert!(matches!(w.verify(&t), Err(VerifyError::ProofEncoding(_))));
    let other = KeyPair::generate("test/ledger", &mut rand::thread_rng()).expect("key");
    let mut t = proof.clone();
    let body =
        dossier_core::checkpoint::open(note.as_bytes(), &w.log_key.verifier_key()).expect("signed");
    t.checkpoint = body.sign(&other).expect("signed by another key");
    assert!(
        matches!(w.verify(&t), Err(VerifyError::Checkpoint(_))),
        "another ledger key"
    );
    let mut t = proof.clone();
    t.checkpoint = w.old_note.clone();
    invalid(&t, "an older checkpoint (another root)");
}

#[test]
fn a_proof_of_a_round_never_declared_is_refused() {
    // Regression: the verifier took the proof's round as given, so an HR office could prove a
    // round of its own making (here the declared one less its last excellent appraisal) and
    // have it accepted as if declared on the ledger.
    let mut w = world();
    let note = w.store.latest_checkpoint().expect("read").expect("note");
    w.round.count = 63; // ids 5..68: the excellent at 68 left out
    let proof = w
        .prove(&note, quota(10), false)
        .expect("the prover proves the round it is given");
    assert!(matches!(
        w.verify(&proof),
        Err(VerifyError::RoundNotDeclared(_))
    ));
}

#[test]
fn rounds_that_cannot_be_proven_are_refused_before_proving() {
    let w = world();
    let note = w.store.latest_checkpoint().expect("read").expect("note");
    assert!(matches!(
        w.prove(&note, quota(9), false),
        Err(dossier_prover::ProverError::Round(
            dossier_circuits::round::RoundError::OverQuota { .. }
        ))
    ));
    // 46 of 70 with 90 hours is 65.7%: 66% needs 47.
    assert!(matches!(
        w.prove(&note, trained(20, 90, 66), false),
        Err(dossier_prover::ProverError::Round(
            dossier_circuits::round::RoundError::UnderTraining { .. }
        ))
    ));
    // The checkpoint before the round's issuance: its leaves are empty.
    assert!(matches!(
        w.prove(&w.old_note, quota(20), false),
        Err(dossier_prover::ProverError::Round(
            dossier_circuits::round::RoundError::NotTheLeaf { .. }
        ))
    ));
}

#[test]
fn declarations_are_refused_when_they_could_hide_an_appraisal_and_the_audit_lists_outsiders() {
    let w = world();
    let r = |first: u32, count: u32, unit: &str, year: u32| Round {
        issuer: "hr.example".into(),
        unit: unit.into(),
        year,
        first,
        count,
    };
    let refused = |round: Round| {
        assert!(
            matches!(
                w.store.declare_round(&w.hr, &round, 9),
                Err(StoreError::RoundRefused { .. })
            ),
            "{round:?}"
        )
    };
    refused(r(70, 5, "customs", 2025)); // overlaps
    refused(r(0, 5, "tax-audit", 2025)); // the same unit and year
    refused(r(75, 1, "customs", 2025)); // not issued yet
    let schemas = SchemaSet::builtin();
    let hidden = w
        .store
        .issue(
            &w.hr,
            &[claim(99, "excellent", "tax-audit", &schemas)],
            20_000,
            10,
        )
        .expect("issue");
    let report = audit::audit_store(&w.store, Some(&w.log_key.verifier_key()))
        .expect("read")
        .expect("audit passes");
    assert_eq!(report.rounds.len(), 1);
    assert_eq!(report.appraisals_outside_rounds.len(), 1);
    assert_eq!(
        report.appraisals_outside_rounds[0].ids,
        vec![hidden[0].credential_id]
    );
    // Appraisals before the office's first round (ids 0..5) are earlier records: not listed.
    assert!(!report.appraisals_outside_rounds[0].ids.contains(&0));
}
