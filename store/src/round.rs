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
//! Tables: `rounds` round id -> JSON of the round and its entry; `round_proofs` round id ->
//! JSON [`RoundProof`] (apart, so that declaring and finding rounds never reads proofs).

use crate::db::{append_entry, record_from_json, record_json};
use crate::kv::{Readable, Reading, TableDef};
use crate::{Store, StoreError};
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::round::{ids, ranges_overlap, Declaration, Round, RoundProof, MAX_ROUND};
use dossier_core::{field, Fr};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// `rounds`: round id -> JSON of the round and its `RoundDeclared` entry.
pub const ROUNDS: TableDef<[u8; 32], &str> = TableDef::new("rounds");
/// `round_proofs`: round id -> JSON [`RoundProof`], the latest verified one.
pub const ROUND_PROOFS: TableDef<[u8; 32], &str> = TableDef::new("round_proofs");

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

/// A declared round: what the `rounds` table keeps.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredRound {
    /// The round.
    pub round: Round,
    /// Its `RoundDeclared` entry.
    pub declared_entry: u64,
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::RoundRefused {
        reason: reason.into(),
    }
}

/// Every declared round of a table, with its id.
fn declared(
    t: &impl Readable<[u8; 32], &'static str>,
) -> Result<Vec<([u8; 32], DeclaredRound)>, StoreError> {
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        out.push((k.value(), record_from_json("round", v.value())?));
    }
    Ok(out)
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
        if ids(round.first, round.count).end > info.next_id {
            return Err(refused("the round names credential ids not issued yet"));
        }
        {
            let t = txn.open_table(ROUNDS)?;
            for (_, DeclaredRound { round: other, .. }) in declared(&t)? {
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
        let entry = Entry::sign(time, round.declared_entry()?, key);
        let index = append_entry(&txn, &entry)?;
        let record = DeclaredRound {
            round: round.clone(),
            declared_entry: index,
        };
        txn.open_table(ROUNDS)?.insert(
            field::to_be_bytes(&id),
            record_json("round", &record)?.as_str(),
        )?;
        txn.commit()?;
        Ok(index)
    }

    /// Keeps a round's proof, which the caller has verified
    /// (`dossier_verifier::round::verify_round`): its round must be a declared one, exactly.
    pub fn record_round_proof(&self, proof: &RoundProof) -> Result<(), StoreError> {
        let key = field::to_be_bytes(&proof.round.id()?);
        let txn = self.raw().begin_write()?;
        {
            let t = txn.open_table(ROUNDS)?;
            let record: DeclaredRound = match t.get(key)? {
                Some(v) => record_from_json("round", v.value())?,
                None => return Err(StoreError::UnknownRound),
            };
            if record.round != proof.round {
                return Err(StoreError::UnknownRound);
            }
        }
        txn.open_table(ROUND_PROOFS)?
            .insert(key, record_json("round proof", proof)?.as_str())?;
        txn.commit()?;
        Ok(())
    }
}

impl<D: Reading> Store<D> {
    /// Every declared round with its latest proof, in declaration order.
    pub fn rounds(&self) -> Result<Vec<RoundRecord>, StoreError> {
        let txn = self.raw().begin_read()?;
        // A store made before rounds existed, opened read-only, reads as having none.
        let (rounds, proofs) = (txn.open_table(ROUNDS)?, txn.open_table(ROUND_PROOFS)?);
        let mut out = Vec::new();
        for (key, d) in declared(&rounds)? {
            let proof = match proofs.get(key)? {
                Some(v) => Some(record_from_json("round proof", v.value())?),
                None => None,
            };
            out.push(RoundRecord {
                round: d.round,
                declared_entry: d.declared_entry,
                proof,
            });
        }
        out.sort_by_key(|r| r.declared_entry);
        Ok(out)
    }

    /// A declared round by its id, with its latest proof.
    pub fn round_by_id(&self, id: &Fr) -> Result<RoundRecord, StoreError> {
        let key = field::to_be_bytes(id);
        let txn = self.raw().begin_read()?;
        let rounds = txn.open_table(ROUNDS)?;
        let d: DeclaredRound = match rounds.get(key)? {
            Some(v) => record_from_json("round", v.value())?,
            None => return Err(StoreError::UnknownRound),
        };
        let proof = match txn.open_table(ROUND_PROOFS)?.get(key)? {
            Some(v) => Some(record_from_json("round proof", v.value())?),
            None => None,
        };
        Ok(RoundRecord {
            round: d.round,
            declared_entry: d.declared_entry,
            proof,
        })
    }

    /// The round of an office for a unit and year (its proof not read).
    pub fn round(&self, issuer: &str, unit: &str, year: u32) -> Result<DeclaredRound, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(ROUNDS)?;
        declared(&t)?
            .into_iter()
            .map(|(_, d)| d)
            .find(|d| d.round.issuer == issuer && d.round.unit == unit && d.round.year == year)
            .ok_or(StoreError::UnknownRound)
    }

    /// A round's declaration with its inclusion proof in the checkpoint of `size` entries
    /// (which must hold it).
    pub fn round_declaration(
        &self,
        declared: &DeclaredRound,
        size: u64,
    ) -> Result<Declaration, StoreError> {
        let index = declared.declared_entry;
        if index >= size {
            return Err(refused(
                "the checkpoint predates the round's declaration: publish a checkpoint first",
            ));
        }
        let entry = self
            .entries(index, index + 1)?
            .pop()
            .ok_or(StoreError::UnknownRound)?;
        Ok(Declaration::new(
            index,
            &entry,
            &self.inclusion_proof(index, size)?,
        ))
    }
}

/// A round as the audit reports it (hashes and ids only).
#[derive(Clone, Debug, Serialize)]
pub struct RoundEvent {
    /// The `RoundDeclared` entry.
    pub entry: u64,
    /// The round's id.
    #[serde(with = "field::serde_hex")]
    pub round_id: Fr,
    /// The HR office's issuer id.
    #[serde(with = "field::serde_hex")]
    pub issuer_id: Fr,
    /// The unit's hash.
    #[serde(with = "field::serde_hex")]
    pub unit: Fr,
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
    /// The HR office's issuer id.
    #[serde(with = "field::serde_hex")]
    pub issuer_id: Fr,
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
    /// Per office, one past the highest id issued.
    issued: BTreeMap<Fr, u64>,
    /// Per office, its live appraisals.
    appraisals: BTreeMap<Fr, BTreeSet<u32>>,
    /// Per office, its rounds' places in `events`.
    rounds: BTreeMap<Fr, Vec<usize>>,
    /// What the report lists, in log order.
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
                let span = ids(*first, *count);
                if span.end > self.issued.get(issuer_id).copied().unwrap_or(0) {
                    return Err(transition("a round names credential ids not issued yet"));
                }
                let office = self.rounds.entry(*issuer_id).or_default();
                for other in office.iter().map(|i| &self.events[*i]) {
                    if other.unit == *unit && other.year == *year {
                        return Err(transition("a second round of one unit and year"));
                    }
                    if ranges_overlap(&span, &ids(other.first, other.count)) {
                        return Err(transition("two rounds of one office overlap"));
                    }
                }
                office.push(self.events.len());
                self.events.push(RoundEvent {
                    entry: index,
                    round_id: *round_id,
                    issuer_id: *issuer_id,
                    unit: *unit,
                    year: *year,
                    first: *first,
                    count: *count,
                });
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
        for (issuer, places) in &self.rounds {
            // The office's rounds by first id (they do not overlap): an id is inside one iff
            // the last round starting at or before it still covers it.
            let mut spans: Vec<std::ops::Range<u64>> = places
                .iter()
                .map(|i| ids(self.events[*i].first, self.events[*i].count))
                .collect();
            spans.sort_by_key(|r| r.start);
            let (Some(start), Some(appraisals)) = (spans.first(), self.appraisals.get(issuer))
            else {
                continue;
            };
            let inside = |id: u64| {
                let after = spans.partition_point(|r| r.start <= id);
                after > 0 && spans[after - 1].contains(&id)
            };
            let outside: Vec<u32> = appraisals
                .range(start.start as u32..)
                .copied()
                .filter(|id| !inside(u64::from(*id)))
                .collect();
            if !outside.is_empty() {
                out.push(OutsideRounds {
                    issuer_id: *issuer,
                    count: outside.len(),
                    ids: outside.into_iter().take(100).collect(),
                });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Office {
        replay: RoundReplay,
        key: KeyPair,
        id: Fr,
        next: u64,
    }

    impl Office {
        fn new() -> Office {
            let key = KeyPair::generate("hr.example", &mut rand::rngs::OsRng).expect("key");
            Office {
                replay: RoundReplay::default(),
                key,
                id: dossier_core::issuer_id("hr.example").expect("id"),
                next: 0,
            }
        }

        fn apply(&mut self, body: EntryBody) -> Result<(), crate::audit::Discrepancy> {
            let entry = Entry::sign(1, body, &self.key);
            self.next += 1;
            let id = self.id;
            self.replay.apply(self.next, &entry, |i| *i == id)
        }

        /// Issues `n` credentials of a schema.
        fn issue(&mut self, n: u32, schema_id: Fr) {
            let first = self.replay.issued.get(&self.id).copied().unwrap_or(0) as u32;
            for credential_id in first..first + n {
                self.apply(EntryBody::Issue {
                    issuer_id: self.id,
                    schema_id,
                    credential_id,
                    commitment: Fr::from(1u64),
                    commitment_halo2: Default::default(),
                    approvals: Vec::new(),
                })
                .expect("issue");
            }
        }

        fn declare(&mut self, unit: u64, year: u32, first: u32, count: u32) -> Result<(), String> {
            let unit = Fr::from(unit);
            let round_id =
                dossier_core::round::round_id(self.id, unit, year, first, count).expect("id");
            self.declare_as(self.id, round_id, unit, year, first, count)
        }

        fn declare_as(
            &mut self,
            issuer_id: Fr,
            round_id: Fr,
            unit: Fr,
            year: u32,
            first: u32,
            count: u32,
        ) -> Result<(), String> {
            self.apply(EntryBody::RoundDeclared {
                issuer_id,
                round_id,
                unit,
                year,
                first,
                count,
            })
            .map_err(|d| format!("{d:?}"))
        }
    }

    #[test]
    fn the_audit_refuses_rounds_the_store_would_refuse() {
        let mut o = Office::new();
        let appraisal = o.replay.appraisal;
        o.issue(100, appraisal);
        o.declare(1, 2025, 10, 20).expect("a round");
        for (what, result) in [
            ("overlap at the start", o.declare(2, 2025, 29, 5)),
            ("overlap at the end", o.declare(2, 2025, 5, 6)),
            ("the same unit and year", o.declare(1, 2025, 50, 5)),
            ("ids not issued yet", o.declare(2, 2025, 90, 11)),
            ("an empty round", o.declare(2, 2025, 50, 0)),
            ("a round too large", o.declare(2, 2025, 0, MAX_ROUND + 1)),
        ] {
            assert!(result.is_err(), "{what}");
        }
        // The id must be the hash of the fields, and the issuer registered.
        let id = dossier_core::round::round_id(o.id, Fr::from(2u64), 2025, 50, 5).expect("id");
        assert!(o.declare_as(o.id, id, Fr::from(2u64), 2025, 50, 6).is_err());
        let stranger = dossier_core::issuer_id("hr.other").expect("id");
        let id = dossier_core::round::round_id(stranger, Fr::from(2u64), 2025, 50, 5).expect("id");
        assert!(o
            .declare_as(stranger, id, Fr::from(2u64), 2025, 50, 5)
            .is_err());
        // Adjacent rounds, and the same unit in another year, are fine.
        o.declare(2, 2025, 30, 5).expect("adjacent after");
        o.declare(3, 2025, 5, 5).expect("adjacent before");
        o.declare(1, 2024, 60, 5).expect("another year");
        assert_eq!(o.replay.events.len(), 4);
    }

    #[test]
    fn appraisals_outside_every_round_are_listed_from_the_first_round_on() {
        let mut o = Office::new();
        let appraisal = o.replay.appraisal;
        o.issue(5, appraisal); // 0..5: before any round, earlier records
        o.issue(3, Fr::from(77u64)); // 5..8: not appraisals
        o.issue(40, appraisal); // 8..48
        o.declare(1, 2025, 20, 10).expect("round 20..30");
        o.declare(2, 2025, 8, 5).expect("round 8..13");
        o.declare(3, 2025, 40, 8).expect("round 40..48");
        let outside = o.replay.outside();
        assert_eq!(outside.len(), 1);
        let expected: Vec<u32> = (13..20).chain(30..40).collect();
        assert_eq!(outside[0].ids, expected);
        assert_eq!(outside[0].count, expected.len());
        // A revoked appraisal, and one replaced by another schema, are no longer listed.
        o.apply(EntryBody::Revoke {
            issuer_id: o.id,
            credential_id: 13,
        })
        .expect("revoke");
        o.apply(EntryBody::Update {
            issuer_id: o.id,
            schema_id: Fr::from(77u64),
            credential_id: 14,
            commitment: Fr::from(2u64),
            commitment_halo2: Default::default(),
        })
        .expect("update");
        assert_eq!(
            o.replay.outside()[0].ids,
            (15..20).chain(30..40).collect::<Vec<u32>>()
        );
        // An office without rounds is not listed.
        let mut other = Office::new();
        other.issue(3, appraisal);
        assert!(other.replay.outside().is_empty());
    }
}
