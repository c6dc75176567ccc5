//! The issuers' registries: sparse Merkle trees of depth 32 from credential id to credential
//! commitment, hashed with circom-compatible `Poseidon(left, right)` over BN254 — and, for the
//! halo2 backend, a twin tree over the same positions whose leaves are the credentials' Pasta
//! commitments, hashed with Pasta Poseidon. The tree logic is generic over the [`Node`] type.
//!
//! Only non-empty nodes are stored; an empty subtree of height `h` has the precomputed hash
//! `EMPTY[h]` (`EMPTY[0] = 0`, the empty leaf; `EMPTY[h+1] = Poseidon(EMPTY[h], EMPTY[h])`).
//! Revocation sets a leaf back to 0. A batch of updates is applied level by level so that
//! upper nodes shared by the batch are hashed once, and each level's hashes are computed on all
//! cores. The tree logic is generic over [`NodeStore`]: the database in production, a hash map
//! for the auditor's replay and for tests.

use crate::StoreError;
use ark_ff::Zero;
pub use dossier_core::credential::Halo2Path;
use dossier_core::pasta::{self, Fp};
use dossier_core::{poseidon, Fr};
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::OnceLock;

/// The depth of every registry: ids are 32-bit.
pub use dossier_core::REGISTRY_DEPTH as DEPTH;

/// A tree node: a field element with its hash, empty roots and 32-byte encoding. Implemented
/// by BN254's `Fr` (the registry tree) and Pallas's `Fp` (its halo2 twin).
pub trait Node: Copy + PartialEq + Send + Sync + std::fmt::Debug + 'static {
    /// The empty leaf.
    fn empty_leaf() -> Self;
    /// A parent from its children.
    fn hash2(left: Self, right: Self) -> Self;
    /// `EMPTY[h]`, the root of an empty subtree of height `h`, for `h` in `0..=DEPTH`.
    fn empty() -> &'static [Self; DEPTH + 1];
    /// 32 bytes, big-endian.
    fn to_bytes(&self) -> [u8; 32];
    /// Reads 32 bytes, refusing a value not below the modulus.
    fn from_bytes(bytes: &[u8; 32]) -> Result<Self, StoreError>;
}

fn empty_of<N: Node>(cell: &'static OnceLock<[N; DEPTH + 1]>) -> &'static [N; DEPTH + 1] {
    cell.get_or_init(|| {
        let mut e = [N::empty_leaf(); DEPTH + 1];
        for h in 0..DEPTH {
            e[h + 1] = N::hash2(e[h], e[h]);
        }
        e
    })
}

impl Node for Fr {
    fn empty_leaf() -> Fr {
        Fr::zero()
    }
    fn hash2(left: Fr, right: Fr) -> Fr {
        poseidon::hash2(left, right)
    }
    fn empty() -> &'static [Fr; DEPTH + 1] {
        static EMPTY: OnceLock<[Fr; DEPTH + 1]> = OnceLock::new();
        empty_of(&EMPTY)
    }
    fn to_bytes(&self) -> [u8; 32] {
        dossier_core::field::to_be_bytes(self)
    }
    fn from_bytes(bytes: &[u8; 32]) -> Result<Fr, StoreError> {
        Ok(dossier_core::field::from_be_bytes("registry node", bytes)?)
    }
}

impl Node for Fp {
    fn empty_leaf() -> Fp {
        Fp::zero()
    }
    fn hash2(left: Fp, right: Fp) -> Fp {
        pasta::node(left, right)
    }
    fn empty() -> &'static [Fp; DEPTH + 1] {
        static EMPTY: OnceLock<[Fp; DEPTH + 1]> = OnceLock::new();
        empty_of(&EMPTY)
    }
    fn to_bytes(&self) -> [u8; 32] {
        pasta::to_be_bytes(self)
    }
    fn from_bytes(bytes: &[u8; 32]) -> Result<Fp, StoreError> {
        Ok(pasta::from_be_bytes("registry node (halo2)", bytes)?)
    }
}

/// `EMPTY[h]` of the BN254 tree.
pub fn empty_hashes() -> &'static [Fr; DEPTH + 1] {
    Fr::empty()
}

/// Where a tree keeps its non-empty nodes. Level 0 holds leaves, level 32 the root.
pub trait NodeStore<N: Node = Fr> {
    /// The node at `level`, `index`, if it is not empty.
    fn get(&self, level: u8, index: u32) -> Result<Option<N>, StoreError>;
    /// Sets a node; `None` removes it (the subtree became empty).
    fn put(&mut self, level: u8, index: u32, node: Option<N>) -> Result<(), StoreError>;
    /// Announces the nodes about to be read or written (`(level, index)` pairs), so a store
    /// with round trips reads them in one. Taken lazily: a store without round trips never
    /// walks them.
    fn prefetch(&self, nodes: impl Iterator<Item = (u8, u32)>) -> Result<(), StoreError> {
        let _ = nodes;
        Ok(())
    }
}

fn node_or_empty<N: Node, S: NodeStore<N> + ?Sized>(
    s: &S,
    level: u8,
    index: u32,
) -> Result<N, StoreError> {
    Ok(s.get(level, index)?.unwrap_or(N::empty()[level as usize]))
}

/// Below this many hashes a level is hashed on the calling thread.
const PARALLEL_THRESHOLD: usize = 64;

/// Applies leaf updates (`Fr::zero()` empties a leaf) and returns the new root. `updates` may
/// be in any order; a repeated id takes its last value.
pub fn apply<N: Node, S: NodeStore<N> + ?Sized>(
    store: &mut S,
    updates: &[(u32, N)],
) -> Result<N, StoreError> {
    if updates.is_empty() {
        return root(store);
    }
    let mut current: Vec<(u32, N)> = updates.to_vec();
    current.reverse();
    current.sort_by_key(|(i, _)| *i); // stable: the last update of an id now comes first
    current.dedup_by_key(|(i, _)| *i);
    // Every node the update reads or writes, on every level, announced at once: the leaves'
    // ancestors and their siblings.
    store.prefetch((0..=DEPTH).flat_map(|level| {
        current.iter().flat_map(move |(i, _)| {
            let at = i.checked_shr(level as u32).unwrap_or(0);
            [(level as u8, at), (level as u8, at ^ 1)]
        })
    }))?;
    let empty = N::empty();
    for (level, empty_here) in empty.iter().enumerate().take(DEPTH) {
        let lv = level as u8;
        for (i, v) in &current {
            store.put(lv, *i, (v != empty_here).then_some(*v))?;
        }
        let mut pairs: Vec<(u32, N, N)> = Vec::with_capacity(current.len() / 2 + 1);
        let mut j = 0;
        while j < current.len() {
            let (i, v) = current[j];
            if i % 2 == 0 {
                let right = match current.get(j + 1) {
                    Some((k, w)) if *k == i + 1 => {
                        j += 1;
                        *w
                    }
                    _ => node_or_empty(store, lv, i + 1)?,
                };
                pairs.push((i / 2, v, right));
            } else {
                pairs.push((i / 2, node_or_empty(store, lv, i - 1)?, v));
            }
            j += 1;
        }
        // Two empty children make an empty parent, known without hashing (revocations, and
        // the twin tree's empty leaves for credentials without a halo2 commitment).
        let (e, parent_empty) = (*empty_here, empty[level + 1]);
        let parent = |(p, l, r): &(u32, N, N)| {
            if *l == e && *r == e {
                (*p, parent_empty)
            } else {
                (*p, N::hash2(*l, *r))
            }
        };
        current = if pairs.len() >= PARALLEL_THRESHOLD {
            pairs.par_iter().map(parent).collect()
        } else {
            pairs.iter().map(parent).collect()
        };
    }
    let root = current.first().map_or(empty[DEPTH], |(_, r)| *r);
    store.put(DEPTH as u8, 0, (root != empty[DEPTH]).then_some(root))?;
    Ok(root)
}

/// The current root.
pub fn root<N: Node, S: NodeStore<N> + ?Sized>(store: &S) -> Result<N, StoreError> {
    node_or_empty(store, DEPTH as u8, 0)
}

pub use dossier_core::credential::MembershipPath;

/// The membership path of `credential_id`.
pub fn path<S: NodeStore<Fr> + ?Sized>(
    store: &S,
    credential_id: u32,
) -> Result<MembershipPath, StoreError> {
    let (leaf, siblings, root) = path_nodes(store, credential_id)?;
    Ok(MembershipPath {
        credential_id,
        leaf,
        siblings,
        root,
        halo2: None,
    })
}

/// The membership path of `credential_id` in a halo2 twin tree.
pub fn path_halo2<S: NodeStore<Fp> + ?Sized>(
    store: &S,
    credential_id: u32,
) -> Result<Halo2Path, StoreError> {
    let (leaf, siblings, root) = path_nodes(store, credential_id)?;
    Ok(Halo2Path {
        leaf,
        siblings,
        root,
    })
}

/// The nodes (level, index) a membership path of `credential_id` reads: its siblings, its
/// leaf and the root.
pub fn path_node_keys(credential_id: u32) -> impl Iterator<Item = (u8, u32)> {
    (0..DEPTH)
        .map(move |level| (level as u8, (credential_id >> level) ^ 1))
        .chain([(0, credential_id), (DEPTH as u8, 0)])
}

/// Leaf, siblings (leaf level first) and root.
fn path_nodes<N: Node, S: NodeStore<N> + ?Sized>(
    store: &S,
    credential_id: u32,
) -> Result<(N, Vec<N>, N), StoreError> {
    store.prefetch(path_node_keys(credential_id))?;
    let mut siblings = Vec::with_capacity(DEPTH);
    for level in 0..DEPTH {
        siblings.push(node_or_empty(
            store,
            level as u8,
            (credential_id >> level) ^ 1,
        )?);
    }
    Ok((
        node_or_empty(store, 0, credential_id)?,
        siblings,
        root(store)?,
    ))
}

/// A registry held in memory: the auditor's replay, tests and benchmarks.
#[derive(Clone, Debug)]
pub struct MemoryTree<N: Node = Fr> {
    nodes: HashMap<(u8, u32), N>,
}

impl<N: Node> Default for MemoryTree<N> {
    fn default() -> Self {
        MemoryTree {
            nodes: HashMap::new(),
        }
    }
}

impl<N: Node> NodeStore<N> for MemoryTree<N> {
    fn get(&self, level: u8, index: u32) -> Result<Option<N>, StoreError> {
        Ok(self.nodes.get(&(level, index)).copied())
    }

    fn put(&mut self, level: u8, index: u32, node: Option<N>) -> Result<(), StoreError> {
        match node {
            Some(n) => self.nodes.insert((level, index), n),
            None => self.nodes.remove(&(level, index)),
        };
        Ok(())
    }
}

impl<N: Node> MemoryTree<N> {
    /// How many non-empty nodes are stored.
    pub fn stored_nodes(&self) -> usize {
        self.nodes.len()
    }

    /// The node at `level`, `index`, if not empty.
    pub fn node(&self, level: u8, index: u32) -> Option<N> {
        self.nodes.get(&(level, index)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// The naive reference: the root of a subtree computed recursively from the leaves alone.
    fn naive_root(leaves: &BTreeMap<u32, Fr>) -> Fr {
        fn sub(leaves: &BTreeMap<u32, Fr>, level: usize, index: u64) -> Fr {
            let lo = index << level;
            let hi = (index + 1) << level;
            let mut range = leaves.range(lo as u32..=((hi - 1).min(u64::from(u32::MAX))) as u32);
            if range.next().is_none() {
                return empty_hashes()[level];
            }
            if level == 0 {
                return leaves[&(index as u32)];
            }
            poseidon::hash2(
                sub(leaves, level - 1, 2 * index),
                sub(leaves, level - 1, 2 * index + 1),
            )
        }
        let live: BTreeMap<u32, Fr> = leaves
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (*k, *v))
            .collect();
        sub(&live, DEPTH, 0)
    }

    #[test]
    fn empty_tree_root_is_empty_hash() {
        let t = MemoryTree::<Fr>::default();
        assert_eq!(root(&t).expect("root"), empty_hashes()[DEPTH]);
        let t = MemoryTree::<Fp>::default();
        assert_eq!(root(&t).expect("root"), pasta::empty_roots(DEPTH)[DEPTH]);
    }

    #[test]
    fn paths_verify_and_revocation_empties() {
        let mut t = MemoryTree::default();
        let updates: Vec<(u32, Fr)> = (0..10)
            .map(|i| (i * 3, Fr::from(u64::from(i) + 100)))
            .collect();
        let r = apply(&mut t, &updates).expect("apply");
        let p = path(&t, 9).expect("path");
        assert_eq!(p.leaf, Fr::from(103u64));
        assert!(p.is_valid());
        assert_eq!(p.root, r);
        let mut forged = p.clone();
        forged.leaf = Fr::from(104u64);
        assert!(!forged.is_valid());
        let mut forged = p.clone();
        forged.credential_id = 10;
        assert!(!forged.is_valid(), "a path is bound to its position");
        apply(&mut t, &[(9, Fr::zero())]).expect("revoke");
        let p = path(&t, 9).expect("path");
        assert!(p.leaf.is_zero() && p.is_valid());
        // Revoking everything returns to the empty tree and stores nothing.
        let all: Vec<(u32, Fr)> = (0..10).map(|i| (i * 3, Fr::zero())).collect();
        assert_eq!(apply(&mut t, &all).expect("revoke"), empty_hashes()[DEPTH]);
        assert_eq!(t.stored_nodes(), 0);
    }

    #[test]
    fn extreme_ids() {
        let mut t = MemoryTree::default();
        apply(&mut t, &[(u32::MAX, Fr::from(1u64)), (0, Fr::from(2u64))]).expect("apply");
        assert!(path(&t, u32::MAX).expect("path").is_valid());
        assert!(path(&t, 0).expect("path").is_valid());
        let leaves = BTreeMap::from([(u32::MAX, Fr::from(1u64)), (0, Fr::from(2u64))]);
        assert_eq!(root(&t).expect("root"), naive_root(&leaves));
    }

    #[test]
    fn the_halo2_twin_agrees_with_its_native_paths() {
        let mut t = MemoryTree::<Fp>::default();
        let updates: Vec<(u32, Fp)> = (0..10)
            .map(|i| (i * 7 + 1, Fp::from(u64::from(i) + 50)))
            .collect();
        let r = apply(&mut t, &updates).expect("apply");
        for (i, v) in &updates {
            let p = path_halo2(&t, *i).expect("path");
            assert_eq!(p.leaf, *v);
            assert_eq!(p.root, r);
            assert_eq!(pasta::root_from_path(p.leaf, *i, &p.siblings), r);
            assert_ne!(pasta::root_from_path(p.leaf, *i ^ 1, &p.siblings), r);
        }
        let all: Vec<(u32, Fp)> = updates.iter().map(|(i, _)| (*i, Fp::zero())).collect();
        assert_eq!(
            apply(&mut t, &all).expect("revoke"),
            pasta::empty_roots(DEPTH)[DEPTH]
        );
        assert_eq!(t.stored_nodes(), 0);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn batches_agree_with_the_naive_reference(
            batches in proptest::collection::vec(
                proptest::collection::vec((prop_oneof![0u32..40, any::<u32>()], 0u64..5), 1..40),
                1..4,
            )
        ) {
            let mut t = MemoryTree::default();
            let mut reference = BTreeMap::new();
            for batch in batches {
                let updates: Vec<(u32, Fr)> = batch.iter().map(|(i, v)| (*i, Fr::from(*v))).collect();
                let r = apply(&mut t, &updates).expect("apply");
                for (i, v) in &updates {
                    reference.insert(*i, *v);
                }
                prop_assert_eq!(r, naive_root(&reference));
                for (i, _) in &updates {
                    let p = path(&t, *i).expect("path");
                    prop_assert!(p.is_valid());
                    prop_assert_eq!(p.leaf, reference[i]);
                }
            }
        }
    }
}
