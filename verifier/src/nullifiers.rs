//! A verifier's record of nullifiers seen per scope: a second presentation by the same holder
//! in the same scope is refused. Kept as a JSON file written atomically.

use crate::VerifyError;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Nullifiers seen, by scope.
#[derive(Debug, Default)]
pub struct NullifierStore {
    path: Option<PathBuf>,
    seen: BTreeMap<String, BTreeSet<String>>,
}

impl NullifierStore {
    /// An in-memory store.
    pub fn in_memory() -> NullifierStore {
        NullifierStore::default()
    }

    /// Opens (or starts) a store backed by a file.
    pub fn open(path: &Path) -> Result<NullifierStore, VerifyError> {
        let seen = if path.exists() {
            let text = std::fs::read_to_string(path).map_err(|e| VerifyError::Malformed {
                what: "nullifier store".into(),
                reason: e.to_string(),
            })?;
            serde_json::from_str(&text).map_err(|e| VerifyError::Malformed {
                what: "nullifier store".into(),
                reason: e.to_string(),
            })?
        } else {
            BTreeMap::new()
        };
        Ok(NullifierStore {
            path: Some(path.to_path_buf()),
            seen,
        })
    }

    /// Refuses a nullifier already seen in the scope; otherwise records it (durably, if backed
    /// by a file).
    pub fn check_and_record(&mut self, scope: &str, nullifier: &str) -> Result<(), VerifyError> {
        let n = nullifier.to_string();
        if self.seen.get(scope).is_some_and(|s| s.contains(&n)) {
            return Err(VerifyError::Replayed(scope.to_string()));
        }
        self.seen.entry(scope.to_string()).or_default().insert(n);
        if let Some(path) = &self.path {
            let text =
                serde_json::to_string_pretty(&self.seen).map_err(|e| VerifyError::Malformed {
                    what: "nullifier store".into(),
                    reason: e.to_string(),
                })?;
            let tmp = path.with_extension("tmp");
            let io = |e: std::io::Error| VerifyError::Malformed {
                what: "nullifier store".into(),
                reason: e.to_string(),
            };
            std::fs::write(&tmp, text).map_err(io)?;
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
            std::fs::rename(&tmp, path).map_err(io)?;
        }
        Ok(())
    }
}
