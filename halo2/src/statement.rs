//! The generic statement in halo2, check for check the Groth16 statement
//! (`circuits/src/statement.rs`): for each active credential slot of the query, "I know a
//! credential in the registry with this root, of the query's schema, not expired today, bound to
//! my secret, whose fields satisfy the query's predicates, and whose revealed fields are these";
//! plus the nullifier of my secret for the scope and the optional `$sum` over distinct
//! credentials. Every hash is Pasta Poseidon ([`dossier_core::pasta`]).
//!
//! Public inputs: the instance column holds the presentation's public inputs in
//! [`dossier_core::statement::Layout`] order (the same as Groth16's, in the Pallas field), then
//! the encoded query itself ([`instance`]). Groth16 hashes the query in the circuit because each
//! public input costs its verifier a scalar multiplication; a halo2 verifier commits to the whole
//! instance column at once, so the circuit reads the query directly and the 18 Poseidon
//! permutations of the query hash are saved (2^11 rows instead of 2^12 for one credential). The
//! query-hash input is then checked by the verifier natively and, like every instance value
//! (the challenge too), bound to the proof by the transcript.

use crate::arith::{ArithChip, ArithConfig, Cell};
use crate::range::{RangeChip, RangeConfig};
use crate::set::{SetChip, SetConfig};
use crate::validity;
use crate::Halo2Error;
use dossier_core::credential::{Offered, SLOTS};
use dossier_core::holder::HolderSecret;
use dossier_core::pasta::{self, Fp};
use dossier_core::query::{EncodedQuery, Shape};
use dossier_core::statement::{InputField, Layout, PublicInputs};
use dossier_core::Fr;
use ff::Field;
use halo2_gadgets::poseidon::primitives::{ConstantLength, P128Pow5T3};
use halo2_gadgets::poseidon::{Hash, Pow5Chip, Pow5Config};
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Constraints, Error, Instance, Selector,
};
use halo2_proofs::poly::Rotation;

/// Tree depth of every registry.
pub use dossier_core::REGISTRY_DEPTH as DEPTH;

/// The private inputs of one credential slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialWitness {
    /// Schema id.
    pub schema_id: Fp,
    /// Issuer id.
    pub issuer_id: Fp,
    /// The holder's halo2 commitment in the credential.
    pub holder: Fp,
    /// Packed `id | issued_at << 32 | expires_at << 64`.
    pub validity: Fp,
    /// The salt.
    pub salt: Fp,
    /// The seven slots.
    pub slots: [Fp; SLOTS],
    /// The membership path in the halo2 twin tree, leaf level first.
    pub siblings: Vec<Fp>,
}

impl CredentialWitness {
    /// An all-zero credential (unused slots).
    pub fn blank() -> CredentialWitness {
        CredentialWitness {
            schema_id: Fp::ZERO,
            issuer_id: Fp::ZERO,
            holder: Fp::ZERO,
            validity: Fp::ZERO,
            salt: Fp::ZERO,
            slots: [Fp::ZERO; SLOTS],
            siblings: vec![Fp::ZERO; DEPTH],
        }
    }
}

/// Everything the prover knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementWitness {
    /// The holder's secret.
    pub secret: Fp,
    /// The encoded query (public: the tail of the instance column).
    pub query: Vec<Fp>,
    /// Exactly M credential slots.
    pub credentials: Vec<CredentialWitness>,
    /// The public inputs (Pasta roots, query hash and nullifier; the request's values carried
    /// over).
    pub public: PublicInputs<Fp>,
}

/// The statement circuit of one shape; `witness: None` for key generation.
#[derive(Clone, Debug)]
pub struct StatementCircuit {
    /// The shape.
    pub shape: Shape,
    /// The witness.
    pub witness: Option<StatementWitness>,
}

/// The instance column: the public inputs in `Layout` order, then the encoded query.
pub fn instance(public: &[Fp], query: &[Fp]) -> Vec<Fp> {
    let mut out = public.to_vec();
    out.extend_from_slice(query);
    out
}

impl StatementWitness {
    /// This witness's instance column.
    pub fn instance(&self) -> Vec<Fp> {
        instance(&self.public.to_field_elements(), &self.query)
    }
}

/// Columns and chips.
#[derive(Clone, Debug)]
pub struct StatementConfig {
    advice: [Column<Advice>; 5],
    instance: Column<Instance>,
    q_swap: Selector,
    arith: ArithConfig,
    poseidon: Pow5Config<Fp, 3, 2>,
    range: RangeConfig,
    set: SetConfig,
}

impl StatementWitness {
    /// Builds the witness from the holder's secret and credentials (in query order, each with
    /// its halo2 twin path), checking natively everything the circuit will check.
    pub fn build(
        query: &EncodedQuery,
        secret: &HolderSecret,
        offered: &[Offered],
        challenge: Fr,
        scope: Fr,
        today: u32,
    ) -> Result<StatementWitness, Halo2Error> {
        let shape = query.shape;
        query.check_offered(offered, today)?;
        let holder = secret.commitment_halo2();
        let mut credentials = Vec::with_capacity(shape.credentials);
        let mut roots = Vec::with_capacity(shape.credentials);
        for (m, qc) in query.credentials.iter().enumerate() {
            let Some(o) = offered.get(m).filter(|_| qc.active) else {
                credentials.push(CredentialWitness::blank());
                roots.push(Fp::ZERO);
                continue;
            };
            let c = &o.credential;
            let fail = |reason: &str| Halo2Error::Unsatisfied {
                index: m,
                reason: reason.to_string(),
            };
            if c.holder_halo2 != holder {
                return Err(fail(
                    "it carries no halo2 holder commitment of this holder (issued without one, or to another holder)",
                ));
            }
            let path = o
                .halo2
                .as_ref()
                .filter(|p| p.siblings.len() == DEPTH)
                .ok_or_else(|| fail("its halo2 membership path is missing or malformed"))?;
            if pasta::root_from_path(c.commitment_halo2(), c.credential_id, &path.siblings)
                != path.root
            {
                return Err(fail(
                    "its halo2 membership path does not lead to the twin registry root",
                ));
            }
            credentials.push(CredentialWitness {
                schema_id: pasta::from_fr(&c.schema_id),
                issuer_id: pasta::from_fr(&c.issuer_id),
                holder: c.holder_halo2,
                validity: pasta::from_fr(&c.validity()),
                salt: pasta::from_fr(&c.salt),
                slots: c.slots.map(|s| pasta::from_fr(&s)),
                siblings: path.siblings.clone(),
            });
            roots.push(path.root);
        }
        let public = PublicInputs {
            roots,
            query_hash: query.hash_halo2(),
            challenge: Fp::from_bn254(&challenge),
            scope: Fp::from_bn254(&scope),
            today,
            nullifier: secret.nullifier_halo2(scope),
            revealed: query.revealed(offered).iter().map(Fp::from_bn254).collect(),
        };
        Ok(StatementWitness {
            secret: pasta::from_fr(&secret.expose()),
            query: query.to_pasta_elements(),
            credentials,
            public,
        })
    }
}

/// The chips of one synthesis.
struct Chips {
    config: StatementConfig,
    arith: ArithChip,
    range: RangeChip,
    set: SetChip,
}

impl Chips {
    fn hash<const L: usize>(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        message: [Cell<Fp>; L],
    ) -> Result<Cell<Fp>, Error> {
        let chip = Pow5Chip::construct(self.config.poseidon.clone());
        Hash::<_, _, P128Pow5T3, ConstantLength<L>, 3, 2>::init(
            chip,
            layouter.namespace(|| format!("{name}: init")),
        )?
        .hash(layouter.namespace(|| name.to_string()), message)
    }

    /// One tree level: `(left, right)` is `(cur, sibling)` or, when the position bit is set,
    /// `(sibling, cur)`, in one row; then their hash.
    fn level(
        &self,
        layouter: &mut impl Layouter<Fp>,
        cur: &Cell<Fp>,
        sibling: Value<Fp>,
        bit: &Cell<Fp>,
    ) -> Result<Cell<Fp>, Error> {
        let a = self.config.advice;
        let (left, right) = layouter.assign_region(
            || "order a pair",
            |mut region| {
                self.config.q_swap.enable(&mut region, 0)?;
                let cur = cur.copy_advice(|| "cur", &mut region, a[0], 0)?;
                let sib = region.assign_advice(|| "sibling", a[1], 0, || sibling)?;
                let bit = bit.copy_advice(|| "bit", &mut region, a[2], 0)?;
                let swap = bit.value().map(|b| *b == Fp::ONE);
                let (l, r) = cur
                    .value()
                    .zip(sib.value())
                    .zip(swap)
                    .map(|((c, s), b)| if b { (*s, *c) } else { (*c, *s) })
                    .unzip();
                let left = region.assign_advice(|| "left", a[3], 0, || l)?;
                let right = region.assign_advice(|| "right", a[4], 0, || r)?;
                Ok((left, right))
            },
        )?;
        self.hash(layouter, "node", [left, right])
    }

    fn instance(&self, layouter: &mut impl Layouter<Fp>, row: usize) -> Result<Cell<Fp>, Error> {
        layouter.assign_region(
            || format!("instance {row}"),
            |mut region| {
                region.assign_advice_from_instance(
                    || "public input",
                    self.config.instance,
                    row,
                    self.config.advice[0],
                    0,
                )
            },
        )
    }

    fn witness(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        v: Value<Fp>,
    ) -> Result<Cell<Fp>, Error> {
        self.arith.witness(layouter, name, v)
    }

    /// `(a - b)·active = 0`.
    fn equal_if(
        &self,
        layouter: &mut impl Layouter<Fp>,
        a: &Cell<Fp>,
        b: &Cell<Fp>,
        active: &Cell<Fp>,
    ) -> Result<(), Error> {
        let d = self
            .arith
            .linear(layouter, &[(Fp::ONE, a), (-Fp::ONE, b)], Fp::ZERO)?;
        self.arith.assert_zero_product(layouter, &d, active)
    }
}

impl Circuit<Fp> for StatementCircuit {
    type Config = StatementConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        StatementCircuit {
            shape: self.shape,
            witness: None,
        }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> StatementConfig {
        let advice = [(); 5].map(|_| meta.advice_column());
        for a in advice {
            meta.enable_equality(a);
        }
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let constants = meta.fixed_column();
        meta.enable_constant(constants);
        let four = [advice[0], advice[1], advice[2], advice[3]];
        let rc_a = [(); 3].map(|_| meta.fixed_column());
        let rc_b = [(); 3].map(|_| meta.fixed_column());
        let q_swap = meta.selector();
        meta.create_gate("order a pair by its position bit", |meta| {
            let q = meta.query_selector(q_swap);
            let [cur, sib, bit, left, right] =
                advice.map(|col| meta.query_advice(col, Rotation::cur()));
            // The bit is boolean already: it comes from the validity split.
            Constraints::with_selector(
                q,
                [
                    (
                        "left",
                        left - (cur.clone() + bit.clone() * (sib.clone() - cur.clone())),
                    ),
                    ("right", right - (sib.clone() + bit * (cur - sib))),
                ],
            )
        });
        StatementConfig {
            advice,
            instance,
            q_swap,
            arith: ArithChip::configure(meta, four),
            poseidon: Pow5Chip::configure::<P128Pow5T3>(
                meta,
                [advice[0], advice[1], advice[2]],
                advice[3],
                rc_a,
                rc_b,
            ),
            range: RangeChip::configure(meta, advice[4]),
            set: SetChip::configure(meta, four),
        }
    }

    fn synthesize(
        &self,
        config: StatementConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let shape = self.shape;
        let layout = Layout { shape };
        let w = self.witness.as_ref();
        if let Some(w) = w {
            if w.credentials.len() != shape.credentials
                || w.public.to_field_elements().len() != layout.len()
            {
                return Err(Error::Synthesis);
            }
        }
        let chips = Chips {
            arith: ArithChip::construct(config.arith.clone()),
            range: RangeChip::construct(config.range.clone()),
            set: SetChip::construct(config.set.clone()),
            config,
        };
        let l = &mut layouter;
        chips.range.load_table(l)?;
        let known = |f: &dyn Fn(&StatementWitness) -> Fp| {
            w.map_or(Value::unknown(), |w| Value::known(f(w)))
        };
        let zero = chips.arith.constant(l, Fp::ZERO)?;

        // The query: the instance column's tail, after the public inputs.
        let q = (0..shape.query_len())
            .map(|i| chips.instance(l, layout.len() + i))
            .collect::<Result<Vec<_>, _>>()?;

        // The holder: one secret for every credential, and its nullifier for the scope.
        let secret = chips.witness(l, "secret", known(&|w| w.secret))?;
        let holder = chips.hash(l, "holder commitment", [secret.clone()])?;
        let scope = chips.instance(l, layout.scope())?;
        let nullifier = chips.hash(l, "nullifier", [secret, scope])?;
        l.constrain_instance(nullifier.cell(), chips.config.instance, layout.nullifier())?;
        let today = chips.instance(l, layout.today())?;
        chips
            .range
            .range_check(l.namespace(|| "today < 2^32"), &today, 32)?;

        let per = 2 + shape.predicates * (3 + shape.set_size);
        let sum_base = shape.credentials * per;
        let sum_code = chips.arith.bits(l, &q[sum_base], 4)?;
        let mut commitments = Vec::with_capacity(shape.credentials);
        let mut actives = Vec::with_capacity(shape.credentials);
        let mut terms = Vec::new();

        for m in 0..shape.credentials {
            let base = m * per;
            let header = chips.arith.bits(l, &q[base], 2 + 3 * shape.reveals)?;
            let active = &header[0];
            // A slot counts towards the sum only if it is used: in_sum·(1 - active) = 0.
            let unused = chips.arith.linear(l, &[(-Fp::ONE, active)], Fp::ONE)?;
            chips.arith.assert_zero_product(l, &header[1], &unused)?;
            let cred = |f: fn(&CredentialWitness) -> Fp| known(&move |w| f(&w.credentials[m]));
            let slots = (0..SLOTS)
                .map(|s| chips.witness(l, "slot", known(&|w| w.credentials[m].slots[s])))
                .collect::<Result<Vec<_>, _>>()?;
            let schema_id = chips.witness(l, "schema id", cred(|c| c.schema_id))?;
            let issuer_id = chips.witness(l, "issuer id", cred(|c| c.issuer_id))?;
            let holder_c = chips.witness(l, "holder", cred(|c| c.holder))?;
            let validity = chips.witness(l, "validity", cred(|c| c.validity))?;
            let salt = chips.witness(l, "salt", cred(|c| c.salt))?;
            let inputs: [Cell<Fp>; 12] = std::array::from_fn(|i| match i {
                0 => schema_id.clone(),
                1 => issuer_id.clone(),
                2 => holder_c.clone(),
                3 => validity.clone(),
                4 => salt.clone(),
                i => slots[i - 5].clone(),
            });
            let commitment = chips.hash(l, "commitment", inputs)?;

            // The packed validity: position bits, issue and expiry days.
            let parts = validity::split(&chips.arith, &chips.range, l, &validity)?;
            chips.equal_if(l, &schema_id, &q[base + 1], active)?;
            chips.equal_if(l, &holder_c, &holder, active)?;

            // Membership in the twin tree, the position's bits ordering each level.
            let mut cur = commitment.clone();
            for (level, bit) in parts.id_bits.iter().enumerate() {
                let sibling = known(&|w| w.credentials[m].siblings[level]);
                cur = chips.level(l, &cur, sibling, bit)?;
            }
            let root = chips.instance(l, layout.root(m))?;
            chips.equal_if(l, &cur, &root, active)?;

            validity::issued_by(&chips.arith, &chips.range, l, &parts.issued, &today, active)?;
            validity::not_expired(
                &chips.arith,
                &chips.range,
                l,
                &parts.expires,
                &today,
                active,
            )?;

            let mut padded = slots.clone();
            padded.push(zero.clone());
            for p in 0..shape.predicates {
                let pb = base + 2 + p * (3 + shape.set_size);
                let code = chips.arith.bits(l, &q[pb], 6)?;
                let v = chips.arith.mux(l, &code[..3], &padded)?;
                // Range: lo <= v <= hi when the range bit is set (v·bit otherwise).
                let vr = chips.arith.mul(l, &v, &code[3])?;
                let above =
                    chips
                        .arith
                        .linear(l, &[(Fp::ONE, &vr), (-Fp::ONE, &q[pb + 1])], Fp::ZERO)?;
                chips
                    .range
                    .range_check(l.namespace(|| "v - lo"), &above, 64)?;
                let below =
                    chips
                        .arith
                        .linear(l, &[(Fp::ONE, &q[pb + 2]), (-Fp::ONE, &vr)], Fp::ZERO)?;
                chips
                    .range
                    .range_check(l.namespace(|| "hi - v"), &below, 64)?;
                // Set: in / not in.
                chips.set.check(
                    l.namespace(|| "set"),
                    &v,
                    &q[pb + 3..pb + 3 + shape.set_size],
                    &code[4],
                    &code[5],
                )?;
            }
            let mut revealable = vec![zero.clone()];
            revealable.extend(slots.iter().cloned());
            for r in 0..shape.reveals {
                let shown = chips
                    .arith
                    .mux(l, &header[2 + 3 * r..5 + 3 * r], &revealable)?;
                l.constrain_instance(shown.cell(), chips.config.instance, layout.revealed(m, r))?;
            }
            if shape.credentials > 1 {
                let t = chips.arith.mux(l, &sum_code[1..4], &padded)?;
                let t = chips.arith.mul(l, &t, &header[1])?;
                chips
                    .range
                    .range_check(l.namespace(|| "sum term"), &t, 64)?;
                terms.push(t);
            }
            commitments.push(commitment);
            actives.push(active.clone());
        }

        if shape.credentials > 1 {
            // Distinct: (cᵢ - cⱼ)·inv = bothᵢⱼ, so every two used slots hold different
            // credentials (and, a summed slot being a used one, none is summed twice).
            for i in 0..commitments.len() {
                for j in i + 1..commitments.len() {
                    let both = chips.arith.mul(l, &actives[i], &actives[j])?;
                    let diff = chips.arith.linear(
                        l,
                        &[(Fp::ONE, &commitments[i]), (-Fp::ONE, &commitments[j])],
                        Fp::ZERO,
                    )?;
                    let inv = diff.value().zip(both.value()).map(|(d, b)| {
                        if *b == Fp::ONE {
                            Option::<Fp>::from(d.invert()).unwrap_or(Fp::ZERO)
                        } else {
                            Fp::ZERO
                        }
                    });
                    let inv = chips.witness(l, "inverse", inv)?;
                    chips.arith.assert_product(l, &diff, &inv, &both)?;
                }
            }
            // (Σ terms - bound)·enabled < 2^66.
            let mut total = zero.clone();
            for t in &terms {
                total = chips
                    .arith
                    .linear(l, &[(Fp::ONE, &total), (Fp::ONE, t)], Fp::ZERO)?;
            }
            let excess = chips.arith.linear(
                l,
                &[(Fp::ONE, &total), (-Fp::ONE, &q[sum_base + 1])],
                Fp::ZERO,
            )?;
            let excess = chips.arith.mul(l, &excess, &sum_code[0])?;
            chips
                .range
                .range_check(l.namespace(|| "sum >= bound"), &excess, 66)?;
        } else {
            // One-credential shapes carry no aggregate: the query must not ask for one.
            chips.arith.assert_zero(l, &sum_code[0])?;
        }
        Ok(())
    }
}

/// The smallest `k` (2^k rows) each shape fits, pinned by a test.
pub fn k_of(shape: Shape) -> u32 {
    match shape.credentials {
        1 => 11,
        _ => 13,
    }
}
