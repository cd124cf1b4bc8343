//! One API call under its fate, as the steps a real gateway's request goes through:
//!
//! 1. [`over_rate_limit`]: refused before anything else (a 429 stores nothing, as at Stripe);
//! 2. [`decide_fate`]: the fault model's verdict for this request;
//! 3. [`reject_before_processing`]: 500, 503, reset, hang, a cut 200, a load balancer's 502
//!    or an empty reply, with nothing charged or stored;
//! 4. [`take_worker`]: with `[gateway.capacity]`, wait in line for a worker and hold it for
//!    the drawn service time (503 `queue_full` at once when the line is full);
//! 5. [`claim_key`]: reserve the idempotency key, or replay its stored answer, or refuse
//!    (mismatch, in use);
//! 6. [`process`]: wait the injected latency outside every lock, run the operation, store the
//!    answer under the key;
//! 7. [`lose_answer`]: the faults after the commit, where the charge went through and the
//!    answer is lost, broken on the wire ([`Mangled`]), or only slow.
//!
//! The changes a processed call raised travel with its answer as a [`Raised`] guard: their
//! webhooks are queued when the answer has left (or at once when the answer is lost), and
//! sent before it only under the `early` fault.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use http::StatusCode;

use super::pause::pause_until;
use super::wire_faults::Mangled;
use crate::api::{ApiError, Call, Dialect, Reply};
use crate::behaviour::{DisputeCard, Fate, Fault, RequestFacts};
use crate::engine::idempotency::{Claim, Reservation};
use crate::engine::{Cause, DisputePlan, DisputeReason, RequestRef, Verdict};
use crate::state::{Live, SimState};
use crate::webhooks::Raised;
use crate::workers::{QueueFull, Worker};

/// A hung request gives up after this long, so a forgotten client cannot pin a task forever.
const HANG_LIMIT: Duration = Duration::from_secs(300);

/// How a request ends: with an answer, or with its connection dropped unanswered.
pub(super) enum Ending {
    /// Answer; the webhooks the call raised are queued once the answer is sent.
    Reply(Reply, Raised),
    /// Answer, broken on the wire (cut, dribbled, or a load balancer's page instead).
    Mangled(Mangled, Raised),
    /// Close the connection without answering (FIN).
    Close,
    /// Reset the connection (RST).
    Reset,
}

impl From<Reply> for Ending {
    fn from(reply: Reply) -> Self {
        Ending::Reply(reply, Raised::none())
    }
}

/// Runs one API call under its fate.
pub(super) async fn act_out(
    state: &SimState,
    call: Call,
    dialect: &'static dyn Dialect,
    request_id: &str,
    arrived: Instant,
) -> Ending {
    // One snapshot of the behaviour for the whole request, so a `PUT /_sim/config` never
    // tears a request in half (the rate limit of one config, the fate of another).
    let live = state.live();
    if let Some(refusal) = over_rate_limit(state, &live, &call, dialect) {
        return refusal;
    }
    let fate = decide_fate(state, &live, &call);
    let faults = FaultLog {
        state,
        request_id,
        merchant: call.api_key.clone(),
        endpoint: call.endpoint().as_str(),
    };
    if let Some(ending) = reject_before_processing(&fate, dialect, arrived, &faults).await {
        return ending;
    }
    // The worker is held through the claim and the processing, and let go before the
    // answer's own faults (a lost answer's wait is not a worker's).
    let worker = match take_worker(state, &live, &fate, dialect, &faults).await {
        Ok(worker) => worker,
        Err(refusal) => return refusal,
    };
    drop(live);
    let claim = match claim_key(state, &call, dialect) {
        Ok(claim) => claim,
        Err(refusal) => return refusal.into(),
    };
    let (reply, mut raised) = match claim {
        KeyClaim::Replay(reply) => {
            // A replay waits its latency too, and the faults below can lose it like any answer.
            pause_until(arrived, fate.latency).await;
            (reply, Raised::none())
        }
        KeyClaim::Run(reservation) => {
            let processed = process(
                state,
                call,
                dialect,
                reservation,
                &fate,
                arrived,
                request_id,
            )
            .await;
            match processed {
                Some(processed) => processed,
                None => {
                    let error = ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR);
                    return dialect.render_error(&error).into();
                }
            }
        }
    };
    drop(worker);
    // The `early` webhook fault: the receiver hears before the client does.
    raised.wait_for_early().await;
    lose_answer(&fate, reply, raised, dialect, &faults).await
}

/// Step 1: over the merchant's rate limit, the request is refused before anything else.
fn over_rate_limit(
    state: &SimState,
    live: &Live,
    call: &Call,
    dialect: &dyn Dialect,
) -> Option<Ending> {
    let limiter = live.limiter.as_ref()?;
    let retry_after = limiter.check(&call.api_key).err()?;
    state
        .counters()
        .rate_limited
        .fetch_add(1, Ordering::Relaxed);
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut reply = dialect.render_error(&ApiError::rate_limited(secs));
    reply.retry_after = Some(secs);
    Some(reply.into())
}

/// Step 2: the fault model's verdict. Counting the attempt first makes a retry of the same
/// request a different draw, so a retried failure can succeed.
fn decide_fate(state: &SimState, live: &Live, call: &Call) -> Fate {
    let endpoint = call.endpoint();
    let seen_before = state
        .seen()
        .observe(&call.api_key, endpoint, &call.identity);
    let facts = RequestFacts {
        merchant: &call.api_key,
        endpoint,
        identity: &call.identity,
        seen_before,
        charge: call.charge_facts(),
    };
    live.behaviour
        .fate(&facts, state.engine().clock().since_start())
}

/// Counts and logs each injected fault once, where it is applied.
struct FaultLog<'a> {
    state: &'a SimState,
    request_id: &'a str,
    merchant: Arc<str>,
    endpoint: &'static str,
}

impl FaultLog<'_> {
    fn note(&self, fault: &Fault) {
        self.note_kind(fault.kind());
    }

    fn note_kind(&self, kind: &'static str) {
        self.state.counters().fault(kind);
        tracing::info!(
            request_id = self.request_id,
            merchant = %self.merchant,
            endpoint = self.endpoint,
            fault = kind,
            "injected fault"
        );
    }
}

/// Step 3: faults that strike before processing. Nothing runs, nothing is stored under the key.
async fn reject_before_processing(
    fate: &Fate,
    dialect: &dyn Dialect,
    arrived: Instant,
    faults: &FaultLog<'_>,
) -> Option<Ending> {
    let fault = fate.fault.as_ref()?;
    if !fault.before_processing() {
        return None;
    }
    faults.note(fault);
    if matches!(fault, Fault::Hang) {
        tokio::time::sleep(HANG_LIMIT).await;
        return Some(Ending::Close);
    }
    pause_until(arrived, fate.latency).await;
    let injected = |status| dialect.render_error(&ApiError::injected(status));
    Some(match fault {
        Fault::Reset => Ending::Reset,
        Fault::EmptyReply => Ending::Close,
        Fault::Html502 => Ending::Mangled(Mangled::BadGateway, Raised::none()),
        Fault::TruncatedBody => {
            // A "success" nothing stands behind: the body is the start of an error that the
            // client never gets far enough to read.
            let mut reply = injected(StatusCode::INTERNAL_SERVER_ERROR);
            reply.status = StatusCode::OK;
            reply.should_retry = None;
            Ending::Mangled(Mangled::Truncated(reply), Raised::none())
        }
        Fault::Http503 => injected(StatusCode::SERVICE_UNAVAILABLE).into(),
        _ => injected(StatusCode::INTERNAL_SERVER_ERROR).into(),
    })
}

/// The kind a request refused for a full `[gateway.capacity]` queue is counted and logged as.
const QUEUE_FULL: &str = "queue_full";

/// Step 4: with `[gateway.capacity]`, wait in line (first come, first served) for one of the
/// workers and keep it busy for the request's service time, outside every lock; a request that
/// finds the line full is refused 503 at once, nothing run or stored, like the other faults
/// before processing. Without the table, no worker and no wait.
async fn take_worker(
    state: &SimState,
    live: &Live,
    fate: &Fate,
    dialect: &dyn Dialect,
    faults: &FaultLog<'_>,
) -> Result<Option<Worker>, Ending> {
    let Some(pool) = live.workers.as_ref() else {
        return Ok(None);
    };
    match pool.take(&state.counters().queue).await {
        Ok(worker) => {
            pause_until(worker.since, fate.service_time).await;
            Ok(Some(worker))
        }
        Err(QueueFull) => {
            faults.note_kind(QUEUE_FULL);
            Err(dialect.render_error(&ApiError::queue_full()).into())
        }
    }
}

/// What the idempotency key says about running the call.
enum KeyClaim {
    /// Run it; the reservation (if the call has a key) stores the answer.
    Run(Option<Reservation>),
    /// The key's stored answer, replayed byte for byte.
    Replay(Reply),
}

/// Step 5: reserve the key of a state-changing call. Reads, and calls without a key, just run.
fn claim_key(state: &SimState, call: &Call, dialect: &dyn Dialect) -> Result<KeyClaim, Reply> {
    let Some(key) = call
        .idempotency_key
        .as_deref()
        .filter(|_| call.operation.changes_state())
    else {
        return Ok(KeyClaim::Run(None));
    };
    match state
        .engine()
        .claim_idempotency_key(call.merchant, key, call.fingerprint)
    {
        Claim::Proceed(reservation) => Ok(KeyClaim::Run(Some(reservation))),
        Claim::Replay(stored) => Ok(KeyClaim::Replay(dialect.replay(&stored))),
        Claim::Mismatch => {
            let error = ApiError::idempotency_key_mismatch(key);
            Err(dialect.render_error(&error))
        }
        Claim::InUse => {
            let error = ApiError::idempotency_key_in_use(key);
            Err(dialect.render_error(&error))
        }
    }
}

/// Step 6: wait the injected latency, run the operation on the engine, render it, and store the
/// answer under the key. When it has to wait, it runs in its own task, so a client that hangs
/// up mid-way does not cancel it: like a real gateway, the charge goes through even if nobody
/// hears the answer; its webhooks are raised there too, so they are never lost with the client.
/// `None` if that task died (the server answers 500).
async fn process(
    state: &SimState,
    call: Call,
    dialect: &'static dyn Dialect,
    reservation: Option<Reservation>,
    fate: &Fate,
    arrived: Instant,
    request_id: &str,
) -> Option<(Reply, Raised)> {
    let engine = state.engine().clone();
    let webhooks = state.webhooks().clone();
    let journaled = state.clone();
    // A read waits for nobody's frames: only a call that may change state waits for the journal.
    let changes_state = call.operation.changes_state();
    let request_number = RequestRef::number_of(request_id).unwrap_or_default();
    let decline = fate.decline;
    let authenticate = fate.authenticate;
    let dispute = fate.dispute.map(dispute_plan);
    let latency = fate.latency;
    let work = async move {
        pause_until(arrived, latency).await;
        let key = reservation.as_ref().map(|r| r.key().clone());
        let cause = Cause::request(request_number, key);
        let verdict = match &decline {
            Some(code) => Verdict::Decline(code.as_str()),
            None if authenticate => Verdict::Authenticate,
            None if dispute.is_some() => dispute.map_or(Verdict::Approve, Verdict::Dispute),
            None => Verdict::Approve,
        };
        // The change and the key that replays its answer are journaled as one frame.
        let reply = engine.in_one_frame(|| {
            let outcome = call.execute(&engine, &cause, verdict);
            let reply = dialect.render_call(&engine, &call, &outcome);
            // A refused operation drops its reservation here instead, which frees the key.
            if let Some(reservation) = reservation
                && outcome.is_stored()
            {
                reservation.complete((&reply).into());
            }
            reply
        });
        // The answer leaves only once its changes are in the journal (with `--data-dir`).
        if changes_state {
            journaled.journaled().await;
        }
        (reply, webhooks.raise(cause.take_raised()))
    };
    if latency.is_zero() {
        Some(work.await)
    } else {
        tokio::spawn(work).await.ok()
    }
}

/// Step 7: the faults after the commit. The operation happened and is recorded; the answer is
/// lost, broken on the wire, or slow.
async fn lose_answer(
    fate: &Fate,
    reply: Reply,
    raised: Raised,
    dialect: &dyn Dialect,
    faults: &FaultLog<'_>,
) -> Ending {
    let Some(fault) = fate.fault.as_ref().filter(|f| !f.before_processing()) else {
        return Ending::Reply(reply, raised);
    };
    faults.note(fault);
    match *fault {
        Fault::LostAfterDelay { delay } => {
            // The change happened: its webhooks go, whatever becomes of the answer.
            drop(raised);
            tokio::time::sleep(delay).await;
            Ending::Close
        }
        Fault::ResetAfterCommit => Ending::Reset,
        Fault::EmptyReplyAfterCommit => Ending::Close,
        Fault::Http500AfterCommit => dialect
            .render_error(&ApiError::injected(StatusCode::INTERNAL_SERVER_ERROR))
            .into(),
        Fault::TruncatedBodyAfterCommit => Ending::Mangled(Mangled::Truncated(reply), raised),
        Fault::Html502AfterCommit => Ending::Mangled(Mangled::BadGateway, raised),
        Fault::SlowBody { duration } => Ending::Mangled(Mangled::Slow(reply, duration), raised),
        // Acted out in step 3, before processing; listed so a new kind must choose its step.
        Fault::Http500
        | Fault::Http503
        | Fault::Reset
        | Fault::Hang
        | Fault::TruncatedBody
        | Fault::Html502
        | Fault::EmptyReply => Ending::Reply(reply, raised),
    }
}

/// The engine's dispute plan for a dispute test card.
fn dispute_plan(card: DisputeCard) -> DisputePlan {
    let (reason, inquiry) = match card {
        DisputeCard::Fraudulent => (DisputeReason::Fraudulent, false),
        DisputeCard::Inquiry => (DisputeReason::Fraudulent, true),
        DisputeCard::ProductNotReceived => (DisputeReason::ProductNotReceived, false),
    };
    DisputePlan { reason, inquiry }
}
