//! Schemas: named, versioned lists of typed fields, shipped as JSON files in `schemas/`.
//!
//! A schema's identifier is `field_from_digest(SHA-256(canonical form))` where the canonical form
//! is the JSON object `{"fields":[...],"name":...,"version":...}` with keys sorted, no white
//! space, each field `{"max":...,"members":[...],"min":...,"name":...,"type":...}` (`members`
//! for enums only, `min`/`max` for `uint` fields that declare bounds, which issuance enforces).
//! Descriptions are documentation and do not change the id. See `docs/encoding.md`.

use crate::credential::SLOTS;
use crate::encoding::FieldType;
use crate::{field, CoreError};
use ark_bn254::Fr;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One field as written in a schema file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldFile {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    members: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    min: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// A schema file as written.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaFile {
    name: String,
    version: u32,
    #[serde(default)]
    description: String,
    fields: Vec<FieldFile>,
}

/// One typed field of a schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaField {
    /// The field's name, unique in its schema.
    pub name: String,
    /// Its type, which fixes its encoding.
    pub ty: FieldType,
    /// The least value issuance accepts (`uint` fields only).
    pub min: Option<u64>,
    /// The greatest value issuance accepts (`uint` fields only).
    pub max: Option<u64>,
    /// Documentation.
    pub description: Option<String>,
}

impl SchemaField {
    /// Refuses an encoded value outside the field's declared bounds (naming the bounds, not
    /// the value).
    fn check_bounds(&self, v: &Fr) -> Result<(), CoreError> {
        if self.min.is_none() && self.max.is_none() {
            return Ok(());
        }
        let (lo, hi) = (self.min.unwrap_or(0), self.max.unwrap_or(u64::MAX));
        if *v < Fr::from(lo) || *v > Fr::from(hi) {
            return Err(CoreError::Value {
                field: self.name.clone(),
                reason: format!("must be between {lo} and {hi}"),
            });
        }
        Ok(())
    }
}

/// A validated schema with its identifier.
#[derive(Clone, Debug)]
pub struct Schema {
    /// The schema's name (lower case, digits, `_` and `-`).
    pub name: String,
    /// Its version; a change of fields is a new version and so a new id.
    pub version: u32,
    /// Documentation.
    pub description: String,
    /// The fields, in slot order.
    pub fields: Vec<SchemaField>,
    id: Fr,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

impl Schema {
    /// Parses and validates a schema file's JSON.
    pub fn from_json(text: &str) -> Result<Schema, CoreError> {
        let file: SchemaFile = serde_json::from_str(text).map_err(|e| CoreError::Schema {
            schema: "(unparsed)".into(),
            reason: e.to_string(),
        })?;
        let bad = |reason: String| CoreError::Schema {
            schema: file.name.clone(),
            reason,
        };
        if !valid_name(&file.name) {
            return Err(bad("name must be 1-64 of a-z, 0-9, _ and -".into()));
        }
        if file.fields.is_empty() || file.fields.len() > SLOTS {
            return Err(bad(format!("must have 1 to {SLOTS} fields")));
        }
        let mut fields = Vec::with_capacity(file.fields.len());
        for f in &file.fields {
            if !valid_name(&f.name) {
                return Err(bad(format!("field name `{}` is not valid", f.name)));
            }
            if fields.iter().any(|g: &SchemaField| g.name == f.name) {
                return Err(bad(format!("field `{}` declared twice", f.name)));
            }
            let ty = match (f.ty.as_str(), &f.members) {
                ("uint", None) => FieldType::Uint,
                ("date", None) => FieldType::Date,
                ("bool", None) => FieldType::Bool,
                ("string", None) => FieldType::String,
                ("enum", Some(m)) => {
                    if m.is_empty() || m.iter().any(|x| !valid_name(x)) {
                        return Err(bad(format!("enum `{}` needs valid member names", f.name)));
                    }
                    if m.iter().enumerate().any(|(i, x)| m[..i].contains(x)) {
                        return Err(bad(format!("enum `{}` repeats a member", f.name)));
                    }
                    FieldType::Enum { members: m.clone() }
                }
                (_, Some(_)) => {
                    return Err(bad(format!("only enum fields have members (`{}`)", f.name)))
                }
                (other, None) => {
                    return Err(bad(format!(
                        "field `{}` has unknown type `{other}`",
                        f.name
                    )))
                }
            };
            if (f.min.is_some() || f.max.is_some()) && ty != FieldType::Uint {
                return Err(bad(format!("only uint fields have bounds (`{}`)", f.name)));
            }
            if f.min.unwrap_or(0) > f.max.unwrap_or(u64::MAX) {
                return Err(bad(format!("field `{}`: min is above max", f.name)));
            }
            fields.push(SchemaField {
                name: f.name.clone(),
                ty,
                min: f.min,
                max: f.max,
                description: f.description.clone(),
            });
        }
        let mut schema = Schema {
            name: file.name.clone(),
            version: file.version,
            description: file.description,
            fields,
            id: Fr::from(0u64),
        };
        schema.id = field::from_digest(&Sha256::digest(schema.canonical().as_bytes()).into());
        Ok(schema)
    }

    /// The canonical form whose SHA-256 is the id (see the module doc).
    pub fn canonical(&self) -> String {
        let q = |s: &str| serde_json::Value::String(s.to_string()).to_string();
        let fields: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let max = f.max.map(|m| format!("\"max\":{m},")).unwrap_or_default();
                let min = f.min.map(|m| format!("\"min\":{m},")).unwrap_or_default();
                match &f.ty {
                    FieldType::Enum { members } => format!(
                        "{{\"members\":[{}],\"name\":{},\"type\":\"enum\"}}",
                        members.iter().map(|m| q(m)).collect::<Vec<_>>().join(","),
                        q(&f.name)
                    ),
                    t => format!(
                        "{{{max}{min}\"name\":{},\"type\":\"{}\"}}",
                        q(&f.name),
                        t.name()
                    ),
                }
            })
            .collect();
        format!(
            "{{\"fields\":[{}],\"name\":{},\"version\":{}}}",
            fields.join(","),
            q(&self.name),
            self.version
        )
    }

    /// The schema's identifier, a field element.
    pub fn id(&self) -> Fr {
        self.id
    }

    /// Encodes a JSON object of field values into the schema's slots (unused slots are 0).
    /// Refuses missing, undeclared and ill-typed fields, naming the field.
    pub fn encode(
        &self,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<[Fr; SLOTS], CoreError> {
        if let Some(extra) = values
            .keys()
            .find(|k| !self.fields.iter().any(|f| &f.name == *k))
        {
            return Err(CoreError::UnknownField {
                schema: self.name.clone(),
                field: extra.clone(),
            });
        }
        let mut slots = [Fr::from(0u64); SLOTS];
        for (slot, f) in slots.iter_mut().zip(&self.fields) {
            let v = values.get(&f.name).ok_or_else(|| CoreError::MissingField {
                schema: self.name.clone(),
                field: f.name.clone(),
            })?;
            *slot = f.ty.encode(&f.name, v)?;
            f.check_bounds(slot)?;
        }
        Ok(slots)
    }

    /// The slot index of a field.
    pub fn slot_of(&self, field: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == field)
    }

    /// A field by name, or [`CoreError::UnknownField`] naming this schema.
    pub fn field(&self, name: &str) -> Result<&SchemaField, CoreError> {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .ok_or_else(|| CoreError::UnknownField {
                schema: self.name.clone(),
                field: name.to_string(),
            })
    }
}

/// The schemas a tool knows, by name.
#[derive(Clone, Debug, Default)]
pub struct SchemaSet {
    by_name: BTreeMap<String, Schema>,
}

/// The schema files shipped with dossier, embedded at build time.
const BUILTIN: [&str; 8] = [
    include_str!("../../schemas/employment.json"),
    include_str!("../../schemas/qualification.json"),
    include_str!("../../schemas/appraisal.json"),
    include_str!("../../schemas/training.json"),
    include_str!("../../schemas/reward.json"),
    include_str!("../../schemas/sanction.json"),
    include_str!("../../schemas/transfer.json"),
    include_str!("../../schemas/retirement.json"),
];

impl SchemaSet {
    /// The schemas shipped for the civil-service domain.
    pub fn builtin() -> SchemaSet {
        let mut set = SchemaSet::default();
        for text in BUILTIN {
            // The shipped files are checked by this crate's tests.
            if let Ok(s) = Schema::from_json(text) {
                set.by_name.insert(s.name.clone(), s);
            }
        }
        set
    }

    /// Adds a schema, refusing a second schema of the same name.
    pub fn insert(&mut self, schema: Schema) -> Result<(), CoreError> {
        if self.by_name.contains_key(&schema.name) {
            return Err(CoreError::Schema {
                schema: schema.name,
                reason: "a schema of this name is already known".into(),
            });
        }
        self.by_name.insert(schema.name.clone(), schema);
        Ok(())
    }

    /// The schema of that name.
    pub fn get(&self, name: &str) -> Result<&Schema, CoreError> {
        self.by_name
            .get(name)
            .ok_or_else(|| CoreError::UnknownSchema {
                name: name.to_string(),
            })
    }

    /// The schema with that id.
    pub fn by_id(&self, id: &Fr) -> Option<&Schema> {
        self.by_name.values().find(|s| &s.id == id)
    }

    /// All schemas, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Schema> {
        self.by_name.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shipped_schemas_are_valid() {
        for text in BUILTIN {
            Schema::from_json(text).expect("shipped schema is valid");
        }
        assert_eq!(SchemaSet::builtin().iter().count(), BUILTIN.len());
    }

    #[test]
    fn ordered_enums_follow_the_design() {
        let set = SchemaSet::builtin();
        let grade = &set.get("appraisal").expect("appraisal").fields[1].ty;
        let encode = |v: &str| grade.encode("grade", &json!(v)).expect("member");
        assert!(encode("excellent") > encode("competent"));
        assert!(encode("competent") > encode("basically_competent"));
        assert!(encode("basically_competent") > encode("incompetent"));
        let degree = &set.get("qualification").expect("qualification").fields[0].ty;
        let d = |v: &str| degree.encode("degree_level", &json!(v)).expect("member");
        assert!(
            d("associate") < d("bachelor")
                && d("bachelor") < d("master")
                && d("master") < d("doctorate")
        );
    }

    #[test]
    fn canonical_form_ignores_descriptions_and_sorts_keys() {
        let a = Schema::from_json(r#"{"name":"s","version":1,"description":"x","fields":[{"name":"g","type":"enum","members":["a","b"],"description":"d"}]}"#).expect("valid");
        let b = Schema::from_json(
            r#"{"fields":[{"members":["a","b"],"type":"enum","name":"g"}],"version":1,"name":"s"}"#,
        )
        .expect("valid");
        assert_eq!(
            a.canonical(),
            r#"{"fields":[{"members":["a","b"],"name":"g","type":"enum"}],"name":"s","version":1}"#
        );
        assert_eq!(a.id(), b.id());
        let c = Schema::from_json(
            r#"{"name":"s","version":2,"fields":[{"name":"g","type":"enum","members":["a","b"]}]}"#,
        )
        .expect("valid");
        assert_ne!(a.id(), c.id());
    }

    #[test]
    fn invalid_schemas_are_refused() {
        for bad in [
            r#"{"name":"s","version":1,"fields":[]}"#,
            r#"{"name":"S","version":1,"fields":[{"name":"a","type":"uint"}]}"#,
            r#"{"name":"s","version":1,"fields":[{"name":"a","type":"float"}]}"#,
            r#"{"name":"s","version":1,"fields":[{"name":"a","type":"uint"},{"name":"a","type":"uint"}]}"#,
            r#"{"name":"s","version":1,"fields":[{"name":"a","type":"enum","members":["x","x"]}]}"#,
            r#"{"name":"s","version":1,"fields":[{"name":"a","type":"uint","members":["x"]}]}"#,
            r#"{"name":"s","version":1,"fields":[{"name":"a","type":"uint"}],"extra":1}"#,
        ] {
            assert!(Schema::from_json(bad).is_err(), "{bad}");
        }
        let eight: Vec<String> = (0..8)
            .map(|i| format!(r#"{{"name":"f{i}","type":"uint"}}"#))
            .collect();
        let too_many = format!(
            r#"{{"name":"s","version":1,"fields":[{}]}}"#,
            eight.join(",")
        );
        assert!(Schema::from_json(&too_many).is_err());
    }

    #[test]
    fn encoding_refuses_missing_and_extra_fields() {
        let set = SchemaSet::builtin();
        let s = set.get("appraisal").expect("appraisal");
        let ok = json!({"year": 2024, "grade": "competent", "score": 88, "unit": "tax-audit", "training_hours": 96});
        let slots = s.encode(ok.as_object().expect("object")).expect("valid");
        assert_eq!(slots[0], Fr::from(2024u64));
        assert_eq!(slots[6], Fr::from(0u64));
        let missing = json!({"year": 2024, "grade": "competent"});
        assert!(matches!(
            s.encode(missing.as_object().expect("o")),
            Err(CoreError::MissingField { .. })
        ));
        let extra = json!({"year": 2024, "grade": "competent", "score": 1, "unit": "tax-audit", "training_hours": 96, "name": "x"});
        assert!(matches!(
            s.encode(extra.as_object().expect("o")),
            Err(CoreError::UnknownField { .. })
        ));
        assert!(matches!(
            set.get("payroll"),
            Err(CoreError::UnknownSchema { .. })
        ));
    }
}
