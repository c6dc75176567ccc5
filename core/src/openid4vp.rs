//! Presentation requests over OpenID for Verifiable Presentations 1.0, so that a wallet of
//! that ecosystem can be asked for a dossier proof and answer it the standard way.
//!
//! - **The verifier** is identified by the `decentralized_identifier` client identifier prefix:
//!   `decentralized_identifier:did:key:z6Mk…`, its request-signing Ed25519 key. Its request
//!   object is a JWS (`typ` `oauth-authz-req+jwt`, `alg` `EdDSA`, `kid` the key's `did:key`
//!   verification method), passed by value (`request=`) or by reference (`request_uri=`,
//!   fetched with GET, or POSTed a `wallet_nonce` that the object then carries).
//! - **What is asked** is a DCQL query ([`request_to_dcql`]): one credential query per requested
//!   credential, format `ldp_vc`, its type dossier's credential type, its claims the schema's id,
//!   the accepted issuers as `values` of `issuer.name`, and one claim per field the statement
//!   constrains or discloses (with `values` where the condition is a list of admissible values,
//!   as for `degree_level >= master`). DCQL has no words for ranges, sums or a nullifier's
//!   scope: as with Presentation Exchange ([`crate::exchange`]), the request itself travels
//!   beside it as `dossier_request`, and a wallet rebuilds the DCQL from it and refuses an
//!   object whose query differs, so what the holder is shown is what the proof proves.
//! - **The binding** OpenID4VP asks of an `ldp_vc` presentation — `challenge` the `nonce`,
//!   `domain` the client identifier — holds by construction: the nonce is the request's
//!   challenge (a public input of the proof) and the request's `audience` is the client
//!   identifier ([`PresentationRequest::domain`]); every verifier compares the whole request.
//! - **The answer** is a `direct_post` to the `response_uri`: `vp_token` maps each credential
//!   query's id to the one Verifiable Presentation that proves the whole statement
//!   ([`vp_token`]); [`presentation_from_vp_token`] refuses any other shape.
//!
//! See `docs/openid4vp.md`.

use crate::encoding::FieldType;
use crate::envelope::{cryptosuite, presentation_from_vp};
use crate::exchange::qualifying_members;
use crate::keys::KeyPair;
use crate::presentation::{Presentation, PresentationRequest};
use crate::query::CredentialQuery;
use crate::schema::SchemaSet;
use crate::{field, integrity, CoreError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The client identifier prefix dossier's verifiers use.
pub const CLIENT_ID_PREFIX: &str = "decentralized_identifier:";
/// A request object's JOSE `typ`.
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The media type a request URI answers with.
pub const REQUEST_OBJECT_MEDIA_TYPE: &str = "application/oauth-authz-req+jwt";
/// The request object's audience under static discovery (OpenID4VP 1.0, section 5.8).
pub const STATIC_AUDIENCE: &str = "https://self-issued.me/v2";
/// The DCQL format of a dossier answer: a Data Integrity secured W3C presentation.
pub const FORMAT: &str = "ldp_vc";
/// The longest request object read, in bytes (before anything is decoded).
pub const MAX_REQUEST_OBJECT: usize = 256 * 1024;
/// The longest `state`, `nonce` or `wallet_nonce`, in bytes.
pub const MAX_TOKEN: usize = 128;

const VC_TYPE: &str = "https://www.w3.org/2018/credentials#VerifiableCredential";
const DOSSIER_TYPE: &str = "urn:dossier:vocab:DossierCredential";

fn bad(reason: impl Into<String>) -> CoreError {
    CoreError::Malformed {
        what: "OpenID4VP request".into(),
        reason: reason.into(),
    }
}

/// The authorization request's parameters: the client id, and the request object by value or
/// by reference (with the method).
pub struct Authorization {
    /// The verifier's client identifier.
    pub client_id: String,
    /// Where its request object is.
    pub object: ObjectAt,
}

/// Where an authorization request's request object is.
pub enum ObjectAt {
    /// The signed request object itself (`request=`).
    Value(String),
    /// Its URL (`request_uri=`), fetched with POST and a `wallet_nonce` if `post`.
    Reference {
        /// The URL.
        uri: String,
        /// Whether the verifier takes a POST with a wallet nonce.
        post: bool,
    },
}

/// Reads an authorization request (a link, or the text of a QR code): exactly one of `request`
/// and `request_uri`, `request_uri_method` only with `request_uri` (`get` or `post`), an
/// http(s) request URI, no parameter twice.
pub fn parse_authorization(text: &str) -> Result<Authorization, CoreError> {
    let url =
        url::Url::parse(text.trim()).map_err(|_| bad("the authorization request is not a URL"))?;
    let mut params = std::collections::BTreeMap::new();
    for (k, v) in url.query_pairs() {
        if params.insert(k.to_string(), v.to_string()).is_some() {
            return Err(bad(format!(
                "the authorization request repeats the parameter {k}"
            )));
        }
    }
    let client_id = params
        .remove("client_id")
        .ok_or_else(|| bad("the authorization request has no client_id"))?;
    let method = params.remove("request_uri_method");
    let object = match (params.remove("request"), params.remove("request_uri")) {
        (Some(jws), None) if method.is_none() => ObjectAt::Value(jws),
        (None, Some(uri)) => {
            let post = match method.as_deref() {
                None | Some("get") => false,
                Some("post") => true,
                Some(_) => {
                    return Err(bad(
                        "invalid_request_uri_method: request_uri_method must be get or post",
                    ))
                }
            };
            if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                return Err(bad("request_uri must be an http(s) URL"));
            }
            ObjectAt::Reference { uri, post }
        }
        _ => {
            return Err(bad(
                "the authorization request needs exactly one of request and request_uri (and request_uri_method only with request_uri)",
            ))
        }
    };
    Ok(Authorization { client_id, object })
}

/// A verifier's client identifier: its request-signing key's `did:key` under the
/// `decentralized_identifier` prefix.
pub fn client_id(key: &KeyPair) -> String {
    format!("{CLIENT_ID_PREFIX}{}", integrity::did_key(&key.public()))
}

/// Whether a `state`, `nonce` or `wallet_nonce` is 1 to [`MAX_TOKEN`] URL-safe characters (the
/// only ones OpenID4VP allows in them).
pub fn valid_token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TOKEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The id of the `i`th credential query (DCQL ids are letters, digits, `_` and `-`).
fn query_id(i: usize) -> String {
    format!("dossier-credential-{i}")
}

/// The `values` DCQL can state for one field's conditions: the admissible members of an
/// ordered enumeration, or the listed values of an equality or membership; none for ranges
/// and exclusions (DCQL matches values exactly).
fn admissible_values(ty: &FieldType, ops: &BTreeMap<String, Value>) -> Option<Value> {
    let values = match ty {
        FieldType::Enum { members } => qualifying_members(members, ops)
            .into_iter()
            .map(|m| json!(m))
            .collect(),
        _ => match (ops.get("$eq"), ops.get("$in")) {
            (Some(v), _) => vec![v.clone()],
            (None, Some(Value::Array(list))) => list.clone(),
            _ => Vec::new(),
        },
    };
    let scalar = |v: &Value| v.is_string() || v.is_u64() || v.is_i64() || v.is_boolean();
    (!values.is_empty() && values.iter().all(scalar)).then_some(Value::Array(values))
}

fn credential_query(
    i: usize,
    c: &CredentialQuery,
    schemas: &SchemaSet,
) -> Result<Value, CoreError> {
    let schema = schemas.get(&c.schema)?;
    let schema_id = format!(
        "urn:dossier:schema:{}:{}",
        c.schema,
        field::to_hex(&schema.id())
    );
    let mut claims = vec![
        json!({"path": ["credentialSchema", "id"], "values": [schema_id]}),
        json!({"path": ["issuer", "name"], "values": c.issuers}),
    ];
    // One claim per field, constrained or disclosed (DCQL forbids pointing at a claim twice).
    let mut fields: BTreeMap<&str, Option<Value>> = BTreeMap::new();
    for (name, ops) in &c.predicates {
        let field = schema.field(name)?;
        fields.insert(name, admissible_values(&field.ty, ops));
    }
    for name in &c.reveal {
        fields.entry(name).or_insert(None);
    }
    for (name, values) in fields {
        let mut claim = Map::new();
        claim.insert("path".into(), json!(["credentialSubject", name]));
        if let Some(v) = values {
            claim.insert("values".into(), v);
        }
        claims.push(Value::Object(claim));
    }
    Ok(json!({
        "id": query_id(i),
        "format": FORMAT,
        "meta": {"type_values": [[VC_TYPE, DOSSIER_TYPE]]},
        "claims": claims,
    }))
}

/// A presentation request as a DCQL query (what DCQL cannot say travels beside it in the request
/// object as `dossier_request`).
pub fn request_to_dcql(r: &PresentationRequest, schemas: &SchemaSet) -> Result<Value, CoreError> {
    Ok(json!({
        "credentials": r.query.credentials.iter().enumerate()
            .map(|(i, c)| credential_query(i, c, schemas)).collect::<Result<Vec<_>, _>>()?,
    }))
}

/// The verifier's metadata: what it accepts (a Data Integrity proof of the request's backend).
pub fn client_metadata(r: &PresentationRequest) -> Value {
    json!({"vp_formats_supported": {FORMAT: {
        "proof_type_values": [integrity::PROOF_TYPE],
        "cryptosuite_values": [cryptosuite(r.backend)],
    }}})
}

/// Where a request object sends its answer, and how it identifies the transaction.
pub struct Transaction<'a> {
    /// The verifier's response endpoint (`direct_post`).
    pub response_uri: &'a str,
    /// The transaction's id, echoed by the wallet.
    pub state: &'a str,
    /// Issued at, unix seconds.
    pub issued_at: u64,
    /// The request expires then, unix seconds.
    pub expires_at: u64,
    /// The wallet's nonce, when it POSTed one to the request URI.
    pub wallet_nonce: Option<&'a str>,
}

/// The claims of a request object for `r`, which must be addressed to `key`'s client id.
pub fn request_object(
    r: &PresentationRequest,
    schemas: &SchemaSet,
    key: &KeyPair,
    t: &Transaction<'_>,
) -> Result<Value, CoreError> {
    let client_id = client_id(key);
    if r.audience.as_deref() != Some(client_id.as_str()) {
        return Err(bad(
            "the request is not addressed to this verifier's client id",
        ));
    }
    if !valid_token(t.state) || t.wallet_nonce.is_some_and(|n| !valid_token(n)) {
        return Err(bad(
            "state and wallet_nonce must be 1 to 128 URL-safe characters",
        ));
    }
    let mut claims = json!({
        "iss": client_id, "aud": STATIC_AUDIENCE, "iat": t.issued_at, "exp": t.expires_at,
        "client_id": client_id, "response_type": "vp_token", "response_mode": "direct_post",
        "response_uri": t.response_uri, "nonce": field::to_hex(&r.challenge), "state": t.state,
        "dcql_query": request_to_dcql(r, schemas)?, "client_metadata": client_metadata(r),
        "dossier_request": r,
    });
    if let Some(n) = t.wallet_nonce {
        claims["wallet_nonce"] = json!(n);
    }
    Ok(claims)
}

/// Signs a request object's claims as a compact JWS (EdDSA, `kid` the key's verification
/// method).
pub fn sign_request_object(claims: &Value, key: &KeyPair) -> String {
    let header = json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP,
        "kid": integrity::verification_method(&key.public())});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key.sign_bytes(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A request object a wallet has checked.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedRequest {
    /// The verifier's client identifier.
    pub client_id: String,
    /// Where the answer goes.
    pub response_uri: String,
    /// The transaction's id, to echo.
    pub state: String,
    /// The request the proof answers.
    pub request: PresentationRequest,
    /// The request expires then, unix seconds.
    pub expires_at: u64,
}

fn part(text: &str, what: &str) -> Result<Value, CoreError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| bad(format!("the {what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| bad(format!("the {what} is not a JSON object")))
}

fn text<'a>(claims: &'a Value, name: &str) -> Result<&'a str, CoreError> {
    claims[name]
        .as_str()
        .ok_or_else(|| bad(format!("`{name}` is missing")))
}

/// Checks the JWS's header and signature against the client identifier's key and returns its
/// claims.
fn verified_claims(jws: &str, client_id: &str) -> Result<Value, CoreError> {
    if jws.len() > MAX_REQUEST_OBJECT {
        return Err(bad("the request object is too long"));
    }
    let did = client_id
        .strip_prefix(CLIENT_ID_PREFIX)
        .filter(|d| d.starts_with("did:key:"))
        .ok_or_else(|| bad("the client id is not a decentralized_identifier with a did:key"))?;
    let mut parts = jws.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("the request object is not a compact JWS"));
    };
    let header = part(h, "JWS header")?;
    if header["typ"] != REQUEST_OBJECT_TYP {
        return Err(bad("the request object's typ is not oauth-authz-req+jwt"));
    }
    if header["alg"] != "EdDSA" {
        return Err(bad("the request object is not signed with EdDSA"));
    }
    let kid = text(&header, "kid")?;
    if kid.split_once('#').map(|(d, _)| d) != Some(did) {
        return Err(bad("the signing key is not the client id's"));
    }
    let public = integrity::public_from_verification_method(kid)?;
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(s)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad("the signature is not 64 bytes of base64url"))?;
    crate::keys::verify_strict(
        &public,
        format!("{h}.{p}").as_bytes(),
        &sig,
        "OpenID4VP request object",
    )?;
    part(p, "JWS payload")
}

/// What a wallet checks of a request object before it shows anything: the signature by the
/// client identifier's key; the client id, response type and mode; a `response_uri` and no
/// `redirect_uri`; no `transaction_data` (not supported, so refused as the specification asks);
/// the `wallet_nonce` it sent, if any; the expiry; and that the nonce, the audience and the DCQL
/// query are those the `dossier_request` makes.
pub fn open_request_object(
    jws: &str,
    client_id: &str,
    schemas: &SchemaSet,
    wallet_nonce: Option<&str>,
    now: u64,
) -> Result<OpenedRequest, CoreError> {
    let claims = verified_claims(jws, client_id)?;
    if text(&claims, "client_id")? != client_id {
        return Err(bad(
            "the request object's client_id differs from the authorization request's",
        ));
    }
    if text(&claims, "response_type")? != "vp_token" {
        return Err(bad("response_type must be vp_token"));
    }
    if text(&claims, "response_mode")? != "direct_post" {
        return Err(bad("response_mode must be direct_post"));
    }
    if claims.get("redirect_uri").is_some() {
        return Err(bad("redirect_uri is not allowed with direct_post"));
    }
    if claims.get("transaction_data").is_some() {
        return Err(bad("transaction_data is not supported"));
    }
    let response_uri = text(&claims, "response_uri")?;
    if !(response_uri.starts_with("https://") || response_uri.starts_with("http://")) {
        return Err(bad("response_uri must be an http(s) URL"));
    }
    let state = text(&claims, "state")?;
    if !valid_token(state) {
        return Err(bad("state must be 1 to 128 URL-safe characters"));
    }
    if claims.get("wallet_nonce").and_then(Value::as_str) != wallet_nonce {
        return Err(bad("the request object does not carry the wallet's nonce"));
    }
    let expires_at = claims["exp"]
        .as_u64()
        .ok_or_else(|| bad("`exp` is missing"))?;
    if expires_at <= now {
        return Err(bad("the request expired"));
    }
    let request: PresentationRequest = serde_json::from_value(claims["dossier_request"].clone())
        .map_err(|_| bad("dossier_request is missing or not a dossier presentation request"))?;
    request.scope_field()?;
    request.today_days()?;
    request.check_stated()?;
    if request.audience.as_deref() != Some(client_id) {
        return Err(bad("dossier_request is not addressed to this client id"));
    }
    if text(&claims, "nonce")? != field::to_hex(&request.challenge) {
        return Err(bad("the nonce is not dossier_request's challenge"));
    }
    if request_to_dcql(&request, schemas)? != claims["dcql_query"] {
        return Err(bad("dcql_query differs from the one dossier_request makes"));
    }
    Ok(OpenedRequest {
        client_id: client_id.to_string(),
        response_uri: response_uri.to_string(),
        state: state.to_string(),
        request,
        expires_at,
    })
}

/// The `vp_token` of an answer: every credential query's id mapped to the one Verifiable
/// Presentation that proves the whole statement.
pub fn vp_token(r: &PresentationRequest, vp: &Value) -> Value {
    Value::Object(
        (0..r.query.credentials.len())
            .map(|i| (query_id(i), json!([vp])))
            .collect(),
    )
}

fn bad_token(reason: &str) -> CoreError {
    CoreError::Malformed {
        what: "vp_token".into(),
        reason: reason.into(),
    }
}

/// The presentation a `vp_token` answering `r` carries: exactly one entry per credential query,
/// each an array of one Verifiable Presentation, all the same. The caller verifies it against
/// its request as any presentation.
pub fn presentation_from_vp_token(
    token: &Value,
    r: &PresentationRequest,
) -> Result<Presentation, CoreError> {
    let entries = token
        .as_object()
        .ok_or_else(|| bad_token("must be a JSON object"))?;
    let n = r.query.credentials.len();
    if entries.len() != n || (0..n).any(|i| !entries.contains_key(&query_id(i))) {
        return Err(bad_token(
            "must have exactly one entry per credential query of the request",
        ));
    }
    let first = &entries[&query_id(0)];
    let vp = match first.as_array().map(Vec::as_slice) {
        Some([vp]) => vp,
        _ => return Err(bad_token("each entry must be an array of one presentation")),
    };
    if entries.values().any(|e| e != first) {
        return Err(bad_token(
            "every credential query must be answered by the same presentation",
        ));
    }
    if !vp.is_object() {
        return Err(bad_token(
            "the presentation must be a W3C Verifiable Presentation (format ldp_vc)",
        ));
    }
    presentation_from_vp(vp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::presentation::Backend;

    const QUERY: &str = r#"{"credentials": [
      {"schema": "qualification", "issuers": ["univ.law-school", "univ.capital"],
       "where": {"degree_level": {"$gte": "master"}, "field": {"$eq": "law"}, "award_year": {"$lte": 2020}},
       "reveal": ["award_year"]},
      {"schema": "employment", "issuers": ["hr.tax-bureau"], "where": {"department": {"$in": ["audit", "tax"]}}}]}"#;

    fn key() -> KeyPair {
        KeyPair::from_seed("recruiter", [7u8; 32]).expect("key")
    }

    fn request(key: &KeyPair) -> PresentationRequest {
        PresentationRequest::new(
            serde_json::from_str(QUERY).expect("query"),
            "recruitment:2026:tax-bureau",
            "2026-12-07",
            3600,
        )
        .expect("request")
        .with_audience(client_id(key))
        .expect("audience")
    }

    fn transaction() -> Transaction<'static> {
        Transaction {
            response_uri: "https://verifier.example/openid4vp/responses",
            state: "tx-1",
            issued_at: 1_000,
            expires_at: 2_000,
            wallet_nonce: None,
        }
    }

    fn signed(claims: &Value) -> String {
        sign_request_object(claims, &key())
    }

    #[test]
    fn the_dcql_query_states_schema_issuers_and_admissible_values() {
        let k = key();
        let dcql = request_to_dcql(&request(&k), &SchemaSet::builtin()).expect("dcql");
        let q = &dcql["credentials"][0];
        assert_eq!(q["id"], "dossier-credential-0");
        assert_eq!(q["format"], "ldp_vc");
        assert_eq!(q["meta"]["type_values"][0][1], DOSSIER_TYPE);
        let claim = |q: &Value, name: &str| {
            q["claims"]
                .as_array()
                .expect("claims")
                .iter()
                .find(|c| c["path"][1] == name)
                .cloned()
                .expect("claim")
        };
        assert_eq!(
            claim(q, "name")["values"],
            json!(["univ.law-school", "univ.capital"])
        );
        assert_eq!(
            claim(q, "degree_level")["values"],
            json!(["master", "doctorate"])
        );
        assert_eq!(claim(q, "field")["values"], json!(["law"]));
        // A range has no values, and a field both bounded and disclosed is named once.
        assert!(claim(q, "award_year").get("values").is_none());
        let years = q["claims"]
            .as_array()
            .expect("claims")
            .iter()
            .filter(|c| c["path"][1] == "award_year")
            .count();
        assert_eq!(years, 1);
        assert_eq!(
            claim(&dcql["credentials"][1], "department")["values"],
            json!(["audit", "tax"])
        );
    }

    #[test]
    fn a_signed_request_object_opens_to_the_request() {
        let k = key();
        let r = request(&k);
        let claims = request_object(&r, &SchemaSet::builtin(), &k, &transaction()).expect("object");
        let jws = signed(&claims);
        let opened = open_request_object(&jws, &client_id(&k), &SchemaSet::builtin(), None, 1_500)
            .expect("opens");
        assert_eq!(opened.request, r);
        assert_eq!(opened.state, "tx-1");
        assert_eq!(r.domain(), client_id(&k));
        // Expired, or asked with a wallet nonce it does not carry: refused.
        assert!(
            open_request_object(&jws, &client_id(&k), &SchemaSet::builtin(), None, 2_000).is_err()
        );
        assert!(open_request_object(
            &jws,
            &client_id(&k),
            &SchemaSet::builtin(),
            Some("n-1"),
            1_500
        )
        .is_err());
        let with_nonce = Transaction {
            wallet_nonce: Some("n-1"),
            ..transaction()
        };
        let jws = signed(&request_object(&r, &SchemaSet::builtin(), &k, &with_nonce).expect("o"));
        assert!(open_request_object(
            &jws,
            &client_id(&k),
            &SchemaSet::builtin(),
            Some("n-1"),
            1_500
        )
        .is_ok());
    }

    #[test]
    fn a_request_not_addressed_to_the_key_is_not_made() {
        let k = key();
        let mut r = request(&k);
        r.audience = None;
        assert!(request_object(&r, &SchemaSet::builtin(), &k, &transaction()).is_err());
        let bad_state = Transaction {
            state: "a b",
            ..transaction()
        };
        assert!(request_object(&request(&k), &SchemaSet::builtin(), &k, &bad_state).is_err());
    }

    #[test]
    fn tampered_or_foreign_request_objects_are_refused() {
        let k = key();
        let other = KeyPair::from_seed("other", [9u8; 32]).expect("key");
        let r = request(&k);
        let claims = request_object(&r, &SchemaSet::builtin(), &k, &transaction()).expect("o");
        let id = client_id(&k);
        let opens =
            |jws: &str| open_request_object(jws, &id, &SchemaSet::builtin(), None, 1_500).is_ok();
        assert!(opens(&signed(&claims)));
        // Each changed claim that makes the object disagree with itself or with OpenID4VP,
        // even re-signed by the verifier's key, is caught by a check of its own.
        let changed = |f: &dyn Fn(&mut Value)| {
            let mut c = claims.clone();
            f(&mut c);
            opens(&signed(&c))
        };
        assert!(!changed(&|c| c["client_id"] = json!(client_id(&other))));
        assert!(!changed(&|c| c["response_type"] = json!("code")));
        assert!(!changed(&|c| c["response_mode"] = json!("fragment")));
        assert!(!changed(
            &|c| c["redirect_uri"] = json!("https://x.example/cb")
        ));
        assert!(!changed(&|c| c["transaction_data"] = json!(["e30"])));
        assert!(!changed(
            &|c| c["response_uri"] = json!("javascript:alert(1)")
        ));
        assert!(!changed(&|c| c["state"] = json!("")));
        assert!(!changed(&|c| c["nonce"] = json!("0x01")));
        assert!(!changed(&|c| c["exp"] = json!("soon")));
        assert!(!changed(&|c| c["dcql_query"]["credentials"][0]["claims"]
            [1]["values"] =
            json!(["univ.diploma-mill"])));
        assert!(!changed(
            &|c| c["dossier_request"]["audience"] = json!(client_id(&other))
        ));
        assert!(!changed(&|c| c["dossier_request"]["query"]
            ["credentials"][0]["issuers"] =
            json!(["univ.diploma-mill"])));
        // Signed by another key, under another typ or alg, or with the signature altered.
        assert!(!opens(&sign_request_object(&claims, &other)));
        let jws = signed(&claims);
        let (h, rest) = jws.split_once('.').expect("jws");
        let header = |v: Value| format!("{}.{rest}", URL_SAFE_NO_PAD.encode(v.to_string()));
        let kid = integrity::verification_method(&k.public());
        assert!(!opens(&header(
            json!({"alg": "EdDSA", "typ": "JWT", "kid": kid})
        )));
        assert!(!opens(&header(
            json!({"alg": "none", "typ": REQUEST_OBJECT_TYP, "kid": kid})
        )));
        assert!(!opens(&header(
            json!({"alg": "EdDSA", "typ": REQUEST_OBJECT_TYP})
        )));
        assert!(!opens(&format!("{h}.{rest}x")));
        assert!(!opens(&jws[..jws.len() - 2]));
        assert!(!opens("a.b"));
        assert!(!opens(&"a".repeat(MAX_REQUEST_OBJECT + 1)));
        // A client id of another prefix is not one this wallet trusts a key for.
        assert!(open_request_object(
            &jws,
            &format!("redirect_uri:{}", &id[CLIENT_ID_PREFIX.len()..]),
            &SchemaSet::builtin(),
            None,
            1_500
        )
        .is_err());
    }

    #[test]
    fn a_vp_token_has_one_entry_per_credential_query_all_the_same() {
        let k = key();
        let r = request(&k);
        let vp = json!({"type": ["VerifiablePresentation"]});
        let token = vp_token(&r, &vp);
        assert_eq!(token.as_object().expect("object").len(), 2);
        assert_eq!(token["dossier-credential-1"], json!([vp]));
        let refused = |t: Value| presentation_from_vp_token(&t, &r).is_err();
        assert!(refused(json!([])));
        assert!(refused(json!({"dossier-credential-0": [vp]})));
        assert!(refused(
            json!({"dossier-credential-0": [vp], "dossier-credential-1": [vp, vp]})
        ));
        assert!(refused(
            json!({"dossier-credential-0": [vp], "dossier-credential-1": [{"other": 1}]})
        ));
        assert!(refused(
            json!({"dossier-credential-0": ["jwt"], "dossier-credential-1": ["jwt"]})
        ));
        assert!(refused(json!({"dossier-credential-0": [vp], "x": [vp]})));
        // The right shape, but not a dossier presentation inside.
        assert!(refused(token));
    }

    #[test]
    fn the_client_metadata_names_the_backend_suite() {
        let k = key();
        let r = request(&k).with_backend(Backend::Halo2);
        assert_eq!(
            client_metadata(&r)["vp_formats_supported"]["ldp_vc"]["cryptosuite_values"],
            json!(["dossier-halo2-2026"])
        );
        assert!(valid_token("abc-_.~9"));
        assert!(!valid_token("a/b"));
        assert!(!valid_token(&"a".repeat(MAX_TOKEN + 1)));
    }
}
