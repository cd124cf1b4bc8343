//! The run report: one [`RunReport`] value, written into the report directory as `report.json`,
//! `report.html`, `junit.xml`, plus `latency.hlog` and `outcomes.ndjson`; and a plain-text
//! summary for the terminal ([`render_summary`]).
//!
//! # `report.json` schema (`schema_version: 1`)
//!
//! One JSON object. Fields are only ever added within a schema version; a renamed or removed
//! field, or a changed meaning, bumps `schema_version`. Durations are seconds (`_s`) or
//! milliseconds (`_ms`) as their names say; money is integer minor units; rates are per second.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `schema_version` | int | 1 |
//! | `loadgen_version` | string | the loadgen crate version that wrote it |
//! | `scenario` | string | scenario name (file stem) |
//! | `mode` | `"embedded"` \| `"target"` \| `"service"` | in-process gateway-sim, a running gateway-sim (`--target`), or a merchant's service (`--service`) |
//! | `target_url` | string | the base URL driven |
//! | `seed` | int | the load seed |
//! | `started_at_unix_ms` | int | when the measured run began |
//! | `target_rate` | float | orders/s asked (open model) |
//! | `achieved_rate` | float | orders/s actually started |
//! | `duration_s` | float | measured run length |
//! | `users` | int | concurrent clients |
//! | `orders.total` | int | orders played |
//! | `orders.by_flow` | {flow: int} | per flow (`purchase`, `auth_capture`, ...) |
//! | `orders.by_result` | {result: int} | per client result (`succeeded`, `declined`, `failed`, `unknown`, `accepted`) |
//! | `requests` | int | HTTP requests recorded (all steps) |
//! | `errors` | int | requests that failed (timeouts, resets, unexpected statuses) |
//! | `error_rate` | float | `errors / requests` (0 when no requests) |
//! | `latency.overall`, `latency.steps.<step>` | StepLatency | `count`, `errors`, `corrected`, `uncorrected` |
//! | StepLatency `.corrected` / `.uncorrected` | Percentiles | `p50_ms`, `p90_ms`, `p95_ms`, `p99_ms`, `p999_ms`, `max_ms`, `mean_ms`; corrected counts from the intended send time (coordinated omission corrected), uncorrected from the actual send |
//! | `latency.curve[]` | {`percentile`, `corrected_ms`, `uncorrected_ms`} | overall percentile curve, 0..=100 |
//! | `timeline[]` | {`second`, `count`, `errors`, `p95_ms`, `p99_ms`} | per second of the run by completion time, all steps (`count` = requests completed that second) |
//! | `money.checked` | bool | false when the ledger could not be read (then the counts mean nothing) |
//! | `money.ledger_entries` | int | ledger entries read |
//! | `money.counts` | {`double_charges`, `lost_charges`, `orphan_charges`, `amount_mismatches`, `unresolved`, `unknown_charges`} | see [`crate::reconcile`]; plus `merchant` {`views`, `unreadable`, `double_fulfilments`, `paid_not_charged`, `charged_not_paid`, `state_regressions`, `refund_mismatches`} only when the run read the merchant's views (`[target.order]`) |
//! | `money.violations_total` | int | violations found |
//! | `money.violations[]` | Violation | the first [`VIOLATIONS_IN_REPORT`]: `kind`, `order_id`, `flow`, `merchant`, `result`, `amount`, `currency`, `expected_capture`, `expected_refund`, `captured`, `captures`, `refunded`, `idempotency_keys[]`, `payment_ids[]`, `ledger[]` (the order's ledger entries as `GET /_sim/ledger` prints them), `detail`; for the merchant-view kinds also `merchant_view` (what the service said) and `deliveries[]` ({`event_id`, `event_type`, `attempt`, `outcome`, `status`, `faults[]`, `sent_at_ms`}: the gateway's webhook deliveries for the order, for the first 1,000 such orders; absent when none were read) |
//! | `money.by_kind[]` | {`kind`, `orders`, `first_s`, `last_s`} | every violation kind found, with how many orders, and the earliest and latest time (seconds since the run's start; in a merge, each worker's own start) one of them sent its first request; times null for outcomes saved before loadgen kept them (violations also carry `first_sent_ms`) |
//! | `money.unresolved_sample[]` | string | up to 100 order ids the client never learned the outcome of |
//! | `money.disputes` | object | disputed orders, not violations: `won` (a `dispute_reversal` gave the funds back) and `open_or_lost`; absent when none |
//! | `money.challenges` | object | 3-D Secure challenges (`three_ds` flow) by how they ended: `completed`, `abandoned`, `failed`, `unknown`; abandoned and failed ones are held to "no money moved"; absent when none |
//! | `checks[]` | {`name`, `passed`, `observed`, `limit`, `detail`} | one per check; `limit` is null for report-only checks |
//! | `gateway_windows[]` | {`kind`, `label`, `from_s`, `until_s`} | the scenario's `[[gateway.schedule]]` and `[[gateway.webhooks.outages]]` windows that overlapped the run: `kind` `outage` (its faults refuse every request), `brownout` or `webhook_outage`; `label` as the scenario wrote it (gateway time); `from_s`, `until_s` on the run's clock (`until_s` null: until the gateway stops); absent when none |
//! | `gateway_lead_ms` | float | how long the embedded gateway had run when the run started (the windows are moved left by it); absent when loadgen did not start the gateway, and the windows are then placed as if it started with the run |
//! | `passed` | bool | every check passed (the exit code is 0 exactly when this is true) |

mod chart;
mod gateway_windows;
mod hlog;
mod html;
mod json;
mod junit;
mod summary;
mod violation_times;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::latency::{LatencyRecorder, LatencySummary, SecondStats};
use crate::outcomes::{OrderOutcome, OutcomeError};
use crate::reconcile::{
    ChallengeCounts, DisputeCounts, Reconciliation, Violation, ViolationCounts,
};
use crate::thresholds::CheckResult;

pub(crate) use gateway_windows::clock_note;
pub use gateway_windows::{GatewayWindow, WindowKind, windows_on_run_clock};
pub use hlog::{HlogInterval, read_hlog, write_hlog};
pub use html::render_html;
pub use json::{read_json, write_json};
pub use junit::render_junit;
pub use summary::{merchant_counts, render_summary};
pub(crate) use violation_times::kind_times_table;
pub use violation_times::{KindTimes, kind_times};

/// The current `schema_version` of `report.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// How many violations are listed in the report (all are counted).
pub const VIOLATIONS_IN_REPORT: usize = 1000;

/// File names inside the report directory.
pub const REPORT_JSON: &str = "report.json";
pub const REPORT_HTML: &str = "report.html";
pub const JUNIT_XML: &str = "junit.xml";
pub const LATENCY_HLOG: &str = "latency.hlog";
pub const OUTCOMES_NDJSON: &str = "outcomes.ndjson";

/// How loadgen reached the payment API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMode {
    /// gateway-sim started in-process.
    Embedded,
    /// A gateway-sim already running (`--target`).
    Target,
    /// A merchant's own payment service (`--service`).
    Service,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Embedded => "embedded",
            RunMode::Target => "target",
            RunMode::Service => "service",
        }
    }
}

/// What the run was; filled by the run loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMeta {
    pub scenario: String,
    pub mode: RunMode,
    pub target_url: String,
    pub seed: u64,
    /// Unix ms when the measured run began.
    pub started_at_unix_ms: u64,
    /// Orders per second asked.
    pub target_rate: f64,
    /// Orders per second actually started.
    pub achieved_rate: f64,
    pub duration_s: f64,
    pub users: u64,
    /// User + system CPU seconds loadgen's process used while the load ran (an embedded
    /// gateway's included: it is the same process); absent where it cannot be read, and in
    /// reports written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_seconds: Option<f64>,
}

/// Order counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrderCounts {
    pub total: u64,
    pub by_flow: BTreeMap<String, u64>,
    pub by_result: BTreeMap<String, u64>,
}

impl OrderCounts {
    pub fn count(outcomes: &[OrderOutcome]) -> Self {
        let mut counts = OrderCounts {
            total: outcomes.len() as u64,
            ..OrderCounts::default()
        };
        for o in outcomes {
            *counts.by_flow.entry(o.flow.clone()).or_default() += 1;
            *counts
                .by_result
                .entry(o.result.as_str().to_owned())
                .or_default() += 1;
        }
        counts
    }
}

/// The money part of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MoneySummary {
    /// False when the ledger could not be read (then counts are all 0).
    pub checked: bool,
    pub ledger_entries: u64,
    pub counts: ViolationCounts,
    /// Total violations found (may exceed `violations.len()`).
    pub violations_total: u64,
    /// The first [`VIOLATIONS_IN_REPORT`] violations.
    pub violations: Vec<Violation>,
    /// Every kind found, with when it happened (over all violations, not only those listed).
    /// Absent from reports written before loadgen kept it.
    #[serde(default)]
    pub by_kind: Vec<KindTimes>,
    pub unresolved_sample: Vec<String>,
    /// Disputed orders by outcome (not violations); absent when none was disputed.
    #[serde(default, skip_serializing_if = "DisputeCounts::is_empty")]
    pub disputes: DisputeCounts,
    /// 3-D Secure challenges by how they ended (not violations); absent when no order met one.
    #[serde(default, skip_serializing_if = "ChallengeCounts::is_empty")]
    pub challenges: ChallengeCounts,
}

impl MoneySummary {
    pub fn from_reconciliation(rec: &Reconciliation) -> Self {
        MoneySummary {
            checked: true,
            ledger_entries: rec.ledger_entries,
            counts: rec.counts.clone(),
            violations_total: rec.violations.len() as u64,
            violations: rec
                .violations
                .iter()
                .take(VIOLATIONS_IN_REPORT)
                .cloned()
                .collect(),
            by_kind: kind_times(&rec.violations),
            unresolved_sample: rec.unresolved_sample.clone(),
            disputes: rec.disputes.clone(),
            challenges: rec.challenges.clone(),
        }
    }
}

/// The whole run, as `report.json` (see the module doc for the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub schema_version: u32,
    pub loadgen_version: String,
    #[serde(flatten)]
    pub meta: RunMeta,
    pub orders: OrderCounts,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency: LatencySummary,
    pub timeline: Vec<SecondStats>,
    pub money: MoneySummary,
    pub checks: Vec<CheckResult>,
    pub passed: bool,
    /// The scenario's gateway windows that overlapped the run, on the run's clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway_windows: Vec<GatewayWindow>,
    /// How long the embedded gateway had run when the run started (what the windows were moved
    /// by); `None` when loadgen did not start the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_lead_ms: Option<f64>,
    /// The `[settle]` step, when the scenario asked for it (its verdict is among `checks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settlement: Option<crate::settle::SettlementSummary>,
}

/// `errors / requests` over all steps; 0 when nothing was sent. What the `max_error_rate` check
/// and the report's `error_rate` use.
pub fn error_rate(latency: &LatencySummary) -> f64 {
    if latency.overall.count == 0 {
        0.0
    } else {
        latency.overall.errors as f64 / latency.overall.count as f64
    }
}

impl RunReport {
    /// Puts a finished run together. `money` is `None` when the ledger could not be read;
    /// `checks` come from [`crate::thresholds::CheckThresholds::evaluate`] (plus any the run adds).
    /// `passed` is true when every check passed.
    pub fn new(
        meta: RunMeta,
        latency: LatencySummary,
        timeline: Vec<SecondStats>,
        outcomes: &[OrderOutcome],
        money: Option<&Reconciliation>,
        checks: Vec<CheckResult>,
    ) -> Self {
        RunReport {
            schema_version: SCHEMA_VERSION,
            loadgen_version: env!("CARGO_PKG_VERSION").to_owned(),
            meta,
            orders: OrderCounts::count(outcomes),
            requests: latency.overall.count,
            errors: latency.overall.errors,
            error_rate: error_rate(&latency),
            latency,
            timeline,
            money: money
                .map(MoneySummary::from_reconciliation)
                .unwrap_or_default(),
            passed: checks.iter().all(|c| c.passed),
            checks,
            gateway_windows: Vec::new(),
            gateway_lead_ms: None,
            settlement: None,
        }
    }
}

/// Writing the report directory failed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("interval log {path}: {detail}")]
    Hlog { path: PathBuf, detail: String },
    #[error(transparent)]
    Outcomes(#[from] OutcomeError),
}

/// The files [`write_report_dir`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportFiles {
    pub json: PathBuf,
    pub html: PathBuf,
    pub junit: PathBuf,
    /// Written only when a recorder was given.
    pub hlog: Option<PathBuf>,
    /// Written only when outcomes were given.
    pub outcomes: Option<PathBuf>,
}

/// Writes every report into `dir` (created if missing): `report.json`, `report.html`,
/// `junit.xml`, and `latency.hlog` / `outcomes.ndjson` when their sources are given.
pub fn write_report_dir(
    dir: &Path,
    report: &RunReport,
    recorder: Option<&LatencyRecorder>,
    outcomes: Option<&[OrderOutcome]>,
) -> Result<ReportFiles, ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut files = ReportFiles {
        json: dir.join(REPORT_JSON),
        html: dir.join(REPORT_HTML),
        junit: dir.join(JUNIT_XML),
        ..ReportFiles::default()
    };
    write_json(&files.json, report)?;
    write_text(&files.html, &render_html(report))?;
    write_text(&files.junit, &render_junit(report))?;
    if let Some(recorder) = recorder {
        let path = dir.join(LATENCY_HLOG);
        write_hlog(&path, recorder)?;
        files.hlog = Some(path);
    }
    if let Some(outcomes) = outcomes {
        let path = dir.join(OUTCOMES_NDJSON);
        crate::outcomes::write_ndjson(&path, outcomes)?;
        files.outcomes = Some(path);
    }
    Ok(files)
}

fn write_text(path: &Path, text: &str) -> Result<(), ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Escapes text for HTML and XML bodies and attribute values.
pub(crate) fn escape_markup(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // XML 1.0 forbids most control characters even escaped; a report must stay parseable.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
