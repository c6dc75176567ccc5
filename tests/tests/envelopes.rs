//! The W3C envelopes as an integrator meets them. An issuer exports a holder's credentials as
//! Verifiable Credentials signed with a Data Integrity proof (`dossier export vc`, and the
//! holder's `GET /v1/holder/credentials/{issuer}/{id}/vc`); the holder's wallet imports them,
//! checking the signature, and proves from them; a presentation exported as a Verifiable
//! Presentation (`dossier export vp`) is verified in that form by the CLI and the service.
//! Independent tools agree (`fixtures/w3c/check.mjs`): jsonld.js expands every document in
//! safe mode with the shipped context, and Digital Bazaar's `vc` library verifies the issuer's
//! signature. Each tampered document is refused by both, and changes nothing.

use dossier_core::envelope::{self, CONTEXT_DOCUMENT};
use dossier_tests::{
    holder, issue_lines, ok, ok_json, prove_one, prove_to, request, run, Proven, Server,
};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

const ISSUER: &str = "univ.law-school";
const QUERY: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}}, "reveal": ["award_year"]}]}"#;

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).expect("read")).expect("json")
}

fn write(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_string_pretty(v).expect("json")).expect("write");
}

fn degree(holder: &Value, level: &str) -> Value {
    json!({"schema": "qualification", "holder": holder["holder"], "holder_halo2": holder["holder_halo2"],
        "fields": {"degree_level": level, "field": "law", "institution": "Law School", "award_year": 2016}})
}

/// What `check.mjs` says of each file: (expanded, verified).
fn independent(files: &[&Path]) -> Option<Vec<(bool, bool, String)>> {
    let dir = dossier_tests::w3c_dir()?;
    let context = dir.join("../../core/contexts/dossier-v1.jsonld");
    let out = std::process::Command::new("node")
        .arg(dir.join("check.mjs"))
        .arg(&context)
        .args(files)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .lines()
            .map(|l| {
                let v: Value = serde_json::from_str(l).expect("json line");
                (
                    v["expanded"] == true,
                    v["verified"] == true,
                    v["error"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect(),
    )
}

/// A home whose holder has proven a master's degree in law for `scope` (see [`Proven`]).
fn a_masters_degree_proven(d: &Path, scope: &str) -> Proven {
    prove_one(
        d,
        ISSUER,
        json!({"schema": "qualification", "fields": {"degree_level": "master", "field": "law",
            "institution": "Law School", "award_year": 2015}}),
        QUERY,
        scope,
    )
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[test]
fn credentials_and_presentations_travel_as_w3c_documents_that_standard_tools_check() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let Proven {
        home,
        params,
        request: request_path,
        presentation,
        ..
    } = a_masters_degree_proven(d, "recruitment:2026:envelopes");
    // A second holder receives a degree only as a signed VC.
    let wallet = d.join("w2.json");
    let holder = ok_json(&home, &["holder", "init", "--wallet", s(&wallet)]);
    let claim = d.join("claim.json");
    write(&claim, &degree(&holder, "doctorate"));
    let openings = d.join("o2.jsonl");
    ok(
        &home,
        &[
            "issue",
            "--issuer",
            ISSUER,
            "--claim",
            s(&claim),
            "--out",
            s(&openings),
        ],
    );
    ok(&home, &["checkpoint"]);
    let vcs = d.join("vcs");
    let exported = ok_json(
        &home,
        &["export", "vc", "--openings", s(&openings), "--out", s(&vcs)],
    );
    let files = exported["credentials"].as_array().expect("files");
    assert_eq!(files.len(), 1, "{exported}");
    let vc_file = PathBuf::from(files[0].as_str().expect("path"));
    assert_eq!(
        (mode(&vcs), mode(&vc_file)),
        (0o700, 0o600),
        "private copies"
    );
    let vc = read(&vc_file);
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(vc["@context"][1], envelope::DEFAULT_CONTEXT_URL);
    let signed = envelope::credential_from_vc(&vc).expect("our own reader accepts it");
    assert_eq!(signed.opening.fields["degree_level"], "doctorate");

    // Tampered copies: a field raised, the salt changed, signed by another issuer's key.
    let tampered = |name: &str, f: &dyn Fn(&mut Value)| {
        let mut v = vc.clone();
        f(&mut v);
        let p = d.join(name);
        write(&p, &v);
        p
    };
    let raised = tampered("raised.json", &|v| {
        v["credentialSubject"]["award_year"] = json!(2010)
    });
    let salted = tampered("salted.json", &|v| {
        v["commitmentOpening"]["salt"] = json!("0x01")
    });
    let undefined = tampered("undefined.json", &|v| v["unknownTerm"] = json!(1));
    let before = std::fs::read(&wallet).expect("wallet");
    for bad in [&raised, &salted] {
        let o = run(&home, &["holder", "import", s(bad), "--wallet", s(&wallet)]);
        assert_eq!(o.status.code(), Some(2), "a tampered credential is refused");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("signature") || err.contains("data integrity"),
            "{err}"
        );
        assert!(!err.contains("2010"), "errors never echo values: {err}");
    }
    assert_eq!(
        std::fs::read(&wallet).expect("wallet"),
        before,
        "nothing imported"
    );
    let imported = ok_json(
        &home,
        &["holder", "import", s(&vc_file), "--wallet", s(&wallet)],
    );
    assert_eq!(imported["imported"], 1, "{imported}");

    // The holder proves from the imported credential; the presentation travels as a VP.
    let r2 = d.join("r2.json");
    request(&home, QUERY, "recruitment:2026:envelopes-2", &r2);
    let p2 = d.join("p2.json");
    prove_to(&home, &params, &r2, &wallet, &p2);
    let vp_file = d.join("vp.json");
    ok(
        &home,
        &[
            "export",
            "vp",
            "--presentation",
            s(&p2),
            "--out",
            s(&vp_file),
        ],
    );
    let vp = read(&vp_file);
    assert!(vp.get("verifiableCredential").is_none());
    let verified = ok_json(
        &home,
        &[
            "--params",
            s(&params),
            "verify",
            "--request",
            s(&r2),
            s(&vp_file),
        ],
    );
    assert_eq!(verified["valid"], true, "{verified}");
    let mut moved = vp.clone();
    moved["proof"]["domain"] = json!("recruitment:2026:envelopes");
    let moved_file = d.join("moved.json");
    write(&moved_file, &moved);
    let o = run(
        &home,
        &[
            "--params",
            s(&params),
            "verify",
            "--request",
            s(&r2),
            s(&moved_file),
        ],
    );
    assert!(!o.status.success(), "an envelope moved to another scope");
    // A presentation of one request, wrapped, still answers that request only.
    let o = run(
        &home,
        &[
            "--params",
            s(&params),
            "verify",
            "--request",
            s(&request_path),
            s(&vp_file),
        ],
    );
    assert!(!o.status.success());

    // Independent tools: expansion in safe mode and the issuer's signature.
    let first_vp = d.join("vp1.json");
    ok(
        &home,
        &[
            "export",
            "vp",
            "--presentation",
            s(&presentation),
            "--out",
            s(&first_vp),
        ],
    );
    if let Some(results) =
        independent(&[&vc_file, &vp_file, &first_vp, &raised, &salted, &undefined])
    {
        let summary: Vec<(bool, bool)> = results.iter().map(|(e, v, _)| (*e, *v)).collect();
        assert_eq!(
            summary,
            [
                (true, true),
                (true, true),
                (true, true),
                (true, false),
                (true, false),
                (false, false)
            ],
            "{results:?}"
        );
    }
}

#[test]
fn the_service_serves_the_context_signs_a_holders_credential_and_verifies_a_vp() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let Proven {
        home,
        params,
        request: request_path,
        presentation,
        ..
    } = a_masters_degree_proven(d, "recruitment:2026:service-envelopes");
    let tokens = d.join("tokens.json");
    let token = |name: &str, role: &[&str]| {
        let mut args = vec!["token", "add", "--name", name, "--tokens", s(&tokens)];
        args.extend_from_slice(role);
        ok_json(&home, &args)["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let wallet = d.join("w2.json");
    let holder = ok_json(&home, &["holder", "init", "--wallet", s(&wallet)]);
    let issuer = token("univ", &["--role", "issuer", "--issuer", ISSUER]);
    let alice = token(
        "alice",
        &[
            "--role",
            "holder",
            "--holder",
            holder["holder"].as_str().expect("holder"),
        ],
    );
    let url = "https://hr.gov.example/contexts/dossier/v1";
    let server = Server::start(&home, &params, &tokens, &["--context-url", url]);
    let (status, context, _) = server.call_raw("GET", "/contexts/v1", None, None);
    assert_eq!((status, context.as_str()), (200, CONTEXT_DOCUMENT));
    let (status, issued) = server.call(
        "POST",
        &format!("/v1/issuers/{ISSUER}/credentials"),
        Some(&issuer),
        Some(&json!({"claims": [degree(&holder, "master")]})),
    );
    assert_eq!(status, 201, "{issued}");
    let id = issued["issued"][0]["credential_id"].as_u64().expect("id");
    let path = format!("/v1/holder/credentials/{ISSUER}/{id}/vc");
    assert_eq!(server.call("GET", &path, None, None).0, 401);
    assert_eq!(server.call("GET", &path, Some(&issuer), None).0, 403);
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/v1/holder/credentials/{ISSUER}/{}/vc", id + 1),
                Some(&alice),
                None
            )
            .0,
        404
    );
    let (status, vc) = server.call("GET", &path, Some(&alice), None);
    assert_eq!(status, 200, "{vc}");
    assert_eq!(vc["@context"][1], url, "the deployment's context URL");
    let signed = envelope::credential_from_vc(&vc).expect("signed by the issuer");
    assert_eq!(signed.opening.credential_id as u64, id);
    let vc_file = d.join("service-vc.json");
    write(&vc_file, &vc);

    // The service verifies a presentation sent as a VP, and refuses one moved to another scope.
    let vp_file = d.join("vp.json");
    ok(
        &home,
        &[
            "export",
            "vp",
            "--presentation",
            s(&presentation),
            "--out",
            s(&vp_file),
            "--context-url",
            url,
        ],
    );
    let vp = read(&vp_file);
    let body = json!({"request": read(&request_path), "presentation": vp});
    let (status, verdict) = server.call("POST", "/v1/verify", None, Some(&body));
    assert_eq!(status, 200, "{verdict}");
    assert_eq!(verdict["verdict"]["valid"], true, "{verdict}");
    let mut moved = body.clone();
    moved["presentation"]["proof"]["domain"] = json!("elsewhere");
    let (status, refused) = server.call("POST", "/v1/verify", None, Some(&moved));
    assert_eq!(status, 400, "{refused}");
    drop(server);
    if let Some(results) = independent(&[&vc_file, &vp_file]) {
        assert!(results.iter().all(|(e, v, _)| *e && *v), "{results:?}");
    }
}

/// What `pex.mjs` says of a definition and credentials: (valid, problems, selected).
fn sphereon(definition: &Path, vcs: &[PathBuf]) -> Option<(bool, Value, Vec<bool>)> {
    let dir = dossier_tests::w3c_dir()?;
    let out = std::process::Command::new("node")
        .arg(dir.join("pex.mjs"))
        .arg(definition)
        .args(vcs)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let selected = v["selected"]
        .as_array()
        .expect("selected")
        .iter()
        .map(|b| b == true)
        .collect();
    Some((v["valid"] == true, v["problems"].clone(), selected))
}

/// Whether the proof's predicates (the circuit's native twin) accept each opening for `request`.
fn accepted_by_the_proof(
    request: &Path,
    openings: &[dossier_core::credential::CredentialOpening],
) -> Vec<bool> {
    let r: dossier_core::presentation::PresentationRequest =
        serde_json::from_value(read(request)).expect("request");
    let schemas = dossier_core::schema::SchemaSet::builtin();
    let encoded = r
        .query
        .encode(&schemas, r.query.shape().expect("shape"))
        .expect("encodes");
    let slot = &encoded.credentials[0];
    openings
        .iter()
        .map(|o| {
            let c = o.credential(&schemas).expect("credential");
            o.schema == slot.schema
                && slot.issuers.contains(&o.issuer)
                && slot.predicates.iter().all(|p| p.holds(c.slots[p.slot]))
        })
        .collect()
}

#[test]
fn a_standard_tool_selects_exactly_the_credentials_the_proof_accepts() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let home = d.join("home");
    for issuer in [ISSUER, "univ.other"] {
        ok(&home, &["issuer", "init", issuer]);
    }
    let degree = |i: u64, level: &str, field: &str, year: u64| {
        json!({"schema": "qualification", "holder": holder(i),
            "fields": {"degree_level": level, "field": field, "institution": "LS", "award_year": year}})
    };
    let ours = issue_lines(
        &home,
        d,
        ISSUER,
        "ours",
        &[
            degree(0, "bachelor", "law", 2016),
            degree(1, "master", "law", 2016),
            degree(2, "doctorate", "economics", 2012),
            degree(3, "master", "medicine", 2016),
            degree(4, "associate", "law", 2016),
            degree(5, "master", "law", 2021),
            degree(6, "master", "economics", 2010),
        ],
    );
    let theirs = issue_lines(
        &home,
        d,
        "univ.other",
        "theirs",
        &[degree(7, "doctorate", "law", 2016)],
    );
    let mut openings = Vec::new();
    let mut vcs = Vec::new();
    for file in [&ours, &theirs] {
        let text = std::fs::read_to_string(file).expect("openings");
        openings.extend(text.lines().map(|l| {
            serde_json::from_str::<dossier_core::credential::CredentialOpening>(l).expect("opening")
        }));
        let out = d.join(format!("vcs-{}", vcs.len()));
        let exported = ok_json(
            &home,
            &["export", "vc", "--openings", s(file), "--out", s(&out)],
        );
        vcs.extend(
            exported["credentials"]
                .as_array()
                .expect("files")
                .iter()
                .map(|f| PathBuf::from(f.as_str().expect("path"))),
        );
    }
    let query = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
        "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]},
                  "award_year": {"$between": [2010, 2020]}}, "reveal": []}]}"#;
    let r = d.join("r.json");
    request(&home, query, "recruitment:2026:pex", &r);
    let exchange = d.join("exchange.json");
    ok(
        &home,
        &["export", "pex", "--request", s(&r), "--out", s(&exchange)],
    );
    let doc = read(&exchange);
    let definition = d.join("definition.json");
    write(&definition, &doc["presentation_definition"]);
    let accepted = accepted_by_the_proof(&r, &openings);
    assert_eq!(
        accepted,
        [false, true, true, false, false, false, true, false],
        "bachelor and associate below master, medicine, 2021 out of range, another issuer"
    );
    if let Some((valid, problems, selected)) = sphereon(&definition, &vcs) {
        assert!(valid, "PE v2 validation: {problems}");
        assert_eq!(
            selected, accepted,
            "the standard tool picks what the proof accepts"
        );
    }
    // The exchange document comes back as the same request; a bare definition needs a scope
    // and makes a new request that accepts the same credentials.
    let back = d.join("back.json");
    ok(
        &home,
        &[
            "import",
            "pex",
            "--definition",
            s(&exchange),
            "--out",
            s(&back),
        ],
    );
    assert_eq!(read(&back), read(&r));
    let fresh = d.join("fresh.json");
    let o = run(
        &home,
        &[
            "import",
            "pex",
            "--definition",
            s(&definition),
            "--out",
            s(&fresh),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--scope"));
    assert!(!fresh.exists(), "nothing written");
    ok(
        &home,
        &[
            "import",
            "pex",
            "--definition",
            s(&definition),
            "--scope",
            "recruitment:2026:other",
            "--out",
            s(&fresh),
        ],
    );
    assert_eq!(read(&fresh)["scope"], "recruitment:2026:other");
    assert_ne!(
        read(&fresh)["challenge"],
        read(&r)["challenge"],
        "a new challenge"
    );
    assert_eq!(accepted_by_the_proof(&fresh, &openings), accepted);
}
