//! The webhook outbox: subscriptions of other systems (payroll, the pension office, the
//! servants' notification channel) to an issuer's rule actions, and the messages waiting to be
//! delivered to them. A message is written in the same transaction as the `RuleFired` entry it
//! announces ([`Store::fire_rules`]), so an action taken is never left unannounced, and it
//! stays in the outbox until its receiver acknowledges it: a receiver that is down loses
//! nothing. Delivery is at least once (a deliverer killed after the receiver answered and
//! before it recorded the answer sends again); receivers de-duplicate by the message id, which
//! is fixed when the message is written.
//!
//! Messages carry ids and kinds (the rule, the credential id, the ledger entry, the parties and
//! the actions' public titles), never a credential's value.
//!
//! Tables: `webhook_subscriptions` name -> JSON [`Subscription`]; `webhook_outbox` sequence
//! number -> JSON [`Message`].

use crate::db::{record_from_json, record_json};
use crate::kv::{Readable, Reading, TableDef, WriteTxn};
use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

/// `webhook_subscriptions`: name -> JSON [`Subscription`].
pub const SUBSCRIPTIONS: TableDef<&str, &str> = TableDef::new("webhook_subscriptions");
/// `webhook_outbox`: sequence number -> JSON [`Message`].
pub const OUTBOX: TableDef<u64, &str> = TableDef::new("webhook_outbox");

/// The most attempts at one message before it is set aside as failed.
pub const MAX_ATTEMPTS: u32 = 12;

/// A system subscribed to an issuer's rule actions addressed to some parties.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subscription {
    /// Its name (unique).
    pub name: String,
    /// The issuer whose actions it receives.
    pub issuer: String,
    /// Where messages are POSTed.
    pub url: String,
    /// The Standard Webhooks signing secret (`whsec_` + base64): the store file is readable by
    /// its owner only.
    pub secret: String,
    /// The parties whose actions it receives (`hr_office`, `servant`, ...).
    pub parties: Vec<String>,
    /// Whether its messages carry the case credential's values (`data.values`: its schema and
    /// fields). Off by default: a message names ids and kinds only. Set it only for a
    /// subscriber entitled to the data (payroll for a status change, say), over HTTPS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub values: bool,
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// Waiting for (another) attempt.
    Pending,
    /// Acknowledged by its receiver (2xx).
    Delivered,
    /// Set aside after [`MAX_ATTEMPTS`] attempts (an operator re-queues it).
    Failed,
}

/// One message for one subscriber.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// Its sequence number in the outbox.
    pub seq: u64,
    /// The id receivers de-duplicate by (`msg_<entry>_<subscription>`).
    pub id: String,
    /// The subscription.
    pub subscription: String,
    /// The JSON body, exactly as signed and sent.
    pub body: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before this time (unix milliseconds).
    pub next_attempt_ms: u64,
    /// Where it stands.
    pub delivery: Delivery,
    /// The last failure, in words (a status code or a connection error; no body).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// The wait before attempt `attempts + 1`: 1 s doubling to at most 1 h.
pub fn backoff_ms(attempts: u32) -> u64 {
    1000u64.saturating_mul(1 << attempts.min(12)).min(3_600_000)
}

fn refused(reason: impl Into<String>) -> StoreError {
    StoreError::Refused {
        reason: reason.into(),
    }
}

/// Queues a message for every subscription of `issuer` that receives any of `parties`, in the
/// caller's transaction. `body` is given the subscription's message id.
pub(crate) fn enqueue(
    txn: &WriteTxn,
    issuer: &str,
    entry: u64,
    parties: &[String],
    body: &dyn Fn(&str, &Subscription) -> String,
    now_ms: u64,
) -> Result<(), StoreError> {
    let subscriptions: Vec<Subscription> = {
        let t = txn.open_table(SUBSCRIPTIONS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let s: Subscription = record_from_json("subscription", row?.1.value())?;
            if s.issuer == issuer && s.parties.iter().any(|p| parties.contains(p)) {
                out.push(s);
            }
        }
        out
    };
    let mut outbox = txn.open_table(OUTBOX)?;
    let first = outbox.last()?.map_or(0, |(k, _)| k.value() + 1);
    for (seq, s) in (first..).zip(subscriptions) {
        let id = format!("msg_{entry}_{}", s.name);
        let message = Message {
            seq,
            body: body(&id, &s),
            id,
            subscription: s.name,
            attempts: 0,
            next_attempt_ms: now_ms,
            delivery: Delivery::Pending,
            last_error: None,
        };
        outbox.insert(seq, record_json("message", &message)?.as_str())?;
    }
    Ok(())
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

impl Store {
    /// Adds (or replaces) a subscription. Its issuer must be registered here.
    pub fn subscribe(&self, subscription: &Subscription) -> Result<(), StoreError> {
        if !valid_name(&subscription.name) {
            return Err(refused(
                "a subscription's name has 1 to 64 lower-case letters, digits, `-` and `.`",
            ));
        }
        if !(subscription.url.starts_with("http://") || subscription.url.starts_with("https://")) {
            return Err(refused("a subscription's url is http:// or https://"));
        }
        if subscription.parties.is_empty() {
            return Err(refused("a subscription receives at least one party"));
        }
        self.issuer(&subscription.issuer)?;
        let txn = self.raw().begin_write()?;
        txn.open_table(SUBSCRIPTIONS)?.insert(
            subscription.name.as_str(),
            record_json("subscription", subscription)?.as_str(),
        )?;
        txn.commit()?;
        Ok(())
    }

    /// Records an attempt at a message: delivered, or failed (then retried after
    /// [`backoff_ms`], or set aside after [`MAX_ATTEMPTS`]).
    pub fn record_attempt(
        &self,
        seq: u64,
        outcome: Result<(), String>,
        now_ms: u64,
    ) -> Result<Message, StoreError> {
        let txn = self.raw().begin_write()?;
        let message = {
            let mut t = txn.open_table(OUTBOX)?;
            let mut m: Message = match t.get(seq)? {
                Some(v) => record_from_json("message", v.value())?,
                None => return Err(refused("no such message")),
            };
            m.attempts = m.attempts.saturating_add(1);
            match outcome {
                Ok(()) => {
                    m.delivery = Delivery::Delivered;
                    m.last_error = None;
                }
                Err(e) => {
                    m.last_error = Some(e);
                    if m.attempts >= MAX_ATTEMPTS {
                        m.delivery = Delivery::Failed;
                    } else {
                        m.next_attempt_ms = now_ms.saturating_add(backoff_ms(m.attempts - 1));
                    }
                }
            }
            t.insert(seq, record_json("message", &m)?.as_str())?;
            m
        };
        txn.commit()?;
        Ok(message)
    }
}

impl<D: Reading> Store<D> {
    /// Every subscription.
    pub fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(SUBSCRIPTIONS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            out.push(record_from_json("subscription", row?.1.value())?);
        }
        Ok(out)
    }

    /// Messages of the outbox: all, or only those pending and due by `due_by_ms`.
    pub fn outbox(&self, due_by_ms: Option<u64>) -> Result<Vec<Message>, StoreError> {
        let txn = self.raw().begin_read()?;
        let t = txn.open_table(OUTBOX)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let m: Message = record_from_json("message", row?.1.value())?;
            let wanted = match due_by_ms {
                None => true,
                Some(now) => m.delivery == Delivery::Pending && m.next_attempt_ms <= now,
            };
            if wanted {
                out.push(m);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff_ms(0), 1000);
        assert_eq!(backoff_ms(1), 2000);
        assert_eq!(backoff_ms(5), 32_000);
        assert_eq!(backoff_ms(12), 3_600_000);
        assert_eq!(backoff_ms(u32::MAX), 3_600_000);
    }
}
