//! Rules in the store: an issuer adopts a rule file (a `RuleAdopted` entry carries its SHA-256;
//! the text is kept here, for anyone to fetch and hash), and its engine's actions are
//! `RuleFired` entries, each taken once.
//!
//! **Once.** An action is keyed by (issuer, rule hash, credential id, occasion). The key and its
//! entry are written in the same transaction, and a key already present is skipped: an engine
//! killed mid-run and run again, or two replicas' engines racing, write each action once.
//!
//! This crate knows nothing of rule files beyond their hash and name: parsing, the conditions
//! and the audit of the rule log are `dossier-workflow`'s.
//!
//! Tables: `rule_texts` SHA-256 -> the file's text; `rule_adoptions` entry index -> JSON
//! [`Adoption`]; `rule_firings` (issuer id, rule hash, credential id, occasion) -> the index
//! of its `RuleFired` entry; `rule_tasks` (entry, action) -> JSON [`Task`], the work for
//! people the actions created; `rule_ballots` (entry, action) -> the name of the ballot that
//! rates the case (written with the ballot, so a case is rated in one ballot).

use crate::db::{append_entry, record_from_json, record_json};
use crate::kv::{Readable, Reading, TableDef, WriteTxn};
use crate::{Store, StoreError};
use dossier_core::entry::{Entry, EntryBody, MAX_NAME};
use dossier_core::field;
use dossier_core::keys::KeyPair;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `rule_texts`: a rule file's SHA-256 -> its text.
pub const RULE_TEXTS: TableDef<[u8; 32], &str> = TableDef::new("rule_texts");
/// `rule_adoptions`: the `RuleAdopted` entry's index -> JSON [`Adoption`].
pub const RULE_ADOPTIONS: TableDef<u64, &str> = TableDef::new("rule_adoptions");
/// `rule_firings`: (issuer id, rule hash, credential id, occasion) -> its `RuleFired` entry.
pub const RULE_FIRINGS: TableDef<([u8; 32], [u8; 32], u32, u64), u64> =
    TableDef::new("rule_firings");

/// The largest rule file accepted, in bytes.
pub const MAX_RULE_TEXT: usize = 64 * 1024;

/// A rule an issuer adopted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adoption {
    /// The issuer's name.
    pub issuer: String,
    /// The rule's name.
    pub name: String,
    /// SHA-256 of its file (hex).
    pub rule: String,
    /// The first day it is in force (days since 1970-01-01).
    pub from: u32,
    /// Its `RuleAdopted` entry.
    pub entry: u64,
}

/// Where an adoption stands on a day.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionState {
    /// Its first day has not come.
    NotYetInForce,
    /// The version of its rule in force.
    InForce,
    /// A later version of the same rule is in force.
    Replaced,
}

impl Adoption {
    /// Where this adoption stands on `day`, among `all` adoptions: replaced when another of the
    /// same issuer and name is in force by then with a later first day (of two on the same day,
    /// the later adopted).
    pub fn state(&self, all: &[Adoption], day: u32) -> AdoptionState {
        if self.from > day {
            return AdoptionState::NotYetInForce;
        }
        let newer = all.iter().any(|b| {
            b.issuer == self.issuer
                && b.name == self.name
                && b.from <= day
                && (b.from, b.entry) > (self.from, self.entry)
        });
        if newer {
            AdoptionState::Replaced
        } else {
            AdoptionState::InForce
        }
    }
}

/// A rule file's SHA-256 from its 64 hex digits.
pub fn parse_rule_hash(text: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    (text.len() == 64 && hex::decode_to_slice(text, &mut out).is_ok()).then_some(out)
}

/// An action the engine takes: the rule it acts by, the credential and the occasion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FiringKey {
    /// SHA-256 of the rule file.
    pub rule: [u8; 32],
    /// The credential that made it due.
    pub credential_id: u32,
    /// The due day (date rules) or the event's ledger index (event rules).
    pub occasion: u64,
}

/// `rule_tasks`: (the `RuleFired` entry, the action's index in its rule) -> JSON [`Task`].
pub const RULE_TASKS: TableDef<(u64, u8), &str> = TableDef::new("rule_tasks");

/// `rule_ballots`: (the `RuleFired` entry, the action's index in its rule) -> the name of the
/// ballot opened for it.
pub const RULE_BALLOTS: TableDef<(u64, u8), &str> = TableDef::new("rule_ballots");

/// Where a task stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Waiting for its party.
    Open,
    /// Approved: the rule's credential actions were taken.
    Approved,
    /// Declined: nothing was done.
    Declined,
}

/// Work for a person that a rule's action created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The issuer.
    pub issuer: String,
    /// The `RuleFired` entry that created it.
    pub entry: u64,
    /// The action's index in its rule.
    pub action: u8,
    /// The rule's SHA-256 (hex).
    pub rule: String,
    /// The credential the case is about.
    pub credential_id: u32,
    /// Whose task it is (`hr_office`, ...).
    pub party: String,
    /// What to do (the rule's public text).
    pub title: String,
    /// Where it stands.
    pub state: TaskState,
    /// The credential its approval issued, once issued (an approval interrupted after it is
    /// not issued twice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<u32>,
    /// The proposal its approval opened, when the credential to issue is of a schema under a
    /// committee: the credential is issued once the committee has approved it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proposed: Option<Proposed>,
    /// The day it was closed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_on: Option<String>,
}

/// A task's credential waiting for its committee: the proposal and the credential id it
/// reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposed {
    /// The proposal's id.
    pub proposal: u64,
    /// The credential id it reserved.
    pub credential_id: u32,
}

impl Task {
    /// Its id: `<entry>.<action>`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.entry, self.action)
    }

    /// A task id `<entry>.<action>` as (entry, action).
    pub fn parse_id(text: &str) -> Option<(u64, u8)> {
        let (e, a) = text.split_once('.')?;
        Some((e.parse().ok()?, a.parse().ok()?))
    }
}

/// Writes a task in the caller's transaction (an approval records it with the credential
/// actions it took, in their transaction).
pub fn put_task(txn: &WriteTxn, task: &Task) -> Result<(), StoreError> {
    txn.open_table(RULE_TASKS)?.insert(
        (task.entry, task.action),
        record_json("task", task)?.as_str(),
    )?;
    Ok(())
}

/// An action to record, with whom it addresses and what its announcement says beside the ids
/// the store adds (the rule's name and its actions' kinds and public titles; no values).
#[derive(Clone, Debug, PartialEq)]
pub struct Firing {
    /// The action's key.
    pub key: FiringKey,
    /// The parties its actions address (`hr_office`, `servant`, ...): subscriptions receiving
    /// any of them are sent a message.
    pub parties: Vec<String>,
    /// Added to the message's `data`.
    pub details: serde_json::Value,
    /// The rule's task actions: (index in the rule, party, title); each becomes an open
    /// [`Task`].
    pub tasks: Vec<(u8, String, String)>,
    /// The case credential's values (schema and fields), for the messages of subscriptions
    /// entitled to them only.
    pub values: Option<serde_json::Value>,
}

/// SHA-256 of a rule file: its identity on the ledger.
pub fn rule_hash(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason: reason.into(),
    }
}

impl Store {
    /// Adopts a rule for the key's issuer from day `from`: keeps its text and writes the
    /// `RuleAdopted` entry, returning its index. The caller has parsed the text (the store
    /// only bounds it); the same file adopted twice by one issuer is refused.
    pub fn adopt_rule(
        &self,
        key: &KeyPair,
        name: &str,
        text: &str,
        from: u32,
        time: u64,
    ) -> Result<u64, StoreError> {
        if text.len() > MAX_RULE_TEXT {
            return Err(refused("the rule file is larger than 64 KiB"));
        }
        if name.is_empty() || name.len() > MAX_NAME {
            return Err(refused("a rule's name has 1 to 100 bytes"));
        }
        let hash = rule_hash(text);
        let (txn, info) = self.write_as(key)?;
        {
            let t = txn.open_table(RULE_ADOPTIONS)?;
            for row in t.iter()? {
                let a: Adoption = record_from_json("rule adoption", row?.1.value())?;
                if a.issuer == info.name && a.rule == hex::encode(hash) {
                    return Err(refused("this issuer has adopted this rule file already"));
                }
            }
        }
        let entry = Entry::sign(
            time,
            EntryBody::RuleAdopted {
                issuer_id: info.issuer_id,
                rule: hash,
                from,
                name: name.to_string(),
            },
            key,
        );
        let index = append_entry(&txn, &entry)?;
        txn.open_table(RULE_TEXTS)?.insert(hash, text)?;
        let adoption = Adoption {
            issuer: info.name.clone(),
            name: name.to_string(),
            rule: hex::encode(hash),
            from,
            entry: index,
        };
        txn.open_table(RULE_ADOPTIONS)?
            .insert(index, record_json("rule adoption", &adoption)?.as_str())?;
        txn.commit()?;
        Ok(index)
    }

    /// Records the engine's actions for the key's issuer, on `day`, in one transaction: each
    /// action not taken before gets its `RuleFired` entry and a message in the webhook outbox
    /// for each subscription receiving one of its parties; those taken before are skipped.
    /// Returns the index of each new entry, in the order given (`None` for a skipped one).
    /// Every action must cite a rule the issuer adopted.
    pub fn fire_rules(
        &self,
        key: &KeyPair,
        actions: &[Firing],
        day: u32,
        time: u64,
    ) -> Result<Vec<Option<u64>>, StoreError> {
        let (txn, info) = self.write_as(key)?;
        let issuer = field::to_be_bytes(&info.issuer_id);
        let adopted: Vec<[u8; 32]> = {
            let t = txn.open_table(RULE_ADOPTIONS)?;
            let mut out = Vec::new();
            for row in t.iter()? {
                let a: Adoption = record_from_json("rule adoption", row?.1.value())?;
                if a.issuer == info.name {
                    out.push(parse_hash(&a.rule)?);
                }
            }
            out
        };
        let mut written = Vec::with_capacity(actions.len());
        for firing in actions {
            let a = &firing.key;
            if !adopted.contains(&a.rule) {
                return Err(refused("an action cites a rule the issuer has not adopted"));
            }
            let k = (issuer, a.rule, a.credential_id, a.occasion);
            if txn.open_table(RULE_FIRINGS)?.get(k)?.is_some() {
                written.push(None);
                continue;
            }
            let entry = Entry::sign(
                time,
                EntryBody::RuleFired {
                    issuer_id: info.issuer_id,
                    rule: a.rule,
                    credential_id: a.credential_id,
                    occasion: a.occasion,
                    day,
                },
                key,
            );
            let index = append_entry(&txn, &entry)?;
            txn.open_table(RULE_FIRINGS)?.insert(k, index)?;
            let body = |id: &str, to: &crate::outbox::Subscription| {
                let mut data = serde_json::json!({
                    "issuer": info.name,
                    "rule": hex::encode(a.rule),
                    "credential_id": a.credential_id,
                    "occasion": a.occasion,
                    "entry": index,
                    "day": dossier_core::encoding::days_to_date(day),
                    "details": firing.details,
                });
                if let (true, Some(values)) = (to.values, &firing.values) {
                    data["values"] = values.clone();
                }
                serde_json::json!({"type": "rule.fired", "id": id, "time": time, "data": data})
                    .to_string()
            };
            crate::outbox::enqueue(
                &txn,
                &info.name,
                index,
                &firing.parties,
                &body,
                time.saturating_mul(1000),
            )?;
            for (action, party, title) in &firing.tasks {
                put_task(
                    &txn,
                    &Task {
                        issuer: info.name.clone(),
                        entry: index,
                        action: *action,
                        rule: hex::encode(a.rule),
                        credential_id: a.credential_id,
                        party: party.clone(),
                        title: title.clone(),
                        state: TaskState::Open,
                        issued: None,
                        proposed: None,
                        closed_on: None,
                    },
                )?;
            }
            written.push(Some(index));
        }
        txn.commit()?;
        Ok(written)
    }
}

impl Store {
    /// Records how far an open task of the key's issuer has come (the credential its
    /// approval issued, or closed), when no credential action's transaction records it.
    pub fn save_task(&self, key: &KeyPair, task: &Task) -> Result<(), StoreError> {
        let (txn, info) = self.write_as(key)?;
        let stored: Task = match txn.open_table(RULE_TASKS)?.get((task.entry, task.action))? {
            Some(v) => record_from_json("task", v.value())?,
            None => return Err(refused("no such task")),
        };
        if stored.issuer != info.name || task.issuer != info.name {
            return Err(refused("the task is another issuer's"));
        }
        if stored.state != TaskState::Open {
            return Err(refused("the task is closed"));
        }
        put_task(&txn, task)?;
        txn.commit()?;
        Ok(())
    }

    /// Closes an open task without approval (declined), or marks one approved whose approval
    /// takes no credential action.
    pub fn close_task(
        &self,
        key: &KeyPair,
        id: (u64, u8),
        state: TaskState,
        day: u32,
    ) -> Result<Task, StoreError> {
        let (txn, info) = self.write_as(key)?;
        let mut task: Task = match txn.open_table(RULE_TASKS)?.get(id)? {
            Some(v) => record_from_json("task", v.value())?,
            None => return Err(refused("no such task")),
        };
        if task.issuer != info.name {
            return Err(refused("the task is another issuer's"));
        }
        if task.state != TaskState::Open {
            return Err(refused("the task is closed"));
        }
        task.state = state;
        task.closed_on = Some(dossier_core::encoding::days_to_date(day));
        put_task(&txn, &task)?;
        txn.commit()?;
        Ok(task)
    }
}

fn parse_hash(hex_text: &str) -> Result<[u8; 32], StoreError> {
    parse_rule_hash(hex_text).ok_or_else(|| StoreError::Ledger {
        reason: "a stored rule adoption is corrupt".into(),
    })
}

impl Store {
    /// Opens a ballot for the ballot actions of rule cases (each a `RuleFired` entry and the
    /// action's index), recording in the same transaction that it rates them: refused, with
    /// nothing written, if any of them is rated in a ballot already. Returns the
    /// `BallotOpened` entry's index.
    pub fn open_rule_ballot(
        &self,
        key: &KeyPair,
        ballot: &dossier_core::ballot::Ballot,
        cases: &[(u64, u8)],
        time: u64,
    ) -> Result<u64, StoreError> {
        self.open_ballot_with(key, ballot, time, |txn, _| {
            let mut t = txn.open_table(RULE_BALLOTS)?;
            for case in cases {
                if t.get(*case)?.is_some() {
                    return Err(refused("a case is rated in another ballot already"));
                }
                t.insert(*case, ballot.name.as_str())?;
            }
            Ok(())
        })
    }
}

impl<D: Reading> Store<D> {
    /// The ballot each rule case's ballot action opened, by (`RuleFired` entry, action).
    pub fn rule_ballots(
        &self,
    ) -> Result<std::collections::BTreeMap<(u64, u8), String>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_BALLOTS)?;
        let mut out = std::collections::BTreeMap::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.insert(k.value(), v.value().to_string());
        }
        Ok(out)
    }

    /// A rule file's text, by its SHA-256.
    pub fn rule_text(&self, hash: &[u8; 32]) -> Result<Option<String>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_TEXTS)?;
        let text = t.get(hash)?.map(|v| v.value().to_string());
        Ok(text)
    }

    /// Every rule file the store keeps, with its SHA-256.
    pub fn rule_texts(&self) -> Result<Vec<([u8; 32], String)>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_TEXTS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push((k.value(), v.value().to_string()));
        }
        Ok(out)
    }

    /// Every adoption, in log order (of every issuer, or of one).
    pub fn adoptions(&self, issuer: Option<&str>) -> Result<Vec<Adoption>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_ADOPTIONS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let a: Adoption = record_from_json("rule adoption", row?.1.value())?;
            if issuer.is_none_or(|i| i == a.issuer) {
                out.push(a);
            }
        }
        Ok(out)
    }

    /// A task by its id.
    pub fn task(&self, id: (u64, u8)) -> Result<Option<Task>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_TASKS)?;
        let task = t
            .get(id)?
            .map(|v| record_from_json("task", v.value()))
            .transpose();
        task
    }

    /// Tasks, oldest first: of one issuer or all, of one party or all, open only or all.
    pub fn tasks(
        &self,
        issuer: Option<&str>,
        party: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<Task>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_TASKS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let task: Task = record_from_json("task", row?.1.value())?;
            if issuer.is_none_or(|i| i == task.issuer)
                && party.is_none_or(|p| p == task.party)
                && (!open_only || task.state == TaskState::Open)
            {
                out.push(task);
            }
        }
        Ok(out)
    }

    /// The actions an issuer's engine has taken, with their entries.
    pub fn firings(&self, issuer: &str) -> Result<Vec<(FiringKey, u64)>, StoreError> {
        let info = self.issuer(issuer)?;
        let id = field::to_be_bytes(&info.issuer_id);
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(RULE_FIRINGS)?;
        let mut out = Vec::new();
        for row in t.range((id, [0u8; 32], 0, 0)..=(id, [0xff; 32], u32::MAX, u64::MAX))? {
            let (k, v) = row?;
            let (_, rule, credential_id, occasion) = k.value();
            out.push((
                FiringKey {
                    rule,
                    credential_id,
                    occasion,
                },
                v.value(),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_core::keys::KeyPair;

    fn store() -> (tempfile::TempDir, Store, KeyPair) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store =
            Store::open(&dir.path().join("db"), std::time::Duration::from_secs(1)).expect("open");
        store
            .init_ledger(&KeyPair::generate("ledger.example", &mut rand::rngs::OsRng).expect("key"))
            .expect("ledger");
        let hr = KeyPair::generate("hr.example", &mut rand::rngs::OsRng).expect("key");
        store.register_issuer(&hr, 1).expect("register");
        (dir, store, hr)
    }

    #[test]
    fn an_action_is_written_once() {
        let (_d, store, hr) = store();
        let text = "name = \"r\"\n";
        let at = store.adopt_rule(&hr, "r", text, 0, 2).expect("adopt");
        assert_eq!(
            store.rule_text(&rule_hash(text)).expect("text").as_deref(),
            Some(text)
        );
        let a = FiringKey {
            rule: rule_hash(text),
            credential_id: 7,
            occasion: 20_000,
        };
        let f = Firing {
            key: a,
            parties: vec!["servant".into()],
            details: serde_json::json!({}),
            tasks: vec![(0, "hr_office".into(), "review".into())],
            values: None,
        };
        let first = store
            .fire_rules(&hr, &[f.clone(), f.clone()], 20_001, 3)
            .expect("fire");
        assert_eq!(
            first,
            vec![Some(at + 1), None],
            "a repeat in one run is skipped"
        );
        let again = store.fire_rules(&hr, &[f], 20_002, 4).expect("again");
        assert_eq!(again, vec![None], "a repeat in a later run is skipped");
        assert_eq!(
            store.firings("hr.example").expect("firings"),
            vec![(a, at + 1)]
        );
        assert_eq!(store.ledger_size().expect("size"), at + 2);
    }

    #[test]
    fn adoption_states_and_task_ids() {
        let a = |name: &str, from, entry| Adoption {
            issuer: "hr".into(),
            name: name.into(),
            rule: String::new(),
            from,
            entry,
        };
        let all = [a("r", 10, 1), a("r", 20, 2), a("s", 30, 3)];
        assert_eq!(all[0].state(&all, 9), AdoptionState::NotYetInForce);
        assert_eq!(all[0].state(&all, 19), AdoptionState::InForce);
        assert_eq!(all[0].state(&all, 20), AdoptionState::Replaced);
        assert_eq!(all[1].state(&all, 20), AdoptionState::InForce);
        assert_eq!(all[2].state(&all, 29), AdoptionState::NotYetInForce);
        assert_eq!(Task::parse_id("12.3"), Some((12, 3)));
        for bad in ["12", "12.", ".3", "12.256", "x.1", "-1.0"] {
            assert_eq!(Task::parse_id(bad), None, "{bad}");
        }
        assert!(parse_rule_hash(&"ab".repeat(32)).is_some());
        assert!(parse_rule_hash(&"ab".repeat(31)).is_none());
        assert!(parse_rule_hash(&"zz".repeat(32)).is_none());
    }

    #[test]
    fn unadopted_rules_and_repeated_adoptions_are_refused() {
        let (_d, store, hr) = store();
        let a = FiringKey {
            rule: rule_hash("edited"),
            credential_id: 1,
            occasion: 1,
        };
        let size = store.ledger_size().expect("size");
        assert!(matches!(
            store.fire_rules(
                &hr,
                &[Firing {
                    key: a,
                    parties: Vec::new(),
                    details: serde_json::Value::Null,
                    tasks: Vec::new(),
                    values: None,
                }],
                1,
                1
            ),
            Err(StoreError::Refused { .. })
        ));
        assert_eq!(store.ledger_size().expect("size"), size, "nothing written");
        store.adopt_rule(&hr, "r", "x", 0, 1).expect("adopt");
        assert!(store.adopt_rule(&hr, "r", "x", 5, 1).is_err());
        assert!(store
            .adopt_rule(&hr, "r", &"x".repeat(MAX_RULE_TEXT + 1), 5, 1)
            .is_err());
        let other = KeyPair::generate("hr.example", &mut rand::rngs::OsRng).expect("key");
        assert!(
            store.adopt_rule(&other, "r", "y", 0, 1).is_err(),
            "only the issuer's key adopts its rules"
        );
    }
}
