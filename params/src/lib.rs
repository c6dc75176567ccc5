//! dossier's key files and their manifest, shared by the prover and the verifier.
//!
//! A params folder holds, per shipped shape, a Groth16 proving key (`<shape>.pk`), a verifying
//! key (`<shape>.vk`) and the shape's constraint matrices (`<shape>.r1cs`), with
//! `manifest.json` pinning each file by its SHA-256 and saying how the keys were made. A file
//! whose bytes do not hash to the manifest's value is refused by [`read_pinned`]. The prover
//! reads the proving key and matrices, the verifier only the verifying keys; neither depends on
//! the other. The deterministic development setup writes these files (INSECURE: its toxic
//! waste derives from a public seed); a multi-party ceremony (`dossier ceremony`) writes the
//! same files, a manifest with `"insecure": false` and a [`CeremonyRecord`], and keeps the
//! phase 1 file and each shape's transcript beside the keys so anyone can re-verify them.

use dossier_core::query::Shape;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The manifest's file name inside a params folder.
pub const MANIFEST: &str = "manifest.json";

/// Why a params folder could not be used. Messages name the file, never its contents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// There is no manifest: no keys were made in this folder.
    #[error("{path}: no key manifest (run `dossier setup`)")]
    NoManifest {
        /// The manifest's path.
        path: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of the expected form.
    #[error("{path}: malformed manifest: {reason}")]
    Malformed {
        /// The manifest's path.
        path: String,
        /// Why.
        reason: String,
    },
    /// A key file's bytes do not hash to the manifest's value.
    #[error("{path} does not match the manifest's SHA-256")]
    Mismatch {
        /// The file.
        path: String,
    },
    /// The manifest has no keys for a shape.
    #[error("no keys for shape {shape}")]
    NoShape {
        /// The shape's name.
        shape: String,
    },
}

/// One shape's keys in the manifest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// The shape.
    pub shape: Shape,
    /// Its constraint count.
    pub constraints: usize,
    /// Proving key file (relative to the folder).
    pub pk_file: String,
    /// SHA-256 of the proving key file.
    pub pk_sha256: String,
    /// Verifying key file.
    pub vk_file: String,
    /// SHA-256 of the verifying key file.
    pub vk_sha256: String,
    /// The shape's constraint matrices as key generation saw them (the prover's, optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r1cs_file: Option<String>,
    /// SHA-256 of the matrices file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r1cs_sha256: Option<String>,
}

/// One contribution to a shape's phase 2, as the manifest records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContributionRecord {
    /// Who contributed.
    pub name: String,
    /// The contribution's hash (hex), which its contributor published.
    pub hash: String,
    /// Whether it was the public random beacon.
    pub beacon: bool,
}

/// One shape's ceremony: the transcript file (kept beside the keys so anyone can re-verify) and
/// who contributed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeCeremony {
    /// The transcript file (relative to the folder).
    pub transcript_file: String,
    /// SHA-256 of the transcript file.
    pub transcript_sha256: String,
    /// The transcript's hash chain head (hex): the last contribution's hash.
    pub transcript_hash: String,
    /// The contributions, in order.
    pub contributions: Vec<ContributionRecord>,
}

/// How a ceremony made the keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeremonyRecord {
    /// The phase 1 file (relative to the folder).
    pub phase1_file: String,
    /// SHA-256 of the phase 1 file.
    pub phase1_sha256: String,
    /// Where phase 1 came from and who contributed to it.
    pub phase1: String,
    /// Per shape.
    pub shapes: BTreeMap<String, ShapeCeremony>,
}

/// The keys of the appraisal round's window circuit: one circuit for rounds of every size
/// (`dossier_core::round`), so one setup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundKeys {
    /// The circuit's name (its window size), e.g. `round-w64`.
    pub circuit: String,
    /// Its constraint count.
    pub constraints: usize,
    /// Proving key file (relative to the folder).
    pub pk_file: String,
    /// SHA-256 of the proving key file.
    pub pk_sha256: String,
    /// Verifying key file.
    pub vk_file: String,
    /// SHA-256 of the verifying key file.
    pub vk_sha256: String,
    /// The constraint matrices file.
    pub r1cs_file: String,
    /// SHA-256 of the matrices file.
    pub r1cs_sha256: String,
    /// How these keys were made.
    pub setup: String,
    /// True for the deterministic development setup.
    pub insecure: bool,
}

/// `params/manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// How the keys were made.
    pub setup: String,
    /// True for the deterministic development setup, which must never protect real decisions.
    pub insecure: bool,
    /// The shapes, by name.
    pub shapes: BTreeMap<String, ManifestEntry>,
    /// The ceremony that made the keys (absent for the development setup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ceremony: Option<CeremonyRecord>,
    /// The appraisal round circuit's keys, when made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round: Option<RoundKeys>,
}

impl Manifest {
    /// Reads a folder's manifest.
    pub fn load(dir: &Path) -> Result<Manifest, ParamsError> {
        let path = dir.join(MANIFEST);
        let shown = path.display().to_string();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ParamsError::NoManifest { path: shown })
            }
            Err(source) => {
                return Err(ParamsError::Io {
                    path: shown,
                    source,
                })
            }
        };
        serde_json::from_str(&text).map_err(|e| ParamsError::Malformed {
            path: shown,
            reason: e.to_string(),
        })
    }

    /// Writes the manifest into a folder.
    pub fn save(&self, dir: &Path) -> Result<(), ParamsError> {
        let path = dir.join(MANIFEST);
        let text = serde_json::to_string_pretty(self).map_err(|e| ParamsError::Malformed {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        std::fs::write(&path, text).map_err(|source| ParamsError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The entry of a shape.
    pub fn entry(&self, shape: &Shape) -> Result<&ManifestEntry, ParamsError> {
        self.shapes
            .get(&shape.name())
            .filter(|e| &e.shape == shape)
            .ok_or_else(|| ParamsError::NoShape {
                shape: shape.name(),
            })
    }
}

/// The SHA-256 of some bytes, hex: how the manifest pins a file.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Reads a key file and checks it against its pinned hash.
pub fn read_pinned(dir: &Path, file: &str, sha256: &str) -> Result<Vec<u8>, ParamsError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|source| ParamsError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if sha256_hex(&bytes) != sha256 {
        return Err(ParamsError::Mismatch {
            path: path.display().to_string(),
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_files_are_read_only_when_they_match() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("k"), b"key").expect("write");
        let pin = sha256_hex(b"key");
        assert_eq!(read_pinned(dir.path(), "k", &pin).expect("pinned"), b"key");
        std::fs::write(dir.path().join("k"), b"kez").expect("write");
        assert!(matches!(
            read_pinned(dir.path(), "k", &pin),
            Err(ParamsError::Mismatch { .. })
        ));
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(ParamsError::NoManifest { .. })
        ));
        std::fs::write(dir.path().join(MANIFEST), "{").expect("write");
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(ParamsError::Malformed { .. })
        ));
    }
}
