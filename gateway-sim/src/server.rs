//! The hyper accept loop, and the one place that applies a request's fate.
//!
//! Per request: read the body (bounded), route it to the control plane or a
//! front door, ask the fault model for the request's fate, then act it out:
//! reject before processing (500, 503, reset, hang), or claim the idempotency
//! key, wait the injected latency *outside every lock*, run the operation, store
//! the answer, and finally lose the answer if the fate says so (the ambiguous
//! failures). Only this module touches sockets.

use std::convert::Infallible;
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as IncomingBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::api::{self, ApiError, Call, Dialect, Incoming, Reply};
use crate::behaviour::{Fault, RequestFacts};
use crate::control;
use crate::engine::idempotency::Claim;
use crate::state::SimState;

/// Bodies larger than this are refused with 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A hung request gives up after this long, so a forgotten client cannot pin a task forever.
const HANG_LIMIT: Duration = Duration::from_secs(300);
/// On shutdown, requests in progress get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub type Body = BoxBody<Bytes, Infallible>;

/// Serves `listener` until `shutdown` resolves, then lets requests in progress
/// finish (up to a grace period). The caller owns the socket and the signal.
pub async fn run(listener: TcpListener, state: SimState, shutdown: impl Future<Output = ()>) {
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    connections.spawn(serve_connection(stream, state.clone(), closing_rx.clone()));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    let _ = closing_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
}

/// Lets a request end its own connection: close it silently, or reset it (RST).
struct ConnectionFate {
    notify: Notify,
    reset: AtomicBool,
}

impl ConnectionFate {
    fn drop_connection(&self, reset: bool) {
        self.reset.store(reset, Ordering::SeqCst);
        self.notify.notify_one();
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    state: SimState,
    mut closing: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    // A second handle on the socket, to set SO_LINGER=0 when a fault asks for a
    // reset: closing a socket with a zero linger sends RST instead of FIN.
    let socket: Option<OwnedFd> = stream.as_fd().try_clone_to_owned().ok();
    let fate = Arc::new(ConnectionFate {
        notify: Notify::new(),
        reset: AtomicBool::new(false),
    });
    let service = {
        let fate = fate.clone();
        service_fn(move |req| {
            let (state, fate) = (state.clone(), fate.clone());
            async move { Ok::<_, Infallible>(handle(state, req, fate).await) }
        })
    };
    let conn = http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    loop {
        tokio::select! {
            _ = conn.as_mut() => return,
            () = fate.notify.notified() => {
                if fate.reset.load(Ordering::SeqCst)
                    && let Some(socket) = &socket
                {
                    let _ = socket2::SockRef::from(socket).set_linger(Some(Duration::ZERO));
                }
                return; // dropping `conn` closes the socket without an answer
            }
            Ok(()) = closing.changed() => conn.as_mut().graceful_shutdown(),
        }
    }
}

async fn handle(
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
    let path = parts.uri.path();
    if control::owns(path) {
        let mut response = control::handle(&state, &parts, &body).await;
        set_request_id(&mut response, &request_id);
        return response;
    }
    let incoming = Incoming {
        method: &parts.method,
        path,
        query: parts.uri.query(),
        headers: &parts.headers,
        body: &body,
    };
    state.counters().requests.fetch_add(1, Ordering::Relaxed);
    let (call, dialect) = match api::route(state.engine(), &incoming) {
        Ok(routed) => routed,
        Err(reply) => return respond(reply, &request_id),
    };
    match act_out(&state, call, dialect, &request_id, arrived).await {
        Answer::Reply(reply) => respond(reply, &request_id),
        Answer::Close => {
            fate.drop_connection(false);
            std::future::pending().await
        }
        Answer::Reset => {
            fate.drop_connection(true);
            std::future::pending().await
        }
    }
}

/// How a request ends: with an answer, or with its connection dropped unanswered.
enum Answer {
    Reply(Reply),
    /// Close the connection without answering (FIN).
    Close,
    /// Reset the connection (RST).
    Reset,
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Self {
        Answer::Reply(reply)
    }
}

/// Runs one API call under its fate.
async fn act_out(
    state: &SimState,
    call: Call,
    dialect: &'static dyn Dialect,
    request_id: &str,
    arrived: Instant,
) -> Answer {
    let live = state.live();

    // Over the limit: refused before anything else, nothing stored.
    if let Some(limiter) = &live.limiter
        && let Err(retry_after) = limiter.check(&call.api_key)
    {
        state
            .counters()
            .rate_limited
            .fetch_add(1, Ordering::Relaxed);
        let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
        let mut reply = dialect.render_error(&ApiError::rate_limited(secs));
        reply.retry_after = Some(secs);
        return reply.into();
    }

    let endpoint = call.endpoint();
    let seen_before = state
        .seen()
        .observe(&call.api_key, endpoint, &call.identity);
    let charge = call.charge_facts();
    let facts = RequestFacts {
        merchant: &call.api_key,
        endpoint,
        identity: &call.identity,
        seen_before,
        charge,
    };
    let fate = live
        .behaviour
        .fate(&facts, state.engine().clock().since_start());
    drop(live);

    let merchant = call.api_key.clone();
    let note_fault = |fault: &Fault| {
        state.counters().fault(fault.kind());
        tracing::info!(request_id, merchant = %merchant, endpoint = endpoint.as_str(), fault = fault.kind(), "injected fault");
    };

    // Rejected before processing: nothing runs, nothing is stored under the key.
    match &fate.fault {
        Some(f @ (Fault::Http500 | Fault::Http503)) => {
            note_fault(f);
            pause_until(arrived, fate.latency).await;
            let status = if matches!(f, Fault::Http503) {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            return dialect.render_error(&ApiError::injected(status)).into();
        }
        Some(f @ Fault::Reset) => {
            note_fault(f);
            pause_until(arrived, fate.latency).await;
            return Answer::Reset;
        }
        Some(f @ Fault::Hang) => {
            note_fault(f);
            tokio::time::sleep(HANG_LIMIT).await;
            return Answer::Close;
        }
        _ => {}
    }

    // A replay is an answer like any other: the ambiguous faults below can lose it too.
    let mut replayed = None;
    let reservation = match (&call.idempotency_key, call.operation.changes_state()) {
        (Some(key), true) => {
            match state
                .engine()
                .claim_idempotency_key(call.merchant, key, call.fingerprint)
            {
                Claim::Proceed(reservation) => Some(reservation),
                Claim::Replay(stored) => {
                    let reply = Reply::replay(&stored);
                    replayed = Some(reply);
                    None
                }
                Claim::Mismatch => {
                    let error = ApiError::idempotency_key_mismatch(key);
                    return dialect.render_error(&error).into();
                }
                Claim::InUse => {
                    let error = ApiError::idempotency_key_in_use(key);
                    return dialect.render_error(&error).into();
                }
            }
        }
        _ => None,
    };

    // The processing itself. It runs in its own task when it has to wait, so a
    // client that hangs up mid-way does not cancel it: like a real gateway, the
    // charge goes through even if nobody hears the answer.
    let engine = state.engine().clone();
    let decline = fate.decline;
    let latency = fate.latency;
    let work = async move {
        pause_until(arrived, latency).await;
        let key = reservation.as_ref().map(|r| r.key().clone());
        let outcome = call.execute(&engine, key.as_ref(), decline.as_ref().map(|d| d.as_str()));
        let reply = dialect.render_call(&engine, &call, &outcome);
        // A refused operation drops its reservation here instead, which frees the key.
        if let Some(reservation) = reservation
            && outcome.is_stored()
        {
            reservation.complete((&reply).into());
        }
        reply
    };
    let reply = if let Some(reply) = replayed {
        pause_until(arrived, latency).await;
        reply
    } else if latency.is_zero() {
        work.await
    } else {
        match tokio::spawn(work).await {
            Ok(reply) => reply,
            Err(_) => {
                return dialect
                    .render_error(&ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR))
                    .into();
            }
        }
    };

    // Ambiguous: the operation happened and is recorded; the answer is lost.
    match &fate.fault {
        Some(f @ Fault::LostAfterDelay { delay }) => {
            note_fault(f);
            tokio::time::sleep(*delay).await;
            Answer::Close
        }
        Some(f @ Fault::ResetAfterCommit) => {
            note_fault(f);
            Answer::Reset
        }
        Some(f @ Fault::Http500AfterCommit) => {
            note_fault(f);
            dialect
                .render_error(&ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR))
                .into()
        }
        _ => reply.into(),
    }
}

/// tokio's timer fires on the first millisecond tick at or after a deadline,
/// and its driver wakes up to a millisecond late again: about 1 ms late on
/// average. Aiming that much early makes injected delays unbiased.
const TIMER_LATENESS: Duration = Duration::from_millis(1);

/// Waits until `latency` after the request arrived. No latency means no timer
/// at all: even a zero-length tokio sleep waits for the next tick, which capped
/// a connection at a few hundred requests a second.
async fn pause_until(arrived: Instant, latency: Duration) {
    if latency.is_zero() {
        return;
    }
    let deadline = arrived + latency.saturating_sub(TIMER_LATENESS);
    if deadline > Instant::now() {
        tokio::time::sleep_until(deadline.into()).await;
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

pub fn full(body: Bytes) -> Body {
    Full::new(body).map_err(|never| match never {}).boxed()
}

fn respond(reply: Reply, request_id: &str) -> Response<Body> {
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
    set_request_id(&mut response, request_id);
    response
}

fn set_request_id(response: &mut Response<Body>, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        response.headers_mut().insert("request-id", v);
    }
}
