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
use dossier_core::credential::SLOTS;
use dossier_core::pasta::Fp;
use dossier_core::query::Shape;
use dossier_core::statement::Layout;
use ff::Field;
use halo2_gadgets::poseidon::primitives::{ConstantLength, P128Pow5T3};
use halo2_gadgets::poseidon::{Hash, Pow5Chip, Pow5Config};
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Constraints, Error, Fixed, Instance, Selector,
};
use halo2_proofs::poly::Rotation;

/// Tree depth of every registry.
pub use dossier_core::REGISTRY_DEPTH as DEPTH;

/// The private inputs of one credential slot (the one definition in core, over Pallas).
pub type CredentialWitness = dossier_core::statement::CredentialWitness<Fp>;

/// Everything the prover knows (the one definition in core, over Pallas: Pasta roots, query
/// hash and nullifier; the request's values carried over), built by `StatementWitness::build`.
pub type StatementWitness = dossier_core::statement::StatementWitness<Fp>;

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

/// A witness's instance column.
pub fn instance_of(witness: &StatementWitness) -> Vec<Fp> {
    instance(&witness.public.to_field_elements(), &witness.query)
}

/// Columns and chips.
#[derive(Clone, Debug)]
pub struct StatementConfig {
    advice: [Column<Advice>; 5],
    instance: Column<Instance>,
    /// The fixed column constants are placed in (what a floor planner is given).
    pub(crate) constants: Column<Fixed>,
    q_swap: Selector,
    arith: ArithConfig,
    poseidon: Pow5Config<Fp, 3, 2>,
    range: RangeConfig,
    set: SetConfig,
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
            constants,
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
        if let Some(w) = &self.witness {
            if w.credentials.len() != shape.credentials
                || w.public.to_field_elements().len() != layout.len()
            {
                return Err(Error::Synthesis);
            }
        }
        let l = &mut layouter;
        let mut s = Synthesis::start(l, config, shape, self.witness.as_ref())?;
        let holder = s.holder(l)?;
        s.today(l)?;
        let sum_code = s.sum_code(l)?;
        let mut used = Vec::with_capacity(shape.credentials);
        for m in 0..shape.credentials {
            used.push(s.credential(l, m, &holder, &sum_code)?);
        }
        if shape.credentials > 1 {
            s.distinct(l, &used)?;
            s.sum_bound(l, &used, &sum_code)?;
        } else {
            s.sum_absent(l, &sum_code)?;
        }
        Ok(())
    }
}

/// One synthesis under way: the chips, the witness (none for key generation), the query read
/// from the instance column and the common cells. Each step runs in a namespace named as the
/// Groth16 statement names its check (`credential[0].schema`, ...), so that a failing region
/// can be traced to its check ([`crate::plan`]).
struct Synthesis<'w> {
    chips: Chips,
    shape: Shape,
    layout: Layout,
    witness: Option<&'w StatementWitness>,
    zero: Cell<Fp>,
    q: Vec<Cell<Fp>>,
    today: Cell<Fp>,
}

/// What a credential slot leaves for the checks across slots.
struct UsedSlot {
    commitment: Cell<Fp>,
    active: Cell<Fp>,
    sum_term: Option<Cell<Fp>>,
}

/// A slot's cells the predicates and reveals read.
struct SlotCells {
    header: Vec<Cell<Fp>>,
    slots: Vec<Cell<Fp>>,
    /// The slots and a trailing zero, the target of "no field".
    padded: Vec<Cell<Fp>>,
    query_base: usize,
}

impl<'w> Synthesis<'w> {
    /// Loads the range table, the zero constant and the query (the instance column's tail).
    fn start(
        l: &mut impl Layouter<Fp>,
        config: StatementConfig,
        shape: Shape,
        witness: Option<&'w StatementWitness>,
    ) -> Result<Synthesis<'w>, Error> {
        let layout = Layout { shape };
        let chips = Chips {
            arith: ArithChip::construct(config.arith.clone()),
            range: RangeChip::construct(config.range.clone()),
            set: SetChip::construct(config.set.clone()),
            config,
        };
        chips.range.load_table(&mut l.namespace(|| "range table"))?;
        let zero = chips
            .arith
            .constant(&mut l.namespace(|| "zero"), Fp::ZERO)?;
        let q = {
            let ns = &mut l.namespace(|| "query");
            (0..shape.query_len())
                .map(|i| chips.instance(ns, layout.len() + i))
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Synthesis {
            chips,
            shape,
            layout,
            witness,
            zero: zero.clone(),
            q,
            // Replaced by `today` before any check reads it.
            today: zero,
        })
    }

    fn known(&self, f: impl Fn(&StatementWitness) -> Fp) -> Value<Fp> {
        self.witness
            .map_or(Value::unknown(), |w| Value::known(f(w)))
    }

    /// Elements per credential in the encoded query.
    fn per_credential(&self) -> usize {
        2 + self.shape.predicates * (3 + self.shape.set_size)
    }

    /// The holder: one secret for every credential, its commitment, and its nullifier for the
    /// scope; returns the commitment.
    fn holder(&self, l: &mut impl Layouter<Fp>) -> Result<Cell<Fp>, Error> {
        let c = &self.chips;
        let (secret, holder) = {
            let ns = &mut l.namespace(|| "holder_commitment");
            let secret = c.witness(ns, "secret", self.known(|w| w.secret))?;
            let holder = c.hash(ns, "holder commitment", [secret.clone()])?;
            (secret, holder)
        };
        let ns = &mut l.namespace(|| "nullifier");
        let scope = c.instance(ns, self.layout.scope())?;
        let nullifier = c.hash(ns, "nullifier", [secret, scope])?;
        ns.constrain_instance(nullifier.cell(), c.config.instance, self.layout.nullifier())?;
        Ok(holder)
    }

    /// Today, a 32-bit day number.
    fn today(&mut self, l: &mut impl Layouter<Fp>) -> Result<(), Error> {
        let ns = &mut l.namespace(|| "today");
        self.today = self.chips.instance(ns, self.layout.today())?;
        self.chips
            .range
            .range_check(ns.namespace(|| "today < 2^32"), &self.today, 32)
    }

    /// The sum's code bits: enabled, then the summed slot.
    fn sum_code(&self, l: &mut impl Layouter<Fp>) -> Result<Vec<Cell<Fp>>, Error> {
        let base = self.shape.credentials * self.per_credential();
        self.chips
            .arith
            .bits(&mut l.namespace(|| "sum.code"), &self.q[base], 4)
    }

    /// Credential slot `m`: what the query asks of it, its commitment and validity, then its
    /// predicates, reveals and sum term.
    fn credential(
        &self,
        l: &mut impl Layouter<Fp>,
        m: usize,
        holder: &Cell<Fp>,
        sum_code: &[Cell<Fp>],
    ) -> Result<UsedSlot, Error> {
        let c = &self.chips;
        let query_base = m * self.per_credential();
        let header = c.arith.bits(
            &mut l.namespace(|| format!("query[{m}].header")),
            &self.q[query_base],
            2 + 3 * self.shape.reveals,
        )?;
        let active = header[0].clone();
        {
            // A slot counts towards the sum only if it is used: in_sum·(1 - active) = 0.
            let ns = &mut l.namespace(|| format!("query[{m}].sum_needs_active"));
            let unused = c.arith.linear(ns, &[(-Fp::ONE, &active)], Fp::ONE)?;
            c.arith.assert_zero_product(ns, &header[1], &unused)?;
        }
        let slots = {
            let ns = &mut l.namespace(|| format!("credential[{m}].slots"));
            (0..SLOTS)
                .map(|s| c.witness(ns, "slot", self.known(|w| w.credentials[m].slots[s])))
                .collect::<Result<Vec<_>, _>>()?
        };
        let commitment = self.validity(l, m, &slots, &active, holder, query_base)?;
        let mut padded = slots.clone();
        padded.push(self.zero.clone());
        let cells = SlotCells {
            header,
            slots,
            padded,
            query_base,
        };
        for p in 0..self.shape.predicates {
            self.predicate(l, m, p, &cells)?;
        }
        self.reveals(l, m, &cells)?;
        let sum_term = if self.shape.credentials > 1 {
            let ns = &mut l.namespace(|| format!("credential[{m}].sum_term"));
            let t = c.arith.mux(ns, &sum_code[1..4], &cells.padded)?;
            let t = c.arith.mul(ns, &t, &cells.header[1])?;
            c.range.range_check(ns.namespace(|| "sum term"), &t, 64)?;
            Some(t)
        } else {
            None
        };
        Ok(UsedSlot {
            commitment,
            active,
            sum_term,
        })
    }

    /// The credential's commitment, and (if the slot is used) its schema, holder binding,
    /// membership in the twin tree of its root, issue day and expiry; returns the commitment.
    fn validity(
        &self,
        l: &mut impl Layouter<Fp>,
        m: usize,
        slots: &[Cell<Fp>],
        active: &Cell<Fp>,
        holder: &Cell<Fp>,
        query_base: usize,
    ) -> Result<Cell<Fp>, Error> {
        let c = &self.chips;
        let cred = |f: fn(&CredentialWitness) -> Fp| self.known(move |w| f(&w.credentials[m]));
        let (schema_id, holder_c, validity, commitment) = {
            let ns = &mut l.namespace(|| format!("credential[{m}].commitment"));
            let schema_id = c.witness(ns, "schema id", cred(|c| c.schema_id))?;
            let issuer_id = c.witness(ns, "issuer id", cred(|c| c.issuer_id))?;
            let holder_c = c.witness(ns, "holder", cred(|c| c.holder))?;
            let validity = c.witness(ns, "validity", cred(|c| c.validity))?;
            let salt = c.witness(ns, "salt", cred(|c| c.salt))?;
            let inputs: [Cell<Fp>; 12] = std::array::from_fn(|i| match i {
                0 => schema_id.clone(),
                1 => issuer_id.clone(),
                2 => holder_c.clone(),
                3 => validity.clone(),
                4 => salt.clone(),
                i => slots[i - 5].clone(),
            });
            let commitment = c.hash(ns, "commitment", inputs)?;
            (schema_id, holder_c, validity, commitment)
        };
        // The packed validity: position bits, issue and expiry days.
        let parts = validity::split(
            &c.arith,
            &c.range,
            &mut l.namespace(|| format!("credential[{m}].validity")),
            &validity,
        )?;
        c.equal_if(
            &mut l.namespace(|| format!("credential[{m}].schema")),
            &schema_id,
            &self.q[query_base + 1],
            active,
        )?;
        c.equal_if(
            &mut l.namespace(|| format!("credential[{m}].holder_binding")),
            &holder_c,
            holder,
            active,
        )?;
        {
            // Membership in the twin tree, the position's bits ordering each level.
            let ns = &mut l.namespace(|| format!("credential[{m}].membership"));
            let mut cur = commitment.clone();
            for (level, bit) in parts.id_bits.iter().enumerate() {
                let sibling = self.known(|w| w.credentials[m].siblings[level]);
                cur = c.level(ns, &cur, sibling, bit)?;
            }
            let root = c.instance(ns, self.layout.root(m))?;
            c.equal_if(ns, &cur, &root, active)?;
        }
        validity::issued_by(
            &c.arith,
            &c.range,
            &mut l.namespace(|| format!("credential[{m}].issued")),
            &parts.issued,
            &self.today,
            active,
        )?;
        validity::not_expired(
            &c.arith,
            &c.range,
            &mut l.namespace(|| format!("credential[{m}].expiry")),
            &parts.expires,
            &self.today,
            active,
        )?;
        Ok(commitment)
    }

    /// Predicate `p` of slot `m`: its code, the field it reads, its range and its set.
    fn predicate(
        &self,
        l: &mut impl Layouter<Fp>,
        m: usize,
        p: usize,
        cells: &SlotCells,
    ) -> Result<(), Error> {
        let c = &self.chips;
        let set_size = self.shape.set_size;
        let pb = cells.query_base + 2 + p * (3 + set_size);
        let q = &self.q;
        let code = c.arith.bits(
            &mut l.namespace(|| format!("query[{m}].predicate[{p}].code")),
            &q[pb],
            6,
        )?;
        let v = c.arith.mux(
            &mut l.namespace(|| format!("credential[{m}].predicate[{p}].select")),
            &code[..3],
            &cells.padded,
        )?;
        {
            // Range: lo <= v <= hi when the range bit is set (v·bit otherwise).
            let ns = &mut l.namespace(|| format!("credential[{m}].predicate[{p}].range"));
            let vr = c.arith.mul(ns, &v, &code[3])?;
            let above = c
                .arith
                .linear(ns, &[(Fp::ONE, &vr), (-Fp::ONE, &q[pb + 1])], Fp::ZERO)?;
            c.range.range_check(ns.namespace(|| "v - lo"), &above, 64)?;
            let below = c
                .arith
                .linear(ns, &[(Fp::ONE, &q[pb + 2]), (-Fp::ONE, &vr)], Fp::ZERO)?;
            c.range.range_check(ns.namespace(|| "hi - v"), &below, 64)?;
        }
        // Set: in / not in.
        c.set.check(
            l.namespace(|| format!("credential[{m}].predicate[{p}].set")),
            &v,
            &q[pb + 3..pb + 3 + set_size],
            &code[4],
            &code[5],
        )
    }

    /// Each reveal of slot `m` is the field its header names (or 0).
    fn reveals(&self, l: &mut impl Layouter<Fp>, m: usize, cells: &SlotCells) -> Result<(), Error> {
        let c = &self.chips;
        let mut revealable = vec![self.zero.clone()];
        revealable.extend(cells.slots.iter().cloned());
        for r in 0..self.shape.reveals {
            let ns = &mut l.namespace(|| format!("credential[{m}].reveal[{r}]"));
            let shown = c
                .arith
                .mux(ns, &cells.header[2 + 3 * r..5 + 3 * r], &revealable)?;
            ns.constrain_instance(shown.cell(), c.config.instance, self.layout.revealed(m, r))?;
        }
        Ok(())
    }

    /// Distinct: (cᵢ - cⱼ)·inv = bothᵢⱼ, so every two used slots hold different credentials
    /// (and, a summed slot being a used one, none is summed twice).
    fn distinct(&self, l: &mut impl Layouter<Fp>, used: &[UsedSlot]) -> Result<(), Error> {
        let c = &self.chips;
        let ns = &mut l.namespace(|| "distinct");
        for (i, a) in used.iter().enumerate() {
            for b in &used[i + 1..] {
                let both = c.arith.mul(ns, &a.active, &b.active)?;
                let diff = c.arith.linear(
                    ns,
                    &[(Fp::ONE, &a.commitment), (-Fp::ONE, &b.commitment)],
                    Fp::ZERO,
                )?;
                let inv = diff.value().zip(both.value()).map(|(d, b)| {
                    if *b == Fp::ONE {
                        Option::<Fp>::from(d.invert()).unwrap_or(Fp::ZERO)
                    } else {
                        Fp::ZERO
                    }
                });
                let inv = c.witness(ns, "inverse", inv)?;
                c.arith.assert_product(ns, &diff, &inv, &both)?;
            }
        }
        Ok(())
    }

    /// (Σ terms - bound)·enabled < 2^66.
    fn sum_bound(
        &self,
        l: &mut impl Layouter<Fp>,
        used: &[UsedSlot],
        sum_code: &[Cell<Fp>],
    ) -> Result<(), Error> {
        let c = &self.chips;
        let base = self.shape.credentials * self.per_credential();
        let ns = &mut l.namespace(|| "sum.bound");
        let mut total = self.zero.clone();
        for t in used.iter().filter_map(|u| u.sum_term.as_ref()) {
            total = c
                .arith
                .linear(ns, &[(Fp::ONE, &total), (Fp::ONE, t)], Fp::ZERO)?;
        }
        let excess = c.arith.linear(
            ns,
            &[(Fp::ONE, &total), (-Fp::ONE, &self.q[base + 1])],
            Fp::ZERO,
        )?;
        let excess = c.arith.mul(ns, &excess, &sum_code[0])?;
        c.range
            .range_check(ns.namespace(|| "sum >= bound"), &excess, 66)
    }

    /// One-credential shapes carry no aggregate: the query must not ask for one.
    fn sum_absent(&self, l: &mut impl Layouter<Fp>, sum_code: &[Cell<Fp>]) -> Result<(), Error> {
        self.chips
            .arith
            .assert_zero(&mut l.namespace(|| "sum.absent"), &sum_code[0])
    }
}

/// The smallest `k` (2^k rows) each shape fits, pinned by a test.
pub fn k_of(shape: Shape) -> u32 {
    match shape.credentials {
        1 => 11,
        _ => 13,
    }
}
