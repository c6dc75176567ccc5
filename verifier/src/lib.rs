//! dossier's lightweight verifier: checks a presentation against the verifier's own request
//! and a checkpoint it trusts.
//!
//! It depends on `dossier-core` alone — no prover, database or web server in its tree — which
//! already holds what anchoring needs: checkpoint signature verification
//! (`dossier_core::checkpoint::open`) and log proof checks (`dossier_core::log_proof`). Proof
//! verification arrives with the Groth16 issue (#3).
