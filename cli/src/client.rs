//! Reading a dossier service's public API over HTTP: JSON documents, and the ledger's entries
//! page by page, from which a rater or an HR office replays a registry without asking the
//! service for any one credential's path.

use crate::error::CliError;

/// The most entries downloaded for a roll (a page of 1,000 at a time).
const MAX_ROLL_ENTRIES: u64 = 100_000_000;

/// A JSON document from a service (`GET`, 60 s timeout).
pub fn fetch_json(url: &str) -> Result<serde_json::Value, CliError> {
    let response = ureq::get(url)
        .timeout(std::time::Duration::from_secs(60))
        .call()
        .map_err(|e| CliError::Input(format!("GET {url}: {e}")))?;
    response
        .into_json()
        .map_err(|e| CliError::Input(format!("GET {url}: not JSON ({e})")))
}

/// The ledger's first `size` entries from a service: every colleague (or office) downloads the
/// same pages, so the download names no credential. The entries' contents are checked where they matter:
/// a path replayed from altered entries does not lead to the roll's root, and proving refuses.
pub fn fetch_entries(url: &str, size: u64) -> Result<Vec<Vec<u8>>, CliError> {
    use base64::Engine;
    if size > MAX_ROLL_ENTRIES {
        return Err(CliError::Input(
            "the roll is larger than this client downloads".into(),
        ));
    }
    let bar = indicatif::ProgressBar::new(size).with_message("ledger entries");
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let start = out.len() as u64;
        let page = fetch_json(&format!(
            "{url}/v1/ledger/entries?start={start}&limit={}",
            (size - start).min(1000)
        ))?;
        let entries = page["entries"].as_array().cloned().unwrap_or_default();
        if entries.is_empty() {
            return Err(CliError::Input(
                "the service's ledger is shorter than the checkpoint it published".into(),
            ));
        }
        for e in entries.iter().take((size - start) as usize) {
            let data = e["data"].as_str().unwrap_or_default();
            out.push(
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map_err(|_| CliError::Input("a ledger entry is not base64".into()))?,
            );
        }
        bar.set_position(out.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}
