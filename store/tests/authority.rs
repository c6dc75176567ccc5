//! Who may issue what, end to end through the store and the audit: the accreditation
//! authority's record refuses and flags a credential of a schema its issuer is not accredited
//! for; a committee's schema enters the registry only with its threshold of distinct members'
//! approvals of that exact credential, and the audit checks every threshold.

use dossier_core::credential::{Claim, EncodedClaim};
use dossier_core::entry::{approval_statement, CommitteeApproval, Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::pasta::Fp;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, issuer_id, Fr};
use dossier_store::audit::{self, DiscrepancyKind};
use dossier_store::{Store, StoreError};
use std::time::Duration;

fn claim(schema: &str, holder: u64) -> EncodedClaim {
    let fields = match schema {
        "appraisal" => {
            serde_json::json!({"year": 2025, "grade": "excellent", "score": 93, "unit": "tax-audit", "training_hours": 96})
        }
        _ => serde_json::json!({"degree_level": "master", "field": "law",
                                 "institution": "univ", "award_year": 2020}),
    };
    let claim: Claim = serde_json::from_value(serde_json::json!({
        "schema": schema, "holder": field::to_hex(&Fr::from(holder)), "fields": fields
    }))
    .expect("claim");
    claim.encode(&SchemaSet::builtin()).expect("valid")
}

fn schema_id(name: &str) -> Fr {
    SchemaSet::builtin().get(name).expect("schema").id()
}

fn key(name: &str) -> KeyPair {
    KeyPair::generate(name, &mut rand::thread_rng()).expect("key")
}

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tmp");
    let s = Store::open(&dir.path().join("d.redb"), Duration::from_secs(5)).expect("open");
    (dir, s)
}

fn caught(r: Result<audit::AuditReport, audit::Discrepancy>) -> (DiscrepancyKind, String) {
    match r {
        Err(d) => (d.kind, d.at),
        Ok(_) => panic!("the audit passed"),
    }
}

#[test]
fn only_accredited_issuers_issue_and_the_audit_flags_the_rest() {
    let (_dir, s) = store();
    let (ledger, authority, hr) = (
        key("test/ledger"),
        key("accreditation.gov"),
        key("hr.example"),
    );
    s.init_ledger(&ledger).expect("init");
    assert_eq!(s.name_accreditor(&authority, 1).expect("named"), 0);
    assert!(
        s.name_accreditor(&key("other.gov"), 1).is_err(),
        "a second authority"
    );
    s.register_issuer(&hr, 2).expect("register");
    let appraisal = schema_id("appraisal");

    // Not accredited: refused, nothing written.
    let size = s.ledger_size().expect("size");
    assert!(matches!(
        s.issue(&hr, &[claim("appraisal", 1)], 20_000, 3),
        Err(StoreError::NotAccredited { .. })
    ));
    assert_eq!(s.ledger_size().expect("size"), size);
    assert!(
        s.accredit(&hr, "hr.example", appraisal, 3).is_err(),
        "only the authority accredits"
    );
    assert!(
        s.accredit(&authority, "nobody.example", appraisal, 3)
            .is_err(),
        "an unknown issuer"
    );
    let granted = s
        .accredit(&authority, "hr.example", appraisal, 3)
        .expect("accredit");
    assert!(
        s.accredit(&authority, "hr.example", appraisal, 3).is_err(),
        "twice"
    );
    s.issue(
        &hr,
        &[claim("appraisal", 1), claim("appraisal", 2)],
        20_000,
        4,
    )
    .expect("accredited");
    // One schema accredited is not another; a batch with one unaccredited claim is refused whole.
    let size = s.ledger_size().expect("size");
    assert!(matches!(
        s.issue(
            &hr,
            &[claim("appraisal", 3), claim("qualification", 4)],
            20_000,
            4
        ),
        Err(StoreError::NotAccredited { .. })
    ));
    assert_eq!(s.ledger_size().expect("size"), size);
    s.checkpoint(&ledger, 5).expect("checkpoint");

    let report = audit::audit_store(&s, None).expect("store").expect("audit");
    assert_eq!(report.accreditations.len(), 1);
    assert_eq!(report.accreditations[0].entry, granted);

    // A withdrawal from a past entry lists the credentials it leaves unaccredited; after it the
    // store refuses the schema again.
    let export_before = s.export().expect("export");
    let first_issue = granted + 1;
    s.withdraw_accreditation(
        &authority,
        "hr.example",
        appraisal,
        Some(first_issue + 1),
        6,
    )
    .expect("withdraw");
    assert!(matches!(
        s.issue(&hr, &[claim("appraisal", 5)], 20_000, 7),
        Err(StoreError::NotAccredited { .. })
    ));
    let report = audit::audit_store(&s, None).expect("store").expect("audit");
    let w = &report.accreditations[1];
    assert_eq!(
        (w.event, w.from_entry),
        ("withdrawn", Some(first_issue + 1))
    );
    assert_eq!(w.unaccredited, [first_issue + 1]);
    assert!(
        s.withdraw_accreditation(&authority, "hr.example", appraisal, None, 8)
            .is_err(),
        "not in force"
    );

    // A ledger that carries an issue of a schema its issuer is not accredited for (signed by the
    // issuer, so only the accreditation check can catch it).
    let mut e = export_before.clone();
    let n = e.entries.len();
    let forged = Entry::sign(
        9,
        EntryBody::Issue {
            issuer_id: issuer_id("hr.example").expect("id"),
            schema_id: schema_id("qualification"),
            credential_id: 40,
            commitment: Fr::from(5u64),
            commitment_halo2: Fp::from(6),
            approvals: Vec::new(),
        },
        &hr,
    );
    e.entries.push(forged.to_bytes());
    assert_eq!(
        caught(audit::audit(&e, None)),
        (DiscrepancyKind::Unaccredited, format!("entry {n}"))
    );
    // An accreditation signed by anyone but the authority.
    let mut e = export_before.clone();
    let fake = Entry::sign(
        9,
        EntryBody::Accredited {
            issuer_id: issuer_id("hr.example").expect("id"),
            schema_id: schema_id("qualification"),
        },
        &hr,
    );
    e.entries.push(fake.to_bytes());
    assert_eq!(
        caught(audit::audit(&e, None)),
        (DiscrepancyKind::BadEntrySignature, format!("entry {n}"))
    );
    // A second authority, named after issuers registered.
    let mut e = export_before;
    let other = key("other.gov");
    let named = Entry::sign(
        9,
        EntryBody::AccreditorNamed {
            public_key: other.public().to_bytes(),
            name: "other.gov".into(),
        },
        &other,
    );
    e.entries.push(named.to_bytes());
    assert_eq!(
        caught(audit::audit(&e, None)).0,
        DiscrepancyKind::InvalidTransition
    );
}

#[test]
fn an_authority_is_named_before_any_issuer() {
    let (_dir, s) = store();
    s.init_ledger(&key("test/ledger")).expect("init");
    let hr = key("hr.example");
    s.register_issuer(&hr, 1).expect("register");
    assert!(s.name_accreditor(&key("accreditation.gov"), 2).is_err());
    // Without an authority, every issuer issues every schema (the default before it).
    s.issue(&hr, &[claim("qualification", 1)], 20_000, 2)
        .expect("no authority, no accreditation needed");
}

struct Committee {
    _dir: tempfile::TempDir,
    s: Store,
    ledger: KeyPair,
    hr: KeyPair,
    members: Vec<KeyPair>,
}

/// A ledger whose HR office needs 3 of its 5 members' approvals for each appraisal.
fn committee() -> Committee {
    let (dir, s) = store();
    let (ledger, hr) = (key("test/ledger"), key("hr.example"));
    s.init_ledger(&ledger).expect("init");
    s.register_issuer(&hr, 1).expect("register");
    let members: Vec<KeyPair> = (0..5).map(|i| key(&format!("member-{i}"))).collect();
    let keys = members.iter().map(|m| m.public().to_bytes()).collect();
    s.set_committee(&hr, schema_id("appraisal"), 3, keys, 2)
        .expect("committee");
    Committee {
        _dir: dir,
        s,
        ledger,
        hr,
        members,
    }
}

#[test]
fn a_committee_schema_enters_the_registry_only_at_its_threshold() {
    let c = committee();
    let s = &c.s;
    let schemas = SchemaSet::builtin();
    assert!(matches!(
        s.issue(&c.hr, &[claim("appraisal", 1)], 20_000, 3),
        Err(StoreError::CommitteeRequired { .. })
    ));
    assert!(
        s.propose(&c.hr, &claim("qualification", 1), 20_000, 3)
            .is_err(),
        "a schema without a committee is issued directly"
    );
    s.issue(&c.hr, &[claim("qualification", 1)], 20_000, 3)
        .expect("other schemas are issued directly");
    let p = s
        .propose(&c.hr, &claim("appraisal", 2), 20_000, 3)
        .expect("propose");
    let other = s
        .propose(&c.hr, &claim("appraisal", 3), 20_000, 3)
        .expect("propose another");
    assert_ne!(p.opening.credential_id, other.opening.credential_id);
    let roots = s.registry_roots().expect("roots");
    let size = s.ledger_size().expect("size");

    // k-1 approvals: not enough, nothing issued.
    let (_, met) = s.approve(p.id, &c.members[0]).expect("approve");
    assert!(!met);
    let (_, met) = s.approve(p.id, &c.members[1]).expect("approve");
    assert!(!met);
    assert!(matches!(
        s.finalize_with(&c.hr, p.id, &schemas, 4, |_, _| Ok(())),
        Err(StoreError::ThresholdNotMet {
            approvals: 2,
            threshold: 3,
            ..
        })
    ));
    // A non-member, a member approving twice, an approval of another credential: refused.
    assert!(matches!(
        s.approve(p.id, &key("outsider")),
        Err(StoreError::NotAMember { .. })
    ));
    assert!(matches!(
        s.approve(p.id, &c.members[1]),
        Err(StoreError::AlreadyApproved { .. })
    ));
    let wrong = c.members[2].sign_bytes(&other.statement().expect("statement"));
    assert!(
        s.add_approval(p.id, c.members[2].public().to_bytes(), wrong)
            .is_err(),
        "a signature over a different commitment"
    );
    assert!(matches!(
        s.finalize_with(&c.hr, p.id, &schemas, 4, |_, _| Ok(())),
        Err(StoreError::ThresholdNotMet { approvals: 2, .. })
    ));
    assert_eq!(s.registry_roots().expect("roots"), roots);
    assert_eq!(s.ledger_size().expect("size"), size);
    assert!(
        s.finalize_with(&key("hr.example"), p.id, &schemas, 4, |_, _| Ok(()))
            .is_err(),
        "only the issuer's key finalizes"
    );

    // The third member's approval, made elsewhere and handed in: the threshold is met.
    let sig = c.members[4].sign_bytes(&p.statement().expect("statement"));
    let (_, met) = s
        .add_approval(p.id, c.members[4].public().to_bytes(), sig)
        .expect("approval");
    assert!(met);
    let opening = s
        .finalize_with(&c.hr, p.id, &schemas, 5, |_, _| Ok(()))
        .expect("finalize");
    assert_eq!(opening.commitment, p.opening.commitment);
    assert!(s
        .is_live("hr.example", opening.credential_id)
        .expect("live"));
    assert!(s.proposal(p.id).is_err(), "a finalized proposal is gone");
    assert_eq!(
        s.proposals(&s.issuer("hr.example").expect("issuer"))
            .expect("list")
            .len(),
        1
    );
    s.checkpoint(&c.ledger, 6).expect("checkpoint");

    let report = audit::audit_store(s, None).expect("store").expect("audit");
    assert_eq!(report.committees.len(), 1);
    assert_eq!(report.committees[0].issued, 1);
    let entry = s
        .entries(size, size + 1)
        .expect("entries")
        .pop()
        .map(|b| Entry::from_bytes(&b).expect("entry"))
        .expect("the issue");
    let EntryBody::Issue { approvals, .. } = &entry.body else {
        panic!("not an issue")
    };
    let members: Vec<u8> = approvals.iter().map(|a| a.member).collect();
    assert_eq!(members, [0, 1, 4], "in member order, by index");
}

#[test]
fn the_audit_checks_every_threshold() {
    let c = committee();
    let s = &c.s;
    let export = s.export().expect("export");
    let n = export.entries.len();
    let (issuer, schema) = (issuer_id("hr.example").expect("id"), schema_id("appraisal"));
    let (commitment, twin) = (Fr::from(77u64), Fp::from(78));
    let statement = approval_statement(&issuer, &schema, 9, &commitment, &twin);
    let approve = |i: usize| CommitteeApproval {
        member: i as u8,
        signature: c.members[i].sign_bytes(&statement),
    };
    let issue = |approvals: Vec<CommitteeApproval>| {
        Entry::sign(
            9,
            EntryBody::Issue {
                issuer_id: issuer,
                schema_id: schema,
                credential_id: 9,
                commitment,
                commitment_halo2: twin,
                approvals,
            },
            &c.hr,
        )
        .to_bytes()
    };
    let audited = |entry: Vec<u8>| {
        let mut e = export.clone();
        e.entries.push(entry);
        audit::audit(&e, None)
    };
    audited(issue(vec![approve(0), approve(2), approve(3)])).expect("3 of 5 valid approvals");
    let threshold = (DiscrepancyKind::CommitteeThreshold, format!("entry {n}"));
    assert_eq!(
        caught(audited(issue(vec![approve(0), approve(2)]))),
        threshold,
        "k-1"
    );
    assert_eq!(
        caught(audited(issue(vec![approve(0), approve(2), approve(2)]))),
        threshold,
        "one member twice"
    );
    let mut outsider = approve(0);
    outsider.member = 5;
    assert_eq!(
        caught(audited(issue(vec![approve(1), approve(2), outsider]))),
        threshold,
        "a member the committee does not have"
    );
    let other = approval_statement(&issuer, &schema, 9, &Fr::from(79u64), &twin);
    let mut elsewhere = approve(3);
    elsewhere.signature = c.members[3].sign_bytes(&other);
    assert_eq!(
        caught(audited(issue(vec![approve(1), approve(2), elsewhere]))),
        threshold,
        "an approval of a different commitment"
    );
    // An update of the committee's schema goes around it.
    let update = Entry::sign(
        9,
        EntryBody::Update {
            issuer_id: issuer,
            schema_id: schema,
            credential_id: 0,
            commitment,
            commitment_halo2: twin,
        },
        &c.hr,
    );
    assert_eq!(caught(audited(update.to_bytes())), threshold, "an update");
}
