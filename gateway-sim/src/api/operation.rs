//! The vocabulary between front doors and the engine: an [`Operation`] is what
//! a request asks, an [`Outcome`] what the engine did. Its own file because
//! every door, the server and the fault model speak it, and none owns it.

use std::sync::Arc;

use super::settlement::{SettlementRead, SettlementView};
use super::{ApiError, EventQuery, EventView};
use crate::behaviour::Endpoint;
use crate::engine::idempotency::KeyState;
use crate::engine::ids::PaymentId;
use crate::engine::{
    CheckoutSession, DisputeAnswer, EndpointUpdate, NewCheckoutSession, NewPayment,
    NewPendingPayment, NewWebhookEndpoint, PageQuery, Payment, PaymentMethod, PaymentUpdate,
    Refund, ReturnTo, WebhookEndpoint,
};

/// What a request asks the engine to do.
#[derive(Debug, Clone)]
pub enum Operation {
    Create(NewPayment),
    Capture {
        id: String,
        amount: Option<i64>,
    },
    Cancel {
        id: String,
    },
    Refund {
        id: String,
        amount: Option<i64>,
    },
    Retrieve {
        id: String,
    },
    ListByReference {
        reference: String,
    },
    LookupKey {
        key: String,
    },
    /// Create a payment without authorizing it (a PaymentIntent not confirmed yet).
    CreatePending(NewPendingPayment),
    /// Authorize a pending or declined payment.
    Confirm {
        id: String,
        payment_method: Option<PaymentMethod>,
        /// What the authorization will be for (amount, payment method), read at
        /// routing so the fault model can decide a decline; `None` when the payment
        /// cannot be confirmed (the engine then refuses).
        attempt: Option<(i64, PaymentMethod)>,
        /// Where the buyer returns if the card asks for authentication.
        return_to: ReturnTo,
    },
    /// Change a payment's terms before authorization, or its metadata.
    Update {
        id: String,
        update: PaymentUpdate,
    },
    /// Cancel, a declined payment included.
    CancelOrAbandon {
        id: String,
    },
    /// A page of the merchant's payments, newest first.
    ListPage(PageQuery),
    RetrieveRefund {
        id: String,
    },
    /// One of the test payment methods (`pm_card_visa`...): a read of a fixed
    /// catalogue, rate-limited and exposed to faults like any other read.
    RetrievePaymentMethod {
        token: String,
    },
    /// A page of the merchant's events in one dialect, newest first.
    ListEvents(EventQuery),
    RetrieveEvent {
        id: String,
        dialect: crate::engine::EventDialect,
    },
    CreateWebhookEndpoint(NewWebhookEndpoint),
    ListWebhookEndpoints,
    /// `id` is the endpoint's printed id (`we_...`).
    RetrieveWebhookEndpoint {
        id: String,
    },
    UpdateWebhookEndpoint {
        id: String,
        update: EndpointUpdate,
    },
    DeleteWebhookEndpoint {
        id: String,
    },
    /// The merchant's disputes, newest first; only one payment's with `payment`
    /// (the engine's id).
    ListDisputes {
        payment: Option<String>,
    },
    /// `id` is the dispute's id (`dp_...`).
    RetrieveDispute {
        id: String,
    },
    /// Evidence for a dispute, submitted or kept.
    AnswerDispute {
        id: String,
        answer: DisputeAnswer,
    },
    /// The merchant accepts the dispute.
    CloseDispute {
        id: String,
    },
    /// Stripe Checkout sessions (only the Stripe door routes them).
    Checkout(CheckoutOperation),
    /// Reads of the balance, its transactions and the payouts.
    Settlement(SettlementRead),
}

/// What a request asks of checkout sessions.
#[derive(Debug, Clone)]
pub enum CheckoutOperation {
    Create(NewCheckoutSession),
    /// `id` is the session's id (`cs_test_...`).
    Retrieve {
        id: String,
    },
    /// The merchant's sessions, newest first; only the one its payment paid when given.
    List {
        payment: Option<PaymentId>,
    },
    Expire {
        id: String,
    },
}

impl Operation {
    /// The endpoint the fault model treats this as. Everything that prepares or
    /// authorizes a payment (pending create, update, confirm) counts as `create`.
    pub fn endpoint(&self) -> Endpoint {
        match self {
            Operation::Create(_)
            | Operation::CreatePending(_)
            | Operation::Confirm { .. }
            | Operation::Update { .. } => Endpoint::Create,
            Operation::Capture { .. } => Endpoint::Capture,
            Operation::Cancel { .. } | Operation::CancelOrAbandon { .. } => Endpoint::Cancel,
            Operation::Refund { .. } => Endpoint::Refund,
            Operation::Retrieve { .. }
            | Operation::ListByReference { .. }
            | Operation::LookupKey { .. }
            | Operation::ListPage(_)
            | Operation::RetrieveRefund { .. }
            | Operation::RetrievePaymentMethod { .. } => Endpoint::Retrieve,
            // Managing webhooks and reading events are account calls, not payments:
            // they take the faults and latency of reads.
            Operation::ListEvents(_)
            | Operation::RetrieveEvent { .. }
            | Operation::CreateWebhookEndpoint(_)
            | Operation::ListWebhookEndpoints
            | Operation::RetrieveWebhookEndpoint { .. }
            | Operation::UpdateWebhookEndpoint { .. }
            | Operation::DeleteWebhookEndpoint { .. } => Endpoint::Retrieve,
            // A session is the merchant's order before any money moves: opening and
            // expiring one are `create`'s (the authorization path), reading it `retrieve`.
            Operation::Checkout(
                CheckoutOperation::Create(_) | CheckoutOperation::Expire { .. },
            ) => Endpoint::Create,
            Operation::Checkout(_) => Endpoint::Retrieve,
            // Answering a dispute moves no money through the card network: an
            // account call too.
            Operation::ListDisputes { .. }
            | Operation::RetrieveDispute { .. }
            | Operation::AnswerDispute { .. }
            | Operation::CloseDispute { .. } => Endpoint::Retrieve,
            Operation::Settlement(_) => Endpoint::Retrieve,
        }
    }

    /// Whether the operation changes the gateway's state: creates, edits,
    /// authorizes, captures, cancels or refunds a payment, whether or not money
    /// moves (a pending create or a metadata update moves none). Only these take
    /// idempotency keys, and only these leave a client unsure of what happened
    /// when an answer is lost; a read is safe to repeat.
    pub fn changes_state(&self) -> bool {
        matches!(
            self,
            Operation::Create(_)
                | Operation::Capture { .. }
                | Operation::Cancel { .. }
                | Operation::Refund { .. }
                | Operation::CreatePending(_)
                | Operation::Confirm { .. }
                | Operation::Update { .. }
                | Operation::CancelOrAbandon { .. }
                | Operation::CreateWebhookEndpoint(_)
                | Operation::UpdateWebhookEndpoint { .. }
                | Operation::DeleteWebhookEndpoint { .. }
                | Operation::Checkout(
                    CheckoutOperation::Create(_) | CheckoutOperation::Expire { .. }
                )
                | Operation::AnswerDispute { .. }
                | Operation::CloseDispute { .. }
        )
    }
}

/// What the engine did, before a dialect renders it.
#[derive(Debug)]
pub enum Outcome {
    Payment(Payment),
    Declined(Payment),
    Refund(Refund),
    Payments(Vec<Payment>),
    Key(String, Option<KeyState>),
    PaymentMethod(PaymentMethod),
    Events(Vec<EventView>),
    Event(EventView),
    /// An endpoint; `new` when just created, the only time its secret is shown.
    WebhookEndpoint {
        endpoint: Arc<WebhookEndpoint>,
        new: bool,
    },
    WebhookEndpoints(Vec<Arc<WebhookEndpoint>>),
    DeletedWebhookEndpoint(Arc<WebhookEndpoint>),
    CheckoutSession(CheckoutSession),
    CheckoutSessions(Vec<CheckoutSession>),
    /// A disputed payment, shown as its dispute.
    Dispute(Payment),
    /// Disputed payments, newest dispute first, shown as their disputes.
    Disputes(Vec<Payment>),
    Settlement(SettlementView),
    Refused(ApiError),
}

impl Outcome {
    /// Only answers of requests that ran to the ledger are stored under an
    /// idempotency key. A refusal (unknown payment, wrong state, amount too
    /// large) changed nothing, so the key is freed and a corrected request may use it.
    pub fn is_stored(&self) -> bool {
        matches!(
            self,
            Outcome::Payment(_)
                | Outcome::Declined(_)
                | Outcome::Refund(_)
                | Outcome::WebhookEndpoint { .. }
                | Outcome::DeletedWebhookEndpoint(_)
                | Outcome::CheckoutSession(_)
                | Outcome::Dispute(_)
        )
    }
}
