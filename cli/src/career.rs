//! The demo's career under the rules: one civil servant from recruitment (1986) to retirement
//! (2026) in simulated time, on a ledger of its own whose entries carry the simulated days.
//! The HR office adopts the shipped rules and runs its engine on the days that matter, the day
//! before as well as the day; each automated step is shown and recorded: the probation review
//! and its approval, the appraisal cycle opening (the unit's colleagues' ballot opened by the
//! rule, then tallied), three appraisals and promotion eligibility, a sanction (its notice, the
//! promotion it bars, its expiry), a training shortfall, retirement with its approval and the
//! retirement credential. Every task is closed by the end. Payroll and the pension office are subscribed to the actions: their
//! messages wait in the durable outbox. The regulator's audit replays ledger and rule log.

use crate::error::CliError;
use dossier_core::credential::{Claim, CredentialOpening};
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::holder::HolderSecret;
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta};
use dossier_store::home::Home;
use dossier_store::outbox::Subscription;
use dossier_store::rules::TaskState;
use dossier_store::{audit, Store};
use dossier_workflow::office::{self, ledger_entries, Run};
use dossier_workflow::rule::SHIPPED;
use dossier_workflow::{webhook, Rule};
use serde_json::{json, Value};
use std::path::Path;

/// The HR office of the story.
const OFFICE: &str = "hr.customs";

/// A day of the story by its date (every date below is well formed).
fn day(date: &str) -> u32 {
    date_to_days(date).unwrap_or(0)
}

/// The ledger time of a simulated day: 09:00 UTC.
fn time_of(day: u32) -> u64 {
    u64::from(day) * 86_400 + 9 * 3600
}

/// The servant's career as the HR office lives it.
struct Career<'a> {
    store: Store,
    hr: KeyPair,
    /// The ledger's key (the rules' ballots publish their roll with it).
    log: KeyPair,
    /// The ballots the rules opened, by name.
    ballots: Vec<String>,
    schemas: &'a SchemaSet,
    holder: (String, String),
    openings: Vec<CredentialOpening>,
    timeline: Vec<Value>,
    quiet: bool,
}

impl Career<'_> {
    fn say(&mut self, day: u32, what: String) {
        if !self.quiet {
            println!("      {}  {what}", days_to_date(day));
        }
        self.timeline
            .push(json!({"day": days_to_date(day), "event": what}));
    }

    fn claim(
        &self,
        schema: &str,
        fields: Value,
    ) -> Result<dossier_core::credential::EncodedClaim, CliError> {
        Ok(Claim {
            schema: schema.into(),
            holder: self.holder.0.clone(),
            holder_halo2: Some(self.holder.1.clone()),
            expires_at: None,
            fields: fields.as_object().cloned().unwrap_or_default(),
        }
        .encode(self.schemas)?)
    }

    fn issue(&mut self, on: u32, schema: &str, fields: Value, what: &str) -> Result<u32, CliError> {
        let claim = self.claim(schema, fields)?;
        let made = self
            .store
            .issue(&self.hr, std::slice::from_ref(&claim), on, time_of(on))?;
        let c = made
            .first()
            .ok_or_else(|| CliError::Input("demo: nothing issued".into()))?;
        self.openings
            .push(CredentialOpening::new(&claim, OFFICE, c));
        self.say(
            on,
            format!("{what} (credential {} issued)", c.credential_id),
        );
        Ok(c.credential_id)
    }

    /// The year's appraisal, issued on 15 December.
    fn appraise(&mut self, year: u32, grade: &str) -> Result<u32, CliError> {
        self.issue(
            day(&format!("{year}-12-15")),
            "appraisal",
            appraisal(year, grade),
            &format!("appraisal {year}: {grade}"),
        )
    }

    /// The current values of a credential, with some changed: a new version under its id.
    fn update(&mut self, on: u32, id: u32, changes: Value, what: &str) -> Result<(), CliError> {
        let mut fields = self
            .openings
            .iter()
            .rfind(|o| o.credential_id == id)
            .map(|o| o.fields.clone())
            .unwrap_or_default();
        for (k, v) in changes.as_object().cloned().unwrap_or_default() {
            fields.insert(k, v);
        }
        let claim = self.claim("employment", Value::Object(fields))?;
        let c = self.store.update(&self.hr, id, &claim, on, time_of(on))?;
        self.openings
            .push(CredentialOpening::new(&claim, OFFICE, &c));
        self.say(on, format!("{what} (credential {id} updated)"));
        Ok(())
    }

    /// Runs the engine on `on` and shows every case it acted on.
    fn rules(&mut self, on: u32, expect_none: Option<&str>) -> Result<usize, CliError> {
        let Run {
            evaluation,
            written,
            ballots,
            ..
        } = office::run(
            &self.store,
            Some(&self.hr),
            OFFICE,
            self.schemas,
            &self.openings,
            on,
            time_of(on),
            &|| self.store.checkpoint(&self.log, time_of(on)),
        )?;
        if !evaluation.failures.is_empty() {
            return Err(CliError::Input(format!(
                "demo: the engine could not decide {} case(s)",
                evaluation.failures.len()
            )));
        }
        let new: Vec<_> = evaluation
            .cases
            .iter()
            .filter(|c| !c.taken_before)
            .collect();
        if new.is_empty() {
            self.say(
                on,
                format!(
                    "rules run: nothing due{}",
                    expect_none.map(|w| format!(" ({w})")).unwrap_or_default()
                ),
            );
        }
        for (c, entry) in new.iter().zip(written.iter().flatten()) {
            let actions = c
                .actions
                .iter()
                .map(|a| format!("{:?} to {}: {}", a.kind, a.to.name(), a.title).to_lowercase())
                .collect::<Vec<_>>()
                .join("; ");
            self.say(
                on,
                format!("rules run: `{}` acts (entry {entry}): {actions}", c.rule),
            );
        }
        for b in ballots.opened {
            self.say(
                on,
                format!(
                    "rules run: ballot `{}` opened (entry {}, its roll the checkpoint of size {}): colleagues of unit {} rate {} servant(s) for two weeks",
                    b.name,
                    b.entry,
                    ballots.roll_size.unwrap_or(0),
                    b.unit,
                    b.appraisees
                ),
            );
            self.ballots.push(b.name);
        }
        Ok(new.len())
    }

    /// Closes the ballots the rules opened, past their closing time: the tallies go on the
    /// ledger.
    fn close_ballots(&mut self, on: u32) -> Result<(), CliError> {
        for name in std::mem::take(&mut self.ballots) {
            let closed = self.store.close_ballot(&self.hr, &name, time_of(on))?;
            let ratings = closed.tally.ratings;
            self.say(
                on,
                format!(
                    "HR office closes ballot `{name}`: {ratings} rating(s) tallied (entry {})",
                    closed.entry
                ),
            );
        }
        Ok(())
    }

    /// Approves the open task of a rule's case on credential `id`.
    fn approve(&mut self, on: u32, rule: &str, id: u32) -> Result<(), CliError> {
        let hash = SHIPPED
            .iter()
            .filter_map(|t| Rule::parse(t, self.schemas).ok())
            .find(|r| r.name == rule)
            .map(|r| r.hash_hex())
            .ok_or_else(|| CliError::Input("demo: unknown rule".into()))?;
        let task = self
            .store
            .tasks(Some(OFFICE), Some("hr_office"), true)?
            .into_iter()
            .find(|t| t.rule == hash && t.credential_id == id)
            .ok_or_else(|| CliError::Input(format!("demo: no open `{rule}` task")))?;
        let approval = office::approve_task(
            &self.store,
            &self.hr,
            self.schemas,
            (task.entry, task.action),
            &self.openings,
            on,
            time_of(on),
            &|_, _| Ok(()),
        )?;
        let (task, made) = (approval.task, approval.credentials);
        let what = if made.is_empty() {
            "no credential action (the decision is the HR office's)".to_string()
        } else {
            made.iter()
                .map(|o| {
                    format!(
                        "{} credential {} {}",
                        o.schema,
                        o.credential_id,
                        if o.credential_id == id {
                            "updated"
                        } else {
                            "issued"
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.openings.extend(made);
        self.say(
            on,
            format!("HR office approves task {} ({rule}): {what}", task.id()),
        );
        Ok(())
    }
}

/// Runs the career in `dir` (its own store and ledger) and returns its summary.
pub fn run(dir: &Path, schemas: &SchemaSet, quiet: bool) -> Result<Value, CliError> {
    let home = Home {
        dir: dir.to_path_buf(),
        lock_wait: std::time::Duration::from_secs(60),
        location: dossier_store::home::StoreLocation::Embedded,
    };
    let store = home.store()?;
    let log_key = home.ledger_key(&store, Some("dossier.demo/career"))?;
    let hr = KeyPair::generate(OFFICE, &mut rand::rngs::OsRng)?;
    let start = day("1986-01-02");
    store.register_issuer(&hr, time_of(start))?;
    for text in SHIPPED {
        let rule = Rule::parse(text, schemas)?;
        store.adopt_rule(&hr, &rule.name, text, day("1986-01-01"), time_of(start))?;
    }
    store.subscribe(&Subscription {
        name: "payroll-and-pensions".into(),
        issuer: OFFICE.into(),
        // The discard port: nobody answers, so the messages wait in the outbox.
        url: "http://127.0.0.1:9/dossier".into(),
        secret: webhook::new_secret(),
        parties: vec!["payroll".into(), "pension_office".into()],
        values: false,
    })?;
    let secret = HolderSecret::random(&mut rand::rngs::OsRng);
    let mut c = Career {
        store,
        hr,
        log: log_key,
        ballots: Vec::new(),
        schemas,
        holder: (
            field::to_hex(&secret.commitment()),
            pasta::to_hex(&secret.commitment_halo2()),
        ),
        openings: Vec::new(),
        timeline: Vec::new(),
        quiet,
    };
    story(&mut c)?;
    finish(c, schemas)
}

fn employment(status: &str, rank: &str, since: &str, sanction_until: &str) -> Value {
    json!({"department": "customs/port-authority", "position": "inspector", "rank_level": rank,
        "rank_since": since, "hire_date": "1986-09-01", "status": status,
        "sanction_until": sanction_until})
}

fn appraisal(year: u32, grade: &str) -> Value {
    json!({"year": year, "grade": grade, "score": 80, "unit": "customs/port-authority", "training_hours": 45})
}

/// The career, day by day.
fn story(c: &mut Career<'_>) -> Result<(), CliError> {
    let id = c.issue(
        day("1986-09-01"),
        "employment",
        employment("probation", "clerk_2", "1986-09-01", "1970-01-01"),
        "recruitment: on probation",
    )?;
    c.appraise(1986, "competent")?;
    c.rules(day("1987-08-31"), Some("the day before probation ends"))?;
    c.rules(day("1987-09-01"), None)?;
    c.approve(day("1987-09-10"), "probation-review", id)?;
    c.rules(
        day("1987-11-30"),
        Some("the day before the appraisal cycle"),
    )?;
    c.rules(day("1987-12-01"), None)?;
    c.close_ballots(day("1987-12-15"))?;
    c.approve(day("1987-12-15"), "appraisal-cycle", id)?;
    for (year, grade) in [(1987, "excellent"), (1988, "competent")] {
        c.appraise(year, grade)?;
    }
    c.rules(
        day("1989-08-31"),
        Some("the day before three years in rank"),
    )?;
    c.rules(day("1989-09-01"), None)?;
    c.approve(day("1989-09-20"), "promotion-eligibility", id)?;
    c.update(
        day("1989-10-01"),
        id,
        json!({"rank_level": "clerk_1", "rank_since": "1989-10-01"}),
        "promotion to clerk_1",
    )?;
    for (year, grade) in [(1989, "competent"), (1990, "competent")] {
        c.appraise(year, grade)?;
    }
    c.issue(
        day("1991-03-10"),
        "sanction",
        json!({"kind": "demerit", "from": "1991-03-10", "until": "1992-12-31"}),
        "sanction: a demerit until 1992-12-31",
    )?;
    c.update(
        day("1991-03-10"),
        id,
        json!({"sanction_until": "1992-12-31"}),
        "the sanction enters the employment credential",
    )?;
    c.rules(day("1991-03-10"), None)?;
    c.appraise(1991, "competent")?;
    c.rules(
        day("1992-10-01"),
        Some("three years in rank, but the sanction bars promotion"),
    )?;
    c.rules(day("1993-01-01"), None)?;
    c.approve(day("1993-01-15"), "promotion-eligibility", id)?;
    c.update(
        day("1993-02-01"),
        id,
        json!({"rank_level": "section_member_4", "rank_since": "1993-02-01"}),
        "promotion to section_member_4",
    )?;
    c.issue(
        day("1993-05-01"),
        "training",
        json!({"course": "customs-law-update", "hours": 24, "completed_on": "1993-05-01", "passed": true}),
        "training: 24 hours",
    )?;
    c.rules(day("1993-10-31"), Some("the day before the training check"))?;
    c.rules(day("1993-11-01"), None)?;
    c.rules(
        day("2026-08-31"),
        Some("the day before forty years of service"),
    )?;
    c.rules(day("2026-09-01"), None)?;
    c.approve(day("2026-09-05"), "retirement", id)?;
    c.rules(day("2026-09-06"), Some("every case was taken once"))?;
    Ok(())
}

/// The regulator's view: a checkpoint, the audit of the ledger and of the rule log.
fn finish(c: Career<'_>, schemas: &SchemaSet) -> Result<Value, CliError> {
    c.store.checkpoint(&c.log, dossier_core::clock::now())?;
    let report =
        audit::audit_store(&c.store, Some(&c.log.verifier_key()))?.map_err(CliError::Audit)?;
    let entries = ledger_entries(&c.store)?;
    let texts: std::collections::HashMap<[u8; 32], String> =
        c.store.rule_texts()?.into_iter().collect();
    let log = dossier_workflow::log::audit(&entries, |h| texts.get(h).cloned(), schemas);
    if !log.findings.is_empty() {
        return Err(CliError::Input(format!(
            "demo: the rule log audit found {} problem(s)",
            log.findings.len()
        )));
    }
    let tasks = c.store.tasks(Some(OFFICE), None, false)?;
    let open = tasks.iter().filter(|t| t.state == TaskState::Open).count();
    let outbox = c.store.outbox(None)?.len();
    if !c.quiet {
        println!(
            "      audit passed: {} entries; rule log: {} rules adopted, {} actions, 0 findings; {} tasks ({open} open); {outbox} messages for payroll and the pension office in the outbox",
            report.entries,
            log.adoptions.len(),
            log.actions,
            tasks.len()
        );
    }
    Ok(json!({
        "ledger_entries": report.entries, "rules": log.adoptions.len(), "actions": log.actions,
        "findings": log.findings.len(), "tasks": tasks.len(), "open_tasks": open,
        "outbox": outbox, "timeline": c.timeline,
    }))
}
