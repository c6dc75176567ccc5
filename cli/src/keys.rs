//! Key rotation and revocation from the command line: `dossier issuer rotate-key`, `dossier
//! ledger rotate-key|revocation-request|revoke-key` and `dossier cosigner approve`.
//!
//! A rotation is routine: the key in force signs a `KeyRotated` entry naming the next key. A
//! revocation is for a compromised key: the ledger operator writes a request (the subject, the
//! key in force, the first entry no longer trusted, the replacement), each witness operator
//! checks it out of band and signs it with its cosigning key, and the ledger records the
//! revocation with the approvals; auditors check them against their witness policy. The next
//! key waits beside the key in force (`<key>.next`, 0600) until the store has committed, so a
//! crash loses no key, and re-running a command finishes an interrupted one.

use crate::error::{io, CliError};
use crate::Out;
use dossier_core::clock::now;
use dossier_core::cosignature::{Cosigner, WitnessKey};
use dossier_core::entry::{revocation_statement, Approval, KeySubject};
use dossier_core::issuer_id;
use dossier_core::keys::{public_from_verifier_key, KeyPair};
use dossier_store::home::{write_atomic, Home, KeyFile};
use dossier_store::Store;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::Path;

const REQUEST_FORMAT: &str = "dossier-key-revocation-request/v1";
const APPROVAL_FORMAT: &str = "dossier-key-revocation-approval/v1";
/// The largest request or approval file read.
const MAX_FILE: u64 = 64 * 1024;

/// A revocation the ledger operator asks the witnesses to approve.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevocationRequest {
    format: String,
    /// `ledger`, or the issuer's name.
    subject: String,
    /// The key in force (hex), to be revoked.
    revoked_key: String,
    /// The first entry no longer trusted under it.
    from_entry: u64,
    /// The replacement (hex).
    new_key: String,
    /// The statement witnesses sign (hex), for reference: it is recomputed from the fields.
    statement: String,
}

/// A witness's approval of a request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalFile {
    format: String,
    /// The witness's verifier key.
    witness: String,
    /// Its signature over the statement (hex).
    signature: String,
}

fn unhex<const N: usize>(what: &str, h: &str) -> Result<[u8; N], CliError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(h, &mut out)
        .map_err(|_| CliError::Input(format!("{what}: expected {N} bytes of hex")))?;
    Ok(out)
}

fn read_small(path: &Path) -> Result<String, CliError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.len() > MAX_FILE {
        return Err(CliError::Input(format!(
            "{}: larger than {MAX_FILE} bytes",
            path.display()
        )));
    }
    std::fs::read_to_string(path).map_err(io(path))
}

fn subject_of(name: &str) -> Result<KeySubject, CliError> {
    Ok(match name {
        "ledger" => KeySubject::Ledger,
        issuer => KeySubject::Issuer(issuer_id(issuer)?),
    })
}

impl RevocationRequest {
    fn read(path: &Path) -> Result<RevocationRequest, CliError> {
        let r: RevocationRequest = serde_json::from_str(&read_small(path)?)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        if r.format != REQUEST_FORMAT {
            return Err(CliError::Input(format!(
                "{}: not a {REQUEST_FORMAT} file",
                path.display()
            )));
        }
        Ok(r)
    }

    /// The statement, recomputed from the fields (never taken from the file).
    fn statement(&self) -> Result<Vec<u8>, CliError> {
        Ok(revocation_statement(
            &subject_of(&self.subject)?,
            &unhex::<32>("revoked_key", &self.revoked_key)?,
            self.from_entry,
            &unhex::<32>("new_key", &self.new_key)?,
        ))
    }
}

/// The key in force of a subject, as the store has it.
fn key_in_force<D: dossier_store::Reading>(
    store: &Store<D>,
    subject: &str,
) -> Result<[u8; 32], CliError> {
    if subject == "ledger" {
        let (_, vkey) = store
            .ledger_identity()?
            .ok_or_else(|| CliError::Input("the ledger has no key yet".into()))?;
        Ok(public_from_verifier_key(&vkey)?.to_bytes())
    } else {
        Ok(store.issuer(subject)?.public_key)
    }
}

fn ledger_origin<D: dossier_store::Reading>(store: &Store<D>) -> Result<String, CliError> {
    Ok(store
        .ledger_identity()?
        .ok_or_else(|| CliError::Input("the ledger has no key yet".into()))?
        .0)
}

/// `dossier issuer rotate-key NAME`.
pub fn rotate_issuer(home: &Home, out: &Out, name: &str) -> Result<i32, CliError> {
    home.reader()?.issuer(name)?;
    let store = home.store()?;
    let next = home.next_key(KeyFile::Issuer(name), name)?;
    let index = if store.issuer(name)?.public_key == next.public().to_bytes() {
        None // an interrupted rotation: the store has it, the key file does not yet
    } else {
        let old = home.issuer_key(name, None)?;
        Some(store.rotate_issuer_key(&old, &next, now())?)
    };
    home.promote_next_key(KeyFile::Issuer(name))?;
    emit_rotation(out, name, index, &next.verifier_key());
    Ok(0)
}

/// `dossier ledger rotate-key`.
pub fn rotate_ledger(home: &Home, out: &Out) -> Result<i32, CliError> {
    let store = home.store()?;
    let origin = ledger_origin(&store)?;
    let next = home.next_key(KeyFile::Ledger, &origin)?;
    let index = if key_in_force(&store, "ledger")? == next.public().to_bytes() {
        None
    } else {
        let old = home.ledger_key(&store, None)?;
        Some(store.rotate_ledger_key(&old, &next, now())?)
    };
    home.promote_next_key(KeyFile::Ledger)?;
    emit_rotation(out, "ledger", index, &next.verifier_key());
    Ok(0)
}

fn emit_rotation(out: &Out, subject: &str, index: Option<u64>, vkey: &str) {
    let what = match index {
        Some(i) => format!("rotated by entry {i}"),
        None => "rotation finished (the store had recorded it)".into(),
    };
    out.emit(
        format!("{subject}: key {what}; the key in force is now\n  {vkey}\nthe next checkpoint anchors it; verifiers pinning the old key follow the rotation entry"),
        json!({"subject": subject, "entry": index, "verifier_key": vkey}),
    );
}

/// `dossier ledger revocation-request`: the replacement key (kept as `<key>.next`) and the
/// request witnesses approve.
pub fn request(
    home: &Home,
    out: &Out,
    issuer: Option<&str>,
    from_entry: u64,
    path: &Path,
) -> Result<i32, CliError> {
    let store = home.reader()?;
    let subject = issuer.unwrap_or("ledger");
    let size = store.ledger_size()?;
    if from_entry > size {
        return Err(CliError::Input(format!(
            "--from {from_entry} is past the log's end ({size} entries)"
        )));
    }
    let revoked = key_in_force(&store, subject)?;
    let (which, name) = match issuer {
        Some(n) => (KeyFile::Issuer(n), n.to_string()),
        None => (KeyFile::Ledger, ledger_origin(&store)?),
    };
    let next = home.next_key(which, &name)?;
    let new_key = next.public().to_bytes();
    let statement = revocation_statement(&subject_of(subject)?, &revoked, from_entry, &new_key);
    let r = RevocationRequest {
        format: REQUEST_FORMAT.into(),
        subject: subject.into(),
        revoked_key: hex::encode(revoked),
        from_entry,
        new_key: hex::encode(new_key),
        statement: hex::encode(statement),
    };
    let text = serde_json::to_string_pretty(&r).map_err(|e| CliError::Input(e.to_string()))?;
    write_atomic(path, text.as_bytes(), 0o644, true)?;
    out.emit(
        format!("revocation request for {subject}'s key {} from entry {from_entry} written to {}: each witness approves it with `dossier cosigner approve --request {}`", hex::encode(revoked), path.display(), path.display()),
        json!({"request": path, "subject": subject, "revoked_key": r.revoked_key, "from_entry": from_entry, "new_key": r.new_key}),
    );
    Ok(0)
}

/// `dossier cosigner approve`: this witness signs a revocation request.
pub fn approve(out: &Out, key: KeyPair, request: &Path, path: &Path) -> Result<i32, CliError> {
    let r = RevocationRequest::read(request)?;
    let statement = r.statement()?;
    let cosigner = Cosigner::new(key);
    let approval = cosigner.approve(&statement);
    let file = ApprovalFile {
        format: APPROVAL_FORMAT.into(),
        witness: cosigner.witness_key().vkey(),
        signature: hex::encode(approval.signature),
    };
    let text = serde_json::to_string_pretty(&file).map_err(|e| CliError::Input(e.to_string()))?;
    write_atomic(path, text.as_bytes(), 0o644, true)?;
    out.emit(
        format!(
            "approved: revoke {}'s key {} from entry {} in favour of {} (approval written to {})",
            r.subject,
            r.revoked_key,
            r.from_entry,
            r.new_key,
            path.display()
        ),
        json!({"approval": path, "subject": r.subject, "from_entry": r.from_entry}),
    );
    Ok(0)
}

/// Reads approvals, each checked against the statement (a wrong one is refused here, not left
/// for auditors to find).
fn approvals(statement: &[u8], paths: &[std::path::PathBuf]) -> Result<Vec<Approval>, CliError> {
    let mut list = Vec::with_capacity(paths.len().min(dossier_core::entry::MAX_APPROVALS));
    for p in paths {
        let f: ApprovalFile = serde_json::from_str(&read_small(p)?)
            .map_err(|e| CliError::Input(format!("{}: {e}", p.display())))?;
        if f.format != APPROVAL_FORMAT {
            return Err(CliError::Input(format!(
                "{}: not a {APPROVAL_FORMAT} file",
                p.display()
            )));
        }
        let witness = WitnessKey::parse(&f.witness)?;
        let approval = Approval {
            key_id: witness.key_id(),
            signature: unhex::<64>("signature", &f.signature)?,
        };
        let alone = dossier_core::cosignature::WitnessPolicy::new(1, vec![witness])?;
        alone.check_approvals(statement, &[approval]).map_err(|_| {
            CliError::Input(format!(
                "{}: the approval does not sign this request",
                p.display()
            ))
        })?;
        list.push(approval);
    }
    Ok(list)
}

/// `dossier ledger revoke-key`: records an approved request.
pub fn revoke(
    home: &Home,
    out: &Out,
    request: &Path,
    approval_paths: &[std::path::PathBuf],
) -> Result<i32, CliError> {
    let r = RevocationRequest::read(request)?;
    let statement = r.statement()?;
    let approvals = approvals(&statement, approval_paths)?;
    let store = home.store()?;
    let issuer = (r.subject != "ledger").then_some(r.subject.as_str());
    let (which, name) = match issuer {
        Some(n) => (KeyFile::Issuer(n), n.to_string()),
        None => (KeyFile::Ledger, ledger_origin(&store)?),
    };
    let next = home.next_key(which, &name)?;
    if hex::encode(next.public().to_bytes()) != r.new_key {
        return Err(CliError::Input(
            "the request's new key is not this home's next key (make the request here)".into(),
        ));
    }
    if hex::encode(key_in_force(&store, &r.subject)?) != r.revoked_key {
        return Err(CliError::Input(
            "the request revokes a key that is no longer in force".into(),
        ));
    }
    let index = match issuer {
        Some(n) => {
            let ledger = home.ledger_key(&store, None)?;
            store.revoke_issuer_key(&ledger, n, r.from_entry, &next, approvals, now())?
        }
        None => store.revoke_ledger_key(r.from_entry, &next, approvals, now())?,
    };
    home.promote_next_key(which)?;
    let report = dossier_store::audit::audit_store(&store, None)?.map_err(CliError::Audit)?;
    let voided = report
        .keys
        .iter()
        .find(|e| e.entry == index)
        .map(|e| e.voided.clone())
        .unwrap_or_default();
    out.emit(
        format!(
            "{}'s key revoked by entry {index} from entry {}; {} entries it signed are void{}{}",
            r.subject,
            r.from_entry,
            voided.len(),
            if voided.is_empty() {
                String::new()
            } else {
                format!(": {voided:?}")
            },
            if issuer.is_some() && !voided.is_empty() {
                "\nrevoke the credentials they issued with the new key (`dossier revoke`)"
            } else {
                ""
            }
        ),
        json!({"subject": r.subject, "entry": index, "from_entry": r.from_entry, "voided": voided,
            "new_key": r.new_key}),
    );
    Ok(0)
}
