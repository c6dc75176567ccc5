//! `dossier openid4vp respond`: the holder's wallet answering an OpenID4VP 1.0 authorization
//! request (a link or the text of a QR code) from the command line.
//!
//! It fetches the request object (by reference, with a fresh `wallet_nonce` when the verifier
//! offers `request_uri_method=post`; or by value), checks it
//! ([`dossier_core::openid4vp::open_request_object`]: the verifier's signature, the request's
//! self-consistency, the DCQL query rebuilt from the dossier request), shows who asks, why and
//! what will be proven, and only with the holder's consent proves locally and posts the
//! Verifiable Presentation to the verifier's `response_uri` (`direct_post`). `--decline` answers
//! `access_denied` instead. Redirects are never followed, and every answer read is bounded.

use crate::error::CliError;
use crate::{present, Out};
use base64::Engine;
use dossier_core::openid4vp::{self, OpenedRequest};
use dossier_core::schema::SchemaSet;
use dossier_store::home::Home;
use serde_json::json;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

/// The largest answer read from a verifier's response endpoint.
const MAX_ANSWER_BYTES: u64 = 64 << 10;

/// What the holder chose to do.
pub struct Respond<'a> {
    /// The authorization request: `openid4vp://?client_id=…&request_uri=…` or `…&request=…`.
    pub url: &'a str,
    /// The wallet file.
    pub wallet: &'a Path,
    /// Consent given on the command line.
    pub yes: bool,
    /// Answer `access_denied` instead of proving.
    pub decline: bool,
    /// The context URL the presentation names.
    pub context: dossier_core::envelope::ContextUrl,
}

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .redirects(0)
        .timeout(Duration::from_secs(60))
        .build()
}

fn bad(reason: impl Into<String>) -> CliError {
    CliError::Input(reason.into())
}

use dossier_core::openid4vp::{parse_authorization, Authorization, ObjectAt};

/// Fetches the request object at `uri` (bounded, no redirects), with a wallet nonce if `post`.
fn fetch_object(uri: &str, wallet_nonce: Option<&str>) -> Result<String, CliError> {
    let request = agent()
        .request(
            if wallet_nonce.is_some() {
                "POST"
            } else {
                "GET"
            },
            uri,
        )
        .set("Accept", openid4vp::REQUEST_OBJECT_MEDIA_TYPE);
    let answer = match wallet_nonce {
        Some(n) => request.send_form(&[("wallet_nonce", n)]),
        None => request.call(),
    }
    .map_err(|e| bad(format!("fetching the request object: {}", describe(e))))?;
    if answer.status() != 200 {
        return Err(bad(format!(
            "fetching the request object: HTTP {} (redirects are not followed)",
            answer.status()
        )));
    }
    if answer.content_type() != openid4vp::REQUEST_OBJECT_MEDIA_TYPE {
        return Err(bad(
            "the request URI did not answer application/oauth-authz-req+jwt",
        ));
    }
    let mut text = String::new();
    answer
        .into_reader()
        .take(openid4vp::MAX_REQUEST_OBJECT as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|_| bad("the request object could not be read as text"))?;
    Ok(text.trim().to_string())
}

/// A transport or HTTP error in words, with the service's error code when it gave one.
fn describe(e: ureq::Error) -> String {
    match e {
        ureq::Error::Status(code, answer) => {
            let mut body = String::new();
            let _ = answer
                .into_reader()
                .take(MAX_ANSWER_BYTES)
                .read_to_string(&mut body);
            let detail = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or_default();
            format!("HTTP {code} {detail}")
        }
        other => other.to_string(),
    }
}

/// The request, checked, as the verifier sent it.
fn open(auth: &Authorization, schemas: &SchemaSet) -> Result<OpenedRequest, CliError> {
    let (jws, nonce) = match &auth.object {
        ObjectAt::Value(jws) => (jws.clone(), None),
        ObjectAt::Reference { uri, post } => {
            let nonce = post.then(|| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>())
            });
            (fetch_object(uri, nonce.as_deref())?, nonce)
        }
    };
    Ok(openid4vp::open_request_object(
        &jws,
        &auth.client_id,
        schemas,
        nonce.as_deref(),
        dossier_core::clock::now(),
    )?)
}

/// What the holder is shown before consenting.
fn consent_text(o: &OpenedRequest) -> Result<String, CliError> {
    let r = &o.request;
    let query = serde_json::to_string(&r.query).map_err(|e| CliError::Input(e.to_string()))?;
    Ok(format!(
        "OpenID4VP request from {}\n  answer goes to: {}\n  purpose: {}\n  legal basis: {}\n  scope: {} (one answer per holder)\n  proven in zero knowledge (only what `reveal` lists is disclosed): {query}",
        o.client_id,
        o.response_uri,
        r.purpose.as_deref().unwrap_or("not stated"),
        r.legal_basis.as_deref().unwrap_or("not stated"),
        r.scope,
    ))
}

/// Asks on the terminal; refuses without one (consent is never assumed).
fn consented(yes: bool) -> Result<bool, CliError> {
    use std::io::IsTerminal;
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(bad(
            "consent needed: read the request above and add --yes to answer it (or --decline)",
        ));
    }
    eprint!("Prove and send? [y/N] ");
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| bad(format!("reading the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

fn post_answer(o: &OpenedRequest, form: &[(&str, &str)]) -> Result<(), CliError> {
    let answer = agent()
        .post(&o.response_uri)
        .send_form(form)
        .map_err(|e| bad(format!("the verifier refused the answer: {}", describe(e))))?;
    if answer.status() != 200 {
        return Err(bad(format!(
            "the verifier answered HTTP {} (redirects are not followed)",
            answer.status()
        )));
    }
    Ok(())
}

/// `dossier openid4vp respond`.
pub fn respond(
    home: &Home,
    params: &Path,
    out: &Out,
    schemas: &SchemaSet,
    args: Respond<'_>,
) -> Result<i32, CliError> {
    let auth = parse_authorization(args.url)?;
    let opened = open(&auth, schemas)?;
    eprintln!("{}", consent_text(&opened)?);
    if args.decline || !consented(args.yes)? {
        post_answer(
            &opened,
            &[("error", "access_denied"), ("state", &opened.state)],
        )?;
        out.emit(
            "declined: the verifier was told access_denied".to_string(),
            json!({"status": "declined", "client_id": opened.client_id, "state": opened.state}),
        );
        return Ok(0);
    }
    let (p, timings) = present::prove(home, params, args.wallet, &opened.request, schemas, None)?;
    let vp = dossier_core::envelope::presentation_to_vp(&p, &args.context)?;
    let token = openid4vp::vp_token(&opened.request, &vp).to_string();
    post_answer(&opened, &[("vp_token", &token), ("state", &opened.state)])?;
    out.emit(
        format!(
            "sent: a {} proof of shape {} to {} (proved in {:.0} ms); the verifier accepted it",
            p.backend,
            p.shape.name(),
            opened.client_id,
            timings.prove_ms
        ),
        json!({"status": "sent", "client_id": opened.client_id, "state": opened.state,
               "shape": p.shape.name(), "backend": p.backend, "timings": timings}),
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_requests_carry_exactly_one_request_object() {
        let by_ref = parse_authorization(
            "openid4vp://?client_id=decentralized_identifier%3Adid%3Akey%3Az6Mk&request_uri=https%3A%2F%2Fv.example%2Fr%2F1&request_uri_method=post",
        )
        .expect("by reference");
        assert_eq!(by_ref.client_id, "decentralized_identifier:did:key:z6Mk");
        assert!(matches!(
            by_ref.object,
            ObjectAt::Reference { post: true, .. }
        ));
        let by_value =
            parse_authorization("openid4vp://?client_id=x&request=a.b.c").expect("by value");
        assert!(matches!(by_value.object, ObjectAt::Value(ref j) if j == "a.b.c"));
        for refused in [
            "not a url",
            "openid4vp://?request=a.b.c",
            "openid4vp://?client_id=x",
            "openid4vp://?client_id=x&request=a&request_uri=https://v.example/r",
            "openid4vp://?client_id=x&request=a&request_uri_method=post",
            "openid4vp://?client_id=x&request_uri=https://v.example/r&request_uri_method=put",
            "openid4vp://?client_id=x&request_uri=file:///etc/passwd",
            "openid4vp://?client_id=x&client_id=y&request=a",
        ] {
            assert!(parse_authorization(refused).is_err(), "{refused}");
        }
    }
}
