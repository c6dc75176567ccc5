//! What a verified presentation proves, in plain words, and what it reveals.

use dossier_core::checkpoint::CheckpointBody;
use dossier_core::encoding::{days_to_date, FieldType};
use dossier_core::presentation::PresentationRequest;
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};
use serde::Serialize;
use serde_json::Value;

/// A disclosed field.
#[derive(Clone, Debug, Serialize)]
pub struct Revealed {
    /// Which credential of the query.
    pub credential: usize,
    /// The schema.
    pub schema: String,
    /// The field.
    pub field: String,
    /// Its value, decoded by type (strings stay hashes).
    pub value: Value,
}

/// The outcome of a verification.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Always true: invalid presentations are errors.
    pub valid: bool,
    /// What was proven, one sentence per credential (and the sum).
    pub proven: Vec<String>,
    /// What the holder disclosed.
    pub revealed: Vec<Revealed>,
    /// The request's scope.
    pub scope: String,
    /// The holder's nullifier for that scope (hex).
    pub nullifier: String,
    /// The anchoring checkpoint's log size and age.
    pub checkpoint_size: u64,
    /// Age of the checkpoint at verification, seconds.
    pub checkpoint_age_seconds: u64,
    /// Whether the keys come from the insecure development setup.
    pub insecure_setup: bool,
    /// Where the verifying key came from: the ceremony that made it (its contributors and
    /// phase 1), the development setup, or none (halo2 needs no trusted setup).
    pub setup: String,
}

/// What halo2 verdicts say of their setup.
#[cfg(feature = "halo2")]
pub const NO_SETUP: &str = "none: halo2 needs no trusted setup";

fn decode(ty: &FieldType, v: Fr) -> Value {
    let small = ark_ff::PrimeField::into_bigint(v).0;
    let as_u64 = (small[1] == 0 && small[2] == 0 && small[3] == 0).then_some(small[0]);
    match (ty, as_u64) {
        (FieldType::Uint, Some(n)) => Value::from(n),
        (FieldType::Date, Some(n)) if n <= u64::from(u32::MAX) => {
            Value::from(days_to_date(n as u32))
        }
        (FieldType::Enum { members }, Some(n)) => members
            .get(n as usize)
            .map_or(Value::Null, |m| Value::from(m.as_str())),
        (FieldType::Bool, Some(n)) => Value::from(n == 1),
        _ => Value::from(format!("hash {}", field::to_hex(&v))),
    }
}

fn condition(op: &str, v: &Value) -> String {
    let v = match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!(
            "{{{}}}",
            a.iter()
                .map(|x| x.as_str().map_or(x.to_string(), str::to_string))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    };
    match op {
        "$eq" => format!("= {v}"),
        "$ne" => format!("!= {v}"),
        "$lt" => format!("< {v}"),
        "$lte" => format!("<= {v}"),
        "$gt" => format!("> {v}"),
        "$gte" => format!(">= {v}"),
        "$in" => format!("in {v}"),
        "$nin" => format!("not in {v}"),
        "$between" => format!("between {v}"),
        other => format!("{other} {v}"),
    }
}

impl Verdict {
    /// Describes a verified presentation: `issuers` names each slot's accepted issuer,
    /// `revealed` the revealed values (credential-major) and `nullifier` the holder's nullifier
    /// in the backend's field, hex.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        request: &PresentationRequest,
        encoded: &EncodedQuery,
        issuers: &[String],
        revealed_values: &[dossier_core::Fr],
        nullifier: &str,
        cp: &CheckpointBody,
        schemas: &SchemaSet,
        (setup, insecure): (&str, bool),
        now: u64,
    ) -> Verdict {
        let mut proven = Vec::new();
        let mut revealed = Vec::new();
        for (m, cq) in request.query.credentials.iter().enumerate() {
            let issuer = issuers.get(m).cloned().unwrap_or_default();
            let conditions: Vec<String> = cq
                .predicates
                .iter()
                .flat_map(|(f, ops)| {
                    ops.iter()
                        .map(move |(op, v)| format!("{f} {}", condition(op, v)))
                })
                .collect();
            let mut s = format!(
                "holds a valid `{}` credential issued by {issuer}, unexpired on {}",
                cq.schema, request.today
            );
            if !conditions.is_empty() {
                s.push_str(&format!(", with {}", conditions.join(" and ")));
            }
            proven.push(s);
            if let Ok(schema) = schemas.get(&cq.schema) {
                for (r, code) in encoded.credentials[m].reveals.iter().enumerate() {
                    if *code > 0 {
                        let f = &schema.fields[*code as usize - 1];
                        let v = revealed_values[m * encoded.shape.reveals + r];
                        revealed.push(Revealed {
                            credential: m,
                            schema: cq.schema.clone(),
                            field: f.name.clone(),
                            value: decode(&f.ty, v),
                        });
                    }
                }
            }
        }
        if let Some(sum) = &request.query.sum {
            proven.push(format!("the `{}` of those `{}` credentials add up to at least {} (each credential counted once)", sum.field, sum.schema, sum.at_least));
        }
        proven.push("all credentials belong to one holder, who knows their secret".into());
        Verdict {
            valid: true,
            proven,
            revealed,
            scope: request.scope.clone(),
            nullifier: nullifier.to_string(),
            checkpoint_size: cp.size,
            checkpoint_age_seconds: now.saturating_sub(cp.time),
            insecure_setup: insecure,
            setup: setup.to_string(),
        }
    }
}
