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

/// A presentation file: dossier's format, or a Verifiable Presentation that carries one.
pub fn read_presentation(
    path: &Path,
) -> Result<dossier_core::presentation::Presentation, CliError> {
    let v: serde_json::Value = read_json(path)?;
    if v.get("@context").is_some() {
        return Ok(dossier_core::envelope::presentation_from_vp(&v)?);
    }
    serde_json::from_value(v).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Writes a value as pretty JSON, atomically, readable by all (public material only: requests,
/// presentations, ballots, ratings, archives).
pub fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| CliError::Input(e.to_string()))?;
    dossier_store::home::write_atomic(path, text.as_bytes(), 0o644, true)?;
    Ok(())
}

/// Where a proof's time went, in milliseconds: the wallet read (and its secret decrypted), the
/// credentials selected with their paths from the store, the keys loaded (and their pinned
/// hashes checked) or generated, and the proof itself.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct Timings {
    /// Reading the wallet.
    pub wallet_ms: f64,
    /// Selecting the credentials and reading their membership paths.
    pub select_ms: f64,
    /// Loading (and checking) or generating the keys.
    pub keys_ms: f64,
    /// The proof.
    pub prove_ms: f64,
    /// The backend of a Groth16 proof's G1 MSMs (`halo2curves-asm` or `arkworks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub g1_msm: Option<&'static str>,
}

fn ms_since(t: std::time::Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

/// Proves a request from a wallet against this home's store; returns the presentation and where
/// the time went. With `witness_out` (Groth16 only), the proof's full assignment is also written
/// there as circom's `.wtns`, readable by its owner only: it holds the secret and credentials.
pub fn prove(
    home: &Home,
    params: &Path,
    wallet_path: &Path,
    request: &PresentationRequest,
    schemas: &SchemaSet,
    witness_out: Option<&Path>,
) -> Result<(Presentation, Timings), CliError> {
    if witness_out.is_some() && request.backend != dossier_core::presentation::Backend::Groth16 {
        return Err(CliError::Input(
            "--witness-out: a circom witness is written for Groth16 requests only".into(),
        ));
    }
    let mut timings = Timings::default();
    let t = std::time::Instant::now();
    let wallet = Wallet::open(wallet_path)?;
    timings.wallet_ms = ms_since(t);
    let t = std::time::Instant::now();
    let shape = request.query.shape()?;
    let query = request.query.encode(schemas, shape)?;
    let today = request.today_days()?;
    let store = home.reader()?;
    let (offered, note) = dossier_store::holder::select(
        wallet.credentials(),
        &store,
        schemas,
        &query,
        today,
        request.backend,
    )?;
    drop(store);
    timings.select_ms = ms_since(t);
    let t = std::time::Instant::now();
    let provers = Provers::new(params);
    provers.prepare(request.backend, shape)?;
    timings.keys_ms = ms_since(t);
    if request.backend == dossier_core::presentation::Backend::Groth16 {
        timings.g1_msm = Some(provers.groth16(shape)?.msm_backend().name());
    }
    let statement = Statement {
        request,
        query: &query,
        secret: wallet.secret(),
        offered: &offered,
        checkpoint: &note,
    };
    if let Some(path) = witness_out {
        let prover = provers.groth16(shape)?;
        let full = statement.groth16_assignment(&prover)?;
        let wtns = dossier_ceremony::zkey::circom_wtns(&full);
        dossier_store::home::write_atomic(path, &wtns, 0o600, true)?;
    }
    let t = std::time::Instant::now();
    let presentation = provers.prove(&statement)?;
    timings.prove_ms = ms_since(t);
    Ok((presentation, timings))
}
