//! `dossier rules`: the issuer's rules that run themselves. An HR office checks rule files
//! (`check`), adopts one (`adopt`: its hash goes on the ledger, in force from a day), runs its
//! engine for a day (`run --as-of`: every due case is acted on once, each action a ledger entry
//! citing the rule and the credential id), and anyone lists the rules adopted and in force
//! (`list`) and reads an adopted rule's text (`show`), which hashes to what the ledger says.

use crate::error::{io, CliError};
use crate::{Out, RulesCmd};
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::schema::SchemaSet;
use dossier_store::home::Home;
use dossier_store::rules::{parse_rule_hash, AdoptionState};
use dossier_workflow::office::{self, Run};
use dossier_workflow::{Case, Rule};
use serde_json::json;
use std::path::Path;

/// Runs a `dossier rules` command.
pub fn rules(home: &Home, out: &Out, schemas: &SchemaSet, cmd: RulesCmd) -> Result<i32, CliError> {
    match cmd {
        RulesCmd::Check { files } => check(out, schemas, &files),
        RulesCmd::Adopt { issuer, file, from } => adopt(home, out, schemas, &issuer, &file, from),
        RulesCmd::List { issuer, as_of } => list(home, out, schemas, issuer.as_deref(), as_of),
        RulesCmd::Show { hash } => show(home, &hash),
        RulesCmd::Run {
            issuer,
            openings,
            as_of,
            dry_run,
        } => run(home, out, schemas, &issuer, &openings, as_of, dry_run),
    }
}

fn read_rule(path: &Path, schemas: &SchemaSet) -> Result<Rule, CliError> {
    let meta = std::fs::metadata(path).map_err(io(path))?;
    if meta.len() > dossier_store::rules::MAX_RULE_TEXT as u64 {
        return Err(CliError::Input(format!(
            "{}: a rule file has at most 64 KiB",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    Rule::parse(&text, schemas).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

fn day_of(what: &str, arg: Option<String>) -> Result<u32, CliError> {
    match arg {
        None => Ok(dossier_core::clock::today()),
        Some(s) => date_to_days(&s).map_err(|e| CliError::Input(format!("{what}: {e}"))),
    }
}

fn summary(rule: &Rule) -> serde_json::Value {
    let trigger = match &rule.trigger {
        dossier_workflow::rule::Trigger::Date(e) => json!({"due": e.source()}),
        dossier_workflow::rule::Trigger::Event(k) => json!({"on": k}),
    };
    json!({
        "name": rule.name, "version": rule.version, "schema": rule.schema, "hash": rule.hash_hex(),
        "trigger": trigger, "condition": rule.condition.source(), "actions": rule.actions,
        "observable": rule.observable(),
    })
}

fn check(out: &Out, schemas: &SchemaSet, files: &[std::path::PathBuf]) -> Result<i32, CliError> {
    let mut rules = Vec::new();
    for f in files {
        rules.push(read_rule(f, schemas)?);
    }
    out.emit(
        rules
            .iter()
            .map(|r| {
                format!(
                    "{} v{} ({}), {} action(s), sha256 {}",
                    r.name,
                    r.version,
                    r.schema,
                    r.actions.len(),
                    r.hash_hex()
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
        json!({"rules": rules.iter().map(summary).collect::<Vec<_>>()}),
    );
    Ok(0)
}

fn adopt(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    issuer: &str,
    file: &Path,
    from: Option<String>,
) -> Result<i32, CliError> {
    let rule = read_rule(file, schemas)?;
    let from = day_of("--from", from)?;
    let key = home.issuer_key(issuer, None)?;
    let entry = home.store()?.adopt_rule(
        &key,
        &rule.name,
        rule.text(),
        from,
        dossier_core::clock::now(),
    )?;
    out.emit(
        format!(
            "rule `{}` v{} adopted by `{issuer}` (ledger entry {entry}), in force from {}\n  sha256 {}",
            rule.name,
            rule.version,
            days_to_date(from),
            rule.hash_hex()
        ),
        json!({"entry": entry, "issuer": issuer, "from": days_to_date(from), "rule": summary(&rule)}),
    );
    Ok(0)
}

fn list(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    issuer: Option<&str>,
    as_of: Option<String>,
) -> Result<i32, CliError> {
    let day = day_of("--as-of", as_of)?;
    let store = home.reader()?;
    let adoptions = store.adoptions(issuer)?;
    let mut rows = Vec::new();
    for a in &adoptions {
        let state = match a.state(&adoptions, day) {
            AdoptionState::NotYetInForce => "not yet in force",
            AdoptionState::Replaced => "replaced",
            AdoptionState::InForce => "in force",
        };
        let version = store
            .rule_text(&hash_of(&a.rule)?)?
            .and_then(|t| Rule::parse(&t, schemas).ok())
            .map(|r| r.version);
        rows.push(json!({
            "issuer": a.issuer, "name": a.name, "version": version, "rule": a.rule,
            "from": days_to_date(a.from), "entry": a.entry, "state": state,
        }));
    }
    out.emit(
        if rows.is_empty() {
            "no rules adopted".to_string()
        } else {
            rows.iter()
                .map(|r| {
                    format!(
                        "{:<24} {:<22} v{:<3} from {}  {:<16} entry {}  sha256 {}",
                        r["issuer"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                        r["version"],
                        r["from"].as_str().unwrap_or(""),
                        r["state"].as_str().unwrap_or(""),
                        r["entry"],
                        r["rule"].as_str().unwrap_or("")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        },
        json!({"as_of": days_to_date(day), "rules": rows}),
    );
    Ok(0)
}

fn hash_of(hex_text: &str) -> Result<[u8; 32], CliError> {
    parse_rule_hash(hex_text).ok_or_else(|| CliError::Input("a rule hash is 64 hex digits".into()))
}

fn show(home: &Home, hash: &str) -> Result<i32, CliError> {
    let text = home
        .reader()?
        .rule_text(&hash_of(hash)?)?
        .ok_or_else(|| CliError::Input("no rule of that hash was adopted here".into()))?;
    print!("{text}");
    Ok(0)
}

fn run(
    home: &Home,
    out: &Out,
    schemas: &SchemaSet,
    issuer: &str,
    openings: &Path,
    as_of: Option<String>,
    dry_run: bool,
) -> Result<i32, CliError> {
    let as_of = day_of("--as-of", as_of)?;
    let openings = crate::holder::read_openings(openings)?;
    let key = (!dry_run)
        .then(|| home.issuer_key(issuer, None))
        .transpose()?;
    let store = home.store()?;
    let log = match &key {
        Some(_) => Some(home.ledger_key(&store, None)?),
        None => None,
    };
    let publish = || -> Result<String, dossier_store::StoreError> {
        let log = log.as_ref().ok_or(dossier_store::StoreError::Refused {
            reason: "a dry run publishes nothing".into(),
        })?;
        let note = store.checkpoint(log, dossier_core::clock::now())?;
        // A witness that is down does not hold the ballots back (`dossier ledger cosign`
        // retries); the roll carries the cosignatures collected.
        crate::ledger::cosign(home, &store, &note).map_err(|e| {
            dossier_store::StoreError::Refused {
                reason: format!("the roll's cosignatures: {e}"),
            }
        })?;
        Ok(store.latest_checkpoint()?.unwrap_or(note))
    };
    let Run {
        evaluation,
        written,
        unreadable,
        ballots,
    } = office::run(
        &store,
        key.as_ref(),
        issuer,
        schemas,
        &openings,
        as_of,
        dossier_core::clock::now(),
        &publish,
    )?;
    let new: Vec<&Case> = evaluation
        .cases
        .iter()
        .filter(|c| !c.taken_before)
        .collect();
    let recorded = written.iter().flatten().count();
    let mut lines = vec![format!(
        "rules of `{issuer}` on {}: {} rule(s) in force, {} current credential(s), {} case(s) due, {} new{}",
        evaluation.as_of,
        evaluation.rules.len(),
        evaluation.credentials,
        evaluation.cases.len(),
        new.len(),
        if dry_run { " (dry run: nothing recorded)" } else { "" }
    )];
    for c in &evaluation.cases {
        lines.push(format!(
            "  {:<22} credential {:<6} due {}  {}: {}",
            c.rule,
            c.credential_id,
            c.due,
            if c.taken_before {
                "taken before"
            } else {
                "acted"
            },
            c.actions
                .iter()
                .map(|a| format!("{:?} to {:?}: {}", a.kind, a.to, a.title))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    for b in &ballots.opened {
        lines.push(format!(
            "  ballot `{}` opened (entry {}): colleagues of unit `{}` rate {} servant(s) by `{}`",
            b.name, b.entry, b.unit, b.appraisees, b.rule
        ));
    }
    if ballots.waiting > 0 {
        lines.push(format!(
            "  {} case(s) wait for their ballot: no opening of their current credential was given",
            ballots.waiting
        ));
    }
    for f in &evaluation.failures {
        lines.push(format!(
            "  undecided: `{}` on credential {}: {}",
            f.rule, f.credential_id, f.reason
        ));
    }
    for u in &unreadable {
        lines.push(format!(
            "  rule adopted at entry {} left out: {}",
            u.entry, u.reason
        ));
    }
    out.emit(
        lines.join("\n"),
        json!({"issuer": issuer, "dry_run": dry_run, "evaluation": evaluation,
               "recorded": recorded, "entries": written.iter().flatten().collect::<Vec<_>>(),
               "unreadable_rules": unreadable, "ballots": ballots}),
    );
    Ok(if evaluation.failures.is_empty() && unreadable.is_empty() {
        0
    } else {
        1
    })
}
