//! Presentations from the command line: the verifier's request, the holder's proof (made
//! locally: the witness never leaves this machine), and the verifier's check.

use crate::error::{io, CliError};
use crate::wallet::Wallet;
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::schema::SchemaSet;
use dossier_prover::{Provers, Statement};
use dossier_store::home::Home;
use std::path::Path;

/// Reads a JSON file into a type, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Writes a value as pretty JSON, atomically, readable by all (public material only: requests,
/// presentations, ballots, ratings, archives).
pub fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| CliError::Input(e.to_string()))?;
    dossier_store::home::write_atomic(path, text.as_bytes(), 0o644, true)?;
    Ok(())
}

/// Proves a request from a wallet against this home's store; returns the presentation and the
/// proof's own time in seconds (key loading or generation excluded).
pub fn prove(
    home: &Home,
    params: &Path,
    wallet_path: &Path,
    request: &PresentationRequest,
    schemas: &SchemaSet,
) -> Result<(Presentation, f64), CliError> {
    let wallet = Wallet::open(wallet_path)?;
    let shape = request.query.shape()?;
    let query = request.query.encode(schemas, shape)?;
    let today = request.today_days()?;
    let store = home.reader()?;
    let (offered, note) = dossier_store::holder::select(
        &wallet.credentials,
        &store,
        schemas,
        &query,
        today,
        request.backend,
    )?;
    drop(store);
    let provers = Provers::new(params);
    provers.prepare(request.backend, shape)?;
    let started = std::time::Instant::now();
    let presentation = provers.prove(&Statement {
        request,
        query: &query,
        secret: wallet.secret(),
        offered: &offered,
        checkpoint: &note,
    })?;
    Ok((presentation, started.elapsed().as_secs_f64()))
}
