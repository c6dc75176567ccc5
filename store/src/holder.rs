//! The holder's side of a presentation: which of the credentials a holder keeps can answer a
//! query now — live in their issuer's registry, anchored by the latest checkpoint, unexpired and
//! satisfying the query's conditions — with the membership paths a proof needs. Shared by the
//! CLI (which proves locally) and the service (which proves for holders who ask it to).

use crate::kv::Reading;
use crate::registry::MembershipPath;
use crate::{Store, StoreError};
use dossier_core::checkpoint;
use dossier_core::credential::{Credential, CredentialOpening, Offered};
use dossier_core::presentation::Backend;
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;
use dossier_core::Fr;

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
/// current registry, or a ballot's roll replayed from the ledger).
pub fn select_at(
    openings: &[CredentialOpening],
    cp: &checkpoint::CheckpointBody,
    schemas: &SchemaSet,
    query: &EncodedQuery,
    today: u32,
    backend: Backend,
    path_of: impl Fn(&CredentialOpening) -> Result<MembershipPath, StoreError>,
) -> Result<Vec<Offered>, StoreError> {
    let refused = |reason: String| StoreError::Refused { reason };
    let mut used: Vec<Fr> = Vec::new();
    let mut chosen = Vec::new();
    for (m, slot) in query
        .credentials
        .iter()
        .enumerate()
        .filter(|(_, c)| c.active)
    {
        let mut found = None;
        let mut reason = format!("no `{}` credential from an accepted issuer", slot.schema);
        for opening in openings
            .iter()
            .filter(|o| o.schema == slot.schema && slot.issuers.contains(&o.issuer))
        {
            let credential: Credential = opening.credential(schemas)?;
            if used.contains(&opening.commitment) {
                continue;
            }
            if backend == Backend::Halo2 && opening.holder_halo2.is_none() {
                reason = format!(
                    "the matching `{}` credentials were issued without the holder's halo2 commitment: ask the issuer to re-issue with `holder_halo2`",
                    slot.schema
                );
                continue;
            }
            if credential.expires_at <= today {
                reason = "the matching credentials have expired".into();
                continue;
            }
            if credential.issued_at > today {
                reason = "the matching credentials were issued after the request's day".into();
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
            let path = path_of(opening)?;
            if path.leaf != opening.commitment {
                reason = "the matching credential was revoked or replaced".into();
                continue;
            }
            // Both trees' roots must be the checkpoint's (the halo2 twin's path is offered too).
            let anchored = cp.registry(&opening.issuer_id).is_some_and(|r| {
                r.root == path.root && path.halo2.as_ref().is_some_and(|h| h.root == r.root_halo2)
            });
            if !anchored {
                reason = format!(
                    "`{}`'s registry changed since the checkpoint: publish a checkpoint first",
                    opening.issuer
                );
                continue;
            }
            found = Some(Offered {
                credential,
                siblings: path.siblings,
                root: path.root,
                halo2: path.halo2,
            });
            used.push(opening.commitment);
            break;
        }
        chosen
            .push(found.ok_or_else(|| refused(format!("credential {m} of the query: {reason}")))?);
    }
    Ok(chosen)
}
