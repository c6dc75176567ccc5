//! `dossier cosigner init|serve`: a transparency-log witness (c2sp.org/tlog-witness) that
//! another department runs beside the ledger: its own key (0600 in its home), the logs it
//! follows (origin and verifier key), its state (the latest checkpoint cosigned per log), and
//! the `add-checkpoint` endpoint. Named `cosigner` so as not to clash with `dossier witness`,
//! which fetches a credential's membership path.

use crate::error::{io, CliError};
use crate::Out;
use dossier_core::cosignature::Cosigner;
use dossier_core::keys::KeyPair;
use dossier_store::home::{create_private_dir, write_atomic, Home};
use serde_json::json;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

fn key_path(home: &Home) -> PathBuf {
    home.dir.join("cosigner.key")
}

/// Creates the witness's key (once) and prints its cosignature/v1 verifier key, which
/// verifiers put in their witness policies.
pub fn init(home: &Home, out: &Out, name: &str) -> Result<i32, CliError> {
    let path = key_path(home);
    if path.exists() {
        return Err(CliError::Input(format!(
            "{} exists already: one key per witness",
            path.display()
        )));
    }
    create_private_dir(&home.dir)?;
    let key = KeyPair::generate(name, &mut rand::rngs::OsRng)?;
    write_atomic(&path, key.expose_private().as_bytes(), 0o600, false)?;
    let vkey = Cosigner::new(key).witness_key().vkey();
    out.emit(
        format!("witness `{name}` ready; its verifier key (for witness policies):\n{vkey}"),
        json!({"name": name, "witness_key": vkey}),
    );
    Ok(0)
}

/// The witness's key, refused when others can read it.
pub(crate) fn read_key(home: &Home) -> Result<KeyPair, CliError> {
    use std::os::unix::fs::PermissionsExt;
    let path = key_path(home);
    let meta = std::fs::metadata(&path).map_err(io(&path))?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(CliError::Input(format!(
            "{} is readable by others: chmod 600 it",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    Ok(KeyPair::parse(&text)?)
}

/// Runs the witness until SIGINT/SIGTERM. `logs` are `<ledger verifier key>`s: each names its
/// origin.
pub fn serve(
    home: &Home,
    listen: SocketAddr,
    logs: &[String],
    addr_file: Option<PathBuf>,
) -> Result<i32, CliError> {
    if logs.is_empty() {
        return Err(CliError::Input(
            "give the ledgers to witness: --log <ledger verifier key> (from `dossier ledger info`)"
                .into(),
        ));
    }
    let mut known = BTreeMap::new();
    for vkey in logs {
        known.insert(
            dossier_core::keys::verifier_key_name(vkey)?,
            vkey.trim().to_string(),
        );
    }
    let cosigner = Cosigner::new(read_key(home)?);
    let state = home.dir.join("cosigner.redb");
    let witness = dossier_witness::Witness::open(&state, cosigner, known)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Input(format!("starting the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CliError::Input(format!("listening on {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CliError::Input(e.to_string()))?;
        eprintln!(
            "dossier cosigner `{}` listening on http://{addr}",
            witness.vkey()
        );
        if let Some(f) = addr_file {
            write_atomic(&f, addr.to_string().as_bytes(), 0o644, true)?;
        }
        let app = dossier_witness::router(Arc::new(witness));
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| CliError::Input(e.to_string()))
    })?;
    Ok(0)
}
