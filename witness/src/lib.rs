//! A transparency-log witness (c2sp.org/tlog-witness): a service another department (or an
//! outside body) runs so that the ledger operator cannot show different histories to different
//! verifiers. For each log it knows (origin and verifier key) it keeps the latest checkpoint it
//! cosigned, and cosigns a new one only if it is signed by the log, at least as large, and
//! proven consistent with that one (an RFC 6962 consistency proof); the check and the update
//! are one database transaction, durable before the cosignature is returned, so even a witness
//! killed mid-request never cosigns two inconsistent checkpoints.
//!
//! `POST /add-checkpoint` takes `old <size>\n`, up to 63 base64 proof lines, a blank line and
//! the signed checkpoint; it answers 200 with the cosignature line, 404 for an unknown origin,
//! 403 if the log's signature does not verify, 400 for a malformed request or an old size above
//! the new one, 409 (body: the size it holds, `text/x.tlog.size`) when the old size is not the
//! one it holds or a same-size checkpoint has another root, and 422 for a bad proof.

mod http;
mod state;

pub use http::router;
pub use state::{request_body, Witness, WitnessError, MAX_BODY};
