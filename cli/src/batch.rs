//! Reading claims to issue: one JSON object, JSON Lines, or CSV.
//!
//! CSV: a header row `schema,holder,expires_at,<field>,...`; each row fills the named fields
//! of its schema (cells of other schemas' fields stay empty); an empty `expires_at` means none.
//! Every claim is checked before anything is issued: one bad line refuses the whole batch, with
//! its line number and field.

use crate::error::{io, CliError};
use dossier_core::credential::{Claim, EncodedClaim};
use dossier_core::encoding::FieldType;
use dossier_core::schema::SchemaSet;
use rayon::prelude::*;
use serde_json::Value;
use std::path::Path;

/// Parses and encodes every claim in a file (JSON Lines, or CSV by its `.csv` ending).
pub fn read_claims(path: &Path, schemas: &SchemaSet) -> Result<Vec<EncodedClaim>, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let claims: Vec<(usize, Claim)> = if path.extension().and_then(|e| e.to_str()) == Some("csv") {
        csv_claims(&text, schemas)?
    } else {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str::<Claim>(l)
                    .map(|c| (i + 1, c))
                    .map_err(|e| CliError::Input(format!("{}:{}: {e}", path.display(), i + 1)))
            })
            .collect::<Result<_, _>>()?
    };
    claims
        .par_iter()
        .map(|(line, c)| {
            c.encode(schemas)
                .map_err(|e| CliError::Input(format!("{}:{line}: {e}", path.display())))
        })
        .collect()
}

/// Reads one claim from a JSON file.
pub fn read_claim(path: &Path, schemas: &SchemaSet) -> Result<EncodedClaim, CliError> {
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let claim: Claim = serde_json::from_str(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    claim
        .encode(schemas)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

fn csv_claims(text: &str, schemas: &SchemaSet) -> Result<Vec<(usize, Claim)>, CliError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| CliError::Input(format!("CSV header: {e}")))?
        .clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (schema_col, holder_col) = match (col("schema"), col("holder")) {
        (Some(s), Some(h)) => (s, h),
        _ => {
            return Err(CliError::Input(
                "CSV header must name `schema` and `holder` columns".into(),
            ))
        }
    };
    let expires_col = col("expires_at");
    let halo2_col = col("holder_halo2");
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = record.map_err(|e| CliError::Input(format!("CSV line {line}: {e}")))?;
        let cell = |c: usize| record.get(c).unwrap_or("").to_string();
        let schema_name = cell(schema_col);
        let schema = schemas
            .get(&schema_name)
            .map_err(|e| CliError::Input(format!("CSV line {line}: {e}")))?;
        let mut fields = serde_json::Map::new();
        for (c, h) in headers.iter().enumerate() {
            if [Some(schema_col), Some(holder_col), expires_col, halo2_col].contains(&Some(c)) {
                continue;
            }
            let v = cell(c);
            match schema.fields.iter().find(|f| f.name == h) {
                Some(f) if !v.is_empty() => {
                    let value = match (&f.ty, v.as_str()) {
                        (FieldType::Bool, "true") => Value::Bool(true),
                        (FieldType::Bool, "false") => Value::Bool(false),
                        _ => Value::String(v),
                    };
                    fields.insert(h.to_string(), value);
                }
                Some(_) => {}
                None if v.is_empty() => {}
                None => {
                    return Err(CliError::Input(format!(
                        "CSV line {line}: field `{h}` is not declared by schema `{schema_name}`"
                    )))
                }
            }
        }
        let expires_at = expires_col.map(cell).filter(|s| !s.is_empty());
        out.push((
            line,
            Claim {
                schema: schema_name,
                holder: cell(holder_col),
                holder_halo2: halo2_col.map(cell).filter(|s| !s.is_empty()),
                expires_at,
                fields,
            },
        ));
    }
    Ok(out)
}
