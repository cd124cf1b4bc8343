//! The one error shape every front door answers with:
//! `{"error": {"type", "code", "message", "param", ...}}` and the right status.

use bytes::Bytes;
use http::StatusCode;
use serde::Serialize;

use super::Reply;
use crate::engine::EngineError;

/// An error answer. `type` groups errors the way gateway SDKs do; `code` is the
/// precise, stable reason a program can branch on; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
    /// Declines name the failed payment and why it was declined.
    pub decline: Option<Box<Decline>>,
    /// For 405 answers: the methods the route does take.
    pub allow: Option<&'static str>,
}

/// What a decline adds to an error: the failed payment and the decline code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    pub payment_id: String,
    pub decline_code: String,
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    code: &'a str,
    message: &'a str,
    param: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    decline_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_id: Option<&'a str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            kind,
            code,
            message: message.into(),
            param: None,
            decline: None,
            allow: None,
        }
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400 for a request the gateway will not run as written.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            code,
            message,
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "missing_api_key",
            "No API key provided. Send it as `Authorization: Bearer <api key>`; any non-empty key names a merchant account.",
        )
    }

    pub fn unauthorized_admin() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request_error",
            "admin_token_required",
            "This simulator was started with an admin token: send it as `X-Admin-Token: <token>` or `Authorization: Bearer <token>`.",
        )
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            code,
            message,
        )
    }

    pub fn unknown_route(method: &http::Method, path: &str) -> Self {
        Self::not_found(
            "unknown_route",
            format!(
                "Unrecognized request URL ({method} {path}). See the README for the API's routes."
            ),
        )
    }

    pub fn method_not_allowed(method: &http::Method, path: &str, allowed: &'static str) -> Self {
        let mut e = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "invalid_request_error",
            "method_not_allowed",
            format!("{method} is not allowed on {path}; allowed: {allowed}"),
        );
        e.allow = Some(allowed);
        e
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request_error",
            "body_too_large",
            format!("The request body is larger than {limit} bytes."),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request_error",
            "unsupported_media_type",
            "Send the body as JSON with `Content-Type: application/json`.",
        )
    }

    pub fn idempotency(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::new(status, "idempotency_error", code, message)
    }

    /// The key was first used with another method, path or body.
    pub fn idempotency_key_mismatch(key: &str) -> Self {
        Self::idempotency(
            StatusCode::BAD_REQUEST,
            "idempotency_key_mismatch",
            format!(
                "Keys for idempotent requests can only be used with the same method, path and \
                 body they were first used with. Use a new key for a different request (key '{key}')."
            ),
        )
    }

    /// A request with the same key is still running; its answer is not stored yet.
    pub fn idempotency_key_in_use(key: &str) -> Self {
        Self::idempotency(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            format!(
                "A request with idempotency key '{key}' is still being processed; retry in a \
                 moment to get its result."
            ),
        )
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_error",
            "rate_limit",
            format!("Too many requests for this merchant; retry after {retry_after_secs} s."),
        )
    }

    /// An injected server failure (HTTP 500 or 503 from the fault model).
    pub fn injected(status: StatusCode) -> Self {
        let (code, message) = if status == StatusCode::SERVICE_UNAVAILABLE {
            (
                "service_unavailable",
                "The gateway is temporarily unavailable (injected fault).",
            )
        } else {
            (
                "internal_error",
                "The gateway had an internal error (injected fault).",
            )
        };
        Self::new(status, "api_error", code, message)
    }

    /// 503: every `[gateway.capacity]` worker is busy and the queue before them is full.
    pub fn queue_full() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "api_error",
            "service_unavailable",
            "The gateway is overloaded: every worker is busy and its queue is full.",
        )
    }

    pub fn declined(payment_id: String, decline_code: &str) -> Self {
        let mut e = Self::new(
            StatusCode::PAYMENT_REQUIRED,
            "card_error",
            "card_declined",
            decline_message(decline_code),
        );
        e.decline = Some(Box::new(Decline {
            payment_id,
            decline_code: decline_code.to_string(),
        }));
        e
    }

    pub fn to_json(&self) -> Bytes {
        let envelope = Envelope {
            error: Body {
                kind: self.kind,
                code: self.code,
                message: &self.message,
                param: self.param.as_deref(),
                decline_code: self.decline.as_ref().map(|d| d.decline_code.as_str()),
                payment_id: self.decline.as_ref().map(|d| d.payment_id.as_str()),
            },
        };
        // Serializing plain strings and options into a Vec cannot fail.
        Bytes::from(serde_json::to_vec(&envelope).unwrap_or_default())
    }

    pub fn into_reply(self) -> Reply {
        let mut reply = Reply::json(self.status, self.to_json());
        reply.allow = self.allow;
        reply
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::NoSuchPayment(id) => {
                ApiError::not_found("resource_missing", format!("No such payment: '{id}'"))
                    .with_param("id")
            }
            EngineError::NotHeld { id, window_seconds } => ApiError::not_found(
                "resource_missing",
                format!(
                    "No such payment: '{id}' (this gateway runs with --retain {window_seconds}s: payments settled longer ago than that leave memory; --data-dir's journal keeps them)"
                ),
            )
            .with_param("id"),
            EngineError::NoSuchCheckoutSession(id) => ApiError::not_found(
                "resource_missing",
                format!("No such checkout.session: '{id}'"),
            )
            .with_param("session"),
            EngineError::InvalidState(message) => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                "invalid_state",
                message,
            ),
            EngineError::NoSuchDispute(id) => {
                ApiError::not_found("resource_missing", format!("No such dispute: '{id}'"))
                    .with_param("id")
            }
            EngineError::Disputed(message) => ApiError::new(
                StatusCode::CONFLICT,
                "invalid_request_error",
                "charge_disputed",
                message,
            ),
            e @ EngineError::InvalidAmount => {
                ApiError::invalid("invalid_amount", e.to_string()).with_param("amount")
            }
            e @ EngineError::AmountTooLarge { .. } => {
                ApiError::invalid("amount_too_large", e.to_string()).with_param("amount")
            }
        }
    }
}

fn decline_message(code: &str) -> String {
    match code {
        "insufficient_funds" => "Your card has insufficient funds.",
        "lost_card" | "stolen_card" => "Your card was declined.",
        "expired_card" => "Your card has expired.",
        "incorrect_cvc" => "Your card's security code is incorrect.",
        "processing_error" => {
            "An error occurred while processing your card. Try again in a little bit."
        }
        "fraudulent" => "Your card was declined.",
        _ => "Your card was declined.",
    }
    .to_string()
}
