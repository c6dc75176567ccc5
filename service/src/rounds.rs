//! Appraisal rounds over HTTP, for HR offices and regulators. The HR office declares a round
//! (its token; the `RoundDeclared` entry goes on the ledger), proves it on its own machine
//! (`dossier round prove --service`: the grades never reach the service) and submits the
//! proof (its token), which the service checks exactly as a regulator does
//! (`dossier_verifier::round::verify_round`, under the service's trust) before keeping it.
//! Anyone, the regulator included, lists the rounds and what each proof establishes, and
//! fetches a round's proof to re-verify it on their own (`dossier round verify`).

use crate::extract::{Body, IssuerToken, PathArgs};
use crate::{blocking, now, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::round::{Quota, Round, RoundProof, Training, GRADES};
use dossier_core::{field, Fr};
use dossier_store::round::RoundRecord;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// A round to declare: the HR office's appraisals of a unit and year, ids `first ..
/// first + count`, already issued.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeclareBody {
    /// The unit's code (the appraisals' `unit`), 1 to 64 bytes.
    pub unit: String,
    /// The appraisal year.
    pub year: u32,
    /// The first credential id.
    pub first: u32,
    /// How many appraisals, 1 to 4096.
    pub count: u32,
}

/// What a round's kept proof establishes (the proof was verified before it was kept).
#[derive(Serialize, ToSchema)]
pub struct Proven {
    /// The quota that holds: at most `percent`% "excellent".
    #[schema(value_type = Object)]
    pub quota: Quota,
    /// The most "excellent" grades the quota allows this round.
    pub bound: u32,
    /// The training rule that holds, if one was proven.
    #[schema(value_type = Option<Object>)]
    pub training: Option<Training>,
    /// The fewest appraisals the training rule asks to have met its hours.
    pub training_floor: Option<u32>,
    /// The grade counts, lowest first, if disclosed.
    pub distribution: Option<[u32; GRADES]>,
    /// How many met the training hours, if disclosed.
    pub trained: Option<u32>,
    /// The window proofs.
    pub windows: usize,
}

impl Proven {
    fn of(proof: &RoundProof) -> Proven {
        Proven {
            quota: proof.quota,
            bound: proof.bound(),
            training: proof.training,
            training_floor: proof.training_floor(),
            distribution: proof.distribution,
            trained: proof.trained,
            windows: proof.windows.len(),
        }
    }
}

/// A declared round as anyone sees it.
#[derive(Serialize, ToSchema)]
pub struct RoundView {
    /// Its id, `Poseidon(issuer id, unit hash, year, first, count)` (hex).
    pub id: String,
    /// The round.
    #[schema(value_type = Object)]
    pub round: Round,
    /// Its `RoundDeclared` ledger entry.
    pub declared_entry: u64,
    /// What its latest verified proof establishes, if it has one.
    pub proven: Option<Proven>,
    /// That proof, to re-verify (`dossier round verify`); only in a single round's answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub proof: Option<RoundProof>,
}

impl RoundView {
    fn of(record: RoundRecord, with_proof: bool) -> Result<RoundView, ServiceError> {
        Ok(RoundView {
            id: field::to_hex(&record.round.id()?),
            proven: record.proof.as_ref().map(Proven::of),
            proof: record.proof.filter(|_| with_proof),
            round: record.round,
            declared_entry: record.declared_entry,
        })
    }
}

/// Every declared round.
#[derive(Serialize, ToSchema)]
pub struct RoundList {
    /// In declaration order.
    pub rounds: Vec<RoundView>,
}

/// A round's id from the path: canonical hex, or a 400 naming the field.
fn round_id(id: &str) -> Result<Fr, ServiceError> {
    field::parse("id", id).map_err(|_| {
        ServiceError::bad(
            "bad_input",
            "id",
            "a round id is a canonical field element (0x and 64 hex digits)",
        )
    })
}

/// Declares an appraisal round on the ledger.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/rounds", tag = "issuers",
    params(("issuer" = String, Path, description = "The HR office's name")),
    request_body = DeclareBody, security(("bearer" = [])),
    responses((status = 201, description = "Declared (on the ledger)", body = RoundView),
              (status = 400, description = "A malformed round", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody),
              (status = 409, description = "Refused: ids not issued yet, an overlap with another round of the office, or a unit and year declared already", body = crate::error::ErrorBody)))]
pub async fn declare(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<DeclareBody>,
) -> Result<(StatusCode, Json<RoundView>), ServiceError> {
    blocking(move || {
        state.store.issuer(&issuer)?;
        let round = Round {
            issuer: issuer.clone(),
            unit: body.unit,
            year: body.year,
            first: body.first,
            count: body.count,
        };
        let key = state.home.issuer_key(&issuer, None)?;
        state.store.declare_round(&key, &round, now())?;
        let record = state.store.round_by_id(&round.id()?)?;
        Ok((StatusCode::CREATED, Json(RoundView::of(record, false)?)))
    })
    .await
}

/// Submits a round's proof, made on the HR office's machine: checked as a regulator checks it
/// (the checkpoint under the service's trust, the round's declaration in its log, every window
/// proof), then kept as the round's latest proof.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/rounds/{id}/proofs", tag = "issuers",
    params(("issuer" = String, Path, description = "The HR office's name"),
           ("id" = String, Path, description = "The round's id (hex)")),
    request_body(content = Object, description = "A dossier-round-proof/v1 (`dossier round prove`)"),
    security(("bearer" = [])),
    responses((status = 201, description = "Verified and kept", body = RoundView),
              (status = 400, description = "A malformed proof, or one of another round", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer or round", body = crate::error::ErrorBody),
              (status = 422, description = "Refused: the proof does not show the round keeps these rules, or the round is not the one declared", body = crate::error::ErrorBody)))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs((issuer, id)): PathArgs<(String, String)>,
    Body(proof): Body<RoundProof>,
) -> Result<(StatusCode, Json<RoundView>), ServiceError> {
    blocking(move || {
        let id = round_id(&id)?;
        let declared = state.store.round_by_id(&id)?;
        if declared.round.issuer != issuer {
            return Err(dossier_store::StoreError::UnknownRound.into());
        }
        if proof.round != declared.round {
            return Err(ServiceError::bad(
                "bad_input",
                "round",
                "the proof is of another round than the one in the path",
            ));
        }
        dossier_verifier::round::verify_round(&proof, &state.keys, &state.trust, &state.schemas)?;
        state.store.record_round_proof(&proof)?;
        let record = state.store.round_by_id(&id)?;
        Ok((StatusCode::CREATED, Json(RoundView::of(record, false)?)))
    })
    .await
}

/// Every declared round, with what its latest proof establishes.
#[utoipa::path(get, path = "/v1/rounds", tag = "public",
    responses((status = 200, description = "Rounds", body = RoundList)))]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Json<RoundList>, ServiceError> {
    blocking(move || {
        let rounds = state
            .store
            .rounds()?
            .into_iter()
            .map(|r| RoundView::of(r, false))
            .collect::<Result<_, _>>()?;
        Ok(Json(RoundList { rounds }))
    })
    .await
}

/// A declared round with its latest proof, to re-verify.
#[utoipa::path(get, path = "/v1/rounds/{id}", tag = "public",
    params(("id" = String, Path, description = "The round's id (hex)")),
    responses((status = 200, description = "The round", body = RoundView),
              (status = 400, description = "Not a round id", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown round", body = crate::error::ErrorBody)))]
pub async fn get(
    State(state): State<Arc<AppState>>,
    PathArgs(id): PathArgs<String>,
) -> Result<Json<RoundView>, ServiceError> {
    blocking(move || {
        let id = round_id(&id)?;
        Ok(Json(RoundView::of(state.store.round_by_id(&id)?, true)?))
    })
    .await
}
