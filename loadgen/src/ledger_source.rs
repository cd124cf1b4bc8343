//! Where the ledger comes from: gateway-sim's `GET /_sim/ledger` (NDJSON, streamed line by line)
//! or an NDJSON file saved from it; several sources (shards) are merged.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Duration;

use gateway_sim::LedgerEntry;

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

/// Fetches `{base_url}/_sim/ledger` (a URL already ending in `/_sim/ledger` is used as is),
/// parsing each line as it arrives rather than holding the whole body as text first.
/// The admin token, when given, is sent both as `Authorization: Bearer` and as `X-Admin-Token`.
pub async fn fetch_ledger(
    base_url: &str,
    admin_token: Option<&str>,
) -> Result<Vec<LedgerEntry>, LedgerError> {
    let url = ledger_url(base_url);
    let http_err = |source| LedgerError::Http {
        url: url.clone(),
        source,
    };
    let client = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .map_err(http_err)?;
    let mut request = client.get(&url);
    if let Some(token) = admin_token {
        request = request.bearer_auth(token).header("X-Admin-Token", token);
    }
    let mut response = request.send().await.map_err(http_err)?;
    let status = response.status();
    if !status.is_success() {
        let mut body = response.text().await.unwrap_or_default();
        truncate(&mut body, 500);
        return Err(LedgerError::Status {
            url,
            status: status.as_u16(),
            body,
        });
    }
    let mut lines = NdjsonLines::new(url.clone());
    while let Some(chunk) = response.chunk().await.map_err(http_err)? {
        lines.feed(&chunk)?;
    }
    lines.finish()
}

/// Reads an NDJSON ledger file (as saved from `GET /_sim/ledger`).
pub fn read_ledger_file(path: &Path) -> Result<Vec<LedgerEntry>, LedgerError> {
    let io_err = |source| LedgerError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = BufReader::new(File::open(path).map_err(io_err)?);
    let mut lines = NdjsonLines::new(path.display().to_string());
    loop {
        let chunk = file.fill_buf().map_err(io_err)?;
        if chunk.is_empty() {
            break;
        }
        lines.feed(chunk)?;
        let consumed = chunk.len();
        file.consume(consumed);
    }
    lines.finish()
}

/// `spec` is a URL (http:// or https://), a file path, or several of either separated by commas
/// (the shards of a sharded gateway, or ledgers saved from several sims); their entries are
/// concatenated in the order given.
pub async fn load(spec: &str, admin_token: Option<&str>) -> Result<Vec<LedgerEntry>, LedgerError> {
    let sources: Vec<&str> = spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if sources.is_empty() {
        return Err(LedgerError::Empty);
    }
    let mut entries = Vec::new();
    for source in sources {
        let mut part = if source.starts_with("http://") || source.starts_with("https://") {
            fetch_ledger(source, admin_token).await?
        } else {
            read_ledger_file(Path::new(source))?
        };
        if entries.is_empty() {
            entries = part;
        } else {
            entries.append(&mut part);
        }
    }
    Ok(entries)
}

fn ledger_url(base_url: &str) -> String {
    let base = base_url.trim_end_matches('/');
    if base.ends_with("/_sim/ledger") {
        base.to_owned()
    } else {
        format!("{base}/_sim/ledger")
    }
}

fn truncate(text: &mut String, max: usize) {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

/// Splits a byte stream into NDJSON lines, whatever the chunk boundaries, and parses each one.
struct NdjsonLines {
    origin: String,
    /// The unfinished last line of the chunks fed so far.
    partial: Vec<u8>,
    line: usize,
    entries: Vec<LedgerEntry>,
}

impl NdjsonLines {
    fn new(origin: String) -> Self {
        NdjsonLines {
            origin,
            partial: Vec::new(),
            line: 0,
            entries: Vec::new(),
        }
    }

    fn feed(&mut self, mut chunk: &[u8]) -> Result<(), LedgerError> {
        while let Some(newline) = chunk.iter().position(|&b| b == b'\n') {
            let (head, rest) = chunk.split_at(newline);
            if self.partial.is_empty() {
                self.parse(head)?;
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(head);
                self.parse(&line)?;
            }
            chunk = &rest[1..];
        }
        self.partial.extend_from_slice(chunk);
        Ok(())
    }

    fn parse(&mut self, line: &[u8]) -> Result<(), LedgerError> {
        self.line += 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            return Ok(());
        }
        let entry = serde_json::from_slice(line).map_err(|source| LedgerError::Parse {
            origin: self.origin.clone(),
            line: self.line,
            source,
        })?;
        self.entries.push(entry);
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<LedgerEntry>, LedgerError> {
        // The last line may lack its newline.
        let last = std::mem::take(&mut self.partial);
        self.parse(&last)?;
        Ok(self.entries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gateway_sim::EntryKind;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn entry(seq: u64, reference: &str, kind: EntryKind) -> LedgerEntry {
        LedgerEntry {
            seq,
            time_ms: 1_790_000_000_000,
            merchant: "sk_test_loadgen_0".to_owned(),
            payment_id: format!("pay_{seq}"),
            reference: Some(reference.to_owned()),
            idempotency_key: None,
            kind,
            amount: 1000,
            currency: "usd".to_owned(),
            decline_code: None,
            reason: None,
        }
    }

    fn ndjson(entries: &[LedgerEntry]) -> String {
        entries
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default() + "\n")
            .collect()
    }

    fn temp_file(name: &str, text: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("loadgen-ledger-{}-{name}", std::process::id()));
        assert!(std::fs::write(&path, text).is_ok());
        path
    }

    #[test]
    fn lines_split_anywhere_across_chunks_parse_the_same() {
        let entries: Vec<LedgerEntry> = (1..=5)
            .map(|i| entry(i, &format!("o-{i}"), EntryKind::Capture))
            .collect();
        let text = ndjson(&entries) + "\n"; // a trailing blank line is fine
        let bytes = text.as_bytes();
        for step in [1, 3, 7, 64, bytes.len()] {
            let mut lines = NdjsonLines::new("test".to_owned());
            for chunk in bytes.chunks(step) {
                assert!(lines.feed(chunk).is_ok());
            }
            assert_eq!(
                lines.finish().ok().as_ref(),
                Some(&entries),
                "chunk size {step}"
            );
        }
    }

    #[test]
    fn a_bad_line_is_reported_with_its_number() {
        let text = ndjson(&[entry(1, "o-1", EntryKind::Capture)]) + "{not json}\n";
        let path = temp_file("bad.ndjson", &text);
        let err = read_ledger_file(&path);
        let _ = std::fs::remove_file(&path);
        match err {
            Err(LedgerError::Parse { line, .. }) => assert_eq!(line, 2),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }

    #[test]
    fn the_ledger_url_is_derived_from_a_base_url() {
        assert_eq!(
            ledger_url("http://127.0.0.1:4242"),
            "http://127.0.0.1:4242/_sim/ledger"
        );
        assert_eq!(
            ledger_url("http://127.0.0.1:4242/"),
            "http://127.0.0.1:4242/_sim/ledger"
        );
        assert_eq!(ledger_url("http://h/_sim/ledger"), "http://h/_sim/ledger");
    }

    /// Serves one response, written in small pieces so lines straddle reads; returns the
    /// request head it received.
    async fn serve_once(status: &str, body: String) -> (String, tokio::task::JoinHandle<String>) {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let url = format!(
            "http://{}",
            listener
                .local_addr()
                .map(|a| a.to_string())
                .unwrap_or_default()
        );
        let status = status.to_owned();
        let handle = tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return String::new();
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let reply = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/x-ndjson\r\nconnection: close\r\n\r\n"
            );
            let _ = socket.write_all(reply.as_bytes()).await;
            for piece in body.as_bytes().chunks(50) {
                let _ = socket.write_all(piece).await;
                let _ = socket.flush().await;
                tokio::task::yield_now().await;
            }
            let _ = socket.shutdown().await;
            String::from_utf8_lossy(&head).into_owned()
        });
        (url, handle)
    }

    #[tokio::test]
    async fn fetches_streamed_ndjson_with_the_admin_token() {
        let entries: Vec<LedgerEntry> = (1..=20)
            .map(|i| entry(i, &format!("o-{i}"), EntryKind::Authorization))
            .collect();
        let (url, server) = serve_once("200 OK", ndjson(&entries)).await;
        let fetched = fetch_ledger(&url, Some("admin-secret")).await;
        let head = server.await.unwrap_or_default().to_ascii_lowercase();
        assert_eq!(fetched.ok(), Some(entries));
        assert!(head.starts_with("get /_sim/ledger "), "{head}");
        assert!(
            head.contains("authorization: bearer admin-secret"),
            "{head}"
        );
        assert!(head.contains("x-admin-token: admin-secret"), "{head}");
    }

    #[tokio::test]
    async fn an_error_status_is_reported_with_its_body() {
        let (url, server) = serve_once(
            "401 Unauthorized",
            "{\"error\":\"admin token required\"}".to_owned(),
        )
        .await;
        let fetched = fetch_ledger(&url, None).await;
        let _ = server.await;
        match fetched {
            Err(LedgerError::Status { status, body, .. }) => {
                assert_eq!(status, 401);
                assert!(body.contains("admin token required"));
            }
            other => panic!("expected a status error, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn several_sources_are_merged_in_order() {
        let first: Vec<LedgerEntry> = (1..=3)
            .map(|i| entry(i, "o-a", EntryKind::Capture))
            .collect();
        let second: Vec<LedgerEntry> = (1..=2)
            .map(|i| entry(i, "o-b", EntryKind::Refund))
            .collect();
        let (url, server) = serve_once("200 OK", ndjson(&first)).await;
        let path = temp_file("shard2.ndjson", &ndjson(&second));
        let merged = load(&format!("{url}, {}", path.display()), None).await;
        let _ = server.await;
        let _ = std::fs::remove_file(&path);
        let expected: Vec<LedgerEntry> = first.into_iter().chain(second).collect();
        assert_eq!(merged.ok(), Some(expected));
        assert!(matches!(load(" , ", None).await, Err(LedgerError::Empty)));
    }
}
