//! What a flow sends and what comes back, with no HTTP client behind it: the request
//! ([`ApiRequest`]), the answer, the failure when no answer came, and the [`Transport`]
//! trait that sends them.
//!
//! Its own file so that flows depend on this seam and not on goose: the goose adapter
//! implements [`Transport`] for runs, scripted fakes implement it for the flows' tests,
//! and neither side has to know the other.

use std::time::Instant;

/// HTTP methods the flows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn parse(upper: &str) -> Option<Self> {
        match upper {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "PATCH" => Some(Self::Patch),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// One request a flow wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// create | capture | cancel | refund | lookup | service: names the request
    /// in goose's report and in the latency table.
    pub step: &'static str,
    pub method: HttpMethod,
    /// Path (and query) joined to the host.
    pub path: String,
    /// Sent as `Authorization: Bearer <key>`.
    pub bearer: Option<String>,
    pub idempotency_key: Option<String>,
    /// A JSON body, sent with `Content-Type: application/json` unless `headers` name one.
    pub body: Option<String>,
    /// Extra headers (`--service` templates).
    pub headers: Vec<(String, String)>,
}

/// What came back over HTTP, before anyone reads it as a payment answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// The gateway said `Idempotent-Replayed: true`.
    pub replayed: bool,
    pub body: Vec<u8>,
}

/// Why no answer came back: the client does not know what the server did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    Timeout,
    /// Refused, reset or closed before a whole answer arrived.
    Connection(String),
    Other(String),
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::Connection(m) => write!(f, "connection: {m}"),
            Self::Other(m) => write!(f, "request failed: {m}"),
        }
    }
}

/// One request and its answer, timed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub sent: Instant,
    pub done: Instant,
    pub answer: Result<HttpAnswer, TransportFailure>,
}

/// Sends requests for flows. Implemented over goose
/// ([`GooseTransport`](super::goose_adapter::GooseTransport)) for runs, and by scripted fakes in tests.
pub trait Transport: Send {
    fn send(&mut self, request: &ApiRequest) -> impl Future<Output = Exchange> + Send;

    /// Sends both at once (the double click): neither waits for the other's answer.
    fn send_pair(
        &mut self,
        first: &ApiRequest,
        second: &ApiRequest,
    ) -> impl Future<Output = (Exchange, Exchange)> + Send;

    /// Whether the run was cancelled (Ctrl-C) and no new order should start.
    fn cancelled(&self) -> bool {
        false
    }
}
