//! `dossier backup create|verify|restore`: the store's backups from the command line. `create`
//! snapshots a store no service holds (a running service takes its own: `dossier serve
//! --backup-dir`); `verify` restores a backup into a scratch folder and runs the full audit
//! there, trusting the home's ledger key, and checks that the home's live ledger extends the
//! backup's (the same root at the backup's size); `restore` puts a verified backup in place of a
//! home's store, setting any store it replaces aside.

use crate::error::{io, CliError};
use crate::ledger::{audit_report, Audited};
use crate::{AuditArgs, BackupCmd, Out};
use dossier_core::schema::SchemaSet;
use dossier_store::home::Home;
use dossier_store::Store;
use serde_json::json;
use std::path::{Path, PathBuf};

/// Runs a `dossier backup` command.
pub fn backup(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    cmd: BackupCmd,
) -> Result<i32, CliError> {
    match cmd {
        BackupCmd::Create { out: dest } => create(home, out, &dest),
        BackupCmd::Verify {
            file,
            log_key,
            witness_policy,
        } => verify(home, params, out, schemas, &file, log_key, witness_policy),
        BackupCmd::Restore { file, force } => restore(home, out, &file, force),
    }
}

fn create(home: &Home, out: &Out, dest: &Path) -> Result<i32, CliError> {
    let store = home.reader()?;
    let s = store.backup(dest, &dossier_service::tables::backup_tables())?;
    out.emit(
        format!(
            "backup written to {}: {} ledger entries (root {}), {} tables, {} rows, {} bytes",
            s.path.display(),
            s.entries,
            s.root_hash,
            s.tables,
            s.rows,
            s.bytes
        ),
        json!({"backup": s}),
    );
    Ok(0)
}

/// A private scratch folder holding a copy of a backup as its store, removed when dropped.
struct Scratch {
    home: Home,
}

impl Scratch {
    fn of(file: &Path) -> Result<Scratch, CliError> {
        if !file.is_file() {
            return Err(CliError::Input(format!(
                "{}: no such backup",
                file.display()
            )));
        }
        let dir = std::env::temp_dir().join(format!(
            "dossier-backup-verify-{}-{}",
            std::process::id(),
            hex::encode(rand::random::<[u8; 8]>())
        ));
        dossier_store::home::create_private_dir(&dir)?;
        let home = Home {
            dir,
            lock_wait: std::time::Duration::from_secs(5),
            location: dossier_store::home::StoreLocation::Embedded,
        };
        copy_private(file, &home.db_path())?;
        Ok(Scratch { home })
    }
}

impl Scratch {
    /// The copy's ledger size and root: refused when it does not open as a dossier store.
    fn ledger(&self, file: &Path) -> Result<(u64, [u8; 32]), CliError> {
        let copy = self.home.reader().map_err(|e| {
            CliError::Input(format!(
                "{}: not a readable dossier store ({e})",
                file.display()
            ))
        })?;
        let entries = copy.ledger_size()?;
        Ok((entries, copy.tree_hash(entries)?))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home.dir);
    }
}

/// Copies a database file to `dest` (absent), readable by its owner only, on disk.
fn copy_private(from: &Path, dest: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut src = std::fs::File::open(from).map_err(io(from))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dest)
        .map_err(io(dest))?;
    std::io::copy(&mut src, &mut f).map_err(io(dest))?;
    f.sync_all().map_err(io(dest))?;
    Ok(())
}

/// How the home's live store stands to a backup's ledger, and the ledger key it names.
fn live_against(
    home: &Home,
    entries: u64,
    root: &[u8; 32],
) -> Result<(serde_json::Value, Option<String>), CliError> {
    if !home.store_exists() {
        return Ok((
            json!({"checked": false, "reason": "no store in this home"}),
            None,
        ));
    }
    let live = home.reader()?;
    let key = live.ledger_identity()?.map(|(_, k)| k);
    let size = live.ledger_size()?;
    if size < entries {
        return Ok((
            json!({"checked": true, "extends": false, "live_entries": size,
                "reason": "the live ledger is shorter than the backup's"}),
            key,
        ));
    }
    let extends = live.tree_hash(entries)? == *root;
    Ok((
        json!({"checked": true, "extends": extends, "live_entries": size}),
        key,
    ))
}

fn verify(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    file: &Path,
    log_key: Option<String>,
    witness_policy: Option<PathBuf>,
) -> Result<i32, CliError> {
    let scratch = Scratch::of(file)?;
    let (entries, root) = scratch.ledger(file)?;
    let (live, home_key) = live_against(home, entries, &root)?;
    // Trust the home's own ledger key when it has one: a backup that brought its own key
    // would otherwise vouch for itself.
    let log_key = log_key.or(home_key);
    let args = AuditArgs {
        ledger: None,
        log_key: log_key.clone(),
        witness_policy,
        rules: None,
    };
    let audited = audit_report(&scratch.home, params, schemas, &args)?;
    let extends = live["extends"].as_bool().unwrap_or(true);
    let (code, text, audit) = match audited {
        Audited::Passed { code, text, json } => (code, text, json),
        Audited::Failed(d) => (
            1,
            format!("audit FAILED at {}: {}", d.at, d.message),
            json!({"ok": false, "discrepancy": d}),
        ),
    };
    let code = if extends { code } else { code.max(1) };
    out.emit(
        format!(
            "backup {}: {entries} ledger entries, root {}\n  {}\n  live ledger: {}\n{text}",
            file.display(),
            hex::encode(root),
            if log_key.is_some() {
                "trusting this home's ledger key (or --log-key)"
            } else {
                "trusting the backup's own ledger key: pass --log-key to pin one"
            },
            match (live["checked"].as_bool(), live["extends"].as_bool()) {
                (Some(true), Some(true)) => format!(
                    "extends the backup ({} entries now)",
                    live["live_entries"]
                ),
                (Some(true), _) => "DOES NOT extend the backup: the ledger was rewritten, or the backup is of another ledger".to_string(),
                _ => "not compared (no store in this home)".to_string(),
            },
        ),
        json!({"ok": code == 0, "backup": {"file": file, "entries": entries, "root_hash": hex::encode(root)},
               "live": live, "trusted_key": log_key.is_some(), "audit": audit}),
    );
    Ok(code)
}

fn restore(home: &Home, out: &Out, file: &Path, force: bool) -> Result<i32, CliError> {
    if let dossier_store::home::StoreLocation::Postgres(_) = home.location {
        return Err(CliError::Input(
            "restoring into PostgreSQL is done with PostgreSQL's own tools (pg_restore, or a base backup and its WAL): see docs/postgres.md".into(),
        ));
    }
    let target = home.db_path();
    // The backup must open as a store before anything is moved.
    let (entries, root) = Scratch::of(file)?.ledger(file)?;
    let set_aside = if target.exists() {
        if !force {
            return Err(CliError::Input(format!(
                "{} exists: pass --force to set it aside and restore the backup in its place",
                target.display()
            )));
        }
        // Holding the store for writing makes sure no service or command has it open.
        drop(Store::open(&target, home.lock_wait)?);
        let aside = home.dir.join(format!(
            "dossier.redb.before-restore-{}",
            dossier_core::clock::now()
        ));
        std::fs::rename(&target, &aside).map_err(io(&target))?;
        Some(aside)
    } else {
        dossier_store::home::create_private_dir(&home.dir)?;
        None
    };
    let tmp = home
        .dir
        .join(format!(".dossier.redb.restoring-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    copy_private(file, &tmp)?;
    std::fs::rename(&tmp, &target).map_err(io(&target))?;
    std::fs::File::open(&home.dir)
        .and_then(|d| d.sync_all())
        .map_err(io(&home.dir))?;
    out.emit(
        format!(
            "restored {} into {}: {entries} ledger entries (root {}){}",
            file.display(),
            target.display(),
            hex::encode(root),
            set_aside
                .as_ref()
                .map(|p| format!("; the store it replaced is at {}", p.display()))
                .unwrap_or_default()
        ),
        json!({"restored": target, "entries": entries, "root_hash": hex::encode(root), "set_aside": set_aside}),
    );
    Ok(0)
}
