//! dossier's store: the issuers' registries and the append-only ledger, in one embedded
//! database file, and the regulators' audit over a ledger.
//!
//! - [`registry`]: depth-32 Poseidon sparse Merkle trees, batch updates, membership paths;
//! - [`kv`]: one storage interface over two engines, the embedded default (redb) and PostgreSQL;
//! - [`db`]: the store itself, where every change is one durable transaction over registry and
//!   ledger together;
//! - [`holder`]: which of a holder's credentials can answer a query now, with their paths;
//! - [`home`]: the home folder shared by the CLI and the service (database and keys);
//! - [`export`]: the ledger as a regulator receives it;
//! - [`ballot`]: ballots of anonymous peer rating, their archives of ratings and rolls;
//! - [`round`]: appraisal rounds declared on the ledger, and their proofs of quota;
//! - [`rules`]: rule files adopted on the ledger, and the engine's actions, each taken once;
//! - [`outbox`]: webhook subscriptions and the durable outbox of messages announcing actions;
//! - [`campaign`]: recruitment campaigns, their archived applications and shortlists;
//! - [`backup`]: online, consistent snapshots of the store into a new private file;
//! - [`scratch`]: a throw-away PostgreSQL server for tests and restores;
//! - [`audit`]: replay and check a ledger, reporting the first discrepancy.

pub mod audit;
pub mod authority;
pub mod backup;
pub mod ballot;
pub mod campaign;
pub mod db;
mod error;
pub mod export;
pub mod holder;
pub mod home;
pub mod keys;
pub mod kv;
pub mod ledger;
pub mod outbox;
pub mod registry;
pub mod round;
pub mod rules;
pub mod scratch;

pub use db::{IssuerInfo, Replacement, Store, StoreReader};
pub use error::StoreError;
/// What a store needs of its database to be read (both `Store` and `StoreReader` have it).
pub use kv::Reading;
