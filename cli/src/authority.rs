//! Who may issue what, from the command line: `dossier accreditor init|grant|withdraw|list`
//! (the accreditation authority, a role with its own key) and `dossier committee
//! set|show|member|propose|proposals|approve|finalize` (an issuer's k-of-n committee for a
//! schema, each member approving with their own key).
//!
//! The authority's key lives in `keys/accreditor.key` and each member's in
//! `keys/members/<name>.key` (0600); a member in another home passes `--key`. Approving signs
//! the proposal's exact credential (issuer, schema, id, both commitments), so a member who
//! reads the proposal with `committee proposals` approves what they read.

use crate::error::CliError;
use crate::{batch, day_arg, AccreditorCmd, CommitteeCmd, Out, Sink};
use dossier_core::clock::now;
use dossier_core::credential::CredentialOpening;
use dossier_core::field;
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_store::authority::Proposal;
use dossier_store::home::{Home, KeyFile};
use serde_json::json;
use std::path::Path;

fn schema_id(schemas: &SchemaSet, name: &str) -> Result<dossier_core::Fr, CliError> {
    Ok(schemas.get(name)?.id())
}

fn schema_name(schemas: &SchemaSet, id: &dossier_core::Fr) -> String {
    schemas
        .iter()
        .find(|s| s.id() == *id)
        .map_or_else(|| field::to_hex(id), |s| s.name.clone())
}

/// `dossier accreditor ...`.
pub fn accreditor(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    cmd: AccreditorCmd,
) -> Result<i32, CliError> {
    match cmd {
        AccreditorCmd::Init { name } => {
            if home.store_exists() {
                if let Some(a) = home.reader()?.accreditor()? {
                    return Err(CliError::Input(format!(
                        "this ledger's accreditation authority is `{}` already",
                        a.name
                    )));
                }
            }
            let store = home.store()?;
            home.ledger_key(&store, None)?;
            let key = match home.key(KeyFile::Accreditor) {
                Ok(k) if k.name() == name => k, // an interrupted init is finished
                Ok(_) => {
                    return Err(CliError::Input(
                        "this home holds another accreditation authority's key".into(),
                    ))
                }
                Err(_) => home.new_key(KeyFile::Accreditor, &name)?,
            };
            let entry = store.name_accreditor(&key, now())?;
            out.emit(
                format!("accreditation authority `{name}` named at entry {entry}\n  key: {}", hex::encode(key.public().to_bytes())),
                json!({"accreditor": name, "entry": entry, "public_key": hex::encode(key.public().to_bytes())}),
            );
        }
        AccreditorCmd::Grant {
            issuer,
            schema,
            key,
        } => {
            let k = authority_key(home, key.as_deref())?;
            let entry = home
                .store()?
                .accredit(&k, &issuer, schema_id(schemas, &schema)?, now())?;
            out.emit(
                format!("`{issuer}` accredited for `{schema}` from entry {entry}"),
                json!({"issuer": issuer, "schema": schema, "entry": entry, "event": "granted"}),
            );
        }
        AccreditorCmd::Withdraw {
            issuer,
            schema,
            from,
            key,
        } => {
            let k = authority_key(home, key.as_deref())?;
            let entry = home.store()?.withdraw_accreditation(
                &k,
                &issuer,
                schema_id(schemas, &schema)?,
                from,
                now(),
            )?;
            out.emit(
                format!(
                    "`{issuer}`'s accreditation for `{schema}` withdrawn at entry {entry} (from entry {})",
                    from.unwrap_or(entry)
                ),
                json!({"issuer": issuer, "schema": schema, "entry": entry, "from_entry": from.unwrap_or(entry), "event": "withdrawn"}),
            );
        }
        AccreditorCmd::List => {
            let reader = home.reader()?;
            let Some(a) = reader.accreditor()? else {
                out.emit(
                    "this ledger has no accreditation authority: every issuer may issue every schema",
                    json!({"accreditor": null, "accreditations": []}),
                );
                return Ok(0);
            };
            let issuers = reader.issuers()?;
            let name_of = |id: &dossier_core::Fr| {
                issuers
                    .iter()
                    .find(|i| i.issuer_id == *id)
                    .map_or_else(|| field::to_hex(id), |i| i.name.clone())
            };
            let list: Vec<(String, String, u64)> = reader
                .accreditations()?
                .iter()
                .map(|(i, s, e)| (name_of(i), schema_name(schemas, s), *e))
                .collect();
            out.emit(
                std::iter::once(format!("accreditation authority `{}`", a.name))
                    .chain(list.iter().map(|(i, s, e)| format!("  {i:<24} {s:<14} since entry {e}")))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json!({"accreditor": a.name, "public_key": hex::encode(a.public_key),
                    "accreditations": list.iter().map(|(i, s, e)| json!({"issuer": i, "schema": s, "entry": e})).collect::<Vec<_>>()}),
            );
        }
    }
    Ok(0)
}

fn authority_key(home: &Home, explicit: Option<&Path>) -> Result<KeyPair, CliError> {
    match explicit {
        Some(p) => read_key_file(p),
        None => Ok(home.key(KeyFile::Accreditor)?),
    }
}

fn read_key_file(p: &Path) -> Result<KeyPair, CliError> {
    let text = std::fs::read_to_string(p).map_err(crate::error::io(p))?;
    Ok(KeyPair::parse(&text)?)
}

/// A member given as a public key (64 hex digits) or the name of a member key in this home.
fn member_key(home: &Home, m: &str) -> Result<[u8; 32], CliError> {
    if m.len() == 64 {
        if let Ok(bytes) = hex::decode(m) {
            let mut k = [0u8; 32];
            k.copy_from_slice(&bytes);
            return Ok(k);
        }
    }
    Ok(home.key(KeyFile::Member(m))?.public().to_bytes())
}

fn proposal_json(p: &Proposal, threshold: Option<u8>) -> serde_json::Value {
    json!({"proposal": p.id, "issuer": p.opening.issuer, "schema": p.opening.schema,
        "credential_id": p.opening.credential_id, "holder": field::to_hex(&p.opening.holder),
        "fields": p.opening.fields, "commitment": field::to_hex(&p.opening.commitment),
        "approvals": p.approvals.iter().map(|a| &a.member).collect::<Vec<_>>(),
        "threshold": threshold})
}

/// `dossier committee ...`.
pub fn committee(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    cmd: CommitteeCmd,
) -> Result<i32, CliError> {
    match cmd {
        CommitteeCmd::Member { name } => {
            let key = home.new_key(KeyFile::Member(&name), &name)?;
            let public = hex::encode(key.public().to_bytes());
            out.emit(
                format!("committee member `{name}`\n  key: {public}"),
                json!({"member": name, "public_key": public}),
            );
        }
        CommitteeCmd::Set {
            issuer,
            schema,
            threshold,
            members,
        } => {
            let key = home.issuer_key(&issuer, None)?;
            let members = members
                .iter()
                .map(|m| member_key(home, m))
                .collect::<Result<Vec<_>, _>>()?;
            let n = members.len();
            let entry = home.store()?.set_committee(
                &key,
                schema_id(schemas, &schema)?,
                threshold,
                members,
                now(),
            )?;
            out.emit(
                format!("`{issuer}`'s `{schema}` credentials need {threshold} of {n} members' approvals (entry {entry})"),
                json!({"issuer": issuer, "schema": schema, "threshold": threshold, "members": n, "entry": entry}),
            );
        }
        CommitteeCmd::Show { issuer, schema } => {
            let reader = home.reader()?;
            let info = reader.issuer(&issuer)?;
            match reader.committee(&info, &schema_id(schemas, &schema)?)? {
                None => out.emit(
                    format!("`{issuer}` issues `{schema}` without a committee"),
                    json!({"issuer": issuer, "schema": schema, "committee": null}),
                ),
                Some(c) => {
                    let members: Vec<String> = c.members.iter().map(hex::encode).collect();
                    out.emit(
                        format!("{} of {}:\n  {}", c.threshold, members.len(), members.join("\n  ")),
                        json!({"issuer": issuer, "schema": schema, "threshold": c.threshold, "members": members}),
                    );
                }
            }
        }
        CommitteeCmd::Propose {
            issuer,
            claim,
            issued_at,
        } => {
            let claim = batch::read_claim(&claim, schemas)?;
            let day = day_arg(&issued_at)?;
            let key = home.issuer_key(&issuer, None)?;
            home.reader()?.authorize(&key)?;
            let p = home.store()?.propose(&key, &claim, day, now())?;
            out.emit(
                format!(
                    "proposal {} (credential {} of `{issuer}`): waiting for the committee's approvals",
                    p.id, p.opening.credential_id
                ),
                proposal_json(&p, None),
            );
        }
        CommitteeCmd::Proposals { issuer } => {
            let reader = home.reader()?;
            let info = reader.issuer(&issuer)?;
            let mut list = Vec::new();
            let mut human = Vec::new();
            for p in reader.proposals(&info)? {
                let c = reader.committee(&info, &p.opening.schema_id)?;
                let t = c.as_ref().map(|c| c.threshold);
                human.push(format!(
                    "proposal {:<4} {:<12} credential {:<6} {} approval(s) of {}  {}",
                    p.id,
                    p.opening.schema,
                    p.opening.credential_id,
                    p.approvals.len(),
                    t.map_or("?".into(), |t| t.to_string()),
                    serde_json::Value::Object(p.opening.fields.clone())
                ));
                list.push(proposal_json(&p, t));
            }
            if human.is_empty() {
                human.push(format!("no pending proposals for `{issuer}`"));
            }
            out.emit(human.join("\n"), json!(list));
        }
        CommitteeCmd::Approve {
            proposal,
            member,
            key,
        } => {
            let k = match key {
                Some(p) => read_key_file(&p)?,
                None => home.key(KeyFile::Member(&member))?,
            };
            let (p, met) = home.store()?.approve(proposal, &k)?;
            out.emit(
                format!(
                    "`{member}` approved proposal {proposal} ({} approval(s)){}",
                    p.approvals.len(),
                    if met { "; the threshold is met: the issuer can finalize it" } else { "" }
                ),
                json!({"proposal": proposal, "member": member, "approvals": p.approvals.len(), "threshold_met": met}),
            );
        }
        CommitteeCmd::Finalize {
            issuer,
            proposal,
            out: path,
        } => {
            let key = home.issuer_key(&issuer, None)?;
            let mut sink = Sink::open(&path)?;
            let opening: CredentialOpening =
                home.store()?
                    .finalize_with(&key, proposal, schemas, now(), |_, _| Ok(()))?;
            sink.write(std::slice::from_ref(&opening))?;
            eprintln!(
                "proposal {proposal} issued as credential {} of `{issuer}`, with its committee's approvals on the ledger",
                opening.credential_id
            );
        }
    }
    Ok(0)
}
