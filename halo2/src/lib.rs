//! dossier's statements as halo2 circuits over the Pasta curves, proven with IPA commitments:
//! no trusted setup. The statement ([`statement`]) is the Groth16 statement check for check, on
//! chips: Poseidon (`halo2_gadgets`' `Pow5Chip`, `P128Pow5T3`), glue arithmetic, bits and
//! multiplexers ([`arith`]), range checks by lookup ([`range`]), set predicates ([`set`]),
//! packed validity and expiry ([`validity`]); [`proof`] makes and checks IPA proofs with keys
//! generated once per process. The hashes' native twins are in `dossier_core::pasta`.

pub mod arith;
pub mod plan;
pub mod proof;
pub mod range;
pub mod set;
pub mod statement;
pub mod validity;

pub use proof::Halo2Error;
