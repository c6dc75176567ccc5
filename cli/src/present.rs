//! Presentations from the command line: the verifier's request, the holder's proof (made
//! locally: the witness never leaves this machine), and the verifier's check.

use crate::error::{io, CliError};
use crate::home::Home;
use crate::wallet::Wallet;
use dossier_circuits::statement::{Offered, StatementWitness};
use dossier_core::checkpoint;
use dossier_core::credential::Credential;
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;
use dossier_store::StoreReader;
use std::path::Path;

/// Reads a JSON file into a type, naming the file in errors.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Picks, for each credential the query asks for, a distinct wallet credential that is live in
/// its issuer's registry, anchored by the latest checkpoint and satisfies the slot natively.
pub fn select(
    wallet: &Wallet,
    store: &StoreReader,
    schemas: &SchemaSet,
    query: &EncodedQuery,
    today: u32,
) -> Result<(Vec<Offered>, String), CliError> {
    let (note, key) = match (store.latest_checkpoint()?, store.ledger_identity()?) {
        (Some(n), Some((_, k))) => (n, k),
        _ => {
            return Err(CliError::Input(
                "no checkpoint yet: the issuer's ledger must publish one first".into(),
            ))
        }
    };
    let cp = checkpoint::open(note.as_bytes(), &key)?;
    let mut used: Vec<dossier_core::Fr> = Vec::new();
    let mut offered = Vec::new();
    for (m, slot) in query
        .credentials
        .iter()
        .enumerate()
        .filter(|(_, c)| c.active)
    {
        let mut found = None;
        let mut reason = format!(
            "no `{}` credential in the wallet from an accepted issuer",
            slot.schema
        );
        for opening in wallet
            .credentials
            .iter()
            .filter(|o| o.schema == slot.schema && slot.issuers.contains(&o.issuer))
        {
            let credential: Credential = opening.credential(schemas)?;
            if used.contains(&opening.commitment) {
                continue;
            }
            if credential.expires_at <= today {
                reason = "the matching credentials have expired".into();
                continue;
            }
            if !slot
                .predicates
                .iter()
                .all(|p| p.holds(credential.slots[p.slot]))
            {
                reason = format!(
                    "no `{}` credential satisfies the query's conditions",
                    slot.schema
                );
                continue;
            }
            let path = store.witness(&opening.issuer, opening.credential_id)?;
            if path.leaf != opening.commitment {
                reason = "the matching credential was revoked or replaced".into();
                continue;
            }
            let anchored = cp
                .registry(&opening.issuer_id)
                .is_some_and(|r| r.root == path.root);
            if !anchored {
                reason = format!("`{}`'s registry changed since the latest checkpoint: publish a checkpoint first", opening.issuer);
                continue;
            }
            found = Some(Offered {
                credential,
                siblings: path.siblings,
                root: path.root,
            });
            used.push(opening.commitment);
            break;
        }
        offered
            .push(found.ok_or_else(|| {
                CliError::Input(format!("credential {m} of the query: {reason}"))
            })?);
    }
    Ok((offered, note))
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
    let (offered, note) = select(&wallet, &store, schemas, &query, today)?;
    drop(store);
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
