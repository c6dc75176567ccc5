//! Rules that run themselves: the seed's "smart contracts" for personnel procedures. When a
//! case falls due (probation ends a year after recruitment, a sanction expires, years of service
//! are reached) the issuer's engine takes the rule's actions itself, so that nobody forgets,
//! delays or favours a case, and anyone can check afterwards that every case was treated by the
//! same published rule.
//!
//! - [`rule`]: rule files (TOML, conditions in CEL), parsed and checked against the schemas;
//! - [`facts`]: what a rule sees of a credential, and the calendar functions it may call;
//! - [`book`]: an issuer's adopted rules and credentials as its ledger entries show them;
//! - [`engine`]: the cases due on a day, deterministic and replayable;
//! - [`office`]: the HR office's side over its store: run the engine, approve tasks;
//! - [`log`]: the regulator's audit of the rule log;
//! - [`webhook`]: Standard Webhooks signatures and delivery from the store's durable outbox.
//!
//! The ledger carries a rule's hash when it is adopted and, for each action, the rule's hash,
//! the credential id and the occasion: never a value. The store takes each action once.

pub mod book;
pub mod engine;
pub mod facts;
pub mod log;
pub mod office;
pub mod rule;
pub mod webhook;

pub use book::{IssuerLedger, Rulebook};
pub use engine::{evaluate, Case, Evaluation};
pub use rule::Rule;

/// What can go wrong with a rule or its evaluation. Messages name the field or rule at fault,
/// never a credential's value.
#[derive(Debug, thiserror::Error)]
pub enum WorkflowError {
    /// A rule file is malformed.
    #[error("rule file, `{field}`: {reason}")]
    Rule {
        /// The part of the file at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// One of a rule's expressions does not compile or cannot be evaluated.
    #[error("rule `{field}` expression: {reason}")]
    Expression {
        /// `due` or `condition`.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A credential's value does not fit its schema.
    #[error("credential value `{field}` does not fit its schema")]
    Value {
        /// The field.
        field: String,
    },
    /// The opening of the credential version an event wrote was not given.
    #[error("no opening of the credential version the event wrote")]
    OpeningMissing,
    /// A rule adopted on the ledger has no published text.
    #[error("rule {rule} was adopted but its text is not available")]
    TextMissing {
        /// Its hash.
        rule: String,
    },
    /// A task cannot be approved or declined as asked.
    #[error("task: {reason}")]
    Task {
        /// Why.
        reason: String,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] dossier_store::StoreError),
    /// A value could not be encoded or checked.
    #[error(transparent)]
    Core(#[from] dossier_core::CoreError),
    /// A webhook secret or signature is unusable, or a signature does not verify.
    #[error("webhook: {reason}")]
    Webhook {
        /// Why.
        reason: String,
    },
    /// A rule's text does not match its adoption (hash or name).
    #[error("rule {rule}: the text given is not the one adopted")]
    TextMismatch {
        /// Its hash.
        rule: String,
    },
}
