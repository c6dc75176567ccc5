//! The service's configuration: where its home and keys are, its limits, and the bearer tokens
//! it accepts. Tokens are never in the code: they live in a tokens file (created and extended by
//! `dossier token add`, mode 0600) that stores only each token's SHA-256, with its role.

use crate::ServiceError;
use dossier_core::{field, Fr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The format tag of tokens files.
pub const TOKENS_FORMAT: &str = "dossier-tokens/v1";

/// Who a caller is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "lowercase")]
pub enum Role {
    /// An issuer's office: issues, updates and revokes in its own registry, publishes checkpoints.
    Issuer {
        /// The issuer's name.
        issuer: String,
    },
    /// A civil servant: reads their own credentials and asks for proofs.
    Holder {
        /// Their holder commitment (`0x` + 64 hex digits).
        holder: String,
    },
    /// A recruiter: makes presentation requests and checks presentations.
    Verifier,
    /// A regulator: reads everything public and the archive of verifications.
    Regulator,
    /// A committee member: reads the proposals of the committees it sits on and approves them
    /// with its key (held in the service's home, `keys/members/<member>.key`).
    Member {
        /// The member's name.
        member: String,
    },
}

/// One token's record in the tokens file. (Unknown fields cannot be refused here: serde does not
/// support that beside a flattened tag.)
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    /// A name for the token's owner (shown in logs and the archive, never secret).
    pub name: String,
    /// The role and what it is bound to.
    #[serde(flatten)]
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub sha256: String,
}

/// The tokens file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensFile {
    /// Always [`TOKENS_FORMAT`].
    pub format: String,
    /// The tokens.
    pub tokens: Vec<TokenRecord>,
}

/// A caller authenticated by its token.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The token's name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// For holders, the commitment as a field element.
    pub holder: Option<Fr>,
}

/// The tokens the service accepts, by hash.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    by_hash: HashMap<[u8; 32], Principal>,
}

/// The SHA-256 of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// Reads a tokens file, refusing one readable by others or with a malformed record.
    pub fn load(path: &Path) -> Result<Tokens, ServiceError> {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path)
            .map_err(|e| ServiceError::Config(format!("{}: {e}", path.display())))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(ServiceError::Config(format!(
                "{} is readable by others; run `chmod 600` on it",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| ServiceError::Config(format!("{}: {e}", path.display())))?;
        let file: TokensFile = serde_json::from_str(&text)
            .map_err(|e| ServiceError::Config(format!("{}: {e}", path.display())))?;
        Tokens::from_file(&file)
    }

    /// Builds the table from a parsed tokens file.
    pub fn from_file(file: &TokensFile) -> Result<Tokens, ServiceError> {
        if file.format != TOKENS_FORMAT {
            return Err(ServiceError::Config(format!(
                "unknown tokens format `{}`",
                file.format
            )));
        }
        let mut by_hash = HashMap::new();
        for (i, t) in file.tokens.iter().enumerate() {
            let bad = |why: &str| ServiceError::Config(format!("token {i} (`{}`): {why}", t.name));
            let mut h = [0u8; 32];
            hex::decode_to_slice(&t.sha256, &mut h)
                .map_err(|_| bad("sha256 is not 64 hex digits"))?;
            let holder = match &t.role {
                Role::Holder { holder } => Some(
                    field::parse("holder", holder)
                        .map_err(|_| bad("holder is not a field element"))?,
                ),
                Role::Member { member } if !dossier_core::keys::valid_key_name(member) => {
                    return Err(bad("not a valid member name"))
                }
                Role::Issuer { issuer } if !dossier_core::keys::valid_key_name(issuer) => {
                    return Err(bad("invalid issuer name"))
                }
                _ => None,
            };
            let principal = Principal {
                name: t.name.clone(),
                role: t.role.clone(),
                holder,
            };
            if by_hash.insert(h, principal).is_some() {
                return Err(bad("the same token twice"));
            }
        }
        Ok(Tokens { by_hash })
    }

    /// The principal a token belongs to.
    pub fn lookup(&self, token: &str) -> Option<&Principal> {
        self.by_hash.get(&token_hash(token))
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    /// Whether no token is known.
    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }
}

/// Limits that keep the service's memory and CPU bounded under abuse.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest request body, bytes.
    pub body_bytes: usize,
    /// Deepest JSON nesting accepted.
    pub json_depth: usize,
    /// Largest batch of claims in one issue request.
    pub batch: usize,
    /// Requests per second each client may sustain.
    pub rate_per_second: f64,
    /// Requests a client may send in a burst.
    pub rate_burst: f64,
    /// Proving jobs waiting at most (beyond: 429).
    pub proving_queue: usize,
    /// Time allowed for one request.
    pub request_timeout: Duration,
    /// Longest page of ledger entries or archive records.
    pub page: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            json_depth: 32,
            batch: 10_000,
            rate_per_second: 200.0,
            rate_burst: 400.0,
            proving_queue: 8,
            request_timeout: Duration::from_secs(30),
            page: 1000,
        }
    }
}

/// Everything the service needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    /// The home folder (database, ledger and issuer keys), as the CLI's.
    pub home: PathBuf,
    /// Where the store lives: the home folder's embedded file, or a PostgreSQL server.
    pub database: dossier_store::home::StoreLocation,
    /// The proving and verifying keys.
    pub params: PathBuf,
    /// Where to listen.
    pub listen: SocketAddr,
    /// The accepted tokens.
    pub tokens: Tokens,
    /// The limits.
    pub limits: Limits,
    /// Precompute fixed-base tables for faster verification (a few MB, ~1 s at start-up).
    pub verifier_tables: bool,
    /// snarkjs's browser build (`snarkjs.min.js`) for the `/verify` and `/ledger` pages; not
    /// bundled (GPL-3.0), so the operator names the file.
    pub snarkjs_js: Option<PathBuf>,
    /// The witnesses whose cosignatures a checkpoint needs before the service's verifications
    /// believe it (`WitnessPolicy::none()`: the ledger's signature alone).
    pub witnesses: dossier_core::cosignature::WitnessPolicy,
    /// How often the issuers' rules run by themselves (and soon after each issuance); `None`:
    /// only when an issuer asks (`POST /v1/issuers/{issuer}/rules/run`).
    pub rules_every: Option<Duration>,
    /// Scheduled backups of the store, if any.
    pub backups: Option<crate::backups::BackupPolicy>,
    /// Refuse presentation requests that do not state their purpose and legal basis (those the
    /// service makes, verifies against and opens campaigns with).
    pub require_grounds: bool,
    /// Where dossier's JSON-LD context is published (the service serves it at
    /// `/contexts/v1`); the credentials it exports name it.
    pub context_url: dossier_core::envelope::ContextUrl,
    /// The URL wallets reach this service at (OpenID4VP request and response URIs), without a
    /// trailing `/`; `None`: `http://` and the bound address.
    pub public_url: Option<String>,
}
