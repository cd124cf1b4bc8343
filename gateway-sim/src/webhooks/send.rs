//! One delivery attempt: a signed `POST` to the endpoint, over a fresh
//! connection, bounded by the attempt timeout. Whatever the receiver does
//! (refuses, hangs, redirects, answers garbage or a huge body) comes back as a
//! failed [`Attempt`], never as a panic or a stuck task.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use tokio::net::TcpStream;

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

/// POSTs `body` to `url` with the signature header, within `timeout`.
pub async fn post(
    url: &str,
    signature_header: &'static str,
    signature: String,
    body: Bytes,
    timeout: Duration,
) -> Attempt {
    let started = Instant::now();
    let result =
        tokio::time::timeout(timeout, exchange(url, signature_header, signature, body)).await;
    let (status, error) = match result {
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
    let host = uri.host().ok_or("the url has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    // The connection is driven beside the request and ends with it.
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let authority = uri.authority().map_or(host, |a| a.as_str());
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(http::header::HOST, authority)
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
    let outcome = sender.send_request(request).await;
    // The answer's body is not read: the status is all a delivery needs, and a
    // receiver that answers a huge body must not cost memory here.
    driver.abort();
    let response = outcome.map_err(|e| format!("receiver's answer: {e}"))?;
    Ok(response.status().as_u16())
}
