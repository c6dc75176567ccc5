//! Registry roots against circomlibjs (`fixtures/circomlibjs/gen.js`).

use dossier_core::{field, Fr};
use dossier_store::registry::{self, empty_hashes, MemoryTree, DEPTH};

#[test]
fn empty_and_populated_roots_match_circomlibjs() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/circomlibjs/vectors.json"
    ))
    .expect("fixture present");
    let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let f = |x: &serde_json::Value| {
        field::parse("vector", x.as_str().expect("string")).expect("canonical")
    };
    assert_eq!(empty_hashes()[DEPTH], f(&v["registry"]["empty_root"]));
    let leaves: Vec<(u32, Fr)> = v["registry"]["leaves"]
        .as_array()
        .expect("leaves")
        .iter()
        .map(|l| (l[0].as_u64().expect("id") as u32, f(&l[1])))
        .collect();
    let mut tree = MemoryTree::default();
    assert_eq!(
        registry::apply(&mut tree, &leaves).expect("apply"),
        f(&v["registry"]["root"])
    );
}
