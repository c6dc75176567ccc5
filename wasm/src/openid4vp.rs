//! The browser wallet's side of OpenID for Verifiable Presentations 1.0, with the CLI's own
//! checks (`dossier_core::openid4vp`): the authorization request read, the verifier's signed
//! request object opened (signature, self-consistency, the DCQL rebuilt from the dossier
//! request, the wallet nonce, expiry), and the answer's `vp_token` built from a presentation.
//! The page does the fetching and the `direct_post`.

use crate::Unusable;
use dossier_core::envelope::{presentation_to_vp, ContextUrl};
use dossier_core::openid4vp::{self as vp, ObjectAt};
use dossier_core::presentation::Presentation;
use dossier_core::schema::SchemaSet;
use serde_json::{json, Value};

fn text<'a>(input: &'a Value, what: &'static str) -> Result<&'a str, Unusable> {
    input[what]
        .as_str()
        .ok_or_else(|| Unusable::new(what, "missing, or not text"))
}

/// `{"url"}`: the authorization request's client id and where its request object is
/// (`request` by value, or `request_uri` and whether to POST a wallet nonce).
pub fn parse(input: &Value) -> Result<Value, Unusable> {
    let a = vp::parse_authorization(text(input, "url")?).map_err(|e| Unusable::new("url", e))?;
    Ok(match a.object {
        ObjectAt::Value(jws) => json!({"client_id": a.client_id, "request": jws}),
        ObjectAt::Reference { uri, post } => {
            json!({"client_id": a.client_id, "request_uri": uri, "post": post})
        }
    })
}

/// `{"request_object", "client_id", "wallet_nonce"?, "now"}`: the request object checked, and
/// what the holder is shown: the client id, where the answer goes, the state to echo, the
/// dossier request.
pub fn open(input: &Value) -> Result<Value, Unusable> {
    let jws = text(input, "request_object")?;
    if jws.len() > vp::MAX_REQUEST_OBJECT {
        return Err(Unusable::new("request_object", "too long"));
    }
    let now = input["now"]
        .as_u64()
        .ok_or_else(|| Unusable::new("now", "missing, or not a number"))?;
    let opened = vp::open_request_object(
        jws.trim(),
        text(input, "client_id")?,
        &SchemaSet::builtin(),
        input["wallet_nonce"].as_str(),
        now,
    )
    .map_err(|e| Unusable::new("request_object", e))?;
    Ok(json!({
        "client_id": opened.client_id,
        "response_uri": opened.response_uri,
        "state": opened.state,
        "request": opened.request,
        "expires_at": opened.expires_at,
    }))
}

/// `{"presentation"}`: the `vp_token` answering the presentation's request (a W3C Verifiable
/// Presentation carrying it, under each credential query's id).
pub fn answer(input: &Value) -> Result<Value, Unusable> {
    let p: Presentation = serde_json::from_value(input["presentation"].clone())
        .map_err(|e| Unusable::new("presentation", e))?;
    let vp_doc = presentation_to_vp(&p, &ContextUrl::default())
        .map_err(|e| Unusable::new("presentation", e))?;
    Ok(json!({ "vp_token": vp::vp_token(&p.request, &vp_doc).to_string() }))
}
