//! [`Call`]: a routed, authenticated, validated request, and how it runs on the
//! engine. Its own file because it is the one type the server, the fault model
//! and the dialects all handle, whichever door built it.

use std::any::Any;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use super::{ApiError, CheckoutOperation, Operation, Outcome};
use crate::behaviour::{self, ChargeFacts, Endpoint};
use crate::engine::ids::MerchantId;
use crate::engine::ids::WebhookEndpointId;
use crate::engine::{Cause, Engine, EngineError, PaymentMethod, Verdict};

/// A routed, authenticated, validated request, ready for its fate.
#[derive(Debug, Clone)]
pub struct Call {
    pub merchant: MerchantId,
    pub api_key: Arc<str>,
    pub operation: Operation,
    pub idempotency_key: Option<String>,
    /// Hash of method, path and body: what "the same request" means for a key.
    pub fingerprint: u64,
    /// What identifies this request for the fault model: its idempotency key, or,
    /// without one, its method, path and body.
    pub identity: Bytes,
    /// The full card number of a create with raw card details (the engine keeps only
    /// the last four digits; the fault model needs the number for test cards).
    pub card_number: Option<String>,
    /// How the request asked to see its outcome, when the answer depends on more
    /// than the outcome (which object, expansions, page). Set and read by the
    /// dialect that routed the call only: opaque here, so a new dialect brings
    /// its own type without touching the shared layer. `None` costs nothing.
    pub presentation: Option<Arc<dyn Any + Send + Sync>>,
}

impl Call {
    pub fn new(
        merchant: MerchantId,
        api_key: Arc<str>,
        operation: Operation,
        idempotency_key: Option<String>,
        method: &Method,
        path: &str,
        body: &Bytes,
    ) -> Call {
        let mut h = DefaultHasher::new();
        method.as_str().hash(&mut h);
        path.hash(&mut h);
        body.as_ref().hash(&mut h);
        let fingerprint = h.finish();
        let identity = match &idempotency_key {
            Some(key) => Bytes::copy_from_slice(key.as_bytes()),
            None => {
                let mut v = Vec::with_capacity(method.as_str().len() + path.len() + body.len() + 2);
                v.extend_from_slice(method.as_str().as_bytes());
                v.push(b' ');
                v.extend_from_slice(path.as_bytes());
                v.push(b'\n');
                v.extend_from_slice(body);
                Bytes::from(v)
            }
        };
        Call {
            merchant,
            api_key,
            operation,
            idempotency_key,
            fingerprint,
            identity,
            card_number: None,
            presentation: None,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.operation.endpoint()
    }

    /// The authorization attempt this call makes, for test cards and decline rules:
    /// a create that authorizes, or a confirmation.
    pub fn charge_facts(&self) -> Option<ChargeFacts<'_>> {
        match &self.operation {
            Operation::Create(new) => Some(ChargeFacts {
                amount: new.amount,
                payment_method: new.payment_method.token(),
                card_number: self.card_number.as_deref(),
            }),
            Operation::Confirm {
                attempt: Some((amount, method)),
                ..
            } => Some(ChargeFacts {
                amount: *amount,
                payment_method: method.token(),
                card_number: None,
            }),
            _ => None,
        }
    }

    /// Executes the operation on the engine. `cause` names the request (its id and
    /// reserved idempotency key, recorded in the ledger and the events) and collects
    /// the changes it raised; `verdict` is the fault model's for an authorization
    /// (approve, decline, or ask the buyer to authenticate first).
    pub fn execute(&self, engine: &Engine, cause: &Cause, verdict: Verdict<'_>) -> Outcome {
        let m = self.merchant;
        let refused = |e: EngineError| Outcome::Refused(e.into());
        match &self.operation {
            Operation::Create(new) => {
                match engine.create_payment_with(m, new.clone(), cause, verdict) {
                    Ok(p) if p.decline_code.is_some() => Outcome::Declined(p),
                    Ok(p) => Outcome::Payment(p),
                    Err(e) => refused(e),
                }
            }
            Operation::Capture { id, amount } => engine
                .capture(m, id, *amount, cause)
                .map_or_else(refused, Outcome::Payment),
            Operation::Cancel { id } => engine
                .cancel(m, id, cause)
                .map_or_else(refused, Outcome::Payment),
            Operation::Refund { id, amount } => engine
                .refund(m, id, *amount, cause)
                .map_or_else(refused, |(refund, _)| Outcome::Refund(refund)),
            Operation::Retrieve { id } => {
                engine.payment(m, id).map_or_else(refused, Outcome::Payment)
            }
            Operation::ListByReference { reference } => {
                Outcome::Payments(engine.payments_by_reference(m, reference))
            }
            Operation::LookupKey { key } => {
                Outcome::Key(key.clone(), engine.idempotency_key_state(m, key))
            }
            Operation::CreatePending(new) => engine
                .create_pending_payment(m, new.clone(), cause)
                .map_or_else(refused, Outcome::Payment),
            Operation::Confirm {
                id,
                payment_method,
                return_to,
                ..
            } => match engine.confirm_with(
                m,
                id,
                payment_method.clone(),
                return_to.clone(),
                cause,
                verdict,
            ) {
                Ok(p) if p.decline_code.is_some() => Outcome::Declined(p),
                Ok(p) => Outcome::Payment(p),
                Err(e) => refused(e),
            },
            Operation::Update { id, update } => engine
                .update_payment(m, id, update.clone())
                .map_or_else(refused, Outcome::Payment),
            Operation::CancelOrAbandon { id } => engine
                .cancel_or_abandon(m, id, cause)
                .map_or_else(refused, Outcome::Payment),
            Operation::ListPage(query) => engine
                .list_payments(m, query)
                .map_or_else(refused, Outcome::Payments),
            Operation::RetrieveRefund { id } => match engine.refund_by_id(m, id) {
                Some((refund, _)) => Outcome::Refund(refund),
                None => Outcome::Refused(
                    ApiError::not_found("resource_missing", format!("No such refund: '{id}'"))
                        .with_param("id"),
                ),
            },
            // Only known test tokens are interned: a client cannot make the
            // simulator keep names it made up.
            Operation::RetrievePaymentMethod { token } => {
                if behaviour::is_known_payment_method(token) {
                    Outcome::PaymentMethod(PaymentMethod::interned_token(token))
                } else {
                    Outcome::Refused(
                        ApiError::not_found(
                            "resource_missing",
                            format!("No such payment method: '{token}'"),
                        )
                        .with_param("payment_method"),
                    )
                }
            }
            Operation::ListEvents(query) => Outcome::Events(super::list_events(engine, m, query)),
            Operation::RetrieveEvent { id, dialect } => {
                match super::find_event(engine, m, *dialect, id) {
                    Some(event) => Outcome::Event(event),
                    None => Outcome::Refused(
                        ApiError::not_found("resource_missing", format!("No such event: '{id}'"))
                            .with_param("id"),
                    ),
                }
            }
            Operation::CreateWebhookEndpoint(new) => {
                match engine.create_webhook_endpoint(m, new.clone()) {
                    Some(endpoint) => Outcome::WebhookEndpoint {
                        endpoint,
                        new: true,
                    },
                    None => Outcome::Refused(ApiError::invalid(
                        "webhook_endpoints_limit",
                        format!(
                            "This account already has {} webhook endpoints, the most it may have; delete one first.",
                            crate::engine::MAX_ENDPOINTS_PER_MERCHANT
                        ),
                    )),
                }
            }
            Operation::ListWebhookEndpoints => {
                Outcome::WebhookEndpoints(engine.webhook_endpoints_of(m))
            }
            Operation::RetrieveWebhookEndpoint { id } => endpoint_outcome(id, |eid| {
                engine
                    .webhook_endpoint(m, eid)
                    .map(|endpoint| Outcome::WebhookEndpoint {
                        endpoint,
                        new: false,
                    })
            }),
            Operation::UpdateWebhookEndpoint { id, update } => endpoint_outcome(id, |eid| {
                engine
                    .update_webhook_endpoint(m, eid, update.clone())
                    .map(|endpoint| Outcome::WebhookEndpoint {
                        endpoint,
                        new: false,
                    })
            }),
            Operation::DeleteWebhookEndpoint { id } => endpoint_outcome(id, |eid| {
                engine
                    .delete_webhook_endpoint(m, eid)
                    .map(Outcome::DeletedWebhookEndpoint)
            }),
            Operation::Checkout(op) => checkout_outcome(engine, m, op, cause),
            Operation::Settlement(read) => {
                Outcome::Settlement(super::settlement::read(engine, m, read))
            }
            Operation::ListDisputes { payment } => {
                Outcome::Disputes(engine.disputes_of(m, payment.as_deref()))
            }
            Operation::RetrieveDispute { id } => {
                engine.dispute(m, id).map_or_else(refused, Outcome::Dispute)
            }
            Operation::AnswerDispute { id, answer } => engine
                .answer_dispute(m, id, answer.clone(), cause)
                .map_or_else(refused, Outcome::Dispute),
            Operation::CloseDispute { id } => engine
                .close_dispute(m, id, cause)
                .map_or_else(refused, Outcome::Dispute),
        }
    }
}

/// A checkout session operation on the engine.
fn checkout_outcome(
    engine: &Engine,
    m: MerchantId,
    op: &CheckoutOperation,
    cause: &Cause,
) -> Outcome {
    let session = |r: Result<_, EngineError>| {
        r.map_or_else(|e| Outcome::Refused(e.into()), Outcome::CheckoutSession)
    };
    match op {
        CheckoutOperation::Create(new) => session(engine.create_checkout_session(m, new.clone())),
        CheckoutOperation::Retrieve { id } => session(engine.checkout_session(m, id)),
        CheckoutOperation::List { payment } => {
            Outcome::CheckoutSessions(engine.checkout_sessions(m, *payment))
        }
        CheckoutOperation::Expire { id } => session(engine.expire_checkout_session(m, id, cause)),
    }
}

/// Runs `found` on the endpoint `id` names; a 404 naming `id` when there is none.
fn endpoint_outcome(id: &str, found: impl FnOnce(WebhookEndpointId) -> Option<Outcome>) -> Outcome {
    WebhookEndpointId::parse(id)
        .and_then(found)
        .unwrap_or_else(|| {
            Outcome::Refused(
                ApiError::not_found(
                    "resource_missing",
                    format!("No such webhook endpoint: '{id}'"),
                )
                .with_param("id"),
            )
        })
}
