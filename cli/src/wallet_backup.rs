//! An encrypted backup of a holder's wallet, for the day a laptop dies or a file is deleted: the
//! wallet sealed under a passphrase (Argon2id, memory-hard, then XChaCha20-Poly1305), as a file;
//! and the secret alone, sealed the same way, as a QR code to print and keep (small enough to
//! scan; the credentials come back from the issuers or their openings files).
//!
//! Everything a reader needs besides the passphrase is in the header (format, contents, KDF
//! parameters, salt, nonce), which is authenticated as the cipher's associated data: a changed
//! byte anywhere, a wrong passphrase or parameters weakened below the floor are refused, and a
//! restore writes nothing. The parameters read back are bounded before they drive any work.

use crate::error::{io, CliError};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::path::Path;
use zeroize::Zeroizing;

/// The backup format.
pub const FORMAT: &str = "dossier-wallet-backup/v1";
/// The shortest passphrase a backup is sealed under.
pub const MIN_PASSPHRASE: usize = 12;
const MAX_PASSPHRASE: usize = 1024;
/// Argon2id with 64 MiB, 3 passes, 1 lane (RFC 9106, section 4, second recommended option).
const M_KIB: u32 = 64 * 1024;
const T: u32 = 3;
const P: u32 = 1;
/// The floor and ceiling of parameters a backup may name (OWASP's minimum for Argon2id is
/// 19 MiB with 2 passes; above 1 GiB a file could make a restore exhaust memory).
const M_KIB_RANGE: (u32, u32) = (19 * 1024, 1024 * 1024);
const T_RANGE: (u32, u32) = (2, 16);
const P_RANGE: (u32, u32) = (1, 8);
/// The largest sealed content read (a wallet of thousands of credentials).
const MAX_CIPHERTEXT: usize = 16 * 1024 * 1024;

/// What a backup holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Contents {
    /// The whole wallet: secret and credentials.
    Wallet,
    /// The secret alone (the QR code's).
    Secret,
}

/// The key derivation's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kdf {
    /// Always `argon2id`.
    pub alg: String,
    /// Memory, KiB.
    pub m_kib: u32,
    /// Passes.
    pub t: u32,
    /// Lanes.
    pub p: u32,
    /// Salt, base64 (16 random bytes).
    pub salt: String,
}

/// The authenticated header: everything but the ciphertext.
#[derive(Serialize)]
struct Header<'a> {
    format: &'a str,
    contents: Contents,
    kdf: &'a Kdf,
    cipher: &'a str,
    nonce: &'a str,
}

/// A sealed backup, as written to its file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sealed {
    /// [`FORMAT`].
    pub format: String,
    /// What it holds.
    pub contents: Contents,
    /// How the key is derived from the passphrase.
    pub kdf: Kdf,
    /// Always `xchacha20poly1305`.
    pub cipher: String,
    /// The nonce, base64 (24 random bytes).
    pub nonce: String,
    /// The sealed wallet file, base64.
    pub ciphertext: String,
}

const CIPHER: &str = "xchacha20poly1305";

fn refused() -> CliError {
    CliError::Input("the passphrase is wrong or the backup was altered".into())
}

fn bad(reason: &str) -> CliError {
    CliError::Input(format!("not a usable wallet backup: {reason}"))
}

fn key_of(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, CliError> {
    let salt = STANDARD
        .decode(&kdf.salt)
        .map_err(|_| bad("the salt is not base64"))?;
    if !(16..=64).contains(&salt.len()) {
        return Err(bad("the salt must be 16 to 64 bytes"));
    }
    let params =
        Params::new(kdf.m_kib, kdf.t, kdf.p, Some(32)).map_err(|_| bad("KDF parameters"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), &salt, key.as_mut())
        .map_err(|_| bad("KDF parameters"))?;
    Ok(key)
}

fn aad(s: &Sealed) -> Result<Vec<u8>, CliError> {
    serde_json::to_vec(&Header {
        format: &s.format,
        contents: s.contents,
        kdf: &s.kdf,
        cipher: &s.cipher,
        nonce: &s.nonce,
    })
    .map_err(|_| bad("header"))
}

/// Seals `plaintext` (a wallet file's text) under `passphrase`.
pub fn seal(plaintext: &[u8], contents: Contents, passphrase: &str) -> Result<Sealed, CliError> {
    check_passphrase(passphrase)?;
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let mut sealed = Sealed {
        format: FORMAT.into(),
        contents,
        kdf: Kdf {
            alg: "argon2id".into(),
            m_kib: M_KIB,
            t: T,
            p: P,
            salt: STANDARD.encode(salt),
        },
        cipher: CIPHER.into(),
        nonce: STANDARD.encode(nonce),
        ciphertext: String::new(),
    };
    let key = key_of(passphrase, &sealed.kdf)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let aad = aad(&sealed)?;
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| bad("sealing failed"))?;
    sealed.ciphertext = STANDARD.encode(ciphertext);
    Ok(sealed)
}

/// Opens a backup: its parameters checked and bounded first, then the passphrase.
pub fn open(sealed: &Sealed, passphrase: &str) -> Result<Zeroizing<Vec<u8>>, CliError> {
    if sealed.format != FORMAT || sealed.cipher != CIPHER || sealed.kdf.alg != "argon2id" {
        return Err(bad("unknown format, cipher or KDF"));
    }
    let within = |v: u32, (lo, hi): (u32, u32)| (lo..=hi).contains(&v);
    if !within(sealed.kdf.m_kib, M_KIB_RANGE)
        || !within(sealed.kdf.t, T_RANGE)
        || !within(sealed.kdf.p, P_RANGE)
    {
        return Err(bad(
            "KDF parameters outside 19 MiB-1 GiB, 2-16 passes, 1-8 lanes",
        ));
    }
    if sealed.ciphertext.len() > MAX_CIPHERTEXT / 3 * 4 + 4 {
        return Err(bad("larger than 16 MiB"));
    }
    let nonce = STANDARD
        .decode(&sealed.nonce)
        .ok()
        .filter(|n| n.len() == 24)
        .ok_or_else(|| bad("the nonce must be 24 bytes of base64"))?;
    let ciphertext = STANDARD
        .decode(&sealed.ciphertext)
        .map_err(|_| bad("the ciphertext is not base64"))?;
    let key = key_of(passphrase, &sealed.kdf)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let aad = aad(sealed)?;
    cipher
        .decrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| refused())
}

fn check_passphrase(passphrase: &str) -> Result<(), CliError> {
    let n = passphrase.chars().count();
    if n < MIN_PASSPHRASE || passphrase.len() > MAX_PASSPHRASE {
        return Err(CliError::Input(format!(
            "the passphrase must be {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters"
        )));
    }
    Ok(())
}

/// The passphrase: from a file (its first line), else `DOSSIER_PASSPHRASE`, else asked on the
/// terminal without echo (twice when sealing).
pub fn passphrase(file: Option<&Path>, confirm: bool) -> Result<Zeroizing<String>, CliError> {
    if let Some(f) = file {
        let text = Zeroizing::new(std::fs::read_to_string(f).map_err(io(f))?);
        return Ok(Zeroizing::new(
            text.lines().next().unwrap_or_default().to_string(),
        ));
    }
    if let Ok(p) = std::env::var("DOSSIER_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    let asked = Zeroizing::new(
        rpassword::prompt_password("wallet backup passphrase: ")
            .map_err(io(Path::new("the terminal")))?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("again: ").map_err(io(Path::new("the terminal")))?,
        );
        if *again != *asked {
            return Err(CliError::Input("the passphrases differ".into()));
        }
    }
    Ok(asked)
}

/// A QR code (SVG) of a sealed backup's JSON, with error correction M.
pub fn qr_svg(sealed: &Sealed) -> Result<String, CliError> {
    let code = qr_code(sealed)?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build())
}

fn qr_code(sealed: &Sealed) -> Result<qrcode::QrCode, CliError> {
    let text = serde_json::to_string(sealed).map_err(|_| bad("encoding"))?;
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| CliError::Input("the backup is too large for a QR code".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASS: &str = "correct horse battery staple";

    #[test]
    fn a_backup_opens_with_its_passphrase_only() {
        let sealed = seal(
            b"{\"format\": \"dossier-wallet/v1\"}",
            Contents::Wallet,
            PASS,
        )
        .expect("seals");
        assert_eq!(
            open(&sealed, PASS).expect("opens").as_slice(),
            b"{\"format\": \"dossier-wallet/v1\"}"
        );
        assert!(open(&sealed, "correct horse battery stapl").is_err());
        // Every header field is authenticated: a change anywhere is refused.
        let mut cases: Vec<Sealed> = Vec::new();
        let mut c = sealed.clone();
        c.contents = Contents::Secret;
        cases.push(c);
        let mut c = sealed.clone();
        c.kdf.t += 1;
        cases.push(c);
        let mut c = sealed.clone();
        let mut n = STANDARD.decode(&c.nonce).expect("b64");
        n[0] ^= 1;
        c.nonce = STANDARD.encode(n);
        cases.push(c);
        let mut c = sealed.clone();
        let mut ct = STANDARD.decode(&c.ciphertext).expect("b64");
        ct[3] ^= 1;
        c.ciphertext = STANDARD.encode(ct);
        cases.push(c);
        for (i, c) in cases.iter().enumerate() {
            assert!(open(c, PASS).is_err(), "change {i} accepted");
        }
    }

    #[test]
    fn parameters_are_bounded_before_any_work() {
        let sealed = seal(b"x", Contents::Secret, PASS).expect("seals");
        let with = |f: &dyn Fn(&mut Sealed)| {
            let mut c = sealed.clone();
            f(&mut c);
            open(&c, PASS)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        for e in [
            with(&|c| c.kdf.m_kib = 19 * 1024 - 1),
            with(&|c| c.kdf.m_kib = 1024 * 1024 + 1),
            with(&|c| c.kdf.t = 1),
            with(&|c| c.kdf.p = 0),
            with(&|c| c.kdf.alg = "argon2i".into()),
            with(&|c| c.cipher = "aes-256-gcm".into()),
            with(&|c| c.format = "other".into()),
            with(&|c| c.nonce = STANDARD.encode([0u8; 12])),
            with(&|c| c.kdf.salt = STANDARD.encode([0u8; 8])),
            with(&|c| c.ciphertext = "A".repeat(MAX_CIPHERTEXT / 3 * 4 + 8)),
        ] {
            assert!(e.contains("not a usable wallet backup"), "{e}");
        }
        assert!(seal(b"x", Contents::Secret, "short").is_err());
        assert!(seal(b"x", Contents::Secret, &"p".repeat(MAX_PASSPHRASE + 1)).is_err());
        assert!(seal(b"x", Contents::Secret, &"p".repeat(MIN_PASSPHRASE)).is_ok());
    }

    #[test]
    fn the_qr_code_carries_the_sealed_secret() {
        let sealed = seal(&[7u8; 120], Contents::Secret, PASS).expect("seals");
        let code = qr_code(&sealed).expect("fits");
        let width = code.width();
        let colors = code.to_colors();
        // Rendered at 4 pixels a module with a 4-module quiet zone, then read back by an
        // independent decoder.
        let (scale, quiet) = (4usize, 4usize);
        let side = (width + 2 * quiet) * scale;
        let mut image = rqrr::PreparedImage::prepare_from_bitmap(side, side, |x, y| {
            let (mx, my) = (x / scale, y / scale);
            if mx < quiet || my < quiet || mx >= width + quiet || my >= width + quiet {
                return false;
            }
            colors[(my - quiet) * width + (mx - quiet)] == qrcode::Color::Dark
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().expect("decodes");
        let read: Sealed = serde_json::from_str(&text).expect("a sealed backup");
        assert_eq!(open(&read, PASS).expect("opens").as_slice(), &[7u8; 120]);
        assert!(qr_svg(&sealed).expect("svg").starts_with("<?xml"));
    }
}
