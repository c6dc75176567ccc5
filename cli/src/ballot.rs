//! `dossier ballot open|rate|cast|close|show|archive|verify`: the anonymous peer rating of an
//! annual appraisal from the command line.
//!
//! The HR office opens a ballot (the latest checkpoint becomes its roll); each colleague rates
//! each appraisee on their own machine (`rate`: a zero-knowledge proof from their wallet, with
//! the membership path replayed from public ledger entries, so nobody learns who fetched what);
//! ratings are checked and archived (`cast`, what the service's `POST
//! /v1/ballots/{name}/ratings` does); at the closing time the HR office publishes the tally on
//! the ledger (`close`); anyone re-verifies the archive against the ledger (`verify`).

use crate::client::{each_entry, fetch_json, ledger_key};
use crate::error::CliError;
use crate::wallet::Wallet;
use crate::{present, wallet_path, BallotCmd, Out};
use dossier_core::ballot::{Archive, Ballot, BallotDraft, Choices, Rating, Tally, RATING_FORMAT};
use dossier_core::clock::now;
use dossier_core::credential::Offered;
use dossier_core::entry::{Entry, EntryBody};
use dossier_core::holder::HolderSecret;
use dossier_core::presentation::{Backend, PresentationRequest};
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;
use dossier_prover::{Provers, Statement};
use dossier_store::ballot::{Roll, RollReplay};
use dossier_store::home::Home;
use serde_json::json;
use std::path::{Path, PathBuf};

/// `dossier ballot ...`.
pub fn ballot(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    cmd: BallotCmd,
) -> Result<i32, CliError> {
    match cmd {
        BallotCmd::Open {
            issuer,
            name,
            unit,
            appraisees,
            choices,
            opens_in,
            closes_in,
            backend,
            out: path,
        } => {
            let choices = parse_choices(&choices)?;
            let opens = now() + opens_in;
            let ballot = open(
                home,
                BallotDraft {
                    issuer,
                    name,
                    unit,
                    appraisees,
                    choices,
                    opens,
                    closes: opens + closes_in,
                    backend,
                },
            )?;
            present::write_json(&path, &ballot)?;
            out.emit(
                format!(
                    "ballot `{}` opened: {} appraisees, roll at ledger size {}, closes in {} s; \
                     definition written to {}",
                    ballot.name,
                    ballot.appraisees.len(),
                    roll_size(home, &ballot)?,
                    closes_in,
                    path.display()
                ),
                json!({"ballot": ballot.name, "definition": path, "closes": ballot.closes}),
            );
            Ok(0)
        }
        BallotCmd::Rate {
            ballot,
            appraisee,
            choice,
            wallet,
            ledger,
            service,
            out: path,
        } => {
            let ballot: Ballot = present::read_json(&ballot)?;
            let public = match (&ledger, &service) {
                (Some(l), _) => Some(Public::Export(l)),
                (None, Some(url)) => Some(Public::Service(url.trim_end_matches('/'))),
                (None, None) => None,
            };
            let rating = rate(
                home,
                params,
                &wallet_path(home, &wallet),
                public,
                &ballot,
                &appraisee,
                &choice,
                schemas,
            )?;
            present::write_json(&path, &rating)?;
            out.emit(
                format!("rating written to {}", path.display()),
                json!({"rating": path}),
            );
            Ok(0)
        }
        BallotCmd::Cast {
            ratings,
            service: None,
        } => cast(home, params, out, schemas, &ratings),
        BallotCmd::Cast {
            ratings,
            service: Some(url),
        } => send(url.trim_end_matches('/'), out, &ratings),
        BallotCmd::Close { name } => {
            let store = home.store()?;
            let record = store.ballot(&name)?;
            let key = home.issuer_key(&record.ballot.issuer, None)?;
            let closed = store.close_ballot(&key, &name, now())?;
            out.emit(
                format!(
                    "ballot `{name}` closed: {} ratings, tally on ledger entry {}\n{}",
                    closed.tally.ratings,
                    closed.entry,
                    tally_text(&record.ballot, &closed.tally)
                ),
                json!({"ballot": name, "entry": closed.entry, "tally": closed.tally,
                       "ratings_sha256": closed.ratings_sha256}),
            );
            Ok(0)
        }
        BallotCmd::Show { name } => {
            let record = home.reader()?.ballot(&name)?;
            let status = record.status(now());
            let mut text = format!(
                "ballot `{name}` of {} (unit {}): {}, {} ratings",
                record.ballot.issuer,
                record.ballot.unit,
                status.name(),
                record.ratings
            );
            if let Some(c) = &record.closed {
                text.push('\n');
                text.push_str(&tally_text(&record.ballot, &c.tally));
            }
            out.emit(text, json!({"ballot": record, "status": status}));
            Ok(0)
        }
        BallotCmd::Archive {
            name,
            service,
            out: path,
        } => {
            let archive = match service {
                Some(url) => fetch_archive(url.trim_end_matches('/'), &name)?,
                None => {
                    let reader = home.reader()?;
                    Archive {
                        ballot: reader.ballot(&name)?.ballot,
                        ratings: reader.ratings(&name)?,
                    }
                }
            };
            present::write_json(&path, &archive)?;
            out.emit(
                format!(
                    "{} ratings of `{name}` written to {}",
                    archive.ratings.len(),
                    path.display()
                ),
                json!({"ballot": name, "ratings": archive.ratings.len(), "archive": path}),
            );
            Ok(0)
        }
        BallotCmd::Verify {
            archive,
            ledger,
            log_key,
        } => verify(
            home,
            params,
            out,
            schemas,
            &archive,
            ledger.as_deref(),
            log_key,
        ),
    }
}

/// Opens a ballot on this home's ledger, its roll the latest checkpoint.
pub fn open(home: &Home, draft: BallotDraft) -> Result<Ballot, CliError> {
    let store = home.store()?;
    let roll = store.latest_checkpoint()?.ok_or_else(|| {
        CliError::Input(
            "no checkpoint yet: publish one (`dossier checkpoint`) to be the roll".into(),
        )
    })?;
    let ballot = draft.with_roll(roll);
    let key = home.issuer_key(&ballot.issuer, None)?;
    store.open_ballot(&key, &ballot, now())?;
    Ok(ballot)
}

fn roll_size(home: &Home, ballot: &Ballot) -> Result<u64, CliError> {
    let key = crate::log_key(home, None)?;
    Ok(dossier_core::checkpoint::open(ballot.roll.as_bytes(), &key)?.size)
}

/// `grades`, or `score:MIN-MAX`.
fn parse_choices(s: &str) -> Result<Choices, CliError> {
    if s == "grades" {
        return Ok(Choices::Grades);
    }
    let bad = || CliError::Input("--choices: `grades` or `score:MIN-MAX`".into());
    let (min, max) = s
        .strip_prefix("score:")
        .and_then(|r| r.split_once('-'))
        .ok_or_else(bad)?;
    Ok(Choices::Score {
        min: min.parse().map_err(|_| bad())?,
        max: max.parse().map_err(|_| bad())?,
    })
}

/// A colleague's rating, proven locally from their wallet against the ballot's roll. The
/// membership path comes from the ledger's entries up to the roll (this home's, or a public
/// export), replayed here: no look-up names the credential.
#[allow(clippy::too_many_arguments)]
pub fn rate(
    home: &Home,
    params: &Path,
    wallet: &Path,
    ledger: Option<Public<'_>>,
    ballot: &Ballot,
    appraisee: &str,
    choice: &str,
    schemas: &SchemaSet,
) -> Result<Rating, CliError> {
    ballot.check()?;
    let request = ballot.request(appraisee, choice)?;
    // The roll is checked under the ledger's key (this home's, the export's or the service's)
    // before its registry is replayed from the entries below it.
    let roll = match ledger {
        Some(Public::Export(path)) => {
            let export = dossier_store::export::LedgerExport::from_json(
                &std::fs::read_to_string(path).map_err(crate::error::io(path))?,
            )?;
            let cp = dossier_core::checkpoint::open(ballot.roll.as_bytes(), &export.log_key)?;
            let size = usize::try_from(cp.size).unwrap_or(usize::MAX);
            let entries = export.entries.get(..size).ok_or_else(|| {
                CliError::Input("the ledger export is shorter than the ballot's roll".into())
            })?;
            (
                Roll::replay(&ballot.issuer, entries.iter().map(Vec::as_slice))?,
                cp,
            )
        }
        Some(Public::Service(url)) => {
            let key = ledger_key(url)?;
            let cp = dossier_core::checkpoint::open(ballot.roll.as_bytes(), &key)?;
            let mut replay = RollReplay::new(&ballot.issuer)?;
            each_entry(url, cp.size, |_, bytes| Ok(replay.add(bytes)?))?;
            (replay.finish()?, cp)
        }
        None => {
            let key = crate::log_key(home, None)?;
            let cp = dossier_core::checkpoint::open(ballot.roll.as_bytes(), &key)?;
            (home.reader()?.roll(&ballot.issuer, cp.size)?, cp)
        }
    };
    let (roll, cp) = roll;
    let wallet = Wallet::open(wallet)?;
    let shape = request.query.shape()?;
    let query = request.query.encode(schemas, shape)?;
    let offered = dossier_store::holder::select_at(
        wallet.credentials(),
        &cp,
        schemas,
        &query,
        request.today_days()?,
        request.backend,
        |o| roll.path(o.credential_id),
    )?;
    let provers = Provers::new(params);
    provers.prepare(request.backend, shape)?;
    let answer = Answer {
        appraisee,
        choice,
        request: &request,
        query: &query,
    };
    prove_rating(&provers, ballot, &answer, wallet.secret(), &offered)
}

/// A rating's request, already derived from its ballot, appraisee and choice, and encoded.
pub struct Answer<'a> {
    /// Who is rated.
    pub appraisee: &'a str,
    /// The choice's label.
    pub choice: &'a str,
    /// `Ballot::request(appraisee, choice)`.
    pub request: &'a PresentationRequest,
    /// Its query, encoded for its shape.
    pub query: &'a EncodedQuery,
}

/// Proves a rating from the rater's secret and their employment credential's path at the roll
/// (the CLI's `rate` and the demo alike; keys already prepared).
pub fn prove_rating(
    provers: &Provers,
    ballot: &Ballot,
    answer: &Answer<'_>,
    secret: &HolderSecret,
    offered: &[Offered],
) -> Result<Rating, CliError> {
    let presentation = provers.prove(&Statement {
        request: answer.request,
        query: answer.query,
        secret,
        offered,
        checkpoint: &ballot.roll,
    })?;
    Ok(Rating {
        format: RATING_FORMAT.into(),
        ballot: ballot.name.clone(),
        appraisee: answer.appraisee.into(),
        choice: answer.choice.into(),
        presentation,
    })
}

/// Checks a rating against its ballot and archives it (what `cast` and the demo do, and the
/// service on receipt); returns its sequence number in the archive.
pub fn accept_rating(
    store: &dossier_store::Store,
    ballot: &Ballot,
    rating: &Rating,
    keys: &dossier_verifier::VerifierKeys,
    trust: &dossier_verifier::Trust,
    schemas: &SchemaSet,
) -> Result<u32, CliError> {
    let checked = dossier_verifier::ballot::verify_rating(ballot, rating, keys, trust, schemas)?;
    Ok(store.cast_rating(rating, &checked.nullifier, now())?)
}

/// Where a rater reads the public ledger from, when not from this home.
pub enum Public<'a> {
    /// A ledger export (`dossier ledger export`).
    Export(&'a Path),
    /// A dossier service's `GET /v1/ledger/entries`, page by page.
    Service(&'a str),
}

/// A ballot's archive from a service, page by page (`GET /v1/ballots/{name}/ratings`).
fn fetch_archive(url: &str, name: &str) -> Result<Archive, CliError> {
    let bad = |what: &str| CliError::Input(format!("the service's archive: {what}"));
    let mut ratings: Vec<Rating> = Vec::new();
    let mut ballot = None;
    loop {
        let page = fetch_json(&format!(
            "{url}/v1/ballots/{name}/ratings?start={}&limit=1000",
            ratings.len()
        ))?;
        let total = page["total"].as_u64().ok_or_else(|| bad("no total"))?;
        if total > dossier_core::ballot::MAX_RATINGS as u64 {
            return Err(bad("more ratings than a ballot accepts"));
        }
        let b: Ballot =
            serde_json::from_value(page["ballot"].clone()).map_err(|_| bad("the ballot"))?;
        if ballot.as_ref().is_some_and(|prev| prev != &b) {
            return Err(bad("the ballot changed between pages"));
        }
        let got: Vec<Rating> =
            serde_json::from_value(page["ratings"].clone()).map_err(|_| bad("a rating"))?;
        ballot = Some(b);
        if got.is_empty() {
            break;
        }
        ratings.extend(got);
        if ratings.len() as u64 >= total {
            ratings.truncate(total as usize);
            break;
        }
    }
    Ok(Archive {
        ballot: ballot.ok_or_else(|| bad("no ballot"))?,
        ratings,
    })
}

/// The verifying keys a ballot's ratings need (halo2's made from the circuit).
fn keys_for(params: &Path, ballot: &Ballot) -> Result<dossier_verifier::VerifierKeys, CliError> {
    if ballot.backend == Backend::Halo2 {
        let shape = ballot.query().shape()?;
        dossier_verifier::halo2::prepare(shape)?;
        Ok(dossier_verifier::VerifierKeys::none())
    } else {
        Ok(dossier_verifier::VerifierKeys::load(params)?)
    }
}

/// Sends ratings to a service (no token), and reports each answer.
fn send(url: &str, out: &Out, paths: &[PathBuf]) -> Result<i32, CliError> {
    let mut results = Vec::new();
    for path in paths {
        let rating: Rating = present::read_json(path)?;
        let target = format!("{url}/v1/ballots/{}/ratings", rating.ballot);
        let answer = ureq::post(&target)
            .timeout(std::time::Duration::from_secs(60))
            .send_json(&rating);
        let (status, body): (u16, serde_json::Value) = match answer {
            Ok(r) => (r.status(), r.into_json().unwrap_or_default()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or_default()),
            Err(e) => return Err(CliError::Input(format!("POST {target}: {e}"))),
        };
        results.push(if status == 201 {
            json!({"rating": path, "accepted": true, "sequence": body["sequence"]})
        } else {
            json!({"rating": path, "accepted": false, "status": status,
                   "error": body["error"]["message"]})
        });
    }
    report(out, results)
}

/// Checks each rating against its ballot in this home and archives those that pass.
fn cast(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    paths: &[PathBuf],
) -> Result<i32, CliError> {
    let store = home.store()?;
    let (_, log_key) = store
        .ledger_identity()?
        .ok_or_else(|| CliError::Input("this home has no ledger".into()))?;
    let trust = dossier_verifier::Trust::witnessed(
        &log_key,
        dossier_core::cosignature::WitnessPolicy::none(),
    );
    // Each backend's verifying keys are loaded once, on the first rating that needs them.
    let mut loaded: Option<(Backend, dossier_verifier::VerifierKeys)> = None;
    let mut results = Vec::new();
    for path in paths {
        let rating: Rating = present::read_json(path)?;
        let mut outcome = || -> Result<u32, CliError> {
            let record = store.ballot(&rating.ballot)?;
            let backend = record.ballot.backend;
            let keys = match loaded.take() {
                Some((b, keys)) if b == backend => keys,
                _ => keys_for(params, &record.ballot)?,
            };
            let keys = &loaded.insert((backend, keys)).1;
            accept_rating(&store, &record.ballot, &rating, keys, &trust, schemas)
        };
        match outcome() {
            Ok(seq) => results.push(json!({"rating": path, "accepted": true, "sequence": seq})),
            Err(e) => {
                results.push(json!({"rating": path, "accepted": false, "error": e.to_string()}))
            }
        }
    }
    report(out, results)
}

/// Prints each rating's outcome; exit 1 if any was refused.
fn report(out: &Out, results: Vec<serde_json::Value>) -> Result<i32, CliError> {
    let refused = results
        .iter()
        .filter(|r| r["accepted"].as_bool() != Some(true))
        .count();
    let text = results
        .iter()
        .map(|r| match r["accepted"].as_bool() {
            Some(true) => format!("accepted: {}", r["rating"].as_str().unwrap_or("")),
            _ => format!(
                "REFUSED: {}: {}",
                r["rating"].as_str().unwrap_or(""),
                r["error"].as_str().unwrap_or("")
            ),
        })
        .collect::<Vec<_>>()
        .join("\n");
    out.emit(text, json!({"results": results, "refused": refused}));
    Ok(if refused == 0 { 0 } else { 1 })
}

/// What a ledger records of a ballot: its definition's hash, and its tally (the archive's hash
/// and the counts) once closed.
#[derive(Default)]
struct OnLedger {
    opened: Option<[u8; 32]>,
    tallied: Option<([u8; 32], Vec<Vec<u32>>)>,
}

/// The ballot's entries on a ledger: its opening and its tally.
fn ledger_record(entries: &[Vec<u8>], ballot: &Ballot) -> Result<OnLedger, CliError> {
    let id = ballot.id()?;
    let mut found = OnLedger::default();
    for bytes in entries {
        match Entry::from_bytes(bytes)?.body {
            EntryBody::BallotOpened {
                ballot_id,
                definition,
                ..
            } if ballot_id == id => found.opened = Some(definition),
            EntryBody::BallotTallied {
                ballot_id,
                ratings,
                counts,
                ..
            } if ballot_id == id => found.tallied = Some((ratings, counts)),
            _ => {}
        }
    }
    Ok(found)
}

/// Re-verifies a ballot's archive: every rating, the tally, and the ledger's record of both.
fn verify(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    archive: &Path,
    ledger: Option<&Path>,
    log_key: Option<String>,
) -> Result<i32, CliError> {
    let archive: Archive = present::read_json(archive)?;
    let ballot = &archive.ballot;
    ballot.check()?;
    let (entries, key) = match ledger {
        Some(path) => {
            let export = dossier_store::export::LedgerExport::from_json(
                &std::fs::read_to_string(path).map_err(crate::error::io(path))?,
            )?;
            let key = match log_key {
                Some(k) => crate::log_key(home, Some(&k))?,
                None => export.log_key.clone(),
            };
            (export.entries, key)
        }
        None => {
            let reader = home.reader()?;
            let size = reader.ledger_size()?;
            (
                reader.entries(0, size)?,
                crate::log_key(home, log_key.as_deref())?,
            )
        }
    };
    let trust =
        dossier_verifier::Trust::witnessed(&key, dossier_core::cosignature::WitnessPolicy::none());
    let started = std::time::Instant::now();
    let keys = keys_for(params, ballot)?;
    let tally =
        dossier_verifier::ballot::verify_ratings(ballot, &archive.ratings, &keys, &trust, schemas)
            .map_err(|e| CliError::Verify(e.error))?;
    let secs = started.elapsed().as_secs_f64();
    let OnLedger { opened, tallied } = ledger_record(&entries, ballot)?;
    let mut problems = Vec::new();
    if opened != Some(ballot.definition_hash()?) {
        problems.push("the ledger has no opening of this ballot with this definition");
    }
    match &tallied {
        None => problems.push("the ledger has no tally of this ballot yet"),
        Some((hash, counts)) => {
            if *hash != dossier_core::ballot::ratings_hash(&archive.ratings)? {
                problems.push("the archive is not the one the ledger's tally committed to");
            }
            if *counts != tally.counts {
                problems.push("the ledger's tally is not the count of the archive's ratings");
            }
        }
    }
    let valid = problems.is_empty();
    let text = format!(
        "{} ratings re-verified in {:.0} ms\n{}\n{}",
        archive.ratings.len(),
        secs * 1e3,
        tally_text(ballot, &tally),
        if valid {
            "the ledger's tally matches: VALID".to_string()
        } else {
            format!("INVALID: {}", problems.join("; "))
        }
    );
    out.emit(
        text,
        json!({"valid": valid, "tally": tally, "problems": problems, "seconds": secs}),
    );
    Ok(if valid { 0 } else { 1 })
}

/// A tally as a table: one line per appraisee, one column per choice.
pub fn tally_text(ballot: &Ballot, tally: &Tally) -> String {
    let n = ballot.choices.count();
    let mut lines = Vec::new();
    for (a, row) in ballot.appraisees.iter().zip(&tally.counts) {
        let count = |c: usize| row.get(c).copied().unwrap_or(0);
        let cells: Vec<String> = (0..n)
            .filter(|c| n <= 11 || count(*c) > 0)
            .map(|c| format!("{}={}", ballot.choices.label(c), count(c)))
            .collect();
        lines.push(format!("  {a}: {}", cells.join(", ")));
    }
    lines.join("\n")
}
