//! The rules engine: one run of an HR office's seven shipped rules over its credentials
//! (`dossier_workflow::evaluate`, on a ledger replayed beforehand, and `office::run`, which
//! also replays the ledger and reads the actions taken). Its floor, measured in the same run:
//! the same number of CEL evaluations with trivial expressions (`today` and `true`) over the same
//! credentials' values — what the interpreter and the values cost before any rule says
//! anything. 2,000 employment credentials (every tenth on probation, every seventh sanctioned)
//! with their holders' appraisals.

#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion};
use dossier_benches::store_with_issuer;
use dossier_core::credential::{Claim, CredentialOpening};
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};
use dossier_workflow::facts::Facts;
use dossier_workflow::office::{self, issuer_ledger};
use dossier_workflow::rule::SHIPPED;
use dossier_workflow::{evaluate, Rule};
use std::collections::BTreeSet;

const FLOOR: &str = "name = \"floor\"\nversion = 1\nschema = \"employment\"\ndue = \"today\"\ncondition = \"true\"\n[[actions]]\nkind = \"notice\"\nto = \"servant\"\ntitle = \"t\"\n";

fn claims(n: usize, schemas: &SchemaSet) -> Vec<dossier_core::credential::EncodedClaim> {
    let mut out = Vec::new();
    for i in 0..n {
        let holder = field::to_hex(&Fr::from(i as u64 + 1));
        let status = if i % 10 == 0 { "probation" } else { "active" };
        let sanction = if i % 7 == 0 {
            "2026-03-31"
        } else {
            "1970-01-01"
        };
        let claim: Claim = serde_json::from_value(serde_json::json!({
            "schema": "employment", "holder": holder,
            "fields": {"department": "tax-bureau/collection", "position": "officer",
                "rank_level": "section_member_1", "rank_since": format!("{}-07-01", 2015 + i % 10),
                "hire_date": format!("{}-09-01", 1985 + i % 40), "status": status,
                "sanction_until": sanction}
        }))
        .expect("claim");
        out.push(claim.encode(schemas).expect("valid"));
        for year in 2022..2025 {
            let a: Claim = serde_json::from_value(serde_json::json!({
                "schema": "appraisal", "holder": holder,
                "fields": {"year": year, "grade": if i % 5 == 0 { "basically_competent" } else { "competent" },
                    "score": 80, "unit": "tax-bureau/collection", "training_hours": 40}
            }))
            .expect("claim");
            out.push(a.encode(schemas).expect("valid"));
        }
    }
    out
}

fn rules(c: &mut Criterion) {
    let schemas = SchemaSet::builtin();
    let n = 2_000;
    let dir = tempfile::tempdir().expect("tmp");
    let (store, _log, hr) = store_with_issuer(&dir.path().join("bench.redb"));
    let encoded = claims(n, &schemas);
    let made = store.issue(&hr, &encoded, 20_000, 2).expect("issue");
    let openings: Vec<CredentialOpening> = encoded
        .iter()
        .zip(&made)
        .map(|(claim, c)| CredentialOpening::new(claim, "hr.bench", c))
        .collect();
    for text in SHIPPED {
        let rule = Rule::parse(text, &schemas).expect("rule");
        store
            .adopt_rule(&hr, &rule.name, text, 0, 3)
            .expect("adopt");
    }
    let info = store.issuer("hr.bench").expect("issuer");
    let (ledger, _) = issuer_ledger(&store, info.issuer_id, &schemas).expect("ledger");
    let as_of = dossier_core::encoding::date_to_days("2026-12-06").expect("day");
    let taken = BTreeSet::new();
    let found = evaluate(&ledger, info.issuer_id, &schemas, &openings, as_of, &taken);
    assert!(found.failures.is_empty() && !found.cases.is_empty());
    let floor = Rule::parse(FLOOR, &schemas).expect("floor");
    let employment = schemas.get("employment").expect("schema");
    let facts: Vec<Facts> = openings
        .iter()
        .filter(|o| o.schema == "employment")
        .map(|o| {
            Facts::new(employment, o.credential_id, 20_000, &o.fields)
                .expect("facts")
                .with_schemas(&schemas)
        })
        .collect();

    let mut g = c.benchmark_group("rules");
    g.sample_size(10)
        .measurement_time(std::time::Duration::from_secs(10));
    g.bench_function(format!("evaluate_7_rules_{n}_servants"), |b| {
        b.iter(|| evaluate(&ledger, info.issuer_id, &schemas, &openings, as_of, &taken))
    });
    g.bench_function(format!("office_run_dry_{n}_servants"), |b| {
        b.iter(|| {
            office::run(
                &store,
                None,
                "hr.bench",
                &schemas,
                &openings,
                as_of,
                4,
                &|| unreachable!("a dry run opens no ballot"),
            )
            .expect("run")
        })
    });
    g.bench_function(format!("openings_checked_{n}_servants"), |b| {
        b.iter(|| {
            openings
                .iter()
                .filter(|o| o.credential(&schemas).is_ok())
                .count()
        })
    });
    g.bench_function(format!("floor_trivial_cel_7x_{n}_servants"), |b| {
        b.iter(|| {
            let mut held = 0usize;
            for f in &facts {
                for _ in 0..SHIPPED.len() {
                    if floor.due_day(f, as_of).expect("due").is_some()
                        && floor.holds(f, as_of).expect("holds")
                    {
                        held += 1;
                    }
                }
            }
            held
        })
    });
    g.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
