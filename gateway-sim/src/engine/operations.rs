//! The [`Engine`]: every operation on payments (create, confirm, update, capture, cancel,
//! refund, look up, list), each atomic under the lock of the payment it touches, with its
//! ledger entries appended before the lock is let go; plus reading the ledger and the stats.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::checkout_session::CheckoutStore;
use super::clock::SimClock;
use super::decline_code::StoredDeclineCode;
use super::error::EngineError;
use super::events::{Cause, Change, ChangeKind, EventId, EventLog};
use super::expiry::ExpirySchedule;
use super::idempotency::{Claim, IdempotencyStore, KeyState};
use super::ids::{MerchantId, Merchants, PaymentId, RefundId, WebhookEndpointId};
use super::ledger::{EntryKind, EntryReason, KindAndReason, Ledger, LedgerEntry, Movement};
use super::money::MAX_AMOUNT;
use super::page::{Cursor, MAX_PAGE, PageQuery};
use super::payment::{
    CaptureMethod, Challenge, ConfirmedAt, MetadataPatch, NewPayment, NewPendingPayment, Payment,
    PaymentMethod, PaymentStatus, PaymentUpdate, Rare, Refund, ReturnTo, Verdict,
};
use super::record::Record;
use super::shard::{Map, SHARDS, shard_hash};
use super::shared_str::SharedStr;
use super::stats::{Counters, LedgerStats};
use super::webhook_endpoints::{
    EndpointRegistry, EndpointUpdate, NewWebhookEndpoint, WebhookEndpoint, new_secret,
};

/// One shard of the payments: id → payment.
type PaymentShard = super::payment_table::PaymentTable;

/// One shard of the reference index: merchant → order reference → its payments.
type ReferenceShard = Map<MerchantId, ByReference>;

/// One merchant's references in a shard. hashbrown's own map, for the `allocation_size()`
/// that retention's `room_for_churn` reads.
type ByReference = hashbrown::HashMap<SharedStr, ReferencedPayments, foldhash::fast::RandomState>;

/// The payments of one order reference: nearly always one, held in the table's slot
/// itself. A `Vec` would allocate room for four (80 bytes with the allocator's header)
/// for every payment made with a reference.
pub(super) type ReferencedPayments = smallvec::SmallVec<[PaymentId; 1]>;

/// The engine: a cheap-to-clone handle on the simulator's whole state.
#[derive(Clone)]
pub struct Engine {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    /// Payments are boxed: a hash table keeps up to twice its entries' size in
    /// empty slots, and a 16-byte pointer wastes far less there than a whole payment.
    pub(super) payments: Box<[Mutex<PaymentShard>]>,
    /// (merchant, reference) → payments, for `GET /v1/payments?reference=`.
    pub(super) references: Box<[Mutex<ReferenceShard>]>,
    /// Each merchant's payments in creation order, for listing pages.
    pub(super) by_merchant: Mutex<Map<MerchantId, Vec<PaymentId>>>,
    /// Refund → its payment, for looking refunds up by id.
    pub(super) refund_index: Box<[Mutex<Map<RefundId, PaymentId>>]>,
    pub(super) merchants: Merchants,
    pub(super) idempotency: Arc<IdempotencyStore>,
    pub(super) ledger: Ledger,
    /// Every change a merchant is told about, recorded with its ledger entries.
    pub(super) events: EventLog,
    pub(super) webhook_endpoints: EndpointRegistry,
    pub(super) clock: SimClock,
    pub(super) counters: Counters,
    /// Uncaptured authorizations, soonest expiry first (see `expiry.rs`).
    pub(super) expiries: ExpirySchedule,
    /// Checkout sessions (`checkout.rs`).
    pub(super) checkout: CheckoutStore,
    /// Dispute cards' payments, soonest opening first, and submitted disputes,
    /// soonest decision first (see `disputes.rs`).
    pub(super) dispute_openings: ExpirySchedule,
    pub(super) dispute_decisions: ExpirySchedule,
    /// Open 3-D Secure challenges, soonest abandonment first (see `lifecycle.rs`).
    pub(super) challenge_timeouts: ExpirySchedule,
    /// Each merchant's disputed payments in the order their disputes opened.
    pub(super) disputes_by_merchant: Mutex<Map<MerchantId, Vec<PaymentId>>>,
    /// Balance transactions and payouts, derived from the ledger (`settlement/`).
    pub(super) settlement: super::settlement::Settlement,
    /// The section every change holds, and the journal when there is one (`durable.rs`).
    pub(super) durability: super::record::Durability,
    /// `--retain`: the window, and the payments' last changes it tracks (`retention.rs`).
    pub(super) retention: super::retention::Retention,
    /// Where the simulator's own pages are reachable (the 3-D Secure challenge),
    /// set by the server once it has bound its socket.
    public_url: parking_lot::RwLock<Arc<str>>,
}

impl Engine {
    /// An empty engine whose idempotency keys live `key_ttl` of simulator time.
    pub fn new(key_ttl: Duration) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                payments: (0..SHARDS).map(|_| Mutex::default()).collect(),
                references: (0..SHARDS).map(|_| Mutex::default()).collect(),
                by_merchant: Mutex::default(),
                refund_index: (0..SHARDS).map(|_| Mutex::default()).collect(),
                merchants: Merchants::default(),
                idempotency: Arc::new(IdempotencyStore::new(key_ttl.as_millis() as u64)),
                ledger: Ledger::default(),
                events: EventLog::default(),
                webhook_endpoints: EndpointRegistry::default(),
                clock: SimClock::new(),
                counters: Counters::default(),
                expiries: ExpirySchedule::default(),
                checkout: CheckoutStore::default(),
                dispute_openings: ExpirySchedule::with_delay(super::dispute::DEFAULT_OPEN_AFTER),
                dispute_decisions: ExpirySchedule::with_delay(
                    super::dispute::DEFAULT_DECIDED_AFTER,
                ),
                challenge_timeouts: ExpirySchedule::with_delay(
                    super::payment::DEFAULT_ABANDON_AFTER,
                ),
                disputes_by_merchant: Mutex::default(),
                settlement: Default::default(),
                durability: Default::default(),
                retention: Default::default(),
                public_url: parking_lot::RwLock::new(Arc::from("http://127.0.0.1:4242")),
            }),
        }
    }

    pub fn clock(&self) -> &SimClock {
        &self.inner.clock
    }

    /// How long authorizations made from now on last before they expire
    /// (`[gateway.authorizations] validity`); scheduled expiries keep their time.
    pub fn set_authorization_validity(&self, validity: Duration) {
        self.inner.expiries.set_validity(validity);
    }

    /// The simulator's own base URL (`http://127.0.0.1:4242`), for the pages
    /// payments send buyers to.
    pub fn set_public_url(&self, url: &str) {
        *self.inner.public_url.write() = Arc::from(url.trim_end_matches('/'));
    }

    pub fn public_url(&self) -> Arc<str> {
        self.inner.public_url.read().clone()
    }

    /// The merchant account an API key names, created on first use.
    pub fn merchant(&self, api_key: &str) -> MerchantId {
        self.inner.merchants.intern(api_key)
    }

    pub fn merchant_api_key(&self, merchant: MerchantId) -> Arc<str> {
        self.inner.merchants.api_key(merchant)
    }

    /// Reserves `key` for a request whose method, path and body hash to `fingerprint`.
    pub fn claim_idempotency_key(
        &self,
        merchant: MerchantId,
        key: &str,
        fingerprint: u64,
    ) -> Claim {
        self.inner
            .idempotency
            .claim(merchant, key, fingerprint, self.inner.clock.now_ms())
    }

    pub fn idempotency_key_state(&self, merchant: MerchantId, key: &str) -> Option<KeyState> {
        self.inner
            .idempotency
            .lookup(merchant, key, self.inner.clock.now_ms())
    }

    pub(super) fn shard(&self, id: PaymentId) -> &Mutex<PaymentShard> {
        &self.inner.payments[id.shard(SHARDS)]
    }

    pub(super) fn reference_shard(&self, reference: &str) -> &Mutex<ReferenceShard> {
        &self.inner.references[(shard_hash(reference) as usize) & (SHARDS - 1)]
    }

    pub(super) fn record(&self, p: &Payment, kind: EntryKind, amount: i64, cause: &Cause) {
        self.record_because(p, kind, amount, cause, None);
    }

    pub(super) fn record_because(
        &self,
        p: &Payment,
        kind: EntryKind,
        amount: i64,
        cause: &Cause,
        reason: Option<EntryReason>,
    ) {
        self.touch_payment(p.id);
        self.inner.counters.moved(kind, amount);
        self.inner.ledger.append(Movement {
            time_ms: self.inner.clock.now_ms(),
            payment: p.id,
            amount,
            merchant: p.merchant,
            kind: KindAndReason::new(kind, reason),
            currency: p.currency,
            idempotency_key: cause.idempotency_key().cloned(),
            decline_code: if kind == EntryKind::Decline {
                p.decline_code
            } else {
                None
            },
        });
    }

    /// Records that `p` changed (`kind`), for the events and webhooks; under `p`'s lock.
    pub(super) fn raise(&self, p: &Payment, kind: ChangeKind, cause: &Cause) {
        self.touch_payment(p.id);
        let now = self.inner.clock.now_ms();
        self.inner.events.record(kind, false, now, p, cause);
        self.note_change(p.id, now);
    }

    /// The payment as it was at `change` (see [`Change::payment_then`]); `None`
    /// once it is gone (a reset).
    pub fn payment_at(&self, change: &Change, creation: bool) -> Option<Payment> {
        let shard = self.shard(change.payment).lock();
        let now = shard.get(&change.payment)?;
        Some(change.payment_then(now, creation))
    }

    /// The refund a refund change made.
    pub fn refund_at(&self, change: &Change) -> Option<Refund> {
        let shard = self.shard(change.payment).lock();
        change.refund_then(shard.get(&change.payment)?)
    }

    /// Authorizes (and with `capture`, captures) a new payment, or records it as
    /// declined with `decline` (a decline code chosen by the fault model or the
    /// test card). Either way the payment is kept and returned; a declined one has
    /// status `Failed`.
    pub fn create_payment(
        &self,
        merchant: MerchantId,
        new: NewPayment,
        cause: &Cause,
        decline: Option<&str>,
    ) -> Result<Payment, EngineError> {
        self.create_payment_with(merchant, new, cause, Verdict::from(decline))
    }

    /// [`Engine::create_payment`] with the fault model's whole verdict: a card that
    /// asks for authentication leaves the payment `RequiresAction`, nothing moved.
    pub fn create_payment_with(
        &self,
        merchant: MerchantId,
        new: NewPayment,
        cause: &Cause,
        verdict: Verdict<'_>,
    ) -> Result<Payment, EngineError> {
        if new.amount <= 0 || new.amount > MAX_AMOUNT {
            return Err(EngineError::InvalidAmount);
        }
        let _section = self.section();
        let id = PaymentId::random();
        let reference: Option<SharedStr> = new.reference.map(SharedStr::from);
        let now = self.inner.clock.now_ms() / 1000;
        let mut payment = Payment {
            id,
            merchant,
            status: PaymentStatus::Failed,
            amount: new.amount,
            amount_capturable: 0,
            amount_captured: 0,
            amount_refunded: 0,
            currency: new.currency,
            reference: reference.clone(),
            created: now,
            payment_method: new.payment_method,
            decline_code: None,
            metadata: new.metadata.map(SharedStr::from),
            capture_method: CaptureMethod::from_capture(new.capture),
            confirmed_at: ConfirmedAt::at(now),
            rare: Rare::default(),
        };
        {
            let mut shard = self.shard(id).lock();
            match verdict {
                Verdict::Decline(code) => {
                    payment.decline_code = Some(StoredDeclineCode::known(code));
                    self.record(&payment, EntryKind::Decline, 0, cause);
                }
                // Not an attempt at the issuer yet: no charge until the buyer answers.
                Verdict::Authenticate => {
                    payment.confirmed_at = ConfirmedAt::NEVER;
                    self.challenge(&mut payment, new.return_to);
                }
                Verdict::Approve | Verdict::Dispute(_) => {
                    payment.rare.set_dispute_plan(verdict.dispute_plan());
                    self.authorize(&mut payment, cause);
                }
            }
            self.inner.counters.transition(None, payment.status);
            // Created and authorized in one step: one change that says both.
            self.touch_payment(id);
            let now = self.inner.clock.now_ms();
            self.inner.events.record(
                outcome_of_authorization(&payment),
                true,
                now,
                &payment,
                cause,
            );
            self.note_change(id, now);
            shard.insert(Box::new(payment.clone()));
        }
        self.index_new(&payment);
        Ok(payment)
    }

    /// Creates a payment that is not authorized yet: `RequiresConfirmation` with a
    /// payment method, `RequiresPaymentMethod` without. No money moves, so the ledger
    /// gets no entry until [`Engine::confirm`].
    pub fn create_pending_payment(
        &self,
        merchant: MerchantId,
        new: NewPendingPayment,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        if new.amount <= 0 || new.amount > MAX_AMOUNT {
            return Err(EngineError::InvalidAmount);
        }
        let _section = self.section();
        let id = PaymentId::random();
        let (status, payment_method) = match new.payment_method {
            Some(method) if !method.is_none() => (PaymentStatus::RequiresConfirmation, method),
            _ => (PaymentStatus::RequiresPaymentMethod, PaymentMethod::none()),
        };
        let payment = Payment {
            id,
            merchant,
            status,
            amount: new.amount,
            amount_capturable: 0,
            amount_captured: 0,
            amount_refunded: 0,
            currency: new.currency,
            reference: new.reference.map(SharedStr::from),
            created: self.inner.clock.now_ms() / 1000,
            payment_method,
            decline_code: None,
            metadata: new.metadata.map(SharedStr::from),
            capture_method: new.capture_method,
            confirmed_at: ConfirmedAt::NEVER,
            rare: Rare::default(),
        };
        {
            let mut shard = self.shard(id).lock();
            self.inner.counters.transition(None, payment.status);
            self.raise(&payment, ChangeKind::Created, cause);
            shard.insert(Box::new(payment.clone()));
        }
        self.index_new(&payment);
        Ok(payment)
    }

    /// Authorizes `p` (approved): the authorization, and the capture at once when
    /// its capture method is automatic; a manual one waits, and its expiry is
    /// scheduled. Under `p`'s lock; the caller counts the transition and raises it.
    pub(super) fn authorize(&self, p: &mut Payment, cause: &Cause) {
        self.record(p, EntryKind::Authorization, p.amount, cause);
        match p.capture_method {
            CaptureMethod::Automatic => {
                self.record(p, EntryKind::Capture, p.amount, cause);
                p.status = PaymentStatus::Succeeded;
                p.amount_captured = p.amount;
                self.schedule_dispute(p);
            }
            CaptureMethod::Manual => {
                p.status = PaymentStatus::RequiresCapture;
                p.amount_capturable = p.amount;
                let now = self.inner.clock.now_ms();
                p.rare.edit().capture_before_ms = Some(self.inner.expiries.schedule(p.id, now));
            }
        }
    }

    /// Opens an authentication challenge on `p`: `RequiresAction`, no money moved,
    /// until the buyer answers it (see `lifecycle.rs`).
    /// Each confirmation that asks opens a challenge of its own (`attempt`, in its
    /// page's address), so an answer to an older one never decides this one.
    fn challenge(&self, p: &mut Payment, return_to: ReturnTo) {
        p.status = PaymentStatus::RequiresAction;
        let attempt = p.rare.challenge.as_ref().map_or(1, |c| c.attempt + 1);
        let now = self.inner.clock.now_ms();
        p.rare.edit().challenge = Some(Box::new(Challenge {
            url: Arc::from(format!(
                "{}/_sim/3ds/{}?attempt={attempt}",
                self.public_url(),
                p.id
            )),
            return_url: return_to.url.map(Arc::from),
            return_param: return_to.param,
            return_id_prefix: return_to.id_prefix,
            attempt,
            abandon_at_ms: self.inner.challenge_timeouts.schedule(p.id, now),
        }));
    }

    /// Makes a new payment findable by reference and in its merchant's listing.
    /// Called after the payment's shard lock is released: the listing holds its own
    /// lock while it reads payments, so the two are never taken in the other order.
    pub(super) fn index_new(&self, payment: &Payment) {
        if let Some(reference) = &payment.reference {
            let mut index = self.reference_shard(reference).lock();
            index
                .entry(payment.merchant)
                .or_default()
                .entry(reference.clone())
                .or_default()
                .push(payment.id);
        }
        self.inner
            .by_merchant
            .lock()
            .entry(payment.merchant)
            .or_default()
            .push(payment.id);
    }

    /// Authorizes a payment created unconfirmed, or one declined before (a retry,
    /// which needs a new payment method), with `payment_method` if given, else the
    /// one attached. `decline` is the fault model's verdict: the attempt is then
    /// recorded as declined and the payment is `Failed`. Approved, it is captured
    /// at once when its capture method is automatic.
    pub fn confirm(
        &self,
        merchant: MerchantId,
        id: &str,
        payment_method: Option<PaymentMethod>,
        cause: &Cause,
        decline: Option<&str>,
    ) -> Result<Payment, EngineError> {
        let verdict = Verdict::from(decline);
        self.confirm_with(
            merchant,
            id,
            payment_method,
            ReturnTo::default(),
            cause,
            verdict,
        )
    }

    /// [`Engine::confirm`] with the fault model's whole verdict, and where the
    /// buyer returns if the card asks for authentication.
    pub fn confirm_with(
        &self,
        merchant: MerchantId,
        id: &str,
        payment_method: Option<PaymentMethod>,
        return_to: ReturnTo,
        cause: &Cause,
        verdict: Verdict<'_>,
    ) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| {
            if !p.status.awaits_confirmation() {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; only a payment not authorized yet (requires_payment_method, requires_confirmation or declined) can be confirmed",
                    p.id,
                    p.status.as_str()
                )));
            }
            let method = method_for_confirmation(p, payment_method).ok_or_else(|| {
                EngineError::InvalidState(format!(
                    "payment {} has no payment method to confirm with; provide one",
                    p.id
                ))
            })?;
            let from = p.status;
            p.payment_method = method;
            p.decline_code = None;
            match verdict {
                Verdict::Decline(code) => {
                    p.confirmed_at = ConfirmedAt::at(self.inner.clock.now_ms() / 1000);
                    p.decline_code = Some(StoredDeclineCode::known(code));
                    p.status = PaymentStatus::Failed;
                    self.record(p, EntryKind::Decline, 0, cause);
                }
                // Not an attempt at the issuer yet: `confirmed_at` waits for the answer.
                Verdict::Authenticate => self.challenge(p, return_to),
                Verdict::Approve | Verdict::Dispute(_) => {
                    p.confirmed_at = ConfirmedAt::at(self.inner.clock.now_ms() / 1000);
                    p.rare.set_dispute_plan(verdict.dispute_plan());
                    self.authorize(p, cause);
                }
            }
            self.inner.counters.transition(Some(from), p.status);
            self.raise(p, outcome_of_authorization(p), cause);
            Ok(p.clone())
        })
    }

    /// What confirming with `payment_method` would authorize: the amount and the
    /// method used. `None` when the payment is missing or cannot be confirmed. The
    /// fault model reads this before [`Engine::confirm`] runs, to decide declines.
    pub fn confirmation_preview(
        &self,
        merchant: MerchantId,
        id: &str,
        payment_method: Option<&PaymentMethod>,
    ) -> Option<(i64, PaymentMethod)> {
        // A read: no section, so a journal gets no frame of it.
        let p = self.payment(merchant, id).ok()?;
        p.status
            .awaits_confirmation()
            .then(|| method_for_confirmation(&p, payment_method.cloned()))
            .flatten()
            .map(|method| (p.amount, method))
    }

    /// Changes a payment. Amount, currency, payment method and capture method only
    /// while it awaits confirmation; attaching a payment method makes it
    /// `RequiresConfirmation` (clearing a previous decline). Metadata at any time.
    pub fn update_payment(
        &self,
        merchant: MerchantId,
        id: &str,
        update: PaymentUpdate,
    ) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| {
            let changes_terms = update.amount.is_some()
                || update.currency.is_some()
                || update.payment_method.is_some()
                || update.capture_method.is_some();
            if changes_terms && !p.status.awaits_confirmation() {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; amount, currency, payment method and capture method can change only before it is authorized",
                    p.id,
                    p.status.as_str()
                )));
            }
            if let Some(amount) = update.amount
                && (amount <= 0 || amount > MAX_AMOUNT)
            {
                return Err(EngineError::InvalidAmount);
            }
            let metadata = match &update.metadata {
                Some(patch) => Some(patch_metadata(p.metadata.as_deref(), patch)),
                None => None,
            };
            if let Some(amount) = update.amount {
                p.amount = amount;
            }
            if let Some(currency) = update.currency {
                p.currency = currency;
            }
            if let Some(capture_method) = update.capture_method {
                p.capture_method = capture_method;
            }
            if let Some(method) = update.payment_method
                && !method.is_none()
            {
                p.payment_method = method;
                let from = p.status;
                p.status = PaymentStatus::RequiresConfirmation;
                p.decline_code = None;
                self.inner.counters.transition(Some(from), p.status);
            }
            if let Some(metadata) = metadata {
                p.metadata = metadata.map(SharedStr::from);
            }
            Ok(p.clone())
        })
    }

    /// Runs `change` on the merchant's payment under its shard lock. A payment of
    /// another merchant is reported missing, exactly like one that does not exist.
    pub(super) fn with_payment<T>(
        &self,
        merchant: MerchantId,
        id: &str,
        change: impl FnOnce(&mut Payment) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let missing = || self.no_such_payment(id);
        let pid = PaymentId::parse(id).ok_or_else(missing)?;
        let _section = self.section();
        let mut shard = self.shard(pid).lock();
        let payment = shard
            .get_mut(&pid)
            .filter(|p| p.merchant == merchant)
            .ok_or_else(missing)?;
        let changed = change(payment);
        if changed.is_ok() && self.journaling() {
            // An update changes no money and raises nothing, but is a change all the same.
            self.touch_payment(pid);
        }
        changed
    }

    /// The merchant's payment, read without a section (reads never wait for changes).
    pub fn payment(&self, merchant: MerchantId, id: &str) -> Result<Payment, EngineError> {
        let missing = || self.no_such_payment(id);
        let pid = PaymentId::parse(id).ok_or_else(missing)?;
        let shard = self.shard(pid).lock();
        shard
            .get(&pid)
            .filter(|p| p.merchant == merchant)
            .cloned()
            .ok_or_else(missing)
    }

    /// Captures `amount` (default: all) of an authorization; the uncaptured rest is released.
    pub fn capture(
        &self,
        merchant: MerchantId,
        id: &str,
        amount: Option<i64>,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| {
            self.expire_if_due(p);
            if p.status != PaymentStatus::RequiresCapture {
                let expired = if p.rare.cancellation_reason.is_some() {
                    " (its authorization expired uncaptured)"
                } else {
                    ""
                };
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}{expired}; only a requires_capture payment can be captured, once",
                    p.id,
                    p.status.as_str()
                )));
            }
            let amount = amount.unwrap_or(p.amount_capturable);
            check_amount(amount, p.amount_capturable)?;
            let rest = p.amount_capturable - amount;
            self.record(p, EntryKind::Capture, amount, cause);
            if rest > 0 {
                self.record(p, EntryKind::Release, rest, cause);
            }
            self.inner
                .counters
                .transition(Some(p.status), PaymentStatus::Succeeded);
            p.status = PaymentStatus::Succeeded;
            p.amount_captured = amount;
            p.amount_capturable = 0;
            self.schedule_dispute(p);
            self.raise(p, ChangeKind::Captured, cause);
            Ok(p.clone())
        })
    }

    /// Releases an authorization without capturing it, or abandons a payment that
    /// was never confirmed (nothing to release then). A declined payment stays
    /// declined: see [`Engine::cancel_or_abandon`].
    pub fn cancel(
        &self,
        merchant: MerchantId,
        id: &str,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        self.cancel_where(merchant, id, cause, false)
    }

    /// Like [`Engine::cancel`], and a declined payment may be canceled too, as a
    /// PaymentIntent whose card was declined is: it is left, not retried.
    pub fn cancel_or_abandon(
        &self,
        merchant: MerchantId,
        id: &str,
        cause: &Cause,
    ) -> Result<Payment, EngineError> {
        self.cancel_where(merchant, id, cause, true)
    }

    fn cancel_where(
        &self,
        merchant: MerchantId,
        id: &str,
        cause: &Cause,
        declined_too: bool,
    ) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| {
            self.expire_if_due(p);
            let cancelable = match p.status {
                PaymentStatus::RequiresCapture
                | PaymentStatus::RequiresPaymentMethod
                | PaymentStatus::RequiresConfirmation
                | PaymentStatus::RequiresAction => true,
                PaymentStatus::Failed => declined_too,
                PaymentStatus::Succeeded | PaymentStatus::Canceled => false,
            };
            if !cancelable {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; only a requires_capture payment, or one not confirmed yet, can be canceled",
                    p.id,
                    p.status.as_str()
                )));
            }
            if p.status == PaymentStatus::RequiresCapture {
                self.record(p, EntryKind::Release, p.amount_capturable, cause);
            }
            self.inner
                .counters
                .transition(Some(p.status), PaymentStatus::Canceled);
            p.status = PaymentStatus::Canceled;
            p.amount_capturable = 0;
            p.rare.edit().canceled_at = Some(self.inner.clock.now_ms() / 1000);
            self.raise(p, ChangeKind::Canceled, cause);
            Ok(p.clone())
        })
    }

    /// Refunds `amount` (default: all that is left) of a captured payment. The
    /// check and the refund happen under one lock: concurrent refunds can never
    /// add up to more than was captured.
    pub fn refund(
        &self,
        merchant: MerchantId,
        id: &str,
        amount: Option<i64>,
        cause: &Cause,
    ) -> Result<(Refund, Payment), EngineError> {
        self.with_payment(merchant, id, |p| {
            if p.status != PaymentStatus::Succeeded {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; only a captured (succeeded) payment can be refunded",
                    p.id,
                    p.status.as_str()
                )));
            }
            if let Some(d) = p.rare.dispute.as_deref()
                && !d.status.is_closed()
            {
                return Err(EngineError::Disputed(format!(
                    "payment {} has an open dispute ({}, {}); it cannot be refunded until the dispute is closed",
                    p.id,
                    d.id,
                    d.status.as_str()
                )));
            }
            // A lost dispute already gave the cardholder their money back.
            let withheld = p.rare.dispute.as_deref().map_or(0, |d| d.withheld());
            let left = p.amount_captured - p.amount_refunded - withheld;
            if left <= 0 {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is already fully refunded",
                    p.id
                )));
            }
            let amount = amount.unwrap_or(left);
            check_amount(amount, left)?;
            let refund = Refund {
                id: RefundId::random(),
                payment: p.id,
                amount,
                currency: p.currency,
                created: self.inner.clock.now_ms() / 1000,
            };
            self.record(p, EntryKind::Refund, amount, cause);
            p.amount_refunded += amount;
            p.rare.edit().refunds.push(refund.clone());
            // Indexed under the payment's lock, so a refund is findable by id as
            // soon as anyone can see it on its payment.
            self.inner.refund_index[refund_shard(refund.id)]
                .lock()
                .insert(refund.id, p.id);
            self.raise(p, ChangeKind::Refunded, cause);
            Ok((refund, p.clone()))
        })
    }

    /// A refund of this merchant by id, with its payment; `None` when there is none.
    pub fn refund_by_id(&self, merchant: MerchantId, id: &str) -> Option<(Refund, Payment)> {
        let rid = RefundId::parse(id)?;
        let pid = *self.inner.refund_index[refund_shard(rid)]
            .lock()
            .get(&rid)?;
        let shard = self.shard(pid).lock();
        let payment = shard.get(&pid).filter(|p| p.merchant == merchant)?;
        let refund = payment.rare.refunds.iter().find(|r| r.id == rid)?.clone();
        Some((refund, payment.clone()))
    }

    /// A page of this merchant's payments, newest first. A cursor that names no
    /// payment of this merchant is refused as missing.
    pub fn list_payments(
        &self,
        merchant: MerchantId,
        query: &PageQuery,
    ) -> Result<Vec<Payment>, EngineError> {
        let limit = query.limit.min(MAX_PAGE);
        let index = self.inner.by_merchant.lock();
        let ids = index.get(&merchant).map_or(&[][..], Vec::as_slice);
        let position = |cursor: &str| {
            PaymentId::parse(cursor)
                .and_then(|pid| ids.iter().rposition(|id| *id == pid))
                .ok_or_else(|| EngineError::NoSuchPayment(cursor.to_string()))
        };
        let read = |id: &PaymentId| {
            self.shard(*id)
                .lock()
                .get(id)
                .filter(|p| !query.confirmed_only || p.confirmed_at.is_some())
                .cloned()
        };
        Ok(match &query.cursor {
            Cursor::Newest => ids.iter().rev().filter_map(read).take(limit).collect(),
            Cursor::OlderThan(cursor) => {
                let at = position(cursor)?;
                ids[..at]
                    .iter()
                    .rev()
                    .filter_map(read)
                    .take(limit)
                    .collect()
            }
            Cursor::NewerThan(cursor) => {
                let at = position(cursor)?;
                let mut page: Vec<Payment> =
                    ids[at + 1..].iter().filter_map(read).take(limit).collect();
                page.reverse();
                page
            }
        })
    }

    /// Every payment of this merchant carrying `reference`, oldest first.
    pub fn payments_by_reference(&self, merchant: MerchantId, reference: &str) -> Vec<Payment> {
        let ids = self
            .reference_shard(reference)
            .lock()
            .get(&merchant)
            .and_then(|refs| refs.get(reference))
            .cloned()
            .unwrap_or_default();
        ids.into_iter()
            .filter_map(|id| self.shard(id).lock().get(&id).cloned())
            .collect()
    }

    /// The payment `id` names, whoever's it is: the control plane's operator view,
    /// which sees across merchants (the API's [`Engine::payment`] does not).
    pub fn find_payment(&self, id: &str) -> Option<Payment> {
        let pid = PaymentId::parse(id)?;
        let shard = self.shard(pid).lock();
        shard.get(&pid).cloned()
    }

    /// Every payment carrying `reference`, whichever merchant made it: merchant by
    /// merchant (in the order they first called), each one's oldest first. The
    /// operator's search by order id.
    pub fn find_payments_by_reference(&self, reference: &str) -> Vec<Payment> {
        // Copy the ids out first: the index lock is never held while a payment's is taken.
        let mut by_merchant: Vec<(MerchantId, ReferencedPayments)> = self
            .reference_shard(reference)
            .lock()
            .iter()
            .filter_map(|(merchant, refs)| Some((*merchant, refs.get(reference)?.clone())))
            .collect();
        by_merchant.sort_by_key(|(merchant, _)| *merchant);
        by_merchant
            .into_iter()
            .flat_map(|(_, ids)| ids)
            .filter_map(|id| self.shard(id).lock().get(&id).cloned())
            .collect()
    }

    /// The ledger entries of one payment, in order. The ledger keeps no index by
    /// payment (it would cost every entry memory for a lookup people make by hand),
    /// so this walks it a chunk at a time and never stalls the writers for long.
    pub fn ledger_entries_of(&self, payment: PaymentId) -> Vec<LedgerEntry> {
        self.inner
            .ledger
            .seqs_of(payment)
            .into_iter()
            .flat_map(|seq| self.ledger_range(seq, seq))
            .collect()
    }

    /// The salt every event id of this engine carries (it changes on reset).
    pub fn event_salt(&self) -> u32 {
        self.inner.events.salt()
    }

    /// The change an event id names, if it is this merchant's and of this engine.
    pub fn change(&self, merchant: MerchantId, id: &EventId) -> Option<Arc<Change>> {
        if id.salt != self.inner.events.salt() {
            return None;
        }
        self.inner
            .events
            .get(id.seq)
            .filter(|c| c.merchant == merchant)
    }

    /// The change with sequence number `seq` (1-based), whoever's it is.
    pub fn change_by_seq(&self, seq: u64) -> Option<Arc<Change>> {
        self.inner.events.get(seq)
    }

    /// How many changes were recorded since start or reset.
    pub fn changes_len(&self) -> u64 {
        self.inner.events.len()
    }

    /// Visits the merchant's changes older than `before` (a change's sequence
    /// number), newest first, while `visit` returns true.
    pub fn changes_newest_first(
        &self,
        merchant: MerchantId,
        before: Option<u64>,
        visit: impl FnMut(&Arc<Change>) -> bool,
    ) {
        self.inner.events.newest_first(merchant, before, visit);
    }

    /// Registers a webhook endpoint with a fresh id and secret; `None` when its
    /// merchant has the most it may have.
    pub fn create_webhook_endpoint(
        &self,
        merchant: MerchantId,
        new: NewWebhookEndpoint,
    ) -> Option<Arc<WebhookEndpoint>> {
        let section = self.section();
        let added = self.inner.webhook_endpoints.add(WebhookEndpoint {
            id: WebhookEndpointId::random(),
            merchant,
            url: new.url,
            enabled_events: new.enabled_events,
            dialect: new.dialect,
            secret: new_secret(),
            disabled: false,
            description: new.description,
            created: self.inner.clock.now_ms() / 1000,
        });
        if let Some(endpoint) = &added {
            section.note(Record::Endpoint(Box::new((**endpoint).clone())));
        }
        added
    }

    pub fn webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Option<Arc<WebhookEndpoint>> {
        self.inner.webhook_endpoints.get(merchant, id)
    }

    pub fn update_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
        update: EndpointUpdate,
    ) -> Option<Arc<WebhookEndpoint>> {
        let section = self.section();
        let updated = self.inner.webhook_endpoints.update(merchant, id, update);
        if let Some(endpoint) = &updated {
            section.note(Record::Endpoint(Box::new((**endpoint).clone())));
        }
        updated
    }

    pub fn delete_webhook_endpoint(
        &self,
        merchant: MerchantId,
        id: WebhookEndpointId,
    ) -> Option<Arc<WebhookEndpoint>> {
        let section = self.section();
        let removed = self.inner.webhook_endpoints.remove(merchant, id);
        if removed.is_some() {
            section.note(Record::EndpointRemoved { merchant, id });
        }
        removed
    }

    /// The merchant's endpoints, newest first.
    pub fn webhook_endpoints_of(&self, merchant: MerchantId) -> Vec<Arc<WebhookEndpoint>> {
        self.inner.webhook_endpoints.of(merchant)
    }

    /// Whether any merchant registered an endpoint (the dispatcher's fast path).
    pub fn has_webhook_endpoints(&self) -> bool {
        self.inner.webhook_endpoints.count() > 0
    }

    /// Every registered endpoint, of every merchant, oldest first.
    pub fn webhook_endpoints(&self) -> Vec<Arc<WebhookEndpoint>> {
        self.inner.webhook_endpoints.all()
    }

    pub fn ledger_len(&self) -> u64 {
        self.inner.ledger.len()
    }

    /// Ledger entries with sequence numbers `from..=to`, in their published form.
    pub fn ledger_range(&self, from: u64, to: u64) -> Vec<LedgerEntry> {
        let mut merchant_cache: Option<(MerchantId, Arc<str>)> = None;
        // A payment's reference never changes once it has ledger entries, so the
        // ledger reads it from the payment instead of keeping a copy per entry.
        let mut reference_cache: Option<(PaymentId, Option<SharedStr>)> = None;
        self.inner
            .ledger
            .range(from, to)
            .into_iter()
            .map(|(seq, m)| {
                let merchant = match &merchant_cache {
                    Some((id, key)) if *id == m.merchant => key.clone(),
                    _ => {
                        let key = self.inner.merchants.api_key(m.merchant);
                        merchant_cache = Some((m.merchant, key.clone()));
                        key
                    }
                };
                let reference = match &reference_cache {
                    Some((id, reference)) if *id == m.payment => reference.clone(),
                    _ => {
                        let reference = self
                            .shard(m.payment)
                            .lock()
                            .get(&m.payment)
                            .and_then(|p| p.reference.clone());
                        reference_cache = Some((m.payment, reference.clone()));
                        reference
                    }
                };
                LedgerEntry {
                    seq,
                    time_ms: m.time_ms,
                    merchant: merchant.to_string(),
                    payment_id: m.payment.to_string(),
                    reference: reference.as_deref().map(str::to_string),
                    reason: m.reason(),
                    idempotency_key: m.idempotency_key.as_deref().map(str::to_string),
                    kind: m.kind(),
                    amount: m.amount,
                    currency: m.currency.to_string(),
                    decline_code: m.decline_code.as_deref().map(str::to_string),
                }
            })
            .collect()
    }

    /// The whole ledger (tests and in-process checks; HTTP streams it in ranges).
    pub fn ledger_entries(&self) -> Vec<LedgerEntry> {
        self.ledger_range(1, self.ledger_len())
    }

    pub fn stats(&self) -> LedgerStats {
        self.inner
            .counters
            .stats(self.ledger_len(), &self.inner.idempotency)
    }

    /// Moves simulator time forward; idempotency keys older than their TTL go.
    pub fn advance_clock(&self, by: Duration) {
        let section = self.section();
        self.inner.clock.advance(by);
        section.note(Record::Clock {
            advanced_ms: self.inner.clock.advanced_ms(),
        });
        drop(section);
        self.inner.idempotency.sweep(self.inner.clock.now_ms());
    }

    /// Forgets every payment, key and ledger entry; schedules start again from zero.
    /// Merchant ids are kept, so requests racing the reset stay consistent.
    pub fn reset(&self) {
        let section = self.section();
        self.reset_state();
        section.restart_sequences();
        section.note(Record::Reset);
        section.note(Record::Salt {
            salt: self.event_salt(),
        });
    }

    /// Empties every store (a reset, or a journal's `Reset` record on replay).
    pub(super) fn reset_state(&self) {
        for shard in self.inner.payments.iter() {
            shard.lock().clear();
        }
        for shard in self.inner.references.iter() {
            shard.lock().clear();
        }
        for shard in self.inner.refund_index.iter() {
            shard.lock().clear();
        }
        self.inner.by_merchant.lock().clear();
        self.inner.idempotency.clear();
        self.inner.ledger.clear();
        self.inner.events.clear();
        self.inner.webhook_endpoints.clear();
        self.inner.counters.clear();
        self.inner.expiries.clear();
        self.inner.checkout.clear();
        self.inner.dispute_openings.clear();
        self.inner.dispute_decisions.clear();
        self.inner.challenge_timeouts.clear();
        self.inner.disputes_by_merchant.lock().clear();
        self.inner.settlement.clear();
        // The payout events went with the change log: none has been told.
        *self.inner.settlement.announced_until_ms.lock() = 0;
        self.clear_retention();
        self.inner.clock.restart_epoch();
    }
}

/// What an authorization attempt (a create, or a confirmation) came to.
fn outcome_of_authorization(p: &Payment) -> ChangeKind {
    match p.status {
        PaymentStatus::Succeeded => ChangeKind::Succeeded,
        PaymentStatus::RequiresCapture => ChangeKind::Authorized,
        PaymentStatus::RequiresAction => ChangeKind::RequiresAction,
        _ => ChangeKind::Failed,
    }
}

/// Refund ids are random, so their low bits spread them evenly over the shards.
pub(super) fn refund_shard(id: RefundId) -> usize {
    (id.0 as usize) & (SHARDS - 1)
}

/// The payment method a confirmation uses: the one given, else the one attached to
/// a payment waiting for confirmation. A declined payment needs a new one: the
/// declined method is not tried again behind the caller's back.
fn method_for_confirmation(p: &Payment, given: Option<PaymentMethod>) -> Option<PaymentMethod> {
    match given {
        Some(method) if !method.is_none() => Some(method),
        _ => (p.status == PaymentStatus::RequiresConfirmation && !p.payment_method.is_none())
            .then(|| p.payment_method.clone()),
    }
}

/// Applies `patch` to a metadata object kept as JSON text; `None` when it ends empty.
pub(super) fn patch_metadata(current: Option<&str>, patch: &MetadataPatch) -> Option<String> {
    let mut map: serde_json::Map<String, serde_json::Value> = match current {
        Some(text) if !patch.clear => serde_json::from_str(text).unwrap_or_default(),
        _ => serde_json::Map::new(),
    };
    for (key, value) in &patch.set {
        match value {
            Some(value) => {
                map.insert(key.clone(), serde_json::Value::String(value.clone()));
            }
            None => {
                map.remove(key);
            }
        }
    }
    (!map.is_empty()).then(|| serde_json::Value::Object(map).to_string())
}

fn check_amount(amount: i64, available: i64) -> Result<(), EngineError> {
    if amount <= 0 {
        return Err(EngineError::InvalidAmount);
    }
    if amount > available {
        return Err(EngineError::AmountTooLarge {
            requested: amount,
            available,
        });
    }
    Ok(())
}
