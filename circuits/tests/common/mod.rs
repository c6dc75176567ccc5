//! Fixtures for the circuit tests: a holder, registries with real credentials, and the
//! typical queries, with witnesses built the way the prover builds them.

#![allow(dead_code)]

use ark_bn254::Fr;
use dossier_circuits::statement::{Offered, StatementCircuit, StatementWitness};
use dossier_core::credential::{Claim, Credential};
use dossier_core::holder::HolderSecret;
use dossier_core::pasta::Fp;
use dossier_core::query::{EncodedQuery, Query};
use dossier_core::schema::SchemaSet;
use dossier_store::registry::{self, MemoryTree};

/// Today in the fixtures: 2026-06-30.
pub const TODAY: u32 = 20_634;

pub struct World {
    pub schemas: SchemaSet,
    pub secret: HolderSecret,
    pub tree: MemoryTree,
    /// The registry's halo2 twin (Pasta commitments at the same positions).
    pub twin: MemoryTree<Fp>,
    pub credentials: Vec<Credential>,
}

pub fn credential(
    schemas: &SchemaSet,
    secret: &HolderSecret,
    id: u32,
    schema: &str,
    fields: serde_json::Value,
) -> Credential {
    let claim: Claim = serde_json::from_value(serde_json::json!({
        "schema": schema, "holder": dossier_core::field::to_hex(&secret.commitment()), "fields": fields
    }))
    .expect("claim");
    let e = claim.encode(schemas).expect("valid");
    Credential {
        schema_id: e.schema_id,
        issuer_id: dossier_core::issuer_id("hr.example").expect("name"),
        holder: e.holder,
        holder_halo2: secret.commitment_halo2(),
        credential_id: id,
        issued_at: 20_000,
        expires_at: 30_000,
        salt: Fr::from(1000 + u64::from(id)),
        slots: e.slots,
    }
}

/// One registry holding a degree, three appraisals, an employment record and three trainings,
/// among other holders' credentials.
pub fn world() -> World {
    let schemas = SchemaSet::builtin();
    let secret = HolderSecret::parse("195948557").expect("secret");
    let other = HolderSecret::parse("12648430").expect("secret");
    let mut credentials = vec![
        credential(
            &schemas,
            &secret,
            0,
            "qualification",
            serde_json::json!({"degree_level": "master", "field": "law", "institution": "UL-001", "award_year": 2015}),
        ),
        credential(
            &schemas,
            &secret,
            1,
            "appraisal",
            serde_json::json!({"year": 2023, "grade": "competent", "score": 85, "unit": "tax-audit", "training_hours": 96}),
        ),
        credential(
            &schemas,
            &secret,
            2,
            "appraisal",
            serde_json::json!({"year": 2024, "grade": "excellent", "score": 95, "unit": "tax-audit", "training_hours": 96}),
        ),
        credential(
            &schemas,
            &secret,
            3,
            "appraisal",
            serde_json::json!({"year": 2025, "grade": "competent", "score": 80, "unit": "tax-audit", "training_hours": 96}),
        ),
        credential(
            &schemas,
            &secret,
            4,
            "employment",
            serde_json::json!({"department": "tax", "position": "officer", "rank_level": "section_member_1",
            "rank_since": "2022-07-01", "hire_date": "1996-09-01", "status": "active", "sanction_until": "2021-01-01"}),
        ),
        credential(
            &schemas,
            &secret,
            5,
            "training",
            serde_json::json!({"course": "TAX-101", "hours": 16, "completed_on": "2025-03-01", "passed": true}),
        ),
        credential(
            &schemas,
            &secret,
            6,
            "training",
            serde_json::json!({"course": "TAX-202", "hours": 24, "completed_on": "2025-09-01", "passed": true}),
        ),
        credential(
            &schemas,
            &secret,
            7,
            "training",
            serde_json::json!({"course": "LAW-300", "hours": 8, "completed_on": "2024-11-01", "passed": true}),
        ),
    ];
    credentials.push(credential(&schemas, &other, 8, "qualification", serde_json::json!({"degree_level": "doctorate", "field": "law", "institution": "UL-001", "award_year": 2010})));
    let mut tree = MemoryTree::default();
    let leaves: Vec<(u32, Fr)> = credentials
        .iter()
        .map(|c| (c.credential_id, c.commitment()))
        .collect();
    registry::apply(&mut tree, &leaves).expect("apply");
    let mut twin = MemoryTree::default();
    let twin_leaves: Vec<(u32, Fp)> = credentials
        .iter()
        .map(|c| (c.credential_id, c.commitment_halo2()))
        .collect();
    registry::apply(&mut twin, &twin_leaves).expect("apply");
    World {
        schemas,
        secret,
        tree,
        twin,
        credentials,
    }
}

impl World {
    pub fn offered(&self, id: u32) -> Offered {
        let c = self
            .credentials
            .iter()
            .find(|c| c.credential_id == id)
            .expect("credential")
            .clone();
        let path = registry::path(&self.tree, id).expect("path");
        Offered {
            credential: c,
            siblings: path.siblings,
            root: path.root,
            halo2: Some(registry::path_halo2(&self.twin, id).expect("twin path")),
        }
    }

    pub fn encode(&self, query: &str) -> EncodedQuery {
        let q = Query::from_json(query).expect("query parses");
        let shape = q.shape().expect("fits a shape");
        q.encode(&self.schemas, shape).expect("encodes")
    }

    pub fn witness(&self, query: &EncodedQuery, ids: &[u32]) -> StatementWitness {
        let offered: Vec<Offered> = ids.iter().map(|i| self.offered(*i)).collect();
        StatementWitness::build(
            query,
            &self.secret,
            &offered,
            Fr::from(777u64),
            Fr::from(4242u64),
            TODAY,
        )
        .expect("the holder can prove it")
    }

    pub fn circuit(&self, query: &str, ids: &[u32]) -> StatementCircuit {
        let q = self.encode(query);
        StatementCircuit {
            shape: q.shape,
            witness: self.witness(&q, ids),
        }
    }
}

pub const RECRUITMENT: &str = r#"{"credentials": [{"schema": "qualification", "issuers": ["hr.example"],
    "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}}, "reveal": ["award_year"]}]}"#;

pub const PROMOTION: &str = r#"{"credentials": [
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2024}, "grade": {"$gte": "competent"}}},
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2025}, "grade": {"$gte": "competent"}}},
    {"schema": "employment", "issuers": ["hr.example"], "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}}}]}"#;

pub const TRAINING: &str = r#"{"credentials": [
    {"schema": "training", "issuers": ["hr.example"], "where": {"completed_on": {"$between": ["2025-01-01", "2025-12-31"]}}},
    {"schema": "training", "issuers": ["hr.example"], "where": {"completed_on": {"$between": ["2025-01-01", "2025-12-31"]}}}],
  "sum": {"schema": "training", "field": "hours", "$gte": 40}}"#;

/// Synthesises a circuit and returns the name of the first unsatisfied check, or None.
pub fn failing_check(c: &dossier_circuits::statement::StatementCircuit) -> Option<String> {
    let cs = ark_relations::gr1cs::ConstraintSystem::<Fr>::new_ref();
    let checks = c.synthesize(cs.clone()).expect("synthesis");
    let which = cs.which_is_unsatisfied().expect("checks")?;
    // Without a tracing layer the answer is "<predicate> - <constraint index>".
    let index: usize = which
        .rsplit(" - ")
        .next()
        .and_then(|i| i.trim().parse().ok())
        .expect("constraint index");
    Some(checks.name_of(index).unwrap_or("<unnamed>").to_string())
}

pub const APPRAISALS: &str = r#"{"credentials": [
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2024}, "grade": {"$gte": "competent"}}},
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2025}, "grade": {"$gte": "competent"}}}]}"#;

/// Two appraisals, asked alike: only two different credentials meet it.
pub const TWO_APPRAISALS: &str = r#"{"credentials": [
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"grade": {"$gte": "competent"}}},
    {"schema": "appraisal", "issuers": ["hr.example"], "where": {"grade": {"$gte": "competent"}}}]}"#;
