//! The under-constraint probe: in a valid witness of each shipped shape, change any single
//! private variable (by +1 and by a random amount) and the constraint system must become
//! unsatisfied. A variable that can change freely is unconstrained. Intentional exceptions:
//!
//! - the inverse hint of a set check whose value is *in* the set (`prod = 0`, so
//!   `prod * inv = 0` holds for any `inv`): the hint is only needed to prove non-membership;
//! - the inverse hint of a distinctness check for a pair with an unused slot (`both = 0` and,
//!   for two blank slots, `diff = 0`);
//! - the witness variables of an unused credential slot that only feed checks multiplied by
//!   `active = 0` (its membership root), and the set hints of its inert predicates — they
//!   cannot affect any public input.
//!
//! Each exception is identified by the named check that owns the variable's constraints, and
//! the test fails on any free variable outside them. Also pinned here: each shape's constraint
//! count, so a regression shows.

mod common;

use ark_bn254::Fr;
use ark_ff::{UniformRand, Zero};
use ark_relations::gr1cs::{ConstraintSystem, ConstraintSystemRef};
use common::*;
use dossier_circuits::statement::StatementCircuit;
use std::collections::BTreeMap;

struct R1cs {
    a: Vec<Vec<(Fr, usize)>>,
    b: Vec<Vec<(Fr, usize)>>,
    c: Vec<Vec<(Fr, usize)>>,
    z: Vec<Fr>,
    num_instance: usize,
    /// variable -> constraints it appears in
    uses: BTreeMap<usize, Vec<usize>>,
}

fn r1cs(circuit: &StatementCircuit) -> (R1cs, dossier_circuits::statement::Checks) {
    let cs: ConstraintSystemRef<Fr> = ConstraintSystem::new_ref();
    let checks = circuit.synthesize(cs.clone()).expect("synthesis");
    assert!(
        cs.is_satisfied().expect("checks"),
        "the witness under probe is valid"
    );
    cs.finalize();
    let mut m = cs.to_matrices().expect("matrices");
    let mut abc = m.remove("R1CS").expect("r1cs");
    let (c, b, a) = (
        abc.pop().expect("c"),
        abc.pop().expect("b"),
        abc.pop().expect("a"),
    );
    let mut z = cs.instance_assignment().expect("instance");
    let num_instance = z.len();
    z.extend(cs.witness_assignment().expect("witness"));
    let mut uses: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, row) in a.iter().chain(&b).chain(&c).enumerate() {
        for (_, v) in row {
            uses.entry(*v).or_default().push(k % a.len());
        }
    }
    (
        R1cs {
            a,
            b,
            c,
            z,
            num_instance,
            uses,
        },
        checks,
    )
}

fn dot(row: &[(Fr, usize)], z: &[Fr]) -> Fr {
    row.iter().map(|(coeff, v)| *coeff * z[*v]).sum()
}

impl R1cs {
    /// Whether every constraint still holds with variable `v` moved by `delta`.
    fn still_satisfied(&mut self, v: usize, delta: Fr) -> bool {
        let old = self.z[v];
        self.z[v] += delta;
        let ok = self.uses.get(&v).is_none_or(|ks| {
            ks.iter().all(|k| {
                dot(&self.a[*k], &self.z) * dot(&self.b[*k], &self.z) == dot(&self.c[*k], &self.z)
            })
        });
        self.z[v] = old;
        ok
    }
}

fn probe(circuit: &StatementCircuit, allowed: impl Fn(&str) -> bool) -> usize {
    let (mut r, checks) = r1cs(circuit);
    let mut rng = rand::thread_rng();
    let mut free = Vec::new();
    for v in r.num_instance..r.z.len() {
        let random = Fr::rand(&mut rng);
        if r.still_satisfied(v, Fr::from(1u64))
            || (!random.is_zero() && r.still_satisfied(v, random))
        {
            let owner = r
                .uses
                .get(&v)
                .and_then(|ks| ks.first())
                .and_then(|k| checks.name_of(*k))
                .unwrap_or("<in no constraint>")
                .to_string();
            if !allowed(&owner) {
                free.push((v, owner));
            }
        }
    }
    assert!(free.is_empty(), "unconstrained private variables: {free:?}");
    r.z.len() - r.num_instance
}

#[test]
fn no_private_variable_of_the_recruitment_circuit_is_free() {
    let w = world();
    // The degree's field is *in* {law, economics}: that set check's inverse hint is free.
    let n = probe(&w.circuit(RECRUITMENT, &[0]), |owner| {
        owner == "credential[0].predicate[1].set"
    });
    assert!(n > 10_000);
}

#[test]
fn no_private_variable_of_the_promotion_circuit_is_free() {
    let w = world();
    // year $eq is a set check with the value in the set; all four slots are used, so every
    // distinctness hint is bound (no exception for them).
    probe(&w.circuit(PROMOTION, &[1, 2, 3, 4]), |owner| {
        owner.ends_with(".set")
    });
}

#[test]
fn no_private_variable_of_the_training_sum_circuit_is_free() {
    let w = world();
    // One of three slots is unused: its root only meets `active = 0`; blank pairs' hints are
    // free, and so are the set hints of its inert predicates (a zero value in the zero set).
    probe(&w.circuit(TRAINING, &[5, 6]), |owner| {
        owner == "distinct"
            || owner.starts_with("credential[2].")
                && (owner.ends_with(".membership") || owner.ends_with(".set"))
    });
}

#[test]
fn constraint_counts_are_pinned() {
    let w = world();
    let count = |c: &StatementCircuit| {
        let cs = ConstraintSystem::<Fr>::new_ref();
        c.synthesize(cs.clone()).expect("synthesis");
        cs.num_constraints()
    };
    // Shape m1p4k4r2: goal <= 11,000 (circom --O2: 10,625; iden3 MTP: 40,372).
    assert_eq!(count(&w.circuit(RECRUITMENT, &[0])), 10_942);
    // Shape m3p2k4r1: three credentials (three years of appraisals); goal <= 35,000.
    assert_eq!(count(&w.circuit(APPRAISALS, &[1, 2, 3])), 29_245);
    // The count depends on the shape only, never on the query: the training sum also uses m3.
    assert_eq!(count(&w.circuit(TRAINING, &[5, 6])), 29_245);
    // Shape m4p2k4r1: four credentials (three appraisals and the employment record).
    assert_eq!(count(&w.circuit(PROMOTION, &[1, 2, 3, 4])), 38_650);
}
