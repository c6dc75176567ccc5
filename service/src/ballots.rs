//! Anonymous peer rating over HTTP. The HR office opens a ballot (its token; the latest
//! checkpoint becomes the roll) and closes it at its closing time (the tally goes on the
//! ledger). A rating needs **no token**: it is a zero-knowledge presentation made on the
//! rater's own machine, and the service learns only that some colleague of the unit rated an
//! appraisee with a choice. It checks the proof against the ballot (the request is derived from
//! the ballot, the appraisee and the choice) and archives it with its nullifier, unique per
//! ballot and appraisee inside the store's transaction. Anyone reads a ballot, its archive and
//! its tally.
//!
//! A rater who fetched a membership path for the one credential about to be used would tell
//! the service who is rating: wallets replay the roll's registry from the public ledger entries
//! (`GET /v1/ledger/entries` up to the roll's size), which every colleague downloads alike.

use crate::extract::{Body, IssuerToken, Params, PathArgs};
use crate::public::Page;
use crate::{blocking, now, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::ballot::{Ballot, BallotDraft, Choices, Rating};
use dossier_core::presentation::Backend;
use dossier_store::ballot::{BallotRecord, BallotStatus, Closed};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A ballot to open.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    /// Its name: 1 to 64 of `A-Z a-z 0-9 . _ : -`.
    pub name: String,
    /// The unit whose members rate (their employment credential's `department`).
    pub unit: String,
    /// Who is rated: 1 to 256 distinct labels.
    pub appraisees: Vec<String>,
    /// `{"kind": "grades"}` or `{"kind": "score", "min": 60, "max": 100}`.
    #[schema(value_type = Object)]
    pub choices: Choices,
    /// When it opens, unix seconds (default: now).
    #[serde(default)]
    pub opens: Option<u64>,
    /// When it closes, unix seconds.
    pub closes: u64,
    /// The ratings' proof system (default `groth16`).
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub backend: Option<Backend>,
}

/// A ballot as anyone sees it.
#[derive(Serialize, ToSchema)]
pub struct BallotView {
    /// The published definition (its SHA-256 is on the ledger).
    #[schema(value_type = Object)]
    pub ballot: Ballot,
    /// `pending`, `open`, `closing` (past its closing time, not yet tallied) or `closed`.
    #[schema(value_type = String)]
    pub status: BallotStatus,
    /// The `BallotOpened` entry.
    pub opened_entry: u64,
    /// Ratings accepted so far.
    pub ratings: u32,
    /// Once closed: the tally, its ledger entry and the archive's hash.
    #[schema(value_type = Option<Object>)]
    pub closed: Option<Closed>,
}

impl BallotView {
    fn of(record: BallotRecord) -> BallotView {
        BallotView {
            status: record.status(now()),
            ballot: record.ballot,
            opened_entry: record.opened_entry,
            ratings: record.ratings,
            closed: record.closed,
        }
    }
}

/// Every ballot.
#[derive(Serialize, ToSchema)]
pub struct BallotList {
    /// By id.
    pub ballots: Vec<BallotView>,
}

/// A rating accepted.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    /// Its place in the ballot's public archive.
    pub sequence: u32,
}

/// Opens a ballot of anonymous peer rating; its roll is the latest checkpoint.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/ballots", tag = "issuers",
    params(("issuer" = String, Path, description = "The HR office's name")),
    request_body = OpenBody, security(("bearer" = [])),
    responses((status = 201, description = "Opened (on the ledger)", body = BallotView),
              (status = 400, description = "An invalid ballot, or no checkpoint to be the roll", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody),
              (status = 409, description = "A ballot of that name exists", body = crate::error::ErrorBody)))]
pub async fn open(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<OpenBody>,
) -> Result<(StatusCode, Json<BallotView>), ServiceError> {
    blocking(move || {
        state.store.issuer(&issuer)?;
        let roll = state.store.latest_checkpoint()?.ok_or_else(|| {
            ServiceError::bad(
                "no_checkpoint",
                "roll",
                "publish a checkpoint to be the roll",
            )
        })?;
        // Ratings are checked under the service's trust (its witness policy included): a roll
        // it would not trust would refuse every rating.
        state.trust.open(roll.as_bytes()).map_err(|_| {
            ServiceError::bad(
                "unwitnessed_roll",
                "roll",
                "the latest checkpoint lacks the witness cosignatures this service demands: open the ballot once it is cosigned",
            )
        })?;
        let ballot = BallotDraft {
            name: body.name,
            issuer: issuer.clone(),
            unit: body.unit,
            appraisees: body.appraisees,
            choices: body.choices,
            opens: body.opens.unwrap_or_else(now),
            closes: body.closes,
            backend: body.backend.unwrap_or_default(),
        }
        .with_roll(roll);
        let key = state.home.issuer_key(&issuer, None)?;
        state.store.open_ballot(&key, &ballot, now())?;
        Ok((
            StatusCode::CREATED,
            Json(BallotView::of(state.store.ballot(&ballot.name)?)),
        ))
    })
    .await
}

/// Closes a ballot at or after its closing time: the tally goes on the ledger with the hash of
/// the archive of ratings.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/ballots/{name}/close", tag = "issuers",
    params(("issuer" = String, Path, description = "The HR office's name"),
           ("name" = String, Path, description = "The ballot's name")),
    security(("bearer" = [])),
    responses((status = 200, description = "Tallied", body = BallotView),
              (status = 400, description = "Malformed path", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer or ballot", body = crate::error::ErrorBody),
              (status = 409, description = "Still open, or already tallied", body = crate::error::ErrorBody)))]
pub async fn close(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs((issuer, name)): PathArgs<(String, String)>,
) -> Result<Json<BallotView>, ServiceError> {
    blocking(move || {
        state.store.issuer(&issuer)?;
        let record = state.store.ballot(&name)?;
        if record.ballot.issuer != issuer {
            return Err(dossier_store::StoreError::UnknownBallot.into());
        }
        let key = state.home.issuer_key(&issuer, None)?;
        state.store.close_ballot(&key, &name, now())?;
        Ok(Json(BallotView::of(state.store.ballot(&name)?)))
    })
    .await
}

/// Every ballot, with its status and (once closed) its tally.
#[utoipa::path(get, path = "/v1/ballots", tag = "public",
    responses((status = 200, description = "Ballots", body = BallotList)))]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<BallotList>, ServiceError> {
    blocking(move || {
        let ballots = state
            .store
            .ballots()?
            .into_iter()
            .map(BallotView::of)
            .collect();
        Ok(Json(BallotList { ballots }))
    })
    .await
}

/// A ballot: its definition, status and (once closed) its tally.
#[utoipa::path(get, path = "/v1/ballots/{name}", tag = "public",
    params(("name" = String, Path, description = "The ballot's name")),
    responses((status = 200, description = "The ballot", body = BallotView)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    PathArgs(name): PathArgs<String>,
) -> Result<Json<BallotView>, ServiceError> {
    blocking(move || Ok(Json(BallotView::of(state.store.ballot(&name)?)))).await
}

/// A page of a ballot's public archive.
#[derive(Serialize, ToSchema)]
pub struct ArchivePage {
    /// The ballot's definition.
    #[schema(value_type = Object)]
    pub ballot: Ballot,
    /// Ratings accepted in all.
    pub total: u32,
    /// The sequence number of this page's first rating.
    pub start: u64,
    /// The ratings from `start`, in acceptance order.
    #[schema(value_type = Vec<Object>)]
    pub ratings: Vec<Rating>,
}

/// A ballot's public archive, a page at a time: its definition and its accepted ratings in
/// order (`dossier ballot archive --service` assembles the pages into the file that
/// `dossier ballot verify` re-verifies against the ledger's tally).
#[utoipa::path(get, path = "/v1/ballots/{name}/ratings", tag = "public",
    params(("name" = String, Path, description = "The ballot's name"), Page),
    responses((status = 200, description = "A page of the archive", body = ArchivePage)))]
pub async fn archive(
    State(state): State<Arc<AppState>>,
    PathArgs(name): PathArgs<String>,
    Params(page): Params<Page>,
) -> Result<Json<ArchivePage>, ServiceError> {
    // Bounded by the service's page: a whole archive (up to 100,000 ratings of a few KB each)
    // is never built in one answer.
    let limit = page.limit.unwrap_or(100).min(state.limits.page);
    blocking(move || {
        let record = state.store.ballot(&name)?;
        Ok(Json(ArchivePage {
            ratings: state.store.ratings_page(&name, page.start, limit)?,
            ballot: record.ballot,
            total: record.ratings,
            start: page.start,
        }))
    })
    .await
}

/// Rates an appraisee, anonymously: no token; the presentation proves a live employment
/// credential of the ballot's unit on its roll, bound to the appraisee and the choice, and its
/// nullifier rates each appraisee once.
#[utoipa::path(post, path = "/v1/ballots/{name}/ratings", tag = "public",
    params(("name" = String, Path, description = "The ballot's name")),
    request_body(content = Object, description = "A rating: format, ballot, appraisee, choice, presentation"),
    responses((status = 201, description = "Accepted and archived", body = Accepted),
              (status = 400, description = "Malformed rating (an unknown appraisee or choice, another ballot's name)", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown ballot", body = crate::error::ErrorBody),
              (status = 409, description = "Already rated by this colleague, or the ballot is not open", body = crate::error::ErrorBody),
              (status = 422, description = "Refused: the proof does not show the right to rate with this choice", body = crate::error::ErrorBody)))]
pub async fn rate(
    State(state): State<Arc<AppState>>,
    PathArgs(name): PathArgs<String>,
    Body(rating): Body<Rating>,
) -> Result<(StatusCode, Json<Accepted>), ServiceError> {
    blocking(move || {
        let record = state.store.ballot(&name)?;
        if rating.ballot != name {
            return Err(ServiceError::bad(
                "bad_input",
                "ballot",
                "the rating names another ballot",
            ));
        }
        // Closed or not yet open: refused before any proof is checked.
        record.accepting(now())?;
        let none = dossier_verifier::VerifierKeys::none();
        let keys = if record.ballot.backend == Backend::Halo2 {
            dossier_verifier::halo2::prepare(record.ballot.query().shape()?)?;
            &none
        } else {
            &state.keys
        };
        let checked = dossier_verifier::ballot::verify_rating(
            &record.ballot,
            &rating,
            keys,
            &state.trust,
            &state.schemas,
        )?;
        let sequence = state
            .store
            .cast_rating(&rating, &checked.nullifier, now())?;
        Ok((StatusCode::CREATED, Json(Accepted { sequence })))
    })
    .await
}
