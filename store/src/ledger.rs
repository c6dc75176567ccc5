//! The ledger's transparency log held in memory: the auditor's replay and the known-answer
//! tests. It stores hashes in Go `tlog`'s layout through `tlog_tiles`, exactly as the database
//! does (`db::append_entries`), so both compute the same roots and proofs.

use tlog_tiles::{Error, Hash, HashReader};

/// An RFC 6962 log of entries, hashes only.
#[derive(Default)]
pub struct MemoryLog {
    hashes: Vec<Hash>,
    size: u64,
}

impl HashReader for MemoryLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, Error> {
        indexes
            .iter()
            .map(|i| {
                self.hashes
                    .get(*i as usize)
                    .copied()
                    .ok_or(Error::IndexesNotInTree)
            })
            .collect()
    }
}

impl MemoryLog {
    /// Appends one entry.
    pub fn append(&mut self, data: &[u8]) -> Result<(), Error> {
        let new = tlog_tiles::stored_hashes(self.size, data, self)?;
        self.hashes.extend(new);
        self.size += 1;
        Ok(())
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The root hash of the first `size` entries.
    pub fn root(&self, size: u64) -> Result<[u8; 32], Error> {
        if size > self.size {
            return Err(Error::IndexesNotInTree);
        }
        Ok(tlog_tiles::tree_hash(size, self)?.0)
    }

    /// The inclusion proof of entry `index` in the tree of `size` entries.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<[u8; 32]>, Error> {
        if size > self.size {
            return Err(Error::IndexesNotInTree);
        }
        Ok(tlog_tiles::prove_record(size, index, self)?
            .iter()
            .map(|h| h.0)
            .collect())
    }

    /// The consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>, Error> {
        if new > self.size {
            return Err(Error::IndexesNotInTree);
        }
        Ok(tlog_tiles::prove_tree(new, old, self)?
            .iter()
            .map(|h| h.0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dossier_core::log_proof::{leaf_hash, verify_consistency, verify_inclusion};
    use proptest::prelude::*;

    fn log_of(n: u64) -> (MemoryLog, Vec<Vec<u8>>) {
        let mut log = MemoryLog::default();
        let entries: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().to_vec()).collect();
        for e in &entries {
            log.append(e).expect("append");
        }
        (log, entries)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn inclusion_proofs_verify_and_bind_index_and_leaf(n in 1u64..300, i in any::<u64>(), flip in any::<usize>()) {
            let (log, entries) = log_of(n);
            let size = 1 + i % n;
            let index = i % size;
            let root = log.root(size).expect("root");
            let proof = log.inclusion_proof(index, size).expect("prove");
            let leaf = leaf_hash(&entries[index as usize]);
            prop_assert!(verify_inclusion(&proof, size, root, index, leaf).is_ok());
            prop_assert!(verify_inclusion(&proof, size, root, index, leaf_hash(b"other")).is_err());
            if size > 1 {
                prop_assert!(verify_inclusion(&proof, size, root, (index + 1) % size, leaf).is_err());
            }
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let k = flip % (bad.len() * 256);
                bad[k / 256][(k % 256) / 8] ^= 1 << (k % 8);
                prop_assert!(verify_inclusion(&bad, size, root, index, leaf).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify_and_detect_rewrites(n in 2u64..300, a in any::<u64>(), b in any::<u64>()) {
            let (log, entries) = log_of(n);
            let new = 2 + b % (n - 1);
            let old = 1 + a % (new - 1);
            let proof = log.consistency_proof(old, new).expect("prove");
            let (r_old, r_new) = (log.root(old).expect("root"), log.root(new).expect("root"));
            prop_assert!(verify_consistency(&proof, old, r_old, new, r_new).is_ok());
            // A history rewritten inside the old prefix is not consistent with the old root.
            let mut forked = MemoryLog::default();
            for (k, e) in entries.iter().enumerate().take(new as usize) {
                forked.append(if k as u64 == old - 1 { b"rewritten" } else { e }).expect("append");
            }
            let fork_proof = forked.consistency_proof(old, new).expect("prove");
            prop_assert!(verify_consistency(&fork_proof, old, r_old, new, forked.root(new).expect("root")).is_err());
        }
    }
}
