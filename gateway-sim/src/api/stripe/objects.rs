//! The objects one engine payment shows as: its PaymentIntent, its charge and
//! its refunds, as Stripe's JSON. One file because they embed one another (a
//! PaymentIntent expands its latest charge, a charge its PaymentIntent and
//! lists its refunds, a refund expands both): apart, each would import the
//! others. The resources, errors and (later) events all show them from here.

use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Value, json};

use super::errors::{decline_error_code, decline_message};
use super::ids::{CHARGE, INTENT, stripe_id};
use super::payment_methods;
use super::presentation::Expand;
use crate::engine::ids::PaymentId;
use crate::engine::{
    AUTHENTICATION_FAILURE, CancellationReason, Engine, Payment, PaymentMethod, PaymentStatus,
    Refund,
};

/// A PaymentIntent, as a JSON value (for an event's `data.object`, a page, an expansion).
pub(super) fn payment_intent(p: &Payment, expand: Expand) -> Value {
    serde_json::to_value(PaymentIntentJson::of(p, expand)).unwrap_or(Value::Null)
}

/// A PaymentIntent's JSON bytes: what a PaymentIntent route answers, written straight from
/// the payment. Building a `Value` first (40 keys, each a `String` in a `BTreeMap`) and
/// printing it was half of a Stripe create-and-confirm's instructions.
pub(super) fn payment_intent_bytes(p: &Payment, expand: Expand) -> Vec<u8> {
    serde_json::to_vec(&PaymentIntentJson::of(p, expand)).unwrap_or_default()
}

/// A PaymentIntent's fields, in the order the JSON shows them (sorted, as a `Value` prints
/// its keys, so both ways give the same bytes). `()` is `null`: the fields Stripe has and this
/// gateway never sets, left to `Default`.
#[derive(serde::Serialize, Default)]
struct PaymentIntentJson<'a> {
    amount: i64,
    amount_capturable: i64,
    amount_details: AmountDetails,
    amount_received: i64,
    application: (),
    application_fee_amount: (),
    automatic_payment_methods: (),
    canceled_at: Option<u64>,
    cancellation_reason: Option<&'static str>,
    capture_method: &'static str,
    client_secret: String,
    confirmation_method: &'static str,
    created: u64,
    currency: &'a str,
    customer: (),
    description: (),
    id: String,
    last_payment_error: Value,
    latest_charge: Value,
    livemode: bool,
    metadata: Metadata<'a>,
    next_action: Value,
    object: &'static str,
    on_behalf_of: (),
    payment_method: Value,
    payment_method_configuration_details: (),
    payment_method_options: PaymentMethodOptions,
    payment_method_types: [&'static str; 1],
    processing: (),
    receipt_email: (),
    review: (),
    setup_future_usage: (),
    shipping: (),
    source: (),
    statement_descriptor: (),
    statement_descriptor_suffix: (),
    status: &'static str,
    transfer_data: (),
    transfer_group: (),
}

/// `{"tip": {}}`.
#[derive(serde::Serialize, Default)]
struct AmountDetails {
    tip: Empty,
}

/// `{}`.
#[derive(serde::Serialize, Default)]
struct Empty {}

/// `{"card": {"request_three_d_secure": "automatic"}}`.
#[derive(serde::Serialize, Default)]
struct PaymentMethodOptions {
    card: CardOptions,
}

#[derive(serde::Serialize, Default)]
struct CardOptions {
    request_three_d_secure: &'static str,
}

impl<'a> PaymentIntentJson<'a> {
    fn of(p: &'a Payment, expand: Expand) -> Self {
        let latest_charge = match p.confirmed_at.get() {
            None => Value::Null,
            Some(_) if expand.contains(Expand::LATEST_CHARGE) => charge(p, Expand::NONE),
            Some(_) => Value::String(stripe_id(p.id, CHARGE)),
        };
        // Stripe detaches a declined payment method: the PaymentIntent waits for a new one.
        let payment_method = if p.status == PaymentStatus::Failed {
            Value::Null
        } else {
            payment_method_ref(p, expand)
        };
        PaymentIntentJson {
            amount: p.amount,
            amount_capturable: p.amount_capturable,
            amount_details: AmountDetails { tip: Empty {} },
            amount_received: p.amount_captured,
            canceled_at: p.rare.canceled_at,
            cancellation_reason: cancellation_reason(p),
            capture_method: p.capture_method.as_str(),
            client_secret: client_secret(p.id),
            confirmation_method: "automatic",
            created: p.created,
            currency: p.currency.as_str(),
            id: stripe_id(p.id, INTENT),
            last_payment_error: last_payment_error(p),
            latest_charge,
            livemode: false,
            metadata: Metadata::of(p),
            next_action: next_action(p),
            object: "payment_intent",
            payment_method,
            payment_method_options: PaymentMethodOptions {
                card: CardOptions {
                    request_three_d_secure: "automatic",
                },
            },
            payment_method_types: ["card"],
            status: intent_status(p),
            ..Default::default()
        }
    }
}

/// The metadata kept as JSON text, written as it is when it is an object (`{}` otherwise):
/// checked without building it.
#[derive(Default)]
enum Metadata<'a> {
    Kept(&'a serde_json::value::RawValue),
    #[default]
    Empty,
}

impl<'a> Metadata<'a> {
    fn of(p: &'a Payment) -> Self {
        p.metadata
            .as_deref()
            .and_then(|text| serde_json::from_str::<&serde_json::value::RawValue>(text).ok())
            .filter(|raw| raw.get().starts_with('{'))
            .map_or(Metadata::Empty, Metadata::Kept)
    }
}

impl serde::Serialize for Metadata<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Metadata::Kept(raw) => raw.serialize(serializer),
            Metadata::Empty => Empty {}.serialize(serializer),
        }
    }
}

/// A charge: the authorization attempt of a confirmed payment.
pub(super) fn charge(p: &Payment, expand: Expand) -> Value {
    let failed = p.decline_code.is_some();
    let id = stripe_id(p.id, CHARGE);
    let refunds: Vec<Value> = p
        .rare
        .refunds
        .iter()
        .rev()
        .map(|r| refund(r, None, Expand::NONE))
        .collect();
    let outcome = match p.decline_code.as_deref() {
        Some(code) => json!({
            "network_status": "declined_by_network",
            "reason": code,
            "risk_level": "normal",
            "seller_message": "The bank did not return any further details with this decline.",
            "type": "issuer_declined",
        }),
        None => json!({
            "network_status": "approved_by_network",
            "reason": null,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        }),
    };
    let payment_intent = if expand.contains(Expand::PAYMENT_INTENT) {
        payment_intent(p, Expand::NONE)
    } else {
        Value::String(stripe_id(p.id, INTENT))
    };
    json!({
        "id": id,
        "object": "charge",
        "amount": p.amount,
        "amount_captured": p.amount_captured,
        "amount_refunded": p.amount_refunded,
        "application": null,
        "application_fee": null,
        "application_fee_amount": null,
        "balance_transaction": (p.amount_captured > 0)
            .then(|| Engine::charge_balance_transaction(p.id).to_string()),
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": null, "name": null, "phone": null,
        },
        "calculated_statement_descriptor": null,
        "capture_before": capture_before(p),
        "captured": p.amount_captured > 0,
        "created": p.confirmed_at.get().unwrap_or(p.created),
        "currency": p.currency.as_str(),
        "customer": null,
        "description": null,
        "disputed": p.rare.dispute.is_some(),
        "failure_balance_transaction": null,
        "failure_code": p.decline_code.as_deref().map(decline_error_code),
        "failure_message": p.decline_code.as_deref().map(decline_message),
        "livemode": false,
        "metadata": metadata_json(p),
        "outcome": outcome,
        "paid": !failed,
        "payment_intent": payment_intent,
        "payment_method": payment_method_ref(p, expand),
        "payment_method_details": {"type": "card", "card": card_details(p)},
        "receipt_email": null,
        "receipt_url": null,
        "refunded": p.amount_captured > 0 && p.amount_refunded == p.amount_captured,
        "refunds": {
            "object": "list",
            "data": refunds,
            "has_more": false,
            "total_count": p.rare.refunds.len(),
            "url": format!("/v1/charges/{id}/refunds"),
        },
        "review": null,
        "shipping": null,
        "source": null,
        "statement_descriptor": null,
        "statement_descriptor_suffix": null,
        "status": if failed { "failed" } else { "succeeded" },
        "transfer_data": null,
        "transfer_group": null,
    })
}

/// A refund; `payment` is needed only to expand its charge or PaymentIntent.
pub(super) fn refund(r: &Refund, payment: Option<&Payment>, expand: Expand) -> Value {
    let charge = match payment {
        Some(p) if expand.contains(Expand::CHARGE) => charge(p, Expand::NONE),
        _ => Value::String(stripe_id(r.payment, CHARGE)),
    };
    let payment_intent = match payment {
        Some(p) if expand.contains(Expand::PAYMENT_INTENT) => payment_intent(p, Expand::NONE),
        _ => Value::String(stripe_id(r.payment, INTENT)),
    };
    json!({
        "id": r.id.to_string(),
        "object": "refund",
        "amount": r.amount,
        "balance_transaction": null,
        "charge": charge,
        "created": r.created,
        "currency": r.currency.as_str(),
        "destination_details": null,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    })
}

/// A PaymentIntent's status: the engine's, in Stripe's words.
pub(super) fn intent_status(p: &Payment) -> &'static str {
    match p.status {
        // A declined PaymentIntent waits for another payment method, as on Stripe.
        PaymentStatus::Failed | PaymentStatus::RequiresPaymentMethod => "requires_payment_method",
        PaymentStatus::RequiresConfirmation => "requires_confirmation",
        PaymentStatus::RequiresCapture => "requires_capture",
        PaymentStatus::Succeeded => "succeeded",
        PaymentStatus::Canceled => "canceled",
        PaymentStatus::RequiresAction => "requires_action",
    }
}

/// Why the gateway canceled a PaymentIntent by itself: Stripe says `automatic`
/// for an authorization that expired. A merchant's cancel is not stored (`null`).
fn cancellation_reason(p: &Payment) -> Option<&'static str> {
    match p.rare.cancellation_reason {
        Some(CancellationReason::Expired) => Some("automatic"),
        None => None,
    }
}

/// What the buyer has to do: open the 3-D Secure page while the challenge is open.
fn next_action(p: &Payment) -> Value {
    match (&p.rare.challenge, p.status) {
        (Some(challenge), PaymentStatus::RequiresAction) => json!({
            "type": "redirect_to_url",
            "redirect_to_url": {
                "url": challenge.url.as_ref(),
                "return_url": challenge.return_url.as_deref(),
            },
        }),
        _ => Value::Null,
    }
}

/// Unix seconds by which an uncaptured authorization must be captured; `null`
/// for payments never authorized uncaptured.
fn capture_before(p: &Payment) -> Value {
    p.rare
        .capture_before_ms
        .map_or(Value::Null, |ms| json!(ms / 1000))
}

/// `payment_method_details.card`, with `capture_before` where Stripe puts it.
fn card_details(p: &Payment) -> Value {
    let mut card = payment_methods::card(&p.payment_method, p.created);
    if let Value::Object(fields) = &mut card {
        fields.insert("capture_before".into(), capture_before(p));
    }
    card
}

/// The metadata kept as JSON text, as an object (`{}` when none).
fn metadata_json(p: &Payment) -> Value {
    p.metadata
        .as_deref()
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}))
}

/// A stable secret per PaymentIntent: derived from its id, never stored.
fn client_secret(id: PaymentId) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut suffix = String::with_capacity(24);
    for round in 0u8..2 {
        let mut h = DefaultHasher::new();
        (round, id).hash(&mut h);
        let mut n = h.finish();
        for _ in 0..12 {
            suffix.push(char::from(ALPHABET[(n % 62) as usize]));
            n /= 62;
        }
    }
    format!("{}_secret_{suffix}", stripe_id(id, INTENT))
}

/// The payment method as an id, or in full when expanded; `null` when none.
fn payment_method_ref(p: &Payment, expand: Expand) -> Value {
    match (&p.payment_method, expand.contains(Expand::PAYMENT_METHOD)) {
        (method, _) if method.is_none() => Value::Null,
        (PaymentMethod::Token(token), false) => Value::String(token.to_string()),
        (method, _) => payment_methods::json(method, p.created),
    }
}

/// The decline a failed or abandoned PaymentIntent reports; `null` otherwise.
fn last_payment_error(p: &Payment) -> Value {
    match (&p.decline_code, p.status) {
        // Not an issuer's decline: Stripe reports a failed 3-D Secure challenge as
        // an invalid request with its own code, and no decline code.
        (Some(code), PaymentStatus::Failed | PaymentStatus::Canceled)
            if code.as_ref() == AUTHENTICATION_FAILURE =>
        {
            json!({
                "type": "invalid_request_error",
                "code": AUTHENTICATION_FAILURE,
                "message": "The provided PaymentMethod has failed authentication. You can provide payment_method_data or a new PaymentMethod to attempt to fulfill this PaymentIntent again.",
                "doc_url": "https://stripe.com/docs/error-codes/payment-intent-authentication-failure",
                "payment_method": payment_methods::json(&p.payment_method, p.created),
            })
        }
        (Some(code), PaymentStatus::Failed | PaymentStatus::Canceled) => json!({
            "type": "card_error",
            "code": decline_error_code(code),
            "decline_code": code.as_ref(),
            "message": decline_message(code),
            "charge": stripe_id(p.id, CHARGE),
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", decline_error_code(code).replace('_', "-")),
            "payment_method": payment_methods::json(&p.payment_method, p.created),
        }),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_secrets_are_stable_and_name_their_payment_intent() {
        let id = PaymentId(0x1234_5678_9abc_def0);
        let pi = stripe_id(id, INTENT);
        assert!(client_secret(id).starts_with(&format!("{pi}_secret_")));
        assert_eq!(client_secret(id), client_secret(id));
    }

    #[test]
    fn a_payment_intent_written_straight_is_the_same_bytes_as_its_value_printed() {
        use std::sync::Arc;
        use std::time::Duration;

        use crate::engine::money::Currency;
        use crate::engine::{Cause, NewPayment};

        let engine = Engine::new(Duration::from_secs(60));
        let merchant = engine.merchant("sk_test_objects");
        let new = |capture, metadata: Option<&str>| NewPayment {
            amount: 1234,
            currency: Currency::parse("eur").expect("a currency"),
            payment_method: PaymentMethod::Token(Arc::from("pm_card_visa")),
            capture,
            reference: None,
            metadata: metadata.map(str::to_string),
            return_to: Default::default(),
        };
        // Metadata is kept as the compact text of a JSON map, keys sorted, as both dialects store it.
        let captured = engine
            .create_payment(
                merchant,
                new(true, Some(r#"{"note":"a \"quote\"","order_id":"o-1"}"#)),
                &Cause::none(),
                None,
            )
            .expect("created");
        let held = engine
            .create_payment(merchant, new(false, None), &Cause::none(), None)
            .expect("created");
        for p in [&captured, &held] {
            for expand in [Expand::NONE, Expand::ON_INTENT] {
                let value = payment_intent(p, expand);
                // Same bytes: the struct's fields are in the order a `Value` prints its keys.
                assert_eq!(
                    String::from_utf8(payment_intent_bytes(p, expand)).expect("UTF-8"),
                    value.to_string()
                );
                assert_eq!(value["object"], "payment_intent");
            }
        }
        assert_eq!(
            payment_intent(&captured, Expand::NONE)["metadata"],
            serde_json::json!({"order_id": "o-1", "note": "a \"quote\""})
        );
        assert_eq!(
            payment_intent(&held, Expand::NONE)["metadata"],
            serde_json::json!({})
        );
        assert_eq!(
            payment_intent(&held, Expand::NONE)["status"],
            "requires_capture"
        );
    }
}
