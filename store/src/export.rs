//! The ledger export a regulator receives: the log's entries and checkpoints, and the key the
//! ledger claims, as one JSON document. Nothing in it is personal data: entries carry
//! commitments, ids and signatures.
//!
//! ```json
//! {"format": "dossier-ledger-export/v1", "origin": "...", "log_key": "<signed-note verifier key>",
//!  "log_key_genesis": "<the first key, after a rotation>",
//!  "entries": ["<base64 entry>", ...], "checkpoints": ["<signed note>", ...]}
//! ```

use crate::StoreError;
use base64::{engine::general_purpose::STANDARD, Engine};
use serde::{Deserialize, Serialize};

/// The format tag of a ledger export.
pub const FORMAT: &str = "dossier-ledger-export/v1";

/// A ledger export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerExport {
    /// Always [`FORMAT`].
    pub format: String,
    /// The ledger's origin (its checkpoints' first line).
    pub origin: String,
    /// The ledger's verifier key in force as it claims it; an auditor should pin its own copy.
    pub log_key: String,
    /// The ledger's first key, when it has rotated since (the audit follows the rotations from
    /// it to `log_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_key_genesis: Option<String>,
    /// Entry bytes, in log order.
    #[serde(with = "b64_vec")]
    pub entries: Vec<Vec<u8>>,
    /// Signed checkpoints, oldest first.
    pub checkpoints: Vec<String>,
}

mod b64_vec {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|e| STANDARD.encode(e)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .enumerate()
            .map(|(i, s)| {
                STANDARD
                    .decode(s)
                    .map_err(|_| serde::de::Error::custom(format!("entry {i} is not base64")))
            })
            .collect()
    }
}

impl LedgerExport {
    /// Parses an export, refusing other formats.
    pub fn from_json(text: &str) -> Result<LedgerExport, StoreError> {
        let e: LedgerExport = serde_json::from_str(text).map_err(|e| StoreError::Export {
            reason: e.to_string(),
        })?;
        if e.format != FORMAT {
            return Err(StoreError::Export {
                reason: format!("unknown format `{}` (expected {FORMAT})", e.format),
            });
        }
        Ok(e)
    }

    /// The export as JSON.
    pub fn to_json(&self) -> Result<String, StoreError> {
        serde_json::to_string(self).map_err(|e| StoreError::Export {
            reason: e.to_string(),
        })
    }
}
