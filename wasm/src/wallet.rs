//! The browser wallet's operations: a new wallet (its secret from the page's randomness), sealed
//! and opened under a passphrase in the CLI's backup format, credentials imported, and proofs
//! made from it — the holder's secret never leaves the page (the module runs in its worker).

use crate::{seed_of, Unusable};
use dossier_core::checkpoint::Trust;
use dossier_core::credential::{CredentialOpening, MembershipPath};
use dossier_core::holder::HolderSecret;
use dossier_core::presentation::{Backend, PresentationRequest};
use dossier_core::query::Shape;
use dossier_core::schema::SchemaSet;
use dossier_core::sealed::{self, Contents, Sealed};
use dossier_core::wallet::Wallet;
use dossier_core::{field, pasta, Fr};
use dossier_prover::{ShapeProver, Statement};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

/// The Groth16 prover last readied in this module (its key checked against its pin and decoded,
/// its matrices synthesised), kept warm for the proofs that follow: one at a time, since a page
/// answers one request at a time and the module's memory never shrinks.
static WARM: Mutex<Option<Warm>> = Mutex::new(None);

struct Warm {
    /// The pin its key was checked against (its shape and verifying key's pin are the prover's).
    pk_sha256: String,
    prover: ShapeProver,
}

/// `{"seed"}`: a new wallet document (a fresh secret, no credentials).
pub fn create(input: &Value) -> Result<Value, Unusable> {
    let mut rng = ChaCha20Rng::from_seed(seed_of(input)?);
    let wallet = Wallet::new(HolderSecret::random(&mut rng));
    described(&wallet)
}

/// `{"wallet", "passphrase", "seed"}`: the wallet sealed (Argon2id, XChaCha20-Poly1305).
pub fn seal(input: &Value) -> Result<Value, Unusable> {
    let text = text_of(input, "wallet")?;
    let wallet = Wallet::from_text(text).map_err(|e| Unusable::new("wallet", e))?;
    let plain = wallet
        .to_text(true)
        .map_err(|e| Unusable::new("wallet", e))?;
    let mut rng = ChaCha20Rng::from_seed(seed_of(input)?);
    let sealed = sealed::seal(
        plain.as_bytes(),
        Contents::Wallet,
        text_of(input, "passphrase")?,
        &mut rng,
    )
    .map_err(|e| Unusable::new("passphrase", e))?;
    Ok(json!({ "sealed": sealed }))
}

/// `{"sealed", "passphrase"}`: the wallet document a sealed wallet holds (a backup of the secret
/// alone opens as a wallet without credentials).
pub fn open(input: &Value) -> Result<Value, Unusable> {
    let sealed: Sealed = serde_json::from_value(input["sealed"].clone())
        .map_err(|_| Unusable::new("sealed", "not a sealed wallet"))?;
    let plain = sealed::open(&sealed, text_of(input, "passphrase")?)
        .map_err(|e| Unusable::new("sealed", e))?;
    let text = std::str::from_utf8(&plain).map_err(|_| Unusable::new("sealed", "not text"))?;
    let wallet = Wallet::from_text(text).map_err(|e| Unusable::new("sealed", e))?;
    described(&wallet)
}

/// `{"wallet", "credentials": [opening...]}`: the wallet with the credentials added (each
/// checked to open its commitment and to be bound to this holder), and how many were new.
pub fn import(input: &Value) -> Result<Value, Unusable> {
    let mut wallet =
        Wallet::from_text(text_of(input, "wallet")?).map_err(|e| Unusable::new("wallet", e))?;
    let openings: Vec<CredentialOpening> = serde_json::from_value(input["credentials"].clone())
        .map_err(|e| Unusable::new("credentials", e))?;
    let schemas = SchemaSet::builtin();
    let mut added = 0;
    for o in openings {
        if wallet
            .import(o, &schemas)
            .map_err(|e| Unusable::new("credentials", e))?
        {
            added += 1;
        }
    }
    let mut out = described(&wallet)?;
    out["added"] = json!(added);
    Ok(out)
}

/// The wallet's document and what the page shows of it (never the secret, which stays inside
/// the document).
fn described(wallet: &Wallet) -> Result<Value, Unusable> {
    let text: Zeroizing<String> = wallet
        .to_text(true)
        .map_err(|e| Unusable::new("wallet", e))?;
    let list: Vec<Value> = wallet
        .credentials
        .iter()
        .map(|c| {
            json!({"issuer": c.issuer, "schema": c.schema, "credential_id": c.credential_id,
                "issued_at": c.issued_at, "expires_at": c.expires_at, "fields": c.fields,
                "halo2": c.holder_halo2.is_some()})
        })
        .collect();
    Ok(json!({
        "wallet": text.as_str(),
        "holder": field::to_hex(&wallet.secret().commitment()),
        "holder_halo2": pasta::to_hex(&wallet.secret().commitment_halo2()),
        "credentials": list,
    }))
}

fn text_of<'a>(input: &'a Value, what: &'static str) -> Result<&'a str, Unusable> {
    input[what]
        .as_str()
        .ok_or_else(|| Unusable::new(what, "missing, or not text"))
}

/// `{"request"}`: the shape its query is proven in (whose Groth16 proving key the page fetches).
pub fn shape(input: &Value) -> Result<Value, Unusable> {
    let request: PresentationRequest = serde_json::from_value(input["request"].clone())
        .map_err(|e| Unusable::new("request", e))?;
    let shape = request
        .query
        .shape()
        .map_err(|e| Unusable::new("request", e))?;
    Ok(json!({ "shape": shape.name(), "backend": request.backend.name() }))
}

/// What readying a prover takes, besides the Groth16 proving key (the binary part of the call).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrepareInput {
    request: PresentationRequest,
    /// For Groth16: the proving key's pin and the verifying key's.
    #[serde(default)]
    keys: Option<ProvingPins>,
}

/// `{"request", "keys"}` with the Groth16 proving key as the binary part: readies the prover for
/// the request's shape and backend, so that `prove` pays for the proof alone — for Groth16 the
/// key checked against its pin and decoded and the matrices synthesised (kept until another
/// shape's key is readied), for halo2 the keys derived from the circuit (kept for the module's
/// life). Answers `{"shape", "backend"}`. The page calls it while the holder reads the request.
pub fn prepare(input: &Value, key: &[u8]) -> Result<Value, Unusable> {
    let p: PrepareInput =
        serde_json::from_value(input.clone()).map_err(|e| Unusable::new("input", e))?;
    let shape = p
        .request
        .query
        .shape()
        .map_err(|e| Unusable::new("request", e))?;
    match p.request.backend {
        Backend::Groth16 => {
            with_warm_groth16(shape, ProvingPins::required(p.keys.as_ref())?, key, |_| ())?;
        }
        Backend::Halo2 => {
            dossier_prover::prepare_halo2(shape).map_err(|e| Unusable::new("keys", e))?
        }
    }
    Ok(json!({ "shape": shape.name(), "backend": p.request.backend.name() }))
}

/// Runs `f` on the Groth16 prover of `shape`, readied from `key` (checked against `pins`) and
/// kept warm; with no key, on the prover already warm for that shape under the same pins.
fn with_warm_groth16<T>(
    shape: Shape,
    pins: &ProvingPins,
    key: &[u8],
    f: impl FnOnce(&ShapeProver) -> T,
) -> Result<T, Unusable> {
    let mut warm = WARM
        .lock()
        .map_err(|_| Unusable::new("keys", "the warm prover was lost"))?;
    if !key.is_empty() {
        // The slot is emptied first: a key that fails its pin leaves no prover behind.
        *warm = None;
        let prover = ShapeProver::from_pinned_key(shape, key, &pins.pk_sha256, &pins.vk_sha256)
            .map_err(|e| Unusable::new("keys", e))?;
        *warm = Some(Warm {
            pk_sha256: pins.pk_sha256.clone(),
            prover,
        });
    }
    match warm.as_ref() {
        Some(w)
            if w.prover.shape == shape
                && w.pk_sha256 == pins.pk_sha256
                && w.prover.vk_sha256 == pins.vk_sha256 =>
        {
            Ok(f(&w.prover))
        }
        _ => Err(Unusable::new(
            "keys",
            "no proving key was given and none is ready for this shape",
        )),
    }
}

/// What a proof is made from, besides the Groth16 proving key (the binary part of the call).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProveInput {
    request: PresentationRequest,
    wallet: String,
    /// The ledger key the wallet trusts: the checkpoint must be signed by it.
    ledger_key: String,
    /// The latest checkpoint (signed note) the paths are anchored by.
    checkpoint: String,
    /// Membership paths of the wallet's credentials, fetched all at once.
    paths: Vec<HeldPath>,
    /// For Groth16: the proving key's pin and the verifying key's.
    #[serde(default)]
    keys: Option<ProvingPins>,
    #[allow(dead_code)]
    seed: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HeldPath {
    issuer: String,
    credential_id: u32,
    path: MembershipPath,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProvingPins {
    pk_sha256: String,
    vk_sha256: String,
}

impl ProvingPins {
    /// The pins a Groth16 proof cannot be made without.
    fn required(keys: Option<&ProvingPins>) -> Result<&ProvingPins, Unusable> {
        keys.ok_or_else(|| Unusable::new("keys", "a Groth16 proof needs its proving key"))
    }
}

/// Proves `input`'s request from its wallet, with the Groth16 proving key `key` (empty for
/// halo2, or when [`prepare`] readied it): the credentials chosen by the CLI's own selection, against the checkpoint the
/// ledger key signed. Answers `{"presentation"}`.
pub fn prove(input: &Value, key: &[u8]) -> Result<Value, Unusable> {
    let seed = seed_of(input)?;
    let p: ProveInput =
        serde_json::from_value(input.clone()).map_err(|e| Unusable::new("input", e))?;
    let wallet = Wallet::from_text(&p.wallet).map_err(|e| Unusable::new("wallet", e))?;
    let schemas = SchemaSet::builtin();
    let request = &p.request;
    let shape = request
        .query
        .shape()
        .map_err(|e| Unusable::new("request", e))?;
    let query = request
        .query
        .encode(&schemas, shape)
        .map_err(|e| Unusable::new("request", e))?;
    let today = request
        .today_days()
        .map_err(|e| Unusable::new("request", e))?;
    let cp = Trust::key_only(p.ledger_key.trim())
        .open(p.checkpoint.as_bytes())
        .map_err(|e| Unusable::new("checkpoint", e))?;
    let paths: HashMap<(&str, u32), &MembershipPath> = p
        .paths
        .iter()
        .map(|h| ((h.issuer.as_str(), h.credential_id), &h.path))
        .collect();
    let offered = dossier_core::selection::select_at(
        &wallet.credentials,
        &cp,
        &schemas,
        &query,
        today,
        request.backend,
        // A credential the service no longer lists for the holder (revoked or replaced) has no
        // path: it reads as an empty leaf, which the selection skips with that reason.
        |o| -> Result<MembershipPath, Unusable> {
            Ok(paths
                .get(&(o.issuer.as_str(), o.credential_id))
                .map(|p| (*p).clone())
                .unwrap_or(MembershipPath {
                    credential_id: o.credential_id,
                    leaf: Fr::from(0u64),
                    siblings: Vec::new(),
                    root: Fr::from(0u64),
                    halo2: None,
                }))
        },
        |reason| Unusable::new("wallet", reason),
    )?;
    let statement = Statement {
        request,
        query: &query,
        secret: wallet.secret(),
        offered: &offered,
        checkpoint: &p.checkpoint,
    };
    let presentation = match request.backend {
        Backend::Groth16 => {
            let pins = ProvingPins::required(p.keys.as_ref())?;
            with_warm_groth16(shape, pins, key, |prover| {
                statement.prove_groth16(prover, &mut ChaCha20Rng::from_seed(seed))
            })?
        }
        Backend::Halo2 => statement.prove_halo2(Some(seed)),
    }
    .map_err(|e| Unusable::new("proof", e))?;
    Ok(json!({ "presentation": presentation }))
}

impl From<dossier_core::CoreError> for Unusable {
    fn from(e: dossier_core::CoreError) -> Unusable {
        Unusable::new("wallet", e)
    }
}
