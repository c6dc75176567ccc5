//! Request extractors that answer in the service's one error shape: the caller behind a bearer
//! token and each role's token ([`IssuerToken`], [`HolderToken`], [`VerifierToken`],
//! [`RegulatorToken`], [`MemberToken`]: checked from the request's head, so a caller without the right token gets
//! 401/403 before any body is read), JSON bodies (`application/json` only, size and nesting
//! bounded, parse errors that never echo values), and path and query parameters.

use crate::config::{Principal, Role};
use crate::{AppState, ServiceError};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use dossier_core::Fr;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// The authenticated caller, or the public (no token).
#[derive(Clone, Debug)]
pub struct Caller(pub Option<Principal>);

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Caller(None));
        };
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ServiceError::Unauthorized)?;
        state
            .tokens
            .lookup(token.trim())
            .cloned()
            .map(|p| Caller(Some(p)))
            .ok_or(ServiceError::Unauthorized)
    }
}

/// The caller's principal, or 401: what every role's extractor starts from.
async fn principal(parts: &mut Parts, state: &Arc<AppState>) -> Result<Principal, ServiceError> {
    Caller::from_request_parts(parts, state)
        .await?
        .0
        .ok_or(ServiceError::Unauthorized)
}

/// The caller's token if `pick` accepts its role: 401 without a token, 403 ("only `who` may do
/// this") with another.
async fn token_of<T>(
    parts: &mut Parts,
    state: &Arc<AppState>,
    who: &str,
    pick: impl FnOnce(Principal) -> Option<T>,
) -> Result<T, ServiceError> {
    pick(principal(parts, state).await?)
        .ok_or_else(|| ServiceError::Forbidden(format!("only {who} may do this")))
}

/// A caller with an issuer's token, checked from the request's head before its body is read:
/// 401 without a token, 403 for another role or, on a path naming an issuer, another issuer.
pub struct IssuerToken {
    /// The token's name.
    pub token: String,
    /// The issuer it acts for.
    pub issuer: String,
}

impl IssuerToken {
    /// Refuses (403) an issuer other than the token's, without naming it.
    pub fn may_act_for(&self, issuer: &str) -> Result<(), ServiceError> {
        if self.issuer == issuer {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "this token may not act for this issuer".into(),
            ))
        }
    }
}

impl FromRequestParts<Arc<AppState>> for IssuerToken {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        let me = token_of(parts, state, "an issuer's token", |p| match p.role {
            Role::Issuer { issuer } => Some(IssuerToken {
                token: p.name,
                issuer,
            }),
            _ => None,
        })
        .await?;
        let path =
            axum::extract::Path::<std::collections::HashMap<String, String>>::from_request_parts(
                parts, state,
            )
            .await;
        if let Some(named) = path.as_ref().ok().and_then(|p| p.get("issuer")) {
            me.may_act_for(named)?;
        }
        Ok(me)
    }
}

/// A caller with a holder's token (401 / 403 before the body is read).
pub struct HolderToken {
    /// The token's name.
    pub token: String,
    /// The holder commitment it is bound to.
    pub holder: Fr,
}

impl FromRequestParts<Arc<AppState>> for HolderToken {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        token_of(parts, state, "a holder's token", |p| {
            match (&p.role, p.holder) {
                (Role::Holder { .. }, Some(holder)) => Some(HolderToken {
                    token: p.name,
                    holder,
                }),
                _ => None,
            }
        })
        .await
    }
}

/// A caller with a verifier's token (401 / 403 before the body is read); the token's name.
pub struct VerifierToken(pub String);

impl FromRequestParts<Arc<AppState>> for VerifierToken {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        token_of(parts, state, "a verifier's token", |p| {
            matches!(p.role, Role::Verifier).then_some(VerifierToken(p.name))
        })
        .await
    }
}

/// A caller with a committee member's token (401 / 403 before the body is read); the member's
/// name.
pub struct MemberToken(pub String);

impl FromRequestParts<Arc<AppState>> for MemberToken {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        token_of(parts, state, "a committee member's token", |p| {
            match p.role {
                Role::Member { member } => Some(MemberToken(member)),
                _ => None,
            }
        })
        .await
    }
}

/// A caller with an issuer's token for the issuer in the path, or any member's token: who may
/// read an issuer's proposals (401 / 403 before anything is read).
pub struct IssuerOrMember;

impl FromRequestParts<Arc<AppState>> for IssuerOrMember {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        match principal(parts, state).await?.role {
            Role::Member { .. } => Ok(IssuerOrMember),
            Role::Issuer { .. } => IssuerToken::from_request_parts(parts, state)
                .await
                .map(|_| IssuerOrMember),
            _ => Err(ServiceError::Forbidden(
                "only the issuer's token or a committee member's may do this".into(),
            )),
        }
    }
}

/// A caller with a regulator's token (401 / 403 before the body is read); the token's name.
pub struct RegulatorToken(pub String);

impl FromRequestParts<Arc<AppState>> for RegulatorToken {
    type Rejection = ServiceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Self::Rejection> {
        token_of(parts, state, "a regulator's token", |p| {
            matches!(p.role, Role::Regulator).then_some(RegulatorToken(p.name))
        })
        .await
    }
}

/// A credential id in a path, in its one decimal form: `5`, never `+5`, `05` or `5 `.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CredentialId(pub u32);

impl<'de> serde::Deserialize<'de> for CredentialId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CredentialId, D::Error> {
        canonical_decimal(&String::deserialize(d)?)
            .map(CredentialId)
            .ok_or_else(|| serde::de::Error::custom("a credential id is a decimal u32"))
    }
}

/// A proposal id in a path, in its one decimal form (as [`CredentialId`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProposalId(pub u64);

impl<'de> serde::Deserialize<'de> for ProposalId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<ProposalId, D::Error> {
        canonical_decimal(&String::deserialize(d)?)
            .map(ProposalId)
            .ok_or_else(|| serde::de::Error::custom("a proposal id is a decimal u64"))
    }
}

/// A number written in its one decimal form: digits only, no leading zero, in range.
fn canonical_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped).
pub fn json_depth(bytes: &[u8]) -> usize {
    let (mut depth, mut max, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Describes a JSON parse error without the offending value: serde's own messages quote it
/// ("invalid type: string \"...\"", "unknown variant `...`"), and a body may hold a secret.
/// Kept: serde's messages that name only our schema's fields, and the messages of our own
/// validating types (a shape, a backend), which never quote a value.
pub fn describe_json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = text.split(" at line").next().unwrap_or("");
    let ours = [
        "missing field",
        "duplicate field",
        "shape: ",
        "field `backend`",
    ];
    let what = if ours.iter().any(|p| text.starts_with(p)) {
        text.to_string()
    } else if let Some(expected) = ["unknown variant `", "unknown field `"]
        .iter()
        .find(|p| text.starts_with(*p))
        .and_then(|_| text.split_once("`, expected "))
        .map(|(_, expected)| expected)
    {
        // The caller's variant or key is dropped; what we expect is ours to say.
        let kind = if text.starts_with("unknown variant") {
            "variant"
        } else {
            "field"
        };
        format!("unknown {kind} (expected {expected})")
    } else {
        match e.classify() {
            serde_json::error::Category::Syntax => "not valid JSON".to_string(),
            serde_json::error::Category::Eof => "the JSON ends early".to_string(),
            serde_json::error::Category::Data => {
                "a value has the wrong type or is out of range".to_string()
            }
            serde_json::error::Category::Io => "the body could not be read".to_string(),
        }
    };
    format!("{what} (line {}, column {})", e.line(), e.column())
}

/// A body of one media type, read whole and bounded by the service's limit (415 for another
/// media type, 413 beyond the limit).
async fn bounded_body(
    req: Request,
    state: &Arc<AppState>,
    media_type: &str,
) -> Result<axum::body::Bytes, ServiceError> {
    let limit = state.limits.body_bytes;
    let expected = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case(media_type));
    if !expected {
        return Err(ServiceError::UnsupportedMediaType);
    }
    let bytes = axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::TooLarge { limit }
            } else {
                ServiceError::bad("bad_body", "body", "the body could not be read")
            }
        })?;
    if bytes.len() > limit {
        return Err(ServiceError::TooLarge { limit });
    }
    Ok(bytes)
}

/// A JSON body, bounded in size and nesting.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for Body<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let bytes = bounded_body(req, state, "application/json").await?;
        if json_depth(&bytes) > state.limits.json_depth {
            return Err(ServiceError::bad(
                "too_deep",
                "body",
                format!("JSON nested deeper than {} levels", state.limits.json_depth),
            ));
        }
        serde_json::from_slice(&bytes)
            .map(Body)
            .map_err(|e| ServiceError::bad("malformed_json", "body", describe_json_error(&e)))
    }
}

/// A form body (`application/x-www-form-urlencoded`, as OpenID4VP's `direct_post` and request
/// URI POSTs send), bounded in size like a JSON body.
pub struct FormBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<Arc<AppState>> for FormBody<T> {
    type Rejection = ServiceError;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let bytes = bounded_body(req, state, "application/x-www-form-urlencoded").await?;
        serde_urlencoded::from_bytes(&bytes)
            .map(FormBody)
            .map_err(|_| {
                ServiceError::bad(
                    "malformed_form",
                    "body",
                    "not a form of the expected parameters (each at most once)",
                )
            })
    }
}

/// Query-string parameters.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Params(q.0))
            .map_err(|_| {
                ServiceError::bad(
                    "bad_query",
                    "query",
                    "the query string's parameters are missing, unknown or not numbers in range",
                )
            })
    }
}

/// Path parameters.
pub struct PathArgs<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathArgs<T> {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathArgs(p.0))
            .map_err(|_| ServiceError::bad("bad_path", "path", "a path parameter is malformed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_nesting_outside_strings() {
        assert_eq!(json_depth(b"{}"), 1);
        assert_eq!(json_depth(br#"{"a":[1,{"b":[]}]}"#), 4);
        assert_eq!(json_depth(br#"{"a":"[[[[{{{{\"[["}"#), 1);
        assert_eq!(json_depth(&[b'['; 100]), 100);
    }

    #[test]
    fn json_errors_do_not_echo_values() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct S {
            n: u32,
        }
        let e = serde_json::from_str::<S>(r#"{"n":"SECRET-MARKER"}"#).expect_err("must fail");
        let d = describe_json_error(&e);
        assert!(!d.contains("SECRET-MARKER"), "{d}");
        let e = serde_json::from_str::<S>(r#"{}"#).expect_err("must fail");
        assert!(describe_json_error(&e).contains("missing field `n`"));
        // Regression: unknown keys and enum variants were quoted back.
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            mode: Mode,
        }
        #[derive(serde::Deserialize, Debug)]
        enum Mode {
            A,
        }
        for body in [r#"{"SECRET-MARKER": 1}"#, r#"{"mode": "SECRET-MARKER"}"#] {
            let d = describe_json_error(&serde_json::from_str::<T>(body).expect_err("must fail"));
            assert!(
                !d.contains("SECRET-MARKER") && d.contains("expected"),
                "{d}"
            );
        }
    }
}
