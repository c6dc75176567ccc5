//! Asynchronous work: proving jobs (a bounded queue and one worker, since a proof already uses
//! every core), checkpoint publication, and the verification micro-batcher (concurrent
//! verifications gathered into one batched pairing check).
//!
//! A job's status is durable in `svc_jobs` from the moment it is accepted (202). The holder's
//! secret is held in memory only, never written: so after a restart a job that had not finished
//! cannot be resumed, and is reported failed, never silently lost.
//!
//! Replicas of the service on one PostgreSQL database share `svc_jobs`, but each job's secret is
//! in the memory of the replica that accepted it, so only that replica can run it: a shared
//! queue of proving inputs would have to store secrets. Each job names its replica, each replica
//! writes a heartbeat every [`HEARTBEAT`], and every replica reports failed the unfinished jobs of
//! a replica silent for longer than [`LEASE_SECONDS`] (killed, or cut off). A job ends once:
//! its end is written only while it is still unfinished, in the same transaction that reads it,
//! so a job reported failed is never also reported done.

use crate::tables::{self, JOBS};
use crate::{now, AppState, ServiceError};
use dossier_core::holder::HolderSecret;
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::Fr;
use dossier_prover::Statement;
use dossier_store::kv::{Engine, Readable, Reading};
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
    /// The replica of the service that accepted it and holds its input (absent in jobs
    /// recorded before replicas were told apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
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
    /// A new queued job, accepted by `replica`.
    pub fn new(kind: &str, owner: &str, replica: &str) -> Job {
        Job {
            id: crate::random_id(),
            kind: kind.into(),
            owner: owner.into(),
            replica: Some(replica.into()),
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

fn unfinished(job: &Job) -> bool {
    matches!(job.status, JobStatus::Queued | JobStatus::Running)
}

fn finish(state: &AppState, id: &str, outcome: Result<serde_json::Value, String>) {
    let ended = tables::update::<Job>(&state.store, JOBS, id, |job| {
        if !unfinished(job) {
            return false;
        }
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
        true
    });
    match ended {
        Ok(true) => {}
        Ok(false) => tracing::warn!(job = id, "a job had already ended (reported failed)"),
        Err(e) => tracing::error!(job = id, error = %e, "could not record a job's end"),
    }
}

fn set_running(state: &AppState, id: &str) {
    let started = tables::update::<Job>(&state.store, JOBS, id, |job| {
        let queued = job.status == JobStatus::Queued;
        if queued {
            job.status = JobStatus::Running;
        }
        queued
    });
    if let Err(e) = started {
        tracing::error!(job = id, error = %e, "could not record a job's start");
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

/// How often a replica writes its heartbeat.
pub const HEARTBEAT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a replica may be silent before its unfinished jobs are reported failed.
pub const LEASE_SECONDS: u64 = 10;

/// Writes this replica's heartbeat.
pub fn heartbeat(state: &AppState) -> Result<(), ServiceError> {
    let txn = state.store.raw().begin_write()?;
    txn.open_table(tables::REPLICAS)?
        .insert(state.replica.as_str(), now())?;
    txn.commit()?;
    Ok(())
}

/// Reports failed the unfinished jobs no live replica holds: at start-up on the embedded store
/// (one process at a time), every job a previous run left; otherwise those of replicas silent
/// for longer than the lease. Returns how many.
pub fn recover(state: &AppState, at_start: bool) -> Result<usize, ServiceError> {
    let single_process = at_start && state.store.raw().engine() == Engine::Redb;
    let seen: std::collections::HashMap<String, u64> = {
        let txn = state.store.raw().begin_read()?;
        let t = txn.open_table(tables::REPLICAS)?;
        let mut m = std::collections::HashMap::new();
        for row in t.iter()? {
            let (k, v) = row?;
            m.insert(k.value().to_string(), v.value());
        }
        m
    };
    let now = now();
    let silent: Vec<(&String, u64)> = seen
        .iter()
        .filter(|(r, t)| **r != state.replica && now.saturating_sub(**t) > LEASE_SECONDS)
        .map(|(r, t)| (r, *t))
        .collect();
    // Between start-ups, only a replica that fell silent can leave jobs behind: without one,
    // the jobs table (every job ever accepted) is not read.
    if !at_start && silent.is_empty() {
        return Ok(0);
    }
    let held = |replica: &Option<String>| match replica {
        _ if single_process => false,
        Some(r) if *r == state.replica => true,
        Some(r) => seen
            .get(r)
            .is_some_and(|t| now.saturating_sub(*t) <= LEASE_SECONDS),
        None => false,
    };
    let mut n = 0;
    for (id, job) in tables::all::<Job>(&state.store, JOBS)? {
        if !unfinished(&job) || held(&job.replica) {
            continue;
        }
        let failed = tables::update::<Job>(&state.store, JOBS, &id, |job| {
            if !unfinished(job) {
                return false;
            }
            job.status = JobStatus::Failed;
            job.finished = Some(now);
            job.error = Some(if job.kind == "checkpoint" {
                "interrupted: the service that accepted it stopped; see /v1/checkpoints/latest"
                    .into()
            } else {
                "interrupted: the service that accepted it stopped, and the holder secret is never stored, so submit the proof again".into()
            });
            true
        })?;
        n += usize::from(failed);
    }
    forget(state, &silent)?;
    Ok(n)
}

/// Removes the heartbeats of silent replicas whose jobs were just reported failed, unless a
/// replica spoke again meanwhile (its heartbeat changed).
fn forget(state: &AppState, silent: &[(&String, u64)]) -> Result<(), ServiceError> {
    if silent.is_empty() {
        return Ok(());
    }
    let txn = state.store.raw().begin_write()?;
    {
        let mut t = txn.open_table(tables::REPLICAS)?;
        for (replica, last) in silent {
            let unchanged = t.get(replica.as_str())?.map(|v| v.value()) == Some(*last);
            if unchanged {
                t.remove(replica.as_str())?;
            }
        }
    }
    txn.commit()?;
    Ok(())
}

/// Keeps this replica's heartbeat and reports the jobs of silent replicas failed, until
/// shutdown.
pub fn replica_worker(state: Arc<AppState>) {
    let mut last = std::time::Instant::now();
    while !state.shutting_down.load(Ordering::SeqCst) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        if last.elapsed() < HEARTBEAT {
            continue;
        }
        last = std::time::Instant::now();
        if let Err(e) = heartbeat(&state) {
            tracing::error!(error = %e, "could not write the replica's heartbeat");
        }
        match recover(&state, false) {
            Ok(0) => {}
            Ok(n) => tracing::warn!(jobs = n, "jobs of a stopped replica reported failed"),
            Err(e) => tracing::error!(error = %e, "could not look for a stopped replica's jobs"),
        }
    }
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
