//! The audit's replay of who may issue what: the accreditation authority's record and every
//! committee, checked against each issue and update in log order.
//!
//! An issue or update of a schema its issuer is not accredited for (on a ledger with an
//! authority) is `unaccredited`; an issue of a schema under a committee without the threshold
//! of distinct members' valid approvals over [`approval_statement`], an issue carrying
//! approvals for a schema without a committee, and an update of a schema under a committee
//! are `committee_threshold`. A withdrawal from a past entry lists the issuer's entries of that
//! schema it leaves unaccredited.

use crate::audit::{fail, Discrepancy, DiscrepancyKind};
use dossier_core::entry::{approval_statement, CommitteeApproval, Entry, EntryBody};
use dossier_core::keys::{public_from_bytes, verify_strict};
use dossier_core::{field, Fr};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use std::collections::HashMap;

/// An accreditation granted or withdrawn, as the audit reports it.
#[derive(Clone, Debug, Serialize)]
pub struct AccreditationEvent {
    /// The entry.
    pub entry: u64,
    /// The issuer's id (hex).
    pub issuer_id: String,
    /// The schema's id (hex).
    pub schema_id: String,
    /// `granted` or `withdrawn`.
    pub event: &'static str,
    /// For a withdrawal: the first entry no longer accredited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_entry: Option<u64>,
    /// For a withdrawal: the issuer's issues and updates of the schema from `from_entry` on,
    /// which it leaves unaccredited.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unaccredited: Vec<u64>,
}

/// A committee set, as the audit reports it.
#[derive(Clone, Debug, Serialize)]
pub struct CommitteeEvent {
    /// The entry.
    pub entry: u64,
    /// The issuer's id (hex).
    pub issuer_id: String,
    /// The schema's id (hex).
    pub schema_id: String,
    /// Approvals each issue needs.
    pub threshold: u8,
    /// Members.
    pub members: usize,
    /// Credentials issued under it (with their approvals checked).
    pub issued: u64,
}

struct Committee {
    threshold: u8,
    members: Vec<VerifyingKey>,
    /// The index of its event in the report.
    event: usize,
}

/// The replay's state of accreditations and committees.
#[derive(Default)]
pub(crate) struct AuthorityReplay {
    /// Whether an authority has been named.
    named: bool,
    /// Accreditations in force: (issuer, schema) -> the entry that granted it.
    accredited: HashMap<(Fr, Fr), u64>,
    /// Every issue and update, by (issuer, schema), for withdrawals from a past entry.
    issued: HashMap<(Fr, Fr), Vec<u64>>,
    committees: HashMap<(Fr, Fr), Committee>,
    /// What the report lists.
    pub accreditations: Vec<AccreditationEvent>,
    /// What the report lists.
    pub committee_events: Vec<CommitteeEvent>,
}

fn event_ids(issuer_id: &Fr, schema_id: &Fr) -> (String, String) {
    (field::to_hex(issuer_id), field::to_hex(schema_id))
}

impl AuthorityReplay {
    /// Applies one entry; `registered(id)` says whether an issuer is registered so far, and
    /// `any_issuer` whether any is.
    pub fn apply(
        &mut self,
        index: u64,
        entry: &Entry,
        registered: impl Fn(&Fr) -> bool,
        any_issuer: bool,
    ) -> Result<(), Discrepancy> {
        let at = format!("entry {index}");
        let transition = |m: String| fail(&at, DiscrepancyKind::InvalidTransition, m);
        match &entry.body {
            EntryBody::AccreditorNamed { .. } => {
                if self.named {
                    return Err(transition(
                        "a second accreditation authority is named".into(),
                    ));
                }
                if any_issuer {
                    return Err(transition(
                        "the accreditation authority is named after an issuer registered".into(),
                    ));
                }
                self.named = true;
            }
            EntryBody::Accredited {
                issuer_id,
                schema_id,
            } => {
                if !self.named {
                    return Err(transition(
                        "an accreditation on a ledger without an authority".into(),
                    ));
                }
                if !registered(issuer_id) {
                    return Err(transition(
                        "an accreditation of an unregistered issuer".into(),
                    ));
                }
                if self
                    .accredited
                    .insert((*issuer_id, *schema_id), index)
                    .is_some()
                {
                    return Err(transition("an accreditation granted twice".into()));
                }
                let (issuer_id, schema_id) = event_ids(issuer_id, schema_id);
                self.accreditations.push(AccreditationEvent {
                    entry: index,
                    issuer_id,
                    schema_id,
                    event: "granted",
                    from_entry: None,
                    unaccredited: Vec::new(),
                });
            }
            EntryBody::AccreditationWithdrawn {
                issuer_id,
                schema_id,
                from_entry,
            } => {
                let key = (*issuer_id, *schema_id);
                let granted = self.accredited.remove(&key).ok_or_else(|| {
                    transition("a withdrawal of an accreditation not in force".into())
                })?;
                if *from_entry < granted || *from_entry > index {
                    return Err(transition(
                        "a withdrawal from before its accreditation or after itself".into(),
                    ));
                }
                let unaccredited = self
                    .issued
                    .get(&key)
                    .map(|v| v.iter().copied().filter(|i| i >= from_entry).collect())
                    .unwrap_or_default();
                let (issuer_id, schema_id) = event_ids(issuer_id, schema_id);
                self.accreditations.push(AccreditationEvent {
                    entry: index,
                    issuer_id,
                    schema_id,
                    event: "withdrawn",
                    from_entry: Some(*from_entry),
                    unaccredited,
                });
            }
            EntryBody::CommitteeSet {
                issuer_id,
                schema_id,
                threshold,
                members,
            } => {
                if !registered(issuer_id) {
                    return Err(transition("a committee of an unregistered issuer".into()));
                }
                let members = members
                    .iter()
                    .map(public_from_bytes)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| transition("a committee member's key is malformed".into()))?;
                let (i, s) = event_ids(issuer_id, schema_id);
                self.committee_events.push(CommitteeEvent {
                    entry: index,
                    issuer_id: i,
                    schema_id: s,
                    threshold: *threshold,
                    members: members.len(),
                    issued: 0,
                });
                self.committees.insert(
                    (*issuer_id, *schema_id),
                    Committee {
                        threshold: *threshold,
                        members,
                        event: self.committee_events.len() - 1,
                    },
                );
            }
            EntryBody::Issue {
                issuer_id,
                schema_id,
                credential_id,
                commitment,
                commitment_halo2,
                approvals,
            } => {
                self.check_accredited(&at, issuer_id, schema_id)?;
                let statement = approval_statement(
                    issuer_id,
                    schema_id,
                    *credential_id,
                    commitment,
                    commitment_halo2,
                );
                self.check_approvals(&at, (issuer_id, schema_id), &statement, approvals)?;
                self.issued
                    .entry((*issuer_id, *schema_id))
                    .or_default()
                    .push(index);
            }
            EntryBody::Update {
                issuer_id,
                schema_id,
                ..
            } => {
                self.check_accredited(&at, issuer_id, schema_id)?;
                if self.committees.contains_key(&(*issuer_id, *schema_id)) {
                    return Err(fail(
                        &at,
                        DiscrepancyKind::CommitteeThreshold,
                        "an update of a schema whose credentials need a committee's approvals",
                    ));
                }
                self.issued
                    .entry((*issuer_id, *schema_id))
                    .or_default()
                    .push(index);
            }
            _ => {}
        }
        Ok(())
    }

    fn check_accredited(
        &self,
        at: &str,
        issuer_id: &Fr,
        schema_id: &Fr,
    ) -> Result<(), Discrepancy> {
        if self.named && !self.accredited.contains_key(&(*issuer_id, *schema_id)) {
            return Err(fail(
                at,
                DiscrepancyKind::Unaccredited,
                "a credential of a schema its issuer is not accredited for",
            ));
        }
        Ok(())
    }

    /// An issue's approvals: none without a committee; with one, at least its threshold of
    /// distinct members, each signature valid over the credential's statement.
    fn check_approvals(
        &mut self,
        at: &str,
        (issuer_id, schema_id): (&Fr, &Fr),
        statement: &[u8],
        approvals: &[CommitteeApproval],
    ) -> Result<(), Discrepancy> {
        let short = |m: &str| fail(at, DiscrepancyKind::CommitteeThreshold, m);
        let Some(c) = self.committees.get(&(*issuer_id, *schema_id)) else {
            if approvals.is_empty() {
                return Ok(());
            }
            return Err(short("approvals on a schema without a committee"));
        };
        let mut seen = Vec::with_capacity(approvals.len());
        for a in approvals {
            let key = c
                .members
                .get(a.member as usize)
                .ok_or_else(|| short("an approval by a member the committee does not have"))?;
            if seen.contains(&a.member) {
                return Err(short("one member's approval counted twice"));
            }
            verify_strict(key, statement, &a.signature, "approval")
                .map_err(|_| short("an approval whose signature does not verify"))?;
            seen.push(a.member);
        }
        if seen.len() < c.threshold as usize {
            return Err(short(&format!(
                "{} of the {} approvals its committee needs",
                seen.len(),
                c.threshold
            )));
        }
        self.committee_events[c.event].issued += 1;
        Ok(())
    }
}
