//! The HR office's side, over its store: runs its engine for a day (evaluates, then records the
//! new cases, each once) and approves its tasks (taking the credential actions a rule names, in
//! the transaction that closes the task). The CLI, the demo and the service all go through
//! here, so an action taken from one is taken the same way from another.

use crate::book::IssuerLedger;
use crate::engine::{evaluate, Case, Evaluation};
use crate::facts::Facts;
use crate::rule::{ActionKind, BallotAction, Rule};
use crate::WorkflowError;
use dossier_core::ballot::BallotDraft;
use dossier_core::credential::{Claim, CredentialOpening, EncodedClaim};
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::entry::Entry;
use dossier_core::keys::KeyPair;
use dossier_core::presentation::Backend;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta, Fr};
use dossier_store::authority::Proposal;
use dossier_store::kv::WriteTxn;
use dossier_store::rules::{put_task, Firing, FiringKey, Proposed, Task, TaskState};
use dossier_store::{Reading, Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// Decodes every entry of a store's ledger, in log order.
pub fn ledger_entries<D: Reading>(store: &Store<D>) -> Result<Vec<Entry>, WorkflowError> {
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
pub fn issuer_ledger<D: Reading>(
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
/// actions' kinds and public titles), its tasks, and the case credential's values (its current
/// opening's schema and fields) for the subscriptions entitled to them.
fn firing(c: &Case, opening: Option<&CredentialOpening>) -> Firing {
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
        values: opening.map(|o| serde_json::json!({"schema": o.schema, "fields": o.fields})),
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
    /// The ballots its cases' ballot actions opened (none on a dry run).
    pub ballots: RuleBallots,
}

/// How a run publishes the checkpoint that is its ballots' roll (called only when a ballot is
/// to be opened).
pub type PublishRoll<'a> = &'a dyn Fn() -> Result<String, StoreError>;

/// Runs an issuer's engine on `as_of` over `openings`, recording the new cases with the key
/// (none: a dry run) at ledger time `time`, then opening the ballots its cases' ballot
/// actions wait for.
#[allow(clippy::too_many_arguments)]
pub fn run(
    store: &Store,
    key: Option<&KeyPair>,
    issuer: &str,
    schemas: &SchemaSet,
    openings: &[CredentialOpening],
    as_of: u32,
    time: u64,
    publish: PublishRoll<'_>,
) -> Result<Run, WorkflowError> {
    let info = store.issuer(issuer)?;
    let (ledger, unreadable) = issuer_ledger(store, info.issuer_id, schemas)?;
    let taken: BTreeSet<FiringKey> = store.firings(issuer)?.into_iter().map(|(k, _)| k).collect();
    let evaluation = evaluate(&ledger, info.issuer_id, schemas, openings, as_of, &taken);
    let current = CurrentOpenings::new(&ledger, info.issuer_id, openings);
    let new: Vec<Firing> = evaluation
        .cases
        .iter()
        .filter(|c| !c.taken_before)
        // A dry run records nothing, so it reads no values for messages.
        .map(|c| firing(c, key.and_then(|_| current.get(c.credential_id, schemas))))
        .collect();
    let written = match key {
        Some(key) if !new.is_empty() => store.fire_rules(key, &new, as_of, time)?,
        _ => Vec::new(),
    };
    let ballots = match key {
        Some(key) => {
            let at = RunAt { day: as_of, time };
            open_ballots(store, key, &ledger, &current, schemas, at, publish)?
        }
        None => RuleBallots::default(),
    };
    Ok(Run {
        evaluation,
        written,
        unreadable,
        ballots,
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
pub type Keep<'a> = &'a dyn Fn(&WriteTxn, &[CredentialOpening]) -> Result<(), StoreError>;

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
    let opening = CurrentOpenings::new(&ledger, info.issuer_id, openings)
        .get(task.credential_id, schemas)
        .ok_or_else(|| {
            refused(format!(
                "no opening of credential {}'s current version was given",
                task.credential_id
            ))
        })?;
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

/// A ballot a rule's cases opened.
#[derive(Clone, Debug, Serialize)]
pub struct OpenedBallot {
    /// Its name: `<rule>.<day>.<unit>[.<n>]`.
    pub name: String,
    /// The rule's name.
    pub rule: String,
    /// The unit whose members rate.
    pub unit: String,
    /// How many cases it rates.
    pub appraisees: usize,
    /// Its `BallotOpened` entry.
    pub entry: u64,
}

/// What opening an issuer's pending rule ballots did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleBallots {
    /// The ballots opened, one per rule, action and unit (more past
    /// [`dossier_core::entry::MAX_APPRAISEES`] cases).
    pub opened: Vec<OpenedBallot>,
    /// Cases whose ballot waits: no opening of their credential's current version was given
    /// (a later run with it opens their ballot).
    pub waiting: usize,
    /// The checkpoint published as the ballots' roll, if any was opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roll_size: Option<u64>,
}

/// One case of a ballot action waiting for its ballot.
struct BallotCase<'a> {
    /// Its `RuleFired` entry and the action's index.
    case: (u64, u8),
    credential_id: u32,
    rule: &'a Rule,
    ballot: &'a BallotAction,
}

/// The cases of one rule, action and unit waiting for their ballot.
struct UnitCases<'a> {
    action: &'a BallotAction,
    cases: Vec<(u64, u8)>,
    labels: Vec<String>,
}

/// The cases whose ballot action has no ballot yet, in entry order.
fn ballot_cases<'a>(
    ledger: &'a IssuerLedger,
    firings: &[(FiringKey, u64)],
    rated: &std::collections::BTreeMap<(u64, u8), String>,
) -> Vec<BallotCase<'a>> {
    let mut out = Vec::new();
    for (key, entry) in firings {
        let Some(adopted) = ledger.book.by_hash(&key.rule) else {
            continue;
        };
        for (i, ballot) in adopted.rule.ballot_actions() {
            let case = (*entry, i as u8);
            if !rated.contains_key(&case) {
                out.push(BallotCase {
                    case,
                    credential_id: key.credential_id,
                    rule: &adopted.rule,
                    ballot,
                });
            }
        }
    }
    out.sort_by_key(|c| c.case);
    out
}

/// A ballot's name from its rule, day and unit: `A-Z a-z 0-9 . _ : -`, at most 64 bytes (a
/// unit of other characters, or longer than 20, is named by the start of its SHA-256).
fn ballot_name(rule: &str, day: u32, unit: &str, n: usize) -> String {
    use sha2::Digest;
    let plain = unit.len() <= 20
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    let unit = if plain {
        unit.to_string()
    } else {
        format!(
            "u{}",
            &hex::encode(sha2::Sha256::digest(unit.as_bytes()))[..8]
        )
    };
    let rule = &rule[..rule.len().min(24)];
    let base = format!("{rule}.{}.{unit}", days_to_date(day));
    if n <= 1 {
        base
    } else {
        format!("{base}.{n}")
    }
}

/// When a run acts: its day and its ledger time.
#[derive(Clone, Copy)]
struct RunAt {
    day: u32,
    time: u64,
}

/// Opens the ballots of an issuer's rule cases whose ballot action has none yet: one per rule,
/// action and unit (the case credential's unit field, read from its current opening), its
/// appraisees `servant-<credential id>`, open from the run's time for the action's days, its
/// roll a checkpoint `publish` signs now, only when a ballot is to be opened (so every
/// colleague's current credential is on it; the CLI also gathers the witnesses'
/// cosignatures). Each ballot and the cases it rates are written in one transaction: a case
/// is rated in one ballot, even if a run is killed and run again. `ledger` is the run's own
/// replay (its cases' `RuleFired` entries change no credential).
fn open_ballots(
    store: &Store,
    key: &KeyPair,
    ledger: &IssuerLedger,
    current: &CurrentOpenings<'_>,
    schemas: &SchemaSet,
    at: RunAt,
    publish: PublishRoll<'_>,
) -> Result<RuleBallots, WorkflowError> {
    let issuer = key.name();
    let firings = store.firings(issuer)?;
    let rated = store.rule_ballots()?;
    let pending = ballot_cases(ledger, &firings, &rated);
    let mut out = RuleBallots::default();
    // One ballot (or more, past the most appraisees a ballot takes) per rule, action and unit.
    let mut groups: std::collections::BTreeMap<(&str, u8, String), UnitCases<'_>> =
        std::collections::BTreeMap::new();
    for c in &pending {
        let Some(unit) = case_unit(current, schemas, c) else {
            out.waiting += 1;
            continue;
        };
        let g = groups
            .entry((c.rule.name.as_str(), c.case.1, unit))
            .or_insert_with(|| UnitCases {
                action: c.ballot,
                cases: Vec::new(),
                labels: Vec::new(),
            });
        g.cases.push(c.case);
        g.labels.push(format!("servant-{}", c.credential_id));
    }
    if groups.is_empty() {
        return Ok(out);
    }
    let roll = publish()?;
    if let Some((_, log_key)) = store.ledger_identity()? {
        out.roll_size = Some(dossier_core::checkpoint::open(roll.as_bytes(), &log_key)?.size);
    }
    for ((rule, _, unit), g) in groups {
        let action = g.action;
        for (cases, labels) in g
            .cases
            .chunks(dossier_core::entry::MAX_APPRAISEES)
            .zip(g.labels.chunks(dossier_core::entry::MAX_APPRAISEES))
        {
            let name = free_ballot_name(store, rule, at.day, &unit)?;
            let ballot = BallotDraft {
                name: name.clone(),
                issuer: issuer.to_string(),
                unit: unit.clone(),
                appraisees: labels.to_vec(),
                choices: action.choices,
                opens: at.time,
                closes: at.time + u64::from(action.days) * 86_400,
                backend: Backend::Groth16,
            }
            .with_roll(roll.clone());
            let entry = store.open_rule_ballot(key, &ballot, cases, at.time)?;
            out.opened.push(OpenedBallot {
                name,
                rule: rule.to_string(),
                unit: unit.clone(),
                appraisees: labels.len(),
                entry,
            });
        }
    }
    Ok(out)
}

/// The first ballot name of the rule, day and unit not in use.
fn free_ballot_name(
    store: &Store,
    rule: &str,
    day: u32,
    unit: &str,
) -> Result<String, WorkflowError> {
    for n in 1.. {
        let name = ballot_name(rule, day, unit, n);
        match store.ballot(&name) {
            Err(StoreError::UnknownBallot) => return Ok(name),
            Err(e) => return Err(e.into()),
            Ok(_) => continue,
        }
    }
    Err(refused("no free ballot name"))
}

/// The unit a case's credential names now (its current opening's unit field), if the opening
/// was given.
fn case_unit(
    current: &CurrentOpenings<'_>,
    schemas: &SchemaSet,
    c: &BallotCase<'_>,
) -> Option<String> {
    current
        .get(c.credential_id, schemas)?
        .fields
        .get(&c.ballot.unit)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// The given openings that claim to be the issuer's credentials' current versions, by
/// credential id. [`CurrentOpenings::get`] says which one opens its commitment, checked when
/// asked, so a run checks only the credentials it acts on.
struct CurrentOpenings<'a> {
    by_id: HashMap<u32, Vec<&'a CredentialOpening>>,
}

impl<'a> CurrentOpenings<'a> {
    fn new(ledger: &IssuerLedger, issuer_id: Fr, openings: &'a [CredentialOpening]) -> Self {
        let mut by_id: HashMap<u32, Vec<&'a CredentialOpening>> = HashMap::new();
        for o in openings {
            if o.issuer_id == issuer_id
                && ledger.current.get(&o.credential_id) == Some(&o.commitment)
            {
                by_id.entry(o.credential_id).or_default().push(o);
            }
        }
        CurrentOpenings { by_id }
    }

    /// The first given opening of credential `id`'s current version that opens its
    /// commitment (its values re-encoded and hashed).
    fn get(&self, id: u32, schemas: &SchemaSet) -> Option<&'a CredentialOpening> {
        self.by_id
            .get(&id)?
            .iter()
            .copied()
            .find(|o| o.credential(schemas).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    }

    #[test]
    fn ballot_names_are_valid_and_distinct() {
        let day = date_to_days("2026-12-01").expect("day");
        assert_eq!(
            ballot_name("appraisal-cycle", day, "finance", 1),
            "appraisal-cycle.2026-12-01.finance"
        );
        assert_eq!(
            ballot_name("appraisal-cycle", day, "finance", 2),
            "appraisal-cycle.2026-12-01.finance.2"
        );
        // A unit of other characters, or too long, is named by its hash: distinct units stay
        // distinct.
        let a = ballot_name("appraisal-cycle", day, "customs/port-authority", 1);
        let b = ballot_name("appraisal-cycle", day, "customs/airport", 1);
        assert!(
            a.starts_with("appraisal-cycle.2026-12-01.u") && a != b,
            "{a} {b}"
        );
        let long_unit = "u".repeat(21);
        assert_ne!(
            ballot_name("r", day, &long_unit, 1),
            format!("r.2026-12-01.{long_unit}")
        );
        let longest = ballot_name(&"r".repeat(64), day, &"x".repeat(20), 99_999);
        for name in [a, b, longest] {
            assert!(valid(&name), "{name}");
        }
    }
}
