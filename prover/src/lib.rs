//! dossier's prover: Groth16 keys for each shipped shape ([`setup`]), and proofs of statements
//! written as presentations ([`prove`]).
//!
//! Keys live in a params folder with a manifest of SHA-256 hashes (`dossier_verifier::keys`);
//! a proving key whose hash differs is refused, and a matching one is trusted and loaded without
//! re-validating its points (stored uncompressed: milliseconds instead of a second). The
//! development setup is deterministic from a public seed and therefore INSECURE: anyone can
//! forge proofs for its keys. It serves tests and the demo, and every verification with it says
//! so. A multi-party ceremony replaces it by writing the same files and manifest.

use ark_bn254::{Bn254, Fr};
use ark_groth16::{Groth16, ProvingKey};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystem};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_circuits::statement::{StatementCircuit, StatementWitness};
use dossier_core::field;
use dossier_core::presentation::{Presentation, PresentationRequest, PRESENTATION_FORMAT};
use dossier_core::query::Shape;
use dossier_verifier::keys::{read_pinned, Manifest, ManifestEntry, MANIFEST};
use rand::SeedableRng;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// The development setup's public seed.
pub const DEV_SEED: [u8; 32] = *b"dossier insecure dev setup v1\0\0\0";

/// What went wrong while setting up or proving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProverError {
    /// A key or manifest could not be read, written or trusted.
    #[error("keys: {0}")]
    Keys(String),
    /// Synthesis or proving failed.
    #[error("proving: {0}")]
    Proving(String),
    /// The holder's credentials do not satisfy the statement.
    #[error(transparent)]
    Witness(#[from] dossier_circuits::statement::WitnessError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ProverError + '_ {
    move |e| ProverError::Keys(format!("{}: {e}", path.display()))
}

/// The constraint count of a shape.
pub fn constraints(shape: Shape) -> Result<usize, ProverError> {
    let cs = ConstraintSystem::<Fr>::new_ref();
    StatementCircuit {
        shape,
        witness: StatementWitness::blank(shape),
    }
    .generate_constraints(cs.clone())
    .map_err(|e| ProverError::Proving(e.to_string()))?;
    Ok(cs.num_constraints())
}

/// Generates keys for `shapes` into `dir` with the deterministic development setup (INSECURE)
/// and writes the manifest. `progress` is told each shape as it starts.
pub fn setup_dev(
    dir: &Path,
    shapes: &[Shape],
    mut progress: impl FnMut(Shape, usize),
) -> Result<Manifest, ProverError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut entries = BTreeMap::new();
    for (i, shape) in shapes.iter().enumerate() {
        progress(*shape, i);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(DEV_SEED);
        let circuit = StatementCircuit {
            shape: *shape,
            witness: StatementWitness::blank(*shape),
        };
        let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(circuit, &mut rng)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        let mut pk_bytes = Vec::new();
        pk.serialize_uncompressed(&mut pk_bytes)
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        let mut vk_bytes = Vec::new();
        vk.serialize_compressed(&mut vk_bytes)
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        let name = shape.name();
        let (pk_file, vk_file) = (format!("{name}.pk"), format!("{name}.vk"));
        std::fs::write(dir.join(&pk_file), &pk_bytes).map_err(io(dir))?;
        std::fs::write(dir.join(&vk_file), &vk_bytes).map_err(io(dir))?;
        entries.insert(
            name,
            ManifestEntry {
                shape: *shape,
                constraints: constraints(*shape)?,
                pk_file,
                pk_sha256: hex::encode(Sha256::digest(&pk_bytes)),
                vk_file,
                vk_sha256: hex::encode(Sha256::digest(&vk_bytes)),
            },
        );
    }
    let manifest = Manifest {
        setup: "INSECURE deterministic development setup (public seed): for tests and demos only"
            .into(),
        insecure: true,
        shapes: entries,
    };
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| ProverError::Keys(e.to_string()))?;
    std::fs::write(dir.join(MANIFEST), text).map_err(io(dir))?;
    Ok(manifest)
}

/// A proving key loaded for one shape.
pub struct ShapeProver {
    /// The shape.
    pub shape: Shape,
    /// The key.
    pub pk: ProvingKey<Bn254>,
    /// The pinned hash of its verifying key.
    pub vk_sha256: String,
}

impl ShapeProver {
    /// Loads a shape's proving key, checking its hash against the manifest.
    pub fn load(dir: &Path, shape: Shape) -> Result<ShapeProver, ProverError> {
        let manifest = Manifest::load(dir).map_err(|e| ProverError::Keys(e.to_string()))?;
        let entry = manifest
            .entry(&shape)
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        let bytes = read_pinned(dir, &entry.pk_file, &entry.pk_sha256)
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        // Pinned by hash: trusted, so loaded without re-validating every point.
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(bytes.as_slice())
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        Ok(ShapeProver {
            shape,
            pk,
            vk_sha256: entry.vk_sha256.clone(),
        })
    }

    /// Proves a statement and writes the presentation.
    pub fn prove(
        &self,
        request: &PresentationRequest,
        witness: StatementWitness,
        checkpoint: &str,
    ) -> Result<Presentation, ProverError> {
        let inputs = witness.public.to_field_elements();
        let circuit = StatementCircuit {
            shape: self.shape,
            witness,
        };
        let proof = Groth16::<Bn254>::prove(&self.pk, circuit, &mut rand::rngs::OsRng)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        let mut bytes = Vec::new();
        proof
            .serialize_compressed(&mut bytes)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        Ok(Presentation {
            format: PRESENTATION_FORMAT.into(),
            backend: "groth16".into(),
            shape: self.shape,
            vk_sha256: self.vk_sha256.clone(),
            request: request.clone(),
            public_inputs: inputs.iter().map(field::to_hex).collect(),
            proof: STANDARD.encode(bytes),
            checkpoint: checkpoint.to_string(),
        })
    }
}
