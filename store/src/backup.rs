//! Backups of the embedded store: an online, consistent snapshot taken from one read
//! transaction (redb's multi-version reads: writers go on while it is copied, and the copy is
//! the store exactly as of one commit), written table by table into a new database file that is
//! made private, fsynced and renamed into place only when complete.
//!
//! A backup copies every table: the store's own ([`store_tables`]) and those its caller adds (the
//! service's). A table in the database that neither names is refused before anything is
//! written, so a table added later cannot be silently left out of the backups.
//!
//! The copy holds credential openings: it is created readable by its owner only, like the store.

use crate::db::*;
use crate::kv::{Database, Ordered, ReadTxn, Readable, Reading, TableDef, WriteTxn};
use crate::{Store, StoreError};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// How one table is copied from a snapshot into a backup.
pub type Copier = fn(&ReadTxn<'_>, &WriteTxn) -> Result<u64, StoreError>;

/// A table a backup copies: its name and its copier.
#[derive(Clone)]
pub struct TableCopy {
    /// The table's name.
    pub name: String,
    /// Copies it, returning its rows.
    pub copy: Copier,
}

/// Copies every row of one table (absent from the snapshot: nothing to copy).
pub fn copy_table<K: Ordered, V: redb::Value + 'static>(
    def: TableDef<K, V>,
    from: &ReadTxn<'_>,
    to: &WriteTxn,
) -> Result<u64, StoreError> {
    let src = from.open_table(def)?;
    let mut dst = to.open_table(def)?;
    let mut rows = 0u64;
    for row in src.iter()? {
        let (k, v) = row?;
        dst.insert(k.value(), v.value())?;
        rows += 1;
    }
    Ok(rows)
}

/// A table's name.
pub fn table_name<K: Ordered, V: redb::Value + 'static>(def: &TableDef<K, V>) -> String {
    def.name().to_string()
}

/// A table with its copier: `table_copy!(PATH::TABLE)`.
#[macro_export]
macro_rules! table_copy {
    ($def:path) => {
        $crate::backup::TableCopy {
            name: $crate::backup::table_name(&$def),
            copy: |from, to| $crate::backup::copy_table($def, from, to),
        }
    };
}

/// The store's own tables.
pub fn store_tables() -> Vec<TableCopy> {
    vec![
        table_copy!(META),
        table_copy!(ISSUERS),
        table_copy!(NODES),
        table_copy!(NODES_HALO2),
        table_copy!(ENTRIES),
        table_copy!(HASHES),
        table_copy!(CHECKPOINTS),
        table_copy!(crate::authority::ACCREDITATIONS),
        table_copy!(crate::authority::COMMITTEES),
        table_copy!(crate::authority::PROPOSALS),
        table_copy!(crate::ballot::BALLOTS),
        table_copy!(crate::ballot::RATINGS),
        table_copy!(crate::ballot::NULLIFIERS),
        table_copy!(crate::round::ROUNDS),
        table_copy!(crate::round::ROUND_PROOFS),
        table_copy!(crate::rules::RULE_TEXTS),
        table_copy!(crate::rules::RULE_ADOPTIONS),
        table_copy!(crate::rules::RULE_FIRINGS),
        table_copy!(crate::rules::RULE_TASKS),
        table_copy!(crate::rules::RULE_BALLOTS),
        table_copy!(crate::outbox::SUBSCRIPTIONS),
        table_copy!(crate::outbox::OUTBOX),
        table_copy!(crate::campaign::CAMPAIGNS),
        table_copy!(crate::campaign::APPLICATIONS),
        table_copy!(crate::campaign::CAMPAIGN_NULLIFIERS),
    ]
}

/// What a backup holds.
#[derive(Clone, Debug, Serialize)]
pub struct Snapshot {
    /// The backup file.
    pub path: PathBuf,
    /// Ledger entries in it.
    pub entries: u64,
    /// The RFC 6962 root of those entries (hex).
    pub root_hash: String,
    /// Tables copied.
    pub tables: usize,
    /// Rows copied.
    pub rows: u64,
    /// The file's size in bytes.
    pub bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason: reason.into(),
    }
}

impl<D: Reading> Store<D> {
    /// Writes a consistent snapshot of the store to `dest` (which must not exist), copying the
    /// store's tables and `extra` ones. Refused, with nothing written, if the store holds a
    /// table neither names. The file appears at `dest` only once complete and on disk.
    pub fn backup(&self, dest: &Path, extra: &[TableCopy]) -> Result<Snapshot, StoreError> {
        if dest.exists() {
            return Err(refused(format!(
                "{} already exists; refusing to overwrite it",
                dest.display()
            )));
        }
        let mut tables = store_tables();
        tables.extend_from_slice(extra);
        let snapshot = self.raw().begin_read()?;
        check_covered(&snapshot, &tables)?;
        let dir = dest
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !dir.exists() {
            crate::home::create_private_dir(dir)?;
        }
        let name = dest
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("backup");
        let tmp = dir.join(format!(".{name}.partial-{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let rows = match write_copy(&tmp, &snapshot, &tables) {
            Ok(rows) => rows,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        std::fs::rename(&tmp, dest).map_err(io(dest))?;
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io(dir))?;
        let entries = snapshot.open_table(ENTRIES)?.len()?;
        drop(snapshot);
        let copy = Store::open_read_only(dest, std::time::Duration::from_secs(5))?;
        Ok(Snapshot {
            path: dest.to_path_buf(),
            entries,
            root_hash: hex::encode(copy.tree_hash(entries)?),
            tables: tables.len(),
            rows,
            bytes: std::fs::metadata(dest).map_err(io(dest))?.len(),
        })
    }
}

/// Refuses a snapshot holding a table the backup would not copy.
fn check_covered(snapshot: &ReadTxn<'_>, tables: &[TableCopy]) -> Result<(), StoreError> {
    let known: BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    for name in snapshot.table_names()? {
        if !known.contains(name.as_str()) {
            return Err(refused(format!(
                "table `{name}` is not known to the backup: refusing an incomplete copy"
            )));
        }
    }
    Ok(())
}

/// Copies the tables into a new private database at `path`, committed and fsynced; returns
/// the rows copied.
fn write_copy(
    path: &Path,
    snapshot: &ReadTxn<'_>,
    tables: &[TableCopy],
) -> Result<u64, StoreError> {
    {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io(path))?;
    }
    let db = Database::Redb(redb::Database::create(path)?);
    let txn = db.begin_write()?;
    let mut rows = 0u64;
    for t in tables {
        rows += (t.copy)(snapshot, &txn)?;
    }
    txn.commit()?;
    drop(db);
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io(path))?;
    Ok(rows)
}
