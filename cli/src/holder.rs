//! `dossier holder init|show|import|rotate`: a civil servant's wallet from the command line — its
//! secret (created once, 0600), its credentials, and importing openings issuers hand over.

use crate::error::{io, CliError};
use crate::wallet::Wallet;
use crate::{wallet_path, HolderCmd, Out};
use dossier_core::credential::CredentialOpening;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta};
use dossier_store::home::Home;
use serde_json::json;
use std::path::PathBuf;

/// `dossier holder init|show|import`.
pub fn holder(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    cmd: HolderCmd,
) -> Result<i32, CliError> {
    match cmd {
        HolderCmd::Init { wallet } => init(home, out, &wallet),
        HolderCmd::Show { wallet } => show(home, out, &wallet),
        HolderCmd::Import { files, wallet } => import(home, out, schemas, &files, &wallet),
        HolderCmd::Backup {
            wallet,
            out: path,
            qr,
            passphrase_file,
        } => backup(
            home,
            out,
            &wallet,
            &path,
            qr.as_deref(),
            passphrase_file.as_deref(),
        ),
        HolderCmd::Restore {
            backup,
            wallet,
            force,
            passphrase_file,
        } => restore(
            home,
            out,
            &backup,
            &wallet,
            force,
            passphrase_file.as_deref(),
        ),
        HolderCmd::Rotate {
            issuer,
            openings,
            from,
            to,
            to_halo2,
            out: path,
        } => {
            let rotation = Rotation {
                from: field::parse("--from", &from)?,
                to: field::parse("--to", &to)?,
                to_halo2: to_halo2
                    .map(|h| pasta::parse("--to-halo2", &h))
                    .transpose()?,
            };
            rotate(home, out, schemas, &issuer, &openings, rotation, path)
        }
    }
}

/// `dossier holder backup`: the sealed wallet (0600), and the sealed secret as a QR code.
fn backup(
    home: &Home,
    out: &Out,
    wallet: &Option<PathBuf>,
    path: &std::path::Path,
    qr: Option<&std::path::Path>,
    passphrase_file: Option<&std::path::Path>,
) -> Result<i32, CliError> {
    use crate::wallet_backup::{qr_svg, seal, Contents};
    let w = Wallet::open(&wallet_path(home, wallet))?;
    let passphrase = crate::wallet_backup::passphrase(passphrase_file, true)?;
    let sealed = seal(w.text(true)?.as_bytes(), Contents::Wallet, &passphrase)?;
    let text = serde_json::to_string_pretty(&sealed)
        .map_err(|_| CliError::Input("the backup cannot be written".into()))?;
    dossier_store::home::write_atomic(path, text.as_bytes(), 0o600, true)?;
    if let Some(qr) = qr {
        let secret = seal(w.text(false)?.as_bytes(), Contents::Secret, &passphrase)?;
        dossier_store::home::write_atomic(qr, qr_svg(&secret)?.as_bytes(), 0o600, true)?;
    }
    out.emit(
        format!(
            "wallet sealed in {} ({} credentials){}; keep the passphrase apart from it",
            path.display(),
            w.credentials().len(),
            qr.map(|q| format!(", its secret as a QR code in {}", q.display()))
                .unwrap_or_default()
        ),
        json!({"backup": path, "credentials": w.credentials().len(), "qr": qr}),
    );
    Ok(0)
}

/// `dossier holder restore`: a wallet from its sealed backup (or its QR code's text).
fn restore(
    home: &Home,
    out: &Out,
    backup: &std::path::Path,
    wallet: &Option<PathBuf>,
    force: bool,
    passphrase_file: Option<&std::path::Path>,
) -> Result<i32, CliError> {
    let sealed: crate::wallet_backup::Sealed =
        serde_json::from_str(&std::fs::read_to_string(backup).map_err(io(backup))?)
            .map_err(|_| CliError::Input(format!("{}: not a wallet backup", backup.display())))?;
    let path = wallet_path(home, wallet);
    if path.exists() && !force {
        return Err(CliError::Input(format!(
            "{} already exists; restoring over a wallet needs --force (its secret would be lost)",
            path.display()
        )));
    }
    let passphrase = crate::wallet_backup::passphrase(passphrase_file, false)?;
    let plain = crate::wallet_backup::open(&sealed, &passphrase)?;
    let text = std::str::from_utf8(&plain)
        .map_err(|_| CliError::Input("the backup holds no wallet".into()))?;
    let w = Wallet::restore(&path, text, force)?;
    out.emit(
        format!(
            "wallet restored to {} (mode 0600): holder {}, {} credentials",
            path.display(),
            field::to_hex(&w.holder()),
            w.credentials().len()
        ),
        json!({"wallet": path, "holder": field::to_hex(&w.holder()), "credentials": w.credentials().len()}),
    );
    Ok(0)
}

/// A holder's move from one commitment to another.
struct Rotation {
    from: dossier_core::Fr,
    to: dossier_core::Fr,
    to_halo2: Option<pasta::Fp>,
}

/// `dossier holder rotate`: the issuer's live credentials of `from`, found in its records at
/// their current versions, re-bound to `to` in one transaction.
fn rotate(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    issuer: &str,
    records: &[PathBuf],
    rotation: Rotation,
    path: PathBuf,
) -> Result<i32, CliError> {
    if rotation.from == rotation.to {
        return Err(CliError::Input(
            "--from and --to are the same holder".into(),
        ));
    }
    let key = home.issuer_key(issuer, None)?;
    let (current, skipped) = current_versions(home, issuer, records, &rotation)?;
    if current.is_empty() {
        return Err(CliError::Input(format!(
            "no live credential of `{issuer}` bound to --from is in the records given"
        )));
    }
    let replacements = current
        .iter()
        .map(|o| dossier_store::Replacement::rebinding(o, schemas, rotation.to, rotation.to_halo2))
        .collect::<Result<Vec<_>, _>>()?;
    let store = home.store()?;
    let mut sink = crate::Sink::open(&Some(path.clone()))?;
    let mut written = Vec::new();
    store.update_many_with(
        &key,
        &replacements,
        dossier_core::clock::now(),
        |_, credentials| {
            let openings: Vec<CredentialOpening> = replacements
                .iter()
                .zip(credentials)
                .map(|(r, c)| CredentialOpening::new(&r.claim, issuer, c))
                .collect();
            // Durable for the holder before the old versions are gone.
            sink.write(&openings)
                .map_err(|e| dossier_store::StoreError::Refused {
                    reason: format!("writing the new openings: {e}"),
                })?;
            written = openings;
            Ok(())
        },
    )?;
    let ids: Vec<u32> = written.iter().map(|o| o.credential_id).collect();
    out.emit(
        format!(
            "re-bound {} credentials of `{issuer}` to the new holder ({} skipped); openings appended to {}; publish a checkpoint so that the old versions stop proving",
            ids.len(),
            skipped.len(),
            path.display()
        ),
        json!({"issuer": issuer, "rotated": ids, "skipped": skipped, "openings": path}),
    );
    Ok(0)
}

/// The openings in `records` of `issuer`'s credentials bound to `rotation.from` that are the
/// current versions in its registry; the others are reported (revoked, or changed since).
fn current_versions(
    home: &Home,
    issuer: &str,
    records: &[PathBuf],
    rotation: &Rotation,
) -> Result<(Vec<CredentialOpening>, Vec<serde_json::Value>), CliError> {
    let reader = home.reader()?;
    let mut by_id: std::collections::BTreeMap<u32, Vec<CredentialOpening>> = Default::default();
    for f in records {
        for o in read_openings(f)? {
            if o.issuer == issuer && o.holder == rotation.from {
                by_id.entry(o.credential_id).or_default().push(o);
            }
        }
    }
    let (mut current, mut skipped) = (Vec::new(), Vec::new());
    for (id, versions) in by_id {
        let leaf = reader.witness(issuer, id)?.leaf;
        match versions.into_iter().find(|o| o.commitment == leaf) {
            Some(o) => current.push(o),
            None => skipped.push(
                json!({"credential_id": id, "reason": if leaf == dossier_core::Fr::from(0u64) {
                    "revoked"
                } else {
                    "its current version is not in the records (updated, or rotated already)"
                }}),
            ),
        }
    }
    Ok((current, skipped))
}

/// Creates a wallet with a fresh secret and prints its holder commitments.
fn init(home: &Home, out: &Out, wallet: &Option<PathBuf>) -> Result<i32, CliError> {
    let path = wallet_path(home, wallet);
    let w = Wallet::create(&path)?;
    out.emit(
            format!(
                "wallet created at {} (mode 0600)\nholder commitment: {}\nholder commitment (halo2): {}",
                path.display(),
                field::to_hex(&w.holder()),
                pasta::to_hex(&w.secret().commitment_halo2())
            ),
            json!({"wallet": path, "holder": field::to_hex(&w.holder()),
                "holder_halo2": pasta::to_hex(&w.secret().commitment_halo2())}),
        );
    Ok(0)
}

/// The wallet's commitments and credentials (no secret, no values).
fn show(home: &Home, out: &Out, wallet: &Option<PathBuf>) -> Result<i32, CliError> {
    let w = Wallet::open(&wallet_path(home, wallet))?;
    let list: Vec<_> = w.credentials().iter().map(|c| json!({"issuer": c.issuer, "schema": c.schema, "credential_id": c.credential_id, "issued_at": c.issued_at, "expires_at": c.expires_at})).collect();
    out.emit(
            format!(
                "holder commitment: {}\nholder commitment (halo2): {}\n{} credentials:\n{}",
                field::to_hex(&w.holder()),
                pasta::to_hex(&w.secret().commitment_halo2()),
                w.credentials().len(),
                w.credentials()
                    .iter()
                    .map(|c| format!(
                        "  {} #{} ({}), issued {}",
                        c.issuer, c.credential_id, c.schema, c.issued_at
                    ))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
            json!({"holder": field::to_hex(&w.holder()),
                "holder_halo2": pasta::to_hex(&w.secret().commitment_halo2()), "credentials": list}),
        );
    Ok(0)
}

/// Imports this holder's openings from JSON arrays or JSON Lines files (a batch file holds
/// other holders' credentials too: those are skipped).
fn import(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    files: &[PathBuf],
    wallet: &Option<PathBuf>,
) -> Result<i32, CliError> {
    let path = wallet_path(home, wallet);
    let mut w = Wallet::open(&path)?;
    let mut added = 0;
    for f in files {
        let openings = read_openings(f)?;
        for o in openings {
            if o.holder != w.holder() {
                continue; // a batch file holds other holders' credentials too
            }
            if w.import(o, schemas)? {
                added += 1;
            }
        }
    }
    w.save()?;
    out.emit(
        format!("imported {added} credentials"),
        json!({"imported": added}),
    );
    Ok(0)
}

/// An openings file as `dossier issue --out` writes it (a JSON array or JSON Lines), or
/// Verifiable Credentials from `dossier export vc` (one, or an array), each checked against its
/// issuer's signature.
pub fn read_openings(f: &std::path::Path) -> Result<Vec<CredentialOpening>, CliError> {
    let text = std::fs::read_to_string(f).map_err(io(f))?;
    if let Some(vcs) = verifiable_credentials(&text) {
        return vcs
            .iter()
            .map(|vc| Ok(dossier_core::envelope::credential_from_vc(vc)?.opening))
            .collect();
    }
    if text.trim_start().starts_with('[') {
        serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", f.display())))
    } else {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .map_err(|e| CliError::Input(format!("{}: {e}", f.display())))
            })
            .collect()
    }
}

/// The Verifiable Credentials in a file, if it holds them (JSON-LD documents have `@context`).
fn verifiable_credentials(text: &str) -> Option<Vec<serde_json::Value>> {
    match serde_json::from_str::<serde_json::Value>(text).ok()? {
        serde_json::Value::Array(items)
            if items.iter().all(|v| v.get("@context").is_some()) && !items.is_empty() =>
        {
            Some(items)
        }
        v if v.get("@context").is_some() => Some(vec![v]),
        _ => None,
    }
}
