//! dossier's zero-knowledge circuits: R1CS over BN254 for Groth16.
//!
//! [`statement::StatementCircuit`] is the one generic circuit per [`Shape`](dossier_core::query::Shape):
//! the query is a witness committed to by its public hash, so a new query needs no new setup.
//! [`round::RoundCircuit`] is one window of an appraisal round (a quota proven without grades).
//! It is built from small gadgets ([`gadgets`]), each the twin of a native function in
//! `dossier-core` and tested against it. Public inputs follow `dossier_core::statement::Layout`.

pub mod gadgets;
pub mod round;
pub mod statement;
