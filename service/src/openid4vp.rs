//! OpenID for Verifiable Presentations 1.0 for the service's verifiers: a request made with
//! `"openid4vp": true` is addressed to the service's client id (the `did:key` of its
//! request-signing key, `decentralized_identifier:` prefix) and can be handed to any OpenID4VP
//! wallet as an authorization request URL, by reference or by value.
//!
//! - `GET /openid4vp/requests/{id}`: the signed request object (`application/oauth-authz-req+jwt`);
//!   `POST` with a form `wallet_nonce` (and `wallet_metadata`, read and ignored): the same,
//!   carrying the wallet's nonce (`request_uri_method=post`).
//! - `POST /openid4vp/responses`: the wallet's `direct_post` answer (`vp_token`, `state`), or its
//!   error (`error=access_denied`). The answer is checked exactly as a presentation submitted
//!   by the verifier ([`crate::verifiers::submit`]): the same request comparison (challenge,
//!   audience, scope, day, issuers), proof, anchor and nullifier; a verified answer and its
//!   nullifier commit in one transaction and close the transaction. A refused or declined answer
//!   is noted and leaves it open (anyone who saw the QR code knows the `state`, so a stranger's
//!   garbage must not close it).
//! - `GET /v1/requests/{id}/openid4vp` (the request's verifier): `pending`, `verified` with the
//!   verdict, `refused` with the reason's code, or `declined` with the wallet's error code.
//!
//! See `docs/openid4vp.md`.

use crate::extract::{FormBody, PathArgs, VerifierToken};
use crate::public::check;
use crate::tables::{self, REQUESTS};
use crate::verifiers::StoredRequest;
use crate::{now, AppState, ServiceError};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dossier_core::openid4vp::{self, Transaction};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::ToSchema;

/// Where a wallet is sent for a request, and where its verifier reads the answer.
#[derive(Serialize, ToSchema)]
pub struct Links {
    /// The service's client id (`decentralized_identifier:did:key:…`).
    pub client_id: String,
    /// The request object's URL (GET, or POST with a `wallet_nonce`).
    pub request_uri: String,
    /// The authorization request by reference, for a link or a QR code:
    /// `openid4vp://?client_id=…&request_uri=…&request_uri_method=post`.
    pub authorization_request: String,
    /// The authorization request by value: `openid4vp://?client_id=…&request=<signed object>`.
    pub authorization_request_by_value: String,
    /// Where the verifier reads the answer (with its token).
    pub answer: String,
}

fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

fn response_uri(base: &str) -> String {
    format!("{base}/openid4vp/responses")
}

/// The signed request object for a stored request, carrying the wallet's nonce if it sent one.
fn signed_object(
    state: &AppState,
    id: &str,
    stored: &StoredRequest,
    wallet_nonce: Option<&str>,
) -> Result<String, ServiceError> {
    let base = state.public_url()?;
    let claims = openid4vp::request_object(
        &stored.request,
        &state.schemas,
        &state.openid4vp_key,
        &Transaction {
            response_uri: &response_uri(base),
            state: id,
            issued_at: now(),
            expires_at: stored.expires_at,
            wallet_nonce,
        },
    )?;
    Ok(openid4vp::sign_request_object(
        &claims,
        &state.openid4vp_key,
    ))
}

/// The links of a request made for OpenID4VP.
pub fn links(state: &AppState, id: &str, stored: &StoredRequest) -> Result<Links, ServiceError> {
    let base = state.public_url()?;
    let client_id = state.client_id();
    let request_uri = format!("{base}/openid4vp/requests/{id}");
    let object = signed_object(state, id, stored, None)?;
    Ok(Links {
        authorization_request: format!(
            "openid4vp://?{}",
            query_string(&[
                ("client_id", &client_id),
                ("request_uri", &request_uri),
                ("request_uri_method", "post"),
            ])
        ),
        authorization_request_by_value: format!(
            "openid4vp://?{}",
            query_string(&[("client_id", &client_id), ("request", &object)])
        ),
        answer: format!("{base}/v1/requests/{id}/openid4vp"),
        client_id,
        request_uri,
    })
}

/// A stored request that travels by OpenID4VP and is still open.
fn open_request(state: &AppState, id: &str) -> Result<StoredRequest, ServiceError> {
    let unknown = || ServiceError::NotFound("no such OpenID4VP request".into());
    if !openid4vp::valid_token(id) {
        return Err(unknown());
    }
    let stored: StoredRequest = tables::get(&state.store, REQUESTS, id)?.ok_or_else(unknown)?;
    if stored.request.audience.as_deref() != Some(state.client_id().as_str()) {
        return Err(unknown());
    }
    if stored.expires_at <= now() {
        return Err(ServiceError::Gone(
            "the presentation request expired".into(),
        ));
    }
    Ok(stored)
}

fn jwt(object: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, openid4vp::REQUEST_OBJECT_MEDIA_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        object,
    )
        .into_response()
}

/// The signed request object (request URI, GET).
#[utoipa::path(get, path = "/openid4vp/requests/{id}", tag = "openid4vp",
    params(("id" = String, Path, description = "The request's id (the transaction's state)")),
    responses((status = 200, description = "The signed request object", content_type = "application/oauth-authz-req+jwt", body = String),
              (status = 404, description = "Unknown, or not an OpenID4VP request", body = crate::error::ErrorBody),
              (status = 410, description = "The request expired", body = crate::error::ErrorBody)))]
pub async fn request_object(
    State(state): State<Arc<AppState>>,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let stored = open_request(&state, &id)?;
    Ok(jwt(signed_object(&state, &id, &stored, None)?))
}

/// What a wallet may POST to the request URI. Its `wallet_metadata`, like any other
/// parameter, is ignored: this verifier asks one format only.
#[derive(Deserialize, ToSchema)]
pub struct RequestUriPost {
    /// A fresh value the signed object must carry (1 to 128 URL-safe characters).
    #[serde(default)]
    pub wallet_nonce: Option<String>,
}

/// The signed request object, carrying the wallet's nonce (request URI, POST).
#[utoipa::path(post, path = "/openid4vp/requests/{id}", tag = "openid4vp",
    params(("id" = String, Path, description = "The request's id (the transaction's state)")),
    request_body(content = RequestUriPost, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "The signed request object", content_type = "application/oauth-authz-req+jwt", body = String),
              (status = 400, description = "A malformed wallet_nonce", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown, or not an OpenID4VP request", body = crate::error::ErrorBody),
              (status = 410, description = "The request expired", body = crate::error::ErrorBody),
              (status = 415, description = "Not a form", body = crate::error::ErrorBody)))]
pub async fn request_object_post(
    State(state): State<Arc<AppState>>,
    PathArgs(id): PathArgs<String>,
    FormBody(body): FormBody<RequestUriPost>,
) -> Result<Response, ServiceError> {
    if body
        .wallet_nonce
        .as_deref()
        .is_some_and(|n| !openid4vp::valid_token(n))
    {
        return Err(ServiceError::bad(
            "bad_wallet_nonce",
            "wallet_nonce",
            "wallet_nonce must be 1 to 128 URL-safe characters",
        ));
    }
    let stored = open_request(&state, &id)?;
    Ok(jwt(signed_object(
        &state,
        &id,
        &stored,
        body.wallet_nonce.as_deref(),
    )?))
}

/// A wallet's `direct_post` answer.
#[derive(Deserialize, ToSchema)]
pub struct AuthorizationResponse {
    /// The transaction's id, from the request object.
    #[serde(default)]
    pub state: Option<String>,
    /// The VP token (JSON): each credential query's id mapped to the one presentation.
    #[serde(default)]
    pub vp_token: Option<String>,
    /// Instead of a VP token: the wallet's error code (e.g. `access_denied`); its
    /// `error_description` is not kept.
    #[serde(default)]
    pub error: Option<String>,
}

fn valid_error_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Notes a refused or declined answer (the transaction stays open).
async fn note(state: &Arc<AppState>, id: &str, outcome: Value) -> Result<(), ServiceError> {
    let (s, id) = (state.clone(), id.to_string());
    tokio::task::spawn_blocking(move || tables::note_openid4vp(&s.store, &id, &outcome))
        .await
        .map_err(|e| ServiceError::Internal(format!("worker: {e}")))?
}

/// Notes a refusal by its code and returns the error the wallet gets.
async fn refused(state: &Arc<AppState>, id: &str, e: ServiceError) -> ServiceError {
    let (_, code, _, _) = e.parts();
    let outcome = json!({"status": "refused", "error": code, "at": now()});
    match note(state, id, outcome).await {
        Ok(()) => e,
        Err(noting) => noting,
    }
}

/// Receives a wallet's answer (`direct_post`).
#[utoipa::path(post, path = "/openid4vp/responses", tag = "openid4vp",
    request_body(content = AuthorizationResponse, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Received and verified, or the wallet's error noted", body = Object),
              (status = 400, description = "No state, or a malformed VP token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown state", body = crate::error::ErrorBody),
              (status = 409, description = "Already answered, or the nullifier was used in this scope", body = crate::error::ErrorBody),
              (status = 410, description = "The request expired", body = crate::error::ErrorBody),
              (status = 415, description = "Not a form", body = crate::error::ErrorBody),
              (status = 422, description = "The presentation does not prove the request", body = crate::error::ErrorBody)))]
pub async fn response(
    State(state): State<Arc<AppState>>,
    FormBody(body): FormBody<AuthorizationResponse>,
) -> Result<Response, ServiceError> {
    let id = body
        .state
        .ok_or_else(|| ServiceError::bad("missing_state", "state", "state is missing"))?;
    let stored = open_request(&state, &id)?;
    let answered = || ([(header::CACHE_CONTROL, "no-store")], Json(json!({}))).into_response();
    if let Some(code) = body.error {
        if !valid_error_code(&code) {
            return Err(ServiceError::bad(
                "bad_error",
                "error",
                "error must be an OAuth error code (a-z and _)",
            ));
        }
        note(
            &state,
            &id,
            json!({"status": "declined", "error": code, "at": now()}),
        )
        .await?;
        return Ok(answered());
    }
    let token = body.vp_token.ok_or_else(|| {
        ServiceError::bad("missing_vp_token", "vp_token", "neither vp_token nor error")
    })?;
    let presentation = match parse_token(&state, &token, &stored) {
        Ok(p) => p,
        Err(e) => return Err(refused(&state, &id, e).await),
    };
    let checked = match check(&state, stored.request.clone(), presentation.clone()).await {
        Ok(c) => c,
        Err(e) => return Err(refused(&state, &id, e).await),
    };
    let verdict = serde_json::to_value(&checked.verdict)
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
    let record = stored
        .archive
        .then(|| stored.archive_record(&id, &presentation, &checked.verdict.proven));
    let outcome = json!({"status": "verified", "verdict": verdict, "at": now()});
    let (s, i) = (state.clone(), id.clone());
    let recorded = tokio::task::spawn_blocking(move || {
        tables::record_openid4vp_verification(
            &s.store,
            &tables::Verified {
                scope: &stored.request.scope,
                backend: checked.backend,
                nullifier: &checked.nullifier,
                request_id: &i,
                archive: record.as_ref(),
            },
            &outcome,
        )
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("worker: {e}")))?;
    match recorded {
        Ok(_) => Ok(answered()),
        Err(
            e @ ServiceError::Conflict {
                code: "answered", ..
            },
        ) => Err(e),
        Err(e) => Err(refused(&state, &id, e).await),
    }
}

fn parse_token(
    state: &AppState,
    token: &str,
    stored: &StoredRequest,
) -> Result<dossier_core::presentation::Presentation, ServiceError> {
    if crate::extract::json_depth(token.as_bytes()) > state.limits.json_depth {
        return Err(ServiceError::bad(
            "too_deep",
            "vp_token",
            format!("JSON nested deeper than {} levels", state.limits.json_depth),
        ));
    }
    let value: Value = serde_json::from_str(token)
        .map_err(|_| ServiceError::bad("malformed_vp_token", "vp_token", "not JSON"))?;
    openid4vp::presentation_from_vp_token(&value, &stored.request)
        .map_err(|e| ServiceError::bad("malformed_vp_token", "vp_token", e.to_string()))
}

/// What a wallet's answer came to (the request's verifier only).
#[utoipa::path(get, path = "/v1/requests/{id}/openid4vp", tag = "verifiers",
    params(("id" = String, Path, description = "The request's id")),
    security(("bearer" = [])),
    responses((status = 200, description = "pending, verified (with the verdict), refused or declined", body = Object),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this request's verifier", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown, or not an OpenID4VP request", body = crate::error::ErrorBody)))]
pub async fn answer(
    State(state): State<Arc<AppState>>,
    VerifierToken(verifier): VerifierToken,
    PathArgs(id): PathArgs<String>,
) -> Result<Response, ServiceError> {
    let stored: StoredRequest = tables::get(&state.store, REQUESTS, &id)?
        .filter(|s: &StoredRequest| {
            s.request.audience.as_deref() == Some(state.client_id().as_str())
        })
        .ok_or_else(|| ServiceError::NotFound("no such OpenID4VP request".into()))?;
    if stored.verifier != verifier {
        return Err(ServiceError::Forbidden(
            "this request was made by another verifier".into(),
        ));
    }
    let outcome: Value = tables::get(&state.store, tables::OPENID4VP, &id)?
        .unwrap_or_else(|| json!({"status": "pending"}));
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(outcome)).into_response())
}
