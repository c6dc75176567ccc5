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
    // A fourth department contributes with snarkjs on the same file.
    let snarkjs = snarkjs();
    let zkey = cer.join(format!("{SHAPE}.zkey"));
    if let Some(bin) = &snarkjs {
        let next = tmp.path().join("next.zkey");
        snarkjs_run(
            bin,
            &[
                "zkey",
                "contribute",
                s(&zkey),
                s(&next),
                "--name=statistics office",
                "-e=the statistics office's entropy",
            ],
        );
        std::fs::rename(&next, &zkey).expect("move");
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
    let beacon_at = if snarkjs.is_some() {
        assert_eq!(listed[3]["name"], "statistics office");
        4
    } else {
        3
    };
    assert_eq!(listed[beacon_at]["beacon"], true);

    // snarkjs re-checks the whole ceremony on its own, from the circuit dossier exports.
    if let Some(bin) = &snarkjs {
        let r1cs = tmp.path().join(format!("{SHAPE}.r1cs"));
        ok(
            &home,
            &["ceremony", "r1cs", "--shape", SHAPE, "--out", s(&r1cs)],
        );
        let (valid, text) = snarkjs_output(
            bin,
            &[
                "zkey",
                "verify",
                s(&r1cs),
                s(&cer.join("phase1.ptau")),
                s(&zkey),
            ],
        );
        assert!(valid, "snarkjs zkey verify: {text}");
    }

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

    // The same statement proven by snarkjs from dossier's witness with the installed key: our
    // `.r1cs`, `.wtns` and `.zkey` agree (the paired benchmark beside snarkjs rests on this).
    if let Some(bin) = &snarkjs {
        snarkjs_proves_from_our_witness(bin, tmp.path(), &h2, &params, &request);
    }

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
    let t = params.join(format!("{SHAPE}.zkey"));
    let mut bytes = std::fs::read(&t).expect("read");
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    std::fs::write(&t, bytes).expect("write");
    let out = run(&home, &["--params", s(&params), "ceremony", "verify"]);
    assert_ne!(out.status.code(), Some(0));
}

/// `dossier prove --witness-out` writes circom's witness (owner-only); snarkjs checks it against
/// our `.r1cs`, proves with the installed `.zkey` and verifies with the key it exports from it;
/// a changed witness value is refused; a halo2 request gets no witness file.
fn snarkjs_proves_from_our_witness(
    bin: &Path,
    tmp: &Path,
    home: &Path,
    params: &Path,
    request: &Path,
) {
    use std::os::unix::fs::PermissionsExt;
    let wallet = tmp.join("w.json");
    let (wtns, again) = (tmp.join("w.wtns"), tmp.join("again.json"));
    let prove = |request: &Path, wtns: &Path| {
        run(
            home,
            &[
                "--params",
                s(params),
                "prove",
                "--request",
                s(request),
                "--wallet",
                s(&wallet),
                "--out",
                s(&again),
                "--witness-out",
                s(wtns),
            ],
        )
    };
    assert_eq!(prove(request, &wtns).status.code(), Some(0));
    let mode = std::fs::metadata(&wtns).expect("wtns").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the witness holds the secret");
    let r1cs = tmp.join(format!("{SHAPE}.r1cs"));
    let (valid, text) = snarkjs_output(bin, &["wtns", "check", s(&r1cs), s(&wtns)]);
    assert!(valid && text.contains("WITNESS IS CORRECT"), "{text}");

    let zkey = params.join(format!("{SHAPE}.zkey"));
    let (proof, public, vk) = (
        tmp.join("sj-proof.json"),
        tmp.join("sj-public.json"),
        tmp.join("sj-vk.json"),
    );
    let (ok_prove, text) = snarkjs_output(
        bin,
        &[
            "groth16",
            "prove",
            s(&zkey),
            s(&wtns),
            s(&proof),
            s(&public),
        ],
    );
    assert!(ok_prove, "snarkjs groth16 prove: {text}");
    let (ok_vk, text) = snarkjs_output(
        bin,
        &["zkey", "export", "verificationkey", s(&zkey), s(&vk)],
    );
    assert!(ok_vk, "{text}");
    let (verified, text) =
        snarkjs_output(bin, &["groth16", "verify", s(&vk), s(&public), s(&proof)]);
    assert!(
        verified && text.contains("OK!"),
        "snarkjs groth16 verify: {text}"
    );
    // snarkjs's public signals are our presentation's public inputs.
    let ours: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&again).expect("p")).expect("json");
    let theirs: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(&public).expect("public")).expect("json");
    let ours: Vec<String> = ours["public_inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|h| {
            let x = dossier_core::field::parse("input", h.as_str().expect("hex")).expect("field");
            dossier_core::field::to_decimal(&x)
        })
        .collect();
    assert_eq!(theirs, ours);

    // One witness value changed: snarkjs finds a constraint broken.
    let mut bytes = std::fs::read(&wtns).expect("wtns");
    let at = bytes.len() - 32;
    bytes[at] ^= 1;
    let bad = tmp.join("bad.wtns");
    std::fs::write(&bad, bytes).expect("write");
    let (valid, text) = snarkjs_output(bin, &["wtns", "check", s(&r1cs), s(&bad)]);
    assert!(!valid || text.contains("WITNESS IS NOT CORRECT"), "{text}");
    assert!(!text.contains("WITNESS IS CORRECT"), "{text}");

    // A halo2 request: refused as unusable input, no file written.
    let halo2 = tmp.join("r-halo2.json");
    dossier_tests::request_on(
        home,
        r#"{"credentials": [{"schema": "retirement", "issuers": ["hr.tax-bureau"], "where": {"years_of_service": {"$gte": 30}}}]}"#,
        "pension:2026",
        &halo2,
        "halo2",
    );
    let none = tmp.join("none.wtns");
    let out = prove(&halo2, &none);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!none.exists());
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
    let file = format!("{SHAPE}.zkey");
    std::fs::copy(b.join(&file), a.join(&file)).expect("copy");
    let out = run(&home, &["ceremony", "verify", "--dir", s(&a)]);
    assert_eq!(out.status.code(), Some(1), "a failed check");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("final key") && err.contains("alpha differs from phase 1"),
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
    assert_eq!(v["contributions"][0]["name"], "one");

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
    assert_eq!(v["contributions"][0]["name"], "one");
    assert_eq!(v["contributions"][1]["name"], "audit office");
    let ours = v["contributions"][1]["hash"].clone();

    // snarkjs checks our contribution as one of its own: proofs of knowledge against its
    // challenge chain, the updates, and the next challenge over the whole file.
    let (accepted, text) = snarkjs_output(&bin, &["powersoftau", "verify", &f("pot2.ptau")]);
    assert!(accepted, "snarkjs powersoftau verify: {text}");
    assert!(text.contains("audit office"), "{text}");

    // snarkjs extends ours and closes it with a beacon; we check both, and our record's
    // response hash is unchanged.
    snarkjs_run(
        &bin,
        &[
            "powersoftau",
            "contribute",
            &f("pot2.ptau"),
            &f("pot3.ptau"),
            "--name=two",
            "-e=more entropy",
        ],
    );
    snarkjs_run(
        &bin,
        &[
            "powersoftau",
            "beacon",
            &f("pot3.ptau"),
            &f("pot4.ptau"),
            "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "10",
            "--name=closing beacon",
        ],
    );
    let v = ok_json(&home, &["ceremony", "phase1", "verify", &f("pot4.ptau")]);
    let names: Vec<&str> = v["contributions"]
        .as_array()
        .expect("list")
        .iter()
        .map(|c| c["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["one", "audit office", "two", "closing beacon"]);
    assert_eq!(v["contributions"][1]["hash"], ours);
    assert_eq!(v["contributions"][3]["beacon"], true);

    // A file made by one of our single parties, extended by a department: snarkjs accepts it.
    ok(
        &home,
        &[
            "ceremony",
            "phase1",
            "new",
            "--power",
            "4",
            "--out",
            &f("d0.ptau"),
            "--name",
            "dealer",
        ],
    );
    ok(
        &home,
        &[
            "ceremony",
            "phase1",
            "contribute",
            "--in",
            &f("d0.ptau"),
            "--out",
            &f("d1.ptau"),
            "--name",
            "tax bureau",
        ],
    );
    let (accepted, text) = snarkjs_output(&bin, &["powersoftau", "verify", &f("d1.ptau")]);
    assert!(accepted, "snarkjs powersoftau verify: {text}");

    // A changed proof of knowledge in our record is refused by both, naming the step.
    let mut p = Powers::from_ptau(&std::fs::read(f("d1.ptau")).expect("read")).expect("parse");
    p.contributions[1].tau.rx = p.contributions[0].tau.rx;
    std::fs::write(f("bad-record.ptau"), p.to_ptau(None)).expect("write");
    let out = run(
        &home,
        &["ceremony", "phase1", "verify", &f("bad-record.ptau")],
    );
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("contribution 2") && said.contains("tau"),
        "{said}"
    );
    let (accepted, _) = snarkjs_output(&bin, &["powersoftau", "verify", &f("bad-record.ptau")]);
    assert!(!accepted, "snarkjs accepted a changed record");

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

fn snarkjs_output(bin: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("node")
        .arg(bin)
        .args(args)
        .output()
        .expect("node runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && !text.contains("INVALID") && !text.contains("[ERROR]"),
        text,
    )
}

#[test]
fn snarkjs_and_dossier_check_each_others_phase_2() {
    use dossier_ceremony::phase1::Dealer;
    use dossier_ceremony::phase2::Transcript;
    use dossier_ceremony::{toy, zkey};
    let Some(bin) = snarkjs() else { return };
    let tmp = tempfile::tempdir().expect("tmp");
    let f = |n: &str| tmp.path().join(n).to_str().expect("utf-8").to_string();
    let noop = |_: f64| {};
    let toy = toy::matrices(20);
    let circuit = toy.circuit();
    let log = circuit.domain_log();
    let mut rng = rand::thread_rng();
    let dealer = Dealer::new(log + 1, "coordinator", &mut rng).expect("dealer");
    let prepared = dealer.prepare();
    std::fs::write(f("pot.ptau"), dealer.powers().to_ptau(Some(&prepared))).expect("write");
    std::fs::write(f("toy.r1cs"), zkey::circom_r1cs(&circuit)).expect("write");
    let lagrange = prepared.domain(log).expect("domain");
    let h = prepared.h_basis(log).expect("h");
    let initial = Transcript::init(&circuit, dealer.powers(), lagrange, h, &noop).expect("init");
    assert_eq!(
        Transcript::init_dealt(&circuit, &dealer).expect("dealt"),
        initial
    );

    // snarkjs's `zkey new` on the same r1cs and ptau writes our initial key byte for byte.
    std::fs::write(f("ours_0.zkey"), initial.to_bytes()).expect("write");
    snarkjs_run(
        &bin,
        &[
            "zkey",
            "new",
            &f("toy.r1cs"),
            &f("pot.ptau"),
            &f("theirs_0.zkey"),
        ],
    );
    let theirs = std::fs::read(f("theirs_0.zkey")).expect("read");
    assert_eq!(Transcript::from_bytes(&theirs).expect("read"), initial);
    assert_eq!(theirs, initial.to_bytes());

    // Two departments with dossier, one with snarkjs, then the beacon: both tools accept it.
    let mut t = initial.clone();
    t.contribute("tax bureau", &mut rng, &noop)
        .expect("contribute");
    std::fs::write(f("ours_1.zkey"), t.to_bytes()).expect("write");
    snarkjs_run(
        &bin,
        &[
            "zkey",
            "contribute",
            &f("ours_1.zkey"),
            &f("theirs_2.zkey"),
            "--name=civil service commission",
            "-e=entropy of the commission",
        ],
    );
    let mut t = Transcript::from_bytes(&std::fs::read(f("theirs_2.zkey")).expect("read"))
        .expect("snarkjs's contribution reads");
    let report = t.verify(&circuit, dealer.powers()).expect("verify");
    assert_eq!(report.contributions[1].0, "civil service commission");
    t.contribute("national audit office", &mut rng, &noop)
        .expect("contribute");
    t.beacon("beacon", &[0x5a; 32], 10, &noop).expect("beacon");
    std::fs::write(f("final.zkey"), t.to_bytes()).expect("write");
    let report = t.verify(&circuit, dealer.powers()).expect("verify");
    assert_eq!(report.contributions.len(), 4);
    let (ok, text) = snarkjs_output(
        &bin,
        &[
            "zkey",
            "verify",
            &f("toy.r1cs"),
            &f("pot.ptau"),
            &f("final.zkey"),
        ],
    );
    assert!(ok, "snarkjs zkey verify: {text}");
    // snarkjs prints each contribution's hash as we compute it.
    for (name, hash, _) in &report.contributions {
        let first = hex::encode(&hash[..4]);
        assert!(text.contains(name.as_str()), "{name} in {text}");
        assert!(text.replace(' ', "").contains(&first), "{first} in {text}");
    }

    // snarkjs's own beacon on our transcript is the one we derive.
    snarkjs_run(
        &bin,
        &[
            "zkey",
            "beacon",
            &f("ours_1.zkey"),
            &f("beacon.zkey"),
            &"5a".repeat(32),
            "10",
            "--name=beacon",
        ],
    );
    let theirs =
        Transcript::from_bytes(&std::fs::read(f("beacon.zkey")).expect("read")).expect("read");
    theirs
        .verify(&circuit, dealer.powers())
        .expect("snarkjs's beacon verifies");

    // A tampered key is refused by snarkjs too.
    let mut bad = t.clone();
    bad.key.l_query[0] = bad.key.a_query[1];
    std::fs::write(f("bad.zkey"), bad.to_bytes()).expect("write");
    let (ok, _) = snarkjs_output(
        &bin,
        &[
            "zkey",
            "verify",
            &f("toy.r1cs"),
            &f("pot.ptau"),
            &f("bad.zkey"),
        ],
    );
    assert!(!ok, "snarkjs refuses a changed L query");
}
