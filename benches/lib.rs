//! Shared set-up for the benchmarks in `benches/benches/`: synthetic claims and stores.

use dossier_core::credential::{Claim, EncodedClaim};
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};
use dossier_store::Store;
use std::path::Path;
use std::time::Duration;

/// `n` valid employment claims (the widest schema: three strings, three dates, two enums).
pub fn employment_claims(n: usize) -> Vec<EncodedClaim> {
    claims_for(n, false)
}

/// [`employment_claims`] whose holders also gave their halo2 commitment (so the registry's twin
/// tree gets a leaf for each).
pub fn employment_claims_halo2(n: usize) -> Vec<EncodedClaim> {
    claims_for(n, true)
}

fn claims_for(n: usize, halo2: bool) -> Vec<EncodedClaim> {
    let schemas = SchemaSet::builtin();
    (0..n)
        .map(|i| {
            let twin = halo2
                .then(|| dossier_core::pasta::to_hex(&dossier_core::pasta::Fp::from(i as u64 + 1)));
            let claim: Claim = serde_json::from_value(serde_json::json!({
                "schema": "employment",
                "holder": field::to_hex(&Fr::from(i as u64 + 1)),
                "holder_halo2": twin,
                "fields": {"department": "tax-bureau/collection", "position": "officer",
                    "rank_level": "section_member_1", "rank_since": "2021-07-01",
                    "hire_date": "1996-09-01", "status": "active", "sanction_until": "1970-01-01"}
            }))
            .expect("claim");
            claim.encode(&schemas).expect("valid")
        })
        .collect()
}

/// A fresh store with a ledger key and one registered issuer.
pub fn store_with_issuer(path: &Path) -> (Store, KeyPair, KeyPair) {
    ledger_with_issuer(Store::open(path, Duration::from_secs(5)).expect("open"))
}

/// A new ledger with one issuer, `hr.bench`, in `store` (any engine).
pub fn ledger_with_issuer(store: Store) -> (Store, KeyPair, KeyPair) {
    let log = KeyPair::generate("bench/ledger", &mut rand::thread_rng()).expect("key");
    store.init_ledger(&log).expect("init");
    let issuer = KeyPair::generate("hr.bench", &mut rand::thread_rng()).expect("key");
    store.register_issuer(&issuer, 1).expect("register");
    (store, log, issuer)
}

/// The typical statements of the design notes, ready to prove: a registry holding one holder's
/// degree, appraisals and employment record.
pub mod statements {
    use dossier_circuits::statement::{Offered, StatementWitness};
    use dossier_core::credential::{Claim, Credential};
    use dossier_core::holder::HolderSecret;
    use dossier_core::presentation::PresentationRequest;
    use dossier_core::query::{EncodedQuery, Query};
    use dossier_core::schema::SchemaSet;
    use dossier_core::{field, Fr};
    use dossier_store::registry::{self, MemoryTree};

    /// A statement with everything needed to prove it.
    pub struct Statement {
        /// The verifier's request.
        pub request: PresentationRequest,
        /// Its encoded query.
        pub query: EncodedQuery,
        /// The holder's secret.
        pub secret: HolderSecret,
        /// The credentials offered.
        pub offered: Vec<Offered>,
    }

    impl Statement {
        /// Builds the witness (the prover's native work before proving).
        pub fn witness(&self) -> StatementWitness {
            StatementWitness::build(
                &self.query,
                &self.secret,
                &self.offered,
                self.request.challenge,
                self.request.scope_field().expect("scope"),
                self.request.today_days().expect("today"),
            )
            .expect("satisfiable")
        }
    }

    fn credential(
        schemas: &SchemaSet,
        secret: &HolderSecret,
        id: u32,
        schema: &str,
        fields: serde_json::Value,
    ) -> Credential {
        let claim: Claim = serde_json::from_value(serde_json::json!({"schema": schema, "holder": field::to_hex(&secret.commitment()), "fields": fields})).expect("claim");
        let e = claim.encode(schemas).expect("valid");
        Credential {
            schema_id: e.schema_id,
            issuer_id: dossier_core::issuer_id("hr.example").expect("id"),
            holder: e.holder,
            holder_halo2: secret.commitment_halo2(),
            credential_id: id,
            issued_at: 20_000,
            expires_at: 30_000,
            salt: Fr::from(99 + u64::from(id)),
            slots: e.slots,
        }
    }

    /// "recruitment" (1 credential), "appraisals" (3) or "promotion" (4).
    pub fn statement(name: &str) -> Statement {
        let schemas = SchemaSet::builtin();
        let secret = HolderSecret::parse("195948557").expect("secret");
        let creds = [
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
                serde_json::json!({"department": "tax", "position": "officer", "rank_level": "section_member_1", "rank_since": "2022-07-01", "hire_date": "1996-09-01", "status": "active", "sanction_until": "2021-01-01"}),
            ),
        ];
        let mut tree = MemoryTree::default();
        // A registry of 100,000 other credentials around them, so paths are realistic.
        let mut leaves: Vec<(u32, Fr)> = (5..100_000u32)
            .map(|i| (i, Fr::from(u64::from(i) * 7919)))
            .collect();
        leaves.extend(creds.iter().map(|c| (c.credential_id, c.commitment())));
        registry::apply(&mut tree, &leaves).expect("apply");
        // The halo2 twin: the same positions, Pasta commitments.
        let mut twin = MemoryTree::<dossier_core::pasta::Fp>::default();
        let mut twin_leaves: Vec<(u32, dossier_core::pasta::Fp)> = (5..100_000u32)
            .map(|i| (i, dossier_core::pasta::Fp::from(u64::from(i) * 7919)))
            .collect();
        twin_leaves.extend(
            creds
                .iter()
                .map(|c| (c.credential_id, c.commitment_halo2())),
        );
        registry::apply(&mut twin, &twin_leaves).expect("apply");
        let (query, ids): (&str, Vec<u32>) = match name {
            "recruitment" => (
                r#"{"credentials": [{"schema": "qualification", "issuers": ["hr.example"], "where": {"degree_level": {"$gte": "master"}, "field": {"$in": ["law", "economics"]}, "award_year": {"$lte": 2020}, "institution": {"$ne": "X"}}, "reveal": ["award_year"]}]}"#,
                vec![0],
            ),
            "appraisals" => (
                r#"{"credentials": [
                {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
                {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2024}, "grade": {"$gte": "competent"}}},
                {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2025}, "grade": {"$gte": "competent"}}}]}"#,
                vec![1, 2, 3],
            ),
            _ => (
                r#"{"credentials": [
                {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2023}, "grade": {"$gte": "competent"}}},
                {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2024}, "grade": {"$gte": "competent"}}},
                {"schema": "appraisal", "issuers": ["hr.example"], "where": {"year": {"$eq": 2025}, "grade": {"$gte": "competent"}}},
                {"schema": "employment", "issuers": ["hr.example"], "where": {"rank_since": {"$lte": "2024-06-30"}, "sanction_until": {"$lt": "2026-06-30"}}}]}"#,
                vec![1, 2, 3, 4],
            ),
        };
        let q = Query::from_json(query).expect("query");
        let shape = q.shape().expect("shape");
        let request =
            PresentationRequest::new(q, "bench:2026", "2026-06-30", 3600).expect("request");
        let encoded = request.query.encode(&schemas, shape).expect("encode");
        let offered = ids
            .iter()
            .map(|id| {
                let p = registry::path(&tree, *id).expect("path");
                Offered {
                    credential: creds[*id as usize].clone(),
                    siblings: p.siblings,
                    root: p.root,
                    halo2: Some(registry::path_halo2(&twin, *id).expect("twin path")),
                }
            })
            .collect();
        Statement {
            request,
            query: encoded,
            secret,
            offered,
        }
    }
}
