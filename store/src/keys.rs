//! Whose key must have signed each ledger entry, following key rotations and revocations in
//! log order: what the audit checks signatures and checkpoints against.
//!
//! An issuer's first key is the one it registered (self-signed); the ledger's first key is the
//! genesis key. A `KeyRotated` entry, signed by the subject's key in force, makes the next key
//! (which proves possession) the only one trusted for the subject's later entries. A
//! `KeyRevoked` entry, signed by the ledger's key in force (for the ledger's own key: by the
//! replacement), retires the key in force and voids the subject's entries it signed from
//! `from_entry` on; its witnesses' approvals are checked against an auditor's policy
//! ([`crate::audit::check_revocations`]). A checkpoint of size `n` is signed by the ledger key
//! in force after entry `n - 1`.

use crate::audit::{fail, Discrepancy, DiscrepancyKind};
use dossier_core::entry::{
    possession_message, revocation_statement, Approval, Entry, EntryBody, KeySubject,
};
use dossier_core::keys::{public_from_bytes, verify_strict};
use dossier_core::Fr;
use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use std::collections::HashMap;

/// A key event as the audit reports it.
#[derive(Clone, Debug, Serialize)]
pub struct KeyEvent {
    /// The entry that made it.
    pub entry: u64,
    /// `ledger`, or the issuer's name.
    pub subject: String,
    /// `rotated` or `revoked`.
    pub event: &'static str,
    /// For a revocation: the first entry no longer trusted under the revoked key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_entry: Option<u64>,
    /// For a revocation: the subject's entries it voids (signed by the revoked key from
    /// `from_entry` on).
    pub voided: Vec<u64>,
    /// For a revocation: the statement its witnesses signed.
    #[serde(skip)]
    pub statement: Vec<u8>,
    /// For a revocation: the witnesses' approvals.
    #[serde(skip)]
    pub approvals: Vec<Approval>,
}

/// The signer of every entry and the ledger's key over time.
pub(crate) struct KeyTimeline {
    /// For each entry: its subject and the key that must have signed it (`None` when the
    /// issuer is not registered yet: the replay reports that).
    pub expected: Vec<Option<(KeySubject, VerifyingKey)>>,
    /// For each entry: a problem with a rotation or revocation it makes.
    pub problems: Vec<Option<Discrepancy>>,
    /// Every key each subject has held, in order.
    pub history: HashMap<KeySubject, Vec<VerifyingKey>>,
    /// The ledger's keys, each with the first checkpoint size it signs.
    pub ledger: Vec<(u64, VerifyingKey)>,
    /// Rotations and revocations, in log order.
    pub events: Vec<KeyEvent>,
}

impl KeyTimeline {
    /// The ledger key that signs a checkpoint of `size`.
    pub fn ledger_key_at(&self, size: u64) -> VerifyingKey {
        let mut key = self.ledger[0].1;
        for (from, k) in &self.ledger {
            if *from <= size {
                key = *k;
            }
        }
        key
    }

    /// The ledger's key in force after the last entry.
    pub fn final_ledger_key(&self) -> VerifyingKey {
        self.ledger[self.ledger.len() - 1].1
    }

    /// Whether `entry`, which failed under its expected key, verifies under another key its
    /// subject held: signed by a retired key.
    pub fn signed_by_retired(&self, index: usize, entry: &Entry) -> bool {
        let Some(Some((subject, expected))) = self.expected.get(index) else {
            return false;
        };
        self.history.get(subject).is_some_and(|keys| {
            keys.iter()
                .filter(|k| *k != expected)
                .any(|k| entry.verify(k).is_ok())
        })
    }
}

struct Builder {
    current: HashMap<KeySubject, VerifyingKey>,
    names: HashMap<Fr, String>,
    t: KeyTimeline,
}

impl Builder {
    fn name(&self, subject: &KeySubject) -> String {
        match subject {
            KeySubject::Ledger => "ledger".into(),
            KeySubject::Issuer(id) => self
                .names
                .get(id)
                .cloned()
                .unwrap_or_else(|| dossier_core::field::to_hex(id)),
            KeySubject::Accreditor => "accreditor".into(),
        }
    }

    /// Makes `new` the subject's key in force from entry `index + 1` on.
    fn replace(&mut self, index: usize, subject: KeySubject, new: VerifyingKey) {
        self.current.insert(subject, new);
        self.t.history.entry(subject).or_default().push(new);
        if subject == KeySubject::Ledger {
            self.t.ledger.push((index as u64 + 1, new));
        }
    }

    /// The next key of a rotation or revocation, checked to prove possession.
    fn next_key(
        subject: &KeySubject,
        new_key: &[u8; 32],
        possession: &[u8; 64],
        at: &str,
    ) -> Result<VerifyingKey, Discrepancy> {
        let bad = |m: &str| fail(at, DiscrepancyKind::BadEntrySignature, m);
        let key = public_from_bytes(new_key).map_err(|_| bad("its new key is malformed"))?;
        verify_strict(
            &key,
            &possession_message(subject, new_key),
            possession,
            "possession",
        )
        .map_err(|_| bad("its new key does not prove possession"))?;
        Ok(key)
    }

    fn step(&mut self, index: usize, entry: &Entry) {
        let at = format!("entry {index}");
        let ledger = self.current[&KeySubject::Ledger];
        let (expected, problem) = match &entry.body {
            EntryBody::IssuerRegistered {
                issuer_id,
                public_key,
                name,
            } => {
                let subject = KeySubject::Issuer(*issuer_id);
                match public_from_bytes(public_key) {
                    Ok(k) if !self.current.contains_key(&subject) => {
                        self.names.insert(*issuer_id, name.clone());
                        self.replace(index, subject, k);
                        (Some((subject, k)), None)
                    }
                    Ok(k) => (Some((subject, k)), None), // a second registration: the replay says so
                    Err(_) => (None, None),
                }
            }
            EntryBody::RegistryRoots { .. } | EntryBody::Ceremony { .. } => {
                (Some((KeySubject::Ledger, ledger)), None)
            }
            EntryBody::AccreditorNamed { public_key, .. } => {
                let subject = KeySubject::Accreditor;
                match public_from_bytes(public_key) {
                    Ok(k) if !self.current.contains_key(&subject) => {
                        self.replace(index, subject, k);
                        (Some((subject, k)), None)
                    }
                    Ok(k) => (Some((subject, k)), None), // a second one: the replay says so
                    Err(_) => (None, Some(self.unknown(&subject, &at))),
                }
            }
            EntryBody::Accredited { .. } | EntryBody::AccreditationWithdrawn { .. } => {
                let subject = KeySubject::Accreditor;
                (self.current.get(&subject).map(|k| (subject, *k)), None)
            }
            EntryBody::KeyRotated {
                subject,
                new_key,
                possession,
            } => match self.current.get(subject).copied() {
                None => (None, Some(self.unknown(subject, &at))),
                Some(old) => match Self::next_key(subject, new_key, possession, &at) {
                    Ok(new) => {
                        self.replace(index, *subject, new);
                        self.t.events.push(KeyEvent {
                            entry: index as u64,
                            subject: self.name(subject),
                            event: "rotated",
                            from_entry: None,
                            voided: Vec::new(),
                            statement: Vec::new(),
                            approvals: Vec::new(),
                        });
                        (Some((*subject, old)), None)
                    }
                    Err(d) => (Some((*subject, old)), Some(d)),
                },
            },
            EntryBody::KeyRevoked {
                subject,
                revoked_key,
                from_entry,
                new_key,
                possession,
                approvals,
            } => {
                let signer = |new| match subject {
                    KeySubject::Ledger => (KeySubject::Ledger, new),
                    KeySubject::Issuer(_) | KeySubject::Accreditor => (KeySubject::Ledger, ledger),
                };
                match self.revoke(index, subject, revoked_key, *from_entry, &at) {
                    Err(d) => (None, Some(d)),
                    Ok(revoked) => match Self::next_key(subject, new_key, possession, &at) {
                        Err(d) => (Some(signer(revoked)), Some(d)),
                        Ok(new) => {
                            let voided = self.voided(index, subject, &revoked, *from_entry);
                            self.replace(index, *subject, new);
                            self.t.events.push(KeyEvent {
                                entry: index as u64,
                                subject: self.name(subject),
                                event: "revoked",
                                from_entry: Some(*from_entry),
                                voided,
                                statement: revocation_statement(
                                    subject,
                                    revoked_key,
                                    *from_entry,
                                    new_key,
                                ),
                                approvals: approvals.clone(),
                            });
                            (Some(signer(new)), None)
                        }
                    },
                }
            }
            body => match body.issuer_id() {
                Some(id) => {
                    let subject = KeySubject::Issuer(id);
                    (self.current.get(&subject).map(|k| (subject, *k)), None)
                }
                None => (None, None),
            },
        };
        self.t.expected.push(expected);
        self.t.problems.push(problem);
    }

    fn unknown(&self, subject: &KeySubject, at: &str) -> Discrepancy {
        fail(
            at,
            DiscrepancyKind::InvalidTransition,
            format!(
                "a key event for `{}`, which is not registered",
                self.name(subject)
            ),
        )
    }

    /// The key a revocation retires: the subject's key in force, from an entry not after it.
    fn revoke(
        &self,
        index: usize,
        subject: &KeySubject,
        revoked_key: &[u8; 32],
        from_entry: u64,
        at: &str,
    ) -> Result<VerifyingKey, Discrepancy> {
        let current = self
            .current
            .get(subject)
            .copied()
            .ok_or_else(|| self.unknown(subject, at))?;
        if current.as_bytes() != revoked_key {
            return Err(fail(
                at,
                DiscrepancyKind::InvalidTransition,
                format!(
                    "it revokes a key of `{}` that is not in force",
                    self.name(subject)
                ),
            ));
        }
        if from_entry > index as u64 {
            return Err(fail(
                at,
                DiscrepancyKind::InvalidTransition,
                "it revokes from an entry after itself",
            ));
        }
        Ok(current)
    }

    /// The subject's entries in `[from, index)` that the revoked key signed.
    fn voided(
        &self,
        index: usize,
        subject: &KeySubject,
        revoked: &VerifyingKey,
        from: u64,
    ) -> Vec<u64> {
        (from as usize..index)
            .filter(|j| {
                matches!(self.t.expected.get(*j), Some(Some((s, k))) if s == subject && k == revoked)
            })
            .map(|j| j as u64)
            .collect()
    }
}

/// The timeline of a decoded log, from the ledger's genesis key. Entries that did not decode
/// have no expected key (the audit reports them first).
pub(crate) fn timeline(
    decoded: &[Result<Entry, Discrepancy>],
    genesis: VerifyingKey,
) -> KeyTimeline {
    let mut b = Builder {
        current: HashMap::from([(KeySubject::Ledger, genesis)]),
        names: HashMap::new(),
        t: KeyTimeline {
            expected: Vec::with_capacity(decoded.len()),
            problems: Vec::with_capacity(decoded.len()),
            history: HashMap::from([(KeySubject::Ledger, vec![genesis])]),
            ledger: vec![(0, genesis)],
            events: Vec::new(),
        },
    };
    for (i, e) in decoded.iter().enumerate() {
        match e {
            Ok(entry) => b.step(i, entry),
            Err(_) => {
                b.t.expected.push(None);
                b.t.problems.push(None);
            }
        }
    }
    b.t
}
