//! One request, from its bytes to its answer: read the body (bounded, `body.rs`), hand it to the control
//! plane or to the front door that owns its path, act out the call, and answer (or drop the
//! connection, when the fate says so).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use hyper::body::Incoming as IncomingBody;

use super::ConnectionFate;
use super::act_out::{Ending, act_out};
use super::body::read_body;
use crate::api::{self, Incoming, Reply};
use crate::control;
use crate::response::{Body, into_response, into_response_then};
use crate::state::SimState;

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
        Err(refused) => {
            let mut response = respond(refused.reply, &request_id);
            response
                .headers_mut()
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
            return response;
        }
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
        if !matches!(parts.method, http::Method::GET | http::Method::HEAD) {
            // A control-plane change (clock, reset, a hosted page's payment) is answered
            // once it is in the journal, like an API call.
            state.journaled().await;
        }
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
        Ending::Mangled(mangled, raised) => {
            let mut response = mangled.into_response(raised);
            set_request_id(&mut response, request_id);
            Ok(response)
        }
        Ending::Close => Err(Unanswered { reset: false }),
        Ending::Reset => Err(Unanswered { reset: true }),
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
