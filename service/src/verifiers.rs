//! Recruiters and regulators over HTTP. A verifier makes a presentation request (the service
//! draws its challenge) and submits the presentation it receives: the verdict says what was
//! proven and revealed, and the holder's nullifier is recorded in the request's scope so that
//! no proof can be presented twice. With the verifier's consent (`archive: true`) the
//! verification is archived for regulators, who can re-verify the archive in batches.
//!
//! The archive keeps what re-verification needs — the request, the proof, its public inputs and
//! the checkpoint — and no opening: no names, no salts, no secret. Revealed values appear only
//! as the public inputs the holder chose to disclose (strings as hashes).

use crate::extract::{Body, Params, PathArgs, RegulatorToken, VerifierToken};
use crate::public::{check, Page};
use crate::tables::{self, REQUESTS};
use crate::{now, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::encoding::days_to_date;
use dossier_core::presentation::{Backend, Presentation, PresentationRequest};
use dossier_core::query::Query;
use dossier_verifier::BatchItem;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::ToSchema;

/// A request as the service keeps it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredRequest {
    /// The request.
    pub request: PresentationRequest,
    /// The verifier token's name that made it.
    pub verifier: String,
    /// When, unix seconds.
    pub created: u64,
    /// Presentations are accepted until then, unix seconds.
    pub expires_at: u64,
    /// Archive the verification of an OpenID4VP answer (the verifier's consent, given when it
    /// made the request).
    #[serde(default)]
    pub archive: bool,
}

impl StoredRequest {
    /// The archive's record of a verification of this request (what a regulator re-verifies:
    /// the request, the proof, its public inputs and checkpoint; no opening).
    pub fn archive_record(
        &self,
        id: &str,
        presentation: &Presentation,
        proven: &[String],
    ) -> Value {
        json!({
            "request_id": id,
            "verifier": self.verifier,
            "verified_at": now(),
            "scope": self.request.scope,
            "request": self.request,
            "presentation": presentation,
            "proven": proven,
        })
    }
}

/// What a verifier asks for.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequest {
    /// The statement (see docs/queries.md).
    #[schema(value_type = Object)]
    pub query: Query,
    /// The nullifier's scope, e.g. `recruitment:2026:tax-bureau`.
    pub scope: String,
    /// The date expiry is judged against (default: today).
    #[serde(default)]
    pub today: Option<String>,
    /// How old the anchoring checkpoint may be, seconds (default: 7 days).
    #[serde(default)]
    pub max_checkpoint_age_seconds: Option<u64>,
    /// How long presentations are accepted, seconds (default: 1 hour, at most 30 days).
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
    /// The proof system: `groth16` (default) or `halo2` (no trusted setup). A scope belongs
    /// to one backend (their nullifiers differ): a request naming another backend than the
    /// scope's first is refused.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "halo2")]
    pub backend: Option<Backend>,
    /// Why you ask, shown to the holder (1 to 500 bytes); required with the legal basis by a
    /// service started with `--require-grounds`.
    #[serde(default)]
    pub purpose: Option<String>,
    /// What allows you to ask, e.g. the article of the civil-service law (1 to 500 bytes).
    #[serde(default)]
    pub legal_basis: Option<String>,
    /// Make the request for an OpenID4VP wallet: addressed to this service's client id, with
    /// the authorization request's links in the answer (see docs/openid4vp.md).
    #[serde(default)]
    pub openid4vp: bool,
    /// With `openid4vp`: archive the answer's verification for regulators.
    #[serde(default)]
    pub archive: bool,
}

/// A request made.
#[derive(Serialize, ToSchema)]
pub struct RequestMade {
    /// Its id: give it to the holder.
    pub id: String,
    /// The request, with its fresh challenge.
    #[schema(value_type = Object)]
    pub request: PresentationRequest,
    /// Presentations are accepted until then, unix seconds.
    pub expires_at: u64,
    /// With `openid4vp`: the authorization request to hand to the wallet, and where the answer
    /// is read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openid4vp: Option<crate::openid4vp::Links>,
}

/// Makes a presentation request with a fresh random challenge.
#[utoipa::path(post, path = "/v1/requests", tag = "verifiers", request_body = NewRequest,
    security(("bearer" = [])),
    responses((status = 201, description = "Made", body = RequestMade),
              (status = 400, description = "Invalid query, scope or date", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a verifier's token", body = crate::error::ErrorBody),
              (status = 409, description = "The scope belongs to another backend", body = crate::error::ErrorBody)))]
pub async fn create_request(
    State(state): State<Arc<AppState>>,
    VerifierToken(verifier): VerifierToken,
    Body(mut body): Body<NewRequest>,
) -> Result<(StatusCode, Json<RequestMade>), ServiceError> {
    if body.query.credentials.iter().any(|c| c.accredited) {
        let s = state.clone();
        let query = body.query;
        body.query = tokio::task::spawn_blocking(move || resolve_accredited(&s, query))
            .await
            .map_err(|e| ServiceError::Internal(format!("worker: {e}")))??;
    }
    let shape = body.query.shape()?;
    body.query.encode(&state.schemas, shape)?;
    let today = body
        .today
        .clone()
        .unwrap_or_else(|| days_to_date(crate::today()));
    let max_age = body.max_checkpoint_age_seconds.unwrap_or(7 * 86_400);
    let ttl = body.expires_in_seconds.unwrap_or(3600);
    if ttl == 0 || ttl > 30 * 86_400 {
        return Err(ServiceError::bad(
            "out_of_range",
            "expires_in_seconds",
            "expires_in_seconds must be 1 to 2592000",
        ));
    }
    if body.archive && !body.openid4vp {
        return Err(ServiceError::bad(
            "archive_without_openid4vp",
            "archive",
            "archive is chosen at submission for requests answered through the verifier; here it needs openid4vp",
        ));
    }
    let mut request = PresentationRequest::new(body.query, &body.scope, &today, max_age)?
        .with_backend(body.backend.unwrap_or_default())
        .with_grounds(body.purpose, body.legal_basis)?;
    if body.openid4vp {
        request = request.with_audience(state.client_id())?;
    }
    state.check_grounds(&request)?;
    if request.backend == Backend::Groth16 && !state.keys.keys.contains_key(&shape.name()) {
        return Err(ServiceError::bad(
            "backend_unavailable",
            "backend",
            "this service has no Groth16 keys for the query's shape (its operator runs `dossier setup`); halo2 needs none",
        ));
    }
    let stored = StoredRequest {
        request: request.clone(),
        verifier,
        created: now(),
        expires_at: now() + ttl,
        archive: body.archive,
    };
    let id = crate::random_id();
    let (s, i, r) = (state.clone(), id.clone(), stored.clone());
    tokio::task::spawn_blocking(move || {
        check_issuers_known(&s, &r.request.query)?;
        tables::put_request(&s.store, &i, &r.request.scope, r.request.backend, &r)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("worker: {e}")))??;
    let openid4vp = body
        .openid4vp
        .then(|| crate::openid4vp::links(&state, &id, &stored))
        .transpose()?;
    Ok((
        StatusCode::CREATED,
        Json(RequestMade {
            id,
            request,
            expires_at: stored.expires_at,
            openid4vp,
        }),
    ))
}

/// Every accepted issuer is one this service's ledger knows (a request naming another could
/// never be met, or would be met by a registry registered later). The query was encoded, so its
/// issuers are bounded (`MAX_ISSUERS` per credential).
/// A query's "any accredited issuer", resolved into the issuers this ledger's accreditation
/// authority accredited for each schema (the request then names them, like any other).
fn resolve_accredited(state: &AppState, mut query: Query) -> Result<Query, ServiceError> {
    query.resolve_accredited(|schema| -> Result<_, ServiceError> {
        let id = state.schemas.get(schema)?.id();
        Ok(state.store.accredited_issuers(&id)?)
    })?;
    Ok(query)
}

fn check_issuers_known(state: &AppState, query: &Query) -> Result<(), ServiceError> {
    for name in query.credentials.iter().flat_map(|c| &c.issuers) {
        match state.store.issuer(name) {
            Ok(_) => {}
            Err(dossier_store::StoreError::UnknownIssuer { .. }) => {
                return Err(ServiceError::bad(
                    "unknown_issuer",
                    "query.credentials.issuers",
                    "an accepted issuer is not registered on this ledger",
                ))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// A presentation for a request.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The holder's presentation (dossier's format, or a W3C Verifiable Presentation carrying one).
    #[schema(value_type = Object)]
    #[serde(deserialize_with = "dossier_core::envelope::deserialize_presentation")]
    pub presentation: Presentation,
    /// Archive this verification for regulators (no personal data is kept).
    #[serde(default)]
    pub archive: bool,
}

/// A verdict.
#[derive(Serialize, ToSchema)]
pub struct VerdictView {
    /// What was proven and revealed, the scope, the nullifier and the anchor's freshness.
    #[schema(value_type = Object)]
    pub verdict: Value,
    /// The archive's sequence number, if archived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived_as: Option<u64>,
}

/// Checks a presentation against the verifier's request and records its nullifier: a second
/// presentation by the same holder in the same scope is refused (409).
#[utoipa::path(post, path = "/v1/requests/{id}/presentations", tag = "verifiers",
    params(("id" = String, Path, description = "The request's id")),
    request_body = Submission, security(("bearer" = [])),
    responses((status = 200, description = "Verified", body = VerdictView),
              (status = 400, description = "Malformed presentation", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this request's verifier", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown request", body = crate::error::ErrorBody),
              (status = 409, description = "Replayed (nullifier already used in this scope), or the scope belongs to another backend", body = crate::error::ErrorBody),
              (status = 410, description = "The request expired", body = crate::error::ErrorBody),
              (status = 422, description = "Refused: the presentation does not prove the statement", body = crate::error::ErrorBody)))]
pub async fn submit(
    State(state): State<Arc<AppState>>,
    VerifierToken(verifier): VerifierToken,
    PathArgs(id): PathArgs<String>,
    Body(body): Body<Submission>,
) -> Result<Json<VerdictView>, ServiceError> {
    let stored: StoredRequest = tables::get(&state.store, REQUESTS, &id)?
        .ok_or_else(|| ServiceError::NotFound("no such presentation request".into()))?;
    if stored.verifier != verifier {
        return Err(ServiceError::Forbidden(
            "this request was made by another verifier".into(),
        ));
    }
    if stored.expires_at <= now() {
        return Err(ServiceError::Gone(
            "the presentation request expired".into(),
        ));
    }
    let presentation = body.presentation;
    let checked = check(&state, stored.request.clone(), presentation.clone()).await?;
    let verdict = serde_json::to_value(&checked.verdict)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let record = body
        .archive
        .then(|| stored.archive_record(&id, &presentation, &checked.verdict.proven));
    let scope = stored.request.scope.clone();
    let s = state.clone();
    let archived_as = tokio::task::spawn_blocking(move || {
        tables::record_verification(
            &s.store,
            &tables::Verified {
                scope: &scope,
                backend: checked.backend,
                nullifier: &checked.nullifier,
                request_id: &id,
                archive: record.as_ref(),
            },
        )
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("worker: {e}")))??;
    Ok(Json(VerdictView {
        verdict,
        archived_as,
    }))
}

/// Archived verifications.
#[derive(Serialize, ToSchema)]
pub struct ArchivePage {
    /// The records from `start`.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
}

/// A page of the archive of verifications (regulators only).
#[utoipa::path(get, path = "/v1/archive", tag = "regulators", params(Page),
    security(("bearer" = [])),
    responses((status = 200, description = "Records", body = ArchivePage),
              (status = 400, description = "Bad page", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a regulator's token", body = crate::error::ErrorBody)))]
pub async fn archive(
    State(state): State<Arc<AppState>>,
    _caller: RegulatorToken,
    Params(page): Params<Page>,
) -> Result<Json<ArchivePage>, ServiceError> {
    let limit = page.limit.unwrap_or(100).min(state.limits.page);
    Ok(Json(ArchivePage {
        records: tables::archive_page(&state.store, page.start, limit)?,
    }))
}

/// Which records to re-verify.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reverify {
    /// First sequence number.
    #[serde(default)]
    pub start: u64,
    /// How many (at most the page limit).
    #[serde(default)]
    pub limit: Option<u64>,
}

/// The outcome of a re-verification.
#[derive(Serialize, ToSchema)]
pub struct ReverifyReport {
    /// Records checked.
    pub checked: usize,
    /// Records whose proofs still verify (judged at their verification time).
    pub valid: usize,
    /// The others, with why.
    #[schema(value_type = Vec<Object>)]
    pub invalid: Vec<Value>,
}

/// Re-verifies archived verifications in batches (one batched pairing check per shape), each
/// judged at the time it was first verified.
#[utoipa::path(post, path = "/v1/archive/reverify", tag = "regulators", request_body = Reverify,
    security(("bearer" = [])),
    responses((status = 200, description = "Report", body = ReverifyReport),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not a regulator's token", body = crate::error::ErrorBody)))]
pub async fn reverify(
    State(state): State<Arc<AppState>>,
    _caller: RegulatorToken,
    Body(body): Body<Reverify>,
) -> Result<Json<ReverifyReport>, ServiceError> {
    let limit = body
        .limit
        .unwrap_or(state.limits.page)
        .min(state.limits.page);
    let records = tables::archive_page(&state.store, body.start, limit)?;
    let s = state.clone();
    let report = tokio::task::spawn_blocking(move || -> Result<ReverifyReport, ServiceError> {
        let mut parsed = Vec::new();
        let mut invalid = Vec::new();
        for r in &records {
            let seq = r["seq"].clone();
            let req = serde_json::from_value::<PresentationRequest>(r["request"].clone());
            let p = serde_json::from_value::<Presentation>(r["presentation"].clone());
            match (req, p, r["verified_at"].as_u64()) {
                (Ok(req), Ok(p), Some(at)) => parsed.push((seq, req, p, at)),
                _ => invalid.push(json!({"seq": seq, "reason": "the record is malformed"})),
            }
        }
        let items: Vec<BatchItem<'_>> = parsed
            .iter()
            .map(|(_, request, presentation, at)| BatchItem {
                request,
                presentation,
                now: *at,
            })
            .collect();
        let results = dossier_verifier::verify_presentations(&items, &s.keys, &s.trust, &s.schemas);
        let mut valid = 0;
        for ((seq, ..), result) in parsed.iter().zip(results) {
            match result {
                Ok(_) => valid += 1,
                Err(e) => invalid.push(json!({"seq": seq, "reason": e.to_string()})),
            }
        }
        Ok(ReverifyReport {
            checked: records.len(),
            valid,
            invalid,
        })
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("worker: {e}")))??;
    Ok(Json(report))
}
