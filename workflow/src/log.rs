//! The regulator's audit of the rule log: from the ledger and the published rule texts alone,
//! every action cites a rule its issuer published before it, in force on the occasion it acted
//! on, for an occasion that had come; no action is taken twice; and where the ledger itself
//! shows when a case is due (an event rule whose condition reads no values), no due case was
//! skipped by an engine that ran after it.

use crate::book::IssuerLedger;
use crate::facts::Facts;
use crate::rule::Trigger;
use crate::WorkflowError;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::schema::SchemaSet;
use dossier_core::Fr;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// What is wrong with an entry of the rule log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An adopted rule's text is not available, or does not hash to what the ledger says, or
    /// does not parse: nobody can check what it said.
    RuleText,
    /// An action cites a rule its issuer never published (or published only after acting).
    Unpublished,
    /// An action cites a version of a rule that was not the one in force on its occasion.
    NotInForce,
    /// An action was taken before its case fell due, or cites an event that is not one.
    NotDue,
    /// The same action taken twice.
    Duplicate,
    /// A case the ledger shows was due was not acted on, though the engine ran after it.
    Skipped,
}

/// One finding, at a ledger entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The entry.
    pub entry: u64,
    /// What is wrong.
    pub kind: FindingKind,
    /// Why, in words (rule names, hashes and credential ids; no values).
    pub message: String,
}

/// A rule adopted, as the audit saw it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdoptionEvent {
    /// Its `RuleAdopted` entry.
    pub entry: u64,
    /// The issuer (id, hex).
    pub issuer_id: String,
    /// The rule's name.
    pub name: String,
    /// SHA-256 of its file (hex).
    pub rule: String,
    /// The first day in force.
    pub from: String,
    /// Actions taken by it.
    pub actions: u64,
}

/// The rule log, replayed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RuleLog {
    /// Every adoption, in log order.
    pub adoptions: Vec<AdoptionEvent>,
    /// Actions replayed.
    pub actions: u64,
    /// Everything wrong (empty when the log is sound).
    pub findings: Vec<Finding>,
}

#[derive(Default)]
struct IssuerLog {
    ledger: IssuerLedger,
    /// Actions taken: (rule, credential, occasion).
    taken: BTreeSet<([u8; 32], u32, u64)>,
    /// The last action's entry and day: the engine ran then.
    last_run: Option<(u64, u32)>,
}

/// Audits the rule log of decoded entries (in log order) with the rule texts by hash.
pub fn audit(
    entries: &[Entry],
    text_of: impl Fn(&[u8; 32]) -> Option<String>,
    schemas: &SchemaSet,
) -> RuleLog {
    let mut out = RuleLog::default();
    let mut issuers: BTreeMap<Fr, IssuerLog> = BTreeMap::new();
    let mut counts: BTreeMap<u64, u64> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        let index = index as u64;
        let Some(issuer_id) = entry.body.issuer_id() else {
            continue;
        };
        let log = issuers.entry(issuer_id).or_default();
        match &entry.body {
            EntryBody::RuleAdopted {
                rule, from, name, ..
            } => {
                out.adoptions.push(AdoptionEvent {
                    entry: index,
                    issuer_id: dossier_core::field::to_hex(&issuer_id),
                    name: name.clone(),
                    rule: hex::encode(rule),
                    from: dossier_core::encoding::days_to_date(*from),
                    actions: 0,
                });
                let mut bad = None;
                log.ledger
                    .apply(index, entry, &text_of, schemas, &mut |_, e| bad = Some(e));
                if let Some(e) = bad {
                    out.findings.push(finding(index, FindingKind::RuleText, e));
                }
            }
            EntryBody::RuleFired {
                rule,
                credential_id,
                occasion,
                day,
                ..
            } => {
                out.actions += 1;
                if let Some(a) = log.ledger.book.by_hash(rule) {
                    *counts.entry(a.entry).or_default() += 1;
                }
                if let Err((kind, message)) =
                    check_action(log, schemas, rule, *credential_id, *occasion, *day)
                {
                    out.findings.push(Finding {
                        entry: index,
                        kind,
                        message,
                    });
                }
                if !log.taken.insert((*rule, *credential_id, *occasion)) {
                    out.findings.push(Finding {
                        entry: index,
                        kind: FindingKind::Duplicate,
                        message: format!(
                            "rule {} acted on credential {credential_id} for occasion {occasion} before",
                            short(rule)
                        ),
                    });
                }
                log.last_run = Some((index, *day));
            }
            _ => log
                .ledger
                .apply(index, entry, &text_of, schemas, &mut |_, _| {}),
        }
    }
    for a in &mut out.adoptions {
        a.actions = counts.get(&a.entry).copied().unwrap_or(0);
    }
    for log in issuers.values() {
        skipped(log, schemas, &mut out.findings);
    }
    out.findings.sort_by_key(|f| f.entry);
    out
}

fn finding(entry: u64, kind: FindingKind, e: WorkflowError) -> Finding {
    Finding {
        entry,
        kind,
        message: e.to_string(),
    }
}

fn short(hash: &[u8; 32]) -> String {
    hex::encode(&hash[..6])
}

/// One action against the issuer's rulebook and ledger as they stood when it was written.
fn check_action(
    log: &IssuerLog,
    schemas: &SchemaSet,
    rule: &[u8; 32],
    credential_id: u32,
    occasion: u64,
    day: u32,
) -> Result<(), (FindingKind, String)> {
    let Some(adopted) = log.ledger.book.by_hash(rule) else {
        return Err((
            FindingKind::Unpublished,
            format!(
                "it cites rule {}, which its issuer had not published",
                short(rule)
            ),
        ));
    };
    let name = &adopted.rule.name;
    let occasion_day = match adopted.rule.trigger {
        Trigger::Date(_) => match u32::try_from(occasion) {
            Ok(d) if d <= day => d,
            _ => {
                return Err((
                    FindingKind::NotDue,
                    format!("`{name}` acted on credential {credential_id} before its due day"),
                ))
            }
        },
        Trigger::Event(kind) => match log.ledger.event_at(occasion) {
            Some(e)
                if e.credential_id == credential_id
                    && kind.matches(e.is_issue)
                    && Some(e.schema_id) == schemas.get(&adopted.rule.schema).ok().map(|s| s.id()) =>
            {
                e.day
            }
            _ => {
                return Err((
                    FindingKind::NotDue,
                    format!("`{name}` cites entry {occasion}, which is not an event it follows for credential {credential_id}"),
                ))
            }
        },
    };
    if !log.ledger.book.governs(adopted, occasion_day) {
        return Err((
            FindingKind::NotInForce,
            format!(
                "`{name}` version {} was not the version in force on its occasion",
                adopted.rule.version
            ),
        ));
    }
    Ok(())
}

/// The due cases of observable rules that an engine which ran later left untaken.
fn skipped(log: &IssuerLog, schemas: &SchemaSet, findings: &mut Vec<Finding>) {
    let Some((last_entry, last_day)) = log.last_run else {
        return;
    };
    for adopted in log.ledger.book.adoptions() {
        let rule = &adopted.rule;
        let Trigger::Event(kind) = rule.trigger else {
            continue;
        };
        if !rule.observable() {
            continue;
        }
        let Ok(schema) = schemas.get(&rule.schema) else {
            continue;
        };
        for e in &log.ledger.events {
            let due = e.schema_id == schema.id()
                && kind.matches(e.is_issue)
                && e.entry < last_entry
                && e.day <= last_day
                && log.ledger.book.governs(adopted, e.day)
                && rule
                    .holds(
                        &Facts::without_values(e.credential_id, e.day).with_schemas(schemas),
                        e.day,
                    )
                    .unwrap_or(false);
            if due && !log.taken.contains(&(rule.hash, e.credential_id, e.entry)) {
                findings.push(Finding {
                    entry: e.entry,
                    kind: FindingKind::Skipped,
                    message: format!(
                        "`{}` was due on credential {} at this entry; the engine acted later (entry {last_entry}) without it",
                        rule.name, e.credential_id
                    ),
                });
            }
        }
    }
}
