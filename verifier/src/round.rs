//! Appraisal round proofs, checked as the regulator checks them: the checkpoint opens under
//! the verifier's trust and anchors the HR office's registry root; the round is the one the
//! office declared (its `RoundDeclared` entry is in the checkpoint's log); the windows are exactly the
//! round's, in order, chained from the known starting accumulator; the quota's bound and the
//! training rule's floor are computed here (never read from the proof); a distribution or a
//! training count is accepted only for a round of at least the minimum group size; and every
//! window's Groth16 proof verifies against the pinned key of the window circuit.

use crate::{decode_proof, verify_proof, Trust, VerifierKeys, VerifyError};
use dossier_core::checkpoint::CheckpointBody;
use dossier_core::entry::Entry;
use dossier_core::log_proof;
use dossier_core::round::{Quota, Round, RoundProof, Training, GRADES};
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
    /// The training rule that holds, if one was proven.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training: Option<Training>,
    /// The fewest appraisals the training rule asks to have met its hours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub training_floor: Option<u32>,
    /// How many met them, if disclosed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trained: Option<u32>,
    /// The anchoring checkpoint's size.
    pub checkpoint_size: u64,
    /// The windows proven.
    pub windows: usize,
    /// Whether the round circuit's keys come from the insecure development setup.
    pub insecure_setup: bool,
}

/// Verifies a round proof: the checkpoint under `trust`, every window's proof against the
/// round's public inputs, then the round's declaration in the checkpoint's log.
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
    check_declared(proof, &checkpoint)?;
    Ok(RoundVerdict {
        round: proof.round.clone(),
        quota: proof.quota,
        bound: proof.bound(),
        distribution: proof.distribution,
        training: proof.training,
        training_floor: proof.training_floor(),
        trained: proof.trained,
        checkpoint_size: checkpoint.size,
        windows: proof.windows.len(),
        insecure_setup: *insecure,
    })
}

/// The proof's round is the one declared: the declaration is a `RoundDeclared` entry of these
/// exact fields, included in the checkpoint's log.
fn check_declared(proof: &RoundProof, checkpoint: &CheckpointBody) -> Result<(), VerifyError> {
    let d = &proof.declaration;
    let (bytes, inclusion) = d.decode().map_err(malformed)?;
    if d.index >= checkpoint.size {
        return Err(VerifyError::RoundNotDeclared(
            "the declaration is not in the checkpoint's log",
        ));
    }
    log_proof::verify_inclusion(
        &inclusion,
        checkpoint.size,
        checkpoint.root_hash,
        d.index,
        log_proof::leaf_hash(&bytes),
    )
    .map_err(|_| {
        VerifyError::RoundNotDeclared("the declaration's inclusion proof does not verify")
    })?;
    let entry = Entry::from_bytes(&bytes).map_err(malformed)?;
    if entry.body != proof.round.declared_entry().map_err(malformed)? {
        return Err(VerifyError::RoundNotDeclared(
            "the declared entry is not this round's declaration",
        ));
    }
    Ok(())
}

fn malformed(e: dossier_core::CoreError) -> VerifyError {
    VerifyError::Malformed {
        what: "round proof".into(),
        reason: e.to_string(),
    }
}
