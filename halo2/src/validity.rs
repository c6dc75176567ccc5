//! A credential's packed validity `id | issued_at << 32 | expires_at << 64` (days), as the
//! Groth16 statement packs it: split into the 32 bits of `id` (the leaf's position, each bit a
//! boolean cell the membership path uses), `issued_at` and `expires_at` (each range-checked to 32
//! bits, which makes the split unique), and the expiry check `expires_at > today`. Built on the
//! arithmetic chip's exact bit decomposition and linear rows, and the lookup range checks.

use crate::arith::{low_bits, ArithChip, Cell};
use crate::range::RangeChip;
use ff::PrimeField;
use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::plonk::Error;

/// The parts of a validity.
#[derive(Clone, Debug)]
pub struct Parts<F: PrimeField> {
    /// The 32 bits of the credential id, lowest first.
    pub id_bits: Vec<Cell<F>>,
    /// The issue day.
    pub issued: Cell<F>,
    /// The expiry day.
    pub expires: Cell<F>,
}

/// Bits `from..from + 32` of a field element's value.
fn word<F: PrimeField>(v: &Value<F>, from: usize) -> Value<F> {
    v.map(|x| {
        let repr = x.to_repr();
        let bytes = repr.as_ref();
        let mut w = [0u8; 8];
        w[..4].copy_from_slice(&bytes[from / 8..from / 8 + 4]);
        F::from(u64::from_le_bytes(w))
    })
}

/// Splits `validity` into its parts: `validity = id + issued·2^32 + expires·2^64` with the id
/// decomposed into 32 boolean cells and both days below 2^32.
pub fn split<F: PrimeField>(
    arith: &ArithChip,
    range: &RangeChip,
    layouter: &mut impl Layouter<F>,
    validity: &Cell<F>,
) -> Result<Parts<F>, Error> {
    let v = validity.value().copied();
    let id = arith.witness(layouter, "id", v.map(|x| F::from(low_bits(&x, 32))))?;
    let issued = arith.witness(layouter, "issued", word(&v, 32))?;
    let expires = arith.witness(layouter, "expires", word(&v, 64))?;
    let id_bits = arith.bits(layouter, &id, 32)?;
    let two64 = F::from(u64::MAX) + F::ONE;
    let packed = arith.linear(
        layouter,
        &[
            (F::ONE, &id),
            (F::from(1u64 << 32), &issued),
            (two64, &expires),
        ],
        F::ZERO,
    )?;
    layouter.assign_region(
        || "validity = id + issued 2^32 + expires 2^64",
        |mut region| region.constrain_equal(packed.cell(), validity.cell()),
    )?;
    range.range_check(layouter.namespace(|| "issued < 2^32"), &issued, 32)?;
    range.range_check(layouter.namespace(|| "expires < 2^32"), &expires, 32)?;
    Ok(Parts {
        id_bits,
        issued,
        expires,
    })
}

/// Constrains `earlier + by <= later` where `active` is 1 (nothing where it is 0):
/// `(later − earlier − by)·active < 2^32`. Both days must be below 2^32 (the split checks the
/// credential's days; the caller checks `today` once), so a negative gap wraps far above 2^32.
fn days_in_order<F: PrimeField>(
    arith: &ArithChip,
    range: &RangeChip,
    layouter: &mut impl Layouter<F>,
    (earlier, later): (&Cell<F>, &Cell<F>),
    by: u64,
    active: &Cell<F>,
) -> Result<(), Error> {
    let gap = arith.linear(
        layouter,
        &[(F::ONE, later), (-F::ONE, earlier)],
        -F::from(by),
    )?;
    let gap = arith.mul(layouter, &gap, active)?;
    range.range_check(layouter.namespace(|| "days in order"), &gap, 32)
}

/// Constrains `issued <= today` where `active` is 1.
pub fn issued_by<F: PrimeField>(
    arith: &ArithChip,
    range: &RangeChip,
    layouter: &mut impl Layouter<F>,
    issued: &Cell<F>,
    today: &Cell<F>,
    active: &Cell<F>,
) -> Result<(), Error> {
    days_in_order(arith, range, layouter, (issued, today), 0, active)
}

/// Constrains `expires > today` (`today + 1 <= expires`) where `active` is 1.
pub fn not_expired<F: PrimeField>(
    arith: &ArithChip,
    range: &RangeChip,
    layouter: &mut impl Layouter<F>,
    expires: &Cell<F>,
    today: &Cell<F>,
    active: &Cell<F>,
) -> Result<(), Error> {
    days_in_order(arith, range, layouter, (today, expires), 1, active)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::RangeConfig;
    use ff::Field;
    use halo2_proofs::circuit::SimpleFloorPlanner;
    use halo2_proofs::dev::MockProver;
    use halo2_proofs::plonk::{Advice, Circuit, Column, ConstraintSystem, Instance};
    use pasta_curves::pallas::Base as Fp;

    /// Splits a validity, checks expiry against the instance's `today`, and exposes the id bits
    /// recombined (instance row 1) and the issue day (row 2).
    #[derive(Clone)]
    struct Check {
        validity: Fp,
    }

    impl Circuit<Fp> for Check {
        type Config = (
            crate::arith::ArithConfig,
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
                ArithChip::configure(meta, advice),
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
            let arith = ArithChip::construct(config);
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
            let l = &mut layouter;
            let parts = split(&arith, &range, l, &validity)?;
            range.range_check(l.namespace(|| "today < 2^32"), &today, 32)?;
            let one = arith.constant(l, Fp::ONE)?;
            not_expired(&arith, &range, l, &parts.expires, &today, &one)?;
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
