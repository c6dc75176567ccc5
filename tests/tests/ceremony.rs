//! The setup ceremony from the command line: three departments contribute to a shape's key, a
//! beacon closes it, anyone re-verifies it, and the keys it installs prove and verify; the
//! development setup is refused without its loud flag; a transcript from another phase 1 is
//! refused with the step that failed. And phase 1 files made by snarkjs (npm, pinned in
//! `fixtures/snarkjs/`) are read and verified, their Lagrange sections equal to ours.

use dossier_ceremony::phase1::{lagrange_from_ptau, Powers};
use dossier_tests::{ok, ok_json, prove_one, run, Proven};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

const SHAPE: &str = "m1p4k4r2";
const DEPARTMENTS: [&str; 3] = [
    "tax bureau",
    "civil service commission",
    "national audit office",
];

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn init(home: &Path, dir: &Path) {
    ok(
        home,
        &[
            "ceremony",
            "init",
            "--dir",
            s(dir),
            "--single-party-phase1",
            "coordinator",
            "--shape",
            SHAPE,
        ],
    );
}

#[test]
fn the_dev_setup_needs_its_loud_flag() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run(dir.path(), &["--params", s(&dir.path().join("p")), "setup"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--insecure-dev-setup") && err.contains("ceremony"),
        "{err}"
    );
    assert!(!dir.path().join("p/manifest.json").exists());
}

#[test]
fn three_departments_make_keys_that_prove_verify_and_re_verify() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (home, cer, params) = (
        tmp.path().join("home"),
        tmp.path().join("ceremony"),
        tmp.path().join("params"),
    );
    init(&home, &cer);
    let mut published = Vec::new();
    for d in DEPARTMENTS {
        let v = ok_json(
            &home,
            &["ceremony", "contribute", "--dir", s(&cer), "--name", d],
        );
        published.push(v["shapes"][0]["hash"].as_str().expect("hash").to_string());
    }
    ok(
        &home,
        &[
            "ceremony",
            "beacon",
            "--dir",
            s(&cer),
            "--value",
            "00aa11bb",
            "--iterations-log",
            "4",
        ],
    );
    // Once the beacon closed it, nobody adds to it.
    let late = run(
        &home,
        &["ceremony", "contribute", "--dir", s(&cer), "--name", "late"],
    );
    assert_eq!(
        late.status.code(),
        Some(1),
        "a contribution after the beacon"
    );

    let v = ok_json(&home, &["ceremony", "verify", "--dir", s(&cer)]);
    assert_eq!(v["valid"], true);
    let listed = &v["shapes"][0]["contributions"];
    for (i, d) in DEPARTMENTS.iter().enumerate() {
        assert_eq!(listed[i]["name"], *d);
        assert_eq!(
            listed[i]["hash"],
            published[i].as_str(),
            "each department finds its hash"
        );
    }
    assert_eq!(listed[3]["beacon"], true);

    ok(
        &home,
        &[
            "--params",
            s(&params),
            "ceremony",
            "finalize",
            "--dir",
            s(&cer),
        ],
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(params.join("manifest.json")).expect("m"))
            .expect("json");
    assert_eq!(manifest["insecure"], false);
    assert_eq!(
        manifest["ceremony"]["shapes"][SHAPE]["contributions"][0]["hash"],
        published[0].as_str()
    );
    // The params folder re-verifies on its own (phase 1 and transcripts are kept in it).
    let again = ok_json(&home, &["--params", s(&params), "ceremony", "verify"]);
    assert_eq!(again["valid"], true);

    // Its keys prove and verify; the verdict names the ceremony, not the dev setup.
    let Proven {
        home: h2,
        params: p2,
        request,
        presentation,
        ..
    } = prove_one(
        tmp.path(),
        "hr.tax-bureau",
        json!({"schema": "retirement", "fields": {"years_of_service": 31, "retired_on": "2026-01-31"}}),
        r#"{"credentials": [{"schema": "retirement", "issuers": ["hr.tax-bureau"], "where": {"years_of_service": {"$gte": 30}}}]}"#,
        "pension:2026",
    );
    assert_eq!(p2, params);
    let verdict = ok_json(
        &h2,
        &[
            "--params",
            s(&params),
            "verify",
            "--request",
            s(&request),
            s(&presentation),
        ],
    );
    assert_eq!(verdict["valid"], true);
    let verdict = &verdict["verdict"];
    assert_eq!(verdict["insecure_setup"], false);
    assert!(
        verdict["setup"]
            .as_str()
            .expect("setup")
            .contains("ceremony: tax bureau, civil service commission, national audit office"),
        "{verdict}"
    );

    // The ceremony goes on the ledger; once a checkpoint anchors it, verifiers check it there.
    ok(
        &home,
        &["--params", s(&params), "ledger", "record-ceremony"],
    );
    let early = run(
        &home,
        &["--params", s(&params), "ceremony", "verify", "--on-ledger"],
    );
    assert_eq!(early.status.code(), Some(2), "not yet in a checkpoint");
    ok(&home, &["checkpoint"]);
    let v = ok_json(
        &home,
        &["--params", s(&params), "ceremony", "verify", "--on-ledger"],
    );
    assert_eq!(v["on_ledger"][0]["shape"], SHAPE);
    // The regulator's audit replays the ledger, ceremony record included.
    let export = tmp.path().join("ledger.json");
    ok(&home, &["ledger", "export", "--out", s(&export)]);
    ok(&home, &["audit", "--ledger", s(&export)]);

    // A transcript byte changed in the params folder: its pin no longer holds.
    let t = params.join(format!("{SHAPE}.ceremony"));
    let mut bytes = std::fs::read(&t).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&t, bytes).expect("write");
    let out = run(&home, &["--params", s(&params), "ceremony", "verify"]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn a_transcript_from_another_phase_1_is_refused_with_the_step() {
    let tmp = tempfile::tempdir().expect("tmp");
    let home = tmp.path().join("home");
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    init(&home, &a);
    init(&home, &b);
    ok(
        &home,
        &[
            "ceremony",
            "contribute",
            "--dir",
            s(&a),
            "--name",
            "tax bureau",
        ],
    );
    let file = format!("{SHAPE}.ceremony");
    std::fs::copy(b.join(&file), a.join(&file)).expect("copy");
    let out = run(&home, &["ceremony", "verify", "--dir", s(&a)]);
    assert_eq!(out.status.code(), Some(1), "a failed check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("initial key") && err.contains("another phase 1"),
        "{err}"
    );
    // A transcript without any department's contribution is not installed.
    let out = run(
        &home,
        &[
            "--params",
            s(&tmp.path().join("p")),
            "ceremony",
            "finalize",
            "--dir",
            s(&b),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no contribution"));
}

fn snarkjs() -> Option<PathBuf> {
    dossier_tests::snarkjs_dir().map(|d| d.join("node_modules/.bin/snarkjs"))
}

fn snarkjs_run(bin: &Path, args: &[&str]) {
    let out = Command::new("node")
        .arg(bin)
        .args(args)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "snarkjs {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn snarkjs_powers_of_tau_are_read_verified_and_extended() {
    let Some(bin) = snarkjs() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let f = |n: &str| tmp.path().join(n).to_str().expect("utf-8").to_string();
    snarkjs_run(&bin, &["powersoftau", "new", "bn128", "5", &f("pot0.ptau")]);
    snarkjs_run(
        &bin,
        &[
            "powersoftau",
            "contribute",
            &f("pot0.ptau"),
            &f("pot1.ptau"),
            "--name=one",
            "-e=entropy",
        ],
    );
    snarkjs_run(
        &bin,
        &[
            "powersoftau",
            "prepare",
            "phase2",
            &f("pot1.ptau"),
            &f("final.ptau"),
        ],
    );
    let home = tmp.path().join("home");

    // snarkjs's blank file (tau = 1) is refused; its contributed one verifies.
    let blank = run(&home, &["ceremony", "phase1", "verify", &f("pot0.ptau")]);
    assert_eq!(blank.status.code(), Some(1));
    let v = ok_json(&home, &["ceremony", "phase1", "verify", &f("final.ptau")]);
    assert_eq!(v["valid"], true);
    assert_eq!(v["snarkjs_contributions"], 1);

    // snarkjs's Lagrange sections are exactly our inverse FFT of its powers, for every domain.
    let bytes = std::fs::read(f("final.ptau")).expect("read");
    let powers = Powers::from_ptau(&bytes).expect("parse");
    for log in 0..=5 {
        let theirs = lagrange_from_ptau(&bytes, log)
            .expect("read")
            .expect("prepared");
        assert_eq!(
            theirs,
            powers.lagrange(log).expect("ours"),
            "domain 2^{log}"
        );
    }

    // A department extends snarkjs's phase 1; the result verifies with both histories.
    ok(
        &home,
        &[
            "ceremony",
            "phase1",
            "contribute",
            "--in",
            &f("pot1.ptau"),
            "--out",
            &f("pot2.ptau"),
            "--name",
            "audit office",
        ],
    );
    let v = ok_json(&home, &["ceremony", "phase1", "verify", &f("pot2.ptau")]);
    assert_eq!(v["snarkjs_contributions"], 1);
    assert_eq!(v["contributions"][0]["name"], "audit office");

    // A changed coordinate is refused before anything is used: in tauG1 (the section starts
    // after the file's 12 bytes, the header section's 12 + 44 and its own 12), and in the
    // Lagrange sections at the file's end.
    for at in [80 + 3 * 64 + 5, bytes.len() - 200] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        std::fs::write(f("bad.ptau"), &bad).expect("write");
        let out = run(&home, &["ceremony", "phase1", "verify", &f("bad.ptau")]);
        assert_ne!(out.status.code(), Some(0), "byte {at}");
    }
}
