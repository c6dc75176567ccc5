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
    let schemas = SchemaSet::builtin();
    (0..n)
        .map(|i| {
            let claim: Claim = serde_json::from_value(serde_json::json!({
                "schema": "employment",
                "holder": field::to_hex(&Fr::from(i as u64 + 1)),
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
    let store = Store::open(path, Duration::from_secs(5)).expect("open");
    let log = KeyPair::generate("bench/ledger", &mut rand::thread_rng()).expect("key");
    store.init_ledger(&log).expect("init");
    let issuer = KeyPair::generate("hr.bench", &mut rand::thread_rng()).expect("key");
    store.register_issuer(&issuer, 1).expect("register");
    (store, log, issuer)
}
