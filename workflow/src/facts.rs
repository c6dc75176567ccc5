//! What a rule sees of a credential, as CEL values, and the evaluation of a rule's expressions
//! over it. Dates are whole days (as in credentials: days since 1970-01-01) shown to CEL as
//! timestamps at midnight UTC; the calendar functions a personnel rule needs are added here.
//!
//! Errors never carry a value: CEL's own messages print the operands (a grade, a date), so they
//! are replaced by what went wrong, naming at most a key the rule itself wrote.

use crate::rule::Expression;
use crate::WorkflowError;
use cel::objects::Key;
use cel::{Context, Env, ExecutionError, Value};
use chrono::{DateTime, FixedOffset, Months, TimeZone, Utc};
use dossier_core::encoding::{date_to_days, days_to_date, FieldType};
use dossier_core::schema::{Schema, SchemaSet};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// The CEL environment every rule is compiled and run in: the standard library.
pub(crate) fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| Arc::new(Env::stdlib()))
}

/// The last day a date can name (9999-12-31): dates are written `YYYY-MM-DD`.
pub const LAST_DAY: u32 = 2_932_896;

/// A day (days since 1970-01-01) as a CEL timestamp. No date of a credential or a command lies
/// past [`LAST_DAY`]; a larger count (beyond chrono's range from about 262,000 years) is shown
/// as that day.
pub fn timestamp(day: u32) -> DateTime<FixedOffset> {
    let secs = i64::from(day.min(LAST_DAY)) * 86_400;
    Utc.timestamp_opt(secs, 0)
        .single()
        .unwrap_or_default()
        .fixed_offset()
}

/// The day a timestamp falls on, if it is one a credential can hold.
fn day_of(t: &DateTime<FixedOffset>) -> Option<u32> {
    u32::try_from(t.timestamp().div_euclid(86_400)).ok()
}

fn function_error(name: &str, message: &str) -> ExecutionError {
    ExecutionError::function_error(name, message)
}

fn date(s: Arc<String>) -> Result<DateTime<FixedOffset>, ExecutionError> {
    date_to_days(&s)
        .map(timestamp)
        .map_err(|_| function_error("date", "expects YYYY-MM-DD"))
}

fn add_days(t: DateTime<FixedOffset>, n: i64) -> Result<DateTime<FixedOffset>, ExecutionError> {
    chrono::Duration::try_days(n)
        .and_then(|d| t.checked_add_signed(d))
        .ok_or_else(|| function_error("add_days", "out of range"))
}

fn add_years(t: DateTime<FixedOffset>, n: i64) -> Result<DateTime<FixedOffset>, ExecutionError> {
    let months = u32::try_from(n.unsigned_abs().saturating_mul(12))
        .map_err(|_| function_error("add_years", "out of range"))?;
    let moved = if n >= 0 {
        t.checked_add_months(Months::new(months))
    } else {
        t.checked_sub_months(Months::new(months))
    };
    moved.ok_or_else(|| function_error("add_years", "out of range"))
}

fn years_between(a: DateTime<FixedOffset>, b: DateTime<FixedOffset>) -> i64 {
    match b.years_since(a) {
        Some(y) => i64::from(y),
        None => -i64::from(a.years_since(b).unwrap_or(0)),
    }
}

fn sum(list: Arc<Vec<Value>>) -> Result<i64, ExecutionError> {
    list.iter().try_fold(0i64, |acc, v| match v {
        Value::Int(n) => acc
            .checked_add(*n)
            .ok_or_else(|| function_error("sum", "overflow")),
        Value::UInt(n) => i64::try_from(*n)
            .ok()
            .and_then(|n| acc.checked_add(n))
            .ok_or_else(|| function_error("sum", "overflow")),
        _ => Err(function_error("sum", "expects a list of integers")),
    })
}

/// What went wrong in an expression, without the values it was evaluated on.
fn describe(e: &ExecutionError) -> String {
    match e {
        ExecutionError::NoSuchKey(k) => format!("it reads `{k}`, which is not there"),
        ExecutionError::UndeclaredReference(r) => format!("it names `{r}`, which is unknown"),
        ExecutionError::FunctionError { function, message } => {
            format!("`{function}` {message}")
        }
        ExecutionError::InvalidArgumentCount { expected, actual } => {
            format!("a function takes {expected} arguments, not {actual}")
        }
        ExecutionError::UnsupportedBinaryOperator(op, _, _) => {
            format!("`{op}` is applied to values of the wrong types")
        }
        ExecutionError::ValuesNotComparable(..) => "it compares values of different types".into(),
        ExecutionError::DivisionByZero(_) | ExecutionError::RemainderByZero(_) => {
            "it divides by zero".into()
        }
        ExecutionError::Overflow(op, _, _) => format!("`{op}` overflows"),
        ExecutionError::NoSuchOverload(_) | ExecutionError::UnexpectedType { .. } => {
            "a function or operator is given values of the wrong types".into()
        }
        _ => "it cannot be evaluated".into(),
    }
}

/// A credential's values as a CEL map, typed by its schema. A value the schema does not hold
/// is refused (naming the field).
pub fn field_map(
    schema: &Schema,
    fields: &serde_json::Map<String, serde_json::Value>,
) -> Result<Value, WorkflowError> {
    let mut map: HashMap<Key, Value> = HashMap::with_capacity(schema.fields.len());
    for f in &schema.fields {
        let bad = || WorkflowError::Value {
            field: f.name.clone(),
        };
        let v = fields.get(&f.name).ok_or_else(bad)?;
        let value = match &f.ty {
            FieldType::Uint => match v.as_u64() {
                Some(n) => i64::try_from(n).map_or(Value::UInt(n), Value::Int),
                None => return Err(bad()),
            },
            FieldType::Date => {
                let s = v.as_str().ok_or_else(bad)?;
                Value::Timestamp(timestamp(date_to_days(s).map_err(|_| bad())?))
            }
            FieldType::Enum { members } => {
                let s = v.as_str().ok_or_else(bad)?;
                if !members.iter().any(|m| m == s) {
                    return Err(bad());
                }
                Value::String(Arc::new(s.to_string()))
            }
            FieldType::Bool => Value::Bool(v.as_bool().ok_or_else(bad)?),
            FieldType::String => Value::String(Arc::new(v.as_str().ok_or_else(bad)?.to_string())),
        };
        map.insert(Key::String(Arc::new(f.name.clone())), value);
    }
    Ok(Value::Map(map.into()))
}

/// One credential as a rule sees it, with its holder's other current credentials.
#[derive(Clone, Debug)]
pub struct Facts {
    credential_id: u32,
    issued_at: u32,
    fields: Value,
    json: serde_json::Map<String, serde_json::Value>,
    holder: HashMap<String, Vec<Value>>,
}

impl Facts {
    /// The facts of a credential (its values checked against its schema), with no other
    /// credentials of its holder known yet.
    pub fn new(
        schema: &Schema,
        credential_id: u32,
        issued_at: u32,
        fields: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Facts, WorkflowError> {
        Ok(Facts {
            credential_id,
            issued_at,
            fields: field_map(schema, fields)?,
            json: fields.clone(),
            holder: HashMap::new(),
        })
    }

    /// The facts of an event whose credential's values are not needed (an observable rule's
    /// condition reads none).
    pub fn without_values(credential_id: u32, issued_at: u32) -> Facts {
        Facts {
            credential_id,
            issued_at,
            fields: Value::Map(HashMap::<Key, Value>::new().into()),
            json: serde_json::Map::new(),
            holder: HashMap::new(),
        }
    }

    /// A made-up credential of the schema (zero, the first member, the epoch, the empty
    /// string), with one of every schema's made-up credentials as its holder's: what a rule is
    /// tried on when it is read.
    pub fn sample(schemas: &SchemaSet, schema: &Schema) -> Facts {
        let mut facts = Facts::of_sample(schema);
        for s in schemas.iter() {
            let sample = Facts::of_sample(s).fields;
            facts.holder.insert(s.name.clone(), vec![sample]);
        }
        facts
    }

    fn of_sample(schema: &Schema) -> Facts {
        let json: serde_json::Map<String, serde_json::Value> = schema
            .fields
            .iter()
            .map(|f| {
                let v = match &f.ty {
                    FieldType::Uint => serde_json::Value::from(f.min.unwrap_or(0)),
                    FieldType::Date => serde_json::Value::from("1970-01-01"),
                    FieldType::Enum { members } => {
                        serde_json::Value::from(members.first().cloned().unwrap_or_default())
                    }
                    FieldType::Bool => serde_json::Value::from(false),
                    FieldType::String => serde_json::Value::from(""),
                };
                (f.name.clone(), v)
            })
            .collect();
        let fields = field_map(schema, &json)
            .unwrap_or_else(|_| Value::Map(HashMap::<Key, Value>::new().into()));
        Facts {
            credential_id: 0,
            issued_at: 0,
            fields,
            json,
            holder: HashMap::new(),
        }
    }

    /// The credential's values as issued (JSON), for an update to change some of them.
    pub(crate) fn values_as_json(
        &self,
        schema: &Schema,
    ) -> Result<serde_json::Map<String, serde_json::Value>, WorkflowError> {
        if schema
            .fields
            .iter()
            .all(|f| self.json.contains_key(&f.name))
        {
            Ok(self.json.clone())
        } else {
            Err(WorkflowError::Value {
                field: "fields".into(),
            })
        }
    }

    /// An approval's expression for `field` of `schema`, as the JSON value a claim carries.
    pub(crate) fn value_of(
        &self,
        e: &Expression,
        today: u32,
        schema: &Schema,
        field: &str,
    ) -> Result<serde_json::Value, WorkflowError> {
        let ty = schema
            .fields
            .iter()
            .find(|f| f.name == field)
            .map(|f| &f.ty)
            .ok_or(WorkflowError::Value {
                field: field.to_string(),
            })?;
        let wrong = || WorkflowError::Expression {
            field: "approval",
            reason: format!("`{field}` must be a {}", ty.name()),
        };
        let v = self.evaluate(e, today, "approval")?;
        Ok(match (ty, v) {
            (FieldType::Uint, Value::Int(n)) => u64::try_from(n).map_err(|_| wrong())?.into(),
            (FieldType::Uint, Value::UInt(n)) => n.into(),
            (FieldType::Date, Value::Timestamp(t)) => {
                days_to_date(day_of(&t).ok_or_else(wrong)?).into()
            }
            (FieldType::Enum { .. } | FieldType::String, Value::String(s)) => s.as_str().into(),
            (FieldType::Bool, Value::Bool(b)) => b.into(),
            _ => return Err(wrong()),
        })
    }

    /// Adds the holder's current credentials of a schema (their field maps).
    pub fn with_holder(mut self, schema: &str, credentials: Vec<Value>) -> Facts {
        self.holder.insert(schema.to_string(), credentials);
        self
    }

    /// Makes sure `holder.<schema>` is a list for every schema (empty when none is held).
    pub fn with_schemas(mut self, schemas: &SchemaSet) -> Facts {
        for s in schemas.iter() {
            self.holder.entry(s.name.clone()).or_default();
        }
        self
    }

    /// The credential's values.
    pub fn fields(&self) -> &Value {
        &self.fields
    }

    fn evaluate(
        &self,
        e: &Expression,
        today: u32,
        what: &'static str,
    ) -> Result<Value, WorkflowError> {
        let mut ctx = Context::with_env(env().clone());
        let holder: HashMap<Key, Value> = self
            .holder
            .iter()
            .map(|(k, v)| {
                (
                    Key::String(Arc::new(k.clone())),
                    Value::List(v.clone().into()),
                )
            })
            .collect();
        let credential: HashMap<Key, Value> = [
            (
                Key::String(Arc::new("id".into())),
                Value::Int(i64::from(self.credential_id)),
            ),
            (
                Key::String(Arc::new("issued_at".into())),
                Value::Timestamp(timestamp(self.issued_at)),
            ),
        ]
        .into_iter()
        .collect();
        ctx.add_variable_from_value("fields", self.fields.clone());
        ctx.add_variable_from_value("holder", Value::Map(holder.into()));
        ctx.add_variable_from_value("credential", Value::Map(credential.into()));
        ctx.add_variable_from_value("today", Value::Timestamp(timestamp(today)));
        let registered = [
            ctx.add_function("date", date),
            ctx.add_function("add_days", add_days),
            ctx.add_function("add_years", add_years),
            ctx.add_function("years_between", years_between),
            ctx.add_function("sum", sum),
        ];
        if registered.iter().any(Result::is_err) {
            return Err(WorkflowError::Expression {
                field: what,
                reason: "the calendar functions could not be registered".into(),
            });
        }
        e.program()
            .execute(&ctx)
            .map_err(|err| WorkflowError::Expression {
                field: what,
                reason: describe(&err),
            })
    }

    /// The day a date rule's `due` expression gives.
    pub(crate) fn due_day(&self, e: &Expression, today: u32) -> Result<u32, WorkflowError> {
        match self.evaluate(e, today, "due")? {
            Value::Timestamp(t) => day_of(&t).ok_or(WorkflowError::Expression {
                field: "due",
                reason: "it gives a date before 1970".into(),
            }),
            _ => Err(WorkflowError::Expression {
                field: "due",
                reason: "it must give a date".into(),
            }),
        }
    }

    /// Whether a condition holds.
    pub(crate) fn condition(&self, e: &Expression, today: u32) -> Result<bool, WorkflowError> {
        match self.evaluate(e, today, "condition")? {
            Value::Bool(b) => Ok(b),
            _ => Err(WorkflowError::Expression {
                field: "condition",
                reason: "it must give true or false".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> u32 {
        date_to_days(s).expect("date")
    }

    #[test]
    fn calendar_functions() {
        let t = |s: &str| timestamp(day(s));
        assert_eq!(add_years(t("2024-02-29"), 1).expect("y"), t("2025-02-28"));
        assert_eq!(add_years(t("2024-02-29"), 4).expect("y"), t("2028-02-29"));
        assert_eq!(add_years(t("2024-03-01"), -1).expect("y"), t("2023-03-01"));
        assert!(add_years(t("2024-03-01"), i64::MAX).is_err());
        assert_eq!(add_days(t("2024-12-31"), 1).expect("d"), t("2025-01-01"));
        assert!(add_days(t("2024-12-31"), i64::MAX).is_err());
        assert_eq!(years_between(t("2000-03-01"), t("2040-02-29")), 39);
        assert_eq!(years_between(t("2000-03-01"), t("2040-03-01")), 40);
        assert_eq!(years_between(t("2040-03-01"), t("2000-03-01")), -40);
        assert_eq!(
            day_of(&t("2031-07-04")).map(days_to_date).as_deref(),
            Some("2031-07-04")
        );
        assert_eq!(
            day_of(
                &timestamp(0)
                    .checked_sub_days(chrono::Days::new(1))
                    .expect("t")
            ),
            None
        );
        assert_eq!(LAST_DAY, day("9999-12-31"));
        assert_eq!(timestamp(LAST_DAY), t("9999-12-31"));
        assert_eq!(timestamp(u32::MAX), t("9999-12-31"));
        let list = |v: Vec<Value>| Arc::new(v);
        assert_eq!(
            sum(list(vec![Value::Int(30), Value::UInt(12)])).expect("sum"),
            42
        );
        assert!(sum(list(vec![Value::Int(i64::MAX), Value::Int(1)])).is_err());
        assert!(sum(list(vec![Value::Bool(true)])).is_err());
    }

    #[test]
    fn values_are_typed_by_the_schema_and_never_echoed() {
        let schemas = SchemaSet::builtin();
        let schema = schemas.get("appraisal").expect("schema");
        let mut fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(
            r#"{"year": 2024, "grade": "excellent", "score": 91, "unit": "tax-office-3", "training_hours": 44}"#,
        )
        .expect("json");
        let facts = Facts::new(schema, 1, 0, &fields).expect("facts");
        let e = Expression::compile_for_test("fields.grade + 1 > 0");
        let err = facts.condition(&e, 0).expect_err("string + int");
        let text = err.to_string();
        assert!(
            !text.contains("excellent") && !text.contains("91"),
            "{text}"
        );
        fields.insert("grade".into(), "stellar".into());
        assert!(
            matches!(Facts::new(schema, 1, 0, &fields), Err(WorkflowError::Value { field }) if field == "grade")
        );
        fields.remove("grade");
        assert!(
            Facts::new(schema, 1, 0, &fields).is_err(),
            "a missing value is refused"
        );
    }
}
