//! `dossier ledger`, `checkpoint`, `witness` and `audit`: the append-only ledger from the
//! command line — create and inspect it, publish checkpoints, fetch a credential's path and
//! whether a checkpoint anchors it, export it for a regulator and replay it.

use crate::error::{io, CliError};
use crate::{AuditArgs, LedgerCmd, Out};
use dossier_core::clock::now;
use dossier_core::{checkpoint, field};
use dossier_store::audit;
use dossier_store::export::LedgerExport;
use dossier_store::home::{self, Home};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `dossier ledger init|info|export`.
pub fn ledger(home: &Home, out: &Out, cmd: LedgerCmd) -> Result<i32, CliError> {
    match cmd {
        LedgerCmd::Init { origin } => init(home, out, &origin),
        LedgerCmd::Info => info(home, out),
        LedgerCmd::Export { out: path } => export(home, out, &path),
    }
}

/// Creates the ledger's key (once) and prints its verifier key.
fn init(home: &Home, out: &Out, origin: &str) -> Result<i32, CliError> {
    let store = home.store()?;
    let key = home.ledger_key(&store, Some(origin))?;
    out.emit(
        format!(
            "ledger `{}` ready; verifier key:\n{}",
            key.name(),
            key.verifier_key()
        ),
        json!({"origin": key.name(), "log_key": key.verifier_key()}),
    );
    Ok(0)
}

/// Size, log root, issuers and the latest checkpoint.
fn info(home: &Home, out: &Out) -> Result<i32, CliError> {
    let store = home.reader()?;
    let size = store.ledger_size()?;
    let root = store.tree_hash(size)?;
    let identity = store.ledger_identity()?;
    let issuers = store.issuers()?;
    let latest = store.latest_checkpoint()?;
    let latest_size = latest
        .as_ref()
        .and_then(|n| n.lines().nth(1).and_then(|l| l.parse::<u64>().ok()));
    out.emit(
            format!(
                "ledger {}\n  entries: {size}\n  log root: {}\n  issuers: {}\n  latest checkpoint: {}",
                identity.as_ref().map_or("(no key yet)", |(o, _)| o.as_str()),
                checkpoint::root_hash_b64(&root),
                issuers.iter().map(|i| format!("{} ({} live)", i.name, i.live)).collect::<Vec<_>>().join(", "),
                latest_size.map_or("none".to_string(), |s| format!("size {s}"))
            ),
            json!({"origin": identity.as_ref().map(|i| &i.0), "log_key": identity.as_ref().map(|i| &i.1),
                   "entries": size, "log_root": checkpoint::root_hash_b64(&root),
                   "issuers": issuers.iter().map(|i| json!({"name": i.name, "issuer_id": field::to_hex(&i.issuer_id), "live": i.live})).collect::<Vec<_>>(),
                   "latest_checkpoint": latest}),
        );
    Ok(0)
}

/// Writes the whole ledger (entries and checkpoints) for a regulator.
fn export(home: &Home, out: &Out, path: &PathBuf) -> Result<i32, CliError> {
    let store = home.reader()?;
    let export = store.export()?;
    home::write_atomic(path, export.to_json()?.as_bytes(), 0o644, true)?;
    out.emit(
            format!("wrote {} entries and {} checkpoints to {}", export.entries.len(), export.checkpoints.len(), path.display()),
            json!({"entries": export.entries.len(), "checkpoints": export.checkpoints.len(), "file": path}),
        );
    Ok(0)
}

/// `dossier checkpoint`: signs and publishes a checkpoint of every registry root.
pub fn checkpoint(home: &Home, out: &Out, path: Option<PathBuf>) -> Result<i32, CliError> {
    let store = home.store()?;
    let key = home.ledger_key(&store, None)?;
    let note = store.checkpoint(&key, now())?;
    if let Some(p) = &path {
        home::write_atomic(p, note.as_bytes(), 0o644, true)?;
    }
    let body = checkpoint::open(note.as_bytes(), &key.verifier_key())?;
    out.emit(note.trim_end(), json!({"size": body.size, "note": note}));
    Ok(0)
}

/// `dossier witness`: a credential's membership path and whether the latest checkpoint
/// anchors its root.
pub fn witness(home: &Home, out: &Out, issuer: String, id: u32) -> Result<i32, CliError> {
    let store = home.reader()?;
    let path = store.witness(&issuer, id)?;
    if path.leaf == dossier_core::Fr::from(0u64) {
        return Err(dossier_store::StoreError::CredentialNotFound {
            issuer,
            credential_id: id,
        }
        .into());
    }
    let info = store.issuer(&issuer)?;
    let anchored = match (store.latest_checkpoint()?, store.ledger_identity()?) {
        (Some(note), Some((_, key))) => {
            let body = checkpoint::open(note.as_bytes(), &key)?;
            body.registry(&info.issuer_id)
                .map(|r| r.root == path.root)
                .map(|a| (a, body.size))
        }
        _ => None,
    };
    let anchor_text = match anchored {
            Some((true, size)) => format!("anchored by the latest checkpoint (size {size})"),
            Some((false, size)) => format!("NOT anchored: the registry changed since the latest checkpoint (size {size}); publish a checkpoint"),
            None => "NOT anchored: no checkpoint lists this registry yet".to_string(),
        };
    let v = serde_json::to_value(&path).map_err(|e| CliError::Input(e.to_string()))?;
    out.emit(
            format!("credential {id} of `{issuer}`\n  leaf: {}\n  root: {}\n  {anchor_text}", field::to_hex(&path.leaf), field::to_hex(&path.root)),
            json!({"path": v, "anchored": anchored.map(|a| a.0).unwrap_or(false), "checkpoint_size": anchored.map(|a| a.1)}),
        );
    Ok(0)
}

pub fn audit_cmd(home: &Home, out: &Out, args: AuditArgs) -> Result<i32, CliError> {
    let trusted = match &args.log_key {
        Some(k) if k.starts_with('@') => {
            let p = Path::new(&k[1..]);
            Some(
                std::fs::read_to_string(p)
                    .map_err(io(p))?
                    .trim()
                    .to_string(),
            )
        }
        Some(k) => Some(k.clone()),
        None => None,
    };
    let started = std::time::Instant::now();
    let result = match &args.ledger {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(io(p))?;
            audit::audit(&LedgerExport::from_json(&text)?, trusted.as_deref())
        }
        None => audit::audit_store(&home.reader()?, trusted.as_deref())?,
    };
    let secs = started.elapsed().as_secs_f64();
    let trust_note = if trusted.is_some() {
        "pinned key"
    } else {
        "the ledger's own key (pin one with --log-key)"
    };
    match result {
        Ok(report) => {
            out.emit(
                format!(
                    "audit passed: {} entries, {} checkpoints, {} registries replayed in {:.2} s (trusting {trust_note})\n  log root: {}\n{}",
                    report.entries, report.checkpoints, report.registries.len(), secs, report.log_root,
                    report.registries.iter().map(|r| format!("  {:<24} root {}  live {}", r.issuer, r.root, r.live)).collect::<Vec<_>>().join("\n")
                ),
                json!({"ok": true, "report": report, "seconds": secs, "trusted_key": trusted.is_some()}),
            );
            Ok(0)
        }
        Err(d) => {
            if out.json {
                println!("{}", json!({"ok": false, "discrepancy": d}));
            }
            Err(CliError::Audit(d))
        }
    }
}
