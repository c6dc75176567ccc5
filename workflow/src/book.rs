//! An issuer's rulebook and credentials as its ledger entries show them: which rule of a name
//! is in force on a day, which commitment is each credential's current one, and the issue and
//! update events a rule can follow. Built by replaying entries in log order, so the engine (on
//! the issuer's store) and the audit (on a regulator's export) see the same thing.

use crate::rule::Rule;
use crate::WorkflowError;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::schema::SchemaSet;
use dossier_core::Fr;
use std::collections::{BTreeMap, HashMap};

/// A rule adopted on the ledger.
#[derive(Clone, Debug)]
pub struct Adopted {
    /// The rule, parsed from its published text.
    pub rule: Rule,
    /// The first day it is in force.
    pub from: u32,
    /// Its `RuleAdopted` entry.
    pub entry: u64,
}

/// The rules an issuer adopted, in log order.
#[derive(Clone, Debug, Default)]
pub struct Rulebook {
    adopted: Vec<Adopted>,
}

impl Rulebook {
    /// Adds an adoption (in log order).
    pub fn adopt(&mut self, adopted: Adopted) {
        self.adopted.push(adopted);
    }

    /// Every adoption, in log order.
    pub fn adoptions(&self) -> &[Adopted] {
        &self.adopted
    }

    /// The adoption of a rule file, by its hash.
    pub fn by_hash(&self, hash: &[u8; 32]) -> Option<&Adopted> {
        self.adopted.iter().find(|a| &a.rule.hash == hash)
    }

    /// The version of a rule in force on `day`: of the adoptions of that name in force by then,
    /// the one with the latest first day (of two with the same day, the later adopted).
    pub fn in_force(&self, name: &str, day: u32) -> Option<&Adopted> {
        self.adopted
            .iter()
            .filter(|a| a.rule.name == name && a.from <= day)
            .max_by_key(|a| (a.from, a.entry))
    }

    /// Whether `adopted` is the version of its rule in force on `day`.
    pub fn governs(&self, adopted: &Adopted, day: u32) -> bool {
        self.in_force(&adopted.rule.name, day)
            .is_some_and(|a| a.entry == adopted.entry)
    }
}

/// A credential issued or updated: what an event rule follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// Its ledger entry.
    pub entry: u64,
    /// The credential.
    pub credential_id: u32,
    /// Its schema.
    pub schema_id: Fr,
    /// The commitment it wrote.
    pub commitment: Fr,
    /// An issue (else an update).
    pub is_issue: bool,
    /// The day of the entry.
    pub day: u32,
}

/// One issuer's side of the ledger: its rulebook, its credentials' current commitments, its
/// events and the actions its engine took.
#[derive(Clone, Debug, Default)]
pub struct IssuerLedger {
    /// The rules it adopted.
    pub book: Rulebook,
    /// Each live credential's current commitment.
    pub current: HashMap<u32, Fr>,
    /// Issues and updates, in log order.
    pub events: Vec<Event>,
    /// The events by entry index.
    by_entry: BTreeMap<u64, usize>,
}

/// The day a ledger time (unix seconds) falls on.
pub fn day_of_time(time: u64) -> u32 {
    u32::try_from(time / 86_400).unwrap_or(u32::MAX)
}

impl IssuerLedger {
    /// Replays an issuer's entries, with the texts of its rules (by hash). A rule whose text is
    /// missing or does not parse is reported through `missing` and left out.
    pub fn replay<'a>(
        issuer_id: Fr,
        entries: impl IntoIterator<Item = (u64, &'a Entry)>,
        text_of: impl Fn(&[u8; 32]) -> Option<String>,
        schemas: &SchemaSet,
        mut missing: impl FnMut(u64, WorkflowError),
    ) -> IssuerLedger {
        let mut out = IssuerLedger::default();
        for (index, entry) in entries {
            if entry.body.issuer_id() != Some(issuer_id) {
                continue;
            }
            out.apply(index, entry, &text_of, schemas, &mut missing);
        }
        out
    }

    /// Applies one entry of the issuer's.
    pub fn apply(
        &mut self,
        index: u64,
        entry: &Entry,
        text_of: &impl Fn(&[u8; 32]) -> Option<String>,
        schemas: &SchemaSet,
        missing: &mut impl FnMut(u64, WorkflowError),
    ) {
        let day = day_of_time(entry.time);
        match &entry.body {
            EntryBody::Issue {
                schema_id,
                credential_id,
                commitment,
                ..
            }
            | EntryBody::Update {
                schema_id,
                credential_id,
                commitment,
                ..
            } => {
                self.current.insert(*credential_id, *commitment);
                self.by_entry.insert(index, self.events.len());
                self.events.push(Event {
                    entry: index,
                    credential_id: *credential_id,
                    schema_id: *schema_id,
                    commitment: *commitment,
                    is_issue: matches!(entry.body, EntryBody::Issue { .. }),
                    day,
                });
            }
            EntryBody::Revoke { credential_id, .. } => {
                self.current.remove(credential_id);
            }
            EntryBody::RuleAdopted {
                rule, from, name, ..
            } => {
                let parsed = match text_of(rule) {
                    None => Err(WorkflowError::TextMissing {
                        rule: hex::encode(rule),
                    }),
                    Some(text) => Rule::parse(&text, schemas).and_then(|r| {
                        if &r.hash != rule || &r.name != name {
                            Err(WorkflowError::TextMismatch {
                                rule: hex::encode(rule),
                            })
                        } else {
                            Ok(r)
                        }
                    }),
                };
                match parsed {
                    Ok(rule) => self.book.adopt(Adopted {
                        rule,
                        from: *from,
                        entry: index,
                    }),
                    Err(e) => missing(index, e),
                }
            }
            _ => {}
        }
    }

    /// The issue or update at a ledger index.
    pub fn event_at(&self, entry: u64) -> Option<&Event> {
        self.by_entry.get(&entry).map(|&i| &self.events[i])
    }
}
