//! Ratings of a ballot of anonymous peer rating, checked as any presentation is: the request
//! is derived from the ballot, the appraisee and the choice ([`Ballot::request`]), so a rating
//! whose choice was changed answers another request; the checkpoint must be the ballot's roll;
//! and within a ballot a nullifier rates each appraisee once. [`verify_ratings`] re-checks a
//! whole archive (pairings batched per shape) and recomputes the tally that the ledger's
//! `BallotTallied` entry must state.

use crate::batch::{verify_presentations, BatchItem};
use crate::{verify, Checked, Trust, VerifierKeys, VerifyError};
use dossier_core::ballot::{Ballot, Rating, Tally, RATING_FORMAT};
use dossier_core::checkpoint::CheckpointBody;
use dossier_core::presentation::PresentationRequest;
use dossier_core::schema::SchemaSet;
use std::collections::HashSet;

fn malformed(what: &str, reason: impl ToString) -> VerifyError {
    VerifyError::Malformed {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// The ballot's roll, opened under the verifier's trust (once per ballot, not per rating).
fn open_roll(ballot: &Ballot, trust: &Trust) -> Result<CheckpointBody, VerifyError> {
    trust
        .open(ballot.roll.as_bytes())
        .map_err(|e| VerifyError::Checkpoint(format!("the ballot's roll: {e}")))
}

/// The rating's own fields and the request they imply; its checkpoint must be the roll.
fn rating_request(
    ballot: &Ballot,
    roll: &CheckpointBody,
    rating: &Rating,
    trust: &Trust,
) -> Result<PresentationRequest, VerifyError> {
    if rating.format != RATING_FORMAT {
        return Err(malformed("rating", "unknown format"));
    }
    if rating.ballot != ballot.name {
        return Err(VerifyError::RequestMismatch("ballot"));
    }
    let request = ballot
        .request(&rating.appraisee, &rating.choice)
        .map_err(|e| malformed("rating", e))?;
    let used = trust
        .open(rating.presentation.checkpoint.as_bytes())
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))?;
    if used.size != roll.size || used.root_hash != roll.root_hash {
        return Err(VerifyError::Checkpoint(
            "not the ballot's roll: a rating is proven against the checkpoint the ballot names"
                .into(),
        ));
    }
    Ok(request)
}

/// Verifies one rating against its ballot (the nullifier's uniqueness is the archive's
/// business: [`verify_ratings`], or the store when it accepts the rating). Verification takes
/// place at the roll's time: a ballot fixes its checkpoint, so freshness does not apply.
pub fn verify_rating(
    ballot: &Ballot,
    rating: &Rating,
    keys: &VerifierKeys,
    trust: &Trust,
    schemas: &SchemaSet,
) -> Result<Checked, VerifyError> {
    let roll = open_roll(ballot, trust)?;
    let request = rating_request(ballot, &roll, rating, trust)?;
    verify(
        &request,
        &rating.presentation,
        keys,
        trust,
        schemas,
        roll.time,
    )
}

/// A rating of an archive that does not verify: its position and why.
#[derive(Debug, thiserror::Error)]
#[error("rating {index}: {error}")]
pub struct RatingError {
    /// Its position in the archive.
    pub index: usize,
    /// Why it is refused.
    pub error: VerifyError,
}

/// Re-verifies a ballot's whole archive and recomputes its tally: every rating must verify
/// (proofs batched per shape) and no nullifier may rate one appraisee twice. The first rating
/// refused is reported.
pub fn verify_ratings(
    ballot: &Ballot,
    ratings: &[Rating],
    keys: &VerifierKeys,
    trust: &Trust,
    schemas: &SchemaSet,
) -> Result<Tally, RatingError> {
    let roll = open_roll(ballot, trust).map_err(|error| RatingError { index: 0, error })?;
    let mut requests = Vec::with_capacity(ratings.len());
    for (index, r) in ratings.iter().enumerate() {
        requests.push(
            rating_request(ballot, &roll, r, trust)
                .map_err(|error| RatingError { index, error })?,
        );
    }
    let items: Vec<BatchItem<'_>> = requests
        .iter()
        .zip(ratings)
        .map(|(request, r)| BatchItem {
            request,
            presentation: &r.presentation,
            now: roll.time,
        })
        .collect();
    let mut seen = HashSet::with_capacity(ratings.len());
    for (index, (checked, r)) in verify_presentations(&items, keys, trust, schemas)
        .into_iter()
        .zip(ratings)
        .enumerate()
    {
        let checked = checked.map_err(|error| RatingError { index, error })?;
        if !seen.insert((r.appraisee.as_str(), checked.nullifier)) {
            return Err(RatingError {
                index,
                error: VerifyError::Replayed,
            });
        }
    }
    Tally::count(ballot, ratings).map_err(|e| RatingError {
        index: 0,
        error: malformed("ballot", e),
    })
}
