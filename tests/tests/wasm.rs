//! The verifier compiled to WebAssembly (`service/web/dossier.wasm`, what the browser pages run),
//! run in node with the pages' own loader: on real presentations of both backends and on each
//! way one can be wrong, the module's answer is the native library's answer, word for word —
//! valid ones with the same verdict, refused ones with the same error. The module the service
//! serves is the committed one, and `/v1/keys` gives keys that hash to their pins. The module's
//! wallet proves too: from a CLI wallet, with paths and a checkpoint read from the store, it
//! makes Groth16 and halo2 presentations the native verifier accepts, and refuses a wrong pin, a
//! stranger's checkpoint and a query the wallet cannot answer.

use dossier_tests::{ok_json, prove_one, prove_to, request_on, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// node, or why the test cannot run (which fails under CI).
fn node() -> Option<()> {
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Some(()),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install node (the WebAssembly module's checks)"
            );
            eprintln!("SKIPPED the WebAssembly module's checks: node is not installed");
            None
        }
    }
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

/// Runs `cases` through the committed module in node: one answer per case, by name.
fn in_node(dir: &Path, cases: &[(String, Value)]) -> Vec<(String, Value)> {
    let list: Vec<Value> = cases
        .iter()
        .map(|(name, input)| json!({"name": name, "op": "verify", "input": input}))
        .collect();
    run_in_node(dir, list)
}

/// Runs `[{name, op, input, binary?}]` through the committed module in node.
fn run_in_node(dir: &Path, list: Vec<Value>) -> Vec<(String, Value)> {
    let file = dir.join("cases.json");
    std::fs::write(&file, Value::from(list).to_string()).expect("write");
    let out = Command::new("node")
        .arg(repo().join("fixtures/browser/wasm.mjs"))
        .arg(repo().join("service/web/dossier.wasm"))
        .arg(&file)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "node: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("answers");
    answers
        .into_iter()
        .map(|a| {
            assert!(a.get("trap").is_none(), "the module trapped: {a}");
            eprintln!(
                "{}: {:.0} ms in node",
                a["name"],
                a["ms"].as_f64().unwrap_or(0.0)
            );
            (
                a["name"].as_str().expect("name").to_string(),
                a["answer"].clone(),
            )
        })
        .collect()
}

/// The recruitment query both tests answer: a master's degree, the award year revealed.
const QUERY: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}}, "reveal": ["award_year"]}]}"#;

/// A home whose holder holds a master's degree in law (2015) and has answered [`QUERY`] in
/// `scope` with the CLI.
fn recruitment(dir: &Path, scope: &str) -> dossier_tests::Proven {
    prove_one(
        dir,
        "univ.law-school",
        json!({"schema": "qualification", "fields": {"degree_level": "master",
            "field": "law", "institution": "Law School", "award_year": 2015}}),
        QUERY,
        scope,
    )
}

/// `pres` with its public input `i` replaced.
fn with_input(pres: &Value, i: usize, value: &str) -> Value {
    let mut p = pres.clone();
    p["public_inputs"][i] = json!(value);
    p
}

#[test]
fn the_webassembly_verifier_answers_as_the_native_one() {
    if node().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let g = recruitment(dir.path(), "recruitment:2026:wasm");
    let (h2_req, h2_pres) = (dir.path().join("h2-r.json"), dir.path().join("h2-p.json"));
    request_on(
        &g.home,
        QUERY,
        "recruitment:2026:wasm-halo2",
        &h2_req,
        "halo2",
    );
    prove_to(&g.home, &g.params, &h2_req, &g.wallet, &h2_pres);
    let ledger_key = ok_json(&g.home, &["ledger", "info"])["log_key"]
        .as_str()
        .expect("log key")
        .to_string();

    // The keys as the service gives them to its pages; each hashes to its pin.
    let server = Server::start(&g.home, &g.params, &dir.path().join("no-tokens.json"), &[]);
    let (status, keys) = server.call("GET", "/v1/keys", None, None);
    assert_eq!(status, 200);
    let manifest = read_json(&g.params.join("manifest.json"));
    for k in keys["shapes"].as_array().expect("shapes") {
        use base64::Engine;
        use sha2::Digest;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(k["vk"].as_str().expect("vk"))
            .expect("base64");
        let pin = k["vk_sha256"].as_str().expect("pin");
        assert_eq!(hex::encode(sha2::Sha256::digest(&bytes)), pin);
        assert_eq!(
            manifest["shapes"][k["shape"].as_str().expect("shape")]["vk_sha256"],
            pin
        );
    }
    let (status, _, _) = server.call_raw("GET", "/web/worker.mjs", None, None);
    assert_eq!(status, 200);
    drop(server);

    let (req, pres) = (read_json(&g.request), read_json(&g.presentation));
    let (h2_req, h2_pres) = (read_json(&h2_req), read_json(&h2_pres));
    let now = dossier_core::clock::now();
    let input = |req: &Value, pres: &Value| {
        json!({"request": req, "presentation": pres, "ledger_key": ledger_key,
            "keys": keys, "now": now})
    };
    let n = pres["public_inputs"].as_array().expect("inputs").len();
    let n2 = h2_pres["public_inputs"].as_array().expect("inputs").len();
    let year = |y: u64| format!("0x{y:064x}");
    let stranger =
        dossier_core::keys::KeyPair::generate("stranger.example", &mut rand::rngs::OsRng)
            .expect("key")
            .verifier_key();
    let mut other_challenge = req.clone();
    other_challenge["challenge"] = json!(format!("0x{:064x}", 7));
    let mut swapped_keys = keys.clone();
    let shapes = swapped_keys["shapes"].as_array_mut().expect("shapes");
    assert!(shapes.len() >= 2, "the setup makes several shapes");
    let first_vk = shapes[0]["vk"].clone();
    shapes[0]["vk"] = shapes[1]["vk"].clone();
    shapes[1]["vk"] = first_vk;
    let mut garbled = pres.clone();
    garbled["proof"] = json!("AAAA");
    let p_minus_one = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000";
    let p = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
    let policy = {
        use dossier_core::cosignature::{Cosigner, WitnessPolicy};
        let w = Cosigner::new(
            dossier_core::keys::KeyPair::generate("w.audit.example", &mut rand::rngs::OsRng)
                .expect("key"),
        );
        WitnessPolicy::new(1, vec![w.witness_key()])
            .expect("policy")
            .to_text()
    };

    // (name, input, valid?)
    let cases: Vec<(&str, Value, bool)> = vec![
        ("groth16", input(&req, &pres), true),
        ("halo2", input(&h2_req, &h2_pres), true),
        (
            "halo2 without Groth16 keys",
            {
                let mut i = input(&h2_req, &h2_pres);
                i.as_object_mut().expect("o").remove("keys");
                i
            },
            true,
        ),
        (
            "groth16: revealed year changed",
            input(&req, &with_input(&pres, n - 2, &year(2016))),
            false,
        ),
        (
            "halo2: revealed year changed",
            input(&h2_req, &with_input(&h2_pres, n2 - 2, &year(2016))),
            false,
        ),
        (
            "groth16: a year of p - 1",
            input(&req, &with_input(&pres, n - 2, p_minus_one)),
            false,
        ),
        (
            "groth16: a year of p (not canonical)",
            input(&req, &with_input(&pres, n - 2, p)),
            false,
        ),
        (
            "groth16: another request's challenge",
            input(&other_challenge, &pres),
            false,
        ),
        (
            "groth16 answering the halo2 request",
            input(&h2_req, &pres),
            false,
        ),
        (
            "groth16: a stranger's ledger key",
            {
                let mut i = input(&req, &pres);
                i["ledger_key"] = json!(stranger);
                i
            },
            false,
        ),
        (
            "groth16: a witness policy the checkpoint does not meet",
            {
                let mut i = input(&req, &pres);
                i["witness_policy"] = json!(policy);
                i
            },
            false,
        ),
        (
            "groth16: verified a year later",
            {
                let mut i = input(&req, &pres);
                i["now"] = json!(now + 366 * 86_400);
                i
            },
            false,
        ),
        (
            "groth16: keys swapped between shapes",
            {
                let mut i = input(&req, &pres);
                i["keys"] = swapped_keys.clone();
                i
            },
            false,
        ),
        (
            "groth16: no keys",
            {
                let mut i = input(&req, &pres);
                i.as_object_mut().expect("o").remove("keys");
                i
            },
            false,
        ),
        (
            "groth16: a proof that is no proof",
            input(&req, &garbled),
            false,
        ),
        (
            "an input of the wrong form",
            json!({"presentation": pres}),
            false,
        ),
    ];
    let named: Vec<(String, Value)> = cases
        .iter()
        .map(|(name, input, _)| (name.to_string(), input.clone()))
        .collect();
    let answers = in_node(dir.path(), &named);
    assert_eq!(answers.len(), cases.len());
    for ((name, input, valid), (answered, wasm)) in cases.iter().zip(&answers) {
        assert_eq!(name, answered);
        let native = dossier_wasm::verify(input.to_string().as_bytes());
        assert_eq!(
            wasm, &native,
            "{name}: the module and the native library differ"
        );
        assert_eq!(wasm["valid"], *valid, "{name}: {wasm}");
    }
    // The verdicts say what the native verifier says of the same presentations.
    assert_eq!(answers[0].1["backend"], "groth16");
    assert_eq!(answers[1].1["backend"], "halo2");
    assert_eq!(answers[0].1["verdict"]["revealed"][0]["value"], 2015);
    assert_eq!(answers[15].1["unusable"], true);
}

#[test]
fn the_webassembly_wallet_proves_what_the_native_verifier_accepts() {
    if node().is_none() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let g = recruitment(dir.path(), "recruitment:2026:wasm-prove");
    let h2_req = dir.path().join("h2-r.json");
    request_on(
        &g.home,
        QUERY,
        "recruitment:2026:wasm-prove-h2",
        &h2_req,
        "halo2",
    );
    let unanswerable = dir.path().join("u-r.json");
    request_on(
        &g.home,
        r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "doctorate"}}}]}"#,
        "recruitment:2026:wasm-prove-u",
        &unanswerable,
        "groth16",
    );
    let ledger_key = ok_json(&g.home, &["ledger", "info"])["log_key"]
        .as_str()
        .expect("log key")
        .to_string();
    let wallet = std::fs::read_to_string(&g.wallet).expect("wallet");
    let (checkpoint, paths) = {
        let store = dossier_tests::engine::open_reader(&g.home, std::time::Duration::from_secs(5));
        let w: Value = serde_json::from_str(&wallet).expect("wallet json");
        let paths: Vec<Value> = w["credentials"]
            .as_array()
            .expect("credentials")
            .iter()
            .map(|c| {
                let issuer = c["issuer"].as_str().expect("issuer");
                let id = c["credential_id"].as_u64().expect("id") as u32;
                let path = store.witness(issuer, id).expect("path");
                json!({"issuer": issuer, "credential_id": id, "path": path})
            })
            .collect();
        (
            store
                .latest_checkpoint()
                .expect("cp")
                .expect("a checkpoint"),
            paths,
        )
    };
    let manifest = read_json(&g.params.join("manifest.json"));
    let req = read_json(&g.request);
    let shape = "m1p4k4r2";
    let entry = &manifest["shapes"][shape];
    let pk_file = g.params.join(entry["pk_file"].as_str().expect("pk file"));
    let pins = json!({"pk_sha256": entry["pk_sha256"], "vk_sha256": entry["vk_sha256"]});
    let seed = hex::encode([7u8; 32]);
    let input = |req: &Value| {
        json!({"request": req, "wallet": wallet, "ledger_key": ledger_key,
            "checkpoint": checkpoint, "paths": paths, "keys": pins, "seed": seed})
    };
    let stranger =
        dossier_core::keys::KeyPair::generate("stranger.example", &mut rand::rngs::OsRng)
            .expect("key")
            .verifier_key();
    let mut wrong_pin = input(&req);
    wrong_pin["keys"]["pk_sha256"] = json!("00".repeat(32));
    let mut foreign = input(&req);
    foreign["ledger_key"] = json!(stranger);
    let pk = pk_file.to_str().expect("utf-8");
    let h2 = read_json(&h2_req);
    let cases = vec![
        json!({"name": "shape", "op": "shape", "input": {"request": req}}),
        json!({"name": "groth16", "op": "prove", "input": input(&req), "binary": pk}),
        json!({"name": "halo2 prepared", "op": "prepare", "input": {"request": h2}}),
        json!({"name": "halo2", "op": "prove", "input": input(&h2)}),
        json!({"name": "groth16 prepared", "op": "prepare",
            "input": {"request": req, "keys": pins}, "binary": pk}),
        json!({"name": "groth16, its prover warm", "op": "prove", "input": input(&req)}),
        json!({"name": "a proving key off its pin", "op": "prove", "input": wrong_pin, "binary": pk}),
        json!({"name": "no key after a key off its pin", "op": "prove", "input": input(&req)}),
        json!({"name": "a checkpoint the wallet does not trust", "op": "prove", "input": foreign, "binary": pk}),
        json!({"name": "a query the wallet cannot answer", "op": "prove",
            "input": input(&read_json(&unanswerable)), "binary": pk}),
        json!({"name": "no seed", "op": "prove", "input": {"request": req}}),
        json!({"name": "prepared with no pins", "op": "prepare", "input": {"request": req}, "binary": pk}),
    ];
    let answers = run_in_node(dir.path(), cases);
    assert_eq!(answers[0].1["shape"], shape);
    assert_eq!(answers[2].1["backend"], "halo2", "{}", answers[2].1);
    assert_eq!(answers[4].1["shape"], shape, "{}", answers[4].1);
    let keys = dossier_verifier::VerifierKeys::load(&g.params).expect("keys");
    let trust = dossier_core::checkpoint::Trust::key_only(&ledger_key);
    let schemas = dossier_core::schema::SchemaSet::builtin();
    let now = dossier_core::clock::now();
    for (i, request) in [(1, &req), (3, &h2), (5, &req)] {
        let (name, answer) = &answers[i];
        let presentation: dossier_core::presentation::Presentation =
            serde_json::from_value(answer["presentation"].clone())
                .unwrap_or_else(|e| panic!("{name}: {e}: {answer}"));
        let request: dossier_core::presentation::PresentationRequest =
            serde_json::from_value((*request).clone()).expect("request");
        let checked =
            dossier_verifier::verify(&request, &presentation, &keys, &trust, &schemas, now)
                .unwrap_or_else(|e| panic!("{name}: the native verifier refuses it: {e}"));
        assert_eq!(checked.verdict.revealed[0].value, 2015, "{name}");
    }
    for (name, answer) in &answers[6..] {
        assert_eq!(answer["unusable"], true, "{name}: {answer}");
    }
    assert!(answers[6].1["error"].as_str().expect("e").contains("pin"));
    // A key refused by its pin leaves no prover behind: the warm one is gone with it.
    assert!(answers[7].1["error"]
        .as_str()
        .expect("e")
        .contains("none is ready"));
    assert!(answers[9].1["error"]
        .as_str()
        .expect("e")
        .contains("conditions"));
    // No answer carries the wallet's secret.
    let secret = read_json(&g.wallet)["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    for (name, answer) in &answers {
        assert!(
            !answer.to_string().contains(&secret[2..]),
            "{name} leaks the secret"
        );
    }
}
