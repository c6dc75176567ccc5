//! `dossier ledger`, `checkpoint`, `witness` and `audit`: the append-only ledger from the
//! command line — create and inspect it, publish checkpoints, fetch a credential's path and
//! whether a checkpoint anchors it, export it for a regulator and replay it.

use crate::error::{io, CliError};
use crate::{AuditArgs, LedgerCmd, Out};
use dossier_core::clock::now;
use dossier_core::cosignature::WitnessKey;
use dossier_core::{checkpoint, field};
use dossier_store::audit;
use dossier_store::export::LedgerExport;
use dossier_store::home::{self, Home};
use serde_json::json;
use std::path::{Path, PathBuf};

/// `dossier ledger init|info|export|add-witness|cosign|record-ceremony`.
pub fn ledger(home: &Home, params: &Path, out: &Out, cmd: LedgerCmd) -> Result<i32, CliError> {
    match cmd {
        LedgerCmd::Init { origin } => init(home, out, &origin),
        LedgerCmd::Info => info(home, out),
        LedgerCmd::Export { out: path } => export(home, out, &path),
        LedgerCmd::AddWitness { url, key } => add_witness(home, out, &url, &key),
        LedgerCmd::Cosign => {
            let store = home.store()?;
            let note = store.latest_checkpoint()?.ok_or_else(|| {
                CliError::Input("no checkpoint yet (run `dossier checkpoint`)".into())
            })?;
            let outcomes = cosign(home, &store, &note)?;
            report(out, &outcomes)
        }
        LedgerCmd::RotateKey => crate::keys::rotate_ledger(home, out),
        LedgerCmd::RevocationRequest {
            issuer,
            from,
            out: path,
        } => crate::keys::request(home, out, issuer.as_deref(), from, &path),
        LedgerCmd::RevokeKey { request, approvals } => {
            crate::keys::revoke(home, out, &request, &approvals)
        }
        LedgerCmd::RecordCeremony => {
            let store = home.store()?;
            let key = home.ledger_key(&store, None)?;
            let recorded = crate::ceremony::record_on_ledger(&store, &key, params)?;
            out.emit(
                recorded
                    .iter()
                    .map(|(shape, i)| format!("{shape}: ceremony recorded as entry {i}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
                json!({"entries": recorded.iter().map(|(s, i)| json!({"shape": s, "index": i})).collect::<Vec<_>>()}),
            );
            Ok(0)
        }
    }
}

/// The witnesses file of a home: one `<url> <witness key>` per line.
fn witnesses_path(home: &Home) -> PathBuf {
    home.dir.join("witnesses.txt")
}

fn witnesses(home: &Home) -> Result<Vec<(String, WitnessKey)>, CliError> {
    let path = witnesses_path(home);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let (url, key) = l.split_once(' ').ok_or_else(|| {
                CliError::Input(format!("{}: expected `<url> <key>`", path.display()))
            })?;
            Ok((url.to_string(), WitnessKey::parse(key)?))
        })
        .collect()
}

/// `dossier ledger add-witness`.
fn add_witness(home: &Home, out: &Out, url: &str, key: &str) -> Result<i32, CliError> {
    let witness = WitnessKey::parse(key)?;
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.contains(' ') {
        return Err(CliError::Input("--url: an http(s) URL".into()));
    }
    let mut list = witnesses(home)?;
    if list.iter().any(|(_, w)| w.name() == witness.name()) {
        return Err(CliError::Input(format!(
            "a witness named `{}` is configured already",
            witness.name()
        )));
    }
    list.push((url.trim_end_matches('/').to_string(), witness));
    let text: String = list
        .iter()
        .map(|(u, w)| format!("{u} {}\n", w.vkey()))
        .collect();
    home::write_atomic(&witnesses_path(home), text.as_bytes(), 0o644, true)?;
    out.emit(
        format!("{} witnesses configured", list.len()),
        json!({"witnesses": list.iter().map(|(u, w)| json!({"url": u, "key": w.vkey()})).collect::<Vec<_>>()}),
    );
    Ok(0)
}

/// What one witness answered.
pub(crate) struct Outcome {
    witness: String,
    result: Result<(), String>,
}

/// Asks every configured witness to cosign `note` (the tlog-witness protocol: `old 0` first;
/// on 409 the witness names the size it holds, and the request is sent again with a
/// consistency proof from there) and stores each valid cosignature with the checkpoint. A
/// witness that is down or refuses does not stop the others: its outcome says why.
pub(crate) fn cosign(
    home: &Home,
    store: &dossier_store::Store,
    note: &str,
) -> Result<Vec<Outcome>, CliError> {
    let (_, log_key) = store
        .ledger_identity()?
        .ok_or_else(|| CliError::Input("the ledger has no key yet".into()))?;
    let size = checkpoint::open(note.as_bytes(), &log_key)?.size;
    let mut outcomes = Vec::new();
    for (url, witness) in witnesses(home)? {
        let result = ask(store, &url, note, size).and_then(|line| {
            store
                .add_cosignature(size, &witness, &line)
                .map(drop)
                .map_err(|e| e.to_string())
        });
        outcomes.push(Outcome {
            witness: witness.name().to_string(),
            result,
        });
    }
    Ok(outcomes)
}

/// One witness: its cosignature line for the checkpoint of `size`.
fn ask(store: &dossier_store::Store, url: &str, note: &str, size: u64) -> Result<String, String> {
    let post = |old: u64| -> Result<(u16, String), String> {
        let proof = if old > 0 && old < size {
            store
                .consistency_proof(old, size)
                .map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        let body = dossier_witness::request_body(old, &proof, note);
        match ureq::post(&format!("{url}/add-checkpoint"))
            .timeout(std::time::Duration::from_secs(10))
            .set("Content-Type", "text/plain")
            .send_string(&body)
        {
            Ok(r) => Ok((r.status(), r.into_string().unwrap_or_default())),
            Err(ureq::Error::Status(s, r)) => Ok((s, r.into_string().unwrap_or_default())),
            Err(e) => Err(format!("unreachable ({e})")),
        }
    };
    let (status, text) = post(0)?;
    let (status, text) = match status {
        409 => {
            let held = text
                .trim()
                .parse::<u64>()
                .map_err(|_| "a 409 without the size it holds".to_string())?;
            if held > size {
                return Err(format!(
                    "it holds a larger checkpoint (size {held}): the ledger is behind or forked"
                ));
            }
            post(held)?
        }
        _ => (status, text),
    };
    match status {
        200 => Ok(text.lines().next().unwrap_or("").to_string()),
        409 => Err("it holds a checkpoint this one is not consistent with (a fork?)".into()),
        422 => Err("it refused the consistency proof".into()),
        s => Err(format!("it answered {s}: {}", text.trim())),
    }
}

/// Prints each witness's outcome; exits 0 (publishing never waits for witnesses).
fn report(out: &Out, outcomes: &[Outcome]) -> Result<i32, CliError> {
    let human: Vec<String> = outcomes
        .iter()
        .map(|o| match &o.result {
            Ok(()) => format!("  {}: cosigned", o.witness),
            Err(e) => format!(
                "  {}: NOT cosigned: {e} (retry with `dossier ledger cosign`)",
                o.witness
            ),
        })
        .collect();
    out.emit(
        if outcomes.is_empty() {
            "no witnesses configured (`dossier ledger add-witness`)".to_string()
        } else {
            human.join("\n")
        },
        json!(outcomes
            .iter()
            .map(
                |o| json!({"witness": o.witness, "cosigned": o.result.is_ok(),
                "error": o.result.as_ref().err()})
            )
            .collect::<Vec<_>>()),
    );
    Ok(0)
}

/// Creates the ledger's key (once) and prints its verifier key.
fn init(home: &Home, out: &Out, origin: &str) -> Result<i32, CliError> {
    let store = home.store()?;
    let key = home.ledger_key(&store, Some(origin))?;
    out.emit(
        format!(
            "ledger `{}` ready; verifier key:\n{}",
            key.name(),
            key.verifier_key()
        ),
        json!({"origin": key.name(), "log_key": key.verifier_key()}),
    );
    Ok(0)
}

/// Size, log root, issuers and the latest checkpoint.
fn info(home: &Home, out: &Out) -> Result<i32, CliError> {
    let store = home.reader()?;
    let size = store.ledger_size()?;
    let root = store.tree_hash(size)?;
    let identity = store.ledger_identity()?;
    let issuers = store.issuers()?;
    let latest = store.latest_checkpoint()?;
    let latest_size = latest
        .as_ref()
        .and_then(|n| n.lines().nth(1).and_then(|l| l.parse::<u64>().ok()));
    out.emit(
            format!(
                "ledger {}\n  entries: {size}\n  log root: {}\n  issuers: {}\n  latest checkpoint: {}",
                identity.as_ref().map_or("(no key yet)", |(o, _)| o.as_str()),
                checkpoint::root_hash_b64(&root),
                issuers.iter().map(|i| format!("{} ({} live)", i.name, i.live)).collect::<Vec<_>>().join(", "),
                latest_size.map_or("none".to_string(), |s| format!("size {s}"))
            ),
            json!({"origin": identity.as_ref().map(|i| &i.0), "log_key": identity.as_ref().map(|i| &i.1),
                   "entries": size, "log_root": checkpoint::root_hash_b64(&root),
                   "issuers": issuers.iter().map(|i| json!({"name": i.name, "issuer_id": field::to_hex(&i.issuer_id), "live": i.live})).collect::<Vec<_>>(),
                   "latest_checkpoint": latest}),
        );
    Ok(0)
}

/// Writes the whole ledger (entries and checkpoints) for a regulator.
fn export(home: &Home, out: &Out, path: &PathBuf) -> Result<i32, CliError> {
    let store = home.reader()?;
    let export = store.export()?;
    home::write_atomic(path, export.to_json()?.as_bytes(), 0o644, true)?;
    out.emit(
            format!("wrote {} entries and {} checkpoints to {}", export.entries.len(), export.checkpoints.len(), path.display()),
            json!({"entries": export.entries.len(), "checkpoints": export.checkpoints.len(), "file": path}),
        );
    Ok(0)
}

/// `dossier checkpoint`: signs and publishes a checkpoint of every registry root.
pub fn checkpoint(home: &Home, out: &Out, path: Option<PathBuf>) -> Result<i32, CliError> {
    let store = home.store()?;
    let key = home.ledger_key(&store, None)?;
    let note = store.checkpoint(&key, now())?;
    // Published first: a witness that is down does not block it (`dossier ledger cosign`
    // retries); the note then carries the cosignatures collected.
    let outcomes = cosign(home, &store, &note)?;
    let note = store.latest_checkpoint()?.unwrap_or(note);
    if let Some(p) = &path {
        home::write_atomic(p, note.as_bytes(), 0o644, true)?;
    }
    let body = checkpoint::open(note.as_bytes(), &key.verifier_key())?;
    if !out.json {
        for o in &outcomes {
            match &o.result {
                Ok(()) => eprintln!("witness {}: cosigned", o.witness),
                Err(e) => eprintln!(
                    "witness {}: NOT cosigned: {e} (retry with `dossier ledger cosign`)",
                    o.witness
                ),
            }
        }
    }
    out.emit(
        note.trim_end(),
        json!({"size": body.size, "note": note,
            "witnesses": outcomes.iter().map(|o| json!({"witness": o.witness,
                "cosigned": o.result.is_ok(), "error": o.result.as_ref().err()})).collect::<Vec<_>>()}),
    );
    Ok(0)
}

/// `dossier witness`: a credential's membership path and whether the latest checkpoint
/// anchors its root.
pub fn witness(home: &Home, out: &Out, issuer: String, id: u32) -> Result<i32, CliError> {
    let store = home.reader()?;
    let path = store.witness(&issuer, id)?;
    if path.leaf == dossier_core::Fr::from(0u64) {
        return Err(dossier_store::StoreError::CredentialNotFound {
            issuer,
            credential_id: id,
        }
        .into());
    }
    let info = store.issuer(&issuer)?;
    let anchored = match (store.latest_checkpoint()?, store.ledger_identity()?) {
        (Some(note), Some((_, key))) => {
            let body = checkpoint::open(note.as_bytes(), &key)?;
            body.registry(&info.issuer_id)
                .map(|r| r.root == path.root)
                .map(|a| (a, body.size))
        }
        _ => None,
    };
    let anchor_text = match anchored {
            Some((true, size)) => format!("anchored by the latest checkpoint (size {size})"),
            Some((false, size)) => format!("NOT anchored: the registry changed since the latest checkpoint (size {size}); publish a checkpoint"),
            None => "NOT anchored: no checkpoint lists this registry yet".to_string(),
        };
    let v = serde_json::to_value(&path).map_err(|e| CliError::Input(e.to_string()))?;
    out.emit(
            format!("credential {id} of `{issuer}`\n  leaf: {}\n  root: {}\n  {anchor_text}", field::to_hex(&path.leaf), field::to_hex(&path.root)),
            json!({"path": v, "anchored": anchored.map(|a| a.0).unwrap_or(false), "checkpoint_size": anchored.map(|a| a.1)}),
        );
    Ok(0)
}

pub fn audit_cmd(
    home: &Home,
    params: &Path,
    schemas: &dossier_core::schema::SchemaSet,
    out: &Out,
    args: AuditArgs,
) -> Result<i32, CliError> {
    match audit_report(home, params, schemas, &args)? {
        Audited::Passed { code, text, json } => {
            out.emit(text, json);
            Ok(code)
        }
        Audited::Failed(d) => {
            if out.json {
                println!("{}", json!({"ok": false, "discrepancy": d}));
            }
            Err(CliError::Audit(d))
        }
    }
}

/// What an audit found: the ledger replayed (exit code 0, or 1 when a round proof, the rule
/// log or a campaign has findings) with its report, or the first discrepancy.
pub enum Audited {
    /// Replayed.
    Passed {
        /// 0, or 1 with findings.
        code: i32,
        /// For people.
        text: String,
        /// For machines.
        json: serde_json::Value,
    },
    /// The ledger's first discrepancy.
    Failed(dossier_store::audit::Discrepancy),
}

/// The full audit of a home's store (or of `--ledger`): ledger, registries, keys, committees,
/// ballots, round proofs, rule log and campaigns.
pub fn audit_report(
    home: &Home,
    params: &Path,
    schemas: &dossier_core::schema::SchemaSet,
    args: &AuditArgs,
) -> Result<Audited, CliError> {
    let trusted = match &args.log_key {
        Some(k) if k.starts_with('@') => {
            let p = Path::new(&k[1..]);
            Some(
                std::fs::read_to_string(p)
                    .map_err(io(p))?
                    .trim()
                    .to_string(),
            )
        }
        Some(k) => Some(k.clone()),
        None => None,
    };
    let policy = args
        .witness_policy
        .as_deref()
        .map(|p| crate::witness_policy(Some(p)))
        .transpose()?;
    let started = std::time::Instant::now();
    let (result, notes, exported) = match &args.ledger {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(io(p))?;
            let export = LedgerExport::from_json(&text)?;
            (
                audit::audit(&export, trusted.as_deref()),
                export.checkpoints,
                Some(export.entries),
            )
        }
        None => {
            let store = home.reader()?;
            (
                audit::audit_store(&store, trusted.as_deref())?,
                store.checkpoints()?,
                None,
            )
        }
    };
    let result = match (result, &policy) {
        (Ok(report), Some(policy)) => audit::check_witnessed(&notes, policy)
            .and_then(|()| audit::check_revocations(&report, policy))
            .map(|()| report),
        (result, _) => result,
    };
    // The round proofs the store keeps (an export carries none), re-verified under the
    // audit's trust.
    let rounds = match (&result, &args.ledger) {
        (Ok(_), None) => {
            let trust =
                dossier_verifier::Trust::key_only(&crate::log_key(home, trusted.as_deref())?);
            crate::round::audit_proofs(&home.reader()?, params, &trust, schemas)?
        }
        _ => Vec::new(),
    };
    // The rule log (with the rule texts: the store's, or a folder beside an export) and the
    // campaigns the store keeps (an export carries no archive), over the ledger decoded once.
    let (rule_log, campaigns) = match (&result, exported) {
        (Err(_), _) => (None, Vec::new()),
        (Ok(_), Some(entries)) => (
            args.rules
                .as_deref()
                .map(|dir| export_rule_log(&entries, dir, schemas))
                .transpose()?,
            Vec::new(),
        ),
        (Ok(_), None) => {
            let trust =
                dossier_verifier::Trust::key_only(&crate::log_key(home, trusted.as_deref())?);
            let store = home.reader()?;
            let entries = dossier_workflow::office::ledger_entries(&store)?;
            let texts: std::collections::HashMap<[u8; 32], String> =
                store.rule_texts()?.into_iter().collect();
            (
                Some(dossier_workflow::log::audit(
                    &entries,
                    |h| texts.get(h).cloned(),
                    schemas,
                )),
                crate::campaign::audit_campaigns(&store, &entries, params, &trust, schemas)?,
            )
        }
    };
    let invalid = rounds
        .iter()
        .any(|r| matches!(r.proof, crate::round::ProofFinding::Invalid { .. }))
        || rule_log.as_ref().is_some_and(|l| !l.findings.is_empty())
        || campaigns.iter().any(|c| !c.findings.is_empty());
    let campaign_lines: Vec<String> = campaigns
        .iter()
        .map(|c| {
            format!(
                "  campaign `{}` of {}: {} application(s), {} shortlisted, re-verified: {}",
                c.name,
                c.issuer,
                c.applications,
                c.shortlisted,
                if c.findings.is_empty() {
                    "the shortlist is exactly the applications that meet the requirement"
                        .to_string()
                } else {
                    c.findings.join("; ")
                }
            )
        })
        .collect();
    let rule_lines = match &rule_log {
        None => {
            vec!["  rule log: not audited (pass --rules with the adopted rule files)".to_string()]
        }
        Some(l) => std::iter::once(format!(
            "  rule log: {} rule(s) adopted, {} action(s), {} finding(s)",
            l.adoptions.len(),
            l.actions,
            l.findings.len()
        ))
        .chain(
            l.findings
                .iter()
                .map(|f| format!("    entry {}: {:?}: {}", f.entry, f.kind, f.message)),
        )
        .collect(),
    };
    let secs = started.elapsed().as_secs_f64();
    let trust_note = if trusted.is_some() {
        "pinned key"
    } else {
        "the ledger's own key (pin one with --log-key)"
    };
    match result {
        Ok(report) => Ok(Audited::Passed {
            code: if invalid { 1 } else { 0 },
            text: format!(
                    "audit passed: {} entries, {} checkpoints, {} registries replayed in {:.2} s (trusting {trust_note})\n  log root: {}\n{}",
                    report.entries, report.checkpoints, report.registries.len(), secs, report.log_root,
                    report.registries.iter().map(|r| format!("  {:<24} root {}  live {}", r.issuer, r.root, r.live)).chain(report.keys.iter().map(|k| format!(
                        "  key {} of {} at entry {}{}",
                        k.event, k.subject, k.entry,
                        match k.from_entry {
                            Some(f) => format!(" from entry {f}, voiding {:?}{}", k.voided, if policy.is_some() { " (approvals checked)" } else { " (approvals not checked: pass --witness-policy)" }),
                            None => String::new(),
                        }
                    ))).chain(report.accreditations.iter().map(|a| format!(
                        "  accreditation {} at entry {}: issuer {} schema {}{}",
                        a.event, a.entry, short(&a.issuer_id), short(&a.schema_id),
                        match a.from_entry {
                            Some(f) => format!(" from entry {f}, leaving unaccredited {:?}", a.unaccredited),
                            None => String::new(),
                        }
                    ))).chain(report.committees.iter().map(|c| format!(
                        "  committee at entry {}: issuer {} schema {}, {} of {}, {} credential(s) issued with their approvals checked",
                        c.entry, short(&c.issuer_id), short(&c.schema_id), c.threshold, c.members, c.issued
                    ))).chain(report.ballots.iter().map(|b| format!(
                        "  ballot {} opened at entry {} by issuer {} (roll at size {}), {}",
                        short(&b.ballot_id), b.entry, short(&b.issuer_id), b.roll,
                        match (b.tallied_entry, b.ratings) {
                            (Some(t), Some(n)) => format!("tallied at entry {t}: {n} rating(s)"),
                            _ => "not tallied yet".to_string(),
                        }
                    ))).chain(rounds.iter().map(|r| format!(
                        "  round {} {} of {} declared at entry {} ({} appraisals): {}",
                        r.round.unit, r.round.year, r.round.issuer, r.declared_entry, r.round.count, r.proof
                    ))).chain(rule_lines).chain(campaign_lines).collect::<Vec<_>>().join("\n")
                ),
            json: json!({"ok": !invalid, "report": report, "round_proofs": rounds, "rule_log": rule_log, "campaigns": campaigns, "seconds": secs, "trusted_key": trusted.is_some(),
                "witnessed": policy.as_ref().map(|p| p.threshold)}),
        }),
        Err(d) => Ok(Audited::Failed(d)),
    }
}

/// The rule log of an export, with the rule files of a folder (each known by its hash).
fn export_rule_log(
    entries: &[Vec<u8>],
    dir: &Path,
    schemas: &dossier_core::schema::SchemaSet,
) -> Result<dossier_workflow::log::RuleLog, CliError> {
    let decoded = entries
        .iter()
        .map(|b| dossier_core::entry::Entry::from_bytes(b))
        .collect::<Result<Vec<_>, _>>()?;
    let mut texts = std::collections::HashMap::new();
    for f in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = f.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let meta = std::fs::metadata(&path).map_err(io(&path))?;
            if meta.len() > dossier_store::rules::MAX_RULE_TEXT as u64 {
                continue;
            }
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            texts.insert(dossier_store::rules::rule_hash(&text), text);
        }
    }
    Ok(dossier_workflow::log::audit(
        &decoded,
        |h| texts.get(h).cloned(),
        schemas,
    ))
}

/// The first hex digits of an id, for reports people read (JSON carries the whole id).
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}
