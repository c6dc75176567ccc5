//! dossier's zero-knowledge circuits: the generic statements (credential commitment, registry
//! membership, holder binding, predicates, nullifier) as R1CS over BN254 for Groth16.
//!
//! This crate sits on `dossier-core` and uses its field encodings and Poseidon as the native
//! twins of its gadgets. The statements themselves are the subject of the Groth16 issue (#3);
//! until then the crate only fixes its place in the dependency graph (core <- circuits <- prover).
