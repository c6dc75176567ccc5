//! Verify anywhere, part three: the browser. The real service serves `/verify` and `/ledger`;
//! Debian's headless Chromium, driven by playwright-core (npm, pinned in `fixtures/browser/`),
//! opens them. With no snarkjs on the service, a valid presentation shows "verified" by dossier's
//! own verifier compiled to WebAssembly (in a Web Worker), every in-browser check passing
//! (WebCrypto for the checkpoint's signature and cosignatures), in English and in Chinese; a
//! tampered one is rejected in the browser; a halo2 presentation is verified there too, and a
//! tampered one refused; the ledger page finds every checkpoint signed and consistent with the
//! one before. With snarkjs served, the page adds its second opinion, which agrees on both.
//! Screenshots are kept in `target/screenshots/` as test artefacts.

use dossier_tests::{ok, prove_one, prove_to, request_on, Proven, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// playwright-core, Chromium and snarkjs's browser build, or why not.
fn tools() -> Result<(PathBuf, PathBuf, PathBuf), String> {
    let driver = repo().join("fixtures/browser");
    let snarkjs = repo().join("fixtures/snarkjs/node_modules/snarkjs/build/snarkjs.min.js");
    let chromium =
        PathBuf::from(std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()));
    if !driver.join("node_modules/playwright-core").exists() {
        return Err("run `npm ci` in fixtures/browser".into());
    }
    if !snarkjs.exists() {
        return Err("run `npm ci` in fixtures/snarkjs".into());
    }
    if !chromium.exists() {
        return Err(format!(
            "{} is missing: apt-get install chromium",
            chromium.display()
        ));
    }
    Ok((driver, snarkjs, chromium))
}

/// The witness checks' files: the presentation with its checkpoint cosigned by two witnesses, a
/// copy whose second cosignature is forged, and two policies (both witnesses: met; those two
/// and a third that never cosigned, all three needed: unmet). Returns the JSON file naming them.
fn witnessed(dir: &Path, presentation: &Path) -> PathBuf {
    use dossier_core::cosignature::{Cosigner, WitnessPolicy};
    use dossier_core::keys::KeyPair;
    let mut rng = rand::rngs::OsRng;
    let witnesses: Vec<Cosigner> = ["w1.audit.example", "w2.court.example", "w3.far.example"]
        .iter()
        .map(|n| Cosigner::new(KeyPair::generate(n, &mut rng).expect("key")))
        .collect();
    let mut pres: Value =
        serde_json::from_str(&std::fs::read_to_string(presentation).expect("read")).expect("json");
    let note = pres["checkpoint"].as_str().expect("note").to_string();
    let text = &note[..note.find("\n\n").expect("signed note") + 1];
    let time = dossier_core::clock::now();
    let lines: Vec<String> = witnesses[..2]
        .iter()
        .map(|w| w.cosign(text.as_bytes(), time).expect("cosign"))
        .collect();
    pres["checkpoint"] = json!(format!("{note}{}{}", lines[0], lines[1]));
    let cosigned = dir.join("cosigned.json");
    std::fs::write(&cosigned, pres.to_string()).expect("write");
    // The second witness's line, its timestamp changed: the signature no longer covers it.
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let (head, sig) = lines[1]
        .trim_end()
        .rsplit_once(' ')
        .expect("line has a signature");
    let mut raw = engine.decode(sig).expect("base64");
    raw[11] ^= 1;
    let forged_line = format!("{head} {}\n", engine.encode(raw));
    pres["checkpoint"] = json!(format!("{note}{}{forged_line}", lines[0]));
    let forged = dir.join("forged.json");
    std::fs::write(&forged, pres.to_string()).expect("write");
    let keys: Vec<_> = witnesses.iter().map(Cosigner::witness_key).collect();
    let met = WitnessPolicy::new(2, keys[..2].to_vec())
        .expect("policy")
        .to_text();
    let unmet = WitnessPolicy::new(3, keys).expect("policy").to_text();
    let file = dir.join("witnesses.json");
    std::fs::write(
        &file,
        json!({"cosigned": cosigned, "forged": forged, "met": met, "unmet": unmet}).to_string(),
    )
    .expect("write");
    file
}

/// Writes to `to` the presentation at `from` with its revealed award year (the first of the
/// query's two reveal slots) claimed as 2016.
fn award_year_changed(from: &Path, to: &Path) {
    let mut bad: Value =
        serde_json::from_str(&std::fs::read_to_string(from).expect("read")).expect("json");
    let n = bad["public_inputs"].as_array().expect("inputs").len();
    bad["public_inputs"][n - 2] = json!(format!("0x{:064x}", 2016));
    std::fs::write(to, bad.to_string()).expect("w");
}

#[test]
fn the_verify_and_ledger_pages_check_in_the_browser() {
    let (driver, snarkjs, chromium) = match tools() {
        Ok(t) => t,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install the browser tools: {why}"
            );
            eprintln!("browser test skipped: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tmp");
    let Proven {
        home,
        params,
        wallet,
        request: req,
        presentation: pres,
    } = prove_one(
        dir.path(),
        "univ.law-school",
        json!({"schema": "qualification", "fields": {"degree_level": "master",
            "field": "law", "institution": "Law School", "award_year": 2015}}),
        r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#,
        "recruitment:2026:tax-bureau",
    );
    // A second checkpoint, for the ledger page's consistency check.
    ok(&home, &["checkpoint"]);
    // The tampered copy: the revealed award year changed.
    let tampered = dir.path().join("tampered.json");
    award_year_changed(&pres, &tampered);
    let witness_files = witnessed(dir.path(), &pres);
    // The same holder answers a halo2 request; and a tampered copy (revealed year changed).
    let (h2_req, h2_pres, h2_bad) = (
        dir.path().join("h2-r.json"),
        dir.path().join("h2-p.json"),
        dir.path().join("h2-bad.json"),
    );
    request_on(
        &home,
        r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}}, "reveal": ["award_year"]}]}"#,
        "recruitment:2026:halo2",
        &h2_req,
        "halo2",
    );
    prove_to(&home, &params, &h2_req, &wallet, &h2_pres);
    award_year_changed(&h2_pres, &h2_bad);

    let server = Server::start(&home, &params, &dir.path().join("no-tokens.json"), &[]);
    // The pages and their script are served with a restrictive CSP.
    let (s, html, _) = server.call_raw("GET", "/verify", None, None);
    assert_eq!(s, 200);
    assert!(html.contains("witness-policy"));
    let (s, ledger, _) = server.call_raw("GET", "/v1/ledger", None, None);
    assert_eq!(s, 200);
    let ledger: Value = serde_json::from_str(&ledger).expect("json");
    assert_eq!(
        ledger["witness_policy"], "",
        "this service asks for no witnesses"
    );
    assert!(html.contains("/web/dossier.js"));
    // The conversion the page re-checks refuses a key it does not pin and a malformed proof.
    let good: Value =
        serde_json::from_str(&std::fs::read_to_string(&pres).expect("read")).expect("json");
    let convert = |p: &Value| {
        server
            .call_raw(
                "POST",
                "/v1/snarkjs",
                None,
                Some(json!({"presentation": p}).to_string()),
            )
            .0
    };
    assert_eq!(convert(&good), 200);
    let mut other_key = good.clone();
    other_key["vk_sha256"] = json!("00".repeat(32));
    assert_eq!(convert(&other_key), 404, "a key that is not pinned");
    let mut garbled = good.clone();
    garbled["proof"] = json!("AAAA");
    assert_eq!(convert(&garbled), 422, "a proof that is no proof");
    let shots = repo().join("target/screenshots");
    let out = Command::new("node")
        .arg(driver.join("check.js"))
        .arg(&server.base)
        .args([&pres, &tampered, &req])
        .arg(&shots)
        .args([&h2_pres, &h2_bad, &h2_req])
        .env("CHROMIUM", &chromium)
        .env("WITNESSES", &witness_files)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the pages did not show what they must:\n{report}\n{}\nservice log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
    let report: Value = serde_json::from_str(&report).expect("report");
    assert_eq!(report["pages"]["valid_en"]["verdict"], "verified");
    assert_eq!(report["pages"]["tampered"]["verdict"], "rejected");
    assert_eq!(report["pages"]["halo2"]["verdict"], "verified");
    assert_eq!(report["pages"]["halo2_tampered"]["verdict"], "rejected");
    // The page applies a witness policy as every other verifier does.
    assert_eq!(report["pages"]["witnessed"]["verdict"], "verified");
    for refused in ["unwitnessed", "forged_cosignature", "policy_unmet"] {
        assert_eq!(report["pages"][refused]["verdict"], "rejected", "{refused}");
    }
    for shot in [
        "verify-valid-en.png",
        "verify-halo2-en.png",
        "verify-valid-zh.png",
        "verify-tampered-en.png",
        "ledger-zh.png",
    ] {
        assert!(Path::new(&shots.join(shot)).exists(), "{shot}");
    }
    drop(server);

    // snarkjs served: its second opinion agrees with the page's verifier on both presentations.
    let server = Server::start(
        &home,
        &params,
        &dir.path().join("no-tokens.json"),
        &["--snarkjs", snarkjs.to_str().expect("s")],
    );
    let out = Command::new("node")
        .arg(driver.join("check.js"))
        .arg(&server.base)
        .args([&pres, &tampered, &req])
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .env("SNARKJS", "1")
        .env("QUICK", "1")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "with snarkjs, the page did not show what it must:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
