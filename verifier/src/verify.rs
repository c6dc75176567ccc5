//! Verification of one presentation.

use crate::verdict::Verdict;
use crate::{VerifierKeys, VerifyError};
use ark_bn254::{Bn254, Fr, G1Projective};
use ark_groth16::{Groth16, Proof};
use ark_serialize::CanonicalDeserialize;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_core::checkpoint::{self, CheckpointBody};
use dossier_core::presentation::{Backend, Presentation, PresentationRequest, PRESENTATION_FORMAT};
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;
use dossier_core::statement::{Layout, PublicInputs};

/// A presentation that passed every check, with what it proves.
#[derive(Clone, Debug)]
pub struct Checked {
    /// What was proven and revealed, for people and machines.
    pub verdict: Verdict,
    /// The holder's nullifier for the request's scope (`0x` hex, in the backend's field): the
    /// key a verifier records to refuse a second presentation in the scope.
    pub nullifier: String,
    /// The proof system that made the proof (a scope belongs to one: [`crate::NullifierStore`]).
    pub backend: Backend,
    /// A Groth16 proof and its public inputs (for batch re-verification); `None` for halo2.
    pub groth16: Option<(Proof<Bn254>, Vec<Fr>)>,
}

fn malformed(what: &str, reason: impl ToString) -> VerifyError {
    VerifyError::Malformed {
        what: what.into(),
        reason: reason.to_string(),
    }
}

/// Decodes a proof from base64, validating its points (on the curve, in the subgroup).
pub fn decode_proof(text: &str) -> Result<Proof<Bn254>, VerifyError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| VerifyError::ProofEncoding("not base64".into()))?;
    if bytes.len() != 128 {
        return Err(VerifyError::ProofEncoding(format!(
            "{} bytes, expected 128",
            bytes.len()
        )));
    }
    Proof::<Bn254>::deserialize_compressed(bytes.as_slice())
        .map_err(|e| VerifyError::ProofEncoding(format!("invalid point encoding ({e})")))
}

/// Checks everything except the proof's own equation; returns the encoded query, the public
/// inputs and the checkpoint.
pub(crate) fn check_statement(
    request: &PresentationRequest,
    p: &Presentation,
    keys: &VerifierKeys,
    log_key: &str,
    schemas: &SchemaSet,
    now: u64,
) -> Result<(EncodedQuery, Vec<Fr>, PublicInputs, CheckpointBody), VerifyError> {
    let encoded = check_request(request, p, schemas)?;
    if p.backend != Backend::Groth16 {
        return Err(malformed(
            "presentation",
            format!("backend `{}` where `groth16` was expected", p.backend),
        ));
    }
    let key = keys.for_presentation(p)?;
    // Shapes before arithmetic: the input count must match the key.
    let inputs = p.inputs().map_err(|e| malformed("public inputs", e))?;
    let layout = Layout { shape: p.shape };
    if inputs.len() != layout.len() || inputs.len() + 1 != key.pvk.vk.gamma_abc_g1.len() {
        return Err(malformed(
            "public inputs",
            format!(
                "{} given, the key takes {}",
                inputs.len(),
                key.pvk.vk.gamma_abc_g1.len() - 1
            ),
        ));
    }
    let public = PublicInputs::from_field_elements(p.shape, &inputs)
        .map_err(|e| malformed("public inputs", e))?;
    if public.query_hash != encoded.hash().map_err(|e| malformed("query", e))? {
        return Err(VerifyError::PublicInput("query_hash"));
    }
    check_bindings(request, &public)?;
    let cp = check_anchors(
        request,
        p,
        &encoded,
        log_key,
        now,
        |m, r| r.root == public.roots[m],
        |m| public.roots[m] == Fr::from(0u64),
    )?;
    check_unused_reveals(&encoded, &public)?;
    Ok((encoded, inputs, public, cp))
}

/// The presentation is of a known format and answers this very request; returns the request's
/// query encoded in the presentation's shape.
pub(crate) fn check_request(
    request: &PresentationRequest,
    p: &Presentation,
    schemas: &SchemaSet,
) -> Result<EncodedQuery, VerifyError> {
    if p.format != PRESENTATION_FORMAT {
        return Err(malformed(
            "presentation",
            format!("unknown format `{}`", p.format),
        ));
    }
    if p.backend != request.backend {
        return Err(VerifyError::RequestMismatch("backend"));
    }
    // The presentation must answer this very request.
    let r = &p.request;
    if r.query != request.query {
        return Err(VerifyError::RequestMismatch("query"));
    }
    if r.challenge != request.challenge {
        return Err(VerifyError::RequestMismatch("challenge"));
    }
    if r.scope != request.scope {
        return Err(VerifyError::RequestMismatch("scope"));
    }
    if r.today != request.today {
        return Err(VerifyError::RequestMismatch("today"));
    }
    if r.max_checkpoint_age_seconds != request.max_checkpoint_age_seconds {
        return Err(VerifyError::RequestMismatch("freshness policy"));
    }
    request
        .query
        .encode(schemas, p.shape)
        .map_err(|e| malformed("query", e))
}

/// Challenge, scope and today in the public inputs are the request's.
pub(crate) fn check_bindings(
    request: &PresentationRequest,
    public: &PublicInputs,
) -> Result<(), VerifyError> {
    if public.challenge != request.challenge {
        return Err(VerifyError::PublicInput("challenge"));
    }
    if public.scope != request.scope_field().map_err(|e| malformed("request", e))? {
        return Err(VerifyError::PublicInput("scope"));
    }
    if public.today != request.today_days().map_err(|e| malformed("request", e))? {
        return Err(VerifyError::PublicInput("today"));
    }
    Ok(())
}

/// Unused credential slots reveal nothing.
fn check_unused_reveals(encoded: &EncodedQuery, public: &PublicInputs) -> Result<(), VerifyError> {
    let r = encoded.shape.reveals;
    for (m, c) in encoded.credentials.iter().enumerate() {
        if !c.active
            && public.revealed[m * r..(m + 1) * r]
                .iter()
                .any(|v| *v != Fr::from(0u64))
        {
            return Err(VerifyError::PublicInput("unused credential slot"));
        }
    }
    Ok(())
}

/// The anchor: a checkpoint signed by the trusted ledger key, fresh enough, listing each used
/// root (`anchors(m, registry)`) for an accepted issuer; unused slots' roots are zero.
pub(crate) fn check_anchors(
    request: &PresentationRequest,
    p: &Presentation,
    encoded: &EncodedQuery,
    log_key: &str,
    now: u64,
    anchors: impl Fn(usize, &dossier_core::entry::RegistryRoot) -> bool,
    unused: impl Fn(usize) -> bool,
) -> Result<CheckpointBody, VerifyError> {
    let cp = checkpoint::open(p.checkpoint.as_bytes(), log_key)
        .map_err(|e| VerifyError::Checkpoint(e.to_string()))?;
    if cp.time > now.saturating_add(300) {
        return Err(VerifyError::Checkpoint("dated in the future".into()));
    }
    let age = now.saturating_sub(cp.time);
    if age > request.max_checkpoint_age_seconds {
        return Err(VerifyError::Stale {
            age,
            max: request.max_checkpoint_age_seconds,
        });
    }
    for (m, c) in encoded.credentials.iter().enumerate() {
        if !c.active {
            if !unused(m) {
                return Err(VerifyError::PublicInput("unused credential slot"));
            }
            continue;
        }
        let accepted = c
            .issuers
            .iter()
            .filter_map(|name| dossier_core::issuer_id(name).ok())
            .any(|id| cp.registry(&id).is_some_and(|r| anchors(m, r)));
        if !accepted {
            return Err(VerifyError::Unanchored {
                index: m,
                reason: "its registry root is not the checkpoint's root of an accepted issuer"
                    .into(),
            });
        }
    }
    Ok(cp)
}

/// `γ_abc[0] + Σ x_j·γ_abc[j+1]`, input by input: zero inputs (unused slots) cost nothing,
/// inputs below 2^64 (dates, small revealed values) a 64-bit double-and-add, and the rest a GLV
/// scalar multiplication (BN254's G1 endomorphism) — cheaper than a generic MSM over so few
/// points.
pub fn input_combination(bases: &[ark_bn254::G1Affine], inputs: &[Fr]) -> G1Projective {
    use ark_ec::AffineRepr;
    use ark_ff::{PrimeField, Zero};
    let mut acc = bases[0].into_group();
    for (b, x) in bases[1..].iter().zip(inputs) {
        if x.is_zero() {
            continue;
        }
        let limbs = x.into_bigint().0;
        if limbs[1] == 0 && limbs[2] == 0 && limbs[3] == 0 {
            acc += b.mul_bigint([limbs[0]]);
        } else {
            acc += b.into_group() * x;
        }
    }
    acc
}

/// The Groth16 check of one proof: the public-input combination as one MSM (arkworks'
/// `prepare_inputs` multiplies one input at a time), then the pairing equation. The input count
/// is checked against the key before any arithmetic.
pub fn verify_proof(
    key: &crate::keys::ShapeKey,
    proof: &Proof<Bn254>,
    inputs: &[Fr],
) -> Result<(), VerifyError> {
    let bases = &key.pvk.vk.gamma_abc_g1;
    if inputs.len() + 1 != bases.len() {
        return Err(malformed(
            "public inputs",
            format!("{} given, the key takes {}", inputs.len(), bases.len() - 1),
        ));
    }
    let ic = match key.tables.get() {
        Some(t) => t.combine(inputs) + bases[0],
        None => input_combination(bases, inputs),
    };
    match Groth16::<Bn254>::verify_proof_with_prepared_inputs(&key.pvk, proof, &ic) {
        Ok(true) => Ok(()),
        _ => Err(VerifyError::InvalidProof),
    }
}

/// Verifies a presentation against the verifier's own request, its keys and the ledger key it
/// trusts, at time `now` (unix seconds).
pub fn verify(
    request: &PresentationRequest,
    p: &Presentation,
    keys: &VerifierKeys,
    log_key: &str,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Checked, VerifyError> {
    if p.backend == Backend::Halo2 {
        #[cfg(feature = "halo2")]
        return crate::halo2::verify(request, p, log_key, schemas, now);
        #[cfg(not(feature = "halo2"))]
        return Err(VerifyError::BackendMissing(Backend::Halo2));
    }
    let checked = check_groth16(request, p, keys, log_key, schemas, now)?;
    if let Some((proof, inputs)) = &checked.groth16 {
        verify_proof(keys.for_presentation(p)?, proof, inputs)?;
    }
    Ok(checked)
}

/// Every check of a Groth16 presentation except the pairing equation, and its verdict should
/// the equation hold (the proof decoded and validated).
pub(crate) fn check_groth16(
    request: &PresentationRequest,
    p: &Presentation,
    keys: &VerifierKeys,
    log_key: &str,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Checked, VerifyError> {
    let (encoded, inputs, public, cp) = check_statement(request, p, keys, log_key, schemas, now)?;
    let proof = decode_proof(&p.proof)?;
    let verdict = Verdict::new(request, &encoded, &public, &cp, schemas, keys.insecure, now);
    Ok(Checked {
        nullifier: verdict.nullifier.clone(),
        verdict,
        backend: Backend::Groth16,
        groth16: Some((proof, inputs)),
    })
}
