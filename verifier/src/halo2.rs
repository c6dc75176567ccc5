//! Verifying halo2 presentations: the same request, anchoring and public-input checks as Groth16,
//! with the public inputs in the Pallas field (roots of the registries' halo2 twin trees, the
//! Pasta query hash and nullifier), then the IPA check. The circuit's verifying keys need no
//! trusted setup: they are generated from the circuit once per process
//! (`dossier_halo2::proof::VerifyingKeys::shared`, `keygen_vk` alone: no proving key), and the
//! presentation's `vk_sha256` must name them.

use crate::verify::{check_request, check_shared};
use crate::{Checked, Verdict, VerifyError};
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_core::checkpoint::Trust;
use dossier_core::pasta::{self, Fp};
use dossier_core::presentation::{Presentation, PresentationRequest};
use dossier_core::schema::SchemaSet;
use dossier_core::statement::{Layout, PublicInputs};
use dossier_core::{field, Fr};
use dossier_halo2::proof::VerifyingKeys;
use std::collections::BTreeMap;

/// The largest halo2 proof accepted (proofs here are ~4-6 KB).
pub const MAX_PROOF_BYTES: usize = 64 * 1024;

fn malformed(what: &str, reason: impl ToString) -> VerifyError {
    VerifyError::Malformed {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// An element that must be a BN254 value carried over (challenge, scope, today, reveals).
fn to_fr(what: &str, x: &Fp) -> Result<Fr, VerifyError> {
    field::from_be_bytes(what, &pasta::to_be_bytes(x)).map_err(|e| malformed("public inputs", e))
}

/// Generates (once per process) the keys of a shape's circuit, so that a caller can keep key
/// generation out of a verification's time.
pub fn prepare(shape: dossier_core::query::Shape) -> Result<(), VerifyError> {
    VerifyingKeys::shared(shape)
        .map(drop)
        .map_err(|e| VerifyError::Keys(e.to_string()))
}

/// Verifies a halo2 presentation (see the module doc).
pub fn verify(
    request: &PresentationRequest,
    p: &Presentation,
    trust: &Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Checked, VerifyError> {
    let pending = check(request, p, trust, schemas, now)?;
    pending.finish()
}

/// A failed IPA check in the verifier's words: bytes after the proof are a malformed encoding,
/// anything else an invalid proof.
fn proof_error(e: dossier_halo2::proof::Halo2Error) -> VerifyError {
    match e {
        dossier_halo2::proof::Halo2Error::TrailingBytes { extra } => {
            VerifyError::ProofEncoding(format!("{extra} bytes follow the halo2 proof"))
        }
        _ => VerifyError::InvalidProof,
    }
}

/// A halo2 presentation whose every check but the proof's own has passed.
pub(crate) struct Pending {
    /// The verdict, if the proof verifies.
    pub checked: Checked,
    /// The circuit's verifying keys.
    pub keys: &'static VerifyingKeys,
    /// The proof's bytes.
    pub proof: Vec<u8>,
    /// The instance column: public inputs, then the verifier's own encoded query.
    pub instance: Vec<Fp>,
}

impl Pending {
    /// The IPA check on its own; the verdict if it passes.
    pub(crate) fn finish(self) -> Result<Checked, VerifyError> {
        self.keys
            .verify(&self.proof, &self.instance)
            .map_err(proof_error)?;
        Ok(self.checked)
    }
}

/// Every check of [`verify`] except the IPA check itself.
pub(crate) fn check(
    request: &PresentationRequest,
    p: &Presentation,
    trust: &Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Pending, VerifyError> {
    let encoded = check_request(request, p, schemas)?;
    let keys = VerifyingKeys::shared(p.shape).map_err(|e| VerifyError::Keys(e.to_string()))?;
    if p.vk_sha256 != keys.vk_sha256 {
        return Err(VerifyError::Keys(format!(
            "the presentation names halo2 key {}, this verifier's circuit for shape {} is {}",
            p.vk_sha256,
            p.shape.name(),
            keys.vk_sha256
        )));
    }
    let layout = Layout { shape: p.shape };
    if p.public_inputs.len() != layout.len() {
        return Err(malformed(
            "public inputs",
            format!(
                "{} given, shape {} takes {}",
                p.public_inputs.len(),
                p.shape.name(),
                layout.len()
            ),
        ));
    }
    let inputs: Vec<Fp> = p
        .public_inputs
        .iter()
        .enumerate()
        .map(|(i, s)| pasta::parse(&format!("public input {i}"), s))
        .collect::<Result<_, _>>()
        .map_err(|e| malformed("public inputs", e))?;
    let public = PublicInputs::<Fp>::from_field_elements(p.shape, &inputs)
        .map_err(|e| malformed("public inputs", e))?;
    // The circuit reads the query from the instance column's tail: the verifier's own request,
    // whose hash the query-hash input must be (`EncodedQuery::hash_halo2`).
    let query = encoded.to_pasta_elements();
    let (cp, issuers) = check_shared(
        request,
        p,
        &encoded,
        &public,
        pasta::hash_elements(&query),
        trust,
        now,
        |r| r.root_halo2,
    )?;
    // Revealed values are BN254 values carried over: one at or above r is no value at all.
    let revealed = public
        .revealed
        .iter()
        .map(|x| to_fr("revealed value", x))
        .collect::<Result<Vec<_>, _>>()?;
    let proof = STANDARD
        .decode(&p.proof)
        .map_err(|e| VerifyError::ProofEncoding(format!("not base64 ({e})")))?;
    if proof.is_empty() || proof.len() > MAX_PROOF_BYTES {
        return Err(VerifyError::ProofEncoding(format!(
            "{} bytes, expected 1..={MAX_PROOF_BYTES}",
            proof.len()
        )));
    }
    let instance = dossier_halo2::statement::instance(&inputs, &query);
    let nullifier = pasta::to_hex(&public.nullifier);
    let verdict = Verdict::new(
        request,
        &encoded,
        &issuers,
        &revealed,
        &nullifier,
        &cp,
        schemas,
        (crate::verdict::NO_SETUP, false),
        now,
    );
    Ok(Pending {
        checked: Checked {
            verdict,
            nullifier,
            backend: dossier_core::presentation::Backend::Halo2,
            groth16: None,
        },
        keys,
        proof,
        instance,
    })
}

/// halo2 presentations of a batch, grouped by shape: each group's IPA checks fold into one MSM
/// (`VerifyingKeys::verify_batch`); a failed group is checked one by one.
#[derive(Default)]
pub(crate) struct Batch {
    by_shape: BTreeMap<String, Vec<(usize, Pending)>>,
}

impl Batch {
    /// Runs item `i`'s checks but the IPA one; an early verdict if they fail.
    pub(crate) fn add(
        &mut self,
        i: usize,
        item: &crate::BatchItem<'_>,
        trust: &Trust,
        schemas: &SchemaSet,
    ) -> Option<Result<Checked, VerifyError>> {
        match check(item.request, item.presentation, trust, schemas, item.now) {
            Ok(pending) => {
                self.by_shape
                    .entry(item.presentation.shape.name())
                    .or_default()
                    .push((i, pending));
                None
            }
            Err(e) => Some(Err(e)),
        }
    }

    /// The IPA checks, each item's verdict into `out`.
    pub(crate) fn finish(self, out: &mut [Option<Result<Checked, VerifyError>>]) {
        for members in self.by_shape.into_values() {
            let batch: Vec<(&[u8], &[Fp])> = members
                .iter()
                .map(|(_, p)| (p.proof.as_slice(), p.instance.as_slice()))
                .collect();
            let batch_ok = members.len() > 1 && members[0].1.keys.verify_batch(&batch).is_ok();
            for (i, pending) in members {
                out[i] = Some(if batch_ok {
                    Ok(pending.checked)
                } else {
                    pending.finish()
                });
            }
        }
    }
}
