//! The audit of the rule log, on ledgers written entry by entry: a sound log has no findings,
//! and each way of cheating (a rule edited without publication, a version not in force, an
//! action before its day, an action taken twice, a due case skipped, a rule whose text is
//! withheld) is found at its entry.

use dossier_core::entry::{Entry, EntryBody};
use dossier_core::keys::KeyPair;
use dossier_core::pasta::Fp;
use dossier_core::schema::SchemaSet;
use dossier_core::{issuer_id, Fr};
use dossier_store::rules::rule_hash;
use dossier_workflow::log::{audit, FindingKind, RuleLog};
use std::collections::HashMap;

const NOTICE: &str = include_str!("../../rules/sanction-notice.toml");
const PROBATION: &str = include_str!("../../rules/probation-review.toml");

struct Ledger {
    key: KeyPair,
    issuer: Fr,
    entries: Vec<Entry>,
    texts: HashMap<[u8; 32], String>,
}

const DAY: u64 = 86_400;

impl Ledger {
    fn new() -> Ledger {
        let key = KeyPair::generate("hr.example", &mut rand::rngs::OsRng).expect("key");
        Ledger {
            key,
            issuer: issuer_id("hr.example").expect("id"),
            entries: Vec::new(),
            texts: HashMap::new(),
        }
    }

    fn push(&mut self, day: u32, body: EntryBody) -> u64 {
        self.entries
            .push(Entry::sign(u64::from(day) * DAY + 3600, body, &self.key));
        self.entries.len() as u64 - 1
    }

    fn adopt(&mut self, text: &str, name: &str, from: u32, publish: bool) -> [u8; 32] {
        let rule = rule_hash(text);
        if publish {
            self.texts.insert(rule, text.to_string());
        }
        self.push(
            from,
            EntryBody::RuleAdopted {
                issuer_id: self.issuer,
                rule,
                from,
                name: name.into(),
            },
        );
        rule
    }

    fn issue(&mut self, day: u32, schema: &str, credential_id: u32) -> u64 {
        let schema_id = SchemaSet::builtin().get(schema).expect("schema").id();
        self.push(
            day,
            EntryBody::Issue {
                issuer_id: self.issuer,
                schema_id,
                credential_id,
                commitment: Fr::from(u64::from(credential_id) + 1),
                commitment_halo2: Fp::from(1),
                approvals: Vec::new(),
            },
        )
    }

    fn fire(&mut self, rule: [u8; 32], credential_id: u32, occasion: u64, day: u32) -> u64 {
        self.push(
            day,
            EntryBody::RuleFired {
                issuer_id: self.issuer,
                rule,
                credential_id,
                occasion,
                day,
            },
        )
    }

    fn audit(&self) -> RuleLog {
        audit(
            &self.entries,
            |h| self.texts.get(h).cloned(),
            &SchemaSet::builtin(),
        )
    }
}

fn kinds(log: &RuleLog) -> Vec<(u64, FindingKind)> {
    log.findings.iter().map(|f| (f.entry, f.kind)).collect()
}

#[test]
fn a_sound_log_has_no_findings() {
    let mut l = Ledger::new();
    let notice = l.adopt(NOTICE, "sanction-notice", 20_000, true);
    let probation = l.adopt(PROBATION, "probation-review", 20_000, true);
    let s = l.issue(20_100, "sanction", 0);
    l.issue(20_100, "employment", 1);
    l.fire(notice, 0, s, 20_100);
    l.fire(probation, 1, 20_465, 20_470);
    let log = l.audit();
    assert_eq!(kinds(&log), vec![]);
    assert_eq!(log.actions, 2);
    assert_eq!(log.adoptions.len(), 2);
    assert_eq!(log.adoptions[0].actions, 1);
}

#[test]
fn a_rule_edited_without_publication_is_found() {
    let mut l = Ledger::new();
    l.adopt(PROBATION, "probation-review", 20_000, true);
    let edited = rule_hash(&PROBATION.replace(
        "add_years(fields.hire_date, 1)",
        "add_years(fields.hire_date, 2)",
    ));
    let at = l.fire(edited, 1, 20_465, 20_470);
    assert_eq!(kinds(&l.audit()), vec![(at, FindingKind::Unpublished)]);
}

#[test]
fn an_action_before_its_rule_was_published_is_found() {
    let mut l = Ledger::new();
    let rule = rule_hash(PROBATION);
    let at = l.fire(rule, 1, 20_465, 20_470);
    l.adopt(PROBATION, "probation-review", 20_000, true);
    assert_eq!(kinds(&l.audit()), vec![(at, FindingKind::Unpublished)]);
}

#[test]
fn an_action_by_a_version_not_in_force_is_found() {
    let mut l = Ledger::new();
    let v1 = l.adopt(PROBATION, "probation-review", 20_000, true);
    let v2_text = PROBATION.replace("version = 1", "version = 2");
    let v2 = l.adopt(&v2_text, "probation-review", 20_300, true);
    let ok_old = l.fire(v1, 1, 20_299, 20_400);
    let ok_new = l.fire(v2, 2, 20_300, 20_400);
    let stale = l.fire(v1, 3, 20_300, 20_400);
    let early = l.fire(v2, 4, 20_299, 20_400);
    let log = l.audit();
    assert_eq!(
        kinds(&log),
        vec![
            (stale, FindingKind::NotInForce),
            (early, FindingKind::NotInForce)
        ],
        "entries {ok_old} and {ok_new} are sound"
    );
    // Not yet in force: a rule adopted from a later day.
    let mut l = Ledger::new();
    let later = l.adopt(PROBATION, "probation-review", 21_000, true);
    let at = l.fire(later, 1, 20_500, 21_100);
    assert_eq!(kinds(&l.audit()), vec![(at, FindingKind::NotInForce)]);
}

#[test]
fn an_action_before_its_day_or_on_no_event_is_found() {
    let mut l = Ledger::new();
    let probation = l.adopt(PROBATION, "probation-review", 20_000, true);
    let notice = l.adopt(NOTICE, "sanction-notice", 20_000, true);
    let early = l.fire(probation, 1, 20_466, 20_465);
    let employment = l.issue(20_100, "employment", 2);
    let wrong_schema = l.fire(notice, 2, employment, 20_100);
    let s = l.issue(20_100, "sanction", 3);
    let wrong_credential = l.fire(notice, 4, s, 20_100);
    let beyond = l.fire(probation, 1, u64::from(u32::MAX) + 1, u32::MAX);
    let found = kinds(&l.audit());
    for at in [early, wrong_credential, beyond] {
        assert!(
            found.contains(&(at, FindingKind::NotDue)),
            "{at}: {found:?}"
        );
    }
    assert!(
        found.contains(&(wrong_schema, FindingKind::NotDue)),
        "{found:?}"
    );
}

#[test]
fn a_duplicate_action_is_found() {
    let mut l = Ledger::new();
    let notice = l.adopt(NOTICE, "sanction-notice", 20_000, true);
    let s = l.issue(20_100, "sanction", 0);
    l.fire(notice, 0, s, 20_100);
    let again = l.fire(notice, 0, s, 20_101);
    assert_eq!(kinds(&l.audit()), vec![(again, FindingKind::Duplicate)]);
}

#[test]
fn a_skipped_due_case_is_found() {
    let mut l = Ledger::new();
    let notice = l.adopt(NOTICE, "sanction-notice", 20_000, true);
    let first = l.issue(20_100, "sanction", 0);
    let skipped = l.issue(20_101, "sanction", 1);
    let third = l.issue(20_102, "sanction", 2);
    l.fire(notice, 0, first, 20_102);
    l.fire(notice, 2, third, 20_102);
    assert_eq!(kinds(&l.audit()), vec![(skipped, FindingKind::Skipped)]);
    // A sanction issued after the engine last ran is pending, not skipped.
    l.issue(20_103, "sanction", 3);
    assert_eq!(kinds(&l.audit()), vec![(skipped, FindingKind::Skipped)]);
    // Nor is one issued before the rule was in force.
    let mut l = Ledger::new();
    l.issue(19_000, "sanction", 0);
    let notice = l.adopt(NOTICE, "sanction-notice", 20_000, true);
    let s = l.issue(20_100, "sanction", 1);
    l.fire(notice, 1, s, 20_100);
    assert_eq!(kinds(&l.audit()), vec![]);
}

#[test]
fn a_withheld_or_altered_rule_text_is_found() {
    let mut l = Ledger::new();
    let withheld = l.adopt(PROBATION, "probation-review", 20_000, false);
    let at = l.entries.len() as u64 - 1;
    let fired = l.fire(withheld, 1, 20_465, 20_470);
    let found = kinds(&l.audit());
    assert!(found.contains(&(at, FindingKind::RuleText)), "{found:?}");
    assert!(
        found.contains(&(fired, FindingKind::Unpublished)),
        "{found:?}"
    );
    // A text under another name than the one adopted.
    let mut l = Ledger::new();
    l.adopt(PROBATION, "retirement", 20_000, true);
    assert_eq!(kinds(&l.audit()), vec![(0, FindingKind::RuleText)]);
}
