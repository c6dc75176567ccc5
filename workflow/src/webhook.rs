//! Webhooks in the Standard Webhooks scheme (standardwebhooks.com): each message is POSTed
//! with `webhook-id` (fixed when the message is written: receivers de-duplicate by it),
//! `webhook-timestamp` (unix seconds, fresh for each attempt) and `webhook-signature`
//! (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, keyed by the subscription's
//! `whsec_` secret), so a receiver's existing library verifies what dossier sends.
//!
//! Delivery reads the store's outbox ([`dossier_store::outbox`]): each due message is sent
//! once per pass; a 2xx answer marks it delivered, anything else schedules the next attempt
//! with exponential backoff. At least once: a deliverer killed between the receiver's answer
//! and its record sends the message again, with the same id.

use crate::WorkflowError;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_store::outbox::{Delivery, Message, Subscription};
use dossier_store::Store;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The prefix of a Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// How far a receiver accepts a timestamp from its clock (the scheme's recommendation).
pub const TOLERANCE_SECS: u64 = 300;

/// A new random secret: `whsec_` + base64 of 24 bytes.
pub fn new_secret() -> String {
    let mut key = [0u8; 24];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn key_of(secret: &str) -> Result<Vec<u8>, WorkflowError> {
    let b64 = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(b64).map_err(|_| WorkflowError::Webhook {
        reason: "the secret is not whsec_ followed by base64".into(),
    })
}

fn mac(key: &[u8], id: &str, timestamp: u64, body: &[u8]) -> Result<Hmac<Sha256>, WorkflowError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|_| WorkflowError::Webhook {
        reason: "the secret is empty".into(),
    })?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(mac)
}

/// The `webhook-signature` header of a message.
pub fn sign(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> Result<String, WorkflowError> {
    let tag = mac(&key_of(secret)?, id, timestamp, body)?
        .finalize()
        .into_bytes();
    Ok(format!("v1,{}", STANDARD.encode(tag)))
}

/// What a receiver checks: the timestamp within [`TOLERANCE_SECS`] of `now`, and one of the
/// space-separated `v1,` signatures matching (compared in constant time).
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: u64,
    signatures: &str,
    body: &[u8],
    now: u64,
) -> Result<(), WorkflowError> {
    if now.abs_diff(timestamp) > TOLERANCE_SECS {
        return Err(WorkflowError::Webhook {
            reason: "the timestamp is too far from now".into(),
        });
    }
    let key = key_of(secret)?;
    for s in signatures.split(' ') {
        let Some(b64) = s.strip_prefix("v1,") else {
            continue;
        };
        let Ok(tag) = STANDARD.decode(b64) else {
            continue;
        };
        if mac(&key, id, timestamp, body)?.verify_slice(&tag).is_ok() {
            return Ok(());
        }
    }
    Err(WorkflowError::Webhook {
        reason: "no signature matches".into(),
    })
}

/// What one delivery pass did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Pass {
    /// Messages acknowledged.
    pub delivered: usize,
    /// Messages that failed this time (retried later).
    pub retrying: usize,
    /// Messages set aside after their last attempt.
    pub failed: usize,
}

/// The current time in unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// POSTs one message; `Ok` on a 2xx answer. Errors name the status or the kind of failure,
/// never the body.
fn post(agent: &ureq::Agent, s: &Subscription, m: &Message) -> Result<(), String> {
    let timestamp = now_ms() / 1000;
    let signature =
        sign(&s.secret, &m.id, timestamp, m.body.as_bytes()).map_err(|e| e.to_string())?;
    let answer = agent
        .post(&s.url)
        .set("content-type", "application/json")
        .set("webhook-id", &m.id)
        .set("webhook-timestamp", &timestamp.to_string())
        .set("webhook-signature", &signature)
        .send_string(&m.body);
    match answer {
        Ok(r) if (200..300).contains(&r.status()) => Ok(()),
        Ok(r) => Err(format!("answered {}", r.status())),
        Err(ureq::Error::Status(code, _)) => Err(format!("answered {code}")),
        Err(ureq::Error::Transport(t)) => Err(format!("not reached ({})", t.kind())),
    }
}

/// Sends every message due now, once, and records each outcome.
pub fn deliver_due(store: &Store, timeout: Duration) -> Result<Pass, dossier_store::StoreError> {
    let agent = ureq::AgentBuilder::new()
        .timeout(timeout)
        .redirects(0)
        .build();
    let subscriptions = store.subscriptions()?;
    let mut pass = Pass::default();
    for m in store.outbox(Some(now_ms()))? {
        let outcome = match subscriptions.iter().find(|s| s.name == m.subscription) {
            Some(s) => post(&agent, s, &m),
            None => Err("the subscription was removed".into()),
        };
        let recorded = store.record_attempt(m.seq, outcome, now_ms())?;
        match recorded.delivery {
            Delivery::Delivered => pass.delivered += 1,
            Delivery::Pending => pass.retrying += 1,
            Delivery::Failed => pass.failed += 1,
        }
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standard_webhooks_test_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let (id, ts, body) = (
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        let sig = sign(secret, id, ts, body).expect("sign");
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        verify(secret, id, ts, &format!("v1,bm9wZQ== {sig}"), body, ts + 10).expect("verifies");
        assert!(
            verify(secret, id, ts, &sig, b"{\"test\": 2432232315}", ts).is_err(),
            "body"
        );
        assert!(
            verify(secret, "msg_other", ts, &sig, body, ts).is_err(),
            "id"
        );
        assert!(
            verify(secret, id, ts + 1, &sig, body, ts).is_err(),
            "timestamp"
        );
        assert!(
            verify(secret, id, ts, &sig, body, ts + TOLERANCE_SECS + 1).is_err(),
            "stale"
        );
        assert!(
            verify(&new_secret(), id, ts, &sig, body, ts).is_err(),
            "another secret"
        );
        assert!(verify(secret, id, ts, "v2,abc", body, ts).is_err());
        assert!(sign("whsec_***", id, ts, body).is_err());
    }

    #[test]
    fn secrets_are_random_and_well_formed() {
        let (a, b) = (new_secret(), new_secret());
        assert_ne!(a, b);
        assert!(a.starts_with(SECRET_PREFIX));
        assert_eq!(key_of(&a).expect("key").len(), 24);
    }
}
