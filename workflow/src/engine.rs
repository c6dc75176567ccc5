//! The engine: which cases the issuer's rules make due on a day, from its ledger and the
//! openings of its credentials (the values the ledger does not hold, which is why the engine
//! runs on the issuer's side). Evaluation is a pure function of (rulebook, ledger, openings,
//! day): run twice, or on another replica, it gives the same cases in the same order, and the
//! store takes each once ([`dossier_store::Store::fire_rules`]).
//!
//! - A **date rule**'s case is a current credential of its schema whose `due` day has come
//!   (`due <= as_of`), by the version of the rule in force on that day, whose condition holds
//!   on `as_of` (a case whose condition fails today is looked at again tomorrow: a promotion
//!   barred by a sanction becomes due when the sanction ends). Its occasion is the due day.
//! - An **event rule**'s case is an issue or update of its schema on or before `as_of`, by the
//!   version in force on the entry's day, whose condition holds on that day for the version of
//!   the credential that entry wrote. Its occasion is the entry's index.

use crate::book::{Adopted, IssuerLedger};
use crate::facts::{field_map, Facts};
use crate::rule::{Action, Trigger};
use crate::WorkflowError;
use dossier_core::credential::CredentialOpening;
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::schema::SchemaSet;
use dossier_core::Fr;
use dossier_store::rules::FiringKey;
use serde::Serialize;
use std::collections::{BTreeSet, HashMap};

/// A case a rule makes due.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Case {
    /// The rule's name.
    pub rule: String,
    /// Its version.
    pub version: u32,
    /// SHA-256 of the rule file (hex).
    pub hash: String,
    /// The credential.
    pub credential_id: u32,
    /// The due day (date rules) or the event's entry index (event rules).
    pub occasion: u64,
    /// The day it fell due.
    pub due: String,
    /// What is done.
    pub actions: Vec<Action>,
    /// Whether the engine took it on an earlier run.
    pub taken_before: bool,
    #[serde(skip)]
    key: FiringKey,
}

impl Case {
    /// The key the store takes it once by.
    pub fn key(&self) -> FiringKey {
        self.key
    }
}

/// A case the engine could not decide: the rule and credential, and what went wrong (never a
/// value).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// The rule's name.
    pub rule: String,
    /// The credential.
    pub credential_id: u32,
    /// What went wrong.
    pub reason: String,
}

/// What one evaluation found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Evaluation {
    /// The day evaluated.
    pub as_of: String,
    /// Rules in force that day (name, version).
    pub rules: Vec<(String, u32)>,
    /// Current credentials whose openings were given.
    pub credentials: usize,
    /// Openings left out: not the credential's current version, revoked, or not opening their
    /// commitment.
    pub stale_openings: usize,
    /// The cases due, ordered by rule, credential and occasion.
    pub cases: Vec<Case>,
    /// Cases that could not be decided.
    pub failures: Vec<Failure>,
}

/// A credential as the engine sees it: its opening, checked against the ledger.
struct Current<'a> {
    opening: &'a CredentialOpening,
    holder: Fr,
}

/// Evaluates an issuer's rules on `as_of` over its credentials. `openings` may hold any
/// versions of the issuer's credentials (and others'): those that are not a live credential's
/// current commitment are left out of date rules; event rules use the version their event
/// wrote. `taken` are the actions taken before.
pub fn evaluate(
    ledger: &IssuerLedger,
    issuer_id: Fr,
    schemas: &SchemaSet,
    openings: &[CredentialOpening],
    as_of: u32,
    taken: &BTreeSet<FiringKey>,
) -> Evaluation {
    let mut out = Evaluation {
        as_of: days_to_date(as_of),
        ..Evaluation::default()
    };
    let (by_commitment, current) = sort_openings(ledger, issuer_id, schemas, openings, &mut out);
    let holders = holders_of(&current, schemas);
    // Each credential's facts are built once, for every date rule that looks at its schema.
    let dated: BTreeSet<&str> = ledger
        .book
        .adoptions()
        .iter()
        .filter(|a| matches!(a.rule.trigger, Trigger::Date(_)))
        .map(|a| a.rule.schema.as_str())
        .collect();
    let facts: Vec<Option<Result<Facts, String>>> = current
        .iter()
        .map(|c| {
            dated.contains(c.opening.schema.as_str()).then(|| {
                facts_of(c.opening, holders.get(&c.holder), schemas).map_err(|e| e.to_string())
            })
        })
        .collect();
    for adopted in ledger.book.adoptions() {
        if ledger.book.governs(adopted, as_of) {
            out.rules
                .push((adopted.rule.name.clone(), adopted.rule.version));
        }
        match &adopted.rule.trigger {
            Trigger::Date(_) => date_cases(ledger, adopted, &current, &facts, as_of, &mut out),
            Trigger::Event(_) => {
                event_cases(ledger, adopted, &by_commitment, schemas, as_of, &mut out)
            }
        }
    }
    for case in &mut out.cases {
        case.taken_before = taken.contains(&case.key);
    }
    out.cases.sort_by(|a, b| {
        (&a.rule, a.version, a.credential_id, a.occasion).cmp(&(
            &b.rule,
            b.version,
            b.credential_id,
            b.occasion,
        ))
    });
    out.failures
        .sort_by(|a, b| (&a.rule, a.credential_id).cmp(&(&b.rule, b.credential_id)));
    out
}

/// The openings that open their commitments, by commitment, and those that are their
/// credential's current version.
fn sort_openings<'a>(
    ledger: &IssuerLedger,
    issuer_id: Fr,
    schemas: &SchemaSet,
    openings: &'a [CredentialOpening],
    out: &mut Evaluation,
) -> (HashMap<Fr, &'a CredentialOpening>, Vec<Current<'a>>) {
    use rayon::prelude::*;
    // Only an opening of a commitment the ledger wrote can matter; each of those must open it
    // (its values re-encoded and hashed: the engine acts on committed values only). The checks
    // are the run's main cost, so they run on all cores.
    let written: std::collections::HashSet<Fr> =
        ledger.events.iter().map(|e| e.commitment).collect();
    let mine: Vec<&CredentialOpening> = openings
        .iter()
        .filter(|o| o.issuer_id == issuer_id)
        .collect();
    let sound: Vec<bool> = mine
        .par_iter()
        .map(|o| written.contains(&o.commitment) && o.credential(schemas).is_ok())
        .collect();
    let mut by_commitment = HashMap::new();
    let mut current = Vec::new();
    for (o, sound) in mine.into_iter().zip(sound) {
        if !sound {
            out.stale_openings += 1;
            continue;
        }
        by_commitment.insert(o.commitment, o);
        if ledger.current.get(&o.credential_id) == Some(&o.commitment) {
            current.push(Current {
                opening: o,
                holder: o.holder,
            });
        } else {
            out.stale_openings += 1;
        }
    }
    current.sort_by_key(|c| c.opening.credential_id);
    current.dedup_by_key(|c| c.opening.credential_id);
    out.credentials = current.len();
    (by_commitment, current)
}

/// Per holder, per schema, the field maps of the holder's current credentials.
fn holders_of(
    current: &[Current<'_>],
    schemas: &SchemaSet,
) -> HashMap<Fr, HashMap<String, Vec<cel::Value>>> {
    let mut out: HashMap<Fr, HashMap<String, Vec<cel::Value>>> = HashMap::new();
    for c in current {
        let Ok(schema) = schemas.get(&c.opening.schema) else {
            continue;
        };
        if let Ok(map) = field_map(schema, &c.opening.fields) {
            out.entry(c.holder)
                .or_default()
                .entry(schema.name.clone())
                .or_default()
                .push(map);
        }
    }
    out
}

fn facts_of(
    opening: &CredentialOpening,
    holder: Option<&HashMap<String, Vec<cel::Value>>>,
    schemas: &SchemaSet,
) -> Result<Facts, WorkflowError> {
    let schema = schemas
        .get(&opening.schema)
        .map_err(|_| WorkflowError::Value {
            field: "schema".into(),
        })?;
    let issued_at = date_to_days(&opening.issued_at).map_err(|_| WorkflowError::Value {
        field: "issued_at".into(),
    })?;
    let mut facts = Facts::new(schema, opening.credential_id, issued_at, &opening.fields)?;
    if let Some(h) = holder {
        for (s, list) in h {
            facts = facts.with_holder(s, list.clone());
        }
    }
    Ok(facts.with_schemas(schemas))
}

fn case(adopted: &Adopted, credential_id: u32, occasion: u64, due: u32) -> Case {
    Case {
        rule: adopted.rule.name.clone(),
        version: adopted.rule.version,
        hash: adopted.rule.hash_hex(),
        credential_id,
        occasion,
        due: days_to_date(due),
        actions: adopted.rule.actions.clone(),
        taken_before: false,
        key: FiringKey {
            rule: adopted.rule.hash,
            credential_id,
            occasion,
        },
    }
}

fn date_cases(
    ledger: &IssuerLedger,
    adopted: &Adopted,
    current: &[Current<'_>],
    facts: &[Option<Result<Facts, String>>],
    as_of: u32,
    out: &mut Evaluation,
) {
    let rule = &adopted.rule;
    for (c, facts) in current.iter().zip(facts) {
        let Some(facts) = facts.as_ref().filter(|_| c.opening.schema == rule.schema) else {
            continue;
        };
        let id = c.opening.credential_id;
        let decided = facts.as_ref().map_err(String::clone).and_then(|facts| {
            let decide = || -> Result<Option<u32>, WorkflowError> {
                let Some(due) = rule.due_day(facts, as_of)? else {
                    return Ok(None);
                };
                if due > as_of || !ledger.book.governs(adopted, due) {
                    return Ok(None);
                }
                Ok(rule.holds(facts, as_of)?.then_some(due))
            };
            decide().map_err(|e| e.to_string())
        });
        match decided {
            Ok(Some(due)) => out.cases.push(case(adopted, id, u64::from(due), due)),
            Ok(None) => {}
            Err(reason) => out.failures.push(Failure {
                rule: rule.name.clone(),
                credential_id: id,
                reason,
            }),
        }
    }
}

fn event_cases(
    ledger: &IssuerLedger,
    adopted: &Adopted,
    by_commitment: &HashMap<Fr, &CredentialOpening>,
    schemas: &SchemaSet,
    as_of: u32,
    out: &mut Evaluation,
) {
    let rule = &adopted.rule;
    let Trigger::Event(kind) = rule.trigger else {
        return;
    };
    let Ok(schema) = schemas.get(&rule.schema) else {
        return;
    };
    let schema_id = schema.id();
    for e in ledger.events.iter().filter(|e| {
        e.schema_id == schema_id
            && kind.matches(e.is_issue)
            && e.day <= as_of
            && ledger.book.governs(adopted, e.day)
    }) {
        let facts = if rule.condition.reads_values() {
            match by_commitment.get(&e.commitment) {
                Some(o) => facts_of(o, None, schemas),
                None => Err(WorkflowError::OpeningMissing),
            }
        } else {
            Ok(Facts::without_values(e.credential_id, e.day).with_schemas(schemas))
        };
        match facts.and_then(|f| rule.holds(&f, e.day)) {
            Ok(true) => out
                .cases
                .push(case(adopted, e.credential_id, e.entry, e.day)),
            Ok(false) => {}
            Err(err) => out.failures.push(Failure {
                rule: rule.name.clone(),
                credential_id: e.credential_id,
                reason: err.to_string(),
            }),
        }
    }
}
