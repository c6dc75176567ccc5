//! Appraisal rounds in the store: an HR office declares a unit's appraisals of a year on the
//! ledger (`RoundDeclared`), and keeps the latest proof of the round's quota beside it for
//! regulators to fetch. Proofs are checked by the caller (the verifier crate) before
//! [`Store::record_round_proof`]: this crate has no verifier.
//!
//! A declaration is refused unless its ids are already issued by that HR office, it overlaps
//! none of the office's rounds, and the office has no round of that unit and year: so an
//! "excellent" cannot be counted twice, nor a unit's year split so as to leave one out. The
//! audit ([`RoundReplay`]) re-checks all of this from the ledger alone and lists every live
//! appraisal of an office that lies outside all of its rounds (from the office's first round
//! on): an appraisal hidden outside the declared range is visible there.
//!
//! Table: `rounds` round id -> JSON [`RoundRecord`].

use crate::db::append_entries;
use crate::{Store, StoreError};
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::round::{Round, RoundProof, MAX_ROUND};
use dossier_core::{field, Fr};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `rounds`: round id -> JSON [`RoundRecord`].
pub const ROUNDS: TableDefinition<[u8; 32], &str> = TableDefinition::new("rounds");

/// A declared round and its latest proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundRecord {
    /// The round.
    pub round: Round,
    /// Its `RoundDeclared` entry.
    pub declared_entry: u64,
    /// The latest verified proof of its quota, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<RoundProof>,
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::RoundRefused {
        reason: reason.into(),
    }
}

fn parse(s: &str) -> Result<RoundRecord, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Ledger {
        reason: "a stored round is corrupt".into(),
    })
}

fn to_json(r: &RoundRecord) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|e| refused(format!("encoding a round: {e}")))
}

impl Store {
    /// Declares a round: the key must be the round's HR office's key in force, the ids issued
    /// already, no other round of the office overlapping it or of the same unit and year.
    /// Writes the `RoundDeclared` entry and returns its index.
    pub fn declare_round(
        &self,
        key: &KeyPair,
        round: &Round,
        time: u64,
    ) -> Result<u64, StoreError> {
        round.check()?;
        if key.name() != round.issuer {
            return Err(refused(
                "a round is declared by its HR office (the issuer it names)",
            ));
        }
        let id = round.id()?;
        let (txn, info) = self.write_as(key)?;
        if u64::from(round.first) + u64::from(round.count) > info.next_id {
            return Err(refused("the round names credential ids not issued yet"));
        }
        {
            let t = txn.open_table(ROUNDS)?;
            for row in t.iter()? {
                let (_, v) = row?;
                let other = parse(v.value())?.round;
                if other.issuer != round.issuer {
                    continue;
                }
                if other.unit == round.unit && other.year == round.year {
                    return Err(refused("the office has a round of this unit and year"));
                }
                if other.overlaps(round) {
                    return Err(refused("the round overlaps another round of the office"));
                }
            }
        }
        let entry = Entry::sign(
            time,
            EntryBody::RoundDeclared {
                issuer_id: info.issuer_id,
                round_id: id,
                unit: round.unit_hash()?,
                year: round.year,
                first: round.first,
                count: round.count,
            },
            key,
        );
        let index = append_entries(&txn, &[entry.to_bytes()])? - 1;
        let record = RoundRecord {
            round: round.clone(),
            declared_entry: index,
            proof: None,
        };
        txn.open_table(ROUNDS)?
            .insert(field::to_be_bytes(&id), to_json(&record)?.as_str())?;
        txn.commit()?;
        Ok(index)
    }

    /// Keeps a round's proof, which the caller has verified
    /// (`dossier_verifier::round::verify_round`): its round must be a declared one, exactly.
    pub fn record_round_proof(&self, proof: &RoundProof) -> Result<(), StoreError> {
        let id = proof.round.id()?;
        let txn = self.raw().begin_write()?;
        {
            let mut t = txn.open_table(ROUNDS)?;
            let mut record = match t.get(field::to_be_bytes(&id))? {
                Some(v) => parse(v.value())?,
                None => return Err(StoreError::UnknownRound),
            };
            if record.round != proof.round {
                return Err(StoreError::UnknownRound);
            }
            record.proof = Some(proof.clone());
            t.insert(field::to_be_bytes(&id), to_json(&record)?.as_str())?;
        }
        txn.commit()?;
        Ok(())
    }
}

impl<D: ReadableDatabase> Store<D> {
    /// Every declared round, in declaration order.
    pub fn rounds(&self) -> Result<Vec<RoundRecord>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = match txn.open_table(ROUNDS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(parse(row?.1.value())?);
        }
        out.sort_by_key(|r| r.declared_entry);
        Ok(out)
    }

    /// The round of an office for a unit and year.
    pub fn round(&self, issuer: &str, unit: &str, year: u32) -> Result<RoundRecord, StoreError> {
        self.rounds()?
            .into_iter()
            .find(|r| r.round.issuer == issuer && r.round.unit == unit && r.round.year == year)
            .ok_or(StoreError::UnknownRound)
    }
}

/// A round as the audit reports it (hashes and ids only).
#[derive(Clone, Debug, Serialize)]
pub struct RoundEvent {
    /// The `RoundDeclared` entry.
    pub entry: u64,
    /// The round's id (hex).
    pub round_id: String,
    /// The HR office's issuer id (hex).
    pub issuer_id: String,
    /// The unit's hash (hex).
    pub unit: String,
    /// The year.
    pub year: u32,
    /// The first id.
    pub first: u32,
    /// The size.
    pub count: u32,
}

/// Live appraisals of an office outside every one of its rounds.
#[derive(Clone, Debug, Serialize)]
pub struct OutsideRounds {
    /// The HR office's issuer id (hex).
    pub issuer_id: String,
    /// How many.
    pub count: usize,
    /// Their credential ids (the first 100).
    pub ids: Vec<u32>,
}

/// The audit's replay of rounds: each declared by a registered issuer, with the id its fields
/// hash to, over ids already issued, overlapping no other round of the office and repeating no
/// unit and year; and, at the end, the live appraisals outside every round.
pub(crate) struct RoundReplay {
    appraisal: Fr,
    issued: BTreeMap<Fr, u64>,
    appraisals: BTreeMap<Fr, BTreeSet<u32>>,
    rounds: BTreeMap<Fr, Vec<RoundEvent>>,
    pub events: Vec<RoundEvent>,
}

impl Default for RoundReplay {
    fn default() -> Self {
        RoundReplay {
            appraisal: dossier_core::schema::SchemaSet::builtin()
                .get("appraisal")
                .map(|s| s.id())
                .unwrap_or_default(),
            issued: BTreeMap::new(),
            appraisals: BTreeMap::new(),
            rounds: BTreeMap::new(),
            events: Vec::new(),
        }
    }
}

impl RoundReplay {
    /// Applies one entry (`registered` says whether an issuer is registered so far).
    pub fn apply(
        &mut self,
        index: u64,
        entry: &Entry,
        registered: impl Fn(&Fr) -> bool,
    ) -> Result<(), crate::audit::Discrepancy> {
        use crate::audit::{fail, DiscrepancyKind};
        let at = format!("entry {index}");
        let transition = |m: &str| fail(&at, DiscrepancyKind::InvalidTransition, m);
        match &entry.body {
            EntryBody::Issue {
                issuer_id,
                schema_id,
                credential_id,
                ..
            }
            | EntryBody::Update {
                issuer_id,
                schema_id,
                credential_id,
                ..
            } => {
                let next = self.issued.entry(*issuer_id).or_default();
                *next = (*next).max(u64::from(*credential_id) + 1);
                let set = self.appraisals.entry(*issuer_id).or_default();
                if *schema_id == self.appraisal {
                    set.insert(*credential_id);
                } else {
                    set.remove(credential_id);
                }
            }
            EntryBody::Revoke {
                issuer_id,
                credential_id,
            } => {
                if let Some(set) = self.appraisals.get_mut(issuer_id) {
                    set.remove(credential_id);
                }
            }
            EntryBody::RoundDeclared {
                issuer_id,
                round_id,
                unit,
                year,
                first,
                count,
            } => {
                if !registered(issuer_id) {
                    return Err(transition("a round declared by an unregistered issuer"));
                }
                let id = dossier_core::round::round_id(*issuer_id, *unit, *year, *first, *count)
                    .map_err(|e| transition(&e.to_string()))?;
                if id != *round_id {
                    return Err(transition("a round's id is not the hash of its fields"));
                }
                if *count == 0 || *count > MAX_ROUND {
                    return Err(transition("a round's size is out of bounds"));
                }
                let end = u64::from(*first) + u64::from(*count);
                if end > self.issued.get(issuer_id).copied().unwrap_or(0) {
                    return Err(transition("a round names credential ids not issued yet"));
                }
                let event = RoundEvent {
                    entry: index,
                    round_id: field::to_hex(round_id),
                    issuer_id: field::to_hex(issuer_id),
                    unit: field::to_hex(unit),
                    year: *year,
                    first: *first,
                    count: *count,
                };
                let office = self.rounds.entry(*issuer_id).or_default();
                for other in office.iter() {
                    if other.unit == event.unit && other.year == *year {
                        return Err(transition("a second round of one unit and year"));
                    }
                    let other_end = u64::from(other.first) + u64::from(other.count);
                    if u64::from(*first) < other_end && u64::from(other.first) < end {
                        return Err(transition("two rounds of one office overlap"));
                    }
                }
                office.push(event.clone());
                self.events.push(event);
            }
            _ => {}
        }
        Ok(())
    }

    /// The live appraisals outside every round of their office, per office, from the office's
    /// first round on (ids from the lowest first id of its rounds: appraisals issued before an
    /// office declared any round are earlier records, not subject to a quota).
    pub fn outside(&self) -> Vec<OutsideRounds> {
        let mut out = Vec::new();
        for (issuer, rounds) in &self.rounds {
            let Some(start) = rounds.iter().map(|r| r.first).min() else {
                continue;
            };
            let Some(ids) = self.appraisals.get(issuer) else {
                continue;
            };
            let outside: Vec<u32> = ids
                .range(start..)
                .copied()
                .filter(|id| {
                    !rounds.iter().any(|r| {
                        *id >= r.first && u64::from(*id) < u64::from(r.first) + u64::from(r.count)
                    })
                })
                .collect();
            if !outside.is_empty() {
                out.push(OutsideRounds {
                    issuer_id: field::to_hex(issuer),
                    count: outside.len(),
                    ids: outside.into_iter().take(100).collect(),
                });
            }
        }
        out
    }
}
