//! Where the ledger comes from: gateway-sim's `GET /_sim/ledger` (NDJSON, streamed line by line)
//! or an NDJSON file saved from it; several sources (shards) are merged.

use std::path::{Path, PathBuf};

use gateway_sim::engine::ledger::LedgerEntry;

/// Reading a ledger failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot fetch the ledger from {url}: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("fetching the ledger from {url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("cannot read ledger file {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("ledger from {origin}, line {line}: not a ledger entry: {source}")]
    Parse {
        origin: String,
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("no ledger source given")]
    Empty,
}

/// Fetches `{base_url}/_sim/ledger`.
pub async fn fetch_ledger(
    base_url: &str,
    admin_token: Option<&str>,
) -> Result<Vec<LedgerEntry>, LedgerError> {
    let _ = (base_url, admin_token);
    todo!()
}

/// Reads an NDJSON ledger file.
pub fn read_ledger_file(path: &Path) -> Result<Vec<LedgerEntry>, LedgerError> {
    let _ = path;
    todo!()
}

/// `spec` is a URL (http:// or https://), a file path, or several of either separated by commas.
pub async fn load(spec: &str, admin_token: Option<&str>) -> Result<Vec<LedgerEntry>, LedgerError> {
    let _ = (spec, admin_token);
    todo!()
}
