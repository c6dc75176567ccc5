//! Which storage engine a story's homes use. Every story runs on the embedded default; the
//! stories that touch the store run a second time on PostgreSQL, through [`on_postgres`]:
//! each home the story makes then gets its own database on one throw-away server shared by
//! the tests of the binary, and every `dossier` the story starts for that home is pointed at
//! it (`DOSSIER_DATABASE`). The story's code is the same on both engines.

use dossier_store::scratch::ScratchPostgres;
use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

/// A storage engine under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// One redb file in the home folder (the default).
    Embedded,
    /// A database on a PostgreSQL server.
    Postgres,
}

thread_local! {
    /// The engine new homes get on this thread.
    static ENGINE: Cell<Engine> = const { Cell::new(Engine::Embedded) };
    /// `dossier` commands this thread pointed at a PostgreSQL home.
    static ON_POSTGRES: Cell<usize> = const { Cell::new(0) };
}

/// The shared server's URL (database `postgres`), started on first use.
static SERVER: OnceLock<Option<String>> = OnceLock::new();

/// Homes bound to PostgreSQL, with their database's URL, and the folders holding them. A home
/// is bound when a `dossier` is first started for it on a thread running a story on
/// PostgreSQL, or for a new home beside one bound (a story's client threads make homes too);
/// later calls from any thread find it here.
#[derive(Default)]
struct Homes {
    urls: HashMap<PathBuf, String>,
    folders: Vec<PathBuf>,
}

static HOMES: OnceLock<Mutex<Homes>> = OnceLock::new();

/// The engine the story on this thread runs on.
pub fn current() -> Engine {
    ENGINE.with(Cell::get)
}

/// Runs `story` with every home it makes on PostgreSQL. When PostgreSQL is not installed it
/// says so where `cargo test` shows it and returns; under `CI=true` it fails instead.
pub fn on_postgres(what: &str, story: impl FnOnce()) {
    let Some(_) = SERVER.get_or_init(|| start_server(what)) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install PostgreSQL (apt-get install postgresql) for {what}"
        );
        eprintln!("SKIPPED {what} on PostgreSQL: PostgreSQL is not installed (apt-get install postgresql)");
        return;
    };
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            ENGINE.with(|e| e.set(Engine::Embedded));
        }
    }
    let _reset = Reset;
    ENGINE.with(|e| e.set(Engine::Postgres));
    ON_POSTGRES.with(|n| n.set(0));
    story();
    assert!(
        ON_POSTGRES.with(Cell::get) > 0,
        "{what} ran no `dossier` on PostgreSQL: it did not run on the engine it names"
    );
}

fn start_server(what: &str) -> Option<String> {
    match ScratchPostgres::start() {
        Ok(Some(pg)) => Some(
            pg.stop_when_this_process_ends()
                .unwrap_or_else(|e| panic!("scratch PostgreSQL for {what}: {e}")),
        ),
        Ok(None) => None,
        Err(e) => panic!("scratch PostgreSQL for {what}: {e}"),
    }
}

/// The database URL of `home` when it is (or, on a thread running a story on PostgreSQL,
/// becomes) a PostgreSQL home; `None` for an embedded home.
pub fn database_of(home: &Path) -> Option<String> {
    let homes = HOMES.get_or_init(Mutex::default);
    let mut homes = homes.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(url) = homes.urls.get(home) {
        ON_POSTGRES.with(|n| n.set(n.get() + 1));
        return Some(url.clone());
    }
    let folder = home.parent().unwrap_or(home).to_path_buf();
    if current() != Engine::Postgres && !homes.folders.contains(&folder) {
        return None;
    }
    let server = SERVER.get().cloned().flatten().expect("the shared server");
    let name = database_name(homes.urls.len());
    let url = dossier_store::scratch::new_database(&server, &name)
        .unwrap_or_else(|e| panic!("a database for a home: {e}"));
    homes.urls.insert(home.to_path_buf(), url.clone());
    if !homes.folders.contains(&folder) {
        homes.folders.push(folder);
    }
    ON_POSTGRES.with(|n| n.set(n.get() + 1));
    Some(url)
}

/// `home_a`, `home_b`, … `home_ba`, …: letters only, as the scratch server asks.
fn database_name(mut n: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    letters.reverse();
    format!("home_{}", String::from_utf8(letters).expect("ascii"))
}

/// Opens the store of `home` on its engine (a story that reads the store beside the CLI).
pub fn open_store(home: &Path, timeout: std::time::Duration) -> dossier_store::Store {
    match database_of(home) {
        Some(url) => dossier_store::Store::open_postgres(&url).expect("the home's database"),
        None => dossier_store::Store::open(&home.join("dossier.redb"), timeout).expect("store"),
    }
}

/// Opens a read-only view of the store of `home` on its engine.
pub fn open_reader(home: &Path, timeout: std::time::Duration) -> dossier_store::StoreReader {
    match database_of(home) {
        Some(url) => {
            dossier_store::StoreReader::open_postgres_read_only(&url).expect("the home's database")
        }
        None => dossier_store::StoreReader::open_read_only(&home.join("dossier.redb"), timeout)
            .expect("store"),
    }
}

/// A binary's shared fixture, one per engine: made on first use by a story on that engine.
pub struct PerEngine<T> {
    embedded: OnceLock<T>,
    postgres: OnceLock<T>,
}

impl<T> PerEngine<T> {
    /// Nothing made yet.
    pub const fn new() -> Self {
        PerEngine {
            embedded: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    /// The fixture of the engine the story on this thread runs on, made by `make` if absent.
    pub fn get_or_init(&self, make: impl FnOnce() -> T) -> &T {
        match current() {
            Engine::Embedded => self.embedded.get_or_init(make),
            Engine::Postgres => {
                // The story uses a fixture made on PostgreSQL (perhaps by another story).
                ON_POSTGRES.with(|n| n.set(n.get() + 1));
                self.postgres.get_or_init(make)
            }
        }
    }
}

impl<T> Default for PerEngine<T> {
    fn default() -> Self {
        Self::new()
    }
}
