//! The shipped rules (`rules/*.toml`) at their date boundaries: the day before a case falls
//! due, the day, and the day after; and each condition that keeps a due case from being acted
//! on.

use dossier_core::encoding::date_to_days;
use dossier_core::schema::SchemaSet;
use dossier_workflow::facts::{field_map, Facts};
use dossier_workflow::Rule;
use serde_json::{json, Map, Value};

fn rule(name: &str) -> Rule {
    let path = format!("{}/../rules/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("rule file");
    Rule::parse(&text, &SchemaSet::builtin()).expect("shipped rules parse")
}

fn day(s: &str) -> u32 {
    date_to_days(s).expect("date")
}

fn fields(v: Value) -> Map<String, Value> {
    v.as_object().expect("object").clone()
}

fn employment(
    status: &str,
    hire: &str,
    rank_since: &str,
    sanction_until: &str,
) -> Map<String, Value> {
    fields(json!({
        "department": "finance", "position": "auditor", "rank_level": "section_member_2",
        "rank_since": rank_since, "hire_date": hire, "status": status,
        "sanction_until": sanction_until
    }))
}

fn facts(f: &Map<String, Value>, holder: &[(&str, Map<String, Value>)]) -> Facts {
    let schemas = SchemaSet::builtin();
    let mut facts = Facts::new(schemas.get("employment").expect("schema"), 1, 0, f).expect("facts");
    for name in ["appraisal", "training"] {
        let list = holder
            .iter()
            .filter(|(s, _)| *s == name)
            .map(|(s, m)| field_map(schemas.get(s).expect("schema"), m).expect("values"))
            .collect();
        facts = facts.with_holder(name, list);
    }
    facts.with_schemas(&schemas)
}

/// Whether the rule acts on `today`: its case has fallen due and its condition holds.
fn acts(rule: &Rule, facts: &Facts, today: &str) -> bool {
    let today = day(today);
    let due = rule
        .due_day(facts, today)
        .expect("due")
        .expect("a date rule");
    due <= today && rule.holds(facts, today).expect("condition")
}

fn appraisal(year: u32, grade: &str) -> (&'static str, Map<String, Value>) {
    (
        "appraisal",
        fields(json!({
            "year": year, "grade": grade, "score": 80, "unit": "finance", "training_hours": 50
        })),
    )
}

#[test]
fn probation_review_falls_due_a_year_after_recruitment() {
    let r = rule("probation-review");
    let f = facts(
        &employment("probation", "2024-03-15", "2024-03-15", "1970-01-01"),
        &[],
    );
    assert!(!acts(&r, &f, "2025-03-14"), "the day before");
    assert!(acts(&r, &f, "2025-03-15"), "the day");
    assert!(
        acts(&r, &f, "2025-03-16"),
        "the day after (a late run catches up)"
    );
    assert_eq!(
        r.due_day(&f, day("2025-03-16")).expect("due"),
        Some(day("2025-03-15"))
    );
    let confirmed = facts(
        &employment("active", "2024-03-15", "2024-03-15", "1970-01-01"),
        &[],
    );
    assert!(
        !acts(&r, &confirmed, "2025-03-15"),
        "a confirmed servant has no review"
    );
    // Recruited on 29 February: the review falls due on 28 February.
    let leap = facts(
        &employment("probation", "2024-02-29", "2024-02-29", "1970-01-01"),
        &[],
    );
    assert!(!acts(&r, &leap, "2025-02-27"));
    assert!(acts(&r, &leap, "2025-02-28"));
}

#[test]
fn promotion_needs_three_years_in_rank_good_appraisals_and_no_sanction() {
    let r = rule("promotion-eligibility");
    let good = [
        appraisal(2021, "competent"),
        appraisal(2022, "excellent"),
        appraisal(2023, "competent"),
    ];
    let f = facts(
        &employment("active", "2015-01-05", "2021-06-01", "1970-01-01"),
        &good,
    );
    assert!(!acts(&r, &f, "2024-05-31"), "the day before");
    assert!(acts(&r, &f, "2024-06-01"), "the day");
    assert!(acts(&r, &f, "2024-06-02"), "the day after");

    let mut weak = good.clone();
    weak[1] = appraisal(2022, "basically_competent");
    let f = facts(
        &employment("active", "2015-01-05", "2021-06-01", "1970-01-01"),
        &weak,
    );
    assert!(!acts(&r, &f, "2024-06-01"), "one year below competent");
    let f = facts(
        &employment("active", "2015-01-05", "2021-06-01", "1970-01-01"),
        &good[..2],
    );
    assert!(!acts(&r, &f, "2024-06-01"), "one year without an appraisal");

    // A sanction in force until 2024-09-30 bars it until the day after.
    let barred = facts(
        &employment("active", "2015-01-05", "2021-06-01", "2024-09-30"),
        &good,
    );
    assert!(!acts(&r, &barred, "2024-06-01"));
    assert!(!acts(&r, &barred, "2024-09-30"), "the sanction's last day");
    assert!(acts(&r, &barred, "2024-10-01"), "the day after it ends");
    assert_eq!(
        r.due_day(&barred, day("2024-10-01")).expect("due"),
        Some(day("2024-06-01")),
        "the occasion stays the due day, so the case is taken once"
    );
    let suspended = facts(
        &employment("suspended", "2015-01-05", "2021-06-01", "1970-01-01"),
        &good,
    );
    assert!(!acts(&r, &suspended, "2024-06-01"));
}

#[test]
fn sanction_expiry_is_noticed_the_day_after_its_last_day() {
    let r = rule("sanction-expiry");
    let f = facts(
        &employment("active", "2015-01-05", "2021-06-01", "2024-09-30"),
        &[],
    );
    assert!(!acts(&r, &f, "2024-09-30"), "the last day of the sanction");
    assert!(acts(&r, &f, "2024-10-01"), "the day after");
    assert!(acts(&r, &f, "2024-10-02"));
    let never = facts(
        &employment("active", "2015-01-05", "2021-06-01", "1970-01-01"),
        &[],
    );
    assert!(!acts(&r, &never, "2024-10-01"), "no sanction ever applied");
    let dismissed = facts(
        &employment("dismissed", "2015-01-05", "2021-06-01", "2024-09-30"),
        &[],
    );
    assert!(!acts(&r, &dismissed, "2024-10-01"));
}

#[test]
fn retirement_opens_after_forty_years_of_service() {
    let r = rule("retirement");
    let f = facts(
        &employment("active", "1985-09-01", "2010-01-01", "1970-01-01"),
        &[],
    );
    assert!(!acts(&r, &f, "2025-08-31"), "the day before");
    assert!(acts(&r, &f, "2025-09-01"), "the day");
    assert!(acts(&r, &f, "2025-09-02"), "the day after");
    let retired = facts(
        &employment("retired", "1985-09-01", "2010-01-01", "1970-01-01"),
        &[],
    );
    assert!(!acts(&r, &retired, "2025-09-01"));
}

#[test]
fn training_shortfall_is_reminded_from_the_first_of_november() {
    let r = rule("training-shortfall");
    let course = |hours: u32, on: &str, passed: bool| {
        (
            "training",
            fields(json!({
                "course": "ethics", "hours": hours, "completed_on": on, "passed": passed
            })),
        )
    };
    let e = employment("active", "2015-01-05", "2021-06-01", "1970-01-01");
    let short = facts(
        &e,
        &[
            course(24, "2025-03-01", true),
            course(15, "2025-06-01", true),
        ],
    );
    assert!(!acts(&r, &short, "2025-10-31"), "the day before");
    assert!(acts(&r, &short, "2025-11-01"), "the day: 39 hours");
    assert!(acts(&r, &short, "2025-11-02"), "the day after");
    assert_eq!(
        r.due_day(&short, day("2026-11-01")).expect("due"),
        Some(day("2026-11-01")),
        "a new occasion each year"
    );
    let enough = facts(
        &e,
        &[
            course(25, "2025-03-01", true),
            course(15, "2025-06-01", true),
        ],
    );
    assert!(!acts(&r, &enough, "2025-11-01"), "40 hours exactly");
    let failed = facts(
        &e,
        &[
            course(25, "2025-03-01", true),
            course(15, "2025-06-01", false),
        ],
    );
    assert!(
        acts(&r, &failed, "2025-11-01"),
        "a failed course does not count"
    );
    let last_year = facts(&e, &[course(40, "2024-12-31", true)]);
    assert!(
        acts(&r, &last_year, "2025-11-01"),
        "last year's hours do not count"
    );
}

#[test]
fn the_sanction_notice_is_observable() {
    let r = rule("sanction-notice");
    assert!(
        r.observable(),
        "the audit can check that no sanction went unnotified"
    );
    for name in [
        "appraisal-cycle",
        "probation-review",
        "promotion-eligibility",
        "sanction-expiry",
        "retirement",
        "training-shortfall",
    ] {
        assert!(!rule(name).observable(), "{name} reads values");
    }
}

#[test]
fn approving_a_probation_review_confirms_the_servant() {
    let r = rule("probation-review");
    let e = employment("probation", "2024-03-15", "2024-03-15", "1970-01-01");
    let f = facts(&e, &[]);
    let schemas = SchemaSet::builtin();
    let approved = r
        .approve(0, &f, day("2025-03-20"), &schemas)
        .expect("approve");
    let mut expected = e.clone();
    expected.insert("status".into(), json!("active"));
    assert_eq!(approved.update, Some(expected), "only the status changes");
    assert_eq!(approved.issue, None);
    assert_eq!(
        r.approve(1, &f, day("2025-03-20"), &schemas)
            .expect("notice"),
        Default::default()
    );
}

#[test]
fn approving_a_retirement_retires_the_servant_and_issues_the_retirement_credential() {
    let r = rule("retirement");
    let f = facts(
        &employment("active", "1985-09-01", "2010-01-01", "1970-01-01"),
        &[],
    );
    let schemas = SchemaSet::builtin();
    let approved = r
        .approve(0, &f, day("2025-09-01"), &schemas)
        .expect("approve");
    assert_eq!(approved.update.expect("update")["status"], "retired");
    let (schema, values) = approved.issue.expect("issue");
    assert_eq!(schema, "retirement");
    assert_eq!(values["years_of_service"], 40);
    assert_eq!(values["retired_on"], "2025-09-01");
    // Approved the day before the fortieth anniversary, the service counts 39 years.
    let early = r
        .approve(0, &f, day("2025-08-31"), &schemas)
        .expect("approve");
    assert_eq!(early.issue.expect("issue").1["years_of_service"], 39);
}

#[test]
fn the_appraisal_cycle_opens_on_the_first_of_december() {
    let r = rule("appraisal-cycle");
    let e = employment("active", "2015-01-05", "2021-06-01", "1970-01-01");
    let none = facts(&e, &[appraisal(2024, "competent")]);
    assert!(!acts(&r, &none, "2025-11-30"), "the day before");
    assert!(
        acts(&r, &none, "2025-12-01"),
        "the day: no appraisal of 2025 yet"
    );
    assert!(acts(&r, &none, "2025-12-02"), "the day after");
    let done = facts(&e, &[appraisal(2025, "excellent")]);
    assert!(!acts(&r, &done, "2025-12-01"), "appraised already");
    let probation = facts(
        &employment("probation", "2025-03-01", "2025-03-01", "1970-01-01"),
        &[],
    );
    assert!(
        !acts(&r, &probation, "2025-12-01"),
        "a recruit on probation has the probation review"
    );
}
