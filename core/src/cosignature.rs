//! Witness cosignatures of checkpoints (c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`),
//! and the witness policy a verifier applies: a checkpoint is believed only if enough witnesses
//! it trusts — parties the ledger operator does not control, each keeping the latest checkpoint
//! it saw consistent — cosigned it, so an operator cannot show two histories (a split view).
//!
//! A cosignature is a signed-note signature line `— <witness name> base64(key id || timestamp ||
//! signature)`: the key id is `SHA-256(name || "\n" || 0x04 || public key)[:4]`, the timestamp
//! a big-endian u64 (POSIX seconds), and the Ed25519 signature covers
//! `"cosignature/v1\ntime <timestamp>\n" || <the checkpoint's note text>`. A witness's verifier
//! key is `<name>+<key id hex>+base64(0x04 || public key)`.

use crate::keys::KeyPair;
use crate::CoreError;
use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::VerifyingKey;
use std::collections::BTreeSet;

/// The signed-note signature type byte of an Ed25519 cosignature/v1 key.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// The most witnesses a policy may name (a bound on work driven by configuration).
pub const MAX_WITNESSES: usize = 32;

fn bad(reason: &str) -> CoreError {
    CoreError::Key {
        reason: reason.to_string(),
    }
}

fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let encoded = [&[ALG_COSIGNATURE_V1][..], public.as_bytes()].concat();
    signed_note::key_id(name, &encoded)
}

/// The message a cosignature signs.
fn signed_message(timestamp: u64, note_text: &[u8]) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(note_text);
    msg
}

/// A signed note's text (checked by `signed_note`) and its signature lines, read once.
fn split_note(note: &[u8]) -> Option<(Vec<u8>, Vec<signed_note::Signature>)> {
    let text = signed_note::Note::from_bytes(note).ok()?.text().to_vec();
    let (_, sigs) = std::str::from_utf8(note).ok()?.rsplit_once("\n\n")?;
    let sigs = sigs
        .lines()
        .filter_map(|l| signed_note::Signature::from_bytes(l.as_bytes()).ok())
        .collect();
    Some((text, sigs))
}

/// A witness's public identity: its name and Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    name: String,
    public: VerifyingKey,
    id: u32,
}

impl WitnessKey {
    /// Parses a cosignature/v1 verifier key `<name>+<key id>+base64(0x04 || key)`, checking the
    /// key id.
    pub fn parse(vkey: &str) -> Result<WitnessKey, CoreError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(b)) => (n, i, b),
            _ => return Err(bad("expected a witness key name+id+key")),
        };
        if !crate::keys::valid_key_name(name) {
            return Err(bad("the witness key's name is not a valid key name"));
        }
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| bad("the witness key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_COSIGNATURE_V1 {
            return Err(bad("not a cosignature/v1 (Ed25519, type 0x04) key"));
        }
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&raw[1..]);
        let public = crate::keys::public_from_bytes(&bytes)?;
        let id = key_id(name, &public);
        if id_hex.len() != 8 || format!("{id:08x}") != id_hex {
            return Err(bad("the witness key id does not match the key"));
        }
        Ok(WitnessKey {
            name: name.to_string(),
            public,
            id,
        })
    }

    /// The verifier key text.
    pub fn vkey(&self) -> String {
        let raw = [&[ALG_COSIGNATURE_V1][..], self.public.as_bytes()].concat();
        format!("{}+{:08x}+{}", self.name, self.id, STANDARD.encode(raw))
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id signature lines carry.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The timestamp of this witness's valid cosignature on `note` (a signed note: text, blank
    /// line, signature lines), if it carries one.
    pub fn cosigned(&self, note: &[u8]) -> Option<u64> {
        let (text, sigs) = split_note(note)?;
        self.cosigned_in(&text, &sigs)
    }

    /// [`WitnessKey::cosigned`] over a note already split.
    fn cosigned_in(&self, text: &[u8], sigs: &[signed_note::Signature]) -> Option<u64> {
        sigs.iter()
            .filter(|s| s.name() == self.name && s.id() == self.id)
            .find_map(|s| self.check(text, s.signature()))
    }

    /// Checks a signature body (`timestamp || signature`) on a note text; its timestamp.
    fn check(&self, text: &[u8], body: &[u8]) -> Option<u64> {
        let (ts, sig) = body.split_first_chunk::<8>()?;
        let sig: &[u8; 64] = sig.try_into().ok()?;
        let timestamp = u64::from_be_bytes(*ts);
        if timestamp > i64::MAX as u64 {
            return None;
        }
        let msg = signed_message(timestamp, text);
        crate::keys::verify_strict(&self.public, &msg, sig, "cosignature")
            .ok()
            .map(|()| timestamp)
    }
}

/// A witness's signing side: a named Ed25519 key that cosigns checkpoints.
pub struct Cosigner {
    key: KeyPair,
}

impl Cosigner {
    /// A cosigner over a key (its name is the witness's name).
    pub fn new(key: KeyPair) -> Cosigner {
        Cosigner { key }
    }

    /// The witness's public identity.
    pub fn witness_key(&self) -> WitnessKey {
        let public = self.key.public();
        WitnessKey {
            name: self.key.name().to_string(),
            id: key_id(self.key.name(), &public),
            public,
        }
    }

    /// The cosignature line (`— name base64(...)\n`) on a checkpoint's note text, at
    /// `timestamp`.
    pub fn cosign(&self, note_text: &[u8], timestamp: u64) -> Result<String, CoreError> {
        if timestamp > i64::MAX as u64 {
            return Err(CoreError::Malformed {
                what: "cosignature".into(),
                reason: "timestamp above 2^63 - 1".into(),
            });
        }
        let sig = self.key.sign_bytes(&signed_message(timestamp, note_text));
        let mut body = timestamp.to_be_bytes().to_vec();
        body.extend_from_slice(&sig);
        let id = self.witness_key().id;
        let line = signed_note::Signature::new(self.key.name().to_string(), id, body)
            .map_err(|_| bad("the witness key's name is not a valid key name"))?;
        String::from_utf8(line.to_bytes()).map_err(|_| bad("signature line is not UTF-8"))
    }

    /// The witness's approval of a key revocation: its signature over the statement
    /// ([`crate::entry::revocation_statement`], domain-separated from cosignatures).
    pub fn approve(&self, statement: &[u8]) -> crate::entry::Approval {
        crate::entry::Approval {
            key_id: self.witness_key().id,
            signature: self.key.sign_bytes(statement),
        }
    }
}

/// Which witnesses a verifier trusts, and how many of them must have cosigned a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessPolicy {
    /// At least this many distinct witnesses of the list.
    pub threshold: usize,
    /// The witnesses trusted.
    pub witnesses: Vec<WitnessKey>,
}

impl WitnessPolicy {
    /// No witnesses asked for: the ledger's own signature is the only trust point.
    pub fn none() -> WitnessPolicy {
        WitnessPolicy {
            threshold: 0,
            witnesses: Vec::new(),
        }
    }

    /// A `threshold`-of-`witnesses` policy, refusing an impossible or unbounded one and a
    /// witness listed twice.
    pub fn new(threshold: usize, witnesses: Vec<WitnessKey>) -> Result<WitnessPolicy, CoreError> {
        let fail = |reason: &str| CoreError::Malformed {
            what: "witness policy".into(),
            reason: reason.to_string(),
        };
        if witnesses.len() > MAX_WITNESSES {
            return Err(fail("more than 32 witnesses"));
        }
        if threshold > witnesses.len() {
            return Err(fail("the threshold exceeds the number of witnesses"));
        }
        let names: BTreeSet<&str> = witnesses.iter().map(|w| w.name()).collect();
        if names.len() != witnesses.len() {
            return Err(fail("a witness is listed twice"));
        }
        Ok(WitnessPolicy {
            threshold,
            witnesses,
        })
    }

    /// Parses `k` and one witness verifier key per line (blank lines and `#` comments
    /// skipped): the first non-comment line is `threshold <k>`.
    pub fn parse(text: &str) -> Result<WitnessPolicy, CoreError> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'));
        let threshold = lines
            .next()
            .and_then(|l| l.strip_prefix("threshold "))
            .and_then(|k| k.parse::<usize>().ok())
            .ok_or_else(|| CoreError::Malformed {
                what: "witness policy".into(),
                reason: "the first line must be `threshold <k>`".into(),
            })?;
        let witnesses = lines
            .take(MAX_WITNESSES + 1)
            .map(WitnessKey::parse)
            .collect::<Result<Vec<_>, _>>()?;
        WitnessPolicy::new(threshold, witnesses)
    }

    /// The policy in the form [`WitnessPolicy::parse`] reads (empty when none is asked for).
    pub fn to_text(&self) -> String {
        if self.witnesses.is_empty() {
            return String::new();
        }
        let mut out = format!("threshold {}\n", self.threshold);
        for w in &self.witnesses {
            out.push_str(&w.vkey());
            out.push('\n');
        }
        out
    }

    /// Checks that a revocation carries valid approvals of at least `threshold` distinct
    /// trusted witnesses; the names of those that approved.
    pub fn check_approvals(
        &self,
        statement: &[u8],
        approvals: &[crate::entry::Approval],
    ) -> Result<Vec<String>, CoreError> {
        let approved: Vec<String> = self
            .witnesses
            .iter()
            .filter(|w| {
                approvals.iter().any(|a| {
                    a.key_id == w.id
                        && crate::keys::verify_strict(
                            &w.public,
                            statement,
                            &a.signature,
                            "approval",
                        )
                        .is_ok()
                })
            })
            .map(|w| w.name().to_string())
            .collect();
        if approved.len() < self.threshold {
            return Err(CoreError::Witnesses {
                needed: self.threshold,
                found: approved.len(),
            });
        }
        Ok(approved)
    }

    /// Checks that a signed checkpoint note carries valid cosignatures of at least
    /// `threshold` distinct trusted witnesses; the names of those that cosigned.
    pub fn check(&self, note: &[u8]) -> Result<Vec<String>, CoreError> {
        if self.witnesses.is_empty() {
            return Ok(Vec::new()); // the threshold is 0: nothing to read on the hot path
        }
        let (text, sigs) = split_note(note).unwrap_or_default();
        let cosigned: Vec<String> = self
            .witnesses
            .iter()
            .filter(|w| w.cosigned_in(&text, &sigs).is_some())
            .map(|w| w.name().to_string())
            .collect();
        if cosigned.len() < self.threshold {
            return Err(CoreError::Witnesses {
                needed: self.threshold,
                found: cosigned.len(),
            });
        }
        Ok(cosigned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn revocations_need_the_policy_s_approvals_over_the_exact_statement() {
        use crate::entry::{revocation_statement, KeySubject};
        let (a, b, c) = (
            cosigner("a.example", 1),
            cosigner("b.example", 2),
            cosigner("c.example", 3),
        );
        let policy = WitnessPolicy::new(2, vec![a.witness_key(), b.witness_key(), c.witness_key()])
            .expect("policy");
        let subject = KeySubject::Issuer(crate::Fr::from(7u64));
        let statement = revocation_statement(&subject, &[1; 32], 5, &[2; 32]);
        let one = vec![a.approve(&statement)];
        assert!(policy.check_approvals(&statement, &one).is_err(), "1 of 3");
        let twice = vec![a.approve(&statement), a.approve(&statement)];
        assert!(
            policy.check_approvals(&statement, &twice).is_err(),
            "one witness twice"
        );
        let two = vec![a.approve(&statement), c.approve(&statement)];
        assert_eq!(
            policy.check_approvals(&statement, &two).expect("2 of 3"),
            ["a.example", "c.example"]
        );
        let other = revocation_statement(&subject, &[1; 32], 4, &[2; 32]);
        assert!(
            policy.check_approvals(&other, &two).is_err(),
            "another from-entry"
        );
        let stranger = cosigner("d.example", 4);
        let with_stranger = vec![a.approve(&statement), stranger.approve(&statement)];
        assert!(
            policy.check_approvals(&statement, &with_stranger).is_err(),
            "not in the policy"
        );
        // An approval is not a cosignature, nor the reverse: the messages are domain-separated.
        assert!(!statement.starts_with(b"cosignature/v1"));
    }

    fn cosigner(name: &str, seed: u64) -> Cosigner {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        Cosigner::new(KeyPair::generate(name, &mut rng).expect("key"))
    }

    const NOTE_TEXT: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    fn signed(extra: &[String]) -> Vec<u8> {
        let mut note = format!("{NOTE_TEXT}\n— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n");
        for l in extra {
            note.push_str(l);
        }
        note.into_bytes()
    }

    #[test]
    fn an_external_witness_key_parses_with_its_key_id() {
        // A cosignature/v1 verifier key of a public witness (transparency-dev/formats' tests).
        let k = WitnessKey::parse(
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
        )
        .expect("parses");
        assert_eq!(k.name(), "remora.n621.de");
        assert_eq!(k.key_id(), 0xda77ade7);
        assert_eq!(
            k.vkey(),
            "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2"
        );
        // The same key with another id, a plain Ed25519 (0x01) note key, garbage: refused.
        for bad in [
            "remora.n621.de+00000000+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2",
            "TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6",
            "rekor.sigstore.dev+12345678+THIS_IS_NOT_BASE64!",
            "bananas+12344556",
            "",
        ] {
            assert!(WitnessKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_timestamp_is_read_from_an_external_cosignature() {
        // transparency-dev/formats' CoSigV1Timestamp vector: key id, then 1727964367.
        let raw = STANDARD
            .decode("ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==")
            .expect("base64");
        assert_eq!(raw.len(), 4 + 8 + 64);
        let ts = u64::from_be_bytes(raw[4..12].try_into().expect("8 bytes"));
        assert_eq!(ts, 1727964367);
    }

    #[test]
    fn a_cosignature_verifies_and_binds_text_time_and_witness() {
        let w = cosigner("witness.example/w1", 1);
        let key = w.witness_key();
        assert_eq!(WitnessKey::parse(&key.vkey()).expect("round trip"), key);
        let line = w.cosign(NOTE_TEXT.as_bytes(), 1679315147).expect("cosign");
        assert!(line.starts_with("— witness.example/w1 "));
        let note = signed(std::slice::from_ref(&line));
        assert_eq!(key.cosigned(&note), Some(1679315147));
        // The signed message is the spec's: header, time line, note text.
        let body = STANDARD
            .decode(line.trim_end().rsplit(' ').next().expect("b64"))
            .expect("base64");
        assert_eq!(
            u32::from_be_bytes(body[..4].try_into().expect("id")),
            key.key_id()
        );
        let sig: [u8; 64] = body[12..].try_into().expect("sig");
        let msg = format!("cosignature/v1\ntime 1679315147\n{NOTE_TEXT}");
        crate::keys::verify_strict(&w.key.public(), msg.as_bytes(), &sig, "x")
            .expect("spec message");

        // Another text (one byte of the root), another witness's key, a changed timestamp.
        let tampered = String::from_utf8(note.clone())
            .expect("utf8")
            .replace("CsUY", "CsUZ");
        assert_eq!(key.cosigned(tampered.as_bytes()), None);
        assert_eq!(
            cosigner("witness.example/w1", 2)
                .witness_key()
                .cosigned(&note),
            None
        );
        let mut body2 = body.clone();
        body2[11] ^= 1;
        let forged = format!("— witness.example/w1 {}\n", STANDARD.encode(&body2));
        assert_eq!(key.cosigned(&signed(&[forged])), None);
        // A timestamp above 2^63 - 1 is refused on both sides.
        assert!(w.cosign(NOTE_TEXT.as_bytes(), 1 << 63).is_err());
    }

    #[test]
    fn a_policy_counts_distinct_trusted_witnesses() {
        let ws: Vec<Cosigner> = (0..3)
            .map(|i| cosigner(&format!("w{i}.example"), i))
            .collect();
        let keys: Vec<WitnessKey> = ws.iter().map(Cosigner::witness_key).collect();
        let policy = WitnessPolicy::new(2, keys.clone()).expect("policy");
        let one = ws[0].cosign(NOTE_TEXT.as_bytes(), 10).expect("cosign");
        let two = ws[1].cosign(NOTE_TEXT.as_bytes(), 11).expect("cosign");
        let outsider = cosigner("w9.example", 9)
            .cosign(NOTE_TEXT.as_bytes(), 12)
            .expect("cosign");
        assert!(policy.check(&signed(&[])).is_err());
        assert!(policy.check(&signed(std::slice::from_ref(&one))).is_err());
        // The same witness twice counts once; an untrusted witness not at all.
        assert!(policy.check(&signed(&[one.clone(), one.clone()])).is_err());
        assert!(policy
            .check(&signed(&[one.clone(), outsider.clone()]))
            .is_err());
        assert_eq!(
            policy
                .check(&signed(&[one.clone(), outsider, two.clone()]))
                .expect("2 of 3"),
            vec!["w0.example".to_string(), "w1.example".to_string()]
        );
        // Policies: impossible, duplicated, parsed.
        assert!(WitnessPolicy::new(4, keys.clone()).is_err());
        assert!(WitnessPolicy::new(1, vec![keys[0].clone(), keys[0].clone()]).is_err());
        let text = format!(
            "# two of three\nthreshold 2\n{}\n{}\n\n{}\n",
            keys[0].vkey(),
            keys[1].vkey(),
            keys[2].vkey()
        );
        assert_eq!(WitnessPolicy::parse(&text).expect("parses"), policy);
        assert!(WitnessPolicy::parse("threshold two\n").is_err());
        assert!(WitnessPolicy::parse(&keys[0].vkey()).is_err());
        assert!(WitnessPolicy::none().check(&signed(&[])).is_ok());
    }

    #[test]
    fn a_policy_reads_back_from_its_text() {
        let keys: Vec<WitnessKey> = (0..2)
            .map(|i| cosigner(&format!("w{i}.example"), 10 + i).witness_key())
            .collect();
        let policy = WitnessPolicy::new(2, keys).expect("policy");
        assert_eq!(
            WitnessPolicy::parse(&policy.to_text()).expect("parse"),
            policy
        );
        assert_eq!(WitnessPolicy::none().to_text(), "");
    }
}
