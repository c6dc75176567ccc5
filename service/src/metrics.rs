//! Prometheus metrics in the text exposition format: request counts by route template (never
//! a concrete path, which could name an issuer or a credential) and status, verification and
//! proving outcomes, queue depth, durations.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// Presentations verified and accepted.
    pub verified_ok: AtomicU64,
    /// Presentations refused.
    pub verified_refused: AtomicU64,
    /// Credentials issued.
    pub issued: AtomicU64,
    /// Proving jobs finished.
    pub proofs_done: AtomicU64,
    /// Proving jobs failed.
    pub proofs_failed: AtomicU64,
    /// Proving jobs refused because the queue was full.
    pub proofs_rejected: AtomicU64,
    /// Proving jobs waiting or running.
    pub proofs_queued: AtomicU64,
    /// Microseconds spent proving, in total.
    pub proving_micros: AtomicU64,
    /// Verification batches run, and presentations in them.
    pub verify_batches: AtomicU64,
    /// Backups taken.
    pub backups: AtomicU64,
    /// Backups that failed.
    pub backup_failures: AtomicU64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn request(&self, method: &str, route: &str, status: u16) {
        let mut m = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *m.entry((method.to_string(), route.to_string(), status))
            .or_insert(0) += 1;
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP dossier_http_requests_total HTTP requests answered."
        );
        let _ = writeln!(s, "# TYPE dossier_http_requests_total counter");
        let m = self
            .requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for ((method, route, status), n) in m.iter() {
            let _ = writeln!(
                s,
                "dossier_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        drop(m);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let counters = [
            (
                "dossier_presentations_verified_total",
                "Presentations accepted.",
                load(&self.verified_ok),
            ),
            (
                "dossier_presentations_refused_total",
                "Presentations refused.",
                load(&self.verified_refused),
            ),
            (
                "dossier_credentials_issued_total",
                "Credentials issued.",
                load(&self.issued),
            ),
            (
                "dossier_proofs_total",
                "Proving jobs finished.",
                load(&self.proofs_done),
            ),
            (
                "dossier_proofs_failed_total",
                "Proving jobs failed.",
                load(&self.proofs_failed),
            ),
            (
                "dossier_proofs_rejected_total",
                "Proving jobs refused: queue full.",
                load(&self.proofs_rejected),
            ),
            (
                "dossier_verify_batches_total",
                "Verification batches run.",
                load(&self.verify_batches),
            ),
            (
                "dossier_backups_total",
                "Backups taken.",
                load(&self.backups),
            ),
            (
                "dossier_backup_failures_total",
                "Backups that failed.",
                load(&self.backup_failures),
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        let _ = writeln!(
            s,
            "# HELP dossier_proofs_queued Proving jobs waiting or running.\n# TYPE dossier_proofs_queued gauge\ndossier_proofs_queued {}",
            load(&self.proofs_queued)
        );
        let _ = writeln!(
            s,
            "# HELP dossier_proving_seconds_total Time spent proving.\n# TYPE dossier_proving_seconds_total counter\ndossier_proving_seconds_total {:.6}",
            load(&self.proving_micros) as f64 / 1e6
        );
        s
    }
}
