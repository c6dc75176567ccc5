//! What anyone may read or do: health, metrics, the ledger and its proofs, checkpoints,
//! registry roots, presentation requests (they hold no personal data) and stateless
//! verification.

use crate::extract::{Body, Caller, Params, PathArgs};
use crate::tables::{self, REQUESTS};
use crate::verifiers::StoredRequest;
use crate::{jobs, AppState, ServiceError};
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_core::checkpoint::CheckpointBody;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::field;
use dossier_core::presentation::{Presentation, PresentationRequest};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

type Answer<T> = Result<Json<T>, ServiceError>;

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "public",
    responses((status = 200, description = "The process is up", body = Object)))]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Readiness: the store answers, keys are loaded and shutdown has not begun.
#[utoipa::path(get, path = "/readyz", tag = "public",
    responses((status = 200, description = "Ready", body = Object),
              (status = 503, description = "Not ready", body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<Arc<AppState>>) -> Answer<Value> {
    if state
        .shutting_down
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(ServiceError::Unavailable("shutting down".into()));
    }
    let size = state.store.ledger_size()?;
    Ok(Json(json!({
        "ready": true,
        "ledger_size": size,
        "shapes": state.keys.keys.keys().collect::<Vec<_>>(),
        "insecure_setup": state.keys.insecure,
        "setup": state.keys.setup,
    })))
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "public",
    responses((status = 200, description = "Prometheus text exposition", body = String, content_type = "text/plain")))]
pub async fn metrics_text(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

/// The credential schemas this service issues and verifies.
#[utoipa::path(get, path = "/v1/schemas", tag = "public",
    responses((status = 200, description = "The schemas", body = Object)))]
pub async fn schemas(State(state): State<Arc<AppState>>) -> Json<Value> {
    let list: Vec<Value> = state
        .schemas
        .iter()
        .map(|s| {
            json!({"name": s.name, "version": s.version, "id": field::to_hex(&s.id()),
                "description": s.description,
                "fields": s.fields.iter().map(|f| {
                    let mut v = json!({"name": f.name, "type": f.ty.name()});
                    if let dossier_core::encoding::FieldType::Enum { members } = &f.ty {
                        v["members"] = json!(members);
                    }
                    v
                }).collect::<Vec<_>>()})
        })
        .collect();
    Json(json!({ "schemas": list }))
}

/// The Groth16 verifying keys this service verifies with, each with the SHA-256 it is pinned by
/// (its params folder's manifest): what the browser pages' verifier (`/web/dossier.wasm`) is
/// given, and checks against the pins before use.
#[utoipa::path(get, path = "/v1/keys", tag = "public",
    responses((status = 200, description = "The verifying keys (arkworks' compressed encoding, base64) and their pins", body = Object)))]
pub async fn keys(State(state): State<Arc<AppState>>) -> Json<Value> {
    // The proving keys' pins, for wallets that prove in the browser.
    let manifest = dossier_params::Manifest::load(&state.params).ok();
    let shapes: Vec<Value> = state
        .keys
        .keys
        .iter()
        .map(|(shape, key)| {
            let pk_sha256 = manifest
                .as_ref()
                .and_then(|m| m.shapes.get(shape))
                .map(|e| e.pk_sha256.clone());
            json!({"shape": shape, "vk_sha256": key.vk_sha256, "vk": STANDARD.encode(key.to_bytes()),
                "pk_sha256": pk_sha256})
        })
        .collect();
    Json(json!({
        "insecure": state.keys.insecure,
        "setup": state.keys.setup,
        "shapes": shapes,
    }))
}

/// A shape's Groth16 proving key (arkworks' uncompressed encoding), for a wallet that proves on
/// the holder's own device; its pin is the manifest's `pk_sha256`, listed with the key by
/// `/v1/keys` and checked by the wallet before use.
#[utoipa::path(get, path = "/v1/keys/{shape}/pk", tag = "public",
    params(("shape" = String, Path, description = "The shape's name, e.g. m1p4k4r2")),
    responses((status = 200, description = "The proving key", content_type = "application/octet-stream", body = Vec<u8>),
              (status = 404, description = "No such shape", body = crate::error::ErrorBody)))]
pub async fn proving_key(
    State(state): State<Arc<AppState>>,
    PathArgs(shape): PathArgs<String>,
) -> Result<axum::response::Response, ServiceError> {
    let params = state.params.clone();
    let bytes = tokio::task::spawn_blocking(move || {
        let manifest = dossier_params::Manifest::load(&params).ok()?;
        let entry = manifest.shapes.get(&shape)?;
        dossier_params::read_pinned(&params, &entry.pk_file, &entry.pk_sha256).ok()
    })
    .await
    .ok()
    .flatten()
    .ok_or_else(|| ServiceError::NotFound("no proving key for that shape".into()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

/// The ledger's identity and size.
#[derive(Serialize, ToSchema)]
pub struct LedgerInfo {
    /// The ledger's origin (its checkpoints' first line).
    pub origin: String,
    /// The signed-note verifier key checkpoints are checked against.
    pub log_key: String,
    /// Entries in the log.
    pub size: u64,
    /// RFC 6962 root hash at that size, base64.
    pub root_hash: String,
    /// The witness policy this service's verifications apply (`threshold k`, then one witness
    /// verifier key per line; empty when none): what the verify page pre-fills.
    pub witness_policy: String,
}

/// The ledger's identity, size and root hash.
#[utoipa::path(get, path = "/v1/ledger", tag = "public",
    responses((status = 200, description = "The ledger", body = LedgerInfo)))]
pub async fn ledger_info(State(state): State<Arc<AppState>>) -> Answer<LedgerInfo> {
    let size = state.store.ledger_size()?;
    Ok(Json(LedgerInfo {
        origin: state.log_key.name().to_string(),
        log_key: state.log_verifier_key.clone(),
        size,
        root_hash: STANDARD.encode(state.store.tree_hash(size)?),
        witness_policy: state.trust.witnesses.to_text(),
    }))
}

/// A page.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// First index.
    #[serde(default)]
    pub start: u64,
    /// How many (at most the service's page limit).
    pub limit: Option<u64>,
}

/// One ledger entry.
#[derive(Serialize, ToSchema)]
pub struct EntryView {
    /// Its index in the log.
    pub index: u64,
    /// `issuer_registered`, `issue`, `update`, `revoke` or `registry_roots`.
    pub kind: String,
    /// When it was written, unix seconds.
    pub time: u64,
    /// The issuer's id, for kinds other than `registry_roots`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_id: Option<String>,
    /// The credential's id in its registry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<u32>,
    /// The new commitment (issue, update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    /// The entry's bytes, base64 (the log's leaf; see docs/encoding.md).
    pub data: String,
}

/// Entries of the ledger.
#[derive(Serialize, ToSchema)]
pub struct Entries {
    /// The log's size now.
    pub size: u64,
    /// The entries from `start`.
    pub entries: Vec<EntryView>,
}

/// A page of ledger entries: no personal data is ever in them.
#[utoipa::path(get, path = "/v1/ledger/entries", tag = "public", params(Page),
    responses((status = 200, description = "Entries", body = Entries),
              (status = 400, description = "Bad page", body = crate::error::ErrorBody)))]
pub async fn entries(
    State(state): State<Arc<AppState>>,
    Params(page): Params<Page>,
) -> Answer<Entries> {
    let size = state.store.ledger_size()?;
    let limit = page.limit.unwrap_or(100).min(state.limits.page);
    let start = page.start.min(size);
    let end = start.saturating_add(limit).min(size);
    let mut out = Vec::new();
    for (i, data) in (start..).zip(state.store.entries(start, end)?) {
        let e = Entry::from_bytes(&data)?;
        let (credential_id, commitment) = match &e.body {
            EntryBody::Issue {
                credential_id,
                commitment,
                ..
            }
            | EntryBody::Update {
                credential_id,
                commitment,
                ..
            } => (Some(*credential_id), Some(field::to_hex(commitment))),
            EntryBody::Revoke { credential_id, .. } => (Some(*credential_id), None),
            _ => (None, None),
        };
        out.push(EntryView {
            index: i,
            kind: e.body.kind_name().into(),
            time: e.time,
            issuer_id: e.body.issuer_id().map(|x| field::to_hex(&x)),
            credential_id,
            commitment,
            data: STANDARD.encode(&data),
        });
    }
    Ok(Json(Entries { size, entries: out }))
}

/// Where an inclusion proof is asked.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index.
    pub index: u64,
    /// The tree size to prove against.
    pub size: u64,
}

/// An RFC 6962 proof.
#[derive(Serialize, ToSchema)]
pub struct LogProof {
    /// The tree size (the newer one, for consistency).
    pub size: u64,
    /// The root hash at that size, base64.
    pub root_hash: String,
    /// The proof's hashes, base64.
    pub proof: Vec<String>,
}

fn check_range(what: &str, ok: bool) -> Result<(), ServiceError> {
    if ok {
        Ok(())
    } else {
        Err(ServiceError::bad(
            "out_of_range",
            what,
            format!("{what} is out of the log's range"),
        ))
    }
}

/// An inclusion proof of entry `index` in the tree of `size` entries.
#[utoipa::path(get, path = "/v1/ledger/inclusion", tag = "public", params(InclusionQuery),
    responses((status = 200, description = "The proof", body = LogProof),
              (status = 400, description = "Out of range", body = crate::error::ErrorBody)))]
pub async fn inclusion(
    State(state): State<Arc<AppState>>,
    Params(q): Params<InclusionQuery>,
) -> Answer<LogProof> {
    let n = state.store.ledger_size()?;
    check_range("size", q.size >= 1 && q.size <= n)?;
    check_range("index", q.index < q.size)?;
    Ok(Json(LogProof {
        size: q.size,
        root_hash: STANDARD.encode(state.store.tree_hash(q.size)?),
        proof: state
            .store
            .inclusion_proof(q.index, q.size)?
            .iter()
            .map(|h| STANDARD.encode(h))
            .collect(),
    }))
}

/// Where a consistency proof is asked.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older size.
    pub old: u64,
    /// The newer size.
    pub new: u64,
}

/// A consistency proof between two tree sizes.
#[utoipa::path(get, path = "/v1/ledger/consistency", tag = "public", params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = LogProof),
              (status = 400, description = "Out of range", body = crate::error::ErrorBody)))]
pub async fn consistency(
    State(state): State<Arc<AppState>>,
    Params(q): Params<ConsistencyQuery>,
) -> Answer<LogProof> {
    let n = state.store.ledger_size()?;
    check_range("new", q.new >= 1 && q.new <= n)?;
    check_range("old", q.old >= 1 && q.old <= q.new)?;
    Ok(Json(LogProof {
        size: q.new,
        root_hash: STANDARD.encode(state.store.tree_hash(q.new)?),
        proof: state
            .store
            .consistency_proof(q.old, q.new)?
            .iter()
            .map(|h| STANDARD.encode(h))
            .collect(),
    }))
}

/// A signed checkpoint.
#[derive(Serialize, ToSchema)]
pub struct CheckpointView {
    /// The log size it commits to.
    pub size: u64,
    /// When it was signed, unix seconds.
    pub time: u64,
    /// The signed note (C2SP tlog-checkpoint with `time` and `registry` lines).
    pub note: String,
}

fn view(state: &AppState, note: String) -> Result<CheckpointView, ServiceError> {
    let body: CheckpointBody =
        dossier_core::checkpoint::open(note.as_bytes(), &state.log_verifier_key)?;
    Ok(CheckpointView {
        size: body.size,
        time: body.time,
        note,
    })
}

/// Every checkpoint, oldest first.
#[derive(Serialize, ToSchema)]
pub struct CheckpointList {
    /// The checkpoints from `start`.
    pub checkpoints: Vec<CheckpointView>,
}

/// A page of checkpoints, oldest first.
#[utoipa::path(get, path = "/v1/checkpoints", tag = "public", params(Page),
    responses((status = 200, description = "Checkpoints", body = CheckpointList),
              (status = 400, description = "Bad page", body = crate::error::ErrorBody)))]
pub async fn checkpoints(
    State(state): State<Arc<AppState>>,
    Params(page): Params<Page>,
) -> Answer<CheckpointList> {
    let limit = page.limit.unwrap_or(100).min(state.limits.page) as usize;
    let list = state
        .store
        .checkpoints()?
        .into_iter()
        .skip(page.start.min(usize::MAX as u64) as usize)
        .take(limit)
        .map(|n| view(&state, n))
        .collect::<Result<_, _>>()?;
    Ok(Json(CheckpointList { checkpoints: list }))
}

/// The latest checkpoint.
#[utoipa::path(get, path = "/v1/checkpoints/latest", tag = "public",
    responses((status = 200, description = "The latest checkpoint", body = CheckpointView),
              (status = 404, description = "None yet", body = crate::error::ErrorBody)))]
pub async fn checkpoint_latest(State(state): State<Arc<AppState>>) -> Answer<CheckpointView> {
    let note = state
        .store
        .latest_checkpoint()?
        .ok_or_else(|| ServiceError::NotFound("no checkpoint has been published yet".into()))?;
    Ok(Json(view(&state, note)?))
}

/// The checkpoint at a log size.
#[utoipa::path(get, path = "/v1/checkpoints/{size}", tag = "public",
    params(("size" = u64, Path, description = "The log size")),
    responses((status = 200, description = "The checkpoint", body = CheckpointView),
              (status = 400, description = "Not a size", body = crate::error::ErrorBody),
              (status = 404, description = "No checkpoint at that size", body = crate::error::ErrorBody)))]
pub async fn checkpoint_at(
    State(state): State<Arc<AppState>>,
    PathArgs(size): PathArgs<u64>,
) -> Answer<CheckpointView> {
    // Checkpoints are keyed by size: one lookup, one signature check.
    let note = state
        .store
        .checkpoint_at(size)?
        .ok_or_else(|| ServiceError::NotFound(format!("no checkpoint at size {size}")))?;
    Ok(Json(view(&state, note)?))
}

/// One registry's current state.
#[derive(Serialize, ToSchema)]
pub struct RegistryView {
    /// The issuer's name.
    pub issuer: String,
    /// Its id (`string_hash(name)`).
    pub issuer_id: String,
    /// Its Ed25519 public key, hex.
    pub public_key: String,
    /// The current root.
    pub root: String,
    /// Live credentials.
    pub live: u64,
}

/// Registries.
#[derive(Serialize, ToSchema)]
pub struct RegistryList {
    /// Every registry.
    pub registries: Vec<RegistryView>,
}

/// Every issuer's registry root now (the latest checkpoint says which are anchored).
#[utoipa::path(get, path = "/v1/registries", tag = "public",
    responses((status = 200, description = "Registries", body = RegistryList)))]
pub async fn registries(State(state): State<Arc<AppState>>) -> Answer<RegistryList> {
    let roots = state.store.registry_roots()?;
    let mut out = Vec::new();
    for info in state.store.issuers()? {
        let root = roots
            .iter()
            .find(|r| r.issuer_id == info.issuer_id)
            .map(|r| field::to_hex(&r.root))
            .unwrap_or_default();
        out.push(RegistryView {
            issuer: info.name.clone(),
            issuer_id: field::to_hex(&info.issuer_id),
            public_key: hex::encode(info.public_key),
            root,
            live: info.live,
        });
    }
    Ok(Json(RegistryList { registries: out }))
}

/// A presentation request by id, for the holder who is to answer it.
#[utoipa::path(get, path = "/v1/requests/{id}", tag = "public",
    params(("id" = String, Path, description = "The request's id")),
    responses((status = 200, description = "The request", body = Object),
              (status = 404, description = "Unknown", body = crate::error::ErrorBody)))]
pub async fn get_request(
    State(state): State<Arc<AppState>>,
    PathArgs(id): PathArgs<String>,
) -> Answer<Value> {
    let r: StoredRequest = tables::get(&state.store, REQUESTS, &id)?
        .ok_or_else(|| ServiceError::NotFound("no such presentation request".into()))?;
    Ok(Json(
        json!({"id": id, "request": r.request, "expires_at": r.expires_at}),
    ))
}

/// A request and a presentation to check without side effects.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The verifier's own presentation request.
    #[schema(value_type = Object)]
    pub request: PresentationRequest,
    /// The holder's presentation (dossier's format, or a W3C Verifiable Presentation carrying one).
    #[schema(value_type = Object)]
    #[serde(deserialize_with = "dossier_core::envelope::deserialize_presentation")]
    pub presentation: Presentation,
}

/// Runs one verification through the micro-batcher.
pub async fn check(
    state: &AppState,
    request: PresentationRequest,
    presentation: Presentation,
) -> Result<dossier_verifier::Checked, ServiceError> {
    let queue = state
        .verify_queue()
        .ok_or_else(|| ServiceError::Unavailable("shutting down".into()))?;
    let (reply, answer) = tokio::sync::oneshot::channel();
    queue
        .send(jobs::VerifyTask {
            request,
            presentation,
            reply,
        })
        .await
        .map_err(|_| ServiceError::Unavailable("shutting down".into()))?;
    let outcome = answer
        .await
        .map_err(|_| ServiceError::Internal("the verifier stopped".into()))?;
    let counter = match &outcome {
        Ok(_) => &state.metrics.verified_ok,
        Err(_) => &state.metrics.verified_refused,
    };
    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(outcome?)
}

/// Verifies a presentation against a request, records nothing (no nullifier, no archive).
#[utoipa::path(post, path = "/v1/verify", tag = "public", request_body = VerifyBody,
    responses((status = 200, description = "Verified: what was proven and revealed", body = Object),
              (status = 400, description = "Malformed", body = crate::error::ErrorBody),
              (status = 422, description = "Refused", body = crate::error::ErrorBody)))]
pub async fn verify(
    State(state): State<Arc<AppState>>,
    _caller: Caller,
    Body(body): Body<VerifyBody>,
) -> Answer<Value> {
    state.check_grounds(&body.request)?;
    let checked = check(&state, body.request, body.presentation).await?;
    Ok(Json(json!({ "verdict": checked.verdict })))
}
