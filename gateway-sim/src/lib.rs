//! gateway-sim: a stateful fake payment gateway that keeps a real ledger,
//! enforces idempotency keys strictly, and misbehaves on purpose, reproducibly.
//!
//! Follow one request from the socket to the ledger and back:
//!
//! - [`server`]: the hyper accept loop; reads bodies, applies each request's
//!   fate (latency, faults) around the front door. The only module that touches sockets.
//! - [`api`]: front doors. [`api::native`] turns `/v1/...` JSON requests into
//!   engine operations and renders the results. Adapters only.
//! - [`behaviour`]: the fault model as pure functions of (seed, merchant,
//!   endpoint, request identity, attempt number): latency, declines, faults,
//!   schedules; plus the per-merchant rate limiter.
//! - [`engine`]: the payments domain: payments, refunds, idempotency keys, the
//!   append-only ledger, the simulator clock. Synchronous; knows no HTTP.
//! - [`control`]: `/_sim/*` (ledger, stats, config, reset, clock) and `/metrics`.
//! - [`state`]: the shared handle the server and control plane hold.
//! - [`cli`]: the binary's command line.
//!
//! In a test, start one on a free port and point your code at [`GatewaySim::url`]:
//!
//! ```no_run
//! # async fn demo() -> Result<(), gateway_sim::StartError> {
//! let sim = gateway_sim::GatewaySim::start(gateway_sim::SimConfig::default()).await?;
//! let base_url = sim.url(); // http://127.0.0.1:<port>
//! // ... drive your payment code against base_url ...
//! let captured = sim.engine().stats().captured_amount;
//! # let _ = (base_url, captured);
//! # Ok(()) }
//! ```
//! Dropping the handle shuts the server down.

pub mod api;
pub mod behaviour;
pub mod cli;
pub mod control;
pub mod engine;
mod response;
pub mod server;
pub mod state;

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use behaviour::duration::{DURATION_SYNTAX, format_duration, parse_duration};
pub use behaviour::{BehaviourConfig, load_scenario_gateway, parse_scenario_gateway};
pub use engine::Engine;
pub use engine::ledger::{EntryKind, LedgerEntry};
pub use state::SimState;

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
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            seed: 0,
            admin_token: None,
            behaviour: BehaviourConfig::default(),
            idempotency_ttl: Duration::from_secs(24 * 3600),
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
    Config(#[from] behaviour::ConfigError),
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
        let addr = listener.local_addr().map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
        let engine = Engine::new(config.idempotency_ttl);
        let state = SimState::new(engine, config.behaviour, config.seed, config.admin_token)?;
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

    /// The whole ledger, in order.
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.engine().ledger_entries()
    }

    /// Replaces the fault model while traffic flows; an invalid one changes nothing.
    pub fn set_behaviour(&self, config: BehaviourConfig) -> Result<(), behaviour::ConfigError> {
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

impl Drop for GatewaySim {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
