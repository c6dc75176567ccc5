//! Batch verification for regulators re-checking many archived presentations of one shape: a
//! random linear combination of the Groth16 equations, one multi-Miller loop and one final
//! exponentiation for the whole batch. A batch passes only if (with overwhelming probability,
//! 2^-128 per false proof) every proof in it is valid; on failure, check proofs one by one to
//! find the culprit. halo2 presentations of one shape are batched the same way: their IPA checks
//! end in one multi-scalar multiplication instead of one per proof
//! (`dossier_halo2::proof::Keys::verify_batch`).

use crate::keys::ShapeKey;
use crate::VerifyError;
use ark_bn254::{Bn254, Fr, G1Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{Field, PrimeField, UniformRand, Zero};
use ark_groth16::Proof;
use dossier_core::checkpoint::Trust;

/// Verifies `(proof, public inputs)` pairs made for one verifying key.
pub fn verify_batch(key: &ShapeKey, items: &[(Proof<Bn254>, Vec<Fr>)]) -> Result<(), VerifyError> {
    let n_inputs = key.pvk.vk.gamma_abc_g1.len() - 1;
    if items.iter().any(|(_, x)| x.len() != n_inputs) {
        return Err(VerifyError::Malformed {
            what: "batch".into(),
            reason: "a proof has the wrong number of public inputs".into(),
        });
    }
    if items.is_empty() {
        return Ok(());
    }
    let mut rng = rand::rngs::OsRng;
    let mut g1 = Vec::with_capacity(items.len() + 2);
    let mut g2 = Vec::with_capacity(items.len() + 2);
    // Σ r_i·IC(x_i) = (Σ r_i)·γ_abc[0] + Σ_j (Σ_i r_i·x_ij)·γ_abc[j]: fold the scalars first,
    // then one MSM over the key's input bases for the whole batch.
    let mut folded = vec![Fr::zero(); n_inputs];
    let mut c_scalars = Vec::with_capacity(items.len());
    let mut c_bases = Vec::with_capacity(items.len());
    let mut r_sum = Fr::zero();
    for (proof, inputs) in items {
        // 128-bit random weights suffice for soundness and halve the scalar work.
        let r = Fr::from(u128::rand(&mut rng));
        for (f, x) in folded.iter_mut().zip(inputs) {
            *f += r * x;
        }
        c_scalars.push(r);
        c_bases.push(proof.c);
        g1.push((proof.a.into_group() * r).into_affine());
        g2.push(proof.b);
        r_sum += r;
    }
    let mut ic_scalars = vec![r_sum];
    ic_scalars.extend(folded);
    let ic_sum = G1Projective::msm(&key.pvk.vk.gamma_abc_g1, &ic_scalars)
        .map_err(|_| VerifyError::InvalidProof)?;
    let c_sum = G1Projective::msm(&c_bases, &c_scalars).map_err(|_| VerifyError::InvalidProof)?;
    let mut a: Vec<<Bn254 as Pairing>::G1Prepared> = g1.into_iter().map(Into::into).collect();
    let mut b: Vec<<Bn254 as Pairing>::G2Prepared> = g2.into_iter().map(Into::into).collect();
    a.push(ic_sum.into_affine().into());
    b.push(key.pvk.gamma_g2_neg_pc.clone());
    a.push(c_sum.into_affine().into());
    b.push(key.pvk.delta_g2_neg_pc.clone());
    let ml = Bn254::multi_miller_loop(a, b);
    let lhs = Bn254::final_exponentiation(ml).ok_or(VerifyError::InvalidProof)?;
    let rhs = key.pvk.alpha_g1_beta_g2.pow(r_sum.into_bigint());
    if lhs.0 == rhs {
        Ok(())
    } else {
        Err(VerifyError::InvalidProof)
    }
}

/// One presentation to check in a batch: the verifier's request, the presentation and the time
/// (unix seconds) it is judged at.
pub struct BatchItem<'a> {
    /// The request the presentation must answer.
    pub request: &'a dossier_core::presentation::PresentationRequest,
    /// The presentation.
    pub presentation: &'a dossier_core::presentation::Presentation,
    /// When it is judged (freshness of its checkpoint).
    pub now: u64,
}

/// Verifies many presentations at once, with the same outcome for each as [`crate::verify`]:
/// the statement checks one by one, then one batched pairing check per shape; when a batch
/// fails, its proofs are checked one by one so that each gets its own verdict. halo2
/// presentations are batched per shape in the same way.
pub fn verify_presentations(
    items: &[BatchItem<'_>],
    keys: &crate::VerifierKeys,
    trust: &Trust,
    schemas: &dossier_core::schema::SchemaSet,
) -> Vec<Result<crate::Checked, VerifyError>> {
    use crate::verify::{check_groth16, verify_proof};
    use std::collections::BTreeMap;
    let mut out: Vec<Option<Result<crate::Checked, VerifyError>>> = Vec::new();
    let mut by_shape: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut halo2 = Halo2Batch::default();
    for (i, item) in items.iter().enumerate() {
        if item.presentation.backend == dossier_core::presentation::Backend::Halo2 {
            out.push(halo2.add(i, item, trust, schemas));
            continue;
        }
        let checked = check_groth16(
            item.request,
            item.presentation,
            keys,
            trust,
            schemas,
            item.now,
        );
        if checked.is_ok() {
            by_shape
                .entry(item.presentation.shape.name())
                .or_default()
                .push(i);
        }
        out.push(Some(checked));
    }
    for (shape, members) in by_shape {
        let key = &keys.keys[&shape];
        let pairs: Vec<(Proof<Bn254>, Vec<Fr>)> = members
            .iter()
            .filter_map(|&i| match &out[i] {
                Some(Ok(c)) => c.groth16.clone(),
                _ => None,
            })
            .collect();
        let batch_ok = if members.len() == 1 {
            false
        } else {
            verify_batch(key, &pairs).is_ok()
        };
        if batch_ok {
            continue;
        }
        for (&i, (proof, inputs)) in members.iter().zip(&pairs) {
            if let Err(e) = verify_proof(key, proof, inputs) {
                out[i] = Some(Err(e));
            }
        }
    }
    halo2.finish(&mut out);
    out.into_iter()
        .map(|r| r.unwrap_or(Err(VerifyError::InvalidProof)))
        .collect()
}

#[cfg(feature = "halo2")]
use crate::halo2::Batch as Halo2Batch;

/// Without the halo2 feature, halo2 presentations are refused by name.
#[cfg(not(feature = "halo2"))]
#[derive(Default)]
struct Halo2Batch {
    _refused: (),
}

#[cfg(not(feature = "halo2"))]
impl Halo2Batch {
    fn add(
        &mut self,
        _: usize,
        _: &BatchItem<'_>,
        _: &Trust,
        _: &dossier_core::schema::SchemaSet,
    ) -> Option<Result<crate::Checked, VerifyError>> {
        Some(Err(VerifyError::BackendMissing(
            dossier_core::presentation::Backend::Halo2,
        )))
    }

    fn finish(self, _: &mut [Option<Result<crate::Checked, VerifyError>>]) {}
}
