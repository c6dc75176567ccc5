//! dossier's verifier, prover and wallet compiled to WebAssembly, so the browser pages reach
//! their verdict and make their proofs with the same code as the library, the CLI and the
//! service — not a second implementation in JavaScript, and not the service's word. The module is built by `wasm/build.sh` with Debian's
//! Rust toolchain for the web (see `docs/wasm.md`); it is committed as
//! `service/web/dossier.wasm` and served by `dossier serve`, so a fresh clone serves working
//! pages without that toolchain, and `.ci/run` rebuilds it and checks the rebuild is the same.
//!
//! The interface is JSON in, JSON out, through the module's linear memory (`ffi`): no
//! wasm-bindgen, a few lines of JavaScript load it. Each call's input is a frame: the JSON's
//! length (4 bytes, little-endian), the JSON, then any binary part (a Groth16 proving key). The
//! wallet's operations ([`wallet`]) create, seal, open and fill a wallet and prove from it;
//! [`verify`] checks a presentation against the
//! request the page holds, the ledger key (and witness policy) the person trusts, and the
//! pinned Groth16 verifying keys, exactly as [`dossier_verifier::verify`] does natively:
//! issuers, roots of one checkpoint, scope, challenge, day, query hash and nullifier, then the
//! proof (Groth16 or halo2). Every answer is a JSON object; no input makes the module panic.

mod ffi;
pub mod openid4vp;
pub mod qr;
pub mod wallet;

use base64::Engine;
use dossier_core::checkpoint::Trust;
use dossier_core::cosignature::WitnessPolicy;
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::schema::{Schema, SchemaSet};
use dossier_verifier::VerifierKeys;
use serde::Deserialize;
use serde_json::{json, Value};

/// The largest input accepted, in bytes: a presentation with its checkpoint, a request and the
/// verifying keys of every shape fit many times over.
pub const MAX_INPUT: usize = 8 << 20;

/// The largest binary part of a call (a proving key: the largest shipped shape's is 17 MB).
pub const MAX_BINARY: usize = 64 << 20;

/// The most verifying keys one call may carry (one per shipped shape, with room).
const MAX_KEYS: usize = 64;

/// What the page asks the verifier.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyInput {
    /// The request the page holds (typed in, or fetched by id): the presentation must answer it.
    request: PresentationRequest,
    /// The presentation.
    presentation: Presentation,
    /// The ledger's verifier key the person trusts (`name+hash+key`).
    ledger_key: String,
    /// The witness policy the person demands (`dossier verify --witness-policy`'s text), if any.
    #[serde(default)]
    witness_policy: Option<String>,
    /// The Groth16 verifying keys, each with the hash it is pinned by (not needed for halo2).
    #[serde(default)]
    keys: Option<PinnedKeys>,
    /// Schemas beyond the built-in ones (schema documents as text).
    #[serde(default)]
    schemas: Vec<String>,
    /// The time of verification, unix seconds.
    now: u64,
}

/// Verifying keys as a params folder's manifest pins them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinnedKeys {
    /// Whether they come from the insecure development setup.
    insecure: bool,
    /// The setup's description.
    setup: String,
    /// One per shape.
    shapes: Vec<PinnedKey>,
}

/// One shape's verifying key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinnedKey {
    /// The shape's name.
    shape: String,
    /// The SHA-256 (hex) the key is pinned by.
    vk_sha256: String,
    /// The key's bytes (arkworks' compressed encoding), base64.
    vk: String,
    /// The proving key's pin, which `/v1/keys` lists for wallets (unused by a verifier).
    #[serde(default)]
    #[allow(dead_code)]
    pk_sha256: Option<String>,
}

/// Why an input could not be used (as opposed to a presentation that was read and refused).
#[derive(Debug)]
pub struct Unusable {
    what: &'static str,
    reason: String,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.reason)
    }
}

/// The 32 bytes of randomness a call was given (`"seed"`, hex), drawn by the page from WebCrypto.
pub(crate) fn seed_of(input: &Value) -> Result<[u8; 32], Unusable> {
    input["seed"]
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| Unusable::new("seed", "must be 32 bytes of hex"))
}

/// An operation of the module.
#[derive(Clone, Copy, Debug)]
pub enum Operation {
    /// [`verify`].
    Verify,
    /// [`wallet::create`].
    WalletCreate,
    /// [`wallet::seal`].
    WalletSeal,
    /// [`wallet::open`].
    WalletOpen,
    /// [`wallet::import`].
    WalletImport,
    /// [`wallet::prepare`].
    Prepare,
    /// [`wallet::prove`].
    Prove,
    /// [`wallet::shape`].
    Shape,
    /// [`openid4vp::parse`].
    Openid4vpParse,
    /// [`openid4vp::open`].
    Openid4vpOpen,
    /// [`openid4vp::answer`].
    Openid4vpAnswer,
    /// [`qr::read`].
    QrRead,
}

/// Runs an operation on a framed input (JSON length, JSON, binary part): always a JSON object,
/// `{"error", "unusable": true}` when the input could not be used.
pub fn call(op: Operation, frame: &[u8]) -> Value {
    let (json, binary) = match split(frame) {
        Ok(parts) => parts,
        Err(e) => return unusable(&e),
    };
    let parsed = || -> Result<Value, Unusable> {
        serde_json::from_slice(json).map_err(|e| Unusable::new("input", e))
    };
    let answer = match op {
        Operation::Verify => return verify(json),
        Operation::WalletCreate => parsed().and_then(|i| wallet::create(&i)),
        Operation::WalletSeal => parsed().and_then(|i| wallet::seal(&i)),
        Operation::WalletOpen => parsed().and_then(|i| wallet::open(&i)),
        Operation::WalletImport => parsed().and_then(|i| wallet::import(&i)),
        Operation::Prepare => parsed().and_then(|i| wallet::prepare(&i, binary)),
        Operation::Prove => parsed().and_then(|i| wallet::prove(&i, binary)),
        Operation::Shape => parsed().and_then(|i| wallet::shape(&i)),
        Operation::Openid4vpParse => parsed().and_then(|i| openid4vp::parse(&i)),
        Operation::Openid4vpOpen => parsed().and_then(|i| openid4vp::open(&i)),
        Operation::Openid4vpAnswer => parsed().and_then(|i| openid4vp::answer(&i)),
        Operation::QrRead => parsed().and_then(|i| qr::read(&i, binary)),
    };
    answer.unwrap_or_else(|e| unusable(&e))
}

fn unusable(e: &Unusable) -> Value {
    json!({"valid": false, "unusable": true, "error": e.to_string()})
}

/// A frame's JSON and binary parts, bounded.
fn split(frame: &[u8]) -> Result<(&[u8], &[u8]), Unusable> {
    let (len, rest) = frame
        .split_first_chunk::<4>()
        .ok_or_else(|| Unusable::new("input", "shorter than its frame"))?;
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_INPUT {
        return Err(Unusable::new(
            "input",
            format!("larger than {MAX_INPUT} bytes"),
        ));
    }
    if len > rest.len() {
        return Err(Unusable::new("input", "shorter than its frame says"));
    }
    let (json, binary) = rest.split_at(len);
    if binary.len() > MAX_BINARY {
        return Err(Unusable::new(
            "input",
            format!("binary part larger than {MAX_BINARY} bytes"),
        ));
    }
    Ok((json, binary))
}

impl Unusable {
    pub(crate) fn new(what: &'static str, reason: impl std::fmt::Display) -> Unusable {
        Unusable {
            what,
            reason: reason.to_string(),
        }
    }
}

/// Verifies a presentation: `input` is a JSON object (request, presentation, ledger_key,
/// witness_policy, keys, schemas, now). The answer is a JSON object: `{"valid": true, "verdict",
/// "nullifier", "backend"}` for a presentation that holds, `{"valid": false, "error",
/// "unusable"}` otherwise (`unusable` when the input could not be read at all).
pub fn verify(input: &[u8]) -> Value {
    match parse(input) {
        Err(e) => unusable(&e),
        Ok((request, presentation, keys, trust, schemas, now)) => {
            match dossier_verifier::verify(&request, &presentation, &keys, &trust, &schemas, now) {
                Ok(checked) => json!({
                    "valid": true,
                    "verdict": checked.verdict,
                    "nullifier": checked.nullifier,
                    "backend": checked.backend.name(),
                }),
                Err(e) => json!({
                    "valid": false,
                    "unusable": e.is_unusable(),
                    "error": e.to_string(),
                }),
            }
        }
    }
}

type Parsed = (
    PresentationRequest,
    Presentation,
    VerifierKeys,
    Trust,
    SchemaSet,
    u64,
);

fn parse(input: &[u8]) -> Result<Parsed, Unusable> {
    if input.len() > MAX_INPUT {
        return Err(Unusable::new(
            "input",
            format!("larger than {MAX_INPUT} bytes"),
        ));
    }
    let input: VerifyInput =
        serde_json::from_slice(input).map_err(|e| Unusable::new("input", e))?;
    let keys = match &input.keys {
        None => VerifierKeys::none(),
        Some(k) => pinned_keys(k)?,
    };
    let witnesses = match input.witness_policy.as_deref().map(str::trim) {
        None | Some("") => WitnessPolicy::none(),
        Some(text) => WitnessPolicy::parse(text).map_err(|e| Unusable::new("witness_policy", e))?,
    };
    let trust = Trust::witnessed(input.ledger_key.trim(), witnesses);
    let mut schemas = SchemaSet::builtin();
    for text in &input.schemas {
        let schema = Schema::from_json(text).map_err(|e| Unusable::new("schemas", e))?;
        schemas
            .insert(schema)
            .map_err(|e| Unusable::new("schemas", e))?;
    }
    Ok((
        input.request,
        input.presentation,
        keys,
        trust,
        schemas,
        input.now,
    ))
}

fn pinned_keys(k: &PinnedKeys) -> Result<VerifierKeys, Unusable> {
    if k.shapes.len() > MAX_KEYS {
        return Err(Unusable::new("keys", format!("more than {MAX_KEYS} keys")));
    }
    let mut shapes = Vec::with_capacity(k.shapes.len());
    for s in &k.shapes {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&s.vk)
            .map_err(|_| Unusable::new("keys", format!("the key of {} is not base64", s.shape)))?;
        shapes.push((s.shape.clone(), bytes, s.vk_sha256.clone()));
    }
    VerifierKeys::from_pinned(&shapes, k.insecure, &k.setup).map_err(|e| Unusable::new("keys", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(input: &[u8]) -> (bool, String) {
        let out = verify(input);
        assert_eq!(out["valid"], false, "{out}");
        (
            out["unusable"].as_bool().expect("unusable"),
            out["error"].as_str().expect("error").to_string(),
        )
    }

    #[test]
    fn unreadable_inputs_get_a_clear_error_and_no_panic() {
        for bad in [
            &b""[..],
            b"null",
            b"{",
            b"[]",
            b"{\"now\": 1}",
            b"\xff\xfe",
            b"{\"request\": 1, \"presentation\": 2, \"ledger_key\": 3, \"now\": -1}",
        ] {
            let (unusable, error) = error_of(bad);
            assert!(unusable, "{error}");
            assert!(error.starts_with("input:"), "{error}");
        }
        let big = vec![b' '; MAX_INPUT + 1];
        let (unusable, error) = error_of(&big);
        assert!(unusable && error.contains("larger than"), "{error}");
        // The page's own allocation is bounded before anything is allocated.
        assert!(ffi::dossier_alloc(usize::MAX).is_null());
        assert!(ffi::dossier_alloc(4 + MAX_INPUT + MAX_BINARY + 1).is_null());
    }

    #[test]
    fn frames_are_read_within_their_bounds() {
        let frame = |json: &[u8], claimed: u32, binary: &[u8]| {
            let mut f = claimed.to_le_bytes().to_vec();
            f.extend_from_slice(json);
            f.extend_from_slice(binary);
            call(Operation::Shape, &f)
        };
        for (what, answer) in [
            ("no length", call(Operation::Shape, b"{}")),
            ("a length past the end", frame(b"{}", 3, b"")),
            ("a length past the bound", frame(b"{}", u32::MAX, b"")),
            ("not JSON", frame(b"{", 1, b"")),
            ("no request", frame(b"{}", 2, b"")),
        ] {
            assert_eq!(answer["unusable"], true, "{what}: {answer}");
        }
        let request = serde_json::json!({"request": {"query": {"credentials": [{"schema": "qualification",
            "issuers": ["univ.law-school"], "where": {"degree_level": {"$gte": "master"}}}]},
            "challenge": format!("0x{:064x}", 1), "scope": "s", "today": "2026-12-07",
            "max_checkpoint_age_seconds": 60}});
        let json = request.to_string();
        let answer = frame(
            json.as_bytes(),
            json.len() as u32,
            b"trailing binary is ignored here",
        );
        assert_eq!(answer["shape"], "m1p4k4r2", "{answer}");
    }
}
