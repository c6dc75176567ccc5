//! The hashes the halo2 circuits compute, natively: Poseidon over the Pallas base field with the
//! `P128Pow5T3` parameters (width 3, rate 2) of `halo2_poseidon`, the same permutation the
//! circuits' `Pow5Chip` evaluates, and the membership path of a binary Merkle tree built from it.

use halo2_gadgets::poseidon::primitives::{ConstantLength, Hash, P128Pow5T3};
use pasta_curves::pallas::Base as Fp;

/// Poseidon of `L` field elements (constant-length domain).
pub fn hash<const L: usize>(message: [Fp; L]) -> Fp {
    Hash::<Fp, P128Pow5T3, ConstantLength<L>, 3, 2>::init().hash(message)
}

/// A tree node from its two children.
pub fn node(left: Fp, right: Fp) -> Fp {
    hash([left, right])
}

/// The root reached from `leaf` at position `index` (bit `i` of `index` says whether the node at
/// level `i` is a right child) through `siblings`, lowest level first.
pub fn root_from_path(leaf: Fp, index: u64, siblings: &[Fp]) -> Fp {
    siblings.iter().enumerate().fold(leaf, |cur, (level, sib)| {
        if (index >> level) & 1 == 1 {
            node(*sib, cur)
        } else {
            node(cur, *sib)
        }
    })
}

/// The roots of empty subtrees, level 0 (an empty leaf, zero) upwards.
pub fn empty_roots(depth: usize) -> Vec<Fp> {
    let mut out = vec![Fp::zero()];
    for i in 0..depth {
        out.push(node(out[i], out[i]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::PrimeField;

    #[test]
    fn matches_the_zcash_test_vector() {
        // zcash-test-vectors orchard_poseidon/hash/fp.py, first vector: hash(0, 1), as the
        // little-endian field representation.
        let expected = "8358d711a0329d38becd54fba7c283ed3e089a39c91b6a9d10efb02bc3f12f06";
        let got = hash([Fp::from(0), Fp::from(1)]).to_repr();
        let hex: String = got.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
        assert_ne!(
            hash([Fp::from(1), Fp::from(0)]),
            hash([Fp::from(0), Fp::from(1)])
        );
    }

    #[test]
    fn a_path_leads_to_the_root_only_from_its_own_position() {
        let siblings: Vec<Fp> = (0..4).map(|i| Fp::from(100 + i)).collect();
        let leaf = Fp::from(7);
        let root = root_from_path(leaf, 5, &siblings);
        assert_eq!(root, root_from_path(leaf, 5, &siblings));
        assert_ne!(root, root_from_path(leaf, 4, &siblings));
        assert_ne!(root, root_from_path(Fp::from(8), 5, &siblings));
        let empty = empty_roots(3);
        assert_eq!(empty[1], node(Fp::zero(), Fp::zero()));
        assert_eq!(empty.len(), 4);
    }
}
