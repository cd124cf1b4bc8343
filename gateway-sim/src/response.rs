//! From an [`api::Reply`](crate::api::Reply) to a hyper response: the body type every answer
//! uses, and the headers a reply carries (content type, replay marker, `Retry-After`, `Allow`).
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

/// A reply as a JSON response with the headers its fields ask for.
pub fn into_response(reply: Reply) -> Response<Body> {
    let mut response = Response::new(full(reply.body));
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
    response
}
