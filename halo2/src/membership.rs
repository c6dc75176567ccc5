//! The core of a one-credential statement in halo2: "I know a secret and a credential in the
//! registry with this root, bound to my secret, whose predicated value lies in `[lo, hi]`; this
//! is my nullifier for the scope" — the membership, holder binding, range predicate and nullifier
//! of the Groth16 statement, on the Pasta field, as the base the full statement builds on.
//!
//! Public inputs (instance rows): `root, scope, nullifier, lo, hi, challenge`.
//! The credential leaf is `Poseidon(Poseidon(secret), value, salt)`; its position's 32 bits are
//! witnessed, each boolean, and choose the order of each level's pair.

use crate::native;
use crate::range::{RangeChip, RangeConfig};
use halo2_gadgets::poseidon::primitives::{ConstantLength, P128Pow5T3};
use halo2_gadgets::poseidon::{Hash, Pow5Chip, Pow5Config};
use halo2_proofs::circuit::{AssignedCell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::plonk::{
    Advice, Circuit, Column, ConstraintSystem, Constraints, Error, Expression, Instance, Selector,
};
use halo2_proofs::poly::Rotation;
use pasta_curves::pallas::Base as Fp;

/// Depth of the registry tree.
pub const DEPTH: usize = 32;

/// Instance rows.
pub mod row {
    /// The registry root.
    pub const ROOT: usize = 0;
    /// The scope (its hash).
    pub const SCOPE: usize = 1;
    /// The nullifier `Poseidon(secret, scope)`.
    pub const NULLIFIER: usize = 2;
    /// The predicate's lower bound.
    pub const LO: usize = 3;
    /// The predicate's upper bound.
    pub const HI: usize = 4;
    /// The verifier's challenge.
    pub const CHALLENGE: usize = 5;
    /// How many.
    pub const COUNT: usize = 6;
}

/// What the prover knows.
#[derive(Clone, Debug)]
pub struct Witness {
    /// The holder's secret.
    pub secret: Fp,
    /// The predicated value.
    pub value: Fp,
    /// The credential's salt.
    pub salt: Fp,
    /// The leaf's position.
    pub index: u64,
    /// The membership path, lowest level first.
    pub siblings: [Fp; DEPTH],
}

impl Witness {
    /// The holder commitment.
    pub fn holder(&self) -> Fp {
        native::hash([self.secret])
    }

    /// The credential leaf.
    pub fn leaf(&self) -> Fp {
        native::hash([self.holder(), self.value, self.salt])
    }

    /// The root the path leads to.
    pub fn root(&self) -> Fp {
        native::root_from_path(self.leaf(), self.index, &self.siblings)
    }

    /// The nullifier for a scope.
    pub fn nullifier(&self, scope: Fp) -> Fp {
        native::hash([self.secret, scope])
    }
}

/// The public inputs in instance order.
pub fn instance(root: Fp, scope: Fp, nullifier: Fp, lo: u64, hi: u64, challenge: Fp) -> Vec<Fp> {
    vec![
        root,
        scope,
        nullifier,
        Fp::from(lo),
        Fp::from(hi),
        challenge,
    ]
}

/// The circuit; `None` for key generation.
#[derive(Clone, Debug, Default)]
pub struct Membership {
    /// The witness.
    pub witness: Option<Witness>,
}

/// Its columns and chips.
#[derive(Clone, Debug)]
pub struct MembershipConfig {
    advice: [Column<Advice>; 5],
    instance: Column<Instance>,
    q_swap: Selector,
    q_sub: Selector,
    poseidon: Pow5Config<Fp, 3, 2>,
    range: RangeConfig,
}

type Cell = AssignedCell<Fp, Fp>;

impl MembershipConfig {
    fn hash<const L: usize>(
        &self,
        layouter: &mut impl Layouter<Fp>,
        name: &str,
        message: [Cell; L],
    ) -> Result<Cell, Error> {
        let chip = Pow5Chip::construct(self.poseidon.clone());
        Hash::<_, _, P128Pow5T3, ConstantLength<L>, 3, 2>::init(
            chip,
            layouter.namespace(|| format!("{name}: init")),
        )?
        .hash(layouter.namespace(|| name.to_string()), message)
    }

    /// `a - b`, constrained.
    fn sub(&self, layouter: &mut impl Layouter<Fp>, a: &Cell, b: &Cell) -> Result<Cell, Error> {
        layouter.assign_region(
            || "difference",
            |mut region| {
                self.q_sub.enable(&mut region, 0)?;
                a.copy_advice(|| "a", &mut region, self.advice[0], 0)?;
                b.copy_advice(|| "b", &mut region, self.advice[1], 0)?;
                region.assign_advice(
                    || "a - b",
                    self.advice[2],
                    0,
                    || a.value().copied() - b.value().copied(),
                )
            },
        )
    }

    /// One level: the pair ordered by the position bit, then hashed.
    fn level(
        &self,
        layouter: &mut impl Layouter<Fp>,
        level: usize,
        cur: &Cell,
        sibling: Value<Fp>,
        bit: Value<bool>,
    ) -> Result<Cell, Error> {
        let (left, right) = layouter.assign_region(
            || format!("level {level}: order"),
            |mut region| {
                self.q_swap.enable(&mut region, 0)?;
                let cur = cur.copy_advice(|| "cur", &mut region, self.advice[0], 0)?;
                let sib = region.assign_advice(|| "sibling", self.advice[1], 0, || sibling)?;
                region.assign_advice(
                    || "bit",
                    self.advice[2],
                    0,
                    || bit.map(|b| Fp::from(u64::from(b))),
                )?;
                let (l, r) = cur
                    .value()
                    .zip(sib.value())
                    .zip(bit)
                    .map(|((c, s), b)| if b { (*s, *c) } else { (*c, *s) })
                    .unzip();
                let left = region.assign_advice(|| "left", self.advice[3], 0, || l)?;
                let right = region.assign_advice(|| "right", self.advice[4], 0, || r)?;
                Ok((left, right))
            },
        )?;
        self.hash(layouter, &format!("level {level}: node"), [left, right])
    }
}

impl Circuit<Fp> for Membership {
    type Config = MembershipConfig;
    type FloorPlanner = SimpleFloorPlanner;

    fn without_witnesses(&self) -> Self {
        Membership { witness: None }
    }

    fn configure(meta: &mut ConstraintSystem<Fp>) -> MembershipConfig {
        let advice = [(); 5].map(|_| meta.advice_column());
        for a in advice {
            meta.enable_equality(a);
        }
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let constants = meta.fixed_column();
        meta.enable_constant(constants);

        let q_swap = meta.selector();
        meta.create_gate("order a pair by its position bit", |meta| {
            let q = meta.query_selector(q_swap);
            let cur = meta.query_advice(advice[0], Rotation::cur());
            let sib = meta.query_advice(advice[1], Rotation::cur());
            let bit = meta.query_advice(advice[2], Rotation::cur());
            let left = meta.query_advice(advice[3], Rotation::cur());
            let right = meta.query_advice(advice[4], Rotation::cur());
            let one = Expression::Constant(Fp::one());
            Constraints::with_selector(
                q,
                [
                    ("bit is boolean", bit.clone() * (one - bit.clone())),
                    (
                        "left",
                        left - (cur.clone() + bit.clone() * (sib.clone() - cur.clone())),
                    ),
                    ("right", right - (sib.clone() + bit * (cur - sib))),
                ],
            )
        });
        let q_sub = meta.selector();
        meta.create_gate("difference", |meta| {
            let q = meta.query_selector(q_sub);
            let a = meta.query_advice(advice[0], Rotation::cur());
            let b = meta.query_advice(advice[1], Rotation::cur());
            let c = meta.query_advice(advice[2], Rotation::cur());
            Constraints::with_selector(q, [("c = a - b", c - (a - b))])
        });

        let state = [(); 3].map(|_| meta.advice_column());
        let partial_sbox = meta.advice_column();
        let rc_a = [(); 3].map(|_| meta.fixed_column());
        let rc_b = [(); 3].map(|_| meta.fixed_column());
        let poseidon = Pow5Chip::configure::<P128Pow5T3>(meta, state, partial_sbox, rc_a, rc_b);
        let range = RangeChip::configure(meta, advice[4]);
        MembershipConfig {
            advice,
            instance,
            q_swap,
            q_sub,
            poseidon,
            range,
        }
    }

    fn synthesize(
        &self,
        config: MembershipConfig,
        mut layouter: impl Layouter<Fp>,
    ) -> Result<(), Error> {
        let range = RangeChip::construct(config.range.clone());
        range.load_table(&mut layouter)?;
        let w = self.witness.as_ref();
        let known = |f: fn(&Witness) -> Fp| w.map_or(Value::unknown(), |w| Value::known(f(w)));
        let (secret, value, salt, scope, lo, hi) = layouter.assign_region(
            || "inputs",
            |mut region| {
                let a = config.advice;
                let secret = region.assign_advice(|| "secret", a[0], 0, || known(|w| w.secret))?;
                let value = region.assign_advice(|| "value", a[1], 0, || known(|w| w.value))?;
                let salt = region.assign_advice(|| "salt", a[2], 0, || known(|w| w.salt))?;
                let scope = region.assign_advice_from_instance(
                    || "scope",
                    config.instance,
                    row::SCOPE,
                    a[3],
                    0,
                )?;
                let lo = region.assign_advice_from_instance(
                    || "lo",
                    config.instance,
                    row::LO,
                    a[4],
                    0,
                )?;
                let hi = region.assign_advice_from_instance(
                    || "hi",
                    config.instance,
                    row::HI,
                    a[0],
                    1,
                )?;
                Ok((secret, value, salt, scope, lo, hi))
            },
        )?;

        // Holder binding and the leaf.
        let holder = config.hash(&mut layouter, "holder", [secret.clone()])?;
        let leaf = config.hash(&mut layouter, "leaf", [holder, value.clone(), salt])?;

        // Membership.
        let mut cur = leaf;
        for level in 0..DEPTH {
            let sibling = w.map_or(Value::unknown(), |w| Value::known(w.siblings[level]));
            let bit = w.map_or(Value::unknown(), |w| {
                Value::known((w.index >> level) & 1 == 1)
            });
            cur = config.level(&mut layouter, level, &cur, sibling, bit)?;
        }
        layouter.constrain_instance(cur.cell(), config.instance, row::ROOT)?;

        // The nullifier.
        let nullifier = config.hash(&mut layouter, "nullifier", [secret, scope])?;
        layouter.constrain_instance(nullifier.cell(), config.instance, row::NULLIFIER)?;

        // lo <= value <= hi, all below 2^64.
        for (name, x) in [("value", &value), ("lo", &lo), ("hi", &hi)] {
            range.range_check(layouter.namespace(|| format!("{name} < 2^64")), x, 64)?;
        }
        let above = config.sub(&mut layouter, &value, &lo)?;
        range.range_check(layouter.namespace(|| "value - lo < 2^64"), &above, 64)?;
        let below = config.sub(&mut layouter, &hi, &value)?;
        range.range_check(layouter.namespace(|| "hi - value < 2^64"), &below, 64)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::dev::MockProver;

    /// The smallest k the circuit fits (pinned: a regression shows here).
    pub const K: u32 = 11;

    fn witness() -> Witness {
        Witness {
            secret: Fp::from(0x5ec2e7),
            value: Fp::from(31),
            salt: Fp::from(0x5a17),
            index: 0b1011_0000_1111,
            siblings: core::array::from_fn(|i| Fp::from(1000 + i as u64)),
        }
    }

    fn public(w: &Witness, lo: u64, hi: u64) -> Vec<Fp> {
        let scope = Fp::from(77);
        instance(w.root(), scope, w.nullifier(scope), lo, hi, Fp::from(9))
    }

    fn holds(w: Witness, instance: Vec<Fp>) -> bool {
        MockProver::run(K, &Membership { witness: Some(w) }, vec![instance])
            .expect("runs")
            .verify()
            .is_ok()
    }

    #[test]
    fn a_true_statement_holds() {
        let w = witness();
        assert!(holds(w.clone(), public(&w, 30, u64::MAX)));
        assert!(holds(w.clone(), public(&w, 31, 31)), "bounds inclusive");
        assert!(holds(w.clone(), public(&w, 0, 31)));
    }

    #[test]
    fn it_fits_k_11_and_not_10() {
        let w = witness();
        let run = |k| {
            MockProver::run(
                k,
                &Membership {
                    witness: Some(w.clone()),
                },
                vec![public(&w, 0, 40)],
            )
        };
        assert!(run(K).is_ok());
        assert!(
            run(K - 1).is_err(),
            "the circuit no longer needs 2^11 rows: lower K"
        );
    }

    #[test]
    fn each_false_statement_fails() {
        let w = witness();
        let good = public(&w, 30, 40);
        // The value outside the range, by one on each side.
        assert!(!holds(w.clone(), public(&w, 32, 40)), "value < lo");
        assert!(!holds(w.clone(), public(&w, 0, 30)), "value > hi");
        // A value of 2^64 + 31 does not wrap into the range.
        let mut big = w.clone();
        big.value = Fp::from(u64::MAX) + Fp::from(32);
        assert!(
            !holds(big.clone(), public(&big, 0, u64::MAX)),
            "value >= 2^64"
        );
        // Bounds as field elements beyond 2^64 (p - 1 as lo would admit everything).
        let mut wide = good.clone();
        wide[row::LO] = -Fp::one();
        assert!(!holds(w.clone(), wide), "lo = p - 1");
        // Another root, scope, nullifier; a different secret; another position.
        for r in [row::ROOT, row::SCOPE, row::NULLIFIER] {
            let mut bad = good.clone();
            bad[r] += Fp::one();
            assert!(!holds(w.clone(), bad), "tampered instance row {r}");
        }
        let mut other = w.clone();
        other.secret += Fp::one();
        assert!(!holds(other, good.clone()), "another secret");
        let mut moved = w.clone();
        moved.index ^= 1 << 31;
        assert!(!holds(moved, good.clone()), "another position");
        let mut sib = w.clone();
        sib.siblings[17] += Fp::one();
        assert!(!holds(sib, good.clone()), "a wrong sibling");
        let mut salt = w;
        salt.salt += Fp::one();
        assert!(!holds(salt, good), "another credential");
    }
}
