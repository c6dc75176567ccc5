//! The service's own tables, kept in the store's database file beside the registries and the
//! ledger (so that an issued credential and the service's copy of its opening commit in one
//! transaction). None of them is ever written to the ledger.
//!
//! - `svc_openings`: (registry, credential id) -> the opening (JSON), for its holder to fetch;
//! - `svc_holder_index`: (holder commitment, registry, credential id) -> ();
//! - `svc_requests`: request id -> the verifier's presentation request (JSON);
//! - `svc_nullifiers`: (scope, nullifier) -> the request id it answered;
//! - `svc_scopes`: scope -> the backend it belongs to (fixed by its first request: the backends'
//!   nullifiers differ, so one holder could otherwise present twice in a scope);
//! - `svc_archive`: sequence number -> an archived verification (JSON), with consent only;
//! - `svc_jobs`: job id -> a proving or checkpoint job's status (JSON; never the holder secret);
//! - `svc_replicas`: replica id -> its last heartbeat, unix seconds (replicas of the service on
//!   one PostgreSQL database tell a stopped replica's unfinished jobs by it);
//! - `svc_openid4vp`: request id -> what the wallet's OpenID4VP answer came to (JSON: verified
//!   with its verdict, refused, or declined; never the presentation unless archived).

use crate::ServiceError;
use dossier_core::credential::CredentialOpening;
use dossier_core::presentation::Backend;
use dossier_core::{field, Fr};
use dossier_store::kv::{Readable, Reading, TableDef, WriteTxn};
use dossier_store::{Store, StoreError};
use serde::{de::DeserializeOwned, Serialize};

/// Openings by (registry, credential id).
pub const OPENINGS: TableDef<(u32, u32), &str> = TableDef::new("svc_openings");
/// Which credentials each holder has.
pub const HOLDER_INDEX: TableDef<([u8; 32], u32, u32), ()> = TableDef::new("svc_holder_index");
/// Presentation requests by id.
pub const REQUESTS: TableDef<&str, &str> = TableDef::new("svc_requests");
/// Nullifiers used, by scope.
pub const NULLIFIERS: TableDef<(&str, [u8; 32]), &str> = TableDef::new("svc_nullifiers");
/// The backend of each scope.
pub const SCOPES: TableDef<&str, &str> = TableDef::new("svc_scopes");
/// Archived verifications.
pub const ARCHIVE: TableDef<u64, &str> = TableDef::new("svc_archive");
/// Jobs by id.
pub const JOBS: TableDef<&str, &str> = TableDef::new("svc_jobs");
/// Each replica's last heartbeat, unix seconds.
pub const REPLICAS: TableDef<&str, u64> = TableDef::new("svc_replicas");
/// OpenID4VP answers by request id.
pub const OPENID4VP: TableDef<&str, &str> = TableDef::new("svc_openid4vp");

/// JSON for a table value.
pub fn to_json<T: Serialize>(v: &T) -> Result<String, ServiceError> {
    serde_json::to_string(v).map_err(|e| ServiceError::Internal(format!("encoding a record: {e}")))
}

/// A table value from JSON.
pub fn from_json<T: DeserializeOwned>(s: &str) -> Result<T, ServiceError> {
    serde_json::from_str(s).map_err(|e| ServiceError::Internal(format!("a stored record: {e}")))
}

/// Creates the service's tables if absent.
pub fn ensure(store: &Store) -> Result<(), ServiceError> {
    let txn = store.raw().begin_write()?;
    txn.open_table(OPENINGS)?;
    txn.open_table(HOLDER_INDEX)?;
    txn.open_table(REQUESTS)?;
    txn.open_table(NULLIFIERS)?;
    txn.open_table(SCOPES)?;
    txn.open_table(ARCHIVE)?;
    txn.open_table(JOBS)?;
    txn.open_table(OPENID4VP)?;
    txn.open_table(REPLICAS)?;
    txn.commit()?;
    Ok(())
}

/// Refuses, inside an update's transaction, a new version of another schema than the live
/// credential's (an update replaces a status credential; it never changes what it is).
pub fn keep_schema(
    txn: &WriteTxn,
    registry: u32,
    credential_id: u32,
    schema: &str,
) -> Result<(), StoreError> {
    let t = txn.open_table(OPENINGS)?;
    let Some(old) = t.get((registry, credential_id))? else {
        return Ok(());
    };
    let same = serde_json::from_str::<CredentialOpening>(old.value())
        .map(|o| o.schema == schema)
        .unwrap_or(false);
    if same {
        Ok(())
    } else {
        Err(StoreError::Refused {
            reason: "claim.schema: an update keeps the credential's schema".into(),
        })
    }
}

/// Keeps openings inside the store's own write transaction (issue or update).
pub fn keep_openings(
    txn: &WriteTxn,
    registry: u32,
    openings: &[CredentialOpening],
) -> Result<(), StoreError> {
    let mut t = txn.open_table(OPENINGS)?;
    let mut index = txn.open_table(HOLDER_INDEX)?;
    for o in openings {
        if let Some(old) = t.get((registry, o.credential_id))? {
            // An update may move the credential to another holder commitment.
            if let Ok(prev) = serde_json::from_str::<CredentialOpening>(old.value()) {
                drop(old);
                index.remove((field::to_be_bytes(&prev.holder), registry, o.credential_id))?;
            }
        }
        let text = serde_json::to_string(o).map_err(|e| StoreError::Refused {
            reason: format!("encoding an opening: {e}"),
        })?;
        t.insert((registry, o.credential_id), text.as_str())?;
        index.insert(
            (field::to_be_bytes(&o.holder), registry, o.credential_id),
            (),
        )?;
    }
    Ok(())
}

/// Forgets a revoked credential's opening inside the store's revoke transaction.
pub fn forget_opening(txn: &WriteTxn, registry: u32, id: u32) -> Result<(), StoreError> {
    let mut t = txn.open_table(OPENINGS)?;
    let prev = t.remove((registry, id))?.map(|v| v.value().to_string());
    if let Some(prev) = prev {
        if let Ok(prev) = serde_json::from_str::<CredentialOpening>(&prev) {
            txn.open_table(HOLDER_INDEX)?.remove((
                field::to_be_bytes(&prev.holder),
                registry,
                id,
            ))?;
        }
    }
    Ok(())
}

/// Every live credential opening an issuer's registry holds (the current versions of the
/// credentials the service issued or updated), by credential id.
pub fn issuer_openings<D: Reading>(
    store: &Store<D>,
    registry: u32,
) -> Result<Vec<CredentialOpening>, ServiceError> {
    let txn = store.raw().begin_read()?;
    let openings = txn.open_table(OPENINGS)?;
    let mut out = Vec::new();
    for row in openings.range((registry, 0u32)..=(registry, u32::MAX))? {
        let (_, v) = row?;
        out.push(from_json(v.value())?);
    }
    Ok(out)
}

/// Every live credential opening of one holder.
pub fn openings_of<D: Reading>(
    store: &Store<D>,
    holder: &Fr,
) -> Result<Vec<CredentialOpening>, ServiceError> {
    let txn = store.raw().begin_read()?;
    let index = txn.open_table(HOLDER_INDEX)?;
    let openings = txn.open_table(OPENINGS)?;
    let h = field::to_be_bytes(holder);
    let mut out = Vec::new();
    for row in index.range((h, 0u32, 0u32)..=(h, u32::MAX, u32::MAX))? {
        let (k, _) = row?;
        let (_, registry, id) = k.value();
        if let Some(v) = openings.get((registry, id))? {
            out.push(from_json(v.value())?);
        }
    }
    Ok(out)
}

/// Reads a JSON record by string key.
pub fn get<T: DeserializeOwned>(
    store: &Store,
    table: TableDef<&'static str, &'static str>,
    key: &str,
) -> Result<Option<T>, ServiceError> {
    let txn = store.raw().begin_read()?;
    let t = txn.open_table(table)?;
    let v = t.get(key)?;
    v.map(|v| from_json(v.value())).transpose()
}

/// Writes a JSON record by string key, durably.
pub fn put<T: Serialize>(
    store: &Store,
    table: TableDef<&'static str, &'static str>,
    key: &str,
    value: &T,
) -> Result<(), ServiceError> {
    let text = to_json(value)?;
    let txn = store.raw().begin_write()?;
    txn.open_table(table)?.insert(key, text.as_str())?;
    txn.commit()?;
    Ok(())
}

/// Changes a JSON record by string key in one write transaction: `change` sees the record and
/// returns whether to keep its changes (false: nothing written). Returns whether it wrote.
pub fn update<T: Serialize + DeserializeOwned>(
    store: &Store,
    table: TableDef<&'static str, &'static str>,
    key: &str,
    change: impl FnOnce(&mut T) -> bool,
) -> Result<bool, ServiceError> {
    let txn = store.raw().begin_write()?;
    let written = {
        let mut t = txn.open_table(table)?;
        let current: Option<T> = t.get(key)?.map(|v| from_json(v.value())).transpose()?;
        match current {
            Some(mut record) => {
                let keep = change(&mut record);
                if keep {
                    let text = to_json(&record)?;
                    t.insert(key, text.as_str())?;
                }
                keep
            }
            None => false,
        }
    };
    txn.commit()?;
    Ok(written)
}

/// Every record of a table keyed by string.
pub fn all<T: DeserializeOwned>(
    store: &Store,
    table: TableDef<&'static str, &'static str>,
) -> Result<Vec<(String, T)>, ServiceError> {
    let txn = store.raw().begin_read()?;
    let t = txn.open_table(table)?;
    let mut out = Vec::new();
    for row in t.iter()? {
        let (k, v) = row?;
        out.push((k.value().to_string(), from_json(v.value())?));
    }
    Ok(out)
}

fn scope_conflict(used: &str) -> ServiceError {
    ServiceError::Conflict {
        code: "scope_backend",
        message: format!(
            "this scope is served by {used}: a request or presentation of another proof system would give a holder a second nullifier"
        ),
    }
}

/// Binds a scope to a backend, or refuses if the scope belongs to another, in `txn`.
fn bind_scope(txn: &WriteTxn, scope: &str, backend: Backend) -> Result<(), ServiceError> {
    let mut t = txn.open_table(SCOPES)?;
    let used = t.get(scope)?.map(|v| v.value().to_string());
    match used {
        Some(used) if used != backend.name() => Err(scope_conflict(&used)),
        Some(_) => Ok(()),
        None => {
            t.insert(scope, backend.name())?;
            Ok(())
        }
    }
}

/// Stores a new presentation request, binding its scope to its backend in the same
/// transaction (refused if the scope belongs to another backend).
pub fn put_request<T: Serialize>(
    store: &Store,
    id: &str,
    scope: &str,
    backend: Backend,
    request: &T,
) -> Result<(), ServiceError> {
    let txn = store.raw().begin_write()?;
    bind_scope(&txn, scope, backend)?;
    txn.open_table(REQUESTS)?
        .insert(id, to_json(request)?.as_str())?;
    txn.commit()?;
    Ok(())
}

/// A verification to record: its scope and backend, the nullifier (hex), the request it
/// answered and, with the verifier's consent, the archive record.
pub struct Verified<'a> {
    /// The request's scope.
    pub scope: &'a str,
    /// The presentation's backend.
    pub backend: Backend,
    /// The nullifier, hex.
    pub nullifier: &'a str,
    /// The request's id.
    pub request_id: &'a str,
    /// The archive record, with consent.
    pub archive: Option<&'a serde_json::Value>,
}

/// Records a nullifier for a scope and, with the verifier's consent, archives the verification,
/// in one transaction. Fails with a conflict if the nullifier was used in the scope before, or if
/// the scope belongs to another backend.
pub fn record_verification(store: &Store, v: &Verified<'_>) -> Result<Option<u64>, ServiceError> {
    let txn = store.raw().begin_write()?;
    let seq = record_in(&txn, v)?;
    txn.commit()?;
    Ok(seq)
}

/// [`record_verification`] of an OpenID4VP answer, with the answer's outcome in the same
/// transaction (so a verified answer is never recorded without its nullifier, nor the reverse).
pub fn record_openid4vp_verification(
    store: &Store,
    v: &Verified<'_>,
    outcome: &serde_json::Value,
) -> Result<Option<u64>, ServiceError> {
    let txn = store.raw().begin_write()?;
    refuse_if_verified(&txn, v.request_id)?;
    let seq = record_in(&txn, v)?;
    let mut outcome = outcome.clone();
    if let Some(seq) = seq {
        outcome["archived_as"] = serde_json::Value::from(seq);
    }
    txn.open_table(OPENID4VP)?
        .insert(v.request_id, to_json(&outcome)?.as_str())?;
    txn.commit()?;
    Ok(seq)
}

/// A verified answer closes an OpenID4VP transaction.
fn refuse_if_verified(txn: &WriteTxn, request_id: &str) -> Result<(), ServiceError> {
    let t = txn.open_table(OPENID4VP)?;
    let status = match t.get(request_id)? {
        Some(v) => from_json::<serde_json::Value>(v.value())?["status"].clone(),
        None => return Ok(()),
    };
    if status == "verified" {
        return Err(ServiceError::Conflict {
            code: "answered",
            message: "this request was already answered".into(),
        });
    }
    Ok(())
}

/// Notes an OpenID4VP answer that was refused or declined: it replaces an earlier such note,
/// never a verified answer.
pub fn note_openid4vp(
    store: &Store,
    request_id: &str,
    outcome: &serde_json::Value,
) -> Result<(), ServiceError> {
    let txn = store.raw().begin_write()?;
    refuse_if_verified(&txn, request_id)?;
    txn.open_table(OPENID4VP)?
        .insert(request_id, to_json(outcome)?.as_str())?;
    txn.commit()?;
    Ok(())
}

fn record_in(txn: &WriteTxn, v: &Verified<'_>) -> Result<Option<u64>, ServiceError> {
    // The nullifier's 32 bytes (a BN254 or a Pallas element, by the presentation's backend).
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(v.nullifier.trim_start_matches("0x"), &mut bytes)
        .map_err(|_| ServiceError::Internal("a verified nullifier is not 32 hex bytes".into()))?;
    bind_scope(txn, v.scope, v.backend)?;
    let mut n = txn.open_table(NULLIFIERS)?;
    let key = (v.scope, bytes);
    if n.get(key)?.is_some() {
        return Err(ServiceError::Conflict {
            code: "replayed",
            message: "this holder already presented a proof in this scope".into(),
        });
    }
    n.insert(key, v.request_id)?;
    match v.archive {
        Some(record) => {
            let mut a = txn.open_table(ARCHIVE)?;
            let seq = a.len()?;
            let mut record = record.clone();
            record["seq"] = serde_json::Value::from(seq);
            a.insert(seq, to_json(&record)?.as_str())?;
            Ok(Some(seq))
        }
        None => Ok(None),
    }
}

/// A page of the archive.
pub fn archive_page(
    store: &Store,
    start: u64,
    limit: u64,
) -> Result<Vec<serde_json::Value>, ServiceError> {
    let txn = store.raw().begin_read()?;
    let t = txn.open_table(ARCHIVE)?;
    let mut out = Vec::new();
    for row in t.range(start..start.saturating_add(limit))? {
        let (_, v) = row?;
        out.push(from_json(v.value())?);
    }
    Ok(out)
}

/// The service's tables, for a backup of the store to copy beside the store's own.
pub fn backup_tables() -> Vec<dossier_store::backup::TableCopy> {
    use dossier_store::table_copy;
    vec![
        table_copy!(OPENINGS),
        table_copy!(HOLDER_INDEX),
        table_copy!(REQUESTS),
        table_copy!(NULLIFIERS),
        table_copy!(SCOPES),
        table_copy!(ARCHIVE),
        table_copy!(JOBS),
        table_copy!(OPENID4VP),
        table_copy!(REPLICAS),
    ]
}
