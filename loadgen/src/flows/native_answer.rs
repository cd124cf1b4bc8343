//! How the flows read gateway-sim's native answers: the few fields they need
//! ([`Brief`]), and what an answer means for the payment ([`PaymentReply`]: a charge, a
//! decline, a refusal, or nobody knows).
//!
//! Beside `native.rs`, which plays the native flows, rather than in it: the session reads
//! every answer this way as it records an attempt (its payment id and error), so the
//! session depends on this model, and `native.rs` depends on the session; in one file
//! the two would import each other.

use super::transport::{HttpAnswer, TransportFailure};

/// The fields of a gateway answer the flows read; everything else in the body
/// is skipped without being stored (parsing a whole payment into a
/// `serde_json::Value` costs a score of allocations per request).
///
/// One shape covers a payment (`object: "payment"`, `id`, `status`), a refund
/// (`object: "refund"`, `payment_id`), an error (`error`), and an
/// idempotency-key lookup (`status: "completed"`, `response`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Brief {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub object: Option<String>,
    /// A payment's status, or an idempotency key's (`in_flight`, `completed`).
    #[serde(default)]
    pub status: Option<String>,
    /// A refund's payment.
    #[serde(default)]
    pub payment_id: Option<String>,
    #[serde(default)]
    pub error: Option<BriefError>,
    /// The answer stored under an idempotency key.
    #[serde(default)]
    pub response: Option<StoredBrief>,
    /// The 3-D Secure page the buyer opens, while a payment `requires_action`.
    #[serde(default)]
    pub action_url: Option<String>,
}

/// The `error` object of an error answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct BriefError {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub decline_code: Option<String>,
    #[serde(default)]
    pub payment_id: Option<String>,
}

/// The brief of an answer stored under an idempotency key (gateway-sim keeps the
/// answer itself, as its `StoredResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct StoredBrief {
    #[serde(default)]
    pub status: Option<u16>,
    #[serde(default)]
    pub body: Option<Box<Brief>>,
}

impl Brief {
    /// The payment id this answer names: a payment's `id`, a refund's
    /// `payment_id`, or that of the answer stored under an idempotency key.
    pub fn payment_id(&self) -> Option<&str> {
        match self.object.as_deref() {
            Some("payment") => self.id.as_deref(),
            Some("refund") => self.payment_id.as_deref(),
            _ => match self.response.as_ref().and_then(|r| r.body.as_deref()) {
                Some(stored) => stored
                    .payment_id()
                    .or_else(|| stored.error.as_ref()?.payment_id.as_deref()),
                None => None,
            },
        }
    }

    fn error_code(&self) -> Option<&str> {
        self.error.as_ref()?.code.as_deref()
    }
}

/// What a gateway answer says about the payment: the client's reading of status and
/// body, which decides whether it knows what happened.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentReply {
    /// 2xx with a JSON body.
    Ok(Brief),
    /// 402: the card was declined; no money moved.
    Declined {
        payment_id: Option<String>,
        code: Option<String>,
    },
    /// 409 `idempotency_key_in_use`: the same key is still running elsewhere.
    InUse,
    /// 404.
    NotFound,
    /// Any other 4xx, or a 429: the gateway refused, no money moved.
    Rejected { status: u16, code: Option<String> },
    /// Timeout, dropped connection, 5xx or an unreadable 2xx: nobody knows.
    Ambiguous(String),
}

impl PaymentReply {
    /// Whether this answer settles the question "did it happen?".
    pub fn is_definitive(&self) -> bool {
        matches!(
            self,
            PaymentReply::Ok(_) | PaymentReply::Declined { .. } | PaymentReply::Rejected { .. }
        )
    }
}

/// Reads an exchange into a [`PaymentReply`], plus the payment id it names (for the outcome).
pub fn read_reply(
    answer: &Result<HttpAnswer, TransportFailure>,
) -> (PaymentReply, Option<u16>, Option<String>) {
    let answer = match answer {
        Ok(a) => a,
        Err(failure) => return (PaymentReply::Ambiguous(failure.to_string()), None, None),
    };
    let status = answer.status;
    let brief: Option<Brief> = serde_json::from_slice(&answer.body).ok();
    let code = || {
        brief
            .as_ref()
            .and_then(|b| b.error_code())
            .map(str::to_owned)
    };
    let reply = match status {
        200..=299 => match &brief {
            Some(b) => PaymentReply::Ok(b.clone()),
            None => PaymentReply::Ambiguous(format!("HTTP {status} with an unreadable body")),
        },
        402 => {
            let error = brief.as_ref().and_then(|b| b.error.as_ref());
            PaymentReply::Declined {
                payment_id: error.and_then(|e| e.payment_id.clone()),
                code: error.and_then(|e| e.decline_code.clone().or_else(|| e.code.clone())),
            }
        }
        404 => PaymentReply::NotFound,
        409 if code().as_deref() == Some("idempotency_key_in_use") => PaymentReply::InUse,
        400..=499 => PaymentReply::Rejected {
            status,
            code: code(),
        },
        _ => PaymentReply::Ambiguous(format!(
            "HTTP {status}{}",
            code().map(|c| format!(" {c}")).unwrap_or_default()
        )),
    };
    let payment_id = match &reply {
        PaymentReply::Ok(b) => b.payment_id().map(str::to_owned),
        PaymentReply::Declined { payment_id, .. } => payment_id.clone(),
        _ => None,
    };
    (reply, Some(status), payment_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::scripted::{json, payment};

    #[test]
    fn replies_are_read_by_status_and_code() {
        let ok = json(200, payment("pay_1", "succeeded", 10, 10));
        let (reply, status, pid) = read_reply(&ok);
        assert!(matches!(reply, PaymentReply::Ok(_)));
        assert_eq!((status, pid.as_deref()), (Some(200), Some("pay_1")));

        let declined = json(
            402,
            serde_json::json!({"error": {"type": "card_error", "code": "card_declined",
                "decline_code": "insufficient_funds", "payment_id": "pay_2"}}),
        );
        let (reply, _, pid) = read_reply(&declined);
        assert_eq!(
            reply,
            PaymentReply::Declined {
                payment_id: Some("pay_2".into()),
                code: Some("insufficient_funds".into())
            }
        );
        assert_eq!(pid.as_deref(), Some("pay_2"));

        let in_use = json(
            409,
            serde_json::json!({"error": {"code": "idempotency_key_in_use"}}),
        );
        assert_eq!(read_reply(&in_use).0, PaymentReply::InUse);
        let invalid_state = json(409, serde_json::json!({"error": {"code": "invalid_state"}}));
        assert!(matches!(
            read_reply(&invalid_state).0,
            PaymentReply::Rejected { status: 409, .. }
        ));
        let limited = json(429, serde_json::json!({"error": {"code": "rate_limited"}}));
        assert!(matches!(
            read_reply(&limited).0,
            PaymentReply::Rejected { status: 429, .. }
        ));
        let broken = json(503, serde_json::json!({"error": {"code": "unavailable"}}));
        assert!(matches!(read_reply(&broken).0, PaymentReply::Ambiguous(_)));
        let garbled = Ok(HttpAnswer {
            status: 200,
            replayed: false,
            body: b"{\"id\":".to_vec(),
        });
        assert!(matches!(read_reply(&garbled).0, PaymentReply::Ambiguous(_)));
        assert!(matches!(
            read_reply(&Err(TransportFailure::Timeout)),
            (PaymentReply::Ambiguous(_), None, None)
        ));
    }
}
