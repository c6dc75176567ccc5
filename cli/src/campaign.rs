//! `dossier campaign`: recruitment screening, the seed's automatic review of application
//! materials. A recruiting office publishes its requirement as a presentation request and opens
//! a campaign with a closing date (`open`: the request's hash goes on the ledger). Each
//! candidate's presentation is verified on arrival (`apply`) and archived with an `Applied`
//! entry: shortlisted by its nullifier (one application per candidate per campaign) or refused
//! with the verifier's reason. `shortlist` lists the shortlist by nullifier, naming no one; and
//! `dossier audit` re-verifies every archived application against the ledger
//! ([`audit_campaigns`]): exactly the candidates who met the requirement were shortlisted.

use crate::error::{io, CliError};
use crate::{CampaignCmd, Out};
use dossier_core::encoding::date_to_days;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::presentation::{Backend, Presentation, PresentationRequest};
use dossier_core::schema::SchemaSet;
use dossier_store::campaign::{campaign_id, Campaign};
use dossier_store::home::Home;
use serde::Serialize;
use serde_json::json;
use sha2::Digest;
use std::path::Path;

/// Runs a `dossier campaign` command.
pub fn campaign(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    cmd: CampaignCmd,
) -> Result<i32, CliError> {
    match cmd {
        CampaignCmd::Open {
            issuer,
            name,
            request,
            closes,
        } => {
            let text = read_bounded(&request)?;
            let parsed: PresentationRequest = serde_json::from_str(&text).map_err(|e| {
                CliError::Input(format!(
                    "{}: not a presentation request: {e}",
                    request.display()
                ))
            })?;
            let last =
                date_to_days(&closes).map_err(|e| CliError::Input(format!("--closes: {e}")))?;
            // Applications are taken to the end of the closing day (UTC).
            let closes_at = (u64::from(last) + 1) * 86_400;
            let key = home.issuer_key(&issuer, None)?;
            let id = home.store()?.open_campaign(
                &key,
                &name,
                &text,
                closes_at,
                dossier_core::clock::now(),
            )?;
            out.emit(
                format!(
                    "campaign `{name}` opened by `{issuer}`: scope {}, applications until the end of {closes}\n  id {}",
                    parsed.scope,
                    hex::encode(id)
                ),
                json!({"name": name, "issuer": issuer, "id": hex::encode(id), "scope": parsed.scope, "closes": closes_at}),
            );
            Ok(0)
        }
        CampaignCmd::Apply { name, presentation } => {
            let text = read_bounded(&presentation)?;
            // Read through a reader first: a writer's lock would keep the reader out.
            let trust = dossier_verifier::Trust::key_only(&crate::log_key(home, None)?);
            let issuer = home.reader()?.campaign(&name)?.issuer;
            let key = home.issuer_key(&issuer, None)?;
            let store = home.store()?;
            let c = store.campaign(&name)?;
            application(&c, &text)?;
            let now = dossier_core::clock::now();
            let verdict = screen(&c, &text, params, &trust, schemas, now);
            let app = store.apply(&key, &campaign_id(&c.request), &text, verdict, now)?;
            out.emit(
                match &app.refused {
                    None => format!("application {} shortlisted (ledger entry {})", &app.sha256[..16], app.entry),
                    Some(why) => format!("application {} refused (ledger entry {}): {why}", &app.sha256[..16], app.entry),
                },
                json!({"campaign": name, "sha256": app.sha256, "entry": app.entry, "shortlisted": app.shortlisted,
                       "nullifier": app.nullifier, "refused": app.refused}),
            );
            Ok(if app.shortlisted { 0 } else { 1 })
        }
        CampaignCmd::Shortlist { name } => {
            let store = home.reader()?;
            let c = store.campaign(&name)?;
            let apps = store.applications(&campaign_id(&c.request))?;
            let short: Vec<&String> = apps.iter().filter_map(|a| a.nullifier.as_ref()).collect();
            out.emit(
                format!(
                    "campaign `{name}`: {} application(s), {} shortlisted (by nullifier)\n{}",
                    apps.len(),
                    short.len(),
                    short
                        .iter()
                        .map(|n| format!("  {n}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                json!({"campaign": name, "applications": apps.len(), "shortlisted": short}),
            );
            Ok(0)
        }
    }
}

fn read_bounded(path: &Path) -> Result<String, CliError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.len() > dossier_store::campaign::MAX_DOCUMENT as u64 {
        return Err(CliError::Input(format!(
            "{}: larger than 256 KiB",
            path.display()
        )));
    }
    std::fs::read_to_string(path).map_err(io(path))
}

/// Reads an application: a presentation answering the campaign's request (anything else is
/// turned away, nothing archived).
fn application(
    c: &Campaign,
    presentation: &str,
) -> Result<(PresentationRequest, Presentation), CliError> {
    let request: PresentationRequest = serde_json::from_str(&c.request)
        .map_err(|_| CliError::Input("the campaign's request is unreadable".into()))?;
    let p: Presentation = serde_json::from_str(presentation)
        .map_err(|e| CliError::Input(format!("not a presentation: {e}")))?;
    if !dossier_verifier::campaign::answers(&request, &p) {
        return Err(CliError::Input(
            "the presentation answers another request than the campaign's".into(),
        ));
    }
    Ok((request, p))
}

/// The verifying keys a presentation's backend needs (halo2's come from the circuit).
fn keys_for(p: &Presentation, params: &Path) -> Result<dossier_verifier::VerifierKeys, String> {
    if p.backend == Backend::Halo2 {
        Ok(dossier_verifier::VerifierKeys::none())
    } else {
        dossier_verifier::VerifierKeys::load(params).map_err(|e| e.to_string())
    }
}

/// Verifies an application against its campaign's request at time `now`: the candidate's
/// nullifier in the campaign's scope, or why it was refused (the verifier's words).
fn screen(
    c: &Campaign,
    presentation: &str,
    params: &Path,
    trust: &dossier_verifier::Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<[u8; 32], String> {
    let (request, p) = application(c, presentation).map_err(|e| e.to_string())?;
    let keys = keys_for(&p, params)?;
    dossier_verifier::campaign::screen(&request, &p, &keys, trust, schemas, now)
        .map_err(|e| e.to_string())
}

/// What the audit found of one campaign.
#[derive(Clone, Debug, Serialize)]
pub struct CampaignAudit {
    /// Its name.
    pub name: String,
    /// The recruiting office.
    pub issuer: String,
    /// Applications archived.
    pub applications: usize,
    /// Shortlisted.
    pub shortlisted: usize,
    /// Everything wrong (empty when the shortlist is exactly the applications that verify).
    pub findings: Vec<String>,
}

/// Re-verifies every campaign's archive against the ledger (`dossier audit`): each archived
/// application is on the ledger as archived (hash, nullifier, verdict), was received before the
/// campaign closed, and verifies at the time it was received exactly when it was shortlisted,
/// under its own nullifier; no candidate is shortlisted twice; no application on the ledger is
/// missing from the archive.
pub fn audit_campaigns<D: dossier_store::Reading>(
    store: &dossier_store::Store<D>,
    entries: &[Entry],
    params: &Path,
    trust: &dossier_verifier::Trust,
    schemas: &SchemaSet,
) -> Result<Vec<CampaignAudit>, CliError> {
    let mut out = Vec::new();
    for c in store.campaigns()? {
        let id = campaign_id(&c.request);
        let apps = store.applications(&id)?;
        let mut findings = Vec::new();
        match entries.get(c.entry as usize).map(|e| &e.body) {
            Some(EntryBody::CampaignOpened {
                campaign, closes, ..
            }) if *campaign == id && *closes == c.closes => {}
            _ => findings.push(format!(
                "the campaign's request or closing time is not the one opened at entry {}",
                c.entry
            )),
        }
        let on_ledger = entries
            .iter()
            .filter(|e| matches!(&e.body, EntryBody::Applied { campaign, .. } if *campaign == id))
            .count();
        if on_ledger != apps.len() {
            findings.push(format!(
                "{on_ledger} application(s) on the ledger, {} archived",
                apps.len()
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &apps {
            let sha: [u8; 32] = sha2::Sha256::digest(a.presentation.as_bytes()).into();
            let entry = entries.get(a.entry as usize);
            let Some(Entry {
                time,
                body:
                    EntryBody::Applied {
                        campaign,
                        presentation,
                        nullifier,
                        shortlisted,
                        ..
                    },
                ..
            }) = entry
            else {
                findings.push(format!("entry {}: not the application's entry", a.entry));
                continue;
            };
            if *campaign != id || *presentation != sha || hex::encode(sha) != a.sha256 {
                findings.push(format!(
                    "entry {}: the archived presentation is not the one recorded",
                    a.entry
                ));
                continue;
            }
            if *time >= c.closes {
                findings.push(format!(
                    "entry {}: received after the campaign closed",
                    a.entry
                ));
            }
            let verdict = screen(&c, &a.presentation, params, trust, schemas, *time);
            match (verdict, *shortlisted) {
                (Ok(n), true) if n == *nullifier => {
                    if !seen.insert(n) {
                        findings.push(format!("entry {}: a candidate shortlisted twice", a.entry));
                    }
                }
                (Ok(_), true) => findings.push(format!(
                    "entry {}: shortlisted under another nullifier than its own",
                    a.entry
                )),
                (Ok(_), false) => findings.push(format!(
                    "entry {}: refused, but it meets the requirement",
                    a.entry
                )),
                (Err(why), true) => findings.push(format!(
                    "entry {}: shortlisted, but it does not verify ({why})",
                    a.entry
                )),
                (Err(_), false) => {}
            }
        }
        out.push(CampaignAudit {
            name: c.name,
            issuer: c.issuer,
            applications: apps.len(),
            shortlisted: apps.iter().filter(|a| a.shortlisted).count(),
            findings,
        });
    }
    Ok(out)
}
