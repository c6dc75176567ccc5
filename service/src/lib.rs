//! dossier's HTTP service (axum): issuers issue, update and revoke credentials and publish
//! checkpoints; holders fetch their credentials and witnesses and may ask the service to prove;
//! verifiers make presentation requests and check presentations; regulators and the public read
//! the ledger, its proofs and (regulators) the archive of verifications; HR offices open ballots
//! of anonymous peer rating, which colleagues answer without a token and anyone re-verifies;
//! and they declare appraisal rounds and submit their quota proofs, which anyone lists and
//! re-verifies.
//!
//! It runs on the embedded default — the same home folder and database file as the CLI, keys
//! from `params/` — and needs no other server. JSON under `/v1`, described by the OpenAPI 3.1
//! document at `/openapi.json` (generated from this code); one error shape everywhere
//! ([`error::ErrorBody`]); bearer tokens stored hashed ([`config::Tokens`]); bounded bodies,
//! JSON depth, per-client rates, timeouts and a bounded proving queue.
//!
//! Durability: every write answers only after its transaction is committed (fsynced) in the
//! database; a job is recorded before its 202; after a restart unfinished jobs are reported
//! failed. Shutdown (SIGINT/SIGTERM) stops accepting connections, finishes requests in flight,
//! lets a running proof finish and fails the proofs still queued.

pub mod backups;
mod ballots;
mod campaigns;
mod committees;
pub mod config;
pub mod error;
pub mod extract;
mod holders;
mod issuers;
pub mod jobs;
pub mod limits;
pub mod metrics;
mod openid4vp;
mod public;
mod rounds;
pub mod tables;
mod verifiers;
pub mod web;
mod workflow;

pub use config::{Config, Limits, Role, Tokens};
pub use error::ServiceError;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_prover::Provers;
use dossier_store::home::Home;
use dossier_store::Store;
use dossier_verifier::VerifierKeys;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use utoipa::OpenApi;

/// Everything the handlers share.
pub struct AppState {
    /// The store (registries, ledger, the service's tables).
    pub store: Store,
    /// The home folder (issuer keys).
    pub home: Home,
    /// The proving and verifying keys' folder.
    pub params: PathBuf,
    /// The credential schemas.
    pub schemas: SchemaSet,
    /// The verifying keys.
    pub keys: VerifierKeys,
    /// The ledger's signing key.
    pub log_key: KeyPair,
    /// The ledger's verifier key (checkpoints are checked against it).
    pub log_verifier_key: String,
    /// What the service's verifications trust a checkpoint by: the ledger's key and the
    /// configured witness policy.
    pub trust: dossier_core::checkpoint::Trust,
    /// The accepted tokens.
    pub tokens: Tokens,
    /// The limits.
    pub limits: Limits,
    /// Set when shutdown began.
    pub shutting_down: AtomicBool,
    /// The counters.
    pub metrics: metrics::Metrics,
    /// The per-client rate limiter.
    pub limiter: limits::RateLimiter,
    /// snarkjs's browser build, served to the pages when the operator names it.
    pub snarkjs_js: Option<PathBuf>,
    /// The provers of both backends (Groth16 keys loaded on first use).
    pub provers: Provers,
    /// Set when an issuance may have made a rule's case due (the rules worker looks soon).
    pub rules_due: AtomicBool,
    /// Whether requests must state their purpose and legal basis.
    pub require_grounds: bool,
    /// Where dossier's JSON-LD context is published.
    pub context_url: dossier_core::envelope::ContextUrl,
    /// The key the service signs OpenID4VP request objects with (its client id's `did:key`).
    pub openid4vp_key: KeyPair,
    /// The URL wallets reach this service at (set at start-up: configured, or the bound
    /// address).
    pub public_url: std::sync::OnceLock<String>,
    /// This process's id among the service's replicas (new at each start).
    pub replica: String,
    prove_queue: Mutex<Option<tokio::sync::mpsc::Sender<jobs::ProveTask>>>,
    verify_queue: Mutex<Option<tokio::sync::mpsc::Sender<jobs::VerifyTask>>>,
}

impl AppState {
    /// The URL wallets reach this service at, without a trailing `/`.
    pub fn public_url(&self) -> Result<&str, ServiceError> {
        self.public_url.get().map(String::as_str).ok_or_else(|| {
            ServiceError::Unavailable("the service's public URL is not known yet".into())
        })
    }

    /// The service's OpenID4VP client id.
    pub fn client_id(&self) -> String {
        dossier_core::openid4vp::client_id(&self.openid4vp_key)
    }

    /// Refuses a request with a malformed purpose or legal basis, or, under the service's
    /// policy (`--require-grounds`), one that does not state both.
    pub fn check_grounds(
        &self,
        r: &dossier_core::presentation::PresentationRequest,
    ) -> Result<(), ServiceError> {
        r.check_stated()?;
        if self.require_grounds {
            let missing = if r.purpose.is_none() {
                Some("purpose")
            } else if r.legal_basis.is_none() {
                Some("legal_basis")
            } else {
                None
            };
            if let Some(field) = missing {
                return Err(ServiceError::bad(
                    "grounds_required",
                    field,
                    "this service takes only requests that state their purpose and legal basis",
                ));
            }
        }
        Ok(())
    }

    /// The rules worker's next look is due now (set after an issuance).
    pub fn poke_rules(&self) {
        self.rules_due.store(true, Ordering::SeqCst);
    }

    /// The proving queue's sender, unless shutdown began.
    pub fn prove_queue(&self) -> Option<tokio::sync::mpsc::Sender<jobs::ProveTask>> {
        self.prove_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The verification queue's sender, unless shutdown began.
    pub fn verify_queue(&self) -> Option<tokio::sync::mpsc::Sender<jobs::VerifyTask>> {
        self.verify_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Begins shutdown: no new work is queued, and the queues close once their senders in
    /// flight are gone, which stops the workers after what they hold.
    pub fn begin_shutdown(&self) {
        self.shutting_down.store(true, Ordering::SeqCst);
        self.prove_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.verify_queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
    }
}

/// The clock (one definition, in core).
pub use dossier_core::clock::{now, today};

/// Runs store work (durable writes, proof checks) off the async runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ServiceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServiceError::Internal(format!("worker: {e}")))?
}

/// A random 128-bit id, hex.
pub fn random_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The running service's handles: its state and its workers.
pub struct Service {
    /// The shared state.
    pub state: Arc<AppState>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Service {
    /// Opens the store, loads keys, recovers jobs and starts the workers.
    pub fn start(config: &Config) -> Result<Service, ServiceError> {
        let home = Home {
            dir: config.home.clone(),
            lock_wait: std::time::Duration::from_secs(5),
            location: config.database.clone(),
        };
        let store = home.store()?;
        let log_key = home.ledger_key(&store, None)?;
        let home_openid4vp_key = home.openid4vp_key()?;
        tables::ensure(&store)?;
        let mut keys = match VerifierKeys::load(&config.params) {
            Ok(keys) => keys,
            // No keys made yet: halo2 (no setup) and the ledger still serve; Groth16 requests
            // are refused by name until the operator runs the setup.
            Err(dossier_verifier::VerifyError::Params(
                dossier_params::ParamsError::NoManifest { path },
            )) => {
                tracing::warn!(%path, "no Groth16 keys: serving halo2 and the ledger only (run `dossier setup`)");
                VerifierKeys::none()
            }
            // Keys that are there but do not match their pins are never served around.
            Err(e) => return Err(ServiceError::Config(format!("verifying keys: {e}"))),
        };
        if config.verifier_tables {
            for key in keys.keys.values_mut() {
                key.precompute();
            }
        }
        let (prove_tx, prove_rx) = tokio::sync::mpsc::channel(config.limits.proving_queue.max(1));
        let (verify_tx, verify_rx) = tokio::sync::mpsc::channel(4096);
        let state = Arc::new(AppState {
            log_verifier_key: log_key.verifier_key(),
            trust: dossier_core::checkpoint::Trust::witnessed(
                &log_key.verifier_key(),
                config.witnesses.clone(),
            ),
            store,
            home,
            params: config.params.clone(),
            schemas: SchemaSet::builtin(),
            keys,
            log_key,
            tokens: config.tokens.clone(),
            limits: config.limits.clone(),
            shutting_down: AtomicBool::new(false),
            metrics: Default::default(),
            limiter: limits::RateLimiter::new(
                config.limits.rate_per_second,
                config.limits.rate_burst,
            ),
            snarkjs_js: config.snarkjs_js.clone(),
            provers: Provers::new(&config.params),
            rules_due: AtomicBool::new(false),
            require_grounds: config.require_grounds,
            context_url: config.context_url.clone(),
            openid4vp_key: home_openid4vp_key,
            public_url: config
                .public_url
                .clone()
                .map(std::sync::OnceLock::from)
                .unwrap_or_default(),
            replica: random_id(),
            prove_queue: Mutex::new(Some(prove_tx)),
            verify_queue: Mutex::new(Some(verify_tx)),
        });
        jobs::heartbeat(&state)?;
        let failed = jobs::recover(&state, true)?;
        if failed > 0 {
            tracing::warn!(
                jobs = failed,
                "jobs interrupted by the last shutdown reported failed"
            );
        }
        let mut workers = Vec::new();
        let prove_rx = Arc::new(Mutex::new(prove_rx));
        {
            let (s, rx) = (state.clone(), prove_rx);
            workers.push(std::thread::spawn(move || jobs::prove_worker(s, rx)));
        }
        let verify_rx = Arc::new(Mutex::new(verify_rx));
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        for _ in 0..cores {
            let (s, rx) = (state.clone(), verify_rx.clone());
            workers.push(std::thread::spawn(move || jobs::verify_worker(s, rx)));
        }
        {
            let (s, every) = (state.clone(), config.rules_every);
            workers.push(std::thread::spawn(move || workflow::worker(s, every)));
        }
        {
            let s = state.clone();
            workers.push(std::thread::spawn(move || jobs::replica_worker(s)));
        }
        if let Some(policy) = config.backups.clone() {
            let s = state.clone();
            workers.push(std::thread::spawn(move || backups::worker(s, policy)));
        }
        Ok(Service { state, workers })
    }

    /// The HTTP routes over this state.
    pub fn router(&self) -> Router {
        router(self.state.clone())
    }

    /// Shuts the workers down: a running proof finishes, queued ones are reported failed.
    pub fn shutdown(self) {
        let Service { state, workers } = self;
        state.begin_shutdown();
        drop(state);
        for w in workers {
            let _ = w.join();
        }
    }
}

async fn guard(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched".to_string(), |m| m.as_str().to_string());
    let method = req.method().to_string();
    // The client is its token's name, or its address: each has its own rate.
    let client = match req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .and_then(|t| state.tokens.lookup(t.trim()))
    {
        Some(p) => format!("token:{}", p.name),
        None => req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or("anonymous".to_string(), |c| format!("ip:{}", c.0.ip())),
    };
    let response = if route.starts_with("/v1") {
        match state.limiter.check(&client) {
            Ok(()) => next.run(req).await,
            Err(retry_after) => ServiceError::TooMany {
                message: "rate limit exceeded for this client".into(),
                retry_after,
            }
            .into_response(),
        }
    } else {
        next.run(req).await
    };
    state
        .metrics
        .request(&method, &route, response.status().as_u16());
    response
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "dossier",
        description = "Zero-knowledge credentials and audits for civil-service personnel records. \
Issuers keep Poseidon sparse Merkle registries whose roots are anchored by signed checkpoints on \
an append-only ledger; holders prove statements about their credentials; verifiers check them \
bound to their own challenge; regulators audit. Proving on the service (POST /v1/holder/proofs) \
shows the holder's secret and credentials to the service; the CLI (`dossier prove`) proves \
locally.",
        license(name = "Apache-2.0")
    ),
    paths(
        public::healthz, public::readyz, public::metrics_text, public::schemas, public::keys, public::proving_key,
        public::ledger_info, public::entries, public::inclusion, public::consistency,
        public::checkpoints, public::checkpoint_latest, public::checkpoint_at, public::registries,
        public::get_request, public::verify,
        issuers::create_issuer, issuers::issue, issuers::update, issuers::revoke,
        issuers::publish_checkpoint, issuers::rotate_holder,
        committees::propose, committees::proposals, committees::approve,
        ballots::open, ballots::close, ballots::list, ballots::get, ballots::archive,
        ballots::rate,
        rounds::declare, rounds::submit, rounds::list, rounds::get,
        workflow::list, workflow::text, workflow::adopt, workflow::run, workflow::tasks,
        workflow::approve, workflow::decline,
        campaigns::open, campaigns::list, campaigns::get, campaigns::apply, campaigns::shortlist,
        campaigns::archive,
        holders::credentials, holders::paths, holders::witness, holders::credential_vc, holders::prove, holders::job,
        web::context,
        verifiers::create_request, verifiers::submit,
        openid4vp::request_object, openid4vp::request_object_post, openid4vp::response,
        openid4vp::answer,
        verifiers::archive, verifiers::reverify, web::to_snarkjs,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail, jobs::Job, jobs::JobStatus)),
    modifiers(&BearerAuth, &CommonResponses),
    tags(
        (name = "public", description = "Anyone: ledger, checkpoints, proofs, registry roots, stateless verification"),
        (name = "issuers", description = "An issuer's office, with a token bound to the issuer"),
        (name = "holders", description = "A civil servant, with a token bound to their holder commitment"),
        (name = "verifiers", description = "Recruiters: presentation requests and verdicts"),
        (name = "regulators", description = "Read-only audit of the archive of verifications"),
        (name = "openid4vp", description = "OpenID4VP 1.0 wallets: signed request objects and direct_post answers (no token)"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The answers any operation can give besides its own, documented on each: malformed input (400)
/// where it takes parameters or a body, an unknown resource (404) where its path names one, an
/// oversized body (413), a slow request (408) and the rate limit (429 with `Retry-After`).
struct CommonResponses;

impl utoipa::Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::header::HeaderBuilder;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
        };
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let has_params = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let has_body = operation.request_body.is_some();
                let mut add = |code: &str, response: ResponseBuilder| {
                    operation
                        .responses
                        .responses
                        .entry(code.to_string())
                        .or_insert_with(|| RefOr::T(response.build()));
                };
                if has_params || has_body {
                    add("400", error("Malformed input: a parameter or the body is invalid (the error names which)"));
                }
                if path.contains('{') {
                    add("404", error("Nothing is known by that name"));
                }
                if has_body {
                    add("413", error("The body is larger than the service accepts"));
                    add("415", error("The body is not application/json"));
                }
                add(
                    "408",
                    error("The request took longer than the service allows"),
                );
                if path.starts_with("/v1") {
                    add("429", error("Rate limit exceeded for this client"));
                }
                // Every 429 (the rate limit, a full proving queue) says when to come back.
                if let Some(RefOr::T(r)) = operation.responses.responses.get_mut("429") {
                    r.headers.entry("Retry-After".into()).or_insert_with(|| {
                        HeaderBuilder::new()
                            .schema(
                                utoipa::openapi::ObjectBuilder::new()
                                    .schema_type(utoipa::openapi::schema::Type::Integer),
                            )
                            .description(Some("Seconds to wait before trying again"))
                            .build()
                    });
                }
            }
        }
    }
}

async fn openapi_json() -> impl IntoResponse {
    axum::Json(ApiDoc::openapi())
}

async fn not_found() -> ServiceError {
    ServiceError::NotFound("no such endpoint".into())
}

async fn method_not_allowed() -> ServiceError {
    ServiceError::MethodNotAllowed
}

/// The service's routes.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = state.limits.clone();
    Router::new()
        .route("/healthz", get(public::healthz))
        .route("/readyz", get(public::readyz))
        .route("/metrics", get(public::metrics_text))
        .route("/openapi.json", get(openapi_json))
        .route("/verify", get(web::verify_page))
        .route("/ledger", get(web::ledger_page))
        .route("/wallet", get(web::wallet_page))
        .route("/web/wallet.js", get(web::wallet_script))
        .route("/web/dossier.js", get(web::script))
        .route("/web/dossier.css", get(web::stylesheet))
        .route("/web/dossier.wasm", get(web::module))
        .route("/web/dossier-wasm.mjs", get(web::module_loader))
        .route("/web/worker.mjs", get(web::worker))
        .route("/web/thread.mjs", get(web::thread))
        .route("/contexts/v1", get(web::context))
        .route("/web/snarkjs.min.js", get(web::snarkjs))
        .route("/v1/snarkjs", post(web::to_snarkjs))
        .route("/v1/schemas", get(public::schemas))
        .route("/v1/keys", get(public::keys))
        .route("/v1/ledger", get(public::ledger_info))
        .route("/v1/ledger/entries", get(public::entries))
        .route("/v1/ledger/inclusion", get(public::inclusion))
        .route("/v1/ledger/consistency", get(public::consistency))
        .route(
            "/v1/checkpoints",
            get(public::checkpoints).post(issuers::publish_checkpoint),
        )
        .route("/v1/checkpoints/latest", get(public::checkpoint_latest))
        .route("/v1/checkpoints/{size}", get(public::checkpoint_at))
        .route("/v1/registries", get(public::registries))
        .route("/v1/verify", post(public::verify))
        .route("/v1/issuers", post(issuers::create_issuer))
        .route("/v1/issuers/{issuer}/credentials", post(issuers::issue))
        .route(
            "/v1/issuers/{issuer}/proposals",
            post(committees::propose).get(committees::proposals),
        )
        .route(
            "/v1/issuers/{issuer}/proposals/{id}/approvals",
            post(committees::approve),
        )
        .route(
            "/v1/issuers/{issuer}/credentials/{id}",
            put(issuers::update).merge(delete(issuers::revoke)),
        )
        .route(
            "/v1/issuers/{issuer}/holders/rotate",
            post(issuers::rotate_holder),
        )
        .route("/v1/issuers/{issuer}/ballots", post(ballots::open))
        .route(
            "/v1/issuers/{issuer}/ballots/{name}/close",
            post(ballots::close),
        )
        .route("/v1/issuers/{issuer}/rounds", post(rounds::declare))
        .route(
            "/v1/issuers/{issuer}/rounds/{id}/proofs",
            post(rounds::submit),
        )
        .route("/v1/issuers/{issuer}/rules", post(workflow::adopt))
        .route("/v1/issuers/{issuer}/rules/run", post(workflow::run))
        .route("/v1/issuers/{issuer}/tasks", get(workflow::tasks))
        .route(
            "/v1/issuers/{issuer}/tasks/{id}/approve",
            post(workflow::approve),
        )
        .route(
            "/v1/issuers/{issuer}/tasks/{id}/decline",
            post(workflow::decline),
        )
        .route("/v1/issuers/{issuer}/campaigns", post(campaigns::open))
        .route("/v1/campaigns", get(campaigns::list))
        .route("/v1/campaigns/{name}", get(campaigns::get))
        .route(
            "/v1/campaigns/{name}/applications",
            get(campaigns::archive).post(campaigns::apply),
        )
        .route("/v1/campaigns/{name}/shortlist", get(campaigns::shortlist))
        .route("/v1/rules", get(workflow::list))
        .route("/v1/rules/{hash}", get(workflow::text))
        .route("/hr", get(web::hr_page))
        .route("/web/hr.js", get(web::hr_script))
        .route("/v1/rounds", get(rounds::list))
        .route("/v1/rounds/{id}", get(rounds::get))
        .route("/v1/ballots", get(ballots::list))
        .route("/v1/ballots/{name}", get(ballots::get))
        .route(
            "/v1/ballots/{name}/ratings",
            get(ballots::archive).post(ballots::rate),
        )
        .route("/v1/holder/credentials", get(holders::credentials))
        .route("/v1/holder/paths", get(holders::paths))
        .route("/v1/keys/{shape}/pk", get(public::proving_key))
        .route(
            "/v1/holder/credentials/{issuer}/{id}/witness",
            get(holders::witness),
        )
        .route(
            "/v1/holder/credentials/{issuer}/{id}/vc",
            get(holders::credential_vc),
        )
        .route("/v1/holder/proofs", post(holders::prove))
        .route("/v1/jobs/{id}", get(holders::job))
        .route("/v1/requests", post(verifiers::create_request))
        .route("/v1/requests/{id}", get(public::get_request))
        .route("/v1/requests/{id}/presentations", post(verifiers::submit))
        .route("/v1/requests/{id}/openid4vp", get(openid4vp::answer))
        .route(
            "/openid4vp/requests/{id}",
            get(openid4vp::request_object).post(openid4vp::request_object_post),
        )
        .route("/openid4vp/responses", post(openid4vp::response))
        .route("/v1/archive", get(verifiers::archive))
        .route("/v1/archive/reverify", post(verifiers::reverify))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .layer(axum::extract::DefaultBodyLimit::max(limits.body_bytes))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .with_state(state)
}

/// Runs the service until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: Config, ready: impl FnOnce(SocketAddr)) -> Result<(), ServiceError> {
    let service = Service::start(&config)?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| ServiceError::Config(format!("cannot listen on {}: {e}", config.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServiceError::Config(e.to_string()))?;
    tracing::info!(%addr, tokens = config.tokens.len(), "dossier service listening");
    // Wallets are sent to the configured public URL, or to the bound address.
    let _ = service.state.public_url.set(format!("http://{addr}"));
    ready(addr);
    let app = service.router();
    let state = service.state.clone();
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown_signal().await;
        state.begin_shutdown();
        tracing::info!("shutting down: finishing requests in flight");
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("server: {e}")))?;
    // The router is gone: the workers stop after what they hold.
    tokio::task::spawn_blocking(move || service.shutdown())
        .await
        .map_err(|e| ServiceError::Internal(format!("joining workers: {e}")))?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every answer the middleware can give is in the document, so that clients generated from
    /// it (and Schemathesis) see no undocumented status.
    #[test]
    fn every_operation_documents_its_common_answers() {
        let doc = serde_json::to_value(ApiDoc::openapi()).expect("json");
        let paths = doc["paths"].as_object().expect("paths");
        assert!(paths.len() >= 20, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().expect("item") {
                let responses = op["responses"].as_object().expect("responses");
                let has_input = op.get("parameters").is_some() || op.get("requestBody").is_some();
                for code in ["408"]
                    .into_iter()
                    .chain(path.starts_with("/v1").then_some("429"))
                    .chain(has_input.then_some("400"))
                    .chain(path.contains('{').then_some("404"))
                    .chain(op.get("requestBody").is_some().then_some("413"))
                {
                    assert!(responses.contains_key(code), "{method} {path} lacks {code}");
                }
                if path.starts_with("/v1") {
                    assert!(
                        responses["429"]["headers"].get("Retry-After").is_some(),
                        "{method} {path}: 429 without Retry-After"
                    );
                }
            }
        }
    }
}
