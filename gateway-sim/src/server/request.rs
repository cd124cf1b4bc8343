//! One request, from its bytes to its answer: read the body (bounded), hand it to the control
//! plane or to the front door that owns its path, act out the call, and answer (or drop the
//! connection, when the fate says so).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming as IncomingBody;

use super::ConnectionFate;
use super::act_out::{Ending, act_out};
use crate::api::{self, ApiError, Incoming, Reply};
use crate::control;
use crate::response::{Body, into_response, into_response_then};
use crate::state::SimState;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Serves one request of a connection. When the fate drops the connection unanswered, it tells
/// the connection to close (or reset) and never answers.
pub(super) async fn handle(
    state: SimState,
    req: Request<IncomingBody>,
    fate: Arc<ConnectionFate>,
) -> Response<Body> {
    // Injected latency counts from here, so routing and processing time are part
    // of the delay the scenario asked for, not added to it.
    let arrived = Instant::now();
    let request_id = state.next_request_id();
    let (parts, body) = req.into_parts();
    let body = match read_body(&parts.headers, body).await {
        Ok(body) => body,
        Err(reply) => return respond(reply, &request_id),
    };
    match answer(&state, &parts, &body, &request_id, arrived).await {
        Ok(response) => response,
        Err(Unanswered { reset }) => {
            fate.drop_connection(reset);
            std::future::pending().await
        }
    }
}

/// The fate dropped the connection without an answer: closed it (FIN), or reset it (RST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unanswered {
    pub reset: bool,
}

/// One request, already read: to the control plane or a front door, then acted out.
pub(crate) async fn answer(
    state: &SimState,
    parts: &http::request::Parts,
    body: &Bytes,
    request_id: &str,
    arrived: Instant,
) -> Result<Response<Body>, Unanswered> {
    let path = parts.uri.path();
    // Whatever this request reads or changes, authorizations whose time is up
    // have expired first (one atomic load when none is due).
    state.expire_authorizations();
    if control::owns(path) {
        let mut response = control::handle(state, parts, body).await;
        set_request_id(&mut response, request_id);
        return Ok(response);
    }
    let incoming = Incoming {
        method: &parts.method,
        path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body,
    };
    state.counters().requests.fetch_add(1, Ordering::Relaxed);
    let (call, dialect) = match api::route(state.engine(), &incoming) {
        Ok(routed) => routed,
        Err(reply) => return Ok(respond(reply, request_id)),
    };
    match act_out(state, call, dialect, request_id, arrived).await {
        Ending::Reply(reply, raised) => {
            let mut response = into_response_then(reply, raised);
            set_request_id(&mut response, request_id);
            Ok(response)
        }
        Ending::Close => Err(Unanswered { reset: false }),
        Ending::Reset => Err(Unanswered { reset: true }),
    }
}

async fn read_body(headers: &http::HeaderMap, body: IncomingBody) -> Result<Bytes, Reply> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(ApiError::too_large(MAX_BODY_BYTES).into_reply());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(MAX_BODY_BYTES).into_reply())
        }
        Err(_) => Err(
            ApiError::invalid("invalid_body", "The request body could not be read.").into_reply(),
        ),
    }
}

fn respond(reply: Reply, request_id: &str) -> Response<Body> {
    let mut response = into_response(reply);
    set_request_id(&mut response, request_id);
    response
}

fn set_request_id(response: &mut Response<Body>, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("request-id", v);
    }
}
