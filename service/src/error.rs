//! The service's one error type, and the one JSON error shape every endpoint answers with:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`. Messages name the field or
//! the resource at fault, never a credential's values or a secret; store and I/O failures are
//! logged with their detail and answered with a generic message.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use dossier_core::CoreError;
use dossier_store::StoreError;
use dossier_verifier::VerifyError;
use serde::Serialize;
use utoipa::ToSchema;

/// Everything the service can fail with, at start-up or answering a request.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is unusable (malformed, failing a schema, out of range).
    #[error("{message}")]
    BadRequest {
        /// A stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
        /// The field at fault, when one is.
        field: Option<String>,
    },
    /// No bearer token, or one the service does not know.
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist (or is not the caller's to see).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state (an existing issuer, a replayed nullifier).
    #[error("{message}")]
    Conflict {
        /// A stable code.
        code: &'static str,
        /// What conflicts.
        message: String,
    },
    /// The presentation request expired.
    #[error("{0}")]
    Gone(String),
    /// The presentation was read and refused.
    #[error("presentation refused: {0}")]
    Refused(VerifyError),
    /// The body is larger than the service accepts.
    #[error("the body exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// Too many requests from this client, or the proving queue is full.
    #[error("{message}")]
    TooMany {
        /// What is saturated.
        message: String,
        /// When to try again, seconds.
        retry_after: u64,
    },
    /// A body that is not `application/json`.
    #[error("the body must be application/json")]
    UnsupportedMediaType,
    /// The method is not one this endpoint answers.
    #[error("this endpoint does not answer that method")]
    MethodNotAllowed,
    /// The service is shutting down or not ready.
    #[error("{0}")]
    Unavailable(String),
    /// The service's configuration is unusable (at start-up).
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value could not be encoded or checked.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// Something failed inside the service (logged; the caller gets a generic message).
    #[error("internal: {0}")]
    Internal(String),
}

impl From<dossier_prover::ProverError> for ServiceError {
    fn from(e: dossier_prover::ProverError) -> Self {
        if e.is_unprovable() {
            ServiceError::bad("unprovable", "request", e.to_string())
        } else {
            ServiceError::Internal(format!("proving: {e}"))
        }
    }
}

impl From<VerifyError> for ServiceError {
    fn from(e: VerifyError) -> Self {
        match e {
            e if e.is_unusable() => ServiceError::BadRequest {
                code: "malformed_presentation",
                message: e.to_string(),
                field: Some("presentation".into()),
            },
            VerifyError::Replayed => ServiceError::Conflict {
                code: "replayed",
                message: e.to_string(),
            },
            VerifyError::ScopeBackend { .. } => ServiceError::Conflict {
                code: "scope_backend",
                message: e.to_string(),
            },
            e => ServiceError::Refused(e),
        }
    }
}

impl ServiceError {
    /// A 400 with a code, a message and the field at fault.
    pub fn bad(code: &'static str, field: &str, message: impl Into<String>) -> ServiceError {
        ServiceError::BadRequest {
            code,
            message: message.into(),
            field: Some(field.to_string()),
        }
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// One error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code (`bad_input`, `forbidden`, `replayed`, ...).
    pub code: String,
    /// What went wrong, in words; never a secret or a credential value.
    pub message: String,
    /// The request field at fault, when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ServiceError {
    /// Status, code, message and field of this error.
    pub fn parts(&self) -> (StatusCode, &'static str, String, Option<String>) {
        use ServiceError as E;
        let internal = |what: &str| {
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                format!("the service failed ({what}); the request may be retried"),
                None,
            )
        };
        match self {
            E::BadRequest {
                code,
                message,
                field,
            } => (
                StatusCode::BAD_REQUEST,
                code,
                message.clone(),
                field.clone(),
            ),
            E::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                self.to_string(),
                None,
            ),
            E::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m.clone(), None),
            E::NotFound(m) => (StatusCode::NOT_FOUND, "not_found", m.clone(), None),
            E::Conflict { code, message } => (StatusCode::CONFLICT, code, message.clone(), None),
            E::Gone(m) => (StatusCode::GONE, "expired", m.clone(), None),
            E::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                self.to_string(),
                Some("content-type".into()),
            ),
            E::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                self.to_string(),
                None,
            ),
            E::Refused(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "presentation_refused",
                e.to_string(),
                None,
            ),
            E::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                self.to_string(),
                None,
            ),
            E::TooMany { message, .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                message.clone(),
                None,
            ),
            E::Unavailable(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                m.clone(),
                None,
            ),
            E::Config(_) | E::Internal(_) => internal("internal error"),
            E::Core(e) => {
                let field = match e {
                    CoreError::Value { field, .. }
                    | CoreError::MissingField { field, .. }
                    | CoreError::UnknownField { field, .. } => Some(field.clone()),
                    _ => None,
                };
                (
                    StatusCode::BAD_REQUEST,
                    "invalid_value",
                    e.to_string(),
                    field,
                )
            }
            E::Store(e) => match e {
                // Names and ids come from the request's path or body: not echoed.
                StoreError::UnknownIssuer { .. } => (
                    StatusCode::NOT_FOUND,
                    "unknown_issuer",
                    "no such issuer".into(),
                    None,
                ),
                StoreError::CredentialNotFound { .. } => (
                    StatusCode::NOT_FOUND,
                    "credential_not_found",
                    "no live credential with that id".into(),
                    None,
                ),
                StoreError::IssuerExists { .. } => (
                    StatusCode::CONFLICT,
                    "issuer_exists",
                    "that issuer is already registered".into(),
                    None,
                ),
                StoreError::RegistryFull { .. } => (
                    StatusCode::CONFLICT,
                    "registry_full",
                    "the issuer's registry is full".into(),
                    None,
                ),
                StoreError::NotAccredited { .. } => (
                    StatusCode::FORBIDDEN,
                    "not_accredited",
                    "the issuer is not accredited for that schema".into(),
                    None,
                ),
                StoreError::CommitteeRequired { .. } => (
                    StatusCode::CONFLICT,
                    "committee_required",
                    "credentials of that schema need its committee's approvals: propose them"
                        .into(),
                    None,
                ),
                StoreError::UnknownProposal { .. } => (
                    StatusCode::NOT_FOUND,
                    "unknown_proposal",
                    "no pending proposal with that id".into(),
                    None,
                ),
                StoreError::NotAMember { .. } => (
                    StatusCode::FORBIDDEN,
                    "not_a_member",
                    "this member is not on the proposal's committee".into(),
                    None,
                ),
                StoreError::AlreadyApproved { .. } => (
                    StatusCode::CONFLICT,
                    "already_approved",
                    "this member already approved the proposal".into(),
                    None,
                ),
                StoreError::ThresholdNotMet { .. } => (
                    StatusCode::CONFLICT,
                    "threshold_not_met",
                    "the proposal lacks approvals".into(),
                    None,
                ),
                StoreError::UnknownRound => (
                    StatusCode::NOT_FOUND,
                    "unknown_round",
                    "no such declared round".into(),
                    None,
                ),
                StoreError::RoundRefused { reason } => {
                    (StatusCode::CONFLICT, "round_refused", reason.clone(), None)
                }
                StoreError::UnknownBallot => (
                    StatusCode::NOT_FOUND,
                    "unknown_ballot",
                    "no such ballot".into(),
                    None,
                ),
                StoreError::BallotExists => (
                    StatusCode::CONFLICT,
                    "ballot_exists",
                    "a ballot of that name exists".into(),
                    None,
                ),
                StoreError::BallotNotOpen { .. } => {
                    (StatusCode::CONFLICT, "ballot_not_open", e.to_string(), None)
                }
                StoreError::AlreadyRated => {
                    (StatusCode::CONFLICT, "already_rated", e.to_string(), None)
                }
                StoreError::Refused { reason } => {
                    (StatusCode::BAD_REQUEST, "bad_input", reason.clone(), None)
                }
                StoreError::Core(c) => ServiceError::Core(clone_core(c)).parts(),
                _ => internal("store"),
            },
        }
    }
}

fn clone_core(e: &CoreError) -> CoreError {
    match e {
        CoreError::Value { field, reason } => CoreError::Value {
            field: field.clone(),
            reason: reason.clone(),
        },
        other => CoreError::Malformed {
            what: "value".into(),
            reason: other.to_string(),
        },
    }
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        let (status, code, message, field) = self.parts();
        if status.is_server_error() {
            // The detail goes to the log (it names files and database errors, never secrets).
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                field,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ServiceError::TooMany { retry_after, .. } = self {
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        response
    }
}
