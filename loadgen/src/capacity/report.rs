//! What a capacity run reports: [`CapacityReport`], written as `capacity.json`,
//! and the terminal lines (one per step while the climb goes on, then a summary).
//!
//! # `capacity.json` schema (`schema_version: 1`)
//!
//! One JSON object. Fields are only ever added within a schema version; a
//! renamed or removed field, or a changed meaning, bumps `schema_version`.
//! Rates are orders per second; latencies milliseconds, corrected for
//! coordinated omission (from each order's due time) unless named
//! `uncorrected`; money is integer minor units.
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `schema_version` | int | 1 |
//! | `loadgen_version` | string | the loadgen crate version that wrote it |
//! | `scenario` | string | scenario name (file stem) |
//! | `mode` | `"embedded"` \| `"target"` \| `"service"` | as in `report.json` |
//! | `target_url` | string | the base URL driven |
//! | `seed` | int | the load seed |
//! | `users` | int | concurrent clients (the same at every step) |
//! | `started_at_unix_ms` | int | when the climb began |
//! | `plan.start`, `plan.step`, `plan.factor`, `plan.max_rate` | float (`step` or `factor` null) | the staircase |
//! | `plan.step_duration_s`, `plan.warm_up_s` | float | how long each rate is held; how much of its start is left out of its figures |
//! | `plan.rates[]` | float | every planned step's rate (the climb may stop earlier) |
//! | `slo.p95_ms`, `slo.p99_ms`, `slo.max_error_rate`, `slo.min_achieved_rate_ratio` | float or null | the SLO from `[checks]` (null: not set) |
//! | `steps[]` | Step | the steps that ran, in order |
//! | Step `.step` | int | 1-based |
//! | Step `.offered_rate` | float | the arrival rate asked (open model) |
//! | Step `.achieved_rate`, `.achieved_ratio` | float | orders actually started per second, and over `offered_rate` (what `min_achieved_rate_ratio` judges) |
//! | Step `.goodput` | float | orders per second that got a definitive answer (succeeded or declined) |
//! | Step `.orders`, `.late_starts` | int | orders started; of them, started more than 10 ms late (the client fell behind) |
//! | Step `.duration_s`, `.warm_up_s`, `.wall_s` | float | held for; left out; how long the step took (user start-up included) |
//! | Step `.started_s` | float | when the step's schedule started, seconds since the climb began |
//! | Step `.requests`, `.errors`, `.error_rate` | int, int, float | requests completed after the warm-up; of them failed (timeouts, resets, 5xx, 429, unexpected 4xx); the share |
//! | Step `.latency`, `.latency_uncorrected` | Percentiles | `p50_ms`, `p90_ms`, `p95_ms`, `p99_ms`, `p999_ms`, `max_ms`, `mean_ms` after the warm-up |
//! | Step `.verdict` | `"held"` \| `"broke"` \| `"interrupted"` | the SLO held, broke, or the step was cut short (Ctrl-C) and not judged |
//! | Step `.failed_checks[]`, `.reason` | string, string or null | which SLO checks failed; one line saying why |
//! | Step `.checks[]` | {`name`, `passed`, `observed`, `limit`, `detail`} | every SLO check of the step |
//! | Step `.warning` | string or null | set when the client could not keep up (raise `--users`) |
//! | `knee` | {`step`, `rate`} or null | the highest offered rate that held the SLO; null when the first step broke |
//! | `broke_at` | {`step`, `rate`, `failed_checks[]`, `reason`} or null | the first step that broke; null when none did |
//! | `stopped` | `"slo_broke"` \| `"max_rate_reached"` \| `"interrupted"` | why the climb ended |
//! | `reason` | string | one sentence: the knee, and where and why the SLO broke |
//! | `orders` | int | orders played over all steps |
//! | `money` | Money | the money check over every order of every step, as `money` in `report.json` (`checked`, `ledger_entries`, `counts`, `violations_total`, `violations[]`, `by_kind[]`, `unresolved_sample[]`); times are seconds since the climb's start |
//! | `money_checks[]` | {`name`, `passed`, `observed`, `limit`, `detail`} | the money checks with `[checks]` limits (`ledger` fails when the ledger could not be read) |
//! | `passed` | bool | a knee was found and every money check passed: the exit code is 0 exactly when this is true |
//! | `gateway_windows[]`, `gateway_lead_ms` | as in `report.json` | the scenario's gateway windows that overlapped the climb, on the climb's clock (the steps whose time overlapped one are shaded in capacity.html) |

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::latency::Percentiles;
use crate::report::{GatewayWindow, MoneySummary, ReportError, RunMode};
use crate::scenario::{RateIncrease, Scenario};
use crate::thresholds::CheckResult;

use super::CapacityPlan;

/// The current `schema_version` of `capacity.json`.
pub const SCHEMA_VERSION: u32 = 1;

/// File names inside the report directory.
pub const CAPACITY_JSON: &str = "capacity.json";
pub const CAPACITY_SVG: &str = "capacity.svg";
pub const CAPACITY_HTML: &str = "capacity.html";

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepVerdict {
    /// Every SLO check passed.
    Held,
    /// At least one SLO check failed.
    Broke,
    /// Cut short (Ctrl-C): not judged.
    Interrupted,
}

impl StepVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            StepVerdict::Held => "held",
            StepVerdict::Broke => "broke",
            StepVerdict::Interrupted => "interrupted",
        }
    }
}

/// Why the climb ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    SloBroke,
    MaxRateReached,
    Interrupted,
}

/// One step of the climb, judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub step: u32,
    pub offered_rate: f64,
    /// When the step's schedule started, seconds since the climb's start (where the gateway
    /// windows are placed). 0 in reports written before loadgen kept it.
    #[serde(default)]
    pub started_s: f64,
    pub duration_s: f64,
    pub warm_up_s: f64,
    pub wall_s: f64,
    pub orders: u64,
    pub achieved_rate: f64,
    pub achieved_ratio: f64,
    pub goodput: f64,
    pub late_starts: u64,
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub latency: Percentiles,
    pub latency_uncorrected: Percentiles,
    pub verdict: StepVerdict,
    pub failed_checks: Vec<String>,
    pub reason: Option<String>,
    pub checks: Vec<CheckResult>,
    pub warning: Option<String>,
}

/// The staircase as planned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub start: f64,
    pub step: Option<f64>,
    pub factor: Option<f64>,
    pub step_duration_s: f64,
    pub warm_up_s: f64,
    pub max_rate: f64,
    pub rates: Vec<f64>,
}

impl PlanSummary {
    pub fn of(plan: &CapacityPlan, rates: &[f64]) -> Self {
        let (step, factor) = match plan.increase {
            RateIncrease::Step(s) => (Some(s), None),
            RateIncrease::Factor(f) => (None, Some(f)),
        };
        PlanSummary {
            start: plan.start,
            step,
            factor,
            step_duration_s: plan.step_duration.as_secs_f64(),
            warm_up_s: plan.warm_up_seconds() as f64,
            max_rate: plan.max_rate,
            rates: rates.to_vec(),
        }
    }
}

/// The SLO part of `[checks]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Slo {
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_error_rate: Option<f64>,
    pub min_achieved_rate_ratio: Option<f64>,
}

impl Slo {
    pub fn is_empty(&self) -> bool {
        self.p95_ms.is_none()
            && self.p99_ms.is_none()
            && self.max_error_rate.is_none()
            && self.min_achieved_rate_ratio.is_none()
    }

    /// `p95 <= 250 ms, error rate <= 1%`, for a header line.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(v) = self.p95_ms {
            parts.push(format!("p95 <= {} ms", trim(v)));
        }
        if let Some(v) = self.p99_ms {
            parts.push(format!("p99 <= {} ms", trim(v)));
        }
        if let Some(v) = self.max_error_rate {
            parts.push(format!("error rate <= {}%", trim(v * 100.0)));
        }
        if let Some(v) = self.min_achieved_rate_ratio {
            parts.push(format!("achieved/offered >= {}", trim(v)));
        }
        parts.join(", ")
    }
}

/// A step named by its rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatePoint {
    pub step: u32,
    pub rate: f64,
}

/// Where the SLO broke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakPoint {
    pub step: u32,
    pub rate: f64,
    pub failed_checks: Vec<String>,
    pub reason: String,
}

/// What the run was, for the report's head.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub scenario: String,
    pub mode: RunMode,
    pub target_url: String,
    pub seed: u64,
    pub users: u64,
    pub started_at_unix_ms: u64,
}

/// The whole capacity run, as `capacity.json` (see the module doc for the schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    pub schema_version: u32,
    pub loadgen_version: String,
    pub scenario: String,
    pub mode: RunMode,
    pub target_url: String,
    pub seed: u64,
    pub users: u64,
    pub started_at_unix_ms: u64,
    pub plan: PlanSummary,
    pub slo: Slo,
    pub steps: Vec<StepResult>,
    pub knee: Option<RatePoint>,
    pub broke_at: Option<BreakPoint>,
    pub stopped: StopReason,
    pub reason: String,
    pub orders: u64,
    pub money: MoneySummary,
    pub money_checks: Vec<CheckResult>,
    pub passed: bool,
    /// The scenario's gateway windows that overlapped the climb, on the climb's clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gateway_windows: Vec<GatewayWindow>,
    /// How long the embedded gateway had run when the climb started; `None` when loadgen did
    /// not start the gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_lead_ms: Option<f64>,
}

/// The knee (the last step that held before the first that did not), where it
/// broke, and why the climb stopped. Steps after a non-held one are ignored:
/// the climb never runs them, and a rate above a break proves nothing.
pub fn find_knee(steps: &[StepResult]) -> (Option<RatePoint>, Option<BreakPoint>, StopReason) {
    let mut knee = None;
    for s in steps {
        match s.verdict {
            StepVerdict::Held => {
                knee = Some(RatePoint {
                    step: s.step,
                    rate: s.offered_rate,
                })
            }
            StepVerdict::Broke => {
                let broke = BreakPoint {
                    step: s.step,
                    rate: s.offered_rate,
                    failed_checks: s.failed_checks.clone(),
                    reason: s.reason.clone().unwrap_or_default(),
                };
                return (knee, Some(broke), StopReason::SloBroke);
            }
            StepVerdict::Interrupted => return (knee, None, StopReason::Interrupted),
        }
    }
    (knee, None, StopReason::MaxRateReached)
}

impl CapacityReport {
    /// Puts the climb together; `passed` is a knee found and every money check passed.
    pub fn new(
        info: RunInfo,
        plan: PlanSummary,
        slo: Slo,
        steps: Vec<StepResult>,
        orders: u64,
        money: MoneySummary,
        money_checks: Vec<CheckResult>,
    ) -> Self {
        let (knee, broke_at, stopped) = find_knee(&steps);
        let reason = describe_outcome(knee.as_ref(), broke_at.as_ref(), stopped, &plan);
        let passed = knee.is_some() && money_checks.iter().all(|c| c.passed);
        CapacityReport {
            schema_version: SCHEMA_VERSION,
            loadgen_version: env!("CARGO_PKG_VERSION").to_owned(),
            scenario: info.scenario,
            mode: info.mode,
            target_url: info.target_url,
            seed: info.seed,
            users: info.users,
            started_at_unix_ms: info.started_at_unix_ms,
            plan,
            slo,
            steps,
            knee,
            broke_at,
            stopped,
            reason,
            orders,
            money,
            money_checks,
            passed,
            gateway_windows: Vec::new(),
            gateway_lead_ms: None,
        }
    }

    /// Whether every money check passed (the ledger read included).
    pub fn money_clean(&self) -> bool {
        self.money_checks.iter().all(|c| c.passed)
    }
}

fn describe_outcome(
    knee: Option<&RatePoint>,
    broke: Option<&BreakPoint>,
    stopped: StopReason,
    plan: &PlanSummary,
) -> String {
    let held = match knee {
        Some(k) => format!("the SLO held up to {}/s", rate(k.rate)),
        None => "the SLO held at no rate tried".to_string(),
    };
    match (stopped, broke) {
        (StopReason::SloBroke, Some(b)) => {
            format!("{held}; it broke at {}/s: {}", rate(b.rate), b.reason)
        }
        (StopReason::Interrupted, _) => format!("{held}; the climb was interrupted"),
        _ => format!(
            "{held}; it never broke up to the bound ({}/s): the knee is higher",
            rate(plan.max_rate)
        ),
    }
}

/// A rate for people: whole numbers bare, else one decimal.
pub fn rate(r: f64) -> String {
    if (r - r.round()).abs() < 0.05 {
        format!("{r:.0}")
    } else {
        format!("{r:.1}")
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// `error rate 6.52% > 1%`: one failed SLO check, briefly.
pub fn short_reason(c: &CheckResult) -> String {
    let limit = c.limit.unwrap_or(f64::NAN);
    match c.name.as_str() {
        "p95_ms" => format!("p95 {:.1} ms > {} ms", c.observed, trim(limit)),
        "p99_ms" => format!("p99 {:.1} ms > {} ms", c.observed, trim(limit)),
        "error_rate" => format!(
            "error rate {:.2}% > {}%",
            c.observed * 100.0,
            trim(limit * 100.0)
        ),
        "achieved_rate_ratio" => format!("achieved/offered {:.3} < {}", c.observed, trim(limit)),
        _ => c.detail.clone(),
    }
}

/// The line printed before the first step.
pub fn header_line(scenario: &Scenario, plan: &CapacityPlan, rates: &[f64], slo: &Slo) -> String {
    let how = match plan.increase {
        RateIncrease::Step(s) => format!("+{}/s", rate(s)),
        RateIncrease::Factor(f) => format!("x{}", trim(f)),
    };
    let warm = if plan.warm_up_seconds() > 0 {
        format!(", first {} s of each left out", plan.warm_up_seconds())
    } else {
        String::new()
    };
    format!(
        "climbing {}: up to {} steps from {}/s to {}/s ({how} per step), {:.1} s each{warm}; SLO: {}",
        scenario.name,
        rates.len(),
        rate(plan.start),
        rate(rates.last().copied().unwrap_or(plan.start)),
        plan.step_duration.as_secs_f64(),
        slo.describe()
    )
}

/// One progress line per step.
pub fn step_line(s: &StepResult, planned: usize) -> String {
    let verdict = match s.verdict {
        StepVerdict::Held => "held".to_string(),
        StepVerdict::Broke => format!("BROKE: {}", s.reason.as_deref().unwrap_or("")),
        StepVerdict::Interrupted => format!(
            "interrupted: {}",
            s.reason.as_deref().unwrap_or("not judged")
        ),
    };
    format!(
        "step {:>2}/{planned}  offered {:>8}/s  achieved {:>8}/s  goodput {:>8}/s  p50 {:>7.1} ms  p95 {:>7.1} ms  p99 {:>7.1} ms  errors {:>6.2}%  {verdict}",
        s.step,
        rate(s.offered_rate),
        rate(s.achieved_rate),
        rate(s.goodput),
        s.latency.p50_ms,
        s.latency.p95_ms,
        s.latency.p99_ms,
        s.error_rate * 100.0,
    )
}

/// The summary printed after the climb.
pub fn render_summary(r: &CapacityReport) -> String {
    let mut out = String::new();
    match &r.knee {
        Some(k) => {
            let _ = writeln!(
                out,
                "knee      {}/s: the highest offered rate that held the SLO (step {} of {})",
                rate(k.rate),
                k.step,
                r.steps.len()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "knee      none: the SLO did not hold at the first rate tried ({}/s); lower --start",
                rate(r.plan.start)
            );
        }
    }
    match (&r.broke_at, r.stopped) {
        (Some(b), _) => {
            let _ = writeln!(out, "broke at  {}/s: {}", rate(b.rate), b.reason);
        }
        (None, StopReason::MaxRateReached) => {
            let _ = writeln!(
                out,
                "broke at  never, up to the bound {}/s: raise --max-rate to find the knee",
                rate(r.plan.max_rate)
            );
        }
        (None, _) => {
            let _ = writeln!(out, "broke at  unknown: the climb was interrupted");
        }
    }
    if r.money.checked {
        let c = &r.money.counts;
        let _ = writeln!(
            out,
            "money     {} orders over {} step(s) against {} ledger entries: double charges {}, lost {}, orphan {}, amount mismatches {}, unresolved {}",
            r.orders,
            r.steps.len(),
            r.money.ledger_entries,
            c.double_charges,
            c.lost_charges,
            c.orphan_charges,
            c.amount_mismatches,
            c.unresolved
        );
    }
    for c in r.money_checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(out, "  FAIL  {:<20} {}", c.name, c.detail);
    }
    let verdict = if r.passed {
        "PASSED"
    } else if !r.money_clean() {
        "FAILED (money)"
    } else {
        "FAILED (no rate held the SLO)"
    };
    let _ = writeln!(out, "result    {verdict}");
    out
}

/// Writes `capacity.json`, pretty-printed.
pub fn write_json(path: &Path, report: &CapacityReport) -> Result<(), ReportError> {
    let mut text = serde_json::to_string_pretty(report).map_err(|source| ReportError::Json {
        path: path.to_owned(),
        source,
    })?;
    text.push('\n');
    std::fs::write(path, text).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Reads `capacity.json` back.
pub fn read_json(path: &Path) -> Result<CapacityReport, ReportError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| ReportError::Json {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn step(n: u32, offered: f64, verdict: StepVerdict) -> StepResult {
        let broke = verdict == StepVerdict::Broke;
        StepResult {
            step: n,
            offered_rate: offered,
            // Steps follow each other every 2.5 s (their wall time).
            started_s: 2.5 * f64::from(n - 1),
            duration_s: 2.0,
            warm_up_s: 0.0,
            wall_s: 2.5,
            orders: (offered * 2.0) as u64,
            achieved_rate: offered,
            achieved_ratio: 1.0,
            goodput: if broke { 400.0 } else { offered },
            late_starts: 0,
            requests: (offered * 2.0) as u64,
            errors: if broke { 60 } else { 0 },
            error_rate: if broke { 0.066 } else { 0.0 },
            latency: Percentiles {
                p50_ms: 0.5 * f64::from(n),
                p95_ms: 1.0 * f64::from(n),
                p99_ms: 2.0 * f64::from(n),
                ..Percentiles::default()
            },
            latency_uncorrected: Percentiles::default(),
            verdict,
            failed_checks: if broke {
                vec!["error_rate".into()]
            } else {
                vec![]
            },
            reason: broke.then(|| "error rate 6.60% > 1%".to_string()),
            checks: vec![],
            warning: None,
        }
    }

    pub(crate) fn report(steps: Vec<StepResult>, money_ok: bool) -> CapacityReport {
        CapacityReport::new(
            RunInfo {
                scenario: "cap<&>".into(),
                mode: RunMode::Embedded,
                target_url: "http://127.0.0.1:1".into(),
                seed: 7,
                users: 16,
                started_at_unix_ms: 1,
            },
            PlanSummary {
                start: 150.0,
                step: Some(75.0),
                factor: None,
                step_duration_s: 2.0,
                warm_up_s: 0.0,
                max_rate: 600.0,
                rates: vec![150.0, 225.0, 300.0, 375.0, 450.0, 525.0, 600.0],
            },
            Slo {
                max_error_rate: Some(0.01),
                p95_ms: Some(50.0),
                ..Slo::default()
            },
            steps,
            100,
            MoneySummary {
                checked: true,
                ..MoneySummary::default()
            },
            vec![CheckResult {
                name: "double_charges".into(),
                passed: money_ok,
                observed: if money_ok { 0.0 } else { 1.0 },
                limit: Some(0.0),
                detail: "x".into(),
            }],
        )
    }

    #[test]
    fn the_knee_is_the_last_step_that_held_before_the_break() {
        let r = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Held),
                step(3, 300.0, StepVerdict::Broke),
            ],
            true,
        );
        assert_eq!(
            r.knee,
            Some(RatePoint {
                step: 2,
                rate: 225.0
            })
        );
        let b = r.broke_at.as_ref().expect("a break");
        assert_eq!((b.step, b.rate), (3, 300.0));
        assert_eq!(b.failed_checks, vec!["error_rate".to_string()]);
        assert_eq!(r.stopped, StopReason::SloBroke);
        assert!(r.passed);
        assert!(
            r.reason.contains("225/s") && r.reason.contains("300/s"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn a_break_at_the_first_step_or_bad_money_fails() {
        let first = report(vec![step(1, 150.0, StepVerdict::Broke)], true);
        assert_eq!(first.knee, None);
        assert!(!first.passed);
        assert!(render_summary(&first).contains("no rate held"));

        let money = report(vec![step(1, 150.0, StepVerdict::Held)], false);
        assert!(!money.passed);
        assert!(render_summary(&money).contains("FAILED (money)"));
    }

    #[test]
    fn the_bound_and_an_interruption_are_told_apart() {
        let all = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Held),
            ],
            true,
        );
        assert_eq!(all.stopped, StopReason::MaxRateReached);
        assert_eq!(all.knee.as_ref().map(|k| k.rate), Some(225.0));
        assert!(all.broke_at.is_none());
        assert!(render_summary(&all).contains("raise --max-rate"));

        let cut = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Interrupted),
            ],
            true,
        );
        assert_eq!(cut.stopped, StopReason::Interrupted);
        assert_eq!(cut.knee.as_ref().map(|k| k.rate), Some(150.0));
    }

    #[test]
    fn step_lines_show_rates_percentiles_errors_and_the_verdict() {
        let line = step_line(&step(5, 450.0, StepVerdict::Broke), 7);
        for needle in [
            "step  5/7",
            "offered      450/s",
            "p95",
            "6.60%",
            "BROKE: error rate",
        ] {
            assert!(line.contains(needle), "{needle:?} not in {line:?}");
        }
        assert!(step_line(&step(1, 312.5, StepVerdict::Held), 7).ends_with("held"));
    }

    #[test]
    fn short_reasons_read_like_the_slo() {
        let c = |name: &str, observed: f64, limit: f64| CheckResult {
            name: name.into(),
            passed: false,
            observed,
            limit: Some(limit),
            detail: "d".into(),
        };
        assert_eq!(
            short_reason(&c("error_rate", 0.0652, 0.01)),
            "error rate 6.52% > 1%"
        );
        assert_eq!(
            short_reason(&c("p95_ms", 312.04, 250.0)),
            "p95 312.0 ms > 250 ms"
        );
        assert_eq!(
            short_reason(&c("achieved_rate_ratio", 0.9, 0.98)),
            "achieved/offered 0.900 < 0.98"
        );
    }

    #[test]
    fn capacity_json_round_trips() {
        let r = report(
            vec![
                step(1, 150.0, StepVerdict::Held),
                step(2, 225.0, StepVerdict::Broke),
            ],
            true,
        );
        let dir = std::env::temp_dir().join(format!("loadgen-capjson-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join(CAPACITY_JSON);
        write_json(&path, &r).expect("written");
        assert_eq!(read_json(&path).expect("read back"), r);
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("text")).expect("json");
        assert_eq!(value["schema_version"], 1);
        assert_eq!(value["steps"][1]["verdict"], "broke");
        assert_eq!(value["knee"]["rate"], 150.0);
        assert_eq!(value["broke_at"]["rate"], 225.0);
        assert_eq!(value["stopped"], "slo_broke");
        assert!(value["plan"]["factor"].is_null());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
