//! The holder's wallet: the secret and the credentials received, in one JSON file readable only
//! by its owner (mode 0600; a wallet others can read is refused).

use crate::error::{io, CliError};
use dossier_core::credential::CredentialOpening;
use dossier_core::holder::HolderSecret;
use dossier_core::schema::SchemaSet;
use dossier_core::{field, pasta, Fr};
use dossier_store::home::write_atomic;
use serde::{Deserialize, Serialize};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const FORMAT: &str = "dossier-wallet/v1";

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

/// An open wallet.
pub struct Wallet {
    path: PathBuf,
    secret: HolderSecret,
    /// The credentials received.
    pub credentials: Vec<CredentialOpening>,
}

impl Wallet {
    /// Creates a wallet with a fresh secret; refuses to replace an existing one.
    pub fn create(path: &Path) -> Result<Wallet, CliError> {
        if path.exists() {
            return Err(CliError::Input(format!(
                "{} already exists; a wallet is never overwritten (its secret would be lost)",
                path.display()
            )));
        }
        let w = Wallet {
            path: path.to_path_buf(),
            secret: HolderSecret::random(&mut rand::rngs::OsRng),
            credentials: Vec::new(),
        };
        w.save()?;
        Ok(w)
    }

    /// Opens a wallet, refusing one that others can read.
    pub fn open(path: &Path) -> Result<Wallet, CliError> {
        let meta = std::fs::metadata(path).map_err(io(path))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(CliError::Input(format!(
                "{} is readable by others; run `chmod 600` on it first",
                path.display()
            )));
        }
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io(path))?);
        Wallet::from_text(path, &text)
    }

    /// A wallet from a wallet file's text (read, or restored from a backup), to live at `path`.
    fn from_text(path: &Path, text: &str) -> Result<Wallet, CliError> {
        let file: WalletFile = serde_json::from_str(text)
            .map_err(|_| CliError::Input(format!("{}: not a wallet", path.display())))?;
        if file.format != FORMAT {
            return Err(CliError::Input(format!(
                "{}: unknown wallet format",
                path.display()
            )));
        }
        let secret = HolderSecret::parse(&file.secret)?;
        let halo2_matches = file
            .holder_halo2
            .as_ref()
            .is_none_or(|h| *h == pasta::to_hex(&secret.commitment_halo2()));
        if field::to_hex(&secret.commitment()) != file.holder || !halo2_matches {
            return Err(CliError::Input(format!(
                "{}: the holder commitment does not match the secret",
                path.display()
            )));
        }
        Ok(Wallet {
            path: path.to_path_buf(),
            secret,
            credentials: file.credentials,
        })
    }

    /// Writes the wallet back atomically with mode 0600.
    pub fn save(&self) -> Result<(), CliError> {
        let text = self.text(true)?;
        Ok(write_atomic(&self.path, text.as_bytes(), 0o600, true)?)
    }

    /// The wallet file's text, with its credentials or the secret alone.
    pub fn text(&self, with_credentials: bool) -> Result<zeroize::Zeroizing<String>, CliError> {
        let file = WalletFile {
            format: FORMAT.into(),
            secret: self.secret.expose_hex(),
            holder: field::to_hex(&self.holder()),
            holder_halo2: Some(pasta::to_hex(&self.secret.commitment_halo2())),
            credentials: if with_credentials {
                self.credentials.clone()
            } else {
                Vec::new()
            },
        };
        serde_json::to_string_pretty(&file)
            .map(zeroize::Zeroizing::new)
            .map_err(|_| CliError::Input("the wallet cannot be written".into()))
    }

    /// Writes a wallet restored from its file's text at `path` (0600), refusing to replace an
    /// existing wallet unless `force`.
    pub fn restore(path: &Path, text: &str, force: bool) -> Result<Wallet, CliError> {
        if path.exists() && !force {
            return Err(CliError::Input(format!(
                "{} already exists; restoring over a wallet needs --force (its secret would be lost)",
                path.display()
            )));
        }
        let w = Wallet::from_text(path, text)?;
        w.save()?;
        Ok(w)
    }

    /// The secret, for building a witness on this machine only.
    pub fn secret(&self) -> &HolderSecret {
        &self.secret
    }

    /// The holder commitment.
    pub fn holder(&self) -> Fr {
        self.secret.commitment()
    }

    /// Adds a credential after checking that it opens its commitment and belongs to this holder.
    /// Returns false if it was already there.
    pub fn import(
        &mut self,
        opening: CredentialOpening,
        schemas: &SchemaSet,
    ) -> Result<bool, CliError> {
        opening.credential(schemas)?;
        if opening.holder != self.holder() {
            return Err(CliError::Input(format!(
                "credential {} of `{}` is bound to another holder",
                opening.credential_id, opening.issuer
            )));
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
