//! A civil servant over HTTP: their own credentials (the openings the issuer left with the
//! service) and membership witnesses, and proofs made by the service on request.
//!
//! Proving here shows the holder's secret and credentials to the service (it builds the
//! witness): the secret is kept in memory for the job only, never written or logged. Holders
//! who do not want that prove locally with `dossier prove`.

use crate::extract::{Body, Caller, HolderToken, PathArgs};
use crate::jobs::{Job, ProveTask};
use crate::tables::{self, JOBS, REQUESTS};
use crate::verifiers::StoredRequest;
use crate::{now, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::checkpoint;
use dossier_core::credential::CredentialOpening;
use dossier_core::holder::HolderSecret;
use dossier_core::presentation::PresentationRequest;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use utoipa::ToSchema;

/// A holder's credentials.
#[derive(Serialize, ToSchema)]
pub struct CredentialList {
    /// The openings of every live credential bound to the token's holder commitment.
    #[schema(value_type = Vec<Object>)]
    pub credentials: Vec<CredentialOpening>,
}

/// The caller's own credentials (openings: values, salt, ids), to keep in a wallet.
#[utoipa::path(get, path = "/v1/holder/credentials", tag = "holders", security(("bearer" = [])),
    responses((status = 200, description = "The holder's credentials", body = CredentialList),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a holder's token", body = crate::error::ErrorBody)))]
pub async fn credentials(
    State(state): State<Arc<AppState>>,
    caller: HolderToken,
) -> Result<Json<CredentialList>, ServiceError> {
    let holder = caller.holder;
    Ok(Json(CredentialList {
        credentials: tables::openings_of(&state.store, &holder)?,
    }))
}

/// A membership witness and whether the latest checkpoint anchors it.
#[derive(Serialize, ToSchema)]
pub struct WitnessView {
    /// The path: leaf, 32 siblings (leaf level first), root.
    #[schema(value_type = Object)]
    pub path: dossier_store::registry::MembershipPath,
    /// Whether the latest checkpoint lists this root for the issuer.
    pub anchored: bool,
    /// That checkpoint's log size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_size: Option<u64>,
}

/// One of the caller's credentials as a W3C Verifiable Credential, signed by its issuer with a
/// Data Integrity proof (eddsa-jcs-2022). It holds the opening: the holder's private copy.
#[utoipa::path(get, path = "/v1/holder/credentials/{issuer}/{id}/vc", tag = "holders",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = u32, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The verifiable credential", content_type = "application/vc+ld+json", body = Object),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a holder's token", body = crate::error::ErrorBody),
              (status = 404, description = "Not one of the caller's credentials", body = crate::error::ErrorBody)))]
pub async fn credential_vc(
    State(state): State<Arc<AppState>>,
    caller: HolderToken,
    PathArgs((issuer, id)): PathArgs<(String, u32)>,
) -> Result<axum::response::Response, ServiceError> {
    use axum::response::IntoResponse as _;
    let opening = own_opening(&state, &caller.holder, &issuer, id)?;
    let key = state.home.issuer_key(&issuer, None)?;
    let vc = dossier_core::envelope::credential_to_vc(&opening, &state.context_url, &key)?;
    let mut r = Json(vc).into_response();
    r.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/vc+ld+json"),
    );
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(r)
}

/// The caller's live credential of that issuer and id.
fn own_opening(
    state: &AppState,
    holder: &dossier_core::Fr,
    issuer: &str,
    id: u32,
) -> Result<dossier_core::credential::CredentialOpening, ServiceError> {
    tables::openings_of(&state.store, holder)?
        .into_iter()
        .find(|o| o.issuer == issuer && o.credential_id == id)
        .ok_or_else(|| {
            ServiceError::NotFound("you hold no live credential with that issuer and id".into())
        })
}

/// The membership witness of one of the caller's credentials.
#[utoipa::path(get, path = "/v1/holder/credentials/{issuer}/{id}/witness", tag = "holders",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = u32, Path, description = "The credential's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The witness", body = WitnessView),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a holder's token", body = crate::error::ErrorBody),
              (status = 404, description = "Not one of the caller's credentials", body = crate::error::ErrorBody)))]
pub async fn witness(
    State(state): State<Arc<AppState>>,
    caller: HolderToken,
    PathArgs((issuer, id)): PathArgs<(String, u32)>,
) -> Result<Json<WitnessView>, ServiceError> {
    let opening = own_opening(&state, &caller.holder, &issuer, id)?;
    let path = state.store.witness(&issuer, id)?;
    let (anchored, checkpoint_size) = match state.store.latest_checkpoint()? {
        Some(note) => {
            let cp = checkpoint::open(note.as_bytes(), &state.log_verifier_key)?;
            let ok = cp
                .registry(&opening.issuer_id)
                .is_some_and(|r| r.root == path.root);
            (ok, Some(cp.size))
        }
        None => (false, None),
    };
    Ok(Json(WitnessView {
        path,
        anchored,
        checkpoint_size,
    }))
}

/// The membership paths of all the caller's credentials, and the checkpoint they are read
/// against.
#[derive(Serialize, ToSchema)]
pub struct PathsView {
    /// The latest checkpoint (signed note), if the ledger has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// One per live credential of the caller.
    #[schema(value_type = Vec<Object>)]
    pub paths: Vec<serde_json::Value>,
}

/// The membership paths of every live credential of the caller, fetched at once: a wallet
/// refreshes all its paths together, so fetching them does not single out the credential it is
/// about to present.
#[utoipa::path(get, path = "/v1/holder/paths", tag = "holders", security(("bearer" = [])),
    responses((status = 200, description = "The paths and the latest checkpoint", body = PathsView),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a holder's token", body = crate::error::ErrorBody)))]
pub async fn paths(
    State(state): State<Arc<AppState>>,
    caller: HolderToken,
) -> Result<Json<PathsView>, ServiceError> {
    let checkpoint = state.store.latest_checkpoint()?;
    let mut paths = Vec::new();
    for o in tables::openings_of(&state.store, &caller.holder)? {
        let path = state.store.witness(&o.issuer, o.credential_id)?;
        paths.push(serde_json::json!({
            "issuer": o.issuer, "credential_id": o.credential_id, "path": path,
        }));
    }
    Ok(Json(PathsView { checkpoint, paths }))
}

/// What to prove.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProveBody {
    /// A presentation request made on this service (by id)...
    #[serde(default)]
    pub request_id: Option<String>,
    /// ...or one given in full.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub request: Option<PresentationRequest>,
    /// The holder's secret (`0x` + 64 hex digits): shown to the service for this proof only.
    pub secret: String,
}

/// Asks the service to prove: 202 with a job to follow at `/v1/jobs/{id}`; 429 with
/// Retry-After when the proving queue is full.
#[utoipa::path(post, path = "/v1/holder/proofs", tag = "holders", request_body = ProveBody,
    security(("bearer" = [])),
    responses((status = 202, description = "Queued", body = Job),
              (status = 400, description = "Malformed", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this holder's secret", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown request", body = crate::error::ErrorBody),
              (status = 410, description = "The request expired", body = crate::error::ErrorBody),
              (status = 429, description = "Queue full", body = crate::error::ErrorBody),
              (status = 503, description = "Shutting down", body = crate::error::ErrorBody)))]
pub async fn prove(
    State(state): State<Arc<AppState>>,
    caller: HolderToken,
    Body(body): Body<ProveBody>,
) -> Result<(StatusCode, Json<Job>), ServiceError> {
    let (holder, owner) = (caller.holder, caller.token);
    let secret = HolderSecret::parse(&body.secret).map_err(|_| {
        ServiceError::bad(
            "invalid_value",
            "secret",
            "the secret is not a canonical non-zero field element",
        )
    })?;
    if secret.commitment() != holder {
        return Err(ServiceError::Forbidden(
            "the secret does not open this token's holder commitment".into(),
        ));
    }
    let request = match (body.request_id, body.request) {
        (Some(id), None) => {
            let r: StoredRequest = tables::get(&state.store, REQUESTS, &id)?
                .ok_or_else(|| ServiceError::NotFound("no such presentation request".into()))?;
            if r.expires_at <= now() {
                return Err(ServiceError::Gone(
                    "the presentation request expired".into(),
                ));
            }
            r.request
        }
        (None, Some(r)) => r,
        _ => {
            return Err(ServiceError::bad(
                "bad_input",
                "request",
                "give exactly one of request_id and request",
            ))
        }
    };
    // Refuse what cannot be proven before it takes a place in the queue.
    let shape = request.query.shape()?;
    request.query.encode(&state.schemas, shape)?;
    request.today_days()?;
    request.scope_field()?;
    let queue = state
        .prove_queue()
        .ok_or_else(|| ServiceError::Unavailable("shutting down".into()))?;
    let permit = queue.try_reserve().map_err(|e| match e {
        tokio::sync::mpsc::error::TrySendError::Full(_) => {
            state
                .metrics
                .proofs_rejected
                .fetch_add(1, Ordering::Relaxed);
            ServiceError::TooMany {
                message: "the proving queue is full; try again later".into(),
                retry_after: (state.limits.proving_queue as u64).max(1),
            }
        }
        tokio::sync::mpsc::error::TrySendError::Closed(_) => {
            ServiceError::Unavailable("shutting down".into())
        }
    })?;
    let job = Job::new("prove", &owner, &state.replica);
    // The job is durable before it is acknowledged.
    let (s, j) = (state.clone(), job.clone());
    tokio::task::spawn_blocking(move || tables::put(&s.store, JOBS, &j.id, &j))
        .await
        .map_err(|e| ServiceError::Internal(format!("worker: {e}")))??;
    state.metrics.proofs_queued.fetch_add(1, Ordering::Relaxed);
    permit.send(ProveTask {
        id: job.id.clone(),
        holder,
        secret,
        request,
    });
    Ok((StatusCode::ACCEPTED, Json(job)))
}

/// A job's status and, once done, its result (a presentation, or a checkpoint). Only the
/// token that submitted it may read it.
#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "holders",
    params(("id" = String, Path, description = "The job's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "The job", body = Job),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 404, description = "No such job of this caller", body = crate::error::ErrorBody)))]
pub async fn job(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    PathArgs(id): PathArgs<String>,
) -> Result<Json<Job>, ServiceError> {
    let who = caller.0.ok_or(ServiceError::Unauthorized)?;
    match tables::get::<Job>(&state.store, JOBS, &id)? {
        Some(job) if job.owner == who.name => Ok(Json(job)),
        _ => Err(ServiceError::NotFound("no such job".into())),
    }
}
