//! The `gateway-sim` command line: parse flags (with environment fallbacks),
//! start the server, print where it listens, stop cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::behaviour::{self, BehaviourConfig};
use crate::{SimConfig, StartError};

const ABOUT: &str = "A stateful fake payment gateway: a real ledger, strict idempotency keys, and faults on purpose.";

const LONG_ABOUT: &str = "\
A stateful fake payment gateway: a real ledger, strict idempotency keys, and
faults on purpose (latency, declines, timeouts, ambiguous failures, resets,
rate limits), reproducible from a seed.

Point your payment service at it instead of a real gateway, then ask the
ledger whether every order was charged exactly once.";

const AFTER_HELP: &str = "\
Examples:
  gateway-sim                                   # happy path on 127.0.0.1:4242
  gateway-sim --scenario scenarios/flaky-network.toml --seed 7
  gateway-sim --listen 127.0.0.1:0 --admin-token s3cret --log-format json

  curl -s localhost:4242/v1/payments -H 'Authorization: Bearer sk_test_1' \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: order-1-try' \\
       -d '{\"amount\": 1000, \"currency\": \"usd\", \"payment_method\": \"pm_card_visa\", \"reference\": \"order-1\"}'
  curl -s localhost:4242/_sim/ledger            # every money movement, NDJSON
  curl -s localhost:4242/_sim/stats

Control plane: GET /_sim/health, /_sim/stats, /_sim/ledger, /_sim/config, /metrics;
PUT /_sim/config (JSON [gateway] table, or a scenario file with Content-Type: application/toml);
POST /_sim/reset, /_sim/clock/advance {\"seconds\": n}.";

#[derive(Debug, Parser)]
#[command(name = "gateway-sim", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, env = "GATEWAY_SIM_LISTEN", default_value = "127.0.0.1:4242")]
    pub listen: SocketAddr,

    /// Scenario file whose [gateway] table sets latency, declines, faults, rate limits and schedules.
    /// Other tables ([load], [checks], ...) are for loadgen and ignored here.
    #[arg(long, env = "GATEWAY_SIM_SCENARIO", value_name = "FILE")]
    pub scenario: Option<PathBuf>,

    /// Seed for every random decision (overrides the scenario's). Same seed + same requests = same outcomes.
    #[arg(long, env = "GATEWAY_SIM_SEED")]
    pub seed: Option<u64>,

    /// Require this token on /_sim/* (health excepted), as `X-Admin-Token` or `Authorization: Bearer`.
    #[arg(long, env = "GATEWAY_SIM_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// How long idempotency keys are kept, in simulator time (e.g. 24h, 90m, 30s).
    #[arg(long, env = "GATEWAY_SIM_IDEMPOTENCY_TTL", default_value = "24h", value_parser = parse_duration)]
    pub idempotency_ttl: Duration,

    /// Latency for every endpoint, as a lognormal given by its median and 99th percentile,
    /// e.g. `80ms,400ms` (or one value for a constant delay, e.g. `50ms`). Overrides the scenario's.
    #[arg(long, env = "GATEWAY_SIM_LATENCY", value_name = "P50[,P99]", value_parser = parse_latency, help_heading = "Behaviour (override the scenario)")]
    pub latency: Option<behaviour::LatencyConfig>,

    /// Share of otherwise approved charges declined at random (0..1), as `generic_decline`.
    #[arg(
        long,
        env = "GATEWAY_SIM_DECLINE_RATE",
        value_name = "P",
        help_heading = "Behaviour (override the scenario)"
    )]
    pub decline_rate: Option<f64>,

    /// Probability of an HTTP 503 before processing (nothing charged), per request.
    #[arg(
        long,
        env = "GATEWAY_SIM_ERROR_RATE",
        value_name = "P",
        help_heading = "Behaviour (override the scenario)"
    )]
    pub error_rate: Option<f64>,

    /// Probability that a request is processed and its answer then lost (the connection is
    /// reset after the commit): the fault that turns naive retries into double charges.
    #[arg(
        long,
        env = "GATEWAY_SIM_AMBIGUOUS_RATE",
        value_name = "P",
        help_heading = "Behaviour (override the scenario)"
    )]
    pub ambiguous_rate: Option<f64>,

    /// Per-merchant rate limit in requests per second (burst: one second's worth); 429 beyond it.
    #[arg(
        long,
        env = "GATEWAY_SIM_RATE_LIMIT",
        value_name = "RPS",
        help_heading = "Behaviour (override the scenario)"
    )]
    pub rate_limit: Option<f64>,

    /// Log format on stderr.
    #[arg(long, env = "GATEWAY_SIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    behaviour::parse_duration(text)
}

fn parse_latency(text: &str) -> Result<behaviour::LatencyConfig, String> {
    match text.split_once(',') {
        Some((p50, p99)) => Ok(behaviour::LatencyConfig::lognormal(
            behaviour::parse_duration(p50.trim())?,
            behaviour::parse_duration(p99.trim())?,
        )),
        None => Ok(behaviour::LatencyConfig::constant(
            behaviour::parse_duration(text.trim())?,
        )),
    }
}

impl Args {
    /// The simulator configuration these flags describe (reads the scenario file).
    pub fn sim_config(&self) -> anyhow::Result<SimConfig> {
        let mut behaviour = match &self.scenario {
            Some(path) => behaviour::load_scenario_gateway(path)
                .with_context(|| format!("scenario {}", path.display()))?,
            None => BehaviourConfig::default(),
        };
        if let Some(seed) = self.seed {
            behaviour.seed = Some(seed);
        }
        if let Some(latency) = &self.latency {
            behaviour.latency = Some(latency.clone());
        }
        if let Some(rate) = self.decline_rate {
            behaviour.declines.rate = rate;
        }
        if let Some(rate) = self.error_rate {
            behaviour.faults.http_503 = rate;
        }
        if let Some(rate) = self.ambiguous_rate {
            behaviour.faults.reset_after_commit = rate;
        }
        if let Some(rps) = self.rate_limit {
            behaviour.rate_limit = Some(behaviour::RateLimitConfig {
                requests_per_second: rps,
                burst: None,
            });
        }
        // Flags are checked like the scenario file, naming the flag's field when wrong.
        behaviour
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid behaviour: {}: {}", e.field, e.message))?;
        Ok(SimConfig {
            listen: self.listen,
            seed: behaviour.seed.unwrap_or(0),
            admin_token: self.admin_token.clone().filter(|t| !t.is_empty()),
            behaviour,
            idempotency_ttl: self.idempotency_ttl,
        })
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the binary until SIGINT or SIGTERM.
pub async fn run(args: Args) -> anyhow::Result<()> {
    init_logging(args.log_format);
    let config = args.sim_config()?;
    let seed = config.seed;
    let scenario = args.scenario.clone();
    crate::serve_until(
        config,
        |addr| {
            // The one line scripts wait for: they read the URL from it.
            println!("gateway-sim listening on http://{addr}");
            tracing::info!(%addr, seed, scenario = ?scenario, "gateway-sim started");
        },
        shutdown_signal(),
    )
    .await
    .map_err(|e| match e {
        StartError::Bind { addr, source } => anyhow::anyhow!(
            "cannot listen on {addr}: {source} (is another gateway-sim running? try --listen 127.0.0.1:0)"
        ),
        other => anyhow::Error::new(other),
    })?;
    tracing::info!("gateway-sim stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
