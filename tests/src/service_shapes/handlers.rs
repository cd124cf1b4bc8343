//! The three shapes' endpoints. Each reads its own request shape strictly (a missing field
//! or header is a 400), asks the gateway, and answers in its shape.

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;

use super::Shape;
use super::gateway::{Answer, Gateway};
use crate::http_service::reply;

const MAX_BODY: usize = 64 * 1024;

pub struct ShapeState {
    shape: Shape,
    gateway: Gateway,
    /// The saga participant's authorizations: order id → the gateway's payment id.
    authorizations: Mutex<HashMap<String, String>>,
}

impl ShapeState {
    pub fn new(shape: Shape, gateway: Gateway) -> ShapeState {
        ShapeState {
            shape,
            gateway,
            authorizations: Mutex::new(HashMap::new()),
        }
    }
}

pub async fn route(state: &ShapeState, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    if parts.method != Method::POST {
        return reply(StatusCode::NOT_FOUND, json!({"message": "not found"}));
    }
    let key = parts
        .headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let Ok(body) = Limited::new(body, MAX_BODY).collect().await else {
        return bad_request("unreadable body");
    };
    let body = body.to_bytes();
    let path = parts.uri.path();
    match (state.shape, path) {
        (Shape::OrderService, "/payments/process") => process_order(state, &body).await,
        (Shape::ChargeService, "/v1/charge") => charge(state, key, &body).await,
        (Shape::SagaParticipant, "/payments/authorize") => authorize(state, key, &body).await,
        (Shape::SagaParticipant, _) => {
            let step = path
                .strip_prefix("/payments/")
                .and_then(|rest| rest.rsplit_once('/'));
            match step {
                Some((order_id, "capture")) => settle(state, order_id, key, true).await,
                Some((order_id, "void")) => settle(state, order_id, key, false).await,
                _ => reply(StatusCode::NOT_FOUND, json!({"message": "not found"})),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, json!({"message": "not found"})),
    }
}

fn bad_request(why: &str) -> Response<Full<Bytes>> {
    reply(StatusCode::BAD_REQUEST, json!({"message": why}))
}

fn unavailable(answer: &Answer) -> Response<Full<Bytes>> {
    let why = match answer {
        Ok((status, body)) => format!("gateway answered {status}: {body}"),
        Err(e) => e.clone(),
    };
    reply(
        StatusCode::BAD_GATEWAY,
        json!({"status": "error", "message": why}),
    )
}

/// Creates a payment for an order (captured at once, or only authorized).
async fn create(
    state: &ShapeState,
    key: &str,
    order_id: &str,
    amount: i64,
    currency: &str,
    capture: bool,
) -> Answer {
    let body = json!({
        "amount": amount,
        "currency": currency,
        "payment_method": "pm_card_visa",
        "capture": capture,
        "reference": order_id,
    });
    state.gateway.post("/v1/payments", key, &body).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    order_id: String,
    amount: String,
    currency: String,
}

async fn process_order(state: &ShapeState, body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(order) = serde_json::from_slice::<OrderBody>(body) else {
        return bad_request("expected {\"order_id\", \"amount\": \"19.99\", \"currency\"}");
    };
    let Some(amount) = minor_units(&order.amount, &order.currency) else {
        return bad_request("amount must be a decimal string such as \"19.99\"");
    };
    let key = format!("order-{}", order.order_id);
    let answer = create(state, &key, &order.order_id, amount, &order.currency, true).await;
    match &answer {
        Ok((200, payment)) if payment["status"] == "succeeded" => reply(
            StatusCode::OK,
            json!({"order_id": order.order_id, "status": "paid", "payment_id": payment["id"]}),
        ),
        Ok((402, payment)) => reply(
            StatusCode::PAYMENT_REQUIRED,
            json!({"order_id": order.order_id, "status": "declined", "decline_code": payment["decline_code"]}),
        ),
        _ => unavailable(&answer),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChargeBody {
    merchant_order_id: String,
    amount_cents: i64,
    currency: String,
}

async fn charge(state: &ShapeState, key: Option<String>, body: &[u8]) -> Response<Full<Bytes>> {
    let Some(key) = key else {
        return bad_request("Idempotency-Key header required");
    };
    let Ok(charge) = serde_json::from_slice::<ChargeBody>(body) else {
        return bad_request("expected {\"merchant_order_id\", \"amount_cents\", \"currency\"}");
    };
    let key = format!("charge-{key}");
    let answer = create(
        state,
        &key,
        &charge.merchant_order_id,
        charge.amount_cents,
        &charge.currency,
        true,
    )
    .await;
    match &answer {
        Ok((200, payment)) if payment["status"] == "succeeded" => reply(
            StatusCode::CREATED,
            json!({"id": payment["id"], "status": "succeeded", "merchant_order_id": charge.merchant_order_id}),
        ),
        Ok((402, _)) => reply(
            StatusCode::PAYMENT_REQUIRED,
            json!({"status": "failed", "failure_code": "card_declined"}),
        ),
        _ => unavailable(&answer),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizeBody {
    order_id: String,
    amount: i64,
    currency: String,
}

async fn authorize(state: &ShapeState, key: Option<String>, body: &[u8]) -> Response<Full<Bytes>> {
    let Some(key) = key else {
        return bad_request("Idempotency-Key header required");
    };
    let Ok(order) = serde_json::from_slice::<AuthorizeBody>(body) else {
        return bad_request("expected {\"order_id\", \"amount\", \"currency\"}");
    };
    let key = format!("authorize-{key}");
    let answer = create(
        state,
        &key,
        &order.order_id,
        order.amount,
        &order.currency,
        false,
    )
    .await;
    match &answer {
        Ok((200, payment)) if payment["status"] == "requires_capture" => {
            let Some(payment_id) = payment["id"].as_str() else {
                return unavailable(&answer);
            };
            state
                .authorizations
                .lock()
                .insert(order.order_id.clone(), payment_id.to_string());
            reply(
                StatusCode::OK,
                json!({"order_id": order.order_id, "status": "authorized"}),
            )
        }
        Ok((402, _)) => reply(StatusCode::PAYMENT_REQUIRED, json!({"status": "declined"})),
        _ => unavailable(&answer),
    }
}

/// Captures (`capture`) or voids the order's authorization.
async fn settle(
    state: &ShapeState,
    order_id: &str,
    key: Option<String>,
    capture: bool,
) -> Response<Full<Bytes>> {
    let Some(key) = key else {
        return bad_request("Idempotency-Key header required");
    };
    let payment_id = state.authorizations.lock().get(order_id).cloned();
    let Some(payment_id) = payment_id else {
        return reply(
            StatusCode::NOT_FOUND,
            json!({"message": "no authorization for this order"}),
        );
    };
    let (operation, wanted, told) = if capture {
        ("capture", "succeeded", "captured")
    } else {
        ("cancel", "canceled", "voided")
    };
    let path = format!("/v1/payments/{payment_id}/{operation}");
    let answer = state
        .gateway
        .post(&path, &format!("{operation}-{key}"), &json!({}))
        .await;
    match &answer {
        Ok((200, payment)) if payment["status"] == wanted => reply(
            StatusCode::OK,
            json!({"order_id": order_id, "status": told}),
        ),
        _ => unavailable(&answer),
    }
}

/// A decimal amount in major units as minor units, without floats: "19.99" → 1999 (usd),
/// "1999" → 1999 (jpy). `None` for anything else, or more decimals than the currency has.
fn minor_units(decimal: &str, currency: &str) -> Option<i64> {
    let decimals = match currency.to_ascii_lowercase().as_str() {
        "jpy" | "krw" | "vnd" | "clp" => 0,
        "bhd" | "jod" | "kwd" | "omr" | "tnd" => 3,
        _ => 2,
    };
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (!fraction.is_empty() && !digits(fraction)) || fraction.len() > decimals {
        return None;
    }
    let padded = format!("{fraction:0<decimals$}");
    let unit = 10_i64.checked_pow(decimals as u32)?;
    let whole: i64 = whole.parse().ok()?;
    let fraction: i64 = if decimals == 0 {
        0
    } else {
        padded.parse().ok()?
    };
    whole.checked_mul(unit)?.checked_add(fraction)
}

#[cfg(test)]
mod tests {
    use super::minor_units;

    #[test]
    fn decimal_amounts_become_minor_units_exactly() {
        assert_eq!(minor_units("19.99", "usd"), Some(1999));
        assert_eq!(minor_units("0.05", "usd"), Some(5));
        assert_eq!(minor_units("7", "usd"), Some(700));
        assert_eq!(minor_units("7.5", "eur"), Some(750));
        assert_eq!(minor_units("1999", "jpy"), Some(1999));
        assert_eq!(minor_units("1.999", "kwd"), Some(1999));
        for bad in ["", "1.999", "-1.00", "1e3", "19.99.1", ".5", "abc"] {
            assert_eq!(minor_units(bad, "usd"), None, "{bad:?}");
        }
        assert_eq!(minor_units("19.5", "jpy"), None);
    }
}
