//! W3C Data Integrity proofs with the `eddsa-jcs-2022` cryptosuite (VC Data Integrity EdDSA
//! Cryptosuites v1.0): an issuer's Ed25519 signature over the RFC 8785 canonical JSON (JCS) of
//! the proof's options and of the document, so that any Data Integrity verifier checks a
//! credential dossier exported without dossier's code. The signing keys are the issuers' keys
//! of the ledger; a verification method names its key as a `did:key`, so a check needs no
//! network, and dossier's own check also asks whose key it is (the caller's `resolve`).
//!
//! Known-answer test: the specification's own vector (`fixtures/data-integrity/`), reproduced
//! byte for byte; `fixtures/w3c` verifies our proofs with Digital Bazaar's implementation.

use crate::keys::KeyPair;
use crate::CoreError;
use ed25519_dalek::VerifyingKey;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The proof type of every Data Integrity proof.
pub const PROOF_TYPE: &str = "DataIntegrityProof";
/// The cryptosuite: EdDSA over JCS-canonical JSON.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
/// The multicodec prefix of an Ed25519 public key (0xed, as an unsigned varint).
const ED25519_PUB: [u8; 2] = [0xed, 0x01];

/// Why a proof is made, as Data Integrity names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// An issuer asserts the document (a credential).
    AssertionMethod,
    /// A holder authenticates (a presentation).
    Authentication,
}

impl Purpose {
    /// The name in a proof's `proofPurpose`.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::AssertionMethod => "assertionMethod",
            Purpose::Authentication => "authentication",
        }
    }
}

/// The options of a proof to create.
#[derive(Debug, Clone)]
pub struct ProofOptions {
    /// The verification method (a `did:key` URL from [`verification_method`], or another URL
    /// that names the key).
    pub verification_method: String,
    /// Why the proof is made.
    pub purpose: Purpose,
    /// When, as an XML Schema dateTime (`2026-12-07T00:00:00Z`); optional in Data Integrity.
    pub created: Option<String>,
}

fn bad(reason: &str) -> CoreError {
    CoreError::Malformed {
        what: "data integrity proof".into(),
        reason: reason.into(),
    }
}

/// The `did:key` of an Ed25519 public key: `did:key:z6Mk…` (multibase base58btc of the
/// multicodec-prefixed key).
pub fn did_key(public: &VerifyingKey) -> String {
    format!("did:key:{}", multikey(public))
}

fn multikey(public: &VerifyingKey) -> String {
    let bytes = [&ED25519_PUB[..], public.as_bytes()].concat();
    format!("z{}", bs58::encode(bytes).into_string())
}

/// The verification method of a key as `did:key` defines it: `did:key:z6Mk…#z6Mk…`.
pub fn verification_method(public: &VerifyingKey) -> String {
    let k = multikey(public);
    format!("did:key:{k}#{k}")
}

/// The public key named by a `did:key` verification method (`did:key:X#X`, the fragment being
/// the key itself), refusing other methods, other key types and points that do not decode.
pub fn public_from_verification_method(vm: &str) -> Result<VerifyingKey, CoreError> {
    let (did, fragment) = vm
        .split_once('#')
        .ok_or_else(|| bad("the verification method is not a did:key URL with its fragment"))?;
    let key = did
        .strip_prefix("did:key:")
        .ok_or_else(|| bad("the verification method is not a did:key"))?;
    if key != fragment {
        return Err(bad("a did:key's fragment must repeat its key"));
    }
    public_from_multikey(key)
}

/// An Ed25519 public key in multibase (`z` + base58btc of 0xed01 || key).
pub fn public_from_multikey(text: &str) -> Result<VerifyingKey, CoreError> {
    // 34 bytes are at most 47 base58 digits.
    let raw = base58btc("the key", text, 64)?;
    let key: [u8; 32] = raw
        .strip_prefix(&ED25519_PUB[..])
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| bad("the key is not an Ed25519 public key"))?;
    crate::keys::public_from_bytes(&key)
}

/// Signs `document` (which must not carry a proof yet): returns it with `proof` added.
pub fn sign(document: &Value, key: &KeyPair, options: &ProofOptions) -> Result<Value, CoreError> {
    let mut secured = document.clone();
    let fields = secured
        .as_object_mut()
        .ok_or_else(|| bad("the document is not a JSON object"))?;
    if fields.contains_key("proof") {
        return Err(bad("the document already carries a proof"));
    }
    let mut proof = Map::new();
    proof.insert("type".into(), PROOF_TYPE.into());
    proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
    if let Some(created) = &options.created {
        proof.insert("created".into(), created.clone().into());
    }
    proof.insert(
        "verificationMethod".into(),
        options.verification_method.clone().into(),
    );
    proof.insert("proofPurpose".into(), options.purpose.as_str().into());
    // The document's context is signed with the options (the cryptosuite's "add proof", step 2).
    if let Some(context) = fields.get("@context") {
        proof.insert("@context".into(), context.clone());
    }
    let proof = Value::Object(proof);
    let signature = key.sign_bytes(&hash_data(&proof, document)?);
    let mut proof = proof;
    proof["proofValue"] = format!("z{}", bs58::encode(signature).into_string()).into();
    fields.insert("proof".into(), proof);
    Ok(secured)
}

/// What a verified proof establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The verification method that signed.
    pub verification_method: String,
    /// Its key.
    pub key: VerifyingKey,
}

/// Verifies the one Data Integrity proof of `secured` for `purpose`. `resolve` turns the proof's
/// verification method into the key it names (for `did:key`:
/// [`public_from_verification_method`]); whether that key may sign for the document's issuer is
/// the caller's question.
pub fn verify(
    secured: &Value,
    purpose: Purpose,
    resolve: impl FnOnce(&str) -> Result<VerifyingKey, CoreError>,
) -> Result<Verified, CoreError> {
    let mut document = secured.clone();
    let fields = document
        .as_object_mut()
        .ok_or_else(|| bad("the document is not a JSON object"))?;
    let mut options = match fields.remove("proof") {
        Some(Value::Object(p)) => p,
        Some(_) => return Err(bad("`proof` must be one proof object (no proof sets)")),
        None => return Err(bad("the document carries no proof")),
    };
    let text = |options: &Map<String, Value>, name: &str| -> Result<String, CoreError> {
        options
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| bad(&format!("the proof's `{name}` is missing")))
    };
    if text(&options, "type")? != PROOF_TYPE || text(&options, "cryptosuite")? != CRYPTOSUITE {
        return Err(bad(
            "not a DataIntegrityProof of the eddsa-jcs-2022 cryptosuite",
        ));
    }
    if text(&options, "proofPurpose")? != purpose.as_str() {
        return Err(bad("the proof was made for another purpose"));
    }
    let vm = text(&options, "verificationMethod")?;
    let signature = signature_of(&text(&options, "proofValue")?)?;
    options.remove("proofValue");
    bind_context(fields, &options)?;
    let key = resolve(&vm)?;
    let data = hash_data(&Value::Object(options), &document)?;
    crate::keys::verify_strict(&key, &data, &signature, "data integrity proof")?;
    Ok(Verified {
        verification_method: vm,
        key,
    })
}

/// The proof's `@context`, when it has one, must be where the document's begins, and is the
/// context the document is checked under (the cryptosuite's "verify proof", step 4).
fn bind_context(
    document: &mut Map<String, Value>,
    options: &Map<String, Value>,
) -> Result<(), CoreError> {
    let Some(signed) = options.get("@context") else {
        return Ok(());
    };
    let as_list = |v: &Value| match v {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    };
    let (signed_list, document_list) = (
        as_list(signed),
        document.get("@context").map(as_list).unwrap_or_default(),
    );
    if !document_list.starts_with(&signed_list) {
        return Err(bad(
            "the document's @context does not begin with the proof's",
        ));
    }
    document.insert("@context".into(), signed.clone());
    Ok(())
}

/// Multibase base58btc (`z…`), its length bounded before decoding.
fn base58btc(what: &str, text: &str, max_digits: usize) -> Result<Vec<u8>, CoreError> {
    let b58 = text
        .strip_prefix('z')
        .ok_or_else(|| bad(&format!("{what} is not multibase base58btc")))?;
    if b58.len() > max_digits {
        return Err(bad(&format!("{what} is too long")));
    }
    bs58::decode(b58)
        .into_vec()
        .map_err(|_| bad(&format!("{what} is not base58btc")))
}

fn signature_of(proof_value: &str) -> Result<[u8; 64], CoreError> {
    // 64 bytes are at most 88 base58 digits.
    let raw = base58btc("proofValue", proof_value, 88)?;
    raw.as_slice()
        .try_into()
        .map_err(|_| bad("proofValue is not a 64-byte signature"))
}

/// SHA-256(JCS(proof options)) || SHA-256(JCS(document)).
fn hash_data(options: &Value, document: &Value) -> Result<Vec<u8>, CoreError> {
    let canonical = |v: &Value| {
        serde_json_canonicalizer::to_vec(v).map_err(|_| bad("the JSON cannot be canonicalized"))
    };
    let mut out = Sha256::digest(canonical(options)?).to_vec();
    out.extend_from_slice(&Sha256::digest(canonical(document)?));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The specification's key pair and signed credential (w3c/vc-di-eddsa, TestVectors/,
    /// copied into fixtures/data-integrity with their origin).
    fn vector() -> (KeyPair, Value) {
        let pair: Value =
            serde_json::from_str(include_str!("../../fixtures/data-integrity/keyPair.json"))
                .expect("json");
        let private = pair["privateKeyMultibase"].as_str().expect("private");
        let raw = bs58::decode(&private[1..]).into_vec().expect("b58");
        // 0x8026 is the multicodec of an Ed25519 private key (varint 0x1300).
        assert_eq!(&raw[..2], &[0x80, 0x26]);
        let seed: [u8; 32] = raw[2..].try_into().expect("32 bytes");
        let key = KeyPair::from_seed("vector", seed).expect("key");
        assert_eq!(
            multikey(&key.public()),
            pair["publicKeyMultibase"].as_str().expect("public")
        );
        let signed: Value = serde_json::from_str(include_str!(
            "../../fixtures/data-integrity/eddsa-jcs-2022-signed.json"
        ))
        .expect("json");
        (key, signed)
    }

    fn vector_key(vm: &str) -> Result<VerifyingKey, CoreError> {
        let (_, fragment) = vm.split_once('#').ok_or_else(|| bad("no fragment"))?;
        public_from_multikey(fragment)
    }

    #[test]
    fn the_specifications_vector_is_reproduced_and_verifies() {
        let (key, signed) = vector();
        let mut unsigned = signed.clone();
        let proof = unsigned
            .as_object_mut()
            .expect("object")
            .remove("proof")
            .expect("proof");
        let options = ProofOptions {
            verification_method: proof["verificationMethod"].as_str().expect("vm").into(),
            purpose: Purpose::AssertionMethod,
            created: Some(proof["created"].as_str().expect("created").into()),
        };
        let ours = sign(&unsigned, &key, &options).expect("signs");
        assert_eq!(ours["proof"]["proofValue"], proof["proofValue"]);
        assert_eq!(ours, signed, "the same proof, member for member");
        let v = verify(&signed, Purpose::AssertionMethod, vector_key).expect("verifies");
        assert_eq!(v.key, key.public());
    }

    #[test]
    fn every_change_to_a_signed_document_is_refused() {
        let (_, signed) = vector();
        let refused = |doc: &Value| verify(doc, Purpose::AssertionMethod, vector_key).is_err();
        let mut changes: Vec<Value> = Vec::new();
        let mut edit = |f: &dyn Fn(&mut Value)| {
            let mut d = signed.clone();
            f(&mut d);
            changes.push(d);
        };
        edit(&|d| d["credentialSubject"]["alumniOf"] = json!("Another School"));
        edit(&|d| d["validFrom"] = json!("2023-01-02T00:00:00Z"));
        edit(&|d| d["extra"] = json!(1));
        edit(&|d| d["proof"]["created"] = json!("2023-02-24T23:36:39Z"));
        edit(&|d| d["proof"]["proofPurpose"] = json!("authentication"));
        edit(&|d| d["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022"));
        edit(&|d| d["proof"]["type"] = json!("Ed25519Signature2020"));
        edit(&|d| d["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]));
        edit(&|d| d["proof"]["proofValue"] = json!("z3"));
        edit(&|d| d["proof"]["proofValue"] = json!(format!("z{}", "1".repeat(89))));
        edit(&|d| d["proof"]["proofValue"] = json!("u"));
        edit(&|d| d["proof"] = json!([d["proof"].clone()]));
        edit(&|d| {
            d.as_object_mut().expect("object").remove("proof");
        });
        edit(&|d| {
            d["proof"]
                .as_object_mut()
                .expect("proof")
                .remove("verificationMethod");
        });
        for (i, d) in changes.iter().enumerate() {
            assert!(refused(d), "change {i} was accepted");
        }
        // A proof signed by another key does not verify under the named one.
        let other = KeyPair::generate("other", &mut rand::thread_rng()).expect("key");
        let mut unsigned = signed.clone();
        let proof = unsigned
            .as_object_mut()
            .expect("object")
            .remove("proof")
            .expect("proof");
        let forged = sign(
            &unsigned,
            &other,
            &ProofOptions {
                verification_method: proof["verificationMethod"].as_str().expect("vm").into(),
                purpose: Purpose::AssertionMethod,
                created: None,
            },
        )
        .expect("signs");
        assert!(refused(&forged));
        assert!(
            sign(
                &signed,
                &other,
                &ProofOptions {
                    verification_method: "x".into(),
                    purpose: Purpose::AssertionMethod,
                    created: None
                }
            )
            .is_err(),
            "a document that already has a proof"
        );
    }

    #[test]
    fn did_keys_round_trip_and_refuse_others() {
        let key = KeyPair::generate("k", &mut rand::thread_rng()).expect("key");
        let vm = verification_method(&key.public());
        assert!(vm.starts_with("did:key:z6Mk"), "{vm}");
        assert_eq!(
            public_from_verification_method(&vm).expect("parses"),
            key.public()
        );
        assert!(did_key(&key.public()).starts_with("did:key:z6Mk"));
        let k = multikey(&key.public());
        for bad in [
            format!("did:key:{k}"),
            format!("did:key:{k}#z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"),
            format!("did:web:example.com#{k}"),
            "did:key:zDnaeoWd5aKSeZ8QAimcVrLGEU2SnWCrY4wQneAAk5NhQyn8U#zDnaeoWd5aKSeZ8QAimcVrLGEU2SnWCrY4wQneAAk5NhQyn8U".into(),
            format!("did:key:u{}#u{}", &k[1..], &k[1..]),
            format!("did:key:z{0}#z{0}", "1".repeat(200)),
        ] {
            assert!(public_from_verification_method(&bad).is_err(), "{bad}");
        }
    }
}
