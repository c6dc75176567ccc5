//! Ballots of anonymous peer rating in the store: the HR office opens one on the ledger, ratings
//! are archived as they are accepted (one per colleague and appraisee: a unique nullifier per
//! ballot and appraisee, checked inside the write transaction, so two concurrent ratings with
//! one nullifier cannot both pass), and closing writes the tally to the ledger with the archive's
//! hash. Proofs are checked by the caller (the verifier crate) before [`Store::cast_rating`]:
//! this crate has no verifier.
//!
//! The roll's membership paths ([`Roll`]) are computed from the ledger's public entries up to
//! the roll's size, never from a look-up of one credential: a rater's wallet replays the same
//! entries every colleague can download, so fetching a path tells nobody who is about to rate.
//!
//! Tables: `ballots` ballot id -> JSON [`BallotRecord`]; `ballot_ratings` (ballot id, sequence)
//! -> JSON rating; `ballot_nullifiers` (ballot id, appraisee index, nullifier) -> sequence.

use crate::db::{append_entry, record_from_json, record_json};
use crate::kv::{Readable, Reading, TableDef, WriteTxn};
use crate::registry::{self, MembershipPath, MemoryTree};
use crate::{Store, StoreError};
use ark_ff::Zero;
use dossier_core::ballot::{ratings_hash, Ballot, Rating, Tally, MAX_RATINGS, RATING_FORMAT};
use dossier_core::checkpoint;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::pasta::Fp;
use dossier_core::{field, Fr};
use serde::{Deserialize, Serialize};

/// `ballots`: ballot id -> JSON [`BallotRecord`].
pub const BALLOTS: TableDef<[u8; 32], &str> = TableDef::new("ballots");
/// `ballot_ratings`: (ballot id, sequence) -> JSON [`Rating`].
pub const RATINGS: TableDef<([u8; 32], u32), &str> = TableDef::new("ballot_ratings");
/// `ballot_nullifiers`: (ballot id, appraisee index, nullifier hex) -> sequence.
pub const NULLIFIERS: TableDef<([u8; 32], u16, &str), u32> = TableDef::new("ballot_nullifiers");

/// A ballot as the store knows it: what it keeps, and how many ratings its archive holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BallotRecord {
    /// The published definition.
    pub ballot: Ballot,
    /// The index of its `BallotOpened` entry.
    pub opened_entry: u64,
    /// Ratings accepted so far (counted from the archive, not stored beside it).
    pub ratings: u32,
    /// Once closed: the tally and its `BallotTallied` entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
}

/// What the `ballots` table keeps of a ballot (JSON): written when it opens and when it
/// closes, never per rating.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Stored {
    ballot: Ballot,
    opened_entry: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    closed: Option<Closed>,
}

/// A closed ballot's result as recorded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closed {
    /// The tally.
    pub tally: Tally,
    /// The index of its `BallotTallied` entry.
    pub entry: u64,
    /// SHA-256 of the archive of ratings (hex), as the entry states it.
    pub ratings_sha256: String,
}

/// Where a ballot stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BallotStatus {
    /// Not open yet.
    Pending,
    /// Accepting ratings.
    Open,
    /// Past its closing time, tally not yet published.
    Closing,
    /// Tallied.
    Closed,
}

impl BallotStatus {
    /// Its name, as JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            BallotStatus::Pending => "pending",
            BallotStatus::Open => "open",
            BallotStatus::Closing => "closing",
            BallotStatus::Closed => "closed",
        }
    }
}

impl BallotRecord {
    /// Refuses a rating unless the ballot is open at `now` (the store's check, which the
    /// service also makes before checking any proof).
    pub fn accepting(&self, now: u64) -> Result<(), StoreError> {
        let reason = match self.status(now) {
            BallotStatus::Open => return Ok(()),
            BallotStatus::Pending => "not open yet",
            BallotStatus::Closing | BallotStatus::Closed => "closed",
        };
        Err(StoreError::BallotNotOpen { reason })
    }

    /// The ballot's status at `now`.
    pub fn status(&self, now: u64) -> BallotStatus {
        if self.closed.is_some() {
            BallotStatus::Closed
        } else if now < self.ballot.opens {
            BallotStatus::Pending
        } else if now < self.ballot.closes {
            BallotStatus::Open
        } else {
            BallotStatus::Closing
        }
    }
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason: reason.into(),
    }
}

/// How many ratings a ballot's archive holds: one past its last sequence number.
fn count_ratings(
    t: &impl Readable<([u8; 32], u32), &'static str>,
    key: [u8; 32],
) -> Result<u32, StoreError> {
    Ok(match t.range((key, 0)..=(key, u32::MAX))?.next_back() {
        Some(row) => row?.0.value().1 + 1,
        None => 0,
    })
}

/// A ballot's record inside a transaction (read or write), or `UnknownBallot`.
fn record_in(
    ballots: &impl Readable<[u8; 32], &'static str>,
    ratings: &impl Readable<([u8; 32], u32), &'static str>,
    key: [u8; 32],
) -> Result<BallotRecord, StoreError> {
    let v = ballots.get(key)?.ok_or(StoreError::UnknownBallot)?;
    let stored: Stored = record_from_json("ballot", v.value())?;
    Ok(BallotRecord {
        ballot: stored.ballot,
        opened_entry: stored.opened_entry,
        ratings: count_ratings(ratings, key)?,
        closed: stored.closed,
    })
}

impl Store {
    /// Opens a ballot: the key must be the ballot's HR office's key in force, the roll one of
    /// this ledger's checkpoints, the name unused. Writes the `BallotOpened` entry and returns
    /// its index.
    pub fn open_ballot(
        &self,
        key: &KeyPair,
        ballot: &Ballot,
        time: u64,
    ) -> Result<u64, StoreError> {
        self.open_ballot_with(key, ballot, time, |_, _| Ok(()))
    }

    /// [`Store::open_ballot`], with `keep` run in its transaction with the entry's index (a
    /// rule's ballot records which of its cases it rates).
    pub fn open_ballot_with(
        &self,
        key: &KeyPair,
        ballot: &Ballot,
        time: u64,
        keep: impl FnOnce(&WriteTxn, u64) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        ballot.check()?;
        if key.name() != ballot.issuer {
            return Err(refused(
                "a ballot is opened by its HR office (the issuer it names)",
            ));
        }
        let roll = self.roll_checkpoint(ballot)?;
        let id = ballot.id()?;
        let definition = ballot.definition_hash()?;
        let (txn, info) = self.write_as(key)?;
        {
            let t = txn.open_table(BALLOTS)?;
            if t.get(field::to_be_bytes(&id))?.is_some() {
                return Err(StoreError::BallotExists);
            }
        }
        let entry = Entry::sign(
            time,
            EntryBody::BallotOpened {
                issuer_id: info.issuer_id,
                ballot_id: id,
                definition,
                roll: roll.size,
                opens: ballot.opens,
                closes: ballot.closes,
            },
            key,
        );
        let index = append_entry(&txn, &entry)?;
        let stored = Stored {
            ballot: ballot.clone(),
            opened_entry: index,
            closed: None,
        };
        txn.open_table(BALLOTS)?.insert(
            field::to_be_bytes(&id),
            record_json("ballot", &stored)?.as_str(),
        )?;
        keep(&txn, index)?;
        txn.commit()?;
        Ok(index)
    }

    /// Archives a rating whose proof the caller has verified against the ballot
    /// (`dossier_verifier::ballot::verify_rating`), with its nullifier: refused unless the
    /// ballot is open at `time` and no rating of that appraisee carries the nullifier. Returns
    /// its sequence number in the archive.
    pub fn cast_rating(
        &self,
        rating: &Rating,
        nullifier: &str,
        time: u64,
    ) -> Result<u32, StoreError> {
        let id = dossier_core::ballot::ballot_id(&rating.ballot)?;
        let key = field::to_be_bytes(&id);
        let txn = self.raw().begin_write()?;
        let mut ratings = txn.open_table(RATINGS)?;
        let record = record_in(&txn.open_table(BALLOTS)?, &ratings, key)?;
        record.accepting(time)?;
        let appraisee = record.ballot.appraisee_index(&rating.appraisee)? as u16;
        record.ballot.choices.index(&rating.choice)?;
        if rating.format != RATING_FORMAT {
            return Err(refused("rating: unknown format"));
        }
        if record.ratings as usize >= MAX_RATINGS {
            return Err(refused("this ballot has all the ratings it accepts"));
        }
        let seq = record.ratings;
        {
            let mut n = txn.open_table(NULLIFIERS)?;
            if n.get((key, appraisee, nullifier))?.is_some() {
                return Err(StoreError::AlreadyRated);
            }
            n.insert((key, appraisee, nullifier), seq)?;
        }
        let json = record_json("rating", rating)?;
        ratings.insert((key, seq), json.as_str())?;
        drop(ratings);
        txn.commit()?;
        Ok(seq)
    }

    /// Closes a ballot at or after its closing time: counts the archived ratings and writes
    /// the `BallotTallied` entry (the tally and the archive's hash), signed by the HR office.
    pub fn close_ballot(&self, key: &KeyPair, name: &str, time: u64) -> Result<Closed, StoreError> {
        let id = dossier_core::ballot::ballot_id(name)?;
        let bkey = field::to_be_bytes(&id);
        let (txn, info) = self.write_as(key)?;
        let record = record_in(&txn.open_table(BALLOTS)?, &txn.open_table(RATINGS)?, bkey)?;
        if record.ballot.issuer != info.name {
            return Err(refused(
                "a ballot is closed by the HR office that opened it",
            ));
        }
        match record.status(time) {
            BallotStatus::Closing => {}
            BallotStatus::Closed => {
                return Err(StoreError::BallotNotOpen {
                    reason: "already tallied",
                })
            }
            BallotStatus::Pending | BallotStatus::Open => {
                return Err(StoreError::BallotNotOpen {
                    reason: "still open: it closes at its closing time",
                })
            }
        }
        let ratings = ratings_in(&txn.open_table(RATINGS)?, bkey)?;
        let tally = Tally::count(&record.ballot, &ratings)?;
        let hash = ratings_hash(&ratings)?;
        let body = EntryBody::ballot_tallied(info.issuer_id, id, hash, tally.counts.clone())?;
        let entry = Entry::sign(time, body, key);
        let index = append_entry(&txn, &entry)?;
        let closed = Closed {
            tally,
            entry: index,
            ratings_sha256: hex::encode(hash),
        };
        let stored = Stored {
            ballot: record.ballot,
            opened_entry: record.opened_entry,
            closed: Some(closed.clone()),
        };
        txn.open_table(BALLOTS)?
            .insert(bkey, record_json("ballot", &stored)?.as_str())?;
        txn.commit()?;
        Ok(closed)
    }

    /// The roll must be one of this ledger's checkpoints (same size and log root).
    fn roll_checkpoint(&self, ballot: &Ballot) -> Result<checkpoint::CheckpointBody, StoreError> {
        let (_, key) = self
            .ledger_identity()?
            .ok_or_else(|| refused("this ledger has no key yet"))?;
        let roll = checkpoint::open(ballot.roll.as_bytes(), &key)
            .map_err(|_| refused("roll: not a checkpoint signed by this ledger"))?;
        let ours = self
            .checkpoint_at(roll.size)?
            .map(|n| checkpoint::open(n.as_bytes(), &key))
            .transpose()?;
        match ours {
            Some(cp) if cp.root_hash == roll.root_hash => Ok(roll),
            _ => Err(refused("roll: not one of this ledger's checkpoints")),
        }
    }
}

fn ratings_in(
    t: &impl Readable<([u8; 32], u32), &'static str>,
    key: [u8; 32],
) -> Result<Vec<Rating>, StoreError> {
    ratings_range(t, key, 0, u32::MAX)
}

/// Ratings `start` to `end` (inclusive) of a ballot's archive.
fn ratings_range(
    t: &impl Readable<([u8; 32], u32), &'static str>,
    key: [u8; 32],
    start: u32,
    end: u32,
) -> Result<Vec<Rating>, StoreError> {
    let mut out = Vec::new();
    for row in t.range((key, start)..=(key, end))? {
        out.push(record_from_json("rating", row?.1.value())?);
    }
    Ok(out)
}

impl<D: Reading> Store<D> {
    /// A ballot by name.
    pub fn ballot(&self, name: &str) -> Result<BallotRecord, StoreError> {
        let id = dossier_core::ballot::ballot_id(name)?;
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(BALLOTS)?;
        record_in(&t, &txn.open_table(RATINGS)?, field::to_be_bytes(&id))
    }

    /// Every ballot, by id.
    pub fn ballots(&self) -> Result<Vec<BallotRecord>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(BALLOTS)?;
        let ratings = txn.open_table(RATINGS)?;
        let mut out = Vec::with_capacity(t.len()? as usize);
        for row in t.iter()? {
            out.push(record_in(&t, &ratings, row?.0.value())?);
        }
        Ok(out)
    }

    /// A ballot's archive of accepted ratings, in acceptance order.
    pub fn ratings(&self, name: &str) -> Result<Vec<Rating>, StoreError> {
        let id = dossier_core::ballot::ballot_id(name)?;
        self.ballot(name)?;
        let txn = self.raw().begin_read()?;
        ratings_in(&txn.open_table(RATINGS)?, field::to_be_bytes(&id))
    }

    /// A page of a ballot's archive: at most `limit` ratings from `start` (a sequence number).
    pub fn ratings_page(
        &self,
        name: &str,
        start: u64,
        limit: u64,
    ) -> Result<Vec<Rating>, StoreError> {
        let id = dossier_core::ballot::ballot_id(name)?;
        let total = u64::from(self.ballot(name)?.ratings);
        let (start, end) = (start.min(total), start.saturating_add(limit).min(total));
        if start >= end {
            return Ok(Vec::new());
        }
        let txn = self.raw().begin_read()?;
        let (first, last) = (
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end - 1).unwrap_or(u32::MAX),
        );
        ratings_range(
            &txn.open_table(RATINGS)?,
            field::to_be_bytes(&id),
            first,
            last,
        )
    }

    /// One issuer's registry as of the ledger's first `size` entries (a ballot's roll),
    /// replayed from the entries themselves.
    pub fn roll(&self, issuer: &str, size: u64) -> Result<Roll, StoreError> {
        let entries = self.entries(0, size)?;
        if (entries.len() as u64) < size {
            return Err(refused(
                "roll: the ledger is shorter than the roll's checkpoint",
            ));
        }
        Roll::replay(issuer, entries.iter().map(Vec::as_slice))
    }
}

/// One issuer's registry as of a past checkpoint, rebuilt from public ledger entries (both
/// trees), for membership paths at that checkpoint.
#[derive(Clone, Debug, Default)]
pub struct Roll {
    tree: MemoryTree<Fr>,
    twin: MemoryTree<Fp>,
}

impl Roll {
    /// Replays the issues, updates and revocations of `issuer` among `entries` (every other
    /// entry is skipped; signatures are the audit's business).
    pub fn replay<'a>(
        issuer: &str,
        entries: impl Iterator<Item = &'a [u8]>,
    ) -> Result<Roll, StoreError> {
        let mut replay = RollReplay::new(issuer)?;
        for bytes in entries {
            replay.add(bytes)?;
        }
        replay.finish()
    }

    /// A node of the replayed registry tree (`None` when empty).
    pub fn node(&self, level: u8, index: u32) -> Option<Fr> {
        self.tree.node(level, index)
    }

    /// The membership path of a credential in both trees.
    pub fn path(&self, credential_id: u32) -> Result<MembershipPath, StoreError> {
        let mut p = registry::path(&self.tree, credential_id)?;
        p.halo2 = Some(registry::path_halo2(&self.twin, credential_id)?);
        Ok(p)
    }
}

/// A [`Roll`] replayed one entry at a time, as entries arrive (a page at a time from a
/// service): only the issuer's leaves are kept, never the entries.
pub struct RollReplay {
    id: Fr,
    leaves: Vec<(u32, Fr)>,
    twins: Vec<(u32, Fp)>,
}

impl RollReplay {
    /// Starts replaying `issuer`'s registry.
    pub fn new(issuer: &str) -> Result<RollReplay, StoreError> {
        Ok(RollReplay {
            id: dossier_core::issuer_id(issuer)?,
            leaves: Vec::new(),
            twins: Vec::new(),
        })
    }

    /// Applies the next entry of the log (entries of other issuers and kinds are skipped).
    pub fn add(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let entry = Entry::from_bytes(bytes)?;
        let (credential_id, leaf, twin) = match entry.body {
            EntryBody::Issue {
                issuer_id,
                credential_id,
                commitment,
                commitment_halo2,
                ..
            }
            | EntryBody::Update {
                issuer_id,
                credential_id,
                commitment,
                commitment_halo2,
                ..
            } if issuer_id == self.id => (credential_id, commitment, commitment_halo2),
            EntryBody::Revoke {
                issuer_id,
                credential_id,
            } if issuer_id == self.id => (credential_id, Fr::zero(), Fp::zero()),
            _ => return Ok(()),
        };
        self.leaves.push((credential_id, leaf));
        self.twins.push((credential_id, twin));
        Ok(())
    }

    /// The registry after every entry added.
    pub fn finish(self) -> Result<Roll, StoreError> {
        let mut roll = Roll::default();
        // One batch per tree: a repeated id takes its last value, as in log order.
        registry::apply(&mut roll.tree, &self.leaves)?;
        registry::apply(&mut roll.twin, &self.twins)?;
        Ok(roll)
    }
}

/// A ballot as the audit reports it (ids and counts only: the ledger holds no names).
#[derive(Clone, Debug, Serialize)]
pub struct BallotEvent {
    /// The `BallotOpened` entry.
    pub entry: u64,
    /// The ballot's id (hex).
    pub ballot_id: String,
    /// The HR office's issuer id (hex).
    pub issuer_id: String,
    /// The definition's SHA-256 (hex): compare with the published ballot.
    pub definition_sha256: String,
    /// The roll's checkpoint size.
    pub roll: u64,
    /// Opening and closing times.
    pub opens: u64,
    /// ...
    pub closes: u64,
    /// The `BallotTallied` entry, once closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tallied_entry: Option<u64>,
    /// The archive's SHA-256 (hex), once closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratings_sha256: Option<String>,
    /// Ratings counted, once closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratings: Option<u64>,
}

/// The audit's replay of ballots: each opened once, by a registered issuer, on a roll that is
/// a past, published checkpoint; tallied once, by the issuer that opened it, no earlier than its closing
/// time.
#[derive(Default)]
pub(crate) struct BallotReplay {
    /// Each ballot opened: its issuer and its event's index in the report.
    open: std::collections::HashMap<Fr, (Fr, usize)>,
    /// What the report lists.
    pub events: Vec<BallotEvent>,
}

impl BallotReplay {
    /// Applies one entry (`registered` says whether an issuer is registered so far,
    /// `checkpointed` whether a signed checkpoint of a size was published).
    pub fn apply(
        &mut self,
        index: u64,
        entry: &Entry,
        registered: impl Fn(&Fr) -> bool,
        checkpointed: impl Fn(u64) -> bool,
    ) -> Result<(), crate::audit::Discrepancy> {
        use crate::audit::{fail, DiscrepancyKind};
        let at = format!("entry {index}");
        let transition = |m: &str| fail(&at, DiscrepancyKind::InvalidTransition, m);
        match &entry.body {
            EntryBody::BallotOpened {
                issuer_id,
                ballot_id,
                definition,
                roll,
                opens,
                closes,
            } => {
                if !registered(issuer_id) {
                    return Err(transition("a ballot opened by an unregistered issuer"));
                }
                if self.open.contains_key(ballot_id) {
                    return Err(transition("a ballot opened twice"));
                }
                if *roll == 0 || *roll > index || !checkpointed(*roll) {
                    return Err(transition("a ballot's roll is not a past checkpoint"));
                }
                if closes <= opens {
                    return Err(transition("a ballot closes before it opens"));
                }
                self.open
                    .insert(*ballot_id, (*issuer_id, self.events.len()));
                self.events.push(BallotEvent {
                    entry: index,
                    ballot_id: field::to_hex(ballot_id),
                    issuer_id: field::to_hex(issuer_id),
                    definition_sha256: hex::encode(definition),
                    roll: *roll,
                    opens: *opens,
                    closes: *closes,
                    tallied_entry: None,
                    ratings_sha256: None,
                    ratings: None,
                });
            }
            EntryBody::BallotTallied {
                issuer_id,
                ballot_id,
                ratings,
                counts,
            } => {
                let Some(&(opener, i)) = self.open.get(ballot_id) else {
                    return Err(transition("a tally of a ballot never opened"));
                };
                if opener != *issuer_id {
                    return Err(transition("a ballot tallied by another issuer"));
                }
                let event = &mut self.events[i];
                if event.tallied_entry.is_some() {
                    return Err(transition("a ballot tallied twice"));
                }
                if entry.time < event.closes {
                    return Err(transition("a ballot tallied before its closing time"));
                }
                event.tallied_entry = Some(index);
                event.ratings_sha256 = Some(hex::encode(ratings));
                event.ratings = Some(counts.iter().flatten().map(|n| u64::from(*n)).sum());
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_core::keys::KeyPair;

    fn opened(roll: u64) -> Entry {
        let key = KeyPair::generate("hr.example", &mut rand::thread_rng()).expect("key");
        Entry::sign(
            100,
            EntryBody::BallotOpened {
                issuer_id: Fr::from(7u64),
                ballot_id: Fr::from(roll + 1),
                definition: [1; 32],
                roll,
                opens: 100,
                closes: 200,
            },
            &key,
        )
    }

    #[test]
    fn a_ballots_roll_must_be_a_published_checkpoint() {
        // Regression: the audit checked only that the roll's size was below the entry's index,
        // so a ballot could name a "roll" no checkpoint ever committed to (one the HR office
        // picked to include or leave out whom it liked).
        let checkpoints = [3u64, 6];
        let published = |size: u64| checkpoints.contains(&size);
        let mut replay = BallotReplay::default();
        assert!(replay.apply(8, &opened(6), |_| true, published).is_ok());
        assert!(
            replay.apply(9, &opened(5), |_| true, published).is_err(),
            "a size below the entry but never checkpointed"
        );
        assert!(
            replay.apply(9, &opened(9), |_| true, |_| true).is_ok(),
            "the size just before"
        );
        assert!(
            replay.apply(9, &opened(10), |_| true, |_| true).is_err(),
            "not past"
        );
        assert!(
            replay.apply(9, &opened(0), |_| true, |_| true).is_err(),
            "empty"
        );
    }
}
