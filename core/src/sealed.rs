//! A wallet sealed under a passphrase: Argon2id (memory-hard) derives the key, XChaCha20-Poly1305
//! seals the wallet file. The one format of the CLI's backups (`dossier holder backup`, a file
//! or a QR code) and of the browser wallet's storage, so either restores the other's.
//!
//! Everything a reader needs besides the passphrase is in the header (format, contents, KDF
//! parameters, salt, nonce), which is authenticated as the cipher's associated data: a changed
//! byte anywhere, a wrong passphrase or parameters weakened below the floor are refused. The
//! parameters read back are bounded before they drive any work.

use crate::CoreError;
use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The backup format.
pub const FORMAT: &str = "dossier-wallet-backup/v1";
/// The shortest passphrase a backup is sealed under.
pub const MIN_PASSPHRASE: usize = 12;
/// The longest passphrase accepted.
pub const MAX_PASSPHRASE: usize = 1024;
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

fn refused() -> CoreError {
    CoreError::Unsealed
}

fn bad(reason: &str) -> CoreError {
    CoreError::Sealed {
        reason: reason.into(),
    }
}

fn key_of(passphrase: &str, kdf: &Kdf) -> Result<Zeroizing<[u8; 32]>, CoreError> {
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

fn aad(s: &Sealed) -> Result<Vec<u8>, CoreError> {
    serde_json::to_vec(&Header {
        format: &s.format,
        contents: s.contents,
        kdf: &s.kdf,
        cipher: &s.cipher,
        nonce: &s.nonce,
    })
    .map_err(|_| bad("header"))
}

/// Seals `plaintext` (a wallet file's text) under `passphrase`, with a salt and nonce drawn
/// from `rng` (the OS's; a browser's WebCrypto).
pub fn seal<R: RngCore + CryptoRng>(
    plaintext: &[u8],
    contents: Contents,
    passphrase: &str,
    rng: &mut R,
) -> Result<Sealed, CoreError> {
    check_passphrase(passphrase)?;
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
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
pub fn open(sealed: &Sealed, passphrase: &str) -> Result<Zeroizing<Vec<u8>>, CoreError> {
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

fn check_passphrase(passphrase: &str) -> Result<(), CoreError> {
    let n = passphrase.chars().count();
    if n < MIN_PASSPHRASE || passphrase.len() > MAX_PASSPHRASE {
        return Err(CoreError::Value {
            field: "passphrase".into(),
            reason: format!("must be {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters"),
        });
    }
    Ok(())
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
            &mut rand::rngs::OsRng,
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
        let sealed = seal(b"x", Contents::Secret, PASS, &mut rand::rngs::OsRng).expect("seals");
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
        assert!(seal(b"x", Contents::Secret, "short", &mut rand::rngs::OsRng).is_err());
        assert!(seal(
            b"x",
            Contents::Secret,
            &"p".repeat(MAX_PASSPHRASE + 1),
            &mut rand::rngs::OsRng
        )
        .is_err());
        assert!(seal(
            b"x",
            Contents::Secret,
            &"p".repeat(MIN_PASSPHRASE),
            &mut rand::rngs::OsRng
        )
        .is_ok());
    }
}
