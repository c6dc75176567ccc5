//! dossier's prover: Groth16 keys for each shipped shape ([`setup_dev`]), and proofs of
//! statements written as presentations, for both backends through one entry point
//! ([`Provers::prove`]): Groth16 with the pinned proving keys, halo2 with keys generated from the
//! circuit (no trusted setup).
//!
//! Keys live in a params folder with a manifest of SHA-256 hashes (`dossier_verifier::keys`);
//! a proving key whose hash differs is refused, and a matching one is trusted and loaded without
//! re-validating its points (stored uncompressed: milliseconds instead of a second). The
//! development setup is deterministic from a public seed and therefore INSECURE: anyone can
//! forge proofs for its keys. It serves tests and the demo, and every verification with it says
//! so. A multi-party ceremony replaces it by writing the same files and manifest.

use ark_bn254::{Bn254, Fr};
use ark_ff::UniformRand;
use ark_groth16::r1cs_to_qap::R1CSToQAP;
use ark_groth16::ProvingKey;
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystem, Matrix, OptimizationGoal, SynthesisMode,
    R1CS_PREDICATE_LABEL,
};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;

/// Groth16 over BN254 with snarkjs's R1CS-to-QAP reduction: the key form the ceremony makes
/// and snarkjs reads ([`dossier_ceremony::qap`]); the development setup uses it too, so one
/// prover serves both.
pub type Groth16 = ark_groth16::Groth16<Bn254, dossier_ceremony::qap::Reduction>;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_circuits::statement::{StatementCircuit, StatementWitness};
use dossier_core::credential::Offered;
use dossier_core::field;
use dossier_core::holder::HolderSecret;
use dossier_core::presentation::{Backend, Presentation, PresentationRequest, PRESENTATION_FORMAT};
use dossier_core::query::{EncodedQuery, Shape};
use dossier_core::statement::WitnessField;
use dossier_params::{read_pinned, sha256_hex, Manifest, ManifestEntry};
use rand::SeedableRng;

mod assembly;
pub mod msm;
pub mod round;
use rayon::prelude::*;

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
    /// The params folder could not be used (no manifest, a key that does not match its pin).
    #[error(transparent)]
    Params(#[from] dossier_params::ParamsError),
    /// Synthesis or proving failed.
    #[error("proving: {0}")]
    Proving(String),
    /// The halo2 backend failed to make its keys or the proof.
    #[error(transparent)]
    Halo2(#[from] dossier_halo2::Halo2Error),
    /// The request's scope or day could not be encoded, or the holder's credentials do not
    /// satisfy its statement (`CoreError::Unsatisfied`).
    #[error(transparent)]
    Request(#[from] dossier_core::CoreError),
    /// An appraisal round cannot be proven (a credential missing or not of the round, the
    /// quota broken).
    #[error(transparent)]
    Round(#[from] dossier_circuits::round::RoundError),
}

impl ProverError {
    /// Whether the holder's credentials cannot prove the request (their input, not a failure
    /// of the prover).
    pub fn is_unprovable(&self) -> bool {
        matches!(self, ProverError::Request(_) | ProverError::Round(_))
    }
}

/// What one proof proves and from what: the verifier's request, its query encoded in the shape
/// proven, the holder's secret, the credentials chosen for the query's slots (in query order,
/// each with its membership paths) and the signed checkpoint that anchors their roots.
pub struct Statement<'a> {
    /// The request answered.
    pub request: &'a PresentationRequest,
    /// The request's query, encoded for its shape.
    pub query: &'a EncodedQuery,
    /// The holder's secret.
    pub secret: &'a HolderSecret,
    /// The credentials, in the query's order.
    pub offered: &'a [Offered],
    /// The checkpoint's signed note.
    pub checkpoint: &'a str,
}

/// The keys proofs are made with, for both backends: each shape's Groth16 proving key from a
/// params folder (checked against its pinned hash, loaded on first use and kept), and halo2's
/// keys, generated from the circuit once per process. The CLI and the service prove through
/// [`Provers::prove`] alone.
pub struct Provers {
    params: std::path::PathBuf,
    groth16: std::sync::Mutex<BTreeMap<String, std::sync::Arc<ShapeProver>>>,
}

impl Provers {
    /// Provers over a params folder (nothing is read until a Groth16 proof needs it).
    pub fn new(params: &Path) -> Provers {
        Provers {
            params: params.to_path_buf(),
            groth16: Default::default(),
        }
    }

    /// A shape's Groth16 prover, loaded once.
    pub fn groth16(&self, shape: Shape) -> Result<std::sync::Arc<ShapeProver>, ProverError> {
        let name = shape.name();
        let mut loaded = self.groth16.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = loaded.get(&name) {
            return Ok(p.clone());
        }
        let p = std::sync::Arc::new(ShapeProver::load(&self.params, shape)?);
        loaded.insert(name, p.clone());
        Ok(p)
    }

    /// Loads (Groth16) or generates (halo2) a shape's keys ahead of a proof, so that a caller
    /// can keep that out of the proof's time.
    pub fn prepare(&self, backend: Backend, shape: Shape) -> Result<(), ProverError> {
        match backend {
            Backend::Groth16 => self.groth16(shape).map(drop),
            Backend::Halo2 => dossier_halo2::proof::Keys::shared(shape)
                .map(drop)
                .map_err(ProverError::from),
        }
    }

    /// Proves a statement with the backend its request names (zero-knowledge randomness from
    /// the OS) and writes the presentation.
    pub fn prove(&self, statement: &Statement<'_>) -> Result<Presentation, ProverError> {
        match statement.request.backend {
            Backend::Groth16 => {
                let prover = self.groth16(statement.query.shape)?;
                statement.prove_groth16(&prover, &mut rand::rngs::OsRng)
            }
            Backend::Halo2 => statement.prove_halo2(None),
        }
    }
}

impl Statement<'_> {
    /// Proves the statement with Groth16 and `prover`'s key, the proof's randomness from `rng`
    /// (the OS's; in a browser, a generator seeded from WebCrypto).
    pub fn prove_groth16<R: rand::RngCore + rand::CryptoRng>(
        &self,
        prover: &ShapeProver,
        rng: &mut R,
    ) -> Result<Presentation, ProverError> {
        let witness = self.witness(self.request.scope_field()?, self.request.today_days()?)?;
        // arkworks opens a tracing span per gadget, formatting whole assignments: with a verbose
        // log filter that makes proving ~1000x slower, so proofs run without a subscriber.
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            prover.prove_with_rng(self.request, witness, self.checkpoint, rng)
        })
    }

    /// The full assignment a Groth16 proof of the statement reads (the constant one, the public
    /// inputs, the witness: circom's wire order, see `dossier_ceremony::zkey::circom_wtns`). It
    /// holds the holder's secret and credentials.
    pub fn groth16_assignment(&self, prover: &ShapeProver) -> Result<Vec<Fr>, ProverError> {
        let witness = self.witness(self.request.scope_field()?, self.request.today_days()?)?;
        let circuit = StatementCircuit {
            shape: prover.shape,
            witness,
        };
        tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
            prover.r1cs.assignment(circuit)
        })
    }

    /// Proves the statement with halo2 (keys generated from the circuit on first use in this
    /// process), the proof's randomness the OS's, or a generator seeded with `seed`.
    pub fn prove_halo2(&self, seed: Option<[u8; 32]>) -> Result<Presentation, ProverError> {
        let witness = self.witness(self.request.scope_field()?, self.request.today_days()?)?;
        prove_halo2(self, witness, seed)
    }

    /// The statement's witness in a backend's field: one builder for both backends.
    fn witness<F: WitnessField>(
        &self,
        scope: Fr,
        today: u32,
    ) -> Result<dossier_core::statement::StatementWitness<F>, ProverError> {
        Ok(dossier_core::statement::StatementWitness::build(
            self.query,
            self.secret,
            self.offered,
            self.request.challenge,
            scope,
            today,
        )?)
    }
}

/// Derives a shape's halo2 keys from its circuit now (they are kept for the process), so that a
/// proof that follows pays for the proof alone.
pub fn prepare_halo2(shape: Shape) -> Result<(), ProverError> {
    dossier_halo2::proof::Keys::shared(shape)?;
    Ok(())
}

/// Proves a statement with the halo2 backend (IPA, no trusted setup) from its witness (built
/// from the holder's credentials, each with its halo2 twin path) and the shape's keys
/// (generated on first use in this process).
fn prove_halo2(
    statement: &Statement<'_>,
    witness: dossier_halo2::statement::StatementWitness,
    seed: Option<[u8; 32]>,
) -> Result<Presentation, ProverError> {
    use dossier_halo2::statement::StatementCircuit as Halo2Circuit;
    let (request, query) = (statement.request, statement.query);
    let keys = dossier_halo2::proof::Keys::shared(query.shape)?;
    let public = witness.public.clone();
    let instance = dossier_halo2::statement::instance_of(&witness);
    let circuit = Halo2Circuit {
        shape: query.shape,
        witness: Some(witness),
    };
    let proof = match seed {
        None => keys.prove(&circuit, &instance)?,
        Some(seed) => keys.prove_seeded(&circuit, &instance, seed)?,
    };
    Ok(Presentation {
        format: PRESENTATION_FORMAT.into(),
        backend: Backend::Halo2,
        shape: query.shape,
        vk_sha256: keys.vk_sha256.clone(),
        request: request.clone(),
        public_inputs: public
            .to_field_elements()
            .iter()
            .map(dossier_core::pasta::to_hex)
            .collect(),
        proof: STANDARD.encode(proof),
        checkpoint: statement.checkpoint.to_string(),
    })
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

/// The manifest's description of the development setup.
pub const DEV_SETUP: &str =
    "INSECURE deterministic development setup (public seed): for tests and demos only";

/// Generates keys for `shapes` into `dir` with the deterministic development setup (INSECURE:
/// anyone can forge proofs for these keys) and writes the manifest. `progress` is told each
/// shape as it starts. A deployment runs a ceremony instead (`dossier ceremony`), which writes
/// its keys with [`install_keys`].
pub fn setup_dev(
    dir: &Path,
    shapes: &[Shape],
    mut progress: impl FnMut(Shape, usize),
) -> Result<Manifest, ProverError> {
    let mut keys = Vec::new();
    for (i, shape) in shapes.iter().enumerate() {
        progress(*shape, i);
        let mut rng = rand_chacha::ChaCha20Rng::from_seed(DEV_SEED);
        let circuit = StatementCircuit {
            shape: *shape,
            witness: StatementWitness::blank(*shape),
        };
        let (pk, _) = Groth16::circuit_specific_setup(circuit, &mut rng)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        keys.push((*shape, pk, R1cs::of(*shape)?));
    }
    install_keys(dir, &keys, DEV_SETUP, true, None)
}

/// The files one circuit's keys were written to, and their SHA-256 hashes (hex).
pub(crate) struct KeyFiles {
    pub pk_file: String,
    pub pk_sha256: String,
    pub vk_file: String,
    pub vk_sha256: String,
    pub r1cs_file: String,
    pub r1cs_sha256: String,
}

/// Writes one circuit's proving key (uncompressed), verifying key (compressed) and matrices
/// into `dir` as `<name>.pk`, `<name>.vk` and `<name>.r1cs`.
pub(crate) fn write_key_files(
    dir: &Path,
    name: &str,
    pk: &ProvingKey<Bn254>,
    r1cs: &R1cs,
) -> Result<KeyFiles, ProverError> {
    let mut pk_bytes = Vec::new();
    pk.serialize_uncompressed(&mut pk_bytes)
        .map_err(|e| ProverError::Keys(e.to_string()))?;
    let mut vk_bytes = Vec::new();
    pk.vk
        .serialize_compressed(&mut vk_bytes)
        .map_err(|e| ProverError::Keys(e.to_string()))?;
    let r1cs_bytes = r1cs.to_bytes();
    let files = KeyFiles {
        pk_file: format!("{name}.pk"),
        pk_sha256: sha256_hex(&pk_bytes),
        vk_file: format!("{name}.vk"),
        vk_sha256: sha256_hex(&vk_bytes),
        r1cs_file: format!("{name}.r1cs"),
        r1cs_sha256: sha256_hex(&r1cs_bytes),
    };
    for (file, bytes) in [
        (&files.pk_file, &pk_bytes),
        (&files.vk_file, &vk_bytes),
        (&files.r1cs_file, &r1cs_bytes),
    ] {
        std::fs::write(dir.join(file), bytes).map_err(io(dir))?;
    }
    Ok(files)
}

/// Writes each shape's proving key, verifying key and matrices into `dir` and a manifest that
/// pins them, describes the setup and (for a ceremony) records it.
pub fn install_keys(
    dir: &Path,
    keys: &[(Shape, ProvingKey<Bn254>, R1cs)],
    setup: &str,
    insecure: bool,
    ceremony: Option<dossier_params::CeremonyRecord>,
) -> Result<Manifest, ProverError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut entries = BTreeMap::new();
    for (shape, pk, r1cs) in keys {
        let name = shape.name();
        let f = write_key_files(dir, &name, pk, r1cs)?;
        entries.insert(
            name,
            ManifestEntry {
                shape: *shape,
                constraints: r1cs.num_constraints as usize,
                pk_file: f.pk_file,
                pk_sha256: f.pk_sha256,
                vk_file: f.vk_file,
                vk_sha256: f.vk_sha256,
                r1cs_file: Some(f.r1cs_file),
                r1cs_sha256: Some(f.r1cs_sha256),
            },
        );
    }
    // Keys of the round circuit already in the folder stay (a ceremony for the shapes does not
    // replace them).
    let round = Manifest::load(dir).ok().and_then(|m| m.round);
    let manifest = Manifest {
        setup: setup.into(),
        insecure,
        shapes: entries,
        ceremony,
        round,
    };
    manifest.save(dir)?;
    Ok(manifest)
}

/// A proving key loaded for one shape, with the shape's constraint matrices computed once:
/// proofs then synthesise assignments only (no constraint system, no matrices per proof).
pub struct ShapeProver {
    /// The shape.
    pub shape: Shape,
    /// The key.
    pub pk: ProvingKey<Bn254>,
    /// The pinned hash of its verifying key.
    pub vk_sha256: String,
    r1cs: R1cs,
    g1: msm::G1Queries,
}

/// A shape's constraint matrices and sizes, as key generation saw them; stored beside the keys
/// (`<shape>.r1cs`, pinned by hash) so that proving never rebuilds them.
///
/// File layout (little-endian): `num_inputs, num_constraints, num_variables: u64`, then for each
/// of A, B, C: `byte length: u64` and the matrix: `rows: u64`, per row `entries: u32` and per
/// entry `variable: u32` and the coefficient's four Montgomery-form limbs (`u64` each). Reading
/// copies limbs straight into field elements: the file is trusted because its hash is pinned.
pub struct R1cs {
    matrices: Vec<Matrix<Fr>>,
    num_inputs: u64,
    num_constraints: u64,
    num_variables: u64,
}

fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], ProverError> {
    if b.len() < n {
        return Err(ProverError::Keys("matrices file is truncated".into()));
    }
    let (head, tail) = b.split_at(n);
    *b = tail;
    Ok(head)
}

fn read_u64(b: &mut &[u8]) -> Result<u64, ProverError> {
    let mut w = [0u8; 8];
    w.copy_from_slice(take(b, 8)?);
    Ok(u64::from_le_bytes(w))
}

fn read_u32(b: &mut &[u8]) -> Result<u32, ProverError> {
    let mut w = [0u8; 4];
    w.copy_from_slice(take(b, 4)?);
    Ok(u32::from_le_bytes(w))
}

fn write_matrix(m: &Matrix<Fr>, out: &mut Vec<u8>) {
    out.extend((m.len() as u64).to_le_bytes());
    for row in m {
        out.extend((row.len() as u32).to_le_bytes());
        for (coeff, var) in row {
            out.extend((*var as u32).to_le_bytes());
            for limb in coeff.0 .0 {
                out.extend(limb.to_le_bytes());
            }
        }
    }
}

fn read_matrix(mut b: &[u8]) -> Result<Matrix<Fr>, ProverError> {
    let rows = read_u64(&mut b)? as usize;
    let mut m = Vec::with_capacity(rows);
    for _ in 0..rows {
        let n = read_u32(&mut b)? as usize;
        let mut row = Vec::with_capacity(n);
        for _ in 0..n {
            let var = read_u32(&mut b)? as usize;
            let limbs = [
                read_u64(&mut b)?,
                read_u64(&mut b)?,
                read_u64(&mut b)?,
                read_u64(&mut b)?,
            ];
            row.push((Fr::new_unchecked(ark_ff::BigInt(limbs)), var));
        }
        m.push(row);
    }
    Ok(m)
}

impl R1cs {
    /// The file form (see the type's doc).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for n in [self.num_inputs, self.num_constraints, self.num_variables] {
            out.extend(n.to_le_bytes());
        }
        for m in &self.matrices {
            let mut blob = Vec::new();
            write_matrix(m, &mut blob);
            out.extend((blob.len() as u64).to_le_bytes());
            out.extend(blob);
        }
        out
    }

    /// Reads the file form, parsing the three matrices in parallel.
    pub fn from_bytes(mut b: &[u8]) -> Result<R1cs, ProverError> {
        let (num_inputs, num_constraints, num_variables) =
            (read_u64(&mut b)?, read_u64(&mut b)?, read_u64(&mut b)?);
        let mut blobs = Vec::with_capacity(3);
        for _ in 0..3 {
            let n = read_u64(&mut b)? as usize;
            blobs.push(take(&mut b, n)?);
        }
        let matrices = blobs
            .into_par_iter()
            .map(read_matrix)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(R1cs {
            matrices,
            num_inputs,
            num_constraints,
            num_variables,
        })
    }

    /// The A, B and C matrices (rows are constraints; entries `(coefficient, variable)`).
    pub fn matrices(&self) -> &[Matrix<Fr>] {
        &self.matrices
    }

    /// Instance variables, the constant one included.
    pub fn num_inputs(&self) -> usize {
        self.num_inputs as usize
    }

    /// All variables.
    pub fn num_variables(&self) -> usize {
        self.num_variables as usize
    }

    /// Constraints.
    pub fn num_constraints(&self) -> usize {
        self.num_constraints as usize
    }

    /// Synthesises a shape as key generation does (setup mode, constraints inlined).
    pub fn of(shape: Shape) -> Result<R1cs, ProverError> {
        R1cs::synthesize(StatementCircuit {
            shape,
            witness: StatementWitness::blank(shape),
        })
    }

    /// Synthesises any circuit as key generation does.
    pub fn synthesize(circuit: impl ConstraintSynthesizer<Fr>) -> Result<R1cs, ProverError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Setup);
        circuit
            .generate_constraints(cs.clone())
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        cs.finalize();
        let matrices = cs
            .to_matrices()
            .map_err(|e| ProverError::Proving(e.to_string()))?
            .remove(R1CS_PREDICATE_LABEL)
            .ok_or_else(|| ProverError::Proving("no R1CS matrices".into()))?;
        Ok(R1cs {
            matrices,
            num_inputs: cs.num_instance_variables() as u64,
            num_constraints: cs.num_constraints() as u64,
            num_variables: (cs.num_instance_variables() + cs.num_witness_variables()) as u64,
        })
    }

    /// The full assignment of `circuit` (the constant one, the public inputs, the witness), as
    /// a proof with these matrices reads it: synthesised without building a constraint system.
    pub fn assignment(
        &self,
        circuit: impl ConstraintSynthesizer<Fr>,
    ) -> Result<Vec<Fr>, ProverError> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        cs.set_optimization_goal(OptimizationGoal::Constraints);
        cs.set_mode(SynthesisMode::Prove {
            construct_matrices: false,
            generate_lc_assignments: false,
        });
        circuit
            .generate_constraints(cs.clone())
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        let mut full = cs
            .instance_assignment()
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        full.extend(
            cs.witness_assignment()
                .map_err(|e| ProverError::Proving(e.to_string()))?,
        );
        if full.len() as u64 != self.num_variables {
            return Err(ProverError::Proving(
                "the assignment does not fit the circuit's matrices".into(),
            ));
        }
        Ok(full)
    }

    /// A Groth16 proof of `circuit` with `pk` (its G1 queries `g1`), synthesising assignments
    /// only (the matrices are these).
    pub fn prove<R: rand::RngCore + rand::CryptoRng>(
        &self,
        pk: &ProvingKey<Bn254>,
        g1: &msm::G1Queries,
        circuit: impl ConstraintSynthesizer<Fr>,
        rng: &mut R,
    ) -> Result<ark_groth16::Proof<Bn254>, ProverError> {
        let full = self.assignment(circuit)?;
        let (r, s) = (Fr::rand(rng), Fr::rand(rng));
        let (inputs, constraints) = (self.num_inputs as usize, self.num_constraints as usize);
        let h = <dossier_ceremony::qap::Reduction as R1CSToQAP>::witness_map_from_matrices::<
            Fr,
            ark_poly::GeneralEvaluationDomain<Fr>,
        >(&self.matrices, inputs, constraints, &full)
        .map_err(|e| ProverError::Proving(e.to_string()))?;
        Ok(assembly::prove(pk, g1, r, s, &h, &full, inputs))
    }
}

impl ShapeProver {
    /// A shape's prover from its proving key's bytes (arkworks' uncompressed encoding, as in a
    /// params folder), checked against `pk_sha256` and then trusted (points not re-validated);
    /// the matrices synthesised from the circuit (what a browser does rather than download
    /// them). `vk_sha256` names the verifying key the proofs are for.
    pub fn from_pinned_key(
        shape: Shape,
        pk: &[u8],
        pk_sha256: &str,
        vk_sha256: &str,
    ) -> Result<ShapeProver, ProverError> {
        if sha256_hex(pk) != pk_sha256 {
            return Err(ProverError::Keys(format!(
                "the proving key of {} does not hash to its pin",
                shape.name()
            )));
        }
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(pk)
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        let r1cs = R1cs::of(shape)?;
        if pk.a_query.len() as u64 != r1cs.num_variables {
            return Err(ProverError::Keys(format!(
                "the proving key of {} is not for this circuit",
                shape.name()
            )));
        }
        Ok(ShapeProver {
            shape,
            g1: msm::G1Queries::best(&pk),
            pk,
            vk_sha256: vk_sha256.to_string(),
            r1cs,
        })
    }

    /// Loads a shape's proving key, checking its hash against the manifest.
    pub fn load(dir: &Path, shape: Shape) -> Result<ShapeProver, ProverError> {
        let manifest = Manifest::load(dir)?;
        let entry = manifest.entry(&shape)?;
        // The key and the matrices are read, hashed and decoded side by side.
        let (pk, r1cs) = rayon::join(
            || -> Result<ProvingKey<Bn254>, ProverError> {
                let bytes = read_pinned(dir, &entry.pk_file, &entry.pk_sha256)?;
                // Pinned by hash: trusted, so loaded without re-validating every point.
                ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(bytes.as_slice())
                    .map_err(|e| ProverError::Keys(e.to_string()))
            },
            || match (&entry.r1cs_file, &entry.r1cs_sha256) {
                (Some(file), Some(sha)) => {
                    let bytes = read_pinned(dir, file, sha)?;
                    R1cs::from_bytes(&bytes)
                }
                _ => R1cs::of(shape),
            },
        );
        let (pk, r1cs) = (pk?, r1cs?);
        Ok(ShapeProver {
            shape,
            g1: msm::G1Queries::best(&pk),
            pk,
            vk_sha256: entry.vk_sha256.clone(),
            r1cs,
        })
    }

    /// The backend of the proofs' G1 MSMs (the fastest this CPU runs, unless set).
    pub fn msm_backend(&self) -> msm::MsmBackend {
        self.g1.backend()
    }

    /// Runs the G1 MSMs on `backend` (arkworks' if this CPU cannot run it): for comparisons.
    pub fn set_msm_backend(&mut self, backend: msm::MsmBackend) {
        self.g1 = msm::G1Queries::for_backend(&self.pk, backend);
    }

    /// Proves a statement and writes the presentation (zero-knowledge randomness from the OS).
    pub fn prove(
        &self,
        request: &PresentationRequest,
        witness: StatementWitness,
        checkpoint: &str,
    ) -> Result<Presentation, ProverError> {
        self.prove_with_rng(request, witness, checkpoint, &mut rand::rngs::OsRng)
    }

    /// Proves with the given randomness (golden tests use a seeded generator).
    pub fn prove_with_rng<R: rand::RngCore + rand::CryptoRng>(
        &self,
        request: &PresentationRequest,
        witness: StatementWitness,
        checkpoint: &str,
        rng: &mut R,
    ) -> Result<Presentation, ProverError> {
        let inputs = witness.public.to_field_elements();
        let circuit = StatementCircuit {
            shape: self.shape,
            witness,
        };
        let proof = self.r1cs.prove(&self.pk, &self.g1, circuit, rng)?;
        let mut bytes = Vec::new();
        proof
            .serialize_compressed(&mut bytes)
            .map_err(|e| ProverError::Proving(e.to_string()))?;
        Ok(Presentation {
            format: PRESENTATION_FORMAT.into(),
            backend: Backend::Groth16,
            shape: self.shape,
            vk_sha256: self.vk_sha256.clone(),
            request: request.clone(),
            public_inputs: inputs.iter().map(field::to_hex).collect(),
            proof: STANDARD.encode(bytes),
            checkpoint: checkpoint.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrices_round_trip_through_their_file_form() {
        let shape = dossier_core::query::SHAPES[0];
        let r = R1cs::of(shape).expect("synthesis");
        let bytes = r.to_bytes();
        let back = R1cs::from_bytes(&bytes).expect("parses");
        assert_eq!(back.matrices, r.matrices);
        assert_eq!(
            (back.num_inputs, back.num_constraints, back.num_variables),
            (r.num_inputs, r.num_constraints, r.num_variables)
        );
        assert_eq!(r.num_constraints, 10_942);
        assert!(
            R1cs::from_bytes(&bytes[..bytes.len() - 1]).is_err(),
            "a truncated file is refused"
        );
    }
}
