//! The statement's glue arithmetic: one general gate `qa·a + qb·b + qc·c + qd·d + qm·a·b + qk = 0`
//! whose coefficients sit in fixed columns (a row with all of them zero is unconstrained), and a
//! bit-decomposition gate. On them: sums, products, selections by a bit, multiplexers and exact
//! bit decompositions — what the Groth16 statement does with R1CS, row by row.

use ff::PrimeField;
use halo2_proofs::circuit::{AssignedCell, Layouter, Value};
use halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Constraints, Error, Expression, Fixed, Selector,
};
use halo2_proofs::poly::Rotation;

/// The chip's columns.
#[derive(Clone, Debug)]
pub struct ArithConfig {
    advice: [Column<Advice>; 4],
    q: [Column<Fixed>; 6],
    q_bit: Selector,
    power: Column<Fixed>,
}

/// An assigned cell.
pub type Cell<F> = AssignedCell<F, F>;

/// What goes into one of a row's four cells.
enum In<'a, F: PrimeField> {
    Copy(&'a Cell<F>),
    Fresh(Value<F>),
    Empty,
}

/// The arithmetic chip.
#[derive(Clone, Debug)]
pub struct ArithChip {
    config: ArithConfig,
}

/// The low `n <= 64` bits of a field element.
pub fn low_bits<F: PrimeField>(x: &F, n: usize) -> u64 {
    let repr = x.to_repr();
    let v = repr
        .as_ref()
        .iter()
        .take(8)
        .enumerate()
        .fold(0u64, |acc, (i, b)| acc | (u64::from(*b) << (8 * i)));
    if n >= 64 {
        v
    } else {
        v & ((1u64 << n) - 1)
    }
}

impl ArithChip {
    /// Declares the gates on four equality-enabled advice columns.
    pub fn configure<F: PrimeField>(
        meta: &mut ConstraintSystem<F>,
        advice: [Column<Advice>; 4],
    ) -> ArithConfig {
        for a in advice {
            meta.enable_equality(a);
        }
        let q = [(); 6].map(|_| meta.fixed_column());
        meta.create_gate("qa a + qb b + qc c + qd d + qm a b + qk = 0", |meta| {
            let [a, b, c, d] = advice.map(|col| meta.query_advice(col, Rotation::cur()));
            let [qa, qb, qc, qd, qm, qk] = q.map(|col| meta.query_fixed(col));
            vec![qa * a.clone() + qb * b.clone() + qc * c + qd * d + qm * a * b + qk]
        });
        let q_bit = meta.selector();
        let power = meta.fixed_column();
        meta.create_gate("bit", |meta| {
            let s = meta.query_selector(q_bit);
            let bit = meta.query_advice(advice[0], Rotation::cur());
            let acc = meta.query_advice(advice[2], Rotation::cur());
            let next = meta.query_advice(advice[2], Rotation::next());
            let pow = meta.query_fixed(power);
            let one = Expression::Constant(F::ONE);
            Constraints::with_selector(
                s,
                [
                    ("boolean", bit.clone() * (one - bit.clone())),
                    ("accumulate", next - (acc + bit * pow)),
                ],
            )
        });
        ArithConfig {
            advice,
            q,
            q_bit,
            power,
        }
    }

    /// The chip over its configuration.
    pub fn construct(config: ArithConfig) -> ArithChip {
        ArithChip { config }
    }

    /// One constrained row; returns the four cells (`None` where empty).
    fn row<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        name: &str,
        ins: [In<'_, F>; 4],
        coeffs: [F; 6],
    ) -> Result<[Option<Cell<F>>; 4], Error> {
        layouter.assign_region(
            || name.to_string(),
            |mut region| {
                for (col, k) in self.config.q.iter().zip(coeffs) {
                    region.assign_fixed(|| "coefficient", *col, 0, || Value::known(k))?;
                }
                let mut out: [Option<Cell<F>>; 4] = [None, None, None, None];
                for (i, input) in ins.iter().enumerate() {
                    let col = self.config.advice[i];
                    out[i] = match input {
                        In::Copy(c) => Some(c.copy_advice(|| "copy", &mut region, col, 0)?),
                        In::Fresh(v) => Some(region.assign_advice(|| "value", col, 0, || *v)?),
                        In::Empty => None,
                    };
                }
                Ok(out)
            },
        )
    }

    fn output<F: PrimeField>(cells: [Option<Cell<F>>; 4]) -> Result<Cell<F>, Error> {
        let [_, _, c, _] = cells;
        c.ok_or(Error::Synthesis)
    }

    /// A witnessed value (unconstrained until used).
    pub fn witness<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        name: &str,
        v: Value<F>,
    ) -> Result<Cell<F>, Error> {
        layouter.assign_region(
            || name.to_string(),
            |mut region| region.assign_advice(|| name, self.config.advice[0], 0, || v),
        )
    }

    /// A constant cell.
    pub fn constant<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        k: F,
    ) -> Result<Cell<F>, Error> {
        layouter.assign_region(
            || "constant",
            |mut region| region.assign_advice_from_constant(|| "k", self.config.advice[0], 0, k),
        )
    }

    /// `Σ cᵢ·xᵢ + k` for up to three terms.
    pub fn linear<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        terms: &[(F, &Cell<F>)],
        k: F,
    ) -> Result<Cell<F>, Error> {
        if terms.len() > 3 {
            return Err(Error::Synthesis);
        }
        let value = terms.iter().fold(Value::known(k), |acc, (c, x)| {
            acc.zip(x.value()).map(|(acc, x)| acc + *c * *x)
        });
        let term = |i: usize| terms.get(i).map_or(In::Empty, |(_, x)| In::Copy(x));
        let coef = |i: usize| terms.get(i).map_or(F::ZERO, |(c, _)| *c);
        let cells = self.row(
            layouter,
            "linear",
            [term(0), term(1), In::Fresh(value), term(2)],
            [coef(0), coef(1), -F::ONE, coef(2), F::ZERO, k],
        )?;
        Self::output(cells)
    }

    /// `x·y + z`.
    pub fn mul_add<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        x: &Cell<F>,
        y: &Cell<F>,
        z: Option<&Cell<F>>,
    ) -> Result<Cell<F>, Error> {
        let mut value = x.value().zip(y.value()).map(|(x, y)| *x * *y);
        if let Some(z) = z {
            value = value.zip(z.value()).map(|(v, z)| v + *z);
        }
        let cells = self.row(
            layouter,
            "x y + z",
            [
                In::Copy(x),
                In::Copy(y),
                In::Fresh(value),
                z.map_or(In::Empty, In::Copy),
            ],
            [
                F::ZERO,
                F::ZERO,
                -F::ONE,
                if z.is_some() { F::ONE } else { F::ZERO },
                F::ONE,
                F::ZERO,
            ],
        )?;
        Self::output(cells)
    }

    /// `x·y`.
    pub fn mul<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        x: &Cell<F>,
        y: &Cell<F>,
    ) -> Result<Cell<F>, Error> {
        self.mul_add(layouter, x, y, None)
    }

    /// Constrains `x·y = z`.
    pub fn assert_product<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        x: &Cell<F>,
        y: &Cell<F>,
        z: &Cell<F>,
    ) -> Result<(), Error> {
        self.row(
            layouter,
            "x y = z",
            [In::Copy(x), In::Copy(y), In::Copy(z), In::Empty],
            [F::ZERO, F::ZERO, -F::ONE, F::ZERO, F::ONE, F::ZERO],
        )
        .map(drop)
    }

    /// Constrains `x·y = 0`.
    pub fn assert_zero_product<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        x: &Cell<F>,
        y: &Cell<F>,
    ) -> Result<(), Error> {
        self.row(
            layouter,
            "x y = 0",
            [In::Copy(x), In::Copy(y), In::Empty, In::Empty],
            [F::ZERO, F::ZERO, F::ZERO, F::ZERO, F::ONE, F::ZERO],
        )
        .map(drop)
    }

    /// Constrains `x = 0`.
    pub fn assert_zero<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        x: &Cell<F>,
    ) -> Result<(), Error> {
        self.row(
            layouter,
            "x = 0",
            [In::Copy(x), In::Empty, In::Empty, In::Empty],
            [F::ONE, F::ZERO, F::ZERO, F::ZERO, F::ZERO, F::ZERO],
        )
        .map(drop)
    }

    /// `bit ? y : x` (the bit must be boolean already: it comes from [`ArithChip::bits`]).
    pub fn select<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        bit: &Cell<F>,
        x: &Cell<F>,
        y: &Cell<F>,
    ) -> Result<Cell<F>, Error> {
        let d = self.linear(layouter, &[(F::ONE, y), (-F::ONE, x)], F::ZERO)?;
        self.mul_add(layouter, bit, &d, Some(x))
    }

    /// `values[Σ bitsᵢ·2ⁱ]` (lowest bit first; `values.len() == 2^bits.len()`).
    pub fn mux<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        bits: &[Cell<F>],
        values: &[Cell<F>],
    ) -> Result<Cell<F>, Error> {
        if values.len() != 1 << bits.len() {
            return Err(Error::Synthesis);
        }
        let mut layer = values.to_vec();
        for bit in bits {
            layer = layer
                .chunks(2)
                .map(|pair| self.select(layouter, bit, &pair[0], &pair[1]))
                .collect::<Result<_, _>>()?;
        }
        layer.pop().ok_or(Error::Synthesis)
    }

    /// The `n` bits of `x`, lowest first, each boolean, recombining to `x` exactly — so it also
    /// constrains `x < 2^n` (`n <= 64`).
    pub fn bits<F: PrimeField>(
        &self,
        layouter: &mut impl Layouter<F>,
        x: &Cell<F>,
        n: usize,
    ) -> Result<Vec<Cell<F>>, Error> {
        if n == 0 || n > 64 {
            return Err(Error::Synthesis);
        }
        let a = self.config.advice;
        layouter.assign_region(
            || format!("{n} bits"),
            |mut region| {
                let mut acc = region.assign_advice_from_constant(|| "0", a[2], 0, F::ZERO)?;
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    self.config.q_bit.enable(&mut region, i)?;
                    region.assign_fixed(
                        || "2^i",
                        self.config.power,
                        i,
                        || Value::known(F::from(1u64 << i)),
                    )?;
                    let bit = x.value().map(|v| F::from((low_bits(v, 64) >> i) & 1));
                    let b = region.assign_advice(|| "bit", a[0], i, || bit)?;
                    let next = acc
                        .value()
                        .zip(bit)
                        .map(|(acc, bit)| *acc + bit * F::from(1u64 << i));
                    acc = region.assign_advice(|| "so far", a[2], i + 1, || next)?;
                    out.push(b);
                }
                region.constrain_equal(acc.cell(), x.cell())?;
                Ok(out)
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
    use halo2_proofs::plonk::{Circuit, Instance};
    use pasta_curves::pallas::Base as Fp;

    /// Decomposes `x` into `n` bits and exposes `mux(bits[..3], [10..18))` and
    /// `x·y + x - 2y + 5` on instance rows 0 and 1.
    #[derive(Clone)]
    struct Check {
        x: Fp,
        y: Fp,
        n: usize,
    }

    impl Circuit<Fp> for Check {
        type Config = (ArithConfig, Column<Instance>);
        type FloorPlanner = SimpleFloorPlanner;

        fn without_witnesses(&self) -> Self {
            self.clone()
        }

        fn configure(meta: &mut ConstraintSystem<Fp>) -> Self::Config {
            let advice = [(); 4].map(|_| meta.advice_column());
            let instance = meta.instance_column();
            meta.enable_equality(instance);
            let c = meta.fixed_column();
            meta.enable_constant(c);
            (ArithChip::configure(meta, advice), instance)
        }

        fn synthesize(
            &self,
            (config, instance): Self::Config,
            mut layouter: impl Layouter<Fp>,
        ) -> Result<(), Error> {
            let chip = ArithChip::construct(config);
            let l = &mut layouter;
            let x = chip.witness(l, "x", Value::known(self.x))?;
            let y = chip.witness(l, "y", Value::known(self.y))?;
            let bits = chip.bits(l, &x, self.n)?;
            let values = (10..18)
                .map(|v| chip.constant(l, Fp::from(v)))
                .collect::<Result<Vec<_>, _>>()?;
            let m = chip.mux(l, &bits[..3], &values)?;
            let xy = chip.mul_add(l, &x, &y, Some(&x))?;
            let e = chip.linear(l, &[(Fp::ONE, &xy), (-Fp::from(2), &y)], Fp::from(5))?;
            layouter.constrain_instance(m.cell(), instance, 0)?;
            layouter.constrain_instance(e.cell(), instance, 1)
        }
    }

    fn holds(x: Fp, y: Fp, n: usize, public: [Fp; 2]) -> bool {
        MockProver::run(8, &Check { x, y, n }, vec![public.to_vec()])
            .expect("runs")
            .verify()
            .is_ok()
    }

    fn expect(x: u64, y: u64) -> [Fp; 2] {
        let (xf, yf) = (Fp::from(x), Fp::from(y));
        [Fp::from(10 + (x & 7)), xf * yf + xf - yf - yf + Fp::from(5)]
    }

    #[test]
    fn bits_mux_and_arithmetic_are_exact() {
        assert!(holds(Fp::from(0b1101), Fp::from(3), 4, expect(0b1101, 3)));
        assert!(holds(Fp::from(15), Fp::from(3), 4, expect(15, 3)), "max");
        assert!(holds(
            Fp::from(u64::MAX),
            Fp::from(1),
            64,
            expect(u64::MAX, 1)
        ));
        assert!(
            !holds(Fp::from(16), Fp::from(3), 4, expect(16, 3)),
            "one past"
        );
        assert!(
            !holds(
                Fp::from(u64::MAX) + Fp::ONE,
                Fp::from(1),
                64,
                [Fp::from(10), Fp::ONE]
            ),
            "2^64 has no 64-bit decomposition"
        );
        assert!(
            !holds(-Fp::ONE, Fp::ZERO, 64, [Fp::from(10), Fp::ONE]),
            "p - 1"
        );
        let mut wrong = expect(5, 3);
        wrong[0] += Fp::ONE;
        assert!(
            !holds(Fp::from(5), Fp::from(3), 4, wrong),
            "another mux output"
        );
        let mut wrong = expect(5, 3);
        wrong[1] += Fp::ONE;
        assert!(!holds(Fp::from(5), Fp::from(3), 4, wrong), "another sum");
    }
}
