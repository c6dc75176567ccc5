//! Small gadgets, each the twin of a native function in `dossier-core`, each with its own tests
//! and pinned constraint count.

pub mod bits;
pub mod merkle;
pub mod poseidon;
