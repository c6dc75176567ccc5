//! `dossier-load`: a bounded load run of the real service on loopback, for BENCHMARKS.md.
//!
//! It makes a home of its own (keys, an issuer, a holder, a credential, a checkpoint), starts
//! `dossier serve` on 127.0.0.1 with an ephemeral port, has the service prove a set of
//! presentations, and then measures, in one run on the same machine:
//!
//! 1. the verifier library alone on every core: `dossier_verifier::verify` one presentation at
//!    a time (what an embedding application does), and `verify_presentations` in batches of 64;
//! 2. `POST /v1/verify` over HTTP at several client concurrencies: throughput, p50, p99 and the
//!    ratio to (1) — the service micro-batches concurrent requests into one batch check;
//! 3. proving under overload: many clients asking for proofs at once against a bounded queue,
//!    counting 202/429/5xx and sampling the server's resident memory.
//!
//! Every phase is bounded in time and in request count; the server is stopped at the end (and
//! exits on its own if this process dies: it runs with `--exit-on-stdin-close`). Only loopback
//! addresses are used.
//!
//! With `--replicas 1,2,3` it runs instead on PostgreSQL (a throw-away server it starts, or
//! `--database URL`) and compares one, two and three replicas of the service on that one
//! database: verification, proving and issuance (three issuers written at once), each with its
//! clients spread over the replicas.
//!
//!     cargo build --release -p dossier-cli -p dossier-benches --bin dossier-load
//!     target/release/dossier-load [--seconds 8] [--overload-seconds 20] [--json]
//!     target/release/dossier-load --replicas 1,2,3 [--seconds 8] [--json]

use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::schema::SchemaSet;
use dossier_verifier::{BatchItem, VerifierKeys};
use serde_json::{json, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

type Failure = Box<dyn std::error::Error>;

/// What the run is told.
struct Options {
    dossier: PathBuf,
    seconds: f64,
    presentations: usize,
    concurrency: Vec<usize>,
    overload_seconds: f64,
    json: bool,
    /// Replica counts to compare, on PostgreSQL (`--replicas`).
    replicas: Vec<usize>,
    /// The PostgreSQL database (`--database`); with `--replicas` and none given, a throw-away
    /// server is started.
    database: Option<String>,
}

fn options() -> Result<Options, Failure> {
    let mut o = Options {
        dossier: std::env::current_exe()?
            .parent()
            .ok_or("no folder for the current executable")?
            .join("dossier"),
        seconds: 8.0,
        presentations: 32,
        concurrency: vec![1, 8, 32, 64],
        overload_seconds: 20.0,
        json: false,
        replicas: Vec::new(),
        database: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--dossier" => o.dossier = PathBuf::from(value("--dossier")?),
            "--seconds" => o.seconds = value("--seconds")?.parse()?,
            "--presentations" => o.presentations = value("--presentations")?.parse()?,
            "--concurrency" => {
                o.concurrency = value("--concurrency")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--overload-seconds" => o.overload_seconds = value("--overload-seconds")?.parse()?,
            "--json" => o.json = true,
            "--replicas" => {
                o.replicas = value("--replicas")?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--database" => o.database = Some(value("--database")?),
            "-h" | "--help" => {
                println!(
                    "dossier-load [--dossier PATH] [--seconds S] [--presentations N] \
                     [--concurrency 1,8,32,64] [--overload-seconds S] [--json] \
                     [--replicas 1,2,3 [--database postgres://...]]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    if !o.dossier.exists() {
        return Err(format!(
            "{} is missing: build it with `cargo build --release -p dossier-cli`, or pass --dossier",
            o.dossier.display()
        )
        .into());
    }
    if !(0.5..=120.0).contains(&o.seconds) || !(0.5..=300.0).contains(&o.overload_seconds) {
        return Err("--seconds must be 0.5 to 120 and --overload-seconds 0.5 to 300".into());
    }
    if o.replicas.iter().any(|n| !(1..=8).contains(n)) {
        return Err("--replicas counts must be 1 to 8".into());
    }
    Ok(o)
}

/// The service under test: a child process, stopped when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Server {
    fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req =
            ureq::request(method, &format!("{}{path}", self.base)).timeout(Duration::from_secs(60));
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let result = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        match result {
            Ok(r) | Err(ureq::Error::Status(_, r)) => {
                let status = r.status();
                (status, r.into_json().unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({"transport": e.to_string()})),
        }
    }

    fn expect(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        want: u16,
    ) -> Result<Value, Failure> {
        let (s, v) = self.call(method, path, token, body);
        if s != want {
            return Err(format!("{method} {path}: {s} {v}").into());
        }
        Ok(v)
    }

    fn wait_job(&self, token: &str, id: &str) -> Result<Value, Failure> {
        let start = Instant::now();
        loop {
            let job = self.expect("GET", &format!("/v1/jobs/{id}"), Some(token), None, 200)?;
            match job["status"].as_str() {
                Some("done") => return Ok(job),
                Some("failed") => return Err(format!("job {id} failed: {job}").into()),
                _ if start.elapsed() > Duration::from_secs(600) => {
                    return Err(format!("job {id} never ended").into())
                }
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Resident memory of the server, KiB.
    fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse().ok())
            })
            .unwrap_or(0)
    }

    /// CPU seconds the server has used (user + system).
    fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let fields: Vec<&str> = after.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // utime and stime are fields 14 and 15 of /proc/PID/stat; 11 and 12 after the name.
        (ticks(11) + ticks(12)) / 100.0
    }
}

fn dossier(o: &Options, home: &Path, params: &Path, tokens: &Path) -> Command {
    let mut c = Command::new(&o.dossier);
    c.arg("--home")
        .arg(home)
        .arg("--params")
        .arg(params)
        .env("DOSSIER_TOKENS", tokens)
        .env("DOSSIER_LOG", "warn");
    if let Some(url) = &o.database {
        c.env("DOSSIER_DATABASE", url);
    }
    c
}

fn run_json(mut c: Command) -> Result<Value, Failure> {
    let out = c.arg("--json").output()?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Starts `dossier serve` on the home and waits until it listens on the loopback.
fn start_server(
    o: &Options,
    home: &Path,
    params: &Path,
    tokens: &Path,
    addr_file: &Path,
) -> Result<Server, Failure> {
    let mut c = dossier(o, home, params, tokens);
    // One trusted load client: the per-client rate limit is lifted so that capacity, not the
    // limiter, is measured. The proving queue keeps its default of 8.
    c.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--rate",
        "1000000",
        "--exit-on-stdin-close",
        "--addr-file",
    ])
    .arg(addr_file)
    .stdin(Stdio::piped())
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    let child = c.spawn()?;
    let start = Instant::now();
    while !addr_file.exists() || std::fs::read_to_string(addr_file)?.trim().is_empty() {
        if start.elapsed() > Duration::from_secs(60) {
            return Err("the service did not start".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let base = format!("http://{}", std::fs::read_to_string(addr_file)?.trim());
    if !base.starts_with("http://127.") {
        return Err(format!("refusing a non-loopback address {base}").into());
    }
    Ok(Server { child, base })
}

/// The issuers of a load run; the first gets the setup's credential.
const ISSUERS: [&str; 3] = ["load.university", "load.hr", "load.training"];

/// What a setup yields: the server, tokens, the holder's secret and proven presentations.
struct Fixture {
    server: Server,
    home: PathBuf,
    tokens: PathBuf,
    /// (issuer, its token): the first is registered in the setup, the others by `replicas`.
    issuer_tokens: Vec<(String, String)>,
    params: PathBuf,
    holder_token: String,
    secret: String,
    request_id: String,
    log_key: String,
    /// (request, presentation) pairs, as the service produced them.
    pairs: Vec<(Value, Value)>,
}

fn setup(o: &Options, dir: &Path) -> Result<Fixture, Failure> {
    let (home, params, tokens) = (
        dir.join("home"),
        dir.join("params"),
        dir.join("tokens.json"),
    );
    let status = dossier(o, &home, &params, &tokens)
        .args(["setup", "--insecure-dev-setup"])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err("dossier setup failed".into());
    }
    let wallet = dir.join("wallet.json");
    let mut c = dossier(o, &home, &params, &tokens);
    c.args(["holder", "init", "--wallet"]).arg(&wallet);
    run_json(c)?;
    let w: Value = serde_json::from_slice(&std::fs::read(&wallet)?)?;
    let secret = w["secret"]
        .as_str()
        .ok_or("wallet without secret")?
        .to_string();
    let token = |args: &[&str]| -> Result<String, Failure> {
        let mut c = dossier(o, &home, &params, &tokens);
        c.args(["token", "add"]).args(args);
        Ok(run_json(c)?["token"]
            .as_str()
            .ok_or("no token")?
            .to_string())
    };
    let issuer_tokens = ISSUERS
        .iter()
        .map(|name| {
            let t = token(&[
                "--name",
                &format!("load-{name}"),
                "--role",
                "issuer",
                "--issuer",
                name,
            ])?;
            Ok((name.to_string(), t))
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let issuer = issuer_tokens[0].1.clone();
    let verifier = token(&["--name", "load-verifier", "--role", "verifier"])?;
    let holder_token = token(&[
        "--name",
        "load-holder",
        "--role",
        "holder",
        "--wallet",
        wallet.to_str().ok_or("path")?,
    ])?;
    let server = start_server(o, &home, &params, &tokens, &dir.join("addr"))?;
    server.expect(
        "POST",
        "/v1/issuers",
        Some(&issuer),
        Some(&json!({"name": "load.university"})),
        201,
    )?;
    let holder = w["holder"].as_str().ok_or("wallet without holder")?;
    server.expect(
        "POST",
        "/v1/issuers/load.university/credentials",
        Some(&issuer),
        Some(&json!({"claims": [{"schema": "qualification", "holder": holder,
            "fields": {"degree_level": "master", "field": "law", "institution": "Load Test University", "award_year": 2015}}]})),
        201,
    )?;
    let job = server.expect("POST", "/v1/checkpoints", Some(&issuer), None, 202)?;
    server.wait_job(&issuer, job["id"].as_str().ok_or("job id")?)?;
    let log_key = server.expect("GET", "/v1/ledger", None, None, 200)?["log_key"]
        .as_str()
        .ok_or("log_key")?
        .to_string();
    let query = json!({"credentials": [{"schema": "qualification", "issuers": ["load.university"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]});
    let mut pairs = Vec::new();
    let mut request_id = String::new();
    for i in 0..o.presentations {
        let made = server.expect(
            "POST",
            "/v1/requests",
            Some(&verifier),
            Some(&json!({"query": query, "scope": format!("load:{i}"), "max_checkpoint_age_seconds": 86400})),
            201,
        )?;
        request_id = made["id"].as_str().ok_or("request id")?.to_string();
        let job = server.expect(
            "POST",
            "/v1/holder/proofs",
            Some(&holder_token),
            Some(&json!({"request_id": request_id, "secret": secret})),
            202,
        )?;
        let job = server.wait_job(&holder_token, job["id"].as_str().ok_or("job id")?)?;
        pairs.push((made["request"].clone(), job["result"].clone()));
    }
    Ok(Fixture {
        server,
        home,
        tokens,
        issuer_tokens,
        params,
        holder_token,
        secret,
        request_id,
        log_key,
        pairs,
    })
}

/// Throughput of `work` run on `threads` threads for `seconds`: items per second.
fn library_rate(threads: usize, seconds: f64, work: impl Fn(usize) -> usize + Sync) -> f64 {
    let stop = AtomicBool::new(false);
    let done = AtomicU64::new(0);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let (stop, done, work) = (&stop, &done, &work);
            s.spawn(move || {
                let mut i = t;
                while !stop.load(Ordering::Relaxed) {
                    done.fetch_add(work(i) as u64, Ordering::Relaxed);
                    i += threads;
                }
            });
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

struct HttpRun {
    clients: usize,
    ok: u64,
    other: u64,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    server_cpu: f64,
}

/// CPU seconds used by all of `servers`.
fn cpu_seconds(servers: &[&Server]) -> f64 {
    servers.iter().map(|s| s.cpu_seconds()).sum()
}

/// `POST /v1/verify` from `clients` clients, client `c` calling `servers[c % n]`.
fn http_verify(servers: &[&Server], bodies: &[String], clients: usize, seconds: f64) -> HttpRun {
    let stop = AtomicBool::new(false);
    let latencies = Mutex::new(Vec::<u32>::new());
    let other = AtomicU64::new(0);
    let cpu0 = cpu_seconds(servers);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (stop, latencies, other) = (&stop, &latencies, &other);
            let url = format!("{}/v1/verify", servers[c % servers.len()].base);
            s.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .max_idle_connections_per_host(1)
                    .build();
                let mut mine = Vec::new();
                let mut i = c;
                // Bounded by time and by count.
                while !stop.load(Ordering::Relaxed) && mine.len() < 1_000_000 {
                    let t = Instant::now();
                    let r = agent
                        .post(&url)
                        .set("Content-Type", "application/json")
                        .send_string(&bodies[i % bodies.len()]);
                    let ok = match r {
                        Ok(r) => {
                            let mut sink = Vec::new();
                            let _ = r.into_reader().read_to_end(&mut sink);
                            true
                        }
                        Err(_) => false,
                    };
                    if ok {
                        mine.push(t.elapsed().as_micros() as u32);
                    } else {
                        other.fetch_add(1, Ordering::Relaxed);
                    }
                    i += clients;
                }
                latencies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(mine);
            });
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    let elapsed = start.elapsed().as_secs_f64();
    let mut l = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    l.sort_unstable();
    let pct = |p: f64| {
        if l.is_empty() {
            0.0
        } else {
            l[((l.len() as f64 * p) as usize).min(l.len() - 1)] as f64 / 1000.0
        }
    };
    HttpRun {
        clients,
        ok: l.len() as u64,
        other: other.load(Ordering::Relaxed),
        rate: l.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        server_cpu: (cpu_seconds(servers) - cpu0) / elapsed,
    }
}

struct Overload {
    clients: usize,
    submitted: u64,
    accepted: u64,
    refused_429: u64,
    with_retry_after: u64,
    server_errors: u64,
    other: u64,
    rss_before_kib: u64,
    rss_max_kib: u64,
    rss_after_kib: u64,
    /// The server's resident memory each second of the overload, KiB.
    rss_timeline_kib: Vec<u64>,
    jobs_done: u64,
    jobs_failed: u64,
    drained_s: f64,
}

fn overload(f: &Fixture, clients: usize, seconds: f64) -> Result<Overload, Failure> {
    let server = &f.server;
    let stop = AtomicBool::new(false);
    let counts: [AtomicU64; 6] = Default::default();
    let accepted_ids = Mutex::new(Vec::<String>::new());
    let rss_before = server.rss_kib();
    let rss_max = AtomicU64::new(rss_before);
    let mut timeline = Vec::new();
    let body = json!({"request_id": f.request_id, "secret": f.secret}).to_string();
    let url = format!("{}/v1/holder/proofs", server.base);
    std::thread::scope(|s| {
        for _ in 0..clients {
            let (stop, counts, ids, url, body, token) =
                (&stop, &counts, &accepted_ids, &url, &body, &f.holder_token);
            s.spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(30))
                    .build();
                let mut sent = 0;
                // At most 2,000 submissions per client, each 20 ms apart: an impatient client
                // that ignores Retry-After, bounded in count and time.
                while !stop.load(Ordering::Relaxed) && sent < 2_000 {
                    sent += 1;
                    counts[0].fetch_add(1, Ordering::Relaxed);
                    let r = agent
                        .post(url)
                        .set("Authorization", &format!("Bearer {token}"))
                        .set("Content-Type", "application/json")
                        .send_string(body);
                    match r {
                        Ok(r) if r.status() == 202 => {
                            counts[1].fetch_add(1, Ordering::Relaxed);
                            if let Ok(v) = r.into_json::<Value>() {
                                if let Some(id) = v["id"].as_str() {
                                    ids.lock()
                                        .unwrap_or_else(|p| p.into_inner())
                                        .push(id.to_string());
                                }
                            }
                        }
                        Err(ureq::Error::Status(429, r)) => {
                            counts[2].fetch_add(1, Ordering::Relaxed);
                            if r.header("Retry-After").is_some() {
                                counts[3].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        Err(ureq::Error::Status(s, _)) if s >= 500 => {
                            counts[4].fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            counts[5].fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            });
        }
        let start = Instant::now();
        let mut tick = 0;
        while start.elapsed().as_secs_f64() < seconds {
            let rss = server.rss_kib();
            rss_max.fetch_max(rss, Ordering::Relaxed);
            if start.elapsed().as_secs() >= tick {
                timeline.push(rss);
                tick += 1;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
    });
    // Every accepted job ends, done or failed, none lost.
    let drain = Instant::now();
    let (mut done, mut failed) = (0, 0);
    for id in accepted_ids.into_inner().unwrap_or_else(|p| p.into_inner()) {
        rss_max.fetch_max(server.rss_kib(), Ordering::Relaxed);
        match server.wait_job(&f.holder_token, &id) {
            Ok(_) => done += 1,
            Err(_) => failed += 1,
        }
    }
    let c = |i: usize| counts[i].load(Ordering::Relaxed);
    Ok(Overload {
        clients,
        submitted: c(0),
        accepted: c(1),
        refused_429: c(2),
        with_retry_after: c(3),
        server_errors: c(4),
        other: c(5),
        rss_before_kib: rss_before,
        rss_max_kib: rss_max.load(Ordering::Relaxed),
        rss_after_kib: server.rss_kib(),
        rss_timeline_kib: timeline,
        jobs_done: done,
        jobs_failed: failed,
        drained_s: drain.elapsed().as_secs_f64(),
    })
}

/// A rate measured over HTTP across replicas.
struct RateRun {
    per_s: f64,
    done: u64,
    /// Answers 429 (a replica's queue full), retried after their Retry-After.
    refused: u64,
    server_cpu: f64,
}

/// What one client's step did: items done, and 429 answers met.
type Step = Result<(u64, u64), Failure>;

/// Runs `clients` clients for `seconds`, client `c` repeating `step(c, servers[c % n])`, and
/// rates what they did; the first failure ends the run with an error.
fn clients_rate(
    servers: &[&Server],
    clients: usize,
    seconds: f64,
    step: impl Fn(usize, &Server) -> Step + Sync,
) -> Result<RateRun, Failure> {
    let stop = AtomicBool::new(false);
    let (done, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    let failure = Mutex::new(None::<String>);
    let cpu0 = cpu_seconds(servers);
    let start = Instant::now();
    std::thread::scope(|s| {
        for c in 0..clients {
            let (stop, done, refused, failure, step) = (&stop, &done, &refused, &failure, &step);
            let server = servers[c % servers.len()];
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match step(c, server) {
                        Ok((n, r)) => {
                            done.fetch_add(n, Ordering::Relaxed);
                            refused.fetch_add(r, Ordering::Relaxed);
                        }
                        Err(e) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(e.to_string());
                            return;
                        }
                    }
                }
            });
        }
        std::thread::sleep(Duration::from_secs_f64(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e.into());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let done = done.load(Ordering::Relaxed);
    Ok(RateRun {
        per_s: done as f64 / elapsed,
        done,
        refused: refused.load(Ordering::Relaxed),
        server_cpu: (cpu_seconds(servers) - cpu0) / elapsed,
    })
}

/// Proofs made per second: `clients` clients, client `c` asking `servers[c % n]` for a proof,
/// waiting for it and asking again until `seconds` have passed (a 429 is retried after a
/// pause). Any replica may be asked; the job runs on the one that accepted it.
fn http_prove(
    f: &Fixture,
    servers: &[&Server],
    clients: usize,
    seconds: f64,
) -> Result<RateRun, Failure> {
    let body = json!({"request_id": f.request_id, "secret": f.secret});
    clients_rate(servers, clients, seconds, |_, server| {
        let (status, v) = server.call(
            "POST",
            "/v1/holder/proofs",
            Some(&f.holder_token),
            Some(&body),
        );
        match (status, v["id"].as_str()) {
            (202, Some(id)) => server.wait_job(&f.holder_token, id).map(|_| (1, 0)),
            (429, _) => {
                std::thread::sleep(Duration::from_millis(200));
                Ok((0, 1))
            }
            _ => Err(format!("proof request: {status} {v}").into()),
        }
    })
}

/// Credentials issued to `holder` per second with every issuer written at once: one client per
/// issuer, issuer `k`'s client sending batches of `batch` claims through `servers[k % n]`.
fn http_issue(
    f: &Fixture,
    holder: &str,
    servers: &[&Server],
    batch: usize,
    seconds: f64,
) -> Result<RateRun, Failure> {
    let claims: Vec<Value> = (0..batch)
        .map(|i| {
            json!({"schema": "qualification", "holder": holder, "fields": {
                "degree_level": "master", "field": "law",
                "institution": "Load Test University", "award_year": 2000 + (i % 25)}})
        })
        .collect();
    let body = json!({ "claims": claims });
    clients_rate(servers, f.issuer_tokens.len(), seconds, |k, server| {
        let (issuer, token) = &f.issuer_tokens[k];
        let path = format!("/v1/issuers/{issuer}/credentials");
        let v = server.expect("POST", &path, Some(token), Some(&body), 201)?;
        Ok((v["issued"].as_array().map_or(0, Vec::len) as u64, 0))
    })
}

/// One, two, three… replicas of the service on one PostgreSQL database, compared.
fn replicas_run(mut o: Options) -> Result<(), Failure> {
    let dir = tempfile::tempdir()?;
    // Kept alive for the run: dropped (stopped) at the end.
    let mut scratch = None;
    if o.database.is_none() {
        let pg = dossier_store::scratch::ScratchPostgres::start()?.ok_or(
            "PostgreSQL is not installed (apt-get install postgresql), or pass --database",
        )?;
        o.database = Some(pg.new_database("load")?);
        scratch = Some(pg);
    }
    let clients = o.concurrency.iter().copied().max().unwrap_or(16).min(16);
    let most = o.replicas.iter().copied().max().unwrap_or(1);
    eprintln!(
        "setting up on PostgreSQL: keys, three issuers, {} presentations",
        o.presentations
    );
    let f = setup(&o, dir.path())?;
    for (issuer, token) in &f.issuer_tokens[1..] {
        f.server.expect(
            "POST",
            "/v1/issuers",
            Some(token),
            Some(&json!({"name": issuer})),
            201,
        )?;
    }
    let bodies: Vec<String> = f
        .pairs
        .iter()
        .map(|(r, p)| json!({"request": r, "presentation": p}).to_string())
        .collect();
    let mut others = Vec::new();
    for i in 1..most {
        others.push(start_server(
            &o,
            &f.home,
            &f.params,
            &f.tokens,
            &dir.path().join(format!("addr-{i}")),
        )?);
    }
    // Issued credentials go to another holder: the measured holder's wallet stays one
    // credential, so that later proofs do not select among thousands.
    let bulk = dir.path().join("bulk-wallet.json");
    let mut c = dossier(&o, &f.home, &f.params, &f.tokens);
    c.args(["holder", "init", "--wallet"]).arg(&bulk);
    let bulk_holder = run_json(c)?["holder"]
        .as_str()
        .ok_or("no holder")?
        .to_string();
    let all: Vec<&Server> = std::iter::once(&f.server).chain(others.iter()).collect();
    // Each replica loads its keys on first use: warm every one up before measuring.
    let proof = json!({"request_id": f.request_id, "secret": f.secret});
    for server in &all {
        let first: Value = serde_json::from_str(&bodies[0])?;
        server.expect("POST", "/v1/verify", None, Some(&first), 200)?;
        let job = server.expect(
            "POST",
            "/v1/holder/proofs",
            Some(&f.holder_token),
            Some(&proof),
            202,
        )?;
        server.wait_job(&f.holder_token, job["id"].as_str().ok_or("job id")?)?;
    }
    let mut rows = Vec::new();
    for &n in &o.replicas {
        let servers = &all[..n];
        eprintln!("{n} replica(s): verification, {clients} clients");
        let verify = http_verify(servers, &bodies, clients, o.seconds);
        eprintln!("{n} replica(s): proving, 8 clients");
        let prove = http_prove(&f, servers, 8, o.seconds)?;
        eprintln!("{n} replica(s): issuance, 3 issuers at once, batches of 50");
        let issue = http_issue(&f, &bulk_holder, servers, 50, o.seconds)?;
        // A holder proves against the latest checkpoint: publish one over what was issued.
        let token = &f.issuer_tokens[0].1;
        let job = f
            .server
            .expect("POST", "/v1/checkpoints", Some(token), None, 202)?;
        f.server
            .wait_job(token, job["id"].as_str().ok_or("job id")?)?;
        if verify.other > 0 {
            return Err(format!("{n} replicas: {} verifications failed", verify.other).into());
        }
        rows.push((n, verify, prove, issue));
    }
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let report = json!({
        "machine": {"cores": cores},
        "engine": "postgres",
        "replicas": rows.iter().map(|(n, v, p, i)| json!({
            "replicas": n,
            "verify": {"clients": v.clients, "per_s": v.rate, "p50_ms": v.p50_ms, "p99_ms": v.p99_ms,
                "server_cpu_cores": v.server_cpu},
            "prove": {"clients": 8, "per_s": p.per_s, "done": p.done, "refused_429": p.refused,
                "server_cpu_cores": p.server_cpu},
            "issue": {"issuers": f.issuer_tokens.len(), "batch": 50, "per_s": i.per_s, "issued": i.done,
                "server_cpu_cores": i.server_cpu},
        })).collect::<Vec<_>>(),
    });
    if o.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("| replicas | verified/s ({clients} clients) | p50 / p99 ms | proofs/s (8 clients) | credentials/s (3 issuers at once) | server CPU (cores): verify / prove / issue |");
        println!("|---|---|---|---|---|---|");
        for (n, v, p, i) in &rows {
            println!(
                "| {n} | {:.0} | {:.1} / {:.1} | {:.2} | {:.0} | {:.2} / {:.2} / {:.2} |",
                v.rate,
                v.p50_ms,
                v.p99_ms,
                p.per_s,
                i.per_s,
                v.server_cpu,
                p.server_cpu,
                i.server_cpu
            );
        }
    }
    drop(others);
    drop(f);
    drop(scratch);
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("dossier-load: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Failure> {
    let o = options()?;
    if !o.replicas.is_empty() {
        return replicas_run(o);
    }
    let dir = tempfile::tempdir()?;
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    eprintln!(
        "setting up: keys, an issuer, a checkpoint and {} presentations proven by the service",
        o.presentations
    );
    let f = setup(&o, dir.path())?;
    let bodies: Vec<String> = f
        .pairs
        .iter()
        .map(|(r, p)| json!({"request": r, "presentation": p}).to_string())
        .collect();
    for b in &bodies {
        let v: Value = serde_json::from_str(b)?;
        f.server.expect("POST", "/v1/verify", None, Some(&v), 200)?;
    }

    // 1. The library alone, same keys (with the service's precomputed input tables).
    let mut keys = VerifierKeys::load(&f.params)?;
    for key in keys.keys.values_mut() {
        key.precompute();
    }
    let schemas = SchemaSet::builtin();
    let typed: Vec<(PresentationRequest, Presentation)> = f
        .pairs
        .iter()
        .map(|(r, p)| {
            Ok((
                serde_json::from_value(r.clone())?,
                serde_json::from_value(p.clone())?,
            ))
        })
        .collect::<Result<_, serde_json::Error>>()?;
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    eprintln!("library: one at a time on {cores} threads");
    let trust = dossier_verifier::Trust::key_only(&f.log_key);
    let single = library_rate(cores, o.seconds, |i| {
        let (r, p) = &typed[i % typed.len()];
        match dossier_verifier::verify(r, p, &keys, &trust, &schemas, now()) {
            Ok(_) => 1,
            Err(e) => panic!("a valid presentation was refused: {e}"),
        }
    });
    eprintln!("library: batches of 64 on {cores} threads");
    let batched = library_rate(cores, o.seconds, |i| {
        let items: Vec<BatchItem<'_>> = (0..64)
            .map(|k| {
                let (r, p) = &typed[(i * 64 + k) % typed.len()];
                BatchItem {
                    request: r,
                    presentation: p,
                    now: now(),
                }
            })
            .collect();
        let out = dossier_verifier::verify_presentations(&items, &keys, &trust, &schemas);
        assert!(
            out.iter().all(Result::is_ok),
            "a valid presentation was refused"
        );
        items.len()
    });

    // 2. Over HTTP.
    let mut runs = Vec::new();
    for &c in &o.concurrency {
        eprintln!("HTTP: POST /v1/verify with {c} concurrent clients");
        runs.push(http_verify(&[&f.server], &bodies, c, o.seconds));
    }

    // 3. Proving under overload.
    eprintln!("overload: 32 clients asking for proofs against a queue of 8");
    let over = overload(&f, 32, o.overload_seconds)?;

    let report = json!({
        "machine": {"cores": cores},
        "presentations": bodies.len(),
        "body_bytes": bodies.first().map_or(0, String::len),
        "library": {"single_per_s": single, "batch64_per_s": batched},
        "http_verify": runs.iter().map(|r| json!({
            "clients": r.clients, "ok": r.ok, "errors": r.other, "per_s": r.rate,
            "ratio_to_library_single": r.rate / single, "p50_ms": r.p50_ms, "p99_ms": r.p99_ms,
            "server_cpu_cores": r.server_cpu})).collect::<Vec<_>>(),
        "proving_overload": {
            "clients": over.clients, "submitted": over.submitted, "accepted_202": over.accepted,
            "refused_429": over.refused_429, "429_with_retry_after": over.with_retry_after,
            "server_errors_5xx": over.server_errors, "other": over.other,
            "rss_kib": {"before": over.rss_before_kib, "max": over.rss_max_kib, "after": over.rss_after_kib,
                "each_second": over.rss_timeline_kib},
            "jobs_done": over.jobs_done, "jobs_failed": over.jobs_failed, "drained_s": over.drained_s},
    });
    if o.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("verifier library on {cores} threads: {single:.0}/s one at a time, {batched:.0}/s in batches of 64");
        println!("| clients | verified/s over HTTP | x library (one at a time) | p50 ms | p99 ms | server CPU (cores) | errors |");
        println!("|---|---|---|---|---|---|---|");
        for r in &runs {
            println!(
                "| {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
                r.clients,
                r.rate,
                r.rate / single,
                r.p50_ms,
                r.p99_ms,
                r.server_cpu,
                r.other
            );
        }
        println!(
            "proving overload: {} clients, {} submitted, {} accepted (202), {} refused (429, {} with Retry-After), {} 5xx, {} other; \
             RSS {} KiB before, {} KiB max, {} KiB after; accepted jobs: {} done, {} failed, drained in {:.1} s",
            over.clients, over.submitted, over.accepted, over.refused_429, over.with_retry_after,
            over.server_errors, over.other, over.rss_before_kib, over.rss_max_kib, over.rss_after_kib,
            over.jobs_done, over.jobs_failed, over.drained_s
        );
        println!(
            "server RSS each second of the overload, MiB: {:?}",
            over.rss_timeline_kib
                .iter()
                .map(|k| k / 1024)
                .collect::<Vec<_>>()
        );
    }
    if over.server_errors > 0 || runs.iter().any(|r| r.other > 0) {
        return Err("the service answered errors under load".into());
    }
    Ok(())
}
