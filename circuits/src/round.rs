//! One window of an appraisal round: "these 64 leaves hash to a subtree whose path leads to the
//! issuer's registry root; every leaf whose id lies in the round opens to an `appraisal`
//! credential of this issuer, unit and year; the tally before this window (grade counts and
//! appraisals with at least `hours` of training), committed in `acc_in`, plus this window's, is
//! committed in `acc_out`; and, in the round's last window, `excellent <= bound` and
//! `trained >= floor`, with the tally disclosed only if asked". The round, the rules and the
//! chain of windows are in `dossier_core::round`, which also fixes the public inputs' order.

use crate::gadgets::{bits, merkle, poseidon};
use ark_bn254::Fr;
use ark_ff::Zero;
use ark_r1cs_std::alloc::AllocVar;
use ark_r1cs_std::boolean::Boolean;
use ark_r1cs_std::eq::EqGadget;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::fields::FieldVar;
use ark_r1cs_std::GR1CSVar;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use dossier_core::credential::SLOTS;
use dossier_core::round::{
    Rules, Tally, WindowPublic, GRADES, GRADE_SLOT, TRAINING_BITS, TRAINING_SLOT, UNIT_SLOT,
    WINDOW, WINDOW_HEIGHT, YEAR_SLOT,
};
use dossier_core::REGISTRY_DEPTH;

/// The levels from a window's subtree root to the registry root.
pub const PATH: usize = REGISTRY_DEPTH - WINDOW_HEIGHT;

/// One leaf of the window as the HR office opens it. Outside the round only `leaf` matters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeafWitness {
    /// The tree's leaf (the commitment, or 0 if empty).
    pub leaf: Fr,
    /// The holder's commitment.
    pub holder: Fr,
    /// The packed validity (id, issue and expiry days).
    pub validity: Fr,
    /// The salt.
    pub salt: Fr,
    /// The schema's slots.
    pub slots: [Fr; SLOTS],
}

/// Everything one window's proof is made from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundWitness {
    /// The public inputs.
    pub public: WindowPublic,
    /// The window's [`WINDOW`] leaves, in id order.
    pub leaves: Vec<LeafWitness>,
    /// The subtree root's siblings up to the registry root, lowest first ([`PATH`]).
    pub siblings: Vec<Fr>,
    /// The tally before this window (opening `acc_in`).
    pub tally_in: Tally,
    /// `acc_in`'s blinding.
    pub blind_in: Fr,
    /// `acc_out`'s blinding.
    pub blind_out: Fr,
}

impl RoundWitness {
    /// A witness of the right size with every value zero (what key generation synthesises).
    pub fn blank() -> RoundWitness {
        RoundWitness {
            public: WindowPublic {
                root: Fr::zero(),
                issuer_id: Fr::zero(),
                schema_id: Fr::zero(),
                unit: Fr::zero(),
                year: 0,
                first: 0,
                count: 0,
                window: 0,
                acc_in: Fr::zero(),
                acc_out: Fr::zero(),
                last: false,
                bound: 0,
                disclose: false,
                counts: [0; GRADES],
                hours: 0,
                floor: 0,
                disclose_trained: false,
                trained: 0,
            },
            leaves: vec![LeafWitness::default(); WINDOW as usize],
            siblings: vec![Fr::zero(); PATH],
            tally_in: Tally::default(),
            blind_in: Fr::zero(),
            blind_out: Fr::zero(),
        }
    }
}

/// Why a round's windows cannot be built. Messages name the credential id, never a value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoundError {
    /// The round or the rule is malformed.
    #[error(transparent)]
    Core(#[from] dossier_core::CoreError),
    /// No opening was given for a credential of the round.
    #[error("credential {id} of the round: no opening given")]
    NoOpening {
        /// The credential id.
        id: u32,
    },
    /// The opening is not the registry's leaf at that id (revoked, replaced, or another one).
    #[error("credential {id} of the round: its opening is not the registry's leaf at the checkpoint (revoked or replaced?)")]
    NotTheLeaf {
        /// The credential id.
        id: u32,
    },
    /// A credential of the round is not an appraisal of the round's issuer, unit and year (or
    /// records training hours past the circuit's range).
    #[error("credential {id} of the round: not an appraisal of the round's issuer, unit and year")]
    NotOfTheRound {
        /// The credential id.
        id: u32,
    },
    /// The round has more "excellent" grades than its quota allows: no proof exists.
    #[error("the round breaks its quota: more \"excellent\" grades than the {percent}% allowed")]
    OverQuota {
        /// The quota.
        percent: u8,
    },
    /// Fewer of the round met the training hours than its training rule asks: no proof exists.
    #[error("the round misses its training rule: fewer than {percent}% completed {hours} hours")]
    UnderTraining {
        /// The share asked.
        percent: u8,
        /// The hours asked.
        hours: u32,
    },
}

/// The witnesses of every window of a round, in window order: the leaves and siblings come
/// from `node(level, index)` (the registry at the checkpoint, empty nodes included), the
/// credentials of the round from `openings` (by id). Refuses, before any proving, a round
/// that cannot be proven: an opening missing or not the leaf, a credential of another
/// schema, issuer, unit or year, a quota or a training rule broken.
#[allow(clippy::too_many_arguments)]
pub fn window_witnesses<R: rand::RngCore + rand::CryptoRng>(
    round: &dossier_core::round::Round,
    rules: Rules,
    disclose: bool,
    root: Fr,
    schema_id: Fr,
    node: &dyn Fn(u8, u32) -> Fr,
    openings: &std::collections::BTreeMap<u32, dossier_core::credential::Credential>,
    rng: &mut R,
) -> Result<Vec<RoundWitness>, RoundError> {
    use ark_ff::UniformRand;
    round.check()?;
    rules.check()?;
    let training = rules.training_or_none();
    let (issuer_id, unit) = (round.issuer_id()?, round.unit_hash()?);
    let expect = Expected {
        schema_id,
        issuer_id,
        year: Fr::from(round.year),
        unit,
    };
    let windows: Vec<u32> = round.windows().collect();
    let bound = rules.quota.bound(round.count);
    let floor = training.floor(round.count);
    let mut tally = Tally::default();
    let mut blind = Fr::zero();
    let mut acc = dossier_core::round::accumulator_start();
    let mut out = Vec::with_capacity(windows.len());
    for (i, &window) in windows.iter().enumerate() {
        let tally_in = tally;
        let mut leaves = Vec::with_capacity(WINDOW as usize);
        for s in 0..WINDOW {
            let id = window * WINDOW + s;
            let leaf = node(0, id);
            if !round.contains(id) {
                leaves.push(LeafWitness {
                    leaf,
                    ..LeafWitness::default()
                });
                continue;
            }
            let (opened, grade, hours) = open_leaf(id, leaf, &expect, openings)?;
            tally.grades[grade] += 1;
            tally.trained += u32::from(hours >= training.hours);
            leaves.push(opened);
        }
        let last = i + 1 == windows.len();
        if last && tally.grades[dossier_core::round::EXCELLENT] > bound {
            return Err(RoundError::OverQuota {
                percent: rules.quota.percent,
            });
        }
        if last && tally.trained < floor {
            return Err(RoundError::UnderTraining {
                percent: training.percent,
                hours: training.hours,
            });
        }
        let disclose_trained = last && disclose && rules.training.is_some();
        let siblings = (WINDOW_HEIGHT..REGISTRY_DEPTH)
            .map(|level| node(level as u8, (window >> (level - WINDOW_HEIGHT)) ^ 1))
            .collect();
        let blind_out = Fr::rand(rng);
        let acc_out = dossier_core::round::accumulator(tally, blind_out);
        out.push(RoundWitness {
            public: WindowPublic {
                root,
                issuer_id,
                schema_id,
                unit,
                year: round.year,
                first: round.first,
                count: round.count,
                window,
                acc_in: acc,
                acc_out,
                last,
                bound,
                disclose: last && disclose,
                counts: if last && disclose {
                    tally.grades
                } else {
                    [0; GRADES]
                },
                hours: training.hours,
                floor,
                disclose_trained,
                trained: if disclose_trained { tally.trained } else { 0 },
            },
            leaves,
            siblings,
            tally_in,
            blind_in: blind,
            blind_out,
        });
        blind = blind_out;
        acc = acc_out;
    }
    Ok(out)
}

/// What every credential of a round must be: an appraisal of its issuer, year and unit.
struct Expected {
    schema_id: Fr,
    issuer_id: Fr,
    year: Fr,
    unit: Fr,
}

/// A leaf inside the round, opened: its credential must be the registry's leaf and an
/// appraisal of the round. Returns the leaf's witness, its grade and its training hours.
fn open_leaf(
    id: u32,
    leaf: Fr,
    expect: &Expected,
    openings: &std::collections::BTreeMap<u32, dossier_core::credential::Credential>,
) -> Result<(LeafWitness, usize, u32), RoundError> {
    let c = openings.get(&id).ok_or(RoundError::NoOpening { id })?;
    if c.credential_id != id || c.commitment() != leaf {
        return Err(RoundError::NotTheLeaf { id });
    }
    let of_round = c.schema_id == expect.schema_id
        && c.issuer_id == expect.issuer_id
        && c.slots[YEAR_SLOT] == expect.year
        && c.slots[UNIT_SLOT] == expect.unit;
    let grade = grade_of(&c.slots[GRADE_SLOT])
        .filter(|_| of_round)
        .ok_or(RoundError::NotOfTheRound { id })?;
    let hours = hours_of(&c.slots[TRAINING_SLOT]).ok_or(RoundError::NotOfTheRound { id })?;
    let opened = LeafWitness {
        leaf,
        holder: c.holder,
        validity: c.validity(),
        salt: c.salt,
        slots: c.slots,
    };
    Ok((opened, grade, hours))
}

/// A grade slot's index, if it is one of the four grades.
fn grade_of(slot: &Fr) -> Option<usize> {
    (0..GRADES).find(|g| *slot == Fr::from(*g as u64))
}

/// A training-hours slot's value, if the circuit can compare it (below `2^TRAINING_BITS`).
fn hours_of(slot: &Fr) -> Option<u32> {
    use ark_ff::PrimeField;
    let value = slot.into_bigint();
    let [low, rest @ ..] = value.0;
    (rest.iter().all(|l| *l == 0) && low < 1 << TRAINING_BITS).then_some(low as u32)
}

/// The window circuit.
#[derive(Clone, Debug)]
pub struct RoundCircuit {
    /// Its inputs.
    pub witness: RoundWitness,
}

/// The public inputs as circuit variables.
struct Public {
    root: FpVar<Fr>,
    issuer_id: FpVar<Fr>,
    schema_id: FpVar<Fr>,
    unit: FpVar<Fr>,
    year: FpVar<Fr>,
    first: FpVar<Fr>,
    count: FpVar<Fr>,
    window: FpVar<Fr>,
    acc_in: FpVar<Fr>,
    acc_out: FpVar<Fr>,
    last: FpVar<Fr>,
    bound: FpVar<Fr>,
    disclose: FpVar<Fr>,
    counts: Vec<FpVar<Fr>>,
    hours: FpVar<Fr>,
    floor: FpVar<Fr>,
    disclose_trained: FpVar<Fr>,
    trained: FpVar<Fr>,
}

fn input(cs: &ConstraintSystemRef<Fr>, v: Fr) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_input(cs.clone(), || Ok(v))
}

fn witness(cs: &ConstraintSystemRef<Fr>, v: Fr) -> Result<FpVar<Fr>, SynthesisError> {
    FpVar::new_witness(cs.clone(), || Ok(v))
}

fn enforce_boolean(x: &FpVar<Fr>) -> Result<(), SynthesisError> {
    x.mul_equals(&(x - Fr::from(1u64)), &FpVar::zero())
}

impl Public {
    /// Allocates the inputs in `WindowPublic::to_inputs` order.
    fn alloc(cs: &ConstraintSystemRef<Fr>, p: &WindowPublic) -> Result<Public, SynthesisError> {
        let v = p.to_inputs();
        let mut it = v.into_iter();
        let mut next = || input(cs, it.next().unwrap_or_default());
        Ok(Public {
            root: next()?,
            issuer_id: next()?,
            schema_id: next()?,
            unit: next()?,
            year: next()?,
            first: next()?,
            count: next()?,
            window: next()?,
            acc_in: next()?,
            acc_out: next()?,
            last: next()?,
            bound: next()?,
            disclose: next()?,
            counts: (0..GRADES).map(|_| next()).collect::<Result<_, _>>()?,
            hours: next()?,
            floor: next()?,
            disclose_trained: next()?,
            trained: next()?,
        })
    }
}

/// Whether `id` lies in `first .. first + count`, given `id, first < 2^32` and `count < 2^13`:
/// `id - first + 2^32` has bit 32 set iff `id >= first`, and `first + count - 1 - id + 2^32`
/// (below `2^33 + 2^13`) is at least `2^32` iff `id < first + count`.
pub fn in_range(
    id: &FpVar<Fr>,
    first: &FpVar<Fr>,
    count: &FpVar<Fr>,
) -> Result<FpVar<Fr>, SynthesisError> {
    let two32 = Fr::from(1u64 << 32);
    let ge = bits::to_bits(&(id - first + two32), 33)?;
    let lt = bits::to_bits(&(first + count - Fr::from(1u64) - id + two32), 34)?;
    let ge = FpVar::from(ge[32].clone());
    let lt = FpVar::from(lt[32].clone()) + FpVar::from(lt[33].clone());
    Ok(ge * lt)
}

/// What one leaf adds to the tally: its grade, one-hot, and whether it met the training
/// hours (all zero outside the round).
struct Counted {
    grade_bits: Vec<FpVar<Fr>>,
    trained: FpVar<Fr>,
}

/// One leaf: its in-round flag, its opening, its grade and its training. Returns the leaf
/// variable and what it adds to the tally.
fn leaf(
    cs: &ConstraintSystemRef<Fr>,
    p: &Public,
    id: &FpVar<Fr>,
    w: &LeafWitness,
) -> Result<(FpVar<Fr>, Counted), SynthesisError> {
    let inside = in_range(id, &p.first, &p.count)?;
    let leaf = witness(cs, w.leaf)?;
    let holder = witness(cs, w.holder)?;
    let validity = witness(cs, w.validity)?;
    let salt = witness(cs, w.salt)?;
    let slots = w
        .slots
        .iter()
        .map(|s| witness(cs, *s))
        .collect::<Result<Vec<_>, _>>()?;
    let mut inputs = vec![
        p.schema_id.clone(),
        p.issuer_id.clone(),
        holder,
        validity,
        salt,
    ];
    inputs.extend(slots.iter().cloned());
    let commitment = poseidon::hash(&inputs)?;
    // Inside the round: the leaf is this appraisal's commitment, of this year and unit.
    inside.mul_equals(&(&leaf - &commitment), &FpVar::zero())?;
    inside.mul_equals(&(&slots[YEAR_SLOT] - &p.year), &FpVar::zero())?;
    inside.mul_equals(&(&slots[UNIT_SLOT] - &p.unit), &FpVar::zero())?;
    // The grade, one-hot: one bit set inside, none outside, and the set bit's index the grade.
    let grade_bits = (0..GRADES)
        .map(|g| {
            let bit = inside
                .value()
                .ok()
                .map(|i| i == Fr::from(1u64) && w.slots[GRADE_SLOT] == Fr::from(g as u64));
            Boolean::new_witness(cs.clone(), || bit.ok_or(SynthesisError::AssignmentMissing))
                .map(FpVar::from)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let sum = grade_bits.iter().fold(FpVar::zero(), |a, b| a + b);
    sum.enforce_equal(&inside)?;
    let weighted = grade_bits
        .iter()
        .enumerate()
        .fold(FpVar::zero(), |a, (g, b)| a + b * Fr::from(g as u64));
    inside.mul_equals(&slots[GRADE_SLOT], &weighted)?;
    let trained = &inside * met_hours(&(&inside * &slots[TRAINING_SLOT]), &p.hours)?;
    Ok((
        leaf,
        Counted {
            grade_bits,
            trained,
        },
    ))
}

/// Whether `hours >= required`, both below `2^TRAINING_BITS` (`hours` is range-checked here,
/// `required` once per window): `hours - required + 2^14` lies in `[1, 2^15)` and has bit 14
/// set iff `hours >= required`.
pub fn met_hours(hours: &FpVar<Fr>, required: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    bits::enforce_range(hours, TRAINING_BITS)?;
    let offset = Fr::from(1u64 << TRAINING_BITS);
    let diff = bits::to_bits(&(hours - required + offset), TRAINING_BITS + 1)?;
    Ok(FpVar::from(diff[TRAINING_BITS].clone()))
}

/// The window's subtree root from its leaves.
fn subtree(mut level: Vec<FpVar<Fr>>) -> Result<FpVar<Fr>, SynthesisError> {
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(poseidon::hash)
            .collect::<Result<_, _>>()?;
    }
    level.pop().ok_or(SynthesisError::Unsatisfiable)
}

impl ConstraintSynthesizer<Fr> for RoundCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let w = &self.witness;
        if w.leaves.len() != WINDOW as usize || w.siblings.len() != PATH {
            return Err(SynthesisError::Unsatisfiable);
        }
        let p = Public::alloc(&cs, &w.public)?;
        for flag in [&p.last, &p.disclose, &p.disclose_trained] {
            enforce_boolean(flag)?;
        }
        // Ranges that make the in-round and training comparisons exact.
        bits::enforce_range(&p.first, 32)?;
        bits::enforce_range(&p.count, 13)?;
        bits::enforce_range(&p.hours, TRAINING_BITS)?;
        let window_bits = bits::to_bits(&p.window, PATH)?;

        // The leaves, their openings and the tally: grade counts, then the trained count.
        let base = &p.window * Fr::from(u64::from(WINDOW));
        let mut leaves = Vec::with_capacity(WINDOW as usize);
        let tally_in = w.tally_in;
        let mut counts: Vec<FpVar<Fr>> = tally_in
            .grades
            .iter()
            .chain([&tally_in.trained])
            .map(|c| witness(&cs, Fr::from(*c)))
            .collect::<Result<_, _>>()?;
        let counts_in = counts.clone();
        for (s, lw) in w.leaves.iter().enumerate() {
            let id = &base + Fr::from(s as u64);
            let (leaf, counted) = leaf(&cs, &p, &id, lw)?;
            for (c, b) in counts
                .iter_mut()
                .zip(counted.grade_bits.iter().chain([&counted.trained]))
            {
                *c += b;
            }
            leaves.push(leaf);
        }
        let trained = &counts[GRADES];

        // The window's subtree and its path to the registry root.
        let siblings = w
            .siblings
            .iter()
            .map(|s| witness(&cs, *s))
            .collect::<Result<Vec<_>, _>>()?;
        merkle::root(&subtree(leaves)?, &window_bits, &siblings)?.enforce_equal(&p.root)?;

        // The tallies in and out, committed.
        let commit = |counts: &[FpVar<Fr>], blind: Fr| -> Result<FpVar<Fr>, SynthesisError> {
            let mut inputs = counts.to_vec();
            inputs.push(witness(&cs, blind)?);
            poseidon::hash(&inputs)
        };
        commit(&counts_in, w.blind_in)?.enforce_equal(&p.acc_in)?;
        commit(&counts, w.blind_out)?.enforce_equal(&p.acc_out)?;

        // The last window: excellent <= bound and trained >= floor, i.e. last * (bound -
        // excellent) < 2^32 and last * (trained - floor) < 2^32.
        let excellent = &counts[dossier_core::round::EXCELLENT];
        bits::enforce_range(&(&p.last * (&p.bound - excellent)), 32)?;
        bits::enforce_range(&(&p.last * (trained - &p.floor)), 32)?;
        // Disclosure: only in the last window; disclosed counts are the counts, else zeros.
        for flag in [&p.disclose, &p.disclose_trained] {
            flag.mul_equals(&(FpVar::one() - &p.last), &FpVar::zero())?;
        }
        for (flag, shown, counted) in p
            .counts
            .iter()
            .zip(&counts)
            .map(|(shown, c)| (&p.disclose, shown, c))
            .chain([(&p.disclose_trained, &p.trained, trained)])
        {
            flag.mul_equals(&(shown - counted), &FpVar::zero())?;
            (FpVar::one() - flag).mul_equals(shown, &FpVar::zero())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_relations::gr1cs::ConstraintSystem;

    fn check(id: u64, first: u64, count: u64) -> bool {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = |x: u64| FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).expect("alloc");
        let r = in_range(&v(id), &v(first), &v(count)).expect("synthesis");
        assert!(cs.is_satisfied().expect("checks"));
        r.value().expect("value") == Fr::from(1u64)
    }

    fn met(hours: u64, required: u64) -> Option<bool> {
        let cs = ConstraintSystem::<Fr>::new_ref();
        let v = |x: u64| FpVar::new_witness(cs.clone(), || Ok(Fr::from(x))).expect("alloc");
        let m = met_hours(&v(hours), &v(required)).expect("synthesis");
        cs.is_satisfied()
            .expect("checks")
            .then(|| m.value().expect("value") == Fr::from(1u64))
    }

    #[test]
    fn met_hours_at_its_boundaries() {
        let top = (1u64 << TRAINING_BITS) - 1;
        assert_eq!(met(90, 90), Some(true));
        assert_eq!(met(89, 90), Some(false));
        assert_eq!(met(91, 90), Some(true));
        assert_eq!(met(0, 0), Some(true));
        assert_eq!(met(0, 1), Some(false));
        assert_eq!(met(top, top), Some(true));
        assert_eq!(met(top, 0), Some(true));
        assert_eq!(met(0, top), Some(false));
        assert_eq!(met(top + 1, 0), None, "hours one past the range");
    }

    #[test]
    fn in_range_at_its_boundaries() {
        let max = u64::from(u32::MAX);
        assert!(check(5, 5, 1));
        assert!(!check(4, 5, 1));
        assert!(!check(6, 5, 1));
        assert!(check(0, 0, 4096));
        assert!(check(4095, 0, 4096));
        assert!(!check(4096, 0, 4096));
        assert!(check(max, max, 1));
        assert!(!check(max - 1, max, 1));
        assert!(!check(0, max, 4096), "no wrap past the last id");
        assert!(check(max, max - 4095, 4096));
        assert!(!check(max, 0, 4096));
    }
}
