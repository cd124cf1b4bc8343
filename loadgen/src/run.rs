//! One run, end to end: reach the payment API (start gateway-sim in-process, or
//! use a running one, or a merchant's service), drive it under goose on the
//! open-model schedule, wait for the gateway to settle, play the scenario's
//! `[settle]` step if it has one (the gateway's clock moved a day at a time during
//! the load, `loadgen settle`'s check after it), read its ledger, reconcile every
//! order, judge the `[checks]`, and write every report.
//!
//! [`execute`] returns what happened; printing is separate ([`print_finished`])
//! so tests can run quietly and judge the [`FinishedRun`].
//!
//! Past one machine ([`execute_sharded`]): a `--worker I/N` run plays its share of
//! the orders (see [`crate::pacing::WorkerShare`]) and leaves a [`WORKER_JSON`]
//! beside its reports for `loadgen merge`; `--ledger` reads the ledger from given
//! URLs or files (the shards of a gateway behind a proxy) instead of from the system under test.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gateway_sim::LedgerEntry;

use crate::flows::{self, AttackOptions, Driver, FlowMode, OrderIds};
use crate::latency::LatencyRecorder;
use crate::merchant_view::MerchantView;
use crate::metrics::{CheckedMoney, LiveBoard, MetricsEndpoint};
use crate::outcomes::OutcomeLog;
use crate::pacing::{PacingStats, Schedule, WorkerShare};
use crate::progress::ProgressFormat;
use crate::reconcile::{Violation, reconcile_with_views};
use crate::report::{
    GatewayWindow, ReportError, ReportFiles, RunMeta, RunMode, RunReport, error_rate,
    windows_on_run_clock, write_report_dir,
};
use crate::scenario::Scenario;
use crate::thresholds::{CheckResult, CheckThresholds};

/// Goose's own HTML report, written beside loadgen's.
pub const GOOSE_REPORT: &str = "goose-report.html";

/// The embedded gateway's ledger, saved beside the reports (NDJSON, as `GET /_sim/ledger`).
pub const LEDGER_NDJSON: &str = "ledger.ndjson";

/// Writes a ledger as NDJSON, one entry a line, as `GET /_sim/ledger` answers: the
/// embedded gateway's after a run, and the one a merge checked (so `loadgen check` can
/// re-run either offline). Here, beside [`LEDGER_NDJSON`], because the ledger readers
/// (`crate::ledger_source`) only read.
pub(crate) fn write_ledger(path: &Path, entries: &[LedgerEntry]) -> Result<(), ReportError> {
    use std::io::Write as _;
    let io_error = |source: std::io::Error| ReportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::create(path).map_err(io_error)?;
    let mut out = std::io::BufWriter::new(file);
    for entry in entries {
        serde_json::to_writer(&mut out, entry).map_err(|e| io_error(e.into()))?;
        out.write_all(b"\n").map_err(io_error)?;
    }
    out.flush().map_err(io_error)
}

/// The system under test: which payment API a run drives, and whose ledger it checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemUnderTest {
    /// Start gateway-sim in this process with the scenario's `[gateway]` table.
    Embedded,
    /// A gateway-sim already running at this base URL.
    Target(String),
    /// A merchant's service, which calls the gateway-sim at `gateway`.
    Service { service: String, gateway: String },
}

/// Everything a run needs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// With command-line overrides already applied.
    pub scenario: Scenario,
    pub system: SystemUnderTest,
    /// `None`: `reports/<scenario>-<unix time>`.
    pub report_dir: Option<PathBuf>,
    /// For gateway-sim's `/_sim/*`.
    pub admin_token: Option<String>,
    /// No progress line.
    pub quiet: bool,
}

/// How a run takes part in something bigger than one process. Kept apart from
/// [`RunOptions`] so that callers that build those by hand are not touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardOptions {
    /// Play only this worker's share of the orders.
    pub worker: Option<WorkerShare>,
    /// Read the ledger here after the run instead of from the system under test's gateway:
    /// URLs or NDJSON files, comma-separated, concatenated (see
    /// [`crate::ledger_source::load`]). For a gateway sharded behind a proxy the
    /// proxy's `/_sim/ledger` is one shard's; this names them all.
    pub ledger: Option<String>,
}

/// What a run shows while it goes on, beyond its reports at the end. Kept apart from
/// [`RunOptions`] (as [`ShardOptions`] is) so that callers that build those by hand are not
/// touched.
#[derive(Debug, Default)]
pub struct LiveOptions {
    /// How the once-a-second progress line is printed (unless [`RunOptions::quiet`]).
    pub progress: ProgressFormat,
    /// Serve the live metrics here while the run goes on (`--metrics-listen`); the endpoint
    /// stops when the run ends, after the money check's result is published.
    pub metrics: Option<MetricsEndpoint>,
}

/// Written beside a worker's reports: which share it played, for `loadgen merge`.
pub const WORKER_JSON: &str = "worker.json";

/// The content of [`WORKER_JSON`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerRecord {
    /// `I/N`, 1-based.
    pub worker: String,
    pub index: u32,
    pub count: u32,
    /// The whole run's rate (all workers together), orders/s.
    pub run_rate: f64,
    /// This worker's rate, `run_rate / count`.
    pub rate: f64,
    /// Orders this worker was scheduled to play.
    pub scheduled_orders: u64,
    /// Where this worker read the ledger: a URL, several, or `ledger.ndjson` (embedded).
    pub ledger: String,
}

/// Why a run could not be done (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("scenario {origin}: {message}")]
    Config { origin: String, message: String },
    #[error("cannot start the embedded gateway-sim: {0}")]
    GatewayStart(#[from] gateway_sim::StartError),
    #[error(
        "cannot reach gateway-sim at {url} ({detail}); is it running? (try: cargo run -p gateway-sim)"
    )]
    Unreachable { url: String, detail: String },
    #[error("cannot create report directory {}: {source}", path.display())]
    ReportDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Attack(#[from] flows::AttackError),
    #[error("cannot write the reports: {0}")]
    Report(#[from] ReportError),
    #[error("the money check stopped unexpectedly: {0}")]
    Check(String),
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub report: RunReport,
    pub report_dir: PathBuf,
    pub files: ReportFiles,
    /// Goose's own report, when goose wrote it.
    pub goose_report: Option<PathBuf>,
    pub pacing: PacingStats,
    /// Things the user should know that are not check failures (the client fell behind, ...).
    pub warnings: Vec<String>,
}

/// The scenario's `[checks]` as the check's thresholds.
pub fn thresholds(scenario: &Scenario) -> Result<CheckThresholds, RunError> {
    toml::Value::Table(scenario.checks.clone())
        .try_into::<CheckThresholds>()
        .map_err(|e| RunError::Config {
            origin: scenario.origin.clone(),
            message: format!("[checks]: {}", e.to_string().trim_end()),
        })
}

/// The settlement terms the `[settle]` step holds the report to: the scenario's
/// `[gateway.settlement]` (Stripe's standard terms when absent), as `loadgen settle` reads them.
fn settle_terms(scenario: &Scenario) -> Result<crate::settle::Terms, RunError> {
    let gateway =
        gateway_sim::parse_scenario_gateway(&scenario.text).map_err(|e| RunError::Config {
            origin: scenario.origin.clone(),
            message: e.to_string(),
        })?;
    Ok(crate::settle::Terms::from_config(&gateway.settlement))
}

/// Now, as time since the Unix epoch: what reports stamp (`started_at_unix_ms`) and
/// default report directories are named by.
pub(crate) fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
}

/// `reports/<name>-<unix time>`, with `-2`, `-3`... if that is taken.
pub fn default_report_dir(name: &str) -> PathBuf {
    let base = format!("reports/{name}-{}", unix_now().as_secs());
    let mut dir = PathBuf::from(&base);
    let mut i = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{base}-{i}"));
        i += 1;
    }
    dir
}

fn create_report_dir(dir: &Path) -> Result<(), RunError> {
    std::fs::create_dir_all(dir).map_err(|source| RunError::ReportDir {
        path: dir.to_path_buf(),
        source,
    })
}

/// Fails fast, with a message naming the URL, when nothing answers there.
async fn check_reachable(url: &str, admin_token: Option<&str>) -> Result<(), RunError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| RunError::Unreachable {
            url: url.to_string(),
            detail: e.to_string(),
        })?;
    let mut request = client.get(format!("{url}/_sim/health"));
    if let Some(token) = admin_token {
        request = request.bearer_auth(token).header("X-Admin-Token", token);
    }
    match request.send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(RunError::Unreachable {
            url: url.to_string(),
            detail: format!("GET /_sim/health answered HTTP {}", response.status()),
        }),
        Err(e) => Err(RunError::Unreachable {
            url: url.to_string(),
            detail: e.to_string(),
        }),
    }
}

/// Where the ledger is read after the run.
pub(crate) enum LedgerAccess {
    InProcess(gateway_sim::GatewaySim),
    Http(String),
    /// `--ledger`: URLs and files, comma-separated.
    Sources(String),
}

impl LedgerAccess {
    pub(crate) fn describe(&self) -> String {
        match self {
            LedgerAccess::InProcess(_) => LEDGER_NDJSON.to_string(),
            LedgerAccess::Http(url) | LedgerAccess::Sources(url) => url.clone(),
        }
    }

    /// Reads the whole ledger. The embedded gateway is stopped here. A ledger read from one
    /// gateway (embedded or over HTTP) is saved in `report_dir` (the gateway may be gone
    /// afterwards, and `loadgen check` needs it to re-run the check offline); the path is
    /// returned when it was.
    /// A ledger that cannot be read is an `Err` message for the report, not a
    /// failure of the run.
    pub(crate) async fn read(
        self,
        admin_token: Option<&str>,
        report_dir: &Path,
    ) -> Result<(Result<Vec<LedgerEntry>, String>, Option<PathBuf>), RunError> {
        Ok(match self {
            LedgerAccess::InProcess(sim) => {
                let entries = sim.ledger_entries();
                sim.shutdown().await;
                let path = report_dir.join(LEDGER_NDJSON);
                write_ledger(&path, &entries)?;
                (Ok(entries), Some(path))
            }
            // Saved too: a gateway started for one CI job is gone when someone wants to re-run
            // the check offline (`loadgen check --ledger .../ledger.ndjson`).
            LedgerAccess::Http(url) => {
                match crate::ledger_source::fetch_ledger(&url, admin_token).await {
                    Ok(entries) => {
                        let path = report_dir.join(LEDGER_NDJSON);
                        write_ledger(&path, &entries)?;
                        (Ok(entries), Some(path))
                    }
                    Err(e) => (Err(e.to_string()), None),
                }
            }
            LedgerAccess::Sources(spec) => (
                crate::ledger_source::load(&spec, admin_token)
                    .await
                    .map_err(|e| e.to_string()),
                None,
            ),
        })
    }
}

/// Where the orders go and where the ledger is read: a gateway-sim started in
/// process, one already running, or a merchant's service in front of one.
pub(crate) struct Connection {
    pub mode: RunMode,
    /// The base URL the users drive.
    pub host: String,
    /// The gateway-sim whose control plane and reports the `[settle]` step uses: the one
    /// driven, or the one behind the service.
    pub gateway: String,
    pub ledger: LedgerAccess,
    /// Kept in every order id: empty against the embedded gateway, which is new
    /// each run; fresh otherwise, so a rerun against a long-lived gateway never
    /// replays an earlier run's idempotency keys.
    pub run_tag: String,
    pub flows: FlowMode,
    /// The service's `[target] timeout`, which replaces `[load] timeout`: a
    /// service retries the gateway before it answers.
    pub timeout: Option<Duration>,
    /// When loadgen started the gateway (the embedded one): the clock its schedule windows
    /// count from. `None` for a gateway started elsewhere.
    pub gateway_started: Option<Instant>,
}

impl Connection {
    /// Starts the embedded gateway (with the scenario's `[gateway]` and `seed`),
    /// or checks that the given one answers, before any load is sent.
    pub(crate) async fn open(
        scenario: &Scenario,
        system: &SystemUnderTest,
        seed: u64,
        admin_token: Option<&str>,
    ) -> Result<Connection, RunError> {
        Ok(match system {
            SystemUnderTest::Embedded => {
                let behaviour =
                    gateway_sim::parse_scenario_gateway(&scenario.text).map_err(|e| {
                        RunError::Config {
                            origin: scenario.origin.clone(),
                            message: e.to_string(),
                        }
                    })?;
                let gateway_started = Instant::now();
                let sim = gateway_sim::GatewaySim::start(gateway_sim::SimConfig {
                    seed,
                    behaviour,
                    ..gateway_sim::SimConfig::default()
                })
                .await?;
                Connection {
                    mode: RunMode::Embedded,
                    host: sim.url(),
                    gateway: sim.url(),
                    ledger: LedgerAccess::InProcess(sim),
                    run_tag: String::new(),
                    flows: FlowMode::Native,
                    timeout: None,
                    gateway_started: Some(gateway_started),
                }
            }
            SystemUnderTest::Target(url) => {
                check_reachable(url, admin_token).await?;
                Connection {
                    mode: RunMode::Target,
                    host: url.clone(),
                    gateway: url.clone(),
                    ledger: LedgerAccess::Http(url.clone()),
                    run_tag: OrderIds::fresh_tag(),
                    flows: FlowMode::Native,
                    timeout: None,
                    gateway_started: None,
                }
            }
            SystemUnderTest::Service { service, gateway } => {
                check_reachable(gateway, admin_token).await?;
                let Some(template) = scenario.target.clone() else {
                    return Err(RunError::Config {
                        origin: scenario.origin.clone(),
                        message:
                            "--service needs a [target] table describing the service's endpoint"
                                .into(),
                    });
                };
                Connection {
                    mode: RunMode::Service,
                    host: service.clone(),
                    gateway: gateway.clone(),
                    ledger: LedgerAccess::Http(gateway.clone()),
                    run_tag: OrderIds::fresh_tag(),
                    timeout: template.timeout,
                    gateway_started: None,
                    flows: FlowMode::Service(Arc::new(template)),
                }
            }
        })
    }
}

/// Runs a scenario end to end. See the module doc.
pub async fn execute(options: RunOptions) -> Result<FinishedRun, RunError> {
    execute_sharded(options, &ShardOptions::default()).await
}

/// [`execute`], as one worker of several and/or with the ledger read elsewhere.
pub async fn execute_sharded(
    options: RunOptions,
    shard: &ShardOptions,
) -> Result<FinishedRun, RunError> {
    execute_live(options, shard, LiveOptions::default()).await
}

/// [`execute_sharded`], showing the run as `live` says while it goes on.
pub async fn execute_live(
    options: RunOptions,
    shard: &ShardOptions,
    live: LiveOptions,
) -> Result<FinishedRun, RunError> {
    let scenario = &options.scenario;
    if shard.ledger.is_some() && options.system == SystemUnderTest::Embedded {
        return Err(RunError::Config {
            origin: scenario.origin.clone(),
            message: "--ledger names where a running gateway's ledger is read; it needs --target or --service (the embedded gateway's ledger is read in-process)".into(),
        });
    }
    if let Some(spec) = &shard.ledger {
        // Fail before the load, not after it, when a shard is not there.
        for source in spec.split(',').map(str::trim) {
            if source.starts_with("http://") || source.starts_with("https://") {
                check_reachable(source.trim_end_matches('/'), options.admin_token.as_deref())
                    .await?;
            }
        }
    }
    if scenario.settle.is_some() && shard.worker.is_some() {
        // Each worker would move the one gateway's clock, and settle it, on its own.
        return Err(RunError::Config {
            origin: scenario.origin.clone(),
            message: "[settle] moves the gateway's clock and settles it once per run; a --worker run is one of several: settle after the merge with `loadgen settle`".into(),
        });
    }
    let mut load = scenario.load.clone();
    let thresholds = thresholds(scenario)?;

    let Connection {
        mode,
        host,
        gateway,
        ledger: ledger_access,
        run_tag,
        flows: flow_mode,
        timeout,
        gateway_started,
    } = Connection::open(
        scenario,
        &options.system,
        load.seed,
        options.admin_token.as_deref(),
    )
    .await?;
    if let Some(timeout) = timeout {
        load.timeout = timeout;
    }
    let ids = OrderIds::new(load.seed, run_tag);

    let ids = match shard.worker {
        Some(worker) => ids.for_worker(worker),
        None => ids,
    };
    let ledger_access = match (&shard.ledger, ledger_access) {
        (Some(spec), LedgerAccess::Http(_)) => LedgerAccess::Sources(spec.clone()),
        (_, access) => access,
    };

    let report_dir = options.report_dir.clone().unwrap_or_else(|| {
        default_report_dir(&match shard.worker {
            Some(w) => format!("{}-worker-{}-of-{}", scenario.name, w.index(), w.count()),
            None => scenario.name.clone(),
        })
    });
    create_report_dir(&report_dir)?;
    let goose_report = report_dir.join(GOOSE_REPORT);

    let schedule_math = match shard.worker {
        Some(worker) => {
            let share = load.schedule().share(worker);
            // Everything judged against "the target rate" (achieved ratio, the report's
            // target_rate) is this worker's part of it.
            load.rate = share.rate();
            share
        }
        None => load.schedule(),
    };
    let schedule = Arc::new(Schedule::new(schedule_math));
    let capacity = usize::try_from(schedule_math.total_orders()).unwrap_or(0);
    let driver = Arc::new(Driver::new(
        load.clone(),
        ids,
        flow_mode,
        schedule.clone(),
        OutcomeLog::with_capacity(capacity),
    ));

    let settle_terms = match scenario.settle {
        Some(_) => Some(settle_terms(scenario)?),
        None => None,
    };
    // Started with the load, stopped as it ends: the days fall among the orders.
    let ticker = match scenario.settle.and_then(|plan| plan.day_every) {
        Some(every) => Some(
            crate::settle::DayTicker::start(&gateway, options.admin_token.clone(), every).map_err(
                |e| RunError::Config {
                    origin: scenario.origin.clone(),
                    message: format!("[settle] day_every: {e}"),
                },
            )?,
        ),
        None => None,
    };
    let live_metrics = live.metrics.map(|endpoint| {
        let board = LiveBoard::new("run", &scenario.name, mode.as_str());
        board.begin(driver.clone(), None);
        let server = endpoint.serve(board.clone());
        (board, server)
    });
    let board = live_metrics.as_ref().map(|(board, _)| board.clone());
    let print = (!options.quiet).then_some(live.progress);
    let progress = (print.is_some() || board.is_some())
        .then(|| crate::progress::spawn(driver.clone(), print, board.clone()));
    let cpu_before = crate::cpu_time::process_cpu();
    let attack = flows::run_attack(
        driver.clone(),
        &AttackOptions {
            host: host.clone(),
            goose_report: Some(goose_report.clone()),
        },
    )
    .await;
    let days_during_load = match ticker {
        Some(ticker) => ticker.stop().await,
        None => (0, None),
    };
    if let Some(progress) = progress {
        progress.stop().await;
    }
    if let Some(board) = &board {
        board.end();
    }
    attack?;
    let cpu_seconds = match (cpu_before, crate::cpu_time::process_cpu()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before).as_secs_f64()),
        _ => None,
    };

    let pacing = schedule.stats();
    let started_at_unix_ms = schedule
        .started_at()
        .map(|t0| unix_now().saturating_sub(t0.elapsed()))
        .unwrap_or_else(unix_now)
        .as_millis();

    tokio::time::sleep(load.settle).await;
    let mut warnings = Vec::new();
    let views = read_merchant_views(&options, &driver, &report_dir, &mut warnings).await?;
    if let (_, Some(error)) = &days_during_load {
        warnings.push(format!(
            "[settle] day_every stopped moving the gateway's clock after {} days: {error}",
            days_during_load.0
        ));
    }
    // Before the ledger is read: the embedded gateway stops then. The clock it moves only
    // releases authorizations nobody captured, which the money check does not count.
    let settlement = match (scenario.settle, settle_terms) {
        (Some(plan), Some(terms)) => {
            let settle_options = crate::settle::SettleOptions {
                target: gateway.clone(),
                admin_token: options.admin_token.clone(),
                terms,
                advance_days: plan.advance_days,
            };
            Some(crate::settle::run_step(&settle_options, days_during_load.0).await)
        }
        _ => None,
    };
    let ledger_read_from = ledger_access.describe();
    let (ledger, _saved) = ledger_access
        .read(options.admin_token.as_deref(), &report_dir)
        .await?;

    let outcomes = driver.outcomes.clone().into_vec();
    let recorder = driver
        .latency()
        .cloned()
        .unwrap_or_else(LatencyRecorder::new);
    let latency = recorder.summary();
    let timeline = recorder.timeline();
    let achieved_rate = pacing.achieved_rate();
    let errors = error_rate(&latency);

    let views_read = views.is_some();
    let (outcomes, reconciliation, checks) = match ledger {
        Ok(entries) => {
            // The check is CPU-bound (a million orders take seconds): keep it off the runtime.
            let (outcomes, mut rec) = tokio::task::spawn_blocking(move || {
                let rec = reconcile_with_views(&outcomes, &entries, views.as_deref());
                (outcomes, rec)
            })
            .await
            .map_err(|e| RunError::Check(e.to_string()))?;
            if views_read {
                explain_merchant_views(&options, &mut rec.violations, &mut warnings).await;
            }
            let checks =
                thresholds.evaluate(&rec.counts, &latency, load.rate, achieved_rate, errors);
            (outcomes, Some(rec), checks)
        }
        Err(detail) => {
            let money_names: Vec<String> = thresholds
                .evaluate_money(&Default::default())
                .into_iter()
                .map(|c| c.name)
                .collect();
            let mut checks: Vec<CheckResult> = thresholds
                .evaluate(
                    &Default::default(),
                    &latency,
                    load.rate,
                    achieved_rate,
                    errors,
                )
                .into_iter()
                .filter(|c| !money_names.contains(&c.name))
                .collect();
            checks.insert(
                0,
                CheckResult {
                    name: "ledger".into(),
                    passed: false,
                    observed: 0.0,
                    limit: None,
                    detail: format!(
                        "the ledger could not be read, so money was not checked: {detail}"
                    ),
                },
            );
            (outcomes, None, checks)
        }
    };

    if let (Some(board), Some(rec)) = (&board, &reconciliation) {
        board.money_checked(CheckedMoney::of(rec));
    }
    let mut checks = checks;
    if let Some(settlement) = &settlement {
        checks.extend(settlement.checks());
    }

    let meta = RunMeta {
        scenario: scenario.name.clone(),
        mode,
        target_url: host,
        seed: load.seed,
        started_at_unix_ms: u64::try_from(started_at_unix_ms).unwrap_or(u64::MAX),
        target_rate: load.rate,
        achieved_rate,
        duration_s: pacing
            .interrupted_after
            .map_or(pacing.duration, |ran| ran.min(pacing.duration))
            .as_secs_f64()
            .max(pacing.last_start.as_secs_f64()),
        users: load.users as u64,
        cpu_seconds,
    };
    let mut report = RunReport::new(
        meta,
        latency,
        timeline,
        &outcomes,
        reconciliation.as_ref(),
        checks,
    );
    report.settlement = settlement;
    if let Some(run_t0) = schedule.started_at() {
        let shown_s = report
            .timeline
            .last()
            .map_or(0.0, |s| s.second as f64 + 1.0)
            .max(report.meta.duration_s);
        let (windows, lead_ms) =
            gateway_windows(scenario, gateway_started, run_t0.into_std(), shown_s);
        report.gateway_windows = windows;
        report.gateway_lead_ms = lead_ms;
    }
    let files = write_report_dir(&report_dir, &report, Some(&recorder), Some(&outcomes))?;
    if let Some(worker) = shard.worker {
        write_worker_record(
            &report_dir.join(WORKER_JSON),
            &WorkerRecord {
                worker: worker.to_string(),
                index: worker.index(),
                count: worker.count(),
                run_rate: scenario.load.rate,
                rate: load.rate,
                scheduled_orders: schedule_math.total_orders(),
                ledger: ledger_read_from,
            },
        )?;
    }

    if let Some(ran) = pacing.interrupted_after {
        warnings.push(format!(
            "run interrupted after {:.1} s of {:.1} s: the figures cover the part that ran",
            ran.as_secs_f64(),
            load.duration.as_secs_f64()
        ));
    }
    if let Some(w) = pacing.keep_up_warning(load.users) {
        warnings.push(w);
    }
    // The reports are written: the endpoint has shown its final update, and goes.
    if let Some((_, server)) = live_metrics {
        server.stop().await;
    }
    Ok(FinishedRun {
        report,
        report_dir,
        files,
        goose_report: goose_report.exists().then_some(goose_report),
        pacing,
        warnings,
    })
}

/// The scenario's gateway windows that overlap the first `run_s` seconds of a run that started
/// at `run_t0`, placed on its clock, with how long the gateway had run by then (the lead) when
/// loadgen started it at `gateway_started`. A gateway started elsewhere is taken to have
/// started with the run. A `[gateway]` table that does not parse (loadgen never reads it when
/// it drives a gateway started elsewhere) gives no windows: they are drawn, not checked.
pub(crate) fn gateway_windows(
    scenario: &Scenario,
    gateway_started: Option<Instant>,
    run_t0: Instant,
    run_s: f64,
) -> (Vec<GatewayWindow>, Option<f64>) {
    let Ok(behaviour) = gateway_sim::parse_scenario_gateway(&scenario.text) else {
        return (Vec::new(), None);
    };
    let lead = gateway_started.map(|g| run_t0.saturating_duration_since(g));
    let windows = windows_on_run_clock(&behaviour, lead.unwrap_or_default(), run_s);
    (windows, lead.map(|l| l.as_secs_f64() * 1000.0))
}

/// In `--service` mode with `[target.order]`: waits for the gateway's webhooks to drain
/// (a timeout becomes a warning), reads every order's view from the service, and saves them
/// as [`crate::merchant_view::MERCHANT_VIEWS_NDJSON`] for `loadgen check --merchant-views`.
/// `None` otherwise: the merchant's books are then not checked.
async fn read_merchant_views(
    options: &RunOptions,
    driver: &Driver,
    report_dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Option<Vec<MerchantView>>, RunError> {
    let SystemUnderTest::Service { service, gateway } = &options.system else {
        return Ok(None);
    };
    let Some(lookup) = options
        .scenario
        .target
        .as_ref()
        .and_then(|t| t.order.as_ref())
    else {
        return Ok(None);
    };
    let token = options.admin_token.as_deref();
    let drain = crate::merchant_views::WEBHOOK_DRAIN_TIMEOUT;
    if let Err(why) = crate::merchant_views::wait_for_webhooks(gateway, token, drain).await {
        warnings.push(why);
    }
    // Only the ids, and without taking the outcomes: the money check reads them afterwards
    // (`into_vec` would leave it an empty log, and a run that checked nothing would pass).
    let order_ids = driver.outcomes.order_ids();
    let views = crate::merchant_views::read_views(service, lookup, order_ids, options.quiet)
        .await
        .map_err(RunError::Check)?;
    let path = report_dir.join(crate::merchant_view::MERCHANT_VIEWS_NDJSON);
    crate::merchant_view::write_ndjson(&path, &views).map_err(|e| {
        RunError::Report(ReportError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })
    })?;
    Ok(Some(views))
}

/// In `--service` mode, after the check: attaches to each merchant-view violation the webhook
/// deliveries the gateway made for its order (see `crate::webhook_deliveries`), so the reports
/// say why the merchant's books went wrong. A read that fails becomes a warning.
async fn explain_merchant_views(
    options: &RunOptions,
    violations: &mut [Violation],
    warnings: &mut Vec<String>,
) {
    let SystemUnderTest::Service { gateway, .. } = &options.system else {
        return;
    };
    let token = options.admin_token.as_deref();
    if let Err(why) = crate::webhook_deliveries::explain(violations, gateway, token).await {
        warnings.push(why);
    }
}

fn write_worker_record(path: &Path, record: &WorkerRecord) -> Result<(), RunError> {
    let text = serde_json::to_string_pretty(record).map_err(|source| {
        RunError::Report(ReportError::Json {
            path: path.to_path_buf(),
            source,
        })
    })?;
    std::fs::write(path, text + "\n").map_err(|source| {
        RunError::Report(ReportError::Io {
            path: path.to_path_buf(),
            source,
        })
    })
}

/// Prints the summary table, the violations (order ids first), warnings, and
/// where the reports went.
pub fn print_finished(run: &FinishedRun) {
    print!("{}", crate::report::render_summary(&run.report));
    let money = &run.report.money;
    if money.violations_total > 0 {
        print_violations(&money.violations, money.violations_total as usize);
    }
    for warning in &run.warnings {
        eprintln!("warning: {warning}");
    }
    println!("reports   {}", run.report_dir.display());
}

/// How many violating order ids the terminal lists; the reports have them all.
const VIOLATION_IDS_SHOWN: usize = 50;

/// How many webhook deliveries the terminal lists under one violation; the reports have them all.
const DELIVERIES_SHOWN: usize = 6;

/// Lists violating orders by id, one line each, with the webhook deliveries of the order
/// under a merchant-view violation.
pub fn print_violations(violations: &[Violation], total: usize) {
    print!("{}", violations_text(violations, total));
}

/// What [`print_violations`] prints (empty when there is nothing to list).
fn violations_text(violations: &[Violation], total: usize) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    if total == 0 {
        return s;
    }
    let _ = writeln!(s, "violations ({total}):");
    for v in violations.iter().take(VIOLATION_IDS_SHOWN) {
        let _ = writeln!(
            s,
            "  {:<16} {}  flow {}  captured {} in {} capture(s), refunded {}  keys [{}]",
            v.kind.as_str(),
            v.order_id,
            v.flow,
            v.captured,
            v.captures,
            v.refunded,
            v.idempotency_keys.join(", ")
        );
        for d in v.deliveries.iter().take(DELIVERIES_SHOWN) {
            let _ = writeln!(s, "    {d}");
        }
        if v.deliveries.len() > DELIVERIES_SHOWN {
            let _ = writeln!(
                s,
                "    … and {} more deliveries",
                v.deliveries.len() - DELIVERIES_SHOWN
            );
        }
    }
    if total > VIOLATION_IDS_SHOWN {
        let _ = writeln!(
            s,
            "  ... {} more in report.json and report.html",
            total - VIOLATION_IDS_SHOWN
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merchant_view::{MerchantStatus, MerchantView};
    use crate::outcomes::ClientResult;
    use crate::reconcile::fixtures::{Ledger, attempt, order};
    use crate::webhook_delivery::WebhookDelivery;

    /// One order the merchant fulfilled twice, with `n` webhook deliveries attached.
    fn fulfilled_twice(n: usize) -> Violation {
        let mut ledger = Ledger::new();
        ledger.charge("pay_1", "o-1", "k1", 1000);
        let tried = vec![attempt("create", "k1", Some(200), None)];
        let outcome = order(
            "o-1",
            "purchase",
            1000,
            (1000, 0),
            ClientResult::Succeeded,
            tried,
        );
        let view = MerchantView {
            order_id: "o-1".into(),
            status: MerchantStatus::Paid,
            fulfillments: Some(2),
            amount_paid: Some(1000),
            amount_refunded: Some(0),
            error: None,
        };
        let mut rec = reconcile_with_views(&[outcome], &ledger.0, Some(&[view]));
        let mut v = rec.violations.remove(0);
        v.deliveries = (0..n)
            .map(|i| WebhookDelivery {
                event_id: "evt_1".into(),
                event_type: "payment.succeeded".into(),
                attempt: 1,
                outcome: "delivered".into(),
                status: Some(200),
                faults: if i == 1 {
                    vec!["duplicate".into()]
                } else {
                    vec![]
                },
                sent_at_ms: 1,
            })
            .collect();
        v
    }

    #[test]
    fn a_merchant_view_violation_lists_its_deliveries_under_it() {
        let text = violations_text(&[fulfilled_twice(2)], 1);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert!(lines[1].starts_with("  double_fulfilment"), "{text}");
        assert_eq!(
            lines[2],
            "    evt_1 payment.succeeded attempt 1 delivered 200"
        );
        assert_eq!(
            lines[3],
            "    evt_1 payment.succeeded attempt 1 delivered 200 [duplicate]"
        );
    }

    #[test]
    fn many_deliveries_are_cut_short_with_a_count() {
        let text = violations_text(&[fulfilled_twice(DELIVERIES_SHOWN + 3)], 1);
        assert_eq!(text.lines().count(), 2 + DELIVERIES_SHOWN + 1, "{text}");
        assert!(text.ends_with("    … and 3 more deliveries\n"), "{text}");
        assert_eq!(violations_text(&[], 0), "");
    }

    #[test]
    fn checks_table_becomes_thresholds_or_a_named_error() {
        let s = Scenario::parse(
            "[checks]\np95_ms = 250.0\nmax_double_charges = 0\n",
            "t",
            "t.toml",
        )
        .expect("valid");
        let t = thresholds(&s).expect("thresholds");
        assert_eq!(t.p95_ms, Some(250.0));
        assert_eq!(t.max_double_charges, Some(0));
        let s = Scenario::parse("[checks]\np95 = 250.0\n", "t", "t.toml").expect("valid");
        let e = thresholds(&s).expect_err("unknown key");
        assert!(e.to_string().contains("p95"), "{e}");
        assert!(e.to_string().contains("[checks]"), "{e}");
    }
}
