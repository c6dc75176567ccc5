//! The HR office's side, over its store: runs its engine for a day (evaluates, then records the
//! new cases, each once) and approves its tasks (taking the credential actions a rule names, in
//! the transaction that closes the task). The CLI, the demo and the service all go through
//! here, so an action taken from one is taken the same way from another.

use crate::book::IssuerLedger;
use crate::engine::{evaluate, Case, Evaluation};
use crate::facts::Facts;
use crate::rule::{ActionKind, Rule};
use crate::WorkflowError;
use dossier_core::credential::{Claim, CredentialOpening};
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::entry::Entry;
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta, Fr};
use dossier_store::rules::{put_task, Firing, FiringKey, Task, TaskState};
use dossier_store::{ReadableDatabase, Store, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;

/// Decodes every entry of a store's ledger, in log order.
pub fn ledger_entries<D: ReadableDatabase>(store: &Store<D>) -> Result<Vec<Entry>, WorkflowError> {
    store
        .entries(0, u64::MAX)?
        .iter()
        .map(|b| Entry::from_bytes(b).map_err(WorkflowError::from))
        .collect()
}

/// An adoption whose rule could not be read (its text missing, or not the one adopted).
#[derive(Clone, Debug, Serialize)]
pub struct Unreadable {
    /// The `RuleAdopted` entry.
    pub entry: u64,
    /// Why.
    pub reason: String,
}

/// An issuer's side of a store's ledger, with the adoptions whose rule could not be read.
pub fn issuer_ledger<D: ReadableDatabase>(
    store: &Store<D>,
    issuer_id: Fr,
    schemas: &SchemaSet,
) -> Result<(IssuerLedger, Vec<Unreadable>), WorkflowError> {
    let entries = ledger_entries(store)?;
    let mut unreadable = Vec::new();
    let ledger = IssuerLedger::replay(
        issuer_id,
        entries.iter().enumerate().map(|(i, e)| (i as u64, e)),
        |h| store.rule_text(h).ok().flatten(),
        schemas,
        |entry, e| {
            unreadable.push(Unreadable {
                entry,
                reason: e.to_string(),
            })
        },
    );
    Ok((ledger, unreadable))
}

/// What the store records of a case: its key, the parties its actions address (for the
/// webhook subscriptions), the announcement's details (the rule's name and version and the
/// actions' kinds and public titles) and its tasks.
fn firing(c: &Case) -> Firing {
    let mut parties: Vec<String> = c.actions.iter().map(|a| a.to.name().to_string()).collect();
    parties.sort();
    parties.dedup();
    Firing {
        key: c.key(),
        parties,
        details: serde_json::json!({"rule_name": c.rule, "version": c.version, "due": c.due, "actions": c.actions}),
        tasks: c
            .actions
            .iter()
            .enumerate()
            .filter(|(_, a)| a.kind == ActionKind::Task)
            .map(|(i, a)| (i as u8, a.to.name().to_string(), a.title.clone()))
            .collect(),
    }
}

/// What one run of an issuer's engine found and recorded.
#[derive(Clone, Debug, Serialize)]
pub struct Run {
    /// The cases due and the failures.
    pub evaluation: Evaluation,
    /// The `RuleFired` entries written (`None` for a case taken meanwhile, by another run).
    pub written: Vec<Option<u64>>,
    /// Adoptions whose rule could not be read.
    pub unreadable: Vec<Unreadable>,
}

/// Runs an issuer's engine on `as_of` over `openings`, recording the new cases with the key
/// (none: a dry run) at ledger time `time`.
pub fn run(
    store: &Store,
    key: Option<&KeyPair>,
    issuer: &str,
    schemas: &SchemaSet,
    openings: &[CredentialOpening],
    as_of: u32,
    time: u64,
) -> Result<Run, WorkflowError> {
    let info = store.issuer(issuer)?;
    let (ledger, unreadable) = issuer_ledger(store, info.issuer_id, schemas)?;
    let taken: BTreeSet<FiringKey> = store.firings(issuer)?.into_iter().map(|(k, _)| k).collect();
    let evaluation = evaluate(&ledger, info.issuer_id, schemas, openings, as_of, &taken);
    let new: Vec<Firing> = evaluation
        .cases
        .iter()
        .filter(|c| !c.taken_before)
        .map(firing)
        .collect();
    let written = match key {
        Some(key) if !new.is_empty() => store.fire_rules(key, &new, as_of, time)?,
        _ => Vec::new(),
    };
    Ok(Run {
        evaluation,
        written,
        unreadable,
    })
}

/// The claim of a credential for the case's holder, with the values an approval computed.
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

fn refused(reason: impl Into<String>) -> WorkflowError {
    WorkflowError::Task {
        reason: reason.into(),
    }
}

/// What the caller keeps beside an approval's credentials, in their transaction (the service's
/// copy of the openings).
pub type Keep<'a> =
    &'a dyn Fn(&redb::WriteTransaction, &[CredentialOpening]) -> Result<(), StoreError>;

/// Approves an open task of the key's issuer on `day`: takes the credential actions its rule
/// names (ledger time `time`; `keep` runs in each of their transactions) and returns the task
/// and the new credentials' openings. An approval interrupted after issuing its credential and
/// before updating the case's does not issue it again.
#[allow(clippy::too_many_arguments)]
pub fn approve_task(
    store: &Store,
    key: &KeyPair,
    schemas: &SchemaSet,
    id: (u64, u8),
    openings: &[CredentialOpening],
    day: u32,
    time: u64,
    keep: Keep<'_>,
) -> Result<(Task, Vec<CredentialOpening>), WorkflowError> {
    let issuer = key.name();
    let mut task: Task = store.task(id)?.ok_or_else(|| refused("no such task"))?;
    if task.issuer != issuer || task.state != TaskState::Open {
        return Err(refused("the task is another issuer's, or closed"));
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
            refused(format!(
                "no opening of credential {}'s current version was given",
                task.credential_id
            ))
        })?;
    let hash = dossier_store::rules::parse_rule_hash(&task.rule)
        .ok_or_else(|| refused("a corrupt task"))?;
    let text = store
        .rule_text(&hash)?
        .ok_or_else(|| refused("the task's rule text is not kept here"))?;
    let rule = Rule::parse(&text, schemas)?;
    let schema = schemas.get(&opening.schema)?;
    let issued_at = date_to_days(&opening.issued_at).map_err(|_| WorkflowError::Value {
        field: "issued_at".into(),
    })?;
    let facts = Facts::new(schema, opening.credential_id, issued_at, &opening.fields)?
        .with_schemas(schemas);
    let approved = rule.approve(usize::from(task.action), &facts, day, schemas)?;
    let mut written: Vec<CredentialOpening> = Vec::new();
    if let (Some((other, fields)), None) = (&approved.issue, task.issued) {
        let claim = claim_for(opening, other, fields.clone(), None).encode(schemas)?;
        let last_step = approved.update.is_none();
        let mut after = task.clone();
        let credentials =
            store.issue_with(key, std::slice::from_ref(&claim), day, time, |txn, made| {
                after.issued = made.first().map(|c| c.credential_id);
                if last_step {
                    after.state = TaskState::Approved;
                    after.closed_on = Some(days_to_date(day));
                }
                put_task(txn, &after)?;
                let kept: Vec<CredentialOpening> = made
                    .iter()
                    .map(|c| CredentialOpening::new(&claim, issuer, c))
                    .collect();
                keep(txn, &kept)
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
            store.update_with(key, task.credential_id, &claim, day, time, |txn, c| {
                put_task(txn, &after)?;
                keep(txn, &[CredentialOpening::new(&claim, issuer, c)])
            })?;
        task = after;
        written.push(CredentialOpening::new(&claim, issuer, &credential));
    }
    if task.state == TaskState::Open {
        task = store.close_task(key, id, TaskState::Approved, day)?;
    }
    Ok((task, written))
}
