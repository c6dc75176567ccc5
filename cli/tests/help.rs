//! The binary starts and documents its commands. (Having an integration test here also makes
//! `cargo test --workspace` build the `dossier` binary that the end-to-end stories in the
//! top-level `tests/` crate run.)

use std::process::Command;

#[test]
fn help_lists_every_command() {
    let out = Command::new(env!("CARGO_BIN_EXE_dossier"))
        .arg("--help")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "demo",
        "ledger",
        "schemas",
        "issuer",
        "issue",
        "update",
        "revoke",
        "checkpoint",
        "holder",
        "witness",
        "audit",
    ] {
        assert!(text.contains(cmd), "--help mentions {cmd}");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_dossier"))
        .arg("issue")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_demo_too_small_for_its_story_is_a_usage_error_not_a_crash() {
    // Regression: `demo --people 1` panicked (index out of bounds: the story revokes holder 1's
    // degree and has four colleagues rate in the peer-rating ballot).
    for people in ["0", "1", "4"] {
        let out = Command::new(env!("CARGO_BIN_EXE_dossier"))
            .args([
                "--home",
                "/nonexistent/dossier-demo-test",
                "demo",
                "--people",
                people,
            ])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "--people {people}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--people"));
    }
}
