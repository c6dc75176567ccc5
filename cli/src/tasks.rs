//! `dossier tasks`: the work for people that rule actions created (a probation review to hold,
//! a retirement to approve), listed per party, and closed: approved — taking the credential
//! actions the rule names, in the same transaction as the task's record — or declined.

use crate::error::CliError;
use crate::{Out, Sink, TasksCmd};
use dossier_core::credential::CredentialOpening;
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::schema::SchemaSet;
use dossier_store::home::Home;
use dossier_store::rules::{Task, TaskState};
use dossier_workflow::office;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Runs a `dossier tasks` command.
pub fn tasks(home: &Home, out: &Out, schemas: &SchemaSet, cmd: TasksCmd) -> Result<i32, CliError> {
    match cmd {
        TasksCmd::List { issuer, party, all } => {
            let party = party.map(|p| p.name());
            let tasks = home.reader()?.tasks(issuer.as_deref(), party, !all)?;
            out.emit(
                if tasks.is_empty() {
                    "no tasks".to_string()
                } else {
                    tasks
                        .iter()
                        .map(|t| {
                            format!(
                                "{:<10} {:<16} {:<14} credential {:<6} {:?}  {}",
                                t.id(),
                                t.issuer,
                                t.party,
                                t.credential_id,
                                t.state,
                                t.title
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                json!({"tasks": tasks.iter().map(|t| json!({"id": t.id(), "task": t})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
        TasksCmd::Decline { issuer, task, on } => {
            let id = task_id(&task)?;
            let key = home.issuer_key(&issuer, None)?;
            let day = day_of(on)?;
            let task = home
                .store()?
                .close_task(&key, id, TaskState::Declined, day)?;
            out.emit(
                format!(
                    "task {} declined: nothing done to credential {}",
                    task.id(),
                    task.credential_id
                ),
                json!({"task": task}),
            );
            Ok(0)
        }
        TasksCmd::Approve {
            issuer,
            task,
            openings,
            out: sink,
            on,
        } => approve(
            home,
            out,
            schemas,
            &issuer,
            &task,
            &openings,
            sink,
            day_of(on)?,
        ),
    }
}

fn day_of(on: Option<String>) -> Result<u32, CliError> {
    match on {
        None => Ok(dossier_core::clock::today()),
        Some(s) => date_to_days(&s).map_err(|e| CliError::Input(format!("--on: {e}"))),
    }
}

/// A task id, `<entry>.<action>`.
fn task_id(text: &str) -> Result<(u64, u8), CliError> {
    Task::parse_id(text).ok_or_else(|| {
        CliError::Input("a task id is <entry>.<action>, as `dossier tasks list` shows".into())
    })
}

#[allow(clippy::too_many_arguments)]
fn approve(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    issuer: &str,
    task: &str,
    openings: &Path,
    sink: Option<PathBuf>,
    day: u32,
) -> Result<i32, CliError> {
    let id = task_id(task)?;
    let key = home.issuer_key(issuer, None)?;
    let openings = crate::holder::read_openings(openings)?;
    let store = home.store()?;
    let approval = office::approve_task(
        &store,
        &key,
        schemas,
        id,
        &openings,
        day,
        dossier_core::clock::now(),
        &|_, _| Ok(()),
    )?;
    Sink::open(&sink)?.write(&approval.credentials)?;
    let task = &approval.task;
    let text = match &approval.proposal {
        Some(p) => format!(
            "task {}: credential {} ({}) proposed to its committee as proposal {}; approve the task again once its members have approved it (`dossier committee approve --proposal {}`)",
            task.id(),
            p.opening.credential_id,
            p.opening.schema,
            p.id,
            p.id
        ),
        None => format!(
            "task {} approved on {}: {}",
            task.id(),
            days_to_date(day),
            written_text(task, &approval.credentials)
        ),
    };
    out.emit(
        text,
        json!({
            "task": task,
            "credentials": approval.credentials.iter().map(|o| json!({"credential_id": o.credential_id, "schema": o.schema})).collect::<Vec<_>>(),
            "proposal": approval.proposal.as_ref().map(|p| p.id),
        }),
    );
    Ok(0)
}

/// What an approval wrote, for people.
fn written_text(task: &Task, written: &[CredentialOpening]) -> String {
    if written.is_empty() {
        return "no credential action".to_string();
    }
    written
        .iter()
        .map(|o| {
            let how = if o.credential_id == task.credential_id {
                "updated"
            } else {
                "issued"
            };
            format!("credential {} ({}) {how}", o.credential_id, o.schema)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
