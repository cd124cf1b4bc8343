//! `/v1/payment_methods/{id}` and the catalogue behind it: what Stripe's test
//! payment methods (`pm_card_visa`, `pm_card_chargeDeclinedInsufficientFunds`,
//! `tok_mastercard`...) look like as payment methods and as the card on a
//! charge. Presentation only: whether one declines is the fault model's
//! business. Its own file because PaymentIntents and charges embed these
//! objects too.

use http::Method;
use serde_json::{Value, json};

use super::presentation::{Expand, Presentation, shown};
use super::resource::{Request, Resource};
use crate::api::request::path_segment;
use crate::api::{ApiError, Call, Operation, Outcome, Reply};
use crate::engine::{Engine, PaymentMethod};

/// `GET /v1/payment_methods/{id}`, for the test tokens the simulator knows.
pub(super) struct PaymentMethods;

impl Resource for PaymentMethods {
    /// The token the path names.
    type Route<'a> = &'a str;

    fn route<'a>(method: &Method, path: &[&'a str]) -> Option<&'a str> {
        match path {
            [id] if method == Method::GET => Some(id),
            _ => None,
        }
    }

    fn operation(id: &str, request: &Request<'_>) -> Result<(Operation, Presentation), ApiError> {
        let token = path_segment(id)?;
        request.params.only(&["expand"], false)?;
        let presentation = Presentation::object(
            show,
            "PaymentMethod",
            Expand::NONE,
            Some(&token),
            "payment_method",
        );
        Ok((Operation::RetrievePaymentMethod { token }, presentation))
    }
}

/// A looked-up payment method, `created` now in simulator time.
pub(super) fn show(
    engine: &Engine,
    _call: Option<&Call>,
    _presentation: &Presentation,
    outcome: &Outcome,
) -> Option<Reply> {
    let Outcome::PaymentMethod(method) = outcome else {
        return None;
    };
    let now = engine.clock().now_ms() / 1000;
    Some(shown(json(method, now)))
}

/// A payment method object; `null` for none. `now` (Unix seconds) is its
/// `created` and dates its card's expiry.
pub(super) fn json(method: &PaymentMethod, now: u64) -> Value {
    if method.is_none() {
        return Value::Null;
    }
    json!({
        "id": method.token(),
        "object": "payment_method",
        "billing_details": {
            "address": {"city": null, "country": null, "line1": null, "line2": null, "postal_code": null, "state": null},
            "email": null, "name": null, "phone": null,
        },
        "card": card(method, now),
        "created": now,
        "customer": null,
        "livemode": false,
        "metadata": {},
        "type": "card",
    })
}

/// The card of a payment method (also a charge's `payment_method_details.card`).
pub(super) fn card(method: &PaymentMethod, now: u64) -> Value {
    let (brand, last4, funding, exp_month, exp_year) = match method {
        PaymentMethod::Token(token) => {
            let (brand, last4, funding) = test_card(token);
            (brand, last4.to_string(), funding, 12, next_year(now))
        }
        PaymentMethod::Card {
            last4,
            exp_month,
            exp_year,
        } => (
            "unknown",
            String::from_utf8_lossy(last4).into_owned(),
            "unknown",
            u64::from(*exp_month),
            u64::from(*exp_year),
        ),
    };
    json!({
        "brand": brand,
        "checks": {"address_line1_check": null, "address_postal_code_check": null, "cvc_check": "pass"},
        "country": "US",
        "exp_month": exp_month,
        "exp_year": exp_year,
        "fingerprint": null,
        "funding": funding,
        "last4": last4,
        "networks": {"available": [brand], "preferred": null},
        "three_d_secure_usage": {"supported": true},
        "wallet": null,
    })
}

/// What Stripe's test payment methods look like: brand, last four digits, funding.
fn test_card(token: &str) -> (&'static str, &'static str, &'static str) {
    let name = token
        .strip_prefix("pm_card_")
        .or_else(|| token.strip_prefix("tok_"))
        .unwrap_or(token);
    let name = match name.strip_prefix("visa_") {
        Some(rest) if rest.starts_with("chargeDeclined") => rest,
        _ => name,
    };
    match name {
        "visa" => ("visa", "4242", "credit"),
        "visa_debit" => ("visa", "5556", "debit"),
        "mastercard" => ("mastercard", "4444", "credit"),
        "mastercard_debit" => ("mastercard", "8210", "debit"),
        "mastercard_prepaid" => ("mastercard", "5100", "prepaid"),
        "amex" => ("amex", "8431", "credit"),
        "discover" => ("discover", "1117", "credit"),
        "diners" => ("diners", "0004", "credit"),
        "jcb" => ("jcb", "0505", "credit"),
        "unionpay" => ("unionpay", "0005", "credit"),
        "chargeDeclined" => ("visa", "0002", "credit"),
        "chargeDeclinedInsufficientFunds" => ("visa", "9995", "credit"),
        "chargeDeclinedLostCard" => ("visa", "9987", "credit"),
        "chargeDeclinedStolenCard" => ("visa", "9979", "credit"),
        "chargeDeclinedExpiredCard" => ("visa", "0069", "credit"),
        "chargeDeclinedIncorrectCvc" => ("visa", "0127", "credit"),
        "chargeDeclinedProcessingError" => ("visa", "0119", "credit"),
        "chargeDeclinedFraudulent" => ("visa", "0019", "credit"),
        "chargeDeclinedVelocityLimitExceeded" => ("visa", "6975", "credit"),
        "radarBlock" => ("visa", "9235", "credit"),
        _ => ("unknown", "0000", "unknown"),
    }
}

/// Test cards expire at the end of next year, seen from `now` (Unix seconds).
fn next_year(now: u64) -> u64 {
    1970 + now / 31_556_952 + 1
}
