//! The holder's side of a presentation: which of the credentials a holder keeps can answer a
//! query now — live in their issuer's registry, anchored by the latest checkpoint, unexpired and
//! satisfying the query's conditions — with the membership paths a proof needs. Shared by the
//! CLI (which proves locally) and the service (which proves for holders who ask it to).

use crate::kv::Reading;
use crate::registry::MembershipPath;
use crate::{Store, StoreError};
use dossier_core::checkpoint;
use dossier_core::credential::{CredentialOpening, Offered};
use dossier_core::presentation::Backend;
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;

/// Picks, for each credential the query asks for, a distinct credential among `openings` that is
/// live in its issuer's registry, anchored by the latest checkpoint and satisfies the query's
/// conditions — for the `halo2` backend, also one issued with the holder's halo2 commitment;
/// returns them in the query's order with the checkpoint's signed note. Errors say which of the
/// query's credentials could not be found and why, never a credential's values.
pub fn select<D: Reading>(
    openings: &[CredentialOpening],
    store: &Store<D>,
    schemas: &SchemaSet,
    query: &EncodedQuery,
    today: u32,
    backend: Backend,
) -> Result<(Vec<Offered>, String), StoreError> {
    let refused = |reason: String| StoreError::Refused { reason };
    let (note, key) = match (store.latest_checkpoint()?, store.ledger_identity()?) {
        (Some(n), Some((_, k))) => (n, k),
        _ => {
            return Err(refused(
                "no checkpoint yet: the issuer's ledger must publish one first".into(),
            ))
        }
    };
    let cp = checkpoint::open(note.as_bytes(), &key)?;
    let chosen = select_at(openings, &cp, schemas, query, today, backend, |o| {
        store.witness(&o.issuer, o.credential_id)
    })?;
    Ok((chosen, note))
}

/// [`select`] against a given checkpoint, with membership paths from `path_of` (the store's
/// current registry, or a ballot's roll replayed from the ledger): the one selection of
/// `dossier_core::selection`, shared with the browser's wallet.
pub fn select_at(
    openings: &[CredentialOpening],
    cp: &checkpoint::CheckpointBody,
    schemas: &SchemaSet,
    query: &EncodedQuery,
    today: u32,
    backend: Backend,
    path_of: impl Fn(&CredentialOpening) -> Result<MembershipPath, StoreError>,
) -> Result<Vec<Offered>, StoreError> {
    dossier_core::selection::select_at(
        openings,
        cp,
        schemas,
        query,
        today,
        backend,
        path_of,
        |reason| StoreError::Refused { reason },
    )
}
