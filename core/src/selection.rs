//! Which of a holder's credentials answer a query: the one selection used by the CLI and the
//! service (through `dossier_store::holder`, with paths from the store) and by the browser's
//! wallet (with paths it fetched from the service for all its credentials at once).

use crate::checkpoint;
use crate::credential::{Credential, CredentialOpening, MembershipPath, Offered};
use crate::presentation::Backend;
use crate::query::EncodedQuery;
use crate::schema::SchemaSet;
use crate::{CoreError, Fr};

/// Picks, for each credential `query` asks for, a distinct one among `openings` that is live in
/// its issuer's registry (its path from `path_of` leads to its commitment), anchored by `cp`
/// (both trees' roots), unexpired on `today` and satisfying the query's conditions — for the
/// `halo2` backend, also one issued with the holder's halo2 commitment; returns them in the
/// query's order. A query slot nothing answers is `refused(reason)`: the reason names the slot
/// and why, never a credential's values. `path_of` is asked only for candidates that passed
/// every other test.
#[allow(clippy::too_many_arguments)]
pub fn select_at<E: From<CoreError>>(
    openings: &[CredentialOpening],
    cp: &checkpoint::CheckpointBody,
    schemas: &SchemaSet,
    query: &EncodedQuery,
    today: u32,
    backend: Backend,
    path_of: impl Fn(&CredentialOpening) -> Result<MembershipPath, E>,
    refused: impl Fn(String) -> E,
) -> Result<Vec<Offered>, E> {
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
