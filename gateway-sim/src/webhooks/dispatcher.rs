//! The dispatcher: plans the deliveries of each raised change (which endpoints,
//! which events, which faults), holds them in a queue ordered by due time in
//! simulator time, and sends what falls due from one task, each attempt in a
//! task of its own. Nothing here is awaited by an API request except the
//! `early` fault, which exists to be.
//!
//! The queue is the only shared state, under one short lock never held across
//! an await; sending, signing and rendering happen outside it.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};
use tokio::sync::{Notify, oneshot};

use super::record::{Counters, DeliveryLog, DeliveryRecord};
use super::send::{Attempt, Sender};
use super::signature::{NATIVE_HEADER, STRIPE_HEADER, sign};
use crate::api::{self, EventView, type_matches};
use crate::behaviour::{DeliveryFate, Duplicate, WebhookDialect, WebhooksConfig};
use crate::engine::{Change, Engine, EventDialect, EventId};

/// How long an API answer waits for the `early` deliveries it raised to be sent.
const EARLY_WAIT_LIMIT: Duration = Duration::from_secs(2);

/// Where one delivery goes.
#[derive(Debug)]
pub(super) struct Target {
    /// `we_...` for an endpoint registered through the API, `config[N]` for one
    /// given on the command line or in the scenario.
    pub(super) id: String,
    pub(super) url: Arc<str>,
    pub(super) secret: Arc<str>,
    pub(super) dialect: EventDialect,
    /// What names the endpoint in fault draws: its place in the configuration
    /// (stable across runs, whatever port a test's receiver got), or its URL.
    fault_key: Arc<str>,
    /// Event types it wants (`*`: all, `family.*`: a family).
    events: Vec<Arc<str>>,
}

impl Target {
    fn wants(&self, event_type: &str) -> bool {
        self.events.iter().any(|e| type_matches(e, event_type))
    }
}

/// The configuration in force, with the configured endpoints resolved.
struct Settings {
    config: WebhooksConfig,
    seed: u64,
    /// Endpoints from the command line and the scenario, with the API key of the
    /// merchant they are limited to (`None`: every merchant).
    configured: Vec<(Arc<Target>, Option<String>)>,
}

/// An event whose deliveries are counted until every endpoint has it.
struct Group {
    event: EventView,
    pending: AtomicUsize,
}

impl Group {
    fn delivered_once(&self) {
        if self.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.event
                .change
                .set_delivered(self.event.dialect, self.event.index, true);
        }
    }
}

/// One event on its way to one endpoint.
pub(super) struct Delivery {
    event_id: Arc<str>,
    event_type: &'static str,
    /// The event, rendered at the first attempt and kept for the retries (a
    /// queued delivery holds no body: a backlog costs little memory).
    event: EventView,
    body: Option<Bytes>,
    target: Arc<Target>,
    /// The attempt this delivery makes next (1-based).
    attempt: u32,
    faults: Vec<&'static str>,
    /// Counts towards the event being delivered; `None` for a duplicate's extra copy.
    group: Option<Arc<Group>>,
    /// Told when the first attempt is over (the `early` fault's answer waits on it).
    early: Option<oneshot::Sender<()>>,
}

/// A queued delivery, ordered by due time (simulator ms), then by arrival.
struct Due {
    due_ms: u64,
    order: u64,
    delivery: Delivery,
}

impl PartialEq for Due {
    fn eq(&self, other: &Self) -> bool {
        (self.due_ms, self.order) == (other.due_ms, other.order)
    }
}
impl Eq for Due {}
impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Due {
    /// Reversed: `BinaryHeap` is a max-heap, and the earliest due comes first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        (other.due_ms, other.order).cmp(&(self.due_ms, self.order))
    }
}

#[derive(Default)]
struct Queue {
    heap: BinaryHeap<Due>,
    next_order: u64,
    in_flight: usize,
}

pub(super) struct Dispatcher {
    engine: Engine,
    settings: RwLock<Arc<Settings>>,
    queue: Mutex<Queue>,
    wake: Arc<Notify>,
    started: AtomicBool,
    sender: Sender,
    pub(super) log: DeliveryLog,
}

/// The deliveries one API request raised. Dropping it queues them: the server
/// keeps it with the answer's body, so webhooks leave after the answer does
/// (unless the `early` fault sent them first, on purpose).
#[must_use]
pub struct Raised {
    dispatcher: Option<Arc<Dispatcher>>,
    /// Deliveries with the delay before their first attempt.
    later: Vec<(Duration, Delivery)>,
    early: Vec<oneshot::Receiver<()>>,
}

impl Raised {
    /// Nothing to deliver.
    pub fn none() -> Raised {
        Raised {
            dispatcher: None,
            later: Vec::new(),
            early: Vec::new(),
        }
    }

    /// Waits (at most two seconds) until the deliveries sent `early` have made
    /// their first attempt, so the receiver hears before the API client does.
    pub async fn wait_for_early(&mut self) {
        let early = std::mem::take(&mut self.early);
        if early.is_empty() {
            return;
        }
        let all = async {
            for receiver in early {
                let _ = receiver.await;
            }
        };
        let _ = tokio::time::timeout(EARLY_WAIT_LIMIT, all).await;
    }
}

impl Drop for Raised {
    fn drop(&mut self) {
        if let Some(dispatcher) = &self.dispatcher {
            let now = dispatcher.engine.clock().now_ms();
            for (delay, delivery) in self.later.drain(..) {
                dispatcher.enqueue(now + delay.as_millis() as u64, delivery);
            }
        }
    }
}

impl Dispatcher {
    pub(super) fn new(engine: Engine) -> Arc<Dispatcher> {
        Arc::new(Dispatcher {
            engine,
            settings: RwLock::new(Arc::new(Settings {
                config: WebhooksConfig::default(),
                seed: 0,
                configured: Vec::new(),
            })),
            queue: Mutex::default(),
            wake: Arc::new(Notify::new()),
            started: AtomicBool::new(false),
            sender: Sender::new(),
            log: DeliveryLog::default(),
        })
    }

    /// Puts a new configuration in force; queued deliveries keep their plans.
    pub(super) fn configure(&self, config: &WebhooksConfig, seed: u64) {
        let configured = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(n, e)| {
                let target = Target {
                    id: format!("config[{n}]"),
                    fault_key: Arc::from(format!("config[{n}]")),
                    url: Arc::from(e.url.as_str()),
                    secret: Arc::from(
                        e.secret
                            .clone()
                            .unwrap_or_else(|| crate::behaviour::default_webhook_secret(seed)),
                    ),
                    dialect: match e.dialect {
                        WebhookDialect::Stripe => EventDialect::Stripe,
                        WebhookDialect::Native => EventDialect::Native,
                    },
                    events: e.events.iter().map(|t| Arc::from(t.as_str())).collect(),
                };
                (Arc::new(target), e.merchant.clone())
            })
            .collect();
        *self.settings.write() = Arc::new(Settings {
            config: config.clone(),
            seed,
            configured,
        });
        self.wake.notify_one();
    }

    /// Plans the deliveries of `changes`: which endpoint gets which event, with
    /// which faults. Early ones are queued at once; the rest when the returned
    /// [`Raised`] is dropped.
    pub(super) fn raise(self: &Arc<Self>, changes: Vec<Arc<Change>>) -> Raised {
        let mut raised = Raised::none();
        if changes.is_empty() {
            return raised;
        }
        let settings = self.settings.read().clone();
        if settings.configured.is_empty() && !self.engine.has_webhook_endpoints() {
            return raised;
        }
        raised.dispatcher = Some(self.clone());
        let salt = self.engine.event_salt();
        for change in &changes {
            let targets = self.targets_for(&settings, change);
            for dialect in [EventDialect::Stripe, EventDialect::Native] {
                for event in EventView::of(change, dialect) {
                    let wanting: Vec<&Arc<Target>> = targets
                        .iter()
                        .filter(|t| t.dialect == dialect && t.wants(event.event_type))
                        .collect();
                    if wanting.is_empty() {
                        continue;
                    }
                    self.plan_event(&settings, salt, event, &wanting, &mut raised);
                }
            }
        }
        raised
    }

    /// The endpoints that hear of `change`: configured ones for its merchant (or
    /// for every merchant), and those its merchant registered and did not disable.
    fn targets_for(&self, settings: &Settings, change: &Change) -> Vec<Arc<Target>> {
        let merchant_key = self.engine.merchant_api_key(change.merchant);
        let mut targets: Vec<Arc<Target>> = settings
            .configured
            .iter()
            .filter(|(_, merchant)| merchant.as_deref().is_none_or(|m| *m == *merchant_key))
            .map(|(target, _)| target.clone())
            .collect();
        targets.extend(
            self.engine
                .webhook_endpoints_of(change.merchant)
                .into_iter()
                .rev()
                .filter(|e| !e.disabled)
                .map(|e| {
                    Arc::new(Target {
                        id: e.id.to_string(),
                        fault_key: e.url.clone(),
                        url: e.url.clone(),
                        secret: e.secret.clone(),
                        dialect: e.dialect,
                        events: e.enabled_events.clone(),
                    })
                }),
        );
        targets
    }

    /// Plans one event's deliveries to the endpoints that want it.
    fn plan_event(
        self: &Arc<Self>,
        settings: &Settings,
        salt: u32,
        event: EventView,
        targets: &[&Arc<Target>],
        raised: &mut Raised,
    ) {
        event
            .change
            .set_delivered(event.dialect, event.index, false);
        let event_id: Arc<str> = Arc::from(event.id(salt).to_string());
        let event_type = event.event_type;
        let group = Arc::new(Group {
            pending: AtomicUsize::new(targets.len()),
            event: event.clone(),
        });
        // Nothing leaves during an outage, so an `early` webhook cannot beat its answer
        // then: the answer does not wait for it.
        let in_outage = settings
            .config
            .outage_until(self.engine.clock().since_start())
            .is_some();
        for target in targets {
            let mut fate = settings
                .config
                .fate(settings.seed, &fault_identity(target, &event));
            fate.early &= !in_outage;
            let kinds = fate.kinds();
            for kind in &kinds {
                self.log.counters.fault(kind);
            }
            let delivery = Delivery {
                event_id: event_id.clone(),
                event_type,
                event: event.clone(),
                body: None,
                target: (*target).clone(),
                attempt: 1,
                faults: kinds,
                group: Some(group.clone()),
                early: None,
            };
            self.plan_delivery(&fate, delivery, raised);
        }
    }

    /// Applies a delivery's fate: drop it, send it early, or hold it for later
    /// (with its delay, its hold-back, and a duplicate beside it).
    fn plan_delivery(
        self: &Arc<Self>,
        fate: &DeliveryFate,
        mut delivery: Delivery,
        raised: &mut Raised,
    ) {
        if fate.drop {
            self.log.push(record(&delivery, None, "dropped", 0));
            return;
        }
        let first = fate.delay + fate.reorder_hold.unwrap_or_default();
        let duplicate = fate.duplicate.as_ref().map(|d| {
            let copy = Delivery {
                event_id: delivery.event_id.clone(),
                event_type: delivery.event_type,
                event: delivery.event.clone(),
                body: None,
                target: delivery.target.clone(),
                attempt: 1,
                faults: delivery.faults.clone(),
                group: None,
                early: None,
            };
            let gap = match d {
                Duplicate::Concurrent => Duration::ZERO,
                Duplicate::After(gap) => *gap,
            };
            (first + gap, copy)
        });
        if fate.early {
            let (tx, rx) = oneshot::channel();
            delivery.early = Some(tx);
            raised.early.push(rx);
            self.enqueue(self.engine.clock().now_ms(), delivery);
            if let Some((gap, copy)) = duplicate {
                self.enqueue(self.engine.clock().now_ms() + gap.as_millis() as u64, copy);
            }
            return;
        }
        raised.later.push((first, delivery));
        if let Some(later) = duplicate {
            raised.later.push(later);
        }
    }

    /// Queues a delivery due at `due_ms` (simulator time), unless the queue is full.
    fn enqueue(self: &Arc<Self>, due_ms: u64, delivery: Delivery) {
        let max_pending = self.settings.read().config.max_pending;
        {
            let mut queue = self.queue.lock();
            if queue.heap.len() < max_pending {
                let order = queue.next_order;
                queue.next_order += 1;
                queue.heap.push(Due {
                    due_ms,
                    order,
                    delivery,
                });
                drop(queue);
                self.start();
                self.wake.notify_one();
                return;
            }
        }
        // Beyond the bound nothing is held, and nothing is silent: the refusal is
        // counted, logged and recorded, and the event stays listed as undelivered
        // (`GET /v1/events?delivery_success=false`) for a resend or a reconciliation.
        Counters::bump(&self.log.counters.overflow);
        tracing::warn!(
            event = %delivery.event_id,
            endpoint = %delivery.target.id,
            max_pending,
            "webhook queue full: delivery not queued; the event stays undelivered (list it with delivery_success=false, resend with POST /_sim/webhooks/resend/{{event_id}})"
        );
        self.log.push(record(&delivery, None, "overflow", 0));
    }

    /// Starts the sending loop on first use, in the runtime of the request that
    /// queued the first delivery.
    fn start(self: &Arc<Self>) {
        // Outside a runtime (a guard dropped after it shut down) there is nothing to run
        // on: the deliveries wait in the queue for the next call from inside one.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(self);
        let wake = self.wake.clone();
        runtime.spawn(run(weak, wake));
    }

    /// Sends what is due now; the time until the next delivery falls due.
    fn send_due(self: &Arc<Self>) -> Option<Duration> {
        let settings = self.settings.read().clone();
        let clock = self.engine.clock();
        let now = clock.now_ms();
        let since_start = clock.since_start();
        let mut queue = self.queue.lock();
        loop {
            let due_ms = queue.heap.peek()?.due_ms;
            if due_ms > now {
                return Some(Duration::from_millis(due_ms - now));
            }
            if let Some(until) = settings.config.outage_until(since_start) {
                // An outage: everything due waits for the end of the window, then
                // the backlog goes at once, as after a real webhook incident.
                let end_ms = now - since_start.as_millis() as u64 + until.as_millis() as u64;
                let mut held = Vec::new();
                while queue.heap.peek().is_some_and(|d| d.due_ms <= now) {
                    held.extend(queue.heap.pop());
                }
                for mut due in held {
                    if !due.delivery.faults.contains(&"outage") {
                        due.delivery.faults.push("outage");
                        self.log.counters.fault("outage");
                    }
                    due.due_ms = end_ms;
                    queue.heap.push(due);
                }
                return Some(Duration::from_millis(end_ms.saturating_sub(now).max(1)));
            }
            if queue.in_flight >= settings.config.concurrency {
                // A finishing attempt wakes the loop.
                return None;
            }
            let due = queue.heap.pop()?;
            queue.in_flight += 1;
            let this = self.clone();
            let timeout = settings.config.timeout;
            tokio::spawn(async move { this.attempt(due.delivery, timeout).await });
        }
    }

    /// One attempt of a delivery, and what follows it: done, or queued again.
    async fn attempt(self: Arc<Self>, mut delivery: Delivery, timeout: Duration) {
        let header = match delivery.target.dialect {
            EventDialect::Stripe => STRIPE_HEADER,
            EventDialect::Native => NATIVE_HEADER,
        };
        let sent_at = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let body = delivery
            .body
            .get_or_insert_with(|| api::render_event(&self.engine, &delivery.event))
            .clone();
        let signature = sign(&delivery.target.secret, sent_at.as_secs(), &body);
        let url = delivery.target.url.clone();
        let attempt = self
            .sender
            .post(&url, header, signature, body, timeout)
            .await;
        let counters = &self.log.counters;
        Counters::bump(&counters.attempts);
        let retry = self.settings.read().config.retry_delay(delivery.attempt);
        let outcome = if attempt.delivered() {
            Counters::bump(&counters.delivered);
            if let Some(group) = &delivery.group {
                group.delivered_once();
            }
            "delivered"
        } else {
            Counters::bump(&counters.failed_attempts);
            if retry.is_some() {
                "failed"
            } else {
                "exhausted"
            }
        };
        if outcome == "exhausted" {
            Counters::bump(&counters.exhausted);
        }
        self.log.push(record(
            &delivery,
            Some(&attempt),
            outcome,
            sent_at.as_millis() as u64,
        ));
        if let Some(early) = delivery.early.take() {
            let _ = early.send(());
        }
        self.queue.lock().in_flight -= 1;
        if outcome == "failed"
            && let Some(delay) = retry
        {
            delivery.attempt += 1;
            let due = self.engine.clock().now_ms() + delay.as_millis() as u64;
            self.enqueue(due, delivery);
        }
        self.wake.notify_one();
    }

    /// Queues `event` again to every endpoint that wants it now, without faults:
    /// a resend is deliberate. The number of deliveries queued; `None` when no
    /// such event exists.
    pub(super) fn resend(self: &Arc<Self>, event_id: &str) -> Option<usize> {
        let id = EventId::parse(event_id)?;
        if id.salt != self.engine.event_salt() {
            return None;
        }
        let change = self.engine.change_by_seq(id.seq)?;
        let event = EventView::of(&change, id.dialect)
            .into_iter()
            .find(|e| e.index == id.index)?;
        let settings = self.settings.read().clone();
        let targets: Vec<Arc<Target>> = self
            .targets_for(&settings, &change)
            .into_iter()
            .filter(|t| t.dialect == event.dialect && t.wants(event.event_type))
            .collect();
        Counters::bump(&self.log.counters.resent);
        if targets.is_empty() {
            return Some(0);
        }
        event
            .change
            .set_delivered(event.dialect, event.index, false);
        let group = Arc::new(Group {
            pending: AtomicUsize::new(targets.len()),
            event: event.clone(),
        });
        let now = self.engine.clock().now_ms();
        for target in &targets {
            self.enqueue(
                now,
                Delivery {
                    event_id: Arc::from(event_id),
                    event_type: event.event_type,
                    event: event.clone(),
                    body: None,
                    target: target.clone(),
                    attempt: 1,
                    faults: vec!["resend"],
                    group: Some(group.clone()),
                    early: None,
                },
            );
        }
        Some(targets.len())
    }

    /// Deliveries waiting in the queue, and attempts under way.
    pub(super) fn backlog(&self) -> (usize, usize) {
        let queue = self.queue.lock();
        (queue.heap.len(), queue.in_flight)
    }

    /// Simulator time moved: retries and held deliveries may be due now.
    pub(super) fn clock_moved(&self) {
        self.wake.notify_one();
    }

    /// Forgets every queued delivery and record (a reset forgets the events too).
    pub(super) fn clear(&self) {
        self.queue.lock().heap.clear();
        self.log.clear();
    }

    pub(super) fn endpoints_configured(&self) -> usize {
        self.settings.read().configured.len()
    }
}

/// The sending loop: sends what is due, sleeps until the next due time or a
/// wake-up (a new delivery, a finished attempt, the clock moved). Ends when the
/// simulator is gone.
async fn run(dispatcher: Weak<Dispatcher>, wake: Arc<Notify>) {
    loop {
        let wait = match dispatcher.upgrade() {
            Some(d) => d.send_due(),
            None => return,
        };
        let wait = wait.unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// What identifies one event to one endpoint for the fault draws, so the same
/// seed and the same requests give the same faults whatever the arrival order:
/// the endpoint (its place in the configuration, or its URL), the event type, and the order reference (or, without one, the
/// idempotency key, or the payout's id, or the payment id), and which refund it is.
fn fault_identity(target: &Target, event: &EventView) -> Vec<u8> {
    let change = &event.change;
    let who = change
        .reference
        .as_deref()
        .map(str::to_string)
        .or_else(|| {
            change
                .request
                .as_ref()
                .and_then(|r| r.idempotency_key.as_deref().map(str::to_string))
        })
        .or_else(|| change.payout.as_ref().map(|p| p.id.to_string()))
        .unwrap_or_else(|| change.payment.to_string());
    format!(
        "{}\n{}\n{}\n{}",
        target.fault_key, event.event_type, who, change.state.refunds
    )
    .into_bytes()
}

fn record(
    delivery: &Delivery,
    attempt: Option<&Attempt>,
    outcome: &'static str,
    sent_at_ms: u64,
) -> DeliveryRecord {
    // The payment and its reference come from the change the queued delivery already holds
    // (through its `EventView`): a waiting delivery costs nothing more for them, and the
    // strings are made only here, once per record.
    let change = &delivery.event.change;
    DeliveryRecord {
        event_id: delivery.event_id.to_string(),
        event_type: delivery.event_type,
        payment_id: change.payment.to_string(),
        payout_id: change.payout.as_ref().map(|p| p.id.to_string()),
        reference: change.reference.as_deref().map(str::to_string),
        endpoint: delivery.target.id.clone(),
        url: delivery.target.url.to_string(),
        attempt: if attempt.is_some() {
            delivery.attempt
        } else {
            0
        },
        sent_at_ms,
        status: attempt.and_then(|a| a.status),
        error: attempt.and_then(|a| a.error.clone()),
        duration_ms: attempt.map_or(0, |a| a.duration.as_millis() as u64),
        faults: delivery.faults.clone(),
        outcome,
    }
}
