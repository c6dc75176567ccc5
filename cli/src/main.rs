//! `dossier`, the command line over dossier's store: issuers issue, update and revoke
//! credentials, the ledger publishes checkpoints, holders keep wallets and fetch witnesses, and
//! regulators audit. Human output by default, `--json` for machines; exit codes: 0 done,
//! 1 a check failed (audit discrepancy), 2 unusable input, 3 store or file-system failure.

mod batch;
mod demo;
mod error;
mod present;
mod serve;
mod wallet;

use dossier_store::home;

use clap::{Args, Parser, Subcommand};
use dossier_core::credential::CredentialOpening;
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::presentation::Backend;
use dossier_core::schema::SchemaSet;
use dossier_core::{checkpoint, field, pasta};
use dossier_store::audit;
use dossier_store::export::LedgerExport;
use error::{io, CliError};
use home::Home;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use wallet::Wallet;

#[derive(Parser)]
#[command(
    name = "dossier",
    version,
    about = "Zero-knowledge credentials and audits for civil-service personnel records"
)]
struct Cli {
    /// The folder holding the database, keys and default wallet.
    #[arg(long, global = true, env = "DOSSIER_HOME", default_value = ".dossier")]
    home: PathBuf,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// The folder of proving and verifying keys (with its manifest).
    #[arg(long, global = true, env = "DOSSIER_PARAMS", default_value = "params")]
    params: PathBuf,
    /// Seconds to wait for another process that holds the database.
    #[arg(long, global = true, default_value_t = 60)]
    lock_wait: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole story on a fresh embedded store and time each step.
    Demo(DemoArgs),
    /// The ledger: create it, inspect it, export it for a regulator.
    #[command(subcommand)]
    Ledger(LedgerCmd),
    /// List the schemas this build knows, with their ids.
    Schemas,
    /// Issuers: register one (with a new key), list them.
    #[command(subcommand)]
    Issuer(IssuerCmd),
    /// Issue one credential (--claim) or a batch (--batch, JSON Lines or CSV).
    Issue(IssueArgs),
    /// Replace a live credential by a new version under the same id.
    Update(UpdateArgs),
    /// Revoke a live credential.
    Revoke(RevokeArgs),
    /// Publish a signed checkpoint anchoring every registry root.
    Checkpoint {
        /// Also write the signed note to this file.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Holders: create a wallet, show it, import credentials into it.
    #[command(subcommand)]
    Holder(HolderCmd),
    /// A credential's membership path in its issuer's registry, and whether a checkpoint anchors it.
    Witness {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The credential id.
        #[arg(long)]
        id: u32,
    },
    /// Replay a ledger and check every signature, registry root and checkpoint.
    Audit(AuditArgs),
    /// Generate Groth16 keys for every shipped shape into --params (INSECURE development setup).
    Setup,
    /// A verifier's presentation request: query, fresh challenge, scope, today, freshness.
    Request(RequestArgs),
    /// Prove a request from your wallet, locally, and write a presentation.
    Prove(ProveArgs),
    /// Check a presentation against your request (exit 0 valid, 1 invalid, 2 unusable input).
    Verify(VerifyArgs),
    /// Export a presentation for other tools.
    #[command(subcommand)]
    Export(ExportCmd),
    /// Check a proof given in another tool's format against this build's pinned keys.
    #[command(subcommand)]
    Import(ImportCmd),
    /// Run the HTTP service on this home's store (until SIGINT or SIGTERM).
    Serve(ServeCli),
    /// The service's bearer tokens: add one (printed once), list them.
    #[command(subcommand)]
    Token(TokenCmd),
}

#[derive(Args)]
struct ServeCli {
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8640")]
    listen: std::net::SocketAddr,
    /// The tokens file (default: <home>/tokens.json).
    #[arg(long, env = "DOSSIER_TOKENS")]
    tokens: Option<PathBuf>,
    /// Proving jobs that may wait; beyond, 429 with Retry-After.
    #[arg(long, default_value_t = 8)]
    queue: usize,
    /// Requests per second each client may sustain (twice that in a burst).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Largest request body, bytes.
    #[arg(long, default_value_t = 1 << 20)]
    body_limit: usize,
    /// Write the bound address here once listening (useful with --listen 127.0.0.1:0).
    #[arg(long)]
    addr_file: Option<PathBuf>,
    /// Shut down gracefully when standard input closes (for supervisors and tests whose
    /// service must not outlive them).
    #[arg(long)]
    exit_on_stdin_close: bool,
    /// snarkjs's browser build (snarkjs.min.js from the npm package) for the /verify and /ledger
    /// pages to check proofs in the browser; not bundled with dossier (it is GPL-3.0).
    #[arg(long, env = "DOSSIER_SNARKJS")]
    snarkjs: Option<PathBuf>,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Add a token and print it (only its SHA-256 is stored).
    Add {
        /// A name for its owner (in logs and the archive).
        #[arg(long)]
        name: String,
        /// issuer, holder, verifier or regulator.
        #[arg(long)]
        role: String,
        /// For an issuer's token: the issuer's name.
        #[arg(long)]
        issuer: Option<String>,
        /// For a holder's token: the holder commitment (or take it from --wallet).
        #[arg(long)]
        holder: Option<String>,
        /// For a holder's token: the wallet whose holder commitment to bind.
        #[arg(long)]
        wallet: Option<PathBuf>,
        /// The tokens file (default: <home>/tokens.json).
        #[arg(long, env = "DOSSIER_TOKENS")]
        tokens: Option<PathBuf>,
    },
    /// List tokens' names and roles.
    List {
        /// The tokens file (default: <home>/tokens.json).
        #[arg(long, env = "DOSSIER_TOKENS")]
        tokens: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// verification_key.json, proof.json and public.json for `snarkjs groth16 verify`.
    Snarkjs {
        /// The presentation.
        #[arg(long)]
        presentation: PathBuf,
        /// The folder to write the three files into.
        #[arg(long)]
        out: PathBuf,
    },
    /// A presentation request as a DIF Presentation Exchange v2 presentation definition.
    Pex {
        /// The request (from `dossier request`).
        #[arg(long)]
        request: PathBuf,
        /// Where to write the definition (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Solidity: a Groth16 verifier per shape (from the keys in --params) and the anchor
    /// contract; with --presentation, also its call data (calldata.json).
    Solidity {
        /// The folder to write the contracts into.
        #[arg(long)]
        out: PathBuf,
        /// A presentation whose call arguments to write as calldata.json.
        #[arg(long)]
        presentation: Option<PathBuf>,
        /// The ledger's verifier key that signed the presentation's checkpoint (or `@file`);
        /// default: this home's ledger.
        #[arg(long)]
        log_key: Option<String>,
    },
}

#[derive(Subcommand)]
enum ImportCmd {
    /// A DIF Presentation Exchange v2 presentation definition (in dossier's vocabulary, see
    /// docs/envelopes.md) as a presentation request for `dossier prove`.
    Pex {
        /// The presentation definition.
        #[arg(long)]
        definition: PathBuf,
        /// Where to write the request.
        #[arg(long)]
        out: PathBuf,
    },
    /// snarkjs's verification_key.json, proof.json and public.json: the key must be one of the
    /// pinned keys in --params (which names the shape); then the Groth16 check, and the public
    /// inputs read in that shape's layout (exit 0 valid, 1 invalid, 2 unusable input).
    Snarkjs {
        /// verification_key.json.
        #[arg(long)]
        vk: PathBuf,
        /// proof.json.
        #[arg(long)]
        proof: PathBuf,
        /// public.json.
        #[arg(long)]
        public: PathBuf,
    },
}

#[derive(Args)]
struct RequestArgs {
    /// The query (JSON).
    #[arg(long)]
    query: PathBuf,
    /// The scope, e.g. recruitment:2026:tax-bureau (one presentation per holder and scope).
    #[arg(long)]
    scope: String,
    /// The date expiry is judged against (default: today, UTC).
    #[arg(long)]
    today: Option<String>,
    /// Maximum age of the anchoring checkpoint, in seconds.
    #[arg(long, default_value_t = 86_400)]
    max_age: u64,
    /// The proof system: groth16 (small proofs, on-chain verification; trusted setup) or halo2
    /// (no trusted setup; larger proofs). A scope belongs to one backend.
    #[arg(long, default_value = "groth16", value_parser = parse_backend)]
    backend: Backend,
    /// Where to write the request.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct ProveArgs {
    /// The request to answer.
    #[arg(long)]
    request: PathBuf,
    /// The wallet (default: <home>/wallet.json).
    #[arg(long)]
    wallet: Option<PathBuf>,
    /// Where to write the presentation.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct VerifyArgs {
    /// Your request.
    #[arg(long)]
    request: PathBuf,
    /// The presentation received.
    presentation: PathBuf,
    /// The ledger verifier key to trust (text or @file; default: this home's ledger).
    #[arg(long)]
    log_key: Option<String>,
    /// A file of nullifiers seen; a second presentation in the same scope is refused.
    #[arg(long)]
    nullifiers: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Synthetic civil servants (each gets employment, qualification and three appraisals).
    #[arg(long, default_value_t = 1000)]
    people: u32,
}

#[derive(Subcommand)]
enum LedgerCmd {
    /// Create the ledger's key with an origin (otherwise created on first use with the default).
    Init {
        /// The ledger's name, the first line of its checkpoints.
        #[arg(long, default_value = home::DEFAULT_ORIGIN)]
        origin: String,
    },
    /// Size, log root, issuers and the latest checkpoint.
    Info,
    /// Write the whole ledger (entries and checkpoints, no personal data) for a regulator.
    Export {
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum IssuerCmd {
    /// Register an issuer: a new Ed25519 key in the home folder and an entry on the ledger.
    Init {
        /// The issuer's name (a-z, 0-9, '.', '_', '-'), e.g. `hr.tax-bureau`.
        name: String,
    },
    /// List registered issuers.
    List,
}

#[derive(Args)]
struct IssueArgs {
    /// The issuing issuer.
    #[arg(long)]
    issuer: String,
    /// One claim as a JSON file: {"schema", "holder", "expires_at"?, "fields"}.
    #[arg(long, conflicts_with = "batch", required_unless_present = "batch")]
    claim: Option<PathBuf>,
    /// Many claims: JSON Lines, or CSV (by the .csv ending).
    #[arg(long)]
    batch: Option<PathBuf>,
    /// Append the credential openings (for the holders) to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Credentials per durable transaction in a batch.
    #[arg(long, default_value_t = 10_000)]
    chunk: usize,
    /// The issue date YYYY-MM-DD (default: today, UTC).
    #[arg(long)]
    issued_at: Option<String>,
    /// The issuer's key file (default: the home folder's).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Args)]
struct UpdateArgs {
    /// The issuer.
    #[arg(long)]
    issuer: String,
    /// The credential id to replace.
    #[arg(long)]
    id: u32,
    /// The new version's claim as a JSON file.
    #[arg(long)]
    claim: PathBuf,
    /// Append the new opening to this file instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The issue date of the new version (default: today, UTC).
    #[arg(long)]
    issued_at: Option<String>,
    /// The issuer's key file (default: the home folder's).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Args)]
struct RevokeArgs {
    /// The issuer.
    #[arg(long)]
    issuer: String,
    /// The credential id.
    #[arg(long)]
    id: u32,
    /// The issuer's key file (default: the home folder's).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum HolderCmd {
    /// Create a wallet with a fresh secret (mode 0600); prints the holder commitment.
    Init {
        /// The wallet file (default: <home>/wallet.json).
        #[arg(long)]
        wallet: Option<PathBuf>,
    },
    /// The holder commitment and the credentials held (never the secret).
    Show {
        /// The wallet file (default: <home>/wallet.json).
        #[arg(long)]
        wallet: Option<PathBuf>,
    },
    /// Import credential openings (JSON or JSON Lines) issued to this holder.
    Import {
        /// Files of openings.
        files: Vec<PathBuf>,
        /// The wallet file (default: <home>/wallet.json).
        #[arg(long)]
        wallet: Option<PathBuf>,
    },
}

#[derive(Args)]
struct AuditArgs {
    /// A ledger export to audit (default: this home's ledger, also checking its registries).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// The ledger verifier key to trust (text, or @file); default: the ledger's own claim.
    #[arg(long)]
    log_key: Option<String>,
}

/// Prints either text or JSON.
pub struct Out {
    json: bool,
}

impl Out {
    fn emit(&self, human: impl std::fmt::Display, machine: serde_json::Value) {
        if self.json {
            println!("{machine}");
        } else {
            println!("{human}");
        }
    }
}

use dossier_core::clock::{now, today};

fn day_arg(arg: &Option<String>) -> Result<u32, CliError> {
    let day = match arg {
        None => today(),
        Some(s) => date_to_days(s).map_err(|e| CliError::Input(format!("--issued-at: {e}")))?,
    };
    dossier_core::credential::check_issued_at(day, today())?;
    Ok(day)
}

/// Where openings go: appended to a file (fsynced per chunk) or stdout (flushed per chunk).
enum Sink {
    File(std::fs::File, PathBuf),
    Stdout,
}

impl Sink {
    fn open(path: &Option<PathBuf>) -> Result<Sink, CliError> {
        use std::os::unix::fs::OpenOptionsExt;
        Ok(match path {
            Some(p) => Sink::File(
                std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .open(p)
                    .map_err(io(p))?,
                p.clone(),
            ),
            None => Sink::Stdout,
        })
    }

    fn write(&mut self, openings: &[CredentialOpening]) -> Result<(), CliError> {
        let mut text = String::new();
        for o in openings {
            text.push_str(&serde_json::to_string(o).map_err(|e| CliError::Input(e.to_string()))?);
            text.push('\n');
        }
        match self {
            Sink::File(f, p) => {
                f.write_all(text.as_bytes()).map_err(io(p))?;
                f.sync_data().map_err(io(p))?;
            }
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())
                    .and_then(|_| out.flush())
                    .map_err(io(Path::new("stdout")))?;
            }
        }
        Ok(())
    }
}

fn wallet_path(home: &Home, w: &Option<PathBuf>) -> PathBuf {
    w.clone().unwrap_or_else(|| home.wallet_path())
}

fn run(cli: Cli) -> Result<i32, CliError> {
    let home = Home {
        dir: cli.home.clone(),
        lock_wait: Duration::from_secs(cli.lock_wait),
    };
    let out = Out { json: cli.json };
    let schemas = SchemaSet::builtin();
    match cli.command {
        Command::Demo(args) => demo::run(&home, &cli.params, &out, args.people),
        Command::Schemas => {
            // Everything the schema id commits to (docs/encoding.md), so that the id can be
            // recomputed from this output: enum members in order, uint bounds.
            let field_json = |f: &dossier_core::schema::SchemaField| {
                let mut v = json!({"name": f.name, "type": f.ty.name()});
                if let dossier_core::encoding::FieldType::Enum { members } = &f.ty {
                    v["members"] = json!(members);
                }
                if let Some(m) = f.min {
                    v["min"] = json!(m);
                }
                if let Some(m) = f.max {
                    v["max"] = json!(m);
                }
                v
            };
            let list: Vec<_> = schemas
                .iter()
                .map(|s| {
                    json!({"name": s.name, "version": s.version, "id": field::to_hex(&s.id()),
                    "fields": s.fields.iter().map(field_json).collect::<Vec<_>>()})
                })
                .collect();
            let human: Vec<String> = schemas
                .iter()
                .map(|s| {
                    format!(
                        "{:<14} v{}  {}  ({})",
                        s.name,
                        s.version,
                        field::to_hex(&s.id()),
                        s.fields
                            .iter()
                            .map(|f| format!("{}: {}", f.name, f.ty.name()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            out.emit(human.join("\n"), json!(list));
            Ok(0)
        }
        Command::Ledger(LedgerCmd::Init { origin }) => {
            let store = home.store()?;
            let key = home.ledger_key(&store, Some(&origin))?;
            out.emit(
                format!(
                    "ledger `{}` ready; verifier key:\n{}",
                    key.name(),
                    key.verifier_key()
                ),
                json!({"origin": key.name(), "log_key": key.verifier_key()}),
            );
            Ok(0)
        }
        Command::Ledger(LedgerCmd::Info) => {
            let store = home.reader()?;
            let size = store.ledger_size()?;
            let root = store.tree_hash(size)?;
            let identity = store.ledger_identity()?;
            let issuers = store.issuers()?;
            let latest = store.latest_checkpoint()?;
            let latest_size = latest
                .as_ref()
                .and_then(|n| n.lines().nth(1).and_then(|l| l.parse::<u64>().ok()));
            out.emit(
                format!(
                    "ledger {}\n  entries: {size}\n  log root: {}\n  issuers: {}\n  latest checkpoint: {}",
                    identity.as_ref().map_or("(no key yet)", |(o, _)| o.as_str()),
                    checkpoint::root_hash_b64(&root),
                    issuers.iter().map(|i| format!("{} ({} live)", i.name, i.live)).collect::<Vec<_>>().join(", "),
                    latest_size.map_or("none".to_string(), |s| format!("size {s}"))
                ),
                json!({"origin": identity.as_ref().map(|i| &i.0), "log_key": identity.as_ref().map(|i| &i.1),
                       "entries": size, "log_root": checkpoint::root_hash_b64(&root),
                       "issuers": issuers.iter().map(|i| json!({"name": i.name, "issuer_id": field::to_hex(&i.issuer_id), "live": i.live})).collect::<Vec<_>>(),
                       "latest_checkpoint": latest}),
            );
            Ok(0)
        }
        Command::Ledger(LedgerCmd::Export { out: path }) => {
            let store = home.reader()?;
            let export = store.export()?;
            home::write_atomic(&path, export.to_json()?.as_bytes(), 0o644, true)?;
            out.emit(
                format!("wrote {} entries and {} checkpoints to {}", export.entries.len(), export.checkpoints.len(), path.display()),
                json!({"entries": export.entries.len(), "checkpoints": export.checkpoints.len(), "file": path}),
            );
            Ok(0)
        }
        Command::Issuer(IssuerCmd::Init { name }) => {
            if home.db_path().exists() && home.reader()?.issuer(&name).is_ok() {
                return Err(dossier_store::StoreError::IssuerExists { name }.into());
            }
            let store = home.store()?;
            home.ledger_key(&store, None)?;
            let key = home.new_issuer_key(&name)?;
            let info = store.register_issuer(&key, now())?;
            out.emit(
                format!("issuer `{}` registered\n  id: {}\n  key: {}", info.name, field::to_hex(&info.issuer_id), key.verifier_key()),
                json!({"issuer": info.name, "issuer_id": field::to_hex(&info.issuer_id), "verifier_key": key.verifier_key()}),
            );
            Ok(0)
        }
        Command::Issuer(IssuerCmd::List) => {
            let store = home.reader()?;
            let list = store.issuers()?;
            out.emit(
                list.iter().map(|i| format!("{:<24} {}  next id {}  live {}", i.name, field::to_hex(&i.issuer_id), i.next_id, i.live)).collect::<Vec<_>>().join("\n"),
                json!(list.iter().map(|i| json!({"name": i.name, "issuer_id": field::to_hex(&i.issuer_id), "next_id": i.next_id, "live": i.live})).collect::<Vec<_>>()),
            );
            Ok(0)
        }
        Command::Issue(args) => issue(&home, &out, &schemas, args),
        Command::Update(args) => {
            let claim = batch::read_claim(&args.claim, &schemas)?;
            let day = day_arg(&args.issued_at)?;
            let key = home.issuer_key(&args.issuer, args.key.as_deref())?;
            preflight(home.reader()?, &key, Some(args.id))?;
            let store = home.store()?;
            let credential = store.update(&key, args.id, &claim, day, now())?;
            let opening = CredentialOpening::new(&claim, &args.issuer, &credential);
            Sink::open(&args.out)?.write(std::slice::from_ref(&opening))?;
            eprintln!("credential {} of `{}` updated", args.id, args.issuer);
            Ok(0)
        }
        Command::Revoke(args) => {
            let key = home.issuer_key(&args.issuer, args.key.as_deref())?;
            preflight(home.reader()?, &key, Some(args.id))?;
            let store = home.store()?;
            store.revoke(&key, args.id, now())?;
            out.emit(
                format!("credential {} of `{}` revoked", args.id, args.issuer),
                json!({"issuer": args.issuer, "credential_id": args.id, "revoked": true}),
            );
            Ok(0)
        }
        Command::Checkpoint { out: path } => {
            let store = home.store()?;
            let key = home.ledger_key(&store, None)?;
            let note = store.checkpoint(&key, now())?;
            if let Some(p) = &path {
                home::write_atomic(p, note.as_bytes(), 0o644, true)?;
            }
            let body = checkpoint::open(note.as_bytes(), &key.verifier_key())?;
            out.emit(note.trim_end(), json!({"size": body.size, "note": note}));
            Ok(0)
        }
        Command::Holder(HolderCmd::Init { wallet }) => {
            let path = wallet_path(&home, &wallet);
            let w = Wallet::create(&path)?;
            out.emit(
                format!(
                    "wallet created at {} (mode 0600)\nholder commitment: {}\nholder commitment (halo2): {}",
                    path.display(),
                    field::to_hex(&w.holder()),
                    pasta::to_hex(&w.secret().commitment_halo2())
                ),
                json!({"wallet": path, "holder": field::to_hex(&w.holder()),
                    "holder_halo2": pasta::to_hex(&w.secret().commitment_halo2())}),
            );
            Ok(0)
        }
        Command::Holder(HolderCmd::Show { wallet }) => {
            let w = Wallet::open(&wallet_path(&home, &wallet))?;
            let list: Vec<_> = w.credentials.iter().map(|c| json!({"issuer": c.issuer, "schema": c.schema, "credential_id": c.credential_id, "issued_at": c.issued_at, "expires_at": c.expires_at})).collect();
            out.emit(
                format!(
                    "holder commitment: {}\nholder commitment (halo2): {}\n{} credentials:\n{}",
                    field::to_hex(&w.holder()),
                    pasta::to_hex(&w.secret().commitment_halo2()),
                    w.credentials.len(),
                    w.credentials
                        .iter()
                        .map(|c| format!(
                            "  {} #{} ({}), issued {}",
                            c.issuer, c.credential_id, c.schema, c.issued_at
                        ))
                        .collect::<Vec<_>>()
                        .join("\n")
                ),
                json!({"holder": field::to_hex(&w.holder()),
                    "holder_halo2": pasta::to_hex(&w.secret().commitment_halo2()), "credentials": list}),
            );
            Ok(0)
        }
        Command::Holder(HolderCmd::Import { files, wallet }) => {
            let path = wallet_path(&home, &wallet);
            let mut w = Wallet::open(&path)?;
            let mut added = 0;
            for f in &files {
                let text = std::fs::read_to_string(f).map_err(io(f))?;
                let openings: Vec<CredentialOpening> = if text.trim_start().starts_with('[') {
                    serde_json::from_str(&text)
                        .map_err(|e| CliError::Input(format!("{}: {e}", f.display())))?
                } else {
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| {
                            serde_json::from_str(l)
                                .map_err(|e| CliError::Input(format!("{}: {e}", f.display())))
                        })
                        .collect::<Result<_, _>>()?
                };
                for o in openings {
                    if o.holder != w.holder() {
                        continue; // a batch file holds other holders' credentials too
                    }
                    if w.import(o, &schemas)? {
                        added += 1;
                    }
                }
            }
            w.save()?;
            out.emit(
                format!("imported {added} credentials"),
                json!({"imported": added}),
            );
            Ok(0)
        }
        Command::Witness { issuer, id } => {
            let store = home.reader()?;
            let path = store.witness(&issuer, id)?;
            if path.leaf == dossier_core::Fr::from(0u64) {
                return Err(dossier_store::StoreError::CredentialNotFound {
                    issuer,
                    credential_id: id,
                }
                .into());
            }
            let info = store.issuer(&issuer)?;
            let anchored = match (store.latest_checkpoint()?, store.ledger_identity()?) {
                (Some(note), Some((_, key))) => {
                    let body = checkpoint::open(note.as_bytes(), &key)?;
                    body.registry(&info.issuer_id)
                        .map(|r| r.root == path.root)
                        .map(|a| (a, body.size))
                }
                _ => None,
            };
            let anchor_text = match anchored {
                Some((true, size)) => format!("anchored by the latest checkpoint (size {size})"),
                Some((false, size)) => format!("NOT anchored: the registry changed since the latest checkpoint (size {size}); publish a checkpoint"),
                None => "NOT anchored: no checkpoint lists this registry yet".to_string(),
            };
            let v = serde_json::to_value(&path).map_err(|e| CliError::Input(e.to_string()))?;
            out.emit(
                format!("credential {id} of `{issuer}`\n  leaf: {}\n  root: {}\n  {anchor_text}", field::to_hex(&path.leaf), field::to_hex(&path.root)),
                json!({"path": v, "anchored": anchored.map(|a| a.0).unwrap_or(false), "checkpoint_size": anchored.map(|a| a.1)}),
            );
            Ok(0)
        }
        Command::Audit(args) => audit_cmd(&home, &out, args),
        Command::Setup => setup_cmd(&cli.params, &out),
        Command::Request(args) => {
            let query: dossier_core::query::Query = present::read_json(&args.query)?;
            query.encode(&schemas, query.shape()?)?;
            let today = args.today.unwrap_or_else(|| days_to_date(today()));
            let request = dossier_core::presentation::PresentationRequest::new(
                query,
                &args.scope,
                &today,
                args.max_age,
            )?
            .with_backend(args.backend);
            let text = serde_json::to_string_pretty(&request)
                .map_err(|e| CliError::Input(e.to_string()))?;
            home::write_atomic(&args.out, text.as_bytes(), 0o644, true)?;
            out.emit(
                format!(
                    "request written to {} (shape {}, backend {})",
                    args.out.display(),
                    request.query.shape()?.name(),
                    request.backend
                ),
                json!({"request": args.out, "challenge": field::to_hex(&request.challenge),
                    "backend": request.backend}),
            );
            Ok(0)
        }
        Command::Prove(args) => {
            let request: dossier_core::presentation::PresentationRequest =
                present::read_json(&args.request)?;
            let wallet = wallet_path(&home, &args.wallet);
            let (p, secs) = present::prove(&home, &cli.params, &wallet, &request, &schemas)?;
            let text =
                serde_json::to_string_pretty(&p).map_err(|e| CliError::Input(e.to_string()))?;
            home::write_atomic(&args.out, text.as_bytes(), 0o644, true)?;
            out.emit(
                format!(
                    "presentation written to {} (shape {}, {}, proved in {:.0} ms)",
                    args.out.display(),
                    p.shape.name(),
                    p.backend,
                    secs * 1e3
                ),
                json!({"presentation": args.out, "shape": p.shape.name(), "backend": p.backend, "seconds": secs}),
            );
            Ok(0)
        }
        Command::Serve(a) => {
            let tokens = serve::tokens_path(&home, &a.tokens);
            serve::serve(
                &home,
                &cli.params,
                serve::ServeArgs {
                    listen: a.listen,
                    tokens,
                    queue: a.queue,
                    rate: a.rate,
                    body_limit: a.body_limit,
                    addr_file: a.addr_file,
                    exit_on_stdin_close: a.exit_on_stdin_close,
                    snarkjs: a.snarkjs.clone(),
                },
            )
        }
        Command::Token(TokenCmd::Add {
            name,
            role,
            issuer,
            holder,
            wallet,
            tokens,
        }) => {
            let role = match (role.as_str(), issuer, holder, wallet) {
                ("issuer", Some(issuer), None, None) => dossier_service::Role::Issuer { issuer },
                ("holder", None, Some(holder), None) => dossier_service::Role::Holder { holder },
                ("holder", None, None, Some(w)) => dossier_service::Role::Holder {
                    holder: field::to_hex(&wallet::Wallet::open(&w)?.holder()),
                },
                ("verifier", None, None, None) => dossier_service::Role::Verifier,
                ("regulator", None, None, None) => dossier_service::Role::Regulator,
                _ => {
                    return Err(CliError::Input(
                        "give --role issuer --issuer NAME, --role holder with --holder or --wallet, --role verifier or --role regulator".into(),
                    ))
                }
            };
            let path = serve::tokens_path(&home, &tokens);
            let token = serve::add_token(&path, &name, role)?;
            out.emit(
                format!(
                    "token `{name}` added to {}; it is shown only now:\n{token}",
                    path.display()
                ),
                json!({"name": name, "token": token, "tokens_file": path}),
            );
            Ok(0)
        }
        Command::Token(TokenCmd::List { tokens }) => {
            let path = serve::tokens_path(&home, &tokens);
            let list = serve::list_tokens(&path)?;
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
        Command::Verify(args) => verify_cmd(&home, &cli.params, &out, &schemas, args),
        Command::Export(ExportCmd::Snarkjs {
            presentation,
            out: dir,
        }) => {
            let p: dossier_core::presentation::Presentation = present::read_json(&presentation)?;
            let keys = dossier_verifier::VerifierKeys::load(&cli.params)?;
            let key = keys
                .for_presentation(&p)
                .map_err(|e| CliError::Input(e.to_string()))?;
            let proof = dossier_verifier::decode_proof(&p.proof)?;
            let inputs = p.inputs()?;
            use dossier_verifier::snarkjs;
            for (name, value) in [
                ("verification_key.json", snarkjs::verifying_key(&key.pvk.vk)),
                ("proof.json", snarkjs::proof(&proof)),
                ("public.json", snarkjs::public(&inputs)),
            ] {
                let text = serde_json::to_string_pretty(&value)
                    .map_err(|e| CliError::Input(e.to_string()))?;
                home::write_atomic(&dir.join(name), text.as_bytes(), 0o644, true)?;
            }
            out.emit(
                format!(
                    "wrote verification_key.json, proof.json and public.json to {}",
                    dir.display()
                ),
                json!({"out": dir}),
            );
            Ok(0)
        }
        Command::Export(ExportCmd::Pex { request, out: path }) => {
            let r: dossier_core::presentation::PresentationRequest = present::read_json(&request)?;
            let d = dossier_core::exchange::request_to_definition(&r);
            let text =
                serde_json::to_string_pretty(&d).map_err(|e| CliError::Input(e.to_string()))?;
            match path {
                Some(p) => {
                    home::write_atomic(&p, text.as_bytes(), 0o644, true)?;
                    out.emit(
                        format!("wrote the presentation definition to {}", p.display()),
                        json!({"out": p}),
                    );
                }
                None => println!("{text}"),
            }
            Ok(0)
        }
        Command::Import(ImportCmd::Pex {
            definition,
            out: path,
        }) => {
            let d: serde_json::Value = present::read_json(&definition)?;
            let r = dossier_core::exchange::request_from_definition(&d)
                .map_err(|e| CliError::Input(format!("{}: {e}", definition.display())))?;
            // The query must also be one this build can prove.
            r.query
                .shape()
                .and_then(|shape| r.query.encode(&schemas, shape))
                .map_err(|e| CliError::Input(format!("{}: {e}", definition.display())))?;
            let text =
                serde_json::to_string_pretty(&r).map_err(|e| CliError::Input(e.to_string()))?;
            home::write_atomic(&path, text.as_bytes(), 0o644, true)?;
            out.emit(
                format!("wrote the request to {}", path.display()),
                json!({"out": path}),
            );
            Ok(0)
        }
        Command::Import(ImportCmd::Snarkjs { vk, proof, public }) => {
            import_snarkjs(&cli.params, &vk, &proof, &public, &out)
        }
        Command::Export(ExportCmd::Solidity {
            out: dir,
            presentation,
            log_key,
        }) => export_solidity(
            &home,
            &cli.params,
            &dir,
            presentation.as_deref(),
            log_key.as_deref(),
            &schemas,
            &out,
        ),
    }
}

/// `dossier import snarkjs`: a snarkjs triple checked against the pinned key it claims to be.
fn import_snarkjs(
    params: &Path,
    vk: &Path,
    proof: &Path,
    public: &Path,
    out: &Out,
) -> Result<i32, CliError> {
    use dossier_verifier::snarkjs;
    let vk_value: serde_json::Value = present::read_json(vk)?;
    let imported = snarkjs::verifying_key_from(&vk_value)?;
    let proof = snarkjs::proof_from(&present::read_json(proof)?)?;
    let inputs = snarkjs::public_from(&present::read_json(public)?)?;
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    let (shape_name, key) = keys
        .keys
        .iter()
        .find(|(_, k)| k.pvk.vk == imported)
        .ok_or_else(|| {
            CliError::Input(format!(
                "{}: not one of the pinned verifying keys in {} (a proof checked against a key \
                 that came with it proves nothing about dossier's statements)",
                vk.display(),
                params.display()
            ))
        })?;
    let shape = dossier_core::query::SHAPES
        .into_iter()
        .find(|s| &s.name() == shape_name)
        .ok_or_else(|| CliError::Input(format!("shape {shape_name} is not built in")))?;
    let public_inputs = dossier_core::statement::PublicInputs::from_field_elements(shape, &inputs)
        .map_err(|e| CliError::Input(e.to_string()))?;
    let valid = dossier_verifier::verify_proof(key, &proof, &inputs).is_ok();
    let hex = dossier_core::field::to_hex;
    let machine = json!({
        "valid": valid,
        "shape": shape_name,
        "vk_sha256": key.vk_sha256,
        "roots": public_inputs.roots.iter().map(hex).collect::<Vec<_>>(),
        "query_hash": hex(&public_inputs.query_hash),
        "challenge": hex(&public_inputs.challenge),
        "scope": hex(&public_inputs.scope),
        "today": public_inputs.today,
        "nullifier": hex(&public_inputs.nullifier),
        "revealed": public_inputs.revealed.iter().map(hex).collect::<Vec<_>>(),
    });
    let text = if valid {
        format!(
            "valid: a Groth16 proof for shape {shape_name} (pinned key {}), query hash {}, \
             scope {}, day {}, nullifier {}\n(the statement's meaning needs the request: use \
             `dossier verify` with the presentation to check roots, query and freshness)",
            &key.vk_sha256[..16],
            hex(&public_inputs.query_hash),
            hex(&public_inputs.scope),
            public_inputs.today,
            hex(&public_inputs.nullifier)
        )
    } else {
        format!("INVALID: the proof does not hold for these public inputs under the pinned key of {shape_name}")
    };
    out.emit(text, machine);
    Ok(if valid { 0 } else { 1 })
}

/// `dossier export solidity`: the anchor contract, one verifier per shape, and optionally a
/// presentation's call data.
fn export_solidity(
    home: &Home,
    params: &Path,
    dir: &Path,
    presentation: Option<&Path>,
    log_key_arg: Option<&str>,
    schemas: &SchemaSet,
    out: &Out,
) -> Result<i32, CliError> {
    use dossier_verifier::solidity;
    let keys = dossier_verifier::VerifierKeys::load(params)?;
    let mut written = vec!["DossierAnchor.sol".to_string()];
    home::write_atomic(
        &dir.join("DossierAnchor.sol"),
        solidity::ANCHOR_SOURCE.as_bytes(),
        0o644,
        true,
    )?;
    for (shape, key) in &keys.keys {
        let name = format!("{}.sol", solidity::verifier_name(shape));
        let source = solidity::verifier_source(shape, &key.pvk.vk, &key.vk_sha256);
        home::write_atomic(&dir.join(&name), source.as_bytes(), 0o644, true)?;
        written.push(name);
    }
    if let Some(path) = presentation {
        let p: dossier_core::presentation::Presentation = present::read_json(path)?;
        keys.for_presentation(&p)?;
        let cp = checkpoint::open(p.checkpoint.as_bytes(), &log_key(home, log_key_arg)?)?;
        let call = solidity::call_data(&p, &cp, schemas)?;
        let text =
            serde_json::to_string_pretty(&call).map_err(|e| CliError::Input(e.to_string()))?;
        home::write_atomic(&dir.join("calldata.json"), text.as_bytes(), 0o644, true)?;
        written.push("calldata.json".into());
    }
    out.emit(
        format!("wrote {} to {}", written.join(", "), dir.display()),
        json!({"out": dir, "files": written}),
    );
    Ok(0)
}

fn setup_cmd(params: &Path, out: &Out) -> Result<i32, CliError> {
    let shapes = dossier_core::query::SHAPES;
    let bar = indicatif::ProgressBar::new_spinner();
    if out.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = std::time::Instant::now();
    let manifest = dossier_prover::setup_dev(params, &shapes, |shape, i| {
        bar.set_message(format!(
            "generating keys for shape {} ({}/{})",
            shape.name(),
            i + 1,
            shapes.len()
        ));
    })
    .map_err(|e| CliError::Input(e.to_string()))?;
    bar.finish_and_clear();
    let rows: Vec<String> = manifest
        .shapes
        .iter()
        .map(|(n, e)| {
            format!(
                "  {n}: {} constraints, vk sha256 {}",
                e.constraints, e.vk_sha256
            )
        })
        .collect();
    out.emit(
        format!("keys written to {} in {:.1} s — {}\n{}", params.display(), started.elapsed().as_secs_f64(), manifest.setup, rows.join("\n")),
        json!({"params": params, "insecure": manifest.insecure, "shapes": manifest.shapes.keys().collect::<Vec<_>>()}),
    );
    Ok(0)
}

fn verify_cmd(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    args: VerifyArgs,
) -> Result<i32, CliError> {
    let request: dossier_core::presentation::PresentationRequest =
        present::read_json(&args.request)?;
    let presentation: dossier_core::presentation::Presentation =
        present::read_json(&args.presentation)?;
    let log_key = log_key(home, args.log_key.as_deref())?;
    // halo2 needs no setup: its keys come from the circuit, once per process (not part of the
    // check's time), and no Groth16 parameters are read.
    let keys = if presentation.backend == Backend::Halo2 {
        dossier_verifier::halo2::prepare(presentation.shape)?;
        dossier_verifier::VerifierKeys::none()
    } else {
        dossier_verifier::VerifierKeys::load(params)?
    };
    let started = std::time::Instant::now();
    let checked =
        dossier_verifier::verify(&request, &presentation, &keys, &log_key, schemas, now())?;
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = &args.nullifiers {
        dossier_verifier::NullifierStore::open(path)?.check_and_record(
            &request.scope,
            checked.backend,
            &checked.nullifier,
        )?;
    }
    let v = &checked.verdict;
    let mut text = format!(
        "VALID presentation (verified in {:.1} ms){}\nproven:\n",
        secs * 1e3,
        if v.insecure_setup {
            " — WARNING: keys from the INSECURE development setup; proofs can be forged"
        } else {
            ""
        }
    );
    for p in &v.proven {
        text.push_str(&format!("  - {p}\n"));
    }
    if v.revealed.is_empty() {
        text.push_str("revealed: nothing\n");
    } else {
        text.push_str("revealed:\n");
        for r in &v.revealed {
            text.push_str(&format!("  - {}.{} = {}\n", r.schema, r.field, r.value));
        }
    }
    text.push_str(&format!(
        "anchored by the checkpoint of ledger size {} ({} s old); scope {}",
        v.checkpoint_size, v.checkpoint_age_seconds, v.scope
    ));
    out.emit(text, json!({"valid": true, "verdict": v, "seconds": secs}));
    Ok(0)
}

/// Checks a write's key (and target credential) through a read-only handle, so that a refused
/// write leaves the database file untouched; the reader is closed before the write opens.
fn preflight(
    reader: dossier_store::StoreReader,
    key: &dossier_core::keys::KeyPair,
    credential: Option<u32>,
) -> Result<(), CliError> {
    reader.authorize(key)?;
    if let Some(id) = credential {
        if !reader.is_live(key.name(), id)? {
            return Err(dossier_store::StoreError::CredentialNotFound {
                issuer: key.name().to_string(),
                credential_id: id,
            }
            .into());
        }
    }
    Ok(())
}

fn issue(home: &Home, out: &Out, schemas: &SchemaSet, args: IssueArgs) -> Result<i32, CliError> {
    let day = day_arg(&args.issued_at)?;
    // Every claim is checked before the store is touched: bad input changes nothing.
    let claims = match (&args.claim, &args.batch) {
        (Some(c), _) => vec![batch::read_claim(c, schemas)?],
        (None, Some(b)) => batch::read_claims(b, schemas)?,
        (None, None) => return Err(CliError::Input("give --claim or --batch".into())),
    };
    if args.chunk == 0 {
        return Err(CliError::Input("--chunk must be at least 1".into()));
    }
    let key = home.issuer_key(&args.issuer, args.key.as_deref())?;
    preflight(home.reader()?, &key, None)?;
    let store = home.store()?;
    let mut sink = Sink::open(&args.out)?;
    let bar = indicatif::ProgressBar::new(claims.len() as u64);
    if claims.len() > 1 && !out.json {
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} issuing [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
    } else {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let started = std::time::Instant::now();
    let mut first_id = None;
    for chunk in claims.chunks(args.chunk) {
        let credentials = store.issue(&key, chunk, day, now())?;
        first_id.get_or_insert(credentials.first().map(|c| c.credential_id));
        let openings: Vec<CredentialOpening> = chunk
            .iter()
            .zip(&credentials)
            .map(|(claim, c)| CredentialOpening::new(claim, &args.issuer, c))
            .collect();
        sink.write(&openings)?;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let summary = json!({"issuer": args.issuer, "issued": claims.len(), "first_id": first_id.flatten(),
        "issued_at": days_to_date(day), "seconds": secs});
    if out.json {
        eprintln!("{summary}");
    } else {
        eprintln!(
            "issued {} credentials for `{}` in {:.2} s ({:.0}/s); openings {}",
            claims.len(),
            args.issuer,
            secs,
            claims.len() as f64 / secs.max(1e-9),
            args.out
                .as_ref()
                .map_or("on stdout".to_string(), |p| format!(
                    "appended to {}",
                    p.display()
                ))
        );
    }
    Ok(0)
}

fn audit_cmd(home: &Home, out: &Out, args: AuditArgs) -> Result<i32, CliError> {
    let trusted = match &args.log_key {
        Some(k) if k.starts_with('@') => {
            let p = Path::new(&k[1..]);
            Some(
                std::fs::read_to_string(p)
                    .map_err(io(p))?
                    .trim()
                    .to_string(),
            )
        }
        Some(k) => Some(k.clone()),
        None => None,
    };
    let started = std::time::Instant::now();
    let result = match &args.ledger {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(io(p))?;
            audit::audit(&LedgerExport::from_json(&text)?, trusted.as_deref())
        }
        None => audit::audit_store(&home.reader()?, trusted.as_deref())?,
    };
    let secs = started.elapsed().as_secs_f64();
    let trust_note = if trusted.is_some() {
        "pinned key"
    } else {
        "the ledger's own key (pin one with --log-key)"
    };
    match result {
        Ok(report) => {
            out.emit(
                format!(
                    "audit passed: {} entries, {} checkpoints, {} registries replayed in {:.2} s (trusting {trust_note})\n  log root: {}\n{}",
                    report.entries, report.checkpoints, report.registries.len(), secs, report.log_root,
                    report.registries.iter().map(|r| format!("  {:<24} root {}  live {}", r.issuer, r.root, r.live)).collect::<Vec<_>>().join("\n")
                ),
                json!({"ok": true, "report": report, "seconds": secs, "trusted_key": trusted.is_some()}),
            );
            Ok(0)
        }
        Err(d) => {
            if out.json {
                println!("{}", json!({"ok": false, "discrepancy": d}));
            }
            Err(CliError::Audit(d))
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    tracing_subscriber::fmt()
        .with_env_filter({
            // arkworks traces every gadget: at info level that slows proving ~1000x, so its
            // spans stay off whatever DOSSIER_LOG asks for.
            let mut f = tracing_subscriber::EnvFilter::from_env("DOSSIER_LOG");
            for quiet in [
                "ark_relations=warn",
                "ark_r1cs_std=warn",
                "ark_groth16=warn",
                "ark_crypto_primitives=warn",
            ] {
                if let Ok(d) = quiet.parse() {
                    f = f.add_directive(d);
                }
            }
            f
        })
        .with_writer(std::io::stderr)
        .init();
    let code = match run(cli) {
        Ok(code) => code.max(error::EXIT_OK),
        Err(e) => {
            if json && matches!(e, CliError::Verify(_)) {
                println!("{}", json!({"valid": false, "reason": e.to_string()}));
            }
            if json {
                eprintln!(
                    "{}",
                    json!({"error": {"code": e.code(), "message": e.to_string()}})
                );
            } else {
                eprintln!("error: {e}");
            }
            e.exit_code()
        }
    };
    std::process::exit(code);
}

/// Today's date as text (for the demo's promotion).
pub fn demo_date(day: u32) -> String {
    days_to_date(day)
}

/// A backend named on the command line.
fn parse_backend(s: &str) -> Result<Backend, String> {
    s.parse()
        .map_err(|e: dossier_core::CoreError| e.to_string())
}

/// The ledger's verifier key: given (or `@file`), else this home's ledger.
fn log_key(home: &Home, given: Option<&str>) -> Result<String, CliError> {
    match given {
        Some(k) if k.starts_with('@') => {
            let p = Path::new(&k[1..]);
            Ok(std::fs::read_to_string(p)
                .map_err(io(p))?
                .trim()
                .to_string())
        }
        Some(k) => Ok(k.to_string()),
        None => home
            .reader()?
            .ledger_identity()?
            .map(|(_, k)| k)
            .ok_or_else(|| CliError::Input("no ledger key: pass --log-key".into())),
    }
}
