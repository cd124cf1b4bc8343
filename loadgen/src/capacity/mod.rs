//! `loadgen capacity`: how much traffic can this payment path take before its
//! SLO breaks, and where does it break?
//!
//! The run climbs a staircase of arrival rates ([`CapacityPlan`]: a start, a
//! step or a factor, a step duration, an upper bound; from `[capacity]` and the
//! flags). Each step is one open-model run of the scenario's `[load]` at that
//! rate, against one gateway for the whole climb (the embedded gateway-sim is
//! started once, so its ledger holds every step's money). After each step the
//! SLO from `[checks]` (`p95_ms`, `p99_ms`, `max_error_rate`,
//! `min_achieved_rate_ratio`) judges that step's figures, measured after the
//! step's warm-up; the climb stops at the first step that breaks it, or at the
//! upper bound. The knee is the highest rate that held.
//!
//! Then, as after `loadgen run`, every order of every step is reconciled
//! against the gateway's ledger: a capacity run that double-charges has failed,
//! whatever its throughput.
//!
//! [`execute`] returns a [`CapacityRun`]; [`report`] has `capacity.json`, the
//! terminal lines and summary; [`plot`] draws `capacity.svg` and
//! `capacity.html`.

pub mod plot;
pub mod report;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::flows::{self, AttackOptions, Driver, FlowMode, OrderIds};
use crate::latency::{LatencyRecorder, LatencySummary, Percentiles, StepLatency, new_histogram};
use crate::metrics::{CheckedMoney, LiveBoard, MetricsEndpoint};
use crate::outcomes::{ClientResult, OrderOutcome, OutcomeLog};
use crate::pacing::{PacingStats, Schedule};
use crate::reconcile::reconcile;
use crate::report::{MoneySummary, ReportError};
use crate::run::{Connection, RunError, SystemUnderTest, unix_now};
use crate::scenario::{
    CapacitySettings, LoadOverrides, LoadPlan, RateIncrease, Scenario, check_capacity_factor,
    check_capacity_rate, check_step_duration,
};
use crate::thresholds::{CheckResult, CheckThresholds};

pub use report::{
    CAPACITY_HTML, CAPACITY_JSON, CAPACITY_SVG, CapacityReport, PlanSummary, RatePoint, Slo,
    StepResult, StepVerdict, StopReason,
};

/// Each step multiplies the rate by this when neither `step` nor `factor` is given.
pub const DEFAULT_FACTOR: f64 = 1.25;
/// How long each rate is held by default.
pub const DEFAULT_STEP_DURATION: Duration = Duration::from_secs(10);
/// Without `max_rate`, the climb stops at this multiple of the start.
pub const DEFAULT_MAX_RATE_MULTIPLE: f64 = 10.0;
/// The most steps one capacity run may plan: a staircase finer than this
/// would take hours and resolve nothing the steady-state figures could not.
pub const MAX_STEPS: usize = 100;

/// Why the staircase could not be planned; names the flag or key at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct PlanError {
    /// `--start`, `[capacity] max_rate`, ...
    pub field: String,
    pub message: String,
}

/// The staircase of one capacity run, with flags, table and defaults resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CapacityPlan {
    /// The first step's arrival rate, orders/s.
    pub start: f64,
    pub increase: RateIncrease,
    /// How long each rate is held.
    pub step_duration: Duration,
    /// The start of each step left out of its figures; whole seconds (see [`Self::warm_up_seconds`]).
    pub warm_up: Duration,
    /// No step runs above this rate.
    pub max_rate: f64,
}

impl CapacityPlan {
    /// Flags win over `[capacity]`, which wins over the defaults; the start
    /// defaults to `[load] rate`. `flags` holds the command line's values in the
    /// table's shape; they are checked here (the table's were when it was read),
    /// and an error names the flag or the key its value came from.
    pub fn resolve(
        table: Option<&CapacitySettings>,
        flags: &CapacitySettings,
        load_rate: f64,
    ) -> Result<Self, PlanError> {
        let table = table.cloned().unwrap_or_default();
        let err = |field: &str, message: String| PlanError {
            field: field.to_string(),
            message,
        };
        // Which name to blame for a value: the flag if it was given, else the key.
        let source = |flag: bool, name: &str| {
            if flag {
                format!("--{}", name.replace('_', "-"))
            } else {
                format!("[capacity] {name}")
            }
        };

        let start = match (flags.start, table.start) {
            (Some(rate), _) => check_capacity_rate(rate).map_err(|m| err("--start", m))?,
            (None, Some(rate)) => rate,
            (None, None) => load_rate,
        };
        let increase = match flags.increase.or(table.increase) {
            Some(RateIncrease::Step(step)) => RateIncrease::Step(
                check_capacity_rate(step)
                    .map_err(|m| err(&source(flags.increase.is_some(), "step"), m))?,
            ),
            Some(RateIncrease::Factor(factor)) => RateIncrease::Factor(
                check_capacity_factor(factor)
                    .map_err(|m| err(&source(flags.increase.is_some(), "factor"), m))?,
            ),
            None => RateIncrease::Factor(DEFAULT_FACTOR),
        };
        let step_duration = match flags.step_duration {
            Some(d) => check_step_duration(d).map_err(|m| err("--step-duration", m))?,
            None => table.step_duration.unwrap_or(DEFAULT_STEP_DURATION),
        };
        let warm_up = flags.warm_up.or(table.warm_up).unwrap_or(Duration::ZERO);
        let max_rate = match (flags.max_rate, table.max_rate) {
            (Some(rate), _) => check_capacity_rate(rate).map_err(|m| err("--max-rate", m))?,
            (None, Some(rate)) => rate,
            (None, None) => (start * DEFAULT_MAX_RATE_MULTIPLE).min(crate::scenario::MAX_RATE),
        };
        if max_rate < start {
            return Err(err(
                &source(flags.max_rate.is_some(), "max_rate"),
                format!("({max_rate}/s) is below the start ({start}/s): no step would run"),
            ));
        }
        let plan = CapacityPlan {
            start,
            increase,
            step_duration,
            warm_up,
            max_rate,
        };
        if plan.warm_up_seconds() >= step_duration.as_secs_f64().ceil() as u64 {
            return Err(err(
                &source(flags.warm_up.is_some(), "warm_up"),
                format!(
                    "{:?} (rounded up to {} whole second(s), since latency is kept per second) leaves nothing of a {:?} step to measure",
                    warm_up,
                    plan.warm_up_seconds(),
                    step_duration
                ),
            ));
        }
        let steps = plan.step_count();
        if steps > MAX_STEPS {
            return Err(err(
                &source(flags.increase.is_some(), "step"),
                format!(
                    "climbing from {start}/s to {max_rate}/s this way takes {steps} steps, more than {MAX_STEPS}; use a larger step or factor, or a lower max_rate"
                ),
            ));
        }
        Ok(plan)
    }

    /// The rate of step `i` (0-based), before the upper bound is applied.
    fn rate_at(&self, i: usize) -> f64 {
        match self.increase {
            RateIncrease::Step(step) => self.start + step * i as f64,
            RateIncrease::Factor(factor) => {
                self.start * factor.powi(i32::try_from(i).unwrap_or(i32::MAX))
            }
        }
    }

    /// Steps up to the bound, counting at most `MAX_STEPS + 1`.
    fn step_count(&self) -> usize {
        // A rate within a billionth of the bound counts as on it, so 0.1 steps
        // do not lose the last one to floating-point noise.
        let limit = self.max_rate * (1.0 + 1e-9);
        (0..=MAX_STEPS)
            .take_while(|&i| self.rate_at(i) <= limit)
            .count()
    }

    /// Every step's arrival rate, in order: the start, then up by the step or
    /// factor, none above `max_rate`.
    pub fn rates(&self) -> Vec<f64> {
        (0..self.step_count().min(MAX_STEPS))
            .map(|i| self.rate_at(i).min(self.max_rate))
            .collect()
    }

    /// The warm-up in whole seconds, rounded up: latency is recorded per
    /// second of completion, so that is the finest cut the figures allow.
    pub fn warm_up_seconds(&self) -> u64 {
        self.warm_up.as_secs_f64().ceil() as u64
    }
}

/// Everything a capacity run needs.
#[derive(Debug, Clone)]
pub struct CapacityOptions {
    /// With `--users` / `--seed` already applied to `[load]`.
    pub scenario: Scenario,
    pub plan: CapacityPlan,
    pub system: SystemUnderTest,
    /// `None`: `reports/<scenario>-capacity-<unix time>`.
    pub report_dir: Option<PathBuf>,
    pub admin_token: Option<String>,
    /// No line per step.
    pub quiet: bool,
}

/// The files a capacity run wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityFiles {
    pub json: PathBuf,
    pub svg: PathBuf,
    pub html: PathBuf,
    /// Every order of every step, for `loadgen check`.
    pub outcomes: PathBuf,
    /// The embedded gateway's ledger (embedded mode only).
    pub ledger: Option<PathBuf>,
}

/// What a finished capacity run produced.
#[derive(Debug, Clone)]
pub struct CapacityRun {
    pub report: CapacityReport,
    pub report_dir: PathBuf,
    pub files: CapacityFiles,
    /// Every violation found (the report keeps the first thousand).
    pub violations_total: u64,
    pub warnings: Vec<String>,
}

/// The SLO part of `[checks]`; an error when it sets none (nothing would ever break).
pub fn slo_of(thresholds: &CheckThresholds, origin: &str) -> Result<Slo, RunError> {
    let slo = Slo {
        p95_ms: thresholds.p95_ms,
        p99_ms: thresholds.p99_ms,
        max_error_rate: thresholds.max_error_rate,
        min_achieved_rate_ratio: thresholds.min_achieved_rate_ratio,
    };
    if slo.is_empty() {
        return Err(RunError::Config {
            origin: origin.to_string(),
            message: "[checks] sets no SLO, so no step could break it: set at least one of p95_ms, p99_ms, max_error_rate, min_achieved_rate_ratio".into(),
        });
    }
    Ok(slo)
}

/// Runs the whole climb and the money check; see the module doc.
pub async fn execute(options: CapacityOptions) -> Result<CapacityRun, RunError> {
    execute_live(options, None).await
}

/// [`execute`], serving the live metrics at `metrics` while the climb goes on
/// (`--metrics-listen`); the endpoint stops when the climb ends, after the money check's
/// result is published.
pub async fn execute_live(
    options: CapacityOptions,
    metrics: Option<MetricsEndpoint>,
) -> Result<CapacityRun, RunError> {
    let scenario = &options.scenario;
    let plan = &options.plan;
    let thresholds = crate::run::thresholds(scenario)?;
    let slo = slo_of(&thresholds, &scenario.origin)?;

    // Every step's load plan is built (and validated) before any traffic, so a
    // rate the schedule cannot hold fails now with exit 2, not after minutes.
    let rates = plan.rates();
    let mut step_loads = Vec::with_capacity(rates.len());
    for &rate in &rates {
        let mut step = scenario.clone();
        step.override_load(&LoadOverrides {
            rate: Some(rate),
            duration: Some(plan.step_duration),
            ..LoadOverrides::default()
        })
        .map_err(|e| RunError::Config {
            origin: scenario.origin.clone(),
            message: format!("step at {rate}/s: {e}"),
        })?;
        step_loads.push(step.load);
    }
    let load = &scenario.load;

    let Connection {
        mode,
        host,
        ledger: ledger_access,
        run_tag,
        flows: flow_mode,
        timeout,
        gateway_started,
        ..
    } = Connection::open(
        scenario,
        &options.system,
        scenario.load.seed,
        options.admin_token.as_deref(),
    )
    .await?;
    // As in `loadgen run`: a service retries the gateway before it answers.
    if let Some(timeout) = timeout {
        for step in &mut step_loads {
            step.timeout = timeout;
        }
    }

    let report_dir = options
        .report_dir
        .clone()
        .unwrap_or_else(|| crate::run::default_report_dir(&format!("{}-capacity", scenario.name)));
    std::fs::create_dir_all(&report_dir).map_err(|source| RunError::ReportDir {
        path: report_dir.clone(),
        source,
    })?;

    let live_metrics = metrics.map(|endpoint| {
        let board = LiveBoard::new("capacity", &scenario.name, mode.as_str());
        let server = endpoint.serve(board.clone());
        (board, server)
    });
    let board = live_metrics.as_ref().map(|(board, _)| board.clone());

    let started_at_unix_ms = u64::try_from(unix_now().as_millis()).unwrap_or(u64::MAX);
    // The climb's clock: outcomes' `first_sent_ms` count from here, across steps.
    let climb_t0 = Instant::now();
    let warm_up_s = plan.warm_up_seconds();
    if !options.quiet {
        println!("{}", report::header_line(scenario, plan, &rates, &slo));
    }

    let mut steps: Vec<StepResult> = Vec::with_capacity(rates.len());
    let mut outcomes: Vec<OrderOutcome> = Vec::new();
    let mut warnings = Vec::new();
    for (i, step_load) in step_loads.into_iter().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        // Order ids carry the step, so the steps' orders never share an id
        // (or an idempotency key) in the one ledger.
        let ids = OrderIds::new(step_load.seed, format!("{run_tag}c{number}"));
        let step = StepPlay {
            load: step_load,
            ids,
            mode: flow_mode.clone(),
            number,
        };
        let ran = run_step(step, &host, climb_t0, board.as_ref()).await?;
        let result = judge_step(number, &ran, &thresholds, warm_up_s);
        if let Some(w) = &result.warning {
            warnings.push(format!("step {number}: {w}"));
        }
        if !options.quiet {
            println!("{}", report::step_line(&result, rates.len()));
        }
        outcomes.extend(ran.outcomes);
        let verdict = result.verdict;
        steps.push(result);
        if verdict != StepVerdict::Held {
            break;
        }
    }

    tokio::time::sleep(load.settle).await;
    let mut files = CapacityFiles {
        json: report_dir.join(CAPACITY_JSON),
        svg: report_dir.join(CAPACITY_SVG),
        html: report_dir.join(CAPACITY_HTML),
        outcomes: report_dir.join(crate::report::OUTCOMES_NDJSON),
        ledger: None,
    };
    let (ledger, saved) = ledger_access
        .read(options.admin_token.as_deref(), &report_dir)
        .await?;
    files.ledger = saved;
    crate::outcomes::write_ndjson(&files.outcomes, &outcomes).map_err(ReportError::from)?;

    let order_count = outcomes.len() as u64;
    let (money, money_checks, violations_total) = match ledger {
        Ok(entries) => {
            // Reconciling every step's orders is CPU-bound: keep it off the runtime.
            let rec = tokio::task::spawn_blocking(move || reconcile(&outcomes, &entries))
                .await
                .map_err(|e| RunError::Check(e.to_string()))?;
            if let Some(board) = &board {
                board.money_checked(CheckedMoney::of(&rec));
            }
            let checks = thresholds.evaluate_money(&rec.counts);
            (
                MoneySummary::from_reconciliation(&rec),
                checks,
                rec.violations.len() as u64,
            )
        }
        Err(detail) => (
            MoneySummary::default(),
            vec![CheckResult {
                name: "ledger".into(),
                passed: false,
                observed: 0.0,
                limit: None,
                detail: format!("the ledger could not be read, so money was not checked: {detail}"),
            }],
            0,
        ),
    };

    let mut report = CapacityReport::new(
        report::RunInfo {
            scenario: scenario.name.clone(),
            mode,
            target_url: host,
            seed: load.seed,
            users: load.users as u64,
            started_at_unix_ms,
        },
        PlanSummary::of(plan, &rates),
        slo,
        steps,
        order_count,
        money,
        money_checks,
    );
    // The windows that overlapped a step (the wait for the ledger after the last does not
    // count: nothing was being sent).
    let climb_s = report.steps.last().map_or(0.0, |s| s.started_s + s.wall_s);
    let (windows, lead_ms) =
        crate::run::gateway_windows(scenario, gateway_started, climb_t0, climb_s);
    report.gateway_windows = windows;
    report.gateway_lead_ms = lead_ms;
    report::write_json(&files.json, &report)?;
    write_text(&files.svg, &plot::render_svg(&report))?;
    write_text(&files.html, &plot::render_html(&report))?;
    // The reports are written: the endpoint has shown its final update, and goes.
    if let Some((_, server)) = live_metrics {
        server.stop().await;
    }

    Ok(CapacityRun {
        report,
        report_dir,
        files,
        violations_total,
        warnings,
    })
}

/// What one step left behind, before judging.
struct StepRun {
    load: LoadPlan,
    pacing: PacingStats,
    recorder: LatencyRecorder,
    /// Their `first_sent_ms` count from the climb's start.
    outcomes: Vec<OrderOutcome>,
    /// When the step's schedule started, since the climb's start.
    started: Duration,
    wall: Duration,
}

/// One step to play: its load, its order ids, the flows, its 1-based number.
struct StepPlay {
    load: LoadPlan,
    ids: OrderIds,
    mode: FlowMode,
    number: u32,
}

/// Drives one rate for one step duration, as `loadgen run` would (without its reports).
/// `climb_t0` is the climb's start, which the outcomes' times are moved onto; `board`, when
/// the live metrics are served, shows the step while it runs.
async fn run_step(
    step: StepPlay,
    host: &str,
    climb_t0: Instant,
    board: Option<&LiveBoard>,
) -> Result<StepRun, RunError> {
    let StepPlay {
        load,
        ids,
        mode,
        number,
    } = step;
    let math = load.schedule();
    let schedule = Arc::new(Schedule::new(math));
    let capacity = usize::try_from(math.total_orders()).unwrap_or(0);
    let driver = Arc::new(Driver::new(
        load.clone(),
        ids,
        mode,
        schedule.clone(),
        OutcomeLog::with_capacity(capacity),
    ));
    let began = Instant::now();
    // Silent: capacity prints a line per step, not per second; the sampler is there for the
    // live metrics' achieved rate.
    let sampler = board.map(|board| {
        board.begin(driver.clone(), Some(number));
        crate::progress::spawn(driver.clone(), None, Some(board.clone()))
    });
    let attack = flows::run_attack(
        driver.clone(),
        &AttackOptions {
            host: host.to_string(),
            // One goose report per step would only repeat capacity.html less well.
            goose_report: None,
        },
    )
    .await;
    if let Some(sampler) = sampler {
        sampler.stop().await;
    }
    if let Some(board) = board {
        board.end();
    }
    attack?;
    let recorder = driver
        .latency()
        .cloned()
        .unwrap_or_else(LatencyRecorder::new);
    // The driver stamps each order from the step's own start; a violation's time in
    // capacity.html is read on the climb's clock.
    let step_t0 = schedule.started_at().map_or(began, |t| t.into_std());
    let started = step_t0.saturating_duration_since(climb_t0);
    let offset_ms = u64::try_from(started.as_millis()).unwrap_or(u64::MAX);
    let mut outcomes = driver.outcomes.clone().into_vec();
    for o in &mut outcomes {
        o.first_sent_ms = o.first_sent_ms.map(|ms| ms.saturating_add(offset_ms));
    }
    Ok(StepRun {
        load,
        pacing: schedule.stats(),
        recorder,
        outcomes,
        started,
        wall: began.elapsed(),
    })
}

/// One step's latency and error figures, over the seconds after the warm-up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub corrected: Percentiles,
    pub uncorrected: Percentiles,
}

/// Merges the recorder's per-second intervals from second `warm_up_s` on
/// (seconds of completion since the step's start).
pub fn measure(recorder: &LatencyRecorder, warm_up_s: u64) -> Measured {
    let mut corrected: Histogram<u64> = new_histogram();
    let mut uncorrected: Histogram<u64> = new_histogram();
    let mut measured = Measured::default();
    for interval in recorder.intervals() {
        if interval.second < warm_up_s {
            continue;
        }
        measured.requests += interval.count;
        measured.errors += interval.errors;
        // Auto-resizing targets: an add fails only on usize overflow, and then
        // the sample set stays as it was rather than half-merged.
        let _ = corrected.add(&interval.corrected);
        let _ = uncorrected.add(&interval.uncorrected);
    }
    measured.corrected = Percentiles::from_histogram(&corrected);
    measured.uncorrected = Percentiles::from_histogram(&uncorrected);
    measured
}

/// Orders that got a definitive answer (charged, declined, or taken to be settled later).
fn answered(outcomes: &[OrderOutcome]) -> u64 {
    outcomes
        .iter()
        .filter(|o| {
            matches!(
                o.result,
                ClientResult::Succeeded | ClientResult::Declined | ClientResult::Accepted
            )
        })
        .count() as u64
}

/// The SLO checks of one step's figures (money is judged once, over the whole climb).
pub fn slo_checks(
    thresholds: &CheckThresholds,
    measured: &Measured,
    offered: f64,
    achieved: f64,
) -> Vec<CheckResult> {
    let latency = LatencySummary {
        overall: StepLatency {
            count: measured.requests,
            errors: measured.errors,
            corrected: measured.corrected.clone(),
            uncorrected: measured.uncorrected.clone(),
        },
        ..LatencySummary::default()
    };
    let error_rate = ratio(measured.errors, measured.requests);
    let only_slo = CheckThresholds {
        p95_ms: thresholds.p95_ms,
        p99_ms: thresholds.p99_ms,
        max_error_rate: thresholds.max_error_rate,
        min_achieved_rate_ratio: thresholds.min_achieved_rate_ratio,
        ..CheckThresholds::default()
    };
    let money: Vec<String> = only_slo
        .evaluate_money(&Default::default())
        .into_iter()
        .map(|c| c.name)
        .collect();
    let mut checks: Vec<CheckResult> = only_slo
        .evaluate(&Default::default(), &latency, offered, achieved, error_rate)
        .into_iter()
        .filter(|c| !money.contains(&c.name))
        .collect();
    if measured.requests == 0 {
        // Percentiles of nothing are 0 and would pass every latency limit.
        checks.push(CheckResult {
            name: "requests".into(),
            passed: false,
            observed: 0.0,
            limit: None,
            detail: "no request completed after the warm-up, so nothing held".into(),
        });
    }
    checks
}

fn ratio(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Judges one step against the SLO.
fn judge_step(
    number: u32,
    ran: &StepRun,
    thresholds: &CheckThresholds,
    warm_up_s: u64,
) -> StepResult {
    let offered = ran.load.rate;
    let duration_s = ran.load.duration.as_secs_f64();
    let measured = measure(&ran.recorder, warm_up_s);
    let achieved = ran.pacing.achieved_rate();
    let checks = slo_checks(thresholds, &measured, offered, achieved);
    let interrupted = ran.pacing.interrupted_after.is_some();
    let failed: Vec<&CheckResult> = checks.iter().filter(|c| !c.passed).collect();
    let verdict = if interrupted {
        StepVerdict::Interrupted
    } else if failed.is_empty() {
        StepVerdict::Held
    } else {
        StepVerdict::Broke
    };
    let reason = match verdict {
        StepVerdict::Held => None,
        StepVerdict::Interrupted => Some(format!(
            "interrupted after {:.1} s of {duration_s:.1} s: not judged",
            ran.pacing
                .interrupted_after
                .unwrap_or_default()
                .as_secs_f64()
        )),
        StepVerdict::Broke => Some(
            failed
                .iter()
                .map(|c| report::short_reason(c))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let window = duration_s.max(ran.pacing.last_start.as_secs_f64());
    StepResult {
        step: number,
        offered_rate: offered,
        started_s: ran.started.as_secs_f64(),
        duration_s,
        warm_up_s: warm_up_s as f64,
        wall_s: ran.wall.as_secs_f64(),
        orders: ran.pacing.claimed,
        achieved_rate: achieved,
        achieved_ratio: if offered > 0.0 {
            achieved / offered
        } else {
            0.0
        },
        goodput: if window > 0.0 {
            answered(&ran.outcomes) as f64 / window
        } else {
            0.0
        },
        late_starts: ran.pacing.lagged,
        requests: measured.requests,
        errors: measured.errors,
        error_rate: ratio(measured.errors, measured.requests),
        latency: measured.corrected,
        latency_uncorrected: measured.uncorrected,
        verdict,
        failed_checks: failed.iter().map(|c| c.name.clone()).collect(),
        reason,
        warning: ran.pacing.keep_up_warning(ran.load.users),
        checks,
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), RunError> {
    std::fs::write(path, text).map_err(|source| {
        RunError::Report(ReportError::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Prints the summary after the climb: knee, break, money, violations, warnings, files.
pub fn print_finished(run: &CapacityRun) {
    print!("{}", report::render_summary(&run.report));
    let money = &run.report.money;
    if money.violations_total > 0 {
        crate::run::print_violations(&money.violations, run.violations_total as usize);
    }
    for warning in &run.warnings {
        eprintln!("warning: {warning}");
    }
    println!(
        "reports   {} ({}, {}, {})",
        run.report_dir.display(),
        CAPACITY_JSON,
        CAPACITY_HTML,
        CAPACITY_SVG
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(
        text: &str,
        flags: &CapacitySettings,
        load_rate: f64,
    ) -> Result<CapacityPlan, PlanError> {
        let s = Scenario::parse(text, "t", "t.toml").expect("valid scenario");
        CapacityPlan::resolve(s.capacity.as_ref(), flags, load_rate)
    }

    #[test]
    fn defaults_climb_by_a_quarter_from_the_load_rate_to_ten_times_it() {
        let p = plan("", &CapacitySettings::default(), 100.0).expect("valid");
        assert_eq!(p.start, 100.0);
        assert_eq!(p.increase, RateIncrease::Factor(DEFAULT_FACTOR));
        assert_eq!(p.step_duration, DEFAULT_STEP_DURATION);
        assert_eq!(p.warm_up, Duration::ZERO);
        assert_eq!(p.max_rate, 1000.0);
        let rates = p.rates();
        assert_eq!(rates.first(), Some(&100.0));
        assert!(rates.iter().all(|r| *r <= 1000.0));
        // 100 x 1.25^10 = 931, x 1.25^11 = 1164: eleven steps.
        assert_eq!(rates.len(), 11);
        for pair in rates.windows(2) {
            assert!((pair[1] / pair[0] - 1.25).abs() < 1e-9);
        }
    }

    #[test]
    fn a_linear_staircase_includes_the_bound() {
        let p = plan(
            "[capacity]\nstart = 150\nstep = 75\nmax_rate = 600\n",
            &CapacitySettings::default(),
            1.0,
        )
        .expect("valid");
        assert_eq!(
            p.rates(),
            vec![150.0, 225.0, 300.0, 375.0, 450.0, 525.0, 600.0]
        );
        // Tenths of an order per second add up without losing the last step.
        let p = plan(
            "[capacity]\nstart = 0.1\nstep = 0.1\nmax_rate = 0.7\n",
            &CapacitySettings::default(),
            1.0,
        )
        .expect("valid");
        assert_eq!(p.rates().len(), 7);
    }

    #[test]
    fn flags_override_the_table() {
        let flags = CapacitySettings {
            start: Some(50.0),
            increase: Some(RateIncrease::Step(25.0)),
            step_duration: Some(Duration::from_secs(3)),
            warm_up: Some(Duration::from_secs(1)),
            max_rate: Some(100.0),
        };
        let p = plan(
            "[capacity]\nstart = 500\nfactor = 2.0\nstep_duration = \"1m\"\nmax_rate = 9000\n",
            &flags,
            10.0,
        )
        .expect("valid");
        assert_eq!(p.rates(), vec![50.0, 75.0, 100.0]);
        assert_eq!(p.step_duration, Duration::from_secs(3));
        assert_eq!(p.warm_up_seconds(), 1);
    }

    #[test]
    fn impossible_plans_name_the_culprit() {
        let none = CapacitySettings::default();
        let e = plan("[capacity]\nmax_rate = 50\n", &none, 100.0).expect_err("bound below start");
        assert!(e.field.contains("max_rate"), "{e}");
        let e = plan(
            "",
            &CapacitySettings {
                max_rate: Some(10.0),
                ..CapacitySettings::default()
            },
            100.0,
        )
        .expect_err("flag bound below start");
        assert_eq!(e.field, "--max-rate");
        // A 1.5 s warm-up is two whole seconds: nothing left of a 2 s step.
        let e = plan(
            "",
            &CapacitySettings {
                step_duration: Some(Duration::from_secs(2)),
                warm_up: Some(Duration::from_millis(1500)),
                ..CapacitySettings::default()
            },
            100.0,
        )
        .expect_err("warm-up eats the step");
        assert_eq!(e.field, "--warm-up");
        let e = plan(
            "[capacity]\nstart = 1\nstep = 1\nmax_rate = 5000\n",
            &none,
            100.0,
        )
        .expect_err("too many steps");
        assert!(e.message.contains("steps"), "{e}");
        let e = plan(
            "",
            &CapacitySettings {
                increase: Some(RateIncrease::Factor(0.5)),
                ..CapacitySettings::default()
            },
            100.0,
        )
        .expect_err("shrinking factor");
        assert_eq!(e.field, "--factor");
    }

    #[test]
    fn an_slo_is_required() {
        let e = slo_of(&CheckThresholds::default(), "t.toml").expect_err("no SLO");
        assert!(e.to_string().contains("p95_ms"), "{e}");
        let t = CheckThresholds {
            max_error_rate: Some(0.01),
            ..CheckThresholds::default()
        };
        assert_eq!(
            slo_of(&t, "t.toml").expect("an SLO").max_error_rate,
            Some(0.01)
        );
    }

    #[test]
    fn measuring_skips_the_warm_up_seconds() {
        let recorder = LatencyRecorder::new();
        let t0 = recorder.start();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        // Second 0: slow and failing (the warm-up); second 1: fast and fine.
        for i in 0..10 {
            recorder.record("create", at(i), at(i), at(500 + i), false);
        }
        for i in 0..20 {
            recorder.record("create", at(1000 + i), at(1000 + i), at(1002 + i), true);
        }
        let all = measure(&recorder, 0);
        assert_eq!((all.requests, all.errors), (30, 10));
        assert!(all.corrected.max_ms >= 499.0, "{all:?}");
        let steady = measure(&recorder, 1);
        assert_eq!((steady.requests, steady.errors), (20, 0));
        assert!(steady.corrected.max_ms < 3.0, "{steady:?}");
    }

    #[test]
    fn slo_checks_judge_one_steps_figures() {
        let t = CheckThresholds {
            p95_ms: Some(10.0),
            max_error_rate: Some(0.01),
            min_achieved_rate_ratio: Some(0.95),
            max_double_charges: Some(0),
            ..CheckThresholds::default()
        };
        let good = Measured {
            requests: 1000,
            errors: 5,
            corrected: Percentiles {
                p95_ms: 4.0,
                ..Percentiles::default()
            },
            uncorrected: Percentiles::default(),
        };
        let checks = slo_checks(&t, &good, 100.0, 99.0);
        assert!(checks.iter().all(|c| c.passed), "{checks:#?}");
        // Money is not judged per step.
        assert!(checks.iter().all(|c| c.name != "double_charges"));
        assert_eq!(checks.len(), 3);

        let bad = Measured {
            errors: 50,
            ..good.clone()
        };
        let checks = slo_checks(&t, &bad, 100.0, 99.0);
        let failed: Vec<&str> = checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, vec!["error_rate"]);

        let nothing = slo_checks(&t, &Measured::default(), 100.0, 100.0);
        assert!(nothing.iter().any(|c| c.name == "requests" && !c.passed));
    }
}
