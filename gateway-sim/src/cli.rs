//! The `gateway-sim` command line: parse flags (with environment fallbacks),
//! start the server, print where it listens, stop cleanly on SIGINT/SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};

use crate::behaviour::{self, BehaviourConfig, ScenarioBehaviour};
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
  gateway-sim --scenario scenarios/happy-path.toml --scenario scenarios/brownout.toml
                                                # then open http://127.0.0.1:4242/_sim/ui
  gateway-sim --listen 127.0.0.1:0 --admin-token s3cret --log-format json
  gateway-sim --scenario scenarios/webhook-storm.toml --webhook http://127.0.0.1:9000/hooks

  curl -s localhost:4242/v1/payments -H 'Authorization: Bearer sk_test_1' \\
       -H 'Content-Type: application/json' -H 'Idempotency-Key: order-1-try' \\
       -d '{\"amount\": 1000, \"currency\": \"usd\", \"payment_method\": \"pm_card_visa\", \"reference\": \"order-1\"}'
  curl -s localhost:4242/_sim/ledger            # every money movement, NDJSON
  curl -s localhost:4242/_sim/stats

Control plane: GET /_sim/health, /_sim/stats, /_sim/ledger, /_sim/config, /metrics;
PUT /_sim/config (JSON [gateway] table, or a scenario file with Content-Type: application/toml);
POST /_sim/reset, /_sim/clock/advance {\"seconds\": n};
GET /_sim/scenarios, POST /_sim/scenarios/{name}/activate (switch among the --scenario files);
GET /_sim/payments/{id}, /_sim/payments?reference=ORDER (a payment and its history).

Dashboard: open /_sim/ui in a browser: live counters, the ledger's tail, payments by id or
reference with their history, and the behaviour (switch scenario or edit it as JSON). With
--admin-token the page asks for the token and sends it as X-Admin-Token.";

#[derive(Debug, Parser)]
#[command(name = "gateway-sim", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, env = "GATEWAY_SIM_LISTEN", default_value = "127.0.0.1:4242")]
    pub listen: SocketAddr,

    /// Scenario file whose [gateway] table sets latency, declines, faults, rate limits and schedules.
    /// Other tables ([load], [checks], ...) are for loadgen and ignored here.
    ///
    /// Repeat it to switch among several while traffic flows: the first is in force at start,
    /// each goes by its file name without `.toml` (`GET /_sim/scenarios`, `POST
    /// /_sim/scenarios/{name}/activate`, the dashboard at /_sim/ui). The behaviour flags below
    /// override every one of them, and --webhook endpoints are added to each.
    ///
    /// Example: --scenario scenarios/happy-path.toml --scenario scenarios/brownout.toml
    #[arg(long, env = "GATEWAY_SIM_SCENARIO", value_name = "FILE")]
    pub scenario: Vec<PathBuf>,

    /// Seed for every random decision (overrides the scenario's). Same seed + same requests = same outcomes.
    #[arg(long, env = "GATEWAY_SIM_SEED")]
    pub seed: Option<u64>,

    /// Require this token on /_sim/* (health excepted), as `X-Admin-Token` or `Authorization: Bearer`.
    /// The dashboard's page (/_sim/ui) loads without it, asks for it and sends it on every request.
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

    /// Send signed webhooks to URL: every event of every merchant (repeatable).
    ///
    /// Events are Stripe `Event` objects signed with a `Stripe-Signature` header, unless the
    /// value starts with `native:`, which sends the native API's events instead. Deliveries are
    /// at least once: failed attempts are retried, and a scenario's [gateway.webhooks.faults]
    /// adds duplicates, delays, reordering and drops on purpose. Added to the endpoints the
    /// scenario lists. The endpoints and their signing secret are printed at start.
    ///
    /// Example: --webhook http://127.0.0.1:9000/hooks --webhook native:http://127.0.0.1:9001/hooks
    #[arg(
        long = "webhook",
        value_name = "[native:]URL",
        value_parser = parse_webhook,
        help_heading = "Webhooks"
    )]
    pub webhooks: Vec<behaviour::WebhookEndpointConfig>,

    /// The signing secret of the --webhook endpoints (default: derived from the seed; printed at start).
    ///
    /// `whsec_` followed by at least 10 characters, as Stripe's. By default it is `whsec_` and 32
    /// hex characters derived from the seed, so a test that knows the seed knows the secret and
    /// the same seed always signs the same way; it is printed at start either way.
    ///
    /// Example: --webhook-secret whsec_test_0123456789abcdef
    #[arg(
        long,
        env = "GATEWAY_SIM_WEBHOOK_SECRET",
        value_name = "whsec_...",
        value_parser = parse_webhook_secret,
        hide_env_values = true,
        help_heading = "Webhooks"
    )]
    pub webhook_secret: Option<String>,

    /// Log format on stderr.
    #[arg(long, env = "GATEWAY_SIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Keep the state in DIR: every change (payments, refunds, ledger, events, idempotency
    /// keys and their answers, checkout sessions, disputes, webhook endpoints, the clock) is
    /// appended to DIR/journal.log before its answer leaves, and replayed on start. Without
    /// it, state lives in memory only. `POST /_sim/snapshot` without a path writes to
    /// DIR/snapshots/.
    #[arg(
        long,
        env = "GATEWAY_SIM_DATA_DIR",
        value_name = "DIR",
        help_heading = "Durability"
    )]
    pub data_dir: Option<std::path::PathBuf>,

    /// When the journal is synced to disk: `always` before each answer (group commit);
    /// `batch` at least every 10 ms, answers leaving once written (a killed process loses
    /// nothing, a power cut at most 10 ms); `off` when the OS pleases.
    #[arg(
        long,
        env = "GATEWAY_SIM_FSYNC",
        value_enum,
        default_value_t = crate::FsyncPolicy::Batch,
        help_heading = "Durability"
    )]
    pub fsync: crate::FsyncPolicy,

    /// Start from a snapshot written by `POST /_sim/snapshot` (with --data-dir, only into an
    /// empty one, whose journal then starts from the snapshot).
    #[arg(
        long,
        env = "GATEWAY_SIM_RESTORE",
        value_name = "FILE",
        help_heading = "Durability"
    )]
    pub restore: Option<std::path::PathBuf>,

    /// Keep memory flat in a long run: payments settled longer ago than DURATION (simulator
    /// time, e.g. 2m, 1h) leave memory, and so do the ledger's and the change log's entries
    /// older than it. Settled: succeeded (no dispute to come or open), canceled or declined,
    /// unchanged for DURATION, and no webhook delivery outstanding; open payments stay however
    /// old. A retired payment answers 404 (the message says retention is on);
    /// /_sim/ledger starts at the first entry held and /_sim/stats shows where (`retention`);
    /// counts and totals stay whole. Idempotency keys keep --idempotency-ttl (a retired
    /// payment's key still replays). With --data-dir the journal keeps everything and a
    /// restart retires again. Off by default.
    ///
    /// Example: --retain 2m --idempotency-ttl 2m (a soak: see scripts/soak.sh)
    #[arg(
        long,
        env = "GATEWAY_SIM_RETAIN",
        value_name = "DURATION",
        value_parser = parse_retain,
        help_heading = "Durability"
    )]
    pub retain: Option<Duration>,
}

/// The seed when neither `--seed` nor the scenario gives one.
const DEFAULT_SEED: u64 = 0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    behaviour::parse_duration(text)
}

/// A retention window: at least a second (retirement runs once a second).
fn parse_retain(text: &str) -> Result<Duration, String> {
    let window = behaviour::parse_duration(text)?;
    if window < Duration::from_secs(1) {
        return Err(format!("--retain must be at least 1s; got {text:?}"));
    }
    Ok(window)
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

/// `URL` or `native:URL`: an endpoint for every event of every merchant, its secret set later
/// (it depends on the seed, which other flags may change).
fn parse_webhook(text: &str) -> Result<behaviour::WebhookEndpointConfig, String> {
    let (dialect, url) = match text.strip_prefix("native:") {
        Some(url) => (behaviour::WebhookDialect::Native, url),
        None => (behaviour::WebhookDialect::Stripe, text),
    };
    behaviour::check_webhook_url(url)?;
    Ok(behaviour::WebhookEndpointConfig::every_event(url, dialect))
}

fn parse_webhook_secret(text: &str) -> Result<String, String> {
    behaviour::check_webhook_secret(text)?;
    Ok(text.to_string())
}

impl Args {
    /// The simulator configuration these flags describe (reads the scenario files).
    pub fn sim_config(&self) -> anyhow::Result<SimConfig> {
        let files = self
            .scenario
            .iter()
            .map(|path| {
                behaviour::load_scenario_gateway(path)
                    .map(|behaviour| (path, behaviour))
                    .with_context(|| format!("scenario {}", path.display()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        // The --webhook endpoints' secret derives from the seed in force at start, once: a
        // switch to a scenario with another seed must not change what the receiver checks.
        let first_seed = self
            .seed
            .or_else(|| files.first().and_then(|(_, behaviour)| behaviour.seed))
            .unwrap_or(DEFAULT_SEED);
        let secret = self
            .webhook_secret
            .clone()
            .unwrap_or_else(|| behaviour::default_webhook_secret(first_seed));
        let mut scenarios: Vec<ScenarioBehaviour> = Vec::with_capacity(files.len());
        for (path, behaviour) in files {
            let name = behaviour::scenario_name(path);
            if scenarios.iter().any(|s| s.name == name) {
                anyhow::bail!(
                    "two --scenario files are named {name:?} (scenarios go by their file name); rename one"
                );
            }
            let behaviour = self
                .overridden(behaviour, &secret)
                .with_context(|| format!("scenario {}", path.display()))?;
            scenarios.push(ScenarioBehaviour { name, behaviour });
        }
        let behaviour = match scenarios.first() {
            Some(first) => first.behaviour.clone(),
            None => self.overridden(BehaviourConfig::default(), &secret)?,
        };
        Ok(SimConfig {
            listen: self.listen,
            seed: behaviour.seed.unwrap_or(DEFAULT_SEED),
            admin_token: self.admin_token.clone().filter(|t| !t.is_empty()),
            behaviour,
            idempotency_ttl: self.idempotency_ttl,
            scenarios,
            retain: self.retain,
        })
    }

    /// A scenario's behaviour with the behaviour flags and the --webhook endpoints (signed
    /// with `secret`) laid over it, checked like a scenario file.
    fn overridden(
        &self,
        mut behaviour: BehaviourConfig,
        secret: &str,
    ) -> anyhow::Result<BehaviourConfig> {
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
        behaviour
            .webhooks
            .endpoints
            .extend(
                self.webhooks
                    .iter()
                    .map(|endpoint| behaviour::WebhookEndpointConfig {
                        secret: Some(secret.to_string()),
                        ..endpoint.clone()
                    }),
            );
        // Flags are checked like the scenario file, naming the flag's field when wrong.
        behaviour
            .validate()
            .map_err(|e| anyhow::anyhow!("invalid behaviour: {}: {}", e.field, e.message))?;
        Ok(behaviour)
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
    let scenarios: Vec<String> = config.scenarios.iter().map(|s| s.name.clone()).collect();
    let webhooks = webhook_lines(&config.behaviour.webhooks.endpoints, seed);
    let durability = crate::Durability {
        data_dir: args.data_dir.clone(),
        fsync: args.fsync,
        restore: args.restore.clone(),
    };
    crate::serve_until_durable(
        config,
        &durability,
        |addr| {
            // The one line scripts wait for: they read the URL from it. It comes first.
            println!("gateway-sim listening on http://{addr}");
            // Then where events go and how they are signed: what a test needs to verify them.
            for line in &webhooks {
                println!("{line}");
            }
            tracing::info!(%addr, seed, scenarios = ?scenarios, webhook_endpoints = webhooks.len(), "gateway-sim started");
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

/// One line per configured webhook endpoint: URL, dialect, what it receives, its secret.
fn webhook_lines(endpoints: &[behaviour::WebhookEndpointConfig], seed: u64) -> Vec<String> {
    endpoints
        .iter()
        .map(|endpoint| {
            format!(
                "webhooks to {} ({}; events: {}; merchant: {}; secret: {})",
                endpoint.url,
                endpoint.dialect.as_str(),
                endpoint.events.join(","),
                endpoint.merchant.as_deref().unwrap_or("every one"),
                endpoint.secret_or_default(seed)
            )
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::behaviour::{WebhookDialect, WebhookEndpointConfig, default_webhook_secret};

    fn args(flags: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("gateway-sim").chain(flags.iter().copied()))
    }

    fn endpoints(flags: &[&str]) -> Vec<WebhookEndpointConfig> {
        args(flags)
            .expect("flags parse")
            .sim_config()
            .expect("valid config")
            .behaviour
            .webhooks
            .endpoints
    }

    #[test]
    fn webhook_flags_add_endpoints_for_every_event_of_every_merchant() {
        let list = endpoints(&[
            "--seed",
            "42",
            "--webhook",
            "http://127.0.0.1:9000/hooks",
            "--webhook",
            "native:http://127.0.0.1:9001/hooks",
        ]);
        let secret = Some(default_webhook_secret(42));
        assert_eq!(
            list,
            [
                WebhookEndpointConfig {
                    secret: secret.clone(),
                    ..WebhookEndpointConfig::every_event(
                        "http://127.0.0.1:9000/hooks",
                        WebhookDialect::Stripe
                    )
                },
                WebhookEndpointConfig {
                    secret,
                    ..WebhookEndpointConfig::every_event(
                        "http://127.0.0.1:9001/hooks",
                        WebhookDialect::Native
                    )
                },
            ]
        );
        assert!(endpoints(&[]).is_empty());
    }

    #[test]
    fn the_webhook_secret_is_the_flag_or_derived_from_the_seed() {
        let given = endpoints(&[
            "--webhook",
            "http://localhost:9000/",
            "--webhook-secret",
            "whsec_test_0123456789abcdef",
        ]);
        assert_eq!(
            given[0].secret.as_deref(),
            Some("whsec_test_0123456789abcdef")
        );
        let unseeded = endpoints(&["--webhook", "http://localhost:9000/"]);
        assert_eq!(
            unseeded[0].secret,
            Some(default_webhook_secret(DEFAULT_SEED))
        );
        let line = &webhook_lines(&given, 0)[0];
        assert!(line.contains("whsec_test_0123456789abcdef"), "{line}");
        assert!(line.contains("http://localhost:9000/"), "{line}");
    }

    #[test]
    fn bad_webhook_flags_are_refused_with_the_reason() {
        for bad in [
            &["--webhook", "localhost:9000/hooks"][..],
            &["--webhook", "native:ftp://host/"],
            &[
                "--webhook",
                "http://a/",
                "--webhook-secret",
                "sk_test_1234567890",
            ],
            &["--webhook", "http://a/", "--webhook-secret", "whsec_x"],
        ] {
            let error = args(bad).expect_err("refused").to_string();
            assert!(error.contains("--webhook"), "{bad:?}: {error}");
        }
    }

    #[test]
    fn scenario_endpoints_come_first() {
        let dir = std::env::temp_dir().join(format!("gateway-sim-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("hooks.toml");
        std::fs::write(
            &path,
            "[gateway]\nseed = 5\n[[gateway.webhooks.endpoints]]\nurl = \"http://scenario/\"\n",
        )
        .expect("write scenario");
        let list = endpoints(&[
            "--scenario",
            path.to_str().expect("UTF-8 path"),
            "--webhook",
            "http://flag/",
        ]);
        std::fs::remove_dir_all(&dir).ok();
        let urls: Vec<&str> = list.iter().map(|e| e.url.as_str()).collect();
        assert_eq!(urls, ["http://scenario/", "http://flag/"]);
        // The scenario's endpoint keeps "no secret given" (the seed's default applies); the
        // flag's gets the secret of the scenario's seed.
        assert_eq!(list[0].secret, None);
        assert_eq!(list[1].secret, Some(default_webhook_secret(5)));
    }

    /// Writes scenario files into a fresh temp dir; removed when dropped.
    struct ScenarioDir(std::path::PathBuf);

    impl ScenarioDir {
        fn new(tag: &str, files: &[(&str, &str)]) -> ScenarioDir {
            let dir =
                std::env::temp_dir().join(format!("gateway-sim-cli-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("temp dir");
            for (name, text) in files {
                std::fs::write(dir.join(name), text).expect("write scenario");
            }
            ScenarioDir(dir)
        }

        fn path(&self, name: &str) -> String {
            self.0.join(name).to_str().expect("UTF-8 path").to_string()
        }
    }

    impl Drop for ScenarioDir {
        fn drop(&mut self) {
            std::fs::remove_dir_all(&self.0).ok();
        }
    }

    #[test]
    fn several_scenarios_go_by_file_name_and_the_first_is_in_force() {
        let dir = ScenarioDir::new(
            "several",
            &[
                ("calm.toml", "[gateway]\nseed = 3\n"),
                (
                    "stormy.toml",
                    "[gateway]\nseed = 9\n[gateway.declines]\nrate = 0.5\n",
                ),
            ],
        );
        let config = args(&[
            "--scenario",
            &dir.path("calm.toml"),
            "--scenario",
            &dir.path("stormy.toml"),
            "--error-rate",
            "0.25",
            "--webhook",
            "http://flag/",
        ])
        .expect("flags parse")
        .sim_config()
        .expect("valid config");
        let names: Vec<&str> = config.scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["calm", "stormy"]);
        assert_eq!(config.behaviour, config.scenarios[0].behaviour);
        assert_eq!(config.seed, 3);
        let stormy = &config.scenarios[1].behaviour;
        assert_eq!(stormy.declines.rate, 0.5);
        // Flags override every scenario, and the webhook secret stays the one printed at start.
        assert_eq!(stormy.faults.http_503, 0.25);
        assert_eq!(
            stormy.webhooks.endpoints[0].secret,
            Some(default_webhook_secret(3))
        );
    }

    #[test]
    fn one_scenario_or_none_is_configured_as_before() {
        let dir = ScenarioDir::new("one", &[("calm.toml", "[gateway]\nseed = 3\n")]);
        let one = args(&["--scenario", &dir.path("calm.toml")])
            .expect("flags parse")
            .sim_config()
            .expect("valid config");
        assert_eq!(one.seed, 3);
        assert_eq!(one.scenarios.len(), 1);
        let none = args(&[]).expect("flags parse").sim_config().expect("valid");
        assert!(none.scenarios.is_empty());
        assert_eq!(none.behaviour, BehaviourConfig::default());
    }

    #[test]
    fn two_scenarios_of_one_name_are_refused() {
        let dir = ScenarioDir::new("twins", &[("calm.toml", "[gateway]\n")]);
        std::fs::create_dir_all(dir.0.join("other")).expect("sub dir");
        std::fs::write(dir.0.join("other/calm.toml"), "[gateway]\n").expect("write");
        let error = args(&[
            "--scenario",
            &dir.path("calm.toml"),
            "--scenario",
            &dir.path("other/calm.toml"),
        ])
        .expect("flags parse")
        .sim_config()
        .expect_err("refused");
        assert!(error.to_string().contains("\"calm\""), "{error}");
    }
}
