//! `dossier tasks`: the work for people that rule actions created (a probation review to hold,
//! a retirement to approve), listed per party, and closed: approved — taking the credential
//! actions the rule names, in the same transaction as the task's record — or declined.

use crate::error::CliError;
use crate::rules::issuer_ledger;
use crate::{Out, Sink, TasksCmd};
use dossier_core::credential::{Claim, CredentialOpening};
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta};
use dossier_store::home::Home;
use dossier_store::rules::{put_task, Task, TaskState};
use dossier_workflow::facts::Facts;
use dossier_workflow::Rule;
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
    let bad =
        || CliError::Input("a task id is <entry>.<action>, as `dossier tasks list` shows".into());
    let (e, a) = text.split_once('.').ok_or_else(bad)?;
    Ok((e.parse().map_err(|_| bad())?, a.parse().map_err(|_| bad())?))
}

/// The claim of a credential for a holder, with the values an approval computed.
fn claim_for(
    opening: &CredentialOpening,
    schema: &str,
    fields: serde_json::Map<String, serde_json::Value>,
    expires_at: Option<String>,
) -> Claim {
    Claim {
        schema: schema.to_string(),
        holder: field::to_hex(&opening.holder),
        holder_halo2: opening.holder_halo2.as_ref().map(pasta::to_hex),
        expires_at,
        fields,
    }
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
    let (task, written) = approve_task(
        &store,
        &key,
        schemas,
        id,
        &openings,
        day,
        dossier_core::clock::now(),
    )?;
    Sink::open(&sink)?.write(&written)?;
    out.emit(
        format!(
            "task {} approved on {}: {}",
            task.id(),
            days_to_date(day),
            if written.is_empty() {
                "no credential action".to_string()
            } else {
                written
                    .iter()
                    .map(|o| format!("credential {} ({}) {}", o.credential_id, o.schema, if o.credential_id == task.credential_id { "updated" } else { "issued" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        ),
        json!({"task": task, "credentials": written.iter().map(|o| json!({"credential_id": o.credential_id, "schema": o.schema})).collect::<Vec<_>>()}),
    );
    Ok(0)
}

/// Approves an open task of the key's issuer on `day`: takes the credential actions its rule
/// names (ledger time `time`) and returns the task and the new credentials' openings.
pub fn approve_task(
    store: &dossier_store::Store,
    key: &dossier_core::keys::KeyPair,
    schemas: &SchemaSet,
    id: (u64, u8),
    openings: &[CredentialOpening],
    day: u32,
    now: u64,
) -> Result<(Task, Vec<CredentialOpening>), CliError> {
    let issuer = key.name();
    let mut task: Task = store
        .task(id)?
        .ok_or_else(|| CliError::Input("no such task".into()))?;
    if task.issuer != issuer || task.state != TaskState::Open {
        return Err(CliError::Input(
            "the task is another issuer's, or closed".into(),
        ));
    }
    let info = store.issuer(issuer)?;
    let (ledger, _) = issuer_ledger(store, info.issuer_id, schemas)?;
    let current = ledger.current.get(&task.credential_id).copied();
    let opening = openings
        .iter()
        .find(|o| {
            o.issuer_id == info.issuer_id
                && Some(o.commitment) == current
                && o.credential(schemas).is_ok()
        })
        .ok_or_else(|| {
            CliError::Input(format!(
                "the openings file has no current version of credential {}",
                task.credential_id
            ))
        })?;
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&task.rule, &mut hash)
        .map_err(|_| CliError::Input("corrupt task".into()))?;
    let text = store
        .rule_text(&hash)?
        .ok_or_else(|| CliError::Input("the task's rule text is not kept here".into()))?;
    let rule = Rule::parse(&text, schemas)?;
    let schema = schemas.get(&opening.schema)?;
    let issued_at =
        date_to_days(&opening.issued_at).map_err(|e| CliError::Input(format!("issued_at: {e}")))?;
    let facts = Facts::new(schema, opening.credential_id, issued_at, &opening.fields)?
        .with_schemas(schemas);
    let approved = rule.approve(usize::from(task.action), &facts, day, schemas)?;
    let mut written: Vec<CredentialOpening> = Vec::new();
    if let (Some((other, fields)), None) = (&approved.issue, task.issued) {
        let claim = claim_for(opening, other, fields.clone(), None).encode(schemas)?;
        let last_step = approved.update.is_none();
        let mut after = task.clone();
        let credentials =
            store.issue_with(key, std::slice::from_ref(&claim), day, now, |txn, made| {
                after.issued = made.first().map(|c| c.credential_id);
                if last_step {
                    after.state = TaskState::Approved;
                    after.closed_on = Some(days_to_date(day));
                }
                put_task(txn, &after)
            })?;
        task = after;
        written.extend(
            credentials
                .iter()
                .map(|c| CredentialOpening::new(&claim, issuer, c)),
        );
    }
    if let Some(fields) = approved.update {
        let claim = claim_for(opening, &opening.schema, fields, opening.expires_at.clone())
            .encode(schemas)?;
        let mut after = task.clone();
        after.state = TaskState::Approved;
        after.closed_on = Some(days_to_date(day));
        let credential =
            store.update_with(key, task.credential_id, &claim, day, now, |txn, _| {
                put_task(txn, &after)
            })?;
        task = after;
        written.push(CredentialOpening::new(&claim, issuer, &credential));
    }
    if task.state == TaskState::Open {
        task = store.close_task(key, id, TaskState::Approved, day)?;
    }
    Ok((task, written))
}
