//! The ledger's log against RFC 6962 known-answer vectors (`fixtures/rfc6962/`).

use dossier_core::log_proof::{leaf_hash, verify_consistency, verify_inclusion};
use dossier_store::ledger::MemoryLog;
use serde_json::Value;

fn h(v: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    let bytes: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&v.as_str().expect("hex")[2 * i..2 * i + 2], 16).expect("hex"))
        .collect();
    out.copy_from_slice(&bytes);
    out
}

fn vectors() -> (Value, MemoryLog) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/rfc6962/vectors.json"
    ))
    .expect("fixture present");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let mut log = MemoryLog::default();
    for leaf in v["leaves"].as_array().expect("leaves") {
        let s = leaf.as_str().expect("hex");
        let bytes: Vec<u8> = (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
            .collect();
        log.append(&bytes).expect("append");
    }
    (v, log)
}

fn leaf(v: &Value, i: usize) -> [u8; 32] {
    let s = v["leaves"][i].as_str().expect("hex");
    let bytes: Vec<u8> = (0..s.len() / 2)
        .map(|k| u8::from_str_radix(&s[2 * k..2 * k + 2], 16).expect("hex"))
        .collect();
    leaf_hash(&bytes)
}

#[test]
fn roots_of_every_prefix() {
    let (v, log) = vectors();
    for (size, root) in v["roots"].as_array().expect("roots").iter().enumerate() {
        assert_eq!(log.root(size as u64).expect("root"), h(root), "size {size}");
    }
}

#[test]
fn inclusion_proofs_match_and_corruptions_fail() {
    let (v, log) = vectors();
    for case in v["inclusion"].as_array().expect("inclusion") {
        let (index, size) = (
            case["index"].as_u64().expect("i"),
            case["size"].as_u64().expect("n"),
        );
        let want: Vec<[u8; 32]> = case["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(h)
            .collect();
        assert_eq!(
            log.inclusion_proof(index, size).expect("prove"),
            want,
            "{index} in {size}"
        );
        let root = h(&v["roots"][size as usize]);
        let lh = leaf(&v, index as usize);
        verify_inclusion(&want, size, root, index, lh).expect("valid proof");
        // The published corruptions: wrong index, size, leaf, root; extra, missing or flipped hashes.
        assert!(verify_inclusion(&want, size, root, index + 1, lh).is_err());
        if index > 0 {
            assert!(verify_inclusion(&want, size, root, index - 1, lh).is_err());
        }
        assert!(verify_inclusion(&want, size * 2, root, index, lh).is_err());
        assert!(verify_inclusion(&want, size, h(&v["roots"][0]), index, lh).is_err());
        assert!(verify_inclusion(&want, size, root, index, [9u8; 32]).is_err());
        let mut extra = want.clone();
        extra.push(root);
        assert!(verify_inclusion(&extra, size, root, index, lh).is_err());
        for i in 0..want.len() {
            let mut flipped = want.clone();
            flipped[i][0] ^= 8;
            assert!(verify_inclusion(&flipped, size, root, index, lh).is_err());
        }
        if !want.is_empty() {
            assert!(verify_inclusion(&want[..want.len() - 1], size, root, index, lh).is_err());
        }
    }
}

#[test]
fn consistency_proofs_match_and_corruptions_fail() {
    let (v, log) = vectors();
    for case in v["consistency"].as_array().expect("consistency") {
        let (old, new) = (
            case["old"].as_u64().expect("old"),
            case["new"].as_u64().expect("new"),
        );
        let want: Vec<[u8; 32]> = case["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(h)
            .collect();
        assert_eq!(
            log.consistency_proof(old, new).expect("prove"),
            want,
            "{old} -> {new}"
        );
        let (r1, r2) = (h(&v["roots"][old as usize]), h(&v["roots"][new as usize]));
        verify_consistency(&want, old, r1, new, r2).expect("valid proof");
        if want.is_empty() {
            continue;
        }
        assert!(
            verify_consistency(&want, old, r2, new, r1).is_err(),
            "swapped roots"
        );
        assert!(verify_consistency(&want, old + 1, r1, new, r2).is_err());
        assert!(verify_consistency(&want, old, r1, new * 2, r2).is_err());
        assert!(
            verify_consistency(&[], old, r1, new, r2).is_err(),
            "empty proof"
        );
        assert!(
            verify_consistency(&want[..want.len() - 1], old, r1, new, r2).is_err(),
            "truncated"
        );
        for i in 0..want.len() {
            let mut flipped = want.clone();
            flipped[i][0] ^= 16;
            assert!(verify_consistency(&flipped, old, r1, new, r2).is_err());
        }
    }
}
