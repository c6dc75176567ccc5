//! The statement circuit on real credentials: satisfied by true statements, with pinned
//! constraint counts per shape.

mod common;

use ark_bn254::Fr;
use ark_relations::gr1cs::ConstraintSystem;
use common::*;

fn satisfied(c: &dossier_circuits::statement::StatementCircuit) -> (bool, usize) {
    let cs = ConstraintSystem::<Fr>::new_ref();
    c.synthesize(cs.clone()).expect("synthesis");
    (cs.is_satisfied().expect("checks"), cs.num_constraints())
}

#[test]
fn typical_statements_are_satisfied() {
    let w = world();
    assert_eq!(failing_check(&w.circuit(PROMOTION, &[1, 2, 3, 4])), None);
    let (ok, n) = satisfied(&w.circuit(RECRUITMENT, &[0]));
    println!("recruitment (m1): {n} constraints");
    assert!(ok);
    let (ok, n) = satisfied(&w.circuit(PROMOTION, &[1, 2, 3, 4]));
    println!("promotion (m4): {n} constraints");
    assert!(ok);
    let (ok, _) = satisfied(&w.circuit(TRAINING, &[5, 6]));
    assert!(ok);
}
