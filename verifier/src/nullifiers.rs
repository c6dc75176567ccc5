//! A verifier's record of nullifiers seen per scope: a second presentation by the same holder
//! in the same scope is refused. Kept as a JSON file written atomically.
//!
//! A scope belongs to the first backend that presents in it. The two backends compute a holder's
//! nullifier in different fields (Poseidon over BN254 for Groth16, Pasta Poseidon for halo2),
//! so the same holder has two unrelated nullifiers for one scope: if a scope accepted both, one
//! holder could present twice by switching proof systems. There is no sound way to compare them
//! without the secret, so the store refuses a second backend in a scope.

use crate::VerifyError;
use dossier_core::presentation::Backend;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What one scope has seen.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Scope {
    /// The backend the scope belongs to (`None` only for scopes read from a file written
    /// before backends were recorded: the next presentation fixes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backend: Option<Backend>,
    /// The nullifiers seen.
    nullifiers: BTreeSet<String>,
}

/// The file form: `{"version": 2, "scopes": {scope: {backend, nullifiers}}}`; a file of the
/// first form (`{scope: [nullifier, ...]}`) is read with no backend per scope.
#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum File {
    Current {
        version: u32,
        scopes: BTreeMap<String, Scope>,
    },
    First(BTreeMap<String, BTreeSet<String>>),
}

/// Nullifiers seen, by scope.
#[derive(Debug, Default)]
pub struct NullifierStore {
    path: Option<PathBuf>,
    scopes: BTreeMap<String, Scope>,
}

fn store_error(reason: impl ToString) -> VerifyError {
    VerifyError::Malformed {
        what: "nullifier store".into(),
        reason: reason.to_string(),
    }
}

impl NullifierStore {
    /// An in-memory store.
    pub fn in_memory() -> NullifierStore {
        NullifierStore::default()
    }

    /// Opens (or starts) a store backed by a file.
    pub fn open(path: &Path) -> Result<NullifierStore, VerifyError> {
        let scopes = if path.exists() {
            let text = std::fs::read_to_string(path).map_err(store_error)?;
            match serde_json::from_str(&text).map_err(store_error)? {
                File::Current { version: 2, scopes } => scopes,
                File::Current { .. } => return Err(store_error("unknown version")),
                File::First(old) => old
                    .into_iter()
                    .map(|(scope, nullifiers)| {
                        (
                            scope,
                            Scope {
                                backend: None,
                                nullifiers,
                            },
                        )
                    })
                    .collect(),
            }
        } else {
            BTreeMap::new()
        };
        Ok(NullifierStore {
            path: Some(path.to_path_buf()),
            scopes,
        })
    }

    /// Refuses a nullifier already seen in the scope, or a presentation of another backend than
    /// the scope's; otherwise records it (durably, if backed by a file).
    pub fn check_and_record(
        &mut self,
        scope: &str,
        backend: Backend,
        nullifier: &str,
    ) -> Result<(), VerifyError> {
        let mut next = self.scopes.get(scope).cloned().unwrap_or_default();
        if let Some(used) = next.backend.filter(|b| *b != backend) {
            return Err(VerifyError::ScopeBackend { used });
        }
        if !next.nullifiers.insert(nullifier.to_string()) {
            return Err(VerifyError::Replayed);
        }
        next.backend = Some(backend);
        let previous = self.scopes.insert(scope.to_string(), next);
        if let Err(e) = self.save() {
            // Nothing acknowledged that is not on disk: undo in memory too.
            match previous {
                Some(p) => self.scopes.insert(scope.to_string(), p),
                None => self.scopes.remove(scope),
            };
            return Err(e);
        }
        Ok(())
    }

    fn save(&self) -> Result<(), VerifyError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = File::Current {
            version: 2,
            scopes: self.scopes.clone(),
        };
        let text = serde_json::to_string_pretty(&file).map_err(store_error)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).map_err(store_error)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(store_error)?;
        std::fs::rename(&tmp, path).map_err(store_error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_belongs_to_its_first_backend() {
        // Regression: a Groth16 and a halo2 presentation of one holder in one scope both
        // verified (their nullifiers differ), so the holder presented twice.
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("seen.json");
        let mut s = NullifierStore::open(&path).expect("open");
        s.check_and_record("s", Backend::Groth16, "0x01")
            .expect("first");
        assert!(matches!(
            s.check_and_record("s", Backend::Halo2, "0x02"),
            Err(VerifyError::ScopeBackend {
                used: Backend::Groth16
            })
        ));
        assert!(matches!(
            s.check_and_record("s", Backend::Groth16, "0x01"),
            Err(VerifyError::Replayed)
        ));
        s.check_and_record("t", Backend::Halo2, "0x01")
            .expect("another scope, another backend");
        // Reopened from its file, the store remembers both.
        let mut again = NullifierStore::open(&path).expect("reopen");
        assert!(matches!(
            again.check_and_record("s", Backend::Halo2, "0x03"),
            Err(VerifyError::ScopeBackend { .. })
        ));
        assert!(matches!(
            again.check_and_record("t", Backend::Halo2, "0x01"),
            Err(VerifyError::Replayed)
        ));
    }

    #[test]
    fn a_file_of_the_first_form_is_read_and_fixed_by_the_next_presentation() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("seen.json");
        std::fs::write(&path, r#"{"s": ["0x01"]}"#).expect("write");
        let mut s = NullifierStore::open(&path).expect("open");
        assert!(matches!(
            s.check_and_record("s", Backend::Halo2, "0x01"),
            Err(VerifyError::Replayed)
        ));
        s.check_and_record("s", Backend::Halo2, "0x02")
            .expect("fixes the backend");
        assert!(matches!(
            NullifierStore::open(&path)
                .expect("reopen")
                .check_and_record("s", Backend::Groth16, "0x03"),
            Err(VerifyError::ScopeBackend { .. })
        ));
    }
}
