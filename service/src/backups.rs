//! Scheduled backups, the seed's "multiple backups": the service snapshots its store (the
//! store's tables and its own) into a folder every so often, while it keeps serving (a backup
//! reads one consistent snapshot; writers are not held up), and keeps the newest few. Each
//! file is a complete private database that `dossier backup verify` audits and `dossier backup
//! restore` puts back. Copy the folder off the machine (another disk, another site): a backup
//! beside the database it copies does not survive the loss of that disk.

use crate::tables;
use crate::AppState;
use dossier_store::backup::Snapshot;
use dossier_store::StoreError;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where, how often and how many.
#[derive(Clone, Debug)]
pub struct BackupPolicy {
    /// The folder the backups are written to.
    pub dir: PathBuf,
    /// How often a backup is taken.
    pub every: Duration,
    /// How many of the newest are kept (at least 1).
    pub keep: usize,
}

/// A backup's file name: `dossier-<unix milliseconds, 15 digits>.redb`, so that names sort by
/// time.
fn file_name(now_ms: u128) -> String {
    format!("dossier-{now_ms:015}.redb")
}

fn is_backup(name: &str) -> bool {
    name.len() == "dossier-".len() + 15 + ".redb".len()
        && name.starts_with("dossier-")
        && name.ends_with(".redb")
        && name["dossier-".len()..name.len() - ".redb".len()]
            .bytes()
            .all(|b| b.is_ascii_digit())
}

/// Takes one backup into `dir` now.
pub fn take(state: &AppState, dir: &Path) -> Result<Snapshot, StoreError> {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    state
        .store
        .backup(&dir.join(file_name(now_ms)), &tables::backup_tables())
}

/// Removes all but the newest `keep` backups of `dir` (other files are left alone).
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, StoreError> {
    let io = |source| StoreError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| is_backup(n))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for n in names.into_iter().take(excess) {
        let p = dir.join(n);
        std::fs::remove_file(&p).map_err(io)?;
        removed.push(p);
    }
    Ok(removed)
}

/// Takes a backup every `policy.every` (the first at start-up) until shutdown.
pub fn worker(state: Arc<AppState>, policy: BackupPolicy) {
    let mut last: Option<Instant> = None;
    while !state.shutting_down.load(Ordering::SeqCst) {
        if last.is_none_or(|t| t.elapsed() >= policy.every) {
            last = Some(Instant::now());
            let started = Instant::now();
            match take(&state, &policy.dir) {
                Ok(s) => {
                    state.metrics.backups.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(
                        path = %s.path.display(),
                        entries = s.entries,
                        rows = s.rows,
                        bytes = s.bytes,
                        ms = started.elapsed().as_millis() as u64,
                        "backup taken"
                    );
                    if let Err(e) = prune(&policy.dir, policy.keep) {
                        tracing::error!(error = %e, "pruning old backups");
                    }
                }
                Err(e) => {
                    state
                        .metrics
                        .backup_failures
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, "backup failed");
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_by_time_and_only_backups_are_pruned() {
        assert_eq!(file_name(1_700_000_000_123), "dossier-001700000000123.redb");
        assert!(is_backup(&file_name(0)));
        for other in [
            "dossier.redb",
            "dossier-12.redb",
            "dossier-00170000000012x.redb",
            "notes.txt",
        ] {
            assert!(!is_backup(other), "{other}");
        }
        let dir = tempfile::tempdir().expect("tmp");
        for ms in [3u128, 1, 2] {
            std::fs::write(dir.path().join(file_name(ms)), b"x").expect("write");
        }
        std::fs::write(dir.path().join("notes.txt"), b"x").expect("write");
        let removed = prune(dir.path(), 2).expect("prune");
        assert_eq!(removed, vec![dir.path().join(file_name(1))]);
        assert!(dir.path().join("notes.txt").exists());
        assert_eq!(
            prune(dir.path(), 0).expect("prune").len(),
            1,
            "at least one kept"
        );
    }
}
