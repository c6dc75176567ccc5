//! Three replicas of `dossier serve` on one PostgreSQL database behave as one service, while
//! they are killed with SIGKILL and restarted.
//!
//! - One holder's presentation, proven for a request made through one replica, is submitted to
//!   all three at once, twice each: exactly one submission is accepted. The nullifier is unique
//!   across replicas because the database decides, not a replica's memory.
//! - A replica is killed while it proves a holder's statement: the others report the job failed
//!   once its heartbeat is older than the lease.
//! - Then clients issue, revoke and publish checkpoints, and a verifier verifies the
//!   presentation and submits it again, through whichever replica answers, for a bounded time,
//!   while a chaos thread kills a random replica every 0.7 s and starts a new one in its place.
//!   Every replica that answers verifies the presentation, and every one refuses its replay.
//! - Afterwards, every acknowledged issuance is in its registry exactly once, with its
//!   commitment, or revoked if its revocation was acknowledged (either, if the revocation's
//!   answer was lost with its replica). No id was given twice. No two
//!   checkpoints of one size differ. The ledger audits clean.

use dossier_store::scratch;
use dossier_tests::{
    employment, issue_to_wallet, ledger_with_issuer, ok, ok_json, prove_to, send_signal, token,
    Server,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

const HR: &str = "hr.example";
const UNIVERSITY: &str = "univ.law-school";
const RECRUITMENT: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}}]}"#;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

/// One HTTP call to a replica by its base URL: `None` when the replica is not there (killed,
/// or killed mid-answer: not acknowledged).
fn call(
    base: &str,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&Value>,
) -> Option<(u16, Value)> {
    let req = ureq::request(method, &format!("{base}{path}"))
        .timeout(Duration::from_secs(30))
        .set("Authorization", &format!("Bearer {token}"));
    let res = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    let (status, text) = match res {
        Ok(r) => (r.status(), r.into_string().ok()?),
        Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
        Err(ureq::Error::Transport(_)) => return None,
    };
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// A recruitment request made through the replica at `base` in `scope`: its id and request.
fn recruitment_request(base: &str, verifier: &str, scope: &str) -> Value {
    let body = json!({"query": serde_json::from_str::<Value>(RECRUITMENT).expect("query"),
        "scope": scope, "max_checkpoint_age_seconds": 3600});
    let (status, made) =
        call(base, "POST", "/v1/requests", verifier, Some(&body)).expect("the replica answers");
    assert_eq!(status, 201, "{made}");
    made
}

#[test]
fn three_replicas_behave_as_one_service_while_killed_and_restarted() {
    let Some(pg) = scratch::for_test("replicas on PostgreSQL") else {
        return;
    };
    // One test in this file, so setting the environment for the children races nothing.
    std::env::set_var("DOSSIER_DATABASE", pg.url());
    let dir = tempfile::tempdir().expect("tmp");
    let home = dir.path().join("home");
    let params = dir.path().join("params");
    ledger_with_issuer(&home);
    ok(
        &home,
        &["--params", s(&params), "setup", "--insecure-dev-setup"],
    );
    ok(&home, &["issuer", "init", UNIVERSITY]);
    let wallet = dir.path().join("w.json");
    let h = ok_json(&home, &["holder", "init", "--wallet", s(&wallet)]);
    let degree = json!({"schema": "qualification", "holder": h["holder"], "holder_halo2": h["holder_halo2"],
        "fields": {"degree_level": "master", "field": "law", "institution": "National Law School", "award_year": 2015}});
    issue_to_wallet(&home, UNIVERSITY, &degree, &wallet);
    ok(&home, &["checkpoint"]);
    let tokens = dir.path().join("tokens.json");
    let hr = token(&home, &tokens, "hr", &["issuer", "--issuer", HR]);
    let verifier = token(&home, &tokens, "recruiter", &["verifier"]);
    let university = token(
        &home,
        &tokens,
        "university",
        &["issuer", "--issuer", UNIVERSITY],
    );
    let secret = dossier_core::holder::HolderSecret::random(&mut rand::rngs::OsRng);
    let commitment = dossier_core::field::to_hex(&secret.commitment());
    let alice = token(
        &home,
        &tokens,
        "alice",
        &["holder", "--holder", &commitment],
    );

    // Replicas start one after another (the first makes the home's OpenID4VP key).
    let start = || Server::start(&home, &params, &tokens, &["--rules-every", "0"]);
    let replicas: Arc<Mutex<Vec<Server>>> = Arc::new(Mutex::new((0..3).map(|_| start()).collect()));
    let bases: Arc<RwLock<Vec<String>>> = Arc::new(RwLock::new(
        replicas
            .lock()
            .expect("lock")
            .iter()
            .map(|r| r.base.clone())
            .collect(),
    ));

    // A presentation for a request made through replica 0, submitted to all three at once.
    let base0 = bases.read().expect("lock")[0].clone();
    let made = recruitment_request(&base0, &verifier, "recruitment-2026");
    let id = made["id"].as_str().expect("id").to_string();
    let made_request = made["request"].clone();
    let request = dir.path().join("request.json");
    std::fs::write(&request, made["request"].to_string()).expect("write");
    let presentation_file = dir.path().join("presentation.json");
    prove_to(&home, &params, &request, &wallet, &presentation_file);
    let presentation: Value =
        serde_json::from_slice(&std::fs::read(&presentation_file).expect("read")).expect("json");
    let submissions: Vec<_> = (0..6)
        .map(|i| {
            let base = bases.read().expect("lock")[i % 3].clone();
            let (verifier, id, p) = (verifier.clone(), id.clone(), presentation.clone());
            std::thread::spawn(move || {
                call(
                    &base,
                    "POST",
                    &format!("/v1/requests/{id}/presentations"),
                    &verifier,
                    Some(&json!({"presentation": p})),
                )
                .expect("answered")
            })
        })
        .collect();
    let outcomes: Vec<(u16, Value)> = submissions
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let accepted = outcomes.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(accepted, 1, "exactly one submission accepted: {outcomes:?}");
    for (s, v) in outcomes.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(
            (*s, v["error"]["code"].as_str()),
            (409, Some("replayed")),
            "{v}"
        );
    }

    // A proving job accepted by a replica that is then killed: the holder secret died with it,
    // so the other replicas report the job failed once the replica's heartbeat is older than
    // the lease; it never stays queued.
    let base = |i: usize| bases.read().expect("lock")[i].clone();
    let degree = json!({"claims": [{"schema": "qualification", "holder": commitment,
        "fields": {"degree_level": "master", "field": "law", "institution": "National Law School", "award_year": 2016}}]});
    let (status, v) = call(
        &base(0),
        "POST",
        &format!("/v1/issuers/{UNIVERSITY}/credentials"),
        &university,
        Some(&degree),
    )
    .expect("replica 0 answers");
    assert_eq!(status, 201, "{v}");
    ok(&home, &["checkpoint"]);
    let made = recruitment_request(&base(1), &verifier, "recruitment-2027");
    let (status, job) = call(
        &base(2),
        "POST",
        "/v1/holder/proofs",
        &alice,
        Some(&json!({"request_id": made["id"], "secret": secret.expose_hex()})),
    )
    .expect("replica 2 answers");
    assert_eq!(status, 202, "{job}");
    {
        let mut r = replicas.lock().expect("lock");
        assert!(send_signal(r[2].child.id(), 9), "SIGKILL");
        let _ = r[2].child.wait();
        // Not restarted until the job has ended: only the live replicas can end it.
        let live = base(0);
        bases.write().expect("lock")[2] = live;
    }
    let job_id = job["id"].as_str().expect("id").to_string();
    let mut polls = 0;
    let ended = loop {
        let (status, job) = call(
            &base(polls % 3),
            "GET",
            &format!("/v1/jobs/{job_id}"),
            &alice,
            None,
        )
        .expect("a live replica");
        assert_eq!(status, 200, "{job}");
        if matches!(job["status"].as_str(), Some("done") | Some("failed")) {
            break job;
        }
        polls += 1;
        assert!(
            polls < 600,
            "the job of a killed replica never ended: {job}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(ended["status"], "failed", "{ended}");
    assert!(
        ended["error"]
            .as_str()
            .expect("error")
            .contains("submit the proof again"),
        "{ended}"
    );
    {
        let mut r = replicas.lock().expect("lock");
        r[2] = start();
        bases.write().expect("lock")[2] = r[2].base.clone();
    }

    // Load through whichever replica answers, while replicas are killed and restarted.
    let stop = Arc::new(AtomicBool::new(false));
    let chaos = {
        let (replicas, bases, stop) =
            (Arc::clone(&replicas), Arc::clone(&bases), Arc::clone(&stop));
        let (home, params, tokens) = (home.clone(), params.clone(), tokens.clone());
        std::thread::spawn(move || {
            let mut kills = 0;
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(700));
                let victim = rand::random::<usize>() % 3;
                let mut r = replicas.lock().expect("lock");
                assert!(send_signal(r[victim].child.id(), 9), "SIGKILL");
                let _ = r[victim].child.wait();
                let fresh = Server::start(&home, &params, &tokens, &["--rules-every", "0"]);
                bases.write().expect("lock")[victim] = fresh.base.clone();
                r[victim] = fresh;
                kills += 1;
            }
            kills
        })
    };
    let clients: Vec<_> = (0..4u64)
        .map(|c| {
            let (bases, stop, hr) = (Arc::clone(&bases), Arc::clone(&stop), hr.clone());
            std::thread::spawn(move || {
                let mut issued: Vec<(u64, String)> = Vec::new();
                let mut revoked: BTreeSet<u64> = BTreeSet::new();
                let mut unanswered: BTreeSet<u64> = BTreeSet::new();
                let mut notes: Vec<Value> = Vec::new();
                let mut jobs: Vec<String> = Vec::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let base = bases.read().expect("lock")[rand::random::<usize>() % 3].clone();
                    match n % 6 {
                        // Revoke one of this client's acknowledged credentials.
                        3 if issued.len() > revoked.len() + 2 => {
                            let (victim, _) = issued[issued.len() - 2].clone();
                            if revoked.contains(&victim) {
                                continue;
                            }
                            match call(&base, "DELETE", &format!("/v1/issuers/{HR}/credentials/{victim}"), &hr, None) {
                                // 404: an earlier call whose answer was lost revoked it.
                                Some((200, _)) | Some((404, _)) => {
                                    revoked.insert(victim);
                                }
                                // The answer was lost: revoked, or not at all.
                                None => {
                                    unanswered.insert(victim);
                                }
                                Some((s, v)) => panic!("revoke: {s} {v}"),
                            }
                        }
                        5 => {
                            if let Some((202, job)) = call(&base, "POST", "/v1/checkpoints", &hr, Some(&json!({}))) {
                                jobs.push(job["id"].as_str().expect("job id").to_string());
                            }
                            if let Some((200, v)) = call(&base, "GET", "/v1/checkpoints/latest", &hr, None) {
                                notes.push(v);
                            }
                        }
                        _ => {
                            let claims = json!({"claims": [employment(1000 * c + n), employment(1000 * c + n + 500)]});
                            match call(&base, "POST", &format!("/v1/issuers/{HR}/credentials"), &hr, Some(&claims)) {
                                Some((201, v)) => {
                                    for i in v["issued"].as_array().expect("issued") {
                                        issued.push((
                                            i["credential_id"].as_u64().expect("id"),
                                            i["commitment"].as_str().expect("commitment").to_string(),
                                        ));
                                    }
                                }
                                Some((503, _)) | None => {}
                                Some((s, v)) => panic!("issue: {s} {v}"),
                            }
                        }
                    }
                }
                (issued, revoked, unanswered, notes, jobs)
            })
        })
        .collect();
    // A verifier meanwhile checks the presentation statelessly (it verifies on every replica
    // that answers) and submits it again for its request (refused as replayed on every one).
    let verifying = {
        let (bases, stop, verifier) = (Arc::clone(&bases), Arc::clone(&stop), verifier.clone());
        let (request, presentation, id) = (made_request.clone(), presentation.clone(), id.clone());
        std::thread::spawn(move || {
            let (mut verified, mut refused) = (0, 0);
            while !stop.load(Ordering::Relaxed) {
                let base = bases.read().expect("lock")[rand::random::<usize>() % 3].clone();
                let body = json!({"request": request, "presentation": presentation});
                match call(&base, "POST", "/v1/verify", &verifier, Some(&body)) {
                    Some((200, _)) => verified += 1,
                    None => {}
                    Some((s, v)) => panic!("stateless verification: {s} {v}"),
                }
                let again = json!({"presentation": presentation});
                match call(
                    &base,
                    "POST",
                    &format!("/v1/requests/{id}/presentations"),
                    &verifier,
                    Some(&again),
                ) {
                    Some((409, v)) if v["error"]["code"] == "replayed" => refused += 1,
                    None => {}
                    Some((s, v)) => panic!("a replayed presentation was answered {s}: {v}"),
                }
            }
            (verified, refused)
        })
    };
    std::thread::sleep(Duration::from_secs(8));
    stop.store(true, Ordering::Relaxed);
    let kills = chaos.join().expect("chaos");
    let (verified, refused) = verifying.join().expect("verifier");
    assert!(
        verified > 0 && refused > 0,
        "verified {verified}, refused {refused}"
    );
    let mut issued = Vec::new();
    let mut revoked = BTreeSet::new();
    let mut unanswered = BTreeSet::new();
    let mut notes = Vec::new();
    let mut jobs = Vec::new();
    for c in clients {
        let (i, r, u, n, j) = c.join().expect("client");
        jobs.extend(j);
        issued.extend(i);
        revoked.extend(r);
        unanswered.extend(u);
        notes.extend(n);
    }
    // Every accepted checkpoint job ends, done or reported failed (its replica killed), on
    // whichever replica is asked: none is lost in a dead replica's memory.
    let bases_now = bases.read().expect("lock").clone();
    for id in &jobs {
        let mut waited = 0;
        loop {
            let base = &bases_now[waited % 3];
            let (status, job) =
                call(base, "GET", &format!("/v1/jobs/{id}"), &hr, None).expect("a live replica");
            assert_eq!(status, 200, "{job}");
            match job["status"].as_str() {
                Some("done") | Some("failed") => break,
                _ => {}
            }
            waited += 1;
            assert!(waited < 600, "job {id} never ended: {job}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    drop(replicas);
    assert!(!jobs.is_empty(), "checkpoint jobs were accepted");
    assert!(kills >= 3, "replicas were killed ({kills})");
    assert!(issued.len() >= 20, "the load ran ({} issued)", issued.len());

    // Every acknowledged write, exactly once.
    let store = dossier_store::Store::open_postgres(&pg.url()).expect("open");
    let mut ids = BTreeSet::new();
    for (id, commitment) in &issued {
        assert!(ids.insert(*id), "credential id {id} acknowledged twice");
        let leaf =
            dossier_core::field::to_hex(&store.witness(HR, *id as u32).expect("witness").leaf);
        let zero = dossier_core::field::to_hex(&dossier_core::Fr::from(0u64));
        if revoked.contains(id) {
            assert_eq!(leaf, zero, "{id} revoked");
        } else if unanswered.contains(id) {
            // A revocation whose answer was lost (its replica killed): either outcome is right.
            assert!(leaf == zero || &leaf == commitment, "{id}: {leaf}");
        } else {
            assert_eq!(
                &leaf, commitment,
                "acknowledged credential {id} is in the registry"
            );
        }
    }
    let mut by_size: BTreeMap<u64, String> = BTreeMap::new();
    for v in &notes {
        let size = v["size"].as_u64().expect("size");
        let note = v["note"].as_str().expect("note").to_string();
        if let Some(other) = by_size.insert(size, note.clone()) {
            assert_eq!(other, note, "two checkpoints of size {size} differ");
        }
        assert_eq!(
            store.checkpoint_at(size).expect("read").as_deref(),
            Some(note.as_str())
        );
    }
    drop(store);
    ok(&home, &["checkpoint"]);
    let audit = ok_json(&home, &["audit"]);
    assert_eq!(audit["ok"], true, "{audit}");
}
