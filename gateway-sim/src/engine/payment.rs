//! A payment as the engine keeps it, its status and capture method, how the customer pays,
//! its refunds, and the validated requests that create or change one. Plain data: the rules
//! that move a payment from one status to another live in `operations.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::decline_code::StoredDeclineCode;
use super::dispute::{Dispute, DisputePlan};
use super::ids::{MerchantId, PaymentId, RefundId};
use super::money::Currency;
use super::shared_str::SharedStr;

/// Where a payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PaymentStatus {
    /// Authorized, waiting for a capture or a cancel.
    RequiresCapture,
    /// Captured (possibly partly refunded since).
    Succeeded,
    /// Authorization released without capture.
    Canceled,
    /// Declined at authorization; no money moved. It may be confirmed again with
    /// another payment method (a PaymentIntent's retry), or canceled.
    Failed,
    /// Created without a payment method and not confirmed: nothing authorized yet.
    RequiresPaymentMethod,
    /// Created with a payment method, waiting for `confirm`: nothing authorized yet.
    RequiresConfirmation,
    /// Confirmed with a card that needs the buyer's authentication (3-D Secure):
    /// waiting for the challenge to be completed or failed. No money moved yet.
    RequiresAction,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 7] = [
        PaymentStatus::RequiresCapture,
        PaymentStatus::Succeeded,
        PaymentStatus::Canceled,
        PaymentStatus::Failed,
        PaymentStatus::RequiresPaymentMethod,
        PaymentStatus::RequiresConfirmation,
        PaymentStatus::RequiresAction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::RequiresCapture => "requires_capture",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Canceled => "canceled",
            PaymentStatus::Failed => "failed",
            PaymentStatus::RequiresPaymentMethod => "requires_payment_method",
            PaymentStatus::RequiresConfirmation => "requires_confirmation",
            PaymentStatus::RequiresAction => "requires_action",
        }
    }

    /// Not authorized yet, and may still be: created unconfirmed, or declined.
    pub fn awaits_confirmation(self) -> bool {
        matches!(
            self,
            PaymentStatus::RequiresPaymentMethod
                | PaymentStatus::RequiresConfirmation
                | PaymentStatus::Failed
        )
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

/// When authorized funds are taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum CaptureMethod {
    /// Captured in the same step as the authorization (a charge).
    Automatic,
    /// Authorized only; taken later by `capture`, or released by `cancel`.
    Manual,
}

impl CaptureMethod {
    pub fn from_capture(capture: bool) -> CaptureMethod {
        if capture {
            CaptureMethod::Automatic
        } else {
            CaptureMethod::Manual
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CaptureMethod::Automatic => "automatic",
            CaptureMethod::Manual => "manual",
        }
    }
}

/// How the customer pays: a payment-method token, or raw card details.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum PaymentMethod {
    Token(Arc<str>),
    Card {
        last4: [u8; 4],
        exp_month: u8,
        exp_year: u16,
    },
}

impl PaymentMethod {
    /// Stands for "none attached yet" on a payment created without one. No front
    /// door accepts an empty token, so it cannot be mistaken for a real method.
    pub fn none() -> PaymentMethod {
        PaymentMethod::interned_token("")
    }

    pub fn is_none(&self) -> bool {
        matches!(self, PaymentMethod::Token(t) if t.is_empty())
    }

    /// A token method. Tokens are interned: a run uses a handful of test tokens
    /// over millions of payments, and each payment then holds a shared pointer
    /// instead of its own copy.
    pub fn interned_token(name: &str) -> PaymentMethod {
        use std::sync::OnceLock;
        /// Past this many distinct tokens, new ones are not interned (a bound on
        /// what a hostile client could make the simulator keep).
        const MAX_INTERNED: usize = 4096;
        static TOKENS: OnceLock<Mutex<HashMap<Box<str>, Arc<str>>>> = OnceLock::new();
        let mut tokens = TOKENS.get_or_init(Mutex::default).lock();
        if let Some(token) = tokens.get(name) {
            return PaymentMethod::Token(token.clone());
        }
        let token: Arc<str> = Arc::from(name);
        if tokens.len() < MAX_INTERNED {
            tokens.insert(Box::from(name), token.clone());
        }
        PaymentMethod::Token(token)
    }

    /// The token, for token methods other than [`PaymentMethod::none`].
    pub fn token(&self) -> Option<&str> {
        match self {
            PaymentMethod::Token(t) if !t.is_empty() => Some(t),
            _ => None,
        }
    }
}

/// Why a payment was canceled, when the gateway did it rather than the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CancellationReason {
    /// The authorization was not captured within its validity and was released.
    Expired,
}

/// The `decline_code` a payment carries when its buyer failed (or refused) the
/// authentication challenge: not an issuer's decline, so no issuer code fits;
/// this is the error code Stripe reports for it.
pub const AUTHENTICATION_FAILURE: &str = "payment_intent_authentication_failure";

/// What the fault model decided for one authorization attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verdict<'a> {
    #[default]
    Approve,
    /// Declined by the issuer with this decline code.
    Decline(&'a str),
    /// The card asks for the buyer's authentication first (3-D Secure).
    Authenticate,
    /// Approved, and disputed once captured (a dispute test card).
    Dispute(DisputePlan),
}

impl Verdict<'_> {
    /// The dispute an approved payment will get, if its card asks for one.
    pub fn dispute_plan(self) -> Option<DisputePlan> {
        match self {
            Verdict::Dispute(plan) => Some(plan),
            _ => None,
        }
    }
}

impl<'a> From<Option<&'a str>> for Verdict<'a> {
    fn from(decline: Option<&'a str>) -> Self {
        decline.map_or(Verdict::Approve, Verdict::Decline)
    }
}

/// How a buyer answered an authentication challenge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthenticationOutcome {
    Complete,
    Fail,
}

/// Where the buyer's browser goes once a challenge is answered, as the request
/// that confirmed the payment asked. The front door says how the merchant knows
/// the payment (`payment_intent=pi_...` for Stripe), so the page that sends the
/// buyer back needs to know no dialect.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReturnTo {
    /// The merchant's page; `None` when the request gave none (scripts).
    pub url: Option<String>,
    /// The query parameter that names the payment on the way back.
    pub param: &'static str,
    /// The prefix the merchant's id of the payment has (`pi_`, `pay_`).
    pub id_prefix: &'static str,
}

/// How long an unanswered challenge stays open until told otherwise: an hour. The
/// behaviour's own default (`[gateway.three_ds] abandon_after`) is the same, and the
/// server always sets it. Here with the challenge's plain data rather than in
/// `lifecycle.rs`, so the engine's constructor names it without importing the module
/// that imports it.
pub(super) const DEFAULT_ABANDON_AFTER: Duration = Duration::from_secs(3600);

/// An open authentication challenge (3-D Secure) of a payment in `RequiresAction`.
/// Boxed on the payment: few payments have one, and a pointer costs the rest 8 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The page the buyer opens: `{simulator}/_sim/3ds/{payment id}?attempt={n}`.
    pub url: Arc<str>,
    pub return_url: Option<Arc<str>>,
    pub return_param: &'static str,
    pub return_id_prefix: &'static str,
    /// Which of the payment's challenges this is (1, then 2 after a confirmation
    /// that followed a failed one, ...): the page's `?attempt=`.
    pub attempt: u32,
    /// Unix milliseconds, simulator time, when nobody having answered it the buyer
    /// is taken to have abandoned it (`[gateway.three_ds] abandon_after`).
    pub abandon_at_ms: u64,
}

/// One refund of (part of) a captured payment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refund {
    pub id: RefundId,
    pub payment: PaymentId,
    pub amount: i64,
    /// The payment's currency.
    pub currency: Currency,
    /// Unix seconds, simulator time.
    pub created: u64,
}

/// When a payment's latest authorization attempt was: Unix seconds, or never. Eight
/// bytes where an `Option<u64>` takes sixteen, which would take a stored payment to
/// the allocator's next size class; `u64::MAX` stands for never, a time in seconds
/// no clock reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConfirmedAt(u64);

impl ConfirmedAt {
    pub const NEVER: ConfirmedAt = ConfirmedAt(u64::MAX);

    pub fn at(unix_seconds: u64) -> ConfirmedAt {
        ConfirmedAt(unix_seconds.min(u64::MAX - 1))
    }

    pub fn get(self) -> Option<u64> {
        (self != ConfirmedAt::NEVER).then_some(self.0)
    }

    pub fn is_some(self) -> bool {
        self != ConfirmedAt::NEVER
    }
}

impl From<Option<u64>> for ConfirmedAt {
    fn from(at: Option<u64>) -> ConfirmedAt {
        at.map_or(ConfirmedAt::NEVER, ConfirmedAt::at)
    }
}

/// A payment as the engine keeps it. Amounts are minor units.
///
/// Stored a million times over, so its size is watched (`stored_records_keep_their_size`):
/// what only some payments need lives behind one box, [`Payment::rare`].
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
    pub reference: Option<SharedStr>,
    /// Unix seconds, simulator time.
    pub created: u64,
    pub payment_method: PaymentMethod,
    pub decline_code: Option<StoredDeclineCode>,
    /// The merchant's metadata object, kept as the compact JSON text it arrived as.
    pub metadata: Option<SharedStr>,
    pub capture_method: CaptureMethod,
    /// Unix seconds of the latest authorization attempt (approved or declined);
    /// never while the payment was never confirmed.
    pub confirmed_at: ConfirmedAt,
    /// Refunds, cancellation, expiry, authentication and dispute: read through it as if they
    /// were the payment's own fields, changed through [`Rare::edit`].
    pub rare: Rare,
}

/// The fields of a payment that most payments never set, boxed on first use: a
/// payment captured at once, never refunded nor disputed, carries one empty pointer
/// instead of their 88 bytes (the payment is 120 bytes, in the allocator's 128-byte
/// class; 224 with them inline).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RareFields {
    /// Its refunds, oldest first.
    pub refunds: Vec<Refund>,
    /// Unix seconds, when canceled.
    pub canceled_at: Option<u64>,
    /// Set when the gateway canceled it by itself (an expired authorization).
    pub cancellation_reason: Option<CancellationReason>,
    /// Unix milliseconds, simulator time, when an uncaptured authorization
    /// expires (`capture_before`); set when a manual-capture payment is authorized.
    pub capture_before_ms: Option<u64>,
    /// The authentication challenge, from the confirmation that asked for it on
    /// (kept once answered, so the page can say so).
    pub challenge: Option<Box<Challenge>>,
    /// The dispute its test card asks for once captured (see `disputes.rs`).
    pub dispute_plan: Option<DisputePlan>,
    /// Its dispute, once opened.
    pub dispute: Option<Box<Dispute>>,
}

impl RareFields {
    const NONE: RareFields = RareFields {
        refunds: Vec::new(),
        canceled_at: None,
        cancellation_reason: None,
        capture_before_ms: None,
        challenge: None,
        dispute_plan: None,
        dispute: None,
    };
}

/// A payment's [`RareFields`], allocated only once one of them is set. Reads go through
/// `Deref` (all unset when nothing was allocated); equality compares the fields, so an
/// allocated box whose fields were all cleared equals none.
#[derive(Debug, Clone, Default)]
pub struct Rare(Option<Box<RareFields>>);

impl Rare {
    /// Holds `fields`, allocating only if one of them is set.
    pub fn of(fields: RareFields) -> Rare {
        Rare((fields != RareFields::NONE).then(|| Box::new(fields)))
    }

    /// The fields, to change one: allocated on first use.
    pub fn edit(&mut self) -> &mut RareFields {
        self.0.get_or_insert_with(Box::default)
    }

    /// The fields to change, only if some were ever set (a lookup that finds nothing to
    /// change allocates nothing).
    pub fn get_mut(&mut self) -> Option<&mut RareFields> {
        self.0.as_deref_mut()
    }

    /// Sets the dispute the card asks for; allocates only when there is one to keep.
    pub fn set_dispute_plan(&mut self, plan: Option<DisputePlan>) {
        if plan.is_some() || self.0.is_some() {
            self.edit().dispute_plan = plan;
        }
    }

    /// The payment's dispute, to change, if it has one.
    pub fn dispute_mut(&mut self) -> Option<&mut Dispute> {
        self.get_mut()?.dispute.as_deref_mut()
    }
}

impl std::ops::Deref for Rare {
    type Target = RareFields;

    fn deref(&self) -> &RareFields {
        static UNSET: RareFields = RareFields::NONE;
        self.0.as_deref().unwrap_or(&UNSET)
    }
}

impl PartialEq for Rare {
    fn eq(&self, other: &Rare) -> bool {
        **self == **other
    }
}

impl Eq for Rare {}

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
    /// Where the buyer returns after an authentication challenge, if one is asked.
    pub return_to: ReturnTo,
}

/// A validated request to create a payment that is not authorized yet: no money
/// moves until [`Engine::confirm`].
#[derive(Debug, Clone)]
pub struct NewPendingPayment {
    pub amount: i64,
    pub currency: Currency,
    /// `None`: the payment waits for one (`RequiresPaymentMethod`).
    pub payment_method: Option<PaymentMethod>,
    pub capture_method: CaptureMethod,
    pub reference: Option<String>,
    /// A JSON object, as compact text.
    pub metadata: Option<String>,
}

/// Changes to a payment. Amount, currency, payment method and capture method can
/// change only before the payment is authorized; metadata at any time.
#[derive(Debug, Clone, Default)]
pub struct PaymentUpdate {
    pub amount: Option<i64>,
    pub currency: Option<Currency>,
    pub payment_method: Option<PaymentMethod>,
    pub capture_method: Option<CaptureMethod>,
    pub metadata: Option<MetadataPatch>,
}

/// An edit of a payment's metadata object: optionally empty it, then set keys
/// (`Some`) or remove them (`None`), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataPatch {
    pub clear: bool,
    pub set: Vec<(String, Option<String>)>,
}
