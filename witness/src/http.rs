//! The witness's HTTP interface (c2sp.org/tlog-witness `add-checkpoint`).

use crate::{Witness, WitnessError, MAX_BODY};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::sync::Arc;

/// The router: `POST /add-checkpoint`, bodies above [`MAX_BODY`] refused (413).
pub fn router(witness: Arc<Witness>) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(MAX_BODY))
        .with_state(witness)
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: Bytes) -> Response {
    let now = dossier_core::clock::now();
    let result = tokio::task::spawn_blocking(move || witness.add_checkpoint(&body, now)).await;
    match result {
        Ok(Ok(line)) => {
            (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], line).into_response()
        }
        Ok(Err(e)) => refusal(&e),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "witness task failed\n").into_response(),
    }
}

fn refusal(e: &WitnessError) -> Response {
    let status = match e {
        WitnessError::Malformed(_) => StatusCode::BAD_REQUEST,
        WitnessError::UnknownOrigin => StatusCode::NOT_FOUND,
        WitnessError::Forbidden => StatusCode::FORBIDDEN,
        WitnessError::Conflict { held } => {
            return (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{held}\n"),
            )
                .into_response()
        }
        WitnessError::BadProof => StatusCode::UNPROCESSABLE_ENTITY,
        _ => {
            tracing::error!(error = %e, "add-checkpoint failed");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    };
    (
        status,
        [(header::CONTENT_TYPE, "text/plain")],
        format!("{e}\n"),
    )
        .into_response()
}
