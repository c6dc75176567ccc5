//! A civil servant's wallet in the browser (`/wallet`), end to end in Debian's headless
//! Chromium: a wallet created in the page (passphrase rules, locked and unlocked, a wrong
//! passphrase and a tampered stored wallet refused); the CLI's encrypted backup restored in
//! another browser (the secret alone: the credentials come back from the issuer), its
//! credentials fetched from the issuer with the holder's token and all
//! paths refreshed at once; a recruitment request shown in plain words (purpose, legal basis,
//! what is proven and revealed; English and Chinese), consented to, proven in the page's worker
//! with Groth16 and then halo2, sent and accepted by the service; the promotion statement
//! (three years of appraisals and the employment credential) likewise; a declined request sends
//! nothing; a request only a revoked credential answers is refused with the reason. On another
//! device, a picture of the backup's QR code restores the wallet, the issuer's openings file
//! fills it, a request comes as a picture of its QR code and another through the camera
//! (Chromium's fake camera playing a video of the code). Times of the in-browser proofs are
//! printed (BENCHMARKS.md), the prover's readying apart from the proof.

use dossier_tests::{ok, ok_json, token, Server};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("utf-8")
}

/// The holder's openings as the service lists them, one JSON document each (a JSON Lines file's
/// lines).
fn openings_of(server: &Server, holder_token: &str) -> Vec<String> {
    let (status, mine) = server.call("GET", "/v1/holder/credentials", Some(holder_token), None);
    assert_eq!(status, 200, "{mine}");
    mine["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(Value::to_string)
        .collect()
}

/// A QR code of `text`, drawn as SVG (as a verifier would print or show it).
fn qr_svg(text: &str) -> String {
    qrcode::QrCode::new(text.as_bytes())
        .expect("fits")
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(320, 320)
        .build()
}

/// A video (YUV4MPEG2, two frames) of a QR code of `text` on white: what Chromium's fake camera
/// plays to the page.
fn qr_video(text: &str) -> Vec<u8> {
    let code = qrcode::QrCode::new(text.as_bytes()).expect("fits");
    let (modules, colors) = (code.width(), code.to_colors());
    let (scale, quiet) = (8, 6);
    let side = (modules + 2 * quiet) * scale;
    let mut luma = vec![235u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % modules + quiet, i / modules + quiet);
            for y in my * scale..(my + 1) * scale {
                luma[y * side + mx * scale..y * side + (mx + 1) * scale].fill(16);
            }
        }
    }
    let mut video = format!("YUV4MPEG2 W{side} H{side} F10:1 Ip A1:1 C420jpeg\n").into_bytes();
    for _ in 0..2 {
        video.extend_from_slice(b"FRAME\n");
        video.extend_from_slice(&luma);
        video.extend(std::iter::repeat_n(128u8, 2 * (side / 2) * (side / 2)));
    }
    video
}

#[test]
fn a_civil_servant_answers_requests_from_the_browser_wallet() {
    let Some((driver, chromium)) = dossier_tests::browser("the browser wallet story") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (home, params) = (d.join("home"), d.join("params"));
    ok(
        &home,
        &["--params", s(&params), "setup", "--insecure-dev-setup"],
    );
    ok(&home, &["issuer", "init", "univ.law-school"]);
    ok(&home, &["issuer", "init", "hr.tax-bureau"]);
    ok(&home, &["checkpoint"]);
    let wallet = d.join("w.json");
    let holder = ok_json(&home, &["holder", "init", "--wallet", s(&wallet)]);
    let pass = "a long enough passphrase";
    let (pass_file, backup) = (d.join("pass.txt"), d.join("backup.json"));
    let backup_qr = d.join("backup.svg");
    std::fs::write(&pass_file, format!("{pass}\n")).expect("write");
    ok(
        &home,
        &[
            "holder",
            "backup",
            "--wallet",
            s(&wallet),
            "--out",
            s(&backup),
            "--qr",
            s(&backup_qr),
            "--passphrase-file",
            s(&pass_file),
        ],
    );
    let tokens = d.join("tokens.json");
    let holder_token = token(
        &home,
        &tokens,
        "servant",
        &["holder", "--holder", holder["holder"].as_str().expect("h")],
    );
    let issuer_token = token(
        &home,
        &tokens,
        "registrar",
        &["issuer", "--issuer", "univ.law-school"],
    );
    let hr_token = token(
        &home,
        &tokens,
        "hr-office",
        &["issuer", "--issuer", "hr.tax-bureau"],
    );
    let verifier = token(&home, &tokens, "recruiter", &["verifier"]);
    let server = Server::start(&home, &params, &tokens, &[]);
    // The university issues two degrees to the holder through the service (which keeps their
    // openings for the holder's token) and publishes a checkpoint.
    let degree = |field: &str, year: u64| {
        json!({"schema": "qualification", "holder": holder["holder"], "holder_halo2": holder["holder_halo2"],
            "fields": {"degree_level": "master", "field": field, "institution": "Law School", "award_year": year}})
    };
    let (status, b) = server.call(
        "POST",
        "/v1/issuers/univ.law-school/credentials",
        Some(&issuer_token),
        Some(&json!({"claims": [degree("law", 2015), degree("economics", 2018)]})),
    );
    assert_eq!(status, 201, "{b}");
    let revoke = b["issued"][1]["credential_id"].clone();
    // The HR office: three years of appraisals and the employment (status) credential.
    let with_holder = |mut claim: Value| {
        claim["holder"] = holder["holder"].clone();
        claim["holder_halo2"] = holder["holder_halo2"].clone();
        claim
    };
    let mut career: Vec<Value> = [2023, 2024, 2025]
        .iter()
        .map(|y| {
            with_holder(
                json!({"schema": "appraisal", "fields": {"year": y, "grade": "competent",
            "score": 81, "unit": "tax-audit", "training_hours": 96}}),
            )
        })
        .collect();
    career.push(with_holder(
        json!({"schema": "employment", "fields": {"department": "tax-audit",
        "position": "inspector", "rank_level": "section_member_2", "rank_since": "2023-01-01",
        "hire_date": "2010-09-01", "status": "active", "sanction_until": "1970-01-01"}}),
    ));
    let (status, b) = server.call(
        "POST",
        "/v1/issuers/hr.tax-bureau/credentials",
        Some(&hr_token),
        Some(&json!({"claims": career})),
    );
    assert_eq!(status, 201, "{b}");
    let (status, job) = server.call("POST", "/v1/checkpoints", Some(&issuer_token), None);
    assert_eq!(status, 202, "{job}");
    let job_path = format!("/v1/jobs/{}", job["id"].as_str().expect("id"));
    while server.call("GET", &job_path, Some(&issuer_token), None).1["status"] != "done" {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let grounds = json!({"purpose": "screening for the 2026 customs inspectors' competition",
        "legal_basis": "Civil Servants Law, Article 23"});
    let make = |query: Value, scope: &str, backend: &str| {
        let mut body =
            json!({"query": query, "scope": scope, "backend": backend, "openid4vp": true});
        body["purpose"] = grounds["purpose"].clone();
        body["legal_basis"] = grounds["legal_basis"].clone();
        let (status, b) = server.call("POST", "/v1/requests", Some(&verifier), Some(&body));
        assert_eq!(status, 201, "{b}");
        b["openid4vp"]["authorization_request"]
            .as_str()
            .expect("an openid4vp:// link")
            .to_string()
    };
    let master_query = json!({"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law"]}}, "reveal": ["award_year"]}]});
    let r_groth16 = make(master_query.clone(), "recruitment:2026:customs", "groth16");
    let r_halo2 = make(
        master_query.clone(),
        "recruitment:2026:customs-halo2",
        "halo2",
    );
    let r_decline = make(
        master_query.clone(),
        "recruitment:2026:other-bureau",
        "groth16",
    );
    let r_promotion = make(
        json!({"credentials": [
            {"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
            {"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {"year": {"$eq": 2024}, "grade": {"$gte": "competent"}}},
            {"schema": "appraisal", "issuers": ["hr.tax-bureau"], "where": {"year": {"$eq": 2025}, "grade": {"$gte": "competent"}}},
            {"schema": "employment", "issuers": ["hr.tax-bureau"],
             "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}}}]}),
        "promotion:2026:tax-bureau",
        "groth16",
    );
    let r_revoked = make(
        json!({"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
            "where": {"field": {"$in": ["economics"]}}}]}),
        "recruitment:2026:economists",
        "groth16",
    );
    // Another device: the holder's openings as the issuer hands them out (JSON Lines), a
    // request as a picture of its QR code and another as the camera sees it.
    let openings = d.join("openings-all.jsonl");
    std::fs::write(&openings, openings_of(&server, &holder_token).join("\n")).expect("write");
    let (r_picture, camera) = (d.join("request.svg"), d.join("camera.y4m"));
    std::fs::write(
        &r_picture,
        qr_svg(&make(
            master_query.clone(),
            "recruitment:2026:customs-picture",
            "groth16",
        )),
    )
    .expect("write");
    std::fs::write(
        &camera,
        qr_video(&make(
            master_query.clone(),
            "recruitment:2026:customs-camera",
            "groth16",
        )),
    )
    .expect("write");
    let out = Command::new("node")
        .arg(driver.join("wallet.js"))
        .env("BACKUP_QR", &backup_qr)
        .env("OPENINGS", &openings)
        .env("R_PICTURE", &r_picture)
        .env("CAMERA", &camera)
        .env("BASE", &server.base)
        .env("BACKUP", &backup)
        .env("PASS", pass)
        .env("HOLDER", holder["holder"].as_str().expect("h"))
        .env("HOLDER_TOKEN", &holder_token)
        .env("ISSUER", "univ.law-school")
        .env("ISSUER_TOKEN", &issuer_token)
        .env("REVOKE", revoke.to_string())
        .env("R_GROTH16", &r_groth16)
        .env("R_HALO2", &r_halo2)
        .env("R_DECLINE", &r_decline)
        .env("R_PROMOTION", &r_promotion)
        .env("R_REVOKED", &r_revoked)
        .env("SHOTS", repo().join("target/screenshots"))
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node runs");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the wallet did not behave:\n{report}\n{}\nservice log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&server.log).unwrap_or_default()
    );
    let report: Value = serde_json::from_str(&report).expect("report");
    // The same holder proves the same statement natively, in the same run: the figures
    // BENCHMARKS.md sets beside the browser's.
    let lines = openings_of(&server, &holder_token);
    assert_eq!(lines.len(), 5, "the revoked degree is no longer listed");
    let openings = d.join("openings.jsonl");
    std::fs::write(&openings, lines.join("\n")).expect("write");
    drop(server);
    ok(
        &home,
        &["holder", "import", s(&openings), "--wallet", s(&wallet)],
    );
    eprintln!(
        "promotion (Groth16, four credentials): in the browser, prover readied in {} ms, \
         proof {} ms (first use {})",
        report["steps"]["promotion"]["timing"]["prepared_ms"],
        report["steps"]["promotion"]["timing"]["proved_ms"],
        report["steps"]["promotion"]["timing"]["first_use"]
    );
    for backend in ["groth16", "halo2"] {
        let req = d.join(format!("native-{backend}.json"));
        dossier_tests::request_on(
            &home,
            &master_query.to_string(),
            &format!("recruitment:2026:native-{backend}"),
            &req,
            backend,
        );
        let native = ok_json(
            &home,
            &[
                "--params",
                s(&params),
                "prove",
                "--request",
                s(&req),
                "--wallet",
                s(&wallet),
                "--out",
                s(&d.join(format!("native-{backend}-p.json"))),
                "--json",
            ],
        );
        eprintln!(
            "{backend}: in the browser ({} threads), prover readied in {} ms, proof {} ms \
             (first use {}); natively, same run {}",
            report["steps"][backend]["timing"]["threads"],
            report["steps"][backend]["timing"]["prepared_ms"],
            report["steps"][backend]["timing"]["proved_ms"],
            report["steps"][backend]["timing"]["first_use"],
            native["timings"]
        );
    }
}
