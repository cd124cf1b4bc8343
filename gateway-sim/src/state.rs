//! The simulator's shared state: the engine (money) plus the live behaviour
//! (faults), behind one cheap-to-clone handle that every connection holds.
//!
//! The behaviour can be replaced while traffic flows (`PUT /_sim/config`, or one of the
//! scenarios given at start by name): a request takes a snapshot of the current one when it
//! arrives and keeps it to the end, so a change never tears a request in half.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::{Mutex, RwLock};

use crate::behaviour::{
    Behaviour, BehaviourConfig, ConfigError, MerchantRateLimiter, ScenarioBehaviour, SeenCounter,
    WebhookDialect,
};
use crate::engine::{Engine, EventDialect, RequestRef};
use crate::webhooks::Webhooks;
use crate::workers::{QueueStats, WorkerPool};

/// The behaviour in force, with the rate limiter built from it.
pub struct Live {
    pub behaviour: Behaviour,
    pub limiter: Option<MerchantRateLimiter>,
    /// The workers and their queue (`[gateway.capacity]`), new with each behaviour; see
    /// `workers.rs` for why a new pool rather than a resized one.
    pub workers: Option<WorkerPool>,
    /// The scenario it came from, by name; `None` when it was written by hand
    /// (`PUT /_sim/config`) or given in process. Swapped with the behaviour, so the two
    /// never disagree.
    pub scenario: Option<Arc<str>>,
}

impl Live {
    fn build(
        config: BehaviourConfig,
        seed: u64,
        scenario: Option<Arc<str>>,
    ) -> Result<Live, ConfigError> {
        check_webhook_event_types(&config)?;
        let behaviour = Behaviour::new(config, seed)?;
        let limiter = behaviour
            .rate_limit()
            .map(MerchantRateLimiter::new)
            .transpose()?;
        let workers = behaviour.capacity().map(WorkerPool::new);
        Ok(Live {
            behaviour,
            limiter,
            workers,
            scenario,
        })
    }
}

/// The event types configured endpoints ask for must exist in their dialect: the
/// fault model cannot check this, it does not know the dialects' tables.
fn check_webhook_event_types(config: &BehaviourConfig) -> Result<(), ConfigError> {
    for (n, endpoint) in config.webhooks.endpoints.iter().enumerate() {
        let dialect = match endpoint.dialect {
            WebhookDialect::Stripe => EventDialect::Stripe,
            WebhookDialect::Native => EventDialect::Native,
        };
        for (k, event_type) in endpoint.events.iter().enumerate() {
            if !crate::api::is_known_event_type(dialect, event_type) {
                return Err(ConfigError::new(
                    format!("gateway.webhooks.endpoints[{n}].events[{k}]"),
                    format!(
                        "{event_type:?} is not an event type the {} dialect sends; use \"*\" for all, a family such as \"payment_intent.*\", or a type listed in docs/stripe.md",
                        dialect.as_str()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Request and fault counters kept by the server (money is counted by the engine).
#[derive(Default)]
pub struct ServerCounters {
    pub requests: AtomicU64,
    pub rate_limited: AtomicU64,
    faults: Mutex<BTreeMap<&'static str, u64>>,
    /// The `[gateway.capacity]` queue, across configuration generations.
    pub queue: Arc<QueueStats>,
}

impl ServerCounters {
    pub fn fault(&self, kind: &'static str) {
        *self.faults.lock().entry(kind).or_default() += 1;
    }

    pub fn faults(&self) -> BTreeMap<&'static str, u64> {
        self.faults.lock().clone()
    }

    fn clear(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.rate_limited.store(0, Ordering::Relaxed);
        self.faults.lock().clear();
        self.queue.clear();
    }
}

#[derive(Clone)]
pub struct SimState {
    inner: Arc<Shared>,
}

struct Shared {
    engine: Engine,
    live: RwLock<Arc<Live>>,
    seen: SeenCounter,
    /// When the attempt counter last aged (`--retain`), simulator ms.
    seen_aged_ms: std::sync::atomic::AtomicU64,
    seed: u64,
    admin_token: Option<String>,
    counters: ServerCounters,
    started: Instant,
    request_ids: AtomicU64,
    webhooks: Webhooks,
    /// The scenarios given at start, in order, to switch among by name.
    scenarios: Vec<ScenarioBehaviour>,
    /// With `--data-dir`: the journal every change is written to before its answer leaves.
    journal: std::sync::OnceLock<crate::journal::Journal>,
}

impl SimState {
    /// `scenarios` are the behaviours one may switch to by name; the first of them that is
    /// `behaviour` is reported as the one in force at start. Each is checked now as it would
    /// be when put in force, so a switch never fails on a file that started fine.
    pub fn new(
        engine: Engine,
        behaviour: BehaviourConfig,
        seed: u64,
        admin_token: Option<String>,
        scenarios: Vec<ScenarioBehaviour>,
    ) -> Result<SimState, ConfigError> {
        for s in &scenarios {
            Live::build(s.behaviour.clone(), seed, None).map_err(|e| {
                ConfigError::new(e.field, format!("scenario {:?}: {}", s.name, e.message))
            })?;
        }
        let scenario = scenarios
            .iter()
            .find(|s| s.behaviour == behaviour)
            .map(|s| Arc::from(s.name.as_str()));
        let live = Live::build(behaviour, seed, scenario)?;
        engine.set_authorization_validity(live.behaviour.config().authorizations.validity());
        engine.set_challenge_abandon_after(live.behaviour.config().three_ds.abandon_after());
        let disputes = &live.behaviour.config().disputes;
        engine.set_dispute_delays(disputes.open_after(), disputes.decided_after());
        engine.set_settlement_policy(crate::settlement_terms::settlement_policy(
            &live.behaviour.config().settlement,
            live.behaviour.seed(),
        ));
        let webhooks = Webhooks::new(
            engine.clone(),
            &live.behaviour.config().webhooks,
            live.behaviour.seed(),
        );
        Ok(SimState {
            inner: Arc::new(Shared {
                webhooks,
                engine,
                live: RwLock::new(Arc::new(live)),
                seen: SeenCounter::default(),
                seen_aged_ms: Default::default(),
                seed,
                admin_token,
                counters: ServerCounters::default(),
                started: Instant::now(),
                request_ids: AtomicU64::new(0),
                scenarios,
                journal: std::sync::OnceLock::new(),
            }),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The behaviour in force now; hold the snapshot for the whole request.
    pub fn live(&self) -> Arc<Live> {
        self.inner.live.read().clone()
    }

    /// Replaces the behaviour atomically, or changes nothing if `config` is invalid.
    pub fn set_behaviour(&self, config: BehaviourConfig) -> Result<(), ConfigError> {
        self.put_in_force(config, None)
    }

    /// The scenarios given at start, to switch among by name.
    pub fn scenarios(&self) -> &[ScenarioBehaviour] {
        &self.inner.scenarios
    }

    /// Puts the scenario called `name` in force: `None` when there is none by that name,
    /// else what [`SimState::set_behaviour`] says (the same checks as any new behaviour).
    pub fn activate_scenario(&self, name: &str) -> Option<Result<(), ConfigError>> {
        let scenario = self.inner.scenarios.iter().find(|s| s.name == name)?;
        Some(self.put_in_force(
            scenario.behaviour.clone(),
            Some(Arc::from(scenario.name.as_str())),
        ))
    }

    fn put_in_force(
        &self,
        config: BehaviourConfig,
        scenario: Option<Arc<str>>,
    ) -> Result<(), ConfigError> {
        let live = Live::build(config, self.inner.seed, scenario)?;
        self.inner
            .engine
            .set_authorization_validity(live.behaviour.config().authorizations.validity());
        self.inner
            .engine
            .set_challenge_abandon_after(live.behaviour.config().three_ds.abandon_after());
        let disputes = &live.behaviour.config().disputes;
        self.inner
            .engine
            .set_dispute_delays(disputes.open_after(), disputes.decided_after());
        self.inner
            .engine
            .set_settlement_policy(crate::settlement_terms::settlement_policy(
                &live.behaviour.config().settlement,
                live.behaviour.seed(),
            ));
        self.inner
            .webhooks
            .configure(&live.behaviour.config().webhooks, live.behaviour.seed());
        *self.inner.live.write() = Arc::new(live);
        Ok(())
    }

    /// Expires the authorizations (and checkout sessions) simulator time has run out, and queues the
    /// webhooks of the changes (their deliveries leave at once: nobody's answer
    /// waits for them). Cheap when nothing is due.
    pub fn expire_authorizations(&self) {
        let mut changes = self.inner.engine.expire_due_authorizations();
        changes.extend(self.inner.engine.expire_due_checkout_sessions());
        if !changes.is_empty() {
            drop(self.inner.webhooks.raise(changes));
        }
        // `--retain`: after the expiries, so an authorization expiring now counts as a change.
        // At most one pass a second: this runs before every request.
        self.inner.engine.retire_if_due();
        self.age_seen();
    }

    /// `--retain`: once a window of simulator time, the attempt counter forgets the requests
    /// not seen for a window (it keeps 8 bytes and more per request otherwise, forever).
    fn age_seen(&self) {
        let Some(window) = self.inner.engine.retention() else {
            return;
        };
        let now = self.inner.engine.clock().now_ms();
        let window = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
        let last = self
            .inner
            .seen_aged_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        if now.saturating_sub(last) >= window
            && self
                .inner
                .seen_aged_ms
                .compare_exchange(
                    last,
                    now,
                    std::sync::atomic::Ordering::Relaxed,
                    std::sync::atomic::Ordering::Relaxed,
                )
                .is_ok()
        {
            self.inner.seen.age();
        }
    }

    /// Records the payouts' changes simulator time has passed (`payout.created`, `payout.paid`,
    /// `payout.failed`; each told once, see `engine/payout_events.rs`) and queues their
    /// webhooks. Called once a second and on each clock advance, not before each request:
    /// bringing the books up to time is not worth a lock on the hot path.
    pub fn raise_payout_events(&self) {
        let changes = self.inner.engine.raise_due_payout_changes();
        if !changes.is_empty() {
            drop(self.inner.webhooks.raise(changes));
        }
    }

    /// Webhook delivery.
    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    pub fn seen(&self) -> &SeenCounter {
        &self.inner.seen
    }

    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    pub(crate) fn set_journal(&self, journal: crate::journal::Journal) {
        let _ = self.inner.journal.set(journal);
    }

    /// `--data-dir`, when the simulator keeps a journal there.
    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.inner.journal.get().map(|j| j.data_dir.as_path())
    }

    /// Waits until every change made so far is in the journal (at once without one): what
    /// an answer does before it leaves. Outside every lock.
    pub(crate) async fn journaled(&self) {
        if let Some(journal) = self.inner.journal.get() {
            journal.writer.written().await;
        }
    }

    pub fn admin_token(&self) -> Option<&str> {
        self.inner.admin_token.as_deref()
    }

    pub fn counters(&self) -> &ServerCounters {
        &self.inner.counters
    }

    /// A fresh id for the `Request-Id` header and the logs, so an injected
    /// failure a client saw can be found in the simulator's log.
    pub fn next_request_id(&self) -> String {
        RequestRef::id_of(self.inner.request_ids.fetch_add(1, Ordering::Relaxed) + 1)
    }

    pub fn uptime(&self) -> std::time::Duration {
        self.inner.started.elapsed()
    }

    /// Forgets all payments, keys, ledger entries, attempt counts and counters.
    pub fn reset(&self) {
        self.inner.engine.reset();
        self.inner.webhooks.clear();
        self.inner.seen.clear();
        self.inner.counters.clear();
    }
}
