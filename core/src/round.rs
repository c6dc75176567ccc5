//! Appraisal rounds: a unit's appraisals of one year, declared on the ledger by the HR office,
//! and the zero-knowledge proof that the round keeps its quota ("excellent" for at most a share
//! of the unit) without showing anybody's grade.
//!
//! A [`Round`] names a contiguous range of credential ids in the HR office's registry (the
//! batch it issued for the unit and year). The proof covers the range in aligned **windows** of
//! [`WINDOW`] leaves: each window is one Groth16 proof of the same circuit, which recomputes the
//! window's subtree from its 64 leaves, opens every leaf inside the range as an `appraisal`
//! credential of this issuer, unit and year, counts its grades, and proves the subtree's path
//! to the registry root of a signed checkpoint. Leaves of the window outside the range are only
//! hashed (they are other credentials of the registry, or empty). The grade counts travel from
//! window to window inside a hiding commitment ([`accumulator`]): the first window starts from
//! [`accumulator_start`], each window's output is the next one's input, and the last window
//! proves `excellent <= bound` with `bound = floor(count * percent / 100)` computed by the
//! verifier ([`Quota::bound`]). So one circuit with one setup serves rounds of any size up to
//! [`MAX_ROUND`], and the regulator learns the unit, the year, the size and that the rule holds.
//!
//! The same windows answer a second aggregate question: the share of the unit that met its
//! training hours. Each appraisal records the hours of training completed in the year
//! (`training_hours`); the circuit counts the appraisals with at least [`Training::hours`] of
//! them alongside the grades, and the last window proves that at least [`Training::percent`]
//! per cent of the round did ([`Training::floor`], rounded up).
//!
//! On request the last window also discloses the four grade counts (a unit's distribution) and
//! the number that met the training hours, but only for rounds of at least [`MIN_DISCLOSURE`]
//! appraisals: below that, a histogram would single out people, and every verifier refuses it.
//!
//! Hiding an appraisal outside the declared range: every `appraisal` credential an issuer issues
//! or updates must lie inside one of its declared rounds, which the store refuses otherwise at
//! declaration time and the audit flags ([`crate::entry::EntryBody::RoundDeclared`]); an
//! appraisal of the unit placed in another unit's round cannot be proven in that round (the
//! circuit checks every leaf's unit and year), and a second round for the same unit and year is
//! refused. See `docs/appraisal.md`.

use crate::{encoding, field, poseidon, CoreError, Fr};
use ark_ff::Zero;
use serde::{Deserialize, Serialize};

/// The format tag of round proofs.
pub const ROUND_PROOF_FORMAT: &str = "dossier-round-proof/v1";
/// The height of a window's subtree.
pub const WINDOW_HEIGHT: usize = 6;
/// The leaves in a window (one proof each).
pub const WINDOW: u32 = 1 << WINDOW_HEIGHT;
/// The most appraisals in one round (a larger unit declares sub-units).
pub const MAX_ROUND: u32 = 4096;
/// The smallest round whose grade distribution may be disclosed.
pub const MIN_DISCLOSURE: u32 = 10;
/// The longest unit code.
pub const MAX_UNIT: usize = 64;
/// The grade counted against the quota (index in the appraisal schema's `grade` members).
pub const EXCELLENT: usize = 3;
/// The number of grades.
pub const GRADES: usize = 4;
/// The `appraisal` schema's slots the circuit reads (checked against the schema by a test).
pub const YEAR_SLOT: usize = 0;
/// The grade's slot.
pub const GRADE_SLOT: usize = 1;
/// The unit's slot.
pub const UNIT_SLOT: usize = 3;
/// The training hours' slot.
pub const TRAINING_SLOT: usize = 4;
/// The most training hours an appraisal records (the hours of a leap year; the schema's `max`).
pub const MAX_TRAINING_HOURS: u32 = 8784;
/// The bits the circuit compares training hours in (`MAX_TRAINING_HOURS < 2^14`).
pub const TRAINING_BITS: usize = 14;
const _: () = assert!(MAX_TRAINING_HOURS < 1 << TRAINING_BITS);

/// The public inputs of one window's proof ([`WindowPublic::to_inputs`]).
pub const PUBLIC_INPUTS: usize = 21;

/// A declared round: the HR office's appraisals of one unit and year, credential ids
/// `first .. first + count`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Round {
    /// The HR office (issuer name).
    pub issuer: String,
    /// The unit's code (the appraisal's `unit` field).
    pub unit: String,
    /// The appraisal year.
    pub year: u32,
    /// The first credential id of the round.
    pub first: u32,
    /// How many appraisals.
    pub count: u32,
}

impl Round {
    /// Refuses an empty or oversized round, one running past the last id, or an unusable unit.
    pub fn check(&self) -> Result<(), CoreError> {
        let bad = |field: &str, reason: &str| CoreError::Value {
            field: field.into(),
            reason: reason.into(),
        };
        if self.count == 0 || self.count > MAX_ROUND {
            return Err(bad("count", &format!("must be 1 to {MAX_ROUND}")));
        }
        if ids(self.first, self.count).end > 1 << 32 {
            return Err(bad("first", "the round runs past the last credential id"));
        }
        if self.unit.is_empty() || self.unit.len() > MAX_UNIT {
            return Err(bad("unit", &format!("must be 1 to {MAX_UNIT} bytes")));
        }
        crate::issuer_id(&self.issuer)?;
        Ok(())
    }

    /// The issuer's id.
    pub fn issuer_id(&self) -> Result<Fr, CoreError> {
        crate::issuer_id(&self.issuer)
    }

    /// The unit as the appraisal's `unit` slot encodes it.
    pub fn unit_hash(&self) -> Result<Fr, CoreError> {
        encoding::string_hash(&self.unit).map_err(|reason| CoreError::Value {
            field: "unit".into(),
            reason,
        })
    }

    /// The round's id on the ledger ([`round_id`]).
    pub fn id(&self) -> Result<Fr, CoreError> {
        round_id(
            self.issuer_id()?,
            self.unit_hash()?,
            self.year,
            self.first,
            self.count,
        )
    }

    /// The round's `RoundDeclared` ledger entry body: what the HR office signs when it
    /// declares the round, and what a verifier expects the proof's declaration to be.
    pub fn declared_entry(&self) -> Result<crate::entry::EntryBody, CoreError> {
        Ok(crate::entry::EntryBody::RoundDeclared {
            issuer_id: self.issuer_id()?,
            round_id: self.id()?,
            unit: self.unit_hash()?,
            year: self.year,
            first: self.first,
            count: self.count,
        })
    }

    /// Whether a credential id lies in the round.
    pub fn contains(&self, credential_id: u32) -> bool {
        ids(self.first, self.count).contains(&u64::from(credential_id))
    }

    /// Whether two rounds share a credential id.
    pub fn overlaps(&self, other: &Round) -> bool {
        ranges_overlap(&ids(self.first, self.count), &ids(other.first, other.count))
    }

    /// The windows covering the round, in order (window `w` holds ids `64w .. 64w + 64`).
    pub fn windows(&self) -> std::ops::RangeInclusive<u32> {
        let last = (u64::from(self.first) + u64::from(self.count.max(1)) - 1) >> WINDOW_HEIGHT;
        (self.first >> WINDOW_HEIGHT)..=(last as u32)
    }
}

/// The credential ids `first .. first + count` of a round, in 64 bits (the end may be 2^32).
pub fn ids(first: u32, count: u32) -> std::ops::Range<u64> {
    u64::from(first)..u64::from(first) + u64::from(count)
}

/// Whether two ranges of ids share one.
pub fn ranges_overlap(a: &std::ops::Range<u64>, b: &std::ops::Range<u64>) -> bool {
    a.start < b.end && b.start < a.end
}

/// A round's id from its ledger fields: `Poseidon(issuer id, unit hash, year, first, count)`.
pub fn round_id(
    issuer_id: Fr,
    unit: Fr,
    year: u32,
    first: u32,
    count: u32,
) -> Result<Fr, CoreError> {
    poseidon::hash(&[
        issuer_id,
        unit,
        Fr::from(year),
        Fr::from(first),
        Fr::from(count),
    ])
}

/// The rule proven of a round: at most `percent` per cent of it graded "excellent", rounded
/// down (20% of 12 appraisals allows 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quota {
    /// The share allowed, 0 to 100.
    pub percent: u8,
}

impl Quota {
    /// Refuses a share above 100%.
    pub fn check(&self) -> Result<(), CoreError> {
        if self.percent > 100 {
            return Err(CoreError::Value {
                field: "quota".into(),
                reason: "a percentage from 0 to 100".into(),
            });
        }
        Ok(())
    }

    /// The most "excellent" grades a round of `count` may have: `floor(count * percent / 100)`.
    pub fn bound(&self, count: u32) -> u32 {
        (u64::from(count) * u64::from(self.percent) / 100) as u32
    }
}

/// The training rule proven of a round: at least `percent` per cent of it recorded at least
/// `hours` hours of training in the year, rounded up (90% of 12 appraisals needs 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The hours each appraisee should have completed, 0 to [`MAX_TRAINING_HOURS`].
    pub hours: u32,
    /// The share of the round that must have, 0 to 100.
    pub percent: u8,
}

impl Training {
    /// What a round proof without a training rule proves: nothing (every appraisal meets zero
    /// hours, and none is required to).
    pub const NONE: Training = Training {
        hours: 0,
        percent: 0,
    };

    /// Refuses hours past a leap year's or a share above 100%.
    pub fn check(&self) -> Result<(), CoreError> {
        let bad = |field: &str, reason: String| CoreError::Value {
            field: field.into(),
            reason,
        };
        if self.hours > MAX_TRAINING_HOURS {
            return Err(bad(
                "training.hours",
                format!("at most {MAX_TRAINING_HOURS}"),
            ));
        }
        if self.percent > 100 {
            return Err(bad("training.percent", "a percentage from 0 to 100".into()));
        }
        Ok(())
    }

    /// The fewest appraisals of a round of `count` that must meet the hours:
    /// `ceil(count * percent / 100)`.
    pub fn floor(&self, count: u32) -> u32 {
        (u64::from(count) * u64::from(self.percent)).div_ceil(100) as u32
    }
}

/// The rules one round proof proves: the quota, and a training rule if one is asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// The "excellent" quota.
    pub quota: Quota,
    /// The training rule, if any.
    pub training: Option<Training>,
}

impl Rules {
    /// Refuses a malformed quota or training rule.
    pub fn check(&self) -> Result<(), CoreError> {
        self.quota.check()?;
        self.training.map_or(Ok(()), |t| t.check())
    }

    /// The training rule the circuit proves ([`Training::NONE`] if none is asked).
    pub fn training_or_none(&self) -> Training {
        self.training.unwrap_or(Training::NONE)
    }
}

/// What the windows count: the grades (lowest first) and the appraisals that met the training
/// hours.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Appraisals per grade.
    pub grades: [u32; GRADES],
    /// Appraisals with at least the rule's training hours.
    pub trained: u32,
}

/// The hiding commitment to the tally carried between windows:
/// `Poseidon(c0, c1, c2, c3, trained, blind)`.
pub fn accumulator(tally: Tally, blind: Fr) -> Fr {
    let [a, b, c, d] = tally.grades.map(Fr::from);
    match poseidon::hash(&[a, b, c, d, Fr::from(tally.trained), blind]) {
        Ok(h) => h,
        // Unreachable: six inputs is a supported arity.
        Err(e) => panic!("accumulator: {e}"),
    }
}

/// The first window's input: nothing counted yet, no blinding (so every verifier knows it).
pub fn accumulator_start() -> Fr {
    accumulator(Tally::default(), Fr::zero())
}

const _: () = assert!(MAX_TRAINING_HOURS < 1 << TRAINING_BITS);

/// The public inputs of one window's proof, in the one order the circuit and every verifier
/// use ([`WindowPublic::to_inputs`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowPublic {
    /// The issuer's registry root in the anchoring checkpoint.
    pub root: Fr,
    /// The issuer's id.
    pub issuer_id: Fr,
    /// The `appraisal` schema's id.
    pub schema_id: Fr,
    /// The unit's hash.
    pub unit: Fr,
    /// The year.
    pub year: u32,
    /// The round's first id.
    pub first: u32,
    /// The round's size.
    pub count: u32,
    /// The window's index.
    pub window: u32,
    /// The grade counts' commitment before this window.
    pub acc_in: Fr,
    /// ... and after it.
    pub acc_out: Fr,
    /// Whether this is the round's last window (where the quota and disclosure are proven).
    pub last: bool,
    /// The most "excellent" grades allowed (checked in the last window).
    pub bound: u32,
    /// Whether the last window discloses the counts.
    pub disclose: bool,
    /// The disclosed counts (zeros unless disclosed).
    pub counts: [u32; GRADES],
    /// The training hours counted as met ([`Training::hours`]).
    pub hours: u32,
    /// The fewest appraisals that must meet them (checked in the last window).
    pub floor: u32,
    /// Whether the last window discloses how many met them.
    pub disclose_trained: bool,
    /// How many met them (zero unless disclosed).
    pub trained: u32,
}

impl WindowPublic {
    /// The public inputs, in order: root, issuer id, schema id, unit, year, first, count,
    /// window, accumulator in, accumulator out, last, bound, disclose, counts (4), hours,
    /// floor, disclose trained, trained.
    pub fn to_inputs(&self) -> Vec<Fr> {
        let mut v = vec![
            self.root,
            self.issuer_id,
            self.schema_id,
            self.unit,
            Fr::from(self.year),
            Fr::from(self.first),
            Fr::from(self.count),
            Fr::from(self.window),
            self.acc_in,
            self.acc_out,
            Fr::from(u64::from(self.last)),
            Fr::from(self.bound),
            Fr::from(u64::from(self.disclose)),
        ];
        v.extend(self.counts.map(Fr::from));
        v.extend([
            Fr::from(self.hours),
            Fr::from(self.floor),
            Fr::from(u64::from(self.disclose_trained)),
            Fr::from(self.trained),
        ]);
        v
    }
}

/// One window's proof in a round proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowProof {
    /// The window's index.
    pub window: u32,
    /// The counts' commitment after this window (the input is the previous window's output).
    #[serde(with = "field::serde_hex")]
    pub acc_out: Fr,
    /// The Groth16 proof, compressed, base64.
    pub proof: String,
}

/// The most hashes in an inclusion proof (a tree of fewer than 2^64 entries).
pub const MAX_INCLUSION: usize = 64;
/// The longest base64 form of a `RoundDeclared` entry accepted (the entry has a fixed size,
/// 182 bytes).
pub const MAX_DECLARATION: usize = 512;

/// The round's `RoundDeclared` entry with its RFC 6962 inclusion proof in the anchoring
/// checkpoint's log: what lets a regulator check that the round proven is the round the HR
/// office declared, and not one of its own making.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declaration {
    /// The entry's index in the ledger.
    pub index: u64,
    /// The entry, base64.
    pub entry: String,
    /// Its inclusion proof in the checkpoint's tree, hex hashes.
    pub inclusion: Vec<String>,
}

impl Declaration {
    /// Makes one from the entry's bytes and its inclusion proof.
    pub fn new(index: u64, entry: &[u8], inclusion: &[[u8; 32]]) -> Declaration {
        use base64::Engine;
        Declaration {
            index,
            entry: base64::engine::general_purpose::STANDARD.encode(entry),
            inclusion: inclusion.iter().map(hex::encode).collect(),
        }
    }

    /// The entry's bytes and the proof's hashes, each bounded before it is decoded.
    pub fn decode(&self) -> Result<(Vec<u8>, Vec<[u8; 32]>), CoreError> {
        use base64::Engine;
        let bad = |reason: &str| CoreError::Malformed {
            what: "declaration".into(),
            reason: reason.into(),
        };
        if self.entry.len() > MAX_DECLARATION || self.inclusion.len() > MAX_INCLUSION {
            return Err(bad(
                "larger than a declaration and its inclusion proof can be",
            ));
        }
        let entry = base64::engine::general_purpose::STANDARD
            .decode(&self.entry)
            .map_err(|_| bad("the entry is not base64"))?;
        let hashes = self
            .inclusion
            .iter()
            .map(|h| {
                let mut out = [0u8; 32];
                hex::decode_to_slice(h, &mut out)
                    .map_err(|_| bad("a hash is not 32 bytes of hex"))?;
                Ok(out)
            })
            .collect::<Result<_, CoreError>>()?;
        Ok((entry, hashes))
    }
}

/// What the HR office hands the regulator: the round, its declaration on the ledger, the
/// checkpoint whose registry root the proofs open (and whose log holds the declaration), the
/// rule proven, the optional distribution and one proof per window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundProof {
    /// [`ROUND_PROOF_FORMAT`].
    pub format: String,
    /// The round, as declared on the ledger.
    pub round: Round,
    /// Its declaration, included in the checkpoint's log.
    pub declaration: Declaration,
    /// The signed checkpoint anchoring the registry root.
    pub checkpoint: String,
    /// The quota proven.
    pub quota: Quota,
    /// The grade counts (lowest grade first), disclosed only for rounds of at least
    /// [`MIN_DISCLOSURE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution: Option<[u32; GRADES]>,
    /// The training rule proven, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<Training>,
    /// How many appraisals met the training rule's hours, disclosed (with the distribution)
    /// only for rounds of at least [`MIN_DISCLOSURE`] with a training rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained: Option<u32>,
    /// One proof per window, in window order.
    pub windows: Vec<WindowProof>,
}

impl RoundProof {
    /// The public inputs of each window, rebuilt from the round, the rule and the chain of
    /// accumulators; refuses a proof whose form cannot be right whatever its proofs say
    /// (another format, windows missing, repeated, swapped or extra, a disclosure of a small
    /// round, a quota above 100%, a training share disclosed without a training rule).
    pub fn window_inputs(&self, root: Fr, schema_id: Fr) -> Result<Vec<WindowPublic>, CoreError> {
        let bad = |field: &str, reason: &str| CoreError::Malformed {
            what: field.into(),
            reason: reason.into(),
        };
        if self.format != ROUND_PROOF_FORMAT {
            return Err(bad("format", "not a dossier-round-proof/v1"));
        }
        self.round.check()?;
        let rules = self.rules();
        rules.check()?;
        let small = self.round.count < MIN_DISCLOSURE;
        for (field, disclosed) in [
            ("distribution", self.distribution.is_some()),
            ("trained", self.trained.is_some()),
        ] {
            if disclosed && small {
                return Err(bad(
                    field,
                    &format!("disclosed for a round of fewer than {MIN_DISCLOSURE} appraisals"),
                ));
            }
        }
        if self.trained.is_some() && self.training.is_none() {
            return Err(bad("trained", "disclosed without a training rule"));
        }
        let training = rules.training_or_none();
        let windows: Vec<u32> = self.round.windows().collect();
        if self.windows.len() != windows.len()
            || self
                .windows
                .iter()
                .zip(&windows)
                .any(|(p, w)| p.window != *w)
        {
            return Err(bad("windows", "not the round's windows in order"));
        }
        let (issuer_id, unit) = (self.round.issuer_id()?, self.round.unit_hash()?);
        let mut acc_in = accumulator_start();
        let n = windows.len();
        Ok(self
            .windows
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let last = i + 1 == n;
                let public = WindowPublic {
                    root,
                    issuer_id,
                    schema_id,
                    unit,
                    year: self.round.year,
                    first: self.round.first,
                    count: self.round.count,
                    window: p.window,
                    acc_in,
                    acc_out: p.acc_out,
                    last,
                    bound: self.bound(),
                    disclose: last && self.distribution.is_some(),
                    counts: match (last, self.distribution) {
                        (true, Some(d)) => d,
                        _ => [0; GRADES],
                    },
                    hours: training.hours,
                    floor: training.floor(self.round.count),
                    disclose_trained: last && self.trained.is_some(),
                    trained: self.trained.filter(|_| last).unwrap_or(0),
                };
                acc_in = p.acc_out;
                public
            })
            .collect())
    }

    /// The most "excellent" grades the proof's quota allows its round.
    pub fn bound(&self) -> u32 {
        self.quota.bound(self.round.count)
    }

    /// The fewest appraisals its training rule asks to have met the hours, if it has one.
    pub fn training_floor(&self) -> Option<u32> {
        self.training.map(|t| t.floor(self.round.count))
    }

    /// The rules the proof claims.
    pub fn rules(&self) -> Rules {
        Rules {
            quota: self.quota,
            training: self.training,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(first: u32, count: u32) -> Round {
        Round {
            issuer: "hr.tax-bureau".into(),
            unit: "tax-audit".into(),
            year: 2025,
            first,
            count,
        }
    }

    #[test]
    fn the_circuits_slots_are_the_appraisal_schemas() {
        let set = crate::schema::SchemaSet::builtin();
        let a = set.get("appraisal").expect("shipped");
        assert_eq!(a.slot_of("year"), Some(YEAR_SLOT));
        assert_eq!(a.slot_of("grade"), Some(GRADE_SLOT));
        assert_eq!(a.slot_of("unit"), Some(UNIT_SLOT));
        assert_eq!(a.slot_of("training_hours"), Some(TRAINING_SLOT));
        let hours = &a.fields[TRAINING_SLOT];
        assert_eq!(hours.max, Some(u64::from(MAX_TRAINING_HOURS)));
        assert_eq!(crate::ballot::GRADES[EXCELLENT], "excellent");
    }

    #[test]
    fn windows_cover_the_range_exactly() {
        assert_eq!(round(0, 1).windows(), 0..=0);
        assert_eq!(round(0, 64).windows(), 0..=0);
        assert_eq!(round(0, 65).windows(), 0..=1);
        assert_eq!(round(63, 2).windows(), 0..=1);
        assert_eq!(round(10, 200).windows(), 0..=3);
        assert_eq!(
            round(u32::MAX, 1).windows(),
            (u32::MAX >> 6)..=(u32::MAX >> 6)
        );
    }

    #[test]
    fn bounds_and_ids_are_checked() {
        assert!(round(0, 1).check().is_ok());
        assert!(round(0, MAX_ROUND).check().is_ok());
        assert!(round(0, 0).check().is_err());
        assert!(round(0, MAX_ROUND + 1).check().is_err());
        assert!(round(u32::MAX, 1).check().is_ok());
        assert!(round(u32::MAX, 2).check().is_err(), "one past the last id");
        let mut r = round(0, 1);
        r.unit = "x".repeat(MAX_UNIT + 1);
        assert!(r.check().is_err());
        r.unit = String::new();
        assert!(r.check().is_err());
        assert!(round(5, 10).contains(5) && round(5, 10).contains(14));
        assert!(!round(5, 10).contains(15) && !round(5, 10).contains(4));
        assert!(round(5, 10).overlaps(&round(14, 3)));
        assert!(!round(5, 10).overlaps(&round(15, 3)));
        assert_ne!(
            round(5, 10).id().expect("id"),
            round(5, 11).id().expect("id")
        );
    }

    #[test]
    fn a_declaration_is_bounded_before_it_is_decoded() {
        let d = Declaration::new(3, &[1, 2, 3], &[[7; 32], [9; 32]]);
        assert_eq!(
            d.decode().expect("decodes"),
            (vec![1, 2, 3], vec![[7; 32], [9; 32]])
        );
        let mut t = d.clone();
        t.entry = "A".repeat(MAX_DECLARATION + 1);
        assert!(t.decode().is_err());
        let mut t = d.clone();
        t.inclusion = vec![hex::encode([0u8; 32]); MAX_INCLUSION + 1];
        assert!(t.decode().is_err());
        let mut t = d.clone();
        t.inclusion[0].pop();
        assert!(t.decode().is_err(), "a short hash");
        let mut t = d;
        t.entry = "!".into();
        assert!(t.decode().is_err(), "not base64");
    }

    #[test]
    fn quota_rounds_down() {
        let q = |percent| Quota { percent };
        assert_eq!(q(20).bound(12), 2);
        assert_eq!(q(20).bound(10), 2);
        assert_eq!(q(20).bound(4), 0);
        assert_eq!(q(100).bound(MAX_ROUND), MAX_ROUND);
        assert_eq!(q(0).bound(200), 0);
        assert_eq!(q(15).bound(200), 30);
        assert!(q(101).check().is_err());
    }

    #[test]
    fn the_training_floor_rounds_up() {
        let t = |percent| Training { hours: 90, percent };
        assert_eq!(t(90).floor(12), 11);
        assert_eq!(t(90).floor(10), 9);
        assert_eq!(t(0).floor(200), 0);
        assert_eq!(t(100).floor(MAX_ROUND), MAX_ROUND);
        assert_eq!(t(1).floor(1), 1);
        assert!(t(100).check().is_ok() && t(101).check().is_err());
        let hours = |hours| Training { hours, percent: 50 };
        assert!(hours(MAX_TRAINING_HOURS).check().is_ok());
        assert!(hours(MAX_TRAINING_HOURS + 1).check().is_err());
        assert_eq!(Training::NONE.floor(MAX_ROUND), 0);
    }

    #[test]
    fn a_proof_must_list_the_rounds_windows_in_order() {
        let w = |window| WindowProof {
            window,
            acc_out: Fr::from(7u64),
            proof: String::new(),
        };
        let mut p = RoundProof {
            format: ROUND_PROOF_FORMAT.into(),
            round: round(60, 10),
            declaration: Declaration::new(0, &[], &[]),
            checkpoint: String::new(),
            quota: Quota { percent: 20 },
            distribution: None,
            training: None,
            trained: None,
            windows: vec![w(0), w(1)],
        };
        let inputs = p.window_inputs(Fr::from(1u64), Fr::from(2u64)).expect("ok");
        assert_eq!(inputs[0].acc_in, accumulator_start());
        assert_eq!(inputs[1].acc_in, Fr::from(7u64));
        assert!(!inputs[0].last && inputs[1].last);
        assert_eq!(inputs[1].bound, 2);
        assert_eq!(inputs[1].to_inputs().len(), PUBLIC_INPUTS);
        for windows in [
            vec![w(1), w(0)],
            vec![w(0)],
            vec![w(0), w(1), w(2)],
            vec![w(0), w(0)],
        ] {
            p.windows = windows;
            assert!(p.window_inputs(Fr::from(1u64), Fr::from(2u64)).is_err());
        }
        p.windows = vec![w(0), w(1)];
        p.distribution = Some([1, 2, 3, 4]);
        assert!(p.window_inputs(Fr::from(1u64), Fr::from(2u64)).is_ok());
        p.trained = Some(5);
        assert!(
            p.window_inputs(Fr::from(1u64), Fr::from(2u64)).is_err(),
            "a training share disclosed without a rule"
        );
        p.training = Some(Training {
            hours: 90,
            percent: 50,
        });
        let inputs = p.window_inputs(Fr::from(1u64), Fr::from(2u64)).expect("ok");
        assert_eq!((inputs[1].hours, inputs[1].floor), (90, 5));
        assert!(inputs[1].disclose_trained && !inputs[0].disclose_trained);
        assert_eq!((inputs[0].trained, inputs[1].trained), (0, 5));
        p.round.count = MIN_DISCLOSURE - 1;
        assert!(p.window_inputs(Fr::from(1u64), Fr::from(2u64)).is_err());
        p.distribution = None;
        assert!(
            p.window_inputs(Fr::from(1u64), Fr::from(2u64)).is_err(),
            "a training share disclosed for a small round"
        );
        p.trained = None;
        assert!(p.window_inputs(Fr::from(1u64), Fr::from(2u64)).is_ok());
    }
}
