//! dossier's HTTP service (axum) for issuers, holders, verifiers and regulators, over the same
//! store as the CLI. Its API is the subject of the service issue (#4); the crate fixes its place
//! on top of `dossier-core` and `dossier-store`.
