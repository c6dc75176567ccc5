//! Key rotation and revocation, end to end through the store and the audit: the audit follows
//! rotations from the ledger's first key, an entry signed by a retired key is a discrepancy, a
//! revocation voids the compromised key's entries and needs the witnesses' approvals.

mod appraisals;

use appraisals::{claims, key};
use dossier_core::cosignature::{Cosigner, WitnessPolicy};
use dossier_core::entry::{possession_message, revocation_statement, Entry, EntryBody, KeySubject};
use dossier_core::keys::KeyPair;
use dossier_core::pasta::Fp;
use dossier_core::{issuer_id, Fr};
use dossier_store::audit::{self, DiscrepancyKind};
use dossier_store::{Store, StoreError};
use std::time::Duration;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Store::open(&dir.path().join("d.redb"), Duration::from_secs(5)).expect("open");
    (dir, s)
}

fn forged_issue(key: &KeyPair, credential_id: u32) -> Vec<u8> {
    Entry::sign(
        99,
        EntryBody::Issue {
            issuer_id: issuer_id(key.name()).expect("id"),
            schema_id: Fr::from(4u64),
            credential_id,
            commitment: Fr::from(5u64),
            commitment_halo2: Fp::from(6),
            approvals: Vec::new(),
        },
        key,
    )
    .to_bytes()
}

fn refused(r: Result<audit::AuditReport, audit::Discrepancy>) -> (DiscrepancyKind, String) {
    match r {
        Err(d) => (d.kind, d.at),
        Ok(_) => panic!("the audit passed"),
    }
}

#[test]
fn rotated_keys_are_followed_and_a_retired_key_is_a_discrepancy() {
    let (_dir, s) = store();
    let (l1, l2) = (key("test/ledger"), key("test/ledger"));
    let (k1, k2) = (key("hr.example"), key("hr.example"));
    s.init_ledger(&l1).expect("init");
    s.register_issuer(&k1, 1).expect("register");
    s.issue(&k1, &claims(3), 20_000, 2).expect("issue");
    s.checkpoint(&l1, 3).expect("checkpoint");

    let r = s.rotate_issuer_key(&k1, &k2, 4).expect("rotate issuer");
    assert_eq!(r, 5, "registration, 3 issues, roots, then the rotation");
    assert!(matches!(
        s.issue(&k1, &claims(1), 20_000, 5),
        Err(StoreError::WrongIssuerKey { .. })
    ));
    s.issue(&k2, &claims(1), 20_000, 5)
        .expect("the new key issues");
    assert!(s.rotate_issuer_key(&k2, &k2, 5).is_err(), "a key by itself");
    assert!(
        s.rotate_issuer_key(&k2, &key("other.example"), 5).is_err(),
        "another name"
    );

    s.rotate_ledger_key(&l1, &l2, 6).expect("rotate ledger");
    assert!(
        s.checkpoint(&l1, 7).is_err(),
        "the old ledger key no longer signs"
    );
    let note = s.checkpoint(&l2, 7).expect("checkpoint under the new key");
    dossier_core::checkpoint::open(note.as_bytes(), &l2.verifier_key()).expect("signed by l2");

    // The audit starts from the first key and follows the rotations; pinning the last works too.
    let report = audit::audit_store(&s, Some(&l1.verifier_key()))
        .expect("store")
        .expect("audit from the genesis key");
    let events: Vec<(&str, &str)> = report
        .keys
        .iter()
        .map(|e| (e.subject.as_str(), e.event))
        .collect();
    assert_eq!(events, [("hr.example", "rotated"), ("ledger", "rotated")]);
    audit::audit_store(&s, Some(&l2.verifier_key()))
        .expect("store")
        .expect("audit from the key in force");
    let stranger = key("test/ledger");
    assert_eq!(
        refused(audit::audit_store(&s, Some(&stranger.verifier_key())).expect("store")).0,
        DiscrepancyKind::BadCheckpoint
    );

    // After its rotation, an entry signed by the issuer's old key is a discrepancy ...
    let export = s.export().expect("export");
    let n = export.entries.len();
    let mut e = export.clone();
    e.entries.push(forged_issue(&k1, 50));
    assert_eq!(
        refused(audit::audit(&e, Some(&l1.verifier_key()))),
        (DiscrepancyKind::RetiredKey, format!("entry {n}"))
    );
    // ... and so is a ledger entry signed by the ledger's old key.
    let mut e = export.clone();
    let roots = Entry::sign(9, EntryBody::RegistryRoots { roots: vec![] }, &l1);
    e.entries.push(roots.to_bytes());
    assert_eq!(
        refused(audit::audit(&e, None)),
        (DiscrepancyKind::RetiredKey, format!("entry {n}"))
    );
    // The same entry signed by the new key passes (no checkpoint covers it yet).
    let mut e = export.clone();
    e.entries.push(forged_issue(&k2, 50));
    audit::audit(&e, None).expect("signed by the key in force");

    // A rotation to a key that does not prove possession is refused.
    let mut e = export.clone();
    let k3 = key("hr.example");
    let body = EntryBody::KeyRotated {
        subject: KeySubject::Issuer(issuer_id("hr.example").expect("id")),
        new_key: k3.public().to_bytes(),
        possession: [0; 64],
    };
    e.entries.push(Entry::sign(9, body, &k2).to_bytes());
    assert_eq!(
        refused(audit::audit(&e, None)),
        (DiscrepancyKind::BadEntrySignature, format!("entry {n}"))
    );
    // An export that claims a key the rotations do not lead to is refused.
    let mut e = export.clone();
    e.log_key = l1.verifier_key();
    assert_eq!(
        refused(audit::audit(&e, None)).0,
        DiscrepancyKind::BadCheckpoint
    );
}

fn witnesses() -> (Vec<Cosigner>, WitnessPolicy) {
    let c: Vec<Cosigner> = ["a.example", "b.example", "c.example"]
        .iter()
        .map(|n| Cosigner::new(key(n)))
        .collect();
    let policy =
        WitnessPolicy::new(2, c.iter().map(Cosigner::witness_key).collect()).expect("policy");
    (c, policy)
}

#[test]
fn a_compromised_key_is_revoked_from_an_entry_on_with_the_witnesses_approval() {
    let (_dir, s) = store();
    let ledger = key("test/ledger");
    let (k1, k2) = (key("hr.example"), key("hr.example"));
    s.init_ledger(&ledger).expect("init");
    s.register_issuer(&k1, 1).expect("register");
    s.issue(&k1, &claims(2), 20_000, 2).expect("issue");
    s.checkpoint(&ledger, 3).expect("checkpoint");
    // A thief with k1 issues two credentials from entry 4 on.
    let from = s.ledger_size().expect("size");
    s.issue(&k1, &claims(2), 20_000, 4)
        .expect("the thief's issues");
    s.checkpoint(&ledger, 5).expect("checkpoint");

    let (c, policy) = witnesses();
    let subject = KeySubject::Issuer(issuer_id("hr.example").expect("id"));
    let statement = revocation_statement(
        &subject,
        &k1.public().to_bytes(),
        from,
        &k2.public().to_bytes(),
    );
    let size = s.ledger_size().expect("size");
    assert!(
        s.revoke_issuer_key(&ledger, "hr.example", size + 1, &k2, vec![], 6)
            .is_err(),
        "from an entry past the log's end"
    );
    assert!(
        s.revoke_issuer_key(&k1, "hr.example", from, &k2, vec![], 6)
            .is_err(),
        "only the ledger revokes"
    );
    let approvals = vec![c[0].approve(&statement), c[2].approve(&statement)];
    let v = s
        .revoke_issuer_key(&ledger, "hr.example", from, &k2, approvals, 6)
        .expect("revoke");
    assert!(matches!(
        s.issue(&k1, &claims(1), 20_000, 7),
        Err(StoreError::WrongIssuerKey { .. })
    ));
    s.issue(&k2, &claims(1), 20_000, 7)
        .expect("the replacement issues");
    s.checkpoint(&ledger, 8).expect("checkpoint");

    let report = audit::audit_store(&s, Some(&ledger.verifier_key()))
        .expect("store")
        .expect("audit");
    let revoked = &report.keys[0];
    assert_eq!((revoked.entry, revoked.event), (v, "revoked"));
    assert_eq!(revoked.from_entry, Some(from));
    assert_eq!(
        revoked.voided,
        [from, from + 1],
        "the thief's two issues, not the roots"
    );
    audit::check_revocations(&report, &policy).expect("2 of 3 approved");
    let strict = WitnessPolicy::new(3, policy.witnesses.clone()).expect("policy");
    let d = audit::check_revocations(&report, &strict).expect_err("3 of 3 demanded");
    assert_eq!(d.kind, DiscrepancyKind::UnapprovedRevocation);
    assert_eq!(d.at, format!("entry {v}"));

    // The revoked key signs nothing after the revocation.
    let mut e = s.export().expect("export");
    let n = e.entries.len();
    e.entries.push(forged_issue(&k1, 60));
    assert_eq!(
        refused(audit::audit(&e, None)),
        (DiscrepancyKind::RetiredKey, format!("entry {n}"))
    );
}

#[test]
fn the_ledger_s_own_key_is_revoked_by_its_replacement() {
    let (_dir, s) = store();
    let (l1, l2) = (key("test/ledger"), key("test/ledger"));
    let hr = key("hr.example");
    s.init_ledger(&l1).expect("init");
    s.register_issuer(&hr, 1).expect("register");
    s.checkpoint(&l1, 2).expect("checkpoint");
    let (c, policy) = witnesses();
    let statement = revocation_statement(
        &KeySubject::Ledger,
        &l1.public().to_bytes(),
        1,
        &l2.public().to_bytes(),
    );
    let approvals = vec![c[1].approve(&statement), c[2].approve(&statement)];
    s.revoke_ledger_key(1, &l2, approvals, 3).expect("revoke");
    assert!(s.checkpoint(&l1, 4).is_err());
    s.checkpoint(&l2, 4)
        .expect("the replacement signs checkpoints");
    let report = audit::audit_store(&s, Some(&l1.verifier_key()))
        .expect("store")
        .expect("audit");
    assert_eq!(
        report.keys[0].voided,
        [1],
        "the roots entry l1 signed from entry 1"
    );
    audit::check_revocations(&report, &policy).expect("approved");
    // A revocation whose replacement does not prove possession is refused.
    let mut e = s.export().expect("export");
    let l3 = key("test/ledger");
    let forged = Entry::sign(
        9,
        EntryBody::KeyRevoked {
            subject: KeySubject::Ledger,
            revoked_key: l2.public().to_bytes(),
            from_entry: 0,
            new_key: l3.public().to_bytes(),
            possession: l2.sign_bytes(&possession_message(
                &KeySubject::Ledger,
                &l3.public().to_bytes(),
            )),
            approvals: vec![],
        },
        &l3,
    );
    let n = e.entries.len();
    e.entries.push(forged.to_bytes());
    assert_eq!(
        refused(audit::audit(&e, None)),
        (DiscrepancyKind::BadEntrySignature, format!("entry {n}"))
    );
}
