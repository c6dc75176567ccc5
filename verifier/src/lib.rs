//! dossier's lightweight verifier: checks a presentation against the verifier's own request and
//! a ledger key it trusts: Groth16 (arkworks' verifier, keys pinned through `dossier-params`)
//! and, with the `halo2` feature, halo2 (`halo2`: verifying keys generated from the circuit
//! itself, no trusted setup and no proving key). By default it depends on `dossier-core`,
//! `dossier-params` and arkworks' Groth16 verifier only — no prover, no halo2, no database or
//! web server in its tree (checked by `.ci/run`); a Groth16-only verifier (a browser, a
//! contract tool) compiles nothing else.
//!
//! [`verify`] checks, before any pairing: the presentation answers *this* request (query,
//! challenge, scope, today), its shape and public-input count match a pinned verifying key, every
//! public input is canonical and equals what the request implies (query hash, challenge, scope,
//! today), the checkpoint is signed by the trusted ledger key and fresh enough, every used
//! registry root is the checkpoint's root of an issuer the query accepts, and the proof's points
//! are on the curve and in the subgroup. Then the Groth16 equation. An optional
//! [`NullifierStore`] refuses a second use of a scope; [`verify_batch`] checks many proofs with
//! one random linear combination; [`ballot`] checks ratings of a ballot of anonymous peer
//! rating and re-verifies a ballot's archive.

pub mod ballot;
mod batch;
pub mod campaign;
#[cfg(feature = "halo2")]
pub mod halo2;
pub mod keys;
mod nullifiers;
pub mod round;
pub mod snarkjs;
pub mod solidity;
mod verdict;
mod verify;

pub use batch::{verify_batch, verify_presentations, BatchItem};
pub use dossier_core::checkpoint::Trust;
pub use keys::VerifierKeys;
pub use nullifiers::NullifierStore;
pub use verdict::{Revealed, Verdict};
pub use verify::{decode_proof, input_combination, verify, verify_proof, Checked};

/// Why a presentation is refused. Every variant says what was wrong; none carries secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The presentation or request is not well formed (unusable input).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What.
        what: String,
        /// Why.
        reason: String,
    },
    /// Keys are missing or do not match their pinned hashes.
    #[error("keys: {0}")]
    Keys(String),
    /// The params folder could not be used.
    #[error(transparent)]
    Params(#[from] dossier_params::ParamsError),
    /// The presentation's backend is not compiled into this verifier.
    #[error("this verifier was built without the {0} backend")]
    BackendMissing(dossier_core::presentation::Backend),
    /// The presentation answers another request.
    #[error("the presentation answers another request: {0} differs")]
    RequestMismatch(&'static str),
    /// A public input is not what the request implies.
    #[error("public input `{0}` does not match the request")]
    PublicInput(&'static str),
    /// The checkpoint is unsigned, signed by another key, or malformed.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The checkpoint lacks the witness cosignatures the verifier's policy demands (a ledger
    /// could be showing this verifier a history others do not see).
    #[error("checkpoint: {found} of the {needed} witness cosignatures the policy demands")]
    Unwitnessed {
        /// Asked for.
        needed: usize,
        /// Valid ones found.
        found: usize,
    },
    /// The checkpoint is older than the request allows.
    #[error("checkpoint is {age} s old; the request allows {max} s")]
    Stale {
        /// Its age.
        age: u64,
        /// The limit.
        max: u64,
    },
    /// A registry root is not anchored by the checkpoint for an accepted issuer.
    #[error("credential {index}: {reason}")]
    Unanchored {
        /// Which credential of the query.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The proof does not decode to valid curve points.
    #[error("proof: {0}")]
    ProofEncoding(String),
    /// The proof does not verify.
    #[error("the proof does not verify")]
    InvalidProof,
    /// An appraisal round proof is not of a round declared in its checkpoint's ledger.
    #[error("the round is not the one declared on the ledger: {0}")]
    RoundNotDeclared(&'static str),
    /// The scope's nullifier was used before.
    #[error("this holder already presented a proof in this scope")]
    Replayed,
    /// The scope belongs to another backend (whose nullifiers cannot be compared with these).
    #[error("this scope is served by {used}: a presentation of another proof system would give its holder a second nullifier")]
    ScopeBackend {
        /// The scope's backend.
        used: dossier_core::presentation::Backend,
    },
}

impl VerifyError {
    /// Whether the input was unusable (as opposed to readable and invalid).
    pub fn is_unusable(&self) -> bool {
        matches!(
            self,
            VerifyError::Malformed { .. }
                | VerifyError::Keys(_)
                | VerifyError::Params(_)
                | VerifyError::BackendMissing(_)
        )
    }
}
