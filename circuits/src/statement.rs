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
use dossier_core::query::Shape;
use dossier_core::statement::Layout;
use std::ops::Range;

/// Tree depth of every registry.
pub use dossier_core::REGISTRY_DEPTH as DEPTH;

/// The private inputs of one credential slot (the one definition in core, over BN254).
pub type CredentialWitness = dossier_core::statement::CredentialWitness<Fr>;

/// Everything the circuit is given (the one definition in core, over BN254), built by
/// `StatementWitness::build`.
pub type StatementWitness = dossier_core::statement::StatementWitness<Fr>;

/// One credential offered for a query slot (defined in core, shared with the holder's selection).
pub use dossier_core::credential::Offered;

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
    /// Synthesises the circuit, returning the named checks: the statement read top to bottom,
    /// each step a method of [`Synthesis`].
    pub fn synthesize(&self, cs: ConstraintSystemRef<Fr>) -> Result<Checks, SynthesisError> {
        let w = &self.witness;
        let mut s = Synthesis::start(cs, self.shape, w)?;
        s.query_hash()?;
        let (secret, holder) = s.holder(w.secret)?;
        s.nullifier(&secret)?;
        s.challenge()?;
        let sum_code = s.sum_code()?;
        let mut used = Vec::with_capacity(self.shape.credentials);
        let mut terms = Vec::new();
        for (m, cw) in w.credentials.iter().enumerate() {
            let slot = s.credential(m, cw, &holder, &sum_code)?;
            terms.extend(slot.sum_term.clone());
            used.push(slot);
        }
        if self.shape.credentials > 1 {
            s.distinct(&used)?;
            s.sum_bound(&terms, &sum_code)?;
        } else {
            s.sum_absent(&sum_code)?;
        }
        Ok(s.checks)
    }
}

/// One synthesis under way: the constraint system, the checks named so far, the public inputs
/// (in [`Layout`] order) and the query's cells.
struct Synthesis {
    cs: ConstraintSystemRef<Fr>,
    checks: Checks,
    shape: Shape,
    layout: Layout,
    inputs: Vec<FpVar<Fr>>,
    q: Vec<FpVar<Fr>>,
}

/// What a credential slot leaves for the checks across slots.
struct UsedSlot {
    commitment: FpVar<Fr>,
    active: FpVar<Fr>,
    sum_term: Option<FpVar<Fr>>,
}

/// One credential slot's cells: its query header bits, its slots (with a trailing zero, the
/// target of "no field"), the cells of its commitment.
struct SlotCells {
    header: Vec<Boolean<Fr>>,
    active: FpVar<Fr>,
    padded: Vec<FpVar<Fr>>,
    query_base: usize,
}

impl Synthesis {
    /// Allocates the public inputs and the query, refusing a witness of another shape.
    fn start(
        cs: ConstraintSystemRef<Fr>,
        shape: Shape,
        w: &StatementWitness,
    ) -> Result<Synthesis, SynthesisError> {
        let layout = Layout { shape };
        if w.credentials.len() != shape.credentials || w.query.len() != shape.query_len() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let public = w.public.to_field_elements();
        if public.len() != layout.len() {
            return Err(SynthesisError::Unsatisfiable);
        }
        let inputs = public
            .iter()
            .map(|x| FpVar::new_input(cs.clone(), || Ok(*x)))
            .collect::<Result<Vec<_>, _>>()?;
        let q = w
            .query
            .iter()
            .map(|x| witness(&cs, *x))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Synthesis {
            cs,
            checks: Checks::default(),
            shape,
            layout,
            inputs,
            q,
        })
    }

    fn record<T>(
        &mut self,
        name: impl Into<String>,
        f: impl FnOnce(&Synthesis) -> Result<T, SynthesisError>,
    ) -> Result<T, SynthesisError> {
        let start = self.cs.num_constraints();
        let v = f(self)?;
        self.checks
            .ranges
            .push((name.into(), start..self.cs.num_constraints()));
        Ok(v)
    }

    fn today(&self) -> &FpVar<Fr> {
        &self.inputs[self.layout.today()]
    }

    /// The query, committed to by its hash (`len`, then chunks of 11, chained).
    fn query_hash(&mut self) -> Result<(), SynthesisError> {
        self.record("query_hash", |s| {
            let q = &s.q;
            let mut chunks = q.chunks(11);
            let mut first = vec![FpVar::constant(Fr::from(q.len() as u64))];
            first.extend_from_slice(chunks.next().unwrap_or(&[]));
            let mut h = poseidon::hash(&first)?;
            for c in chunks {
                let mut next = vec![h];
                next.extend_from_slice(c);
                h = poseidon::hash(&next)?;
            }
            h.enforce_equal(&s.inputs[s.layout.query_hash()])
        })
    }

    /// The holder: one secret for every credential, and its commitment.
    fn holder(&mut self, secret: Fr) -> Result<(FpVar<Fr>, FpVar<Fr>), SynthesisError> {
        let secret = witness(&self.cs, secret)?;
        let holder = self.record("holder_commitment", |_| {
            poseidon::hash(std::slice::from_ref(&secret))
        })?;
        Ok((secret, holder))
    }

    /// The secret's nullifier for the scope.
    fn nullifier(&mut self, secret: &FpVar<Fr>) -> Result<(), SynthesisError> {
        self.record("nullifier", |s| {
            poseidon::hash(&[secret.clone(), s.inputs[s.layout.scope()].clone()])?
                .enforce_equal(&s.inputs[s.layout.nullifier()])
        })
    }

    /// Binds the challenge into the constraint system (it is otherwise only a public input).
    fn challenge(&mut self) -> Result<(), SynthesisError> {
        self.record("challenge", |s| {
            let c = &s.inputs[s.layout.challenge()];
            c.mul_equals(
                c,
                &witness(&s.cs, c.value().unwrap_or_default().square_ref())?,
            )
        })
    }

    /// Elements per credential in the encoded query.
    fn per_credential(&self) -> usize {
        2 + self.shape.predicates * (3 + self.shape.set_size)
    }

    /// The sum's code bits: enabled, then the summed slot.
    fn sum_code(&mut self) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
        let base = self.shape.credentials * self.per_credential();
        self.record("sum.code", |s| bits::to_bits(&s.q[base], 4))
    }

    /// Credential slot `m`: what the query asks of it, its commitment and validity, then its
    /// predicates, reveals and sum term.
    fn credential(
        &mut self,
        m: usize,
        cw: &CredentialWitness,
        holder: &FpVar<Fr>,
        sum_code: &[Boolean<Fr>],
    ) -> Result<UsedSlot, SynthesisError> {
        let query_base = m * self.per_credential();
        let reveals = self.shape.reveals;
        let header = self.record(format!("query[{m}].header"), |s| {
            bits::to_bits(&s.q[query_base], 2 + 3 * reveals)
        })?;
        let active = FpVar::from(header[0].clone());
        // A slot counts towards the sum only if it is used: in_sum·(1 - active) = 0.
        self.record(format!("query[{m}].sum_needs_active"), |_| {
            enforce_zero_product(&FpVar::from(header[1].clone()), &(FpVar::one() - &active))
        })?;
        let slots = cw
            .slots
            .iter()
            .map(|x| witness(&self.cs, *x))
            .collect::<Result<Vec<_>, _>>()?;
        let commitment = self.validity(m, cw, &slots, &active, holder, query_base)?;
        let mut padded = slots.clone();
        padded.push(FpVar::zero());
        let cells = SlotCells {
            header,
            active,
            padded,
            query_base,
        };
        for p in 0..self.shape.predicates {
            self.predicate(m, p, &cells)?;
        }
        self.reveals(m, &slots, &cells)?;
        let sum_term = if self.shape.credentials > 1 {
            Some(self.record(format!("credential[{m}].sum_term"), |_| {
                let t = bits::mux(&sum_code[1..4], &cells.padded)?
                    * FpVar::from(cells.header[1].clone());
                bits::enforce_range(&t, 64)?;
                Ok(t)
            })?)
        } else {
            None
        };
        Ok(UsedSlot {
            commitment,
            active: cells.active,
            sum_term,
        })
    }

    /// The credential's commitment, and (if the slot is used) its schema, holder binding,
    /// membership in the registry of its root, issue day and expiry; returns the commitment.
    fn validity(
        &mut self,
        m: usize,
        cw: &CredentialWitness,
        slots: &[FpVar<Fr>],
        active: &FpVar<Fr>,
        holder: &FpVar<Fr>,
        query_base: usize,
    ) -> Result<FpVar<Fr>, SynthesisError> {
        let cs = self.cs.clone();
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
        let commitment = self.record(format!("credential[{m}].commitment"), |_| {
            poseidon::hash(&inputs12)
        })?;
        let v_bits = self.record(format!("credential[{m}].validity"), |_| {
            bits::to_bits(&validity, 96)
        })?;
        self.record(format!("credential[{m}].schema"), |s| {
            enforce_zero_product(&(&schema_id - &s.q[query_base + 1]), active)
        })?;
        self.record(format!("credential[{m}].holder_binding"), |_| {
            enforce_zero_product(&(&holder_c - holder), active)
        })?;
        self.record(format!("credential[{m}].membership"), |s| {
            let siblings = cw
                .siblings
                .iter()
                .map(|x| witness(&s.cs, *x))
                .collect::<Result<Vec<_>, _>>()?;
            let root = merkle::root(&commitment, &v_bits[..DEPTH], &siblings)?;
            enforce_zero_product(&(&root - &s.inputs[s.layout.root(m)]), active)
        })?;
        self.record(format!("credential[{m}].issued"), |s| {
            // issued_at <= today, i.e. today - issued_at in [0, 2^32).
            let issued = Boolean::le_bits_to_fp(&v_bits[32..64])?;
            bits::enforce_range(&((s.today() - issued) * active), 32)
        })?;
        self.record(format!("credential[{m}].expiry"), |s| {
            // expires_at > today, i.e. expires_at - today - 1 in [0, 2^32).
            let expires = Boolean::le_bits_to_fp(&v_bits[64..96])?;
            let gap = (expires - s.today() - Fr::from(1u64)) * active;
            bits::enforce_range(&gap, 32)
        })?;
        Ok(commitment)
    }

    /// Predicate `p` of slot `m`: its code, the field it reads, its range and its set.
    fn predicate(&mut self, m: usize, p: usize, cells: &SlotCells) -> Result<(), SynthesisError> {
        let set_size = self.shape.set_size;
        let pb = cells.query_base + 2 + p * (3 + set_size);
        let code = self.record(format!("query[{m}].predicate[{p}].code"), |s| {
            bits::to_bits(&s.q[pb], 6)
        })?;
        let v = self.record(format!("credential[{m}].predicate[{p}].select"), |_| {
            bits::mux(&code[..3], &cells.padded)
        })?;
        self.record(format!("credential[{m}].predicate[{p}].range"), |s| {
            let vr = v.clone() * FpVar::from(code[3].clone());
            bits::enforce_range(&(&vr - &s.q[pb + 1]), 64)?;
            bits::enforce_range(&(&s.q[pb + 2] - &vr), 64)
        })?;
        self.record(format!("credential[{m}].predicate[{p}].set"), |s| {
            let set = &s.q[pb + 3..pb + 3 + set_size];
            let mut prod = &v - &set[0];
            for x in &set[1..] {
                prod *= &v - x;
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
            prod.mul_equals(&witness(&s.cs, inv)?, &FpVar::from(code[5].clone()))
        })
    }

    /// Each reveal of slot `m` is the field its header names (or 0).
    fn reveals(
        &mut self,
        m: usize,
        slots: &[FpVar<Fr>],
        cells: &SlotCells,
    ) -> Result<(), SynthesisError> {
        let mut revealable = vec![FpVar::zero()];
        revealable.extend(slots.iter().cloned());
        for r in 0..self.shape.reveals {
            self.record(format!("credential[{m}].reveal[{r}]"), |s| {
                bits::mux(&cells.header[2 + 3 * r..5 + 3 * r], &revealable)?
                    .enforce_equal(&s.inputs[s.layout.revealed(m, r)])
            })?;
        }
        Ok(())
    }

    /// Every two used slots hold different credentials (so a query asking for two is never met
    /// by one credential twice, and no credential is summed twice: a summed slot is a used
    /// one). Credentials of different schemas differ anyway.
    fn distinct(&mut self, used: &[UsedSlot]) -> Result<(), SynthesisError> {
        self.record("distinct", |s| {
            for (i, a) in used.iter().enumerate() {
                for b in &used[i + 1..] {
                    let both = &a.active * &b.active;
                    let diff = &a.commitment - &b.commitment;
                    let counted = both.value().map(|x| x == Fr::from(1u64)).unwrap_or(false);
                    let inv = diff
                        .value()
                        .ok()
                        .filter(|_| counted)
                        .and_then(|x| ark_ff::Field::inverse(&x))
                        .unwrap_or_default();
                    diff.mul_equals(&witness(&s.cs, inv)?, &both)?;
                }
            }
            Ok(())
        })
    }

    /// The summed terms reach the bound, when the sum is enabled.
    fn sum_bound(
        &mut self,
        terms: &[FpVar<Fr>],
        sum_code: &[Boolean<Fr>],
    ) -> Result<(), SynthesisError> {
        let base = self.shape.credentials * self.per_credential();
        self.record("sum.bound", |s| {
            let total = terms.iter().fold(FpVar::zero(), |acc, t| acc + t);
            let excess = (total - &s.q[base + 1]) * FpVar::from(sum_code[0].clone());
            bits::enforce_range(&excess, 66)
        })
    }

    /// One-credential shapes carry no aggregate: the query must not ask for one.
    fn sum_absent(&mut self, sum_code: &[Boolean<Fr>]) -> Result<(), SynthesisError> {
        self.record("sum.absent", |_| {
            FpVar::from(sum_code[0].clone()).enforce_equal(&FpVar::zero())
        })
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
