//! The embedded default: registries and ledger in one redb database file.
//!
//! redb is a pure-Rust embedded key-value store with ACID transactions, copy-on-write B-trees
//! and checksummed commits: a commit is durable (fsynced) before it returns, and a crash at any
//! moment leaves the last committed state. Each write here — an issuer's registration, a batch
//! of credentials, a revocation, a checkpoint — is one transaction covering the registry nodes,
//! the ledger entries and the ledger's hashes together, so the registry and its log can never
//! disagree after a crash. Writers are serialised by redb within a process; across processes the
//! file is locked and [`Store::open`] waits for it.
//!
//! Tables (the file's layout, stable for tools):
//! - `meta`: `origin`, `log_key` (the ledger's name and verifier key in force), `log_key_genesis`
//!   (its first key, once it has rotated);
//! - `issuers`: registry number -> issuer record;
//! - `registry_nodes`: (registry, level, index) -> non-empty tree node;
//! - `registry_nodes_halo2`: the same for each registry's halo2 twin tree (Pasta field);
//! - `ledger_entries`: index -> entry bytes; `ledger_hashes`: stored hash index -> hash
//!   (Go `tlog` layout);
//! - `checkpoints`: tree size -> signed note;
//! - `accreditations`, `committees`, `proposals`: who may issue what ([`crate::authority`]);
//! - `ballots`, `ballot_ratings`, `ballot_nullifiers`: anonymous peer rating ([`crate::ballot`]).

use crate::kv::{
    Database, Postgres, ReadOnlyDatabase, ReadTxn, Readable, Reading, Table, TableDef, WriteTxn,
};
use crate::registry::{self, MembershipPath, Node, NodeStore};
use crate::StoreError;
use ark_ff::Zero;
use dossier_core::checkpoint::CheckpointBody;
use dossier_core::credential::{Credential, EncodedClaim};
use dossier_core::entry::{
    possession_message, Approval, Entry, EntryBody, KeySubject, RegistryRoot, MAX_APPROVALS,
};
use dossier_core::keys::KeyPair;
use dossier_core::pasta::Fp;
use dossier_core::{field, issuer_id, Fr};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `meta`: the ledger's settings.
pub const META: TableDef<&str, &str> = TableDef::new("meta");
/// `issuers`: registry number -> issuer record.
pub const ISSUERS: TableDef<u32, &[u8]> = TableDef::new("issuers");
/// `registry_nodes`: (registry, level, index) -> node.
pub const NODES: TableDef<(u32, u8, u32), [u8; 32]> = TableDef::new("registry_nodes");
/// `registry_nodes_halo2`: (registry, level, index) -> node of the halo2 twin tree.
pub const NODES_HALO2: TableDef<(u32, u8, u32), [u8; 32]> = TableDef::new("registry_nodes_halo2");
/// `ledger_entries`: index -> entry bytes.
pub const ENTRIES: TableDef<u64, &[u8]> = TableDef::new("ledger_entries");
/// `ledger_hashes`: stored hash index -> SHA-256 hash.
pub const HASHES: TableDef<u64, [u8; 32]> = TableDef::new("ledger_hashes");
/// `checkpoints`: tree size -> signed note.
pub const CHECKPOINTS: TableDef<u64, &str> = TableDef::new("checkpoints");

/// A live credential's new version: what [`Store::update_many_with`] writes under its id.
#[derive(Clone, Debug)]
pub struct Replacement {
    /// The credential replaced.
    pub credential_id: u32,
    /// Its new content.
    pub claim: EncodedClaim,
    /// The new version's issue day (days since 1970-01-01).
    pub issued_at: u32,
    /// The commitment it must replace, if the caller holds a version: refused, nothing written,
    /// when the credential has changed since (a rotation from a stale opening would undo an
    /// update).
    pub replaces: Option<Fr>,
}

impl Replacement {
    /// The current version `opening` re-bound to another holder (a lost secret): same id,
    /// schema, values, expiry and issue day; it must still replace that very version.
    pub fn rebinding(
        opening: &dossier_core::credential::CredentialOpening,
        schemas: &dossier_core::schema::SchemaSet,
        holder: Fr,
        holder_halo2: Option<Fp>,
    ) -> Result<Replacement, StoreError> {
        Ok(Replacement {
            credential_id: opening.credential_id,
            claim: opening.claim_for(schemas, holder, holder_halo2)?,
            issued_at: dossier_core::encoding::date_to_days(&opening.issued_at).map_err(|_| {
                StoreError::Refused {
                    reason: "an opening's issue date is not a date".into(),
                }
            })?,
            replaces: Some(opening.commitment),
        })
    }
}

/// An issuer as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerInfo {
    /// Its registry's number in this store.
    pub registry: u32,
    /// Its name.
    pub name: String,
    /// `string_hash(name)`.
    pub issuer_id: Fr,
    /// Its Ed25519 public key.
    pub public_key: [u8; 32],
    /// The id the next credential gets.
    pub next_id: u64,
    /// Live credentials.
    pub live: u64,
}

impl IssuerInfo {
    /// This issuer's credential at `credential_id` for `claim`, issued on `issued_at`, with a
    /// fresh salt from the OS.
    pub(crate) fn credential(
        &self,
        claim: &EncodedClaim,
        credential_id: u32,
        issued_at: u32,
    ) -> Credential {
        Credential {
            schema_id: claim.schema_id,
            issuer_id: self.issuer_id,
            holder: claim.holder,
            holder_halo2: claim.holder_halo2,
            credential_id,
            issued_at,
            expires_at: claim.expires_at,
            salt: dossier_core::credential::random_salt(&mut rand::rngs::OsRng),
            slots: claim.slots,
        }
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(90 + self.name.len());
        b.extend_from_slice(&field::to_be_bytes(&self.issuer_id));
        b.extend_from_slice(&self.public_key);
        b.extend_from_slice(&self.next_id.to_be_bytes());
        b.extend_from_slice(&self.live.to_be_bytes());
        b.extend_from_slice(self.name.as_bytes());
        b
    }

    fn from_bytes(registry: u32, b: &[u8]) -> Result<IssuerInfo, StoreError> {
        let bad = || StoreError::Ledger {
            reason: format!("issuer record {registry} is corrupt"),
        };
        if b.len() < 80 {
            return Err(bad());
        }
        let mut id = [0u8; 32];
        id.copy_from_slice(&b[..32]);
        let mut public_key = [0u8; 32];
        public_key.copy_from_slice(&b[32..64]);
        let mut n = [0u8; 8];
        n.copy_from_slice(&b[64..72]);
        let mut l = [0u8; 8];
        l.copy_from_slice(&b[72..80]);
        Ok(IssuerInfo {
            registry,
            name: String::from_utf8(b[80..].to_vec()).map_err(|_| bad())?,
            issuer_id: field::from_be_bytes("issuer id", &id)?,
            public_key,
            next_id: u64::from_be_bytes(n),
            live: u64::from_be_bytes(l),
        })
    }
}

/// The registry nodes of one issuer inside a write transaction.
struct TxnNodes<'a, 't> {
    table: &'a mut Table<'t, (u32, u8, u32), [u8; 32]>,
    registry: u32,
}

impl<N: Node> NodeStore<N> for TxnNodes<'_, '_> {
    fn get(&self, level: u8, index: u32) -> Result<Option<N>, StoreError> {
        match self.table.get((self.registry, level, index))? {
            Some(v) => Ok(Some(N::from_bytes(&v.value())?)),
            None => Ok(None),
        }
    }

    fn prefetch(&self, nodes: impl Iterator<Item = (u8, u32)>) -> Result<(), StoreError> {
        let registry = self.registry;
        self.table.prefetch(nodes.map(|(l, i)| (registry, l, i)))
    }

    fn put(&mut self, level: u8, index: u32, node: Option<N>) -> Result<(), StoreError> {
        match node {
            Some(n) => {
                self.table
                    .insert((self.registry, level, index), n.to_bytes())?;
            }
            None => {
                self.table.remove((self.registry, level, index))?;
            }
        }
        Ok(())
    }
}

/// The registry nodes of one issuer in a read transaction.
struct ReadNodes<'a, T: Readable<(u32, u8, u32), [u8; 32]>> {
    table: &'a T,
    registry: u32,
}

impl<N: Node, T: Readable<(u32, u8, u32), [u8; 32]>> NodeStore<N> for ReadNodes<'_, T> {
    fn get(&self, level: u8, index: u32) -> Result<Option<N>, StoreError> {
        match self.table.get((self.registry, level, index))? {
            Some(v) => Ok(Some(N::from_bytes(&v.value())?)),
            None => Ok(None),
        }
    }

    fn prefetch(&self, nodes: impl Iterator<Item = (u8, u32)>) -> Result<(), StoreError> {
        let registry = self.registry;
        self.table.prefetch(nodes.map(|(l, i)| (registry, l, i)))
    }

    fn put(&mut self, _: u8, _: u32, _: Option<N>) -> Result<(), StoreError> {
        Err(StoreError::Ledger {
            reason: "registry is read-only here".into(),
        })
    }
}

/// Reads the ledger's stored hashes for `tlog_tiles`, whose reader can only answer "not in
/// tree": a storage error (a lost connection, a failed statement) is kept aside and returned in
/// that answer's place by [`HashTable::run`], so a failing database never reads as a broken log.
struct HashTable<'a, T: Readable<u64, [u8; 32]>> {
    table: &'a T,
    failed: std::cell::RefCell<Option<StoreError>>,
}

impl<'a, T: Readable<u64, [u8; 32]>> HashTable<'a, T> {
    /// Runs `read` (a `tlog_tiles` computation) over `table`'s hashes.
    fn run<R>(
        table: &'a T,
        read: impl FnOnce(&Self) -> Result<R, tlog_tiles::Error>,
    ) -> Result<R, StoreError> {
        let hashes = HashTable {
            table,
            failed: std::cell::RefCell::new(None),
        };
        let out = read(&hashes);
        match (out, hashes.failed.into_inner()) {
            (Ok(r), _) => Ok(r),
            (Err(_), Some(storage)) => Err(storage),
            (Err(e), None) => Err(e.into()),
        }
    }

    fn keep(&self, e: StoreError) -> tlog_tiles::Error {
        self.failed.borrow_mut().get_or_insert(e);
        tlog_tiles::Error::IndexesNotInTree
    }
}

impl<T: Readable<u64, [u8; 32]>> tlog_tiles::HashReader for HashTable<'_, T> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        self.table
            .prefetch(indexes.iter().copied())
            .map_err(|e| self.keep(e))?;
        indexes
            .iter()
            .map(|i| match self.table.get(*i) {
                Ok(Some(v)) => Ok(tlog_tiles::Hash(v.value())),
                Ok(None) => Err(tlog_tiles::Error::IndexesNotInTree),
                Err(e) => Err(self.keep(e)),
            })
            .collect()
    }
}

/// Every registry's root, ordered by issuer id, read from one transaction's tables.
fn roots_of(
    issuers: &impl Readable<u32, &'static [u8]>,
    nodes: &impl Readable<(u32, u8, u32), [u8; 32]>,
    nodes_halo2: &impl Readable<(u32, u8, u32), [u8; 32]>,
) -> Result<Vec<RegistryRoot>, StoreError> {
    let mut roots = Vec::new();
    for row in issuers.iter()? {
        let (k, v) = row?;
        let info = IssuerInfo::from_bytes(k.value(), v.value())?;
        let tree = ReadNodes {
            table: nodes,
            registry: info.registry,
        };
        let twin = ReadNodes {
            table: nodes_halo2,
            registry: info.registry,
        };
        roots.push(RegistryRoot {
            issuer_id: info.issuer_id,
            root: registry::root::<Fr, _>(&tree)?,
            root_halo2: registry::root::<Fp, _>(&twin)?,
            live: info.live,
        });
    }
    roots.sort_by_key(|r| r.issuer_id);
    Ok(roots)
}

/// Applies leaf updates `(id, commitment, Pasta commitment)` to a registry and its halo2 twin
/// inside a write transaction (zero leaves empty a position in both).
pub(crate) fn apply_both(
    txn: &WriteTxn,
    registry: u32,
    updates: &[(u32, Fr, Fp)],
) -> Result<(), StoreError> {
    let bn: Vec<(u32, Fr)> = updates.iter().map(|(i, c, _)| (*i, *c)).collect();
    let twin: Vec<(u32, Fp)> = updates.iter().map(|(i, _, t)| (*i, *t)).collect();
    apply_tree(txn, NODES, registry, &bn)?;
    apply_tree(txn, NODES_HALO2, registry, &twin)
}

/// Applies leaf updates to one tree (`nodes`: the registries' or their twins' table); no
/// updates, nothing read or written.
fn apply_tree<N: Node>(
    txn: &WriteTxn,
    nodes: TableDef<(u32, u8, u32), [u8; 32]>,
    registry: u32,
    updates: &[(u32, N)],
) -> Result<(), StoreError> {
    if !updates.is_empty() {
        registry::apply(
            &mut TxnNodes {
                table: &mut txn.open_table(nodes)?,
                registry,
            },
            updates,
        )?;
    }
    Ok(())
}

/// A batch issuance: the issuer, its signing key, the batch's first id, the issue day and the
/// ledger time.
struct IssueBatch<'a> {
    info: &'a IssuerInfo,
    key: &'a KeyPair,
    first: u64,
    issued_at: u32,
    time: u64,
}

/// A credential issued in a batch: the credential, its two leaves and its signed entry's bytes.
type Issued = (Credential, (Fr, Fp), Vec<u8>);

impl IssueBatch<'_> {
    /// Every claim's credential, its commitments and its signed `Issue` entry, on all cores.
    fn make(&self, claims: &[EncodedClaim]) -> Vec<Issued> {
        claims
            .par_iter()
            .enumerate()
            .map(|(k, claim)| self.issue(k, claim))
            .collect()
    }

    /// The `k`-th credential of the batch, its commitments and its signed `Issue` entry.
    fn issue(&self, k: usize, claim: &EncodedClaim) -> Issued {
        let credential =
            self.info
                .credential(claim, (self.first + k as u64) as u32, self.issued_at);
        let commitment = credential.commitment();
        let commitment_halo2 = credential.commitment_halo2();
        let entry = Entry::sign(
            self.time,
            EntryBody::Issue {
                issuer_id: self.info.issuer_id,
                schema_id: credential.schema_id,
                credential_id: credential.credential_id,
                commitment,
                commitment_halo2,
                approvals: Vec::new(),
            },
            self.key,
        );
        (credential, (commitment, commitment_halo2), entry.to_bytes())
    }
}

/// Writes newly issued credentials: their leaves into both trees, their entries into the ledger.
/// Their positions have never held a credential, so an empty twin leaf (a holder without a
/// halo2 commitment) changes nothing there and is left out: only the leaves that change a
/// tree are applied.
fn write_fresh(txn: &WriteTxn, registry: u32, issued: &[Issued]) -> Result<(), StoreError> {
    let bn: Vec<(u32, Fr)> = issued
        .iter()
        .map(|(c, (leaf, _), _)| (c.credential_id, *leaf))
        .collect();
    let twin: Vec<(u32, Fp)> = issued
        .iter()
        .filter(|(_, (_, twin), _)| *twin != Fp::empty_leaf())
        .map(|(c, (_, twin), _)| (c.credential_id, *twin))
        .collect();
    apply_tree(txn, NODES, registry, &bn)?;
    apply_tree(txn, NODES_HALO2, registry, &twin)?;
    let entries: Vec<&[u8]> = issued.iter().map(|(_, _, e)| e.as_slice()).collect();
    append_entries(txn, &entries)?;
    Ok(())
}

/// Replaces the leaves of a live credential in a registry and its twin (zero leaves: revoked),
/// inside a write transaction; refuses a position that holds no live credential.
fn replace_live(
    txn: &WriteTxn,
    info: &IssuerInfo,
    credential_id: u32,
    leaves: (Fr, Fp),
    replaces: Option<Fr>,
) -> Result<(), StoreError> {
    let current = {
        let table = txn.open_table(NODES)?;
        let leaf = table
            .get((info.registry, 0u8, credential_id))?
            .map(|v| v.value());
        leaf
    };
    let Some(current) = current else {
        return Err(StoreError::CredentialNotFound {
            issuer: info.name.clone(),
            credential_id,
        });
    };
    if let Some(expected) = replaces {
        if current != dossier_core::field::to_be_bytes(&expected) {
            return Err(StoreError::Refused {
                reason: format!(
                    "credential {credential_id} of `{}` has changed since the version given",
                    info.name
                ),
            });
        }
    }
    apply_both(txn, info.registry, &[(credential_id, leaves.0, leaves.1)])
}

/// A rotation's body: the next key and its proof of possession.
fn rotation(subject: KeySubject, new: &KeyPair) -> EntryBody {
    let new_key = new.public().to_bytes();
    EntryBody::KeyRotated {
        subject,
        new_key,
        possession: new.sign_bytes(&possession_message(&subject, &new_key)),
    }
}

/// A revocation's body, refused when it would start past the log's end (`size`), replace a
/// key by itself or carry more approvals than an entry holds.
fn revocation(
    subject: KeySubject,
    revoked_key: [u8; 32],
    from_entry: u64,
    new: &KeyPair,
    approvals: Vec<Approval>,
    size: u64,
) -> Result<EntryBody, StoreError> {
    let new_key = new.public().to_bytes();
    let refused = |reason: &str| StoreError::Refused {
        reason: reason.to_string(),
    };
    if from_entry > size {
        return Err(refused("a revocation cannot start after the log's end"));
    }
    if new_key == revoked_key {
        return Err(refused("the new key is the revoked key"));
    }
    if approvals.len() > MAX_APPROVALS {
        return Err(refused("too many approvals"));
    }
    Ok(EntryBody::KeyRevoked {
        subject,
        revoked_key,
        from_entry,
        new_key,
        possession: new.sign_bytes(&possession_message(&subject, &new_key)),
        approvals,
    })
}

/// Appends entries to the ledger inside a write transaction; returns the new size.
pub(crate) fn append_entries(
    txn: &WriteTxn,
    entries: &[impl AsRef<[u8]>],
) -> Result<u64, StoreError> {
    let mut etable = txn.open_table(ENTRIES)?;
    let mut htable = txn.open_table(HASHES)?;
    let mut n = etable.len()?;
    let count = entries.len() as u64;
    etable.prefetch(n..n + count)?;
    htable.prefetch(tlog_tiles::stored_hash_count(n)..tlog_tiles::stored_hash_count(n + count))?;
    for data in entries {
        let data = data.as_ref();
        let new = HashTable::run(&htable, |h| tlog_tiles::stored_hashes(n, data, h))?;
        for (idx, h) in (tlog_tiles::stored_hash_count(n)..).zip(new) {
            htable.insert(idx, h.0)?;
        }
        etable.insert(n, data)?;
        n += 1;
    }
    Ok(n)
}

/// Appends one signed entry and returns its index in the ledger.
pub(crate) fn append_entry(txn: &WriteTxn, entry: &Entry) -> Result<u64, StoreError> {
    Ok(append_entries(txn, &[entry.to_bytes()])? - 1)
}

/// A record as its table keeps it: JSON.
pub(crate) fn record_json<T: serde::Serialize>(what: &str, r: &T) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|_| StoreError::Ledger {
        reason: format!("a {what} could not be written"),
    })
}

/// A record read back from its table: one that does not parse is a corrupt store.
pub(crate) fn record_from_json<T: serde::de::DeserializeOwned>(
    what: &str,
    s: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|_| StoreError::Ledger {
        reason: format!("a stored {what} is corrupt"),
    })
}

/// The whole store: registries and ledger. `Store` (the default, over a writable [`Database`])
/// writes; [`StoreReader`] (over a [`ReadOnlyDatabase`]) only reads, and never modifies the
/// file — redb updates its header whenever a writable handle is opened, so commands that may
/// refuse their input check it through a reader first.
pub struct Store<D = Database> {
    db: D,
    path: PathBuf,
    /// Issuers' registry numbers, read once per handle (an issuer keeps its registry for life):
    /// a path lookup then reads only its nodes.
    registries: Mutex<HashMap<String, u32>>,
}

/// A read-only view of a store.
pub type StoreReader = Store<ReadOnlyDatabase>;

fn wait_for_lock<T>(
    path: &Path,
    lock_wait: Duration,
    mut open: impl FnMut() -> Result<T, redb::DatabaseError>,
) -> Result<T, StoreError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(5);
    loop {
        match open() {
            Ok(db) => return Ok(db),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) if start.elapsed() < lock_wait => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(100));
            }
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => {
                return Err(StoreError::Locked {
                    path: path.display().to_string(),
                    waited_ms: start.elapsed().as_millis(),
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl StoreReader {
    /// Opens the store kept by a PostgreSQL server to read it (its schema is brought to this
    /// build's version first, as by a writer).
    pub fn open_postgres_read_only(url: &str) -> Result<StoreReader, StoreError> {
        let pg = Postgres::connect(url)?;
        Ok(Store {
            path: PathBuf::from(pg.place()),
            db: ReadOnlyDatabase::Postgres(pg),
            registries: Mutex::default(),
        })
    }

    /// Opens an existing store read-only, waiting up to `lock_wait` for a writer to finish.
    pub fn open_read_only(path: &Path, lock_wait: Duration) -> Result<StoreReader, StoreError> {
        if !path.exists() {
            return Err(StoreError::Ledger {
                reason: format!("no store at {}", path.display()),
            });
        }
        check_private(path)?;
        let db = match wait_for_lock(path, lock_wait, || redb::ReadOnlyDatabase::open(path)) {
            // A writer crashed: a read-only handle cannot repair the file, so open it once for
            // writing, which restores the last committed transaction, and read after that.
            Err(StoreError::Db(redb::Error::RepairAborted)) => {
                tracing::info!(path = %path.display(), "repairing after an interrupted writer");
                drop(wait_for_lock(path, lock_wait, || {
                    redb::Database::create(path)
                })?);
                wait_for_lock(path, lock_wait, || redb::ReadOnlyDatabase::open(path))?
            }
            other => other?,
        };
        Ok(Store {
            db: ReadOnlyDatabase::Redb(db),
            path: path.to_path_buf(),
            registries: Mutex::default(),
        })
    }
}

/// Every registered issuer, as `txn` sees them.
fn issuers_in(txn: &ReadTxn<'_>) -> Result<Vec<IssuerInfo>, StoreError> {
    let mut out = Vec::new();
    for row in txn.open_table(ISSUERS)?.iter()? {
        let (k, v) = row?;
        out.push(IssuerInfo::from_bytes(k.value(), v.value())?);
    }
    Ok(out)
}

/// The database holds credential openings (field values and salts, for holders to fetch from
/// the service): it is created readable by its owner only, before redb writes to it.
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

/// Refuses a database that others may read, as wallets and key files are refused.
fn check_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| StoreError::Io {
            path: path.display().to_string(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(StoreError::Refused {
            reason: format!(
                "{} is readable or writable by others (it holds credential openings); run `chmod 600` on it first",
                path.display()
            ),
        });
    }
    Ok(())
}

/// How long [`Store::open`] waits for another process to release the file by default.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(60);

impl Store {
    /// Opens (creating if absent) the database at `path`, waiting up to `lock_wait` for another
    /// process that has it open.
    pub fn open(path: &Path, lock_wait: Duration) -> Result<Store, StoreError> {
        create_private(path)?;
        check_private(path)?;
        let db = wait_for_lock(path, lock_wait, || redb::Database::create(path))?;
        let store = Store {
            db: Database::Redb(db),
            path: path.to_path_buf(),
            registries: Mutex::default(),
        };
        store.ensure_tables()?;
        Ok(store)
    }

    /// Opens the store kept by a PostgreSQL server (`url`: `postgres://user@host:port/db`),
    /// bringing its schema to this build's version.
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let pg = Postgres::connect(url)?;
        let store = Store {
            path: PathBuf::from(pg.place()),
            db: Database::Postgres(pg),
            registries: Mutex::default(),
        };
        Ok(store)
    }

    fn ensure_tables(&self) -> Result<(), StoreError> {
        // Opening an existing store must not write to it: only a store missing one of its
        // tables (a new file, or one made before a table was added) gets them.
        let names: Vec<String> = self.db.begin_read()?.table_names()?;
        let required = [
            META.name(),
            ISSUERS.name(),
            NODES.name(),
            NODES_HALO2.name(),
            ENTRIES.name(),
            HASHES.name(),
            CHECKPOINTS.name(),
            crate::authority::ACCREDITATIONS.name(),
            crate::authority::COMMITTEES.name(),
            crate::authority::PROPOSALS.name(),
            crate::ballot::BALLOTS.name(),
            crate::ballot::RATINGS.name(),
            crate::ballot::NULLIFIERS.name(),
            crate::round::ROUNDS.name(),
            crate::round::ROUND_PROOFS.name(),
            crate::rules::RULE_TEXTS.name(),
            crate::rules::RULE_ADOPTIONS.name(),
            crate::rules::RULE_FIRINGS.name(),
            crate::rules::RULE_TASKS.name(),
            crate::rules::RULE_BALLOTS.name(),
            crate::outbox::SUBSCRIPTIONS.name(),
            crate::outbox::OUTBOX.name(),
            crate::campaign::CAMPAIGNS.name(),
            crate::campaign::APPLICATIONS.name(),
            crate::campaign::CAMPAIGN_NULLIFIERS.name(),
        ];
        if required.iter().all(|t| names.iter().any(|n| n == t)) {
            return Ok(());
        }
        let txn = self.db.begin_write()?;
        txn.open_table(META)?;
        txn.open_table(ISSUERS)?;
        txn.open_table(NODES)?;
        txn.open_table(NODES_HALO2)?;
        txn.open_table(ENTRIES)?;
        txn.open_table(HASHES)?;
        txn.open_table(CHECKPOINTS)?;
        txn.open_table(crate::authority::ACCREDITATIONS)?;
        txn.open_table(crate::authority::COMMITTEES)?;
        txn.open_table(crate::authority::PROPOSALS)?;
        txn.open_table(crate::ballot::BALLOTS)?;
        txn.open_table(crate::ballot::RATINGS)?;
        txn.open_table(crate::ballot::NULLIFIERS)?;
        txn.open_table(crate::round::ROUNDS)?;
        txn.open_table(crate::round::ROUND_PROOFS)?;
        txn.open_table(crate::rules::RULE_TEXTS)?;
        txn.open_table(crate::rules::RULE_ADOPTIONS)?;
        txn.open_table(crate::rules::RULE_FIRINGS)?;
        txn.open_table(crate::rules::RULE_TASKS)?;
        txn.open_table(crate::rules::RULE_BALLOTS)?;
        txn.open_table(crate::outbox::SUBSCRIPTIONS)?;
        txn.open_table(crate::outbox::OUTBOX)?;
        txn.open_table(crate::campaign::CAMPAIGNS)?;
        txn.open_table(crate::campaign::APPLICATIONS)?;
        txn.open_table(crate::campaign::CAMPAIGN_NULLIFIERS)?;
        txn.commit()?;
        Ok(())
    }

    /// Binds the ledger to its key (named after its origin) on first use; later calls check
    /// that the key is the same.
    pub fn init_ledger(&self, log_key: &KeyPair) -> Result<(), StoreError> {
        let vkey = log_key.verifier_key();
        let txn = self.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let existing = meta.get("log_key")?.map(|v| v.value().to_string());
            match existing {
                Some(k) if k == vkey => {}
                Some(_) => {
                    return Err(StoreError::LedgerKey {
                        reason: "this ledger is bound to another key".into(),
                    })
                }
                None => {
                    meta.insert("origin", log_key.name())?;
                    meta.insert("log_key", vkey.as_str())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    pub(crate) fn issuer_in(
        table: &impl Readable<u32, &'static [u8]>,
        name: &str,
    ) -> Result<Option<IssuerInfo>, StoreError> {
        for row in table.iter()? {
            let (k, v) = row?;
            let info = IssuerInfo::from_bytes(k.value(), v.value())?;
            if info.name == name {
                return Ok(Some(info));
            }
        }
        Ok(None)
    }

    /// Registers an issuer with its key (the key's name is the issuer's name): a self-signed
    /// ledger entry and an empty registry.
    pub fn register_issuer(&self, key: &KeyPair, time: u64) -> Result<IssuerInfo, StoreError> {
        let name = key.name().to_string();
        let id = issuer_id(&name)?;
        let txn = self.db.begin_write()?;
        let info = {
            let mut t = txn.open_table(ISSUERS)?;
            if Self::issuer_in(&t, &name)?.is_some() {
                return Err(StoreError::IssuerExists { name });
            }
            let registry = u32::try_from(t.len()?).map_err(|_| StoreError::Ledger {
                reason: "too many issuers".into(),
            })?;
            let info = IssuerInfo {
                registry,
                name: name.clone(),
                issuer_id: id,
                public_key: key.public().to_bytes(),
                next_id: 0,
                live: 0,
            };
            t.insert(registry, info.to_bytes().as_slice())?;
            info
        };
        let entry = Entry::sign(
            time,
            EntryBody::IssuerRegistered {
                issuer_id: id,
                public_key: info.public_key,
                name,
            },
            key,
        );
        append_entries(&txn, &[entry.to_bytes()])?;
        txn.commit()?;
        Ok(info)
    }

    fn check_key(info: &IssuerInfo, key: &KeyPair) -> Result<(), StoreError> {
        if key.public().to_bytes() != info.public_key || key.name() != info.name {
            return Err(StoreError::WrongIssuerKey {
                name: info.name.clone(),
            });
        }
        Ok(())
    }

    /// A write transaction on behalf of an issuer whose key matches its registration.
    pub(crate) fn write_as(&self, key: &KeyPair) -> Result<(WriteTxn, IssuerInfo), StoreError> {
        let txn = self.db.begin_write()?;
        let info = {
            let t = txn.open_table(ISSUERS)?;
            Self::issuer_in(&t, key.name())?.ok_or_else(|| StoreError::UnknownIssuer {
                name: key.name().to_string(),
            })?
        };
        Self::check_key(&info, key)?;
        Ok((txn, info))
    }

    /// Issues a batch of credentials in one durable transaction: assigns consecutive ids, draws
    /// salts, commits, updates the registry and appends one signed ledger entry per credential.
    /// Returns the credentials (with their openings' data) once the commit is on disk; on any
    /// error nothing is written.
    pub fn issue(
        &self,
        key: &KeyPair,
        claims: &[EncodedClaim],
        issued_at: u32,
        time: u64,
    ) -> Result<Vec<Credential>, StoreError> {
        self.issue_with(key, claims, issued_at, time, |_, _| Ok(()))
    }

    /// [`Store::issue`], with `keep` writing the caller's own tables (the service's copy of the
    /// openings) in the same transaction: both are durable together, or neither is.
    pub fn issue_with(
        &self,
        key: &KeyPair,
        claims: &[EncodedClaim],
        issued_at: u32,
        time: u64,
        keep: impl FnOnce(&WriteTxn, &[Credential]) -> Result<(), StoreError>,
    ) -> Result<Vec<Credential>, StoreError> {
        let (txn, mut info) = self.write_as(key)?;
        let mut checked: Vec<Fr> = Vec::new();
        for c in claims {
            if !checked.contains(&c.schema_id) {
                crate::authority::check_may_issue(&txn, &info, &c.schema_id, &c.schema, false)?;
                checked.push(c.schema_id);
            }
        }
        let first = info.next_id;
        if first + claims.len() as u64 > 1u64 << 32 {
            return Err(StoreError::RegistryFull { issuer: info.name });
        }
        let issued = IssueBatch {
            info: &info,
            key,
            first,
            issued_at,
            time,
        }
        .make(claims);
        write_fresh(&txn, info.registry, &issued)?;
        let credentials: Vec<Credential> = issued.into_iter().map(|(c, _, _)| c).collect();
        info.next_id += claims.len() as u64;
        info.live += claims.len() as u64;
        txn.open_table(ISSUERS)?
            .insert(info.registry, info.to_bytes().as_slice())?;
        keep(&txn, &credentials)?;
        txn.commit()?;
        Ok(credentials)
    }

    /// Replaces a live credential by a new version under the same id (a promotion, a sanction:
    /// the status credential the issuer keeps current). Returns the new credential.
    pub fn update(
        &self,
        key: &KeyPair,
        credential_id: u32,
        claim: &EncodedClaim,
        issued_at: u32,
        time: u64,
    ) -> Result<Credential, StoreError> {
        self.update_with(key, credential_id, claim, issued_at, time, |_, _| Ok(()))
    }

    /// [`Store::update`], with `keep` writing the caller's tables in the same transaction.
    pub fn update_with(
        &self,
        key: &KeyPair,
        credential_id: u32,
        claim: &EncodedClaim,
        issued_at: u32,
        time: u64,
        keep: impl FnOnce(&WriteTxn, &Credential) -> Result<(), StoreError>,
    ) -> Result<Credential, StoreError> {
        let update = Replacement {
            credential_id,
            claim: claim.clone(),
            issued_at,
            replaces: None,
        };
        let mut done =
            self.update_many_with(key, std::slice::from_ref(&update), time, |txn, c| {
                keep(txn, &c[0])
            })?;
        done.pop().ok_or_else(|| StoreError::Refused {
            reason: "an update replaced nothing".into(),
        })
    }

    /// Replaces several live credentials of one issuer in one durable transaction, one signed
    /// `Update` entry each: all of them or none (a holder's rotation re-binds every credential
    /// an issuer gave them at once). `keep` writes the caller's tables in the same transaction.
    pub fn update_many_with(
        &self,
        key: &KeyPair,
        updates: &[Replacement],
        time: u64,
        keep: impl FnOnce(&WriteTxn, &[Credential]) -> Result<(), StoreError>,
    ) -> Result<Vec<Credential>, StoreError> {
        let mut ids: Vec<u32> = updates.iter().map(|u| u.credential_id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(StoreError::Refused {
                reason: "a credential is replaced twice in one transaction".into(),
            });
        }
        let (txn, info) = self.write_as(key)?;
        let mut credentials = Vec::with_capacity(updates.len());
        let mut entries = Vec::with_capacity(updates.len());
        for u in updates {
            let claim = &u.claim;
            crate::authority::check_may_issue(&txn, &info, &claim.schema_id, &claim.schema, false)?;
            let credential = info.credential(claim, u.credential_id, u.issued_at);
            let commitment = credential.commitment();
            let commitment_halo2 = credential.commitment_halo2();
            replace_live(
                &txn,
                &info,
                u.credential_id,
                (commitment, commitment_halo2),
                u.replaces,
            )?;
            entries.push(
                Entry::sign(
                    time,
                    EntryBody::Update {
                        issuer_id: info.issuer_id,
                        schema_id: claim.schema_id,
                        credential_id: u.credential_id,
                        commitment,
                        commitment_halo2,
                    },
                    key,
                )
                .to_bytes(),
            );
            credentials.push(credential);
        }
        append_entries(&txn, &entries)?;
        keep(&txn, &credentials)?;
        txn.commit()?;
        Ok(credentials)
    }

    /// Revokes a live credential: its leaf becomes empty.
    pub fn revoke(&self, key: &KeyPair, credential_id: u32, time: u64) -> Result<(), StoreError> {
        self.revoke_with(key, credential_id, time, |_| Ok(()))
    }

    /// [`Store::revoke`], with `keep` writing the caller's tables in the same transaction.
    pub fn revoke_with(
        &self,
        key: &KeyPair,
        credential_id: u32,
        time: u64,
        keep: impl FnOnce(&WriteTxn) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let (txn, mut info) = self.write_as(key)?;
        replace_live(&txn, &info, credential_id, (Fr::zero(), Fp::zero()), None)?;
        let entry = Entry::sign(
            time,
            EntryBody::Revoke {
                issuer_id: info.issuer_id,
                credential_id,
            },
            key,
        );
        append_entries(&txn, &[entry.to_bytes()])?;
        info.live -= 1;
        txn.open_table(ISSUERS)?
            .insert(info.registry, info.to_bytes().as_slice())?;
        keep(&txn)?;
        txn.commit()?;
        Ok(())
    }

    /// The time of the latest checkpoint (0 before the first), from its note's body (its
    /// signatures were checked when it was made, possibly under an earlier ledger key).
    fn last_checkpoint_time(txn: &WriteTxn) -> Result<u64, StoreError> {
        let table = txn.open_table(CHECKPOINTS)?;
        let Some((_, note)) = table.last()? else {
            return Ok(0);
        };
        let body = signed_note::Note::from_bytes(note.value().as_bytes()).map_err(|_| {
            StoreError::Ledger {
                reason: "the latest checkpoint is not a signed note".into(),
            }
        })?;
        Ok(CheckpointBody::from_text(body.text())?.time)
    }

    /// Publishes a checkpoint: appends a `RegistryRoots` entry signed by the ledger and signs a
    /// C2SP checkpoint over the log that also lists every registry root. Returns the note.
    pub fn checkpoint(&self, log_key: &KeyPair, time: u64) -> Result<String, StoreError> {
        match self.ledger_identity()? {
            Some((_, k)) if k == log_key.verifier_key() => {}
            Some(_) => {
                return Err(StoreError::LedgerKey {
                    reason: "not this ledger's key".into(),
                })
            }
            None => {
                return Err(StoreError::LedgerKey {
                    reason: "the ledger has no key yet (init it first)".into(),
                })
            }
        }
        // The roots are read inside the write transaction, so that no concurrent write can slip
        // between them and the entry that commits them.
        let txn = self.db.begin_write()?;
        // Replicas sign with their own clocks; a checkpoint's time never goes back, so one
        // whose clock lags signs the previous checkpoint's time.
        let time = time.max(Self::last_checkpoint_time(&txn)?);
        let roots = {
            let issuers = txn.open_table(ISSUERS)?;
            let nodes = txn.open_table(NODES)?;
            let twin = txn.open_table(NODES_HALO2)?;
            roots_of(&issuers, &nodes, &twin)?
        };
        let entry = Entry::sign(
            time,
            EntryBody::RegistryRoots {
                roots: roots.clone(),
            },
            log_key,
        );
        let size = append_entries(&txn, &[entry.to_bytes()])?;
        let root_hash = {
            let h = txn.open_table(HASHES)?;
            HashTable::run(&h, |h| tlog_tiles::tree_hash(size, h))?.0
        };
        let body = CheckpointBody {
            origin: log_key.name().to_string(),
            size,
            root_hash,
            time,
            registries: roots,
        };
        let note = body.sign(log_key)?;
        txn.open_table(CHECKPOINTS)?.insert(size, note.as_str())?;
        txn.commit()?;
        Ok(note)
    }

    /// Appends a setup ceremony's record (an [`EntryBody::Ceremony`]) signed by the ledger's
    /// key; returns its index in the log. The next checkpoint anchors it.
    pub fn record_ceremony(
        &self,
        log_key: &KeyPair,
        time: u64,
        body: EntryBody,
    ) -> Result<u64, StoreError> {
        if !matches!(body, EntryBody::Ceremony { .. }) {
            return Err(StoreError::Refused {
                reason: "only a ceremony record is appended here".into(),
            });
        }
        match self.ledger_identity()? {
            Some((_, k)) if k == log_key.verifier_key() => {}
            _ => {
                return Err(StoreError::LedgerKey {
                    reason: "not this ledger's key".into(),
                })
            }
        }
        let entry = Entry::sign(time, body, log_key);
        let txn = self.db.begin_write()?;
        let size = append_entries(&txn, &[entry.to_bytes()])?;
        txn.commit()?;
        Ok(size - 1)
    }

    /// Checks that `key` is the ledger's key in force.
    fn check_ledger_key(&self, key: &KeyPair) -> Result<(), StoreError> {
        match self.ledger_identity()? {
            Some((_, k)) if k == key.verifier_key() => Ok(()),
            _ => Err(StoreError::LedgerKey {
                reason: "not this ledger's key".into(),
            }),
        }
    }

    /// Makes the ledger's key in force `new` (checkpoints from the next on are signed by it),
    /// keeping the first key as the genesis an auditor may start from.
    fn set_ledger_key(txn: &WriteTxn, new: &KeyPair) -> Result<(), StoreError> {
        let mut meta = txn.open_table(META)?;
        let current = meta.get("log_key")?.map(|v| v.value().to_string());
        if meta.get("log_key_genesis")?.is_none() {
            if let Some(k) = current {
                meta.insert("log_key_genesis", k.as_str())?;
            }
        }
        meta.insert("log_key", new.verifier_key().as_str())?;
        Ok(())
    }

    /// Rotates an issuer's key: a `KeyRotated` entry signed by the key in force, naming `new`
    /// (which proves possession); from then on only `new` writes for the issuer. `new` must
    /// carry the issuer's name. Returns the entry's index.
    pub fn rotate_issuer_key(
        &self,
        old: &KeyPair,
        new: &KeyPair,
        time: u64,
    ) -> Result<u64, StoreError> {
        if new.name() != old.name() {
            return Err(StoreError::Refused {
                reason: "the new key must carry the issuer's name".into(),
            });
        }
        if new.public() == old.public() {
            return Err(StoreError::Refused {
                reason: "the new key is the key in force".into(),
            });
        }
        let (txn, mut info) = self.write_as(old)?;
        let body = rotation(KeySubject::Issuer(info.issuer_id), new);
        let size = append_entries(&txn, &[Entry::sign(time, body, old).to_bytes()])?;
        info.public_key = new.public().to_bytes();
        txn.open_table(ISSUERS)?
            .insert(info.registry, info.to_bytes().as_slice())?;
        txn.commit()?;
        Ok(size - 1)
    }

    /// Rotates the ledger's key: a `KeyRotated` entry signed by the key in force naming `new`
    /// (same origin); checkpoints from the next on are signed by `new`. Returns the entry's
    /// index.
    pub fn rotate_ledger_key(
        &self,
        old: &KeyPair,
        new: &KeyPair,
        time: u64,
    ) -> Result<u64, StoreError> {
        self.check_ledger_key(old)?;
        if new.name() != old.name() || new.public() == old.public() {
            return Err(StoreError::Refused {
                reason: "the new ledger key must carry the origin and differ from the key in force"
                    .into(),
            });
        }
        let body = rotation(KeySubject::Ledger, new);
        let txn = self.db.begin_write()?;
        let size = append_entries(&txn, &[Entry::sign(time, body, old).to_bytes()])?;
        Self::set_ledger_key(&txn, new)?;
        txn.commit()?;
        Ok(size - 1)
    }

    /// Revokes an issuer's compromised key from entry `from_entry` on, replacing it by `new`:
    /// a `KeyRevoked` entry signed by the ledger's key in force and carrying the witnesses'
    /// approvals of [`dossier_core::entry::revocation_statement`] (checked by auditors against
    /// their witness policy). The issuer's entries from `from_entry` on are void; the audit
    /// lists them. Returns the entry's index.
    pub fn revoke_issuer_key(
        &self,
        ledger: &KeyPair,
        issuer: &str,
        from_entry: u64,
        new: &KeyPair,
        approvals: Vec<Approval>,
        time: u64,
    ) -> Result<u64, StoreError> {
        self.check_ledger_key(ledger)?;
        if new.name() != issuer {
            return Err(StoreError::Refused {
                reason: "the new key must carry the issuer's name".into(),
            });
        }
        let txn = self.db.begin_write()?;
        let mut info = {
            let t = txn.open_table(ISSUERS)?;
            Self::issuer_in(&t, issuer)?.ok_or_else(|| StoreError::UnknownIssuer {
                name: issuer.to_string(),
            })?
        };
        let body = revocation(
            KeySubject::Issuer(info.issuer_id),
            info.public_key,
            from_entry,
            new,
            approvals,
            txn.open_table(ENTRIES)?.len()?,
        )?;
        let size = append_entries(&txn, &[Entry::sign(time, body, ledger).to_bytes()])?;
        info.public_key = new.public().to_bytes();
        txn.open_table(ISSUERS)?
            .insert(info.registry, info.to_bytes().as_slice())?;
        txn.commit()?;
        Ok(size - 1)
    }

    /// Revokes the ledger's own compromised key from entry `from_entry` on: the entry is
    /// signed by its replacement `new` (the old key is not trusted to sign it), with the
    /// witnesses' approvals. Returns the entry's index.
    pub fn revoke_ledger_key(
        &self,
        from_entry: u64,
        new: &KeyPair,
        approvals: Vec<Approval>,
        time: u64,
    ) -> Result<u64, StoreError> {
        let Some((origin, current)) = self.ledger_identity()? else {
            return Err(StoreError::LedgerKey {
                reason: "the ledger has no key yet (init it first)".into(),
            });
        };
        if new.name() != origin {
            return Err(StoreError::Refused {
                reason: "the new ledger key must carry the origin".into(),
            });
        }
        let revoked = dossier_core::keys::public_from_verifier_key(&current)?.to_bytes();
        let txn = self.db.begin_write()?;
        let size = txn.open_table(ENTRIES)?.len()?;
        let body = revocation(
            KeySubject::Ledger,
            revoked,
            from_entry,
            new,
            approvals,
            size,
        )?;
        let size = append_entries(&txn, &[Entry::sign(time, body, new).to_bytes()])?;
        Self::set_ledger_key(&txn, new)?;
        txn.commit()?;
        Ok(size - 1)
    }

    /// Adds a witness's cosignature line to the checkpoint published at `size`, after checking
    /// it (c2sp.org/tlog-cosignature) against the witness's key: a line that does not verify is
    /// refused and the note is unchanged; a witness's earlier cosignature on the same note is
    /// replaced. Returns the note as now served.
    pub fn add_cosignature(
        &self,
        size: u64,
        witness: &dossier_core::cosignature::WitnessKey,
        line: &str,
    ) -> Result<String, StoreError> {
        let refused = |reason: &str| StoreError::Refused {
            reason: reason.to_string(),
        };
        let line = line.trim_end_matches('\n');
        if line.contains('\n') {
            return Err(refused("a cosignature is one signature line"));
        }
        let txn = self.db.begin_write()?;
        let note = {
            let mut t = txn.open_table(CHECKPOINTS)?;
            let old = t
                .get(size)?
                .map(|v| v.value().to_string())
                .ok_or_else(|| refused("no checkpoint was published at that size"))?;
            if old.lines().next() == Some(witness.name()) {
                return Err(refused("a witness may not be named as the ledger"));
            }
            let prefix = format!("— {} ", witness.name());
            let kept: String = old
                .split_inclusive('\n')
                .filter(|l| !l.starts_with(&prefix))
                .collect();
            let note = format!("{kept}{line}\n");
            if witness.cosigned(note.as_bytes()).is_none() {
                return Err(refused(
                    "the cosignature does not verify for this witness and checkpoint",
                ));
            }
            t.insert(size, note.as_str())?;
            note
        };
        txn.commit()?;
        Ok(note)
    }
}

impl<D: Reading> Store<D> {
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The ledger's origin and verifier key, once set by [`Store::init_ledger`].
    pub fn ledger_identity(&self) -> Result<Option<(String, String)>, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let origin = meta.get("origin")?.map(|v| v.value().to_string());
        let key = meta.get("log_key")?.map(|v| v.value().to_string());
        Ok(origin.zip(key))
    }

    /// Every registered issuer.
    pub fn issuers(&self) -> Result<Vec<IssuerInfo>, StoreError> {
        issuers_in(&self.db.begin_read()?)
    }

    /// The issuer of that name.
    pub fn issuer(&self, name: &str) -> Result<IssuerInfo, StoreError> {
        self.issuers()?
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| StoreError::UnknownIssuer {
                name: name.to_string(),
            })
    }

    /// Every registry's current root, ordered by issuer id.
    pub fn registry_roots(&self) -> Result<Vec<RegistryRoot>, StoreError> {
        let txn = self.db.begin_read()?;
        roots_of(
            &txn.open_table(ISSUERS)?,
            &txn.open_table(NODES)?,
            &txn.open_table(NODES_HALO2)?,
        )
    }

    /// The latest checkpoint's note, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(CHECKPOINTS)?;
        let last = t.last()?.map(|(_, v)| v.value().to_string());
        Ok(last)
    }

    /// Every checkpoint's note, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(CHECKPOINTS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(row?.1.value().to_string());
        }
        Ok(out)
    }

    /// The checkpoint at a log size, if one was published there.
    pub fn checkpoint_at(&self, size: u64) -> Result<Option<String>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(CHECKPOINTS)?;
        let note = t.get(size)?.map(|v| v.value().to_string());
        Ok(note)
    }

    /// The membership path of a credential id in an issuer's current registry (for an empty
    /// leaf, the path of the empty leaf), with its path in the halo2 twin tree, both read in one
    /// transaction.
    pub fn witness(&self, issuer: &str, credential_id: u32) -> Result<MembershipPath, StoreError> {
        let txn = self.db.begin_read()?;
        let registry = self.registry_number(&txn, issuer)?;
        // Both trees' nodes in one read (one round trip on PostgreSQL).
        txn.prefetch(
            registry::path_node_keys(credential_id)
                .flat_map(|(l, i)| [(NODES, (registry, l, i)), (NODES_HALO2, (registry, l, i))]),
        )?;
        let nodes = txn.open_table(NODES)?;
        let twin = txn.open_table(NODES_HALO2)?;
        let mut path = registry::path(
            &ReadNodes {
                table: &nodes,
                registry,
            },
            credential_id,
        )?;
        path.halo2 = Some(registry::path_halo2(
            &ReadNodes {
                table: &twin,
                registry,
            },
            credential_id,
        )?);
        Ok(path)
    }

    /// The registry number of issuer `name`, from this handle's memory or from `txn`.
    fn registry_number(&self, txn: &ReadTxn<'_>, name: &str) -> Result<u32, StoreError> {
        let remembered = self
            .registries
            .lock()
            .ok()
            .and_then(|r| r.get(name).copied());
        if let Some(n) = remembered {
            return Ok(n);
        }
        let info = issuers_in(txn)?
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| StoreError::UnknownIssuer {
                name: name.to_string(),
            })?;
        if let Ok(mut r) = self.registries.lock() {
            r.insert(info.name, info.registry);
        }
        Ok(info.registry)
    }

    /// The number of entries in the ledger.
    pub fn ledger_size(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read()?;
        let size = txn.open_table(ENTRIES)?.len();
        size
    }

    /// Entries `start..end` (clamped to the log), as stored bytes.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(ENTRIES)?;
        let mut out = Vec::new();
        for row in t.range(start..end)? {
            out.push(row?.1.value().to_vec());
        }
        Ok(out)
    }

    /// The latest ceremony record for a verifying key (by its SHA-256): its index and bytes.
    /// Scans the log (ceremony records are rare; the scan reads entries in order).
    pub fn find_ceremony(
        &self,
        vk_sha256: &[u8; 32],
    ) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(ENTRIES)?;
        let mut found = None;
        for row in t.iter()? {
            let (k, v) = row?;
            // Kind 6 sits at byte 1; only those are decoded.
            let bytes = v.value();
            if bytes.get(1) != Some(&6) {
                continue;
            }
            if let Ok(Entry {
                body: EntryBody::Ceremony { vk_sha256: h, .. },
                ..
            }) = Entry::from_bytes(bytes)
            {
                if &h == vk_sha256 {
                    found = Some((k.value(), bytes.to_vec()));
                }
            }
        }
        Ok(found)
    }

    /// The RFC 6962 root hash of the log's first `size` entries.
    pub fn tree_hash(&self, size: u64) -> Result<[u8; 32], StoreError> {
        let txn = self.db.begin_read()?;
        let h = txn.open_table(HASHES)?;
        self.check_size(size, &txn)?;
        Ok(HashTable::run(&h, |h| tlog_tiles::tree_hash(size, h))?.0)
    }

    fn check_size(&self, size: u64, txn: &ReadTxn<'_>) -> Result<(), StoreError> {
        let n = txn.open_table(ENTRIES)?.len()?;
        if size > n {
            return Err(StoreError::Ledger {
                reason: format!("size {size} is beyond the log's {n} entries"),
            });
        }
        Ok(())
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>, StoreError> {
        let txn = self.db.begin_read()?;
        self.check_size(size, &txn)?;
        let h = txn.open_table(HASHES)?;
        Ok(
            HashTable::run(&h, |h| tlog_tiles::prove_record(size, index, h))?
                .into_iter()
                .map(|h| h.0)
                .collect(),
        )
    }

    /// The consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>, StoreError> {
        let txn = self.db.begin_read()?;
        self.check_size(new, &txn)?;
        let h = txn.open_table(HASHES)?;
        Ok(HashTable::run(&h, |h| tlog_tiles::prove_tree(new, old, h))?
            .into_iter()
            .map(|h| h.0)
            .collect())
    }

    /// The whole ledger, for a regulator.
    pub fn export(&self) -> Result<crate::export::LedgerExport, StoreError> {
        let (origin, log_key) = self
            .ledger_identity()?
            .ok_or_else(|| StoreError::LedgerKey {
                reason: "the ledger has no key yet".into(),
            })?;
        let log_key_genesis = {
            let txn = self.db.begin_read()?;
            let meta = txn.open_table(META)?;
            let genesis = meta.get("log_key_genesis")?.map(|v| v.value().to_string());
            genesis
        };
        Ok(crate::export::LedgerExport {
            format: crate::export::FORMAT.to_string(),
            origin,
            log_key,
            log_key_genesis,
            entries: self.entries(0, u64::MAX)?,
            checkpoints: self.checkpoints()?,
        })
    }

    /// Every stored (non-empty) node of a registry as (level, index, node).
    pub fn registry_nodes(&self, registry: u32) -> Result<Vec<(u8, u32, Fr)>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(NODES)?;
        let mut out = Vec::new();
        for row in t.range((registry, 0u8, 0u32)..=(registry, u8::MAX, u32::MAX))? {
            let (k, v) = row?;
            let (_, level, index) = k.value();
            out.push((
                level,
                index,
                field::from_be_bytes("registry node", &v.value())?,
            ));
        }
        Ok(out)
    }

    /// Checks that `key` is the registered key of the issuer it names, without writing.
    pub fn authorize(&self, key: &KeyPair) -> Result<IssuerInfo, StoreError> {
        let info = self.issuer(key.name())?;
        Store::<Database>::check_key(&info, key)?;
        Ok(info)
    }

    /// Whether a credential id holds a live credential in an issuer's registry.
    pub fn is_live(&self, issuer: &str, credential_id: u32) -> Result<bool, StoreError> {
        Ok(!self.witness(issuer, credential_id)?.leaf.is_zero())
    }

    /// Direct access to the database: for a caller's own tables (the service's), for tests that
    /// play an attacker with write access to the file, and for inspection tools. Never write the
    /// store's own tables through it.
    pub fn raw(&self) -> &D {
        &self.db
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kv::{Guard, Row, Rows};
    use std::borrow::Borrow;
    use std::ops::RangeBounds;

    /// A hash table whose reads fail as a lost connection's do after `good` answers, or, if
    /// `missing`, find no row there.
    struct Failing {
        good: std::cell::Cell<usize>,
        missing: bool,
    }

    impl Failing {
        fn lost() -> StoreError {
            StoreError::Postgres {
                during: "reading",
                reason: "connection lost".into(),
            }
        }
    }

    impl Readable<u64, [u8; 32]> for Failing {
        fn get<'k>(
            &self,
            _: impl Borrow<<u64 as redb::Value>::SelfType<'k>>,
        ) -> Result<Option<Guard<'_, [u8; 32]>>, StoreError> {
            match self.good.get() {
                0 if self.missing => Ok(None),
                0 => Err(Failing::lost()),
                n => {
                    self.good.set(n - 1);
                    Ok(Some(Guard::Bytes([7u8; 32].to_vec())))
                }
            }
        }
        fn range<'k, KR: Borrow<<u64 as redb::Value>::SelfType<'k>> + 'k>(
            &self,
            _: impl RangeBounds<KR> + 'k,
        ) -> Result<Rows<'_, u64, [u8; 32]>, StoreError> {
            Err(Failing::lost())
        }
        fn iter(&self) -> Result<Rows<'_, u64, [u8; 32]>, StoreError> {
            Err(Failing::lost())
        }
        fn len(&self) -> Result<u64, StoreError> {
            Err(Failing::lost())
        }
        fn first(&self) -> Result<Option<Row<'_, u64, [u8; 32]>>, StoreError> {
            Err(Failing::lost())
        }
        fn last(&self) -> Result<Option<Row<'_, u64, [u8; 32]>>, StoreError> {
            Err(Failing::lost())
        }
        fn prefetch<'k>(
            &self,
            _: impl IntoIterator<Item = <u64 as redb::Value>::SelfType<'k>>,
        ) -> Result<(), StoreError> {
            Ok(())
        }
    }

    /// Regression: a connection lost while the ledger's hashes were read surfaced as the
    /// log's own error ("indexes not in tree"), which callers take for a corrupt ledger.
    #[test]
    fn a_failing_read_of_the_ledger_hashes_is_the_storage_error_not_a_broken_log() {
        // The tree of five entries is two stored hashes: the first read or the second fails.
        for good in 0..2 {
            let table = Failing {
                good: std::cell::Cell::new(good),
                missing: false,
            };
            match HashTable::run(&table, |h| tlog_tiles::tree_hash(5, h)) {
                Err(StoreError::Postgres { during, .. }) => assert_eq!(during, "reading"),
                other => panic!("after {good} good reads: {other:?}"),
            }
        }
        let absent = Failing {
            good: std::cell::Cell::new(1),
            missing: true,
        };
        assert!(matches!(
            HashTable::run(&absent, |h| tlog_tiles::tree_hash(5, h)),
            Err(StoreError::Ledger { .. })
        ));
    }
}
