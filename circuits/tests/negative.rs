//! False statements are unsatisfiable, and each named check catches its own: every test breaks
//! one thing in a valid witness and asserts which check fails. Boundaries: equal, one below,
//! one above, 0, 2^64 - 1, 2^64 and p - 1.

mod common;

use ark_bn254::Fr;
use ark_ff::{Field, One};
use common::*;
use dossier_circuits::statement::{CredentialWitness, Offered, StatementCircuit};
use dossier_store::registry;

/// Puts another (validly registered) credential into slot `m` of a witness, as a cheating
/// prover would, bypassing the prover's native checks.
fn swap(c: &mut StatementCircuit, m: usize, o: &Offered) {
    let cr = &o.credential;
    c.witness.credentials[m] = CredentialWitness {
        schema_id: cr.schema_id,
        issuer_id: cr.issuer_id,
        holder: cr.holder,
        validity: cr.validity(),
        salt: cr.salt,
        slots: cr.slots,
        siblings: o.siblings.clone(),
    };
    c.witness.public.roots[m] = o.root;
}

/// A world with one more credential of the holder's, registered beside the others.
fn with_extra(schema: &str, fields: serde_json::Value) -> (World, Offered) {
    let mut w = world();
    let c = credential(&w.schemas, &w.secret, 20, schema, fields);
    registry::apply(&mut w.tree, &[(20, c.commitment())]).expect("apply");
    w.credentials.push(c);
    let extra = w.offered(20);
    (w, extra)
}

fn degree(level: &str, field: &str) -> serde_json::Value {
    serde_json::json!({"degree_level": level, "field": field, "institution": "UL-001", "award_year": 2015})
}

fn recruitment_with(level: &str, field: &str) -> Option<String> {
    let (w, extra) = with_extra("qualification", degree(level, field));
    let mut c = w.circuit(RECRUITMENT, &[0]);
    // The honest circuit, but with the extra degree and a fresh path against the new root.
    let fresh = w.offered(0);
    c.witness.public.roots[0] = fresh.root;
    swap(&mut c, 0, &extra);
    failing_check(&c)
}

#[test]
fn the_valid_witness_satisfies_every_check() {
    let w = world();
    assert_eq!(failing_check(&w.circuit(RECRUITMENT, &[0])), None);
    assert_eq!(failing_check(&w.circuit(PROMOTION, &[1, 2, 3, 4])), None);
    assert_eq!(failing_check(&w.circuit(TRAINING, &[5, 6])), None);
}

#[test]
fn range_predicate_boundaries() {
    // degree_level >= master: equal holds, above holds, one below fails.
    assert_eq!(recruitment_with("master", "law"), None);
    assert_eq!(recruitment_with("doctorate", "economics"), None);
    assert_eq!(
        recruitment_with("bachelor", "law").as_deref(),
        Some("credential[0].predicate[0].range")
    );
    assert_eq!(
        recruitment_with("associate", "law").as_deref(),
        Some("credential[0].predicate[0].range")
    );
}

#[test]
fn set_membership() {
    assert_eq!(
        recruitment_with("master", "management").as_deref(),
        Some("credential[0].predicate[1].set")
    );
    assert_eq!(
        recruitment_with("master", "other").as_deref(),
        Some("credential[0].predicate[1].set")
    );
}

fn award_year_query(op: &str, bound: serde_json::Value) -> String {
    serde_json::json!({"credentials": [{"schema": "qualification", "issuers": ["hr.example"],
        "where": {"award_year": {op: bound}}}]})
    .to_string()
}

/// Checks `award_year <op> bound` on a degree whose award year is `value` (any field element).
fn award_year_check(op: &str, bound: serde_json::Value, value: Fr) -> Option<String> {
    let w = world();
    let q = w.encode(&award_year_query(op, bound));
    let mut c = StatementCircuit {
        shape: q.shape,
        witness: w.witness(
            &w.encode(&award_year_query("$gte", serde_json::json!(0))),
            &[0],
        ),
    };
    // Re-point the valid witness at the query under test.
    c.witness.query = q.to_field_elements();
    c.witness.public.query_hash = q.hash().expect("hash");
    if value != Fr::from(2015u64) {
        let mut cred = w.credentials[0].clone();
        cred.slots[3] = value;
        let mut tree = w.tree.clone();
        registry::apply(&mut tree, &[(0, cred.commitment())]).expect("apply");
        let path = registry::path(&tree, 0).expect("path");
        swap(
            &mut c,
            0,
            &Offered {
                credential: cred,
                siblings: path.siblings,
                root: path.root,
                halo2: None,
            },
        );
    }
    failing_check(&c)
}

#[test]
fn every_operator_at_its_boundaries() {
    let y = |v: u64| Fr::from(v);
    let range = Some("credential[0].predicate[0].range".to_string());
    let set = Some("credential[0].predicate[0].set".to_string());
    let cases: Vec<(&str, serde_json::Value, Fr, Option<String>)> = vec![
        ("$gte", 2015.into(), y(2015), None),
        ("$gte", 2016.into(), y(2015), range.clone()),
        ("$gt", 2014.into(), y(2015), None),
        ("$gt", 2015.into(), y(2015), range.clone()),
        ("$lte", 2015.into(), y(2015), None),
        ("$lte", 2014.into(), y(2015), range.clone()),
        ("$lt", 2016.into(), y(2015), None),
        ("$lt", 2015.into(), y(2015), range.clone()),
        ("$between", serde_json::json!([2015, 2015]), y(2015), None),
        (
            "$between",
            serde_json::json!([2016, 2020]),
            y(2015),
            range.clone(),
        ),
        (
            "$between",
            serde_json::json!([2010, 2014]),
            y(2015),
            range.clone(),
        ),
        ("$eq", 2015.into(), y(2015), None),
        ("$eq", 2016.into(), y(2015), set.clone()),
        ("$ne", 2016.into(), y(2015), None),
        ("$ne", 2015.into(), y(2015), set.clone()),
        (
            "$in",
            serde_json::json!([2013, 2014, 2015, 2016]),
            y(2015),
            None,
        ),
        (
            "$in",
            serde_json::json!([2013, 2014, 2016]),
            y(2015),
            set.clone(),
        ),
        ("$nin", serde_json::json!([2013, 2014, 2016]), y(2015), None),
        ("$nin", serde_json::json!([2015]), y(2015), set.clone()),
        // 0 and 2^64 - 1 are in range; 2^64, 2^64 + 2015 and p - 1 never are: no wrap-around.
        ("$gte", 0.into(), y(0), None),
        ("$lte", serde_json::json!(u64::MAX), y(u64::MAX), None),
        ("$gte", 0.into(), Fr::from(1u128 << 64), range.clone()),
        (
            "$lte",
            2015.into(),
            Fr::from((1u128 << 64) + 2015),
            range.clone(),
        ),
        ("$gte", 2015.into(), -Fr::one(), range.clone()),
        (
            "$lte",
            serde_json::json!(u64::MAX),
            -Fr::one(),
            range.clone(),
        ),
    ];
    for (op, bound, value, expected) in cases {
        assert_eq!(
            award_year_check(op, bound.clone(), value),
            expected,
            "{op} {bound} on {value}"
        );
    }
}

#[test]
fn a_wrong_holder_secret_breaks_holder_binding() {
    let w = world();
    let mut c = w.circuit(RECRUITMENT, &[0]);
    let thief = dossier_core::holder::HolderSecret::parse("99").expect("secret");
    c.witness.secret = thief.expose();
    assert_eq!(failing_check(&c).as_deref(), Some("nullifier"));
    // Even with a nullifier made for the thief's secret, the credential is not theirs.
    c.witness.public.nullifier = thief.nullifier(c.witness.public.scope);
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].holder_binding")
    );
}

#[test]
fn someone_elses_credential_breaks_holder_binding() {
    let w = world();
    let mut c = w.circuit(RECRUITMENT, &[0]);
    swap(&mut c, 0, &w.offered(8)); // the other holder's doctorate
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].holder_binding")
    );
}

#[test]
fn wrong_stale_and_revoked_paths_break_membership() {
    let w = world();
    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.credentials[0].siblings[5] += Fr::one();
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].membership")
    );

    // A stale root: the registry moved on (another credential issued) but the path is old.
    let mut moved = w.tree.clone();
    registry::apply(&mut moved, &[(100, Fr::from(5u64))]).expect("apply");
    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.public.roots[0] = registry::root(&moved).expect("root");
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].membership")
    );

    // Revoked: the leaf is empty under the current root; the old path no longer reaches it.
    let mut revoked = w.tree.clone();
    registry::apply(&mut revoked, &[(0, Fr::from(0u64))]).expect("revoke");
    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.public.roots[0] = registry::root(&revoked).expect("root");
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].membership")
    );
}

#[test]
fn expiry_boundaries() {
    let w = world();
    for (today, expected) in [
        (29_998u32, None),
        (29_999, None),
        (30_000, Some("credential[0].expiry")),
        (30_001, Some("credential[0].expiry")),
    ] {
        let mut c = w.circuit(RECRUITMENT, &[0]);
        c.witness.public.today = today;
        assert_eq!(
            failing_check(&c).as_deref(),
            expected,
            "today {today}, expires 30000"
        );
    }
}

#[test]
fn a_credential_of_another_schema_breaks_the_schema_check() {
    let w = world();
    let mut c = w.circuit(RECRUITMENT, &[0]);
    // An appraisal whose slots happen to satisfy the predicates still is not a degree.
    let mut o = w.offered(1);
    o.credential.slots[0] = Fr::from(3u64);
    let mut tree = w.tree.clone();
    registry::apply(&mut tree, &[(1, o.credential.commitment())]).expect("apply");
    let path = registry::path(&tree, 1).expect("path");
    swap(
        &mut c,
        0,
        &Offered {
            siblings: path.siblings,
            root: path.root,
            ..o
        },
    );
    assert_eq!(failing_check(&c).as_deref(), Some("credential[0].schema"));
}

#[test]
fn public_inputs_bind_query_nullifier_and_reveals() {
    let w = world();
    let weaker = w.encode(&award_year_query("$gte", serde_json::json!(0)));
    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.query = weaker.to_field_elements(); // prove a weaker query, claim the strong one
    assert_eq!(failing_check(&c).as_deref(), Some("query_hash"));

    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.public.nullifier += Fr::one();
    assert_eq!(failing_check(&c).as_deref(), Some("nullifier"));

    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.public.scope += Fr::one(); // a nullifier for another scope
    assert_eq!(failing_check(&c).as_deref(), Some("nullifier"));

    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.public.revealed[0] = Fr::from(2016u64);
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].reveal[0]")
    );

    let mut c = w.circuit(RECRUITMENT, &[0]);
    c.witness.public.revealed[1] = Fr::from(1u64); // nothing is revealed there
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].reveal[1]")
    );
}

#[test]
fn sums_need_the_bound_and_distinct_credentials() {
    let w = world();
    // 16 + 24 = 40 >= 40 holds; one hour less does not.
    assert_eq!(failing_check(&w.circuit(TRAINING, &[5, 6])), None);
    let mut c = w.circuit(TRAINING, &[5, 6]);
    let less = {
        let mut o = w.offered(6);
        o.credential.slots[1] = Fr::from(23u64);
        let mut tree = w.tree.clone();
        registry::apply(&mut tree, &[(6, o.credential.commitment())]).expect("apply");
        let p = registry::path(&tree, 6).expect("path");
        let fresh5 = registry::path(&tree, 5).expect("path");
        c.witness.credentials[0].siblings = fresh5.siblings;
        c.witness.public.roots[0] = fresh5.root;
        Offered {
            siblings: p.siblings,
            root: p.root,
            ..o
        }
    };
    swap(&mut c, 1, &less);
    assert_eq!(failing_check(&c).as_deref(), Some("sum.bound"));

    // The same 24-hour course counted twice reaches 48 but is refused.
    let mut c = w.circuit(TRAINING, &[5, 6]);
    swap(&mut c, 0, &w.offered(6));
    assert_eq!(failing_check(&c).as_deref(), Some("distinct"));

    // A course outside 2025 does not count.
    let mut c = w.circuit(TRAINING, &[5, 6]);
    swap(&mut c, 0, &w.offered(7));
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("credential[0].predicate[0].range")
    );
}

#[test]
fn the_native_builder_refuses_what_the_circuit_would() {
    use dossier_circuits::statement::StatementWitness;
    use dossier_core::query::Unsatisfied;
    use dossier_core::CoreError;
    let w = world();
    let q = w.encode(RECRUITMENT);
    let build = |o: Vec<Offered>, today: u32| {
        StatementWitness::build(&q, &w.secret, &o, Fr::from(1u64), Fr::from(2u64), today)
    };
    assert!(matches!(
        build(vec![w.offered(8)], TODAY),
        Err(CoreError::Unsatisfied(Unsatisfied::Credential { .. }))
    ));
    assert!(matches!(
        build(vec![w.offered(1)], TODAY),
        Err(CoreError::Unsatisfied(Unsatisfied::Credential { .. }))
    ));
    assert!(matches!(
        build(vec![w.offered(0)], 30_000),
        Err(CoreError::Unsatisfied(Unsatisfied::Credential { .. }))
    ));
    assert!(matches!(
        build(vec![], TODAY),
        Err(CoreError::Unsatisfied(Unsatisfied::Count { .. }))
    ));
    let mut stale = w.offered(0);
    stale.root += Fr::one();
    assert!(matches!(
        build(vec![stale], TODAY),
        Err(CoreError::Unsatisfied(Unsatisfied::Credential { .. }))
    ));
    let _ = Fr::one().inverse();
}

#[test]
fn two_credentials_asked_for_must_be_two() {
    let w = world();
    assert_eq!(failing_check(&w.circuit(TWO_APPRAISALS, &[1, 2])), None);
    let mut c = w.circuit(TWO_APPRAISALS, &[1, 2]);
    swap(&mut c, 1, &w.offered(1));
    assert_eq!(failing_check(&c).as_deref(), Some("distinct"));
}

#[test]
fn a_credential_issued_after_today_is_refused() {
    for (issued, expected) in [
        (TODAY, None),
        (TODAY + 1, Some("credential[0].issued")),
        (u32::MAX, Some("credential[0].issued")),
    ] {
        let w = world();
        let mut c = w.circuit(RECRUITMENT, &[0]);
        let mut o = w.offered(0);
        o.credential.issued_at = issued;
        let mut tree = w.tree.clone();
        registry::apply(&mut tree, &[(0, o.credential.commitment())]).expect("apply");
        let path = registry::path(&tree, 0).expect("path");
        o.siblings = path.siblings;
        o.root = path.root;
        swap(&mut c, 0, &o);
        assert_eq!(failing_check(&c).as_deref(), expected, "issued on {issued}");
    }
}

#[test]
fn an_unused_slot_cannot_count_towards_the_sum() {
    let w = world();
    let mut q = w.encode(TRAINING);
    assert!(!q.credentials[2].active);
    q.credentials[2].in_sum = true;
    let mut c = w.circuit(TRAINING, &[5, 6]);
    c.witness.query = q.to_field_elements();
    c.witness.public.query_hash = q.hash().expect("hash");
    assert_eq!(
        failing_check(&c).as_deref(),
        Some("query[2].sum_needs_active")
    );
}
