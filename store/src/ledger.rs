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
        Ok(tlog_tiles::prove_record(size, index, self)?.iter().map(|h| h.0).collect())
    }

    /// The consistency proof from the tree of `old` entries to the tree of `new` entries.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<[u8; 32]>, Error> {
        if new > self.size {
            return Err(Error::IndexesNotInTree);
        }
        Ok(tlog_tiles::prove_tree(new, old, self)?.iter().map(|h| h.0).collect())
    }
}
