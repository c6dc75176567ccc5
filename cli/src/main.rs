//! `dossier`, the command line over dossier's store: issuers issue, update and revoke
//! credentials, the ledger publishes checkpoints, holders keep wallets and fetch witnesses, and
//! regulators audit. Human output by default, `--json` for machines; exit codes: 0 done,
//! 1 a check failed (audit discrepancy), 2 unusable input, 3 store or file-system failure.

mod authority;
mod backup;
mod ballot;
mod batch;
mod campaign;
mod career;
mod ceremony;
mod client;
mod cosigner;
mod demo;
mod error;
mod exchange;
mod holder;
mod issuer;
mod keys;
mod ledger;
mod openid4vp;
mod present;
mod round;
mod rules;
mod serve;
mod tasks;
mod wallet;
mod wallet_backup;
mod webhooks;

use dossier_store::home::{self, StoreLocation};

use clap::{Args, Parser, Subcommand};
use dossier_core::credential::CredentialOpening;
use dossier_core::encoding::{date_to_days, days_to_date};
use dossier_core::presentation::Backend;
use dossier_core::schema::SchemaSet;
use error::{io, CliError};
use home::Home;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

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
    /// Keep the store on a PostgreSQL server (`postgres://user@host:port/db`) instead of the
    /// embedded `dossier.redb` in the home folder; keys stay in the home folder.
    #[arg(long, global = true, env = "DOSSIER_DATABASE")]
    database: Option<String>,
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
    /// The accreditation authority: name it (before any issuer), accredit issuers for schemas,
    /// withdraw an accreditation, list them.
    #[command(subcommand)]
    Accreditor(AccreditorCmd),
    /// An issuer's committee for a schema: k of n members approve each credential before it is
    /// issued (set it, add a member key, propose, approve, finalize).
    #[command(subcommand)]
    Committee(CommitteeCmd),
    /// Anonymous peer rating: the HR office opens a ballot, colleagues rate each appraisee in
    /// zero knowledge (once each), the tally goes on the ledger, anyone re-verifies it.
    #[command(subcommand)]
    Ballot(BallotCmd),
    /// Appraisal rounds: the HR office declares a unit's appraisals of a year and proves to the
    /// regulator, in zero knowledge, that the round keeps its quota of "excellent" grades.
    #[command(subcommand)]
    Round(RoundCmd),
    /// Rules that run themselves: adopt a rule file on the ledger, run the issuer's engine for
    /// a day (each due case acted on once, each action a ledger entry), list the rules in force.
    #[command(subcommand)]
    Rules(RulesCmd),
    /// Webhooks: subscribe another system (payroll, the pension office, a notification
    /// channel) to an issuer's rule actions, list the outbox, deliver it (signed in the
    /// Standard Webhooks scheme, retried with backoff until acknowledged).
    #[command(subcommand)]
    Webhooks(WebhooksCmd),
    /// Tasks rule actions created for people: list them per party, approve one (taking the
    /// credential actions its rule names) or decline it.
    #[command(subcommand)]
    Tasks(TasksCmd),
    /// Recruitment screening: open a campaign with its requirement (a presentation request)
    /// and closing date, verify each application on arrival (shortlisted by nullifier, once per
    /// candidate, or refused), list the shortlist; `dossier audit` re-verifies the archive.
    #[command(subcommand)]
    Campaign(CampaignCmd),
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
    /// Backups of the store: create one, verify one (the full audit on a restored copy), restore
    /// one.
    #[command(subcommand)]
    Backup(BackupCmd),
    /// Generate Groth16 keys for every shipped shape into --params with the INSECURE development
    /// setup (its secrets derive from a public seed: anyone can forge proofs). Refused without
    /// --insecure-dev-setup; real keys come from `dossier ceremony`.
    Setup {
        /// Yes, make keys that anyone can forge proofs for (tests and experiments only).
        #[arg(long)]
        insecure_dev_setup: bool,
    },
    /// The Groth16 setup ceremony among departments: phase 1 (powers of tau, snarkjs .ptau),
    /// then per shape init, a contribution from each department, a public beacon, verification
    /// by anyone, and finalize into --params.
    #[command(subcommand)]
    Ceremony(CeremonyCmd),
    /// A verifier's presentation request: query, fresh challenge, scope, today, freshness.
    Request(RequestArgs),
    /// Prove a request from your wallet, locally, and write a presentation.
    Prove(ProveArgs),
    /// Answer an OpenID4VP 1.0 request (a verifier's link or QR code text) from your wallet.
    #[command(subcommand)]
    Openid4vp(Openid4vpCmd),
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
    /// A witness of the ledger (c2sp.org/tlog-witness) another department runs: create its
    /// key, serve `add-checkpoint`.
    #[command(subcommand)]
    Cosigner(CosignerCmd),
}

#[derive(Subcommand)]
enum CeremonyCmd {
    /// Phase 1: powers of tau in the snarkjs .ptau format.
    #[command(subcommand)]
    Phase1(Phase1Cmd),
    /// Start a ceremony folder: phase 1 and each shape's initial transcript.
    Init {
        /// The ceremony folder to create.
        #[arg(long)]
        dir: PathBuf,
        /// Phase 1 (a .ptau file: snarkjs's, e.g. the perpetual powers of tau, or ours),
        /// verified before use. Prepared files (snarkjs `prepare phase2`) start fastest.
        #[arg(long)]
        ptau: Option<PathBuf>,
        /// Instead of --ptau: a fresh phase 1 by one coordinator, who could forge proofs while
        /// it holds its secrets (demonstrations only).
        #[arg(long, value_name = "COORDINATOR")]
        single_party_phase1: Option<String>,
        /// Shapes (repeat; default all shipped shapes).
        #[arg(long = "shape")]
        shapes: Vec<String>,
    },
    /// Add your department's contribution (fresh OS randomness) to every transcript in the
    /// folder; prints the hashes to publish.
    Contribute {
        /// The ceremony folder.
        #[arg(long)]
        dir: PathBuf,
        /// Your name as it will stand in the transcript.
        #[arg(long)]
        name: String,
    },
    /// Close the ceremony with a public random value announced in advance (e.g. a future block
    /// hash), hashed 2^iterations-log times.
    Beacon {
        /// The ceremony folder.
        #[arg(long)]
        dir: PathBuf,
        /// The beacon's value (hex).
        #[arg(long)]
        value: String,
        /// log2 of the SHA-256 iterations.
        #[arg(long, default_value_t = 10)]
        iterations_log: u8,
        /// The name recorded for the beacon.
        #[arg(long, default_value = "random beacon")]
        name: String,
    },
    /// Re-check a ceremony: phase 1, every transcript against its circuit, every
    /// contribution's proof. Without --dir, the ceremony recorded in --params.
    Verify {
        /// The ceremony folder (default: the ceremony in --params).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Also check, for each of --params' keys, that the ledger records its ceremony: the
        /// entry's inclusion proof in the latest checkpoint (signed by the ledger's key).
        #[arg(long, conflicts_with = "dir")]
        on_ledger: bool,
    },
    /// Verify, then install the keys into --params (with phase 1 and the transcripts).
    Finalize {
        /// The ceremony folder.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Write a shape's constraint system as a circom .r1cs file, for snarkjs: `snarkjs zkey
    /// verify <shape>.r1cs phase1.ptau <shape>.zkey` re-checks a transcript independently.
    R1cs {
        /// The shape.
        #[arg(long)]
        shape: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum Phase1Cmd {
    /// Fresh powers of tau by one party (a start for a phase 1 among participants; a
    /// deployment imports a public multi-party file instead).
    New {
        /// log2 of the powers (the largest shipped shape needs 16).
        #[arg(long, default_value_t = 16)]
        power: u32,
        /// Where to write the .ptau.
        #[arg(long)]
        out: PathBuf,
        /// Your name as it will stand in the file.
        #[arg(long)]
        name: String,
    },
    /// Multiply in your fresh secrets (verifies the input first).
    Contribute {
        /// The .ptau to extend.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write the result.
        #[arg(long)]
        out: PathBuf,
        /// Your name as it will stand in the file.
        #[arg(long)]
        name: String,
    },
    /// Add the Lagrange-basis sections phase 2 starts from (snarkjs's `prepare phase2`).
    Prepare {
        /// The .ptau.
        #[arg(long = "in")]
        input: PathBuf,
        /// Where to write the prepared file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check every power and every dossier contribution's proof of knowledge.
    Verify {
        /// The .ptau.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CosignerCmd {
    /// Create this witness's key (in the home folder, 0600) and print its verifier key.
    Init {
        /// The witness's name (a schema-less URL, e.g. `witness.audit-office.example`).
        #[arg(long)]
        name: String,
    },
    /// Serve `POST /add-checkpoint` for the given ledgers until SIGINT.
    Serve {
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8641")]
        listen: std::net::SocketAddr,
        /// A ledger's verifier key (repeat for several ledgers).
        #[arg(long = "log", required = true)]
        logs: Vec<String>,
        /// A file to write the bound address to once listening.
        #[arg(long)]
        addr_file: Option<PathBuf>,
    },
    /// Approve a key revocation request (from `dossier ledger revocation-request`) with this
    /// witness's key, after checking it out of band.
    Approve {
        /// The request file.
        #[arg(long)]
        request: PathBuf,
        /// Where to write the approval.
        #[arg(long)]
        out: PathBuf,
    },
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
    /// A witness policy file: verifications believe a checkpoint only with k valid
    /// cosignatures of its witnesses.
    #[arg(long)]
    witness_policy: Option<PathBuf>,
    /// Run the issuers' adopted rules by themselves every this many seconds, and soon after
    /// each issuance or update (0: only when an issuer asks, POST /v1/issuers/{issuer}/rules/run).
    #[arg(long, default_value_t = 3600)]
    rules_every: u64,
    /// Take a backup of the store into this folder every --backup-every seconds (the first at
    /// start-up), keeping the newest --backup-keep; copy the folder off the machine.
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// Seconds between backups (with --backup-dir).
    #[arg(long, default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..))]
    backup_every: u64,
    /// How many backups to keep (with --backup-dir).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    backup_keep: u64,
    /// Refuse presentation requests (made here, verified here, or a campaign's) that do not
    /// state their purpose and legal basis.
    #[arg(long)]
    require_grounds: bool,
    /// Where this deployment publishes dossier's JSON-LD context (served here at
    /// /contexts/v1); the credentials the service exports name it.
    #[arg(long, env = "DOSSIER_CONTEXT_URL", default_value = dossier_core::envelope::DEFAULT_CONTEXT_URL)]
    context_url: String,
    /// The URL wallets reach this service at (`https://dossier.example.gov`), used in OpenID4VP
    /// request and response URIs; default: http:// and the bound address.
    #[arg(long, env = "DOSSIER_PUBLIC_URL")]
    public_url: Option<String>,
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Add a token and print it (only its SHA-256 is stored).
    Add {
        /// A name for its owner (in logs and the archive).
        #[arg(long)]
        name: String,
        /// issuer, holder, verifier, regulator or member.
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
        /// For a committee member's token: the member's name (its key in the home's
        /// keys/members/, from `dossier committee member`).
        #[arg(long)]
        member: Option<String>,
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
    /// A presentation request as a DIF Presentation Exchange v2 presentation definition
    /// (`presentation_definition`, pure PE v2) with, beside it, the request it stands for
    /// (`dossier_request`: the challenge, scope and day PE has no words for).
    Pex {
        /// The request (from `dossier request`).
        #[arg(long)]
        request: PathBuf,
        /// Where to write the definition (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Credentials as W3C Verifiable Credentials 2.0, each signed by its issuer's key in this
    /// home with a Data Integrity proof (eddsa-jcs-2022): one `<issuer>.<id>.vc.json` per
    /// credential. They hold the opening (salt included): the holder's private copy.
    Vc {
        /// Openings (from `dossier issue --out`, JSON or JSON Lines).
        #[arg(long)]
        openings: PathBuf,
        /// The folder to write the credentials into (created 0700; files 0600).
        #[arg(long)]
        out: PathBuf,
        /// Where this deployment publishes dossier's JSON-LD context (`dossier serve` serves
        /// it at /contexts/v1).
        #[arg(long, env = "DOSSIER_CONTEXT_URL", default_value = dossier_core::envelope::DEFAULT_CONTEXT_URL)]
        context_url: String,
    },
    /// A presentation as a W3C Verifiable Presentation (its Data Integrity proof carries the
    /// presentation; `dossier verify` reads either form).
    Vp {
        /// The presentation.
        #[arg(long)]
        presentation: PathBuf,
        /// Where to write the presentation (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where this deployment publishes dossier's JSON-LD context.
        #[arg(long, env = "DOSSIER_CONTEXT_URL", default_value = dossier_core::envelope::DEFAULT_CONTEXT_URL)]
        context_url: String,
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
    /// A DIF Presentation Exchange v2 definition as a presentation request for `dossier
    /// prove`: the exchange document `dossier export pex` writes (its request, once its
    /// definition is checked to be the one the request makes), or a bare definition another
    /// tool wrote (read from its standard keywords into a new request, which needs --scope).
    Pex {
        /// The exchange document or presentation definition.
        #[arg(long)]
        definition: PathBuf,
        /// Where to write the request.
        #[arg(long)]
        out: PathBuf,
        /// For a bare definition: the scope of the new request.
        #[arg(long)]
        scope: Option<String>,
        /// For a bare definition: the date expiry is judged against (default: today, UTC).
        #[arg(long)]
        today: Option<String>,
        /// For a bare definition: the oldest checkpoint accepted, in seconds.
        #[arg(long, default_value_t = 86_400)]
        max_age: u64,
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
    /// Why you ask, shown to the holder before they consent (e.g. "screening for the 2026
    /// customs inspectors' competition"); kept with the request in an archive.
    #[arg(long)]
    purpose: Option<String>,
    /// What allows you to ask (e.g. the article of the civil-service law).
    #[arg(long)]
    legal_basis: Option<String>,
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
    /// Also write the proof's full witness as a circom `.wtns` file (Groth16), for `snarkjs wtns
    /// check <shape>.r1cs` or `snarkjs groth16 prove <shape>.zkey` (files of `dossier
    /// ceremony`). It holds your secret and credentials: written readable by you only.
    #[arg(long, value_name = "FILE")]
    witness_out: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Openid4vpCmd {
    /// Fetch and check the verifier's signed request, show who asks, why and what is proven,
    /// then (with consent) prove locally and post the presentation to the verifier.
    Respond {
        /// The authorization request: `openid4vp://?client_id=…&request_uri=…` (or `request=…`).
        url: String,
        /// The wallet (default: <home>/wallet.json).
        #[arg(long)]
        wallet: Option<PathBuf>,
        /// Consent without being asked (otherwise asked on the terminal).
        #[arg(long, conflicts_with = "decline")]
        yes: bool,
        /// Refuse: the verifier is told `access_denied`.
        #[arg(long)]
        decline: bool,
        /// Where dossier's JSON-LD context is published (named by the presentation).
        #[arg(long, env = "DOSSIER_CONTEXT_URL", default_value = dossier_core::envelope::DEFAULT_CONTEXT_URL)]
        context_url: String,
    },
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
    /// A witness policy file (`threshold k`, then one witness verifier key per line): the
    /// presentation's checkpoint must carry k valid cosignatures of these witnesses.
    #[arg(long)]
    witness_policy: Option<PathBuf>,
}

#[derive(Args)]
struct DemoArgs {
    /// Synthetic civil servants (each gets employment, qualification and three appraisals);
    /// at least 5, the story's cast (a candidate, a revoked degree, four raters).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(5..=1_000_000))]
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
    /// Add a witness the ledger asks to cosign each checkpoint (c2sp.org/tlog-witness).
    AddWitness {
        /// The witness's submission URL prefix (`<url>/add-checkpoint` is called).
        #[arg(long)]
        url: String,
        /// The witness's verifier key (from `dossier cosigner init`).
        #[arg(long)]
        key: String,
    },
    /// Ask every configured witness to cosign the latest checkpoint (retries those that were
    /// down when it was published).
    Cosign,
    /// Put the ceremony that made --params' keys on the ledger: one entry per shape (the
    /// verifying key's hash, the transcript's and every contribution's), signed by the ledger;
    /// the next checkpoint anchors them (`dossier ceremony verify --on-ledger` checks them).
    RecordCeremony,
    /// Rotate the ledger's key: the key in force signs an entry naming a new one, which signs
    /// checkpoints from then on.
    RotateKey,
    /// Start revoking a compromised key (an issuer's, or the ledger's): make its replacement and
    /// write the request each witness approves (`dossier cosigner approve`).
    RevocationRequest {
        /// The issuer whose key is compromised (default: the ledger's own key).
        #[arg(long)]
        issuer: Option<String>,
        /// The first entry no longer trusted under the key.
        #[arg(long)]
        from: u64,
        /// Where to write the request.
        #[arg(long)]
        out: PathBuf,
    },
    /// Record an approved revocation: the key is retired, the entries it signed from the
    /// request's entry on are void (listed), its replacement is in force.
    RevokeKey {
        /// The request file.
        #[arg(long)]
        request: PathBuf,
        /// A witness's approval (repeat).
        #[arg(long = "approval")]
        approvals: Vec<PathBuf>,
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
    /// Rotate an issuer's key: the key in force signs an entry naming a new one (kept in the
    /// home folder), the only one that writes for the issuer from then on.
    RotateKey {
        /// The issuer.
        name: String,
    },
}

#[derive(Subcommand)]
enum AccreditorCmd {
    /// Name the accreditation authority with a new key (once, before any issuer registers):
    /// from then on an issuer issues only the schemas it is accredited for.
    Init {
        /// The authority's name, e.g. `accreditation.civil-service`.
        name: String,
    },
    /// Accredit an issuer for a schema from the new entry on.
    Grant {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The schema.
        #[arg(long)]
        schema: String,
        /// The authority's key file (default: the home folder's).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Withdraw an accreditation; with --from, from a past entry on (the audit lists the
    /// credentials it leaves unaccredited).
    Withdraw {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The schema.
        #[arg(long)]
        schema: String,
        /// The first entry no longer accredited (default: the withdrawal itself).
        #[arg(long)]
        from: Option<u64>,
        /// The authority's key file (default: the home folder's).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// The authority and the accreditations in force.
    List,
}

#[derive(Subcommand)]
enum CommitteeCmd {
    /// Make a committee member's key in this home (prints its public key).
    Member {
        /// The member's name (a-z, 0-9, '.', '_', '-').
        name: String,
    },
    /// Require `threshold` of the members' approvals for each of an issuer's credentials of a
    /// schema (replaces the committee in force).
    Set {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The schema.
        #[arg(long)]
        schema: String,
        /// Approvals each credential needs.
        #[arg(long)]
        threshold: u8,
        /// A member: a public key (64 hex digits) or a member name in this home (repeat).
        #[arg(long = "member", required = true)]
        members: Vec<String>,
    },
    /// The committee in force for an issuer's schema.
    Show {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The schema.
        #[arg(long)]
        schema: String,
    },
    /// Propose a credential of a committee's schema (its id and salt are fixed now).
    Propose {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The claim as a JSON file.
        #[arg(long)]
        claim: PathBuf,
        /// The issue date YYYY-MM-DD (default: today, UTC).
        #[arg(long)]
        issued_at: Option<String>,
    },
    /// An issuer's pending proposals, with what each would issue and its approvals.
    Proposals {
        /// The issuer.
        #[arg(long)]
        issuer: String,
    },
    /// Approve a proposal with a member's key.
    Approve {
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        /// The member's name (its key in this home, unless --key).
        #[arg(long)]
        member: String,
        /// The member's key file.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Issue a proposal its committee approved: the credential, with the approvals on its
    /// ledger entry; the opening goes to --out or stdout.
    Finalize {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        /// Append the opening (for the holder) to this file instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
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

/// Which round: an HR office's round of one unit and year.
#[derive(clap::Args)]
struct RoundOf {
    /// The HR office.
    #[arg(long)]
    issuer: String,
    /// The unit's code (the appraisals' `unit` field).
    #[arg(long)]
    unit: String,
    /// The appraisal year.
    #[arg(long)]
    year: u32,
}

#[derive(Subcommand)]
enum RoundCmd {
    /// Declare a round (HR office): a unit's appraisals of one year, already issued as the ids
    /// FIRST .. FIRST+COUNT.
    Declare {
        #[command(flatten)]
        which: RoundOf,
        /// The first credential id of the round.
        #[arg(long)]
        first: u32,
        /// How many appraisals (1 to 4096).
        #[arg(long)]
        count: u32,
    },
    /// Prove a declared round keeps its quota (HR office), against the latest checkpoint, from
    /// the openings `dossier issue --out` wrote; the proof is checked and kept for regulators.
    Prove {
        #[command(flatten)]
        which: RoundOf,
        /// The openings file of the round's appraisals.
        #[arg(long)]
        openings: PathBuf,
        /// The most "excellent" grades allowed, in per cent of the round (rounded down).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(0..=100))]
        quota: u8,
        /// Also prove that at least `--training-share` per cent of the round completed this
        /// many hours of training in the year (0 to 8784).
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=i64::from(dossier_core::round::MAX_TRAINING_HOURS)))]
        training_hours: Option<u32>,
        /// The share of the round that must have completed `--training-hours`, in per cent
        /// (rounded up).
        #[arg(long, requires = "training_hours", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
        training_share: u8,
        /// Also disclose the grade distribution, and how many met the training hours (refused
        /// for rounds under 10 appraisals).
        #[arg(long)]
        disclose: bool,
        /// Where to write the proof.
        #[arg(long)]
        out: PathBuf,
        /// Prove against a dossier service's ledger (`http://host:port`: its declared round,
        /// latest checkpoint and public entries) instead of this home's, and submit the proof
        /// with the HR office's token from $DOSSIER_TOKEN (if set).
        #[arg(long)]
        service: Option<String>,
    },
    /// Check a round's proof (regulator): the checkpoint, the round's windows and every proof.
    Verify {
        /// The proof file.
        proof: PathBuf,
        /// The ledger's verifier key (default: this home's ledger).
        #[arg(long)]
        log_key: Option<String>,
    },
    /// List the declared rounds and whether each is proven.
    List,
}

#[derive(Subcommand)]
enum BallotCmd {
    /// Open a ballot (HR office): the latest checkpoint is its roll; writes the definition to
    /// publish.
    Open {
        /// The HR office (the issuer of the raters' employment credentials).
        #[arg(long)]
        issuer: String,
        /// The ballot's name (A-Z a-z 0-9 . _ : -, up to 64).
        #[arg(long)]
        name: String,
        /// The unit whose members rate (their employment credential's `department`).
        #[arg(long)]
        unit: String,
        /// An appraisee's label (repeat).
        #[arg(long = "appraisee", required = true)]
        appraisees: Vec<String>,
        /// `grades` (the four appraisal grades) or `score:MIN-MAX`.
        #[arg(long, default_value = "grades")]
        choices: String,
        /// Seconds from now until it opens.
        #[arg(long, default_value_t = 0)]
        opens_in: u64,
        /// Seconds it stays open.
        #[arg(long, default_value_t = 7 * 86_400)]
        closes_in: u64,
        /// The ratings' proof system.
        #[arg(long, default_value = "groth16", value_parser = parse_backend)]
        backend: Backend,
        /// Where to write the ballot's definition.
        #[arg(long)]
        out: PathBuf,
    },
    /// Rate an appraisee (a colleague, on their own machine): a proof from the wallet.
    Rate {
        /// The ballot's definition.
        #[arg(long)]
        ballot: PathBuf,
        /// Who is rated.
        #[arg(long)]
        appraisee: String,
        /// A grade's name, or a score.
        #[arg(long)]
        choice: String,
        /// The wallet (default: this home's).
        #[arg(long)]
        wallet: Option<PathBuf>,
        /// A public ledger export to replay the roll's registry from (default: this home's
        /// ledger).
        #[arg(long, conflicts_with = "service")]
        ledger: Option<PathBuf>,
        /// A dossier service to download the public ledger entries from (`http://host:port`).
        #[arg(long)]
        service: Option<String>,
        /// Where to write the rating.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check ratings and archive those that pass (what the service does on receipt), or send
    /// them to a service.
    Cast {
        /// Rating files.
        #[arg(required = true)]
        ratings: Vec<PathBuf>,
        /// Send them to a dossier service (`http://host:port`; no token: ratings are
        /// anonymous) instead of this home's store.
        #[arg(long)]
        service: Option<String>,
    },
    /// Close a ballot at its closing time (HR office): the tally goes on the ledger.
    Close {
        /// The ballot's name.
        name: String,
    },
    /// A ballot's status, and its tally once closed.
    Show {
        /// The ballot's name.
        name: String,
    },
    /// Write a ballot's public archive (its definition and every accepted rating).
    Archive {
        /// The ballot's name.
        name: String,
        /// Read it from a dossier service (`http://host:port`) instead of this home.
        #[arg(long)]
        service: Option<String>,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Re-verify an archive: every rating, the tally, and the ledger's record of both.
    Verify {
        /// The archive (`dossier ballot archive`, or the service's
        /// `GET /v1/ballots/{name}/ratings`).
        #[arg(long)]
        archive: PathBuf,
        /// A ledger export (default: this home's ledger).
        #[arg(long)]
        ledger: Option<PathBuf>,
        /// The ledger's verifier key (or @file) to pin.
        #[arg(long)]
        log_key: Option<String>,
    },
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
    /// Re-bind every live credential an issuer gave a holder to the holder's new commitment, in
    /// one transaction that replaces the old versions (a lost secret): run by the issuer's
    /// office after its own identity check. Presentations from the old secret fail once a
    /// checkpoint anchors the new versions.
    Rotate {
        /// The issuer (its key in this home signs).
        #[arg(long)]
        issuer: String,
        /// The issuer's records: openings files it wrote (`dossier issue --out`), JSON or JSON
        /// Lines; repeat for several.
        #[arg(long, required = true)]
        openings: Vec<PathBuf>,
        /// The holder commitment retired.
        #[arg(long)]
        from: String,
        /// The holder's new commitment (`dossier holder init` prints it).
        #[arg(long)]
        to: String,
        /// The holder's new halo2 commitment, for credentials provable with halo2.
        #[arg(long)]
        to_halo2: Option<String>,
        /// Where to append the new openings for the holder (0600; written before the commit).
        #[arg(long)]
        out: PathBuf,
    },
    /// An encrypted backup of the wallet (Argon2id, XChaCha20-Poly1305; mode 0600), and with
    /// --qr a QR code (SVG) of the secret alone, sealed the same way, to print and keep. The
    /// passphrase (12 characters or more) comes from --passphrase-file, DOSSIER_PASSPHRASE or
    /// the terminal.
    Backup {
        /// The wallet file (default: <home>/wallet.json).
        #[arg(long)]
        wallet: Option<PathBuf>,
        /// The backup file to write.
        #[arg(long)]
        out: PathBuf,
        /// Also write a QR code (SVG) of the secret's backup here.
        #[arg(long)]
        qr: Option<PathBuf>,
        /// A file whose first line is the passphrase.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Restore a wallet from `dossier holder backup`'s file (or the text of its QR code).
    Restore {
        /// The backup.
        #[arg(long)]
        backup: PathBuf,
        /// The wallet file to write (default: <home>/wallet.json).
        #[arg(long)]
        wallet: Option<PathBuf>,
        /// Replace an existing wallet.
        #[arg(long)]
        force: bool,
        /// A file whose first line is the passphrase.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// Import credentials issued to this holder: openings (JSON or JSON Lines) or Verifiable
    /// Credentials from `dossier export vc` (a file of one, or an array), whose issuer's
    /// signature is checked.
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
    /// A witness policy file: every checkpoint must also carry its k cosignatures.
    #[arg(long)]
    witness_policy: Option<PathBuf>,
    /// With --ledger: a folder of the adopted rule files (`*.toml`), so that the rule log is
    /// audited too (this home's store keeps its own).
    #[arg(long, requires = "ledger")]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BackupCmd {
    /// Write a consistent snapshot of this home's store (no service may hold it: a running
    /// service takes its own with `dossier serve --backup-dir`).
    Create {
        /// The backup file to write (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into a scratch folder and run the full audit there, trusting this
    /// home's ledger key; check that this home's ledger extends the backup's.
    Verify {
        /// The backup file.
        file: PathBuf,
        /// The ledger verifier key to trust (text, or @file); default: this home's.
        #[arg(long)]
        log_key: Option<String>,
        /// A witness policy file: every checkpoint must carry its k cosignatures.
        #[arg(long)]
        witness_policy: Option<PathBuf>,
    },
    /// Put a backup in place of this home's store (an existing store is set aside, with
    /// --force).
    Restore {
        /// The backup file.
        file: PathBuf,
        /// Set the existing store aside and restore in its place.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum CampaignCmd {
    /// Open a campaign: its requirement is a presentation request (`dossier request`, with
    /// the campaign's own scope), taken until the end of --closes.
    Open {
        /// The recruiting office (an issuer here: its key signs the campaign's entries).
        #[arg(long)]
        issuer: String,
        /// The campaign's name.
        #[arg(long)]
        name: String,
        /// The presentation request candidates answer.
        #[arg(long)]
        request: PathBuf,
        /// The last day applications are taken, YYYY-MM-DD.
        #[arg(long)]
        closes: String,
    },
    /// Receive an application: verified now, archived, shortlisted or refused on the ledger
    /// (exit 1 when refused).
    Apply {
        /// The campaign.
        #[arg(long)]
        name: String,
        /// The candidate's presentation.
        presentation: PathBuf,
    },
    /// The shortlist, by nullifier.
    Shortlist {
        /// The campaign.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
enum TasksCmd {
    /// Open tasks (all with --all), of an issuer and a party.
    List {
        /// Only this issuer's.
        #[arg(long)]
        issuer: Option<String>,
        /// Only this party's: hr_office, servant, pension_office, payroll.
        #[arg(long)]
        party: Option<dossier_workflow::rule::Party>,
        /// Closed tasks too.
        #[arg(long)]
        all: bool,
    },
    /// Approve a task: the credential actions its rule names are taken (the case's credential
    /// updated, a credential issued to its holder) and the new openings written to --out.
    Approve {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The task, `<entry>.<action>`.
        task: String,
        /// The openings of the issuer's credentials (the case's current version among them).
        #[arg(long)]
        openings: PathBuf,
        /// Append the new credentials' openings here (default: stdout).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The day of the approval, YYYY-MM-DD (default today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Decline a task: nothing is done.
    Decline {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The task, `<entry>.<action>`.
        task: String,
        /// The day, YYYY-MM-DD (default today).
        #[arg(long)]
        on: Option<String>,
    },
}

#[derive(Subcommand)]
enum WebhooksCmd {
    /// Subscribe a receiver to an issuer's actions addressed to some parties; prints the
    /// signing secret (`whsec_...`) once.
    Add {
        /// The subscription's name (lower case, digits, `-`, `.`).
        #[arg(long)]
        name: String,
        /// The issuer whose actions it receives.
        #[arg(long)]
        issuer: String,
        /// Where messages are POSTed.
        #[arg(long)]
        url: String,
        /// A party whose actions it receives (repeat): hr_office, servant, pension_office,
        /// payroll.
        #[arg(long = "party", required = true)]
        parties: Vec<dossier_workflow::rule::Party>,
        /// Its messages carry the case credential's values (schema and fields): only for a
        /// receiver entitled to them, over https (or on this machine's loopback).
        #[arg(long)]
        with_values: bool,
    },
    /// The subscriptions (without their secrets).
    List,
    /// The outbox: every message and where it stands.
    Outbox,
    /// Deliver the messages due now; with --until-delivered, keep delivering (waiting out the
    /// backoff) until none is pending or --timeout passes.
    Deliver {
        /// Keep going until nothing is pending.
        #[arg(long)]
        until_delivered: bool,
        /// Give up after this many seconds (with --until-delivered).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
}

#[derive(Subcommand)]
enum RulesCmd {
    /// Check rule files against the schemas (nothing is written).
    Check {
        /// The rule files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Adopt a rule file for an issuer: its SHA-256 goes on the ledger, in force from --from
    /// (a later adoption of the same name replaces it from its own day).
    Adopt {
        /// The issuer (its key signs the adoption).
        #[arg(long)]
        issuer: String,
        /// The first day in force, YYYY-MM-DD (default today).
        #[arg(long)]
        from: Option<String>,
        /// The rule file.
        file: PathBuf,
    },
    /// The rules adopted and which version of each is in force on a day.
    List {
        /// Only this issuer's.
        #[arg(long)]
        issuer: Option<String>,
        /// The day, YYYY-MM-DD (default today).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// Print an adopted rule's text by its SHA-256 (hash it to check it is the one adopted).
    Show {
        /// The rule's SHA-256 (hex).
        hash: String,
    },
    /// Run an issuer's rules for a day over its credentials' openings: every case due by then
    /// is acted on once (a `RuleFired` entry citing the rule and the credential id); run it
    /// again, or after a crash, and nothing is taken twice.
    Run {
        /// The issuer.
        #[arg(long)]
        issuer: String,
        /// The openings of its credentials (`dossier issue --out`; any versions).
        #[arg(long)]
        openings: PathBuf,
        /// The day to evaluate, YYYY-MM-DD (default today).
        #[arg(long)]
        as_of: Option<String>,
        /// Show what is due without recording anything.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Prints either text or JSON.
pub struct Out {
    /// Print JSON for machines.
    pub json: bool,
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
        location: match &cli.database {
            Some(url) => StoreLocation::parse(url)?,
            None => StoreLocation::Embedded,
        },
    };
    let out = Out { json: cli.json };
    let schemas = SchemaSet::builtin();
    let params = cli.params.as_path();
    match cli.command {
        Command::Demo(args) => demo::run(&home, params, &out, args.people),
        Command::Schemas => issuer::schemas(&out, &schemas),
        Command::Ledger(cmd) => ledger::ledger(&home, params, &out, cmd),
        Command::Issuer(cmd) => issuer::issuer(&home, &out, cmd),
        Command::Accreditor(cmd) => authority::accreditor(&home, &out, &schemas, cmd),
        Command::Committee(cmd) => authority::committee(&home, &out, &schemas, cmd),
        Command::Ballot(cmd) => ballot::ballot(&home, params, &out, &schemas, cmd),
        Command::Round(cmd) => round::round(&home, params, &out, &schemas, cmd),
        Command::Rules(cmd) => rules::rules(&home, &out, &schemas, cmd),
        Command::Webhooks(cmd) => webhooks::webhooks(&home, &out, cmd),
        Command::Tasks(cmd) => tasks::tasks(&home, &out, &schemas, cmd),
        Command::Campaign(cmd) => campaign::campaign(&home, params, &out, &schemas, cmd),
        Command::Issue(args) => issuer::issue(&home, &out, &schemas, args),
        Command::Update(args) => issuer::update(&home, &schemas, args),
        Command::Revoke(args) => issuer::revoke(&home, &out, args),
        Command::Checkpoint { out: path } => ledger::checkpoint(&home, &out, path),
        Command::Holder(cmd) => holder::holder(&home, &out, &schemas, cmd),
        Command::Witness { issuer, id } => ledger::witness(&home, &out, issuer, id),
        Command::Audit(args) => ledger::audit_cmd(&home, params, &schemas, &out, args),
        Command::Backup(cmd) => backup::backup(&home, params, &out, &schemas, cmd),
        Command::Setup { insecure_dev_setup } => setup_cmd(params, &out, insecure_dev_setup),
        Command::Ceremony(cmd) => ceremony::run(&home, &out, params, cmd),
        Command::Request(args) => exchange::request(&home, &out, &schemas, args),
        Command::Prove(args) => exchange::prove(&home, params, &out, &schemas, args),
        Command::Openid4vp(Openid4vpCmd::Respond {
            url,
            wallet,
            yes,
            decline,
            context_url,
        }) => openid4vp::respond(
            &home,
            params,
            &out,
            &schemas,
            openid4vp::Respond {
                url: &url,
                wallet: &wallet_path(&home, &wallet),
                yes,
                decline,
                context: dossier_core::envelope::ContextUrl::parse(&context_url)?,
            },
        ),
        Command::Verify(args) => exchange::verify_cmd(&home, params, &out, &schemas, args),
        Command::Export(cmd) => exchange::export(&home, params, &out, &schemas, cmd),
        Command::Import(cmd) => exchange::import(params, &out, &schemas, cmd),
        Command::Serve(a) => {
            let tokens = serve::tokens_path(&home, &a.tokens);
            serve::serve(
                &home,
                params,
                serve::ServeArgs {
                    listen: a.listen,
                    tokens,
                    queue: a.queue,
                    rate: a.rate,
                    body_limit: a.body_limit,
                    addr_file: a.addr_file,
                    exit_on_stdin_close: a.exit_on_stdin_close,
                    snarkjs: a.snarkjs.clone(),
                    witnesses: witness_policy(a.witness_policy.as_deref())?,
                    rules_every: a.rules_every,
                    backups: a.backup_dir.clone().map(|dir| {
                        dossier_service::backups::BackupPolicy {
                            dir,
                            every: std::time::Duration::from_secs(a.backup_every),
                            keep: usize::try_from(a.backup_keep).unwrap_or(24),
                        }
                    }),
                    require_grounds: a.require_grounds,
                    context_url: dossier_core::envelope::ContextUrl::parse(&a.context_url)?,
                    public_url: a.public_url.as_deref().map(serve::public_url).transpose()?,
                },
            )
        }
        Command::Token(cmd) => serve::token(&home, &out, cmd),
        Command::Cosigner(CosignerCmd::Init { name }) => cosigner::init(&home, &out, &name),
        Command::Cosigner(CosignerCmd::Approve { request, out: path }) => {
            keys::approve(&out, cosigner::read_key(&home)?, &request, &path)
        }
        Command::Cosigner(CosignerCmd::Serve {
            listen,
            logs,
            addr_file,
        }) => cosigner::serve(&home, listen, &logs, addr_file),
    }
}

/// A progress bar of `len` steps, hidden under `--json`.
pub fn progress_bar(out: &Out, what: &str, len: u64) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(len);
    if out.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn setup_cmd(params: &Path, out: &Out, insecure_dev_setup: bool) -> Result<i32, CliError> {
    if !insecure_dev_setup {
        return Err(CliError::Input(
            "`dossier setup` makes the INSECURE development keys (anyone can forge proofs for them) and only with --insecure-dev-setup; real keys come from a ceremony among departments: `dossier ceremony --help`".into(),
        ));
    }
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
    bar.set_message("generating keys for the appraisal round circuit");
    let round = dossier_prover::round::setup_dev_round(params)?;
    bar.finish_and_clear();
    let mut rows: Vec<String> = manifest
        .shapes
        .iter()
        .map(|(n, e)| {
            format!(
                "  {n}: {} constraints, vk sha256 {}",
                e.constraints, e.vk_sha256
            )
        })
        .collect();
    rows.push(format!(
        "  {}: {} constraints, vk sha256 {}",
        round.circuit, round.constraints, round.vk_sha256
    ));
    out.emit(
        format!("keys written to {} in {:.1} s — {}\n{}", params.display(), started.elapsed().as_secs_f64(), manifest.setup, rows.join("\n")),
        json!({"params": params, "insecure": manifest.insecure, "shapes": manifest.shapes.keys().collect::<Vec<_>>()}),
    );
    Ok(0)
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
/// A witness policy from its file (none asked for without one).
fn witness_policy(
    path: Option<&Path>,
) -> Result<dossier_core::cosignature::WitnessPolicy, CliError> {
    let Some(path) = path else {
        return Ok(dossier_core::cosignature::WitnessPolicy::none());
    };
    let text = std::fs::read_to_string(path).map_err(error::io(path))?;
    Ok(dossier_core::cosignature::WitnessPolicy::parse(&text)?)
}

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
