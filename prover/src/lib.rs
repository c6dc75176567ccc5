//! dossier's prover: builds a statement's witness from the holder's wallet and the registries'
//! membership paths, proves it, and writes a presentation.
//!
//! Placed above `dossier-circuits` (core <- circuits <- prover); the proving work is the subject
//! of the Groth16 issue (#3). The data it consumes — wallet openings and membership paths —
//! is produced today by `dossier-store` and the `dossier witness` command.
