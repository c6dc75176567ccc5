//! The appraisal round's window circuit: a true round is satisfiable window by window, and each
//! false statement (a broken quota or training rule, a tampered input, a credential of another
//! unit or year, a revoked one, a forged disclosure, out-of-range values) is not. Constraint satisfaction only:
//! real proofs are made and checked in `prover/tests/round.rs`.

mod common;

use ark_bn254::Fr;
use ark_ff::{One, Zero};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use dossier_circuits::round::{window_witnesses, RoundCircuit, RoundError, RoundWitness};
use dossier_core::credential::Credential;
use dossier_core::holder::HolderSecret;
use dossier_core::round::{Quota, Round, Rules, Training, GRADE_SLOT, TRAINING_SLOT};
use dossier_core::schema::SchemaSet;
use dossier_store::registry::{self, MemoryTree};
use rand::SeedableRng;
use std::collections::BTreeMap;

const GRADES: [&str; 4] = [
    "incompetent",
    "basically_competent",
    "competent",
    "excellent",
];

struct Unit {
    schemas: SchemaSet,
    tree: MemoryTree,
    openings: BTreeMap<u32, Credential>,
    round: Round,
}

impl Unit {
    /// A registry with other credentials at 0..60, the round's appraisals at 60..130 (one in
    /// ten excellent; training hours 0, 30, 60, 90 or 120 by id % 5), and more after it.
    fn new() -> Unit {
        let schemas = SchemaSet::builtin();
        let secret = HolderSecret::parse("195948557").expect("secret");
        let mut credentials = Vec::new();
        for id in 0..60u32 {
            credentials.push(common::credential(&schemas, &secret, id, "training", serde_json::json!({"course": "ethics", "hours": 4, "completed_on": "2025-03-01", "passed": true})));
        }
        for id in 60..130u32 {
            let grade = if id % 10 == 3 {
                "excellent"
            } else {
                GRADES[(id % 3) as usize]
            };
            credentials.push(appraisal(&schemas, &secret, id, grade, "tax-audit", 2025));
        }
        credentials.push(appraisal(
            &schemas,
            &secret,
            130,
            "excellent",
            "tax-audit",
            2025,
        ));
        let mut tree = MemoryTree::default();
        let leaves: Vec<(u32, Fr)> = credentials
            .iter()
            .map(|c| (c.credential_id, c.commitment()))
            .collect();
        registry::apply(&mut tree, &leaves).expect("tree");
        Unit {
            schemas,
            tree,
            openings: credentials
                .into_iter()
                .map(|c| (c.credential_id, c))
                .collect(),
            round: Round {
                issuer: "hr.example".into(),
                unit: "tax-audit".into(),
                year: 2025,
                first: 60,
                count: 70,
            },
        }
    }

    fn schema_id(&self) -> Fr {
        self.schemas.get("appraisal").expect("shipped").id()
    }

    fn root(&self) -> Fr {
        registry::root(&self.tree).expect("root")
    }

    fn witnesses(&self, percent: u8, disclose: bool) -> Result<Vec<RoundWitness>, RoundError> {
        self.witnesses_with(
            Rules {
                quota: Quota { percent },
                training: None,
            },
            disclose,
        )
    }

    fn witnesses_with(
        &self,
        rules: Rules,
        disclose: bool,
    ) -> Result<Vec<RoundWitness>, RoundError> {
        let empty = registry::empty_hashes();
        let node = |level: u8, index: u32| {
            self.tree
                .node(level, index)
                .unwrap_or(empty[level as usize])
        };
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        window_witnesses(
            &self.round,
            rules,
            disclose,
            self.root(),
            self.schema_id(),
            &node,
            &self.openings,
            &mut rng,
        )
    }

    fn set(&mut self, c: Credential) {
        registry::apply(&mut self.tree, &[(c.credential_id, c.commitment())]).expect("tree");
        self.openings.insert(c.credential_id, c);
    }
}

fn appraisal(
    schemas: &SchemaSet,
    secret: &HolderSecret,
    id: u32,
    grade: &str,
    unit: &str,
    year: u32,
) -> Credential {
    common::credential(
        schemas,
        secret,
        id,
        "appraisal",
        serde_json::json!({"year": year, "grade": grade, "score": 80, "unit": unit, "training_hours": id % 5 * 30}),
    )
}

fn satisfied(w: &RoundWitness) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    RoundCircuit { witness: w.clone() }
        .generate_constraints(cs.clone())
        .expect("synthesis");
    cs.is_satisfied().expect("checks")
}

#[test]
fn a_true_round_is_satisfiable_window_by_window_and_its_size_is_pinned() {
    let u = Unit::new();
    let ws = u.witnesses(20, false).expect("provable");
    assert_eq!(
        ws.iter().map(|w| w.public.window).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(ws.iter().all(satisfied));
    // 7 excellent (63, 73, ..., 123) of 70: 10%, within 20% (bound 14).
    assert_eq!(ws[2].public.bound, 14);
    let cs = ConstraintSystem::<Fr>::new_ref();
    RoundCircuit {
        witness: RoundWitness::blank(),
    }
    .generate_constraints(cs.clone())
    .expect("synthesis");
    assert_eq!(
        cs.num_constraints(),
        61_693,
        "pinned: the window circuit's size"
    );
    assert_eq!(
        cs.num_instance_variables(),
        1 + dossier_core::round::PUBLIC_INPUTS
    );
}

#[test]
fn a_round_over_its_quota_cannot_be_proven() {
    let u = Unit::new();
    // 7 excellent of 70: bound floor(70 * 9 / 100) = 6.
    assert!(matches!(
        u.witnesses(9, false),
        Err(RoundError::OverQuota { percent: 9 })
    ));
    assert!(
        u.witnesses(10, false).is_ok(),
        "floor(70 * 10 / 100) = 7: exactly at the bound"
    );
    // Forced: the last window with a bound one below the count.
    let mut ws = u.witnesses(10, false).expect("ok");
    let last = ws.last_mut().expect("last");
    last.public.bound = 6;
    assert!(!satisfied(last));
    last.public.bound = 7;
    assert!(satisfied(last));
    // ... and a non-last window never checks it (so a chain cannot end early unnoticed: the
    // verifier sets `last` only on the round's last window).
    ws[0].public.bound = 0;
    assert!(satisfied(&ws[0]));
}

#[test]
fn every_public_input_is_bound() {
    let u = Unit::new();
    let ws = u.witnesses(20, false).expect("ok");
    let w = &ws[1];
    let one = Fr::one();
    type Tamper = Box<dyn Fn(&mut RoundWitness)>;
    let tampers: Vec<(&str, Tamper)> = vec![
        ("root", Box::new(move |w| w.public.root += one)),
        ("issuer", Box::new(move |w| w.public.issuer_id += one)),
        ("schema", Box::new(move |w| w.public.schema_id += one)),
        ("unit", Box::new(move |w| w.public.unit += one)),
        ("year", Box::new(|w| w.public.year += 1)),
        ("first", Box::new(|w| w.public.first = 65)),
        ("count", Box::new(|w| w.public.count = 60)),
        ("window", Box::new(|w| w.public.window = 0)),
        ("acc_in", Box::new(move |w| w.public.acc_in += one)),
        ("acc_out", Box::new(move |w| w.public.acc_out += one)),
        ("disclose", Box::new(|w| w.public.disclose = true)),
        ("counts", Box::new(|w| w.public.counts[0] = 1)),
    ];
    for (name, tamper) in tampers {
        let mut t = w.clone();
        tamper(&mut t);
        assert!(!satisfied(&t), "{name} changed, still satisfied");
    }
}

#[test]
fn the_range_is_exact_at_both_ends() {
    let u = Unit::new();
    let ws = u.witnesses(20, false).expect("ok");
    // One more (id 130, an excellent of the unit) or one fewer at either end changes the
    // counted leaves, so the accumulator no longer opens.
    for (first, count) in [(60u32, 71u32), (59, 71), (61, 69), (60, 69)] {
        for w in &ws {
            let mut t = w.clone();
            t.public.first = first;
            t.public.count = count;
            let ids = |a: u32, n: u32| -> Vec<u32> {
                (w.public.window * 64..w.public.window * 64 + 64)
                    .filter(|i| *i >= a && *i < a + n)
                    .collect()
            };
            let same = ids(first, count) == ids(60, 70);
            assert_eq!(
                satisfied(&t),
                same,
                "first {first}, count {count}, window {}",
                t.public.window
            );
        }
    }
}

#[test]
fn a_credential_of_another_unit_year_or_schema_breaks_the_round() {
    let secret = HolderSecret::parse("195948557").expect("secret");
    let schemas = SchemaSet::builtin();
    for (what, bad) in [
        (
            "unit",
            appraisal(&schemas, &secret, 75, "competent", "customs", 2025),
        ),
        (
            "year",
            appraisal(&schemas, &secret, 75, "competent", "tax-audit", 2024),
        ),
        (
            "schema",
            common::credential(
                &schemas,
                &secret,
                75,
                "training",
                serde_json::json!({"course": "x", "hours": 1, "completed_on": "2025-01-01", "passed": true}),
            ),
        ),
    ] {
        let mut u = Unit::new();
        u.set(bad);
        assert!(
            matches!(
                u.witnesses(20, false),
                Err(RoundError::NotOfTheRound { id: 75 })
            ),
            "{what}"
        );
    }
}

#[test]
fn forced_witnesses_of_false_rounds_are_unsatisfiable() {
    let u = Unit::new();
    let ws = u.witnesses(20, false).expect("ok");
    let slot = 75 - 64;
    // A grade outside the four (4, and p-1), and a grade bit flipped through the slot.
    for g in [Fr::from(4u64), -Fr::one(), Fr::from(1u64 << 40)] {
        let mut t = ws[1].clone();
        t.leaves[slot].slots[GRADE_SLOT] = g;
        assert!(!satisfied(&t));
    }
    // A revoked credential (empty leaf) inside the round.
    let mut t = ws[1].clone();
    t.leaves[slot].leaf = Fr::zero();
    assert!(!satisfied(&t));
    // Another unit's appraisal opened at the leaf.
    let mut t = ws[1].clone();
    t.leaves[slot].slots[dossier_core::round::UNIT_SLOT] += Fr::one();
    assert!(!satisfied(&t));
    // A count past the circuit's range (2^13), which would let the comparison wrap.
    let mut t = ws[1].clone();
    t.public.count = 1 << 13;
    assert!(!satisfied(&t));
    // Leaves outside the round are free: any value hashes into the subtree (other credentials).
    let mut t = ws[0].clone();
    t.leaves[3].leaf += Fr::one();
    assert!(
        !satisfied(&t),
        "but the subtree must still lead to the root"
    );
}

#[test]
fn disclosure_is_the_counts_only_in_the_last_window() {
    let u = Unit::new();
    let ws = u.witnesses(20, true).expect("ok");
    let last = ws.last().expect("last");
    assert!(last.public.disclose);
    // 70 appraisals: ids 60..130, excellent when id % 10 == 3, else grade id % 3.
    let mut expected = [0u32; 4];
    for id in 60..130u32 {
        expected[if id % 10 == 3 { 3 } else { (id % 3) as usize }] += 1;
    }
    assert_eq!(last.public.counts, expected);
    assert!(satisfied(last));
    let mut t = last.clone();
    t.public.counts[3] -= 1;
    t.public.counts[2] += 1;
    assert!(!satisfied(&t), "a forged distribution");
    let mut t = ws[0].clone();
    t.public.disclose = true;
    assert!(!satisfied(&t), "disclosure outside the last window");
}

fn training(hours: u32, percent: u8) -> Rules {
    Rules {
        quota: Quota { percent: 20 },
        training: Some(Training { hours, percent }),
    }
}

/// Of ids 60..130, how many recorded at least `hours` (id % 5 * 30 hours each).
fn trained(hours: u32) -> u32 {
    (60..130u32).filter(|id| id % 5 * 30 >= hours).count() as u32
}

#[test]
fn a_training_rule_holds_exactly_up_to_its_floor() {
    let u = Unit::new();
    // 90 hours: ids with id % 5 in {3, 4}, 28 of 70 = 40%.
    assert_eq!(trained(90), 28);
    let ws = u
        .witnesses_with(training(90, 40), true)
        .expect("40% met 90 hours");
    assert!(ws.iter().all(satisfied));
    let last = ws.last().expect("last");
    assert_eq!((last.public.floor, last.public.trained), (28, 28));
    assert!(last.public.disclose_trained);
    // 41% of 70 rounds up to 29: one more than met.
    assert!(matches!(
        u.witnesses_with(training(90, 41), false),
        Err(RoundError::UnderTraining {
            percent: 41,
            hours: 90
        })
    ));
    // At the boundary: 91 hours is met only by 120 (14 of 70), 0 hours by all, the most
    // hours by none.
    assert_eq!(
        u.witnesses_with(training(91, 20), true)
            .expect("20%")
            .last()
            .expect("last")
            .public
            .trained,
        14
    );
    assert_eq!(
        u.witnesses_with(training(0, 100), true)
            .expect("all")
            .last()
            .expect("last")
            .public
            .trained,
        70
    );
    let max = dossier_core::round::MAX_TRAINING_HOURS;
    assert!(u.witnesses_with(training(max, 0), false).is_ok());
    assert!(matches!(
        u.witnesses_with(training(max, 1), false),
        Err(RoundError::UnderTraining { .. })
    ));
    // Forced: the last window with a floor one above the count.
    let mut ws = u.witnesses_with(training(90, 40), false).expect("ok");
    let last = ws.last_mut().expect("last");
    last.public.floor = 29;
    assert!(!satisfied(last));
    // A lower requirement than the one the tally was made with moves the count: unsatisfiable.
    let mut t = ws[1].clone();
    t.public.hours = 60;
    assert!(!satisfied(&t));
}

#[test]
fn training_hours_out_of_range_cannot_be_counted() {
    let u = Unit::new();
    let ws = u.witnesses_with(training(90, 0), false).expect("ok");
    let slot = 75 - 64;
    // An appraisal's hours at 2^14 (past the comparison's range), 2^64 and p-1: unsatisfiable,
    // whatever the commitment (the witness's slot no longer opens the leaf either way, so the
    // subtree is rebuilt to isolate the range check).
    for hours in [
        Fr::from(1u64 << 14),
        Fr::from(u64::MAX) + Fr::one(),
        -Fr::one(),
    ] {
        let mut t = ws[1].clone();
        t.leaves[slot].slots[TRAINING_SLOT] = hours;
        assert!(!satisfied(&t));
    }
    // The required hours past the range (which would let `hours - required` wrap).
    for hours in [1u32 << 14, u32::MAX] {
        let mut t = ws[1].clone();
        t.public.hours = hours;
        assert!(!satisfied(&t));
    }
    // An honest issuer cannot record them either: the schema stops at a leap year's hours.
    let schemas = SchemaSet::builtin();
    let claim = serde_json::json!({"schema": "appraisal", "holder": dossier_core::field::to_hex(&Fr::from(7u64)),
        "fields": {"year": 2025, "grade": "competent", "score": 80, "unit": "tax-audit", "training_hours": 8785}});
    let claim: dossier_core::credential::Claim = serde_json::from_value(claim).expect("claim");
    assert!(claim.encode(&schemas).is_err());
}

#[test]
fn the_training_inputs_are_bound_and_disclosed_only_when_asked() {
    let u = Unit::new();
    let ws = u.witnesses_with(training(90, 40), true).expect("ok");
    let last = ws.last().expect("last");
    let one = Fr::one();
    type Tamper = Box<dyn Fn(&mut RoundWitness)>;
    let tampers: Vec<(&str, Tamper)> = vec![
        ("hours", Box::new(|w| w.public.hours += 1)),
        ("floor", Box::new(|w| w.public.floor += 1)),
        ("trained", Box::new(|w| w.public.trained -= 1)),
        (
            "disclose_trained",
            Box::new(|w| w.public.disclose_trained = false),
        ),
        ("acc_out", Box::new(move |w| w.public.acc_out += one)),
    ];
    for (name, tamper) in tampers {
        let mut t = last.clone();
        tamper(&mut t);
        assert!(!satisfied(&t), "{name} changed, still satisfied");
    }
    let mut t = ws[0].clone();
    t.public.disclose_trained = true;
    assert!(!satisfied(&t), "disclosure outside the last window");
    let quiet = u.witnesses_with(training(90, 40), false).expect("ok");
    let last = quiet.last().expect("last");
    assert!(!last.public.disclose_trained && last.public.trained == 0);
    let mut t = last.clone();
    t.public.trained = 28;
    assert!(!satisfied(&t), "a count shown without disclosure");
}
