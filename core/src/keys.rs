//! Ed25519 keys of issuers and of the ledger, in the signed-note key formats (c2sp.org/signed-note),
//! so that standard tools (Go's `note` package, `signed_note`) read them:
//! `PRIVATE+KEY+<name>+<key id>+<base64(0x01 || seed)>` and `<name>+<key id>+<base64(0x01 || public key)>`.

use crate::CoreError;
use base64::{engine::general_purpose::STANDARD, Engine};
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroize;

const ALG_ED25519: u8 = 1;

/// A named Ed25519 signing key. `Debug` does not show the secret.
pub struct KeyPair {
    name: String,
    key: SigningKey,
    id: u32,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair({}+{:08x})", self.name, self.id)
    }
}

/// Checks a key name as signed notes require: non-empty, no white space, no `+`.
pub fn valid_key_name(name: &str) -> bool {
    signed_note::is_key_name_valid(name)
}

fn key_id(name: &str, public: &VerifyingKey) -> u32 {
    let encoded = [&[ALG_ED25519][..], public.as_bytes()].concat();
    signed_note::key_id(name, &encoded)
}

impl KeyPair {
    /// A fresh key for `name`.
    pub fn generate<R: rand_core::CryptoRngCore>(
        name: &str,
        rng: &mut R,
    ) -> Result<KeyPair, CoreError> {
        if !valid_key_name(name) {
            return Err(CoreError::Key {
                reason: format!("`{name}` is not a valid key name (no spaces or '+')"),
            });
        }
        let key = SigningKey::generate(rng);
        let id = key_id(name, &key.verifying_key());
        Ok(KeyPair {
            name: name.to_string(),
            key,
            id,
        })
    }

    /// The key of a 32-byte Ed25519 seed (a key imported from elsewhere, or a test vector's).
    pub fn from_seed(name: &str, mut seed: [u8; 32]) -> Result<KeyPair, CoreError> {
        if !valid_key_name(name) {
            return Err(CoreError::Key {
                reason: format!("`{name}` is not a valid key name (no spaces or '+')"),
            });
        }
        let key = SigningKey::from_bytes(&seed);
        seed.zeroize();
        let id = key_id(name, &key.verifying_key());
        Ok(KeyPair {
            name: name.to_string(),
            key,
            id,
        })
    }

    /// Parses the private key format.
    pub fn parse(text: &str) -> Result<KeyPair, CoreError> {
        let bad = |reason: &str| CoreError::Key {
            reason: reason.to_string(),
        };
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| bad("not a signed-note private key"))?;
        // Base64 may itself contain '+': split off the name and id only.
        let mut parts = rest.splitn(3, '+');
        let (name, id_hex, b64) = match (parts.next(), parts.next(), parts.next()) {
            (Some(n), Some(i), Some(b)) => (n, i, b),
            _ => return Err(bad("expected PRIVATE+KEY+name+id+key")),
        };
        let mut raw = STANDARD.decode(b64).map_err(|_| bad("key is not base64"))?;
        if raw.len() != 33 || raw[0] != ALG_ED25519 {
            raw.zeroize();
            return Err(bad("not an Ed25519 key"));
        }
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&raw[1..]);
        raw.zeroize();
        let pair = KeyPair::from_seed(name, seed)?;
        if format!("{:08x}", pair.id) != id_hex {
            return Err(bad("key id does not match the key"));
        }
        Ok(pair)
    }

    /// The private key format, for a key file only.
    pub fn expose_private(&self) -> String {
        let mut raw = [&[ALG_ED25519][..], self.key.as_bytes()].concat();
        let out = format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            STANDARD.encode(&raw)
        );
        raw.zeroize();
        out
    }

    /// The verifier key format.
    pub fn verifier_key(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key.verifying_key())
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The raw public key.
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// Signs a message (Ed25519, deterministic).
    pub fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }
}

impl signed_note::Signer for KeyPair {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.sign_bytes(msg).to_vec())
    }
}

/// The signed-note verifier key of a named Ed25519 public key (a ledger's key after a rotation
/// names it by its raw bytes).
pub fn verifier_key_of(name: &str, key: &VerifyingKey) -> String {
    signed_note::new_ed25519_verifier_key(name, key)
}

/// The name (for a ledger: its origin) of a signed-note Ed25519 verifier key, checking that
/// the key parses.
pub fn verifier_key_name(vkey: &str) -> Result<String, CoreError> {
    let verifier = signed_note::StandardVerifier::new(vkey.trim()).map_err(|_| CoreError::Key {
        reason: "not a signed-note Ed25519 verifier key".into(),
    })?;
    Ok(signed_note::Verifier::name(&verifier).to_string())
}

/// The raw Ed25519 key inside a signed-note verifier key (`<name>+<id>+<base64(0x01 || key)>`).
pub fn public_from_verifier_key(vkey: &str) -> Result<VerifyingKey, CoreError> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    let bad = || CoreError::Key {
        reason: "not a signed-note Ed25519 verifier key".into(),
    };
    let b64 = vkey.trim().splitn(3, '+').nth(2).ok_or_else(bad)?;
    let raw = STANDARD.decode(b64).map_err(|_| bad())?;
    if raw.len() != 33 || raw[0] != 1 {
        return Err(bad());
    }
    let mut k = [0u8; 32];
    k.copy_from_slice(&raw[1..]);
    public_from_bytes(&k)
}

/// Verifies an Ed25519 signature strictly (refusing small-order keys and malleable signatures).
pub fn verify_strict(
    public: &VerifyingKey,
    msg: &[u8],
    sig: &[u8; 64],
    what: &str,
) -> Result<(), CoreError> {
    public
        .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
        .map_err(|_| CoreError::BadSignature {
            what: what.to_string(),
        })
}

/// Parses a raw 32-byte Ed25519 public key, refusing points that do not decode.
pub fn public_from_bytes(bytes: &[u8; 32]) -> Result<VerifyingKey, CoreError> {
    VerifyingKey::from_bytes(bytes).map_err(|_| CoreError::Key {
        reason: "public key is not a valid Ed25519 point".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verifier_key_names_its_ledger() {
        let k = KeyPair::generate("ledger.example", &mut rand::thread_rng()).expect("key");
        assert_eq!(
            verifier_key_name(&k.verifier_key()).expect("parses"),
            "ledger.example"
        );
        for bad in [
            "",
            "ledger.example",
            "ledger.example+00000000+AQ==",
            "a+b+c",
        ] {
            assert!(verifier_key_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys_whose_base64_contains_plus_round_trip() {
        // One in 64 base64 characters is '+': among 64 keys, many encodings contain one.
        let mut with_plus = 0;
        for _ in 0..64 {
            let k = KeyPair::generate("hr.example", &mut rand::thread_rng()).expect("name");
            let private = k.expose_private();
            with_plus += usize::from(private["PRIVATE+KEY+hr.example+".len()..].contains('+'));
            assert_eq!(
                KeyPair::parse(&private).expect("parse").public(),
                k.public()
            );
        }
        assert!(with_plus > 0, "the case under test occurred");
    }

    #[test]
    fn private_key_round_trips_and_is_checked() {
        let k = KeyPair::generate("hr.tax-bureau", &mut rand::thread_rng()).expect("name");
        let back = KeyPair::parse(&k.expose_private()).expect("parse");
        assert_eq!(back.public(), k.public());
        assert!(format!("{k:?}").starts_with("KeyPair(hr.tax-bureau+"));
        let mut wrong_id = k.expose_private();
        let idx = "PRIVATE+KEY+hr.tax-bureau+".len();
        wrong_id.replace_range(idx..idx + 8, "00000000");
        assert!(KeyPair::parse(&wrong_id).is_err());
        assert!(KeyPair::generate("has space", &mut rand::thread_rng()).is_err());
        assert!(signed_note::StandardVerifier::new(&k.verifier_key()).is_ok());
    }
}
