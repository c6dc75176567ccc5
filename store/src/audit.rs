//! The regulators' audit: replay a ledger from its entries alone and check everything it claims.
//!
//! Replaying every entry recomputes every registry root (a fresh sparse Merkle tree per issuer)
//! and the log's own Merkle tree. The audit then checks, in log order, and stops at the first
//! discrepancy:
//! - every entry decodes strictly and carries a valid signature by its subject's key in force
//!   (an issuer's registered key, the ledger's for `RegistryRoots` and ceremony records),
//!   following rotations and revocations ([`crate::keys`]): an entry signed by a retired key
//!   after its rotation is a discrepancy; entries a revocation voids are listed;
//! - issuer registrations are unique and self-signed; issues go to empty ids, updates and
//!   revocations to live ones (a registry changes only through valid transitions);
//! - issues and updates are of schemas their issuer is accredited for (on a ledger with an
//!   accreditation authority), and issues of a schema under a committee carry its threshold of
//!   valid approvals ([`crate::authority`]);
//! - every `RegistryRoots` entry states exactly the replayed roots;
//! - every checkpoint is signed by the ledger key in force at its size, lies within the log, has the replayed log
//!   root at its size, lists the roots of the `RegistryRoots` entry just before it, is
//!   consistent with the previous checkpoint (an RFC 6962 consistency proof from the replayed
//!   tree) and is not older than it; two checkpoints of one size must agree (no fork);
//! - with [`audit_store`], every node of every registry a store holds equals the replayed
//!   registries': a registry changed outside the log shows here.

use crate::export::LedgerExport;
use crate::kv::Reading;
use crate::ledger::MemoryLog;
use crate::registry::{self, MemoryTree};
use crate::{Store, StoreError};
use ark_ff::Zero;
use dossier_core::checkpoint;
use dossier_core::entry::{Entry, EntryBody, RegistryRoot};
use dossier_core::keys::{public_from_bytes, public_from_verifier_key};
use dossier_core::pasta::Fp;
use dossier_core::{field, issuer_id, log_proof, Fr};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What an audit found wrong: where, and what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Discrepancy {
    /// Where: `entry N`, `checkpoint of size N`, `registry <issuer>`, or `ledger`.
    pub at: String,
    /// A stable machine-readable kind.
    pub kind: DiscrepancyKind,
    /// A sentence for people.
    pub message: String,
}

/// The kinds of discrepancy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscrepancyKind {
    /// An entry does not decode.
    MalformedEntry,
    /// An entry's signature does not verify.
    BadEntrySignature,
    /// An entry is a transition the registry does not allow.
    InvalidTransition,
    /// A `RegistryRoots` entry or a checkpoint states roots that the entries do not produce.
    RegistryRootMismatch,
    /// A checkpoint is unsigned, signed by another key, or malformed.
    BadCheckpoint,
    /// A checkpoint's log root is not the log's (a tampered, missing or inserted entry).
    CheckpointMismatch,
    /// A checkpoint refers to entries the ledger does not have.
    MissingEntries,
    /// Two checkpoints disagree about the same history.
    Fork,
    /// A registry held now differs from the replayed one.
    RegistryChangedOutsideLog,
    /// A checkpoint lacks the witness cosignatures the auditor's policy demands.
    Unwitnessed,
    /// An entry is signed by a key its subject retired (rotated or revoked) before it.
    RetiredKey,
    /// A key revocation lacks the witness approvals the auditor's policy demands.
    UnapprovedRevocation,
    /// A credential of a schema its issuer is not accredited for.
    Unaccredited,
    /// A credential of a schema under a committee without its threshold of valid approvals
    /// (or approvals where no committee is).
    CommitteeThreshold,
}

/// What a successful audit saw.
#[derive(Clone, Debug, Serialize)]
pub struct AuditReport {
    /// Entries replayed.
    pub entries: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// The log's root hash over all entries (hex).
    pub log_root: String,
    /// Every registry's replayed root.
    pub registries: Vec<AuditedRegistry>,
    /// Key rotations and revocations, in log order (with the entries each revocation voids).
    pub keys: Vec<crate::keys::KeyEvent>,
    /// Accreditations granted and withdrawn, in log order.
    pub accreditations: Vec<crate::authority::replay::AccreditationEvent>,
    /// Committees set, in log order, with the credentials issued under each.
    pub committees: Vec<crate::authority::replay::CommitteeEvent>,
    /// Ballots of anonymous peer rating, opened and tallied.
    pub ballots: Vec<crate::ballot::BallotEvent>,
    /// Appraisal rounds declared, in log order.
    pub rounds: Vec<crate::round::RoundEvent>,
    /// Live appraisals outside every round of their office (empty when every appraisal is
    /// counted by a round): where an appraisal hidden from its unit's quota shows.
    pub appraisals_outside_rounds: Vec<crate::round::OutsideRounds>,
    /// The replayed registries themselves, by issuer id.
    #[serde(skip)]
    pub trees: BTreeMap<Fr, MemoryTree>,
}

/// One registry as replayed.
#[derive(Clone, Debug, Serialize)]
pub struct AuditedRegistry {
    /// The issuer's name.
    pub issuer: String,
    /// Its id.
    pub issuer_id: String,
    /// Its replayed root.
    pub root: String,
    /// Its halo2 twin tree's replayed root.
    pub root_halo2: String,
    /// Live credentials.
    pub live: u64,
}

struct IssuerState {
    name: String,
    tree: MemoryTree,
    /// The halo2 twin tree (same positions, Pasta commitments).
    twin: MemoryTree<Fp>,
    /// Live leaves, for transition checks without touching the tree.
    leaves: HashMap<u32, Fr>,
    /// Leaf changes (commitment, Pasta commitment) not yet hashed into the trees: applied as
    /// one batch when a root is needed.
    pending: Vec<(u32, Fr, Fp)>,
    live: u64,
}

pub(crate) fn fail(
    at: impl Into<String>,
    kind: DiscrepancyKind,
    message: impl Into<String>,
) -> Discrepancy {
    Discrepancy {
        at: at.into(),
        kind,
        message: message.into(),
    }
}

/// Every registry's root, after hashing in the pending changes.
fn roots_of(issuers: &mut BTreeMap<Fr, IssuerState>) -> Result<Vec<RegistryRoot>, Discrepancy> {
    issuers
        .iter_mut()
        .map(|(id, s)| {
            let pending = std::mem::take(&mut s.pending);
            let bn: Vec<(u32, Fr)> = pending.iter().map(|(i, c, _)| (*i, *c)).collect();
            let twin: Vec<(u32, Fp)> = pending.iter().map(|(i, _, t)| (*i, *t)).collect();
            let invalid = |e: crate::StoreError| {
                fail("ledger", DiscrepancyKind::InvalidTransition, e.to_string())
            };
            let root = registry::apply(&mut s.tree, &bn).map_err(invalid)?;
            let root_halo2 = registry::apply(&mut s.twin, &twin).map_err(invalid)?;
            Ok(RegistryRoot {
                issuer_id: *id,
                root,
                root_halo2,
                live: s.live,
            })
        })
        .collect()
}

/// Checks that every checkpoint note carries the cosignatures a witness policy demands (run
/// after [`audit`], which checks the ledger's own signatures): the first one short of it is the
/// discrepancy.
pub fn check_witnessed(
    checkpoints: &[String],
    policy: &dossier_core::cosignature::WitnessPolicy,
) -> Result<(), Discrepancy> {
    for (i, note) in checkpoints.iter().enumerate() {
        if let Err(e) = policy.check(note.as_bytes()) {
            let size = note.lines().nth(1).unwrap_or("?");
            return Err(fail(
                format!("checkpoint of size {size}"),
                DiscrepancyKind::Unwitnessed,
                format!("checkpoint #{i}: {e}"),
            ));
        }
    }
    Ok(())
}

/// Checks that every key revocation carries the approvals a witness policy demands (run after
/// [`audit`]): the first one short of it is the discrepancy.
pub fn check_revocations(
    report: &AuditReport,
    policy: &dossier_core::cosignature::WitnessPolicy,
) -> Result<(), Discrepancy> {
    for e in report.keys.iter().filter(|e| e.event == "revoked") {
        if let Err(err) = policy.check_approvals(&e.statement, &e.approvals) {
            return Err(fail(
                format!("entry {}", e.entry),
                DiscrepancyKind::UnapprovedRevocation,
                format!("the revocation of a key of `{}`: {err}", e.subject),
            ));
        }
    }
    Ok(())
}

/// Checkpoints by size, in the order given, each verified and parsed.
type CheckpointsBySize = BTreeMap<u64, Vec<(usize, checkpoint::CheckpointBody)>>;

/// Audits a ledger export. `trusted_key` is the ledger verifier key the auditor trusts: the
/// ledger's first key, or the key its rotations lead to; without it, the export's own claim is
/// used (and the caller should say so).
pub fn audit(export: &LedgerExport, trusted_key: Option<&str>) -> Result<AuditReport, Discrepancy> {
    let malformed = || {
        fail(
            "ledger",
            DiscrepancyKind::BadCheckpoint,
            "the ledger key is malformed",
        )
    };
    let genesis_text = export.log_key_genesis.as_deref().unwrap_or(&export.log_key);
    let genesis = public_from_verifier_key(genesis_text).map_err(|_| malformed())?;
    // Decoding and signatures run on all cores; the replay below reports the first failure in
    // log order.
    let decoded = decode_entries(export);
    let keys = crate::keys::timeline(&decoded, genesis);
    let claimed = public_from_verifier_key(&export.log_key).map_err(|_| malformed())?;
    if claimed != keys.final_ledger_key() {
        return Err(fail(
            "ledger",
            DiscrepancyKind::BadCheckpoint,
            "the key the export claims is not the one the ledger's rotations lead to",
        ));
    }
    if let Some(t) = trusted_key {
        let t = public_from_verifier_key(t).map_err(|_| malformed())?;
        if t != genesis && t != keys.final_ledger_key() {
            return Err(fail(
                "ledger",
                DiscrepancyKind::BadCheckpoint,
                "the trusted key is neither the ledger's first key nor the one its rotations lead to",
            ));
        }
    }
    let checkpoints = open_checkpoints(export, &keys)?;
    let signatures = check_signatures(&decoded, &keys);
    let mut replay = Replay::new(&checkpoints);
    for (index, (bytes, (entry, signature))) in export
        .entries
        .iter()
        .zip(decoded.into_iter().zip(signatures))
        .enumerate()
    {
        let entry = entry?;
        signature?;
        if let Some(problem) = &keys.problems[index] {
            return Err(problem.clone());
        }
        let at = format!("entry {index}");
        let issuers = &replay.issuers;
        replay.authority.apply(
            index as u64,
            &entry,
            |id| issuers.contains_key(id),
            !issuers.is_empty(),
        )?;
        let issuers = &replay.issuers;
        replay.ballots.apply(
            index as u64,
            &entry,
            |id| issuers.contains_key(id),
            |size| checkpoints.contains_key(&size),
        )?;
        replay
            .rounds
            .apply(index as u64, &entry, |id| issuers.contains_key(id))?;
        replay.apply(&at, &entry)?;
        replay.append(&at, bytes)?;
    }
    let authority = std::mem::take(&mut replay.authority);
    let ballots = std::mem::take(&mut replay.ballots);
    let rounds = std::mem::take(&mut replay.rounds);
    let mut report = replay.finish()?;
    report.appraisals_outside_rounds = rounds.outside();
    report.rounds = rounds.events;
    report.keys = keys.events;
    report.accreditations = authority.accreditations;
    report.committees = authority.committee_events;
    report.ballots = ballots.events;
    Ok(report)
}

/// Every checkpoint, verified against the ledger key in force at its size and grouped by size.
fn open_checkpoints(
    export: &LedgerExport,
    keys: &crate::keys::KeyTimeline,
) -> Result<CheckpointsBySize, Discrepancy> {
    let mut by_size = CheckpointsBySize::new();
    for (i, note) in export.checkpoints.iter().enumerate() {
        let bad = |m: String| {
            fail(
                format!("checkpoint #{i}"),
                DiscrepancyKind::BadCheckpoint,
                m,
            )
        };
        let size: u64 = note
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| bad("malformed (no size line)".into()))?;
        let vkey = dossier_core::keys::verifier_key_of(&export.origin, &keys.ledger_key_at(size));
        let body = checkpoint::open(note.as_bytes(), &vkey).map_err(|e| {
            bad(format!(
                "{e} (not signed by the ledger's key in force at its size, or malformed)"
            ))
        })?;
        by_size.entry(body.size).or_default().push((i, body));
    }
    Ok(by_size)
}

/// Every entry decoded strictly (in parallel).
fn decode_entries(export: &LedgerExport) -> Vec<Result<Entry, Discrepancy>> {
    export
        .entries
        .par_iter()
        .enumerate()
        .map(|(i, b)| {
            Entry::from_bytes(b).map_err(|e| {
                fail(
                    format!("entry {i}"),
                    DiscrepancyKind::MalformedEntry,
                    e.to_string(),
                )
            })
        })
        .collect()
}

/// Every decoded entry's signature (in parallel), under the key its subject had in force
/// ([`crate::keys`]). An entry whose issuer is not (yet) registered passes here: the replay
/// reports it.
fn check_signatures(
    decoded: &[Result<Entry, Discrepancy>],
    keys: &crate::keys::KeyTimeline,
) -> Vec<Result<(), Discrepancy>> {
    decoded
        .par_iter()
        .enumerate()
        .map(|(i, e)| {
            let Ok(entry) = e else { return Ok(()) };
            let Some(Some((_, key))) = keys.expected.get(i) else {
                return Ok(());
            };
            entry.verify(key).map_err(|e| {
                if keys.signed_by_retired(i, entry) {
                    fail(
                        format!("entry {i}"),
                        DiscrepancyKind::RetiredKey,
                        "signed by a key its subject retired (rotated or revoked) before it",
                    )
                } else {
                    fail(
                        format!("entry {i}"),
                        DiscrepancyKind::BadEntrySignature,
                        e.to_string(),
                    )
                }
            })
        })
        .collect()
}

/// The replay under way: every issuer's registries, the log so far, the roots of the last
/// entry if it was a `RegistryRoots` (what a checkpoint at this size must list), and the last
/// checkpoint checked.
struct Replay<'c> {
    checkpoints: &'c CheckpointsBySize,
    issuers: BTreeMap<Fr, IssuerState>,
    log: MemoryLog,
    last_roots_entry: Option<Vec<RegistryRoot>>,
    previous: Option<checkpoint::CheckpointBody>,
    checked: u64,
    authority: crate::authority::replay::AuthorityReplay,
    ballots: crate::ballot::BallotReplay,
    rounds: crate::round::RoundReplay,
}

impl<'c> Replay<'c> {
    fn new(checkpoints: &'c CheckpointsBySize) -> Replay<'c> {
        Replay {
            checkpoints,
            issuers: BTreeMap::new(),
            log: MemoryLog::default(),
            last_roots_entry: None,
            previous: None,
            checked: 0,
            authority: Default::default(),
            ballots: Default::default(),
            rounds: Default::default(),
        }
    }

    /// Applies one entry to the registries, refusing a transition they do not allow.
    fn apply(&mut self, at: &str, entry: &Entry) -> Result<(), Discrepancy> {
        let transition = |m: String| fail(at, DiscrepancyKind::InvalidTransition, m);
        match &entry.body {
            EntryBody::IssuerRegistered {
                issuer_id: id,
                public_key,
                name,
            } => {
                public_from_bytes(public_key)
                    .map_err(|e| fail(at, DiscrepancyKind::BadEntrySignature, e.to_string()))?;
                self.register(*id, name).map_err(transition)?;
            }
            EntryBody::Issue {
                issuer_id: id,
                credential_id,
                commitment,
                commitment_halo2,
                ..
            } => self
                .set_leaf(*id, *credential_id, (*commitment, *commitment_halo2), true)
                .map_err(transition)?,
            EntryBody::Update {
                issuer_id: id,
                credential_id,
                commitment,
                commitment_halo2,
                ..
            } => self
                .set_leaf(*id, *credential_id, (*commitment, *commitment_halo2), false)
                .map_err(transition)?,
            EntryBody::Revoke {
                issuer_id: id,
                credential_id,
            } => self.revoke(*id, *credential_id).map_err(transition)?,
            EntryBody::RegistryRoots { roots } => {
                let replayed = roots_of(&mut self.issuers)?;
                if &replayed != roots {
                    return Err(fail(
                        at,
                        DiscrepancyKind::RegistryRootMismatch,
                        "the registry roots it states are not those its entries produce",
                    ));
                }
                self.last_roots_entry = Some(replayed);
                return Ok(());
            }
            // A ceremony's record, key events, accreditations, committees and ballots change
            // no registry (the authority's and the ballots' replays check them).
            EntryBody::Ceremony { .. }
            | EntryBody::KeyRotated { .. }
            | EntryBody::KeyRevoked { .. }
            | EntryBody::AccreditorNamed { .. }
            | EntryBody::Accredited { .. }
            | EntryBody::AccreditationWithdrawn { .. }
            | EntryBody::CommitteeSet { .. }
            | EntryBody::BallotOpened { .. }
            | EntryBody::BallotTallied { .. }
            | EntryBody::RoundDeclared { .. }
            | EntryBody::RuleAdopted { .. }
            | EntryBody::RuleFired { .. }
            | EntryBody::CampaignOpened { .. }
            | EntryBody::Applied { .. } => {}
        }
        self.last_roots_entry = None;
        Ok(())
    }

    /// An issuer registers once, under the id its name hashes to.
    fn register(&mut self, id: Fr, name: &str) -> Result<(), String> {
        if issuer_id(name).ok() != Some(id) {
            return Err(format!("issuer id is not the hash of the name `{name}`"));
        }
        if self.issuers.contains_key(&id) {
            return Err(format!("issuer `{name}` registered twice"));
        }
        self.issuers.insert(
            id,
            IssuerState {
                name: name.to_string(),
                tree: MemoryTree::default(),
                twin: MemoryTree::default(),
                leaves: HashMap::new(),
                pending: Vec::new(),
                live: 0,
            },
        );
        Ok(())
    }

    fn issuer(&mut self, id: Fr) -> Result<&mut IssuerState, String> {
        self.issuers
            .get_mut(&id)
            .ok_or_else(|| format!("unregistered issuer {}", field::to_hex(&id)))
    }

    /// An issue goes to an empty id, an update to a live one; neither writes a zero
    /// commitment. (A zero Pasta commitment is an empty twin leaf: a credential issued
    /// without a halo2 holder commitment.)
    fn set_leaf(
        &mut self,
        id: Fr,
        credential_id: u32,
        (commitment, commitment_halo2): (Fr, Fp),
        is_issue: bool,
    ) -> Result<(), String> {
        let state = self.issuer(id)?;
        let present = state.leaves.contains_key(&credential_id);
        if is_issue && present {
            return Err(format!(
                "credential {credential_id} of `{}` issued twice",
                state.name
            ));
        }
        if !is_issue && !present {
            return Err(format!(
                "update of credential {credential_id} of `{}`, which is not live",
                state.name
            ));
        }
        if commitment.is_zero() {
            return Err("a zero commitment".into());
        }
        state.leaves.insert(credential_id, commitment);
        state
            .pending
            .push((credential_id, commitment, commitment_halo2));
        if is_issue {
            state.live += 1;
        }
        Ok(())
    }

    /// A revocation empties a live leaf.
    fn revoke(&mut self, id: Fr, credential_id: u32) -> Result<(), String> {
        let state = self.issuer(id)?;
        if state.leaves.remove(&credential_id).is_none() {
            return Err(format!(
                "revocation of credential {credential_id} of `{}`, which is not live",
                state.name
            ));
        }
        state.pending.push((credential_id, Fr::zero(), Fp::zero()));
        state.live -= 1;
        Ok(())
    }

    /// Appends the entry to the replayed log and checks every checkpoint of the new size.
    fn append(&mut self, at: &str, bytes: &[u8]) -> Result<(), Discrepancy> {
        self.log
            .append(bytes)
            .map_err(|e| fail(at, DiscrepancyKind::MalformedEntry, e.to_string()))?;
        let size = self.log.size();
        let Some(list) = self.checkpoints.get(&size) else {
            return Ok(());
        };
        let replayed = self
            .log
            .root(size)
            .map_err(|e| fail("ledger", DiscrepancyKind::CheckpointMismatch, e.to_string()))?;
        for (i, cp) in list {
            self.check_checkpoint(*i, cp, replayed, list.len() > 1)?;
        }
        Ok(())
    }

    /// One checkpoint at the log's current size: its log root, its registry roots, its
    /// consistency with (and time after) the checkpoint before it.
    fn check_checkpoint(
        &mut self,
        i: usize,
        cp: &checkpoint::CheckpointBody,
        replayed: [u8; 32],
        several: bool,
    ) -> Result<(), Discrepancy> {
        let size = cp.size;
        let at = format!("checkpoint of size {size}");
        if cp.root_hash != replayed {
            let kind = if several {
                DiscrepancyKind::Fork
            } else {
                DiscrepancyKind::CheckpointMismatch
            };
            return Err(fail(at, kind, format!(
                "checkpoint #{i} has log root {} but the entries give {}: an entry was tampered with, removed or inserted, or the history forked",
                checkpoint::root_hash_b64(&cp.root_hash),
                checkpoint::root_hash_b64(&replayed)
            )));
        }
        if self.last_roots_entry.as_ref() != Some(&cp.registries) {
            return Err(fail(
                at,
                DiscrepancyKind::RegistryRootMismatch,
                "its registry roots are not those of the registry_roots entry it closes",
            ));
        }
        if let Some(prev) = self.previous.as_ref() {
            let proof = self
                .log
                .consistency_proof(prev.size, size)
                .map_err(|e| fail(&at, DiscrepancyKind::Fork, e.to_string()))?;
            log_proof::verify_consistency(&proof, prev.size, prev.root_hash, size, cp.root_hash)
                .map_err(|e| {
                    fail(
                        &at,
                        DiscrepancyKind::Fork,
                        format!(
                            "not consistent with the checkpoint of size {}: {e}",
                            prev.size
                        ),
                    )
                })?;
            if cp.time < prev.time {
                return Err(fail(
                    at,
                    DiscrepancyKind::BadCheckpoint,
                    "older than the checkpoint before it",
                ));
            }
        }
        self.previous = Some(cp.clone());
        self.checked += 1;
        Ok(())
    }

    /// No checkpoint may cover entries the ledger lacks; the report of what was replayed.
    fn finish(mut self) -> Result<AuditReport, Discrepancy> {
        let size = self.log.size();
        if let Some((covered, _)) = self.checkpoints.range(size + 1..).next() {
            return Err(fail(
                format!("checkpoint of size {covered}"),
                DiscrepancyKind::MissingEntries,
                format!(
                    "it covers {covered} entries but the ledger has only {size}: entries are missing"
                ),
            ));
        }
        let replayed = roots_of(&mut self.issuers)?;
        let log_root = self
            .log
            .root(size)
            .map_err(|e| fail("ledger", DiscrepancyKind::CheckpointMismatch, e.to_string()))?;
        Ok(AuditReport {
            entries: size,
            checkpoints: self.checked,
            log_root: hex_of(&log_root),
            keys: Vec::new(),
            accreditations: Vec::new(),
            committees: Vec::new(),
            ballots: Vec::new(),
            rounds: Vec::new(),
            appraisals_outside_rounds: Vec::new(),
            registries: replayed
                .iter()
                .map(|r| AuditedRegistry {
                    issuer: self.issuers[&r.issuer_id].name.clone(),
                    issuer_id: field::to_hex(&r.issuer_id),
                    root: field::to_hex(&r.root),
                    root_halo2: dossier_core::pasta::to_hex(&r.root_halo2),
                    live: r.live,
                })
                .collect(),
            trees: self
                .issuers
                .into_iter()
                .map(|(id, s)| (id, s.tree))
                .collect(),
        })
    }
}

/// Audits a store: its ledger as [`audit`] does, and then every node of every registry it holds
/// against the replayed registries. A node written outside the log (even one whose root was
/// left alone) is reported with its position.
pub fn audit_store<D: Reading>(
    store: &Store<D>,
    trusted_key: Option<&str>,
) -> Result<Result<AuditReport, Discrepancy>, StoreError> {
    let export = store.export()?;
    let report = match audit(&export, trusted_key) {
        Ok(r) => r,
        Err(d) => return Ok(Err(d)),
    };
    let issuers = store.issuers()?;
    if issuers.len() != report.trees.len() {
        return Ok(Err(fail(
            "ledger",
            DiscrepancyKind::RegistryChangedOutsideLog,
            "the store holds a registry that no ledger entry created",
        )));
    }
    for info in issuers {
        let at = format!("registry {}", info.name);
        let Some(tree) = report.trees.get(&info.issuer_id) else {
            return Ok(Err(fail(
                at,
                DiscrepancyKind::RegistryChangedOutsideLog,
                format!("registry `{}` was created outside the log", info.name),
            )));
        };
        let stored = store.registry_nodes(info.registry)?;
        let replayed_live = report
            .registries
            .iter()
            .find(|r| r.issuer == info.name)
            .map(|r| r.live);
        if replayed_live != Some(info.live) {
            return Ok(Err(fail(
                at,
                DiscrepancyKind::RegistryChangedOutsideLog,
                format!(
                    "registry `{}` counts {} live credentials; its entries give {:?}",
                    info.name, info.live, replayed_live
                ),
            )));
        }
        let differing = stored
            .iter()
            .find(|(level, index, node)| tree.node(*level, *index) != Some(*node))
            .map(|(l, i, _)| (*l, *i))
            .or_else(|| (stored.len() != tree.stored_nodes()).then_some((u8::MAX, 0)));
        if let Some((level, index)) = differing {
            let place = if level == u8::MAX {
                "a node is missing".to_string()
            } else {
                format!("node (level {level}, index {index}) differs")
            };
            return Ok(Err(fail(at, DiscrepancyKind::RegistryChangedOutsideLog,
                format!("registry `{}` as stored differs from the registry its ledger entries produce: {place}", info.name))));
        }
    }
    Ok(Ok(report))
}

fn hex_of(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
