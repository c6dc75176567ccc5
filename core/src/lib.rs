//! The core of dossier: the types and encodings every other crate shares.
//!
//! It fixes, once, how values become BN254 field elements ([`encoding`]), the circom-compatible
//! Poseidon that commits to them ([`poseidon`]), schemas and credentials ([`schema`],
//! [`credential`]), holder identity ([`holder`]), the ledger's entry format ([`entry`]), its
//! checkpoints ([`checkpoint`]) and proofs ([`log_proof`]), and the keys that sign them
//! ([`keys`]). It has no database, prover or server: the verifier depends on it alone.
//! `docs/encoding.md` specifies every byte, so that other implementations (a JS wallet, a
//! Solidity contract) compute the same values.

pub mod ballot;
pub mod checkpoint;
pub mod cosignature;
pub mod credential;
pub mod encoding;
pub mod entry;
pub mod envelope;
mod error;
pub mod exchange;
pub mod field;
pub mod holder;
pub mod integrity;
pub mod keys;
pub mod log_proof;
pub mod openid4vp;
pub mod pasta;
pub mod poseidon;
pub mod presentation;
pub mod query;
pub mod round;
pub mod schema;
pub mod sealed;
pub mod selection;
pub mod statement;
pub mod wallet;

pub use ark_bn254::Fr;
pub use error::CoreError;

/// The depth of every registry's sparse Merkle tree (credential ids are 32-bit), in both
/// backends' circuits and in the store.
pub const REGISTRY_DEPTH: usize = 32;

/// The wall clock, as the ledger, requests and checkpoints read it.
pub mod clock {
    /// Seconds since 1970-01-01 UTC (0 if the clock is before it).
    pub fn now() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    /// Today, days since 1970-01-01 UTC.
    pub fn today() -> u32 {
        u32::try_from(now() / 86_400).unwrap_or(u32::MAX)
    }
}

/// Whether this CPU runs `halo2curves`' x86-64 assembly field arithmetic (ADX and BMI2): where
/// it does, the Pasta Poseidon ([`pasta`]) and the Groth16 prover's G1 MSMs use it. Always false
/// off x86-64 (the browser's module included).
pub fn assembly_arithmetic() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("adx") && std::arch::is_x86_feature_detected!("bmi2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The issuer id of an issuer name: the string hash of the name.
pub fn issuer_id(name: &str) -> Result<Fr, CoreError> {
    encoding::string_hash(name).map_err(|reason| CoreError::Value {
        field: "issuer".into(),
        reason,
    })
}
