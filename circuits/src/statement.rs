//! The generic statement: for each active credential slot of the query, "I know a credential in
//! the registry with this root, of the query's schema, not expired today, bound to my secret,
//! whose fields satisfy the query's predicates, and whose revealed fields are these"; plus the
//! nullifier of my secret for the scope, the optional `$sum` over distinct credentials, and the
//! query itself, committed to by its hash.
//!
//! Every check is recorded by name with the constraints it added ([`Checks`]), so a negative
//! test can assert *which* check a false statement breaks.

use crate::gadgets::{bits, merkle, poseidon};
use ark_bn254::Fr;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use dossier_core::credential::SLOTS;
use dossier_core::query::Shape;
use dossier_core::statement::{Layout, PublicInputs};
use std::ops::Range;

/// Tree depth of every registry.
pub use dossier_core::REGISTRY_DEPTH as DEPTH;

/// The private inputs of one credential slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialWitness {
    /// Schema id in the commitment.
    pub schema_id: Fr,
    /// Issuer id in the commitment.
    pub issuer_id: Fr,
    /// Holder commitment in the commitment.
    pub holder: Fr,
    /// Packed `id | issued_at << 32 | expires_at << 64`.
    pub validity: Fr,
    /// The salt.
    pub salt: Fr,
    /// The seven slots.
    pub slots: [Fr; SLOTS],
    /// The 32 siblings of the membership path.
    pub siblings: Vec<Fr>,
}

impl CredentialWitness {
    /// An all-zero credential (unused slots, and key generation).
    pub fn blank() -> CredentialWitness {
        CredentialWitness {
            schema_id: Fr::from(0u64),
            issuer_id: Fr::from(0u64),
            holder: Fr::from(0u64),
            validity: Fr::from(0u64),
            salt: Fr::from(0u64),
            slots: [Fr::from(0u64); SLOTS],
            siblings: vec![Fr::from(0u64); DEPTH],
        }
    }
}

/// Everything the circuit is given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementWitness {
    /// The holder's secret.
    pub secret: Fr,
    /// The encoded query (`EncodedQuery::to_field_elements`).
    pub query: Vec<Fr>,
    /// Exactly M credential slots.
    pub credentials: Vec<CredentialWitness>,
    /// The public inputs.
    pub public: PublicInputs,
}

impl StatementWitness {
    /// A witness of the right shape with every value zero: for key generation, where values
    /// are never read.
    pub fn blank(shape: Shape) -> StatementWitness {
        StatementWitness {
            secret: Fr::from(0u64),
            query: vec![Fr::from(0u64); shape.query_len()],
            credentials: vec![CredentialWitness::blank(); shape.credentials],
            public: PublicInputs {
                roots: vec![Fr::from(0u64); shape.credentials],
                query_hash: Fr::from(0u64),
                challenge: Fr::from(0u64),
                scope: Fr::from(0u64),
                today: 0,
                nullifier: Fr::from(0u64),
                revealed: vec![Fr::from(0u64); shape.credentials * shape.reveals],
            },
        }
    }
}

/// Named checks and the constraint indices each added, in order.
#[derive(Clone, Debug, Default)]
pub struct Checks {
    /// (name, constraints).
    pub ranges: Vec<(String, Range<usize>)>,
}

impl Checks {
    /// The check that owns constraint `index`.
    pub fn name_of(&self, index: usize) -> Option<&str> {
        self.ranges
            .iter()
            .find(|(_, r)| r.contains(&index))
            .map(|(n, _)| n.as_str())
    }

    fn record<T>(
        &mut self,
        cs: &ConstraintSystemRef<Fr>,
        name: impl Into<String>,
        f: impl FnOnce() -> Result<T, SynthesisError>,
    ) -> Result<T, SynthesisError> {
        let start = cs.num_constraints();
        let v = f()?;
        self.ranges.push((name.into(), start..cs.num_constraints()));
        Ok(v)
    }
}

/// The statement circuit for one shape.
#[derive(Clone, Debug)]
pub struct StatementCircuit {
    /// The shape.
    pub shape: Shape,
    /// Its inputs.
    pub witness: StatementWitness,
}

fn witness(cs: &ConstraintSystemRef<Fr>, v: Fr) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || Ok(v))
}

/// `x * y == 0`, one constraint.
fn enforce_zero_product(x: &FpVar<Fr>, y: &FpVar<Fr>) -> Result<(), SynthesisError> {
    x.mul_equals(y, &FpVar::zero())
}

impl StatementCircuit {
    /// Synthesises the circuit, returning the named checks.
    pub fn synthesize(&self, cs: ConstraintSystemRef<Fr>) -> Result<Checks, SynthesisError> {
        let shape = self.shape;
        let w = &self.witness;
        let layout = Layout { shape };
        let mut checks = Checks::default();
        if w.credentials.len() != shape.credentials || w.query.len() != shape.query_len() {
            return Err(SynthesisError::Unsatisfiable);
        }

        // Public inputs, in layout order.
        let public = w.public.to_field_elements();
        if public.len() != layout.len() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let inputs = public
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?;
        let today = &inputs[layout.today()];

        // The query, committed to by its hash.
        let q = w
            .query
            .iter()
            .map(|x| witness(&cs, *x))
            .collect::<Result<Vec<_>, _>>()?;
        checks.record(&cs, "query_hash", || {
            let mut chunks = q.chunks(11);
            let mut first = vec![FpVar::constant(Fr::from(q.len() as u64))];
            first.extend_from_slice(chunks.next().unwrap_or(&[]));
            let mut h = poseidon::hash(&first)?;
            for c in chunks {
                let mut next = vec![h];
                next.extend_from_slice(c);
                h = poseidon::hash(&next)?;
            }
            h.enforce_equal(&inputs[layout.query_hash()])
        })?;

        // The holder: one secret for every credential, and its nullifier for the scope.
        let secret = witness(&cs, w.secret)?;
        let holder = checks.record(&cs, "holder_commitment", || {
            poseidon::hash(std::slice::from_ref(&secret))
        })?;
        checks.record(&cs, "nullifier", || {
            poseidon::hash(&[secret.clone(), inputs[layout.scope()].clone()])?
                .enforce_equal(&inputs[layout.nullifier()])
        })?;
        // Bind the challenge into the constraint system (it is otherwise only a public input).
        checks.record(&cs, "challenge", || {
            let c = &inputs[layout.challenge()];
            c.mul_equals(
                c,
                &witness(&cs, c.value().unwrap_or_default().square_ref())?,
            )
        })?;

        let per = 2 + shape.predicates * (3 + shape.set_size);
        let mut commitments = Vec::with_capacity(shape.credentials);
        let mut actives = Vec::with_capacity(shape.credentials);
        let sum_base = shape.credentials * per;
        let sum_code = checks.record(&cs, "sum.code", || bits::to_bits(&q[sum_base], 4))?;
        let mut terms = Vec::new();

        for (m, cw) in w.credentials.iter().enumerate() {
            let base = m * per;
            let header = checks.record(&cs, format!("query[{m}].header"), || {
                bits::to_bits(&q[base], 2 + 3 * shape.reveals)
            })?;
            let active = FpVar::from(header[0].clone());
            // A slot counts towards the sum only if it is used: in_sum·(1 - active) = 0.
            checks.record(&cs, format!("query[{m}].sum_needs_active"), || {
                enforce_zero_product(&FpVar::from(header[1].clone()), &(FpVar::one() - &active))
            })?;
            let slots = cw
                .slots
                .iter()
                .map(|x| witness(&cs, *x))
                .collect::<Result<Vec<_>, _>>()?;
            let schema_id = witness(&cs, cw.schema_id)?;
            let holder_c = witness(&cs, cw.holder)?;
            let validity = witness(&cs, cw.validity)?;
            let mut inputs12 = vec![
                schema_id.clone(),
                witness(&cs, cw.issuer_id)?,
                holder_c.clone(),
                validity.clone(),
                witness(&cs, cw.salt)?,
            ];
            inputs12.extend(slots.iter().cloned());
            let commitment = checks.record(&cs, format!("credential[{m}].commitment"), || {
                poseidon::hash(&inputs12)
            })?;

            let v_bits = checks.record(&cs, format!("credential[{m}].validity"), || {
                bits::to_bits(&validity, 96)
            })?;
            checks.record(&cs, format!("credential[{m}].schema"), || {
                enforce_zero_product(&(&schema_id - &q[base + 1]), &active)
            })?;
            checks.record(&cs, format!("credential[{m}].holder_binding"), || {
                enforce_zero_product(&(&holder_c - &holder), &active)
            })?;
            checks.record(&cs, format!("credential[{m}].membership"), || {
                let siblings = cw
                    .siblings
                    .iter()
                    .map(|x| witness(&cs, *x))
                    .collect::<Result<Vec<_>, _>>()?;
                let root = merkle::root(&commitment, &v_bits[..DEPTH], &siblings)?;
                enforce_zero_product(&(&root - &inputs[layout.root(m)]), &active)
            })?;
            checks.record(&cs, format!("credential[{m}].issued"), || {
                // issued_at <= today, i.e. today - issued_at in [0, 2^32).
                let issued = Boolean::le_bits_to_fp(&v_bits[32..64])?;
                bits::enforce_range(&((today - issued) * &active), 32)
            })?;
            checks.record(&cs, format!("credential[{m}].expiry"), || {
                // expires_at > today, i.e. expires_at - today - 1 in [0, 2^32).
                let expires = Boolean::le_bits_to_fp(&v_bits[64..96])?;
                let gap = (expires - today - Fr::from(1u64)) * &active;
                bits::enforce_range(&gap, 32)
            })?;

            let mut padded = slots.clone();
            padded.push(FpVar::zero());
            for p in 0..shape.predicates {
                let pb = base + 2 + p * (3 + shape.set_size);
                let code = checks.record(&cs, format!("query[{m}].predicate[{p}].code"), || {
                    bits::to_bits(&q[pb], 6)
                })?;
                let v = checks.record(
                    &cs,
                    format!("credential[{m}].predicate[{p}].select"),
                    || bits::mux(&code[..3], &padded),
                )?;
                checks.record(&cs, format!("credential[{m}].predicate[{p}].range"), || {
                    let vr = v.clone() * FpVar::from(code[3].clone());
                    bits::enforce_range(&(&vr - &q[pb + 1]), 64)?;
                    bits::enforce_range(&(&q[pb + 2] - &vr), 64)
                })?;
                checks.record(&cs, format!("credential[{m}].predicate[{p}].set"), || {
                    let set = &q[pb + 3..pb + 3 + shape.set_size];
                    let mut prod = &v - &set[0];
                    for s in &set[1..] {
                        prod *= &v - s;
                    }
                    enforce_zero_product(&prod, &FpVar::from(code[4].clone()))?;
                    // `prod * inv == nin`: for "not in", prod must be invertible (non-zero).
                    let nin = code[5].value().unwrap_or(false);
                    let inv = prod
                        .value()
                        .ok()
                        .filter(|_| nin)
                        .and_then(|x| ark_ff::Field::inverse(&x))
                        .unwrap_or_default();
                    prod.mul_equals(&witness(&cs, inv)?, &FpVar::from(code[5].clone()))
                })?;
            }
            let mut revealable = vec![FpVar::zero()];
            revealable.extend(slots.iter().cloned());
            for r in 0..shape.reveals {
                checks.record(&cs, format!("credential[{m}].reveal[{r}]"), || {
                    bits::mux(&header[2 + 3 * r..5 + 3 * r], &revealable)?
                        .enforce_equal(&inputs[layout.revealed(m, r)])
                })?;
            }
            if shape.credentials > 1 {
                let term = checks.record(&cs, format!("credential[{m}].sum_term"), || {
                    let t = bits::mux(&sum_code[1..4], &padded)? * FpVar::from(header[1].clone());
                    bits::enforce_range(&t, 64)?;
                    Ok(t)
                })?;
                terms.push(term);
            }
            commitments.push(commitment);
            actives.push(active);
        }

        if shape.credentials > 1 {
            // Every two used slots hold different credentials (so a query asking for two is
            // never met by one credential twice, and no credential is summed twice: a summed
            // slot is a used one). Credentials of different schemas differ anyway.
            checks.record(&cs, "distinct", || {
                for i in 0..commitments.len() {
                    for j in i + 1..commitments.len() {
                        let both = &actives[i] * &actives[j];
                        let diff = &commitments[i] - &commitments[j];
                        let counted = both.value().map(|b| b == Fr::from(1u64)).unwrap_or(false);
                        let inv = diff
                            .value()
                            .ok()
                            .filter(|_| counted)
                            .and_then(|x| ark_ff::Field::inverse(&x))
                            .unwrap_or_default();
                        diff.mul_equals(&witness(&cs, inv)?, &both)?;
                    }
                }
                Ok(())
            })?;
            checks.record(&cs, "sum.bound", || {
                let total = terms.iter().fold(FpVar::zero(), |acc, t| acc + t);
                let excess = (total - &q[sum_base + 1]) * FpVar::from(sum_code[0].clone());
                bits::enforce_range(&excess, 66)
            })?;
        } else {
            // One-credential shapes carry no aggregate: the query must not ask for one.
            checks.record(&cs, "sum.absent", || {
                FpVar::from(sum_code[0].clone()).enforce_equal(&FpVar::zero())
            })?;
        }
        Ok(checks)
    }
}

trait SquareRef {
    fn square_ref(&self) -> Fr;
}

impl SquareRef for Fr {
    fn square_ref(&self) -> Fr {
        ark_ff::Field::square(self)
    }
}

impl ConstraintSynthesizer<Fr> for StatementCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        self.synthesize(cs).map(drop)
    }
}

/// Why a witness could not be built: the holder's credentials do not satisfy the query (the
/// prover says so before proving, rather than producing an unsatisfiable proof attempt).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WitnessError {
    /// The number of credentials does not match the query.
    #[error("the query asks for {expected} credentials, {given} given")]
    CredentialCount {
        /// Asked for.
        expected: usize,
        /// Given.
        given: usize,
    },
    /// The query could not be encoded or hashed.
    #[error("the query: {reason}")]
    Encoding {
        /// What failed.
        reason: String,
    },
    /// A credential does not satisfy something the query asks.
    #[error("credential {index} does not satisfy the query: {reason}")]
    Unsatisfied {
        /// Which credential of the query.
        index: usize,
        /// What fails.
        reason: String,
    },
}

impl From<dossier_core::query::Unsatisfied> for WitnessError {
    fn from(u: dossier_core::query::Unsatisfied) -> WitnessError {
        match u {
            dossier_core::query::Unsatisfied::Count { expected, given } => {
                WitnessError::CredentialCount { expected, given }
            }
            dossier_core::query::Unsatisfied::Credential { index, reason } => {
                WitnessError::Unsatisfied { index, reason }
            }
        }
    }
}

/// One credential offered for a query slot (defined in core, shared with the holder's selection).
pub use dossier_core::credential::Offered;

impl StatementWitness {
    /// Builds the witness for a query from the holder's secret and credentials (in query order),
    /// checking natively everything the circuit will check.
    pub fn build(
        query: &dossier_core::query::EncodedQuery,
        secret: &dossier_core::holder::HolderSecret,
        offered: &[Offered],
        challenge: Fr,
        scope: Fr,
        today: u32,
    ) -> Result<StatementWitness, WitnessError> {
        let shape = query.shape;
        query.check_offered(offered, today)?;
        let holder = secret.commitment();
        let mut credentials = Vec::with_capacity(shape.credentials);
        let mut roots = Vec::with_capacity(shape.credentials);
        for (m, qc) in query.credentials.iter().enumerate() {
            let Some(o) = offered.get(m).filter(|_| qc.active) else {
                credentials.push(CredentialWitness::blank());
                roots.push(Fr::from(0u64));
                continue;
            };
            let c = &o.credential;
            let fail = |reason: String| WitnessError::Unsatisfied { index: m, reason };
            if c.holder != holder {
                return Err(fail("it is bound to another holder".into()));
            }
            if o.siblings.len() != DEPTH {
                return Err(fail("its membership path is malformed".into()));
            }
            let mut h = c.commitment();
            for (l, s) in o.siblings.iter().enumerate() {
                h = if (c.credential_id >> l) & 1 == 0 {
                    dossier_core::poseidon::hash2(h, *s)
                } else {
                    dossier_core::poseidon::hash2(*s, h)
                };
            }
            if h != o.root {
                return Err(fail(
                    "its membership path does not lead to the registry root".into(),
                ));
            }
            credentials.push(CredentialWitness {
                schema_id: c.schema_id,
                issuer_id: c.issuer_id,
                holder: c.holder,
                validity: c.validity(),
                salt: c.salt,
                slots: c.slots,
                siblings: o.siblings.clone(),
            });
            roots.push(o.root);
        }
        let public = PublicInputs {
            roots,
            query_hash: query.hash().map_err(|e| WitnessError::Encoding {
                reason: e.to_string(),
            })?,
            challenge,
            scope,
            today,
            nullifier: secret.nullifier(scope),
            revealed: query.revealed(offered),
        };
        Ok(StatementWitness {
            secret: secret.expose(),
            query: query.to_field_elements(),
            credentials,
            public,
        })
    }
}
