//! The holder's wallet: the secret and the credentials received, in one JSON file readable only
//! by its owner (mode 0600; a wallet others can read is refused).

use crate::error::{io, CliError};
use dossier_core::credential::CredentialOpening;
use dossier_core::holder::HolderSecret;
use dossier_core::schema::SchemaSet;
use dossier_core::Fr;
use dossier_store::home::write_atomic;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// An open wallet file.
pub struct Wallet {
    path: PathBuf,
    /// The document: secret and credentials.
    pub inner: dossier_core::wallet::Wallet,
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
            inner: dossier_core::wallet::Wallet::new(HolderSecret::random(&mut rand::rngs::OsRng)),
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
        let inner = dossier_core::wallet::Wallet::from_text(text)
            .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
        Ok(Wallet {
            path: path.to_path_buf(),
            inner,
        })
    }

    /// Writes the wallet back atomically with mode 0600.
    pub fn save(&self) -> Result<(), CliError> {
        let text = self.text(true)?;
        Ok(write_atomic(&self.path, text.as_bytes(), 0o600, true)?)
    }

    /// The wallet file's text, with its credentials or the secret alone.
    pub fn text(&self, with_credentials: bool) -> Result<zeroize::Zeroizing<String>, CliError> {
        Ok(self.inner.to_text(with_credentials)?)
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
        self.inner.secret()
    }

    /// The holder commitment.
    pub fn holder(&self) -> Fr {
        self.inner.secret().commitment()
    }

    /// The credentials received.
    pub fn credentials(&self) -> &[CredentialOpening] {
        &self.inner.credentials
    }

    /// Adds a credential after checking that it opens its commitment and belongs to this holder.
    /// Returns false if it was already there.
    pub fn import(
        &mut self,
        opening: CredentialOpening,
        schemas: &SchemaSet,
    ) -> Result<bool, CliError> {
        Ok(self.inner.import(opening, schemas)?)
    }
}
