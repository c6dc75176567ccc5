//! `dossier serve` and `dossier token`: the HTTP service on this home's store, and the tokens
//! file it accepts (each token's SHA-256 and role; the token itself is printed once).

use crate::error::CliError;
use crate::{Out, TokenCmd};
use base64::Engine;
use dossier_service::config::{token_hash, Role, TokenRecord, TokensFile, TOKENS_FORMAT};
use dossier_service::{Config, Limits, Tokens};
use dossier_store::home::{write_atomic, Home};
use serde_json::json;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The default tokens file of a home.
pub fn tokens_path(home: &Home, explicit: &Option<PathBuf>) -> PathBuf {
    explicit
        .clone()
        .unwrap_or_else(|| home.dir.join("tokens.json"))
}

fn read_tokens(path: &Path) -> Result<TokensFile, CliError> {
    if !path.exists() {
        return Ok(TokensFile {
            format: TOKENS_FORMAT.into(),
            tokens: Vec::new(),
        });
    }
    Tokens::load(path).map_err(|e| CliError::Input(e.to_string()))?;
    let text = std::fs::read_to_string(path).map_err(crate::error::io(path))?;
    serde_json::from_str(&text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Adds a token with a role; returns the token (shown once, never stored).
pub fn add_token(path: &Path, name: &str, role: Role) -> Result<String, CliError> {
    let mut file = read_tokens(path)?;
    if file.tokens.iter().any(|t| t.name == name) {
        return Err(CliError::Input(format!(
            "a token named `{name}` exists already"
        )));
    }
    let token = format!(
        "dsr_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    );
    file.tokens.push(TokenRecord {
        name: name.to_string(),
        role,
        sha256: hex::encode(token_hash(&token)),
    });
    // The new file must itself be acceptable to the service.
    Tokens::from_file(&file).map_err(|e| CliError::Input(e.to_string()))?;
    let text = serde_json::to_string_pretty(&file).map_err(|e| CliError::Input(e.to_string()))?;
    write_atomic(path, text.as_bytes(), 0o600, true)?;
    Ok(token)
}

/// Lists tokens (names and roles, never hashes).
pub fn list_tokens(path: &Path) -> Result<Vec<TokenRecord>, CliError> {
    Ok(read_tokens(path)?.tokens)
}

/// The service's settings from the command line.
pub struct ServeArgs {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The tokens file.
    pub tokens: PathBuf,
    /// Proving jobs waiting at most.
    pub queue: usize,
    /// Requests per second per client.
    pub rate: f64,
    /// Largest body, bytes.
    pub body_limit: usize,
    /// A file to write the bound address to once listening (for scripts and tests).
    pub addr_file: Option<PathBuf>,
    /// Shut down when standard input closes.
    pub exit_on_stdin_close: bool,
    /// snarkjs's browser build for the pages.
    pub snarkjs: Option<PathBuf>,
    /// The witness policy verifications apply.
    pub witnesses: dossier_core::cosignature::WitnessPolicy,
    /// Run the issuers' rules every this many seconds and after each issuance (0: only on
    /// request).
    pub rules_every: u64,
    /// Scheduled backups.
    pub backups: Option<dossier_service::backups::BackupPolicy>,
    /// Refuse requests that do not state their purpose and legal basis.
    pub require_grounds: bool,
    /// Where dossier's JSON-LD context is published.
    pub context_url: dossier_core::envelope::ContextUrl,
    /// The URL wallets reach the service at.
    pub public_url: Option<String>,
}

/// A public URL as the service writes it: `http(s)://host[:port][/path]`, no query or fragment,
/// no trailing `/`.
pub fn public_url(text: &str) -> Result<String, CliError> {
    let bad = || {
        CliError::Input("--public-url must be an http(s) URL without a query or fragment".into())
    };
    let url = url::Url::parse(text).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
    {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// Runs the service until SIGINT/SIGTERM.
pub fn serve(home: &Home, params: &Path, args: ServeArgs) -> Result<i32, CliError> {
    let tokens = if args.tokens.exists() {
        Tokens::load(&args.tokens).map_err(|e| CliError::Input(e.to_string()))?
    } else {
        tracing::warn!(
            path = %args.tokens.display(),
            "no tokens file: only public endpoints will answer (add tokens with `dossier token add`)"
        );
        Tokens::default()
    };
    let config = Config {
        home: home.dir.clone(),
        database: home.location.clone(),
        params: params.to_path_buf(),
        listen: args.listen,
        tokens,
        limits: Limits {
            proving_queue: args.queue,
            rate_per_second: args.rate,
            rate_burst: (args.rate * 2.0).max(1.0),
            body_bytes: args.body_limit,
            ..Limits::default()
        },
        verifier_tables: true,
        snarkjs_js: args.snarkjs.clone(),
        witnesses: args.witnesses.clone(),
        rules_every: (args.rules_every > 0)
            .then(|| std::time::Duration::from_secs(args.rules_every)),
        backups: args.backups.clone(),
        require_grounds: args.require_grounds,
        context_url: args.context_url,
        public_url: args.public_url,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Input(format!("starting the runtime: {e}")))?;
    let addr_file = args.addr_file.clone();
    if args.exit_on_stdin_close {
        // SIGTERM ourselves on EOF: the same graceful path as a supervisor's stop.
        std::thread::spawn(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
            let _ = std::process::Command::new("kill")
                .arg("-TERM")
                .arg(std::process::id().to_string())
                .status();
        });
    }
    runtime
        .block_on(dossier_service::serve(config, move |addr| {
            eprintln!("dossier service listening on http://{addr} (OpenAPI at /openapi.json)");
            if let Some(f) = addr_file {
                if let Err(e) = write_atomic(&f, addr.to_string().as_bytes(), 0o644, true) {
                    tracing::error!(error = %e, "could not write the address file");
                }
            }
        }))
        .map_err(|e| CliError::Input(e.to_string()))?;
    Ok(0)
}

/// `dossier token add|list`.
pub fn token(home: &Home, out: &Out, cmd: TokenCmd) -> Result<i32, CliError> {
    match cmd {
        TokenCmd::Add {
            name,
            role,
            issuer,
            holder,
            wallet,
            member,
            tokens,
        } => add(
            home,
            out,
            name,
            &role,
            (issuer, holder, wallet, member),
            &tokens,
        ),
        TokenCmd::List { tokens } => list(home, out, &tokens),
    }
}

/// Adds a token for one role (printed once, stored hashed).
fn add(
    home: &Home,
    out: &Out,
    name: String,
    role: &str,
    (issuer, holder, wallet, member): (
        Option<String>,
        Option<String>,
        Option<PathBuf>,
        Option<String>,
    ),
    tokens: &Option<PathBuf>,
) -> Result<i32, CliError> {
    let role = match (role, issuer, holder, wallet, member) {
            ("issuer", Some(issuer), None, None, None) => dossier_service::Role::Issuer { issuer },
            ("holder", None, Some(holder), None, None) => dossier_service::Role::Holder { holder },
            ("holder", None, None, Some(w), None) => dossier_service::Role::Holder {
                holder: dossier_core::field::to_hex(&crate::wallet::Wallet::open(&w)?.holder()),
            },
            ("verifier", None, None, None, None) => dossier_service::Role::Verifier,
            ("regulator", None, None, None, None) => dossier_service::Role::Regulator,
            ("member", None, None, None, Some(member)) => dossier_service::Role::Member { member },
            _ => {
                return Err(CliError::Input(
                    "give --role issuer --issuer NAME, --role holder with --holder or --wallet, --role member --member NAME, --role verifier or --role regulator".into(),
                ))
            }
        };
    let path = tokens_path(home, tokens);
    let token = add_token(&path, &name, role)?;
    out.emit(
        format!(
            "token `{name}` added to {}; it is shown only now:\n{token}",
            path.display()
        ),
        json!({"name": name, "token": token, "tokens_file": path}),
    );
    Ok(0)
}

/// Every token's name and role (never the token).
fn list(home: &Home, out: &Out, tokens: &Option<PathBuf>) -> Result<i32, CliError> {
    let path = tokens_path(home, tokens);
    let list = list_tokens(&path)?;
    let rows: Vec<String> = list
        .iter()
        .map(|t| {
            format!(
                "{:<24} {}",
                t.name,
                serde_json::to_string(&t.role).unwrap_or_default()
            )
        })
        .collect();
    let machine: Vec<_> = list
        .iter()
        .map(|t| json!({"name": t.name, "role": t.role}))
        .collect();
    out.emit(rows.join("\n"), json!(machine));
    Ok(0)
}
