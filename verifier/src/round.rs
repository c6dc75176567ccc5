//! Appraisal round proofs, checked as the regulator checks them: the checkpoint opens under
//! the verifier's trust and anchors the HR office's registry root; the windows are exactly the
//! round's, in order, chained from the known starting accumulator; the rule's bound is
//! computed here (never read from the proof); a distribution is accepted only for a round of
//! at least the minimum group size; and every window's Groth16 proof verifies against the
//! pinned key of the window circuit.

use crate::{decode_proof, verify_proof, Trust, VerifierKeys, VerifyError};
use dossier_core::round::{Quota, Round, RoundProof, GRADES};
use dossier_core::schema::SchemaSet;
use serde::Serialize;

/// What a verified round proof establishes: nothing about any person.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoundVerdict {
    /// The round (HR office, unit, year, ids, size).
    pub round: Round,
    /// The rule that holds.
    pub quota: Quota,
    /// The most "excellent" grades the rule allows this round.
    pub bound: u32,
    /// The grade counts, lowest first, if disclosed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distribution: Option<[u32; GRADES]>,
    /// The anchoring checkpoint's size.
    pub checkpoint_size: u64,
    /// The windows proven.
    pub windows: usize,
    /// Whether the round circuit's keys come from the insecure development setup.
    pub insecure_setup: bool,
}

/// Verifies a round proof.
pub fn verify_round(
    proof: &RoundProof,
    keys: &VerifierKeys,
    trust: &Trust,
    schemas: &SchemaSet,
) -> Result<RoundVerdict, VerifyError> {
    let (key, insecure) = keys.round.as_ref().ok_or_else(|| {
        VerifyError::Keys("no verifying key for the appraisal round circuit".into())
    })?;
    let checkpoint = trust
        .open(proof.checkpoint.as_bytes())
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))?;
    let issuer_id = proof.round.issuer_id().map_err(malformed)?;
    let registry = checkpoint
        .registry(&issuer_id)
        .ok_or_else(|| VerifyError::Unanchored {
            index: 0,
            reason: "the checkpoint has no registry of the round's issuer".into(),
        })?;
    let schema_id = schemas.get("appraisal").map_err(malformed)?.id();
    let publics = proof
        .window_inputs(registry.root, schema_id)
        .map_err(malformed)?;
    for (public, window) in publics.iter().zip(&proof.windows) {
        let p = decode_proof(&window.proof)?;
        verify_proof(key, &p, &public.to_inputs())?;
    }
    Ok(RoundVerdict {
        round: proof.round.clone(),
        quota: proof.quota,
        bound: proof.quota.bound(proof.round.count),
        distribution: proof.distribution,
        checkpoint_size: checkpoint.size,
        windows: proof.windows.len(),
        insecure_setup: *insecure,
    })
}

fn malformed(e: dossier_core::CoreError) -> VerifyError {
    VerifyError::Malformed {
        what: "round proof".into(),
        reason: e.to_string(),
    }
}
