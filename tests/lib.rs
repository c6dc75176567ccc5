//! Helpers for the end-to-end stories in `tests/tests/`: run the real `dossier` binary against a
//! temporary home, and make claims.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `dossier` binary built beside these tests (`cargo test --workspace` builds it).
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile folder");
    let bin = dir.join("dossier");
    assert!(
        bin.exists(),
        "{} is missing: run the tests with `cargo test --workspace`, which builds it",
        bin.display()
    );
    bin
}

/// A command for `dossier --home <home> <args>`.
pub fn dossier(home: &Path) -> Command {
    let mut c = Command::new(binary());
    c.arg("--home")
        .arg(home)
        .env_remove("DOSSIER_HOME")
        .env_remove("DOSSIER_PARAMS");
    c
}

/// Runs `dossier` to completion.
pub fn run(home: &Path, args: &[&str]) -> Output {
    dossier(home).args(args).output().expect("dossier runs")
}

/// Runs `dossier` and insists that it succeeds; returns its stdout.
pub fn ok(home: &Path, args: &[&str]) -> String {
    let out = run(home, args);
    assert!(
        out.status.success(),
        "dossier {args:?} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Runs `dossier --json` and parses its stdout.
pub fn ok_json(home: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    serde_json::from_str(ok(home, &all).trim()).expect("JSON output")
}

/// A valid appraisal claim for a holder.
pub fn appraisal(holder: &str, year: u64) -> serde_json::Value {
    serde_json::json!({"schema": "appraisal", "holder": holder,
        "fields": {"year": year, "grade": "competent", "score": 80}})
}

/// Writes JSON Lines.
pub fn write_lines(path: &Path, values: &[serde_json::Value]) {
    let text: String = values.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(path, text).expect("write");
}

/// SHA-256 of a file, hex.
pub fn digest(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}

/// A holder commitment that belongs to nobody's wallet (for issuing test batches).
pub fn holder(i: u64) -> String {
    dossier_core::field::to_hex(
        &dossier_core::holder::HolderSecret::parse(&format!("{}", i + 1))
            .expect("secret")
            .commitment(),
    )
}

/// Issues one credential from a claim and imports its opening into a wallet (CLI, as the
/// issuer and the holder would); returns the openings file.
pub fn issue_to_wallet(
    home: &Path,
    issuer: &str,
    claim: &serde_json::Value,
    wallet: &Path,
) -> PathBuf {
    let n = rand::random::<u64>();
    let claim_file = home.join(format!("claim-{n}.json"));
    std::fs::create_dir_all(home).expect("home");
    std::fs::write(&claim_file, claim.to_string()).expect("write claim");
    let out = home.join(format!("openings-{n}.jsonl"));
    let (c, o, w) = (
        claim_file.to_str().expect("utf-8"),
        out.to_str().expect("utf-8"),
        wallet.to_str().expect("utf-8"),
    );
    ok(
        home,
        &["issue", "--issuer", issuer, "--claim", c, "--out", o],
    );
    ok(home, &["holder", "import", o, "--wallet", w]);
    out
}
