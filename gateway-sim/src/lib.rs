//! gateway-sim: a stateful fake payment gateway that keeps a real ledger,
//! enforces idempotency keys strictly, and misbehaves on purpose, reproducibly.
//!
//! Follow one request from the socket to the ledger and back:
//!
//! - `server/`: the hyper accept loop; reads bodies, applies each request's
//!   fate (latency, faults) around the front door, as named steps in `server/act_out.rs`.
//!   The only module that serves sockets.
//! - `api/`: front doors, one per dialect: the native JSON API (`/v1/payments`) and the
//!   Stripe-compatible API (`/v1/payment_intents`, charges, refunds, payment methods) turn
//!   requests into engine operations and render the results. Adapters only.
//! - `behaviour/`: the fault model as pure functions of (seed, merchant,
//!   endpoint, request identity, attempt number): latency, declines, faults,
//!   schedules; plus the per-merchant rate limiter.
//! - `engine/`: the payments domain: payments, refunds, idempotency keys, the
//!   append-only ledger, the simulator clock. Synchronous; knows no HTTP.
//! - `control/`: `/_sim/*` (ledger, stats, config, reset, clock) and `/metrics`.
//! - `workers.rs`: `[gateway.capacity]`'s workers and the queue before them.
//! - `settlement_terms.rs`: `[gateway.settlement]` as the engine's settlement policy.
//! - `state.rs`: the shared handle the server and control plane hold;
//!   `response.rs`: replies as hyper responses; [`cli`]: the binary's command line.
//!
//! The modules are private: what a user needs is re-exported here ([`GatewaySim`],
//! [`SimConfig`], the ledger's [`LedgerEntry`] and [`EntryKind`], the behaviour config, the
//! [`Engine`] for in-process looks).
//!
//! In a test, start one on a free port and point your code at [`GatewaySim::url`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), gateway_sim::StartError> {
//! use gateway_sim::{EntryKind, GatewaySim, SimConfig};
//!
//! let sim = GatewaySim::start(SimConfig::default()).await?;
//! let base_url = sim.url(); // http://127.0.0.1:<port>
//! // ... drive your payment code against base_url ...
//! let captures = sim
//!     .ledger_entries()
//!     .iter()
//!     .filter(|e| e.kind == EntryKind::Capture)
//!     .count();
//! let captured = sim.engine().stats().captured_amount;
//! # let _ = (base_url, captures, captured);
//! # Ok(()) }
//! ```
//! Dropping the handle shuts the server down.

mod api;
mod behaviour;
pub mod cli;
mod control;
mod engine;
#[doc(hidden)]
pub mod fuzzing;
mod journal;
mod response;
mod server;
mod settlement_terms;
mod state;
mod webhooks;
mod workers;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use behaviour::duration::{DURATION_SYNTAX, format_duration, parse_duration};
pub use behaviour::{
    AmountRule, AuthorizationsConfig, BehaviourConfig, CapacityConfig, ConfigError,
    DEFAULT_AUTHORIZATION_VALIDITY, DeclinesConfig, DeliveryFate, DiscrepanciesConfig,
    DisputesConfig, DistributionKind, Duplicate, Endpoint, EndpointConfig, EndpointsConfig,
    FaultKind, FaultsConfig, FeeConfig, LatencyConfig, OutageWindow, RateLimitConfig, RetryConfig,
    ScenarioBehaviour, ScheduleWindow, SequenceRule, SettlementConfig, ThreeDsConfig,
    WebhookDialect, WebhookEndpointConfig, WebhookFaultsConfig, WebhooksConfig,
    default_webhook_secret, load_scenario_gateway, parse_scenario_gateway, scenario_name,
};
pub use control::Stats;
pub use engine::SimClock;
pub use engine::ids::{BalanceTransactionId, MerchantId, PaymentId, PayoutId, RefundId};
pub use engine::money::Currency;
pub use engine::{
    AuthenticationOutcome, Balance, BalanceTransaction, CancellationReason, CaptureMethod, Cause,
    Challenge, Change, ChangeKind, ConfirmedAt, DiscrepancyKind, Engine, EngineError, EntryKind,
    EntryReason, EventDialect, EventId, LedgerEntry, LedgerStats, NewPayment, Payment,
    PaymentMethod, PaymentStatus, Payout, PayoutStatus, Refund, ReportingCategory, RequestRef,
    RetentionStats, ReturnTo, SharedStr, Verdict, WebhookEndpoint,
};
pub use journal::{Durability, FsyncPolicy, JOURNAL_FILE, Replayed, SNAPSHOT_DIR, replay_into};
pub use server::Unanswered;
pub use state::SimState;
pub use workers::QueueFigures;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where to listen; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Seed for every random decision; the same seed and requests give the same outcomes.
    pub seed: u64,
    /// When set, `/_sim/*` (but health) requires this token.
    pub admin_token: Option<String>,
    /// The fault model (a scenario's `[gateway]` table).
    pub behaviour: BehaviourConfig,
    /// How long idempotency keys are kept, in simulator time.
    pub idempotency_ttl: Duration,
    /// Behaviours to switch among by name while traffic flows (`GET /_sim/scenarios`,
    /// `POST /_sim/scenarios/{name}/activate`, the dashboard). The command line lists every
    /// `--scenario` here, the first also as `behaviour`; the one equal to `behaviour` is
    /// reported as in force at start.
    pub scenarios: Vec<ScenarioBehaviour>,
    /// `--retain`: settled payments older than this (simulator time) leave memory, and so
    /// do the ledger's and the change log's entries; `None` keeps everything (the default).
    /// The rules are in `engine/retention.rs`.
    pub retain: Option<Duration>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            admin_token: None,
            behaviour: BehaviourConfig::default(),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            scenarios: Vec::new(),
            retain: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("invalid behaviour: {0}")]
    Config(#[from] ConfigError),
    /// `--data-dir` or `--restore` could not be read, replayed or opened.
    #[error("{0:#}")]
    Journal(anyhow::Error),
}

/// A running simulator. Dropping it stops the server at once; use
/// [`GatewaySim::shutdown`] to let requests in progress finish.
pub struct GatewaySim {
    addr: SocketAddr,
    state: SimState,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl GatewaySim {
    /// Binds `config.listen` and serves in the background on the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<GatewaySim, StartError> {
        let listener = server::bind(config.listen)
            .await
            .map_err(|source| StartError::Bind {
                addr: config.listen,
                source,
            })?;
        Self::serve(listener, config)
    }

    /// Serves on a listener the caller bound.
    pub fn serve(listener: TcpListener, config: SimConfig) -> Result<GatewaySim, StartError> {
        let (addr, state) = prepare(&listener, config, &Durability::default())?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(GatewaySim {
            addr,
            state,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The base URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine, for in-process looks at payments, the ledger and stats.
    pub fn engine(&self) -> &Engine {
        self.state.engine()
    }

    pub fn state(&self) -> &SimState {
        &self.state
    }

    /// What `GET /_sim/stats` answers: the ledger's counts and totals, requests, faults.
    pub fn stats(&self) -> Stats {
        control::stats(&self.state)
    }

    /// Answers one request in process, through the same path as over the socket (control
    /// plane or front door, fault model, idempotency, engine), minus the socket: for tests and
    /// measurements that want no network in the way. `Err` when the request's fate drops the
    /// connection unanswered (a reset, a lost answer, an empty reply); a `hang` fault waits its
    /// full limit. The wire faults come as they would over a socket: a truncated body is the
    /// half that was sent, under the whole body's `Content-Length`; a slow body takes its time.
    /// The webhooks the request raised are queued when the response's body is dropped (read
    /// or not), as over a socket they are once the answer has left.
    pub async fn answer(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, Unanswered> {
        server::answer_in_process(&self.state, request).await
    }

    /// The whole ledger, in order.
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.engine().ledger_entries()
    }

    /// Replaces the fault model while traffic flows; an invalid one changes nothing.
    pub fn set_behaviour(&self, config: BehaviourConfig) -> Result<(), ConfigError> {
        self.state.set_behaviour(config)
    }

    /// Stops accepting, lets requests in progress finish (a few seconds at most), and waits.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The listener's address and a fresh simulator state for `config`.
fn prepare(
    listener: &TcpListener,
    config: SimConfig,
    durability: &Durability,
) -> Result<(SocketAddr, SimState), StartError> {
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let engine = Engine::new(config.idempotency_ttl);
    engine.set_retention(config.retain);
    engine.set_public_url(&public_url(addr));
    // Replayed before anything else can touch the engine.
    let journal = journal::open(&engine, durability).map_err(StartError::Journal)?;
    let state = SimState::new(
        engine,
        config.behaviour,
        config.seed,
        config.admin_token,
        config.scenarios,
    )?;
    if let Some(journal) = journal {
        state.set_journal(journal);
    }
    Ok((addr, state))
}

/// The base URL buyers' browsers reach the simulator at: the bound address, with
/// a wildcard one (`0.0.0.0`) named as loopback, which a browser can open.
fn public_url(addr: SocketAddr) -> String {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    format!("http://{addr}")
}

/// Runs a simulator in the current task until `shutdown` resolves, then lets requests in
/// progress finish: what the binary does. `listening` is told the bound address first.
///
/// Unlike [`GatewaySim::start`], the accept loop is not spawned: in a binary's `main` it runs on
/// the runtime's own thread, which hands each new connection to the workers through the shared
/// queue; spawned on a worker it would keep new connections on that worker's local queue first.
/// Measured with `scripts/bench-gateway.sh`'s wrk command, three alternations in one run:
/// 31.2k requests/s this way against 28.9k spawned.
pub async fn serve_until(
    config: SimConfig,
    listening: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    serve_until_durable(config, &Durability::default(), listening, shutdown).await
}

/// [`serve_until`] with a journal (`--data-dir`) or a snapshot to start from (`--restore`).
pub async fn serve_until_durable(
    config: SimConfig,
    durability: &Durability,
    listening: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let listener = server::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let (addr, state) = prepare(&listener, config, durability)?;
    listening(addr);
    server::run(listener, state, shutdown).await;
    Ok(())
}

impl Drop for GatewaySim {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
