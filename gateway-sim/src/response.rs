//! From an [`api::Reply`](crate::api::Reply) to a hyper response: the body type every answer
//! uses, and the headers a reply carries (content type, replay marker, `Retry-After`, `Allow`, retry advice).
//! A leaf that the server and the control plane both build on, so neither imports the other.

use std::convert::Infallible;

use bytes::Bytes;
use http::{HeaderValue, Response};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};

use crate::api::Reply;

/// The body of every response: whole (`full`) or streamed (the ledger).
pub type Body = BoxBody<Bytes, Infallible>;

/// A body of bytes already in hand.
pub fn full(body: Bytes) -> Body {
    Full::new(body).map_err(|never| match never {}).boxed()
}

/// A body that holds `guard` until hyper is done with it: sent, or abandoned.
/// The server keeps a request's raised webhooks this way, so they are queued
/// only once the answer has left.
pub fn full_then<G: Send + Sync + Unpin + 'static>(body: Bytes, guard: G) -> Body {
    Guarded {
        body: Full::new(body),
        _guard: guard,
    }
    .boxed()
}

struct Guarded<G> {
    body: Full<Bytes>,
    _guard: G,
}

impl<G: Unpin> hyper::body::Body for Guarded<G> {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// A reply as a JSON response with the headers its fields ask for.
pub fn into_response(reply: Reply) -> Response<Body> {
    into_response_with(reply, full)
}

/// Like [`into_response`], holding `guard` until the body is done (see [`full_then`]).
pub fn into_response_then<G: Send + Sync + Unpin + 'static>(
    reply: Reply,
    guard: G,
) -> Response<Body> {
    into_response_with(reply, |body| full_then(body, guard))
}

/// A reply as a response whose body `body` makes from the reply's bytes (the wire faults send
/// them cut short or slowly).
pub fn into_response_with(reply: Reply, body: impl FnOnce(Bytes) -> Body) -> Response<Body> {
    let mut response = Response::new(body(reply.body));
    *response.status_mut() = reply.status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if reply.replayed {
        headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    if let Some(secs) = reply.retry_after {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    if let Some(allow) = reply.allow {
        headers.insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    if let Some(should_retry) = reply.should_retry {
        let advice = if should_retry { "true" } else { "false" };
        headers.insert("stripe-should-retry", HeaderValue::from_static(advice));
    }
    response
}
