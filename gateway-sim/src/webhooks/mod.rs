//! Webhook delivery: the asynchronous half of the gateway. Every change the
//! engine records (see `engine/events.rs`) is told to the endpoints that want
//! it, signed the way Stripe signs, at least once, with the delivery faults a
//! scenario asks for (duplicates, delay, reordering, early, dropped, outage
//! windows). The only code in gateway-sim that makes outbound HTTP calls.
//!
//! An API request never waits for a delivery (except under the `early` fault,
//! whose point is to): the server hands the changes a request raised to
//! [`Webhooks::raise`], keeps the [`Raised`] guard with the answer's body, and
//! the deliveries are queued when the answer has left. One loop sends what falls
//! due; each attempt runs in its own task with a timeout, so a receiver that
//! hangs costs a slot of `concurrency`, never the API's time.
//!
//! - `dispatcher.rs`: planning (endpoints × events × faults), the queue in
//!   simulator time, the sending loop, retries, resends, the memory bound.
//! - `send.rs`: one attempt: a signed `POST` over a fresh connection.
//! - `signature.rs`: Stripe's signature scheme.
//! - `record.rs`: the deliveries log (`GET /_sim/webhooks/deliveries`) and counters.

mod dispatcher;
mod record;
mod send;
mod signature;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::behaviour::WebhooksConfig;
use crate::engine::{Change, Engine};
pub use dispatcher::Raised;
pub use record::{DeliveryFilter, DeliveryRecord};

/// The webhook dispatcher's handle (cheap to clone).
#[derive(Clone)]
pub struct Webhooks {
    dispatcher: Arc<dispatcher::Dispatcher>,
}

/// The `webhooks` part of `GET /_sim/stats`.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookStats {
    /// Endpoints given on the command line or in the scenario.
    pub endpoints_configured: usize,
    /// Endpoints merchants registered through the API.
    pub endpoints_registered: usize,
    /// Deliveries waiting (first attempts not due yet, retries, an outage's backlog).
    pub pending: usize,
    /// Attempts under way.
    pub in_flight: usize,
    pub attempts: u64,
    pub delivered: u64,
    pub failed_attempts: u64,
    /// Deliveries that used every attempt without a 2xx.
    pub exhausted: u64,
    /// Deliveries refused because `max_pending` were already waiting.
    pub overflow: u64,
    pub resent: u64,
    /// Delivery faults applied, by kind.
    pub faults: BTreeMap<&'static str, u64>,
}

impl Webhooks {
    pub fn new(engine: Engine, config: &WebhooksConfig, seed: u64) -> Webhooks {
        let dispatcher = dispatcher::Dispatcher::new(engine);
        dispatcher.configure(config, seed);
        Webhooks { dispatcher }
    }

    /// Puts a new `[gateway.webhooks]` in force (a `PUT /_sim/config`).
    pub fn configure(&self, config: &WebhooksConfig, seed: u64) {
        self.dispatcher.configure(config, seed);
    }

    /// Plans the deliveries of the changes one request raised. Early deliveries
    /// leave at once; the rest when the returned guard is dropped.
    pub fn raise(&self, changes: Vec<Arc<Change>>) -> Raised {
        self.dispatcher.raise(changes)
    }

    /// Queues an event again to every endpoint that wants it; how many
    /// deliveries, or `None` when there is no such event.
    pub fn resend(&self, event_id: &str) -> Option<usize> {
        self.dispatcher.resend(event_id)
    }

    /// The kept delivery records that `filter` keeps, oldest first.
    pub fn deliveries(&self, filter: &DeliveryFilter<'_>) -> Vec<DeliveryRecord> {
        self.dispatcher.log.records(filter)
    }

    pub fn stats(&self, engine: &Engine) -> WebhookStats {
        use record::Counters;
        let c = &self.dispatcher.log.counters;
        let (pending, in_flight) = self.dispatcher.backlog();
        WebhookStats {
            endpoints_configured: self.dispatcher.endpoints_configured(),
            endpoints_registered: engine.webhook_endpoints().len(),
            pending,
            in_flight,
            attempts: Counters::get(&c.attempts),
            delivered: Counters::get(&c.delivered),
            failed_attempts: Counters::get(&c.failed_attempts),
            exhausted: Counters::get(&c.exhausted),
            overflow: Counters::get(&c.overflow),
            resent: Counters::get(&c.resent),
            faults: c.faults(),
        }
    }

    /// Simulator time moved forward: retries and held deliveries may be due.
    pub fn clock_moved(&self) {
        self.dispatcher.clock_moved();
    }

    /// Forgets queued deliveries and records.
    pub fn clear(&self) {
        self.dispatcher.clear();
    }
}
