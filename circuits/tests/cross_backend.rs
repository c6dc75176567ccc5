//! The same statements on both backends, the same verdicts: every case below — true statements
//! and each way of making one false — is built once as backend-neutral inputs ([`Case`]) and
//! judged by the Groth16 constraint system (R1CS satisfaction) and by the halo2 circuit
//! (`MockProver`); both must agree with the expected verdict. A witness is built here without
//! the provers' native checks, as a cheating prover would.

mod common;

use ark_ff::{Field, One};
use common::*;
use dossier_circuits::statement as g16;
use dossier_core::credential::{Credential, Offered};
use dossier_core::pasta::{self, Fp};
use dossier_core::query::EncodedQuery;
use dossier_core::statement::{InputField, PublicInputs};
use dossier_core::Fr;
use dossier_halo2::plan::Plan;
use dossier_halo2::statement as h2;
use dossier_store::registry;
use halo2_proofs::dev::MockProver;
use std::collections::BTreeSet;

/// Backend-neutral inputs of one judgement.
#[derive(Clone)]
struct Case {
    /// The query proven (its encoding is the private witness).
    query: EncodedQuery,
    /// The query claimed in the public inputs (its hash).
    claimed: EncodedQuery,
    /// The secret in the witness.
    secret: Fr,
    /// The secret whose nullifier is claimed.
    claimed_secret: Fr,
    /// The credential in each slot of the query (`None`: unused).
    slots: Vec<Option<Offered>>,
    today: u32,
    /// A public input (by layout offset) claimed one more than it is.
    tamper: Option<usize>,
    /// Values claimed revealed instead of the honest ones.
    revealed: Option<Vec<Fr>>,
}

const CHALLENGE: u64 = 777;
const SCOPE: u64 = 4242;

impl Case {
    fn honest(w: &World, query: &str, ids: &[u32]) -> Case {
        let q = w.encode(query);
        let mut offered = ids.iter().map(|i| w.offered(*i));
        let slots = q
            .credentials
            .iter()
            .map(|c| if c.active { offered.next() } else { None })
            .collect();
        Case {
            query: q.clone(),
            claimed: q,
            secret: w.secret.expose(),
            claimed_secret: w.secret.expose(),
            slots,
            today: TODAY,
            tamper: None,
            revealed: None,
        }
    }

    fn revealed(&self) -> Vec<Fr> {
        if let Some(r) = &self.revealed {
            return r.clone();
        }
        let mut out = Vec::new();
        for (qc, slot) in self.claimed.credentials.iter().zip(&self.slots) {
            for code in &qc.reveals {
                out.push(match (slot, code) {
                    (Some(o), c) if *c > 0 => o.credential.slots[*c as usize - 1],
                    _ => Fr::from(0u64),
                });
            }
        }
        out
    }

    fn groth16_circuit(&self) -> g16::StatementCircuit {
        let shape = self.query.shape;
        let credentials = self
            .slots
            .iter()
            .map(|s| match s {
                None => g16::CredentialWitness::blank(),
                Some(o) => {
                    let c = &o.credential;
                    g16::CredentialWitness {
                        schema_id: c.schema_id,
                        issuer_id: c.issuer_id,
                        holder: c.holder,
                        validity: c.validity(),
                        salt: c.salt,
                        slots: c.slots,
                        siblings: o.siblings.clone(),
                    }
                }
            })
            .collect();
        let scope = Fr::from(SCOPE);
        let mut public = PublicInputs {
            roots: self
                .slots
                .iter()
                .map(|s| s.as_ref().map_or(Fr::from(0u64), |o| o.root))
                .collect(),
            query_hash: self.claimed.hash().expect("hash"),
            challenge: Fr::from(CHALLENGE),
            scope,
            today: self.today,
            nullifier: dossier_core::poseidon::hash2(self.claimed_secret, scope),
            revealed: self.revealed(),
        }
        .to_field_elements();
        if let Some(i) = self.tamper {
            public[i] += Fr::one();
        }
        let public = PublicInputs::from_field_elements(shape, &public).expect("layout");
        g16::StatementCircuit {
            shape,
            witness: g16::StatementWitness {
                secret: self.secret,
                query: self.query.to_field_elements(),
                credentials,
                public,
            },
        }
    }

    fn groth16_holds(&self) -> bool {
        let cs = ark_relations::gr1cs::ConstraintSystem::<Fr>::new_ref();
        self.groth16_circuit()
            .synthesize(cs.clone())
            .expect("synthesis");
        cs.is_satisfied().expect("checks")
    }

    /// The check the first unsatisfied Groth16 constraint belongs to.
    fn groth16_failing_check(&self) -> Option<String> {
        failing_check(&self.groth16_circuit())
    }

    fn halo2_holds(&self) -> bool {
        self.halo2_failing_checks().is_empty()
    }

    /// The checks (by the regions' namespaces, [`dossier_halo2::plan`]) of every halo2 failure.
    fn halo2_failing_checks(&self) -> BTreeSet<String> {
        let shape = self.query.shape;
        let credentials = self
            .slots
            .iter()
            .map(|s| match s {
                None => h2::CredentialWitness::blank(),
                Some(o) => {
                    let c = &o.credential;
                    h2::CredentialWitness {
                        schema_id: pasta::from_fr(&c.schema_id),
                        issuer_id: pasta::from_fr(&c.issuer_id),
                        holder: c.holder_halo2,
                        validity: pasta::from_fr(&c.validity()),
                        salt: pasta::from_fr(&c.salt),
                        slots: c.slots.map(|x| pasta::from_fr(&x)),
                        siblings: o.halo2.as_ref().expect("twin path").siblings.clone(),
                    }
                }
            })
            .collect();
        let roots: Vec<Fp> = self
            .slots
            .iter()
            .map(|s| {
                s.as_ref()
                    .map_or(Fp::zero(), |o| o.halo2.as_ref().expect("twin path").root)
            })
            .collect();
        let scope = Fr::from(SCOPE);
        let nullifier = pasta::hash([pasta::from_fr(&self.claimed_secret), pasta::from_fr(&scope)]);
        let mut public = PublicInputs::<Fp> {
            roots,
            query_hash: self.claimed.hash_halo2(),
            challenge: Fp::from_bn254(&Fr::from(CHALLENGE)),
            scope: Fp::from_bn254(&scope),
            today: self.today,
            nullifier,
            revealed: self.revealed().iter().map(Fp::from_bn254).collect(),
        }
        .to_field_elements();
        if let Some(i) = self.tamper {
            public[i] += Fp::one();
        }
        let typed = PublicInputs::from_field_elements(shape, &public).expect("layout");
        // The circuit reads the claimed query from the instance: no query can be proven but the
        // one claimed.
        let query: Vec<Fp> = self.claimed.to_pasta_elements();
        let circuit = h2::StatementCircuit {
            shape,
            witness: Some(h2::StatementWitness {
                secret: pasta::from_fr(&self.secret),
                query: query.clone(),
                credentials,
                public: typed,
            }),
        };
        let failures = MockProver::run(
            h2::k_of(shape),
            &circuit,
            vec![h2::instance(&public, &query)],
        )
        .expect("synthesis")
        .verify()
        .err()
        .unwrap_or_default();
        let plan = Plan::of(shape).expect("plan");
        failures
            .iter()
            .map(|f| {
                plan.check_of(f)
                    .unwrap_or("<outside any region>")
                    .to_string()
            })
            .collect()
    }

    /// Both backends refuse the case, in the same named check: the first unsatisfied Groth16
    /// constraint is `check`'s, and halo2 fails in a region of `check`.
    fn breaks(&self, what: &str, check: &str) {
        let (g, h) = (self.groth16_failing_check(), self.halo2_failing_checks());
        assert_eq!(
            g.as_deref(),
            Some(check),
            "{what}: the failing Groth16 check"
        );
        assert!(
            h.contains(check),
            "{what}: halo2 fails in {h:?}, not in `{check}`"
        );
    }

    /// Both backends give `expected`.
    fn judge(&self, what: &str, expected: bool) {
        let g = self.groth16_holds();
        let h = self.halo2_holds();
        assert_eq!(
            (g, h),
            (expected, expected),
            "{what}: (groth16, halo2) verdicts"
        );
    }
}

/// Registers `c` at its id in both trees of a copy of the world, returns it offered.
fn register(w: &mut World, c: Credential) -> Offered {
    registry::apply(&mut w.tree, &[(c.credential_id, c.commitment())]).expect("apply");
    registry::apply(&mut w.twin, &[(c.credential_id, c.commitment_halo2())]).expect("apply");
    w.credentials.retain(|x| x.credential_id != c.credential_id);
    let id = c.credential_id;
    w.credentials.push(c);
    w.offered(id)
}

#[test]
fn true_statements_hold_on_both() {
    let w = world();
    Case::honest(&w, RECRUITMENT, &[0]).judge("recruitment", true);
    Case::honest(&w, PROMOTION, &[1, 2, 3, 4]).judge("promotion", true);
    Case::honest(&w, TRAINING, &[5, 6]).judge("training sum 16 + 24 >= 40", true);
}

#[test]
fn every_operator_at_its_boundaries_on_both() {
    let y = |v: u64| Fr::from(v);
    let cases: Vec<(&str, serde_json::Value, Fr, Option<&str>)> = vec![
        ("$gte", 2015.into(), y(2015), None),
        (
            "$gte",
            2016.into(),
            y(2015),
            Some("credential[0].predicate[0].range"),
        ),
        (
            "$gt",
            2015.into(),
            y(2015),
            Some("credential[0].predicate[0].range"),
        ),
        ("$lte", 2015.into(), y(2015), None),
        (
            "$lt",
            2015.into(),
            y(2015),
            Some("credential[0].predicate[0].range"),
        ),
        ("$between", serde_json::json!([2015, 2015]), y(2015), None),
        (
            "$between",
            serde_json::json!([2016, 2020]),
            y(2015),
            Some("credential[0].predicate[0].range"),
        ),
        (
            "$eq",
            2016.into(),
            y(2015),
            Some("credential[0].predicate[0].set"),
        ),
        (
            "$ne",
            2015.into(),
            y(2015),
            Some("credential[0].predicate[0].set"),
        ),
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
            Some("credential[0].predicate[0].set"),
        ),
        ("$nin", serde_json::json!([2013, 2014, 2016]), y(2015), None),
        (
            "$nin",
            serde_json::json!([2015]),
            y(2015),
            Some("credential[0].predicate[0].set"),
        ),
        ("$gte", 0.into(), y(0), None),
        ("$lte", serde_json::json!(u64::MAX), y(u64::MAX), None),
        (
            "$gte",
            0.into(),
            Fr::from(1u128 << 64),
            Some("credential[0].predicate[0].range"),
        ),
        (
            "$lte",
            2015.into(),
            Fr::from((1u128 << 64) + 2015),
            Some("credential[0].predicate[0].range"),
        ),
        (
            "$gte",
            2015.into(),
            -Fr::one(),
            Some("credential[0].predicate[0].range"),
        ),
        (
            "$lte",
            serde_json::json!(u64::MAX),
            -Fr::one(),
            Some("credential[0].predicate[0].range"),
        ),
        // A value that is a member only modulo the other field does not alias: r ≠ p.
        ("$in", serde_json::json!([0]), -Fr::one() + Fr::one(), None),
    ];
    for (op, bound, value, expected) in cases {
        let mut w = world();
        let query = serde_json::json!({"credentials": [{"schema": "qualification",
            "issuers": ["hr.example"], "where": {"award_year": {op: bound.clone()}}}]})
        .to_string();
        let mut c = w.credentials[0].clone();
        c.slots[3] = value;
        let o = register(&mut w, c);
        let mut case = Case::honest(&w, &query, &[0]);
        case.slots[0] = Some(o);
        let what = format!("award_year {op} {bound} on {value}");
        match expected {
            None => case.judge(&what, true),
            Some(check) => case.breaks(&what, check),
        }
    }
}

#[test]
fn holder_binding_on_both() {
    let w = world();
    let thief = dossier_core::holder::HolderSecret::parse("99").expect("secret");
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    c.secret = thief.expose();
    c.breaks("another secret, the holder's nullifier", "nullifier");
    c.claimed_secret = thief.expose();
    c.breaks(
        "another secret with its own nullifier",
        "credential[0].holder_binding",
    );
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    c.slots[0] = Some(w.offered(8));
    c.breaks("someone else's credential", "credential[0].holder_binding");
}

#[test]
fn membership_on_both() {
    let w = world();
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    let o = c.slots[0].as_mut().expect("slot");
    o.siblings[5] += Fr::one();
    o.halo2.as_mut().expect("twin").siblings[5] += Fp::one();
    c.breaks("a wrong sibling", "credential[0].membership");

    // Stale: both registries moved on; the old paths do not reach the new roots.
    let mut moved = world();
    let extra = {
        let mut e = w.credentials[8].clone();
        e.credential_id = 100;
        e
    };
    register(&mut moved, extra);
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    let o = c.slots[0].as_mut().expect("slot");
    o.root = registry::root(&moved.tree).expect("root");
    o.halo2.as_mut().expect("twin").root = registry::root(&moved.twin).expect("root");
    c.breaks("a stale path", "credential[0].membership");

    // Revoked: the leaf is empty in both trees now.
    let mut revoked = world();
    registry::apply(&mut revoked.tree, &[(0, Fr::from(0u64))]).expect("revoke");
    registry::apply(&mut revoked.twin, &[(0, Fp::zero())]).expect("revoke");
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    let o = c.slots[0].as_mut().expect("slot");
    o.root = registry::root(&revoked.tree).expect("root");
    o.halo2.as_mut().expect("twin").root = registry::root(&revoked.twin).expect("root");
    c.breaks("a revoked credential", "credential[0].membership");

    // Another position: the credential claims the id of its neighbour.
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    c.slots[0].as_mut().expect("slot").credential.credential_id ^= 1;
    c.breaks("another position", "credential[0].membership");
}

#[test]
fn expiry_on_both() {
    let w = world();
    for (today, holds) in [(29_999u32, true), (30_000, false), (30_001, false)] {
        let mut c = Case::honest(&w, RECRUITMENT, &[0]);
        c.today = today;
        let what = format!("today {today}, expires 30000");
        if holds {
            c.judge(&what, true);
        } else {
            c.breaks(&what, "credential[0].expiry");
        }
    }
}

#[test]
fn schema_on_both() {
    let mut w = world();
    let mut appraisal = w.credentials[1].clone();
    appraisal.slots[0] = Fr::from(3u64); // looks like a master's degree level
    let o = register(&mut w, appraisal);
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    c.slots[0] = Some(o);
    c.breaks("an appraisal offered as a degree", "credential[0].schema");
}

#[test]
fn public_inputs_are_bound_on_both() {
    let w = world();
    let layout = dossier_core::statement::Layout {
        shape: w.encode(RECRUITMENT).shape,
    };
    // Each tampered input and the check that catches it on (Groth16, halo2); `None`: holds.
    // today + 1 is still before expiry: only the expiry check could catch it, and does not.
    // halo2 reads the query itself, not its hash: the hash input is checked natively by the
    // verifier and bound by the transcript (see the real-proof test), not by a gate.
    let membership = Some("credential[0].membership");
    let nullifier = Some("nullifier");
    for (i, what, g16_check, h2_check) in [
        (layout.root(0), "root", membership, membership),
        (layout.query_hash(), "query hash", Some("query_hash"), None),
        (layout.scope(), "scope", nullifier, nullifier),
        (layout.today(), "today", None, None),
        (layout.nullifier(), "nullifier", nullifier, nullifier),
        (
            layout.revealed(0, 0),
            "reveal",
            Some("credential[0].reveal[0]"),
            Some("credential[0].reveal[0]"),
        ),
        (
            layout.revealed(0, 1),
            "an empty reveal",
            Some("credential[0].reveal[1]"),
            Some("credential[0].reveal[1]"),
        ),
    ] {
        let mut c = Case::honest(&w, RECRUITMENT, &[0]);
        c.tamper = Some(i);
        let what = format!("tampered {what}");
        assert_eq!(
            c.groth16_failing_check().as_deref(),
            g16_check,
            "{what}: Groth16"
        );
        let h = c.halo2_failing_checks();
        match h2_check {
            None => assert!(h.is_empty(), "{what}: halo2 fails in {h:?}"),
            Some(check) => assert!(h.contains(check), "{what}: halo2 fails in {h:?}"),
        }
    }
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    c.query = w.encode(
        &serde_json::json!({"credentials": [{"schema": "qualification", "issuers": ["hr.example"],
        "where": {"award_year": {"$gte": 0}}}]})
        .to_string(),
    );
    // halo2 cannot even express it: the query it checks is the instance, the one claimed.
    assert_eq!(
        c.groth16_failing_check().as_deref(),
        Some("query_hash"),
        "a weaker query proven, the strong one claimed"
    );
    assert!(c.halo2_holds(), "halo2 proves the claimed query itself");
    let mut c = Case::honest(&w, RECRUITMENT, &[0]);
    c.claimed = w.encode(
        &serde_json::json!({"credentials": [{"schema": "qualification", "issuers": ["hr.example"],
        "where": {"award_year": {"$gte": 2016}}, "reveal": ["award_year"]}]})
        .to_string(),
    );
    c.query = c.claimed.clone();
    c.breaks(
        "a query the credential does not satisfy, claimed and proven",
        "credential[0].predicate[0].range",
    );
}

#[test]
fn sums_on_both() {
    let w = world();
    let mut less = world();
    let mut c6 = w.credentials[6].clone();
    c6.slots[1] = Fr::from(23u64);
    let o6 = register(&mut less, c6);
    let mut c = Case::honest(&less, TRAINING, &[5, 6]);
    c.slots[1] = Some(o6);
    c.breaks("16 + 23 < 40", "sum.bound");

    let mut c = Case::honest(&w, TRAINING, &[5, 6]);
    c.slots[0] = Some(w.offered(6));
    c.breaks("the same course counted twice", "distinct");

    let mut c = Case::honest(&w, TRAINING, &[5, 6]);
    c.slots[0] = Some(w.offered(7));
    c.breaks(
        "a course outside the period",
        "credential[0].predicate[0].range",
    );
}

#[test]
fn the_native_builders_agree() {
    let w = world();
    let q = w.encode(RECRUITMENT);
    let build = |o: Vec<Offered>, today: u32| {
        let g =
            g16::StatementWitness::build(&q, &w.secret, &o, Fr::from(1u64), Fr::from(2u64), today)
                .is_ok();
        let h =
            h2::StatementWitness::build(&q, &w.secret, &o, Fr::from(1u64), Fr::from(2u64), today)
                .is_ok();
        (g, h)
    };
    assert_eq!(build(vec![w.offered(0)], TODAY), (true, true));
    assert_eq!(
        build(vec![w.offered(8)], TODAY),
        (false, false),
        "another holder's"
    );
    assert_eq!(
        build(vec![w.offered(1)], TODAY),
        (false, false),
        "another schema"
    );
    assert_eq!(build(vec![w.offered(0)], 30_000), (false, false), "expired");
    assert_eq!(build(vec![], TODAY), (false, false), "none");
    let mut stale = w.offered(0);
    stale.halo2.as_mut().expect("twin").root += Fp::one();
    assert_eq!(
        build(vec![stale], TODAY),
        (true, false),
        "a stale twin path"
    );
    let mut no_twin = w.offered(0);
    no_twin.halo2 = None;
    assert_eq!(build(vec![no_twin], TODAY), (true, false), "no twin path");
    let mut no_holder = w.offered(0);
    no_holder.credential.holder_halo2 = Fp::zero();
    assert!(
        !build(vec![no_holder], TODAY).1,
        "issued without a halo2 holder"
    );
    let _ = Fr::one().inverse();
}

#[test]
fn halo2_sizes_are_pinned() {
    let w = world();
    for (query, ids) in [
        (RECRUITMENT, &[0u32][..]),
        (APPRAISALS, &[1, 2, 3][..]),
        (PROMOTION, &[1, 2, 3, 4][..]),
    ] {
        let c = Case::honest(&w, query, ids);
        assert!(c.halo2_holds());
        let shape = c.query.shape;
        let circuit = h2::StatementCircuit {
            shape,
            witness: None,
        };
        let k = h2::k_of(shape);
        let public = vec![Fp::zero(); dossier_core::statement::Layout { shape }.len()];
        assert!(
            MockProver::run(k - 1, &circuit, vec![public]).is_err(),
            "{} fits 2^{}: lower k_of",
            shape.name(),
            k - 1
        );
    }
}

#[test]
fn two_credentials_asked_for_are_two_on_both() {
    // Regression: distinctness was proven only for credentials in a sum, so a query asking for
    // two credentials without telling them apart was met by one credential twice.
    let w = world();
    Case::honest(&w, TWO_APPRAISALS, &[1, 2]).judge("two appraisals", true);
    let mut c = Case::honest(&w, TWO_APPRAISALS, &[1, 2]);
    c.slots[1] = Some(w.offered(1));
    c.breaks("one appraisal offered twice", "distinct");
}

#[test]
fn issued_no_later_than_today_on_both() {
    // Regression: nothing proved `issued_at <= today`.
    for (issued, holds) in [
        (TODAY - 1, true),
        (TODAY, true),
        (TODAY + 1, false),
        (29_999, false),
    ] {
        let mut w = world();
        let mut degree = w.credentials[0].clone();
        degree.issued_at = issued;
        let o = register(&mut w, degree);
        let mut c = Case::honest(&w, RECRUITMENT, &[0]);
        c.slots[0] = Some(o);
        let what = format!("issued on {issued}, today {TODAY}");
        if holds {
            c.judge(&what, true);
        } else {
            c.breaks(&what, "credential[0].issued");
        }
    }
}

#[test]
fn only_used_slots_count_towards_a_sum_on_both() {
    // Regression: nothing tied `in_sum` to `active`; an unused slot's blank credential could be
    // summed (sound today only because the verifier re-encodes the query).
    let w = world();
    let mut c = Case::honest(&w, TRAINING, &[5, 6]);
    assert!(!c.query.credentials[2].active);
    c.query.credentials[2].in_sum = true;
    c.claimed = c.query.clone();
    c.breaks("an unused slot in the sum", "query[2].sum_needs_active");
}

#[test]
fn the_native_checks_refuse_the_same_cases() {
    let w = world();
    let q = w.encode(TWO_APPRAISALS);
    assert!(q
        .check_offered(&[w.offered(1), w.offered(2)], TODAY)
        .is_ok());
    assert!(q
        .check_offered(&[w.offered(1), w.offered(1)], TODAY)
        .is_err());
    let r = w.encode(RECRUITMENT);
    let mut late = w.offered(0);
    late.credential.issued_at = TODAY + 1;
    assert!(r.check_offered(&[late], TODAY).is_err());
}
