//! The hyper accept loop, and the one place that applies a request's fate.
//!
//! Per request: read the body (bounded), route it to the control plane or a
//! front door, ask the fault model for the request's fate, then act it out:
//! reject before processing (500, 503, reset, hang, ...), or claim the idempotency
//! key, wait the injected latency *outside every lock*, run the operation, store
//! the answer, and finally lose the answer if the fate says so (the ambiguous
//! failures).
//!
//! - `mod.rs`: accepting connections, serving each with hyper, graceful shutdown, and the
//!   connection-level side of a fate (close or reset the socket).
//! - `request.rs`: one request: read the body, route it, answer.
//! - `body.rs`: a request body, bounded; an upload over the bound is drained so its client
//!   still reads the 413.
//! - `act_out.rs`: one API call under its fate, as named steps.
//! - `wire_faults.rs`: answers broken on the wire (a body cut short or dribbled, a load
//!   balancer's HTML 502), each a hyper body of its own.
//! - `pause.rs`: injected latency, measured from arrival.
//!
//! Only this module serves connections; `lib.rs` binds the listening socket it is given.

mod act_out;
mod body;
mod pause;
mod request;
mod wire_faults;

use std::convert::Infallible;
use std::future::Future;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;

use crate::state::SimState;

pub use request::Unanswered;

/// On shutdown, requests in progress get this long to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Answers one request in process, through the same path as a request from a socket (control
/// plane or front door, fault model, idempotency, engine), minus the socket. The body is
/// taken as it is (the size limit guards sockets, not callers in the same process).
pub async fn answer_in_process(
    state: &SimState,
    request: http::Request<bytes::Bytes>,
) -> Result<http::Response<bytes::Bytes>, Unanswered> {
    use http_body_util::BodyExt as _;
    let arrived = std::time::Instant::now();
    let request_id = state.next_request_id();
    let (parts, body) = request.into_parts();
    let response = request::answer(state, &parts, &body, &request_id, arrived).await?;
    let (parts, body) = response.into_parts();
    // Bodies here never fail (their error type is Infallible).
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    Ok(http::Response::from_parts(parts, bytes))
}

/// Binds the listening socket (`port 0` picks a free port).
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `listener` until `shutdown` resolves, then lets requests in progress
/// finish (up to a grace period). The caller owns the socket and the signal.
pub async fn run(listener: TcpListener, state: SimState, shutdown: impl Future<Output = ()>) {
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let sweeper = tokio::spawn(sweep_expiries(state.clone()));
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
    sweeper.abort();
    let _ = closing_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(SHUTDOWN_GRACE, drain).await.is_err() {
        connections.abort_all();
    }
}

/// How often real time is checked for expired authorizations when no request
/// comes (every request and every clock advance check too).
const EXPIRY_SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Expires authorizations as real time runs them out, and tells the payouts' changes real
/// time passes, so their events go out even while no request arrives.
async fn sweep_expiries(state: SimState) {
    let mut tick = tokio::time::interval(EXPIRY_SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        state.expire_authorizations();
        // Booking can take a while after a burst of load: off the runtime's threads.
        let payouts = state.clone();
        let _ = tokio::task::spawn_blocking(move || payouts.raise_payout_events()).await;
    }
}

/// Lets a request end its own connection: close it silently, or reset it (RST).
pub(super) struct ConnectionFate {
    notify: Notify,
    reset: AtomicBool,
}

impl ConnectionFate {
    pub(super) fn drop_connection(&self, reset: bool) {
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
            async move { Ok::<_, Infallible>(request::handle(state, req, fate).await) }
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
