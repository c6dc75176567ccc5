//! Recruitment screening: an application to a campaign is verified on arrival against the
//! campaign's published request, and the regulator's audit re-verifies the archive with the
//! same function at the time each application was received; so the shortlist the recruiting
//! office recorded and the one the audit computes can only differ if someone cheated.

use crate::{verify, Trust, VerifierKeys, VerifyError};
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::schema::SchemaSet;

/// Screens one application at time `now`: the candidate's nullifier in the campaign's scope (the
/// key of the one application each candidate has) when the presentation answers the campaign's
/// request and verifies, or why it does not.
pub fn screen(
    request: &PresentationRequest,
    presentation: &Presentation,
    keys: &VerifierKeys,
    trust: &Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<[u8; 32], VerifyError> {
    let checked = verify(request, presentation, keys, trust, schemas, now)?;
    let hexed = checked.nullifier.trim_start_matches("0x");
    let mut nullifier = [0u8; 32];
    hex::decode_to_slice(hexed, &mut nullifier).map_err(|_| VerifyError::Malformed {
        what: "nullifier".into(),
        reason: "not 32 bytes of hex".into(),
    })?;
    Ok(nullifier)
}

/// Whether a presentation is an application to this campaign at all: it answers the
/// campaign's request (what the service checks before archiving anything, so that a
/// presentation meant for another verifier is turned away, not archived as refused).
pub fn answers(request: &PresentationRequest, presentation: &Presentation) -> bool {
    presentation.request == *request
}
