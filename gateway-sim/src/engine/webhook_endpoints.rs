//! Webhook endpoints registered through the API: where each merchant wants its
//! events sent, which ones, and the secret their signatures use. Plain records:
//! the dialects validate what a merchant sends, the webhook dispatcher reads
//! them when an event is raised. (Endpoints given on the command line or in a
//! scenario file are configuration, not state: they live in the behaviour.)

use std::sync::Arc;

use parking_lot::RwLock;

use super::events::EventDialect;
use super::ids::{MerchantId, WebhookEndpointId};

/// One registered endpoint.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    /// The merchant whose events it receives.
    pub merchant: MerchantId,
    pub url: Arc<str>,
    /// Event types, in the endpoint's dialect; `*` for all.
    pub enabled_events: Vec<Arc<str>>,
    /// The dialect its events are named and rendered in: the dialect it was registered through.
    pub dialect: EventDialect,
    /// `whsec_...`: the key of its signatures.
    pub secret: Arc<str>,
    pub disabled: bool,
    pub description: Option<Arc<str>>,
    /// Unix seconds, simulator time.
    pub created: u64,
}

impl WebhookEndpoint {
    /// Whether events of `event_type` go to this endpoint.
    pub fn wants(&self, event_type: &str) -> bool {
        !self.disabled
            && self
                .enabled_events
                .iter()
                .any(|e| &**e == "*" || &**e == event_type)
    }
}

/// A validated request to register an endpoint.
#[derive(Debug, Clone)]
pub struct NewWebhookEndpoint {
    pub url: Arc<str>,
    pub enabled_events: Vec<Arc<str>>,
    pub dialect: EventDialect,
    pub description: Option<Arc<str>>,
}

/// A fresh signing secret: `whsec_` and 32 random base-62 characters.
pub(super) fn new_secret() -> Arc<str> {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let text: String = (0..32)
        .map(|_| ALPHABET[rand::random_range(0..62)] as char)
        .collect();
    Arc::from(format!("whsec_{text}"))
}

/// What an update may change (`None`: leave as is).
#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub url: Option<Arc<str>>,
    pub enabled_events: Option<Vec<Arc<str>>>,
    pub disabled: Option<bool>,
    pub description: Option<Option<Arc<str>>>,
}

/// How many endpoints one merchant may register (Stripe allows 16).
pub const MAX_ENDPOINTS_PER_MERCHANT: usize = 16;

/// The registered endpoints, in registration order. Read on every raised event,
/// written rarely: a lock-free read would gain nothing measurable next to a delivery.
#[derive(Default)]
pub(super) struct EndpointRegistry {
    endpoints: RwLock<Vec<Arc<WebhookEndpoint>>>,
    /// How many there are, read without the lock on every raised change.
    count: std::sync::atomic::AtomicUsize,
}

impl EndpointRegistry {
    pub(super) fn count(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn recount(&self, all: &[Arc<WebhookEndpoint>]) {
        self.count
            .store(all.len(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Registers `endpoint`, or `None` when its merchant already has the maximum.
    pub(super) fn add(&self, endpoint: WebhookEndpoint) -> Option<Arc<WebhookEndpoint>> {
        let mut all = self.endpoints.write();
        let count = all
            .iter()
            .filter(|e| e.merchant == endpoint.merchant)
            .count();
        if count >= MAX_ENDPOINTS_PER_MERCHANT {
            return None;
        }
        let endpoint = Arc::new(endpoint);
        all.push(endpoint.clone());
        self.recount(&all);
        Some(endpoint)
    }

    /// Replay: an endpoint as journaled, in its place if it is known (an update).
    pub(super) fn restore(&self, endpoint: WebhookEndpoint) {
        let mut all = self.endpoints.write();
        let endpoint = Arc::new(endpoint);
        match all.iter_mut().find(|e| e.id == endpoint.id) {
            Some(slot) => *slot = endpoint,
            None => all.push(endpoint),
        }
        self.recount(&all);
    }

    pub(super) fn get(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Option<Arc<WebhookEndpoint>> {
        self.endpoints
            .read()
            .iter()
            .find(|e| e.id == id && e.merchant == merchant)
            .cloned()
    }

    pub(super) fn update(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
        update: EndpointUpdate,
    ) -> Option<Arc<WebhookEndpoint>> {
        let mut all = self.endpoints.write();
        let slot = all
            .iter_mut()
            .find(|e| e.id == id && e.merchant == merchant)?;
        let mut changed = (**slot).clone();
        if let Some(url) = update.url {
            changed.url = url;
        }
        if let Some(events) = update.enabled_events {
            changed.enabled_events = events;
        }
        if let Some(disabled) = update.disabled {
            changed.disabled = disabled;
        }
        if let Some(description) = update.description {
            changed.description = description;
        }
        *slot = Arc::new(changed);
        Some(slot.clone())
    }

    pub(super) fn remove(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Option<Arc<WebhookEndpoint>> {
        let mut all = self.endpoints.write();
        let at = all
            .iter()
            .position(|e| e.id == id && e.merchant == merchant)?;
        let removed = all.remove(at);
        self.recount(&all);
        Some(removed)
    }

    /// The merchant's endpoints, newest first (as Stripe lists them).
    pub(super) fn of(&self, merchant: MerchantId) -> Vec<Arc<WebhookEndpoint>> {
        self.endpoints
            .read()
            .iter()
            .rev()
            .filter(|e| e.merchant == merchant)
            .cloned()
            .collect()
    }

    /// Every endpoint of every merchant.
    pub(super) fn all(&self) -> Vec<Arc<WebhookEndpoint>> {
        self.endpoints.read().clone()
    }

    pub(super) fn clear(&self) {
        let mut all = self.endpoints.write();
        all.clear();
        self.recount(&all);
    }
}
