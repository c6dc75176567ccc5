//! A credential's packed validity `id | issued_at << 32 | expires_at << 64` (days), as the
//! Groth16 statement packs it: split into the 32 bits of `id` (the leaf's position, each bit a
//! boolean cell the membership path uses), `issued_at` and `expires_at` (each range-checked to 32
//! bits, which makes the split unique), and the expiry check `expires_at > today`.

use crate::range::RangeChip;
use ff::PrimeField;
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Constraints, Error, Expression, Fixed, Selector,
};
use halo2_proofs::poly::Rotation;

/// The chip's columns.
#[derive(Clone, Debug)]
pub struct ValidityConfig {
    advice: [Column<Advice>; 4],
    power: Column<Fixed>,
    q_bit: Selector,
    q_pack: Selector,
    q_gap: Selector,
}

/// The parts of a validity.
#[derive(Clone, Debug)]
pub struct Parts<F: PrimeField> {
    /// The 32 bits of the credential id, lowest first.
    pub id_bits: Vec<AssignedCell<F, F>>,
    /// The issue day.
    pub issued: AssignedCell<F, F>,
    /// The expiry day.
    pub expires: AssignedCell<F, F>,
}

/// Splits validities and checks expiry.
#[derive(Clone, Debug)]
pub struct ValidityChip {
    config: ValidityConfig,
}

fn split(v: u128) -> (u64, u64, u64) {
    (
        (v & 0xffff_ffff) as u64,
        ((v >> 32) & 0xffff_ffff) as u64,
        ((v >> 64) & 0xffff_ffff) as u64,
    )
}

/// The low 128 bits of a field element.
fn low128<F: PrimeField>(x: &F) -> u128 {
    let repr = x.to_repr();
    repr.as_ref()
        .iter()
        .take(16)
        .enumerate()
        .fold(0u128, |acc, (i, b)| acc | (u128::from(*b) << (8 * i)))
}

impl ValidityChip {
    /// Declares the gates on four equality-enabled advice columns.
    pub fn configure<F: PrimeField>(
        meta: &mut ConstraintSystem<F>,
        advice: [Column<Advice>; 4],
    ) -> ValidityConfig {
        for a in advice {
            meta.enable_equality(a);
        }
        let power = meta.fixed_column();
        let q_bit = meta.selector();
        meta.create_gate("id bit", |meta| {
            let q = meta.query_selector(q_bit);
            let bit = meta.query_advice(advice[0], Rotation::cur());
            let acc = meta.query_advice(advice[1], Rotation::cur());
            let next = meta.query_advice(advice[1], Rotation::next());
            let pow = meta.query_fixed(power);
            let one = Expression::Constant(F::ONE);
            Constraints::with_selector(
                q,
                [
                    ("boolean", bit.clone() * (one - bit.clone())),
                    ("accumulate", next - (acc + bit * pow)),
                ],
            )
        });
        let q_pack = meta.selector();
        meta.create_gate("pack", |meta| {
            let q = meta.query_selector(q_pack);
            let validity = meta.query_advice(advice[0], Rotation::cur());
            let id = meta.query_advice(advice[1], Rotation::cur());
            let issued = meta.query_advice(advice[2], Rotation::cur());
            let expires = meta.query_advice(advice[3], Rotation::cur());
            let two32 = Expression::Constant(F::from(1u64 << 32));
            let two64 = Expression::Constant(F::from(u64::MAX) + F::ONE);
            Constraints::with_selector(
                q,
                [(
                    "validity = id + issued 2^32 + expires 2^64",
                    validity - (id + issued * two32 + expires * two64),
                )],
            )
        });
        let q_gap = meta.selector();
        meta.create_gate("gap", |meta| {
            let q = meta.query_selector(q_gap);
            let expires = meta.query_advice(advice[0], Rotation::cur());
            let today = meta.query_advice(advice[1], Rotation::cur());
            let gap = meta.query_advice(advice[2], Rotation::cur());
            let one = Expression::Constant(F::ONE);
            Constraints::with_selector(
                q,
                [("gap = expires - today - 1", gap - (expires - today - one))],
            )
        });
        ValidityConfig {
            advice,
            power,
            q_bit,
            q_pack,
            q_gap,
        }
    }

    /// The chip over its configuration.
    pub fn construct(config: ValidityConfig) -> ValidityChip {
        ValidityChip { config }
    }

    /// Splits `validity`; `range` checks the two day numbers to 32 bits.
    pub fn split<F: PrimeField>(
        &self,
        mut layouter: impl Layouter<F>,
        range: &RangeChip,
        validity: &AssignedCell<F, F>,
    ) -> Result<Parts<F>, Error> {
        let a = self.config.advice;
        let parts = validity.value().map(|v| split(low128(v)));
        let parts = layouter.assign_region(
            || "validity",
            |mut region| {
                let mut acc = region.assign_advice_from_constant(|| "0", a[1], 0, F::ZERO)?;
                let mut id_bits = Vec::with_capacity(32);
                for i in 0..32 {
                    self.config.q_bit.enable(&mut region, i)?;
                    region.assign_fixed(
                        || "2^i",
                        self.config.power,
                        i,
                        || Value::known(F::from(1u64 << i)),
                    )?;
                    let bit = parts.map(|(id, _, _)| F::from((id >> i) & 1));
                    let b = region.assign_advice(|| "bit", a[0], i, || bit)?;
                    let next = acc
                        .value()
                        .zip(bit)
                        .map(|(acc, bit)| *acc + bit * F::from(1u64 << i));
                    acc = region.assign_advice(|| "id so far", a[1], i + 1, || next)?;
                    id_bits.push(b);
                }
                self.config.q_pack.enable(&mut region, 32)?;
                validity.copy_advice(|| "validity", &mut region, a[0], 32)?;
                let issued = region.assign_advice(
                    || "issued",
                    a[2],
                    32,
                    || parts.map(|(_, i, _)| F::from(i)),
                )?;
                let expires = region.assign_advice(
                    || "expires",
                    a[3],
                    32,
                    || parts.map(|(_, _, e)| F::from(e)),
                )?;
                Ok(Parts {
                    id_bits,
                    issued,
                    expires,
                })
            },
        )?;
        range.range_check(layouter.namespace(|| "issued < 2^32"), &parts.issued, 32)?;
        range.range_check(layouter.namespace(|| "expires < 2^32"), &parts.expires, 32)?;
        Ok(parts)
    }

    /// Constrains `expires > today` (both below 2^32: `today` is checked here).
    pub fn not_expired<F: PrimeField>(
        &self,
        mut layouter: impl Layouter<F>,
        range: &RangeChip,
        expires: &AssignedCell<F, F>,
        today: &AssignedCell<F, F>,
    ) -> Result<(), Error> {
        let a = self.config.advice;
        let gap = layouter.assign_region(
            || "expiry",
            |mut region| {
                self.config.q_gap.enable(&mut region, 0)?;
                expires.copy_advice(|| "expires", &mut region, a[0], 0)?;
                today.copy_advice(|| "today", &mut region, a[1], 0)?;
                let gap = expires
                    .value()
                    .zip(today.value())
                    .map(|(e, t)| *e - *t - F::ONE);
                region.assign_advice(|| "gap", a[2], 0, || gap)
            },
        )?;
        range.range_check(layouter.namespace(|| "today < 2^32"), today, 32)?;
        range.range_check(
            layouter.namespace(|| "expires - today - 1 < 2^32"),
            &gap,
            32,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::RangeConfig;
    use ff::Field;
    use halo2_proofs::circuit::SimpleFloorPlanner;
    use halo2_proofs::dev::MockProver;
    use halo2_proofs::plonk::{Circuit, Instance};
    use pasta_curves::pallas::Base as Fp;

    /// Splits a validity, checks expiry against the instance's `today`, and exposes the id bits
    /// recombined (instance row 1) and the issue day (row 2).
    #[derive(Clone)]
    struct Check {
        validity: Fp,
    }

    impl Circuit<Fp> for Check {
        type Config = (
            ValidityConfig,
            RangeConfig,
            Column<Advice>,
            Column<Instance>,
        );
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let advice = [(); 4].map(|_| meta.advice_column());
            let z = meta.advice_column();
            let extra = meta.advice_column();
            meta.enable_equality(extra);
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            let c = meta.fixed_column();
            meta.enable_constant(c);
            (
                ValidityChip::configure(meta, advice),
                RangeChip::configure(meta, z),
                extra,
                instance,
            )
        }

        fn synthesize(
            &self,
            (config, range, extra, instance): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let range = RangeChip::construct(range);
            range.load_table(&mut layouter)?;
            let chip = ValidityChip::construct(config);
            let (validity, today) = layouter.assign_region(
                || "inputs",
                |mut region| {
                    let v =
                        region.assign_advice(|| "v", extra, 0, || Value::known(self.validity))?;
                    let t =
                        region.assign_advice_from_instance(|| "today", instance, 0, extra, 1)?;
                    Ok((v, t))
                },
            )?;
            let parts = chip.split(layouter.namespace(|| "split"), &range, &validity)?;
            chip.not_expired(
                layouter.namespace(|| "expiry"),
                &range,
                &parts.expires,
                &today,
            )?;
            // The id, recombined from its bit cells, must be the instance's.
            let id = layouter.assign_region(
                || "id",
                |mut region| {
                    let mut acc = Value::known(Fp::ZERO);
                    for (i, b) in parts.id_bits.iter().enumerate() {
                        acc = acc + b.value().map(|b| *b * Fp::from(1u64 << i));
                    }
                    region.assign_advice(|| "id", extra, 0, || acc)
                },
            )?;
            layouter.constrain_instance(id.cell(), instance, 1)?;
            layouter.constrain_instance(parts.issued.cell(), instance, 2)
        }
    }

    fn pack(id: u64, issued: u64, expires: u64) -> Fp {
        Fp::from(id)
            + Fp::from(issued) * Fp::from(1u64 << 32)
            + Fp::from(expires) * (Fp::from(u64::MAX) + Fp::ONE)
    }

    fn holds(validity: Fp, today: u64, id: u64, issued: u64) -> bool {
        let public = vec![Fp::from(today), Fp::from(id), Fp::from(issued)];
        MockProver::run(11, &Check { validity }, vec![public])
            .expect("runs")
            .verify()
            .is_ok()
    }

    #[test]
    fn splits_and_checks_expiry_at_the_boundary() {
        let v = pack(0xdead_beef, 20_000, 20_500);
        assert!(
            holds(v, 20_499, 0xdead_beef, 20_000),
            "the day before expiry"
        );
        assert!(
            !holds(v, 20_500, 0xdead_beef, 20_000),
            "the expiry day itself"
        );
        assert!(!holds(v, 30_000, 0xdead_beef, 20_000), "long after");
        assert!(holds(
            pack(
                u64::from(u32::MAX),
                u64::from(u32::MAX),
                u64::from(u32::MAX)
            ),
            0,
            u64::from(u32::MAX),
            u64::from(u32::MAX)
        ));
        assert!(holds(pack(0, 0, 1), 0, 0, 0), "zeros");
    }

    #[test]
    fn the_split_is_unique() {
        let v = pack(7, 20_000, 20_500);
        // Another id or issue day than the packed ones cannot be claimed.
        assert!(!holds(v, 1, 8, 20_000), "another id");
        assert!(!holds(v, 1, 7, 20_001), "another issue day");
        // A validity of 2^96 or more (expires >= 2^32) is not split at all.
        let wide =
            pack(7, 20_000, 0) + Fp::from(1u64 << 32) * Fp::from(1u64 << 32) * Fp::from(1u64 << 32);
        assert!(!holds(wide, 1, 7, 20_000), "validity >= 2^96");
        assert!(!holds(-Fp::ONE, 1, 0xffff_ffff, 0xffff_ffff), "p - 1");
        // today >= 2^32 does not wrap below expiry.
        assert!(
            !holds(v, u64::from(u32::MAX) + 1, 7, 20_000),
            "today = 2^32"
        );
    }
}
