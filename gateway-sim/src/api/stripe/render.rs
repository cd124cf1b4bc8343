//! The Stripe dialect's answer to an outcome: a success through the show
//! function its resource chose at routing, a decline as a 402 `card_error`
//! carrying the PaymentIntent, a refusal in Stripe's words (a state conflict
//! is a 400 `payment_intent_unexpected_state` carrying the PaymentIntent).
//! Apart from routing because these answers depend on the engine's records
//! after the operation, not on the request.

use http::{Method, StatusCode};
use serde_json::{Map, json};

use super::errors::{decline_error_code, error_reply, error_with, unrecognized_url};
use super::ids::{CHARGE, INTENT, stripe_id};
use super::pages::LARGEST_FIRST;
use super::presentation::{Expand, Presentation};
use super::{balance, disputes, objects, payment_intents, payment_methods, refunds};
use crate::api::{ApiError, Call, Operation, Outcome, Reply};
use crate::behaviour;
use crate::engine::ids::PaymentId;
use crate::engine::{Engine, Payment, PaymentStatus};

/// The answer to `outcome`, shown as `presentation` says.
pub(super) fn render(
    engine: &Engine,
    call: Option<&Call>,
    presentation: &Presentation,
    outcome: &Outcome,
) -> Reply {
    match outcome {
        Outcome::Declined(p) => card_error(p),
        Outcome::Refused(e) => refusal(engine, call, presentation, e),
        Outcome::Key(..) => error_reply(&unrecognized_url(&Method::GET, "/v1/idempotency-keys")),
        _ => (presentation.show)(engine, call, presentation, outcome)
            .or_else(|| {
                let by_kind = by_kind(outcome);
                (by_kind.show)(engine, call, &by_kind, outcome)
            })
            .unwrap_or_else(unshowable),
    }
}

/// How to show an outcome from its kind alone: for a call routed without a
/// Stripe presentation, or an outcome its route does not produce (neither
/// happens from the server).
pub(super) fn by_kind(outcome: &Outcome) -> Presentation {
    let id = |show, noun| Presentation::object(show, noun, Expand::NONE, None, "id");
    match outcome {
        Outcome::Refund(_) => id(refunds::show, "refund"),
        Outcome::PaymentMethod(_) => id(payment_methods::show, "PaymentMethod"),
        Outcome::Dispute(_) | Outcome::Disputes(_) => disputes::by_kind(outcome),
        // Only the balance shows without its route's presentation; the server always routes.
        Outcome::Settlement(_) => id(balance::show, "balance"),
        Outcome::Payments(_) => Presentation::list(
            payment_intents::show_page,
            "payment_intent",
            Expand::NONE,
            LARGEST_FIRST.clone(),
            "/v1/payment_intents",
        ),
        _ => id(payment_intents::show, "payment_intent"),
    }
}

/// A 500 for an outcome no show function takes: a bug, kept from crashing
/// the connection.
fn unshowable() -> Reply {
    let mut e = ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR);
    e.message = "gateway-sim has no Stripe object for this outcome (a bug in gateway-sim).".into();
    error_reply(&e)
}

/// A decline: 402 `card_error` carrying the PaymentIntent, its charge and the
/// decline code, as Stripe answers a declined confirmation.
fn card_error(p: &Payment) -> Reply {
    let code = p
        .decline_code
        .as_deref()
        .unwrap_or(behaviour::DeclineCode::GENERIC_DECLINE.as_str());
    let mut e = ApiError::declined(stripe_id(p.id, INTENT), code);
    e.code = decline_error_code(code);
    let mut extra = Map::new();
    extra.insert("decline_code".into(), json!(code));
    extra.insert("charge".into(), json!(stripe_id(p.id, CHARGE)));
    extra.insert(
        "payment_intent".into(),
        objects::payment_intent(p, Expand::NONE),
    );
    extra.insert(
        "payment_method".into(),
        payment_methods::json(&p.payment_method, p.created),
    );
    error_with(&e, extra)
}

/// An engine refusal in Stripe's words. A state conflict is a 400
/// `payment_intent_unexpected_state` carrying the PaymentIntent (the SDKs raise
/// their invalid-request error for it), or `charge_already_refunded` for a refund
/// of a fully refunded payment.
fn refusal(
    engine: &Engine,
    call: Option<&Call>,
    presentation: &Presentation,
    e: &ApiError,
) -> Reply {
    let payment = || {
        let call = call?;
        let id = match &call.operation {
            Operation::Capture { id, .. }
            | Operation::Cancel { id }
            | Operation::CancelOrAbandon { id }
            | Operation::Refund { id, .. }
            | Operation::Confirm { id, .. }
            | Operation::Update { id, .. }
            | Operation::Retrieve { id } => id,
            _ => return None,
        };
        engine.payment(call.merchant, id).ok()
    };
    match (e.status, e.code) {
        (StatusCode::NOT_FOUND, "resource_missing") => presentation.missing(),
        // A checkout session in the wrong state (expiring one that is complete).
        (StatusCode::CONFLICT, "invalid_state")
            if call.is_some_and(|c| matches!(c.operation, Operation::Checkout(_))) =>
        {
            error_reply(
                &ApiError::invalid("checkout_session_unexpected_state", e.message.clone())
                    .with_param("session"),
            )
        }
        (StatusCode::CONFLICT, "invalid_state")
            if call.is_some_and(|call| {
                matches!(
                    call.operation,
                    Operation::AnswerDispute { .. } | Operation::CloseDispute { .. }
                )
            }) =>
        {
            error_reply(
                &ApiError::invalid("invalid_state", e.message.clone()).with_param("dispute"),
            )
        }
        (StatusCode::CONFLICT, "invalid_state") => {
            let current = payment();
            let message = match (&current, call) {
                (Some(p), Some(call)) => unexpected_state_message(&call.operation, p),
                _ => e.message.replace(PaymentId::PREFIX, INTENT),
            };
            if call.is_some_and(|call| matches!(call.operation, Operation::Refund { .. }))
                && let Some(p) = &current
                && p.amount_captured > 0
                && p.amount_refunded == p.amount_captured
            {
                let charge = stripe_id(p.id, CHARGE);
                return error_reply(
                    &ApiError::invalid(
                        "charge_already_refunded",
                        format!("Charge {charge} has already been refunded."),
                    )
                    .with_param(presentation.param),
                );
            }
            let mut extra = Map::new();
            if let Some(p) = &current {
                extra.insert(
                    "payment_intent".into(),
                    objects::payment_intent(p, Expand::NONE),
                );
            }
            error_with(
                &ApiError::invalid("payment_intent_unexpected_state", message),
                extra,
            )
        }
        (_, "charge_disputed") => {
            let charge = call
                .and_then(|call| match &call.operation {
                    Operation::Refund { id, .. } => PaymentId::parse(id),
                    _ => None,
                })
                .map(|id| stripe_id(id, CHARGE))
                .unwrap_or_default();
            error_reply(
                &ApiError::invalid(
                    "charge_disputed",
                    format!("Charge {charge} has been disputed; it cannot be refunded while the dispute is open."),
                )
                .with_param(presentation.param),
            )
        }
        (_, "invalid_amount" | "amount_too_large") => {
            let mut e = e.clone();
            e.param = Some(presentation.amount_param.to_string());
            error_reply(&e)
        }
        _ => error_reply(e),
    }
}

/// Why the PaymentIntent's state forbids the operation, in Stripe's terms.
fn unexpected_state_message(operation: &Operation, p: &Payment) -> String {
    let status = objects::intent_status(p);
    let requirement = match operation {
        Operation::Capture { .. } => "it must be requires_capture to be captured",
        Operation::Cancel { .. } | Operation::CancelOrAbandon { .. } => {
            "it must be requires_payment_method, requires_confirmation or requires_capture to be canceled"
        }
        Operation::Confirm { .. } if p.status.awaits_confirmation() => {
            return "You cannot confirm this PaymentIntent because it's missing a payment method. Confirm it with a payment_method (such as pm_card_visa), or update it with one first.".to_string();
        }
        Operation::Confirm { .. } => {
            "it must be requires_payment_method or requires_confirmation to be confirmed"
        }
        Operation::Update { .. } => {
            "amount, currency, payment_method and capture_method can change only while it is requires_payment_method or requires_confirmation"
        }
        Operation::Refund { .. } if p.status == PaymentStatus::Succeeded => {
            return format!(
                "Charge {} has already been refunded.",
                stripe_id(p.id, CHARGE)
            );
        }
        Operation::Refund { .. } => {
            return format!(
                "This PaymentIntent's status is {status}: it does not have a successful (captured) charge to refund."
            );
        }
        _ => "the operation is not allowed in this status",
    };
    format!("This PaymentIntent's status is {status}, but {requirement}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every outcome a show function takes is shown by its kind, so `render`
    /// never needs its last resort.
    #[test]
    fn every_successful_outcome_kind_has_a_show_function() {
        use crate::engine::money::Currency;
        use crate::engine::{NewPayment, PaymentMethod};
        let engine = Engine::new(std::time::Duration::from_secs(60));
        let merchant = engine.merchant("sk_test_render");
        let new = NewPayment {
            amount: 500,
            currency: Currency::parse("usd").unwrap(),
            payment_method: PaymentMethod::interned_token("pm_card_visa"),
            capture: true,
            reference: None,
            metadata: None,
            return_to: Default::default(),
        };
        let payment = engine
            .create_payment(merchant, new, &crate::engine::Cause::none(), None)
            .unwrap();
        let id = payment.id.to_string();
        let (refund, _) = engine
            .refund(merchant, &id, None, &crate::engine::Cause::none())
            .unwrap();
        let outcomes = [
            Outcome::Payment(payment.clone()),
            Outcome::Payments(vec![payment]),
            Outcome::Refund(refund),
            Outcome::PaymentMethod(PaymentMethod::interned_token("pm_card_visa")),
        ];
        for outcome in &outcomes {
            let presentation = by_kind(outcome);
            assert!(
                (presentation.show)(&engine, None, &presentation, outcome).is_some(),
                "{outcome:?}"
            );
        }
    }
}
