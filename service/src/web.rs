//! The pages a person opens in a browser: `/verify`, where a recruiter checks a presentation in
//! their own browser (snarkjs for the Groth16 equation, WebCrypto for the checkpoint's Ed25519
//! signature, the witness cosignatures a witness policy asks for, and the key and proof
//! hashes), and `/ledger`, a read-only view of checkpoints and
//! entries for regulators that checks signatures and consistency proofs in the browser too.
//! English and Chinese. `/hr` lists an HR office's tasks (its token typed into the page) and
//! approves or declines them.
//!
//! The pages and their script are part of this binary. snarkjs is not: it is GPL-3.0, so the
//! operator points `dossier serve --snarkjs` at its browser build (`snarkjs.min.js`, from npm) and
//! the service serves that file as it is; without it the page says that in-browser proof checking
//! is unavailable and shows only the service's own verdict.
//!
//! The JSON the page needs beyond the public API is one conversion: `POST /v1/snarkjs` turns a
//! presentation into snarkjs's `verification_key.json`, `proof.json` and `public.json`. The page
//! does not trust it: it re-compresses the returned key and proof and checks them against the
//! presentation's own proof bytes and pinned key hash.

use crate::error::ServiceError;
use crate::extract::Body;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dossier_core::presentation::Presentation;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::ToSchema;

const VERIFY_HTML: &str = include_str!("../web/verify.html");
const LEDGER_HTML: &str = include_str!("../web/ledger.html");
const DOSSIER_JS: &str = include_str!("../web/dossier.js");
const DOSSIER_CSS: &str = include_str!("../web/dossier.css");
const HR_HTML: &str = include_str!("../web/hr.html");
const HR_JS: &str = include_str!("../web/hr.js");
const WALLET_HTML: &str = include_str!("../web/wallet.html");
const WALLET_JS: &str = include_str!("../web/wallet.js");
/// dossier's verifier compiled to WebAssembly (`wasm/build.sh`; committed, and checked by
/// `.ci/run` to be what the sources build).
const DOSSIER_WASM: &[u8] = include_bytes!("../web/dossier.wasm");
const DOSSIER_WASM_JS: &str = include_str!("../web/dossier-wasm.mjs");
const WORKER_JS: &str = include_str!("../web/worker.mjs");
const THREAD_JS: &str = include_str!("../web/thread.mjs");

/// Pages may load scripts from this service only, and connect back to it only.
const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
connect-src 'self'; img-src 'self' data: blob:; worker-src 'self' blob:; base-uri 'none'; form-action 'none'";

/// Cross-origin isolation: the pages share the module's memory with the Web Workers that are
/// its threads (a `SharedArrayBuffer`), which a browser allows only to an isolated page. Every
/// page and asset says so; nothing is loaded from another origin.
const ISOLATED: [(header::HeaderName, &str); 3] = [
    (
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        header::HeaderName::from_static("cross-origin-embedder-policy"),
        "require-corp",
    ),
    (
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
];

fn page(html: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        ISOLATED,
        html,
    )
        .into_response()
}

/// The verification page.
pub async fn verify_page() -> Response {
    page(VERIFY_HTML)
}

/// The ledger page.
pub async fn ledger_page() -> Response {
    page(LEDGER_HTML)
}

/// The holder's wallet page: the secret and credentials stay in the browser.
pub async fn wallet_page() -> Response {
    page(WALLET_HTML)
}

/// The wallet page's script.
pub async fn wallet_script() -> Response {
    asset("text/javascript; charset=utf-8", WALLET_JS)
}

/// The HR office's task page (its token, typed in, authorises its calls).
pub async fn hr_page() -> Response {
    page(HR_HTML)
}

/// The task page's script.
pub async fn hr_script() -> Response {
    asset("text/javascript; charset=utf-8", HR_JS)
}

fn asset(content_type: &'static str, body: impl IntoResponse) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        ISOLATED,
        body,
    )
        .into_response()
}

/// The pages' script.
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", DOSSIER_JS)
}

/// dossier's JSON-LD context, the document every exported credential and presentation names
/// (at the URL the deployment configures with `--context-url`).
#[utoipa::path(get, path = "/contexts/v1", tag = "public",
    responses((status = 200, description = "The JSON-LD context", content_type = "application/ld+json", body = Object)))]
pub async fn context() -> Response {
    let mut r = asset(
        "application/ld+json",
        dossier_core::envelope::CONTEXT_DOCUMENT,
    );
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::HeaderValue::from_static("*"),
    );
    // Any site's documents may name it.
    r.headers_mut().insert(
        header::HeaderName::from_static("cross-origin-resource-policy"),
        header::HeaderValue::from_static("cross-origin"),
    );
    r
}

/// The WebAssembly module the pages verify (and prove) with.
pub async fn module() -> Response {
    asset("application/wasm", DOSSIER_WASM)
}

/// The few lines of JavaScript that call the module.
pub async fn module_loader() -> Response {
    asset("text/javascript; charset=utf-8", DOSSIER_WASM_JS)
}

/// The Web Worker the pages run the module in, off the page's own thread.
pub async fn worker() -> Response {
    asset("text/javascript; charset=utf-8", WORKER_JS)
}

/// The Web Worker each further thread of the module runs in.
pub async fn thread() -> Response {
    asset("text/javascript; charset=utf-8", THREAD_JS)
}

/// The pages' stylesheet.
pub async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", DOSSIER_CSS)
}

/// snarkjs's browser build, from the file the operator named.
pub async fn snarkjs(State(state): State<Arc<AppState>>) -> Result<Response, ServiceError> {
    let path = state.snarkjs_js.as_ref().ok_or_else(|| {
        ServiceError::NotFound(
            "snarkjs is not configured on this service (dossier serve --snarkjs)".into(),
        )
    })?;
    let path = path.clone();
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            ServiceError::NotFound("snarkjs is configured but its file cannot be read".into())
        })?;
    Ok(asset("text/javascript; charset=utf-8", bytes))
}

/// A presentation to express in snarkjs's formats.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnarkjsBody {
    /// The presentation (dossier's format, or a W3C Verifiable Presentation carrying one).
    #[schema(value_type = Object)]
    #[serde(deserialize_with = "dossier_core::envelope::deserialize_presentation")]
    pub presentation: Presentation,
}

/// A presentation's verifying key, proof and public inputs in snarkjs's JSON formats.
#[utoipa::path(post, path = "/v1/snarkjs", tag = "public", request_body = SnarkjsBody,
    responses((status = 200, description = "verification_key, proof and public as snarkjs reads them", body = Object),
              (status = 400, description = "Malformed presentation", body = crate::error::ErrorBody),
              (status = 404, description = "No pinned key for that shape and hash", body = crate::error::ErrorBody),
              (status = 422, description = "The proof's bytes are not a proof (points off the curve or outside the subgroup)", body = crate::error::ErrorBody)))]
pub async fn to_snarkjs(
    State(state): State<Arc<AppState>>,
    Body(body): Body<SnarkjsBody>,
) -> Result<Json<Value>, ServiceError> {
    use dossier_verifier::snarkjs;
    let p = body.presentation;
    let key = state
        .keys
        .for_presentation(&p)
        .map_err(|e| ServiceError::NotFound(e.to_string()))?;
    let proof = dossier_verifier::decode_proof(&p.proof)?;
    let inputs = p.inputs()?;
    Ok(Json(json!({
        "vk_sha256": key.vk_sha256,
        "verification_key": snarkjs::verifying_key(&key.pvk.vk),
        "proof": snarkjs::proof(&proof),
        "public": snarkjs::public(&inputs),
    })))
}
