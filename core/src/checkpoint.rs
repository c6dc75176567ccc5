//! Checkpoints: signed tree heads of the ledger in the C2SP tlog-checkpoint format, carried in a
//! C2SP signed note, whose extension lines also commit to every registry's root.
//!
//! ```text
//! <origin>
//! <tree size>
//! <base64 SHA-256 root hash>
//! time <unix seconds>
//! registry <issuer id 0x..> <registry root 0x..> <live credentials> <halo2 twin root 0x..>
//! ...
//! <blank line>
//! — <origin> <base64 key id || Ed25519 signature>
//! ```
//! A registry root is *anchored* by a checkpoint whose signature a verifier trusts and that
//! lists it. The same roots are in the ledger's last entry (a `RegistryRoots` entry) at that
//! size, so an auditor can tie them to the replayed log.

use crate::entry::RegistryRoot;
use crate::keys::KeyPair;
use crate::{field, CoreError};
use base64::{engine::general_purpose::STANDARD, Engine};

/// The content of a checkpoint, before or after signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointBody {
    /// The ledger's name (and its key's name).
    pub origin: String,
    /// The number of entries in the log.
    pub size: u64,
    /// The RFC 6962 root hash of the log at that size.
    pub root_hash: [u8; 32],
    /// When it was signed, unix seconds.
    pub time: u64,
    /// Every registry's root, ordered by issuer id.
    pub registries: Vec<RegistryRoot>,
}

fn malformed(reason: &str) -> CoreError {
    CoreError::Malformed {
        what: "checkpoint".into(),
        reason: reason.to_string(),
    }
}

impl CheckpointBody {
    /// The note text (without signatures).
    pub fn to_text(&self) -> Result<String, CoreError> {
        let mut ext = format!("time {}\n", self.time);
        for r in &self.registries {
            ext.push_str(&format!(
                "registry {} {} {} {}\n",
                field::to_hex(&r.issuer_id),
                field::to_hex(&r.root),
                r.live,
                crate::pasta::to_hex(&r.root_halo2)
            ));
        }
        let cp = tlog_tiles::Checkpoint::new(
            &self.origin,
            self.size,
            tlog_tiles::Hash(self.root_hash),
            &ext,
        )
        .map_err(|_| malformed("origin or extension lines are not valid"))?;
        String::from_utf8(cp.to_bytes()).map_err(|_| malformed("not UTF-8"))
    }

    /// Parses note text (without signatures) strictly.
    pub fn from_text(text: &[u8]) -> Result<CheckpointBody, CoreError> {
        let cp = tlog_tiles::Checkpoint::from_bytes(text)
            .map_err(|_| malformed("not a C2SP checkpoint"))?;
        let mut lines = cp.extension().lines();
        let time = lines
            .next()
            .and_then(|l| l.strip_prefix("time "))
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(|| malformed("first extension line must be `time <unix seconds>`"))?;
        let mut registries: Vec<RegistryRoot> = Vec::new();
        for line in lines {
            let mut parts = line.split(' ');
            match (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) {
                (Some("registry"), Some(id), Some(root), Some(live), Some(root_halo2), None) => {
                    let r = RegistryRoot {
                        issuer_id: field::parse("issuer id", id)?,
                        root: field::parse("registry root", root)?,
                        root_halo2: crate::pasta::parse("registry root (halo2)", root_halo2)?,
                        live: live
                            .parse()
                            .map_err(|_| malformed("live count is not a number"))?,
                    };
                    if registries
                        .last()
                        .is_some_and(|p| p.issuer_id >= r.issuer_id)
                    {
                        return Err(malformed("registries out of order or repeated"));
                    }
                    registries.push(r);
                }
                _ => return Err(malformed("unknown extension line")),
            }
        }
        Ok(CheckpointBody {
            origin: cp.origin().to_string(),
            size: cp.size(),
            root_hash: cp.hash().0,
            time,
            registries,
        })
    }

    /// Signs the checkpoint with the ledger's key; returns the signed note.
    pub fn sign(&self, key: &KeyPair) -> Result<String, CoreError> {
        if key.name() != self.origin {
            return Err(CoreError::Key {
                reason: "the checkpoint key's name must be the ledger's origin".into(),
            });
        }
        let mut note = signed_note::Note::new(self.to_text()?.as_bytes(), &[])
            .map_err(|_| malformed("not a valid note"))?;
        note.add_sigs(&[key])
            .map_err(|_| malformed("could not be signed"))?;
        String::from_utf8(note.to_bytes()).map_err(|_| malformed("not UTF-8"))
    }

    /// The registry root of one issuer in this checkpoint.
    pub fn registry(&self, issuer_id: &ark_bn254::Fr) -> Option<&RegistryRoot> {
        self.registries.iter().find(|r| &r.issuer_id == issuer_id)
    }
}

/// Verifies a signed checkpoint against the ledger's verifier key and parses it. Refuses an
/// unsigned note, a signature by another key, and a body whose origin is not the key's name.
pub fn open(note: &[u8], verifier_key: &str) -> Result<CheckpointBody, CoreError> {
    let verifier =
        signed_note::StandardVerifier::new(verifier_key).map_err(|_| CoreError::Key {
            reason: "ledger verifier key is malformed".into(),
        })?;
    let origin = signed_note::Verifier::name(&verifier).to_string();
    let parsed = signed_note::Note::from_bytes(note).map_err(|_| malformed("not a signed note"))?;
    let known = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    parsed.verify(&known).map_err(|_| CoreError::BadSignature {
        what: "checkpoint".into(),
    })?;
    let body = CheckpointBody::from_text(parsed.text())?;
    if body.origin != origin {
        return Err(malformed("origin is not the signing key's name"));
    }
    Ok(body)
}

/// What a verifier trusts a checkpoint by: the ledger's key it pins and the witness policy it
/// applies (k of n witnesses must have cosigned; c2sp.org/tlog-cosignature). With no witnesses
/// the ledger operator's signature is the only trust point, and a split view goes unnoticed.
#[derive(Clone, Debug)]
pub struct Trust {
    /// The ledger's verifier key.
    pub log_key: String,
    /// The witnesses, and how many must have cosigned.
    pub witnesses: crate::cosignature::WitnessPolicy,
}

impl Trust {
    /// The ledger's key alone (no witness asked for).
    pub fn key_only(log_key: &str) -> Trust {
        Trust {
            log_key: log_key.to_string(),
            witnesses: crate::cosignature::WitnessPolicy::none(),
        }
    }

    /// The ledger's key and a witness policy.
    pub fn witnessed(log_key: &str, witnesses: crate::cosignature::WitnessPolicy) -> Trust {
        Trust {
            log_key: log_key.to_string(),
            witnesses,
        }
    }

    /// Opens a checkpoint note: the ledger's signature, then the witness policy.
    pub fn open(&self, note: &[u8]) -> Result<CheckpointBody, CoreError> {
        let body = open(note, &self.log_key)?;
        self.witnesses.check(note)?;
        Ok(body)
    }
}

/// The root hash in base64, as checkpoints write it.
pub fn root_hash_b64(h: &[u8; 32]) -> String {
    STANDARD.encode(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;

    fn body() -> CheckpointBody {
        CheckpointBody {
            origin: "dossier.example/ledger".into(),
            size: 12,
            root_hash: [7u8; 32],
            time: 1_790_000_000,
            registries: vec![
                RegistryRoot {
                    issuer_id: Fr::from(1u64),
                    root: Fr::from(11u64),
                    root_halo2: crate::pasta::Fp::from(111),
                    live: 3,
                },
                RegistryRoot {
                    issuer_id: Fr::from(2u64),
                    root: Fr::from(22u64),
                    root_halo2: crate::pasta::Fp::from(222),
                    live: 0,
                },
            ],
        }
    }

    #[test]
    fn signed_checkpoint_round_trips() {
        let k = KeyPair::generate("dossier.example/ledger", &mut rand::thread_rng()).expect("key");
        let note = body().sign(&k).expect("signs");
        assert!(note.starts_with("dossier.example/ledger\n12\n"));
        assert_eq!(
            open(note.as_bytes(), &k.verifier_key()).expect("valid"),
            body()
        );
    }

    #[test]
    fn tampering_and_wrong_keys_are_refused() {
        let k = KeyPair::generate("dossier.example/ledger", &mut rand::thread_rng()).expect("key");
        let note = body().sign(&k).expect("signs");
        let tampered = note.replace("\n12\n", "\n13\n");
        assert!(matches!(
            open(tampered.as_bytes(), &k.verifier_key()),
            Err(CoreError::BadSignature { .. })
        ));
        let root_line = format!("registry {} ", field::to_hex(&Fr::from(1u64)));
        let tampered = note.replace(
            &format!("{root_line}{}", field::to_hex(&Fr::from(11u64))),
            &format!("{root_line}{}", field::to_hex(&Fr::from(12u64))),
        );
        assert_ne!(tampered, note);
        assert!(open(tampered.as_bytes(), &k.verifier_key()).is_err());
        let twin = crate::pasta::to_hex(&crate::pasta::Fp::from(111));
        let tampered = note.replace(&twin, &crate::pasta::to_hex(&crate::pasta::Fp::from(112)));
        assert_ne!(tampered, note);
        assert!(
            open(tampered.as_bytes(), &k.verifier_key()).is_err(),
            "the halo2 root is signed too"
        );
        let unsigned = body().to_text().expect("text") + "\n";
        assert!(open(unsigned.as_bytes(), &k.verifier_key()).is_err());
        let other =
            KeyPair::generate("dossier.example/ledger", &mut rand::thread_rng()).expect("key");
        assert!(open(note.as_bytes(), &other.verifier_key()).is_err());
        let mut dup = body();
        dup.registries[1].issuer_id = Fr::from(1u64);
        let note = dup.sign(&k).expect("signs");
        assert!(
            open(note.as_bytes(), &k.verifier_key()).is_err(),
            "repeated registry"
        );
    }
}
