//! What the store's test stories issue and sign with: appraisal claims for holders 1000, 1001, …
//! over 2023-2025, and fresh keys.

use dossier_core::credential::{Claim, EncodedClaim};
use dossier_core::keys::KeyPair;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, Fr};

/// `n` encoded appraisal claims, holder `1000 + i`, year `2023 + i % 3`.
pub fn claims(n: usize) -> Vec<EncodedClaim> {
    let schemas = SchemaSet::builtin();
    (0..n)
        .map(|i| {
            let claim: Claim = serde_json::from_value(serde_json::json!({
                "schema": "appraisal",
                "holder": field::to_hex(&Fr::from(1000 + i as u64)),
                "fields": {"year": 2023 + (i % 3), "grade": "competent", "score": 80, "unit": "tax-audit", "training_hours": 96}
            }))
            .expect("claim");
            claim.encode(&schemas).expect("valid")
        })
        .collect()
}

/// A new key named `name`.
pub fn key(name: &str) -> KeyPair {
    KeyPair::generate(name, &mut rand::thread_rng()).expect("key")
}
