//! Queries: what a verifier asks a holder to prove, in the style of MongoDB / Polygon ID queries,
//! and their encoding into the fixed shape of a generic circuit.
//!
//! ```json
//! {"credentials": [
//!    {"schema": "qualification", "issuers": ["univ.law-school"],
//!     "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}},
//!     "reveal": ["award_year"]}],
//!  "sum": {"schema": "training", "field": "hours", "$gte": 40}}
//! ```
//!
//! Operators: `$eq $ne $lt $lte $gt $gte $in $nin $between`. Enum members and dates are written
//! by name (`"competent"`, `"2025-06-30"`); ordering operators apply to `uint`, `date` and `enum`
//! fields, equality and set operators to any field. Every predicate becomes the canonical form
//! `lo <= v <= hi` (optional) and `v in S` / `v not in S` (optional), with bounds below 2^64
//! checked here, so a circuit never meets a bound that could wrap around.
//!
//! The encoded query is a list of field elements; its Poseidon hash ([`EncodedQuery::hash`]) is
//! the one public input that commits a proof to its query.

use crate::encoding::FieldType;
use crate::schema::{Schema, SchemaSet};
use crate::{poseidon, CoreError, Fr};
use ark_ff::Zero;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A circuit shape: how many credentials, predicates per credential, set members per
/// predicate and revealed fields per credential one proof carries.
///
/// Every size of a circuit, an encoded query and a witness is computed from a shape, so a shape
/// read from untrusted input (a presentation, a manifest) is bounded before anything is
/// allocated from it: deserialising accepts only the [`SHAPES`] dossier ships
/// ([`Shape::check_shipped`]), and [`Query::encode`] refuses any other.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ShapeFields")]
pub struct Shape {
    /// Credentials per proof (M).
    pub credentials: usize,
    /// Predicates per credential (P).
    pub predicates: usize,
    /// Members per `$in`/`$nin` set (K).
    pub set_size: usize,
    /// Revealed fields per credential (R).
    pub reveals: usize,
}

/// A shape as written in JSON, before it is known to be a shipped one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapeFields {
    credentials: u64,
    predicates: u64,
    set_size: u64,
    reveals: u64,
}

impl TryFrom<ShapeFields> for Shape {
    type Error = CoreError;

    fn try_from(f: ShapeFields) -> Result<Shape, CoreError> {
        let fits = |x: u64| usize::try_from(x).ok();
        let shape = match (
            fits(f.credentials),
            fits(f.predicates),
            fits(f.set_size),
            fits(f.reveals),
        ) {
            (Some(credentials), Some(predicates), Some(set_size), Some(reveals)) => Shape {
                credentials,
                predicates,
                set_size,
                reveals,
            },
            _ => return Err(not_shipped()),
        };
        shape.check_shipped()?;
        Ok(shape)
    }
}

fn not_shipped() -> CoreError {
    CoreError::Malformed {
        what: "shape".into(),
        reason: format!(
            "not one of the shipped shapes ({})",
            SHAPES.map(|s| s.name()).join(", ")
        ),
    }
}

impl Shape {
    /// Refuses a shape that is not one of [`SHAPES`] (naming the shipped ones, not the value).
    pub fn check_shipped(&self) -> Result<(), CoreError> {
        if SHAPES.contains(self) {
            Ok(())
        } else {
            Err(not_shipped())
        }
    }

    /// A short name, used for key files: `m1p4k4r2`.
    pub fn name(&self) -> String {
        format!(
            "m{}p{}k{}r{}",
            self.credentials, self.predicates, self.set_size, self.reveals
        )
    }

    /// How many field elements the encoded query has.
    pub fn query_len(&self) -> usize {
        self.credentials * (2 + self.predicates * (3 + self.set_size)) + 2
    }
}

/// The shapes dossier ships keys for, smallest first (a query takes the first that fits): one
/// credential with four predicates (recruitment, pension), three credentials with two
/// predicates each (three years of appraisals, training sums), and four (promotion: three
/// appraisals and the employment record).
pub const SHAPES: [Shape; 3] = [
    Shape {
        credentials: 1,
        predicates: 4,
        set_size: 4,
        reveals: 2,
    },
    Shape {
        credentials: 3,
        predicates: 2,
        set_size: 4,
        reveals: 1,
    },
    Shape {
        credentials: 4,
        predicates: 2,
        set_size: 4,
        reveals: 1,
    },
];

/// The most issuers one credential of a query may accept (each costs the verifier a look-up in
/// the checkpoint, and the EVM anchor a storage slot).
pub const MAX_ISSUERS: usize = 16;

/// The largest value a bound may take.
pub const MAX_BOUND: u64 = u64::MAX;

/// One credential asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialQuery {
    /// The schema's name.
    pub schema: String,
    /// The issuers whose registries are accepted.
    #[serde(default)]
    pub issuers: Vec<String>,
    /// Also accept every issuer the ledger's accreditation authority accredited for the
    /// schema: resolved into `issuers` when the request is made ([`Query::resolve_accredited`]),
    /// so that the request, the proof's query hash and every verifier name the same issuers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub accredited: bool,
    /// Predicates by field: `{"field": {"$op": value}}`.
    #[serde(default, rename = "where")]
    pub predicates: BTreeMap<String, BTreeMap<String, Value>>,
    /// Fields to disclose.
    #[serde(default)]
    pub reveal: Vec<String>,
}

/// A `$sum` of one field over the proof's credentials of one schema, compared with a bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SumQuery {
    /// The schema whose credentials are summed.
    pub schema: String,
    /// The `uint` field summed.
    pub field: String,
    /// The sum must be at least this.
    #[serde(rename = "$gte")]
    pub at_least: u64,
}

/// A query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// The credentials, all of one holder.
    pub credentials: Vec<CredentialQuery>,
    /// An optional aggregate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<SumQuery>,
}

/// Set membership mode of a predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetMode {
    /// No set condition.
    None = 0,
    /// The value is in the set.
    In = 1,
    /// The value is not in the set.
    NotIn = 2,
}

/// A predicate in canonical form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Predicate {
    /// The slot (field position) it reads.
    pub slot: usize,
    /// Whether `lo <= v <= hi` is enforced (then `v` must be below 2^64).
    pub range: bool,
    /// Lower bound.
    pub lo: u64,
    /// Upper bound.
    pub hi: u64,
    /// Set condition.
    pub set_mode: SetMode,
    /// Set members, padded to the shape's K by repeating the first.
    pub set: Vec<Fr>,
}

impl Predicate {
    /// The inert predicate of an unused slot.
    pub fn inert(k: usize) -> Predicate {
        Predicate {
            slot: 0,
            range: false,
            lo: 0,
            hi: MAX_BOUND,
            set_mode: SetMode::None,
            set: vec![Fr::zero(); k],
        }
    }

    /// `slot | range << 3 | set_mode << 4`.
    pub fn code(&self) -> u64 {
        self.slot as u64 | (u64::from(self.range) << 3) | ((self.set_mode as u64) << 4)
    }

    /// The native twin of the circuit's predicate check.
    pub fn holds(&self, v: Fr) -> bool {
        let range_ok = !self.range
            || (v <= Fr::from(u64::MAX) && v >= Fr::from(self.lo) && v <= Fr::from(self.hi));
        let member = self.set.contains(&v);
        range_ok
            && match self.set_mode {
                SetMode::None => true,
                SetMode::In => member,
                SetMode::NotIn => !member,
            }
    }
}

/// One credential slot of an encoded query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedCredential {
    /// Whether the slot is used.
    pub active: bool,
    /// Whether its sum field counts towards the sum.
    pub in_sum: bool,
    /// The schema id required.
    pub schema_id: Fr,
    /// The schema's name ("" when inactive).
    pub schema: String,
    /// The accepted issuers (checked by the verifier against the roots).
    pub issuers: Vec<String>,
    /// Exactly P predicates (inert ones pad).
    pub predicates: Vec<Predicate>,
    /// Exactly R reveal codes: 0 for none, 1 + slot otherwise.
    pub reveals: Vec<u64>,
}

impl EncodedCredential {
    /// `active | in_sum << 1 | reveal_r << (2 + 3r)`.
    pub fn header(&self) -> u64 {
        let mut h = u64::from(self.active) | (u64::from(self.in_sum) << 1);
        for (r, code) in self.reveals.iter().enumerate() {
            h |= code << (2 + 3 * r);
        }
        h
    }
}

/// A query encoded for a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedQuery {
    /// The shape.
    pub shape: Shape,
    /// Exactly M credential slots.
    pub credentials: Vec<EncodedCredential>,
    /// Whether a sum is asked.
    pub sum_enabled: bool,
    /// The slot summed.
    pub sum_slot: usize,
    /// The bound.
    pub sum_bound: u64,
}

fn bad(reason: impl Into<String>) -> CoreError {
    CoreError::Malformed {
        what: "query".into(),
        reason: reason.into(),
    }
}

fn bound(schema: &Schema, field: &str, ty: &FieldType, v: &Value) -> Result<u64, CoreError> {
    match ty {
        FieldType::Uint | FieldType::Date | FieldType::Enum { .. } => {
            let x = ty.encode(field, v)?;
            let big = ark_ff::PrimeField::into_bigint(x);
            let limbs = big.0;
            if limbs[1] != 0 || limbs[2] != 0 || limbs[3] != 0 {
                return Err(bad(format!("bound on `{field}` does not fit in 64 bits")));
            }
            Ok(limbs[0])
        }
        _ => Err(bad(format!(
            "`{}.{field}` is a {}: only $eq, $ne, $in and $nin apply",
            schema.name,
            ty.name()
        ))),
    }
}

impl Query {
    /// Replaces each "any accredited issuer" by the issuers `accredited(schema)` names (the
    /// accreditations in force on the verifier's ledger), after any named explicitly, without
    /// repeats. A query then names its issuers like any other ([`Query::encode`] refuses one
    /// left unresolved, and one accepting more than [`MAX_ISSUERS`]).
    pub fn resolve_accredited<E>(
        &mut self,
        mut accredited: impl FnMut(&str) -> Result<Vec<String>, E>,
    ) -> Result<(), E> {
        for cq in self.credentials.iter_mut().filter(|c| c.accredited) {
            for name in accredited(&cq.schema)? {
                if !cq.issuers.contains(&name) {
                    cq.issuers.push(name);
                }
            }
            cq.accredited = false;
        }
        Ok(())
    }

    /// Parses a query from JSON.
    pub fn from_json(text: &str) -> Result<Query, CoreError> {
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))
    }

    /// The smallest shipped shape that fits this query. A `$sum` needs a shape of more than one
    /// credential (one-credential circuits carry no aggregate), even over a single credential.
    pub fn shape(&self) -> Result<Shape, CoreError> {
        let p = self
            .credentials
            .iter()
            .map(|c| c.predicates.values().map(BTreeMap::len).sum::<usize>())
            .max()
            .unwrap_or(0);
        let r = self
            .credentials
            .iter()
            .map(|c| c.reveal.len())
            .max()
            .unwrap_or(0);
        SHAPES
            .iter()
            .find(|s| {
                s.credentials >= self.credentials.len()
                    && s.predicates >= p
                    && s.reveals >= r
                    && (self.sum.is_none() || s.credentials > 1)
            })
            .copied()
            .ok_or_else(|| {
                bad(format!(
                    "no shipped shape fits {} credentials, {p} predicates, {r} reveals{}",
                    self.credentials.len(),
                    if self.sum.is_some() {
                        " and a $sum"
                    } else {
                        ""
                    }
                ))
            })
    }

    /// Checks the query against the schemas and encodes it for `shape`.
    pub fn encode(&self, schemas: &SchemaSet, shape: Shape) -> Result<EncodedQuery, CoreError> {
        // Every allocation below is sized by the shape: bound it first.
        shape.check_shipped()?;
        if self.sum.is_some() && shape.credentials < 2 {
            return Err(bad(format!(
                "shape {} carries no $sum: a sum needs a shape of several credentials",
                shape.name()
            )));
        }
        if self.credentials.is_empty() || self.credentials.len() > shape.credentials {
            return Err(bad(format!("needs 1 to {} credentials", shape.credentials)));
        }
        let mut credentials = Vec::with_capacity(shape.credentials);
        for cq in &self.credentials {
            let schema = schemas.get(&cq.schema)?;
            if cq.accredited {
                return Err(bad(format!(
                    "a credential of `{}` accepts accredited issuers: resolve them against a ledger first (the service, or `dossier request` with a home)",
                    cq.schema
                )));
            }
            if cq.issuers.is_empty() || cq.issuers.len() > MAX_ISSUERS {
                return Err(bad(format!(
                    "a credential of `{}` names 1 to {MAX_ISSUERS} accepted issuers",
                    cq.schema
                )));
            }
            if (0..cq.issuers.len()).any(|i| cq.issuers[..i].contains(&cq.issuers[i])) {
                return Err(bad(format!(
                    "a credential of `{}` names an accepted issuer twice",
                    cq.schema
                )));
            }
            let mut predicates = Vec::new();
            for (field, ops) in &cq.predicates {
                let slot = schema
                    .slot_of(field)
                    .ok_or_else(|| bad(format!("`{}` has no field `{field}`", schema.name)))?;
                let ty = &schema.fields[slot].ty;
                for (op, v) in ops {
                    predicates.push(predicate(schema, field, ty, slot, op, v, shape.set_size)?);
                }
            }
            if predicates.len() > shape.predicates {
                return Err(bad(format!(
                    "at most {} predicates per credential in shape {}",
                    shape.predicates,
                    shape.name()
                )));
            }
            predicates.resize(shape.predicates, Predicate::inert(shape.set_size));
            if cq.reveal.len() > shape.reveals {
                return Err(bad(format!(
                    "at most {} revealed fields per credential in shape {}",
                    shape.reveals,
                    shape.name()
                )));
            }
            let mut reveals = cq
                .reveal
                .iter()
                .map(|f| {
                    schema
                        .slot_of(f)
                        .map(|s| s as u64 + 1)
                        .ok_or_else(|| bad(format!("`{}` has no field `{f}`", schema.name)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            reveals.resize(shape.reveals, 0);
            let in_sum = self.sum.as_ref().is_some_and(|s| s.schema == cq.schema);
            credentials.push(EncodedCredential {
                active: true,
                in_sum,
                schema_id: schema.id(),
                schema: schema.name.clone(),
                issuers: cq.issuers.clone(),
                predicates,
                reveals,
            });
        }
        credentials.resize(
            shape.credentials,
            EncodedCredential {
                active: false,
                in_sum: false,
                schema_id: Fr::zero(),
                schema: String::new(),
                issuers: Vec::new(),
                predicates: vec![Predicate::inert(shape.set_size); shape.predicates],
                reveals: vec![0; shape.reveals],
            },
        );
        let (sum_enabled, sum_slot, sum_bound) = match &self.sum {
            None => (false, 0, 0),
            Some(s) => {
                let schema = schemas.get(&s.schema)?;
                let slot = schema
                    .slot_of(&s.field)
                    .ok_or_else(|| bad(format!("`{}` has no field `{}`", schema.name, s.field)))?;
                if schema.fields[slot].ty != FieldType::Uint {
                    return Err(bad("$sum applies to uint fields"));
                }
                if !credentials.iter().any(|c| c.in_sum) {
                    return Err(bad("$sum names a schema none of the credentials has"));
                }
                (true, slot, s.at_least)
            }
        };
        Ok(EncodedQuery {
            shape,
            credentials,
            sum_enabled,
            sum_slot,
            sum_bound,
        })
    }
}

fn predicate(
    schema: &Schema,
    field: &str,
    ty: &FieldType,
    slot: usize,
    op: &str,
    v: &Value,
    k: usize,
) -> Result<Predicate, CoreError> {
    let mut p = Predicate {
        slot,
        range: false,
        lo: 0,
        hi: MAX_BOUND,
        set_mode: SetMode::None,
        set: Vec::new(),
    };
    let set_of = |v: &Value| -> Result<Vec<Fr>, CoreError> {
        let items = v
            .as_array()
            .ok_or_else(|| bad(format!("{op} on `{field}` takes a list")))?;
        if items.is_empty() || items.len() > k {
            return Err(bad(format!("{op} on `{field}` takes 1 to {k} values")));
        }
        items.iter().map(|x| ty.encode(field, x)).collect()
    };
    match op {
        "$eq" => (p.set_mode, p.set) = (SetMode::In, vec![ty.encode(field, v)?]),
        "$ne" => (p.set_mode, p.set) = (SetMode::NotIn, vec![ty.encode(field, v)?]),
        "$in" => (p.set_mode, p.set) = (SetMode::In, set_of(v)?),
        "$nin" => (p.set_mode, p.set) = (SetMode::NotIn, set_of(v)?),
        "$lt" | "$lte" | "$gt" | "$gte" => {
            let b = bound(schema, field, ty, v)?;
            p.range = true;
            match op {
                "$lt" => {
                    p.hi = b
                        .checked_sub(1)
                        .ok_or_else(|| bad(format!("`{field}` $lt 0 can never hold")))?
                }
                "$lte" => p.hi = b,
                "$gt" => {
                    p.lo = b
                        .checked_add(1)
                        .ok_or_else(|| bad(format!("`{field}` $gt 2^64-1 can never hold")))?
                }
                _ => p.lo = b,
            }
        }
        "$between" => {
            let pair = v
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| bad(format!("$between on `{field}` takes [low, high]")))?;
            p.range = true;
            p.lo = bound(schema, field, ty, &pair[0])?;
            p.hi = bound(schema, field, ty, &pair[1])?;
            if p.lo > p.hi {
                return Err(bad(format!("$between on `{field}`: low is above high")));
            }
        }
        other => return Err(bad(format!("unknown operator `{other}` on `{field}`"))),
    }
    if let Some(first) = p.set.first().copied() {
        p.set.resize(k, first);
    } else {
        p.set = vec![Fr::zero(); k];
    }
    Ok(p)
}

impl EncodedQuery {
    /// The query as field elements, in the order the circuit hashes them: per credential
    /// `header, schema_id, (code, lo, hi, set...) * P`; then `sum_code, sum_bound`.
    pub fn to_field_elements(&self) -> Vec<Fr> {
        let mut out = Vec::with_capacity(self.shape.query_len());
        for c in &self.credentials {
            out.push(Fr::from(c.header()));
            out.push(c.schema_id);
            for p in &c.predicates {
                out.push(Fr::from(p.code()));
                out.push(Fr::from(p.lo));
                out.push(Fr::from(p.hi));
                out.extend_from_slice(&p.set);
            }
        }
        out.push(Fr::from(
            u64::from(self.sum_enabled) | ((self.sum_slot as u64) << 1),
        ));
        out.push(Fr::from(self.sum_bound));
        out
    }

    /// The query hash (see [`hash_elements`]).
    pub fn hash(&self) -> Result<Fr, CoreError> {
        hash_elements(&self.to_field_elements())
    }

    /// The query hash of the halo2 backend: the same elements, chained the same way with Pasta
    /// Poseidon ([`crate::pasta::hash_elements`]).
    pub fn hash_halo2(&self) -> crate::pasta::Fp {
        crate::pasta::hash_elements(&self.to_pasta_elements())
    }

    /// [`EncodedQuery::to_field_elements`] in the Pallas field (each is canonical there: BN254's
    /// r is below Pallas' p), as the halo2 circuit reads them from its instance column.
    pub fn to_pasta_elements(&self) -> Vec<crate::pasta::Fp> {
        self.to_field_elements()
            .iter()
            .map(crate::pasta::from_fr)
            .collect()
    }
}

/// Why offered credentials do not satisfy a query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Unsatisfied {
    /// Not one credential per active slot of the query.
    #[error("the query asks for {expected} credentials, {given} given")]
    Count {
        /// Asked for.
        expected: usize,
        /// Given.
        given: usize,
    },
    /// A credential (or the sum, index 0) fails; the reason names no value.
    #[error("credential {index} does not satisfy the query: {reason}")]
    Credential {
        /// The credential's index in the query.
        index: usize,
        /// What fails.
        reason: String,
    },
}

impl EncodedQuery {
    /// The revealed values, credential-major (0 where nothing is revealed or the slot is unused);
    /// `offered` is in query order.
    pub fn revealed(&self, offered: &[crate::credential::Offered]) -> Vec<Fr> {
        let mut out = Vec::with_capacity(self.shape.credentials * self.shape.reveals);
        for (m, qc) in self.credentials.iter().enumerate() {
            let slots = offered
                .get(m)
                .filter(|_| qc.active)
                .map(|o| o.credential.slots);
            for r in 0..self.shape.reveals {
                let code = qc.reveals.get(r).copied().unwrap_or(0);
                out.push(match slots {
                    Some(s) if code > 0 => s[code as usize - 1],
                    _ => Fr::zero(),
                });
            }
        }
        out
    }

    /// Checks natively what every backend's circuit checks about the credentials' contents: one
    /// per active slot, the schema, expiry, each predicate, the sum (64-bit terms, the bound) and
    /// that no credential is counted twice. `offered` is in query order. Holder binding and the
    /// membership path are the backend's to check (their hashes differ).
    pub fn check_offered(
        &self,
        offered: &[crate::credential::Offered],
        today: u32,
    ) -> Result<(), Unsatisfied> {
        let active = self.credentials.iter().filter(|c| c.active).count();
        if offered.len() != active {
            return Err(Unsatisfied::Count {
                expected: active,
                given: offered.len(),
            });
        }
        match self.unsatisfied_by(offered, today) {
            Some(u) => Err(u),
            None => Ok(()),
        }
    }

    fn unsatisfied_by(
        &self,
        offered: &[crate::credential::Offered],
        today: u32,
    ) -> Option<Unsatisfied> {
        let fail = |index: usize, reason: String| Some(Unsatisfied::Credential { index, reason });
        let mut sum = 0u128;
        for (m, (qc, o)) in self.credentials.iter().zip(offered).enumerate() {
            if !qc.active {
                continue;
            }
            let c = &o.credential;
            if c.schema_id != qc.schema_id {
                return fail(m, format!("it is not a `{}` credential", qc.schema));
            }
            if c.expires_at <= today {
                return fail(m, "it has expired".into());
            }
            if c.issued_at > today {
                return fail(m, "it is issued after the request's day".into());
            }
            for (p, pred) in qc.predicates.iter().enumerate() {
                if !pred.holds(c.slots[pred.slot]) {
                    return fail(m, format!("predicate {p} does not hold"));
                }
            }
            if qc.in_sum {
                let v = ark_ff::PrimeField::into_bigint(c.slots[self.sum_slot]).0;
                if v[1] != 0 || v[2] != 0 || v[3] != 0 {
                    return fail(m, "its summed field does not fit in 64 bits".into());
                }
                sum += u128::from(v[0]);
            }
        }
        if self.sum_enabled && sum < u128::from(self.sum_bound) {
            return fail(0, format!("the sum is below {}", self.sum_bound));
        }
        // Every used slot holds a different credential (and so no credential is summed twice).
        let used: Vec<Fr> = offered
            .iter()
            .zip(&self.credentials)
            .filter(|(_, q)| q.active)
            .map(|(o, _)| o.credential.commitment())
            .collect();
        if let Some(i) = (0..used.len()).find(|&i| used[..i].contains(&used[i])) {
            return fail(
                i,
                "the same credential is offered for two of the query's credentials".into(),
            );
        }
        None
    }
}

/// Hashes a list of field elements: `h = Poseidon([len, x0..x10])`, then
/// `h = Poseidon([h, next up to 11])` until all are absorbed.
/// The last chunk is hashed as it is (fewer inputs, not padded); `len` counts the elements.
pub fn hash_elements(xs: &[Fr]) -> Result<Fr, CoreError> {
    let mut chunks = xs.chunks(11);
    let mut first = vec![Fr::from(xs.len() as u64)];
    first.extend_from_slice(chunks.next().unwrap_or(&[]));
    let mut h = poseidon::hash(&first)?;
    for c in chunks {
        let mut next = vec![h];
        next.extend_from_slice(c);
        h = poseidon::hash(&next)?;
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recruitment() -> Query {
        Query::from_json(
            r#"{"credentials": [{"schema": "qualification", "issuers": ["univ.law-school"],
            "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}},
            "reveal": ["award_year"]}]}"#,
        )
        .expect("parses")
    }

    #[test]
    fn recruitment_query_encodes() {
        let schemas = SchemaSet::builtin();
        let q = recruitment();
        let shape = q.shape().expect("fits");
        assert_eq!(shape, SHAPES[0]);
        let e = q.encode(&schemas, shape).expect("encodes");
        assert_eq!(e.to_field_elements().len(), shape.query_len());
        let degree = &e.credentials[0].predicates[0];
        assert!(degree.range && degree.lo == 2 && degree.hi == u64::MAX);
        assert!(
            degree.holds(Fr::from(2u64))
                && degree.holds(Fr::from(3u64))
                && !degree.holds(Fr::from(1u64))
        );
        let field = &e.credentials[0].predicates[1];
        assert_eq!(field.set_mode, SetMode::In);
        assert!(
            field.holds(Fr::from(0u64))
                && field.holds(Fr::from(1u64))
                && !field.holds(Fr::from(2u64))
        );
        assert_eq!(e.credentials[0].reveals, vec![4, 0]);
    }

    #[test]
    fn different_queries_hash_differently() {
        let schemas = SchemaSet::builtin();
        let a = recruitment().encode(&schemas, SHAPES[0]).expect("a");
        let mut q = recruitment();
        q.credentials[0]
            .predicates
            .get_mut("degree_level")
            .expect("p")
            .insert("$gte".into(), Value::from("doctorate"));
        let b = q.encode(&schemas, SHAPES[0]).expect("b");
        assert_ne!(a.hash().expect("a"), b.hash().expect("b"));
    }

    #[test]
    fn only_shipped_shapes_deserialise_and_encode() {
        // Regression: a presentation's shape drove `Query::encode`'s allocations unbounded
        // ("predicates": 2^32 aborted the service on a 240 GB allocation).
        for text in [
            r#"{"credentials": 1, "predicates": 4294967296, "set_size": 4, "reveals": 2}"#,
            r#"{"credentials": 1, "predicates": 100000000, "set_size": 4, "reveals": 2}"#,
            r#"{"credentials": 18446744073709551615, "predicates": 18446744073709551615, "set_size": 18446744073709551615, "reveals": 18446744073709551615}"#,
            r#"{"credentials": 1, "predicates": 4, "set_size": 4, "reveals": 3}"#,
            r#"{"credentials": 0, "predicates": 0, "set_size": 0, "reveals": 0}"#,
            r#"{"credentials": 1, "predicates": 4, "set_size": 4, "reveals": 2, "x": 1}"#,
            r#"{"credentials": -1, "predicates": 4, "set_size": 4, "reveals": 2}"#,
        ] {
            let e = serde_json::from_str::<Shape>(text).expect_err(text);
            assert!(
                e.to_string().contains("shipped shapes") || e.is_data(),
                "{text}: {e}"
            );
        }
        for s in SHAPES {
            let text = serde_json::to_string(&s).expect("json");
            assert_eq!(serde_json::from_str::<Shape>(&text).expect("shipped"), s);
        }
        let huge = Shape {
            credentials: 1,
            predicates: 1 << 32,
            set_size: 4,
            reveals: 2,
        };
        let e = recruitment()
            .encode(&SchemaSet::builtin(), huge)
            .expect_err("refused");
        assert!(e.to_string().contains("shipped shapes"), "{e}");
    }

    #[test]
    fn a_sum_over_one_credential_gets_a_shape_that_can_prove_it() {
        // Regression: the shape choice ignored `sum`, and the one-credential circuit forces
        // "no sum", so such a query was accepted but could never be proven.
        let q = Query::from_json(
            r#"{"credentials": [{"schema": "training", "issuers": ["t"], "where": {"completed_on": {"$gte": "2025-01-01"}}}],
                "sum": {"schema": "training", "field": "hours", "$gte": 40}}"#,
        )
        .expect("parses");
        let shape = q.shape().expect("fits");
        assert!(shape.credentials > 1, "{}", shape.name());
        let e = q.encode(&SchemaSet::builtin(), shape).expect("encodes");
        assert!(e.sum_enabled && e.credentials[0].in_sum && !e.credentials[1].in_sum);
        let refused = q
            .encode(&SchemaSet::builtin(), SHAPES[0])
            .expect_err("no sum in m1");
        assert!(refused.to_string().contains("$sum"), "{refused}");
    }

    #[test]
    fn accredited_issuers_are_resolved_before_encoding() {
        let schemas = SchemaSet::builtin();
        let mut q: Query = serde_json::from_value(serde_json::json!({"credentials": [
            {"schema": "qualification", "issuers": ["u"], "accredited": true}]}))
        .expect("parses");
        assert!(
            q.encode(&schemas, q.shape().expect("shape")).is_err(),
            "unresolved"
        );
        q.resolve_accredited(|schema| {
            assert_eq!(schema, "qualification");
            Ok::<_, CoreError>(vec!["v".into(), "u".into(), "w".into()])
        })
        .expect("resolved");
        assert_eq!(
            q.credentials[0].issuers,
            ["u", "v", "w"],
            "no repeat, explicit first"
        );
        assert!(!q.credentials[0].accredited);
        q.encode(&schemas, q.shape().expect("shape"))
            .expect("encodes");
        // Resolving to nothing leaves a query that names no issuer: refused.
        let mut none: Query = serde_json::from_value(serde_json::json!({"credentials": [
            {"schema": "qualification", "accredited": true}]}))
        .expect("parses");
        none.resolve_accredited(|_| Ok::<_, CoreError>(vec![]))
            .expect("resolved");
        assert!(none.encode(&schemas, none.shape().expect("shape")).is_err());
        // The serialised form of a resolved query carries no marker (its hash is unchanged).
        let text = serde_json::to_string(&q).expect("json");
        assert!(!text.contains("accredited"));
    }

    #[test]
    fn accepted_issuers_are_bounded() {
        let many: Vec<String> = (0..=MAX_ISSUERS).map(|i| format!("issuer-{i}")).collect();
        let q = Query::from_json(
            &serde_json::json!({"credentials": [{"schema": "qualification", "issuers": many}]})
                .to_string(),
        )
        .expect("parses");
        assert!(q.encode(&SchemaSet::builtin(), SHAPES[0]).is_err());
        let q = Query::from_json(
            &serde_json::json!({"credentials": [{"schema": "qualification", "issuers": &many[..MAX_ISSUERS]}]})
                .to_string(),
        )
        .expect("parses");
        assert!(q.encode(&SchemaSet::builtin(), SHAPES[0]).is_ok());
    }

    #[test]
    fn bad_queries_are_refused() {
        let schemas = SchemaSet::builtin();
        for text in [
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"institution": {"$gte": "x"}}}]}"#,
            // Regression: an issuer named twice, or more than MAX_ISSUERS, was accepted.
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u", "v", "u"]}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"award_year": {"$lt": 0}}}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"award_year": {"$gte": "18446744073709551616"}}}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"award_year": {"$like": 1}}}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"nope": {"$eq": 1}}}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": [], "where": {}}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"award_year": {"$between": [2020, 2010]}}}]}"#,
            r#"{"credentials": [{"schema": "qualification", "issuers": ["u"], "where": {"field": {"$in": ["law", "economics", "management", "medicine", "science"]}}}]}"#,
        ] {
            let q = Query::from_json(text).expect("parses");
            assert!(q.encode(&schemas, SHAPES[0]).is_err(), "{text}");
        }
    }
}
