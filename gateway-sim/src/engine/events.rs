//! Events: the outbox beside the ledger. Every state change a merchant would be
//! told about is recorded here as a [`Change`], in the same atomic step (under the
//! same payment lock) as the change and its ledger entries, so an event exists
//! exactly when its change happened.
//!
//! A change is dialect-neutral ("the payment was captured"); each dialect names
//! the events it makes of it (Stripe: `charge.captured` and
//! `payment_intent.succeeded`; native: `payment.succeeded`) in its own table, and
//! an event's id says which change and which of those names it is ([`EventId`]).
//! One record per change, however many events the dialects make of it.
//!
//! A record is small on purpose (a stored payment makes one or two): it keeps
//! what a change changes (status, amounts, the decline, how many refunds), not a
//! copy of the payment. What an event shows is that, laid over the payment as it
//! is now ([`Change::payment_then`]), whose other fields only change before the
//! first authorization. The log keeps its records in chunks, as the ledger does, in a
//! smaller form ([`StoredChange`]), and hands out copies (`Arc<Change>`) to whoever
//! reads one; whether an event is
//! delivered yet is not in the record but beside the log ([`Deliveries`]), where every
//! copy of the change reads and marks it.
//!
//! A payout's changes (created, paid, failed) are recorded here too, though a payout is
//! no payment: settlement is derived from the ledger and the clock, so its changes are
//! raised when simulator time passes them (`engine/payout_events.rs`), and the change
//! keeps the payout as it was ([`Change::payout`]), since the books may be rebuilt since.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

use super::checkout_session::CheckoutSession;
use super::decline_code::StoredDeclineCode;
use super::dispute::Dispute;
use super::ids::{MerchantId, PaymentId};
use super::payment::{ConfirmedAt, Payment, PaymentStatus, Refund};
use super::settlement::Payout;
use super::shard::Map;
use super::shared_str::SharedStr;

/// What happened to a payment, in the domain's words. The dialects' event tables
/// are keyed by this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ChangeKind {
    /// A payment created without being authorized (a PaymentIntent not confirmed yet).
    Created,
    /// Authorized, waiting for a capture (manual capture).
    Authorized,
    /// Authorized and captured in one step (automatic capture).
    Succeeded,
    /// An authorization captured, in full or in part.
    Captured,
    /// An authorization attempt declined.
    Failed,
    /// Canceled: an authorization released, or a payment abandoned.
    Canceled,
    /// Captured money given back (the refund is [`Change::refund`]).
    Refunded,
    /// Confirmed with a card that asks for authentication (3-D Secure): waiting for the buyer.
    RequiresAction,
    /// An authorization not captured in time, released by the gateway itself.
    Expired,
    /// A checkout session paid (its payment is [`Change::payment`], the session [`Change::checkout`]).
    CheckoutCompleted,
    /// A checkout session expired unpaid, by time or by the merchant.
    CheckoutExpired,
    /// A dispute opened on the captured payment (the dispute is [`Snapshot::dispute`]).
    DisputeCreated,
    /// The merchant answered the dispute (evidence kept or submitted).
    DisputeUpdated,
    /// The dispute was decided (won, lost) or accepted by the merchant.
    DisputeClosed,
    /// A won dispute gave the merchant the disputed funds back.
    DisputeFundsReinstated,
    /// A scheduled run sent an account's available balance to the bank (the payout is
    /// [`Change::payout`]; the change names no payment).
    PayoutCreated,
    /// A payout arrived at the bank.
    PayoutPaid,
    /// The bank returned a payout; its money is back in the balance.
    PayoutFailed,
}

impl ChangeKind {
    /// Every kind, for tables that list what each dialect says of them.
    pub const ALL: [ChangeKind; 18] = [
        ChangeKind::Created,
        ChangeKind::Authorized,
        ChangeKind::Succeeded,
        ChangeKind::Captured,
        ChangeKind::Failed,
        ChangeKind::Canceled,
        ChangeKind::Refunded,
        ChangeKind::RequiresAction,
        ChangeKind::Expired,
        ChangeKind::CheckoutCompleted,
        ChangeKind::CheckoutExpired,
        ChangeKind::DisputeCreated,
        ChangeKind::DisputeUpdated,
        ChangeKind::DisputeClosed,
        ChangeKind::DisputeFundsReinstated,
        ChangeKind::PayoutCreated,
        ChangeKind::PayoutPaid,
        ChangeKind::PayoutFailed,
    ];

    /// The change's name where no dialect's event names fit (the operator's view of a
    /// payment's history tells changes, and lists each dialect's events under them).
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Authorized => "authorized",
            ChangeKind::Succeeded => "succeeded",
            ChangeKind::Captured => "captured",
            ChangeKind::Failed => "failed",
            ChangeKind::Canceled => "canceled",
            ChangeKind::Refunded => "refunded",
            ChangeKind::RequiresAction => "requires_action",
            ChangeKind::Expired => "expired",
            ChangeKind::CheckoutCompleted => "checkout_completed",
            ChangeKind::CheckoutExpired => "checkout_expired",
            ChangeKind::DisputeCreated => "dispute_created",
            ChangeKind::DisputeUpdated => "dispute_updated",
            ChangeKind::DisputeClosed => "dispute_closed",
            ChangeKind::DisputeFundsReinstated => "dispute_funds_reinstated",
            ChangeKind::PayoutCreated => "payout_created",
            ChangeKind::PayoutPaid => "payout_paid",
            ChangeKind::PayoutFailed => "payout_failed",
        }
    }
}

/// The API request that caused a change (`request` in an event).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RequestRef {
    /// The request's number: its id is [`RequestRef::id`] (kept as a number, so a
    /// change costs no string of its own).
    pub number: u64,
    pub idempotency_key: Option<SharedStr>,
}

impl RequestRef {
    /// The printed form of request number `n`: `req_` and twelve digits, the id
    /// the `Request-Id` header and the logs carry.
    pub fn id_of(n: u64) -> String {
        format!("req_{n:012}")
    }

    /// The number of a printed request id; `None` for anything else.
    pub fn number_of(id: &str) -> Option<u64> {
        id.strip_prefix("req_")?.parse().ok()
    }

    pub fn id(&self) -> String {
        RequestRef::id_of(self.number)
    }
}

/// Which dialect an event is named and rendered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum EventDialect {
    Stripe,
    Native,
}

impl EventDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            EventDialect::Stripe => "stripe",
            EventDialect::Native => "native",
        }
    }

    /// Bit offset of this dialect's events in [`Change`]'s delivery bits.
    fn bit_base(self) -> u32 {
        match self {
            EventDialect::Stripe => 0,
            EventDialect::Native => 32,
        }
    }
}

/// What a change changed: the payment's state right after it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub status: PaymentStatus,
    /// How many refunds the payment had (the last one is a refund change's own).
    pub refunds: u16,
    pub amount: i64,
    pub amount_capturable: i64,
    pub amount_captured: i64,
    pub amount_refunded: i64,
    pub decline_code: Option<StoredDeclineCode>,
    /// The payment's dispute right after the change (few payments have one).
    pub dispute: Option<Box<Dispute>>,
}

impl Snapshot {
    fn of(p: &Payment) -> Snapshot {
        Snapshot {
            status: p.status,
            refunds: p.rare.refunds.len().min(u16::MAX as usize) as u16,
            amount: p.amount,
            amount_capturable: p.amount_capturable,
            amount_captured: p.amount_captured,
            amount_refunded: p.amount_refunded,
            decline_code: p.decline_code,
            dispute: p.rare.dispute.clone(),
        }
    }

    /// The state of a change that names no payment (an unpaid checkout session's, a
    /// payout's): nothing authorized, nothing moved.
    fn no_payment(amount: i64) -> Snapshot {
        Snapshot {
            status: PaymentStatus::RequiresPaymentMethod,
            refunds: 0,
            amount,
            amount_capturable: 0,
            amount_captured: 0,
            amount_refunded: 0,
            decline_code: None,
            dispute: None,
        }
    }

    /// A payment created and authorized in one step, as it was when created.
    fn before_authorization(&self) -> Snapshot {
        Snapshot {
            status: PaymentStatus::RequiresConfirmation,
            amount_capturable: 0,
            amount_captured: 0,
            decline_code: None,
            dispute: None,
            ..self.clone()
        }
    }
}

/// One recorded state change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Change {
    /// 1-based, gap-free, in the order the changes happened.
    pub seq: u64,
    pub kind: ChangeKind,
    /// The change also created the payment: a create that authorized at once.
    /// Dialects tell of the creation first (Stripe's `payment_intent.created`).
    pub created: bool,
    pub merchant: MerchantId,
    pub payment: PaymentId,
    /// The payment's order reference (shared with the payment, not copied).
    pub reference: Option<SharedStr>,
    /// Simulator time of the change, Unix milliseconds.
    pub time_ms: u64,
    /// The payment's state right after the change.
    pub state: Snapshot,
    /// The request that caused it; `None` for changes the gateway made by itself.
    pub request: Option<RequestRef>,
    /// The checkout session as it was at a checkout change; `None` for payments'.
    pub checkout: Option<Arc<CheckoutSession>>,
    /// The payout as it was at a payout change; `None` for the others. A journal written
    /// before payouts had events has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<Box<Payout>>,
    /// Where this change's delivery bits are kept: set on the copies the log hands
    /// out, `None` on the records it stores and on journal copies.
    #[serde(skip)]
    deliveries: Option<Arc<Deliveries>>,
}

impl Change {
    /// The payment as it was at this change (at its creation, with `creation`, for
    /// a change that also created it): `now` (the payment as it is) with this
    /// change's state laid over it.
    pub fn payment_then(&self, now: &Payment, creation: bool) -> Payment {
        let state = if creation {
            self.state.before_authorization()
        } else {
            self.state.clone()
        };
        let mut then = Payment {
            status: state.status,
            amount: state.amount,
            amount_capturable: state.amount_capturable,
            amount_captured: state.amount_captured,
            amount_refunded: state.amount_refunded,
            decline_code: state.decline_code,
            confirmed_at: if creation {
                ConfirmedAt::NEVER
            } else {
                now.confirmed_at
            },
            ..now.clone()
        };
        // The refunds and the dispute as they were then; a cancellation only once it
        // happened. (A payment that never set one of these allocates nothing here.)
        if let Some(rare) = then.rare.get_mut() {
            rare.refunds.truncate(usize::from(state.refunds));
            rare.dispute = state.dispute;
            if state.status != PaymentStatus::Canceled {
                rare.canceled_at = None;
                rare.cancellation_reason = None;
            }
        } else if state.dispute.is_some() {
            then.rare.edit().dispute = state.dispute;
        }
        then
    }

    /// The refund a [`ChangeKind::Refunded`] change made, from the payment as it is now.
    pub fn refund_then(&self, now: &Payment) -> Option<Refund> {
        if self.kind != ChangeKind::Refunded {
            return None;
        }
        let index = usize::from(self.state.refunds).checked_sub(1)?;
        now.rare.refunds.get(index).cloned()
    }

    /// Whether every delivery of the `index`th `dialect` event of this change has
    /// succeeded (true when it had no deliveries at all).
    pub fn delivered(&self, dialect: EventDialect, index: u8) -> bool {
        self.undelivered() & bit(dialect, index) == 0
    }

    /// Whether no event of this change has a delivery outstanding.
    pub fn all_delivered(&self) -> bool {
        self.undelivered() == 0
    }

    /// Marks the event as having deliveries outstanding (`false`) or all done (`true`).
    pub fn set_delivered(&self, dialect: EventDialect, index: u8, delivered: bool) {
        if let Some(deliveries) = &self.deliveries {
            deliveries.set(self.seq, bit(dialect, index), delivered);
        }
    }

    fn undelivered(&self) -> u64 {
        self.deliveries
            .as_ref()
            .map_or(0, |deliveries| deliveries.undelivered(self.seq))
    }
}

/// The delivery bits of the changes that have a delivery outstanding, by sequence
/// number: one bit per event made of a change (see [`EventDialect::bit_base`]), set
/// while some delivery of that event has not succeeded yet. Kept beside the log
/// rather than in each record, so that a stored change is a plain record in a chunk
/// (no allocation of its own), and a change retention let go of can still be told
/// delivered. Empty while every receiver keeps up, and with no endpoints at all.
#[derive(Debug, Default)]
pub struct Deliveries {
    undelivered: Mutex<Map<u64, u64>>,
}

impl Deliveries {
    fn undelivered(&self, seq: u64) -> u64 {
        self.undelivered.lock().get(&seq).copied().unwrap_or(0)
    }

    fn set(&self, seq: u64, bit: u64, delivered: bool) {
        let mut undelivered = self.undelivered.lock();
        if delivered {
            if let Some(bits) = undelivered.get_mut(&seq) {
                *bits &= !bit;
                if *bits == 0 {
                    undelivered.remove(&seq);
                }
            }
        } else {
            *undelivered.entry(seq).or_default() |= bit;
        }
    }
}

impl Change {
    /// A copy for the journal; deliveries are not journaled, so neither is where
    /// their bits are.
    pub(super) fn journal_copy(&self) -> Change {
        Change {
            deliveries: None,
            ..self.clone()
        }
    }
}

fn bit(dialect: EventDialect, index: u8) -> u64 {
    1u64 << (dialect.bit_base() + u32::from(index.min(31)))
}

/// What caused the operations of one request, and the changes they raised.
/// Passed to every engine operation that changes state; the server takes the
/// raised changes afterwards and hands them to webhook delivery.
#[derive(Debug, Default)]
pub struct Cause {
    request: Option<RequestRef>,
    raised: Mutex<Vec<Arc<Change>>>,
}

impl Cause {
    /// No request: a change the gateway made by itself, or a test's direct call.
    pub fn none() -> Cause {
        Cause::default()
    }

    /// The API request `id`, which carried `idempotency_key` if any.
    /// The API request number `number` (see [`RequestRef::id_of`]).
    pub fn request(number: u64, idempotency_key: Option<SharedStr>) -> Cause {
        Cause {
            request: Some(RequestRef {
                number,
                idempotency_key,
            }),
            raised: Mutex::default(),
        }
    }

    /// A request known only by its idempotency key (engine tests).
    pub fn with_key(key: &SharedStr) -> Cause {
        Cause::request(0, Some(key.clone()))
    }

    pub fn idempotency_key(&self) -> Option<&SharedStr> {
        self.request.as_ref()?.idempotency_key.as_ref()
    }

    pub fn request_ref(&self) -> Option<&RequestRef> {
        self.request.as_ref()
    }

    /// The changes raised so far, handed over once.
    pub fn take_raised(&self) -> Vec<Arc<Change>> {
        std::mem::take(&mut *self.raised.lock())
    }

    fn raise(&self, change: Arc<Change>) {
        self.raised.lock().push(change);
    }
}

/// An event's id: which change, and which of the events its dialect makes of it.
/// Printed as `evt_` + the log's salt, the change's sequence number and the event
/// slot, so ids differ across restarts and resets and decode without a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventId {
    pub salt: u32,
    pub seq: u64,
    pub dialect: EventDialect,
    pub index: u8,
}

impl EventId {
    pub const PREFIX: &'static str = "evt_";

    pub fn parse(s: &str) -> Option<EventId> {
        let hex = s.strip_prefix(Self::PREFIX)?;
        if hex.len() != 8 + 12 + 2 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let salt = u32::from_str_radix(&hex[..8], 16).ok()?;
        let seq = u64::from_str_radix(&hex[8..20], 16).ok()?;
        let slot = u8::from_str_radix(&hex[20..], 16).ok()?;
        let dialect = if slot & 0x80 == 0 {
            EventDialect::Stripe
        } else {
            EventDialect::Native
        };
        Some(EventId {
            salt,
            seq,
            dialect,
            index: slot & 0x7f,
        })
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = match self.dialect {
            EventDialect::Stripe => self.index,
            EventDialect::Native => self.index | 0x80,
        };
        write!(
            f,
            "{}{:08x}{:012x}{:02x}",
            Self::PREFIX,
            self.salt,
            self.seq,
            slot
        )
    }
}

/// A change as the log keeps it: a [`Change`] without what the record's place in
/// the log already says (its number) or what lives beside the log (its delivery
/// bits), and with the checkout session or payout that few changes carry behind
/// one pointer: 120 bytes where a `Change` takes 144.
pub(super) struct StoredChange {
    kind: ChangeKind,
    created: bool,
    merchant: MerchantId,
    payment: PaymentId,
    reference: Option<SharedStr>,
    time_ms: u64,
    state: Snapshot,
    request: Option<RequestRef>,
    subject: Option<Box<Subject>>,
}

/// What a change that is not about a payment alone is about (`None` for a
/// payment's changes, nearly all of them).
struct Subject {
    checkout: Option<Arc<CheckoutSession>>,
    payout: Option<Box<Payout>>,
}

impl StoredChange {
    fn of(change: &Change) -> StoredChange {
        let subject = (change.checkout.is_some() || change.payout.is_some()).then(|| {
            Box::new(Subject {
                checkout: change.checkout.clone(),
                payout: change.payout.clone(),
            })
        });
        StoredChange {
            kind: change.kind,
            created: change.created,
            merchant: change.merchant,
            payment: change.payment,
            reference: change.reference.clone(),
            time_ms: change.time_ms,
            state: change.state.clone(),
            request: change.request.clone(),
            subject,
        }
    }

    /// The copy the log hands out of change number `seq`: the stored record, with
    /// the delivery bits' home.
    fn handed_out(&self, seq: u64, deliveries: &Arc<Deliveries>) -> Arc<Change> {
        let subject = self.subject.as_deref();
        Arc::new(Change {
            seq,
            kind: self.kind,
            created: self.created,
            merchant: self.merchant,
            payment: self.payment,
            reference: self.reference.clone(),
            time_ms: self.time_ms,
            state: self.state.clone(),
            request: self.request.clone(),
            checkout: subject.and_then(|s| s.checkout.clone()),
            payout: subject.and_then(|s| s.payout.clone()),
            deliveries: Some(deliveries.clone()),
        })
    }
}

/// Changes live in fixed-size chunks of plain records, as the ledger's entries do:
/// appending never copies the log, and a change costs its record alone, with no
/// allocation (and allocator header and rounding) of its own.
const CHUNK: usize = 4096;

/// The change log: every change in order, and each merchant's changes.
pub(super) struct EventLog {
    inner: Mutex<LogInner>,
}

struct LogInner {
    /// Random per start and per reset, so event ids never repeat across them.
    salt: u32,
    /// The changes still held, in chunks; `chunks[0][0]` is change number `base`.
    chunks: VecDeque<Vec<StoredChange>>,
    base: u64,
    /// The first sequence number still held: 1 unless retention let the head go
    /// (`retention.rs`); numbers never change.
    first: u64,
    /// The sequence number the next change takes.
    next: u64,
    by_merchant: Map<MerchantId, Vec<u64>>,
    /// The delivery bits of this log's changes (a new home on reset, so deliveries
    /// of the changes before it cannot mark the ones after).
    deliveries: Arc<Deliveries>,
}

impl LogInner {
    fn empty(salt: u32) -> LogInner {
        LogInner {
            salt,
            chunks: VecDeque::new(),
            base: 1,
            first: 1,
            next: 1,
            by_merchant: Map::default(),
            deliveries: Arc::default(),
        }
    }

    fn get(&self, seq: u64) -> Option<&StoredChange> {
        if seq < self.first || seq >= self.next {
            return None;
        }
        let index = (seq - self.base) as usize;
        self.chunks.get(index / CHUNK)?.get(index % CHUNK)
    }

    /// Stores `change` (numbered `self.next`) and returns its copy to hand out.
    fn push(&mut self, change: Change) -> Arc<Change> {
        debug_assert_eq!(change.seq, self.next);
        if self.chunks.back().is_none_or(|c| c.len() == CHUNK) {
            self.chunks.push_back(Vec::with_capacity(CHUNK));
        }
        self.by_merchant
            .entry(change.merchant)
            .or_default()
            .push(change.seq);
        if let Some(chunk) = self.chunks.back_mut() {
            chunk.push(StoredChange::of(&change));
        }
        self.next += 1;
        Arc::new(Change {
            deliveries: Some(self.deliveries.clone()),
            ..change
        })
    }
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog {
            inner: Mutex::new(LogInner::empty(rand::random())),
        }
    }
}

impl EventLog {
    /// Records a change and tells its cause about it. Called under the lock of the
    /// payment it changes, so the log's order is the payments' order.
    pub(super) fn record(
        &self,
        kind: ChangeKind,
        created: bool,
        time_ms: u64,
        payment: &Payment,
        cause: &Cause,
    ) {
        let mut inner = self.inner.lock();
        let change = Change {
            seq: inner.next,
            kind,
            created,
            merchant: payment.merchant,
            payment: payment.id,
            reference: payment.reference.clone(),
            time_ms,
            state: Snapshot::of(payment),
            request: cause.request.clone(),
            checkout: None,
            payout: None,
            deliveries: None,
        };
        let handed = inner.push(change);
        drop(inner);
        cause.raise(handed);
    }

    /// Records a checkout session's change, under the checkout store's lock. A
    /// session that was paid names its payment (and shows its state); one that
    /// expired unpaid names none (the nil id, `pay_000...`).
    pub(super) fn record_checkout(
        &self,
        kind: ChangeKind,
        time_ms: u64,
        session: Arc<CheckoutSession>,
        payment: Option<&Payment>,
        cause: &Cause,
    ) {
        let state = payment.map_or(Snapshot::no_payment(session.amount_total), Snapshot::of);
        let mut inner = self.inner.lock();
        let change = Change {
            seq: inner.next,
            kind,
            created: false,
            merchant: session.merchant,
            payment: payment.map_or(PaymentId(0), |p| p.id),
            reference: session.client_reference_id.as_deref().map(SharedStr::from),
            time_ms,
            state,
            request: cause.request.clone(),
            checkout: Some(session),
            payout: None,
            deliveries: None,
        };
        let handed = inner.push(change);
        drop(inner);
        cause.raise(handed);
    }

    /// Records a payout's change at `time_ms`, the simulator time it happened (not when
    /// it was noticed), with the payout as it was then. It names no payment (the nil id).
    pub(super) fn record_payout(
        &self,
        kind: ChangeKind,
        time_ms: u64,
        payout: Payout,
        cause: &Cause,
    ) {
        let mut inner = self.inner.lock();
        let change = Change {
            seq: inner.next,
            kind,
            created: false,
            merchant: payout.merchant,
            payment: PaymentId(0),
            reference: None,
            time_ms,
            state: Snapshot::no_payment(payout.amount),
            request: cause.request.clone(),
            checkout: None,
            payout: Some(Box::new(payout)),
            deliveries: None,
        };
        let handed = inner.push(change);
        drop(inner);
        cause.raise(handed);
    }

    pub(super) fn salt(&self) -> u32 {
        self.inner.lock().salt
    }

    /// Replay: the salt of the journaled run's event ids.
    pub(super) fn restore_salt(&self, salt: u32) {
        self.inner.lock().salt = salt;
    }

    /// Replay: appends a journaled change if it is the next one; `false` otherwise (a
    /// duplicate, or a gap the journal cannot have).
    pub(super) fn restore(&self, change: Change) -> bool {
        let mut inner = self.inner.lock();
        if change.seq != inner.next {
            return false;
        }
        inner.push(change);
        true
    }

    pub(super) fn len(&self) -> u64 {
        self.inner.lock().next - 1
    }

    /// The change numbered `seq`; `None` past the end or once retention let it go.
    pub(super) fn get(&self, seq: u64) -> Option<Arc<Change>> {
        let inner = self.inner.lock();
        inner.get(seq).map(|c| c.handed_out(seq, &inner.deliveries))
    }

    /// The first sequence number still in memory.
    pub(super) fn first_held(&self) -> u64 {
        self.inner.lock().first
    }

    /// Retention: lets go of the head changes no later than `horizon_ms`; stops at the
    /// first later one. Returns those that went with a delivery still outstanding
    /// (their payments must stay until it is done).
    pub(super) fn let_go_until(&self, horizon_ms: u64) -> Vec<Arc<Change>> {
        let mut inner = self.inner.lock();
        let mut undelivered = Vec::new();
        let start = inner.first;
        while let Some(change) = inner.get(inner.first).filter(|c| c.time_ms <= horizon_ms) {
            let seq = inner.first;
            if inner.deliveries.undelivered(seq) != 0 {
                undelivered.push(change.handed_out(seq, &inner.deliveries));
            }
            inner.first += 1;
        }
        // Whole chunks behind the first held go back to the allocator.
        while inner.first - inner.base >= CHUNK as u64 && inner.chunks.pop_front().is_some() {
            inner.base += CHUNK as u64;
        }
        if inner.first > start {
            let first = inner.first;
            for seqs in inner.by_merchant.values_mut() {
                let at = seqs.partition_point(|s| *s < first);
                seqs.drain(..at);
            }
        }
        undelivered
    }

    /// The merchant's changes older than `before` (a sequence number; all when
    /// `None`), newest first, while `visit` asks for more.
    pub(super) fn newest_first(
        &self,
        merchant: MerchantId,
        before: Option<u64>,
        mut visit: impl FnMut(&Arc<Change>) -> bool,
    ) {
        // The log's lock is the one every state change takes: a listing holds it
        // only to copy a chunk out, so a filter that scans a long history never
        // stalls the payments being made meanwhile.
        const PAGE: usize = 256;
        let mut before = before;
        loop {
            let page: Vec<Arc<Change>> = {
                let inner = self.inner.lock();
                let Some(seqs) = inner.by_merchant.get(&merchant) else {
                    return;
                };
                let end = match before {
                    Some(before) => seqs.partition_point(|s| *s < before),
                    None => seqs.len(),
                };
                seqs[end.saturating_sub(PAGE)..end]
                    .iter()
                    .rev()
                    .filter_map(|seq| Some(inner.get(*seq)?.handed_out(*seq, &inner.deliveries)))
                    .collect()
            };
            let Some(oldest) = page.last().map(|c| c.seq) else {
                return;
            };
            for change in &page {
                if !visit(change) {
                    return;
                }
            }
            before = Some(oldest);
        }
    }

    pub(super) fn clear(&self) {
        *self.inner.lock() = LogInner::empty(rand::random());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_print_and_parse_back() {
        for dialect in [EventDialect::Stripe, EventDialect::Native] {
            let id = EventId {
                salt: 0xdead_beef,
                seq: 42,
                dialect,
                index: 3,
            };
            let text = id.to_string();
            assert!(text.starts_with("evt_"));
            assert_eq!(EventId::parse(&text), Some(id));
        }
        assert_eq!(EventId::parse("evt_nothex"), None);
        assert_eq!(EventId::parse("pay_000000000000000000000000"), None);
    }
}
