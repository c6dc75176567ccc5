//! A recruiter asks through OpenID4VP 1.0. The service makes the request for a wallet
//! (`"openid4vp": true`): a signed request object (JWS, `decentralized_identifier` client id of
//! the service's key) by reference and by value. The holder's wallet (`dossier openid4vp
//! respond`) fetches it with a fresh `wallet_nonce`, checks it, shows it, proves locally and
//! posts the Verifiable Presentation (`direct_post`); the recruiter reads the verdict. Declining
//! is noted; a replayed token, a presentation for another request, a second answer in the scope,
//! a forged request object and malformed answers are refused and change nothing that was
//! verified. Independent tools agree (`fixtures/w3c/openid4vp.mjs`): jose verifies the JWS and
//! the OpenWallet Foundation's dcql validates the query and selects exactly the credentials the
//! proof accepts.

use dossier_core::openid4vp;
use dossier_core::schema::SchemaSet;
use dossier_tests::{ok, ok_json, prove_one, run, Proven, Server};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

const ISSUER: &str = "univ.law-school";
const QUERY: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
    "where": {"degree_level": {"$gte": "master"}, "field": {"$eq": "law"}}, "reveal": ["award_year"]}]}"#;

fn degree(level: &str) -> Value {
    json!({"schema": "qualification", "fields": {"degree_level": level, "field": "law",
        "institution": "Law School", "award_year": 2015}})
}

/// A form POST: (status, JSON body or Null).
fn form(url: &str, pairs: &[(&str, &str)]) -> (u16, Value) {
    let answer = match ureq::post(url).send_form(pairs) {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("POST {url}: {e}"),
    };
    let status = answer.status();
    let text = answer.into_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A GET of a request object: (status, content type, body).
fn get_object(url: &str) -> (u16, String, String) {
    let answer = match ureq::get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let (status, ct) = (answer.status(), answer.content_type().to_string());
    (status, ct, answer.into_string().unwrap_or_default())
}

struct Recruiter<'a> {
    server: &'a Server,
    token: String,
}

impl Recruiter<'_> {
    /// Makes an OpenID4VP request; returns the service's answer.
    fn ask(&self, scope: &str) -> Value {
        let (status, made) = self.server.call(
            "POST",
            "/v1/requests",
            Some(&self.token),
            Some(
                &json!({"query": serde_json::from_str::<Value>(QUERY).expect("query"),
                "scope": scope, "openid4vp": true, "archive": true,
                "purpose": "screening for the 2026 legal officers' competition",
                "legal_basis": "Civil Service Law, article 23"}),
            ),
        );
        assert_eq!(status, 201, "{made}");
        made
    }

    fn answer(&self, id: &str) -> Value {
        let (status, answer) = self.server.call(
            "GET",
            &format!("/v1/requests/{id}/openid4vp"),
            Some(&self.token),
            None,
        );
        assert_eq!(status, 200, "{answer}");
        answer
    }
}

/// The holder's own home: a copy of the ledger they read paths and checkpoints from.
fn holder_home(home: &Path, d: &Path) -> PathBuf {
    let mine = d.join("holder-home");
    dossier_store::home::create_private_dir(&mine).expect("dir");
    std::fs::copy(home.join("dossier.redb"), mine.join("dossier.redb")).expect("copy");
    mine
}

fn respond(
    holder: &Path,
    params: &Path,
    wallet: &Path,
    url: &str,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "--params",
        s(params),
        "openid4vp",
        "respond",
        url,
        "--wallet",
        s(wallet),
    ];
    args.extend_from_slice(extra);
    run(holder, &args)
}

#[test]
fn a_wallet_answers_a_recruiter_over_openid4vp_and_nothing_else_is_accepted() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let Proven {
        home,
        params,
        wallet,
        ..
    } = prove_one(d, ISSUER, degree("master"), QUERY, "recruitment:2026:setup");
    // The issuer's VCs for the independent DCQL check: the holder's master's and a bachelor's.
    let vcs = d.join("vcs");
    let master_openings = std::fs::read_dir(&home)
        .expect("home")
        .map(|e| e.expect("entry").path())
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("openings-"))
        })
        .expect("openings");
    let bachelor_claim = d.join("bachelor.json");
    let mut bachelor = degree("bachelor");
    bachelor["holder"] = json!(dossier_tests::holder(7));
    std::fs::write(&bachelor_claim, bachelor.to_string()).expect("write");
    let bachelor_openings = d.join("bachelor.jsonl");
    ok(
        &home,
        &[
            "issue",
            "--issuer",
            ISSUER,
            "--claim",
            s(&bachelor_claim),
            "--out",
            s(&bachelor_openings),
        ],
    );
    let mut vc_files = Vec::new();
    for (name, openings) in [
        ("master", &master_openings),
        ("bachelor", &bachelor_openings),
    ] {
        let out = vcs.join(name);
        let exported = ok_json(
            &home,
            &["export", "vc", "--openings", s(openings), "--out", s(&out)],
        );
        vc_files.push(PathBuf::from(
            exported["credentials"][0].as_str().expect("vc"),
        ));
    }
    ok(&home, &["checkpoint"]);
    let holder = holder_home(&home, d);

    let tokens = d.join("tokens.json");
    let token = |name: &str| {
        ok_json(
            &home,
            &[
                "token",
                "add",
                "--name",
                name,
                "--role",
                "verifier",
                "--tokens",
                s(&tokens),
            ],
        )["token"]
            .as_str()
            .expect("token")
            .to_string()
    };
    let (recruiter_token, other_token) = (token("tax-bureau"), token("customs"));
    let server = Server::start(&home, &params, &tokens, &[]);
    let recruiter = Recruiter {
        server: &server,
        token: recruiter_token,
    };

    // The request: addressed to the service's client id, with its two authorization requests.
    let made = recruiter.ask("recruitment:2026:legal-officers");
    let id = made["id"].as_str().expect("id").to_string();
    let links = &made["openid4vp"];
    let client_id = links["client_id"].as_str().expect("client id").to_string();
    assert!(
        client_id.starts_with("decentralized_identifier:did:key:z6Mk"),
        "{client_id}"
    );
    assert_eq!(made["request"]["audience"], client_id.as_str());
    let by_reference = links["authorization_request"].as_str().expect("by ref");
    let by_value = links["authorization_request_by_value"]
        .as_str()
        .expect("by value");
    assert!(
        by_reference.starts_with("openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3A")
    );
    assert!(by_reference.contains("request_uri_method=post"));
    assert_eq!(recruiter.answer(&id)["status"], "pending");
    let other = Recruiter {
        server: &server,
        token: other_token,
    };
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/v1/requests/{id}/openid4vp"),
                Some(&other.token),
                None
            )
            .0,
        403,
        "another verifier cannot read the answer"
    );

    // The request object, fetched as a wallet does, opens to the request the service made.
    let request_uri = links["request_uri"].as_str().expect("request uri");
    let (status, media, object) = get_object(request_uri);
    assert_eq!(
        (status, media.as_str()),
        (200, openid4vp::REQUEST_OBJECT_MEDIA_TYPE)
    );
    let now = dossier_core::clock::now();
    let opened =
        openid4vp::open_request_object(&object, &client_id, &SchemaSet::builtin(), None, now)
            .expect("a wallet opens it");
    assert_eq!(
        serde_json::to_value(&opened.request).expect("json"),
        made["request"]
    );
    assert_eq!(opened.state, id);
    assert_eq!(
        opened.response_uri,
        format!("{}/openid4vp/responses", server.base)
    );
    let (status, nonce_object) = {
        let answer = ureq::post(request_uri)
            .send_form(&[("wallet_nonce", "n-42"), ("wallet_metadata", "{}")])
            .expect("POST request uri");
        (answer.status(), answer.into_string().expect("text"))
    };
    assert_eq!(status, 200);
    openid4vp::open_request_object(
        &nonce_object,
        &client_id,
        &SchemaSet::builtin(),
        Some("n-42"),
        now,
    )
    .expect("the object carries the wallet's nonce");
    assert_eq!(
        form(request_uri, &[("wallet_nonce", "not url-safe")]).0,
        400
    );
    assert_eq!(
        get_object(&format!(
            "{}/openid4vp/requests/{}",
            server.base,
            "0".repeat(32)
        ))
        .0,
        404
    );

    // Independent tools: jose verifies the JWS; dcql validates the query and selects the
    // master's degree, not the bachelor's.
    if let Some(w3c) = dossier_tests::w3c_dir() {
        let object_file = d.join("object.jwt");
        std::fs::write(&object_file, &object).expect("write");
        let check = |object_file: &Path, client: &str| -> Value {
            let out = std::process::Command::new("node")
                .arg(w3c.join("openid4vp.mjs"))
                .arg(w3c.join("../../core/contexts/dossier-v1.jsonld"))
                .arg(object_file)
                .arg(client)
                .args(&vc_files)
                .output()
                .expect("node runs");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).expect("json")
        };
        let verdict = check(&object_file, &client_id);
        assert_eq!(verdict["verified"], true, "{verdict}");
        assert_eq!(verdict["dcql_valid"], true, "{verdict}");
        assert_eq!(verdict["selected"], json!([true, false]), "{verdict}");
        // Another client id, or a flipped signature byte: jose refuses.
        let foreign = check(
            &object_file,
            "decentralized_identifier:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
        );
        assert_eq!(foreign["verified"], false, "{foreign}");
        let forged = d.join("forged.jwt");
        std::fs::write(&forged, flip_signature(&object)).expect("write");
        assert_eq!(check(&forged, &client_id)["verified"], false);
    }

    // A forged request object (by value, one signature byte changed): the wallet refuses it
    // before showing anything, and nothing reaches the verifier.
    // (base64url needs no escaping, so the signature appears in the URL as it is).
    let signature = object_signature(by_value);
    let forged_url = by_value.replace(&signature, &flip(&signature));
    assert_ne!(forged_url, by_value);
    let o = respond(&holder, &params, &wallet, &forged_url, &["--yes"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(recruiter.answer(&id)["status"], "pending");

    // Without consent on a terminal and without --yes, nothing is proven or sent.
    let o = respond(&holder, &params, &wallet, by_reference, &[]);
    assert_eq!(o.status.code(), Some(2));
    let shown = String::from_utf8_lossy(&o.stderr);
    assert!(
        shown.contains("legal officers") && shown.contains("article 23"),
        "{shown}"
    );
    assert_eq!(recruiter.answer(&id)["status"], "pending");

    // Declining is noted; the transaction stays open.
    let declined = ok_json(
        &holder,
        &[
            "--params",
            s(&params),
            "openid4vp",
            "respond",
            by_value,
            "--wallet",
            s(&wallet),
            "--decline",
        ],
    );
    assert_eq!(declined["status"], "declined");
    assert_eq!(recruiter.answer(&id)["status"], "declined");
    assert_eq!(recruiter.answer(&id)["error"], "access_denied");

    // Malformed answers: no state, an unknown state, not a form, a bad error code, a token
    // that is not JSON or not of the request's shape. Each is refused.
    let responses = format!("{}/openid4vp/responses", server.base);
    assert_eq!(form(&responses, &[("vp_token", "{}")]).0, 400);
    assert_eq!(
        form(
            &responses,
            &[("vp_token", "{}"), ("state", &"f".repeat(32))]
        )
        .0,
        404
    );
    assert_eq!(
        form(&responses, &[("error", "Access Denied!"), ("state", &id)]).0,
        400
    );
    assert_eq!(
        form(&responses, &[("vp_token", "not json"), ("state", &id)]).0,
        400
    );
    assert_eq!(
        form(&responses, &[("vp_token", "{\"x\": []}"), ("state", &id)]).0,
        400
    );
    assert_eq!(
        form(
            &responses,
            &[("vp_token", &"[".repeat(200)), ("state", &id)]
        )
        .0,
        400
    );
    let (status, _, _) = server.call_raw(
        "POST",
        "/openid4vp/responses",
        None,
        Some(json!({"state": id}).to_string()),
    );
    assert_eq!(status, 415);
    assert_eq!(recruiter.answer(&id)["status"], "refused");

    // The holder consents: the wallet proves locally and posts; the recruiter reads the verdict.
    let sent = ok_json(
        &holder,
        &[
            "--params",
            s(&params),
            "openid4vp",
            "respond",
            by_reference,
            "--wallet",
            s(&wallet),
            "--yes",
        ],
    );
    assert_eq!(sent["status"], "sent", "{sent}");
    let answer = recruiter.answer(&id);
    assert_eq!(answer["status"], "verified", "{answer}");
    assert_eq!(answer["verdict"]["valid"], true, "{answer}");
    assert_eq!(
        answer["verdict"]["revealed"][0]["field"], "award_year",
        "{answer}"
    );
    assert_eq!(answer["verdict"]["revealed"][0]["value"], 2015, "{answer}");
    assert!(
        answer["archived_as"].is_u64(),
        "archived with the verifier's consent: {answer}"
    );

    // The same presentation, as a wallet's token, again: the transaction is closed.
    let vp = presentation_vp(&holder, &params, &wallet, &made["request"], d);
    let token = openid4vp::vp_token(&opened.request, &vp).to_string();
    let (status, body) = form(&responses, &[("vp_token", &token), ("state", &id)]);
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (409, Some("answered"))
    );
    // Declining after a verified answer changes nothing.
    assert_eq!(
        form(&responses, &[("error", "access_denied"), ("state", &id)]).0,
        409
    );
    assert_eq!(recruiter.answer(&id)["status"], "verified");

    // A second request in the same scope: the first request's presentation is refused (its
    // challenge and audience are another request's), and a genuine second answer by the same
    // holder is a replay of the scope's nullifier.
    let second = recruiter.ask("recruitment:2026:legal-officers");
    let id2 = second["id"].as_str().expect("id").to_string();
    let second_request = serde_json::from_value(second["request"].clone()).expect("request");
    let moved = openid4vp::vp_token(&second_request, &vp).to_string();
    let (status, body) = form(&responses, &[("vp_token", &moved), ("state", &id2)]);
    assert!(status == 422 || status == 400, "{status} {body}");
    assert_eq!(recruiter.answer(&id2)["status"], "refused");
    let o = respond(
        &holder,
        &params,
        &wallet,
        second["openid4vp"]["authorization_request"]
            .as_str()
            .expect("url"),
        &["--yes"],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "a second answer in the scope is refused"
    );
    let answer2 = recruiter.answer(&id2);
    assert_eq!(
        (answer2["status"].as_str(), answer2["error"].as_str()),
        (Some("refused"), Some("replayed")),
        "{answer2}"
    );

    // A VP whose domain names another verifier is refused.
    let third = recruiter.ask("recruitment:2026:legal-officers-bis");
    let id3 = third["id"].as_str().expect("id").to_string();
    let mut vp3 = presentation_vp(&holder, &params, &wallet, &third["request"], d);
    vp3["proof"]["domain"] =
        json!("decentralized_identifier:did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK");
    let third_request = serde_json::from_value(third["request"].clone()).expect("request");
    let token3 = openid4vp::vp_token(&third_request, &vp3).to_string();
    assert_eq!(
        form(&responses, &[("vp_token", &token3), ("state", &id3)]).0,
        400
    );
    assert_eq!(recruiter.answer(&id3)["status"], "refused");
}

/// The presentation of `request` (JSON) from the holder's wallet, as a Verifiable Presentation.
fn presentation_vp(
    holder: &Path,
    params: &Path,
    wallet: &Path,
    request: &Value,
    d: &Path,
) -> Value {
    let n = rand::random::<u32>();
    let (r, p) = (d.join(format!("r-{n}.json")), d.join(format!("p-{n}.json")));
    std::fs::write(&r, request.to_string()).expect("write");
    dossier_tests::prove_to(holder, params, &r, wallet, &p);
    let presentation =
        serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
    dossier_core::envelope::presentation_to_vp(
        &presentation,
        &dossier_core::envelope::ContextUrl::default(),
    )
    .expect("vp")
}

/// The signature part of the request object in an authorization request by value.
fn object_signature(url: &str) -> String {
    let object = url.split("request=").nth(1).expect("request=");
    object.rsplit('.').next().expect("signature").to_string()
}

/// The same base64url text with its first character changed.
fn flip(sig: &str) -> String {
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    format!("{first}{}", &sig[1..])
}

/// The JWS with one signature character changed.
fn flip_signature(jws: &str) -> String {
    let (head, sig) = jws.rsplit_once('.').expect("jws");
    format!("{head}.{}", flip(sig))
}
