//! One delivery attempt: a signed `POST` to the endpoint, bounded by the attempt
//! timeout, over keep-alive connections pooled per receiver (hyper's client), so
//! a busy receiver costs one connect per connection, not one per event. Whatever
//! the receiver does (refuses, hangs, redirects, answers garbage or a huge body)
//! comes back as a failed [`Attempt`], never as a panic or a stuck task.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// How much of a receiver's answer is read (and thrown away) so its connection
/// can carry the next delivery; a longer answer closes the connection instead.
const ANSWER_READ_LIMIT: usize = 64 * 1024;

/// How an attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why the attempt failed before a status came back.
    pub error: Option<String>,
    pub duration: Duration,
}

impl Attempt {
    /// Delivered: the receiver answered 2xx. Anything else is retried.
    pub fn delivered(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// The HTTP client every attempt goes through (cheap to clone).
#[derive(Clone)]
pub struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Sender {
    pub fn new() -> Sender {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Sender {
            client: Client::builder(TokioExecutor::new())
                .pool_idle_timeout(Duration::from_secs(30))
                .build(connector),
        }
    }

    /// POSTs `body` to `url` with the signature header, within `timeout`.
    pub async fn post(
        &self,
        url: &str,
        signature_header: &'static str,
        signature: String,
        body: Bytes,
        timeout: Duration,
    ) -> Attempt {
        let started = Instant::now();
        let exchange = self.exchange(url, signature_header, signature, body);
        let (status, error) = match tokio::time::timeout(timeout, exchange).await {
            Ok(Ok(status)) => (Some(status), None),
            Ok(Err(e)) => (None, Some(e)),
            Err(_) => (None, Some(format!("timed out after {timeout:?}"))),
        };
        Attempt {
            status,
            error,
            duration: started.elapsed(),
        }
    }

    async fn exchange(
        &self,
        url: &str,
        signature_header: &'static str,
        signature: String,
        body: Bytes,
    ) -> Result<u16, String> {
        let uri: Uri = url.parse().map_err(|e| format!("bad url: {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(
                "gateway-sim delivers over plain http only; put a TLS-terminating proxy in front of an https receiver, or give an http:// URL".to_string(),
            );
        }
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(
                http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            )
            .header(http::header::USER_AGENT, "gateway-sim webhooks")
            .body(Full::new(body))
            .map_err(|e| format!("request: {e}"))?;
        if let Ok(value) = HeaderValue::from_str(&signature) {
            request.headers_mut().insert(signature_header, value);
        }
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        // Read a bounded answer so the connection returns to the pool; a huge one
        // is abandoned (and its connection closed), never held in memory.
        let _ = Limited::new(response.into_body(), ANSWER_READ_LIMIT)
            .collect()
            .await;
        Ok(status)
    }
}

/// The client's error with its cause (hyper's own text is often just "client error").
fn describe(e: &hyper_util::client::legacy::Error) -> String {
    let mut text = if e.is_connect() {
        "connect: ".to_string()
    } else {
        "receiver's answer: ".to_string()
    };
    text.push_str(&e.to_string());
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
