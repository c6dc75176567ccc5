//! A throw-away PostgreSQL server in a temporary folder: the same tests run against both
//! engines with it, and crash tests stop it the hard way (`pg_ctl stop -m immediate`, which is
//! what a power cut leaves) and start it again.
//!
//! It uses the server programs installed from the distribution (`initdb`, `pg_ctl`, found with
//! `pg_config --bindir`, under `/usr/lib/postgresql/*/bin`, or in `DOSSIER_PG_BIN`). PostgreSQL
//! refuses to run as root, so under root the programs run as the `postgres` account with the
//! folder given to it. The server listens on a free loopback port and a Unix socket inside its
//! folder, trusts local connections (it is reachable only from this machine and lives as long
//! as the test) and is stopped and removed when dropped.

use crate::StoreError;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running throw-away server.
pub struct ScratchPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    as_postgres: bool,
}

fn failed(what: &str) -> StoreError {
    StoreError::Refused {
        reason: format!("scratch PostgreSQL: {what}"),
    }
}

/// Where the server programs are, if PostgreSQL is installed.
pub fn server_programs() -> Option<PathBuf> {
    let has_initdb = |p: &Path| p.join("initdb").is_file() && p.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("DOSSIER_PG_BIN").map(PathBuf::from) {
        return has_initdb(&dir).then_some(dir);
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_initdb(&dir) {
            return Some(dir);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| has_initdb(p))
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, StoreError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|_| failed("no free port"))?;
    l.local_addr()
        .map(|a| a.port())
        .map_err(|_| failed("no free port"))
}

impl ScratchPostgres {
    /// Makes a new cluster in a fresh temporary folder and starts it. `None` when PostgreSQL is
    /// not installed.
    pub fn start() -> Result<Option<ScratchPostgres>, StoreError> {
        let Some(bin) = server_programs() else {
            return Ok(None);
        };
        let pg = ScratchPostgres::in_new_folder(bin)?;
        let data = pg.data().display().to_string();
        pg.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "dossier", "--no-sync"],
            true,
        )?;
        pg.start_server()?;
        Ok(Some(pg))
    }

    /// A fresh temporary folder (given to the `postgres` account under root) and a free port.
    fn in_new_folder(bin: PathBuf) -> Result<ScratchPostgres, StoreError> {
        let dir = std::env::temp_dir().join(format!(
            "dossier-pg-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir).map_err(|_| failed("cannot create its folder"))?;
        let pg = ScratchPostgres {
            bin,
            dir,
            port: free_port()?,
            as_postgres: is_root(),
        };
        if pg.as_postgres {
            pg.run(
                "chown",
                &["postgres:", &pg.dir.display().to_string()],
                false,
            )?;
        }
        Ok(pg)
    }

    /// A streaming standby of this server, started from a base backup (`pg_basebackup -R`),
    /// and made synchronous: from now on the primary acknowledges a commit only once the
    /// standby has its WAL (`synchronous_standby_names = '*'`, `synchronous_commit = on`).
    pub fn synchronous_standby(&self) -> Result<ScratchPostgres, StoreError> {
        let standby = ScratchPostgres::in_new_folder(self.bin.clone())?;
        let data = standby.data().display().to_string();
        let port = self.port.to_string();
        standby.run(
            "pg_basebackup",
            &[
                "-D",
                &data,
                "-R",
                "-X",
                "stream",
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "dossier",
                "--no-sync",
            ],
            true,
        )?;
        standby.start_server()?;
        let mut client = postgres::Client::connect(&self.url(), postgres::NoTls)
            .map_err(crate::kv::pg_error("connecting"))?;
        // One statement per call: ALTER SYSTEM refuses an (implicit) transaction block.
        for sql in [
            "ALTER SYSTEM SET synchronous_standby_names = '*'",
            "SELECT pg_reload_conf()",
        ] {
            client
                .batch_execute(sql)
                .map_err(crate::kv::pg_error("making the standby synchronous"))?;
        }
        // Wait until the standby streams and is counted as synchronous.
        for _ in 0..200 {
            let rows = client
                .query(
                    "SELECT 1 FROM pg_stat_replication WHERE sync_state = 'sync'",
                    &[],
                )
                .map_err(crate::kv::pg_error("watching replication"))?;
            if !rows.is_empty() {
                return Ok(standby);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err(failed("the standby never became synchronous"))
    }

    /// Promotes a standby to primary (after its primary died).
    pub fn promote(&self) -> Result<(), StoreError> {
        self.run(
            "pg_ctl",
            &["-D", &self.data().display().to_string(), "-w", "promote"],
            true,
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn run(&self, program: &str, args: &[&str], server_program: bool) -> Result<(), StoreError> {
        let path = if server_program {
            self.bin.join(program)
        } else {
            PathBuf::from(program)
        };
        let mut cmd = if self.as_postgres && server_program {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = cmd
            .args(args)
            .output()
            .map_err(|_| failed(&format!("cannot run {program}")))?;
        if !out.status.success() {
            tracing::warn!(
                program,
                stderr = %String::from_utf8_lossy(&out.stderr),
                "scratch PostgreSQL command failed"
            );
            return Err(failed(&format!("{program} failed")));
        }
        Ok(())
    }

    fn start_server(&self) -> Result<(), StoreError> {
        self.start_server_with(&[])
    }

    /// Starts the server with `settings` (`name=value`) on top of the scratch defaults.
    fn start_server_with(&self, settings: &[&str]) -> Result<(), StoreError> {
        let mut options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.display()
        );
        for setting in settings {
            if !setting
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'=' || b == b'.')
            {
                return Err(failed(
                    "a setting is name=value in letters, digits, `_` and `.`",
                ));
            }
            options.push_str(" -c ");
            options.push_str(setting);
        }
        let log = self.dir.join("server.log").display().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
            true,
        )
    }

    /// The connection URL (database `postgres`, user `dossier`, loopback TCP).
    pub fn url(&self) -> String {
        format!("postgres://dossier@127.0.0.1:{}/postgres", self.port)
    }

    /// A URL for a new, empty database `name` on this server.
    pub fn new_database(&self, name: &str) -> Result<String, StoreError> {
        new_database(&self.url(), name)
    }

    /// Stops the server as a crash would (no checkpoint, no clean shutdown).
    pub fn crash(&self) -> Result<(), StoreError> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
            true,
        )
    }

    /// Starts the server again after [`ScratchPostgres::crash`] (it recovers from its WAL).
    pub fn restart(&self) -> Result<(), StoreError> {
        self.start_server()
    }

    /// Stops the server cleanly and starts it again with `settings` (`name=value`, e.g.
    /// `shared_buffers=4GB`): benchmarks compare the defaults with what a deployment sizes.
    pub fn restart_with(&self, settings: &[&str]) -> Result<(), StoreError> {
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data().display().to_string(),
                "-m",
                "fast",
                "-w",
                "stop",
            ],
            true,
        )?;
        self.start_server_with(settings)
    }

    /// Ties the server's life to this process instead of to a value: a watcher reads a pipe
    /// that only this process holds open, and when the process ends (a panic, `exit`, a kill)
    /// the pipe closes and the watcher stops the server and removes its folder. For a server
    /// shared by the tests of one binary, kept in a `static` that is never dropped.
    pub fn stop_when_this_process_ends(self) -> Result<String, StoreError> {
        let url = self.url();
        let stop = self.bin.join("pg_ctl");
        let data = self.data();
        let mut cmd = Command::new("sh");
        // `cat` returns at end of input; "$0" is the folder, "$@" the stop command.
        cmd.args([
            "-c",
            "cat >/dev/null; \"$@\" >/dev/null 2>&1; rm -rf \"$0\"",
        ])
        .arg(&self.dir);
        if self.as_postgres {
            cmd.args(["runuser", "-u", "postgres", "--"]);
        }
        cmd.arg(&stop)
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        let mut watcher = cmd
            .spawn()
            .map_err(|_| failed("cannot start the watcher"))?;
        // The write end stays open (close-on-exec, so no child inherits it) until this process
        // ends; the server is no longer stopped by `Drop`.
        std::mem::forget(watcher.stdin.take());
        std::mem::forget(watcher);
        std::mem::forget(self);
        Ok(url)
    }
}

impl Drop for ScratchPostgres {
    fn drop(&mut self) {
        let _ = self.crash();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Makes a new, empty database `name` (lowercase letters and `_`) on the server whose
/// database `postgres` is at `server` (a scratch server's [`ScratchPostgres::url`]), and returns
/// the new database's URL.
pub fn new_database(server: &str, name: &str) -> Result<String, StoreError> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(failed("a database name is lowercase letters and `_`"));
    }
    let base = server
        .strip_suffix("/postgres")
        .ok_or_else(|| failed("the server's URL names database postgres"))?;
    let mut client = postgres::Client::connect(server, postgres::NoTls)
        .map_err(crate::kv::pg_error("connecting"))?;
    // A name cannot be a statement parameter; it was checked to be letters and `_` above.
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .map_err(crate::kv::pg_error("creating a database"))?;
    Ok(format!("{base}/{name}"))
}

/// A scratch server for a test, or `None` with the reason printed where `cargo test` shows it
/// when PostgreSQL is not installed; under `CI=true` a missing PostgreSQL fails the test.
pub fn for_test(what: &str) -> Option<ScratchPostgres> {
    match ScratchPostgres::start() {
        Ok(Some(pg)) => Some(pg),
        Ok(None) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must install PostgreSQL (apt-get install postgresql) for {what}"
            );
            eprintln!("SKIPPED {what}: PostgreSQL is not installed (apt-get install postgresql)");
            None
        }
        Err(e) => panic!("scratch PostgreSQL for {what}: {e}"),
    }
}
