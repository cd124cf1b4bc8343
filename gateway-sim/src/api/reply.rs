//! [`Reply`]: an HTTP answer before it meets hyper, and its stored form, the
//! one an idempotency key replays byte for byte. Its own file because the
//! server, the control plane and every dialect build replies.

use bytes::Bytes;
use http::StatusCode;

use super::compact;
use crate::engine::idempotency::StoredResponse;

/// An HTTP answer before it meets hyper.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
    /// Set on answers replayed from an idempotency key (`Idempotent-Replayed: true`).
    pub replayed: bool,
    /// Seconds, for 429 answers (`Retry-After`).
    pub retry_after: Option<u64>,
    /// For 405 answers (`Allow`).
    pub allow: Option<&'static str>,
    /// Whether retrying the request is safe, for dialects that tell clients
    /// (`Stripe-Should-Retry`); `None` sends no advice.
    pub should_retry: Option<bool>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Bytes) -> Reply {
        Reply {
            status,
            body,
            replayed: false,
            retry_after: None,
            allow: None,
            should_retry: None,
        }
    }

    pub fn ok(body: Bytes) -> Reply {
        Reply::json(StatusCode::OK, body)
    }

    /// The stored answer, replayed: the same status and bytes, marked as a replay.
    pub fn replay(stored: &StoredResponse) -> Reply {
        let mut reply = Reply::json(
            StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
            compact::unpack(&stored.body),
        );
        reply.replayed = true;
        reply
    }
}

impl From<&Reply> for StoredResponse {
    fn from(r: &Reply) -> Self {
        StoredResponse {
            status: r.status.as_u16(),
            body: compact::pack(&r.body),
        }
    }
}
