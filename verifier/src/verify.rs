//! Verification of one presentation.

use crate::verdict::Verdict;
use crate::{VerifierKeys, VerifyError};
use ark_bn254::{Bn254, Fr, G1Projective};
use ark_groth16::{Groth16, Proof};
use ark_serialize::CanonicalDeserialize;
use base64::{engine::general_purpose::STANDARD, Engine};
use dossier_core::checkpoint::{CheckpointBody, Trust};
use dossier_core::entry::RegistryRoot;
use dossier_core::presentation::{Backend, Presentation, PresentationRequest, PRESENTATION_FORMAT};
use dossier_core::query::EncodedQuery;
use dossier_core::schema::SchemaSet;
use dossier_core::statement::{InputField, Layout, PublicInputs};

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

/// A Groth16 presentation's statement, checked: everything but the proof's own equation.
pub(crate) struct Statement {
    /// The request's query in the presentation's shape.
    pub encoded: EncodedQuery,
    /// The public inputs as field elements (for the pairing check).
    pub inputs: Vec<Fr>,
    /// ... and typed.
    pub public: PublicInputs,
    /// The anchoring checkpoint.
    pub checkpoint: CheckpointBody,
    /// The accepted issuer of each slot's registry ("" for an unused slot).
    pub issuers: Vec<String>,
}

/// Checks everything except the proof's own equation.
pub(crate) fn check_statement(
    request: &PresentationRequest,
    p: &Presentation,
    keys: &VerifierKeys,
    trust: &Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Statement, VerifyError> {
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
    let query_hash = encoded.hash().map_err(|e| malformed("query", e))?;
    let (checkpoint, issuers) =
        check_shared(request, p, &encoded, &public, query_hash, trust, now, |r| {
            r.root
        })?;
    Ok(Statement {
        encoded,
        inputs,
        public,
        checkpoint,
        issuers,
    })
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
    // The grounds the holder was shown (not in the proof: the archive keeps them with the
    // request) must be the verifier's own.
    if r.purpose != request.purpose {
        return Err(VerifyError::RequestMismatch("purpose"));
    }
    if r.legal_basis != request.legal_basis {
        return Err(VerifyError::RequestMismatch("legal basis"));
    }
    request
        .query
        .encode(schemas, p.shape)
        .map_err(|e| malformed("query", e))
}

/// The checks both backends make once their public inputs are read in their own field: the
/// query hash is the hash of the verifier's own query (`query_hash`, in the backend's hash),
/// challenge, scope and today are the request's, the checkpoint is signed, fresh and anchors
/// every used root for an accepted issuer (`root_of` reads a checkpoint line's root in the
/// backend's tree), and unused slots carry no root and reveal nothing. Returns the checkpoint
/// and each slot's accepted issuer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_shared<F: InputField>(
    request: &PresentationRequest,
    p: &Presentation,
    encoded: &EncodedQuery,
    public: &PublicInputs<F>,
    query_hash: F,
    trust: &Trust,
    now: u64,
    root_of: impl Fn(&RegistryRoot) -> F,
) -> Result<(CheckpointBody, Vec<String>), VerifyError> {
    if public.query_hash != query_hash {
        return Err(VerifyError::PublicInput("query_hash"));
    }
    check_bindings(request, public)?;
    let cp = check_checkpoint(request, p, trust, now)?;
    let issuers = check_anchors(encoded, public, &cp, root_of)?;
    check_unused_reveals(encoded, public)?;
    Ok((cp, issuers))
}

/// Challenge, scope and today in the public inputs are the request's.
fn check_bindings<F: InputField>(
    request: &PresentationRequest,
    public: &PublicInputs<F>,
) -> Result<(), VerifyError> {
    if public.challenge != F::from_bn254(&request.challenge) {
        return Err(VerifyError::PublicInput("challenge"));
    }
    let scope = request.scope_field().map_err(|e| malformed("request", e))?;
    if public.scope != F::from_bn254(&scope) {
        return Err(VerifyError::PublicInput("scope"));
    }
    if public.today != request.today_days().map_err(|e| malformed("request", e))? {
        return Err(VerifyError::PublicInput("today"));
    }
    Ok(())
}

/// Unused credential slots reveal nothing.
fn check_unused_reveals<F: InputField>(
    encoded: &EncodedQuery,
    public: &PublicInputs<F>,
) -> Result<(), VerifyError> {
    let r = encoded.shape.reveals;
    for (m, c) in encoded.credentials.iter().enumerate() {
        if !c.active
            && public.revealed[m * r..(m + 1) * r]
                .iter()
                .any(|v| *v != F::from(0u64))
        {
            return Err(VerifyError::PublicInput("unused credential slot"));
        }
    }
    Ok(())
}

/// The checkpoint is signed by the trusted ledger key, cosigned as the witness policy demands,
/// and fresh enough.
fn check_checkpoint(
    request: &PresentationRequest,
    p: &Presentation,
    trust: &Trust,
    now: u64,
) -> Result<CheckpointBody, VerifyError> {
    let cp = trust.open(p.checkpoint.as_bytes()).map_err(|e| match e {
        dossier_core::CoreError::Witnesses { needed, found } => {
            VerifyError::Unwitnessed { needed, found }
        }
        e => VerifyError::Checkpoint(e.to_string()),
    })?;
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
    Ok(cp)
}

/// Each used slot's root is the checkpoint's root of an accepted issuer (that issuer is
/// returned for the slot); an unused slot's root is zero.
fn check_anchors<F: InputField>(
    encoded: &EncodedQuery,
    public: &PublicInputs<F>,
    cp: &CheckpointBody,
    root_of: impl Fn(&RegistryRoot) -> F,
) -> Result<Vec<String>, VerifyError> {
    let mut issuers = Vec::with_capacity(encoded.credentials.len());
    for (m, c) in encoded.credentials.iter().enumerate() {
        if !c.active {
            if public.roots[m] != F::from(0u64) {
                return Err(VerifyError::PublicInput("unused credential slot"));
            }
            issuers.push(String::new());
            continue;
        }
        let accepted = c.issuers.iter().find(|name| {
            dossier_core::issuer_id(name)
                .ok()
                .and_then(|id| cp.registry(&id))
                .is_some_and(|r| root_of(r) == public.roots[m])
        });
        match accepted {
            Some(name) => issuers.push(name.clone()),
            None => {
                return Err(VerifyError::Unanchored {
                    index: m,
                    reason: "its registry root is not the checkpoint's root of an accepted issuer"
                        .into(),
                })
            }
        }
    }
    Ok(issuers)
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
    trust: &Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Checked, VerifyError> {
    if p.backend == Backend::Halo2 {
        #[cfg(feature = "halo2")]
        return crate::halo2::verify(request, p, trust, schemas, now);
        #[cfg(not(feature = "halo2"))]
        return Err(VerifyError::BackendMissing(Backend::Halo2));
    }
    let checked = check_groth16(request, p, keys, trust, schemas, now)?;
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
    trust: &Trust,
    schemas: &SchemaSet,
    now: u64,
) -> Result<Checked, VerifyError> {
    let st = check_statement(request, p, keys, trust, schemas, now)?;
    let proof = decode_proof(&p.proof)?;
    let nullifier = dossier_core::field::to_hex(&st.public.nullifier);
    let verdict = Verdict::new(
        request,
        &st.encoded,
        &st.issuers,
        &st.public.revealed,
        &nullifier,
        &st.checkpoint,
        schemas,
        (&keys.setup, keys.insecure),
        now,
    );
    Ok(Checked {
        nullifier,
        verdict,
        backend: Backend::Groth16,
        groth16: Some((proof, st.inputs)),
    })
}
