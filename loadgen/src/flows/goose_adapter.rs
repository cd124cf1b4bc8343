//! The goose adapter, and the only file in loadgen that names goose: [`GooseTransport`]
//! sends the flows' requests through goose's `GooseUser` (so goose's own report counts
//! them), [`goose_configuration`] builds goose's configuration in code, and [`run_attack`]
//! runs every user as one goose scenario whose single transaction loops over orders until
//! the schedule is exhausted (`iterations = 1`: the run ends exactly when the last order
//! finishes).
//!
//! Its own file so that goose stays replaceable and its quirks stay in one place: the
//! flows, the session and the driver speak only to [`Transport`]. A test below keeps it
//! the only file that knows goose.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use goose::client::GooseClientBuilder;
use goose::config::GooseConfiguration;
use goose::prelude::*;

use crate::scenario::LoadPlan;

use super::driver::{Driver, drive_user};
use super::transport::{ApiRequest, Exchange, HttpAnswer, HttpMethod, Transport, TransportFailure};

/// Sends flow requests through goose, so goose's report counts them.
pub struct GooseTransport<'u> {
    user: &'u mut GooseUser,
    timeout: Duration,
}

impl<'u> GooseTransport<'u> {
    pub fn new(user: &'u mut GooseUser, timeout: Duration) -> Self {
        Self { user, timeout }
    }

    fn builder(&self, request: &ApiRequest) -> Result<reqwest::RequestBuilder, String> {
        let builder = self
            .user
            .get_request_builder(&goose_method(request.method), &request.path)
            .map_err(|e| {
                format!(
                    "cannot build {} {}: {e}",
                    request.method.as_str(),
                    request.path
                )
            })?
            .timeout(self.timeout);
        Ok(decorate(builder, request))
    }
}

fn decorate(mut builder: reqwest::RequestBuilder, request: &ApiRequest) -> reqwest::RequestBuilder {
    if let Some(key) = &request.bearer {
        builder = builder.bearer_auth(key);
    }
    if let Some(key) = &request.idempotency_key {
        builder = builder.header("Idempotency-Key", key);
    }
    let mut has_content_type = false;
    for (name, value) in &request.headers {
        has_content_type |= name.eq_ignore_ascii_case("content-type");
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        if !has_content_type {
            builder = builder.header("Content-Type", "application/json");
        }
        builder = builder.body(body.clone());
    }
    builder
}

fn failure_of(e: &reqwest::Error) -> TransportFailure {
    if e.is_timeout() {
        TransportFailure::Timeout
    } else if e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
        TransportFailure::Connection(e.to_string())
    } else {
        TransportFailure::Other(e.to_string())
    }
}

async fn read_answer(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<HttpAnswer, TransportFailure> {
    let response = response.map_err(|e| failure_of(&e))?;
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("Idempotent-Replayed")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
    // An answer whose body is cut off is treated as no answer: the client
    // cannot read the payment it names.
    let body = response.bytes().await.map_err(|e| failure_of(&e))?;
    Ok(HttpAnswer {
        status,
        replayed,
        body: body.to_vec(),
    })
}

impl Transport for GooseTransport<'_> {
    async fn send(&mut self, request: &ApiRequest) -> Exchange {
        let builder = match self.builder(request) {
            Ok(b) => b,
            Err(e) => {
                let now = Instant::now();
                return Exchange {
                    sent: now,
                    done: now,
                    answer: Err(TransportFailure::Other(e)),
                };
            }
        };
        let goose_request = GooseRequest::builder()
            .method(goose_method(request.method))
            .path(request.path.as_str())
            .name(request.step)
            .set_request_builder(builder)
            .build();
        let sent = Instant::now();
        let answer = match self.user.request(goose_request).await {
            Ok(goose_response) => read_answer(goose_response.response).await,
            Err(e) => Err(TransportFailure::Other(e.to_string())),
        };
        Exchange {
            sent,
            done: Instant::now(),
            answer,
        }
    }

    async fn send_pair(&mut self, first: &ApiRequest, second: &ApiRequest) -> (Exchange, Exchange) {
        // GooseUser sends one request at a time, so the twin goes out on a clone
        // of the user's client and is then recorded in goose's metrics by hand.
        let client = self.user.client.clone();
        let twin = match self.user.build_url(&second.path) {
            Ok(url) => Ok(decorate(
                client
                    .request(reqwest_method(second.method), url)
                    .timeout(self.timeout),
                second,
            )),
            Err(e) => Err(e.to_string()),
        };
        let twin_future = async move {
            let sent = Instant::now();
            let answer = match twin {
                Ok(builder) => read_answer(builder.send().await).await,
                Err(e) => Err(TransportFailure::Other(e)),
            };
            Exchange {
                sent,
                done: Instant::now(),
                answer,
            }
        };
        let (a, b) = tokio::join!(self.send(first), twin_future);
        let (status, success, error) = match &b.answer {
            Ok(answer) => (
                Some(answer.status),
                (200..400).contains(&answer.status),
                None,
            ),
            Err(f) => (None, false, Some(f.to_string())),
        };
        let _ = self
            .user
            .record_custom_request_duration(
                second.method.as_str(),
                second.step,
                b.done.saturating_duration_since(b.sent),
                success,
                status,
                error.as_deref(),
            )
            .await;
        (a, b)
    }

    fn cancelled(&self) -> bool {
        goose::is_killswitch_triggered()
    }
}

fn goose_method(m: HttpMethod) -> GooseMethod {
    match m {
        HttpMethod::Get => GooseMethod::Get,
        HttpMethod::Post => GooseMethod::Post,
        HttpMethod::Put => GooseMethod::Put,
        HttpMethod::Patch => GooseMethod::Patch,
        HttpMethod::Delete => GooseMethod::Delete,
    }
}

fn reqwest_method(m: HttpMethod) -> reqwest::Method {
    match m {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
        HttpMethod::Delete => reqwest::Method::DELETE,
    }
}

/// How goose itself is set up for a run.
#[derive(Debug, Clone)]
pub struct AttackOptions {
    /// Base URL every request path is joined to.
    pub host: String,
    /// Where goose writes its own HTML report, if anywhere.
    pub goose_report: Option<PathBuf>,
}

/// Goose failed to run.
#[derive(Debug, thiserror::Error)]
pub enum AttackError {
    #[error("goose could not run the load: {0}")]
    Goose(String),
}

/// What goose counted (its own view, beside loadgen's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttackSummary {
    pub goose_requests: u64,
    pub goose_failures: u64,
}

/// The goose configuration for a run, built in code (goose's own argument
/// parser must not see loadgen's command line).
pub fn goose_configuration(load: &LoadPlan, options: &AttackOptions) -> GooseConfiguration {
    let mut config = GooseConfiguration::default();
    config.host = Some(options.host.clone());
    config.users = Some(load.users);
    // All users start within about half a second: the schedule waits for them
    // (Schedule::arrive), so a slow ramp would only delay order 0.
    config.increase_rate = Some(format!("{}", (load.users * 2).max(2)));
    // One iteration: the transaction loops over orders itself, and the run ends
    // when the schedule is exhausted and the last order has finished.
    config.iterations = Some(1);
    config.timeout = Some(format!("{:.3}", load.timeout.as_secs_f64().max(0.001)));
    // gateway-sim does not compress; asking would only add a header per request.
    config.no_gzip = true;
    config.quiet = 1;
    config.no_print_metrics = true;
    // The goose transaction spans the whole run (it loops over orders): its
    // timing means nothing, the per-request metrics are what goose adds.
    config.no_transaction_metrics = true;
    config.no_scenario_metrics = true;
    config.no_error_summary = false;
    // The telnet controller would bind 127.0.0.1:5116 and make two runs on one
    // machine collide; loadgen drives goose from code only.
    config.no_telnet = true;
    config.report_file = options
        .goose_report
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    config
}

/// Runs every user under goose until the schedule is exhausted.
pub async fn run_attack(
    driver: Arc<Driver>,
    options: &AttackOptions,
) -> Result<AttackSummary, AttackError> {
    let config = goose_configuration(&driver.load, options);
    let timeout = driver.load.timeout;
    let shared = driver.clone();
    let transaction: TransactionFunction = Arc::new(move |user| {
        let driver = shared.clone();
        Box::pin(async move {
            let mut transport = GooseTransport::new(user, timeout);
            drive_user(&driver, &mut transport).await;
            Ok(())
        })
    });
    let scenario = Scenario::new("orders")
        .register_transaction(Transaction::new(transaction).set_name("orders"));
    // One client shared by every user: one connection pool sized by the
    // requests actually in flight, and the system's root certificates loaded
    // once instead of once per user (which costs seconds of CPU at startup).
    let client = GooseClientBuilder::new()
        .without_cookies()
        .timeout(timeout)
        .user_agent(concat!("loadgen/", env!("CARGO_PKG_VERSION")))
        .gzip(false);
    let metrics = GooseAttack::initialize_with_config(config)
        .map_err(|e| AttackError::Goose(e.to_string()))?
        .set_client_builder_without_cookies(client)
        .map_err(|e| AttackError::Goose(e.to_string()))?
        .register_scenario(scenario)
        .execute()
        .await
        .map_err(|e| AttackError::Goose(e.to_string()))?;
    let mut summary = AttackSummary::default();
    for aggregate in metrics.requests.values() {
        summary.goose_requests += (aggregate.success_count + aggregate.fail_count) as u64;
        summary.goose_failures += aggregate.fail_count as u64;
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    fn load(text: &str) -> LoadPlan {
        Scenario::parse(text, "t", "t.toml").expect("valid").load
    }

    #[test]
    fn goose_configuration_is_built_in_code() {
        let plan = load("[load]\nusers = 16\ntimeout = \"1500ms\"\n");
        let config = goose_configuration(
            &plan,
            &AttackOptions {
                host: "http://127.0.0.1:9".into(),
                goose_report: Some(PathBuf::from("/tmp/x/goose-report.html")),
            },
        );
        assert_eq!(config.users, Some(16));
        assert_eq!(config.iterations, Some(1));
        assert_eq!(config.timeout.as_deref(), Some("1.500"));
        assert!(config.no_telnet);
        assert_eq!(
            config.report_file,
            vec!["/tmp/x/goose-report.html".to_string()]
        );
    }
}
