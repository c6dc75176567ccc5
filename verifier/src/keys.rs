//! Verifying keys, pinned by content hash through a params folder's manifest
//! ([`dossier_params`]). A key whose bytes do not hash to the manifest's value is refused.
//! Verifying keys are small and deserialised with full validation (points on the curve and in
//! the subgroup), and prepared once.

use crate::VerifyError;
use ark_bn254::Bn254;
use ark_groth16::{PreparedVerifyingKey, VerifyingKey};
use ark_serialize::CanonicalDeserialize;
use dossier_params::{read_pinned, Manifest};
use std::collections::BTreeMap;
use std::path::Path;

/// One shape's verifying key, prepared once.
#[derive(Clone)]
pub struct ShapeKey {
    /// The prepared key.
    pub pvk: PreparedVerifyingKey<Bn254>,
    /// Its pinned hash.
    pub vk_sha256: String,
    /// Fixed-base tables for the public-input bases, built on demand by [`ShapeKey::precompute`].
    pub tables: std::sync::OnceLock<std::sync::Arc<InputTables>>,
}

impl ShapeKey {
    /// Decodes a verifying key (compressed, every point validated: on the curve and in the
    /// subgroup) whose bytes were checked against `vk_sha256`, and prepares it.
    fn decode(name: &str, bytes: &[u8], vk_sha256: &str) -> Result<ShapeKey, VerifyError> {
        let vk = VerifyingKey::<Bn254>::deserialize_compressed(bytes)
            .map_err(|e| VerifyError::Keys(format!("verifying key {name}: {e}")))?;
        Ok(ShapeKey {
            pvk: ark_groth16::prepare_verifying_key(&vk),
            vk_sha256: vk_sha256.to_string(),
            tables: Default::default(),
        })
    }

    /// The key's bytes as its pin hashes them: arkworks' compressed encoding, which is
    /// canonical, so they are the bytes of the key file the key was loaded from.
    pub fn to_bytes(&self) -> Vec<u8> {
        use ark_serialize::CanonicalSerialize;
        let mut out = Vec::with_capacity(self.pvk.vk.compressed_size());
        // Writing into a vector cannot fail.
        let _ = self.pvk.vk.serialize_compressed(&mut out);
        out
    }

    /// Builds the fixed-base tables of the input bases (about 25 ms and 0.5 MB per input): worth
    /// it for a long-lived verifier, which then combines inputs with additions only.
    pub fn precompute(&self) -> &InputTables {
        self.tables
            .get_or_init(|| std::sync::Arc::new(InputTables::new(&self.pvk.vk.gamma_abc_g1[1..])))
    }
}

/// For each input base `B` and each byte position `w`, the multiples `d * 2^(8w) * B` for
/// `d = 1..=255`: a scalar times `B` is then at most 32 mixed additions.
pub struct InputTables {
    /// `[base][window][d - 1]`.
    pub points: Vec<Vec<Vec<ark_bn254::G1Affine>>>,
}

impl InputTables {
    /// Builds the tables for these bases.
    pub fn new(bases: &[ark_bn254::G1Affine]) -> InputTables {
        use ark_ec::{AffineRepr, CurveGroup};
        let points = bases
            .iter()
            .map(|b| {
                let mut window_base = b.into_group();
                (0..32)
                    .map(|_| {
                        let mut row = Vec::with_capacity(255);
                        let mut acc = window_base;
                        for _ in 0..255 {
                            row.push(acc);
                            acc += window_base;
                        }
                        window_base = acc; // 256 * the previous window's base
                        ark_bn254::G1Projective::normalize_batch(&row)
                    })
                    .collect()
            })
            .collect();
        InputTables { points }
    }

    /// `Σ x_j * B_j` by table look-ups.
    pub fn combine(&self, inputs: &[ark_bn254::Fr]) -> ark_bn254::G1Projective {
        use ark_ff::{BigInteger, PrimeField};
        let mut acc = ark_bn254::G1Projective::default();
        for (table, x) in self.points.iter().zip(inputs) {
            for (w, d) in x.into_bigint().to_bytes_le().iter().enumerate() {
                if *d != 0 {
                    acc += table[w][*d as usize - 1];
                }
            }
        }
        acc
    }
}

/// Every verifying key of a params folder.
#[derive(Clone)]
pub struct VerifierKeys {
    /// By shape name.
    pub keys: BTreeMap<String, ShapeKey>,
    /// Whether they come from the insecure development setup.
    pub insecure: bool,
    /// The setup's description.
    pub setup: String,
    /// The appraisal round circuit's key, when the folder has one, and whether it comes from
    /// the insecure development setup.
    pub round: Option<(ShapeKey, bool)>,
}

impl VerifierKeys {
    /// No Groth16 keys: enough to verify halo2 presentations, which need no setup.
    pub fn none() -> VerifierKeys {
        VerifierKeys {
            keys: BTreeMap::new(),
            insecure: false,
            setup: "none (halo2 only)".into(),
            round: None,
        }
    }

    /// Loads and prepares every verifying key the manifest lists, checking hashes.
    pub fn load(dir: &Path) -> Result<VerifierKeys, VerifyError> {
        let manifest = Manifest::load(dir)?;
        let mut keys = BTreeMap::new();
        for (name, e) in &manifest.shapes {
            let bytes = read_pinned(dir, &e.vk_file, &e.vk_sha256)?;
            keys.insert(name.clone(), ShapeKey::decode(name, &bytes, &e.vk_sha256)?);
        }
        let round = match &manifest.round {
            Some(r) => {
                let bytes = read_pinned(dir, &r.vk_file, &r.vk_sha256)?;
                let key = ShapeKey::decode(&r.circuit, &bytes, &r.vk_sha256)?;
                Some((key, r.insecure))
            }
            None => None,
        };
        Ok(VerifierKeys {
            keys,
            insecure: manifest.insecure,
            setup: manifest.setup,
            round,
        })
    }

    /// The keys of `shapes` (name, key bytes, pinned SHA-256), each checked against its pin:
    /// what a verifier without a params folder (a browser) was given by a source it trusts.
    pub fn from_pinned(
        shapes: &[(String, Vec<u8>, String)],
        insecure: bool,
        setup: &str,
    ) -> Result<VerifierKeys, VerifyError> {
        let mut keys = BTreeMap::new();
        for (name, bytes, sha256) in shapes {
            if dossier_params::sha256_hex(bytes) != *sha256 {
                return Err(VerifyError::Keys(format!(
                    "verifying key {name}: its bytes do not hash to the pinned value"
                )));
            }
            keys.insert(name.clone(), ShapeKey::decode(name, bytes, sha256)?);
        }
        Ok(VerifierKeys {
            keys,
            insecure,
            setup: setup.to_string(),
            round: None,
        })
    }

    /// The pinned key a presentation was made for: its shape's key, whose hash the presentation
    /// names.
    pub fn for_presentation(
        &self,
        p: &dossier_core::presentation::Presentation,
    ) -> Result<&ShapeKey, VerifyError> {
        if p.backend != dossier_core::presentation::Backend::Groth16 {
            return Err(VerifyError::Keys(format!(
                "a `{}` presentation has no Groth16 verifying key (snarkjs and Solidity exports are Groth16 only)",
                p.backend
            )));
        }
        let key = self.keys.get(&p.shape.name()).ok_or_else(|| {
            VerifyError::Keys(format!("no verifying key for shape {}", p.shape.name()))
        })?;
        if p.vk_sha256 != key.vk_sha256 {
            return Err(VerifyError::Keys(
                "the proof was made for another verifying key".into(),
            ));
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::{Fr, G1Affine};
    use ark_ff::{One, UniformRand};

    #[test]
    fn tables_combine_exactly_like_scalar_multiplication() {
        let mut rng = rand::thread_rng();
        let bases: Vec<G1Affine> = (0..5).map(|_| G1Affine::rand(&mut rng)).collect();
        let tables = InputTables::new(&bases[1..]);
        for inputs in [
            vec![
                Fr::from(0u64),
                Fr::from(1u64),
                Fr::from(u64::MAX),
                -Fr::one(),
            ],
            (0..4).map(|_| Fr::rand(&mut rng)).collect(),
            vec![
                Fr::from(255u64),
                Fr::from(256u64),
                Fr::from(20_000u64),
                Fr::from(1u128 << 64),
            ],
        ] {
            let direct = crate::input_combination(&bases, &inputs);
            assert_eq!(tables.combine(&inputs) + bases[0], direct);
            let naive = inputs
                .iter()
                .zip(&bases[1..])
                .fold(bases[0].into(), |acc: ark_bn254::G1Projective, (x, b)| {
                    acc + *b * x
                });
            assert_eq!(direct, naive);
        }
    }
}
