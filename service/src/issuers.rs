//! An issuer's office over HTTP: register the issuer, issue (one or a batch), update and
//! revoke credentials in its own registry, and publish checkpoints. Every write answers only
//! once its transaction is on disk; the service keeps each opening (in the same transaction) so
//! that its holder can fetch it.

use crate::extract::{Body, CredentialId, IssuerToken, PathArgs};
use crate::jobs::{self, Job};
use crate::tables::{self, JOBS};
use crate::{blocking, now, today, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::credential::{Claim, CredentialOpening, EncodedClaim};
use dossier_core::encoding::date_to_days;
use dossier_core::field;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use utoipa::ToSchema;

/// Only the issuer's own token may write its registry.
/// A new issuer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssuer {
    /// Its name: 1-100 of a-z, 0-9, '.', '_' and '-'.
    pub name: String,
}

/// A registered issuer.
#[derive(Serialize, ToSchema)]
pub struct IssuerView {
    /// Its name.
    pub name: String,
    /// Its id.
    pub issuer_id: String,
    /// Its Ed25519 public key, hex (the service holds the private key in its home).
    pub public_key: String,
}

/// Registers an issuer (its key is made and kept by the service).
#[utoipa::path(post, path = "/v1/issuers", tag = "issuers", request_body = NewIssuer,
    security(("bearer" = [])),
    responses((status = 201, description = "Registered", body = IssuerView),
              (status = 400, description = "Bad name", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 409, description = "Already registered", body = crate::error::ErrorBody)))]
pub async fn create_issuer(
    State(state): State<Arc<AppState>>,
    caller: IssuerToken,
    Body(body): Body<NewIssuer>,
) -> Result<(StatusCode, Json<IssuerView>), ServiceError> {
    caller.may_act_for(&body.name)?;
    blocking(move || {
        if state.store.issuer(&body.name).is_ok() {
            return Err(dossier_store::StoreError::IssuerExists { name: body.name }.into());
        }
        // A key left by an interrupted registration is reused, not replaced.
        let key = match state.home.issuer_key(&body.name, None) {
            Ok(k) => k,
            Err(_) => state.home.new_issuer_key(&body.name)?,
        };
        let info = state.store.register_issuer(&key, now())?;
        Ok((
            StatusCode::CREATED,
            Json(IssuerView {
                name: info.name.clone(),
                issuer_id: field::to_hex(&info.issuer_id),
                public_key: hex::encode(info.public_key),
            }),
        ))
    })
    .await
}

/// Claims to issue.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// One or more claims (schema, holder commitment, optional expiry, fields).
    #[schema(value_type = Vec<Object>)]
    pub claims: Vec<Claim>,
    /// The issue date, `YYYY-MM-DD` (default: today).
    #[serde(default)]
    pub issued_at: Option<String>,
}

/// One issued credential, as the ledger knows it.
#[derive(Serialize, ToSchema)]
pub struct Issued {
    /// Its id in the registry.
    pub credential_id: u32,
    /// Its commitment.
    pub commitment: String,
    /// The holder commitment it is bound to.
    pub holder: String,
}

/// The credentials issued.
#[derive(Serialize, ToSchema)]
pub struct IssuedList {
    /// In the order of the claims.
    pub issued: Vec<Issued>,
}

pub(crate) fn day(issued_at: &Option<String>) -> Result<u32, ServiceError> {
    let day = match issued_at {
        None => today(),
        Some(d) => date_to_days(d).map_err(|reason| {
            ServiceError::bad("invalid_value", "issued_at", format!("issued_at: {reason}"))
        })?,
    };
    dossier_core::credential::check_issued_at(day, today())?;
    Ok(day)
}

pub(crate) fn encode_all(
    state: &AppState,
    claims: &[Claim],
) -> Result<Vec<EncodedClaim>, ServiceError> {
    claims
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.encode(&state.schemas).map_err(|e| {
                let (_, code, message, field) = ServiceError::from(e).parts();
                ServiceError::BadRequest {
                    code,
                    message: format!("claim {i}: {message}"),
                    field,
                }
            })
        })
        .collect()
}

/// Issues credentials: all or none, durable before the answer.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/credentials", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name")),
    request_body = IssueBody, security(("bearer" = [])),
    responses((status = 201, description = "Issued", body = IssuedList),
              (status = 400, description = "A claim is invalid (the error names it and its field)", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token, or not accredited for a claim's schema", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody),
              (status = 409, description = "A claim's schema needs its committee's approvals (propose it), or the registry is full", body = crate::error::ErrorBody)))]
pub async fn issue(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<IssueBody>,
) -> Result<(StatusCode, Json<IssuedList>), ServiceError> {
    if body.claims.is_empty() || body.claims.len() > state.limits.batch {
        return Err(ServiceError::bad(
            "bad_batch",
            "claims",
            format!("give 1 to {} claims", state.limits.batch),
        ));
    }
    let issued_at = day(&body.issued_at)?;
    let claims = encode_all(&state, &body.claims)?;
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        let key = state.home.issuer_key(&issuer, None)?;
        let credentials =
            state
                .store
                .issue_with(&key, &claims, issued_at, now(), |txn, credentials| {
                    let openings: Vec<CredentialOpening> = claims
                        .iter()
                        .zip(credentials)
                        .map(|(claim, c)| CredentialOpening::new(claim, &issuer, c))
                        .collect();
                    tables::keep_openings(txn, info.registry, &openings)
                })?;
        state.metrics.issued.fetch_add(
            credentials.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
        state.poke_rules();
        Ok((
            StatusCode::CREATED,
            Json(IssuedList {
                issued: credentials
                    .iter()
                    .map(|c| Issued {
                        credential_id: c.credential_id,
                        commitment: field::to_hex(&c.commitment()),
                        holder: field::to_hex(&c.holder),
                    })
                    .collect(),
            }),
        ))
    })
    .await
}

/// A new version of a credential.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// The new claim.
    #[schema(value_type = Object)]
    pub claim: Claim,
    /// The issue date of the new version, `YYYY-MM-DD` (default: today).
    #[serde(default)]
    pub issued_at: Option<String>,
}

/// Replaces a live credential by a new version under the same id.
#[utoipa::path(put, path = "/v1/issuers/{issuer}/credentials/{id}", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = u32, Path, description = "The credential's id")),
    request_body = UpdateBody, security(("bearer" = [])),
    responses((status = 200, description = "Updated", body = Issued),
              (status = 400, description = "Invalid claim, or one of another schema than the credential's", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token, or not accredited for the claim's schema", body = crate::error::ErrorBody),
              (status = 404, description = "No live credential with that id", body = crate::error::ErrorBody),
              (status = 409, description = "The schema's credentials go through its committee", body = crate::error::ErrorBody)))]
pub async fn update(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs((issuer, id)): PathArgs<(String, CredentialId)>,
    Body(body): Body<UpdateBody>,
) -> Result<Json<Issued>, ServiceError> {
    let issued_at = day(&body.issued_at)?;
    let claim = encode_all(&state, std::slice::from_ref(&body.claim))?
        .pop()
        .ok_or_else(|| ServiceError::Internal("no claim".into()))?;
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        let key = state.home.issuer_key(&issuer, None)?;
        let c = state
            .store
            .update_with(&key, id.0, &claim, issued_at, now(), |txn, c| {
                tables::keep_schema(txn, info.registry, id.0, &claim.schema)?;
                tables::keep_openings(
                    txn,
                    info.registry,
                    &[CredentialOpening::new(&claim, &issuer, c)],
                )
            })?;
        state.poke_rules();
        Ok(Json(Issued {
            credential_id: c.credential_id,
            commitment: field::to_hex(&c.commitment()),
            holder: field::to_hex(&c.holder),
        }))
    })
    .await
}

/// A holder's move to a new commitment (their secret lost).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotationBody {
    /// The holder commitment retired (hex field element).
    #[serde(with = "field::serde_hex")]
    #[schema(value_type = String)]
    pub from: dossier_core::Fr,
    /// The holder's new commitment.
    #[serde(with = "field::serde_hex")]
    #[schema(value_type = String)]
    pub to: dossier_core::Fr,
    /// The holder's new halo2 commitment, for credentials provable with halo2.
    #[serde(default, with = "dossier_core::pasta::serde_hex_opt")]
    #[schema(value_type = Option<String>)]
    pub to_halo2: Option<dossier_core::pasta::Fp>,
}

/// The credentials a rotation re-bound.
#[derive(Serialize, ToSchema)]
pub struct Rotated {
    /// The ids re-bound, each now holding the new holder's version.
    pub rotated: Vec<u32>,
}

/// Re-binds every live credential this issuer gave a holder to the holder's new commitment, in
/// one transaction that replaces the old versions (one `update` entry each): the step an
/// issuer's office takes, after its own identity check, for a servant who lost their secret.
/// The holder's new token then fetches them; the old secret stops proving once a checkpoint
/// anchors the new versions.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/holders/rotate", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name")),
    request_body = RotationBody, security(("bearer" = [])),
    responses((status = 200, description = "Re-bound", body = Rotated),
              (status = 400, description = "A malformed commitment, or the same holder twice", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "The issuer holds no live credential of that holder", body = crate::error::ErrorBody)))]
pub async fn rotate_holder(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<RotationBody>,
) -> Result<Json<Rotated>, ServiceError> {
    if body.from == body.to {
        return Err(ServiceError::bad(
            "bad_input",
            "to",
            "the new holder commitment is the old one",
        ));
    }
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        let current: Vec<CredentialOpening> = tables::openings_of(&state.store, &body.from)?
            .into_iter()
            .filter(|o| o.issuer == issuer)
            .collect();
        if current.is_empty() {
            return Err(ServiceError::NotFound(
                "this issuer holds no live credential of that holder".into(),
            ));
        }
        let replacements = current
            .iter()
            .map(|o| {
                dossier_store::Replacement::rebinding(o, &state.schemas, body.to, body.to_halo2)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let key = state.home.issuer_key(&issuer, None)?;
        let credentials =
            state
                .store
                .update_many_with(&key, &replacements, now(), |txn, credentials| {
                    let openings: Vec<CredentialOpening> = replacements
                        .iter()
                        .zip(credentials)
                        .map(|(r, c)| CredentialOpening::new(&r.claim, &issuer, c))
                        .collect();
                    tables::keep_openings(txn, info.registry, &openings)
                })?;
        state.poke_rules();
        Ok(Json(Rotated {
            rotated: credentials.iter().map(|c| c.credential_id).collect(),
        }))
    })
    .await
}

/// Revokes a live credential: its leaf is emptied and the service forgets its opening.
#[utoipa::path(delete, path = "/v1/issuers/{issuer}/credentials/{id}", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = u32, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "Revoked", body = Object),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "No live credential with that id", body = crate::error::ErrorBody)))]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs((issuer, id)): PathArgs<(String, CredentialId)>,
) -> Result<Json<serde_json::Value>, ServiceError> {
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        let key = state.home.issuer_key(&issuer, None)?;
        state.store.revoke_with(&key, id.0, now(), |txn| {
            tables::forget_opening(txn, info.registry, id.0)
        })?;
        Ok(Json(serde_json::json!({"revoked": id.0})))
    })
    .await
}

/// Publishes a checkpoint: 202 with a job to follow at `/v1/jobs/{id}`.
#[utoipa::path(post, path = "/v1/checkpoints", tag = "issuers", security(("bearer" = [])),
    responses((status = 202, description = "Accepted", body = Job),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not an issuer's token", body = crate::error::ErrorBody)))]
pub async fn publish_checkpoint(
    State(state): State<Arc<AppState>>,
    caller: IssuerToken,
) -> Result<(StatusCode, Json<Job>), ServiceError> {
    let owner = caller.token;
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(ServiceError::Unavailable("shutting down".into()));
    }
    let job = Job::new("checkpoint", &owner, &state.replica);
    let (s, j) = (state.clone(), job.clone());
    blocking(move || tables::put(&s.store, JOBS, &j.id, &j)).await?;
    let id = job.id.clone();
    tokio::task::spawn_blocking(move || jobs::checkpoint(state, id));
    Ok((StatusCode::ACCEPTED, Json(job)))
}
