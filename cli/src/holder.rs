//! `dossier holder init|show|import`: a civil servant's wallet from the command line — its
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
    }
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
    let list: Vec<_> = w.credentials.iter().map(|c| json!({"issuer": c.issuer, "schema": c.schema, "credential_id": c.credential_id, "issued_at": c.issued_at, "expires_at": c.expires_at})).collect();
    out.emit(
            format!(
                "holder commitment: {}\nholder commitment (halo2): {}\n{} credentials:\n{}",
                field::to_hex(&w.holder()),
                pasta::to_hex(&w.secret().commitment_halo2()),
                w.credentials.len(),
                w.credentials
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
