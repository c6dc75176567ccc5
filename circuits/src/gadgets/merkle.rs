//! Registry membership: the root of a depth-32 Poseidon sparse Merkle tree from a leaf, its
//! position's bits and its siblings; the twin of `MembershipPath::computed_root` in
//! `dossier-store`. Each level costs one Poseidon(2) and one constraint to order the pair
//! (`left = h + bit * (sibling - h)`, `right = h + sibling - left`).

use crate::gadgets::poseidon;
use ark_bn254::Fr;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::fields::fp::FpVar;
use ark_relations::gr1cs::SynthesisError;

/// The root reached from `leaf` at the position given by `bits` (low first).
pub fn root(
    leaf: &FpVar<Fr>,
    bits: &[Boolean<Fr>],
    siblings: &[FpVar<Fr>],
) -> Result<FpVar<Fr>, SynthesisError> {
    assert_eq!(bits.len(), siblings.len());
    let mut h = leaf.clone();
    for (bit, sibling) in bits.iter().zip(siblings) {
        let left = &h + FpVar::from(bit.clone()) * (sibling - &h);
        let right = &h + sibling - &left;
        h = poseidon::hash(&[left, right])?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_r1cs_std::alloc::AllocVar;
    use ark_r1cs_std::GR1CSVar;
    use ark_relations::gr1cs::ConstraintSystem;
    use dossier_core::poseidon::hash2;

    #[test]
    fn agrees_with_the_native_path_and_counts() {
        let leaf = Fr::from(77u64);
        let siblings: Vec<Fr> = (0..32u64).map(|i| Fr::from(1000 + i)).collect();
        for id in [0u32, 1, 0xdead_beef, u32::MAX] {
            let mut h = leaf;
            for (l, s) in siblings.iter().enumerate() {
                h = if (id >> l) & 1 == 0 {
                    hash2(h, *s)
                } else {
                    hash2(*s, h)
                };
            }
            let cs = ConstraintSystem::<Fr>::new_ref();
            let leaf_v = FpVar::new_witness(cs.clone(), || Ok(leaf)).expect("leaf");
            let bits: Vec<Boolean<Fr>> = (0..32)
                .map(|l| Boolean::new_witness(cs.clone(), || Ok((id >> l) & 1 == 1)).expect("bit"))
                .collect();
            let sib: Vec<FpVar<Fr>> = siblings
                .iter()
                .map(|s| FpVar::new_witness(cs.clone(), || Ok(*s)).expect("s"))
                .collect();
            let before = cs.num_constraints();
            let r = root(&leaf_v, &bits, &sib).expect("root");
            assert_eq!(r.value().expect("v"), h, "id {id}");
            assert_eq!(cs.num_constraints() - before, 32 * 241);
            assert!(cs.is_satisfied().expect("checks"));
        }
    }
}
