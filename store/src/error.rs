//! The one error type of the store crate.

use dossier_core::CoreError;

/// What went wrong in the store. Messages name the issuer, credential id or file at fault, never
/// credential values or secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The embedded database failed.
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    /// The PostgreSQL server failed or refused a statement.
    #[error("database ({during}): {reason}")]
    Postgres {
        /// What the store was doing.
        during: &'static str,
        /// PostgreSQL's message and code (never a row's values).
        reason: String,
    },
    /// Another process kept the database locked for longer than the wait allowed.
    #[error("database {path} is in use by another process (waited {waited_ms} ms)")]
    Locked {
        /// The database file.
        path: String,
        /// How long we waited.
        waited_ms: u128,
    },
    /// An encoding, key or signature check failed.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// No issuer of that name is registered.
    #[error("unknown issuer `{name}`")]
    UnknownIssuer {
        /// The name asked for.
        name: String,
    },
    /// An issuer of that name is already registered.
    #[error("issuer `{name}` is already registered")]
    IssuerExists {
        /// The name.
        name: String,
    },
    /// The key offered is not the issuer's registered key.
    #[error("the key given is not issuer `{name}`'s registered key")]
    WrongIssuerKey {
        /// The issuer.
        name: String,
    },
    /// The key offered is not the ledger's key, or the ledger has none yet.
    #[error("ledger key: {reason}")]
    LedgerKey {
        /// What is wrong.
        reason: String,
    },
    /// No live credential has that id in that issuer's registry.
    #[error("issuer `{issuer}` has no live credential {credential_id}")]
    CredentialNotFound {
        /// The issuer.
        issuer: String,
        /// The id.
        credential_id: u32,
    },
    /// The registry's 2^32 ids are used up.
    #[error("issuer `{issuer}`'s registry is full")]
    RegistryFull {
        /// The issuer.
        issuer: String,
    },
    /// The ledger's stored structure is inconsistent or a request is out of its range.
    #[error("ledger: {reason}")]
    Ledger {
        /// What is wrong.
        reason: String,
    },
    /// A request was refused before anything was written (a name, a path, an existing file).
    #[error("{reason}")]
    Refused {
        /// Why.
        reason: String,
    },
    /// A file in the home folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The issuer is not accredited for the schema by the ledger's accreditation authority.
    #[error("issuer `{issuer}` is not accredited for schema `{schema}`")]
    NotAccredited {
        /// The issuer.
        issuer: String,
        /// The schema.
        schema: String,
    },
    /// The schema's credentials go through its committee (propose, approve, finalize).
    #[error("schema `{schema}` of issuer `{issuer}` needs its committee's approvals: propose it")]
    CommitteeRequired {
        /// The issuer.
        issuer: String,
        /// The schema.
        schema: String,
    },
    /// No pending proposal has that id.
    #[error("no pending proposal {proposal}")]
    UnknownProposal {
        /// The id asked for.
        proposal: u64,
    },
    /// The key is not a member of the committee in force for the proposal's schema.
    #[error("the key given is not a member of the committee for proposal {proposal}")]
    NotAMember {
        /// The proposal.
        proposal: u64,
    },
    /// The member approved the proposal already.
    #[error("this member already approved proposal {proposal}")]
    AlreadyApproved {
        /// The proposal.
        proposal: u64,
    },
    /// Too few of the committee's members approved the proposal.
    #[error(
        "proposal {proposal} has {approvals} of the {threshold} approvals its committee needs"
    )]
    ThresholdNotMet {
        /// The proposal.
        proposal: u64,
        /// Approvals counted.
        approvals: usize,
        /// Approvals needed.
        threshold: usize,
    },
    /// No such appraisal round.
    #[error("no such appraisal round")]
    UnknownRound,
    /// The round cannot be declared: it overlaps another round of the issuer, repeats a unit
    /// and year, or names ids not issued yet.
    #[error("round refused: {reason}")]
    RoundRefused {
        /// Why.
        reason: String,
    },
    /// No ballot of that name.
    #[error("no such ballot")]
    UnknownBallot,
    /// A ballot of that name was opened before.
    #[error("a ballot of that name exists")]
    BallotExists,
    /// The ballot does not take this now (not open yet, closed, already tallied, still open).
    #[error("the ballot is {reason}")]
    BallotNotOpen {
        /// Why.
        reason: &'static str,
    },
    /// This colleague already rated this appraisee in this ballot (the nullifier was used).
    #[error("this appraisee was already rated by this colleague in this ballot")]
    AlreadyRated,
    /// A ledger export could not be read.
    #[error("ledger export: {reason}")]
    Export {
        /// What is wrong.
        reason: String,
    },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(redb::Error::from(e))
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<tlog_tiles::Error> for StoreError {
    fn from(e: tlog_tiles::Error) -> Self {
        StoreError::Ledger {
            reason: e.to_string(),
        }
    }
}
