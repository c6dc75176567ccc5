//! Reading a dossier service's public API over HTTP: JSON documents, and the ledger's entries
//! page by page, from which a rater or an HR office replays a registry without asking the
//! service for any one credential's path.

use crate::error::CliError;

/// The most entries downloaded for a replay (a page of 1,000 at a time).
const MAX_ROLL_ENTRIES: u64 = 100_000_000;

/// The largest answer read from a service (a page of 1,000 entries is about 400 KB).
const MAX_ANSWER_BYTES: u64 = 16 << 20;

/// A JSON document from a service (`GET`, 60 s timeout, at most [`MAX_ANSWER_BYTES`] read).
pub fn fetch_json(url: &str) -> Result<serde_json::Value, CliError> {
    use std::io::Read;
    let response = ureq::get(url)
        .timeout(std::time::Duration::from_secs(60))
        .call()
        .map_err(|e| CliError::Input(format!("GET {url}: {e}")))?;
    serde_json::from_reader(response.into_reader().take(MAX_ANSWER_BYTES))
        .map_err(|e| CliError::Input(format!("GET {url}: not JSON, or too large ({e})")))
}

/// The ledger's verifier key as a service names it (`GET /v1/ledger`).
pub fn ledger_key(url: &str) -> Result<String, CliError> {
    fetch_json(&format!("{url}/v1/ledger"))?["log_key"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| CliError::Input("the service names no ledger key".into()))
}

/// Streams the ledger's first `size` entries from a service to `each(index, entry)`, a page
/// at a time (only one page is held): every colleague (or office) downloads the same pages,
/// so the download names no credential. The entries' contents are checked where they matter:
/// a path replayed from altered entries does not lead to the checkpoint's root, and proving
/// refuses.
pub fn each_entry(
    url: &str,
    size: u64,
    mut each: impl FnMut(u64, &[u8]) -> Result<(), CliError>,
) -> Result<(), CliError> {
    use base64::Engine;
    if size > MAX_ROLL_ENTRIES {
        return Err(CliError::Input(
            "the checkpoint is larger than this client downloads".into(),
        ));
    }
    let bar = indicatif::ProgressBar::new(size).with_message("ledger entries");
    let mut next = 0u64;
    while next < size {
        let page = fetch_json(&format!(
            "{url}/v1/ledger/entries?start={next}&limit={}",
            (size - next).min(1000)
        ))?;
        let entries = page["entries"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if entries.is_empty() {
            return Err(CliError::Input(
                "the service's ledger is shorter than the checkpoint it published".into(),
            ));
        }
        for e in entries.iter().take((size - next) as usize) {
            let data = e["data"].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .map_err(|_| CliError::Input("a ledger entry is not base64".into()))?;
            each(next, &bytes)?;
            next += 1;
        }
        bar.set_position(next);
    }
    bar.finish_and_clear();
    Ok(())
}
