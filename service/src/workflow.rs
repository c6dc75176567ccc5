//! Rules that run themselves, in the service (the issuers' side: the engine needs the openings,
//! which the service keeps for the credentials it issued). An HR office adopts a rule file
//! (its token), the service runs every issuer's engine on a schedule and after each issuance
//! (`dossier serve --rules-every`), or on request for a given day, and lists each office's
//! tasks, which its staff approve (taking the rule's credential actions, the new openings kept
//! in the same transactions) or decline, from the API or the `/hr` page. Anyone reads the rules
//! adopted and their texts. A background worker delivers the webhook outbox.

use crate::extract::{Body, IssuerToken, Params, PathArgs};
use crate::{blocking, now, tables, today, AppState, ServiceError};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_store::rules::{parse_rule_hash, AdoptionState, Task, TaskState};
use dossier_workflow::office::{self, Run};
use dossier_workflow::{webhook, Rule, WorkflowError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use utoipa::{IntoParams, ToSchema};

impl From<WorkflowError> for ServiceError {
    fn from(e: WorkflowError) -> Self {
        match e {
            WorkflowError::Store(s) => ServiceError::Store(s),
            WorkflowError::Core(c) => ServiceError::Core(c),
            WorkflowError::Task { reason } => ServiceError::Conflict {
                code: "task_refused",
                message: reason,
            },
            WorkflowError::Rule { field, .. } | WorkflowError::Expression { field, .. } => {
                ServiceError::bad("rule_refused", field, e.to_string())
            }
            other => ServiceError::bad("rule_refused", "rule", other.to_string()),
        }
    }
}

fn day_of(field: &str, date: Option<&str>) -> Result<u32, ServiceError> {
    match date {
        None => Ok(today()),
        Some(d) => date_to_days(d).map_err(|e| ServiceError::bad("bad_input", field, e)),
    }
}

/// A rule file to adopt.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdoptBody {
    /// The rule file (TOML, at most 64 KiB).
    pub text: String,
    /// The first day in force, YYYY-MM-DD (default today).
    pub from: Option<String>,
}

/// A rule adopted on the ledger.
#[derive(Serialize, ToSchema)]
pub struct RuleView {
    /// The issuer that adopted it.
    pub issuer: String,
    /// Its name.
    pub name: String,
    /// SHA-256 of its file (hex): `GET /v1/rules/{hash}` gives the text.
    pub rule: String,
    /// The first day in force.
    pub from: String,
    /// Its `RuleAdopted` entry.
    pub entry: u64,
    /// On the day asked: `in_force`, `replaced` or `not_yet_in_force`.
    #[schema(value_type = String)]
    pub state: AdoptionState,
}

/// The rules adopted.
#[derive(Serialize, ToSchema)]
pub struct RuleList {
    /// The day the states are for.
    pub as_of: String,
    /// In log order.
    pub rules: Vec<RuleView>,
}

/// The day to list the rules for.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOf {
    /// YYYY-MM-DD (default today).
    pub as_of: Option<String>,
}

/// Every rule adopted, and which version of each is in force on a day.
#[utoipa::path(get, path = "/v1/rules", tag = "public", params(AsOf),
    responses((status = 200, description = "The rules", body = RuleList),
              (status = 400, description = "A malformed day", body = crate::error::ErrorBody)))]
pub async fn list(
    State(state): State<Arc<AppState>>,
    Params(q): Params<AsOf>,
) -> Result<Json<RuleList>, ServiceError> {
    let day = day_of("as_of", q.as_of.as_deref())?;
    blocking(move || {
        let adoptions = state.store.adoptions(None)?;
        let rules = adoptions
            .iter()
            .map(|a| RuleView {
                issuer: a.issuer.clone(),
                name: a.name.clone(),
                rule: a.rule.clone(),
                from: days_to_date(a.from),
                entry: a.entry,
                state: a.state(&adoptions, day),
            })
            .collect();
        Ok(Json(RuleList {
            as_of: days_to_date(day),
            rules,
        }))
    })
    .await
}

/// An adopted rule's text, which hashes to its id.
#[derive(Serialize, ToSchema)]
pub struct RuleText {
    /// SHA-256 of the text (hex).
    pub rule: String,
    /// The rule file.
    pub text: String,
}

/// An adopted rule's text by its SHA-256.
#[utoipa::path(get, path = "/v1/rules/{hash}", tag = "public",
    params(("hash" = String, Path, description = "The rule file's SHA-256 (64 hex digits)")),
    responses((status = 200, description = "The rule file", body = RuleText),
              (status = 400, description = "Not a SHA-256", body = crate::error::ErrorBody),
              (status = 404, description = "No rule of that hash was adopted here", body = crate::error::ErrorBody)))]
pub async fn text(
    State(state): State<Arc<AppState>>,
    PathArgs(hash): PathArgs<String>,
) -> Result<Json<RuleText>, ServiceError> {
    let h = parse_rule_hash(&hash).ok_or_else(|| {
        ServiceError::bad(
            "bad_input",
            "hash",
            "a rule's id is its SHA-256: 64 hex digits",
        )
    })?;
    blocking(move || {
        let text = state.store.rule_text(&h)?.ok_or_else(|| {
            ServiceError::NotFound("no rule of that hash was adopted here".into())
        })?;
        Ok(Json(RuleText {
            rule: hex::encode(h),
            text,
        }))
    })
    .await
}

/// Adopts a rule file for the issuer: its SHA-256 goes on the ledger.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/rules", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name")),
    request_body = AdoptBody, security(("bearer" = [])),
    responses((status = 201, description = "Adopted (on the ledger)", body = RuleView),
              (status = 400, description = "A rule file that does not parse or check against the schemas (the field at fault is named), or one adopted already", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody)))]
pub async fn adopt(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<AdoptBody>,
) -> Result<(StatusCode, Json<RuleView>), ServiceError> {
    let from = day_of("from", body.from.as_deref())?;
    blocking(move || {
        state.store.issuer(&issuer)?;
        let rule = Rule::parse(&body.text, &state.schemas)?;
        let key = state.home.issuer_key(&issuer, None)?;
        let entry = state
            .store
            .adopt_rule(&key, &rule.name, rule.text(), from, now())?;
        Ok((
            StatusCode::CREATED,
            Json(RuleView {
                issuer,
                name: rule.name.clone(),
                rule: rule.hash_hex(),
                from: days_to_date(from),
                entry,
                state: if from > today() {
                    AdoptionState::NotYetInForce
                } else {
                    AdoptionState::InForce
                },
            }),
        ))
    })
    .await
}

/// A run of the issuer's engine.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunBody {
    /// The day to evaluate, YYYY-MM-DD (default today).
    pub as_of: Option<String>,
    /// Show what is due without recording anything.
    #[serde(default)]
    pub dry_run: bool,
}

/// Runs the issuer's engine over the openings the service keeps.
pub fn run_issuer(
    state: &AppState,
    issuer: &str,
    as_of: u32,
    dry_run: bool,
) -> Result<Run, ServiceError> {
    let info = state.store.issuer(issuer)?;
    let openings = tables::issuer_openings(&state.store, info.registry)?;
    let key = if dry_run {
        None
    } else {
        Some(state.home.issuer_key(issuer, None)?)
    };
    Ok(office::run(
        &state.store,
        key.as_ref(),
        issuer,
        &state.schemas,
        &openings,
        as_of,
        now(),
        &|| state.store.checkpoint(&state.log_key, now()),
    )?)
}

/// Runs the issuer's engine for a day: every case due by then is acted on once (a `RuleFired`
/// entry each); run again, nothing is taken twice.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/rules/run", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name")),
    request_body = RunBody, security(("bearer" = [])),
    responses((status = 200, description = "The cases due, those taken before, and what could not be decided", body = Object),
              (status = 400, description = "A malformed day", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody)))]
pub async fn run(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Body(body): Body<RunBody>,
) -> Result<Json<Run>, ServiceError> {
    let as_of = day_of("as_of", body.as_of.as_deref())?;
    blocking(move || Ok(Json(run_issuer(&state, &issuer, as_of, body.dry_run)?))).await
}

/// Which tasks to list.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// Only this party's: hr_office, servant, pension_office, payroll.
    pub party: Option<String>,
    /// Closed tasks too.
    pub all: Option<bool>,
}

/// A task as its office sees it.
#[derive(Serialize, ToSchema)]
pub struct TaskView {
    /// `<entry>.<action>`.
    pub id: String,
    /// The task.
    #[schema(value_type = Object)]
    pub task: Task,
}

/// The issuer's tasks.
#[derive(Serialize, ToSchema)]
pub struct TaskList {
    /// Oldest first.
    pub tasks: Vec<TaskView>,
}

/// The issuer's tasks (open ones unless `all`).
#[utoipa::path(get, path = "/v1/issuers/{issuer}/tasks", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name"), TaskQuery),
    security(("bearer" = [])),
    responses((status = 200, description = "Tasks", body = TaskList),
              (status = 400, description = "An unknown party", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer", body = crate::error::ErrorBody)))]
pub async fn tasks(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs(issuer): PathArgs<String>,
    Params(q): Params<TaskQuery>,
) -> Result<Json<TaskList>, ServiceError> {
    let party = match &q.party {
        None => None,
        Some(p) => Some(
            p.parse::<dossier_workflow::rule::Party>()
                .map_err(|_| {
                    ServiceError::bad(
                        "bad_query",
                        "party",
                        "one of hr_office, servant, pension_office, payroll",
                    )
                })?
                .name(),
        ),
    };
    blocking(move || {
        state.store.issuer(&issuer)?;
        let tasks = state
            .store
            .tasks(Some(&issuer), party, !q.all.unwrap_or(false))?
            .into_iter()
            .map(|t| TaskView {
                id: t.id(),
                task: t,
            })
            .collect();
        Ok(Json(TaskList { tasks }))
    })
    .await
}

/// The day a task is closed on.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// YYYY-MM-DD (default today).
    pub on: Option<String>,
}

/// What closing a task did.
#[derive(Serialize, ToSchema)]
pub struct Closed {
    /// The task: closed, or still open while the credential it issues waits for its
    /// committee (`proposal`).
    #[schema(value_type = Object)]
    pub task: Task,
    /// The credentials its approval issued or updated (ids; the openings are kept for their
    /// holders).
    pub credentials: Vec<u32>,
    /// The proposal this approval opened for the committee of the schema to issue: approve the
    /// task again once its members have approved it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposal: Option<u64>,
}

fn task_id(id: &str) -> Result<(u64, u8), ServiceError> {
    Task::parse_id(id)
        .ok_or_else(|| ServiceError::bad("bad_input", "id", "a task id is <entry>.<action>"))
}

/// A task of this issuer, or 404 (another issuer's task is not shown to exist).
fn own_task(state: &AppState, issuer: &str, id: (u64, u8)) -> Result<Task, ServiceError> {
    match state.store.task(id)? {
        Some(t) if t.issuer == issuer => Ok(t),
        _ => Err(ServiceError::NotFound("no such task".into())),
    }
}

/// Approves a task: the credential actions its rule names are taken (the case's credential
/// updated, a credential issued to its holder) and their openings kept for the holders. A
/// credential of a schema under a committee is proposed to it first (the answer names the
/// proposal, the task stays open); approving the task again once the members have approved
/// issues it and takes the rest.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/tasks/{id}/approve", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = String, Path, description = "The task, <entry>.<action>")),
    request_body = CloseBody, security(("bearer" = [])),
    responses((status = 200, description = "Approved, or its credential proposed to the schema's committee", body = Closed),
              (status = 400, description = "A malformed id or day", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer or task", body = crate::error::ErrorBody),
              (status = 409, description = "The task is closed, the service keeps no opening of the case's current credential, or its proposal lacks approvals", body = crate::error::ErrorBody)))]
pub async fn approve(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs((issuer, id)): PathArgs<(String, String)>,
    Body(body): Body<CloseBody>,
) -> Result<Json<Closed>, ServiceError> {
    let id = task_id(&id)?;
    let day = day_of("on", body.on.as_deref())?;
    blocking(move || {
        let info = state.store.issuer(&issuer)?;
        own_task(&state, &issuer, id)?;
        let key = state.home.issuer_key(&issuer, None)?;
        let openings = tables::issuer_openings(&state.store, info.registry)?;
        let registry = info.registry;
        let approval = office::approve_task(
            &state.store,
            &key,
            &state.schemas,
            id,
            &openings,
            day,
            now(),
            &|txn, kept| tables::keep_openings(txn, registry, kept),
        )?;
        Ok(Json(Closed {
            task: approval.task,
            credentials: approval
                .credentials
                .iter()
                .map(|o| o.credential_id)
                .collect(),
            proposal: approval.proposal.map(|p| p.id),
        }))
    })
    .await
}

/// Declines a task: nothing is done.
#[utoipa::path(post, path = "/v1/issuers/{issuer}/tasks/{id}/decline", tag = "issuers",
    params(("issuer" = String, Path, description = "The issuer's name"),
           ("id" = String, Path, description = "The task, <entry>.<action>")),
    request_body = CloseBody, security(("bearer" = [])),
    responses((status = 200, description = "Declined", body = Closed),
              (status = 400, description = "A malformed id or day", body = crate::error::ErrorBody),
              (status = 401, description = "No token", body = crate::error::ErrorBody),
              (status = 403, description = "Not this issuer's token", body = crate::error::ErrorBody),
              (status = 404, description = "Unknown issuer or task", body = crate::error::ErrorBody),
              (status = 409, description = "The task is closed", body = crate::error::ErrorBody)))]
pub async fn decline(
    State(state): State<Arc<AppState>>,
    _caller: IssuerToken,
    PathArgs((issuer, id)): PathArgs<(String, String)>,
    Body(body): Body<CloseBody>,
) -> Result<Json<Closed>, ServiceError> {
    let id = task_id(&id)?;
    let day = day_of("on", body.on.as_deref())?;
    blocking(move || {
        state.store.issuer(&issuer)?;
        if own_task(&state, &issuer, id)?.state != TaskState::Open {
            return Err(ServiceError::Conflict {
                code: "task_refused",
                message: "the task is closed".into(),
            });
        }
        let key = state.home.issuer_key(&issuer, None)?;
        let task = state.store.close_task(&key, id, TaskState::Declined, day)?;
        Ok(Json(Closed {
            task,
            credentials: Vec::new(),
            proposal: None,
        }))
    })
    .await
}

/// Runs every issuer's engine for today (those with rules adopted), logging what it did.
fn run_everyone(state: &AppState) {
    let issuers: Vec<String> = match state.store.adoptions(None) {
        Ok(a) => {
            let mut names: Vec<String> = a.into_iter().map(|a| a.issuer).collect();
            names.sort();
            names.dedup();
            names
        }
        Err(e) => {
            tracing::error!(error = %e, "rules: reading the adoptions");
            return;
        }
    };
    for issuer in issuers {
        match run_issuer(state, &issuer, today(), false) {
            Ok(run) => {
                let taken = run.written.iter().flatten().count();
                if taken > 0 || !run.evaluation.failures.is_empty() {
                    tracing::info!(%issuer, taken, undecided = run.evaluation.failures.len(), "rules run");
                }
            }
            Err(e) => tracing::error!(%issuer, error = %e, "rules run failed"),
        }
    }
}

/// The background worker: runs the rules every `every` and soon after an issuance (when
/// `every` is set), and delivers the webhook outbox every second, until shutdown.
pub fn worker(state: Arc<AppState>, every: Option<Duration>) {
    let mut last_rules: Option<Instant> = None;
    let mut last_delivery = Instant::now() - Duration::from_secs(1);
    while !state.shutting_down.load(Ordering::SeqCst) {
        if let Some(every) = every {
            let poked = state.rules_due.swap(false, Ordering::SeqCst);
            if poked || last_rules.is_none_or(|t| t.elapsed() >= every) {
                run_everyone(&state);
                last_rules = Some(Instant::now());
            }
        }
        if last_delivery.elapsed() >= Duration::from_secs(1) {
            match webhook::deliver_due(&state.store, Duration::from_secs(10)) {
                Ok(pass) if pass.delivered + pass.retrying + pass.failed > 0 => {
                    tracing::info!(
                        delivered = pass.delivered,
                        retrying = pass.retrying,
                        failed = pass.failed,
                        "webhooks"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "webhook delivery"),
            }
            last_delivery = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
