//! A checkout session as plain data (its line items, status, where the buyer
//! goes, which payment paid it) and the store that keeps every session: the
//! operations on them are `checkout.rs`'s, apart so the change log can hold a
//! session's snapshot without importing the operations.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use super::ids::{MerchantId, PaymentId};
use super::money::Currency;
use super::payment::CaptureMethod;

/// How long a session stays open: 24 hours, Stripe's default.
pub const CHECKOUT_SESSION_LIFETIME_MS: u64 = 24 * 3600 * 1000;

/// The prefix of a session's id; Stripe's test-mode sessions are `cs_test_...`.
pub const CHECKOUT_SESSION_PREFIX: &str = "cs_test_";

/// One line of a session: `quantity` × `unit_amount` of a product.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LineItem {
    /// `li_...`.
    pub id: String,
    pub name: String,
    pub unit_amount: i64,
    pub quantity: u32,
}

impl LineItem {
    pub fn amount(&self) -> i64 {
        self.unit_amount.saturating_mul(i64::from(self.quantity))
    }
}

/// A validated request for a session.
#[derive(Debug, Clone)]
pub struct NewCheckoutSession {
    pub currency: Currency,
    /// `(name, unit_amount, quantity)`, at least one.
    pub line_items: Vec<(String, i64, u32)>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub client_reference_id: Option<String>,
    /// A JSON object, as compact text.
    pub metadata: Option<String>,
    pub customer_email: Option<String>,
    pub capture_method: CaptureMethod,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CheckoutStatus {
    Open,
    Complete,
    Expired,
}

impl CheckoutStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckoutStatus::Open => "open",
            CheckoutStatus::Complete => "complete",
            CheckoutStatus::Expired => "expired",
        }
    }
}

/// A checkout session (plain data; the store keeps the live one).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CheckoutSession {
    pub id: Arc<str>,
    pub merchant: MerchantId,
    /// Unix seconds, simulator time.
    pub created: u64,
    pub expires_at: u64,
    pub status: CheckoutStatus,
    pub currency: Currency,
    pub line_items: Vec<LineItem>,
    pub amount_total: i64,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: Option<String>,
    pub customer_email: Option<String>,
    pub capture_method: CaptureMethod,
    /// The payment that paid the session; `None` until it is paid.
    pub payment: Option<PaymentId>,
    /// Whether the buyer paid when the session completed (`payment_status: paid`),
    /// which a card authorized for a manual capture did too, as on Stripe.
    pub paid: bool,
    /// The last payment attempted (a decline, or one waiting for 3-D Secure).
    pub attempt: Option<PaymentId>,
    /// A payment is being made for the session right now: a second Pay waits its turn.
    pub paying: bool,
}

/// Every session, each merchant's in creation order, and their expiries.
#[derive(Default)]
pub(super) struct CheckoutStore {
    pub(super) inner: Mutex<StoreInner>,
    /// The earliest expiry scheduled (`u64::MAX` when none): a sweep with nothing
    /// to do is one atomic load.
    pub(super) next_due_ms: AtomicU64,
}

#[derive(Default)]
pub(super) struct StoreInner {
    pub(super) sessions: HashMap<Arc<str>, CheckoutSession>,
    pub(super) by_merchant: HashMap<MerchantId, Vec<Arc<str>>>,
    /// `(expires_at ms, sequence) → session`; the sequence keeps creation order on ties.
    pub(super) expiries: BTreeMap<(u64, u64), Arc<str>>,
    /// Payments waiting for 3-D Secure → the session they would pay.
    pub(super) waiting: HashMap<PaymentId, Arc<str>>,
    pub(super) sequence: u64,
}

impl CheckoutStore {
    pub(super) fn clear(&self) {
        *self.inner.lock() = StoreInner::default();
        self.next_due_ms.store(u64::MAX, Ordering::Relaxed);
    }
}
