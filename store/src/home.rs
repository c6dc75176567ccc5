//! The home folder of the CLI and the service: the database, the ledger's key and issuers' keys, and the holder's
//! wallet. Secret files are created with mode 0600 and written atomically.
//!
//! ```text
//! $DOSSIER_HOME/dossier.redb           registries and ledger (unless `--database postgres://...`)
//! $DOSSIER_HOME/keys/ledger.key        the ledger's checkpoint key
//! $DOSSIER_HOME/keys/issuers/<n>.key   each issuer's key
//! $DOSSIER_HOME/keys/accreditor.key    the accreditation authority's key
//! $DOSSIER_HOME/keys/members/<n>.key   each committee member's key
//! $DOSSIER_HOME/keys/openid4vp.key      the service's OpenID4VP request-signing key
//! $DOSSIER_HOME/wallet.json            the default holder wallet
//! ```

use crate::StoreError;
use crate::{Store, StoreReader};
use dossier_core::keys::KeyPair;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn refused(reason: String) -> StoreError {
    StoreError::Refused { reason }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The default ledger origin (its checkpoints' first line and its key's name).
pub const DEFAULT_ORIGIN: &str = "dossier.local/ledger";

/// Where a home's store lives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded default: `dossier.redb` in the home folder.
    #[default]
    Embedded,
    /// A PostgreSQL server, by connection URL (`postgres://user@host:port/db`).
    Postgres(String),
}

impl StoreLocation {
    /// A `--database` argument: a PostgreSQL URL (`postgres://` or `postgresql://`).
    pub fn parse(url: &str) -> Result<StoreLocation, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(StoreLocation::Postgres(url.to_string()))
        } else {
            Err(refused(
                "--database takes a PostgreSQL URL (postgres://user@host:port/db); without it the store is the embedded dossier.redb".into(),
            ))
        }
    }
}

/// Paths under the home folder, and where its store lives.
pub struct Home {
    /// The folder.
    pub dir: PathBuf,
    /// How long to wait for another process holding the database.
    pub lock_wait: Duration,
    /// The store: the embedded file in the folder, or a PostgreSQL server (keys stay in the
    /// folder either way).
    pub location: StoreLocation,
}

/// Writes a file atomically (temporary file, fsync, rename, fsync of the folder) with the given
/// mode; refuses to replace an existing file unless `replace`.
pub fn write_atomic(
    path: &Path,
    contents: &[u8],
    mode: u32,
    replace: bool,
) -> Result<(), StoreError> {
    if !replace && path.exists() {
        return Err(refused(format!(
            "{} already exists; refusing to overwrite it",
            path.display()
        )));
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io(dir))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(io(&tmp))?;
        f.write_all(contents).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))?;
    Ok(())
}

fn valid_issuer_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && !name.starts_with('.')
}

impl Home {
    /// The database file.
    pub fn db_path(&self) -> PathBuf {
        self.dir.join("dossier.redb")
    }

    /// The default wallet.
    pub fn wallet_path(&self) -> PathBuf {
        self.dir.join("wallet.json")
    }

    fn ledger_key_path(&self) -> PathBuf {
        self.dir.join("keys").join("ledger.key")
    }

    fn issuer_key_path(&self, name: &str) -> Result<PathBuf, StoreError> {
        if !valid_issuer_name(name) {
            return Err(refused(format!(
                "issuer name `{name}` must be 1-100 of a-z, 0-9, '.', '_' and '-'"
            )));
        }
        Ok(self
            .dir
            .join("keys")
            .join("issuers")
            .join(format!("{name}.key")))
    }

    /// Whether the store exists yet: the embedded file is made on first write; a PostgreSQL
    /// server is taken to hold one (its schema is made on first connection).
    pub fn store_exists(&self) -> bool {
        match self.location {
            StoreLocation::Embedded => self.db_path().exists(),
            StoreLocation::Postgres(_) => true,
        }
    }

    /// Opens the store (creating the folder and database if needed).
    pub fn store(&self) -> Result<Store, StoreError> {
        create_private_dir(&self.dir)?;
        match &self.location {
            StoreLocation::Embedded => Store::open(&self.db_path(), self.lock_wait),
            StoreLocation::Postgres(url) => Store::open_postgres(url),
        }
    }

    /// Opens the existing store read-only: for commands that only read, and for checking a
    /// write's input before the store is opened for writing (which updates the file's header).
    pub fn reader(&self) -> Result<StoreReader, StoreError> {
        if let StoreLocation::Postgres(url) = &self.location {
            return StoreReader::open_postgres_read_only(url);
        }
        let path = self.db_path();
        if !path.exists() {
            return Err(refused(format!(
                "no dossier store at {} (create one with `dossier issuer init NAME`)",
                path.display()
            )));
        }
        StoreReader::open_read_only(&path, self.lock_wait)
    }

    /// The ledger's key, created with `origin` (or the default) on first use and bound to the
    /// store.
    pub fn ledger_key(&self, store: &Store, origin: Option<&str>) -> Result<KeyPair, StoreError> {
        let path = self.ledger_key_path();
        let key = if path.exists() {
            let key = read_key(&path)?;
            if let Some(o) = origin {
                if o != key.name() {
                    return Err(refused(format!(
                        "this ledger's origin is `{}`, not `{o}`",
                        key.name()
                    )));
                }
            }
            key
        } else {
            let origin = origin.unwrap_or(DEFAULT_ORIGIN);
            let key = KeyPair::generate(origin, &mut rand::rngs::OsRng)?;
            write_atomic(&path, key.expose_private().as_bytes(), 0o600, false)?;
            key
        };
        store.init_ledger(&key)?;
        Ok(key)
    }

    fn key_path(&self, which: KeyFile<'_>) -> Result<PathBuf, StoreError> {
        match which {
            KeyFile::Ledger => Ok(self.ledger_key_path()),
            KeyFile::Issuer(name) => self.issuer_key_path(name),
            KeyFile::Accreditor => Ok(self.dir.join("keys").join("accreditor.key")),
            KeyFile::Openid4vp => Ok(self.dir.join("keys").join("openid4vp.key")),
            KeyFile::Member(name) => {
                if !valid_issuer_name(name) {
                    return Err(refused(format!(
                        "member name `{name}` must be 1-100 of a-z, 0-9, '.', '_' and '-'"
                    )));
                }
                Ok(self
                    .dir
                    .join("keys")
                    .join("members")
                    .join(format!("{name}.key")))
            }
        }
    }

    /// Creates and saves a new key for an accreditation authority or a committee member,
    /// named `name`; refused if one exists (a key is never replaced silently).
    pub fn new_key(&self, which: KeyFile<'_>, name: &str) -> Result<KeyPair, StoreError> {
        let path = self.key_path(which)?;
        let key = KeyPair::generate(name, &mut rand::rngs::OsRng)?;
        write_atomic(&path, key.expose_private().as_bytes(), 0o600, false)?;
        Ok(key)
    }

    /// The service's OpenID4VP request-signing key, created on first use (0600). Its `did:key`
    /// is the client id wallets see, so it is kept, never rotated silently.
    pub fn openid4vp_key(&self) -> Result<KeyPair, StoreError> {
        let path = self.key_path(KeyFile::Openid4vp)?;
        if path.exists() {
            return read_key(&path);
        }
        self.new_key(KeyFile::Openid4vp, "openid4vp")
    }

    /// Reads a key from the home folder.
    pub fn key(&self, which: KeyFile<'_>) -> Result<KeyPair, StoreError> {
        let path = self.key_path(which)?;
        if !path.exists() {
            return Err(refused(format!("no key at {}", path.display())));
        }
        read_key(&path)
    }

    fn next_path(&self, which: KeyFile<'_>) -> Result<PathBuf, StoreError> {
        let mut p = self.key_path(which)?.into_os_string();
        p.push(".next");
        Ok(PathBuf::from(p))
    }

    /// The next key of a rotation or revocation, named `name` (the issuer's name or the
    /// ledger's origin): created once and kept beside the key in force as `<key>.next` (0600)
    /// until the store has committed the change ([`Home::promote_next_key`]), so that a crash
    /// between the two loses no key; an existing one is reused.
    pub fn next_key(&self, which: KeyFile<'_>, name: &str) -> Result<KeyPair, StoreError> {
        let path = self.next_path(which)?;
        if path.exists() {
            let key = read_key(&path)?;
            if key.name() != name {
                return Err(refused(format!("{} is not named `{name}`", path.display())));
            }
            return Ok(key);
        }
        let key = KeyPair::generate(name, &mut rand::rngs::OsRng)?;
        write_atomic(&path, key.expose_private().as_bytes(), 0o600, false)?;
        Ok(key)
    }

    /// Makes the next key the key in force, once the store committed its rotation: it replaces
    /// the key file (atomically, 0600) and is then removed. Running it again after a crash is
    /// harmless.
    pub fn promote_next_key(&self, which: KeyFile<'_>) -> Result<(), StoreError> {
        let next = self.next_path(which)?;
        let key = read_key(&next)?;
        write_atomic(
            &self.key_path(which)?,
            key.expose_private().as_bytes(),
            0o600,
            true,
        )?;
        fs::remove_file(&next).map_err(io(&next))
    }

    /// Creates and saves a new issuer key.
    pub fn new_issuer_key(&self, name: &str) -> Result<KeyPair, StoreError> {
        let path = self.issuer_key_path(name)?;
        let key = KeyPair::generate(name, &mut rand::rngs::OsRng)?;
        write_atomic(&path, key.expose_private().as_bytes(), 0o600, false)?;
        Ok(key)
    }

    /// Reads an issuer's key: from `explicit` if given, else from the home folder.
    pub fn issuer_key(&self, name: &str, explicit: Option<&Path>) -> Result<KeyPair, StoreError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => self.issuer_key_path(name)?,
        };
        if !path.exists() {
            return Err(refused(format!(
                "no key for issuer `{name}` at {} (run `dossier issuer init {name}`)",
                path.display()
            )));
        }
        read_key(&path)
    }
}

/// Whose key file in the home folder.
#[derive(Clone, Copy, Debug)]
pub enum KeyFile<'a> {
    /// The ledger's key.
    Ledger,
    /// An issuer's key, by name.
    Issuer(&'a str),
    /// The accreditation authority's key.
    Accreditor,
    /// A committee member's key, by name.
    Member(&'a str),
    /// The key the service signs its OpenID4VP request objects with (its verifiers' client id).
    Openid4vp,
}

/// Creates the home folder (and missing parents) readable by its owner only; an existing folder
/// keeps its mode (the files inside are private either way).
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(io(dir))
}

fn read_key(path: &Path) -> Result<KeyPair, StoreError> {
    let text = fs::read_to_string(path).map_err(io(path))?;
    KeyPair::parse(&text).map_err(|e| refused(format!("{}: {e}", path.display())))
}
