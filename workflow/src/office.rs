//! The HR office's side, over its store: runs its engine for a day (evaluates, then records the
//! new cases, each once) and approves its tasks (taking the credential actions a rule names, in
//! the transaction that closes the task). The CLI, the demo and the service all go through
//! here, so an action taken from one is taken the same way from another.

use crate::book::IssuerLedger;
use crate::engine::{evaluate, Case, Evaluation};
use crate::facts::Facts;
use crate::rule::{ActionKind, Rule};
use crate::WorkflowError;
use dossier_core::credential::{Claim, CredentialOpening, EncodedClaim};
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::entry::Entry;
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta, Fr};
use dossier_store::authority::Proposal;
use dossier_store::rules::{put_task, Firing, FiringKey, Proposed, Task, TaskState};
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

/// What approving a task did.
#[derive(Debug)]
pub struct Approval {
    /// The task as it now stands: approved, or still open while its credential waits for the
    /// committee's approvals.
    pub task: Task,
    /// The credentials written (their openings): issued, then updated.
    pub credentials: Vec<CredentialOpening>,
    /// The proposal this approval opened for the committee of the schema to issue, if any.
    pub proposal: Option<Proposal>,
}

/// Approves an open task of the key's issuer on `day`: takes the credential actions its rule
/// names (ledger time `time`; `keep` runs in each of their transactions) and returns the task
/// and the new credentials' openings. An approval interrupted after issuing its credential and
/// before updating the case's does not issue it again.
///
/// A credential to issue of a schema under a committee is proposed to it instead (the task
/// stays open and records the proposal): once the members have approved the proposal,
/// approving the task again issues it (or finds it issued by `dossier committee finalize`) and
/// takes the remaining actions.
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
) -> Result<Approval, WorkflowError> {
    let issuer = key.name();
    let mut task: Task = store.task(id)?.ok_or_else(|| refused("no such task"))?;
    if task.issuer != issuer || task.state != TaskState::Open {
        return Err(refused("the task is another issuer's, or closed"));
    }
    let info = store.issuer(issuer)?;
    let (ledger, _) = issuer_ledger(store, info.issuer_id, schemas)?;
    let opening = current_opening(&ledger, info.issuer_id, openings, schemas, &task)?;
    let approved = approved_actions(store, &task, opening, day, schemas)?;
    let mut written: Vec<CredentialOpening> = Vec::new();
    if let (Some((other, fields)), None) = (&approved.issue, task.issued) {
        let claim = claim_for(opening, other, fields.clone(), None).encode(schemas)?;
        let step = IssueStep {
            store,
            key,
            claim: &claim,
            last: approved.update.is_none(),
            day,
            time,
            keep,
        };
        let issued = match task.proposed {
            Some(proposed) if ledger.current.contains_key(&proposed.credential_id) => {
                step.found(&task, proposed.credential_id)?
            }
            Some(proposed) => step.finalize(&task, proposed.proposal, schemas)?,
            None if store.committee(&info, &claim.schema_id)?.is_some() => {
                let (task, proposal) = step.propose(&task)?;
                return Ok(Approval {
                    task,
                    credentials: Vec::new(),
                    proposal: Some(proposal),
                });
            }
            None => step.issue(&task)?,
        };
        task = issued.0;
        written.extend(issued.1);
    }
    if let Some(fields) = approved.update {
        let claim = claim_for(opening, &opening.schema, fields, opening.expires_at.clone())
            .encode(schemas)?;
        let after = approved_on(&task, day);
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
    Ok(Approval {
        task,
        credentials: written,
        proposal: None,
    })
}

/// The opening given of the case's credential as the ledger holds it now.
fn current_opening<'a>(
    ledger: &IssuerLedger,
    issuer_id: Fr,
    openings: &'a [CredentialOpening],
    schemas: &SchemaSet,
    task: &Task,
) -> Result<&'a CredentialOpening, WorkflowError> {
    let current = ledger.current.get(&task.credential_id).copied();
    openings
        .iter()
        .find(|o| {
            o.issuer_id == issuer_id
                && Some(o.commitment) == current
                && o.credential(schemas).is_ok()
        })
        .ok_or_else(|| {
            refused(format!(
                "no opening of credential {}'s current version was given",
                task.credential_id
            ))
        })
}

/// The credential actions the task's rule takes on approval, computed from the case's opening.
fn approved_actions(
    store: &Store,
    task: &Task,
    opening: &CredentialOpening,
    day: u32,
    schemas: &SchemaSet,
) -> Result<crate::rule::Approved, WorkflowError> {
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
    rule.approve(usize::from(task.action), &facts, day, schemas)
}

/// The task approved on `day`.
fn approved_on(task: &Task, day: u32) -> Task {
    let mut after = task.clone();
    after.state = TaskState::Approved;
    after.closed_on = Some(days_to_date(day));
    after
}

/// The step of an approval that issues the rule's new credential (directly, or through the
/// schema's committee).
struct IssueStep<'a> {
    store: &'a Store,
    key: &'a KeyPair,
    claim: &'a EncodedClaim,
    /// Whether it is the approval's last action (then the task is closed with it).
    last: bool,
    day: u32,
    time: u64,
    keep: Keep<'a>,
}

impl IssueStep<'_> {
    /// The task once credential `id` is issued.
    fn after(&self, task: &Task, id: u32) -> Task {
        let mut after = if self.last {
            approved_on(task, self.day)
        } else {
            task.clone()
        };
        after.issued = Some(id);
        after
    }

    fn opening(&self, c: &dossier_core::credential::Credential) -> CredentialOpening {
        CredentialOpening::new(self.claim, self.key.name(), c)
    }

    /// Issues it now, recording the task in the same transaction.
    fn issue(&self, task: &Task) -> Result<(Task, Vec<CredentialOpening>), WorkflowError> {
        let mut after = task.clone();
        let credentials = self.store.issue_with(
            self.key,
            std::slice::from_ref(self.claim),
            self.day,
            self.time,
            |txn, made| {
                if let Some(c) = made.first() {
                    after = self.after(task, c.credential_id);
                }
                put_task(txn, &after)?;
                let kept: Vec<CredentialOpening> = made.iter().map(|c| self.opening(c)).collect();
                (self.keep)(txn, &kept)
            },
        )?;
        Ok((after, credentials.iter().map(|c| self.opening(c)).collect()))
    }

    /// Proposes it to the schema's committee, recording the proposal on the task in the same
    /// transaction.
    fn propose(&self, task: &Task) -> Result<(Task, Proposal), WorkflowError> {
        let mut after = task.clone();
        let proposal =
            self.store
                .propose_with(self.key, self.claim, self.day, self.time, |txn, p| {
                    after.proposed = Some(Proposed {
                        proposal: p.id,
                        credential_id: p.opening.credential_id,
                    });
                    put_task(txn, &after)
                })?;
        Ok((after, proposal))
    }

    /// Issues the proposal the committee approved (refused below its threshold).
    fn finalize(
        &self,
        task: &Task,
        proposal: u64,
        schemas: &SchemaSet,
    ) -> Result<(Task, Vec<CredentialOpening>), WorkflowError> {
        let mut after = task.clone();
        let opening =
            self.store
                .finalize_with(self.key, proposal, schemas, self.time, |txn, o| {
                    after = self.after(task, o.credential_id);
                    put_task(txn, &after)?;
                    (self.keep)(txn, std::slice::from_ref(o))
                })?;
        Ok((after, vec![opening]))
    }

    /// The proposal was issued already (`dossier committee finalize`, whose caller has its
    /// opening): the task records it.
    fn found(&self, task: &Task, id: u32) -> Result<(Task, Vec<CredentialOpening>), WorkflowError> {
        let after = self.after(task, id);
        self.store.save_task(self.key, &after)?;
        Ok((after, Vec::new()))
    }
}
