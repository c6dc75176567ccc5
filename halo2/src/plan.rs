//! A statement circuit as the floor planner lays it out, measured without proving: the rows it
//! uses (pinned by tests beside its `k`) and, for every region, the named check that made it
//! (each step of [`crate::statement`] runs in a namespace named as the Groth16 statement names
//! its check). A negative test maps a `MockProver` failure to its check with
//! [`Plan::check_of`], so that it asserts *which* check a false statement breaks.

use crate::statement::StatementCircuit;
use dossier_core::pasta::Fp;
use dossier_core::query::Shape;
use halo2_proofs::circuit::Value;
use halo2_proofs::dev::{metadata, FailureLocation, VerifyFailure};
use halo2_proofs::plonk::{
    Advice, Any, Assigned, Assignment, Circuit, Column, ConstraintSystem, Error, Fixed,
    FloorPlanner, Instance, Selector,
};
use std::ops::Range;

/// One region of the layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRegion {
    /// The region's own name (the chip's).
    pub name: String,
    /// The check it belongs to: the outermost namespace it was assigned in.
    pub check: String,
    /// The rows it occupies (none for a region that assigns no cell).
    pub rows: Option<Range<usize>>,
}

/// The layout of one shape's statement circuit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Every region, in the order assigned (a region's index is `MockProver`'s).
    pub regions: Vec<PlannedRegion>,
    /// Rows used by any advice column (the statement's cells).
    pub advice_rows: usize,
    /// Rows used by any fixed column (constants, selectors' neighbours, the range table).
    pub fixed_rows: usize,
    /// Rows the usable part of `2^k` must hold: the longer of the two.
    pub rows: usize,
}

impl Plan {
    /// Lays out a shape's circuit (no witness) and measures it.
    pub fn of(shape: Shape) -> Result<Plan, Error> {
        let circuit = StatementCircuit {
            shape,
            witness: None,
        };
        let mut cs = ConstraintSystem::default();
        let config = StatementCircuit::configure(&mut cs);
        let constants = vec![config.constants];
        let mut measure = Measure::default();
        <StatementCircuit as Circuit<Fp>>::FloorPlanner::synthesize(
            &mut measure,
            &circuit,
            config,
            constants,
        )?;
        let rows = measure.advice_rows.max(measure.fixed_rows);
        Ok(Plan {
            regions: measure.regions,
            advice_rows: measure.advice_rows,
            fixed_rows: measure.fixed_rows,
            rows,
        })
    }

    /// The check a `MockProver` failure lies in, by its region. A failure outside any region
    /// (the other end of a copy: a constant's cell, an instance cell) names none: the failure
    /// at its region's end names the check.
    pub fn check_of(&self, failure: &VerifyFailure) -> Option<&str> {
        let location = match failure {
            VerifyFailure::ConstraintNotSatisfied { location, .. }
            | VerifyFailure::Lookup { location, .. }
            | VerifyFailure::Permutation { location, .. } => location,
            VerifyFailure::CellNotAssigned { region, .. } => {
                return self.check_of_region(region);
            }
            _ => return None,
        };
        match location {
            FailureLocation::InRegion { region, .. } => self.check_of_region(region),
            FailureLocation::OutsideRegion { .. } => None,
        }
    }

    fn check_of_region(&self, region: &metadata::Region) -> Option<&str> {
        self.regions
            .iter()
            .enumerate()
            .find(|(i, r)| metadata::Region::from((*i, r.name.as_str())) == *region)
            .map(|(_, r)| r.check.as_str())
    }
}

/// An `Assignment` that keeps no values: it records regions, the namespace each was entered in
/// and the rows cells land on.
#[derive(Default)]
struct Measure {
    regions: Vec<PlannedRegion>,
    current: Option<PlannedRegion>,
    namespaces: Vec<String>,
    advice_rows: usize,
    fixed_rows: usize,
}

impl Measure {
    fn touch(&mut self, row: usize) {
        if let Some(r) = self.current.as_mut() {
            r.rows = Some(match r.rows.take() {
                Some(rows) => rows.start.min(row)..rows.end.max(row + 1),
                None => row..row + 1,
            });
        }
    }
}

impl Assignment<Fp> for Measure {
    fn enter_region<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        let name = name_fn().into();
        let check = self
            .namespaces
            .first()
            .cloned()
            .unwrap_or_else(|| name.clone());
        self.current = Some(PlannedRegion {
            name,
            check,
            rows: None,
        });
    }

    fn exit_region(&mut self) {
        if let Some(r) = self.current.take() {
            self.regions.push(r);
        }
    }

    fn enable_selector<A, AR>(&mut self, _: A, _: &Selector, row: usize) -> Result<(), Error>
    where
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.fixed_rows = self.fixed_rows.max(row + 1);
        self.touch(row);
        Ok(())
    }

    fn query_instance(&self, _: Column<Instance>, _: usize) -> Result<Value<Fp>, Error> {
        Ok(Value::unknown())
    }

    fn assign_advice<V, VR, A, AR>(
        &mut self,
        _: A,
        _: Column<Advice>,
        row: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<Fp>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.advice_rows = self.advice_rows.max(row + 1);
        self.touch(row);
        Ok(())
    }

    fn assign_fixed<V, VR, A, AR>(
        &mut self,
        _: A,
        _: Column<Fixed>,
        row: usize,
        _: V,
    ) -> Result<(), Error>
    where
        V: FnOnce() -> Value<VR>,
        VR: Into<Assigned<Fp>>,
        A: FnOnce() -> AR,
        AR: Into<String>,
    {
        self.fixed_rows = self.fixed_rows.max(row + 1);
        self.touch(row);
        Ok(())
    }

    fn copy(&mut self, _: Column<Any>, _: usize, _: Column<Any>, _: usize) -> Result<(), Error> {
        Ok(())
    }

    fn fill_from_row(
        &mut self,
        _: Column<Fixed>,
        _: usize,
        _: Value<Assigned<Fp>>,
    ) -> Result<(), Error> {
        // Fills a table column's unused rows with its default: no new row is used.
        Ok(())
    }

    fn push_namespace<NR, N>(&mut self, name_fn: N)
    where
        NR: Into<String>,
        N: FnOnce() -> NR,
    {
        self.namespaces.push(name_fn().into());
    }

    fn pop_namespace(&mut self, _: Option<String>) {
        self.namespaces.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::statement::k_of;
    use dossier_core::query::SHAPES;

    /// Rows the usable part of `2^k` holds (the rest are blinding rows and the last row).
    fn usable(k: u32) -> usize {
        let mut cs = ConstraintSystem::<Fp>::default();
        StatementCircuit::configure(&mut cs);
        (1usize << k) - cs.blinding_factors() - 1
    }

    #[test]
    fn rows_are_pinned() {
        // (shape, k, rows, regions): a change to a circuit shows here first.
        let pinned = [
            ("m1p4k4r2", 11, 1924, 335),
            ("m3p2k4r1", 13, 5378, 828),
            ("m4p2k4r1", 13, 7147, 1106),
        ];
        for (shape, (name, k, rows, regions)) in SHAPES.into_iter().zip(pinned) {
            assert_eq!(shape.name(), name);
            let plan = Plan::of(shape).expect("plan");
            assert_eq!(
                (k_of(shape), plan.rows, plan.regions.len()),
                (k, rows, regions),
                "{name}: (k, rows, regions)"
            );
            assert_eq!(
                plan.advice_rows, plan.rows,
                "{name}: advice decides the height"
            );
            assert!(plan.rows <= usable(k), "{name} does not fit 2^{k}");
            assert!(
                plan.rows > usable(k - 1),
                "{name} fits 2^{}: lower k_of",
                k - 1
            );
        }
    }

    #[test]
    fn every_region_belongs_to_a_named_check() {
        let steps = [
            "range table",
            "zero",
            "query",
            "holder_commitment",
            "nullifier",
            "today",
            "sum.",
            "query[",
            "credential[",
            "distinct",
        ];
        for shape in SHAPES {
            let plan = Plan::of(shape).expect("plan");
            for r in &plan.regions {
                assert!(
                    steps.iter().any(|s| r.check.starts_with(s)),
                    "{}: region `{}` is in no named step (`{}`)",
                    shape.name(),
                    r.name,
                    r.check
                );
            }
            let checks: std::collections::BTreeSet<&str> =
                plan.regions.iter().map(|r| r.check.as_str()).collect();
            for m in 0..shape.credentials {
                for check in ["schema", "holder_binding", "membership", "issued", "expiry"] {
                    assert!(checks.contains(format!("credential[{m}].{check}").as_str()));
                }
            }
        }
    }
}
