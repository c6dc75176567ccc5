//! Verification of the ledger's transparency-log proofs (RFC 6962 / RFC 9162: SHA-256, leaf
//! hash `SHA-256(0x00 || entry)`, node hash `SHA-256(0x01 || left || right)`), through
//! `tlog_tiles`, a port of Go's `sumdb/tlog`. Proofs are lists of 32-byte hashes.

use crate::CoreError;

/// The RFC 6962 leaf hash of an entry.
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    tlog_tiles::record_hash(entry).0
}

fn hashes(proof: &[[u8; 32]]) -> Vec<tlog_tiles::Hash> {
    proof.iter().map(|h| tlog_tiles::Hash(*h)).collect()
}

/// Checks that entry `index` with leaf hash `leaf` is in the tree of `size` entries with root
/// `root`.
pub fn verify_inclusion(
    proof: &[[u8; 32]],
    size: u64,
    root: [u8; 32],
    index: u64,
    leaf: [u8; 32],
) -> Result<(), CoreError> {
    tlog_tiles::check_record(
        &hashes(proof),
        size,
        tlog_tiles::Hash(root),
        index,
        tlog_tiles::Hash(leaf),
    )
    .map_err(|e| CoreError::Malformed {
        what: "inclusion proof".into(),
        reason: e.to_string(),
    })
}

/// Checks that the tree of `old_size` entries with root `old_root` is a prefix of the tree of
/// `new_size` entries with root `new_root`.
pub fn verify_consistency(
    proof: &[[u8; 32]],
    old_size: u64,
    old_root: [u8; 32],
    new_size: u64,
    new_root: [u8; 32],
) -> Result<(), CoreError> {
    tlog_tiles::check_tree(
        &hashes(proof),
        new_size,
        tlog_tiles::Hash(new_root),
        old_size,
        tlog_tiles::Hash(old_root),
    )
    .map_err(|e| CoreError::Malformed {
        what: "consistency proof".into(),
        reason: e.to_string(),
    })
}
