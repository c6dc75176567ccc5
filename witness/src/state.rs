//! The witness's state and its one operation, `add_checkpoint`.

use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_core::checkpoint;
use dossier_core::cosignature::Cosigner;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use std::collections::BTreeMap;
use std::path::Path;

/// The largest request body read (a checkpoint lists every registry's root).
pub const MAX_BODY: usize = 1 << 20;
/// The most consistency-proof lines a request may carry (C2SP: 63).
const MAX_PROOF: usize = 63;

/// origin -> (size, root hash): the latest checkpoint cosigned per log.
const LATEST: TableDefinition<&str, (u64, [u8; 32])> = TableDefinition::new("latest");

/// Why a checkpoint was not cosigned; each maps to the protocol's status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// The request is not `old N`, proof lines, a blank line and a note (400).
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// The checkpoint's origin is not a log this witness knows (404).
    #[error("unknown log origin")]
    UnknownOrigin,
    /// No signature of the log's key verifies (403).
    #[error("the checkpoint is not signed by the log's key")]
    Forbidden,
    /// The old size is not the size held, or a checkpoint of the held size has another root
    /// (409; the size held is returned).
    #[error("the witness holds a checkpoint of size {held}")]
    Conflict {
        /// The size of the latest checkpoint cosigned for this log.
        held: u64,
    },
    /// The consistency proof does not verify (422).
    #[error("the consistency proof does not verify")]
    BadProof,
    /// The state could not be read or written (500; nothing was cosigned).
    #[error("witness state: {0}")]
    Store(String),
    /// The cosignature could not be made.
    #[error(transparent)]
    Core(#[from] dossier_core::CoreError),
}

fn store<E: std::fmt::Display>(e: E) -> WitnessError {
    WitnessError::Store(e.to_string())
}

/// A parsed `add-checkpoint` request.
struct Request<'a> {
    old: u64,
    proof: Vec<[u8; 32]>,
    note: &'a [u8],
}

/// The body of an `add-checkpoint` request, as a ledger sends it: `old <size>`, one base64
/// line per consistency-proof hash, a blank line, the signed checkpoint (what
/// [`Witness::add_checkpoint`] parses).
pub fn request_body(old: u64, proof: &[[u8; 32]], note: &str) -> String {
    let mut body = format!("old {old}\n");
    for h in proof {
        body.push_str(&STANDARD.encode(h));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body
}

fn parse_request(body: &[u8]) -> Result<Request<'_>, WitnessError> {
    let text = std::str::from_utf8(body).map_err(|_| WitnessError::Malformed("not UTF-8"))?;
    let (head, note) = text.split_once("\n\n").ok_or(WitnessError::Malformed(
        "no blank line before the checkpoint",
    ))?;
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or(WitnessError::Malformed(
            "the first line must be `old <size>`",
        ))?;
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == MAX_PROOF {
            return Err(WitnessError::Malformed("more than 63 proof lines"));
        }
        let raw = STANDARD
            .decode(line)
            .map_err(|_| WitnessError::Malformed("a proof line is not base64"))?;
        let hash: [u8; 32] = raw
            .try_into()
            .map_err(|_| WitnessError::Malformed("a proof line is not a 32-byte hash"))?;
        proof.push(hash);
    }
    Ok(Request {
        old,
        proof,
        note: note.as_bytes(),
    })
}

/// A witness: its cosigning key, the logs it knows (origin -> the log's verifier key) and its
/// state.
pub struct Witness {
    cosigner: Cosigner,
    logs: BTreeMap<String, String>,
    db: Database,
}

impl Witness {
    /// Opens (or creates) the state at `path`.
    pub fn open(
        path: &Path,
        cosigner: Cosigner,
        logs: BTreeMap<String, String>,
    ) -> Result<Witness, WitnessError> {
        let db = Database::create(path).map_err(store)?;
        let tx = db.begin_write().map_err(store)?;
        tx.open_table(LATEST).map_err(store)?;
        tx.commit().map_err(store)?;
        Ok(Witness { cosigner, logs, db })
    }

    /// The witness's verifier key (cosignature/v1).
    pub fn vkey(&self) -> String {
        self.cosigner.witness_key().vkey()
    }

    /// The latest checkpoint cosigned for a log: (size, root hash).
    pub fn latest(&self, origin: &str) -> Result<Option<(u64, [u8; 32])>, WitnessError> {
        let tx = self.db.begin_read().map_err(store)?;
        let table = tx.open_table(LATEST).map_err(store)?;
        Ok(table.get(origin).map_err(store)?.map(|v| v.value()))
    }

    /// The protocol's one operation: checks the request against the state, records the new
    /// checkpoint (durably, in the same transaction as the check) and returns the cosignature
    /// line, timestamped `now`.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, WitnessError> {
        if body.len() > MAX_BODY {
            return Err(WitnessError::Malformed("body too large"));
        }
        let request = parse_request(body)?;
        let origin = std::str::from_utf8(request.note)
            .ok()
            .and_then(|n| n.lines().next())
            .ok_or(WitnessError::Malformed("no checkpoint"))?;
        let log_key = self.logs.get(origin).ok_or(WitnessError::UnknownOrigin)?;
        let cp = checkpoint::open(request.note, log_key).map_err(|_| WitnessError::Forbidden)?;
        if request.old > cp.size {
            return Err(WitnessError::Malformed(
                "the old size exceeds the checkpoint's",
            ));
        }
        let tx = self.db.begin_write().map_err(store)?;
        {
            let mut table = tx.open_table(LATEST).map_err(store)?;
            let held = table.get(origin).map_err(store)?.map(|v| v.value());
            check_against(held, &request, &cp)?;
            table
                .insert(origin, (cp.size, cp.root_hash))
                .map_err(store)?;
        }
        tx.commit().map_err(store)?;
        let text = signed_note_text(request.note)?;
        Ok(self.cosigner.cosign(text, now)?)
    }
}

/// The note's text: everything up to (and including the newline before) the blank line.
fn signed_note_text(note: &[u8]) -> Result<&[u8], WitnessError> {
    let end = note
        .windows(2)
        .rposition(|w| w == b"\n\n")
        .ok_or(WitnessError::Malformed(
            "the checkpoint carries no signature",
        ))?;
    Ok(&note[..end + 1])
}

/// The protocol's checks of a request against the checkpoint held (size, root).
fn check_against(
    held: Option<(u64, [u8; 32])>,
    request: &Request<'_>,
    cp: &checkpoint::CheckpointBody,
) -> Result<(), WitnessError> {
    let (held_size, held_root) = held.unwrap_or((0, [0u8; 32]));
    if request.old != held_size {
        return Err(WitnessError::Conflict { held: held_size });
    }
    if held.is_none() || held_size == 0 {
        if !request.proof.is_empty() {
            return Err(WitnessError::BadProof);
        }
        return Ok(());
    }
    if held_size == cp.size {
        if held_root != cp.root_hash {
            return Err(WitnessError::Conflict { held: held_size });
        }
        return if request.proof.is_empty() {
            Ok(())
        } else {
            Err(WitnessError::BadProof)
        };
    }
    dossier_core::log_proof::verify_consistency(
        &request.proof,
        held_size,
        held_root,
        cp.size,
        cp.root_hash,
    )
    .map_err(|_| WitnessError::BadProof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_core::checkpoint::CheckpointBody;
    use dossier_core::cosignature::WitnessPolicy;
    use dossier_core::keys::KeyPair;
    use dossier_store::ledger::MemoryLog;
    use rand::SeedableRng;

    const ORIGIN: &str = "ledger.example";

    /// A ledger operator: its key and log (which a test may fork).
    struct Operator {
        key: KeyPair,
        log: MemoryLog,
    }

    impl Operator {
        fn new(entries: u64) -> Operator {
            let mut rng = rand::rngs::StdRng::seed_from_u64(7);
            let mut op = Operator {
                key: KeyPair::generate(ORIGIN, &mut rng).expect("key"),
                log: MemoryLog::default(),
            };
            op.grow(entries, "entry");
            op
        }
        fn grow(&mut self, n: u64, tag: &str) {
            for i in 0..n {
                let size = self.log.size();
                self.log
                    .append(format!("{tag} {}", size + i).as_bytes())
                    .expect("append");
            }
        }
        fn checkpoint(&self) -> String {
            CheckpointBody {
                origin: ORIGIN.into(),
                size: self.log.size(),
                root_hash: self.log.root(self.log.size()).expect("root"),
                time: 1_700_000_000,
                registries: vec![],
            }
            .sign(&self.key)
            .expect("sign")
        }
        /// The add-checkpoint body from `old`.
        fn request(&self, old: u64) -> String {
            let proof = if old > 0 {
                self.log
                    .consistency_proof(old, self.log.size())
                    .expect("proof")
            } else {
                Vec::new()
            };
            request_body(old, &proof, &self.checkpoint())
        }
    }

    fn witness(dir: &tempfile::TempDir, op: &Operator, name: &str) -> Witness {
        let mut rng = rand::rngs::StdRng::seed_from_u64(name.len() as u64);
        let cosigner = Cosigner::new(KeyPair::generate(name, &mut rng).expect("key"));
        let logs = BTreeMap::from([(ORIGIN.to_string(), op.key.verifier_key())]);
        Witness::open(&dir.path().join(format!("{name}.redb")), cosigner, logs).expect("open")
    }

    #[test]
    fn a_growing_log_is_cosigned_and_the_cosignature_verifies() {
        let dir = tempfile::tempdir().expect("dir");
        let mut op = Operator::new(5);
        let w = witness(&dir, &op, "w1.example");
        let line = w
            .add_checkpoint(op.request(0).as_bytes(), 100)
            .expect("first");
        let policy = WitnessPolicy::parse(&format!("threshold 1\n{}\n", w.vkey())).expect("policy");
        let cosigned = format!("{}{line}", op.checkpoint());
        assert_eq!(
            policy.check(cosigned.as_bytes()).expect("cosigned"),
            vec!["w1.example"]
        );
        op.grow(3, "entry");
        w.add_checkpoint(op.request(5).as_bytes(), 101)
            .expect("grown");
        assert_eq!(w.latest(ORIGIN).expect("state").map(|l| l.0), Some(8));
        // The same checkpoint again (old = size, no proof) is cosigned again.
        w.add_checkpoint(op.request(8).as_bytes(), 102)
            .expect("same");
    }

    #[test]
    fn each_refusal_has_the_protocols_status() {
        let dir = tempfile::tempdir().expect("dir");
        let mut op = Operator::new(5);
        let w = witness(&dir, &op, "w1.example");
        w.add_checkpoint(op.request(0).as_bytes(), 100)
            .expect("first");
        op.grow(2, "entry");
        // A stale old size: 409 with the size held.
        assert!(matches!(
            w.add_checkpoint(op.request(0).as_bytes(), 101),
            Err(WitnessError::Conflict { held: 5 })
        ));
        // A wrong proof: 422.
        let body = op.request(5);
        let broken = body.replacen(&body.lines().nth(1).expect("a proof line")[..4], "AAAA", 1);
        assert!(matches!(
            w.add_checkpoint(broken.as_bytes(), 101),
            Err(WitnessError::BadProof)
        ));
        // Another log's checkpoint: 404; signed by another key: 403.
        let other = op.request(5).replace(ORIGIN, "other.example");
        assert!(matches!(
            w.add_checkpoint(other.as_bytes(), 101),
            Err(WitnessError::UnknownOrigin)
        ));
        let mut forger = Operator::new(7);
        forger.key =
            KeyPair::generate(ORIGIN, &mut rand::rngs::StdRng::seed_from_u64(99)).expect("key");
        assert!(matches!(
            w.add_checkpoint(forger.request(5).as_bytes(), 101),
            Err(WitnessError::Forbidden)
        ));
        // Malformed: 400 (old above the new size, leading zeros, no blank line, 64 proof lines).
        for bad in [
            op.request(5).replacen("old 5", "old 9", 1),
            op.request(5).replacen("old 5", "old 05", 1),
            op.checkpoint(),
            format!(
                "old 5\n{}\n{}",
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n".repeat(64),
                op.checkpoint()
            ),
        ] {
            assert!(
                matches!(
                    w.add_checkpoint(bad.as_bytes(), 101),
                    Err(WitnessError::Malformed(_))
                ),
                "{bad}"
            );
        }
        // None of these moved the state.
        assert_eq!(w.latest(ORIGIN).expect("state").map(|l| l.0), Some(5));
    }

    #[test]
    fn a_split_view_is_refused_by_every_honest_witness() {
        let dir = tempfile::tempdir().expect("dir");
        let honest = Operator::new(5);
        let ws: Vec<Witness> = ["w1.example", "w22.example", "w333.example"]
            .iter()
            .map(|n| witness(&dir, &honest, n))
            .collect();
        for w in &ws {
            w.add_checkpoint(honest.request(0).as_bytes(), 100)
                .expect("first");
        }
        let mut a = Operator::new(5);
        a.grow(3, "entry");
        // The fork: the same five entries, then three others, under the same key.
        let mut b = Operator::new(5);
        b.grow(3, "rewritten");
        let mut lines = Vec::new();
        for w in &ws[..2] {
            lines.push(
                w.add_checkpoint(a.request(5).as_bytes(), 101)
                    .expect("branch a"),
            );
        }
        // The witnesses that cosigned branch a refuse branch b at the same size (another
        // root) and from the old size (they hold 8 now). The third, shown b first, cosigns it
        // once and then refuses a: no witness cosigns both branches.
        for w in &ws[..2] {
            assert!(matches!(
                w.add_checkpoint(b.request(8).as_bytes(), 102),
                Err(WitnessError::Conflict { .. })
            ));
            assert!(matches!(
                w.add_checkpoint(b.request(5).as_bytes(), 102),
                Err(WitnessError::Conflict { held: 8 })
            ));
        }
        let lone = ws[2]
            .add_checkpoint(b.request(5).as_bytes(), 102)
            .expect("b, seen first");
        assert!(ws[2].add_checkpoint(a.request(8).as_bytes(), 103).is_err());
        // A verifier with a 2-of-3 policy believes branch a and not b.
        let policy_text = format!(
            "threshold 2\n{}\n",
            ws.iter().map(Witness::vkey).collect::<Vec<_>>().join("\n")
        );
        let policy = WitnessPolicy::parse(&policy_text).expect("policy");
        let cosigned_a = format!("{}{}", a.checkpoint(), lines.concat());
        assert_eq!(policy.check(cosigned_a.as_bytes()).expect("a").len(), 2);
        let cosigned_b = format!("{}{lone}", b.checkpoint());
        assert!(policy.check(cosigned_b.as_bytes()).is_err());
    }

    #[test]
    fn a_rewritten_earlier_entry_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let honest = Operator::new(5);
        let w = witness(&dir, &honest, "w1.example");
        w.add_checkpoint(honest.request(0).as_bytes(), 100)
            .expect("first");
        // The same key, a log whose entry 2 was rewritten, grown past the size cosigned.
        let mut rewrite = Operator::new(2);
        rewrite.grow(1, "rewritten");
        rewrite.grow(5, "entry");
        assert!(matches!(
            w.add_checkpoint(rewrite.request(5).as_bytes(), 101),
            Err(WitnessError::BadProof)
        ));
        assert_eq!(w.latest(ORIGIN).expect("state").map(|l| l.0), Some(5));
    }

    #[test]
    fn the_state_survives_a_reopen() {
        let dir = tempfile::tempdir().expect("dir");
        let op = Operator::new(4);
        {
            let w = witness(&dir, &op, "w1.example");
            w.add_checkpoint(op.request(0).as_bytes(), 100)
                .expect("first");
        }
        let w = witness(&dir, &op, "w1.example");
        assert_eq!(w.latest(ORIGIN).expect("state").map(|l| l.0), Some(4));
    }
}
