//! Asynchronous work: proving jobs (a bounded queue and one worker, since a proof already uses
//! every core), checkpoint publication, and the verification micro-batcher (concurrent
//! verifications gathered into one batched pairing check).
//!
//! A job's status is durable in `svc_jobs` from the moment it is accepted (202). The holder's
//! secret is held in memory only, never written: so after a restart a job that had not finished
//! cannot be resumed, and is reported failed, never silently lost.

use crate::tables::{self, JOBS};
use crate::{now, AppState, ServiceError};
use dossier_core::holder::HolderSecret;
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::Fr;
use dossier_prover::Statement;
use dossier_verifier::{BatchItem, Checked, VerifyError};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use utoipa::ToSchema;

/// What a job is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    /// Waiting in the queue.
    Queued,
    /// Being worked on.
    Running,
    /// Finished; `result` holds the outcome.
    Done,
    /// Failed; `error` says why.
    Failed,
}

/// A job's durable record.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Job {
    /// The job's id.
    pub id: String,
    /// `prove` or `checkpoint`.
    pub kind: String,
    /// The token name that submitted it (only its owner may read it).
    pub owner: String,
    /// Its status.
    pub status: JobStatus,
    /// When it was accepted, unix seconds.
    pub created: u64,
    /// When it ended, unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<u64>,
    /// The outcome: a presentation, or a checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub result: Option<serde_json::Value>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Job {
    /// A new queued job.
    pub fn new(kind: &str, owner: &str) -> Job {
        Job {
            id: crate::random_id(),
            kind: kind.into(),
            owner: owner.into(),
            status: JobStatus::Queued,
            created: now(),
            finished: None,
            result: None,
            error: None,
        }
    }
}

/// A proof to make: the secret lives only here, in memory.
pub struct ProveTask {
    /// The job's id.
    pub id: String,
    /// The holder commitment whose credentials to use.
    pub holder: Fr,
    /// The holder's secret (wiped on drop).
    pub secret: HolderSecret,
    /// The request to answer.
    pub request: PresentationRequest,
}

fn finish(state: &AppState, id: &str, outcome: Result<serde_json::Value, String>) {
    let Ok(Some(mut job)) = tables::get::<Job>(&state.store, JOBS, id) else {
        tracing::error!(job = id, "job record vanished");
        return;
    };
    job.finished = Some(now());
    match outcome {
        Ok(v) => {
            job.status = JobStatus::Done;
            job.result = Some(v);
        }
        Err(e) => {
            job.status = JobStatus::Failed;
            job.error = Some(e);
        }
    }
    if let Err(e) = tables::put(&state.store, JOBS, id, &job) {
        tracing::error!(job = id, error = %e, "could not record a job's end");
    }
}

fn set_running(state: &AppState, id: &str) {
    if let Ok(Some(mut job)) = tables::get::<Job>(&state.store, JOBS, id) {
        job.status = JobStatus::Running;
        if let Err(e) = tables::put(&state.store, JOBS, id, &job) {
            tracing::error!(job = id, error = %e, "could not record a job's start");
        }
    }
}

/// Makes one proof from the holder's stored credentials.
fn prove(state: &AppState, task: &ProveTask) -> Result<Presentation, ServiceError> {
    let request = &task.request;
    let shape = request.query.shape()?;
    let query = request.query.encode(&state.schemas, shape)?;
    let today = request.today_days()?;
    let openings = tables::openings_of(&state.store, &task.holder)?;
    let (offered, note) = dossier_store::holder::select(
        &openings,
        &state.store,
        &state.schemas,
        &query,
        today,
        request.backend,
    )?;
    let t = std::time::Instant::now();
    state.provers.prepare(request.backend, shape)?;
    let loaded = t.elapsed();
    let p = state.provers.prove(&Statement {
        request,
        query: &query,
        secret: &task.secret,
        offered: &offered,
        checkpoint: &note,
    })?;
    tracing::info!(shape = %shape.name(), backend = %request.backend,
        load_ms = loaded.as_millis() as u64,
        prove_ms = (t.elapsed() - loaded).as_millis() as u64, "proof made");
    Ok(p)
}

/// The proving worker: takes tasks until the queue closes; on shutdown, tasks still waiting are
/// reported failed.
pub fn prove_worker(state: Arc<AppState>, rx: Arc<Mutex<tokio::sync::mpsc::Receiver<ProveTask>>>) {
    loop {
        let task = {
            let mut rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            rx.blocking_recv()
        };
        let Some(task) = task else { break };
        if state.shutting_down.load(Ordering::SeqCst) {
            finish(
                &state,
                &task.id,
                Err("the service shut down before this proof was made; submit it again".into()),
            );
            state.metrics.proofs_failed.fetch_add(1, Ordering::Relaxed);
            state.metrics.proofs_queued.fetch_sub(1, Ordering::Relaxed);
            continue;
        }
        set_running(&state, &task.id);
        let started = std::time::Instant::now();
        let outcome = prove(&state, &task);
        state
            .metrics
            .proving_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match outcome {
            Ok(p) => {
                state.metrics.proofs_done.fetch_add(1, Ordering::Relaxed);
                finish(
                    &state,
                    &task.id,
                    serde_json::to_value(&p).map_err(|e| e.to_string()),
                );
            }
            Err(e) => {
                state.metrics.proofs_failed.fetch_add(1, Ordering::Relaxed);
                let (_, _, message, _) = e.parts();
                finish(&state, &task.id, Err(message));
            }
        }
        state.metrics.proofs_queued.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Marks jobs a previous run left unfinished as failed (their secrets were never stored).
pub fn recover(state: &AppState) -> Result<usize, ServiceError> {
    let mut n = 0;
    for (id, mut job) in tables::all::<Job>(&state.store, JOBS)? {
        if matches!(job.status, JobStatus::Queued | JobStatus::Running) {
            job.status = JobStatus::Failed;
            job.finished = Some(now());
            job.error = Some(if job.kind == "checkpoint" {
                "interrupted by a restart of the service: see /v1/checkpoints/latest".into()
            } else {
                "interrupted by a restart of the service; the holder secret is never stored, so submit the proof again".into()
            });
            tables::put(&state.store, JOBS, &id, &job)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Publishes a checkpoint for a job already recorded as queued.
pub fn checkpoint(state: Arc<AppState>, id: String) {
    set_running(&state, &id);
    let outcome = state
        .store
        .checkpoint(&state.log_key, now())
        .map_err(ServiceError::from)
        .and_then(|note| {
            let body = dossier_core::checkpoint::open(note.as_bytes(), &state.log_verifier_key)?;
            Ok(serde_json::json!({"size": body.size, "note": note}))
        })
        .map_err(|e| e.parts().2);
    finish(&state, &id, outcome);
}

/// One verification waiting for the micro-batcher.
pub struct VerifyTask {
    /// The request.
    pub request: PresentationRequest,
    /// The presentation.
    pub presentation: Presentation,
    /// Where the outcome goes.
    pub reply: tokio::sync::oneshot::Sender<Result<Checked, VerifyError>>,
}

/// Largest number of presentations checked in one batch.
pub const VERIFY_BATCH: usize = 64;

/// A verification worker: takes whatever tasks are waiting (up to [`VERIFY_BATCH`]) and checks
/// them together, so that under load the pairing work is shared.
pub fn verify_worker(
    state: Arc<AppState>,
    rx: Arc<Mutex<tokio::sync::mpsc::Receiver<VerifyTask>>>,
) {
    loop {
        let mut tasks = Vec::new();
        {
            let mut rx = rx.lock().unwrap_or_else(|p| p.into_inner());
            match rx.blocking_recv() {
                Some(t) => tasks.push(t),
                None => return,
            }
            while tasks.len() < VERIFY_BATCH {
                match rx.try_recv() {
                    Ok(t) => tasks.push(t),
                    Err(_) => break,
                }
            }
        }
        let at = now();
        let items: Vec<BatchItem<'_>> = tasks
            .iter()
            .map(|t| BatchItem {
                request: &t.request,
                presentation: &t.presentation,
                now: at,
            })
            .collect();
        let results = dossier_verifier::verify_presentations(
            &items,
            &state.keys,
            &state.trust,
            &state.schemas,
        );
        drop(items);
        state.metrics.verify_batches.fetch_add(1, Ordering::Relaxed);
        for (task, result) in tasks.into_iter().zip(results) {
            let _ = task.reply.send(result);
        }
    }
}
