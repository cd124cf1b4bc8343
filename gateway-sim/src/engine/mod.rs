//! The payments domain and nothing else: payments and their state machine,
//! refunds, idempotency keys, the ledger and the simulator clock.
//!
//! Synchronous on purpose: no sleeping, no I/O, no HTTP types. Every operation
//! takes the one lock that guards its payment, checks the rule, moves the money
//! and appends the ledger entries before letting go, so no interleaving of
//! requests can capture twice or refund more than was captured.
//!
//! Decisions that come from the fault model (is this attempt declined?) arrive
//! as arguments: the engine records what happened, it does not roll dice.

pub mod idempotency;
pub mod ids;
pub mod ledger;
pub mod money;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use self::idempotency::{Claim, IdempotencyStore, KeyState};
use self::ids::{MerchantId, Merchants, PaymentId, RefundId};
use self::ledger::{EntryKind, Ledger, LedgerEntry, Movement};
use self::money::{Currency, MAX_AMOUNT};

const SHARDS: usize = 64;

/// One shard of the reference index: merchant → order reference → its payments.
type ReferenceShard = HashMap<MerchantId, HashMap<Arc<str>, Vec<PaymentId>>>;

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentStatus {
    /// Authorized, waiting for a capture or a cancel.
    RequiresCapture,
    /// Captured (possibly partly refunded since).
    Succeeded,
    /// Authorization released without capture.
    Canceled,
    /// Declined at authorization; no money moved.
    Failed,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 4] = [
        PaymentStatus::RequiresCapture,
        PaymentStatus::Succeeded,
        PaymentStatus::Canceled,
        PaymentStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::RequiresCapture => "requires_capture",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Failed => "failed",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How the customer pays: a payment-method token, or raw card details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentMethod {
    Token(Arc<str>),
    Card {
        last4: [u8; 4],
        exp_month: u8,
        exp_year: u16,
    },
}

/// One refund of (part of) a captured payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    pub id: RefundId,
    pub payment: PaymentId,
    pub amount: i64,
    /// Unix seconds, simulator time.
    pub created: u64,
}

/// A payment as the engine keeps it. Amounts are minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub id: PaymentId,
    pub merchant: MerchantId,
    pub status: PaymentStatus,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub currency: Currency,
    pub reference: Option<Arc<str>>,
    /// Unix seconds, simulator time.
    pub created: u64,
    pub payment_method: PaymentMethod,
    pub decline_code: Option<Arc<str>>,
    /// The merchant's metadata object, kept as the compact JSON text it arrived as.
    pub metadata: Option<Arc<str>>,
    pub refunds: Vec<Refund>,
}

/// A validated request to create a payment.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub amount: i64,
    pub currency: Currency,
    pub payment_method: PaymentMethod,
    /// `true`: authorize and capture at once (a charge); `false`: authorize only.
    pub capture: bool,
    pub reference: Option<String>,
    pub metadata: Option<String>,
}

/// Why the engine refused an operation. Nothing changed when it did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("no such payment: {0}")]
    NoSuchPayment(String),
    #[error("{0}")]
    InvalidState(String),
    #[error("amount must be a positive integer in minor units, at most {MAX_AMOUNT}")]
    InvalidAmount,
    #[error("amount {requested} is larger than the {available} available")]
    AmountTooLarge { requested: i64, available: i64 },
}

/// Counts and totals for `/_sim/stats` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LedgerStats {
    pub payments: u64,
    pub requires_capture: u64,
    pub succeeded: u64,
    pub canceled: u64,
    pub failed: u64,
    pub authorized_amount: i64,
    pub captured_amount: i64,
    pub released_amount: i64,
    pub refunded_amount: i64,
    pub refunds: u64,
    pub ledger_entries: u64,
    pub idempotency_keys: u64,
    pub replays: u64,
    pub key_mismatches: u64,
    pub key_in_use_conflicts: u64,
}

#[derive(Default)]
struct Counters {
    by_status: [AtomicI64; 4],
    authorized: AtomicI64,
    captured: AtomicI64,
    released: AtomicI64,
    refunded: AtomicI64,
    refunds: AtomicU64,
}

impl Counters {
    fn moved(&self, kind: EntryKind, amount: i64) {
        let counter = match kind {
            EntryKind::Authorization => &self.authorized,
            EntryKind::Capture => &self.captured,
            EntryKind::Release => &self.released,
            EntryKind::Refund => {
                self.refunds.fetch_add(1, Ordering::Relaxed);
                &self.refunded
            }
            EntryKind::Decline => return,
        };
        counter.fetch_add(amount, Ordering::Relaxed);
    }

    fn transition(&self, from: Option<PaymentStatus>, to: PaymentStatus) {
        if let Some(from) = from {
            self.by_status[from.index()].fetch_sub(1, Ordering::Relaxed);
        }
        self.by_status[to.index()].fetch_add(1, Ordering::Relaxed);
    }

    fn clear(&self) {
        for c in &self.by_status {
            c.store(0, Ordering::Relaxed);
        }
        for c in [
            &self.authorized,
            &self.captured,
            &self.released,
            &self.refunded,
        ] {
            c.store(0, Ordering::Relaxed);
        }
        self.refunds.store(0, Ordering::Relaxed);
    }
}

/// Simulator time: wall-clock time plus whatever `advance` added. Key expiry and
/// scheduled behaviour windows read it, so a test can jump a day ahead in a millisecond.
pub struct SimClock {
    origin: Instant,
    origin_unix_ms: u64,
    advanced_ms: AtomicU64,
    /// Simulator time of the last start or reset: schedules count from here.
    epoch_ms: AtomicU64,
}

impl SimClock {
    fn new() -> Self {
        let origin_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self {
            origin: Instant::now(),
            origin_unix_ms,
            advanced_ms: AtomicU64::new(0),
            epoch_ms: AtomicU64::new(origin_unix_ms),
        }
    }

    /// Unix milliseconds, simulator time.
    pub fn now_ms(&self) -> u64 {
        self.origin_unix_ms
            + self.origin.elapsed().as_millis() as u64
            + self.advanced_ms.load(Ordering::Relaxed)
    }

    /// Time since the simulator started (or was reset), for scheduled behaviour.
    pub fn since_start(&self) -> Duration {
        Duration::from_millis(
            self.now_ms()
                .saturating_sub(self.epoch_ms.load(Ordering::Relaxed)),
        )
    }

    pub fn advance(&self, by: Duration) {
        self.advanced_ms
            .fetch_add(by.as_millis() as u64, Ordering::Relaxed);
    }

    fn restart_epoch(&self) {
        self.epoch_ms.store(self.now_ms(), Ordering::Relaxed);
    }
}

/// The engine: a cheap-to-clone handle on the simulator's whole state.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    payments: Box<[Mutex<HashMap<PaymentId, Payment>>]>,
    /// (merchant, reference) → payments, for `GET /v1/payments?reference=`.
    references: Box<[Mutex<ReferenceShard>]>,
    merchants: Merchants,
    idempotency: Arc<IdempotencyStore>,
    ledger: Ledger,
    clock: SimClock,
    counters: Counters,
}

impl Engine {
    /// An empty engine whose idempotency keys live `key_ttl` of simulator time.
    pub fn new(key_ttl: Duration) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                payments: (0..SHARDS).map(|_| Mutex::default()).collect(),
                references: (0..SHARDS).map(|_| Mutex::default()).collect(),
                merchants: Merchants::default(),
                idempotency: Arc::new(IdempotencyStore::new(key_ttl.as_millis() as u64)),
                ledger: Ledger::default(),
                clock: SimClock::new(),
                counters: Counters::default(),
            }),
        }
    }

    pub fn clock(&self) -> &SimClock {
        &self.inner.clock
    }

    /// The merchant account an API key names, created on first use.
    pub fn merchant(&self, api_key: &str) -> MerchantId {
        self.inner.merchants.intern(api_key)
    }

    pub fn merchant_api_key(&self, merchant: MerchantId) -> Arc<str> {
        self.inner.merchants.api_key(merchant)
    }

    // ---- idempotency -------------------------------------------------------------

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

    // ---- payments ----------------------------------------------------------------

    fn shard(&self, id: PaymentId) -> &Mutex<HashMap<PaymentId, Payment>> {
        &self.inner.payments[id.shard(SHARDS)]
    }

    fn reference_shard(&self, reference: &str) -> &Mutex<ReferenceShard> {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut h = DefaultHasher::new();
        reference.hash(&mut h);
        &self.inner.references[(h.finish() as usize) & (SHARDS - 1)]
    }

    fn record(&self, p: &Payment, kind: EntryKind, amount: i64, key: Option<&Arc<str>>) {
        self.inner.counters.moved(kind, amount);
        self.inner.ledger.append(Movement {
            time_ms: self.inner.clock.now_ms(),
            payment: p.id,
            amount,
            merchant: p.merchant,
            kind,
            currency: p.currency,
            reference: p.reference.clone(),
            idempotency_key: key.cloned(),
            decline_code: if kind == EntryKind::Decline {
                p.decline_code.clone()
            } else {
                None
            },
        });
    }

    /// Authorizes (and with `capture`, captures) a new payment, or records it as
    /// declined with `decline` (a decline code chosen by the fault model or the
    /// test card). Either way the payment is kept and returned; a declined one has
    /// status `Failed`.
    pub fn create_payment(
        &self,
        merchant: MerchantId,
        new: NewPayment,
        key: Option<&Arc<str>>,
        decline: Option<&str>,
    ) -> Result<Payment, EngineError> {
        if new.amount <= 0 || new.amount > MAX_AMOUNT {
            return Err(EngineError::InvalidAmount);
        }
        let id = PaymentId::random();
        let reference: Option<Arc<str>> = new.reference.map(Arc::from);
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
            created: self.inner.clock.now_ms() / 1000,
            payment_method: new.payment_method,
            decline_code: decline.map(Arc::from),
            metadata: new.metadata.map(Arc::from),
            refunds: Vec::new(),
        };
        {
            let mut shard = self.shard(id).lock();
            if payment.decline_code.is_some() {
                self.record(&payment, EntryKind::Decline, 0, key);
            } else {
                self.record(&payment, EntryKind::Authorization, payment.amount, key);
                if new.capture {
                    self.record(&payment, EntryKind::Capture, payment.amount, key);
                    payment.status = PaymentStatus::Succeeded;
                    payment.amount_captured = payment.amount;
                } else {
                    payment.status = PaymentStatus::RequiresCapture;
                    payment.amount_capturable = payment.amount;
                }
            }
            self.inner.counters.transition(None, payment.status);
            shard.insert(id, payment.clone());
        }
        if let Some(reference) = reference {
            let mut index = self.reference_shard(&reference).lock();
            index
                .entry(merchant)
                .or_default()
                .entry(reference)
                .or_default()
                .push(id);
        }
        Ok(payment)
    }

    /// Runs `change` on the merchant's payment under its shard lock. A payment of
    /// another merchant is reported missing, exactly like one that does not exist.
    fn with_payment<T>(
        &self,
        merchant: MerchantId,
        id: &str,
        change: impl FnOnce(&mut Payment) -> Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let missing = || EngineError::NoSuchPayment(id.to_string());
        let pid = PaymentId::parse(id).ok_or_else(missing)?;
        let mut shard = self.shard(pid).lock();
        let payment = shard
            .get_mut(&pid)
            .filter(|p| p.merchant == merchant)
            .ok_or_else(missing)?;
        change(payment)
    }

    pub fn payment(&self, merchant: MerchantId, id: &str) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| Ok(p.clone()))
    }

    /// Captures `amount` (default: all) of an authorization; the uncaptured rest is released.
    pub fn capture(
        &self,
        merchant: MerchantId,
        id: &str,
        amount: Option<i64>,
        key: Option<&Arc<str>>,
    ) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| {
            if p.status != PaymentStatus::RequiresCapture {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; only a requires_capture payment can be captured, once",
                    p.id,
                    p.status.as_str()
                )));
            }
            let amount = amount.unwrap_or(p.amount_capturable);
            check_amount(amount, p.amount_capturable)?;
            let rest = p.amount_capturable - amount;
            self.record(p, EntryKind::Capture, amount, key);
            if rest > 0 {
                self.record(p, EntryKind::Release, rest, key);
            }
            self.inner
                .counters
                .transition(Some(p.status), PaymentStatus::Succeeded);
            p.status = PaymentStatus::Succeeded;
            p.amount_captured = amount;
            p.amount_capturable = 0;
            Ok(p.clone())
        })
    }

    /// Releases an authorization without capturing it.
    pub fn cancel(
        &self,
        merchant: MerchantId,
        id: &str,
        key: Option<&Arc<str>>,
    ) -> Result<Payment, EngineError> {
        self.with_payment(merchant, id, |p| {
            if p.status != PaymentStatus::RequiresCapture {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; only a requires_capture payment can be canceled",
                    p.id,
                    p.status.as_str()
                )));
            }
            self.record(p, EntryKind::Release, p.amount_capturable, key);
            self.inner
                .counters
                .transition(Some(p.status), PaymentStatus::Canceled);
            p.status = PaymentStatus::Canceled;
            p.amount_capturable = 0;
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
        key: Option<&Arc<str>>,
    ) -> Result<(Refund, Payment), EngineError> {
        self.with_payment(merchant, id, |p| {
            if p.status != PaymentStatus::Succeeded {
                return Err(EngineError::InvalidState(format!(
                    "payment {} is {}; only a captured (succeeded) payment can be refunded",
                    p.id,
                    p.status.as_str()
                )));
            }
            let left = p.amount_captured - p.amount_refunded;
            if left == 0 {
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
                created: self.inner.clock.now_ms() / 1000,
            };
            self.record(p, EntryKind::Refund, amount, key);
            p.amount_refunded += amount;
            p.refunds.push(refund.clone());
            Ok((refund, p.clone()))
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

    // ---- ledger, stats, control ------------------------------------------------

    pub fn ledger_len(&self) -> u64 {
        self.inner.ledger.len()
    }

    /// Ledger entries with sequence numbers `from..=to`, in their published form.
    pub fn ledger_range(&self, from: u64, to: u64) -> Vec<LedgerEntry> {
        let mut merchant_cache: Option<(MerchantId, Arc<str>)> = None;
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
                LedgerEntry {
                    seq,
                    time_ms: m.time_ms,
                    merchant: merchant.to_string(),
                    payment_id: m.payment.to_string(),
                    reference: m.reference.as_deref().map(str::to_string),
                    idempotency_key: m.idempotency_key.as_deref().map(str::to_string),
                    kind: m.kind,
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
        let c = &self.inner.counters;
        let status =
            |s: PaymentStatus| c.by_status[s.index()].load(Ordering::Relaxed).max(0) as u64;
        let idem = &self.inner.idempotency.counters;
        LedgerStats {
            payments: PaymentStatus::ALL.iter().map(|s| status(*s)).sum(),
            requires_capture: status(PaymentStatus::RequiresCapture),
            succeeded: status(PaymentStatus::Succeeded),
            canceled: status(PaymentStatus::Canceled),
            failed: status(PaymentStatus::Failed),
            authorized_amount: c.authorized.load(Ordering::Relaxed),
            captured_amount: c.captured.load(Ordering::Relaxed),
            released_amount: c.released.load(Ordering::Relaxed),
            refunded_amount: c.refunded.load(Ordering::Relaxed),
            refunds: c.refunds.load(Ordering::Relaxed),
            ledger_entries: self.ledger_len(),
            idempotency_keys: self.inner.idempotency.len() as u64,
            replays: idem.replays.load(Ordering::Relaxed),
            key_mismatches: idem.mismatches.load(Ordering::Relaxed),
            key_in_use_conflicts: idem.in_use.load(Ordering::Relaxed),
        }
    }

    /// Moves simulator time forward; idempotency keys older than their TTL go.
    pub fn advance_clock(&self, by: Duration) {
        self.inner.clock.advance(by);
        self.inner.idempotency.sweep(self.inner.clock.now_ms());
    }

    /// Forgets every payment, key and ledger entry; schedules start again from zero.
    /// Merchant ids are kept, so requests racing the reset stay consistent.
    pub fn reset(&self) {
        for shard in self.inner.payments.iter() {
            shard.lock().clear();
        }
        for shard in self.inner.references.iter() {
            shard.lock().clear();
        }
        self.inner.idempotency.clear();
        self.inner.ledger.clear();
        self.inner.counters.clear();
        self.inner.clock.restart_epoch();
    }
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

#[cfg(test)]
mod tests;
