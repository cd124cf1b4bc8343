//! The command line: `loadgen run`, `loadgen capacity`, `loadgen check` and `loadgen merge`,
//! and what their exit codes mean.
//!
//! Exit codes: 0 every check passed; 1 a check failed (money or latency/rate
//! thresholds); 2 the run could not be done as asked (bad usage, bad scenario,
//! unreachable gateway, unwritable report directory), with a message naming
//! the problem. clap's own usage errors exit 2 as well.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gateway_sim::parse_duration;

use crate::merge::{MergeError, MergeOptions};
use crate::metrics::MetricsEndpoint;
use crate::offline_check::CheckOfflineError;
use crate::pacing::{PacingError, WORKER_INDEX_ENV, WorkerShare};
use crate::progress::ProgressFormat;
use crate::run::{LiveOptions, RunError, RunOptions, ShardOptions, SystemUnderTest};
use crate::scenario::{LoadOverrides, Scenario, ScenarioError};
use crate::thresholds::CheckThresholds;

const RUN_EXAMPLES: &str = "\
Examples:
  # Everything in one process: start gateway-sim in-process and drive it
  loadgen run --scenario scenarios/happy-path.toml

  # A shorter, faster run than the scenario says, reports in a chosen place
  loadgen run --scenario scenarios/happy-path.toml --rate 2000 --duration 10s --users 128 \\
      --report-dir reports/try-1

  # Drive a gateway-sim that is already running (started with --admin-token secret)
  loadgen run --scenario scenarios/flaky-network.toml --target http://127.0.0.1:4242 \\
      --admin-token secret

  # Drive your own payment service; it calls gateway-sim, whose ledger loadgen checks.
  # The scenario's [target] table describes your endpoint (see the scenario docs).
  loadgen run --scenario my-service.toml --service http://127.0.0.1:8080 \\
      --gateway http://127.0.0.1:4242

  # Watch a long run in Grafana: Prometheus scrapes http://127.0.0.1:9464/metrics
  loadgen run --scenario scenarios/brownout.toml --metrics-listen 127.0.0.1:9464

  # In CI: the progress line as one JSON object a line, on stderr (warnings there stay text)
  loadgen run --scenario scenarios/happy-path.toml --progress json 2> progress.log

  # Past one machine: two workers, each half of the orders at half the rate, then one report
  loadgen run --scenario scenarios/happy-path.toml --target http://127.0.0.1:4242 \\
      --worker 1/2 --report-dir reports/w1
  loadgen run --scenario scenarios/happy-path.toml --target http://127.0.0.1:4242 \\
      --worker 2/2 --report-dir reports/w2
  loadgen merge reports/w1 reports/w2 --scenario scenarios/happy-path.toml

  # A gateway sharded by merchant behind a proxy: drive the proxy, read every shard's ledger
  loadgen run --scenario s.toml --target http://127.0.0.1:8080 \\
      --ledger http://127.0.0.1:4242,http://127.0.0.1:4243

Open model: order n is sent at start + n/rate whether or not earlier orders were
answered; latency counts from that intended time. If the client cannot keep up,
the summary says so (achieved vs target rate) instead of silently slowing down.

Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or config.";

const CHECK_EXAMPLES: &str = "\
Examples:
  # Re-check a finished run: the ledger it read was saved with the reports
  loadgen check --ledger reports/happy-path-1790000000/ledger.ndjson \\
      --outcomes reports/happy-path-1790000000/outcomes.ndjson

  # Re-check a finished run against the ledger of a gateway-sim still running
  loadgen check --ledger http://127.0.0.1:4242 --outcomes reports/happy-path-1790000000/outcomes.ndjson

  # Offline, from a saved ledger (curl http://127.0.0.1:4242/_sim/ledger > ledger.ndjson),
  # with the scenario's [checks] thresholds
  loadgen check --ledger ledger.ndjson --outcomes outcomes.ndjson --scenario scenarios/happy-path.toml

  # A --service run with [target.order]: the merchant's books too, from the views it saved
  D=reports/webhook-gate
  loadgen check --ledger $D/ledger.ndjson --outcomes $D/outcomes.ndjson \\
      --merchant-views $D/merchant-views.ndjson \\
      --scenario scenarios/webhook-storm.toml

  # Several gateway shards: their ledgers are merged
  loadgen check --ledger http://10.0.0.1:4242,http://10.0.0.2:4242 --outcomes outcomes.ndjson

Exit status: 0 no money check failed, 1 a money check failed, 2 bad usage or unreadable input.";

const MERGE_EXAMPLES: &str = "\
Examples:
  # Two workers that drove one gateway-sim (each read its ledger; the merge reads it again)
  loadgen merge reports/happy-path-worker-1-of-2-1790000000 reports/happy-path-worker-2-of-2-1790000000

  # Judged by the scenario's [checks], against a gateway sharded over two instances
  loadgen merge reports/w* --scenario scenarios/happy-path.toml \\
      --ledger http://10.0.0.1:4242,http://10.0.0.2:4242 --report-dir reports/merged

Latency histograms are added (HdrHistogram), never averaged; counts and rates are summed;
the money check runs once over every worker's outcomes. Without --ledger: the ledgers the
workers saved (embedded gateways), else the one they read (worker.json), else their --target.

Exit status: 0 all checks passed, 1 a check failed, 2 bad usage or unreadable input.";

const CAPACITY_EXAMPLES: &str = "\
Examples:
  # Climb against an in-process gateway-sim as the scenario's [capacity] table says
  loadgen capacity --scenario scenarios/capacity.toml

  # 100/s, 200/s, ... up to 2000/s, 10 s per step, the first 2 s of each left out
  loadgen capacity --scenario scenarios/capacity.toml --start 100 --step 100 \\
      --max-rate 2000 --step-duration 10s --warm-up 2s --report-dir reports/cap-1

  # Grow by a quarter per step against a gateway-sim already running
  loadgen capacity --scenario scenarios/capacity.toml --target http://127.0.0.1:4242 \\
      --start 500 --factor 1.25

Each step is an open-model run at one rate; the SLO is the scenario's [checks]
(p95_ms, p99_ms, max_error_rate, min_achieved_rate_ratio), judged per step after
its warm-up. The climb stops at the first step that breaks it, or at --max-rate.
The knee is the highest rate that held. One gateway serves the whole climb, and
every order of every step is reconciled against its ledger at the end.
Writes capacity.json, capacity.svg and capacity.html (the plot), outcomes.ndjson
and the ledger it read from one gateway, ledger.ndjson.

Exit status: 0 the SLO held at some rate (a knee was found) and no money went wrong;
1 money went wrong (double, lost or orphan charges, amount mismatches, or the ledger
could not be read), or the SLO broke already at the first step; 2 bad usage or
config (such as a [checks] table without any SLO).";

/// loadgen drives a payment API at a fixed arrival rate, measures latency
/// honestly, and proves afterwards that no money went wrong.
#[derive(Debug, Parser)]
#[command(
    name = "loadgen",
    version,
    about = "Drive a payment API at a fixed arrival rate and reconcile every order against the gateway's ledger",
    long_about = "Drive a payment API at a fixed arrival rate (open model) and reconcile every \
order against the gateway's ledger.\n\n\
Generic load tools count requests and latencies; loadgen also says \"order ord-7-312 was \
charged twice\". It plays a merchant (purchases, captures, refunds, double clicks, retries) \
against gateway-sim or against your own payment service, then compares what every client was \
told with what the ledger shows.\n\n\
Start with: loadgen run --scenario scenarios/happy-path.toml"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario: drive the API, then check money and thresholds
    #[command(after_long_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Step the arrival rate up until the SLO breaks: find the knee and plot it
    #[command(after_long_help = CAPACITY_EXAMPLES)]
    Capacity(CapacityArgs),
    /// Re-run the money check offline from a run's outcomes and a ledger
    #[command(after_long_help = CHECK_EXAMPLES)]
    Check(CheckArgs),
    /// Merge several workers' report directories into one report, checking money once
    #[command(after_long_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Settle a gateway-sim and check its payout reconciliation report (or score yours)
    #[command(after_long_help = SETTLE_EXAMPLES)]
    Settle(SettleArgs),
}

const SETTLE_EXAMPLES: &str = "\
Examples:
  # After a run against a gateway-sim: move its clock past settlement, then check the
  # payouts and the report against the ledger (and, with discrepancies on, the answer key)
  loadgen settle --target http://127.0.0.1:4242 --scenario scenarios/month-end.toml

  # Score your own reconciliation job's output (flagged transaction ids, one per line or CSV)
  loadgen settle --target http://127.0.0.1:4242 --score flagged.csv --scenario scenarios/month-end.toml
";

#[derive(Debug, Args)]
pub struct SettleArgs {
    /// The gateway-sim to settle (its control plane and reports)
    #[arg(long, value_name = "URL")]
    pub target: String,

    /// Read [gateway.settlement] (fees, schedule) and [checks] from this scenario
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Days to move the gateway's clock first [default: enough to pay everything out]
    #[arg(long, value_name = "DAYS")]
    pub advance_days: Option<u64>,

    /// Score this file of flagged transaction ids against the answer key instead of checking
    #[arg(long, value_name = "FILE")]
    pub score: Option<PathBuf>,

    /// gateway-sim's admin token (also read from LOADGEN_ADMIN_TOKEN)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LOADGEN_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML: [load], [checks], [gateway], [target])
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,

    #[command(flatten)]
    pub drive: DriveArgs,

    /// Target arrival rate, orders per second (overrides [load] rate)
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,

    /// How long to send orders, such as 20s, 500ms, 2m (overrides [load] duration)
    #[arg(long, value_name = "TIME", value_parser = duration_arg)]
    pub duration: Option<Duration>,

    /// Play worker I of N's share of the orders (1-based; `/N` takes I from JOB_COMPLETION_INDEX)
    ///
    /// Worker I plays the orders n with n mod N = I-1, at rate/N, so N workers together
    /// offer the scenario's orders at its rate; --users is per worker. Order ids name the
    /// worker; reports go to reports/<scenario>-worker-I-of-N-<time> unless --report-dir.
    /// `--worker /N` reads I from JOB_COMPLETION_INDEX, which Kubernetes sets 0-based in an
    /// Indexed Job's pods (worker JOB_COMPLETION_INDEX + 1). Merge with `loadgen merge`.
    #[arg(long, value_name = "I/N", display_order = HELP_ORDER_AFTER_SHARED)]
    pub worker: Option<String>,

    /// How the once-a-second progress line is printed (on stderr; --quiet prints none)
    ///
    /// `json` prints one JSON object per line, for CI logs that are parsed: elapsed_s, rate
    /// (orders started in the last second), target_rate, p95_ms, requests, errors, error_rate
    /// (a fraction), errors_by_kind, orders_done, orders_total, late_starts.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value_t = ProgressFormat::Human,
        display_order = HELP_ORDER_AFTER_SHARED + 2
    )]
    pub progress: ProgressFormat,

    /// Read the ledger here after the run instead of from --target / --gateway
    ///
    /// URLs or NDJSON files, comma-separated: for a gateway sharded behind a proxy,
    /// every shard's own URL (the proxy's /_sim/ledger would be one shard's).
    #[arg(
        long,
        value_name = "URL_OR_FILE[,..]",
        display_order = HELP_ORDER_AFTER_SHARED + 1
    )]
    pub ledger: Option<String>,
}

/// Where `--help` lists the shared run settings (`--users` .. `--quiet`). clap lists
/// flags in the order they are declared, and [`DriveArgs`] is flattened in right after
/// `--scenario`; this number moves these flags after each command's own flags (`--rate`,
/// `--duration`; `--start` .. `--max-rate`), where `--help` listed them before they were
/// shared. `--target`, `--service` and `--gateway` keep their declared place.
const HELP_ORDER_SHARED: usize = 100;
/// Where `--help` lists `run`'s flags that come after the shared run settings.
const HELP_ORDER_AFTER_SHARED: usize = HELP_ORDER_SHARED + 10;

/// The flags `run` and `capacity` share: the system under test (`--target`, or
/// `--service` with `--gateway`, or neither: a gateway-sim started in process), the
/// `[load]` values both override, and the reports.
///
/// Their help is worded for both commands; `capacity` replaces the two lines whose
/// facts differ (`--report-dir`'s default, what `--quiet` silences).
#[derive(Debug, Args)]
pub struct DriveArgs {
    /// Drive a gateway-sim already running at URL instead of starting one in-process
    ///
    /// Without --target or --service, loadgen starts gateway-sim in-process with the
    /// scenario's [gateway] table and drives it.
    #[arg(long, value_name = "URL", conflicts_with_all = ["service", "gateway"])]
    pub target: Option<String>,

    /// Drive a merchant's own payment service at URL (needs --gateway)
    ///
    /// Each order is one request built from the scenario's [target] template. The
    /// service must pass the order id to the gateway as `reference`.
    #[arg(long, value_name = "URL", requires = "gateway")]
    pub service: Option<String>,

    /// The gateway-sim the --service talks to; its ledger is checked
    #[arg(long, value_name = "URL", requires = "service")]
    pub gateway: Option<String>,

    /// Concurrent users, one connection each (overrides [load] users)
    ///
    /// Each user runs one order at a time, so users must exceed the highest rate x
    /// requests per order x latency; the summary warns when they were too few.
    #[arg(long, value_name = "N", display_order = HELP_ORDER_SHARED)]
    pub users: Option<usize>,

    /// Seed for amounts, flows and merchants (overrides [load] seed)
    #[arg(long, value_name = "N", display_order = HELP_ORDER_SHARED + 1)]
    pub seed: Option<u64>,

    /// Where the reports go [default: reports/<scenario>-<unix time>]
    #[arg(long, value_name = "DIR", display_order = HELP_ORDER_SHARED + 2)]
    pub report_dir: Option<PathBuf>,

    /// gateway-sim's admin token, for /_sim/* (also read from LOADGEN_ADMIN_TOKEN)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LOADGEN_ADMIN_TOKEN",
        hide_env_values = true,
        display_order = HELP_ORDER_SHARED + 3
    )]
    pub admin_token: Option<String>,

    /// No progress line while the run goes on
    #[arg(long, short, display_order = HELP_ORDER_SHARED + 4)]
    pub quiet: bool,

    /// Serve live metrics, Prometheus text, at http://ADDR/metrics while loadgen runs
    ///
    /// ADDR is IP:PORT, such as 127.0.0.1:9464 or 0.0.0.0:9464 (port 0 picks a free port; the
    /// address is printed on stderr). Served: target and achieved rate, orders started, in
    /// flight and finished by client result, request latency as histogram buckets (corrected
    /// for coordinated omission), errors by kind, orders whose client was told of two
    /// payments; and, once the money check has run after the load, its violations by kind
    /// with loadgen_check_done 1. The endpoint stops when the run ends, right after that
    /// final update; report.json has the verdict for a scraper that missed it.
    #[arg(long, value_name = "ADDR", display_order = HELP_ORDER_SHARED + 5)]
    pub metrics_listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The workers' report directories (each with report.json, outcomes.ndjson, latency.hlog)
    #[arg(value_name = "DIR", required = true, num_args = 1..)]
    pub dirs: Vec<PathBuf>,

    /// The ledger: gateway-sim URLs or NDJSON files, comma-separated (every shard)
    #[arg(long, value_name = "URL_OR_FILE[,..]")]
    pub ledger: Option<String>,

    /// Judge the merged run by this scenario's [checks] (default: money only, no violation allowed)
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Where the merged reports go [default: reports/<scenario>-merged-<unix time>]
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// gateway-sim's admin token, when --ledger is a URL (also read from LOADGEN_ADMIN_TOKEN)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LOADGEN_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
}

#[derive(Debug, Args)]
#[command(
    mut_arg("report_dir", |a| a.help(
        "Where the reports go [default: reports/<scenario>-capacity-<unix time>]"
    )),
    mut_arg("quiet", |a| a.help("No line per step (the summary is still printed)")),
)]
pub struct CapacityArgs {
    /// The scenario file: [load] is each step's traffic, [checks] the SLO, [capacity] the steps
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,

    #[command(flatten)]
    pub drive: DriveArgs,

    /// The first step's arrival rate, orders/s [default: [capacity] start, else [load] rate]
    #[arg(long, value_name = "N")]
    pub start: Option<f64>,

    /// Add N orders/s per step (replaces [capacity] step or factor)
    #[arg(long, value_name = "N", conflicts_with = "factor")]
    pub step: Option<f64>,

    /// Multiply the rate by F per step (replaces [capacity] step or factor) [default: 1.25]
    #[arg(long, value_name = "F")]
    pub factor: Option<f64>,

    /// How long each rate is held, such as 10s [default: [capacity] step_duration, else 10s]
    #[arg(long, value_name = "TIME", value_parser = duration_arg)]
    pub step_duration: Option<Duration>,

    /// Leave the first TIME of each step out of its figures (whole seconds) [default: 0s]
    #[arg(long, value_name = "TIME", value_parser = parse_duration)]
    pub warm_up: Option<Duration>,

    /// Upper bound: no step above N orders/s [default: [capacity] max_rate, else 10 x start]
    #[arg(long, value_name = "N")]
    pub max_rate: Option<f64>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The ledger: a gateway-sim URL, an NDJSON file saved from GET /_sim/ledger,
    /// or several of either separated by commas
    #[arg(long, value_name = "URL_OR_FILE")]
    pub ledger: String,

    /// The run's outcomes.ndjson (in its report directory)
    #[arg(long, value_name = "FILE")]
    pub outcomes: PathBuf,

    /// Take the money thresholds from this scenario's [checks] (default: no violation allowed)
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// The merchant's views of its orders (merchant-views.ndjson, saved by a --service run
    /// with [target.order]): checks the merchant's books against the ledger too
    #[arg(long, value_name = "FILE")]
    pub merchant_views: Option<PathBuf>,

    /// gateway-sim's admin token, when --ledger is a URL (also read from LOADGEN_ADMIN_TOKEN)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "LOADGEN_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
}

fn duration_arg(text: &str) -> Result<Duration, String> {
    let d = parse_duration(text)?;
    if d.is_zero() {
        return Err("must be above 0".into());
    }
    Ok(d)
}

/// How a command ended, when it could judge at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    Failed,
}

impl Verdict {
    pub fn from_passed(passed: bool) -> Self {
        if passed {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }

    /// 0 passed, 1 failed.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Passed => 0,
            Verdict::Failed => 1,
        }
    }
}

/// The exit code for a command that could not judge anything.
pub const EXIT_USAGE: u8 = 2;

/// Why a command could not judge anything (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Check(#[from] CheckOfflineError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Worker(#[from] PacingError),
    #[error("{0}")]
    Usage(String),
}

/// Log filter when `LOADGEN_LOG` is not set: warnings, but not goose's one
/// warning per failed request (a fault scenario fails thousands on purpose,
/// and the report counts them).
pub const DEFAULT_LOG_FILTER: &str = "warn,goose=error";

/// Installs loadgen's log subscriber (stderr, filtered by `LOADGEN_LOG`, else
/// [`DEFAULT_LOG_FILTER`]). Call it before a run: goose then finds a logger in
/// place and its messages pass through this filter instead of goose's own
/// console logger. Does nothing if a subscriber is already installed.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOADGEN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG_FILTER));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<Verdict, CliError> {
    match cli.command {
        Command::Run(args) => run_command(args).await,
        Command::Capacity(args) => capacity_command(args).await,
        Command::Check(args) => check_command(args).await,
        Command::Merge(args) => merge_command(args).await,
        Command::Settle(args) => settle_command(args).await,
    }
}

async fn settle_command(args: SettleArgs) -> Result<Verdict, CliError> {
    let target = base_url("--target", &args.target)?;
    let scenario = args.scenario.as_deref().map(Scenario::load).transpose()?;
    let (terms, thresholds) = match &scenario {
        Some(s) => {
            let gateway = gateway_sim::parse_scenario_gateway(&s.text)
                .map_err(|e| CliError::Usage(format!("{}: {e}", s.origin)))?;
            (
                crate::settle::Terms::from_config(&gateway.settlement),
                crate::run::thresholds(s)?,
            )
        }
        None => (crate::settle::Terms::default(), CheckThresholds::default()),
    };
    let failed = |e: crate::settle::SettleError| CliError::Usage(format!("settle: {e}"));
    if let Some(flags) = &args.score {
        let scores = crate::settle::score_file(&target, args.admin_token, flags)
            .await
            .map_err(failed)?;
        let min_precision = thresholds.min_reconciliation_precision.unwrap_or(1.0);
        let min_recall = thresholds.min_reconciliation_recall.unwrap_or(1.0);
        let mut passed = true;
        for s in &scores {
            let ok = s.precision >= min_precision && s.recall >= min_recall;
            passed &= ok;
            println!(
                "{:<14} expected {:>6}  flagged {:>6}  found {:>6}  precision {:.3}  recall {:.3}  {}",
                s.kind,
                s.expected,
                s.flagged,
                s.true_positives,
                s.precision,
                s.recall,
                if ok { "ok" } else { "BELOW THRESHOLD" }
            );
        }
        return Ok(Verdict::from_passed(passed));
    }
    let options = crate::settle::SettleOptions {
        target,
        admin_token: args.admin_token,
        terms,
        advance_days: args.advance_days,
    };
    let settlement = crate::settle::settle(&options).await.map_err(failed)?;
    print!("{}", crate::settle::summary(&settlement));
    Ok(Verdict::from_passed(settlement.passed()))
}

fn base_url(flag: &str, url: &str) -> Result<String, CliError> {
    let trimmed = url.trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("http://")
        .or_else(|| trimmed.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(trimmed.to_string()),
        _ => Err(CliError::Usage(format!(
            "{flag} {url:?}: expected a base URL such as http://127.0.0.1:4242"
        ))),
    }
}

impl DriveArgs {
    /// The system `run` and `capacity` send their orders to: `--target`, `--service`
    /// with `--gateway`, or (neither) a gateway-sim started in process.
    fn system_under_test(&self, scenario: &Scenario) -> Result<SystemUnderTest, CliError> {
        Ok(match (&self.target, &self.service, &self.gateway) {
            (Some(target), None, None) => SystemUnderTest::Target(base_url("--target", target)?),
            (None, Some(service), Some(gateway)) => {
                if scenario.target.is_none() {
                    return Err(CliError::Usage(format!(
                        "--service needs a [target] table in {} describing the service's endpoint",
                        scenario.origin
                    )));
                }
                SystemUnderTest::Service {
                    service: base_url("--service", service)?,
                    gateway: base_url("--gateway", gateway)?,
                }
            }
            (None, None, None) => SystemUnderTest::Embedded,
            _ => {
                return Err(CliError::Usage(
                    "give either --target URL, or --service URL with --gateway URL, or neither"
                        .into(),
                ));
            }
        })
    }
}

/// Turns `loadgen run` arguments into run options (no I/O beyond reading the scenario).
pub fn run_options(args: RunArgs) -> Result<RunOptions, CliError> {
    let mut scenario = Scenario::load(&args.scenario)?;
    scenario.override_load(&LoadOverrides {
        rate: args.rate,
        duration: args.duration,
        users: args.drive.users,
        seed: args.drive.seed,
    })?;
    let system = args.drive.system_under_test(&scenario)?;
    Ok(RunOptions {
        scenario,
        system,
        report_dir: args.drive.report_dir,
        admin_token: args.drive.admin_token,
        quiet: args.drive.quiet,
    })
}

/// The `--worker` and `--ledger` part of `loadgen run` (`env_index`: the value of
/// `JOB_COMPLETION_INDEX`, for `--worker /N`).
pub fn shard_options(args: &RunArgs, env_index: Option<&str>) -> Result<ShardOptions, CliError> {
    let worker = args
        .worker
        .as_deref()
        .map(|w| WorkerShare::parse(w, env_index))
        .transpose()?;
    if args.ledger.is_some() && args.drive.target.is_none() && args.drive.service.is_none() {
        return Err(CliError::Usage(
            "--ledger names where a running gateway's ledger is read: give it with --target or --service".into(),
        ));
    }
    if let Some(spec) = &args.ledger
        && spec.split(',').all(|s| s.trim().is_empty())
    {
        return Err(CliError::Usage(format!(
            "--ledger {spec:?}: give gateway-sim URLs or ledger files, comma-separated"
        )));
    }
    Ok(ShardOptions {
        worker,
        ledger: args.ledger.clone(),
    })
}

async fn run_command(args: RunArgs) -> Result<Verdict, CliError> {
    let env_index = std::env::var(WORKER_INDEX_ENV).ok();
    let shard = shard_options(&args, env_index.as_deref())?;
    let progress = args.progress;
    let metrics_listen = args.drive.metrics_listen;
    let options = run_options(args)?;
    let live = LiveOptions {
        progress,
        metrics: metrics_endpoint(metrics_listen).await?,
    };
    let finished = crate::run::execute_live(options, &shard, live).await?;
    crate::run::print_finished(&finished);
    Ok(Verdict::from_passed(finished.report.passed))
}

/// Binds `--metrics-listen`'s address, if given, and says on stderr where the metrics are: a
/// port 0 is only known once bound, and a port already taken fails here, before any load.
async fn metrics_endpoint(addr: Option<SocketAddr>) -> Result<Option<MetricsEndpoint>, CliError> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let cannot = |e: std::io::Error| CliError::Usage(format!("--metrics-listen {addr}: {e}"));
    let endpoint = MetricsEndpoint::bind(addr).await.map_err(cannot)?;
    let bound = endpoint.local_addr().map_err(cannot)?;
    eprintln!("metrics   http://{bound}/metrics (served until the run ends)");
    Ok(Some(endpoint))
}

/// Turns `loadgen capacity` arguments into options (no I/O beyond reading the scenario).
pub fn capacity_options(args: CapacityArgs) -> Result<crate::capacity::CapacityOptions, CliError> {
    use crate::capacity::CapacityPlan;
    use crate::scenario::{CapacitySettings, RateIncrease};

    let mut scenario = Scenario::load(&args.scenario)?;
    scenario.override_load(&LoadOverrides {
        users: args.drive.users,
        seed: args.drive.seed,
        ..LoadOverrides::default()
    })?;
    let system = args.drive.system_under_test(&scenario)?;
    let flags = CapacitySettings {
        start: args.start,
        increase: args
            .step
            .map(RateIncrease::Step)
            .or(args.factor.map(RateIncrease::Factor)),
        step_duration: args.step_duration,
        warm_up: args.warm_up,
        max_rate: args.max_rate,
    };
    let plan = CapacityPlan::resolve(scenario.capacity.as_ref(), &flags, scenario.load.rate)
        .map_err(|e| CliError::Usage(format!("scenario {}: {e}", scenario.origin)))?;
    Ok(crate::capacity::CapacityOptions {
        scenario,
        plan,
        system,
        report_dir: args.drive.report_dir,
        admin_token: args.drive.admin_token,
        quiet: args.drive.quiet,
    })
}

async fn capacity_command(args: CapacityArgs) -> Result<Verdict, CliError> {
    let metrics_listen = args.drive.metrics_listen;
    let options = capacity_options(args)?;
    let metrics = metrics_endpoint(metrics_listen).await?;
    let finished = crate::capacity::execute_live(options, metrics).await?;
    crate::capacity::print_finished(&finished);
    Ok(Verdict::from_passed(finished.report.passed))
}

async fn check_command(args: CheckArgs) -> Result<Verdict, CliError> {
    let thresholds = match &args.scenario {
        Some(path) => {
            let scenario = Scenario::load(path)?;
            crate::run::thresholds(&scenario)?
        }
        None => CheckThresholds::default(),
    };
    let (reconciliation, results) = crate::offline_check::check_offline_with_views(
        &args.ledger,
        &args.outcomes,
        args.merchant_views.as_deref(),
        &thresholds,
        args.admin_token.as_deref(),
    )
    .await?;
    let c = &reconciliation.counts;
    println!(
        "checked {} orders against {} ledger entries: double charges {}, lost {}, orphan {}, amount mismatches {}, unresolved {}, unknown charges {}",
        reconciliation.orders,
        reconciliation.ledger_entries,
        c.double_charges,
        c.lost_charges,
        c.orphan_charges,
        c.amount_mismatches,
        c.unresolved,
        c.unknown_charges
    );
    if let Some(m) = &c.merchant {
        println!("merchant  {}", crate::report::merchant_counts(m));
    }
    crate::run::print_violations(&reconciliation.violations, reconciliation.violations.len());
    for r in &results {
        let verdict = if r.passed { "PASS" } else { "FAIL" };
        println!("  {verdict}  {:<20} {}", r.name, r.detail);
    }
    let passed = results.iter().all(|r| r.passed);
    println!("result    {}", if passed { "PASSED" } else { "FAILED" });
    Ok(Verdict::from_passed(passed))
}

async fn merge_command(args: MergeArgs) -> Result<Verdict, CliError> {
    let thresholds = match &args.scenario {
        Some(path) => crate::run::thresholds(&Scenario::load(path)?)?,
        None => CheckThresholds::default(),
    };
    let merged = crate::merge::merge(MergeOptions {
        dirs: args.dirs,
        ledger: args.ledger,
        thresholds,
        report_dir: args.report_dir,
        admin_token: args.admin_token,
    })
    .await?;
    crate::merge::print_merged(&merged);
    Ok(Verdict::from_passed(merged.report.passed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("loadgen").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_flags_parse() {
        let cli = parse(&[
            "run",
            "--scenario",
            "s.toml",
            "--rate",
            "250",
            "--duration",
            "1m30s",
            "--users",
            "8",
            "--seed",
            "3",
            "--quiet",
            "--progress",
            "json",
        ])
        .expect("valid");
        let Command::Run(args) = cli.command else {
            panic!("expected run");
        };
        assert_eq!(args.progress, ProgressFormat::Json);
        assert_eq!(args.drive.metrics_listen, None);
        assert_eq!(args.rate, Some(250.0));
        assert_eq!(args.duration, Some(Duration::from_secs(90)));
        assert_eq!(args.drive.users, Some(8));
        assert!(args.drive.quiet);
        assert!(args.drive.target.is_none());
    }

    #[test]
    fn usage_errors_exit_2() {
        let bad = [
            vec!["run"],
            vec!["run", "--scenario", "s.toml", "--duration", "20"],
            vec!["run", "--scenario", "s.toml", "--service", "http://a"],
            vec!["run", "--scenario", "s.toml", "--gateway", "http://a"],
            vec![
                "run",
                "--scenario",
                "s.toml",
                "--metrics-listen",
                "localhost",
            ],
            vec!["run", "--scenario", "s.toml", "--progress", "xml"],
            vec![
                "run",
                "--scenario",
                "s.toml",
                "--target",
                "http://a",
                "--service",
                "http://b",
                "--gateway",
                "http://c",
            ],
            vec!["check", "--outcomes", "o.ndjson"],
            vec!["merge"],
        ];
        for args in bad {
            let e = parse(&args).expect_err("usage error");
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn worker_and_ledger_flags_become_shard_options() {
        let args = |extra: &[&str]| {
            let mut all = vec!["run", "--scenario", "s.toml"];
            all.extend_from_slice(extra);
            let Command::Run(args) = parse(&all).expect("valid").command else {
                panic!("expected run");
            };
            args
        };
        let shard = shard_options(&args(&["--worker", "2/3"]), None).expect("valid");
        assert_eq!(shard.worker, Some(WorkerShare::new(2, 3).expect("valid")));
        assert_eq!(shard.ledger, None);
        // Kubernetes' 0-based index names the 1-based worker.
        let shard = shard_options(&args(&["--worker", "/3"]), Some("2")).expect("valid");
        assert_eq!(shard.worker, Some(WorkerShare::new(3, 3).expect("valid")));
        for bad in ["0/3", "4/3", "/3"] {
            let e = shard_options(&args(&["--worker", bad]), None).expect_err(bad);
            assert!(e.to_string().contains("--worker"), "{bad}: {e}");
        }
        let shard = shard_options(
            &args(&["--target", "http://n", "--ledger", "http://a,http://b"]),
            None,
        )
        .expect("valid");
        assert_eq!(shard.ledger.as_deref(), Some("http://a,http://b"));
        let e = shard_options(&args(&["--ledger", "http://a"]), None).expect_err("embedded");
        assert!(e.to_string().contains("--target"), "{e}");
        let e = shard_options(&args(&["--target", "http://n", "--ledger", ","]), None)
            .expect_err("empty");
        assert!(e.to_string().contains("--ledger"), "{e}");
    }

    #[test]
    fn metrics_listen_is_shared_by_run_and_capacity() {
        for command in ["run", "capacity"] {
            let cli = parse(&[
                command,
                "--scenario",
                "s.toml",
                "--metrics-listen",
                "127.0.0.1:0",
            ])
            .expect("valid");
            let drive = match cli.command {
                Command::Run(args) => args.drive,
                Command::Capacity(args) => args.drive,
                _ => panic!("expected {command}"),
            };
            assert_eq!(
                drive.metrics_listen,
                Some(SocketAddr::from(([127, 0, 0, 1], 0)))
            );
        }
    }

    #[tokio::test]
    async fn a_taken_metrics_port_is_a_usage_error() {
        let taken = MetricsEndpoint::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("binds");
        let addr = taken.local_addr().expect("an address");
        let e = metrics_endpoint(Some(addr))
            .await
            .expect_err("the port is taken");
        assert!(e.to_string().contains("--metrics-listen"), "{e}");
        assert!(
            metrics_endpoint(None)
                .await
                .expect("nothing asked")
                .is_none()
        );
    }

    #[test]
    fn merge_flags_parse() {
        let cli = parse(&[
            "merge",
            "a",
            "b",
            "--ledger",
            "http://x,http://y",
            "--report-dir",
            "out",
        ])
        .expect("valid");
        let Command::Merge(args) = cli.command else {
            panic!("expected merge");
        };
        assert_eq!(args.dirs, vec![PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(args.ledger.as_deref(), Some("http://x,http://y"));
        assert_eq!(args.report_dir, Some(PathBuf::from("out")));
    }

    #[test]
    fn long_help_teaches_with_examples() {
        let mut cmd = Cli::command();
        let run = cmd
            .find_subcommand_mut("run")
            .expect("run subcommand")
            .render_long_help()
            .to_string();
        assert!(run.contains("loadgen run --scenario scenarios/happy-path.toml"));
        assert!(run.contains("Exit status"));
    }

    #[test]
    fn every_example_command_can_be_pasted_into_a_shell() {
        // A continued command ends its line with a backslash, or the shell runs half of it.
        for examples in [
            RUN_EXAMPLES,
            CHECK_EXAMPLES,
            MERGE_EXAMPLES,
            CAPACITY_EXAMPLES,
        ] {
            let lines: Vec<&str> = examples.lines().collect();
            for pair in lines.windows(2) {
                if pair[1].starts_with("      --") {
                    assert!(
                        pair[0].ends_with(" \\"),
                        "continued without a backslash: {:?}",
                        pair[0]
                    );
                }
            }
        }
    }

    #[test]
    fn run_options_name_bad_inputs() {
        let dir = std::env::temp_dir().join(format!("loadgen-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("s.toml");
        std::fs::write(&path, "[load]\nrate = 10\n").expect("write");
        let args = |target: Option<&str>, service: Option<&str>| RunArgs {
            scenario: path.clone(),
            drive: DriveArgs {
                target: target.map(str::to_owned),
                service: service.map(str::to_owned),
                gateway: service.map(|_| "http://127.0.0.1:4242".to_owned()),
                users: Some(0),
                seed: None,
                report_dir: None,
                admin_token: None,
                quiet: true,
                metrics_listen: None,
            },
            rate: None,
            duration: None,
            worker: None,
            progress: ProgressFormat::Human,
            ledger: None,
        };
        let e = run_options(args(None, None)).expect_err("zero users");
        assert!(e.to_string().contains("--users"), "{e}");
        let mut ok = args(Some("127.0.0.1:4242"), None);
        ok.drive.users = None;
        let e = run_options(ok).expect_err("not a URL");
        assert!(e.to_string().contains("--target"), "{e}");
        let mut service = args(None, Some("http://127.0.0.1:8080"));
        service.drive.users = None;
        let e = run_options(service).expect_err("no [target]");
        assert!(e.to_string().contains("[target]"), "{e}");
        let mut fine = args(Some("http://127.0.0.1:4242/"), None);
        fine.drive.users = None;
        let options = run_options(fine).expect("valid");
        assert!(
            matches!(options.system, SystemUnderTest::Target(ref u) if u == "http://127.0.0.1:4242")
        );
        let missing = RunArgs {
            scenario: dir.join("missing.toml"),
            ..args(None, None)
        };
        let e = run_options(missing).expect_err("missing file");
        assert!(e.to_string().contains("missing.toml"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
