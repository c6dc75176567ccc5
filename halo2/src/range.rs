//! Range checks with a lookup table: a value is cut into 10-bit words by a running sum
//! `z_{i+1} = (z_i - w_i) / 2^10`, every word is looked up in the table `0..2^10`, the top word
//! is looked up a second time shifted left so that it has only the bits left over, and the last
//! `z` is constrained to zero. So `range_check(x, 64)` holds exactly when `x < 2^64`: 7 rows and
//! 8 lookups, where a bit decomposition would need 64 boolean constraints.

use ff::PrimeField;
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

/// Bits per word (the table has `2^K` rows).
pub const K: usize = 10;

/// The chip's columns.
#[derive(Clone, Debug)]
pub struct RangeConfig {
    z: Column<Advice>,
    shift: Column<Fixed>,
    q_word: Selector,
    q_top: Selector,
    table: TableColumn,
}

/// Range checks by lookup.
#[derive(Clone, Debug)]
pub struct RangeChip {
    config: RangeConfig,
}

impl RangeChip {
    /// Declares the gates and lookups on `z` (equality-enabled here).
    pub fn configure<F: PrimeField>(
        meta: &mut ConstraintSystem<F>,
        z: Column<Advice>,
    ) -> RangeConfig {
        let shift = meta.fixed_column();
        let q_word = meta.complex_selector();
        let q_top = meta.complex_selector();
        let table = meta.lookup_table_column();
        meta.enable_equality(z);
        let two_k = F::from(1u64 << K);
        meta.lookup(|meta| {
            let q = meta.query_selector(q_word);
            let word = meta.query_advice(z, Rotation::cur())
                - meta.query_advice(z, Rotation::next()) * two_k;
            vec![(q * word, table)]
        });
        meta.lookup(|meta| {
            let q = meta.query_selector(q_top);
            let word = meta.query_advice(z, Rotation::cur())
                - meta.query_advice(z, Rotation::next()) * two_k;
            vec![(q * word * meta.query_fixed(shift), table)]
        });
        RangeConfig {
            z,
            shift,
            q_word,
            q_top,
            table,
        }
    }

    /// The chip over its configuration.
    pub fn construct(config: RangeConfig) -> RangeChip {
        RangeChip { config }
    }

    /// Fills the table `0..2^K` (once per circuit).
    pub fn load_table<F: PrimeField>(&self, layouter: &mut impl Layouter<F>) -> Result<(), Error> {
        layouter.assign_table(
            || "range table",
            |mut table| {
                for i in 0..(1u64 << K) {
                    table.assign_cell(
                        || "word",
                        self.config.table,
                        i as usize,
                        || Value::known(F::from(i)),
                    )?;
                }
                Ok(())
            },
        )
    }

    /// Constrains `x < 2^bits` (`bits` in 1..=250).
    pub fn range_check<F: PrimeField>(
        &self,
        mut layouter: impl Layouter<F>,
        x: &AssignedCell<F, F>,
        bits: usize,
    ) -> Result<(), Error> {
        assert!((1..=250).contains(&bits), "range of {bits} bits");
        let words = bits.div_ceil(K);
        let top_bits = bits - (words - 1) * K;
        let inv = F::from(1u64 << K)
            .invert()
            .expect("2^K is invertible in a prime field");
        layouter.assign_region(
            || format!("x < 2^{bits}"),
            |mut region| {
                let mut z = x.copy_advice(|| "z_0", &mut region, self.config.z, 0)?;
                for i in 0..words {
                    self.config.q_word.enable(&mut region, i)?;
                    if i == words - 1 {
                        self.config.q_top.enable(&mut region, i)?;
                        region.assign_fixed(
                            || "shift",
                            self.config.shift,
                            i,
                            || Value::known(F::from(1u64 << (K - top_bits))),
                        )?;
                    }
                    let next = z.value().map(|v| {
                        let word = low_bits(v, K);
                        (*v - F::from(word)) * inv
                    });
                    z = region.assign_advice(|| "z", self.config.z, i + 1, || next)?;
                }
                region.constrain_constant(z.cell(), F::ZERO)
            },
        )
    }
}

/// The low `n` bits of a field element (n <= 64).
fn low_bits<F: PrimeField>(v: &F, n: usize) -> u64 {
    let repr = v.to_repr();
    let bytes = repr.as_ref();
    let mut out = 0u64;
    for (i, b) in bytes.iter().take(8).enumerate() {
        out |= u64::from(*b) << (8 * i);
    }
    if n >= 64 {
        out
    } else {
        out & ((1u64 << n) - 1)
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
        x: Fp,
        bits: usize,
    }

    impl Circuit<Fp> for Check {
        type Config = (RangeConfig, Column<Advice>);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let z = meta.advice_column();
            let a = meta.advice_column();
            meta.enable_equality(a);
            let c = meta.fixed_column();
            meta.enable_constant(c);
            (RangeChip::configure(meta, z), a)
        }

        fn synthesize(
            &self,
            (config, a): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = RangeChip::construct(config);
            chip.load_table(&mut layouter)?;
            let x = layouter.assign_region(
                || "x",
                |mut region| region.assign_advice(|| "x", a, 0, || Value::known(self.x)),
            )?;
            chip.range_check(layouter.namespace(|| "check"), &x, self.bits)
        }
    }

    fn holds(x: Fp, bits: usize) -> bool {
        MockProver::run(11, &Check { x, bits }, vec![])
            .expect("runs")
            .verify()
            .is_ok()
    }

    #[test]
    fn boundaries_of_64_bits() {
        let two64 = Fp::from(u64::MAX) + Fp::ONE;
        assert!(holds(Fp::ZERO, 64));
        assert!(holds(Fp::from(u64::MAX), 64), "2^64 - 1");
        assert!(!holds(two64, 64), "2^64");
        assert!(!holds(two64 + Fp::from(5), 64), "2^64 + 5");
        assert!(!holds(two64 * Fp::from(1u64 << 40), 64), "2^104");
        assert!(!holds(-Fp::ONE, 64), "p - 1");
    }

    #[test]
    fn boundaries_of_uneven_widths() {
        for bits in [1usize, 4, 10, 11, 32, 33] {
            let max = (1u64 << bits) - 1;
            assert!(holds(Fp::from(max), bits), "{bits}: max");
            assert!(!holds(Fp::from(max + 1), bits), "{bits}: one past");
        }
    }
}
