//! A rule file: what makes a case due, the condition under which it is acted on, and the
//! actions taken. Rules are TOML (written by people who set policy, read by anyone); their
//! conditions are CEL, the Common Expression Language (non-Turing-complete, side-effect free:
//! the same inputs give the same answer on every machine, so an action can be replayed).
//!
//! ```toml
//! name = "probation-review"          # a later version of the same name replaces it
//! version = 1
//! description = "..."
//! schema = "employment"              # the credentials the rule looks at
//! due = "add_years(fields.hire_date, 1)"   # a date rule: when a case falls due; or
//! # on = "issue"                     # an event rule: each issue (or update) of the schema
//! condition = 'fields.status == "probation"'
//!
//! [[actions]]
//! kind = "task"                      # or "notice", or "ballot" (below)
//! to = "hr_office"                   # hr_office, servant, pension_office, payroll
//! title = "Hold the probation review"
//! ```
//!
//! A `ballot` action has colleagues rate the case anonymously (the appraisal's peer rating):
//! the engine opens one ballot per unit for the cases of a run (`ballot = { unit = "department",
//! choices = { kind = "grades" }, days = 14 }`: the string field naming the case's unit, what
//! raters choose from, how many days it stays open), its appraisees labelled
//! `servant-<credential id>`, its roll a checkpoint published for it.
//!
//! What a rule sees ([`crate::facts`]): `fields` (the credential's values: dates are CEL
//! timestamps at midnight UTC, enums their member's name), `credential` (`id`, `issued_at`),
//! `holder` (per schema name, the same holder's current credentials from this issuer, as field
//! maps) and `today`. Functions beyond CEL's standard ones: `date("YYYY-MM-DD")`,
//! `add_days(t, n)`, `add_years(t, n)` (29 February plus a year is 28 February),
//! `years_between(a, b)` (whole years) and `sum(list)`.

use crate::facts::{self, Facts};
use crate::WorkflowError;
use dossier_core::ballot::Choices;
use dossier_core::encoding::FieldType;
use dossier_core::schema::SchemaSet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The largest rule file accepted, in bytes (the store's bound).
pub use dossier_store::rules::MAX_RULE_TEXT;

/// The most actions one rule takes.
pub const MAX_ACTIONS: usize = 8;

/// The shipped rules (`rules/*.toml`), as every binary carries them: the demo adopts them all.
pub const SHIPPED: [&str; 7] = [
    include_str!("../../rules/appraisal-cycle.toml"),
    include_str!("../../rules/probation-review.toml"),
    include_str!("../../rules/promotion-eligibility.toml"),
    include_str!("../../rules/sanction-expiry.toml"),
    include_str!("../../rules/sanction-notice.toml"),
    include_str!("../../rules/training-shortfall.toml"),
    include_str!("../../rules/retirement.toml"),
];

/// What the file says, before its expressions are compiled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    version: u32,
    #[serde(default)]
    description: String,
    schema: String,
    #[serde(default)]
    due: Option<String>,
    #[serde(default)]
    on: Option<EventKind>,
    #[serde(default)]
    condition: Option<String>,
    actions: Vec<Action>,
}

/// The ledger events an event rule follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A credential issued.
    Issue,
    /// A credential updated (replaced by a new version).
    Update,
    /// Either.
    IssueOrUpdate,
}

impl std::str::FromStr for Party {
    type Err = WorkflowError;

    /// A party by its name in rule files (`hr_office`, `servant`, `pension_office`, `payroll`).
    fn from_str(s: &str) -> Result<Party, WorkflowError> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            WorkflowError::Rule {
                field: "to",
                reason: "one of hr_office, servant, pension_office, payroll".into(),
            }
        })
    }
}

impl Party {
    /// Its name in rule files and messages.
    pub fn name(self) -> &'static str {
        match self {
            Party::HrOffice => "hr_office",
            Party::Servant => "servant",
            Party::PensionOffice => "pension_office",
            Party::Payroll => "payroll",
        }
    }
}

impl EventKind {
    /// Whether an entry of the ledger is such an event (`is_issue`: an `Issue`, else an
    /// `Update`).
    pub fn matches(self, is_issue: bool) -> bool {
        match self {
            EventKind::Issue => is_issue,
            EventKind::Update => !is_issue,
            EventKind::IssueOrUpdate => true,
        }
    }
}

/// Whom an action addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The issuer's HR office.
    HrOffice,
    /// The civil servant the credential belongs to.
    Servant,
    /// The pension office.
    PensionOffice,
    /// Payroll.
    Payroll,
}

/// What an action is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Work for a person: a review to hold, an approval to give.
    Task,
    /// A message: nothing to do but know.
    Notice,
    /// Colleagues of the case's unit rate it anonymously: a ballot opened per unit.
    Ballot,
}

/// The longest a rule's ballot stays open, in days.
pub const MAX_BALLOT_DAYS: u16 = 90;

/// How a ballot action's ballots are opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BallotAction {
    /// The string field of the rule's schema that names the case's unit: colleagues whose
    /// employment credential names the same unit rate.
    pub unit: String,
    /// What raters choose from (`{ kind = "grades" }` or `{ kind = "score", min, max }`).
    pub choices: Choices,
    /// How many days it stays open (1 to [`MAX_BALLOT_DAYS`]).
    pub days: u16,
}

/// One action of a rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// Task or notice.
    pub kind: ActionKind,
    /// Whom it addresses.
    pub to: Party,
    /// What it says (public policy text, never a credential's value).
    pub title: String,
    /// What approving the task does to credentials (tasks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// How its ballots are opened (ballots only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballot: Option<BallotAction>,
}

/// The credential actions a task's approval takes: new values for the case's credential
/// (`update`: field -> CEL expression; fields not named keep their values) and a credential of
/// another schema for the same holder (`issue`, with every field's expression in `fields`).
/// Expressions see what the condition sees, with `today` the day of the approval.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// New values of the case's credential.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub update: BTreeMap<String, String>,
    /// The schema of a credential to issue to the case's holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
    /// The issued credential's values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
}

/// What an approval computed: the case credential's new values and a credential to issue.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Approved {
    /// The case credential's values after the update (`None`: no update).
    pub update: Option<serde_json::Map<String, serde_json::Value>>,
    /// The schema and values of a credential to issue to the holder.
    pub issue: Option<(String, serde_json::Map<String, serde_json::Value>)>,
}

/// When a rule's cases fall due.
#[derive(Clone, Debug)]
pub enum Trigger {
    /// On a date computed from the credential (`due`).
    Date(Expression),
    /// On a ledger event of the schema.
    Event(EventKind),
}

/// A compiled CEL expression with its source and the variables it reads.
#[derive(Clone, Debug)]
pub struct Expression {
    source: String,
    program: Arc<cel::Program>,
    variables: BTreeSet<String>,
}

impl Expression {
    fn compile(what: &'static str, source: &str) -> Result<Expression, WorkflowError> {
        let program = facts::env()
            .compile(source)
            .map_err(|e| WorkflowError::Expression {
                field: what,
                reason: e.to_string(),
            })?;
        let variables = program
            .references()
            .variables()
            .into_iter()
            .map(str::to_string)
            .collect();
        Ok(Expression {
            source: source.to_string(),
            program: Arc::new(program),
            variables,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether it reads any of a credential's values or its holder's other credentials (what
    /// the ledger does not show).
    pub fn reads_values(&self) -> bool {
        self.variables.contains("fields") || self.variables.contains("holder")
    }

    #[cfg(test)]
    pub(crate) fn compile_for_test(source: &str) -> Expression {
        Expression::compile("condition", source).expect("compiles")
    }

    pub(crate) fn program(&self) -> &cel::Program {
        &self.program
    }
}

/// A rule, parsed and compiled: what the engine runs and the audit replays.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Its name (versions of one rule share it).
    pub name: String,
    /// Its version.
    pub version: u32,
    /// What it is for.
    pub description: String,
    /// The schema of the credentials it looks at.
    pub schema: String,
    /// When its cases fall due.
    pub trigger: Trigger,
    /// When a due case is acted on (`true` if the file gives none).
    pub condition: Expression,
    /// What is done.
    pub actions: Vec<Action>,
    /// SHA-256 of the file: its identity on the ledger.
    pub hash: [u8; 32],
    text: String,
}

/// A rule's name: lower case, digits and `-`, 1 to 64 bytes.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl Rule {
    /// Parses a rule file and checks it against the schemas: a known schema, exactly one of
    /// `due` and `on`, expressions that compile and evaluate on a credential of the schema
    /// (`due` to a date, `condition` to a boolean), 1 to [`MAX_ACTIONS`] actions.
    pub fn parse(text: &str, schemas: &SchemaSet) -> Result<Rule, WorkflowError> {
        if text.len() > MAX_RULE_TEXT {
            return Err(WorkflowError::Rule {
                field: "file",
                reason: "larger than 64 KiB".into(),
            });
        }
        let file: RuleFile = toml::from_str(text).map_err(|e| WorkflowError::Rule {
            field: "file",
            reason: e.message().to_string(),
        })?;
        if !valid_name(&file.name) {
            return Err(WorkflowError::Rule {
                field: "name",
                reason: "1 to 64 lower-case letters, digits and `-`".into(),
            });
        }
        let schema = schemas.get(&file.schema).map_err(|_| WorkflowError::Rule {
            field: "schema",
            reason: "not a known schema".into(),
        })?;
        let trigger = match (&file.due, file.on) {
            (Some(due), None) => Trigger::Date(Expression::compile("due", due)?),
            (None, Some(on)) => Trigger::Event(on),
            _ => {
                return Err(WorkflowError::Rule {
                    field: "due",
                    reason:
                        "a rule has exactly one of `due` (a date rule) and `on` (an event rule)"
                            .into(),
                })
            }
        };
        let condition =
            Expression::compile("condition", file.condition.as_deref().unwrap_or("true"))?;
        if file.actions.is_empty() || file.actions.len() > MAX_ACTIONS {
            return Err(WorkflowError::Rule {
                field: "actions",
                reason: format!("a rule takes 1 to {MAX_ACTIONS} actions"),
            });
        }
        let rule = Rule {
            name: file.name,
            version: file.version,
            description: file.description,
            schema: file.schema,
            trigger,
            condition,
            actions: file.actions,
            hash: dossier_store::rules::rule_hash(text),
            text: text.to_string(),
        };
        rule.check_approvals(schemas)?;
        rule.check_ballots(schemas)?;
        let sample = Facts::sample(schemas, schema);
        rule.dry_run(&sample)?;
        for i in 0..rule.actions.len() {
            rule.approve(i, &sample, 20_000, schemas)?;
        }
        Ok(rule)
    }

    /// Approvals only on tasks; `issue` with its `fields` and only then; schemas and fields
    /// that exist.
    fn check_approvals(&self, schemas: &SchemaSet) -> Result<(), WorkflowError> {
        let bad = |reason: &str| WorkflowError::Rule {
            field: "approval",
            reason: reason.into(),
        };
        for a in &self.actions {
            let Some(ap) = &a.approval else { continue };
            if a.kind != ActionKind::Task {
                return Err(bad("only a task is approved"));
            }
            if ap.update.is_empty() && ap.issue.is_none() {
                return Err(bad(
                    "an approval updates the credential, issues one, or both",
                ));
            }
            if ap.issue.is_some() == ap.fields.is_empty() {
                return Err(bad(
                    "`fields` gives the values of the credential `issue` names",
                ));
            }
            let target = schemas
                .get(&self.schema)
                .map_err(|_| bad("unknown schema"))?;
            if ap.update.keys().any(|f| target.slot_of(f).is_none()) {
                return Err(bad("`update` names a field its schema lacks"));
            }
            if let Some(issue) = &ap.issue {
                let other = schemas
                    .get(issue)
                    .map_err(|_| bad("`issue` names an unknown schema"))?;
                if other.fields.len() != ap.fields.len()
                    || ap.fields.keys().any(|f| other.slot_of(f).is_none())
                {
                    return Err(bad(
                        "`fields` gives every field of the issued schema, and no other",
                    ));
                }
            }
        }
        Ok(())
    }

    /// A ballot action has its `ballot` (and only it), addresses the HR office (which opens
    /// and tallies), names a string field of the schema as the unit, two to
    /// [`dossier_core::entry::MAX_CHOICES`] choices and 1 to [`MAX_BALLOT_DAYS`] days.
    fn check_ballots(&self, schemas: &SchemaSet) -> Result<(), WorkflowError> {
        let bad = |reason: &str| WorkflowError::Rule {
            field: "ballot",
            reason: reason.into(),
        };
        let schema = schemas
            .get(&self.schema)
            .map_err(|_| bad("unknown schema"))?;
        for a in &self.actions {
            match (a.kind, &a.ballot) {
                (ActionKind::Ballot, Some(b)) => {
                    if a.to != Party::HrOffice {
                        return Err(bad(
                            "a ballot is opened by the HR office: `to = \"hr_office\"`",
                        ));
                    }
                    let unit = schema.fields.iter().find(|f| f.name == b.unit);
                    if !unit.is_some_and(|f| f.ty == FieldType::String) {
                        return Err(bad("`unit` names a string field of the rule's schema"));
                    }
                    let count = b.choices.count();
                    let ordered = match b.choices {
                        Choices::Grades => true,
                        Choices::Score { min, max } => min < max,
                    };
                    if !ordered || !(2..=dossier_core::entry::MAX_CHOICES).contains(&count) {
                        return Err(bad(&format!(
                            "2 to {} choices",
                            dossier_core::entry::MAX_CHOICES
                        )));
                    }
                    if b.days == 0 || b.days > MAX_BALLOT_DAYS {
                        return Err(bad(&format!("`days` is 1 to {MAX_BALLOT_DAYS}")));
                    }
                }
                (ActionKind::Ballot, None) => {
                    return Err(bad(
                        "a ballot action says how: `ballot = { unit, choices, days }`",
                    ))
                }
                (_, Some(_)) => return Err(bad("only a ballot action has `ballot`")),
                (_, None) => {}
            }
        }
        Ok(())
    }

    /// The indices of its ballot actions.
    pub fn ballot_actions(&self) -> impl Iterator<Item = (usize, &BallotAction)> {
        self.actions
            .iter()
            .enumerate()
            .filter_map(|(i, a)| a.ballot.as_ref().map(|b| (i, b)))
    }

    /// What approving action `index` does, for the case's credential `facts` on `today`: the
    /// values computed and checked against their schemas (a value that does not fit is an
    /// error naming its field). An action without an approval computes nothing.
    pub fn approve(
        &self,
        index: usize,
        facts: &Facts,
        today: u32,
        schemas: &SchemaSet,
    ) -> Result<Approved, WorkflowError> {
        let Some(ap) = self.actions.get(index).and_then(|a| a.approval.as_ref()) else {
            return Ok(Approved::default());
        };
        let mut out = Approved::default();
        if !ap.update.is_empty() {
            let schema = schemas
                .get(&self.schema)
                .map_err(|_| WorkflowError::Value {
                    field: "schema".into(),
                })?;
            let mut values = facts.values_as_json(schema)?;
            for (field, source) in &ap.update {
                let e = Expression::compile("approval", source)?;
                values.insert(field.clone(), facts.value_of(&e, today, schema, field)?);
            }
            schema
                .encode(&values)
                .map_err(|_| WorkflowError::Expression {
                    field: "approval",
                    reason: "the updated values do not fit the schema".into(),
                })?;
            out.update = Some(values);
        }
        if let Some(issue) = &ap.issue {
            let schema = schemas.get(issue).map_err(|_| WorkflowError::Value {
                field: "issue".into(),
            })?;
            let mut values = serde_json::Map::new();
            for (field, source) in &ap.fields {
                let e = Expression::compile("approval", source)?;
                values.insert(field.clone(), facts.value_of(&e, today, schema, field)?);
            }
            schema
                .encode(&values)
                .map_err(|_| WorkflowError::Expression {
                    field: "approval",
                    reason: "the issued values do not fit the schema".into(),
                })?;
            out.issue = Some((issue.clone(), values));
        }
        Ok(out)
    }

    /// The file as adopted.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Its hash in hex.
    pub fn hash_hex(&self) -> String {
        hex::encode(self.hash)
    }

    /// Whether the ledger alone shows when it is due: an event rule whose condition reads no
    /// credential values. The audit checks that no such case was skipped.
    pub fn observable(&self) -> bool {
        matches!(self.trigger, Trigger::Event(_)) && !self.condition.reads_values()
    }

    /// The day a case of a date rule falls due on `today` (an event rule has none).
    pub fn due_day(&self, facts: &Facts, today: u32) -> Result<Option<u32>, WorkflowError> {
        match &self.trigger {
            Trigger::Event(_) => Ok(None),
            Trigger::Date(due) => facts.due_day(due, today).map(Some),
        }
    }

    /// Whether the condition holds for the credential on `today`.
    pub fn holds(&self, facts: &Facts, today: u32) -> Result<bool, WorkflowError> {
        facts.condition(&self.condition, today)
    }

    /// Evaluates both expressions once on a made-up credential of the schema, so that a rule
    /// naming a field the schema lacks, or comparing a date with a number, is refused when it
    /// is written rather than when a case falls due.
    fn dry_run(&self, sample: &Facts) -> Result<(), WorkflowError> {
        let today = 20_000;
        self.due_day(sample, today)?;
        self.holds(sample, today)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Rule, WorkflowError> {
        Rule::parse(text, &SchemaSet::builtin())
    }

    const ACTION: &str = "\n[[actions]]\nkind = \"notice\"\nto = \"servant\"\ntitle = \"t\"\n";

    #[test]
    fn a_rule_file_is_checked_when_read() {
        let ok = format!("name = \"r\"\nversion = 1\nschema = \"employment\"\ndue = \"add_years(fields.hire_date, 1)\"\n{ACTION}");
        let rule = parse(&ok).expect("valid");
        assert!(!rule.observable());
        for (bad, field) in [
            (ok.replace("employment", "nope"), "schema"),
            (ok.replace("name = \"r\"", "name = \"R r\""), "name"),
            (ok.replace("due = ", "on = \"issue\"\ndue = "), "due"),
            (
                ok.replace("due = \"add_years(fields.hire_date, 1)\"\n", ""),
                "due",
            ),
            (ok.replace("hire_date", "birthday"), "due"),
            (
                ok.replace("add_years(fields.hire_date, 1)", "fields.hire_date +"),
                "due",
            ),
            (ok.replace("add_years(fields.hire_date, 1)", "1"), "due"),
            (format!("{ok}condition = \"1\""), "file"),
            (
                ok.replace(
                    "version = 1\n",
                    "version = 1\ncondition = \"fields.status + 1 > 0\"\n",
                ),
                "condition",
            ),
            (
                ok.replace("version = 1\n", "version = 1\nwhatever = 2\n"),
                "file",
            ),
            (ok.replace(ACTION, ""), "file"),
            (ok.replace("\"servant\"", "\"mayor\""), "file"),
            (format!("{ok}{}", ACTION.repeat(MAX_ACTIONS)), "actions"),
        ] {
            let e = parse(&bad).expect_err(&bad);
            let named = match &e {
                WorkflowError::Rule { field, .. } | WorkflowError::Expression { field, .. } => {
                    *field
                }
                other => panic!("{other:?}"),
            };
            assert_eq!(named, field, "{bad}: {e}");
        }
        assert!(parse(&" ".repeat(MAX_RULE_TEXT + 1)).is_err());
    }

    #[test]
    fn the_shipped_rules_parse_and_are_every_file_of_the_folder() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules");
        let files = std::fs::read_dir(dir)
            .expect("rules folder")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "toml"))
            })
            .count();
        assert_eq!(files, SHIPPED.len(), "a rule file is missing from SHIPPED");
        let names: BTreeSet<String> = SHIPPED
            .iter()
            .map(|t| parse(t).expect("shipped rules parse").name)
            .collect();
        assert_eq!(names.len(), SHIPPED.len(), "one file per rule");
    }

    #[test]
    fn ballot_actions_are_checked_when_read() {
        let head = "name = \"r\"\nversion = 1\nschema = \"employment\"\ndue = \"add_years(fields.hire_date, 1)\"\n";
        let action = |kind: &str, to: &str, ballot: &str| {
            format!(
                "{head}\n[[actions]]\nkind = \"{kind}\"\nto = \"{to}\"\ntitle = \"t\"\n{ballot}"
            )
        };
        let good =
            "ballot = { unit = \"department\", choices = { kind = \"grades\" }, days = 14 }\n";
        let rule = parse(&action("ballot", "hr_office", good)).expect("valid");
        let found: Vec<usize> = rule.ballot_actions().map(|(i, _)| i).collect();
        assert_eq!(found, vec![0]);
        assert!(rule.actions.iter().all(|a| a.kind == ActionKind::Ballot));
        // Boundaries: 1 and 90 days, a score of two choices and of 101.
        for ok in [
            good.replace("14", "1"),
            good.replace("14", &MAX_BALLOT_DAYS.to_string()),
            good.replace(
                "{ kind = \"grades\" }",
                "{ kind = \"score\", min = 0, max = 1 }",
            ),
            good.replace(
                "{ kind = \"grades\" }",
                "{ kind = \"score\", min = 0, max = 100 }",
            ),
        ] {
            parse(&action("ballot", "hr_office", &ok)).expect(&ok);
        }
        for (bad, field) in [
            (action("ballot", "hr_office", ""), "ballot"),
            (action("task", "hr_office", good), "ballot"),
            (action("notice", "hr_office", good), "ballot"),
            (action("ballot", "servant", good), "ballot"),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace("department", "hire_date"),
                ),
                "ballot",
            ),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace("department", "rank_level"),
                ),
                "ballot",
            ),
            (
                action("ballot", "hr_office", &good.replace("department", "unit")),
                "ballot",
            ),
            (
                action("ballot", "hr_office", &good.replace("14", "0")),
                "ballot",
            ),
            (
                action("ballot", "hr_office", &good.replace("14", "91")),
                "ballot",
            ),
            (
                action("ballot", "hr_office", &good.replace("14", "65536")),
                "file",
            ),
            (
                action("ballot", "hr_office", &good.replace("14", "-1")),
                "file",
            ),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace(
                        "{ kind = \"grades\" }",
                        "{ kind = \"score\", min = 5, max = 5 }",
                    ),
                ),
                "ballot",
            ),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace(
                        "{ kind = \"grades\" }",
                        "{ kind = \"score\", min = 9, max = 1 }",
                    ),
                ),
                "ballot",
            ),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace(
                        "{ kind = \"grades\" }",
                        "{ kind = \"score\", min = 0, max = 101 }",
                    ),
                ),
                "ballot",
            ),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace("{ kind = \"grades\" }", "{ kind = \"stars\" }"),
                ),
                "file",
            ),
            (
                action(
                    "ballot",
                    "hr_office",
                    &good.replace("days = 14", "days = 14, extra = 1"),
                ),
                "file",
            ),
        ] {
            let e = parse(&bad).expect_err(&bad);
            let WorkflowError::Rule { field: named, .. } = &e else {
                panic!("{e:?}")
            };
            assert_eq!(*named, field, "{bad}: {e}");
        }
    }

    #[test]
    fn approvals_are_checked_when_read() {
        let task = "\n[[actions]]\nkind = \"task\"\nto = \"hr_office\"\ntitle = \"t\"\n";
        let base = format!("name = \"r\"\nversion = 1\nschema = \"employment\"\ndue = \"add_years(fields.hire_date, 1)\"\n{task}");
        let with = |approval: &str| format!("{base}approval = {approval}\n");
        parse(&with(r#"{ update = { status = '"active"' } }"#)).expect("an update");
        parse(&with(r#"{ issue = "retirement", fields = { years_of_service = "1", retired_on = "today" } }"#))
            .expect("an issue");
        for bad in [
            r#"{ }"#,
            r#"{ update = { birthday = "today" } }"#,
            r#"{ update = { status = "1" } }"#,
            r#"{ update = { status = '"on_leave"' } }"#,
            r#"{ update = { hire_date = "1" } }"#,
            r#"{ issue = "retirement" }"#,
            r#"{ issue = "retirement", fields = { years_of_service = "1" } }"#,
            r#"{ issue = "retirement", fields = { years_of_service = "-1", retired_on = "today" } }"#,
            r#"{ issue = "pension", fields = { years_of_service = "1", retired_on = "today" } }"#,
            r#"{ fields = { years_of_service = "1", retired_on = "today" } }"#,
        ] {
            let e = parse(&with(bad)).expect_err(bad);
            assert!(
                matches!(
                    &e,
                    WorkflowError::Rule {
                        field: "approval",
                        ..
                    } | WorkflowError::Expression {
                        field: "approval",
                        ..
                    }
                ),
                "{bad}: {e}"
            );
        }
        let notice = base.replace("\"task\"", "\"notice\"");
        assert!(parse(&format!(
            "{notice}approval = {{ update = {{ status = '\"active\"' }} }}\n"
        ))
        .is_err());
    }

    #[test]
    fn event_rules_reading_no_values_are_observable() {
        let base =
            format!("name = \"r\"\nversion = 1\nschema = \"sanction\"\non = \"issue\"\n{ACTION}");
        assert!(parse(&base).expect("valid").observable());
        let values = base.replace(
            "on = \"issue\"\n",
            "on = \"issue\"\ncondition = 'fields.kind != \"warning\"'\n",
        );
        assert!(!parse(&values).expect("valid").observable());
        let holder = base.replace(
            "on = \"issue\"\n",
            "on = \"issue\"\ncondition = 'size(holder.sanction) > 1'\n",
        );
        assert!(!parse(&holder).expect("valid").observable());
    }
}
