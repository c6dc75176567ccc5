//! The holder and the degree the prover tests prove statements about.

use ark_bn254::Fr;
use dossier_circuits::statement::Offered;
use dossier_core::credential::{Claim, Credential};
use dossier_core::holder::HolderSecret;
use dossier_core::schema::SchemaSet;
use dossier_store::registry::{self, MemoryTree};

/// A holder with a master's degree in law (2015) issued by `issuer` as credential 3 of a
/// registry that also holds one other leaf; returns the secret and the offered credential.
pub fn degree(schemas: &SchemaSet, issuer: &str) -> (HolderSecret, Offered) {
    let secret = HolderSecret::parse("424242").expect("secret");
    let claim: Claim = serde_json::from_value(serde_json::json!({"schema": "qualification",
        "holder": dossier_core::field::to_hex(&secret.commitment()),
        "fields": {"degree_level": "master", "field": "law", "institution": "UL-001", "award_year": 2015}}))
    .expect("claim");
    let e = claim.encode(schemas).expect("valid");
    let credential = Credential {
        schema_id: e.schema_id,
        issuer_id: dossier_core::issuer_id(issuer).expect("id"),
        holder: e.holder,
        holder_halo2: secret.commitment_halo2(),
        credential_id: 3,
        issued_at: 20_000,
        expires_at: 30_000,
        salt: Fr::from(5u64),
        slots: e.slots,
    };
    let mut tree = MemoryTree::default();
    registry::apply(
        &mut tree,
        &[(3, credential.commitment()), (4, Fr::from(9u64))],
    )
    .expect("apply");
    let path = registry::path(&tree, 3).expect("path");
    (
        secret,
        Offered {
            credential,
            siblings: path.siblings,
            root: path.root,
            halo2: None,
        },
    )
}
