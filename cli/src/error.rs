//! The CLI's one error type and its exit codes.

use dossier_core::CoreError;
use dossier_store::audit::Discrepancy;
use dossier_store::StoreError;

/// Exit code: the command did what was asked.
pub const EXIT_OK: i32 = 0;
/// Exit code: a check ran and found something wrong (an audit discrepancy).
pub const EXIT_FAILED_CHECK: i32 = 1;
/// Exit code: the input was unusable (malformed, unknown schema or issuer, wrong key...).
pub const EXIT_BAD_INPUT: i32 = 2;
/// Exit code: the store or the file system failed.
pub const EXIT_STORE: i32 = 3;

/// Everything a command can fail with.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Input the user gave is unusable.
    #[error("{0}")]
    Input(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// An encoding or signature check refused the input.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// An audit found a discrepancy.
    #[error("audit failed at {}: {}", .0.at, .0.message)]
    Audit(Discrepancy),
    /// A presentation was refused.
    #[error("presentation refused: {0}")]
    Verify(#[from] dossier_verifier::VerifyError),
    /// A proof could not be made (the credentials cannot prove the request, or keys are
    /// missing).
    #[error(transparent)]
    Prove(#[from] dossier_prover::ProverError),
    /// A ceremony file was refused or a ceremony step failed.
    #[error(transparent)]
    Ceremony(#[from] dossier_ceremony::CeremonyError),
    /// The params folder could not be used.
    #[error(transparent)]
    Params(#[from] dossier_params::ParamsError),
    /// A rule file was refused, or the store refused an adoption or an action.
    #[error(transparent)]
    Workflow(#[from] dossier_workflow::WorkflowError),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Audit(_) => EXIT_FAILED_CHECK,
            CliError::Verify(e) if e.is_unusable() => EXIT_BAD_INPUT,
            CliError::Verify(_) => EXIT_FAILED_CHECK,
            CliError::Input(_) | CliError::Core(_) => EXIT_BAD_INPUT,
            CliError::Store(e) | CliError::Workflow(dossier_workflow::WorkflowError::Store(e)) => {
                match e {
                    StoreError::Db(_)
                    | StoreError::Locked { .. }
                    | StoreError::Ledger { .. }
                    | StoreError::Io { .. } => EXIT_STORE,
                    _ => EXIT_BAD_INPUT,
                }
            }
            CliError::Io { .. } => EXIT_STORE,
            CliError::Prove(_) => EXIT_BAD_INPUT,
            CliError::Ceremony(
                dossier_ceremony::CeremonyError::PhaseOne(_)
                | dossier_ceremony::CeremonyError::PhaseTwo { .. },
            ) => EXIT_FAILED_CHECK,
            CliError::Ceremony(_) => EXIT_BAD_INPUT,
            CliError::Params(dossier_params::ParamsError::Io { .. }) => EXIT_STORE,
            CliError::Params(_) => EXIT_BAD_INPUT,
            CliError::Workflow(_) => EXIT_BAD_INPUT,
        }
    }

    /// A stable code for `--json` error output.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Input(_) => "bad_input",
            CliError::Io { .. } => "io",
            CliError::Core(_) => "invalid_value",
            CliError::Store(StoreError::UnknownIssuer { .. }) => "unknown_issuer",
            CliError::Store(StoreError::WrongIssuerKey { .. }) => "wrong_issuer_key",
            CliError::Store(StoreError::CredentialNotFound { .. }) => "credential_not_found",
            CliError::Store(StoreError::Locked { .. }) => "locked",
            CliError::Store(StoreError::Refused { .. }) => "bad_input",
            CliError::Store(StoreError::Io { .. }) => "io",
            CliError::Store(_) => "store",
            CliError::Audit(_) => "audit_failed",
            CliError::Verify(_) => "presentation_refused",
            CliError::Prove(e) if e.is_unprovable() => "unprovable",
            CliError::Prove(_) => "prover",
            CliError::Ceremony(
                dossier_ceremony::CeremonyError::PhaseOne(_)
                | dossier_ceremony::CeremonyError::PhaseTwo { .. },
            ) => "ceremony_refused",
            CliError::Ceremony(_) => "bad_ceremony_file",
            CliError::Params(_) => "params",
            CliError::Workflow(_) => "rule_refused",
        }
    }
}

/// Wraps an I/O error with the path it concerns.
pub fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.display().to_string(),
        source,
    }
}
