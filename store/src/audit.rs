//! The regulators' audit: replay a ledger from its entries alone and check everything it claims.
//!
//! Replaying every entry recomputes every registry root (a fresh sparse Merkle tree per issuer)
//! and the log's own Merkle tree. The audit then checks, in log order, and stops at the first
//! discrepancy:
//! - every entry decodes strictly and carries a valid signature by its issuer's registered key
//!   (or, for `RegistryRoots`, by the ledger's key);
//! - issuer registrations are unique and self-signed; issues go to empty ids, updates and
//!   revocations to live ones (a registry changes only through valid transitions);
//! - every `RegistryRoots` entry states exactly the replayed roots;
//! - every checkpoint is signed by the ledger key, lies within the log, has the replayed log
//!   root at its size, lists the roots of the `RegistryRoots` entry just before it, is
//!   consistent with the previous checkpoint (an RFC 6962 consistency proof from the replayed
//!   tree) and is not older than it; two checkpoints of one size must agree (no fork);
//! - with [`audit_store`], every node of every registry a store holds equals the replayed
//!   registries': a registry changed outside the log shows here.

use crate::export::LedgerExport;
use crate::ledger::MemoryLog;
use crate::registry::{self, MemoryTree};
use crate::{Store, StoreError};
use ark_ff::Zero;
use dossier_core::checkpoint;
use dossier_core::entry::{Entry, EntryBody, RegistryRoot};
use dossier_core::keys::public_from_bytes;
use dossier_core::pasta::Fp;
use dossier_core::{field, issuer_id, log_proof, Fr};
use rayon::prelude::*;
use redb::ReadableDatabase;
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

fn fail(at: impl Into<String>, kind: DiscrepancyKind, message: impl Into<String>) -> Discrepancy {
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

/// Audits a ledger export. `trusted_key` is the ledger verifier key the auditor trusts; without
/// it, the export's own claim is used (and the caller should say so).
pub fn audit(export: &LedgerExport, trusted_key: Option<&str>) -> Result<AuditReport, Discrepancy> {
    let log_key = trusted_key.unwrap_or(&export.log_key);
    let log_raw = parse_vkey(log_key).ok_or_else(|| {
        fail(
            "ledger",
            DiscrepancyKind::BadCheckpoint,
            "the ledger key is malformed",
        )
    })?;

    // Checkpoints by size, each verified and parsed first.
    let mut by_size: BTreeMap<u64, Vec<(usize, checkpoint::CheckpointBody)>> = BTreeMap::new();
    for (i, note) in export.checkpoints.iter().enumerate() {
        let body = checkpoint::open(note.as_bytes(), log_key).map_err(|e| {
            fail(
                format!("checkpoint #{i}"),
                DiscrepancyKind::BadCheckpoint,
                format!("{e} (not signed by the ledger's key, or malformed)"),
            )
        })?;
        by_size.entry(body.size).or_default().push((i, body));
    }

    // Decode every entry and check every signature on all cores; the sequential pass below
    // reports the first failure in log order.
    let decoded: Vec<Result<Entry, Discrepancy>> = export
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
        .collect();
    let mut keys: HashMap<Fr, (usize, ed25519_dalek::VerifyingKey)> = HashMap::new();
    for (i, e) in decoded.iter().enumerate() {
        if let Ok(Entry {
            body:
                EntryBody::IssuerRegistered {
                    issuer_id: id,
                    public_key,
                    ..
                },
            ..
        }) = e
        {
            if let Ok(k) = public_from_bytes(public_key) {
                keys.entry(*id).or_insert((i, k));
            }
        }
    }
    let signatures: Vec<Result<(), Discrepancy>> = decoded
        .par_iter()
        .enumerate()
        .map(|(i, e)| {
            let Ok(entry) = e else { return Ok(()) };
            let at = format!("entry {i}");
            let key = match &entry.body {
                EntryBody::RegistryRoots { .. } => Some(log_raw),
                EntryBody::IssuerRegistered { public_key, .. } => {
                    public_from_bytes(public_key).ok()
                }
                body => body
                    .issuer_id()
                    .and_then(|id| keys.get(&id))
                    .filter(|(j, _)| *j < i)
                    .map(|(_, k)| *k),
            };
            match key {
                Some(k) => entry
                    .verify(&k)
                    .map_err(|e| fail(&at, DiscrepancyKind::BadEntrySignature, e.to_string())),
                // An entry of an issuer not (yet) registered: the replay reports it.
                None => Ok(()),
            }
        })
        .collect();

    let mut issuers: BTreeMap<Fr, IssuerState> = BTreeMap::new();
    let mut log = MemoryLog::default();
    let mut last_roots_entry: Option<Vec<RegistryRoot>> = None;
    let mut previous: Option<checkpoint::CheckpointBody> = None;
    let mut checked = 0u64;
    let check_checkpoints = |size: u64,
                             log: &MemoryLog,
                             last_roots_entry: &Option<Vec<RegistryRoot>>,
                             previous: &mut Option<checkpoint::CheckpointBody>,
                             checked: &mut u64|
     -> Result<(), Discrepancy> {
        let Some(list) = by_size.get(&size) else {
            return Ok(());
        };
        let replayed = log
            .root(size)
            .map_err(|e| fail("ledger", DiscrepancyKind::CheckpointMismatch, e.to_string()))?;
        for (i, cp) in list {
            let at = format!("checkpoint of size {size}");
            if cp.root_hash != replayed {
                let kind = if list.len() > 1 {
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
            match last_roots_entry {
                Some(roots) if roots == &cp.registries => {}
                _ => {
                    return Err(fail(
                        at,
                        DiscrepancyKind::RegistryRootMismatch,
                        "its registry roots are not those of the registry_roots entry it closes",
                    ))
                }
            }
            if let Some(prev) = previous.as_ref() {
                let proof = log
                    .consistency_proof(prev.size, size)
                    .map_err(|e| fail(&at, DiscrepancyKind::Fork, e.to_string()))?;
                log_proof::verify_consistency(
                    &proof,
                    prev.size,
                    prev.root_hash,
                    size,
                    cp.root_hash,
                )
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
            *previous = Some(cp.clone());
            *checked += 1;
        }
        Ok(())
    };

    for (index, (bytes, (entry, signature))) in export
        .entries
        .iter()
        .zip(decoded.into_iter().zip(signatures))
        .enumerate()
    {
        let at = format!("entry {index}");
        let entry = entry?;
        signature?;
        let transition = |m: String| fail(&at, DiscrepancyKind::InvalidTransition, m);
        match &entry.body {
            EntryBody::IssuerRegistered {
                issuer_id: id,
                public_key,
                name,
            } => {
                public_from_bytes(public_key)
                    .map_err(|e| fail(&at, DiscrepancyKind::BadEntrySignature, e.to_string()))?;
                if issuer_id(name).ok() != Some(*id) {
                    return Err(transition(format!(
                        "issuer id is not the hash of the name `{name}`"
                    )));
                }
                if issuers.contains_key(id) {
                    return Err(transition(format!("issuer `{name}` registered twice")));
                }
                issuers.insert(
                    *id,
                    IssuerState {
                        name: name.clone(),
                        tree: MemoryTree::default(),
                        twin: MemoryTree::default(),
                        leaves: HashMap::new(),
                        pending: Vec::new(),
                        live: 0,
                    },
                );
            }
            EntryBody::Issue {
                issuer_id: id,
                credential_id,
                commitment,
                commitment_halo2,
            }
            | EntryBody::Update {
                issuer_id: id,
                credential_id,
                commitment,
                commitment_halo2,
            } => {
                let state = issuers.get_mut(id).ok_or_else(|| {
                    transition(format!("unregistered issuer {}", field::to_hex(id)))
                })?;
                let present = state.leaves.contains_key(credential_id);
                let is_issue = matches!(entry.body, EntryBody::Issue { .. });
                if is_issue && present {
                    return Err(transition(format!(
                        "credential {credential_id} of `{}` issued twice",
                        state.name
                    )));
                }
                if !is_issue && !present {
                    return Err(transition(format!(
                        "update of credential {credential_id} of `{}`, which is not live",
                        state.name
                    )));
                }
                // A zero Pasta commitment is an empty twin leaf: a credential issued without a
                // halo2 holder commitment.
                if commitment.is_zero() {
                    return Err(transition("a zero commitment".into()));
                }
                state.leaves.insert(*credential_id, *commitment);
                state
                    .pending
                    .push((*credential_id, *commitment, *commitment_halo2));
                if is_issue {
                    state.live += 1;
                }
            }
            EntryBody::Revoke {
                issuer_id: id,
                credential_id,
            } => {
                let state = issuers.get_mut(id).ok_or_else(|| {
                    transition(format!("unregistered issuer {}", field::to_hex(id)))
                })?;
                if state.leaves.remove(credential_id).is_none() {
                    return Err(transition(format!(
                        "revocation of credential {credential_id} of `{}`, which is not live",
                        state.name
                    )));
                }
                state.pending.push((*credential_id, Fr::zero(), Fp::zero()));
                state.live -= 1;
            }
            EntryBody::RegistryRoots { roots } => {
                let replayed = roots_of(&mut issuers)?;
                if &replayed != roots {
                    return Err(fail(
                        &at,
                        DiscrepancyKind::RegistryRootMismatch,
                        "the registry roots it states are not those its entries produce",
                    ));
                }
                last_roots_entry = Some(replayed);
            }
        }
        if !matches!(entry.body, EntryBody::RegistryRoots { .. }) {
            last_roots_entry = None;
        }
        log.append(bytes)
            .map_err(|e| fail(&at, DiscrepancyKind::MalformedEntry, e.to_string()))?;
        check_checkpoints(
            log.size(),
            &log,
            &last_roots_entry,
            &mut previous,
            &mut checked,
        )?;
    }
    if let Some((size, _)) = by_size.range(log.size() + 1..).next() {
        return Err(fail(
            format!("checkpoint of size {size}"),
            DiscrepancyKind::MissingEntries,
            format!(
                "it covers {size} entries but the ledger has only {}: entries are missing",
                log.size()
            ),
        ));
    }
    let replayed = roots_of(&mut issuers)?;
    Ok(AuditReport {
        entries: log.size(),
        checkpoints: checked,
        log_root: hex_of(
            &log.root(log.size())
                .map_err(|e| fail("ledger", DiscrepancyKind::CheckpointMismatch, e.to_string()))?,
        ),
        registries: replayed
            .iter()
            .map(|r| AuditedRegistry {
                issuer: issuers[&r.issuer_id].name.clone(),
                issuer_id: field::to_hex(&r.issuer_id),
                root: field::to_hex(&r.root),
                root_halo2: dossier_core::pasta::to_hex(&r.root_halo2),
                live: r.live,
            })
            .collect(),
        trees: issuers.into_iter().map(|(id, s)| (id, s.tree)).collect(),
    })
}

/// Audits a store: its ledger as [`audit`] does, and then every node of every registry it holds
/// against the replayed registries. A node written outside the log (even one whose root was
/// left alone) is reported with its position.
pub fn audit_store<D: ReadableDatabase>(
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

/// The raw Ed25519 key inside a signed-note verifier key.
fn parse_vkey(vkey: &str) -> Option<ed25519_dalek::VerifyingKey> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let b64 = vkey.splitn(3, '+').nth(2)?;
    let raw = STANDARD.decode(b64).ok()?;
    if raw.len() != 33 || raw[0] != 1 {
        return None;
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(&raw[1..]);
    public_from_bytes(&k).ok()
}
