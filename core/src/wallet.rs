//! A holder's wallet as a document: the secret, its commitments (to catch a file whose secret
//! was changed) and the credentials received, as JSON (`dossier-wallet/v1`). The one format of
//! the CLI's wallet file and of the browser wallet, which keeps it sealed
//! ([`crate::sealed`]); either imports the other's backups.

use crate::credential::CredentialOpening;
use crate::holder::HolderSecret;
use crate::schema::SchemaSet;
use crate::{field, pasta, CoreError};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The wallet document's format.
pub const FORMAT: &str = "dossier-wallet/v1";

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WalletFile {
    format: String,
    secret: String,
    holder: String,
    /// The halo2 holder commitment (Pallas field); files written before it was kept lack it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    holder_halo2: Option<String>,
    credentials: Vec<CredentialOpening>,
}

/// An open wallet: the secret and the credentials.
pub struct Wallet {
    secret: HolderSecret,
    /// The credentials received.
    pub credentials: Vec<CredentialOpening>,
}

fn malformed(reason: &str) -> CoreError {
    CoreError::Malformed {
        what: "wallet".into(),
        reason: reason.into(),
    }
}

impl Wallet {
    /// A wallet with `secret` and no credentials.
    pub fn new(secret: HolderSecret) -> Wallet {
        Wallet {
            secret,
            credentials: Vec::new(),
        }
    }

    /// A wallet from its document, refusing another format or commitments that are not the
    /// secret's. Errors never carry the document's values.
    pub fn from_text(text: &str) -> Result<Wallet, CoreError> {
        let file: WalletFile =
            serde_json::from_str(text).map_err(|_| malformed("not a wallet document"))?;
        if file.format != FORMAT {
            return Err(malformed("unknown wallet format"));
        }
        let secret = HolderSecret::parse(&file.secret)?;
        let halo2_matches = file
            .holder_halo2
            .as_ref()
            .is_none_or(|h| *h == pasta::to_hex(&secret.commitment_halo2()));
        if field::to_hex(&secret.commitment()) != file.holder || !halo2_matches {
            return Err(malformed("the holder commitment does not match the secret"));
        }
        Ok(Wallet {
            secret,
            credentials: file.credentials,
        })
    }

    /// The wallet's document, with its credentials or the secret alone.
    pub fn to_text(&self, with_credentials: bool) -> Result<Zeroizing<String>, CoreError> {
        let file = WalletFile {
            format: FORMAT.into(),
            secret: self.secret.expose_hex(),
            holder: field::to_hex(&self.secret.commitment()),
            holder_halo2: Some(pasta::to_hex(&self.secret.commitment_halo2())),
            credentials: if with_credentials {
                self.credentials.clone()
            } else {
                Vec::new()
            },
        };
        serde_json::to_string_pretty(&file)
            .map(Zeroizing::new)
            .map_err(|_| malformed("cannot be written"))
    }

    /// The secret, for building a witness on the holder's own device only.
    pub fn secret(&self) -> &HolderSecret {
        &self.secret
    }

    /// Adds a credential after checking that it opens its commitment and belongs to this holder.
    /// Returns false if it was already there.
    pub fn import(
        &mut self,
        opening: CredentialOpening,
        schemas: &SchemaSet,
    ) -> Result<bool, CoreError> {
        opening.credential(schemas)?;
        if opening.holder != self.secret.commitment() {
            return Err(CoreError::Value {
                field: format!(
                    "credential {} of `{}`",
                    opening.credential_id, opening.issuer
                ),
                reason: "bound to another holder".into(),
            });
        }
        if self
            .credentials
            .iter()
            .any(|c| c.commitment == opening.commitment)
        {
            return Ok(false);
        }
        self.credentials.push(opening);
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wallet_reads_back_and_refuses_a_changed_secret() {
        let w = Wallet::new(HolderSecret::random(&mut rand::rngs::OsRng));
        let text = w.to_text(true).expect("text");
        let back = Wallet::from_text(&text).expect("reads");
        assert_eq!(back.secret().commitment(), w.secret().commitment());
        let other = HolderSecret::random(&mut rand::rngs::OsRng).expose_hex();
        let changed = text.replace(&w.secret().expose_hex(), &other);
        let e = Wallet::from_text(&changed)
            .err()
            .expect("refused")
            .to_string();
        assert!(e.contains("does not match"), "{e}");
        assert!(!e.contains(&other[2..10]), "no value in the error");
        for bad in ["", "{}", "[]", &text.replace(FORMAT, "dossier-wallet/v9")] {
            assert!(Wallet::from_text(bad).is_err());
        }
    }
}
