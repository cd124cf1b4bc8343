//! `loadgen settle`: the settlement check of a gateway-sim. It moves the gateway's clock past
//! settlement, reads the ledger, the payout reconciliation report, the bank statement and the
//! discrepancies' answer key, and checks the report against the ledger (`check.rs`); with
//! `--score FILE` it scores a merchant's own reconciliation output against the answer key
//! instead (`score.rs`).
//!
//! - this file: the command (HTTP reads, printing, the verdict);
//! - `csv.rs`: reading the report and the statement;
//! - `terms.rs`: the fees and schedule the report is held to (`[gateway.settlement]`);
//! - `check.rs` and `score.rs`: pure functions of what was read.

mod check;
mod csv;
mod score;
mod terms;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

pub use check::{Findings, KINDS, check};
pub use csv::{ReportLine, StatementLine, read_report, read_statement};
pub use score::{AnswerKey, KindScore, read_flags, score};
pub use terms::Terms;

/// Why the settlement check could not be made (as opposed to found something wrong).
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    #[error("{url}: {message}")]
    Http { url: String, message: String },
    #[error(transparent)]
    Csv(#[from] csv::CsvError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger_source::LedgerError),
    #[error("cannot read {}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What the command was asked.
#[derive(Debug, Clone)]
pub struct SettleOptions {
    pub target: String,
    pub admin_token: Option<String>,
    pub terms: Terms,
    /// Days to move the gateway's clock before reading; `None` for enough to settle all.
    pub advance_days: Option<u64>,
}

/// What a settle check saw and found.
#[derive(Debug, Clone)]
pub struct Settlement {
    pub findings: Findings,
    /// The answer key's count of each kind.
    pub key_counts: std::collections::BTreeMap<String, usize>,
}

impl Settlement {
    /// Passes when every paid payout adds up and the check found exactly what the key lists.
    pub fn passed(&self) -> bool {
        self.findings.payout_mismatches.is_empty()
            && KINDS.iter().all(|k| {
                self.findings.count(k) == self.key_counts.get(*k).copied().unwrap_or_default()
            })
    }
}

struct Gateway {
    client: reqwest::Client,
    base: String,
    admin_token: Option<String>,
}

impl Gateway {
    fn new(base: &str, admin_token: Option<String>) -> Result<Gateway, SettleError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| SettleError::Http {
                url: base.to_string(),
                message: e.to_string(),
            })?;
        Ok(Gateway {
            client,
            base: base.trim_end_matches('/').to_string(),
            admin_token,
        })
    }

    async fn send(&self, req: reqwest::RequestBuilder, url: &str) -> Result<String, SettleError> {
        let req = match &self.admin_token {
            Some(token) => req.header("X-Admin-Token", token),
            None => req,
        };
        let err = |message: String| SettleError::Http {
            url: url.to_string(),
            message,
        };
        let response = req.send().await.map_err(|e| err(e.to_string()))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| err(e.to_string()))?;
        if !status.is_success() {
            return Err(err(format!("{status}: {body}")));
        }
        Ok(body)
    }

    async fn get(&self, path: &str) -> Result<String, SettleError> {
        let url = format!("{}{path}", self.base);
        self.send(self.client.get(&url), &url).await
    }

    /// Moves the clock `days` on and answers simulator time, Unix seconds.
    async fn advance(&self, days: u64) -> Result<u64, SettleError> {
        let url = format!("{}/_sim/clock/advance", self.base);
        let body = serde_json::json!({"seconds": days * terms::DAY}).to_string();
        let req = self
            .client
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        let stats = self.send(req, &url).await?;
        sim_time(&stats, &url)
    }

    async fn now(&self) -> Result<u64, SettleError> {
        let stats = self.get("/_sim/stats").await?;
        sim_time(&stats, &format!("{}/_sim/stats", self.base))
    }

    async fn answer_key(&self) -> Result<AnswerKey, SettleError> {
        let text = self.get("/_sim/reports/discrepancies").await?;
        serde_json::from_str(&text).map_err(|e| SettleError::Http {
            url: format!("{}/_sim/reports/discrepancies", self.base),
            message: format!("not an answer key: {e}"),
        })
    }
}

fn sim_time(stats: &str, url: &str) -> Result<u64, SettleError> {
    serde_json::from_str::<Value>(stats)
        .ok()
        .and_then(|v| v["sim_time_ms"].as_u64())
        .map(|ms| ms / 1000)
        .ok_or_else(|| SettleError::Http {
            url: url.to_string(),
            message: "no sim_time_ms in the answer".into(),
        })
}

/// Enough days for everything booked by now to be paid out, a late row one run later, and
/// the last payout to arrive.
fn days_to_settle(terms: &Terms) -> u64 {
    terms.delay_days + terms.arrival_days + 3
}

/// Advances the gateway's clock, reads what settlement produced and checks it.
pub async fn settle(options: &SettleOptions) -> Result<Settlement, SettleError> {
    let gateway = Gateway::new(&options.target, options.admin_token.clone())?;
    let days = options
        .advance_days
        .unwrap_or_else(|| days_to_settle(&options.terms));
    let now = if days > 0 {
        gateway.advance(days).await?
    } else {
        gateway.now().await?
    };
    let ledger =
        crate::ledger_source::fetch_ledger(&gateway.base, options.admin_token.as_deref()).await?;
    let report = read_report(&gateway.get("/_sim/reports/payout_reconciliation").await?)?;
    let statement = read_statement(&gateway.get("/_sim/reports/bank_statement").await?)?;
    let key = gateway.answer_key().await?;
    Ok(Settlement {
        findings: check(&ledger, &report, &statement, &options.terms, now),
        key_counts: key.counts,
    })
}

/// Reads the merchant's flagged ids and scores them against the gateway's answer key.
pub async fn score_file(
    target: &str,
    admin_token: Option<String>,
    flags: &std::path::Path,
) -> Result<Vec<KindScore>, SettleError> {
    let text = std::fs::read_to_string(flags).map_err(|source| SettleError::File {
        path: flags.to_path_buf(),
        source,
    })?;
    let gateway = Gateway::new(target, admin_token)?;
    let key = gateway.answer_key().await?;
    Ok(score(&key, &read_flags(&text)))
}

/// The terminal summary of a settle check.
pub fn summary(s: &Settlement) -> String {
    let f = &s.findings;
    let mut out = format!(
        "settlement: {} report rows, {} payouts reached the bank ({} minor units; their rows add up to {})\n",
        f.rows, f.payouts_paid, f.banked, f.banked_rows_net
    );
    for kind in KINDS {
        let key = s.key_counts.get(kind).copied().unwrap_or_default();
        let found = f.count(kind);
        let mark = if found == key { "ok" } else { "MISMATCH" };
        out.push_str(&format!(
            "  {kind:<14} found {found:>6}  answer key {key:>6}  {mark}\n"
        ));
    }
    if !f.payout_mismatches.is_empty() {
        out.push_str(&format!(
            "  payouts whose rows do not add up: {}\n",
            f.payout_mismatches.join(", ")
        ));
    }
    out
}
