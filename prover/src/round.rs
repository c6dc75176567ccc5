//! Appraisal rounds proven to the regulator: keys for the window circuit (one circuit, one
//! setup, every round size) and [`RoundProver::prove`], which proves each window of a round in
//! turn and writes the [`RoundProof`] the regulator checks (`dossier_verifier::round`).

use crate::{write_key_files, Groth16, ProverError, R1cs, DEV_SEED};
use ark_bn254::{Bn254, Fr};
use ark_groth16::ProvingKey;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use ark_snark::SNARK;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_circuits::round::{window_witnesses, RoundCircuit, RoundWitness};
use dossier_core::credential::Credential;
use dossier_core::round::{Declaration, Round, RoundProof, Rules, WindowProof, ROUND_PROOF_FORMAT};
use dossier_params::{read_pinned, Manifest, RoundKeys};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;

/// The window circuit's name in the manifest.
pub const ROUND_CIRCUIT: &str = "round-w64";

/// The window circuit's constraint system.
pub fn round_r1cs() -> Result<R1cs, ProverError> {
    R1cs::synthesize(RoundCircuit {
        witness: RoundWitness::blank(),
    })
}

/// Makes the window circuit's keys with the deterministic development setup (INSECURE: anyone
/// can forge round proofs for them) into a folder that already has a manifest, and records them
/// in it.
pub fn setup_dev_round(dir: &Path) -> Result<RoundKeys, ProverError> {
    let mut manifest = Manifest::load(dir)?;
    let mut rng = rand_chacha::ChaCha20Rng::from_seed(DEV_SEED);
    let (pk, _) = Groth16::circuit_specific_setup(
        RoundCircuit {
            witness: RoundWitness::blank(),
        },
        &mut rng,
    )
    .map_err(|e| ProverError::Proving(e.to_string()))?;
    let keys = install_round_keys(dir, &pk, &round_r1cs()?, crate::DEV_SETUP, true)?;
    manifest.round = Some(keys.clone());
    manifest.save(dir)?;
    Ok(keys)
}

/// Writes the window circuit's proving key, verifying key and matrices into `dir` and returns
/// their manifest record (the caller saves it).
pub fn install_round_keys(
    dir: &Path,
    pk: &ProvingKey<Bn254>,
    r1cs: &R1cs,
    setup: &str,
    insecure: bool,
) -> Result<RoundKeys, ProverError> {
    let f = write_key_files(dir, ROUND_CIRCUIT, pk, r1cs)?;
    Ok(RoundKeys {
        circuit: ROUND_CIRCUIT.into(),
        constraints: r1cs.num_constraints(),
        pk_file: f.pk_file,
        pk_sha256: f.pk_sha256,
        vk_file: f.vk_file,
        vk_sha256: f.vk_sha256,
        r1cs_file: f.r1cs_file,
        r1cs_sha256: f.r1cs_sha256,
        setup: setup.into(),
        insecure,
    })
}

/// The window circuit's proving key and matrices, loaded once.
pub struct RoundProver {
    pk: ProvingKey<Bn254>,
    r1cs: R1cs,
    g1: crate::msm::G1Queries,
}

/// What a round proof is made from, besides the keys.
pub struct RoundInputs<'a> {
    /// The declared round.
    pub round: &'a Round,
    /// Its declaration, included in the checkpoint's log.
    pub declaration: &'a Declaration,
    /// The rules to prove: the quota, and a training rule if asked.
    pub rules: Rules,
    /// Whether to disclose the grade distribution, and the number that met the training
    /// rule's hours if there is one (refused below the minimum group size).
    pub disclose: bool,
    /// The signed checkpoint anchoring the registry root.
    pub checkpoint: &'a str,
    /// The issuer's registry root in that checkpoint.
    pub root: Fr,
    /// The `appraisal` schema's id.
    pub schema_id: Fr,
    /// The registry's nodes at the checkpoint (`level`, `index`), empty ones included.
    pub node: &'a dyn Fn(u8, u32) -> Fr,
    /// The round's credentials, by id.
    pub openings: &'a BTreeMap<u32, Credential>,
}

impl RoundProver {
    /// Loads the keys pinned by the folder's manifest.
    pub fn load(dir: &Path) -> Result<RoundProver, ProverError> {
        let manifest = Manifest::load(dir)?;
        let keys = manifest.round.ok_or_else(|| {
            ProverError::Keys(
                "no keys for the appraisal round circuit (run `dossier setup --round`)".into(),
            )
        })?;
        let bytes = read_pinned(dir, &keys.pk_file, &keys.pk_sha256)?;
        // Pinned by hash: trusted, so loaded without re-validating every point.
        let pk = ProvingKey::<Bn254>::deserialize_uncompressed_unchecked(bytes.as_slice())
            .map_err(|e| ProverError::Keys(e.to_string()))?;
        let r1cs = R1cs::from_bytes(&read_pinned(dir, &keys.r1cs_file, &keys.r1cs_sha256)?)?;
        let g1 = crate::msm::G1Queries::best(&pk);
        Ok(RoundProver { pk, r1cs, g1 })
    }

    /// Proves every window of a round; `progress` is told each window as it starts (index,
    /// total). Refuses, before proving anything, a round that cannot be proven.
    pub fn prove<R: rand::RngCore + rand::CryptoRng>(
        &self,
        inputs: &RoundInputs<'_>,
        rng: &mut R,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<RoundProof, ProverError> {
        if inputs.disclose && inputs.round.count < dossier_core::round::MIN_DISCLOSURE {
            return Err(ProverError::Request(dossier_core::CoreError::Value {
                field: "disclose".into(),
                reason: format!(
                    "a distribution is disclosed only for rounds of at least {} appraisals",
                    dossier_core::round::MIN_DISCLOSURE
                ),
            }));
        }
        let witnesses = window_witnesses(
            inputs.round,
            inputs.rules,
            inputs.disclose,
            inputs.root,
            inputs.schema_id,
            inputs.node,
            inputs.openings,
            rng,
        )?;
        let last = witnesses.last().map(|w| &w.public);
        let distribution = last.filter(|p| p.disclose).map(|p| p.counts);
        let trained = last.filter(|p| p.disclose_trained).map(|p| p.trained);
        let n = witnesses.len();
        let mut windows = Vec::with_capacity(n);
        for (i, witness) in witnesses.into_iter().enumerate() {
            progress(i, n);
            let (window, acc_out) = (witness.public.window, witness.public.acc_out);
            let proof = self
                .r1cs
                .prove(&self.pk, &self.g1, RoundCircuit { witness }, rng)?;
            let mut bytes = Vec::new();
            proof
                .serialize_compressed(&mut bytes)
                .map_err(|e| ProverError::Proving(e.to_string()))?;
            windows.push(WindowProof {
                window,
                acc_out,
                proof: STANDARD.encode(bytes),
            });
        }
        Ok(RoundProof {
            format: ROUND_PROOF_FORMAT.into(),
            round: inputs.round.clone(),
            declaration: inputs.declaration.clone(),
            checkpoint: inputs.checkpoint.to_string(),
            quota: inputs.rules.quota,
            distribution,
            training: inputs.rules.training,
            trained,
            windows,
        })
    }
}
