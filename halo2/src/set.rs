//! Set predicates (`$in`, `$nin`, and `$eq`/`$ne` as sets of one): the product
//! `Π (v - s_i)` is accumulated row by row; `$in` constrains it to zero, `$nin` to have an
//! inverse. The mode flags are cells (in the statement they come from the query, which its hash
//! binds), each boolean; with both flags zero the predicate is off.

use ff::PrimeField;
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Constraints, Error, Expression, Selector,
};
use halo2_proofs::poly::Rotation;

/// The chip's columns.
#[derive(Clone, Debug)]
pub struct SetConfig {
    advice: [Column<Advice>; 4],
    q_step: Selector,
    q_mode: Selector,
}

/// Set membership and non-membership.
#[derive(Clone, Debug)]
pub struct SetChip {
    config: SetConfig,
}

impl SetChip {
    /// Declares the gates on four equality-enabled advice columns.
    pub fn configure<F: PrimeField>(
        meta: &mut ConstraintSystem<F>,
        advice: [Column<Advice>; 4],
    ) -> SetConfig {
        for a in advice {
            meta.enable_equality(a);
        }
        let q_step = meta.selector();
        meta.create_gate("set product step", |meta| {
            let q = meta.query_selector(q_step);
            let acc = meta.query_advice(advice[0], Rotation::cur());
            let v = meta.query_advice(advice[1], Rotation::cur());
            let s = meta.query_advice(advice[2], Rotation::cur());
            let next = meta.query_advice(advice[0], Rotation::next());
            Constraints::with_selector(q, [("acc' = acc * (v - s)", next - acc * (v - s))])
        });
        let q_mode = meta.selector();
        meta.create_gate("set mode", |meta| {
            let q = meta.query_selector(q_mode);
            let acc = meta.query_advice(advice[0], Rotation::cur());
            let is_in = meta.query_advice(advice[1], Rotation::cur());
            let not_in = meta.query_advice(advice[2], Rotation::cur());
            let inv = meta.query_advice(advice[3], Rotation::cur());
            let one = Expression::Constant(F::ONE);
            Constraints::with_selector(
                q,
                [
                    (
                        "in is boolean",
                        is_in.clone() * (one.clone() - is_in.clone()),
                    ),
                    (
                        "nin is boolean",
                        not_in.clone() * (one.clone() - not_in.clone()),
                    ),
                    ("not both", is_in.clone() * not_in.clone()),
                    ("in: the product is zero", is_in * acc.clone()),
                    (
                        "nin: the product has an inverse",
                        not_in * (acc * inv - one),
                    ),
                ],
            )
        });
        SetConfig {
            advice,
            q_step,
            q_mode,
        }
    }

    /// The chip over its configuration.
    pub fn construct(config: SetConfig) -> SetChip {
        SetChip { config }
    }

    /// Constrains `v ∈ set` when `is_in` is 1 and `v ∉ set` when `not_in` is 1.
    pub fn check<F: PrimeField>(
        &self,
        mut layouter: impl Layouter<F>,
        v: &AssignedCell<F, F>,
        set: &[AssignedCell<F, F>],
        is_in: &AssignedCell<F, F>,
        not_in: &AssignedCell<F, F>,
    ) -> Result<(), Error> {
        assert!(!set.is_empty(), "an empty set");
        let a = self.config.advice;
        layouter.assign_region(
            || "set predicate",
            |mut region| {
                let mut acc = region.assign_advice_from_constant(|| "1", a[0], 0, F::ONE)?;
                for (i, s) in set.iter().enumerate() {
                    self.config.q_step.enable(&mut region, i)?;
                    v.copy_advice(|| "v", &mut region, a[1], i)?;
                    s.copy_advice(|| "s", &mut region, a[2], i)?;
                    let next = acc
                        .value()
                        .zip(v.value())
                        .zip(s.value())
                        .map(|((acc, v), s)| *acc * (*v - *s));
                    acc = region.assign_advice(|| "acc", a[0], i + 1, || next)?;
                }
                let row = set.len();
                self.config.q_mode.enable(&mut region, row)?;
                is_in.copy_advice(|| "in", &mut region, a[1], row)?;
                not_in.copy_advice(|| "nin", &mut region, a[2], row)?;
                let inv: Value<F> = acc
                    .value()
                    .map(|x| Option::<F>::from(x.invert()).unwrap_or(F::ZERO));
                region.assign_advice(|| "inverse", a[3], row, || inv)?;
                Ok(())
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;
    use halo2_proofs::circuit::SimpleFloorPlanner;
    use halo2_proofs::dev::MockProver;
    use halo2_proofs::plonk::Circuit;
    use pasta_curves::pallas::Base as Fp;

    #[derive(Clone)]
    struct Check {
        v: Fp,
        set: Vec<Fp>,
        is_in: Fp,
        not_in: Fp,
    }

    impl Circuit<Fp> for Check {
        type Config = (SetConfig, Column<Advice>);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let advice = [(); 4].map(|_| meta.advice_column());
            let extra = meta.advice_column();
            meta.enable_equality(extra);
            let c = meta.fixed_column();
            meta.enable_constant(c);
            (SetChip::configure(meta, advice), extra)
        }

        fn synthesize(
            &self,
            (config, extra): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let cells = layouter.assign_region(
                || "inputs",
                |mut region| {
                    let mut row = 0;
                    let mut put = |x: Fp| {
                        row += 1;
                        region.assign_advice(|| "x", extra, row - 1, || Value::known(x))
                    };
                    let v = put(self.v)?;
                    let is_in = put(self.is_in)?;
                    let not_in = put(self.not_in)?;
                    let set = self
                        .set
                        .iter()
                        .map(|s| put(*s))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((v, is_in, not_in, set))
                },
            )?;
            let (v, is_in, not_in, set) = cells;
            SetChip::construct(config).check(
                layouter.namespace(|| "check"),
                &v,
                &set,
                &is_in,
                &not_in,
            )
        }
    }

    fn holds(v: Fp, set: &[u64], is_in: u64, not_in: u64) -> bool {
        let c = Check {
            v,
            set: set.iter().map(|s| Fp::from(*s)).collect(),
            is_in: Fp::from(is_in),
            not_in: Fp::from(not_in),
        };
        MockProver::run(6, &c, vec![])
            .expect("runs")
            .verify()
            .is_ok()
    }

    #[test]
    fn membership_and_non_membership() {
        let set = [3, 7, 11, 7];
        assert!(holds(Fp::from(7), &set, 1, 0), "7 in");
        assert!(!holds(Fp::from(7), &set, 0, 1), "7 not in: false");
        assert!(holds(Fp::from(8), &set, 0, 1), "8 not in");
        assert!(!holds(Fp::from(8), &set, 1, 0), "8 in: false");
        assert!(holds(Fp::from(8), &set, 0, 0), "off");
    }

    #[test]
    fn aliases_and_extremes_are_not_members() {
        let set = [3, 7];
        // 7 + p is 7 in the field; 7 + 2^64 is not 7.
        assert!(!holds(
            Fp::from(7) + Fp::from(u64::MAX) + Fp::ONE,
            &set,
            1,
            0
        ));
        assert!(!holds(-Fp::ONE, &set, 1, 0), "p - 1");
        assert!(holds(-Fp::ONE, &set, 0, 1), "p - 1 is not in it");
        assert!(holds(Fp::ZERO, &[0, 5], 1, 0), "zero as a member");
    }

    #[test]
    fn flags_must_be_boolean_and_exclusive() {
        let set = [3, 7];
        assert!(!holds(Fp::from(7), &set, 1, 1), "both");
        assert!(
            !holds(Fp::from(7), &set, 2, 0),
            "in = 2 (7 is a member: only booleanness fails)"
        );
        assert!(
            !holds(Fp::from(8), &set, 0, 2),
            "nin = 2 (8 is not a member: only booleanness fails)"
        );
    }
}
