//! Helpers for the end-to-end stories in `tests/tests/`: run the real `dossier` binary against a
//! temporary home, and make claims.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod engine;
pub use engine::{on_postgres, open_reader, open_store, Engine, PerEngine};

/// The `dossier` binary built beside these tests (`cargo test --workspace` builds it).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile folder");
    let bin = dir.join("dossier");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// A command for `dossier --home <home> <args>`, on the home's engine (see [`engine`]).
pub fn dossier(home: &Path) -> Command {
    let mut c = Command::new(binary());
    c.arg("--home")
        .arg(home)
        .env_remove("DOSSIER_HOME")
        .env_remove("DOSSIER_PARAMS");
    if let Some(url) = engine::database_of(home) {
        c.env("DOSSIER_DATABASE", url);
    }
    c
}

/// An employment claim for holder `i`: a finance auditor, clerk grade 1, in `status` since
/// `hire` (hired and in rank the same day), no sanction.
pub fn employment_with(i: u64, status: &str, hire: &str) -> serde_json::Value {
    serde_json::json!({"schema": "employment", "holder": holder(i),
        "fields": {"department": "finance", "position": "auditor", "rank_level": "clerk_1",
            "rank_since": hire, "hire_date": hire, "status": status,
            "sanction_until": "1970-01-01"}})
}

/// An active employment claim for holder `i`, hired on 2020-01-01.
pub fn employment(i: u64) -> serde_json::Value {
    employment_with(i, "active", "2020-01-01")
}

/// `dossier token add --name NAME --tokens TOKENS --role ROLE...` (`role`: the role and its
/// binding, e.g. `["issuer", "--issuer", "hr.example"]`); returns the token, shown once.
pub fn token(home: &Path, tokens: &Path, name: &str, role: &[&str]) -> String {
    let tokens = tokens.to_str().expect("utf-8");
    let mut args = vec!["token", "add", "--name", name, "--tokens", tokens, "--role"];
    args.extend_from_slice(role);
    ok_json(home, &args)["token"]
        .as_str()
        .expect("token")
        .to_string()
}

/// Makes `home` a ledger (origin `ledger.example`) with one issuer, `hr.example`; returns the
/// ledger's verifier key.
pub fn ledger_with_issuer(home: &Path) -> String {
    ok(home, &["ledger", "init", "--origin", "ledger.example"]);
    ok(home, &["issuer", "init", "hr.example"]);
    ok_json(home, &["ledger", "info"])["log_key"]
        .as_str()
        .expect("log key")
        .to_string()
}

/// A running `dossier cosigner serve` following one ledger; killed when dropped.
pub struct CosignerProcess {
    /// The process.
    pub child: std::process::Child,
    /// `http://<addr>`.
    pub base: String,
}

impl CosignerProcess {
    /// Starts a witness with its home (after `dossier cosigner init`) for the ledger `log_key`.
    pub fn start(home: &Path, log_key: &str) -> CosignerProcess {
        let addr_file = home.join(format!("addr-{}", rand::random::<u32>()));
        let mut child = dossier(home)
            .args([
                "cosigner",
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log",
                log_key,
                "--addr-file",
            ])
            .arg(&addr_file)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cosigner starts");
        let addr = wait_for_address(&mut child, &addr_file, &String::new);
        CosignerProcess {
            child,
            base: format!("http://{addr}"),
        }
    }
}

impl Drop for CosignerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `dossier` to completion.
pub fn run(home: &Path, args: &[&str]) -> Output {
    dossier(home).args(args).output().expect("dossier runs")
}

/// Runs `dossier` and insists that it succeeds; returns its stdout.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    assert!(
        out.status.success(),
        "dossier {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs `dossier --json` and parses its stdout.
pub fn ok_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(ok(home, &all).trim()).expect("JSON output")
}

/// A valid appraisal claim for a holder.
pub fn appraisal(holder: &str, year: u64) -> serde_json::Value {
    serde_json::json!({"schema": "appraisal", "holder": holder,
        "fields": {"year": year, "grade": "competent", "score": 80, "unit": "tax-audit", "training_hours": 96}})
}

/// Writes JSON Lines.
pub fn write_lines(path: &Path, values: &[serde_json::Value]) {
    let text: String = values.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(path, text).expect("write");
}

/// Issues the claims of a JSON Lines batch written to `dir/<name>.jsonl` as `issuer`; returns
/// the file its openings were written to.
pub fn issue_lines(
    home: &Path,
    dir: &Path,
    issuer: &str,
    name: &str,
    claims: &[serde_json::Value],
) -> PathBuf {
    let batch = dir.join(format!("{name}.jsonl"));
    write_lines(&batch, claims);
    let openings = dir.join(format!("{name}.openings.jsonl"));
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    ok(
        home,
        &[
            "issue",
            "--issuer",
            issuer,
            "--batch",
            &s(&batch),
            "--out",
            &s(&openings),
        ],
    );
    openings
}

/// Adopts a shipped rule (`rules/<name>.toml`) for `issuer`, in force from 2020-01-01.
pub fn adopt_shipped(home: &Path, issuer: &str, name: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rules")
        .join(format!("{name}.toml"));
    ok(
        home,
        &[
            "rules",
            "adopt",
            "--issuer",
            issuer,
            "--from",
            "2020-01-01",
            file.to_str().expect("utf-8"),
        ],
    );
}

/// SHA-256 of a file, hex.
pub fn digest(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}

/// A holder commitment that belongs to nobody's wallet (for issuing test batches).
pub fn holder(i: u64) -> String {
    dossier_core::field::to_hex(
        &dossier_core::holder::HolderSecret::parse(&format!("{}", i + 1))
            .expect("secret")
            .commitment(),
    )
}

/// Issues one credential from a claim and imports its opening into a wallet (CLI, as the
/// issuer and the holder would); returns the openings file.
pub fn issue_to_wallet(
    home: &Path,
    issuer: &str,
    claim: &serde_json::Value,
    wallet: &Path,
) -> PathBuf {
    let n = rand::random::<u64>();
    let claim_file = home.join(format!("claim-{n}.json"));
    std::fs::create_dir_all(home).expect("home");
    std::fs::write(&claim_file, claim.to_string()).expect("write claim");
    let out = home.join(format!("openings-{n}.jsonl"));
    let (c, o, w) = (
        claim_file.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
        wallet.to_str().expect("utf-8"),
    );
    ok(
        home,
        &["issue", "--issuer", issuer, "--claim", c, "--out", o],
    );
    ok(home, &["holder", "import", o, "--wallet", w]);
    out
}

/// Writes `query` (JSON text) beside `out` and makes a request for it in `scope` there.
pub fn request(home: &Path, query: &str, scope: &str, out: &Path) {
    request_on(home, query, scope, out, "groth16");
}

/// [`request`] for a backend (`groth16` or `halo2`).
pub fn request_on(home: &Path, query: &str, scope: &str, out: &Path, backend: &str) {
    let q = out.with_extension("query.json");
    std::fs::write(&q, query).expect("write query");
    let (q, o) = (q.to_str().expect("utf-8"), out.to_str().expect("utf-8"));
    ok(
        home,
        &[
            "request",
            "--query",
            q,
            "--scope",
            scope,
            "--out",
            o,
            "--backend",
            backend,
        ],
    );
}

/// A presentation proven with the CLI in `dir`: a home with keys, one issuer, a holder's wallet
/// holding `claim` (its `holder` filled in), a checkpoint, a request and the proof.
pub struct Proven {
    /// The home folder.
    pub home: PathBuf,
    /// The keys' folder.
    pub params: PathBuf,
    /// The holder's wallet.
    pub wallet: PathBuf,
    /// The request.
    pub request: PathBuf,
    /// The presentation.
    pub presentation: PathBuf,
}

/// Proves `query` in `scope` from one credential (`claim`) issued by `issuer` (see [`Proven`]).
pub fn prove_one(
    dir: &Path,
    issuer: &str,
    claim: serde_json::Value,
    query: &str,
    scope: &str,
) -> Proven {
    prove_one_on(dir, issuer, claim, query, scope, "groth16")
}

/// `dossier prove`: answers `request` from `wallet` into `out`; panics if it fails.
pub fn prove_to(home: &Path, params: &Path, request: &Path, wallet: &Path, out: &Path) {
    let path = |p: &Path| p.to_str().expect("utf-8").to_string();
    ok(
        home,
        &[
            "--params",
            &path(params),
            "prove",
            "--request",
            &path(request),
            "--wallet",
            &path(wallet),
            "--out",
            &path(out),
        ],
    );
}

/// [`prove_one`] with a backend (`groth16` or `halo2`).
pub fn prove_one_on(
    dir: &Path,
    issuer: &str,
    claim: serde_json::Value,
    query: &str,
    scope: &str,
    backend: &str,
) -> Proven {
    prove_all_on(dir, issuer, vec![claim], query, scope, backend)
}

/// Proves `query` in `scope` with `backend` from `claims`, all issued by `issuer` to one new
/// holder (each claim's holder fields are that holder's), after one checkpoint.
pub fn prove_all_on(
    dir: &Path,
    issuer: &str,
    claims: Vec<serde_json::Value>,
    query: &str,
    scope: &str,
    backend: &str,
) -> Proven {
    let home = dir.join("home");
    let params = dir.join("params");
    let p = params.to_str().expect("utf-8");
    // Keys a test installed already (a ceremony's) are used as they are.
    if !params.join("manifest.json").exists() {
        ok(&home, &["--params", p, "setup", "--insecure-dev-setup"]);
    }
    ok(&home, &["issuer", "init", issuer]);
    let wallet = dir.join("w.json");
    let w = wallet.to_str().expect("utf-8");
    let holder = ok_json(&home, &["holder", "init", "--wallet", w]);
    for mut claim in claims {
        claim["holder"] = holder["holder"].clone();
        claim["holder_halo2"] = holder["holder_halo2"].clone();
        issue_to_wallet(&home, issuer, &claim, &wallet);
    }
    ok(&home, &["checkpoint"]);
    let (request_path, presentation) = (dir.join("r.json"), dir.join("p.json"));
    request_on(&home, query, scope, &request_path, backend);
    prove_to(&home, &params, &request_path, &wallet, &presentation);
    Proven {
        home,
        params,
        wallet,
        request: request_path,
        presentation,
    }
}

/// A running `dossier serve` on a loopback ephemeral port, stopped (SIGTERM) on drop.
pub struct Server {
    /// The process.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The file its log (stderr) goes to.
    pub log: PathBuf,
}

impl Server {
    /// Starts the service on `home` with `params` and a tokens file, and waits until it listens.
    pub fn start(home: &Path, params: &Path, tokens: &Path, extra: &[&str]) -> Server {
        std::fs::create_dir_all(home).expect("home");
        let n = rand::random::<u32>();
        let addr_file = home.join(format!("addr-{n}"));
        let log = home.join(format!("service-{n}.log"));
        let mut cmd = dossier(home);
        cmd.arg("--params")
            .arg(params)
            .args([
                "serve",
                "--exit-on-stdin-close",
                "--listen",
                "127.0.0.1:0",
                "--addr-file",
            ])
            .arg(&addr_file)
            .arg("--tokens")
            .arg(tokens)
            .args(extra)
            .env(
                "DOSSIER_LOG",
                "info,dossier_service=debug,dossier_store=debug,tower_http=debug",
            )
            // The service reads its stdin to EOF and then stops: when this test process ends
            // (even one whose Server sits in a static and is never dropped), the pipe closes.
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"));
        let mut child = cmd.spawn().expect("dossier serve starts");
        let addr = wait_for_address(&mut child, &addr_file, &|| {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
        Server {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: i32) {
        assert!(send_signal(self.child.id(), sig), "kill failed");
    }

    /// Calls the API: (status, JSON body or Null, Retry-After).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let (status, text, _) = self.call_raw(method, path, token, body.map(|b| b.to_string()));
        (
            status,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        )
    }

    /// Calls the API with a raw body: (status, body text, Retry-After header).
    pub fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, String, Option<String>) {
        let mut req = ureq::request(method, &format!("{}{path}", self.base))
            .timeout(std::time::Duration::from_secs(120));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let result = match body {
            Some(b) => req.set("Content-Type", "application/json").send_string(&b),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let retry = response.header("Retry-After").map(str::to_string);
        (status, response.into_string().unwrap_or_default(), retry)
    }
}

/// Waits until a server started with `--addr-file` has written the address it listens on;
/// panics with `log()` if it exits first, and kills it if it has not started in two minutes.
pub fn wait_for_address(
    child: &mut std::process::Child,
    addr_file: &Path,
    log: &dyn Fn() -> String,
) -> String {
    let started = std::time::Instant::now();
    loop {
        if let Ok(addr) = std::fs::read_to_string(addr_file) {
            return addr.trim().to_string();
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the server exited ({status}): {}", log());
        }
        if started.elapsed() > std::time::Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start: {}", log());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Sends a signal with the `kill` command (the workspace forbids `unsafe`, so no libc call).
pub fn send_signal(pid: u32, sig: i32) -> bool {
    Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = send_signal(self.child.id(), 15);
            let _ = self.child.wait();
        }
    }
}

/// Debian's Chromium (or `CHROMIUM`) and `fixtures/browser` with playwright-core installed:
/// `(driver folder, browser)`. CI installs both (`.ci/run`) and a missing one fails there;
/// elsewhere the person running the tests is told what is skipped and how to install it.
pub fn browser(what: &str) -> Option<(PathBuf, PathBuf)> {
    let driver = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/browser"));
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if driver.join("node_modules/playwright-core").exists() && chromium.exists() {
        return Some((driver, chromium));
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install Chromium and fixtures/browser (npm ci)"
    );
    eprintln!("SKIPPED {what}: run `npm ci` in fixtures/browser and `apt-get install chromium`");
    None
}

/// `fixtures/<name>` when its npm packages are installed (`package` is in its `node_modules`).
/// CI installs them (`.ci/run`) and a missing install fails there; elsewhere the person running
/// the tests is told what is skipped and how to install it.
pub fn npm_fixture(name: &str, package: &str, what: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures")).join(name);
    if dir.join("node_modules").join(package).exists() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must install fixtures/{name} (npm ci)"
    );
    eprintln!("SKIPPED {what}: run `npm ci` in fixtures/{name}");
    None
}

/// `fixtures/snarkjs` when its npm packages are installed (see [`npm_fixture`]).
pub fn snarkjs_dir() -> Option<PathBuf> {
    npm_fixture("snarkjs", "snarkjs", "the checks against snarkjs")
}

/// `fixtures/w3c` when its npm packages are installed (see [`npm_fixture`]).
pub fn w3c_dir() -> Option<PathBuf> {
    npm_fixture(
        "w3c",
        "jsonld",
        "the independent JSON-LD, Data Integrity, PE and OpenID4VP checks",
    )
}

/// A webhook receiver on the loopback: answers `status` (after `delay`), and records every
/// request whose Standard Webhooks signature verifies under `secret` as (webhook-id, body); a
/// request that does not verify panics its thread, and the test's count of what arrived fails.
pub struct Receiver {
    /// The port it listens on.
    pub port: u16,
    /// What arrived, verified: (webhook-id, body).
    pub seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
    /// The status it answers (200 records; anything else refuses).
    pub status: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

/// Starts a [`Receiver`].
pub fn receiver(
    secret: std::sync::Arc<std::sync::Mutex<String>>,
    delay: std::time::Duration,
) -> Receiver {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let status = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(200));
    let (seen2, status2) = (seen.clone(), status.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut headers = std::collections::HashMap::new();
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                line.clear();
                if reader.read_line(&mut line).is_err() {
                    break;
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if let Some((k, v)) = l.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            std::thread::sleep(delay);
            let code = status2.load(Ordering::SeqCst);
            if code == 200 {
                let id = headers["webhook-id"].clone();
                let ts: u64 = headers["webhook-timestamp"].parse().expect("timestamp");
                let secret = secret.lock().expect("secret").clone();
                dossier_workflow::webhook::verify(
                    &secret,
                    &id,
                    ts,
                    &headers["webhook-signature"],
                    &body,
                    dossier_core::clock::now(),
                )
                .expect("every delivery is signed with the subscription's secret");
                seen2
                    .lock()
                    .expect("seen")
                    .push((id, String::from_utf8(body).expect("utf-8")));
            }
            let _ = write!(
                stream,
                "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    Receiver { port, seen, status }
}

/// Runs stories of this file a second time on PostgreSQL: `also_on_postgres!(a, b)` adds the
/// tests `on_postgres::a` and `on_postgres::b`, each running the story of the same name with
/// its homes on a database of the binary's shared throw-away server (see [`engine`]).
#[macro_export]
macro_rules! also_on_postgres {
    ($($story:ident),+ $(,)?) => {
        /// The stories above, again with every home on PostgreSQL.
        mod on_postgres {
            $(
                #[test]
                fn $story() {
                    $crate::on_postgres(stringify!($story), super::$story);
                }
            )+
        }
    };
}
