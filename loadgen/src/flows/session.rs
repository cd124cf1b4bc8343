//! One order being played: [`Session`] sends a flow's requests through a [`Transport`],
//! records each as an attempt (what the client saw) and a timing (when it was meant to go,
//! went, and came back), and closes the order into a [`FlowRun`].
//!
//! Its own file because every flow, native or `--service`, records orders the same way;
//! what a flow decides lives in `native.rs` and `service.rs`, what a run does with the
//! result in `driver.rs`.

use std::time::Instant;

use crate::outcomes::{Attempt, ChallengeEnd, ClientResult, OrderOutcome};

use super::error_kind::ErrorKind;
use super::native_answer::{PaymentReply, read_reply};
use super::order_ids::OrderPlan;
use super::transport::{ApiRequest, Exchange, Transport};

/// The timing of one request, for the latency recorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepTiming {
    pub step: &'static str,
    /// When the flow wanted it sent: the due time for an order's first request,
    /// the send time for follow-ups (nothing held them back).
    pub intended: Instant,
    pub sent: Instant,
    pub done: Instant,
    /// Set for timeouts, dropped connections, 5xx, 429 and unexpected 4xx: what kind of
    /// failure it was.
    pub error: Option<ErrorKind>,
}

impl StepTiming {
    /// Whether the request got an answer the client could take.
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// What one order produced.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRun {
    pub outcome: OrderOutcome,
    pub timings: Vec<StepTiming>,
}

/// One order being played: collects attempts and timings as requests go out.
///
/// `service.rs` sees the transport and the records (`pub(super)`): it sends its one request
/// itself and then corrects the attempt by the template's rules, which are not the
/// gateway's.
pub struct Session<'t, T: Transport> {
    pub(super) transport: &'t mut T,
    plan: &'t OrderPlan,
    pub(super) attempts: Vec<Attempt>,
    pub(super) timings: Vec<StepTiming>,
    /// When the next request is meant to go: the due time, until the first one is sent.
    next_intended: Option<Instant>,
    /// How the order's 3-D Secure challenge ended, if its card asked for one.
    pub(super) challenge: Option<ChallengeEnd>,
}

impl<'t, T: Transport> Session<'t, T> {
    pub fn new(transport: &'t mut T, plan: &'t OrderPlan, due: Instant) -> Self {
        Self {
            transport,
            plan,
            attempts: Vec::with_capacity(2),
            timings: Vec::with_capacity(2),
            next_intended: Some(due),
            challenge: None,
        }
    }

    pub fn plan(&self) -> &OrderPlan {
        self.plan
    }

    pub(super) fn intended(&mut self, sent: Instant) -> Instant {
        self.next_intended.take().unwrap_or(sent).min(sent)
    }

    pub(super) fn note(
        &mut self,
        request: &ApiRequest,
        exchange: &Exchange,
        intended: Instant,
    ) -> PaymentReply {
        let (reply, status, payment_id) = read_reply(&exchange.answer);
        let ok = matches!(
            reply,
            PaymentReply::Ok(_)
                | PaymentReply::Declined { .. }
                | PaymentReply::InUse
                | PaymentReply::NotFound
        );
        let error = match &reply {
            PaymentReply::Ok(_) => None,
            PaymentReply::Declined { code, .. } => Some(format!(
                "declined{}",
                code.as_deref()
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default()
            )),
            PaymentReply::InUse => Some("idempotency_key_in_use".to_string()),
            PaymentReply::NotFound => Some("not found".to_string()),
            PaymentReply::Rejected { status, code } => Some(format!(
                "HTTP {status}{}",
                code.as_deref().map(|c| format!(" {c}")).unwrap_or_default()
            )),
            PaymentReply::Ambiguous(why) => Some(why.clone()),
        };
        let latency = exchange.done.saturating_duration_since(intended);
        self.attempts.push(Attempt {
            step: request.step.to_string(),
            idempotency_key: request.idempotency_key.clone(),
            status,
            payment_id,
            error,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        });
        self.timings.push(StepTiming {
            step: request.step,
            intended,
            sent: exchange.sent,
            done: exchange.done,
            error: (!ok).then(|| ErrorKind::of(&exchange.answer)),
        });
        reply
    }

    /// Sends one request and records it.
    pub async fn call(&mut self, request: ApiRequest) -> PaymentReply {
        let exchange = self.transport.send(&request).await;
        let intended = self.intended(exchange.sent);
        self.note(&request, &exchange, intended)
    }

    /// Sends two requests at once and records both.
    pub async fn call_pair(
        &mut self,
        first: ApiRequest,
        second: ApiRequest,
    ) -> (PaymentReply, PaymentReply) {
        let (a, b) = self.transport.send_pair(&first, &second).await;
        let intended = self.intended(a.sent.min(b.sent));
        let ra = self.note(&first, &a, intended);
        let rb = self.note(&second, &b, intended);
        (ra, rb)
    }

    /// Closes the order with what the client concluded.
    pub fn finish(
        self,
        flow: &str,
        merchant: String,
        result: ClientResult,
        expected_capture: i64,
        expected_refund: i64,
    ) -> FlowRun {
        FlowRun {
            outcome: OrderOutcome {
                order_id: self.plan.order_id.clone(),
                flow: flow.to_string(),
                merchant,
                amount: self.plan.amount,
                currency: self.plan.currency.clone(),
                expected_capture,
                expected_refund,
                result,
                attempts: self.attempts,
                // The driver knows the run's start; it fills this in.
                first_sent_ms: None,
                challenge: self.challenge,
            },
            timings: self.timings,
        }
    }
}
