//! Presentations from the command line: the verifier's request, the holder's proof (made
//! locally: the witness never leaves this machine), and the verifier's check.

use crate::error::{io, CliError};
use crate::wallet::Wallet;
use dossier_circuits::statement::StatementWitness;
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::schema::SchemaSet;
use dossier_store::home::Home;
use std::path::Path;

/// Reads a JSON file into a type, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Proves a request from a wallet against this home's store; returns the presentation.
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
        &request.backend,
    )?;
    drop(store);
    if request.backend == "halo2" {
        // Keys come from the circuit (no setup), once per process: not part of the proof's time.
        dossier_halo2::proof::Keys::shared(shape).map_err(|e| CliError::Input(e.to_string()))?;
        let started = std::time::Instant::now();
        let presentation =
            dossier_prover::prove_halo2(request, &query, wallet.secret(), &offered, &note)
                .map_err(|e| CliError::Input(e.to_string()))?;
        return Ok((presentation, started.elapsed().as_secs_f64()));
    }
    let started = std::time::Instant::now();
    let witness = StatementWitness::build(
        &query,
        wallet.secret(),
        &offered,
        request.challenge,
        request.scope_field()?,
        today,
    )
    .map_err(|e| CliError::Input(e.to_string()))?;
    let prover = dossier_prover::ShapeProver::load(params, shape)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let presentation = prover
        .prove(request, witness, &note)
        .map_err(|e| CliError::Input(e.to_string()))?;
    Ok((presentation, started.elapsed().as_secs_f64()))
}
