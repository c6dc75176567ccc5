//! dossier's statements as halo2 circuits over the Pasta curves, proven with IPA commitments:
//! no trusted setup. Chips: Poseidon (`halo2_gadgets`' `Pow5Chip`, `P128Pow5T3`), range checks
//! by lookup ([`range`]), set predicates ([`set`]), packed validity and expiry ([`validity`]),
//! Merkle membership with position bits
//! ([`membership`]), IPA proving ([`proof`]); [`native`]
//! computes the same hashes outside the circuit.

pub mod membership;
pub mod native;
pub mod proof;
pub mod range;
pub mod set;
pub mod validity;
