//! A holder backs up their wallet under a passphrase (`dossier holder backup`, with a QR code of
//! the secret) and restores it on another machine (`dossier holder restore`). The backup and the
//! QR code are 0600 and show neither the secret nor a credential's values; a wrong passphrase,
//! a changed byte, a file that is no backup and a restore over an existing wallet without
//! --force are refused, and write nothing.

use dossier_tests::{issue_to_wallet, ok, ok_json, run};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("stat").permissions().mode() & 0o777
}

#[test]
fn a_wallet_survives_its_machine_under_a_passphrase() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let home = d.join("home");
    ok(&home, &["issuer", "init", "univ.law-school"]);
    let wallet = d.join("wallet.json");
    let holder = ok_json(&home, &["holder", "init", "--wallet", s(&wallet)]);
    issue_to_wallet(
        &home,
        "univ.law-school",
        &json!({"schema": "qualification", "holder": holder["holder"], "holder_halo2": holder["holder_halo2"],
            "fields": {"degree_level": "master", "field": "law", "institution": "Marked-Institution-7731", "award_year": 2015}}),
        &wallet,
    );
    let pass = d.join("pass.txt");
    std::fs::write(&pass, "a long enough passphrase\n").expect("write");
    let (backup, qr) = (d.join("backup.json"), d.join("secret.svg"));
    let made = ok_json(
        &home,
        &[
            "holder",
            "backup",
            "--wallet",
            s(&wallet),
            "--out",
            s(&backup),
            "--qr",
            s(&qr),
            "--passphrase-file",
            s(&pass),
        ],
    );
    assert_eq!(made["credentials"], 1);
    assert_eq!((mode(&backup), mode(&qr)), (0o600, 0o600));
    let secret = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(&wallet).expect("wallet"),
    )
    .expect("json")["secret"]
        .as_str()
        .expect("secret")
        .to_string();
    for f in [&backup, &qr] {
        let text = std::fs::read_to_string(f).expect("read");
        assert!(!text.contains(&secret[2..]), "the secret is sealed");
        assert!(
            !text.contains("Marked-Institution-7731"),
            "values are sealed"
        );
    }
    assert!(std::fs::read_to_string(&qr).expect("svg").contains("<svg"));

    // Another machine: a wrong passphrase, a changed byte and a non-backup write nothing.
    let restored = d.join("restored.json");
    let wrong = d.join("wrong.txt");
    std::fs::write(&wrong, "not the passphrase at all\n").expect("write");
    let restore = |from: &Path, pass: &Path, extra: &[&str]| {
        let mut args = vec![
            "holder",
            "restore",
            "--backup",
            s(from),
            "--wallet",
            s(&restored),
            "--passphrase-file",
            s(pass),
        ];
        args.extend_from_slice(extra);
        run(&home, &args)
    };
    let o = restore(&backup, &wrong, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrong or the backup was altered"));
    assert!(!restored.exists());
    let mut altered: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&backup).expect("read")).expect("json");
    altered["kdf"]["t"] = json!(4);
    let altered_file = d.join("altered.json");
    std::fs::write(&altered_file, altered.to_string()).expect("write");
    assert_eq!(restore(&altered_file, &pass, &[]).status.code(), Some(2));
    assert_eq!(
        restore(&wallet, &pass, &[]).status.code(),
        Some(2),
        "a wallet is no backup"
    );
    assert!(!restored.exists());

    let back = ok_json(
        &home,
        &[
            "holder",
            "restore",
            "--backup",
            s(&backup),
            "--wallet",
            s(&restored),
            "--passphrase-file",
            s(&pass),
        ],
    );
    assert_eq!(back["holder"], holder["holder"]);
    assert_eq!(back["credentials"], 1);
    assert_eq!(mode(&restored), 0o600);
    let shown = ok_json(&home, &["holder", "show", "--wallet", s(&restored)]);
    assert_eq!(shown["holder_halo2"], holder["holder_halo2"]);
    // Never over an existing wallet, unless asked; the passphrase may come from the environment.
    let o = restore(&backup, &pass, &[]);
    assert_eq!(o.status.code(), Some(2));
    let o = dossier_tests::dossier(&home)
        .args([
            "holder",
            "restore",
            "--backup",
            s(&backup),
            "--wallet",
            s(&restored),
            "--force",
        ])
        .env("DOSSIER_PASSPHRASE", "a long enough passphrase")
        .output()
        .expect("runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // A short passphrase is refused when sealing.
    let short = d.join("short.txt");
    std::fs::write(&short, "too short\n").expect("write");
    let o = run(
        &home,
        &[
            "holder",
            "backup",
            "--wallet",
            s(&wallet),
            "--out",
            s(&d.join("b2.json")),
            "--passphrase-file",
            s(&short),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(!d.join("b2.json").exists());
}
