//! Anonymous peer rating, the democratic part of the annual appraisal: colleagues of a unit
//! rate each appraisee, once each, and nobody — the HR office and the service included —
//! learns who rated what.
//!
//! A [`Ballot`] is published by the HR office: its unit, the appraisees, the choices (the four
//! appraisal grades or a score range), its opening and closing times, and its **roll**: a signed
//! checkpoint whose registry roots decide who may rate (holders of a live employment credential
//! of that unit from that HR office, as with any electoral roll fixed when the vote opens).
//! A [`Rating`] is an ordinary presentation of dossier's query circuit, with no new circuit or
//! setup: the query asks for an `employment` credential of the ballot's issuer with
//! `department $eq unit` and `status $in [probation, active]`; the nullifier's scope is
//! `ballot:<name>:<appraisee>`, so each colleague rates each appraisee at most once; and the
//! challenge is `Poseidon(tag, ballot id, appraisee hash, choice)`, so the choice is bound into
//! the proof and nobody can change it later (a changed choice asks for another challenge).
//! The [`Tally`] counts the choices of the accepted ratings; the ledger's `BallotTallied` entry
//! carries it with the hash of the archive of ratings ([`ratings_hash`]), and anyone
//! re-verifies every rating and recomputes the tally.

use crate::presentation::{Backend, Presentation, PresentationRequest};
use crate::query::Query;
use crate::{encoding, entry, poseidon, CoreError, Fr};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The format tag of ratings.
pub const RATING_FORMAT: &str = "dossier-rating/v1";
/// The appraisal grades, lowest first (the `appraisal` schema's `grade` members).
pub const GRADES: [&str; 4] = [
    "incompetent",
    "basically_competent",
    "competent",
    "excellent",
];
/// The longest ballot name.
pub const MAX_BALLOT_NAME: usize = 64;
/// The longest appraisee label.
pub const MAX_APPRAISEE: usize = 64;
/// The most ratings a ballot accepts.
pub const MAX_RATINGS: usize = 100_000;
/// The largest signed checkpoint a ballot carries as its roll: a checkpoint line per registry
/// (about 200 bytes) for the 10,000 registries an entry can list, with room for cosignatures.
pub const MAX_ROLL: usize = 4 << 20;

/// What raters choose from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Choices {
    /// The four appraisal grades ([`GRADES`]).
    Grades,
    /// A whole-number score from `min` to `max`, inclusive.
    Score {
        /// The lowest score.
        min: u16,
        /// The highest score.
        max: u16,
    },
}

impl Choices {
    /// How many choices there are.
    pub fn count(&self) -> usize {
        match self {
            Choices::Grades => GRADES.len(),
            Choices::Score { min, max } => usize::from(max.saturating_sub(*min)) + 1,
        }
    }

    /// The label of choice `index` (lowest first).
    pub fn label(&self, index: usize) -> String {
        match self {
            Choices::Grades => GRADES
                .get(index)
                .map_or_else(String::new, |g| g.to_string()),
            Choices::Score { min, .. } => (usize::from(*min) + index).to_string(),
        }
    }

    /// The index (lowest first) of a choice's label, refused without echoing it.
    pub fn index(&self, label: &str) -> Result<usize, CoreError> {
        let bad = || CoreError::Value {
            field: "choice".into(),
            reason: match self {
                Choices::Grades => "not one of the appraisal grades".into(),
                Choices::Score { min, max } => format!("not a whole score from {min} to {max}"),
            },
        };
        match self {
            Choices::Grades => GRADES.iter().position(|g| *g == label).ok_or_else(bad),
            Choices::Score { min, max } => {
                // Canonical decimal only: "087" or "+87" would be a second spelling.
                if label.is_empty()
                    || label.len() > 5
                    || !label.bytes().all(|b| b.is_ascii_digit())
                    || (label.len() > 1 && label.starts_with('0'))
                {
                    return Err(bad());
                }
                let v: u16 = label.parse().map_err(|_| bad())?;
                if v < *min || v > *max {
                    return Err(bad());
                }
                Ok(usize::from(v - min))
            }
        }
    }
}

/// A ballot of anonymous peer rating, as the HR office publishes it (its SHA-256, over this
/// JSON's canonical form, is on the ledger).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ballot {
    /// Its name, e.g. `appraisal-2025.tax-bureau.unit-3`: 1 to 64 of `A-Z a-z 0-9 . _ : -`.
    pub name: String,
    /// The HR office: the issuer of the raters' employment credentials, which opens and tallies.
    pub issuer: String,
    /// The unit whose members rate: the `department` of their employment credential.
    pub unit: String,
    /// Who is rated, by a label the unit knows them by (a staff code), distinct.
    pub appraisees: Vec<String>,
    /// What raters choose from.
    pub choices: Choices,
    /// Ratings are accepted from this time (unix seconds) ...
    pub opens: u64,
    /// ... until this one (excluded); the tally is published from then on.
    pub closes: u64,
    /// The day credentials' validity is judged on, `YYYY-MM-DD` (the opening day).
    pub day: String,
    /// The roll: the signed checkpoint whose registry roots every rating is proven against.
    pub roll: String,
    /// The proof system ratings use (`groth16` by default, omitted from the JSON).
    #[serde(default, skip_serializing_if = "Backend::is_groth16")]
    pub backend: Backend,
}

fn invalid(field: &str, reason: impl Into<String>) -> CoreError {
    CoreError::Value {
        field: field.into(),
        reason: reason.into(),
    }
}

fn printable(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && !s.chars().any(char::is_control)
}

impl Ballot {
    /// Checks every bound: names and labels, 1 to [`entry::MAX_APPRAISEES`] distinct appraisees,
    /// 2 to [`entry::MAX_CHOICES`] choices, opening before closing, a valid day and a roll of
    /// at most [`MAX_ROLL`] bytes.
    pub fn check(&self) -> Result<(), CoreError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= MAX_BALLOT_NAME
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-_:".contains(&b));
        if !name_ok {
            return Err(invalid("name", "1 to 64 characters of A-Z a-z 0-9 . _ : -"));
        }
        if !printable(&self.issuer, 100) {
            return Err(invalid("issuer", "1 to 100 bytes of printable text"));
        }
        if !printable(&self.unit, 100) {
            return Err(invalid("unit", "1 to 100 bytes of printable text"));
        }
        let n = self.appraisees.len();
        if n == 0 || n > entry::MAX_APPRAISEES {
            return Err(invalid("appraisees", "1 to 256 appraisees"));
        }
        if self.appraisees.iter().any(|a| !printable(a, MAX_APPRAISEE)) {
            return Err(invalid(
                "appraisees",
                "each label is 1 to 64 bytes of printable text",
            ));
        }
        let mut sorted: Vec<&String> = self.appraisees.iter().collect();
        sorted.sort();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(invalid("appraisees", "an appraisee is named twice"));
        }
        if let Choices::Score { min, max } = self.choices {
            if max <= min {
                return Err(invalid("choices", "a score range's max is above its min"));
            }
        }
        if self.choices.count() > entry::MAX_CHOICES {
            return Err(invalid("choices", "at most 101 choices"));
        }
        if self.closes <= self.opens {
            return Err(invalid("closes", "a ballot closes after it opens"));
        }
        encoding::date_to_days(&self.day).map_err(|reason| invalid("day", reason))?;
        if self.roll.is_empty() || self.roll.len() > MAX_ROLL {
            return Err(invalid("roll", "a signed checkpoint of at most 4 MiB"));
        }
        Ok(())
    }

    /// The ballot's id on the ledger: the string hash of its name.
    pub fn id(&self) -> Result<Fr, CoreError> {
        ballot_id(&self.name)
    }

    /// SHA-256 of the definition's canonical JSON (fields in declaration order, no spaces),
    /// domain-separated: what the `BallotOpened` entry commits to.
    pub fn definition_hash(&self) -> Result<[u8; 32], CoreError> {
        let json = serde_json::to_vec(self).map_err(|e| invalid("ballot", e.to_string()))?;
        Ok(Sha256::new()
            .chain_update(b"dossier/ballot/v1\n")
            .chain_update(&json)
            .finalize()
            .into())
    }

    /// The position of an appraisee in the ballot, refused without echoing the label.
    pub fn appraisee_index(&self, appraisee: &str) -> Result<usize, CoreError> {
        self.appraisees
            .iter()
            .position(|a| a == appraisee)
            .ok_or_else(|| invalid("appraisee", "not one of the ballot's appraisees"))
    }

    /// What each rating proves: an `employment` credential from the ballot's HR office, of the
    /// ballot's unit, on probation or active.
    pub fn query(&self) -> Query {
        use crate::query::CredentialQuery;
        use serde_json::Value;
        let mut predicates = std::collections::BTreeMap::new();
        predicates.insert(
            "department".to_string(),
            [("$eq".to_string(), Value::String(self.unit.clone()))].into(),
        );
        predicates.insert(
            "status".to_string(),
            [(
                "$in".to_string(),
                Value::Array(vec!["probation".into(), "active".into()]),
            )]
            .into(),
        );
        Query {
            credentials: vec![CredentialQuery {
                schema: "employment".into(),
                issuers: vec![self.issuer.clone()],
                accredited: false,
                predicates,
                reveal: Vec::new(),
            }],
            sum: None,
        }
    }

    /// The nullifier scope of ratings of one appraisee: one rating per colleague.
    pub fn scope(&self, appraisee: &str) -> String {
        format!("ballot:{}:{}", self.name, appraisee)
    }

    /// The challenge a rating of `appraisee` with choice `index` is bound to.
    pub fn challenge(&self, appraisee: &str, index: usize) -> Result<Fr, CoreError> {
        let tag = encoding::string_hash("dossier/rating/v1").map_err(|r| invalid("tag", r))?;
        let who = encoding::string_hash(appraisee).map_err(|r| invalid("appraisee", r))?;
        poseidon::hash(&[tag, self.id()?, who, Fr::from(index as u64)])
    }

    /// The presentation request a rating answers: everything but the proof is fixed by the
    /// ballot, the appraisee and the choice, so the rater and every re-verifier derive the same
    /// one. Freshness does not apply (the roll is fixed), so its window is 0 and verification
    /// takes place at the roll's time.
    pub fn request(&self, appraisee: &str, choice: &str) -> Result<PresentationRequest, CoreError> {
        self.appraisee_index(appraisee)?;
        let index = self.choices.index(choice)?;
        let request = PresentationRequest {
            query: self.query(),
            challenge: self.challenge(appraisee, index)?,
            scope: self.scope(appraisee),
            today: self.day.clone(),
            max_checkpoint_age_seconds: 0,
            backend: self.backend,
            purpose: None,
            legal_basis: None,
            audience: None,
        };
        request.scope_field()?;
        Ok(request)
    }
}

/// What an HR office decides when it opens a ballot; [`BallotDraft::with_roll`] makes the
/// ballot on the checkpoint that is its roll (the CLI, the service and the demo alike).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BallotDraft {
    /// The ballot's name.
    pub name: String,
    /// The HR office.
    pub issuer: String,
    /// The unit whose members rate.
    pub unit: String,
    /// Who is rated.
    pub appraisees: Vec<String>,
    /// What raters choose from.
    pub choices: Choices,
    /// Opening time (unix seconds).
    pub opens: u64,
    /// Closing time.
    pub closes: u64,
    /// The ratings' proof system.
    pub backend: Backend,
}

impl BallotDraft {
    /// The ballot on `roll`, credentials judged on its opening day.
    pub fn with_roll(self, roll: String) -> Ballot {
        Ballot {
            name: self.name,
            issuer: self.issuer,
            unit: self.unit,
            appraisees: self.appraisees,
            choices: self.choices,
            opens: self.opens,
            closes: self.closes,
            day: encoding::days_to_date(u32::try_from(self.opens / 86_400).unwrap_or(u32::MAX)),
            roll,
            backend: self.backend,
        }
    }
}

/// The id of a ballot by name.
pub fn ballot_id(name: &str) -> Result<Fr, CoreError> {
    encoding::string_hash(name).map_err(|r| invalid("name", r))
}

/// One colleague's rating of one appraisee: a presentation of the ballot's request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// Always [`RATING_FORMAT`].
    pub format: String,
    /// The ballot's name.
    pub ballot: String,
    /// Who is rated.
    pub appraisee: String,
    /// The choice's label (a grade's name, or the score in decimal).
    pub choice: String,
    /// The proof of the right to rate, bound to the choice.
    pub presentation: Presentation,
}

/// SHA-256 over the archive of accepted ratings, in acceptance order (each as its canonical
/// JSON, length-prefixed): what the `BallotTallied` entry commits to.
pub fn ratings_hash(ratings: &[Rating]) -> Result<[u8; 32], CoreError> {
    let mut h = Sha256::new().chain_update(b"dossier/ratings/v1\n");
    for r in ratings {
        let json = serde_json::to_vec(r).map_err(|e| invalid("rating", e.to_string()))?;
        h.update((json.len() as u64).to_be_bytes());
        h.update(&json);
    }
    Ok(h.finalize().into())
}

/// A ballot's public archive: its definition and every accepted rating, in acceptance order
/// (what `dossier ballot verify` and `GET /v1/ballots/{name}/ratings` give anyone).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    /// The ballot.
    pub ballot: Ballot,
    /// Its accepted ratings.
    pub ratings: Vec<Rating>,
}

/// A ballot's result: per appraisee, the count of each choice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// The ballot's name.
    pub ballot: String,
    /// How many ratings were counted.
    pub ratings: usize,
    /// Per appraisee (the ballot's order), the count of each choice (lowest first).
    pub counts: Vec<Vec<u32>>,
}

impl Tally {
    /// Counts ratings (already verified) of a ballot; the ballot is checked first, so its
    /// appraisees and choices are bounded before the table of counts is allocated.
    pub fn count(ballot: &Ballot, ratings: &[Rating]) -> Result<Tally, CoreError> {
        ballot.check()?;
        let mut counts = vec![vec![0u32; ballot.choices.count()]; ballot.appraisees.len()];
        for r in ratings {
            let a = ballot.appraisee_index(&r.appraisee)?;
            let c = ballot.choices.index(&r.choice)?;
            counts[a][c] = counts[a][c].saturating_add(1);
        }
        Ok(Tally {
            ballot: ballot.name.clone(),
            ratings: ratings.len(),
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::SchemaSet;

    fn ballot() -> Ballot {
        Ballot {
            name: "appraisal-2025.unit-3".into(),
            issuer: "hr.tax-bureau".into(),
            unit: "unit-3".into(),
            appraisees: vec!["A-001".into(), "A-002".into()],
            choices: Choices::Grades,
            opens: 100,
            closes: 200,
            day: "2026-01-10".into(),
            roll: "a note".into(),
            backend: Backend::Groth16,
        }
    }

    #[test]
    fn the_grades_are_the_appraisal_schemas() {
        let schemas = SchemaSet::builtin();
        let appraisal = schemas.get("appraisal").expect("appraisal");
        let grade = appraisal.fields.iter().find(|f| f.name == "grade");
        let members = match grade.map(|f| &f.ty) {
            Some(crate::encoding::FieldType::Enum { members }) => members.clone(),
            _ => panic!("appraisal.grade is an enum"),
        };
        assert_eq!(members, GRADES);
    }

    #[test]
    fn choices_parse_their_labels_only() {
        let g = Choices::Grades;
        assert_eq!(g.index("incompetent").expect("lowest"), 0);
        assert_eq!(g.index("excellent").expect("highest"), 3);
        assert!(g.index("Excellent").is_err());
        let s = Choices::Score { min: 60, max: 100 };
        assert_eq!(s.count(), 41);
        assert_eq!(s.index("60").expect("min"), 0);
        assert_eq!(s.index("100").expect("max"), 40);
        for bad in ["59", "101", "087", "+87", "", "8.5", "65536", "1e2"] {
            let e = s.index(bad).expect_err(bad);
            assert!(!e.to_string().contains(bad) || bad.is_empty(), "{e}");
        }
        assert_eq!(s.label(40), "100");
    }

    #[test]
    fn a_ballot_is_checked_at_its_bounds() {
        ballot().check().expect("valid");
        let mut b = ballot();
        b.appraisees = vec!["x".into(); 2];
        assert!(b.check().is_err(), "an appraisee twice");
        b.appraisees = (0..entry::MAX_APPRAISEES).map(|i| i.to_string()).collect();
        b.check().expect("256 appraisees");
        b.appraisees.push("one more".into());
        assert!(b.check().is_err(), "257 appraisees");
        let mut b = ballot();
        b.appraisees.clear();
        assert!(b.check().is_err(), "no appraisee");
        let mut b = ballot();
        b.closes = b.opens;
        assert!(b.check().is_err(), "closes when it opens");
        let mut b = ballot();
        b.choices = Choices::Score { min: 0, max: 100 };
        b.check().expect("101 choices");
        b.choices = Choices::Score { min: 0, max: 101 };
        assert!(b.check().is_err(), "102 choices");
        b.choices = Choices::Score { min: 5, max: 5 };
        assert!(b.check().is_err(), "one choice");
        let mut b = ballot();
        b.name = "a/b".into();
        assert!(b.check().is_err(), "a slash in the name");
        b.name = "x".repeat(65);
        assert!(b.check().is_err(), "65 characters");
        // A roll as large as a checkpoint of 10,000 registries, and not one byte more.
        let mut b = ballot();
        b.roll = "x".repeat(MAX_ROLL);
        b.check().expect("the largest roll");
        b.roll.push('x');
        assert!(b.check().is_err(), "one byte past");
        b.roll.clear();
        assert!(b.check().is_err(), "no roll");
    }

    #[test]
    fn a_rating_request_binds_ballot_appraisee_and_choice() {
        let b = ballot();
        let r = b.request("A-001", "competent").expect("request");
        assert_eq!(r.scope, "ballot:appraisal-2025.unit-3:A-001");
        // Each of choice, appraisee and ballot changes the challenge.
        let other_choice = b.request("A-001", "excellent").expect("request");
        let other_appraisee = b.request("A-002", "competent").expect("request");
        let mut b2 = ballot();
        b2.name = "appraisal-2025.unit-4".into();
        let other_ballot = b2.request("A-001", "competent").expect("request");
        for other in [&other_choice, &other_appraisee, &other_ballot] {
            assert_ne!(other.challenge, r.challenge);
        }
        // The same inputs give the same request (every re-verifier derives it).
        assert_eq!(b.request("A-001", "competent").expect("again"), r);
        assert!(b.request("A-003", "competent").is_err(), "not an appraisee");
        assert!(b.request("A-001", "good").is_err(), "not a grade");
        // The query encodes in the smallest shape, with the unit as an $eq predicate.
        let schemas = SchemaSet::builtin();
        let q = r.query.encode(&schemas, r.query.shape().expect("shape"));
        assert_eq!(q.expect("encodes").shape.name(), "m1p4k4r2");
    }

    #[test]
    fn the_definition_hash_covers_every_field() {
        let base = ballot().definition_hash().expect("hash");
        let mut b = ballot();
        b.closes += 1;
        assert_ne!(b.definition_hash().expect("hash"), base);
        let mut b = ballot();
        b.roll.push(' ');
        assert_ne!(b.definition_hash().expect("hash"), base);
        let mut b = ballot();
        b.backend = Backend::Halo2;
        assert_ne!(b.definition_hash().expect("hash"), base);
    }
}
