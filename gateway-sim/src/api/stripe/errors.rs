//! Errors in Stripe's shape: `{"error": {"type", "code", "message", "param",
//! "doc_url", ...}}`. Its own file because every resource raises them and the
//! SDKs choose their exception from them, so the shape must not drift between
//! resources.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::api::{ApiError, Reply};

/// Any error in Stripe's shape. Stripe has no `rate_limit_error` type: a 429 is
/// an `invalid_request_error` with code `rate_limit` (the SDKs pick their
/// exception by status).
pub(super) fn error_reply(e: &ApiError) -> Reply {
    error_with(e, Map::new())
}

/// An error with fields beyond the common ones (the PaymentIntent a decline or
/// a state conflict concerns, its charge, the decline code).
pub(super) fn error_with(e: &ApiError, extra: Map<String, Value>) -> Reply {
    let kind = match e.kind {
        "rate_limit_error" => "invalid_request_error",
        other => other,
    };
    let mut body = Map::new();
    body.insert("type".into(), json!(kind));
    body.insert("code".into(), json!(e.code));
    body.insert("message".into(), json!(e.message));
    if let Some(param) = &e.param {
        body.insert("param".into(), json!(param));
    }
    body.insert(
        "doc_url".into(),
        json!(format!(
            "https://stripe.com/docs/error-codes/{}",
            e.code.replace('_', "-")
        )),
    );
    body.extend(extra);
    let mut reply = Reply::json(
        e.status,
        Bytes::from(json!({ "error": Value::Object(body) }).to_string()),
    );
    reply.should_retry = should_retry(e.status, e.code);
    reply
}

/// `Stripe-Should-Retry`, as Stripe sends it: `true` where the same request may still succeed
/// (a server error, a key still in use by a request in flight), `false` where it never will
/// (a decline, a request the API will not run as written); no advice elsewhere. Every Stripe
/// error is born in [`error_with`], so every one carries it; the official SDKs obey it before
/// their own rules when `max_network_retries` is set.
pub(super) fn should_retry(status: StatusCode, code: &str) -> Option<bool> {
    match status {
        s if s.is_server_error() => Some(true),
        StatusCode::CONFLICT => (code == "idempotency_key_in_use").then_some(true),
        StatusCode::BAD_REQUEST | StatusCode::PAYMENT_REQUIRED => Some(false),
        _ => None,
    }
}

/// 404 `resource_missing` for the object `id` named through `param`.
pub(super) fn no_such(noun: &str, param: &str, id: &str) -> Reply {
    error_reply(
        &ApiError::not_found("resource_missing", format!("No such {noun}: '{id}'"))
            .with_param(param),
    )
}

/// Stripe answers an unknown path, or a known path with the wrong method, with 404.
pub(super) fn unrecognized_url(method: &Method, path: &str) -> ApiError {
    ApiError::not_found(
        "unrecognized_request_url",
        format!(
            "Unrecognized request URL ({method}: {path}). gateway-sim serves a subset of Stripe's API: see docs/stripe.md."
        ),
    )
}

/// How Stripe reports a decline: `card_declined` with the issuer's `decline_code`,
/// except the few reasons that have their own error code.
pub(super) fn decline_error_code(decline_code: &str) -> &'static str {
    match decline_code {
        "expired_card" => "expired_card",
        "incorrect_cvc" => "incorrect_cvc",
        "incorrect_number" => "incorrect_number",
        "processing_error" => "processing_error",
        "payment_intent_authentication_failure" => "payment_intent_authentication_failure",
        _ => "card_declined",
    }
}

/// What the cardholder is told about a decline (the same words in both dialects).
pub(super) fn decline_message(decline_code: &str) -> String {
    ApiError::declined(String::new(), decline_code).message
}
