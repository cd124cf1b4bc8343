//! `loadgen settle`: the settlement check of a gateway-sim. It moves the gateway's clock past
//! settlement, reads the ledger, the payout reconciliation report, the bank statement and the
//! discrepancies' answer key, and checks the report against the ledger (`check.rs`); with
//! `--score FILE` it scores a merchant's own reconciliation output against the answer key
//! instead (`score.rs`). `loadgen run` plays the same check as a step when the scenario has a
//! `[settle]` table ([`run_step`], its verdict as the run's checks), and moves the clock a day
//! at a time during the load ([`DayTicker`]).
//!
//! - this file: the command and the run's step (HTTP reads, printing, the verdict);
//! - `csv.rs`: reading the report and the statement;
//! - `terms.rs`: the fees and schedule the report is held to (`[gateway.settlement]`);
//! - `check.rs` and `score.rs`: pure functions of what was read.

mod check;
mod csv;
mod score;
mod terms;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::thresholds::CheckResult;

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

/// One discrepancy kind in the run's report: how many the check found, and the answer key's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KindCount {
    pub found: usize,
    pub answer_key: usize,
}

/// The settlement step of a run, as `report.json` keeps it (`settlement`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SettlementSummary {
    pub passed: bool,
    /// Simulated days the clock moved during the load (`[settle] day_every`).
    pub days_during_load: u64,
    /// Simulated days it moved after the load, before the check.
    pub days_after_load: u64,
    pub rows: usize,
    pub payouts_paid: usize,
    /// Minor units that reached the bank, and what the rows of those payouts add up to.
    pub banked: i64,
    pub banked_rows_net: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub payout_mismatches: Vec<String>,
    pub kinds: BTreeMap<String, KindCount>,
    /// Why the check could not be made (then it did not pass).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SettlementSummary {
    fn of(s: &Settlement, days_during_load: u64, days_after_load: u64) -> SettlementSummary {
        let f = &s.findings;
        SettlementSummary {
            passed: s.passed(),
            days_during_load,
            days_after_load,
            rows: f.rows,
            payouts_paid: f.payouts_paid,
            banked: f.banked,
            banked_rows_net: f.banked_rows_net,
            payout_mismatches: f.payout_mismatches.clone(),
            kinds: KINDS
                .iter()
                .map(|k| {
                    let count = KindCount {
                        found: f.count(k),
                        answer_key: s.key_counts.get(*k).copied().unwrap_or_default(),
                    };
                    (k.to_string(), count)
                })
                .collect(),
            error: None,
        }
    }

    /// The step's verdict as the run's checks: each paid payout adding up to its rows, and
    /// each discrepancy kind found as often as the answer key lists it.
    pub fn checks(&self) -> Vec<CheckResult> {
        if let Some(error) = &self.error {
            return vec![CheckResult {
                name: "settlement".into(),
                passed: false,
                observed: 0.0,
                limit: None,
                detail: format!("the settlement check could not be made: {error}"),
            }];
        }
        let mut checks = vec![CheckResult {
            name: "settlement_payouts".into(),
            passed: self.payout_mismatches.is_empty(),
            observed: self.payout_mismatches.len() as f64,
            limit: Some(0.0),
            detail: format!(
                "{} payouts reached the bank ({} minor units; their rows add up to {}); {} do not add up",
                self.payouts_paid,
                self.banked,
                self.banked_rows_net,
                self.payout_mismatches.len()
            ),
        }];
        for (kind, count) in &self.kinds {
            checks.push(CheckResult {
                name: format!("settlement_{kind}"),
                passed: count.found == count.answer_key,
                observed: count.found as f64,
                limit: Some(count.answer_key as f64),
                detail: format!(
                    "found {} {kind} rows; the answer key lists {}",
                    count.found, count.answer_key
                ),
            });
        }
        checks
    }
}

/// The settlement step of `loadgen run`: [`settle`] against the gateway at `options.target`,
/// its outcome as the run reports it. A check that cannot be made is a failed step, not a
/// failed run: the money check still stands.
pub async fn run_step(options: &SettleOptions, days_during_load: u64) -> SettlementSummary {
    let days_after_load = options
        .advance_days
        .unwrap_or_else(|| days_to_settle(&options.terms));
    match settle(options).await {
        Ok(settlement) => SettlementSummary::of(&settlement, days_during_load, days_after_load),
        Err(e) => SettlementSummary {
            days_during_load,
            days_after_load,
            error: Some(e.to_string()),
            ..SettlementSummary::default()
        },
    }
}

/// Moves a gateway-sim's clock one simulated day every `every` of real time, from its start
/// until [`DayTicker::stop`] (`[settle] day_every`), through `POST /_sim/clock/advance`: payouts
/// run and arrive while the orders come, as a month plays in a run of seconds.
pub struct DayTicker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<(u64, Option<String>)>,
}

impl DayTicker {
    pub fn start(
        target: &str,
        admin_token: Option<String>,
        every: Duration,
    ) -> Result<DayTicker, SettleError> {
        let gateway = Gateway::new(target, admin_token)?;
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            // A slow answer delays the next day rather than bunching days up after it.
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut days = 0;
            loop {
                tokio::select! {
                    _ = &mut stopped => return (days, None),
                    _ = tick.tick() => {
                        if let Err(e) = gateway.advance(1).await {
                            return (days, Some(e.to_string()));
                        }
                        days += 1;
                    }
                }
            }
        });
        Ok(DayTicker { stop, task })
    }

    /// Stops moving the clock; how many days it moved, and why it stopped early if it did.
    pub async fn stop(self) -> (u64, Option<String>) {
        let _ = self.stop.send(());
        self.task
            .await
            .unwrap_or_else(|e| (0, Some(format!("the clock task ended: {e}"))))
    }
}
